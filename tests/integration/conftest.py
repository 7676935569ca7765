"""Fixtures of the integration tests that need one service on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from infrastructure.settings import Settings
from infrastructure.wiring import Services, build_services


@pytest.fixture
def postgres_services(fresh_postgres_url: str) -> Iterator[Services]:
    """The services of one process on a database of their own."""
    services = build_services(
        Settings.from_environ({"DATABASE_URL": fresh_postgres_url})
    )
    yield services
    services.close()
