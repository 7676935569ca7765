"""The tasks read model: one row per task, archived ones included."""

from __future__ import annotations

from functools import singledispatch
from typing import Any

from application.pagination import PageRequest, Slice
from application.views import TaskView
from domain.events import DomainEvent
from domain.task import TaskArchived, TaskAssigned, TaskCreated, TaskUnassigned
from projections import members
from projections.listing import from_millis, to_millis
from projections.sql import Column, Index, Insert, Operation, SqlSession, Table, Update

TASKS = Table(
    name="tasks",
    columns=(
        Column("id", "text"),
        Column("workspace_id", "text"),
        Column("name", "text"),
        Column("description", "text", nullable=True),
        Column("project_id", "text", nullable=True),
        Column("archived_at", "bigint", nullable=True),
        Column("created_at", "bigint"),
        Column("updated_at", "bigint"),
        Column("version", "bigint"),
    ),
    primary_key=("id",),
    indexes=(
        Index(
            "tasks_by_workspace_and_update",
            ("workspace_id", "updated_at DESC", "id DESC"),
        ),
        Index(
            "tasks_by_project_and_update",
            ("workspace_id", "project_id", "updated_at DESC", "id DESC"),
            where="project_id IS NOT NULL",
        ),
    ),
)

_COLUMNS = ", ".join(TASKS.column_names)


@singledispatch
def operations(event: DomainEvent) -> list[Operation]:
    """Row changes of the tasks table for one event."""
    return []


@operations.register
def _(event: TaskCreated) -> list[Operation]:
    moment = to_millis(event.timestamp)
    row = {
        "id": event.originator_id,
        "workspace_id": event.workspace_id,
        "name": event.name,
        "description": event.description,
        "project_id": None,
        "archived_at": None,
        "created_at": moment,
        "updated_at": moment,
        "version": event.originator_version,
    }
    return [Insert(TASKS, row)]


def _changed(event: DomainEvent, **values: Any) -> list[Operation]:
    values["updated_at"] = to_millis(event.timestamp)
    values["version"] = event.originator_version
    return [Update(TASKS, {"id": event.originator_id}, values)]


@operations.register
def _(event: TaskAssigned) -> list[Operation]:
    return _changed(event, project_id=event.project_id)


@operations.register
def _(event: TaskUnassigned) -> list[Operation]:
    return _changed(event, project_id=None)


@operations.register
def _(event: TaskArchived) -> list[Operation]:
    return _changed(event, archived_at=to_millis(event.timestamp))


def _view(row: dict[str, Any]) -> TaskView:
    archived_at = row["archived_at"]
    return TaskView(
        id=row["id"],
        workspace_id=row["workspace_id"],
        name=row["name"],
        description=row["description"],
        project_id=row["project_id"],
        archived_at=None if archived_at is None else from_millis(archived_at),
        created_at=from_millis(row["created_at"]),
        updated_at=from_millis(row["updated_at"]),
        version=int(row["version"]),
    )


def get(session: SqlSession, workspace_id: str, task_id: str) -> TaskView | None:
    rows = session.fetch(
        f"SELECT {_COLUMNS} FROM tasks WHERE id = :id AND workspace_id = :workspace_id",
        {"id": task_id, "workspace_id": workspace_id},
    )
    return _view(rows[0]) if rows else None


def list_page(
    session: SqlSession,
    workspace_id: str,
    request: PageRequest,
    project_id: str | None,
) -> Slice[TaskView]:
    return members.list_page(
        session,
        TASKS,
        workspace_id=workspace_id,
        request=request,
        project_id=project_id,
        count_column="task_count",
        to_item=_view,
    )
