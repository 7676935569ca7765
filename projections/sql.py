"""The little SQL that every read model shares, on SQLite and on PostgreSQL.

Read models describe their tables once (`Table`) and say how each event
changes them as row operations (`Insert`, `Update`, `Increment`, `Delete`).
`SqlExecutor` turns operations into statements inside the writer's
transaction; replay applies the same operations to rows in memory
(`MemoryTables`) and writes the result in bulk. Statements are written with
`:name` parameters; a session converts them for its database.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, Literal, Protocol

Dialect = Literal["sqlite", "postgresql"]
ColumnType = Literal["text", "bigint", "integer", "boolean"]
Row = Mapping[str, Any]


class SqlSession(Protocol):
    """A connection, or a transaction on one, that runs `:name` statements."""

    dialect: Dialect

    def execute(self, statement: str, params: Mapping[str, Any] | None = None) -> None:
        """Run a statement that returns no rows."""

    def fetch(
        self, statement: str, params: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Run a query and return its rows as dicts."""
        ...

    def execute_many(self, statement: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run one statement for each set of parameters."""

    def copy_rows(
        self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
    ) -> None:
        """Insert many rows as fast as the database allows."""


class Database(Protocol):
    """Where read models live: sessions for reading and for writing."""

    dialect: Dialect

    def reading(self) -> AbstractContextManager[SqlSession]:
        """A session that sees every write committed before it started."""
        ...

    def writing(self) -> AbstractContextManager[SqlSession]:
        """A transaction that commits when the block ends without error."""
        ...

    def fetch_soon(
        self,
        statement: str,
        params: Mapping[str, Any],
        presumption: Presumption | None = None,
    ) -> SoonRows:
        """A query whose rows are wanted soon, by this thread.

        The database may run it together with the next read it makes for a
        command on this thread, in the same round trip, or else when the
        rows are asked for. With a presumption, it may instead check the
        presumed rows in the transaction of the command's record.
        """
        ...


@dataclass(frozen=True)
class Presumption:
    """The rows a query is presumed to return, and how a transaction checks them.

    `check` is a statement, with `:name` parameters from `params`, that fails
    (and aborts its transaction) unless the query would still return `rows`.
    """

    rows: list[dict[str, Any]]
    check: str
    params: Mapping[str, Any]


class SoonRows(Protocol):
    """The rows of a query that may not have run yet."""

    def rows(self) -> list[dict[str, Any]]:
        """The query's rows; it runs now if it has not run."""
        ...

    def cancel(self) -> None:
        """The rows are not wanted: the query must not run with a later read."""


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    nullable: bool = False
    default: str | None = None


@dataclass(frozen=True)
class Index:
    name: str
    columns: tuple[str, ...]
    where: str | None = None


@dataclass(frozen=True)
class Table:
    """A read-model table: columns, primary key and indexes."""

    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    indexes: tuple[Index, ...] = ()

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    def create_statements(self, dialect: Dialect) -> list[str]:
        lines = [_column_sql(column, dialect) for column in self.columns]
        lines.append(f"PRIMARY KEY ({', '.join(self.primary_key)})")
        body = ",\n  ".join(lines)
        statements = [f"CREATE TABLE IF NOT EXISTS {self.name} (\n  {body}\n)"]
        for index in self.indexes:
            where = f" WHERE {index.where}" if index.where else ""
            statements.append(
                f"CREATE INDEX IF NOT EXISTS {index.name} "
                f"ON {self.name} ({', '.join(index.columns)}){where}"
            )
        return statements


def _column_sql(column: Column, dialect: Dialect) -> str:
    types = {
        "text": 'text COLLATE "C"' if dialect == "postgresql" else "text",
        "bigint": "bigint",
        "integer": "integer",
        "boolean": "boolean" if dialect == "postgresql" else "integer",
    }
    sql = f"{column.name} {types[column.type]}"
    if not column.nullable:
        sql += " NOT NULL"
    if column.default is not None:
        sql += f" DEFAULT {column.default}"
    return sql


@dataclass(frozen=True)
class Insert:
    table: Table
    row: Row


@dataclass(frozen=True)
class Update:
    """Set `values` and add `deltas` to counters, in one statement."""

    table: Table
    key: Row
    values: Row
    deltas: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Increment:
    """Add to the counters of a row, which starts at zero when it is missing."""

    table: Table
    key: Row
    deltas: Mapping[str, int]


@dataclass(frozen=True)
class Delete:
    table: Table
    key: Row


Operation = Insert | Update | Increment | Delete


class SqlExecutor:
    """Applies row operations as SQL statements in the session's transaction."""

    def __init__(self, session: SqlSession) -> None:
        self.session = session

    def apply(self, operations: Iterable[Operation]) -> None:
        for operation in operations:
            statement, params = self.statement(operation)
            self.session.execute(statement, params)

    @staticmethod
    def statement(operation: Operation) -> tuple[str, dict[str, Any]]:
        """The statement of an operation, with `:name` parameters, and their values."""
        shape, _ = _shape_and_values(operation)
        statement = _statement_text(shape, named=True)
        if isinstance(operation, Insert):
            return statement, dict(operation.row)
        if isinstance(operation, Delete):
            return statement, dict(operation.key)
        deltas = {f"delta_{name}": value for name, value in operation.deltas.items()}
        if isinstance(operation, Increment):
            return statement, {**operation.key, **deltas}
        return statement, {**operation.values, **deltas, **operation.key}


# At most this many row changes join the statement that records their events.
MAX_JOINED_OPERATIONS = 8


def joined(operations: Sequence[Operation]) -> tuple[tuple[str, ...], list[Any]] | None:
    """The operations as parts of one PostgreSQL statement, or None.

    Each part is `oN AS (statement)` with positional parameters, to go in
    the WITH clause of a statement that writes something else too; the
    parameters come in the order of the parts. The parts of a statement all
    see the rows as they were before it, so operations join only when no two
    of them touch the same row, and only a few, so that the statements the
    database prepares stay few. The text of each part depends only on the
    operation's table and columns, and is worked out once.
    """
    if len(operations) > MAX_JOINED_OPERATIONS:
        return None
    touched = set()
    parts: list[str] = []
    params: list[Any] = []
    for number, operation in enumerate(operations, start=1):
        row = _row_of(operation)
        if row is None or row in touched:
            return None
        touched.add(row)
        shape, values = _shape_and_values(operation)
        parts.append(f"o{number} AS ({_statement_text(shape, named=False)})")
        params += values
    return tuple(parts), params


Shape = tuple[str, str, tuple[str, ...], tuple[str, ...], tuple[str, ...]]


def _shape_and_values(operation: Operation) -> tuple[Shape, list[Any]]:
    """What the statement of an operation depends on, and its parameters in order."""
    name = operation.table.name
    if isinstance(operation, Insert):
        row = operation.row
        return ("insert", name, tuple(row), (), ()), list(row.values())
    if isinstance(operation, Update):
        key, values, deltas = operation.key, operation.values, operation.deltas
        return (
            ("update", name, tuple(key), tuple(values), tuple(deltas)),
            [*values.values(), *deltas.values(), *key.values()],
        )
    if isinstance(operation, Increment):
        key, deltas = operation.key, operation.deltas
        return (
            ("increment", name, tuple(key), (), tuple(deltas)),
            [*key.values(), *deltas.values()],
        )
    return ("delete", name, tuple(operation.key), (), ()), list(operation.key.values())


@functools.lru_cache(maxsize=256)
def _statement_text(shape: Shape, *, named: bool) -> str:
    """The SQL of an operation of this shape: `:name` or positional parameters.

    Named parameters are the columns' names, and `delta_<column>` for what is
    added to a counter; positional ones come in the order
    `_shape_and_values` lists the values.
    """
    kind, table, key, values, deltas = shape

    def mark(name: str) -> str:
        return f":{name}" if named else "%s"

    def match() -> str:
        return " AND ".join(f"{column} = {mark(column)}" for column in key)

    if kind == "insert":
        row = ", ".join(mark(column) for column in key)
        return f"INSERT INTO {table} ({', '.join(key)}) VALUES ({row})"
    if kind == "update":
        assignments = [f"{column} = {mark(column)}" for column in values]
        assignments += [
            f"{column} = {column} + {mark(f'delta_{column}')}" for column in deltas
        ]
        return f"UPDATE {table} SET {', '.join(assignments)} WHERE {match()}"
    if kind == "increment":
        placeholders = [mark(column) for column in key]
        placeholders += [mark(f"delta_{column}") for column in deltas]
        additions = ", ".join(
            f"{column} = {table}.{column} + excluded.{column}" for column in deltas
        )
        return (
            f"INSERT INTO {table} ({', '.join([*key, *deltas])}) "
            f"VALUES ({', '.join(placeholders)}) "
            f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {additions}"
        )
    return f"DELETE FROM {table} WHERE {match()}"


def _row_of(operation: Operation) -> tuple[str, tuple[Any, ...]] | None:
    """The table and primary key of the row an operation touches, if it names it."""
    table = operation.table
    given = operation.row if isinstance(operation, Insert) else operation.key
    if not isinstance(operation, Insert) and set(given) != set(table.primary_key):
        return None
    if not set(table.primary_key) <= set(given):
        return None
    return table.name, tuple(given[column] for column in table.primary_key)


@dataclass
class MemoryTables:
    """Tables held in memory while a replay folds the whole event log."""

    tables: Sequence[Table]
    rows: dict[str, dict[Any, dict[str, Any]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # What each table needs per row change, worked out once: how to read
        # a row's key, and a row of the columns' defaults to start from.
        self._keys: dict[str, Callable[[Row], Any]] = {}
        self._blank: dict[str, dict[str, Any]] = {}
        for table in self.tables:
            self.rows.setdefault(table.name, {})
            self._keys[table.name] = itemgetter(*table.primary_key)
            self._blank[table.name] = _full_row(table, {})

    def apply(self, operations: Iterable[Operation]) -> None:
        for operation in operations:
            name = operation.table.name
            rows = self.rows[name]
            if type(operation) is Insert:
                row = self._blank[name].copy()
                row.update(operation.row)
                rows[self._keys[name](row)] = row
            elif type(operation) is Update:
                found = rows.get(self._keys[name](operation.key))
                if found is not None:
                    found.update(operation.values)
                    for column, delta in operation.deltas.items():
                        found[column] += delta
            elif type(operation) is Increment:
                key = self._keys[name](operation.key)
                found = rows.get(key)
                if found is None:
                    found = self._blank[name].copy()
                    found.update(operation.key)
                    rows[key] = found
                for column, delta in operation.deltas.items():
                    found[column] = (found[column] or 0) + delta
            elif type(operation) is Delete:
                rows.pop(self._keys[name](operation.key), None)

    def table_rows(self, table: Table) -> Iterator[tuple[Any, ...]]:
        names = table.column_names
        for row in self.rows[table.name].values():
            yield tuple([row[name] for name in names])


def _full_row(table: Table, given: Row) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for column in table.columns:
        if column.name in given:
            row[column.name] = given[column.name]
        elif column.default is not None:
            row[column.name] = _default_value(column)
        else:
            row[column.name] = None
    return row


def _default_value(column: Column) -> Any:
    if column.type == "boolean":
        return column.default == "true"
    return int(column.default) if column.default is not None else None
