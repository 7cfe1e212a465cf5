"""The run's calendar and clock: the one order in which everything in a run happens.

Every part of the switch schedules through ``Calendar.at`` and nothing else decides what
runs next. Events are kept in a heap ordered by (virtual time, sequence number), so events
at the same instant run in the order they were scheduled: the same scenario and seed give
the same run, whatever order trio would wake tasks in.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from heapq import heappop, heappush
from typing import Any, TypeVar

T = TypeVar("T")


class Calendar:
    """Pending events in (virtual time, sequence) order, run in batches."""

    __slots__ = ("heap", "seq", "now", "events", "over")

    def __init__(self) -> None:
        # The heap holds (time, sequence, action, argument); ``at`` ties each action to its argument's type.
        self.heap: list[tuple[float, int, Callable[[float, Any], None], Any]] = []
        self.seq = 0
        self.now = 0.0
        """The instant of the last event run (updated after each batch; actions are handed their instant)."""
        self.events = 0
        """Events run so far, stale timers included: they are popped like any other and then do nothing."""
        self.over = False
        """Set when no call is left and none will come: what is still pending (shifts, stale timers) changes no figure."""

    def at(self, t: float, action: Callable[[float, T], None], arg: T) -> None:
        """Run ``action(t, arg)`` at virtual time ``t``, after everything already scheduled for ``t``."""
        self.seq += 1
        heappush(self.heap, (t, self.seq, action, arg))

    def run(self, budget: int) -> bool:
        """Run at most ``budget`` events; ``False`` once the run is over."""
        heap = self.heap
        t = self.now
        ran = 0
        try:
            for ran in range(budget):  # noqa: B007 - ``ran`` counts the events run when the loop stops early
                if self.over or not heap:
                    return False
                t, _, action, arg = heappop(heap)
                action(t, arg)
            ran = budget
            return True
        finally:
            self.now = t
            self.events += ran


class Clock:
    """Virtual seconds since the start of the run, and the instants they are on the tenant's wall clock."""

    __slots__ = ("start",)

    def __init__(self, start: datetime) -> None:
        self.start = start.astimezone(UTC)

    def wall(self, t: float) -> datetime:
        """The instant (UTC) ``t`` seconds after the start."""
        return self.start + timedelta(seconds=t)

    def seconds(self, instant: datetime) -> float:
        """Virtual time of ``instant``."""
        # Subtract in UTC: two times of one zone subtract as wall clocks, an hour off across DST.
        return (instant.astimezone(UTC) - self.start).total_seconds()
