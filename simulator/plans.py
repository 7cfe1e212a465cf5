"""The routing table in force and the plans it gives: calls routed by ``core.routing``, changes going live.

A call is routed once, on arrival, by the table effective at that instant, with the
endpoint states of that instant. A plan that depends on nothing but the table, the
dialled number, the caller's anonymity and the digits (``Decision.depends_on`` empty, or
only a queue's informative agent list, which the switch does not use: it tracks its own
agents) is decided once per table version and reused.

A scenario's configuration changes are saved at their instant and go live after the
modelled provisioning delay; only then do calls see them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import msgspec

from core.errors import DomainError
from core.routing import Call as RoutingCall
from core.routing import RoutingMemory, record_answer, route
from core.routing.plan import Node
from simulator.calendar import Calendar, Clock
from simulator.config import LiveConfig
from simulator.machines import Call
from simulator.scenario import Scenario, ScenarioError
from simulator.streams import sampler, stream
from simulator.trace import ConfigApplied, ConfigLive, Trace

if TYPE_CHECKING:
    from core.routing import EndpointState, RoutingTable


class Planned(msgspec.Struct, frozen=True, gc=False):
    """What routing decided for a call: its plan, and whether it is the handling of a rejected anonymous caller."""

    plan: Node
    rejected: bool


def _no_listener(t: float, changed: bool) -> None:
    pass


def _wrap_ups(table: RoutingTable) -> dict[str, float]:
    """Each queue's wrap-up seconds in ``table``, as ``Ringing._hang_up`` hands them on."""
    return {queue_id: float(queue.wrap_up_seconds) for queue_id, queue in table.queues.items()}


class Plans:
    """The table effective over the run, the plans of calls, and the strategy memory routing keeps between calls."""

    def __init__(self, scenario: Scenario, config: LiveConfig, clock: Clock, calendar: Calendar, states: dict[str, EndpointState],
                 trace: Trace | None) -> None:
        self.scenario = scenario
        self.config = config
        self.clock = clock
        self.calendar = calendar
        self.states = states
        self.trace = trace
        self.memory = RoutingMemory(seed=scenario.seed)
        self.table: RoutingTable = config.table_at(scenario.start)
        self.wrap_ups = _wrap_ups(self.table)
        """Each queue's wrap-up seconds in the table in force, as a float: an agent takes them after a call of the queue."""
        self.cache: dict[tuple[str, bool, str | None], Planned] = {}
        self.provisioning_delay = sampler(scenario.provisioning.delay, stream(scenario.seed, "provisioning"))
        self.on_live: Callable[[float, bool], None] = _no_listener
        """Called when a change goes live, with whether the table changed (set by the switch: the queues)."""

    @property
    def version(self) -> int:
        return self.table.version

    def plan(self, t: float, call: Call) -> Planned:
        """The plan for ``call`` arriving at ``t``."""
        key = (call.dialled, call.caller is None, call.digits)
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        routing_call = RoutingCall(dialled=call.dialled, at=self.clock.wall(t), caller=call.caller, digits=call.digits,
                                   call_id=str(call.id))
        try:
            decision = route(self.table, routing_call, self.states, self.memory, hop_limit=self.scenario.max_hops)
        except DomainError as exc:
            raise ScenarioError(f"call {call.label} at {t:g} s: {exc} - at `$.arrivals`") from None
        self.memory = decision.memory
        planned = Planned(decision.plan, decision.rejected_anonymous)
        if decision.depends_on <= {"agents"}:
            self.cache[key] = planned
        return planned

    def record_group_answer(self, member: str, t: float) -> None:
        """A group member answered: least-recently-answered groups ring them last next time."""
        self.memory = record_answer(self.memory, member, self.clock.wall(t))

    def schedule_changes(self) -> None:
        """Put the scenario's configuration changes on the calendar."""
        for index, change in enumerate(self.scenario.changes):
            self.calendar.at(change.at_seconds, self._change, index)

    def _change(self, t: float, index: int) -> None:
        change = self.scenario.changes[index]
        version = self.config.apply(self.clock.wall(t), change.commands, change.actor, field=f"$.changes[{index}].commands")
        if self.trace is not None:
            self.trace(ConfigApplied(t=t, version=version))
        self.calendar.at(t + self.provisioning_delay(), self._provisioned, version)

    def _provisioned(self, t: float, version: int) -> None:
        self.config.confirm(self.clock.wall(t), version)
        if self.trace is not None:
            self.trace(ConfigLive(t=t, version=version))
        table = self.config.table_at(self.clock.wall(t))
        changed = table.version != self.table.version
        if changed:
            self.table = table
            self.wrap_ups = _wrap_ups(table)
            self.cache.clear()
        self.on_live(t, changed)
