"""Model-based tests: random command sequences against a plain model of the rules.

The application is driven on the in-memory store and on SQLite, the HTTP API
on PostgreSQL. After the run, the whole event log is folded by the rules and
compared with the read models, which a replay must leave unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from api.app import create_app
from infrastructure.settings import Settings
from infrastructure.wiring import Services, build_services
from tests.audit import (
    fold,
    logged_events,
    read_model_problems,
    read_model_rows,
    replay_changes,
)
from tests.conftest import create_database, drop_database
from tests.figures import record
from tests.properties.drivers import ApplicationDriver, HttpDriver
from tests.properties.machine import describe_tally, machine_for
from tests.variants import by_variant


def run_settings(short_examples: int, long_examples: int) -> settings:
    """Hypothesis settings: a few dozen sequences in the short variant."""
    return settings(
        max_examples=by_variant(short_examples, long_examples),
        stateful_step_count=by_variant(30, 80),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        report_multiple_bugs=False,
    )


pytestmark = pytest.mark.timeout(by_variant(300, 3600))


@pytest.fixture
def store_services(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Services]:
    """The service on the store named by the test's parameter, empty."""
    backend = request.param
    database_url = {
        "memory": "memory://",
        "sqlite": f"sqlite:///{tmp_path / 'rules.db'}",
    }.get(backend) or create_database()

    services = build_services(Settings.from_environ({"DATABASE_URL": database_url}))
    yield services
    services.close()
    if backend == "postgresql":
        drop_database(database_url)


def assert_the_log_explains_the_read_models(services: Services) -> None:
    state = fold(logged_events(services))

    assert state.problems == []
    assert read_model_problems(state, read_model_rows(services)) == []
    assert replay_changes(services) == []


@pytest.mark.parametrize("store_services", ["memory", "sqlite"], indirect=True)
def test_the_application_keeps_every_rule_in_any_sequence_of_commands(
    store_services: Services,
) -> None:
    driver = ApplicationDriver(store_services.application)
    machine = machine_for(driver, store_services, body_first=False)

    run_state_machine_as_test(machine, settings=run_settings(40, 600))
    backend = store_services.settings.backend
    record(f"rules, application on {backend}: {describe_tally(machine.tally)}")

    assert_the_log_explains_the_read_models(store_services)


@pytest.mark.parametrize("store_services", ["postgresql"], indirect=True)
def test_the_http_api_keeps_every_rule_in_any_sequence_of_requests(
    store_services: Services,
) -> None:
    app = create_app(
        store_services.application, store_services.identity, store_services.check_store
    )
    driver = HttpDriver(app.test_client())
    machine = machine_for(driver, store_services, body_first=True)

    run_state_machine_as_test(machine, settings=run_settings(12, 200))
    record(f"rules, HTTP API on PostgreSQL: {describe_tally(machine.tally)}")

    assert_the_log_explains_the_read_models(store_services)
