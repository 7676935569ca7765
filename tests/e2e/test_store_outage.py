"""A service whose database went away says so: 503 with Retry-After, never a trace."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import create_database, drop_database
from tests.e2e.support import (
    Deployment,
    create_project,
    expect_error,
    start_deployment,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
def lone_deployment(tmp_path: Path) -> Iterator[Deployment]:
    """One server process of one worker on a database of its own, to be dropped."""
    database_url = create_database()
    try:
        started = start_deployment(
            "outage",
            database_url,
            processes=1,
            workers=1,
            log_dir=tmp_path,
            members_ahead=0,
        )
    except BaseException:
        drop_database(database_url)
        raise
    yield started
    started.stop()
    drop_database(database_url)


def test_a_database_that_went_away_answers_503_with_retry_after(
    lone_deployment: Deployment,
) -> None:
    client = lone_deployment.client(lone_deployment.new_member())
    project = create_project(client)

    drop_database(lone_deployment.database_url)

    answers = [
        client.get(f"/v1/projects/{project['id']}"),
        client.post("/v1/projects", body={"name": "Unsaved"}),
        client.get("/v1/jobs"),
    ]
    for response in answers:
        expect_error(response, 503)
        assert int(response.headers["Retry-After"]) > 0
