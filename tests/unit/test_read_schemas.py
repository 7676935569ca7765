"""Bodies read directly come out exactly as their declared fields would read them."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from marshmallow import Schema, ValidationError

from api.schemas import JobAssignmentSchema, TaskAssignmentSchema

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3)
    ),
    max_leaves=5,
)
KEYS = st.sampled_from(["jobId", "taskId", "job_id", "other"]) | st.text()
IDENTIFIERS = st.text(min_size=1) | st.from_regex(r"\A(job|task)_[0-9a-z]{26}\Z")


def outcome(load: Any, body: Any) -> tuple[str, Any]:
    try:
        return "loaded", load(body)
    except ValidationError as error:
        return "refused", error.messages


@pytest.mark.parametrize("schema", [JobAssignmentSchema(), TaskAssignmentSchema()])
@given(
    body=st.dictionaries(KEYS, JSON_VALUES | IDENTIFIERS, max_size=3)
    | st.fixed_dictionaries({"jobId": IDENTIFIERS})
    | st.fixed_dictionaries({"taskId": IDENTIFIERS})
)
def test_an_assignment_body_reads_as_its_fields_would(
    schema: Schema, body: Any
) -> None:
    read_directly = outcome(schema.load, body)
    read_by_fields = outcome(lambda data: Schema.load(schema, data), body)

    assert read_directly == read_by_fields


def test_a_plain_identifier_is_read_without_the_fields(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    schema = JobAssignmentSchema()

    def no_fields(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the fields were asked")

    monkeypatch.setattr(Schema, "load", no_fields)

    assert schema.load({"jobId": "job_01jsq3v7h8c2m0x4n6p9r5t1wz"}) == {
        "job_id": "job_01jsq3v7h8c2m0x4n6p9r5t1wz"
    }
