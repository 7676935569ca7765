"""Assignments and guarded updates racing each other on two processes of one service.

Racing requests are released together by a barrier and spread over both
server processes, so they meet only in the database.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import pytest
import requests

from tests.e2e.support import (
    COUNT_FIELDS,
    Client,
    Deployment,
    assign,
    create_assignable,
    create_job,
    create_project,
    create_task,
    describe,
    expect,
    expect_error,
    unassign,
)

pytestmark = pytest.mark.e2e

ROUNDS = 10
RIVAL_PROJECTS = 20
DELETION_ROUNDS = 12
JOBS_RACING_A_DELETION = 10
TASKS_RACING_A_DELETION = 5
JOINERS = 40
LEAVING_ROUNDS = 5
RIVAL_TAKERS = 10
ETAG_ROUNDS = 3
ETAG_RIVALS = 10
BARRIER_TIMEOUT_SECONDS = 30


@pytest.fixture
def client(postgres_deployment: Deployment) -> Client:
    """A user alone in a new workspace of the two-process PostgreSQL deployment."""
    return postgres_deployment.client(postgres_deployment.new_member())


@pytest.fixture(params=["jobs", "tasks"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def all_at_once(
    calls: list[Callable[[], requests.Response]],
) -> list[requests.Response]:
    """Make every call from a thread of its own, all released at the same moment."""
    barrier = threading.Barrier(len(calls), timeout=BARRIER_TIMEOUT_SECONDS)

    def released(call: Callable[[], requests.Response]) -> requests.Response:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(released, call) for call in calls]
        return [future.result() for future in futures]


def statuses_of(answers: list[requests.Response]) -> list[int]:
    return sorted(answer.status_code for answer in answers)


def unexpected(answers: list[requests.Response], *expected: int) -> list[str]:
    """The answers whose status is none of `expected`, described for a report."""
    return [
        describe(answer) for answer in answers if answer.status_code not in expected
    ]


def get(client: Client, path: str) -> Any:
    return expect(client.get(path), 200)


def test_of_twenty_projects_racing_for_one_job_or_task_exactly_one_wins(
    client: Client, kind: str
) -> None:
    for _ in range(ROUNDS):
        assignable = create_assignable(client, kind)
        rivals = [
            create_project(client, f"Rival {number}")
            for number in range(RIVAL_PROJECTS)
        ]

        answers = all_at_once(
            [
                partial(
                    assign, client.pinned_to(turn), rival["id"], kind, assignable["id"]
                )
                for turn, rival in enumerate(rivals)
            ]
        )

        assert statuses_of(answers) == [200] + [409] * (RIVAL_PROJECTS - 1), unexpected(
            answers, 200, 409
        )
        winner = next(
            rival
            for rival, answer in zip(rivals, answers, strict=True)
            if answer.status_code == 200
        )
        for answer in answers:
            if answer.status_code == 409:
                assert expect_error(answer, 409)["message"] == (
                    f"{assignable['id']} is already assigned to project {winner['id']}"
                )
        got = get(client, f"/v1/{kind}/{assignable['id']}")
        assert got["projectId"] == winner["id"]
        counts = {
            rival["id"]: get(client, f"/v1/projects/{rival['id']}")[COUNT_FIELDS[kind]]
            for rival in rivals
        }
        assert sum(counts.values()) == 1
        assert counts[winner["id"]] == 1


def test_assignments_racing_a_project_s_deletion_leave_nothing_pointing_at_it(
    client: Client,
) -> None:
    for _ in range(DELETION_ROUNDS):
        project = create_project(client, "Doomed")
        jobs = [create_job(client) for _ in range(JOBS_RACING_A_DELETION)]
        tasks = [create_task(client) for _ in range(TASKS_RACING_A_DELETION)]
        racers = [("jobs", job) for job in jobs] + [("tasks", task) for task in tasks]
        deletion = partial(client.pinned_to(0).delete, f"/v1/projects/{project['id']}")

        *assignments, deleted = all_at_once(
            [
                partial(
                    assign, client.pinned_to(turn), project["id"], kind, racer["id"]
                )
                for turn, (kind, racer) in enumerate(racers)
            ]
            + [deletion]
        )

        assert deleted.status_code == 200, describe(deleted)
        assert not unexpected(assignments, 200, 404), unexpected(assignments, 200, 404)
        for (kind, racer), answer in zip(racers, assignments, strict=True):
            got = get(client, f"/v1/{kind}/{racer['id']}")
            assert got["projectId"] is None, (
                f"{racer['id']} points at deleted {project['id']}; "
                f"its assignment answered {describe(answer)}"
            )
        for kind in ("jobs", "tasks"):
            listed = get(client, f"/v1/{kind}?projectId={project['id']}")
            assert listed["data"] == []
            assert listed["pagination"]["total"] == 0
        expect_error(client.get(f"/v1/projects/{project['id']}"), 404)


def test_forty_jobs_or_tasks_joining_one_project_at_once_all_get_in(
    client: Client, kind: str
) -> None:
    project = create_project(client)
    joiners = [create_assignable(client, kind) for _ in range(JOINERS)]

    answers = all_at_once(
        [
            partial(assign, client.pinned_to(turn), project["id"], kind, joiner["id"])
            for turn, joiner in enumerate(joiners)
        ]
    )

    assert statuses_of(answers) == [200] * JOINERS, unexpected(answers, 200)
    assert get(client, f"/v1/projects/{project['id']}")[COUNT_FIELDS[kind]] == JOINERS
    listed = get(client, f"/v1/{kind}?projectId={project['id']}&limit=100")
    assert sorted(item["id"] for item in listed["data"]) == sorted(
        joiner["id"] for joiner in joiners
    )
    assert listed["pagination"]["total"] == JOINERS


@pytest.mark.parametrize("leaving", ["unassigned", "project-deleted"])
def test_a_job_leaving_its_project_while_others_race_for_it_is_in_one_at_most(
    client: Client, leaving: str
) -> None:
    for _ in range(LEAVING_ROUNDS):
        holder = create_project(client, "Holder")
        job = create_job(client)
        expect(assign(client, holder["id"], "jobs", job["id"]), 200)
        rivals = [create_project(client, f"Rival {n}") for n in range(RIVAL_TAKERS)]
        if leaving == "unassigned":
            leave = partial(
                unassign, client.pinned_to(0), holder["id"], "jobs", job["id"]
            )
        else:
            leave = partial(client.pinned_to(0).delete, f"/v1/projects/{holder['id']}")

        left, *takes = all_at_once(
            [leave]
            + [
                partial(assign, client.pinned_to(turn), rival["id"], "jobs", job["id"])
                for turn, rival in enumerate(rivals, start=1)
            ]
        )

        assert left.status_code == 200, describe(left)
        assert not unexpected(takes, 200, 409), unexpected(takes, 200, 409)
        winners = [
            rival
            for rival, take in zip(rivals, takes, strict=True)
            if take.status_code == 200
        ]
        assert len(winners) <= 1, [describe(take) for take in takes]
        expected_project = winners[0]["id"] if winners else None
        assert get(client, f"/v1/jobs/{job['id']}")["projectId"] == expected_project
        counts = {
            rival["id"]: get(client, f"/v1/projects/{rival['id']}")["jobCount"]
            for rival in rivals
        }
        assert sum(counts.values()) == len(winners)
        if leaving == "unassigned":
            assert get(client, f"/v1/projects/{holder['id']}")["jobCount"] == 0


def test_of_patches_sent_with_one_etag_exactly_one_applies(client: Client) -> None:
    for _ in range(ETAG_ROUNDS):
        created = client.post("/v1/projects", body={"name": "Original"})
        project_id = expect(created, 201)["id"]
        guard = {"If-Match": created.headers["ETag"]}
        names = [f"Rename {n}" for n in range(ETAG_RIVALS)]

        answers = all_at_once(
            [
                partial(
                    client.pinned_to(turn).patch,
                    f"/v1/projects/{project_id}",
                    body={"name": name},
                    headers=guard,
                )
                for turn, name in enumerate(names)
            ]
        )

        assert statuses_of(answers) == [200] + [412] * (ETAG_RIVALS - 1), unexpected(
            answers, 200, 412
        )
        winner = next(
            name
            for name, answer in zip(names, answers, strict=True)
            if answer.status_code == 200
        )
        assert get(client, f"/v1/projects/{project_id}")["name"] == winner
