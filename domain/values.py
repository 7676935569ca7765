"""Rules for the free-text values that people give to projects, jobs and tasks."""

from domain.errors import InvalidValueError

NAME_MAX_LENGTH = 200
DESCRIPTION_MAX_LENGTH = 10_000


def _check_text(field: str, value: str) -> None:
    if "\x00" in value:
        raise InvalidValueError(field, "must not contain NUL characters")


def clean_name(value: str, field: str = "name") -> str:
    """Return the name trimmed; it must then be 1 to 200 characters long."""
    trimmed = value.strip()
    _check_text(field, trimmed)
    if not trimmed:
        raise InvalidValueError(field, "must not be empty")
    if len(trimmed) > NAME_MAX_LENGTH:
        raise InvalidValueError(
            field, f"must be at most {NAME_MAX_LENGTH} characters long"
        )
    return trimmed


def clean_description(value: str | None, field: str = "description") -> str | None:
    """Return the description trimmed (at most 10,000 characters), or None."""
    if value is None:
        return None
    trimmed = value.strip()
    _check_text(field, trimmed)
    if len(trimmed) > DESCRIPTION_MAX_LENGTH:
        raise InvalidValueError(
            field, f"must be at most {DESCRIPTION_MAX_LENGTH} characters long"
        )
    return trimmed
