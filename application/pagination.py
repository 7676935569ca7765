"""Pages of a list: by page number, or by an opaque cursor that the service signs.

Lists are ordered by `updatedAt` descending, then `id` descending. A cursor
carries the sort key of the last row of a page, so the next page is found by
an index seek however deep it is, and it is signed so that a cursor the
service did not issue, or one issued for another list, is refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from application.errors import InvalidInputError

Item = TypeVar("Item")

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


@dataclass(frozen=True)
class SortKey:
    """Where a row stands in a list: its update time, then its id."""

    updated_at: datetime
    id: str


@dataclass(frozen=True)
class PageRequest:
    """Which rows to read: `limit` rows after `after`, or after `offset` rows."""

    limit: int
    offset: int
    after: SortKey | None = None

    @property
    def page(self) -> int:
        return self.offset // self.limit + 1


@dataclass(frozen=True)
class Slice(Generic[Item]):
    """Rows read for a page, the total of the list, and whether more follow."""

    items: list[Item]
    total: int
    has_more: bool


@dataclass(frozen=True)
class Page(Generic[Item]):
    """A page as the API shows it."""

    items: list[Item]
    page: int
    limit: int
    total: int
    has_more: bool
    next_cursor: str | None

    @property
    def total_pages(self) -> int:
        return -(-self.total // self.limit)


@dataclass(frozen=True)
class ListScope:
    """Which list a cursor belongs to: a kind, a workspace and a filter."""

    kind: str
    workspace_id: str
    project_id: str | None = None


class CursorCodec:
    """Issues cursors and reads them back, refusing any it did not issue."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def encode(self, scope: ListScope, key: SortKey, offset: int) -> str:
        payload = {
            "k": scope.kind,
            "w": scope.workspace_id,
            "p": scope.project_id,
            "u": round(key.updated_at.timestamp() * 1000),
            "i": key.id,
            "o": offset,
        }
        body = json.dumps(payload, separators=(",", ":")).encode()
        return _b64(body) + "." + _b64(self._sign(body))

    def decode(self, cursor: str, scope: ListScope) -> tuple[SortKey, int]:
        """Return the sort key and offset carried by `cursor` for this list."""
        payload = self._payload(cursor, scope)
        updated_at = datetime.fromtimestamp(payload["u"] / 1000, tz=UTC)
        return SortKey(updated_at=updated_at, id=payload["i"]), int(payload["o"])

    def encode_position(self, scope: ListScope, position: int, offset: int) -> str:
        """A cursor for a list ordered by position in the event log."""
        payload = {
            "k": scope.kind,
            "w": scope.workspace_id,
            "p": scope.project_id,
            "a": position,
            "o": offset,
        }
        body = json.dumps(payload, separators=(",", ":")).encode()
        return _b64(body) + "." + _b64(self._sign(body))

    def decode_position(self, cursor: str, scope: ListScope) -> tuple[int, int]:
        """Return the position and offset carried by a cursor of `encode_position`."""
        payload = self._payload(cursor, scope)
        if "a" not in payload:
            raise _invalid()
        return int(payload["a"]), int(payload["o"])

    def _payload(self, cursor: str, scope: ListScope) -> dict[str, Any]:
        try:
            body_part, signature_part = cursor.split(".")
            body = _unb64(body_part)
            signature = _unb64(signature_part)
        except (ValueError, binascii.Error):
            raise _invalid() from None
        if not hmac.compare_digest(signature, self._sign(body)):
            raise _invalid()

        payload: dict[str, Any] = json.loads(body)
        expected = (scope.kind, scope.workspace_id, scope.project_id)
        if (payload["k"], payload["w"], payload["p"]) != expected:
            raise _invalid()
        return payload

    def _sign(self, body: bytes) -> bytes:
        return hmac.new(self._secret, body, hashlib.sha256).digest()[:16]


def _invalid() -> InvalidInputError:
    return InvalidInputError("cursor", "is not a cursor this service issued")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    if not text or len(text) > 4096:
        raise ValueError(text)
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
