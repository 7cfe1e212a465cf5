"""Referential integrity: every reference from one setting to another, found by walking the state.

A reference is ``(kind, key, where)``: ``("user", "2001", "group sales: members[0]")``.
Removal commands refuse while ``referrers`` finds any; commands that set a value refuse
while ``dangling`` finds a reference in it to something that does not exist.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Literal

import msgspec

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


def ref_of(value: object) -> tuple[Kind, str] | None:
    """What one referring value names, if anything."""
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


def collect(value: object, where: str, types: tuple[type, ...], found: list[tuple[object, str]]) -> list[tuple[object, str]]:
    """Append every instance of ``types`` inside ``value`` (depth first) with its path to ``found``."""
    if isinstance(value, types):
        found.append((value, where))
    if isinstance(value, msgspec.Struct):
        for field in value.__struct_fields__:
            item = getattr(value, field)
            if item is not None and not isinstance(item, str | int | float | bool):
                collect(item, f"{where}.{field}", types, found)
    elif isinstance(value, dict):
        for key, item in value.items():
            collect(item, f"{where}.{key}", types, found)
    elif isinstance(value, tuple | list):
        for index, item in enumerate(value):
            collect(item, f"{where}[{index}]", types, found)
    return found


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


def exists(state: TenantState, kind: Kind, key: str) -> bool:
    """Whether the thing a reference names exists."""
    table = {
        "user": state.users,
        "group": state.groups,
        "queue": state.queues,
        "ivr": state.ivrs,
        "scheme": state.schemes,
        "audio": state.audio_files,
        "display_number": state.display_numbers,
        "pbx": state.pbx_links,
    }[kind]
    return key in table


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
