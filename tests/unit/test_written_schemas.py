"""The resources written by hand come out exactly as their declared fields say."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from marshmallow import Schema

from api.schemas import (
    JobPageSchema,
    JobSchema,
    ProjectPageSchema,
    ProjectSchema,
    TaskPageSchema,
    TaskSchema,
)
from application.pagination import Page
from application.views import JobView, ProjectView, TaskView

CREATED = datetime(2026, 4, 28, 12, 0, 0, 7_000, tzinfo=UTC)
# A moment given in another zone, and one just before a millisecond's end.
PLUS_TWO = timezone(timedelta(hours=2))
UPDATED = datetime(2026, 4, 28, 14, 30, 59, 999_999, tzinfo=PLUS_TWO)

PROJECT = ProjectView(
    id="proj_1",
    workspace_id="ws_1",
    name="Launch",
    description=None,
    created_at=CREATED,
    updated_at=UPDATED,
    job_count=3,
    task_count=0,
    version=7,
)
JOB = JobView(
    id="job_1",
    workspace_id="ws_1",
    name="Crawl",
    project_id="proj_1",
    created_at=CREATED,
    updated_at=UPDATED,
    version=2,
)
TASK = TaskView(
    id="task_1",
    workspace_id="ws_1",
    name="Review",
    description="Read it twice",
    project_id=None,
    archived_at=None,
    created_at=CREATED,
    updated_at=UPDATED,
    version=1,
)
ARCHIVED_TASK = TaskView(
    id="task_2",
    workspace_id="ws_1",
    name="Old",
    description=None,
    project_id="proj_1",
    archived_at=UPDATED,
    created_at=CREATED,
    updated_at=UPDATED,
    version=3,
)


def field_by_field(schema: Schema, obj: Any) -> Any:
    """What marshmallow itself makes of `obj` from the declared fields."""
    return Schema.dump(schema, obj)


@pytest.mark.parametrize(
    ("schema", "view"),
    [
        (ProjectSchema(), PROJECT),
        (JobSchema(), JOB),
        (TaskSchema(), TASK),
        (TaskSchema(), ARCHIVED_TASK),
    ],
)
def test_a_resource_is_written_as_its_fields_declare(schema: Schema, view: Any) -> None:
    written = schema.dump(view)

    assert written == field_by_field(schema, view)
    assert written["updatedAt"] == "2026-04-28T12:30:59.999Z"


@pytest.mark.parametrize(
    ("schema", "items"),
    [
        (ProjectPageSchema(), [PROJECT, PROJECT]),
        (JobPageSchema(), [JOB]),
        (TaskPageSchema(), [TASK, ARCHIVED_TASK]),
        (ProjectPageSchema(), []),
    ],
)
def test_a_page_is_written_as_its_fields_declare(
    schema: Schema, items: list[Any]
) -> None:
    page = Page(items=items, page=2, limit=2, total=5, has_more=True, next_cursor="abc")

    written = schema.dump(page)

    assert written == field_by_field(schema, page)
    assert written["pagination"]["totalPages"] == 3


def test_many_resources_are_still_dumped_by_marshmallow() -> None:
    assert ProjectSchema(many=True).dump([PROJECT]) == [ProjectSchema().dump(PROJECT)]
