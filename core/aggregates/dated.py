"""Dated closures (holidays and exceptions): the value objects, and their descriptions in words.

A closure covers a day or a run of days in the tenant's time zone, whole days or a
window of hours on each of them, once or every year on the same dates. While it is in
force, the things in its scope are closed whatever their weekly hours say, and calls go
to its destination (``core/routing/closures.py`` decides when it is in force).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

import msgspec

from core.aggregates.hours import Window
from core.aggregates.identifiers import Extension, Name
from core.aggregates.targets import Destination, EntityId, ToExtension, ToGroup, ToIvr, ToQueue, ToScheme

MAX_DAYS = 366
"""The longest closure, in days: a dated closure is an exception, not a second weekly schedule."""


class OwnHandling(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="kind", tag="own"):
    """Each closed thing's own out-of-hours handling (see ``ClosureDestination``)."""


OWN_HANDLING = OwnHandling()
"""The one ``own`` value, the default of every closure's destination (frozen, so shared)."""

ClosureDestination = OwnHandling | Destination
"""Where calls go while closed. ``own``: a user's out-of-hours destination (their voicemail without a schedule
switched on); an IVR menu's destination when closed; a scheme's destination outside working hours; an answer
group's fallback when nobody answers; a queue's destination with no agents, else after the maximum wait. Where a
thing has none of these, the call is missed."""


class ClosureScope(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """The things a closure closes, listed by kind."""

    users: Annotated[tuple[Extension, ...], msgspec.Meta(max_length=500)] = ()
    groups: Annotated[tuple[EntityId, ...], msgspec.Meta(max_length=500)] = ()
    queues: Annotated[tuple[EntityId, ...], msgspec.Meta(max_length=500)] = ()
    ivrs: Annotated[tuple[EntityId, ...], msgspec.Meta(max_length=500)] = ()
    schemes: Annotated[tuple[EntityId, ...], msgspec.Meta(max_length=500)] = ()

    def names(self, kind: str, key: str) -> bool:
        """Whether the scope lists ``key`` among its ``kind`` (``users``, ``groups``, ``queues``, ``ivrs``, ``schemes``)."""
        return key in getattr(self, kind)


class Closure(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """A named closure: the days, the hours on them (``None``: whole days), yearly or once, where calls go, and what it closes."""

    name: Name
    first_day: date
    last_day: date | None = None
    """The last day closed, included (``None``: only ``first_day``)."""
    hours: Window | None = None
    """Closed only in this window on each day (``None``: whole days)."""
    yearly: bool = False
    """Every year on the same dates, from ``first_day``'s year on."""
    destination: ClosureDestination = OWN_HANDLING
    scope: ClosureScope | None = None
    """``None``: the whole tenant."""

    @property
    def last(self) -> date:
        return self.last_day or self.first_day


CLOSABLE: dict[type, tuple[str, str]] = {ToExtension: ("users", "extension"), ToGroup: ("groups", "group"),
                                         ToQueue: ("queues", "queue"), ToIvr: ("ivrs", "ivr"), ToScheme: ("schemes", "scheme")}
"""Destinations that are themselves things a closure can close: the scope field that lists them, and their key."""


def period_text(closure: Closure) -> str:
    """``2026-12-24``, ``2026-12-24 – 2026-12-26, 12:00–17:00``, ``every year 12-24 (from 2026)``."""
    first, last = closure.first_day, closure.last
    if closure.yearly:
        days = first.strftime("%m-%d") + ("" if last == first else f" – {last.strftime('%m-%d')}")
        text = f"every year {days} (from {first.year})"
    else:
        text = first.isoformat() + ("" if last == first else f" – {last.isoformat()}")
    hours = closure.hours
    return text + (f", {hours.start}–{hours.end}" if hours is not None else ", whole day" if last == first else ", whole days")


def scope_text(scope: ClosureScope | None) -> str:
    """``the whole tenant`` or ``users 2001, 2002; group sales``."""
    if scope is None:
        return "the whole tenant"
    parts = [f"{label if len(keys) == 1 else plural} {', '.join(keys)}"
             for label, plural, keys in (("user", "users", scope.users), ("group", "groups", scope.groups),
                                         ("queue", "queues", scope.queues), ("IVR menu", "IVR menus", scope.ivrs),
                                         ("scheme", "schemes", scope.schemes)) if keys]
    return "; ".join(parts)
