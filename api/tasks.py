"""Tasks: units of work that a project may group, archived rather than erased."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask.views import MethodView

from api.blueprint import ERRORS_OF_A_BODY, Blueprint
from api.context import current_actor, current_application
from api.schemas import (
    MemberListQuerySchema,
    TaskCreationSchema,
    TaskPageSchema,
    TaskSchema,
)
from application.pagination import Page
from application.views import TaskView

blp = Blueprint(
    "tasks",
    __name__,
    url_prefix="/v1/tasks",
    description="Units of work; each task is in at most one project.",
)


@blp.route("")
class TaskCollection(MethodView):
    @blp.arguments(MemberListQuerySchema, location="query")
    @blp.response(200, TaskPageSchema)
    @blp.documents_errors(400)
    def get(self, query: dict[str, Any]) -> Page[TaskView]:
        """List the tasks of the workspace, or of one project, most recent first."""
        return current_application().list_tasks(current_actor(), **query)

    @blp.arguments(TaskCreationSchema)
    @blp.response(201, TaskSchema)
    @blp.documents_errors(*ERRORS_OF_A_BODY)
    def post(self, creation: dict[str, Any]) -> tuple[TaskView, dict[str, str]]:
        """Create a task."""
        task = current_application().create_task(current_actor(), **creation)
        return task, {"Location": url_for(".TaskItem", id=task.id)}


@blp.route("/<public_id:id>")
class TaskItem(MethodView):
    @blp.response(200, TaskSchema)
    @blp.documents_errors(404)
    def get(self, id: str) -> TaskView:
        """Get a task."""
        return current_application().get_task(current_actor(), id)

    @blp.response(200, TaskSchema)
    @blp.documents_errors(404)
    def delete(self, id: str) -> TaskView:
        """Archive a task; it is kept, with its project, and archived only once."""
        return current_application().archive_task(current_actor(), id)
