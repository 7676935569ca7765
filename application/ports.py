"""What the application needs from the outside, stated as protocols."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Protocol

from eventsourcing.persistence import StoredEvent

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

    def look_up(self, api_key: str) -> KeyLookup:
        """Who holds `api_key`, found when asked: `authenticate`, perhaps deferred.

        The store may check the key together with the first read of the
        thread's next command, in one round trip.
        """
        ...

    def is_member(self, user_id: str, workspace_id: str) -> bool: ...


class KeyLookup(Protocol):
    """A check of an API key that may not have run yet."""

    def principal(self) -> Principal | None:
        """Who holds the key, or None; runs the check now if it has not run."""
        ...

    def presumed(self) -> Principal | None:
        """Who held the key when this process last checked it, without a check.

        None when the process has not seen the key live. A decision made on
        the presumption stands only if the store confirms the key with it.
        """
        ...

    def cancel(self) -> None:
        """The answer is not needed: the check must not ride on a later read."""


@dataclass
class Newer:
    """What brings some aggregates up to date from the versions a reader has.

    `snapshots` holds the latest snapshot above an aggregate's version, where
    there is one; `events` the events after it (or after the version), in
    order of aggregate and version.
    """

    snapshots: dict[str, StoredEvent] = field(default_factory=dict)
    events: list[StoredEvent] = field(default_factory=list)


@dataclass(frozen=True)
class LoggedEvent:
    """A stored event with its place in the log and the workspace it belongs to."""

    position: int
    workspace_id: str
    stored: StoredEvent


class EventLog(Protocol):
    """The log of every event, read in the order in which events were committed.

    A reader that asks for the events after the last position it saw never
    misses one: positions become visible in order.
    """

    def read(
        self,
        *,
        after: int,
        limit: int,
        workspace_id: str | None = None,
        until: int | None = None,
    ) -> list[LoggedEvent]:
        """Events after position `after` (up to `until`), of one workspace or all."""
        ...

    def read_project(
        self, workspace_id: str, project_id: str, *, after: int, offset: int, limit: int
    ) -> list[LoggedEvent]:
        """A project's events and its members' assignment events, oldest first."""
        ...

    def count_project(self, workspace_id: str, project_id: str) -> int:
        """How many events `read_project` can return for the project."""
        ...

    def wait_for_commit(self, timeout: float) -> None:
        """Return when new events may have been committed, or after `timeout`."""
        ...


class CommandScopes(Protocol):
    """Where a command on one resource loads, decides and saves.

    A store that can make every process's commands on a resource take turns
    does so inside the scope; the version checks of the save stay the
    guarantee, the scope only spares the losers of a race their wasted work.
    """

    # Whether a command may decide on aggregates this process saved a moment
    # ago without reading them first, leaving the store to confirm, in the
    # transaction that records the decision, that each is still at the
    # version decided on and that the caller's key is still live.
    confirms_cached_decisions: bool

    def changing(self, resource_id: str) -> AbstractContextManager[None]: ...


class UnscopedCommands:
    """Commands that rely on the version checks of the save alone."""

    confirms_cached_decisions = False

    @contextmanager
    def changing(self, resource_id: str) -> Iterator[None]:
        yield
