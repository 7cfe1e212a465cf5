"""Short readable descriptions of settings: used by explanations, the CLI and reports."""

from __future__ import annotations

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


def describe(value: object) -> str:
    """A divert target, handling or greeting in a few words."""
    match value:
        case None:
            return "-"
        case Off():
            return "off"
        case ToVoicemail(extension=ext) if ext is not None:
            return f"voicemail of {ext}"
        case ToVoicemail() | HandleWithVoicemail():
            return "voicemail"
        case ToGroup(group=key):
            return f"answer group {key}"
        case ToQueue(queue=key):
            return f"queue {key}"
        case ToIvr(ivr=key):
            return f"IVR menu {key}"
        case ToScheme(scheme=key):
            return f"scheme {key}"
        case ToExternalSip(uri=uri):
            return f"external SIP {uri}"
        case ToWebhook(url=url):
            return f"number from webhook {url}"
        case ToResponsibleManager():
            return "responsible manager (CRM)"
        case ToRemote(pbx=pbx, member=member):
            return f"{member} on PBX {pbx}"
        case PlayMessage(message=message):
            return f"play {describe(message)} and hang up"
        case ToExtension(extension=ext):
            return f"extension {ext}"
        case ToNumber():
            options = [name for name in ("announce", "present_dialled_number", "always") if getattr(value, name)]
            return value.number + (f" ({', '.join(options)})" if options else "")
        case NoAnswerRule(target=target, ring_seconds=seconds):
            return f"after {seconds}s → {describe(target)}"
        case BusyTone():
            return "busy tone"
        case MessageAndHangUp(message=message):
            return f"message and hang up: {describe(message)}"
        case ForwardTo(target=target):
            return f"forward to {describe(target)}"
        case TextToSpeech(text=text, language=language):
            return f"text-to-speech [{language}] {text!r}"
        case AudioFileRef(audio_file=name):
            return f"audio file {name!r}"
        case bool():
            return "on" if value else "off"
    return str(value)
