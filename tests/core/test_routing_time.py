"""Routing at the edges of time windows, on the tenant's local wall time (out of hours, opening and working hours, DST)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from core.aggregates.hours import OpeningHours, Window
from core.aggregates.schedule import AvailableAllDay, OutOfHours, UnavailableAllDay, UnavailableBetween
from core.aggregates.services import ForwardingScheme, IvrMenu, SchemeStep
from core.aggregates.targets import ToIvr, ToNumber, ToScheme, ToVoicemail
from core.routing import Endpoint, Leg, Menu, Message, Missed, Ring, RoutingTable
from tests.core.routing_builders import (
    CLOSED,
    MAIN,
    MOBILE,
    OFFICE,
    PROMPT,
    decide,
    office_ivr,
    office_scheme,
    ring,
    table,
    the_step,
    user,
    utc,
    via,
    voicemail,
)


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
