"""A caller's key is checked in the same round trip as its command's first read."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import pytest
from werkzeug.exceptions import Unauthorized

from api.requests import actor_of
from application.views import Actor, JobView, ProjectView
from infrastructure.database import PostgresDatabase
from infrastructure.identity import IssuedKey
from infrastructure.wiring import Services

pytestmark = pytest.mark.postgres


class CountedReads:
    """Counts the read sessions a database opens for the key checks."""

    def __init__(self, database: PostgresDatabase) -> None:
        self.database = database
        self.opened = 0
        self._reading = database.reading

    def reading(self) -> AbstractContextManager[Any]:
        self.opened += 1
        return self._reading()


@pytest.fixture
def counted(
    postgres_services: Services, monkeypatch: pytest.MonkeyPatch
) -> CountedReads:
    database = postgres_services.identity.database
    assert isinstance(database, PostgresDatabase)
    counter = CountedReads(database)
    monkeypatch.setattr(database, "reading", counter.reading)
    return counter


def a_project_and_a_job(
    services: Services,
) -> tuple[IssuedKey, Actor, ProjectView, JobView]:
    issued = services.create_key("rider@example.com", "workspace")
    actor = Actor(issued.user_id, issued.workspace_id)
    project = services.application.create_project(actor, "P", None)
    job = services.application.create_job(actor, "J")
    return issued, actor, project, job


def found_by_key(services: Services, api_key: str) -> Actor:
    return actor_of(services.identity.look_up(api_key))


def test_a_command_checks_the_key_with_its_load_and_reads_nothing_else(
    postgres_services: Services, counted: CountedReads
) -> None:
    issued, actor, project, job = a_project_and_a_job(postgres_services)
    application = postgres_services.application

    caller = found_by_key(postgres_services, issued.api_key)
    assert not caller.is_found
    view = application.assign_job(caller, project.id, job.id)

    assert view.job_count == 1
    assert caller == actor
    assert counted.opened == 0


def test_a_key_that_fails_its_check_with_the_load_changes_nothing(
    postgres_services: Services, counted: CountedReads
) -> None:
    issued, actor, project, job = a_project_and_a_job(postgres_services)
    application = postgres_services.application
    assert postgres_services.identity.revoke_key(issued.key_id)

    caller = found_by_key(postgres_services, issued.api_key)
    with pytest.raises(Unauthorized):
        application.assign_job(caller, project.id, job.id)

    assert counted.opened == 0
    assert application.get_project(actor, project.id).job_count == 0
    assert application.get_job(actor, job.id).project_id is None


def test_a_check_asked_for_before_any_command_runs_on_its_own(
    postgres_services: Services, counted: CountedReads
) -> None:
    issued = postgres_services.create_key("rider@example.com", "workspace")

    caller = found_by_key(postgres_services, issued.api_key)
    assert caller.workspace_id == issued.workspace_id
    assert counted.opened == 1


def test_a_cancelled_check_does_not_ride_on_the_next_command(
    postgres_services: Services, counted: CountedReads
) -> None:
    issued, actor, project, job = a_project_and_a_job(postgres_services)
    application = postgres_services.application

    postgres_services.identity.look_up("sk_" + "0" * 26 + "_" + "a" * 43)
    postgres_services.identity.look_up(issued.api_key).cancel()
    database = postgres_services.identity.database
    assert isinstance(database, PostgresDatabase)
    assert database.riders is not None
    waiting = database.riders.take()
    assert len(waiting) == 1  # the first, never asked for nor cancelled

    application.assign_job(actor, project.id, job.id)
    assert database.riders.take() == []
