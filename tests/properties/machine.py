"""The state machine that drives the service with random sequences of commands.

Every command is sent through a driver (the application, or the HTTP API)
and its answer compared with what the model says; after every step the read
model rows and the lists of both workspaces are compared with the model too,
and the invariants are checked:

- a job or task is in at most one project;
- every count equals the members;
- nothing points at a deleted project;
- every list is in the exact order: `updatedAt` descending, then `id`.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from hypothesis import event
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
)

from infrastructure.wiring import Services
from tests.conftest import Member, new_member
from tests.properties.drivers import Answer, Driver, Listing, Resource, list_all
from tests.properties.model import (
    CREATED,
    Expected,
    Model,
    ModelMember,
    ModelProject,
    Moment,
    clean_description,
    clean_name,
)

KINDS = ("jobs", "tasks")

# Ids that name nothing: well formed, of the wrong kind, or not ids at all.
GHOST_IDS = (
    "proj_00000000000000000000000000",
    "job_00000000000000000000000000",
    "task_00000000000000000000000000",
    "proj_",
    "ws_00000000000000000000000000",
)

plain_names = st.text(alphabet="abcxyz019 -_é", min_size=1, max_size=10).filter(
    lambda text: text.strip() != ""
)
names = st.one_of(
    plain_names,
    plain_names,
    plain_names.map(lambda text: f" \t{text}\n "),
    st.sampled_from(
        ["", "   ", "\t\n", "x" * 201, "na\x00me", "y" * 200, f" {'z' * 200} "]
    ),
)
descriptions = st.one_of(
    st.none(),
    plain_names,
    st.sampled_from(["", "  ", "d" * 10_001, f" {'d' * 10_000} ", "a\x00b"]),
)


def now_millis() -> int:
    return time.time_ns() // 1_000_000


class RulesMachine(RuleBasedStateMachine):
    """Random sequences of every command, compared step by step with the model.

    Subclasses set `driver`, `services` and `body_first` before Hypothesis
    creates an instance (see `machine_for`).
    """

    driver: Driver
    services: Services
    body_first: bool
    tally: Counter[str]

    def __init__(self) -> None:
        super().__init__()
        self.tally["examples"] += 1
        self.model = Model(body_first=self.body_first)
        self.callers = [new_member(self.services), new_member(self.services)]
        self.touched: set[str] = set()

    # Choosing what to act on.

    def _caller(self, data: st.DataObject) -> Member:
        return data.draw(st.sampled_from(self.callers), label="caller")

    def _pick(self, data: st.DataObject, caller: Member, ids: list[str]) -> str:
        """An id: mostly the caller's own, sometimes another workspace's or none."""
        own = [
            resource_id
            for resource_id in ids
            if self._workspace_of(resource_id) == caller.actor.workspace_id
        ]
        # Hypothesis favours both ends of the list, so the caller's own ids
        # stand there; the others and the ghosts are there to be found too.
        others = [resource_id for resource_id in ids if resource_id not in own]
        choices = [*own * 3, *others, *GHOST_IDS, *own * 3]
        return data.draw(st.sampled_from(choices), label="id")

    def _workspace_of(self, resource_id: str) -> str | None:
        found: ModelProject | ModelMember | None = self.model.projects.get(
            resource_id
        ) or self.model.members.get(resource_id)
        return None if found is None else found.workspace_id

    def _live_project_ids(self) -> list[str]:
        """Live projects mostly, deleted ones sometimes."""
        live = [p.id for p in self.model.projects.values() if not p.deleted]
        return live * 3 + [p.id for p in self.model.projects.values() if p.deleted]

    def _member_ids(self, kind: str) -> list[str]:
        return [m.id for m in self.model.members.values() if m.kind == kind]

    def _expected_version(self, data: st.DataObject, project_id: str) -> int | None:
        """No If-Match, the current version, or a stale one."""
        project = self.model.projects.get(project_id)
        current = 1 if project is None else project.version
        choice = data.draw(
            st.sampled_from(["none", "none", "current", "stale"]), label="If-Match"
        )
        if choice == "none":
            return None
        return current if choice == "current" else current + 1

    # Checking answers.

    def _check_status(
        self, answer: Answer, expected: Expected, command: str = "get"
    ) -> None:
        event(f"{command} answered {answer.status}")
        self.tally["commands"] += 1
        self.tally[f"{command} {answer.status}"] += 1
        assert answer.status == expected.status, (
            f"answered {answer.status} {answer.message!r}, "
            f"the model expects {expected.status}"
        )
        for named in expected.names:
            assert named in answer.message, (
                f"{answer.status} message {answer.message!r} does not name {named}"
            )

    def _check_time(self, moment: Moment, shown: int | None, what: str) -> None:
        assert shown is not None and moment.admits(shown), (
            f"{what} is {shown}, the model allows {moment}"
        )
        moment.pin(shown)

    def _check_project(self, shown: Resource, project: ModelProject) -> None:
        expected = {
            "id": project.id,
            "workspaceId": project.workspace_id,
            "name": project.name,
            "description": project.description,
            "createdAt": project.created_at,
            "jobCount": len(project.jobs),
            "taskCount": len(project.tasks),
        }
        assert {name: shown.get(name) for name in expected} == expected, shown
        if shown.get("version"):
            assert shown["version"] == project.version, (shown, project.version)
        self._check_time(
            project.updated_at, shown["updatedAt"], f"{project.id} updatedAt"
        )

    def _check_member(self, shown: Resource, member: ModelMember) -> None:
        expected: dict[str, Any] = {
            "id": member.id,
            "workspaceId": member.workspace_id,
            "name": member.name,
            "projectId": member.project_id,
            "createdAt": member.created_at,
        }
        if member.kind == "tasks":
            expected["description"] = member.description
            if member.archived_at is None:
                expected["archivedAt"] = None
            else:
                self._check_time(
                    member.archived_at, shown["archivedAt"], f"{member.id} archivedAt"
                )
                expected["archivedAt"] = shown["archivedAt"]
        assert {name: shown.get(name) for name in expected} == expected, shown
        self._check_time(
            member.updated_at, shown["updatedAt"], f"{member.id} updatedAt"
        )

    def _check_shown(self, kind: str, shown: Resource) -> None:
        if kind == "projects":
            self._check_project(shown, self.model.projects[shown["id"]])
        else:
            self._check_member(shown, self.model.members[shown["id"]])

    # Commands.

    @initialize()
    def start_with_two_projects_a_job_and_a_task_in_each_workspace(self) -> None:
        """Give every sequence something to work on from its first step."""
        for caller in [*self.callers, *self.callers]:
            answer = self.driver.create_project(caller, "Seed project", None)
            self._check_status(answer, CREATED, "create project")
            shown = answer.shown()
            self._check_project(
                shown,
                self.model.created_project(
                    shown["id"],
                    caller.actor.workspace_id,
                    "Seed project",
                    None,
                    shown["createdAt"],
                ),
            )
            if len(self.model.projects) > len(self.callers):
                continue
            for kind in KINDS:
                answer = self.driver.create_member(caller, kind, "Seed", None)
                self._check_status(answer, CREATED, f"create {kind}")
                shown = answer.shown()
                self._check_member(
                    shown,
                    self.model.created_member(
                        shown["id"],
                        kind,
                        caller.actor.workspace_id,
                        "Seed",
                        None,
                        shown["createdAt"],
                    ),
                )

    @rule(data=st.data(), name=names, description=descriptions)
    def create_project(
        self, data: st.DataObject, name: str, description: str | None
    ) -> None:
        caller = self._caller(data)

        before = now_millis()
        answer = self.driver.create_project(caller, name, description)
        after = now_millis()

        valid = clean_name(name) is not None and clean_description(description)[0]
        self._check_status(
            answer, CREATED if valid else Expected(400), "create project"
        )
        if valid:
            shown = answer.shown()
            assert before <= shown["createdAt"] <= after
            project = self.model.created_project(
                shown["id"],
                caller.actor.workspace_id,
                name,
                description,
                shown["createdAt"],
            )
            self._check_project(shown, project)

    @rule(data=st.data(), kind=st.sampled_from(KINDS), name=names)
    def create_member(self, data: st.DataObject, kind: str, name: str) -> None:
        caller = self._caller(data)
        description = data.draw(descriptions) if kind == "tasks" else None

        before = now_millis()
        answer = self.driver.create_member(caller, kind, name, description)
        after = now_millis()

        valid = clean_name(name) is not None and clean_description(description)[0]
        self._check_status(
            answer, CREATED if valid else Expected(400), f"create {kind}"
        )
        if valid:
            shown = answer.shown()
            assert before <= shown["createdAt"] <= after
            member = self.model.created_member(
                shown["id"],
                kind,
                caller.actor.workspace_id,
                name,
                description,
                shown["createdAt"],
            )
            self._check_member(shown, member)

    @rule(data=st.data(), name=st.none() | names, description=descriptions)
    def update_project(
        self, data: st.DataObject, name: str | None, description: str | None
    ) -> None:
        caller = self._caller(data)
        project_id = self._pick(data, caller, self._live_project_ids())
        description_given = data.draw(st.booleans(), label="description given")
        changes: dict[str, Any] = {} if name is None else {"name": name}
        if description_given:
            changes["description"] = description
        expected_version = self._expected_version(data, project_id)

        before = now_millis()
        answer = self.driver.update_project(
            caller, project_id, changes, expected_version
        )
        after = now_millis()

        expected = self.model.expect_update(
            caller.actor.workspace_id,
            project_id,
            name,
            description_given,
            description,
            expected_version,
        )
        self._check_status(answer, expected, "update project")
        if expected.succeeds:
            self.model.updated(
                project_id,
                name,
                description_given,
                description,
                Moment.between(before, after),
            )
            self._check_project(answer.shown(), self.model.projects[project_id])

    @rule(data=st.data())
    def delete_project(self, data: st.DataObject) -> None:
        caller = self._caller(data)
        project_id = self._pick(data, caller, self._live_project_ids())
        expected_version = self._expected_version(data, project_id)

        before = now_millis()
        answer = self.driver.delete_project(caller, project_id, expected_version)
        after = now_millis()

        expected = self.model.expect_delete(
            caller.actor.workspace_id, project_id, expected_version
        )
        self._check_status(answer, expected, "delete project")
        if expected.succeeds:
            assert answer.shown() == {"id": project_id, "deleted": True}
            self.touched.add(project_id)
            self.model.deleted(project_id, Moment.between(before, after))

    @rule(data=st.data())
    def assign_job(self, data: st.DataObject) -> None:
        self._assign(data, "jobs")

    @rule(data=st.data())
    def assign_task(self, data: st.DataObject) -> None:
        self._assign(data, "tasks")

    @rule(data=st.data())
    def unassign_job(self, data: st.DataObject) -> None:
        self._unassign(data, "jobs")

    @rule(data=st.data())
    def unassign_task(self, data: st.DataObject) -> None:
        self._unassign(data, "tasks")

    def _assign(self, data: st.DataObject, kind: str) -> None:
        caller = self._caller(data)
        project_id = self._pick(data, caller, self._live_project_ids())
        member_id = self._pick(data, caller, self._member_ids(kind))

        before = now_millis()
        answer = self.driver.assign(caller, kind, project_id, member_id)
        after = now_millis()

        expected = self.model.expect_assign(
            caller.actor.workspace_id, kind, project_id, member_id
        )
        self._check_status(answer, expected, f"assign {kind}")
        if expected.succeeds:
            self.touched.add(project_id)
            self.model.assigned(project_id, member_id, Moment.between(before, after))
            self._check_project(answer.shown(), self.model.projects[project_id])

    def _unassign(self, data: st.DataObject, kind: str) -> None:
        caller = self._caller(data)
        placed = [
            member.project_id
            for member in self.model.members.values()
            if member.kind == kind and member.project_id is not None
        ]
        project_id = self._pick(data, caller, placed or self._live_project_ids())
        in_project = [
            member.id
            for member in self.model.members.values()
            if member.kind == kind and member.project_id == project_id
        ]
        member_id = self._pick(data, caller, in_project or self._member_ids(kind))

        before = now_millis()
        answer = self.driver.unassign(caller, kind, project_id, member_id)
        after = now_millis()

        expected = self.model.expect_unassign(
            caller.actor.workspace_id, kind, project_id, member_id
        )
        self._check_status(answer, expected, f"unassign {kind}")
        if expected.succeeds:
            self.touched.add(project_id)
            self.model.unassigned(project_id, member_id, Moment.between(before, after))
            self._check_project(answer.shown(), self.model.projects[project_id])

    @rule(data=st.data())
    def archive_task(self, data: st.DataObject) -> None:
        caller = self._caller(data)
        task_id = self._pick(data, caller, self._member_ids("tasks"))

        before = now_millis()
        answer = self.driver.archive_task(caller, task_id)
        after = now_millis()

        expected = self.model.expect_archive(caller.actor.workspace_id, task_id)
        self._check_status(answer, expected, "archive task")
        if expected.succeeds:
            self.model.archived(task_id, Moment.between(before, after))
            self._check_member(answer.shown(), self.model.members[task_id])

    # Queries.

    @rule(data=st.data(), kind=st.sampled_from(("projects", *KINDS)))
    def get(self, data: st.DataObject, kind: str) -> None:
        caller = self._caller(data)
        ids = (
            list(self.model.projects) if kind == "projects" else self._member_ids(kind)
        )
        resource_id = self._pick(data, caller, ids)

        answer = self.driver.get(caller, kind, resource_id)

        workspace_id = caller.actor.workspace_id
        visible = (
            self.model.live_project(workspace_id, resource_id)
            if kind == "projects"
            else self.model.member(workspace_id, kind, resource_id)
        )
        if visible is None:
            self._check_status(answer, Expected(404, (resource_id,)))
        else:
            self._check_status(answer, Expected(200))
            self._check_shown(kind, answer.shown())

    @rule(
        data=st.data(),
        kind=st.sampled_from(("projects", *KINDS)),
        limit=st.integers(1, 3),
    )
    def page_through(self, data: st.DataObject, kind: str, limit: int) -> None:
        """Small pages, by cursor and by number, add up to the whole list."""
        caller = self._caller(data)
        whole = list_all(self.driver, caller, kind)

        by_cursor = self._pages(caller, kind, limit)
        by_number = []
        for page in range(1, len(whole.items) // limit + 2):
            found = self.driver.list_page(caller, kind, limit=limit, page=page)
            by_number.extend(item["id"] for item in found.items)

        ids = [item["id"] for item in whole.items]
        assert by_cursor == ids, (by_cursor, ids)
        assert by_number == ids, (by_number, ids)

    def _pages(self, caller: Member, kind: str, limit: int) -> list[str]:
        found: list[str] = []
        cursor = None
        while True:
            page: Listing = self.driver.list_page(
                caller, kind, limit=limit, cursor=cursor
            )
            assert len(page.items) <= limit
            found.extend(item["id"] for item in page.items)
            cursor = page.next_cursor
            if cursor is None:
                return found

    # After every step.

    @invariant()
    def read_models_match_the_model(self) -> None:
        """Every read-model row of both workspaces is what the model says."""
        self.tally["invariant checks"] += 1
        workspaces = [caller.actor.workspace_id for caller in self.callers]
        rows = _rows_of(self.services, workspaces)

        live = {p.id: p for w in workspaces for p in self.model.live_projects(w)}
        assert {row["id"] for row in rows["projects"]} == set(live)
        for row in rows["projects"]:
            project = live[row["id"]]
            self._check_project(_row_resource(row), project)
            assert row["version"] == project.version

        for kind in KINDS:
            members = {
                m.id: m for w in workspaces for m in self.model.members_of(w, kind)
            }
            assert {row["id"] for row in rows[kind]} == set(members)
            for row in rows[kind]:
                self._check_member(_row_resource(row), members[row["id"]])
                assert row["version"] == members[row["id"]].version
                assert row["project_id"] is None or row["project_id"] in live

        for row in rows["workspace_totals"]:
            workspace_id = row["workspace_id"]
            assert (row["projects"], row["jobs"], row["tasks"]) == (
                len(self.model.live_projects(workspace_id)),
                len(self.model.members_of(workspace_id, "jobs")),
                len(self.model.members_of(workspace_id, "tasks")),
            ), row

    @invariant()
    def lists_match_the_model_in_order(self) -> None:
        """Whole lists hold what the model holds, in the order the contract fixes."""
        for caller in self.callers:
            workspace_id = caller.actor.workspace_id
            expected_ids = {
                "projects": {p.id for p in self.model.live_projects(workspace_id)},
                "jobs": {m.id for m in self.model.members_of(workspace_id, "jobs")},
                "tasks": {m.id for m in self.model.members_of(workspace_id, "tasks")},
            }
            for kind, ids in expected_ids.items():
                listing = list_all(self.driver, caller, kind)
                self._check_listing(kind, listing, ids)

    @invariant()
    def each_member_is_in_at_most_one_project(self) -> None:
        """Members lists of touched projects partition the members, with counts."""
        seen: dict[str, str] = {}
        for project_id in sorted(self.touched):
            project = self.model.projects[project_id]
            caller = next(
                c for c in self.callers if c.actor.workspace_id == project.workspace_id
            )
            for kind in KINDS:
                listing = list_all(self.driver, caller, kind, project_id)
                self._check_listing(kind, listing, project.members(kind))
                for item in listing.items:
                    assert item["id"] not in seen, (item["id"], seen[item["id"]])
                    assert item["projectId"] == project_id
                    seen[item["id"]] = project_id
        self.touched.clear()

    def _check_listing(self, kind: str, listing: Listing, ids: set[str]) -> None:
        shown = [item["id"] for item in listing.items]
        assert set(shown) == ids, (kind, sorted(set(shown) ^ ids))
        assert len(shown) == len(ids) == listing.total, (kind, listing.total)
        for item in listing.items:
            self._check_shown(kind, item)
        in_order = sorted(
            listing.items,
            key=lambda item: (item["updatedAt"], item["id"].encode()),
            reverse=True,
        )
        assert shown == [item["id"] for item in in_order], (kind, shown)


def _rows_of(services: Services, workspaces: list[str]) -> dict[str, list[Any]]:
    rows = {}
    with services.database.reading() as session:
        for table in ("projects", "jobs", "tasks", "workspace_totals"):
            rows[table] = session.fetch(
                f"SELECT * FROM {table} "
                "WHERE workspace_id = :first OR workspace_id = :second",
                {"first": workspaces[0], "second": workspaces[1]},
            )
    return rows


def _row_resource(row: dict[str, Any]) -> Resource:
    """A read-model row in the API's field names."""
    names = {
        "id": "id",
        "workspace_id": "workspaceId",
        "name": "name",
        "description": "description",
        "project_id": "projectId",
        "created_at": "createdAt",
        "updated_at": "updatedAt",
        "archived_at": "archivedAt",
        "job_count": "jobCount",
        "task_count": "taskCount",
    }
    return {api: row[column] for column, api in names.items() if column in row}


def machine_for(
    driver: Driver, services: Services, *, body_first: bool
) -> type[RulesMachine]:
    """A RulesMachine class bound to a driver and the services it drives."""
    return type(
        "BoundRulesMachine",
        (RulesMachine,),
        {
            "driver": driver,
            "services": services,
            "body_first": body_first,
            "tally": Counter(),
        },
    )


def describe_tally(tally: Counter[str]) -> str:
    """The figures of a run: examples, commands, and how often each answer came."""
    outcomes = ", ".join(
        f"{name} x{count}"
        for name, count in sorted(tally.items())
        if name not in {"examples", "commands", "invariant checks"}
    )
    return (
        f"{tally['examples']} examples, {tally['commands']} commands, "
        f"{tally['invariant checks']} invariant checks; {outcomes}"
    )
