"""Pages of jobs or tasks: of a whole workspace, or of one project in it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from application.pagination import PageRequest, Slice
from projections import projects, workspaces
from projections.listing import read_page
from projections.sql import SqlSession, Table

Item = TypeVar("Item")


def list_page(
    session: SqlSession,
    table: Table,
    *,
    workspace_id: str,
    request: PageRequest,
    project_id: str | None,
    count_column: str,
    to_item: Callable[[dict[str, Any]], Item],
) -> Slice[Item]:
    """A page of `table` (jobs or tasks), whose total comes from a counter.

    The workspace's total counts every row; a project's own counter (its
    `count_column`) counts the rows assigned to it.
    """
    where = "workspace_id = :workspace_id"
    params = {"workspace_id": workspace_id}
    if project_id is None:
        total = workspaces.total(workspace_id, table.name)
    else:
        where += " AND project_id = :project_id"
        params["project_id"] = project_id
        total = projects.member_count(workspace_id, project_id, count_column)
    return read_page(
        session,
        table=table.name,
        columns=", ".join(table.column_names),
        where=where,
        params=params,
        request=request,
        total=total,
        to_item=to_item,
    )
