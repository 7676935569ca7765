"""Errors of the application layer; the API maps each class to one HTTP status."""


class ApplicationError(Exception):
    """A request could not be carried out."""


class NotFoundError(ApplicationError):
    """No such resource in the caller's workspace (or none at all)."""

    def __init__(self, kind: str, resource_id: str, message: str | None = None) -> None:
        super().__init__(message or f"{kind.capitalize()} {resource_id} not found")
        self.kind = kind
        self.resource_id = resource_id


class ConflictError(ApplicationError):
    """The request contradicts the current state, such as a job in another project."""


class RuleViolationError(ApplicationError):
    """The request breaks a rule of the domain, such as adding an archived task."""


class InvalidInputError(ApplicationError):
    """A value in the request is not acceptable."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class PreconditionFailedError(ApplicationError):
    """The resource is no longer at the version the client said it expects."""


class ContentionError(ApplicationError):
    """Too many concurrent writers kept changing the same resources; retry later."""
