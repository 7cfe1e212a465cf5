"""Agents and their presence: who is logged in (shifts, presence changes), what each is doing, and how routing sees them.

Every agent state change goes through ``Presence.set_state``, which keeps the endpoint
states routing reads (``busy``, ``unreachable``; an available agent is absent, as routing
expects) and writes the trace record. An agent who becomes free again is handed to
``on_free`` (the queues), which gives them a waiting call or puts them among the idle.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import msgspec

from simulator.calendar import Calendar, Clock
from simulator.kpi_model import AgentFigures
from simulator.machines import AGENT_TRANSITIONS, ROUTING_STATE, Agent, Call
from simulator.scenario import AgentGroupSpec, AgentSpec, Scenario, ScenarioError, Shift
from simulator.streams import sampler, stream
from simulator.trace import AgentChanged, Trace

if TYPE_CHECKING:
    from core.routing import EndpointState


class ShiftDay(msgspec.Struct, gc=False):
    """One local day of an agent's shifts, to be put on the calendar (``day`` counts from the run's start date)."""

    agent: Agent
    shifts: list[Shift]
    local_start: datetime
    day: int


def _specs(scenario: Scenario, users: Collection[str]) -> list[tuple[str, AgentSpec | AgentGroupSpec]]:
    """Each agent's extension and spec, in scenario order; refuses a duplicate or a non-user, naming the field."""
    specs: list[tuple[str, AgentSpec | AgentGroupSpec]] = []
    fields: dict[str, str] = {}
    for index, agent_spec in enumerate(scenario.agents):
        specs.append((agent_spec.extension, agent_spec))
        fields[agent_spec.extension] = f"$.agents[{index}].extension"
    for index, group in enumerate(scenario.agent_groups):
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
    return specs


def _ignore(t: float, agent: Agent) -> None:
    pass


class Presence:
    """The scenario's agents over the run."""

    def __init__(self, scenario: Scenario, users: Collection[str], zone: ZoneInfo, clock: Clock, calendar: Calendar,
                 trace: Trace | None) -> None:
        self.scenario = scenario
        self.zone = zone
        self.clock = clock
        self.calendar = calendar
        self.trace = trace
        # Bound once, under a name of its own: the calendar is handed it once a call; looking a method up makes a new
        # bound method each time, and an attribute that hides a method is looked up the slow way (never specialised).
        self._ready_bound = self._ready
        self.states: dict[str, EndpointState] = {}
        """Endpoint states as routing reads them; available agents are left out."""
        self.agents: dict[str, Agent] = {}
        self.specs: dict[str, AgentSpec | AgentGroupSpec] = {}
        self.on_free: Callable[[float, Agent], None] = _ignore
        """Called when an agent becomes free for calls (set by the switch: the queues)."""
        self.on_away: Callable[[float, Agent], None] = _ignore
        """Called when an agent in ``away_watch`` stops being free (the queues whose callers leave when agents go)."""
        self.away_watch: Collection[str] = frozenset()
        """Extensions ``on_away`` hears of (set by ``watch_away``, which keeps ``quiet`` in step)."""
        self.quiet = trace is None
        """No trace is written and no agent's going away is watched (``watch_away``): a state change then does no more than
        set the state, keep the free sets (``Agent.kept``) and keep ``states``, and the hot paths write that out."""
        seed = scenario.seed
        for extension, spec in _specs(scenario, users):
            self.agents[extension] = Agent(
                extension, answer_delay=sampler(spec.answer_delay, stream(seed, f"answer_delay:{extension}")),
                talk_time=sampler(spec.talk_time, stream(seed, f"talk_time:{extension}")),
                wrap_up=sampler(spec.wrap_up, stream(seed, f"wrap_up:{extension}")))
            self.specs[extension] = spec
            self.states[extension] = "unreachable"

    def start(self) -> None:
        """Put every agent's log-ins and log-outs on the calendar: shifts, or logged in from the start; presence changes."""
        local_start = self.scenario.start.astimezone(self.zone)
        for extension, agent in self.agents.items():
            spec = self.specs[extension]
            if isinstance(spec, AgentSpec) and spec.shifts:
                self._shift_day(0.0, ShiftDay(agent, spec.shifts, local_start, -1))
            else:
                self.calendar.at(0.0, self._log_in, agent)
        for change in self.scenario.presence:
            changing = self.agents.get(change.extension)
            if changing is not None:
                change_to = {"available": self._available, "offline": self._log_out, "unreachable": self._unreachable}
                self.calendar.at(change.at_seconds, change_to[change.state], changing)

    def _shift_day(self, t: float, item: ShiftDay) -> None:
        """Put one local day's shifts of an agent on the calendar, and the next day's scheduling after it."""
        agent, local_start, day = item.agent, item.local_start, item.day
        date = (local_start + timedelta(days=day)).date()
        seconds = self.clock.seconds
        for shift in item.shifts:
            h1, m1 = map(int, shift.start.split(":"))
            h2, m2 = map(int, shift.end.split(":"))
            begin = local_start.replace(year=date.year, month=date.month, day=date.day, hour=h1, minute=m1, second=0,
                                        microsecond=0)
            end = begin.replace(hour=h2, minute=m2)
            if end <= begin:
                end += timedelta(days=1)
            t_begin, t_end = seconds(begin), seconds(end)
            if t_end <= 0:
                continue
            self.calendar.at(max(t, t_begin), self._log_in, agent)
            self.calendar.at(t_end, self._log_out, agent)
        # Next day's shifts, scheduled at the start of this one: as many days as the run lasts.
        next_midnight = local_start.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=day + 1)
        self.calendar.at(max(t, seconds(next_midnight)), self._shift_day, ShiftDay(agent, item.shifts, local_start, day + 1))

    def watch_away(self, extensions: Collection[str]) -> None:
        """Have ``on_away`` told when an agent of ``extensions`` stops being free."""
        self.away_watch = extensions
        self.quiet = self.trace is None and not extensions

    def set_state(self, agent: Agent, event: str, t: float) -> None:
        """Move ``agent``'s state machine by ``event``; keep routing's view and the trace in step."""
        # ``Agent.transition`` inlined (the hot path of every call): the same table, the same error. Indexing, not
        # ``get``: cheaper when the transition is there, as it is but for a bug.
        old = agent.state
        try:
            state = AGENT_TRANSITIONS[old, event]
        except KeyError:
            state = None
        if state is None:
            agent.transition(event)  # raises IllegalTransition
        agent.state = state
        kept = agent.kept
        if kept:  # queues that keep their free agents: as ``strategies._free`` reads them
            if state == "available":
                if not agent.leaving:
                    agent.freed += 1
                    for queue, position in kept:
                        queue.became_free(position, agent)
            elif old == "available":
                for queue, position in kept:
                    queue.taken(position)
        extension = agent.extension
        if state == "available":
            self.states.pop(extension, None)
        else:
            self.states[extension] = ROUTING_STATE[state]
            if extension in self.away_watch:
                if self.trace is not None:
                    self.trace(AgentChanged(t=t, agent=extension, state=state))
                self.on_away(t, agent)
                return
        if self.trace is not None:
            self.trace(AgentChanged(t=t, agent=extension, state=state))

    def _available(self, t: float, agent: Agent) -> None:
        """A presence change to ``available``: the phone is back, or the agent logs in."""
        if agent.state == "unreachable":
            self.set_state(agent, "phone_back", t)
            self.free(t, agent)
        else:
            self._log_in(t, agent)

    def _unreachable(self, t: float, agent: Agent) -> None:
        """A presence change to ``unreachable``: logged in (logging in, if need be), but the phone cannot be reached."""
        agent.leaving = False
        if agent.state == "offline":
            agent.logged_in_since = t
            self.set_state(agent, "log_in", t)
        if agent.state == "available":
            self.set_state(agent, "lose_phone", t)
        elif agent.state != "unreachable":
            agent.phone_lost = True  # on a call: once it and its wrap-up are over

    def _log_in(self, t: float, agent: Agent) -> None:
        agent.leaving = False
        agent.phone_lost = False
        if agent.state != "offline":
            return
        agent.logged_in_since = t
        self.set_state(agent, "log_in", t)
        self.free(t, agent)

    def _log_out(self, t: float, agent: Agent) -> None:
        if agent.state == "offline":
            return
        if agent.state == "available" or agent.state == "unreachable":
            self._close_login(agent, t)
            self.set_state(agent, "log_out", t)
        else:
            agent.leaving = True  # leaves after the current call's wrap-up

    def _close_login(self, agent: Agent, t: float) -> None:
        if agent.logged_in_since is not None:
            agent.logged_in_seconds += t - agent.logged_in_since
            agent.logged_in_since = None

    def free(self, t: float, agent: Agent) -> None:
        """An available agent is free for calls again (logged in, or an offer or call is over)."""
        agent.free_since = t
        agent.call = None
        if agent.leaving:  # logged out while ringing: leaves now that the offer is over
            agent.leaving = False
            self._close_login(agent, t)
            self.set_state(agent, "log_out", t)
            return
        if agent.phone_lost:
            agent.phone_lost = False
            self.set_state(agent, "lose_phone", t)
            return
        self.on_free(t, agent)

    def release(self, t: float, call: Call) -> None:
        """Free the agents ringing for a call that leaves before an answer."""
        held = [agent for agent in call.held if agent.state == "ringing" and agent.call is call]
        call.held = ()
        # All first, then each in turn: a freed agent that takes another call may ring the others for it (ring all).
        for agent in held:
            self.set_state(agent, "caller_gone", t)
        for agent in held:
            if agent.state == "available":
                self.free(t, agent)

    def hang_up(self, t: float, agent: Agent, talked: float, wrap_up: float) -> None:
        """``agent``'s call ended after ``talked`` seconds: wrap-up, then ready (or logged out, if they left meanwhile)."""
        quiet = self.quiet and agent.state == "talking"
        if quiet:
            # ``set_state(agent, "hang_up", t)`` when nothing watches: routing sees a talking agent busy already, as it
            # sees one wrapping up, and the free sets do not change (neither state is free).
            agent.state = "wrap_up"
        else:
            self.set_state(agent, "hang_up", t)
        agent.busy_seconds += talked + wrap_up
        # The last step of the hang-up's event (``Ringing._hang_up``): a wrap-up of 0 s is over at once, when nothing
        # else is due now (``Calendar.then``, written out: this runs once an answered call).
        ready = t + wrap_up
        calendar = self.calendar
        if ready == calendar.now and not calendar.soon and not calendar.over and (not calendar.heap or calendar.heap[0][0] > ready):
            calendar.seq += 1
            calendar.events += 1
            if quiet and not (agent.leaving or agent.phone_lost or agent.kept):
                # ``_ready`` on its usual path, written out (no trace; the agent wrapping up since just now): ready, free,
                # and handed to the queues.
                agent.state = "available"
                self.states.pop(agent.extension, None)
                agent.free_since = ready
                agent.call = None
                on_free = self.on_free  # read first: ``self.on_free(...)`` of an attribute is never specialised
                on_free(ready, agent)
            else:
                self._ready(ready, agent)
        else:
            calendar.at(ready, self._ready_bound, agent)

    def _ready(self, t: float, agent: Agent) -> None:
        if agent.leaving:
            agent.leaving = False
            self._close_login(agent, t)
            self.set_state(agent, "ready_to_leave", t)
            return
        if agent.state == "wrap_up" and not agent.kept and self.trace is None:
            # ``set_state(agent, "ready", t)`` for an agent in no queue that keeps its free agents, with no trace:
            # available, so left out of ``states`` (``away_watch`` is only for agents who stop being free).
            agent.state = "available"
            self.states.pop(agent.extension, None)
        else:
            self.set_state(agent, "ready", t)
        if agent.phone_lost:
            self.free(t, agent)
        else:  # ``free``, written out: the agent is not leaving (above) and keeps the phone
            agent.free_since = t
            agent.call = None
            self.on_free(t, agent)

    def figures(self, end: float) -> dict[str, AgentFigures]:
        """Each agent's figures at the end of the run."""
        figures = {}
        for extension, agent in self.agents.items():
            logged = agent.logged_in_seconds + ((end - agent.logged_in_since) if agent.logged_in_since is not None else 0.0)
            figures[extension] = AgentFigures(answered=agent.answered, busy_seconds=agent.busy_seconds, logged_in_seconds=logged,
                                              occupancy=agent.busy_seconds / logged if logged else 0.0)
        return figures
