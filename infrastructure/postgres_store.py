"""The event store on PostgreSQL, with read models updated in the same transaction.

Inserts take the events table's lock in EXCLUSIVE mode, as the recorder of
`eventsourcing` does, so that positions become visible in the order they
were issued and a reader following the log never skips an event.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresDatastore,
)

from infrastructure.database import PostgresSession
from infrastructure.recording import (
    EVENTS_TABLE,
    SNAPSHOTS_TABLE,
    Projector,
    domain_events_of,
)

SCHEMA = [
    f"""CREATE TABLE IF NOT EXISTS {EVENTS_TABLE} (
  originator_id text COLLATE "C" NOT NULL,
  originator_version bigint NOT NULL,
  topic text NOT NULL,
  state bytea NOT NULL,
  workspace_id text COLLATE "C" NOT NULL,
  project_id text COLLATE "C",
  notification_id bigserial NOT NULL,
  PRIMARY KEY (originator_id, originator_version)
)""",
    f"CREATE UNIQUE INDEX IF NOT EXISTS {EVENTS_TABLE}_notification_id_idx "
    f"ON {EVENTS_TABLE} (notification_id)",
    f"CREATE INDEX IF NOT EXISTS {EVENTS_TABLE}_workspace_idx "
    f"ON {EVENTS_TABLE} (workspace_id, notification_id)",
    f"CREATE INDEX IF NOT EXISTS {EVENTS_TABLE}_project_idx "
    f"ON {EVENTS_TABLE} (project_id, notification_id) WHERE project_id IS NOT NULL",
    f"""CREATE TABLE IF NOT EXISTS {SNAPSHOTS_TABLE} (
  originator_id text COLLATE "C" NOT NULL,
  originator_version bigint NOT NULL,
  topic text NOT NULL,
  state bytea NOT NULL,
  PRIMARY KEY (originator_id, originator_version)
)""",
]

_INSERT = (
    f"INSERT INTO {EVENTS_TABLE} "
    "(originator_id, originator_version, topic, state, workspace_id, project_id) "
    "SELECT * FROM unnest("
    "%(ids)s::text[], %(versions)s::bigint[], %(topics)s::text[], "
    "%(states)s::bytea[], %(workspaces)s::text[], %(projects)s::text[]) "
    "RETURNING notification_id"
)
_INSERT_SNAPSHOT = (
    f"INSERT INTO {SNAPSHOTS_TABLE} "
    "(originator_id, originator_version, topic, state) VALUES (%s, %s, %s, %s)"
)
_LOCK = f"LOCK TABLE {EVENTS_TABLE} IN EXCLUSIVE MODE"
# Wakes the event streams of every process when the transaction commits.
_NOTIFY = f"NOTIFY {EVENTS_TABLE}"


class QuietDatastore(PostgresDatastore):
    """The library's datastore, minus its look-up of composite types.

    Those types serve only the database functions, which this service never
    enables; skipping the look-up means no connection is needed to start.
    """

    def register_type_adapters(self) -> None:
        return None


class PostgresEventRecorder(PostgresApplicationRecorder):
    """Records events and applies the read models' changes in one transaction."""

    def __init__(self, datastore: PostgresDatastore, projector: Projector) -> None:
        super().__init__(datastore, events_table_name=EVENTS_TABLE)
        self.projector = projector

    def create_table(self) -> None:
        """The schema module creates the table, with its extra columns."""

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        domain_events = domain_events_of(stored_events, kwargs)
        if not stored_events:
            return []
        params = {
            "ids": [str(event.originator_id) for event in stored_events],
            "versions": [event.originator_version for event in stored_events],
            "topics": [event.topic for event in stored_events],
            "states": [event.state for event in stored_events],
            "workspaces": [event.workspace_id for event in domain_events],
            "projects": [event.related_project_id for event in domain_events],
        }
        with (
            self.datastore.get_connection() as connection,
            connection.transaction(),
            connection.cursor() as cursor,
        ):
            cursor.execute(_LOCK)
            cursor.execute(_INSERT, params, prepare=True)
            positions = sorted(row["notification_id"] for row in cursor.fetchall())
            self.projector.project(PostgresSession(cursor), domain_events)
            cursor.execute(_NOTIFY)
        return positions


class PostgresSnapshotRecorder(PostgresAggregateRecorder):
    """Snapshots of aggregates, in a table the schema module creates."""

    def __init__(self, datastore: PostgresDatastore) -> None:
        super().__init__(datastore, events_table_name=SNAPSHOTS_TABLE)

    def create_table(self) -> None:
        """The schema module creates the table."""

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        with self.datastore.get_connection() as connection:
            connection.cursor().executemany(
                _INSERT_SNAPSHOT,
                [
                    (str(e.originator_id), e.originator_version, e.topic, e.state)
                    for e in stored_events
                ],
            )
        return None
