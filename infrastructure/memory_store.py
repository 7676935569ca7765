"""The event store in memory, for tests and trials: nothing survives the process.

Events live in the library's plain-Python recorder; the read models live in
an in-memory SQLite database, changed under the recorder's lock so that
events and read models change together.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.popo import POPOApplicationRecorder

from infrastructure.database import SqliteDatabase
from infrastructure.recording import Projector, domain_events_of


class MemoryEventRecorder(POPOApplicationRecorder):
    """Records events in memory and applies the read models' changes with them."""

    def __init__(self, database: SqliteDatabase, projector: Projector) -> None:
        super().__init__()
        self.database = database
        self.projector = projector
        self.workspace_ids: list[str] = []
        self.project_ids: list[str | None] = []

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        domain_events = domain_events_of(stored_events, kwargs)
        with self._database_lock:
            self._assert_uniqueness(stored_events)
            with self.database.writing() as session:
                self.projector.project(session, domain_events)
            positions = self._update_table(stored_events)
            self.workspace_ids.extend(event.workspace_id for event in domain_events)
            self.project_ids.extend(event.related_project_id for event in domain_events)
        self._notify_listeners()
        return positions
