"""The project: a named, workspace-scoped container that groups jobs and tasks.

A project knows its members, so that deleting it can release every one of
them in the same atomic step, and every change of membership is an event of
the project too: that is what makes an assignment conflict with a concurrent
deletion of the project it joins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from eventsourcing.domain import BaseAggregate, CanInitAggregate

from domain.errors import NotAssignedError, ProjectDeletedError
from domain.events import DomainEvent, Snapshot, copied, recorded_as
from domain.identifiers import PROJECT_PREFIX, new_id
from domain.values import clean_description, clean_name


class Project(BaseAggregate[str]):
    """A project of a workspace, with the ids of the jobs and tasks in it."""

    TOPIC = "Project"
    Snapshot = Snapshot

    def __deepcopy__(self, memo: dict[int, Any]) -> Project:
        return copied(self)

    # Declared for type checkers only: annotations in the class body would make
    # the library turn the aggregate into a dataclass with these as arguments.
    if TYPE_CHECKING:
        workspace_id: str
        name: str
        description: str | None
        updated_at: datetime
        job_ids: set[str]
        task_ids: set[str]
        is_deleted: bool

    @classmethod
    def create(
        cls, *, workspace_id: str, actor_id: str, name: str, description: str | None
    ) -> Project:
        """Start a new project in a workspace."""
        return cls._create(
            ProjectCreated,
            id=new_id(PROJECT_PREFIX),
            workspace_id=workspace_id,
            actor_id=actor_id,
            name=clean_name(name),
            description=clean_description(description),
        )

    @property
    def job_count(self) -> int:
        return len(self.job_ids)

    @property
    def task_count(self) -> int:
        return len(self.task_ids)

    def update(
        self,
        *,
        actor_id: str,
        name: str | None = None,
        description: str | None = None,
        change_description: bool = False,
    ) -> bool:
        """Rename or redescribe the project; return whether anything changed.

        `description=None` clears the description only with
        `change_description`, since None also means "not given".
        """
        self.require_alive()
        new_name = self.name if name is None else clean_name(name)
        new_description = (
            clean_description(description) if change_description else self.description
        )
        if new_name == self.name and new_description == self.description:
            return False

        self.trigger_event(
            ProjectUpdated,
            workspace_id=self.workspace_id,
            actor_id=actor_id,
            name=new_name,
            description=new_description,
        )
        return True

    def add_job(self, *, actor_id: str, job_id: str) -> None:
        """Record that a job joined the project."""
        self.require_alive()
        self.trigger_event(
            JobAddedToProject,
            workspace_id=self.workspace_id,
            actor_id=actor_id,
            job_id=job_id,
        )

    def remove_job(self, *, actor_id: str, job_id: str) -> None:
        """Record that a job left the project."""
        self.require_alive()
        if job_id not in self.job_ids:
            raise NotAssignedError(job_id, self.id)
        self.trigger_event(
            JobRemovedFromProject,
            workspace_id=self.workspace_id,
            actor_id=actor_id,
            job_id=job_id,
        )

    def add_task(self, *, actor_id: str, task_id: str) -> None:
        """Record that a task joined the project."""
        self.require_alive()
        self.trigger_event(
            TaskAddedToProject,
            workspace_id=self.workspace_id,
            actor_id=actor_id,
            task_id=task_id,
        )

    def remove_task(self, *, actor_id: str, task_id: str) -> None:
        """Record that a task left the project."""
        self.require_alive()
        if task_id not in self.task_ids:
            raise NotAssignedError(task_id, self.id)
        self.trigger_event(
            TaskRemovedFromProject,
            workspace_id=self.workspace_id,
            actor_id=actor_id,
            task_id=task_id,
        )

    def delete(self, *, actor_id: str) -> None:
        """Delete the project; its members must be released in the same step."""
        self.require_alive()
        self.trigger_event(
            ProjectDeleted,
            workspace_id=self.workspace_id,
            actor_id=actor_id,
            job_ids=sorted(self.job_ids),
            task_ids=sorted(self.task_ids),
        )

    def require_alive(self) -> None:
        """Refuse any change to a deleted project."""
        if self.is_deleted:
            raise ProjectDeletedError(self.id)


@dataclass(frozen=True)
class ProjectEvent(DomainEvent):
    """An event in the history of a project."""

    def apply(self, aggregate: Any) -> None:
        self.evolve(cast(Project, aggregate))

    def evolve(self, project: Project) -> None:
        """Change the project's state; runs again whenever it is rebuilt."""

    @property
    def related_project_id(self) -> str | None:
        return self.originator_id


@recorded_as("ProjectCreated")
@dataclass(frozen=True)
class ProjectCreated(CanInitAggregate[str], ProjectEvent):
    originator_topic: str
    name: str
    description: str | None

    def evolve(self, project: Project) -> None:
        project.workspace_id = self.workspace_id
        project.name = self.name
        project.description = self.description
        project.updated_at = self.timestamp
        project.job_ids = set()
        project.task_ids = set()
        project.is_deleted = False


@recorded_as("ProjectUpdated")
@dataclass(frozen=True)
class ProjectUpdated(ProjectEvent):
    name: str
    description: str | None

    def evolve(self, project: Project) -> None:
        project.name = self.name
        project.description = self.description
        project.updated_at = self.timestamp


@recorded_as("ProjectDeleted")
@dataclass(frozen=True)
class ProjectDeleted(ProjectEvent):
    job_ids: list[str]
    task_ids: list[str]

    def evolve(self, project: Project) -> None:
        project.is_deleted = True
        project.job_ids = set()
        project.task_ids = set()


@recorded_as("JobAddedToProject")
@dataclass(frozen=True)
class JobAddedToProject(ProjectEvent):
    job_id: str

    def evolve(self, project: Project) -> None:
        project.job_ids.add(self.job_id)


@recorded_as("JobRemovedFromProject")
@dataclass(frozen=True)
class JobRemovedFromProject(ProjectEvent):
    job_id: str

    def evolve(self, project: Project) -> None:
        project.job_ids.discard(self.job_id)


@recorded_as("TaskAddedToProject")
@dataclass(frozen=True)
class TaskAddedToProject(ProjectEvent):
    task_id: str

    def evolve(self, project: Project) -> None:
        project.task_ids.add(self.task_id)


@recorded_as("TaskRemovedFromProject")
@dataclass(frozen=True)
class TaskRemovedFromProject(ProjectEvent):
    task_id: str

    def evolve(self, project: Project) -> None:
        project.task_ids.discard(self.task_id)
