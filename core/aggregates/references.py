"""Referential integrity: every reference from one setting to another, found by walking the state.

A reference is ``(kind, key, where)``: ``("user", "2001", "group sales: members[0]")``.
Removal commands refuse while ``referrers`` finds any; commands that set a value refuse
while ``dangling`` finds a reference in it to something that does not exist.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Literal

import msgspec
import msgspec.inspect

from core.aggregates.groups import CloudMember, LocalMember, SipMember
from core.aggregates.targets import (
    AudioFileRef,
    ToExtension,
    ToGroup,
    ToIvr,
    ToQueue,
    ToRemote,
    ToScheme,
    ToVoicemail,
)

if TYPE_CHECKING:
    from core.aggregates.state import TenantState

Kind = Literal["user", "group", "queue", "ivr", "scheme", "audio", "display_number", "pbx"]
Ref = tuple[Kind, str, str]


REFERRING = (ToExtension, LocalMember, ToVoicemail, ToGroup, ToQueue, ToIvr, ToScheme, ToRemote, CloudMember, SipMember,
              AudioFileRef)


KEY_FIELD: dict[type, str] = {
    ToExtension: "extension", LocalMember: "extension", ToVoicemail: "extension", ToGroup: "group", ToQueue: "queue",
    ToIvr: "ivr", ToScheme: "scheme", ToRemote: "pbx", CloudMember: "pbx", SipMember: "pbx", AudioFileRef: "audio_file",
}
"""The field of each referring value that names what it refers to (for error paths)."""


_SCOPED: tuple[tuple[str, Kind], ...] = (("users", "user"), ("groups", "group"), ("queues", "queue"), ("ivrs", "ivr"),
                                        ("schemes", "scheme"))
"""A closure's scope fields and the kind of what each lists."""


_REF_KINDS: dict[type, tuple[Kind, str]] = {
    ToExtension: ("user", "extension"), LocalMember: ("user", "extension"), ToGroup: ("group", "group"),
    ToQueue: ("queue", "queue"), ToIvr: ("ivr", "ivr"), ToScheme: ("scheme", "scheme"), ToRemote: ("pbx", "pbx"),
    CloudMember: ("pbx", "pbx"), SipMember: ("pbx", "pbx"), AudioFileRef: ("audio", "audio_file"),
}
"""The kind each referring type (but ``ToVoicemail``, whose extension is optional) names, and the field that names it."""


def ref_of(value: object) -> tuple[Kind, str] | None:
    """What one referring value names, if anything."""
    cls = type(value)
    if cls is ToVoicemail:
        ext = value.extension  # type: ignore[attr-defined]
        return None if ext is None else ("user", ext)
    spec = _REF_KINDS.get(cls)
    if spec is not None:
        return (spec[0], getattr(value, spec[1]))
    if cls in _NOT_REFERRING:
        return None
    if not issubclass(cls, REFERRING):
        _NOT_REFERRING.add(cls)
        return None
    return _ref_of_subclass(value)


_NOT_REFERRING: set[type] = set()
"""Types met that refer to nothing (``ToNumber``, ``Off`` …)."""


def _ref_of_subclass(value: object) -> tuple[Kind, str] | None:
    match value:
        case ToExtension(extension=ext) | LocalMember(extension=ext):
            return ("user", ext)
        case ToVoicemail(extension=ext) if ext is not None:
            return ("user", ext)
        case ToGroup(group=key):
            return ("group", key)
        case ToQueue(queue=key):
            return ("queue", key)
        case ToIvr(ivr=key):
            return ("ivr", key)
        case ToScheme(scheme=key):
            return ("scheme", key)
        case ToRemote(pbx=pbx) | CloudMember(pbx=pbx) | SipMember(pbx=pbx):
            return ("pbx", pbx)
        case AudioFileRef(audio_file=name):
            return ("audio", name)
    return None


_LEAVES = frozenset({str, int, float, bool})
"""Types of values ``collect`` never looks into (nor into their subclasses, where it would find nothing either)."""

_STRUCT, _DICT, _SEQUENCE, _LEAF = range(4)

_Step = tuple[bool, int, tuple[str, ...]]
"""How ``collect`` treats a value of one type: whether it is one sought, what kind of container it is, which fields to look into."""

_PLANS: dict[tuple[type, ...], dict[type, _Step]] = {}
"""For each tuple of types ``collect`` was asked for, how it treats a value of each type it met (types, not instances, decide)."""


def collect(value: object, where: str, types: tuple[type, ...], found: list[tuple[object, str]]) -> list[tuple[object, str]]:
    """Append every instance of ``types`` inside ``value`` (depth first) with its path to ``found``.

    A struct's fields whose declared type can hold none of ``types`` (a name, a timeout, the
    opening hours when looking for destinations) are not looked into: values reach here
    validated against their declared types (the command schema, the stored events).
    """
    plan = _PLANS.get(types)
    if plan is None:
        plan = _PLANS.setdefault(types, {})
    _collect(value, where, types, found, plan)
    return found


def _collect(value: object, where: str, types: tuple[type, ...], found: list[tuple[object, str]],
             plan: dict[type, _Step]) -> None:
    step = plan.get(type(value))
    if step is None:
        step = plan[type(value)] = _step(type(value), types)
    sought, kind, fields = step
    if sought:
        found.append((value, where))
    if kind == _STRUCT:
        for field in fields:
            item = getattr(value, field)
            if item is not None and type(item) not in _LEAVES:
                _collect(item, f"{where}.{field}", types, found, plan)
    elif kind == _DICT:
        for key, item in value.items():  # type: ignore[attr-defined]
            _collect(item, f"{where}.{key}", types, found, plan)
    elif kind == _SEQUENCE:
        for index, item in enumerate(value):  # type: ignore[call-overload]
            _collect(item, f"{where}[{index}]", types, found, plan)


def _step(cls: type, types: tuple[type, ...]) -> _Step:
    sought = issubclass(cls, types)
    if issubclass(cls, msgspec.Struct):
        return (sought, _STRUCT, _fields_holding(cls, types))
    if issubclass(cls, dict):
        return (sought, _DICT, ())
    if issubclass(cls, tuple | list):
        return (sought, _SEQUENCE, ())
    return (sought, _LEAF, ())


def _fields_holding(cls: type, types: tuple[type, ...]) -> tuple[str, ...]:
    """The fields of struct ``cls`` whose declared type can hold an instance of ``types`` (every field if unsure)."""
    fields: tuple[str, ...] = cls.__struct_fields__  # type: ignore[attr-defined]
    if not all(isinstance(t, type) and issubclass(t, msgspec.Struct) for t in types):
        return fields
    try:
        info = msgspec.inspect.type_info(cls)
    except Exception:  # noqa: BLE001 - an annotation msgspec cannot read: look into every field
        return fields
    if not isinstance(info, msgspec.inspect.StructType):
        return fields
    return tuple(field.name for field in info.fields if _can_hold(field.type, types, set()))


_HOLDS_NOTHING = (
    msgspec.inspect.StrType, msgspec.inspect.IntType, msgspec.inspect.FloatType, msgspec.inspect.BoolType,
    msgspec.inspect.NoneType, msgspec.inspect.LiteralType, msgspec.inspect.BytesType, msgspec.inspect.ByteArrayType,
    msgspec.inspect.DateTimeType, msgspec.inspect.DateType, msgspec.inspect.TimeType, msgspec.inspect.TimeDeltaType,
    msgspec.inspect.UUIDType, msgspec.inspect.DecimalType, msgspec.inspect.EnumType,
)
"""Declared types whose values hold no struct ``collect`` could find."""


def _can_hold(t: msgspec.inspect.Type, types: tuple[type, ...], visiting: set[type]) -> bool:
    """Whether a value of declared type ``t`` can be, or hold where ``collect`` looks, an instance of ``types``."""
    inspect = msgspec.inspect
    if isinstance(t, _HOLDS_NOTHING):
        return False
    if isinstance(t, inspect.Metadata):
        return _can_hold(t.type, types, visiting)
    if isinstance(t, inspect.UnionType):
        return any(_can_hold(member, types, visiting) for member in t.types)
    if isinstance(t, inspect.StructType):
        if issubclass(t.cls, types):
            return True
        if t.cls in visiting:
            return False  # met again inside itself: what it can hold is decided where it was first met
        visiting.add(t.cls)
        return any(_can_hold(field.type, types, visiting) for field in t.fields)
    if isinstance(t, inspect.DictType):
        return _can_hold(t.value_type, types, visiting)
    if isinstance(t, inspect.ListType | inspect.VarTupleType):
        return _can_hold(t.item_type, types, visiting)
    if isinstance(t, inspect.TupleType):
        return any(_can_hold(item, types, visiting) for item in t.item_types)
    return True  # Any, custom and other types: look


def refs_in(value: object, where: str) -> Iterator[Ref]:
    """References inside one value (a target, a menu, a member...), with their paths."""
    for item, path in collect(value, where, REFERRING, []):
        ref = ref_of(item)
        if ref is not None:
            yield (ref[0], ref[1], path)


def references(state: TenantState) -> Iterator[Ref]:
    """Every reference in the tenant's state."""
    for ext, user in state.users.items():
        for field in ("forward_always", "unreachable", "out_of_hours", "own", "pinned"):
            yield from refs_in(getattr(user, field), f"user {ext}: {field}")
        if user.presentation_number in state.display_numbers:
            yield ("display_number", user.presentation_number, f"user {ext}: presentation_number")  # type: ignore[misc]
    for name in ("no_answer", "busy", "rejected", "voicemail_greeting"):
        yield from refs_in(getattr(state.defaults, name), f"tenant default: {name}")
    yield from refs_in(state.unassigned, "tenant: unassigned-number handling")
    for key, group in state.groups.items():
        yield from refs_in(group.settings.fallback, f"group {key}: fallback")
        yield from refs_in(group.members, f"group {key}: members")
        for index, ext in enumerate(group.supervisors):
            yield ("user", ext, f"group {key}: supervisors[{index}]")
        if group.settings.display_number is not None:
            yield ("display_number", group.settings.display_number, f"group {key}: display_number")
    for key, queue in state.queues.items():
        for index, ext in enumerate(queue.agents):
            yield ("user", ext, f"queue {key}: agents[{index}]")
        yield from refs_in(queue.after_max_wait, f"queue {key}: after_max_wait")
        yield from refs_in(queue.when_no_agents, f"queue {key}: when_no_agents")
        if queue.hold_music is not None:
            yield ("audio", queue.hold_music, f"queue {key}: hold_music")
    for key, ivr in state.ivrs.items():
        yield from refs_in(ivr, f"ivr {key}")
    for key, scheme in state.schemes.items():
        yield from refs_in(scheme, f"scheme {key}")
        if scheme.hold_music is not None:
            yield ("audio", scheme.hold_music, f"scheme {key}: hold_music")
    for number, route in state.numbers.items():
        yield from refs_in(route.entry, f"number {number}: entry")
    for name, closure in state.closures.items():
        yield from refs_in(closure.destination, f"closure {name}: destination")
        if closure.scope is not None:
            for field, kind in _SCOPED:
                for index, key in enumerate(getattr(closure.scope, field)):
                    yield (kind, key, f"closure {name}: scope.{field}[{index}]")
    for number, display in state.display_numbers.items():
        for index, ext in enumerate(display.users):
            yield ("user", ext, f"display number {number}: users[{index}]")
        for field in ("groups", "agent_access", "supervisor_access"):
            for index, key in enumerate(getattr(display, field)):
                yield ("group", key, f"display number {number}: {field}[{index}]")


_TABLES: dict[Kind, str] = {"user": "users", "group": "groups", "queue": "queues", "ivr": "ivrs", "scheme": "schemes",
                            "audio": "audio_files", "display_number": "display_numbers", "pbx": "pbx_links"}


def exists(state: TenantState, kind: Kind, key: str) -> bool:
    """Whether the thing a reference names exists."""
    return key in getattr(state, _TABLES[kind])


def referrers(state: TenantState, kind: Kind, key: str) -> list[str]:
    """Where ``kind`` ``key`` is referred to, excluding its own settings."""
    label = {"display_number": "display number"}.get(kind, kind)
    own = (f"{label} {key}:", f"{label} {key}.")
    return [
        where
        for ref_kind, ref_key, where in references(state)
        if ref_kind == kind and ref_key == key and not where.startswith(own)
    ]


def dangling(state: TenantState) -> list[Ref]:
    """References to things that do not exist (always empty after valid commands)."""
    return [ref for ref in references(state) if not exists(state, ref[0], ref[1])]
