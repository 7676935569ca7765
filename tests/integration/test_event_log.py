"""The event log: feed, project history, time travel, export and old event shapes."""

from __future__ import annotations

import itertools
import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from eventsourcing.persistence import StoredEvent

from application.errors import NotFoundError
from application.views import Actor
from domain.job import JobAssigned, JobUnassigned
from infrastructure.wiring import Services
from tests.conftest import new_member


def test_the_feed_shows_a_workspace_its_own_events_in_commit_order(
    services: Services, actor: Actor
) -> None:
    app = services.application
    stranger = new_member(services).actor
    project = app.create_project(actor, "P", None)
    app.create_project(stranger, "not yours", None)
    job = app.create_job(actor, "J")
    app.assign_job(actor, project.id, job.id)

    page = app.list_events(actor, 0, 100)

    assert [e.type for e in page.items] == [
        "ProjectCreated",
        "JobCreated",
        "JobAddedToProject",
        "JobAssigned",
    ]
    positions = [e.position for e in page.items]
    assert positions == sorted(positions) and len(set(positions)) == 4
    assert all(e.actor_id == actor.user_id for e in page.items)
    assert all(e.workspace_id == actor.workspace_id for e in page.items)
    assert page.has_more is False


def test_a_reader_following_after_sees_each_event_once(
    services: Services, actor: Actor
) -> None:
    app = services.application
    for n in range(7):
        app.create_job(actor, f"J{n}")

    seen = []
    after = 0
    while True:
        page = app.list_events(actor, after, 3)
        seen.extend(e.position for e in page.items)
        after = page.next_after
        if not page.has_more:
            break

    assert len(seen) == 7 and seen == sorted(set(seen))
    assert app.list_events(actor, after, 3).items == []


def test_an_event_carries_its_resource_version_time_and_payload(
    services: Services, actor: Actor
) -> None:
    app = services.application
    project = app.create_project(actor, "P", "about")
    app.update_project(actor, project.id, name="Q")

    created, updated = app.list_events(actor, 0, 10).items

    assert (created.resource_id, created.version) == (project.id, 1)
    assert created.data == {"name": "P", "description": "about"}
    assert created.occurred_at == project.created_at
    assert (updated.type, updated.version, updated.data["name"]) == (
        "ProjectUpdated",
        2,
        "Q",
    )


def test_history_shows_the_project_and_its_assignments_after_deletion(
    services: Services, actor: Actor
) -> None:
    app = services.application
    project = app.create_project(actor, "P", None)
    other = app.create_project(actor, "Other", None)
    job = app.create_job(actor, "J")
    app.assign_job(actor, project.id, job.id)
    app.assign_job(actor, other.id, app.create_job(actor, "elsewhere").id)
    app.delete_project(actor, project.id)

    history = app.project_history(actor, project.id, 20, None, None)

    types = [e.type for e in history.items]
    assert types[0] == "ProjectCreated" and "ProjectDeleted" in types
    assert {"JobAssigned", "JobAddedToProject", "JobUnassigned"} <= set(types)
    assert {e.resource_id for e in history.items} == {project.id, job.id}
    assert history.total == len(types) == 5
    positions = [e.position for e in history.items]
    assert positions == sorted(positions)


def test_history_is_paged_by_number_and_by_cursor(
    services: Services, actor: Actor
) -> None:
    app = services.application
    project = app.create_project(actor, "P", None)
    for n in range(5):
        app.update_project(actor, project.id, name=f"name {n}")

    first = app.project_history(actor, project.id, 4, 1, None)
    second = app.project_history(actor, project.id, 4, None, first.next_cursor)
    by_number = app.project_history(actor, project.id, 4, 2, None)

    assert first.total == 6 and first.has_more and second.has_more is False
    assert [e.version for e in first.items + second.items] == [1, 2, 3, 4, 5, 6]
    assert by_number.items == second.items and second.page == 2


def test_history_of_another_workspace_is_not_found(
    services: Services, actor: Actor
) -> None:
    app = services.application
    project = app.create_project(actor, "P", None)
    stranger = new_member(services).actor

    with pytest.raises(NotFoundError):
        app.project_history(stranger, project.id, 20, None, None)
    with pytest.raises(NotFoundError):
        app.project_history(actor, "proj_missing", 20, None, None)


def test_a_project_is_seen_as_it_was_at_a_past_moment(
    services: Services, actor: Actor
) -> None:
    app = services.application
    project = app.create_project(actor, "Before", None)
    job = app.create_job(actor, "J")
    app.assign_job(actor, project.id, job.id)
    time.sleep(0.005)
    moment = datetime.now(tz=UTC)
    time.sleep(0.005)
    app.update_project(actor, project.id, name="After")
    app.unassign_job(actor, project.id, job.id)
    app.delete_project(actor, project.id)

    then = app.get_project_as_of(actor, project.id, moment)

    assert (then.name, then.job_count, then.version) == ("Before", 1, 2)
    with pytest.raises(NotFoundError):
        app.get_project_as_of(actor, project.id, project.created_at - timedelta(1))
    with pytest.raises(NotFoundError):
        app.get_project_as_of(actor, project.id, datetime.now(tz=UTC))


def test_export_reads_the_whole_log_or_a_part_of_it(
    services: Services, actor: Actor
) -> None:
    app = services.application
    stranger = new_member(services).actor
    for n in range(3):
        app.create_job(actor, f"J{n}")
        app.create_job(stranger, f"S{n}")

    everything = list(app.export_events())
    mine = list(app.export_events(workspace_id=actor.workspace_id))
    middle = list(
        app.export_events(after=everything[1].position, until=everything[3].position)
    )

    assert [e.position for e in everything] == sorted(e.position for e in everything)
    assert len(mine) == 3 and all(e.workspace_id == actor.workspace_id for e in mine)
    assert middle == everything[2:4]
    json.dumps([e.data for e in everything])


def test_the_stream_yields_new_events_and_heartbeats_until_told_to_stop(
    services: Services, actor: Actor
) -> None:
    app = services.application
    app.create_job(actor, "J")
    ticks = itertools.count()

    stream = app.stream_events(
        actor, 0, heartbeat=0.05, should_stop=lambda: next(ticks) > 3
    )
    received = list(stream)

    assert received[0] is not None and received[0].type == "JobCreated"
    assert None in received


def test_assignment_events_stored_in_their_first_shape_are_still_read(
    services: Services,
) -> None:
    mapper = services.application.mapper
    old_state = {
        "timestamp": {"_type_": "datetime_iso", "_data_": "2026-04-28T12:00:00+00:00"},
        "workspace_id": "ws_a",
        "actor_id": "user_a",
    }

    assigned = mapper.to_domain_event(
        StoredEvent(
            originator_id="job_a",
            originator_version=2,
            topic="JobAssigned",
            state=json.dumps({**old_state, "assigned_to": "proj_a"}).encode(),
        )
    )
    unassigned = mapper.to_domain_event(
        StoredEvent(
            originator_id="job_a",
            originator_version=3,
            topic="JobUnassigned",
            state=json.dumps({**old_state, "unassigned_from": "proj_a"}).encode(),
        )
    )

    assert isinstance(assigned, JobAssigned) and assigned.project_id == "proj_a"
    assert isinstance(unassigned, JobUnassigned) and unassigned.project_id == "proj_a"
    assert assigned.related_project_id == "proj_a"


def test_new_assignment_events_are_stored_in_their_second_shape(
    services: Services, actor: Actor
) -> None:
    app = services.application
    project = app.create_project(actor, "P", None)
    job = app.create_job(actor, "J")
    app.assign_job(actor, project.id, job.id)

    logged = services.event_log.read(after=0, limit=10, workspace_id=actor.workspace_id)
    stored = next(n.stored for n in logged if n.stored.topic == "JobAssigned")

    state = json.loads(stored.state)
    assert state["class_version"] == 2 and state["project_id"] == project.id
