"""The event log over HTTP: feed, stream, history and time travel (CONTRACT §7)."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from api.app import create_app

Create = Callable[..., Any]
Headers = dict[str, str]
EVENT_FIELDS = {
    "type",
    "resourceId",
    "version",
    "occurredAt",
    "actorId",
    "data",
    "position",
}
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def test_the_feed_lists_the_workspace_events_with_positions(
    client: FlaskClient, auth: Headers, create: Create, key: Any
) -> None:
    project = create("projects", name="P")
    job = create("jobs", name="J")
    client.post(
        f"/v1/projects/{project['id']}/jobs", json={"jobId": job["id"]}, headers=auth
    )

    answer = client.get("/v1/events", headers=auth)

    body = answer.get_json()
    assert answer.status_code == 200
    events = body["data"]
    assert [e["type"] for e in events] == [
        "ProjectCreated",
        "JobCreated",
        "JobAddedToProject",
        "JobAssigned",
    ]
    assert all(set(e) == EVENT_FIELDS for e in events)
    assert all(TIMESTAMP.fullmatch(e["occurredAt"]) for e in events)
    assert all(e["actorId"] == key.user_id for e in events)
    assert events[3]["data"] == {"projectId": project["id"]}
    assert events[2]["data"] == {"jobId": job["id"]}
    assert body["pagination"] == {
        "after": 0,
        "limit": 100,
        "hasMore": False,
        "nextAfter": events[-1]["position"],
    }


def test_the_feed_continues_after_a_position(
    client: FlaskClient, auth: Headers, create: Create
) -> None:
    for n in range(3):
        create("jobs", name=f"J{n}")
    first = client.get("/v1/events?limit=2", headers=auth).get_json()

    rest = client.get(
        f"/v1/events?after={first['pagination']['nextAfter']}", headers=auth
    ).get_json()

    assert first["pagination"]["hasMore"] is True
    assert len(first["data"]) == 2 and len(rest["data"]) == 1
    assert rest["data"][0]["position"] > first["data"][-1]["position"]


@pytest.mark.parametrize(
    "query", ["after=-1", "after=x", "limit=0", "limit=1001", "limit=1.5"]
)
def test_bad_feed_parameters_are_refused(
    client: FlaskClient, auth: Headers, query: str
) -> None:
    answer = client.get(f"/v1/events?{query}", headers=auth)

    assert answer.status_code == 400
    assert answer.get_json()["error"] == "Bad Request"


def test_the_feed_needs_a_key(client: FlaskClient) -> None:
    answer = client.get("/v1/events")

    assert answer.status_code == 401


def test_history_is_readable_after_deletion_and_paged(
    client: FlaskClient, auth: Headers, stranger_auth: Headers, create: Create
) -> None:
    project = create("projects", name="P")
    task = create("tasks", name="T")
    client.post(
        f"/v1/projects/{project['id']}/tasks", json={"taskId": task["id"]}, headers=auth
    )
    client.delete(f"/v1/projects/{project['id']}", headers=auth)

    answer = client.get(f"/v1/projects/{project['id']}/history?limit=2", headers=auth)
    stranger = client.get(
        f"/v1/projects/{project['id']}/history", headers=stranger_auth
    )

    body = answer.get_json()
    assert answer.status_code == 200
    assert [e["type"] for e in body["data"]] == ["ProjectCreated", "TaskAddedToProject"]
    assert body["pagination"]["total"] == 5 and body["pagination"]["hasMore"]
    cursor = body["pagination"]["nextCursor"]
    rest = client.get(
        f"/v1/projects/{project['id']}/history?cursor={cursor}", headers=auth
    ).get_json()
    assert [e["type"] for e in rest["data"]] == [
        "TaskAssigned",
        "ProjectDeleted",
        "TaskUnassigned",
    ]
    assert stranger.status_code == 404


def test_as_of_shows_the_project_as_it_was(
    client: FlaskClient, auth: Headers, create: Create
) -> None:
    project = create("projects", name="First name")
    time.sleep(0.005)
    moment = client.get(f"/v1/projects/{project['id']}", headers=auth).get_json()
    time.sleep(0.005)
    client.patch(f"/v1/projects/{project['id']}", json={"name": "Second"}, headers=auth)
    as_of = moment["updatedAt"]

    then = client.get(f"/v1/projects/{project['id']}?asOf={as_of}", headers=auth)
    before = client.get(
        f"/v1/projects/{project['id']}?asOf=2000-01-01T00:00:00.000Z", headers=auth
    )
    bad = client.get(f"/v1/projects/{project['id']}?asOf=yesterday", headers=auth)

    assert then.status_code == 200 and then.get_json()["name"] == "First name"
    assert before.status_code == 404
    assert bad.status_code == 400


def test_the_stream_sends_events_with_their_positions_as_ids(
    services: Any, auth: Headers, create: Create
) -> None:
    stopping = threading.Event()
    app: Flask = create_app(
        services.application,
        services.identity,
        stream_heartbeat=0.05,
        stopping=stopping,
    )
    first = create("jobs", name="J1")
    create("jobs", name="J2")
    positions = [
        e["position"]
        for e in app.test_client().get("/v1/events", headers=auth).get_json()["data"]
    ]
    threading.Timer(0.5, stopping.set).start()

    answer = app.test_client().get(
        "/v1/events/stream", headers={**auth, "Last-Event-ID": str(positions[0])}
    )

    text = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert answer.mimetype == "text/event-stream"
    assert f"id: {positions[1]}\nevent: JobCreated\n" in text
    assert f"id: {positions[0]}\n" not in text
    assert ": heartbeat" in text
    assert first["id"] not in text


def test_a_bad_last_event_id_is_refused(client: FlaskClient, auth: Headers) -> None:
    answer = client.get("/v1/events/stream", headers={**auth, "Last-Event-ID": "x"})

    assert answer.status_code == 400


def test_a_page_far_past_the_end_is_empty_not_refused(
    client: FlaskClient, auth: Headers, create: Create
) -> None:
    project = create("projects", name="P")
    huge = "9" * 40

    listed = client.get(f"/v1/projects?page={huge}", headers=auth)
    history = client.get(
        f"/v1/projects/{project['id']}/history?page={huge}", headers=auth
    )

    assert listed.status_code == 200 and listed.get_json()["data"] == []
    assert history.status_code == 200 and history.get_json()["data"] == []
    assert listed.get_json()["pagination"]["hasMore"] is False


def test_an_empty_job_id_is_invalid(
    client: FlaskClient, auth: Headers, create: Create
) -> None:
    project = create("projects", name="P")

    answer = client.post(
        f"/v1/projects/{project['id']}/jobs", json={"jobId": ""}, headers=auth
    )

    assert answer.status_code == 400
    assert "jobId" in answer.get_json()["details"]
