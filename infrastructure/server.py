"""Serving the API with gunicorn: threaded workers, each with its own connections."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import threading
import uuid
from collections.abc import Callable
from types import FrameType
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter
from gunicorn.workers.gthread import ThreadWorker

from api.app import create_app
from infrastructure.settings import Settings
from infrastructure.wiring import build_services

logger = logging.getLogger(__name__)


# Set when this worker process is asked to stop, so that event streams end and
# let the requests in flight finish within the graceful timeout.
stopping = threading.Event()


def build_wsgi_app(settings: Settings) -> Flask:
    """The Flask app of one worker process; the schema already exists."""
    services = build_services(settings, create_schema=False)
    return create_app(
        services.application,
        services.identity,
        services.check_store,
        stream_heartbeat=settings.stream_heartbeat,
        stopping=stopping,
    )


class JsonErrorsWorker(ThreadWorker):  # type: ignore[misc]
    """gunicorn's threaded worker, answering unreadable requests in JSON.

    gunicorn itself answers a request it cannot parse (a request line or a
    header too long, a malformed header) before the app sees it, in HTML.
    This worker lets gunicorn decide the status, then answers with the API's
    error body and a request id instead.
    """

    def handle_error(self, req: Any, client: Any, addr: Any, exc: Any) -> None:
        captured = _CapturedSocket()
        super().handle_error(req, captured, addr, exc)
        status_line = bytes(captured.data).split(b"\r\n", 1)[0].decode("latin-1")
        _, status, reason = [*status_line.split(" ", 2), "", ""][:3]
        if not status.isdigit():
            return
        request_id = uuid.uuid4().hex
        body = json.dumps(
            {
                "error": reason,
                "message": f"The request could not be read: {reason.lower()}",
                "requestId": request_id,
            }
        ).encode()
        head = (
            f"HTTP/1.1 {status} {reason}\r\n"
            "Connection: close\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n"
            f"X-Request-Id: {request_id}\r\n\r\n"
        ).encode("latin-1")
        with contextlib.suppress(OSError):
            client.sendall(head + body)


class _CapturedSocket:
    """Stands in for a client socket, keeping what gunicorn would have sent."""

    def __init__(self) -> None:
        self.data = bytearray()

    def gettimeout(self) -> float:
        return 0.0

    def setblocking(self, flag: bool) -> None:
        return None

    def sendall(self, data: bytes) -> None:
        self.data.extend(data)


class Server(BaseApplication):  # type: ignore[misc]
    """gunicorn, configured in code; each worker builds its own app after forking."""

    def __init__(
        self, settings: Settings, *, host: str, port: int, workers: int, threads: int
    ) -> None:
        self.settings = settings
        self.options: dict[str, Any] = {
            "bind": f"{host}:{port}",
            "workers": workers,
            "worker_class": JsonErrorsWorker,
            "threads": threads,
            "timeout": 60,
            "graceful_timeout": 20,
            "keepalive": 5,
            "loglevel": settings.log_level.lower(),
            "accesslog": "-" if os.environ.get("SOKOSUMI_ACCESS_LOG") else None,
            "errorlog": "-",
            "when_ready": _announce,
            "post_worker_init": _end_streams_on_exit,
            "proc_name": "sokosumi-projects",
            # gunicorn's control socket sits at one path per user, which two
            # servers on one machine would fight over; nothing here uses it.
            "control_socket_disable": True,
        }
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return build_wsgi_app(self.settings)


def _announce(arbiter: Arbiter) -> None:
    for listener in arbiter.LISTENERS:
        logger.info("sokosumi-projects ready on %s", _address(str(listener)))


def _end_streams_on_exit(worker: Any) -> None:
    """Chain the worker's SIGTERM and SIGINT handlers with ending the streams."""
    for signal_number in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT):
        handler = signal.getsignal(signal_number)
        signal.signal(signal_number, _stopping_then(handler))


def _stopping_then(handler: Any) -> Callable[[int, FrameType | None], None]:
    def handle(signal_number: int, frame: FrameType | None) -> None:
        stopping.set()
        if callable(handler):
            handler(signal_number, frame)

    return handle


def _address(listener: str) -> str:
    return listener if "://" in listener else f"http://{listener}"
