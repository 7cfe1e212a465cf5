"""The tenant's commands on answer groups, their members and supervisors, and on linked PBXs."""

from __future__ import annotations

import msgspec

from core.aggregates.catalog import PbxKind, PbxLink
from core.aggregates.chained import command
from core.aggregates.commands_base import TenantCommands
from core.aggregates.groups import AnswerGroup, GroupMember, GroupSettings, MemberRef, member_label
from core.aggregates.identifiers import normalise_number
from core.aggregates.targets import ToGroup
from core.errors import AlreadyExistsError, NotFoundError, ValidationFailed


class GroupCommands(TenantCommands):
    """Commands on a tenant's answer groups and linked PBXs (mixed into ``Tenant``)."""

    # -- other PBXs (seed 003) ----------------------------------------------------------------

    @command
    def link_pbx(self, pbx: str, kind: PbxKind, name: str) -> None:
        """Link another cloud PBX or an office SIP PBX whose employees may take this tenant's calls."""
        if pbx in self.state.pbx_links:
            raise AlreadyExistsError(f"PBX {pbx!r} is already linked", field="pbx")
        directory = self._ctx.directory
        if directory is None:
            raise ValidationFailed("no PBX directory is configured", field="pbx")
        known = directory.cloud_members(pbx) if kind == "cloud" else directory.sip_internal_number_exists(pbx, "0")
        if known is None:
            raise NotFoundError(f"the directory knows no {kind} PBX {pbx!r}", field="pbx")
        self._pbx_linked(link=PbxLink(id=pbx, kind=kind, name=name))

    @command
    def unlink_pbx(self, pbx: str) -> None:
        """Unlink a PBX; refused while a member or fallback refers to it."""
        if pbx not in self.state.pbx_links:
            raise NotFoundError(f"there is no linked PBX {pbx!r}", field="pbx")
        self._refuse_if_referenced("pbx", pbx, f"PBX {pbx!r}", field="pbx")
        self._pbx_unlinked(pbx=pbx)

    # -- answer groups / departments (seeds 001, 003) -----------------------------------------

    def group(self, group_id: str, *, field: str = "group") -> AnswerGroup:
        """The answer group ``group_id``, or ``NotFoundError`` naming ``field``."""
        try:
            return self.state.groups[group_id]
        except KeyError:
            raise NotFoundError(f"there is no answer group {group_id!r}", field=field) from None

    def _group_settings(self, group_id: str, settings: GroupSettings) -> GroupSettings:
        if isinstance(settings.fallback, ToGroup) and settings.fallback.group == group_id:
            raise ValidationFailed("a group cannot fall back to itself", field="settings.fallback.group")
        current = self.state.groups.get(group_id)
        number = settings.number
        if number is not None:
            keep = f"answer group {group_id}" if current is not None else None
            number = self._free_number(number, field="settings.number", keep=keep)
        display = settings.display_number
        if display is not None:
            display = normalise_number(display, field="settings.display_number")
            if display not in self.state.display_numbers:
                raise NotFoundError(f"{display} is not one of the tenant's display numbers", field="settings.display_number")
        fallback = self._destination(settings.fallback, field="settings.fallback", mailbox_required=True)
        return msgspec.structs.replace(settings, number=number, display_number=display, fallback=fallback)

    def _member(self, member: GroupMember, field: str) -> GroupMember:
        return self._destination(member, field=field)

    def _supervisors(self, supervisors: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(supervisors)) != len(supervisors):
            raise ValidationFailed("a supervisor is listed twice", field="supervisors")
        for index, ext in enumerate(supervisors):
            user = self.user(ext, field=f"supervisors[{index}]")
            if user.license != "pro":
                raise ValidationFailed(f"extension {ext} is not a Pro user; only Pro users may supervise", field=f"supervisors[{index}]")
        return supervisors

    @command
    def create_answer_group(
        self,
        group_id: str,
        settings: GroupSettings,
        members: tuple[GroupMember, ...] = (),
        supervisors: tuple[str, ...] = (),
    ) -> None:
        """Create an answer group with its number, billing id, display number, members and supervisors."""
        if group_id in self.state.groups:
            raise AlreadyExistsError(f"answer group {group_id!r} already exists", field="group")
        self._check_allowance("answer_groups", field="group")
        settings = self._group_settings(group_id, settings)
        checked = tuple(self._member(m, f"members[{i}]") for i, m in enumerate(members))
        refs = [m.ref for m in checked]
        if len(set(map(msgspec.json.encode, refs))) != len(refs):
            raise ValidationFailed("a member is listed twice", field="members")
        group = AnswerGroup(id=group_id, settings=settings, members=checked, supervisors=self._supervisors(supervisors))
        self._group_created(group=group)

    @command
    def update_answer_group(self, group_id: str, settings: GroupSettings) -> None:
        """Replace a group's settings (name, number, billing id, display number, strategy, timeout, fallback)."""
        self.group(group_id)
        self._group_settings_changed(group_id=group_id, settings=self._group_settings(group_id, settings))

    @command
    def add_group_member(self, group_id: str, member: GroupMember, position: int | None = None) -> None:
        """Add a member (here, on another cloud PBX, or on a SIP PBX) at ``position`` (default: last)."""
        group = self.group(group_id)
        if group.member_index(member.ref) is not None:
            raise AlreadyExistsError(f"{member_label(member.ref)} is already a member of {group_id}", field="member")
        if position is not None and not 0 <= position <= len(group.members):
            raise ValidationFailed(f"position must be between 0 and {len(group.members)}", field="position")
        member = self._member(member, "member")
        self._member_added(group_id=group_id, member=member, position=len(group.members) if position is None else position)

    def _member_of(self, group: AnswerGroup, ref: MemberRef) -> int:
        index = group.member_index(ref)
        if index is None:
            raise NotFoundError(f"{member_label(ref)} is not a member of {group.id}", field="member")
        return index

    @command
    def remove_group_member(self, group_id: str, member: MemberRef) -> None:
        """Remove a member from a group."""
        self._member_of(self.group(group_id), member)
        self._member_removed(group_id=group_id, member=member)

    @command
    def reorder_group_members(self, group_id: str, order: tuple[MemberRef, ...]) -> None:
        """Put the members in a new order (seed 003 "порядок приема звонков"); ``order`` lists each member once."""
        group = self.group(group_id)
        current = sorted(msgspec.json.encode(m.ref) for m in group.members)
        if sorted(msgspec.json.encode(r) for r in order) != current:
            raise ValidationFailed("order must list every current member exactly once", field="order")
        self._members_reordered(group_id=group_id, order=order)

    @command
    def set_group_member_excluded(self, group_id: str, member: MemberRef, excluded: bool) -> None:
        """Temporarily exclude a member from the group's calls, or bring them back."""
        group = self.group(group_id)
        index = self._member_of(group, member)
        if group.members[index].excluded == excluded:
            state = "already excluded" if excluded else "not excluded"
            raise ValidationFailed(f"{member_label(member)} is {state}", field="excluded")
        self._member_exclusion_set(group_id=group_id, member=member, excluded=excluded)

    @command
    def set_group_member_ring_time(self, group_id: str, member: MemberRef, ring_seconds: int) -> None:
        """How long one member rings before the group moves on."""
        self._member_of(self.group(group_id), member)
        self._member_ring_time_set(group_id=group_id, member=member, ring_seconds=ring_seconds)

    @command
    def set_group_supervisors(self, group_id: str, supervisors: tuple[str, ...]) -> None:
        """Set a group's supervisors (Pro users only)."""
        self.group(group_id)
        self._supervisors_set(group_id=group_id, supervisors=self._supervisors(supervisors))

    @command
    def delete_answer_group(self, group_id: str) -> None:
        """Delete a group; refused while anything routes to it or a display number is linked to it."""
        self.group(group_id)
        self._refuse_if_referenced("group", group_id, f"answer group {group_id!r}", field="group")
        self._group_deleted(group_id=group_id)
