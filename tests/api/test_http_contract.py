"""The HTTP contract (CONTRACT.md sections 2 to 6), through Flask's test client.

Every test runs against the real application on each store in turn.
"""

from __future__ import annotations

import io
import json
import logging
import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from eventsourcing.persistence import OperationalError
from flask import Flask
from flask.testing import FlaskClient

from api.app import create_app
from application.errors import ContentionError

Create = Callable[..., Any]
Headers = dict[str, str]

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
PROJECT_FIELDS = {
    "id",
    "name",
    "description",
    "workspaceId",
    "createdAt",
    "updatedAt",
    "jobCount",
    "taskCount",
}
JOB_FIELDS = {"id", "name", "workspaceId", "projectId", "createdAt", "updatedAt"}
TASK_FIELDS = {
    "id",
    "name",
    "description",
    "workspaceId",
    "projectId",
    "archived",
    "archivedAt",
    "createdAt",
    "updatedAt",
}
BIG_BODY = b'{"name": "' + b"x" * (64 * 1024) + b'"}'


def assert_error(response: Any, status: int, error: str) -> dict[str, Any]:
    """Check the shape every error body has, and return it."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body: dict[str, Any] = response.get_json()
    assert body["error"] == error
    assert isinstance(body["message"], str)
    assert body["message"]
    assert body["requestId"] == response.headers["X-Request-Id"]
    assert set(body) <= {"error", "message", "requestId", "details"}
    return body


def post_raw(
    client: FlaskClient, path: str, data: bytes, headers: Headers, **kwargs: Any
) -> Any:
    return client.post(path, data=data, headers=headers, **kwargs)


def json_headers(auth: Headers) -> Headers:
    return {**auth, "Content-Type": "application/json"}


def in_list_order(resources: list[dict[str, Any]]) -> list[str]:
    """The ids of `resources` in the order lists promise: newest update, then id."""
    newest_first = sorted(
        resources, key=lambda found: (found["updatedAt"], found["id"]), reverse=True
    )
    return [found["id"] for found in newest_first]


# Every request: the request id.


def test_a_sane_request_id_sent_by_the_client_is_echoed(
    client: FlaskClient, auth: Headers
) -> None:
    response = client.get("/v1/projects", headers={**auth, "X-Request-Id": "trace-42"})

    assert response.status_code == 200
    assert response.headers["X-Request-Id"] == "trace-42"


def test_a_request_without_an_id_gets_a_new_one_on_every_answer(
    client: FlaskClient, auth: Headers
) -> None:
    first = client.get("/v1/projects", headers=auth)
    second = client.get("/v1/projects", headers=auth)

    assert first.headers["X-Request-Id"]
    assert first.headers["X-Request-Id"] != second.headers["X-Request-Id"]


@pytest.mark.parametrize("sent", ["", "x" * 201, "tab\there"])
def test_an_insane_request_id_is_replaced(
    client: FlaskClient, auth: Headers, sent: str
) -> None:
    response = client.get("/v1/projects", headers={**auth, "X-Request-Id": sent})

    assert response.headers["X-Request-Id"] not in ("", sent)


@pytest.mark.parametrize(
    ("method", "path", "status", "error"),
    [
        ("GET", "/v1/nowhere", 404, "Not Found"),
        ("PUT", "/v1/projects", 405, "Method Not Allowed"),
        ("GET", "/v1/projects/proj_missing", 404, "Not Found"),
    ],
)
def test_errors_answer_in_json_and_echo_the_request_id(
    client: FlaskClient,
    auth: Headers,
    method: str,
    path: str,
    status: int,
    error: str,
) -> None:
    response = client.open(
        path, method=method, headers={**auth, "X-Request-Id": "err-1"}
    )

    body = assert_error(response, status, error)
    assert body["requestId"] == "err-1"


def test_a_405_names_the_allowed_methods(client: FlaskClient, auth: Headers) -> None:
    response = client.put("/v1/projects", headers=auth)

    assert_error(response, 405, "Method Not Allowed")
    assert {"GET", "POST"} <= set(response.headers["Allow"].replace(" ", "").split(","))


# Every request: the key and the workspace.


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", "Basic abc", "Bearer a b", "Bearer sk_unknown"],
)
def test_a_missing_malformed_or_unknown_key_is_401_with_a_bearer_challenge(
    client: FlaskClient, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}

    response = client.get("/v1/projects", headers=headers)

    assert_error(response, 401, "Unauthorized")
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_a_revoked_key_is_401_from_the_next_request_on(
    client: FlaskClient, services: Any, key: Any, auth: Headers
) -> None:
    assert client.get("/v1/projects", headers=auth).status_code == 200

    services.identity.revoke_key(key.key_id)

    assert_error(client.get("/v1/projects", headers=auth), 401, "Unauthorized")


def test_the_scheme_of_the_authorization_header_is_case_insensitive(
    client: FlaskClient, key: Any
) -> None:
    response = client.get(
        "/v1/projects", headers={"Authorization": f"bearer {key.api_key}"}
    )

    assert response.status_code == 200


def test_a_key_may_name_another_workspace_of_its_user(
    client: FlaskClient, services: Any, key: Any, auth: Headers, create: Create
) -> None:
    email = f"ada-{uuid.uuid4().hex[:8]}@example.com"
    home = services.create_key(email, f"home-{uuid.uuid4().hex[:8]}")
    other = services.create_key(email, f"other-{uuid.uuid4().hex[:8]}")
    headers = {"Authorization": f"Bearer {home.api_key}"}

    created = client.post(
        "/v1/projects",
        json={"name": "Elsewhere"},
        headers={**headers, "X-Workspace-Id": other.workspace_id},
    )

    assert created.status_code == 201
    assert created.get_json()["workspaceId"] == other.workspace_id


@pytest.mark.parametrize("workspace", ["stranger", "ws_nobody", "x" * 300])
def test_a_workspace_the_user_is_not_a_member_of_is_403(
    client: FlaskClient, auth: Headers, stranger_key: Any, workspace: str
) -> None:
    workspace_id = stranger_key.workspace_id if workspace == "stranger" else workspace

    response = client.get(
        "/v1/projects", headers={**auth, "X-Workspace-Id": workspace_id}
    )

    assert_error(response, 403, "Forbidden")


@pytest.mark.parametrize("path", ["/health", "/v1/openapi.json", "/docs"])
def test_health_and_documentation_need_no_key(client: FlaskClient, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 200
    assert response.headers["X-Request-Id"]


# Every request: which error answers first.


def test_a_missing_key_answers_before_an_unknown_path(client: FlaskClient) -> None:
    response = post_raw(client, "/v1/nowhere", BIG_BODY, {"Content-Type": "text/plain"})

    assert_error(response, 401, "Unauthorized")


def test_a_foreign_workspace_answers_before_an_unknown_path(
    client: FlaskClient, auth: Headers, stranger_key: Any
) -> None:
    headers = {**auth, "X-Workspace-Id": stranger_key.workspace_id}

    response = client.get("/v1/nowhere", headers=headers)

    assert_error(response, 403, "Forbidden")


def test_an_unknown_path_answers_before_a_body_too_large(
    client: FlaskClient, auth: Headers
) -> None:
    response = post_raw(client, "/v1/nowhere", BIG_BODY, {**auth})

    assert_error(response, 404, "Not Found")


def test_a_wrong_method_answers_before_a_body_too_large(
    client: FlaskClient, auth: Headers
) -> None:
    response = client.put("/v1/projects", data=BIG_BODY, headers=json_headers(auth))

    assert_error(response, 405, "Method Not Allowed")


def test_a_body_too_large_answers_before_a_wrong_media_type(
    client: FlaskClient, auth: Headers
) -> None:
    headers = {**auth, "Content-Type": "text/plain"}

    response = post_raw(client, "/v1/projects", BIG_BODY, headers)

    assert_error(response, 413, "Payload Too Large")


def test_a_wrong_media_type_answers_before_a_malformed_body(
    client: FlaskClient, auth: Headers
) -> None:
    headers = {**auth, "Content-Type": "text/plain"}

    response = post_raw(client, "/v1/projects", b"{not json", headers)

    assert_error(response, 415, "Unsupported Media Type")


def test_an_invalid_body_answers_before_a_missing_project(
    client: FlaskClient, auth: Headers
) -> None:
    response = client.patch("/v1/projects/proj_missing", json={"name": 7}, headers=auth)

    body = assert_error(response, 400, "Bad Request")
    assert "name" in body["details"]


def test_a_missing_project_answers_before_a_missing_job(
    client: FlaskClient, auth: Headers
) -> None:
    response = client.post(
        "/v1/projects/proj_missing/jobs", json={"jobId": "job_missing"}, headers=auth
    )

    body = assert_error(response, 404, "Not Found")
    assert "proj_missing" in body["message"]


def test_an_archived_task_answers_400_before_its_conflict(
    client: FlaskClient, auth: Headers, create: Create
) -> None:
    first = create("projects", name="First")
    second = create("projects", name="Second")
    task = create("tasks", name="Survey")
    client.post(
        f"/v1/projects/{first['id']}/tasks", json={"taskId": task["id"]}, headers=auth
    )
    client.delete(f"/v1/tasks/{task['id']}", headers=auth)

    response = client.post(
        f"/v1/projects/{second['id']}/tasks", json={"taskId": task["id"]}, headers=auth
    )

    body = assert_error(response, 400, "Bad Request")
    assert task["id"] in body["message"]


# Bodies.


def test_a_body_over_64_kib_is_413(client: FlaskClient, auth: Headers) -> None:
    response = post_raw(client, "/v1/projects", BIG_BODY, json_headers(auth))

    assert_error(response, 413, "Payload Too Large")


def test_a_chunked_body_over_64_kib_is_413(client: FlaskClient, auth: Headers) -> None:
    headers = {**json_headers(auth), "Transfer-Encoding": "chunked"}

    response = client.post(
        "/v1/projects",
        headers=headers,
        input_stream=io.BytesIO(BIG_BODY),
        environ_overrides={"wsgi.input_terminated": True},
    )

    assert_error(response, 413, "Payload Too Large")


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/jsonx",
        "application/merge-patch+json",
    ],
)
def test_a_body_not_sent_as_json_is_415(
    client: FlaskClient, auth: Headers, content_type: str | None
) -> None:
    headers = dict(auth)
    if content_type is not None:
        headers["Content-Type"] = content_type

    response = post_raw(client, "/v1/projects", b'{"name": "x"}', headers)

    assert_error(response, 415, "Unsupported Media Type")


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "Application/JSON"]
)
def test_json_with_parameters_or_in_capitals_is_accepted(
    client: FlaskClient, auth: Headers, content_type: str
) -> None:
    headers = {**auth, "Content-Type": content_type}

    response = post_raw(client, "/v1/projects", b'{"name": "Typed"}', headers)

    assert response.status_code == 201


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"{not json", id="malformed"),
        pytest.param(b'{"name": "\xff"}', id="invalid-utf8"),
        pytest.param(b'{"name": "a", "name": "b"}', id="duplicate-key"),
        pytest.param(b'{"name": "a", "x": {"k": 1, "k": 2}}', id="nested-duplicate"),
        pytest.param(b'{"name": NaN}', id="nan"),
        pytest.param(b'{"name": -Infinity}', id="infinity"),
        pytest.param(b"[" * 10_000 + b"]" * 10_000, id="deep-array"),
        pytest.param(b'{"a":' * 10_000 + b"1" + b"}" * 10_000, id="deep-object"),
        pytest.param(b'{"name": 1' + b"0" * 5000 + b"}", id="huge-number"),
        pytest.param(b'["name"]', id="array"),
        pytest.param(b'"name"', id="string"),
        pytest.param(b"null", id="null"),
    ],
)
def test_a_body_that_is_not_one_strict_json_object_is_400(
    client: FlaskClient, auth: Headers, raw: bytes
) -> None:
    response = post_raw(client, "/v1/projects", raw, json_headers(auth))

    body = assert_error(response, 400, "Bad Request")
    assert body["details"]["body"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "a\u0000b"}, "name"),
        ({"name": "ok", "description": "\u0000"}, "description"),
        ({"name": "a\ud800"}, "name"),
    ],
)
def test_strings_that_no_store_can_keep_are_400(
    client: FlaskClient, auth: Headers, body: dict[str, Any], field: str
) -> None:
    raw = json.dumps(body).encode()

    response = post_raw(client, "/v1/projects", raw, json_headers(auth))

    assert field in assert_error(response, 400, "Bad Request")["details"]


@pytest.mark.parametrize(
    "path", ["/v1/jobs/job_%00", "/v1/tasks/task_a%00b", "/v1/projects/%00"]
)
def test_an_id_with_a_nul_is_404_not_a_failure(
    client: FlaskClient, auth: Headers, path: str
) -> None:
    response = client.get(path, headers=auth)

    assert_error(response, 404, "Not Found")


# Projects.


def test_creating_a_project_answers_201_with_location_and_etag(
    client: FlaskClient, auth: Headers, key: Any
) -> None:
    response = client.post(
        "/v1/projects",
        json={"name": "  Q3 Research Sprint ", "description": "All research"},
        headers=auth,
    )

    assert response.status_code == 201
    project = response.get_json()
    assert set(project) == PROJECT_FIELDS
    assert project["id"].startswith("proj_")
    assert project["name"] == "Q3 Research Sprint"
    assert project["description"] == "All research"
    assert project["workspaceId"] == key.workspace_id
    assert TIMESTAMP.fullmatch(project["createdAt"])
    assert project["updatedAt"] == project["createdAt"]
    assert (project["jobCount"], project["taskCount"]) == (0, 0)
    assert response.headers["Location"] == f"/v1/projects/{project['id']}"
    assert re.fullmatch(r'"\d+"', response.headers["ETag"])


def test_a_project_created_without_description_has_none(
    client: FlaskClient, auth: Headers
) -> None:
    response = client.post("/v1/projects", json={"name": "Bare"}, headers=auth)

    assert response.get_json()["description"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": None}, "name"),
        ({"name": 42}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "ok", "description": 5}, "description"),
        ({"name": "ok", "description": "d" * 10_001}, "description"),
        ({"name": "ok", "owner": "me"}, "owner"),
    ],
)
def test_an_invalid_project_is_400_with_details_by_field(
    client: FlaskClient, auth: Headers, body: dict[str, Any], field: str
) -> None:
    response = client.post("/v1/projects", json=body, headers=auth)

    details = assert_error(response, 400, "Bad Request")["details"]
    assert isinstance(details[field], list)
    assert all(isinstance(problem, str) for problem in details[field])


def test_getting_a_project_answers_it_with_its_etag(
    client: FlaskClient, auth: Headers, create: Create
) -> None:
    project = create("projects", name="Readable")

    response = client.get(f"/v1/projects/{project['id']}", headers=auth)

    assert response.status_code == 200
    assert response.get_json() == project
    assert response.headers["ETag"] == '"1"'


def test_a_current_etag_in_if_none_match_is_304(
    client: FlaskClient, auth: Headers, create: Create
) -> None:
    project = create("projects", name="Cached")

    response = client.get(
        f"/v1/projects/{project['id']}", headers={**auth, "If-None-Match": '"1"'}
    )

    assert response.status_code == 304
    assert response.data == b""
    assert response.headers["ETag"] == '"1"'
    assert response.headers["X-Request-Id"]


def test_a_project_of_another_workspace_does_not_exist(
    client: FlaskClient, stranger_auth: Headers, create: Create
) -> None:
    project = create("projects", name="Private")

    response = client.get(f"/v1/projects/{project['id']}", headers=stranger_auth)

    body = assert_error(response, 404, "Not Found")
    missing = assert_error(
        client.get("/v1/projects/proj_missing", headers=stranger_auth),
        404,
        "Not Found",
    )
    assert body["message"].replace(project["id"], "ID") == missing["message"].replace(
        "proj_missing", "ID"
    )


def test_renaming_a_project_changes_its_name_updated_at_and_etag(
    client: FlaskClient, auth: Headers, create: Create
) -> None:
    project = create("projects", name="Old", description="Kept")

    response = client.patch(
        f"/v1/projects/{project['id']}", json={"name": "New"}, headers=auth
    )

    assert response.status_code == 200
    changed = response.get_json()
    assert changed["name"] == "New"
    assert changed["description"] == "Kept"
    assert changed["updatedAt"] >= project["updatedAt"]
    assert response.headers["ETag"] == '"2"'


def test_a_null_description_clears_it(
    client: FlaskClient, auth: Headers, create: Create
) -> None:
    project = create("projects", name="Described", description="Soon gone")

    response = client.patch(
        f"/v1/projects/{project['id']}", json={"description": None}, headers=auth
    )

    assert response.status_code == 200
    assert response.get_json()["description"] is None
    assert response.get_json()["name"] == "Described"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body"),
        ({"name": None}, "name"),
        ({"name": ""}, "name"),
        ({"description": 3}, "description"),
        ({"name": "ok", "jobCount": 3}, "jobCount"),
    ],
)
def test_an_invalid_change_is_400(
    client: FlaskClient,
    auth: Headers,
    create: Create,
    body: dict[str, Any],
    field: str,
) -> None:
    project = create("projects", name="Stable")

    response = client.patch(f"/v1/projects/{project['id']}", json=body, headers=auth)

    assert field in assert_error(response, 400, "Bad Request")["details"]


def test_changing_a_missing_project_is_404(client: FlaskClient, auth: Headers) -> None:
    response = client.patch(
        "/v1/projects/proj_missing", json={"name": "x"}, headers=auth
    )

    assert_error(response, 404, "Not Found")


@pytest.mark.parametrize("if_match", ['"1"', '"7", "1"', "*"])
def test_a_matching_if_match_lets_the_change_through(
    client: FlaskClient, auth: Headers, create: Create, if_match: str
) -> None:
    project = create("projects", name="Guarded")

    response = client.patch(
        f"/v1/projects/{project['id']}",
        json={"name": "Changed"},
        headers={**auth, "If-Match": if_match},
    )

    assert response.status_code == 200


@pytest.mark.parametrize("if_match", ['"2"', 'W/"1"', "1", '"one"', ""])
def test_a_stale_or_weak_if_match_is_412_and_changes_nothing(
    client: FlaskClient, auth: Headers, create: Create, if_match: str
) -> None:
    project = create("projects", name="Guarded")

    response = client.patch(
        f"/v1/projects/{project['id']}",
        json={"name": "Changed"},
        headers={**auth, "If-Match": if_match},
    )

    assert_error(response, 412, "Precondition Failed")
    current = client.get(f"/v1/projects/{project['id']}", headers=auth).get_json()
    assert current == project


def test_deleting_a_project_answers_its_id_and_then_404(
    client: FlaskClient, auth: Headers, create: Create
) -> None:
    project = create("projects", name="Doomed")

    first = client.delete(f"/v1/projects/{project['id']}", headers=auth)
    second = client.delete(f"/v1/projects/{project['id']}", headers=auth)

    assert first.status_code == 200
    assert first.get_json() == {"id": project["id"], "deleted": True}
    assert_error(second, 404, "Not Found")
    assert_error(
        client.get(f"/v1/projects/{project['id']}", headers=auth), 404, "Not Found"
    )


def test_deleting_with_a_stale_if_match_is_412_and_keeps_the_project(
    client: FlaskClient, auth: Headers, create: Create
) -> None:
    project = create("projects", name="Kept")
    client.patch(f"/v1/projects/{project['id']}", json={"name": "v2"}, headers=auth)

    response = client.delete(
        f"/v1/projects/{project['id']}", headers={**auth, "If-Match": '"1"'}
    )

    assert_error(response, 412, "Precondition Failed")
    assert client.get(f"/v1/projects/{project['id']}", headers=auth).status_code == 200


def test_deleting_a_project_keeps_its_jobs_and_tasks_unassigned(
    client: FlaskClient, auth: Headers, create: Create
) -> None:
    project = create("projects", name="Container")
    job = create("jobs", name="Crawl")
    task = create("tasks", name="Review")
    client.post(
        f"/v1/projects/{project['id']}/jobs", json={"jobId": job["id"]}, headers=auth
    )
    client.post(
        f"/v1/projects/{project['id']}/tasks", json={"taskId": task["id"]}, headers=auth
    )

    client.delete(f"/v1/projects/{project['id']}", headers=auth)

    assert (
        client.get(f"/v1/jobs/{job['id']}", headers=auth).get_json()["projectId"]
        is None
    )
    assert (
        client.get(f"/v1/tasks/{task['id']}", headers=auth).get_json()["projectId"]
        is None
    )


# Assignments.


def test_assigning_a_job_counts_it_in_the_project(
    client: FlaskClient, auth: Headers, create: Create
) -> None:
    project = create("projects", name="Home")
    job = create("jobs", name="Crawl")

    response = client.post(
        f"/v1/projects/{project['id']}/jobs", json={"jobId": job["id"]}, headers=auth
    )

    assert response.status_code == 200
    assert response.get_json()["jobCount"] == 1
    assert response.get_json()["updatedAt"] == project["updatedAt"]
    assert response.headers["ETag"]
    shown = client.get(f"/v1/jobs/{job['id']}", headers=auth).get_json()
    assert shown["projectId"] == project["id"]


def test_assigning_a_job_again_to_its_project_changes_nothing(
    client: FlaskClient, auth: Headers, create: Create
) -> None:
    project = create("projects", name="Home")
    job = create("jobs", name="Crawl")
    path = f"/v1/projects/{project['id']}/jobs"
    first = client.post(path, json={"jobId": job["id"]}, headers=auth)

    second = client.post(path, json={"jobId": job["id"]}, headers=auth)

    assert second.status_code == 200
    assert second.get_json() == first.get_json()
    assert second.headers["ETag"] == first.headers["ETag"]


def test_a_job_in_another_project_is_not_taken(
    client: FlaskClient, auth: Headers, create: Create
) -> None:
    first = create("projects", name="First")
    second = create("projects", name="Second")
    job = create("jobs", name="Crawl")
    client.post(
        f"/v1/projects/{first['id']}/jobs", json={"jobId": job["id"]}, headers=auth
    )

    response = client.post(
        f"/v1/projects/{second['id']}/jobs", json={"jobId": job["id"]}, headers=auth
    )

    body = assert_error(response, 409, "Conflict")
    assert (
        body["message"] == f"{job['id']} is already assigned to project {first['id']}"
    )


@pytest.mark.parametrize("body", [{}, {"jobId": 5}, {"jobId": None}, {"job": "x"}])
def test_an_invalid_job_assignment_is_400(
    client: FlaskClient, auth: Headers, create: Create, body: dict[str, Any]
) -> None:
    project = create("projects", name="Home")

    response = client.post(
        f"/v1/projects/{project['id']}/jobs", json=body, headers=auth
    )

    assert_error(response, 400, "Bad Request")


def test_assigning_a_missing_job_is_404(
    client: FlaskClient, auth: Headers, create: Create
) -> None:
    project = create("projects", name="Home")

    response = client.post(
        f"/v1/projects/{project['id']}/jobs",
        json={"jobId": "job_missing"},
        headers=auth,
    )

    assert "job_missing" in assert_error(response, 404, "Not Found")["message"]


def test_a_job_of_another_workspace_cannot_be_assigned(
    client: FlaskClient, auth: Headers, stranger_auth: Headers, create: Create
) -> None:
    project = create("projects", name="Home")
    foreign = client.post("/v1/jobs", json={"name": "Theirs"}, headers=stranger_auth)

    response = client.post(
        f"/v1/projects/{project['id']}/jobs",
        json={"jobId": foreign.get_json()["id"]},
        headers=auth,
    )

    assert_error(response, 404, "Not Found")


def test_unassigning_a_job_frees_it(
    client: FlaskClient, auth: Headers, create: Create
) -> None:
    project = create("projects", name="Home")
    job = create("jobs", name="Crawl")
    client.post(
        f"/v1/projects/{project['id']}/jobs", json={"jobId": job["id"]}, headers=auth
    )

    response = client.delete(
        f"/v1/projects/{project['id']}/jobs/{job['id']}", headers=auth
    )

    assert response.status_code == 200
    assert response.get_json()["jobCount"] == 0
    shown = client.get(f"/v1/jobs/{job['id']}", headers=auth).get_json()
    assert shown["projectId"] is None


def test_unassigning_a_job_that_is_not_in_the_project_is_404(
    client: FlaskClient, auth: Headers, create: Create
) -> None:
    project = create("projects", name="Home")
    job = create("jobs", name="Loose")

    response = client.delete(
        f"/v1/projects/{project['id']}/jobs/{job['id']}", headers=auth
    )

    assert_error(response, 404, "Not Found")


def test_assigning_and_unassigning_a_task(
    client: FlaskClient, auth: Headers, create: Create
) -> None:
    project = create("projects", name="Home")
    task = create("tasks", name="Review")

    assigned = client.post(
        f"/v1/projects/{project['id']}/tasks", json={"taskId": task["id"]}, headers=auth
    )
    unassigned = client.delete(
        f"/v1/projects/{project['id']}/tasks/{task['id']}", headers=auth
    )

    assert assigned.status_code == 200
    assert assigned.get_json()["taskCount"] == 1
    assert unassigned.status_code == 200
    assert unassigned.get_json()["taskCount"] == 0


def test_a_task_in_another_project_is_409(
    client: FlaskClient, auth: Headers, create: Create
) -> None:
    first = create("projects", name="First")
    second = create("projects", name="Second")
    task = create("tasks", name="Review")
    client.post(
        f"/v1/projects/{first['id']}/tasks", json={"taskId": task["id"]}, headers=auth
    )

    response = client.post(
        f"/v1/projects/{second['id']}/tasks", json={"taskId": task["id"]}, headers=auth
    )

    body = assert_error(response, 409, "Conflict")
    assert body["message"] == (
        f"{task['id']} is already assigned to project {first['id']}"
    )


def test_an_archived_task_cannot_be_added_to_a_project(
    client: FlaskClient, auth: Headers, create: Create
) -> None:
    project = create("projects", name="Home")
    task = create("tasks", name="Old")
    client.delete(f"/v1/tasks/{task['id']}", headers=auth)

    response = client.post(
        f"/v1/projects/{project['id']}/tasks", json={"taskId": task["id"]}, headers=auth
    )

    assert task["id"] in assert_error(response, 400, "Bad Request")["message"]


def test_unassigning_a_task_that_is_not_in_the_project_is_404(
    client: FlaskClient, auth: Headers, create: Create
) -> None:
    project = create("projects", name="Home")
    task = create("tasks", name="Loose")

    response = client.delete(
        f"/v1/projects/{project['id']}/tasks/{task['id']}", headers=auth
    )

    assert_error(response, 404, "Not Found")


# Jobs and tasks.


def test_creating_a_job_answers_201_with_location(
    client: FlaskClient, auth: Headers, key: Any
) -> None:
    response = client.post("/v1/jobs", json={"name": " Crawl "}, headers=auth)

    assert response.status_code == 201
    job = response.get_json()
    assert set(job) == JOB_FIELDS
    assert job["id"].startswith("job_")
    assert job["name"] == "Crawl"
    assert job["workspaceId"] == key.workspace_id
    assert job["projectId"] is None
    assert TIMESTAMP.fullmatch(job["createdAt"])
    assert response.headers["Location"] == f"/v1/jobs/{job['id']}"


@pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": 1}, {"name": "a", "b": 1}])
def test_an_invalid_job_is_400(
    client: FlaskClient, auth: Headers, body: dict[str, Any]
) -> None:
    response = client.post("/v1/jobs", json=body, headers=auth)

    assert assert_error(response, 400, "Bad Request")["details"]


def test_getting_jobs_and_tasks(
    client: FlaskClient, auth: Headers, create: Create
) -> None:
    job = create("jobs", name="Crawl")
    task = create("tasks", name="Review", description="Read it")

    assert client.get(f"/v1/jobs/{job['id']}", headers=auth).get_json() == job
    assert client.get(f"/v1/tasks/{task['id']}", headers=auth).get_json() == task
    assert_error(client.get("/v1/jobs/job_missing", headers=auth), 404, "Not Found")
    assert_error(client.get("/v1/tasks/task_missing", headers=auth), 404, "Not Found")


def test_creating_a_task_answers_201_with_location(
    client: FlaskClient, auth: Headers
) -> None:
    response = client.post(
        "/v1/tasks", json={"name": "Review", "description": "Read"}, headers=auth
    )

    assert response.status_code == 201
    task = response.get_json()
    assert set(task) == TASK_FIELDS
    assert task["id"].startswith("task_")
    assert task["description"] == "Read"
    assert (task["archived"], task["archivedAt"], task["projectId"]) == (
        False,
        None,
        None,
    )
    assert response.headers["Location"] == f"/v1/tasks/{task['id']}"


def test_deleting_a_task_archives_it_and_keeps_its_project(
    client: FlaskClient, auth: Headers, create: Create
) -> None:
    project = create("projects", name="Home")
    task = create("tasks", name="Review")
    client.post(
        f"/v1/projects/{project['id']}/tasks", json={"taskId": task["id"]}, headers=auth
    )

    first = client.delete(f"/v1/tasks/{task['id']}", headers=auth)
    second = client.delete(f"/v1/tasks/{task['id']}", headers=auth)

    assert first.status_code == 200
    archived = first.get_json()
    assert archived["archived"] is True
    assert TIMESTAMP.fullmatch(archived["archivedAt"])
    assert archived["projectId"] == project["id"]
    assert second.status_code == 200
    assert second.get_json() == archived


def test_archiving_a_missing_task_is_404(client: FlaskClient, auth: Headers) -> None:
    response = client.delete("/v1/tasks/task_missing", headers=auth)

    assert_error(response, 404, "Not Found")


# Lists.


def test_a_list_answers_data_and_pagination_newest_first(
    client: FlaskClient, auth: Headers, create: Create
) -> None:
    created = [create("projects", name=f"P{number}") for number in range(3)]

    response = client.get("/v1/projects", headers=auth)

    assert response.status_code == 200
    body = response.get_json()
    assert [project["id"] for project in body["data"]] == in_list_order(created)
    assert body["pagination"] == {
        "page": 1,
        "limit": 20,
        "total": 3,
        "totalPages": 1,
        "hasMore": False,
        "nextCursor": None,
    }


def test_pages_by_number_cover_the_list(
    client: FlaskClient, auth: Headers, create: Create
) -> None:
    created = [create("jobs", name=f"J{number}") for number in range(5)]

    second = client.get("/v1/jobs?page=2&limit=2", headers=auth).get_json()
    past_the_end = client.get("/v1/jobs?page=9&limit=2", headers=auth)

    assert [job["id"] for job in second["data"]] == in_list_order(created)[2:4]
    assert second["pagination"]["totalPages"] == 3
    assert second["pagination"]["hasMore"] is True
    assert past_the_end.status_code == 200
    assert past_the_end.get_json()["data"] == []


def test_following_next_cursor_reads_every_item_once(
    client: FlaskClient, auth: Headers, create: Create
) -> None:
    created = [create("tasks", name=f"T{number}") for number in range(5)]
    seen: list[str] = []

    body = client.get("/v1/tasks?limit=2", headers=auth).get_json()
    seen += [task["id"] for task in body["data"]]
    while body["pagination"]["nextCursor"] is not None:
        cursor = body["pagination"]["nextCursor"]
        body = client.get(
            "/v1/tasks", query_string={"cursor": cursor, "limit": 2}, headers=auth
        ).get_json()
        seen += [task["id"] for task in body["data"]]

    assert seen == in_list_order(created)


def test_a_list_can_be_narrowed_to_one_project(
    client: FlaskClient, auth: Headers, create: Create
) -> None:
    project = create("projects", name="Home")
    inside = create("jobs", name="Inside")
    create("jobs", name="Outside")
    client.post(
        f"/v1/projects/{project['id']}/jobs", json={"jobId": inside["id"]}, headers=auth
    )

    response = client.get(
        "/v1/jobs", query_string={"projectId": project["id"]}, headers=auth
    )

    assert [job["id"] for job in response.get_json()["data"]] == [inside["id"]]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=abc", "page"),
        ("page=1.5", "page"),
        ("page=", "page"),
        ("page=%2B1", "page"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=abc", "limit"),
        ("limit=", "limit"),
        ("limit=2.0", "limit"),
        ("page=1&cursor=abc", "cursor"),
        ("cursor=not-a-cursor", "cursor"),
    ],
)
def test_bad_page_limit_or_cursor_is_400_with_details(
    client: FlaskClient, auth: Headers, query: str, field: str
) -> None:
    for path in ("/v1/projects", "/v1/jobs", "/v1/tasks"):
        response = client.get(f"{path}?{query}", headers=auth)

        assert field in assert_error(response, 400, "Bad Request")["details"]


def test_a_cursor_of_another_list_is_refused(
    client: FlaskClient, auth: Headers, create: Create
) -> None:
    for number in range(3):
        create("jobs", name=f"J{number}")
    cursor = client.get("/v1/jobs?limit=1", headers=auth).get_json()["pagination"][
        "nextCursor"
    ]

    response = client.get("/v1/tasks", query_string={"cursor": cursor}, headers=auth)

    assert "cursor" in assert_error(response, 400, "Bad Request")["details"]


# Failures of the service itself.


def test_health_answers_ok(client: FlaskClient) -> None:
    response = client.get("/health")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_an_unreachable_store_is_503_with_retry_after(services: Any) -> None:
    def unreachable() -> None:
        raise OperationalError("connection refused to postgres://secret@db")

    client = create_app(services.application, services.identity, unreachable)
    response = client.test_client().get("/health")

    body = assert_error(response, 503, "Service Unavailable")
    assert response.headers["Retry-After"] == "2"
    assert "secret" not in body["message"]


def test_contention_is_503_with_retry_after(
    client: FlaskClient,
    services: Any,
    auth: Headers,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def contended(*args: Any, **kwargs: Any) -> None:
        raise ContentionError("the resources kept changing concurrently")

    monkeypatch.setattr(services.application, "create_job", contended)

    response = client.post("/v1/jobs", json={"name": "Busy"}, headers=auth)

    assert_error(response, 503, "Service Unavailable")
    assert response.headers["Retry-After"] == "1"


def test_an_unexpected_failure_is_500_logged_once_and_never_shown(
    client: FlaskClient,
    services: Any,
    auth: Headers,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("SELECT * FROM secrets WHERE key = 'sk_live'")

    monkeypatch.setattr(services.application, "get_job", broken)

    with caplog.at_level(logging.ERROR):
        response = client.get("/v1/jobs/job_any", headers=auth)

    body = assert_error(response, 500, "Internal Server Error")
    assert "SELECT" not in json.dumps(body)
    assert "Traceback" not in response.get_data(as_text=True)
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert errors[0].exc_info is not None


def test_each_request_is_logged_at_debug_with_its_id(
    client: FlaskClient, auth: Headers, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="api.requests"):
        client.get("/v1/projects", headers={**auth, "X-Request-Id": "log-me"})

    lines = [record.getMessage() for record in caplog.records]
    assert any("log-me" in line and "GET /v1/projects" in line for line in lines)


# Documentation.


def test_the_openapi_document_lists_every_path_and_method(client: FlaskClient) -> None:
    response = client.get("/v1/openapi.json")

    document = response.get_json()
    operations = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method != "parameters"
    }
    assert document["openapi"].startswith("3.")
    assert operations >= {
        ("POST", "/v1/projects"),
        ("GET", "/v1/projects"),
        ("GET", "/v1/projects/{id}"),
        ("PATCH", "/v1/projects/{id}"),
        ("DELETE", "/v1/projects/{id}"),
        ("POST", "/v1/projects/{id}/jobs"),
        ("DELETE", "/v1/projects/{id}/jobs/{jobId}"),
        ("POST", "/v1/projects/{id}/tasks"),
        ("DELETE", "/v1/projects/{id}/tasks/{taskId}"),
        ("POST", "/v1/jobs"),
        ("GET", "/v1/jobs"),
        ("GET", "/v1/jobs/{id}"),
        ("POST", "/v1/tasks"),
        ("GET", "/v1/tasks"),
        ("GET", "/v1/tasks/{id}"),
        ("DELETE", "/v1/tasks/{id}"),
    }


def test_the_openapi_document_describes_the_error_body(client: FlaskClient) -> None:
    document = client.get("/v1/openapi.json").get_json()

    error = document["components"]["schemas"]["Error"]
    conflict = document["paths"]["/v1/projects/{id}/jobs"]["post"]["responses"]["409"]
    assert set(error["properties"]) == {"error", "message", "requestId", "details"}
    assert conflict["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }


def test_the_docs_page_works_offline(client: FlaskClient) -> None:
    page = client.get("/docs").get_data(as_text=True)
    scripts = re.findall(r'(?:src|href)="([^"]+)"', page)

    assert scripts
    for script in scripts:
        assert script.startswith("/docs/static/")
        assert client.get(script).status_code == 200


def test_the_app_keeps_its_services_in_its_extensions(services: Any) -> None:
    app: Flask = create_app(services.application, services.identity)

    kept = app.extensions["sokosumi_projects"]

    assert kept.application is services.application
    assert kept.identity is services.identity
