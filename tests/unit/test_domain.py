"""Rules of the domain, checked on the aggregates alone, without any store."""

from __future__ import annotations

import copy

import pytest

from domain import assignment
from domain.errors import (
    AlreadyAssignedError,
    IncompleteMembersError,
    InvalidValueError,
    NotAssignedError,
    ProjectDeletedError,
    TaskArchivedError,
    WorkspaceMismatchError,
)
from domain.events import DomainEvent
from domain.identifiers import PROJECT_PREFIX, new_id
from domain.job import Job
from domain.project import Project
from domain.task import Task

WORKSPACE = "ws_test"
ACTOR = "user_test"


def project(name: str = "P") -> Project:
    return Project.create(
        workspace_id=WORKSPACE, actor_id=ACTOR, name=name, description=None
    )


def job() -> Job:
    return Job.create(workspace_id=WORKSPACE, actor_id=ACTOR, name="J")


def task() -> Task:
    return Task.create(
        workspace_id=WORKSPACE, actor_id=ACTOR, name="T", description=None
    )


def test_new_ids_carry_their_prefix_and_sort_by_creation() -> None:
    first = new_id(PROJECT_PREFIX)
    later = [new_id(PROJECT_PREFIX) for _ in range(1000)]

    assert first.startswith("proj_") and len(first) == len("proj_") + 26
    assert len(set(later)) == 1000
    assert all(identifier[:15] >= first[:15] for identifier in later)


def test_every_event_records_the_workspace_the_actor_and_a_millisecond_time() -> None:
    created = project()

    event = created.pending_events[0]

    assert isinstance(event, DomainEvent)
    assert (event.workspace_id, event.actor_id) == (WORKSPACE, ACTOR)
    assert event.timestamp.microsecond % 1000 == 0
    assert event.type_name == "ProjectCreated"


def test_names_are_trimmed_and_bounded() -> None:
    assert project("  spaced  ").name == "spaced"
    for bad in ("", "   ", "x" * 201, "nul\x00name"):
        with pytest.raises(InvalidValueError):
            project(bad)


def test_assigning_records_the_change_on_both_sides() -> None:
    p, j = project(), job()

    changed = assignment.assign_job(p, j, actor_id=ACTOR)

    assert changed
    assert j.project_id == p.id and p.job_ids == {j.id}
    assert [e.type_name for e in j.pending_events][-1] == "JobAssigned"
    assert [e.type_name for e in p.pending_events][-1] == "JobAddedToProject"


def test_a_job_already_in_the_project_is_left_as_it_is() -> None:
    p, j = project(), job()
    assignment.assign_job(p, j, actor_id=ACTOR)
    versions = (p.version, j.version)

    changed = assignment.assign_job(p, j, actor_id=ACTOR)

    assert not changed
    assert (p.version, j.version) == versions


def test_a_job_in_another_project_must_be_unassigned_first() -> None:
    first, second, j = project(), project(), job()
    assignment.assign_job(first, j, actor_id=ACTOR)

    with pytest.raises(AlreadyAssignedError) as raised:
        assignment.assign_job(second, j, actor_id=ACTOR)

    assert str(raised.value) == f"{j.id} is already assigned to project {first.id}"
    assert second.job_ids == set()


def test_an_archived_task_is_refused_before_any_conflict() -> None:
    first, second, t = project(), project(), task()
    assignment.assign_task(first, t, actor_id=ACTOR)
    t.archive(actor_id=ACTOR)

    with pytest.raises(TaskArchivedError):
        assignment.assign_task(second, t, actor_id=ACTOR)
    with pytest.raises(TaskArchivedError):
        assignment.assign_task(first, t, actor_id=ACTOR)


def test_archiving_twice_records_one_event() -> None:
    t = task()

    assert t.archive(actor_id=ACTOR)
    assert not t.archive(actor_id=ACTOR)

    assert [e.type_name for e in t.pending_events] == ["TaskCreated", "TaskArchived"]


def test_a_member_that_is_not_in_the_project_cannot_leave_it() -> None:
    p, j = project(), job()

    with pytest.raises(NotAssignedError):
        assignment.unassign_job(p, j, actor_id=ACTOR)


def test_deleting_a_project_releases_every_member() -> None:
    p, jobs, t = project(), [job(), job()], task()
    for each in jobs:
        assignment.assign_job(p, each, actor_id=ACTOR)
    assignment.assign_task(p, t, actor_id=ACTOR)

    assignment.delete_project(p, jobs, [t], actor_id=ACTOR)

    assert p.is_deleted and p.job_ids == set() and p.task_ids == set()
    assert all(each.project_id is None for each in jobs)
    assert t.project_id is None


def test_a_project_cannot_be_deleted_without_all_its_members() -> None:
    p, jobs = project(), [job(), job()]
    for each in jobs:
        assignment.assign_job(p, each, actor_id=ACTOR)

    with pytest.raises(IncompleteMembersError):
        assignment.delete_project(p, jobs[:1], [], actor_id=ACTOR)

    assert not p.is_deleted


def test_nothing_happens_to_a_deleted_project() -> None:
    p = project()
    assignment.delete_project(p, [], [], actor_id=ACTOR)

    with pytest.raises(ProjectDeletedError):
        p.update(actor_id=ACTOR, name="again")
    with pytest.raises(ProjectDeletedError):
        assignment.assign_job(p, job(), actor_id=ACTOR)
    with pytest.raises(ProjectDeletedError):
        p.delete(actor_id=ACTOR)


def test_resources_of_two_workspaces_are_never_joined() -> None:
    p = project()
    stranger = Job.create(workspace_id="ws_other", actor_id=ACTOR, name="J")

    with pytest.raises(WorkspaceMismatchError):
        assignment.assign_job(p, stranger, actor_id=ACTOR)

    assert stranger.project_id is None and p.job_ids == set()


def test_an_update_that_changes_nothing_records_nothing() -> None:
    p = project()

    changed = p.update(actor_id=ACTOR, name=" P ")

    assert not changed
    assert len(p.pending_events) == 1


def test_a_copied_aggregate_changes_apart_from_its_original() -> None:
    project = Project.create(
        workspace_id="ws_1", actor_id="user_1", name="P", description=None
    )
    project.collect_events()
    job = Job.create(workspace_id="ws_1", actor_id="user_1", name="J")
    twin = copy.deepcopy(project)

    assert vars(twin) == vars(project)
    assignment.assign_job(twin, job, actor_id="user_1")

    assert twin.job_ids == {job.id}
    assert project.job_ids == set()
    assert project.version == twin.version - 1
    assert project.collect_events() == []
