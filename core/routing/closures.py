"""Dated closures at routing time: a closure in force at the call's local instant wins over weekly hours.

Whole days are half-open on the tenant's wall clock, ``[first_day 00:00, last_day + 1
00:00)``: the instant is first turned into local wall time, so a closure starts at local
midnight even on a daylight-saving day (a 23- or 25-hour day). A window of hours follows
the weekly windows' rules: ``[start, end)``, crossing midnight when ``end <= start`` and
then belonging to the day it starts on; a wall time that does not exist on the
spring-forward day is never reached, one repeated in autumn is covered both times.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from core.aggregates.dated import CLOSABLE, Closure, OwnHandling, period_text
from core.aggregates.describe import describe
from core.routing.plan import Missed, Node
from core.routing.router import Router
from core.routing.windows import minutes

_ONE_DAY = timedelta(days=1)


def closes(closure: Closure, kind: str, key: str) -> bool:
    """Whether ``closure`` closes the ``kind`` (``users``, ``groups``…) ``key``, whatever the time.

    A closure never closes the thing it sends calls to: the on-call phone of a whole-tenant closure still rings.
    """
    closable = CLOSABLE.get(type(closure.destination))
    if closable is not None and closable[0] == kind and getattr(closure.destination, closable[1]) == key:
        return False
    return closure.scope is None or closure.scope.names(kind, key)


def in_force(closure: Closure, local: datetime) -> bool:
    """Whether ``closure`` is in force at the wall time ``local`` (minutes count, as in weekly windows: 17:59:59 is before 18:00)."""
    day = local.date()
    if closure.hours is None:
        return _on(closure, day)
    start, end, minute = minutes(closure.hours.start), minutes(closure.hours.end), local.hour * 60 + local.minute
    if end > start:
        return start <= minute < end and _on(closure, day)
    # Crosses midnight: today's part is [start, 24:00) of a closed day; the part after midnight belongs to yesterday.
    return (minute >= start and _on(closure, day)) or (minute < end and _on(closure, day - _ONE_DAY))


def _on(closure: Closure, day: date) -> bool:
    first, last = closure.first_day, closure.last
    if not closure.yearly:
        return first <= day <= last
    # Shorter than a year and never on 29 February: this year's or last year's occurrence is the only candidate.
    for year in (day.year, day.year - 1):
        if year < first.year:
            continue
        start = first.replace(year=year)
        if start <= day <= start + (last - first):
            return True
    return False


class ClosureRouting(Router):
    """Closes a user, group, queue, IVR menu or scheme while a closure that names it (or the whole tenant) is in force."""

    def closed(self, kind: str, key: str, path: tuple[str, ...], at: str, *, own: object | None,
               owner: str | None = None) -> Node | None:
        """Where the call goes while the first closure in force closes ``kind`` ``key`` (explained), or ``None`` when open.

        ``own`` is the thing's own out-of-hours destination, for a closure that keeps each thing's own handling
        (``None``: a missed call); ``owner`` is the user whose voicemail a bare voicemail means. The plan depends
        on the time only when some closure closes this thing at some time.
        """
        closures = self.table.closures
        if not closures:
            return None
        index = _index(closures)
        if not index.closes(kind, key):
            return None
        local = self.local
        for closure in index.on(local.date()):
            if closes(closure, kind, key) and in_force(closure, local):
                keeps_own = isinstance(closure.destination, OwnHandling)
                destination = own if keeps_own else closure.destination
                if self.explain:
                    where = f"to {describe(destination)}" if destination is not None else "a missed call"
                    self.note(len(path), at, "closure", True, f"{self.when} is in closure {closure.name!r} ({period_text(closure)}): "
                                                              f"{where}{' (its own out-of-hours handling)' if keeps_own else ''}")
                return self.destination(destination, path, owner=owner) if destination is not None else Missed()
        if self.explain:
            self.note(len(path), at, "closure", False, f"{self.when} is in no closure")
        return None


class _Index:
    """A table's closures, looked up by what they close and by day: a tenant may have hundreds of imported holidays."""

    def __init__(self, closures: tuple[Closure, ...]) -> None:
        self.closures = closures
        self._closes: dict[tuple[str, str], bool] = {}
        self._days: dict[date, tuple[Closure, ...]] = {}

    def closes(self, kind: str, key: str) -> bool:
        """Whether some closure closes ``kind`` ``key`` at some time."""
        found = self._closes.get((kind, key))
        if found is None:
            found = self._closes[(kind, key)] = any(closes(closure, kind, key) for closure in self.closures)
        return found

    def on(self, day: date) -> tuple[Closure, ...]:
        """The closures that may be in force on the local ``day`` (its own days, or yesterday's hours past midnight), in table order."""
        found = self._days.get(day)
        if found is None:
            if len(self._days) >= 4096:  # a simulation may walk through many days
                self._days.clear()
            yesterday = day - _ONE_DAY
            found = self._days[day] = tuple(c for c in self.closures if _on(c, day) or (_crosses_midnight(c) and _on(c, yesterday)))
        return found


def _crosses_midnight(closure: Closure) -> bool:
    return closure.hours is not None and minutes(closure.hours.end) <= minutes(closure.hours.start)


_INDEXES: dict[int, _Index] = {}
"""The index of each closures tuple seen lately, by identity (the index keeps the tuple, so its id is not reused)."""


def _index(closures: tuple[Closure, ...]) -> _Index:
    # Keyed by identity: hashing a tuple of closures on every call would cost more than the look-up saves.
    index = _INDEXES.get(id(closures))
    if index is None or index.closures is not closures:
        if len(_INDEXES) >= 256:  # tables come and go (the simulator's versions, the CLI's look-ups)
            _INDEXES.clear()
        index = _INDEXES[id(closures)] = _Index(closures)
    return index
