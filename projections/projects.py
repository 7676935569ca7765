"""The projects read model: one row per live project, with its member counts."""

from __future__ import annotations

from functools import singledispatch
from typing import Any

from application.pagination import PageRequest, Slice
from application.views import ProjectView
from domain.events import DomainEvent
from domain.project import (
    JobAddedToProject,
    JobRemovedFromProject,
    ProjectCreated,
    ProjectDeleted,
    ProjectEvent,
    ProjectUpdated,
    TaskAddedToProject,
    TaskRemovedFromProject,
)
from projections import workspaces
from projections.listing import Total, from_millis, read_page, to_millis
from projections.sql import (
    Column,
    Delete,
    Index,
    Insert,
    Operation,
    SqlSession,
    Table,
    Update,
)

PROJECTS = Table(
    name="projects",
    columns=(
        Column("id", "text"),
        Column("workspace_id", "text"),
        Column("name", "text"),
        Column("description", "text", nullable=True),
        Column("created_at", "bigint"),
        Column("updated_at", "bigint"),
        Column("version", "bigint"),
        Column("job_count", "bigint", default="0"),
        Column("task_count", "bigint", default="0"),
    ),
    primary_key=("id",),
    indexes=(
        Index(
            "projects_by_workspace_and_update",
            ("workspace_id", "updated_at DESC", "id DESC"),
        ),
    ),
)

_COLUMNS = ", ".join(PROJECTS.column_names)


@singledispatch
def operations(event: DomainEvent) -> list[Operation]:
    """Row changes of the projects table for one event."""
    return []


def _key(event: DomainEvent) -> dict[str, str]:
    return {"id": event.originator_id}


def _version(event: ProjectEvent) -> dict[str, int]:
    return {"version": event.originator_version}


@operations.register
def _(event: ProjectCreated) -> list[Operation]:
    moment = to_millis(event.timestamp)
    row = {
        "id": event.originator_id,
        "workspace_id": event.workspace_id,
        "name": event.name,
        "description": event.description,
        "created_at": moment,
        "updated_at": moment,
        "version": event.originator_version,
        "job_count": 0,
        "task_count": 0,
    }
    return [Insert(PROJECTS, row)]


@operations.register
def _(event: ProjectUpdated) -> list[Operation]:
    values = {
        "name": event.name,
        "description": event.description,
        "updated_at": to_millis(event.timestamp),
        **_version(event),
    }
    return [Update(PROJECTS, _key(event), values)]


@operations.register
def _(event: ProjectDeleted) -> list[Operation]:
    return [Delete(PROJECTS, _key(event))]


def _membership(event: ProjectEvent, column: str, delta: int) -> list[Operation]:
    return [Update(PROJECTS, _key(event), _version(event), deltas={column: delta})]


@operations.register
def _(event: JobAddedToProject) -> list[Operation]:
    return _membership(event, "job_count", 1)


@operations.register
def _(event: JobRemovedFromProject) -> list[Operation]:
    return _membership(event, "job_count", -1)


@operations.register
def _(event: TaskAddedToProject) -> list[Operation]:
    return _membership(event, "task_count", 1)


@operations.register
def _(event: TaskRemovedFromProject) -> list[Operation]:
    return _membership(event, "task_count", -1)


def _view(row: dict[str, Any]) -> ProjectView:
    return ProjectView(
        id=row["id"],
        workspace_id=row["workspace_id"],
        name=row["name"],
        description=row["description"],
        created_at=from_millis(row["created_at"]),
        updated_at=from_millis(row["updated_at"]),
        job_count=int(row["job_count"]),
        task_count=int(row["task_count"]),
        version=int(row["version"]),
    )


def get(session: SqlSession, workspace_id: str, project_id: str) -> ProjectView | None:
    rows = session.fetch(
        f"SELECT {_COLUMNS} FROM projects "
        "WHERE id = :id AND workspace_id = :workspace_id",
        {"id": project_id, "workspace_id": workspace_id},
    )
    return _view(rows[0]) if rows else None


def member_count(workspace_id: str, project_id: str, column: str) -> Total:
    """How many jobs or tasks (`column`) the project holds; 0 when it is gone."""
    return Total(
        f"SELECT {column} AS total FROM projects "
        "WHERE id = :total_project_id AND workspace_id = :total_workspace_id",
        {"total_project_id": project_id, "total_workspace_id": workspace_id},
    )


def list_page(
    session: SqlSession, workspace_id: str, request: PageRequest
) -> Slice[ProjectView]:
    return read_page(
        session,
        table="projects",
        columns=_COLUMNS,
        where="workspace_id = :workspace_id",
        params={"workspace_id": workspace_id},
        request=request,
        total=workspaces.total(workspace_id, "projects"),
        to_item=_view,
    )
