"""Fixtures of the security tests: the API on SQLite and on PostgreSQL.

Injection is a matter of SQL dialects, so these tests run on both stores
that speak SQL; each test acts in workspaces of its own.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from api.app import create_app
from infrastructure.identity import IssuedKey
from infrastructure.wiring import Services


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def app(services: Services) -> Flask:
    return create_app(services.application, services.identity, services.check_store)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@dataclass
class Tenant:
    """A user's key and the resources they made in their own workspace."""

    key: IssuedKey
    project: str
    other_project: str
    job: str
    task: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key.api_key}"}

    def ids(self) -> list[str]:
        return [self.project, self.other_project, self.job, self.task]


def make_tenant(services: Services, client: FlaskClient) -> Tenant:
    """A new workspace with two projects, the first holding a job and a task."""
    key = services.create_key(
        f"tenant-{uuid.uuid4().hex[:8]}@example.com", f"ws-{uuid.uuid4().hex[:8]}"
    )
    auth = {"Authorization": f"Bearer {key.api_key}"}

    def created(kind: str, **body: Any) -> str:
        response = client.post(
            f"/v1/{kind}", json={"name": "Secret", **body}, headers=auth
        )
        assert response.status_code == 201, response.get_json()
        identifier: str = response.get_json()["id"]
        return identifier

    tenant = Tenant(
        key=key,
        project=created("projects", description="Confidential"),
        other_project=created("projects"),
        job=created("jobs"),
        task=created("tasks"),
    )
    for kind, field_name, member in (
        ("jobs", "jobId", tenant.job),
        ("tasks", "taskId", tenant.task),
    ):
        response = client.post(
            f"/v1/projects/{tenant.project}/{kind}",
            json={field_name: member},
            headers=auth,
        )
        assert response.status_code == 200, response.get_json()
    return tenant


@pytest.fixture
def owner(services: Services, client: FlaskClient) -> Tenant:
    return make_tenant(services, client)


@pytest.fixture
def intruder(services: Services, client: FlaskClient) -> Tenant:
    return make_tenant(services, client)
