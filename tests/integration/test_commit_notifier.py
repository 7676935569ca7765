"""Commits are notified to every process's listeners, a burst of them at once."""

from __future__ import annotations

import time

import psycopg
import pytest

from infrastructure.postgres_store import CommitNotifier, PostgresEventRecorder
from infrastructure.recording import EVENTS_TABLE
from infrastructure.wiring import Services

BURST = 200


def notifier_of(services: Services, interval: float) -> CommitNotifier:
    recorder = services.recorder
    assert isinstance(recorder, PostgresEventRecorder)
    return CommitNotifier(recorder.datastore, interval)


def listening(url: str) -> psycopg.Connection[tuple[object, ...]]:
    connection = psycopg.connect(url, autocommit=True)
    connection.execute(f"LISTEN {EVENTS_TABLE}")
    return connection


def notifications_within(
    connection: psycopg.Connection[tuple[object, ...]], seconds: float
) -> list[float]:
    """The times at which notifications arrived in the next `seconds`."""
    arrived = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        for _ in connection.notifies(timeout=left, stop_after=1):
            arrived.append(time.monotonic())
    return arrived


@pytest.mark.postgres
def test_a_burst_of_commits_is_notified_once_or_a_few_times(
    postgres_services: Services, fresh_postgres_url: str
) -> None:
    notifier = notifier_of(postgres_services, 0.05)
    with listening(fresh_postgres_url) as listener:
        for _ in range(BURST):
            notifier.committed()
        arrived = notifications_within(listener, 1.0)
    notifier.close()

    assert 1 <= len(arrived) <= 3


@pytest.mark.postgres
def test_every_commit_is_followed_by_a_notification(
    postgres_services: Services, fresh_postgres_url: str
) -> None:
    notifier = notifier_of(postgres_services, 0.01)
    with listening(fresh_postgres_url) as listener:
        arrived = []
        for _ in range(5):
            notifier.committed()
            arrived.append(len(notifications_within(listener, 0.2)))
    notifier.close()

    assert arrived == [1, 1, 1, 1, 1]
