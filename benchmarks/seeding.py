"""Throwaway databases for the suite, and the same projects and jobs in each pair.

The service's database gets its history from the service's own code: domain
aggregates make the events, the application's mapper stores them, and the
service's recorder inserts them a batch at a time, positions and all. Its
read models are left to the replay, which builds them from the log alone and
gives the replay figure on the way. The baseline's database gets the same
projects and jobs, with the same ids and times, as plain rows through COPY.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

import psycopg
from eventsourcing.persistence import StoredEvent

from benchmarks import baseline
from domain.events import DomainEvent
from domain.job import Job
from domain.project import Project
from infrastructure.recording import EVENTS_TABLE
from infrastructure.replay import replay
from infrastructure.settings import Settings
from infrastructure.wiring import Services, build_services
from projections.listing import to_millis
from projections.sql import Operation, SqlSession

BATCH_SIZE = 5_000
READ_BATCH_SIZE = 5_000


@dataclass(frozen=True)
class Sizes:
    """How many rows a pair of databases holds."""

    projects: int
    in_workspace: int
    other_workspaces: int
    jobs: int


@dataclass
class Seeded:
    """What the load scripts need from a seeded pair, and what seeding measured."""

    service_url: str
    baseline_url: str
    service_key: str
    baseline_key: str
    workspace_id: str
    project_ids: list[str] = field(default_factory=list)
    job_ids: list[str] = field(default_factory=list)
    events: int = 0
    seed_seconds: float = 0.0
    replay_seconds: float = 0.0
    read_seconds: float = 0.0


class Databases:
    """Creates throwaway databases on one server and drops every one of them."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self.prefix = f"sokosumi_bench_{uuid.uuid4().hex[:8]}"
        self.created: list[str] = []

    def create(self, role: str, copy_of: str | None = None) -> str:
        """Create a database for `role`, empty or a copy of another URL's; its URL."""
        name = f"{self.prefix}_{role}"
        template = "" if copy_of is None else f' TEMPLATE "{copy_of.rsplit("/", 1)[1]}"'
        with psycopg.connect(self.server_url, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"{template}')
        self.created.append(name)
        return self.server_url.rsplit("/", 1)[0] + "/" + name

    def drop_all(self) -> None:
        with psycopg.connect(self.server_url, autocommit=True) as connection:
            for name in reversed(self.created):
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.created.clear()


def seed_pair(
    service_url: str,
    baseline_url: str,
    sizes: Sizes,
    say: Callable[[str], None] = print,
) -> Seeded:
    """Fill both databases with the same rows and build the service's read models."""
    started = time.perf_counter()
    services = build_services(Settings.from_environ({"DATABASE_URL": service_url}))
    try:
        issued = services.create_key("bench@example.com", "bench")
        others = [
            services.create_key(f"other{n}@example.com", f"other {n}").workspace_id
            for n in range(sizes.other_workspaces)
        ]
        key, key_id, secret_hash = baseline.make_key()
        seeded = Seeded(
            service_url=service_url,
            baseline_url=baseline_url,
            service_key=issued.api_key,
            baseline_key=key,
            workspace_id=issued.workspace_id,
        )

        with psycopg.connect(baseline_url) as connection:
            for statement in baseline.SCHEMA:
                connection.execute(statement)
            connection.execute(
                "INSERT INTO api_keys (id, secret_hash, user_id, workspace_id) "
                "VALUES (%s, %s, %s, %s)",
                (key_id, secret_hash, issued.user_id, issued.workspace_id),
            )
            _load(services, connection, seeded, sizes, issued.user_id, others, say)
        seeded.seed_seconds = time.perf_counter() - started

        say(f"  replaying {seeded.events:,} events into the service's read models")
        report = replay(services)
        seeded.replay_seconds = report.seconds
        seeded.read_seconds = _time_reading_the_log(services)
    finally:
        services.close()

    for url in (service_url, baseline_url):
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute("VACUUM ANALYZE")
    return seeded


def write_out_seeded_pages(server_url: str) -> None:
    """Write every page that seeding dirtied to disk before anything is measured.

    Otherwise the checkpoint that seeding set off writes them out during the
    first scenarios, and slows whichever server runs then.
    """
    with (
        psycopg.connect(server_url, autocommit=True) as connection,
        suppress(psycopg.errors.InsufficientPrivilege),
    ):
        connection.execute("CHECKPOINT")


def _load(
    services: Services,
    connection: psycopg.Connection[Any],
    seeded: Seeded,
    sizes: Sizes,
    user_id: str,
    others: Sequence[str],
    say: Callable[[str], None],
) -> None:
    """Record every event through the service and COPY the rows to the baseline."""
    mapper = services.application.mapper
    batch: list[DomainEvent] = []
    totals: Counter[str] = Counter()

    def record() -> None:
        stored: list[StoredEvent] = [mapper.to_stored_event(e) for e in batch]
        services.recorder.insert_events(stored, events=batch)
        seeded.events += len(batch)
        batch.clear()

    every = max(1, sizes.projects // sizes.in_workspace)
    with (
        _read_models_left_to_replay(services),
        connection.cursor() as cursor,
        cursor.copy(
            f"COPY projects ({baseline.PROJECT_COLUMNS}) FROM STDIN"
        ) as projects,
    ):
        for number in range(sizes.projects):
            in_workspace = number % every == 0 or not others
            if len(seeded.project_ids) >= sizes.in_workspace:
                in_workspace = False
            workspace_id = (
                seeded.workspace_id if in_workspace else others[number % len(others)]
            )
            project = Project.create(
                workspace_id=workspace_id,
                actor_id=user_id,
                name=f"Project {number}",
                description=None,
            )
            (created,) = project.collect_events()
            moment = to_millis(created.timestamp)
            projects.write_row(
                (project.id, workspace_id, project.name, None, moment, moment, 1, 0, 0)
            )
            batch.append(created)
            totals[workspace_id] += 1
            if in_workspace:
                seeded.project_ids.append(project.id)
            if len(batch) >= BATCH_SIZE:
                record()
            if (number + 1) % 100_000 == 0:
                say(f"  {number + 1:,} projects recorded")

        job_rows = []
        for number in range(sizes.jobs):
            job = Job.create(
                workspace_id=seeded.workspace_id, actor_id=user_id, name=f"Job {number}"
            )
            (created,) = job.collect_events()
            moment = to_millis(created.timestamp)
            job_rows.append(
                (job.id, seeded.workspace_id, job.name, None, moment, moment, 1)
            )
            batch.append(created)
            seeded.job_ids.append(job.id)
            if len(batch) >= BATCH_SIZE:
                record()
        if batch:
            record()

    with (
        connection.cursor() as cursor,
        cursor.copy(
            "COPY jobs (id, workspace_id, name, project_id, created_at, updated_at, "
            "version) FROM STDIN"
        ) as jobs,
    ):
        for row in job_rows:
            jobs.write_row(row)
    totals_of_jobs = Counter({seeded.workspace_id: sizes.jobs})
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO workspace_totals (workspace_id, projects, jobs) "
            "VALUES (%s, %s, %s)",
            [
                (workspace, totals[workspace], totals_of_jobs[workspace])
                for workspace in totals
            ],
        )


class _NoReadModels:
    """A projector that changes nothing: the replay builds the read models."""

    def project(self, session: SqlSession, events: Sequence[DomainEvent]) -> None:
        return None

    def operations(self, events: Sequence[DomainEvent]) -> list[Operation]:
        return []


@contextmanager
def _read_models_left_to_replay(services: Services) -> Iterator[None]:
    """Record events without updating the read models on the way.

    The replay rebuilds them from the log alone, so keeping them current
    while seeding would only double the work. A recorder without a projector
    of its own is left as it is, which is slower but as correct.
    """
    recorder: Any = services.recorder
    projector = getattr(recorder, "projector", None)
    if projector is None:
        yield
        return
    recorder.projector = _NoReadModels()
    try:
        yield
    finally:
        recorder.projector = projector


def _time_reading_the_log(services: Services) -> float:
    """Seconds to read the whole log in the replay's batches, and do nothing else."""
    started = time.perf_counter()
    after = -1
    with services.database.reading() as session:
        while True:
            rows = session.fetch(
                "SELECT notification_id, originator_id, originator_version, topic, "
                f"state FROM {EVENTS_TABLE} WHERE notification_id > :after "
                "ORDER BY notification_id LIMIT :limit",
                {"after": after, "limit": READ_BATCH_SIZE},
            )
            if not rows:
                break
            after = rows[-1]["notification_id"]
    return time.perf_counter() - started
