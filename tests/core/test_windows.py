"""Time windows on local wall time (core/routing/windows.py): half-open, crossing midnight, DST.

Instants are given in UTC and turned into the tenant's wall time the way the router does
(``astimezone``), so each test also states which UTC instant a local edge is.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from core.aggregates.hours import OpeningHours, Window
from core.aggregates.schedule import AvailableAllDay, OutOfHours, UnavailableAllDay, UnavailableBetween
from core.routing.windows import describe_local, open_window, out_of_hours_window

STOCKHOLM = ZoneInfo("Europe/Stockholm")
KYIV = ZoneInfo("Europe/Kyiv")

EVENINGS = OutOfHours(days={d: UnavailableBetween(start="18:00", end="09:00") for d in ("mon", "tue", "wed", "thu", "fri")})
"""Unavailable 18:00–09:00 on weekdays (each night belongs to the weekday it starts on)."""

OFFICE = OpeningHours(days={d: (Window(start="09:00", end="18:00"),) for d in ("mon", "tue", "wed", "thu", "fri")})


def local(zone: ZoneInfo, *utc: int) -> datetime:
    """The wall time in ``zone`` of the UTC instant ``utc`` (year, month, day, hour, minute, second)."""
    return datetime(*utc, tzinfo=UTC).astimezone(zone)


def test_one_second_before_the_evening_window_is_available() -> None:
    at = local(STOCKHOLM, 2026, 6, 10, 15, 59, 59)  # wed 17:59:59 CEST
    assert at.hour == 17
    assert out_of_hours_window(EVENINGS, at) is None


def test_the_last_microsecond_before_the_evening_window_is_available() -> None:
    at = local(STOCKHOLM, 2026, 6, 10, 15, 59, 59).replace(microsecond=999_999)
    assert out_of_hours_window(EVENINGS, at) is None


def test_the_evening_window_starts_exactly_at_its_start_time() -> None:
    at = local(STOCKHOLM, 2026, 6, 10, 16, 0, 0)  # wed 18:00:00 CEST
    assert out_of_hours_window(EVENINGS, at) == "wed unavailable 18:00–09:00"


def test_one_second_before_the_morning_end_belongs_to_the_previous_days_window() -> None:
    at = local(STOCKHOLM, 2026, 6, 11, 6, 59, 59)  # thu 08:59:59 CEST
    assert out_of_hours_window(EVENINGS, at) == "wed unavailable 18:00–09:00 (crossing midnight)"


def test_the_window_end_is_excluded() -> None:
    at = local(STOCKHOLM, 2026, 6, 11, 7, 0, 0)  # thu 09:00:00 CEST
    assert out_of_hours_window(EVENINGS, at) is None


def test_just_after_midnight_is_covered_by_the_previous_days_window() -> None:
    at = local(STOCKHOLM, 2026, 6, 10, 22, 0, 0)  # thu 00:00:00 CEST
    assert out_of_hours_window(EVENINGS, at) == "wed unavailable 18:00–09:00 (crossing midnight)"


def test_fridays_night_covers_saturday_morning_although_saturday_is_available() -> None:
    schedule = OutOfHours(days={"fri": UnavailableBetween(start="18:00", end="09:00"), "sat": AvailableAllDay()})
    at = local(STOCKHOLM, 2026, 6, 13, 6, 0, 0)  # sat 08:00 CEST
    assert out_of_hours_window(schedule, at) == "fri unavailable 18:00–09:00 (crossing midnight)"


def test_saturday_is_available_once_fridays_night_has_ended() -> None:
    schedule = OutOfHours(days={"fri": UnavailableBetween(start="18:00", end="09:00"), "sat": AvailableAllDay()})
    assert out_of_hours_window(schedule, local(STOCKHOLM, 2026, 6, 13, 7, 0, 0)) is None  # sat 09:00 CEST


def test_sundays_night_covers_monday_morning() -> None:
    schedule = OutOfHours(days={"sun": UnavailableBetween(start="20:00", end="07:00")})
    at = local(STOCKHOLM, 2026, 6, 15, 4, 59, 0)  # mon 06:59 CEST
    assert out_of_hours_window(schedule, at) == "sun unavailable 20:00–07:00 (crossing midnight)"


def test_a_window_within_one_day_does_not_reach_into_the_next() -> None:
    schedule = OutOfHours(days={"wed": UnavailableBetween(start="12:00", end="13:00")})
    assert out_of_hours_window(schedule, local(STOCKHOLM, 2026, 6, 10, 10, 30, 0)) == "wed unavailable 12:00–13:00"
    assert out_of_hours_window(schedule, local(STOCKHOLM, 2026, 6, 11, 10, 30, 0)) is None  # thu 12:30


def test_unavailable_all_day_covers_the_first_and_last_second_of_the_day() -> None:
    schedule = OutOfHours(days={"wed": UnavailableAllDay()})
    assert out_of_hours_window(schedule, local(STOCKHOLM, 2026, 6, 9, 22, 0, 0)) == "wed unavailable all day"  # wed 00:00
    assert out_of_hours_window(schedule, local(STOCKHOLM, 2026, 6, 10, 21, 59, 59)) == "wed unavailable all day"  # 23:59:59
    assert out_of_hours_window(schedule, local(STOCKHOLM, 2026, 6, 10, 22, 0, 0)) is None  # thu 00:00


def test_an_unavailable_all_day_does_not_extend_past_midnight() -> None:
    schedule = OutOfHours(days={"tue": UnavailableAllDay()})
    assert out_of_hours_window(schedule, local(STOCKHOLM, 2026, 6, 9, 22, 0, 1)) is None  # wed 00:00:01


def test_days_left_out_are_available_all_day() -> None:
    assert out_of_hours_window(OutOfHours(), local(STOCKHOLM, 2026, 6, 10, 1, 0, 0)) is None


def test_the_local_weekday_decides_not_the_utc_weekday() -> None:
    # Tue 23:30 UTC is already wed 01:30 in Stockholm.
    schedule = OutOfHours(days={"wed": UnavailableAllDay()})
    assert out_of_hours_window(schedule, local(STOCKHOLM, 2026, 6, 9, 23, 30, 0)) == "wed unavailable all day"


NIGHT_SUN = OutOfHours(days={"sun": UnavailableBetween(start="02:00", end="04:00")})


def test_stockholm_spring_forward_wall_time_after_the_gap_is_in_the_window() -> None:
    at = local(STOCKHOLM, 2026, 3, 29, 1, 30, 0)  # 03:30 CEST exists
    assert (at.hour, at.minute, at.tzname()) == (3, 30, "CEST")
    assert out_of_hours_window(NIGHT_SUN, at) == "sun unavailable 02:00–04:00"


def test_stockholm_spring_forward_the_instant_the_clock_jumps_is_03_00_and_in_the_window() -> None:
    # 02:00–03:00 does not exist that night: 00:59:59 UTC is 01:59:59 CET, 01:00:00 UTC is 03:00 CEST.
    assert out_of_hours_window(NIGHT_SUN, local(STOCKHOLM, 2026, 3, 29, 0, 59, 59)) is None
    assert out_of_hours_window(NIGHT_SUN, local(STOCKHOLM, 2026, 3, 29, 1, 0, 0)) == "sun unavailable 02:00–04:00"


def test_stockholm_spring_forward_window_ends_at_04_00_summer_time() -> None:
    assert out_of_hours_window(NIGHT_SUN, local(STOCKHOLM, 2026, 3, 29, 1, 59, 59)) is not None  # 03:59:59 CEST
    assert out_of_hours_window(NIGHT_SUN, local(STOCKHOLM, 2026, 3, 29, 2, 0, 0)) is None  # 04:00 CEST


def test_stockholm_autumn_wall_time_02_30_occurring_twice_is_unavailable_both_times() -> None:
    first = local(STOCKHOLM, 2026, 10, 25, 0, 30, 0)
    second = local(STOCKHOLM, 2026, 10, 25, 1, 30, 0)
    assert (first.hour, first.minute, first.tzname(), second.hour, second.minute, second.tzname()) == (2, 30, "CEST", 2, 30, "CET")
    assert out_of_hours_window(NIGHT_SUN, first) == "sun unavailable 02:00–04:00"
    assert out_of_hours_window(NIGHT_SUN, second) == "sun unavailable 02:00–04:00"


def test_stockholm_autumn_window_of_two_wall_hours_lasts_three_real_hours() -> None:
    assert out_of_hours_window(NIGHT_SUN, local(STOCKHOLM, 2026, 10, 24, 23, 59, 59)) is None  # 01:59:59 CEST
    assert out_of_hours_window(NIGHT_SUN, local(STOCKHOLM, 2026, 10, 25, 0, 0, 0)) is not None  # 02:00 CEST
    assert out_of_hours_window(NIGHT_SUN, local(STOCKHOLM, 2026, 10, 25, 2, 59, 59)) is not None  # 03:59:59 CET
    assert out_of_hours_window(NIGHT_SUN, local(STOCKHOLM, 2026, 10, 25, 3, 0, 0)) is None  # 04:00 CET


def test_stockholm_saturday_night_window_ends_at_09_00_summer_time_after_spring_forward() -> None:
    schedule = OutOfHours(days={"sat": UnavailableBetween(start="18:00", end="09:00")})
    assert out_of_hours_window(schedule, local(STOCKHOLM, 2026, 3, 29, 6, 59, 59)) is not None  # 08:59:59 CEST
    assert out_of_hours_window(schedule, local(STOCKHOLM, 2026, 3, 29, 7, 0, 0)) is None  # 09:00 CEST


def test_stockholm_saturday_night_window_ends_at_09_00_winter_time_after_fall_back() -> None:
    schedule = OutOfHours(days={"sat": UnavailableBetween(start="18:00", end="09:00")})
    assert out_of_hours_window(schedule, local(STOCKHOLM, 2026, 10, 25, 7, 59, 59)) is not None  # 08:59:59 CET
    assert out_of_hours_window(schedule, local(STOCKHOLM, 2026, 10, 25, 8, 0, 0)) is None  # 09:00 CET


KYIV_NIGHT_SUN = OutOfHours(days={"sun": UnavailableBetween(start="03:00", end="05:00")})


def test_kyiv_spring_forward_wall_time_after_the_gap_is_in_the_window() -> None:
    at = local(KYIV, 2026, 3, 29, 1, 30, 0)
    assert (at.hour, at.minute, at.tzname()) == (4, 30, "EEST")
    assert out_of_hours_window(KYIV_NIGHT_SUN, at) == "sun unavailable 03:00–05:00"


def test_kyiv_spring_forward_the_missing_hour_is_skipped_not_shifted() -> None:
    # 00:59:59 UTC is 02:59:59 EET (before the window); one second later it is 04:00 EEST (inside).
    assert out_of_hours_window(KYIV_NIGHT_SUN, local(KYIV, 2026, 3, 29, 0, 59, 59)) is None
    assert out_of_hours_window(KYIV_NIGHT_SUN, local(KYIV, 2026, 3, 29, 1, 0, 0)) is not None
    assert out_of_hours_window(KYIV_NIGHT_SUN, local(KYIV, 2026, 3, 29, 2, 0, 0)) is None  # 05:00 EEST


def test_kyiv_autumn_wall_time_03_30_occurring_twice_is_unavailable_both_times() -> None:
    first = local(KYIV, 2026, 10, 25, 0, 30, 0)
    second = local(KYIV, 2026, 10, 25, 1, 30, 0)
    assert (first.hour, first.tzname(), second.hour, second.tzname()) == (3, "EEST", 3, "EET")
    assert out_of_hours_window(KYIV_NIGHT_SUN, first) == "sun unavailable 03:00–05:00"
    assert out_of_hours_window(KYIV_NIGHT_SUN, second) == "sun unavailable 03:00–05:00"


def test_kyiv_autumn_window_ends_at_05_00_winter_time() -> None:
    assert out_of_hours_window(KYIV_NIGHT_SUN, local(KYIV, 2026, 10, 25, 2, 59, 59)) is not None  # 04:59:59 EET
    assert out_of_hours_window(KYIV_NIGHT_SUN, local(KYIV, 2026, 10, 25, 3, 0, 0)) is None  # 05:00 EET


def test_open_window_includes_its_start() -> None:
    assert open_window(OFFICE, local(STOCKHOLM, 2026, 6, 10, 7, 0, 0)) == "wed open 09:00–18:00"  # 09:00 CEST


def test_open_window_is_closed_one_second_before_its_start() -> None:
    assert open_window(OFFICE, local(STOCKHOLM, 2026, 6, 10, 6, 59, 59)) is None  # 08:59:59 CEST


def test_open_window_is_open_one_second_before_its_end() -> None:
    assert open_window(OFFICE, local(STOCKHOLM, 2026, 6, 10, 15, 59, 59)) == "wed open 09:00–18:00"  # 17:59:59


def test_open_window_excludes_its_end() -> None:
    assert open_window(OFFICE, local(STOCKHOLM, 2026, 6, 10, 16, 0, 0)) is None  # 18:00 CEST


def test_a_day_left_out_of_opening_hours_is_closed() -> None:
    assert open_window(OFFICE, local(STOCKHOLM, 2026, 6, 13, 10, 0, 0)) is None  # sat 12:00


def test_open_window_crossing_midnight_belongs_to_the_day_it_starts() -> None:
    nights = OpeningHours(days={"fri": (Window(start="22:00", end="02:00"),)})
    assert open_window(nights, local(STOCKHOLM, 2026, 6, 12, 20, 0, 0)) == "fri open 22:00–02:00"  # fri 22:00
    assert open_window(nights, local(STOCKHOLM, 2026, 6, 12, 23, 59, 59)) == "fri open 22:00–02:00 (crossing midnight)"  # sat 01:59:59
    assert open_window(nights, local(STOCKHOLM, 2026, 6, 13, 0, 0, 0)) is None  # sat 02:00


def test_open_window_crossing_midnight_is_not_opened_by_the_next_days_own_hours() -> None:
    nights = OpeningHours(days={"fri": (Window(start="22:00", end="02:00"),), "sat": (Window(start="10:00", end="12:00"),)})
    assert open_window(nights, local(STOCKHOLM, 2026, 6, 13, 6, 0, 0)) is None  # sat 08:00


def test_open_window_finds_the_second_window_of_a_day() -> None:
    split = OpeningHours(days={"wed": (Window(start="08:00", end="12:00"), Window(start="13:00", end="17:00"))})
    assert open_window(split, local(STOCKHOLM, 2026, 6, 10, 10, 30, 0)) is None  # lunch, 12:30
    assert open_window(split, local(STOCKHOLM, 2026, 6, 10, 11, 0, 0)) == "wed open 13:00–17:00"


def test_open_window_on_the_spring_forward_day_follows_the_wall_clock() -> None:
    early = OpeningHours(days={"sun": (Window(start="03:00", end="04:00"),)})
    assert open_window(early, local(STOCKHOLM, 2026, 3, 29, 0, 59, 59)) is None  # 01:59:59 CET
    assert open_window(early, local(STOCKHOLM, 2026, 3, 29, 1, 0, 0)) == "sun open 03:00–04:00"  # 03:00 CEST


def test_open_window_on_the_autumn_day_is_open_for_both_occurrences_of_the_wall_time() -> None:
    early = OpeningHours(days={"sun": (Window(start="02:00", end="03:00"),)})
    assert open_window(early, local(STOCKHOLM, 2026, 10, 25, 0, 30, 0)) == "sun open 02:00–03:00"  # 02:30 CEST
    assert open_window(early, local(STOCKHOLM, 2026, 10, 25, 1, 30, 0)) == "sun open 02:00–03:00"  # 02:30 CET


def test_open_window_in_kyiv_on_the_spring_forward_day() -> None:
    early = OpeningHours(days={"sun": (Window(start="04:00", end="05:00"),)})
    assert open_window(early, local(KYIV, 2026, 3, 29, 0, 59, 59)) is None  # 02:59:59 EET
    assert open_window(early, local(KYIV, 2026, 3, 29, 1, 0, 0)) == "sun open 04:00–05:00"  # 04:00 EEST


@pytest.mark.parametrize(("utc", "expected"), [
    ((2026, 6, 10, 15, 59, 59), "wed 2026-06-10 17:59:59 CEST"),
    ((2026, 10, 25, 1, 30, 0), "sun 2026-10-25 02:30:00 CET"),
])
def test_describe_local_names_weekday_wall_time_and_zone_abbreviation(utc: tuple[int, ...], expected: str) -> None:
    assert describe_local(local(STOCKHOLM, *utc)) == expected
