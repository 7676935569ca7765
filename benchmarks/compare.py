"""Two versions of the service side by side: does a change make a scenario faster?

Usage: .venv/bin/python -m benchmarks.compare OTHER [options]

OTHER is a git revision, checked out into a temporary worktree, or the path
of another checkout. This checkout and OTHER are served with the settings of
`make bench`, each on its own copy of one seeded database (20,000 projects),
and take turns under the same wrk load, the first server changing every
round, so that neither always runs on a database the other has just warmed.
Each round prints both servers' requests/s and CPU per request (workers |
PostgreSQL); the end, the mean ratio this/OTHER. Between rounds a ratio
moves by a few hundredths, and a server started from another path may serve
a little faster or slower for that alone: compare a checkout with itself to
see both.

Options: --scenario assign_spread (or assign_hot, create, get);
--rounds 8; --seconds 5; --connections 16.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.load import run_wrk, write_data, wrk_path
from benchmarks.seeding import Databases, Seeded, Sizes, seed_pair
from benchmarks.servers import (
    ROOT,
    Server,
    ServerConfig,
    database_cpu_seconds,
    start_service,
)
from benchmarks.suite import GET_IDS, HOT_JOBS, PAIRS, write_scenarios

PROJECTS = 20_000
WARMUP_SECONDS = 2
SCRIPTS = {
    "assign_spread": "assign_spread.lua",
    "assign_hot": "assign_hot.lua",
    "create": "create_project.lua",
    "get": "get_by_id.lua",
}


@dataclass(frozen=True)
class Round:
    """One server's share of a round."""

    requests_per_second: float
    server_cpu_ms: float
    database_cpu_ms: float
    unexpected: int


def main() -> None:
    arguments = _arguments()
    wrk_path()
    server_url = os.environ.get(
        "SOKOSUMI_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    databases = Databases(server_url)
    try:
        with (
            _checkout(arguments.other) as other,
            tempfile.TemporaryDirectory(prefix="sokosumi-compare-") as scratch,
        ):
            print(f"seeding {PROJECTS:,} projects", flush=True)
            seeded = seed_pair(
                databases.create("seeded"),
                databases.create("seeded_baseline"),
                Sizes(PROJECTS, PROJECTS, other_workspaces=0, jobs=PAIRS + HOT_JOBS),
                say=lambda message: None,
            )
            copies = {
                name: databases.create(name, copy_of=seeded.service_url)
                for name in ("this", "other")
            }
            _compare(arguments, seeded, copies, other, Path(scratch))
    finally:
        databases.drop_all()


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("other", help="a git revision, or the path of a checkout")
    parser.add_argument("--scenario", choices=sorted(SCRIPTS), default="assign_spread")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=16)
    return parser.parse_args()


@contextmanager
def _checkout(other: str) -> Iterator[Path]:
    """The directory of `other`: a path as given, or a revision in a worktree."""
    if Path(other).is_dir():
        yield Path(other).resolve()
        return
    with tempfile.TemporaryDirectory(prefix="sokosumi-other-") as directory:
        worktree = Path(directory) / "checkout"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(worktree), other],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        try:
            yield worktree
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(worktree)],
                cwd=ROOT,
                check=False,
                capture_output=True,
            )


def _compare(
    arguments: argparse.Namespace,
    seeded: Seeded,
    copies: dict[str, str],
    other: Path,
    scratch: Path,
) -> None:
    config = ServerConfig(workers=4, threads=2)
    servers = {
        "this": start_service(copies["this"], config, scratch),
        "other": start_service(
            copies["other"], config, scratch, {"PYTHONPATH": str(other)}
        ),
    }
    try:
        for server in servers.values():
            server.wait_until_ready(seeded.service_key, config.workers)
        script = SCRIPTS[arguments.scenario]
        data = write_data(scratch / "data.lua", _data(arguments.scenario, seeded))
        for server in servers.values():
            run_wrk(script, server.url, 16, WARMUP_SECONDS, data)

        rounds: dict[str, list[Round]] = {"this": [], "other": []}
        for number in range(arguments.rounds):
            order = ["this", "other"] if number % 2 == 0 else ["other", "this"]
            for name in order:
                rounds[name].append(_measure(servers[name], script, arguments, data))
                time.sleep(0.3)
            this, that = rounds["this"][-1], rounds["other"][-1]
            print(
                f"round {number + 1}: this {_describe(this)}; other "
                f"{_describe(that)}; this/other "
                f"{this.requests_per_second / that.requests_per_second:.3f}",
                flush=True,
            )
        _summarise(rounds)
    finally:
        for server in servers.values():
            server.stop()


def _data(scenario: str, seeded: Seeded) -> dict[str, Any]:
    if scenario == "get":
        return {"key": seeded.service_key, "ids": seeded.project_ids[:GET_IDS]}
    for defined, data in write_scenarios(seeded):
        if defined.key == scenario:
            return {"key": seeded.service_key, **data}
    raise SystemExit(f"no data for the scenario {scenario}")


def _measure(
    server: Server, script: str, arguments: argparse.Namespace, data: Path
) -> Round:
    server_before, database_before = server.cpu_seconds(), database_cpu_seconds()
    measured = run_wrk(
        script, server.url, arguments.connections, arguments.seconds, data
    )
    requests = max(measured.requests, 1)
    return Round(
        requests_per_second=measured.requests_per_second,
        server_cpu_ms=1000 * (server.cpu_seconds() - server_before) / requests,
        database_cpu_ms=1000 * (database_cpu_seconds() - database_before) / requests,
        unexpected=measured.unexpected,
    )


def _describe(measured: Round) -> str:
    return (
        f"{measured.requests_per_second:6.0f} req/s, "
        f"{measured.server_cpu_ms:.2f} | {measured.database_cpu_ms:.2f} ms, "
        f"{measured.unexpected} not 2xx"
    )


def _summarise(rounds: dict[str, list[Round]]) -> None:
    def mean(name: str, field: str) -> float:
        values = [getattr(each, field) for each in rounds[name]]
        return sum(values) / len(values)

    ratios = [
        this.requests_per_second / that.requests_per_second
        for this, that in zip(rounds["this"], rounds["other"], strict=True)
    ]
    print(
        f"this/other: mean {sum(ratios) / len(ratios):.3f}, "
        f"from {min(ratios):.3f} to {max(ratios):.3f}"
    )
    for name in ("this", "other"):
        print(
            f"{name}: {mean(name, 'requests_per_second'):.0f} req/s, CPU per request "
            f"{mean(name, 'server_cpu_ms'):.2f} ms in the workers, "
            f"{mean(name, 'database_cpu_ms'):.2f} ms in PostgreSQL"
        )


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
