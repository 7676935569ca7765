"""Builds the service's parts from its settings: stores, application, identity."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import ApplicationRecorder
from eventsourcing.popo import POPOAggregateRecorder

from application.pagination import CursorCodec
from application.ports import CommandScopes, EventLog, UnscopedCommands
from application.service import ProjectsApplication
from infrastructure.database import PostgresDatabase, SqliteDatabase
from infrastructure.event_log import (
    CommitSignal,
    MemoryEventLog,
    PostgresCommitSignal,
    SqlEventLog,
)
from infrastructure.identity import IdentityStore, IssuedKey
from infrastructure.memory_store import MemoryEventRecorder
from infrastructure.postgres_store import (
    PostgresCommandScopes,
    PostgresEventRecorder,
    PostgresSnapshotRecorder,
    QuietDatastore,
)
from infrastructure.recording import StoreFactory
from infrastructure.schema import cursor_secret, ensure_schema
from infrastructure.settings import Settings
from infrastructure.sqlite_store import SqliteEventRecorder, SqliteSnapshotRecorder
from projections.registry import ReadModelProjector, SqlReadModels
from projections.sql import Database

logger = logging.getLogger(__name__)


@dataclass
class Services:
    """Everything a process of the service needs, built once per process."""

    settings: Settings
    database: Database
    application: ProjectsApplication
    identity: IdentityStore
    recorder: ApplicationRecorder
    event_log: EventLog

    def create_key(self, email: str, workspace_name: str) -> IssuedKey:
        return self.identity.create_key(email, workspace_name)

    def check_store(self) -> None:
        """Raise when the database cannot be reached."""
        with self.database.reading() as session:
            session.fetch("SELECT 1 AS alive")

    def close(self) -> None:
        self.application.close()


def build_services(settings: Settings, *, create_schema: bool = True) -> Services:
    """Connect to the configured store and assemble the service on it."""
    projector = ReadModelProjector()
    database: Database
    recorder: ApplicationRecorder
    snapshots: Any
    scopes: CommandScopes = UnscopedCommands()

    if settings.backend == "postgresql":
        location = settings.postgres
        assert location is not None
        datastore = QuietDatastore(
            dbname=location.dbname,
            host=location.host,
            port=location.port,
            user=location.user,
            password=location.password,
            connect_timeout=settings.connect_timeout,
            pool_size=settings.pool_size,
            max_overflow=settings.pool_size,
            idle_in_transaction_session_timeout=30,
            originator_id_type="text",
        )
        if location.options and isinstance(datastore.pool.kwargs, dict):
            datastore.pool.kwargs.update(location.options)
        database = PostgresDatabase(datastore, datastore.riders)
        events_recorder = PostgresEventRecorder(datastore, projector)
        recorder = events_recorder
        snapshots = PostgresSnapshotRecorder(datastore)
        scopes = PostgresCommandScopes(datastore)
        listener = {
            "host": location.host,
            "port": location.port,
            "user": location.user,
            "password": location.password,
            "dbname": location.dbname,
            "connect_timeout": max(1, round(settings.connect_timeout)),
            **location.options,
        }
        event_log: EventLog = SqlEventLog(database, PostgresCommitSignal(listener))

        def close() -> None:
            events_recorder.notifier.close()
            datastore.close()

    elif settings.backend == "sqlite":
        assert settings.sqlite_path is not None
        sqlite = SqliteDatabase(settings.sqlite_path)
        database = sqlite
        recorder = SqliteEventRecorder(sqlite, projector)
        snapshots = SqliteSnapshotRecorder(sqlite)
        event_log = SqlEventLog(sqlite, CommitSignal())
        close = sqlite.close
    else:
        memory = SqliteDatabase(":memory:")
        database = memory
        memory_recorder = MemoryEventRecorder(memory, projector)
        recorder = memory_recorder
        snapshots = POPOAggregateRecorder()
        event_log = MemoryEventLog(memory_recorder)
        close = memory.close

    if create_schema:
        ensure_schema(database)
    factory = StoreFactory(recorder, snapshots, close)
    application = ProjectsApplication(
        factory,
        SqlReadModels(database),
        CursorCodec(cursor_secret(database)),
        event_log,
        scopes,
    )
    return Services(
        settings=settings,
        database=database,
        application=application,
        identity=IdentityStore(database),
        recorder=recorder,
        event_log=event_log,
    )
