"""The tenant's events: frozen records stored under explicit, stable type names.

Each carries, besides its own fields, the instant (``timestamp``, from the injected
clock), the actor and partner, the optional reason, and its place in the hash chain.
``TOPIC`` is the stored type name: never change one; add a new class (or a
``class_version`` with an upcaster) instead.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import Aggregate

from core.aggregates.handling import ApplyTo, CallHandling
from core.aggregates.schedule import OutOfHours
from core.aggregates.state import Plan
from core.aggregates.targets import Condition, DivertTarget, UnassignedHandling


class TenantEvent(Aggregate.Event):
    """Base of every tenant event."""

    TOPIC = "callroute/TenantEvent"
    actor: str
    partner: str | None
    reason: str | None
    prev_hash: str
    hash: str

    def mutate(self, aggregate: Any) -> Any:
        aggregate = super().mutate(aggregate)
        aggregate.head = self.hash
        return aggregate


class TenantCreated(TenantEvent, Aggregate.Created):
    TOPIC = "callroute/TenantCreated"
    slug: str
    name: str
    time_zone: str
    plan: Plan


class TenantRenamed(TenantEvent):
    TOPIC = "callroute/TenantRenamed"
    name: str


class TenantClosed(TenantEvent):
    TOPIC = "callroute/TenantClosed"


class UserAdded(TenantEvent):
    TOPIC = "callroute/UserAdded"
    extension: str
    name: str
    email: str | None


class UserProfileUpdated(TenantEvent):
    TOPIC = "callroute/UserProfileUpdated"
    extension: str
    name: str
    email: str | None


class UserRemoved(TenantEvent):
    TOPIC = "callroute/UserRemoved"
    extension: str


class NumberAssigned(TenantEvent):
    TOPIC = "callroute/NumberAssigned"
    extension: str
    number: str


class NumberUnassigned(TenantEvent):
    TOPIC = "callroute/NumberUnassigned"
    extension: str
    number: str


class DefaultNumberSet(TenantEvent):
    TOPIC = "callroute/DefaultNumberSet"
    extension: str
    number: str


class PresentationNumberSet(TenantEvent):
    TOPIC = "callroute/PresentationNumberSet"
    extension: str
    number: str | None


class DeviceAdded(TenantEvent):
    TOPIC = "callroute/DeviceAdded"
    extension: str
    mac: str
    model: str | None


class DeviceRemoved(TenantEvent):
    TOPIC = "callroute/DeviceRemoved"
    extension: str
    mac: str


class PermanentRedirectSet(TenantEvent):
    TOPIC = "callroute/PermanentRedirectSet"
    extension: str
    number: str | None


class NotificationsSet(TenantEvent):
    TOPIC = "callroute/NotificationsSet"
    extension: str
    missed_call: bool
    voicemail: bool


class DivertSet(TenantEvent):
    TOPIC = "callroute/DivertSet"
    extension: str
    condition: Condition
    target: DivertTarget
    ring_seconds: int | None


class OutOfHoursSet(TenantEvent):
    TOPIC = "callroute/OutOfHoursSet"
    extension: str
    out_of_hours: OutOfHours | None


class RejectAnonymousSet(TenantEvent):
    TOPIC = "callroute/RejectAnonymousSet"
    extension: str
    enabled: bool


class UserCallHandlingChanged(TenantEvent):
    TOPIC = "callroute/UserCallHandlingChanged"
    extension: str
    changes: CallHandling


class UserCallHandlingReset(TenantEvent):
    TOPIC = "callroute/UserCallHandlingReset"
    extension: str
    settings: tuple[str, ...]


class VoicePortalPinSet(TenantEvent):
    TOPIC = "callroute/VoicePortalPinSet"
    extension: str
    pin_hash: str


class TenantDefaultSet(TenantEvent):
    TOPIC = "callroute/TenantDefaultSet"
    changes: CallHandling
    apply_to: ApplyTo
    transcription_users_may_change: bool | None


class UnassignedHandlingSet(TenantEvent):
    TOPIC = "callroute/UnassignedHandlingSet"
    handling: UnassignedHandling


__all__ = [name for name, value in list(globals().items()) if isinstance(value, type) and issubclass(value, TenantEvent)]
