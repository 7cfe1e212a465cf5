"""When a pending change must be live: the provider's maximum delay, counted from when its office is open."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from core.aggregates.hours import OpeningHours
from core.aggregates.provisioning import ProviderPolicy
from core.aggregates.schedule import WEEKDAYS, minutes
from core.routing import open_window


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def next_opening(hours: OpeningHours, after: datetime, zone: ZoneInfo) -> datetime | None:
    """The first instant after ``after`` at which a window of ``hours`` opens (local wall time in ``zone``)."""
    local = after.astimezone(zone)
    for offset in range(8):
        day = (local + timedelta(days=offset)).date()
        for window in sorted(hours.days.get(WEEKDAYS[day.weekday()], ()), key=lambda w: w.start):
            start = minutes(window.start)
            for fold in (0, 1):  # a wall time that repeats in autumn opens twice; compare instants
                opening = datetime(day.year, day.month, day.day, start // 60, start % 60, tzinfo=zone, fold=fold)
                if opening.astimezone(UTC) > after.astimezone(UTC):
                    return opening
    return None


def deadline(changed_at: datetime, policy: ProviderPolicy) -> datetime:
    """When (in UTC) a change made at ``changed_at`` must be live under ``policy``.

    Within office hours (or with none set) the clock starts at once; outside them it
    starts when the office re-opens (seed 000). The delay itself runs on elapsed
    time, not only office time.
    """
    # Arithmetic in UTC: adding to a zoned local time would add wall-clock hours.
    delay = timedelta(seconds=policy.max_delay_seconds)
    start = changed_at.astimezone(UTC)
    hours = policy.office_hours
    if hours is None:
        return start + delay
    zone = _zone(policy.time_zone)
    if open_window(hours, changed_at.astimezone(zone)) is not None:
        return start + delay
    opening = next_opening(hours, changed_at, zone)
    if opening is None:  # pragma: no cover - policies need at least one window
        return start + delay
    return opening.astimezone(UTC) + delay
