"""Per-workspace totals of projects, jobs and tasks, so no list counts rows."""

from __future__ import annotations

from functools import singledispatch

from domain.events import DomainEvent
from domain.job import JobCreated
from domain.project import ProjectCreated, ProjectDeleted
from domain.task import TaskCreated
from projections.listing import Total
from projections.sql import Column, Increment, Operation, Table

WORKSPACE_TOTALS = Table(
    name="workspace_totals",
    columns=(
        Column("workspace_id", "text"),
        Column("projects", "bigint", default="0"),
        Column("jobs", "bigint", default="0"),
        Column("tasks", "bigint", default="0"),
    ),
    primary_key=("workspace_id",),
)


@singledispatch
def operations(event: DomainEvent) -> list[Operation]:
    """Row changes of the workspace totals for one event."""
    return []


def _count(event: DomainEvent, column: str, delta: int) -> list[Operation]:
    key = {"workspace_id": event.workspace_id}
    return [Increment(WORKSPACE_TOTALS, key, {column: delta})]


@operations.register
def _(event: ProjectCreated) -> list[Operation]:
    return _count(event, "projects", 1)


@operations.register
def _(event: ProjectDeleted) -> list[Operation]:
    return _count(event, "projects", -1)


@operations.register
def _(event: JobCreated) -> list[Operation]:
    return _count(event, "jobs", 1)


@operations.register
def _(event: TaskCreated) -> list[Operation]:
    return _count(event, "tasks", 1)


def total(workspace_id: str, column: str) -> Total:
    """The workspace's count of `column` (projects, jobs or tasks)."""
    return Total(
        f"SELECT {column} AS total FROM workspace_totals "
        "WHERE workspace_id = :total_workspace_id",
        {"total_workspace_id": workspace_id},
    )
