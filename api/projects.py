"""Projects: named, workspace-scoped containers that group jobs and tasks.

Every answer that shows a project carries its ETag, and PATCH and DELETE
honour If-Match, so that a client never overwrites a change it has not seen.
"""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask.views import MethodView

from api.blueprint import ERRORS_OF_A_BODY, Blueprint
from api.context import current_actor, current_application
from api.etags import ETAG_HEADER_DOC, answer_not_modified, etag_headers
from api.schemas import (
    AsOfQuerySchema,
    ConditionalReadSchema,
    DeletedProjectSchema,
    EventPageSchema,
    JobAssignmentSchema,
    ListQuerySchema,
    PreconditionSchema,
    ProjectChangesSchema,
    ProjectCreationSchema,
    ProjectPageSchema,
    ProjectSchema,
    TaskAssignmentSchema,
)
from application.events import EventView
from application.pagination import Page
from application.views import ProjectView

blp = Blueprint(
    "projects",
    __name__,
    url_prefix="/v1/projects",
    description="Named containers that group the jobs and tasks of a workspace.",
)
blp.after_request(answer_not_modified)

ProjectAnswer = tuple[ProjectView, dict[str, str]]


@blp.route("")
class ProjectCollection(MethodView):
    @blp.arguments(ListQuerySchema, location="query")
    @blp.response(200, ProjectPageSchema)
    @blp.documents_errors(400)
    def get(self, query: dict[str, Any]) -> Page[ProjectView]:
        """List the projects of the workspace, most recently updated first."""
        return current_application().list_projects(current_actor(), **query)

    @blp.arguments(ProjectCreationSchema)
    @blp.response(201, ProjectSchema, headers=ETAG_HEADER_DOC)
    @blp.documents_errors(*ERRORS_OF_A_BODY)
    def post(self, creation: dict[str, Any]) -> ProjectAnswer:
        """Create a project."""
        project = current_application().create_project(current_actor(), **creation)

        location = url_for(".ProjectItem", id=project.id)
        return project, {"Location": location, **etag_headers(project.version)}


@blp.route("/<public_id:id>")
class ProjectItem(MethodView):
    @blp.arguments(AsOfQuerySchema, location="query")
    @blp.headers(ConditionalReadSchema)
    @blp.response(200, ProjectSchema, headers=ETAG_HEADER_DOC)
    @blp.alt_response(304, description="Not Modified: the ETag sent is current")
    @blp.documents_errors(400, 404)
    def get(
        self, query: dict[str, Any], conditions: dict[str, Any], id: str
    ) -> ProjectAnswer:
        """Get a project, or with `asOf` the project as it was at that time."""
        application, actor = current_application(), current_actor()
        if "as_of" in query:
            project = application.get_project_as_of(actor, id, query["as_of"])
        else:
            project = application.get_project(actor, id)
        return project, etag_headers(project.version)

    @blp.arguments(ProjectChangesSchema)
    @blp.headers(PreconditionSchema)
    @blp.response(200, ProjectSchema, headers=ETAG_HEADER_DOC)
    @blp.documents_errors(*ERRORS_OF_A_BODY, 404, 412)
    def patch(
        self, changes: dict[str, Any], precondition: dict[str, Any], id: str
    ) -> ProjectAnswer:
        """Rename a project or change its description; `description: null` clears it."""
        project = current_application().update_project(
            current_actor(), id, **changes, **precondition
        )
        return project, etag_headers(project.version)

    @blp.headers(PreconditionSchema)
    @blp.response(200, DeletedProjectSchema)
    @blp.documents_errors(404, 412)
    def delete(self, precondition: dict[str, Any], id: str) -> dict[str, Any]:
        """Delete a project; its jobs and tasks stay, no longer in any project."""
        deleted_id = current_application().delete_project(
            current_actor(), id, **precondition
        )
        return {"id": deleted_id, "deleted": True}


@blp.route("/<public_id:id>/history")
class ProjectHistory(MethodView):
    @blp.arguments(ListQuerySchema, location="query")
    @blp.response(200, EventPageSchema)
    @blp.documents_errors(400, 404)
    def get(self, query: dict[str, Any], id: str) -> Page[EventView]:
        """The project's events and its assignments' events, oldest first.

        Still readable after the project is deleted.
        """
        return current_application().project_history(current_actor(), id, **query)


@blp.route("/<public_id:id>/jobs")
class ProjectJobs(MethodView):
    @blp.arguments(JobAssignmentSchema)
    @blp.response(200, ProjectSchema, headers=ETAG_HEADER_DOC)
    @blp.documents_errors(*ERRORS_OF_A_BODY, 404, 409)
    def post(self, assignment: dict[str, Any], id: str) -> ProjectAnswer:
        """Assign a job to a project; a job already in it stays, unchanged.

        A job in another project is refused with 409: unassign it there first.
        """
        project = current_application().assign_job(current_actor(), id, **assignment)
        return project, etag_headers(project.version)


@blp.route("/<public_id:id>/jobs/<public_id:jobId>")
class ProjectJob(MethodView):
    @blp.response(200, ProjectSchema, headers=ETAG_HEADER_DOC)
    @blp.documents_errors(404)
    def delete(self, id: str, jobId: str) -> ProjectAnswer:  # noqa: N803
        """Unassign a job from a project; 404 when it is not in this project."""
        project = current_application().unassign_job(current_actor(), id, jobId)
        return project, etag_headers(project.version)


@blp.route("/<public_id:id>/tasks")
class ProjectTasks(MethodView):
    @blp.arguments(TaskAssignmentSchema)
    @blp.response(200, ProjectSchema, headers=ETAG_HEADER_DOC)
    @blp.documents_errors(*ERRORS_OF_A_BODY, 404, 409)
    def post(self, assignment: dict[str, Any], id: str) -> ProjectAnswer:
        """Assign a task to a project; a task already in it stays, unchanged.

        A task in another project is refused with 409, an archived one with 400.
        """
        project = current_application().assign_task(current_actor(), id, **assignment)
        return project, etag_headers(project.version)


@blp.route("/<public_id:id>/tasks/<public_id:taskId>")
class ProjectTask(MethodView):
    @blp.response(200, ProjectSchema, headers=ETAG_HEADER_DOC)
    @blp.documents_errors(404)
    def delete(self, id: str, taskId: str) -> ProjectAnswer:  # noqa: N803
        """Unassign a task from a project; 404 when it is not in this project."""
        project = current_application().unassign_task(current_actor(), id, taskId)
        return project, etag_headers(project.version)
