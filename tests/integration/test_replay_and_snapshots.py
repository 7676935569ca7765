"""Rebuilding read models from the log, and loading projects with long histories."""

from __future__ import annotations

from typing import Any

from application.views import Actor
from infrastructure.replay import replay
from infrastructure.wiring import Services
from projections.registry import TABLES
from tests.conftest import new_member


def read_models(services: Services) -> dict[str, list[dict[str, Any]]]:
    tables = {}
    with services.database.reading() as session:
        for table in TABLES:
            order = ", ".join(table.primary_key)
            rows = session.fetch(f"SELECT * FROM {table.name} ORDER BY {order}")
            tables[table.name] = [
                {name: row[name] for name in table.column_names} for row in rows
            ]
    return tables


def some_history(services: Services, actor: Actor) -> None:
    app = services.application
    projects = [app.create_project(actor, f"P{n}", f"d{n}") for n in range(4)]
    jobs = [app.create_job(actor, f"J{n}") for n in range(6)]
    tasks = [app.create_task(actor, f"T{n}", None) for n in range(4)]
    for n, job in enumerate(jobs):
        app.assign_job(actor, projects[n % 3].id, job.id)
    for n, task in enumerate(tasks):
        app.assign_task(actor, projects[n % 2].id, task.id)
    app.unassign_job(actor, projects[0].id, jobs[0].id)
    app.archive_task(actor, tasks[1].id)
    app.update_project(actor, projects[2].id, name="renamed")
    app.delete_project(actor, projects[1].id)


def test_replay_rebuilds_read_models_equal_to_the_live_ones(
    services: Services, actor: Actor
) -> None:
    some_history(services, actor)
    some_history(services, new_member(services).actor)
    live = read_models(services)

    report = replay(services)

    assert report.events > 0
    assert read_models(services) == live
    assert len(live["projects"]) >= 6


def test_replay_reports_every_event_it_applied(
    services: Services, actor: Actor
) -> None:
    app = services.application
    project = app.create_project(actor, "P", None)
    job = app.create_job(actor, "J")
    app.assign_job(actor, project.id, job.id)
    applied: list[int] = []

    report = replay(services, on_progress=applied.append)

    assert sum(applied) == report.events
    assert report.events >= 4


def test_a_project_with_a_long_history_loads_from_a_snapshot(
    services: Services, actor: Actor
) -> None:
    app = services.application
    project = app.create_project(actor, "P", None)
    job = app.create_job(actor, "J")
    for _ in range(130):
        app.assign_job(actor, project.id, job.id)
        app.unassign_job(actor, project.id, job.id)
    assert app.snapshots is not None

    snapshots = list(app.snapshots.get(project.id, desc=True, limit=1))
    loaded = app.repository.get(project.id)
    replayed_after_snapshot = list(
        app.events.get(project.id, gt=snapshots[0].originator_version)
    )

    assert snapshots and snapshots[0].originator_version == 200
    assert loaded.version == 261
    assert len(replayed_after_snapshot) == 61
    assert loaded.job_ids == set()
