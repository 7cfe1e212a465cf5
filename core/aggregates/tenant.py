"""The Tenant aggregate: every call-handling setting of a tenant, changed only by commands.

A public command method validates and raises a named ``DomainError`` before anything
happens, then calls one private ``@event`` method whose body only assigns state (it
runs again on every replay). A command that fails records nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol, TypeVar

import msgspec
from eventsourcing.domain import Aggregate, ProgrammingError, Snapshot, event
from eventsourcing.utils import register_topic

from core.aggregates import events as ev
from core.aggregates.chain import GENESIS, event_hash
from core.aggregates.context import CommandContext
from core.aggregates.handling import BUILT_IN, ApplyTo, CallHandling, SettingName
from core.aggregates.identifiers import check_pin, check_time_zone, normalise_mac, normalise_number, tenant_id
from core.aggregates.schedule import OutOfHours, UnavailableBetween
from core.aggregates.state import Device, Plan, TenantState, User
from core.aggregates.targets import (
    Condition,
    DivertTarget,
    ForwardTo,
    NoAnswerRule,
    ToExtension,
    ToNumber,
    UnassignedHandling,
)
from core.codec import stable_topic, stored_state
from core.errors import (
    AlreadyExistsError,
    ConflictError,
    ForwardLoopError,
    InUseError,
    NotAllowedError,
    NotFoundError,
    TenantClosedError,
    UnknownExtensionError,
    ValidationFailed,
)

F = TypeVar("F", bound=Callable[..., Any])


class PinHasher(Protocol):
    """Turns a PIN into a salted slow hash; supplied by the edge (core draws no random salt)."""

    def hash(self, pin: str) -> str: ...


def command(method: F) -> F:
    """Run a public command under ``ctx`` (its first argument) on an open tenant."""

    @functools.wraps(method)
    def run(self: Tenant, ctx: CommandContext, /, *args: Any, **kwargs: Any) -> Any:
        if self.state.closed:
            raise TenantClosedError(f"tenant {self.state.slug!r} is closed and accepts no changes", field="tenant")
        self._check_instant(ctx.at)
        self._ctx = ctx
        try:
            return method(self, *args, **kwargs)
        finally:
            del self._ctx

    return run  # type: ignore[return-value]


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


class Tenant(Aggregate):
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
    Snapshot = TenantSnapshot  # type: ignore[assignment]

    state: TenantState
    head: str

    @event(ev.TenantCreated)
    def __init__(self, slug: str, name: str, time_zone: str, plan: Plan) -> None:
        self.state = TenantState(slug=slug, name=name, time_zone=time_zone, plan=plan)
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

    # -- chain and context -------------------------------------------------------

    def trigger_event(self, event_class: Any, **kwargs: Any) -> None:
        ctx: CommandContext | None = self.__dict__.get("_ctx")
        if ctx is None:
            msg = "tenant events are triggered only by public command methods (no command context)"
            raise ProgrammingError(msg)
        kwargs.update(
            timestamp=ctx.at,
            actor=ctx.actor.principal,
            partner=ctx.actor.partner,
            reason=ctx.reason,
            prev_hash=self.head,
            hash="",
        )
        super().trigger_event(event_class, **kwargs)
        self._seal(self.pending_events[-1])

    def _seal(self, new_event: Any) -> None:
        state = msgspec.to_builtins(stored_state(new_event))
        del state["hash"]
        digest = event_hash(stable_topic(type(new_event)), str(self.id), new_event.originator_version, state)
        object.__setattr__(new_event, "hash", digest)
        self.head = digest

    def _check_instant(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValidationFailed("the instant of a change must carry a time zone", field="at")
        if at < self.modified_on:
            raise ConflictError(
                f"the instant {at.isoformat()} is before the tenant's last change ({self.modified_on.isoformat()}); "
                "events of a tenant are recorded in time order",
                field="at",
            )

    # -- lookups and shared validation ---------------------------------------------

    def user(self, extension: str, *, field: str = "extension") -> User:
        """The user with ``extension``, or ``UnknownExtensionError`` naming ``field``."""
        try:
            return self.state.users[extension]
        except KeyError:
            raise UnknownExtensionError(f"tenant {self.state.slug!r} has no extension {extension!r}", field=field) from None

    def _target(self, target: Any, *, field: str, owner: str | None = None) -> Any:
        """Validate a divert target or handling; return it in normal form."""
        if isinstance(target, ToExtension):
            self.user(target.extension, field=f"{field}.extension")
            if owner is not None and target.extension == owner:
                raise ValidationFailed(f"extension {owner} cannot divert to itself", field=f"{field}.extension")
        elif isinstance(target, ToNumber):
            number = normalise_number(target.number, field=f"{field}.number")
            return msgspec.structs.replace(target, number=number)
        elif isinstance(target, ForwardTo):
            return ForwardTo(target=self._target(target.target, field=f"{field}.target", owner=owner))
        elif isinstance(target, NoAnswerRule):
            return msgspec.structs.replace(target, target=self._target(target.target, field=f"{field}.target", owner=owner))
        return target

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
    def add_user(self, extension: str, name: str, email: str | None = None) -> None:
        """Add a user with a new extension; tenant defaults apply to it."""
        if extension in self.state.users:
            raise AlreadyExistsError(f"extension {extension} already exists", field="extension")
        if not name.strip():
            raise ValidationFailed("a user name must not be blank", field="name")
        self._user_added(extension=extension, name=name.strip(), email=email)

    @event(ev.UserAdded)
    def _user_added(self, extension: str, name: str, email: str | None) -> None:
        self.state.users[extension] = User(extension=extension, name=name, email=email, added_at_version=self.version + 1)

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
        referrers = self.state.referrers_of(extension)
        if referrers:
            raise InUseError(f"extension {extension} is still a destination of: {'; '.join(referrers)}", field="extension")
        self._user_removed(extension=extension)

    @event(ev.UserRemoved)
    def _user_removed(self, extension: str) -> None:
        del self.state.users[extension]

    # -- numbers -------------------------------------------------------------------------

    def _number_owner(self, number: str) -> User | None:
        return next((u for u in self.state.users.values() if number in u.numbers), None)

    @command
    def assign_number(self, extension: str, number: str) -> None:
        """Assign a number to a user; the first one becomes the default number."""
        self.user(extension)
        number = normalise_number(number, field="number")
        owner = self._number_owner(number)
        if owner is not None:
            raise AlreadyExistsError(f"{number} is already assigned to extension {owner.extension}", field="number")
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
        normal = None if number is None else self._owned_number(user, number)
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
        target = self._target(target, field="target", owner=extension)
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
            target = self._target(out_of_hours.when_unavailable, field="out_of_hours.when_unavailable", owner=extension)
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
        normal = {name: self._target(getattr(changes, name), field=name, owner=extension) for name in names}
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
        normal = {name: self._target(getattr(changes, name), field=name) for name in names}
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
        self._unassigned_set(handling=self._target(handling, field="handling"))

    @event(ev.UnassignedHandlingSet)
    def _unassigned_set(self, handling: UnassignedHandling) -> None:
        self.state.unassigned = handling

    # -- helpers ---------------------------------------------------------------------------

    def _replace_user(self, extension: str, **changes: Any) -> None:
        self.state.users[extension] = msgspec.structs.replace(self.state.users[extension], **changes)


def _first_set(*values: Any) -> Any:
    """The first value that is not ``None`` (``False`` is a value)."""
    return next(v for v in values if v is not None)


__all__ = ["PinHasher", "Tenant", "TenantSnapshot", "command"]
