"""Creating and upgrading the database schema, once, whoever gets there first.

Migrations are numbered steps recorded in `schema_migrations`. They run under
a lock (an advisory lock on PostgreSQL, the write lock on SQLite), so that
several processes starting together on one database do the work once.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable

from infrastructure import identity, postgres_store, sqlite_store
from projections.registry import TABLES
from projections.sql import Database, SqlSession

logger = logging.getLogger(__name__)

_LOCK_KEY = 7_204_113_587


def _initial(session: SqlSession) -> None:
    store = postgres_store if session.dialect == "postgresql" else sqlite_store
    for statement in store.SCHEMA:
        session.execute(statement)
    for table in TABLES:
        for statement in table.create_statements(session.dialect):
            session.execute(statement)
    for statement in identity.SCHEMA:
        session.execute(statement)
    session.execute(
        "CREATE TABLE IF NOT EXISTS service_secrets "
        "(name text PRIMARY KEY, secret text NOT NULL)"
    )
    session.execute(
        "INSERT INTO service_secrets (name, secret) VALUES ('cursors', :secret) "
        "ON CONFLICT (name) DO NOTHING",
        {"secret": secrets.token_hex(32)},
    )


def _order_by_transaction(session: SqlSession) -> None:
    if session.dialect == "postgresql":
        for statement in postgres_store.ORDER_BY_TRANSACTION:
            session.execute(statement)


def _drop_transaction_column(session: SqlSession) -> None:
    if session.dialect == "postgresql":
        for statement in postgres_store.DROP_TRANSACTION_COLUMN:
            session.execute(statement)


def _live_key_check(session: SqlSession) -> None:
    if session.dialect == "postgresql":
        for statement in identity.POSTGRES_FUNCTIONS:
            session.execute(statement)


MIGRATIONS: list[tuple[int, str, Callable[[SqlSession], None]]] = [
    (1, "events, snapshots, read models, identity", _initial),
    (2, "positions in the log ordered by transaction", _order_by_transaction),
    (3, "positions carry the transaction id", _drop_transaction_column),
    (4, "the check that a caller's key is still live", _live_key_check),
]


def ensure_schema(database: Database) -> None:
    """Bring the schema up to date; a no-op when it already is."""
    with database.writing() as session:
        if session.dialect == "postgresql":
            session.execute("SELECT pg_advisory_xact_lock(:key)", {"key": _LOCK_KEY})
        session.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version integer PRIMARY KEY, description text NOT NULL)"
        )
        done = {
            int(row["version"])
            for row in session.fetch("SELECT version FROM schema_migrations")
        }
        for version, description, migrate in MIGRATIONS:
            if version in done:
                continue
            logger.info("applying schema migration %d: %s", version, description)
            migrate(session)
            session.execute(
                "INSERT INTO schema_migrations (version, description) "
                "VALUES (:version, :description)",
                {"version": version, "description": description},
            )


def cursor_secret(database: Database) -> bytes:
    """The key that signs list cursors, the same for every process."""
    with database.reading() as session:
        rows = session.fetch(
            "SELECT secret FROM service_secrets WHERE name = 'cursors'"
        )
    return bytes.fromhex(rows[0]["secret"])
