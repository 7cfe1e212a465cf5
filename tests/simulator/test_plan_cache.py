"""The switch reuses a plan that depends on nothing but the table and what was dialled.

``Decision.depends_on`` says whether a plan could differ for another call to the same number
under the same table; the switch decides such plans once per table version. These tests
check that reuse changes nothing a run produces, and that it does happen.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

import simulator.plans
from tests.simulator.builders import NUMBER, add_user, create_tenant, exponential, route_number, run_traced, save_queue, scenario

AGENTS = [{"extension": ext, "answer_delay": exponential(3), "talk_time": exponential(120)} for ext in ("2001", "2002", "2003")]


def queue_run(monkeypatch: pytest.MonkeyPatch, *, reuse: bool) -> tuple[bytes, int, int]:
    """200 calls to a queue of 2001 and 2002; at t=3000 s a change adds 2003 (live 600 s later).

    Returns the trace, how many times ``route`` ran, and how many calls arrived."""
    calls = 0
    real_route = simulator.plans.route

    def counting_route(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        decision = real_route(*args, **kwargs)
        return decision if reuse else msgspec.structs.replace(decision, depends_on=frozenset({"memory"}))

    monkeypatch.setattr(simulator.plans, "route", counting_route)
    s = scenario([create_tenant(), add_user("2001"), add_user("2002"), add_user("2003"),
                  save_queue("q", ["2001", "2002"]), route_number(NUMBER, {"kind": "queue", "queue": "q"})],
                 [{"kind": "poisson", "to": NUMBER, "rate_per_hour": 60, "anonymous_share": 0.3}],
                 max_calls=200, seed=11, agents=AGENTS,
                 changes=[{"at_seconds": 3000, "commands": [save_queue("q", ["2001", "2002", "2003"])]}],
                 provisioning={"delay": {"dist": "fixed", "value": 600}})
    _, trace, records = run_traced(s)
    arrived = sum(1 for r in records if r["ev"] == "arrive")
    return trace, calls, arrived


def test_reusing_plans_changes_nothing_in_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    reused, _, _ = queue_run(monkeypatch, reuse=True)
    decided_each_time, calls, arrived = queue_run(monkeypatch, reuse=False)
    assert calls == arrived == 200
    assert reused == decided_each_time


def test_a_plan_is_decided_once_per_table_and_caller_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    _, calls, arrived = queue_run(monkeypatch, reuse=True)
    assert arrived == 200
    assert calls == 4  # two tables (before and after the change) x (caller id shown, withheld)
