"""The Tenant aggregate: every call-handling setting of a tenant, changed only by commands.

A public command method validates and raises a named ``DomainError`` before anything
happens, then calls one private ``@event`` method whose body only assigns state (it
runs again on every replay). A command that fails records nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

import msgspec
from eventsourcing.domain import Aggregate, Snapshot, event
from eventsourcing.utils import register_topic

from core.aggregates import events as ev
from core.aggregates.catalog import (
    INCLUDED,
    AudioFile,
    BillingItem,
    DisplayNumber,
    ExtraKind,
    NumberRoute,
    PbxKind,
    PbxLink,
    Plan,
    allowance,
)
from core.aggregates.chain import GENESIS
from core.aggregates.chained import Chained, command
from core.aggregates.context import CommandContext
from core.aggregates.groups import AnswerGroup, CloudMember, GroupMember, GroupSettings, MemberRef, SipMember, member_label
from core.aggregates.handling import BUILT_IN, ApplyTo, CallHandling, SettingName
from core.aggregates.hours import check_hours
from core.aggregates.identifiers import check_pin, check_time_zone, normalise_mac, normalise_number, tenant_id
from core.aggregates.references import REFERRING, Kind, exists, ref_of, referrers
from core.aggregates.rules import check_refs, check_remote, find, normalise
from core.aggregates.schedule import OutOfHours, UnavailableBetween
from core.aggregates.services import CallQueue, ForwardingScheme, IvrMenu, step_warnings
from core.aggregates.state import Device, License, TenantState, User
from core.aggregates.targets import (
    Condition,
    Destination,
    DivertTarget,
    NoAnswerRule,
    ToExtension,
    ToGroup,
    ToNumber,
    ToRemote,
    ToScheme,
    ToVoicemail,
    UnassignedHandling,
)
from core.errors import (
    AlreadyExistsError,
    ConflictError,
    ForwardLoopError,
    InUseError,
    NotAllowedError,
    NotFoundError,
    PlanLimitError,
    TenantClosedError,
    UnknownExtensionError,
    ValidationFailed,
)

_INSPECTED = (*REFERRING, ToNumber)


class PinHasher(Protocol):
    """Turns a PIN into a salted slow hash; supplied by the edge (core draws no random salt)."""

    def hash(self, pin: str) -> str: ...


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


class Tenant(Chained, Aggregate):
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

    def _check_forward_loop(self, extension: str, target: DivertTarget) -> None:
        """Refuse a forward-always that would close a cycle of unconditional forwards."""
        path = [extension]
        current: DivertTarget = target
        while isinstance(current, ToExtension):
            path.append(current.extension)
            if current.extension in path[:-1]:
                chain = " → ".join(path)
                raise ForwardLoopError(f"forward-always would loop: {chain}", field="target")
            current = self.state.users[current.extension].forward_always

    # -- tenant ------------------------------------------------------------------------

    @command
    def rename(self, name: str) -> None:
        """Give the tenant a new display name."""
        if not name.strip():
            raise ValidationFailed("a tenant name must not be blank", field="name")
        self._renamed(name=name.strip())

    @event(ev.TenantRenamed)
    def _renamed(self, name: str) -> None:
        self.state.name = name

    @command
    def close(self) -> None:
        """Close the tenant: its history stays, no further change is accepted."""
        self._closed()

    @event(ev.TenantClosed)
    def _closed(self) -> None:
        self.state.closed = True

    # -- users -------------------------------------------------------------------------

    @command
    def add_user(self, extension: str, name: str, email: str | None = None, license: License = "basic") -> None:
        """Add a user with a new extension (basic or Pro licence); tenant defaults apply to it."""
        if extension in self.state.users:
            raise AlreadyExistsError(f"extension {extension} already exists", field="extension")
        if not name.strip():
            raise ValidationFailed("a user name must not be blank", field="name")
        self._user_added(extension=extension, name=name.strip(), email=email, license=license)

    @event(ev.UserAdded)
    def _user_added(self, extension: str, name: str, email: str | None, license: License) -> None:
        self.state.users[extension] = User(
            extension=extension, name=name, email=email, added_at_version=self.version + 1, license=license
        )

    @command
    def update_user_profile(self, extension: str, name: str | None = None, email: Any = msgspec.UNSET) -> None:
        """Change a user's full name and/or e-mail (``email=None`` clears it)."""
        user = self.user(extension)
        if name is not None and not name.strip():
            raise ValidationFailed("a user name must not be blank", field="name")
        new_name = user.name if name is None else name.strip()
        new_email = user.email if email is msgspec.UNSET else email
        if (new_name, new_email) == (user.name, user.email):
            raise ValidationFailed("the profile change changes nothing: give a new name or e-mail", field="name")
        self._profile_updated(extension=extension, name=new_name, email=new_email)

    @event(ev.UserProfileUpdated)
    def _profile_updated(self, extension: str, name: str, email: str | None) -> None:
        self._replace_user(extension, name=name, email=email)

    @command
    def remove_user(self, extension: str) -> None:
        """Remove a user; refused while any setting still sends calls to it."""
        self.user(extension)
        self._refuse_if_referenced("user", extension, f"extension {extension}", field="extension")
        self._user_removed(extension=extension)

    @event(ev.UserRemoved)
    def _user_removed(self, extension: str) -> None:
        del self.state.users[extension]

    # -- numbers -------------------------------------------------------------------------

    def _free_number(self, number: str, *, field: str, keep: str | None = None) -> str:
        """``number`` in E.164, refused if it already enters somewhere else than ``keep``."""
        normal = normalise_number(number, field=field)
        owner = self.state.number_owner(normal)
        if owner is not None and owner != keep:
            raise AlreadyExistsError(f"{normal} is already assigned to {owner}", field=field)
        return normal

    @command
    def assign_number(self, extension: str, number: str) -> None:
        """Assign a number to a user; the first one becomes the default number."""
        self.user(extension)
        number = self._free_number(number, field="number")
        self._number_assigned(extension=extension, number=number)

    @event(ev.NumberAssigned)
    def _number_assigned(self, extension: str, number: str) -> None:
        user = self.state.users[extension]
        self._replace_user(extension, numbers=(*user.numbers, number), default_number=user.default_number or number)

    def _owned_number(self, user: User, number: str, *, field: str = "number") -> str:
        normal = normalise_number(number, field=field)
        if normal not in user.numbers:
            raise NotFoundError(f"{normal} is not assigned to extension {user.extension}", field=field)
        return normal

    @command
    def unassign_number(self, extension: str, number: str) -> None:
        """Take a number from a user (and from its default/presentation roles)."""
        user = self.user(extension)
        self._number_unassigned(extension=extension, number=self._owned_number(user, number))

    @event(ev.NumberUnassigned)
    def _number_unassigned(self, extension: str, number: str) -> None:
        user = self.state.users[extension]
        numbers = tuple(n for n in user.numbers if n != number)
        default = user.default_number if user.default_number != number else (numbers[0] if numbers else None)
        presentation = None if user.presentation_number == number else user.presentation_number
        self._replace_user(extension, numbers=numbers, default_number=default, presentation_number=presentation)

    @command
    def set_default_number(self, extension: str, number: str) -> None:
        """Choose which of the user's numbers the app uses by default (seed 002)."""
        user = self.user(extension)
        self._default_number_set(extension=extension, number=self._owned_number(user, number))

    @event(ev.DefaultNumberSet)
    def _default_number_set(self, extension: str, number: str) -> None:
        self._replace_user(extension, default_number=number)

    @command
    def set_presentation_number(self, extension: str, number: str | None) -> None:
        """Choose the number shown on outgoing calls (``None``: the default number)."""
        user = self.user(extension)
        normal = None
        if number is not None:
            normal = normalise_number(number, field="number")
            display = self.state.display_numbers.get(normal)
            if normal not in user.numbers and (display is None or extension not in display.users):
                raise NotFoundError(
                    f"{normal} is neither assigned to extension {extension} nor a display number assigned to it", field="number"
                )
        self._presentation_number_set(extension=extension, number=normal)

    @event(ev.PresentationNumberSet)
    def _presentation_number_set(self, extension: str, number: str | None) -> None:
        self._replace_user(extension, presentation_number=number)

    # -- devices -------------------------------------------------------------------------

    @command
    def add_device(self, extension: str, mac: str, model: str | None = None) -> None:
        """Register hardware (a desk phone) to a user by its MAC address."""
        self.user(extension)
        mac = normalise_mac(mac, field="mac")
        for other in self.state.users.values():
            if any(d.mac == mac for d in other.devices):
                raise AlreadyExistsError(f"device {mac} is already registered to extension {other.extension}", field="mac")
        self._device_added(extension=extension, mac=mac, model=model)

    @event(ev.DeviceAdded)
    def _device_added(self, extension: str, mac: str, model: str | None) -> None:
        user = self.state.users[extension]
        self._replace_user(extension, devices=(*user.devices, Device(mac=mac, model=model)))

    @command
    def remove_device(self, extension: str, mac: str) -> None:
        """Unregister a device from a user."""
        user = self.user(extension)
        mac = normalise_mac(mac, field="mac")
        if not any(d.mac == mac for d in user.devices):
            raise NotFoundError(f"extension {extension} has no device {mac}", field="mac")
        self._device_removed(extension=extension, mac=mac)

    @event(ev.DeviceRemoved)
    def _device_removed(self, extension: str, mac: str) -> None:
        user = self.state.users[extension]
        self._replace_user(extension, devices=tuple(d for d in user.devices if d.mac != mac))

    @command
    def set_permanent_redirect(self, extension: str, number: str | None) -> None:
        """Redirect every call for the user's device to a number (seed 002 "Device"); ``None`` ends it."""
        self.user(extension)
        normal = None if number is None else normalise_number(number, field="number")
        self._permanent_redirect_set(extension=extension, number=normal)

    @event(ev.PermanentRedirectSet)
    def _permanent_redirect_set(self, extension: str, number: str | None) -> None:
        self._replace_user(extension, permanent_redirect=number)

    @command
    def set_notifications(self, extension: str, missed_call: bool | None = None, voicemail: bool | None = None) -> None:
        """Choose whether the user is notified of missed calls and of new voicemail."""
        user = self.user(extension)
        if missed_call is None and voicemail is None:
            raise ValidationFailed("give missed_call and/or voicemail", field="missed_call")
        self._notifications_set(
            extension=extension,
            missed_call=user.notify_missed_call if missed_call is None else missed_call,
            voicemail=user.notify_voicemail if voicemail is None else voicemail,
        )

    @event(ev.NotificationsSet)
    def _notifications_set(self, extension: str, missed_call: bool, voicemail: bool) -> None:
        self._replace_user(extension, notify_missed_call=missed_call, notify_voicemail=voicemail)

    # -- diverts, schedules, per-user handling ---------------------------------------------

    @command
    def set_divert(self, extension: str, condition: Condition, target: DivertTarget, ring_seconds: int | None = None) -> None:
        """Set one divert of a user (seed 000): always, no answer, busy or unreachable."""
        user = self.user(extension)
        target = self._destination(target, field="target", owner=extension)
        if ring_seconds is not None and condition != "no_answer":
            raise ValidationFailed("ring_seconds applies only to the no_answer divert", field="ring_seconds")
        if condition == "always":
            self._check_forward_loop(extension, target)
        if condition == "no_answer" and ring_seconds is None:
            current = _first_set(user.own.no_answer, user.pinned.no_answer, self.state.defaults.no_answer, BUILT_IN.no_answer)
            ring_seconds = current.ring_seconds  # type: ignore[union-attr]
        self._divert_set(extension=extension, condition=condition, target=target, ring_seconds=ring_seconds)

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

    @command
    def set_out_of_hours(self, extension: str, out_of_hours: OutOfHours | None) -> None:
        """Set (or with ``None`` remove) the user's weekly out-of-hours schedule (seed 002)."""
        self.user(extension)
        if out_of_hours is not None:
            for day, schedule in out_of_hours.days.items():
                if isinstance(schedule, UnavailableBetween) and schedule.start == schedule.end:
                    raise ValidationFailed(
                        "an unavailable window needs different start and end (use 'unavailable' for the whole day)",
                        field=f"out_of_hours.days.{day}.end",
                    )
            target = self._destination(out_of_hours.when_unavailable, field="out_of_hours.when_unavailable", owner=extension)
            out_of_hours = msgspec.structs.replace(out_of_hours, when_unavailable=target)
        self._out_of_hours_set(extension=extension, out_of_hours=out_of_hours)

    @event(ev.OutOfHoursSet)
    def _out_of_hours_set(self, extension: str, out_of_hours: OutOfHours | None) -> None:
        self._replace_user(extension, out_of_hours=out_of_hours)

    @command
    def set_reject_anonymous(self, extension: str, enabled: bool) -> None:
        """Reject callers who withhold their number (seed 002)."""
        self.user(extension)
        self._reject_anonymous_set(extension=extension, enabled=enabled)

    @event(ev.RejectAnonymousSet)
    def _reject_anonymous_set(self, extension: str, enabled: bool) -> None:
        self._replace_user(extension, reject_anonymous=enabled)

    @command
    def set_user_call_handling(self, extension: str, changes: CallHandling) -> None:
        """Set user-level call-handling values (call waiting, greeting, transcription, rejected, display)."""
        self.user(extension)
        names = changes.set_fields()
        if not names:
            raise ValidationFailed("no call-handling value given", field="changes")
        if changes.transcription is not None and not self.state.transcription_users_may_change:
            raise NotAllowedError("the tenant does not let users change voicemail transcription", field="transcription")
        normal = {name: self._destination(getattr(changes, name), field=name, owner=extension) for name in names}
        self._user_handling_changed(extension=extension, changes=CallHandling(**normal))

    @event(ev.UserCallHandlingChanged)
    def _user_handling_changed(self, extension: str, changes: CallHandling) -> None:
        user = self.state.users[extension]
        self._replace_user(extension, own=user.own.merged(changes))

    @command
    def reset_user_call_handling(self, extension: str, settings: tuple[SettingName, ...]) -> None:
        """Forget the user's own values of ``settings``, so the tenant defaults apply again."""
        user = self.user(extension)
        if not settings:
            raise ValidationFailed("name at least one setting to reset", field="settings")
        unset = [name for name in settings if getattr(user.own, name) is None]
        if unset:
            raise ValidationFailed(f"extension {extension} has no own value for {', '.join(unset)}", field="settings")
        self._user_handling_reset(extension=extension, settings=tuple(settings))

    @event(ev.UserCallHandlingReset)
    def _user_handling_reset(self, extension: str, settings: tuple[str, ...]) -> None:
        user = self.state.users[extension]
        self._replace_user(extension, own=user.own.without(settings))

    @command
    def set_voice_portal_pin(self, extension: str, pin: str, hasher: PinHasher) -> None:
        """Set the voice-portal PIN (exactly 6 digits); only its salted slow hash is recorded."""
        self.user(extension)
        check_pin(pin)
        self._pin_set(extension=extension, pin_hash=hasher.hash(pin))

    @event(ev.VoicePortalPinSet)
    def _pin_set(self, extension: str, pin_hash: str) -> None:
        self._replace_user(extension, pin_hash=pin_hash)

    # -- tenant defaults (seed 001 "Samtalsstyrning") -----------------------------------

    @command
    def set_default(self, changes: CallHandling, apply_to: ApplyTo, transcription_users_may_change: bool | None = None) -> None:
        """Set tenant call-handling defaults and choose which users they reach."""
        names = changes.set_fields()
        if not names and transcription_users_may_change is None:
            raise ValidationFailed("no default value given", field="changes")
        normal = {name: self._destination(getattr(changes, name), field=name) for name in names}
        self._default_set(
            changes=CallHandling(**normal), apply_to=apply_to, transcription_users_may_change=transcription_users_may_change
        )

    @event(ev.TenantDefaultSet)
    def _default_set(self, changes: CallHandling, apply_to: ApplyTo, transcription_users_may_change: bool | None) -> None:
        names = changes.set_fields()
        for extension, user in list(self.state.users.items()):
            if apply_to == "new_users":
                kept = {
                    name: _first_set(getattr(self.state.defaults, name), getattr(BUILT_IN, name))
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

    @command
    def set_unassigned_handling(self, handling: UnassignedHandling) -> None:
        """What callers of a tenant number that nobody answers to hear or reach."""
        self._unassigned_set(handling=self._destination(handling, field="handling"))

    @event(ev.UnassignedHandlingSet)
    def _unassigned_set(self, handling: UnassignedHandling) -> None:
        self.state.unassigned = handling

    # -- licences, plan and billing (seed 001) ---------------------------------------------

    @command
    def set_user_license(self, extension: str, license: License) -> None:
        """Give a user the basic or the Pro licence (only Pro users may supervise groups)."""
        user = self.user(extension)
        if license == "basic":
            supervising = [key for key, g in self.state.groups.items() if extension in g.supervisors]
            if supervising:
                raise InUseError(
                    f"extension {extension} supervises {', '.join(supervising)}; supervisors must be Pro users", field="license"
                )
        if user.license == license:
            raise ValidationFailed(f"extension {extension} already has the {license} licence", field="license")
        self._license_set(extension=extension, license=license)

    @event(ev.UserLicenseSet)
    def _license_set(self, extension: str, license: License) -> None:
        self._replace_user(extension, license=license)

    def _count(self, kind: ExtraKind) -> int:
        return len(self.state.groups) if kind == "answer_groups" else len(self.state.ivrs)

    def _check_allowance(self, kind: ExtraKind, *, plan: Plan | None = None, adding: int = 1, field: str) -> None:
        plan = plan or self.state.plan
        bought = self.state.extras.get(kind, 0)
        limit = allowance(plan, kind, bought)
        have = self._count(kind)
        if limit is not None and have + adding > limit:
            label = kind.replace("_", " ")
            raise PlanLimitError(
                f"plan {plan} includes {INCLUDED[plan][kind]} {label} and {bought} more were bought; "
                f"the tenant has {have}: buy more (buy_extras) or change plan",
                field=field,
            )

    @command
    def change_plan(self, plan: Plan) -> None:
        """Move to another plan; refused if the tenant has more groups or IVR menus than it would allow."""
        if plan == self.state.plan:
            raise ValidationFailed(f"the tenant is already on plan {plan}", field="plan")
        for kind in ("answer_groups", "ivr_menus"):
            self._check_allowance(kind, plan=plan, adding=0, field="plan")  # type: ignore[arg-type]
        self._plan_changed(plan=plan)

    @event(ev.PlanChanged)
    def _plan_changed(self, plan: Plan) -> None:
        self.state.plan = plan

    @command
    def buy_extras(self, kind: ExtraKind, quantity: int) -> None:
        """Buy more answer groups or IVR menus than the plan includes; billed on the next invoice."""
        if quantity < 1:
            raise ValidationFailed("buy at least one", field="quantity")
        if INCLUDED[self.state.plan][kind] is None:
            raise ValidationFailed(f"plan {self.state.plan} already has no limit on {kind.replace('_', ' ')}", field="kind")
        self._extras_bought(kind=kind, quantity=quantity)

    @event(ev.ExtrasBought)
    def _extras_bought(self, kind: ExtraKind, quantity: int, timestamp: datetime | None = None, actor: str = "") -> None:
        self.state.extras[kind] = self.state.extras.get(kind, 0) + quantity
        self.state.billing.append(BillingItem(kind=kind, quantity=quantity, bought_at=timestamp, bought_by=actor))  # type: ignore[arg-type]

    # -- permissions ------------------------------------------------------------------------

    @command
    def grant_permission(self, principal: str, permission: str) -> None:
        """Give a principal a permission on this tenant (``telephony_admin``: read and change telephony)."""
        if permission in self.state.admins.get(principal, ()):
            raise ValidationFailed(f"{principal!r} already has {permission}", field="principal")
        self._permission_granted(principal=principal, permission=permission)

    @event(ev.PermissionGranted)
    def _permission_granted(self, principal: str, permission: str) -> None:
        self.state.admins[principal] = (*self.state.admins.get(principal, ()), permission)

    @command
    def revoke_permission(self, principal: str, permission: str) -> None:
        """Take a permission away; the last administrator of a tenant no partner manages cannot be removed."""
        if permission not in self.state.admins.get(principal, ()):
            raise NotFoundError(f"{principal!r} does not have {permission}", field="principal")
        others = [p for p, perms in self.state.admins.items() if p != principal and "telephony_admin" in perms]
        if permission == "telephony_admin" and not others and self.state.partner is None:
            raise ConflictError("this would leave the tenant without any telephony administrator", field="principal")
        self._permission_revoked(principal=principal, permission=permission)

    @event(ev.PermissionRevoked)
    def _permission_revoked(self, principal: str, permission: str) -> None:
        remaining = tuple(p for p in self.state.admins[principal] if p != permission)
        if remaining:
            self.state.admins[principal] = remaining
        else:
            del self.state.admins[principal]

    @command
    def set_partner(self, partner: str | None) -> None:
        """Choose the channel partner that manages this customer (``None``: no partner)."""
        if partner == self.state.partner:
            raise ValidationFailed(f"the tenant's partner is already {partner!r}", field="partner")
        if partner is None and not any("telephony_admin" in p for p in self.state.admins.values()):
            raise ConflictError("the tenant has no telephony administrator of its own; grant one first", field="partner")
        self._partner_set(managing_partner=partner)

    @event(ev.PartnerSet)
    def _partner_set(self, managing_partner: str | None) -> None:
        self.state.partner = managing_partner

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

    @event(ev.PbxLinked)
    def _pbx_linked(self, link: PbxLink) -> None:
        self.state.pbx_links[link.id] = link

    @command
    def unlink_pbx(self, pbx: str) -> None:
        """Unlink a PBX; refused while a member or fallback refers to it."""
        if pbx not in self.state.pbx_links:
            raise NotFoundError(f"there is no linked PBX {pbx!r}", field="pbx")
        self._refuse_if_referenced("pbx", pbx, f"PBX {pbx!r}", field="pbx")
        self._pbx_unlinked(pbx=pbx)

    @event(ev.PbxUnlinked)
    def _pbx_unlinked(self, pbx: str) -> None:
        del self.state.pbx_links[pbx]

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

    @event(ev.AnswerGroupCreated)
    def _group_created(self, group: AnswerGroup) -> None:
        self.state.groups[group.id] = group

    @command
    def update_answer_group(self, group_id: str, settings: GroupSettings) -> None:
        """Replace a group's settings (name, number, billing id, display number, strategy, timeout, fallback)."""
        self.group(group_id)
        self._group_settings_changed(group_id=group_id, settings=self._group_settings(group_id, settings))

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

    @event(ev.GroupMemberAdded)
    def _member_added(self, group_id: str, member: GroupMember, position: int) -> None:
        members = list(self.state.groups[group_id].members)
        members.insert(position, member)
        self._replace_group(group_id, members=tuple(members))

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

    @event(ev.GroupMemberRemoved)
    def _member_removed(self, group_id: str, member: MemberRef) -> None:
        group = self.state.groups[group_id]
        self._replace_group(group_id, members=tuple(m for m in group.members if m.ref != member))

    @command
    def reorder_group_members(self, group_id: str, order: tuple[MemberRef, ...]) -> None:
        """Put the members in a new order (seed 003 "порядок приема звонков"); ``order`` lists each member once."""
        group = self.group(group_id)
        current = sorted(msgspec.json.encode(m.ref) for m in group.members)
        if sorted(msgspec.json.encode(r) for r in order) != current:
            raise ValidationFailed("order must list every current member exactly once", field="order")
        self._members_reordered(group_id=group_id, order=order)

    @event(ev.GroupMembersReordered)
    def _members_reordered(self, group_id: str, order: tuple[MemberRef, ...]) -> None:
        group = self.state.groups[group_id]
        by_ref = {msgspec.json.encode(m.ref): m for m in group.members}
        self._replace_group(group_id, members=tuple(by_ref[msgspec.json.encode(r)] for r in order))

    @command
    def set_group_member_excluded(self, group_id: str, member: MemberRef, excluded: bool) -> None:
        """Temporarily exclude a member from the group's calls, or bring them back."""
        group = self.group(group_id)
        index = self._member_of(group, member)
        if group.members[index].excluded == excluded:
            state = "already excluded" if excluded else "not excluded"
            raise ValidationFailed(f"{member_label(member)} is {state}", field="excluded")
        self._member_exclusion_set(group_id=group_id, member=member, excluded=excluded)

    @event(ev.GroupMemberExclusionSet)
    def _member_exclusion_set(self, group_id: str, member: MemberRef, excluded: bool) -> None:
        self._replace_member(group_id, member, excluded=excluded)

    @command
    def set_group_member_ring_time(self, group_id: str, member: MemberRef, ring_seconds: int) -> None:
        """How long one member rings before the group moves on."""
        self._member_of(self.group(group_id), member)
        self._member_ring_time_set(group_id=group_id, member=member, ring_seconds=ring_seconds)

    @event(ev.GroupMemberRingTimeSet)
    def _member_ring_time_set(self, group_id: str, member: MemberRef, ring_seconds: int) -> None:
        self._replace_member(group_id, member, ring_seconds=ring_seconds)

    @command
    def set_group_supervisors(self, group_id: str, supervisors: tuple[str, ...]) -> None:
        """Set a group's supervisors (Pro users only)."""
        self.group(group_id)
        self._supervisors_set(group_id=group_id, supervisors=self._supervisors(supervisors))

    @event(ev.GroupSupervisorsSet)
    def _supervisors_set(self, group_id: str, supervisors: tuple[str, ...]) -> None:
        self._replace_group(group_id, supervisors=supervisors)

    @command
    def delete_answer_group(self, group_id: str) -> None:
        """Delete a group; refused while anything routes to it or a display number is linked to it."""
        self.group(group_id)
        self._refuse_if_referenced("group", group_id, f"answer group {group_id!r}", field="group")
        self._group_deleted(group_id=group_id)

    @event(ev.AnswerGroupDeleted)
    def _group_deleted(self, group_id: str) -> None:
        del self.state.groups[group_id]

    # -- queues, IVR menus, forwarding schemes ------------------------------------------------

    @command
    def save_queue(self, queue_id: str, queue: CallQueue) -> None:
        """Create or replace a call queue (seed 004)."""
        if len(set(queue.agents)) != len(queue.agents):
            raise ValidationFailed("an agent is listed twice", field="spec.agents")
        for index, ext in enumerate(queue.agents):
            self.user(ext, field=f"spec.agents[{index}]")
        if queue.hold_music is not None:
            self._audio(queue.hold_music, field="spec.hold_music")
        queue = msgspec.structs.replace(
            queue,
            after_max_wait=self._destination(queue.after_max_wait, field="spec.after_max_wait", mailbox_required=True),
            when_no_agents=self._destination(queue.when_no_agents, field="spec.when_no_agents", mailbox_required=True),
        )
        self._queue_saved(queue_id=queue_id, queue=queue)

    @event(ev.QueueSaved)
    def _queue_saved(self, queue_id: str, queue: CallQueue) -> None:
        self.state.queues[queue_id] = queue

    @command
    def delete_queue(self, queue_id: str) -> None:
        """Delete a queue; refused while anything routes to it."""
        if queue_id not in self.state.queues:
            raise NotFoundError(f"there is no call queue {queue_id!r}", field="queue")
        self._refuse_if_referenced("queue", queue_id, f"call queue {queue_id!r}", field="queue")
        self._queue_deleted(queue_id=queue_id)

    @event(ev.QueueDeleted)
    def _queue_deleted(self, queue_id: str) -> None:
        del self.state.queues[queue_id]

    @command
    def save_ivr_menu(self, ivr_id: str, ivr: IvrMenu) -> None:
        """Create or replace an IVR menu (seed 001 "knappvalsmeny")."""
        if ivr_id not in self.state.ivrs:
            self._check_allowance("ivr_menus", field="ivr")
        number = ivr.number
        if number is not None:
            keep = f"IVR menu {ivr_id}" if ivr_id in self.state.ivrs else None
            number = self._free_number(number, field="spec.number", keep=keep)
        if ivr.opening_hours is not None:
            check_hours(ivr.opening_hours, field="spec.opening_hours")
        if ivr.opening_hours is not None and ivr.when_closed is None:
            raise ValidationFailed("a menu with opening hours needs a destination when closed", field="spec.when_closed")
        checked = self._destination(msgspec.structs.replace(ivr, number=number), field="spec", mailbox_required=True)
        self._ivr_saved(ivr_id=ivr_id, ivr=checked)

    @event(ev.IvrMenuSaved)
    def _ivr_saved(self, ivr_id: str, ivr: IvrMenu) -> None:
        self.state.ivrs[ivr_id] = ivr

    @command
    def delete_ivr_menu(self, ivr_id: str) -> None:
        """Delete an IVR menu; refused while anything routes to it."""
        if ivr_id not in self.state.ivrs:
            raise NotFoundError(f"there is no IVR menu {ivr_id!r}", field="ivr")
        self._refuse_if_referenced("ivr", ivr_id, f"IVR menu {ivr_id!r}", field="ivr")
        self._ivr_deleted(ivr_id=ivr_id)

    @event(ev.IvrMenuDeleted)
    def _ivr_deleted(self, ivr_id: str) -> None:
        del self.state.ivrs[ivr_id]

    @command
    def save_forwarding_scheme(self, scheme_id: str, scheme: ForwardingScheme) -> None:
        """Create or replace a forwarding scheme; steps under 30 s (but voicemail) are recorded with a warning."""
        if scheme.working_hours is not None:
            check_hours(scheme.working_hours, field="spec.working_hours")
        if scheme.hold_music is not None:
            self._audio(scheme.hold_music, field="spec.hold_music")
        for target, where in find(scheme, (ToScheme,), "spec"):
            if target.scheme == scheme_id:
                raise ValidationFailed("a scheme cannot send calls to itself", field=f"{where}.scheme")
        checked = self._destination(scheme, field="spec", mailbox_required=True)
        self._scheme_saved(scheme_id=scheme_id, scheme=checked, warnings=step_warnings(checked))

    @event(ev.SchemeSaved)
    def _scheme_saved(self, scheme_id: str, scheme: ForwardingScheme, warnings: tuple[str, ...]) -> None:
        self.state.schemes[scheme_id] = scheme
        self.state.scheme_warnings[scheme_id] = warnings

    @command
    def delete_forwarding_scheme(self, scheme_id: str) -> None:
        """Delete a scheme; refused while anything routes to it."""
        if scheme_id not in self.state.schemes:
            raise NotFoundError(f"there is no forwarding scheme {scheme_id!r}", field="scheme")
        self._refuse_if_referenced("scheme", scheme_id, f"forwarding scheme {scheme_id!r}", field="scheme")
        self._scheme_deleted(scheme_id=scheme_id)

    @event(ev.SchemeDeleted)
    def _scheme_deleted(self, scheme_id: str) -> None:
        del self.state.schemes[scheme_id]
        del self.state.scheme_warnings[scheme_id]

    # -- numbers ----------------------------------------------------------------------------------

    @command
    def route_number(self, number: str, entry: Destination | None) -> None:
        """Add a number to the tenant, or re-route one, entering at ``entry`` (``None``: unassigned)."""
        normal = self._free_number(number, field="number", keep="the tenant's number list")
        self._number_routed(number=normal, entry=self._destination(entry, field="entry", mailbox_required=True))

    @event(ev.NumberRouted)
    def _number_routed(self, number: str, entry: Destination | None) -> None:
        self.state.numbers[number] = NumberRoute(number=number, entry=entry)

    @command
    def release_number(self, number: str) -> None:
        """Give a number of the tenant's number list back."""
        normal = normalise_number(number, field="number")
        if normal not in self.state.numbers:
            raise NotFoundError(f"{normal} is not in the tenant's number list", field="number")
        self._number_released(number=normal)

    @event(ev.NumberReleased)
    def _number_released(self, number: str) -> None:
        del self.state.numbers[number]

    # -- display numbers (seed 001 "visningsnummer") --------------------------------------------

    @command
    def save_display_number(self, number: str, sms: bool, users: tuple[str, ...] = (), groups: tuple[str, ...] = ()) -> None:
        """Add or change a display number and whom it is assigned to."""
        normal = normalise_number(number, field="number")
        for index, ext in enumerate(users):
            self.user(ext, field=f"users[{index}]")
        for index, key in enumerate(groups):
            self.group(key, field=f"groups[{index}]")
        current = self.state.display_numbers.get(normal, DisplayNumber(number=normal))
        linked = set(groups) | {key for key, g in self.state.groups.items() if g.settings.display_number == normal}
        display = msgspec.structs.replace(
            current,
            sms=sms,
            users=tuple(dict.fromkeys(users)),
            groups=tuple(dict.fromkeys(groups)),
            agent_access=tuple(g for g in current.agent_access if g in linked),
            supervisor_access=tuple(g for g in current.supervisor_access if g in linked),
        )
        if display == self.state.display_numbers.get(normal):
            raise ValidationFailed("the display number already has these settings", field="number")
        self._display_saved(display=display)

    @event(ev.DisplayNumberSaved)
    def _display_saved(self, display: DisplayNumber) -> None:
        self.state.display_numbers[display.number] = display
        for ext, user in list(self.state.users.items()):
            # A user no longer assigned the number stops presenting it (back to the default number).
            if user.presentation_number == display.number and ext not in display.users and display.number not in user.numbers:
                self._replace_user(ext, presentation_number=None)

    def _display(self, number: str) -> DisplayNumber:
        normal = normalise_number(number, field="number")
        try:
            return self.state.display_numbers[normal]
        except KeyError:
            raise NotFoundError(f"{normal} is not a display number of the tenant", field="number") from None

    @command
    def set_display_number_access(self, number: str, group_id: str, agents: bool, supervisors: bool) -> None:
        """For a display number linked to an answer group: may its agents and/or supervisors use it."""
        display = self._display(number)
        group = self.group(group_id)
        if group_id not in display.groups and group.settings.display_number != display.number:
            raise ValidationFailed(f"{display.number} is not linked to answer group {group_id}", field="group")

        def toggled(current: tuple[str, ...], on: bool) -> tuple[str, ...]:
            rest = tuple(g for g in current if g != group_id)
            return (*rest, group_id) if on else rest

        changed = msgspec.structs.replace(
            display,
            agent_access=toggled(display.agent_access, agents),
            supervisor_access=toggled(display.supervisor_access, supervisors),
        )
        if changed == display:
            raise ValidationFailed(f"answer group {group_id} already has this access to {display.number}", field="agents")
        self._display_saved(display=changed)

    @command
    def remove_display_number(self, number: str) -> None:
        """Remove a display number; refused while it is linked to an answer group (seed 001) or in use."""
        display = self._display(number)
        linked = [f"answer group {g}" for g in display.groups] + [
            f"answer group {key}: display_number" for key, g in self.state.groups.items() if g.settings.display_number == display.number
        ]
        if linked:
            raise InUseError(f"{display.number} is linked to {'; '.join(linked)} and cannot be removed", field="number")
        self._refuse_if_referenced("display_number", display.number, f"display number {display.number}", field="number")
        self._display_removed(number=display.number)

    @event(ev.DisplayNumberRemoved)
    def _display_removed(self, number: str) -> None:
        del self.state.display_numbers[number]

    # -- audio files (seed 001 "ljudfiler") -------------------------------------------------------

    def _audio(self, name: str, *, field: str) -> AudioFile:
        try:
            return self.state.audio_files[name]
        except KeyError:
            raise NotFoundError(f"there is no audio file {name!r}", field=field) from None

    @command
    def add_audio_file(self, audio: AudioFile) -> None:
        """Register a recorded or uploaded audio file by name, language, content hash and duration."""
        if audio.name in self.state.audio_files:
            raise AlreadyExistsError(f"audio file {audio.name!r} already exists", field="audio.name")
        self._audio_saved(audio=audio)

    @command
    def update_audio_file(self, audio: AudioFile) -> None:
        """Change an audio file's language or content."""
        if self._audio(audio.name, field="audio.name") == audio:
            raise ValidationFailed("the audio file already has these settings", field="audio.name")
        self._audio_saved(audio=audio)

    @event(ev.AudioFileSaved)
    def _audio_saved(self, audio: AudioFile) -> None:
        self.state.audio_files[audio.name] = audio

    @command
    def remove_audio_file(self, name: str) -> None:
        """Delete an audio file; only when nothing uses it (the error lists what does)."""
        self._audio(name, field="name")
        self._refuse_if_referenced("audio", name, f"audio file {name!r}", field="name")
        self._audio_removed(name=name)

    @event(ev.AudioFileRemoved)
    def _audio_removed(self, name: str) -> None:
        del self.state.audio_files[name]

    def _replace_group(self, group_id: str, **changes: Any) -> None:
        self.state.groups[group_id] = msgspec.structs.replace(self.state.groups[group_id], **changes)

    def _replace_member(self, group_id: str, ref: MemberRef, **changes: Any) -> None:
        group = self.state.groups[group_id]
        members = tuple(msgspec.structs.replace(m, **changes) if m.ref == ref else m for m in group.members)
        self._replace_group(group_id, members=members)


    # -- helpers ---------------------------------------------------------------------------

    def _replace_user(self, extension: str, **changes: Any) -> None:
        self.state.users[extension] = msgspec.structs.replace(self.state.users[extension], **changes)


def _first_set(*values: Any) -> Any:
    """The first value that is not ``None`` (``False`` is a value)."""
    return next(v for v in values if v is not None)


__all__ = ["PinHasher", "Tenant", "TenantSnapshot", "command"]
