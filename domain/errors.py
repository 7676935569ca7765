"""Errors raised when a command would break a rule of the domain."""


class DomainError(Exception):
    """A command was refused because it would break a rule of the domain."""


class InvalidValueError(DomainError):
    """A value given to a command is not acceptable, for example an empty name."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class ProjectDeletedError(DomainError):
    """The project has been deleted, so nothing more can happen to it."""

    def __init__(self, project_id: str) -> None:
        super().__init__(f"{project_id} has been deleted")
        self.project_id = project_id


class AlreadyAssignedError(DomainError):
    """A job or task is in another project and must be unassigned first."""

    def __init__(self, resource_id: str, project_id: str) -> None:
        super().__init__(f"{resource_id} is already assigned to project {project_id}")
        self.resource_id = resource_id
        self.project_id = project_id


class NotAssignedError(DomainError):
    """A job or task is not in the project it was asked to leave."""

    def __init__(self, resource_id: str, project_id: str) -> None:
        super().__init__(f"{resource_id} is not assigned to project {project_id}")
        self.resource_id = resource_id
        self.project_id = project_id


class TaskArchivedError(DomainError):
    """An archived task cannot be added to a project."""

    def __init__(self, task_id: str) -> None:
        super().__init__(f"{task_id} is archived and cannot be added to a project")
        self.task_id = task_id


class WorkspaceMismatchError(DomainError):
    """Two resources of different workspaces were put together."""

    def __init__(self, resource_id: str, workspace_id: str) -> None:
        super().__init__(f"{resource_id} does not belong to workspace {workspace_id}")
        self.resource_id = resource_id
        self.workspace_id = workspace_id


class IncompleteMembersError(DomainError):
    """A project cannot be deleted without releasing every one of its members."""

    def __init__(self, project_id: str) -> None:
        super().__init__(f"{project_id} cannot be deleted without all its members")
        self.project_id = project_id
