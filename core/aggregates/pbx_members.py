"""Other PBXs (seed 003): linking and unlinking them, and their members marked unknown when the directory stops listing them.

A member of another cloud PBX or an office SIP PBX is checked against the directory when
it is added. The other PBX's directory may change later (a user removed from the other
cloud tenant, an internal number dropped from the SIP directory file), so
``check_pbx_members`` compares every reference to another PBX (group members and
fallbacks, and any other destination on another PBX) with the directory again and
records each change of its answer as an event, so an auditor sees when a member became
unknown and when it was found again. Routing skips a member marked unknown.
"""

from __future__ import annotations

from typing import Any

import msgspec

from core.aggregates.catalog import PbxKind, PbxLink, UnknownPbxMember
from core.aggregates.commanding import Command, handles
from core.aggregates.context import CommandContext
from core.aggregates.identifiers import Name
from core.aggregates.rules import REMOTE, PbxDirectory, check_cloud_rights, find, in_use, remote_key, unlisted
from core.aggregates.targets import EntityId
from core.aggregates.tenant import Tenant, TenantEvent
from core.errors import AlreadyExistsError, NotFoundError, ValidationFailed


class LinkPbx(Command, kw_only=True, tag="link_pbx"):
    """Link another cloud PBX or an office SIP PBX (seed 003)."""

    pbx: EntityId
    kind: PbxKind
    name: Name


class PbxLinked(TenantEvent):
    TOPIC = "callroute/PbxLinked"
    link: PbxLink

    def apply(self, tenant: Tenant) -> None:
        tenant.state.pbx_links[self.link.id] = self.link


@handles(LinkPbx)
def link_pbx(tenant: Tenant, cmd: LinkPbx, ctx: CommandContext) -> None:
    """A PBX the directory knows, whose employees may then take this tenant's calls.

    A cloud PBX is another tenant: linking it needs the right to change it too (``check_cloud_rights``:
    its telephony_admin, its partner, or an operator), and the refusal is the same whether it exists.
    """
    if cmd.pbx in tenant.state.pbx_links:
        raise AlreadyExistsError(f"PBX {cmd.pbx!r} is already linked", field="pbx")
    directory = ctx.directory
    if directory is None:
        raise ValidationFailed("no PBX directory is configured", field="pbx")
    if cmd.kind == "cloud":
        check_cloud_rights(directory, ctx.actor, cmd.pbx, field="pbx", doing="linking another tenant as a cloud PBX")
    known = (directory.cloud_members(cmd.pbx) if cmd.kind == "cloud"  # type: ignore[attr-defined]
             else directory.sip_internal_number_exists(cmd.pbx, "0"))  # type: ignore[attr-defined]
    if known is None:
        raise NotFoundError(f"the directory knows no {cmd.kind} PBX {cmd.pbx!r}", field="pbx")
    tenant.trigger(PbxLinked, ctx, link=PbxLink(id=cmd.pbx, kind=cmd.kind, name=cmd.name))


class UnlinkPbx(Command, kw_only=True, tag="unlink_pbx"):
    """Unlink a PBX (refused while referred to)."""

    pbx: EntityId


class PbxUnlinked(TenantEvent):
    TOPIC = "callroute/PbxUnlinked"
    pbx: str

    def apply(self, tenant: Tenant) -> None:
        del tenant.state.pbx_links[self.pbx]


@handles(UnlinkPbx)
def unlink_pbx(tenant: Tenant, cmd: UnlinkPbx, ctx: CommandContext) -> None:
    """Refused while a member or fallback refers to it."""
    if cmd.pbx not in tenant.state.pbx_links:
        raise NotFoundError(f"there is no linked PBX {cmd.pbx!r}", field="pbx")
    tenant.refuse_if_referenced("pbx", cmd.pbx, f"PBX {cmd.pbx!r}", field="pbx")
    tenant.trigger(PbxUnlinked, ctx, pbx=cmd.pbx)


class CheckPbxMembers(Command, kw_only=True, tag="check_pbx_members"):
    """Compare members of other PBXs (and destinations there) with the PBX directory; record who became unknown or known again."""

    pbx: EntityId | None = None
    """Only this linked PBX (``None``: every linked PBX)."""


class PbxMemberMarkedUnknown(TenantEvent):
    TOPIC = "callroute/PbxMemberMarkedUnknown"
    pbx: str
    member: str
    """The member id on a cloud PBX, the internal number on a SIP PBX."""
    finding: str
    """What the directory said, in words."""

    def apply(self, tenant: Tenant) -> None:
        link = tenant.state.pbx_links[self.pbx]
        marks = {**link.unknown_members, self.member: UnknownPbxMember(since=self.timestamp, finding=self.finding)}
        tenant.state.pbx_links[self.pbx] = msgspec.structs.replace(link, unknown_members=dict(sorted(marks.items())))


class PbxMemberKnownAgain(TenantEvent):
    TOPIC = "callroute/PbxMemberKnownAgain"
    pbx: str
    member: str

    def apply(self, tenant: Tenant) -> None:
        link = tenant.state.pbx_links[self.pbx]
        marks = {key: mark for key, mark in link.unknown_members.items() if key != self.member}
        tenant.state.pbx_links[self.pbx] = msgspec.structs.replace(link, unknown_members=marks)


@handles(CheckPbxMembers)
def check_pbx_members(tenant: Tenant, cmd: CheckPbxMembers, ctx: CommandContext) -> None:
    """Marks members the directory no longer lists, and unmarks those it lists again; records nothing when nothing changed."""
    links = tenant.state.pbx_links
    if cmd.pbx is not None and cmd.pbx not in links:
        raise NotFoundError(f"there is no linked PBX {cmd.pbx!r}", field="pbx")
    directory: PbxDirectory | None = ctx.directory  # type: ignore[assignment]
    if directory is None:
        raise ValidationFailed("no PBX directory is configured to check members of other PBXs", field="pbx")
    used = in_use(tenant.state)
    marks, unmarks = [], []
    for pbx in [cmd.pbx] if cmd.pbx is not None else sorted(links):
        link = links[pbx]
        # Marked members no longer in use are checked too, so a mark never outlives the directory's change back.
        members = sorted(used.get(pbx, set()) | set(link.unknown_members))
        if members and not _knows(directory, link.kind, pbx):
            # A PBX missing from the directory altogether is more likely a directory not given (or incomplete)
            # than a PBX gone: refused, rather than every member of it marked unknown.
            kind = "SIP" if link.kind == "sip" else "cloud"
            raise NotFoundError(f"the directory does not know {kind} PBX {pbx!r}; nothing was marked", field="pbx")
        for member in members:
            problem = unlisted(directory, link.kind, pbx, member)
            if problem is not None and member not in link.unknown_members:
                marks.append({"pbx": pbx, "member": member, "finding": problem})
            elif problem is None and member in link.unknown_members:
                unmarks.append({"pbx": pbx, "member": member})
    for fields in marks:
        tenant.trigger(PbxMemberMarkedUnknown, ctx, **fields)
    for fields in unmarks:
        tenant.trigger(PbxMemberKnownAgain, ctx, **fields)


def _knows(directory: PbxDirectory, kind: str, pbx: str) -> bool:
    if kind == "sip":
        return directory.sip_internal_number_exists(pbx, "0") is not None
    return directory.cloud_members(pbx) is not None


def known_again(tenant: Tenant, ctx: CommandContext, value: Any) -> None:
    """Unmark the marked members inside ``value``, which a command has just checked against the directory.

    A command accepts a member of another PBX only when the directory lists it, so a mark
    on it is out of date; without this, routing would go on skipping a member just re-added.
    """
    links = tenant.state.pbx_links
    if not links:
        return  # nothing here can name a member of another PBX (``destination`` refuses a PBX that is not linked)
    seen = set()
    for item, _ in find(value, REMOTE, ""):
        pbx, member = remote_key(item)
        if member in links[pbx].unknown_members and (pbx, member) not in seen:
            seen.add((pbx, member))
            tenant.trigger(PbxMemberKnownAgain, ctx, pbx=pbx, member=member)


__all__ = ["CheckPbxMembers", "LinkPbx", "UnlinkPbx"]
