"""The public contract over HTTP on each deployment: endpoints, lists, errors.

Every test runs on the SQLite deployment and on the two-process PostgreSQL
deployment, where consecutive requests go to different processes.
"""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.e2e.support import (
    COUNT_FIELDS,
    ID_FIELDS,
    TIMESTAMP,
    Client,
    Deployment,
    Member,
    assign,
    create_assignable,
    create_job,
    create_project,
    create_task,
    describe,
    expect,
    expect_error,
    missing_id_like,
    unassign,
    unique_workspace_name,
)

pytestmark = pytest.mark.e2e

KiB = 1024
ETAG = r'"[^"]+"'


@pytest.fixture(params=["jobs", "tasks"])
def kind(request: pytest.FixtureRequest) -> str:
    """Jobs and tasks are assigned alike; each test of that runs for both."""
    return str(request.param)


def list_all(client: Client, path: str, **params: str | int) -> list[Any]:
    """Every item of a list that fits in one page of 100."""
    page = expect(client.get(path, params={"limit": 100, **params}), 200)
    assert not page["pagination"]["hasMore"]
    items: list[Any] = page["data"]
    return items


def ids_of(items: list[Any]) -> list[str]:
    return [item["id"] for item in items]


def in_list_order(items: list[Any]) -> list[Any]:
    """`items` as lists order them: updatedAt descending, then id descending."""
    return sorted(items, key=lambda item: (item["updatedAt"], item["id"]), reverse=True)


def body_of_exactly(size: int) -> bytes:
    """A project body of exactly `size` bytes, its description padding it."""
    empty = b'{"name": "Padded", "description": ""}'
    padding = size - len(empty)
    return empty[:-2] + b"x" * padding + b'"}'


# Creating and reading projects.


def test_a_created_project_answers_201_with_its_location_and_etag(
    client: Client, member: Member
) -> None:
    sent = {"name": "Q3 Research Sprint", "description": "All research jobs for Q3"}

    response = client.post("/v1/projects", body=sent)

    project = expect(response, 201)
    assert project["id"].startswith("proj_")
    assert project["name"] == "Q3 Research Sprint"
    assert project["description"] == "All research jobs for Q3"
    assert project["workspaceId"] == member.workspace_id
    assert (project["jobCount"], project["taskCount"]) == (0, 0)
    assert TIMESTAMP.fullmatch(project["createdAt"])
    assert TIMESTAMP.fullmatch(project["updatedAt"])
    assert (
        urlsplit(response.headers["Location"]).path == f"/v1/projects/{project['id']}"
    )
    assert re.fullmatch(ETAG, response.headers["ETag"])


def test_a_project_is_read_back_at_its_location(client: Client) -> None:
    created = client.post("/v1/projects", body={"name": "Located"})

    response = client.get(urlsplit(created.headers["Location"]).path)

    assert expect(response, 200) == created.json()
    assert response.headers["ETag"] == created.headers["ETag"]


def test_a_name_and_description_are_trimmed(client: Client) -> None:
    sent = {"name": "  Spaced out \n", "description": "\t  notes  "}

    project = expect(client.post("/v1/projects", body=sent), 201)

    assert project["name"] == "Spaced out"
    assert project["description"] == "notes"


def test_a_project_created_without_description_has_null(client: Client) -> None:
    project = expect(client.post("/v1/projects", body={"name": "Bare"}), 201)

    assert project["description"] is None


def test_names_and_descriptions_at_their_longest_are_accepted(client: Client) -> None:
    sent = {"name": "n" * 200, "description": "d" * 10_000}

    project = expect(client.post("/v1/projects", body=sent), 201)

    assert len(project["name"]) == 200
    assert len(project["description"]) == 10_000


@pytest.mark.parametrize(
    ("sent", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "n" * 201}, "name"),
        ({"name": None}, "name"),
        ({"name": 7}, "name"),
        ({"name": "Fine", "description": "d" * 10_001}, "description"),
        ({"name": "Fine", "description": 7}, "description"),
    ],
    ids=[
        "no-name",
        "empty-name",
        "blank-name",
        "long-name",
        "null-name",
        "number-name",
        "long-description",
        "number-description",
    ],
)
def test_an_invalid_project_is_refused_with_details_of_the_field(
    client: Client, sent: dict[str, Any], field: str
) -> None:
    response = client.post("/v1/projects", body=sent)

    error = expect_error(response, 400)
    assert field in error["details"], describe(response)
    assert error["details"][field]
    assert all(isinstance(problem, str) for problem in error["details"][field])


def test_an_unknown_project_is_not_found(client: Client) -> None:
    response = client.get("/v1/projects/proj_doesnotexist")

    expect_error(response, 404)


# Changing projects.


def test_renaming_a_project_keeps_its_description_and_moves_updated_at(
    client: Client,
) -> None:
    sent = {"name": "Before", "description": "Kept"}
    created = expect(client.post("/v1/projects", body=sent), 201)
    time.sleep(0.01)

    response = client.patch(f"/v1/projects/{created['id']}", body={"name": " After "})

    patched = expect(response, 200)
    assert (patched["name"], patched["description"]) == ("After", "Kept")
    assert patched["createdAt"] == created["createdAt"]
    assert patched["updatedAt"] > created["updatedAt"]
    assert expect(client.get(f"/v1/projects/{created['id']}"), 200) == patched


def test_a_null_description_clears_it(client: Client) -> None:
    sent = {"name": "Described", "description": "Soon gone"}
    created = expect(client.post("/v1/projects", body=sent), 201)

    response = client.patch(f"/v1/projects/{created['id']}", body={"description": None})

    patched = expect(response, 200)
    assert (patched["name"], patched["description"]) == ("Described", None)
    assert expect(client.get(f"/v1/projects/{created['id']}"), 200) == patched


@pytest.mark.parametrize(
    "sent",
    [{}, {"colour": "red"}],
    ids=["empty", "unknown-field"],
)
def test_a_patch_with_neither_field_is_refused(
    client: Client, sent: dict[str, Any]
) -> None:
    created = create_project(client)

    response = client.patch(f"/v1/projects/{created['id']}", body=sent)

    expect_error(response, 400)
    assert expect(client.get(f"/v1/projects/{created['id']}"), 200) == created


@pytest.mark.parametrize(
    "sent",
    [{"name": ""}, {"name": None}, {"name": "n" * 201}, {"description": "d" * 10_001}],
    ids=["empty-name", "null-name", "long-name", "long-description"],
)
def test_an_invalid_patch_is_refused_and_changes_nothing(
    client: Client, sent: dict[str, Any]
) -> None:
    created = create_project(client)

    response = client.patch(f"/v1/projects/{created['id']}", body=sent)

    expect_error(response, 400)
    assert expect(client.get(f"/v1/projects/{created['id']}"), 200) == created


def test_patching_an_unknown_project_is_not_found(client: Client) -> None:
    response = client.patch("/v1/projects/proj_doesnotexist", body={"name": "Nobody"})

    expect_error(response, 404)


def test_a_patch_with_the_current_etag_applies_and_changes_the_etag(
    client: Client,
) -> None:
    created = create_project(client)
    current = client.get(f"/v1/projects/{created['id']}").headers["ETag"]

    response = client.patch(
        f"/v1/projects/{created['id']}",
        body={"name": "Guarded"},
        headers={"If-Match": current},
    )

    assert expect(response, 200)["name"] == "Guarded"
    assert response.headers["ETag"] != current


def test_a_patch_with_a_stale_etag_fails_and_changes_nothing(client: Client) -> None:
    created = client.post("/v1/projects", body={"name": "First"})
    project_id = created.json()["id"]
    expect(client.patch(f"/v1/projects/{project_id}", body={"name": "Second"}), 200)
    current = expect(client.get(f"/v1/projects/{project_id}"), 200)

    response = client.patch(
        f"/v1/projects/{project_id}",
        body={"name": "Third"},
        headers={"If-Match": created.headers["ETag"]},
    )

    expect_error(response, 412)
    assert expect(client.get(f"/v1/projects/{project_id}"), 200) == current


def test_a_delete_with_a_stale_etag_fails_and_keeps_the_project(
    client: Client,
) -> None:
    created = client.post("/v1/projects", body={"name": "First"})
    project_id = created.json()["id"]
    expect(client.patch(f"/v1/projects/{project_id}", body={"name": "Second"}), 200)

    response = client.delete(
        f"/v1/projects/{project_id}", headers={"If-Match": created.headers["ETag"]}
    )

    expect_error(response, 412)
    assert expect(client.get(f"/v1/projects/{project_id}"), 200)["name"] == "Second"


def test_a_delete_with_the_current_etag_deletes(client: Client) -> None:
    created = client.post("/v1/projects", body={"name": "Doomed"})
    project_id = created.json()["id"]

    response = client.delete(
        f"/v1/projects/{project_id}", headers={"If-Match": created.headers["ETag"]}
    )

    assert expect(response, 200) == {"id": project_id, "deleted": True}


# Deleting projects.


def test_a_deleted_project_is_gone_and_a_second_delete_is_not_found(
    fresh_client: Client,
) -> None:
    project = create_project(fresh_client)

    deleted = fresh_client.delete(f"/v1/projects/{project['id']}")

    assert expect(deleted, 200) == {"id": project["id"], "deleted": True}
    expect_error(fresh_client.get(f"/v1/projects/{project['id']}"), 404)
    expect_error(fresh_client.delete(f"/v1/projects/{project['id']}"), 404)
    expect_error(
        fresh_client.patch(f"/v1/projects/{project['id']}", body={"name": "X"}), 404
    )
    assert project["id"] not in ids_of(list_all(fresh_client, "/v1/projects"))


def test_deleting_a_project_keeps_its_jobs_and_tasks_and_unassigns_them(
    client: Client,
) -> None:
    project = create_project(client)
    jobs = [create_job(client), create_job(client)]
    task = create_task(client)
    for job in jobs:
        expect(assign(client, project["id"], "jobs", job["id"]), 200)
    expect(assign(client, project["id"], "tasks", task["id"]), 200)

    expect(client.delete(f"/v1/projects/{project['id']}"), 200)

    for job in jobs:
        assert expect(client.get(f"/v1/jobs/{job['id']}"), 200)["projectId"] is None
    assert expect(client.get(f"/v1/tasks/{task['id']}"), 200)["projectId"] is None
    assert list_all(client, "/v1/jobs", projectId=project["id"]) == []
    assert list_all(client, "/v1/tasks", projectId=project["id"]) == []


def test_jobs_of_a_deleted_project_can_join_another(client: Client) -> None:
    deleted = create_project(client)
    other = create_project(client)
    job = create_job(client)
    expect(assign(client, deleted["id"], "jobs", job["id"]), 200)
    expect(client.delete(f"/v1/projects/{deleted['id']}"), 200)

    response = assign(client, other["id"], "jobs", job["id"])

    assert expect(response, 200)["jobCount"] == 1


# Assigning jobs and tasks.


def test_an_assigned_job_or_task_counts_in_its_project_and_points_at_it(
    client: Client, kind: str
) -> None:
    project = create_project(client)
    assignable = create_assignable(client, kind)

    response = assign(client, project["id"], kind, assignable["id"])

    answered = expect(response, 200)
    assert answered["id"] == project["id"]
    assert answered[COUNT_FIELDS[kind]] == 1
    assert answered["updatedAt"] == project["updatedAt"]
    got = expect(client.get(f"/v1/{kind}/{assignable['id']}"), 200)
    assert got["projectId"] == project["id"]
    listed = list_all(client, f"/v1/{kind}", projectId=project["id"])
    assert ids_of(listed) == [assignable["id"]]
    read = expect(client.get(f"/v1/projects/{project['id']}"), 200)
    assert read[COUNT_FIELDS[kind]] == 1
    assert read["updatedAt"] == project["updatedAt"]


def test_assigning_again_to_the_same_project_changes_nothing(
    client: Client, kind: str
) -> None:
    project = create_project(client)
    assignable = create_assignable(client, kind)
    first = expect(assign(client, project["id"], kind, assignable["id"]), 200)

    response = assign(client, project["id"], kind, assignable["id"])

    assert expect(response, 200) == first
    assert expect(client.get(f"/v1/projects/{project['id']}"), 200) == first


def test_a_job_or_task_in_another_project_is_not_taken(
    client: Client, kind: str
) -> None:
    holder = create_project(client, "Holder")
    taker = create_project(client, "Taker")
    assignable = create_assignable(client, kind)
    expect(assign(client, holder["id"], kind, assignable["id"]), 200)

    response = assign(client, taker["id"], kind, assignable["id"])

    error = expect_error(response, 409)
    assert error["message"] == (
        f"{assignable['id']} is already assigned to project {holder['id']}"
    )
    got = expect(client.get(f"/v1/{kind}/{assignable['id']}"), 200)
    assert got["projectId"] == holder["id"]
    assert expect(client.get(f"/v1/projects/{taker['id']}"), 200) == taker


def test_an_unknown_job_or_task_is_not_found(client: Client, kind: str) -> None:
    project = create_project(client)
    unknown = missing_id_like(create_assignable(client, kind)["id"])

    response = assign(client, project["id"], kind, unknown)

    assert unknown in expect_error(response, 404)["message"]
    assert expect(client.get(f"/v1/projects/{project['id']}"), 200) == project


def test_assigning_to_an_unknown_project_is_not_found(
    client: Client, kind: str
) -> None:
    assignable = create_assignable(client, kind)
    unknown = missing_id_like(create_project(client)["id"])

    response = assign(client, unknown, kind, assignable["id"])

    assert unknown in expect_error(response, 404)["message"]
    got = expect(client.get(f"/v1/{kind}/{assignable['id']}"), 200)
    assert got["projectId"] is None


@pytest.mark.parametrize(
    "sent", [{}, {"id": "x"}, {"jobId": 7, "taskId": 7}], ids=["empty", "other", "int"]
)
def test_an_assignment_without_a_usable_id_is_refused(
    client: Client, kind: str, sent: dict[str, Any]
) -> None:
    project = create_project(client)

    response = client.post(f"/v1/projects/{project['id']}/{kind}", body=sent)

    expect_error(response, 400)


def test_client_sent_ids_are_matched_exactly(client: Client, kind: str) -> None:
    project = create_project(client)
    assignable = create_assignable(client, kind)

    response = assign(client, project["id"], kind, assignable["id"].upper())

    expect_error(response, 404)
    got = expect(client.get(f"/v1/{kind}/{assignable['id']}"), 200)
    assert got["projectId"] is None


def test_an_unassigned_job_or_task_leaves_its_project(
    client: Client, kind: str
) -> None:
    project = create_project(client)
    assignable = create_assignable(client, kind)
    expect(assign(client, project["id"], kind, assignable["id"]), 200)

    response = unassign(client, project["id"], kind, assignable["id"])

    answered = expect(response, 200)
    assert answered[COUNT_FIELDS[kind]] == 0
    assert answered["updatedAt"] == project["updatedAt"]
    got = expect(client.get(f"/v1/{kind}/{assignable['id']}"), 200)
    assert got["projectId"] is None
    assert list_all(client, f"/v1/{kind}", projectId=project["id"]) == []


def test_unassigning_from_a_project_it_is_not_in_is_not_found(
    client: Client, kind: str
) -> None:
    holder = create_project(client, "Holder")
    other = create_project(client, "Other")
    assignable = create_assignable(client, kind)
    expect(assign(client, holder["id"], kind, assignable["id"]), 200)

    response = unassign(client, other["id"], kind, assignable["id"])

    expect_error(response, 404)
    got = expect(client.get(f"/v1/{kind}/{assignable['id']}"), 200)
    assert got["projectId"] == holder["id"]


def test_unassigning_twice_is_not_found_the_second_time(
    client: Client, kind: str
) -> None:
    project = create_project(client)
    assignable = create_assignable(client, kind)
    expect(assign(client, project["id"], kind, assignable["id"]), 200)
    expect(unassign(client, project["id"], kind, assignable["id"]), 200)

    response = unassign(client, project["id"], kind, assignable["id"])

    expect_error(response, 404)


def test_a_job_or_task_moves_by_leaving_one_project_then_joining_another(
    client: Client, kind: str
) -> None:
    first = create_project(client, "First")
    second = create_project(client, "Second")
    assignable = create_assignable(client, kind)
    expect(assign(client, first["id"], kind, assignable["id"]), 200)
    expect(unassign(client, first["id"], kind, assignable["id"]), 200)

    response = assign(client, second["id"], kind, assignable["id"])

    assert expect(response, 200)[COUNT_FIELDS[kind]] == 1
    got = expect(client.get(f"/v1/{kind}/{assignable['id']}"), 200)
    assert got["projectId"] == second["id"]
    left = expect(client.get(f"/v1/projects/{first['id']}"), 200)
    assert left[COUNT_FIELDS[kind]] == 0


def test_an_archived_task_is_not_added_and_the_message_names_it(
    client: Client,
) -> None:
    project = create_project(client)
    task = create_task(client)
    expect(client.delete(f"/v1/tasks/{task['id']}"), 200)

    response = assign(client, project["id"], "tasks", task["id"])

    assert task["id"] in expect_error(response, 400)["message"]
    assert expect(client.get(f"/v1/projects/{project['id']}"), 200)["taskCount"] == 0


# Jobs and tasks.


def test_a_created_job_answers_201_unassigned(client: Client, member: Member) -> None:
    response = client.post("/v1/jobs", body={"name": "Summarise papers"})

    job = expect(response, 201)
    assert set(job) == {
        "id",
        "name",
        "workspaceId",
        "projectId",
        "createdAt",
        "updatedAt",
    }
    assert job["id"].startswith("job_")
    assert job["name"] == "Summarise papers"
    assert job["workspaceId"] == member.workspace_id
    assert job["projectId"] is None
    assert TIMESTAMP.fullmatch(job["createdAt"])
    assert TIMESTAMP.fullmatch(job["updatedAt"])
    assert expect(client.get(f"/v1/jobs/{job['id']}"), 200) == job


def test_a_created_task_answers_201_unassigned_and_not_archived(
    client: Client, member: Member
) -> None:
    sent = {"name": "Read the abstracts", "description": "Twenty of them"}

    task = expect(client.post("/v1/tasks", body=sent), 201)

    assert task["id"].startswith("task_")
    assert task["name"] == "Read the abstracts"
    assert task["description"] == "Twenty of them"
    assert task["workspaceId"] == member.workspace_id
    assert task["projectId"] is None
    assert task["archived"] is False
    assert task["archivedAt"] is None
    assert TIMESTAMP.fullmatch(task["createdAt"])
    assert TIMESTAMP.fullmatch(task["updatedAt"])
    assert expect(client.get(f"/v1/tasks/{task['id']}"), 200) == task


def test_a_task_created_without_description_has_null(client: Client) -> None:
    task = expect(client.post("/v1/tasks", body={"name": "Bare"}), 201)

    assert task["description"] is None


@pytest.mark.parametrize("path", ["/v1/jobs", "/v1/tasks"])
@pytest.mark.parametrize(
    "sent", [{}, {"name": ""}, {"name": 7}], ids=["no-name", "empty-name", "number"]
)
def test_a_job_or_task_without_a_name_is_refused(
    client: Client, path: str, sent: dict[str, Any]
) -> None:
    response = client.post(path, body=sent)

    expect_error(response, 400)


@pytest.mark.parametrize("path", ["/v1/jobs/job_doesnotexist", "/v1/tasks/task_none"])
def test_an_unknown_job_or_task_is_not_found_by_id(client: Client, path: str) -> None:
    response = client.get(path)

    expect_error(response, 404)


def test_archiving_a_task_keeps_it_and_its_project(client: Client) -> None:
    project = create_project(client)
    task = create_task(client)
    expect(assign(client, project["id"], "tasks", task["id"]), 200)

    response = client.delete(f"/v1/tasks/{task['id']}")

    archived = expect(response, 200)
    assert archived["id"] == task["id"]
    assert archived["archived"] is True
    assert TIMESTAMP.fullmatch(archived["archivedAt"])
    assert archived["projectId"] == project["id"]
    assert expect(client.get(f"/v1/tasks/{task['id']}"), 200) == archived
    listed = list_all(client, "/v1/tasks", projectId=project["id"])
    assert ids_of(listed) == [task["id"]]


def test_archiving_a_task_again_changes_nothing(client: Client) -> None:
    task = create_task(client)
    first = expect(client.delete(f"/v1/tasks/{task['id']}"), 200)
    time.sleep(0.01)

    response = client.delete(f"/v1/tasks/{task['id']}")

    assert expect(response, 200) == first


def test_archiving_an_unknown_task_is_not_found(client: Client) -> None:
    response = client.delete("/v1/tasks/task_doesnotexist")

    expect_error(response, 404)


# Lists.


def test_a_list_has_page_one_and_twenty_items_by_default(fresh_client: Client) -> None:
    created = [create_project(fresh_client, f"Project {number}") for number in range(3)]

    response = fresh_client.get("/v1/projects")

    page = expect(response, 200)
    assert sorted(ids_of(page["data"])) == sorted(ids_of(created))
    assert page["pagination"] == {
        "page": 1,
        "limit": 20,
        "total": 3,
        "totalPages": 1,
        "hasMore": False,
        "nextCursor": None,
    }


def test_projects_are_listed_by_update_newest_first_then_by_id(
    fresh_client: Client,
) -> None:
    created = [create_project(fresh_client, f"Project {number}") for number in range(4)]
    time.sleep(0.01)
    expect(
        fresh_client.patch(f"/v1/projects/{created[0]['id']}", body={"name": "Top"}),
        200,
    )

    listed = list_all(fresh_client, "/v1/projects")

    assert listed == in_list_order(listed)
    assert sorted(ids_of(listed)) == sorted(ids_of(created))
    assert listed[0]["id"] == created[0]["id"]


def test_assignments_leave_the_order_of_projects_alone(fresh_client: Client) -> None:
    for number in range(3):
        create_project(fresh_client, f"Project {number}")
    before = list_all(fresh_client, "/v1/projects")
    last = before[-1]["id"]

    expect(assign(fresh_client, last, "jobs", create_job(fresh_client)["id"]), 200)
    expect(assign(fresh_client, last, "tasks", create_task(fresh_client)["id"]), 200)

    after = list_all(fresh_client, "/v1/projects")
    assert ids_of(after) == ids_of(before)
    assert [project["updatedAt"] for project in after] == [
        project["updatedAt"] for project in before
    ]


@pytest.mark.parametrize("path", ["/v1/jobs", "/v1/tasks"])
def test_jobs_and_tasks_are_listed_by_update_newest_first_then_by_id(
    fresh_client: Client, path: str
) -> None:
    kind = path.rsplit("/", 1)[1]
    created = [create_assignable(fresh_client, kind) for _ in range(4)]

    listed = list_all(fresh_client, path)

    assert listed == in_list_order(listed)
    assert sorted(ids_of(listed)) == sorted(ids_of(created))


def test_pages_split_the_list_in_its_order(fresh_client: Client) -> None:
    for number in range(7):
        create_project(fresh_client, f"Project {number}")
    everything = list_all(fresh_client, "/v1/projects")

    pages = [
        expect(fresh_client.get("/v1/projects", params={"page": page, "limit": 3}), 200)
        for page in (1, 2, 3)
    ]

    assert [item for page in pages for item in page["data"]] == everything
    assert [page["pagination"]["hasMore"] for page in pages] == [True, True, False]
    assert [page["pagination"]["page"] for page in pages] == [1, 2, 3]
    assert {page["pagination"]["totalPages"] for page in pages} == {3}
    assert {page["pagination"]["total"] for page in pages} == {7}


def test_a_page_past_the_end_is_empty(fresh_client: Client) -> None:
    create_project(fresh_client)

    response = fresh_client.get("/v1/projects", params={"page": 5, "limit": 10})

    page = expect(response, 200)
    assert page["data"] == []
    assert page["pagination"]["total"] == 1
    assert page["pagination"]["hasMore"] is False


@pytest.mark.parametrize("limit", [1, 100])
def test_a_limit_at_its_bounds_is_accepted(client: Client, limit: int) -> None:
    response = client.get("/v1/projects", params={"limit": limit})

    page = expect(response, 200)
    assert page["pagination"]["limit"] == limit
    assert len(page["data"]) <= limit


@pytest.mark.parametrize(
    "params",
    [
        {"page": "0"},
        {"page": "-1"},
        {"page": "abc"},
        {"page": "1.5"},
        {"page": ""},
        {"limit": "0"},
        {"limit": "101"},
        {"limit": "-5"},
        {"limit": "ten"},
        {"limit": "2e1"},
        {"limit": ""},
    ],
    ids=lambda params: "-".join(f"{name}={value}" for name, value in params.items()),
)
def test_a_bad_page_or_limit_is_refused_by_every_list(
    client: Client, params: dict[str, str]
) -> None:
    for path in ("/v1/projects", "/v1/jobs", "/v1/tasks"):
        response = client.get(path, params=params)

        expect_error(response, 400)


def walk_by_cursor(client: Client, path: str, limit: int) -> list[Any]:
    """Every item of a list, read page by page by following nextCursor."""
    page = expect(client.get(path, params={"limit": limit}), 200)
    items: list[Any] = list(page["data"])
    while page["pagination"]["nextCursor"] is not None:
        assert page["pagination"]["hasMore"] is True
        cursor = page["pagination"]["nextCursor"]
        page = expect(client.get(path, params={"cursor": cursor, "limit": limit}), 200)
        items.extend(page["data"])
    assert page["pagination"]["hasMore"] is False
    return items


@pytest.mark.parametrize("path", ["/v1/projects", "/v1/jobs", "/v1/tasks"])
def test_following_cursors_returns_every_item_once_in_order(
    fresh_client: Client, path: str
) -> None:
    kind = path.rsplit("/", 1)[1]
    for _ in range(5):
        if kind == "projects":
            create_project(fresh_client)
        else:
            create_assignable(fresh_client, kind)
    everything = list_all(fresh_client, path)

    walked = walk_by_cursor(fresh_client, path, limit=2)

    assert walked == everything
    assert len(walked) == 5


def test_a_cursor_walk_is_not_disturbed_by_a_new_project(fresh_client: Client) -> None:
    for number in range(4):
        create_project(fresh_client, f"Project {number}")
    everything = list_all(fresh_client, "/v1/projects")
    first = expect(fresh_client.get("/v1/projects", params={"limit": 2}), 200)
    create_project(fresh_client, "Newcomer")

    rest = expect(
        fresh_client.get(
            "/v1/projects",
            params={"cursor": first["pagination"]["nextCursor"], "limit": 10},
        ),
        200,
    )

    assert first["data"] + rest["data"] == everything


def test_following_cursors_of_a_filtered_list_stays_in_the_filter(
    client: Client,
) -> None:
    project = create_project(client)
    members = [create_job(client) for _ in range(3)]
    create_job(client)
    for job in members:
        expect(assign(client, project["id"], "jobs", job["id"]), 200)

    walked = walk_by_cursor(client, f"/v1/jobs?projectId={project['id']}", limit=2)

    assert sorted(ids_of(walked)) == sorted(ids_of(members))


def test_a_list_filtered_by_an_unknown_project_is_empty(client: Client) -> None:
    for path in ("/v1/jobs", "/v1/tasks"):
        response = client.get(path, params={"projectId": "proj_doesnotexist"})

        page = expect(response, 200)
        assert page["data"] == []
        assert page["pagination"]["total"] == 0


def test_page_and_cursor_together_are_refused(client: Client) -> None:
    for _ in range(3):
        create_project(client)
    first = expect(client.get("/v1/projects", params={"limit": 1}), 200)
    cursor = first["pagination"]["nextCursor"]

    response = client.get("/v1/projects", params={"page": 1, "cursor": cursor})

    expect_error(response, 400)


def test_a_cursor_the_service_did_not_issue_is_refused(client: Client) -> None:
    for _ in range(3):
        create_project(client)
    issued = expect(client.get("/v1/projects", params={"limit": 1}), 200)["pagination"][
        "nextCursor"
    ]
    middle = len(issued) // 2
    tampered = (
        issued[:middle] + ("A" if issued[middle] != "A" else "B") + issued[middle + 1 :]
    )

    for forged in ("not-a-cursor", "", tampered, issued + "x"):
        response = client.get("/v1/projects", params={"cursor": forged, "limit": 1})

        expect_error(response, 400)


# Who asks: keys and workspaces.


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "Bearer ",
        "sk_without_scheme",
        "Bearer sk_unknown_key",
        "Bearer two words",
    ],
    ids=["missing", "basic", "no-key", "blank-key", "no-scheme", "unknown", "spaces"],
)
def test_a_request_without_a_valid_key_is_unauthorized(
    deployment: Deployment, authorization: str | None
) -> None:
    anonymous = deployment.client()
    headers = {} if authorization is None else {"Authorization": authorization}

    response = anonymous.get("/v1/projects", headers=headers)

    expect_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_key_is_refused_from_the_next_request_on(
    deployment: Deployment, fresh_client: Client, fresh_member: Member
) -> None:
    expect(fresh_client.get("/v1/projects"), 200)

    deployment.revoke_key(fresh_member.key_id)

    for _ in deployment.servers:
        response = fresh_client.get("/v1/projects")
        expect_error(response, 401)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert fresh_member.api_key not in response.text


def test_a_revoked_key_leaves_the_users_other_keys_working(
    deployment: Deployment, member: Member
) -> None:
    workspace = unique_workspace_name()
    revoked = deployment.create_key(member.email, workspace)
    kept = deployment.create_key(member.email, workspace)

    deployment.revoke_key(revoked.key_id)

    expect_error(deployment.client(revoked).get("/v1/projects"), 401)
    for _ in deployment.servers:
        expect(deployment.client(kept).get("/v1/projects"), 200)


def test_naming_a_workspace_of_another_user_is_forbidden(
    client: Client, stranger: Member
) -> None:
    response = client.in_workspace(stranger.workspace_id).get("/v1/projects")

    expect_error(response, 403)


def test_naming_a_workspace_that_does_not_exist_is_forbidden(
    client: Client, member: Member
) -> None:
    unknown = missing_id_like(member.workspace_id)

    response = client.in_workspace(unknown).get("/v1/projects")

    expect_error(response, 403)


def test_a_user_acts_in_another_of_their_workspaces_by_naming_it(
    deployment: Deployment, client: Client, member: Member
) -> None:
    second = deployment.create_key(member.email, unique_workspace_name())
    in_second = client.in_workspace(second.workspace_id)

    created = expect(in_second.post("/v1/projects", body={"name": "Elsewhere"}), 201)

    assert second.user_id == member.user_id
    assert created["workspaceId"] == second.workspace_id
    expect(in_second.get(f"/v1/projects/{created['id']}"), 200)
    expect_error(client.get(f"/v1/projects/{created['id']}"), 404)
    own = client.in_workspace(member.workspace_id)
    expect_error(own.get(f"/v1/projects/{created['id']}"), 404)


def test_another_workspaces_resources_are_missing_with_the_same_body(
    deployment: Deployment, client: Client, stranger: Member
) -> None:
    owned = {
        "projects": create_project(client)["id"],
        "jobs": create_job(client)["id"],
        "tasks": create_task(client)["id"],
    }
    strangers_client = deployment.client(stranger)

    for path, owned_id in owned.items():
        missing_id = missing_id_like(owned_id)
        foreign = expect_error(strangers_client.get(f"/v1/{path}/{owned_id}"), 404)
        missing = expect_error(strangers_client.get(f"/v1/{path}/{missing_id}"), 404)

        assert set(foreign) == set(missing)
        assert foreign["message"].replace(owned_id, "<id>") == missing[
            "message"
        ].replace(missing_id, "<id>")


def test_another_workspaces_project_cannot_be_changed(
    deployment: Deployment, client: Client, stranger: Member
) -> None:
    project = create_project(client)
    strangers_client = deployment.client(stranger)
    strangers_job = create_job(strangers_client)
    path = f"/v1/projects/{project['id']}"

    answers = [
        strangers_client.patch(path, body={"name": "Taken over"}),
        strangers_client.delete(path),
        assign(strangers_client, project["id"], "jobs", strangers_job["id"]),
    ]

    for response in answers:
        expect_error(response, 404)
    assert expect(client.get(path), 200) == project
    got = expect(strangers_client.get(f"/v1/jobs/{strangers_job['id']}"), 200)
    assert got["projectId"] is None


def test_another_workspaces_job_or_task_cannot_be_assigned(
    deployment: Deployment, client: Client, stranger: Member, kind: str
) -> None:
    assignable = create_assignable(client, kind)
    strangers_client = deployment.client(stranger)
    strangers_project = create_project(strangers_client)

    response = assign(strangers_client, strangers_project["id"], kind, assignable["id"])

    expect_error(response, 404)
    got = expect(client.get(f"/v1/{kind}/{assignable['id']}"), 200)
    assert got["projectId"] is None


# Bodies.


@pytest.mark.parametrize(
    "data", [b'{"name": ', b"{'name': 'x'}", b"", b"\xff\xfe"], ids=repr
)
def test_malformed_json_is_refused(client: Client, data: bytes) -> None:
    response = client.post(
        "/v1/projects", data=data, headers={"Content-Type": "application/json"}
    )

    expect_error(response, 400)


@pytest.mark.parametrize("body", ["[]", '["name"]', '"Q3"', "7", "null", "true"])
def test_a_body_that_is_not_an_object_is_refused(client: Client, body: str) -> None:
    response = client.post(
        "/v1/projects", data=body.encode(), headers={"Content-Type": "application/json"}
    )

    expect_error(response, 400)


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/xml",
        "application/merge-patch+json",
    ],
)
def test_another_content_type_is_unsupported(client: Client, content_type: str) -> None:
    project = create_project(client)
    job = create_job(client)
    data = b'{"name": "Q3", "jobId": "%s"}' % job["id"].encode()
    headers = {"Content-Type": content_type}

    answers = [
        client.post("/v1/projects", data=data, headers=headers),
        client.patch(f"/v1/projects/{project['id']}", data=data, headers=headers),
        client.post(f"/v1/projects/{project['id']}/jobs", data=data, headers=headers),
        client.post("/v1/jobs", data=data, headers=headers),
        client.post("/v1/tasks", data=data, headers=headers),
    ]

    for response in answers:
        expect_error(response, 415)
    assert expect(client.get(f"/v1/jobs/{job['id']}"), 200)["projectId"] is None


def test_json_with_a_charset_is_accepted(client: Client) -> None:
    response = client.post(
        "/v1/projects",
        data='{"name": "Überblick"}'.encode(),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )

    assert expect(response, 201)["name"] == "Überblick"


def test_a_body_over_64_kib_is_too_large(client: Client) -> None:
    project = create_project(client)
    data = body_of_exactly(64 * KiB + 1)
    headers = {"Content-Type": "application/json"}

    answers = [
        client.post("/v1/projects", data=data, headers=headers),
        client.patch(f"/v1/projects/{project['id']}", data=data, headers=headers),
    ]

    for response in answers:
        expect_error(response, 413)


def test_a_body_of_exactly_64_kib_is_read(client: Client) -> None:
    data = body_of_exactly(64 * KiB)

    response = client.post(
        "/v1/projects", data=data, headers={"Content-Type": "application/json"}
    )

    assert "description" in expect_error(response, 400)["details"]


def test_a_chunked_body_over_64_kib_is_too_large(client: Client) -> None:
    chunks = [b'{"name": "Chunked", "description": "'] + [b"x" * KiB] * 80 + [b'"}']

    response = client.post(
        "/v1/projects",
        data=iter(chunks),
        headers={"Content-Type": "application/json"},
    )

    expect_error(response, 413)


# Request ids.


def test_a_request_id_sent_by_the_client_is_echoed(client: Client) -> None:
    sent = {"X-Request-Id": "trace-5f0c2a"}

    answers = [
        client.get("/v1/projects", headers=sent),
        client.get("/v1/projects/proj_doesnotexist", headers=sent),
        client.with_key(None).get("/v1/projects", headers=sent),
    ]

    for response in answers:
        assert response.headers["X-Request-Id"] == "trace-5f0c2a", describe(response)
    assert answers[1].json()["requestId"] == "trace-5f0c2a"
    assert answers[2].json()["requestId"] == "trace-5f0c2a"


def test_every_answer_carries_a_request_id_of_its_own(client: Client) -> None:
    answers = [
        client.get("/v1/projects"),
        client.post("/v1/projects", body={"name": "Identified"}),
        client.get("/v1/projects/proj_doesnotexist"),
        client.get("/v1/nowhere"),
        client.with_key(None).get("/v1/projects"),
        client.request("PUT", "/v1/projects"),
    ]

    request_ids = [response.headers.get("X-Request-Id") for response in answers]
    assert all(request_ids), [describe(response) for response in answers]
    assert len(set(request_ids)) == len(answers)


# Routes and error bodies.


@pytest.mark.parametrize(
    "path", ["/v1/nowhere", "/nowhere", "/v1/projects/proj_x/members", "/v2/projects"]
)
def test_an_unknown_path_answers_json_404(client: Client, path: str) -> None:
    response = client.get(path)

    expect_error(response, 404)


def test_an_overlong_url_still_answers_in_json(client: Client) -> None:
    response = client.get("/v1/projects/proj_" + "x" * 5000)

    assert response.status_code in (404, 414), describe(response)
    expect_error(response, response.status_code)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/v1/projects"),
        ("DELETE", "/v1/projects"),
        ("PUT", "/v1/projects/proj_x"),
        ("DELETE", "/v1/jobs/job_x"),
        ("PATCH", "/v1/tasks/task_x"),
        ("GET", "/v1/projects/proj_x/jobs"),
    ],
)
def test_an_unknown_method_answers_json_405(
    client: Client, method: str, path: str
) -> None:
    response = client.request(method, path)

    expect_error(response, 405)


# Which error answers when a request is wrong in several ways.


def test_a_bad_key_answers_before_a_foreign_workspace(
    deployment: Deployment, stranger: Member
) -> None:
    bad = deployment.client().with_key("sk_unknown").in_workspace(stranger.workspace_id)

    response = bad.get("/v1/projects")

    expect_error(response, 401)


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/v1/nowhere"), ("PUT", "/v1/projects")]
)
def test_a_missing_key_answers_before_an_unknown_route(
    deployment: Deployment, method: str, path: str
) -> None:
    response = deployment.client().request(method, path)

    expect_error(response, 401)


def test_a_missing_key_answers_before_a_body_too_large_or_of_another_type(
    deployment: Deployment,
) -> None:
    anonymous = deployment.client()

    answers = [
        anonymous.post("/v1/projects", data=body_of_exactly(80 * KiB)),
        anonymous.post("/v1/projects", data=b"{", headers={"Content-Type": "text/xml"}),
    ]

    for response in answers:
        expect_error(response, 401)


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/v1/nowhere"), ("PUT", "/v1/projects")]
)
def test_a_foreign_workspace_answers_before_an_unknown_route(
    client: Client, stranger: Member, method: str, path: str
) -> None:
    response = client.in_workspace(stranger.workspace_id).request(method, path)

    expect_error(response, 403)


def test_a_foreign_workspace_answers_before_a_bad_body(
    client: Client, stranger: Member
) -> None:
    response = client.in_workspace(stranger.workspace_id).post(
        "/v1/projects", data=b"{", headers={"Content-Type": "text/plain"}
    )

    expect_error(response, 403)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("POST", "/v1/nowhere", 404), ("PUT", "/v1/projects", 405)],
)
def test_an_unknown_route_answers_before_a_body_too_large(
    client: Client, method: str, path: str, status: int
) -> None:
    response = client.request(
        method,
        path,
        data=body_of_exactly(80 * KiB),
        headers={"Content-Type": "application/json"},
    )

    expect_error(response, status)


def test_a_body_too_large_answers_before_a_wrong_content_type(
    client: Client,
) -> None:
    response = client.post(
        "/v1/projects",
        data=body_of_exactly(80 * KiB),
        headers={"Content-Type": "text/plain"},
    )

    expect_error(response, 413)


def test_a_body_too_large_answers_before_an_invalid_field(
    client: Client,
) -> None:
    response = client.post("/v1/projects", body={"name": "n" * (80 * KiB)})

    expect_error(response, 413)


def test_a_wrong_content_type_answers_before_malformed_json(
    client: Client,
) -> None:
    response = client.post(
        "/v1/projects", data=b'{"name": ', headers={"Content-Type": "text/plain"}
    )

    expect_error(response, 415)


def test_a_bad_body_answers_before_a_missing_project(client: Client, kind: str) -> None:
    path = f"/v1/projects/proj_doesnotexist/{kind}"

    answers = [
        client.post(path, data=b"{", headers={"Content-Type": "application/json"}),
        client.post(path, body={}),
    ]

    for response in answers:
        expect_error(response, 400)


def test_a_missing_project_answers_before_a_missing_job_or_task(
    client: Client, kind: str
) -> None:
    missing_project = "proj_doesnotexist"
    missing_assignable = f"{ID_FIELDS[kind][:-2]}_doesnotexist"

    response = assign(client, missing_project, kind, missing_assignable)

    message = expect_error(response, 404)["message"]
    assert missing_project in message
    assert missing_assignable not in message


def test_a_missing_project_answers_before_unassigning_a_missing_job_or_task(
    client: Client, kind: str
) -> None:
    missing_project = "proj_doesnotexist"
    missing_assignable = f"{ID_FIELDS[kind][:-2]}_doesnotexist"

    response = unassign(client, missing_project, kind, missing_assignable)

    message = expect_error(response, 404)["message"]
    assert missing_project in message
    assert missing_assignable not in message


def test_an_archived_task_answers_400_before_the_conflict(client: Client) -> None:
    holder = create_project(client, "Holder")
    other = create_project(client, "Other")
    task = create_task(client)
    expect(assign(client, holder["id"], "tasks", task["id"]), 200)
    expect(client.delete(f"/v1/tasks/{task['id']}"), 200)

    response = assign(client, other["id"], "tasks", task["id"])

    assert task["id"] in expect_error(response, 400)["message"]


def test_no_answer_of_a_failing_request_shows_the_key(
    client: Client, member: Member
) -> None:
    answers = [
        client.get("/v1/projects/proj_doesnotexist"),
        client.post("/v1/projects", body={"name": ""}),
        client.post("/v1/projects", data=b"{", headers={"Content-Type": "text/plain"}),
    ]

    for response in answers:
        assert response.status_code >= 400, describe(response)
        assert member.api_key not in response.text
        assert member.api_key not in str(response.headers)
