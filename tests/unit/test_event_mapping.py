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
