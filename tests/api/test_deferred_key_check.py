"""A command's key check may come late, but it always comes before the answer."""

from __future__ import annotations

from typing import Any

import pytest
from eventsourcing.persistence import OperationalError
from flask.testing import FlaskClient

from application.views import Actor

Headers = dict[str, str]


def test_a_revoked_key_is_401_for_a_command_and_changes_nothing(
    client: FlaskClient, services: Any, key: Any, auth: Headers, create: Any
) -> None:
    project, job = create("projects", name="P"), create("jobs", name="J")
    services.identity.revoke_key(key.key_id)

    answer = client.post(
        f"/v1/projects/{project['id']}/jobs", json={"jobId": job["id"]}, headers=auth
    )

    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == "Bearer"
    assert answer.get_json()["requestId"] == answer.headers["X-Request-Id"]
    history = services.application.project_history
    events = history(_actor_of(key), project["id"], limit=100, page=None, cursor=None)
    assert [event.type for event in events.items] == ["ProjectCreated"]


def test_a_revoked_key_is_401_before_a_missing_project_or_a_bad_body(
    client: FlaskClient, services: Any, key: Any, auth: Headers
) -> None:
    services.identity.revoke_key(key.key_id)
    missing = "/v1/projects/proj_" + "0" * 26

    assert client.delete(missing, headers=auth).status_code == 401
    assert client.post(f"{missing}/jobs", json={}, headers=auth).status_code == 401
    assert client.patch(missing, json={"name": ""}, headers=auth).status_code == 401


def test_a_store_that_fails_the_command_is_not_asked_again_for_the_key(
    client: FlaskClient,
    services: Any,
    auth: Headers,
    create: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    project, job = create("projects", name="P"), create("jobs", name="J")
    looked_up = []
    real_look_up = services.identity.look_up

    def counted_look_up(api_key: str) -> Any:
        lookup = real_look_up(api_key)
        real_principal = lookup.principal

        def principal() -> Any:
            looked_up.append(api_key)
            return real_principal()

        monkeypatch.setattr(lookup, "principal", principal)
        return lookup

    def store_down(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("connection refused")

    monkeypatch.setattr(services.identity, "look_up", counted_look_up)
    monkeypatch.setattr(services.application, "assign_job", store_down)

    answer = client.post(
        f"/v1/projects/{project['id']}/jobs", json={"jobId": job["id"]}, headers=auth
    )
    assert answer.status_code == 503
    assert looked_up == []

    # Any other answer to a command waits for the check.
    answer = client.delete(
        f"/v1/projects/{project['id']}/jobs/{job['id']}", headers=auth
    )
    assert answer.status_code == 404
    assert len(looked_up) == 1


def _actor_of(key: Any) -> Actor:
    return Actor(key.user_id, key.workspace_id)
