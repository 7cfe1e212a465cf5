"""Weekly out-of-hours schedules (seed 002): per weekday available, unavailable, or unavailable between.

Windows are half-open ``[start, end)`` on the tenant's local wall time. A window whose
end is not after its start crosses midnight and belongs to the day it starts on.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from core.aggregates.identifiers import ClockTime
from core.aggregates.targets import OffHoursTarget, ToVoicemail

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class _Day(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="mode"):
    pass


class AvailableAllDay(_Day, tag="available"):
    """All calls route to the user as usual."""


class UnavailableAllDay(_Day, tag="unavailable"):
    """The whole day is out of hours."""


class UnavailableBetween(_Day, tag="unavailable_between"):
    """Out of hours in ``[start, end)``; crosses midnight when ``end <= start``."""

    start: ClockTime
    end: ClockTime

    @property
    def crosses_midnight(self) -> bool:
        """Whether the window runs past midnight into the next day."""
        return minutes(self.end) <= minutes(self.start)


DaySchedule = AvailableAllDay | UnavailableAllDay | UnavailableBetween


class OutOfHours(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A user's weekly schedule and what happens to calls while unavailable."""

    enabled: bool = True
    days: dict[Weekday, DaySchedule] = {}
    """Days left out are available all day."""
    when_unavailable: OffHoursTarget = ToVoicemail()

    def day(self, weekday: Weekday) -> DaySchedule:
        """The schedule of ``weekday`` (available all day unless configured)."""
        return self.days.get(weekday, AvailableAllDay())


def minutes(clock_time: str) -> int:
    """Minutes after midnight of an ``HH:MM`` wall time."""
    hours, mins = clock_time.split(":")
    return int(hours) * 60 + int(mins)
