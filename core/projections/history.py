"""Audit history: every change of a tenant with who, when, why, and a readable before → after.

Built by replaying the tenant's stored events (and its provisioning record's) in order.
For each event only the part of the state it can touch is compared before and after,
so the cost per event does not grow with the size of the tenant. Each event is checked as
it is read (``core/integrity.py``): its hash against its stored content when decoded, its
version and its link to the one before when applied; an event that is not as written
raises ``StoreIntegrityError`` instead of a history.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import msgspec

from core.aggregates.catalog import NumberSettings, PbxLink
from core.aggregates.chain import GENESIS
from core.aggregates.chained import replay
from core.aggregates.groups import AnswerGroup
from core.aggregates.identifiers import tenant_id
from core.aggregates.provisioning import ProviderPolicySet, ProvisioningConfirmed, provisioning_id
from core.aggregates.references import refs_in
from core.aggregates.state import TenantState
from core.codec import stable_topic
from core.errors import StoreIntegrityError
from core.integrity import gap, named, unlinked

_SMALL_FIELDS = ("name", "time_zone", "plan", "closed", "unassigned", "extras", "billing", "admins", "partner")
_TABLE_OF = {"group_id": "groups", "queue_id": "queues", "ivr_id": "ivrs", "scheme_id": "schemes"}
_SUBJECT = {"users": "user", "groups": "group", "queues": "queue", "ivrs": "IVR menu", "schemes": "scheme",
            "numbers": "number", "display_numbers": "display number", "audio_files": "audio file", "pbx_links": "linked PBX",
            "scheme_warnings": "scheme", "number_settings": "number", "closures": "closure"}


class FieldChange(msgspec.Struct, frozen=True):
    """One value that changed: where, before and after (plain JSON values; ``None``: absent)."""

    subject: str
    """``user 2001``, ``group sales``, ``tenant``, ``provisioning``."""
    field: str
    """The setting within the subject (``own.busy``); empty when the whole subject came or went."""
    before: Any
    after: Any


class HistoryEntry(msgspec.Struct, frozen=True):
    """One change: the event, who made it (and for which partner), when, why, and what it changed."""

    record: str
    """``tenant`` or ``provisioning``."""
    version: int
    at: datetime
    event: str
    actor: str
    partner: str | None
    reason: str | None
    changes: tuple[FieldChange, ...]


_TAGS = ("kind", "action", "mode", "on", "do")


def _is_record(value: Any) -> bool:
    return isinstance(value, dict) and not any(tag in value for tag in _TAGS)


def diff(before: Any, after: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any, Any]]:
    """Every leaf that differs between two plain JSON values, with its path.

    A tagged value (a divert target, a handling, a schedule day) counts as one leaf.
    """
    if len(path) < 2 or path[0] not in _SUBJECT:
        # Above a subject (a table, or the tenant itself) an absent side is an empty record,
        # so a new group shows as "group sales" rather than as a whole new table.
        if before is None and _is_record(after):
            before = {}
        elif after is None and _is_record(before):
            after = {}
    elif len(path) == 2 and path[0] in _ABSENT_MEANS:
        # A number without settings of its own has the default ones: turning one on reads "off → on", not "added".
        before, after = (plain(_ABSENT_MEANS[path[0]]) if side is None else side for side in (before, after))
    if _is_record(before) and _is_record(after):
        for key in sorted(set(before) | set(after), key=str):
            yield from diff(before.get(key), after.get(key), (*path, str(key)))
    elif before != after:
        yield path, before, after


def state_changes(before: Any, after: Any) -> tuple[FieldChange, ...]:
    """The changes between two plain views of (parts of) a tenant state, by subject."""
    out = []
    for path, old, new in diff(before, after):
        if old is None and isinstance(new, dict | list | tuple) and not new:
            continue  # an empty initial collection says nothing
        if path and path[0] in _SUBJECT and len(path) >= 2:
            subject, field = f"{_SUBJECT[path[0]]} {path[1]}", ".".join(path[2:])
        else:
            subject, field = "tenant", ".".join(path)
        if field.endswith("pin_hash"):
            old, new = ("set" if old else None), ("set" if new else None)
        old, new = _masked(old), _masked(new)
        out.append(FieldChange(subject=subject, field=field, before=old, after=new))
    return tuple(out)


def _selectors(event: Any) -> list[tuple[str, ...]]:
    """The parts of the state an event can touch."""
    fields = event.__dict__
    name = type(event).__name__
    if name in ("TenantDefaultSet",):
        return [("defaults",), ("default_scopes",), ("transcription_users_may_change",), ("users",)]
    if name == "ClosureAdded" or name == "ClosureRemoved":
        return [("closures", fields["closure"].name if "closure" in fields else fields["closure_name"])]
    if name == "PublicHolidaysImported":
        return [("closures",)]
    if name == "GroupRejectAnonymousSet":
        # One field, viewed on its own: the group's other views leave it out while off (``_LATER_FIELDS``).
        return [("groups", fields["group_id"], "reject_anonymous")]
    if name in ("DisplayNumberSaved", "DisplayNumberRemoved"):
        number = fields["display"].number if "display" in fields else fields["number"]
        return [("display_numbers", number), ("users",)]
    if "extension" in fields:
        return [("users", fields["extension"])]
    for key, table in _TABLE_OF.items():
        if key in fields:
            extra = [("display_numbers",)] if table == "groups" else [("scheme_warnings", fields[key])] if table == "schemes" else []
            return [(table, fields[key]), *extra]
    if "number" in fields:
        return [("numbers", fields["number"]), ("number_settings", fields["number"])]
    if "audio" in fields or name == "AudioFileRemoved":
        return [("audio_files", fields["audio"].name if "audio" in fields else fields["name"])]
    if name in ("PbxMemberMarkedUnknown", "PbxMemberKnownAgain"):
        # Only the marks: a link reads as one tagged value (it has a ``kind``), which would hide what changed.
        return [("pbx_links", fields["pbx"], "unknown_members")]
    if "link" in fields or "pbx" in fields:
        return [("pbx_links", fields["link"].id if "link" in fields else fields["pbx"])]
    if "group" in fields and name == "AnswerGroupCreated":
        return [("groups", fields["group"].id)]
    return [(f,) for f in _SMALL_FIELDS]


_LATER_FIELDS: dict[type, frozenset[str]] = {PbxLink: frozenset({"unknown_members"}), AnswerGroup: frozenset({"reject_anonymous"})}
"""Fields added after stores were written, shown only when set: the history of older events reads as it was recorded."""


def plain(value: Any) -> Any:
    """A value as plain JSON-like data with every field present (defaults included, unlike ``to_builtins``)."""
    if isinstance(value, msgspec.Struct):
        config = value.__struct_config__
        out: dict[str, Any] = {}
        if config.tag_field is not None:
            out[config.tag_field] = config.tag
        later = _LATER_FIELDS.get(type(value), frozenset())
        for name in value.__struct_fields__:
            item = getattr(value, name)
            if (name in later and not item) or item is msgspec.UNSET:  # UNSET: a later field never set (CallQueue's rules)
                continue
            out[name] = plain(item)
        return out
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, tuple | list):
        return [plain(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _masked(value: Any) -> Any:
    """The value with any PIN hash shown as "set": it is a salted hash, but there is no need to show it."""
    if isinstance(value, dict):
        return {k: ("set" if k == "pin_hash" and v else _masked(v)) for k, v in value.items()}
    return value


_ABSENT_MEANS: dict[str, object] = {"number_settings": NumberSettings()}
"""Tables where a missing entry means default settings, so a change reads ``reject_anonymous: off → on``."""


def _view(state: TenantState | None, selectors: list[tuple[str, ...]]) -> dict[str, Any]:
    if state is None:
        return {selector[0]: {selector[1]: None} for selector in selectors if len(selector) > 1}
    view: dict[str, Any] = {}
    for selector in selectors:
        value = getattr(state, selector[0])
        if len(selector) == 1:
            view[selector[0]] = plain(value)
        else:
            item = value.get(selector[1], _ABSENT_MEANS.get(selector[0]))
            if item is not None and len(selector) == 3:
                item = {selector[2]: getattr(item, selector[2])}
            view.setdefault(selector[0], {})[selector[1]] = None if item is None else plain(item)
    return view


def _mentions(event: Any, extension: str) -> bool:
    """Whether an event refers to ``extension``: as a destination or member, or as a plain value (agents, supervisors)."""
    state = {k: v for k, v in event.__dict__.items() if k not in ("originator_id", "timestamp", "hash", "prev_hash")}
    if any(kind == "user" and key == extension for kind, key, _ in refs_in(state, "")):
        return True

    def contains(value: Any) -> bool:
        if isinstance(value, str):
            return value == extension
        if isinstance(value, dict):
            return any(contains(v) for v in value.values())
        if isinstance(value, list | tuple):
            return any(contains(v) for v in value)
        return False

    return contains(plain(state))


def tenant_history(
    app: Any,
    slug: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    actor: str | None = None,
    user: str | None = None,
) -> list[HistoryEntry]:
    """Every change of tenant ``slug`` (and of its provisioning record) matching the filters, in time order."""
    try:
        return _history(app, slug, since, until, actor, user)
    except StoreIntegrityError as exc:
        names = {tenant_id(slug): f"tenant {slug}", provisioning_id(slug): f"the provisioning record of {slug}"}
        raise named(exc, lambda originator_id: names.get(originator_id) or app.record_name(originator_id)) from None


def _history(app: Any, slug: str, since: datetime | None, until: datetime | None, actor: str | None,
             user: str | None) -> list[HistoryEntry]:
    entries: list[HistoryEntry] = []
    tenant = None
    for event in app.events.get(tenant_id(slug)):
        if until is not None and event.timestamp > until:
            break
        selectors = _selectors(event)
        before = _view(tenant.state if tenant is not None else None, selectors)
        tenant = replay(event, tenant)
        if since is not None and event.timestamp < since:
            continue
        if actor is not None and event.actor != actor:
            continue
        changes = state_changes(before, _view(tenant.state, selectors))
        if user is not None and not (any(c.subject == f"user {user}" for c in changes) or _mentions(event, user)):
            continue
        entries.append(_entry("tenant", event, changes))
    if user is None:
        entries.extend(_provisioning_history(app, slug, since, until, actor))
        entries.sort(key=lambda e: (e.at, e.record != "tenant", e.version))
    return entries


def _provisioning_history(app: Any, slug: str, since: datetime | None, until: datetime | None,
                          actor: str | None) -> list[HistoryEntry]:
    entries = []
    policy: Any = None
    live: dict[str, Any] | None = None
    version, head = 0, GENESIS
    for event in app.events.get(provisioning_id(slug)):
        # Not replayed: its place in the chain is checked here (its hash was, when it was decoded).
        version += 1
        if event.originator_version != version:
            raise gap(event.originator_id, version, event.originator_version)
        if event.prev_hash != head:
            raise unlinked(event.originator_id, version, stable_topic(type(event)))
        head = event.hash
        if until is not None and event.timestamp > until:
            break
        if isinstance(event, ProviderPolicySet):
            changes = tuple(FieldChange(subject="provisioning", field=".".join(("policy", *path)), before=old, after=new)
                            for path, old, new in diff(plain(policy) if policy else None, plain(event.policy)))
            policy = event.policy
        elif isinstance(event, ProvisioningConfirmed):
            now_live = {"version": event.version, "applied_at": event.applied_at.isoformat()}
            changes = (FieldChange(subject="provisioning", field="live_version", before=live, after=now_live),)
            live = now_live
        else:
            changes = ()
        if (since is not None and event.timestamp < since) or (actor is not None and event.actor != actor):
            continue
        entries.append(_entry("provisioning", event, changes))
    return entries


def _entry(record: str, event: Any, changes: tuple[FieldChange, ...]) -> HistoryEntry:
    return HistoryEntry(record=record, version=event.originator_version, at=event.timestamp,
                        event=stable_topic(type(event)).removeprefix("callroute/"), actor=event.actor, partner=event.partner,
                        reason=event.reason, changes=changes)


def short(value: Any) -> str:
    """A plain JSON value in a few words (``extension 2002``, ``external +441234567890 announce``)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, dict):
        for tag in ("kind", "action", "mode", "on", "do"):
            if tag in value:
                rest = [short(v) if not isinstance(v, bool) else k for k, v in value.items()
                        if k != tag and v not in (None, False, "", [], {})]
                return " ".join([str(value[tag]), *rest])
        return "{" + ", ".join(f"{k}: {short(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(short(v) for v in value) + "]"
    return str(value)
