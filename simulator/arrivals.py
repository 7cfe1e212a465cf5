"""Arrivals: the scenario's calls put on the calendar, each handed to the switch when it comes.

Explicit calls come at their instants; Poisson processes draw each next arrival when the
previous one comes, so the calendar holds one pending arrival per process; a replayed call
history (``simulator.replay``) likewise holds one pending call. A run takes calls until its
duration or its number of calls is reached.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from heapq import heappush
from typing import TYPE_CHECKING, Protocol
from zoneinfo import ZoneInfo

from core.aggregates.identifiers import normalise_number
from core.errors import DomainError
from core.routing.caller import normalise_caller
from simulator.calendar import Calendar
from simulator.scenario import ExplicitArrivals, ExplicitCall, PoissonArrivals, ReplayArrivals, ReplayedCall, Scenario, ScenarioError
from simulator.streams import stream

if TYPE_CHECKING:
    from core.routing import RoutingTable


class Arrive(Protocol):
    """Where a call coming in at ``t`` goes (the switch), with what is known of it, as plain arguments (no object a call):

    its ``number`` in the run (its id), what was ``dialled``, by whom (``caller``, as ``core.routing.normalise_caller``
    reads it: ``None`` exactly when the caller is anonymous; or, drawn, the int whose digits follow its "+", made the
    string only if it is read: ``Call.caller``), the ``digits`` the caller will press; the scenario's name
    for the call (``label``: ``saturday``), if it gave one; how long the caller talks once answered (``talk``), when
    known (explicit or replayed calls), else drawn at the answer; when the caller hangs up unanswered (``patience``,
    seconds after arrival), when known, else drawn from the scenario's patience."""

    def __call__(self, t: float, number: int, dialled: str, caller: str | int | None, digits: str | None, label: str | None = None,
                 talk: float | None = None, patience: float | None = None) -> None: ...


def check_dialled(table: RoutingTable, dialled: str, field: str) -> None:
    """Refuse, before the run, a call to something that is neither an extension nor a number of the tenant."""
    if dialled in table.users:
        return
    try:
        number = normalise_number(dialled, field=field)
    except DomainError:
        number = None
    if number not in table.numbers:
        raise ScenarioError(f"{dialled!r} is neither an extension nor a number of tenant {table.tenant!r} - at `{field}`")


class PoissonProcess:
    """A non-homogeneous Poisson process by thinning, on the tenant's wall clock; and who its callers are."""

    def __init__(self, spec: PoissonArrivals, rng: random.Random, local_start: datetime, callers: random.Random) -> None:
        self.spec = spec
        self.rng = rng
        self.callers = callers
        self.hourly = spec.hourly_profile or [1.0] * 24
        self.weekly = spec.weekly_profile or [1.0] * 7
        self.peak = spec.rate_per_hour / 3600 * max(self.hourly) * max(self.weekly)
        self.base = spec.rate_per_hour / 3600
        self.start_utc = local_start.astimezone(UTC)
        self.zone = local_start.tzinfo
        self.flat = spec.hourly_profile is None and spec.weekly_profile is None
        self.digits = sorted(spec.digits.items())
        self.draw = callers.random  # ``caller``'s draws, bound once
        self.random = rng.random  # ``Arrivals._poisson``'s draw of a flat process, bound once
        self.to = spec.to
        self.anonymous_share = spec.anonymous_share
        self.plain = not spec.anonymous_share and not spec.digits
        """No caller is anonymous and none presses digits: ``caller()`` draws the number only (``Arrivals._poisson``
        writes it out, and leaves the number an int until it is read)."""

    def rate(self, t: float) -> float:
        local = (self.start_utc + timedelta(seconds=t)).astimezone(self.zone)  # wall clock, DST included
        return self.base * self.hourly[local.hour] * self.weekly[local.weekday()]

    def next_after(self, t: float) -> float:
        """The instant of the next arrival after ``t`` (``inf``: never)."""
        if self.peak <= 0:
            return math.inf
        expo = self.rng.expovariate
        if self.flat:
            return t + expo(self.peak)
        while True:
            t += expo(self.peak)
            if self.rng.random() * self.peak <= self.rate(t):
                return t

    def caller(self) -> tuple[str | None, str | None]:
        """The next caller's number (``None``: withheld) and the digits they will press."""
        draw = self.draw
        share = self.anonymous_share
        anonymous = share and draw() < share
        # ``f"+4670{n:07d}"`` for the draw's n below 10,000,000, at less cost: "+" and the digits of 4670 * 10**7 + n.
        caller = None if anonymous else "+" + str(46_700_000_000 + int(draw() * 10_000_000))
        if not self.digits:
            return caller, None
        x, total = draw(), 0.0
        digits = ""
        for digit, probability in self.digits:
            total += probability
            if x < total:
                digits = digit
                break
        return caller, digits


WEEK = timedelta(weeks=1)
_log = math.log


def shift_weeks(spec: ReplayArrivals, start: datetime, zone: object) -> int:
    """The whole weeks a replay's calls move by: ``spec.weeks``, else as many as bring the first call's local day into
    the week that begins on the local day of ``start``."""
    if spec.weeks is not None or not spec.calls:
        return spec.weeks or 0
    first = min(c.at for c in spec.calls).astimezone(zone).date()  # type: ignore[arg-type]
    begin = start.astimezone(zone).date()  # type: ignore[arg-type]
    return -((first - begin).days // 7)  # ceil((begin - first) / 7 days)


def replay_instant(at: datetime, weeks: int, zone: object) -> datetime:
    """``at`` moved by ``weeks`` weeks on the wall clock of ``zone`` (09:03 stays 09:03 across a change of daylight time)."""
    return at.astimezone(zone) + weeks * WEEK  # type: ignore[arg-type]  # aware arithmetic is on the wall clock


def _nothing() -> None:
    pass


class Arrivals:
    """The calls of a run: when they come, how many have come, and whether more will."""

    def __init__(self, scenario: Scenario, calendar: Calendar, arrive: Arrive) -> None:
        self.scenario = scenario
        self.calendar = calendar
        self.arrive = arrive
        self.arrived = 0
        """Calls that have come so far."""
        self.open = 0
        """Arrival events still pending: explicit calls, and one per Poisson process that has not ended."""
        self.on_closed: Callable[[], None] = _nothing
        """Called when no more calls will come (set by the switch)."""
        self.duration: float = math.inf if scenario.duration_seconds is None else scenario.duration_seconds
        """``duration_seconds`` (``inf``: none), for ``_poisson``: a call comes only before it."""
        self.limit: float = math.inf if scenario.max_calls is None else scenario.max_calls
        """``max_calls`` (``inf``: none), for ``_poisson``."""
        # Bound once, under a name of its own: the calendar is handed it once a call; looking a method up makes a new
        # bound method each time, and an attribute that hides a method is looked up the slow way (never specialised).
        self._poisson_bound = self._poisson

    def schedule(self, table: RoutingTable) -> None:
        """Put every arrival process on the calendar; refuse a call to a number the tenant does not have."""
        zone = ZoneInfo(table.time_zone)
        seed = self.scenario.seed
        for index, spec in enumerate(self.scenario.arrivals):
            if isinstance(spec, ExplicitArrivals):
                for position, call in enumerate(spec.calls):
                    check_dialled(table, call.to, f"$.arrivals[{index}].calls[{position}].to")
                for call in sorted(spec.calls, key=lambda c: c.at_seconds):
                    self.open += 1
                    self.calendar.at(call.at_seconds, self._explicit, call)
            elif isinstance(spec, PoissonArrivals):
                check_dialled(table, spec.to, f"$.arrivals[{index}].to")
                process = PoissonProcess(spec, stream(seed, f"arrivals:{index}"), self.scenario.start.astimezone(zone),
                                         stream(seed, f"callers:{index}"))
                first = process.next_after(0.0)
                if first != math.inf and self._within_duration(first):
                    self.open += 1
                    self.calendar.at(first, self._poisson_bound, process)
            elif isinstance(spec, ReplayArrivals):
                self._schedule_replay(table, zone, spec, f"$.arrivals[{index}]")
        if not self.open:
            self.on_closed()

    def _schedule_replay(self, table: RoutingTable, zone: ZoneInfo, spec: ReplayArrivals, field: str) -> None:
        """Check a replay's calls, put them on the run's time line, and put the first on the calendar."""
        weeks = shift_weeks(spec, self.scenario.start, zone)
        start = self.scenario.start.astimezone(UTC)
        timed: list[tuple[float, ReplayedCall]] = []
        for position, call in enumerate(spec.calls):
            where = f"{call.where}: " if call.where else ""
            check_dialled(table, call.to, f"{field}.calls[{position}].to" if not call.where else f"{field}.file")
            t = (replay_instant(call.at, weeks, zone).astimezone(UTC) - start).total_seconds()
            if t < 0:
                raise ScenarioError(f"{where}the call at {call.at.isoformat()} comes before the scenario's start "
                                    f"{self.scenario.start.isoformat()} (moved by {weeks} weeks) - at `{field}.weeks`")
            timed.append((t, call))
        timed.sort(key=lambda item: item[0])  # stable: calls at one instant keep the history's order
        if timed and self._within_duration(timed[0][0]):
            self.open += 1
            self.calendar.at(timed[0][0], self._replayed, (timed, 0))

    def _replayed(self, t: float, item: tuple[list[tuple[float, ReplayedCall]], int]) -> None:
        timed, index = item
        if not (self._within_duration(t) and self._more()):
            self._close_one()
            return
        call = timed[index][1]
        self.arrived += 1
        caller, _ = normalise_caller(call.caller, presentation=call.presentation)
        self.arrive(t, self.arrived, call.to, caller, call.digits, call.id, call.talk_seconds, call.patience_seconds)
        index += 1
        if index < len(timed) and self._more() and self._within_duration(timed[index][0]):
            self.calendar.at(timed[index][0], self._replayed, (timed, index))
        else:
            self._close_one()

    def _within_duration(self, t: float) -> bool:
        duration = self.scenario.duration_seconds
        return duration is None or t < duration

    def _more(self) -> bool:
        limit = self.scenario.max_calls
        return limit is None or self.arrived < limit

    def _close_one(self) -> None:
        self.open -= 1
        if not self.open:
            self.on_closed()

    def _explicit(self, t: float, spec: ExplicitCall) -> None:
        # Counted as closed before the call comes: a call that ends at once may end the run.
        self.open -= 1
        if self._within_duration(t) and self._more():
            self.arrived += 1
            # A normalised caller is withheld exactly when its caller id is None, so the caller alone carries that onwards.
            caller, _ = normalise_caller(spec.caller, presentation=spec.presentation)
            self.arrive(t, self.arrived, spec.to, caller, spec.digits, spec.id, spec.talk_seconds, spec.patience_seconds)
        if not self.open:
            self.on_closed()

    def _poisson(self, t: float, process: PoissonProcess) -> None:
        # ``_within_duration`` and ``_more`` written out, on ``duration`` and ``limit``: this runs once a call.
        duration, limit = self.duration, self.limit
        arrived = self.arrived
        if t >= duration or arrived >= limit:
            self._close_one()
            return
        # What the event does after the call has arrived is only to schedule the next arrival, or nothing: the call's
        # answer, if it is due now, may run before that (``Calendar.ahead``).
        calendar = self.calendar
        calendar.arriving = True
        # Callables kept in attributes (``arrive``, ``draw``, ``random``) are read into a local first: ``obj.f()`` of
        # one that is not a method is never specialised (a dictionary look-up every time), ``f = obj.f`` is.
        arrive = self.arrive
        if process.plain:  # ``process.caller()`` written out: a number (its digits, as an int), no digits pressed
            arrived = self.arrived = arrived + 1
            draw = process.draw
            arrive(t, arrived, process.to, 46_700_000_000 + int(draw() * 10_000_000), None)
        else:
            caller, digits = process.caller()
            arrived = self.arrived = arrived + 1
            arrive(t, arrived, process.to, caller, digits)
        calendar.arriving = False
        held = calendar.held
        peak = process.peak
        if process.flat and peak > 0:  # ``next_after`` of a flat process: ``Random.expovariate`` written out
            random = process.random
            following = t + -_log(1.0 - random()) / peak
        else:
            following = process.next_after(t)
        # ``following < duration`` is false for ``inf`` (a process that has ended) whatever the duration.
        if held:
            # The answer ran ahead: the next arrival takes the number held for it, on the heap, where ``run`` merges it
            # with what waits beside the heap by (time, sequence) (a draw of 0 s included).
            calendar.held = 0
            if self.arrived < limit and following < duration:
                heappush(calendar.heap, (following, held, self._poisson_bound, process))
            else:
                self._close_one()
        elif self.arrived < limit and following < duration:
            if following == calendar.now:  # ``Calendar.at``, written out: a draw of 0 s comes at this instant
                calendar.at(following, self._poisson_bound, process)
            else:
                seq = calendar.seq = calendar.seq + 1
                heappush(calendar.heap, (following, seq, self._poisson_bound, process))
        else:
            self._close_one()
