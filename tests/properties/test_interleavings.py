"""Every interleaving of two commands at every point where one of them loads.

Two application instances share one SQLite file, as two server processes
share a database. While the first runs a command, the second runs another
one just before the first loads its k-th aggregate, for every k: the window
that a race between two processes opens. Whatever the pair and the point,
each command answers as the contract allows, each answer is borne out by the
log at the version it names, and the log and read models keep every rule.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from application.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PreconditionFailedError,
    RuleViolationError,
)
from application.service import ProjectsApplication
from application.views import Actor, ProjectView
from infrastructure.settings import Settings
from infrastructure.wiring import Services, build_services
from tests.audit import (
    events_of,
    fold,
    logged_events,
    read_model_problems,
    read_model_rows,
)
from tests.traffic import project_histories

ANSWERABLE = (
    NotFoundError,
    ConflictError,
    RuleViolationError,
    InvalidInputError,
    PreconditionFailedError,
)


@dataclass
class Scene:
    """A workspace with a project holding a job and a task, and free ones."""

    actor: Actor
    full: str
    empty: str
    placed_job: str
    free_job: str
    placed_task: str
    free_task: str


Command = Callable[[ProjectsApplication, Scene], Any]


@dataclass(frozen=True)
class Step:
    """A command, and the member its success says is in (or out of) the project."""

    run: Command
    member: Callable[[Scene], str] | None = None
    member_in: bool = True


COMMANDS: dict[str, Step] = {
    "assign the placed job again": Step(
        lambda a, s: a.assign_job(s.actor, s.full, s.placed_job),
        lambda s: s.placed_job,
    ),
    "assign the free job": Step(
        lambda a, s: a.assign_job(s.actor, s.full, s.free_job), lambda s: s.free_job
    ),
    "move the placed job": Step(
        lambda a, s: a.assign_job(s.actor, s.empty, s.placed_job),
        lambda s: s.placed_job,
    ),
    "unassign the placed job": Step(
        lambda a, s: a.unassign_job(s.actor, s.full, s.placed_job),
        lambda s: s.placed_job,
        member_in=False,
    ),
    "assign the free task": Step(
        lambda a, s: a.assign_task(s.actor, s.full, s.free_task),
        lambda s: s.free_task,
    ),
    "assign the placed task again": Step(
        lambda a, s: a.assign_task(s.actor, s.full, s.placed_task),
        lambda s: s.placed_task,
    ),
    "unassign the placed task": Step(
        lambda a, s: a.unassign_task(s.actor, s.full, s.placed_task),
        lambda s: s.placed_task,
        member_in=False,
    ),
    "archive the placed task": Step(
        lambda a, s: a.archive_task(s.actor, s.placed_task)
    ),
    "rename the full project": Step(
        lambda a, s: a.update_project(
            s.actor, s.full, name=f"Renamed {uuid.uuid4().hex[:6]}"
        )
    ),
    "delete the full project": Step(lambda a, s: a.delete_project(s.actor, s.full)),
    "delete the empty project": Step(lambda a, s: a.delete_project(s.actor, s.empty)),
}


@pytest.fixture(scope="module")
def two_processes(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Services, Services]]:
    """Two instances of the service on one SQLite file."""
    path: Path = tmp_path_factory.mktemp("interleavings") / "projects.db"
    settings = Settings.from_environ({"DATABASE_URL": f"sqlite:///{path}"})
    first, second = build_services(settings), build_services(settings)
    yield first, second
    first.close()
    second.close()


def set_the_scene(services: Services) -> Scene:
    issued = services.create_key(
        f"{uuid.uuid4().hex[:8]}@example.com", f"ws-{uuid.uuid4().hex[:8]}"
    )
    actor = Actor(issued.user_id, issued.workspace_id)
    application = services.application
    full = application.create_project(actor, "Full", None).id
    empty = application.create_project(actor, "Empty", None).id
    placed_job = application.create_job(actor, "Placed").id
    placed_task = application.create_task(actor, "Placed", None).id
    application.assign_job(actor, full, placed_job)
    application.assign_task(actor, full, placed_task)
    return Scene(
        actor=actor,
        full=full,
        empty=empty,
        placed_job=placed_job,
        free_job=application.create_job(actor, "Free").id,
        placed_task=placed_task,
        free_task=application.create_task(actor, "Free", None).id,
    )


def run_interleaved(
    first: ProjectsApplication,
    second: ProjectsApplication,
    command: Step,
    intruder: Step,
    scene: Scene,
    before_load: int,
) -> tuple[Any, Any, bool]:
    """Run `command` on `first`, and `intruder` on `second` before load k.

    Returns both outcomes (a result or the exception raised) and whether the
    intruder ran at all (a command with fewer loads leaves it out).
    """
    repository = first.repository
    original_get = repository.get
    loads = 0
    intruded: list[Any] = []

    def get(*args: Any, **kwargs: Any) -> Any:
        nonlocal loads
        loads += 1
        if loads == before_load:
            intruded.append(_outcome(lambda: intruder.run(second, scene)))
        return original_get(*args, **kwargs)

    repository.get = get  # type: ignore[method-assign]
    try:
        outcome = _outcome(lambda: command.run(first, scene))
    finally:
        repository.get = original_get  # type: ignore[method-assign]
    return outcome, intruded[0] if intruded else None, bool(intruded)


def _outcome(run: Callable[[], Any]) -> Any:
    try:
        return run()
    except Exception as error:
        return error


def answer_problems(
    step: Step, scene: Scene, outcome: Any, histories: dict[str, Any]
) -> list[str]:
    """What is wrong with one command's outcome, judged by the log."""
    if isinstance(outcome, ANSWERABLE):
        return []
    if isinstance(outcome, Exception):
        return [f"raised {outcome!r}, which the API answers with 500"]
    if not isinstance(outcome, ProjectView):
        return []
    history = histories[outcome.id]
    shown = (outcome.job_count, outcome.task_count)
    if shown != history.counts.get(outcome.version):
        return [
            f"answered {outcome.id} at version {outcome.version} with counts "
            f"{shown}; the log has {history.counts.get(outcome.version)} there"
        ]
    if step.member is not None:
        member = step.member(scene)
        if (member in history.members[outcome.version]) != step.member_in:
            where = "outside" if step.member_in else "inside"
            return [
                f"succeeded, yet answered {outcome.id} at version "
                f"{outcome.version}, when {member} was {where} it"
            ]
    return []


@pytest.mark.parametrize("command_name", list(COMMANDS))
def test_a_command_raced_by_another_process_at_any_load_keeps_the_rules(
    two_processes: tuple[Services, Services], command_name: str
) -> None:
    first, second = two_processes
    problems = []

    for intruder_name, intruder in COMMANDS.items():
        for before_load in range(1, 8):
            scene = set_the_scene(first)
            outcome, intruded, ran = run_interleaved(
                first.application,
                second.application,
                COMMANDS[command_name],
                intruder,
                scene,
                before_load,
            )
            if not ran:
                break

            histories = project_histories(events_of(first, [scene.full, scene.empty]))
            for who, step, result in (
                ("command", COMMANDS[command_name], outcome),
                ("intruder", intruder, intruded),
            ):
                for problem in answer_problems(step, scene, result, histories):
                    problems.append(
                        f"{intruder_name!r} before load {before_load}: {who} {problem}"
                    )

    state = fold(logged_events(first))
    assert problems == []
    assert state.problems == []
    assert read_model_problems(state, read_model_rows(first)) == []
