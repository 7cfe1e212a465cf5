"""The tenant's numbers and where each enters (seeds 001, 002), and display numbers (seed 001 "visningsnummer")."""

from __future__ import annotations

import msgspec

from core.aggregates.catalog import DisplayNumber, NumberRoute, NumberSettings
from core.aggregates.commanding import Command, handles
from core.aggregates.context import CommandContext
from core.aggregates.identifiers import Extension, PhoneNumber, normalise_number
from core.aggregates.loops import refuse_loops
from core.aggregates.state import TenantState
from core.aggregates.targets import Destination, EntityId
from core.aggregates.tenant import Tenant, TenantEvent
from core.errors import InUseError, NotFoundError, ValidationFailed


class RouteNumber(Command, kw_only=True, tag="route_number"):
    """Add a number to the tenant or re-route it (no entry: unassigned-number handling)."""

    number: PhoneNumber
    entry: Destination | None = None


class NumberRouted(TenantEvent):
    TOPIC = "callroute/NumberRouted"
    number: str
    entry: Destination | None

    def apply(self, tenant: Tenant) -> None:
        tenant.state.numbers[self.number] = NumberRoute(number=self.number, entry=self.entry)


@handles(RouteNumber)
def route_number(tenant: Tenant, cmd: RouteNumber, ctx: CommandContext) -> None:
    """A number not used elsewhere in the tenant, entering at a destination that exists."""
    normal = tenant.free_number(cmd.number, field="number", keep="the tenant's number list")
    entry = tenant.destination(cmd.entry, ctx, field="entry", mailbox_required=True)
    refuse_loops(tenant.state, [(("number", normal), "entry")], numbers={normal: entry})
    tenant.trigger(NumberRouted, ctx, number=normal, entry=entry)


class ReleaseNumber(Command, kw_only=True, tag="release_number"):
    """Remove a number from the tenant's number list."""

    number: PhoneNumber


class NumberReleased(TenantEvent):
    TOPIC = "callroute/NumberReleased"
    number: str

    def apply(self, tenant: Tenant) -> None:
        del tenant.state.numbers[self.number]
        tenant.state.numbers_left(self.number)


@handles(ReleaseNumber)
def release_number(tenant: Tenant, cmd: ReleaseNumber, ctx: CommandContext) -> None:
    """A number of the tenant's number list."""
    normal = normalise_number(cmd.number, field="number")
    if normal not in tenant.state.numbers:
        raise NotFoundError(f"{normal} is not in the tenant's number list", field="number")
    tenant.trigger(NumberReleased, ctx, number=normal)


class SaveDisplayNumber(Command, kw_only=True, tag="save_display_number"):
    """Add or change a display number and whom it is assigned to."""

    number: PhoneNumber
    sms: bool = False
    users: tuple[Extension, ...] = ()
    groups: tuple[EntityId, ...] = ()


class DisplayNumberSaved(TenantEvent):
    TOPIC = "callroute/DisplayNumberSaved"
    display: DisplayNumber

    def apply(self, tenant: Tenant) -> None:
        tenant.state.display_numbers[self.display.number] = self.display
        _stop_presenting(tenant.state, self.display)


def _stop_presenting(state: TenantState, display: DisplayNumber) -> None:
    """A user no longer assigned a display number stops presenting it (back to the default number).

    The event records the display number, not this consequence, so it runs on every replay.
    """
    for ext, user in list(state.users.items()):
        if user.presentation_number == display.number and ext not in display.users and display.number not in user.numbers:
            state.replace_user(ext, presentation_number=None)


@handles(SaveDisplayNumber)
def save_display_number(tenant: Tenant, cmd: SaveDisplayNumber, ctx: CommandContext) -> None:
    """Users and groups that exist; access stays only for groups still linked; a change must change something."""
    state = tenant.state
    normal = normalise_number(cmd.number, field="number")
    for index, ext in enumerate(cmd.users):
        tenant.user(ext, field=f"users[{index}]")
    for index, key in enumerate(cmd.groups):
        tenant.group(key, field=f"groups[{index}]")
    current = state.display_numbers.get(normal, DisplayNumber(number=normal))
    linked = set(cmd.groups) | {key for key, g in state.groups.items() if g.settings.display_number == normal}
    display = msgspec.structs.replace(
        current,
        sms=cmd.sms,
        users=tuple(dict.fromkeys(cmd.users)),
        groups=tuple(dict.fromkeys(cmd.groups)),
        agent_access=tuple(g for g in current.agent_access if g in linked),
        supervisor_access=tuple(g for g in current.supervisor_access if g in linked),
    )
    if display == state.display_numbers.get(normal):
        raise ValidationFailed("the display number already has these settings", field="number")
    tenant.trigger(DisplayNumberSaved, ctx, display=display)


def _display(tenant: Tenant, number: str) -> DisplayNumber:
    normal = normalise_number(number, field="number")
    try:
        return tenant.state.display_numbers[normal]
    except KeyError:
        raise NotFoundError(f"{normal} is not a display number of the tenant", field="number") from None


class SetDisplayNumberAccess(Command, kw_only=True, tag="set_display_number_access"):
    """Agents' and supervisors' access to a display number linked to an answer group."""

    number: PhoneNumber
    group: EntityId
    agents: bool
    supervisors: bool


@handles(SetDisplayNumberAccess)
def set_display_number_access(tenant: Tenant, cmd: SetDisplayNumberAccess, ctx: CommandContext) -> None:
    """Only for a group the number is linked to; a change must change something."""
    display = _display(tenant, cmd.number)
    group = tenant.group(cmd.group)
    if cmd.group not in display.groups and group.settings.display_number != display.number:
        raise ValidationFailed(f"{display.number} is not linked to answer group {cmd.group}", field="group")

    def toggled(current: tuple[str, ...], on: bool) -> tuple[str, ...]:
        rest = tuple(g for g in current if g != cmd.group)
        return (*rest, cmd.group) if on else rest

    changed = msgspec.structs.replace(
        display, agent_access=toggled(display.agent_access, cmd.agents),
        supervisor_access=toggled(display.supervisor_access, cmd.supervisors),
    )
    if changed == display:
        raise ValidationFailed(f"answer group {cmd.group} already has this access to {display.number}", field="agents")
    tenant.trigger(DisplayNumberSaved, ctx, display=changed)


class RemoveDisplayNumber(Command, kw_only=True, tag="remove_display_number"):
    """Remove a display number (refused while linked to an answer group)."""

    number: PhoneNumber


class DisplayNumberRemoved(TenantEvent):
    TOPIC = "callroute/DisplayNumberRemoved"
    number: str

    def apply(self, tenant: Tenant) -> None:
        del tenant.state.display_numbers[self.number]


@handles(RemoveDisplayNumber)
def remove_display_number(tenant: Tenant, cmd: RemoveDisplayNumber, ctx: CommandContext) -> None:
    """Refused while it is linked to an answer group (seed 001) or used."""
    display = _display(tenant, cmd.number)
    linked = [f"answer group {g}" for g in display.groups] + [
        f"answer group {key}: display_number" for key, g in tenant.state.groups.items() if g.settings.display_number == display.number
    ]
    if linked:
        raise InUseError(f"{display.number} is linked to {'; '.join(linked)} and cannot be removed", field="number")
    tenant.refuse_if_referenced("display_number", display.number, f"display number {display.number}", field="number")
    tenant.trigger(DisplayNumberRemoved, ctx, number=display.number)


class SetNumberRejectAnonymous(Command, kw_only=True, tag="set_number_reject_anonymous"):
    """Reject callers who withhold their number on one of the tenant's numbers, whatever it enters at."""

    number: PhoneNumber
    enabled: bool


class NumberRejectAnonymousSet(TenantEvent):
    TOPIC = "callroute/NumberRejectAnonymousSet"
    number: str
    enabled: bool

    def apply(self, tenant: Tenant) -> None:
        settings = msgspec.structs.replace(tenant.state.number_settings.get(self.number, NumberSettings()),
                                           reject_anonymous=self.enabled)
        if settings == NumberSettings():
            tenant.state.number_settings.pop(self.number, None)
        else:
            tenant.state.number_settings[self.number] = settings


@handles(SetNumberRejectAnonymous)
def set_number_reject_anonymous(tenant: Tenant, cmd: SetNumberRejectAnonymous, ctx: CommandContext) -> None:
    """A number of the tenant (a user's, a group's, an IVR menu's or the number list's); a change must change something."""
    normal = normalise_number(cmd.number, field="number")
    if tenant.state.number_owner(normal) is None:
        raise NotFoundError(f"{normal} is not a number of the tenant", field="number")
    current = tenant.state.number_settings.get(normal, NumberSettings()).reject_anonymous
    if current == cmd.enabled:
        state = "already rejects" if cmd.enabled else "does not reject"
        raise ValidationFailed(f"{normal} {state} anonymous callers", field="enabled")
    tenant.trigger(NumberRejectAnonymousSet, ctx, number=normal, enabled=cmd.enabled)


__all__ = ["ReleaseNumber", "RemoveDisplayNumber", "RouteNumber", "SaveDisplayNumber", "SetDisplayNumberAccess",
           "SetNumberRejectAnonymous"]
