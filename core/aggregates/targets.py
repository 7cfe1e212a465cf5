"""Where a divert sends a call, and the handling choices of seeds 000, 001 and 002."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from core.aggregates.identifiers import Extension, Name, PhoneNumber, whole

MIN_RING_SECONDS = 5
MAX_RING_SECONDS = 600
DEFAULT_RING_SECONDS = 300  # seed 000: "the default time (300 seconds)"

RingSeconds = Annotated[int, msgspec.Meta(ge=MIN_RING_SECONDS, le=MAX_RING_SECONDS)]
MemberRingSeconds = Annotated[int, msgspec.Meta(ge=5, le=300)]

Condition = Literal["always", "no_answer", "busy", "unreachable"]


class TextToSpeech(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="kind", tag="tts"):
    """A greeting read out by speech synthesis."""

    text: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
    language: Annotated[str, msgspec.Meta(pattern=whole(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*"))]


class AudioFileRef(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="kind", tag="audio"):
    """A greeting played from an uploaded or recorded audio file."""

    audio_file: Name


Greeting = TextToSpeech | AudioFileRef


class _Target(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="kind"):
    pass


class Off(_Target, tag="off"):
    """The default behaviour: keep ringing, engaged tone, or unavailable."""


class ToVoicemail(_Target, tag="voicemail"):
    """A voicemail box: the user's own in a user's diverts, else the box of ``extension``."""

    extension: Extension | None = None


class ToExtension(_Target, tag="extension"):
    """Another extension of the same tenant."""

    extension: Extension


class ToNumber(_Target, tag="external"):
    """A number outside the PBX, with the options of seed 002."""

    number: PhoneNumber
    announce: bool = False
    """Tell the caller they are being redirected."""
    present_dialled_number: bool = False
    """Show the number the caller dialled as caller id to the far end."""
    always: bool = False
    """Redirect every inbound call to this number at once, without ringing first."""


DivertTarget = Off | ToVoicemail | ToExtension | ToNumber
OffHoursTarget = ToVoicemail | ToExtension | ToNumber

EntityId = Annotated[str, msgspec.Meta(pattern=whole(r"[a-z0-9][a-z0-9-]{0,39}"), description="id: 1-40 of a-z, 0-9, '-'")]
SipUri = Annotated[str, msgspec.Meta(pattern=whole(r"sips?:[^@\s]+@[^@\s]+"), description="SIP URI, e.g. sip:alice@pbx.example")]
HttpsUrl = Annotated[str, msgspec.Meta(pattern=whole(r"https?://\S+"), max_length=500)]


class ToGroup(_Target, tag="group"):
    """An answer group (department) of this tenant."""

    group: EntityId


class ToQueue(_Target, tag="queue"):
    """A call queue of this tenant."""

    queue: EntityId


class ToIvr(_Target, tag="ivr"):
    """An IVR menu of this tenant."""

    ivr: EntityId


class ToScheme(_Target, tag="scheme"):
    """A forwarding scheme of this tenant."""

    scheme: EntityId


class ToExternalSip(_Target, tag="external_sip"):
    """A SIP account outside this PBX (seed 004 "зовнішній sip")."""

    uri: SipUri


class ToWebhook(_Target, tag="webhook"):
    """A number resolved at call time by asking a webhook (seed 004 "webhook номер")."""

    url: HttpsUrl


class ToResponsibleManager(_Target, tag="responsible_manager"):
    """The manager the CRM names as responsible for the caller (seed 004); skipped when the CRM names nobody."""


class ToRemote(_Target, tag="remote"):
    """An employee or department of another PBX linked to this tenant (seed 003)."""

    pbx: EntityId
    member: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    """On a cloud PBX: an entry of its member list; on a SIP PBX: an internal number."""


class PlayMessage(_Target, tag="message"):
    """Play a message and end the call."""

    message: Greeting


Destination = (
    ToVoicemail
    | ToExtension
    | ToNumber
    | ToGroup
    | ToQueue
    | ToIvr
    | ToScheme
    | ToExternalSip
    | ToWebhook
    | ToResponsibleManager
    | ToRemote
    | PlayMessage
)


class NoAnswerRule(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What happens when a ringing phone is not answered within ``ring_seconds``."""

    target: DivertTarget = Off()
    ring_seconds: RingSeconds = DEFAULT_RING_SECONDS




class _Handling(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="action"):
    pass


class HandleWithVoicemail(_Handling, tag="voicemail"):
    """Send the call to voicemail."""


class MessageAndHangUp(_Handling, tag="message_and_hang_up"):
    """Play a message, then end the call."""

    message: Greeting


class BusyTone(_Handling, tag="busy_tone"):
    """Play the engaged tone."""


class ForwardTo(_Handling, tag="forward"):
    """Forward the call to an extension or a number."""

    target: ToExtension | ToNumber


RejectedHandling = HandleWithVoicemail | MessageAndHangUp | BusyTone | ForwardTo
UnassignedHandling = MessageAndHangUp | BusyTone | ForwardTo


def extension_of(target: object) -> str | None:
    """The extension a target or handling points at, if any."""
    if isinstance(target, ToExtension):
        return target.extension
    if isinstance(target, ToVoicemail):
        return target.extension
    if isinstance(target, ForwardTo):
        return extension_of(target.target)
    if isinstance(target, NoAnswerRule):
        return extension_of(target.target)
    return None
