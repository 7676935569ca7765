"""How long loading a project takes after a long history, against a fresh one.

Usage: .venv/bin/python -m benchmarks.project_load [--assignments 10000]

Creates a throwaway PostgreSQL database, gives one project a history of
assignments and unassignments, then times loading it (as every command on it
does) against loading a project with no history, in the same run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from application.views import Actor
from benchmarks.seeding import Databases
from infrastructure.settings import Settings
from infrastructure.wiring import build_services

SERVER_URL = os.environ.get(
    "SOKOSUMI_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def median_load_millis(load: object, project_id: str, rounds: int) -> float:
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        load(project_id)  # type: ignore[operator]
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--assignments", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=200)
    arguments = parser.parse_args()

    databases = Databases(SERVER_URL)
    url = databases.create("service")
    try:
        services = build_services(Settings.from_environ({"DATABASE_URL": url}))
        issued = services.create_key("bench@example.com", "bench")
        actor = Actor(issued.user_id, issued.workspace_id)
        app = services.application

        fresh = app.create_project(actor, "fresh", None)
        busy = app.create_project(actor, "busy", None)
        job = app.create_job(actor, "job")
        started = time.perf_counter()
        for _ in range(arguments.assignments // 2):
            app.assign_job(actor, busy.id, job.id)
            app.unassign_job(actor, busy.id, job.id)
        built = time.perf_counter() - started

        load = app.repository.get
        baseline = median_load_millis(load, fresh.id, arguments.rounds)
        measured = median_load_millis(load, busy.id, arguments.rounds)
        version = app.repository.get(busy.id).version
        services.close()
    finally:
        databases.drop_all()

    print(f"history built: {version - 1} project events in {built:.1f} s")
    print(f"load, fresh project (baseline): {baseline:.3f} ms (median)")
    print(f"load, project at version {version}: {measured:.3f} ms (median)")
    print(f"ratio long history / fresh: {measured / baseline:.2f}x")


if __name__ == "__main__":
    main()
