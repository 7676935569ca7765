"""Every status the OpenAPI document names for an operation is one it really gives.

The fuzzing tests check the other direction (no answer the document does
not name). Here each documented status of each operation is provoked on
purpose, with a request made for it, and must come back; a documented status
that no request can provoke is a lie of the document, and fails too.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from eventsourcing.persistence import OperationalError
from flask.testing import FlaskClient

from api.app import create_app
from infrastructure.settings import Settings
from infrastructure.wiring import Services, build_services
from tests.servers import ServerProcess

Response = Any


@dataclass
class Scene:
    """Resources made for one probe, so that no probe spoils another's."""

    project: str
    other_project: str
    placed_job: str
    placed_task: str
    free_job: str
    free_task: str


@dataclass
class World:
    """What the probes need: clients, a key, and another user's workspace."""

    client: FlaskClient
    unreachable: FlaskClient
    auth: dict[str, str]
    foreign_workspace: str

    def send(
        self,
        method: str,
        path: str,
        *,
        client: FlaskClient | None = None,
        headers: dict[str, str] | None = None,
        **options: Any,
    ) -> Response:
        sent = {**self.auth, **(headers or {})}
        return (client or self.client).open(
            path, method=method, headers=sent, buffered=False, **options
        )

    def scene(self) -> Scene:
        """A project holding a job and a task, another project, a free job and task."""

        def created(kind: str) -> str:
            response = self.send("POST", f"/v1/{kind}", json={"name": "Probe"})
            assert response.status_code == 201, response.get_json()
            identifier: str = response.get_json()["id"]
            return identifier

        scene = Scene(
            project=created("projects"),
            other_project=created("projects"),
            placed_job=created("jobs"),
            placed_task=created("tasks"),
            free_job=created("jobs"),
            free_task=created("tasks"),
        )
        for kind, field_name, member in (
            ("jobs", "jobId", scene.placed_job),
            ("tasks", "taskId", scene.placed_task),
        ):
            response = self.send(
                "POST",
                f"/v1/projects/{scene.project}/{kind}",
                json={field_name: member},
            )
            assert response.status_code == 200, response.get_json()
        return scene


class UnreachableStore:
    """An identity directory, and a store check, whose database does not answer."""

    def authenticate(self, api_key: str) -> None:
        raise OperationalError("connection refused")

    def look_up(self, api_key: str) -> UnreachableStore:
        return self

    def principal(self) -> None:
        raise OperationalError("connection refused")

    def presumed(self) -> None:
        return None

    def cancel(self) -> None:
        return None

    def is_member(self, user_id: str, workspace_id: str) -> bool:
        raise OperationalError("connection refused")

    def check(self) -> None:
        raise OperationalError("connection refused")


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    services = build_services(Settings.from_environ({"DATABASE_URL": "memory://"}))
    yield _world(services)
    services.close()


def _world(services: Services) -> World:
    key = services.create_key("prober@example.com", f"probes-{uuid.uuid4().hex[:6]}")
    stranger = services.create_key("stranger@example.com", "elsewhere")
    app = create_app(services.application, services.identity, services.check_store)
    down = UnreachableStore()
    unreachable = create_app(services.application, down, down.check).test_client()
    return World(
        client=app.test_client(),
        unreachable=unreachable,
        auth={"Authorization": f"Bearer {key.api_key}"},
        foreign_workspace=stranger.workspace_id,
    )


def documented_operations(world: World) -> dict[tuple[str, str], set[int]]:
    """Each operation of the document, with the statuses it names."""
    document = world.client.get("/v1/openapi.json").get_json()
    found = {}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            statuses = {int(code) for code in operation["responses"] if code.isdigit()}
            found[method.upper(), path] = statuses
    return found


# How to provoke each status. A recipe takes the world and the operation's
# path with its parameters filled in, and sends one request.

Recipe = Callable[[World, Scene, str, str], Response]

MISSING = "proj_00000000000000000000000000"


def fill(scene: Scene, path: str, *, missing: bool = False) -> str:
    """The path with ids of the right kind: the scene's, or missing ones."""
    values = {
        "{id}": MISSING if missing else scene.project,
        "{jobId}": scene.placed_job,
        "{taskId}": scene.placed_task,
    }
    if path.startswith("/v1/jobs/"):
        values["{id}"] = "job_00000000000000000000000000" if missing else scene.free_job
    if path.startswith("/v1/tasks/"):
        values["{id}"] = (
            "task_00000000000000000000000000" if missing else scene.free_task
        )
    for name, value in values.items():
        path = path.replace(name, value)
    return path


BODIES = {
    ("POST", "/v1/projects"): {"name": "Probed"},
    ("PATCH", "/v1/projects/{id}"): {"name": "Probed"},
    ("POST", "/v1/projects/{id}/jobs"): "free_job",
    ("POST", "/v1/projects/{id}/tasks"): "free_task",
    ("POST", "/v1/jobs"): {"name": "Probed"},
    ("POST", "/v1/tasks"): {"name": "Probed"},
}


def body_for(scene: Scene, method: str, template: str) -> dict[str, Any] | None:
    body = BODIES.get((method, template))
    if body == "free_job":
        return {"jobId": scene.free_job}
    if body == "free_task":
        return {"taskId": scene.free_task}
    return body if isinstance(body, dict) else None


def succeed(world: World, scene: Scene, method: str, template: str) -> Response:
    return world.send(
        method, fill(scene, template), json=body_for(scene, method, template)
    )


def unauthenticated(world: World, scene: Scene, method: str, template: str) -> Response:
    return world.client.open(fill(scene, template), method=method, buffered=False)


def foreign_workspace(
    world: World, scene: Scene, method: str, template: str
) -> Response:
    return world.send(
        method,
        fill(scene, template),
        headers={"X-Workspace-Id": world.foreign_workspace},
        json=body_for(scene, method, template),
    )


def store_unreachable(
    world: World, scene: Scene, method: str, template: str
) -> Response:
    return world.send(
        method,
        fill(scene, template),
        client=world.unreachable,
        json=body_for(scene, method, template),
    )


def missing(world: World, scene: Scene, method: str, template: str) -> Response:
    return world.send(
        method,
        fill(scene, template, missing=True),
        json=body_for(scene, method, template),
    )


def invalid(world: World, scene: Scene, method: str, template: str) -> Response:
    path = fill(scene, template)
    if body_for(scene, method, template) is not None:
        return world.send(method, path, json={"unexpected": True})
    queries = {
        "/v1/projects/{id}": "asOf=yesterday",
        "/v1/events/stream": "after=minus-one",
    }
    return world.send(method, path, query_string=queries.get(template, "limit=0"))


def too_large(world: World, scene: Scene, method: str, template: str) -> Response:
    big = b'{"name": "' + b"x" * (64 * 1024) + b'"}'
    return world.send(
        method,
        fill(scene, template),
        data=big,
        headers={"Content-Type": "application/json"},
    )


def wrong_media_type(
    world: World, scene: Scene, method: str, template: str
) -> Response:
    return world.send(
        method,
        fill(scene, template),
        data=b"name=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


def conflict(world: World, scene: Scene, method: str, template: str) -> Response:
    other = fill(scene, template).replace(scene.project, scene.other_project)
    if template.endswith("/jobs"):
        return world.send(method, other, json={"jobId": scene.placed_job})
    return world.send(method, other, json={"taskId": scene.placed_task})


def stale(world: World, scene: Scene, method: str, template: str) -> Response:
    return world.send(
        method,
        fill(scene, template),
        headers={"If-Match": '"999"'},
        json=body_for(scene, method, template),
    )


def not_modified(world: World, scene: Scene, method: str, template: str) -> Response:
    etag = world.send("GET", fill(scene, template)).headers["ETag"]
    return world.send(method, fill(scene, template), headers={"If-None-Match": etag})


RECIPES: dict[int, Recipe] = {
    304: not_modified,
    400: invalid,
    401: unauthenticated,
    403: foreign_workspace,
    404: missing,
    409: conflict,
    412: stale,
    413: too_large,
    415: wrong_media_type,
    503: store_unreachable,
}
OPEN_OPERATIONS = {("GET", "/health")}
# Answered by the server before the app reads the request: see the last test.
SERVED_ONLY = {414, 431}


def status_of(response: Response) -> int:
    status: int = response.status_code
    response.close()
    return status


def test_every_documented_status_of_every_operation_really_comes(
    world: World,
) -> None:
    operations = documented_operations(world)
    problems = []

    def provoke(method: str, template: str, status: int, recipe: Recipe) -> None:
        got = status_of(recipe(world, world.scene(), method, template))
        if got != status:
            problems.append(f"{method} {template}: {recipe.__name__} gave {got}")

    # Errors first, while every resource is as the world made it; then the
    # successes, those that delete or archive last.
    for (method, template), statuses in sorted(operations.items()):
        for status in sorted(code for code in statuses - SERVED_ONLY if code >= 300):
            recipe = RECIPES.get(status)
            if recipe is None:
                problems.append(f"{method} {template}: no way to provoke {status}")
            else:
                provoke(method, template, status, recipe)
    for (method, template), statuses in sorted(
        operations.items(), key=lambda item: (item[0][0] == "DELETE", item[0])
    ):
        for status in sorted(code for code in statuses if code < 300):
            provoke(method, template, status, succeed)

    assert problems == []


def test_every_operation_behind_a_key_documents_what_any_request_may_get(
    world: World,
) -> None:
    operations = documented_operations(world)

    undocumented = {
        f"{method} {template}": sorted({401, 403, 503} - statuses)
        for (method, template), statuses in operations.items()
        if (method, template) not in OPEN_OPERATIONS and not {401, 403, 503} <= statuses
    }

    assert undocumented == {}


def test_no_operation_documents_a_body_error_without_a_body_or_parameters(
    world: World,
) -> None:
    document = world.client.get("/v1/openapi.json").get_json()

    bare = [
        f"{method.upper()} {path}"
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if method != "parameters"
        and "400" in operation["responses"]
        and "requestBody" not in operation
        and not any(
            parameter["in"] in ("query", "header")
            and not re.fullmatch(r"If-(None-)?Match", parameter["name"])
            for parameter in operation.get("parameters", [])
        )
    ]

    assert bare == []


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real server, whose gunicorn answers what the app never sees."""
    directory = tmp_path_factory.mktemp("served")
    server = ServerProcess(
        f"sqlite:///{directory / 'projects.db'}",
        directory / "server.log",
        workers=1,
        threads=2,
    )
    try:
        yield server.wait_until_ready().base_url
    finally:
        server.stop()


def test_every_operation_documents_and_gets_the_errors_of_unreadable_requests(
    world: World, served: str
) -> None:
    problems = []

    for (method, template), statuses in sorted(documented_operations(world).items()):
        if not statuses >= SERVED_ONLY:
            problems.append(f"{method} {template} documents {sorted(statuses)}")
        path = served + fill(world.scene(), template)
        long_line = requests.request(method, f"{path}?q={'a' * 5000}", timeout=10)
        long_header = requests.request(
            method, path, headers={"X-Padding": "a" * 9000}, timeout=10
        )
        for response, status in ((long_line, 414), (long_header, 431)):
            body = response.json()
            if response.status_code != status or set(body) != {
                "error",
                "message",
                "requestId",
            }:
                problems.append(f"{method} {template}: {response.status_code} {body}")

    assert problems == []
