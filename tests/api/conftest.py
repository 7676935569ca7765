"""Fixtures of the HTTP tests: a Flask app around the real services of each store.

The `services` fixture of tests/conftest.py builds the service on each store
in turn; every test here runs once per store. Names of users and workspaces
are unique per test, since the PostgreSQL database is shared by the session.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from api.app import create_app


@pytest.fixture
def app(services: Any) -> Flask:
    return create_app(services.application, services.identity, services.check_store)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def key(services: Any) -> Any:
    """A key of a user, made for a workspace of their own."""
    return services.create_key(f"{unique('ada')}@example.com", unique("lab"))


@pytest.fixture
def auth(key: Any) -> dict[str, str]:
    """The headers that authenticate with `key`."""
    return {"Authorization": f"Bearer {key.api_key}"}


@pytest.fixture
def stranger_key(services: Any) -> Any:
    """A key of another user, in a workspace the first user is not a member of."""
    return services.create_key(f"{unique('grace')}@example.com", unique("navy"))


@pytest.fixture
def stranger_auth(stranger_key: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {stranger_key.api_key}"}


@pytest.fixture
def create(client: FlaskClient, auth: dict[str, str]) -> Callable[..., Any]:
    """POST a project, job or task with `auth` and return its JSON; it must be 201."""

    def create_resource(kind: str, **body: Any) -> Any:
        response = client.post(f"/v1/{kind}", json=body, headers=auth)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    return create_resource
