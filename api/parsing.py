"""Reading request bodies strictly, and handing them to the schemas of the views.

A body is read once, before the view, in the order of precedence of the
contract: its size (413), its media type (415), then its syntax (400). The
webargs parser that `@blp.arguments` uses reads the object found here, and
turns a schema's refusal into a 400 with the messages as `details`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, NoReturn

import flask
import marshmallow as ma
from flask import g, request
from marshmallow.exceptions import SCHEMA
from webargs import core
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import RequestEntityTooLarge, UnsupportedMediaType

from api.errors import RequestValidationError

MAX_BODY_BYTES = 64 * 1024

# What the app lets a request read (Flask's MAX_CONTENT_LENGTH): one byte more
# than a body may have, so that reading a chunked body shows whether it was
# too large instead of silently stopping at the limit.
MAX_READ_BYTES = MAX_BODY_BYTES + 1

JSON_MEDIA_TYPE = "application/json"


def read_json_object() -> dict[str, Any]:
    """Return the body of the request as a JSON object, or raise the error it earns."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise _too_large()
    try:
        raw = request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise _too_large() from None
    if len(raw) > MAX_BODY_BYTES:
        # A body sent without a length (chunked) is cut off at MAX_READ_BYTES.
        raise _too_large()

    if request.mimetype != JSON_MEDIA_TYPE:
        raise UnsupportedMediaType(
            f"The request body must be sent as {JSON_MEDIA_TYPE}"
        )

    return parse_json_object(raw)


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """Parse `raw` as one JSON object, refusing what Python's json would let pass.

    Refused: invalid UTF-8, duplicate keys, NaN and Infinity, numbers too long
    to convert, nesting deep enough to exhaust the parser, and any top-level
    value other than an object.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _malformed("is not valid UTF-8") from None

    try:
        document = json.loads(
            text,
            object_pairs_hook=_object_without_duplicate_keys,
            parse_constant=_refuse_constant,
        )
    except RecursionError:
        raise _malformed("is nested too deeply") from None
    except json.JSONDecodeError as error:
        problem = f"is not valid JSON: {error.msg} at character {error.pos}"
        raise _malformed(problem) from None
    except ValueError:
        raise _malformed("holds a number too long to read") from None

    if not isinstance(document, dict):
        raise _malformed("must be a JSON object")
    return document


def _object_without_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            raise _malformed(f"repeats the key {json.dumps(key)}")
        document[key] = value
    return document


def _refuse_constant(name: str) -> NoReturn:
    raise _malformed(f"holds {name}, which JSON does not allow")


def _malformed(problem: str) -> RequestValidationError:
    return RequestValidationError(f"The request body {problem}", {"body": [problem]})


def _too_large() -> RequestEntityTooLarge:
    return RequestEntityTooLarge(
        f"The request body is larger than {MAX_BODY_BYTES} bytes"
    )


def load_arguments(schema: ma.Schema, location: str) -> Any:
    """The request's JSON object or query loaded by `schema`, or a 400.

    The same as the parser below does for these two locations, without
    webargs' look-ups on every request: a body must hold only the fields the
    schema knows, a query may hold others, which are ignored, and a repeated
    query parameter counts by its first value.
    """
    try:
        if location == "json":
            return schema.load(g.json_body)
        return schema.load(request.args.to_dict(), unknown=ma.EXCLUDE)
    except ma.ValidationError as error:
        raise RequestValidationError(
            "The request is not valid", _details({location: error.messages})
        ) from None


class JsonBodyParser(FlaskParser):
    """The webargs parser of the API's blueprints.

    It reads the JSON object that the request pipeline already parsed, and
    answers a schema's refusal with 400 (not webargs' 422), keeping the
    messages keyed by the JSON field names.
    """

    DEFAULT_VALIDATION_STATUS = 400

    def _raw_load_json(self, req: flask.Request) -> Any:
        return g.get("json_body", core.missing)

    def handle_error(
        self,
        error: ma.ValidationError,
        req: flask.Request,
        schema: ma.Schema,
        *,
        error_status_code: int | None,
        error_headers: Mapping[str, str] | None,
    ) -> NoReturn:
        raise RequestValidationError(
            "The request is not valid", _details(error.messages)
        )


def _details(messages: Any) -> dict[str, Any]:
    """Drop webargs' outer key (the location) and name a schema-wide problem `body`.

    webargs hands the messages as `{"json": {"name": [...]}}`; the client
    wants `{"name": [...]}`.
    """
    if isinstance(messages, dict) and len(messages) == 1:
        (messages,) = messages.values()
    if not isinstance(messages, dict):
        return {"body": messages if isinstance(messages, list) else [messages]}

    details = dict(messages)
    if SCHEMA in details:
        details["body"] = details.pop(SCHEMA)
    return details
