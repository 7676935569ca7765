"""What queries and commands hand back: plain, immutable views of resources."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from domain.job import Job
from domain.project import Project
from domain.task import Task


class Actor:
    """Who acts, and in which workspace: every command and query needs one.

    An actor can also be found later (`Actor.found_by`): the first time its
    user or workspace is asked for, it calls `find`, which returns the actor
    or raises. A command asks only after its first read, so the caller's key
    can be checked in the same round trip to the store as that read; it
    always asks before it decides anything.

    Such an actor may come with a presumption: who the key named when this
    process last checked it. A command may decide as that actor only if the
    store confirms the key in the transaction that records the decision.
    """

    __slots__ = ("_find", "_known", "_presumed")

    def __init__(self, user_id: str, workspace_id: str) -> None:
        self._known: tuple[str, str] | None = (user_id, workspace_id)
        self._find: Callable[[], Actor] | None = None
        self._presumed: Actor | None = None

    @classmethod
    def found_by(
        cls, find: Callable[[], Actor], presumed: Actor | None = None
    ) -> Actor:
        actor = cls.__new__(cls)
        actor._known = None
        actor._find = find
        actor._presumed = presumed
        return actor

    @property
    def presumption(self) -> Actor | None:
        """The actor if found, else who it is presumed to be, else None."""
        return self if self._known is not None else self._presumed

    @property
    def user_id(self) -> str:
        return self._identity()[0]

    @property
    def workspace_id(self) -> str:
        return self._identity()[1]

    @property
    def is_found(self) -> bool:
        """Whether the actor is known yet (always, unless made by `found_by`)."""
        return self._known is not None

    def _identity(self) -> tuple[str, str]:
        if self._known is None:
            assert self._find is not None
            found = self._find()
            self._known = (found.user_id, found.workspace_id)
            self._find = None
        return self._known

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Actor):
            return NotImplemented
        return self._identity() == other._identity()

    def __hash__(self) -> int:
        return hash(self._identity())

    def __repr__(self) -> str:
        if self._known is None:
            return "Actor(not found yet)"
        return f"Actor(user_id={self._known[0]!r}, workspace_id={self._known[1]!r})"


@dataclass(frozen=True)
class ProjectView:
    id: str
    workspace_id: str
    name: str
    description: str | None
    created_at: datetime
    updated_at: datetime
    job_count: int
    task_count: int
    version: int

    @classmethod
    def of(cls, project: Project) -> ProjectView:
        return cls(
            id=project.id,
            workspace_id=project.workspace_id,
            name=project.name,
            description=project.description,
            created_at=project.created_on,
            updated_at=project.updated_at,
            job_count=project.job_count,
            task_count=project.task_count,
            version=project.version,
        )


@dataclass(frozen=True)
class JobView:
    id: str
    workspace_id: str
    name: str
    project_id: str | None
    created_at: datetime
    updated_at: datetime
    version: int

    @classmethod
    def of(cls, job: Job) -> JobView:
        return cls(
            id=job.id,
            workspace_id=job.workspace_id,
            name=job.name,
            project_id=job.project_id,
            created_at=job.created_on,
            updated_at=job.updated_at,
            version=job.version,
        )


@dataclass(frozen=True)
class TaskView:
    id: str
    workspace_id: str
    name: str
    description: str | None
    project_id: str | None
    archived_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int

    @property
    def archived(self) -> bool:
        return self.archived_at is not None

    @classmethod
    def of(cls, task: Task) -> TaskView:
        return cls(
            id=task.id,
            workspace_id=task.workspace_id,
            name=task.name,
            description=task.description,
            project_id=task.project_id,
            archived_at=task.archived_at,
            created_at=task.created_on,
            updated_at=task.updated_at,
            version=task.version,
        )
