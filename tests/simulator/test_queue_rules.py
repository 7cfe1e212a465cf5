"""The simulator honours a queue's entry and exit rules and its pause between ring rounds.

Queue ``q`` lists agents 2001 and 2002; callers turned away or leaving go to the voicemail of
2003 (``when_no_agents``). The three ways a queue can have nobody for a caller: every agent
busy (talking to earlier callers), logged out, or logged in with an unreachable phone.
"""

from __future__ import annotations

from typing import Any

import pytest

from simulator.scenario import Scenario
from tests.simulator.builders import (
    NEVER,
    NUMBER,
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

VOICEMAIL_2003 = {"kind": "voicemail", "extension": "2003"}
AGENTS = ("2001", "2002")


def queue_scenario(rules: dict[str, Any], calls: list[float], *, members: tuple[str, ...] = AGENTS,
                   delays: dict[str, dict[str, Any]] | None = None, presence: list[dict[str, Any]] | tuple[()] = (),
                   **fields: Any) -> Scenario:
    """Calls at ``calls`` to queue ``q`` of ``members`` (sequential, 20 s rings, no wrap-up); agents answer after
    ``delays`` (default 1 s) and talk 100 s."""
    commands = [create_tenant(), *(add_user(e) for e in ("2001", "2002", "2003")),
                save_queue("q", list(members), **{"strategy": "sequential", "agent_ring_seconds": 20, "wrap_up_seconds": 0,
                                                  "max_wait_seconds": 600, **rules}),
                route_number(NUMBER, {"kind": "queue", "queue": "q"})]
    specs = [{"extension": e, "answer_delay": (delays or {}).get(e, fixed(1)), "talk_time": fixed(100)} for e in members]
    return scenario(commands, [explicit(*({"at_seconds": t, "to": NUMBER} for t in calls))], agents=specs, presence=list(presence),
                    **fields)


def ends(records: list[dict[str, Any]]) -> dict[int, tuple[float, str, str | None]]:
    """Each call's end: when, its outcome and endpoint."""
    return {r["call"]: (r["t"], r["outcome"], r["endpoint"]) for r in records if r["ev"] == "end"}


def answers(records: list[dict[str, Any]]) -> dict[int, tuple[float, str]]:
    """Who answered each answered call, and when."""
    return {r["call"]: (r["t"], r["endpoint"]) for r in records if r["ev"] == "answer"}


def everyone(state: str) -> list[dict[str, Any]]:
    return [{"at_seconds": 0, "extension": e, "state": state} for e in AGENTS]


# The agents at t=10, when call 3 comes: busy (calls 1 and 2 talk until 100 s and 100.5 s), logged out, unreachable.
SITUATIONS = {"busy": {"calls": [0, 0.5, 10]}, "logged out": {"calls": [10], "presence": everyone("offline")},
              "unreachable": {"calls": [10], "presence": everyone("unreachable")}}
JOINS = {  # (join rule, agents' situation) → whether the caller joins
    ("agent_logged_in", "busy"): True, ("agent_logged_in", "logged out"): False, ("agent_logged_in", "unreachable"): True,
    ("agent_reachable", "busy"): True, ("agent_reachable", "logged out"): False, ("agent_reachable", "unreachable"): False,
    ("agent_free", "busy"): False, ("agent_free", "logged out"): False, ("agent_free", "unreachable"): False,
}


@pytest.mark.parametrize(("rule", "situation"), sorted(JOINS), ids=lambda v: v.replace(" ", "_"))
def test_a_caller_joins_only_when_the_join_rule_finds_an_agent(rule: str, situation: str) -> None:
    setup = SITUATIONS[situation]
    s = queue_scenario({"when_no_agents": VOICEMAIL_2003, "join_when": rule}, setup["calls"], presence=setup.get("presence", ()))
    _, _, records = run_traced(s)
    last = len(setup["calls"])
    turned_away = ends(records)[last] == (10.0, "voicemail", "2003")
    joined = any(r["ev"] == "queue" and r["call"] == last for r in records)
    assert (joined, turned_away) == (JOINS[rule, situation], not JOINS[rule, situation])


def test_the_simulator_turns_away_a_caller_routing_let_join_because_it_took_logged_out_agents_for_unreachable_phones() -> None:
    s = queue_scenario({"when_no_agents": VOICEMAIL_2003, "join_when": "agent_logged_in"}, [10], presence=everyone("offline"))
    _, _, records = run_traced(s)
    assert [r["plan"] for r in records if r["ev"] == "route"] == ["Queue"]
    assert [(r["t"], r["on"]) for r in records if r["ev"] == "queue_empty"] == [(10.0, "join")]


def test_a_queue_saved_without_rules_lets_a_caller_wait_while_every_agent_is_busy() -> None:
    s = queue_scenario({"when_no_agents": VOICEMAIL_2003}, [0, 0.5, 10])
    _, _, records = run_traced(s)
    assert answers(records)[3] == (102.0, "2001"), "waits for 2001, free at 101 s, who answers after 1 s"


# -- leaving ----------------------------------------------------------------------------------


def test_waiting_callers_leave_when_the_last_logged_in_agent_logs_out_after_the_call() -> None:
    """2001 (the only agent) talks to call 1 from 1 s to 101 s and logs out at 50 s; call 2 waits from 10 s."""
    s = queue_scenario({"when_no_agents": VOICEMAIL_2003, "leave_when": "no_agent_logged_in"}, [0, 10], members=("2001",),
                       presence=[{"at_seconds": 50, "extension": "2001", "state": "offline"}])
    _, _, records = run_traced(s)
    assert ends(records)[2] == (101.0, "voicemail", "2003")
    assert [(r["call"], r["t"], r["on"]) for r in records if r["ev"] == "queue_empty"] == [(2, 101.0, "wait")]


def test_waiting_callers_stay_when_the_last_agent_logs_out_without_a_leave_rule() -> None:
    s = queue_scenario({"when_no_agents": VOICEMAIL_2003}, [0, 10], members=("2001",),
                       presence=[{"at_seconds": 50, "extension": "2001", "state": "offline"}])
    _, _, records = run_traced(s)
    assert ends(records)[2] == (610.0, "missed", None), "waits out the maximum wait"


def test_waiting_callers_stay_while_another_agent_is_logged_in() -> None:
    """The agents talk from 1 s and 1.5 s to 101 s and 101.5 s; 2001 logs out at 50 s; call 3 waits for 2002."""
    s = queue_scenario({"when_no_agents": VOICEMAIL_2003, "leave_when": "no_agent_logged_in"}, [0, 0.5, 10],
                       presence=[{"at_seconds": 50, "extension": "2001", "state": "offline"}])
    _, _, records = run_traced(s)
    assert answers(records)[3] == (102.5, "2002")


def test_waiting_callers_leave_when_the_last_reachable_phone_is_lost_after_its_call() -> None:
    s = queue_scenario({"when_no_agents": VOICEMAIL_2003, "leave_when": "no_agent_reachable"}, [0, 10], members=("2001",),
                       presence=[{"at_seconds": 50, "extension": "2001", "state": "unreachable"}])
    _, _, records = run_traced(s)
    assert ends(records)[2] == (101.0, "voicemail", "2003")
    assert ("2001", 101.0, "unreachable") in [(r["agent"], r["t"], r["state"]) for r in records if r["ev"] == "agent"]


def test_waiting_callers_stay_for_an_agent_whose_phone_is_lost_when_the_rule_asks_only_for_logged_in_agents() -> None:
    s = queue_scenario({"when_no_agents": VOICEMAIL_2003, "leave_when": "no_agent_logged_in"}, [0, 10], members=("2001",),
                       presence=[{"at_seconds": 50, "extension": "2001", "state": "unreachable"},
                                 {"at_seconds": 200, "extension": "2001", "state": "available"}])
    _, _, records = run_traced(s)
    assert answers(records)[2] == (201.0, "2001"), "the phone is back at 200 s"


def test_a_caller_leaves_as_they_join_when_the_leave_rule_finds_every_agent_busy() -> None:
    s = queue_scenario({"when_no_agents": VOICEMAIL_2003, "join_when": "always", "leave_when": "no_agent_free"}, [0, 10],
                       members=("2001",))
    _, _, records = run_traced(s)
    assert [r["call"] for r in records if r["ev"] == "queue"] == [1, 2], "call 2 joins"
    assert ends(records)[2] == (10.0, "voicemail", "2003")


def test_a_caller_waits_for_a_busy_agent_when_the_leave_rule_asks_only_for_reachable_ones() -> None:
    s = queue_scenario({"when_no_agents": VOICEMAIL_2003, "leave_when": "no_agent_reachable"}, [0, 10], members=("2001",))
    _, _, records = run_traced(s)
    assert answers(records)[2] == (102.0, "2001")


# -- the pause between ring rounds ------------------------------------------------------------


def offers(records: list[dict[str, Any]]) -> list[tuple[float, str]]:
    return [(r["t"], r["agent"]) for r in records if r["ev"] == "agent" and r["state"] == "ringing"]


def test_a_call_nobody_answered_is_offered_again_after_the_pause() -> None:
    s = queue_scenario({"retry_seconds": 5}, [0], members=("2001",), delays={"2001": NEVER, "2002": NEVER}, duration_seconds=60)
    _, _, records = run_traced(s)
    assert offers(records)[:3] == [(0.0, "2001"), (25.0, "2001"), (50.0, "2001")]


def test_without_a_pause_a_call_nobody_answered_is_offered_again_at_once() -> None:
    s = queue_scenario({}, [0], members=("2001",), delays={"2001": NEVER, "2002": NEVER}, duration_seconds=60)
    _, _, records = run_traced(s)
    assert offers(records)[:3] == [(0.0, "2001"), (20.0, "2001"), (40.0, "2001")]


def test_after_the_pause_the_call_goes_to_the_next_agent() -> None:
    """Sequential: 2001 never answers and rings 0-20 s; after a 10 s pause 2002 rings at 30 s and answers after 1 s."""
    s = queue_scenario({"retry_seconds": 10}, [0], delays={"2001": NEVER})
    _, _, records = run_traced(s)
    assert offers(records)[:2] == [(0.0, "2001"), (30.0, "2002")]
    assert answers(records)[1] == (31.0, "2002")


def test_ring_all_rings_every_free_agent_again_after_the_pause() -> None:
    s = queue_scenario({"strategy": "ring_all", "retry_seconds": 5}, [0], delays={"2001": NEVER, "2002": NEVER}, duration_seconds=30)
    _, _, records = run_traced(s)
    assert offers(records)[:4] == [(0.0, "2001"), (0.0, "2002"), (25.0, "2001"), (25.0, "2002")]


def test_during_the_pause_the_next_caller_is_served_and_the_paused_one_is_not() -> None:
    """2001 never answers: it lets call 1 ring out (0-20 s), then rings for call 2 (waiting since 5 s) while call 1
    pauses until 30 s; 2002 logs in at 25 s and stays idle (call 1 is pausing) until call 1 is offered to it at 30 s."""
    s = queue_scenario({"retry_seconds": 10}, [0, 5], delays={"2001": NEVER},
                       presence=[{"at_seconds": 0, "extension": "2002", "state": "offline"},
                                 {"at_seconds": 25, "extension": "2002", "state": "available"}])
    _, _, records = run_traced(s)
    assert offers(records)[:3] == [(0.0, "2001"), (20.0, "2001"), (30.0, "2002")]
    assert answers(records)[1] == (31.0, "2002")


def test_an_unreachable_agent_does_not_hold_back_a_call_the_only_reachable_agent_let_ring_out() -> None:
    """2002's phone is unreachable: once 2001 (never answering) has let the call ring out, it is 2001's again."""
    s = queue_scenario({}, [0], delays={"2001": NEVER, "2002": NEVER},
                       presence=[{"at_seconds": 0, "extension": "2002", "state": "unreachable"}],
                       duration_seconds=50)
    _, _, records = run_traced(s)
    assert offers(records)[:3] == [(0.0, "2001"), (20.0, "2001"), (40.0, "2001")]


# -- an unreachable phone outside queues ------------------------------------------------------------


def test_a_divert_to_an_agent_whose_phone_was_lost_after_routing_skips_them() -> None:
    """2002 (never answers) diverts after 10 s to 2001, whose phone is lost at 5 s: 2001's no-answer voicemail at 10 s."""
    commands = [create_tenant(), add_user("2001"), add_user("2002"),
                set_divert("2002", "no_answer", {"kind": "extension", "extension": "2001"}, ring_seconds=10),
                set_divert("2001", "no_answer", {"kind": "voicemail"}, ring_seconds=20)]
    s = scenario(commands, [explicit({"at_seconds": 0, "to": "2002"})],
                 agents=[{"extension": "2001", "answer_delay": fixed(1)}, {"extension": "2002", "answer_delay": NEVER}],
                 presence=[{"at_seconds": 5, "extension": "2001", "state": "unreachable"}])
    _, _, records = run_traced(s)
    assert ends(records)[1] == (10.0, "voicemail", "2001")
