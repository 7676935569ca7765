"""Marshmallow fields for the API's own formats: timestamps, text and query numbers."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from marshmallow import ValidationError, fields

from domain.errors import InvalidValueError
from domain.values import (
    DESCRIPTION_MAX_LENGTH,
    NAME_MAX_LENGTH,
    clean_description,
    clean_name,
)

_DIGITS = re.compile(r"[0-9]+")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")

# Keeps a page's offset (page times limit) well inside a 64-bit integer.
MAX_QUERY_DIGITS = 15


def rfc3339(value: datetime) -> str:
    """`value` in UTC, with milliseconds and a `Z`: 2026-04-28T12:00:00.000Z."""
    moment = value.astimezone(UTC)
    milliseconds = moment.microsecond // 1000
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T"
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
        f".{milliseconds:03d}Z"
    )


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
        return rfc3339(value)


# What Text refuses, as the OpenAPI document states it: a NUL. Lone surrogates
# are refused too, but a JSON Schema pattern cannot name them portably.
TEXT_PATTERN = r"^[^\x00]*$"
# The whitespace that trimming (str.strip) removes, spelled out: `\s` means
# slightly different characters to JSON Schema (ECMA 262) and to Python.
_SPACE = r"[\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
_CHARACTER = r"[^\x00]"
_VISIBLE = (
    r"[^\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\x00]"
)


class Text(fields.String):
    """A string that every store of the service can keep.

    NUL characters and lone surrogates (which JSON's `\\ud800` escapes can
    produce) are refused: PostgreSQL cannot store the first, and the second
    cannot be encoded as UTF-8.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.metadata = {"pattern": TEXT_PATTERN, **self.metadata}

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


def _trimmed_pattern(min_length: int, max_length: int) -> str:
    """A regular expression for text of `min_length` to `max_length` once trimmed.

    Leading and trailing whitespace is free; between them, the trimmed text
    starts and ends with a visible character and holds no NUL.
    """
    inner = rf"{_VISIBLE}(?:{_CHARACTER}{{0,{max_length - 2}}}{_VISIBLE})?"
    if min_length == 0:
        inner = f"(?:{inner})?"
    return rf"^{_SPACE}*{inner}{_SPACE}*$"


class _RuledText(Text):
    """Text checked by a rule of the domain while the body is parsed.

    The domain checks its values again when a command runs; checking them
    here too makes a bad value a 400 of the body, answered before any
    resource is looked up (the contract's order), and the `pattern` states
    the same rule in the OpenAPI document.
    """

    def __init__(
        self, rule: Callable[[str], object], pattern: str, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.rule = rule
        self.metadata = {**self.metadata, "pattern": pattern}

    def _deserialize(
        self,
        value: Any,
        attr: str | None,
        data: Mapping[str, Any] | None,
        **kwargs: Any,
    ) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            self.rule(text)
        except InvalidValueError as error:
            raise ValidationError(error.problem) from None
        return text


class Name(_RuledText):
    """A name: trimmed, then 1 to 200 characters."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(clean_name, _trimmed_pattern(1, NAME_MAX_LENGTH), **kwargs)


class Description(_RuledText):
    """A description: trimmed, then at most 10,000 characters; null for none."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            clean_description,
            _trimmed_pattern(0, DESCRIPTION_MAX_LENGTH),
            allow_none=True,
            **kwargs,
        )


class QueryInteger(fields.Integer):
    """A whole number written in plain ASCII digits, as query parameters carry them.

    Python's int() would also take " 5", "+5", "5_0" and other scripts' digits;
    a query parameter that is anything but digits is refused instead.
    `max_digits` bounds numbers that reach the database as they are; a page
    number need not be bounded, since a page past the end reads nothing.
    """

    def __init__(self, *, max_digits: int | None = MAX_QUERY_DIGITS, **kwargs: Any):
        super().__init__(**kwargs)
        self.max_digits = max_digits

    def _deserialize(
        self,
        value: Any,
        attr: str | None,
        data: Mapping[str, Any] | None,
        **kwargs: Any,
    ) -> int:
        if not isinstance(value, str) or _DIGITS.fullmatch(value) is None:
            raise ValidationError("must be a whole number")
        if self.max_digits is not None and len(value) > self.max_digits:
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
