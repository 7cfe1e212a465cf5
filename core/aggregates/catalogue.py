"""What a tenant has and who may act for it: plan and extras (seed 001), permissions and partner (seed 002), audio files."""

from __future__ import annotations

from typing import Annotated

import msgspec

from core.aggregates.access import Permission
from core.aggregates.catalog import INCLUDED, AudioFile, BillingItem, ExtraKind, Plan
from core.aggregates.commanding import Command, handles
from core.aggregates.context import CommandContext
from core.aggregates.identifiers import Name, Principal
from core.aggregates.tenant import Tenant, TenantEvent
from core.errors import AlreadyExistsError, ConflictError, NotFoundError, ValidationFailed

PrincipalId = Principal


class ChangePlan(Command, kw_only=True, tag="change_plan"):
    """Move the tenant to the Light or Unlimited plan."""

    plan: Plan


class PlanChanged(TenantEvent):
    TOPIC = "callroute/PlanChanged"
    plan: Plan

    def apply(self, tenant: Tenant) -> None:
        tenant.state.plan = self.plan


@handles(ChangePlan)
def change_plan(tenant: Tenant, cmd: ChangePlan, ctx: CommandContext) -> None:
    """Refused if the tenant has more answer groups or IVR menus than the new plan (and extras) allow."""
    if cmd.plan == tenant.state.plan:
        raise ValidationFailed(f"the tenant is already on plan {cmd.plan}", field="plan")
    for kind in ("answer_groups", "ivr_menus"):
        tenant.check_allowance(kind, plan=cmd.plan, adding=0, field="plan")  # type: ignore[arg-type]
    tenant.trigger(PlanChanged, ctx, plan=cmd.plan)


class BuyExtras(Command, kw_only=True, tag="buy_extras"):
    """Buy answer groups or IVR menus beyond the plan; billed on the next invoice."""

    kind: ExtraKind
    quantity: Annotated[int, msgspec.Meta(ge=1, le=1000)]


class ExtrasBought(TenantEvent):
    TOPIC = "callroute/ExtrasBought"
    kind: ExtraKind
    quantity: int

    def apply(self, tenant: Tenant) -> None:
        state = tenant.state
        state.extras[self.kind] = state.extras.get(self.kind, 0) + self.quantity
        state.billing.append(BillingItem(kind=self.kind, quantity=self.quantity, bought_at=self.timestamp, bought_by=self.actor))


@handles(BuyExtras)
def buy_extras(tenant: Tenant, cmd: BuyExtras, ctx: CommandContext) -> None:
    """Only where the plan has a limit ("köp fler"; billed on the next invoice)."""
    if INCLUDED[tenant.state.plan][cmd.kind] is None:
        raise ValidationFailed(f"plan {tenant.state.plan} already has no limit on {cmd.kind.replace('_', ' ')}", field="kind")
    tenant.trigger(ExtrasBought, ctx, kind=cmd.kind, quantity=cmd.quantity)


class GrantPermission(Command, kw_only=True, tag="grant_permission"):
    """Give a principal a permission on the tenant: telephony_admin (read and change) or auditor (read, verify, history)."""

    principal: PrincipalId
    permission: Permission = "telephony_admin"


class PermissionGranted(TenantEvent):
    TOPIC = "callroute/PermissionGranted"
    principal: str
    permission: str

    def apply(self, tenant: Tenant) -> None:
        admins = tenant.state.admins
        admins[self.principal] = (*admins.get(self.principal, ()), self.permission)


@handles(GrantPermission)
def grant_permission(tenant: Tenant, cmd: GrantPermission, ctx: CommandContext) -> None:
    """``telephony_admin`` lets a principal read and change the tenant's telephony (seed 001 "Telefonisystem");
    ``auditor`` lets it read everything of the tenant, verify it and read its history, and change nothing."""
    if cmd.permission in tenant.state.admins.get(cmd.principal, ()):
        raise ValidationFailed(f"{cmd.principal!r} already has {cmd.permission}", field="principal")
    tenant.trigger(PermissionGranted, ctx, principal=cmd.principal, permission=cmd.permission)


class RevokePermission(Command, kw_only=True, tag="revoke_permission"):
    """Take a permission away from a principal."""

    principal: PrincipalId
    permission: Permission = "telephony_admin"


class PermissionRevoked(TenantEvent):
    TOPIC = "callroute/PermissionRevoked"
    principal: str
    permission: str

    def apply(self, tenant: Tenant) -> None:
        admins = tenant.state.admins
        remaining = tuple(p for p in admins[self.principal] if p != self.permission)
        if remaining:
            admins[self.principal] = remaining
        else:
            del admins[self.principal]


@handles(RevokePermission)
def revoke_permission(tenant: Tenant, cmd: RevokePermission, ctx: CommandContext) -> None:
    """The last administrator of a tenant that no partner manages cannot be removed (an auditor is no administrator)."""
    admins = tenant.state.admins
    if cmd.permission not in admins.get(cmd.principal, ()):
        raise NotFoundError(f"{cmd.principal!r} does not have {cmd.permission}", field="principal")
    others = [p for p, perms in admins.items() if p != cmd.principal and "telephony_admin" in perms]
    if cmd.permission == "telephony_admin" and not others and tenant.state.partner is None:
        raise ConflictError("this would leave the tenant without any telephony administrator", field="principal")
    tenant.trigger(PermissionRevoked, ctx, principal=cmd.principal, permission=cmd.permission)


class SetPartner(Command, kw_only=True, tag="set_partner"):
    """Choose the channel partner that manages the tenant (omitted: none)."""

    partner: PrincipalId | None = None


class PartnerSet(TenantEvent):
    TOPIC = "callroute/PartnerSet"
    managing_partner: str | None
    """The partner that manages the tenant (``partner``, on every event, is the one acting)."""

    def apply(self, tenant: Tenant) -> None:
        tenant.state.partner = self.managing_partner


@handles(SetPartner)
def set_partner(tenant: Tenant, cmd: SetPartner, ctx: CommandContext) -> None:
    """A partner acting for a customer cannot hand it to another partner (checked by the service); a change must change."""
    if cmd.partner == tenant.state.partner:
        raise ValidationFailed(f"the tenant's partner is already {cmd.partner!r}", field="partner")
    if cmd.partner is None and not any("telephony_admin" in p for p in tenant.state.admins.values()):
        raise ConflictError("the tenant has no telephony administrator of its own; grant one first", field="partner")
    tenant.trigger(PartnerSet, ctx, managing_partner=cmd.partner)


class AddAudioFile(Command, kw_only=True, tag="add_audio_file"):
    """Register an audio file (name, language tag, recorded/uploaded, content hash, duration)."""

    audio: AudioFile


class AudioFileSaved(TenantEvent):
    TOPIC = "callroute/AudioFileSaved"
    audio: AudioFile

    def apply(self, tenant: Tenant) -> None:
        tenant.state.audio_files[self.audio.name] = self.audio


@handles(AddAudioFile)
def add_audio_file(tenant: Tenant, cmd: AddAudioFile, ctx: CommandContext) -> None:
    """A name not yet used (seed 001 "ljudfiler"; the bytes live elsewhere, the event keeps their hash)."""
    if cmd.audio.name in tenant.state.audio_files:
        raise AlreadyExistsError(f"audio file {cmd.audio.name!r} already exists", field="audio.name")
    tenant.trigger(AudioFileSaved, ctx, audio=cmd.audio)


class UpdateAudioFile(Command, kw_only=True, tag="update_audio_file"):
    """Change an audio file's language or content."""

    audio: AudioFile


@handles(UpdateAudioFile)
def update_audio_file(tenant: Tenant, cmd: UpdateAudioFile, ctx: CommandContext) -> None:
    """A file that exists; a change must change something."""
    if tenant.audio(cmd.audio.name, field="audio.name") == cmd.audio:
        raise ValidationFailed("the audio file already has these settings", field="audio.name")
    tenant.trigger(AudioFileSaved, ctx, audio=cmd.audio)


class RemoveAudioFile(Command, kw_only=True, tag="remove_audio_file"):
    """Delete an audio file (only when unused)."""

    name: Name


class AudioFileRemoved(TenantEvent):
    TOPIC = "callroute/AudioFileRemoved"
    name: str

    def apply(self, tenant: Tenant) -> None:
        del tenant.state.audio_files[self.name]


@handles(RemoveAudioFile)
def remove_audio_file(tenant: Tenant, cmd: RemoveAudioFile, ctx: CommandContext) -> None:
    """Only when nothing uses it (the error lists what does)."""
    tenant.audio(cmd.name, field="name")
    tenant.refuse_if_referenced("audio", cmd.name, f"audio file {cmd.name!r}", field="name")
    tenant.trigger(AudioFileRemoved, ctx, name=cmd.name)


__all__ = [
    "AddAudioFile", "BuyExtras", "ChangePlan", "GrantPermission", "RemoveAudioFile", "RevokePermission", "SetPartner",
    "UpdateAudioFile",
]
