"""The blueprint that every resource of the API is built on, and its URL converter."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

import flask_smorest
from werkzeug.routing import BaseConverter

from api.errors import reason_phrase
from api.parsing import JsonBodyParser, load_arguments
from api.schemas import ErrorSchema

View = TypeVar("View", bound=Callable[..., Any])

# Every request may get these from the server before the app reads it: a
# request line or headers too long to read.
ERRORS_OF_EVERY_REQUEST = (414, 431)

# Every operation behind a key may answer these too: no or a bad key, a
# workspace the user is not a member of, and a store that cannot be reached.
ERRORS_OF_EVERY_OPERATION = (*ERRORS_OF_EVERY_REQUEST, 401, 403, 503)

# The errors of an operation that reads a JSON body, besides its own.
ERRORS_OF_A_BODY = (400, 413, 415)


class PublicIdConverter(BaseConverter):
    """A path segment holding a resource id: anything but a slash or a NUL.

    An id with a NUL cannot be stored, so such a path matches no route (404)
    instead of reaching a store that would fail on it.
    """

    regex = r"[^/\x00]+"


class Blueprint(flask_smorest.Blueprint):  # type: ignore[misc]  # smorest is untyped
    """A flask-smorest blueprint that parses bodies strictly and documents errors."""

    ARGUMENTS_PARSER = JsonBodyParser()

    def arguments(self, schema: Any, *args: Any, **kwargs: Any) -> Any:
        """Parse with one instance of `schema` for all requests, not one each.

        Reading does not change a schema, so the instance is shared. A JSON
        body, which the request pipeline has already read, and a query are
        loaded by the schema directly; flask-smorest only documents them.
        webargs would do the same with more work per request.
        """
        if isinstance(schema, type):
            schema = schema()
        documented = super().arguments(schema, *args, **kwargs)
        location = kwargs.get("location", "json")
        if location not in ("json", "query") or set(kwargs) - {"location"}:
            return documented

        def decorator(view: View) -> View:
            @functools.wraps(view)
            def with_arguments(*view_args: Any, **view_kwargs: Any) -> Any:
                loaded = load_arguments(schema, location)
                return view(*view_args, loaded, **view_kwargs)

            documentation = documented(view)._apidoc
            with_arguments._apidoc = documentation  # type: ignore[attr-defined]
            return cast(View, with_arguments)

        return decorator

    def documents_errors(self, *statuses: int) -> Callable[[View], View]:
        """Document the error answers of an operation, and those every one has."""
        return self.documents_errors_of_every_request(
            *ERRORS_OF_EVERY_OPERATION, *statuses
        )

    def documents_errors_of_every_request(
        self, *statuses: int
    ) -> Callable[[View], View]:
        """Document these errors, and those the server gives any request."""
        every_status = sorted({*ERRORS_OF_EVERY_REQUEST, *statuses})

        def document(view: View) -> View:
            documented = view
            for status in reversed(every_status):
                documented = self.alt_response(
                    status, schema=ErrorSchema, description=reason_phrase(status)
                )(documented)
            # flask-smorest's wrappers only carry the documentation; keep it
            # on the view itself, so that a request does not pass through one
            # wrapper per documented status.
            view._apidoc = documented._apidoc  # type: ignore[attr-defined]
            return view

        return document

    def headers(self, schema: Any) -> Callable[[View], View]:
        """Read request headers with `schema`, which takes whatever they hold.

        flask-smorest documents a 400 for every argument it parses; headers
        read leniently (an If-Match that names no version matches none) never
        earn one, so none is documented for them.
        """
        parse = self.arguments(schema, location="headers")

        def read(view: View) -> View:
            parsed: View = parse(view)
            getattr(parsed, "_apidoc", {}).get("arguments", {}).get(
                "responses", {}
            ).pop(400, None)
            return parsed

        return read
