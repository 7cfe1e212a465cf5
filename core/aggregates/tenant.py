"""The Tenant aggregate: every call-handling setting of a tenant, changed only by commands.

A public command method validates and raises a named ``DomainError`` before anything
happens, then calls one private ``@event`` method whose body only assigns state (it
runs again on every replay). A command that fails records nothing.

The public commands live in mixins by concept (``commands_users.py`` and its siblings);
the ``@event`` methods stay in this class body, the only place eventsourcing registers them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from eventsourcing.domain import Aggregate, Snapshot, event
from eventsourcing.utils import register_topic

from core.aggregates import events as ev
from core.aggregates.catalog import AudioFile, BillingItem, DisplayNumber, ExtraKind, NumberRoute, PbxLink, Plan
from core.aggregates.chain import GENESIS
from core.aggregates.chained import Chained, command
from core.aggregates.commands_catalog import CatalogCommands
from core.aggregates.commands_defaults import DefaultCommands
from core.aggregates.commands_groups import GroupCommands
from core.aggregates.commands_services import ServiceCommands
from core.aggregates.commands_users import PinHasher, UserCommands
from core.aggregates.context import CommandContext
from core.aggregates.groups import AnswerGroup, CloudMember, GroupMember, GroupSettings, MemberRef, SipMember
from core.aggregates.handling import BUILT_IN, ApplyTo, CallHandling, first_set
from core.aggregates.identifiers import check_time_zone, tenant_id
from core.aggregates.references import REFERRING, Kind, exists, ref_of, referrers
from core.aggregates.rules import check_refs, check_remote, find, normalise
from core.aggregates.schedule import OutOfHours
from core.aggregates.services import CallQueue, ForwardingScheme, IvrMenu
from core.aggregates.state import Device, License, TenantState, User
from core.aggregates.targets import (
    Condition,
    Destination,
    DivertTarget,
    NoAnswerRule,
    ToExtension,
    ToNumber,
    ToRemote,
    ToVoicemail,
    UnassignedHandling,
)
from core.errors import InUseError, TenantClosedError, UnknownExtensionError, ValidationFailed

_INSPECTED = (*REFERRING, ToNumber)


class SnapshotState(msgspec.Struct):
    """What a tenant snapshot stores: the state, the chain head and the aggregate's instants."""

    state: TenantState
    head: str
    created_on: datetime
    modified_on: datetime


class TenantSnapshot(Snapshot):
    """A typed snapshot of a tenant, stamped with the instant of its last event (never the wall clock)."""

    TOPIC = "callroute/TenantSnapshot"
    state: SnapshotState  # type: ignore[assignment]

    @classmethod
    def take(cls, aggregate: Any) -> TenantSnapshot:
        return cls(  # type: ignore[call-arg]
            originator_id=aggregate.id,
            originator_version=aggregate.version,
            timestamp=aggregate.modified_on,
            topic="callroute/Tenant",
            state=SnapshotState(
                state=aggregate.state, head=aggregate.head, created_on=aggregate.created_on, modified_on=aggregate.modified_on
            ),
        )

    def mutate(self, _: None) -> Tenant:
        tenant = object.__new__(Tenant)
        tenant.__dict__.update(
            _id=self.originator_id,
            _version=self.originator_version,
            _created_on=self.state.created_on,
            _modified_on=self.state.modified_on,
            _pending_events=[],
            state=self.state.state,
            head=self.state.head,
        )
        return tenant


register_topic(TenantSnapshot.TOPIC, TenantSnapshot)


class Tenant(UserCommands, DefaultCommands, GroupCommands, ServiceCommands, CatalogCommands, Chained, Aggregate):
    """A customer organisation of the hosted PBX and its call-handling configuration."""

    TOPIC = "callroute/Tenant"
    Event = ev.TenantEvent
    Created = ev.TenantCreated
    TenantRenamed = ev.TenantRenamed
    TenantClosed = ev.TenantClosed
    UserAdded = ev.UserAdded
    UserProfileUpdated = ev.UserProfileUpdated
    UserRemoved = ev.UserRemoved
    NumberAssigned = ev.NumberAssigned
    NumberUnassigned = ev.NumberUnassigned
    DefaultNumberSet = ev.DefaultNumberSet
    PresentationNumberSet = ev.PresentationNumberSet
    DeviceAdded = ev.DeviceAdded
    DeviceRemoved = ev.DeviceRemoved
    PermanentRedirectSet = ev.PermanentRedirectSet
    NotificationsSet = ev.NotificationsSet
    DivertSet = ev.DivertSet
    OutOfHoursSet = ev.OutOfHoursSet
    RejectAnonymousSet = ev.RejectAnonymousSet
    UserCallHandlingChanged = ev.UserCallHandlingChanged
    UserCallHandlingReset = ev.UserCallHandlingReset
    VoicePortalPinSet = ev.VoicePortalPinSet
    TenantDefaultSet = ev.TenantDefaultSet
    UnassignedHandlingSet = ev.UnassignedHandlingSet
    UserLicenseSet = ev.UserLicenseSet
    PlanChanged = ev.PlanChanged
    ExtrasBought = ev.ExtrasBought
    PermissionGranted = ev.PermissionGranted
    PermissionRevoked = ev.PermissionRevoked
    PartnerSet = ev.PartnerSet
    PbxLinked = ev.PbxLinked
    PbxUnlinked = ev.PbxUnlinked
    AnswerGroupCreated = ev.AnswerGroupCreated
    AnswerGroupSettingsChanged = ev.AnswerGroupSettingsChanged
    GroupMemberAdded = ev.GroupMemberAdded
    GroupMemberRemoved = ev.GroupMemberRemoved
    GroupMembersReordered = ev.GroupMembersReordered
    GroupMemberExclusionSet = ev.GroupMemberExclusionSet
    GroupMemberRingTimeSet = ev.GroupMemberRingTimeSet
    GroupSupervisorsSet = ev.GroupSupervisorsSet
    AnswerGroupDeleted = ev.AnswerGroupDeleted
    QueueSaved = ev.QueueSaved
    QueueDeleted = ev.QueueDeleted
    IvrMenuSaved = ev.IvrMenuSaved
    IvrMenuDeleted = ev.IvrMenuDeleted
    SchemeSaved = ev.SchemeSaved
    SchemeDeleted = ev.SchemeDeleted
    NumberRouted = ev.NumberRouted
    NumberReleased = ev.NumberReleased
    DisplayNumberSaved = ev.DisplayNumberSaved
    DisplayNumberRemoved = ev.DisplayNumberRemoved
    AudioFileSaved = ev.AudioFileSaved
    AudioFileRemoved = ev.AudioFileRemoved
    Snapshot = TenantSnapshot  # type: ignore[assignment]

    state: TenantState
    head: str

    @event(ev.TenantCreated)
    def __init__(self, slug: str, name: str, time_zone: str, plan: Plan, actor: str, partner: str | None) -> None:
        self.state = TenantState(slug=slug, name=name, time_zone=time_zone, plan=plan)
        # A partner creates its customer's tenant and manages it; anyone else who
        # creates a tenant becomes its first telephony administrator.
        if partner is not None:
            self.state.partner = partner
        else:
            self.state.admins[actor] = ("telephony_admin",)
        self.head = GENESIS

    @classmethod
    def create(cls, ctx: CommandContext, slug: str, name: str, time_zone: str, plan: Plan) -> Tenant:
        """Create a tenant with a name, an IANA time zone and a plan."""
        check_time_zone(time_zone)
        if not name.strip():
            raise ValidationFailed("a tenant name must not be blank", field="name")
        tenant = cls._create(
            cls.Created,
            id=tenant_id(slug),
            timestamp=ctx.at,
            actor=ctx.actor.principal,
            partner=ctx.actor.partner,
            reason=ctx.reason,
            prev_hash=GENESIS,
            hash="",
            slug=slug,
            name=name.strip(),
            time_zone=time_zone,
            plan=plan,
        )
        tenant._seal(tenant.pending_events[-1])
        return tenant

    def _check_open(self) -> None:
        if self.state.closed:
            raise TenantClosedError(f"tenant {self.state.slug!r} is closed and accepts no changes", field="tenant")

    # -- lookups and shared validation ---------------------------------------------

    def user(self, extension: str, *, field: str = "extension") -> User:
        """The user with ``extension``, or ``UnknownExtensionError`` naming ``field``."""
        try:
            return self.state.users[extension]
        except KeyError:
            raise UnknownExtensionError(f"tenant {self.state.slug!r} has no extension {extension!r}", field=field) from None

    def _destination(self, value: Any, *, field: str, owner: str | None = None, mailbox_required: bool = False) -> Any:
        """Validate a destination (or anything holding destinations); return it in normal form.

        Numbers become E.164; every extension, group, queue, IVR, scheme, audio file
        and linked PBX it names must exist; members of other PBXs are checked against
        the directory; ``owner`` may not send calls to itself; where there is no user
        to own a voicemail box, a voicemail destination must name one.
        """
        if value is None:
            return None
        # One walk finds everything the checks below need.
        found = find(value, _INSPECTED, field)
        if any(isinstance(item, ToNumber) for item, _ in found):
            value = normalise(value, field)
        state = self.state
        for item, where in found:
            ref = ref_of(item)
            if ref is not None and not exists(state, *ref):
                check_refs(state, item, where)
            if owner is not None and isinstance(item, ToExtension) and item.extension == owner:
                raise ValidationFailed(f"extension {owner} cannot divert to itself", field=f"{where}.extension")
            if mailbox_required and isinstance(item, ToVoicemail) and item.extension is None:
                raise ValidationFailed("a voicemail destination here must name the mailbox's extension", field=where)
        remotes = [item for item, _ in found if isinstance(item, ToRemote | CloudMember | SipMember)]
        if remotes:
            check_remote(state, value, field, self._ctx.directory)
        return value

    def _refuse_if_referenced(self, kind: Kind, key: str, label: str, *, field: str) -> None:
        found = referrers(self.state, kind, key)
        if found:
            raise InUseError(f"{label} is still used by: {'; '.join(found)}", field=field)

    # -- the tenant's name, closing and defaults (commands in commands_defaults.py) ----------------

    @event(ev.TenantRenamed)
    def _renamed(self, name: str) -> None:
        self.state.name = name

    @event(ev.TenantClosed)
    def _closed(self) -> None:
        self.state.closed = True

    @event(ev.TenantDefaultSet)
    def _default_set(self, changes: CallHandling, apply_to: ApplyTo, transcription_users_may_change: bool | None) -> None:
        names = changes.set_fields()
        for extension, user in list(self.state.users.items()):
            if apply_to == "new_users":
                kept = {
                    name: first_set(getattr(self.state.defaults, name), getattr(BUILT_IN, name))
                    for name in names
                    if getattr(user.own, name) is None and getattr(user.pinned, name) is None
                }
                pinned = user.pinned.merged(CallHandling(**kept))
                self._replace_user(extension, pinned=pinned)
            elif apply_to == "unchanged_users":
                self._replace_user(extension, pinned=user.pinned.without(names))
            else:
                self._replace_user(extension, own=user.own.without(names), pinned=user.pinned.without(names))
        self.state.defaults = self.state.defaults.merged(changes)
        for name in names:
            self.state.default_scopes[name] = apply_to
        if transcription_users_may_change is not None:
            self.state.transcription_users_may_change = transcription_users_may_change

    @event(ev.UnassignedHandlingSet)
    def _unassigned_set(self, handling: UnassignedHandling) -> None:
        self.state.unassigned = handling

    # -- users (commands in commands_users.py) -----------------------------------------------------

    @event(ev.UserAdded)
    def _user_added(self, extension: str, name: str, email: str | None, license: License) -> None:
        self.state.users[extension] = User(
            extension=extension, name=name, email=email, added_at_version=self.version + 1, license=license
        )

    @event(ev.UserProfileUpdated)
    def _profile_updated(self, extension: str, name: str, email: str | None) -> None:
        self._replace_user(extension, name=name, email=email)

    @event(ev.UserRemoved)
    def _user_removed(self, extension: str) -> None:
        del self.state.users[extension]

    @event(ev.NumberAssigned)
    def _number_assigned(self, extension: str, number: str) -> None:
        user = self.state.users[extension]
        self._replace_user(extension, numbers=(*user.numbers, number), default_number=user.default_number or number)

    @event(ev.NumberUnassigned)
    def _number_unassigned(self, extension: str, number: str) -> None:
        user = self.state.users[extension]
        numbers = tuple(n for n in user.numbers if n != number)
        default = user.default_number if user.default_number != number else (numbers[0] if numbers else None)
        presentation = None if user.presentation_number == number else user.presentation_number
        self._replace_user(extension, numbers=numbers, default_number=default, presentation_number=presentation)

    @event(ev.DefaultNumberSet)
    def _default_number_set(self, extension: str, number: str) -> None:
        self._replace_user(extension, default_number=number)

    @event(ev.PresentationNumberSet)
    def _presentation_number_set(self, extension: str, number: str | None) -> None:
        self._replace_user(extension, presentation_number=number)

    @event(ev.DeviceAdded)
    def _device_added(self, extension: str, mac: str, model: str | None) -> None:
        user = self.state.users[extension]
        self._replace_user(extension, devices=(*user.devices, Device(mac=mac, model=model)))

    @event(ev.DeviceRemoved)
    def _device_removed(self, extension: str, mac: str) -> None:
        user = self.state.users[extension]
        self._replace_user(extension, devices=tuple(d for d in user.devices if d.mac != mac))

    @event(ev.PermanentRedirectSet)
    def _permanent_redirect_set(self, extension: str, number: str | None) -> None:
        self._replace_user(extension, permanent_redirect=number)

    @event(ev.NotificationsSet)
    def _notifications_set(self, extension: str, missed_call: bool, voicemail: bool) -> None:
        self._replace_user(extension, notify_missed_call=missed_call, notify_voicemail=voicemail)

    @event(ev.DivertSet)
    def _divert_set(self, extension: str, condition: Condition, target: DivertTarget, ring_seconds: int | None) -> None:
        user = self.state.users[extension]
        if condition == "always":
            self._replace_user(extension, forward_always=target)
        elif condition == "unreachable":
            self._replace_user(extension, unreachable=target)
        elif condition == "no_answer":
            rule = NoAnswerRule(target=target, ring_seconds=ring_seconds or 0)
            self._replace_user(extension, own=user.own.merged(CallHandling(no_answer=rule)))
        else:
            self._replace_user(extension, own=user.own.merged(CallHandling(busy=target)))

    @event(ev.OutOfHoursSet)
    def _out_of_hours_set(self, extension: str, out_of_hours: OutOfHours | None) -> None:
        self._replace_user(extension, out_of_hours=out_of_hours)

    @event(ev.RejectAnonymousSet)
    def _reject_anonymous_set(self, extension: str, enabled: bool) -> None:
        self._replace_user(extension, reject_anonymous=enabled)

    @event(ev.UserCallHandlingChanged)
    def _user_handling_changed(self, extension: str, changes: CallHandling) -> None:
        user = self.state.users[extension]
        self._replace_user(extension, own=user.own.merged(changes))

    @event(ev.UserCallHandlingReset)
    def _user_handling_reset(self, extension: str, settings: tuple[str, ...]) -> None:
        user = self.state.users[extension]
        self._replace_user(extension, own=user.own.without(settings))

    @event(ev.VoicePortalPinSet)
    def _pin_set(self, extension: str, pin_hash: str) -> None:
        self._replace_user(extension, pin_hash=pin_hash)

    @event(ev.UserLicenseSet)
    def _license_set(self, extension: str, license: License) -> None:
        self._replace_user(extension, license=license)

    # -- linked PBXs and answer groups (commands in commands_groups.py) ----------------------------

    @event(ev.PbxLinked)
    def _pbx_linked(self, link: PbxLink) -> None:
        self.state.pbx_links[link.id] = link

    @event(ev.PbxUnlinked)
    def _pbx_unlinked(self, pbx: str) -> None:
        del self.state.pbx_links[pbx]

    @event(ev.AnswerGroupCreated)
    def _group_created(self, group: AnswerGroup) -> None:
        self.state.groups[group.id] = group

    @event(ev.AnswerGroupSettingsChanged)
    def _group_settings_changed(self, group_id: str, settings: GroupSettings) -> None:
        old = self.state.groups[group_id].settings.display_number
        self._replace_group(group_id, settings=settings)
        display = self.state.display_numbers.get(old) if old is not None and old != settings.display_number else None
        if display is not None and group_id not in display.groups:
            # Agent and supervisor access exist only while the number is linked to the group.
            self.state.display_numbers[display.number] = msgspec.structs.replace(
                display,
                agent_access=tuple(g for g in display.agent_access if g != group_id),
                supervisor_access=tuple(g for g in display.supervisor_access if g != group_id),
            )

    @event(ev.GroupMemberAdded)
    def _member_added(self, group_id: str, member: GroupMember, position: int) -> None:
        members = list(self.state.groups[group_id].members)
        members.insert(position, member)
        self._replace_group(group_id, members=tuple(members))

    @event(ev.GroupMemberRemoved)
    def _member_removed(self, group_id: str, member: MemberRef) -> None:
        group = self.state.groups[group_id]
        self._replace_group(group_id, members=tuple(m for m in group.members if m.ref != member))

    @event(ev.GroupMembersReordered)
    def _members_reordered(self, group_id: str, order: tuple[MemberRef, ...]) -> None:
        group = self.state.groups[group_id]
        by_ref = {msgspec.json.encode(m.ref): m for m in group.members}
        self._replace_group(group_id, members=tuple(by_ref[msgspec.json.encode(r)] for r in order))

    @event(ev.GroupMemberExclusionSet)
    def _member_exclusion_set(self, group_id: str, member: MemberRef, excluded: bool) -> None:
        self._replace_member(group_id, member, excluded=excluded)

    @event(ev.GroupMemberRingTimeSet)
    def _member_ring_time_set(self, group_id: str, member: MemberRef, ring_seconds: int) -> None:
        self._replace_member(group_id, member, ring_seconds=ring_seconds)

    @event(ev.GroupSupervisorsSet)
    def _supervisors_set(self, group_id: str, supervisors: tuple[str, ...]) -> None:
        self._replace_group(group_id, supervisors=supervisors)

    @event(ev.AnswerGroupDeleted)
    def _group_deleted(self, group_id: str) -> None:
        del self.state.groups[group_id]

    # -- queues, IVR menus, forwarding schemes, number list (commands in commands_services.py) -----

    @event(ev.QueueSaved)
    def _queue_saved(self, queue_id: str, queue: CallQueue) -> None:
        self.state.queues[queue_id] = queue

    @event(ev.QueueDeleted)
    def _queue_deleted(self, queue_id: str) -> None:
        del self.state.queues[queue_id]

    @event(ev.IvrMenuSaved)
    def _ivr_saved(self, ivr_id: str, ivr: IvrMenu) -> None:
        self.state.ivrs[ivr_id] = ivr

    @event(ev.IvrMenuDeleted)
    def _ivr_deleted(self, ivr_id: str) -> None:
        del self.state.ivrs[ivr_id]

    @event(ev.SchemeSaved)
    def _scheme_saved(self, scheme_id: str, scheme: ForwardingScheme, warnings: tuple[str, ...]) -> None:
        self.state.schemes[scheme_id] = scheme
        self.state.scheme_warnings[scheme_id] = warnings

    @event(ev.SchemeDeleted)
    def _scheme_deleted(self, scheme_id: str) -> None:
        del self.state.schemes[scheme_id]
        del self.state.scheme_warnings[scheme_id]

    @event(ev.NumberRouted)
    def _number_routed(self, number: str, entry: Destination | None) -> None:
        self.state.numbers[number] = NumberRoute(number=number, entry=entry)

    @event(ev.NumberReleased)
    def _number_released(self, number: str) -> None:
        del self.state.numbers[number]

    # -- plan, permissions, display numbers, audio files (commands in commands_catalog.py) ---------

    @event(ev.PlanChanged)
    def _plan_changed(self, plan: Plan) -> None:
        self.state.plan = plan

    @event(ev.ExtrasBought)
    def _extras_bought(self, kind: ExtraKind, quantity: int, timestamp: datetime | None = None, actor: str = "") -> None:
        self.state.extras[kind] = self.state.extras.get(kind, 0) + quantity
        self.state.billing.append(BillingItem(kind=kind, quantity=quantity, bought_at=timestamp, bought_by=actor))  # type: ignore[arg-type]

    @event(ev.PermissionGranted)
    def _permission_granted(self, principal: str, permission: str) -> None:
        self.state.admins[principal] = (*self.state.admins.get(principal, ()), permission)

    @event(ev.PermissionRevoked)
    def _permission_revoked(self, principal: str, permission: str) -> None:
        remaining = tuple(p for p in self.state.admins[principal] if p != permission)
        if remaining:
            self.state.admins[principal] = remaining
        else:
            del self.state.admins[principal]

    @event(ev.PartnerSet)
    def _partner_set(self, managing_partner: str | None) -> None:
        self.state.partner = managing_partner

    @event(ev.DisplayNumberSaved)
    def _display_saved(self, display: DisplayNumber) -> None:
        self.state.display_numbers[display.number] = display
        for ext, user in list(self.state.users.items()):
            # A user no longer assigned the number stops presenting it (back to the default number).
            if user.presentation_number == display.number and ext not in display.users and display.number not in user.numbers:
                self._replace_user(ext, presentation_number=None)

    @event(ev.DisplayNumberRemoved)
    def _display_removed(self, number: str) -> None:
        del self.state.display_numbers[number]

    @event(ev.AudioFileSaved)
    def _audio_saved(self, audio: AudioFile) -> None:
        self.state.audio_files[audio.name] = audio

    @event(ev.AudioFileRemoved)
    def _audio_removed(self, name: str) -> None:
        del self.state.audio_files[name]

    # -- helpers ---------------------------------------------------------------------------

    def _replace_group(self, group_id: str, **changes: Any) -> None:
        self.state.groups[group_id] = msgspec.structs.replace(self.state.groups[group_id], **changes)

    def _replace_member(self, group_id: str, ref: MemberRef, **changes: Any) -> None:
        group = self.state.groups[group_id]
        members = tuple(msgspec.structs.replace(m, **changes) if m.ref == ref else m for m in group.members)
        self._replace_group(group_id, members=members)

    def _replace_user(self, extension: str, **changes: Any) -> None:
        self.state.users[extension] = msgspec.structs.replace(self.state.users[extension], **changes)


__all__ = ["PinHasher", "Tenant", "TenantSnapshot", "command"]
