"""Routing decisions (core/routing/decide.py): the plan a call gets, and the explanation of why.

Tables are built directly as ``RoutingTable``/``UserRule`` structs (no event store), each
test stating exactly the configuration it needs. The tenant's zone is Europe/Stockholm
unless a test says otherwise; call instants are given in UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from core.aggregates.groups import AnswerGroup, CloudMember, GroupMember, GroupSettings, LocalMember, SipMember
from core.aggregates.hours import OpeningHours, Window
from core.aggregates.schedule import AvailableAllDay, OutOfHours, UnavailableAllDay, UnavailableBetween
from core.aggregates.services import BackupStep, CallQueue, ForwardingScheme, IvrMenu, SchemeStep
from core.aggregates.targets import BusyTone as BusyToneHandling
from core.aggregates.targets import (
    ForwardTo,
    HandleWithVoicemail,
    MessageAndHangUp,
    NoAnswerRule,
    Off,
    PlayMessage,
    TextToSpeech,
    ToExtension,
    ToExternalSip,
    ToGroup,
    ToIvr,
    ToNumber,
    ToQueue,
    ToRemote,
    ToResponsibleManager,
    ToScheme,
    ToVoicemail,
    ToWebhook,
)
from core.projections.table import RoutingTable, UserRule
from core.routing.decide import DEFAULT_HOP_LIMIT, Call, Decision, RoutingMemory, UnknownNumberError, record_answer, route
from core.routing.plan import (
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
    Step,
    Unavailable,
    Via,
    Voicemail,
)

STOCKHOLM = "Europe/Stockholm"
CALLER = "+46701234567"
MAIN = "+46812345600"
"""A tenant number; where it enters is up to each test."""
SPARE = "+46812345601"
"""A tenant number routed nowhere (unassigned-number handling)."""
MOBILE = "+441234567890"
OTHER_MOBILE = "+441234567891"
WEBHOOK = "https://crm.example/route"
SIP_URI = "sip:desk@partner.example"

NOON = datetime(2026, 6, 10, 10, 0, tzinfo=UTC)
"""Wednesday 12:00 CEST."""

SORRY = TextToSpeech(text="Sorry, we cannot take your call", language="en")
CLOSED = TextToSpeech(text="We are closed", language="en")
PROMPT = TextToSpeech(text="Press 1 for sales, 2 for support", language="en")
NOT_IN_USE = TextToSpeech(text="This number is not in use", language="en")


def greeting(ext: str) -> TextToSpeech:
    return TextToSpeech(text=f"You have reached {ext}", language="sv")


# -- builders ------------------------------------------------------------------------------------


def user(ext: str, **rules: Any) -> UserRule:
    """A user whose every rule is off (keeps ringing), overridden by ``rules``."""
    fields: dict[str, Any] = {
        "extension": ext,
        "name": f"User {ext}",
        "reject_anonymous": False,
        "forward_always": Off(),
        "permanent_redirect": None,
        "out_of_hours": None,
        "unreachable": Off(),
        "busy": Off(),
        "call_waiting": False,
        "no_answer": NoAnswerRule(target=Off()),
        "rejected": HandleWithVoicemail(),
        "voicemail_greeting": greeting(ext),
    }
    fields.update(rules)
    return UserRule(**fields)


def member(ref: Any, **options: Any) -> GroupMember:
    if isinstance(ref, str):
        ref = LocalMember(extension=ref)
    return GroupMember(ref=ref, **options)


def group(key: str, *members: Any, **settings: Any) -> AnswerGroup:
    """An answer group ``key``; members are extensions, member refs or ``GroupMember``s."""
    return AnswerGroup(
        id=key,
        settings=GroupSettings(name=key.title(), **settings),
        members=tuple(m if isinstance(m, GroupMember) else member(m) for m in members),
    )


def table(
    *users: UserRule,
    groups: tuple[AnswerGroup, ...] = (),
    queues: dict[str, CallQueue] | None = None,
    ivrs: dict[str, IvrMenu] | None = None,
    schemes: dict[str, ForwardingScheme] | None = None,
    numbers: dict[str, Any] | None = None,
    unassigned: Any = None,
    time_zone: str = STOCKHOLM,
) -> RoutingTable:
    return RoutingTable(
        tenant="acme",
        version=7,
        time_zone=time_zone,
        users={u.extension: u for u in users},
        groups={g.id: g for g in groups},
        queues=queues or {},
        ivrs=ivrs or {},
        schemes=schemes or {},
        numbers=numbers or {},
        unassigned=unassigned if unassigned is not None else BusyToneHandling(),
        pbx_links={},
    )


def decide(
    routing: RoutingTable,
    dialled: str = "2001",
    *,
    at: datetime = NOON,
    caller: str | None = CALLER,
    states: dict[str, Any] | None = None,
    memory: RoutingMemory | None = None,
    **call: Any,
) -> Decision:
    return route(routing, Call(dialled=dialled, at=at, caller=caller, **call), states, memory)


def steps(decision: Decision, rule: str, at: str | None = None) -> list[Step]:
    return [s for s in decision.explanation if s.rule == rule and (at is None or s.at == at)]


def the_step(decision: Decision, rule: str, at: str | None = None) -> Step:
    found = steps(decision, rule, at)
    assert len(found) == 1, f"{rule!r} at {at!r}: {decision.explanation}"
    return found[0]


def rules(decision: Decision, at: str) -> list[str]:
    return [s.rule for s in decision.explanation if s.at == at]


def ring(ext: str, seconds: int | None = None, **kwargs: Any) -> Ring:
    return Ring(legs=(Leg(endpoint=Endpoint(kind="user", id=ext), seconds=seconds),), **via(f"user {ext}"), **kwargs)


def via(text: str) -> dict[str, Any]:
    """A ring's ``via`` words and the ``purpose`` data route() gives with them (``scheme sales step 2``)."""
    words = text.split()
    if words[0] == "user":
        purpose = Via(kind="redirect" if len(words) > 2 else "user", target=words[1])
    elif words[0] == "scheme":
        step = int(words[3]) if len(words) == 4 and words[2] == "step" else None
        purpose = Via(kind="scheme", target=words[1], step=step)
    else:
        purpose = Via(kind={"number": "number", "group": "group", "PBX": "pbx", "SIP": "sip"}[words[0]], target=words[1])
    return {"via": text, "purpose": purpose}


def legs(node: Any) -> list[str]:
    assert isinstance(node, Ring), node
    return [leg.endpoint.id for leg in node.legs]


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def user_leg(ext: str, seconds: int) -> Leg:
    return Leg(endpoint=Endpoint(kind="user", id=ext), seconds=seconds)


def voicemail(ext: str) -> Voicemail:
    return Voicemail(box=ext, greeting=greeting(ext))


# -- a user call: order of rules ---------------------------------------------------------------------


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


# -- time boundaries in the tenant's zone --------------------------------------------------------

EVENINGS = OutOfHours(days={d: UnavailableBetween(start="18:00", end="09:00") for d in ("mon", "tue", "wed", "thu", "fri")})


def evening_user(**rules: Any) -> RoutingTable:
    return table(user("2001", out_of_hours=EVENINGS, **rules))


def test_call_at_17_59_59_local_rings_before_the_evening_window() -> None:
    decision = decide(evening_user(), at=utc(2026, 6, 10, 15, 59, 59))
    assert decision.plan == ring("2001")
    step = the_step(decision, "out of hours")
    assert not step.matched and step.reason == "wed 2026-06-10 17:59:59 CEST is in no unavailable window"


def test_call_at_18_00_00_local_is_out_of_hours() -> None:
    decision = decide(evening_user(), at=utc(2026, 6, 10, 16, 0, 0))
    assert decision.plan == voicemail("2001")
    step = the_step(decision, "out of hours")
    assert step.matched and step.reason == "wed 2026-06-10 18:00:00 CEST is in wed unavailable 18:00–09:00: to voicemail"


def test_call_at_08_59_59_next_morning_belongs_to_the_previous_evenings_window() -> None:
    decision = decide(evening_user(), at=utc(2026, 6, 11, 6, 59, 59))
    assert decision.plan == voicemail("2001")
    step = the_step(decision, "out of hours")
    assert step.matched and "thu 2026-06-11 08:59:59 CEST is in wed unavailable 18:00–09:00 (crossing midnight)" in step.reason


def test_call_at_09_00_00_next_morning_rings() -> None:
    decision = decide(evening_user(), at=utc(2026, 6, 11, 7, 0, 0))
    assert decision.plan == ring("2001")
    assert not the_step(decision, "out of hours").matched


def test_winter_time_edge_is_one_hour_later_in_utc() -> None:
    # In January Stockholm is UTC+1: 17:00 UTC is 18:00 local.
    assert decide(evening_user(), at=utc(2026, 1, 14, 16, 59, 59)).plan == ring("2001")
    assert decide(evening_user(), at=utc(2026, 1, 14, 17, 0, 0)).plan == voicemail("2001")


def test_fridays_evening_window_covers_saturday_08_00_although_saturday_is_available() -> None:
    schedule = OutOfHours(days={"fri": UnavailableBetween(start="18:00", end="09:00"), "sat": AvailableAllDay()})
    decision = decide(table(user("2001", out_of_hours=schedule)), at=utc(2026, 6, 13, 6, 0))
    assert decision.plan == voicemail("2001")
    assert "sat 2026-06-13 08:00:00 CEST is in fri unavailable 18:00–09:00 (crossing midnight)" in the_step(decision, "out of hours").reason


def test_unavailable_all_day_covers_midnight_to_midnight_local() -> None:
    routing = table(user("2001", out_of_hours=OutOfHours(days={"wed": UnavailableAllDay()})))
    assert decide(routing, at=utc(2026, 6, 9, 21, 59, 59)).plan == ring("2001")  # tue 23:59:59 CEST
    assert decide(routing, at=utc(2026, 6, 9, 22, 0, 0)).plan == voicemail("2001")  # wed 00:00 CEST
    assert decide(routing, at=utc(2026, 6, 10, 21, 59, 59)).plan == voicemail("2001")  # wed 23:59:59 CEST
    assert decide(routing, at=utc(2026, 6, 10, 22, 0, 0)).plan == ring("2001")  # thu 00:00 CEST


NIGHT_SUN_STOCKHOLM = OutOfHours(days={"sun": UnavailableBetween(start="02:00", end="04:00")})


def test_stockholm_spring_forward_03_30_exists_and_is_out_of_hours() -> None:
    decision = decide(table(user("2001", out_of_hours=NIGHT_SUN_STOCKHOLM)), at=utc(2026, 3, 29, 1, 30))
    assert decision.plan == voicemail("2001")
    assert "sun 2026-03-29 03:30:00 CEST is in sun unavailable 02:00–04:00" in the_step(decision, "out of hours").reason


def test_stockholm_spring_forward_the_second_before_the_jump_is_01_59_59_and_available() -> None:
    # 02:30 never happens that night: 00:59:59 UTC is 01:59:59 CET, the next second is 03:00 CEST.
    routing = table(user("2001", out_of_hours=NIGHT_SUN_STOCKHOLM))
    decision = decide(routing, at=utc(2026, 3, 29, 0, 59, 59))
    assert decision.plan == ring("2001")
    assert "01:59:59 CET" in the_step(decision, "out of hours").reason
    assert decide(routing, at=utc(2026, 3, 29, 1, 0, 0)).plan == voicemail("2001")


def test_stockholm_autumn_02_30_occurs_twice_and_both_are_out_of_hours() -> None:
    routing = table(user("2001", out_of_hours=NIGHT_SUN_STOCKHOLM))
    first = decide(routing, at=utc(2026, 10, 25, 0, 30))
    second = decide(routing, at=utc(2026, 10, 25, 1, 30))
    assert first.plan == second.plan == voicemail("2001")
    assert "sun 2026-10-25 02:30:00 CEST" in the_step(first, "out of hours").reason
    assert "sun 2026-10-25 02:30:00 CET" in the_step(second, "out of hours").reason


def test_stockholm_autumn_window_ends_at_04_00_winter_time() -> None:
    routing = table(user("2001", out_of_hours=NIGHT_SUN_STOCKHOLM))
    assert decide(routing, at=utc(2026, 10, 25, 2, 59, 59)).plan == voicemail("2001")  # 03:59:59 CET
    assert decide(routing, at=utc(2026, 10, 25, 3, 0, 0)).plan == ring("2001")  # 04:00 CET


NIGHT_SUN_KYIV = OutOfHours(days={"sun": UnavailableBetween(start="03:00", end="05:00")})


def test_kyiv_spring_forward_04_30_exists_and_is_out_of_hours() -> None:
    routing = table(user("2001", out_of_hours=NIGHT_SUN_KYIV), time_zone="Europe/Kyiv")
    decision = decide(routing, at=utc(2026, 3, 29, 1, 30))
    assert decision.plan == voicemail("2001")
    assert "sun 2026-03-29 04:30:00 EEST is in sun unavailable 03:00–05:00" in the_step(decision, "out of hours").reason
    assert decide(routing, at=utc(2026, 3, 29, 0, 59, 59)).plan == ring("2001")  # 02:59:59 EET


def test_kyiv_autumn_03_30_occurs_twice_and_both_are_out_of_hours() -> None:
    routing = table(user("2001", out_of_hours=NIGHT_SUN_KYIV), time_zone="Europe/Kyiv")
    first = decide(routing, at=utc(2026, 10, 25, 0, 30))
    second = decide(routing, at=utc(2026, 10, 25, 1, 30))
    assert first.plan == second.plan == voicemail("2001")
    assert "03:30:00 EEST" in the_step(first, "out of hours").reason
    assert "03:30:00 EET" in the_step(second, "out of hours").reason


OFFICE = OpeningHours(days={d: (Window(start="09:00", end="18:00"),) for d in ("mon", "tue", "wed", "thu", "fri")})


def office_ivr(**options: Any) -> RoutingTable:
    menu = IvrMenu(name="Main", prompt=PROMPT, options={"1": ToExtension(extension="2001")}, opening_hours=OFFICE,
                   when_closed=PlayMessage(message=CLOSED), **options)
    return table(user("2001"), ivrs={"main": menu}, numbers={MAIN: ToIvr(ivr="main")})


@pytest.mark.parametrize(("at", "is_open"), [
    (utc(2026, 6, 10, 6, 59, 59), False),  # wed 08:59:59 CEST
    (utc(2026, 6, 10, 7, 0, 0), True),  # wed 09:00:00
    (utc(2026, 6, 10, 15, 59, 59), True),  # wed 17:59:59
    (utc(2026, 6, 10, 16, 0, 0), False),  # wed 18:00:00
], ids=["08:59:59", "09:00:00", "17:59:59", "18:00:00"])
def test_ivr_opening_hours_are_half_open_on_local_time(at: datetime, is_open: bool) -> None:
    decision = decide(office_ivr(), MAIN, at=at, digits="1")
    step = the_step(decision, "opening hours", "ivr main")
    if is_open:
        assert isinstance(decision.plan, Menu) and decision.plan.chosen == "1"
        assert not step.matched and step.reason == "open: wed open 09:00–18:00"
    else:
        assert decision.plan == Message(message=CLOSED)
        assert step.matched and "outside the opening hours: closed" in step.reason


def test_closed_ivr_without_closed_handling_is_a_missed_call() -> None:
    menu = IvrMenu(name="Main", prompt=PROMPT, opening_hours=OFFICE)
    routing = table(ivrs={"main": menu}, numbers={MAIN: ToIvr(ivr="main")})
    assert decide(routing, MAIN, at=utc(2026, 6, 13, 10, 0)).plan == Missed()  # saturday


def office_scheme(**options: Any) -> RoutingTable:
    scheme = ForwardingScheme(name="Sales", steps=(SchemeStep(destination=ToExtension(extension="2001"), timeout_seconds=30),),
                              working_hours=OFFICE, **options)
    return table(user("2001"), schemes={"sales": scheme}, numbers={MAIN: ToScheme(scheme="sales")})


@pytest.mark.parametrize(("at", "within"), [
    (utc(2026, 6, 10, 6, 59, 59), False),
    (utc(2026, 6, 10, 7, 0, 0), True),
    (utc(2026, 6, 10, 15, 59, 59), True),
    (utc(2026, 6, 10, 16, 0, 0), False),
], ids=["08:59:59", "09:00:00", "17:59:59", "18:00:00"])
def test_scheme_working_hours_are_half_open_on_local_time(at: datetime, within: bool) -> None:
    decision = decide(office_scheme(outside_hours=ToVoicemail(extension="2001")), MAIN, at=at)
    step = the_step(decision, "working hours", "scheme sales")
    if within:
        assert decision.plan == Ring(legs=(Leg(endpoint=Endpoint(kind="user", id="2001"), seconds=30),), **via("scheme sales step 1"))
        assert not step.matched and step.reason == "within wed open 09:00–18:00"
    else:
        assert decision.plan == voicemail("2001")
        assert step.matched and "outside working hours: voicemail of 2001" in step.reason


def test_scheme_outside_working_hours_without_handling_is_missed() -> None:
    decision = decide(office_scheme(), MAIN, at=utc(2026, 6, 13, 10, 0))
    assert decision.plan == Missed()
    assert "outside working hours: missed" in the_step(decision, "working hours").reason


def test_scheme_working_hours_on_the_spring_forward_day_follow_local_time() -> None:
    sunday_early = OpeningHours(days={"sun": (Window(start="03:00", end="04:00"),)})
    scheme = ForwardingScheme(name="Night", steps=(SchemeStep(destination=ToNumber(number=MOBILE)),), working_hours=sunday_early)
    routing = table(schemes={"night": scheme}, numbers={MAIN: ToScheme(scheme="night")})
    assert decide(routing, MAIN, at=utc(2026, 3, 29, 0, 59, 59)).plan == Missed()  # 01:59:59 CET
    assert isinstance(decide(routing, MAIN, at=utc(2026, 3, 29, 1, 0, 0)).plan, Ring)  # 03:00 CEST


# -- answer groups -------------------------------------------------------------------------------

TEAM = ("2001", "2002", "2003")


def team_table(*groups: AnswerGroup, **kwargs: Any) -> RoutingTable:
    return table(*(user(e) for e in (*TEAM, "2004")), groups=groups, numbers={MAIN: ToGroup(group="sales")}, **kwargs)


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


# -- queues ----------------------------------------------------------------------------------------


def queue_table(**settings: Any) -> RoutingTable:
    queue = CallQueue(name="Support", agents=("2001", "2002"), **settings)
    return table(user("2001"), user("2002"), user("2003"), queues={"support": queue}, numbers={MAIN: ToQueue(queue="support")})


def test_queue_with_no_agent_logged_in_goes_to_the_no_agents_destination() -> None:
    decision = decide(queue_table(when_no_agents=ToExtension(extension="2003")), MAIN, states={"2001": "unreachable", "2002": "excluded"})
    assert decision.plan == ring("2003")
    step = the_step(decision, "no agents", "queue support")
    assert step.matched and step.reason == "no agent is logged in: to extension 2003"


def test_queue_holds_the_caller_with_logged_in_agents_busy_or_free() -> None:
    routing = queue_table(max_wait_seconds=120, agent_ring_seconds=15, after_max_wait=ToVoicemail(extension="2003"),
                          when_no_agents=ToExtension(extension="2003"))
    decision = decide(routing, MAIN, states={"2001": "busy"})
    assert decision.plan == Queue(queue="support", agents=(Endpoint(kind="user", id="2001"), Endpoint(kind="user", id="2002")),
                                  strategy="longest_idle", agent_ring_seconds=15, wrap_up_seconds=10, max_wait_seconds=120,
                                  after_max_wait=voicemail("2003"))
    assert the_step(decision, "no agents").reason == "2 agents logged in, 1 free"
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


# -- IVR menus -------------------------------------------------------------------------------------


def ivr_table(**settings: Any) -> RoutingTable:
    menu = IvrMenu(name="Main", prompt=PROMPT, timeout_seconds=4, retries=1,
                   options={"1": ToExtension(extension="2001"), "2": ToQueue(queue="support")},
                   on_invalid=PlayMessage(message=SORRY), on_no_input=ToVoicemail(extension="2002"), **settings)
    queue = CallQueue(name="Support", agents=("2002",))
    return table(user("2001"), user("2002"), ivrs={"main": menu}, queues={"support": queue}, numbers={MAIN: ToIvr(ivr="main")})


def menu(**fields: Any) -> Menu:
    return Menu(ivr="main", prompt=PROMPT, timeout_seconds=4, retries=1, **fields)


def test_ivr_digit_follows_its_option() -> None:
    decision = decide(ivr_table(), MAIN, digits="1")
    assert decision.plan == menu(options={"1": ring("2001")}, chosen="1")
    step = the_step(decision, "caller input", "ivr main")
    assert step.matched and step.reason == "pressed 1: extension 2001"


def test_ivr_invalid_digit_goes_to_the_invalid_handling() -> None:
    decision = decide(ivr_table(), MAIN, digits="7")
    assert decision.plan == menu(on_invalid=Message(message=SORRY), chosen="7")
    assert the_step(decision, "caller input").reason == "pressed 7, which is no option"


def test_ivr_invalid_digit_without_invalid_handling_is_missed() -> None:
    routing = table(user("2001"), ivrs={"main": IvrMenu(name="Main", prompt=PROMPT, options={"1": ToExtension(extension="2001")})},
                    numbers={MAIN: ToIvr(ivr="main")})
    plan = decide(routing, MAIN, digits="9").plan
    assert isinstance(plan, Menu) and plan.on_invalid == Missed() and plan.chosen == "9"


def test_ivr_no_input_goes_to_the_no_input_handling() -> None:
    decision = decide(ivr_table(), MAIN, digits="")
    assert decision.plan == menu(on_no_input=voicemail("2002"), chosen="")
    assert the_step(decision, "caller input").reason == "no digit after 2 tries"


def test_ivr_without_known_digits_shows_every_option() -> None:
    decision = decide(ivr_table(), MAIN, digits=None)
    plan = decision.plan
    assert isinstance(plan, Menu)
    assert plan.chosen is None
    assert plan.options["1"] == ring("2001")
    assert isinstance(plan.options["2"], Queue)
    assert (plan.on_invalid, plan.on_no_input) == (Message(message=SORRY), voicemail("2002"))
    step = the_step(decision, "caller input")
    assert not step.matched and step.reason == "unknown: every option is shown"


def test_ivr_digits_are_used_one_per_nested_menu() -> None:
    sub = IvrMenu(name="Sub", prompt=PROMPT, options={"3": ToExtension(extension="2002")})
    main = IvrMenu(name="Main", prompt=PROMPT, options={"1": ToIvr(ivr="sub")})
    routing = table(user("2002"), ivrs={"main": main, "sub": sub}, numbers={MAIN: ToIvr(ivr="main")})
    plan = decide(routing, MAIN, digits="13").plan
    assert plan.chosen == "1"
    inner = plan.options["1"]
    assert isinstance(inner, Menu) and inner.ivr == "sub" and inner.chosen == "3" and inner.options == {"3": ring("2002")}


# -- forwarding schemes ------------------------------------------------------------------------------


def scheme_table(*scheme_steps: SchemeStep, **settings: Any) -> RoutingTable:
    scheme = ForwardingScheme(name="Sales", steps=scheme_steps, **settings)
    return table(user("2001"), user("2002"), user("2003"), schemes={"sales": scheme}, numbers={MAIN: ToScheme(scheme="sales")})


def test_sequential_scheme_rings_each_step_then_the_next() -> None:
    routing = scheme_table(SchemeStep(destination=ToExtension(extension="2001"), timeout_seconds=30),
                           SchemeStep(destination=ToExtension(extension="2002"), timeout_seconds=20),
                           SchemeStep(destination=ToNumber(number=MOBILE), timeout_seconds=40))
    decision = decide(routing, MAIN)
    assert decision.plan == Ring(legs=(user_leg("2001", 30),), **via("scheme sales step 1"), then=Ring(
        legs=(user_leg("2002", 20),), **via("scheme sales step 2"), then=Ring(
            legs=(Leg(endpoint=Endpoint(kind="external", id=MOBILE), seconds=40),), **via("scheme sales step 3"))))
    assert [(s.at, s.reason) for s in steps(decision, "step")] == [
        ("scheme sales step 1", "rings 2001 for 30 s"),
        ("scheme sales step 2", "rings 2002 for 20 s"),
        ("scheme sales step 3", f"rings {MOBILE} for 40 s"),
    ]


def test_scheme_step_of_a_busy_employee_is_skipped() -> None:
    routing = scheme_table(SchemeStep(destination=ToExtension(extension="2001")), SchemeStep(destination=ToExtension(extension="2002")))
    decision = decide(routing, MAIN, states={"2001": "busy"})
    assert decision.plan == Ring(legs=(user_leg("2002", 30),), **via("scheme sales step 2"))
    step = the_step(decision, "step", "scheme sales step 1")
    assert not step.matched and step.reason == "extension 2001 is busy: skipped"


def test_scheme_with_every_employee_busy_and_no_backup_is_missed() -> None:
    routing = scheme_table(SchemeStep(destination=ToExtension(extension="2001")))
    assert decide(routing, MAIN, states={"2001": "unreachable"}).plan == Missed()


def test_parallel_scheme_rings_every_step_at_once_for_the_longest_timeout() -> None:
    routing = scheme_table(SchemeStep(destination=ToExtension(extension="2001"), timeout_seconds=30),
                           SchemeStep(destination=ToNumber(number=MOBILE), timeout_seconds=45),
                           SchemeStep(destination=ToExternalSip(uri=SIP_URI), timeout_seconds=20), mode="parallel")
    decision = decide(routing, MAIN)
    assert decision.plan == Ring(legs=(user_leg("2001", 30), Leg(endpoint=Endpoint(kind="external", id=MOBILE), seconds=45),
                                       Leg(endpoint=Endpoint(kind="external_sip", id=SIP_URI), seconds=20)),
                                 mode="parallel", limit_seconds=45, **via("scheme sales"))
    step = the_step(decision, "parallel")
    assert step.matched and step.reason == "3 destinations ring at once for up to 45 s"


def test_parallel_scheme_leaves_out_busy_employees() -> None:
    routing = scheme_table(SchemeStep(destination=ToExtension(extension="2001")), SchemeStep(destination=ToExtension(extension="2002")),
                           mode="parallel")
    plan = decide(routing, MAIN, states={"2001": "busy"}).plan
    assert isinstance(plan, Ring) and legs(plan) == ["2002"] and plan.mode == "parallel"


def test_parallel_scheme_limit_is_the_longest_step_that_actually_rings() -> None:
    routing = scheme_table(SchemeStep(destination=ToExtension(extension="2001"), timeout_seconds=120),
                           SchemeStep(destination=ToExtension(extension="2002"), timeout_seconds=30), mode="parallel")
    decision = decide(routing, MAIN, states={"2001": "busy"})
    assert decision.plan == Ring(legs=(user_leg("2002", 30),), mode="parallel", limit_seconds=30, **via("scheme sales"))
    assert the_step(decision, "parallel").reason == "1 destinations ring at once for up to 30 s"


def test_parallel_scheme_explains_a_skipped_busy_employee_once() -> None:
    routing = scheme_table(SchemeStep(destination=ToExtension(extension="2001")), SchemeStep(destination=ToExtension(extension="2002")),
                           mode="parallel")
    decision = decide(routing, MAIN, states={"2001": "busy"})
    assert [s.reason for s in steps(decision, "step")] == ["extension 2001 is busy: skipped"]


def test_scheme_step_rings_an_extension_excluded_only_from_groups_and_queues() -> None:
    routing = scheme_table(SchemeStep(destination=ToExtension(extension="2001")), SchemeStep(destination=ToExtension(extension="2002")))
    plan = decide(routing, MAIN, states={"2001": "excluded"}).plan
    assert plan == Ring(legs=(user_leg("2001", 30),), **via("scheme sales step 1"),
                        then=Ring(legs=(user_leg("2002", 30),), **via("scheme sales step 2")))


def test_scheme_backup_steps_follow_the_last_step() -> None:
    routing = scheme_table(SchemeStep(destination=ToExtension(extension="2001"), timeout_seconds=30),
                           backup=(BackupStep(destination=ToNumber(number=MOBILE), timeout_seconds=25),))
    decision = decide(routing, MAIN)
    assert decision.plan == Ring(legs=(user_leg("2001", 30),), **via("scheme sales step 1"), then=Ring(
        legs=(Leg(endpoint=Endpoint(kind="external", id=MOBILE), seconds=25),), **via("scheme sales backup step 1")))


def test_scheme_backup_steps_ring_when_every_step_is_skipped() -> None:
    routing = scheme_table(SchemeStep(destination=ToExtension(extension="2001")),
                           backup=(BackupStep(destination=ToExternalSip(uri=SIP_URI), timeout_seconds=25),))
    plan = decide(routing, MAIN, states={"2001": "busy"}).plan
    assert plan == Ring(legs=(Leg(endpoint=Endpoint(kind="external_sip", id=SIP_URI), seconds=25),), **via("scheme sales backup step 1"))


def test_scheme_webhook_step_looks_the_number_up_then_continues_with_the_next_step() -> None:
    routing = scheme_table(SchemeStep(destination=ToWebhook(url=WEBHOOK)), SchemeStep(destination=ToExtension(extension="2002")))
    decision = decide(routing, MAIN)
    assert decision.plan == Lookup(source="webhook", url=WEBHOOK, then=Ring(legs=(user_leg("2002", 30),), **via("scheme sales step 2")))
    step = the_step(decision, "webhook", "scheme sales")
    assert step.matched and WEBHOOK in step.reason


def test_scheme_responsible_manager_step_looks_the_manager_up_then_continues_with_the_next_step() -> None:
    routing = scheme_table(SchemeStep(destination=ToResponsibleManager()), SchemeStep(destination=ToNumber(number=MOBILE)))
    decision = decide(routing, MAIN)
    assert decision.plan == Lookup(source="responsible_manager", then=Ring(
        legs=(Leg(endpoint=Endpoint(kind="external", id=MOBILE), seconds=30),), **via("scheme sales step 2")))
    assert the_step(decision, "responsible manager").matched


def test_scheme_voicemail_step_ends_the_scheme_and_says_so() -> None:
    routing = scheme_table(SchemeStep(destination=ToVoicemail(extension="2001")), SchemeStep(destination=ToExtension(extension="2002")))
    decision = decide(routing, MAIN)
    assert decision.plan == voicemail("2001")
    step = the_step(decision, "later steps")
    assert not step.matched and "1 later steps never run" in step.reason


def test_scheme_group_step_without_fallback_continues_with_the_next_step_when_unanswered() -> None:
    routing = table(user("2001"), user("2002"), groups=(group("team", "2001"),),
                    schemes={"sales": ForwardingScheme(name="Sales", steps=(SchemeStep(destination=ToGroup(group="team")),
                                                                             SchemeStep(destination=ToExtension(extension="2002"))))},
                    numbers={MAIN: ToScheme(scheme="sales")})
    plan = decide(routing, MAIN).plan
    assert isinstance(plan, Ring) and plan.via == "group team"
    assert plan.then == Ring(legs=(user_leg("2002", 30),), **via("scheme sales step 2"))


def test_scheme_group_step_with_no_available_member_moves_on_to_the_next_step() -> None:
    routing = table(user("2001"), user("2002"), groups=(group("team", "2001"),),
                    schemes={"sales": ForwardingScheme(name="Sales", steps=(SchemeStep(destination=ToGroup(group="team")),
                                                                             SchemeStep(destination=ToExtension(extension="2002"))))},
                    numbers={MAIN: ToScheme(scheme="sales")})
    plan = decide(routing, MAIN, states={"2001": "busy"}).plan
    assert plan == Ring(legs=(user_leg("2002", 30),), **via("scheme sales step 2"))


# -- numbers ---------------------------------------------------------------------------------------


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


# -- loops and the hop limit ---------------------------------------------------------------------


def test_forward_always_and_busy_divert_loop_ends_in_the_hop_limit() -> None:
    routing = table(user("2001", forward_always=ToExtension(extension="2002")), user("2002", busy=ToExtension(extension="2001")))
    decision = decide(routing, states={"2001": "busy", "2002": "busy"})
    expected_path = ("user 2001", "user 2002") * 4 + ("user 2001",)
    assert decision.plan == HopLimit(path=expected_path)
    assert len(expected_path) == DEFAULT_HOP_LIMIT + 1
    last = decision.explanation[-1]
    assert (last.rule, last.matched, last.at) == ("hop limit", True, "user 2001")
    assert last.reason == (f"{DEFAULT_HOP_LIMIT} hops reached: {' → '.join(expected_path)}; "
                           "user 2001 was already visited; forwarding stops here")


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
    decision = route(routing, Call(dialled="2001", at=NOON, caller=CALLER), {"2002": "busy"}, hop_limit=2)
    assert decision.plan == HopLimit(path=("user 2001", "user 2002", "user 2001"))
    assert the_step(decision, "hop limit").reason.startswith("2 hops reached: user 2001 → user 2002 → user 2001")


def test_hop_limit_also_stops_a_long_chain_without_a_loop() -> None:
    routing = table(user("2001", forward_always=ToExtension(extension="2002")), user("2002", forward_always=ToExtension(extension="2003")),
                    user("2003"))
    decision = route(routing, Call(dialled="2001", at=NOON, caller=CALLER), hop_limit=2)
    assert decision.plan == HopLimit(path=("user 2001", "user 2002", "user 2003"))
    reason = the_step(decision, "hop limit").reason
    assert "already visited" not in reason and reason.endswith("forwarding stops here")


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


# -- the decision itself ---------------------------------------------------------------------------


def test_decision_is_a_plain_value_that_round_trips_through_json() -> None:
    routing = team_table(group("sales", *TEAM, strategy="round_robin", fallback=ToVoicemail(extension="2004")))
    decision = decide(routing, MAIN)
    assert msgspec.json.decode(msgspec.json.encode(decision), type=Decision) == decision


def test_the_same_call_gives_the_same_decision() -> None:
    routing = team_table(group("sales", *TEAM, strategy="random"))
    memory = RoutingMemory(seed=9)
    assert decide(routing, MAIN, memory=memory, call_id="x") == decide(routing, MAIN, memory=memory, call_id="x")


# -- what a plan depends on ------------------------------------------------------------------------

MIDNIGHT = datetime(2026, 6, 13, 22, 30, tzinfo=UTC)
"""Sunday 00:30 CEST: outside any office hours."""

DEPENDENCY_CASES = {
    "voicemail only": (table(user("2001", forward_always=ToVoicemail()), numbers={MAIN: ToExtension(extension="2001")}), set()),
    "ringing a user": (table(user("2001"), numbers={MAIN: ToExtension(extension="2001")}), {"states"}),
    "queue without no-agents": (queue_table(), {"agents"}),
    "queue with no-agents": (queue_table(when_no_agents=ToVoicemail(extension="2003")), {"states"}),
    "scheme with working hours": (office_scheme(), {"time", "states"}),
    "round robin group": (table(user("2001"), user("2002"), groups=(group("sales", "2001", "2002", strategy="round_robin"),),
                                numbers={MAIN: ToGroup(group="sales")}), {"states", "memory"}),
}


@pytest.mark.parametrize("case", DEPENDENCY_CASES)
def test_a_decision_names_what_its_plan_depends_on(case: str) -> None:
    routing, expected = DEPENDENCY_CASES[case]
    assert decide(routing, MAIN).depends_on == expected


@pytest.mark.parametrize("case", DEPENDENCY_CASES)
def test_a_plan_that_depends_on_neither_time_nor_states_is_the_same_at_any_time_and_in_any_state(case: str) -> None:
    routing, _ = DEPENDENCY_CASES[case]
    base = decide(routing, MAIN)
    unavailable = {"2001": "unreachable", "2002": "busy", "2003": "excluded"}
    if "time" not in base.depends_on:
        assert decide(routing, MAIN, at=MIDNIGHT).plan == base.plan
    else:
        assert decide(routing, MAIN, at=MIDNIGHT).plan != base.plan
    if not base.depends_on & {"states", "agents"}:
        assert decide(routing, MAIN, states=unavailable).plan == base.plan
    else:
        assert decide(routing, MAIN, states=unavailable).plan != base.plan
