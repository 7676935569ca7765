"""Configuration from the environment, checked once at start-up.

A bad value stops start-up with `ConfigurationError`, whose message is one
line naming the variable and what is wrong with it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qsl, unquote, urlsplit

DEFAULT_DATABASE_URL = "sqlite:///sokosumi-projects.db"


class ConfigurationError(Exception):
    """A setting in the environment is missing or wrong."""


@dataclass(frozen=True)
class PostgresLocation:
    host: str
    port: int
    user: str
    password: str
    dbname: str
    options: Mapping[str, str]


@dataclass(frozen=True)
class Settings:
    """Everything the service reads from its environment."""

    backend: Literal["postgresql", "sqlite", "memory"]
    database_url: str
    postgres: PostgresLocation | None = None
    sqlite_path: str | None = None
    pool_size: int = 10
    connect_timeout: float = 3.0
    log_level: str = "INFO"
    stream_heartbeat: float = 15.0

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read and check the settings; raise ConfigurationError on a bad value."""
        env = os.environ if environ is None else environ
        url = env.get("DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL
        pool_size = _integer(env, "SOKOSUMI_DB_POOL_SIZE", 10, minimum=1, maximum=500)
        connect_timeout = _number(
            env, "SOKOSUMI_DB_CONNECT_TIMEOUT", 3.0, minimum=0.1, maximum=300
        )
        stream_heartbeat = _number(
            env, "SOKOSUMI_STREAM_HEARTBEAT", 15.0, minimum=0.1, maximum=3600
        )
        log_level = env.get("SOKOSUMI_LOG_LEVEL", "INFO").strip().upper()
        if log_level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ConfigurationError(
                f"SOKOSUMI_LOG_LEVEL: {log_level!r} is not one of "
                "DEBUG, INFO, WARNING, ERROR, CRITICAL"
            )
        scheme = url.split(":", 1)[0].lower()
        if scheme not in {"postgresql", "postgres", "sqlite", "memory"}:
            raise ConfigurationError(
                "DATABASE_URL: expected postgresql://user@host:port/db, "
                f"sqlite:///path/file.db or memory://, got {_redacted(url)!r}"
            )
        is_postgres = scheme in {"postgresql", "postgres"}
        return cls(
            backend="postgresql" if is_postgres else scheme,  # type: ignore[arg-type]
            database_url=url,
            postgres=_postgres(url) if is_postgres else None,
            sqlite_path=_sqlite_path(url) if scheme == "sqlite" else None,
            pool_size=pool_size,
            connect_timeout=connect_timeout,
            log_level=log_level,
            stream_heartbeat=stream_heartbeat,
        )


def _postgres(url: str) -> PostgresLocation:
    try:
        parts = urlsplit(url)
        port = parts.port or 5432
    except ValueError as error:
        raise ConfigurationError(f"DATABASE_URL: {error}") from None
    dbname = unquote(parts.path.lstrip("/"))
    if not parts.hostname or not dbname:
        raise ConfigurationError(
            "DATABASE_URL: a PostgreSQL URL needs a host and a database name, "
            "as in postgresql://user@host:5432/db"
        )
    return PostgresLocation(
        host=parts.hostname,
        port=port,
        user=unquote(parts.username or "postgres"),
        password=unquote(parts.password or ""),
        dbname=dbname,
        options=dict(parse_qsl(parts.query)),
    )


def _sqlite_path(url: str) -> str:
    if not url.lower().startswith("sqlite:///"):
        raise ConfigurationError(
            "DATABASE_URL: a SQLite URL is sqlite:///relative/path.db "
            "or sqlite:////absolute/path.db"
        )
    path = url[len("sqlite:///") :]
    if not path:
        raise ConfigurationError("DATABASE_URL: the SQLite URL names no file")
    return path


def _redacted(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable>"
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url


def _integer(
    env: Mapping[str, str], name: str, default: int, *, minimum: int, maximum: int
) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name}: {raw!r} is not a whole number") from None
    if not minimum <= value <= maximum:
        raise ConfigurationError(
            f"{name}: {value} is not between {minimum} and {maximum}"
        )
    return value


def _number(
    env: Mapping[str, str], name: str, default: float, *, minimum: float, maximum: float
) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name}: {raw!r} is not a number") from None
    if not minimum <= value <= maximum:
        raise ConfigurationError(
            f"{name}: {value} is not between {minimum} and {maximum}"
        )
    return value
