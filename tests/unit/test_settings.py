"""Settings read from the environment, and the one-line errors for bad values."""

from __future__ import annotations

import pytest

from infrastructure.settings import ConfigurationError, Settings


def test_no_database_url_means_a_sqlite_file_in_the_working_directory() -> None:
    settings = Settings.from_environ({})

    assert settings.backend == "sqlite"
    assert settings.sqlite_path == "sokosumi-projects.db"


def test_a_postgresql_url_is_taken_apart() -> None:
    url = "postgresql://ada:s%40cret@db.local:6543/projects?sslmode=require"

    settings = Settings.from_environ({"DATABASE_URL": url})

    assert settings.backend == "postgresql"
    location = settings.postgres
    assert location is not None
    assert (location.user, location.password) == ("ada", "s@cret")
    assert (location.host, location.port, location.dbname) == (
        "db.local",
        6543,
        "projects",
    )
    assert location.options == {"sslmode": "require"}


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"DATABASE_URL": "mysql://x/y"}, "DATABASE_URL"),
        ({"DATABASE_URL": "postgresql://host-only"}, "DATABASE_URL"),
        ({"DATABASE_URL": "sqlite://relative"}, "DATABASE_URL"),
        ({"SOKOSUMI_DB_POOL_SIZE": "many"}, "SOKOSUMI_DB_POOL_SIZE"),
        ({"SOKOSUMI_DB_POOL_SIZE": "0"}, "SOKOSUMI_DB_POOL_SIZE"),
        ({"SOKOSUMI_DB_CONNECT_TIMEOUT": "-1"}, "SOKOSUMI_DB_CONNECT_TIMEOUT"),
        ({"SOKOSUMI_LOG_LEVEL": "LOUD"}, "SOKOSUMI_LOG_LEVEL"),
    ],
)
def test_a_bad_value_is_named_in_one_line(environ: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        Settings.from_environ(environ)

    message = str(raised.value)
    assert message.startswith(named + ":")
    assert "\n" not in message


def test_a_password_never_appears_in_an_error() -> None:
    with pytest.raises(ConfigurationError) as raised:
        Settings.from_environ({"DATABASE_URL": "mongodb://ada:hunter2@host/db"})

    assert "hunter2" not in str(raised.value)
