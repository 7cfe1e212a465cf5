"""A user's diverts (seed 000), out-of-hours schedule and anonymous rejection (seed 002), and own call handling (seed 001)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from core.aggregates.commanding import Command, handles
from core.aggregates.context import CommandContext
from core.aggregates.handling import BUILT_IN, CallHandling, DisplayNumberKind, SettingName, first_set
from core.aggregates.identifiers import Extension
from core.aggregates.loops import refuse_loops
from core.aggregates.schedule import OutOfHours, UnavailableBetween
from core.aggregates.state import User
from core.aggregates.targets import Condition, DivertTarget, Greeting, NoAnswerRule, RejectedHandling, RingSeconds
from core.aggregates.tenant import Tenant, TenantEvent
from core.errors import NotAllowedError, ValidationFailed


class SetDivert(Command, kw_only=True, tag="set_divert"):
    """Set one divert: always, no_answer (with ring_seconds), busy or unreachable."""

    extension: Extension
    condition: Condition
    target: DivertTarget
    ring_seconds: RingSeconds | None = None


class DivertSet(TenantEvent):
    TOPIC = "callroute/DivertSet"
    extension: str
    condition: Condition
    target: DivertTarget
    ring_seconds: int | None

    def apply(self, tenant: Tenant) -> None:
        state, user = tenant.state, tenant.state.users[self.extension]
        # The target is never None, so replacing the one own value is what merging CallHandling(<that value>) does.
        if self.condition == "always":
            state.replace_user(self.extension, forward_always=self.target)
        elif self.condition == "unreachable":
            state.replace_user(self.extension, unreachable=self.target)
        elif self.condition == "no_answer":
            rule = NoAnswerRule(target=self.target, ring_seconds=self.ring_seconds or 0)
            state.replace_user(self.extension, own=msgspec.structs.replace(user.own, no_answer=rule))
        else:
            state.replace_user(self.extension, own=msgspec.structs.replace(user.own, busy=self.target))


def _diverted(user: User, condition: Condition, target: DivertTarget, ring_seconds: int | None) -> User:
    """The user as ``DivertSet`` would leave it, for the loop check before the event is made."""
    if condition == "always":
        return msgspec.structs.replace(user, forward_always=target)
    if condition == "unreachable":
        return msgspec.structs.replace(user, unreachable=target)
    if condition == "no_answer":
        rule = NoAnswerRule(target=target, ring_seconds=ring_seconds or 0)
        return msgspec.structs.replace(user, own=msgspec.structs.replace(user.own, no_answer=rule))
    return msgspec.structs.replace(user, own=msgspec.structs.replace(user.own, busy=target))


@handles(SetDivert)
def set_divert(tenant: Tenant, cmd: SetDivert, ctx: CommandContext) -> None:
    """The target must exist and not be the user; forward always (or a number divert marked always) may not close a loop."""
    user = tenant.user(cmd.extension)
    target = tenant.destination(cmd.target, ctx, field="target", owner=cmd.extension)
    ring_seconds = cmd.ring_seconds
    if ring_seconds is not None and cmd.condition != "no_answer":
        raise ValidationFailed("ring_seconds applies only to the no_answer divert", field="ring_seconds")
    if cmd.condition == "no_answer" and ring_seconds is None:
        current = first_set(user.own.no_answer, user.pinned.no_answer, tenant.state.defaults.no_answer, BUILT_IN.no_answer)
        ring_seconds = current.ring_seconds  # type: ignore[union-attr]
    # A user's edges (loops.py) come from forward always and number diverts marked always; changing either can add
    # an edge, or remove the rule that hid a lower one (out of hours), so both are checked; unreachable never is.
    if cmd.condition != "unreachable":
        refuse_loops(tenant.state, [(("user", cmd.extension), "target")],
                     users={cmd.extension: _diverted(user, cmd.condition, target, ring_seconds)})
    tenant.trigger(DivertSet, ctx, extension=cmd.extension, condition=cmd.condition, target=target, ring_seconds=ring_seconds)


class SetOutOfHours(Command, kw_only=True, tag="set_out_of_hours"):
    """Set, or remove (omitted), the weekly out-of-hours schedule."""

    extension: Extension
    out_of_hours: OutOfHours | None = None


class OutOfHoursSet(TenantEvent):
    TOPIC = "callroute/OutOfHoursSet"
    extension: str
    out_of_hours: OutOfHours | None

    def apply(self, tenant: Tenant) -> None:
        tenant.state.replace_user(self.extension, out_of_hours=self.out_of_hours)


@handles(SetOutOfHours)
def set_out_of_hours(tenant: Tenant, cmd: SetOutOfHours, ctx: CommandContext) -> None:
    """Windows need a start and an end; calls while unavailable go somewhere that exists."""
    tenant.user(cmd.extension)
    schedule = cmd.out_of_hours
    if schedule is not None:
        for day, hours in schedule.days.items():
            if isinstance(hours, UnavailableBetween) and hours.start == hours.end:
                raise ValidationFailed(
                    "an unavailable window needs different start and end (use 'unavailable' for the whole day)",
                    field=f"out_of_hours.days.{day}.end",
                )
        target = tenant.destination(schedule.when_unavailable, ctx, field="out_of_hours.when_unavailable", owner=cmd.extension)
        schedule = msgspec.structs.replace(schedule, when_unavailable=target)
        refuse_loops(tenant.state, [(("user", cmd.extension), "out_of_hours.when_unavailable")],
                     users={cmd.extension: msgspec.structs.replace(tenant.state.users[cmd.extension], out_of_hours=schedule)})
    tenant.trigger(OutOfHoursSet, ctx, extension=cmd.extension, out_of_hours=schedule)


class SetRejectAnonymous(Command, kw_only=True, tag="set_reject_anonymous"):
    """Reject anonymous callers."""

    extension: Extension
    enabled: bool


class RejectAnonymousSet(TenantEvent):
    TOPIC = "callroute/RejectAnonymousSet"
    extension: str
    enabled: bool

    def apply(self, tenant: Tenant) -> None:
        tenant.state.replace_user(self.extension, reject_anonymous=self.enabled)


@handles(SetRejectAnonymous)
def set_reject_anonymous(tenant: Tenant, cmd: SetRejectAnonymous, ctx: CommandContext) -> None:
    """Callers who withhold their number get the rejected-call handling (seed 002)."""
    tenant.user(cmd.extension)
    tenant.trigger(RejectAnonymousSet, ctx, extension=cmd.extension, enabled=cmd.enabled)


class SetCallWaiting(Command, kw_only=True, tag="set_call_waiting"):
    """Call waiting on or off for a user."""

    extension: Extension
    enabled: bool


class SetVoicemailGreeting(Command, kw_only=True, tag="set_voicemail_greeting"):
    """The user's voicemail greeting: text-to-speech or an audio file."""

    extension: Extension
    greeting: Greeting


class SetTranscription(Command, kw_only=True, tag="set_transcription"):
    """Voicemail transcription for a user (if the tenant lets users change it)."""

    extension: Extension
    enabled: bool


class SetRejectedCallHandling(Command, kw_only=True, tag="set_rejected_call_handling"):
    """What happens to calls the user rejects."""

    extension: Extension
    handling: RejectedHandling


class SetDisplayNumberPreference(Command, kw_only=True, tag="set_display_number_preference"):
    """Show the user's mobile or landline number by default."""

    extension: Extension
    kind: DisplayNumberKind


class UserCallHandlingChanged(TenantEvent):
    TOPIC = "callroute/UserCallHandlingChanged"
    extension: str
    changes: CallHandling

    def apply(self, tenant: Tenant) -> None:
        user = tenant.state.users[self.extension]
        tenant.state.replace_user(self.extension, own=user.own.merged(self.changes))


def _set_own(tenant: Tenant, ctx: CommandContext, extension: str, setting: SettingName, value: object, field: str) -> None:
    """Record the user's own value of one call-handling setting (seed 001 "egna regler på användarnivå")."""
    tenant.user(extension)
    if setting == "transcription" and not tenant.state.transcription_users_may_change:
        raise NotAllowedError("the tenant does not let users change voicemail transcription", field=field)
    value = tenant.destination(value, ctx, field=field, owner=extension)
    tenant.trigger(UserCallHandlingChanged, ctx, extension=extension, changes=CallHandling(**{setting: value}))


@handles(SetCallWaiting)
def set_call_waiting(tenant: Tenant, cmd: SetCallWaiting, ctx: CommandContext) -> None:
    """With call waiting on, a busy user's divert on busy does not apply."""
    _set_own(tenant, ctx, cmd.extension, "call_waiting", cmd.enabled, "enabled")


@handles(SetVoicemailGreeting)
def set_voicemail_greeting(tenant: Tenant, cmd: SetVoicemailGreeting, ctx: CommandContext) -> None:
    """An audio-file greeting must name a file of the tenant."""
    _set_own(tenant, ctx, cmd.extension, "voicemail_greeting", cmd.greeting, "greeting")


@handles(SetTranscription)
def set_transcription(tenant: Tenant, cmd: SetTranscription, ctx: CommandContext) -> None:
    """Refused when the tenant does not let users change it."""
    _set_own(tenant, ctx, cmd.extension, "transcription", cmd.enabled, "enabled")


@handles(SetRejectedCallHandling)
def set_rejected_call_handling(tenant: Tenant, cmd: SetRejectedCallHandling, ctx: CommandContext) -> None:
    """A forward target must exist and not be the user."""
    _set_own(tenant, ctx, cmd.extension, "rejected", cmd.handling, "handling")


@handles(SetDisplayNumberPreference)
def set_display_number_preference(tenant: Tenant, cmd: SetDisplayNumberPreference, ctx: CommandContext) -> None:
    """Mobile or landline."""
    _set_own(tenant, ctx, cmd.extension, "display_number", cmd.kind, "kind")


class ResetCallHandling(Command, kw_only=True, tag="reset_call_handling"):
    """Forget the user's own values of these settings; tenant defaults apply again."""

    extension: Extension
    settings: Annotated[tuple[SettingName, ...], msgspec.Meta(min_length=1)]


class UserCallHandlingReset(TenantEvent):
    TOPIC = "callroute/UserCallHandlingReset"
    extension: str
    settings: tuple[str, ...]

    def apply(self, tenant: Tenant) -> None:
        user = tenant.state.users[self.extension]
        tenant.state.replace_user(self.extension, own=user.own.without(self.settings))


@handles(ResetCallHandling)
def reset_call_handling(tenant: Tenant, cmd: ResetCallHandling, ctx: CommandContext) -> None:
    """Each setting named must have an own value to forget."""
    user = tenant.user(cmd.extension)
    unset = [name for name in cmd.settings if getattr(user.own, name) is None]
    if unset:
        raise ValidationFailed(f"extension {cmd.extension} has no own value for {', '.join(unset)}", field="settings")
    # Forgetting an own value exposes the default, which may be a number divert marked always (loops.py).
    after = msgspec.structs.replace(user, own=user.own.without(tuple(cmd.settings)))
    refuse_loops(tenant.state, [(("user", cmd.extension), "settings")], users={cmd.extension: after})
    tenant.trigger(UserCallHandlingReset, ctx, extension=cmd.extension, settings=tuple(cmd.settings))


__all__ = [
    "ResetCallHandling", "SetCallWaiting", "SetDisplayNumberPreference", "SetDivert", "SetOutOfHours", "SetRejectAnonymous",
    "SetRejectedCallHandling", "SetTranscription", "SetVoicemailGreeting",
]
