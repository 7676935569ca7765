"""The event log of a workspace: a feed to poll, and a stream of Server-Sent Events.

A subscriber stores the `position` of the last event it handled and asks for
what comes after it; positions become visible in commit order, so it never
misses an event, however many writers commit concurrently.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from flask import Response, current_app, request, stream_with_context
from flask.views import MethodView
from marshmallow import ValidationError, validate

from api.blueprint import Blueprint
from api.context import current_actor, current_application
from api.errors import RequestValidationError
from api.fields import QueryInteger
from api.schemas import (
    MAX_POSITION,
    EventSchema,
    FeedPageSchema,
    FeedQuerySchema,
    StreamQuerySchema,
)
from application.events import EventView, FeedPage

blp = Blueprint(
    "events",
    __name__,
    url_prefix="/v1/events",
    description="Every event of the workspace, in the order it was committed.",
)

HEARTBEAT_CONFIG = "SOKOSUMI_STREAM_HEARTBEAT_SECONDS"
STOPPING_CONFIG = "SOKOSUMI_STOPPING"
_event_schema = EventSchema()
_position = QueryInteger(max_digits=19, validate=validate.Range(max=MAX_POSITION))


@blp.route("")
class EventFeed(MethodView):
    @blp.arguments(FeedQuerySchema, location="query")
    @blp.response(200, FeedPageSchema)
    @blp.documents_errors(400)
    def get(self, query: dict[str, Any]) -> FeedPage:
        """Read the workspace's events after a position, oldest first."""
        return current_application().list_events(current_actor(), **query)


@blp.route("/stream")
class EventStream(MethodView):
    @blp.arguments(StreamQuerySchema, location="query")
    @blp.doc(
        responses={
            "200": {
                "description": "Server-Sent Events: `id:` is the event's position, "
                "`event:` its type, `data:` the event as JSON; comment lines "
                "keep the connection alive while nothing happens.",
                "content": {"text/event-stream": {"schema": {"type": "string"}}},
            }
        },
        parameters=[
            {
                "name": "Last-Event-ID",
                "in": "header",
                "required": False,
                "description": "Resume after this position (wins over `after`)",
                "schema": {"type": "string"},
            }
        ],
    )
    @blp.documents_errors(400)
    def get(self, query: dict[str, Any]) -> Response:
        """Stream the workspace's events as they are committed."""
        after = _resume_position(query.get("after", 0))
        stopping = current_app.config.get(STOPPING_CONFIG)
        events = current_application().stream_events(
            current_actor(),
            after,
            heartbeat=float(current_app.config.get(HEARTBEAT_CONFIG, 15.0)),
            should_stop=stopping.is_set if stopping is not None else lambda: False,
        )
        return Response(
            stream_with_context(_server_sent(events)),
            mimetype="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )


def _resume_position(after: int) -> int:
    """The position to stream after: `Last-Event-ID` when sent, else `after`."""
    last_event_id = request.headers.get("Last-Event-ID")
    if last_event_id is None:
        return after
    try:
        return int(_position.deserialize(last_event_id.strip()))
    except ValidationError as error:
        messages = error.messages if isinstance(error.messages, list) else []
        raise RequestValidationError(
            "Last-Event-ID is not a position", {"Last-Event-ID": messages}
        ) from None


def _server_sent(events: Iterator[EventView | None]) -> Iterator[str]:
    yield "retry: 2000\n\n"
    for event in events:
        if event is None:
            yield ": heartbeat\n\n"
            continue
        body = json.dumps(_event_schema.dump(event), separators=(",", ":"))
        yield f"id: {event.position}\nevent: {event.type}\ndata: {body}\n\n"
