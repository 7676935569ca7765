"""What queries and commands hand back: plain, immutable views of resources."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.job import Job
from domain.project import Project
from domain.task import Task


@dataclass(frozen=True)
class Actor:
    """Who acts, and in which workspace: every command and query needs one."""

    user_id: str
    workspace_id: str


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
