"""The general engine's shortcuts change nothing but its speed: the calendar's FIFO of same-instant events runs exactly
the heap's order, the queues' kept sets of free agents pick whom the scans picked, the inlined transitions are the
tables', and a queue of 2,000 agents runs."""

from __future__ import annotations

import io
from collections.abc import Callable
from heapq import heappop, heappush
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import simulator.strategies as strategies
from simulator.calendar import Calendar
from simulator.machines import AGENT_TRANSITIONS, CALL_TRANSITIONS, Agent, Call
from simulator.run import run_scenario
from simulator.scenario import Scenario
from tests.simulator.builders import NUMBER, TENANT, add_user, create_tenant, exponential, fixed, route_number, scenario

# -- the calendar ---------------------------------------------------------------------------------------------------


class HeapCalendar:
    """The calendar as it was: one heap of (time, sequence, action, argument)."""

    def __init__(self) -> None:
        self.heap: list[tuple[float, int, Callable[[float, Any], None], Any]] = []
        self.seq = 0

    def at(self, t: float, action: Callable[[float, Any], None], arg: Any) -> None:
        self.seq += 1
        heappush(self.heap, (t, self.seq, action, arg))

    def reserve(self) -> int:
        self.seq += 1
        return self.seq

    def at_reserved(self, t: float, seq: int, action: Callable[[float, Any], None], arg: Any) -> None:
        heappush(self.heap, (t, seq, action, arg))

    def run(self, budget: int) -> bool:
        for _ in range(budget):
            if not self.heap:
                return False
            t, _, action, arg = heappop(self.heap)
            action(t, arg)
        return True


def started(calendar: Any, action: Callable[[float, int], None], ran: list[tuple[float, int]]) -> list[tuple[float, int]]:
    """Four first events (three at 0, one at 1) that each schedule more, run in small batches to the end: what ran."""
    for start in (0.0, 0.0, 1.0, 0.0):
        calendar.at(start, action, len(ran))
    while calendar.run(7):
        pass
    return ran


def replay(calendar: Any, plan: list[list[tuple[float, bool]]]) -> list[tuple[float, int]]:
    """Run events that each schedule more (delays from ``plan``, some zero, some with a reserved sequence)."""
    ran: list[tuple[float, int]] = []

    def action(t: float, index: int) -> None:
        ran.append((t, index))
        for delay, reserved in plan[index % len(plan)]:
            child = len(ran) * 10 + len(plan[index % len(plan)])
            if len(ran) > 300:
                return
            if reserved:
                seq = calendar.reserve()
                calendar.at_reserved(t + delay, seq, action, child)
            else:
                calendar.at(t + delay, action, child)

    return started(calendar, action, ran)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.tuples(st.sampled_from([0.0, 0.0, 0.5, 1.0, 2.0]), st.booleans()), max_size=3), min_size=1, max_size=6))
def test_same_instant_events_run_in_the_heaps_order(plan: list[list[tuple[float, bool]]]) -> None:
    assert replay(Calendar(), plan) == replay(HeapCalendar(), plan)


def replay_lanes(calendar: Any, plan: list[list[tuple[float, int]]]) -> list[tuple[float, int]]:
    """Events that each schedule more: ``(delay, how)``: ``at`` (0), ``at_lane`` keyed by the delay (1), or by one key
    for every delay (2: timers that come out of order, which the lane must leave to the heap)."""
    ran: list[tuple[float, int]] = []

    def action(t: float, index: int) -> None:
        ran.append((t, index))
        steps = plan[index % len(plan)]
        for delay, how in steps:
            child = len(ran) * 10 + len(steps)
            if len(ran) > 300:
                return
            if how and hasattr(calendar, "at_lane"):
                calendar.at_lane(t + delay, delay if how == 1 else "one", action, child)
            else:
                calendar.at(t + delay, action, child)

    return started(calendar, action, ran)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.tuples(st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.0]), st.sampled_from([0, 1, 2])), max_size=3),
                min_size=1, max_size=6))
def test_timers_in_lanes_run_in_the_heaps_order(plan: list[list[tuple[float, int]]]) -> None:
    assert replay_lanes(Calendar(), plan) == replay_lanes(HeapCalendar(), plan)


def replay_arrivals(calendar: Any, plan: list[tuple[float, float, float]]) -> list[tuple[float, str, int]]:
    """Arrivals as ``Arrivals._poisson`` makes them, their answers due at once run ahead when ``Calendar.ahead`` allows
    (``Queues._offer``): each ``(gap, talk, other)`` of ``plan`` is an arrival, the gap to the next one, the talk of its
    answer (whose hang-up schedules an event ``other`` later); ties of instants on purpose."""
    ran: list[tuple[float, str, int]] = []

    def other(t: float, index: int) -> None:
        ran.append((t, "other", index))

    def hang_up(t: float, index: int) -> None:
        ran.append((t, "hang_up", index))
        calendar.at(t + plan[index][2], other, index)

    def answer(t: float, index: int) -> None:
        ran.append((t, "answer", index))
        calendar.at(t + plan[index][1], hang_up, index)

    def arrival(t: float, index: int) -> None:
        ran.append((t, "arrival", index))
        ahead = getattr(calendar, "ahead", None)
        if ahead is not None:
            calendar.arriving = True
        if ahead is not None and ahead(t):
            answer(t, index)
        else:
            calendar.at(t, answer, index)
        if ahead is not None:
            calendar.arriving = False
        held = getattr(calendar, "held", 0)
        if index + 1 < len(plan):
            if held:
                heappush(calendar.heap, (t + plan[index][0], held, arrival, index + 1))
            else:
                calendar.at(t + plan[index][0], arrival, index + 1)
        if held:
            calendar.held = 0

    calendar.at(0.0, arrival, 0)
    calendar.at(1.0, other, -1)
    while calendar.run(5):
        pass
    return ran


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([0.0, 1.0, 2.0]), st.sampled_from([0.0, 1.0, 2.0, 3.0]),
                          st.sampled_from([0.0, 1.0])), min_size=1, max_size=12))
def test_answers_run_ahead_in_the_heaps_order(plan: list[tuple[float, float, float]]) -> None:
    assert replay_arrivals(Calendar(), plan) == replay_arrivals(HeapCalendar(), plan)


def test_an_answer_runs_ahead_only_when_nothing_else_is_due_now() -> None:
    calendar = Calendar()
    assert not calendar.ahead(0.0)  # no arrival's event is running
    calendar.arriving = True
    calendar.at(0.0, lambda t, arg: None, None)
    assert not calendar.ahead(0.0)  # something waits beside the heap
    calendar.soon.clear()
    calendar.at(0.0 + 1.0, lambda t, arg: None, None)
    assert not calendar.ahead(1.0)  # not due now
    assert calendar.ahead(0.0) and (calendar.seq, calendar.held, calendar.events) == (4, 4, 1) and not calendar.arriving
    assert not calendar.ahead(0.0)  # one answer a time


# -- the state machines ---------------------------------------------------------------------------------------------


def test_the_transitions_inlined_on_the_hot_path_are_the_tables() -> None:
    # Queues._offer, Ringing.answer and Ringing._hang_up change a call's state without Call.transition.
    assert {state for (state, event) in CALL_TRANSITIONS if event == "offer"} == {"queued"}
    assert CALL_TRANSITIONS["queued", "offer"] == "queued"
    assert {state for (state, event) in CALL_TRANSITIONS if event == "answer"} == {"queued", "ringing"}
    assert {CALL_TRANSITIONS[state, "answer"] for state in ("queued", "ringing")} == {"talking"}
    assert {(state, new) for (state, event), new in CALL_TRANSITIONS.items() if event == "hang_up"} == {("talking", "ended")}
    assert all(new == "queued" for (_, event), new in CALL_TRANSITIONS.items() if event == "enqueue")
    call = Call(1, NUMBER, None, None, 0.0, 10.0)
    with pytest.raises(Exception, match="'offer' in state 'arrived'"):
        call.transition("offer")
    assert ("available", "answer") not in AGENT_TRANSITIONS
    agent = Agent("2001")
    agent.transition("log_in")
    with pytest.raises(Exception, match="'answer' in state 'available'"):
        agent.transition("answer")


# -- strategies: kept sets of free agents against the scans they replace --------------------------------------------


def _free(agent: Agent, exclude: set[str] | None) -> bool:
    return agent.state == "available" and not agent.leaving and not (exclude and agent.extension in exclude)


def scan_ring_all(queue: Any, exclude: set[str] | None) -> tuple[Agent, ...]:
    return tuple(agent for agent in queue.agents if _free(agent, exclude))


def scan_round_robin(queue: Any, exclude: set[str] | None) -> tuple[Agent, ...]:
    agents = queue.agents
    last = queue.index.get(queue.last_offered) if queue.last_offered is not None else None
    start = 0 if last is None else last + 1
    for step in range(len(agents)):
        agent = agents[(start + step) % len(agents)]
        if _free(agent, exclude):
            return (agent,)
    return ()


def scan_sequential(queue: Any, exclude: set[str] | None) -> tuple[Agent, ...]:
    return next(((agent,) for agent in queue.agents if _free(agent, exclude)), ())


def scan_random(queue: Any, exclude: set[str] | None) -> tuple[Agent, ...]:
    free = [agent for agent in queue.agents if _free(agent, exclude)]
    return (free[queue.draw(len(free))],) if free else ()


def scan_fewest_calls(queue: Any, exclude: set[str] | None) -> tuple[Agent, ...]:
    best, fewest = None, 0
    for agent in queue.agents:
        if _free(agent, exclude):
            calls = queue.answered.get(agent.extension, 0)
            if best is None or calls < fewest:
                best, fewest = agent, calls
    return (best,) if best is not None else ()


SCANS = {"ring_all": scan_ring_all, "round_robin": scan_round_robin, "sequential": scan_sequential, "random": scan_random,
         "fewest_calls": scan_fewest_calls}


def shared_queues(strategy: str, other: str, seed: int) -> Scenario:
    """Two queues sharing agents (one with a ring time agents often miss), overflow from one into the other, presence
    changes: every way an agent stops and starts being free."""
    agents = [str(3000 + i) for i in range(6)]
    commands = [create_tenant(), *(add_user(e) for e in [*agents, "2100"]),
                {"command": "save_queue", "tenant": TENANT, "queue": "b",
                 "spec": {"name": "B", "agents": agents[2:], "strategy": other, "agent_ring_seconds": 20, "wrap_up_seconds": 5}},
                {"command": "save_queue", "tenant": TENANT, "queue": "a",
                 "spec": {"name": "A", "agents": agents, "strategy": strategy, "agent_ring_seconds": 5, "wrap_up_seconds": 0,
                          "max_wait_seconds": 30, "after_max_wait": {"kind": "queue", "queue": "b"}}},
                route_number(NUMBER, {"kind": "queue", "queue": "a"}),
                route_number("+46812345601", {"kind": "queue", "queue": "b"})]
    return scenario(commands, [{"kind": "poisson", "to": NUMBER, "rate_per_hour": 150},
                               {"kind": "poisson", "to": "+46812345601", "rate_per_hour": 40}],
                    seed=seed, max_calls=400, patience=exponential(90),
                    agent_groups=[{"first": 3000, "count": 6, "answer_delay": {"dist": "uniform", "low": 0, "high": 9},
                                   "talk_time": exponential(60), "wrap_up": fixed(0)}],
                    presence=[{"at_seconds": 900, "extension": "3001", "state": "offline"},
                              {"at_seconds": 1200, "extension": "3002", "state": "unreachable"},
                              {"at_seconds": 2000, "extension": "3001", "state": "available"},
                              {"at_seconds": 2500, "extension": "3002", "state": "available"}])


@pytest.mark.parametrize("strategy", sorted(SCANS))
@pytest.mark.parametrize("seed", [1, 2])
def test_kept_free_agents_pick_whom_the_scans_picked(strategy: str, seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    s = shared_queues(strategy, "fewest_calls" if strategy != "fewest_calls" else "random", seed)
    kept = io.BytesIO()
    run_scenario(s, trace=kept)
    monkeypatch.setattr(strategies, "STRATEGIES", {**strategies.STRATEGIES, **SCANS})
    scanned = io.BytesIO()
    run_scenario(s, trace=scanned)
    assert kept.getvalue() == scanned.getvalue()
    assert kept.getvalue().count(b'"answer"') > 100


# -- a stale ring-out --------------------------------------------------------------------------------------------------


def test_a_stale_ring_out_leaves_an_agent_ringing_for_the_same_call_again_alone() -> None:
    # Agent 3000 misses the call in queue a (answers after 7 s, a rings 5 s) at 5 s and 10 s; at 10 s the maximum wait
    # takes the call to queue b, where 3000 rings for it again (20 s) and answers at 17 s. The ring-out timer of the
    # offer made at 5 s comes at 10 s too, after the maximum wait: it must not free 3000 from the new offer (it did,
    # and the answer at 17 s then raised IllegalTransition: 'answer' in state 'available').
    commands = [create_tenant(), add_user("3000"),
                {"command": "save_queue", "tenant": TENANT, "queue": "b",
                 "spec": {"name": "B", "agents": ["3000"], "strategy": "sequential", "agent_ring_seconds": 20}},
                {"command": "save_queue", "tenant": TENANT, "queue": "a",
                 "spec": {"name": "A", "agents": ["3000"], "strategy": "sequential", "agent_ring_seconds": 5,
                          "max_wait_seconds": 10, "after_max_wait": {"kind": "queue", "queue": "b"}}},
                route_number(NUMBER, {"kind": "queue", "queue": "a"})]
    s = scenario(commands, [{"kind": "explicit", "calls": [{"at_seconds": 0, "to": NUMBER}]}],
                 agents=[{"extension": "3000", "answer_delay": fixed(7), "talk_time": fixed(60)}],
                 assertions=["call 1 is answered by 3000"])
    result = run_scenario(s)
    assert result.passed
    assert result.kpis.asa_seconds == 17.0


# -- 2,000 agents ---------------------------------------------------------------------------------------------------


def test_a_queue_takes_two_thousand_agents() -> None:
    agents = [str(10000 + i) for i in range(2000)]
    commands = [create_tenant(), *(add_user(e) for e in agents),
                {"command": "save_queue", "tenant": TENANT, "queue": "big",
                 "spec": {"name": "Big", "agents": agents, "strategy": "round_robin", "wrap_up_seconds": 0}},
                route_number(NUMBER, {"kind": "queue", "queue": "big"})]
    s = scenario(commands, [{"kind": "poisson", "to": NUMBER, "rate_per_hour": 36000}], max_calls=3000, seed=3,
                 patience=exponential(120),
                 agent_groups=[{"first": 10000, "count": 2000, "answer_delay": fixed(0), "talk_time": exponential(180)}])
    general = run_scenario(s, engine="general")
    fast = run_scenario(s)
    assert fast.engine == "fast" and fast.kpis == general.kpis
    assert len(general.kpis.agents) == 2000 and general.kpis.answered == 3000


def test_simulate_imports_nothing_the_run_does_not_use() -> None:
    # trio.testing imported pytest; the store's wiring (adapters.bootstrap) brought SQLite, the projection store, Argon2.
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    script = ("import sys\nfrom click.testing import CliRunner\nfrom adapters.cli import cli\n"
              "result = CliRunner().invoke(cli, ['--log-level', 'error', 'simulate', 'examples/friday_divert.toml'])\n"
              "assert result.exit_code == 0, result.output\n"
              "print(sorted(m for m in ('pytest', 'trio.testing', 'adapters.bootstrap', 'adapters.projection_store', 'argon2',"
              " 'sqlite3', 'matplotlib') if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
