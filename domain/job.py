"""The job: work done by an agent, which may belong to one project at a time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from eventsourcing.domain import BaseAggregate, CanInitAggregate

from domain.errors import AlreadyAssignedError, NotAssignedError
from domain.events import DomainEvent, MembershipEvent, Snapshot, copied, recorded_as
from domain.identifiers import JOB_PREFIX, new_id
from domain.values import clean_name


class Job(BaseAggregate[str]):
    """A job of a workspace and the project it is assigned to, if any."""

    TOPIC = "Job"
    Snapshot = Snapshot

    def __deepcopy__(self, memo: dict[int, Any]) -> Job:
        return copied(self)

    # Declared for type checkers only: annotations in the class body would make
    # the library turn the aggregate into a dataclass with these as arguments.
    if TYPE_CHECKING:
        workspace_id: str
        name: str
        project_id: str | None
        updated_at: datetime

    @classmethod
    def create(cls, *, workspace_id: str, actor_id: str, name: str) -> Job:
        """Register a new job in a workspace."""
        return cls._create(
            JobCreated,
            id=new_id(JOB_PREFIX),
            workspace_id=workspace_id,
            actor_id=actor_id,
            name=clean_name(name),
        )

    def assign(self, *, actor_id: str, project_id: str) -> None:
        """Put the job into a project; it must not be in another one."""
        if self.project_id is not None:
            raise AlreadyAssignedError(self.id, self.project_id)
        self.trigger_event(
            JobAssigned,
            workspace_id=self.workspace_id,
            actor_id=actor_id,
            project_id=project_id,
        )

    def unassign(self, *, actor_id: str, project_id: str) -> None:
        """Take the job out of the project it is in."""
        if self.project_id != project_id:
            raise NotAssignedError(self.id, project_id)
        self.trigger_event(
            JobUnassigned,
            workspace_id=self.workspace_id,
            actor_id=actor_id,
            project_id=project_id,
        )


@dataclass(frozen=True)
class JobEvent(DomainEvent):
    """An event in the history of a job."""

    def apply(self, aggregate: Any) -> None:
        self.evolve(cast(Job, aggregate))

    def evolve(self, job: Job) -> None:
        """Change the job's state; runs again whenever it is rebuilt."""


@recorded_as("JobCreated")
@dataclass(frozen=True)
class JobCreated(CanInitAggregate[str], JobEvent):
    originator_topic: str
    name: str

    def evolve(self, job: Job) -> None:
        job.workspace_id = self.workspace_id
        job.name = self.name
        job.project_id = None
        job.updated_at = self.timestamp


@recorded_as("JobAssigned")
@dataclass(frozen=True)
class JobAssigned(MembershipEvent, JobEvent):
    """The job joined a project."""

    def evolve(self, job: Job) -> None:
        job.project_id = self.project_id
        job.updated_at = self.timestamp


@recorded_as("JobUnassigned")
@dataclass(frozen=True)
class JobUnassigned(MembershipEvent, JobEvent):
    """The job left a project."""

    def evolve(self, job: Job) -> None:
        job.project_id = None
        job.updated_at = self.timestamp
