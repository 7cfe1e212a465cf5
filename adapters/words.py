"""Settings in words for people: what human output shows instead of internal values.

Tags read as words (``round_robin`` → ``round robin``), destinations as
``core.aggregates.describe.describe`` says them, durations as ``20 s``, group members as
``2001 (20 s), 2002 (20 s, excluded)``, instants in the tenant's zone to the second, and
weekdays in week order. ``--json`` output never goes through here: it keeps the raw values.

``value_text`` reads the plain JSON values of the audit history (``core.projections.history``)
back into their types where it can, so that they read as the rest of the command line does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime, tzinfo
from functools import cache
from typing import Any

import msgspec

from core.aggregates.catalog import UnknownPbxMember
from core.aggregates.describe import describe as core_describe
from core.aggregates.groups import CloudMember, GroupMember, LocalMember, MemberRef, SipMember
from core.aggregates.hours import OpeningHours, Window
from core.aggregates.schedule import WEEKDAYS, AvailableAllDay, DaySchedule, OutOfHours, UnavailableAllDay, UnavailableBetween
from core.aggregates.targets import NoAnswerRule

NO_VALUE = "—"


def words(tag: str) -> str:
    """An internal tag in words: ``round_robin`` → ``round robin``."""
    return tag.replace("_", " ")


def seconds(value: float) -> str:
    """A duration in seconds, as ``20 s`` (``7.5 s``)."""
    return f"{value:g} s"


def instant_text(value: datetime, zone: tzinfo | None = None) -> str:
    """An instant in ``zone`` (else as given), to the second: ``2026-11-20 17:59:59+01:00``."""
    local = value.astimezone(zone) if zone is not None else value
    return local.replace(microsecond=0).isoformat(sep=" ")


def describe(value: object) -> str:
    """``core``'s ``describe``, with durations written as everywhere else on the command line (``after 20 s``)."""
    if isinstance(value, NoAnswerRule):
        return f"after {seconds(value.ring_seconds)} → {core_describe(value.target)}"
    return core_describe(value)


def member_spec(ref: MemberRef) -> str:
    """A group member as ``--member`` takes it: ``2001``, ``cloud:PBX/MEMBER``, ``sip:PBX/NUMBER``."""
    match ref:
        case LocalMember(extension=ext):
            return ext
        case CloudMember(pbx=pbx, member=member):
            return f"cloud:{pbx}/{member}"
        case SipMember(pbx=pbx, internal_number=number):
            return f"sip:{pbx}/{number}"
    return str(ref)


def ring_time_text(ring_seconds: int | None) -> str:
    """A group member's ring time: ``20 s``, or ``the group's timeout`` for a member without one of its own."""
    return "the group's timeout" if ring_seconds is None else seconds(ring_seconds)


def unknown_text(mark: UnknownPbxMember, zone: tzinfo | None = None) -> str:
    """``unknown since 2026-11-23 10:00:00+01:00 (cloud PBX 'malmo' has no member '3001' in its list)``."""
    return f"unknown since {instant_text(mark.since, zone)} ({mark.finding})"


def member_text(member: GroupMember) -> str:
    """``2001 (20 s)``, ``2002 (20 s, excluded)``, ``2003 (the group's timeout)``."""
    return f"{member_spec(member.ref)} ({ring_time_text(member.ring_seconds)}{', excluded' if member.excluded else ''})"


def members_text(members: Iterable[GroupMember]) -> str:
    """A group's members in ringing order: ``2001 (20 s), 2002 (20 s, excluded)``."""
    return ", ".join(member_text(m) for m in members) or "none"


def in_week_order(days: Iterable[str]) -> list[str]:
    """Weekday names in week order (Monday first); anything else after them, as given."""
    return sorted(days, key=lambda d: WEEKDAYS.index(d) if d in WEEKDAYS else len(WEEKDAYS))  # type: ignore[arg-type]


def day_ranges(values: dict[Any, Any]) -> list[tuple[str, Any]]:
    """Consecutive weekdays with equal values merged: ``[("mon-fri", v), ("sat-sun", w)]``."""
    runs: list[list[Any]] = []
    for day in WEEKDAYS:
        if day not in values:
            continue
        last = runs[-1] if runs else None
        if last is not None and WEEKDAYS.index(last[1]) + 1 == WEEKDAYS.index(day) and last[2] == values[day]:
            last[1] = day
        else:
            runs.append([day, day, values[day]])
    return [(first if first == end else f"{first}-{end}", value) for first, end, value in runs]


def hours_text(value: OpeningHours | None) -> str:
    """Opening hours in one line, in week order, equal neighbouring days merged: ``mon-fri 09:00-18:00``."""
    if value is None:
        return "always"
    open_days = {day: ", ".join(f"{w.start}-{w.end}" for w in windows) for day, windows in value.days.items() if windows}
    if not open_days:
        return "never"
    return "; ".join(f"{days} {windows}" for days, windows in day_ranges(open_days))


def day_text(schedule: DaySchedule) -> str:
    """One weekday of an out-of-hours schedule in words."""
    if isinstance(schedule, UnavailableAllDay):
        return "unavailable all day"
    if isinstance(schedule, UnavailableBetween):
        return f"unavailable {schedule.start}-{schedule.end}" + (
            f" (until {schedule.end} the next day)" if schedule.crosses_midnight else "")
    return "available all day"


def schedule_summary(schedule: OutOfHours) -> str:
    """An out-of-hours schedule in one line: which days are out of hours and where calls go then."""
    unavailable = {d: schedule.day(d) for d in WEEKDAYS if not isinstance(schedule.day(d), AvailableAllDay)}
    days = [f"{label} " + ("all day" if isinstance(value, UnavailableAllDay) else f"{value.start}-{value.end}")
            for label, value in day_ranges(unavailable)]
    return (f"out of hours {'on' if schedule.enabled else 'off'}: unavailable {', '.join(days) or 'never'}"
            f" → {describe(schedule.when_unavailable)}")



_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2}|Z)")

_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
"""What a name may not hold (``core.aggregates.identifiers.NAME_RULE``): control characters (a line break among them)
and the bidirectional formatting characters."""


def terminal_safe(line: str) -> str:
    """``line`` with every character a name may not hold written as its escape (``\\x1b``, ``\\u202e``, ``\\n``).

    Commands refuse such characters in what they store, but a store is read as it is: an edit that recomputed the hashes
    (which ``audit verify`` cannot tell from a change) may have put them in a name or a reason. Shown raw, they would
    move the cursor, recolour or clear the auditor's terminal, reverse the text after them, or start a line that looks
    like a change of its own. Each line a command renders from stored values goes through this before it is printed.
    """
    return _UNSAFE.sub(lambda found: found[0].encode("unicode_escape").decode("ascii"), line)


@cache
def _tags() -> frozenset[str]:
    """Every enumerated value of the stored model (strategies, scopes, kinds…), from its JSON schema."""
    from core import commands as c
    from core.aggregates.provisioning import ProviderPolicy
    from core.aggregates.state import TenantState

    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key in ("enum", "const"):
                values = node.get(key)
                for value in values if isinstance(values, list) else [values]:
                    if isinstance(value, str):
                        found.add(value)
            for item in node.values():
                walk(item)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for schema in msgspec.json.schema_components([c.Command, TenantState, ProviderPolicy])[1].values():
        walk(schema)
    return frozenset(found)


@cache
def _tagged_types() -> dict[str, Any]:
    """Tag field → the union of the model's tagged types that carry it."""
    from core.aggregates.dated import OwnHandling
    from core.aggregates.schedule import DaySchedule as Day
    from core.aggregates.targets import Destination, Greeting, Off, RejectedHandling

    return {"kind": (Off | Destination, Greeting, OwnHandling), "action": (RejectedHandling,), "on": (MemberRef,),
            "mode": (Day,)}


@cache
def _record_types() -> tuple[type[msgspec.Struct], ...]:
    """Untagged records a history value may be, recognised by their exact set of fields."""
    from core.aggregates.catalog import AudioFile, BillingItem, DisplayNumber, PbxLink
    from core.aggregates.services import BackupStep, SchemeStep
    from core.aggregates.state import Device

    return (NoAnswerRule, GroupMember, SchemeStep, BackupStep, Window, OpeningHours, OutOfHours, Device, AudioFile,
            PbxLink, DisplayNumber, BillingItem)


def typed(value: Any) -> Any:
    """A plain JSON value of the history as its model type, when it is one of the known shapes; else ``None``."""
    if not isinstance(value, dict) or not value:
        return None
    for tag, unions in _tagged_types().items():
        if tag in value and isinstance(value[tag], str):
            for union in unions:
                try:
                    return msgspec.convert(value, union)
                except msgspec.ValidationError:
                    continue
    for record in _record_types():
        if set(value) == set(record.__struct_fields__):
            try:
                return msgspec.convert(value, record)
            except msgspec.ValidationError:
                continue
    return None


def _typed_text(value: Any, zone: tzinfo | None) -> str:
    from core.aggregates.catalog import AudioFile, BillingItem, DisplayNumber, PbxLink
    from core.aggregates.services import BackupStep, SchemeStep
    from core.aggregates.state import Device

    match value:
        case LocalMember() | CloudMember() | SipMember():
            return member_spec(value)
        case GroupMember():
            return member_text(value)
        case SchemeStep() | BackupStep():
            return f"{describe(value.destination)} ({seconds(value.timeout_seconds)})"
        case Window():
            return f"{value.start}-{value.end}"
        case OpeningHours():
            return hours_text(value)
        case OutOfHours():
            return schedule_summary(value).removeprefix("out of hours ")
        case AvailableAllDay() | UnavailableAllDay() | UnavailableBetween():
            return day_text(value)
        case Device():
            return value.mac + (f" {value.model}" if value.model else "")
        case AudioFile():
            return f"{value.name} [{value.language}], {words(value.source)}, {seconds(value.duration_seconds)}"
        case PbxLink():
            return f"{value.kind} PBX {value.id} ({value.name})"
        case DisplayNumber():
            return f"{value.number}{' (SMS)' if value.sms else ''}"
        case BillingItem():
            return f"{value.quantity} {words(value.kind)} bought by {value.bought_by} at {instant_text(value.bought_at, zone)}"
    return describe(value)


def value_text(value: Any, zone: tzinfo | None = None) -> str:
    """A plain JSON value of the audit history in words, instants in ``zone``."""
    if value is None:
        return NO_VALUE
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        if _INSTANT.fullmatch(value):
            return instant_text(datetime.fromisoformat(value.replace("Z", "+00:00")), zone)
        return words(value) if "_" in value and value in _tags() else value
    if isinstance(value, dict):
        model = typed(value)
        if model is not None:
            return _typed_text(model, zone)
        if set(value) == {"version", "applied_at"}:
            return f"version {value['version']}, live since {value_text(value['applied_at'], zone)}"
        keys = in_week_order(value) if set(value) <= set(WEEKDAYS) else list(value)
        shown = [f"{words(str(k))}: {value_text(value[k], zone)}" for k in keys if value[k] not in (None, [], {}, "")]
        return "; ".join(shown) or "none"
    if isinstance(value, list | tuple):
        return ", ".join(value_text(item, zone) for item in value) or "none"
    return str(value)


def path_order(parts: Sequence[str]) -> tuple[str, ...]:
    """A sort key for a dotted field path that puts weekdays in week order and leaves every other part as it is."""
    return tuple(f"\x00{WEEKDAYS.index(p)}" if p in WEEKDAYS else p for p in parts)  # type: ignore[arg-type]
