"""Who answered (agents here, users here without an agent spec, members on other PBXs, outside numbers, voicemail), each
queue's waits measured from joining it, and hours without calls as ``None``: in the figures, both engines, the
replications' summaries, the comparison and the command line."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any

import msgspec
import pytest

from simulator.compare import paired
from simulator.kpis import ANSWERED_BY
from simulator.replications import figure_table, figures, summarise
from simulator.report import outcome_bars, render_report
from simulator.run import run_scenario
from simulator.scenario import Scenario
from tests.simulator.builders import NUMBER, TENANT, add_user, create_tenant, explicit, fixed, route_number, save_queue, scenario

OTHER = "+46812345601"
MOBILE = "+46701234567"


def members_everywhere() -> Scenario:
    """A group: agent 2001 (answers in 0–14 s, rings 10 s), user 2002 without an agent spec, a member on a SIP PBX;
    voicemail of 2001 when nobody answers; and a number that rings 2003, who forwards every call to a mobile."""
    commands = [create_tenant(), add_user("2001"), add_user("2002"), add_user("2003"),
                {"command": "link_pbx", "tenant": TENANT, "pbx": "kyiv-office", "kind": "sip", "name": "Kyiv"},
                {"command": "create_answer_group", "tenant": TENANT, "group": "g",
                 "settings": {"name": "G", "strategy": "sequential", "timeout_seconds": 60,
                              "fallback": {"kind": "voicemail", "extension": "2001"}},
                 "members": [{"ref": {"on": "local", "extension": "2001"}, "ring_seconds": 10},
                             {"ref": {"on": "local", "extension": "2002"}, "ring_seconds": 10},
                             {"ref": {"on": "sip", "pbx": "kyiv-office", "internal_number": "101"}, "ring_seconds": 10}]},
                {"command": "set_divert", "tenant": TENANT, "extension": "2003", "condition": "always",
                 "target": {"kind": "external", "number": MOBILE}},
                route_number(NUMBER, {"kind": "group", "group": "g"}),
                route_number(OTHER, {"kind": "extension", "extension": "2003"})]
    calls = explicit(*({"at_seconds": 60.0 * i, "to": NUMBER if i % 4 else OTHER} for i in range(80)))
    return scenario(commands, [calls], agents=[{"extension": "2001", "answer_delay": {"dist": "uniform", "low": 0, "high": 14}}],
                    others={"answer_probability": 0.5, "answer_delay": fixed(2), "talk_time": fixed(10)}, seed=3)


def test_each_answered_call_counts_under_who_took_it() -> None:
    result = run_scenario(members_everywhere(), trace=io.BytesIO())
    k = result.kpis
    by = k.answered_by
    assert list(by) == list(ANSWERED_BY)
    assert by["agent"] > 0 and by["user"] > 0 and by["other_pbx"] > 0 and by["external"] > 0 and by["voicemail"] > 0
    assert by["sip"] == 0
    assert by["agent"] == k.agents["2001"].answered
    assert sum(n for key, n in by.items() if key != "voicemail") == k.answered
    assert by["voicemail"] == k.voicemail


def test_who_answered_matches_the_trace_call_by_call() -> None:
    """The trace names each answering endpoint: an extension with an agent spec, one without, ``pbx/member``, a number."""
    s = members_everywhere()
    out = io.BytesIO()
    k = run_scenario(s, trace=out).kpis
    answered = [json.loads(line)["endpoint"] for line in out.getvalue().splitlines() if b'"answered"' in line]
    assert len(answered) == k.answered
    seen = {"agent": answered.count("2001"), "user": answered.count("2002"),
            "other_pbx": sum(e.startswith("kyiv-office/") for e in answered), "external": answered.count(MOBILE)}
    assert seen == {key: k.answered_by[key] for key in seen}


def test_the_report_gives_members_on_other_pbxs_a_bar_of_their_own() -> None:
    s = members_everywhere()
    result = run_scenario(s)
    k = result.kpis
    bars = {b.label.split(" (")[0]: b.value for b in outcome_bars(k)}
    assert bars["answered by members on other PBXs"] == k.answered_by["other_pbx"] > 0
    assert bars["answered by users here without an agent spec"] == k.answered_by["user"]
    assert bars["answered at outside numbers or SIP addresses"] == k.answered_by["external"]
    assert bars["answered by agents here"] == k.answered_by["agent"]
    assert sum(bars.values()) == k.offered
    page = render_report(result, s)
    assert "by members on other PBXs" in page and "by users here without an agent spec" in page


# -- hours without calls ----------------------------------------------------------------------------------------------


def hours_apart() -> Scenario:
    commands = [create_tenant(), add_user("2001"), save_queue("q", ["2001"], wrap_up_seconds=0, max_wait_seconds=600),
                route_number(NUMBER, {"kind": "queue", "queue": "q"})]
    calls = explicit(*({"at_seconds": t, "to": NUMBER} for t in (600, 660, 9000)))
    return scenario(commands, [calls], agents=[{"extension": "2001", "answer_delay": fixed(0), "talk_time": fixed(100)}],
                    duration_seconds=4 * 3600)


def test_an_hour_without_calls_has_no_mean_wait_rather_than_zero() -> None:
    result = run_scenario(hours_apart())
    k = result.kpis
    assert k.hourly_arrivals == [2, 0, 1]
    assert k.hourly_mean_wait == [20.0, None, 0.0]  # the second caller waited 40 s for the first; the third at once
    assert json.loads(msgspec.json.encode(result))["kpis"]["hourly_mean_wait"] == [20.0, None, 0.0]


def test_an_hour_whose_calls_are_all_in_the_warm_up_has_no_mean_wait() -> None:
    k = run_scenario(msgspec.structs.replace(hours_apart(), warm_up_seconds=3600)).kpis
    assert k.hourly_mean_wait[:2] == [None, None] and k.hourly_mean_wait[2] == 0.0


def test_over_replications_an_hours_mean_wait_is_over_those_with_calls_in_it() -> None:
    """A replication without calls in an hour is left out of that hour's mean wait, not counted as 0 s."""
    from simulator.report_figures import replication_bands

    s = hours_apart()
    quiet = run_scenario(s)  # no call in hour 1
    k = quiet.kpis
    busy = msgspec.structs.replace(quiet, kpis=msgspec.structs.replace(k, hourly_arrivals=[2, 1, 1],
                                                                       hourly_mean_wait=[10.0, 30.0, 0.0]))
    band = replication_bands([quiet, busy, busy], s).hourly["mean_wait"]
    assert band.mean[:3] == [pytest.approx(40 / 3), 30.0, 0.0]  # not 20 s, as a 0 s for the quiet run would make it
    assert (band.low[1], band.high[1]) == (30.0, 30.0)  # over the two that have it
    lone = replication_bands([quiet, busy], s).hourly["mean_wait"]
    assert lone.mean[1] == 30.0 and math.isnan(lone.low[1]) and math.isnan(lone.high[1])  # one value: no band
    assert math.isnan(band.mean[3])  # no replication had a call in hour 3: a gap


# -- each queue's waits -----------------------------------------------------------------------------------------------


def two_queues(**fields: Any) -> Scenario:
    """Queue a (agent 3001, talks 100 s): calls at 0 (answered at once), 10 (answered at 100), 20 (hangs up at 50).
    Queue b (agent 4001, talks 100 s, maximum wait 15 s, then queue a): calls at 200 (answered at once) and 205 (waits
    15 s in b, joins a at 220 and is answered there at once: agent 3001 is free since 200)."""
    commands = [create_tenant(), add_user("3001"), add_user("4001"),
                save_queue("a", ["3001"], wrap_up_seconds=0, max_wait_seconds=3600),
                save_queue("b", ["4001"], wrap_up_seconds=0, max_wait_seconds=15,
                           after_max_wait={"kind": "queue", "queue": "a"}),
                route_number(NUMBER, {"kind": "queue", "queue": "a"}), route_number(OTHER, {"kind": "queue", "queue": "b"})]
    calls = explicit({"at_seconds": 0, "to": NUMBER}, {"at_seconds": 10, "to": NUMBER},
                     {"at_seconds": 20, "to": NUMBER, "patience_seconds": 30},
                     {"at_seconds": 200, "to": OTHER}, {"at_seconds": 205, "to": OTHER})
    agents = [{"extension": e, "answer_delay": fixed(0), "talk_time": fixed(100)} for e in ("3001", "4001")]
    return scenario(commands, [calls], agents=agents, service_level_seconds=[20, 120], **fields)


def test_each_queue_has_its_waits_measured_from_joining_it() -> None:
    k = run_scenario(two_queues()).kpis
    a, b = k.queue_figures["a"], k.queue_figures["b"]
    assert (k.queues["a"].offered, k.queues["a"].answered, k.queues["a"].abandoned) == (4, 3, 1)
    # a: waits 0, 90, 30 (abandoned), and 0 for the call from b, which joined a at 220 (it had waited 15 s in b).
    assert a.waited == 2 and a.probability_of_waiting == 2 / 4
    assert a.asa_seconds == 30.0 and a.mean_wait_seconds == 30.0 and a.wait_max == 90.0
    assert a.abandon_rate == 1 / 4
    assert a.service_level == {"20s": 2 / 4, "120s": 3 / 4}
    # b: 0 (answered), 15 (sent on to a after the maximum wait).
    assert (k.queues["b"].offered, k.queues["b"].answered, k.queues["b"].passed_on) == (2, 1, 1)
    assert b.waited == 1 and b.probability_of_waiting == 0.5
    assert b.asa_seconds == 0.0 and b.mean_wait_seconds == 7.5 and b.wait_max == 15.0
    assert b.abandon_rate == 0.0 and b.service_level == {"20s": 0.5, "120s": 0.5}
    # The call figures measure from arrival: the call from b waited 15 s in all.
    assert k.wait_max == 90.0 and k.asa_seconds == (0 + 90 + 0 + 15) / 4


def test_a_queue_nobody_answers_has_no_asa() -> None:
    commands = [create_tenant(), add_user("3001"), save_queue("q", ["3001"], wrap_up_seconds=0, max_wait_seconds=60),
                route_number(NUMBER, {"kind": "queue", "queue": "q"})]
    s = scenario(commands, [explicit({"at_seconds": 0, "to": NUMBER}, {"at_seconds": 5, "to": NUMBER})],
                 agents=[{"extension": "3001", "answer_delay": {"dist": "never"}}], patience={"dist": "never"})
    q = run_scenario(s).kpis.queue_figures["q"]
    assert q.asa_seconds is None and q.mean_wait_seconds == 60.0 and q.wait_max == 60.0
    assert q.service_level == {"20s": 0.0} and q.probability_of_waiting == 0.5


def test_the_fast_path_gives_the_same_queue_waits_and_who_answered() -> None:
    """Two queues of Poisson callers, on both engines (the hypothesis test compares every figure of random ones)."""
    commands = [create_tenant(), *(add_user(str(e)) for e in (*range(3000, 3004), *range(4000, 4003))),
                save_queue("a", [str(e) for e in range(3000, 3004)], wrap_up_seconds=5, max_wait_seconds=60),
                save_queue("b", [str(e) for e in range(4000, 4003)], wrap_up_seconds=0, max_wait_seconds=30,
                           after_max_wait={"kind": "voicemail", "extension": "3000"}),
                route_number(NUMBER, {"kind": "queue", "queue": "a"}), route_number(OTHER, {"kind": "queue", "queue": "b"})]
    s = scenario(commands, [{"kind": "poisson", "to": NUMBER, "rate_per_hour": 90},
                            {"kind": "poisson", "to": OTHER, "rate_per_hour": 70}],
                 agent_groups=[{"first": 3000, "count": 4, "answer_delay": fixed(1), "talk_time": {"dist": "exponential", "mean": 150}},
                               {"first": 4000, "count": 3, "answer_delay": fixed(0), "talk_time": {"dist": "exponential", "mean": 150}}],
                 patience={"dist": "exponential", "mean": 90}, max_calls=600, seed=11)
    general, fast = run_scenario(s, engine="general"), run_scenario(s, engine="fast")
    assert fast.engine == "fast"
    assert fast.kpis.queue_figures == general.kpis.queue_figures and fast.kpis.answered_by == general.kpis.answered_by
    assert set(fast.kpis.queue_figures) == {"a", "b"}
    assert all(q.waited > 0 and q.asa_seconds for q in fast.kpis.queue_figures.values())
    assert fast.kpis.answered_by["agent"] == fast.kpis.answered > 0


# -- over replications ------------------------------------------------------------------------------------------------


def test_a_summary_leaves_out_the_replications_without_a_value() -> None:
    s = summarise([2.0, None, 4.0, None])
    assert s.mean == 3.0 and s.values == [2.0, None, 4.0, None]
    assert s.low is not None and s.high is not None and s.low < 3.0 < s.high
    assert summarise([2.0, 4.0]) == msgspec.structs.replace(s, values=[2.0, 4.0])  # the same as over the two alone
    one = summarise([None, 5.0])
    assert (one.mean, one.low, one.high, one.sd) == (5.0, None, None, None)
    assert summarise([None, None]) == summarise([None, None]) and summarise([None, None]).mean is None


def test_the_replication_table_has_who_answered_and_each_queues_waits() -> None:
    run = run_scenario(two_queues())
    names = figures(run.kpis)
    assert names["answered_by.agent"] == float(run.kpis.answered_by["agent"])
    assert names["queue.a.asa_seconds"] == 30.0 and names["queue.b.mean_wait_seconds"] == 7.5
    assert names["queue.a.service_level_20s"] == 0.5 and names["queue.a.waited"] == 2.0
    # A run in which queue b had no call: its counts are 0 there, its waits have nothing to average.
    only_a = run_scenario(msgspec.structs.replace(two_queues(), max_calls=3))
    assert "b" not in only_a.kpis.queue_figures
    table = figure_table([run, only_a])
    assert table["queue.b.offered"] == [2.0, 0.0]
    assert table["queue.b.asa_seconds"] == [0.0, None] and table["queue.b.probability_of_waiting"] == [0.5, None]


def test_a_comparison_differences_a_queue_figure_where_both_have_it() -> None:
    run = run_scenario(two_queues())
    only_a = run_scenario(msgspec.structs.replace(two_queues(), max_calls=3))
    comparison = paired(1, [1, 2], [run, only_a], [run, run])
    d = comparison.figures["queue.b.mean_wait_seconds"]
    assert d.a.values == [7.5, None] and d.b.values == [7.5, 7.5]
    assert d.difference.values == [0.0, None] and d.difference.mean == 0.0 and not d.differs
    assert comparison.figures["queue.b.offered"].difference.values == [0.0, 2.0]


# -- the command line -------------------------------------------------------------------------------------------------


@pytest.fixture
def two_queue_file(tmp_path: Path) -> Path:
    path = tmp_path / "two_queues.json"
    path.write_bytes(msgspec.json.encode(two_queues()))
    return path


def simulate(*args: str) -> tuple[int, str]:
    from click.testing import CliRunner

    from adapters.cli import cli

    result = CliRunner().invoke(cli, ["--log-level", "error", "simulate", *args], catch_exceptions=False)
    return result.exit_code, result.stdout


def test_the_summary_says_who_answered_and_gives_each_queues_waits(two_queue_file: Path) -> None:
    code, out = simulate(str(two_queue_file))
    assert code == 0, out
    lines = out.splitlines()
    assert "  answered by agents here 4, members on other PBXs 0" in lines
    assert "  per queue (waits from joining the queue; shares of the calls offered to it):" in lines
    at = lines.index("    a: offered 4, answered 3, abandoned 1 (25.0%); probability of waiting 50.0%")
    assert lines[at + 1] == ("      ASA (answered calls) 30.0 s; mean wait, all calls 30.0 s; max 90.0 s; "
                             "service level 50.0% within 20 s, 75.0% within 120 s")
    assert "    b: offered 2, answered 1, abandoned 0 (0.0%); probability of waiting 50.0%" in lines
    code, out = simulate(str(two_queue_file), "--json")
    kpis = json.loads(out)["kpis"]
    assert kpis["answered_by"] == {"agent": 4, "user": 0, "other_pbx": 0, "external": 0, "sip": 0, "voicemail": 0}
    assert kpis["queue_figures"]["b"]["mean_wait_seconds"] == 7.5


def test_replications_and_comparisons_give_each_queues_waits_with_intervals(two_queue_file: Path) -> None:
    code, out = simulate(str(two_queue_file), "--replications", "2")
    assert code == 0, out
    lines = out.splitlines()
    assert "  queue a (waits from joining it; shares of the calls offered to it)" in lines
    asa = next(line for line in lines if line.startswith("    asa_seconds"))
    assert asa.split()[1:3] == ["30.00", "s"]  # explicit calls: the same in every replication
    assert any(line.startswith("    service_level_20s") and "50.00%" in line for line in lines)
    code, out = simulate("compare", str(two_queue_file), str(two_queue_file), "--replications", "2")
    assert code == 0, out
    assert "  queue b (waits from joining it; shares of the calls offered to it)" in out.splitlines()
    code, out = simulate(str(two_queue_file), "--replications", "2", "--json")
    figures_json = json.loads(out)["figures"]
    assert figures_json["queue.a.asa_seconds"]["values"] == [30.0, 30.0]
    assert figures_json["answered_by.other_pbx"]["mean"] == 0.0
