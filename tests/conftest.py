"""Fixtures shared by every test: the three stores, and a service built on each.

PostgreSQL tests run in a throwaway database created for the test session and
dropped at its end. When no PostgreSQL answers, the run stops at once with a
message: the PostgreSQL tests are never skipped silently.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from application.views import Actor
from infrastructure.settings import Settings
from infrastructure.wiring import Services, build_services

POSTGRES_SERVER_URL = os.environ.get(
    "SOKOSUMI_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = ["memory", "sqlite", "postgresql"]


def _server_connection() -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(POSTGRES_SERVER_URL, autocommit=True, connect_timeout=5)


def pytest_sessionstart(session: pytest.Session) -> None:
    try:
        with _server_connection() as connection:
            connection.execute("SELECT 1")
    except psycopg.Error as error:
        pytest.exit(
            f"PostgreSQL is not reachable at {POSTGRES_SERVER_URL} ({error}). "
            "Start it, or point SOKOSUMI_TEST_POSTGRES_URL at one; the PostgreSQL "
            "tests are part of the suite and are not skipped.",
            returncode=3,
        )


def create_database() -> str:
    """Create an empty database on the test server and return its URL."""
    name = f"sokosumi_test_{uuid.uuid4().hex[:12]}"
    with _server_connection() as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return POSTGRES_SERVER_URL.rsplit("/", 1)[0] + "/" + name


def drop_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with _server_connection() as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A database for the whole session; tests keep apart by workspace."""
    url = create_database()
    yield url
    drop_database(url)


@pytest.fixture
def fresh_postgres_url() -> Iterator[str]:
    """A database of its own, for a test that needs an empty event log."""
    url = create_database()
    yield url
    drop_database(url)


def database_url(backend: str, tmp_path: Path, postgres_url: str) -> str:
    if backend == "memory":
        return "memory://"
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'projects.db'}"
    return postgres_url


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def services(backend: str, tmp_path: Path, postgres_url: str) -> Iterator[Services]:
    """The service on each store in turn."""
    url = database_url(backend, tmp_path, postgres_url)
    built = build_services(
        Settings.from_environ({"DATABASE_URL": url, "SOKOSUMI_DB_POOL_SIZE": "3"})
    )
    yield built
    built.close()


@dataclass(frozen=True)
class Member:
    """A user with a key, acting in one workspace."""

    api_key: str
    key_id: str
    actor: Actor


def new_member(services: Services, workspace: str | None = None) -> Member:
    email = f"user-{uuid.uuid4().hex[:8]}@example.com"
    issued = services.create_key(email, workspace or f"ws-{uuid.uuid4().hex[:8]}")
    return Member(
        issued.api_key, issued.key_id, Actor(issued.user_id, issued.workspace_id)
    )


@pytest.fixture
def member(services: Services) -> Member:
    """A user in a workspace of their own."""
    return new_member(services)


@pytest.fixture
def actor(member: Member) -> Actor:
    return member.actor
