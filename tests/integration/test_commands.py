"""The application's commands and queries, run on memory, SQLite and PostgreSQL."""

from __future__ import annotations

import time

import pytest

from application.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PreconditionFailedError,
    RuleViolationError,
)
from application.views import Actor
from infrastructure.wiring import Services
from tests.conftest import new_member


def test_a_new_project_is_listed_with_no_members(
    services: Services, actor: Actor
) -> None:
    app = services.application

    created = app.create_project(actor, "  Q3 Research Sprint ", "All research jobs")

    found = app.get_project(actor, created.id)
    assert found == created
    assert found.name == "Q3 Research Sprint"
    assert (found.job_count, found.task_count) == (0, 0)
    assert app.list_projects(actor, 20, 1, None).items == [created]


def test_an_assigned_job_counts_in_its_project_and_points_at_it(
    services: Services, actor: Actor
) -> None:
    app = services.application
    project = app.create_project(actor, "P", None)
    job = app.create_job(actor, "J")

    answered = app.assign_job(actor, project.id, job.id)

    assert answered.job_count == 1
    assert answered.updated_at == project.updated_at
    assert app.get_project(actor, project.id).job_count == 1
    assert app.get_job(actor, job.id).project_id == project.id
    assert [j.id for j in app.list_jobs(actor, 20, 1, None, project.id).items] == [
        job.id
    ]


def test_assigning_a_job_twice_to_the_same_project_changes_nothing(
    services: Services, actor: Actor
) -> None:
    app = services.application
    project = app.create_project(actor, "P", None)
    job = app.create_job(actor, "J")
    first = app.assign_job(actor, project.id, job.id)

    second = app.assign_job(actor, project.id, job.id)

    assert second == first


def test_a_job_in_another_project_is_not_taken(
    services: Services, actor: Actor
) -> None:
    app = services.application
    first = app.create_project(actor, "First", None)
    second = app.create_project(actor, "Second", None)
    job = app.create_job(actor, "J")
    app.assign_job(actor, first.id, job.id)

    with pytest.raises(ConflictError) as raised:
        app.assign_job(actor, second.id, job.id)

    assert str(raised.value) == f"{job.id} is already assigned to project {first.id}"
    assert app.get_project(actor, second.id).job_count == 0


def test_an_archived_task_cannot_be_added(services: Services, actor: Actor) -> None:
    app = services.application
    project = app.create_project(actor, "P", None)
    task = app.create_task(actor, "T", None)
    app.archive_task(actor, task.id)

    with pytest.raises(RuleViolationError, match=task.id):
        app.assign_task(actor, project.id, task.id)


def test_an_archived_task_keeps_its_project_and_can_leave_it(
    services: Services, actor: Actor
) -> None:
    app = services.application
    project = app.create_project(actor, "P", None)
    task = app.create_task(actor, "T", "d")
    app.assign_task(actor, project.id, task.id)

    archived = app.archive_task(actor, task.id)
    again = app.archive_task(actor, task.id)
    left = app.unassign_task(actor, project.id, task.id)

    assert archived.archived and archived.project_id == project.id
    assert again == archived
    assert left.task_count == 0
    assert app.get_task(actor, task.id).project_id is None


def test_unassigning_a_job_that_is_not_in_the_project_is_not_found(
    services: Services, actor: Actor
) -> None:
    app = services.application
    project = app.create_project(actor, "P", None)
    job = app.create_job(actor, "J")

    with pytest.raises(NotFoundError):
        app.unassign_job(actor, project.id, job.id)


def test_deleting_a_project_releases_its_jobs_and_tasks(
    services: Services, actor: Actor
) -> None:
    app = services.application
    project = app.create_project(actor, "P", None)
    jobs = [app.create_job(actor, f"J{n}") for n in range(3)]
    task = app.create_task(actor, "T", None)
    for job in jobs:
        app.assign_job(actor, project.id, job.id)
    app.assign_task(actor, project.id, task.id)

    app.delete_project(actor, project.id)

    with pytest.raises(NotFoundError):
        app.get_project(actor, project.id)
    with pytest.raises(NotFoundError):
        app.delete_project(actor, project.id)
    assert all(app.get_job(actor, job.id).project_id is None for job in jobs)
    assert app.get_task(actor, task.id).project_id is None
    assert app.list_projects(actor, 20, 1, None).total == 0


def test_a_project_of_many_members_is_deleted_in_one_step(
    services: Services, actor: Actor
) -> None:
    """More aggregates and events than a statement lists one by one."""
    app = services.application
    project = app.create_project(actor, "P", None)
    jobs = [app.create_job(actor, f"J{n}") for n in range(40)]
    for job in jobs:
        app.assign_job(actor, project.id, job.id)
    before = app.list_events(actor, 0, 1000).items[-1].position

    app.delete_project(actor, project.id)

    written = app.list_events(actor, before, 1000).items
    assert len(written) == 1 + len(jobs)
    assert {event.resource_id for event in written} == {
        project.id,
        *(job.id for job in jobs),
    }
    assert all(app.get_job(actor, job.id).project_id is None for job in jobs)
    # Loaded again, from the cache or the store, every job is free to move.
    other = app.create_project(actor, "Q", None)
    for job in jobs:
        app.assign_job(actor, other.id, job.id)
    assert app.get_project(actor, other.id).job_count == len(jobs)


def test_a_deleted_project_takes_no_new_members(
    services: Services, actor: Actor
) -> None:
    app = services.application
    project = app.create_project(actor, "P", None)
    job = app.create_job(actor, "J")
    app.delete_project(actor, project.id)

    with pytest.raises(NotFoundError):
        app.assign_job(actor, project.id, job.id)


def test_updating_changes_updated_at_only_when_something_changed(
    services: Services, actor: Actor
) -> None:
    app = services.application
    project = app.create_project(actor, "P", "old")

    same = app.update_project(actor, project.id, name="P")
    cleared = app.update_project(
        actor, project.id, description=None, change_description=True
    )

    assert same == project
    assert cleared.description is None
    assert cleared.updated_at >= project.updated_at
    assert cleared.version == project.version + 1


def test_a_stale_expected_version_changes_nothing(
    services: Services, actor: Actor
) -> None:
    app = services.application
    project = app.create_project(actor, "P", None)
    app.update_project(actor, project.id, name="Q")

    with pytest.raises(PreconditionFailedError):
        app.update_project(
            actor, project.id, name="R", expected_versions={project.version}
        )
    with pytest.raises(PreconditionFailedError):
        app.delete_project(actor, project.id, expected_versions={project.version})

    assert app.get_project(actor, project.id).name == "Q"


def test_names_are_checked(services: Services, actor: Actor) -> None:
    app = services.application

    with pytest.raises(InvalidInputError, match="name"):
        app.create_project(actor, "   ", None)
    with pytest.raises(InvalidInputError, match="name"):
        app.create_project(actor, "x" * 201, None)
    with pytest.raises(InvalidInputError, match="description"):
        app.create_project(actor, "ok", "x" * 10_001)


def test_another_workspace_sees_nothing(services: Services, actor: Actor) -> None:
    app = services.application
    stranger = new_member(services).actor
    project = app.create_project(actor, "P", None)
    job = app.create_job(actor, "J")
    task = app.create_task(actor, "T", None)

    for attempt in (
        lambda: app.get_project(stranger, project.id),
        lambda: app.get_job(stranger, job.id),
        lambda: app.get_task(stranger, task.id),
        lambda: app.assign_job(stranger, project.id, job.id),
        lambda: app.delete_project(stranger, project.id),
        lambda: app.archive_task(stranger, task.id),
    ):
        with pytest.raises(NotFoundError):
            attempt()
    assert app.list_projects(stranger, 20, 1, None).total == 0
    stranger_project = app.create_project(stranger, "S", None)
    with pytest.raises(NotFoundError):
        app.assign_job(stranger, stranger_project.id, job.id)


def test_projects_are_listed_newest_update_first_then_by_id(
    services: Services, actor: Actor
) -> None:
    app = services.application
    projects = [app.create_project(actor, f"P{n}", None) for n in range(5)]
    time.sleep(0.002)
    app.update_project(actor, projects[1].id, name="renamed")

    listed = app.list_projects(actor, 20, 1, None).items

    expected = sorted(
        (app.get_project(actor, p.id) for p in projects),
        key=lambda p: (p.updated_at, p.id),
        reverse=True,
    )
    assert listed == expected
    assert listed[0].id == projects[1].id


def test_cursor_pages_walk_the_whole_list_once(
    services: Services, actor: Actor
) -> None:
    app = services.application
    created = {app.create_project(actor, f"P{n}", None).id for n in range(7)}

    seen: list[str] = []
    page = app.list_projects(actor, 3, 1, None)
    pages = [page]
    while page.next_cursor:
        page = app.list_projects(actor, 3, None, page.next_cursor)
        pages.append(page)
        seen.extend(p.id for p in page.items)
    seen = [p.id for p in pages[0].items] + seen

    assert sorted(seen) == sorted(created)
    assert len(seen) == len(set(seen))
    assert [p.page for p in pages] == [1, 2, 3]
    assert pages[-1].has_more is False
    assert all(p.total == 7 and p.total_pages == 3 for p in pages)


def test_a_cursor_the_service_did_not_issue_is_refused(
    services: Services, actor: Actor
) -> None:
    app = services.application
    for n in range(3):
        app.create_project(actor, f"P{n}", None)
    cursor = app.list_projects(actor, 1, 1, None).next_cursor
    assert cursor is not None
    forged = cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB")

    for bad in (forged, "garbage", "a.b", ""):
        with pytest.raises(InvalidInputError, match="cursor"):
            app.list_projects(actor, 1, None, bad)
    with pytest.raises(InvalidInputError, match="cursor"):
        app.list_jobs(actor, 1, None, cursor)


def test_a_page_past_the_end_is_empty(services: Services, actor: Actor) -> None:
    app = services.application
    app.create_project(actor, "P", None)

    page = app.list_projects(actor, 20, 10**12, None)

    assert page.items == [] and page.total == 1 and page.has_more is False


@pytest.mark.parametrize("project_state", ["missing", "deleted", "elsewhere"])
def test_a_project_that_is_not_there_is_reported_before_its_member(
    services: Services, actor: Actor, project_state: str
) -> None:
    app = services.application
    if project_state == "missing":
        project_id = "proj_01m8000000000000000000000"
    elif project_state == "deleted":
        project_id = app.create_project(actor, "P", None).id
        app.delete_project(actor, project_id)
    else:
        stranger = new_member(services).actor
        project_id = app.create_project(stranger, "P", None).id

    for assign in (app.assign_job, app.assign_task):
        with pytest.raises(NotFoundError) as raised:
            assign(actor, project_id, "job_missing")
        assert project_id in str(raised.value)
