"""The fast path gives exactly the run of the general engine: every figure and every recorded call, for random scenarios
it may take; it is taken on its own only when it may, and the result says which engine ran."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.run import RunResult, run_scenario
from simulator.scenario import Scenario, ScenarioError
from tests.simulator.builders import NUMBER, TENANT, add_user, create_tenant, exponential, fixed, route_number, scenario

OTHER = "+46812345601"
STRATEGIES = ["longest_idle", "sequential", "round_robin", "fewest_calls", "random", "ring_all"]


def talk_times() -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        st.builds(fixed, st.sampled_from([1, 30, 100, 180])),
        st.builds(exponential, st.sampled_from([5, 60, 180, 600])),
        st.builds(lambda low, width: {"dist": "uniform", "low": low, "high": low + width},
                  st.sampled_from([0, 1, 20]), st.sampled_from([0, 5, 200])),
        st.builds(lambda mean, sd: {"dist": "lognormal", "mean": mean, "sd": sd}, st.sampled_from([30, 180]), st.sampled_from([5, 100])),
    )


def patiences() -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        st.just({"dist": "never"}),
        st.builds(fixed, st.sampled_from([0, 10, 45, 60, 600])),
        st.builds(exponential, st.sampled_from([10, 60, 120, 600])),
        st.builds(lambda low, width: {"dist": "uniform", "low": low, "high": low + width},
                  st.sampled_from([0, 10, 30]), st.sampled_from([0, 60])),
        st.builds(lambda mean, sd: {"dist": "lognormal", "mean": mean, "sd": sd}, st.sampled_from([60, 200]), st.sampled_from([20, 150])),
    )


@st.composite
def queue_setups(draw: st.DrawFn, queue: str, first: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """A queue and its agents' group (extensions from ``first``): commands and the ``agent_groups`` entry."""
    strategy = draw(st.sampled_from(STRATEGIES))
    ring = draw(st.sampled_from([5, 20, 30]))
    count = draw(st.sampled_from([1, 2, 3, 5, 8, 20]))
    if strategy == "ring_all":
        delay = fixed(0)
    else:
        delay = draw(st.one_of(st.builds(fixed, st.sampled_from([0, 0, 1, 3, ring])),
                               st.builds(lambda low: {"dist": "uniform", "low": low, "high": ring - 0.5},
                                         st.sampled_from([0.0, 1.0]))))
    agents = [str(first + i) for i in range(count)]
    spec: dict[str, Any] = {"name": queue.title(), "agents": agents, "strategy": strategy, "agent_ring_seconds": ring,
                            "wrap_up_seconds": draw(st.sampled_from([0, 0, 5, 30])),
                            "max_wait_seconds": draw(st.sampled_from([10, 30, 60, 300, 7200]))}
    after = draw(st.sampled_from([None, "voicemail", "unset"]))
    if after == "voicemail":
        spec["after_max_wait"] = {"kind": "voicemail", "extension": "2100"}
    elif after is None:
        spec["after_max_wait"] = None
    if draw(st.booleans()):
        spec["when_no_agents"] = {"kind": "voicemail", "extension": "2100"}
        spec["join_when"] = draw(st.sampled_from(["always", "agent_logged_in", "agent_reachable"]))
    commands = [*(add_user(e) for e in agents),
                {"command": "save_queue", "tenant": TENANT, "queue": queue, "spec": spec}]
    group = {"first": first, "count": count, "answer_delay": delay, "talk_time": draw(talk_times()),
             "wrap_up": draw(st.sampled_from([fixed(0), exponential(30)]))}
    return commands, group


@st.composite
def eligible_scenarios(draw: st.DrawFn) -> Scenario:
    two_queues = draw(st.booleans())
    commands = [create_tenant(draw(st.sampled_from(["UTC", "Europe/Stockholm"]))), add_user("2100")]
    first_commands, first_group = draw(queue_setups("support", 3000))
    commands += first_commands
    groups = [first_group]
    commands.append(route_number(NUMBER, {"kind": "queue", "queue": "support"}))
    if two_queues:
        more, group = draw(queue_setups("sales", 4000))
        commands += more
        groups.append(group)
    commands.append(route_number(OTHER, {"kind": "queue", "queue": "sales" if two_queues else "support"}))
    busy = draw(st.sampled_from([0.5, 0.9, 1.0, 1.3]))  # offered load per agent
    agents = sum(g["count"] for g in groups)
    rate = 3600 * busy * agents / 150
    arrivals = [{"kind": "poisson", "to": NUMBER, "rate_per_hour": rate * draw(st.sampled_from([0.5, 1.0])),
                 "anonymous_share": draw(st.sampled_from([0, 0.3])), "digits": draw(st.sampled_from([{}, {"1": 0.6}]))}]
    if draw(st.booleans()):
        hourly = draw(st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.0]), min_size=24, max_size=24))
        arrivals.append({"kind": "poisson", "to": OTHER, "rate_per_hour": rate / 2, "hourly_profile": hourly})
    fields: dict[str, Any] = {"seed": draw(st.integers(0, 2**32)), "agent_groups": groups, "patience": draw(patiences()),
                              "service_level_seconds": [20, 60], "max_calls": draw(st.sampled_from([1, 5, 60, 400]))}
    if draw(st.booleans()):
        fields["duration_seconds"] = draw(st.sampled_from([600, 3600, 20000]))
    if draw(st.booleans()):
        fields["warm_up_seconds"] = draw(st.sampled_from([60, 900, 3600]))
    if draw(st.booleans()):
        fields["assertions"] = [f"call {draw(st.integers(1, 60))} ends at voicemail of 2100", "abandon_rate < 0.5"]
    return scenario(commands, arrivals, **fields)


def both(s: Scenario) -> tuple[tuple[RunResult, bytes], tuple[RunResult, bytes]]:
    runs = []
    for engine in ("general", "auto"):
        calls = io.BytesIO()
        runs.append((run_scenario(s, engine=engine, calls_out=calls), calls.getvalue()))
    return runs[0], runs[1]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(eligible_scenarios(), st.booleans())
def test_the_fast_path_gives_the_general_engines_figures_and_calls(s: Scenario, record: bool) -> None:
    outs = []
    for engine in ("general", "fast"):  # ``fast`` says why if the scenario cannot take it
        calls = io.BytesIO() if record else None
        result = run_scenario(s, engine=engine, calls_out=calls)  # type: ignore[arg-type]
        outs.append((result, calls.getvalue() if calls is not None else b""))
    (general, general_calls), (fast, fast_calls) = outs
    assert general.engine == "general" and fast.engine == "fast"
    assert msgspec.json.encode(fast.kpis) == msgspec.json.encode(general.kpis)
    # Named too, so that a figure added to both engines' ``Kpis`` is not compared only by accident.
    assert fast.kpis.answered_by == general.kpis.answered_by and fast.kpis.answered_by["agent"] == fast.kpis.answered
    assert fast.kpis.queue_figures == general.kpis.queue_figures and set(fast.kpis.queue_figures) == set(fast.kpis.queues)
    assert fast.kpis.hourly_mean_wait == general.kpis.hourly_mean_wait
    assert fast.assertions == general.assertions
    assert fast_calls == general_calls


def mmc(delay: dict[str, Any] | None = None, **fields: Any) -> Scenario:
    """M/M/50+M: 50 agents answering at once (or after ``delay``), 900 calls an hour, talk 180 s, patience 120 s."""
    commands = [create_tenant(), *(add_user(str(5000 + i)) for i in range(50)),
                {"command": "save_queue", "tenant": TENANT, "queue": "support",
                 "spec": {"name": "Support", "agents": [str(5000 + i) for i in range(50)], "wrap_up_seconds": 0,
                          "max_wait_seconds": 7200}},
                route_number(NUMBER, {"kind": "queue", "queue": "support"})]
    return scenario(commands, [{"kind": "poisson", "to": NUMBER, "rate_per_hour": 900}], seed=7, max_calls=5000,
                    patience=exponential(120),
                    agent_groups=[{"first": 5000, "count": 50, "answer_delay": delay or fixed(0), "talk_time": exponential(180)}],
                    **fields)


def test_an_erlang_a_call_centre_takes_the_fast_path_with_the_same_figures_and_calls() -> None:
    (general, general_calls), (fast, fast_calls) = both(mmc())
    assert (general.engine, fast.engine) == ("general", "fast")
    assert fast.kpis == general.kpis and fast_calls == general_calls
    assert fast.kpis.offered == 5000 and fast.kpis.abandoned > 0 and fast.kpis.events == general.kpis.events


def test_what_the_fast_path_cannot_model_runs_on_the_general_engine() -> None:
    assert run_scenario(mmc(), trace=io.BytesIO()).engine == "general"  # a trace records every agent's state change
    shifts = mmc(presence=[{"at_seconds": 600, "extension": "5000", "state": "offline"}])
    assert run_scenario(shifts).engine == "general"
    assert run_scenario(mmc(delay=exponential(3))).engine == "general"  # an answer may come after the ring time


def test_asking_for_the_fast_path_where_it_cannot_run_says_why() -> None:
    with pytest.raises(ScenarioError, match="fast path cannot run this scenario: a trace is written"):
        run_scenario(mmc(), trace=io.BytesIO(), engine="fast")


def test_the_command_line_says_which_engine_ran_and_can_be_told_which(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from adapters.cli import cli

    example = Path(__file__).resolve().parents[2] / "examples" / "mmc.toml"

    def simulate(*args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(cli, ["--log-level", "error", "simulate", str(example), *args], catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    code, auto, _ = simulate("--json")
    assert code == 0 and json.loads(auto)["engine"] == "fast"
    code, general, _ = simulate("--json", "--engine", "general")
    assert code == 0 and json.loads(general)["engine"] == "general"
    assert json.loads(general)["kpis"] == json.loads(auto)["kpis"]
    code, text, _ = simulate("--engine", "general")
    assert "  engine: general (the event calendar)" in text.splitlines()
    code, _, err = simulate("--engine", "fast", "--trace", str(tmp_path / "t.jsonl"))
    assert code == 2 and "the fast path cannot run this scenario: a trace is written" in err
