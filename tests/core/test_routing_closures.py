"""Routing with dated closures: a closure in force at the call's local instant wins over weekly hours.

The tenant's zone is Europe/Stockholm (CET, UTC+1 in winter; CEST, UTC+2 in summer);
call instants are in UTC. ``NOON`` is Wednesday 10 June 2026, 12:00 CEST.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import msgspec
import pytest

from core.aggregates.dated import Closure, ClosureScope
from core.aggregates.hours import Window
from core.aggregates.schedule import OutOfHours, UnavailableBetween
from core.aggregates.services import CallQueue
from core.aggregates.targets import PlayMessage, ToExtension, ToGroup, ToNumber, ToQueue, ToVoicemail
from core.routing import Endpoint, Leg, Menu, Message, Missed, Ring, RoutingTable
from tests.core.routing_builders import (
    CLOSED,
    MAIN,
    MOBILE,
    SORRY,
    decide,
    group,
    office_ivr,
    office_scheme,
    ring,
    steps,
    table,
    the_step,
    user,
    utc,
    via,
    voicemail,
)

WEDNESDAY = date(2026, 6, 10)


def closing(*closures: Closure, routing: RoutingTable | None = None) -> RoutingTable:
    """``routing`` (default: user 2001 alone, open all week) with ``closures``, in the order given."""
    return msgspec.structs.replace(routing or table(user("2001")), closures=closures)


def holiday(first_day: date = WEDNESDAY, **options: Any) -> Closure:
    return Closure(name=options.pop("name", "Holiday"), first_day=first_day, **options)


def is_closed(routing: RoutingTable, at: Any, dialled: str = "2001") -> bool:
    """Whether a closure decided the call (the explanation has a matched closure step)."""
    return any(step.matched for step in steps(decide(routing, dialled, at=at), "closure"))


# -- users -----------------------------------------------------------------------------------


def test_a_whole_day_closure_sends_a_call_to_the_users_voicemail_although_the_user_is_available() -> None:
    assert decide(closing(holiday())).plan == voicemail("2001")


def test_a_closed_user_with_an_out_of_hours_schedule_goes_where_that_schedule_sends_calls() -> None:
    schedule = OutOfHours(days={"mon": UnavailableBetween(start="18:00", end="09:00")}, when_unavailable=ToNumber(number=MOBILE))
    decision = decide(closing(holiday(), routing=table(user("2001", out_of_hours=schedule))))
    assert decision.plan == Ring(legs=(Leg(endpoint=Endpoint(kind="external", id=MOBILE)),), **via(f"number {MOBILE}"))


def test_a_closure_with_a_destination_sends_calls_there_instead_of_the_users_own_handling() -> None:
    decision = decide(closing(holiday(destination=PlayMessage(message=SORRY))))
    assert decision.plan == Message(message=SORRY)


def test_explain_names_the_closure_that_decided() -> None:
    step = the_step(decide(closing(holiday(name="Staff day"))), "closure", "user 2001")
    assert step.matched
    assert step.reason == ("wed 2026-06-10 12:00:00 CEST is in closure 'Staff day' (2026-06-10, whole day): "
                           "to voicemail (its own out-of-hours handling)")


def test_a_closure_that_decides_stops_the_weekly_out_of_hours_from_being_consulted() -> None:
    schedule = OutOfHours(days={"wed": UnavailableBetween(start="11:00", end="13:00")}, when_unavailable=ToNumber(number=MOBILE))
    decision = decide(closing(holiday(destination=PlayMessage(message=SORRY)), routing=table(user("2001", out_of_hours=schedule))))
    assert decision.plan == Message(message=SORRY)
    assert steps(decision, "out of hours") == []


def test_a_plan_decided_by_a_closure_depends_on_the_time() -> None:
    assert "time" in decide(closing(holiday())).depends_on


def test_a_closure_that_is_not_in_force_still_makes_the_plan_depend_on_the_time() -> None:
    decision = decide(closing(holiday(first_day=date(2026, 12, 24))))
    assert decision.plan == ring("2001")
    assert "time" in decision.depends_on
    assert not the_step(decision, "closure").matched


def test_a_closure_of_other_users_leaves_the_plan_independent_of_the_time() -> None:
    routing = closing(holiday(scope=ClosureScope(users=("2002",))), routing=table(user("2001"), user("2002")))
    decision = decide(routing)
    assert decision.plan == ring("2001")
    assert "time" not in decision.depends_on
    assert steps(decision, "closure") == []


def test_a_closure_closes_the_users_it_lists() -> None:
    routing = closing(holiday(scope=ClosureScope(users=("2002",))), routing=table(user("2001"), user("2002")))
    assert decide(routing, "2002").plan == voicemail("2002")


def test_forward_always_applies_before_a_closure() -> None:
    routing = closing(holiday(), routing=table(user("2001", forward_always=ToNumber(number=MOBILE))))
    assert decide(routing).plan == Ring(legs=(Leg(endpoint=Endpoint(kind="external", id=MOBILE)),), **via(f"number {MOBILE}"))


def test_a_whole_tenant_closure_does_not_close_the_extension_it_sends_calls_to() -> None:
    routing = closing(holiday(destination=ToExtension(extension="2002")), routing=table(user("2001"), user("2002")))
    decision = decide(routing)
    assert decision.plan == ring("2002")
    assert [s.at for s in steps(decision, "closure")] == ["user 2001"]


def test_a_closure_that_lists_the_thing_wins_over_a_whole_tenant_closure_in_force_at_the_same_time() -> None:
    tenant_wide = holiday(name="A tenant-wide day", destination=PlayMessage(message=CLOSED))
    listed = holiday(name="Z listed day", destination=PlayMessage(message=SORRY), scope=ClosureScope(users=("2001",)))
    # The compiled table puts listed closures first (compile_table); the router takes the first in force.
    decision = decide(closing(listed, tenant_wide))
    assert decision.plan == Message(message=SORRY)
    assert "'Z listed day'" in the_step(decision, "closure").reason


# -- the edges of a closure, on the tenant's wall clock -----------------------------------------


@pytest.mark.parametrize(("at", "closed"), [
    (utc(2026, 6, 9, 21, 59, 59), False),  # Tue 23:59:59 CEST
    (utc(2026, 6, 9, 22, 0, 0), True),  # Wed 00:00:00 CEST
    (utc(2026, 6, 10, 21, 59, 59), True),  # Wed 23:59:59 CEST
    (utc(2026, 6, 10, 22, 0, 0), False),  # Thu 00:00:00 CEST
])
def test_a_whole_day_closure_is_half_open_from_local_midnight_to_local_midnight(at: Any, closed: bool) -> None:
    assert is_closed(closing(holiday()), at) is closed


@pytest.mark.parametrize(("at", "closed"), [
    (utc(2026, 3, 28, 22, 59, 59), False),  # Sat 23:59:59 CET
    (utc(2026, 3, 28, 23, 0, 0), True),  # Sun 00:00:00 CET: the spring-forward day starts
    (utc(2026, 3, 29, 0, 59, 59), True),  # 01:59:59 CET, the last second before the clocks skip to 03:00 CEST
    (utc(2026, 3, 29, 1, 0, 0), True),  # 03:00:00 CEST
    (utc(2026, 3, 29, 21, 59, 59), True),  # Sun 23:59:59 CEST
    (utc(2026, 3, 29, 22, 0, 0), False),  # Mon 00:00:00 CEST: the day had 23 hours
])
def test_a_closure_on_the_spring_forward_day_starts_at_local_midnight_and_lasts_23_hours(at: Any, closed: bool) -> None:
    assert is_closed(closing(holiday(first_day=date(2026, 3, 29))), at) is closed


@pytest.mark.parametrize(("at", "closed"), [
    (utc(2026, 10, 24, 21, 59, 59), False),  # Sat 23:59:59 CEST
    (utc(2026, 10, 24, 22, 0, 0), True),  # Sun 00:00:00 CEST: the fall-back day starts
    (utc(2026, 10, 25, 22, 59, 59), True),  # Sun 23:59:59 CET
    (utc(2026, 10, 25, 23, 0, 0), False),  # Mon 00:00:00 CET: the day had 25 hours
])
def test_a_closure_on_the_fall_back_day_starts_at_local_midnight_and_lasts_25_hours(at: Any, closed: bool) -> None:
    assert is_closed(closing(holiday(first_day=date(2026, 10, 25))), at) is closed


def test_a_closure_that_ends_inside_office_hours_still_closes_the_menu_at_09_59_59() -> None:
    routing = closing(holiday(hours=Window(start="07:00", end="10:00"), destination=PlayMessage(message=SORRY)),
                      routing=office_ivr())
    decision = decide(routing, MAIN, at=utc(2026, 6, 10, 7, 59, 59))
    assert decision.plan == Message(message=SORRY)
    assert steps(decision, "opening hours") == []


def test_a_closure_that_ends_inside_office_hours_leaves_the_menu_open_at_10_00_00() -> None:
    routing = closing(holiday(hours=Window(start="07:00", end="10:00"), destination=PlayMessage(message=SORRY)),
                      routing=office_ivr())
    decision = decide(routing, MAIN, at=utc(2026, 6, 10, 8, 0, 0))
    assert isinstance(decision.plan, Menu)
    assert not the_step(decision, "closure", "ivr main").matched
    assert the_step(decision, "opening hours").reason == "open: wed open 09:00–18:00"


def test_a_closure_before_office_hours_decides_rather_than_the_opening_hours() -> None:
    routing = closing(holiday(hours=Window(start="07:00", end="10:00"), destination=PlayMessage(message=SORRY)),
                      routing=office_ivr())
    decision = decide(routing, MAIN, at=utc(2026, 6, 10, 5, 0, 0))  # 07:00 CEST, before the menu opens at 09:00
    assert decision.plan == Message(message=SORRY)


@pytest.mark.parametrize(("at", "closed"), [
    (utc(2026, 6, 10, 15, 59, 59), False),  # Wed 17:59:59
    (utc(2026, 6, 10, 16, 0, 0), True),  # Wed 18:00:00
    (utc(2026, 6, 10, 23, 59, 59), True),  # Thu 01:59:59, still Wednesday's window
    (utc(2026, 6, 11, 0, 0, 0), False),  # Thu 02:00:00
    (utc(2026, 6, 9, 23, 0, 0), False),  # Wed 01:00:00 belongs to Tuesday, which is not closed
])
def test_a_window_of_hours_that_crosses_midnight_belongs_to_the_day_it_starts_on(at: Any, closed: bool) -> None:
    assert is_closed(closing(holiday(hours=Window(start="18:00", end="02:00"))), at) is closed


@pytest.mark.parametrize(("at", "closed"), [
    (utc(2026, 12, 23, 22, 59, 59), False),  # 2026-12-23 23:59:59 CET
    (utc(2026, 12, 23, 23, 0, 0), True),
    (utc(2027, 12, 24, 12, 0), True),  # the next year
    (utc(2027, 12, 25, 12, 0), False),
    (utc(2025, 12, 24, 12, 0), False),  # before the first year
])
def test_a_yearly_closure_repeats_on_the_same_date_from_its_first_year_on(at: Any, closed: bool) -> None:
    assert is_closed(closing(holiday(first_day=date(2026, 12, 24), yearly=True)), at) is closed


def test_a_yearly_closure_across_new_year_closes_the_new_years_days_of_later_years() -> None:
    routing = closing(holiday(first_day=date(2026, 12, 31), last_day=date(2027, 1, 1), yearly=True))
    assert is_closed(routing, utc(2028, 1, 1, 12, 0))
    assert not is_closed(routing, utc(2028, 1, 2, 12, 0))


def test_a_closure_of_several_days_closes_the_last_day_until_its_end() -> None:
    routing = closing(holiday(first_day=date(2026, 12, 24), last_day=date(2026, 12, 26)))
    assert is_closed(routing, utc(2026, 12, 26, 22, 59, 59))
    assert not is_closed(routing, utc(2026, 12, 26, 23, 0, 0))


# -- menus, schemes, groups and queues: each one's own handling ----------------------------------


def test_a_closed_menu_goes_where_its_opening_hours_send_calls_when_closed() -> None:
    decision = decide(closing(holiday(), routing=office_ivr()), MAIN)
    assert decision.plan == Message(message=CLOSED)
    assert the_step(decision, "closure", "ivr main").matched


def test_a_closed_scheme_goes_where_calls_go_outside_its_working_hours() -> None:
    routing = closing(holiday(), routing=office_scheme(outside_hours=ToVoicemail(extension="2001")))
    decision = decide(routing, MAIN)
    assert decision.plan == voicemail("2001")
    assert steps(decision, "working hours") == []


def test_a_closed_scheme_without_a_destination_outside_hours_misses_the_call() -> None:
    assert decide(closing(holiday(), routing=office_scheme()), MAIN).plan == Missed()


def group_table(**settings: Any) -> RoutingTable:
    return table(user("2001"), user("2002"), groups=(group("sales", "2001", **settings),), numbers={MAIN: ToGroup(group="sales")})


def test_a_closed_group_goes_to_its_fallback_as_when_nobody_answers() -> None:
    routing = closing(holiday(scope=ClosureScope(groups=("sales",))), routing=group_table(fallback=ToExtension(extension="2002")))
    decision = decide(routing, MAIN)
    assert decision.plan == ring("2002")
    assert the_step(decision, "closure", "group sales").matched


def test_a_closed_group_without_a_fallback_misses_the_call() -> None:
    assert decide(closing(holiday(scope=ClosureScope(groups=("sales",))), routing=group_table()), MAIN).plan == Missed()


def queue_table(**settings: Any) -> RoutingTable:
    queue = CallQueue(name="Support", agents=("2001",), **settings)
    return table(user("2001"), user("2002"), queues={"support": queue}, numbers={MAIN: ToQueue(queue="support")})


def test_a_closed_queue_goes_where_it_sends_callers_when_no_agent_is_logged_in() -> None:
    routing = closing(holiday(scope=ClosureScope(queues=("support",))),
                      routing=queue_table(when_no_agents=ToVoicemail(extension="2002"), after_max_wait=ToExtension(extension="2001")))
    assert decide(routing, MAIN).plan == voicemail("2002")


def test_a_closed_queue_without_a_no_agents_destination_goes_where_callers_go_after_the_longest_wait() -> None:
    routing = closing(holiday(scope=ClosureScope(queues=("support",))), routing=queue_table(after_max_wait=ToVoicemail(extension="2002")))
    assert decide(routing, MAIN).plan == voicemail("2002")


def test_a_closed_queue_with_neither_misses_the_call() -> None:
    assert decide(closing(holiday(scope=ClosureScope(queues=("support",))), routing=queue_table()), MAIN).plan == Missed()


def test_a_closure_listing_a_menu_leaves_the_users_it_sends_calls_to_open() -> None:
    routing = closing(holiday(scope=ClosureScope(ivrs=("main",))), routing=office_ivr())
    decision = decide(routing, "2001")
    assert decision.plan == ring("2001")
    assert steps(decision, "closure") == []
