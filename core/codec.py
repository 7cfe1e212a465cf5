"""The msgspec mapper: events stored as JSON under explicit stable type names.

eventsourcing's own mapper stores the Python class path as the topic and JSON-encodes
with its transcoder; this one stores each event under its ``TOPIC`` (``callroute/...``,
registered once, so renaming or moving a class never breaks history), encodes the
event's fields with msgspec, and decodes them back into typed values with
``msgspec.convert`` after upcasting the raw dict.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import msgspec
from eventsourcing.persistence import Mapper, MapperDeserialisationError, StoredEvent, Transcoder
from eventsourcing.utils import resolve_topic

_encoder = msgspec.json.Encoder()
_raw_decoder = msgspec.json.Decoder()


class MsgspecTranscoder(Transcoder):
    """JSON bytes <-> builtin values with msgspec (the mapper does the typing)."""

    def encode(self, obj: Any) -> bytes:
        return _encoder.encode(obj)

    def decode(self, data: bytes) -> Any:
        return _raw_decoder.decode(data)


class MsgspecMapper(Mapper):
    """Maps domain events to stored events and back, by explicit topic and with msgspec."""

    def __init__(self, transcoder: Transcoder | None = None, compressor: Any = None, cipher: Any = None) -> None:
        super().__init__(transcoder or MsgspecTranscoder(), compressor=compressor, cipher=cipher)

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        topic = stable_topic(type(domain_event))
        state = stored_state(domain_event)
        data = self.transcoder.encode(state)
        if self.compressor:
            data = self.compressor.compress(data)
        if self.cipher:
            data = self.cipher.encrypt(data)
        return StoredEvent(
            originator_id=domain_event.originator_id,
            originator_version=domain_event.originator_version,
            topic=topic,
            state=data,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        cls = resolve_topic(stored_event.topic)
        try:
            state = self.decode_raw(stored_event.state)
            from_version = state.pop("class_version", 1)
            class_version = getattr(cls, "class_version", 1)
            while from_version < class_version:
                getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(state)
                from_version += 1
            state["originator_id"] = stored_event.originator_id
            state["originator_version"] = stored_event.originator_version
            return msgspec.convert(state, cls)
        except (msgspec.ValidationError, msgspec.DecodeError, KeyError, TypeError, ValueError) as exc:
            msg = (
                f"cannot decode stored event {stored_event.topic!r} version "
                f"{stored_event.originator_version} of {stored_event.originator_id}: {exc}"
            )
            raise MapperDeserialisationError(msg) from exc

    def decode_raw(self, data: bytes) -> dict[str, Any]:
        """The stored fields of an event as plain JSON values, before any upcasting."""
        return self.transcoder.decode(self.decode_raw_bytes(data))

    def decode_raw_bytes(self, data: bytes) -> bytes:
        """The stored JSON of an event, decrypted and decompressed."""
        if self.cipher:
            data = self.cipher.decrypt(data)
        if self.compressor:
            data = self.compressor.decompress(data)
        return data


@cache
def stable_topic(cls: type) -> str:
    """The explicit stored name of an event class; refuses a class that would inherit another's."""
    topic = getattr(cls, "TOPIC", None)
    if not topic or resolve_topic(topic) is not cls:
        msg = f"{cls.__qualname__} has no explicit TOPIC of its own; every stored type needs a stable name"
        raise TypeError(msg)
    return topic


def stored_state(domain_event: Any) -> dict[str, Any]:
    """The fields an event stores: everything but the originator id and version."""
    state = dict(vars(domain_event))
    del state["originator_id"], state["originator_version"]
    class_version = getattr(type(domain_event), "class_version", 1)
    if class_version > 1:
        state["class_version"] = class_version
    return state
