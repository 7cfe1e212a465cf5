"""The switch: one run's parts wired together, and each call carried from arrival through its plan to its end.

The parts, each with one job: the calendar and clock (``calendar.py``: the single order of
events), arrivals (``arrivals.py``), agents' presence and shifts (``presence.py``), the
routing table and plans (``plans.py``), ringing and talk (``ringing.py``), queues and their
strategies (``queues.py``, ``strategies.py``), IVR menus (``ivr.py``), the figures
(``kpis.py``) and the trace (``trace.py``). Each step is a synchronous transition of a
call or an agent state machine (``machines.py``); a timer that a later transition made
stale is skipped by the call's token.

Modelling choices (see README "Simulation"): a call is routed once, on arrival (see
``plans.py``); a caller's patience runs from arrival, and when it runs out while ringing,
in a menu or in a queue, the call is abandoned there; a webhook or CRM look-up finds no
number in a simulation.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from heapq import heappush
from zoneinfo import ZoneInfo

from core.routing.plan import BusyTone, HopLimit, Lookup, Menu, Message, Missed, Node, Queue, Ring, Unavailable, Voicemail
from simulator.arrivals import Arrivals
from simulator.calendar import Calendar, Clock
from simulator.config import LiveConfig
from simulator.ivr import Menus
from simulator.kpis import Collector, Kpis
from simulator.machines import Call
from simulator.plans import Plans
from simulator.presence import Presence
from simulator.queues import Queues
from simulator.ringing import OtherEndpoints, Ringing
from simulator.scenario import Scenario
from simulator.streams import sampler, stream
from simulator.trace import Abandoned, Arrived, CallRecord, Ended, Routed, Trace

_INF = math.inf
_log = math.log

WHERE = {"ringing": "ringing", "ivr": "ivr", "queued": "queue"}
"""Where a caller who runs out of patience abandons, by the call's state."""


class Switch:
    """One simulation run."""

    def __init__(self, scenario: Scenario, config: LiveConfig, trace: Trace | None = None,
                 watch_calls: frozenset[str] = frozenset(), calls_out: Callable[[CallRecord], None] | None = None) -> None:
        self.scenario = scenario
        self.trace = trace
        self.calls_out = calls_out
        """Receives one record per finished call, in the recorded-call format `audit explain-call --calls` reads."""
        self.watch = watch_calls
        self.outcomes: dict[str, tuple[str, str | None]] = {}
        """Outcome and endpoint of each call an assertion names."""
        self.active = 0
        self.calendar = Calendar()
        self.clock = Clock(scenario.start)
        self.kpis = Collector(list(scenario.service_level_seconds), scenario.warm_up_seconds)
        self.patience = sampler(scenario.patience, stream(scenario.seed, "patience"))
        self.patience_parts: tuple[Callable[[], float], float] | None = getattr(self.patience, "parts", None)
        """An exponential patience's draw and rate (``streams.sampler``), for ``arrive`` to write the draw out."""
        table = config.table_at(scenario.start)
        self.presence = Presence(scenario, table.users, ZoneInfo(table.time_zone), self.clock, self.calendar, trace)
        self.plans = Plans(scenario, config, self.clock, self.calendar, self.presence.states, trace)
        self.ringing = Ringing(self.calendar, self.presence, self.plans, self.kpis, OtherEndpoints(scenario.others, scenario.seed),
                               self, trace)
        self.queues = Queues(self.plans.table, scenario.seed, self.calendar, self.presence, self.ringing, self.kpis, self, trace)
        self.menus = Menus(self.calendar, self, trace)
        self.plain = trace is None and calls_out is None and not watch_calls and not scenario.warm_up_seconds
        """Nothing watches the run's calls one by one and none is left out of the figures: a call that comes and is
        answered at once by an agent of its queue is counted in a batch (``Queues._in_batch``)."""
        self.arrivals = Arrivals(scenario, self.calendar, self.arrive)
        self.presence.on_free = self.queues.agent_free
        self.plans.on_live = lambda t, changed: self.queues.table_live(t, self.plans.table, changed)
        self.arrivals.on_closed = self._check_over
        # Bound once, under a name of its own: the calendar is handed it for most calls; looking a method up makes a new
        # bound method each time, and an attribute that hides a method is looked up the slow way (never specialised).
        self._patience_out_bound = self._patience_out
        self.presence.start()
        if scenario.warm_up_seconds:
            self.calendar.at(scenario.warm_up_seconds, self.kpis.warm_up_over, self.presence.agents)

    @property
    def now(self) -> float:
        """Virtual time of the last event run."""
        return self.calendar.now

    @property
    def next_call_id(self) -> int:
        """The id the next call will get (calls so far + 1)."""
        return self.arrivals.arrived + 1

    def schedule_arrivals(self) -> None:
        """Put the calls and the configuration changes on the calendar (after the agents' log-ins)."""
        self.arrivals.schedule(self.plans.table)
        self.plans.schedule_changes()

    def _check_over(self) -> None:
        # Nothing pending can bring a call back: shifts and stale timers would only run on to no effect.
        if not self.active and not self.arrivals.open:
            self.calendar.over = True

    def arrive(self, t: float, number: int, dialled: str, caller: str | int | None, digits: str | None, label: str | None = None,
               talk: float | None = None, patience: float | None = None) -> None:
        """A call comes in: it is routed, and its plan carried out (the arguments: ``arrivals.Arrive``)."""
        if patience is None:
            parts = self.patience_parts
            if parts is None:
                patience = self.patience()
            else:  # ``self.patience()`` of an exponential, written out: the same operations, one call less
                draw, rate = parts
                patience = -_log(1.0 - draw()) / rate
        call = Call(number, dialled, caller, digits, t, patience)
        if label:  # else its number, as ``Call`` names it
            call.name = label
        if talk is not None:
            call.talk = talk
        if self.calls_out is not None:
            call.ring_states = dict(self.presence.states)
        self.active += 1
        plain = self.plain
        if not plain:
            self.kpis.arrival(t, dialled)
        trace = self.trace
        if trace is not None:
            trace(Arrived(t=t, call=call.id, to=dialled, caller=call.caller))
        # ``Plans.plan``'s cache looked up here first: most calls take a plan decided before.
        plans = self.plans
        planned = plans.cache.get((dialled, caller is None, digits)) or plans.plan(t, call)
        if planned.rejected:
            self.kpis.rejected(t)
        plan = planned.plan
        if plain:
            # Its arrival counted once its plan is found (finding it counts at most ``rejected``, a count, whose order
            # changes no figure): now, or by the queue it joins (``Queues.uncounted``), which may count it in a batch.
            if type(plan) is Queue:
                self.queues.uncounted = call
            else:
                self.kpis.arrival(t, dialled)
        if trace is not None:
            trace(Routed(t=t, call=call.id, version=plans.version, plan=type(plan).__name__))
        if call.deadline == _INF:
            self.run(t, call, plan)
            return
        # The patience timer takes its place in the calendar's order now, but is put on it only if it can matter:
        # not when the call will be answered before it for sure.
        calendar = self.calendar
        seq = calendar.seq = calendar.seq + 1  # ``Calendar.reserve``, inlined
        if type(plan) is Queue:  # ``run`` for a queue, written out: a call that has just come is at no queue or group
            self.queues.enqueue(t, call, plan)
        else:
            self.run(t, call, plan)
        if call.sure == _INF:  # ``Calendar.at_reserved``, written out
            heappush(calendar.heap, (call.deadline, seq, self._patience_out_bound, call))

    def run(self, t: float, call: Call, node: Node | None) -> None:
        """Carry out one plan node for ``call``."""
        if type(node) is Queue:  # the hot path of a call centre: the plan is a queue
            if call.queue is not None or call.group is not None:
                self._passed_on(t, call)
            self.queues.enqueue(t, call, node)
            return
        match node:
            case Ring():
                self._passed_on(t, call)
                self.ringing.start(t, call, node)
            case Voicemail(box=box):
                self.end(t, call, "voicemail", box)
            case Message():
                self.end(t, call, "message", None)
            case BusyTone():
                self.end(t, call, "busy", None)
            case Unavailable():
                self.end(t, call, "unavailable", None)
            case Missed() | HopLimit() | None:
                self.end(t, call, "missed", None)
            case Menu():
                self._passed_on(t, call)
                self.menus.enter(t, call, node)
            case Queue():
                self._passed_on(t, call)
                self.queues.enqueue(t, call, node)
            case Lookup(then=then):
                self.run(t, call, then)
            case _:
                raise TypeError(node)

    def _passed_on(self, t: float, call: Call) -> None:
        """The call leaves the queue or group it was at, unanswered, for a node that rings, queues or plays a menu."""
        if call.queue is not None or call.group is not None:
            self.kpis.passed_on(t, call.arrived, call.queue, call.group, call.joined)
            call.queue = call.group = None

    def _patience_out(self, t: float, call: Call) -> None:
        where = WHERE.get(call.state)
        if where is None:
            return
        self.presence.release(t, call)
        call.transition("abandon")
        self.kpis.abandoned(t, call.arrived, call.dialled, where, call.queue, call.group, call.joined)
        if self.trace is not None:
            self.trace(Abandoned(t=t, call=call.id, where=where))
        self.finish(t, call, f"abandoned_{where}", None)

    def end(self, t: float, call: Call, outcome: str, endpoint: str | None) -> None:
        """End an unanswered call with ``outcome``."""
        call.transition("end")
        self.kpis.ended(t, call.arrived, outcome, call.dialled, call.queue, call.group, call.joined)
        self.finish(t, call, outcome, endpoint)

    def finish(self, t: float, call: Call, outcome: str, endpoint: str | None) -> None:
        """Record a call's end."""
        active = self.active = self.active - 1
        if self.watch and call.label in self.watch:
            self.outcomes[call.label] = (outcome, endpoint)
        if self.calls_out is not None:
            self.calls_out(CallRecord(
                call_id=call.label, to=call.dialled, caller=call.caller, at=self.clock.wall(call.arrived).isoformat(),
                outcome="missed" if outcome.startswith("abandoned_") else outcome, endpoint=endpoint, states=call.ring_states,
                digits=call.digits))
        if self.trace is not None:
            self.trace(Ended(t=t, call=call.id, outcome=outcome, endpoint=endpoint))
        if not active and not self.arrivals.open:  # ``_check_over``, inlined
            self.calendar.over = True

    def result(self) -> Kpis:
        """The run's figures."""
        end = self.calendar.now
        self.queues.hand_in()
        return self.kpis.result(self.presence.figures(end), end, self.calendar.events)
