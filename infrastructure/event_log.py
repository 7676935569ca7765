"""Reading the event log: a workspace's feed, a project's history, an export.

Positions are the events table's notification ids. On SQLite one writer at a
time issues them, so they become visible in order. On PostgreSQL writers run
concurrently, and a reader first asks how far it may read (see
postgres_store.CEILING). Either way a reader that asks for what follows
the last position it saw never skips an event.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import psycopg
from eventsourcing.persistence import StoredEvent
from psycopg.sql import SQL, Identifier

from application.ports import LoggedEvent
from infrastructure.memory_store import MemoryEventRecorder
from infrastructure.postgres_store import CEILING
from infrastructure.recording import EVENTS_TABLE
from projections.sql import Database

logger = logging.getLogger(__name__)

_COLUMNS = (
    "notification_id, workspace_id, originator_id, originator_version, topic, state"
)
POLL_INTERVAL = 0.25


def _logged(row: dict[str, Any]) -> LoggedEvent:
    return LoggedEvent(
        position=int(row["notification_id"]),
        workspace_id=row["workspace_id"],
        stored=StoredEvent(
            originator_id=row["originator_id"],
            originator_version=int(row["originator_version"]),
            topic=row["topic"],
            state=bytes(row["state"]),
        ),
    )


class SqlEventLog:
    """The event log in the events table of PostgreSQL or SQLite."""

    def __init__(self, database: Database, signal: CommitSignal) -> None:
        self.database = database
        self.signal = signal

    def read(
        self,
        *,
        after: int,
        limit: int,
        workspace_id: str | None = None,
        until: int | None = None,
    ) -> list[LoggedEvent]:
        conditions = ["notification_id > :after"]
        params: dict[str, Any] = {"after": after, "limit": limit}
        if workspace_id is not None:
            conditions.append("workspace_id = :workspace_id")
            params["workspace_id"] = workspace_id
        if until is not None:
            conditions.append("notification_id <= :until")
            params["until"] = until
        with self.database.reading() as session:
            if session.dialect == "postgresql":
                conditions.append("notification_id < :ceiling")
                params["ceiling"] = session.fetch(CEILING)[0]["ceiling"]
            return [
                _logged(row)
                for row in session.fetch(
                    f"SELECT {_COLUMNS} FROM {EVENTS_TABLE} "
                    f"WHERE {' AND '.join(conditions)} "
                    "ORDER BY notification_id LIMIT :limit",
                    params,
                )
            ]

    def read_project(
        self, workspace_id: str, project_id: str, *, after: int, offset: int, limit: int
    ) -> list[LoggedEvent]:
        statement = (
            f"SELECT {_COLUMNS} FROM {EVENTS_TABLE} "
            "WHERE project_id = :project_id AND workspace_id = :workspace_id "
            "AND notification_id > :after ORDER BY notification_id LIMIT :limit"
        )
        params: dict[str, Any] = {
            "project_id": project_id,
            "workspace_id": workspace_id,
            "after": after,
            "limit": limit,
        }
        if offset:
            statement += " OFFSET :offset"
            params["offset"] = offset
        with self.database.reading() as session:
            return [_logged(row) for row in session.fetch(statement, params)]

    def count_project(self, workspace_id: str, project_id: str) -> int:
        with self.database.reading() as session:
            rows = session.fetch(
                f"SELECT COUNT(*) AS total FROM {EVENTS_TABLE} "
                "WHERE project_id = :project_id AND workspace_id = :workspace_id",
                {"project_id": project_id, "workspace_id": workspace_id},
            )
        return int(rows[0]["total"])

    def wait_for_commit(self, timeout: float) -> None:
        self.signal.wait(timeout)


class MemoryEventLog:
    """The event log of the in-memory store."""

    def __init__(self, recorder: MemoryEventRecorder) -> None:
        self.recorder = recorder
        self._changed = threading.Event()
        recorder._listeners.add(self._changed)

    def _all(self) -> list[tuple[LoggedEvent, str | None]]:
        notifications = self.recorder.select_notifications(1, 10**9)
        return [
            (
                LoggedEvent(
                    position=n.id,
                    workspace_id=self.recorder.workspace_ids[n.id - 1],
                    stored=n,
                ),
                self.recorder.project_ids[n.id - 1],
            )
            for n in notifications
        ]

    def read(
        self,
        *,
        after: int,
        limit: int,
        workspace_id: str | None = None,
        until: int | None = None,
    ) -> list[LoggedEvent]:
        found = [
            logged
            for logged, _ in self._all()
            if logged.position > after
            and (workspace_id is None or logged.workspace_id == workspace_id)
            and (until is None or logged.position <= until)
        ]
        return found[:limit]

    def _project(self, workspace_id: str, project_id: str) -> list[LoggedEvent]:
        return [
            logged
            for logged, related in self._all()
            if related == project_id and logged.workspace_id == workspace_id
        ]

    def read_project(
        self, workspace_id: str, project_id: str, *, after: int, offset: int, limit: int
    ) -> list[LoggedEvent]:
        found = [
            logged
            for logged in self._project(workspace_id, project_id)
            if logged.position > after
        ]
        return found[offset : offset + limit]

    def count_project(self, workspace_id: str, project_id: str) -> int:
        return len(self._project(workspace_id, project_id))

    def wait_for_commit(self, timeout: float) -> None:
        self._changed.wait(timeout)
        self._changed.clear()


class CommitSignal:
    """Wakes readers of the log when events may have been committed.

    This base class polls; `PostgresCommitSignal` is woken by NOTIFY.
    """

    def wait(self, timeout: float) -> None:
        time.sleep(min(timeout, POLL_INTERVAL))


class PostgresCommitSignal(CommitSignal):
    """Listens on the events table's channel, in one thread per process.

    The thread starts with the first waiter and reconnects by itself when the
    database goes away; while it is not listening, waiters fall back to polling.
    """

    def __init__(self, conninfo: dict[str, Any]) -> None:
        self.conninfo = conninfo
        self._condition = threading.Condition()
        self._generation = 0
        self._listening = False
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def wait(self, timeout: float) -> None:
        self._start()
        if not self._listening:
            super().wait(timeout)
            return
        with self._condition:
            seen = self._generation
            self._condition.wait_for(lambda: self._generation != seen, timeout)

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._listen, name="event-log-listener", daemon=True
                )
                self._thread.start()

    def _listen(self) -> None:
        while True:
            try:
                with psycopg.connect(**self.conninfo, autocommit=True) as connection:
                    connection.execute(
                        SQL("LISTEN {}").format(Identifier(EVENTS_TABLE))
                    )
                    self._listening = True
                    for _ in connection.notifies():
                        self._wake()
            except psycopg.Error as error:
                logger.warning("not listening for new events (%s); retrying", error)
            finally:
                self._listening = False
                self._wake()
            time.sleep(1.0)

    def _wake(self) -> None:
        with self._condition:
            self._generation += 1
            self._condition.notify_all()
