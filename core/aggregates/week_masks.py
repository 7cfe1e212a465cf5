"""Sets of minutes of the week, as integers: when hours are open, a schedule applies, or a closure can fall.

Bit 0 is Monday 00:00 on the tenant's wall clock; the loop check (``loops.py``) asks whether
the conditions of every edge of a cycle can hold at one minute by and-ing them.
"""

from __future__ import annotations

from core.aggregates.dated import Closure
from core.aggregates.hours import OpeningHours
from core.aggregates.schedule import WEEKDAYS, OutOfHours, UnavailableAllDay, UnavailableBetween, minutes

DAY = 1440
WEEK = 7 * DAY
ALWAYS = (1 << WEEK) - 1
"""A set of minutes of the week (Monday 00:00 is bit 0) on the tenant's wall clock: every minute."""


def span(day: int, start: int, end: int) -> int:
    """Minutes ``[start, end)`` of ``day`` (crossing midnight when ``end <= start``; Sunday's run on into Monday)."""
    low = day * DAY + start
    high = day * DAY + (end if end > start else DAY + end)
    bits = ((1 << (high - low)) - 1) << low
    return (bits & ALWAYS) | (bits >> WEEK)


def open_mask(hours: OpeningHours | None) -> int:
    """When opening or working hours are open (``None``: always)."""
    if hours is None:
        return ALWAYS
    mask = 0
    for day, windows in hours.days.items():
        for window in windows:
            mask |= span(WEEKDAYS.index(day), minutes(window.start), minutes(window.end))
    return mask


def unavailable_mask(schedule: OutOfHours | None) -> int:
    """When a user's out-of-hours schedule applies (none when it is off)."""
    if schedule is None or not schedule.enabled:
        return 0
    mask = 0
    for day, hours in schedule.days.items():
        if isinstance(hours, UnavailableAllDay):
            mask |= span(WEEKDAYS.index(day), 0, DAY)
        elif isinstance(hours, UnavailableBetween):
            mask |= span(WEEKDAYS.index(day), minutes(hours.start), minutes(hours.end))
    return mask


def closure_mask(closure: Closure) -> int:
    """The minutes of the week a closure's dates and hours can fall on (a yearly one, or a week or more: every weekday)."""
    last = closure.last_day or closure.first_day
    days = 7 if closure.yearly else min(7, (last - closure.first_day).days + 1)
    weekdays = {(closure.first_day.weekday() + offset) % 7 for offset in range(days)}
    if closure.hours is None:
        return sum(span(day, 0, DAY) for day in weekdays) & ALWAYS
    start, end = minutes(closure.hours.start), minutes(closure.hours.end)
    mask = 0
    for day in weekdays:
        mask |= span(day, start, end)
    return mask


def first_minute(mask: int) -> str:
    """The first minute of the week in ``mask``, as ``mon 18:00``."""
    minute = (mask & -mask).bit_length() - 1
    return f"{WEEKDAYS[minute // DAY]} {minute % DAY // 60:02d}:{minute % 60:02d}"



def outside(mask: int) -> int:
    """The minutes of the week not in ``mask``."""
    return 0 if mask is ALWAYS else ALWAYS & ~mask
