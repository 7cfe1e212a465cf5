"""The switch: executes routing plans in virtual time over the simulator's own calendar.

Events are kept in a heap ordered by (virtual time, sequence number), so events at the
same instant run in the order they were scheduled — deterministic, unlike trio's own
wake-up order. Each step is a synchronous transition of a call or an agent state
machine; timers that a later transition made stale are skipped by token.

Modelling choices (see README "Simulation"):
- a call is routed once, on arrival, by the table effective at that instant, with the
  endpoint states of that instant; ringing then follows the plan, skipping an endpoint
  that has become busy or unreachable meanwhile;
- an endpoint's answer delay is drawn when it starts ringing; only an endpoint that will
  answer in time is held (ringing) for the call;
- a caller's patience runs from arrival; when it runs out while ringing, in a menu or in
  a queue, the call is abandoned there;
- a menu caller presses their digit after min(3 s, the menu timeout); no input takes the
  timeout times the tries; a webhook or CRM look-up finds no number in a simulation.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Callable
from datetime import UTC, timedelta
from typing import Any

from core.aggregates.identifiers import normalise_number
from core.errors import DomainError
from core.routing import Call as RoutingCall
from core.routing import RoutingMemory, route
from core.routing.plan import (
    BusyTone,
    HopLimit,
    Lookup,
    Menu,
    Message,
    Missed,
    Queue,
    Ring,
    Unavailable,
    Voicemail,
)
from simulator.config import LiveConfig
from simulator.kpis import AgentFigures, Collector, Kpis
from simulator.machines import ROUTING_STATE, Agent, Call
from simulator.scenario import ExplicitArrivals, PoissonArrivals, Scenario, ScenarioError
from simulator.streams import sampler, stream

IVR_PRESS_SECONDS = 3.0


class Switch:
    """One simulation run's state: calendar, calls, agents, queues, figures."""

    def __init__(self, scenario: Scenario, config: LiveConfig, trace: Callable[[dict[str, Any]], None] | None = None,
                 watch_calls: frozenset[str] = frozenset(), calls_out: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.scenario = scenario
        self.config = config
        self.trace = trace
        self.calls_out = calls_out
        """Receives one record per finished call, in the recorded-call format `audit explain-call --calls` reads."""
        self.heap: list[tuple[float, int, Callable[..., None], Any]] = []
        self.seq = 0
        self.now = 0.0
        self.events = 0
        self.kpis = Collector(list(scenario.service_level_seconds))
        self.memory = RoutingMemory(seed=scenario.seed)
        self.start = scenario.start.astimezone(UTC)
        self.states: dict[str, str] = {}
        self.agents: dict[str, Agent] = {}
        self.waiting: dict[str, deque[Call]] = {}
        self.free: dict[str, list[tuple[float, int, Agent]]] = {}
        self.agent_queues: dict[str, list[str]] = {}
        self.table_version = -1
        self.table = None
        self.plans: dict[tuple[str, bool, str | None], tuple[Any, bool]] = {}
        """Plans that depend on nothing but the table, the dialled number, the caller's anonymity
        and the digits (``Decision.depends_on`` empty, or only a queue's informative agent list,
        which the switch does not use: it tracks its own agents), cleared with each new table."""
        self.next_call_id = 1
        self.active = 0
        self.arrivals_open = 0
        self.watch = watch_calls
        self.outcomes: dict[str, tuple[str, str | None]] = {}
        seed = scenario.seed
        self.patience = sampler(scenario.patience, stream(seed, "patience"))
        others = scenario.others
        self.others_answers = stream(seed, "others:answers").random
        self.others_probability = others.answer_probability
        self.others_delay = sampler(others.answer_delay, stream(seed, "others:answer_delay"))
        self.others_talk = sampler(others.talk_time, stream(seed, "others:talk_time"))
        self.provisioning_delay = sampler(scenario.provisioning.delay, stream(seed, "provisioning"))
        self._setup_agents()

    # -- calendar -------------------------------------------------------------------------

    def at(self, t: float, action: Callable[..., None], arg: Any = None) -> None:
        """Schedule ``action(t, arg)`` at virtual time ``t``."""
        self.seq += 1
        heapq.heappush(self.heap, (t, self.seq, action, arg))

    def step(self) -> bool:
        """Run the next event; ``False`` when the run is over."""
        if not self.heap or (self.arrivals_open == 0 and self.active == 0):
            return False
        t, _, action, arg = heapq.heappop(self.heap)
        self.now = t
        self.events += 1
        action(t, arg)
        return True

    def wall(self, t: float):  # type: ignore[no-untyped-def]
        return self.start + timedelta(seconds=t)

    def emit(self, record: dict[str, Any]) -> None:
        if self.trace is not None:
            self.trace(record)

    # -- agents -------------------------------------------------------------------------------

    def _setup_agents(self) -> None:
        seed, order = self.scenario.seed, 0
        users = self.config.table_at(self.scenario.start).users
        specs: list[tuple[str, Any]] = []
        fields: dict[str, str] = {}
        for index, agent_spec in enumerate(self.scenario.agents):
            specs.append((agent_spec.extension, agent_spec))
            fields[agent_spec.extension] = f"$.agents[{index}].extension"
        for index, group in enumerate(self.scenario.agent_groups):
            for i in range(group.count):
                specs.append((str(group.first + i), group))
                fields.setdefault(str(group.first + i), f"$.agent_groups[{index}]")
        seen: set[str] = set()
        for extension, _ in specs:
            if extension in seen:
                raise ScenarioError(f"extension {extension} has two agent specs - at `{fields[extension]}`")
            seen.add(extension)
            if extension not in users:
                raise ScenarioError(f"extension {extension} is not a user of the tenant - at `{fields[extension]}`")
        for extension, spec in specs:
            agent = Agent(extension, order)
            order += 1
            agent.answer_delay = sampler(spec.answer_delay, stream(seed, f"answer_delay:{extension}"))
            agent.talk_time = sampler(spec.talk_time, stream(seed, f"talk_time:{extension}"))
            agent.wrap_up = sampler(spec.wrap_up, stream(seed, f"wrap_up:{extension}"))
            self.agents[extension] = agent
            self.states[extension] = "unreachable"
            shifts = getattr(spec, "shifts", [])
            if shifts:
                self._schedule_shifts(agent, shifts)
            else:
                self.at(0.0, self._log_in, agent)
        for change in self.scenario.presence:
            agent = self.agents.get(change.extension)
            if agent is not None:
                self.at(change.at_seconds, self._log_in if change.state == "available" else self._log_out, agent)

    def _schedule_shifts(self, agent: Agent, shifts: list[Any]) -> None:
        from zoneinfo import ZoneInfo

        zone = ZoneInfo(self.config.table_at(self.scenario.start).time_zone)
        local_start = self.scenario.start.astimezone(zone)
        self._shift_day(0.0, (agent, shifts, local_start, -1))

    def _shift_day(self, t: float, item: tuple[Agent, list[Any], Any, int]) -> None:
        """Put one local day's shifts of an agent on the calendar, and the next day's scheduling after it."""
        agent, shifts, local_start, day = item
        date = (local_start + timedelta(days=day)).date()
        for shift in shifts:
            h1, m1 = map(int, shift.start.split(":"))
            h2, m2 = map(int, shift.end.split(":"))
            begin = local_start.replace(year=date.year, month=date.month, day=date.day, hour=h1, minute=m1, second=0,
                                        microsecond=0)
            end = begin.replace(hour=h2, minute=m2)
            if end <= begin:
                end += timedelta(days=1)
            # Subtract in UTC: two times of one zone subtract as wall clocks, an hour off across DST.
            t_begin = (begin.astimezone(UTC) - self.start).total_seconds()
            t_end = (end.astimezone(UTC) - self.start).total_seconds()
            if t_end <= 0:
                continue
            self.at(max(t, t_begin), self._log_in, agent)
            self.at(t_end, self._log_out, agent)
        # Next day's shifts, scheduled at the start of this one: as many days as the run lasts.
        next_midnight = local_start.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=day + 1)
        self.at(max(t, (next_midnight.astimezone(UTC) - self.start).total_seconds()), self._shift_day,
                (agent, shifts, local_start, day + 1))

    def _set_state(self, agent: Agent, event: str, t: float) -> None:
        state = agent.transition(event)
        routing = ROUTING_STATE[state]
        if routing == "available":
            self.states.pop(agent.extension, None)
        else:
            self.states[agent.extension] = routing
        if self.trace is not None:
            self.emit({"t": t, "ev": "agent", "agent": agent.extension, "state": state})

    def _log_in(self, t: float, agent: Agent) -> None:
        agent.leaving = False
        if agent.state != "offline":
            return
        agent.logged_in_since = t
        self._set_state(agent, "log_in", t)
        self._agent_free(t, agent)

    def _log_out(self, t: float, agent: Agent) -> None:
        if agent.state == "offline":
            return
        if agent.state == "available":
            self._close_login(agent, t)
            self._set_state(agent, "log_out", t)
        else:
            agent.leaving = True  # leaves after the current call's wrap-up

    def _close_login(self, agent: Agent, t: float) -> None:
        if agent.logged_in_since is not None:
            agent.logged_in_seconds += t - agent.logged_in_since
            agent.logged_in_since = None

    def _agent_free(self, t: float, agent: Agent) -> None:
        """An agent became available: serve a waiting call of one of its queues, or wait in their free lists."""
        agent.free_since = t
        agent.call = None
        if agent.leaving:  # logged out while ringing: leaves now that the offer is over
            agent.leaving = False
            self._close_login(agent, t)
            self._set_state(agent, "log_out", t)
            return
        if self.table is None:
            self._refresh_table(t)
        for queue_id in self.agent_queues.get(agent.extension, ()):
            call = self._next_waiting(queue_id, agent)
            if call is not None:
                self._offer(t, call, agent, queue_id)
                return
        for queue_id in self.agent_queues.get(agent.extension, ()):
            heapq.heappush(self.free.setdefault(queue_id, []), (t, agent.order, agent))

    def _next_waiting(self, queue_id: str, agent: Agent) -> Call | None:
        """The longest-waiting call of a queue that ``agent`` has not just let ring out, removed from the queue."""
        waiting = self.waiting.get(queue_id)
        if not waiting:
            return None
        logged_in = sum(1 for ext in self.table.queues[queue_id].agents  # type: ignore[union-attr]
                        if ext in self.agents and self.agents[ext].state != "offline")
        index = 0
        while index < len(waiting):
            call = waiting[index]
            if call.state != "queued" or call.ring is not None or call.queue != queue_id:
                del waiting[index]  # left the queue (abandoned, moved on) or being offered
                continue
            refused = call.refused
            if refused and agent.extension in refused and len(refused) < logged_in:
                index += 1  # let another agent try first
                continue
            if refused and len(refused) >= logged_in:
                refused.clear()  # every agent has let it ring: start over
            del waiting[index]
            return call
        return None

    def _refresh_table(self, t: float) -> None:
        table = self.config.table_at(self.wall(t))
        if table.version != self.table_version:
            self.table, self.table_version = table, table.version
            self.plans.clear()
            self.agent_queues = {}
            for queue_id, queue in table.queues.items():
                for extension in queue.agents:
                    self.agent_queues.setdefault(extension, []).append(queue_id)
            self.free = {}
            for agent in self.agents.values():
                if agent.state == "available":
                    for queue_id in self.agent_queues.get(agent.extension, ()):
                        heapq.heappush(self.free.setdefault(queue_id, []), (agent.free_since, agent.order, agent))

    # -- arrivals -------------------------------------------------------------------------------

    def schedule_arrivals(self) -> None:
        """Put every arrival process on the calendar."""
        from zoneinfo import ZoneInfo

        table = self.config.table_at(self.scenario.start)
        zone = ZoneInfo(table.time_zone)
        for index, spec in enumerate(self.scenario.arrivals):
            if isinstance(spec, ExplicitArrivals):
                for position, call in enumerate(spec.calls):
                    _check_dialled(table, call.to, f"$.arrivals[{index}].calls[{position}].to")
                for call in sorted(spec.calls, key=lambda c: c.at_seconds):
                    self.arrivals_open += 1
                    self.at(call.at_seconds, self._explicit_arrival, call)
            elif isinstance(spec, PoissonArrivals):
                _check_dialled(table, spec.to, f"$.arrivals[{index}].to")
                rng = stream(self.scenario.seed, f"arrivals:{index}")
                process = _Poisson(spec, rng, self.scenario.start.astimezone(zone), stream(self.scenario.seed, f"callers:{index}"))
                first = process.next_after(0.0)
                if first != math.inf and self._within_duration(first):
                    self.arrivals_open += 1
                    self.at(first, self._poisson_arrival, process)
        for change_index, change in enumerate(self.scenario.changes):
            self.at(change.at_seconds, self._config_change, (change_index, change))

    def _arrivals_left(self) -> bool:
        limit = self.scenario.max_calls
        return limit is None or self.next_call_id <= limit

    def _explicit_arrival(self, t: float, spec: Any) -> None:
        self.arrivals_open -= 1
        if self._within_duration(t) and self._arrivals_left():
            self._arrive(t, spec.to, spec.caller, spec.digits, spec.id)

    def _within_duration(self, t: float) -> bool:
        duration = self.scenario.duration_seconds
        return duration is None or t < duration

    def _poisson_arrival(self, t: float, process: _Poisson) -> None:
        if not (self._within_duration(t) and self._arrivals_left()):
            self.arrivals_open -= 1
            return
        caller, digits = process.caller()
        self._arrive(t, process.spec.to, caller, digits)
        following = process.next_after(t)
        if self._arrivals_left() and following != math.inf and self._within_duration(following):
            self.at(following, self._poisson_arrival, process)
        else:
            self.arrivals_open -= 1

    def _config_change(self, t: float, item: tuple[int, Any]) -> None:
        index, change = item
        version = self.config.apply(self.wall(t), change.commands, change.actor, field=f"$.changes[{index}].commands")
        if self.trace is not None:
            self.emit({"t": t, "ev": "config", "version": version})
        delay = self.provisioning_delay()
        self.at(t + delay, self._provisioned, version)

    def _provisioned(self, t: float, version: int) -> None:
        self.config.confirm(self.wall(t), version)
        if self.trace is not None:
            self.emit({"t": t, "ev": "live", "version": version})
        self._refresh_table(t)
        # Agents the change put in a queue may serve calls already waiting there.
        for queue_id, waiting in list(self.waiting.items()):
            queue = self.table.queues.get(queue_id)  # type: ignore[union-attr]
            while waiting and queue is not None:
                agent = self._free_agent(queue_id, queue.strategy)
                if agent is None:
                    break
                call = self._next_waiting(queue_id, agent)
                if call is None:
                    heapq.heappush(self.free.setdefault(queue_id, []), (agent.free_since, agent.order, agent))
                    break
                self._offer(t, call, agent, queue_id)

    # -- calls ------------------------------------------------------------------------------------

    def _arrive(self, t: float, dialled: str, caller: str | None, digits: str | None, label: str | None = None) -> None:
        call = Call(self.next_call_id, dialled, caller, digits, t, self.patience())
        call.label = label or str(call.id)
        if self.calls_out is not None:
            call.ring_states = dict(self.states)  # type: ignore[attr-defined]
        self.next_call_id += 1
        self.active += 1
        self.kpis.arrival(t, dialled)
        if self.trace is not None:
            self.emit({"t": t, "ev": "arrive", "call": call.id, "to": dialled, "from": caller})
        if self.table is None:
            self._refresh_table(t)  # afterwards the table changes only when a change goes live (_provisioned)
        key = (dialled, caller is None, digits)
        cached = self.plans.get(key)
        if cached is None:
            try:
                decision = route(self.table, RoutingCall(dialled=dialled, at=self.wall(t), caller=caller, digits=digits,  # type: ignore[arg-type]
                                                         call_id=str(call.id)),
                                 self.states, self.memory, hop_limit=self.scenario.max_hops)  # type: ignore[arg-type]
            except DomainError as exc:
                raise ScenarioError(f"call {call.label} at {t:g} s: {exc} - at `$.arrivals`") from None
            self.memory = decision.memory
            rejected = decision.rejected_anonymous
            plan = decision.plan
            if decision.depends_on <= {"agents"}:
                self.plans[key] = (plan, rejected)
        else:
            plan, rejected = cached
        if rejected:
            self.kpis.counts["rejected"] += 1
        if self.trace is not None:
            self.emit({"t": t, "ev": "route", "call": call.id, "version": self.table_version, "plan": type(plan).__name__})
        if call.deadline != math.inf:
            self.at(call.deadline, self._patience_out, call)
        self._run(t, call, plan)

    def _run(self, t: float, call: Call, node: Any) -> None:
        """Carry out one plan node for ``call``."""
        match node:
            case Ring():
                call.transition("ring")
                if node.purpose is not None and node.purpose.kind == "group":
                    call.group = node.purpose.target
                    self.kpis.offered_to(None, call.group)
                self._ring(t, call, node, 0, t)
            case Voicemail(box=box):
                self._end(t, call, "voicemail", box)
            case Message():
                self._end(t, call, "message", None)
            case BusyTone():
                self._end(t, call, "busy", None)
            case Unavailable():
                self._end(t, call, "unavailable", None)
            case Missed() | HopLimit() | None:
                self._end(t, call, "missed", None)
            case Menu():
                self._menu(t, call, node)
            case Queue():
                self._enqueue(t, call, node)
            case Lookup(then=then):
                self._run(t, call, then)
            case _:
                raise TypeError(node)

    # ringing

    def _answer_delay(self, endpoint_kind: str, endpoint_id: str) -> tuple[float, Agent | None]:
        agent = self.agents.get(endpoint_id) if endpoint_kind == "user" else None
        if agent is not None:
            if agent.state != "available":
                return math.inf, None
            return agent.answer_delay(), agent  # type: ignore[misc]
        if self.others_probability and self.others_answers() < self.others_probability:
            return self.others_delay(), None
        return math.inf, None

    def _ring(self, t: float, call: Call, ring: Ring, index: int, started: float) -> None:
        limit_end = started + ring.limit_seconds if ring.limit_seconds else math.inf
        if ring.mode == "parallel":
            best = (math.inf, None, None)
            window = 0.0
            for leg in ring.legs:
                window = max(window, leg.seconds if leg.seconds is not None else math.inf)
                delay, agent = self._answer_delay(leg.endpoint.kind, leg.endpoint.id)
                if delay < best[0]:
                    best = (delay, leg.endpoint.id, agent)
            if self.trace is not None:
                self.emit({"t": t, "ev": "ring", "call": call.id, "endpoints": [leg.endpoint.id for leg in ring.legs]})
            end = min(limit_end, t + window)
            self._ring_outcome(t, call, ring, best, end, len(ring.legs), started)
            return
        legs = ring.legs
        while index < len(legs):
            leg = legs[index]
            index += 1
            delay, agent = self._answer_delay(leg.endpoint.kind, leg.endpoint.id)
            person = self.agents.get(leg.endpoint.id) if leg.endpoint.kind == "user" else None
            if person is not None and person.state != "available":
                if person.state == "offline" or (ring.purpose is None or ring.purpose.kind != "user"):
                    continue  # unreachable, or a group or scheme member who became busy since the call was routed
                # A call to a busy user with call waiting on rings (the waiting tone) but is not answered.
            if self.trace is not None:
                self.emit({"t": t, "ev": "ring", "call": call.id, "endpoints": [leg.endpoint.id]})
            end = min(limit_end, t + (leg.seconds if leg.seconds is not None else math.inf))
            self._ring_outcome(t, call, ring, (delay, leg.endpoint.id, agent), end, index, started)
            return
        self._run(t, call, ring.then)

    def _ring_outcome(self, t: float, call: Call, ring: Ring, best: tuple[float, Any, Any], end: float, index: int,
                      started: float) -> None:
        delay, endpoint, agent = best
        if t + delay < end and t + delay < call.deadline:
            if agent is not None:
                self._set_state(agent, "offer", t)
                agent.call = call
                call.ring = agent
            self.at(t + delay, self._answered, (call, call.token, endpoint, agent))
        elif end != math.inf:
            self.at(end, self._ring_timeout, (call, call.token, ring, index, started))
        elif call.deadline == math.inf:
            self._end(t, call, "missed", None)  # rings for ever and nobody ever hangs up: count it missed now
        # else: the caller's patience ends the call

    def _ring_timeout(self, t: float, item: tuple[Call, int, Ring, int, float]) -> None:
        call, token, ring, index, started = item
        if call.token != token:
            return
        limit_end = started + ring.limit_seconds if ring.limit_seconds else math.inf
        if ring.mode == "sequential" and index < len(ring.legs) and t < limit_end:
            self._ring(t, call, ring, index, started)
        else:
            self._run(t, call, ring.then)

    def _answered(self, t: float, item: tuple[Call, int, str, Agent | None]) -> None:
        call, token, endpoint, agent = item
        if call.token != token:
            return
        queued = call.state == "queued"
        call.transition("answer")
        call.ring = None
        call.answered_at = t
        call.endpoint = endpoint
        self.kpis.answered(t, call.arrived, call.dialled, call.queue, call.group, queued and call.where == "waited")
        if self.trace is not None:
            self.emit({"t": t, "ev": "answer", "call": call.id, "endpoint": endpoint})
        if agent is not None:
            self._set_state(agent, "answer", t)
            agent.answered += 1
            talk = agent.talk_time()  # type: ignore[misc]
        else:
            talk = self.others_talk()
        self.at(t + talk, self._hang_up, (call, agent))

    def _hang_up(self, t: float, item: tuple[Call, Agent | None]) -> None:
        call, agent = item
        call.transition("hang_up")
        self._finish(t, call, "answered", call.endpoint)
        if agent is not None:
            self._set_state(agent, "hang_up", t)
            queue = self.table.queues.get(call.queue) if call.queue is not None else None  # type: ignore[union-attr]
            # A queue call takes the queue's wrap-up time; other calls the agent's own.
            wrap = float(queue.wrap_up_seconds) if queue is not None else agent.wrap_up()  # type: ignore[misc]
            agent.busy_seconds += (t - (call.answered_at or t)) + wrap
            self.at(t + wrap, self._ready, agent)

    def _ready(self, t: float, agent: Agent) -> None:
        if agent.leaving:
            agent.leaving = False
            self._close_login(agent, t)
            self._set_state(agent, "ready_to_leave", t)
            return
        self._set_state(agent, "ready", t)
        self._agent_free(t, agent)

    # menus

    def _menu(self, t: float, call: Call, menu: Menu) -> None:
        call.transition("enter_ivr")
        if self.trace is not None:
            self.emit({"t": t, "ev": "ivr", "call": call.id, "ivr": menu.ivr, "digit": menu.chosen})
        tries = menu.retries + 1
        if menu.chosen is None:
            branch, dt = menu.on_no_input, menu.timeout_seconds * tries
        elif menu.chosen == "":
            branch, dt = menu.on_no_input, menu.timeout_seconds * tries
        elif menu.chosen in menu.options:
            branch, dt = menu.options[menu.chosen], min(IVR_PRESS_SECONDS, menu.timeout_seconds)
        else:
            branch, dt = menu.on_invalid, min(IVR_PRESS_SECONDS, menu.timeout_seconds) * tries
        self.at(t + dt, self._menu_done, (call, call.token, branch))

    def _menu_done(self, t: float, item: tuple[Call, int, Any]) -> None:
        call, token, branch = item
        if call.token == token:
            self._run(t, call, branch)

    # queues

    def _enqueue(self, t: float, call: Call, node: Queue) -> None:
        call.transition("enqueue")
        call.queue = node.queue
        self.kpis.offered_to(node.queue, None)
        if self.trace is not None:
            self.emit({"t": t, "ev": "queue", "call": call.id, "queue": node.queue})
        agent = self._free_agent(node.queue, node.strategy)
        if agent is not None:
            self._offer(t, call, agent, node.queue)
        else:
            call.where = "waited"
            self.waiting.setdefault(node.queue, deque()).append(call)
        self.at(t + node.max_wait_seconds, self._max_wait, (call, node.queue, node.after_max_wait))

    def _free_agent(self, queue_id: str, strategy: str, exclude: set[str] | None = None) -> Agent | None:
        free = self.free.get(queue_id)
        if not free:
            return None
        if strategy == "longest_idle" and not exclude:
            while free:
                since, _, agent = heapq.heappop(free)
                if agent.state == "available" and agent.free_since == since:
                    return agent
            return None
        candidates = [entry for entry in free if entry[2].state == "available" and entry[2].free_since == entry[0]
                      and not (exclude and entry[2].extension in exclude)]
        if strategy == "longest_idle" and candidates:
            chosen = min(candidates)
            free.remove(chosen)
            heapq.heapify(free)
            return chosen[2]
        if not candidates:
            free.clear()
            return None
        if strategy == "fewest_calls":
            chosen = min(candidates, key=lambda e: (e[2].answered, e[1]))
        elif strategy in ("sequential", "round_robin", "ring_all", "random"):
            chosen = min(candidates, key=lambda e: e[1]) if strategy != "random" else candidates[self.seq % len(candidates)]
        else:
            chosen = candidates[0]
        free.remove(chosen)
        heapq.heapify(free)
        return chosen[2]

    def _offer(self, t: float, call: Call, agent: Agent, queue_id: str) -> None:
        queue = self.table.queues[queue_id]  # type: ignore[union-attr]
        self._set_state(agent, "offer", t)
        agent.call = call
        call.ring = agent
        call.transition("offer")
        delay = agent.answer_delay()  # type: ignore[misc]
        if delay <= queue.agent_ring_seconds and t + delay < call.deadline:
            self.at(t + delay, self._answered, (call, call.token, agent.extension, agent))
        else:
            self.at(t + min(queue.agent_ring_seconds, max(0.0, call.deadline - t)), self._offer_missed, (call, call.token, agent))

    def _offer_missed(self, t: float, item: tuple[Call, int, Agent]) -> None:
        call, token, agent = item
        if not (agent.state == "ringing" and agent.call is call):
            return  # the caller left first and the agent was already freed (and may be ringing for another call)
        self._set_state(agent, "miss", t)
        if call.token == token and call.state == "queued":
            call.ring = None
            call.where = "waited"
            if call.refused is None:
                call.refused = set()
            call.refused.add(agent.extension)
            queue = self.table.queues[call.queue]  # type: ignore[union-attr,index]
            other = self._free_agent(call.queue, queue.strategy, exclude=call.refused)  # type: ignore[arg-type]
            if other is not None:
                self._offer(t, call, other, call.queue)  # type: ignore[arg-type]
            else:
                self.waiting.setdefault(call.queue, deque()).appendleft(call)  # type: ignore[arg-type]
        self._agent_free(t, agent)

    def _max_wait(self, t: float, item: tuple[Call, str, Any]) -> None:
        # Holds the queue id and the next node only, not the plan's agent list: the timer outlives most calls.
        call, queue_id, after = item
        if call.state != "queued" or call.queue != queue_id:
            return
        self._release(t, call)
        if self.trace is not None:
            self.emit({"t": t, "ev": "max_wait", "call": call.id, "queue": queue_id})
        self._run(t, call, after)

    # endings

    def _release(self, t: float, call: Call) -> None:
        """Free the agent reserved for a call that leaves before answering."""
        agent = call.ring
        if isinstance(agent, Agent) and agent.state == "ringing" and agent.call is call:
            call.ring = None
            self._set_state(agent, "caller_gone", t)
            self._agent_free(t, agent)

    def _patience_out(self, t: float, call: Call) -> None:
        if call.state not in ("ringing", "ivr", "queued"):
            return
        where = {"ringing": "ringing", "ivr": "ivr", "queued": "queue"}[call.state]
        self._release(t, call)
        call.transition("abandon")
        self.kpis.abandoned(t, call.arrived, call.dialled, where, call.queue, call.group)
        if self.trace is not None:
            self.emit({"t": t, "ev": "abandon", "call": call.id, "where": where})
        self._finish(t, call, f"abandoned_{where}", None)

    def _end(self, t: float, call: Call, outcome: str, endpoint: str | None) -> None:
        call.transition("end")
        self.kpis.ended(outcome, call.dialled)
        self._finish(t, call, outcome, endpoint)

    def _finish(self, t: float, call: Call, outcome: str, endpoint: str | None) -> None:
        call.outcome = outcome
        self.active -= 1
        if call.label in self.watch:
            self.outcomes[call.label] = (outcome, endpoint)
        if self.calls_out is not None:
            self.calls_out({
                "call_id": call.label, "to": call.dialled, "from": call.caller, "at": self.wall(call.arrived).isoformat(),
                "outcome": "missed" if outcome.startswith("abandoned_") else outcome, "endpoint": endpoint,
                "states": call.ring_states, "digits": call.digits,  # type: ignore[attr-defined]
            })
        if self.trace is not None:
            self.emit({"t": t, "ev": "end", "call": call.id, "outcome": outcome, "endpoint": endpoint})

    # -- results ---------------------------------------------------------------------------------

    def result(self) -> Kpis:
        end = self.now
        figures = {}
        for extension, agent in self.agents.items():
            logged = agent.logged_in_seconds + ((end - agent.logged_in_since) if agent.logged_in_since is not None else 0.0)
            figures[extension] = AgentFigures(answered=agent.answered, busy_seconds=agent.busy_seconds, logged_in_seconds=logged,
                                              occupancy=agent.busy_seconds / logged if logged else 0.0)
        return self.kpis.result(figures, end, self.events)


def _check_dialled(table: Any, dialled: str, field: str) -> None:
    """Refuse, before the run, a call to something that is neither an extension nor a number of the tenant."""
    if dialled in table.users:
        return
    try:
        number = normalise_number(dialled, field=field)
    except DomainError:
        number = None
    if number not in table.numbers:
        raise ScenarioError(f"{dialled!r} is neither an extension nor a number of tenant {table.tenant!r} - at `{field}`")


class _Poisson:
    """A non-homogeneous Poisson process by thinning, on the tenant's wall clock."""

    def __init__(self, spec: PoissonArrivals, rng: Any, local_start: Any, callers: Any) -> None:
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

    def rate(self, t: float) -> float:
        local = (self.start_utc + timedelta(seconds=t)).astimezone(self.zone)  # wall clock, DST included
        return self.base * self.hourly[local.hour] * self.weekly[local.weekday()]

    def next_after(self, t: float) -> float:
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
        draw = self.callers.random
        anonymous = self.spec.anonymous_share and draw() < self.spec.anonymous_share
        caller = None if anonymous else f"+4670{int(draw() * 10_000_000):07d}"
        digits = None
        if self.digits:
            x, total = draw(), 0.0
            digits = ""
            for digit, probability in self.digits:
                total += probability
                if x < total:
                    digits = digit
                    break
        return caller, digits
