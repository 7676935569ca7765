"""Row changes join the statement that records their events only when that is safe."""

from __future__ import annotations

from projections.jobs import JOBS
from projections.projects import PROJECTS
from projections.sql import (
    MAX_JOINED_OPERATIONS,
    Delete,
    Increment,
    Insert,
    SqlExecutor,
    Update,
    joined,
)
from projections.workspaces import WORKSPACE_TOTALS


def test_changes_of_distinct_rows_join_with_their_parameters_in_order() -> None:
    operations = [
        Update(PROJECTS, {"id": "proj_1"}, {"version": 4}, {"job_count": 1}),
        Update(JOBS, {"id": "job_1"}, {"project_id": "proj_1", "version": 4}),
    ]

    assert joined(operations) == (
        (
            "o1 AS (UPDATE projects SET version = %s, job_count = job_count + %s "
            "WHERE id = %s)",
            "o2 AS (UPDATE jobs SET project_id = %s, version = %s WHERE id = %s)",
        ),
        [4, 1, "proj_1", "proj_1", 4, "job_1"],
    )


def test_each_kind_of_change_joins_as_the_statement_it_runs_alone() -> None:
    operations = [
        Insert(PROJECTS, {"id": "proj_1", "name": "P"}),
        Increment(WORKSPACE_TOTALS, {"workspace_id": "ws_1"}, {"projects": 1}),
        Delete(JOBS, {"id": "job_1"}),
    ]

    found = joined(operations)

    assert found is not None
    parts, params = found
    for number, (part, operation) in enumerate(
        zip(parts, operations, strict=True), start=1
    ):
        alone, named = SqlExecutor.statement(operation)
        positional = alone
        for name in sorted(named, key=len, reverse=True):
            positional = positional.replace(f":{name}", "%s")
        assert part == f"o{number} AS ({positional})"
    assert params == ["proj_1", "P", "ws_1", 1, "job_1"]


def test_two_changes_of_one_row_run_apart() -> None:
    operations = [
        Insert(PROJECTS, {"id": "proj_1", "name": "P"}),
        Update(PROJECTS, {"id": "proj_1"}, {"name": "Q"}),
    ]

    assert joined(operations) is None


def test_a_change_not_keyed_by_the_primary_key_runs_apart() -> None:
    by_workspace = Update(JOBS, {"workspace_id": "ws_1"}, {"version": 1})

    assert joined([by_workspace]) is None


def test_many_changes_run_apart() -> None:
    operations = [
        Increment(WORKSPACE_TOTALS, {"workspace_id": f"ws_{n}"}, {"projects": 1})
        for n in range(MAX_JOINED_OPERATIONS + 1)
    ]

    assert joined(operations[:-1]) is not None
    assert joined(operations) is None
