"""The suite's figures: a table, JSON and Markdown files, a chart, and the targets.

Every figure of the service is shown beside the baseline's from the same run,
with their ratio (service / baseline): above 1 is better for requests per
second, below 1 is better for latency and memory.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.load import Measurement


@dataclass(frozen=True)
class Scenario:
    """One kind of load: its key, how the table names it, and its Lua script."""

    key: str
    title: str
    script: str


@dataclass(frozen=True)
class Point:
    """One scenario at one number of connections, on both servers."""

    scenario: Scenario
    connections: int
    service: Measurement
    baseline: Measurement

    @property
    def throughput_ratio(self) -> float:
        return _ratio(
            self.service.requests_per_second, self.baseline.requests_per_second
        )

    @property
    def p50_ratio(self) -> float:
        return _ratio(self.service.p50_ms, self.baseline.p50_ms)

    @property
    def p99_ratio(self) -> float:
        return _ratio(self.service.p99_ms, self.baseline.p99_ms)


@dataclass(frozen=True)
class Memory:
    """Peak resident memory of each worker process, after a group of scenarios."""

    group: str
    service_mib: list[float]
    baseline_mib: list[float]

    @property
    def service_peak(self) -> float:
        return max(self.service_mib, default=0.0)

    @property
    def baseline_peak(self) -> float:
        return max(self.baseline_mib, default=0.0)

    @property
    def ratio(self) -> float:
        return _ratio(self.service_peak, self.baseline_peak)


@dataclass(frozen=True)
class Replay:
    """The replay of the whole log, against reading the log and nothing more."""

    events: int
    seconds: float
    read_seconds: float

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0

    @property
    def read_events_per_second(self) -> float:
        return self.events / self.read_seconds if self.read_seconds else 0.0


@dataclass(frozen=True)
class Target:
    """A goal the issue set, checked on this run's figures."""

    name: str
    passed: bool | None  # None: measured and shown, with no goal to meet
    detail: str

    @property
    def verdict(self) -> str:
        if self.passed is None:
            return "INFO"
        return "PASS" if self.passed else "FAIL"


@dataclass
class Results:
    """Everything one run of the suite measured."""

    settings: dict[str, Any]
    points: list[Point] = field(default_factory=list)
    memory: list[Memory] = field(default_factory=list)
    replay: Replay | None = None
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # The machine's 1-minute load average when each stage began: other work
    # on the same cores shows here, and makes the figures noisier.
    load_averages: dict[str, float] = field(default_factory=dict)

    def point(self, key: str, connections: int) -> Point | None:
        for each in self.points:
            if each.scenario.key == key and each.connections == connections:
                return each
        return None


def _ratio(service: float, baseline: float) -> float:
    return service / baseline if baseline else float("nan")


HEADER = (
    f"{'scenario':<34} {'conn':>4} | {'req/s svc':>9} {'base':>7} {'ratio':>5} | "
    f"{'p50 ms svc':>10} {'base':>6} {'ratio':>5} | "
    f"{'p99 ms svc':>10} {'base':>6} {'ratio':>5} | {'non-2xx':>9} {'5xx':>7}"
)


def table_row(point: Point) -> str:
    """One line of the printed table, under HEADER."""
    service, baseline = point.service, point.baseline
    return (
        f"{point.scenario.title:<34} {point.connections:>4} | "
        f"{service.requests_per_second:>9.0f} {baseline.requests_per_second:>7.0f} "
        f"{point.throughput_ratio:>5.2f} | "
        f"{service.p50_ms:>10.2f} {baseline.p50_ms:>6.2f} {point.p50_ratio:>5.2f} | "
        f"{service.p99_ms:>10.2f} {baseline.p99_ms:>6.2f} {point.p99_ratio:>5.2f} | "
        f"{_pair(service.unexpected, baseline.unexpected):>9} "
        f"{_pair(service.answers_5xx, baseline.answers_5xx):>7}"
    )


def generator_line(results: Results) -> str:
    """How much CPU wrk itself used, as a share of one core."""
    shares = [
        measured.generator_cores
        for point in results.points
        for measured in (point.service, point.baseline)
    ]
    if not shares:
        return "load generator: no points"
    return (
        f"load generator (wrk): at most {max(shares):.0%} of one core, "
        f"{sum(shares) / len(shares):.0%} on average"
    )


def load_line(results: Results) -> str:
    stages = ", ".join(
        f"{stage} {load:.1f}" for stage, load in results.load_averages.items()
    )
    return f"machine load average (1 min) as each stage began: {stages}"


CPU_CONNECTIONS = 16


def cpu_rows(results: Results) -> list[tuple[str, float, float, float, float]]:
    """CPU ms per request at 16 connections: server and database, each side.

    Where the service's time goes beside the baseline's: its own Python, or
    the work it asks of PostgreSQL.
    """
    return [
        (
            point.scenario.title,
            point.service.server_cpu_ms,
            point.baseline.server_cpu_ms,
            point.service.database_cpu_ms,
            point.baseline.database_cpu_ms,
        )
        for point in results.points
        if point.connections == CPU_CONNECTIONS
    ]


def _pair(service: int, baseline: int) -> str:
    return f"{service}/{baseline}"


def text_report(results: Results) -> str:
    """The whole report as the suite prints it."""
    lines = ["", HEADER, "-" * len(HEADER)]
    lines += [table_row(point) for point in results.points]
    lines += [
        "",
        f"CPU ms per request at {CPU_CONNECTIONS} connections "
        "(server workers | PostgreSQL):",
    ]
    lines += [
        f"  {title:<34} service {server:5.2f} | {database:5.2f}   "
        f"baseline {base_server:5.2f} | {base_database:5.2f}"
        for title, server, base_server, database, base_database in cpu_rows(results)
    ]
    lines += ["", generator_line(results), load_line(results)]
    lines += ["", "peak memory per worker process (VmHWM, MiB, largest worker):"]
    for memory in results.memory:
        lines.append(
            f"  {memory.group:<8} service {memory.service_peak:7.1f}  "
            f"baseline {memory.baseline_peak:7.1f}  ratio {memory.ratio:5.2f}"
        )
    if results.replay is not None:
        replay = results.replay
        lines += [
            "",
            f"replay: {replay.events:,} events in {replay.seconds:.1f} s = "
            f"{replay.events_per_second:,.0f} events/s; reading the log alone: "
            f"{replay.read_events_per_second:,.0f} events/s; "
            f"ratio {replay.events_per_second / replay.read_events_per_second:.2f}",
        ]
    lines += ["", "targets:"]
    lines += [
        f"  {target.verdict}  {target.name}: {target.detail}"
        for target in results.targets
    ]
    lines += [f"note: {note}" for note in results.notes]
    return "\n".join(lines)


def markdown_report(results: Results) -> str:
    """The report as Markdown, with the chart beside it in the same folder."""
    settings = results.settings
    lines = [
        "# Benchmark results",
        "",
        f"Run {settings['finished']}, {settings['mode']} mode, "
        f"{settings['seconds']} s per point, on {settings['machine']}. "
        f"Both servers: {settings['servers']}. Load: {settings['generator']}.",
        "",
        "Ratios are service / baseline: above 1 is better for requests per "
        "second, below 1 is better for latency and memory.",
        "",
        "| scenario | connections | req/s service | req/s baseline | ratio "
        "| p50 ms service | p50 ms baseline | ratio | p99 ms service "
        "| p99 ms baseline | ratio | non-2xx service/baseline "
        "| 5xx service/baseline |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for point in results.points:
        service, baseline = point.service, point.baseline
        lines.append(
            f"| {point.scenario.title} | {point.connections} "
            f"| {service.requests_per_second:.0f} "
            f"| {baseline.requests_per_second:.0f} | {point.throughput_ratio:.2f} "
            f"| {service.p50_ms:.2f} | {baseline.p50_ms:.2f} | {point.p50_ratio:.2f} "
            f"| {service.p99_ms:.2f} | {baseline.p99_ms:.2f} | {point.p99_ratio:.2f} "
            f"| {_pair(service.unexpected, baseline.unexpected)} "
            f"| {_pair(service.answers_5xx, baseline.answers_5xx)} |"
        )
    lines += [
        "",
        f"CPU milliseconds per request at {CPU_CONNECTIONS} connections, in the "
        "server's workers and in PostgreSQL (all its processes):",
        "",
        "| scenario | server, service | server, baseline "
        "| PostgreSQL, service | PostgreSQL, baseline |",
        "|---|--:|--:|--:|--:|",
    ]
    lines += [
        f"| {title} | {server:.2f} | {base_server:.2f} | {database:.2f} "
        f"| {base_database:.2f} |"
        for title, server, base_server, database, base_database in cpu_rows(results)
    ]
    lines += [
        "",
        "Peak memory per worker process (VmHWM of the largest worker, MiB):",
        "",
        "| scenario group | service | baseline | ratio |",
        "|---|--:|--:|--:|",
    ]
    lines += [
        f"| {m.group} | {m.service_peak:.1f} | {m.baseline_peak:.1f} | {m.ratio:.2f} |"
        for m in results.memory
    ]
    if results.replay is not None:
        replay = results.replay
        lines += [
            "",
            f"Replay: {replay.events:,} events in {replay.seconds:.1f} s, "
            f"{replay.events_per_second:,.0f} events/s (reading the log alone: "
            f"{replay.read_events_per_second:,.0f} events/s).",
        ]
    lines += ["", generator_line(results) + ".", "", load_line(results) + "."]
    lines += ["", "| target | result | figures |", "|---|---|---|"]
    lines += [f"| {t.name} | {t.verdict} | {t.detail} |" for t in results.targets]
    lines += ["", "![Throughput against connections](throughput.png)", ""]
    lines += [f"Note: {note}" for note in results.notes]
    return "\n".join(lines) + "\n"


def json_report(results: Results) -> str:
    """Every figure of the run, for tools and for comparing runs."""
    document = {
        "settings": results.settings,
        "points": [
            {
                "scenario": point.scenario.key,
                "title": point.scenario.title,
                "connections": point.connections,
                "service": point.service.as_dict(),
                "baseline": point.baseline.as_dict(),
                "ratios": {
                    "requests_per_second": point.throughput_ratio,
                    "p50": point.p50_ratio,
                    "p99": point.p99_ratio,
                },
            }
            for point in results.points
        ],
        "memory": [
            {
                "group": m.group,
                "service_workers_mib": m.service_mib,
                "baseline_workers_mib": m.baseline_mib,
                "ratio": m.ratio,
            }
            for m in results.memory
        ],
        "replay": None
        if results.replay is None
        else {
            "events": results.replay.events,
            "seconds": results.replay.seconds,
            "events_per_second": results.replay.events_per_second,
            "read_seconds": results.replay.read_seconds,
            "read_events_per_second": results.replay.read_events_per_second,
        },
        "targets": [
            {"name": t.name, "passed": t.passed, "detail": t.detail}
            for t in results.targets
        ],
        "notes": results.notes,
        "load_averages": results.load_averages,
    }
    return json.dumps(document, indent=2) + "\n"


def draw_chart(results: Results, path: Path, subtitle: str) -> None:
    """Requests per second against connections, one panel per scenario."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scenarios: list[Scenario] = []
    for point in results.points:
        if point.scenario not in scenarios:
            scenarios.append(point.scenario)
    columns = 3
    rows = -(-len(scenarios) // columns)
    figure, axes = plt.subplots(
        rows, columns, figsize=(5 * columns, 3.6 * rows), squeeze=False
    )
    for panel, scenario in zip(axes.flat, scenarios, strict=False):
        points = [p for p in results.points if p.scenario == scenario]
        connections = [p.connections for p in points]
        for label, pick, style in (
            ("service", lambda p: p.service, "o-"),
            ("baseline", lambda p: p.baseline, "s--"),
        ):
            rates = [pick(p).requests_per_second for p in points]
            panel.plot(connections, rates, style, label=label)
        panel.set_title(scenario.title, fontsize=10)
        panel.set_xscale("log", base=2)
        panel.set_xticks(connections, [str(c) for c in connections])
        panel.set_xlabel("connections")
        panel.set_ylabel("requests/s")
        panel.set_ylim(bottom=0)
        panel.grid(alpha=0.3)
        panel.legend(fontsize=8)
    for panel in list(axes.flat)[len(scenarios) :]:
        panel.set_visible(False)
    figure.suptitle(f"Throughput against connections: service and baseline\n{subtitle}")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


class _NotMeasuredError(Exception):
    """A target needs a point that this run did not measure."""


def check_targets(
    results: Results,
    *,
    large_rows: str,
    small_rows: str,
) -> list[Target]:
    """The issue's targets, as ratios against the baseline of this run.

    A target whose points were not measured (a run of some groups only) is
    left out.
    """

    def at(key: str, connections: int) -> Point:
        found = results.point(key, connections)
        if found is None:
            raise _NotMeasuredError(f"no point for {key} at {connections} connections")
        return found

    def assignments() -> list[Target]:
        spread = at("assign_spread", 16)
        return [
            Target(
                "assignment throughput at 16 connections >= 0.8x baseline",
                spread.throughput_ratio >= 0.8,
                f"{spread.service.requests_per_second:.0f} / "
                f"{spread.baseline.requests_per_second:.0f} req/s = "
                f"{spread.throughput_ratio:.2f}x",
            )
        ]

    def reads() -> list[Target]:
        found = []
        for key in ("list_first", "list_cursor", "get"):
            point = at(key, 16)
            found.append(
                Target(
                    f"{point.scenario.title} at 16 connections >= 0.9x baseline",
                    point.throughput_ratio >= 0.9,
                    f"{point.service.requests_per_second:.0f} / "
                    f"{point.baseline.requests_per_second:.0f} req/s = "
                    f"{point.throughput_ratio:.2f}x",
                )
            )
        return found

    def page_latencies() -> list[Target]:
        found = []
        for large_key, small_key, what in (
            ("list_first", "small_list_first", "page 1"),
            ("list_cursor", "small_list_cursor", "a deep page by cursor"),
        ):
            large, small = at(large_key, 1), at(small_key, 1)
            change = large.service.p50_ms / small.service.p50_ms
            found.append(
                Target(
                    f"latency of {what}: {large_rows} rows within 20% of {small_rows}",
                    abs(change - 1) <= 0.2,
                    f"p50 at 1 connection {large.service.p50_ms:.2f} ms against "
                    f"{small.service.p50_ms:.2f} ms = {change:.2f}x "
                    f"(baseline {large.baseline.p50_ms / small.baseline.p50_ms:.2f}x)",
                )
            )
        return found

    def page_by_number() -> list[Target]:
        by_number, first = at("list_number", 1), at("list_first", 1)
        return [
            Target(
                "a deep page by number costs an offset scan (measured, no goal)",
                None,
                f"p50 at 1 connection {by_number.service.p50_ms:.2f} ms against "
                f"{first.service.p50_ms:.2f} ms for page 1 = "
                f"{by_number.service.p50_ms / first.service.p50_ms:.1f}x "
                f"(baseline {by_number.baseline.p50_ms / first.baseline.p50_ms:.1f}x)",
            )
        ]

    def hot_project() -> list[Target]:
        hot, spread = at("assign_hot", 16), at("assign_spread", 16)
        hot_5xx = sum(
            p.service.answers_5xx
            for p in results.points
            if p.scenario.key == "assign_hot"
        )
        share = _ratio(
            hot.service.requests_per_second, spread.service.requests_per_second
        )
        return [
            Target(
                "one hot project, 16 assigners >= 0.5x the spread case, zero 5xx",
                share >= 0.5 and hot_5xx == 0,
                f"{hot.service.requests_per_second:.0f} / "
                f"{spread.service.requests_per_second:.0f} req/s = {share:.2f}x; "
                f"{hot_5xx} 5xx over all hot-project points",
            )
        ]

    targets: list[Target] = []
    for check in (assignments, reads, page_latencies, page_by_number, hot_project):
        try:
            targets.extend(check())
        except _NotMeasuredError:
            continue
    if results.replay is not None:
        rate = results.replay.events_per_second
        targets.append(
            Target(
                "replay >= 20,000 events/s",
                rate >= 20_000,
                f"{rate:,.0f} events/s over {results.replay.events:,} events",
            )
        )
    all_5xx = sum(p.service.answers_5xx for p in results.points)
    targets.append(
        Target(
            "no 5xx from the service in any scenario",
            all_5xx == 0,
            f"{all_5xx} 5xx answers",
        )
    )
    return targets


def write_files(
    results: Results, directory: Path, subtitle: str, chart_copies: Sequence[Path]
) -> list[Path]:
    """Write the JSON, the Markdown and the chart; return the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = [directory / "results.json", directory / "results.md"]
    written[0].write_text(json_report(results))
    written[1].write_text(markdown_report(results))
    chart = directory / "throughput.png"
    draw_chart(results, chart, subtitle)
    written.append(chart)
    for copy in chart_copies:
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_bytes(chart.read_bytes())
        written.append(copy)
    return written
