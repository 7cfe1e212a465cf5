"""The tenant itself: creating, renaming and closing it, its call-handling defaults (seed 001) and unassigned numbers."""

from __future__ import annotations

from core.aggregates.catalog import Plan
from core.aggregates.commanding import Command, handles
from core.aggregates.context import CommandContext
from core.aggregates.handling import BUILT_IN, ApplyTo, CallHandling, DisplayNumberKind, first_set
from core.aggregates.identifiers import Name, TimeZone
from core.aggregates.loops import DefaultChange, refuse_loops, users_reached
from core.aggregates.state import TenantState
from core.aggregates.targets import DEFAULT_RING_SECONDS, DivertTarget, Greeting, NoAnswerRule, RejectedHandling, RingSeconds
from core.aggregates.targets import UnassignedHandling
from core.aggregates.tenant import Tenant, TenantEvent
from core.errors import ConflictError, ValidationFailed


class CreateTenant(Command, kw_only=True, tag="create_tenant"):
    """Create a tenant (customer organisation)."""

    name: Name
    time_zone: TimeZone
    plan: Plan = "light"


@handles(CreateTenant, target="create")
def create_tenant(cmd: CreateTenant, ctx: CommandContext) -> Tenant:
    """A known IANA zone and a name that is not blank."""
    return Tenant.create(ctx, cmd.tenant, cmd.name, cmd.time_zone, cmd.plan)


class RenameTenant(Command, kw_only=True, tag="rename_tenant"):
    """Rename a tenant."""

    name: Name


class TenantRenamed(TenantEvent):
    TOPIC = "callroute/TenantRenamed"
    name: str

    def apply(self, tenant: Tenant) -> None:
        tenant.state.name = self.name


@handles(RenameTenant)
def rename_tenant(tenant: Tenant, cmd: RenameTenant, ctx: CommandContext) -> None:
    """A name that is not blank."""
    if not cmd.name.strip():
        raise ValidationFailed("a tenant name must not be blank", field="name")
    tenant.trigger(TenantRenamed, ctx, name=cmd.name.strip())


class CloseTenant(Command, kw_only=True, tag="close_tenant"):
    """Close a tenant; its history stays readable."""


class TenantClosed(TenantEvent):
    TOPIC = "callroute/TenantClosed"

    def apply(self, tenant: Tenant) -> None:
        tenant.state.closed = True


@handles(CloseTenant)
def close_tenant(tenant: Tenant, cmd: CloseTenant, ctx: CommandContext) -> None:
    """No further change is accepted afterwards."""
    tenant.trigger(TenantClosed, ctx)


class ReopenTenant(Command, kw_only=True, tag="reopen_tenant"):
    """Reopen a closed tenant: it accepts changes again, and its calls are routed again once confirmed live."""


class TenantReopened(TenantEvent):
    TOPIC = "callroute/TenantReopened"

    def apply(self, tenant: Tenant) -> None:
        tenant.state.closed = False


@handles(ReopenTenant, while_closed=True)
def reopen_tenant(tenant: Tenant, cmd: ReopenTenant, ctx: CommandContext) -> None:
    """The one change a closed tenant accepts; refused for a tenant that is open."""
    if not tenant.state.closed:
        raise ConflictError(f"tenant {tenant.state.slug!r} is not closed", field="tenant")
    tenant.trigger(TenantReopened, ctx)


class SetDefaultVoicemailGreeting(Command, kw_only=True, tag="set_default_voicemail_greeting"):
    """Tenant default voicemail greeting."""

    greeting: Greeting
    apply_to: ApplyTo


class SetDefaultTranscription(Command, kw_only=True, tag="set_default_transcription"):
    """Tenant default transcription, and whether users may change it."""

    enabled: bool
    users_may_change: bool | None = None
    apply_to: ApplyTo


class SetDefaultNoAnswer(Command, kw_only=True, tag="set_default_no_answer"):
    """Tenant default for unanswered calls."""

    target: DivertTarget
    ring_seconds: RingSeconds = DEFAULT_RING_SECONDS
    apply_to: ApplyTo


class SetDefaultBusy(Command, kw_only=True, tag="set_default_busy"):
    """Tenant default for busy lines, and call waiting."""

    target: DivertTarget | None = None
    call_waiting: bool | None = None
    apply_to: ApplyTo


class SetDefaultRejectedCallHandling(Command, kw_only=True, tag="set_default_rejected_call_handling"):
    """Tenant default for rejected calls: voicemail, message and hang up, busy tone, forward."""

    handling: RejectedHandling
    apply_to: ApplyTo


class SetDefaultDisplayNumber(Command, kw_only=True, tag="set_default_display_number"):
    """Tenant default display number: mobile or landline."""

    kind: DisplayNumberKind
    apply_to: ApplyTo


class TenantDefaultSet(TenantEvent):
    TOPIC = "callroute/TenantDefaultSet"
    changes: CallHandling
    apply_to: ApplyTo
    transcription_users_may_change: bool | None

    def apply(self, tenant: Tenant) -> None:
        reach_users(tenant.state, self.changes, self.apply_to)
        tenant.state.defaults = tenant.state.defaults.merged(self.changes)
        for name in self.changes.set_fields():
            tenant.state.default_scopes[name] = self.apply_to
        if self.transcription_users_may_change is not None:
            tenant.state.transcription_users_may_change = self.transcription_users_may_change


def reach_users(state: TenantState, changes: CallHandling, apply_to: ApplyTo) -> None:
    """What a new default does to each existing user (seed 001: "gäller nya / oförändrade / alla användare").

    The event records the default and its scope, not each user's consequence, so this
    runs on every replay: ``new_users`` pins what existing users had, ``unchanged_users``
    drops those pins, ``all_users`` also clears the users' own values of those settings.
    """
    names = changes.set_fields()
    for extension, user in list(state.users.items()):
        if apply_to == "new_users":
            kept = {
                name: first_set(getattr(state.defaults, name), getattr(BUILT_IN, name))
                for name in names
                if getattr(user.own, name) is None and getattr(user.pinned, name) is None
            }
            state.replace_user(extension, pinned=user.pinned.merged(CallHandling(**kept)))
        elif apply_to == "unchanged_users":
            state.replace_user(extension, pinned=user.pinned.without(names))
        else:
            state.replace_user(extension, own=user.own.without(names), pinned=user.pinned.without(names))


def _set_default(tenant: Tenant, ctx: CommandContext, changes: CallHandling, apply_to: ApplyTo, *,
                 users_may_change: bool | None = None) -> None:
    tenant.trigger(TenantDefaultSet, ctx, changes=changes, apply_to=apply_to, transcription_users_may_change=users_may_change)


@handles(SetDefaultVoicemailGreeting)
def set_default_voicemail_greeting(tenant: Tenant, cmd: SetDefaultVoicemailGreeting, ctx: CommandContext) -> None:
    """An audio-file greeting must name a file of the tenant."""
    greeting = tenant.destination(cmd.greeting, ctx, field="greeting")
    _set_default(tenant, ctx, CallHandling(voicemail_greeting=greeting), cmd.apply_to)


@handles(SetDefaultTranscription)
def set_default_transcription(tenant: Tenant, cmd: SetDefaultTranscription, ctx: CommandContext) -> None:
    """And whether users may change it themselves ("om användarna själva får ändra")."""
    _set_default(tenant, ctx, CallHandling(transcription=cmd.enabled), cmd.apply_to, users_may_change=cmd.users_may_change)


@handles(SetDefaultNoAnswer)
def set_default_no_answer(tenant: Tenant, cmd: SetDefaultNoAnswer, ctx: CommandContext) -> None:
    """The target must exist; a number divert marked always may not close a loop for the users it reaches."""
    rule = NoAnswerRule(target=tenant.destination(cmd.target, ctx, field="target"), ring_seconds=cmd.ring_seconds)
    _refuse_default_loops(tenant, DefaultChange("no_answer", rule, cmd.apply_to))
    _set_default(tenant, ctx, CallHandling(no_answer=rule), cmd.apply_to)


@handles(SetDefaultBusy)
def set_default_busy(tenant: Tenant, cmd: SetDefaultBusy, ctx: CommandContext) -> None:
    """A busy target, call waiting, or both."""
    if cmd.target is None and cmd.call_waiting is None:
        raise ValidationFailed("no default value given: give target and/or call_waiting", field="target")
    target = tenant.destination(cmd.target, ctx, field="target")
    if target is not None:
        _refuse_default_loops(tenant, DefaultChange("busy", target, cmd.apply_to))
    _set_default(tenant, ctx, CallHandling(busy=target, call_waiting=cmd.call_waiting), cmd.apply_to)


def _refuse_default_loops(tenant: Tenant, change: DefaultChange) -> None:
    """Check each user a new default reaches (``loops.py``).

    A number divert marked always hands calls on by itself; a default that replaces one (or, for all users,
    clears users' own) can expose a lower rule such as out of hours, so every change is checked.
    """
    users = users_reached(tenant.state, change.setting, change.apply_to)
    refuse_loops(tenant.state, [(("user", ext), "target") for ext in users], default=change)


@handles(SetDefaultRejectedCallHandling)
def set_default_rejected_call_handling(tenant: Tenant, cmd: SetDefaultRejectedCallHandling, ctx: CommandContext) -> None:
    """A forward target must exist."""
    handling = tenant.destination(cmd.handling, ctx, field="handling")
    _set_default(tenant, ctx, CallHandling(rejected=handling), cmd.apply_to)


@handles(SetDefaultDisplayNumber)
def set_default_display_number(tenant: Tenant, cmd: SetDefaultDisplayNumber, ctx: CommandContext) -> None:
    """Mobile or landline."""
    _set_default(tenant, ctx, CallHandling(display_number=cmd.kind), cmd.apply_to)


class SetUnassignedNumberHandling(Command, kw_only=True, tag="set_unassigned_number_handling"):
    """What happens to calls to the tenant's numbers that route nowhere."""

    handling: UnassignedHandling


class UnassignedHandlingSet(TenantEvent):
    TOPIC = "callroute/UnassignedHandlingSet"
    handling: UnassignedHandling

    def apply(self, tenant: Tenant) -> None:
        tenant.state.unassigned = self.handling


@handles(SetUnassignedNumberHandling)
def set_unassigned_number_handling(tenant: Tenant, cmd: SetUnassignedNumberHandling, ctx: CommandContext) -> None:
    """A forward target must exist, and may not lead calls back to a number that routes nowhere."""
    handling = tenant.destination(cmd.handling, ctx, field="handling")
    unassigned = [number for number, route in tenant.state.numbers.items() if route.entry is None]
    refuse_loops(tenant.state, [(("number", number), "handling.target") for number in unassigned], unassigned=handling)
    tenant.trigger(UnassignedHandlingSet, ctx, handling=handling)


__all__ = [
    "CloseTenant", "CreateTenant", "RenameTenant", "ReopenTenant", "SetDefaultBusy", "SetDefaultDisplayNumber", "SetDefaultNoAnswer",
    "SetDefaultRejectedCallHandling", "SetDefaultTranscription", "SetDefaultVoicemailGreeting", "SetUnassignedNumberHandling",
]
