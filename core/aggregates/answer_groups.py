"""Answer groups and departments (seeds 001, 003): members here and on other PBXs, order, exclusion, supervisors."""

from __future__ import annotations

from typing import Annotated

import msgspec

from core.aggregates.commanding import Command, handles
from core.aggregates.context import CommandContext
from core.aggregates.groups import AnswerGroup, GroupMember, GroupSettings, MemberRef, member_label
from core.aggregates.identifiers import Extension, normalise_number
from core.aggregates.loops import refuse_loops
from core.aggregates.pbx_members import known_again
from core.aggregates.state import TenantState
from core.aggregates.targets import EntityId, MemberRingSeconds, ToGroup
from core.aggregates.tenant import Tenant, TenantEvent
from core.errors import AlreadyExistsError, NotFoundError, ValidationFailed


def _settings(tenant: Tenant, ctx: CommandContext, group_id: str, settings: GroupSettings) -> GroupSettings:
    """A group's settings in normal form: its own free number, a display number of the tenant, a fallback that exists.

    Neither the fallback nor the number may close a routing loop (``loops.py``).
    """
    if isinstance(settings.fallback, ToGroup) and settings.fallback.group == group_id:
        raise ValidationFailed("a group cannot fall back to itself", field="settings.fallback.group")
    number = settings.number
    if number is not None:
        keep = f"answer group {group_id}" if group_id in tenant.state.groups else None
        number = tenant.free_number(number, field="settings.number", keep=keep)
    display = settings.display_number
    if display is not None:
        display = normalise_number(display, field="settings.display_number")
        if display not in tenant.state.display_numbers:
            raise NotFoundError(f"{display} is not one of the tenant's display numbers", field="settings.display_number")
    fallback = tenant.destination(settings.fallback, ctx, field="settings.fallback", mailbox_required=True)
    checked = msgspec.structs.replace(settings, number=number, display_number=display, fallback=fallback)
    starts = [(("group", group_id), "settings."), *([(("number", number), "settings.number")] if number is not None else [])]
    refuse_loops(tenant.state, starts, groups={group_id: checked})
    return checked


def _supervisors(tenant: Tenant, supervisors: tuple[str, ...]) -> tuple[str, ...]:
    if len(set(supervisors)) != len(supervisors):
        raise ValidationFailed("a supervisor is listed twice", field="supervisors")
    for index, ext in enumerate(supervisors):
        if tenant.user(ext, field=f"supervisors[{index}]").license != "pro":
            raise ValidationFailed(f"extension {ext} is not a Pro user; only Pro users may supervise", field=f"supervisors[{index}]")
    return supervisors


def _member_of(group: AnswerGroup, ref: MemberRef) -> int:
    index = group.member_index(ref)
    if index is None:
        raise NotFoundError(f"{member_label(ref)} is not a member of {group.id}", field="member")
    return index


class CreateAnswerGroup(Command, kw_only=True, tag="create_answer_group"):
    """Create an answer group / department."""

    group: EntityId
    settings: GroupSettings
    members: Annotated[tuple[GroupMember, ...], msgspec.Meta(max_length=500)] = ()
    supervisors: tuple[Extension, ...] = ()


class AnswerGroupCreated(TenantEvent):
    TOPIC = "callroute/AnswerGroupCreated"
    group: AnswerGroup

    def apply(self, tenant: Tenant) -> None:
        tenant.state.groups[self.group.id] = self.group


@handles(CreateAnswerGroup)
def create_answer_group(tenant: Tenant, cmd: CreateAnswerGroup, ctx: CommandContext) -> None:
    """Within the plan's allowance; members exist and are listed once; supervisors are Pro users."""
    if cmd.group in tenant.state.groups:
        raise AlreadyExistsError(f"answer group {cmd.group!r} already exists", field="group")
    tenant.check_allowance("answer_groups", field="group")
    settings = _settings(tenant, ctx, cmd.group, cmd.settings)
    members = tuple(tenant.destination(m, ctx, field=f"members[{i}]") for i, m in enumerate(cmd.members))
    refs = [m.ref for m in members]
    if len(set(map(msgspec.json.encode, refs))) != len(refs):
        raise ValidationFailed("a member is listed twice", field="members")
    group = AnswerGroup(id=cmd.group, settings=settings, members=members, supervisors=_supervisors(tenant, cmd.supervisors))
    known_again(tenant, ctx, (settings.fallback, members))
    tenant.trigger(AnswerGroupCreated, ctx, group=group)


class UpdateAnswerGroup(Command, kw_only=True, tag="update_answer_group"):
    """Replace a group's settings."""

    group: EntityId
    settings: GroupSettings


class AnswerGroupSettingsChanged(TenantEvent):
    TOPIC = "callroute/AnswerGroupSettingsChanged"
    group_id: str
    settings: GroupSettings

    def apply(self, tenant: Tenant) -> None:
        before = tenant.state.groups[self.group_id].settings
        old = before.display_number
        tenant.state.replace_group(self.group_id, settings=self.settings)
        if old is not None and old != self.settings.display_number:
            _unlinked_display(tenant.state, self.group_id, old)
        if before.number != self.settings.number:
            tenant.state.numbers_left(before.number)


def _unlinked_display(state: TenantState, group_id: str, number: str) -> None:
    """A group that stops using a display number loses its agents' and supervisors' access to it (seed 001).

    The event records the new settings, not this consequence, so it runs on every replay.
    """
    display = state.display_numbers.get(number)
    if display is not None and group_id not in display.groups:
        state.display_numbers[number] = msgspec.structs.replace(
            display,
            agent_access=tuple(g for g in display.agent_access if g != group_id),
            supervisor_access=tuple(g for g in display.supervisor_access if g != group_id),
        )


@handles(UpdateAnswerGroup)
def update_answer_group(tenant: Tenant, cmd: UpdateAnswerGroup, ctx: CommandContext) -> None:
    """Name, number, billing id, display number, strategy, timeout and fallback, checked as on creation."""
    tenant.group(cmd.group)
    settings = _settings(tenant, ctx, cmd.group, cmd.settings)
    known_again(tenant, ctx, settings.fallback)
    tenant.trigger(AnswerGroupSettingsChanged, ctx, group_id=cmd.group, settings=settings)


class AddGroupMember(Command, kw_only=True, tag="add_group_member"):
    """Add a member to a group (here, another cloud PBX, or a SIP PBX)."""

    group: EntityId
    member: GroupMember
    position: Annotated[int, msgspec.Meta(ge=0)] | None = None


class GroupMemberAdded(TenantEvent):
    TOPIC = "callroute/GroupMemberAdded"
    group_id: str
    member: GroupMember
    position: int

    def apply(self, tenant: Tenant) -> None:
        members = list(tenant.state.groups[self.group_id].members)
        members.insert(self.position, self.member)
        tenant.state.replace_group(self.group_id, members=tuple(members))


@handles(AddGroupMember)
def add_group_member(tenant: Tenant, cmd: AddGroupMember, ctx: CommandContext) -> None:
    """A member not yet in the group, at a position that exists (default: last)."""
    group = tenant.group(cmd.group)
    if group.member_index(cmd.member.ref) is not None:
        raise AlreadyExistsError(f"{member_label(cmd.member.ref)} is already a member of {cmd.group}", field="member")
    if cmd.position is not None and not 0 <= cmd.position <= len(group.members):
        raise ValidationFailed(f"position must be between 0 and {len(group.members)}", field="position")
    member = tenant.destination(cmd.member, ctx, field="member")
    position = len(group.members) if cmd.position is None else cmd.position
    known_again(tenant, ctx, member)
    tenant.trigger(GroupMemberAdded, ctx, group_id=cmd.group, member=member, position=position)


class RemoveGroupMember(Command, kw_only=True, tag="remove_group_member"):
    """Remove a member from a group."""

    group: EntityId
    member: MemberRef


class GroupMemberRemoved(TenantEvent):
    TOPIC = "callroute/GroupMemberRemoved"
    group_id: str
    member: MemberRef

    def apply(self, tenant: Tenant) -> None:
        group = tenant.state.groups[self.group_id]
        tenant.state.replace_group(self.group_id, members=tuple([m for m in group.members if m.ref != self.member]))


@handles(RemoveGroupMember)
def remove_group_member(tenant: Tenant, cmd: RemoveGroupMember, ctx: CommandContext) -> None:
    """A member of the group."""
    _member_of(tenant.group(cmd.group), cmd.member)
    tenant.trigger(GroupMemberRemoved, ctx, group_id=cmd.group, member=cmd.member)


class ReorderGroupMembers(Command, kw_only=True, tag="reorder_group_members"):
    """Put a group's members in a new order."""

    group: EntityId
    order: tuple[MemberRef, ...]


class GroupMembersReordered(TenantEvent):
    TOPIC = "callroute/GroupMembersReordered"
    group_id: str
    order: tuple[MemberRef, ...]

    def apply(self, tenant: Tenant) -> None:
        group = tenant.state.groups[self.group_id]
        by_ref = {msgspec.json.encode(m.ref): m for m in group.members}
        tenant.state.replace_group(self.group_id, members=tuple(by_ref[msgspec.json.encode(r)] for r in self.order))


@handles(ReorderGroupMembers)
def reorder_group_members(tenant: Tenant, cmd: ReorderGroupMembers, ctx: CommandContext) -> None:
    """Every current member exactly once (seed 003 "порядок приема звонков")."""
    group = tenant.group(cmd.group)
    current = sorted(msgspec.json.encode(m.ref) for m in group.members)
    if sorted(msgspec.json.encode(r) for r in cmd.order) != current:
        raise ValidationFailed("order must list every current member exactly once", field="order")
    tenant.trigger(GroupMembersReordered, ctx, group_id=cmd.group, order=cmd.order)


class SetGroupMemberExcluded(Command, kw_only=True, tag="set_group_member_excluded"):
    """Exclude a member temporarily, or bring them back."""

    group: EntityId
    member: MemberRef
    excluded: bool


class GroupMemberExclusionSet(TenantEvent):
    TOPIC = "callroute/GroupMemberExclusionSet"
    group_id: str
    member: MemberRef
    excluded: bool

    def apply(self, tenant: Tenant) -> None:
        tenant.state.replace_member(self.group_id, self.member, excluded=self.excluded)


@handles(SetGroupMemberExcluded)
def set_group_member_excluded(tenant: Tenant, cmd: SetGroupMemberExcluded, ctx: CommandContext) -> None:
    """A change: excluding an excluded member (or including an included one) is refused."""
    group = tenant.group(cmd.group)
    index = _member_of(group, cmd.member)
    if group.members[index].excluded == cmd.excluded:
        state = "already excluded" if cmd.excluded else "not excluded"
        raise ValidationFailed(f"{member_label(cmd.member)} is {state}", field="excluded")
    tenant.trigger(GroupMemberExclusionSet, ctx, group_id=cmd.group, member=cmd.member, excluded=cmd.excluded)


class SetGroupMemberRingTime(Command, kw_only=True, tag="set_group_member_ring_time"):
    """How long one member rings."""

    group: EntityId
    member: MemberRef
    ring_seconds: MemberRingSeconds


class GroupMemberRingTimeSet(TenantEvent):
    TOPIC = "callroute/GroupMemberRingTimeSet"
    group_id: str
    member: MemberRef
    ring_seconds: int

    def apply(self, tenant: Tenant) -> None:
        tenant.state.replace_member(self.group_id, self.member, ring_seconds=self.ring_seconds)


@handles(SetGroupMemberRingTime)
def set_group_member_ring_time(tenant: Tenant, cmd: SetGroupMemberRingTime, ctx: CommandContext) -> None:
    """A member of the group."""
    _member_of(tenant.group(cmd.group), cmd.member)
    tenant.trigger(GroupMemberRingTimeSet, ctx, group_id=cmd.group, member=cmd.member, ring_seconds=cmd.ring_seconds)


class ClearGroupMemberRingTime(Command, kw_only=True, tag="clear_group_member_ring_time"):
    """Take away one member's own ring time: the member then rings for as long as the group's timeout lets it."""

    group: EntityId
    member: MemberRef


class GroupMemberRingTimeCleared(TenantEvent):
    TOPIC = "callroute/GroupMemberRingTimeCleared"
    group_id: str
    member: MemberRef

    def apply(self, tenant: Tenant) -> None:
        tenant.state.replace_member(self.group_id, self.member, ring_seconds=None)


@handles(ClearGroupMemberRingTime)
def clear_group_member_ring_time(tenant: Tenant, cmd: ClearGroupMemberRingTime, ctx: CommandContext) -> None:
    """A member of the group that has a ring time of its own (a command file's way to say ``ring_seconds: null``)."""
    group = tenant.group(cmd.group)
    if group.members[_member_of(group, cmd.member)].ring_seconds is None:
        raise ValidationFailed(f"{member_label(cmd.member)} has no ring time of its own", field="member")
    tenant.trigger(GroupMemberRingTimeCleared, ctx, group_id=cmd.group, member=cmd.member)


class SetGroupSupervisors(Command, kw_only=True, tag="set_group_supervisors"):
    """A group's supervisors (Pro users)."""

    group: EntityId
    supervisors: tuple[Extension, ...]


class GroupSupervisorsSet(TenantEvent):
    TOPIC = "callroute/GroupSupervisorsSet"
    group_id: str
    supervisors: tuple[str, ...]

    def apply(self, tenant: Tenant) -> None:
        tenant.state.replace_group(self.group_id, supervisors=self.supervisors)


@handles(SetGroupSupervisors)
def set_group_supervisors(tenant: Tenant, cmd: SetGroupSupervisors, ctx: CommandContext) -> None:
    """Pro users only (seed 001 "endast Pro"), each once."""
    tenant.group(cmd.group)
    tenant.trigger(GroupSupervisorsSet, ctx, group_id=cmd.group, supervisors=_supervisors(tenant, cmd.supervisors))


class DeleteAnswerGroup(Command, kw_only=True, tag="delete_answer_group"):
    """Delete an answer group (refused while referred to)."""

    group: EntityId


class AnswerGroupDeleted(TenantEvent):
    TOPIC = "callroute/AnswerGroupDeleted"
    group_id: str

    def apply(self, tenant: Tenant) -> None:
        tenant.state.numbers_left(tenant.state.groups.pop(self.group_id).settings.number)


@handles(DeleteAnswerGroup)
def delete_answer_group(tenant: Tenant, cmd: DeleteAnswerGroup, ctx: CommandContext) -> None:
    """Refused while anything routes to it or a display number is linked to it."""
    tenant.group(cmd.group)
    tenant.refuse_if_referenced("group", cmd.group, f"answer group {cmd.group!r}", field="group")
    tenant.trigger(AnswerGroupDeleted, ctx, group_id=cmd.group)


class SetGroupRejectAnonymous(Command, kw_only=True, tag="set_group_reject_anonymous"):
    """Reject callers who withhold their number on every call to an answer group."""

    group: EntityId
    enabled: bool


class GroupRejectAnonymousSet(TenantEvent):
    TOPIC = "callroute/GroupRejectAnonymousSet"
    group_id: str
    enabled: bool

    def apply(self, tenant: Tenant) -> None:
        tenant.state.replace_group(self.group_id, reject_anonymous=self.enabled)


@handles(SetGroupRejectAnonymous)
def set_group_reject_anonymous(tenant: Tenant, cmd: SetGroupRejectAnonymous, ctx: CommandContext) -> None:
    """A group that exists; a change must change something."""
    if tenant.group(cmd.group).reject_anonymous == cmd.enabled:
        state = "already rejects" if cmd.enabled else "does not reject"
        raise ValidationFailed(f"answer group {cmd.group} {state} anonymous callers", field="enabled")
    tenant.trigger(GroupRejectAnonymousSet, ctx, group_id=cmd.group, enabled=cmd.enabled)


__all__ = [
    "AddGroupMember", "ClearGroupMemberRingTime", "CreateAnswerGroup",
    "DeleteAnswerGroup", "RemoveGroupMember", "ReorderGroupMembers",
    "SetGroupMemberExcluded", "SetGroupMemberRingTime", "SetGroupRejectAnonymous", "SetGroupSupervisors",
    "UpdateAnswerGroup",
]
