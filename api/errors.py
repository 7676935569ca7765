"""The one place where errors become HTTP answers.

Every error answers with the same JSON body: the reason phrase of the
status, a message and the request id, plus `details` for validation errors.
Nothing of a stack trace, SQL or a secret ever reaches the body.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from http import HTTPStatus
from typing import Any

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError
from flask import Flask, jsonify, request
from flask.wrappers import Response
from werkzeug.exceptions import BadRequest, HTTPException

from api.context import current_request_id
from application.errors import (
    ConflictError,
    ContentionError,
    InvalidInputError,
    NotFoundError,
    PreconditionFailedError,
    RuleViolationError,
)

logger = logging.getLogger(__name__)

Details = Mapping[str, Sequence[str]]

# Python 3.11 still says "Request Entity Too Large" and "Request-URI Too Long";
# RFC 9110 (and gunicorn, which answers 414 itself) say "Payload Too Large",
# as the contract does, and "URI Too Long".
_REASON_PHRASES = {413: "Payload Too Large", 414: "URI Too Long"}

CONTENTION_RETRY_SECONDS = 1
STORE_RETRY_SECONDS = 2

# The store could not be reached, whichever layer noticed it first.
STORE_UNREACHABLE_ERRORS: tuple[type[Exception], ...] = (
    OperationalError,
    InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)


class RequestValidationError(BadRequest):
    """The request was refused before reaching the application: 400 with details."""

    def __init__(self, message: str, details: Mapping[str, Any]) -> None:
        super().__init__(description=message)
        self.details = details


def reason_phrase(status: int) -> str:
    """The reason phrase the API names a status by, as in `"error": "Not Found"`."""
    return _REASON_PHRASES.get(status) or HTTPStatus(status).phrase


def error_response(
    status: int,
    message: str,
    *,
    details: Mapping[str, Any] | None = None,
    headers: Iterable[tuple[str, str]] = (),
) -> Response:
    """Build the error body every failing request answers with."""
    body: dict[str, Any] = {
        "error": reason_phrase(status),
        "message": message,
        "requestId": current_request_id(),
    }
    if details is not None:
        body["details"] = details

    response = jsonify(body)
    response.status = f"{status} {reason_phrase(status)}"
    for name, value in headers:
        response.headers[name] = value
    return response


def register_error_handlers(app: Flask) -> None:
    """Make every error of the app answer in the API's shape.

    The handler for HTTPException replaces flask-smorest's, which answers in
    another shape.
    """
    app.register_error_handler(NotFoundError, _answer_not_found)
    app.register_error_handler(ConflictError, _answer_conflict)
    app.register_error_handler(RuleViolationError, _answer_rule_violation)
    app.register_error_handler(InvalidInputError, _answer_invalid_input)
    app.register_error_handler(PreconditionFailedError, _answer_precondition_failed)
    app.register_error_handler(ContentionError, _answer_contention)
    for store_error in STORE_UNREACHABLE_ERRORS:
        app.register_error_handler(store_error, _answer_store_unreachable)
    app.register_error_handler(RequestValidationError, _answer_invalid_request)
    app.register_error_handler(HTTPException, _answer_http_exception)
    app.register_error_handler(Exception, _answer_unexpected_error)


def _answer_not_found(error: NotFoundError) -> Response:
    return error_response(404, str(error))


def _answer_conflict(error: ConflictError) -> Response:
    return error_response(409, str(error))


def _answer_rule_violation(error: RuleViolationError) -> Response:
    return error_response(400, str(error))


def _answer_invalid_input(error: InvalidInputError) -> Response:
    field = camel_case(error.field)
    return error_response(
        400, f"{field} {error.problem}", details={field: [error.problem]}
    )


def _answer_precondition_failed(error: PreconditionFailedError) -> Response:
    return error_response(412, str(error))


def _answer_contention(error: ContentionError) -> Response:
    retry_after = str(CONTENTION_RETRY_SECONDS)
    return error_response(503, str(error), headers=[("Retry-After", retry_after)])


def _answer_store_unreachable(error: Exception) -> Response:
    logger.warning(
        "store unreachable in %s %s: %s",
        request.method,
        request.path,
        type(error).__name__,
        extra={"request_id": current_request_id()},
    )
    return error_response(
        503,
        "The store cannot be reached right now; retry shortly",
        headers=[("Retry-After", str(STORE_RETRY_SECONDS))],
    )


def _answer_invalid_request(error: RequestValidationError) -> Response:
    return error_response(400, error.description or "", details=error.details)


def _answer_http_exception(error: HTTPException) -> Response:
    """Answer a routing, size or media type error; 405 keeps its Allow header."""
    status = error.code or 500
    headers = [
        (name, value)
        for name, value in error.get_headers()
        if name.lower() != "content-type"
    ]
    return error_response(
        status, error.description or reason_phrase(status), headers=headers
    )


def _answer_unexpected_error(error: Exception) -> Response:
    """Log a failure nobody foresaw, once and with its traceback, and answer 500."""
    logger.exception(
        "unhandled error in %s %s",
        request.method,
        request.path,
        extra={"request_id": current_request_id()},
    )
    return error_response(
        500,
        "The service failed to answer this request; it has been logged "
        "under the request id",
    )


def camel_case(name: str) -> str:
    """The API's spelling of a field name: `project_id` becomes `projectId`."""
    first, *rest = name.split("_")
    return first + "".join(part.capitalize() for part in rest)
