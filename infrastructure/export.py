"""How an event looks in an export: the API's own JSON, one object per line."""

from __future__ import annotations

import json
from typing import Any

from api.schemas import EventSchema
from application.events import EventView

_schema = EventSchema()


def event_record(event: EventView) -> dict[str, Any]:
    """The event exactly as the API shows it, with its workspace as well."""
    record: dict[str, Any] = _schema.dump(event)
    record["workspaceId"] = event.workspace_id
    return record


def event_line(event: EventView) -> str:
    return json.dumps(event_record(event), separators=(",", ":")) + "\n"
