"""A subscriber following the feed misses nothing while many writers commit.

Writers and readers each have their own connection pool, as separate server
processes would. Readers poll the feed with the last position they saw and
must end with every event of the workspace exactly once, in one order. The
writers record both ways a command can: decided on what they saved a moment
ago, in one message with their turn, or after reading first.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from application.views import Actor
from infrastructure.settings import Settings
from infrastructure.wiring import Services, build_services

WRITERS = 8
READERS = 3
COMMANDS_PER_WRITER = int(os.environ.get("SOKOSUMI_FEED_COMMANDS", "40"))


@pytest.fixture
def pools(fresh_postgres_url: str) -> Iterator[list[Services]]:
    settings = Settings.from_environ(
        {"DATABASE_URL": fresh_postgres_url, "SOKOSUMI_DB_POOL_SIZE": "2"}
    )
    built = [build_services(settings) for _ in range(WRITERS + READERS + 1)]
    yield built
    for services in built:
        services.close()


def write(services: Services, actor: Actor, errors: list[BaseException]) -> None:
    app = services.application
    try:
        project = app.create_project(actor, "shared", None)
        for n in range(COMMANDS_PER_WRITER):
            job = app.create_job(actor, f"job {n}")
            app.assign_job(actor, project.id, job.id)
            if n % 5 == 0:
                app.update_project(actor, project.id, name=f"renamed {n}")
    except BaseException as error:
        errors.append(error)


def follow(
    services: Services, actor: Actor, done: threading.Event, seen: list[int]
) -> None:
    after = 0
    while True:
        finished = done.is_set()
        page = services.application.list_events(actor, after, 50)
        seen.extend(event.position for event in page.items)
        after = page.next_after
        if finished and not page.has_more and not page.items:
            return
        if not page.items:
            time.sleep(0.002)


@pytest.mark.postgres
@pytest.mark.parametrize("decided", ["on cache", "after reading"])
def test_every_reader_sees_every_event_once_in_one_order(
    pools: list[Services], decided: str
) -> None:
    if decided == "after reading":
        for services in pools[:WRITERS]:
            services.application.recent.trusted_for = -1.0
    admin = pools[-1]
    issued = admin.create_key("writer@example.com", "busy workspace")
    actor = Actor(issued.user_id, issued.workspace_id)
    other = admin.create_key("other@example.com", "other workspace")
    other_actor = Actor(other.user_id, other.workspace_id)
    done = threading.Event()
    errors: list[BaseException] = []
    seen: list[list[int]] = [[] for _ in range(READERS)]
    readers = [
        threading.Thread(target=follow, args=(pools[WRITERS + n], actor, done, seen[n]))
        for n in range(READERS)
    ]
    writers = [
        threading.Thread(
            target=write,
            args=(pools[n], other_actor if n == 0 else actor, errors),
        )
        for n in range(WRITERS)
    ]

    for thread in readers + writers:
        thread.start()
    for thread in writers:
        thread.join()
    done.set()
    for thread in readers:
        thread.join(timeout=60)

    assert errors == []
    everything = [
        event.position
        for event in admin.application.export_events(workspace_id=actor.workspace_id)
    ]
    expected_events = (WRITERS - 1) * (
        1 + COMMANDS_PER_WRITER * 3 + COMMANDS_PER_WRITER // 5
    )
    assert len(everything) == expected_events
    for positions in seen:
        assert positions == everything


def open_transaction(url: str, statement: str) -> psycopg.Connection[Any]:
    """A connection whose transaction has run `statement` and stays open."""
    connection = psycopg.connect(url)
    connection.execute(statement)
    return connection


@pytest.mark.postgres
def test_a_long_write_elsewhere_does_not_hold_the_feed_back(
    pools: list[Services], fresh_postgres_url: str
) -> None:
    services = pools[0]
    issued = services.create_key("reader@example.com", "workspace")
    actor = Actor(issued.user_id, issued.workspace_id)
    elsewhere = open_transaction(
        fresh_postgres_url,
        "UPDATE service_secrets SET secret = secret WHERE name = 'cursors'",
    )

    try:
        services.application.create_job(actor, "J")
        seen = services.application.list_events(actor, 0, 10).items
    finally:
        elsewhere.rollback()
        elsewhere.close()

    assert [event.type for event in seen] == ["JobCreated"]


@pytest.mark.postgres
def test_events_written_after_an_open_write_of_events_wait_for_it(
    pools: list[Services], fresh_postgres_url: str
) -> None:
    services = pools[0]
    issued = services.create_key("reader@example.com", "workspace")
    actor = Actor(issued.user_id, issued.workspace_id)
    earlier = open_transaction(
        fresh_postgres_url,
        "INSERT INTO stored_events (originator_id, originator_version, topic, "
        "state, workspace_id, notification_id) VALUES ('job_probe', 1, 'Probe', "
        "'', 'ws_probe', pg_current_xact_id()::text::bigint << 20)",
    )

    try:
        services.application.create_job(actor, "J")
        while_open = services.application.list_events(actor, 0, 10).items
    finally:
        earlier.rollback()
        earlier.close()
    after_it_ended = services.application.list_events(actor, 0, 10).items

    assert while_open == []
    assert [event.type for event in after_it_ended] == ["JobCreated"]
