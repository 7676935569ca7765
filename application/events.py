"""Events as auditors and subscribers see them, and pages of the event feed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.events import DomainEvent

# Fields every event has, shown beside its data rather than in it.
_ENVELOPE = {
    "originator_id",
    "originator_version",
    "originator_topic",
    "timestamp",
    "workspace_id",
    "actor_id",
}


@dataclass(frozen=True)
class EventView:
    """One event: what happened to which resource, when, by whom, and where."""

    type: str
    resource_id: str
    version: int
    occurred_at: datetime
    actor_id: str
    workspace_id: str
    data: dict[str, Any]
    position: int

    @classmethod
    def of(cls, event: DomainEvent, position: int) -> EventView:
        data = {
            name: value for name, value in vars(event).items() if name not in _ENVELOPE
        }
        return cls(
            type=event.type_name,
            resource_id=event.originator_id,
            version=event.originator_version,
            occurred_at=event.timestamp,
            actor_id=event.actor_id,
            workspace_id=event.workspace_id,
            data=data,
            position=position,
        )


@dataclass(frozen=True)
class FeedPage:
    """Events of a workspace after a position, in the order they were committed."""

    items: list[EventView]
    after: int
    limit: int
    has_more: bool

    @property
    def next_after(self) -> int:
        """Where the next page starts: the last position shown, or `after`."""
        return self.items[-1].position if self.items else self.after
