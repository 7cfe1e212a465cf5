"""Hash-chained aggregates: every event records the command context and its place in the chain.

Shared by the tenant and its provisioning record. A handler calls ``trigger(Event, ctx,
**fields)``: the event is stamped with the instant, actor, partner and reason of that
context, applied (its ``apply()`` only assigns state) and sealed with its hash.
"""

from __future__ import annotations

import dataclasses
import inspect
from datetime import datetime
from typing import Any, ClassVar

from eventsourcing.domain import Aggregate, CanInitAggregate
from eventsourcing.utils import register_topic

from core.aggregates.chain import GENESIS, event_hash
from core.aggregates.context import CommandContext
from core.codec import stable_topic, stored_state
from core.errors import ConflictError, ValidationFailed


class _ChainedEventType(type(Aggregate.Event)):  # type: ignore[misc]
    """The metaclass of chained events: each class is a frozen dataclass as the library's metaclass makes it, without
    the functions that metaclass has ``dataclass(frozen=True)`` compile from source for every class.

    Those are ``__init__``, ``__repr__``, ``__eq__``, ``__hash__``, ``__setattr__`` and ``__delattr__``, six per class
    and 414 for the 69 event classes: with the collection of their fields, about 45 ms of the 75 ms it took to import
    the tenant's concepts, a quarter of a one-call ``simulate``. ``ChainedEvent`` has one of each for all (below). An
    event class that only adds fields to one chained base (all but the three creation events) gets its
    ``__dataclass_fields__`` here, the way ``dataclasses`` records them (``dataclasses.fields``, ``replace`` and
    ``asdict`` read them); any other is left to ``dataclasses``. A class with a field that has a default, a factory or
    flags, or an InitVar (none so far, but a default is the usual way to grow an event), gets the dataclass's own
    methods, which honour them, as the library's metaclass would make it. The fields, their order, frozen instances,
    and what equality, hashing and ``repr`` give are unchanged (``tests/core/test_event_classes.py`` checks every class).
    """

    def __new__(mcs, name: str, bases: tuple[type, ...], namespace: dict[str, Any]) -> Any:
        documented = bool(namespace.get("__doc__"))
        if not documented:  # a dataclass writes "Name(field, ...)" by way of inspect.signature: the same, directly
            namespace["__doc__"] = name
        cls = type.__new__(mcs, name, bases, namespace)
        if _beyond_plain_fields(cls, bases, namespace):
            cls = dataclasses.dataclass(frozen=True)(cls)
        elif not _added_fields(cls, bases, namespace):
            cls = dataclasses.dataclass(frozen=True, init=False, repr=False, eq=False)(cls)
            if not any(isinstance(base, _ChainedEventType) for base in bases):  # ChainedEvent: frozen for every subclass
                cls.__setattr__ = _frozen_setattr
                cls.__delattr__ = _frozen_delattr
        cls._field_names = tuple(field.name for field in dataclasses.fields(cls))
        if not documented:
            cls.__doc__ = f"{name}({', '.join(cls._field_names)})"
        return cls

    @property
    def __signature__(cls) -> inspect.Signature:
        """What the library's metaclass sets on each event class: the fields, as ``__init__`` takes them."""
        return inspect.Signature([inspect.Parameter(field.name, inspect.Parameter.POSITIONAL_OR_KEYWORD)
                                  for field in dataclasses.fields(cls)])


def _beyond_plain_fields(cls: Any, bases: tuple[type, ...], namespace: dict[str, Any]) -> bool:
    """Whether a field of the class, or one it inherits, has a default (its own value or a class attribute of that
    name), a default factory or flags, or is an InitVar or keyword-only: what the shared methods do not know of."""
    for name, annotation in namespace.get("__annotations__", {}).items():
        text = str(annotation)
        if "ClassVar" not in text and ("InitVar" in text or "KW_ONLY" in text or hasattr(cls, name)):
            return True
    for base in bases:
        for field in getattr(base, "__dataclass_fields__", {}).values():
            if "ClassVar" in str(field.type):
                continue
            if (field.default is not dataclasses.MISSING or field.default_factory is not dataclasses.MISSING
                    or not (field.init and field.repr and field.compare) or field.hash is not None
                    or field.kw_only is True or "InitVar" in str(field.type)):
                return True
    return False


def _added_fields(cls: Any, bases: tuple[type, ...], namespace: dict[str, Any]) -> bool:
    """Record the fields of a class that adds plain fields to one chained base (``_beyond_plain_fields`` has ruled out
    the others but ClassVars), as ``dataclasses`` would: its base's, then its own in order; ``False`` for any other
    class, left to ``dataclasses``."""
    annotations = namespace.get("__annotations__", {})
    if (len(bases) != 1 or not isinstance(bases[0], _ChainedEventType)
            or any("ClassVar" in str(annotation) for annotation in annotations.values())):
        return False
    fields = dict(bases[0].__dataclass_fields__)
    for name, annotation in annotations.items():
        field = dataclasses.field()
        # ``_FIELD`` marks a field (not a ClassVar or InitVar) for ``dataclasses.fields``: the one private name used.
        field.name, field.type, field._field_type = name, annotation, dataclasses._FIELD  # type: ignore[attr-defined]
        fields[name] = field
    cls.__dataclass_fields__ = fields
    cls.__dataclass_params__ = bases[0].__dataclass_params__  # type: ignore[attr-defined]
    cls.__match_args__ = tuple(field.name for field in dataclasses.fields(cls))
    return True


def _frozen_setattr(self: Any, name: str, value: Any) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_delattr(self: Any, name: str) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")


class ChainedEvent(Aggregate.Event, metaclass=_ChainedEventType):
    """Fields every chained event carries besides its own."""

    _field_names: ClassVar[tuple[str, ...]]  # the dataclass fields in order (set by the metaclass: not a field)
    actor: str
    partner: str | None
    reason: str | None
    prev_hash: str
    hash: str

    def __init__(self, *args: Any, **fields: Any) -> None:
        names = self._field_names
        if args:
            if len(args) > len(names):
                raise TypeError(f"{type(self).__qualname__}() takes {len(names)} arguments but {len(args)} were given")
            for name, value in zip(names, args, strict=False):  # fewer arguments than names: the rest by keyword
                if name in fields:
                    raise TypeError(f"{type(self).__qualname__}() got multiple values for argument {name!r}")
                fields[name] = value
        try:
            state = {name: fields[name] for name in names}
        except KeyError:
            missing = ", ".join(repr(name) for name in names if name not in fields)
            raise TypeError(f"{type(self).__qualname__}() missing required arguments: {missing}") from None
        if len(state) != len(fields):
            unexpected = next(name for name in fields if name not in state)
            raise TypeError(f"{type(self).__qualname__}() got an unexpected keyword argument {unexpected!r}")
        object.__setattr__(self, "__dict__", state)
        self.__post_init__()

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self.__dict__ == other.__dict__

    # In the fields' order, as a dataclass's: a decoded event's ``__dict__`` is in the order of its stored JSON.
    def __hash__(self) -> int:
        state = self.__dict__
        return hash(tuple([state[name] for name in self._field_names]))

    def __repr__(self) -> str:
        state = self.__dict__
        fields = ", ".join(f"{name}={state[name]!r}" for name in self._field_names)
        return f"{type(self).__qualname__}({fields})"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # eventsourcing registers the topics of events it finds on an aggregate class; these
        # events live in their concepts' modules instead, so each registers its own stored name.
        topic = cls.__dict__.get("TOPIC")
        if topic:
            register_topic(topic, cls)

    def mutate(self, aggregate: Any) -> Any:
        # The reader's check of the chain (``core/integrity.py``): the next version, linked to the head before it. A stored
        # event's hash was checked against its content when it was decoded (``core/codec.py``).
        if aggregate is None:
            if self.originator_version != 1 or self.prev_hash != GENESIS or not isinstance(self, CanInitAggregate):
                raise _out_of_chain(self, 0, GENESIS)
        elif self.originator_version != aggregate.version + 1 or self.prev_hash != aggregate.head:
            raise _out_of_chain(self, aggregate.version, aggregate.head)
        aggregate = super().mutate(aggregate)
        aggregate.head = self.hash
        return aggregate

    def warning_texts(self) -> tuple[str, ...]:
        """What this change was recorded with a warning about, in words (none unless the event says)."""
        return ()


_TRIGGERED: set[type] = set()
"""Event classes ``Chained.trigger`` has made once through the library's ``trigger_event``, whose checks they passed."""


class EarlyInstantError(ConflictError):
    """A change dated before the aggregate's last change: events are recorded in time order.

    With an instant the caller gave, that is bad input. With one read from the clock, another writer stored a later
    change after the reading (``CallrouteApp.execute`` reads the clock again and retries), or this clock is behind
    that writer's: ``at`` and ``last_change`` say which instants.
    """

    def __init__(self, at: datetime, last_change: datetime) -> None:
        super().__init__(f"the instant {at.isoformat()} is before the last change ({last_change.isoformat()}); "
                         "events are recorded in time order", field="at")
        self.at = at
        self.last_change = last_change


class Chained:
    """Mixin for an eventsourcing ``Aggregate`` whose events are ``ChainedEvent``s."""

    head: str

    def check_writable(self, ctx: CommandContext, *, while_closed: bool = False) -> None:
        """Refuse a change the aggregate cannot take now: closed (unless ``while_closed``), or dated before its last change."""
        if not while_closed:
            self.check_open()
        self._check_instant(ctx.at)

    def check_open(self) -> None:
        """Raise if the aggregate accepts no more changes."""
        self._check_open()

    def _check_open(self) -> None:
        """Raise if the aggregate accepts no more changes."""

    def trigger(self, event_class: type, ctx: CommandContext, **fields: Any) -> None:
        """Record ``event_class(**fields)`` under ``ctx``: stamped, applied, and sealed into the chain."""
        if event_class not in _TRIGGERED:
            # The first time, by the library's ``trigger_event``, which also checks the class (its explicit topic).
            self.trigger_event(  # type: ignore[attr-defined]
                event_class,
                timestamp=ctx.at,
                actor=ctx.actor.principal,
                partner=ctx.actor.partner,
                reason=ctx.reason,
                prev_hash=self.head,
                hash="",
                **fields,
            )
            if getattr(type(self), "TOPIC", None):  # the library checked the class's topic (it does for these aggregates)
                _TRIGGERED.add(event_class)
            self._seal(self.pending_events[-1])  # type: ignore[attr-defined]
            return
        # Then the same steps without the checks and the copies of the fields (about 1.5 us an event).
        at = ctx.at
        try:
            new_event = event_class(
                originator_id=self.id,  # type: ignore[attr-defined]
                originator_version=self.version + 1,  # type: ignore[attr-defined]
                timestamp=at if at is not None else event_class.create_timestamp(),  # type: ignore[attr-defined]
                actor=ctx.actor.principal,
                partner=ctx.actor.partner,
                reason=ctx.reason,
                prev_hash=self.head,
                hash="",
                **fields,
            )
        except TypeError as exc:
            msg = f"Can't construct event {event_class}: {exc}"
            raise TypeError(msg) from None
        new_event.mutate(self)
        self.pending_events.append(new_event)  # type: ignore[attr-defined]
        self._seal(new_event)

    def _seal(self, new_event: Any) -> None:
        # The hash's sorted JSON encoding of the fields as they are is byte for byte that of their
        # ``msgspec.to_builtins`` form (structs and dicts alike sorted by key), without the copy.
        state = stored_state(new_event)
        del state["hash"]
        digest = event_hash(stable_topic(type(new_event)), self._id_text(), new_event.originator_version, state)
        object.__setattr__(new_event, "hash", digest)
        self.head = digest

    def _id_text(self) -> str:
        """The aggregate id as the chain hashes it, formatted once (``str(UUID)`` is not free, and every event needs it)."""
        text = self.__dict__.get("_id_str")
        if text is None:
            text = self.__dict__["_id_str"] = str(self.id)  # type: ignore[attr-defined]
        return text

    def _check_instant(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValidationFailed("the instant of a change must carry a time zone", field="at")
        if at < self.modified_on:  # type: ignore[attr-defined]
            raise EarlyInstantError(at, self.modified_on)  # type: ignore[attr-defined]


def _out_of_chain(event: Any, version: int, head: str) -> Exception:
    """``StoreIntegrityError`` for ``event`` applied after ``version`` (whose hash is ``head``): a gap, or a broken link."""
    from core.integrity import broken, gap

    if event.originator_version != version + 1:
        if event.originator_version <= version:
            return broken(event.originator_id, event.originator_version, f"version {event.originator_version} is stored "
                                                                        f"again after version {version}")
        return gap(event.originator_id, version + 1, event.originator_version)
    if version == 0 and not isinstance(event, CanInitAggregate):
        return broken(event.originator_id, 1, f"the first stored event is a {stable_topic(type(event))}, not a creation")
    return broken(event.originator_id, event.originator_version,
                  f"the stored {stable_topic(type(event))} does not link to the hash of version {version} "
                  "(rows swapped or replaced, or an edit re-hashed)")


def replay(event: Any, aggregate: Any) -> Any:
    """Apply a stored event to ``aggregate`` (``None`` for a creation event); the aggregate after it."""
    return event.mutate(aggregate)
