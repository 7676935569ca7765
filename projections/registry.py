"""All read models together: their tables, their row changes, their queries."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from application.pagination import PageRequest, Slice
from application.views import JobView, ProjectView, TaskView
from domain.events import DomainEvent
from projections import jobs, projects, tasks, workspaces
from projections.sql import Database, Operation, SqlExecutor, SqlSession, Table

TABLES: tuple[Table, ...] = (
    projects.PROJECTS,
    jobs.JOBS,
    tasks.TASKS,
    workspaces.WORKSPACE_TOTALS,
)

Handler = Callable[[DomainEvent], list[Operation]]

_MODULES = (projects, jobs, tasks, workspaces)
_handlers: dict[type[DomainEvent], list[Handler]] = {}


def _handlers_of(kind: type[DomainEvent]) -> list[Handler]:
    """The read models' handlers of one kind of event, found once per kind."""
    found = _handlers.get(kind)
    if found is None:
        found = [
            handler
            for module in _MODULES
            # A module that has no handler of its own for `kind` answers with
            # its catch-all, registered for object, which changes nothing.
            if (handler := module.operations.dispatch(kind))
            is not module.operations.dispatch(object)
        ]
        _handlers[kind] = found
    return found


def operations_for(events: Iterable[DomainEvent]) -> list[Operation]:
    """Every read model's row changes for `events`, in the order of the events."""
    found: list[Operation] = []
    for event in events:
        for handler in _handlers_of(type(event)):
            found.extend(handler(event))
    return found


class ReadModelProjector:
    """Keeps the read models current inside the transaction that records events."""

    def project(self, session: SqlSession, events: Iterable[DomainEvent]) -> None:
        SqlExecutor(session).apply(operations_for(events))

    def operations(self, events: Iterable[DomainEvent]) -> list[Operation]:
        """The row changes `project` makes, for a store that writes them itself."""
        return operations_for(events)


class SqlReadModels:
    """The application's `ReadModels`, read from the tables of a database."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def get_project(self, workspace_id: str, project_id: str) -> ProjectView | None:
        with self.database.reading() as session:
            return projects.get(session, workspace_id, project_id)

    def list_projects(
        self, workspace_id: str, request: PageRequest
    ) -> Slice[ProjectView]:
        with self.database.reading() as session:
            return projects.list_page(session, workspace_id, request)

    def get_job(self, workspace_id: str, job_id: str) -> JobView | None:
        with self.database.reading() as session:
            return jobs.get(session, workspace_id, job_id)

    def list_jobs(
        self, workspace_id: str, request: PageRequest, project_id: str | None
    ) -> Slice[JobView]:
        with self.database.reading() as session:
            return jobs.list_page(session, workspace_id, request, project_id)

    def get_task(self, workspace_id: str, task_id: str) -> TaskView | None:
        with self.database.reading() as session:
            return tasks.get(session, workspace_id, task_id)

    def list_tasks(
        self, workspace_id: str, request: PageRequest, project_id: str | None
    ) -> Slice[TaskView]:
        with self.database.reading() as session:
            return tasks.list_page(session, workspace_id, request, project_id)
