"""Stored events decoded into the aggregates' event objects in one typed pass.

The application's mapper decodes an event's JSON into plain values, then converts
them into the event class (``msgspec.convert``): two passes, about 4 us for a divert.
A projection that replays every event of a store decodes each one with a typed
msgspec decoder built once per event class from its dataclass fields (about 1.5 us),
and makes the event object the way eventsourcing's own mapper does (``object.__new__``
and its ``__dict__``). Classes with an upcaster (``class_version`` above 1) and any
event the typed decoder refuses go through the mapper, which upcasts them, converts a
value stored under older value rules without them (``core.codec.lenient_convert``: the
typed decoders check today's rules, and stored events are kept forever), or names the
stored event in its error. A test checks both paths give equal events.

``fields`` stops half-way: the stored fields as a struct (``Stored<Event>``), which is
all the timeline needs; ``event`` makes the event object from them later, only for the
events the projection applies.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any
from uuid import UUID

import msgspec
from eventsourcing.utils import resolve_topic

_ORIGINATOR = ("originator_id", "originator_version")


class EventReader:
    """Decodes stored events (or notifications) of one application's mapper."""

    def __init__(self, mapper: Any) -> None:
        self.mapper = mapper
        self._raw = mapper.decode_raw_bytes if mapper.cipher or mapper.compressor else None
        self._typed: dict[str, tuple[type, msgspec.json.Decoder[Any]] | None] = {}
        self.classes: dict[type, type] = {}
        """``Stored<Event>`` struct type → its event class."""

    def decode(self, stored: Any) -> Any:
        """The domain event of ``stored`` (a stored event or a notification), equal to the mapper's."""
        fields = self.fields(stored)
        if type(fields) in self.classes:
            return self.event(fields, stored.originator_id, stored.originator_version)
        return fields

    def fields(self, stored: Any) -> Any:
        """The stored fields of ``stored`` as a ``Stored<Event>`` struct, or the mapper's event where no typed decoder will do
        (a class with an upcaster, or a stored value today's value rules refuse: the mapper converts it leniently)."""
        topic = stored.topic
        try:
            typed = self._typed[topic]
        except KeyError:
            typed = self._typed[topic] = self._typed_decoder(resolve_topic(topic))
        if typed is None:
            return self.mapper.to_domain_event(stored)
        try:
            return typed[1].decode(stored.state if self._raw is None else self._raw(stored.state))
        except (msgspec.ValidationError, msgspec.DecodeError):
            # A value stored under older rules (the mapper converts it leniently), or not an event of this shape (it raises,
            # naming the stored event).
            return self.mapper.to_domain_event(stored)

    def typed_decode(self, topic: str) -> Any:
        """``fields`` of an event of ``topic`` straight from its stored bytes, or ``None`` where ``fields`` must go round.

        The decoder raises ``msgspec.DecodeError`` (``ValidationError`` is one) on bytes it cannot read or a value today's
        rules refuse; ``fields`` then decodes the stored event through the mapper, which converts such a value leniently or
        names the stored event in its error.
        """
        typed = self._typed.get(topic)
        if topic not in self._typed:
            typed = self._typed[topic] = self._typed_decoder(resolve_topic(topic))
        return typed[1].decode if typed is not None and self._raw is None else None

    def event(self, fields: Any, originator_id: Any, originator_version: int) -> Any:
        """The domain event of stored ``fields`` (from ``fields``) of the aggregate ``originator_id``."""
        state = msgspec.structs.asdict(fields)
        state["originator_id"] = originator_id if isinstance(originator_id, UUID) else UUID(str(originator_id))
        state["originator_version"] = originator_version
        event = object.__new__(self.classes[type(fields)])
        object.__setattr__(event, "__dict__", state)
        return event

    def _typed_decoder(self, cls: type) -> tuple[type, msgspec.json.Decoder[Any]] | None:
        typed = _typed_decoder(cls)
        if typed is not None:
            self.classes[typed[1].type] = cls
        return typed


def _typed_decoder(cls: type) -> tuple[type, msgspec.json.Decoder[Any]] | None:
    """A typed decoder of ``cls``'s stored fields, or ``None`` where only the mapper will do."""
    if getattr(cls, "class_version", 1) != 1 or not dataclasses.is_dataclass(cls):
        return None
    try:
        hints = typing.get_type_hints(cls)
        fields: list[Any] = []
        for field in dataclasses.fields(cls):
            if field.name in _ORIGINATOR:
                continue
            if field.default is not dataclasses.MISSING:
                fields.append((field.name, hints[field.name], field.default))
            elif field.default_factory is not dataclasses.MISSING:
                fields.append((field.name, hints[field.name], msgspec.field(default_factory=field.default_factory)))
            else:
                fields.append((field.name, hints[field.name]))
        stored = msgspec.defstruct(f"Stored{cls.__name__}", fields, kw_only=True, gc=False)
        return cls, msgspec.json.Decoder(stored)
    except (NameError, TypeError):  # a type msgspec cannot decode: the mapper's generic path
        return None
