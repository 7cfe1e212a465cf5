"""Validation shared by the tenant's commands: normal forms, references, remote PBX members."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

import msgspec

from core.aggregates.access import may, who
from core.aggregates.context import Actor
from core.aggregates.groups import CloudMember, SipMember
from core.aggregates.identifiers import normalise_number
from core.aggregates.references import KEY_FIELD, REFERRING, collect, exists, ref_of
from core.aggregates.targets import ToNumber, ToRemote
from core.errors import NotFoundError, PermissionDeniedError, UnknownExtensionError, ValidationFailed

if TYPE_CHECKING:
    from core.aggregates.state import TenantState

_LABELS = {
    "user": "extension",
    "group": "answer group",
    "queue": "call queue",
    "ivr": "IVR menu",
    "scheme": "forwarding scheme",
    "audio": "audio file",
    "display_number": "display number",
    "pbx": "linked PBX",
}


class CloudAccess(msgspec.Struct, frozen=True):
    """Who may act for a cloud PBX (another tenant of the store): its principals' permissions and its managing partner."""

    admins: Mapping[str, tuple[str, ...]]
    partner: str | None = None


class PbxDirectory(Protocol):
    """What callroute can learn about other PBXs (a port: adapters implement it, tests fake it)."""

    def cloud_members(self, pbx: str) -> Mapping[str, str] | None:
        """Member id → name of a cloud PBX, or ``None`` if the directory does not know it."""

    def sip_internal_number_exists(self, pbx: str, internal_number: str) -> bool | None:
        """Whether a SIP PBX has that internal number, or ``None`` if the directory does not know it."""

    def cloud_access(self, pbx: str) -> CloudAccess | None:
        """Who may act for a cloud PBX, or ``None`` if the directory does not know it.

        Linking a cloud PBX, and taking one of its members, needs the right to change it too
        (``check_cloud_rights``); a directory without this method lets only operators do either.
        """


def check_cloud_rights(directory: object, actor: Actor, pbx: str, *, field: str, doing: str) -> None:
    """Refuse unless ``actor`` may change cloud PBX ``pbx`` (another tenant): its telephony_admin, its partner, an operator.

    The refusal is the same whether the directory knows ``pbx`` or not, so it tells nothing about
    tenants the actor may not read (``doing``: what needs the right, in words).
    """
    if actor.operator:
        return
    lookup = getattr(directory, "cloud_access", None)
    access = lookup(pbx) if lookup is not None else None
    if access is None or not may(actor, access.admins, access.partner, action="change"):
        raise PermissionDeniedError(
            f"no cloud PBX {pbx!r} that {who(actor)} may change; {doing} needs the right to change that tenant too "
            "(its telephony_admin permission, or acting for its partner)",
            field=field,
        )


def normalise(value: Any, field: str) -> Any:
    """``value`` with every phone number inside it in E.164 form; raises naming the field."""
    match value:
        case ToNumber():
            number = normalise_number(value.number, field=f"{field}.number")
            return value if number == value.number else msgspec.structs.replace(value, number=number)
        case msgspec.Struct():
            changes = {}
            for name in value.__struct_fields__:
                item = getattr(value, name)
                new = normalise(item, f"{field}.{name}")
                if new is not item:
                    changes[name] = new
            return msgspec.structs.replace(value, **changes) if changes else value
        case dict():
            items = {key: normalise(item, f"{field}.{key}") for key, item in value.items()}
            return items if any(items[k] is not value[k] for k in value) else value
        case tuple():
            items = tuple(normalise(item, f"{field}[{i}]") for i, item in enumerate(value))
            return items if any(a is not b for a, b in zip(items, value, strict=True)) else value
    return value


def check_refs(state: TenantState, value: Any, field: str) -> None:
    """Raise ``NotFoundError`` naming the field of the first reference in ``value`` to something missing."""
    for item, where in collect(value, field, REFERRING, []):
        ref = ref_of(item)
        if ref is not None and not exists(state, *ref):
            error = UnknownExtensionError if ref[0] == "user" else NotFoundError
            raise error(f"tenant {state.slug!r} has no {_LABELS[ref[0]]} {ref[1]!r}", field=f"{where}.{KEY_FIELD[type(item)]}")


def check_remote(state: TenantState, value: Any, field: str, directory: PbxDirectory | None, actor: Actor) -> None:
    """Check members of other PBXs against the directory (seed 003: an unknown internal number is an error).

    A member of another cloud PBX that the tenant does not ring yet needs the right to change that
    tenant too (``check_cloud_rights``), checked before the directory is asked whether it lists the
    member, so a refusal says nothing about the other tenant's extensions. Members already rung
    stay, so settings that keep them can still be changed by the tenant's own administrators.
    """
    used: dict[str, set[str]] | None = None
    for item, where in find(value, REMOTE, field):
        pbx = state.pbx_links[item.pbx]
        if directory is None:
            raise ValidationFailed("no PBX directory is configured to check members of other PBXs", field=where)
        if isinstance(item, SipMember) or (isinstance(item, ToRemote) and pbx.kind == "sip"):
            number = item.internal_number if isinstance(item, SipMember) else item.member
            if pbx.kind != "sip":
                raise ValidationFailed(f"PBX {pbx.id!r} is a cloud PBX; choose a member from its list", field=where)
        else:
            number = item.member
            if pbx.kind != "cloud":
                raise ValidationFailed(f"PBX {pbx.id!r} is a SIP PBX; give an internal number", field=where)
            if not actor.operator:
                used = in_use(state) if used is None else used
                if number not in used.get(pbx.id, ()):
                    check_cloud_rights(directory, actor, pbx.id, field=where, doing="a member of another tenant")
        problem = unlisted(directory, pbx.kind, pbx.id, number)
        if problem is not None:
            raise NotFoundError(problem, field=where)


def unlisted(directory: PbxDirectory, kind: str, pbx: str, member: str) -> str | None:
    """Why the directory does not list ``member`` (a cloud member id or a SIP internal number) of ``pbx``; ``None``: it does."""
    if kind == "sip":
        found = directory.sip_internal_number_exists(pbx, member)
        if found is None:
            return f"the directory does not know SIP PBX {pbx!r}"
        return None if found else f"SIP PBX {pbx!r} has no internal number {member!r}"
    members = directory.cloud_members(pbx)
    if members is None:
        return f"the directory does not know cloud PBX {pbx!r}"
    return None if member in members else f"cloud PBX {pbx!r} has no member {member!r} in its list"


def find(value: Any, types: tuple[type, ...], field: str) -> list[tuple[Any, str]]:
    """Every instance of ``types`` inside ``value``, with its path."""
    return collect(value, field, types, [])


REMOTE = (ToRemote, CloudMember, SipMember)
"""What names a member or destination on another PBX."""


def remote_key(item: Any) -> tuple[str, str]:
    """``(pbx, member)`` of a member or destination on another PBX."""
    return item.pbx, item.internal_number if isinstance(item, SipMember) else item.member


def in_use(state: TenantState) -> dict[str, set[str]]:
    """PBX → the members (ids or internal numbers) something of the tenant rings there."""
    used: dict[str, set[str]] = {}
    # Every part of the state that can hold a destination, so parts added later are walked too; users' own settings
    # cannot name another PBX and are most of a big tenant, and the links hold only the marks.
    parts = [getattr(state, name) for name in state.__struct_fields__ if name not in ("users", "pbx_links")]
    for part in parts:
        for item, _ in find(part, REMOTE, ""):
            pbx, member = remote_key(item)
            used.setdefault(pbx, set()).add(member)
    return used
