"""Holidays and exceptions: named dated closures that override weekly hours, and imported public holidays.

A closure (``dated.py``) closes the whole tenant or the users, answer groups, queues, IVR
menus and forwarding schemes it lists, on a date or a run of dates in the tenant's time
zone (whole days or a window of hours on each), once or every year. Public holidays come
from the ``holidays`` package; the import stores the dated closures it computed in its
event, so the tenant's history stays the same when the package's data changes later.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, NamedTuple

import msgspec

from core.aggregates.commanding import Command, handles
from core.aggregates.context import CommandContext
from core.aggregates.dated import CLOSABLE, MAX_DAYS, OWN_HANDLING, Closure, ClosureDestination, ClosureScope, OwnHandling
from core.aggregates.hours import Window
from core.aggregates.identifiers import Name, whole
from core.aggregates.loops import refuse_loops
from core.aggregates.tenant import Tenant, TenantEvent
from core.errors import AlreadyExistsError, NotFoundError, ValidationFailed

CountryCode = Annotated[str, msgspec.Meta(pattern=whole(r"[A-Z]{2}"), description="ISO 3166-1 alpha-2 country code, e.g. SE")]
Subdivision = Annotated[str, msgspec.Meta(pattern=whole(r"[A-Za-z0-9-]{1,10}"), description="ISO 3166-2 subdivision, e.g. BY")]
FIRST_YEAR, LAST_YEAR = 1900, 2200
"""The years closures and imports may name: any calendar a tenant plans with, and far from ``date``'s limits."""
Year = Annotated[int, msgspec.Meta(ge=FIRST_YEAR, le=LAST_YEAR)]
HolidayCategory = Annotated[str, msgspec.Meta(pattern=whole(r"[a-z_]{2,30}"), description="a category of the holidays package")]
HolidayLanguage = Annotated[str, msgspec.Meta(pattern=whole(r"[a-z]{2,3}(_[A-Z]{2})?"), description="e.g. en_US or sv")]
MAX_YEARS = 10
"""Years one import may cover: enough to plan ahead, few enough to list and review."""
DEFAULT_CATEGORIES = ("public", "de_facto")
"""Public holidays, and the days the law treats like them where the package knows such days (Sweden's Midsummer,
Christmas and New Year's Eves)."""


class AddClosure(Command, kw_only=True, tag="add_closure"):
    """Add a named closure: a date or dates, whole days or hours, once or yearly, where calls go, what it closes."""

    name: Name
    first_day: date
    last_day: date | None = None
    hours: Window | None = None
    yearly: bool = False
    destination: ClosureDestination = OWN_HANDLING
    scope: ClosureScope | None = None


class ClosureAdded(TenantEvent):
    TOPIC = "callroute/ClosureAdded"
    closure: Closure

    def apply(self, tenant: Tenant) -> None:
        tenant.state.closures[self.closure.name] = self.closure


def _check_days(closure: Closure) -> None:
    first, last = closure.first_day, closure.last
    for day, field in ((first, "first_day"), (closure.last_day, "last_day")):
        if day is not None and not FIRST_YEAR <= day.year <= LAST_YEAR:
            raise ValidationFailed(f"a closure's days fall in the years {FIRST_YEAR} to {LAST_YEAR}", field=field)
    if last < first:
        raise ValidationFailed(f"the last day {last} is before the first day {first}", field="last_day")
    if (last - first).days + 1 > MAX_DAYS:
        raise ValidationFailed(f"a closure covers at most {MAX_DAYS} days", field="last_day")
    if closure.hours is not None and closure.hours.start == closure.hours.end:
        raise ValidationFailed("a window needs different start and end (leave hours out for whole days)", field="hours")
    if not closure.yearly:
        return
    for day, field in ((first, "first_day"), (last, "last_day")):
        if (day.month, day.day) == (2, 29):
            raise ValidationFailed("a yearly closure cannot fall on 29 February, which most years lack", field=field)
    if last >= first.replace(year=first.year + 1):
        raise ValidationFailed("a yearly closure must be shorter than a year", field="last_day")


def _check_scope(tenant: Tenant, scope: ClosureScope | None) -> None:
    if scope is None:
        return
    if not any((scope.users, scope.groups, scope.queues, scope.ivrs, scope.schemes)):
        raise ValidationFailed("list what the closure closes, or leave the scope out for the whole tenant", field="scope")
    for index, extension in enumerate(scope.users):
        tenant.user(extension, field=f"scope.users[{index}]")
    state = tenant.state
    for kind, table, label in (("groups", state.groups, "answer group"), ("queues", state.queues, "call queue"),
                               ("ivrs", state.ivrs, "IVR menu"), ("schemes", state.schemes, "forwarding scheme")):
        for index, key in enumerate(getattr(scope, kind)):
            if key not in table:
                raise NotFoundError(f"tenant {state.slug!r} has no {label} {key!r}", field=f"scope.{kind}[{index}]")


def _checked_destination(tenant: Tenant, destination: ClosureDestination, scope: ClosureScope | None,
                         ctx: CommandContext) -> ClosureDestination:
    """The destination in normal form; it must exist, name a mailbox, and not be something the closure lists."""
    if isinstance(destination, OwnHandling):
        return destination
    checked = tenant.destination(destination, ctx, field="destination", mailbox_required=True)
    closable = CLOSABLE.get(type(checked))
    if scope is not None and closable is not None:
        kind, field = closable
        key = getattr(checked, field)
        if scope.names(kind, key):
            raise ValidationFailed(f"the closure closes {key} and cannot send calls there", field=f"destination.{field}")
    return checked


@handles(AddClosure)
def add_closure(tenant: Tenant, cmd: AddClosure, ctx: CommandContext) -> None:
    """A new name; days in order, at most a year; yearly never on 29 February; what it lists and sends calls to exists."""
    name = cmd.name.strip()
    if not name:
        raise ValidationFailed("a closure needs a name", field="name")
    if name in tenant.state.closures:
        raise AlreadyExistsError(f"there is already a closure {name!r}; remove it first to change it", field="name")
    closure = Closure(name=name, first_day=cmd.first_day, last_day=None if cmd.last_day == cmd.first_day else cmd.last_day,
                      hours=cmd.hours, yearly=cmd.yearly, destination=cmd.destination, scope=cmd.scope)
    _check_days(closure)
    _check_scope(tenant, cmd.scope)
    destination = _checked_destination(tenant, cmd.destination, cmd.scope, ctx)
    closure = msgspec.structs.replace(closure, destination=destination)
    _refuse_loops(tenant, (closure,))
    tenant.trigger(ClosureAdded, ctx, closure=closure)


class RemoveClosure(Command, kw_only=True, tag="remove_closure"):
    """Remove a named closure."""

    name: Name


class ClosureRemoved(TenantEvent):
    TOPIC = "callroute/ClosureRemoved"
    closure_name: str

    def apply(self, tenant: Tenant) -> None:
        del tenant.state.closures[self.closure_name]


@handles(RemoveClosure)
def remove_closure(tenant: Tenant, cmd: RemoveClosure, ctx: CommandContext) -> None:
    """The closure must exist."""
    if cmd.name not in tenant.state.closures:
        known = ", ".join(sorted(tenant.state.closures)) or "none"
        raise NotFoundError(f"there is no closure {cmd.name!r} (closures: {known})", field="name")
    tenant.trigger(ClosureRemoved, ctx, closure_name=cmd.name)


class ImportPublicHolidays(Command, kw_only=True, tag="import_public_holidays"):
    """Add a country's public holidays for a range of years as whole-day closures, one per holiday and year."""

    country: CountryCode
    subdivision: Subdivision | None = None
    first_year: Year
    last_year: Year
    categories: Annotated[tuple[HolidayCategory, ...], msgspec.Meta(min_length=1, max_length=10)] | None = None
    """The package's categories (``public``, ``de_facto``, ``bank``…); default: public and, where the country
    has them, de facto holidays."""
    language: HolidayLanguage | None = None
    """The language of the holidays' names; default: English where the package has it, else the country's own."""
    destination: ClosureDestination = OWN_HANDLING
    scope: ClosureScope | None = None
    replace: bool = False
    """Replace closures that already have the names this import gives (a re-import); else they are refused."""


class PublicHolidaysImported(TenantEvent):
    """The closures as computed when imported: replaying never asks the package again."""

    TOPIC = "callroute/PublicHolidaysImported"
    country: str
    subdivision: str | None
    first_year: int
    last_year: int
    categories: tuple[str, ...]
    language: str
    source: str
    """The package and version the dates came from (``holidays 0.109``)."""
    closures: tuple[Closure, ...]

    def apply(self, tenant: Tenant) -> None:
        for closure in self.closures:
            tenant.state.closures[closure.name] = closure


class _Found(NamedTuple):
    days: list[tuple[date, str]]
    categories: tuple[str, ...]
    language: str
    source: str


def _public_holidays(cmd: ImportPublicHolidays) -> _Found:
    """The holidays of the command's country, subdivision and years, with the categories and language used."""
    # Imported here: only this command needs the package and its ~50 ms import.
    import holidays

    years = range(cmd.first_year, cmd.last_year + 1)
    try:
        probe = holidays.country_holidays(cmd.country, subdiv=cmd.subdivision, years=())
    except NotImplementedError:
        field = "subdivision" if cmd.subdivision is not None and cmd.country in holidays.list_supported_countries() else "country"
        known = holidays.list_supported_countries().get(cmd.country, [])
        hint = f"; its subdivisions are {', '.join(known)}" if field == "subdivision" and known else ""
        typed = cmd.subdivision if field == "subdivision" else cmd.country
        raise ValidationFailed(f"the holidays package knows no {field} {typed!r}{hint}", field=field) from None
    supported = tuple(str(category) for category in probe.supported_categories)
    categories = cmd.categories or tuple(c for c in DEFAULT_CATEGORIES if c in supported)
    unknown = [c for c in categories if c not in supported]
    if unknown:
        raise ValidationFailed(f"{cmd.country} has no holiday category {unknown[0]!r} (it has {', '.join(supported)})",
                               field="categories")
    languages = tuple(probe.supported_languages)
    # Always named explicitly: left out, the package guesses the language from the environment's locale.
    language = cmd.language or ("en_US" if "en_US" in languages else probe.default_language or "")
    if languages and language not in languages:
        raise ValidationFailed(f"the holidays of {cmd.country} are named in {', '.join(languages)}, not {language!r}",
                               field="language")
    found = holidays.country_holidays(cmd.country, subdiv=cmd.subdivision, years=years, categories=categories,
                                      language=language or None)
    return _Found(days=sorted(found.items()), categories=categories, language=language,
                  source=f"holidays {holidays.__version__}")


def _named(days: list[tuple[date, str]]) -> tuple[tuple[str, date], ...]:
    """``Good Friday 2026``: a holiday's name and year; the date instead of the year for a name given twice in a year."""
    counts: dict[tuple[str, int], int] = {}
    for day, name in days:
        counts[(name, day.year)] = counts.get((name, day.year), 0) + 1
    named = []
    for day, name in days:
        suffix = str(day.year) if counts[(name, day.year)] == 1 else day.isoformat()
        # A closure's name is at most 120 characters; the package joins names of one day with "; ".
        named.append((f"{name[: 119 - len(suffix)]} {suffix}", day))
    return tuple(named)


@handles(ImportPublicHolidays)
def import_public_holidays(tenant: Tenant, cmd: ImportPublicHolidays, ctx: CommandContext) -> None:
    """Years in order, at most ten; a country, subdivision, categories and language the package knows; new names unless replacing."""
    if cmd.last_year < cmd.first_year:
        raise ValidationFailed(f"the last year {cmd.last_year} is before the first year {cmd.first_year}", field="last_year")
    if cmd.last_year - cmd.first_year + 1 > MAX_YEARS:
        raise ValidationFailed(f"one import covers at most {MAX_YEARS} years", field="last_year")
    _check_scope(tenant, cmd.scope)
    destination = _checked_destination(tenant, cmd.destination, cmd.scope, ctx)
    found = _public_holidays(cmd)
    if not found.days:
        raise ValidationFailed(f"the holidays package lists no holidays of {cmd.country} in {cmd.first_year}–{cmd.last_year}",
                               field="first_year")
    closures = tuple(Closure(name=name, first_day=day, destination=destination, scope=cmd.scope) for name, day in _named(found.days))
    taken = [closure.name for closure in closures if closure.name in tenant.state.closures]
    if taken and not cmd.replace:
        named = ", ".join(taken[:3]) + (f" and {len(taken) - 3} more" if len(taken) > 3 else "")
        raise AlreadyExistsError(f"closures {named} already exist: import them again with replace, or remove them first",
                                 field="replace")
    _refuse_loops(tenant, closures)
    tenant.trigger(PublicHolidaysImported, ctx, country=cmd.country, subdivision=cmd.subdivision, first_year=cmd.first_year,
                   last_year=cmd.last_year, categories=found.categories, language=found.language, source=found.source,
                   closures=closures)




def _refuse_loops(tenant: Tenant, closures: tuple[Closure, ...]) -> None:
    """A closure may not send calls round a loop: from what it closes back to it (see ``core.aggregates.loops``)."""
    closed: list[tuple[tuple[str, str], str]] = []
    state = tenant.state
    for closure in closures[:1]:  # an import's closures share one scope and destination
        scope = closure.scope
        for kind, keys in (("user", state.users), ("group", state.groups), ("queue", state.queues), ("ivr", state.ivrs),
                           ("scheme", state.schemes)):
            listed = keys if scope is None else getattr(scope, f"{kind}s")
            closed += [((kind, key), "destination") for key in listed]
    refuse_loops(state, closed, closures={closure.name: closure for closure in closures})

__all__ = ["AddClosure", "ImportPublicHolidays", "RemoveClosure"]
