"""What the application needs from the outside, stated as protocols."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from application.pagination import PageRequest, Slice
from application.views import JobView, ProjectView, TaskView


class ReadModels(Protocol):
    """Tables derived from the events, kept current in the writers' transactions."""

    def get_project(self, workspace_id: str, project_id: str) -> ProjectView | None: ...

    def list_projects(
        self, workspace_id: str, request: PageRequest
    ) -> Slice[ProjectView]: ...

    def get_job(self, workspace_id: str, job_id: str) -> JobView | None: ...

    def list_jobs(
        self, workspace_id: str, request: PageRequest, project_id: str | None
    ) -> Slice[JobView]: ...

    def get_task(self, workspace_id: str, task_id: str) -> TaskView | None: ...

    def list_tasks(
        self, workspace_id: str, request: PageRequest, project_id: str | None
    ) -> Slice[TaskView]: ...


@dataclass(frozen=True)
class Principal:
    """The holder of an API key: a user, and the workspace the key was made for."""

    user_id: str
    workspace_id: str


class IdentityDirectory(Protocol):
    """Users, workspaces, memberships and API keys."""

    def authenticate(self, api_key: str) -> Principal | None:
        """Return who holds `api_key`, or None for an unknown or revoked key."""
        ...

    def is_member(self, user_id: str, workspace_id: str) -> bool: ...
