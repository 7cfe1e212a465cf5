"""Human-readable text for views: what `callroute tenant show` prints."""

from __future__ import annotations

from core.aggregates.schedule import WEEKDAYS, AvailableAllDay, UnavailableAllDay, UnavailableBetween
from core.aggregates.targets import (
    AudioFileRef,
    BusyTone,
    ForwardTo,
    HandleWithVoicemail,
    MessageAndHangUp,
    NoAnswerRule,
    Off,
    TextToSpeech,
    ToExtension,
    ToNumber,
    ToVoicemail,
)
from core.queries import TenantView, UserView


def describe(value: object) -> str:
    """A divert target, handling or greeting in a few words."""
    match value:
        case None:
            return "-"
        case Off():
            return "off"
        case ToVoicemail() | HandleWithVoicemail():
            return "voicemail"
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


def render_user(user: UserView) -> list[str]:
    """Lines describing one user."""
    lines = [f"  {user.extension}  {user.name}" + (f" <{user.email}>" if user.email else "")]
    if user.numbers:
        lines.append(f"      numbers: {', '.join(user.numbers)} (default {user.default_number}"
                     + (f", presents {user.presentation_number})" if user.presentation_number else ")"))
    for device in user.devices:
        lines.append(f"      device: {device.mac}" + (f" {device.model}" if device.model else ""))
    if user.permanent_redirect:
        lines.append(f"      permanent redirect: {user.permanent_redirect}")
    h = user.handling
    lines.append(f"      forward always: {describe(user.forward_always)}   unreachable: {describe(user.unreachable)}")
    lines.append(f"      no answer: {describe(h.no_answer)} [{h.sources['no_answer']}]   "
                 f"busy: {describe(h.busy)} [{h.sources['busy']}]   call waiting: {describe(h.call_waiting)}")
    lines.append(f"      rejected calls: {describe(h.rejected)}   reject anonymous: {describe(user.reject_anonymous)}")
    lines.append(f"      voicemail: {describe(h.voicemail_greeting)}   transcription: {describe(h.transcription)}"
                 f"   display number: {h.display_number}")
    lines.append(f"      notify: missed calls {describe(user.notify_missed_call)}, voicemail {describe(user.notify_voicemail)}"
                 f"   voice-portal PIN: {'set' if user.has_voice_portal_pin else 'not set'}")
    if user.out_of_hours is not None:
        days = []
        for day in WEEKDAYS:
            schedule = user.out_of_hours.day(day)
            if isinstance(schedule, AvailableAllDay):
                continue
            if isinstance(schedule, UnavailableAllDay):
                days.append(f"{day} all day")
            elif isinstance(schedule, UnavailableBetween):
                days.append(f"{day} {schedule.start}-{schedule.end}")
        state = "on" if user.out_of_hours.enabled else "off"
        lines.append(f"      out of hours ({state}): unavailable {', '.join(days) or 'never'}"
                     f" → {describe(user.out_of_hours.when_unavailable)}")
    return lines


def render_tenant(view: TenantView) -> str:
    """The whole tenant as text."""
    lines = [
        f"{view.name} ({view.slug}) — plan {view.plan}, time zone {view.time_zone}, version {view.version}"
        + (" — CLOSED" if view.closed else ""),
        f"  last change: {view.modified_on.isoformat()}",
        "  defaults:",
    ]
    for name in view.defaults.__struct_fields__:
        value = getattr(view.defaults, name)
        if value is not None:
            lines.append(f"    {name}: {describe(value)} (applies to {view.default_scopes.get(name, '?').replace('_', ' ')})")
    lines.append(f"    users may change transcription: {describe(view.transcription_users_may_change)}")
    lines.append(f"    unassigned numbers: {describe(view.unassigned)}")
    lines.append(f"  users ({len(view.users)}):")
    for user in view.users:
        lines.extend(render_user(user))
    return "\n".join(lines)
