"""Marshmallow fields for the API's own formats: timestamps, text and query numbers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from marshmallow import ValidationError, fields

_DIGITS = re.compile(r"[0-9]+")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")

# Keeps a page's offset (page times limit) well inside a 64-bit integer.
MAX_QUERY_DIGITS = 15


class Timestamp(fields.DateTime):
    """A moment as RFC 3339 UTC with milliseconds and a `Z`: 2026-04-28T12:00:00.000Z.

    Milliseconds are what the service stores and orders by, so a client sees
    exactly the precision that decides the order of a list.
    """

    def _serialize(
        self, value: datetime | None, attr: str | None, obj: Any, **kwargs: Any
    ) -> str | None:
        if value is None:
            return None

        moment = value.astimezone(UTC)
        milliseconds = moment.microsecond // 1000
        return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{milliseconds:03d}Z"


class Text(fields.String):
    """A string that every store of the service can keep.

    NUL characters and lone surrogates (which JSON's `\\ud800` escapes can
    produce) are refused: PostgreSQL cannot store the first, and the second
    cannot be encoded as UTF-8.
    """

    def _deserialize(
        self,
        value: Any,
        attr: str | None,
        data: Mapping[str, Any] | None,
        **kwargs: Any,
    ) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text:
            raise ValidationError("must not contain NUL characters")
        if _LONE_SURROGATE.search(text) is not None:
            raise ValidationError("must be valid Unicode")
        return text


class QueryInteger(fields.Integer):
    """A whole number written in plain ASCII digits, as query parameters carry them.

    Python's int() would also take " 5", "+5", "5_0" and other scripts' digits;
    a query parameter that is anything but digits is refused instead.
    """

    def _deserialize(
        self,
        value: Any,
        attr: str | None,
        data: Mapping[str, Any] | None,
        **kwargs: Any,
    ) -> int:
        if not isinstance(value, str) or _DIGITS.fullmatch(value) is None:
            raise ValidationError("must be a whole number")
        if len(value) > MAX_QUERY_DIGITS:
            raise ValidationError("is too large")
        return int(value)


class EventData(fields.Field[dict[str, Any]]):
    """An event's payload, with its field names in the API's camelCase."""

    def _serialize(
        self, value: dict[str, Any] | None, attr: str | None, obj: Any, **kwargs: Any
    ) -> dict[str, Any] | None:
        if value is None:
            return None
        return {_camel(name): item for name, item in value.items()}


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(part.capitalize() for part in rest)
