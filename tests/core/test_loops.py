"""Routing loops refused when saved (core/aggregates/loops.py), and those left to the routing's hop limit.

Hand-on edges (forward always, out of hours, a group's fallback, a queue's and a scheme's
destinations, an IVR menu's destination when closed, the unassigned-number forward) and
menu choices (digits, invalid and no input) count; a cycle of them with a hand-on edge,
possible at one instant, is refused. A person's conditional diverts and menu choices
alone are left to the hop limit.
"""

from __future__ import annotations

from typing import Any

import pytest

from core.aggregates import loops
from core.aggregates.context import Actor
from core.aggregates.groups import GroupSettings
from core.aggregates.hours import OpeningHours, Window
from core.aggregates.schedule import OutOfHours, UnavailableAllDay
from core.aggregates.services import BackupStep, CallQueue, ForwardingScheme, IvrMenu, SchemeStep
from core.aggregates.targets import (
    ForwardTo,
    NoAnswerRule,
    TextToSpeech,
    ToExtension,
    ToGroup,
    ToIvr,
    ToNumber,
    ToQueue,
    ToScheme,
    ToVoicemail,
)
from core.errors import ForwardLoopError
from core.service import CallrouteApp
from tests.core.conftest import rejected

UK = "+441234567890"
WELCOME = TextToSpeech(text="Welcome", language="en")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def menu(**fields: Any) -> IvrMenu:
    return IvrMenu(name=fields.pop("name", "Menu"), prompt=WELCOME, **fields)


def scheme(*destinations: Any, **fields: Any) -> ForwardingScheme:
    return ForwardingScheme(name="Scheme", steps=tuple(SchemeStep(destination=d) for d in destinations), **fields)


def every_day(start: str, end: str) -> OpeningHours:
    return OpeningHours(days={day: (Window(start=start, end=end),) for day in DAYS})


def test_a_scheme_step_to_a_menu_whose_option_leads_back_to_the_scheme_is_refused_naming_the_path(
    app: CallrouteApp, actor: Actor, acme: str
) -> None:
    app.save_forwarding_scheme(actor=actor, tenant=acme, scheme="sales", spec=scheme(ToExtension(extension="2001")))
    app.save_ivr_menu(actor=actor, tenant=acme, ivr="main", spec=menu(options={"3": ToScheme(scheme="sales")}))
    with rejected(app, ForwardLoopError, field="spec.steps[1].destination",
                  match=r"calls would go round in a loop: scheme sales \(step 2\) → IVR main \(digit 3\) → scheme sales$"):
        app.save_forwarding_scheme(actor=actor, tenant=acme, scheme="sales",
                                   spec=scheme(ToExtension(extension="2001"), ToIvr(ivr="main")))


def test_a_menu_option_closing_a_loop_through_a_scheme_step_is_refused(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.save_ivr_menu(actor=actor, tenant=acme, ivr="main", spec=menu())
    app.save_forwarding_scheme(actor=actor, tenant=acme, scheme="sales", spec=scheme(ToIvr(ivr="main")))
    with rejected(app, ForwardLoopError, field="spec.options.3", match=r"IVR main \(digit 3\) → scheme sales \(step 1\) → IVR main"):
        app.save_ivr_menu(actor=actor, tenant=acme, ivr="main", spec=menu(options={"3": ToScheme(scheme="sales")}))


def test_groups_falling_back_to_each_other_are_refused(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.create_answer_group(actor=actor, tenant=acme, group="a", settings=GroupSettings(name="A"))
    app.create_answer_group(actor=actor, tenant=acme, group="b", settings=GroupSettings(name="B", fallback=ToGroup(group="a")))
    with rejected(app, ForwardLoopError, field="settings.fallback",
                  match=r"group a \(if nobody answers\) → group b \(if nobody answers\) → group a$"):
        app.update_answer_group(actor=actor, tenant=acme, group="a", settings=GroupSettings(name="A", fallback=ToGroup(group="b")))


def test_a_forward_always_to_a_groups_number_when_the_group_falls_back_to_the_user_is_refused(
    app: CallrouteApp, actor: Actor, acme: str
) -> None:
    app.create_answer_group(actor=actor, tenant=acme, group="sales",
                            settings=GroupSettings(name="Sales", number=UK, fallback=ToExtension(extension="2001")))
    with rejected(app, ForwardLoopError, field="target",
                  match=rf"extension 2001 \(forward always\) → number \{UK} → group sales \(if nobody answers\) → extension 2001$"):
        app.set_divert(actor=actor, tenant=acme, extension="2001", condition="always", target=ToNumber(number=UK))


def test_a_group_fallback_to_a_user_who_forwards_to_the_groups_number_is_refused(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.create_answer_group(actor=actor, tenant=acme, group="sales", settings=GroupSettings(name="Sales", number=UK))
    app.set_divert(actor=actor, tenant=acme, extension="2001", condition="always", target=ToNumber(number=UK))
    with rejected(app, ForwardLoopError, field="settings.fallback",
                  match=rf"group sales \(if nobody answers\) → extension 2001 \(forward always\) → number \{UK} → group sales$"):
        app.update_answer_group(actor=actor, tenant=acme, group="sales",
                                settings=GroupSettings(name="Sales", number=UK, fallback=ToExtension(extension="2001")))


def test_giving_a_group_the_number_its_fallback_user_forwards_to_is_refused(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.create_answer_group(actor=actor, tenant=acme, group="sales",
                            settings=GroupSettings(name="Sales", fallback=ToExtension(extension="2001")))
    app.set_divert(actor=actor, tenant=acme, extension="2001", condition="always", target=ToNumber(number=UK))
    with rejected(app, ForwardLoopError, field="settings.number", match=rf"number \{UK} → group sales \(if nobody answers\)"):
        app.update_answer_group(actor=actor, tenant=acme, group="sales",
                                settings=GroupSettings(name="Sales", number=UK, fallback=ToExtension(extension="2001")))


def test_an_out_of_hours_destination_closing_a_loop_is_refused_naming_an_instant_it_loops(
    app: CallrouteApp, actor: Actor, acme: str
) -> None:
    app.set_divert(actor=actor, tenant=acme, extension="2002", condition="always", target=ToExtension(extension="2001"))
    schedule = OutOfHours(days={"sat": UnavailableAllDay()}, when_unavailable=ToExtension(extension="2002"))
    with rejected(app, ForwardLoopError, field="out_of_hours.when_unavailable",
                  match=r"extension 2001 \(out of hours\) → extension 2002 \(forward always\) → extension 2001, "
                        r"for example at sat 00:00$"):
        app.set_out_of_hours(actor=actor, tenant=acme, extension="2001", out_of_hours=schedule)


def test_a_queue_destination_leading_back_through_a_menu_is_refused(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.save_queue(actor=actor, tenant=acme, queue="support", spec=CallQueue(name="Support", agents=("2002",)))
    app.save_ivr_menu(actor=actor, tenant=acme, ivr="main", spec=menu(options={"1": ToQueue(queue="support")}))
    with rejected(app, ForwardLoopError, field="spec.after_max_wait",
                  match=r"queue support \(after the maximum wait\) → IVR main \(digit 1\) → queue support"):
        app.save_queue(actor=actor, tenant=acme, queue="support",
                       spec=CallQueue(name="Support", agents=("2002",), after_max_wait=ToIvr(ivr="main")))


def _night_scheme_back_to_main(app: CallrouteApp, actor: Actor, acme: str, night_hours: OpeningHours) -> None:
    """IVR main (no hours yet), and scheme night, which outside its hours sends calls to main."""
    app.save_ivr_menu(actor=actor, tenant=acme, ivr="main", spec=menu())
    app.save_forwarding_scheme(actor=actor, tenant=acme, scheme="night", spec=scheme(
        ToExtension(extension="2002"), working_hours=night_hours, outside_hours=ToIvr(ivr="main")))


MAIN_CLOSED_TO_NIGHT = menu(opening_hours=every_day("09:00", "17:00"), when_closed=ToScheme(scheme="night"))
"""Open 09:00–17:00 every day; closed: to scheme night."""


def test_closed_and_outside_hours_destinations_that_never_apply_at_one_instant_are_accepted(
    app: CallrouteApp, actor: Actor, acme: str
) -> None:
    _night_scheme_back_to_main(app, actor, acme, every_day("17:00", "09:00"))
    app.save_ivr_menu(actor=actor, tenant=acme, ivr="main", spec=MAIN_CLOSED_TO_NIGHT)
    assert app.tenant(acme).state.ivrs["main"].when_closed == ToScheme(scheme="night")


def test_closed_and_outside_hours_destinations_overlapping_by_one_minute_are_refused(
    app: CallrouteApp, actor: Actor, acme: str
) -> None:
    _night_scheme_back_to_main(app, actor, acme, every_day("17:01", "09:00"))
    with rejected(app, ForwardLoopError, field="spec.when_closed",
                  match=r"IVR main \(when closed\) → scheme night \(outside working hours\) → IVR main, for example at mon 17:00$"):
        app.save_ivr_menu(actor=actor, tenant=acme, ivr="main", spec=MAIN_CLOSED_TO_NIGHT)


def test_no_answer_diverts_between_two_users_are_left_to_the_hop_limit(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_divert(actor=actor, tenant=acme, extension="2001", condition="no_answer", target=ToExtension(extension="2002"))
    app.set_divert(actor=actor, tenant=acme, extension="2002", condition="no_answer", target=ToExtension(extension="2001"))
    assert app.tenant(acme).state.users["2002"].own.no_answer.target == ToExtension(extension="2001")  # type: ignore[union-attr]


def test_a_rejected_call_forward_back_to_a_forwarding_user_is_left_to_the_hop_limit(
    app: CallrouteApp, actor: Actor, acme: str
) -> None:
    app.set_divert(actor=actor, tenant=acme, extension="2002", condition="always", target=ToExtension(extension="2001"))
    app.set_rejected_call_handling(actor=actor, tenant=acme, extension="2001", handling=ForwardTo(target=ToExtension(extension="2002")))
    assert app.tenant(acme).state.users["2001"].own.rejected == ForwardTo(target=ToExtension(extension="2002"))


def test_menus_leading_to_each_other_are_accepted(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.save_ivr_menu(actor=actor, tenant=acme, ivr="main", spec=menu())
    app.save_ivr_menu(actor=actor, tenant=acme, ivr="sub", spec=menu(options={"0": ToIvr(ivr="main")}, on_no_input=ToIvr(ivr="main")))
    app.save_ivr_menu(actor=actor, tenant=acme, ivr="main", spec=menu(options={"1": ToIvr(ivr="sub"), "9": ToIvr(ivr="main")}))
    assert app.tenant(acme).state.ivrs["main"].options == {"1": ToIvr(ivr="sub"), "9": ToIvr(ivr="main")}


def test_a_menu_option_dialling_the_menus_own_number_is_accepted(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.save_ivr_menu(actor=actor, tenant=acme, ivr="main", spec=menu(number=UK, options={"0": ToNumber(number=UK)}))
    assert app.tenant(acme).state.ivrs["main"].options["0"] == ToNumber(number=UK)


def test_a_forward_always_to_the_users_own_number_is_refused(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.assign_number(actor=actor, tenant=acme, extension="2001", number=UK)
    with rejected(app, ForwardLoopError, field="target",
                  match=rf"extension 2001 \(forward always\) → number \{UK} → extension 2001$"):
        app.set_divert(actor=actor, tenant=acme, extension="2001", condition="always", target=ToNumber(number=UK))


def test_routing_a_number_to_the_user_who_forwards_to_it_is_refused(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_divert(actor=actor, tenant=acme, extension="2001", condition="always", target=ToNumber(number=UK))
    with rejected(app, ForwardLoopError, field="entry", match=rf"number \{UK} → extension 2001 \(forward always\) → number"):
        app.route_number(actor=actor, tenant=acme, number=UK, entry=ToExtension(extension="2001"))


def test_assigning_a_user_the_number_it_forwards_to_is_refused(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_divert(actor=actor, tenant=acme, extension="2001", condition="always", target=ToNumber(number=UK))
    with rejected(app, ForwardLoopError, field="number", match=rf"number \{UK} → extension 2001"):
        app.assign_number(actor=actor, tenant=acme, extension="2001", number=UK)


def test_a_permanent_redirect_to_a_number_entering_back_at_the_user_is_refused(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.route_number(actor=actor, tenant=acme, number=UK, entry=ToExtension(extension="2001"))
    with rejected(app, ForwardLoopError, field="number", match=r"extension 2001 \(permanent redirect\) → number"):
        app.set_permanent_redirect(actor=actor, tenant=acme, extension="2001", number=UK)


def test_a_no_answer_divert_marked_always_to_a_number_entering_back_at_the_user_is_refused(
    app: CallrouteApp, actor: Actor, acme: str
) -> None:
    app.route_number(actor=actor, tenant=acme, number=UK, entry=ToExtension(extension="2001"))
    with rejected(app, ForwardLoopError, field="target", match=r"extension 2001 \(no-answer divert marked always\) → number"):
        app.set_divert(actor=actor, tenant=acme, extension="2001", condition="no_answer", target=ToNumber(number=UK, always=True))


def test_a_default_always_redirect_reaching_a_user_whose_number_it_dials_is_refused(
    app: CallrouteApp, actor: Actor, acme: str
) -> None:
    app.route_number(actor=actor, tenant=acme, number=UK, entry=ToExtension(extension="2001"))
    with rejected(app, ForwardLoopError, field="target", match=r"extension 2001 \(no-answer divert marked always\)"):
        app.set_default_no_answer(actor=actor, tenant=acme, target=ToNumber(number=UK, always=True), apply_to="unchanged_users")


def test_a_default_always_redirect_for_unchanged_users_reaches_users_pinned_before(
    app: CallrouteApp, actor: Actor, acme: str
) -> None:
    app.set_default_no_answer(actor=actor, tenant=acme, target=ToVoicemail(), apply_to="new_users")  # pins today's users
    app.route_number(actor=actor, tenant=acme, number=UK, entry=ToExtension(extension="2001"))
    with rejected(app, ForwardLoopError, field="target", match=r"extension 2001 \(no-answer divert marked always\)"):
        app.set_default_no_answer(actor=actor, tenant=acme, target=ToNumber(number=UK, always=True), apply_to="unchanged_users")


def test_a_default_always_redirect_for_all_users_reaches_users_with_their_own_value(
    app: CallrouteApp, actor: Actor, acme: str
) -> None:
    app.set_divert(actor=actor, tenant=acme, extension="2001", condition="no_answer", target=ToVoicemail())
    app.route_number(actor=actor, tenant=acme, number=UK, entry=ToExtension(extension="2001"))
    with rejected(app, ForwardLoopError, field="target", match=r"extension 2001 \(no-answer divert marked always\)"):
        app.set_default_no_answer(actor=actor, tenant=acme, target=ToNumber(number=UK, always=True), apply_to="all_users")


def test_a_default_always_redirect_for_new_users_only_is_accepted(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.route_number(actor=actor, tenant=acme, number=UK, entry=ToExtension(extension="2001"))
    app.set_default_no_answer(actor=actor, tenant=acme, target=ToNumber(number=UK, always=True), apply_to="new_users")
    assert app.tenant(acme).state.defaults.no_answer == NoAnswerRule(target=ToNumber(number=UK, always=True))


def test_an_unassigned_number_forward_leading_back_to_the_number_is_refused(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.route_number(actor=actor, tenant=acme, number=UK, entry=None)
    app.set_divert(actor=actor, tenant=acme, extension="2001", condition="always", target=ToNumber(number=UK))
    with rejected(app, ForwardLoopError, field="handling.target",
                  match=rf"number \{UK} \(unassigned-number handling\) → extension 2001 \(forward always\) → number \{UK}$"):
        app.set_unassigned_number_handling(actor=actor, tenant=acme, handling=ForwardTo(target=ToExtension(extension="2001")))


def test_a_scheme_step_ringing_an_extension_does_not_follow_that_users_forward(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.save_forwarding_scheme(actor=actor, tenant=acme, scheme="sales", spec=scheme(ToVoicemail(extension="2001")))
    app.route_number(actor=actor, tenant=acme, number=UK, entry=ToScheme(scheme="sales"))
    app.set_divert(actor=actor, tenant=acme, extension="2001", condition="always", target=ToNumber(number=UK))
    app.save_forwarding_scheme(actor=actor, tenant=acme, scheme="sales", spec=scheme(ToExtension(extension="2001")))
    assert app.tenant(acme).state.schemes["sales"].steps[0].destination == ToExtension(extension="2001")


def test_a_scheme_step_after_one_that_keeps_the_call_closes_no_loop(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.save_ivr_menu(actor=actor, tenant=acme, ivr="main", spec=menu())
    app.create_answer_group(actor=actor, tenant=acme, group="sales", settings=GroupSettings(name="Sales"))
    app.save_forwarding_scheme(actor=actor, tenant=acme, scheme="s", spec=scheme(ToVoicemail(extension="2001")))
    app.update_answer_group(actor=actor, tenant=acme, group="sales",
                            settings=GroupSettings(name="Sales", fallback=ToExtension(extension="2002")))
    app.set_divert(actor=actor, tenant=acme, extension="2002", condition="always", target=ToNumber(number=UK))
    app.route_number(actor=actor, tenant=acme, number=UK, entry=ToScheme(scheme="s"))
    app.save_forwarding_scheme(actor=actor, tenant=acme, scheme="s", spec=scheme(ToIvr(ivr="main"), ToGroup(group="sales")))
    assert app.tenant(acme).state.schemes["s"].steps[1].destination == ToGroup(group="sales")


def test_a_scheme_backup_step_dialling_a_number_that_enters_at_the_scheme_is_refused(
    app: CallrouteApp, actor: Actor, acme: str
) -> None:
    app.save_forwarding_scheme(actor=actor, tenant=acme, scheme="s", spec=scheme(ToExtension(extension="2001")))
    app.route_number(actor=actor, tenant=acme, number=UK, entry=ToScheme(scheme="s"))
    backup = (BackupStep(destination=ToNumber(number=UK)),)
    with rejected(app, ForwardLoopError, field="spec.backup[0].destination", match=rf"scheme s \(backup step 1\) → number \{UK}"):
        app.save_forwarding_scheme(actor=actor, tenant=acme, scheme="s", spec=scheme(ToExtension(extension="2001"), backup=backup))


def test_a_parallel_scheme_rings_its_numbers_before_a_step_that_keeps_the_call(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.save_ivr_menu(actor=actor, tenant=acme, ivr="main", spec=menu())
    app.save_forwarding_scheme(actor=actor, tenant=acme, scheme="s", spec=scheme(ToExtension(extension="2001")))
    app.route_number(actor=actor, tenant=acme, number=UK, entry=ToScheme(scheme="s"))
    with rejected(app, ForwardLoopError, field="spec.steps[1].destination", match=rf"scheme s \(step 2\) → number \{UK}"):
        app.save_forwarding_scheme(actor=actor, tenant=acme, scheme="s",
                                   spec=scheme(ToIvr(ivr="main"), ToNumber(number=UK), mode="parallel"))


def test_a_change_that_keeps_a_loop_stored_before_as_it_was_is_accepted(
    app: CallrouteApp, actor: Actor, acme: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app.create_answer_group(actor=actor, tenant=acme, group="a", settings=GroupSettings(name="A"))
    app.create_answer_group(actor=actor, tenant=acme, group="b", settings=GroupSettings(name="B", fallback=ToGroup(group="a")))
    with monkeypatch.context() as older_code:  # as stored before loops were refused
        older_code.setattr("core.aggregates.answer_groups.refuse_loops", lambda *args, **kwargs: None)
        app.update_answer_group(actor=actor, tenant=acme, group="a", settings=GroupSettings(name="A", fallback=ToGroup(group="b")))
    app.update_answer_group(actor=actor, tenant=acme, group="a",
                            settings=GroupSettings(name="A renamed", timeout_seconds=30, fallback=ToGroup(group="b")))
    assert app.tenant(acme).state.groups["a"].settings.name == "A renamed"


def test_a_week_mask_of_a_window_crossing_sunday_midnight_runs_on_into_monday() -> None:
    mask = loops.open_mask(OpeningHours(days={"sun": (Window(start="23:00", end="01:00"),)}))
    sunday_23 = 6 * 1440 + 23 * 60
    assert [bool(mask >> minute & 1) for minute in (0, 59, 60, sunday_23 - 1, sunday_23)] == [True, True, False, False, True]


def test_a_closure_whose_destination_leads_back_to_what_it_closes_is_refused_naming_the_path(
    app: CallrouteApp, actor: Actor, acme: str
) -> None:
    from datetime import date

    from core.aggregates.dated import ClosureScope

    app.create_answer_group(actor=actor, tenant=acme, group="desk",
                            settings=GroupSettings(name="Desk", fallback=ToExtension(extension="2001")))
    with rejected(app, ForwardLoopError, field="destination", match="closure xmas.*group desk.*extension 2001"):
        app.add_closure(actor=actor, tenant=acme, name="xmas", first_day=date(2026, 12, 24), destination=ToGroup(group="desk"),
                        scope=ClosureScope(users=("2001",)))


def test_a_closure_sending_calls_to_a_group_whose_fallback_is_not_closed_is_accepted(
    app: CallrouteApp, actor: Actor, acme: str
) -> None:
    from datetime import date

    from core.aggregates.dated import ClosureScope

    app.create_answer_group(actor=actor, tenant=acme, group="desk",
                            settings=GroupSettings(name="Desk", fallback=ToExtension(extension="2002")))
    receipt = app.add_closure(actor=actor, tenant=acme, name="xmas", first_day=date(2026, 12, 24),
                              destination=ToGroup(group="desk"), scope=ClosureScope(users=("2001",)))
    assert receipt.events == 1


def test_a_closure_mask_covers_only_the_weekdays_and_hours_its_dates_can_fall_on() -> None:
    from datetime import date

    from core.aggregates.dated import Closure

    christmas_eve = Closure(name="x", first_day=date(2026, 12, 24), hours=Window(start="12:00", end="18:00"))
    mask = loops.closure_mask(christmas_eve)
    assert mask.bit_count() == 6 * 60
    thursday_noon = 3 * 1440 + 12 * 60  # 2026-12-24 is a Thursday
    assert mask >> thursday_noon & 1 and not mask >> (thursday_noon - 1) & 1
    assert loops.closure_mask(Closure(name="y", first_day=date(2026, 12, 24), yearly=True)) == loops.ALWAYS


def test_removing_the_divert_that_hid_an_out_of_hours_loop_is_refused(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_divert(actor=actor, tenant=acme, extension="2001", condition="no_answer",
                   target=ToNumber(number="+46701234567", always=True))
    schedule = OutOfHours(days={"sat": UnavailableAllDay()}, when_unavailable=ToExtension(extension="2002"))
    app.set_out_of_hours(actor=actor, tenant=acme, extension="2001", out_of_hours=schedule)
    app.set_divert(actor=actor, tenant=acme, extension="2002", condition="always", target=ToExtension(extension="2001"))
    with rejected(app, ForwardLoopError, field="target", match="extension 2001 .out of hours."):
        app.set_divert(actor=actor, tenant=acme, extension="2001", condition="no_answer", target=ToVoicemail())


def test_forgetting_an_own_value_that_hid_a_looping_default_is_refused(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.assign_number(actor=actor, tenant=acme, extension="2001", number=UK)
    app.set_divert(actor=actor, tenant=acme, extension="2001", condition="busy", target=ToVoicemail())
    app.set_default_busy(actor=actor, tenant=acme, target=ToNumber(number=UK, always=True), apply_to="unchanged_users")
    with rejected(app, ForwardLoopError, field="settings", match="busy divert marked always"):
        app.reset_call_handling(actor=actor, tenant=acme, extension="2001", settings=("busy",))


def test_a_closure_is_not_a_loop_through_a_user_whose_forward_always_takes_every_call(
    app: CallrouteApp, actor: Actor, acme: str
) -> None:
    from datetime import date

    app.set_divert(actor=actor, tenant=acme, extension="2001", condition="always", target=ToNumber(number="+46701234567"))
    app.create_answer_group(actor=actor, tenant=acme, group="reception",
                            settings=GroupSettings(name="Reception", fallback=ToExtension(extension="2001")))
    receipt = app.add_closure(actor=actor, tenant=acme, name="christmas", first_day=date(2026, 12, 24),
                              destination=ToGroup(group="reception"))
    assert receipt.events == 1


def test_a_switched_off_schedule_is_not_a_closed_users_own_handling(app: CallrouteApp, actor: Actor, acme: str) -> None:
    from datetime import date

    for ext, other in (("2001", "2002"), ("2002", "2001")):
        schedule = OutOfHours(days={"sat": UnavailableAllDay()}, when_unavailable=ToExtension(extension=other), enabled=False)
        app.set_out_of_hours(actor=actor, tenant=acme, extension=ext, out_of_hours=schedule)
    receipt = app.add_closure(actor=actor, tenant=acme, name="midsummer", first_day=date(2027, 6, 25))
    assert receipt.events == 1
