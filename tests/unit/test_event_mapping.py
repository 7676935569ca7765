"""The service's event mapper reads stored events exactly as the library's would."""

from __future__ import annotations

import pytest
from eventsourcing.application import Application
from eventsourcing.persistence import (
    JSONTranscoder,
    Mapper,
    MapperDeserialisationError,
    StoredEvent,
)

from application.mapping import EventMapper, FastJSONTranscoder
from application.service import SetAsList
from domain.job import Job, JobAssigned
from domain.project import Project
from domain.task import Task


def _transcoder(transcoder: JSONTranscoder) -> JSONTranscoder:
    # What an application registers: the library's transcodings (times, ids),
    # which need no application state, and the service's own.
    Application.register_transcodings(Application.__new__(Application), transcoder)
    transcoder.register(SetAsList())
    return transcoder


def _mappers() -> tuple[Mapper[str], EventMapper]:
    return (
        Mapper(transcoder=_transcoder(JSONTranscoder())),
        EventMapper(_transcoder(FastJSONTranscoder())),
    )


def _project_with_members() -> Project:
    project = Project.create(
        workspace_id="ws_1", actor_id="user_1", name="Launch", description="ü ✓"
    )
    project.add_job(actor_id="user_1", job_id="job_1")
    project.add_job(actor_id="user_1", job_id="job_2")
    return project


def test_every_event_and_snapshot_reads_back_the_same() -> None:
    library, service = _mappers()
    project = _project_with_members()
    job = Job.create(workspace_id="ws_1", actor_id="user_1", name="Crawl")
    job.assign(actor_id="user_1", project_id=project.id)
    events = [*project.collect_events(), *job.collect_events()]
    snapshot = Project.Snapshot.take(project)

    for event in [*events, snapshot]:
        stored = library.to_stored_event(event)
        read = service.to_domain_event(stored)
        assert type(read) is type(event)
        assert read == library.to_domain_event(stored) == event
    assert service.to_domain_event(library.to_stored_event(snapshot)).state[
        "job_ids"
    ] == {"job_1", "job_2"}


def _every_kind_of_event() -> list[object]:
    """One of each event, with text that JSON writers are apt to treat apart."""
    odd = 'ü ✓ 漢字 "quoted" back\\slash \x01\x1f \u2028 \U0001f600 </script>'
    project = Project.create(
        workspace_id="ws_1", actor_id="user_1", name=odd, description=None
    )
    project.update(
        actor_id="user_1", name="Renamed", description=odd, change_description=True
    )
    job = Job.create(workspace_id="ws_1", actor_id="user_1", name=odd)
    task = Task.create(
        workspace_id="ws_1", actor_id="user_1", name="T", description=odd
    )
    project.add_job(actor_id="user_1", job_id=job.id)
    job.assign(actor_id="user_1", project_id=project.id)
    project.add_task(actor_id="user_1", task_id=task.id)
    task.assign(actor_id="user_1", project_id=project.id)
    snapshot = Project.Snapshot.take(project)
    project.remove_job(actor_id="user_1", job_id=job.id)
    job.unassign(actor_id="user_1", project_id=project.id)
    project.remove_task(actor_id="user_1", task_id=task.id)
    task.unassign(actor_id="user_1", project_id=project.id)
    task.archive(actor_id="user_1")
    project.delete(actor_id="user_1")
    events = [
        *project.collect_events(),
        *job.collect_events(),
        *task.collect_events(),
    ]
    return [*events, snapshot]


def test_every_event_is_stored_byte_for_byte_as_the_library_stores_it() -> None:
    library, service = _mappers()
    events = _every_kind_of_event()
    kinds = {type(event).__name__ for event in events}

    for event in events:
        assert service.to_stored_event(event) == library.to_stored_event(event)
    assert len(kinds) >= 14


def test_what_orjson_cannot_write_is_written_by_the_library() -> None:
    library, service = _mappers()
    huge = {"count": 2**70, "nested": [{"n": -(2**65)}]}

    assert service.transcoder.encode(huge) == library.transcoder.encode(huge)


def test_an_event_stored_in_its_first_shape_is_upcast() -> None:
    library, service = _mappers()
    job = Job.create(workspace_id="ws_1", actor_id="user_1", name="Crawl")
    job.assign(actor_id="user_1", project_id="proj_9")
    assigned = job.collect_events()[-1]
    assert isinstance(assigned, JobAssigned)
    stored = library.to_stored_event(assigned)
    first_shape = stored.state.replace(b'"project_id"', b'"assigned_to"').replace(
        b'"class_version":2', b'"class_version":1'
    )
    assert first_shape != stored.state
    old = StoredEvent(
        originator_id=stored.originator_id,
        originator_version=stored.originator_version,
        topic=stored.topic,
        state=first_shape,
    )

    read = service.to_domain_event(old)

    assert isinstance(read, JobAssigned)
    assert read.project_id == "proj_9"
    assert read == library.to_domain_event(old)


@pytest.mark.parametrize(
    "state",
    [b"not json", b'{"timestamp": {"_type_": "no_such_type", "_data_": 1}}'],
)
def test_a_stored_event_that_cannot_be_read_says_which_it_is(state: bytes) -> None:
    _, service = _mappers()
    broken = StoredEvent(
        originator_id="job_1", originator_version=3, topic="JobAssigned", state=state
    )

    with pytest.raises(
        MapperDeserialisationError, match=r"JobAssigned.* job_1 at version 3"
    ):
        service.to_domain_event(broken)
