"""When a pending change must be live (core/projections/deadlines.py).

The provider's maximum delay is counted from the change when its office is open (or it has
no office hours), else from when the office next opens; the delay runs on elapsed time.
Changes are timestamped in UTC (the injected clock), so the instants here are UTC too.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from core.aggregates.hours import OpeningHours, Window
from core.aggregates.provisioning import DEFAULT_MAX_DELAY_SECONDS, ProviderPolicy
from core.projections import deadline, next_opening

LONDON = ZoneInfo("Europe/London")
DAY = 24 * 3600

WEEKDAYS_9_TO_5 = OpeningHours(days={d: (Window(start="09:00", end="17:00"),) for d in ("mon", "tue", "wed", "thu", "fri")})
OFFICE = ProviderPolicy(max_delay_seconds=DAY, office_hours=WEEKDAYS_9_TO_5, time_zone="Europe/London")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def london(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=LONDON)


def test_the_default_policy_allows_24_hours() -> None:
    assert DEFAULT_MAX_DELAY_SECONDS == DAY
    assert deadline(utc(2026, 6, 10, 12, 0), ProviderPolicy()) == utc(2026, 6, 11, 12, 0)


def test_a_change_friday_17_00_starts_the_clock_monday_09_00_and_is_due_tuesday_09_00() -> None:
    changed = utc(2026, 6, 12, 16, 0)  # fri 17:00 BST: the office has just closed
    due = deadline(changed, OFFICE)
    assert due.astimezone(LONDON) == london(2026, 6, 16, 9, 0)  # tue 09:00 BST
    assert due == utc(2026, 6, 16, 8, 0)


def test_a_change_friday_16_59_within_office_hours_is_due_24_hours_later() -> None:
    changed = utc(2026, 6, 12, 15, 59)  # fri 16:59 BST
    assert deadline(changed, OFFICE) == changed + timedelta(hours=24)


def test_a_change_one_second_before_closing_is_still_within_office_hours() -> None:
    changed = utc(2026, 6, 12, 15, 59, 59)  # fri 16:59:59 BST
    assert deadline(changed, OFFICE) == changed + timedelta(hours=24)


def test_a_change_at_the_opening_minute_is_within_office_hours() -> None:
    changed = utc(2026, 6, 15, 8, 0)  # mon 09:00 BST
    assert deadline(changed, OFFICE) == utc(2026, 6, 16, 8, 0)


def test_a_change_before_opening_on_a_weekday_starts_the_clock_at_that_days_opening() -> None:
    changed = utc(2026, 6, 10, 5, 0)  # wed 06:00 BST
    assert deadline(changed, OFFICE).astimezone(LONDON) == london(2026, 6, 11, 9, 0)  # thu 09:00


def test_without_office_hours_the_clock_starts_at_once() -> None:
    policy = ProviderPolicy(max_delay_seconds=3 * 3600, office_hours=None, time_zone="Europe/London")
    changed = utc(2026, 6, 13, 22, 30)  # sat 23:30 BST
    assert deadline(changed, policy) == changed + timedelta(hours=3)


def test_a_change_on_saturday_is_due_24_hours_after_monday_opening() -> None:
    changed = utc(2026, 6, 13, 10, 0)  # sat 11:00 BST
    assert deadline(changed, OFFICE).astimezone(LONDON) == london(2026, 6, 16, 9, 0)


def test_a_change_on_sunday_evening_is_due_24_hours_after_monday_opening() -> None:
    changed = utc(2026, 6, 14, 20, 0)  # sun 21:00 BST
    assert deadline(changed, OFFICE).astimezone(LONDON) == london(2026, 6, 16, 9, 0)


def test_a_shorter_delay_is_counted_from_the_reopening() -> None:
    policy = ProviderPolicy(max_delay_seconds=4 * 3600, office_hours=WEEKDAYS_9_TO_5, time_zone="Europe/London")
    changed = utc(2026, 6, 12, 16, 0)  # fri 17:00 BST
    assert deadline(changed, policy).astimezone(LONDON) == london(2026, 6, 15, 13, 0)  # mon 13:00


def test_a_zero_delay_outside_office_hours_is_due_when_the_office_opens() -> None:
    policy = ProviderPolicy(max_delay_seconds=0, office_hours=WEEKDAYS_9_TO_5, time_zone="Europe/London")
    assert deadline(utc(2026, 6, 12, 16, 0), policy).astimezone(LONDON) == london(2026, 6, 15, 9, 0)


def test_office_hours_are_read_in_the_policy_zone_not_in_utc() -> None:
    # 08:30 UTC on a winter Monday is 08:30 in London (closed) but 10:30 in Kyiv (open).
    kyiv = ProviderPolicy(max_delay_seconds=DAY, office_hours=WEEKDAYS_9_TO_5, time_zone="Europe/Kyiv")
    changed = utc(2026, 1, 12, 8, 30)
    assert deadline(changed, kyiv) == changed + timedelta(hours=24)
    assert deadline(changed, OFFICE) == utc(2026, 1, 13, 9, 0)  # London opens 09:00 GMT, due tue 09:00


def test_spring_forward_weekend_friday_change_is_due_tuesday_09_00_summer_time() -> None:
    # Clocks go forward in London on sun 2026-03-29: friday is GMT, monday BST.
    changed = utc(2026, 3, 27, 17, 0)  # fri 17:00 GMT
    due = deadline(changed, OFFICE)
    assert due.astimezone(LONDON) == london(2026, 3, 31, 9, 0)
    assert due == utc(2026, 3, 31, 8, 0)


def test_autumn_weekend_friday_change_is_due_tuesday_09_00_winter_time() -> None:
    # Clocks go back in London on sun 2026-10-25: friday is BST, monday GMT.
    changed = utc(2026, 10, 23, 16, 0)  # fri 17:00 BST
    due = deadline(changed, OFFICE)
    assert due.astimezone(LONDON) == london(2026, 10, 27, 9, 0)
    assert due == utc(2026, 10, 27, 9, 0)


def test_next_opening_on_the_spring_forward_weekend_is_monday_09_00_summer_time() -> None:
    opening = next_opening(WEEKDAYS_9_TO_5, utc(2026, 3, 28, 12, 0), LONDON)
    assert opening == utc(2026, 3, 30, 8, 0)


def test_within_hours_the_delay_runs_on_elapsed_time_across_the_clock_change() -> None:
    # A provider open every day: a change at sat 16:00 GMT before the spring change is due
    # 24 real hours later, which is sun 17:00 BST on the wall clock.
    every_day = OpeningHours(days={d: (Window(start="09:00", end="17:00"),) for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")})
    policy = ProviderPolicy(max_delay_seconds=DAY, office_hours=every_day, time_zone="Europe/London")
    due = deadline(utc(2026, 3, 28, 16, 0), policy)
    assert due == utc(2026, 3, 29, 16, 0)
    assert due.astimezone(LONDON) == london(2026, 3, 29, 17, 0)


def test_the_deadline_is_given_in_the_zone_of_the_change() -> None:
    assert deadline(utc(2026, 6, 12, 16, 0), OFFICE).tzinfo is UTC


def test_the_delay_is_elapsed_time_even_when_the_change_is_given_in_local_time() -> None:
    policy = ProviderPolicy(max_delay_seconds=DAY, office_hours=None, time_zone="Europe/London")
    changed = london(2026, 3, 28, 12, 0)  # sat 12:00 GMT; the clocks go forward that night
    due = deadline(changed, policy)
    # Subtracting two datetimes with the same ZoneInfo compares wall times, so compare in UTC.
    assert due.astimezone(UTC) - changed.astimezone(UTC) == timedelta(hours=24)
    assert due.astimezone(UTC) == utc(2026, 3, 29, 12, 0)  # sun 13:00 BST


def test_an_opening_in_the_repeated_autumn_hour_counts_once_it_is_really_ahead() -> None:
    """Office hours sun 02:30-02:45 Europe/Stockholm; a change at 02:50 CEST (00:50Z) on 2026-10-25, before the
    clock goes back: 02:30 CET (01:30Z) is still ahead, so the clock starts then, not a week later."""
    from datetime import UTC, datetime

    from core.aggregates.hours import OpeningHours, Window
    from core.aggregates.provisioning import ProviderPolicy
    from core.projections import deadline

    policy = ProviderPolicy(max_delay_seconds=3600, office_hours=OpeningHours(days={"sun": (Window(start="02:30", end="02:45"),)}),
                            time_zone="Europe/Stockholm")
    due = deadline(datetime(2026, 10, 25, 0, 50, tzinfo=UTC), policy)
    assert due < datetime(2026, 10, 26, tzinfo=UTC)
