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
from collections.abc import Iterable, Iterator, Mapping, Sequence
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

from projections.sql import Dialect

_NAMED_PARAMETER = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@lru_cache(maxsize=1024)
def to_psycopg(statement: str) -> str:
    """Rewrite `:name` parameters as psycopg's `%(name)s`."""
    return _NAMED_PARAMETER.sub(r"%(\1)s", statement)


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


class PostgresDatabase:
    """Read-model sessions on the connection pool of the event store."""

    dialect: Dialect = "postgresql"

    def __init__(self, datastore: PostgresDatastore) -> None:
        self.datastore = datastore

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
