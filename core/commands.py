"""The public command schema: one msgspec tagged union shared by Python, the CLI, HTTP and scenarios.

Every command names its tenant and may carry a ``reason`` that is recorded on its
events. Decoding a document with ``COMMANDS_DECODER`` validates every field's shape
and points at the offending field (``$.commands[3].target.number``); the aggregate
then applies the rules that need state.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from core.aggregates.access import Permission
from core.aggregates.catalog import AudioFile, ExtraKind, PbxKind, Plan
from core.aggregates.groups import GroupMember, GroupSettings, MemberRef
from core.aggregates.handling import ApplyTo, DisplayNumberKind, SettingName
from core.aggregates.identifiers import Email, Extension, Name, PhoneNumber, Reason, Slug
from core.aggregates.provisioning import ProviderPolicy
from core.aggregates.schedule import OutOfHours
from core.aggregates.services import CallQueue, ForwardingScheme, IvrMenu
from core.aggregates.state import License
from core.aggregates.targets import (
    DEFAULT_RING_SECONDS,
    Condition,
    Destination,
    DivertTarget,
    EntityId,
    Greeting,
    MemberRingSeconds,
    RejectedHandling,
    RingSeconds,
    UnassignedHandling,
)

Mac = Annotated[str, msgspec.Meta(min_length=12, max_length=17, description="MAC address, e.g. 00:1a:2b:3c:4d:5e")]
Pin = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{6}$", description="exactly 6 digits")]
TimeZone = Annotated[str, msgspec.Meta(min_length=1, max_length=64, description="IANA time zone, e.g. Europe/Stockholm")]


class _Command(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="command", kw_only=True):
    tenant: Slug
    reason: Reason | None = None


class CreateTenant(_Command, kw_only=True, tag="create_tenant"):
    """Create a tenant (customer organisation)."""

    name: Name
    time_zone: TimeZone
    plan: Plan = "light"


class RenameTenant(_Command, kw_only=True, tag="rename_tenant"):
    """Rename a tenant."""

    name: Name


class CloseTenant(_Command, kw_only=True, tag="close_tenant"):
    """Close a tenant; its history stays readable."""


class AddUser(_Command, kw_only=True, tag="add_user"):
    """Add a user with a new extension."""

    extension: Extension
    name: Name
    email: Email | None = None
    license: License = "basic"


class UpdateUserProfile(_Command, kw_only=True, tag="update_user_profile"):
    """Change a user's name and/or e-mail (``email: null`` clears it)."""

    extension: Extension
    name: Name | msgspec.UnsetType = msgspec.UNSET
    email: Email | None | msgspec.UnsetType = msgspec.UNSET


class RemoveUser(_Command, kw_only=True, tag="remove_user"):
    """Remove a user (refused while a setting routes calls to it)."""

    extension: Extension


class AssignNumber(_Command, kw_only=True, tag="assign_number"):
    """Assign a number to a user."""

    extension: Extension
    number: PhoneNumber


class UnassignNumber(_Command, kw_only=True, tag="unassign_number"):
    """Take a number from a user."""

    extension: Extension
    number: PhoneNumber


class SetDefaultNumber(_Command, kw_only=True, tag="set_default_number"):
    """Choose the user's default number."""

    extension: Extension
    number: PhoneNumber


class SetPresentationNumber(_Command, kw_only=True, tag="set_presentation_number"):
    """Choose the number shown on outgoing calls (omitted: the default number)."""

    extension: Extension
    number: PhoneNumber | None = None


class AddDevice(_Command, kw_only=True, tag="add_device"):
    """Register a device by MAC address."""

    extension: Extension
    mac: Mac
    model: Name | None = None


class RemoveDevice(_Command, kw_only=True, tag="remove_device"):
    """Unregister a device."""

    extension: Extension
    mac: Mac


class SetPermanentRedirect(_Command, kw_only=True, tag="set_permanent_redirect"):
    """Redirect the user's device permanently to a number (omitted: no redirect)."""

    extension: Extension
    number: PhoneNumber | None = None


class SetNotifications(_Command, kw_only=True, tag="set_notifications"):
    """Missed-call and new-voicemail notifications."""

    extension: Extension
    missed_call: bool | None = None
    voicemail: bool | None = None


class SetDivert(_Command, kw_only=True, tag="set_divert"):
    """Set one divert: always, no_answer (with ring_seconds), busy or unreachable."""

    extension: Extension
    condition: Condition
    target: DivertTarget
    ring_seconds: RingSeconds | None = None


class SetOutOfHours(_Command, kw_only=True, tag="set_out_of_hours"):
    """Set, or remove (omitted), the weekly out-of-hours schedule."""

    extension: Extension
    out_of_hours: OutOfHours | None = None


class SetRejectAnonymous(_Command, kw_only=True, tag="set_reject_anonymous"):
    """Reject anonymous callers."""

    extension: Extension
    enabled: bool


class SetCallWaiting(_Command, kw_only=True, tag="set_call_waiting"):
    """Call waiting on or off for a user."""

    extension: Extension
    enabled: bool


class SetVoicemailGreeting(_Command, kw_only=True, tag="set_voicemail_greeting"):
    """The user's voicemail greeting: text-to-speech or an audio file."""

    extension: Extension
    greeting: Greeting


class SetTranscription(_Command, kw_only=True, tag="set_transcription"):
    """Voicemail transcription for a user (if the tenant lets users change it)."""

    extension: Extension
    enabled: bool


class SetRejectedCallHandling(_Command, kw_only=True, tag="set_rejected_call_handling"):
    """What happens to calls the user rejects."""

    extension: Extension
    handling: RejectedHandling


class SetDisplayNumberPreference(_Command, kw_only=True, tag="set_display_number_preference"):
    """Show the user's mobile or landline number by default."""

    extension: Extension
    kind: DisplayNumberKind


class ResetCallHandling(_Command, kw_only=True, tag="reset_call_handling"):
    """Forget the user's own values of these settings; tenant defaults apply again."""

    extension: Extension
    settings: Annotated[tuple[SettingName, ...], msgspec.Meta(min_length=1)]


class SetVoicePortalPin(_Command, kw_only=True, tag="set_voice_portal_pin"):
    """Set the voice-portal PIN (exactly 6 digits; only a salted hash is stored)."""

    extension: Extension
    pin: Pin

    def __repr__(self) -> str:
        return f"SetVoicePortalPin(tenant={self.tenant!r}, extension={self.extension!r}, pin='******')"


class SetDefaultVoicemailGreeting(_Command, kw_only=True, tag="set_default_voicemail_greeting"):
    """Tenant default voicemail greeting."""

    greeting: Greeting
    apply_to: ApplyTo


class SetDefaultTranscription(_Command, kw_only=True, tag="set_default_transcription"):
    """Tenant default transcription, and whether users may change it."""

    enabled: bool
    users_may_change: bool | None = None
    apply_to: ApplyTo


class SetDefaultNoAnswer(_Command, kw_only=True, tag="set_default_no_answer"):
    """Tenant default for unanswered calls."""

    target: DivertTarget
    ring_seconds: RingSeconds = DEFAULT_RING_SECONDS
    apply_to: ApplyTo


class SetDefaultBusy(_Command, kw_only=True, tag="set_default_busy"):
    """Tenant default for busy lines, and call waiting."""

    target: DivertTarget | None = None
    call_waiting: bool | None = None
    apply_to: ApplyTo


class SetDefaultRejectedCallHandling(_Command, kw_only=True, tag="set_default_rejected_call_handling"):
    """Tenant default for rejected calls: voicemail, message and hang up, busy tone, forward."""

    handling: RejectedHandling
    apply_to: ApplyTo


class SetDefaultDisplayNumber(_Command, kw_only=True, tag="set_default_display_number"):
    """Tenant default display number: mobile or landline."""

    kind: DisplayNumberKind
    apply_to: ApplyTo


class SetUnassignedNumberHandling(_Command, kw_only=True, tag="set_unassigned_number_handling"):
    """What happens to calls to the tenant's numbers that route nowhere."""

    handling: UnassignedHandling


PrincipalId = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class SetUserLicense(_Command, kw_only=True, tag="set_user_license"):
    """Basic or Pro licence for a user (only Pro users may supervise answer groups)."""

    extension: Extension
    license: License


class ChangePlan(_Command, kw_only=True, tag="change_plan"):
    """Move the tenant to the Light or Unlimited plan."""

    plan: Plan


class BuyExtras(_Command, kw_only=True, tag="buy_extras"):
    """Buy answer groups or IVR menus beyond the plan; billed on the next invoice."""

    kind: ExtraKind
    quantity: Annotated[int, msgspec.Meta(ge=1, le=1000)]


class GrantPermission(_Command, kw_only=True, tag="grant_permission"):
    """Give a principal a permission on the tenant."""

    principal: PrincipalId
    permission: Permission = "telephony_admin"


class RevokePermission(_Command, kw_only=True, tag="revoke_permission"):
    """Take a permission away from a principal."""

    principal: PrincipalId
    permission: Permission = "telephony_admin"


class SetPartner(_Command, kw_only=True, tag="set_partner"):
    """Choose the channel partner that manages the tenant (omitted: none)."""

    partner: PrincipalId | None = None


class LinkPbx(_Command, kw_only=True, tag="link_pbx"):
    """Link another cloud PBX or an office SIP PBX (seed 003)."""

    pbx: EntityId
    kind: PbxKind
    name: Name


class UnlinkPbx(_Command, kw_only=True, tag="unlink_pbx"):
    """Unlink a PBX (refused while referred to)."""

    pbx: EntityId


class CreateAnswerGroup(_Command, kw_only=True, tag="create_answer_group"):
    """Create an answer group / department."""

    group: EntityId
    settings: GroupSettings
    members: Annotated[tuple[GroupMember, ...], msgspec.Meta(max_length=500)] = ()
    supervisors: tuple[Extension, ...] = ()


class UpdateAnswerGroup(_Command, kw_only=True, tag="update_answer_group"):
    """Replace a group's settings."""

    group: EntityId
    settings: GroupSettings


class AddGroupMember(_Command, kw_only=True, tag="add_group_member"):
    """Add a member to a group (here, another cloud PBX, or a SIP PBX)."""

    group: EntityId
    member: GroupMember
    position: Annotated[int, msgspec.Meta(ge=0)] | None = None


class RemoveGroupMember(_Command, kw_only=True, tag="remove_group_member"):
    """Remove a member from a group."""

    group: EntityId
    member: MemberRef


class ReorderGroupMembers(_Command, kw_only=True, tag="reorder_group_members"):
    """Put a group's members in a new order."""

    group: EntityId
    order: tuple[MemberRef, ...]


class SetGroupMemberExcluded(_Command, kw_only=True, tag="set_group_member_excluded"):
    """Exclude a member temporarily, or bring them back."""

    group: EntityId
    member: MemberRef
    excluded: bool


class SetGroupMemberRingTime(_Command, kw_only=True, tag="set_group_member_ring_time"):
    """How long one member rings."""

    group: EntityId
    member: MemberRef
    ring_seconds: MemberRingSeconds


class SetGroupSupervisors(_Command, kw_only=True, tag="set_group_supervisors"):
    """A group's supervisors (Pro users)."""

    group: EntityId
    supervisors: tuple[Extension, ...]


class DeleteAnswerGroup(_Command, kw_only=True, tag="delete_answer_group"):
    """Delete an answer group (refused while referred to)."""

    group: EntityId


class SaveQueue(_Command, kw_only=True, tag="save_queue"):
    """Create or replace a call queue."""

    queue: EntityId
    spec: CallQueue


class DeleteQueue(_Command, kw_only=True, tag="delete_queue"):
    """Delete a call queue (refused while referred to)."""

    queue: EntityId


class SaveIvrMenu(_Command, kw_only=True, tag="save_ivr_menu"):
    """Create or replace an IVR menu."""

    ivr: EntityId
    spec: IvrMenu


class DeleteIvrMenu(_Command, kw_only=True, tag="delete_ivr_menu"):
    """Delete an IVR menu (refused while referred to)."""

    ivr: EntityId


class SaveForwardingScheme(_Command, kw_only=True, tag="save_forwarding_scheme"):
    """Create or replace a forwarding scheme."""

    scheme: EntityId
    spec: ForwardingScheme


class DeleteForwardingScheme(_Command, kw_only=True, tag="delete_forwarding_scheme"):
    """Delete a forwarding scheme (refused while referred to)."""

    scheme: EntityId


class RouteNumber(_Command, kw_only=True, tag="route_number"):
    """Add a number to the tenant or re-route it (no entry: unassigned-number handling)."""

    number: PhoneNumber
    entry: Destination | None = None


class ReleaseNumber(_Command, kw_only=True, tag="release_number"):
    """Remove a number from the tenant's number list."""

    number: PhoneNumber


class SaveDisplayNumber(_Command, kw_only=True, tag="save_display_number"):
    """Add or change a display number and whom it is assigned to."""

    number: PhoneNumber
    sms: bool = False
    users: tuple[Extension, ...] = ()
    groups: tuple[EntityId, ...] = ()


class SetDisplayNumberAccess(_Command, kw_only=True, tag="set_display_number_access"):
    """Agents' and supervisors' access to a display number linked to an answer group."""

    number: PhoneNumber
    group: EntityId
    agents: bool
    supervisors: bool


class RemoveDisplayNumber(_Command, kw_only=True, tag="remove_display_number"):
    """Remove a display number (refused while linked to an answer group)."""

    number: PhoneNumber


class AddAudioFile(_Command, kw_only=True, tag="add_audio_file"):
    """Register an audio file (name, language tag, recorded/uploaded, content hash, duration)."""

    audio: AudioFile


class UpdateAudioFile(_Command, kw_only=True, tag="update_audio_file"):
    """Change an audio file's language or content."""

    audio: AudioFile


class RemoveAudioFile(_Command, kw_only=True, tag="remove_audio_file"):
    """Delete an audio file (only when unused)."""

    name: Name


class SetProviderPolicy(_Command, kw_only=True, tag="set_provider_policy"):
    """The provider's maximum delay for applying changes and its office hours."""

    policy: ProviderPolicy


class ConfirmProvisioning(_Command, kw_only=True, tag="confirm_provisioning"):
    """The PBX applied every version up to ``version`` (at ``applied_at``, default: now)."""

    version: Annotated[int, msgspec.Meta(ge=1)]
    applied_at: datetime | None = None


Command = (
    CreateTenant
    | RenameTenant
    | CloseTenant
    | AddUser
    | UpdateUserProfile
    | RemoveUser
    | AssignNumber
    | UnassignNumber
    | SetDefaultNumber
    | SetPresentationNumber
    | AddDevice
    | RemoveDevice
    | SetPermanentRedirect
    | SetNotifications
    | SetDivert
    | SetOutOfHours
    | SetRejectAnonymous
    | SetCallWaiting
    | SetVoicemailGreeting
    | SetTranscription
    | SetRejectedCallHandling
    | SetDisplayNumberPreference
    | ResetCallHandling
    | SetVoicePortalPin
    | SetDefaultVoicemailGreeting
    | SetDefaultTranscription
    | SetDefaultNoAnswer
    | SetDefaultBusy
    | SetDefaultRejectedCallHandling
    | SetDefaultDisplayNumber
    | SetUnassignedNumberHandling
    | SetUserLicense
    | ChangePlan
    | BuyExtras
    | GrantPermission
    | RevokePermission
    | SetPartner
    | LinkPbx
    | UnlinkPbx
    | CreateAnswerGroup
    | UpdateAnswerGroup
    | AddGroupMember
    | RemoveGroupMember
    | ReorderGroupMembers
    | SetGroupMemberExcluded
    | SetGroupMemberRingTime
    | SetGroupSupervisors
    | DeleteAnswerGroup
    | SaveQueue
    | DeleteQueue
    | SaveIvrMenu
    | DeleteIvrMenu
    | SaveForwardingScheme
    | DeleteForwardingScheme
    | RouteNumber
    | ReleaseNumber
    | SaveDisplayNumber
    | SetDisplayNumberAccess
    | RemoveDisplayNumber
    | AddAudioFile
    | UpdateAudioFile
    | RemoveAudioFile
    | SetProviderPolicy
    | ConfirmProvisioning
)

COMMAND_TYPES: tuple[type, ...] = Command.__args__  # type: ignore[attr-defined]


class ActorSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Who a command file acts as (overridable from the command line)."""

    principal: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    partner: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None


class CommandFile(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A JSON or TOML document of commands applied all-or-nothing."""

    commands: Annotated[list[Command], msgspec.Meta(min_length=1)]
    actor: ActorSpec | None = None
    reason: Reason | None = None


def command_tag(command: object) -> str:
    """The stable wire name of a command (``set_divert``)."""
    return type(command).__struct_config__.tag  # type: ignore[attr-defined]


def decode_command_file(data: bytes, *, format: str) -> CommandFile:
    """Decode a JSON or TOML command document; ``msgspec.ValidationError`` names the field."""
    if format == "toml":
        return msgspec.toml.decode(data, type=CommandFile)
    return msgspec.json.decode(data, type=CommandFile)
