"""The tenant's events: frozen records stored under explicit, stable type names.

Each carries, besides its own fields, the instant (``timestamp``, from the injected
clock), the actor and partner, the optional reason, and its place in the hash chain.
``TOPIC`` is the stored type name: never change one; add a new class (or a
``class_version`` with an upcaster) instead.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import Aggregate

from core.aggregates.catalog import AudioFile, DisplayNumber, ExtraKind, PbxLink, Plan
from core.aggregates.chained import ChainedEvent
from core.aggregates.groups import AnswerGroup, GroupMember, GroupSettings, MemberRef
from core.aggregates.handling import ApplyTo, CallHandling
from core.aggregates.schedule import OutOfHours
from core.aggregates.services import CallQueue, ForwardingScheme, IvrMenu
from core.aggregates.state import License
from core.aggregates.targets import Condition, Destination, DivertTarget, UnassignedHandling


class TenantEvent(ChainedEvent):
    """Base of every tenant event."""

    TOPIC = "callroute/TenantEvent"


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
    """A user was added. Version 2 adds ``license``: users can be added as Pro directly."""

    TOPIC = "callroute/UserAdded"
    class_version = 2
    extension: str
    name: str
    email: str | None
    license: License

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """Version 1 had no licence: every user was added with the basic one."""
        state["license"] = "basic"


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


class UserLicenseSet(TenantEvent):
    TOPIC = "callroute/UserLicenseSet"
    extension: str
    license: License


class PlanChanged(TenantEvent):
    TOPIC = "callroute/PlanChanged"
    plan: Plan


class ExtrasBought(TenantEvent):
    TOPIC = "callroute/ExtrasBought"
    kind: ExtraKind
    quantity: int


class PermissionGranted(TenantEvent):
    TOPIC = "callroute/PermissionGranted"
    principal: str
    permission: str


class PermissionRevoked(TenantEvent):
    TOPIC = "callroute/PermissionRevoked"
    principal: str
    permission: str


class PartnerSet(TenantEvent):
    TOPIC = "callroute/PartnerSet"
    managing_partner: str | None
    """The partner that manages the tenant (``partner``, on every event, is the one acting)."""


class PbxLinked(TenantEvent):
    TOPIC = "callroute/PbxLinked"
    link: PbxLink


class PbxUnlinked(TenantEvent):
    TOPIC = "callroute/PbxUnlinked"
    pbx: str


class AnswerGroupCreated(TenantEvent):
    TOPIC = "callroute/AnswerGroupCreated"
    group: AnswerGroup


class AnswerGroupSettingsChanged(TenantEvent):
    TOPIC = "callroute/AnswerGroupSettingsChanged"
    group_id: str
    settings: GroupSettings


class GroupMemberAdded(TenantEvent):
    TOPIC = "callroute/GroupMemberAdded"
    group_id: str
    member: GroupMember
    position: int


class GroupMemberRemoved(TenantEvent):
    TOPIC = "callroute/GroupMemberRemoved"
    group_id: str
    member: MemberRef


class GroupMembersReordered(TenantEvent):
    TOPIC = "callroute/GroupMembersReordered"
    group_id: str
    order: tuple[MemberRef, ...]


class GroupMemberExclusionSet(TenantEvent):
    TOPIC = "callroute/GroupMemberExclusionSet"
    group_id: str
    member: MemberRef
    excluded: bool


class GroupMemberRingTimeSet(TenantEvent):
    TOPIC = "callroute/GroupMemberRingTimeSet"
    group_id: str
    member: MemberRef
    ring_seconds: int


class GroupSupervisorsSet(TenantEvent):
    TOPIC = "callroute/GroupSupervisorsSet"
    group_id: str
    supervisors: tuple[str, ...]


class AnswerGroupDeleted(TenantEvent):
    TOPIC = "callroute/AnswerGroupDeleted"
    group_id: str


class QueueSaved(TenantEvent):
    TOPIC = "callroute/QueueSaved"
    queue_id: str
    queue: CallQueue


class QueueDeleted(TenantEvent):
    TOPIC = "callroute/QueueDeleted"
    queue_id: str


class IvrMenuSaved(TenantEvent):
    TOPIC = "callroute/IvrMenuSaved"
    ivr_id: str
    ivr: IvrMenu


class IvrMenuDeleted(TenantEvent):
    TOPIC = "callroute/IvrMenuDeleted"
    ivr_id: str


class SchemeSaved(TenantEvent):
    TOPIC = "callroute/SchemeSaved"
    scheme_id: str
    scheme: ForwardingScheme
    warnings: tuple[str, ...]


class SchemeDeleted(TenantEvent):
    TOPIC = "callroute/SchemeDeleted"
    scheme_id: str


class NumberRouted(TenantEvent):
    TOPIC = "callroute/NumberRouted"
    number: str
    entry: Destination | None


class NumberReleased(TenantEvent):
    TOPIC = "callroute/NumberReleased"
    number: str


class DisplayNumberSaved(TenantEvent):
    TOPIC = "callroute/DisplayNumberSaved"
    display: DisplayNumber


class DisplayNumberRemoved(TenantEvent):
    TOPIC = "callroute/DisplayNumberRemoved"
    number: str


class AudioFileSaved(TenantEvent):
    TOPIC = "callroute/AudioFileSaved"
    audio: AudioFile


class AudioFileRemoved(TenantEvent):
    TOPIC = "callroute/AudioFileRemoved"
    name: str


__all__ = [name for name, value in list(globals().items()) if isinstance(value, type) and issubclass(value, TenantEvent)]
