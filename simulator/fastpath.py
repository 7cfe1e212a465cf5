"""The fast path: a call centre whose every call waits in one first-come-first-served queue, without the calendar.

When every call's plan is a queue whose decisions depend neither on the time nor on the endpoints' states (the plan
is the same for every call of a number, nobody logs in or out, the table never changes, an agent always answers
within the ring time), the general engine only ever does one thing: the longest-waiting caller gets the agent who
becomes free first, unless their patience or the queue's maximum wait ends first. That is the multi-server FIFO
recursion (Kiefer and Wolfowitz's workload vector, with abandonment): calls are taken in order of arrival, and each
one's wait follows from when each agent is next free, with no event calendar at all.

The run is the same run, not an approximation of it:

- every random draw comes from the same stream in the same order (arrivals and callers per process, patience per
  call in arrival order, answer delay and talk time per agent in the order of that agent's calls, the ``random``
  strategy's stream per queue), and every instant is computed by the same floating-point operations;
- which agent takes a call follows the queue's strategy exactly as ``strategies.py`` picks among the free agents,
  and the agent freed first takes a waiting caller, as ``Queues.agent_free`` does;
- what the figures see goes through the same code: the switch's ``Collector`` gets the same calls with the same
  arguments in the same order (outcomes are put in time order through a small heap of pending effects, since a
  later caller may hang up before an earlier one is answered), but for the answered calls of a plain run (no
  recorded calls, no warm-up), which it counts in batches (``Collector.answered_on_arrival``, ``answered_later``),
  and whose waits, if any, go in one by one in the answers' order (``answer_wait``: sums of floats depend on their
  order); finished calls are recorded by ``Switch.finish``;
- the calendar's own figures (``Kpis.events``, the simulated time) are those of the general engine: its events are
  counted as it would run them (timers that come after the run is over are not).

``prepare`` (``fastpath_eligibility.py``) says whether a run may take the fast path (``FastPath``) or why not (a
sentence); ``run_scenario`` takes it on its own when it may, and the result names the engine that ran. Its state per
queue and per number is in ``fastpath_queues.py``. A test runs random eligible scenarios through both engines and
compares every figure and every recorded call.
"""

from __future__ import annotations

import math
from heapq import heappop, heappush
from typing import TYPE_CHECKING, Any

from core.routing.plan import BusyTone, HopLimit, Message, Missed, Queue, Unavailable, Voicemail
from simulator.machines import Call

if TYPE_CHECKING:
    from simulator.fastpath_queues import _Line, _Number
    from simulator.switch import Switch

ENDINGS: dict[type, str] = {Voicemail: "voicemail", Message: "message", BusyTone: "busy", Unavailable: "unavailable",
                            Missed: "missed", HopLimit: "missed", type(None): "missed"}
"""Where a caller may go after the queue's maximum wait, on the fast path: an ending (``Switch.run``'s outcomes)."""

# Pending effects, in time order (then the order they were found in, which is the order of cause and effect).
_ANSWER, _HANG_UP, _LEAVE, _OFFER, _FREE, _WARM_UP, _WAITS = range(7)


class FastPath:
    """An eligible run, computed call by call in order of arrival; ``run`` is the calendar's ``run`` for the driver."""

    def __init__(self, switch: Switch, numbers: list[_Number], firsts: list[float], lines: dict[str, _Line],
                 warm: list[tuple[float, Any, Any]]) -> None:
        self.switch = switch
        self.kpis = switch.kpis
        self.numbers = numbers
        self.lines = lines
        self.records = switch.calls_out is not None
        """Finished calls are recorded (``--calls``), with the endpoint states on arrival: every effect in time order."""
        self.watch = switch.watch
        self.ordered = self.records or bool(warm)
        """Agent figures change in time order too (the warm-up takes them at an instant)."""
        self.states = switch.presence.states
        # Pending arrivals: (instant, order scheduled, process index), as the calendar orders them.
        self.next: list[tuple[float, int, int]] = [(t, i, i) for i, t in enumerate(firsts)]
        self.scheduled = len(firsts)
        self.effects: list[tuple[Any, ...]] = []
        """Pending effects: (instant, order found, kind, four arguments); the order found is that of cause and effect."""
        self.seq = 0
        for t, action, arg in warm:
            self._effect(t, _WARM_UP, action, arg, None, None)
        self.ran = 0
        """Events the general engine runs for sure (the log-ins already ran on the calendar)."""
        self.maybe: list[float] = []
        """Instants of stale timers, which the general engine runs only if the run goes on past them (some event comes
        later): those before ``end`` are counted and dropped by ``_stale``, when the list grows long and at the close."""
        self.maybe_limit = 1024
        """The length of ``maybe`` past which the loop hands it to ``_stale``."""
        self.end = 0.0
        """The latest instant an event certainly runs at: the end of the run, once every call is done."""
        self.now = 0.0
        self.arrived = 0
        self.max_calls = switch.scenario.max_calls
        self.duration = switch.scenario.duration_seconds
        self.patience = switch.patience
        self.finish = switch.finish

    # -- the driver's view -------------------------------------------------------------------------------------------

    def run(self, budget: int) -> bool:
        """Take at most ``budget`` arrivals (the calendar's ``Arrivals._poisson``); ``False`` once the run is over.

        The loop keeps the counters in locals (``ran``, ``end``, ``arrived``) and hands them back to the attributes
        around every call of a helper that reads or changes them. What it reads of a call's number, queue node and line
        it keeps in locals too, read again only when a call's number or node is not the last call's (never, in the
        commonest run: one number whose calls all join one queue).

        A plain run's answered calls, nearly all of them, go to the figures in batches (``_hand_in``): ``batch`` calls
        answered on arrival and ``later`` ones answered after it, of the last call's number and queue, arrived in hour
        ``batch_hour``, handed in once a call of another number, node or hour comes, and when the loop stops; the wait of
        each ``later`` one is a pending effect (``_WAITS``), handed in at its answer."""
        pending, effects, numbers, lines = self.next, self.effects, self.numbers, self.lines
        kpis = self.kpis
        arrival, queued, answer_wait = kpis.arrival, kpis.queued, kpis.answer_wait
        patience, records, plain, watch = self.patience, self.records, not self.ordered, self.watch
        max_calls = self.max_calls if self.max_calls is not None else math.inf
        duration = self.duration if self.duration is not None else math.inf
        inf, log = math.inf, math.log
        patience_draw, patience_rate = getattr(patience, "parts", (None, 1.0))
        single = len(pending) == 1 and len(numbers) == 1
        maybe = self.maybe
        ran, end, arrived = self.ran, self.end, self.arrived
        t = self.now
        # One process: its next arrival in ``coming`` (``inf``: none), its heap of one written back when the loop stops.
        coming = pending[0][0] if single else inf
        index = 0
        number: Any = None  # the last call's number and queue node, whose fields are in the locals below
        node: Any = None
        dialled = line_id = ""
        batch, batch_hour, batch_end = 0, 0, -1.0  # ``batch_end``: where the hour ends (the collector's ``t // 3600``)
        later = later_waited = 0  # the batch's calls answered after arriving, and those of them that found no agent free
        line_waits = None
        try:
            for _ in range(budget):
                if single:
                    due = coming
                elif pending:
                    due, _, index = heappop(pending)
                else:
                    due = inf
                if due == inf:  # no call comes any more
                    self.ran, self.end, self.arrived = ran, end, arrived
                    self._close()
                    return False
                t = due
                ran += 1
                if t > end:
                    end = t
                if t >= duration or arrived >= max_calls:
                    if single:
                        coming = inf
                    continue  # the process ends here
                if numbers[index] is not number:
                    if batch or later:
                        self._hand_in(batch, later, later_waited, batch_hour, dialled, line_id)
                        batch = later = later_waited = 0
                    number = numbers[index]
                    process, dialled, callers, flat = number.process, number.dialled, number.callers, number.flat
                    one_node, next_draw, peak = number.single, process.rng.random, process.peak
                    caller = digits = None
                if callers:
                    caller, digits = process.caller()
                arrived += 1
                while effects and effects[0][0] <= t:  # ``_flush``: a plain run's answers written out, the rest there
                    if effects[0][2] != _WAITS:
                        self.ran = ran
                        self._flush(t)
                        ran = self.ran
                        break
                    _, _, _, wait, hour, waits, _ = heappop(effects)
                    answer_wait(wait, hour, waits)
                # ``Switch.arrive``: the caller's patience, the figures, the plan; then ``Queues.enqueue``.
                waits = -log(1.0 - patience_draw()) / patience_rate if patience_draw is not None else patience()
                deadline = t + waits  # inf when the caller never hangs up
                if records:
                    call: Any = Call(arrived, dialled, caller, digits, t, waits)
                    call.ring_states = dict(self.states)
                else:
                    call = None  # an unrecorded call is made only where it is kept: (its id, its arrival)
                here = one_node if one_node is not None else number.nodes[caller is None, digits]
                if here is not node:
                    if batch or later:
                        self._hand_in(batch, later, later_waited, batch_hour, dialled, line_id)
                        batch = later = later_waited = 0
                    node = here
                    line = lines[node.queue]
                    line_id, busy, free, ready, agents, counts, wrap = (line.id, line.busy, line.free, line.ready, line.agents,
                                                                        line.answered, line.wrap)
                    longest, constants, talk_parts, max_wait = (line.strategy == "longest_idle", line.constant_delays,
                                                                line.talk_parts, node.max_wait_seconds)
                    if plain:
                        line_waits = kpis.waits_of(line_id)
                if longest:  # ``_Line.release``, written out for the common strategy
                    while busy and busy[0][0] <= t:
                        position = heappop(busy)[1]
                        if ready[position]:
                            ran += 1  # the end of a wrap-up (the event ``_Line.release`` counts in ``readies``)
                        free.append(position)
                elif busy and busy[0][0] <= t:
                    line.release(t)
                give_up = t + max_wait
                waited = not free
                # ``Switch.arrive``'s and ``Queues.enqueue``'s figures are counted in each branch below (in the batch for a
                # call answered on arrival). The agent free first takes a waiting caller, unless the caller or the maximum
                # wait goes first.
                if waited and not (busy and busy[0][0] < deadline and busy[0][0] < give_up):
                    arrival(t, dialled)
                    queued(t, line_id, True, False)
                    self.ran, self.end = ran, end
                    self._leave(call or (arrived, t), number, line, node, t, deadline, give_up)
                    ran, end = self.ran, self.end
                else:
                    if waited:
                        start, position = heappop(busy)
                        if ready[position]:
                            ran += 1  # the wrap-up's end that frees the agent
                    else:
                        start, position = t, (free.popleft() if longest else line.pick())
                    answer = start + (constants[position] if constants is not None else line.delays[position]())
                    if plain and answer < deadline and (answer < give_up if waited else answer <= give_up):
                        # ``_serve``'s answer, written out: the run of nearly every call of a call centre.
                        agent = agents[position]
                        ran += 2  # the answer and the hang-up
                        if waited:  # the caller's patience and maximum-wait timers are on the calendar, and run stale
                            if deadline != inf:
                                maybe.append(deadline)
                            maybe.append(give_up)
                            if len(maybe) > self.maybe_limit:
                                ran += self._stale(end)
                        if not longest:  # what only round robin (the last offered) and fewest calls read
                            line.last = position
                            counts[position] += 1
                        if talk_parts is not None:
                            talk_draw, talk_rate = talk_parts[position]
                            talk = -log(1.0 - talk_draw()) / talk_rate
                        else:
                            talk = line.talks[position]()
                        if t >= batch_end:  # arrivals come in time order: this one's hour is the batch's or later
                            if batch or later:
                                self._hand_in(batch, later, later_waited, batch_hour, dialled, line_id)
                                batch = later = later_waited = 0
                            batch_hour = int(t // 3600)
                            batch_end = (batch_hour + 1) * 3600.0
                        # A plain run has no warm-up: the call counts, in the batch.
                        if answer <= t:  # at once; nothing is due before (what was, ran above; a plain run adds no effect)
                            batch += 1
                        else:  # its wait goes to the figures at the answer, in the answers' order (``_WAITS``)
                            later += 1
                            if waited:
                                later_waited += 1
                            self.seq = seq = self.seq + 1  # ``_effect``, written out
                            heappush(effects, (answer, seq, _WAITS, answer - t, batch_hour, line_waits, None))
                        hang_up = answer + talk
                        agent.answered += 1
                        agent.busy_seconds += (hang_up - answer) + wrap
                        if watch:
                            self._watched((arrived, t), "answered", agent.extension)
                        if hang_up > end:
                            end = hang_up
                        ready[position] = True
                        heappush(busy, (hang_up + wrap, position))
                    else:
                        arrival(t, dialled)
                        queued(t, line_id, True, not waited)
                        self.ran, self.end = ran, end
                        self._serve(start, answer, call or (arrived, t), number, line, node, position, t, deadline, give_up,
                                    not waited)
                        ran, end = self.ran, self.end
                if flat:  # ``PoissonProcess.next_after`` of a flat process: ``Random.expovariate`` written out
                    following = t + -log(1.0 - next_draw()) / peak
                else:
                    following = process.next_after(t)
                if single:
                    coming = following if arrived < max_calls and following < duration else inf
                elif arrived < max_calls and following < duration and following != inf:
                    heappush(pending, (following, self.scheduled, index))
                    self.scheduled += 1
        finally:
            if batch or later:
                self._hand_in(batch, later, later_waited, batch_hour, dialled, line_id)
            self.ran, self.end, self.arrived, self.now = ran, end, arrived, t
            if single:
                pending[:] = [(coming, 0, 0)] if coming != inf else []
        self.switch.arrivals.arrived = arrived
        self.switch.calendar.now = t
        return True

    # -- one call ----------------------------------------------------------------------------------------------------

    def _hand_in(self, at_once: int, later: int, waited: int, hour: int, number: str, queue: str) -> None:
        """A plain run's batch of answered calls of one hour, number and queue to the figures: ``at_once`` answered on
        arrival, ``later`` after it (``waited`` of which found no agent free), whose waits go in one by one."""
        if at_once:
            self.kpis.answered_on_arrival(at_once, hour, number, queue)
        if later:
            self.kpis.answered_later(later, waited, hour, number, queue)

    def _effect(self, t: float, kind: int, a: Any, b: Any, c: Any, d: Any) -> None:
        self.seq += 1
        heappush(self.effects, (t, self.seq, kind, a, b, c, d))

    def _flush(self, until: float) -> None:
        """Carry out the pending effects up to ``until`` (inclusive), in time order."""
        effects = self.effects
        kpis = self.kpis
        records = self.records
        while effects and effects[0][0] <= until:
            t, _, kind, a, b, c, d = heappop(effects)
            if kind == _WAITS:  # (wait, hour of arrival, queue's waits, -): a plain run's answer, counted in a batch
                kpis.answer_wait(a, b, c)
            elif kind == _ANSWER:  # (call, number, line, agent)
                if self.ordered:
                    d.answered += 1
                arrived = a.arrived if records else a[1]
                kpis.answered(t, arrived, b.dialled, c.id, None, "agent", arrived)  # joined the queue on arrival
            elif kind == _HANG_UP:  # (call, agent, busy seconds, -)
                b.busy_seconds += c
                if records:
                    self.finish(t, a, "answered", b.extension)
            elif kind == _LEAVE:  # (call, number, line, (outcome, endpoint))
                arrived = a.arrived if records else a[1]
                outcome, endpoint = d
                if outcome == "abandoned_queue":
                    kpis.abandoned(t, arrived, b.dialled, "queue", c.id, None, arrived)
                else:
                    kpis.overflowed(t, arrived)
                    kpis.ended(t, arrived, outcome, b.dialled, c.id, None, arrived)
                if records:
                    self.finish(t, a, outcome, endpoint)
            elif kind == _OFFER:
                self.states[a] = "busy"
            elif kind == _FREE:
                self.states.pop(a, None)
            else:  # the warm-up: an event of the calendar
                self.ran += 1
                a(t, b)

    def _serve(self, s: float, answer: float, call: Any, number: _Number, line: _Line, node: Queue, position: int, t: float,
               deadline: float, give_up: float, at_once: bool) -> None:
        """``Queues._offer`` at ``s`` to the agent at ``position`` (who would answer at ``answer``), and the answer (or the
        caller's leaving while it rings)."""
        agent = line.agents[position]
        line.last = position
        records = self.records
        if records:
            self._effect(s, _OFFER, line.extensions[position], None, None, None)
        if answer < deadline and (answer <= give_up if at_once else answer < give_up):
            self.ran += 2  # the answer and the hang-up
            if not at_once:  # a waiting caller's patience and maximum-wait timers are on the calendar, and run stale
                self._timer(deadline)
                self._timer(give_up)
            line.answered[position] += 1
            if line.talk_parts is not None:
                talk_draw, talk_rate = line.talk_parts[position]
                talk = -math.log(1.0 - talk_draw()) / talk_rate
            else:
                talk = line.talks[position]()
            effects = self.effects
            if answer <= t and (not effects or effects[0][0] > answer):  # answered at once, and nothing else is due first
                if self.ordered:
                    agent.answered += 1
                self.kpis.answered(answer, t, number.dialled, line.id, None, "agent", t)
            else:
                self._effect(answer, _ANSWER, call, number, line, agent)
            hang_up = answer + talk
            busy = (hang_up - answer) + line.wrap
            if self.ordered:
                self._effect(hang_up, _HANG_UP, call, agent, busy, None)
            else:
                agent.answered += 1
                agent.busy_seconds += busy
            if self.watch and not records:
                self._watched(call, "answered", agent.extension)
            if hang_up > self.end:
                self.end = hang_up
            ready = hang_up + line.wrap
            line.ready[position] = True
            if records:
                self._effect(ready, _FREE, line.extensions[position], None, None, None)
            heappush(line.busy, (ready, position))
            return
        # The caller leaves while it rings: patience (its timer first at one instant) or the maximum wait takes the call.
        if answer < deadline:
            self._timer(answer)  # the answer was scheduled, and comes after the maximum wait took the call
        else:
            self._timer(min(s + line.ring, max(s, deadline)))  # ``Queues._offer``'s ring-out timer
        gone = self._leave(call, number, line, node, t, deadline, give_up)
        line.ready[position] = False  # freed by the caller's leaving, not by an event of its own
        if records:
            self._effect(gone, _FREE, line.extensions[position], None, None, None)
        heappush(line.busy, (gone, position))

    def _leave(self, call: Any, number: _Number, line: _Line, node: Queue, t: float, deadline: float, give_up: float) -> float:
        """The caller leaves unanswered: abandons at the deadline, or goes on after the maximum wait (patience first).

        Both timers are on the calendar: the one that takes the call runs for sure, the other runs stale if the run
        lasts until then."""
        if deadline <= give_up:
            at, outcome, endpoint, other = deadline, "abandoned_queue", None, give_up
        else:
            after = node.after_max_wait
            at, outcome, other = give_up, ENDINGS[type(after)], deadline
            endpoint = after.box if isinstance(after, Voicemail) else None
        self.ran += 1
        self._timer(other)
        self._effect(at, _LEAVE, call, number, line, (outcome, endpoint))
        if self.watch and not self.records:
            self._watched(call, outcome, endpoint)
        if at > self.end:
            self.end = at
        return at

    def _watched(self, call: Any, outcome: str, endpoint: str | None) -> None:
        """``Switch.finish`` for a call an assertion names, when finished calls are not recorded."""
        label = str(call[0])
        if label in self.watch:
            self.switch.outcomes[label] = (outcome, endpoint)

    # -- the calendar's count of events ------------------------------------------------------------------------------

    def _timer(self, at: float) -> None:
        """A stale timer at ``at`` (``inf``: never runs), kept in ``maybe``."""
        if at != math.inf:
            self.maybe.append(at)
            if len(self.maybe) > self.maybe_limit:
                self.ran += self._stale(self.end)

    def _stale(self, end: float) -> int:
        """How many stale timers come before ``end``, dropped from ``maybe``: the run goes on past them for sure (it does
        until its end, which only grows), and they are counted as the general engine runs them. The others are kept."""
        maybe = self.maybe
        before = len(maybe)
        maybe[:] = [at for at in maybe if at >= end]
        self.maybe_limit = max(1024, 2 * len(maybe))  # a long list of later timers is gone through seldom
        return before - len(maybe)

    def _close(self) -> None:
        """No call comes any more: carry out what is pending, and hand the switch the calendar's figures."""
        end = self.end
        self._flush(end)
        self.ran += self._stale(end)
        for line in self.lines.values():  # wrap-ups that end before the run does
            self.ran += line.readies + sum(1 for ready, position in line.busy if line.ready[position] and ready < end)
        calendar = self.switch.calendar
        calendar.now = end
        calendar.events += self.ran
        calendar.over = True
        switch = self.switch
        switch.arrivals.arrived = self.arrived
        switch.arrivals.open = 0
        switch.active = 0
