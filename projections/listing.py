"""Reading a page of a list ordered by update time, then id, both descending."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Total:
    """How to count a list: a SQL query of one row with one column, `total`."""

    query: str
    params: Mapping[str, Any]

    def read(self, session: SqlSession) -> int:
        rows = session.fetch(self.query, self.params)
        return int(rows[0]["total"]) if rows else 0


def read_page(
    session: SqlSession,
    *,
    table: str,
    columns: str,
    where: str,
    params: Mapping[str, Any],
    request: PageRequest,
    total: Total,
    to_item: Callable[[dict[str, Any]], Item],
) -> Slice[Item]:
    """Read one page: after a sort key when there is one, else after an offset.

    One more row than asked is read to learn whether more follow. The first
    page and pages after a cursor read their total in the same statement;
    a page number is checked against the total first, so that one past the
    end is answered without an offset scan of the table.
    """
    bounds = dict(params, limit=request.limit + 1)
    counted = request.after is not None or request.offset == 0
    if counted:
        bounds.update(total.params)
        statement = (
            f"SELECT {columns}, (SELECT total FROM ({total.query}) AS counted) "
            f"AS list_total FROM {table} WHERE {where}"
        )
    else:
        known_total = total.read(session)
        if request.offset >= known_total:
            return Slice(items=[], total=known_total, has_more=False)
        statement = f"SELECT {columns} FROM {table} WHERE {where}"
    if request.after is not None:
        statement += " AND (updated_at, id) < (:after_updated_at, :after_id)"
        bounds["after_updated_at"] = to_millis(request.after.updated_at)
        bounds["after_id"] = request.after.id
    statement += " ORDER BY updated_at DESC, id DESC LIMIT :limit"
    if not counted:
        statement += " OFFSET :offset"
        bounds["offset"] = request.offset

    rows = session.fetch(statement, bounds)
    if not counted:
        found_total = known_total
    elif rows:
        found_total = int(rows[0]["list_total"] or 0)
    else:
        found_total = total.read(session)
    items = [to_item(row) for row in rows[: request.limit]]
    return Slice(items=items, total=found_total, has_more=len(rows) > request.limit)
