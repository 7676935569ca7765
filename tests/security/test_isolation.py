"""Keys and workspaces, for every endpoint the OpenAPI document lists.

No key, a malformed or unknown key and a revoked key all get the same 401;
another workspace (by header) gets 403 whether or not it exists; and another
workspace's ids are answered exactly as ids that do not exist. Nothing of
another workspace shows in lists, counts, feeds or error messages, and the
time a key check takes does not tell a known key id from an unknown one.
"""

from __future__ import annotations

import re
import statistics
import time
from typing import Any

import pytest
from flask.testing import FlaskClient

from infrastructure.wiring import Services
from tests.security.conftest import Tenant
from tests.variants import by_variant

Operation = tuple[str, str]
OPEN_PATHS = {"/health"}
MISSING = {
    "proj_": "proj_00000000000000000000000000",
    "job_": "job_00000000000000000000000000",
    "task_": "task_00000000000000000000000000",
}


def operations(client: FlaskClient) -> list[Operation]:
    """Every operation behind a key, as the OpenAPI document lists them."""
    document = client.get("/v1/openapi.json").get_json()
    return [
        (method.upper(), path)
        for path, methods in document["paths"].items()
        for method in methods
        if method != "parameters" and path not in OPEN_PATHS
    ]


def fill(template: str, tenant: Tenant) -> str:
    """The path with the tenant's ids of the right kind."""
    first = {"/v1/jobs/": tenant.job, "/v1/tasks/": tenant.task}
    identifier = next(
        (value for prefix, value in first.items() if template.startswith(prefix)),
        tenant.project,
    )
    return (
        template.replace("{id}", identifier)
        .replace("{jobId}", tenant.job)
        .replace("{taskId}", tenant.task)
    )


def body_of(method: str, template: str, tenant: Tenant) -> dict[str, Any] | None:
    if template.endswith("/jobs") and template != "/v1/jobs":
        return {"jobId": tenant.job}
    if template.endswith("/tasks") and template != "/v1/tasks":
        return {"taskId": tenant.task}
    if method in ("POST", "PATCH"):
        return {"name": "Anything"}
    return None


def send(
    client: FlaskClient,
    method: str,
    path: str,
    headers: dict[str, str],
    body: dict[str, Any] | None = None,
) -> Any:
    response = client.open(
        path, method=method, headers=headers, json=body, buffered=False
    )
    response.close()
    return response


def comparable(response: Any, *ids: str) -> tuple[int, dict[str, Any]]:
    """Status and body, with the request id dropped and the given ids masked."""
    body = dict(response.get_json())
    body.pop("requestId", None)
    text = body.get("message", "")
    for identifier in ids:
        text = text.replace(identifier, "<id>")
    body["message"] = text
    return response.status_code, body


def event_count(services: Services) -> int:
    return services.recorder.max_notification_id() or 0


# Keys.


@pytest.fixture
def revoked_key(services: Services) -> str:
    issued = services.create_key("revoked@example.com", "revoked-keys")
    assert services.identity.revoke_key(issued.key_id)
    return issued.api_key


def bad_credentials(owner: Tenant, revoked_key: str) -> dict[str, dict[str, str]]:
    key = owner.key.api_key
    key_id, secret = key[3:].split("_", 1)
    return {
        "no key": {},
        "not bearer": {"Authorization": f"Basic {key}"},
        "empty bearer": {"Authorization": "Bearer "},
        "malformed": {"Authorization": "Bearer sk_not-a-key"},
        "unknown key id": {"Authorization": f"Bearer sk_{'0' * 26}_{secret}"},
        "wrong secret": {"Authorization": f"Bearer sk_{key_id}_{'A' * 43}"},
        "key with a space": {"Authorization": f"Bearer {key} {key}"},
        "revoked": {"Authorization": f"Bearer {revoked_key}"},
    }


def test_every_endpoint_answers_any_bad_key_with_the_same_401(
    services: Services, client: FlaskClient, owner: Tenant, revoked_key: str
) -> None:
    before = event_count(services)
    problems = []

    for method, template in operations(client):
        path, body = fill(template, owner), body_of(method, template, owner)
        answers = {}
        for name, headers in bad_credentials(owner, revoked_key).items():
            response = send(client, method, path, headers, body)
            answers[name] = comparable(response)
            if response.status_code != 401:
                problems.append(f"{method} {template} {name}: {response.status_code}")
            elif response.headers.get("WWW-Authenticate", "").lower() != "bearer":
                problems.append(f"{method} {template} {name}: no WWW-Authenticate")
        if len({str(answer) for answer in answers.values()}) != 1:
            problems.append(f"{method} {template}: 401 bodies differ {answers}")

    assert problems == []
    assert event_count(services) == before


# Workspaces.


def test_a_workspace_the_user_is_not_in_gets_403_whether_or_not_it_exists(
    client: FlaskClient, owner: Tenant, intruder: Tenant
) -> None:
    problems = []

    for method, template in operations(client):
        path, body = fill(template, intruder), body_of(method, template, intruder)
        answers = [
            send(client, method, path, {**intruder.auth, "X-Workspace-Id": ws}, body)
            for ws in (owner.key.workspace_id, "ws_00000000000000000000000000")
        ]
        statuses = [answer.status_code for answer in answers]
        if statuses != [403, 403] or comparable(answers[0]) != comparable(answers[1]):
            problems.append(f"{method} {template}: {statuses}")

    assert problems == []


@pytest.fixture
def ghost() -> Tenant:
    """A tenant whose ids all name nothing."""
    from infrastructure.identity import IssuedKey

    return Tenant(
        key=IssuedKey("", "", "", ""),
        project=MISSING["proj_"],
        other_project=MISSING["proj_"],
        job=MISSING["job_"],
        task=MISSING["task_"],
    )


def owner_view(client: FlaskClient, owner: Tenant) -> list[Any]:
    """Everything the owner can see of their resources, and their event feed."""
    paths = [
        f"/v1/projects/{owner.project}",
        f"/v1/projects/{owner.other_project}",
        f"/v1/jobs/{owner.job}",
        f"/v1/tasks/{owner.task}",
        "/v1/events?limit=1000",
    ]
    return [client.get(path, headers=owner.auth).get_json() for path in paths]


def test_another_workspaces_ids_are_answered_exactly_as_missing_ones(
    client: FlaskClient, owner: Tenant, intruder: Tenant, ghost: Tenant
) -> None:
    before = owner_view(client, owner)
    problems = []

    for method, template in operations(client):
        body = body_of(method, template, owner)
        names_ids = "{" in template or (body is not None and "name" not in body)
        if template == "/v1/events/stream" or not names_ids:
            continue
        theirs = send(client, method, fill(template, owner), intruder.auth, body)
        missing = send(
            client,
            method,
            fill(template, ghost),
            intruder.auth,
            body_of(method, template, ghost),
        )
        seen = comparable(theirs, *owner.ids())
        expected = comparable(missing, *ghost.ids())
        if seen != expected or seen[0] != 404:
            problems.append(
                f"{method} {template}: {seen} but missing ids get {expected}"
            )

    assert problems == []
    assert owner_view(client, owner) == before


def test_an_own_project_refuses_another_workspaces_job_and_task_as_missing(
    client: FlaskClient, owner: Tenant, intruder: Tenant, ghost: Tenant
) -> None:
    project = f"/v1/projects/{intruder.other_project}"
    requests = [
        ("POST", f"{project}/jobs", {"jobId": owner.job}, {"jobId": ghost.job}),
        ("POST", f"{project}/tasks", {"taskId": owner.task}, {"taskId": ghost.task}),
    ]
    paths = [
        (f"{project}/jobs/{owner.job}", f"{project}/jobs/{ghost.job}"),
        (f"{project}/tasks/{owner.task}", f"{project}/tasks/{ghost.task}"),
    ]

    answers = [
        (
            comparable(send(client, m, p, intruder.auth, theirs), *owner.ids()),
            comparable(send(client, m, p, intruder.auth, missing), *ghost.ids()),
        )
        for m, p, theirs, missing in requests
    ] + [
        (
            comparable(send(client, "DELETE", theirs, intruder.auth), *owner.ids()),
            comparable(send(client, "DELETE", missing, intruder.auth), *ghost.ids()),
        )
        for theirs, missing in paths
    ]

    assert all(seen == expected for seen, expected in answers), answers
    assert all(seen[0] == 404 for seen, _ in answers), answers


def test_lists_counts_and_feeds_show_nothing_of_another_workspace(
    client: FlaskClient, owner: Tenant, intruder: Tenant
) -> None:
    queries = [
        "/v1/projects?limit=100",
        "/v1/jobs?limit=100",
        "/v1/tasks?limit=100",
        f"/v1/jobs?projectId={owner.project}",
        f"/v1/tasks?projectId={owner.project}",
        "/v1/events?limit=1000",
        f"/v1/projects/{intruder.project}/history?limit=100",
    ]

    answers = {query: client.get(query, headers=intruder.auth) for query in queries}

    for query, response in answers.items():
        assert response.status_code == 200, (query, response.get_json())
        text = response.get_data(as_text=True)
        leaked = [
            found for found in (*owner.ids(), owner.key.workspace_id) if found in text
        ]
        assert leaked == [], (query, leaked)
    totals = {q: answers[q].get_json()["pagination"]["total"] for q in queries[:5]}
    assert totals == {
        queries[0]: 2,
        queries[1]: 1,
        queries[2]: 1,
        queries[3]: 0,
        queries[4]: 0,
    }


def test_a_cursor_of_another_workspaces_list_is_refused(
    client: FlaskClient, owner: Tenant, intruder: Tenant
) -> None:
    first_page = client.get("/v1/projects?limit=1", headers=owner.auth).get_json()
    cursor = first_page["pagination"]["nextCursor"]

    response = client.get(
        f"/v1/projects?limit=1&cursor={cursor}", headers=intruder.auth
    )

    assert cursor is not None
    assert response.status_code == 400
    assert owner.project not in response.get_data(as_text=True)


# Timing.


def _timings(
    client: FlaskClient, headers: list[dict[str, str]], rounds: int
) -> list[list[float]]:
    """Seconds each request took, per set of headers, taken turn by turn."""
    samples: list[list[float]] = [[] for _ in headers]
    for _ in range(rounds):
        for index, sent in enumerate(headers):
            started = time.perf_counter()
            response = client.get("/v1/projects", headers=sent)
            samples[index].append(time.perf_counter() - started)
            assert response.status_code == 401
    return samples


def test_a_key_check_takes_as_long_whether_or_not_the_key_id_exists(
    client: FlaskClient, owner: Tenant, revoked_key: str
) -> None:
    credentials = bad_credentials(owner, revoked_key)
    compared = ["unknown key id", "wrong secret", "revoked"]
    headers = [credentials[name] for name in compared]
    _timings(client, headers, 20)  # warms connections and caches up

    rounds = by_variant(150, 1500)
    medians = [statistics.median(t) for t in _timings(client, headers, rounds)]

    shape = re.compile(r"^Bearer sk_[0-9a-z]{26}_[A-Za-z0-9_-]{43}$")
    assert all(shape.match(sent["Authorization"]) for sent in headers)
    fastest, slowest = min(medians), max(medians)
    assert slowest - fastest < max(0.35 * fastest, 0.0003), dict(
        zip(compared, medians, strict=True)
    )
