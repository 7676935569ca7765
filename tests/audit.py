"""Auditing a store after the fact: the event log, the read models, and replay.

The audit reads the log through the recorder's notifications, so it works on
every store, and it relies only on what stays stable while the service grows:
the events' topics, originators and versions, and the resource ids their
payloads name (found by their prefixes, whatever the fields are called).

Folding the log gives what the rules say the state must be; the read models
must show exactly that, and rebuilding them from the log must change nothing.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from infrastructure.replay import replay
from infrastructure.wiring import Services
from projections.registry import TABLES

ID_PREFIXES = ("proj_", "job_", "task_", "ws_")
PAGE = 5_000


@dataclass(frozen=True)
class LoggedEvent:
    """One recorded event, as much of it as the audit needs."""

    position: int
    originator_id: str
    version: int
    topic: str
    named_ids: tuple[str, ...]

    def named(self, prefix: str) -> list[str]:
        """The ids with `prefix` that the payload names, in order."""
        return [found for found in self.named_ids if found.startswith(prefix)]

    def the(self, prefix: str) -> str:
        """The one id with `prefix` that the payload names."""
        found = self.named(prefix)
        if len(found) != 1:
            raise AssertionError(f"{self} names {found} for {prefix}")
        return found[0]


def logged_events(services: Services) -> list[LoggedEvent]:
    """Every event of the log, in the order of positions."""
    found: list[LoggedEvent] = []
    start = 1
    while True:
        batch = services.recorder.select_notifications(start=start, limit=PAGE)
        found.extend(
            LoggedEvent(
                position=notification.id,
                originator_id=str(notification.originator_id),
                version=notification.originator_version,
                topic=notification.topic,
                named_ids=tuple(_ids_in(json.loads(notification.state))),
            )
            for notification in batch
        )
        if len(batch) < PAGE:
            return found
        start = batch[-1].id + 1


def events_of(services: Services, originator_ids: Iterable[str]) -> list[LoggedEvent]:
    """The events of a few aggregates, each aggregate's in order of version.

    Positions are not read here, so each event's position is 0.
    """
    found = []
    for originator_id in originator_ids:
        for stored in services.recorder.select_events(originator_id):
            found.append(
                LoggedEvent(
                    position=0,
                    originator_id=str(stored.originator_id),
                    version=stored.originator_version,
                    topic=stored.topic,
                    named_ids=tuple(_ids_in(json.loads(stored.state))),
                )
            )
    return found


def _ids_in(value: Any) -> Iterator[str]:
    if isinstance(value, str) and value.startswith(ID_PREFIXES):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _ids_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from _ids_in(item)


@dataclass
class FoldedProject:
    workspace_id: str
    alive: bool = True
    jobs: set[str] = field(default_factory=set)
    tasks: set[str] = field(default_factory=set)


@dataclass
class Fold:
    """What the log says the state is, and every rule it saw broken on the way."""

    projects: dict[str, FoldedProject] = field(default_factory=dict)
    workspaces: dict[str, str] = field(default_factory=dict)
    placements: dict[str, str | None] = field(default_factory=dict)
    archived: set[str] = field(default_factory=set)
    versions: dict[str, int] = field(default_factory=dict)
    topics: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    def problem(self, event: LoggedEvent, what: str) -> None:
        self.problems.append(f"{event.topic} of {event.originator_id}: {what}")


def fold(events: Iterable[LoggedEvent]) -> Fold:
    """Fold the log as the rules read it, noting each rule it breaks."""
    state = Fold()
    for event in events:
        state.topics[event.topic] += 1
        expected_version = state.versions.get(event.originator_id, 0) + 1
        if event.version != expected_version:
            state.problem(event, f"version {event.version}, not {expected_version}")
        state.versions[event.originator_id] = event.version
        _apply(state, event)

    for project_id, project in state.projects.items():
        for kind, members in (("job_", project.jobs), ("task_", project.tasks)):
            placed_here = {
                member
                for member, placed in state.placements.items()
                if placed == project_id and member.startswith(kind)
            }
            if placed_here != members:
                state.problems.append(
                    f"{project_id} holds {sorted(members)} but "
                    f"{sorted(placed_here)} say they are in it"
                )
    return state


def _apply(state: Fold, event: LoggedEvent) -> None:
    topic, subject = event.topic, event.originator_id
    if topic in {"ProjectCreated", "JobCreated", "TaskCreated"}:
        state.workspaces[subject] = event.the("ws_")
    if topic == "ProjectCreated":
        state.projects[subject] = FoldedProject(event.the("ws_"))
        return
    if topic in {"JobCreated", "TaskCreated"}:
        state.placements[subject] = None
        return
    if topic in {"JobAssigned", "TaskAssigned"}:
        if state.placements.get(subject) is not None:
            state.problem(event, f"already in {state.placements[subject]}")
        if subject in state.archived:
            state.problem(event, "an archived task was assigned")
        state.placements[subject] = event.the("proj_")
        return
    if topic in {"JobUnassigned", "TaskUnassigned"}:
        if state.placements.get(subject) != event.the("proj_"):
            state.problem(event, f"was in {state.placements.get(subject)}")
        state.placements[subject] = None
        return
    if topic == "TaskArchived":
        if subject in state.archived:
            state.problem(event, "archived twice")
        state.archived.add(subject)
        return

    project = state.projects.get(subject)
    if project is None:
        if topic.startswith(("Project", "JobAdded", "JobRemoved", "TaskAdded")):
            state.problem(event, "no such project")
        return
    if not project.alive:
        state.problem(event, "the project was already deleted")
    if topic == "ProjectDeleted":
        released = set(event.named("job_")) | set(event.named("task_"))
        if released != project.jobs | project.tasks:
            state.problem(event, f"released {sorted(released)}")
        project.alive = False
        project.jobs.clear()
        project.tasks.clear()
    elif topic in {"JobAddedToProject", "JobRemovedFromProject"}:
        _change_members(state, event, project.jobs, event.the("job_"))
    elif topic in {"TaskAddedToProject", "TaskRemovedFromProject"}:
        _change_members(state, event, project.tasks, event.the("task_"))


def _change_members(
    state: Fold, event: LoggedEvent, members: set[str], member: str
) -> None:
    if "Added" in event.topic:
        if member in members:
            state.problem(event, f"{member} added twice")
        members.add(member)
    else:
        if member not in members:
            state.problem(event, f"{member} removed but not there")
        members.discard(member)


# Read models.

Rows = dict[str, list[dict[str, Any]]]


def read_model_rows(services: Services) -> Rows:
    """Every row of every read-model table, in a stable order."""
    rows: Rows = {}
    with services.database.reading() as session:
        for table in TABLES:
            found = session.fetch(f"SELECT * FROM {table.name}")
            key = table.primary_key
            rows[table.name] = sorted(
                found, key=lambda row: tuple(str(row[name]) for name in key)
            )
    return rows


def read_model_problems(
    state: Fold, rows: Rows, workspaces: Iterable[str] | None = None
) -> list[str]:
    """Where the read models differ from the folded log, in `workspaces` or all."""
    wanted = None if workspaces is None else set(workspaces)

    def ours(workspace_id: str) -> bool:
        return wanted is None or workspace_id in wanted

    problems: list[str] = []
    projects = {row["id"]: row for row in rows["projects"] if ours(row["workspace_id"])}
    live = {
        project_id: project
        for project_id, project in state.projects.items()
        if project.alive and ours(project.workspace_id)
    }
    if set(projects) != set(live):
        problems.append(
            f"project rows {sorted(set(projects) ^ set(live))} differ from the log"
        )
    for project_id in set(projects) & set(live):
        row, project = projects[project_id], live[project_id]
        if (row["job_count"], row["task_count"]) != (
            len(project.jobs),
            len(project.tasks),
        ):
            problems.append(
                f"{project_id} counts {row['job_count']} jobs and "
                f"{row['task_count']} tasks, the log {len(project.jobs)} and "
                f"{len(project.tasks)}"
            )
        if int(row["version"]) != state.versions[project_id]:
            problems.append(f"{project_id} row is at version {row['version']}")

    for table, prefix in (("jobs", "job_"), ("tasks", "task_")):
        members = {row["id"]: row for row in rows[table] if ours(row["workspace_id"])}
        logged = {
            member
            for member, workspace_id in state.workspaces.items()
            if member.startswith(prefix) and ours(workspace_id)
        }
        if set(members) != logged:
            problems.append(
                f"{table} rows {sorted(set(members) ^ logged)} differ from the log"
            )
        for member_id, row in members.items():
            placed = state.placements.get(member_id)
            if row["project_id"] != placed:
                problems.append(
                    f"{member_id} row says {row['project_id']}, the log {placed}"
                )
            if row["project_id"] is not None and row["project_id"] not in projects:
                problems.append(f"{member_id} points at {row['project_id']}, gone")
            if int(row["version"]) != state.versions.get(member_id):
                problems.append(f"{member_id} row is at version {row['version']}")
            if table == "tasks" and (row["archived_at"] is not None) != (
                member_id in state.archived
            ):
                problems.append(f"{member_id} row is wrong about being archived")

    problems.extend(_total_problems(state, rows, ours))
    return problems


def _total_problems(state: Fold, rows: Rows, ours: Any) -> list[str]:
    expected: dict[str, Counter[str]] = {}
    for resource_id, workspace_id in state.workspaces.items():
        if not ours(workspace_id):
            continue
        counts = expected.setdefault(workspace_id, Counter())
        if resource_id.startswith("proj_"):
            counts["projects"] += state.projects[resource_id].alive
        elif resource_id.startswith("job_"):
            counts["jobs"] += 1
        else:
            counts["tasks"] += 1

    problems = []
    totals = {
        row["workspace_id"]: row
        for row in rows["workspace_totals"]
        if ours(row["workspace_id"])
    }
    for workspace_id in set(totals) | set(expected):
        row = totals.get(workspace_id, {})
        counts = expected.get(workspace_id, Counter())
        for column in ("projects", "jobs", "tasks"):
            if int(row.get(column, 0)) != counts[column]:
                problems.append(
                    f"{workspace_id} totals {row.get(column, 0)} {column}, "
                    f"the log {counts[column]}"
                )
    return problems


def replay_changes(services: Services) -> list[str]:
    """Rebuild the read models from the log; the rows that the rebuild changed."""
    before = read_model_rows(services)
    replay(services)
    after = read_model_rows(services)

    changes = []
    for table in TABLES:
        old = {_key(table.primary_key, row): row for row in before[table.name]}
        new = {_key(table.primary_key, row): row for row in after[table.name]}
        for key in sorted(set(old) | set(new)):
            if old.get(key) != new.get(key):
                changes.append(f"{table.name} {key}: {old.get(key)} -> {new.get(key)}")
    return changes


def _key(columns: tuple[str, ...], row: dict[str, Any]) -> str:
    return "/".join(str(row[name]) for name in columns)
