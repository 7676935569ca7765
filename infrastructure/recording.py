"""What every event recorder shares: the factory, and the events' index columns.

Each stored event carries, besides the columns of `eventsourcing`, the
workspace it belongs to and the project it concerns (if any), so that a
workspace's feed and a project's history are index scans.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    InfrastructureFactory,
    ProcessRecorder,
    StoredEvent,
    TrackingRecorder,
)

from domain.events import DomainEvent
from projections.sql import Operation, SqlSession

EVENTS_TABLE = "stored_events"
SNAPSHOTS_TABLE = "stored_snapshots"


class Projector(Protocol):
    def project(self, session: SqlSession, events: Sequence[DomainEvent]) -> None: ...

    def operations(self, events: Sequence[DomainEvent]) -> list[Operation]: ...


def domain_events_of(
    stored_events: Sequence[StoredEvent], kwargs: dict[str, Any]
) -> Sequence[DomainEvent]:
    """The domain events that the application handed over with the stored ones."""
    domain_events: Sequence[DomainEvent] = kwargs.get("events", ())
    if len(domain_events) != len(stored_events):
        msg = "every stored event needs its domain event, to index and project it"
        raise ValueError(msg)
    return domain_events


class StoreFactory(InfrastructureFactory[TrackingRecorder]):
    """Hands the application the recorders that the wiring built."""

    def __init__(
        self,
        events: ApplicationRecorder,
        snapshots: AggregateRecorder,
        close: Callable[[], None],
    ) -> None:
        super().__init__(env={"IS_SNAPSHOTTING_ENABLED": "y"})
        self._events = events
        self._snapshots = snapshots
        self._close = close

    def application_recorder(self) -> ApplicationRecorder:
        return self._events

    def aggregate_recorder(self, purpose: str = "events") -> AggregateRecorder:
        if purpose == "snapshots":
            return self._snapshots
        return self._events

    def tracking_recorder(
        self, tracking_recorder_class: type[TrackingRecorder] | None = None
    ) -> TrackingRecorder:
        msg = "the Projects service keeps its read models without tracking records"
        raise NotImplementedError(msg)

    def process_recorder(self) -> ProcessRecorder:
        msg = "the Projects service is not an event-processing application"
        raise NotImplementedError(msg)

    def is_snapshotting_enabled(self) -> bool:
        return True

    def close(self) -> None:
        self._close()
