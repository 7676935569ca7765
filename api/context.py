"""What a request works with: the services of the app, the request id and the actor."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, current_app, g

from application.ports import IdentityDirectory
from application.service import ProjectsApplication
from application.views import Actor

EXTENSION_NAME = "sokosumi_projects"


@dataclass(frozen=True)
class Services:
    """The application and identity directory that one Flask app serves."""

    application: ProjectsApplication
    identity: IdentityDirectory
    check_store: Callable[[], None] | None = None


def install_services(app: Flask, services: Services) -> None:
    """Keep `services` in `app.extensions`, where every request finds them."""
    app.extensions[EXTENSION_NAME] = services


def current_services() -> Services:
    services: Services = current_app.extensions[EXTENSION_NAME]
    return services


def current_application() -> ProjectsApplication:
    return current_services().application


def current_identity() -> IdentityDirectory:
    return current_services().identity


def current_request_id() -> str:
    """The id of the request being answered, minted here if none was set yet.

    Minting lazily means that even an error raised before the request's
    pipeline ran still answers with an id.
    """
    request_id: str | None = g.get("request_id")
    if request_id is None:
        request_id = uuid.uuid4().hex
        g.request_id = request_id
    return request_id


def current_actor() -> Actor:
    """Who makes the request, and in which workspace; set once the key is checked."""
    actor: Actor = g.actor
    return actor


def current_workspace_id() -> str | None:
    """The active workspace, or None before (or without) a checked key."""
    actor: Actor | None = g.get("actor")
    return None if actor is None or not actor.is_found else actor.workspace_id
