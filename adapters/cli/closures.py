"""``closure``: a tenant's holidays and exceptions, dated closures that override weekly hours; public holidays imported."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

import click

from adapters.cli.common import Env, pass_env
from adapters.cli.errors import Failure
from adapters.cli.ledger import REASON, TENANT, echo_receipt
from adapters.cli.output import echo_json, echo_table
from adapters.cli.users import JSON, counted
from adapters.words import describe
from core import commands as c
from core.aggregates.dated import Closure, ClosureScope, OwnHandling, period_text, scope_text
from core.aggregates.hours import Window
from core.aggregates.targets import (
    PlayMessage,
    TextToSpeech,
    ToExtension,
    ToGroup,
    ToIvr,
    ToNumber,
    ToQueue,
    ToScheme,
    ToVoicemail,
)

DESTINATION_SHAPE = "own, EXT, NUMBER, voicemail:EXT, group:ID, queue:ID, ivr:ID or scheme:ID"
_KINDS = {"voicemail": lambda key: ToVoicemail(extension=key), "group": lambda key: ToGroup(group=key),
          "queue": lambda key: ToQueue(queue=key), "ivr": lambda key: ToIvr(ivr=key), "scheme": lambda key: ToScheme(scheme=key)}
_HOURS = re.compile(r"\s*(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})\s*")
_YEARS = re.compile(r"\s*(?P<first>\d{4})(?:\s*-\s*(?P<last>\d{4}))?\s*")
# (option, scope field, what it names): the same repeatable options on add and import-holidays.
_SCOPE = (("--user", "users", "EXT", "a user"), ("--group", "groups", "GROUP", "an answer group"),
          ("--queue", "queues", "QUEUE", "a call queue"), ("--ivr", "ivrs", "IVR", "an IVR menu"),
          ("--scheme", "schemes", "SCHEME", "a forwarding scheme"))


def _closing_options(function: Any) -> Any:
    """Where calls go while closed, and what the closure closes (both shared by ``add`` and ``import-holidays``)."""
    for option, field, metavar, what in reversed(_SCOPE):
        function = click.option(option, field, multiple=True, metavar=metavar,
                                help=f"Close only {what} (repeatable; with none of --user, --group, --queue, --ivr and "
                                     "--scheme the whole tenant closes).")(function)
    function = click.option("--message-language", "message_language", default="en", show_default=True, metavar="TAG",
                            help="The language --message is read in, e.g. sv-SE.")(function)
    function = click.option("--message", metavar="TEXT",
                            help="Instead of --to: read this message to callers, then hang up.")(function)
    return click.option("--to", "target", metavar="WHERE",
                        help=f"Where calls go while closed: {DESTINATION_SHAPE} (default: own, each closed thing's own "
                             "out-of-hours handling).")(function)


def parse_destination(target: str | None, message: str | None, message_language: str) -> Any:
    """``--to`` or ``--message`` as a closure's destination (neither: each thing's own handling)."""
    if target is not None and message is not None:
        raise Failure("--to and --message cannot be used together; choose where calls go")
    if message is not None:
        return PlayMessage(message=TextToSpeech(text=message, language=message_language))
    text = (target or "own").strip()
    lowered = text.lower()
    if lowered == "own":
        return OwnHandling()
    kind, colon, key = lowered.partition(":")
    if colon:
        if kind not in _KINDS or not key:
            raise Failure(f"--to {target}: write {DESTINATION_SHAPE}")
        return _KINDS[kind](key)
    if lowered.isdigit() and len(lowered) <= 6:
        return ToExtension(extension=lowered)
    return ToNumber(number=text)


def parse_scope(given: dict[str, tuple[str, ...]]) -> ClosureScope | None:
    """The listed things, or ``None`` (the whole tenant) when nothing is listed."""
    if not any(given.values()):
        return None
    return ClosureScope(**{field: tuple(keys) for field, keys in given.items()})


def scope_flags(given: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, object]]:
    """Each listed thing's field (``scope.users[0]``) → the option and value typed for it."""
    options = {field: option for option, field, _, _ in _SCOPE}
    return {f"scope.{field}[{index}]": (options[field], key) for field, keys in given.items() for index, key in enumerate(keys)}


def parse_hours(text: str) -> Window:
    """``12:00-17:00`` (an end before the start runs past midnight)."""
    match = _HOURS.fullmatch(text)
    if match is None:
        raise Failure(f"--hours {text}: write a window like 12:00-17:00")
    parts = []
    for value in (match["start"], match["end"]):
        hours, minutes = (int(x) for x in value.split(":"))
        if hours > 23 or minutes > 59:
            raise Failure(f"--hours {text}: times are HH:MM from 00:00 to 23:59")
        parts.append(f"{hours:02d}:{minutes:02d}")
    return Window(start=parts[0], end=parts[1])


def closure_row(closure: Closure) -> tuple[str, str, str, str]:
    """A closure as a row: its name, when, where calls go, what it closes."""
    return closure.name, period_text(closure), describe(closure.destination), scope_text(closure.scope)


DAY = click.DateTime(formats=["%Y-%m-%d"])


@click.group()
def closure() -> None:
    """Add, list and remove a tenant's dated closures (holidays and exceptions), and import public holidays.

    While a closure is in force, the users, answer groups, queues, IVR menus and forwarding
    schemes it closes (the whole tenant unless some are listed) are closed whatever their
    weekly hours say. Dates and hours are in the tenant's time zone.
    """


@closure.command("add")
@TENANT
@click.option("--name", required=True, help="The closure's name, e.g. 'Christmas Eve'.")
@click.option("--date", "first", required=True, type=DAY, metavar="YYYY-MM-DD", help="The (first) day closed.")
@click.option("--until", "last", type=DAY, metavar="YYYY-MM-DD", help="The last day closed, included (default: --date).")
@click.option("--hours", metavar="HH:MM-HH:MM", help="Closed only in this window on each day (default: whole days).")
@click.option("--yearly", is_flag=True, help="Every year on the same dates.")
@_closing_options
@REASON
@pass_env
def closure_add(env: Env, slug: str, name: str, first: datetime, last: datetime | None, hours: str | None, yearly: bool,
                target: str | None, message: str | None, message_language: str, reason: str | None,
                **scope: tuple[str, ...]) -> None:
    """Add a closure on a date or dates, whole days or some hours, once or every year.

    \b
    Example:
      callroute closure add --tenant nordic-dental --name 'Christmas Eve' --date 2026-12-24 \\
          --yearly --to voicemail:2001
    """
    window = parse_hours(hours) if hours is not None else None
    command = c.AddClosure(tenant=slug, name=name, first_day=first.date(), last_day=last.date() if last else None,
                           hours=window, yearly=yearly, destination=parse_destination(target, message, message_language),
                           scope=parse_scope(scope), reason=reason)
    typed_to = target if message is None else repr(message)
    flags = {"tenant": ("--tenant", slug), "name": ("--name", name), "first_day": ("--date", _day(first)),
             "last_day": ("--until", _day(last) if last else _day(first)), "hours": ("--hours", hours),
             "destination": ("--to" if message is None else "--message", typed_to or "own"), **scope_flags(scope)}
    echo_receipt(env.execute([command], flags=flags))
    added = next(one for one in env.readable(slug).closures if one.name == name.strip())
    _, when, where, closes = closure_row(added)
    click.echo(f"{added.name}: {when}; calls go to {where}; closes {closes}")


@closure.command("list")
@TENANT
@JSON
@pass_env
def closure_list(env: Env, slug: str, as_json: bool) -> None:
    """List a tenant's closures by first day: when, where calls go, and what each closes."""
    closures = env.readable(slug).closures
    if as_json:
        echo_json(list(closures))
        return
    echo_table(["closure", "when", "calls go to", "closes"], [closure_row(one) for one in closures],
               title=f"{slug}: {counted(len(closures), 'closure')}")


@closure.command("remove")
@TENANT
@click.option("--name", required=True, help="The closure's name, as closure list shows it.")
@REASON
@pass_env
def closure_remove(env: Env, slug: str, name: str, reason: str | None) -> None:
    """Remove a closure."""
    flags = {"tenant": ("--tenant", slug), "name": ("--name", name)}
    echo_receipt(env.execute([c.RemoveClosure(tenant=slug, name=name, reason=reason)], flags=flags))


@closure.command("import-holidays")
@TENANT
@click.option("--country", required=True, metavar="CC", help="The country, as an ISO 3166 code, e.g. SE.")
@click.option("--subdivision", metavar="CODE", help="A state or region with holidays of its own, e.g. BY in DE.")
@click.option("--years", required=True, metavar="YYYY[-YYYY]", help="The year or years, e.g. 2026-2027 (at most 10).")
@click.option("--category", "categories", multiple=True, metavar="NAME",
              help="A category of the holidays package, e.g. public, de_facto or bank (repeatable; default: public "
                   "and, where the country has them, de facto holidays such as Sweden's Midsummer Eve).")
@click.option("--language", metavar="LANG",
              help="The language of the holidays' names, e.g. sv or en_US (default: English where the package has it).")
@click.option("--replace", is_flag=True, help="Replace closures of the same names imported before.")
@_closing_options
@REASON
@pass_env
def closure_import(env: Env, slug: str, country: str, subdivision: str | None, years: str, categories: tuple[str, ...],
                   language: str | None, replace: bool, target: str | None, message: str | None, message_language: str,
                   reason: str | None, **scope: tuple[str, ...]) -> None:
    """Import a country's public holidays for some years as whole-day closures, one per holiday and year.

    The dates are computed now, by the holidays package, and stored with the change: the
    tenant's history stays the same when the package's data changes later.

    \b
    Example:
      callroute closure import-holidays --tenant nordic-dental --country SE --years 2026-2027
    """
    match = _YEARS.fullmatch(years)
    if match is None:
        raise Failure(f"--years {years}: write a year or two, e.g. 2026 or 2026-2027")
    first, last = int(match["first"]), int(match["last"] or match["first"])
    command = c.ImportPublicHolidays(
        tenant=slug, country=country.upper(), subdivision=subdivision, first_year=first, last_year=last,
        categories=categories or None, language=language, destination=parse_destination(target, message, message_language),
        scope=parse_scope(scope), replace=replace, reason=reason)
    typed_to = target if message is None else repr(message)
    flags = {"tenant": ("--tenant", slug), "country": ("--country", country), "subdivision": ("--subdivision", subdivision),
             "first_year": ("--years", years), "last_year": ("--years", years), "categories": ("--category", ", ".join(categories)),
             "language": ("--language", language), "replace": ("--years", years),
             "destination": ("--to" if message is None else "--message", typed_to or "own"), **scope_flags(scope)}
    receipt = env.execute([command], flags=flags)
    echo_receipt(receipt)
    version = receipt.versions[slug]  # type: ignore[attr-defined]
    before = env.app.tenant(slug, version=version - 1).state.closures
    imported = sorted((one for one in env.app.tenant(slug, version=version).state.closures.values()
                       if before.get(one.name) != one), key=lambda one: (one.first_day, one.name))
    echo_table(["closure", "when", "calls go to", "closes"], [closure_row(one) for one in imported],
               title=f"{slug}: {counted(len(imported), 'closure')} imported")


def _day(value: datetime | date) -> str:
    return value.strftime("%Y-%m-%d")
