"""The jobs read model: one row per job, with the project it is in."""

from __future__ import annotations

from functools import singledispatch
from typing import Any

from application.pagination import PageRequest, Slice
from application.views import JobView
from domain.events import DomainEvent
from domain.job import JobAssigned, JobCreated, JobUnassigned
from projections import members
from projections.listing import from_millis, to_millis
from projections.sql import Column, Index, Insert, Operation, SqlSession, Table, Update

JOBS = Table(
    name="jobs",
    columns=(
        Column("id", "text"),
        Column("workspace_id", "text"),
        Column("name", "text"),
        Column("project_id", "text", nullable=True),
        Column("created_at", "bigint"),
        Column("updated_at", "bigint"),
        Column("version", "bigint"),
    ),
    primary_key=("id",),
    indexes=(
        Index(
            "jobs_by_workspace_and_update",
            ("workspace_id", "updated_at DESC", "id DESC"),
        ),
        Index(
            "jobs_by_project_and_update",
            ("workspace_id", "project_id", "updated_at DESC", "id DESC"),
            where="project_id IS NOT NULL",
        ),
    ),
)

_COLUMNS = ", ".join(JOBS.column_names)


@singledispatch
def operations(event: DomainEvent) -> list[Operation]:
    """Row changes of the jobs table for one event."""
    return []


@operations.register
def _(event: JobCreated) -> list[Operation]:
    moment = to_millis(event.timestamp)
    row = {
        "id": event.originator_id,
        "workspace_id": event.workspace_id,
        "name": event.name,
        "project_id": None,
        "created_at": moment,
        "updated_at": moment,
        "version": event.originator_version,
    }
    return [Insert(JOBS, row)]


def _placed(event: DomainEvent, project_id: str | None) -> list[Operation]:
    values = {
        "project_id": project_id,
        "updated_at": to_millis(event.timestamp),
        "version": event.originator_version,
    }
    return [Update(JOBS, {"id": event.originator_id}, values)]


@operations.register
def _(event: JobAssigned) -> list[Operation]:
    return _placed(event, event.project_id)


@operations.register
def _(event: JobUnassigned) -> list[Operation]:
    return _placed(event, None)


def _view(row: dict[str, Any]) -> JobView:
    return JobView(
        id=row["id"],
        workspace_id=row["workspace_id"],
        name=row["name"],
        project_id=row["project_id"],
        created_at=from_millis(row["created_at"]),
        updated_at=from_millis(row["updated_at"]),
        version=int(row["version"]),
    )


def get(session: SqlSession, workspace_id: str, job_id: str) -> JobView | None:
    rows = session.fetch(
        f"SELECT {_COLUMNS} FROM jobs WHERE id = :id AND workspace_id = :workspace_id",
        {"id": job_id, "workspace_id": workspace_id},
    )
    return _view(rows[0]) if rows else None


def list_page(
    session: SqlSession,
    workspace_id: str,
    request: PageRequest,
    project_id: str | None,
) -> Slice[JobView]:
    return members.list_page(
        session,
        JOBS,
        workspace_id=workspace_id,
        request=request,
        project_id=project_id,
        count_column="job_count",
        to_item=_view,
    )
