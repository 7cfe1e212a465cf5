"""Routing to answer groups (members, strategies and their memory, fallbacks) and to queues."""

from __future__ import annotations

from typing import Any

import pytest

from core.aggregates.groups import CloudMember, SipMember
from core.aggregates.targets import ToExtension, ToGroup, ToNumber, ToRemote, ToVoicemail
from core.routing import Endpoint, Leg, Missed, Queue, Ring, RoutingMemory, record_answer
from tests.core.routing_builders import (
    MAIN,
    MOBILE,
    TEAM,
    decide,
    group,
    legs,
    member,
    queue_table,
    ring,
    steps,
    table,
    team_table,
    the_step,
    user,
    user_leg,
    utc,
    via,
    voicemail,
)


def test_sequential_group_rings_members_in_their_order() -> None:
    decision = decide(team_table(group("sales", "2003", "2001", "2002", timeout_seconds=90)), MAIN)
    plan = decision.plan
    assert isinstance(plan, Ring)
    assert (legs(plan), plan.mode, plan.limit_seconds, plan.via, plan.then) == (
        ["2003", "2001", "2002"], "sequential", 90, "group sales", None)
    assert [s.reason for s in steps(decision, "member", "group sales")] == ["2003 rings 20 s", "2001 rings 20 s", "2002 rings 20 s"]
    step = the_step(decision, "if nobody answers")
    assert step.reason == "after 90 s (sequential): then nothing: a missed call"


def test_simultaneous_group_rings_in_parallel() -> None:
    plan = decide(team_table(group("sales", *TEAM, strategy="simultaneous")), MAIN).plan
    assert isinstance(plan, Ring) and plan.mode == "parallel" and legs(plan) == list(TEAM)


def test_group_members_ring_for_their_own_ring_seconds() -> None:
    sales = group("sales", member("2001", ring_seconds=15), member("2002", ring_seconds=45))
    plan = decide(team_table(sales), MAIN).plan
    assert plan.legs == (user_leg("2001", 15), user_leg("2002", 45))


def test_group_timeout_caps_the_ring_as_limit_seconds() -> None:
    plan = decide(team_table(group("sales", *TEAM, timeout_seconds=35)), MAIN).plan
    assert plan.limit_seconds == 35


def test_excluded_member_is_skipped() -> None:
    decision = decide(team_table(group("sales", "2001", member("2002", excluded=True), "2003")), MAIN)
    assert legs(decision.plan) == ["2001", "2003"]
    step = [s for s in steps(decision, "member") if not s.matched]
    assert [s.reason for s in step] == ["2002 is excluded from the group for now"]


@pytest.mark.parametrize("state", ["busy", "unreachable", "excluded"])
def test_member_whose_endpoint_is_not_available_is_skipped(state: str) -> None:
    decision = decide(team_table(group("sales", *TEAM)), MAIN, states={"2002": state})
    assert legs(decision.plan) == ["2001", "2003"]
    assert [s.reason for s in steps(decision, "member") if not s.matched] == [f"2002 is {state}"]


def test_members_on_other_pbxs_ring_as_remote_endpoints_keyed_by_pbx() -> None:
    sales = group("sales", "2001", CloudMember(pbx="malmo", member="3001"), SipMember(pbx="kyiv-office", internal_number="101"))
    decision = decide(team_table(sales), MAIN, states={"kyiv-office/101": "unreachable"})
    assert decision.plan.legs == (Leg(endpoint=Endpoint(kind="user", id="2001"), seconds=20),
                                  Leg(endpoint=Endpoint(kind="remote", id="malmo/3001"), seconds=20))
    assert "kyiv-office/101 is unreachable" in [s.reason for s in steps(decision, "member")]


def test_round_robin_starts_after_the_member_offered_first_last_time() -> None:
    memory = RoutingMemory(last_offered={"sales": "2002"})
    decision = decide(team_table(group("sales", *TEAM, strategy="round_robin")), MAIN, memory=memory)
    assert legs(decision.plan) == ["2003", "2001", "2002"]
    assert decision.memory.last_offered == {"sales": "2003"}
    assert the_step(decision, "round robin").reason == "starts after 2002 (the member offered first last time)"


def test_round_robin_without_memory_starts_with_the_first_member() -> None:
    decision = decide(team_table(group("sales", *TEAM, strategy="round_robin")), MAIN)
    assert legs(decision.plan) == ["2001", "2002", "2003"]
    assert decision.memory.last_offered == {"sales": "2001"}
    assert "starts after nobody" in the_step(decision, "round robin").reason


def test_round_robin_wraps_around_after_the_last_member() -> None:
    decision = decide(team_table(group("sales", *TEAM, strategy="round_robin")), MAIN, memory=RoutingMemory(last_offered={"sales": "2003"}))
    assert legs(decision.plan) == ["2001", "2002", "2003"]
    assert decision.memory.last_offered == {"sales": "2001"}


def test_round_robin_remembers_the_first_member_actually_offered() -> None:
    memory = RoutingMemory(last_offered={"sales": "2001"}, seed=3)
    decision = decide(team_table(group("sales", *TEAM, strategy="round_robin")), MAIN, memory=memory, states={"2002": "busy"})
    assert legs(decision.plan) == ["2003", "2001"]
    assert decision.memory == RoutingMemory(last_offered={"sales": "2003"}, seed=3)
    assert memory.last_offered == {"sales": "2001"}  # the caller's memory is left alone


def test_round_robin_memory_feeds_the_next_call() -> None:
    routing = team_table(group("sales", *TEAM, strategy="round_robin"))
    memory = RoutingMemory()
    firsts = []
    for _ in range(4):
        decision = decide(routing, MAIN, memory=memory)
        firsts.append(legs(decision.plan)[0])
        memory = decision.memory
    assert firsts == ["2001", "2002", "2003", "2001"]


def test_round_robin_with_nobody_available_leaves_the_memory_as_it_was() -> None:
    memory = RoutingMemory(last_offered={"sales": "2002"})
    routing = team_table(group("sales", *TEAM, strategy="round_robin"))
    decision = decide(routing, MAIN, memory=memory, states={e: "busy" for e in TEAM})
    assert decision.plan == Missed()
    assert decision.memory == memory


def test_least_recent_rings_never_answered_members_first_then_longest_ago() -> None:
    memory = RoutingMemory(last_answered={"2001": 2000.0, "2002": 1000.0})
    decision = decide(team_table(group("sales", *TEAM, strategy="least_recent")), MAIN, memory=memory)
    assert legs(decision.plan) == ["2003", "2002", "2001"]
    assert the_step(decision, "least recently answered").matched
    assert decision.memory == memory


def test_least_recent_keeps_member_order_among_never_answered() -> None:
    decision = decide(team_table(group("sales", *TEAM, strategy="least_recent")), MAIN)
    assert legs(decision.plan) == list(TEAM)


def test_record_answer_moves_the_member_to_the_back_of_least_recent() -> None:
    routing = team_table(group("sales", *TEAM, strategy="least_recent"))
    memory = record_answer(RoutingMemory(), "2001", utc(2026, 6, 10, 9, 0))
    assert memory.last_answered == {"2001": utc(2026, 6, 10, 9, 0).timestamp()}
    assert legs(decide(routing, MAIN, memory=memory).plan) == ["2002", "2003", "2001"]
    memory = record_answer(memory, "2002", utc(2026, 6, 10, 9, 30))
    assert legs(decide(routing, MAIN, memory=memory).plan) == ["2003", "2001", "2002"]


def test_record_answer_leaves_the_given_memory_unchanged() -> None:
    memory = RoutingMemory(last_answered={"2002": 5.0})
    updated = record_answer(memory, "2001", utc(2026, 6, 10, 9, 0))
    assert memory.last_answered == {"2002": 5.0}
    assert updated.last_answered == {"2002": 5.0, "2001": utc(2026, 6, 10, 9, 0).timestamp()}


def random_order(seed: int, call_id: str) -> list[str]:
    members = ("2001", "2002", "2003", "2004")
    routing = table(*(user(e) for e in members), groups=(group("sales", *members, strategy="random"),),
                    numbers={MAIN: ToGroup(group="sales")})
    return legs(decide(routing, MAIN, memory=RoutingMemory(seed=seed), call_id=call_id).plan)


def test_random_order_is_the_same_for_the_same_seed_and_call() -> None:
    assert random_order(7, "call-1") == random_order(7, "call-1")
    assert sorted(random_order(7, "call-1")) == ["2001", "2002", "2003", "2004"]


def test_random_order_differs_between_calls() -> None:
    orders = {tuple(random_order(7, f"call-{i}")) for i in range(12)}
    assert len(orders) > 1


def test_random_order_differs_between_seeds() -> None:
    orders = {tuple(random_order(seed, "call-1")) for seed in range(12)}
    assert len(orders) > 1


def test_random_order_is_explained_with_its_seed_and_call() -> None:
    routing = team_table(group("sales", *TEAM, strategy="random"))
    decision = decide(routing, MAIN, memory=RoutingMemory(seed=42), call_id="abc")
    assert the_step(decision, "random").reason == "order drawn from seed 42 and call 'abc'"


@pytest.mark.parametrize(("fallback", "then"), [
    (ToExtension(extension="2004"), ring("2004")),
    (ToVoicemail(extension="2004"), voicemail("2004")),
    (ToRemote(pbx="malmo", member="3002"), Ring(legs=(Leg(endpoint=Endpoint(kind="remote", id="malmo/3002")),), **via("PBX malmo"))),
    (ToGroup(group="support"), Ring(legs=(Leg(endpoint=Endpoint(kind="user", id="2004"), seconds=20),), limit_seconds=60,
                                    **via("group support"))),
], ids=["extension", "voicemail", "remote", "group"])
def test_group_fallback_follows_when_nobody_answers(fallback: Any, then: Any) -> None:
    routing = team_table(group("sales", "2001", fallback=fallback), group("support", "2004"))
    decision = decide(routing, MAIN)
    assert decision.plan == Ring(legs=(Leg(endpoint=Endpoint(kind="user", id="2001"), seconds=20),), limit_seconds=60,
                                 **via("group sales"), then=then)
    step = the_step(decision, "if nobody answers", "group sales")
    assert step.matched and step.reason.startswith("after 60 s (sequential): then ")


def test_group_without_fallback_ends_in_a_missed_call_after_ringing() -> None:
    decision = decide(team_table(group("sales", "2001")), MAIN)
    assert isinstance(decision.plan, Ring) and decision.plan.then is None


def test_group_with_no_available_member_goes_to_the_fallback_at_once() -> None:
    routing = team_table(group("sales", "2001", member("2002", excluded=True), fallback=ToVoicemail(extension="2004")))
    decision = decide(routing, MAIN, states={"2001": "busy"})
    assert decision.plan == voicemail("2004")
    step = the_step(decision, "if nobody answers")
    assert step.matched and step.reason == "no member can take the call: then voicemail of 2004"


def test_group_with_no_available_member_and_no_fallback_is_missed() -> None:
    decision = decide(team_table(group("sales", "2001")), MAIN, states={"2001": "unreachable"})
    assert decision.plan == Missed()
    assert the_step(decision, "if nobody answers").reason == "no member can take the call: then nothing: a missed call"


def test_group_fallback_to_a_user_follows_that_users_rules() -> None:
    routing = table(user("2001"), user("2004", forward_always=ToNumber(number=MOBILE)),
                    groups=(group("sales", "2001", fallback=ToExtension(extension="2004")),), numbers={MAIN: ToGroup(group="sales")})
    assert decide(routing, MAIN).plan.then == Ring(legs=(Leg(endpoint=Endpoint(kind="external", id=MOBILE)),), **via(f"number {MOBILE}"))


def test_queue_with_no_agent_logged_in_goes_to_the_no_agents_destination() -> None:
    decision = decide(queue_table(when_no_agents=ToExtension(extension="2003")), MAIN, states={"2001": "unreachable", "2002": "excluded"})
    assert decision.plan == ring("2003")
    step = the_step(decision, "no agents", "queue support")
    assert step.matched and step.reason == "no agent is logged in and reachable: to extension 2003"


def test_queue_holds_the_caller_with_logged_in_agents_busy_or_free() -> None:
    routing = queue_table(max_wait_seconds=120, agent_ring_seconds=15, after_max_wait=ToVoicemail(extension="2003"),
                          when_no_agents=ToExtension(extension="2003"))
    decision = decide(routing, MAIN, states={"2001": "busy"})
    assert decision.plan == Queue(queue="support", agents=(Endpoint(kind="user", id="2001"), Endpoint(kind="user", id="2002")),
                                  strategy="longest_idle", agent_ring_seconds=15, wrap_up_seconds=10, max_wait_seconds=120,
                                  after_max_wait=voicemail("2003"), join_when="agent_reachable")
    assert the_step(decision, "no agents").reason == ("2 agents logged in, 2 reachable, 1 free; "
                                                      "callers join only when an agent is logged in and reachable")
    step = the_step(decision, "maximum wait")
    assert step.matched and step.reason == "waits at most 120 s, then voicemail of 2003"


def test_queue_without_a_max_wait_destination_ends_the_call_after_max_wait() -> None:
    decision = decide(queue_table(), MAIN)
    assert isinstance(decision.plan, Queue) and decision.plan.after_max_wait is None
    assert the_step(decision, "maximum wait").reason == "waits at most 600 s, then the call ends"


def test_queue_with_no_agents_and_no_no_agents_destination_waits_anyway() -> None:
    decision = decide(queue_table(), MAIN, states={"2001": "unreachable", "2002": "unreachable"})
    assert isinstance(decision.plan, Queue) and decision.plan.agents == ()
    assert not the_step(decision, "no agents").matched
