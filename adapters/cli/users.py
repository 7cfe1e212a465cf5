"""``user``, ``divert`` and ``out-of-hours``: an admin's daily work on users, their diverts and schedules."""

from __future__ import annotations

import re
import shlex
import textwrap
from typing import Any

import click
import msgspec

from adapters.cli.common import Env, pass_env
from adapters.cli.errors import Failure
from adapters.cli.ledger import REASON, TENANT, echo_receipt
from adapters.cli.output import echo_json, echo_table
from adapters.render import SOURCE_WORDS, render_user
from adapters.words import day_text, describe
from adapters.words import schedule_summary as summary
from core import commands as c
from core.aggregates.handling import CallHandling
from core.aggregates.schedule import (
    WEEKDAYS,
    AvailableAllDay,
    DaySchedule,
    OutOfHours,
    UnavailableAllDay,
    UnavailableBetween,
    Weekday,
)
from core.aggregates.targets import Off, ToExtension, ToNumber, ToVoicemail
from core.queries import TenantView, UserView

EXTENSION = click.option("--extension", required=True, metavar="EXT", help="The user's extension, e.g. 2001.")
JSON = click.option("--json", "as_json", is_flag=True, help="Machine-readable output (instants in UTC).")
CONDITIONS = ("always", "no_answer", "busy", "unreachable")
CONDITION_WORDS = {"always": "forward always", "no_answer": "no answer", "busy": "busy", "unreachable": "unreachable"}


def counted(number: int, noun: str) -> str:
    """``1 user``, ``4 users``."""
    return f"{number} {noun}" + ("" if number == 1 else "s")


def find_user(view: TenantView, extension: str, *, changing: bool = False) -> UserView:
    """The user ``extension`` of a tenant's view, or one line naming ``--extension`` (saying nothing was stored if ``changing``)."""
    for candidate in view.users:
        if candidate.extension == extension:
            return candidate
    raise Failure(f"--extension {extension}: tenant {view.slug!r} has no extension {extension!r}"
                  + ("; nothing was stored" if changing else ""))


@click.group()
def user() -> None:
    """Add, remove, list and show users.

    Numbers, devices, licences and call-handling defaults are changed with callroute apply
    and a command file.
    """


@user.command("add")
@TENANT
@EXTENSION
@click.option("--name", required=True, help="The user's full name.")
@click.option("--email", help="The user's e-mail address.")
@REASON
@pass_env
def user_add(env: Env, slug: str, extension: str, name: str, email: str | None, reason: str | None) -> None:
    """Add a user."""
    flags = {"tenant": ("--tenant", slug), "extension": ("--extension", extension), "name": ("--name", name),
             "email": ("--email", email)}
    echo_receipt(env.execute([c.AddUser(tenant=slug, extension=extension, name=name, email=email, reason=reason)], flags=flags))


@user.command("remove")
@TENANT
@EXTENSION
@REASON
@pass_env
def user_remove(env: Env, slug: str, extension: str, reason: str | None) -> None:
    """Remove a user (refused while anything still routes to them)."""
    flags = {"tenant": ("--tenant", slug), "extension": ("--extension", extension)}
    echo_receipt(env.execute([c.RemoveUser(tenant=slug, extension=extension, reason=reason)], flags=flags))


@user.command("list")
@TENANT
@JSON
@pass_env
def user_list(env: Env, slug: str, as_json: bool) -> None:
    """List a tenant's users with their numbers, licence and forward-always divert."""
    view = env.readable(slug)
    if as_json:
        echo_json([{"extension": u.extension, "name": u.name, "email": u.email, "numbers": u.numbers,
                    "license": u.license, "forward_always": u.forward_always} for u in view.users])
        return
    echo_table(["extension", "name", "e-mail", "numbers", "licence", "forward always"],
               [(u.extension, u.name, u.email or "-", ", ".join(u.numbers) or "-", u.license, describe(u.forward_always))
                for u in view.users], title=f"{slug}: {counted(len(view.users), 'user')}")


@user.command("show")
@TENANT
@EXTENSION
@JSON
@pass_env
def user_show(env: Env, slug: str, extension: str, as_json: bool) -> None:
    """Show every setting of one user, and where each call-handling value comes from."""
    found = find_user(env.readable(slug), extension)
    if as_json:
        echo_json(found)
        return
    click.echo(textwrap.dedent("\n".join(render_user(found))))
    click.echo("where call handling comes from:")
    width = max(len(name) for name in CallHandling.__struct_fields__)
    for name in CallHandling.__struct_fields__:
        click.echo(f"  {name.replace('_', ' '):<{width}}  {SOURCE_WORDS.get(found.handling.sources[name], found.handling.sources[name])}")


def parse_target(text: str) -> Any:
    """``off``, ``voicemail``, an extension (``2002``) or a number (``+441234567890``)."""
    lowered = text.strip().lower()
    if lowered == "off":
        return Off()
    if lowered == "voicemail":
        return ToVoicemail()
    if lowered.isdigit() and len(lowered) <= 6:
        return ToExtension(extension=lowered)
    return ToNumber(number=text.strip())


@click.group()
def divert() -> None:
    """Set, show and clear a user's diverts."""


@divert.command("set")
@TENANT
@EXTENSION
@click.option("--when", "condition", required=True, type=click.Choice(["always", "no_answer", "busy", "unreachable"]),
              help="Which divert: forward always, on no answer, on busy, or when the phone is unreachable.")
@click.option("--to", "target", required=True, metavar="off|voicemail|EXT|NUMBER",
              help="Where the call goes: off (the default behaviour), voicemail, an extension or an E.164 number.")
@click.option("--ring-seconds", type=int, help="For no_answer: how long to ring first (5-600, default 300).")
@click.option("--announce", is_flag=True, help="Number targets: tell the caller they are being redirected.")
@click.option("--present-dialled-number", is_flag=True, help="Number targets: show the dialled number as caller id.")
@click.option("--always", "redirect_always", is_flag=True, help="Number targets: redirect at once, without ringing first.")
@REASON
@pass_env
def divert_set(
    env: Env, slug: str, extension: str, condition: str, target: str, ring_seconds: int | None, announce: bool,
    present_dialled_number: bool, redirect_always: bool, reason: str | None,
) -> None:
    """Set one of a user's diverts, for example --when busy --to voicemail."""
    parsed = parse_target(target)
    if isinstance(parsed, ToNumber):
        parsed = ToNumber(number=parsed.number, announce=announce, present_dialled_number=present_dialled_number,
                          always=redirect_always)
    elif announce or present_dialled_number or redirect_always:
        raise Failure("--announce, --present-dialled-number and --always apply only to a number target")
    flags = {"tenant": ("--tenant", slug), "extension": ("--extension", extension), "target": ("--to", target),
             "ring_seconds": ("--ring-seconds", ring_seconds), "condition": ("--when", condition)}
    command = c.SetDivert(tenant=slug, extension=extension, condition=condition, target=parsed,  # type: ignore[arg-type]
                          ring_seconds=ring_seconds, reason=reason)
    echo_receipt(env.execute([command], flags=flags))


@divert.command("show")
@TENANT
@EXTENSION
@JSON
@pass_env
def divert_show(env: Env, slug: str, extension: str, as_json: bool) -> None:
    """Show a user's four diverts and how long a call rings before the no-answer divert."""
    found = find_user(env.readable(slug), extension)
    h = found.handling
    if as_json:
        echo_json({"extension": found.extension, "always": found.forward_always, "no_answer": h.no_answer.target,
                   "ring_seconds": h.no_answer.ring_seconds, "busy": h.busy, "unreachable": found.unreachable,
                   "sources": {"no_answer": h.sources["no_answer"], "busy": h.sources["busy"]}})
        return
    click.echo(f"{found.extension} {found.name}: diverts")
    rows = [
        ("forward always", describe(found.forward_always)),
        ("no answer", f"{describe(h.no_answer.target)} ({SOURCE_WORDS[h.sources['no_answer']]}); "
                      f"ring time {h.no_answer.ring_seconds} s"),
        ("busy", f"{describe(h.busy)} ({SOURCE_WORDS[h.sources['busy']]})"),
        ("unreachable", describe(found.unreachable)),
    ]
    for label, text in rows:
        click.echo(f"  {label:<14}  {text}")


@divert.command("clear")
@TENANT
@EXTENSION
@click.option("--when", "condition", required=True, type=click.Choice([*CONDITIONS, "all"]),
              help="Which divert to clear, or all four. No answer and busy go back to the tenant default (the value set "
                   "for this user is dropped); forward always and unreachable have no tenant default and are turned off.")
@REASON
@pass_env
def divert_clear(env: Env, slug: str, extension: str, condition: str, reason: str | None) -> None:
    """Clear a user's diverts: no answer and busy go back to the tenant default, the others off."""
    found = find_user(env.readable(slug), extension, changing=True)
    conditions = CONDITIONS if condition == "all" else (condition,)
    to_reset = [one for one in conditions if one in TENANT_DEFAULTED and getattr(found.own, one) is not None]
    to_off = [one for one in conditions if one not in to_reset and not _is_off(found, one)]
    if not (to_reset or to_off):
        what = "every divert" if condition == "all" else f"the {CONDITION_WORDS[condition]} divert"
        raise Failure(f"--when {condition}: {what} of {extension} is already off"
                      + (", with no value of its own to clear" if set(conditions) & TENANT_DEFAULTED else "")
                      + "; nothing was stored")
    commands: list[Any] = [c.SetDivert(tenant=slug, extension=extension, condition=one, target=Off(), reason=reason)  # type: ignore[arg-type]
                           for one in to_off]
    if to_reset:
        commands.append(c.ResetCallHandling(tenant=slug, extension=extension, settings=tuple(to_reset), reason=reason))  # type: ignore[arg-type]
    flags = {"tenant": ("--tenant", slug), "extension": ("--extension", extension), "condition": ("--when", condition),
             "target": ("--when", condition), "settings": ("--when", condition), "reason": ("--reason", None)}
    echo_receipt(env.execute(commands, flags=flags))
    after = find_user(env.readable(slug), extension).handling
    said = [f"{_joined([CONDITION_WORDS[one] for one in to_off])} now off"] if to_off else []
    for one in to_reset:
        value = after.no_answer if one == "no_answer" else after.busy
        said.append(f"{CONDITION_WORDS[one]} back to the {SOURCE_WORDS[after.sources[one]]}: {describe(value)}")
    untouched = [CONDITION_WORDS[one] for one in conditions if one not in to_reset and one not in to_off]
    if untouched:
        said.append(f"{_joined(untouched)} already off")
    click.echo(f"{extension}: {'; '.join(said)}")


TENANT_DEFAULTED = {"no_answer", "busy"}
"""The diverts a tenant default applies to (seed 002's call handling); forward always and unreachable have none."""


def _is_off(found: UserView, condition: str) -> bool:
    """Whether a user's divert, as resolved, sends calls nowhere else."""
    value = {"always": found.forward_always, "unreachable": found.unreachable, "busy": found.handling.busy,
             "no_answer": found.handling.no_answer.target}[condition]
    return isinstance(value, Off)


def _joined(names: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"



_WINDOW = re.compile(r"\s*(?P<days>[a-z,\- ]+?)\s+(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})\s*")
DAYS_SHAPE = "days like mon-fri, sat,sun or mon,wed-fri"


def parse_days(text: str, option: str, typed: str | None = None) -> list[Weekday]:
    """``mon-fri``, ``sat,sun`` or ``mon,wed-fri``: the weekdays named; a refusal quotes ``typed`` (default: ``text``)."""
    shown = f"{option} {shlex.quote(typed or text)}"
    days: list[Weekday] = []
    for part in text.lower().replace(" ", "").split(","):
        first, _, last = part.partition("-")
        for day in (first, last or first):
            if day not in WEEKDAYS:
                raise Failure(f"{shown}: {day!r} is not a day; write {DAYS_SHAPE} (days are {', '.join(WEEKDAYS)})")
        lo, hi = WEEKDAYS.index(first), WEEKDAYS.index(last or first)  # type: ignore[arg-type]
        if hi < lo:
            raise Failure(f"{shown}: {part} runs backwards; write the earlier day first, e.g. mon-fri")
        days.extend(WEEKDAYS[lo : hi + 1])
    return days


def _clock(value: str, text: str) -> str:
    hours, minutes = (int(x) for x in value.split(":"))
    if hours > 23 or minutes > 59:
        raise Failure(f"--unavailable {shlex.quote(text)}: times are HH:MM from 00:00 to 23:59")
    return f"{hours:02d}:{minutes:02d}"


def _window(text: str) -> tuple[list[Weekday], UnavailableBetween]:
    match = _WINDOW.fullmatch(text.lower())
    if match is None:
        raise Failure(f"--unavailable {shlex.quote(text)}: write {DAYS_SHAPE} and a time window, e.g. 'mon-fri 18:00-08:00'")
    start, end = _clock(match["start"], text), _clock(match["end"], text)
    if start == end:
        raise Failure(f"--unavailable {shlex.quote(text)}: start and end must differ; "
                      "for the whole day use --unavailable-all-day")
    return parse_days(match["days"], "--unavailable", text), UnavailableBetween(start=start, end=end)


@click.group("out-of-hours")
def out_of_hours() -> None:
    """Set and show a user's weekly out-of-hours schedule, and turn it off or on again."""


@out_of_hours.command("set")
@TENANT
@EXTENSION
@click.option("--unavailable", "windows", multiple=True, metavar="'DAYS HH:MM-HH:MM'",
              help="Unavailable on these days between two times (see the example above; an end before the start "
                   "runs into the next morning); repeatable.")
@click.option("--unavailable-all-day", "closed", multiple=True, metavar="DAYS",
              help="Unavailable all day on these days, e.g. sat,sun; repeatable.")
@click.option("--available-all-day", "open_", multiple=True, metavar="DAYS",
              help="Available all day on these days (every day not named is); repeatable.")
@click.option("--when-unavailable", "target", default="voicemail", show_default=True, metavar="voicemail|EXT|NUMBER",
              help="Where calls go while the user is unavailable: voicemail, an extension or an E.164 number.")
@REASON
@pass_env
def out_of_hours_set(
    env: Env, slug: str, extension: str, windows: tuple[str, ...], closed: tuple[str, ...], open_: tuple[str, ...],
    target: str, reason: str | None,
) -> None:
    """Replace a user's weekly out-of-hours schedule and turn it on.

    \b
    Example:
      callroute out-of-hours set --tenant nordic-dental --extension 2004 \\
          --unavailable 'mon-fri 18:00-09:00' --unavailable-all-day sat,sun
    """
    if not (windows or closed or open_):
        raise Failure("name the days: --unavailable 'mon-fri 18:00-08:00', --unavailable-all-day sat,sun "
                      "and/or --available-all-day DAYS")
    days: dict[Weekday, DaySchedule] = {}
    given: dict[Weekday, tuple[str, str]] = {}
    flags: dict[str, tuple[str, object]] = {}
    entries: list[tuple[str, str, list[Weekday], DaySchedule]] = []
    entries += [("--unavailable", text, *_window(text)) for text in windows]
    entries += [("--unavailable-all-day", text, parse_days(text, "--unavailable-all-day"), UnavailableAllDay()) for text in closed]
    entries += [("--available-all-day", text, parse_days(text, "--available-all-day"), AvailableAllDay()) for text in open_]
    for option, text, named, schedule in entries:
        for day in named:
            if day in given:
                first = given[day]
                raise Failure(f"{option} {shlex.quote(text)}: {day} is already given by {first[0]} {shlex.quote(first[1])}; "
                              "name each day once")
            given[day] = (option, text)
            flags[f"out_of_hours.days.{day}"] = (option, shlex.quote(text))
            if not isinstance(schedule, AvailableAllDay):
                days[day] = schedule
    parsed = parse_target(target)
    if isinstance(parsed, Off):
        raise Failure("--when-unavailable off: say where calls go instead: voicemail, an extension or a number")
    schedule = OutOfHours(enabled=True, days=dict(sorted(days.items(), key=lambda kv: WEEKDAYS.index(kv[0]))),
                          when_unavailable=parsed)
    first = entries[0]
    flags |= {"tenant": ("--tenant", slug), "extension": ("--extension", extension),
              "out_of_hours": (first[0], shlex.quote(first[1])),
              "out_of_hours.when_unavailable": ("--when-unavailable", target)}
    command = c.SetOutOfHours(tenant=slug, extension=extension, out_of_hours=schedule, reason=reason)
    echo_receipt(env.execute([command], flags=flags))
    click.echo(f"{extension}: {summary(schedule)}")


@out_of_hours.command("show")
@TENANT
@EXTENSION
@JSON
@pass_env
def out_of_hours_show(env: Env, slug: str, extension: str, as_json: bool) -> None:
    """Show a user's out-of-hours schedule day by day, whether it is on, and where calls go meanwhile."""
    found = find_user(env.readable(slug), extension)
    schedule = found.out_of_hours
    if as_json:
        full = None if schedule is None else msgspec.structs.replace(schedule, days={d: schedule.day(d) for d in WEEKDAYS})
        echo_json({"extension": found.extension, "out_of_hours": full})
        return
    if schedule is None:
        click.echo(f"{found.extension} {found.name}: no out-of-hours schedule (available all week)")
        return
    click.echo(f"{found.extension} {found.name}: out of hours {'on' if schedule.enabled else 'off (kept, not applied)'}; "
               f"while unavailable → {describe(schedule.when_unavailable)}")
    for day in WEEKDAYS:
        click.echo(f"  {day}  {day_text(schedule.day(day))}")


def _switch(env: Env, slug: str, extension: str, enabled: bool, reason: str | None) -> None:
    found = find_user(env.readable(slug), extension, changing=True)
    word = "on" if enabled else "off"
    if found.out_of_hours is None:
        raise Failure(f"--extension {extension}: has no out-of-hours schedule to turn {word}; "
                      "set one with callroute out-of-hours set")
    if found.out_of_hours.enabled == enabled:
        raise Failure(f"--extension {extension}: the out-of-hours schedule is already {word}; nothing was stored")
    schedule = msgspec.structs.replace(found.out_of_hours, enabled=enabled)
    flags = {"tenant": ("--tenant", slug), "extension": ("--extension", extension), "out_of_hours": ("--extension", extension)}
    echo_receipt(env.execute([c.SetOutOfHours(tenant=slug, extension=extension, out_of_hours=schedule, reason=reason)],
                             flags=flags))
    click.echo(f"{extension}: {summary(schedule)}")


@out_of_hours.command("off")
@TENANT
@EXTENSION
@REASON
@pass_env
def out_of_hours_off(env: Env, slug: str, extension: str, reason: str | None) -> None:
    """Turn a user's out-of-hours schedule off, keeping it to turn on again later."""
    _switch(env, slug, extension, False, reason)


@out_of_hours.command("on")
@TENANT
@EXTENSION
@REASON
@pass_env
def out_of_hours_on(env: Env, slug: str, extension: str, reason: str | None) -> None:
    """Turn a user's kept out-of-hours schedule on again."""
    _switch(env, slug, extension, True, reason)
