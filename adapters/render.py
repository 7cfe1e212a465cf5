"""Human-readable text for views: what `callroute tenant show` prints."""

from __future__ import annotations

from collections.abc import Iterable
from zoneinfo import ZoneInfo

from adapters.words import (
    describe,
    hours_text,
    instant_text,
    ring_time_text,
    seconds,
    terminal_safe,
    unknown_text,
    words,
)
from core.aggregates.catalog import PbxLink, UnknownPbxMember
from core.aggregates.groups import CloudMember, MemberRef, SipMember, member_label
from core.aggregates.hours import OpeningHours
from core.aggregates.schedule import WEEKDAYS, AvailableAllDay, UnavailableAllDay, UnavailableBetween
from core.queries import TenantView, UserView

SOURCE_WORDS = {"user": "set for this user", "pinned": "an earlier tenant default, kept for this user",
                "tenant": "tenant default", "built_in": "built-in default"}
"""Where a resolved call-handling value comes from, in words."""


def render_user(user: UserView) -> list[str]:
    """Lines describing one user."""
    lines = [f"  {user.extension}  {user.name}" + (f" <{user.email}>" if user.email else "") + (" [Pro]" if user.license == "pro" else "")]
    if user.numbers:
        lines.append(f"      numbers: {', '.join(user.numbers)} (default {user.default_number}"
                     + (f", presents {user.presentation_number})" if user.presentation_number else ")"))
    for device in user.devices:
        lines.append(f"      device: {device.mac}" + (f" {device.model}" if device.model else ""))
    if user.permanent_redirect:
        lines.append(f"      permanent redirect: {user.permanent_redirect}")
    h = user.handling
    lines.append(f"      forward always: {describe(user.forward_always)}   unreachable: {describe(user.unreachable)}")
    lines.append(f"      no answer: {describe(h.no_answer)} [{SOURCE_WORDS[h.sources['no_answer']]}]   "
                 f"busy: {describe(h.busy)} [{SOURCE_WORDS[h.sources['busy']]}]   call waiting: {describe(h.call_waiting)}")
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
    return [terminal_safe(line) for line in lines]


def hours(value: OpeningHours | None) -> str:
    """Opening hours in one line, in week order: ``mon-fri 09:00-18:00``."""
    return hours_text(value)


def unknown_mark(links: Iterable[PbxLink], ref: MemberRef) -> UnknownPbxMember | None:
    """The mark on a member of another PBX that the directory stopped listing (``None``: not marked, or a user here)."""
    match ref:
        case CloudMember(pbx=pbx, member=member) | SipMember(pbx=pbx, internal_number=member):
            return next((link.unknown_members.get(member) for link in links if link.id == pbx), None)
    return None


def render_services(view: TenantView) -> list[str]:
    """Lines for groups, queues, IVR menus, schemes, numbers and the catalogue."""
    lines: list[str] = []
    zone = ZoneInfo(view.time_zone)
    for group in view.groups:
        s = group.settings
        lines.append(f"  answer group {group.id}: {s.name}, number {s.number or '-'}, billing id {s.billing_id or '-'}, "
                     f"display {s.display_number or '-'}, {words(s.strategy)}, timeout {seconds(s.timeout_seconds)}, "
                     f"if nobody answers → {describe(s.fallback)}")
        for member in group.members:
            excluded = " (excluded)" if member.excluded else ""
            mark = unknown_mark(view.pbx_links, member.ref)
            unknown = f"; {unknown_text(mark, zone)}" if mark is not None else ""
            lines.append(f"      {member_label(member.ref)} rings {ring_time_text(member.ring_seconds)}{excluded}{unknown}")
        if group.supervisors:
            lines.append(f"      supervisors: {', '.join(group.supervisors)}")
    for key, queue in view.queues.items():
        lines.append(f"  queue {key}: {queue.name}, agents {', '.join(queue.agents) or '-'}, {words(queue.strategy)}, "
                     f"ring {seconds(queue.agent_ring_seconds)}, wrap-up {seconds(queue.wrap_up_seconds)}, "
                     f"max wait {seconds(queue.max_wait_seconds)} "
                     f"→ {describe(queue.after_max_wait)}, no agents → {describe(queue.when_no_agents)}")
    for key, ivr in view.ivr_menus.items():
        options = ", ".join(f"{digit}: {describe(dest)}" for digit, dest in sorted(ivr.options.items()))
        lines.append(f"  IVR menu {key}: {ivr.name}, number {ivr.number or '-'}; {options}")
        lines.append(f"      prompt {describe(ivr.prompt)}; open {hours(ivr.opening_hours)}, closed → {describe(ivr.when_closed)}")
    for item in view.schemes:
        scheme = item.scheme
        steps = " → ".join(f"{describe(step.destination)} ({seconds(step.timeout_seconds)})" for step in scheme.steps)
        lines.append(f"  scheme {item.id}: {scheme.name}, {scheme.mode}: {steps}")
        lines.append(f"      working hours {hours(scheme.working_hours)}, outside → {describe(scheme.outside_hours)}")
        for warning in item.warnings:
            lines.append(f"      warning: {warning}")
    for number in view.numbers:
        lines.append(f"  number {number.number} → {describe(number.entry) if number.entry else 'unassigned'} ({number.source})")
    for display in view.display_numbers:
        lines.append(f"  display number {display.number}{' (SMS)' if display.sms else ''}: users {', '.join(display.users) or '-'}, "
                     f"groups {', '.join(display.groups) or '-'}")
    for audio in view.audio_files:
        lines.append(f"  audio file {audio.name!r} [{audio.language}] {words(audio.source)}, {seconds(audio.duration_seconds)}")
    for link in view.pbx_links:
        lines.append(f"  linked {link.kind} PBX {link.id}: {link.name}")
        for member, mark in link.unknown_members.items():
            lines.append(f"      {member} {unknown_text(mark, zone)}")
    for kind, allowance in view.allowances.items():
        limit = "no limit" if allowance.included is None else f"{allowance.included} included + {allowance.bought} bought"
        lines.append(f"  {kind.replace('_', ' ')}: {allowance.used} used ({limit})")
    admins = ", ".join(view.admins) or "-"
    lines.append(f"  telephony admins: {admins}; partner: {view.partner or '-'}")
    return lines


_LABELS = {"rejected": "rejected calls", "no_answer": "no answer", "busy": "busy", "display_number": "display number"}


def render_tenant(view: TenantView) -> str:
    """The whole tenant as text."""
    lines = [
        f"{view.name} ({view.slug}) — plan {view.plan}, time zone {view.time_zone}, version {view.version}"
        + (" — CLOSED" if view.closed else ""),
        f"  last change: {instant_text(view.modified_on, ZoneInfo(view.time_zone))}",
        "  defaults:",
    ]
    for name in view.defaults.__struct_fields__:
        value = getattr(view.defaults, name)
        if value is not None:
            scope = words(view.default_scopes.get(name, "?"))
            lines.append(f"    {_LABELS.get(name, name.replace('_', ' '))}: {describe(value)} (applies to {scope})")
    lines.append(f"    users may change transcription: {describe(view.transcription_users_may_change)}")
    lines.append(f"    unassigned numbers: {describe(view.unassigned)}")
    lines.append(f"  users ({len(view.users)}):")
    for user in view.users:
        lines.extend(render_user(user))
    lines.extend(render_services(view))
    return "\n".join(terminal_safe(line) for line in lines)
