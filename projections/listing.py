"""Reading a page of a list ordered by update time, then id, both descending."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from application.pagination import PageRequest, Slice
from projections.sql import SqlSession

Item = TypeVar("Item")


def to_millis(moment: datetime) -> int:
    """Milliseconds since the epoch: how read models store time, exactly."""
    return round(moment.timestamp() * 1000)


def from_millis(millis: int) -> datetime:
    return datetime.fromtimestamp(millis / 1000, tz=UTC)


def read_page(
    session: SqlSession,
    *,
    table: str,
    columns: str,
    where: str,
    params: Mapping[str, Any],
    request: PageRequest,
    total: int,
    to_item: Callable[[dict[str, Any]], Item],
) -> Slice[Item]:
    """Read one page: after a sort key when there is one, else after an offset.

    One more row than asked is read to learn whether more follow. A page number
    past the end is answered without touching the table.
    """
    if request.after is None and request.offset >= total:
        return Slice(items=[], total=total, has_more=False)

    bounds = dict(params, limit=request.limit + 1)
    statement = f"SELECT {columns} FROM {table} WHERE {where}"
    if request.after is not None:
        statement += " AND (updated_at, id) < (:after_updated_at, :after_id)"
        bounds["after_updated_at"] = to_millis(request.after.updated_at)
        bounds["after_id"] = request.after.id
    statement += " ORDER BY updated_at DESC, id DESC LIMIT :limit"
    if request.after is None and request.offset:
        statement += " OFFSET :offset"
        bounds["offset"] = request.offset

    rows = session.fetch(statement, bounds)
    items = [to_item(row) for row in rows[: request.limit]]
    return Slice(items=items, total=total, has_more=len(rows) > request.limit)
