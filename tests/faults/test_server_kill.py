"""A server process killed with SIGKILL in the middle of a load.

Two `serve` processes share one PostgreSQL database; one of them, master and
workers alike, is killed at once while clients keep writing through both.
Whatever it was doing, no half-applied command may show: no job counted in
a project without its JobAssigned, no deletion that left members behind, no
read-model row that the log does not explain. The survivor answers on, a
restarted server answers again, and every acknowledged write is in the log.
"""

from __future__ import annotations

import time
import uuid
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
from tests.servers import ServerProcess, issue_key, services_on
from tests.traffic import (
    Client,
    Exchange,
    acknowledged_but_missing,
    new_seeds,
    run_clients,
    seed_hot_set,
    unexpected,
)
from tests.variants import by_variant

KILLS = by_variant(1, 5)
BETWEEN_KILLS = by_variant(4.0, 10.0)

pytestmark = pytest.mark.timeout(by_variant(120, 600))


def answered_by_the_living(
    exchanges: list[Exchange], victim_url: str, deaths: list[tuple[float, float]]
) -> list[Exchange]:
    """The exchanges that no kill can explain away.

    A request to the victim while it was dead (or dying) may fail in any
    way; it was never acknowledged, and the audit shows it left no trace.
    """
    kept = []
    for exchange in exchanges:
        to_victim = exchange.base_url == victim_url
        while_dead = any(
            exchange.sent_at <= back and exchange.answered_at >= killed
            for killed, back in deaths
        )
        if not (to_victim and while_dead):
            kept.append(exchange)
    return kept


def test_a_server_killed_mid_load_leaves_no_half_applied_command(
    fresh_postgres_url: str, tmp_path: Path
) -> None:
    servers = [
        ServerProcess(
            fresh_postgres_url, tmp_path / f"server-{n}.log"
        ).wait_until_ready()
        for n in range(2)
    ]
    urls = [server.base_url for server in servers]
    key = issue_key(
        fresh_postgres_url, "writer@example.com", f"ws-{uuid.uuid4().hex[:6]}"
    )
    hot = seed_hot_set(urls[0], key.api_key)
    seeds = iter(new_seeds())
    clients = [Client(urls, key.api_key, hot, next(seeds)) for _ in range(8)]
    deaths: list[tuple[float, float]] = []

    def kill_and_restart() -> None:
        for number in range(KILLS):
            time.sleep(BETWEEN_KILLS)
            killed = time.monotonic()
            servers[0].kill()
            time.sleep(1)
            servers[0] = ServerProcess(
                fresh_postgres_url,
                tmp_path / f"server-0-{number}.log",
                port=servers[0].port,
            ).wait_until_ready()
            deaths.append((killed, time.monotonic()))
        time.sleep(3)

    try:
        exchanges = run_clients(clients, 0, during=kill_and_restart)
    finally:
        for server in servers:
            server.stop()

    with services_on(fresh_postgres_url) as services:
        events = logged_events(services)
        state = fold(events)
        rows = read_model_rows(services)
        replayed = replay_changes(services)
    judged = answered_by_the_living(exchanges, urls[0], deaths)
    record(
        f"server kills: {len(deaths)} SIGKILLs, {len(exchanges)} requests, "
        f"{len(exchanges) - len(judged)} to the victim while it was down, "
        f"{len(events)} events"
    )
    assert unexpected(judged) == []
    assert state.problems == []
    assert read_model_problems(state, rows) == []
    assert replayed == []
    assert acknowledged_but_missing(exchanges, events) == []
