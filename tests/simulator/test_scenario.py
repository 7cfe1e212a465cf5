"""Scenarios: validation naming the field, assertions, and the behaviours a scenario can ask for.

Each scenario is built inline (``tests.simulator.builders``): tenant commands, agents and
explicit calls, so every figure below can be worked out by hand. Unless a test says
otherwise: the tenant's zone is UTC, the run starts Monday 2026-11-16 08:00 UTC, agents
answer after ``answer_delay`` and talk for ``talk_time``, and others never answer.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest

from simulator.kpis import figure_names
from simulator.run import check, run_scenario
from simulator.scenario import Scenario, ScenarioError, load_scenario
from tests.simulator.builders import (
    NEVER,
    NUMBER,
    TENANT,
    TTS,
    add_user,
    create_tenant,
    explicit,
    fixed,
    route_number,
    run_traced,
    save_queue,
    scenario,
    set_divert,
)


MINIMAL: dict[str, Any] = {
    "tenant": {"slug": TENANT, "commands": [create_tenant(), add_user("2001")]},
    "max_calls": 10,
    "arrivals": [{"kind": "poisson", "to": "2001", "rate_per_hour": 30}],
}


def invalid(document: dict[str, Any]) -> str:
    with pytest.raises(msgspec.ValidationError) as raised:
        msgspec.convert(document, Scenario)
    return str(raised.value)


def test_the_minimal_document_is_valid() -> None:
    s = msgspec.convert(MINIMAL, Scenario)
    assert s.max_calls == 10 and s.duration_seconds is None and s.seed == 0


@pytest.mark.parametrize("rate", [0, -30, -0.001])
def test_a_non_positive_rate_names_its_field(rate: float) -> None:
    second = {"kind": "poisson", "to": "2001", "rate_per_hour": rate}
    assert "$.arrivals[0].rate_per_hour" in invalid({**MINIMAL, "arrivals": [second]})
    message = invalid({**MINIMAL, "arrivals": [MINIMAL["arrivals"][0], second]})
    assert "$.arrivals[1].rate_per_hour" in message and "> 0" in message


@pytest.mark.parametrize(("document", "named"), [
    ({**MINIMAL, "colour": "red"}, "unknown field `colour`"),
    ({**MINIMAL, "arrivals": [{**MINIMAL["arrivals"][0], "burst": 3}]}, "unknown field `burst` - at `$.arrivals[0]`"),
    ({**MINIMAL, "tenant": {**MINIMAL["tenant"], "owner": "x"}}, "unknown field `owner` - at `$.tenant`"),
    ({**MINIMAL, "agents": [{"extension": "2001", "talk": fixed(3)}]}, "unknown field `talk` - at `$.agents[0]`"),
    ({**MINIMAL, "patience": {"dist": "fixed", "value": 3, "sd": 1}}, "unknown field `sd` - at `$.patience`"),
])
def test_unknown_fields_are_refused(document: dict[str, Any], named: str) -> None:
    assert named in invalid(document)


@pytest.mark.parametrize(("document", "field"), [
    ({**MINIMAL, "patience": {"dist": "gamma", "mean": 60}}, "$.patience.dist"),
    ({**MINIMAL, "agents": [{"extension": "2001", "talk_time": {"dist": "weibull"}}]}, "$.agents[0].talk_time.dist"),
    ({**MINIMAL, "provisioning": {"delay": {"dist": "poisson", "mean": 3}}}, "$.provisioning.delay.dist"),
])
def test_an_unknown_distribution_names_its_field(document: dict[str, Any], field: str) -> None:
    message = invalid(document)
    assert field in message and "Invalid value" in message


@pytest.mark.parametrize(("document", "field"), [
    ({**MINIMAL, "agents": [{"extension": "2001", "talk_time": {"dist": "exponential", "mean": 0}}]}, "$.agents[0].talk_time.mean"),
    ({**MINIMAL, "patience": {"dist": "fixed", "value": -1}}, "$.patience.value"),
    ({**MINIMAL, "duration_seconds": 0}, "$.duration_seconds"),
    ({**MINIMAL, "max_calls": 0}, "$.max_calls"),
    ({**MINIMAL, "others": {"answer_probability": 1.5}}, "$.others.answer_probability"),
    ({**MINIMAL, "arrivals": [{**MINIMAL["arrivals"][0], "hourly_profile": [1.0] * 23}]}, "$.arrivals[0].hourly_profile"),
    ({**MINIMAL, "arrivals": [{"kind": "explicit", "calls": [{"at_seconds": -1, "to": "2001"}]}]}, "$.arrivals[0].calls[0].at_seconds"),
    ({**MINIMAL, "arrivals": []}, "$.arrivals"),
])
def test_out_of_range_values_name_their_field(document: dict[str, Any], field: str) -> None:
    assert field in invalid(document)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


TOML_HEAD = """
seed = 3
{limit}
[tenant]
slug = "sim"
commands = [{{command = "create_tenant", tenant = "sim", name = "Sim", time_zone = "UTC"}},
            {{command = "add_user", tenant = "sim", extension = "2001", name = "A"}}]

[[arrivals]]
kind = "poisson"
to = "2001"
rate_per_hour = {rate}
"""


def test_load_scenario_reads_toml_and_json(tmp_path: Path) -> None:
    s = load_scenario(write(tmp_path, "ok.toml", TOML_HEAD.format(limit="max_calls = 5", rate=30)))
    assert s.seed == 3 and s.max_calls == 5
    again = load_scenario(write(tmp_path, "ok.json", msgspec.json.encode(msgspec.to_builtins(s)).decode()))
    assert again == s


def test_load_scenario_names_the_file_and_the_field(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.toml", TOML_HEAD.format(limit="max_calls = 5", rate=0))
    with pytest.raises(ScenarioError) as raised:
        load_scenario(path)
    assert str(path) in str(raised.value) and "$.arrivals[0].rate_per_hour" in str(raised.value)
    path = write(tmp_path, "bad.json", msgspec.json.encode({**MINIMAL, "patience": {"dist": "gamma"}}).decode())
    with pytest.raises(ScenarioError, match=r"\$\.patience\.dist"):
        load_scenario(path)
    with pytest.raises(ScenarioError, match="unknown field `colour`"):
        load_scenario(write(tmp_path, "extra.json", msgspec.json.encode({**MINIMAL, "colour": 1}).decode()))


def test_a_scenario_without_duration_or_call_limit_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "endless.toml", TOML_HEAD.format(limit="", rate=30))
    with pytest.raises(ScenarioError) as raised:
        load_scenario(path)
    assert "duration_seconds or max_calls" in str(raised.value) and "at `$`" in str(raised.value)
    assert load_scenario(write(tmp_path, "timed.toml", TOML_HEAD.format(limit="duration_seconds = 60", rate=30))).duration_seconds == 60


def test_a_start_without_offset_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "naive.toml", 'start = "2026-11-16T08:00:00"\n' + TOML_HEAD.format(limit="max_calls = 5", rate=30))
    with pytest.raises(ScenarioError, match=r"\$\.start"):
        load_scenario(path)


def load_with_assertions(tmp_path: Path, assertions: list[str]) -> Scenario:
    head = TOML_HEAD.format(limit="max_calls = 5", rate=30)
    return load_scenario(write(tmp_path, "asserts.toml", f"assertions = {msgspec.json.encode(assertions).decode()}\n{head}"))


def test_an_unknown_figure_is_refused_at_load_naming_the_assertion_and_the_known_figures(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as raised:
        load_with_assertions(tmp_path, ["offered == 5", "servce_level_20s >= 0.8"])
    message = str(raised.value)
    assert message.startswith(f"{tmp_path / 'asserts.toml'}: unknown figure 'servce_level_20s' in assertion "
                              "'servce_level_20s >= 0.8'; known figures: ")
    assert message.endswith(" - at `$.assertions[1]`")
    known = message.split("known figures: ")[1].removesuffix(" - at `$.assertions[1]`").split(", ")
    assert known == sorted(figure_names([20.0]))
    assert {"offered", "service_level_20s", "calls_to_voicemail", "occupancy"} <= set(known)


def test_a_service_level_the_scenario_does_not_measure_is_an_unknown_figure_at_load(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"unknown figure 'service_level_30s'.* - at `\$\.assertions\[0\]`"):
        load_with_assertions(tmp_path, ["service_level_30s >= 0.8"])


def test_an_assertion_in_no_known_form_is_refused_at_load(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as raised:
        load_with_assertions(tmp_path, ["call 1 is answered by 2001", "everything is fine"])
    assert str(raised.value).endswith("assertion 'everything is fine' not understood: use 'figure >= number' or "
                                      "'call N ends at voicemail of EXT' - at `$.assertions[1]`")


def test_known_figures_and_call_outcomes_load(tmp_path: Path) -> None:
    assertions = ["service_level_20s >= 0.8", "calls_to_voicemail == 0", "occupancy < 1", "call 3 is answered by 2001",
                  "call saturday ends at voicemail of 2004"]
    assert load_with_assertions(tmp_path, assertions).assertions == assertions


def test_the_figures_known_before_a_run_are_the_figures_it_has() -> None:
    """The load-time check and the run's figures must not drift apart (two service levels, one not a whole second)."""
    s = scenario([create_tenant(), add_user("2001")], [explicit({"at_seconds": 1, "to": "2001"})],
                 service_level_seconds=[20, 62.5])
    assert figure_names(s.service_level_seconds) == set(run_scenario(s).kpis.flat())


def test_a_failed_assertion_records_its_figure_expected_and_actual_values() -> None:
    result, _, _ = voicemail_run(["voicemail > 2", "call 2 ends at voicemail of 2002", "is everything fine?"])
    assert [(a.passed, a.figure, a.expected, a.actual) for a in result.assertions] == [
        (False, "voicemail", "> 2", "2"),
        (False, "call 2", "voicemail of 2002", "voicemail of 2001"),
        (False, "", "", ""),
    ]


def test_refused_commands_name_where_they_are() -> None:
    with pytest.raises(ScenarioError, match=r"no call queue 'nope'.*\$\.tenant\.commands"):
        run_scenario(scenario([create_tenant(), route_number(NUMBER, {"kind": "queue", "queue": "nope"})],
                              [explicit({"at_seconds": 1, "to": NUMBER})]))
    with pytest.raises(ScenarioError, match=r"no extension '2999'.*\$\.changes\[0\]\.commands"):
        run_scenario(scenario([create_tenant(), add_user("2001")], [explicit({"at_seconds": 10, "to": "2001"})],
                              changes=[{"at_seconds": 5, "commands": [set_divert("2001", "always", {"kind": "extension",
                                                                                                    "extension": "2999"})]}]))
    with pytest.raises(ScenarioError, match=r"\$\.tenant\.slug"):
        run_scenario(scenario([create_tenant()], [explicit({"at_seconds": 1, "to": "2001"})], tenant={"slug": "other"}))


def test_a_call_to_a_number_the_tenant_does_not_have_names_the_call() -> None:
    s = scenario([create_tenant(), add_user("2001")], [explicit({"at_seconds": 1, "to": "2001"}, {"at_seconds": 2, "to": "2999"})])
    with pytest.raises(ScenarioError, match=r"2999.*\$\.arrivals\[0\]"):
        run_scenario(s)



VOICEMAIL_USERS = [
    create_tenant(), add_user("2001"), add_user("2002"),
    {"command": "set_call_waiting", "tenant": TENANT, "extension": "2001", "enabled": False},
    set_divert("2001", "busy", {"kind": "voicemail"}),
    set_divert("2001", "no_answer", {"kind": "voicemail"}, ring_seconds=20),
    set_divert("2002", "no_answer", {"kind": "voicemail"}, ring_seconds=15),
]
"""2001: busy and no-answer diverts to their voicemail (call waiting off); 2002: no-answer divert to voicemail."""


def voicemail_run(assertions: list[str]):  # type: ignore[no-untyped-def]
    """Call 1 (t=0) is answered by 2001 (3 s, talks 100 s); call 2 (t=10) finds 2001 busy; call 3 (t=20) rings 2002, who never answers."""
    s = scenario(VOICEMAIL_USERS,
                 [explicit({"at_seconds": 0, "to": "2001", "from": "+46701111111"},
                           {"at_seconds": 10, "to": "2001", "from": "+46702222222"},
                           {"at_seconds": 20, "to": "2002", "id": "unanswered"})],
                 agents=[{"extension": "2001", "answer_delay": fixed(3), "talk_time": fixed(100)},
                         {"extension": "2002", "answer_delay": NEVER}],
                 assertions=assertions)
    return run_traced(s)


def test_call_outcome_assertions_with_voicemail_diverts() -> None:
    result, _, trace = voicemail_run(["call 1 is answered by 2001", "call 1 ends at 2001", "call 2 ends at voicemail of 2001",
                                      "call unanswered ends at voicemail of 2002", "call 2 ends at voicemail of 2002",
                                      "call 1 ends at voicemail of 2001", "call 9 ends at voicemail of 2001"])
    assert [(a.passed, a.detail) for a in result.assertions] == [
        (True, "call 1: answered by 2001"),
        (True, "call 1: answered by 2001"),
        (True, "call 2: voicemail of 2001"),
        (True, "call unanswered: voicemail of 2002"),
        (False, "call 2: voicemail of 2001"),
        (False, "call 1: answered by 2001"),
        (False, "call 9: never arrived"),
    ]
    assert not result.passed
    ends = {r["call"]: (r["t"], r["outcome"], r["endpoint"]) for r in trace if r["ev"] == "end"}
    assert ends == {1: (103.0, "answered", "2001"), 2: (10.0, "voicemail", "2001"), 3: (35.0, "voicemail", "2002")}
    k = result.kpis
    assert (k.offered, k.answered, k.voicemail, k.abandoned) == (3, 1, 2, 0)


@pytest.mark.parametrize(("assertion", "passed", "detail"), [
    ("offered == 3", True, "offered = 3"),
    ("offered != 3", False, "offered = 3"),
    ("calls_to_voicemail >= 2", True, "calls_to_voicemail = 2"),
    ("voicemail > 2", False, "voicemail = 2"),
    ("answered < 2", True, "answered = 1"),
    ("answered <= 0.5", False, "answered = 1"),
    ("asa_seconds == 3", True, "asa_seconds = 3"),
    ("service_level_20s >= 0.33", True, "service_level_20s = 0.333333"),  # a share of all 3 calls: 2 went to voicemail
    ("  abandon_rate<0.1  ", True, "abandon_rate = 0"),
    ("abandoned > -1", True, "abandoned = 0"),
])
def test_figure_assertions_pass_and_fail(assertion: str, passed: bool, detail: str) -> None:
    result, _, _ = voicemail_run([assertion])
    assert (result.assertions[0].passed, result.assertions[0].detail) == (passed, detail)


def test_an_unknown_figure_fails_listing_the_known_ones() -> None:
    result, _, _ = voicemail_run(["calls_lost > 1", "is everything fine?"])
    unknown, garbled = result.assertions
    assert not unknown.passed and unknown.detail.startswith("unknown figure 'calls_lost'; known: ")
    known = unknown.detail.split("known: ")[1].split(", ")
    assert known == sorted(known)
    assert {"offered", "answered", "abandon_rate", "service_level_20s", "calls_to_voicemail", "probability_of_waiting",
            "asa_seconds", "occupancy"} <= set(known)
    assert set(known) == set(result.kpis.flat())
    assert not garbled.passed and garbled.detail.startswith("not understood")


@pytest.mark.parametrize("assertion", ["offered == 1.2.3", "offered >= ."])
def test_a_malformed_number_fails_the_assertion_instead_of_the_run(assertion: str) -> None:
    result, _, _ = voicemail_run([assertion, "offered == 3"])
    assert [a.passed for a in result.assertions] == [False, True]
    assert "not understood" in result.assertions[0].detail


def test_check_evaluates_one_assertion_without_a_run() -> None:
    kpis = voicemail_run([])[0].kpis
    assert check("voicemail == 2", kpis, {}).passed
    assert check("call 5 ends busy", kpis, {"5": ("busy", None)}).passed
    assert not check("call 5 ends busy", kpis, {"5": ("missed", None)}).passed



IVR = {"command": "save_ivr_menu", "tenant": TENANT, "ivr": "main",
       "spec": {"name": "Main", "prompt": TTS, "timeout_seconds": 5, "retries": 1,
                "options": {"1": {"kind": "extension", "extension": "2001"}, "2": {"kind": "queue", "queue": "sales"}},
                "on_no_input": {"kind": "voicemail", "extension": "2003"},
                "on_invalid": {"kind": "voicemail", "extension": "2002"}}}


def test_explicit_calls_with_digits_through_an_ivr() -> None:
    """A digit takes 3 s, no input the timeout times the tries (2 x 5 s), an invalid digit 3 s per try."""
    commands = [create_tenant(), add_user("2001"), add_user("2002"), add_user("2003"),
                save_queue("sales", ["2002"], agent_ring_seconds=20, wrap_up_seconds=0), IVR,
                route_number(NUMBER, {"kind": "ivr", "ivr": "main"})]
    s = scenario(commands,
                 [explicit({"at_seconds": 0, "to": NUMBER, "from": "+46701111111", "digits": "1"},
                           {"at_seconds": 100, "to": NUMBER, "digits": "2"},
                           {"at_seconds": 200, "to": NUMBER, "digits": ""},
                           {"at_seconds": 300, "to": NUMBER, "digits": "9"})],
                 agents=[{"extension": "2001", "answer_delay": fixed(2), "talk_time": fixed(30)},
                         {"extension": "2002", "answer_delay": fixed(4), "talk_time": fixed(30)}],
                 assertions=["call 1 is answered by 2001", "call 2 is answered by 2002", "call 3 ends at voicemail of 2003",
                             "call 4 ends at voicemail of 2002", "answered == 2", "voicemail == 2"])
    result, _, trace = run_traced(s)
    assert result.passed, result.assertions
    menus = [(r["call"], r["t"], r["digit"]) for r in trace if r["ev"] == "ivr"]
    assert menus == [(1, 0.0, "1"), (2, 100.0, "2"), (3, 200.0, ""), (4, 300.0, "9")]
    answers = {r["call"]: r["t"] for r in trace if r["ev"] == "answer"}
    assert answers == {1: 0 + 3 + 2, 2: 100 + 3 + 4}
    assert [r["t"] for r in trace if r["ev"] == "queue"] == [103.0]
    ends = {r["call"]: r["t"] for r in trace if r["ev"] == "end"}
    assert ends[3] == 200 + 2 * 5 and ends[4] == 300 + 2 * 3
    assert result.kpis.asa_seconds == pytest.approx((5 + 7) / 2)




def provisioning_run(delay: float):  # type: ignore[no-untyped-def]
    """A forward-always 2001 → 2002 saved at t=100 s; calls to 2001 at t=200 s and t=500 s."""
    s = scenario([create_tenant(), add_user("2001"), add_user("2002")],
                 [explicit({"at_seconds": 200, "to": "2001", "from": "+46701111111"},
                           {"at_seconds": 500, "to": "2001", "from": "+46701111111"})],
                 agents=[{"extension": "2001", "answer_delay": fixed(2), "talk_time": fixed(30)},
                         {"extension": "2002", "answer_delay": fixed(2), "talk_time": fixed(30)}],
                 changes=[{"at_seconds": 100, "commands": [set_divert("2001", "always", {"kind": "extension", "extension": "2002"})]}],
                 provisioning={"delay": fixed(delay)},
                 assertions=["call 1 is answered by 2001", "call 2 is answered by 2002"])
    return run_traced(s)


def test_a_change_is_used_only_once_it_is_live() -> None:
    result, _, trace = provisioning_run(300)
    assert result.passed, result.assertions
    config = [(r["ev"], r["t"], r["version"]) for r in trace if r["ev"] in ("config", "live")]
    assert [(ev, t) for ev, t, _ in config] == [("config", 100.0), ("live", 400.0)]
    new_version = config[0][2]
    routed = {r["call"]: r["version"] for r in trace if r["ev"] == "route"}
    assert routed[1] < new_version == routed[2]
    rung = {r["call"]: r["endpoints"] for r in trace if r["ev"] == "ring"}
    assert rung == {1: ["2001"], 2: ["2002"]}


def test_without_a_provisioning_delay_the_change_is_live_at_once() -> None:
    result, _, trace = provisioning_run(0)
    assert [(a.passed, a.detail) for a in result.assertions] == [(False, "call 1: answered by 2002"), (True, "call 2: answered by 2002")]
    assert [(r["ev"], r["t"]) for r in trace if r["ev"] in ("config", "live")] == [("config", 100.0), ("live", 100.0)]


def test_a_free_agent_added_to_a_queue_serves_the_calls_already_waiting() -> None:
    """2001 takes call 1 for 1000 s; call 2 waits from t=10; at t=100 (live at once) 2002, free, joins the queue."""
    queue = {"wrap_up_seconds": 0, "max_wait_seconds": 3600}
    s = scenario([create_tenant(), add_user("2001"), add_user("2002"), save_queue("q", ["2001"], **queue),
                  route_number(NUMBER, {"kind": "queue", "queue": "q"})],
                 [explicit({"at_seconds": 0, "to": NUMBER}, {"at_seconds": 10, "to": NUMBER})],
                 agents=[{"extension": "2001", "answer_delay": fixed(1), "talk_time": fixed(1000)},
                         {"extension": "2002", "answer_delay": fixed(1), "talk_time": fixed(60)}],
                 changes=[{"at_seconds": 100, "commands": [save_queue("q", ["2001", "2002"], **queue)]}],
                 assertions=["call 2 is answered by 2002"])
    result, _, trace = run_traced(s)
    assert result.passed, [a.detail for a in result.assertions]  # today: answered by 2001 at t=1002
    assert {r["call"]: r["t"] for r in trace if r["ev"] == "answer"} == {1: 1.0, 2: 101.0}



SHIFT_QUEUE = [create_tenant("Europe/Stockholm"), add_user("2001"),
               save_queue("support", ["2001"], wrap_up_seconds=0, when_no_agents={"kind": "voicemail", "extension": "2001"}),
               route_number(NUMBER, {"kind": "queue", "queue": "support"})]
"""A queue whose only agent works a shift; with nobody logged in its calls go to voicemail."""


def test_a_call_outside_every_shift_finds_no_agent() -> None:
    """The run starts 09:00 in Stockholm (08:00 UTC); 2001 works 10:00-12:00 local."""
    s = scenario(SHIFT_QUEUE,
                 [explicit({"at_seconds": 1800, "to": NUMBER, "id": "early"}, {"at_seconds": 5400, "to": NUMBER, "id": "in-shift"},
                           {"at_seconds": 3 * 3600 + 1800, "to": NUMBER, "id": "late"})],
                 agents=[{"extension": "2001", "answer_delay": fixed(1), "talk_time": fixed(60),
                          "shifts": [{"start": "10:00", "end": "12:00"}]}],
                 assertions=["call early ends at voicemail of 2001", "call in-shift is answered by 2001",
                             "call late ends at voicemail of 2001"])
    result, _, trace = run_traced(s)
    assert result.passed, result.assertions
    presence = [(r["t"], r["state"]) for r in trace if r["ev"] == "agent" and r["state"] in ("available", "offline")]
    assert presence[0] == (3600.0, "available") and (3 * 3600.0, "offline") in presence
    assert result.kpis.agents["2001"].logged_in_seconds == 2 * 3600


def test_shifts_follow_the_wall_clock_across_a_dst_change() -> None:
    """Starts Saturday 2026-03-28 08:00 +01:00; summer time begins Sunday 02:00. Monday 10:30 local is inside 10:00-12:00."""
    start = datetime.fromisoformat("2026-03-28T08:00:00+01:00")
    monday = (datetime.fromisoformat("2026-03-30T10:30:00+02:00") - start).total_seconds()
    s = scenario(SHIFT_QUEUE, [explicit({"at_seconds": monday - 3600, "to": NUMBER}, {"at_seconds": monday, "to": NUMBER})],
                 start=start.isoformat(), duration_seconds=4 * 86400,
                 agents=[{"extension": "2001", "answer_delay": fixed(1), "talk_time": fixed(60),
                          "shifts": [{"start": "10:00", "end": "12:00"}]}],
                 assertions=["call 1 ends at voicemail of 2001", "call 2 is answered by 2001"])
    result = run_scenario(s)
    assert result.passed, result.assertions




def test_callers_abandon_while_ringing_in_the_ivr_and_in_the_queue() -> None:
    """Patience 25 s: 2002 answers only after 60 s; the menu waits 3 x 10 s for a digit; the queue's agent has logged out."""
    menu = {"command": "save_ivr_menu", "tenant": TENANT, "ivr": "main",
            "spec": {"name": "Main", "prompt": TTS, "timeout_seconds": 10, "retries": 2,
                     "options": {"1": {"kind": "extension", "extension": "2001"}}}}
    commands = [create_tenant(), add_user("2001"), add_user("2002"), add_user("2003"), save_queue("q", ["2003"]), menu,
                route_number(NUMBER, {"kind": "ivr", "ivr": "main"}), route_number("+46812345601", {"kind": "queue", "queue": "q"})]
    s = scenario(commands,
                 [explicit({"at_seconds": 0, "to": "2002"}, {"at_seconds": 100, "to": NUMBER, "digits": ""},
                           {"at_seconds": 200, "to": "+46812345601"}, {"at_seconds": 300, "to": NUMBER, "digits": "1"})],
                 agents=[{"extension": "2001", "answer_delay": fixed(2), "talk_time": fixed(10)},
                         {"extension": "2002", "answer_delay": fixed(60)}, {"extension": "2003"}],
                 presence=[{"at_seconds": 0, "extension": "2003", "state": "offline"}],
                 patience=fixed(25),
                 assertions=["call 1 ends abandoned in ringing", "call 2 ends abandoned in ivr", "call 3 ends abandoned in queue",
                             "call 4 is answered by 2001", "abandoned_ringing == 1", "abandoned_ivr == 1",
                             "abandoned_queue == 1", "abandoned == 3", "abandon_rate == 0.75"])
    result, _, trace = run_traced(s)
    assert result.passed, result.assertions
    abandons = [(r["call"], r["t"], r["where"]) for r in trace if r["ev"] == "abandon"]
    assert abandons == [(1, 25.0, "ringing"), (2, 125.0, "ivr"), (3, 225.0, "queue")]
    k = result.kpis
    assert (k.abandoned_ringing, k.abandoned_ivr, k.abandoned_queue, k.abandoned, k.answered) == (1, 1, 1, 3, 1)
    assert k.waited == 1, "only the queue abandonment waited in a queue"
    assert k.wait_max == 25.0



ONE_AGENT_QUEUE = [create_tenant(), add_user("2001"),
                   save_queue("q", ["2001"], agent_ring_seconds=20, wrap_up_seconds=0,
                              when_no_agents={"kind": "voicemail", "extension": "2001"}),
                   route_number(NUMBER, {"kind": "queue", "queue": "q"})]


def test_callers_abandoning_during_offers_release_the_agent_once() -> None:
    """The agent answers after 10 s, callers wait 5 s: each call is offered and abandons during the offer.

    Regression (fixed in 3334bd8): the offer's stale timeout freed the agent a second time and offered it another
    call while it was ringing (IllegalTransition 'offer' in state 'ringing').
    """
    s = scenario(ONE_AGENT_QUEUE, [explicit(*({"at_seconds": t, "to": NUMBER} for t in (0, 1, 2)))],
                 agents=[{"extension": "2001", "answer_delay": fixed(10), "talk_time": fixed(60)}], patience=fixed(5))
    result, _, trace = run_traced(s)
    assert result.kpis.abandoned_queue == 3
    assert [(r["call"], r["t"]) for r in trace if r["ev"] == "abandon"] == [(1, 5.0), (2, 6.0), (3, 7.0)]


def test_an_agent_is_free_again_after_two_callers_abandon_during_offers() -> None:
    """Regression: the stale offer timeout must not unlink the agent from the next call it rings for (it stayed ringing)."""
    s = scenario(ONE_AGENT_QUEUE, [explicit({"at_seconds": 0, "to": NUMBER}, {"at_seconds": 1, "to": NUMBER},
                                            {"at_seconds": 100, "to": NUMBER})],
                 agents=[{"extension": "2001", "answer_delay": fixed(10), "talk_time": fixed(60)}], patience=fixed(5))
    _, _, trace = run_traced(s)
    offers = [r["t"] for r in trace if r["ev"] == "agent" and r["state"] == "ringing"]
    assert offers == [0.0, 5.0, 100.0], "the third call should be offered to the (free) agent at once"
    assert [r for r in trace if r["ev"] == "agent"][-1]["state"] == "available"


def test_a_call_an_agent_misses_goes_to_another_free_agent() -> None:
    commands = [create_tenant(), add_user("2001"), add_user("2002"),
                save_queue("q", ["2001", "2002"], strategy="longest_idle", agent_ring_seconds=20, wrap_up_seconds=0,
                           max_wait_seconds=120),
                route_number(NUMBER, {"kind": "queue", "queue": "q"})]
    s = scenario(commands, [explicit({"at_seconds": 10, "to": NUMBER})],
                 agents=[{"extension": "2001", "answer_delay": NEVER}, {"extension": "2002", "answer_delay": fixed(2)}],
                 assertions=["call 1 is answered by 2002"])
    result, _, trace = run_traced(s)
    assert result.passed, [a.detail for a in result.assertions]  # today: call 1: missed, after six offers to 2001
    assert [r["t"] for r in trace if r["ev"] == "answer"] == [32.0]


def test_an_agent_who_let_a_call_ring_out_stays_among_the_idle() -> None:
    """Neither agent answers call 1: 2001 lets it ring out (10-30 s), then 2002 (30-50 s); call 2 comes at 60 s.

    Regression: with both agents having refused call 1, looking for a third emptied the longest-idle list, so
    2001, free since 30 s, was on it no more: call 2 waited instead of ringing 2001 at once.
    """
    commands = [create_tenant(), add_user("2001"), add_user("2002"),
                save_queue("q", ["2001", "2002"], strategy="longest_idle", agent_ring_seconds=20, wrap_up_seconds=0,
                           max_wait_seconds=600),
                route_number(NUMBER, {"kind": "queue", "queue": "q"})]
    s = scenario(commands, [explicit({"at_seconds": 10, "to": NUMBER}, {"at_seconds": 60, "to": NUMBER})],
                 agents=[{"extension": "2001", "answer_delay": NEVER}, {"extension": "2002", "answer_delay": NEVER}],
                 patience=fixed(100))
    _, _, trace = run_traced(s)
    offers = [(r["t"], r["agent"]) for r in trace if r["ev"] == "agent" and r["state"] == "ringing" and r["t"] <= 60]
    assert offers == [(10.0, "2001"), (30.0, "2002"), (50.0, "2002"), (60.0, "2001")]


def test_an_agent_who_logs_out_while_ringing_is_logged_out_when_the_offer_ends() -> None:
    """2001 is offered call 1 at t=5 (answers after 20 s), logs out at t=10; the caller gives up at t=20."""
    s = scenario(ONE_AGENT_QUEUE, [explicit({"at_seconds": 5, "to": NUMBER}, {"at_seconds": 100, "to": NUMBER})],
                 agents=[{"extension": "2001", "answer_delay": fixed(20), "talk_time": fixed(60)}],
                 presence=[{"at_seconds": 10, "extension": "2001", "state": "offline"}], patience=fixed(15),
                 assertions=["call 1 ends abandoned in queue", "call 2 ends at voicemail of 2001"])
    result = run_scenario(s)
    assert result.passed, [a.detail for a in result.assertions]  # today: call 2: abandoned in queue (2001 still logged in)
    assert result.kpis.agents["2001"].logged_in_seconds <= 20


def test_a_call_to_a_busy_user_with_call_waiting_rings_out_then_follows_the_no_answer_divert() -> None:
    """2001 talks from t=0 to t=100 (call waiting on by default); a second call at t=10 rings 20 s unanswered, then voicemail."""
    commands = [create_tenant(), add_user("2001"),
                set_divert("2001", "no_answer", {"kind": "voicemail"}, ring_seconds=20)]
    s = scenario(commands, [explicit({"at_seconds": 0, "to": "2001"}, {"at_seconds": 10, "to": "2001"})],
                 agents=[{"extension": "2001", "answer_delay": fixed(1), "talk_time": fixed(100)}],
                 assertions=["call 1 is answered by 2001", "call 2 ends at voicemail of 2001"])
    result, _, trace = run_traced(s)
    assert result.passed, result.assertions
    ends = {r["call"]: r["t"] for r in trace if r["ev"] == "end"}
    assert ends[2] == 30.0, "the waiting call rang its 20 s before going to voicemail"
