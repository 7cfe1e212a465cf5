"""Call queues: callers wait for a free agent, are offered by the queue's strategy, and leave after the maximum wait.

A call that finds a free agent is offered at once; otherwise it waits, first come first
served. An agent who becomes free takes the longest-waiting call of their queues (under
ring all, that call rings every free agent). An agent who lets an offer ring out is not
offered the same call again while another logged-in agent has not had it; once all have,
it starts over. The scenario's patience runs from arrival and may end the call anywhere.
"""

from __future__ import annotations

from heapq import heappush
from typing import TYPE_CHECKING

import msgspec

from core.routing.plan import Node
from core.routing.plan import Queue as QueueNode
from simulator.calendar import Calendar
from simulator.flow import CallFlow
from simulator.kpis import Collector
from simulator.machines import Agent, Call
from simulator.presence import Presence
from simulator.ringing import Ringing
from simulator.strategies import QueueState
from simulator.trace import Queued, Trace, WaitedTooLong

if TYPE_CHECKING:
    from core.routing import RoutingTable


class Offer(msgspec.Struct, gc=False):
    """``call`` rings ``agents`` (one, or every free one under ring all); ``winner`` answers first, if anyone does in time."""

    call: Call
    token: int
    queue: QueueState
    agents: tuple[Agent, ...]
    winner: Agent


class MaxWait(msgspec.Struct, gc=False):
    # The queue's id and the next node only, not the plan's agent list: the timer outlives most calls.
    call: Call
    queue: str
    after: Node | None


class Queues:
    """Every queue of the tenant over the run."""

    def __init__(self, table: RoutingTable, seed: int, calendar: Calendar, presence: Presence, ringing: Ringing,
                 kpis: Collector, flow: CallFlow, trace: Trace | None) -> None:
        self.seed = seed
        self.calendar = calendar
        self.presence = presence
        self.ringing = ringing
        self.kpis = kpis
        self.flow = flow
        self.trace = trace
        self.queues: dict[str, QueueState] = {}
        """Every queue seen so far: waiting calls and strategy memory outlive a change of the table."""
        self.memberships: dict[str, list[tuple[QueueState, int]]] = {}
        """Agent's extension → their queues and their position in each, in the table's order."""
        self.configure(table)

    def configure(self, table: RoutingTable) -> None:
        """Take the queues and members of a table that went live."""
        agents = self.presence.agents
        self.memberships = {}
        for queue_id, spec in table.queues.items():
            queue = self.queues.get(queue_id)
            if queue is None:
                queue = self.queues[queue_id] = QueueState(queue_id, self.seed)
            queue.configure(spec, agents)
            for position, agent in enumerate(queue.agents):
                self.memberships.setdefault(agent.extension, []).append((queue, position))
        for queue_id, queue in self.queues.items():
            if queue_id not in table.queues:
                queue.configure(None, agents)
        for agent in agents.values():
            if agent.state == "available":
                self._idle(agent.free_since, agent)

    def _idle(self, since: float, agent: Agent) -> None:
        for queue, position in self.memberships.get(agent.extension, ()):
            if queue.idle is not None:
                heappush(queue.idle, (since, position, agent))

    def table_live(self, t: float, table: RoutingTable, changed: bool) -> None:
        """A change went live: take the new table, and let agents it put in a queue serve the calls waiting there."""
        if changed:
            self.configure(table)
        for queue in self.queues.values():
            while queue.waiting and queue.spec is not None:
                agents = queue.pick(queue, None)
                if not agents:
                    break
                call = self._next_waiting(queue, agents[0])
                if call is None:
                    queue.put_back(agents[0])
                    break
                self._offer(t, call, queue, agents)

    def enqueue(self, t: float, call: Call, node: QueueNode) -> None:
        """``call`` reaches a queue node."""
        call.transition("enqueue")
        call.queue = node.queue
        self.kpis.offered_to(node.queue, None)
        if self.trace is not None:
            self.trace(Queued(t=t, call=call.id, queue=node.queue))
        queue = self.queues[node.queue]
        agents = queue.pick(queue, None)
        if agents:
            self._offer(t, call, queue, agents)
        else:
            call.where = "waited"
            queue.waiting.append(call)
        self.calendar.at(t + node.max_wait_seconds, self._max_wait, MaxWait(call, node.queue, node.after_max_wait))

    def agent_free(self, t: float, agent: Agent) -> None:
        """``agent`` is free: they take the longest-waiting call of one of their queues, or wait among the idle."""
        memberships = self.memberships.get(agent.extension)
        if not memberships:
            return
        for queue, _ in memberships:
            if queue.waiting:
                call = self._next_waiting(queue, agent)
                if call is not None:
                    self._offer(t, call, queue, queue.pick(queue, None) if queue.ring_all else (agent,))
                    return
        self._idle(t, agent)

    def _next_waiting(self, queue: QueueState, agent: Agent) -> Call | None:
        """The longest-waiting call of ``queue`` that ``agent`` has not just let ring out, removed from the queue."""
        waiting = queue.waiting
        logged_in = -1
        index = 0
        while index < len(waiting):
            call = waiting[index]
            if call.state != "queued" or call.held or call.queue != queue.id:
                del waiting[index]  # left the queue (abandoned, moved on) or being offered
                continue
            refused = call.refused
            if refused:
                if logged_in < 0:
                    logged_in = queue.logged_in()
                if agent.extension in refused and len(refused) < logged_in:
                    index += 1  # let another agent try first
                    continue
                if len(refused) >= logged_in:
                    refused.clear()  # every agent has let it ring: start over
            del waiting[index]
            return call
        return None

    def _offer(self, t: float, call: Call, queue: QueueState, agents: tuple[Agent, ...]) -> None:
        """Ring ``agents`` for ``call``; the fastest to answer takes it if they answer within the queue's ring time."""
        set_state = self.presence.set_state
        best, winner = float("inf"), agents[0]
        for agent in agents:
            set_state(agent, "offer", t)
            agent.call = call
            delay = agent.answer_delay()
            if delay < best:
                best, winner = delay, agent
        call.held = agents
        call.transition("offer")
        queue.last_offered = agents[-1].extension
        ring_seconds = queue.spec.agent_ring_seconds if queue.spec is not None else 0
        offer = Offer(call, call.token, queue, agents, winner)
        if best <= ring_seconds and t + best < call.deadline:
            self.calendar.at(t + best, self._answered, offer)
        else:
            self.calendar.at(t + min(ring_seconds, max(0.0, call.deadline - t)), self._missed, offer)

    def _answered(self, t: float, offer: Offer) -> None:
        call, winner = offer.call, offer.winner
        if call.token != offer.token:
            return
        answered = offer.queue.answered
        answered[winner.extension] = answered.get(winner.extension, 0) + 1
        self.ringing.answer(t, call, winner.extension, winner)
        if len(offer.agents) > 1:
            others = [agent for agent in offer.agents if agent is not winner and agent.state == "ringing" and agent.call is call]
            for agent in others:
                self.presence.set_state(agent, "answered_elsewhere", t)
            for agent in others:
                if agent.state == "available":
                    self.presence.free(t, agent)

    def _missed(self, t: float, offer: Offer) -> None:
        call, queue = offer.call, offer.queue
        missed = [agent for agent in offer.agents if agent.state == "ringing" and agent.call is call]
        if not missed:
            return  # the caller left first and the agents were freed (and may be ringing for other calls)
        for agent in missed:
            self.presence.set_state(agent, "miss", t)
        if call.token == offer.token and call.state == "queued":
            call.held = ()
            call.where = "waited"
            if queue.ring_all:
                queue.waiting.appendleft(call)  # the first agent freed below rings every free agent for it again
            else:
                if call.refused is None:
                    call.refused = set()
                call.refused.update(agent.extension for agent in missed)
                others = queue.pick(queue, call.refused)
                if others:
                    self._offer(t, call, queue, others)
                else:
                    queue.waiting.appendleft(call)
        for agent in missed:
            if agent.state == "available":
                self.presence.free(t, agent)

    def _max_wait(self, t: float, item: MaxWait) -> None:
        call = item.call
        if call.state != "queued" or call.queue != item.queue:
            return
        self.presence.release(t, call)
        if self.trace is not None:
            self.trace(WaitedTooLong(t=t, call=call.id, queue=item.queue))
        self.flow.run(t, call, item.after)
