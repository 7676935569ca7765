"""The Flask application factory: blueprints, OpenAPI document, docs page and health.

The OpenAPI document is generated from the schemas and served at
/v1/openapi.json; /docs shows it with Swagger UI, whose files are served by
the app itself so that the page works without any network access.
"""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import flask_smorest
from flask import Flask, send_from_directory
from flask.views import MethodView
from flask.wrappers import Response
from swagger_ui_bundle import swagger_ui_path

from api import events, jobs, projects, tasks
from api.blueprint import Blueprint, PublicIdConverter
from api.context import Services, current_services, install_services
from api.documentation import SchemaExtras
from api.encoding import FastJSONProvider
from api.errors import register_error_handlers
from api.etags import IfMatch
from api.parsing import MAX_READ_BYTES
from api.requests import install_request_pipeline
from api.schemas import ErrorSchema, HealthSchema
from application.ports import IdentityDirectory
from application.service import ProjectsApplication

logger = logging.getLogger(__name__)

API_TITLE = "Sokosumi Projects"
API_VERSION = "1"
DOCS_STATIC_URL = "/docs/static/"

API_DESCRIPTION = """\
Organize jobs and tasks into workspace-scoped projects.

Every request but `/health` and the documentation needs an API key, sent as
`Authorization: Bearer <key>`. The active workspace is the key's own, or
another workspace of the same user named by the `X-Workspace-Id` header.
Every response carries an `X-Request-Id`, the client's own when it sent one.
"""


class ProjectsFlask(Flask):
    """Flask, asking once per function whether it is a coroutine function.

    Flask asks it of every view, hook and handler of every request, and the
    answer never changes. Plain functions and bound methods (by their
    function) are remembered, so what is remembered is bounded by the app's
    own code; anything else is asked every time, as Flask does.
    """

    def __init__(self, import_name: str) -> None:
        super().__init__(import_name)
        self._coroutine_functions: dict[Callable[..., Any], bool] = {}

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        function = getattr(func, "__func__", func)
        if not inspect.isfunction(function):
            return super().ensure_sync(func)
        is_coroutine = self._coroutine_functions.get(function)
        if is_coroutine is None:
            is_coroutine = inspect.iscoroutinefunction(function)
            self._coroutine_functions[function] = is_coroutine
        return self.async_to_sync(func) if is_coroutine else func


class ProjectsApi(flask_smorest.Api):  # type: ignore[misc]  # smorest is untyped
    """flask-smorest's Api, documenting and answering errors in the API's shape."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        register_error_handlers(self._app)

    def _register_pagination_header(self) -> None:
        """Document no pagination header: pages carry `pagination` in their body."""


health = Blueprint(
    "health", __name__, description="Whether the service can answer requests."
)


@health.route("/health")
class Health(MethodView):
    @health.response(200, HealthSchema)
    @health.documents_errors_of_every_request(503)
    @health.doc(security=[])
    def get(self) -> dict[str, str]:
        """Check that the service and its store answer; needs no key."""
        check_store = current_services().check_store
        if check_store is not None:
            check_store()
        return {"status": "ok"}


def create_app(
    application: ProjectsApplication,
    identity: IdentityDirectory,
    check_store: Callable[[], None] | None = None,
    *,
    stream_heartbeat: float = 15.0,
    stopping: threading.Event | None = None,
) -> Flask:
    """Build the HTTP API around an application and an identity directory.

    `check_store`, when given, is called by GET /health and should raise the
    store's own error when the store cannot be reached. Event streams send a
    heartbeat every `stream_heartbeat` seconds and end once `stopping` is set.
    """
    app = ProjectsFlask(__name__)
    app.json = FastJSONProvider(app)
    app.config.update(_configuration())
    app.config[events.HEARTBEAT_CONFIG] = stream_heartbeat
    app.config[events.STOPPING_CONFIG] = stopping
    app.url_map.converters["public_id"] = PublicIdConverter
    install_services(app, Services(application, identity, check_store))
    install_request_pipeline(app)

    api = ProjectsApi(app, spec_kwargs={"extra_plugins": [SchemaExtras()]})
    api.register_field(IfMatch, "string", None)
    api.spec.components.security_scheme("apiKey", {"type": "http", "scheme": "bearer"})
    for blueprint in (projects.blp, jobs.blp, tasks.blp, events.blp, health):
        api.register_blueprint(blueprint)
    app.add_url_rule(
        f"{DOCS_STATIC_URL}<path:filename>", "docs_static", _serve_swagger_ui_file
    )

    logger.info("API ready with %d routes", len(list(app.url_map.iter_rules())))
    return app


def _configuration() -> dict[str, Any]:
    return {
        "API_TITLE": API_TITLE,
        "API_VERSION": API_VERSION,
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/",
        "OPENAPI_JSON_PATH": "v1/openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "docs",
        "OPENAPI_SWAGGER_UI_URL": DOCS_STATIC_URL,
        "API_SPEC_OPTIONS": {
            "info": {"description": API_DESCRIPTION},
            "security": [{"apiKey": []}],
        },
        # Caps the reading of a body sent without Content-Length; the declared
        # length is checked by read_json_object, after the key and the route.
        "MAX_CONTENT_LENGTH": MAX_READ_BYTES,
    }


def _serve_swagger_ui_file(filename: str) -> Response:
    """Serve a file of the Swagger UI bundle, so /docs works offline."""
    return send_from_directory(Path(str(swagger_ui_path)), filename)
