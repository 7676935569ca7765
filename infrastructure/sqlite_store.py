"""The event store in a SQLite file, with read models in the same transaction.

SQLite lets one writer in at a time, so positions are issued and committed in
the same order and a reader following the log never skips an event.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    Notification,
    StoredEvent,
    Subscription,
)

from infrastructure.database import SqliteDatabase
from infrastructure.recording import (
    EVENTS_TABLE,
    SNAPSHOTS_TABLE,
    Projector,
    domain_events_of,
)

SCHEMA = [
    f"""CREATE TABLE IF NOT EXISTS {EVENTS_TABLE} (
  notification_id INTEGER PRIMARY KEY AUTOINCREMENT,
  originator_id text NOT NULL,
  originator_version integer NOT NULL,
  topic text NOT NULL,
  state blob NOT NULL,
  workspace_id text NOT NULL,
  project_id text,
  UNIQUE (originator_id, originator_version)
)""",
    f"CREATE INDEX IF NOT EXISTS {EVENTS_TABLE}_workspace_idx "
    f"ON {EVENTS_TABLE} (workspace_id, notification_id)",
    f"CREATE INDEX IF NOT EXISTS {EVENTS_TABLE}_project_idx "
    f"ON {EVENTS_TABLE} (project_id, notification_id) WHERE project_id IS NOT NULL",
    f"""CREATE TABLE IF NOT EXISTS {SNAPSHOTS_TABLE} (
  originator_id text NOT NULL,
  originator_version integer NOT NULL,
  topic text NOT NULL,
  state blob NOT NULL,
  PRIMARY KEY (originator_id, originator_version)
) WITHOUT ROWID""",
]

_INSERT = (
    f"INSERT INTO {EVENTS_TABLE} "
    "(originator_id, originator_version, topic, state, workspace_id, project_id) "
    "VALUES (:id, :version, :topic, :state, :workspace_id, :project_id) "
    "RETURNING notification_id"
)


def _select_stream(
    table: str,
    *,
    gt: int | None,
    lte: int | None,
    desc: bool,
    limit: int | None,
) -> tuple[str, dict[str, Any]]:
    statement = (
        f"SELECT originator_id, originator_version, topic, state FROM {table} "
        "WHERE originator_id = :id"
    )
    params: dict[str, Any] = {}
    if gt is not None:
        statement += " AND originator_version > :gt"
        params["gt"] = gt
    if lte is not None:
        statement += " AND originator_version <= :lte"
        params["lte"] = lte
    statement += " ORDER BY originator_version " + ("DESC" if desc else "ASC")
    if limit is not None:
        statement += " LIMIT :limit"
        params["limit"] = limit
    return statement, params


def _stored(row: dict[str, Any]) -> StoredEvent:
    return StoredEvent(
        originator_id=row["originator_id"],
        originator_version=row["originator_version"],
        topic=row["topic"],
        state=bytes(row["state"]),
    )


class _StreamsInSqlite:
    """Reads an aggregate's stream of events (or snapshots) from a table."""

    table: str
    database: SqliteDatabase

    def select_events(
        self,
        originator_id: Any,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        statement, params = _select_stream(
            self.table, gt=gt, lte=lte, desc=desc, limit=limit
        )
        with self.database.reading() as session:
            rows = session.fetch(statement, {**params, "id": str(originator_id)})
        return [_stored(row) for row in rows]


class SqliteEventRecorder(_StreamsInSqlite, ApplicationRecorder):
    """Records events and applies the read models' changes in one transaction."""

    table = EVENTS_TABLE

    def __init__(self, database: SqliteDatabase, projector: Projector) -> None:
        self.database = database
        self.projector = projector

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        domain_events = domain_events_of(stored_events, kwargs)
        positions = []
        with self.database.writing() as session:
            for stored, event in zip(stored_events, domain_events, strict=True):
                rows = session.fetch(
                    _INSERT,
                    {
                        "id": str(stored.originator_id),
                        "version": stored.originator_version,
                        "topic": stored.topic,
                        "state": stored.state,
                        "workspace_id": event.workspace_id,
                        "project_id": event.related_project_id,
                    },
                )
                positions.append(int(rows[0]["notification_id"]))
            self.projector.project(session, domain_events)
        return positions

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        statement = (
            "SELECT notification_id, originator_id, originator_version, topic, state "
            f"FROM {EVENTS_TABLE} WHERE 1 = 1"
        )
        params: dict[str, Any] = {"limit": limit}
        if start is not None:
            comparison = ">=" if inclusive_of_start else ">"
            statement += f" AND notification_id {comparison} :start"
            params["start"] = start
        if stop is not None:
            statement += " AND notification_id <= :stop"
            params["stop"] = stop
        if topics:
            names = {f"topic_{index}": topic for index, topic in enumerate(topics)}
            statement += f" AND topic IN ({', '.join(':' + name for name in names)})"
            params.update(names)
        statement += " ORDER BY notification_id LIMIT :limit"
        with self.database.reading() as session:
            rows = session.fetch(statement, params)
        return [
            Notification(
                id=row["notification_id"],
                originator_id=row["originator_id"],
                originator_version=row["originator_version"],
                topic=row["topic"],
                state=bytes(row["state"]),
            )
            for row in rows
        ]

    def max_notification_id(self) -> int | None:
        with self.database.reading() as session:
            rows = session.fetch(
                f"SELECT MAX(notification_id) AS last FROM {EVENTS_TABLE}"
            )
        last = rows[0]["last"]
        return None if last is None else int(last)

    def subscribe(
        self, gt: int | None = None, topics: Sequence[str] = ()
    ) -> Subscription[ApplicationRecorder]:
        msg = "subscriptions read the SQLite log by polling the API's event feed"
        raise NotImplementedError(msg)


class SqliteSnapshotRecorder(_StreamsInSqlite, AggregateRecorder):
    """Snapshots of aggregates in the same SQLite file."""

    table = SNAPSHOTS_TABLE

    def __init__(self, database: SqliteDatabase) -> None:
        self.database = database

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        with self.database.writing() as session:
            session.execute_many(
                f"INSERT INTO {SNAPSHOTS_TABLE} "
                "(originator_id, originator_version, topic, state) "
                "VALUES (:id, :version, :topic, :state)",
                [
                    {
                        "id": str(event.originator_id),
                        "version": event.originator_version,
                        "topic": event.topic,
                        "state": event.state,
                    }
                    for event in stored_events
                ],
            )
        return None
