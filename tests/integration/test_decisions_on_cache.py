"""Commands on aggregates saved here a moment ago are decided without reading first.

Each test runs two service instances on one PostgreSQL database, as two
server processes would: `here` decides on what it saved itself, `elsewhere`
changes the same aggregates behind its back. A decision on cached state must
never stand unless the store confirms it; whatever it cannot confirm is
decided again from the store's state, with the answer that state gives.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.exceptions import Unauthorized

from api.requests import actor_of
from application.errors import ConflictError
from application.views import Actor
from infrastructure import postgres_store
from infrastructure.identity import IssuedKey
from infrastructure.settings import Settings
from infrastructure.wiring import Services, build_services

pytestmark = pytest.mark.postgres


class Messages:
    """Counts the simple queries, one message each way, sent to the server."""

    def __init__(self) -> None:
        self.sent = 0

    def reset(self) -> None:
        self.sent = 0


@pytest.fixture
def messages(monkeypatch: pytest.MonkeyPatch) -> Messages:
    counter = Messages()
    real_simple_query = postgres_store.simple_query

    def counted(*args: Any, **kwargs: Any) -> Any:
        counter.sent += 1
        return real_simple_query(*args, **kwargs)

    monkeypatch.setattr(postgres_store, "simple_query", counted)
    return counter


@pytest.fixture
def two_processes(fresh_postgres_url: str) -> Iterator[tuple[Services, Services]]:
    settings = Settings.from_environ(
        {"DATABASE_URL": fresh_postgres_url, "SOKOSUMI_DB_POOL_SIZE": "3"}
    )
    here, elsewhere = build_services(settings), build_services(settings)
    yield here, elsewhere
    here.close()
    elsewhere.close()


@pytest.fixture
def issued(two_processes: tuple[Services, Services]) -> IssuedKey:
    return two_processes[0].create_key("cached@example.com", "workspace")


@pytest.fixture
def actor(issued: IssuedKey) -> Actor:
    return Actor(issued.user_id, issued.workspace_id)


def caller_of(services: Services, api_key: str) -> Actor:
    """The caller of a request with `api_key`, as the API layer makes it."""
    return actor_of(services.identity.look_up(api_key))


def test_a_command_on_aggregates_saved_here_goes_in_one_round_trip(
    two_processes: tuple[Services, Services], actor: Actor, messages: Messages
) -> None:
    here, _ = two_processes
    project = here.application.create_project(actor, "P", None)
    job = here.application.create_job(actor, "J")
    messages.reset()

    view = here.application.assign_job(actor, project.id, job.id)

    assert messages.sent == 1
    assert view.job_count == 1
    assert here.application.get_job(actor, job.id).project_id == project.id


def test_a_command_on_aggregates_saved_long_ago_reads_them_first(
    two_processes: tuple[Services, Services], actor: Actor, messages: Messages
) -> None:
    here, _ = two_processes
    project = here.application.create_project(actor, "P", None)
    job = here.application.create_job(actor, "J")
    here.application.recent.trusted_for = 0.0
    messages.reset()

    here.application.assign_job(actor, project.id, job.id)

    assert messages.sent == 2


def test_a_decision_made_stale_elsewhere_is_refused_and_decided_again(
    two_processes: tuple[Services, Services], actor: Actor, messages: Messages
) -> None:
    here, elsewhere = two_processes
    project = here.application.create_project(actor, "P", None)
    job = here.application.create_job(actor, "J")
    other = elsewhere.application.create_project(actor, "Other", None)
    elsewhere.application.assign_job(actor, other.id, job.id)
    messages.reset()

    with pytest.raises(ConflictError, match=f"{job.id}.*{other.id}"):
        here.application.assign_job(actor, project.id, job.id)

    assert messages.sent == 2  # the refused record, then the load that refuses
    assert here.application.get_job(actor, job.id).project_id == other.id
    assert here.application.get_project(actor, project.id).job_count == 0


def test_a_decision_to_change_nothing_is_checked_against_the_store(
    two_processes: tuple[Services, Services], actor: Actor
) -> None:
    here, elsewhere = two_processes
    project = here.application.create_project(actor, "P", None)
    job = here.application.create_job(actor, "J")
    here.application.assign_job(actor, project.id, job.id)
    elsewhere.application.unassign_job(actor, project.id, job.id)

    view = here.application.assign_job(actor, project.id, job.id)

    assert view.job_count == 1
    assert elsewhere.application.get_job(actor, job.id).project_id == project.id


def test_a_refusal_decided_on_cache_is_checked_against_the_store(
    two_processes: tuple[Services, Services], actor: Actor
) -> None:
    here, elsewhere = two_processes
    first = here.application.create_project(actor, "First", None)
    job = here.application.create_job(actor, "J")
    here.application.assign_job(actor, first.id, job.id)
    elsewhere.application.unassign_job(actor, first.id, job.id)
    moved_to = elsewhere.application.create_project(actor, "Second", None)
    elsewhere.application.assign_job(actor, moved_to.id, job.id)
    third = here.application.create_project(actor, "Third", None)

    with pytest.raises(ConflictError) as refused:
        here.application.assign_job(actor, third.id, job.id)

    assert moved_to.id in str(refused.value)
    assert first.id not in str(refused.value)


def test_a_key_presumed_live_is_confirmed_with_the_record(
    two_processes: tuple[Services, Services],
    issued: IssuedKey,
    actor: Actor,
    messages: Messages,
) -> None:
    here, _ = two_processes
    project = here.application.create_project(actor, "P", None)
    job = here.application.create_job(actor, "J")
    assert caller_of(here, issued.api_key).workspace_id == issued.workspace_id
    caller = caller_of(here, issued.api_key)
    messages.reset()

    here.application.assign_job(caller, project.id, job.id)

    assert messages.sent == 1
    assert caller.workspace_id == issued.workspace_id
    assert messages.sent == 1  # the confirmed presumption needs no check of its own


def test_a_key_revoked_since_it_was_presumed_live_records_nothing(
    two_processes: tuple[Services, Services], issued: IssuedKey, actor: Actor
) -> None:
    here, elsewhere = two_processes
    project = here.application.create_project(actor, "P", None)
    job = here.application.create_job(actor, "J")
    assert caller_of(here, issued.api_key).workspace_id == issued.workspace_id
    caller = caller_of(here, issued.api_key)
    assert elsewhere.identity.revoke_key(issued.key_id)

    with pytest.raises(Unauthorized):
        here.application.assign_job(caller, project.id, job.id)

    assert here.application.get_job(actor, job.id).project_id is None
    assert here.application.get_project(actor, project.id).job_count == 0


def test_an_aggregate_seen_written_elsewhere_is_read_before_deciding(
    two_processes: tuple[Services, Services], actor: Actor, messages: Messages
) -> None:
    here, elsewhere = two_processes
    project = here.application.create_project(actor, "P", None)
    trusted_job = here.application.create_job(actor, "Saved here")
    elsewhere.application.assign_job(
        actor, project.id, elsewhere.application.create_job(actor, "There").id
    )
    # A job this process never saw: the project is read with it, and the
    # store shows the other process's write of a project trusted here.
    here.application.assign_job(
        actor, project.id, elsewhere.application.create_job(actor, "New").id
    )
    messages.reset()

    here.application.assign_job(actor, project.id, trusted_job.id)

    assert messages.sent == 2


def test_a_refused_record_makes_its_aggregates_read_before_deciding(
    two_processes: tuple[Services, Services], actor: Actor, messages: Messages
) -> None:
    here, elsewhere = two_processes
    project = here.application.create_project(actor, "P", None)
    first = here.application.create_job(actor, "First")
    second = here.application.create_job(actor, "Second")
    elsewhere.application.assign_job(
        actor, project.id, elsewhere.application.create_job(actor, "There").id
    )
    here.application.assign_job(actor, project.id, first.id)  # refused, then read
    messages.reset()

    here.application.assign_job(actor, project.id, second.id)

    assert messages.sent == 2
    assert here.application.get_project(actor, project.id).job_count == 3
