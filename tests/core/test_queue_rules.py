"""A queue's entry and exit rules (Asterisk's ``joinempty``, ``leavewhenempty``, ``retry``): stored, checked, routed.

``join_when`` says which agents must be there for a caller to join, ``leave_when`` when waiting
callers leave, both on one ladder (logged in; logged in and reachable; free); callers turned away
or leaving go to ``when_no_agents``. ``retry_seconds`` is the pause between ring rounds. A queue
saved before the rules existed keeps its meaning: with a ``when_no_agents`` destination a caller
joins only when an agent is logged in and reachable, without one always; nobody leaves; no pause.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from core.aggregates.context import Actor
from core.aggregates.services import CallQueue
from core.aggregates.targets import ToExtension, ToVoicemail
from core.errors import ValidationFailed
from core.projections.compare import possible_outcomes
from core.routing import Queue
from core.service import CallrouteApp
from tests.core.conftest import events_of, rejected
from tests.core.routing_builders import MAIN, decide, queue_table, ring, the_step

TO_2003 = ToExtension(extension="2003")


def save(app: CallrouteApp, actor: Actor, tenant: str, **spec: Any) -> None:
    app.save_queue(actor=actor, tenant=tenant, queue="support", spec=CallQueue(name="Support", agents=("2001",), **spec))


# -- the stored queue ---------------------------------------------------------------------------


def test_a_queue_without_rules_is_stored_as_before_they_existed(app: CallrouteApp, actor: Actor, acme: str) -> None:
    save(app, actor, acme)
    stored = msgspec.json.decode(msgspec.json.encode(events_of(app, acme)[-1].queue))
    assert not {"join_when", "leave_when", "retry_seconds"} & set(stored)


def test_a_stored_queue_with_a_no_agents_destination_keeps_its_old_rules() -> None:
    stored = msgspec.json.decode(b'{"name": "S", "when_no_agents": {"kind": "voicemail", "extension": "2001"}}', type=CallQueue)
    assert (stored.join_rule, stored.leave_rule, stored.retry_pause) == ("agent_reachable", "never", 0)


def test_a_stored_queue_without_a_no_agents_destination_lets_every_caller_join() -> None:
    assert msgspec.json.decode(b'{"name": "S"}', type=CallQueue).join_rule == "always"


def test_save_queue_records_the_rules_it_is_given(app: CallrouteApp, actor: Actor, acme: str) -> None:
    save(app, actor, acme, when_no_agents=ToExtension(extension="2002"), join_when="agent_free", leave_when="no_agent_logged_in",
         retry_seconds=5)
    queue = app.tenant(acme).state.queues["support"]
    assert (queue.join_rule, queue.leave_rule, queue.retry_pause) == ("agent_free", "no_agent_logged_in", 5)


@pytest.mark.parametrize("rule", ["agent_logged_in", "agent_reachable", "agent_free"])
def test_save_queue_refuses_a_join_rule_with_nowhere_to_send_refused_callers(app: CallrouteApp, actor: Actor, acme: str,
                                                                           rule: str) -> None:
    with rejected(app, ValidationFailed, field="spec.join_when", match="set spec.when_no_agents"):
        save(app, actor, acme, join_when=rule)


def test_save_queue_lets_every_caller_join_with_no_destination(app: CallrouteApp, actor: Actor, acme: str) -> None:
    save(app, actor, acme, join_when="always", leave_when="never")
    assert app.tenant(acme).state.queues["support"].join_rule == "always"


@pytest.mark.parametrize("rule", ["no_agent_logged_in", "no_agent_reachable", "no_agent_free"])
def test_save_queue_refuses_a_leave_rule_with_nowhere_to_send_leaving_callers(app: CallrouteApp, actor: Actor, acme: str,
                                                                            rule: str) -> None:
    with rejected(app, ValidationFailed, field="spec.leave_when", match="set spec.when_no_agents"):
        save(app, actor, acme, leave_when=rule)


def test_save_queue_refuses_a_pause_between_rounds_as_long_as_the_maximum_wait(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, ValidationFailed, field="spec.retry_seconds", match="shorter than the maximum wait"):
        save(app, actor, acme, max_wait_seconds=60, retry_seconds=60)


def test_save_queue_accepts_a_pause_a_second_shorter_than_the_maximum_wait(app: CallrouteApp, actor: Actor, acme: str) -> None:
    save(app, actor, acme, max_wait_seconds=60, retry_seconds=59)
    assert app.tenant(acme).state.queues["support"].retry_pause == 59


# -- routing ----------------------------------------------------------------------------------


def rules_table(**rules: Any) -> Any:
    return queue_table(**{"when_no_agents": TO_2003, **rules})


def test_join_when_logged_in_lets_a_caller_join_while_every_agent_is_unreachable() -> None:
    decision = decide(rules_table(join_when="agent_logged_in"), MAIN, states={"2001": "unreachable", "2002": "unreachable"})
    assert isinstance(decision.plan, Queue) and decision.plan.join_when == "agent_logged_in"


def test_join_when_logged_in_turns_a_caller_away_when_every_agent_is_out_of_queue_calls() -> None:
    decision = decide(rules_table(join_when="agent_logged_in"), MAIN, states={"2001": "excluded", "2002": "excluded"})
    assert decision.plan == ring("2003")
    assert the_step(decision, "no agents").reason == "no agent is logged in: to extension 2003"


def test_join_when_reachable_turns_a_caller_away_when_every_agent_is_unreachable() -> None:
    decision = decide(rules_table(join_when="agent_reachable"), MAIN, states={"2001": "unreachable", "2002": "excluded"})
    assert decision.plan == ring("2003")


def test_join_when_reachable_lets_a_caller_join_while_every_agent_is_busy() -> None:
    decision = decide(rules_table(join_when="agent_reachable"), MAIN, states={"2001": "busy", "2002": "busy"})
    assert isinstance(decision.plan, Queue)


def test_join_when_free_turns_a_caller_away_when_every_agent_is_busy() -> None:
    decision = decide(rules_table(join_when="agent_free"), MAIN, states={"2001": "busy", "2002": "busy"})
    assert decision.plan == ring("2003")
    assert the_step(decision, "no agents").reason == "no agent is free: to extension 2003"


def test_join_when_free_lets_a_caller_join_with_one_agent_free() -> None:
    decision = decide(rules_table(join_when="agent_free"), MAIN, states={"2001": "busy"})
    assert isinstance(decision.plan, Queue)
    assert the_step(decision, "no agents").reason == ("2 agents logged in, 2 reachable, 1 free; "
                                                      "callers join only when an agent is free")


def test_join_always_lets_a_caller_join_an_empty_queue_and_does_not_depend_on_states() -> None:
    # A voicemail destination: ringing a user there would read that user's state.
    routing = queue_table(when_no_agents=ToVoicemail(extension="2003"), join_when="always")
    decision = decide(routing, MAIN, states={"2001": "unreachable", "2002": "unreachable"})
    assert isinstance(decision.plan, Queue) and decision.plan.agents == ()
    assert "states" not in decision.depends_on


def test_the_queue_node_carries_the_leave_rule_the_pause_and_where_callers_go_when_it_empties() -> None:
    decision = decide(rules_table(leave_when="no_agent_free", retry_seconds=5), MAIN)
    plan = decision.plan
    assert isinstance(plan, Queue)
    assert (plan.join_when, plan.leave_when, plan.retry_seconds, plan.when_empty) == ("agent_reachable", "no_agent_free", 5,
                                                                                       ring("2003"))
    assert the_step(decision, "leaving").reason == "waiting callers leave once no agent is free: to extension 2003"
    assert the_step(decision, "ring rounds").reason == "after a ring round nobody answers, the caller waits 5 s before the next"


def test_a_queue_saved_without_rules_gives_no_destination_for_an_emptied_queue_and_no_rule_steps() -> None:
    decision = decide(queue_table(when_no_agents=TO_2003), MAIN)
    assert isinstance(decision.plan, Queue) and decision.plan.when_empty is None
    assert not [s for s in decision.explanation if s.rule in ("leaving", "ring rounds")]


def test_a_recorded_call_may_end_where_an_emptied_queue_sends_its_callers() -> None:
    plan = decide(rules_table(leave_when="no_agent_logged_in", when_no_agents=ToVoicemail(extension="2003")), MAIN).plan
    assert possible_outcomes(plan).voicemail == {"2003"}
