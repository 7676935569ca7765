"""Client threads that mix every write on a few hot projects, jobs and tasks.

Each client sends one request at a time to a server chosen at random and
records what it sent and what came back (an `Exchange`). Afterwards the
exchanges are checked against the event log: every acknowledged write must be
there, and every answer that shows a project must match the project's
history at the version its ETag names.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import requests

from tests.audit import LoggedEvent

REQUEST_TIMEOUT = 30

# The statuses each action may get under contention; anything else is a bug.
ALLOWED = {
    "create_project": {201},
    "update_project": {200, 404, 412},
    "delete_project": {200, 404, 412},
    "create_job": {201},
    "create_task": {201},
    "archive_task": {200},
    "assign_job": {200, 404, 409},
    "assign_task": {200, 400, 404, 409},
    "unassign_job": {200, 404},
    "unassign_task": {200, 404},
    "get_project": {200, 404},
    "get_job": {200},
    "get_task": {200},
    "list_projects": {200},
    "list_jobs": {200},
    "list_tasks": {200},
}

WEIGHTS = {
    "assign_job": 14,
    "assign_task": 14,
    "unassign_job": 9,
    "unassign_task": 9,
    "update_project": 8,
    "delete_project": 3,
    "create_project": 2,
    "create_job": 3,
    "create_task": 3,
    "archive_task": 2,
    "get_project": 5,
    "get_job": 2,
    "get_task": 2,
    "list_projects": 3,
    "list_jobs": 3,
    "list_tasks": 3,
}


@dataclass(frozen=True)
class Exchange:
    """One request and what came of it: an answer, or a transport error."""

    action: str
    method: str
    path: str
    sent_at: float
    answered_at: float
    status: int | None
    body: Any = None
    etag: str | None = None
    retry_after: str | None = None
    project_id: str | None = None
    member_id: str | None = None
    error: str | None = None
    base_url: str = ""

    @property
    def succeeded(self) -> bool:
        return self.status is not None and self.status < 300

    @property
    def version(self) -> int | None:
        return None if self.etag is None else int(self.etag.strip('"'))

    def __str__(self) -> str:
        answer = self.error or f"{self.status} {str(self.body)[:300]}"
        return f"{self.action}: {self.method} {self.path} -> {answer}"


@dataclass
class HotSet:
    """The few projects, jobs and tasks that every client works on."""

    projects: list[str]
    jobs: list[str]
    tasks: list[str]
    lock: threading.Lock = field(default_factory=threading.Lock)

    def pick(self, kind: str, rng: random.Random) -> str:
        with self.lock:
            return rng.choice(getattr(self, kind))

    def replace(self, kind: str, old: str | None, new: str, cap: int) -> None:
        """Add `new`; drop `old` (or the oldest, past `cap`)."""
        with self.lock:
            ids: list[str] = getattr(self, kind)
            if old in ids:
                ids.remove(old)
            ids.append(new)
            if len(ids) > cap:
                ids.pop(0)


class Client:
    """One client thread's view: a key, the servers, the hot set."""

    def __init__(
        self,
        base_urls: Sequence[str],
        api_key: str,
        hot: HotSet,
        seed: int,
        weights: dict[str, int] | None = None,
    ) -> None:
        self.base_urls = list(base_urls)
        self.headers = {"Authorization": f"Bearer {api_key}"}
        self.hot = hot
        self.rng = random.Random(seed)
        self.session = requests.Session()
        self.exchanges: list[Exchange] = []
        chosen = weights or WEIGHTS
        self.actions = list(chosen)
        self.weights = [chosen[action] for action in self.actions]

    def send(
        self,
        action: str,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        project_id: str | None = None,
        member_id: str | None = None,
    ) -> Exchange:
        """Send one request and keep what came of it."""
        exchange = self._exchange(
            action, method, path, body, headers, project_id, member_id
        )
        self.exchanges.append(exchange)
        return exchange

    def _exchange(
        self,
        action: str,
        method: str,
        path: str,
        body: Any,
        headers: dict[str, str] | None,
        project_id: str | None,
        member_id: str | None,
    ) -> Exchange:
        base_url = self.rng.choice(self.base_urls)
        url = base_url + path
        sent_at = time.monotonic()
        try:
            response = self.session.request(
                method,
                url,
                json=body,
                headers={**self.headers, **(headers or {})},
                timeout=REQUEST_TIMEOUT,
            )
        except requests.RequestException as error:
            self.session = requests.Session()
            return Exchange(
                action, method, path, sent_at, time.monotonic(), None,
                project_id=project_id, member_id=member_id,
                error=f"{type(error).__name__}: {error}", base_url=base_url,
            )  # fmt: skip
        try:
            answer = response.json()
        except ValueError:
            answer = response.text
        return Exchange(
            action,
            method,
            path,
            sent_at,
            time.monotonic(),
            response.status_code,
            answer,
            response.headers.get("ETag"),
            response.headers.get("Retry-After"),
            project_id,
            member_id,
            base_url=base_url,
        )

    def step(self) -> Exchange:
        """Send one request of a randomly chosen action."""
        action = self.rng.choices(self.actions, self.weights)[0]
        return getattr(self, action)()

    # Writes.

    def create_project(self) -> Exchange:
        name = f"Hot {uuid.uuid4().hex[:8]}"
        sent = self.send("create_project", "POST", "/v1/projects", {"name": name})
        if sent.status == 201:
            self.hot.replace("projects", None, sent.body["id"], cap=4)
        return sent

    def update_project(self) -> Exchange:
        project_id = self.hot.pick("projects", self.rng)
        headers = {}
        if self.rng.random() < 0.5:
            seen = self.send("get_project", "GET", f"/v1/projects/{project_id}")
            if seen.etag is not None:
                headers["If-Match"] = seen.etag
        return self.send(
            "update_project",
            "PATCH",
            f"/v1/projects/{project_id}",
            {"name": f"Renamed {uuid.uuid4().hex[:8]}"},
            headers,
            project_id=project_id,
        )

    def delete_project(self) -> Exchange:
        project_id = self.hot.pick("projects", self.rng)
        sent = self.send(
            "delete_project",
            "DELETE",
            f"/v1/projects/{project_id}",
            project_id=project_id,
        )
        if sent.status in (200, 404):
            replacement = self.send(
                "create_project", "POST", "/v1/projects", {"name": "Replacement"}
            )
            if replacement.status == 201:
                self.hot.replace("projects", project_id, replacement.body["id"], cap=4)
        return sent

    def create_job(self) -> Exchange:
        sent = self.send("create_job", "POST", "/v1/jobs", {"name": "Hot job"})
        if sent.status == 201:
            self.hot.replace("jobs", None, sent.body["id"], cap=8)
        return sent

    def create_task(self) -> Exchange:
        sent = self.send("create_task", "POST", "/v1/tasks", {"name": "Hot task"})
        if sent.status == 201:
            self.hot.replace("tasks", None, sent.body["id"], cap=8)
        return sent

    def archive_task(self) -> Exchange:
        task_id = self.hot.pick("tasks", self.rng)
        return self.send(
            "archive_task", "DELETE", f"/v1/tasks/{task_id}", member_id=task_id
        )

    def assign_job(self) -> Exchange:
        return self._assign("jobs", "jobId")

    def assign_task(self) -> Exchange:
        return self._assign("tasks", "taskId")

    def _assign(self, kind: str, field_name: str) -> Exchange:
        project_id = self.hot.pick("projects", self.rng)
        member_id = self.hot.pick(kind, self.rng)
        return self.send(
            f"assign_{kind[:-1]}",
            "POST",
            f"/v1/projects/{project_id}/{kind}",
            {field_name: member_id},
            project_id=project_id,
            member_id=member_id,
        )

    def unassign_job(self) -> Exchange:
        return self._unassign("jobs")

    def unassign_task(self) -> Exchange:
        return self._unassign("tasks")

    def _unassign(self, kind: str) -> Exchange:
        project_id = self.hot.pick("projects", self.rng)
        member_id = self.hot.pick(kind, self.rng)
        return self.send(
            f"unassign_{kind[:-1]}",
            "DELETE",
            f"/v1/projects/{project_id}/{kind}/{member_id}",
            project_id=project_id,
            member_id=member_id,
        )

    # Reads.

    def get_project(self) -> Exchange:
        project_id = self.hot.pick("projects", self.rng)
        return self.send(
            "get_project", "GET", f"/v1/projects/{project_id}", project_id=project_id
        )

    def get_job(self) -> Exchange:
        job_id = self.hot.pick("jobs", self.rng)
        return self.send("get_job", "GET", f"/v1/jobs/{job_id}", member_id=job_id)

    def get_task(self) -> Exchange:
        task_id = self.hot.pick("tasks", self.rng)
        return self.send("get_task", "GET", f"/v1/tasks/{task_id}", member_id=task_id)

    def list_projects(self) -> Exchange:
        return self.send("list_projects", "GET", "/v1/projects?limit=100")

    def list_jobs(self) -> Exchange:
        return self.send("list_jobs", "GET", "/v1/jobs?limit=100")

    def list_tasks(self) -> Exchange:
        return self.send("list_tasks", "GET", "/v1/tasks?limit=100")


def seed_hot_set(
    base_url: str, api_key: str, projects: int = 3, members: int = 6
) -> HotSet:
    """Create the hot set through the API."""
    headers = {"Authorization": f"Bearer {api_key}"}

    def create(kind: str, name: str) -> str:
        response = requests.post(
            f"{base_url}/v1/{kind}", json={"name": name}, headers=headers, timeout=30
        )
        assert response.status_code == 201, response.text
        created: str = response.json()["id"]
        return created

    return HotSet(
        projects=[create("projects", f"Hot {n}") for n in range(projects)],
        jobs=[create("jobs", f"Job {n}") for n in range(members)],
        tasks=[create("tasks", f"Task {n}") for n in range(members)],
    )


def run_clients(
    clients: Sequence[Client],
    seconds: float,
    during: Callable[[], None] | None = None,
) -> list[Exchange]:
    """Run every client in a thread of its own for `seconds`; all exchanges.

    `during`, when given, runs in this thread while the clients run (to
    inject a fault), and the clients stop once it has returned and the time
    is up.
    """
    stop = threading.Event()
    failures: list[BaseException] = []

    def work(client: Client) -> None:
        try:
            while not stop.is_set():
                client.step()
        except BaseException as error:  # a bug in the client: reported below
            failures.append(error)

    threads = [threading.Thread(target=work, args=(c,), daemon=True) for c in clients]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    if during is not None:
        during()
    time.sleep(max(0.0, seconds - (time.monotonic() - started)))
    stop.set()
    for thread in threads:
        thread.join(REQUEST_TIMEOUT + 5)
    if failures:
        raise failures[0]
    return sorted(
        (exchange for client in clients for exchange in client.exchanges),
        key=lambda exchange: exchange.sent_at,
    )


def tally(exchanges: Iterable[Exchange]) -> Counter[str]:
    """How many exchanges of each action got each status."""
    return Counter(f"{e.action} {e.status or 'error'}" for e in exchanges)


def unexpected(exchanges: Iterable[Exchange]) -> list[str]:
    """Exchanges whose status the action may not get, 5xx and errors included."""
    return [str(e) for e in exchanges if e.status not in ALLOWED[e.action]]


# Checking acknowledged answers against the log.


@dataclass
class ProjectHistory:
    """A project's events, and its member counts after each version."""

    events: dict[int, LoggedEvent] = field(default_factory=dict)
    counts: dict[int, tuple[int, int]] = field(default_factory=dict)
    members: dict[int, frozenset[str]] = field(default_factory=dict)


def project_histories(events: Iterable[LoggedEvent]) -> dict[str, ProjectHistory]:
    histories: dict[str, ProjectHistory] = {}
    members: dict[str, set[str]] = {}
    for event in events:
        if not event.originator_id.startswith("proj_"):
            continue
        history = histories.setdefault(event.originator_id, ProjectHistory())
        current = members.setdefault(event.originator_id, set())
        if event.topic in {"JobAddedToProject", "TaskAddedToProject"}:
            current.update(event.named("job_") + event.named("task_"))
        elif event.topic in {"JobRemovedFromProject", "TaskRemovedFromProject"}:
            current.difference_update(event.named("job_") + event.named("task_"))
        elif event.topic == "ProjectDeleted":
            current.clear()
        history.events[event.version] = event
        history.members[event.version] = frozenset(current)
        history.counts[event.version] = (
            sum(1 for member in current if member.startswith("job_")),
            sum(1 for member in current if member.startswith("task_")),
        )
    return histories


def acknowledged_but_missing(
    exchanges: Iterable[Exchange], events: Sequence[LoggedEvent]
) -> list[str]:
    """Every 2xx answer that the event log does not bear out."""
    histories = project_histories(events)
    by_originator: dict[str, list[LoggedEvent]] = {}
    for event in events:
        by_originator.setdefault(event.originator_id, []).append(event)

    problems = []
    for exchange in exchanges:
        if exchange.succeeded:
            problem = _unexplained(exchange, histories, by_originator)
            if problem is not None:
                problems.append(f"{exchange}: {problem}")
    return problems


def _unexplained(
    exchange: Exchange,
    histories: dict[str, ProjectHistory],
    by_originator: dict[str, list[LoggedEvent]],
) -> str | None:
    action = exchange.action
    if action.startswith("list_"):
        return None
    if action in {"create_job", "create_task", "get_job", "get_task"}:
        resource_id = exchange.body["id"]
        created = by_originator.get(resource_id, [])
        topic = "JobCreated" if "job" in action else "TaskCreated"
        if not created or created[0].topic != topic:
            return f"no {topic} for {resource_id}"
        return None
    if action == "archive_task":
        topics = [e.topic for e in by_originator.get(exchange.body["id"], [])]
        return None if "TaskArchived" in topics else "no TaskArchived"
    if action == "delete_project":
        history = histories.get(exchange.body["id"])
        if history is None or "ProjectDeleted" not in {
            e.topic for e in history.events.values()
        }:
            return "no ProjectDeleted"
        return None

    project_id = exchange.body["id"]
    history = histories.get(project_id)
    version = exchange.version
    if history is None or version is None or version not in history.events:
        return f"no event of {project_id} at version {version}"
    event = history.events[version]
    shown = (exchange.body["jobCount"], exchange.body["taskCount"])
    if shown != history.counts[version]:
        return f"counts {shown}, but {history.counts[version]} at version {version}"
    expected_topic = {
        "create_project": "ProjectCreated",
        "update_project": "ProjectUpdated",
        "unassign_job": "JobRemovedFromProject",
        "unassign_task": "TaskRemovedFromProject",
    }.get(action)
    if expected_topic is not None and event.topic != expected_topic:
        return f"version {version} is {event.topic}, not {expected_topic}"
    if (
        action.startswith("assign_")
        and exchange.member_id not in (history.members[version])
    ):
        return f"{exchange.member_id} is not in it at version {version}"
    return None


def new_seeds() -> Iterable[int]:
    """Seeds for the clients' random choices, different on every run."""
    start = random.SystemRandom().randrange(1 << 30)
    return itertools.count(start)
