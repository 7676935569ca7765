"""Rebuilding every read model from the event log alone.

The rebuild folds all events into rows in memory, using the same row changes
as the live writers, then replaces the tables' contents in one transaction.
Writers wait while it runs (the read-model tables are locked against them);
readers go on seeing the old rows until the new ones are committed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from eventsourcing.persistence import StoredEvent

from domain.events import DomainEvent
from infrastructure.memory_store import MemoryEventRecorder
from infrastructure.recording import EVENTS_TABLE
from infrastructure.wiring import Services
from projections.registry import TABLES, operations_for
from projections.sql import MemoryTables, SqlSession

logger = logging.getLogger(__name__)

BATCH_SIZE = 5_000


@dataclass(frozen=True)
class ReplayReport:
    events: int
    seconds: float

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else float(self.events)


def replay(
    services: Services,
    *,
    on_start: Callable[[int], None] = lambda total: None,
    on_progress: Callable[[int], None] = lambda done: None,
) -> ReplayReport:
    """Rebuild the read models; `on_progress` hears how many events each batch had."""
    started = time.perf_counter()
    mapper = services.application.mapper
    tables = MemoryTables(TABLES)
    applied = 0

    with services.database.writing() as session:
        if session.dialect == "postgresql":
            names = ", ".join(table.name for table in TABLES)
            session.execute(f"LOCK TABLE {names} IN EXCLUSIVE MODE")
        on_start(_count_events(services, session))

        for batch in _stored_batches(services, session):
            events = [mapper.to_domain_event(stored) for stored in batch]
            tables.apply(operations_for(_as_domain_events(events)))
            applied += len(batch)
            on_progress(len(batch))

        for table in TABLES:
            session.execute(f"DELETE FROM {table.name}")
            session.copy_rows(table.name, table.column_names, tables.table_rows(table))

    report = ReplayReport(events=applied, seconds=time.perf_counter() - started)
    logger.info(
        "replayed %d events in %.2f s (%.0f events/s)",
        report.events,
        report.seconds,
        report.events_per_second,
    )
    return report


def _as_domain_events(events: Sequence[object]) -> Iterator[DomainEvent]:
    for event in events:
        assert isinstance(event, DomainEvent)
        yield event


def _count_events(services: Services, session: SqlSession) -> int:
    if isinstance(services.recorder, MemoryEventRecorder):
        return services.recorder.max_notification_id() or 0
    rows = session.fetch(f"SELECT COUNT(*) AS total FROM {EVENTS_TABLE}")
    return int(rows[0]["total"])


def _stored_batches(
    services: Services, session: SqlSession
) -> Iterator[Sequence[StoredEvent]]:
    """The log in order of position, a batch at a time, read in `session`."""
    after = 0
    batch: Sequence[StoredEvent]
    while True:
        if isinstance(services.recorder, MemoryEventRecorder):
            notifications = services.recorder.select_notifications(
                after, BATCH_SIZE, inclusive_of_start=False
            )
            batch = notifications
            last = notifications[-1].id if notifications else after
        else:
            rows = session.fetch(
                "SELECT notification_id, originator_id, originator_version, topic, "
                f"state FROM {EVENTS_TABLE} WHERE notification_id > :after "
                "ORDER BY notification_id LIMIT :limit",
                {"after": after, "limit": BATCH_SIZE},
            )
            batch = [
                StoredEvent(
                    originator_id=row["originator_id"],
                    originator_version=row["originator_version"],
                    topic=row["topic"],
                    state=bytes(row["state"]),
                )
                for row in rows
            ]
            last = rows[-1]["notification_id"] if rows else after
        if not batch:
            return
        yield batch
        after = last
