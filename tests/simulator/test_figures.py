"""Figures that mean what they say: P(wait) is "found no free agent on arrival", every offered call is in every rate and
in exactly one outcome, waits of calls a queue gave up on count, the warm-up is left out, nonsense is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.kpis import Kpis
from simulator.run import run_scenario
from simulator.scenario import Scenario, ScenarioError, load_scenario
from simulator.streams import Uniform
from tests.simulator.builders import (
    NEVER,
    NUMBER,
    TENANT,
    TTS,
    add_user,
    create_tenant,
    explicit,
    exponential,
    fixed,
    route_number,
    save_queue,
    scenario,
)
from tests.simulator.test_theory import Counters, call_centre

ROOT = Path(__file__).resolve().parents[2]
VOICEMAIL_2009 = {"kind": "voicemail", "extension": "2009"}


def one_queue(agents: list[dict[str, Any]], calls: list[dict[str, Any]], **fields: Any) -> Scenario:
    """Queue ``q`` of agent 2001 (30 s ring, no wrap-up, 7,200 s maximum wait, then the voicemail of 2009)."""
    commands = [create_tenant(), add_user("2001"), add_user("2009"),
                save_queue("q", ["2001"], agent_ring_seconds=30, wrap_up_seconds=0, max_wait_seconds=7200,
                           after_max_wait=VOICEMAIL_2009),
                route_number(NUMBER, {"kind": "queue", "queue": "q"})]
    return scenario(commands, [explicit(*calls)], agents=agents, **fields)


def outcomes(k: Kpis) -> int:
    return k.answered + k.abandoned + k.voicemail + k.busy + k.message + k.unavailable + k.missed


# -- P(wait): found no free agent on arrival --------------------------------------------------------------------------


def test_a_caller_with_no_patience_who_found_an_idle_agent_did_not_wait() -> None:
    k = run_scenario(one_queue([{"extension": "2001", "answer_delay": fixed(3)}], [{"at_seconds": 0, "to": NUMBER}],
                               patience=fixed(0))).kpis
    assert (k.offered, k.abandoned_queue, k.waited, k.probability_of_waiting) == (1, 1, 0, 0.0)
    assert (k.wait_max, k.mean_wait_seconds, k.asa_seconds) == (0.0, 0.0, 0.0)


def test_callers_who_hang_up_while_a_free_agent_rings_did_not_wait_and_the_one_who_found_it_busy_did() -> None:
    """2001 takes 5 s to answer; patience 2 s. Call 1 (t=0) rings 2001 and leaves; call 2 (t=100) the same;
    call 3 (t=101) finds 2001 still ringing for call 2: it found no free agent."""
    s = one_queue([{"extension": "2001", "answer_delay": fixed(5)}],
                  [{"at_seconds": 0, "to": NUMBER}, {"at_seconds": 100, "to": NUMBER}, {"at_seconds": 101, "to": NUMBER}],
                  patience=fixed(2))
    k = run_scenario(s).kpis
    assert (k.offered, k.abandoned_queue, k.waited) == (3, 3, 1)
    assert k.probability_of_waiting == pytest.approx(1 / 3)


def test_a_queue_whose_agents_are_all_logged_out_shows_every_caller_waiting_to_the_maximum() -> None:
    s = one_queue([{"extension": "2001"}], [{"at_seconds": 0, "to": NUMBER}, {"at_seconds": 10, "to": NUMBER}],
                  presence=[{"at_seconds": 0, "extension": "2001", "state": "offline"}])
    k = run_scenario(s).kpis
    assert (k.offered, k.voicemail, k.waited, k.overflowed) == (2, 2, 2, 2)
    assert (k.probability_of_waiting, k.service_level["20s"], k.abandon_rate) == (1.0, 0.0, 0.0)
    assert (k.wait_max, k.wait_p50, k.wait_p99, k.mean_wait_seconds) == (7200.0, 7200.0, 7200.0, 7200.0)
    assert k.wait_histogram == [(7200.0, 2)]


def test_a_queue_whose_agent_never_answers_shows_the_real_waits() -> None:
    """2001 is free but never answers: call 1 found 2001 free (rings 30 s rounds), call 2 found them ringing for it."""
    s = one_queue([{"extension": "2001", "answer_delay": NEVER}], [{"at_seconds": 0, "to": NUMBER}, {"at_seconds": 10, "to": NUMBER}])
    k = run_scenario(s).kpis
    assert (k.offered, k.answered, k.voicemail, k.waited, k.overflowed) == (2, 0, 2, 1, 2)
    assert (k.probability_of_waiting, k.service_level["20s"], k.wait_max) == (0.5, 0.0, 7200.0)


# -- every rate is a share of the offered calls -----------------------------------------------------------------------


def test_service_level_and_abandon_rate_count_calls_a_queue_gave_up_on() -> None:
    """2001 answers after 1 s and talks 100 s. Call 1 (t=0) answered at once; call 2 (t=10) waits until it hangs up at 40 s;
    call 3 (t=20) is sent to voicemail after a 60 s maximum wait; call 4 (t=200) answered at once."""
    commands = [create_tenant(), add_user("2001"), add_user("2009"),
                save_queue("q", ["2001"], wrap_up_seconds=0, max_wait_seconds=60, after_max_wait=VOICEMAIL_2009),
                route_number(NUMBER, {"kind": "queue", "queue": "q"})]
    calls = [{"at_seconds": 0, "to": NUMBER}, {"at_seconds": 10, "to": NUMBER, "patience_seconds": 30},
             {"at_seconds": 20, "to": NUMBER}, {"at_seconds": 200, "to": NUMBER}]
    s = scenario(commands, [explicit(*calls)], agents=[{"extension": "2001", "answer_delay": fixed(1), "talk_time": fixed(100)}])
    k = run_scenario(s).kpis
    assert (k.offered, k.answered, k.abandoned, k.voicemail, k.waited, k.overflowed) == (4, 2, 1, 1, 2, 1)
    assert k.service_level["20s"] == 0.5, "2 of 4 offered calls answered within 20 s (not 2 of the 3 answered or abandoned)"
    assert k.abandon_rate == 0.25
    assert k.probability_of_waiting == 0.5
    assert k.asa_seconds == 1.0, "ASA (answered calls)"
    assert k.mean_wait_seconds == pytest.approx((1 + 30 + 60 + 1) / 4), "mean wait, all calls"
    assert (k.wait_max, k.wait_p50) == (60.0, 1.0)
    assert sum(n for _, n in k.wait_histogram) == k.offered


# -- every offered call in exactly one outcome, over random scenarios ------------------------------------------------

DISTRIBUTIONS = st.one_of(st.builds(fixed, st.sampled_from([0, 1, 5, 25, 90])), st.builds(exponential, st.sampled_from([5, 60, 200])),
                          st.just(NEVER), st.builds(lambda lo, d: {"dist": "uniform", "low": lo, "high": lo + d},
                                                    st.sampled_from([0, 2, 10]), st.sampled_from([0, 5, 40])))
ENTRIES = st.sampled_from([{"kind": "queue", "queue": "q"}, {"kind": "group", "group": "g"}, {"kind": "ivr", "ivr": "main"},
                           {"kind": "extension", "extension": "2001"}, VOICEMAIL_2009])
AFTER = st.sampled_from([VOICEMAIL_2009, {"kind": "group", "group": "g"}, None])


@st.composite
def random_scenarios(draw: st.DrawFn) -> Scenario:
    agents = ["2001", "2002", "2003"]
    group = {"command": "create_answer_group", "tenant": TENANT, "group": "g",
             "settings": {"name": "G", "timeout_seconds": 20, "fallback": draw(st.sampled_from([VOICEMAIL_2009, None]))},
             "members": [{"ref": {"on": "local", "extension": m}, "ring_seconds": 20} for m in ("2002", "2003")]}
    menu = {"command": "save_ivr_menu", "tenant": TENANT, "ivr": "main",
            "spec": {"name": "Main", "prompt": TTS, "timeout_seconds": 4, "retries": 1,
                     "options": {"1": {"kind": "queue", "queue": "q"}, "2": {"kind": "group", "group": "g"}},
                     "on_no_input": VOICEMAIL_2009}}
    queue = save_queue("q", agents, strategy=draw(st.sampled_from(["ring_all", "round_robin", "longest_idle", "random"])),
                       agent_ring_seconds=draw(st.sampled_from([5, 15, 30])), wrap_up_seconds=draw(st.sampled_from([0, 10])),
                       max_wait_seconds=draw(st.sampled_from([10, 60, 300])), after_max_wait=draw(AFTER))
    numbers = ["+46812345600", "+46812345601", "+46812345602"]
    commands = [create_tenant(), *(add_user(e) for e in [*agents, "2009"]), group, queue, menu,
                *(route_number(n, draw(ENTRIES)) for n in numbers)]
    calls = draw(st.lists(st.builds(lambda at, to, digits: {"at_seconds": at, "to": to, "digits": digits},
                                    st.integers(0, 900), st.sampled_from(numbers), st.sampled_from(["1", "2", "", "9"])),
                          min_size=1, max_size=25))
    presence = draw(st.lists(st.builds(lambda at, ext, state: {"at_seconds": at, "extension": ext, "state": state},
                                       st.integers(0, 900), st.sampled_from(agents),
                                       st.sampled_from(["available", "offline", "unreachable"])), max_size=4))
    return scenario(commands, [explicit(*calls), {"kind": "poisson", "to": numbers[0], "rate_per_hour": 120}],
                    max_calls=40, seed=draw(st.integers(0, 1000)), patience=draw(DISTRIBUTIONS), presence=presence,
                    warm_up_seconds=draw(st.sampled_from([0, 0, 120])),
                    agents=[{"extension": e, "answer_delay": draw(DISTRIBUTIONS), "talk_time": draw(DISTRIBUTIONS)}
                            for e in agents])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_scenarios())
def test_every_offered_call_counts_in_exactly_one_outcome_and_has_one_wait(s: Scenario) -> None:
    k = run_scenario(s).kpis
    assert outcomes(k) == k.offered
    assert sum(n for _, n in k.wait_histogram) == k.offered
    assert k.waited <= k.offered and k.overflowed <= k.offered
    for rate in (k.probability_of_waiting, k.abandon_rate, *k.service_level.values()):
        assert 0.0 <= rate <= 1.0
    if k.offered:
        assert k.abandon_rate == k.abandoned / k.offered
        assert k.probability_of_waiting == k.waited / k.offered
    assert k.wait_p50 <= k.wait_p90 <= k.wait_p99 <= k.wait_max
    assert sum(k.hourly_arrivals) == k.offered
    # Who answered: each answered call once, by the kind of what answered it; voicemail as counted.
    assert sum(n for key, n in k.answered_by.items() if key != "voicemail") == k.answered
    assert k.answered_by["voicemail"] == k.voicemail and k.answered_by["agent"] <= sum(a.answered for a in k.agents.values())
    # Each queue's waits: shares of the calls offered to it; an hour without calls has no mean wait (not 0 s).
    assert set(k.queue_figures) == set(k.queues)
    for queue, q in k.queue_figures.items():
        b = k.queues[queue]
        assert q.waited <= b.offered and q.abandon_rate == b.abandoned / b.offered
        for rate in (q.probability_of_waiting, *q.service_level.values()):
            assert 0.0 <= rate <= 1.0
        assert (q.asa_seconds is None) == (b.answered == 0)
        assert q.asa_seconds is None or 0.0 <= q.asa_seconds <= q.wait_max
    assert all(w is None for n, w in zip(k.hourly_arrivals, k.hourly_mean_wait, strict=True) if n == 0)


# -- the warm-up ------------------------------------------------------------------------------------------------------


def test_the_warm_up_leaves_out_exactly_the_calls_that_arrived_during_it() -> None:
    """The figures of a run with a warm-up are those of the longer run less those of the run cut at the warm-up."""
    s = msgspec.structs.replace(call_centre(3, 2.25, exponential(120)), seed=5)
    warm, length = 3600.0, 20 * 3600.0
    short = Counters.of(run_scenario(msgspec.structs.replace(s, duration_seconds=warm)).kpis)
    long = Counters.of(run_scenario(msgspec.structs.replace(s, duration_seconds=warm + length)).kpis)
    k = run_scenario(msgspec.structs.replace(s, duration_seconds=warm + length, warm_up_seconds=warm)).kpis
    expected, got = long - short, Counters.of(k)
    assert (got.offered, got.answered, got.abandoned, got.waited, got.within) == \
        (expected.offered, expected.answered, expected.abandoned, expected.waited, expected.within)
    assert got.wait_sum == pytest.approx(expected.wait_sum) and got.all_wait_sum == pytest.approx(expected.all_wait_sum)
    assert k.offered > 800 and sum(k.hourly_arrivals[:1]) == 0
    agents = k.agents.values()
    assert all(a.logged_in_seconds == pytest.approx(k.simulated_seconds - warm) for a in agents)
    assert 0.6 < sum(a.busy_seconds for a in agents) / sum(a.logged_in_seconds for a in agents) < 0.9


def test_a_run_that_ends_in_its_warm_up_counts_nothing() -> None:
    s = one_queue([{"extension": "2001", "answer_delay": fixed(1), "talk_time": fixed(10)}], [{"at_seconds": 0, "to": NUMBER}],
                  warm_up_seconds=60)
    k = run_scenario(s).kpis
    assert (k.offered, k.answered, k.wait_histogram, k.numbers) == (0, 0, [], {})
    assert k.agents["2001"].answered == 0 and k.agents["2001"].busy_seconds == 0


def test_old_scenario_files_load_with_no_warm_up() -> None:
    assert load_scenario(ROOT / "examples" / "mmc.toml").warm_up_seconds == 0.0


# -- refused nonsense ---------------------------------------------------------------------------------------------------


def test_a_uniform_distribution_with_low_above_high_is_refused_naming_the_field(tmp_path: Path) -> None:
    text = (ROOT / "examples" / "mmc.toml").read_text().replace(
        'talk_time = { dist = "exponential", mean = 180 }', 'talk_time = { dist = "uniform", low = 200, high = 100 }')
    (tmp_path / "mmc_tenant.json").write_bytes((ROOT / "examples" / "mmc_tenant.json").read_bytes())
    path = tmp_path / "s.toml"
    path.write_text(text)
    with pytest.raises(ScenarioError, match=r"low \(200\) is above high \(100\) - at `\$\.agent_groups\[0\]\.talk_time`"):
        load_scenario(path)
    with pytest.raises(msgspec.ValidationError, match=r"\$\.patience"):
        msgspec.convert({"tenant": {"slug": TENANT}, "arrivals": [explicit()], "patience": {"dist": "uniform", "low": 2, "high": 1}},
                        Scenario)
    assert msgspec.convert({"dist": "uniform", "low": 3, "high": 3}, Uniform) == Uniform(low=3, high=3)  # equal ends: allowed


def test_a_call_answered_at_the_very_start_counts_its_talk_in_the_agents_busy_time() -> None:
    """A call answered at t = 0.0 talked its 100 s like any other: not 0 s because its answer instant is 0 (a Poisson
    process's first call comes after 0, so only explicit calls meet this, on the general engine)."""
    commands = [create_tenant(), add_user("2001"), save_queue("q", ["2001"], wrap_up_seconds=0),
                route_number(NUMBER, {"kind": "queue", "queue": "q"})]
    agents = [{"extension": "2001", "answer_delay": fixed(0), "talk_time": fixed(100)}]
    for at in (0, 5):
        k = run_scenario(scenario(commands, [explicit({"at_seconds": at, "to": NUMBER})], agents=agents)).kpis
        assert (k.answered, k.agents["2001"].busy_seconds) == (1, 100.0), at
