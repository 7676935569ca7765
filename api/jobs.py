"""Jobs: work done by agents, which a project may group."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask.views import MethodView

from api.blueprint import ERRORS_OF_A_BODY, Blueprint
from api.context import current_actor, current_application
from api.schemas import (
    JobCreationSchema,
    JobPageSchema,
    JobSchema,
    MemberListQuerySchema,
)
from application.pagination import Page
from application.views import JobView

blp = Blueprint(
    "jobs",
    __name__,
    url_prefix="/v1/jobs",
    description="Work done by agents; each job is in at most one project.",
)


@blp.route("")
class JobCollection(MethodView):
    @blp.arguments(MemberListQuerySchema, location="query")
    @blp.response(200, JobPageSchema)
    @blp.documents_errors(400)
    def get(self, query: dict[str, Any]) -> Page[JobView]:
        """List the jobs of the workspace, or of one project, most recent first."""
        return current_application().list_jobs(current_actor(), **query)

    @blp.arguments(JobCreationSchema)
    @blp.response(201, JobSchema)
    @blp.documents_errors(*ERRORS_OF_A_BODY)
    def post(self, creation: dict[str, Any]) -> tuple[JobView, dict[str, str]]:
        """Create a job."""
        job = current_application().create_job(current_actor(), **creation)
        return job, {"Location": url_for(".JobItem", id=job.id)}


@blp.route("/<public_id:id>")
class JobItem(MethodView):
    @blp.response(200, JobSchema)
    @blp.documents_errors(404)
    def get(self, id: str) -> JobView:
        """Get a job."""
        return current_application().get_job(current_actor(), id)
