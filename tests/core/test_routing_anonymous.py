"""Anonymous rejection by presentation, and by the number called and the answer group, besides the user's own.

Tables are built directly (``routing_builders``); ``with_rejection`` adds what the compiled
table carries when a number or a group rejects withheld callers.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from core.aggregates.targets import BusyTone as BusyToneHandling
from core.aggregates.targets import ForwardTo, HandleWithVoicemail, MessageAndHangUp, ToExtension, ToGroup, ToVoicemail
from core.routing import AnonymousRejection, BusyTone, Call, Message, RoutingTable, route
from tests.core.routing_builders import (
    CALLER,
    MAIN,
    NOON,
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
    voicemail,
)

TENANT_SAYS = MessageAndHangUp(message=SORRY)
"""The tenant's rejected-call default in most tests here."""


def with_rejection(routing: RoutingTable, *numbers: str, handling: Any = TENANT_SAYS) -> RoutingTable:
    return msgspec.structs.replace(routing, anonymous_rejection=AnonymousRejection(numbers=numbers, handling=handling))


def rejecting(key: str, *members: str, **settings: Any) -> Any:
    return msgspec.structs.replace(group(key, *members, **settings), reject_anonymous=True)


@pytest.mark.parametrize(("caller", "presentation"), [(None, "restricted"), (CALLER, "restricted"), (None, "unavailable"),
                                                      (CALLER, "unavailable")])
def test_a_user_rejects_a_caller_whose_presentation_is_not_allowed(caller: str | None, presentation: str) -> None:
    routing = table(user("2001", reject_anonymous=True, rejected=BusyToneHandling()))
    decision = decide(routing, caller=caller, presentation=presentation)
    assert (decision.plan, decision.rejected_anonymous) == (BusyTone(), True)


def test_the_explanation_says_when_the_network_delivered_no_caller_id() -> None:
    decision = decide(table(user("2001", reject_anonymous=True)), caller=None, presentation="unavailable")
    assert the_step(decision, "anonymous rejection").reason == (
        "the network delivers no caller id (presentation unavailable) and the user rejects anonymous calls")


def test_a_withheld_caller_to_a_rejecting_number_gets_the_tenants_rejected_call_handling() -> None:
    routing = with_rejection(table(user("2001"), numbers={MAIN: ToExtension(extension="2001")}), MAIN)
    decision = decide(routing, MAIN, caller=None)
    assert (decision.plan, decision.rejected_anonymous) == (Message(message=SORRY), True)


def test_the_rejecting_number_is_named_in_the_explanation() -> None:
    routing = with_rejection(table(user("2001"), numbers={MAIN: ToExtension(extension="2001")}), MAIN)
    step = the_step(decide(routing, MAIN, caller=None), "anonymous rejection", f"number {MAIN}")
    assert step.matched and step.depth == 0
    assert step.reason == (f"the caller withholds their number (presentation restricted) and number {MAIN} rejects anonymous "
                           "calls: message and hang up: text-to-speech [en] 'Sorry, we cannot take your call'")


def test_a_presented_caller_to_a_rejecting_number_enters_as_usual() -> None:
    routing = with_rejection(table(user("2001"), numbers={MAIN: ToExtension(extension="2001")}), MAIN)
    decision = decide(routing, MAIN)
    assert (decision.plan, decision.rejected_anonymous) == (ring("2001"), False)
    step = the_step(decision, "anonymous rejection", f"number {MAIN}")
    assert not step.matched and step.reason == f"caller id {CALLER} is present"


def test_a_number_that_does_not_reject_consults_no_anonymous_rejection() -> None:
    numbers = {MAIN: ToExtension(extension="2001"), SPARE: ToExtension(extension="2001")}
    decision = decide(with_rejection(table(user("2001"), numbers=numbers), SPARE), MAIN, caller=None)
    assert decision.plan == ring("2001")
    assert steps(decision, "anonymous rejection") == [the_step(decision, "anonymous rejection", "user 2001")]


def test_the_numbers_rejection_comes_before_the_users_own() -> None:
    routing = with_rejection(table(user("2001", reject_anonymous=True, rejected=BusyToneHandling()),
                                   numbers={MAIN: ToExtension(extension="2001")}), MAIN)
    decision = decide(routing, MAIN, caller=None)
    assert decision.plan == Message(message=SORRY)
    assert rules(decision, "user 2001") == []


def test_dialling_the_extension_is_not_rejected_by_the_users_number() -> None:
    routing = with_rejection(table(user("2001"), numbers={MAIN: ToExtension(extension="2001")}), MAIN)
    assert decide(routing, "2001", caller=None).plan == ring("2001")


def test_a_rejecting_number_that_routes_nowhere_rejects_before_the_unassigned_handling() -> None:
    routing = with_rejection(table(numbers={MAIN: None}, unassigned=ForwardTo(target=ToExtension(extension="2001"))), MAIN)
    assert decide(routing, MAIN, caller=None).plan == Message(message=SORRY)


def test_voicemail_from_a_numbers_rejection_is_the_box_of_the_user_it_enters_at() -> None:
    routing = with_rejection(table(user("2001"), numbers={MAIN: ToExtension(extension="2001")}), MAIN, handling=HandleWithVoicemail())
    assert decide(routing, MAIN, caller=None).plan == voicemail("2001")


def test_voicemail_from_a_numbers_rejection_is_the_box_the_number_enters_at() -> None:
    routing = with_rejection(table(user("2001"), numbers={MAIN: ToVoicemail(extension="2001")}), MAIN, handling=HandleWithVoicemail())
    assert decide(routing, MAIN, caller=None).plan == voicemail("2001")


def test_voicemail_from_the_rejection_of_a_number_entering_a_group_is_the_engaged_tone() -> None:
    routing = with_rejection(table(user("2001"), groups=(group("sales", "2001"),), numbers={MAIN: ToGroup(group="sales")}), MAIN,
                             handling=HandleWithVoicemail())
    decision = decide(routing, MAIN, caller=None)
    assert decision.plan == BusyTone()
    assert the_step(decision, "anonymous rejection").reason.endswith(f"busy tone (number {MAIN} has no voicemail box)")


def test_a_withheld_caller_to_a_rejecting_group_gets_the_tenants_rejected_call_handling() -> None:
    routing = with_rejection(table(user("2001"), groups=(rejecting("sales", "2001"),), numbers={MAIN: ToGroup(group="sales")}))
    decision = decide(routing, MAIN, caller=None)
    assert (decision.plan, decision.rejected_anonymous) == (Message(message=SORRY), True)
    step = the_step(decision, "anonymous rejection", "group sales")
    assert step.matched and "group sales rejects anonymous calls" in step.reason


def test_a_presented_caller_to_a_rejecting_group_rings_its_members() -> None:
    routing = with_rejection(table(user("2001"), groups=(rejecting("sales", "2001"),), numbers={MAIN: ToGroup(group="sales")}))
    decision = decide(routing, MAIN)
    assert decision.plan.via == "group sales" and not decision.rejected_anonymous  # type: ignore[union-attr]
    assert not the_step(decision, "anonymous rejection", "group sales").matched


def test_a_group_rejects_a_withheld_caller_forwarded_to_it() -> None:
    routing = with_rejection(table(user("2001", forward_always=ToGroup(group="sales")), user("2002"),
                                   groups=(rejecting("sales", "2002"),)))
    assert decide(routing, "2001", caller=None).plan == Message(message=SORRY)


def test_voicemail_from_a_groups_rejection_is_its_voicemail_fallback() -> None:
    sales = rejecting("sales", "2001", fallback=ToVoicemail(extension="2002"))
    routing = with_rejection(table(user("2001"), user("2002"), groups=(sales,), numbers={MAIN: ToGroup(group="sales")}),
                             handling=HandleWithVoicemail())
    assert decide(routing, MAIN, caller=None).plan == voicemail("2002")


def test_voicemail_from_the_rejection_of_a_group_without_a_voicemail_fallback_is_the_engaged_tone() -> None:
    sales = rejecting("sales", "2001", fallback=ToExtension(extension="2002"))
    routing = with_rejection(table(user("2001"), user("2002"), groups=(sales,), numbers={MAIN: ToGroup(group="sales")}),
                             handling=HandleWithVoicemail())
    assert decide(routing, MAIN, caller=None).plan == BusyTone()


def test_a_forward_from_a_groups_rejection_rings_its_target() -> None:
    routing = with_rejection(table(user("2001"), user("2002"), groups=(rejecting("sales", "2001"),),
                                   numbers={MAIN: ToGroup(group="sales")}), handling=ForwardTo(target=ToExtension(extension="2002")))
    assert decide(routing, MAIN, caller=None).plan == ring("2002")


def test_a_group_that_does_not_reject_consults_no_anonymous_rejection() -> None:
    routing = with_rejection(table(user("2001"), groups=(group("sales", "2001"),), numbers={MAIN: ToGroup(group="sales")}))
    decision = decide(routing, MAIN, caller=None)
    assert decision.plan.via == "group sales"  # type: ignore[union-attr]
    assert steps(decision, "anonymous rejection") == []


def test_plans_for_a_withheld_caller_are_the_same_with_and_without_the_explanation() -> None:
    routing = with_rejection(table(user("2001"), groups=(rejecting("sales", "2001"),), numbers={MAIN: ToGroup(group="sales")}))
    call = Call(dialled=MAIN, at=NOON, presentation="unavailable")
    quiet, explained = route(routing, call), route(routing, call, explain=True)
    assert (quiet.plan, quiet.rejected_anonymous, quiet.explanation) == (explained.plan, explained.rejected_anonymous, ())

