"""Two ways to drive the service with the same commands: its application, its API.

Both answer in one shape, `Answer`, with the status the contract gives each
outcome and the resource in the API's field names with times in
milliseconds, so that one state machine can compare either with the model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from flask.testing import FlaskClient

from application.errors import (
    ConflictError,
    ContentionError,
    InvalidInputError,
    NotFoundError,
    PreconditionFailedError,
    RuleViolationError,
)
from application.service import ProjectsApplication
from tests.conftest import Member

Resource = dict[str, Any]


@dataclass(frozen=True)
class Answer:
    """A status, the error message or the resource, as either driver got it."""

    status: int
    message: str = ""
    resource: Resource | None = None

    def shown(self) -> Resource:
        assert self.resource is not None, f"{self.status} {self.message}"
        return self.resource


@dataclass(frozen=True)
class Listing:
    """One page of a list."""

    items: list[Resource]
    total: int
    next_cursor: str | None


class Driver(Protocol):
    def create_project(
        self, caller: Member, name: str, description: str | None
    ) -> Answer: ...

    def update_project(
        self,
        caller: Member,
        project_id: str,
        changes: dict[str, Any],
        expected_version: int | None,
    ) -> Answer: ...

    def delete_project(
        self, caller: Member, project_id: str, expected_version: int | None
    ) -> Answer: ...

    def create_member(
        self, caller: Member, kind: str, name: str, description: str | None
    ) -> Answer: ...

    def archive_task(self, caller: Member, task_id: str) -> Answer: ...

    def assign(
        self, caller: Member, kind: str, project_id: str, member_id: str
    ) -> Answer: ...

    def unassign(
        self, caller: Member, kind: str, project_id: str, member_id: str
    ) -> Answer: ...

    def get(self, caller: Member, kind: str, resource_id: str) -> Answer: ...

    def list_page(
        self,
        caller: Member,
        kind: str,
        *,
        limit: int,
        page: int | None = None,
        cursor: str | None = None,
        project_id: str | None = None,
    ) -> Listing: ...


def millis(moment: datetime | None) -> int | None:
    return None if moment is None else round(moment.timestamp() * 1000)


def list_all(
    driver: Driver, caller: Member, kind: str, project_id: str | None = None
) -> Listing:
    """The whole list, page after page by cursor, with the total of its first page."""
    first = driver.list_page(caller, kind, limit=100, project_id=project_id)
    items, cursor = list(first.items), first.next_cursor
    while cursor is not None:
        page = driver.list_page(
            caller, kind, limit=100, cursor=cursor, project_id=project_id
        )
        items.extend(page.items)
        cursor = page.next_cursor
    return Listing(items, first.total, None)


# The application.

ERROR_STATUSES: list[tuple[type[Exception], int]] = [
    (NotFoundError, 404),
    (ConflictError, 409),
    (RuleViolationError, 400),
    (InvalidInputError, 400),
    (PreconditionFailedError, 412),
    (ContentionError, 503),
]


def _view_resource(view: Any) -> Resource:
    """A view of the application in the API's field names."""
    resource: Resource = {
        "id": view.id,
        "workspaceId": view.workspace_id,
        "name": view.name,
        "createdAt": millis(view.created_at),
        "updatedAt": millis(view.updated_at),
    }
    if hasattr(view, "job_count"):
        resource |= {
            "description": view.description,
            "jobCount": view.job_count,
            "taskCount": view.task_count,
            "version": view.version,
        }
    else:
        resource["projectId"] = view.project_id
    if hasattr(view, "archived_at"):
        resource["description"] = view.description
        resource["archivedAt"] = millis(view.archived_at)
    return resource


class ApplicationDriver:
    """Calls ProjectsApplication directly and maps its errors as the API does."""

    def __init__(self, application: ProjectsApplication) -> None:
        self.application = application

    def _answer(self, command: Callable[[], Any], status: int = 200) -> Answer:
        try:
            result = command()
        except Exception as error:
            for kind, error_status in ERROR_STATUSES:
                if isinstance(error, kind):
                    return Answer(error_status, str(error))
            raise
        if isinstance(result, str):
            return Answer(status, resource={"id": result, "deleted": True})
        return Answer(status, resource=_view_resource(result))

    def create_project(
        self, caller: Member, name: str, description: str | None
    ) -> Answer:
        return self._answer(
            lambda: self.application.create_project(caller.actor, name, description),
            201,
        )

    def update_project(
        self,
        caller: Member,
        project_id: str,
        changes: dict[str, Any],
        expected_version: int | None,
    ) -> Answer:
        expected = None if expected_version is None else frozenset({expected_version})
        return self._answer(
            lambda: self.application.update_project(
                caller.actor,
                project_id,
                name=changes.get("name"),
                description=changes.get("description"),
                change_description="description" in changes,
                expected_versions=expected,
            )
        )

    def delete_project(
        self, caller: Member, project_id: str, expected_version: int | None
    ) -> Answer:
        expected = None if expected_version is None else frozenset({expected_version})
        return self._answer(
            lambda: self.application.delete_project(
                caller.actor, project_id, expected_versions=expected
            )
        )

    def create_member(
        self, caller: Member, kind: str, name: str, description: str | None
    ) -> Answer:
        if kind == "jobs":
            return self._answer(
                lambda: self.application.create_job(caller.actor, name), 201
            )
        return self._answer(
            lambda: self.application.create_task(caller.actor, name, description), 201
        )

    def archive_task(self, caller: Member, task_id: str) -> Answer:
        return self._answer(
            lambda: self.application.archive_task(caller.actor, task_id)
        )

    def assign(
        self, caller: Member, kind: str, project_id: str, member_id: str
    ) -> Answer:
        command = (
            self.application.assign_job
            if kind == "jobs"
            else self.application.assign_task
        )
        return self._answer(lambda: command(caller.actor, project_id, member_id))

    def unassign(
        self, caller: Member, kind: str, project_id: str, member_id: str
    ) -> Answer:
        command = (
            self.application.unassign_job
            if kind == "jobs"
            else self.application.unassign_task
        )
        return self._answer(lambda: command(caller.actor, project_id, member_id))

    def get(self, caller: Member, kind: str, resource_id: str) -> Answer:
        query = {
            "projects": self.application.get_project,
            "jobs": self.application.get_job,
            "tasks": self.application.get_task,
        }[kind]
        return self._answer(lambda: query(caller.actor, resource_id))

    def list_page(
        self,
        caller: Member,
        kind: str,
        *,
        limit: int,
        page: int | None = None,
        cursor: str | None = None,
        project_id: str | None = None,
    ) -> Listing:
        if kind == "projects":
            found = self.application.list_projects(caller.actor, limit, page, cursor)
        elif kind == "jobs":
            found = self.application.list_jobs(
                caller.actor, limit, page, cursor, project_id
            )
        else:
            found = self.application.list_tasks(
                caller.actor, limit, page, cursor, project_id
            )
        return Listing(
            [_view_resource(item) for item in found.items],
            found.total,
            found.next_cursor,
        )


# The HTTP API.


def parse_time(text: str | None) -> int | None:
    if text is None:
        return None
    assert text.endswith("Z") and len(text) == 24, text
    moment = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return millis(moment)


def _api_resource(body: dict[str, Any], etag: str | None) -> Resource:
    resource = dict(body)
    for name in ("createdAt", "updatedAt", "archivedAt"):
        if name in resource:
            resource[name] = parse_time(resource[name])
    if "jobCount" in resource:
        assert etag is not None and etag.startswith('"'), etag
        resource["version"] = int(etag.strip('"'))
    return resource


class HttpDriver:
    """Sends every command as a request through Flask's test client."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def _send(
        self,
        method: str,
        path: str,
        caller: Member,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        query: dict[str, Any] | None = None,
    ) -> Any:
        sent = {"Authorization": f"Bearer {caller.api_key}", **(headers or {})}
        return self.client.open(
            path, method=method, json=body, headers=sent, query_string=query
        )

    def _answer(self, response: Any) -> Answer:
        body = response.get_json()
        assert isinstance(body, dict), response.get_data(as_text=True)
        if response.status_code >= 400:
            assert body["error"], body
            assert body["requestId"] == response.headers["X-Request-Id"], body
            return Answer(response.status_code, body["message"])
        return Answer(
            response.status_code,
            resource=_api_resource(body, response.headers.get("ETag")),
        )

    def create_project(
        self, caller: Member, name: str, description: str | None
    ) -> Answer:
        body = {"name": name, "description": description}
        response = self._send("POST", "/v1/projects", caller, body)
        answer = self._answer(response)
        if answer.status == 201:
            assert response.headers["Location"].endswith(answer.shown()["id"])
        return answer

    def update_project(
        self,
        caller: Member,
        project_id: str,
        changes: dict[str, Any],
        expected_version: int | None,
    ) -> Answer:
        headers = (
            {} if expected_version is None else {"If-Match": f'"{expected_version}"'}
        )
        return self._answer(
            self._send("PATCH", f"/v1/projects/{project_id}", caller, changes, headers)
        )

    def delete_project(
        self, caller: Member, project_id: str, expected_version: int | None
    ) -> Answer:
        headers = (
            {} if expected_version is None else {"If-Match": f'"{expected_version}"'}
        )
        return self._answer(
            self._send("DELETE", f"/v1/projects/{project_id}", caller, headers=headers)
        )

    def create_member(
        self, caller: Member, kind: str, name: str, description: str | None
    ) -> Answer:
        body: dict[str, Any] = {"name": name}
        if kind == "tasks":
            body["description"] = description
        return self._answer(self._send("POST", f"/v1/{kind}", caller, body))

    def archive_task(self, caller: Member, task_id: str) -> Answer:
        return self._answer(self._send("DELETE", f"/v1/tasks/{task_id}", caller))

    def assign(
        self, caller: Member, kind: str, project_id: str, member_id: str
    ) -> Answer:
        field = "jobId" if kind == "jobs" else "taskId"
        return self._answer(
            self._send(
                "POST", f"/v1/projects/{project_id}/{kind}", caller, {field: member_id}
            )
        )

    def unassign(
        self, caller: Member, kind: str, project_id: str, member_id: str
    ) -> Answer:
        return self._answer(
            self._send(
                "DELETE", f"/v1/projects/{project_id}/{kind}/{member_id}", caller
            )
        )

    def get(self, caller: Member, kind: str, resource_id: str) -> Answer:
        return self._answer(self._send("GET", f"/v1/{kind}/{resource_id}", caller))

    def list_page(
        self,
        caller: Member,
        kind: str,
        *,
        limit: int,
        page: int | None = None,
        cursor: str | None = None,
        project_id: str | None = None,
    ) -> Listing:
        query: dict[str, Any] = {"limit": limit}
        for name, value in (
            ("page", page),
            ("cursor", cursor),
            ("projectId", project_id),
        ):
            if value is not None:
                query[name] = value
        response = self._send("GET", f"/v1/{kind}", caller, query=query)
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        pagination = body["pagination"]
        assert pagination["limit"] == limit
        assert pagination["totalPages"] == -(-pagination["total"] // limit)
        assert pagination["hasMore"] == (pagination["nextCursor"] is not None)
        return Listing(
            [_api_resource(item, '"0"') for item in body["data"]],
            pagination["total"],
            pagination["nextCursor"],
        )
