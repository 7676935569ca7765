"""PostgreSQL restarted in the middle of a load.

The test runs a PostgreSQL cluster of its own, so that it can stop it as
abruptly as a crash (`pg_ctl stop -m immediate`) and start it again while
clients keep sending every kind of request to two server processes. During
the outage every answer is a 503 with Retry-After, given quickly; once the
database is back the service answers again by itself within seconds; and no
acknowledged write is lost.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.audit import (
    fold,
    logged_events,
    read_model_problems,
    read_model_rows,
    replay_changes,
)
from tests.figures import record
from tests.servers import PrivatePostgres, ServerProcess, issue_key, services_on
from tests.traffic import (
    ALLOWED,
    Client,
    Exchange,
    acknowledged_but_missing,
    new_seeds,
    run_clients,
    seed_hot_set,
    tally,
)
from tests.variants import by_variant

CONNECT_TIMEOUT = 1.0
# How long after the database is back the service may still fail requests.
RECOVERY_SECONDS = 6.0
# A request during the outage must not hang: the connect timeout and a margin.
OUTAGE_ANSWER_SECONDS = 4 * CONNECT_TIMEOUT + 2
OUTAGES = by_variant(1, 4)
OUTAGE_SECONDS = by_variant(3.0, 6.0)
BETWEEN_OUTAGES = by_variant(4.0, 12.0)

pytestmark = pytest.mark.timeout(by_variant(120, 600))


@pytest.fixture
def cluster() -> Iterator[PrivatePostgres]:
    postgres = PrivatePostgres()
    try:
        postgres.start()
        yield postgres
    finally:
        postgres.remove()


@pytest.fixture
def two_servers(
    cluster: PrivatePostgres, tmp_path: Path
) -> Iterator[tuple[str, list[ServerProcess]]]:
    database_url = cluster.create_database()
    environment = {"SOKOSUMI_DB_CONNECT_TIMEOUT": str(CONNECT_TIMEOUT)}
    servers = [
        ServerProcess(
            database_url, tmp_path / f"server-{n}.log", environment=environment
        )
        for n in range(2)
    ]
    try:
        for server in servers:
            server.wait_until_ready()
        yield database_url, servers
    finally:
        for server in servers:
            server.stop()


def outage_problems(
    exchanges: list[Exchange], outages: list[tuple[float, float]]
) -> list[str]:
    """Answers that a restart of the database may not explain."""
    problems = []
    for exchange in exchanges:
        during = [
            (stopped, started)
            for stopped, started in outages
            if exchange.sent_at <= started + RECOVERY_SECONDS
            and exchange.answered_at >= stopped
        ]
        if exchange.status in ALLOWED[exchange.action]:
            continue
        if exchange.status != 503 or not during:
            problems.append(f"outside any outage: {exchange}")
        elif exchange.retry_after is None:
            problems.append(f"503 without Retry-After: {exchange}")
        elif exchange.answered_at - exchange.sent_at > OUTAGE_ANSWER_SECONDS:
            problems.append(
                f"took {exchange.answered_at - exchange.sent_at:.1f} s: {exchange}"
            )
    return problems


def recovery_seconds(
    exchanges: list[Exchange], started: float, next_stop: float
) -> float:
    """How long after `started` the last request failed for want of the store.

    Only requests answered before the next outage began count.
    """
    failed_after = [
        exchange.sent_at - started
        for exchange in exchanges
        if exchange.sent_at >= started
        and exchange.answered_at < next_stop
        and exchange.status in (None, 503)
    ]
    return max(failed_after, default=0.0)


def test_a_database_restart_mid_load_costs_503s_for_its_duration_and_loses_nothing(
    cluster: PrivatePostgres, two_servers: tuple[str, list[ServerProcess]]
) -> None:
    database_url, servers = two_servers
    urls = [server.base_url for server in servers]
    key = issue_key(database_url, "writer@example.com", f"ws-{uuid.uuid4().hex[:6]}")
    hot = seed_hot_set(urls[0], key.api_key)
    seeds = iter(new_seeds())
    clients = [Client(urls, key.api_key, hot, next(seeds)) for _ in range(6)]
    outages: list[tuple[float, float]] = []

    def restart_the_database() -> None:
        for _ in range(OUTAGES):
            time.sleep(BETWEEN_OUTAGES)
            stopped = time.monotonic()
            cluster.stop("immediate")
            time.sleep(OUTAGE_SECONDS)
            cluster.start()
            outages.append((stopped, time.monotonic()))
        time.sleep(RECOVERY_SECONDS + 3)

    exchanges = run_clients(clients, 0, during=restart_the_database)

    with services_on(database_url) as services:
        events = logged_events(services)
        state = fold(events)
        rows = read_model_rows(services)
        replayed = replay_changes(services)
    next_stops = [stopped for stopped, _ in outages[1:]] + [float("inf")]
    recoveries = [
        recovery_seconds(exchanges, started, next_stop)
        for (_, started), next_stop in zip(outages, next_stops, strict=True)
    ]
    statuses = tally(exchanges)
    record(
        f"database restarts: {len(outages)} outages of {OUTAGE_SECONDS} s, "
        f"{len(exchanges)} requests, "
        f"{sum(1 for e in exchanges if e.status == 503)} answered 503, "
        f"{sum(1 for e in exchanges if e.status is None)} transport errors, "
        f"recovered after {', '.join(f'{r:.1f} s' for r in recoveries)}; "
        + ", ".join(f"{name} x{count}" for name, count in sorted(statuses.items()))
    )
    assert outage_problems(exchanges, outages) == []
    assert all(seconds <= RECOVERY_SECONDS for seconds in recoveries), recoveries
    assert state.problems == []
    assert read_model_problems(state, rows) == []
    assert replayed == []
    assert acknowledged_but_missing(exchanges, events) == []
