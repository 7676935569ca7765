"""Hostile input: in every field, path segment, query parameter and header.

Whatever a request carries (SQL and shell injection, path traversal, NULs,
invalid UTF-8, huge or deeply nested JSON, wrong types, duplicate keys) it
gets a clear 4xx and changes nothing, or, where the input is a legitimate
value (a name may well read `'; DROP TABLE projects; --`), it is stored and
shown exactly as sent, and nothing else changes.
"""

from __future__ import annotations

import json
from typing import Any

from flask.testing import FlaskClient

from infrastructure.wiring import Services
from projections.registry import TABLES
from tests.security.conftest import Tenant

INJECTIONS = [
    "'; DROP TABLE projects; --",
    "' OR '1'='1",
    '" OR 1=1 --',
    "1; SELECT pg_sleep(5)",
    "proj_x' UNION SELECT secret_hash FROM api_keys --",
    "$(rm -rf /)",
    "`id`",
    "../../etc/passwd",
    "..%2F..%2Fetc%2Fpasswd",
    "%00",
    "{{7*7}}",
    "<script>alert(1)</script>",
    "\\x00\\u0000",
    "ﬁ̴̡̛͓̘͉͔̭̦͚ͧ̇̎ͮͤͪ͋ͤ",
    "🙂" * 50,
    "\u202etxt.exe",
]

# Bodies that no endpoint may accept: (description, raw bytes, expected status).
BROKEN_BODIES = [
    ("invalid UTF-8", b'{"name": "\xff\xfe"}', 400),
    ("a raw NUL", b'{"name": "a\x00b"}', 400),
    ("an escaped NUL", b'{"name": "a\\u0000b"}', 400),
    ("a lone surrogate", b'{"name": "\\ud800"}', 400),
    ("duplicate keys", b'{"name": "a", "name": "b"}', 400),
    ("deep nesting", b"[" * 50_000 + b"]" * 50_000, 413),
    (
        "deep nesting under the limit",
        b'{"name": ' + b"[" * 30_000 + b"]" * 30_000 + b"}",
        400,
    ),
    ("huge", b'{"name": "' + b"x" * 70_000 + b'"}', 413),
    ("not JSON", b"name=x", 400),
    ("truncated", b'{"name": "x"', 400),
    ("a list", b'["name"]', 400),
    ("a string", b'"name"', 400),
    ("null", b"null", 400),
    ("NaN", b'{"name": NaN}', 400),
    ("a huge number", b'{"name": ' + b"9" * 5_000 + b"}", 400),
    ("empty", b"", 400),
]

WRONG_TYPES: list[Any] = [None, 0, 1.5, True, [], {}, ["a"], {"$ne": ""}]


def state_of(services: Services, workspace_id: str) -> Any:
    """The workspace's rows in every read model, and the length of the log."""
    rows = {}
    with services.database.reading() as session:
        for table in TABLES:
            rows[table.name] = sorted(
                session.fetch(
                    f"SELECT * FROM {table.name} WHERE workspace_id = :workspace_id",
                    {"workspace_id": workspace_id},
                ),
                key=str,
            )
    return rows, services.recorder.max_notification_id()


def body_operations(tenant: Tenant) -> list[tuple[str, str, str]]:
    """Every operation that reads a body: method, path, and the field it reads."""
    return [
        ("POST", "/v1/projects", "name"),
        ("POST", "/v1/jobs", "name"),
        ("POST", "/v1/tasks", "name"),
        ("PATCH", f"/v1/projects/{tenant.project}", "name"),
        ("POST", f"/v1/projects/{tenant.other_project}/jobs", "jobId"),
        ("POST", f"/v1/projects/{tenant.other_project}/tasks", "taskId"),
    ]


def assert_error(response: Any, status: int) -> None:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    body = response.get_json()
    assert set(body) <= {"error", "message", "requestId", "details"}
    assert body["requestId"] == response.headers["X-Request-Id"]


def test_broken_bodies_get_a_4xx_and_change_nothing(
    services: Services, client: FlaskClient, owner: Tenant
) -> None:
    before = state_of(services, owner.key.workspace_id)
    headers = {**owner.auth, "Content-Type": "application/json"}

    for method, path, _ in body_operations(owner):
        for name, raw, status in BROKEN_BODIES:
            response = client.open(path, method=method, data=raw, headers=headers)
            assert response.status_code == status, (method, path, name)
            assert_error(response, status)

    assert state_of(services, owner.key.workspace_id) == before


def test_wrong_types_and_unknown_fields_get_a_400_and_change_nothing(
    services: Services, client: FlaskClient, owner: Tenant
) -> None:
    before = state_of(services, owner.key.workspace_id)

    for method, path, field_name in body_operations(owner):
        bodies: list[dict[str, Any]] = [{field_name: wrong} for wrong in WRONG_TYPES]
        bodies += [{}, {field_name: "x", "workspaceId": "ws_other"}]
        if method != "PATCH":
            bodies.append({"description": "no name"})
        for body in bodies:
            response = client.open(path, method=method, json=body, headers=owner.auth)
            if body.get(field_name) is None and method == "PATCH" and body:
                continue  # `name: null` is refused too, but checked just below
            assert_error(response, 400)
    response = client.patch(
        f"/v1/projects/{owner.project}", json={"name": None}, headers=owner.auth
    )
    assert_error(response, 400)

    assert state_of(services, owner.key.workspace_id) == before


def test_injection_strings_as_names_are_kept_exactly_and_change_nothing_else(
    services: Services, client: FlaskClient, owner: Tenant
) -> None:
    before = state_of(services, owner.key.workspace_id)[0]

    created = [
        client.post(
            "/v1/projects",
            json={"name": hostile, "description": hostile},
            headers=owner.auth,
        )
        for hostile in INJECTIONS
    ]

    after = state_of(services, owner.key.workspace_id)[0]
    for hostile, response in zip(INJECTIONS, created, strict=True):
        assert response.status_code == 201, hostile
        shown = client.get(
            f"/v1/projects/{response.get_json()['id']}", headers=owner.auth
        )
        assert shown.get_json()["name"] == hostile.strip()
        assert shown.get_json()["description"] == hostile.strip()
    new_rows = [row for row in after["projects"] if row not in before["projects"]]
    assert {row["id"] for row in new_rows} == {r.get_json()["id"] for r in created}
    assert after["jobs"] == before["jobs"]
    assert after["tasks"] == before["tasks"]


def test_injection_strings_as_ids_are_not_found_and_change_nothing(
    services: Services, client: FlaskClient, owner: Tenant
) -> None:
    before = state_of(services, owner.key.workspace_id)

    for hostile in INJECTIONS:
        _send_as_ids(client, owner, hostile)

    assert state_of(services, owner.key.workspace_id) == before


def _send_as_ids(client: FlaskClient, owner: Tenant, hostile: str) -> None:
    segment = _quoted(hostile)
    requests: list[tuple[str, str, Any]] = [
        ("GET", f"/v1/projects/{segment}", None),
        ("PATCH", f"/v1/projects/{segment}", {"name": "x"}),
        ("DELETE", f"/v1/projects/{segment}", None),
        ("GET", f"/v1/projects/{segment}/history", None),
        ("POST", f"/v1/projects/{segment}/jobs", {"jobId": owner.job}),
        ("POST", f"/v1/projects/{owner.other_project}/jobs", {"jobId": hostile}),
        ("POST", f"/v1/projects/{owner.other_project}/tasks", {"taskId": hostile}),
        ("DELETE", f"/v1/projects/{owner.project}/jobs/{segment}", None),
        ("DELETE", f"/v1/projects/{segment}/tasks/{owner.task}", None),
        ("GET", f"/v1/jobs/{segment}", None),
        ("GET", f"/v1/tasks/{segment}", None),
        ("DELETE", f"/v1/tasks/{segment}", None),
    ]

    for method, path, body in requests:
        response = client.open(path, method=method, json=body, headers=owner.auth)
        assert_error(response, 404)
        assert "Traceback" not in response.get_data(as_text=True)


def _quoted(text: str) -> str:
    """`text` as one path segment, percent-encoded as a client would send it."""
    from urllib.parse import quote

    return quote(text, safe="")


def test_injection_strings_in_query_parameters_are_refused_or_match_nothing(
    client: FlaskClient, owner: Tenant
) -> None:
    for hostile in INJECTIONS:
        _query_with(client, owner, hostile)


def _query_with(client: FlaskClient, owner: Tenant, hostile: str) -> None:
    refused = [
        ("/v1/projects", "page"),
        ("/v1/projects", "limit"),
        ("/v1/projects", "cursor"),
        ("/v1/jobs", "cursor"),
        ("/v1/events", "after"),
        ("/v1/events", "limit"),
        (f"/v1/projects/{owner.project}", "asOf"),
    ]
    filtering = [("/v1/jobs", "projectId"), ("/v1/tasks", "projectId")]

    for path, name in refused:
        response = client.get(path, query_string={name: hostile}, headers=owner.auth)
        assert_error(response, 400)
    for path, name in filtering:
        response = client.get(path, query_string={name: hostile}, headers=owner.auth)
        answered = response.get_json()
        assert response.status_code == 200 and answered["data"] == [], answered


def test_injection_strings_in_headers_are_refused_or_ignored(
    client: FlaskClient, owner: Tenant
) -> None:
    for hostile in INJECTIONS:
        _headers_with(client, owner, hostile)


def _headers_with(client: FlaskClient, owner: Tenant, hostile: str) -> None:
    header = hostile.encode("utf-8").decode("latin-1")
    path = f"/v1/projects/{owner.project}"

    as_key = client.get(path, headers={"Authorization": f"Bearer {header}"})
    as_workspace = client.get(path, headers={**owner.auth, "X-Workspace-Id": header})
    as_precondition = client.patch(
        path, json={"name": "x"}, headers={**owner.auth, "If-Match": header}
    )
    as_request_id = client.get(path, headers={**owner.auth, "X-Request-Id": header})
    as_condition = client.get(path, headers={**owner.auth, "If-None-Match": header})

    assert_error(as_key, 401)
    assert_error(as_workspace, 403)
    assert_error(as_precondition, 412)
    assert as_request_id.status_code == 200
    if not (header.isascii() and header.isprintable()):
        assert as_request_id.headers["X-Request-Id"] != header
    assert as_condition.status_code == 200


def test_a_body_of_wrong_media_type_is_refused_before_it_is_read(
    services: Services, client: FlaskClient, owner: Tenant
) -> None:
    before = state_of(services, owner.key.workspace_id)

    for method, path, field_name in body_operations(owner):
        as_form = client.open(
            path, method=method, data={field_name: "x"}, headers=owner.auth
        )
        as_text = client.open(
            path,
            method=method,
            data=json.dumps({field_name: "x"}),
            headers={**owner.auth, "Content-Type": "text/plain"},
        )
        assert_error(as_form, 415)
        assert_error(as_text, 415)

    assert state_of(services, owner.key.workspace_id) == before
