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
from typing import Annotated

import msgspec
from eventsourcing.domain import Aggregate, event

from core.aggregates.chain import GENESIS
from core.aggregates.chained import Chained, ChainedEvent, command
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


class ProvisioningConfirmed(ProvisioningEvent):
    TOPIC = "callroute/ProvisioningConfirmed"
    version: int
    applied_at: datetime


class Provisioning(Chained, Aggregate):
    """The provisioning record of one tenant."""

    TOPIC = "callroute/Provisioning"
    Event = ProvisioningEvent
    Created = ProvisioningOpened
    ProviderPolicySet = ProviderPolicySet
    ProvisioningConfirmed = ProvisioningConfirmed

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

    @command
    def set_policy(self, policy: ProviderPolicy) -> None:
        """Set the provider's maximum delay and office hours."""
        check_time_zone(policy.time_zone, field="policy.time_zone")
        if policy.office_hours is not None:
            check_hours(policy.office_hours, field="policy.office_hours")
            if not any(policy.office_hours.days.values()):
                raise ValidationFailed("office hours need at least one open window", field="policy.office_hours")
        if policy == self.policy:
            raise ValidationFailed("the provider policy already has these settings", field="policy")
        self._policy_set(policy=policy)

    @event(ProviderPolicySet)
    def _policy_set(self, policy: ProviderPolicy) -> None:
        self.policy = policy

    @command
    def confirm(self, version: int, applied_at: datetime, *, tenant_version: int, changed_at: datetime) -> None:
        """Record that the PBX applied every version up to ``version`` at ``applied_at``.

        ``tenant_version`` is the tenant's current version and ``changed_at`` the instant
        of its event ``version`` (the service looks both up).
        """
        if applied_at.tzinfo is None:
            raise ValidationFailed("the instant must carry a time zone", field="at")
        if applied_at > self._ctx.at:
            raise ConflictError(
                f"a confirmation cannot be dated after it is recorded ({self._ctx.at.isoformat()}); "
                "record it when the PBX reports it",
                field="applied_at",
            )
        if not 1 <= version <= tenant_version:
            raise ValidationFailed(f"version must be between 1 and the tenant's current version {tenant_version}", field="version")
        if applied_at < changed_at:
            raise ConflictError(
                f"version {version} was made at {changed_at.isoformat()}; it cannot be live before that", field="at"
            )
        if self.confirmed is not None:
            if version <= self.confirmed.version:
                raise ConflictError(f"version {self.confirmed.version} is already confirmed, which includes {version}",
                                    field="version")
            if applied_at < self.confirmed.applied_at:
                raise ConflictError(
                    f"a confirmation cannot be earlier than the last one ({self.confirmed.applied_at.isoformat()})", field="at"
                )
        self._confirmed(version=version, applied_at=applied_at)

    @event(ProvisioningConfirmed)
    def _confirmed(self, version: int, applied_at: datetime) -> None:
        self.confirmed = Confirmation(version=version, applied_at=applied_at)
