"""Concurrency under real load: many clients, two server processes, one database.

Client threads mix every write on a few hot projects, jobs and tasks, sent
to either of two `serve` processes on one PostgreSQL database. Afterwards:
no answer was a 5xx or anything else the contract does not allow; the log
breaks no rule; the read models are what the log says and what a replay
rebuilds; every acknowledged answer is borne out by the log; and no list
showed another workspace's resources.
"""

from __future__ import annotations

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
from tests.servers import ServerProcess, issue_key, services_on
from tests.traffic import (
    Client,
    Exchange,
    acknowledged_but_missing,
    new_seeds,
    run_clients,
    seed_hot_set,
    tally,
    unexpected,
)
from tests.variants import by_variant

SECONDS = by_variant(12, 75)
CLIENTS = by_variant(8, 24)

pytestmark = pytest.mark.timeout(by_variant(180, 900))


@pytest.fixture
def two_servers(
    fresh_postgres_url: str, tmp_path: Path
) -> Iterator[list[ServerProcess]]:
    servers = [
        ServerProcess(fresh_postgres_url, tmp_path / f"server-{number}.log")
        for number in range(2)
    ]
    try:
        for server in servers:
            server.wait_until_ready()
        yield servers
    finally:
        for server in servers:
            server.stop()


def foreign_items(clients: list[Client], workspace_of: dict[Client, str]) -> list[str]:
    """Resources of another workspace that any answer showed a client."""
    found = []
    for client in clients:
        for exchange in client.exchanges:
            if not exchange.succeeded or not isinstance(exchange.body, dict):
                continue
            shown = exchange.body.get("data", [exchange.body])
            for item in shown:
                workspace_id = item.get("workspaceId")
                if workspace_id not in (None, workspace_of[client]):
                    found.append(f"{exchange}: shows {item.get('id')}")
    return found


def test_concurrent_writes_on_hot_resources_keep_every_rule_and_every_answer(
    fresh_postgres_url: str, two_servers: list[ServerProcess]
) -> None:
    urls = [server.base_url for server in two_servers]
    hot_workspace = f"hot-{uuid.uuid4().hex[:8]}"
    keys = [
        issue_key(fresh_postgres_url, f"writer-{n}@example.com", hot_workspace)
        for n in range(2)
    ]
    stranger = issue_key(fresh_postgres_url, "stranger@example.com", "elsewhere")
    hot = seed_hot_set(urls[0], keys[0].api_key)
    elsewhere = seed_hot_set(urls[1], stranger.api_key)
    seeds = iter(new_seeds())
    clients = [
        Client(urls, keys[n % 2].api_key, hot, next(seeds)) for n in range(CLIENTS)
    ]
    clients.append(Client(urls, stranger.api_key, elsewhere, next(seeds)))
    workspace_of = {client: keys[0].workspace_id for client in clients[:-1]}
    workspace_of[clients[-1]] = stranger.workspace_id

    exchanges = run_clients(clients, SECONDS)

    with services_on(fresh_postgres_url) as services:
        events = logged_events(services)
        state = fold(events)
        rows = read_model_rows(services)
        replayed = replay_changes(services)
    _report(exchanges, len(events))
    assert unexpected(exchanges) == []
    assert state.problems == []
    assert read_model_problems(state, rows) == []
    assert replayed == []
    assert acknowledged_but_missing(exchanges, events) == []
    assert foreign_items(clients, workspace_of) == []


def _report(exchanges: list[Exchange], events: int) -> None:
    statuses = tally(exchanges)
    writes = sum(
        count
        for name, count in statuses.items()
        if not name.startswith(("get_", "list_"))
    )
    record(
        f"soak: {len(exchanges)} requests ({writes} writes) by {CLIENTS + 1} clients "
        f"in {SECONDS} s on 2 servers, {events} events; "
        + ", ".join(f"{name} x{count}" for name, count in sorted(statuses.items()))
    )
