"""The task: a unit of work that may belong to one project and may be archived.

An archived task is never erased. It keeps its project, may still leave it,
but cannot be added to a project.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from eventsourcing.domain import BaseAggregate, CanInitAggregate

from domain.errors import AlreadyAssignedError, NotAssignedError, TaskArchivedError
from domain.events import DomainEvent, MembershipEvent, Snapshot, copied, recorded_as
from domain.identifiers import TASK_PREFIX, new_id
from domain.values import clean_description, clean_name


class Task(BaseAggregate[str]):
    """A task of a workspace, its project if any, and whether it is archived."""

    TOPIC = "Task"
    Snapshot = Snapshot

    def __deepcopy__(self, memo: dict[int, Any]) -> Task:
        return copied(self)

    # Declared for type checkers only: annotations in the class body would make
    # the library turn the aggregate into a dataclass with these as arguments.
    if TYPE_CHECKING:
        workspace_id: str
        name: str
        description: str | None
        project_id: str | None
        archived_at: datetime | None
        updated_at: datetime

    @classmethod
    def create(
        cls, *, workspace_id: str, actor_id: str, name: str, description: str | None
    ) -> Task:
        """Register a new task in a workspace."""
        return cls._create(
            TaskCreated,
            id=new_id(TASK_PREFIX),
            workspace_id=workspace_id,
            actor_id=actor_id,
            name=clean_name(name),
            description=clean_description(description),
        )

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    def assign(self, *, actor_id: str, project_id: str) -> None:
        """Put the task into a project: not archived, and not in another one."""
        if self.is_archived:
            raise TaskArchivedError(self.id)
        if self.project_id is not None:
            raise AlreadyAssignedError(self.id, self.project_id)
        self.trigger_event(
            TaskAssigned,
            workspace_id=self.workspace_id,
            actor_id=actor_id,
            project_id=project_id,
        )

    def unassign(self, *, actor_id: str, project_id: str) -> None:
        """Take the task out of the project it is in, archived or not."""
        if self.project_id != project_id:
            raise NotAssignedError(self.id, project_id)
        self.trigger_event(
            TaskUnassigned,
            workspace_id=self.workspace_id,
            actor_id=actor_id,
            project_id=project_id,
        )

    def archive(self, *, actor_id: str) -> bool:
        """Archive the task; return False when it already was archived."""
        if self.is_archived:
            return False
        self.trigger_event(
            TaskArchived, workspace_id=self.workspace_id, actor_id=actor_id
        )
        return True


@dataclass(frozen=True)
class TaskEvent(DomainEvent):
    """An event in the history of a task."""

    def apply(self, aggregate: Any) -> None:
        self.evolve(cast(Task, aggregate))

    def evolve(self, task: Task) -> None:
        """Change the task's state; runs again whenever it is rebuilt."""


@recorded_as("TaskCreated")
@dataclass(frozen=True)
class TaskCreated(CanInitAggregate[str], TaskEvent):
    originator_topic: str
    name: str
    description: str | None

    def evolve(self, task: Task) -> None:
        task.workspace_id = self.workspace_id
        task.name = self.name
        task.description = self.description
        task.project_id = None
        task.archived_at = None
        task.updated_at = self.timestamp


@recorded_as("TaskAssigned")
@dataclass(frozen=True)
class TaskAssigned(MembershipEvent, TaskEvent):
    """The task joined a project."""

    def evolve(self, task: Task) -> None:
        task.project_id = self.project_id
        task.updated_at = self.timestamp


@recorded_as("TaskUnassigned")
@dataclass(frozen=True)
class TaskUnassigned(MembershipEvent, TaskEvent):
    """The task left a project."""

    def evolve(self, task: Task) -> None:
        task.project_id = None
        task.updated_at = self.timestamp


@recorded_as("TaskArchived")
@dataclass(frozen=True)
class TaskArchived(TaskEvent):
    def evolve(self, task: Task) -> None:
        task.archived_at = self.timestamp
        task.updated_at = self.timestamp
