"""Queue strategies do what their names say, told apart on one scenario; answer groups' least-recent memory learns.

The scenario: queue ``q`` lists 2001, 2002 and 2003 in that order. They answer after 3, 2
and 1 s and talk 5 s; 2003 logs in only at t=230. Six calls come a minute apart from
t=60, so at each call every logged-in agent is free, and each strategy picks differently.
"""

from __future__ import annotations

import typing
from typing import Any

import pytest

from core.aggregates.services import QueueStrategy
from simulator.scenario import Scenario
from simulator.strategies import STRATEGIES
from simulator.streams import stream
from tests.simulator.builders import (
    NEVER,
    NUMBER,
    TENANT,
    add_user,
    create_tenant,
    explicit,
    fixed,
    route_number,
    run_traced,
    save_queue,
    scenario,
)

OTHER_NUMBER = "+46812345601"
CALLS = [60, 120, 180, 240, 300, 360]
SEED = 3


def queue_scenario(strategy: str, *, delays: dict[str, dict[str, Any]] | None = None, extra_commands: tuple[dict[str, Any], ...] = (),
                   extra_calls: tuple[dict[str, Any], ...] = (), extra_agents: tuple[dict[str, Any], ...] = (), **fields: Any) -> Scenario:
    commands = [create_tenant(), *(add_user(e) for e in ("2001", "2002", "2003", "2004", "2100")),
                save_queue("q", ["2001", "2002", "2003"], strategy=strategy, agent_ring_seconds=20, wrap_up_seconds=0,
                           max_wait_seconds=600),
                route_number(NUMBER, {"kind": "queue", "queue": "q"}), *extra_commands]
    delays = delays or {"2001": fixed(3), "2002": fixed(2), "2003": fixed(1)}
    agents = [{"extension": e, "answer_delay": delay, "talk_time": fixed(5)} for e, delay in delays.items()]
    return scenario(commands, [explicit(*({"at_seconds": t, "to": NUMBER} for t in CALLS), *extra_calls)],
                    agents=[*agents, *extra_agents], seed=SEED,
                    presence=[{"at_seconds": 0, "extension": "2003", "state": "offline"},
                              {"at_seconds": 230, "extension": "2003", "state": "available"}], **fields)


def answered_by(records: list[dict[str, Any]], calls: int = len(CALLS)) -> list[str]:
    """Who answered the queue's calls (the first ``calls`` calls), in call order."""
    answers = {r["call"]: r["endpoint"] for r in records if r["ev"] == "answer"}
    return [answers[call] for call in range(1, calls + 1)]


def random_picks() -> list[str]:
    """What the random strategy must pick: a uniform draw among the free agents, from the queue's own stream."""
    draw = stream(SEED, "queue:q").random
    picks = []
    for at in CALLS:
        free = ["2001", "2002"] + (["2003"] if at > 230 else [])
        picks.append(free[min(int(draw() * len(free)), len(free) - 1)])
    return picks


EXPECTED = {
    "sequential": ["2001"] * 6,  # the first in the queue's order, every time
    "round_robin": ["2001", "2002", "2001", "2002", "2003", "2001"],  # after the last one offered, skipping 2003 until it logs in
    "longest_idle": ["2001", "2002", "2001", "2002", "2001", "2003"],  # 2003 is idle since 230, the others since their last call
    "fewest_calls": ["2001", "2002", "2001", "2003", "2002", "2003"],  # 2003 catches up once it logs in
    "ring_all": ["2002", "2002", "2002", "2003", "2003", "2003"],  # the fastest to answer of all who ring
}


def test_every_strategy_of_the_model_has_an_implementation_and_a_case_here() -> None:
    assert set(STRATEGIES) == set(typing.get_args(QueueStrategy))
    assert set(EXPECTED) | {"random"} == set(STRATEGIES)


@pytest.mark.parametrize("strategy", sorted(EXPECTED))
def test_each_strategy_picks_the_agents_its_name_says(strategy: str) -> None:
    result, _, records = run_traced(queue_scenario(strategy))
    assert answered_by(records) == EXPECTED[strategy]
    assert result.kpis.answered == len(CALLS)


def test_random_draws_from_the_queue_s_own_stream() -> None:
    _, _, records = run_traced(queue_scenario("random"))
    picks = answered_by(records)
    assert picks == random_picks()
    assert picks not in EXPECTED.values(), "pick another SEED: the draw happens to match a deterministic strategy"


def test_the_strategies_give_six_different_sequences() -> None:
    sequences = {strategy: tuple(answered_by(run_traced(queue_scenario(strategy))[2])) for strategy in STRATEGIES}
    assert len(set(sequences.values())) == len(STRATEGIES), sequences


def test_other_callers_and_another_random_queue_do_not_shift_the_random_draws() -> None:
    base = answered_by(run_traced(queue_scenario("random"))[2])
    busier = queue_scenario(
        "random",
        extra_commands=(save_queue("other", ["2004"], strategy="random", wrap_up_seconds=0),
                        route_number(OTHER_NUMBER, {"kind": "queue", "queue": "other"})),
        extra_calls=({"at_seconds": 90, "to": OTHER_NUMBER}, {"at_seconds": 150, "to": "2100"},
                     {"at_seconds": 200, "to": OTHER_NUMBER, "from": "+46701111111"}),
        extra_agents=({"extension": "2004", "answer_delay": fixed(1), "talk_time": fixed(5)},),
        patience={"dist": "exponential", "mean": 600})
    _, _, records = run_traced(busier)
    queue_calls = {r["call"] for r in records if r["ev"] == "queue" and r["queue"] == "q"}
    answers = {r["call"]: r["endpoint"] for r in records if r["ev"] == "answer" and r["call"] in queue_calls}
    assert [answers[call] for call in sorted(answers)] == base


def test_ring_all_rings_every_free_agent_at_once_and_frees_the_others_when_one_answers() -> None:
    _, _, records = run_traced(queue_scenario("ring_all"))
    first_call = [(r["t"], r["agent"], r["state"]) for r in records if r["ev"] == "agent" and 60 <= r["t"] <= 62]
    assert first_call == [(60.0, "2001", "ringing"), (60.0, "2002", "ringing"),
                          (62.0, "2002", "talking"), (62.0, "2001", "available")]
    at_240 = {r["agent"] for r in records if r["ev"] == "agent" and r["t"] == 240 and r["state"] == "ringing"}
    assert at_240 == {"2001", "2002", "2003"}


def test_ring_all_rings_everyone_again_until_the_caller_gives_up_and_then_frees_them_all() -> None:
    """Nobody answers: every 20 s the offer rings out and starts again; the caller leaves at 60 + 50 s."""
    s = queue_scenario("ring_all", delays=dict.fromkeys(("2001", "2002", "2003"), NEVER), patience=fixed(50))
    result, _, records = run_traced(s)
    rings = sorted({r["t"] for r in records if r["ev"] == "agent" and r["state"] == "ringing" and r["t"] < 120})
    assert rings == [60.0, 80.0, 100.0]
    assert [(r["call"], r["t"], r["where"]) for r in records if r["ev"] == "abandon"][0] == (1, 110.0, "queue")
    at_leave = [(r["agent"], r["state"]) for r in records if r["ev"] == "agent" and r["t"] == 110.0]
    assert at_leave == [("2001", "available"), ("2002", "available")]
    assert result.kpis.abandoned_queue == len(CALLS)


def test_sequential_tries_the_agents_in_order_for_every_call() -> None:
    """2001 never answers: each call rings 2001 for 20 s first, then 2002, who answers."""
    s = queue_scenario("sequential", delays={"2001": NEVER, "2002": fixed(2), "2003": fixed(1)})
    _, _, records = run_traced(s)
    offers = [(r["t"], r["agent"]) for r in records if r["ev"] == "agent" and r["state"] == "ringing" and r["t"] < 200]
    assert offers == [(60.0, "2001"), (80.0, "2002"), (120.0, "2001"), (140.0, "2002"), (180.0, "2001")]
    assert answered_by(records)[:3] == ["2002", "2002", "2002"]


def group_command(strategy: str) -> dict[str, Any]:
    return {"command": "create_answer_group", "tenant": TENANT, "group": "g",
            "settings": {"name": "G", "strategy": strategy, "timeout_seconds": 60},
            "members": [{"ref": {"on": "local", "extension": m}, "ring_seconds": 10} for m in ("2001", "2002", "2003")]}


def test_a_least_recent_answer_group_rings_first_whoever_answered_longest_ago() -> None:
    commands = [create_tenant(), *(add_user(e) for e in ("2001", "2002", "2003")), group_command("least_recent"),
                route_number(NUMBER, {"kind": "group", "group": "g"})]
    s = scenario(commands, [explicit(*({"at_seconds": t, "to": NUMBER} for t in (0, 60, 120, 180)))],
                 agents=[{"extension": e, "answer_delay": fixed(1), "talk_time": fixed(5)} for e in ("2001", "2002", "2003")])
    _, _, records = run_traced(s)
    assert answered_by(records, 4) == ["2001", "2002", "2003", "2001"]
