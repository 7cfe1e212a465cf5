"""Time windows on local wall time: half-open ``[start, end)``, crossing midnight when ``end <= start``.

A window that crosses midnight belongs to the day it starts on: Monday's 18:00–09:00
covers Monday 18:00 to Tuesday 09:00, whatever Tuesday's own schedule says.
Daylight-saving changes follow ``zoneinfo``: an instant is first turned into the
tenant's local wall time, then compared.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from core.aggregates.hours import OpeningHours
from core.aggregates.schedule import WEEKDAYS, OutOfHours, UnavailableAllDay, UnavailableBetween
from core.aggregates.schedule import minutes as _parse_minutes

# Routing compares every schedule it consults on every call; a wall time is parsed once.
minutes = lru_cache(maxsize=4096)(_parse_minutes)


def _day_and_minute(local: datetime) -> tuple[int, int]:
    return local.weekday(), local.hour * 60 + local.minute


def _covers(start: int, end: int, minute: int, *, today: bool) -> bool:
    """Whether a window starting today (``today``) or yesterday covers ``minute`` of today."""
    if end > start:
        return today and start <= minute < end
    # Crosses midnight: today's part is [start, 24:00), tomorrow's is [00:00, end).
    return start <= minute if today else minute < end


def out_of_hours_window(schedule: OutOfHours, local: datetime) -> str | None:
    """The unavailable window ``local`` falls in (as readable text), or ``None`` when available."""
    day, minute = _day_and_minute(local)
    today = schedule.day(WEEKDAYS[day])
    if isinstance(today, UnavailableAllDay):
        return f"{WEEKDAYS[day]} unavailable all day"
    if isinstance(today, UnavailableBetween) and _covers(minutes(today.start), minutes(today.end), minute, today=True):
        return f"{WEEKDAYS[day]} unavailable {today.start}–{today.end}"
    yesterday = schedule.day(WEEKDAYS[day - 1])
    if isinstance(yesterday, UnavailableBetween) and _covers(minutes(yesterday.start), minutes(yesterday.end), minute, today=False):
        return f"{WEEKDAYS[day - 1]} unavailable {yesterday.start}–{yesterday.end} (crossing midnight)"
    return None


def open_window(hours: OpeningHours, local: datetime) -> str | None:
    """The open window ``local`` falls in (as readable text), or ``None`` when closed."""
    day, minute = _day_and_minute(local)
    for window in hours.days.get(WEEKDAYS[day], ()):
        if _covers(minutes(window.start), minutes(window.end), minute, today=True):
            return f"{WEEKDAYS[day]} open {window.start}–{window.end}"
    for window in hours.days.get(WEEKDAYS[day - 1], ()):
        if _covers(minutes(window.start), minutes(window.end), minute, today=False):
            return f"{WEEKDAYS[day - 1]} open {window.start}–{window.end} (crossing midnight)"
    return None


def describe_local(local: datetime) -> str:
    """``fri 17:59:59 Europe/Stockholm``."""
    # strftime costs ~2 us; routing formats this once per decision.
    return f"{WEEKDAYS[local.weekday()]} {local.isoformat(' ', 'seconds')[:19]} {local.tzname()}"
