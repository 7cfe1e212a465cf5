"""Recorded calls against what the configuration allowed: possible_outcomes and allows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from core.aggregates.targets import TextToSpeech
from core.projections import Possible, RecordedCall, allows, describe_possible, possible_outcomes
from core.routing import (
    BusyTone,
    Endpoint,
    HopLimit,
    Leg,
    Lookup,
    Menu,
    Message,
    Missed,
    Queue,
    Ring,
    Unavailable,
    Voicemail,
)

AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
HELLO = TextToSpeech(text="Hello", language="en")


def call(outcome: str, endpoint: str | None = None, **fields: Any) -> RecordedCall:
    return RecordedCall(call_id="c1", to="+442071234567", at=AT, outcome=outcome, endpoint=endpoint, **fields)  # type: ignore[arg-type]


def user(extension: str) -> Endpoint:
    return Endpoint(kind="user", id=extension)


def ring(*extensions: str, then: Any = None) -> Ring:
    return Ring(legs=tuple(Leg(endpoint=user(e), seconds=20) for e in extensions), via="test", then=then)


def queue(*agents: str, after: Any = None) -> Queue:
    return Queue(queue="support", agents=tuple(user(a) for a in agents), strategy="longest_idle", agent_ring_seconds=20,
                 wrap_up_seconds=10, max_wait_seconds=600, after_max_wait=after)


def test_a_ring_allows_an_answer_by_any_of_its_legs() -> None:
    possible = possible_outcomes(ring("2001", "2002"))
    assert possible.answered == {"2001", "2002"}
    assert allows(possible, call("answered", "2001"))
    assert allows(possible, call("answered", "2002"))


def test_a_ring_refuses_an_answer_by_another_extension() -> None:
    assert not allows(possible_outcomes(ring("2001", "2002")), call("answered", "2003"))


def test_an_answer_without_an_endpoint_is_refused() -> None:
    assert not allows(possible_outcomes(ring("2001")), call("answered"))


def test_a_ring_with_nothing_after_it_allows_a_missed_call() -> None:
    possible = possible_outcomes(ring("2001"))
    assert "missed" in possible.endings
    assert allows(possible, call("missed"))


def test_a_ring_then_voicemail_still_allows_a_missed_call_the_caller_hung_up_while_it_rang() -> None:
    possible = possible_outcomes(ring("2001", then=Voicemail(box="2001")))
    assert possible.endings == frozenset()
    assert allows(possible, call("missed"))


def test_a_ring_then_voicemail_allows_that_box_and_answers_by_its_legs() -> None:
    possible = possible_outcomes(ring("2001", then=Voicemail(box="2001")))
    assert possible == Possible(answered=frozenset({"2001"}), voicemail=frozenset({"2001"}))
    assert allows(possible, call("voicemail", "2001"))


def test_a_chain_of_rings_allows_an_answer_at_every_step() -> None:
    possible = possible_outcomes(ring("2001", then=ring("2002", then=ring("2003"))))
    assert possible.answered == {"2001", "2002", "2003"}


def test_a_ring_of_other_endpoints_allows_them_by_id() -> None:
    plan = Ring(legs=(Leg(endpoint=Endpoint(kind="external", id="+441234567890")),
                      Leg(endpoint=Endpoint(kind="remote", id="malmo/3001"))), mode="parallel", via="test")
    possible = possible_outcomes(plan)
    assert allows(possible, call("answered", "+441234567890"))
    assert allows(possible, call("answered", "malmo/3001"))
    assert not allows(possible, call("answered", "+449999999999"))


def test_a_ring_does_not_allow_a_busy_tone_or_a_message() -> None:
    possible = possible_outcomes(ring("2001"))
    assert not allows(possible, call("busy"))
    assert not allows(possible, call("message"))
    assert not allows(possible, call("unavailable"))


def test_voicemail_allows_only_its_own_box() -> None:
    possible = possible_outcomes(Voicemail(box="2002", greeting=HELLO))
    assert possible == Possible(voicemail=frozenset({"2002"}))
    assert allows(possible, call("voicemail", "2002"))
    assert not allows(possible, call("voicemail", "2001"))
    assert not allows(possible, call("answered", "2002"))


def test_a_busy_tone_allows_busy_only() -> None:
    possible = possible_outcomes(BusyTone())
    assert possible.endings == {"busy"}
    assert allows(possible, call("busy"))
    assert not allows(possible, call("missed"))
    assert not allows(possible, call("voicemail", "2001"))


def test_a_message_allows_message_only() -> None:
    possible = possible_outcomes(Message(message=HELLO))
    assert possible.endings == {"message"}
    assert allows(possible, call("message"))
    assert not allows(possible, call("busy"))


def test_unavailable_allows_unavailable_only() -> None:
    possible = possible_outcomes(Unavailable())
    assert possible.endings == {"unavailable"}
    assert allows(possible, call("unavailable"))
    assert not allows(possible, call("answered", "2001"))


def test_missed_allows_a_missed_call() -> None:
    possible = possible_outcomes(Missed())
    assert possible.endings == {"missed"}
    assert allows(possible, call("missed"))


def test_no_plan_at_all_allows_only_a_missed_call() -> None:
    possible = possible_outcomes(None)
    assert possible == Possible(endings=frozenset({"missed"}))
    assert not allows(possible, call("answered", "2001"))


def test_a_menu_allows_the_outcome_of_every_branch() -> None:
    plan = Menu(ivr="main", prompt=HELLO, timeout_seconds=5, retries=2,
                options={"1": ring("2001"), "2": Voicemail(box="2002")},
                on_invalid=Message(message=HELLO), on_no_input=BusyTone())
    possible = possible_outcomes(plan)
    assert possible.answered == {"2001"}
    assert possible.voicemail == {"2002"}
    assert possible.endings == {"message", "busy", "missed"}
    for recorded in (call("answered", "2001"), call("voicemail", "2002"), call("message"), call("busy")):
        assert allows(possible, recorded)


def test_a_menu_allows_the_caller_hanging_up_in_it() -> None:
    plan = Menu(ivr="main", prompt=HELLO, timeout_seconds=5, retries=2, options={"1": Voicemail(box="2002")})
    assert allows(possible_outcomes(plan), call("missed"))


def test_a_menu_refuses_what_none_of_its_branches_allows() -> None:
    plan = Menu(ivr="main", prompt=HELLO, timeout_seconds=5, retries=2, options={"1": ring("2001")})
    possible = possible_outcomes(plan)
    assert not allows(possible, call("answered", "2002"))
    assert not allows(possible, call("voicemail", "2001"))
    assert not allows(possible, call("unavailable"))


def test_a_queue_allows_an_answer_by_any_agent() -> None:
    possible = possible_outcomes(queue("2001", "2002"))
    assert possible.answered == {"2001", "2002"}
    assert allows(possible, call("answered", "2002"))
    assert not allows(possible, call("answered", "2003"))


def test_a_queue_allows_a_missed_call_and_what_follows_the_maximum_wait() -> None:
    possible = possible_outcomes(queue("2001", after=Voicemail(box="2003")))
    assert allows(possible, call("missed"))
    assert allows(possible, call("voicemail", "2003"))
    assert not allows(possible, call("voicemail", "2001"))


def test_a_queue_without_agents_still_allows_a_missed_call() -> None:
    possible = possible_outcomes(queue())
    assert possible.answered == frozenset()
    assert allows(possible, call("missed"))


def test_a_lookup_allows_an_answer_at_any_number() -> None:
    possible = possible_outcomes(Lookup(source="webhook", url="https://crm.example/who", then=Voicemail(box="2001")))
    assert possible.any_number
    assert allows(possible, call("answered", "+441234567890"))
    assert allows(possible, call("answered", "+46701234567"))
    assert allows(possible, call("voicemail", "2001"))


def test_a_lookup_does_not_allow_an_extension_its_fallback_does_not_ring() -> None:
    possible = possible_outcomes(Lookup(source="responsible_manager", then=ring("2001")))
    assert allows(possible, call("answered", "2001"))
    assert not allows(possible, call("answered", "2002"))


def test_a_hop_limit_ends_as_a_missed_call() -> None:
    possible = possible_outcomes(HopLimit(path=("user 2001", "user 2002", "user 2001")))
    assert possible == Possible(endings=frozenset({"missed"}))
    assert allows(possible, call("missed"))
    assert not allows(possible, call("answered", "2001"))


def test_a_ring_ending_at_the_hop_limit_allows_its_legs_and_a_missed_call() -> None:
    possible = possible_outcomes(ring("2001", then=HopLimit(path=("user 2001", "user 2002"))))
    assert allows(possible, call("answered", "2001"))
    assert allows(possible, call("missed"))


def test_a_recorded_call_reads_its_caller_from_the_from_field() -> None:
    line = b'{"call_id":"c1","to":"2001","at":"2026-11-20T12:00:00Z","outcome":"missed","from":"+441234567890"}'
    recorded = msgspec.json.decode(line, type=RecordedCall)
    assert recorded.caller == "+441234567890"
    assert recorded.at == AT


def test_a_recorded_call_without_from_is_anonymous() -> None:
    recorded = msgspec.json.decode(b'{"call_id":"c1","to":"2001","at":"2026-11-20T12:00:00Z","outcome":"missed"}',
                                   type=RecordedCall)
    assert recorded.caller is None


@pytest.mark.parametrize(("line", "path"), [
    (b'{"call_id":"c1","to":"2001","at":"noon","outcome":"missed"}', "$.at"),
    (b'{"call_id":"c1","to":"2001","at":"2026-11-20T12:00:00Z","outcome":"rang"}', "$.outcome"),
    (b'{"call_id":"","to":"2001","at":"2026-11-20T12:00:00Z","outcome":"missed"}', "$.call_id"),
    (b'{"call_id":"c1","to":"2001","at":"2026-11-20T12:00:00Z","outcome":"missed","states":{"2001":"asleep"}}',
     "$.states"),
])
def test_a_malformed_recorded_call_names_the_field(line: bytes, path: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=rf"`\{path}"):
        msgspec.json.decode(line, type=RecordedCall)


def test_a_recorded_call_with_an_unknown_field_is_refused() -> None:
    line = b'{"call_id":"c1","to":"2001","at":"2026-11-20T12:00:00Z","outcome":"missed","caller":"+441234567890"}'
    with pytest.raises(msgspec.ValidationError, match="unknown field `caller`"):
        msgspec.json.decode(line, type=RecordedCall)


def test_describe_possible_lists_answers_boxes_and_endings() -> None:
    plan = Menu(ivr="main", prompt=HELLO, timeout_seconds=5, retries=0,
                options={"1": ring("2002", "2001"), "2": Voicemail(box="2003"), "3": Lookup(source="webhook", url="https://x.example")})
    assert describe_possible(possible_outcomes(plan)) == (
        "answered by 2001, 2002; answered at a number looked up at call time; voicemail of 2003; missed")


def test_describe_possible_of_nothing_says_nothing() -> None:
    assert describe_possible(Possible()) == "nothing"
