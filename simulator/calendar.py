"""The run's calendar and clock: the one order in which everything in a run happens.

Every part of the switch schedules through ``Calendar.at`` and nothing else decides what
runs next. Events are kept in a heap ordered by (virtual time, sequence number), so events
at the same instant run in the order they were scheduled: the same scenario and seed give
the same run, whatever order trio would wake tasks in.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from heapq import heappop, heappush
from itertools import repeat
from operator import length_hint
from typing import Any, TypeVar

T = TypeVar("T")


class Calendar:
    """Pending events in (virtual time, sequence) order, run in batches.

    Events due at the instant being run (zero delays: an answer at once, a wrap-up of 0 s) wait in a FIFO beside
    the heap rather than in it; the two are merged by (time, sequence), so the order is exactly the heap's. One that an
    event schedules as its last step and that would run right after it runs at once (``then``).
    A timer that may not matter can reserve its sequence number when it would be scheduled (``reserve``) and be
    put on the calendar later (``at_reserved``), or never: if it is, it runs exactly where it would have.
    The hottest callers write ``then``, ``reserve`` and ``at_reserved`` out in place (``Presence.hang_up``,
    ``Switch.arrive``), each saying so; the methods are the reference those copies follow, and the tests run them
    against a plain heap.
    Timers that come a fixed delay after they are scheduled (a queue's maximum wait) come in the order they are
    scheduled: they wait in a FIFO of their own, a lane, of which only the first is in the heap (``at_lane``), which
    keeps the heap small; they run exactly where the heap would have run them.
    An arrival's event may run the answer of its call at once, before its own last step (``ahead``).
    """

    __slots__ = ("heap", "soon", "seq", "now", "events", "over", "lanes", "arriving", "held")

    def __init__(self) -> None:
        # The heap holds (time, sequence, action, argument); ``at`` ties each action to its argument's type.
        self.heap: list[tuple[float, int, Callable[[float, Any], None], Any]] = []
        self.soon: deque[tuple[int, Callable[[float, Any], None], Any]] = deque()
        """Events due at ``now`` scheduled while it runs: (sequence, action, argument), in sequence order."""
        self.seq = 0
        self.now = 0.0
        """The instant of the event being run (of the last one run, between batches)."""
        self.events = 0
        """Events run so far, stale timers included: they are popped like any other and then do nothing."""
        self.over = False
        """Set when no call is left and none will come: what is still pending (shifts, stale timers) changes no figure."""
        self.lanes: dict[object, deque[tuple[float, int, Callable[[float, Any], None], Any]]] = {}
        """``at_lane``'s FIFOs, by key: each in (time, sequence) order; the first of each non-empty one is in the heap."""
        self.arriving = False
        """Set by an arrival's event while its call arrives: everything the event does after scheduling its call's
        answer is to schedule the next arrival, or nothing (``Arrivals._poisson``); ``ahead`` may run the answer."""
        self.held = 0
        """The sequence number ``ahead`` held back for the next arrival (0: none)."""

    def at(self, t: float, action: Callable[[float, T], None], arg: T) -> None:
        """Run ``action(t, arg)`` at virtual time ``t``, after everything already scheduled for ``t``."""
        seq = self.seq = self.seq + 1
        if t == self.now:
            self.soon.append((seq, action, arg))
        else:
            heappush(self.heap, (t, seq, action, arg))

    def then(self, t: float, action: Callable[[float, T], None], arg: T) -> None:
        """``at``, for the last thing the event being run does: an event due now that would run next runs at once.

        It runs next when nothing else is due at this instant (nothing waits beside the heap, the heap's first event is
        later) and the run is not over: then running it here, after everything its event did, is the same run, with its
        sequence number taken and the event counted (the budget of the batch aside: that changes no figure). Only an
        event's action may call it, and only as its last step. (``Presence.hang_up``, the one hot user, writes it out.)"""
        if t == self.now and not self.soon and not self.over and (not self.heap or self.heap[0][0] > t):
            self.seq += 1
            self.events += 1
            action(t, arg)
        else:
            self.at(t, action, arg)

    def ahead(self, t: float) -> bool:
        """Whether the event due at ``t`` being scheduled now, by an arrival's event (``arriving``), may run at once,
        before the arrival's last step; if so, its sequence number is taken and the next one held for that step.

        ``run`` would run it next, after the arrival's event, when it is due now, nothing else is due now (nothing waits
        beside the heap, the heap's first event is later) and the run is not over: the arrival's last step schedules
        only the next arrival, which runs after it (the arrival's event puts it on the heap with the held number,
        ``held``, where ``run`` orders it by (time, sequence) with what the event run ahead scheduled after it, as if
        it had been scheduled first). Running the event before that step is then the same run when the event reads
        neither the heap nor what waits beside it (an answer does not) and the step does not depend on what the event
        does (the counting of the event aside: it is counted as it runs; the budget of the batch aside: that changes no
        figure). The caller runs it at once when this says so; it is the one event of the arrival run so: ``arriving``
        is cleared. (``Queues._offer`` asks, for a call's answer.)"""
        if (self.arriving and t == self.now and not self.soon and not self.over
                and (not self.heap or self.heap[0][0] > t)):
            self.arriving = False
            self.held = self.seq = self.seq + 2
            self.events += 1
            return True
        return False

    def at_lane(self, t: float, key: object, action: Callable[[float, T], None], arg: T) -> None:
        """``at``, for a timer of a kind that is usually scheduled in time order (``key``: the kind, say a fixed delay).

        It joins the lane ``key`` when it comes no earlier than the lane's last (it comes after it: its sequence number
        is higher), else it goes on the heap; either way it runs where ``at`` would have run it."""
        if t == self.now:
            self.at(t, action, arg)
            return
        seq = self.seq = self.seq + 1
        lane = self.lanes.get(key)
        if lane is None:
            lane = self.lanes[key] = deque()
        if not lane:
            lane.append((t, seq, action, arg))
            heappush(self.heap, (t, seq, self._lane_first, lane))
        elif t >= lane[-1][0]:
            lane.append((t, seq, action, arg))
        else:
            heappush(self.heap, (t, seq, action, arg))

    def _lane_first(self, t: float, lane: deque[tuple[float, int, Callable[[float, Any], None], Any]]) -> None:
        """The first timer of ``lane`` is due: the next one takes its place in the heap, and it runs (one event)."""
        _, _, action, arg = lane.popleft()
        if lane:
            following = lane[0]
            heappush(self.heap, (following[0], following[1], self._lane_first, lane))
        action(t, arg)

    def __len__(self) -> int:
        """Events pending: in the heap (each lane's first among them), the rest of the lanes, and those due now."""
        return len(self.heap) + len(self.soon) + sum(len(lane) - 1 for lane in self.lanes.values() if lane)

    def reserve(self) -> int:
        """The sequence number a timer scheduled now would get; ``at_reserved`` puts it on the calendar later."""
        self.seq += 1
        return self.seq

    def at_reserved(self, t: float, seq: int, action: Callable[[float, T], None], arg: T) -> None:
        """Schedule a timer whose sequence number ``seq`` was reserved: it runs where ``at`` would have run it then."""
        heappush(self.heap, (t, seq, action, arg))

    def run(self, budget: int) -> bool:
        """Run at most ``budget`` events; ``False`` once the run is over."""
        heap, soon = self.heap, self.soon
        pop, popleft = heappop, soon.popleft
        # One turn an event: ``repeat`` hands out the turns without making an int for each (``range`` does, past 256),
        # and ``finally`` counts the events from the turns it has left (``length_hint``).
        turns = repeat(None, budget)
        idle = 0  # 1 once a turn finds no event to run (the run is over, or nothing is pending)
        try:
            for _ in turns:
                if self.over:
                    idle = 1
                    return False
                if soon:
                    if heap:
                        first = heap[0]
                        now = self.now
                        if first[0] < now or (first[0] == now and first[1] < soon[0][0]):
                            pop(heap)
                            self.now = first[0]
                            first[2](first[0], first[3])
                            continue
                    _, action, arg = popleft()
                    action(self.now, arg)
                elif heap:
                    t, _, action, arg = pop(heap)
                    self.now = t
                    action(t, arg)
                else:
                    idle = 1
                    return False
            return True
        finally:
            # Every turn taken ran an event but the one that found none; an event that raised had begun: it counts, as
            # every event run does.
            self.events += budget - length_hint(turns) - idle


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
