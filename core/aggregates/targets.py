"""Where a divert sends a call, and the handling choices of seeds 000, 001 and 002."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from core.aggregates.identifiers import Extension, Name, PhoneNumber

MIN_RING_SECONDS = 5
MAX_RING_SECONDS = 600
DEFAULT_RING_SECONDS = 300  # seed 000: "the default time (300 seconds)"

RingSeconds = Annotated[int, msgspec.Meta(ge=MIN_RING_SECONDS, le=MAX_RING_SECONDS)]

Condition = Literal["always", "no_answer", "busy", "unreachable"]
CONDITIONS: tuple[Condition, ...] = ("always", "no_answer", "busy", "unreachable")


class _Target(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="kind"):
    pass


class Off(_Target, tag="off"):
    """The default behaviour: keep ringing, engaged tone, or unavailable."""


class ToVoicemail(_Target, tag="voicemail"):
    """The user's own voicemail box."""


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


class NoAnswerRule(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What happens when a ringing phone is not answered within ``ring_seconds``."""

    target: DivertTarget = Off()
    ring_seconds: RingSeconds = DEFAULT_RING_SECONDS


class TextToSpeech(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="kind", tag="tts"):
    """A greeting read out by speech synthesis."""

    text: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
    language: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")]


class AudioFileRef(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="kind", tag="audio"):
    """A greeting played from an uploaded or recorded audio file."""

    audio_file: Name


Greeting = TextToSpeech | AudioFileRef


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
    if isinstance(target, ForwardTo):
        return extension_of(target.target)
    if isinstance(target, NoAnswerRule):
        return extension_of(target.target)
    return None
