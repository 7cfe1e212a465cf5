"""Ringing a plan's legs, and an answered call until it hangs up.

Modelling choices (see README "Simulation"): an endpoint's answer delay is drawn when it
starts ringing, and only an endpoint that will answer in time is held (ringing) for the
call; ringing follows the plan, skipping a group or scheme member who has become busy or
unreachable since the call was routed. Endpoints that are not agents (external numbers,
other PBXs, users without a spec) answer with the scenario's ``others`` probability.
"""

from __future__ import annotations

import math
from heapq import heappush

import msgspec

from core.routing.plan import Ring
from simulator.calendar import Calendar
from simulator.flow import CallFlow
from simulator.kpis import Collector, answered_by_key
from simulator.machines import Agent, Call
from simulator.plans import Plans
from simulator.presence import Presence
from simulator.scenario import OthersSpec
from simulator.streams import sampler, stream
from simulator.trace import Answered, Rang, Trace

_log = math.log


class Answer(msgspec.Struct, gc=False):
    """An endpoint will answer ``call`` (if nothing has happened to it since ``token``)."""

    call: Call
    token: int
    endpoint: str
    agent: Agent | None
    group: str | None
    """The answer group whose ring this is: its least-recently-answered memory learns who answered."""
    by: str
    """Who answers, as ``Kpis.answered_by`` counts it: ``agent``, or the kind of the leg's endpoint (``kpis.ENDPOINT_BY``)."""


class RingTimer(msgspec.Struct, gc=False):
    """A ring step's time is up: the next leg of ``ring`` from ``index``, or what follows it."""

    call: Call
    token: int
    ring: Ring
    index: int
    started: float


class OtherEndpoints:
    """How endpoints that are not agents answer: with a probability, after a delay; and how long they talk."""

    def __init__(self, spec: OthersSpec, seed: int) -> None:
        self.probability = spec.answer_probability
        self.answers = stream(seed, "others:answers").random
        self.delay = sampler(spec.answer_delay, stream(seed, "others:answer_delay"))
        self.talk = sampler(spec.talk_time, stream(seed, "others:talk_time"))

    def answer_delay(self) -> float:
        """When one rung now answers (``inf``: it does not)."""
        if self.probability and self.answers() < self.probability:
            return self.delay()
        return math.inf


class Ringing:
    """Rings the legs of ``Ring`` plan nodes; answers, talk and hang-up of every call, queue calls included."""

    def __init__(self, calendar: Calendar, presence: Presence, plans: Plans, kpis: Collector, others: OtherEndpoints,
                 flow: CallFlow, trace: Trace | None) -> None:
        self.calendar = calendar
        self.presence = presence
        self.agents = presence.agents
        self.plans = plans
        self.kpis = kpis
        self.others = others
        self.flow = flow
        self.trace = trace
        # Bound once, under a name of its own: the calendar is handed it once a call; looking a method up makes a new
        # bound method each time, and an attribute that hides a method is looked up the slow way (never specialised).
        self._hang_up_bound = self._hang_up

    def start(self, t: float, call: Call, ring: Ring) -> None:
        """``call`` reaches a ring node."""
        call.transition("ring")
        if ring.purpose is not None and ring.purpose.kind == "group":
            call.group = ring.purpose.target
            self.kpis.offered_to(call.arrived, None, call.group)
        self._ring(t, call, ring, 0, t)

    def _answer_delay(self, kind: str, endpoint: str) -> tuple[float, Agent | None]:
        agent = self.agents.get(endpoint) if kind == "user" else None
        if agent is not None:
            if agent.state != "available":
                return math.inf, None
            return agent.answer_delay(), agent
        return self.others.answer_delay(), None

    def _ring(self, t: float, call: Call, ring: Ring, index: int, started: float) -> None:
        """Ring the legs of ``ring`` from ``index`` (all of them, in parallel mode)."""
        limit_end = started + ring.limit_seconds if ring.limit_seconds else math.inf
        legs = ring.legs
        if ring.mode == "parallel":
            best, endpoint, kind, answering, window = math.inf, "", "user", None, 0.0
            for leg in legs:
                window = max(window, leg.seconds if leg.seconds is not None else math.inf)
                delay, agent = self._answer_delay(leg.endpoint.kind, leg.endpoint.id)
                if delay < best:
                    best, endpoint, kind, answering = delay, leg.endpoint.id, leg.endpoint.kind, agent
            if self.trace is not None:
                self.trace(Rang(t=t, call=call.id, endpoints=[leg.endpoint.id for leg in legs]))
            self._outcome(t, call, ring, best, endpoint, kind, answering, min(limit_end, t + window), len(legs), started)
            return
        while index < len(legs):
            leg = legs[index]
            index += 1
            delay, agent = self._answer_delay(leg.endpoint.kind, leg.endpoint.id)
            person = self.agents.get(leg.endpoint.id) if leg.endpoint.kind == "user" else None
            if person is not None and person.state != "available":
                if person.state in ("offline", "unreachable") or (ring.purpose is None or ring.purpose.kind != "user"):
                    continue  # logged out or unreachable, or a group or scheme member who became busy since the call was routed
                # A call to a busy user with call waiting on rings (the waiting tone) but is not answered.
            if self.trace is not None:
                self.trace(Rang(t=t, call=call.id, endpoints=[leg.endpoint.id]))
            end = min(limit_end, t + (leg.seconds if leg.seconds is not None else math.inf))
            self._outcome(t, call, ring, delay, leg.endpoint.id, leg.endpoint.kind, agent, end, index, started)
            return
        self.flow.run(t, call, ring.then)

    def _outcome(self, t: float, call: Call, ring: Ring, delay: float, endpoint: str, kind: str, agent: Agent | None,
                 end: float, index: int, started: float) -> None:
        """Whoever answers first in time answers; else the ring step ends at ``end`` (or the caller's patience does)."""
        if t + delay < end and t + delay < call.deadline:
            if agent is not None:
                self.presence.set_state(agent, "offer", t)
                agent.call = call
                call.held = (agent,)
            group = ring.purpose.target if ring.purpose is not None and ring.purpose.kind == "group" else None
            call.sure = t + delay  # nothing can take a ringing call from the endpoint before then
            self.calendar.at(t + delay, self._answered,
                             Answer(call, call.token, endpoint, agent, group, answered_by_key(kind, agent is not None)))
        elif end != math.inf:
            self.calendar.at(end, self._ring_over, RingTimer(call, call.token, ring, index, started))
        elif call.deadline == math.inf:
            self.flow.end(t, call, "missed", None)  # rings for ever and nobody ever hangs up: count it missed now
        # else: the caller's patience ends the call

    def _ring_over(self, t: float, timer: RingTimer) -> None:
        call, ring = timer.call, timer.ring
        if call.token != timer.token:
            return
        limit_end = timer.started + ring.limit_seconds if ring.limit_seconds else math.inf
        if ring.mode == "sequential" and timer.index < len(ring.legs) and t < limit_end:
            self._ring(t, call, ring, timer.index, timer.started)
        else:
            self.flow.run(t, call, ring.then)

    def _answered(self, t: float, answer: Answer) -> None:
        if answer.call.token != answer.token:
            return
        if answer.group is not None:
            self.plans.record_group_answer(answer.endpoint, t)
        self.answer(t, answer.call, answer.endpoint, answer.agent, answer.by)

    def answer(self, t: float, call: Call, endpoint: str, agent: Agent | None, by: str, count: bool = True) -> None:
        """``endpoint`` (``agent``, if it is one; ``by``: who it is, as ``Kpis.answered_by`` counts) answers ``call`` now;
        they talk until one hangs up. ``count=False``: the figures count it otherwise (``Queues._in_batch``)."""
        state = call.state
        if state != "queued" and state != "ringing":
            call.transition("answer")  # raises
        call.state = "talking"  # ``Call.transition("answer")``, inlined
        call.token += 1
        call.held = ()
        call.answered_at = t
        call.endpoint = endpoint
        call.agent = agent
        if count:
            self.kpis.answered(t, call.arrived, call.dialled, call.queue, call.group, by, call.joined)
        if self.trace is not None:
            self.trace(Answered(t=t, call=call.id, endpoint=endpoint))
        talk = call.talk
        if agent is not None:
            presence = self.presence
            if presence.quiet and agent.state == "ringing":
                # ``set_state(agent, "answer", t)`` when nothing watches: routing sees a ringing agent busy already, as
                # it sees one talking, and the free sets do not change (neither state is free).
                agent.state = "talking"
            else:
                presence.set_state(agent, "answer", t)
            agent.answered += 1
            if talk is None:
                parts = agent.talk_parts
                if parts is None:
                    talk = agent.talk_time()
                else:  # ``agent.talk_time()`` of an exponential, written out: the same operations, one call less
                    draw, rate = parts
                    talk = -_log(1.0 - draw()) / rate
        elif talk is None:
            talk = self.others.talk()
        calendar = self.calendar
        end = t + talk
        seq = calendar.seq = calendar.seq + 1  # ``Calendar.at``, written out: this runs once an answered call
        if end == calendar.now:
            calendar.soon.append((seq, self._hang_up_bound, call))
        else:
            heappush(calendar.heap, (end, seq, self._hang_up_bound, call))

    def _hang_up(self, t: float, call: Call) -> None:
        if call.state != "talking":
            call.transition("hang_up")  # raises
        call.state = "ended"  # ``Call.transition("hang_up")``, inlined
        call.token += 1
        self.flow.finish(t, call, "answered", call.endpoint)
        agent = call.agent
        if agent is not None:
            # A queue call takes the queue's wrap-up time (if the queue is still in the table); other calls the agent's own.
            wrap = self.plans.wrap_ups.get(call.queue)  # type: ignore[arg-type]  # None: no queue call
            if wrap is None:
                wrap = agent.wrap_up()
            answered = call.answered_at
            self.presence.hang_up(t, agent, t - answered if answered is not None else 0.0, wrap)  # answered at 0.0 talks too
