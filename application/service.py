"""The Projects application: commands that load, decide and save; queries that read.

A command loads every aggregate its decision relies on, lets the domain
decide, and saves all of them in one atomic step. The event store refuses the
step when any of them changed meanwhile, and the command then decides again
from the new state, a bounded number of times. Queries read the read models,
which the event store keeps current in the same transaction as the events.
"""

from __future__ import annotations

import functools
import itertools
import logging
import random
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Concatenate, ParamSpec, TypeVar, cast

from eventsourcing.application import (
    Application,
    LRUCache,
    ProcessingEvent,
)
from eventsourcing.domain import BaseAggregate
from eventsourcing.persistence import (
    InfrastructureFactory,
    JSONTranscoder,
    Mapper,
    RecordConflictError,
    Recording,
    Transcoding,
)

from application.errors import (
    ApplicationError,
    ConflictError,
    ContentionError,
    InvalidInputError,
    NotFoundError,
    PreconditionFailedError,
    RuleViolationError,
)
from application.events import EventView, FeedPage
from application.mapping import EventMapper, FastJSONTranscoder
from application.pagination import (
    CursorCodec,
    ListScope,
    Page,
    PageRequest,
    Slice,
    SortKey,
)
from application.ports import (
    CommandScopes,
    EventLog,
    LoggedEvent,
    Newer,
    ReadModels,
    UnscopedCommands,
)
from application.recent import RecentSaves
from application.views import Actor, JobView, ProjectView, TaskView
from domain import assignment
from domain.errors import (
    AlreadyAssignedError,
    DomainError,
    InvalidValueError,
    NotAssignedError,
    ProjectDeletedError,
    TaskArchivedError,
)
from domain.events import DomainEvent, Snapshot, copied, rebuild
from domain.identifiers import JOB_PREFIX, PROJECT_PREFIX, TASK_PREFIX
from domain.job import Job
from domain.project import Project
from domain.task import Task

logger = logging.getLogger(__name__)

Params = ParamSpec("Params")
Result = TypeVar("Result")
AggregateType = TypeVar("AggregateType", bound=BaseAggregate[str])
MemberType = TypeVar("MemberType", Job, Task)

MAX_ATTEMPTS = 40
# Aggregates kept per process. A cached aggregate is never trusted as it is:
# each load reads the events recorded after its version (by any process), so
# the cache saves reading and decoding history, never a consistency check.
AGGREGATE_CACHE_SIZE = 5_000
STREAM_BATCH = 100
STREAM_WAIT = 5.0
EXPORT_BATCH = 2_000
MAX_ID_LENGTH = 100
_PREFIXES: dict[type[Any], str] = {
    Project: PROJECT_PREFIX,
    Job: JOB_PREFIX,
    Task: TASK_PREFIX,
}


class SetAsList(Transcoding):
    """Stores sets (a project's members) as sorted JSON lists."""

    type = set
    name = "set"

    def encode(self, obj: set[str]) -> list[str]:
        return sorted(obj)

    def decode(self, data: list[str]) -> set[str]:
        return set(data)


def decided_again_on_conflict(
    command: Callable[Concatenate[ProjectsApplication, Params], Result],
) -> Callable[Concatenate[ProjectsApplication, Params], Result]:
    """Run `command` again, from a fresh load, when a concurrent write wins the race.

    The pause between attempts grows and is random, so that racing writers
    spread out instead of colliding again. Commands on the same resource (the
    argument after the actor) take turns: the threads of a process on a lock
    of their own, and the processes in the store's command scope, so that
    they queue instead of racing each other.

    Where the store can confirm it, the command is first decided on what
    this process saved a moment ago, without reading the store. That answer
    stands only if the store records it, confirming every aggregate it read;
    any other outcome (no change, an error, a refused record) is decided
    again from the store's state.
    """

    decide_on_cache = cast(Callable[..., Result], command)

    def run(
        self: ProjectsApplication, /, *args: Params.args, **kwargs: Params.kwargs
    ) -> Result:
        resource_id = str(args[1])
        turn = self.turns.of(resource_id)
        presumed = self._presumed_actor(cast(Actor, args[0]), resource_id)
        for attempt in range(MAX_ATTEMPTS):
            try:
                with turn, self.scopes.changing(resource_id):
                    if presumed is not None:
                        on_cache, presumed = presumed, None
                        decision = self._decide_on_cache(
                            decide_on_cache, on_cache, args[1:], kwargs
                        )
                        if decision.confirmed:
                            return cast(Result, decision.result)
                        if decision.sent:
                            continue  # The store refused the record: its turn is over.
                    return command(self, *args, **kwargs)
            except RecordConflictError:
                logger.debug(
                    "version conflict in %s, attempt %d", command.__name__, attempt + 1
                )
                pause = min(0.05, 0.001 * 2**attempt)
                time.sleep(random.uniform(0, pause))  # noqa: S311 - jitter, not secrecy
        raise ContentionError(
            "the resources kept changing concurrently; retry the request"
        )

    functools.update_wrapper(run, command)
    return run


class NotOnCacheError(Exception):
    """A decision on cached state cannot be made, or could not be confirmed."""


@dataclass
class _CachedDecision:
    """What a decision on cached state read, how far its record went, its result."""

    loaded: set[str] = field(default_factory=set)
    sent: bool = False
    confirmed: bool = False
    result: Any = None


class Turns:
    """Locks that let the threads of one process change a resource one at a time.

    Resources share a fixed number of locks, so memory stays bounded; two
    resources that share a lock merely wait for each other now and then.
    """

    def __init__(self, stripes: int = 256) -> None:
        self._locks = [threading.Lock() for _ in range(stripes)]

    def of(self, resource_id: str) -> threading.Lock:
        return self._locks[hash(resource_id) % len(self._locks)]


class ProjectsApplication(Application[str]):
    """Projects, jobs and tasks of every workspace, with their assignments."""

    name = "Projects"
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {
        Project: 100,
        Job: 100,
        Task: 100,
    }

    def __init__(
        self,
        factory: InfrastructureFactory[Any],
        read_models: ReadModels,
        cursors: CursorCodec,
        event_log: EventLog,
        scopes: CommandScopes | None = None,
    ) -> None:
        self._given_factory = factory
        self.scopes: CommandScopes = scopes or UnscopedCommands()
        self.read_models = read_models
        self.cursors = cursors
        self.event_log = event_log
        self.turns = Turns()
        # Aggregates as last loaded or saved, never changed in place: a
        # command works on a copy, and a save, or a load that finds newer
        # events, caches a new one.
        self._aggregates: LRUCache[str, Any] = LRUCache(AGGREGATE_CACHE_SIZE)
        self.recent = RecentSaves(AGGREGATE_CACHE_SIZE)
        self._decisions = threading.local()
        super().__init__(env={"IS_SNAPSHOTTING_ENABLED": "y"})
        self._select_newer: Callable[[Mapping[str, int]], Newer] = getattr(
            self.recorder, "select_newer", self._select_newer_one_by_one
        )

    # Commands on projects.

    def create_project(
        self, actor: Actor, name: str, description: str | None
    ) -> ProjectView:
        with _domain_rules():
            project = Project.create(
                workspace_id=actor.workspace_id,
                actor_id=actor.user_id,
                name=name,
                description=description,
            )
        self.save(project)
        return ProjectView.of(project)

    @decided_again_on_conflict
    def update_project(
        self,
        actor: Actor,
        project_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        change_description: bool = False,
        expected_versions: Collection[int] | None = None,
    ) -> ProjectView:
        project = self._load_project(actor, project_id)
        _check_version(project, expected_versions)

        with _domain_rules():
            changed = project.update(
                actor_id=actor.user_id,
                name=name,
                description=description,
                change_description=change_description,
            )
        if changed:
            self.save(project)
        return ProjectView.of(project)

    @decided_again_on_conflict
    def delete_project(
        self,
        actor: Actor,
        project_id: str,
        *,
        expected_versions: Collection[int] | None = None,
    ) -> str:
        project = self._load_project(actor, project_id)
        _check_version(project, expected_versions)
        jobs, tasks = self._load_members(actor, project)
        _require_read_together(project, [*jobs, *tasks])

        with _domain_rules():
            assignment.delete_project(project, jobs, tasks, actor_id=actor.user_id)
        self.save(project, *jobs, *tasks)
        return project.id

    # Commands on assignments.

    @decided_again_on_conflict
    def assign_job(self, actor: Actor, project_id: str, job_id: str) -> ProjectView:
        project, job = self._load_project_and(actor, project_id, Job, job_id)
        _require_read_together(project, [job])

        with _domain_rules():
            changed = assignment.assign_job(project, job, actor_id=actor.user_id)
        if changed:
            self.save(project, job)
        return ProjectView.of(project)

    @decided_again_on_conflict
    def unassign_job(self, actor: Actor, project_id: str, job_id: str) -> ProjectView:
        project, job = self._load_project_and(actor, project_id, Job, job_id)
        _require_read_together(project, [job])

        with _domain_rules(not_assigned_is_missing=True):
            assignment.unassign_job(project, job, actor_id=actor.user_id)
        self.save(project, job)
        return ProjectView.of(project)

    @decided_again_on_conflict
    def assign_task(self, actor: Actor, project_id: str, task_id: str) -> ProjectView:
        project, task = self._load_project_and(actor, project_id, Task, task_id)
        _require_read_together(project, [task])

        with _domain_rules():
            changed = assignment.assign_task(project, task, actor_id=actor.user_id)
        if changed:
            self.save(project, task)
        return ProjectView.of(project)

    @decided_again_on_conflict
    def unassign_task(self, actor: Actor, project_id: str, task_id: str) -> ProjectView:
        project, task = self._load_project_and(actor, project_id, Task, task_id)
        _require_read_together(project, [task])

        with _domain_rules(not_assigned_is_missing=True):
            assignment.unassign_task(project, task, actor_id=actor.user_id)
        self.save(project, task)
        return ProjectView.of(project)

    # Commands on jobs and tasks.

    def create_job(self, actor: Actor, name: str) -> JobView:
        with _domain_rules():
            job = Job.create(
                workspace_id=actor.workspace_id, actor_id=actor.user_id, name=name
            )
        self.save(job)
        return JobView.of(job)

    def create_task(self, actor: Actor, name: str, description: str | None) -> TaskView:
        with _domain_rules():
            task = Task.create(
                workspace_id=actor.workspace_id,
                actor_id=actor.user_id,
                name=name,
                description=description,
            )
        self.save(task)
        return TaskView.of(task)

    @decided_again_on_conflict
    def archive_task(self, actor: Actor, task_id: str) -> TaskView:
        task = self._load(actor, Task, task_id)
        if task.archive(actor_id=actor.user_id):
            self.save(task)
        return TaskView.of(task)

    # Queries.

    def get_project(self, actor: Actor, project_id: str) -> ProjectView:
        view = self.read_models.get_project(actor.workspace_id, project_id)
        if view is None:
            raise NotFoundError("project", project_id)
        return view

    def list_projects(
        self, actor: Actor, limit: int, page: int | None, cursor: str | None
    ) -> Page[ProjectView]:
        scope = ListScope("projects", actor.workspace_id)
        request = self._page_request(scope, limit, page, cursor)
        found = self.read_models.list_projects(actor.workspace_id, request)
        return self._page(scope, request, found)

    def get_job(self, actor: Actor, job_id: str) -> JobView:
        view = self.read_models.get_job(actor.workspace_id, job_id)
        if view is None:
            raise NotFoundError("job", job_id)
        return view

    def list_jobs(
        self,
        actor: Actor,
        limit: int,
        page: int | None,
        cursor: str | None,
        project_id: str | None = None,
    ) -> Page[JobView]:
        scope = ListScope("jobs", actor.workspace_id, project_id)
        request = self._page_request(scope, limit, page, cursor)
        found = self.read_models.list_jobs(actor.workspace_id, request, project_id)
        return self._page(scope, request, found)

    def get_task(self, actor: Actor, task_id: str) -> TaskView:
        view = self.read_models.get_task(actor.workspace_id, task_id)
        if view is None:
            raise NotFoundError("task", task_id)
        return view

    def list_tasks(
        self,
        actor: Actor,
        limit: int,
        page: int | None,
        cursor: str | None,
        project_id: str | None = None,
    ) -> Page[TaskView]:
        scope = ListScope("tasks", actor.workspace_id, project_id)
        request = self._page_request(scope, limit, page, cursor)
        found = self.read_models.list_tasks(actor.workspace_id, request, project_id)
        return self._page(scope, request, found)

    # The event log.

    def list_events(self, actor: Actor, after: int, limit: int) -> FeedPage:
        """The workspace's events after position `after`, in commit order."""
        logged = self.event_log.read(
            after=after, limit=limit + 1, workspace_id=actor.workspace_id
        )
        return FeedPage(
            items=[self._event_view(each) for each in logged[:limit]],
            after=after,
            limit=limit,
            has_more=len(logged) > limit,
        )

    def stream_events(
        self,
        actor: Actor,
        after: int,
        *,
        heartbeat: float,
        should_stop: Callable[[], bool],
    ) -> Iterator[EventView | None]:
        """Yield the workspace's events after `after` as they are committed.

        Yields None when nothing came for `heartbeat` seconds, so that the
        caller can keep the connection alive; ends when `should_stop()`.
        """
        waited = 0.0
        while not should_stop():
            page = self.list_events(actor, after, STREAM_BATCH)
            yield from page.items
            after = page.next_after
            if page.has_more:
                continue
            if page.items:
                waited = 0.0
            started = time.monotonic()
            self.event_log.wait_for_commit(min(heartbeat - waited, STREAM_WAIT))
            waited += time.monotonic() - started
            if waited >= heartbeat:
                waited = 0.0
                yield None

    def export_events(
        self,
        *,
        workspace_id: str | None = None,
        after: int = 0,
        until: int | None = None,
    ) -> Iterator[EventView]:
        """Every event of the log (or of one workspace) in a range of positions."""
        while True:
            batch = self.event_log.read(
                after=after, limit=EXPORT_BATCH, workspace_id=workspace_id, until=until
            )
            if not batch:
                return
            yield from (self._event_view(each) for each in batch)
            after = batch[-1].position

    def project_history(
        self,
        actor: Actor,
        project_id: str,
        limit: int,
        page: int | None,
        cursor: str | None,
    ) -> Page[EventView]:
        """The project's events and its assignments' events, oldest first.

        The history stays readable after the project is deleted.
        """
        scope = ListScope("history", actor.workspace_id, project_id)
        total = self.event_log.count_project(actor.workspace_id, project_id)
        if total == 0:
            raise NotFoundError("project", project_id)
        after, offset = 0, ((page or 1) - 1) * limit
        if cursor is not None:
            after, offset = self.cursors.decode_position(cursor, scope)
        elif offset >= total:
            return Page([], offset // limit + 1, limit, total, False, None)
        logged = self.event_log.read_project(
            actor.workspace_id,
            project_id,
            after=after,
            offset=0 if cursor is not None else offset,
            limit=limit + 1,
        )
        items = [self._event_view(each) for each in logged[:limit]]
        has_more = len(logged) > limit
        next_cursor = None
        if has_more and items:
            next_cursor = self.cursors.encode_position(
                scope, items[-1].position, offset + len(items)
            )
        return Page(
            items=items,
            page=offset // limit + 1,
            limit=limit,
            total=total,
            has_more=has_more,
            next_cursor=next_cursor,
        )

    def get_project_as_of(
        self, actor: Actor, project_id: str, moment: datetime
    ) -> ProjectView:
        """The project as it was at `moment`, rebuilt from its events alone."""
        # Loaded first to refuse ids of other workspaces, deleted projects included.
        self._load(actor, Project, project_id)
        history = itertools.takewhile(
            lambda event: _occurred_at(event) <= moment, self.events.get(project_id)
        )
        then = rebuild(None, history)
        if not isinstance(then, Project) or then.is_deleted:
            raise NotFoundError("project", project_id)
        return ProjectView.of(then)

    def _event_view(self, logged: LoggedEvent) -> EventView:
        event = self.mapper.to_domain_event(logged.stored)
        assert isinstance(event, DomainEvent)
        return EventView.of(event, logged.position)

    # Deciding on cached state.

    def _presumed_actor(self, actor: Actor, resource_id: str) -> Actor | None:
        """Who a command may decide as on cached state, if it may at all.

        It may only where the store confirms such decisions, and where it
        trusts the resource the command names, which every command reads.
        """
        if not self.scopes.confirms_cached_decisions:
            return None
        try:
            cached = self._aggregates.get(resource_id)
        except KeyError:
            return None
        if not self.recent.trusts(resource_id, cached.version):
            return None
        return actor.presumption

    def _decide_on_cache(
        self,
        command: Callable[..., Any],
        actor: Actor,
        args: Sequence[Any],
        kwargs: Mapping[str, Any],
    ) -> _CachedDecision:
        """Run `command` as `actor` on trusted cached aggregates; how far it got.

        Its result stands only when `confirmed`: the store recorded the next
        version of every aggregate it read. Nothing reached the store unless
        `sent`.
        """
        decision = _CachedDecision()
        self._decisions.current = decision
        try:
            decision.result = command(self, actor, *args, **kwargs)
        except (ApplicationError, RecordConflictError, NotOnCacheError) as error:
            if decision.confirmed:
                raise  # What was recorded stands, and so does its error.
            logger.debug(
                "%s not confirmed on cached state: %s", command.__name__, error
            )
        finally:
            self._decisions.current = None
        return decision

    def _cached_decision(self) -> _CachedDecision | None:
        decision: _CachedDecision | None = getattr(self._decisions, "current", None)
        return decision

    # Loading.

    def _load_project(self, actor: Actor, project_id: str) -> Project:
        (project,) = self._load_many(actor, [(Project, project_id)])
        if project is None or project.is_deleted:
            raise NotFoundError("project", project_id)
        return cast(Project, project)

    def _load_project_and(
        self,
        actor: Actor,
        project_id: str,
        kind: type[MemberType],
        member_id: str,
    ) -> tuple[Project, MemberType]:
        """A live project and a job or task, loaded in one go.

        A missing project is reported before a missing member, as if they
        had been loaded one after the other.
        """
        project, member = self._load_many(
            actor, [(Project, project_id), (kind, member_id)]
        )
        if project is None or project.is_deleted:
            raise NotFoundError("project", project_id)
        if member is None:
            raise NotFoundError(kind.__name__.lower(), member_id)
        return cast(Project, project), cast(MemberType, member)

    def _load(
        self, actor: Actor, kind: type[AggregateType], resource_id: str
    ) -> AggregateType:
        """Load an aggregate of the actor's workspace, or raise NotFoundError."""
        (aggregate,) = self._load_many(actor, [(kind, resource_id)])
        if aggregate is None:
            raise NotFoundError(kind.__name__.lower(), resource_id)
        return cast(AggregateType, aggregate)

    def _load_members(
        self, actor: Actor, project: Project
    ) -> tuple[list[Job], list[Task]]:
        wanted: list[tuple[type[Any], str]] = [
            *((Job, job_id) for job_id in sorted(project.job_ids)),
            *((Task, task_id) for task_id in sorted(project.task_ids)),
        ]
        members = self._load_many(actor, wanted)
        jobs = [member for member in members if isinstance(member, Job)]
        tasks = [member for member in members if isinstance(member, Task)]
        if len(jobs) + len(tasks) != len(wanted):
            msg = f"a member of {project.id} could not be loaded"
            raise RecordConflictError(msg)
        return jobs, tasks

    def _load_many(
        self, actor: Actor, wanted: Sequence[tuple[type[Any], str]]
    ) -> list[Any | None]:
        """Aggregates of the actor's workspace, None for each one not found.

        One query brings them all up to date, by any process's writes: a
        cached aggregate with the events after its version, another from its
        latest snapshot and the events after that. Each comes back as a copy
        of its own for the command to change.
        """
        decision = self._cached_decision()
        if decision is not None:
            return self._load_trusted(actor, wanted, decision)

        versions: dict[str, int] = {}
        current: dict[str, Any] = {}
        for kind, resource_id in wanted:
            if not _may_be(kind, resource_id) or resource_id in versions:
                continue
            try:
                current[resource_id] = self._aggregates.get(resource_id)
            except KeyError:
                versions[resource_id] = 0
            else:
                versions[resource_id] = current[resource_id].version
        if versions:
            newer = self._select_newer(versions)
            self._bring_up_to_date(current, newer)
            self._note_writes_elsewhere(versions, newer)
        return _copies_of(actor, wanted, current)

    def _load_trusted(
        self,
        actor: Actor,
        wanted: Sequence[tuple[type[Any], str]],
        decision: _CachedDecision,
    ) -> list[Any | None]:
        """The aggregates as this process saved them, if it trusts them all.

        Raises NotOnCacheError when any of them is not trusted: not cached,
        not saved here a moment ago, or written elsewhere since.
        """
        current: dict[str, Any] = {}
        for _kind, resource_id in wanted:
            try:
                aggregate = self._aggregates.get(resource_id)
            except KeyError:
                raise NotOnCacheError(f"{resource_id} is not cached") from None
            if not self.recent.trusts(resource_id, aggregate.version):
                raise NotOnCacheError(f"{resource_id} is not trusted as cached")
            current[resource_id] = aggregate
            decision.loaded.add(resource_id)
        return _copies_of(actor, wanted, current)

    def _note_writes_elsewhere(self, versions: Mapping[str, int], newer: Newer) -> None:
        """Distrust aggregates that another process wrote while they were trusted.

        Trust in an aggregate this process saved a moment ago turns out
        wrong when the store holds later events; deciding on it would have
        cost a refused record, and the aggregate is likely busy elsewhere.
        """
        written = {str(stored.originator_id) for stored in newer.events}
        for resource_id in {*newer.snapshots, *written}:
            if self.recent.trusts(resource_id, versions.get(resource_id, 0)):
                self.recent.written_elsewhere(resource_id)

    def _bring_up_to_date(self, current: dict[str, Any], newer: Newer) -> None:
        """Apply `newer` to the aggregates in `current`, and cache what changed."""
        events: dict[str, list[Any]] = {}
        for stored in newer.events:
            events.setdefault(str(stored.originator_id), []).append(
                self.mapper.to_domain_event(stored)
            )
        for resource_id, snapshot in newer.snapshots.items():
            current[resource_id] = rebuild(
                None, [self.mapper.to_domain_event(snapshot)]
            )
        for resource_id, later in events.items():
            base = current.get(resource_id)
            if base is not None and resource_id not in newer.snapshots:
                base = copied(base)
            current[resource_id] = rebuild(base, later)
        for resource_id in {*newer.snapshots, *events}:
            self._aggregates.put(resource_id, current[resource_id])

    def _select_newer_one_by_one(self, versions: Mapping[str, int]) -> Newer:
        """What `_load_many` needs, read with the recorders' own queries."""
        newer = Newer()
        for resource_id, version in versions.items():
            after = version
            if self.snapshots is not None:
                latest = self.snapshots.recorder.select_events(
                    resource_id, gt=version, desc=True, limit=1
                )
                if latest:
                    newer.snapshots[resource_id] = latest[0]
                    after = latest[0].originator_version
            newer.events.extend(self.recorder.select_events(resource_id, gt=after))
        return newer

    # Pages.

    def _page_request(
        self, scope: ListScope, limit: int, page: int | None, cursor: str | None
    ) -> PageRequest:
        if cursor is not None:
            after, offset = self.cursors.decode(cursor, scope)
            return PageRequest(limit=limit, offset=offset, after=after)
        return PageRequest(limit=limit, offset=((page or 1) - 1) * limit)

    def _page(
        self, scope: ListScope, request: PageRequest, found: Slice[Any]
    ) -> Page[Any]:
        next_cursor = None
        if found.has_more and found.items:
            last = found.items[-1]
            key = SortKey(updated_at=last.updated_at, id=last.id)
            next_cursor = self.cursors.encode(
                scope, key, request.offset + len(found.items)
            )
        return Page(
            items=found.items,
            page=request.page,
            limit=request.limit,
            total=found.total,
            has_more=found.has_more,
            next_cursor=next_cursor,
        )

    # Hooks of the eventsourcing application.

    def construct_factory(self, env: Any) -> InfrastructureFactory[Any]:
        return self._given_factory

    def construct_mapper(self) -> Mapper[str]:
        transcoder = FastJSONTranscoder()
        self.register_transcodings(transcoder)
        return EventMapper(transcoder)

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(SetAsList())

    def save(self, *aggregates: Any, **kwargs: Any) -> list[Recording[str]]:
        """Record the new events of `aggregates` in one atomic step.

        The library's save does the same for aggregates and events alike,
        checking each object against runtime protocols, which costs more than
        collecting the events; the commands here only ever save aggregates.
        What is recorded is cached as saved, and trusted for a moment.
        """
        processing_event: ProcessingEvent[str] = ProcessingEvent()
        for aggregate in aggregates:
            processing_event.events.extend(aggregate.collect_events())
            processing_event.aggregates[aggregate.id] = aggregate
        processing_event.saved_kwargs.update(kwargs)
        changed = {str(event.originator_id) for event in processing_event.events}

        decision = self._cached_decision()
        if decision is not None:
            if not decision.loaded <= changed:
                msg = "the decision leaves an aggregate it read unchanged"
                raise NotOnCacheError(msg)
            decision.sent = True
        try:
            recordings = self._record(processing_event)
        except RecordConflictError:
            for aggregate_id in changed:
                self.recent.written_elsewhere(aggregate_id)
            raise
        if decision is not None:
            decision.confirmed = True

        for aggregate_id in changed:
            aggregate = processing_event.aggregates[aggregate_id]
            self._aggregates.put(aggregate_id, copied(aggregate))
            self.recent.saved(aggregate_id, aggregate.version)
        self._take_snapshots(processing_event)
        return recordings

    def _record(self, processing_event: ProcessingEvent[str]) -> list[Recording[str]]:
        """Record the events, handing them to the recorder for the read models."""
        return self.events.put(processing_event.events, events=processing_event.events)

    def _take_snapshots(self, processing_event: ProcessingEvent[str]) -> None:
        """Snapshot aggregates whose new events crossed an interval.

        The aggregates in hand are exactly as recorded, so they are snapshotted
        as they are instead of being loaded again.
        """
        if self.snapshots is None:
            return
        due = set()
        for event in processing_event.events:
            aggregate = processing_event.aggregates.get(event.originator_id)
            interval = self.snapshotting_intervals.get(type(aggregate))
            if interval and event.originator_version % interval == 0:
                due.add(event.originator_id)
        for aggregate_id in sorted(due):
            aggregate = processing_event.aggregates[aggregate_id]
            snapshot = Snapshot.take(aggregate)
            try:
                self.snapshots.put([snapshot])
            except RecordConflictError:
                logger.debug("snapshot of %s already taken", aggregate_id)


def _copies_of(
    actor: Actor, wanted: Sequence[tuple[type[Any], str]], current: Mapping[str, Any]
) -> list[Any | None]:
    """Copies of the wanted aggregates of the actor's workspace; None for others."""
    loaded: list[Any | None] = []
    for kind, resource_id in wanted:
        aggregate = current.get(resource_id)
        if (
            not isinstance(aggregate, kind)
            or getattr(aggregate, "workspace_id", None) != actor.workspace_id
        ):
            loaded.append(None)
            continue
        loaded.append(copied(aggregate))
    return loaded


def _occurred_at(event: object) -> datetime:
    assert isinstance(event, DomainEvent)
    return event.timestamp


def _may_be(kind: type[Any], resource_id: str) -> bool:
    """Whether `resource_id` has the form of an id of `kind`."""
    return resource_id.startswith(_PREFIXES[kind]) and len(resource_id) <= MAX_ID_LENGTH


def _require_read_together(project: Project, members: Sequence[Job | Task]) -> None:
    """Refuse to decide on loads that straddle another process's write.

    The project and its members are loaded one after the other, and both
    sides of a membership change are written together. A member that does
    not agree with the project about where it belongs was changed between
    the loads, so the command decides again from fresh ones.
    """
    for member in members:
        listed = member.id in (
            project.job_ids if isinstance(member, Job) else project.task_ids
        )
        if listed != (member.project_id == project.id):
            msg = f"{member.id} changed while {project.id} was being read"
            raise RecordConflictError(msg)


def _check_version(project: Project, expected: Collection[int] | None) -> None:
    if expected is not None and project.version not in expected:
        raise PreconditionFailedError(
            f"{project.id} is at version {project.version}, not the one expected"
        )


class _domain_rules:  # noqa: N801 - used as a context manager, reads as a phrase
    """Translate the domain's refusals into the application's errors."""

    def __init__(self, *, not_assigned_is_missing: bool = False) -> None:
        self.not_assigned_is_missing = not_assigned_is_missing

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, error: Any, trace: Any
    ) -> None:
        if error is None or not isinstance(error, DomainError):
            return
        if isinstance(error, InvalidValueError):
            raise InvalidInputError(error.field, error.problem) from None
        if isinstance(error, AlreadyAssignedError):
            raise ConflictError(str(error)) from None
        if isinstance(error, TaskArchivedError):
            raise RuleViolationError(str(error)) from None
        if isinstance(error, NotAssignedError) and self.not_assigned_is_missing:
            resource_kind = error.resource_id.split("_")[0]
            raise NotFoundError(resource_kind, error.resource_id, str(error)) from None
        if isinstance(error, ProjectDeletedError):
            raise NotFoundError("project", error.project_id) from None
