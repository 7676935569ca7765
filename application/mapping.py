"""Turning stored events back into domain events, quickly.

Every load, feed page, export and replay decodes stored events, so the
library's general mapper is replaced by one that does the same for this
service's events with less work per event: the JSON is parsed by orjson, and
only values that hold an encoded type (a timestamp, a set) are looked at
again; an event class's upcasting needs are found once per topic.
"""

from __future__ import annotations

from typing import Any

import orjson
from eventsourcing.persistence import (
    JSONTranscoder,
    Mapper,
    MapperDeserialisationError,
    StoredEvent,
    TranscodingNotRegisteredError,
)
from eventsourcing.utils import resolve_topic

# Times and sets are left to the library's transcodings, as its encoder does.
_ENCODE_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


class FastJSONTranscoder(JSONTranscoder):
    """The library's JSON transcoder, with orjson doing the writing and reading.

    What is stored does not change: for the values events hold (text,
    numbers, times, sets, lists and objects of them) orjson writes the same
    bytes as the library's compact encoder, and whatever orjson will not
    write (an integer past 64 bits) goes to the library's.
    """

    def encode(self, obj: Any) -> bytes:
        try:
            return orjson.dumps(obj, default=self._encode_obj, option=_ENCODE_OPTIONS)
        except TypeError:
            return super().encode(obj)

    def decode(self, data: bytes) -> Any:
        return self._revive(orjson.loads(data))

    def _revive(self, value: Any) -> Any:
        if type(value) is dict:
            if len(value) == 2 and "_type_" in value and "_data_" in value:
                try:
                    transcoding = self.names[value["_type_"]]
                except KeyError:
                    msg = f"no transcoding is registered as {value['_type_']!r}"
                    raise TranscodingNotRegisteredError(msg) from None
                return transcoding.decode(self._revive(value["_data_"]))
            for name, item in value.items():
                if type(item) is dict or type(item) is list:
                    value[name] = self._revive(item)
            return value
        if type(value) is list:
            return [
                self._revive(item) if type(item) is dict or type(item) is list else item
                for item in value
            ]
        return value


class EventMapper(Mapper[str]):
    """The library's mapper for events with text ids, minus per-event look-ups.

    It neither encrypts nor compresses, which is what the service configures.
    """

    def __init__(self, transcoder: JSONTranscoder) -> None:
        super().__init__(transcoder=transcoder)
        self._classes: dict[str, tuple[type[Any], int]] = {}

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        topic = stored_event.topic
        known = self._classes.get(topic)
        if known is None:
            cls = resolve_topic(topic)
            known = self._classes[topic] = (cls, getattr(cls, "class_version", 1))
        cls, class_version = known
        try:
            state: dict[str, Any] = self.transcoder.decode(stored_event.state)
        except Exception as error:
            msg = (
                f"cannot decode the stored event {topic!r} of "
                f"{stored_event.originator_id} at version "
                f"{stored_event.originator_version}: {error}"
            )
            raise MapperDeserialisationError(msg) from error
        state["originator_id"] = str(stored_event.originator_id)
        state["originator_version"] = stored_event.originator_version
        from_version = state.pop("class_version", 1)
        while from_version < class_version:
            getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(state)
            from_version += 1
        event = object.__new__(cls)
        object.__setattr__(event, "__dict__", state)
        return event
