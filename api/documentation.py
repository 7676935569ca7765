"""What the OpenAPI document says beyond what marshmallow's fields can state.

A schema may name extra JSON Schema keywords in `Meta.openapi`, such as
`minProperties` for a body that must name at least one field; they are added
to the schema's component as it is registered.
"""

from __future__ import annotations

from typing import Any

from apispec import BasePlugin


class SchemaExtras(BasePlugin):
    """Adds each schema's `Meta.openapi` keywords to its component."""

    def schema_helper(
        self, name: str, definition: dict[str, Any], **kwargs: Any
    ) -> dict[str, Any] | None:
        meta = getattr(kwargs.get("schema"), "Meta", None)
        extras: dict[str, Any] = dict(getattr(meta, "openapi", {}))
        return extras or None
