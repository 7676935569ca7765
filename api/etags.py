"""Entity tags of projects: the version as `"<n>"`, If-Match and If-None-Match.

A project's ETag is its version in double quotes. Only strong tags of that
form can match: a weak tag (`W/"3"`) or any other tag never matches, so a
client that sends one gets 412 rather than an unguarded write.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flask import request
from flask.wrappers import Response
from marshmallow import fields

_STRONG_VERSION_TAG = re.compile(r'"([0-9]{1,18})"')
_ANY_TAG = re.compile(r'(?:W/)?"([^"]*)"')

ETAG_HEADER_DOC = {
    "ETag": {
        "description": 'The version of the project, as `"<version>"`',
        "schema": {"type": "string"},
    }
}


def etag_of(version: int) -> str:
    return f'"{version}"'


def etag_headers(version: int) -> dict[str, str]:
    """The headers that tell a client which version of a project it got."""
    return {"ETag": etag_of(version)}


def versions_in_if_match(value: str) -> frozenset[int] | None:
    """The versions an If-Match value accepts; None when `*` accepts any.

    Anything that is not a strong tag of a version is dropped, so a value
    made only of such tags accepts no version at all.
    """
    if value.strip() == "*":
        return None

    versions = set()
    for item in value.split(","):
        match = _STRONG_VERSION_TAG.fullmatch(item.strip())
        if match is not None:
            versions.add(int(match.group(1)))
    return frozenset(versions)


class IfMatch(fields.Field[frozenset[int] | None]):
    """The If-Match header, read as the set of versions a write may apply to."""

    def _deserialize(
        self,
        value: Any,
        attr: str | None,
        data: Mapping[str, Any] | None,
        **kwargs: Any,
    ) -> frozenset[int] | None:
        if not isinstance(value, str):
            return frozenset()
        return versions_in_if_match(value)


def answer_not_modified(response: Response) -> Response:
    """Turn a GET whose If-None-Match names the current ETag into a bodiless 304.

    If-None-Match compares weakly, so `W/"3"` matches `"3"` here.
    """
    if request.method not in ("GET", "HEAD") or response.status_code != 200:
        return response
    etag = response.headers.get("ETag")
    if_none_match = request.headers.get("If-None-Match")
    if etag is None or if_none_match is None:
        return response

    wanted = {match.group(1) for match in _ANY_TAG.finditer(if_none_match)}
    if if_none_match.strip() != "*" and etag.strip('"') not in wanted:
        return response

    response.status_code = 304
    response.set_data(b"")
    for entity_header in ("Content-Type", "Content-Length"):
        response.headers.pop(entity_header, None)
    return response
