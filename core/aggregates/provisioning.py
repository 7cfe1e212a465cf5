"""A tenant's provisioning record: what the provider's PBX confirmed as live, and the provider's policy.

Providers apply changes late (seed 000: "up to 24 hours … outside office hours they may
not update until the office re-opens"). The PBX (through an adapter, the simulator or
by hand) confirms "applied up to version N at instant T"; confirming N confirms every
version before it. Kept apart from the tenant's own events so that a confirmation is
not itself a configuration change waiting to be confirmed.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec
from eventsourcing.domain import Aggregate, event

from core.aggregates.chain import GENESIS
from core.aggregates.chained import Chained, ChainedEvent
from core.aggregates.commanding import Command, handles
from core.aggregates.context import CommandContext
from core.aggregates.hours import OpeningHours, check_hours
from core.aggregates.identifiers import TENANT_NAMESPACE, check_time_zone
from core.errors import ConflictError, ValidationFailed

DEFAULT_MAX_DELAY_SECONDS = 24 * 3600


class ProviderPolicy(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """How late the provider may apply a change: the maximum delay, counted from when its office is open."""

    max_delay_seconds: Annotated[int, msgspec.Meta(ge=0, le=30 * 24 * 3600)] = DEFAULT_MAX_DELAY_SECONDS
    office_hours: OpeningHours | None = None
    """``None``: the clock starts at once, whenever a change is made."""
    time_zone: str = "UTC"
    """The zone of the office hours."""


class Confirmation(msgspec.Struct, frozen=True):
    """The PBX applied every version up to ``version`` at ``applied_at``."""

    version: int
    applied_at: datetime


def provisioning_id(slug: str) -> uuid.UUID:
    """The aggregate id of a tenant's provisioning record."""
    return uuid.uuid5(TENANT_NAMESPACE, f"{slug}#provisioning")


class ProvisioningEvent(ChainedEvent):
    TOPIC = "callroute/ProvisioningEvent"


class ProvisioningOpened(ProvisioningEvent, Aggregate.Created):
    TOPIC = "callroute/ProvisioningOpened"
    slug: str


class ProviderPolicySet(ProvisioningEvent):
    TOPIC = "callroute/ProviderPolicySet"
    policy: ProviderPolicy

    def apply(self, record: Provisioning) -> None:
        record.policy = self.policy


class ProvisioningConfirmed(ProvisioningEvent):
    TOPIC = "callroute/ProvisioningConfirmed"
    version: int
    applied_at: datetime

    def apply(self, record: Provisioning) -> None:
        record.confirmed = Confirmation(version=self.version, applied_at=self.applied_at)


class Provisioning(Chained, Aggregate):
    """The provisioning record of one tenant."""

    TOPIC = "callroute/Provisioning"
    Event = ProvisioningEvent
    Created = ProvisioningOpened

    slug: str
    policy: ProviderPolicy
    confirmed: Confirmation | None
    head: str

    @event(ProvisioningOpened)
    def __init__(self, slug: str) -> None:
        self.slug = slug
        self.policy = ProviderPolicy()
        self.confirmed = None
        self.head = GENESIS

    @classmethod
    def open(cls, ctx: CommandContext, slug: str) -> Provisioning:
        """Start the provisioning record of tenant ``slug``."""
        record = cls._create(cls.Created, id=provisioning_id(slug), timestamp=ctx.at, actor=ctx.actor.principal,
                             partner=ctx.actor.partner, reason=ctx.reason, prev_hash=GENESIS, hash="", slug=slug)
        record._seal(record.pending_events[-1])
        return record


class SetProviderPolicy(Command, kw_only=True, tag="set_provider_policy"):
    """The provider's maximum delay for applying changes and its office hours."""

    policy: ProviderPolicy


@handles(SetProviderPolicy, target="provisioning")
def set_provider_policy(record: Provisioning, tenant: Any, cmd: SetProviderPolicy, ctx: CommandContext) -> None:
    """A known zone, office hours with at least one open window, and a change."""
    policy = cmd.policy
    check_time_zone(policy.time_zone, field="policy.time_zone")
    if policy.office_hours is not None:
        check_hours(policy.office_hours, field="policy.office_hours")
        if not any(policy.office_hours.days.values()):
            raise ValidationFailed("office hours need at least one open window", field="policy.office_hours")
    if policy == record.policy:
        raise ValidationFailed("the provider policy already has these settings", field="policy")
    record.trigger(ProviderPolicySet, ctx, policy=policy)


class ConfirmProvisioning(Command, kw_only=True, tag="confirm_provisioning"):
    """The PBX applied every version up to ``version`` (at ``applied_at``, default: now)."""

    version: Annotated[int, msgspec.Meta(ge=1)]
    applied_at: datetime | None = None


@handles(ConfirmProvisioning, target="provisioning")
def confirm_provisioning(record: Provisioning, tenant: Any, cmd: ConfirmProvisioning, ctx: CommandContext) -> None:
    """A version the tenant has, live no earlier than it was made, after the last confirmation, never in the future."""
    applied_at = cmd.applied_at or ctx.at
    if applied_at.tzinfo is None:
        raise ValidationFailed("the instant must carry a time zone", field="applied_at")
    if applied_at > ctx.at:
        raise ConflictError(
            f"a confirmation cannot be dated after it is recorded ({_instant(ctx.at)}); record it when the PBX reports it",
            field="applied_at",
        )
    if not 1 <= cmd.version <= tenant.version:
        raise ValidationFailed(f"version must be between 1 and the tenant's current version {tenant.version}", field="version")
    changed_at = ctx.change_instant(tenant, cmd.version)  # type: ignore[misc, operator]
    if applied_at < changed_at:
        raise ConflictError(f"version {cmd.version} was made at {_instant(changed_at)}; it cannot be live before that",
                            field="applied_at")
    confirmed = record.confirmed
    if confirmed is not None:
        if cmd.version <= confirmed.version:
            raise ConflictError(f"version {confirmed.version} is already confirmed, which includes {cmd.version}", field="version")
        if applied_at < confirmed.applied_at:
            raise ConflictError(f"a confirmation cannot be earlier than the last one ({_instant(confirmed.applied_at)})",
                                field="applied_at")
    record.trigger(ProvisioningConfirmed, ctx, version=cmd.version, applied_at=applied_at)


def _instant(at: datetime) -> str:
    """An instant in a message: to the second, in the zone it was given in."""
    return at.replace(microsecond=0).isoformat()


__all__ = ["ConfirmProvisioning", "SetProviderPolicy"]
