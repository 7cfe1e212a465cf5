"""Call queues: callers wait for a free agent, are offered by the queue's strategy, and leave after the maximum wait.

A call that finds a free agent is offered at once; otherwise it waits, first come first
served. An agent who becomes free takes the longest-waiting call of their queues (under
ring all, that call rings every free agent). An agent who lets an offer ring out is not
offered the same call again while another logged-in agent has not had it; once all have,
it starts over. The scenario's patience runs from arrival and may end the call anywhere.

A queue's own rules (``CallQueue.join_when``, ``leave_when``, ``retry_seconds``; Asterisk's
``joinempty``, ``leavewhenempty``, ``retry``) are judged by the simulated agents: a caller
is turned away when they reach a queue none of whose agents is logged in / reachable / free
as the rule asks (routing judged it already on arrival, by the endpoint states of that
instant, which cannot tell a logged-out agent from an unreachable phone); waiting callers
leave as soon as an agent going away leaves none that the leave rule asks for (checked at
that instant, after the change); both go to the queue's ``when_no_agents`` destination. A
ring round is one offer (to one agent, or to every free one under ring all); after a round
nobody answered, the call waits ``retry_seconds`` before it is offered again, while other
callers may be served. A queue saved without the rules behaves as before them.
"""

from __future__ import annotations

import math
from collections import deque
from heapq import heappush
from typing import TYPE_CHECKING

import msgspec

from core.aggregates.services import JOIN_LEVEL, LEAVE_LEVEL
from core.routing.plan import Node
from core.routing.plan import Queue as QueueNode
from simulator.calendar import Calendar
from simulator.flow import CallFlow
from simulator.kpis import Collector
from simulator.machines import CALL_TRANSITIONS, Agent, Call
from simulator.presence import Presence
from simulator.queue_batch import ArrivalBatch
from simulator.ringing import Ringing
from simulator.strategies import QueueState, idle_in_order
from simulator.trace import Queued, QueueEmpty, Trace, WaitedTooLong

if TYPE_CHECKING:
    from core.routing import RoutingTable


ENQUEUED_FROM = frozenset(state for (state, event), new in CALL_TRANSITIONS.items() if event == "enqueue" and new == "queued")
"""The call states ``enqueue`` leads from: to ``queued``, from each of them (``machines.CALL_TRANSITIONS``)."""


class Offer(msgspec.Struct, gc=False):
    """``call`` rings ``agents`` (one, or every free one under ring all); ``winner`` answers first, if anyone does in time."""

    call: Call
    token: int
    queue: QueueState
    agents: tuple[Agent, ...]
    winner: Agent


class Retry(msgspec.Struct, gc=False):
    """The pause after a ring round nobody answered is over: offer ``call`` again (if nothing happened to it since ``token``)."""

    call: Call
    token: int
    queue: QueueState


class MaxWait(msgspec.Struct, gc=False):
    # The queue's id and the next node only, not the plan's agent list: the timer outlives most calls.
    call: Call
    queue: str
    after: Node | None


class Queues(ArrivalBatch):
    """Every queue of the tenant over the run (its batch counting of calls answered on arrival: ``ArrivalBatch``)."""

    def __init__(self, table: RoutingTable, seed: int, calendar: Calendar, presence: Presence, ringing: Ringing,
                 kpis: Collector, flow: CallFlow, trace: Trace | None) -> None:
        self.seed = seed
        self.calendar = calendar
        self.presence = presence
        self.ringing = ringing
        self.kpis = kpis
        self.flow = flow
        self.trace = trace
        # Bound once, under names of their own: the calendar is handed these for most calls; looking a method up makes a
        # new bound method each time, and an attribute that hides a method is looked up the slow way (never specialised).
        self._answered_bound = self._answered
        self._max_wait_bound = self._max_wait
        self.queues: dict[str, QueueState] = {}
        """Every queue seen so far: waiting calls and strategy memory outlive a change of the table."""
        self.memberships: dict[str, list[tuple[QueueState, int]]] = {}
        """Agent's extension → their queues and their position in each, in the table's order."""
        self.watching = False
        """A caller with a leave rule has joined: presence reports queue agents who stop being free."""
        self._start_batch()
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
            agent.kept = tuple((queue, position) for queue, position in self.memberships.get(agent.extension, ()) if queue.keeps())
        if self.watching:
            self.presence.watch_away(frozenset(self.memberships))
        for agent in agents.values():
            if agent.state == "available":
                self._idle(agent.free_since, agent)

    def _idle(self, since: float, agent: Agent) -> None:
        for queue, position in self.memberships.get(agent.extension, ()):
            idle = queue.idle
            if idle is not None:
                idle_in_order(idle, (since, position, agent))
                if len(idle) > queue.idle_limit:
                    # Entries of a free spell that is over (the agent has been freed since) can never come up valid: drop them.
                    queue.idle = deque(entry for entry in idle if entry[2].free_since == entry[0])

    def table_live(self, t: float, table: RoutingTable, changed: bool) -> None:
        """A change went live: take the new table, and let agents it put in a queue serve the calls waiting there."""
        if changed:
            self.configure(table)
        for queue in self.queues.values():
            if changed and self.watching and queue.waiting:
                self._check_soon(t, queue)  # the new table may have taken agents out of the queue
            while queue.waiting and queue.spec is not None:
                agents = queue.pick(queue, None)
                if not agents:
                    break
                call = self._next_waiting(queue, agents[0], t)
                if call is None:
                    queue.put_back(agents[0])
                    break
                self._offer(t, call, queue, agents)

    def enqueue(self, t: float, call: Call, node: QueueNode) -> None:
        """``call`` reaches a queue node: it is turned away by the join rule, offered to a free agent, or waits."""
        queue = self.queues[node.queue]
        if node.when_empty is not None and not queue.has(JOIN_LEVEL[node.join_when]):
            uncounted = self.uncounted
            if uncounted is not None:  # it does not join: its arrival is counted now, as when it came
                self.uncounted = None
                self.kpis.arrival(uncounted.arrived, uncounted.dialled)
            if self.trace is not None:
                self.trace(QueueEmpty(t=t, call=call.id, queue=node.queue, on="join"))
            self.flow.run(t, call, node.when_empty)
            return
        if call.state not in ENQUEUED_FROM:  # ``Call.transition("enqueue")``, inlined
            call.transition("enqueue")  # raises
        call.state = "queued"
        call.token += 1
        call.queue = node.queue
        call.joined = t
        call.queue_node = node
        if self.trace is not None:
            self.trace(Queued(t=t, call=call.id, queue=node.queue))
        agents = queue.pick(queue, None)
        first = not call.where  # P(wait) is decided at the call's first queue: did it find a free agent there?
        uncounted = self.uncounted
        if uncounted is None or not agents:
            if uncounted is not None:  # no agent free: it is counted now, as when it came and joined
                self.uncounted = None
                self.kpis.arrival(uncounted.arrived, uncounted.dialled)
            self.kpis.queued(call.arrived, node.queue, first, True if agents else False)
        if first:
            call.where = "queued"
        give_up = t + node.max_wait_seconds
        if agents:
            self._offer(t, call, queue, agents)
            if self.uncounted is not None:  # not answered at once: counted now, as when it came and joined
                self._count_arrival()
            if call.sure <= give_up:
                return  # answered before the maximum wait for sure: the timer would do nothing
            call.sure = math.inf  # the maximum wait may come first
        else:
            queue.waiting.append(call)
            if node.leave_when != "never":
                self._watch()
                self._check_soon(t, queue)
        # Maximum waits of one length come in the order they are scheduled: a lane of the calendar keeps them.
        self.calendar.at_lane(give_up, node.max_wait_seconds, self._max_wait_bound,
                              MaxWait(call, node.queue, node.after_max_wait))

    def _watch(self) -> None:
        """From now on, agents of queues who stop being free may make waiting callers leave: have presence say so."""
        if not self.watching:
            self.watching = True
            self.presence.on_away = self._agent_away
            self.presence.watch_away(frozenset(self.memberships))

    def _agent_away(self, t: float, agent: Agent) -> None:
        for queue, _ in self.memberships.get(agent.extension, ()):
            if queue.waiting:
                self._check_soon(t, queue)

    def _check_soon(self, t: float, queue: QueueState) -> None:
        # Later at the same instant: the change that prompted it (an offer, a log-out) completes first.
        if not queue.checking:
            queue.checking = True
            self.calendar.at(t, self._check_leave, queue)

    def _check_leave(self, t: float, queue: QueueState) -> None:
        """Waiting callers whose leave rule finds no agent it asks for leave the queue."""
        queue.checking = False
        for call in list(queue.waiting):
            node = call.queue_node
            if call.state != "queued" or call.held or call.queue != queue.id or node is None or node.leave_when == "never":
                continue
            if not queue.has(LEAVE_LEVEL[node.leave_when]):
                queue.waiting.remove(call)  # waiting, so ringing nobody
                if self.trace is not None:
                    self.trace(QueueEmpty(t=t, call=call.id, queue=queue.id, on="wait"))
                self._overflow(t, call, node.when_empty)

    def agent_free(self, t: float, agent: Agent) -> None:
        """``agent`` is free: they take the longest-waiting call of one of their queues, or wait among the idle."""
        memberships = self.memberships.get(agent.extension)
        if not memberships:
            return
        for queue, _ in memberships:
            if queue.waiting:
                call = self._next_waiting(queue, agent, t)
                if call is not None:
                    self._offer(t, call, queue, queue.pick(queue, None) if queue.ring_all else (agent,))
                    return
        for queue, position in memberships:  # ``_idle``, written out: this runs once a call
            idle = queue.idle
            if idle is not None:
                if idle and t <= idle[-1][0]:  # freed at the instant the last one was: in its place by position
                    idle_in_order(idle, (t, position, agent))
                else:  # after every other: last (``idle_in_order``, on its usual path)
                    idle.append((t, position, agent))
                if len(idle) > queue.idle_limit:  # stale entries dropped, as ``_idle`` does
                    queue.idle = deque(entry for entry in idle if entry[2].free_since == entry[0])

    def _next_waiting(self, queue: QueueState, agent: Agent, t: float) -> Call | None:
        """The longest-waiting call of ``queue`` that ``agent`` has not just let ring out and that is not pausing
        between ring rounds, removed from the queue."""
        waiting = queue.waiting
        logged_in = -1
        index = 0
        while index < len(waiting):
            call = waiting[index]
            if call.state != "queued" or call.held or call.queue != queue.id:
                del waiting[index]  # left the queue (abandoned, moved on) or being offered
                continue
            if call.retry_at > t:
                index += 1  # pausing after a ring round nobody answered
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
        presence = self.presence
        if len(agents) == 1:
            winner = agents[0]
            if presence.quiet and winner.state == "available" and not winner.kept:
                # ``set_state(winner, "offer", t)`` when nothing watches, for an agent in no queue that keeps its free
                # agents: ringing, which routing sees as busy.
                winner.state = "ringing"
                presence.states[winner.extension] = "busy"
            else:
                presence.set_state(winner, "offer", t)
            winner.call = call
            best = winner.fixed_delay
            if best is None:
                best = winner.answer_delay()
        else:
            best, winner = math.inf, agents[0]
            set_state = presence.set_state
            for agent in agents:
                set_state(agent, "offer", t)
                agent.call = call
                delay = agent.answer_delay()
                if delay < best:
                    best, winner = delay, agent
        call.held = agents
        if call.state != "queued":
            call.transition("offer")  # raises: only a queued call is offered
        token = call.token = call.token + 1  # ``Call.transition("offer")``, inlined: queued stays queued
        queue.last_offered = agents[-1].extension
        ring_seconds = queue.ring_seconds
        answer = t + best
        if best <= ring_seconds and answer < call.deadline:
            # Nothing but the call's own timers can take it from the agent before then: the answer comes for sure,
            # unless the queue's maximum wait comes first (``enqueue`` looks).
            call.sure = answer
            calendar = self.calendar
            if calendar.arriving and calendar.ahead(answer):
                # The answer runs now, in the arrival's event, as the event it would be (``Calendar.ahead``).
                counted = True
                if self.uncounted is call:  # a plain run's call that has just come: counted in the batch, if it can be
                    counted = len(agents) > 1 or not self._in_batch(call)
                    if counted:
                        self._count_arrival()
                if len(agents) == 1:  # ``_answered``, written out: the one agent rung answers
                    answered = queue.answered
                    extension = winner.extension
                    try:
                        answered[extension] += 1
                    except KeyError:
                        answered[extension] = 1
                    self.ringing.answer(answer, call, extension, winner, "agent", counted)
                else:
                    self._answered(answer, Offer(call, token, queue, agents, winner))
                return
            offer = Offer(call, token, queue, agents, winner)
            seq = calendar.seq = calendar.seq + 1  # ``Calendar.at``, written out: this runs once a call
            if answer == calendar.now:
                calendar.soon.append((seq, self._answered_bound, offer))
            else:
                heappush(calendar.heap, (answer, seq, self._answered_bound, offer))
        else:
            offer = Offer(call, token, queue, agents, winner)
            call.sure = math.inf
            # Rings out after the ring time, or when the caller hangs up: at the deadline itself, which a sum
            # ``t + (deadline - t)`` can miss by a rounding (the ring would then end just before the caller's patience).
            self.calendar.at(min(t + ring_seconds, max(t, call.deadline)), self._missed, offer)

    def _answered(self, t: float, offer: Offer) -> None:
        call, winner = offer.call, offer.winner
        if call.token != offer.token:
            return
        answered = offer.queue.answered
        extension = winner.extension
        try:  # indexing, not ``get``: the cheaper once the agent has answered a call of the queue
            answered[extension] += 1
        except KeyError:
            answered[extension] = 1
        self.ringing.answer(t, call, extension, winner, "agent")
        if len(offer.agents) > 1:
            others = [agent for agent in offer.agents if agent is not winner and agent.state == "ringing" and agent.call is call]
            for agent in others:
                self.presence.set_state(agent, "answered_elsewhere", t)
            for agent in others:
                if agent.state == "available":
                    self.presence.free(t, agent)

    def _missed(self, t: float, offer: Offer) -> None:
        call, queue = offer.call, offer.queue
        if call.token != offer.token:
            # The call moved on first (the caller left, the maximum wait came): its agents were freed then, and may be
            # ringing for other calls, or for this one again in a later offer (which its own timer ends).
            return
        missed = [agent for agent in offer.agents if agent.state == "ringing" and agent.call is call]
        if not missed:
            return
        for agent in missed:
            self.presence.set_state(agent, "miss", t)
        if call.state == "queued":
            call.held = ()
            retry = call.queue_node.retry_seconds if call.queue_node is not None else 0
            if queue.ring_all:
                queue.waiting.appendleft(call)  # the first agent freed below rings every free agent for it again
            else:
                if call.refused is None:
                    call.refused = set()
                call.refused.update(agent.extension for agent in missed)
                others = queue.pick(queue, call.refused) if not retry else ()
                if others:
                    self._offer(t, call, queue, others)
                else:
                    queue.waiting.appendleft(call)
            if retry:
                call.retry_at = t + retry
                self.calendar.at(t + retry, self._retry, Retry(call, call.token, queue))
        for agent in missed:
            if agent.state == "available":
                self.presence.free(t, agent)

    def _retry(self, t: float, item: Retry) -> None:
        """The pause is over: the call is offered to whom its queue's strategy picks, else waits first in line."""
        call, queue = item.call, item.queue
        if call.token != item.token or call.state != "queued" or call.held or call.queue != queue.id:
            return
        refused = call.refused
        if refused and len(refused) >= queue.logged_in():
            refused.clear()  # every agent has let it ring: start over
        agents = queue.pick(queue, None if queue.ring_all else refused)
        if agents:
            queue.waiting.remove(call)
            self._offer(t, call, queue, agents)

    def _max_wait(self, t: float, item: MaxWait) -> None:
        call = item.call
        if call.state != "queued" or call.queue != item.queue:
            return
        self.presence.release(t, call)
        if self.trace is not None:
            self.trace(WaitedTooLong(t=t, call=call.id, queue=item.queue))
        self._overflow(t, call, item.after)

    def _overflow(self, t: float, call: Call, then: Node | None) -> None:
        """``call`` (ringing nobody) leaves its queue unanswered for ``then``: its wait is measured once, at the first
        queue it leaves."""
        if call.where != "overflowed":
            call.where = "overflowed"
            self.kpis.overflowed(t, call.arrived)
        self.flow.run(t, call, then)
