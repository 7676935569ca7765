"""Replay speed, and a check that replay rebuilds exactly the live read models.

Usage: .venv/bin/python -m benchmarks.replay_speed [--events 100000] [--threads 6]

Seeds a throwaway PostgreSQL database through the application (projects,
jobs, tasks, assignments, renames, archives, deletions, from several threads
and workspaces), fingerprints every read-model table, runs the replay, and
compares. The baseline in the same run is a plain full read of the events
table, which no replay can beat.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import threading
import time

from application.views import Actor
from benchmarks.seeding import Databases
from infrastructure.replay import replay
from infrastructure.settings import Settings
from infrastructure.wiring import Services, build_services
from projections.registry import TABLES

SERVER_URL = os.environ.get(
    "SOKOSUMI_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def fingerprint(services: Services) -> dict[str, tuple[int, str]]:
    """Row count and a hash of every row of every read-model table."""
    prints = {}
    with services.database.reading() as session:
        for table in TABLES:
            order = ", ".join(table.primary_key)
            rows = session.fetch(f"SELECT * FROM {table.name} ORDER BY {order}")
            digest = hashlib.sha256()
            for row in rows:
                digest.update(repr([row[c] for c in table.column_names]).encode())
            prints[table.name] = (len(rows), digest.hexdigest()[:16])
    return prints


def event_count(services: Services) -> int:
    with services.database.reading() as session:
        return int(session.fetch("SELECT COUNT(*) AS n FROM stored_events")[0]["n"])


def seed_worker(services: Services, actor: Actor, stop_at: int, seed: int) -> None:
    app = services.application
    rng = random.Random(seed)
    projects = [app.create_project(actor, f"P{n}", "seeded").id for n in range(5)]
    while event_count(services) < stop_at:
        for _ in range(50):
            choice = rng.random()
            if choice < 0.25:
                job = app.create_job(actor, "job")
                app.assign_job(actor, rng.choice(projects), job.id)
            elif choice < 0.45:
                task = app.create_task(actor, "task", None)
                project_id = rng.choice(projects)
                app.assign_task(actor, project_id, task.id)
                if rng.random() < 0.3:
                    app.archive_task(actor, task.id)
            elif choice < 0.55:
                app.update_project(actor, rng.choice(projects), name=f"P{rng.random()}")
            elif choice < 0.58:
                doomed = projects.pop(rng.randrange(len(projects)))
                app.delete_project(actor, doomed)
                projects.append(app.create_project(actor, "new", None).id)
            else:
                app.create_job(actor, "loose job")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--threads", type=int, default=6)
    arguments = parser.parse_args()

    databases = Databases(SERVER_URL)
    url = databases.create("service")
    try:
        services = build_services(Settings.from_environ({"DATABASE_URL": url}))
        started = time.perf_counter()
        workers = []
        for n in range(arguments.threads):
            issued = services.create_key(f"seed{n}@example.com", f"workspace {n % 3}")
            actor = Actor(issued.user_id, issued.workspace_id)
            worker = threading.Thread(
                target=seed_worker, args=(services, actor, arguments.events, n)
            )
            worker.start()
            workers.append(worker)
        for worker in workers:
            worker.join()
        events = event_count(services)
        print(f"seeded {events} events in {time.perf_counter() - started:.1f} s")

        live = fingerprint(services)
        started = time.perf_counter()
        with services.database.reading() as session:
            session.fetch("SELECT originator_id, state FROM stored_events")
        baseline = time.perf_counter() - started
        report = replay(services)
        rebuilt = fingerprint(services)
        services.close()
    finally:
        databases.drop_all()

    print(f"baseline, reading every event: {baseline:.2f} s")
    print(
        f"replay: {report.events} events in {report.seconds:.2f} s "
        f"({report.events_per_second:,.0f} events/s, "
        f"{report.seconds / baseline:.1f}x the baseline)"
    )
    for table, (rows, digest) in live.items():
        same = "equal" if rebuilt[table] == (rows, digest) else "DIFFERENT"
        print(f"  {table}: {rows} rows, {digest} -> {same}")
    if rebuilt != live:
        raise SystemExit("the rebuilt read models differ from the live ones")


if __name__ == "__main__":
    main()
