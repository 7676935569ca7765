"""The benchmark suite: the service against a plain-SQL baseline, in one run.

Usage: make bench            (or .venv/bin/python -m benchmarks.suite)
       BENCH_QUICK=1 make bench   a smoke run: fewer rows, 2 s points

Both servers run on the same PostgreSQL, with the same gunicorn settings,
under the same wrk load at 1, 4, 16 and 64 connections, one after the other
for each point. Each gets its own throwaway databases holding the same
projects and jobs: 1,000,000 projects, 100,000 of them in the workspace of
the benchmark's key, and a second pair with 1,000, to show that a page costs
the same at either size. The suite prints a table of requests per second,
p50 and p99 latency and their ratios, the peak memory of each worker, the
replay speed, and checks the issue's targets; it writes the same as JSON and
Markdown to benchmarks/results/, with a chart of throughput against
connections (copied to docs/benchmarks/ by a full run).

Settings (environment): BENCH_QUICK=1; BENCH_SECONDS per point (5, quick 2);
BENCH_WARMUP seconds before each scenario (1); BENCH_GROUPS, some of
small,reads,writes (all), to measure only those; BENCH_WORKERS (4) and
BENCH_THREADS (2) for both servers; SOKOSUMI_TEST_POSTGRES_URL names the
PostgreSQL server (postgresql://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import json
import os
import platform
import secrets
import signal
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from benchmarks.load import Measurement, run_wrk, write_data, wrk_path
from benchmarks.report import (
    HEADER,
    Memory,
    Point,
    Replay,
    Results,
    Scenario,
    check_targets,
    table_row,
    text_report,
    write_files,
)
from benchmarks.seeding import (
    Databases,
    Seeded,
    Sizes,
    seed_pair,
    write_out_seeded_pages,
)
from benchmarks.servers import (
    ROOT,
    Server,
    ServerConfig,
    database_cpu_seconds,
    start_baseline,
    start_service,
)

CONNECTIONS = (1, 4, 16, 64)
WARMUP_CONNECTIONS = 16
RESULTS_DIR = ROOT / "benchmarks" / "results"
DOCS_CHART = ROOT / "docs" / "benchmarks" / "throughput.png"
DEEP_LIMIT = 20
WALK_LIMIT = 100
PAIRS = 4_096
HOT_JOBS = 4_096
GROUPS = ("small", "reads", "writes")
GET_IDS = 10_000


def say(message: str) -> None:
    print(message, flush=True)


@dataclass(frozen=True)
class Plan:
    """How big and how long this run is."""

    quick: bool
    seconds: float
    warmup_seconds: float
    large: Sizes
    small: Sizes
    servers: ServerConfig
    groups: tuple[str, ...] = GROUPS

    @classmethod
    def from_environ(cls) -> Plan:
        quick = os.environ.get("BENCH_QUICK", "") not in ("", "0")
        jobs = PAIRS + HOT_JOBS
        if quick:
            large = Sizes(100_000, 10_000, other_workspaces=9, jobs=jobs)
        else:
            large = Sizes(1_000_000, 100_000, other_workspaces=99, jobs=jobs)
        return cls(
            quick=quick,
            seconds=float(os.environ.get("BENCH_SECONDS", "2" if quick else "5")),
            warmup_seconds=float(os.environ.get("BENCH_WARMUP", "1")),
            large=large,
            small=Sizes(1_000, 1_000, other_workspaces=0, jobs=0),
            servers=ServerConfig(
                workers=int(os.environ.get("BENCH_WORKERS", "4")),
                threads=int(os.environ.get("BENCH_THREADS", "2")),
            ),
            groups=_groups(os.environ.get("BENCH_GROUPS", "")),
        )

    @property
    def deep_rows(self) -> int:
        """How far into the workspace's list a deep page starts."""
        return self.large.in_workspace // 2


def _groups(named: str) -> tuple[str, ...]:
    """The groups of scenarios named in `named`, comma-separated; all for none."""
    groups = tuple(name.strip() for name in named.split(",") if name.strip())
    unknown = set(groups) - set(GROUPS)
    if unknown:
        raise SystemExit(
            f"BENCH_GROUPS: unknown {', '.join(sorted(unknown))}; "
            f"choose from {', '.join(GROUPS)}"
        )
    return groups or GROUPS


class Bench:
    """One run: its plan, its scratch files and the results it gathers."""

    def __init__(self, plan: Plan, scratch: Path, results: Results) -> None:
        self.plan = plan
        self.scratch = scratch
        self.results = results
        self.log_dir = RESULTS_DIR / "logs"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for old_log in self.log_dir.glob("*.log"):
            old_log.unlink()
        self.cursor_secret = secrets.token_hex(16)

    def run_group(
        self,
        group: str,
        seeded: Seeded,
        scenarios: Sequence[tuple[Scenario, dict[str, Any]]],
    ) -> None:
        """Measure `scenarios` on fresh servers; then read their peak memory.

        Each scenario comes with the data of its Lua script, the same for both
        servers but for the key; a `deep_cursor` entry asks for the path of
        the page that many rows deep, which each server's own cursor reaches.
        """
        say(f"\n== {group}: starting both servers")
        self.results.load_averages[group] = os.getloadavg()[0]
        service = start_service(seeded.service_url, self.plan.servers, self.log_dir)
        baseline = start_baseline(
            seeded.baseline_url, self.plan.servers, self.log_dir, self.cursor_secret
        )
        try:
            service.wait_until_ready(seeded.service_key, self.plan.servers.workers)
            baseline.wait_until_ready(seeded.baseline_key, self.plan.servers.workers)
            for scenario, data in scenarios:
                self._run_scenario(
                    scenario,
                    (service, self._data(service, seeded.service_key, data)),
                    (baseline, self._data(baseline, seeded.baseline_key, data)),
                )
            self.results.memory.append(
                Memory(group, service.peak_memory_mib(), baseline.peak_memory_mib())
            )
        finally:
            service.stop()
            baseline.stop()

    def _data(self, server: Server, key: str, given: dict[str, Any]) -> dict[str, Any]:
        data = {"key": key, **given}
        if "deep_cursor" in data:
            data["path"] = deep_cursor_path(server, key, data.pop("deep_cursor"))
        return data

    def _run_scenario(
        self,
        scenario: Scenario,
        service: tuple[Server, dict[str, Any]],
        baseline: tuple[Server, dict[str, Any]],
    ) -> None:
        """Warm both servers up, then measure them at every number of connections."""
        files = {}
        for server, data in (service, baseline):
            path = self.scratch / f"{scenario.key}-{server.name}.lua"
            files[server.name] = write_data(path, data)
        if "path" in service[1]:
            compare_first_pages(service, baseline, self.results)

        say(f"-- {scenario.title}")
        for server, _ in (service, baseline):
            run_wrk(
                scenario.script,
                server.url,
                WARMUP_CONNECTIONS,
                self.plan.warmup_seconds,
                files[server.name],
            )
        for index, connections in enumerate(CONNECTIONS):
            # Alternate who goes first, so that neither always runs on a
            # database the other has just warmed (or just loaded).
            order = [service[0], baseline[0]]
            if index % 2:
                order.reverse()
            measured: dict[str, Measurement] = {}
            for server in order:
                measured[server.name] = self._measure(
                    server, scenario, connections, files[server.name]
                )
                time.sleep(0.3)
            point = Point(
                scenario, connections, measured["service"], measured["baseline"]
            )
            self.results.points.append(point)
            say(table_row(point))

    def _measure(
        self, server: Server, scenario: Scenario, connections: int, data_file: Path
    ) -> Measurement:
        """One run of wrk, with the CPU it cost the server and the database."""
        server_before, database_before = server.cpu_seconds(), database_cpu_seconds()
        measured = run_wrk(
            scenario.script, server.url, connections, self.plan.seconds, data_file
        )
        server_used = server.cpu_seconds() - server_before
        database_used = database_cpu_seconds() - database_before
        requests = max(measured.requests, 1)
        return replace(
            measured,
            server_cpu_ms=1000 * server_used / requests,
            database_cpu_ms=1000 * database_used / requests,
        )


def get_json(server: Server, key: str, path: str) -> dict[str, Any]:
    request = urllib.request.Request(
        server.url + path, headers={"Authorization": f"Bearer {key}"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        answer: dict[str, Any] = json.load(response)
    return answer


def deep_cursor_path(server: Server, key: str, depth: int) -> str:
    """The path of the page that starts `depth` rows into the list, by cursor."""
    path = f"/v1/projects?limit={WALK_LIMIT}"
    for _ in range(depth // WALK_LIMIT):
        cursor = get_json(server, key, path)["pagination"]["nextCursor"]
        path = f"/v1/projects?cursor={urllib.parse.quote(cursor)}&limit={WALK_LIMIT}"
    return path.replace(f"limit={WALK_LIMIT}", f"limit={DEEP_LIMIT}")


def compare_first_pages(
    service: tuple[Server, dict[str, Any]],
    baseline: tuple[Server, dict[str, Any]],
    results: Results,
) -> None:
    """Check that both servers answer a list path with the same projects."""
    pages = [
        get_json(server, data["key"], data["path"])
        for server, data in (service, baseline)
    ]
    ids = [[project["id"] for project in page["data"]] for page in pages]
    if ids[0] != ids[1] or not ids[0]:
        note = (
            f"the service and the baseline listed different projects for "
            f"{service[1]['path'][:60]}: {ids[0][:2]} against {ids[1][:2]}"
        )
        results.notes.append(note)
        say(f"warning: {note}")


def read_scenarios(
    plan: Plan, seeded: Seeded, rows: str
) -> list[tuple[Scenario, dict[str, Any]]]:
    """Lists and gets on a seeded pair, whose data both servers share."""
    deep = plan.deep_rows
    step = max(1, len(seeded.project_ids) // GET_IDS)
    ids = seeded.project_ids[::step][:GET_IDS]
    page = deep // DEEP_LIMIT + 1
    return [
        (
            Scenario("list_first", f"list page 1, {rows} rows", "list_page.lua"),
            {"path": f"/v1/projects?page=1&limit={DEEP_LIMIT}"},
        ),
        (
            Scenario(
                "list_cursor", f"list by cursor after {deep:,} rows", "list_page.lua"
            ),
            {"deep_cursor": deep},
        ),
        (
            Scenario("list_number", f"list page {page:,} by number", "list_page.lua"),
            {"path": f"/v1/projects?page={page}&limit={DEEP_LIMIT}"},
        ),
        (Scenario("get", "get by id", "get_by_id.lua"), {"ids": ids}),
    ]


def small_scenarios(rows: int) -> list[tuple[Scenario, dict[str, Any]]]:
    """The lists of the small pair, to compare a page's cost with the large one."""
    middle = rows // 2
    return [
        (
            Scenario(
                "small_list_first", f"list page 1, {rows:,} rows", "list_page.lua"
            ),
            {"path": f"/v1/projects?page=1&limit={DEEP_LIMIT}"},
        ),
        (
            Scenario(
                "small_list_cursor",
                f"list by cursor after {middle:,} of {rows:,}",
                "list_page.lua",
            ),
            {"deep_cursor": middle},
        ),
    ]


def write_scenarios(seeded: Seeded) -> list[tuple[Scenario, dict[str, Any]]]:
    """Creations and assignments, on jobs and projects seeded for them."""
    pairs = [
        [project, job]
        for project, job in zip(
            seeded.project_ids[:PAIRS], seeded.job_ids[:PAIRS], strict=True
        )
    ]
    hot = {"project": seeded.project_ids[PAIRS], "jobs": seeded.job_ids[PAIRS:]}
    return [
        (Scenario("create", "create project", "create_project.lua"), {}),
        (
            Scenario(
                "assign_spread",
                f"assign+unassign, {PAIRS:,} projects",
                "assign_spread.lua",
            ),
            {"pairs": pairs},
        ),
        (
            Scenario("assign_hot", "assign+unassign, 1 hot project", "assign_hot.lua"),
            hot,
        ),
    ]


def _stop_on_sigterm(signal_number: int, frame: FrameType | None) -> None:
    raise SystemExit(f"stopped by signal {signal_number}")


def main() -> None:
    """Seed, measure, report; drop every database the run created, whatever happens."""
    plan = Plan.from_environ()
    wrk_path()
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    started = time.monotonic()
    server_url = os.environ.get(
        "SOKOSUMI_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    large_rows = f"{plan.large.projects:,}"
    settings = {
        "mode": "quick" if plan.quick else "full",
        "seconds": plan.seconds,
        "warmup_seconds": plan.warmup_seconds,
        "connections": list(CONNECTIONS),
        "machine": f"{os.cpu_count()} cores, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}",
        "servers": plan.servers.describe(),
        "generator": "wrk, one thread per connection",
        "projects": plan.large.projects,
        "projects_in_workspace": plan.large.in_workspace,
    }
    results = Results(settings=settings)
    say(
        f"benchmark suite, {settings['mode']} mode: {plan.seconds:g} s per point "
        f"at {', '.join(map(str, CONNECTIONS))} connections\n"
        f"both servers: {plan.servers.describe()}\n"
        f"database: {large_rows} projects, {plan.large.in_workspace:,} in the "
        f"benchmark's workspace; and {plan.small.projects:,} for the small case"
    )

    results.load_averages["start"] = os.getloadavg()[0]
    databases = Databases(server_url)
    try:
        with tempfile.TemporaryDirectory(prefix="sokosumi-bench-") as scratch:
            bench = Bench(plan, Path(scratch), results)

            small = None
            if "small" in plan.groups:
                say(f"\n== seeding {plan.small.projects:,} projects")
                small = seed_pair(
                    databases.create("small_service"),
                    databases.create("small_baseline"),
                    plan.small,
                    say,
                )
            say(f"\n== seeding {large_rows} projects and {plan.large.jobs:,} jobs")
            large = seed_pair(
                databases.create("service"),
                databases.create("baseline"),
                plan.large,
                say,
            )
            say(f"  seeded in {large.seed_seconds:.0f} s")
            results.replay = Replay(
                events=large.events,
                seconds=large.replay_seconds,
                read_seconds=large.read_seconds,
            )
            say(
                f"  replay: {results.replay.events_per_second:,.0f} events/s "
                f"(reading the log alone: "
                f"{results.replay.read_events_per_second:,.0f} events/s)"
            )

            write_out_seeded_pages(server_url)
            say("\n" + HEADER)
            if small is not None:
                bench.run_group("small", small, small_scenarios(plan.small.projects))
            if "reads" in plan.groups:
                bench.run_group("reads", large, read_scenarios(plan, large, large_rows))
            if "writes" in plan.groups:
                bench.run_group("writes", large, write_scenarios(large))
    finally:
        databases.drop_all()

    results.targets = check_targets(
        results, large_rows=large_rows, small_rows=f"{plan.small.projects:,}"
    )
    minutes = (time.monotonic() - started) / 60
    settings["finished"] = datetime.now(tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
    settings["minutes"] = round(minutes, 1)
    if plan.quick:
        results.notes.append(
            f"quick mode: {large_rows} rows instead of 1,000,000, so the targets "
            "are checked at that size"
        )
    say(text_report(results))
    subtitle = (
        f"{settings['servers']}; {large_rows} projects; {plan.seconds:g} s points"
    )
    partial = plan.quick or plan.groups != GROUPS
    copies = [] if partial else [DOCS_CHART]
    for path in write_files(results, RESULTS_DIR, subtitle, copies):
        say(f"wrote {path.relative_to(ROOT)}")
    say(f"the suite took {minutes:.1f} minutes")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
