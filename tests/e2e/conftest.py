"""Real deployments of the service for the end-to-end tests.

Two deployments serve every contract test: one server process on a SQLite
file, and two server processes of two workers each on one PostgreSQL
database, which together are one service. The servers start once per test
session. Tests keep apart by working only on what they created; a test that
lists or counts a whole workspace gets a workspace of its own.

When a test fails, what the servers logged while it ran is added to its
report.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator

import pytest

from tests.conftest import create_database, drop_database
from tests.e2e.support import (
    RUNNING_SERVERS,
    Client,
    Deployment,
    Member,
    ServerProcess,
    start_deployment,
)

LOG_OFFSETS = pytest.StashKey[dict[ServerProcess, int]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if call.when == "setup":
        item.stash[LOG_OFFSETS] = {
            server: server.log_size() for server in RUNNING_SERVERS
        }
    if report.failed:
        offsets = item.stash.get(LOG_OFFSETS, {})
        for server in RUNNING_SERVERS:
            logged = server.log_since(offsets.get(server, 0))
            if logged:
                section = f"server log {server.log_path.name}"
                report.sections.append((section, logged))
    return report


@pytest.fixture(scope="package")
def sqlite_deployment(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Deployment]:
    """One server process of two workers on a SQLite file."""
    directory = tmp_path_factory.mktemp("sqlite")
    started = start_deployment(
        "sqlite",
        f"sqlite:///{directory / 'projects.db'}",
        processes=1,
        workers=2,
        log_dir=directory,
    )
    yield started
    started.stop()


@pytest.fixture(scope="package")
def postgres_deployment(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Deployment]:
    """Two server processes of two workers each on one fresh PostgreSQL database."""
    directory = tmp_path_factory.mktemp("postgresql")
    database_url = create_database()
    try:
        started = start_deployment(
            "postgresql", database_url, processes=2, workers=2, log_dir=directory
        )
    except BaseException:
        drop_database(database_url)
        raise
    yield started
    started.stop()
    drop_database(database_url)


@pytest.fixture(scope="package", params=["sqlite", "postgresql"])
def deployment(request: pytest.FixtureRequest) -> Deployment:
    """Each deployment in turn."""
    fixture_name = {"sqlite": "sqlite_deployment", "postgresql": "postgres_deployment"}
    started: Deployment = request.getfixturevalue(fixture_name[request.param])
    return started


@pytest.fixture(scope="package")
def member(deployment: Deployment) -> Member:
    """A user with a key, in a workspace that many tests share.

    Creating a key takes a process start, so a test gets a workspace of its
    own only when it needs one: when it lists or counts the whole workspace.
    Tests that share a workspace still keep apart by working on the
    projects, jobs and tasks they created themselves.
    """
    return deployment.new_member()


@pytest.fixture(scope="package")
def client(deployment: Deployment, member: Member) -> Client:
    """The shared member's client, spreading its requests over every process."""
    return deployment.client(member)


@pytest.fixture(scope="package")
def stranger(deployment: Deployment) -> Member:
    """Another user, in another workspace that `member` does not belong to."""
    return deployment.new_member()


@pytest.fixture
def fresh_member(deployment: Deployment) -> Member:
    """A user with a key, alone in a new workspace."""
    return deployment.new_member()


@pytest.fixture
def fresh_client(deployment: Deployment, fresh_member: Member) -> Client:
    """The client of a user alone in a new workspace."""
    return deployment.client(fresh_member)
