"""What every request goes through before its view, in the contract's order.

1. It gets a request id, the client's own when it sent a sane one.
2. Its API key is checked (401) and then its workspace (403); only the
   health check and the documentation are open to everyone.
3. Only then does routing speak (404, 405), so that a caller without a key
   learns nothing about which paths exist.
4. A body is read and parsed strictly: 413, then 415, then 400.

Every response, errors included, carries the request id.
"""

from __future__ import annotations

import logging
import uuid
from http import HTTPStatus

from flask import Flask, current_app, g, request
from flask.wrappers import Response
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Forbidden, HTTPException, Unauthorized

from api.context import (
    current_identity,
    current_request_id,
    current_workspace_id,
)
from api.parsing import read_json_object
from application.ports import KeyLookup
from application.views import Actor

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-Id"
WORKSPACE_HEADER = "X-Workspace-Id"

MAX_REQUEST_ID_LENGTH = 200
MAX_API_KEY_LENGTH = 512
MAX_WORKSPACE_ID_LENGTH = 200

METHODS_WITH_A_BODY = frozenset({"POST", "PUT", "PATCH"})
METHODS_OF_COMMANDS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

OPEN_PATHS = frozenset({"/health", "/v1/openapi.json", "/docs"})
OPEN_PATH_PREFIXES = ("/docs/",)


def install_request_pipeline(app: Flask) -> None:
    """Run the checks of every request before its view, and tag every response."""
    app.before_request(prepare_request)
    app.after_request(finish_response)
    app.teardown_request(cancel_key_check)


def prepare_request() -> None:
    """Check the request in the order of precedence the contract fixes.

    The caller's key may be checked later, together with the first read of
    a command; any answer other than the command's own checks it first
    (`require_caller`), and so does every response (`finish_response`).
    """
    g.request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))

    if not is_open_path(request.path):
        g.actor = authenticate()

    if request.routing_exception is not None:
        require_caller()
        raise request.routing_exception

    if request.method in METHODS_WITH_A_BODY:
        try:
            g.json_body = read_json_object()
        except HTTPException:
            require_caller()
            raise


def require_caller() -> None:
    """Check the caller's key now, if it has not been checked; 401 or 403 if bad."""
    actor: Actor | None = g.get("actor")
    if actor is not None and not actor.is_found:
        actor.workspace_id  # noqa: B018 - asking finds the actor, or raises


def finish_response(response: Response) -> Response:
    """Tag the response with the request id, and log the request at DEBUG.

    A response for a caller whose key has not been checked yet waits for
    the check; a key that fails it gets the check's answer instead. A 503
    says the store did not answer, which leaves the key unchecked too: it
    goes as it is, without another wait on the store.
    """
    if response.status_code != HTTPStatus.SERVICE_UNAVAILABLE:
        try:
            require_caller()
        except Exception as error:
            response = current_app.make_response(
                current_app.handle_user_exception(error)
            )
    request_id = current_request_id()
    response.headers[REQUEST_ID_HEADER] = request_id

    if logger.isEnabledFor(logging.DEBUG):
        workspace_id = current_workspace_id()
        logger.debug(
            "request %s in workspace %s: %s %s answered %d",
            request_id,
            workspace_id,
            request.method,
            request.path,
            response.status_code,
            extra={"request_id": request_id, "workspace_id": workspace_id},
        )
    return response


def request_id_from(sent: str | None) -> str:
    """The client's request id when it is sane, else a new one."""
    if sent is not None and _is_printable_ascii(sent, MAX_REQUEST_ID_LENGTH):
        return sent
    return uuid.uuid4().hex


def is_open_path(path: str) -> bool:
    """Whether `path` is served without a key: health and documentation."""
    return path in OPEN_PATHS or path.startswith(OPEN_PATH_PREFIXES)


def authenticate() -> Actor:
    """Return who calls and in which workspace, or raise 401 or 403.

    For a command without a workspace asked for, the key's check is left to
    the store, which may run it with the command's first read: the actor
    returned is found when it is first asked for, and raises 401 then if the
    key fails. A key this process found live before comes with its holder
    presumed, for a command that the store confirms with the key's check.
    A read has no such read to share, and checks the key at once.
    """
    identity = current_identity()
    api_key = bearer_key(request.headers.get("Authorization"))
    if api_key is None:
        raise _unauthorized()

    workspace_id = request.headers.get(WORKSPACE_HEADER, "").strip()
    if not workspace_id and request.method in METHODS_OF_COMMANDS:
        lookup = identity.look_up(api_key)
        g.key_lookup = lookup
        return actor_of(lookup)

    principal = identity.authenticate(api_key)
    if principal is None:
        raise _unauthorized()
    workspace_id = workspace_id or principal.workspace_id
    # A key is only ever made for a workspace its user is a member of, so
    # only another workspace needs a look at the memberships.
    if workspace_id != principal.workspace_id and (
        not _is_printable_ascii(workspace_id, MAX_WORKSPACE_ID_LENGTH)
        or not identity.is_member(principal.user_id, workspace_id)
    ):
        raise Forbidden("The key's user is not a member of the requested workspace")

    return Actor(user_id=principal.user_id, workspace_id=workspace_id)


def actor_of(lookup: KeyLookup) -> Actor:
    """The caller that `lookup` checks, found when first asked for (401 if not).

    It comes with its holder presumed when the key was found live before.
    """

    def find() -> Actor:
        principal = lookup.principal()
        if principal is None:
            raise _unauthorized()
        return Actor(principal.user_id, principal.workspace_id)

    presumed = lookup.presumed()
    if presumed is None:
        return Actor.found_by(find)
    return Actor.found_by(find, Actor(presumed.user_id, presumed.workspace_id))


def cancel_key_check(error: BaseException | None = None) -> None:
    """At the end of a request, make sure its key check rides on no later read."""
    lookup: KeyLookup | None = g.pop("key_lookup", None)
    if lookup is not None:
        lookup.cancel()


def _unauthorized() -> Unauthorized:
    return Unauthorized(
        "A valid API key is required, sent as 'Authorization: Bearer <key>'",
        www_authenticate=WWWAuthenticate("bearer"),
    )


def bearer_key(authorization: str | None) -> str | None:
    """The key of an `Authorization: Bearer <key>` header, or None if malformed."""
    if authorization is None:
        return None

    scheme, _, key = authorization.strip().partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or " " in key:
        return None
    if not _is_printable_ascii(key, MAX_API_KEY_LENGTH):
        return None
    return key


def _is_printable_ascii(text: str, max_length: int) -> bool:
    return 0 < len(text) <= max_length and text.isascii() and text.isprintable()
