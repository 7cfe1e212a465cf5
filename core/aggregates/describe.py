"""Short readable descriptions of settings: used by explanations, the CLI and reports."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core.aggregates.dated import OwnHandling
from core.aggregates.targets import (
    AudioFileRef,
    BusyTone,
    ForwardTo,
    HandleWithVoicemail,
    MessageAndHangUp,
    NoAnswerRule,
    Off,
    PlayMessage,
    TextToSpeech,
    ToExtension,
    ToExternalSip,
    ToGroup,
    ToIvr,
    ToNumber,
    ToQueue,
    ToRemote,
    ToResponsibleManager,
    ToScheme,
    ToVoicemail,
    ToWebhook,
)


def _number(value: ToNumber) -> str:
    options = [name for name in ("announce", "present_dialled_number", "always") if getattr(value, name)]
    return value.number + (f" ({', '.join(options)})" if options else "")


# One look-up per call instead of a chain of class patterns: explanations call this for
# every rule they describe, on the routing hot path.
_BY_TYPE: dict[type, Callable[[Any], str]] = {
    Off: lambda v: "off",
    ToVoicemail: lambda v: f"voicemail of {v.extension}" if v.extension is not None else "voicemail",
    HandleWithVoicemail: lambda v: "voicemail",
    ToExtension: lambda v: f"extension {v.extension}",
    ToNumber: _number,
    ToGroup: lambda v: f"answer group {v.group}",
    ToQueue: lambda v: f"queue {v.queue}",
    ToIvr: lambda v: f"IVR menu {v.ivr}",
    ToScheme: lambda v: f"scheme {v.scheme}",
    ToExternalSip: lambda v: f"external SIP {v.uri}",
    ToWebhook: lambda v: f"number from webhook {v.url}",
    ToResponsibleManager: lambda v: "responsible manager (CRM)",
    ToRemote: lambda v: f"{v.member} on PBX {v.pbx}",
    PlayMessage: lambda v: f"play {describe(v.message)} and hang up",
    NoAnswerRule: lambda v: f"after {v.ring_seconds}s → {describe(v.target)}",
    BusyTone: lambda v: "busy tone",
    MessageAndHangUp: lambda v: f"message and hang up: {describe(v.message)}",
    ForwardTo: lambda v: f"forward to {describe(v.target)}",
    TextToSpeech: lambda v: f"text-to-speech [{v.language}] {v.text!r}",
    AudioFileRef: lambda v: f"audio file {v.audio_file!r}",
    OwnHandling: lambda v: "each thing's own out-of-hours handling",
    bool: lambda v: "on" if v else "off",
    type(None): lambda v: "-",
}


_AGENT_LEVEL = {"logged_in": "logged in", "reachable": "logged in and reachable", "free": "free"}


def agent_level(rule: str) -> str:
    """What a queue's join or leave rule asks of an agent, in words: ``agent_free`` and ``no_agent_free`` → ``free``."""
    return _AGENT_LEVEL[rule.removeprefix("no_").removeprefix("agent_")]


def describe(value: object) -> str:
    """A divert target, handling or greeting in a few words."""
    render = _BY_TYPE.get(type(value))
    return render(value) if render is not None else str(value)
