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

The rule holds because inserting events is the first write of a writer's
transaction: the insert locks the events table before the transaction is
given its id, so a writer that has an id and will insert events is seen, and
one that has none yet will get an id above the ceiling. (A command's
transaction reads and takes an advisory lock first; neither gives a
transaction an id.)

A command on a resource runs in one transaction on one connection: it takes
the resource's advisory lock, loads, decides, and records. Commands on the
same resource, in any process, so take turns instead of racing and deciding
again; the version checks of the insert remain what guarantees consistency.
A command costs two round trips: one that begins the transaction, takes the
lock and reads the latest snapshots and new events of every aggregate the
command loads, cached or not; and the record, whose insert and read-model
changes go as one statement (data-modifying parts of a WITH clause) followed
by the commit. Each is one simple query, several statements in one message,
which runs statements prepared by name on the connection (`ServerStatements`).

A command that decided on aggregates this process saved a moment ago, without
reading them, costs one round trip: the check of its caller's key, its turn
and its record, as one simple query without BEGIN, which PostgreSQL runs as
one transaction and rolls back by itself if the key is no longer live or a
version was taken meanwhile (`_record_unread`).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import psycopg
from eventsourcing.persistence import IntegrityError, ProgrammingError, StoredEvent
from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresDatastore,
)
from psycopg.abc import Transformer
from psycopg.adapt import Transformer as AdaptingTransformer
from psycopg.generators import execute
from psycopg.pq import ExecStatus, TransactionStatus
from psycopg.pq.abc import PGresult
from psycopg.rows import DictRow

from application.ports import Newer
from infrastructure.database import PostgresSession, Riders
from infrastructure.identity import KEY_NOT_LIVE_SQLSTATE
from infrastructure.recording import (
    EVENTS_TABLE,
    SNAPSHOTS_TABLE,
    Projector,
    domain_events_of,
)
from projections.sql import Operation, SqlExecutor, joined

logger = logging.getLogger(__name__)

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
_INSERT_COLUMNS = (
    f"INSERT INTO {EVENTS_TABLE} (originator_id, originator_version, topic, state, "
    "workspace_id, project_id, notification_id) "
    "SELECT e.id, e.version, e.topic, e.state, e.workspace_id, e.project_id, "
    f"(pg_current_xact_id()::text::bigint << {ORDINAL_BITS}) + e.ordinal "
)
_INSERT_ORDER = (
    "AS e(id, version, topic, state, workspace_id, project_id, ordinal) "
    "ORDER BY e.id, e.version "
    "RETURNING notification_id"
)
_INSERT_ARRAYS = (
    _INSERT_COLUMNS + "FROM unnest(%s::text[], %s::bigint[], %s::text[], %s::bytea[], "
    "%s::text[], %s::text[]) WITH ORDINALITY " + _INSERT_ORDER
)
# Up to this many rows go as a list of values: psycopg sends their parameters
# many times faster than arrays, whose length has no bound.
ROWS_AS_VALUES = 32


@functools.lru_cache(maxsize=ROWS_AS_VALUES)
def _insert_values(count: int) -> str:
    """The insert of `count` events, six parameters each, ordinals written in."""
    rows = ["(%s::text, %s::bigint, %s::text, %s::bytea, %s::text, %s::text, 1)"]
    rows += [f"(%s, %s, %s, %s, %s, %s, {n})" for n in range(2, count + 1)]
    return _INSERT_COLUMNS + f"FROM (VALUES {', '.join(rows)}) " + _INSERT_ORDER


@functools.lru_cache(maxsize=256)
def _with_changes(insert: str, changes: tuple[str, ...]) -> str:
    """One statement that runs `insert` and the read models' `changes`."""
    parts = ", ".join((f"recorded AS ({insert})", *changes))
    return f"WITH {parts} SELECT notification_id FROM recorded"


@dataclass(frozen=True)
class _Recording:
    """How some events and their read-model changes are written.

    Up to `ROWS_AS_VALUES` events whose changes touch distinct rows go as
    one statement; otherwise the insert goes first and each change after it.
    """

    statement: str
    params: list[Any]
    separate: Sequence[Operation] = ()


def _recording_of(
    stored_events: Sequence[StoredEvent],
    domain_events: Sequence[Any],
    operations: Sequence[Operation],
) -> _Recording:
    rows = [
        (
            str(stored.originator_id),
            stored.originator_version,
            stored.topic,
            stored.state,
            event.workspace_id,
            event.related_project_id,
        )
        for stored, event in zip(stored_events, domain_events, strict=True)
    ]
    if len(rows) > ROWS_AS_VALUES:
        columns = [list(column) for column in zip(*rows, strict=True)]
        return _Recording(_INSERT_ARRAYS, columns, operations)
    insert = _insert_values(len(rows))
    params = [value for row in rows for value in row]
    changes = joined(operations)
    if changes is None:
        return _Recording(insert, params, operations)
    parts, changed = changes
    return _Recording(_with_changes(insert, parts), params + changed)


# The first position no reader may pass yet: the oldest transaction that holds
# the events table open for writing, or else the snapshot's first transaction
# id not yet finished, shifted as positions are. A writer's id is read from
# pg_stat_activity, which shows it from the moment it is handed out; the
# transaction's own lock on its id, in pg_locks, comes a moment later, and a
# reader that looked there could miss a writer in that moment. The ids are
# 32 bits wide; they are widened with the epoch of the snapshot's next id.
CEILING = f"""
WITH next AS (
  SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS id
),
writing AS (
  SELECT activity.backend_xid::text::bigint AS short_id
  FROM pg_locks AS held
  JOIN pg_stat_activity AS activity ON activity.pid = held.pid
  WHERE held.locktype = 'relation' AND held.mode = 'RowExclusiveLock'
    AND held.relation = '{EVENTS_TABLE}'::regclass
    AND held.database = (SELECT oid FROM pg_database WHERE datname = current_database())
    AND activity.backend_xid IS NOT NULL
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
# What brings given aggregates from given versions (0 for none) up to date, in
# one query: the latest snapshot above each version, if any, and the events
# after the later of the two. Snapshots come first for each aggregate. The
# query follows a `b(id, version)` of the aggregates, as values or arrays.
_SELECT_NEWER = f"""
s AS (
  SELECT b.id, latest.originator_version, latest.topic, latest.state
  FROM b CROSS JOIN LATERAL (
    SELECT originator_version, topic, state FROM {SNAPSHOTS_TABLE} AS taken
    WHERE taken.originator_id = b.id AND taken.originator_version > b.version
    ORDER BY taken.originator_version DESC LIMIT 1
  ) AS latest
),
after AS MATERIALIZED (
  SELECT b.id, GREATEST(b.version, s.originator_version) AS version
  FROM b LEFT JOIN s ON s.id = b.id
)
SELECT true AS is_snapshot, s.id AS originator_id, s.originator_version,
       s.topic, s.state
FROM s
UNION ALL
SELECT false, e.originator_id, e.originator_version, e.topic, e.state
FROM after CROSS JOIN LATERAL (
  SELECT * FROM {EVENTS_TABLE} AS recorded
  WHERE recorded.originator_id = after.id
    AND recorded.originator_version > after.version
) AS e
ORDER BY originator_id, is_snapshot DESC, originator_version
"""
# Each aggregate's events are read from where its snapshot or version ends,
# an index range of their own: a long history is never scanned and filtered.
_SELECT_NEWER_ARRAYS = (
    "WITH b AS (SELECT * FROM unnest(%s::text[], %s::bigint[]) AS b(id, version)), "
    + _SELECT_NEWER
)


@functools.lru_cache(maxsize=ROWS_AS_VALUES)
def _select_newer_values(count: int) -> str:
    rows = ["(%s::text, %s::bigint)"] + ["(%s, %s)"] * (count - 1)
    return f"WITH b(id, version) AS (VALUES {', '.join(rows)}), " + _SELECT_NEWER


def _select_newer_of(versions: Mapping[str, int]) -> tuple[str, list[Any]]:
    """The query and parameters that `select_newer` sends for `versions`."""
    if len(versions) <= ROWS_AS_VALUES:
        return _select_newer_values(len(versions)), [
            value for pair in versions.items() for value in pair
        ]
    return _SELECT_NEWER_ARRAYS, [list(versions), list(versions.values())]


_TAKE_TURN = "SELECT pg_advisory_xact_lock(%s)"
# What refuses a record as if another writer had won the race: a version
# taken, a deadlock or serialization failure, a statement the connection
# lost twice. The command decides again.
_LOST_RACES = (
    psycopg.IntegrityError,
    psycopg.errors.TransactionRollback,
    psycopg.errors.InvalidSqlStatementName,
)


class ServerStatements:
    """Statements prepared on the server by name, run inside simple queries.

    A simple query may hold several statements and costs one message each
    way, where the extended protocol needs a flush per statement. Its
    parameters are bound as literals by psycopg, so a statement that should
    be planned once is prepared on the connection under a name of its own
    and run with EXECUTE. A connection's first use of a statement sends its
    PREPARE first in the same query.

    Two things can make this record untrue. A prepared statement outlives a
    failure later in its query, so a failed query that began with a PREPARE
    leaves it in doubt, and the next use asks the server. And psycopg
    deallocates every prepared statement of a connection when it rolls back
    a transaction there, so a statement found missing puts the connection's
    others in doubt too (some may have been prepared again since), and the
    query is sent again with its PREPARE where that is safe.
    """

    def __init__(self) -> None:
        self._known: weakref.WeakKeyDictionary[
            psycopg.Connection[DictRow], dict[str, bool]
        ] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def query(
        self,
        connection: psycopg.Connection[DictRow],
        statements: Sequence[str],
        parts: Callable[[list[str]], list[str]],
        params: list[Any],
        *,
        again_if_lost: bool,
    ) -> list[list[DictRow]]:
        """Run `parts(executes)` as one simple query with `params`; its results.

        `executes` are the EXECUTEs of `statements`, in order, with a `%s` for
        each of their parameters. With `again_if_lost`, a query that found a
        statement missing is rolled back and sent once more: only for one
        that wrote nothing that its caller relied on.
        """
        for attempt in range(2):
            forms = [self._forms(connection, statement) for statement in statements]
            prepares = [prepare for prepare, _ in forms if prepare]
            executes = [execute for _, execute in forms]
            try:
                return simple_query(connection, [*prepares, *parts(executes)], params)
            except psycopg.errors.InvalidSqlStatementName as error:
                lost = self._lost(connection, statements, error)
                if lost is None or lost in prepares:
                    raise
                if attempt or not again_if_lost:
                    raise
                if connection.info.transaction_status != TransactionStatus.IDLE:
                    connection.rollback()
            except psycopg.Error:
                self._in_doubt(connection, prepares)
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _forms(
        self, connection: psycopg.Connection[DictRow], statement: str
    ) -> tuple[str, str]:
        """Its PREPARE, or '' when the connection has it, and its EXECUTE."""
        name, prepare, execute = _prepared_form(statement)
        with self._lock:
            known = self._known.setdefault(connection, {})
            sure = known.get(name)
            known[name] = True
        if sure is False:
            sure = _is_prepared(connection, name)
        return ("" if sure else prepare), execute

    def _in_doubt(
        self, connection: psycopg.Connection[DictRow], prepares: Sequence[str]
    ) -> None:
        """A failed query that held these PREPAREs may or may not have run them."""
        with self._lock:
            known = self._known.setdefault(connection, {})
            for prepare in prepares:
                known[prepare.split(" ", 2)[1]] = False

    def _lost(
        self,
        connection: psycopg.Connection[DictRow],
        statements: Sequence[str],
        error: psycopg.Error,
    ) -> str | None:
        """The PREPARE of the one of `statements` that `error` found missing.

        The others may have been prepared again since whatever removed it,
        so every statement of the connection is in doubt. None if the error
        names none of them.
        """
        missing = error.diag.message_primary or ""
        with self._lock:
            known = self._known.setdefault(connection, {})
            for name in known:
                known[name] = False
            for statement in statements:
                name, prepare, _ = _prepared_form(statement)
                if f'"{name}"' in missing:
                    known.pop(name, None)
                    return prepare
        return None


def _is_prepared(connection: psycopg.Connection[DictRow], name: str) -> bool:
    found = connection.execute(
        "SELECT 1 AS found FROM pg_prepared_statements WHERE name = %s",
        (name,),
        prepare=False,
    ).fetchall()
    return bool(found)


@functools.lru_cache(maxsize=512)
def _prepared_form(statement: str) -> tuple[str, str, str]:
    """The name, PREPARE and EXECUTE of a statement with positional `%s`."""
    pieces = statement.split("%s")
    if any("%" in piece for piece in pieces):
        raise ProgrammingError("a prepared statement holds only %s placeholders")
    body = pieces[0] + "".join(
        f"${number}{piece}" for number, piece in enumerate(pieces[1:], start=1)
    )
    name = "sokosumi_" + hashlib.blake2b(body.encode(), digest_size=10).hexdigest()
    arguments = ", ".join(["%s"] * (len(pieces) - 1))
    return name, f"PREPARE {name} AS {body}", f"EXECUTE {name}({arguments})"


_WITHOUT_ROWS = frozenset({ExecStatus.COMMAND_OK, ExecStatus.EMPTY_QUERY})


def simple_query(
    connection: psycopg.Connection[DictRow], parts: Sequence[str], params: list[Any]
) -> list[list[DictRow]]:
    """Run statements as one simple query; the rows of each that returns rows.

    The parameters are written in as literals by psycopg's own adapters, and
    the answer is read straight from its results: a cursor would also build
    a description, a row maker and a transformer for every statement of the
    query, which costs several times more than the reading. The connection
    is in autocommit mode, so the statements' own BEGIN and COMMIT are all
    that delimit a transaction. A failure leaves an explicit transaction
    failed, for the caller to end.
    """
    transformer: Transformer = AdaptingTransformer(connection)
    text = _with_literals(
        transformer, "; ".join(part for part in parts if part), params
    )
    with connection.lock:
        connection.pgconn.send_query(text)
        answers = connection.wait(execute(connection.pgconn))
    results: list[list[DictRow]] = []
    for answer in answers:
        status = answer.status
        if status == ExecStatus.TUPLES_OK:
            results.append(_rows_of(transformer, answer))
        elif status not in _WITHOUT_ROWS:
            raise _error_of(answer, connection)
    return results


def _with_literals(
    transformer: Transformer, statement: str, params: Sequence[Any] | Mapping[str, Any]
) -> bytes:
    """`statement`, whose placeholders are psycopg's, with `params` written in."""
    template = statement.encode()
    if isinstance(params, Mapping):
        return template % {
            name.encode(): transformer.as_literal(value)
            for name, value in params.items()
        }
    return template % tuple(transformer.as_literal(value) for value in params)


def _rows_of(transformer: Transformer, answer: PGresult) -> list[DictRow]:
    names = [(answer.fname(column) or b"").decode() for column in range(answer.nfields)]
    transformer.set_pgresult(answer)
    rows: list[DictRow] = transformer.load_rows(
        0, answer.ntuples, lambda values: dict(zip(names, values, strict=True))
    )
    return rows


def _error_of(answer: PGresult, connection: psycopg.Connection[DictRow]) -> Exception:
    if answer.status == ExecStatus.FATAL_ERROR:
        return psycopg.errors.error_from_result(answer, connection.info.encoding)
    return psycopg.InterfaceError(f"unexpected answer to a query: {answer.status!r}")


# Two processes may snapshot an aggregate at the same version; the second
# finds the first's snapshot, which is the same, and keeps it.
_INSERT_SNAPSHOT = (
    f"INSERT INTO {SNAPSHOTS_TABLE} "
    "(originator_id, originator_version, topic, state) VALUES (%s, %s, %s, %s) "
    "ON CONFLICT DO NOTHING"
)
# Wakes the event streams of every process. Sent after commits, in a
# transaction of its own: a transaction that notifies holds a database-wide
# lock through its commit, which would make writers commit one at a time.
# The notification needs no durability (a listener that misses it finds the
# events on its next timed look), so its commit does not wait for the WAL
# to reach the disk.
_NOTIFY = [
    "BEGIN",
    "SET LOCAL synchronous_commit TO off",
    f"NOTIFY {EVENTS_TABLE}",
    "COMMIT",
]
# The longest a commit's notification waits to be sent with later ones.
NOTIFY_INTERVAL = 0.05


class CommitNotifier:
    """Sends NOTIFY after commits, one for all the commits of a short interval.

    A writer only raises a flag when it has committed. One thread per process
    lowers the flag, then notifies on a pooled connection, so every commit is
    followed by a notification sent after it, and a burst of commits costs
    one. Streams wake at most `interval` later than they would for a
    notification of their own; should notifying fail, they find the events
    on their next timed look.
    """

    def __init__(
        self, datastore: PostgresDatastore, interval: float = NOTIFY_INTERVAL
    ) -> None:
        self.datastore = datastore
        self.interval = interval
        self._committed = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def committed(self) -> None:
        """Note that events were committed; they are notified shortly."""
        if self._thread is None:
            self._start()
        self._committed.set()

    def close(self) -> None:
        self._closed = True
        self._committed.set()

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(
                    target=self._run, name="commit-notifier", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            self._committed.wait()
            if self._closed:
                return
            self._committed.clear()
            try:
                with self.datastore.get_connection() as connection:
                    simple_query(connection, _NOTIFY, [])
            except Exception as error:
                logger.warning("could not notify new events (%s)", error)
            time.sleep(self.interval)


class QuietDatastore(PostgresDatastore):
    """The library's datastore, minus its look-up of composite types.

    Those types serve only the database functions, which this service never
    enables; skipping the look-up means no connection is needed to start.
    It also lends the connection of a command in progress to every call the
    command makes on its thread, so that they all run in its transaction.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._held = threading.local()
        self.statements = ServerStatements()
        self.riders = Riders()

    def register_type_adapters(self) -> None:
        return None

    @contextmanager
    def get_connection(self) -> Iterator[psycopg.Connection[DictRow]]:
        """The connection of the thread's command in progress, or one of the pool.

        A command's connection is handed out inside its transaction, with
        the command's turn taken.
        """
        held = self.held()
        if held is not None:
            turn = self.take_pending_turn()
            if turn is not None:
                with held.pipeline():
                    _begin_turn(held, turn)
            yield held
            return
        with super().get_connection() as connection:
            yield connection

    def held(self) -> psycopg.Connection[DictRow] | None:
        held: psycopg.Connection[DictRow] | None = getattr(
            self._held, "connection", None
        )
        return held

    def take_pending_turn(self) -> int | None:
        """The lock key of the held connection's turn, if not yet taken; once."""
        turn: int | None = getattr(self._held, "turn", None)
        self._held.turn = None
        return turn

    @contextmanager
    def holding(self, turn: int | None = None) -> Iterator[psycopg.Connection[DictRow]]:
        """Lend one pooled connection to the thread's calls until the block ends.

        With a `turn`, the first statement sent on the connection goes after
        BEGIN and the advisory lock `turn`, in the same round trip.
        """
        with super().get_connection() as connection:
            self._held.connection = connection
            self._held.turn = turn
            try:
                yield connection
            finally:
                self._held.connection = None
                self._held.turn = None


class PostgresCommandScopes:
    """Commands on one resource take turns, across processes, under a lock.

    The lock is PostgreSQL's advisory lock of the resource's id, taken at the
    start of the command's transaction, before its loads, and released when
    the transaction ends. The loser of a race waits for the winner's commit
    and then loads what the winner wrote, instead of deciding on stale state
    and deciding again after its insert is refused.
    """

    # A command that read nothing records with its turn, the check of its
    # caller's key and the version checks of its insert, in one transaction.
    confirms_cached_decisions = True

    def __init__(self, datastore: QuietDatastore) -> None:
        self.datastore = datastore

    @contextmanager
    def changing(self, resource_id: str) -> Iterator[None]:
        with self.datastore.holding(turn_of(resource_id)) as connection:
            try:
                yield
            finally:
                _end_transaction(connection)


def turn_of(resource_id: str) -> int:
    """The advisory lock key of a resource: a stable signed 64-bit hash of its id."""
    digest = hashlib.blake2b(resource_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _begin_turn(connection: psycopg.Connection[DictRow], turn: int) -> None:
    """Send BEGIN and the advisory lock `turn`; in pipeline mode, not waiting."""
    connection.execute("BEGIN", prepare=False)
    connection.execute(_TAKE_TURN, (turn,), prepare=True)


def _end_transaction(connection: psycopg.Connection[DictRow]) -> None:
    """End what is still open on the connection: nothing was recorded in it.

    A transaction that only read is committed, which changes nothing. A
    failed one is rolled back with psycopg's own rollback, not a ROLLBACK
    statement, which keeps psycopg's record of the connection's prepared
    statements true to the server's.
    """
    status = connection.info.transaction_status
    if status == TransactionStatus.IDLE:
        return
    with suppress(psycopg.Error):
        if status == TransactionStatus.INTRANS:
            connection.execute("COMMIT", prepare=False)
        else:
            connection.rollback()


class PostgresEventRecorder(PostgresApplicationRecorder):
    """Records events and applies the read models' changes in one transaction."""

    datastore: QuietDatastore

    def __init__(self, datastore: QuietDatastore, projector: Projector) -> None:
        super().__init__(datastore, events_table_name=EVENTS_TABLE)
        self.projector = projector
        self.notifier = CommitNotifier(datastore)

    def create_table(self) -> None:
        """The schema module creates the table, with its extra columns."""

    def select_newer(self, versions: Mapping[str, int]) -> Newer:
        """The latest snapshot and later events of each aggregate, in one query."""
        query, params = _select_newer_of(versions)
        newer = Newer()
        turn = self.datastore.take_pending_turn()
        with self.datastore.get_connection() as connection:
            if turn is None:
                with connection.cursor() as cursor:
                    cursor.execute(query, params, prepare=True)
                    rows = cursor.fetchall()
            else:
                # One simple query: the lock is waited for on the server, and
                # the load runs after it, in a snapshot taken after the wait.
                # Queries waiting for this read (the check of the caller's
                # key) go first, and get their rows from the same answer.
                riders = self.datastore.riders.take()
                ahead = [rider.statement for rider in riders]
                results = self.datastore.statements.query(
                    connection,
                    [*ahead, _TAKE_TURN, query],
                    lambda executes: [*executes[:-2], "BEGIN", *executes[-2:]],
                    [*(value for r in riders for value in r.params), turn, *params],
                    again_if_lost=True,
                )
                for rider, rider_rows in zip(riders, results, strict=False):
                    rider.deliver(rider_rows)
                rows = results[-1]
            for row in rows:
                stored = StoredEvent(
                    originator_id=row["originator_id"],
                    originator_version=row["originator_version"],
                    topic=row["topic"],
                    state=bytes(row["state"]),
                )
                if row["is_snapshot"]:
                    newer.snapshots[row["originator_id"]] = stored
                else:
                    newer.events.append(stored)
        return newer

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        domain_events = domain_events_of(stored_events, kwargs)
        if not stored_events:
            return []
        if len(stored_events) > MAX_EVENTS_PER_TRANSACTION:
            msg = f"at most {MAX_EVENTS_PER_TRANSACTION} events fit in one transaction"
            raise ProgrammingError(msg)
        recording = _recording_of(
            stored_events, domain_events, self.projector.operations(domain_events)
        )
        held = self.datastore.held()
        if held is not None:
            turn = self.datastore.take_pending_turn()
            if turn is not None:
                return self._record_unread(held, recording, turn)
            return self._record(held, recording, begin=False)
        with self.datastore.holding() as connection:
            try:
                return self._record(connection, recording, begin=True)
            finally:
                _end_transaction(connection)

    def _record_unread(
        self, connection: psycopg.Connection[DictRow], recording: _Recording, turn: int
    ) -> list[int]:
        """Record a command that decided without reading the store first.

        The command's turn is taken now, and the queries waiting for its
        read come along: a presumed one (the caller's key) sends its check,
        which aborts the transaction unless the presumption holds, the
        others their queries. Without separate changes, everything goes as
        one simple query with no BEGIN, which PostgreSQL runs as one
        transaction and rolls back by itself when a statement fails: a stale
        version or a key no longer live costs this one round trip.
        """
        riders = self.datastore.riders.take()
        reads = [rider for rider in riders if rider.presumption is None]
        presumed = [rider for rider in riders if rider.presumption is not None]
        ahead = [
            *(rider.statement for rider in reads),
            *(rider.check_statement for rider in presumed),
        ]
        params = [
            *(value for rider in reads for value in rider.params),
            *(value for rider in presumed for value in rider.check_params),
            turn,
        ]
        try:
            if recording.separate:
                results = self.datastore.statements.query(
                    connection,
                    [*ahead, _TAKE_TURN],
                    lambda executes: ["BEGIN", *executes],
                    params,
                    again_if_lost=False,
                )
                notification_ids = self._record(connection, recording, begin=False)
            else:
                results = self.datastore.statements.query(
                    connection,
                    [*ahead, _TAKE_TURN, recording.statement],
                    lambda executes: executes,
                    params + recording.params,
                    again_if_lost=True,
                )
                notification_ids = sorted(row["notification_id"] for row in results[-1])
                self.notifier.committed()
        except psycopg.Error as error:
            # Refusals are told as the lost races they are, here and not when
            # the command's scope ends: the command decides again inside it.
            self.datastore.riders.put_back(riders)
            if error.sqlstate == KEY_NOT_LIVE_SQLSTATE:
                raise IntegrityError("the caller's key is no longer live") from error
            if isinstance(error, _LOST_RACES):
                raise IntegrityError(str(error)) from error
            raise
        except BaseException:
            self.datastore.riders.put_back(riders)
            raise

        for rider, rows in zip(reads, results, strict=False):
            rider.deliver(rows)
        for rider in presumed:
            rider.deliver_presumed()
        return notification_ids

    def _record(
        self,
        connection: psycopg.Connection[DictRow],
        recording: _Recording,
        *,
        begin: bool,
    ) -> list[int]:
        """Insert, project and commit in one round trip.

        Events whose read-model changes cannot join their insert go in
        pipeline mode, each change a statement of its own; the others go as
        one simple query.

        The results come back when the pipeline ends, the commit's included,
        so the events are known to be stored when this returns.
        """
        if not recording.separate:
            return self._record_as_one_query(connection, recording, begin=begin)
        with connection.cursor() as inserting, connection.cursor() as projecting:
            try:
                with connection.pipeline():
                    if begin:
                        connection.execute("BEGIN", prepare=False)
                    inserting.execute(
                        recording.statement, recording.params, prepare=True
                    )
                    SqlExecutor(PostgresSession(projecting)).apply(recording.separate)
                    connection.execute("COMMIT", prepare=False)
            except psycopg.errors.TransactionRollback as error:
                # A deadlock or a serialization failure between writers is a
                # lost race like any other: the command decides again.
                raise IntegrityError(str(error)) from error
            rows = inserting.fetchall()
        self.notifier.committed()
        return sorted(row["notification_id"] for row in rows)

    def _record_as_one_query(
        self,
        connection: psycopg.Connection[DictRow],
        recording: _Recording,
        *,
        begin: bool,
    ) -> list[int]:
        """Insert, project and commit as one simple query: one message each way.

        Outside a transaction the statement is a transaction of its own, and
        may be sent again if the connection had lost it. Inside one, the
        command's transaction is lost with it, and the command decides again.
        """
        commit = [] if begin else ["COMMIT"]
        try:
            (*_, rows) = self.datastore.statements.query(
                connection,
                [recording.statement],
                lambda record: [*record, *commit],
                recording.params,
                again_if_lost=begin,
            )
        except (
            psycopg.errors.TransactionRollback,
            psycopg.errors.InvalidSqlStatementName,
        ) as error:
            raise IntegrityError(str(error)) from error
        self.notifier.committed()
        return sorted(row["notification_id"] for row in rows)


class PostgresSnapshotRecorder(PostgresAggregateRecorder):
    """Snapshots of aggregates, in a table the schema module creates."""

    datastore: QuietDatastore

    def __init__(self, datastore: QuietDatastore) -> None:
        super().__init__(datastore, events_table_name=SNAPSHOTS_TABLE)

    def create_table(self) -> None:
        """The schema module creates the table."""

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        rows = [
            (str(e.originator_id), e.originator_version, e.topic, e.state)
            for e in stored_events
        ]
        with self.datastore.get_connection() as connection:
            connection.cursor().executemany(_INSERT_SNAPSHOT, rows)
        return None
