"""JSON answers written by orjson.

Flask's own provider spends more time writing an answer than the service
spends deciding many commands. This one writes the same values (timestamps
and dataclasses still go through Flask's conversion) many times faster; only
the bytes differ: keys keep their order and text is sent as UTF-8. What
orjson cannot write, the standard library does.
"""

from __future__ import annotations

from typing import Any, cast

import orjson
from flask import Response
from flask.json.provider import DefaultJSONProvider

_OPTIONS = (
    orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
    | orjson.OPT_NON_STR_KEYS
)


class FastJSONProvider(DefaultJSONProvider):
    """Flask's JSON provider, with orjson doing the writing and the reading."""

    sort_keys = False

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return self._encode(obj).decode()

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return orjson.loads(s)

    def response(self, *args: Any, **kwargs: Any) -> Response:
        obj = self._prepare_response_obj(args, kwargs)
        body = self._encode(obj) + b"\n"
        answer = cast(type[Response], self._app.response_class)
        return answer(body, mimetype=self.mimetype)

    def _encode(self, obj: Any) -> bytes:
        try:
            return orjson.dumps(obj, default=self.default, option=_OPTIONS)
        except TypeError:
            # Beyond orjson: integers past 64 bits (a page number as long as
            # a client likes), which the standard library writes.
            return super().dumps(obj).encode()
