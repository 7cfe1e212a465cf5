"""Routing decisions (core/routing/): a call to a user, numbers, loops, and the decision itself.

Groups and queues are in test_routing_groups.py, IVR menus and schemes in
test_routing_menus.py, time boundaries in test_routing_time.py, the explained and
unexplained paths compared in test_routing_properties.py; builders in routing_builders.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from core.aggregates.schedule import OutOfHours, UnavailableAllDay
from core.aggregates.services import IvrMenu
from core.aggregates.targets import BusyTone as BusyToneHandling
from core.aggregates.targets import (
    ForwardTo,
    HandleWithVoicemail,
    MessageAndHangUp,
    NoAnswerRule,
    Off,
    ToExtension,
    ToGroup,
    ToIvr,
    ToNumber,
    ToVoicemail,
)
from core.routing import (
    DEFAULT_HOP_LIMIT,
    BusyTone,
    Call,
    Endpoint,
    HopLimit,
    Leg,
    Menu,
    Message,
    Ring,
    Unavailable,
    UnknownNumberError,
    route,
)
from tests.core.routing_builders import (
    CALLER,
    MAIN,
    MOBILE,
    NOON,
    NOT_IN_USE,
    PROMPT,
    SORRY,
    SPARE,
    decide,
    group,
    ring,
    rules,
    steps,
    table,
    the_step,
    user,
    via,
    voicemail,
)


def test_available_user_rings_for_the_no_answer_time_then_goes_to_the_no_answer_target() -> None:
    routing = table(user("2001", no_answer=NoAnswerRule(target=ToVoicemail(), ring_seconds=20)))
    decision = decide(routing)
    assert decision.plan == ring("2001", 20, then=voicemail("2001"))
    step = the_step(decision, "no answer", "user 2001")
    assert step.matched and step.reason == "rings 20 s, then to voicemail"


def test_explanation_lists_the_user_rules_in_the_documented_order() -> None:
    decision = decide(table(user("2001", no_answer=NoAnswerRule(target=ToVoicemail(), ring_seconds=20))))
    assert rules(decision, "user 2001") == ["anonymous rejection", "forward always", "permanent redirect", "redirect always",
                                            "out of hours", "unreachable", "busy", "no answer"]
    assert [s.matched for s in decision.explanation if s.at == "user 2001"] == [False] * 7 + [True]


def test_explanation_records_the_permanent_redirect_as_not_matching() -> None:
    decision = decide(table(user("2001")))
    assert not the_step(decision, "permanent redirect", "user 2001").matched


def test_no_answer_off_keeps_ringing_without_a_limit_or_a_next_step() -> None:
    decision = decide(table(user("2001", no_answer=NoAnswerRule(target=Off(), ring_seconds=20))))
    assert decision.plan == ring("2001", None)
    assert decision.plan.then is None
    step = the_step(decision, "no answer")
    assert not step.matched and "keeps ringing" in step.reason


def test_no_answer_to_another_extension_follows_that_users_rules() -> None:
    routing = table(
        user("2001", no_answer=NoAnswerRule(target=ToExtension(extension="2002"), ring_seconds=15)),
        user("2002", no_answer=NoAnswerRule(target=ToVoicemail(), ring_seconds=25)),
    )
    assert decide(routing).plan == ring("2001", 15, then=ring("2002", 25, then=voicemail("2002")))


def test_no_answer_to_a_number_without_always_rings_the_user_first() -> None:
    routing = table(user("2001", no_answer=NoAnswerRule(target=ToNumber(number=MOBILE, announce=True), ring_seconds=30)))
    plan = decide(routing).plan
    assert plan == ring("2001", 30, then=Ring(legs=(Leg(endpoint=Endpoint(kind="external", id=MOBILE), announce=True),),
                                               **via(f"number {MOBILE}")))


@pytest.mark.parametrize(("handling", "expected"), [
    (HandleWithVoicemail(), voicemail("2001")),
    (MessageAndHangUp(message=SORRY), Message(message=SORRY)),
    (BusyToneHandling(), BusyTone()),
    (ForwardTo(target=ToExtension(extension="2002")), ring("2002")),
    (ForwardTo(target=ToNumber(number=MOBILE)), Ring(legs=(Leg(endpoint=Endpoint(kind="external", id=MOBILE)),),
                                                     **via(f"number {MOBILE}"))),
], ids=["voicemail", "message-and-hang-up", "busy-tone", "forward-extension", "forward-number"])
def test_anonymous_caller_gets_the_rejected_call_handling(handling: Any, expected: Any) -> None:
    routing = table(user("2001", reject_anonymous=True, rejected=handling), user("2002"))
    decision = decide(routing, caller=None)
    assert decision.plan == expected
    step = the_step(decision, "anonymous rejection", "user 2001")
    assert step.matched and "withholds" in step.reason


def test_anonymous_rejection_wins_over_forward_always() -> None:
    routing = table(user("2001", reject_anonymous=True, rejected=BusyToneHandling(), forward_always=ToExtension(extension="2002")),
                    user("2002"))
    decision = decide(routing, caller=None)
    assert decision.plan == BusyTone()
    assert rules(decision, "user 2001") == ["anonymous rejection"]
    assert steps(decision, "forward always") == []


def test_caller_with_a_number_is_not_rejected() -> None:
    decision = decide(table(user("2001", reject_anonymous=True, rejected=BusyToneHandling())))
    assert decision.plan == ring("2001")
    step = the_step(decision, "anonymous rejection")
    assert not step.matched and step.reason == f"caller id {CALLER} is present"


def test_the_decision_says_as_data_when_anonymous_rejection_decided() -> None:
    routing = table(user("2001", reject_anonymous=True, rejected=BusyToneHandling()))
    assert decide(routing, caller=None).rejected_anonymous is True
    assert decide(routing).rejected_anonymous is False
    assert decide(table(user("2001")), caller=None).rejected_anonymous is False


def test_anonymous_caller_rings_when_the_user_does_not_reject_anonymous_calls() -> None:
    decision = decide(table(user("2001")), caller=None)
    assert decision.plan == ring("2001")
    assert the_step(decision, "anonymous rejection").reason == "reject anonymous is off"


def test_forward_always_wins_over_out_of_hours() -> None:
    routing = table(user("2001", forward_always=ToExtension(extension="2002"),
                         out_of_hours=OutOfHours(days={"wed": UnavailableAllDay()})), user("2002"))
    decision = decide(routing)
    assert decision.plan == ring("2002")
    step = the_step(decision, "forward always", "user 2001")
    assert step.matched and step.reason == "every call goes to extension 2002"
    assert steps(decision, "out of hours", "user 2001") == []


def test_forward_always_to_a_number() -> None:
    routing = table(user("2001", forward_always=ToNumber(number=MOBILE, present_dialled_number=True)))
    plan = decide(routing).plan
    assert plan == Ring(legs=(Leg(endpoint=Endpoint(kind="external", id=MOBILE), present_dialled_number=True),), **via(f"number {MOBILE}"))


def test_forward_always_to_bare_voicemail_means_the_users_own_box() -> None:
    decision = decide(table(user("2001", forward_always=ToVoicemail()), user("2002")))
    assert decision.plan == voicemail("2001")


def test_bare_voicemail_as_no_answer_target_means_the_users_own_box() -> None:
    routing = table(user("2001"), user("2002", no_answer=NoAnswerRule(target=ToVoicemail(), ring_seconds=10)))
    assert decide(routing, "2002").plan == ring("2002", 10, then=voicemail("2002"))


def test_voicemail_of_another_extension_uses_that_box_and_its_greeting() -> None:
    routing = table(user("2001", busy=ToVoicemail(extension="2002")), user("2002"))
    assert decide(routing, states={"2001": "busy"}).plan == voicemail("2002")


def test_permanent_redirect_sends_every_call_to_the_device_redirect() -> None:
    routing = table(user("2001", permanent_redirect=MOBILE, out_of_hours=OutOfHours(days={"wed": UnavailableAllDay()})))
    decision = decide(routing, states={"2001": "unreachable"})
    assert decision.plan == Ring(legs=(Leg(endpoint=Endpoint(kind="external", id=MOBILE)),), **via("user 2001 redirect"))
    step = the_step(decision, "permanent redirect")
    assert step.matched and MOBILE in step.reason
    assert steps(decision, "out of hours") == []


def test_forward_always_wins_over_the_permanent_redirect() -> None:
    routing = table(user("2001", forward_always=ToExtension(extension="2002"), permanent_redirect=MOBILE), user("2002"))
    decision = decide(routing)
    assert decision.plan == ring("2002")
    assert [s.at for s in steps(decision, "permanent redirect")] == ["user 2002"]  # 2001's redirect is never consulted


def test_no_answer_number_divert_marked_always_redirects_at_once() -> None:
    target = ToNumber(number=MOBILE, announce=True, always=True)
    routing = table(user("2001", no_answer=NoAnswerRule(target=target, ring_seconds=30),
                         out_of_hours=OutOfHours(days={"wed": UnavailableAllDay()})))
    decision = decide(routing)
    assert decision.plan == Ring(legs=(Leg(endpoint=Endpoint(kind="external", id=MOBILE), announce=True),),
                                 **via("user 2001 always-redirect"))
    step = the_step(decision, "no answer divert marked always")
    assert step.matched and MOBILE in step.reason
    assert steps(decision, "out of hours") == []


def test_busy_number_divert_marked_always_redirects_at_once_even_when_available() -> None:
    decision = decide(table(user("2001", busy=ToNumber(number=MOBILE, always=True))))
    assert decision.plan == Ring(legs=(Leg(endpoint=Endpoint(kind="external", id=MOBILE)),), **via("user 2001 always-redirect"))
    assert the_step(decision, "busy divert marked always").matched


def test_out_of_hours_sends_the_call_to_the_unavailable_handling() -> None:
    schedule = OutOfHours(days={"wed": UnavailableAllDay()}, when_unavailable=ToExtension(extension="2002"))
    decision = decide(table(user("2001", out_of_hours=schedule), user("2002")))
    assert decision.plan == ring("2002")
    step = the_step(decision, "out of hours", "user 2001")
    assert step.matched and "wed unavailable all day" in step.reason and "extension 2002" in step.reason


def test_out_of_hours_wins_over_unreachable() -> None:
    routing = table(user("2001", out_of_hours=OutOfHours(days={"wed": UnavailableAllDay()}), unreachable=ToNumber(number=MOBILE)))
    decision = decide(routing, states={"2001": "unreachable"})
    assert decision.plan == voicemail("2001")
    assert the_step(decision, "out of hours").matched
    assert steps(decision, "unreachable") == []


def test_unreachable_wins_over_the_busy_divert() -> None:
    routing = table(user("2001", unreachable=ToNumber(number=MOBILE), busy=ToVoicemail()))
    decision = decide(routing, states={"2001": "unreachable"})
    assert decision.plan == Ring(legs=(Leg(endpoint=Endpoint(kind="external", id=MOBILE)),), **via(f"number {MOBILE}"))
    step = the_step(decision, "unreachable")
    assert step.matched and MOBILE in step.reason
    assert steps(decision, "busy") == []


def test_unreachable_with_the_divert_off_is_unavailable() -> None:
    decision = decide(table(user("2001", busy=ToVoicemail())), states={"2001": "unreachable"})
    assert decision.plan == Unavailable()
    step = the_step(decision, "unreachable")
    assert step.matched and "divert is off" in step.reason


def test_busy_with_call_waiting_off_goes_to_the_busy_target() -> None:
    routing = table(user("2001", busy=ToExtension(extension="2002")), user("2002"))
    decision = decide(routing, states={"2001": "busy"})
    assert decision.plan == ring("2002")
    step = the_step(decision, "busy", "user 2001")
    assert step.matched and "call waiting is off" in step.reason


def test_busy_with_call_waiting_off_and_the_divert_off_gives_the_engaged_tone() -> None:
    decision = decide(table(user("2001")), states={"2001": "busy"})
    assert decision.plan == BusyTone()
    assert the_step(decision, "busy").matched


def test_busy_with_call_waiting_on_rings_the_user() -> None:
    routing = table(user("2001", call_waiting=True, busy=ToVoicemail(), no_answer=NoAnswerRule(target=ToVoicemail(), ring_seconds=20)))
    decision = decide(routing, states={"2001": "busy"})
    assert decision.plan == ring("2001", 20, then=voicemail("2001"))
    step = the_step(decision, "busy")
    assert not step.matched and "call waiting is on" in step.reason


def test_excluded_endpoint_still_receives_direct_calls() -> None:
    decision = decide(table(user("2001")), states={"2001": "excluded"})
    assert decision.plan == ring("2001")
    assert the_step(decision, "unreachable").reason == "the phone is excluded"


def test_explanation_depth_grows_along_the_forwarding_path() -> None:
    decision = decide(table(user("2001", forward_always=ToExtension(extension="2002")), user("2002")))
    assert {s.depth for s in decision.explanation if s.at == "user 2001"} == {1}
    assert {s.depth for s in decision.explanation if s.at == "user 2002"} == {2}


def test_dialled_extension_routes_internally() -> None:
    decision = decide(table(user("2001")), "2001")
    step = decision.explanation[0]
    assert (step.at, step.rule, step.matched) == ("number 2001", "entry", True)
    assert step.reason.startswith("internal call to extension 2001 at wed 2026-06-10 12:00:00 CEST")


@pytest.mark.parametrize(("handling", "expected"), [
    (MessageAndHangUp(message=NOT_IN_USE), Message(message=NOT_IN_USE)),
    (BusyToneHandling(), BusyTone()),
    (ForwardTo(target=ToExtension(extension="2001")), ring("2001")),
], ids=["message", "busy-tone", "forward"])
def test_unassigned_number_gets_the_tenants_unassigned_handling(handling: Any, expected: Any) -> None:
    routing = table(user("2001"), numbers={SPARE: None}, unassigned=handling)
    decision = decide(routing, SPARE)
    assert decision.plan == expected
    step = decision.explanation[0]
    assert (step.at, step.rule, step.matched) == (f"number {SPARE}", "entry", True)
    assert "routes nowhere" in step.reason and "unassigned-number handling" in step.reason


def test_number_enters_at_its_destination() -> None:
    routing = table(user("2001"), numbers={MAIN: ToExtension(extension="2001")})
    decision = decide(routing, MAIN)
    assert decision.plan == ring("2001")
    assert decision.explanation[0].reason.startswith(f"{MAIN} enters at extension 2001 at wed 2026-06-10 12:00:00 CEST")


def test_number_dialled_without_plus_is_found() -> None:
    routing = table(user("2001"), numbers={MAIN: ToExtension(extension="2001")})
    assert decide(routing, MAIN.lstrip("+")).plan == ring("2001")


def test_unknown_number_is_refused() -> None:
    routing = table(user("2001"), numbers={MAIN: ToExtension(extension="2001")})
    with pytest.raises(UnknownNumberError, match=r"\+46812345699 is not a number of tenant 'acme'"):
        decide(routing, "+46812345699")


def test_unknown_extension_like_input_is_refused() -> None:
    with pytest.raises(UnknownNumberError, match="neither an extension nor a number"):
        decide(table(user("2001")), "2999")


def test_forward_always_and_busy_divert_loop_ends_in_the_hop_limit() -> None:
    routing = table(user("2001", forward_always=ToExtension(extension="2002")), user("2002", busy=ToExtension(extension="2001")))
    decision = decide(routing, states={"2001": "busy", "2002": "busy"})
    expected_path = ("user 2001", "user 2002") * 4 + ("user 2001",)
    assert decision.plan == HopLimit(path=expected_path)
    assert len(expected_path) == DEFAULT_HOP_LIMIT + 1
    last = decision.explanation[-1]
    assert (last.rule, last.matched, last.at) == ("hop limit", True, "user 2001")
    assert last.reason == (f"the hop limit of {DEFAULT_HOP_LIMIT} hops fired: {' → '.join(expected_path)}; "
                           "user 2001 was already visited, so these settings send calls round in a loop; "
                           "routing stops here and the call ends unanswered (a missed call)")


def test_groups_falling_back_to_each_other_end_in_the_hop_limit() -> None:
    routing = table(user("2001"), user("2002"), groups=(group("a", "2001", fallback=ToGroup(group="b")),
                                                        group("b", "2002", fallback=ToGroup(group="a"))),
                    numbers={MAIN: ToGroup(group="a")})
    decision = decide(routing, MAIN, states={"2001": "busy", "2002": "busy"})
    assert decision.plan == HopLimit(path=("group a", "group b") * 4 + ("group a",))
    assert "group a was already visited" in the_step(decision, "hop limit").reason


def test_groups_falling_back_to_each_other_ring_until_the_hop_limit() -> None:
    routing = table(user("2001"), user("2002"), groups=(group("a", "2001", fallback=ToGroup(group="b")),
                                                        group("b", "2002", fallback=ToGroup(group="a"))),
                    numbers={MAIN: ToGroup(group="a")})
    node, vias = route(routing, Call(dialled=MAIN, at=NOON, caller=CALLER), hop_limit=4).plan, []
    while isinstance(node, Ring):
        vias.append(node.via)
        node = node.then
    assert vias == ["group a", "group b", "group a", "group b"]
    assert node == HopLimit(path=("group a", "group b", "group a", "group b", "group a"))


def test_hop_limit_parameter_is_respected() -> None:
    routing = table(user("2001", forward_always=ToExtension(extension="2002")), user("2002", busy=ToExtension(extension="2001")))
    decision = route(routing, Call(dialled="2001", at=NOON, caller=CALLER), {"2002": "busy"}, hop_limit=2, explain=True)
    assert decision.plan == HopLimit(path=("user 2001", "user 2002", "user 2001"))
    assert the_step(decision, "hop limit").reason.startswith("the hop limit of 2 hops fired: user 2001 → user 2002 → user 2001;")


def test_hop_limit_also_stops_a_long_chain_without_a_loop() -> None:
    routing = table(user("2001", forward_always=ToExtension(extension="2002")), user("2002", forward_always=ToExtension(extension="2003")),
                    user("2003"))
    decision = route(routing, Call(dialled="2001", at=NOON, caller=CALLER), hop_limit=2, explain=True)
    assert decision.plan == HopLimit(path=("user 2001", "user 2002", "user 2003"))
    reason = the_step(decision, "hop limit").reason
    assert "already visited" not in reason and "a chain longer than the limit" in reason


def test_chain_within_the_hop_limit_is_routed() -> None:
    routing = table(user("2001", forward_always=ToExtension(extension="2002")), user("2002", forward_always=ToExtension(extension="2003")),
                    user("2003"))
    assert route(routing, Call(dialled="2001", at=NOON, caller=CALLER), hop_limit=3).plan == ring("2003")


def test_ivr_option_back_to_itself_is_stopped_by_the_hop_limit() -> None:
    main = IvrMenu(name="Main", prompt=PROMPT, options={"0": ToIvr(ivr="main")})
    routing = table(ivrs={"main": main}, numbers={MAIN: ToIvr(ivr="main")})
    node = route(routing, Call(dialled=MAIN, at=NOON, caller=CALLER, digits=None), hop_limit=3).plan
    for _ in range(3):
        assert isinstance(node, Menu)
        node = node.options["0"]
    assert node == HopLimit(path=("ivr main",) * 4)
