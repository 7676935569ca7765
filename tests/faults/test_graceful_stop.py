"""SIGTERM: the requests in flight complete before the server process exits.

The test holds the events table locked, so that the writes it sends stay in
flight inside the server; it sends SIGTERM, checks that the server waits for
them, then lets them through. Every one must be answered and recorded, and
the server must then exit cleanly.
"""

from __future__ import annotations

import signal
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
import requests

from tests.audit import logged_events
from tests.figures import record
from tests.servers import ServerProcess, issue_key, services_on

IN_FLIGHT = 6

pytestmark = pytest.mark.timeout(120)


def waiting_on_the_events_table(connection: psycopg.Connection[object]) -> int:
    """How many sessions wait for the lock this test holds."""
    row = connection.execute(
        "SELECT count(*) FROM pg_locks "
        "WHERE NOT granted AND relation = 'stored_events'::regclass"
    ).fetchone()
    assert row is not None
    return int(str(row[0]))


def test_sigterm_lets_every_request_in_flight_finish_before_the_server_exits(
    fresh_postgres_url: str, tmp_path: Path
) -> None:
    server = ServerProcess(
        fresh_postgres_url, tmp_path / "server.log", workers=1, threads=IN_FLIGHT + 2
    ).wait_until_ready()
    key = issue_key(
        fresh_postgres_url, "writer@example.com", f"ws-{uuid.uuid4().hex[:6]}"
    )
    headers = {"Authorization": f"Bearer {key.api_key}"}

    def create(number: int) -> requests.Response:
        return requests.post(
            f"{server.base_url}/v1/projects",
            json={"name": f"In flight {number}"},
            headers=headers,
            timeout=60,
        )

    with (
        psycopg.connect(fresh_postgres_url, autocommit=True) as observer,
        psycopg.connect(fresh_postgres_url) as blocker,
        ThreadPoolExecutor(IN_FLIGHT) as senders,
    ):
        blocker.execute("LOCK TABLE stored_events IN ACCESS EXCLUSIVE MODE")
        answers = [senders.submit(create, number) for number in range(IN_FLIGHT)]
        deadline = time.monotonic() + 20
        while waiting_on_the_events_table(observer) < IN_FLIGHT:
            assert time.monotonic() < deadline, "the writes never reached the table"
            time.sleep(0.05)

        server.process.send_signal(signal.SIGTERM)
        time.sleep(1.5)
        still_running = server.process.poll() is None
        blocker.rollback()
        statuses = [answer.result(timeout=30).status_code for answer in answers]
        created = {answer.result().json()["id"] for answer in answers}

    exit_status = server.process.wait(30)
    server.stop()
    with services_on(fresh_postgres_url) as services:
        recorded = {
            event.originator_id
            for event in logged_events(services)
            if event.topic == "ProjectCreated"
        }
    record(
        f"graceful stop: SIGTERM with {IN_FLIGHT} writes in flight, answered "
        f"{statuses}, exit status {exit_status}"
    )
    assert still_running
    assert statuses == [201] * IN_FLIGHT
    assert created <= recorded
    assert exit_status == 0
