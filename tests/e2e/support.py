"""What the end-to-end tests drive: server processes, API keys and an HTTP client.

Everything here talks to the service from the outside only: the console
script to serve and to manage keys, and HTTP for the rest. Nothing of the
service is imported, so these tests see what a client of the service sees.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

READY_LINE = "sokosumi-projects ready on http://"
START_TIMEOUT_SECONDS = 45
STOP_TIMEOUT_SECONDS = 20
REQUEST_TIMEOUT_SECONDS = 30

TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")

REASON_PHRASES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    414: "URI Too Long",
    412: "Precondition Failed",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    500: "Internal Server Error",
    503: "Service Unavailable",
}

# What must never show in an error body: traces, SQL, driver names.
LEAKS = ("Traceback", 'File "', "psycopg", "sqlite3", "SELECT ", "INSERT ", "UPDATE ")


def _console_script() -> str:
    """The `sokosumi-projects` installed beside the Python running the tests."""
    beside = Path(sys.executable).with_name("sokosumi-projects")
    if beside.exists():
        return str(beside)
    found = shutil.which("sokosumi-projects")
    if found is None:
        raise RuntimeError("the sokosumi-projects console script is not installed")
    return found


CONSOLE_SCRIPT = _console_script()


def free_port() -> int:
    """A TCP port that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def environment_for(database_url: str) -> dict[str, str]:
    """The servers' environment: small pools, so the suite fits in PostgreSQL."""
    return {**os.environ, "DATABASE_URL": database_url, "SOKOSUMI_DB_POOL_SIZE": "3"}


def run_command(database_url: str, *arguments: str) -> str:
    """Run the console script on `database_url`; its standard output."""
    completed = subprocess.run(
        [CONSOLE_SCRIPT, *arguments],
        env=environment_for(database_url),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(
            f"sokosumi-projects {' '.join(arguments)} exited with "
            f"{completed.returncode}:\n{completed.stderr}"
        )
    return completed.stdout


# Servers.


class ServerProcess:
    """One `sokosumi-projects serve`, its output kept in a log file."""

    def __init__(self, database_url: str, workers: int, log_path: Path) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = log_path.open("wb")
        self._process = subprocess.Popen(
            [
                CONSOLE_SCRIPT,
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                str(workers),
            ],
            env=environment_for(database_url),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        RUNNING_SERVERS.append(self)

    def wait_until_ready(self) -> None:
        """Wait for the ready line, then for a worker that answers HTTP."""
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"the server on port {self.port} exited with "
                    f"{self._process.returncode}:\n{self.log_since(0)}"
                )
            if READY_LINE in self.log_since(0) and self._answers():
                return
            time.sleep(0.1)
        raise RuntimeError(
            f"the server on port {self.port} was not ready within "
            f"{START_TIMEOUT_SECONDS} s:\n{self.log_since(0)}"
        )

    def _answers(self) -> bool:
        try:
            requests.get(f"{self.base_url}/v1/projects", timeout=5)
        except requests.RequestException:
            return False
        return True

    def stop(self) -> None:
        """SIGTERM, and SIGKILL for the process group if that is not enough."""
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait(STOP_TIMEOUT_SECONDS)
        self._log.close()
        RUNNING_SERVERS.remove(self)

    def log_size(self) -> int:
        return self.log_path.stat().st_size

    def log_since(self, offset: int) -> str:
        with self.log_path.open("rb") as log:
            log.seek(offset)
            return log.read().decode("utf-8", "replace")


RUNNING_SERVERS: list[ServerProcess] = []


# Keys and members.


@dataclass(frozen=True)
class Member:
    """A user with an API key, acting in the workspace the key was created for."""

    email: str
    api_key: str
    key_id: str
    user_id: str
    workspace_id: str


def create_key(database_url: str, email: str, workspace: str) -> Member:
    """`keys create --json`: a new key, and the user and workspace when new."""
    printed = run_command(
        database_url,
        "keys",
        "create",
        "--user",
        email,
        "--workspace",
        workspace,
        "--json",
    )
    issued = json.loads(printed)
    return Member(
        email=email,
        api_key=issued["apiKey"],
        key_id=issued["keyId"],
        user_id=issued["userId"],
        workspace_id=issued["workspaceId"],
    )


def unique_email() -> str:
    return f"user-{uuid.uuid4().hex[:12]}@example.com"


def unique_workspace_name() -> str:
    return f"workspace-{uuid.uuid4().hex[:12]}"


class MemberPool:
    """Members in workspaces of their own, created ahead of need.

    Creating a key starts a Python process, which takes about half a second;
    keeping a few in the making while tests run saves most of that wait.
    """

    def __init__(self, database_url: str, ahead: int = 2) -> None:
        self._database_url = database_url
        self._executor = ThreadPoolExecutor(max_workers=2)
        self._lock = threading.Lock()
        self._pending: deque[Future[Member]] = deque(
            self._order() for _ in range(ahead)
        )

    def _order(self) -> Future[Member]:
        return self._executor.submit(
            create_key, self._database_url, unique_email(), unique_workspace_name()
        )

    def take(self) -> Member:
        with self._lock:
            self._pending.append(self._order())
            ready = self._pending.popleft()
        return ready.result()

    def close(self) -> None:
        for pending in self._pending:
            pending.cancel()
        self._executor.shutdown(wait=True)


# The HTTP client.


class Client:
    """Requests to a deployment, turn by turn to each of its server processes.

    With two processes, consecutive requests of a test go to different
    processes, so a write on one is constantly read on the other.
    """

    def __init__(
        self,
        base_urls: Iterable[str],
        api_key: str | None,
        workspace_id: str | None = None,
        turns: itertools.count[int] | None = None,
    ) -> None:
        self.base_urls = tuple(base_urls)
        self.api_key = api_key
        self.workspace_id = workspace_id
        self._turns = itertools.count() if turns is None else turns

    def with_key(self, api_key: str | None) -> Client:
        """The same client with another key, or with none."""
        return Client(self.base_urls, api_key, self.workspace_id, self._turns)

    def in_workspace(self, workspace_id: str) -> Client:
        """The same client naming a workspace with X-Workspace-Id."""
        return Client(self.base_urls, self.api_key, workspace_id, self._turns)

    def pinned_to(self, turn: int) -> Client:
        """The same client sending every request to one process, chosen by turn."""
        base_url = self.base_urls[turn % len(self.base_urls)]
        return Client([base_url], self.api_key, self.workspace_id)

    def next_base_url(self) -> str:
        return self.base_urls[next(self._turns) % len(self.base_urls)]

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        data: bytes | str | Iterable[bytes] | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str | int] | None = None,
    ) -> requests.Response:
        """Send one request; `body` goes as JSON, `data` as it is."""
        sent_headers: dict[str, str] = {}
        if self.api_key is not None:
            sent_headers["Authorization"] = f"Bearer {self.api_key}"
        if self.workspace_id is not None:
            sent_headers["X-Workspace-Id"] = self.workspace_id
        if body is not None:
            sent_headers["Content-Type"] = "application/json"
            data = json.dumps(body).encode()
        sent_headers.update(headers or {})

        return requests.request(
            method,
            self.next_base_url() + path,
            data=data,
            headers=sent_headers,
            params=params,
            timeout=REQUEST_TIMEOUT_SECONDS,
            allow_redirects=False,
        )

    def get(self, path: str, **options: Any) -> requests.Response:
        return self.request("GET", path, **options)

    def post(self, path: str, **options: Any) -> requests.Response:
        return self.request("POST", path, **options)

    def patch(self, path: str, **options: Any) -> requests.Response:
        return self.request("PATCH", path, **options)

    def delete(self, path: str, **options: Any) -> requests.Response:
        return self.request("DELETE", path, **options)


# Deployments.


@dataclass
class Deployment:
    """One service: its store and the server processes that serve it."""

    name: str
    database_url: str
    servers: list[ServerProcess]
    members: MemberPool

    @property
    def base_urls(self) -> list[str]:
        return [server.base_url for server in self.servers]

    def client(self, member: Member | None = None) -> Client:
        return Client(self.base_urls, None if member is None else member.api_key)

    def new_member(self) -> Member:
        """A user with a key in a workspace of their own."""
        return self.members.take()

    def create_key(self, email: str, workspace: str) -> Member:
        return create_key(self.database_url, email, workspace)

    def revoke_key(self, key_id: str) -> None:
        run_command(self.database_url, "keys", "revoke", key_id)

    def stop(self) -> None:
        self.members.close()
        for server in list(self.servers):
            server.stop()


def start_deployment(
    name: str,
    database_url: str,
    *,
    processes: int,
    workers: int,
    log_dir: Path,
    members_ahead: int = 2,
) -> Deployment:
    """Start the server processes on one store and wait until all answer."""
    servers = [
        ServerProcess(database_url, workers, log_dir / f"{name}-server-{number}.log")
        for number in range(processes)
    ]
    try:
        for server in servers:
            server.wait_until_ready()
    except BaseException:
        for server in servers:
            server.stop()
        raise
    members = MemberPool(database_url, members_ahead)
    return Deployment(name, database_url, servers, members)


# Assertions on answers.


def describe(response: requests.Response) -> str:
    """One answer, as a failing assertion shows it."""
    request = response.request
    sent = request.body if isinstance(request.body, bytes | str) else b""
    sent_text = sent.decode("utf-8", "replace") if isinstance(sent, bytes) else sent
    return (
        f"{request.method} {request.url} {sent_text[:300]!r} -> "
        f"{response.status_code} {response.text[:1000]}"
    )


def expect(response: requests.Response, status: int) -> Any:
    """The JSON body of an answer that must have `status`."""
    assert response.status_code == status, describe(response)
    return response.json()


def expect_error(response: requests.Response, status: int) -> dict[str, Any]:
    """The body of an error answer, checked for the shape every error has."""
    assert response.status_code == status, describe(response)
    content_type = response.headers.get("Content-Type", "")
    assert content_type.startswith("application/json"), describe(response)
    body: dict[str, Any] = response.json()
    assert body["error"] == REASON_PHRASES[status], describe(response)
    assert isinstance(body["message"], str), describe(response)
    assert body["message"], describe(response)
    assert body["requestId"] == response.headers["X-Request-Id"]
    assert set(body) <= {"error", "message", "requestId", "details"}
    for leak in LEAKS:
        assert leak not in response.text, describe(response)
    return body


# Steps that many tests take.

ID_FIELDS = {"jobs": "jobId", "tasks": "taskId"}
COUNT_FIELDS = {"jobs": "jobCount", "tasks": "taskCount"}


def create_project(client: Client, name: str = "Q3 Research Sprint") -> Any:
    return expect(client.post("/v1/projects", body={"name": name}), 201)


def create_job(client: Client, name: str = "Summarise papers") -> Any:
    return expect(client.post("/v1/jobs", body={"name": name}), 201)


def create_task(client: Client, name: str = "Read the abstracts") -> Any:
    return expect(client.post("/v1/tasks", body={"name": name}), 201)


def create_assignable(client: Client, kind: str) -> Any:
    """A new job (`kind` "jobs") or task (`kind` "tasks")."""
    return create_job(client) if kind == "jobs" else create_task(client)


def assign(
    client: Client, project_id: str, kind: str, assignable_id: str
) -> requests.Response:
    return client.post(
        f"/v1/projects/{project_id}/{kind}", body={ID_FIELDS[kind]: assignable_id}
    )


def unassign(
    client: Client, project_id: str, kind: str, assignable_id: str
) -> requests.Response:
    return client.delete(f"/v1/projects/{project_id}/{kind}/{assignable_id}")


def missing_id_like(existing_id: str) -> str:
    """An id of the same kind and shape as `existing_id` that names nothing."""
    last = "1" if existing_id.endswith("0") else "0"
    return existing_id[:-1] + last
