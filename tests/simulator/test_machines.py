"""The call and agent state machines: every listed transition, and nothing else.

``CALL_TRANSITIONS`` and ``AGENT_TRANSITIONS`` are the whole behaviour: each allowed
(state, event) pair gives the listed state; every other pair raises ``IllegalTransition``
and leaves the machine as it was. A call's token (which makes older timers stale) grows
by one on every transition.
"""

from __future__ import annotations

import math

import pytest

from simulator.machines import AGENT_TRANSITIONS, CALL_TRANSITIONS, ROUTING_STATE, Agent, Call, IllegalTransition

CALL_STATES = sorted({state for state, _ in CALL_TRANSITIONS} | set(CALL_TRANSITIONS.values()))
CALL_EVENTS = sorted({event for _, event in CALL_TRANSITIONS})
AGENT_STATES = sorted({state for state, _ in AGENT_TRANSITIONS} | set(AGENT_TRANSITIONS.values()))
AGENT_EVENTS = sorted({event for _, event in AGENT_TRANSITIONS})

ILLEGAL_CALL = [(s, e) for s in CALL_STATES for e in CALL_EVENTS if (s, e) not in CALL_TRANSITIONS]
ILLEGAL_AGENT = [(s, e) for s in AGENT_STATES for e in AGENT_EVENTS if (s, e) not in AGENT_TRANSITIONS]


def new_call(patience: float = math.inf) -> Call:
    return Call(7, "+46812345600", "+46701234567", None, 12.5, patience)


def call_in(state: str) -> Call:
    call = new_call()
    call.state = state
    return call


def agent_in(state: str) -> Agent:
    agent = Agent("2001")
    agent.state = state
    return agent


def test_the_tables_cover_the_states_the_switch_uses() -> None:
    assert CALL_STATES == sorted(["arrived", "ringing", "ivr", "queued", "talking", "ended"])
    assert AGENT_STATES == sorted(["offline", "available", "ringing", "talking", "wrap_up", "unreachable"])
    assert set(ROUTING_STATE) == set(AGENT_STATES), "every agent state must look like something to routing"
    assert ROUTING_STATE["available"] == "available" and ROUTING_STATE["offline"] == "unreachable"
    assert ROUTING_STATE["unreachable"] == "unreachable", "routing cannot tell a lost phone from a logged-out agent"
    assert {ROUTING_STATE[s] for s in ("ringing", "talking", "wrap_up")} == {"busy"}
    # the sample of illegal pairs below is not empty, and ended is terminal
    assert len(ILLEGAL_CALL) >= 20 and len(ILLEGAL_AGENT) >= 20
    assert not [pair for pair in CALL_TRANSITIONS if pair[0] == "ended"]


@pytest.mark.parametrize(("state", "event"), sorted(CALL_TRANSITIONS), ids=lambda v: v)
def test_every_allowed_call_transition_gives_the_listed_state(state: str, event: str) -> None:
    call = call_in(state)
    token = call.token
    assert call.transition(event) == CALL_TRANSITIONS[(state, event)]
    assert call.state == CALL_TRANSITIONS[(state, event)]
    assert call.token == token + 1


@pytest.mark.parametrize(("state", "event"), ILLEGAL_CALL, ids=lambda v: v)
def test_an_unlisted_call_transition_raises_and_changes_nothing(state: str, event: str) -> None:
    call = call_in(state)
    token = call.token
    with pytest.raises(IllegalTransition) as raised:
        call.transition(event)
    assert f"call 7: {event!r} in state {state!r}" in str(raised.value)
    assert (call.state, call.token) == (state, token)


@pytest.mark.parametrize("event", ["dance", "", "ANSWER"])
def test_an_unknown_call_event_raises(event: str) -> None:
    with pytest.raises(IllegalTransition):
        new_call().transition(event)


@pytest.mark.parametrize(("state", "event"), sorted(AGENT_TRANSITIONS), ids=lambda v: v)
def test_every_allowed_agent_transition_gives_the_listed_state(state: str, event: str) -> None:
    agent = agent_in(state)
    assert agent.transition(event) == AGENT_TRANSITIONS[(state, event)]
    assert agent.state == AGENT_TRANSITIONS[(state, event)]


@pytest.mark.parametrize(("state", "event"), ILLEGAL_AGENT, ids=lambda v: v)
def test_an_unlisted_agent_transition_raises_and_changes_nothing(state: str, event: str) -> None:
    agent = agent_in(state)
    with pytest.raises(IllegalTransition) as raised:
        agent.transition(event)
    assert f"agent 2001: {event!r} in state {state!r}" in str(raised.value)
    assert agent.state == state


def test_the_call_token_grows_by_one_on_each_transition_of_a_whole_life() -> None:
    call = new_call()
    assert (call.state, call.token) == ("arrived", 0)
    path = ["enter_ivr", "enter_ivr", "ring", "enqueue", "offer", "offer", "ring", "enqueue", "answer", "hang_up"]
    states = []
    for expected_token, event in enumerate(path, start=1):
        states.append(call.transition(event))
        assert call.token == expected_token
    assert states == ["ivr", "ivr", "ringing", "queued", "queued", "queued", "ringing", "queued", "talking", "ended"]
    with pytest.raises(IllegalTransition):
        call.transition("hang_up")
    assert call.token == len(path), "a refused transition does not bump the token"


def test_an_agent_goes_round_its_whole_cycle() -> None:
    agent = Agent("2001")
    assert agent.state == "offline"
    events = ["log_in", "offer", "miss", "offer", "caller_gone", "offer", "answered_elsewhere", "offer", "answer", "hang_up",
              "ready", "offer", "answer", "hang_up", "ready_to_leave"]
    assert [agent.transition(e) for e in events] == ["available", "ringing", "available", "ringing", "available", "ringing",
                                                     "available", "ringing", "talking", "wrap_up", "available", "ringing",
                                                     "talking", "wrap_up", "offline"]


def test_a_call_deadline_is_its_arrival_plus_patience() -> None:
    assert new_call().deadline == math.inf
    assert new_call(30.0).deadline == 42.5
    assert new_call(0.0).deadline == 12.5
