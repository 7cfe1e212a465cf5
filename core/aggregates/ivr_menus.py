"""IVR menus (seed 001 "knappvalsmeny"): prompt, digit options, timeouts, opening hours and where calls go when closed."""

from __future__ import annotations

import msgspec

from core.aggregates.commanding import Command, handles
from core.aggregates.context import CommandContext
from core.aggregates.hours import check_hours
from core.aggregates.loops import refuse_loops
from core.aggregates.services import IvrMenu
from core.aggregates.targets import EntityId
from core.aggregates.tenant import Tenant, TenantEvent
from core.errors import NotFoundError, ValidationFailed


class SaveIvrMenu(Command, kw_only=True, tag="save_ivr_menu"):
    """Create or replace an IVR menu."""

    ivr: EntityId
    spec: IvrMenu


class IvrMenuSaved(TenantEvent):
    TOPIC = "callroute/IvrMenuSaved"
    ivr_id: str
    ivr: IvrMenu

    def apply(self, tenant: Tenant) -> None:
        before = tenant.state.ivrs.get(self.ivr_id)
        tenant.state.ivrs[self.ivr_id] = self.ivr
        if before is not None and before.number != self.ivr.number:
            tenant.state.numbers_left(before.number)


@handles(SaveIvrMenu)
def save_ivr_menu(tenant: Tenant, cmd: SaveIvrMenu, ctx: CommandContext) -> None:
    """Within the plan's allowance; its own free number; opening hours need a destination when closed."""
    ivr, exists = cmd.spec, cmd.ivr in tenant.state.ivrs
    if not exists:
        tenant.check_allowance("ivr_menus", field="ivr")
    number = ivr.number
    if number is not None:
        number = tenant.free_number(number, field="spec.number", keep=f"IVR menu {cmd.ivr}" if exists else None)
    if ivr.opening_hours is not None:
        check_hours(ivr.opening_hours, field="spec.opening_hours")
        if ivr.when_closed is None:
            raise ValidationFailed("a menu with opening hours needs a destination when closed", field="spec.when_closed")
    checked = tenant.destination(msgspec.structs.replace(ivr, number=number), ctx, field="spec", mailbox_required=True)
    starts = [(("ivr", cmd.ivr), "spec."), *([(("number", number), "spec.number")] if number is not None else [])]
    refuse_loops(tenant.state, starts, ivrs={cmd.ivr: checked})
    tenant.trigger(IvrMenuSaved, ctx, ivr_id=cmd.ivr, ivr=checked)


class DeleteIvrMenu(Command, kw_only=True, tag="delete_ivr_menu"):
    """Delete an IVR menu (refused while referred to)."""

    ivr: EntityId


class IvrMenuDeleted(TenantEvent):
    TOPIC = "callroute/IvrMenuDeleted"
    ivr_id: str

    def apply(self, tenant: Tenant) -> None:
        tenant.state.numbers_left(tenant.state.ivrs.pop(self.ivr_id).number)


@handles(DeleteIvrMenu)
def delete_ivr_menu(tenant: Tenant, cmd: DeleteIvrMenu, ctx: CommandContext) -> None:
    """Refused while anything routes to it."""
    if cmd.ivr not in tenant.state.ivrs:
        raise NotFoundError(f"there is no IVR menu {cmd.ivr!r}", field="ivr")
    tenant.refuse_if_referenced("ivr", cmd.ivr, f"IVR menu {cmd.ivr!r}", field="ivr")
    tenant.trigger(IvrMenuDeleted, ctx, ivr_id=cmd.ivr)


__all__ = ["DeleteIvrMenu", "SaveIvrMenu"]
