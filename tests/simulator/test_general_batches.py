"""The general engine counts calls answered on arrival in batches when nothing watches its calls one by one (a plain run):
the figures are those of counting each call as it comes, which it does when calls are recorded."""

from __future__ import annotations

import io
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings

from simulator.kpis import Collector
from simulator.run import run_scenario
from simulator.scenario import Scenario
from tests.simulator.builders import NUMBER, add_user, create_tenant, fixed, route_number, scenario
from tests.simulator.test_fastpath import OTHER, eligible_scenarios


def batches(s: Scenario, monkeypatch: Any) -> tuple[bytes, list[int]]:
    """The figures of a plain run of ``s`` by the general engine, and the size of each batch it handed in."""
    sizes: list[int] = []
    hand_in = Collector.answered_on_arrival

    def counted(self: Collector, calls: int, hour: int, number: str, queue: str) -> None:
        sizes.append(calls)
        hand_in(self, calls, hour, number, queue)

    with monkeypatch.context() as patch:
        patch.setattr(Collector, "answered_on_arrival", counted)
        result = run_scenario(s, engine="general")
    return msgspec.json.encode(result.kpis), sizes


def recorded(s: Scenario) -> bytes:
    """The figures of ``s`` by the general engine, its calls recorded: each counted as it comes."""
    return msgspec.json.encode(run_scenario(s, engine="general", calls_out=io.BytesIO()).kpis)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(eligible_scenarios())
def test_batches_of_calls_answered_on_arrival_give_the_figures_of_one_call_at_a_time(s: Scenario) -> None:
    assert msgspec.json.encode(run_scenario(s, engine="general").kpis) == recorded(s)


def test_a_number_first_seen_while_a_batch_is_pending_keeps_its_place(monkeypatch: Any) -> None:
    # Two numbers to one queue of agents who answer at once, and calls alternate between them over three hours: the
    # breakdowns keep the order the numbers came first, and the hourly figures their hours.
    agents = [str(3000 + i) for i in range(4)]
    commands = [create_tenant(), *(add_user(e) for e in agents),
                {"command": "save_queue", "tenant": "sim", "queue": "support",
                 "spec": {"name": "Support", "agents": agents, "strategy": "longest_idle", "agent_ring_seconds": 20}},
                route_number(OTHER, {"kind": "queue", "queue": "support"}),
                route_number(NUMBER, {"kind": "queue", "queue": "support"})]
    s = scenario(commands, [{"kind": "poisson", "to": NUMBER, "rate_per_hour": 40},
                            {"kind": "poisson", "to": OTHER, "rate_per_hour": 4}],
                 agent_groups=[{"first": 3000, "count": 4, "answer_delay": fixed(0), "talk_time": fixed(30),
                                "wrap_up": fixed(0)}],
                 patience={"dist": "never"}, duration_seconds=3 * 3600, seed=7)
    plain, sizes = batches(s, monkeypatch)
    assert plain == recorded(s)
    assert sizes and max(sizes) > 1  # batches were used
    figures = msgspec.json.decode(plain)
    assert set(figures["numbers"]) == {NUMBER, OTHER} and len(figures["hourly_arrivals"]) == 3
