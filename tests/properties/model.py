"""A plain in-memory model of the rules of projects, jobs and tasks.

It knows nothing of events or stores: it says what each command must answer
(status, and the ids an error message must name) and how the state changes,
straight from the contract. The state machines compare the service with it.

Times are what the model cannot decide, so it keeps what it knows of each
`updatedAt`: the exact value once an answer showed it, else the window of
wall-clock time in which the command that changed it ran.
"""

from __future__ import annotations

from dataclasses import dataclass, field

NAME_MAX_LENGTH = 200
DESCRIPTION_MAX_LENGTH = 10_000


def clean_name(raw: str) -> str | None:
    """The name the service keeps for `raw`, or None when it must refuse it."""
    trimmed = raw.strip()
    if not trimmed or len(trimmed) > NAME_MAX_LENGTH or "\x00" in trimmed:
        return None
    return trimmed


def clean_description(raw: str | None) -> tuple[bool, str | None]:
    """Whether `raw` is an acceptable description, and what the service keeps."""
    if raw is None:
        return True, None
    trimmed = raw.strip()
    if len(trimmed) > DESCRIPTION_MAX_LENGTH or "\x00" in trimmed:
        return False, None
    return True, trimmed


@dataclass
class Moment:
    """What the model knows of a timestamp, in milliseconds: low <= it <= high."""

    low: int
    high: int

    @classmethod
    def exactly(cls, millis: int) -> Moment:
        return cls(millis, millis)

    @classmethod
    def between(cls, low: int, high: int) -> Moment:
        return cls(low, high)

    def admits(self, millis: int) -> bool:
        return self.low <= millis <= self.high

    def pin(self, millis: int) -> None:
        """Remember the exact value, once an answer or a row showed it."""
        self.low = self.high = millis

    def __str__(self) -> str:
        if self.low == self.high:
            return str(self.low)
        return f"[{self.low}, {self.high}]"


@dataclass
class ModelProject:
    id: str
    workspace_id: str
    name: str
    description: str | None
    created_at: int
    updated_at: Moment
    version: int = 1
    jobs: set[str] = field(default_factory=set)
    tasks: set[str] = field(default_factory=set)
    deleted: bool = False

    def members(self, kind: str) -> set[str]:
        return self.jobs if kind == "jobs" else self.tasks


@dataclass
class ModelMember:
    """A job or a task."""

    id: str
    kind: str
    workspace_id: str
    name: str
    description: str | None
    created_at: int
    updated_at: Moment
    version: int = 1
    project_id: str | None = None
    archived_at: Moment | None = None


@dataclass(frozen=True)
class Expected:
    """What a command must answer: a status, and ids its error message names."""

    status: int
    names: tuple[str, ...] = ()

    @property
    def succeeds(self) -> bool:
        return self.status < 300


OK = Expected(200)
CREATED = Expected(201)


@dataclass
class Model:
    """The state of every workspace the test acts in, by the rules alone.

    `body_first` says whether an invalid body is refused before the resources
    are looked up (as the HTTP contract orders it) or after (as the
    application, which sees no body, does).
    """

    body_first: bool
    projects: dict[str, ModelProject] = field(default_factory=dict)
    members: dict[str, ModelMember] = field(default_factory=dict)

    # Looking things up as a workspace sees them.

    def live_project(self, workspace_id: str, project_id: str) -> ModelProject | None:
        project = self.projects.get(project_id)
        if project is None or project.deleted or project.workspace_id != workspace_id:
            return None
        return project

    def member(
        self, workspace_id: str, kind: str, member_id: str
    ) -> ModelMember | None:
        member = self.members.get(member_id)
        if member is None or member.kind != kind or member.workspace_id != workspace_id:
            return None
        return member

    def live_projects(self, workspace_id: str) -> list[ModelProject]:
        return [
            project
            for project in self.projects.values()
            if project.workspace_id == workspace_id and not project.deleted
        ]

    def members_of(
        self, workspace_id: str, kind: str, project_id: str | None = None
    ) -> list[ModelMember]:
        return [
            member
            for member in self.members.values()
            if member.kind == kind
            and member.workspace_id == workspace_id
            and (project_id is None or member.project_id == project_id)
        ]

    # What each command must answer.

    def expect_update(
        self,
        workspace_id: str,
        project_id: str,
        name: str | None,
        description_given: bool,
        description: str | None,
        expected_version: int | None,
    ) -> Expected:
        values_valid = (name is None or clean_name(name) is not None) and (
            not description_given or clean_description(description)[0]
        )
        # The API refuses a body that changes nothing; the application takes
        # it as a change to nothing.
        body_valid = values_valid and (
            not self.body_first or name is not None or description_given
        )
        if self.body_first and not body_valid:
            return Expected(400)
        project = self.live_project(workspace_id, project_id)
        if project is None:
            return Expected(404, (project_id,))
        if expected_version is not None and expected_version != project.version:
            return Expected(412, (project_id,))
        return OK if body_valid else Expected(400)

    def expect_delete(
        self, workspace_id: str, project_id: str, expected_version: int | None
    ) -> Expected:
        project = self.live_project(workspace_id, project_id)
        if project is None:
            return Expected(404, (project_id,))
        if expected_version is not None and expected_version != project.version:
            return Expected(412, (project_id,))
        return OK

    def expect_assign(
        self, workspace_id: str, kind: str, project_id: str, member_id: str
    ) -> Expected:
        project = self.live_project(workspace_id, project_id)
        if project is None:
            return Expected(404, (project_id,))
        member = self.member(workspace_id, kind, member_id)
        if member is None:
            return Expected(404, (member_id,))
        if member.archived_at is not None:
            return Expected(400, (member_id,))
        if member.project_id not in (None, project_id):
            return Expected(409, (member_id, member.project_id))
        return OK

    def expect_unassign(
        self, workspace_id: str, kind: str, project_id: str, member_id: str
    ) -> Expected:
        project = self.live_project(workspace_id, project_id)
        if project is None:
            return Expected(404, (project_id,))
        member = self.member(workspace_id, kind, member_id)
        if member is None or member.project_id != project_id:
            return Expected(404, (member_id,))
        return OK

    def expect_archive(self, workspace_id: str, task_id: str) -> Expected:
        if self.member(workspace_id, "tasks", task_id) is None:
            return Expected(404, (task_id,))
        return OK

    # How the state changes when a command succeeds.

    def created_project(
        self,
        project_id: str,
        workspace_id: str,
        name: str,
        description: str | None,
        at: int,
    ) -> ModelProject:
        kept_name = clean_name(name)
        assert kept_name is not None
        project = ModelProject(
            id=project_id,
            workspace_id=workspace_id,
            name=kept_name,
            description=clean_description(description)[1],
            created_at=at,
            updated_at=Moment.exactly(at),
        )
        self.projects[project_id] = project
        return project

    def created_member(
        self,
        member_id: str,
        kind: str,
        workspace_id: str,
        name: str,
        description: str | None,
        at: int,
    ) -> ModelMember:
        kept_name = clean_name(name)
        assert kept_name is not None
        member = ModelMember(
            id=member_id,
            kind=kind,
            workspace_id=workspace_id,
            name=kept_name,
            description=clean_description(description)[1] if kind == "tasks" else None,
            created_at=at,
            updated_at=Moment.exactly(at),
        )
        self.members[member_id] = member
        return member

    def updated(
        self,
        project_id: str,
        name: str | None,
        description_given: bool,
        description: str | None,
        during: Moment,
    ) -> bool:
        """Apply an accepted update; whether it changed anything."""
        project = self.projects[project_id]
        new_name = project.name if name is None else clean_name(name)
        assert new_name is not None
        new_description = (
            clean_description(description)[1]
            if description_given
            else project.description
        )
        if (new_name, new_description) == (project.name, project.description):
            return False
        project.name, project.description = new_name, new_description
        project.version += 1
        project.updated_at = Moment.between(during.low, during.high)
        return True

    def deleted(self, project_id: str, during: Moment) -> None:
        project = self.projects[project_id]
        for member_id in project.jobs | project.tasks:
            self._move(self.members[member_id], None, during)
        project.jobs.clear()
        project.tasks.clear()
        project.deleted = True
        project.version += 1

    def assigned(self, project_id: str, member_id: str, during: Moment) -> bool:
        """Apply an accepted assignment; whether it changed anything."""
        member = self.members[member_id]
        if member.project_id == project_id:
            return False
        project = self.projects[project_id]
        project.members(member.kind).add(member_id)
        project.version += 1
        self._move(member, project_id, during)
        return True

    def unassigned(self, project_id: str, member_id: str, during: Moment) -> None:
        member = self.members[member_id]
        project = self.projects[project_id]
        project.members(member.kind).discard(member_id)
        project.version += 1
        self._move(member, None, during)

    def archived(self, task_id: str, during: Moment) -> bool:
        """Apply an accepted archiving; whether it changed anything."""
        task = self.members[task_id]
        if task.archived_at is not None:
            return False
        # One event sets both, so they are one moment, pinned together.
        moment = Moment.between(during.low, during.high)
        task.archived_at = moment
        task.updated_at = moment
        task.version += 1
        return True

    @staticmethod
    def _move(member: ModelMember, project_id: str | None, during: Moment) -> None:
        member.project_id = project_id
        member.updated_at = Moment.between(during.low, during.high)
        member.version += 1
