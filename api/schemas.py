"""The bodies the API reads and writes, one schema each, with JSON names in camelCase.

Request schemas check types and shapes so that a client learns which field
is wrong; the rules of the values themselves (trimming, lengths) belong to
the domain, whose refusals reach the client with the same `details`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from marshmallow import (
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_dump,
    validate,
    validates_schema,
)

from api.etags import IfMatch
from api.fields import (
    Description,
    EventData,
    Name,
    QueryInteger,
    Text,
    Timestamp,
    rfc3339,
)
from application.events import FeedPage
from application.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from application.views import JobView, ProjectView, TaskView

NAME_DOC = "Trimmed, then 1 to 200 characters"
DEFAULT_FEED_LIMIT = 100
MAX_FEED_LIMIT = 1_000
MAX_POSITION = 2**63 - 1
DESCRIPTION_DOC = "Trimmed, then at most 10,000 characters; null for none"


# Errors.


class ErrorSchema(Schema):
    """The body of every error answer."""

    error = fields.String(
        required=True, metadata={"description": "Reason phrase of the status"}
    )
    message = fields.String(required=True)
    request_id = fields.String(required=True, data_key="requestId")
    details = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "What is wrong with each field, for 400 answers"},
    )


# Resources.
#
# The resources and their pages are answered often and their shapes are
# flat, so each is written out by hand from its view; the fields declared
# on the schema document it, and the tests hold both to the same output.


class _WrittenSchema(Schema):
    """A schema that writes its view directly instead of field by field."""

    view: ClassVar[type]

    @staticmethod
    def write(view: Any) -> dict[str, Any]:
        raise NotImplementedError

    def dump(self, obj: Any, *, many: bool | None = None) -> Any:
        if type(obj) is self.view and not (self.many if many is None else many):
            return self.write(obj)
        return super().dump(obj, many=many)


class ProjectSchema(_WrittenSchema):
    id = fields.String(metadata={"example": "proj_01jsq3v7h8c2m0x4n6p9r5t1wz"})
    name = fields.String()
    description = fields.String(allow_none=True)
    workspace_id = fields.String(data_key="workspaceId")
    created_at = Timestamp(data_key="createdAt")
    updated_at = Timestamp(data_key="updatedAt")
    job_count = fields.Integer(data_key="jobCount")
    task_count = fields.Integer(data_key="taskCount")

    view = ProjectView

    @staticmethod
    def write(view: ProjectView) -> dict[str, Any]:
        return {
            "id": view.id,
            "name": view.name,
            "description": view.description,
            "workspaceId": view.workspace_id,
            "createdAt": rfc3339(view.created_at),
            "updatedAt": rfc3339(view.updated_at),
            "jobCount": view.job_count,
            "taskCount": view.task_count,
        }


class DeletedProjectSchema(Schema):
    id = fields.String()
    deleted = fields.Boolean()


class JobSchema(_WrittenSchema):
    id = fields.String(metadata={"example": "job_01jsq3v7h8c2m0x4n6p9r5t1wz"})
    name = fields.String()
    workspace_id = fields.String(data_key="workspaceId")
    project_id = fields.String(allow_none=True, data_key="projectId")
    created_at = Timestamp(data_key="createdAt")
    updated_at = Timestamp(data_key="updatedAt")

    view = JobView

    @staticmethod
    def write(view: JobView) -> dict[str, Any]:
        return {
            "id": view.id,
            "name": view.name,
            "workspaceId": view.workspace_id,
            "projectId": view.project_id,
            "createdAt": rfc3339(view.created_at),
            "updatedAt": rfc3339(view.updated_at),
        }


class TaskSchema(_WrittenSchema):
    id = fields.String(metadata={"example": "task_01jsq3v7h8c2m0x4n6p9r5t1wz"})
    name = fields.String()
    description = fields.String(allow_none=True)
    workspace_id = fields.String(data_key="workspaceId")
    project_id = fields.String(allow_none=True, data_key="projectId")
    archived = fields.Boolean()
    archived_at = Timestamp(allow_none=True, data_key="archivedAt")
    created_at = Timestamp(data_key="createdAt")
    updated_at = Timestamp(data_key="updatedAt")

    view = TaskView

    @staticmethod
    def write(view: TaskView) -> dict[str, Any]:
        archived_at = view.archived_at
        return {
            "id": view.id,
            "name": view.name,
            "description": view.description,
            "workspaceId": view.workspace_id,
            "projectId": view.project_id,
            "archived": archived_at is not None,
            "archivedAt": None if archived_at is None else rfc3339(archived_at),
            "createdAt": rfc3339(view.created_at),
            "updatedAt": rfc3339(view.updated_at),
        }


class EventSchema(Schema):
    """One event of the log, with public ids; `data` is its payload."""

    type = fields.String(metadata={"example": "JobAssigned"})
    resource_id = fields.String(
        data_key="resourceId",
        metadata={"description": "The project, job or task the event belongs to"},
    )
    version = fields.Integer(
        metadata={"description": "The event's place in that resource's history"}
    )
    occurred_at = Timestamp(data_key="occurredAt")
    actor_id = fields.String(data_key="actorId", metadata={"description": "Who did it"})
    data = EventData()
    position = fields.Integer(
        metadata={"description": "The event's place in the log: a feed checkpoint"}
    )


# Pages.


class PaginationSchema(Schema):
    page = fields.Integer()
    limit = fields.Integer()
    total = fields.Integer()
    total_pages = fields.Integer(data_key="totalPages")
    has_more = fields.Boolean(data_key="hasMore")
    next_cursor = fields.String(
        allow_none=True,
        data_key="nextCursor",
        metadata={"description": "`cursor` of the next page; null on the last"},
    )


class _PageSchema(Schema):
    """A page of a list: its items as `data`, and where it stands as `pagination`."""

    @pre_dump
    def split_page(self, page: Page[Any], **kwargs: Any) -> dict[str, Any]:
        return {"data": page.items, "pagination": page}


class _WrittenPageSchema(_PageSchema):
    """A page of resources whose schema writes them by hand, written likewise."""

    items: ClassVar[type[_WrittenSchema]]

    def dump(self, obj: Any, *, many: bool | None = None) -> Any:
        if type(obj) is not Page or (self.many if many is None else many):
            return super().dump(obj, many=many)
        write = self.items.write
        return {
            "data": [write(item) for item in obj.items],
            "pagination": {
                "page": obj.page,
                "limit": obj.limit,
                "total": obj.total,
                "totalPages": obj.total_pages,
                "hasMore": obj.has_more,
                "nextCursor": obj.next_cursor,
            },
        }


class ProjectPageSchema(_WrittenPageSchema):
    data = fields.List(fields.Nested(ProjectSchema))
    pagination = fields.Nested(PaginationSchema)

    items = ProjectSchema


class JobPageSchema(_WrittenPageSchema):
    data = fields.List(fields.Nested(JobSchema))
    pagination = fields.Nested(PaginationSchema)

    items = JobSchema


class TaskPageSchema(_WrittenPageSchema):
    data = fields.List(fields.Nested(TaskSchema))
    pagination = fields.Nested(PaginationSchema)

    items = TaskSchema


class EventPageSchema(_PageSchema):
    data = fields.List(fields.Nested(EventSchema))
    pagination = fields.Nested(PaginationSchema)


class FeedPositionSchema(Schema):
    after = fields.Integer(metadata={"description": "The position asked for"})
    limit = fields.Integer()
    has_more = fields.Boolean(data_key="hasMore")
    next_after = fields.Integer(
        data_key="nextAfter",
        metadata={"description": "`after` of the next request: the last position"},
    )


class FeedPageSchema(Schema):
    """Events of the workspace after a position, in commit order."""

    data = fields.List(fields.Nested(EventSchema))
    pagination = fields.Nested(FeedPositionSchema)

    @pre_dump
    def split_page(self, page: FeedPage, **kwargs: Any) -> dict[str, Any]:
        return {"data": page.items, "pagination": page}


# Requests.


class ListQuerySchema(Schema):
    """Which page of a list to read: by number, or after a cursor, never both."""

    page = QueryInteger(
        max_digits=None,
        validate=validate.Range(min=1),
        metadata={"description": "Page number, from 1 (default 1)"},
    )
    limit = QueryInteger(
        validate=validate.Range(min=1, max=MAX_LIMIT),
        load_default=DEFAULT_LIMIT,
        metadata={"description": f"Items per page, 1 to {MAX_LIMIT}"},
    )
    cursor = Text(metadata={"description": "`nextCursor` of the previous page"})

    @validates_schema
    def refuse_page_with_cursor(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "page" in data and "cursor" in data:
            raise ValidationError("cannot be combined with page", "cursor")

    @post_load
    def as_page_arguments(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Load as the keyword arguments of the `list_` queries: None when not given."""
        return {"page": None, "cursor": None, **data}


class MemberListQuerySchema(ListQuerySchema):
    """A page of jobs or tasks, optionally only those of one project."""

    project_id = Text(
        data_key="projectId",
        metadata={"description": "Only those assigned to this project"},
    )


class ProjectCreationSchema(Schema):
    name = Name(required=True, metadata={"description": NAME_DOC})
    description = Description(
        load_default=None, metadata={"description": DESCRIPTION_DOC}
    )


class ProjectChangesSchema(Schema):
    """A change of name, description or both; `description: null` clears it.

    Loads as the keyword arguments of `update_project`.
    """

    name = Name(metadata={"description": NAME_DOC})
    description = Description(metadata={"description": DESCRIPTION_DOC})

    class Meta:
        # What the document adds to the fields' own description (see
        # api.documentation): a change names at least one of them.
        openapi = {"minProperties": 1}  # noqa: RUF012 - read, never changed

    @validates_schema
    def require_a_change(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not data:
            raise ValidationError("must contain name, description or both", "body")

    @post_load
    def as_update(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return {
            "name": data.get("name"),
            "description": data.get("description"),
            "change_description": "description" in data,
        }


class PreconditionSchema(Schema):
    """The If-Match header: the versions of the project a write may apply to.

    Without the header it loads as nothing, and the write applies to any version.
    """

    expected_versions = IfMatch(
        data_key="If-Match",
        metadata={
            "description": 'ETags of the versions the write may apply to, or "*"'
        },
    )


class ConditionalReadSchema(Schema):
    """The If-None-Match header, documented here and read by api.etags."""

    if_none_match = fields.String(
        data_key="If-None-Match",
        metadata={
            "description": "The ETag the client holds; answered with 304 while current"
        },
    )


class _IdentifierBodySchema(Schema):
    """A body that names one resource by id, read directly when plainly valid.

    Every assignment sends one, so the common case, a printable ASCII id and
    nothing else, skips the field machinery; anything else goes through it,
    with its messages.
    """

    key: ClassVar[str]
    field_name: ClassVar[str]

    def load(self, data: Any, **kwargs: Any) -> Any:
        if not kwargs and type(data) is dict and len(data) == 1:
            value = data.get(self.key)
            if type(value) is str and value and value.isascii() and value.isprintable():
                return {self.field_name: value}
        return super().load(data, **kwargs)


class JobAssignmentSchema(_IdentifierBodySchema):
    key, field_name = "jobId", "job_id"

    job_id = Text(required=True, data_key="jobId", validate=validate.Length(min=1))


class TaskAssignmentSchema(_IdentifierBodySchema):
    key, field_name = "taskId", "task_id"

    task_id = Text(required=True, data_key="taskId", validate=validate.Length(min=1))


class JobCreationSchema(Schema):
    name = Name(required=True, metadata={"description": NAME_DOC})


class TaskCreationSchema(Schema):
    name = Name(required=True, metadata={"description": NAME_DOC})
    description = Description(
        load_default=None, metadata={"description": DESCRIPTION_DOC}
    )


class HealthSchema(Schema):
    status = fields.String(metadata={"example": "ok"})


class FeedQuerySchema(Schema):
    """Where to read the event feed from."""

    after = QueryInteger(
        max_digits=19,
        validate=validate.Range(min=0, max=MAX_POSITION),
        load_default=0,
        metadata={"description": "Position after which to read (default 0)"},
    )
    limit = QueryInteger(
        validate=validate.Range(min=1, max=MAX_FEED_LIMIT),
        load_default=DEFAULT_FEED_LIMIT,
        metadata={"description": f"Events per answer, 1 to {MAX_FEED_LIMIT}"},
    )


class StreamQuerySchema(Schema):
    """Where a stream starts when the client sends no `Last-Event-ID`."""

    after = QueryInteger(
        max_digits=19,
        validate=validate.Range(min=0, max=MAX_POSITION),
        metadata={"description": "Position after which to stream (default 0)"},
    )


class AsOfQuerySchema(Schema):
    """A moment in the past, to see a resource as it was then."""

    as_of = fields.AwareDateTime(
        data_key="asOf",
        format="iso",
        metadata={"description": "RFC 3339 time, e.g. 2026-04-28T12:00:00.000Z"},
    )
