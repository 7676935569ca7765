"""The audit that the soak and fault tests rely on notices a broken log.

Those tests pass when the audit finds nothing, so it must be shown to find
what it looks for: a member in two projects, a count without its member, a
deletion that left a member behind.
"""

from __future__ import annotations

from tests.audit import LoggedEvent, fold

WORKSPACE = "ws_1"


def logged(
    position: int, subject: str, version: int, topic: str, *ids: str
) -> LoggedEvent:
    return LoggedEvent(position, subject, version, topic, (WORKSPACE, *ids))


def a_project_and_a_job() -> list[LoggedEvent]:
    return [
        logged(1, "proj_a", 1, "ProjectCreated"),
        logged(2, "proj_b", 1, "ProjectCreated"),
        logged(3, "job_1", 1, "JobCreated"),
    ]


def test_a_consistent_assignment_and_deletion_fold_without_problems() -> None:
    events = [
        *a_project_and_a_job(),
        logged(4, "job_1", 2, "JobAssigned", "proj_a"),
        logged(5, "proj_a", 2, "JobAddedToProject", "job_1"),
        logged(6, "job_1", 3, "JobUnassigned", "proj_a"),
        logged(7, "proj_a", 3, "ProjectDeleted", "job_1"),
    ]

    state = fold(events)

    assert state.problems == []
    assert state.placements["job_1"] is None
    assert not state.projects["proj_a"].alive


def test_a_job_assigned_to_a_second_project_is_a_problem() -> None:
    events = [
        *a_project_and_a_job(),
        logged(4, "job_1", 2, "JobAssigned", "proj_a"),
        logged(5, "proj_a", 2, "JobAddedToProject", "job_1"),
        logged(6, "job_1", 3, "JobAssigned", "proj_b"),
        logged(7, "proj_b", 2, "JobAddedToProject", "job_1"),
    ]

    state = fold(events)

    assert any("already in proj_a" in problem for problem in state.problems)


def test_a_job_counted_without_its_assignment_is_a_problem() -> None:
    events = [
        *a_project_and_a_job(),
        logged(4, "proj_a", 2, "JobAddedToProject", "job_1"),
    ]

    state = fold(events)

    assert any("proj_a holds ['job_1']" in problem for problem in state.problems)


def test_a_deletion_that_left_a_member_behind_is_a_problem() -> None:
    events = [
        *a_project_and_a_job(),
        logged(4, "job_1", 2, "JobAssigned", "proj_a"),
        logged(5, "proj_a", 2, "JobAddedToProject", "job_1"),
        logged(6, "proj_a", 3, "ProjectDeleted", "job_1"),
    ]

    state = fold(events)

    assert any("say they are in it" in problem for problem in state.problems)


def test_a_gap_in_an_aggregates_versions_is_a_problem() -> None:
    events = [*a_project_and_a_job(), logged(4, "proj_a", 3, "ProjectUpdated")]

    state = fold(events)

    assert state.problems == ["ProjectUpdated of proj_a: version 3, not 2"]
