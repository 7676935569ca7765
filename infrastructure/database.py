"""Sessions on the three stores: PostgreSQL, a SQLite file, and memory.

Statements are written with `:name` parameters (see projections.sql); the
PostgreSQL session converts them to psycopg's style. Errors of the drivers
are translated into the persistence errors of `eventsourcing`, so that the
rest of the service handles one family of errors: `IntegrityError` for a
lost race, `OperationalError` and `InterfaceError` for a store that cannot
be reached.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import psycopg
from eventsourcing.persistence import (
    DatabaseError,
    DataError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    PersistenceError,
    ProgrammingError,
)
from eventsourcing.postgres import PostgresDatastore
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from projections.sql import Dialect, Presumption, SoonRows

_NAMED_PARAMETER = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@lru_cache(maxsize=1024)
def to_psycopg(statement: str) -> str:
    """Rewrite `:name` parameters as psycopg's `%(name)s`."""
    return _NAMED_PARAMETER.sub(r"%(\1)s", statement)


@lru_cache(maxsize=256)
def to_positional(statement: str) -> tuple[str, tuple[str, ...]]:
    """Rewrite `:name` parameters as `%s`; the names, in the order they appear."""
    names = tuple(_NAMED_PARAMETER.findall(statement))
    return _NAMED_PARAMETER.sub("%s", statement), names


class PostgresSession:
    """A psycopg cursor that speaks the `SqlSession` protocol."""

    dialect: Dialect = "postgresql"

    def __init__(self, cursor: psycopg.Cursor[DictRow]) -> None:
        self.cursor = cursor

    def execute(self, statement: str, params: Mapping[str, Any] | None = None) -> None:
        self.cursor.execute(to_psycopg(statement), params, prepare=True)

    def fetch(
        self, statement: str, params: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        self.cursor.execute(to_psycopg(statement), params, prepare=True)
        return list(self.cursor.fetchall())

    def execute_many(self, statement: str, rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            self.cursor.executemany(to_psycopg(statement), rows)

    def copy_rows(
        self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
    ) -> None:
        copy_statement = SQL("COPY {} ({}) FROM STDIN").format(
            Identifier(table), SQL(", ").join(Identifier(name) for name in columns)
        )
        with self.cursor.copy(copy_statement) as copy:
            for row in rows:
                copy.write_row(row)


class Rider:
    """A query waiting to ride along with the next command read of its thread.

    `Riders` hands it to that read, which runs its statement first in the
    same round trip and delivers its rows. Asked for its rows before that,
    it leaves the queue and runs on its own.

    A command that records without reading first takes its riders along
    too. One with a presumption sends its check in the recording
    transaction instead, and delivers the presumed rows once the record is
    made: the check fails, and the record with it, unless they still hold.
    """

    def __init__(
        self,
        riders: Riders,
        run_alone: Callable[[], list[dict[str, Any]]],
        statement: str,
        params: Mapping[str, Any],
        presumption: Presumption | None = None,
    ) -> None:
        self._riders = riders
        self._run_alone = run_alone
        # With `%s` placeholders and their values in order, as the statement
        # is prepared on the server and run with the read's other statements.
        self.statement, names = to_positional(statement)
        self.params = [params[name] for name in names]
        self.presumption = presumption
        # The presumption's check in the same form, if there is one.
        self.check_statement, self.check_params = "", []
        if presumption is not None:
            self.check_statement, names = to_positional(presumption.check)
            self.check_params = [presumption.params[name] for name in names]
        self._rows: list[dict[str, Any]] | None = None

    def deliver_presumed(self) -> None:
        """The record that checked the presumption was made: its rows hold."""
        assert self.presumption is not None
        self.deliver(self.presumption.rows)

    def deliver(self, rows: Sequence[Mapping[str, Any]]) -> None:
        self._rows = [dict(row) for row in rows]

    def rows(self) -> list[dict[str, Any]]:
        if self._rows is None:
            self._riders.drop(self)
            self._rows = self._run_alone()
        return self._rows

    def cancel(self) -> None:
        self._riders.drop(self)


class Riders:
    """The queries each thread has waiting for its next command read."""

    def __init__(self) -> None:
        self._local = threading.local()

    def add(self, rider: Rider) -> Rider:
        self._waiting().append(rider)
        return rider

    def take(self) -> list[Rider]:
        """The waiting queries, which the caller runs and delivers; none wait after."""
        waiting = self._waiting()
        taken = list(waiting)
        waiting.clear()
        return taken

    def put_back(self, riders: Sequence[Rider]) -> None:
        """Queue again riders taken by a round trip that failed before delivering."""
        self._waiting()[:0] = riders

    def drop(self, rider: Rider) -> None:
        waiting = self._waiting()
        if rider in waiting:
            waiting.remove(rider)

    def _waiting(self) -> list[Rider]:
        waiting: list[Rider] | None = getattr(self._local, "waiting", None)
        if waiting is None:
            waiting = self._local.waiting = []
        return waiting


class _RowsWhenAsked:
    """A query that runs when its rows are asked for, and not if cancelled."""

    def __init__(self, run: Callable[[], list[dict[str, Any]]]) -> None:
        self._run = run

    def rows(self) -> list[dict[str, Any]]:
        return self._run()

    def cancel(self) -> None:
        return None


class PostgresDatabase:
    """Read-model sessions on the connection pool of the event store.

    With `riders`, the event store's record of queries waiting to ride along
    with a command's first read, `fetch_soon` queues its query there.
    """

    dialect: Dialect = "postgresql"

    def __init__(
        self, datastore: PostgresDatastore, riders: Riders | None = None
    ) -> None:
        self.datastore = datastore
        self.riders = riders

    def fetch_soon(
        self,
        statement: str,
        params: Mapping[str, Any],
        presumption: Presumption | None = None,
    ) -> SoonRows:
        def run_alone() -> list[dict[str, Any]]:
            with self.reading() as session:
                return session.fetch(statement, params)

        if self.riders is None:
            return _RowsWhenAsked(run_alone)
        rider = Rider(self.riders, run_alone, statement, params, presumption)
        return self.riders.add(rider)

    @contextmanager
    def reading(self) -> Iterator[PostgresSession]:
        with (
            self.datastore.get_connection() as connection,
            connection.cursor() as cursor,
        ):
            yield PostgresSession(cursor)

    @contextmanager
    def writing(self) -> Iterator[PostgresSession]:
        with (
            self.datastore.get_connection() as connection,
            connection.transaction(),
            connection.cursor() as cursor,
        ):
            yield PostgresSession(cursor)


class SqliteSession:
    """A sqlite3 cursor that speaks the `SqlSession` protocol."""

    dialect: Dialect = "sqlite"

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self.cursor = cursor

    def execute(self, statement: str, params: Mapping[str, Any] | None = None) -> None:
        with translated_sqlite_errors():
            self.cursor.execute(statement, params or {})

    def fetch(
        self, statement: str, params: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        with translated_sqlite_errors():
            self.cursor.execute(statement, params or {})
            names = [column[0] for column in self.cursor.description]
            return [dict(zip(names, row, strict=True)) for row in self.cursor]

    def execute_many(self, statement: str, rows: Sequence[Mapping[str, Any]]) -> None:
        with translated_sqlite_errors():
            self.cursor.executemany(statement, rows)

    def copy_rows(
        self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
    ) -> None:
        marks = ", ".join("?" for _ in columns)
        statement = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
        with translated_sqlite_errors():
            self.cursor.executemany(statement, rows)


@contextmanager
def translated_sqlite_errors() -> Iterator[None]:
    """Raise sqlite3's errors as the persistence errors of eventsourcing."""
    try:
        yield
    except sqlite3.IntegrityError as error:
        raise IntegrityError(str(error)) from error
    except sqlite3.OperationalError as error:
        raise OperationalError(str(error)) from error
    except sqlite3.InterfaceError as error:
        raise InterfaceError(str(error)) from error
    except sqlite3.ProgrammingError as error:
        raise ProgrammingError(str(error)) from error
    except sqlite3.DataError as error:
        raise DataError(str(error)) from error
    except sqlite3.DatabaseError as error:
        raise DatabaseError(str(error)) from error
    except sqlite3.Error as error:
        raise PersistenceError(str(error)) from error


class SqliteDatabase:
    """A SQLite database: a file shared by processes, or one in memory.

    Each thread has its own connection to a file. Writes begin with
    `BEGIN IMMEDIATE`, taking the write lock up front, so that a transaction
    never has to upgrade a read snapshot that another writer made stale. An
    in-memory database has one connection, shared under a lock.
    """

    dialect: Dialect = "sqlite"

    def __init__(self, path: str, *, busy_timeout: float = 15.0) -> None:
        self.path = path
        self.busy_timeout = busy_timeout
        self.in_memory = path == ":memory:"
        self._local = threading.local()
        self._lock = threading.RLock()
        self._shared: sqlite3.Connection | None = None
        self._all: list[sqlite3.Connection] = []

    def connection(self) -> sqlite3.Connection:
        if self.in_memory:
            if self._shared is None:
                self._shared = self._connect()
            return self._shared
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._connect()
            self._local.connection = connection
        return connection

    def _connect(self) -> sqlite3.Connection:
        with translated_sqlite_errors():
            connection = sqlite3.connect(
                self.path,
                timeout=self.busy_timeout,
                isolation_level=None,
                check_same_thread=False,
            )
            if not self.in_memory:
                connection.execute("PRAGMA journal_mode=WAL")
                connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute("PRAGMA foreign_keys=ON")
        with self._lock:
            self._all.append(connection)
        return connection

    @contextmanager
    def reading(self) -> Iterator[SqliteSession]:
        with self._exclusive_if_shared():
            cursor = self.connection().cursor()
            try:
                yield SqliteSession(cursor)
            finally:
                cursor.close()

    def fetch_soon(
        self,
        statement: str,
        params: Mapping[str, Any],
        presumption: Presumption | None = None,
    ) -> SoonRows:
        def run() -> list[dict[str, Any]]:
            with self.reading() as session:
                return session.fetch(statement, params)

        return _RowsWhenAsked(run)

    @contextmanager
    def writing(self) -> Iterator[SqliteSession]:
        with self._exclusive_if_shared():
            connection = self.connection()
            cursor = connection.cursor()
            with translated_sqlite_errors():
                cursor.execute("BEGIN IMMEDIATE")
            try:
                yield SqliteSession(cursor)
            except BaseException:
                connection.rollback()
                raise
            else:
                with translated_sqlite_errors():
                    connection.commit()
            finally:
                cursor.close()

    @contextmanager
    def _exclusive_if_shared(self) -> Iterator[None]:
        if self.in_memory:
            with self._lock:
                yield
        else:
            yield

    def close(self) -> None:
        with self._lock:
            for connection in self._all:
                connection.close()
            self._all.clear()
            self._shared = None
        self._local = threading.local()
