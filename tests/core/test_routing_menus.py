"""Routing through IVR menus (digits, invalid and no input) and forwarding schemes (steps, parallel, backup)."""

from __future__ import annotations

from typing import Any

from core.aggregates.services import BackupStep, CallQueue, ForwardingScheme, IvrMenu, SchemeStep
from core.aggregates.targets import (
    PlayMessage,
    ToExtension,
    ToExternalSip,
    ToGroup,
    ToIvr,
    ToNumber,
    ToQueue,
    ToResponsibleManager,
    ToScheme,
    ToVoicemail,
    ToWebhook,
)
from core.routing import Endpoint, Leg, Lookup, Menu, Message, Missed, Queue, Ring, RoutingTable
from tests.core.routing_builders import (
    MAIN,
    MOBILE,
    PROMPT,
    SIP_URI,
    SORRY,
    WEBHOOK,
    decide,
    group,
    legs,
    ring,
    steps,
    table,
    the_step,
    user,
    user_leg,
    via,
    voicemail,
)


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
