"""The event store on PostgreSQL, with read models updated in the same transaction.

Writers run concurrently: no table lock. Instead, an event's position is the
id of the transaction that wrote it, shifted left by 20 bits, plus the event's
ordinal in the transaction. A reader first finds the readable ceiling
(`CEILING`): below the oldest transaction still writing to the events table,
and below every transaction id not yet handed out. Every transaction that can
still commit events has an id above the ceiling, so its events land after
every position already read, and a reader that follows positions never skips
an event. The price is that a long write of events holds back readers until
it ends; writes elsewhere on the server do not.

The rule holds because inserting events is the first thing a writer does in
its transaction: the insert locks the events table before the transaction is
given its id, so a writer that has an id and will insert events is seen.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from eventsourcing.persistence import IntegrityError, ProgrammingError, StoredEvent
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

# Ordinal bits of a position: at most 2**20 - 1 events in one transaction.
ORDINAL_BITS = 20
MAX_EVENTS_PER_TRANSACTION = 2**ORDINAL_BITS - 1

# Rows are inserted in key order, so that concurrent writers meet on shared
# keys in the same order; positions keep the order the events were given in.
_INSERT = (
    f"INSERT INTO {EVENTS_TABLE} (originator_id, originator_version, topic, state, "
    "workspace_id, project_id, notification_id) "
    "SELECT e.id, e.version, e.topic, e.state, e.workspace_id, e.project_id, "
    f"(pg_current_xact_id()::text::bigint << {ORDINAL_BITS}) + e.ordinal "
    "FROM unnest(%(ids)s::text[], %(versions)s::bigint[], %(topics)s::text[], "
    "%(states)s::bytea[], %(workspaces)s::text[], %(projects)s::text[]) "
    "WITH ORDINALITY "
    "AS e(id, version, topic, state, workspace_id, project_id, ordinal) "
    "ORDER BY e.id, e.version "
    "RETURNING notification_id"
)

# The first position no reader may pass yet: the oldest transaction that holds
# the events table open for writing, or else the next transaction id, shifted
# as positions are. pg_locks shows 32-bit transaction ids; they are widened
# with the epoch of the snapshot's next id.
CEILING = f"""
WITH next AS (
  SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS id
),
writing AS (
  SELECT mine.transactionid::text::bigint AS short_id
  FROM pg_locks AS held
  JOIN pg_locks AS mine
    ON mine.pid = held.pid AND mine.locktype = 'transactionid'
   AND mine.mode = 'ExclusiveLock' AND mine.granted
  WHERE held.locktype = 'relation' AND held.mode = 'RowExclusiveLock'
    AND held.relation = '{EVENTS_TABLE}'::regclass
    AND held.database = (SELECT oid FROM pg_database WHERE datname = current_database())
),
widened AS (
  SELECT CASE WHEN (next.id >> 32 << 32 | short_id) > next.id
              THEN (next.id >> 32 << 32 | short_id) - 4294967296
              ELSE next.id >> 32 << 32 | short_id END AS id
  FROM writing, next
)
SELECT LEAST((SELECT id FROM next), (SELECT MIN(id) FROM widened))
       << {ORDINAL_BITS} AS ceiling
"""

# Changes the events table of the first schema to positions by transaction.
ORDER_BY_TRANSACTION = [
    f"ALTER TABLE {EVENTS_TABLE} ALTER COLUMN notification_id DROP DEFAULT",
    f"DROP SEQUENCE IF EXISTS {EVENTS_TABLE}_notification_id_seq",
]

# A column that an earlier form of the second migration added: positions
# carry the transaction id already.
DROP_TRANSACTION_COLUMN = [
    f"ALTER TABLE {EVENTS_TABLE} DROP COLUMN IF EXISTS transaction_id",
]
_INSERT_SNAPSHOT = (
    f"INSERT INTO {SNAPSHOTS_TABLE} "
    "(originator_id, originator_version, topic, state) VALUES (%s, %s, %s, %s)"
)
# Wakes the event streams of every process. Sent after the commit, in a
# transaction of its own: a transaction that notifies holds a database-wide
# lock through its commit, which would make writers commit one at a time.
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
        if len(stored_events) > MAX_EVENTS_PER_TRANSACTION:
            msg = f"at most {MAX_EVENTS_PER_TRANSACTION} events fit in one transaction"
            raise ProgrammingError(msg)
        params = {
            "ids": [str(event.originator_id) for event in stored_events],
            "versions": [event.originator_version for event in stored_events],
            "topics": [event.topic for event in stored_events],
            "states": [event.state for event in stored_events],
            "workspaces": [event.workspace_id for event in domain_events],
            "projects": [event.related_project_id for event in domain_events],
        }
        with self.datastore.get_connection() as connection:
            try:
                with connection.transaction(), connection.cursor() as cursor:
                    cursor.execute(_INSERT, params, prepare=True)
                    rows = cursor.fetchall()
                    self.projector.project(PostgresSession(cursor), domain_events)
            except psycopg.errors.TransactionRollback as error:
                # A deadlock or a serialization failure between writers is a
                # lost race like any other: the command decides again.
                raise IntegrityError(str(error)) from error
            connection.execute(_NOTIFY)
        return sorted(row["notification_id"] for row in rows)


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
