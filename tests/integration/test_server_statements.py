"""Statements prepared by name on the server, and run inside simple queries."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from eventsourcing.persistence import ProgrammingError
from psycopg.pq import TransactionStatus
from psycopg.rows import DictRow, dict_row

from infrastructure.postgres_store import (
    ServerStatements,
    _prepared_form,
    simple_query,
)

pytestmark = pytest.mark.postgres

HALVING = "SELECT 10 / %s::int AS half, %s::text AS label"


@pytest.fixture
def connection(fresh_postgres_url: str) -> Iterator[psycopg.Connection[DictRow]]:
    with psycopg.connect(
        fresh_postgres_url, autocommit=True, row_factory=dict_row
    ) as connection:
        yield connection


def prepared_names(connection: psycopg.Connection[DictRow]) -> list[str]:
    rows = connection.execute("SELECT name FROM pg_prepared_statements").fetchall()
    return sorted(row["name"] for row in rows)


def run(
    statements: ServerStatements,
    connection: psycopg.Connection[DictRow],
    params: list[object],
    statement: str = HALVING,
) -> list[DictRow]:
    (rows,) = statements.query(
        connection, [statement], lambda calls: calls, params, again_if_lost=True
    )
    return rows


def test_a_statement_is_prepared_once_per_connection_and_binds_literals(
    connection: psycopg.Connection[DictRow], fresh_postgres_url: str
) -> None:
    statements = ServerStatements()

    assert run(statements, connection, [2, "it's"]) == [{"half": 5, "label": "it's"}]
    assert run(statements, connection, [5, "a; DROP"]) == [
        {"half": 2, "label": "a; DROP"}
    ]
    assert len(prepared_names(connection)) == 1

    with psycopg.connect(
        fresh_postgres_url, autocommit=True, row_factory=dict_row
    ) as other:
        assert run(statements, other, [1, "b"]) == [{"half": 10, "label": "b"}]
        assert prepared_names(other) == prepared_names(connection)


def test_a_failure_after_the_prepare_leaves_the_statement_usable(
    connection: psycopg.Connection[DictRow],
) -> None:
    statements = ServerStatements()

    with pytest.raises(psycopg.errors.DivisionByZero):
        run(statements, connection, [0, "first use fails"])

    # The PREPARE ran before the failure: asked, the server says so, and the
    # statement is not prepared a second time (which the server would refuse).
    assert run(statements, connection, [10, "again"]) == [{"half": 1, "label": "again"}]
    assert len(prepared_names(connection)) == 1


def test_a_statement_whose_prepare_failed_is_prepared_on_its_next_use(
    connection: psycopg.Connection[DictRow],
) -> None:
    statements = ServerStatements()
    broken = "SELECT %s::int AS n FROM no_such_table"

    for _ in range(2):
        with pytest.raises(psycopg.errors.UndefinedTable):
            run(statements, connection, [1], broken)
    assert prepared_names(connection) == []

    connection.execute("CREATE TABLE no_such_table (n int)")
    connection.execute("INSERT INTO no_such_table VALUES (1)")
    assert run(statements, connection, [7], broken) == [{"n": 7}]


def test_statements_deallocated_behind_its_back_are_prepared_again(
    connection: psycopg.Connection[DictRow],
) -> None:
    statements = ServerStatements()
    assert run(statements, connection, [2, "before"]) == [
        {"half": 5, "label": "before"}
    ]

    # What psycopg does on a rollback when it has prepared statements itself.
    connection.execute("DEALLOCATE ALL")

    assert run(statements, connection, [1, "after"]) == [{"half": 10, "label": "after"}]
    assert len(prepared_names(connection)) == 1


def test_inside_a_transaction_a_lost_statement_is_not_sent_again(
    connection: psycopg.Connection[DictRow],
) -> None:
    statements = ServerStatements()
    run(statements, connection, [2, "before"])
    connection.execute("DEALLOCATE ALL")
    connection.execute("BEGIN")

    with pytest.raises(psycopg.errors.InvalidSqlStatementName):
        statements.query(
            connection, [HALVING], lambda calls: calls, [1, "x"], again_if_lost=False
        )
    connection.rollback()

    # The record of the connection was dropped: the next use prepares it.
    assert run(statements, connection, [1, "next"]) == [{"half": 10, "label": "next"}]


def test_a_lost_statement_puts_the_others_in_doubt_not_out_of_mind(
    connection: psycopg.Connection[DictRow],
) -> None:
    statements = ServerStatements()
    other = "SELECT %s::int + 1 AS next"
    run(statements, connection, [2, "a"])
    connection.execute("DEALLOCATE ALL")
    # Prepared again after everything was deallocated; the first is not.
    assert run(statements, connection, [1], other) == [{"next": 2}]

    # The first is found missing and prepared again; the other, still there,
    # is not prepared a second time (which the server would refuse).
    assert run(statements, connection, [5, "b"]) == [{"half": 2, "label": "b"}]
    assert run(statements, connection, [3], other) == [{"next": 4}]
    assert len(prepared_names(connection)) == 2


def test_a_statement_with_a_percent_sign_of_its_own_is_refused() -> None:
    statements = ServerStatements()
    with pytest.raises(ProgrammingError, match="only %s placeholders"):
        run(statements, None, ["a"], "SELECT 'a%' LIKE %s")  # type: ignore[arg-type]


def test_a_simple_query_answers_each_statement_with_rows_and_writes_every_value_in(
    connection: psycopg.Connection[DictRow],
) -> None:
    odd = "it's 100% \\ a; DROP TABLE x; -- ünïcode"
    results = simple_query(
        connection,
        [
            "BEGIN",
            "SELECT %s::text AS text, %s::bigint AS number, %s::bytea AS raw, "
            "%s::text AS nothing, %s::boolean AS yes",
            "SELECT n FROM generate_series(1, %s) AS n",
            "COMMIT",
        ],
        [odd, -(2**62), b"\x00'\\\xff", None, True, 3],
    )

    assert results == [
        [
            {
                "text": odd,
                "number": -(2**62),
                "raw": b"\x00'\\\xff",
                "nothing": None,
                "yes": True,
            }
        ],
        [{"n": 1}, {"n": 2}, {"n": 3}],
    ]
    assert connection.info.transaction_status == TransactionStatus.IDLE


def test_a_failing_statement_raises_its_own_error_and_stops_the_query(
    connection: psycopg.Connection[DictRow],
) -> None:
    with pytest.raises(psycopg.errors.DivisionByZero):
        simple_query(
            connection,
            ["BEGIN", "SELECT 1 / %s AS never", "SELECT pg_sleep(5)"],
            [0],
        )

    assert connection.info.transaction_status == TransactionStatus.INERROR
    connection.rollback()
    assert simple_query(connection, ["SELECT %s::int AS back"], [7]) == [[{"back": 7}]]


@pytest.mark.parametrize("deallocated", ["one", "all"])
def test_several_statements_in_one_query_come_back_from_losing_one_or_all(
    connection: psycopg.Connection[DictRow], deallocated: str
) -> None:
    statements = ServerStatements()
    adding = "SELECT %s::int + %s::int AS sum"
    both = [HALVING, adding]

    def run_both(params: list[object]) -> list[list[DictRow]]:
        return statements.query(
            connection,
            both,
            lambda calls: ["BEGIN", *calls, "COMMIT"],
            params,
            again_if_lost=True,
        )

    assert run_both([4, "a", 1, 2]) == [[{"half": 2, "label": "a"}], [{"sum": 3}]]
    assert len(prepared_names(connection)) == 2

    if deallocated == "one":
        connection.execute(f"DEALLOCATE {_prepared_form(HALVING)[0]}")
    else:
        connection.execute("DEALLOCATE ALL")

    assert run_both([5, "b", 3, 4]) == [[{"half": 2, "label": "b"}], [{"sum": 7}]]
    assert len(prepared_names(connection)) == 2
    assert connection.info.transaction_status == TransactionStatus.IDLE
