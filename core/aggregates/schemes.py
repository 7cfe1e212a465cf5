"""Forwarding schemes (seed 004 "схема переадресації"): timed steps, sequential or parallel, working hours, backup."""

from __future__ import annotations

from core.aggregates.commanding import Command, handles
from core.aggregates.context import CommandContext
from core.aggregates.hours import check_hours
from core.aggregates.loops import refuse_loops
from core.aggregates.rules import find
from core.aggregates.services import ForwardingScheme, step_warnings
from core.aggregates.targets import EntityId, ToScheme
from core.aggregates.tenant import Tenant, TenantEvent
from core.errors import NotFoundError, ValidationFailed


class SaveForwardingScheme(Command, kw_only=True, tag="save_forwarding_scheme"):
    """Create or replace a forwarding scheme."""

    scheme: EntityId
    spec: ForwardingScheme


class SchemeSaved(TenantEvent):
    TOPIC = "callroute/SchemeSaved"
    scheme_id: str
    scheme: ForwardingScheme
    warnings: tuple[str, ...]

    def apply(self, tenant: Tenant) -> None:
        tenant.state.schemes[self.scheme_id] = self.scheme
        tenant.state.scheme_warnings[self.scheme_id] = self.warnings

    def warning_texts(self) -> tuple[str, ...]:
        return tuple([f"scheme {self.scheme_id}: {warning}" for warning in self.warnings])


@handles(SaveForwardingScheme)
def save_forwarding_scheme(tenant: Tenant, cmd: SaveForwardingScheme, ctx: CommandContext) -> None:
    """Never to itself; steps under 30 s (but voicemail) are recorded with a warning (seed 004: "рекомендовано > 30 с")."""
    scheme = cmd.spec
    if scheme.working_hours is not None:
        check_hours(scheme.working_hours, field="spec.working_hours")
    if scheme.hold_music is not None:
        tenant.audio(scheme.hold_music, field="spec.hold_music")
    for target, where in find(scheme, (ToScheme,), "spec"):
        if target.scheme == cmd.scheme:
            raise ValidationFailed("a scheme cannot send calls to itself", field=f"{where}.scheme")
    checked = tenant.destination(scheme, ctx, field="spec", mailbox_required=True)
    refuse_loops(tenant.state, [(("scheme", cmd.scheme), "spec.")], schemes={cmd.scheme: checked})
    tenant.trigger(SchemeSaved, ctx, scheme_id=cmd.scheme, scheme=checked, warnings=step_warnings(checked))


class DeleteForwardingScheme(Command, kw_only=True, tag="delete_forwarding_scheme"):
    """Delete a forwarding scheme (refused while referred to)."""

    scheme: EntityId


class SchemeDeleted(TenantEvent):
    TOPIC = "callroute/SchemeDeleted"
    scheme_id: str

    def apply(self, tenant: Tenant) -> None:
        del tenant.state.schemes[self.scheme_id]
        del tenant.state.scheme_warnings[self.scheme_id]


@handles(DeleteForwardingScheme)
def delete_forwarding_scheme(tenant: Tenant, cmd: DeleteForwardingScheme, ctx: CommandContext) -> None:
    """Refused while anything routes to it."""
    if cmd.scheme not in tenant.state.schemes:
        raise NotFoundError(f"there is no forwarding scheme {cmd.scheme!r}", field="scheme")
    tenant.refuse_if_referenced("scheme", cmd.scheme, f"forwarding scheme {cmd.scheme!r}", field="scheme")
    tenant.trigger(SchemeDeleted, ctx, scheme_id=cmd.scheme)


__all__ = ["DeleteForwardingScheme", "SaveForwardingScheme"]
