"""Commands on one resource take turns across processes instead of racing.

Two service instances, each with its own connection pool as separate server
processes would have, run many threads that all change one project. Each
command waits for the project's turn before it loads, so none of them decides
on stale state and none has to decide again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import pytest

from application.views import Actor
from infrastructure.settings import Settings
from infrastructure.wiring import Services, build_services

PROCESSES = 2
THREADS_PER_PROCESS = 4
ROUNDS = 15


@pytest.fixture
def processes(fresh_postgres_url: str) -> Iterator[list[Services]]:
    settings = Settings.from_environ(
        {"DATABASE_URL": fresh_postgres_url, "SOKOSUMI_DB_POOL_SIZE": "4"}
    )
    built = [build_services(settings) for _ in range(PROCESSES)]
    yield built
    for services in built:
        services.close()


@pytest.mark.postgres
def test_changes_of_one_project_never_decide_on_stale_state(
    processes: list[Services], caplog: pytest.LogCaptureFixture
) -> None:
    first = processes[0]
    issued = first.create_key("busy@example.com", "workspace")
    actor = Actor(issued.user_id, issued.workspace_id)
    project = first.application.create_project(actor, "hot", None)
    errors: list[BaseException] = []

    def assign_and_unassign(services: Services, job_ids: list[str]) -> None:
        try:
            for round_number in range(ROUNDS):
                for job_id in job_ids:
                    services.application.assign_job(actor, project.id, job_id)
                leaving = job_ids[round_number % len(job_ids)]
                services.application.unassign_job(actor, project.id, leaving)
        except BaseException as error:
            errors.append(error)

    threads = []
    for services in processes:
        for _ in range(THREADS_PER_PROCESS):
            job_ids = [first.application.create_job(actor, "J").id for _ in range(3)]
            threads.append(
                threading.Thread(target=assign_and_unassign, args=(services, job_ids))
            )

    with caplog.at_level(logging.DEBUG, logger="application.service"):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert errors == []
    conflicts = [r for r in caplog.records if "version conflict" in r.getMessage()]
    assert conflicts == []
    view = first.application.get_project(actor, project.id)
    assert view.job_count == 2 * PROCESSES * THREADS_PER_PROCESS
