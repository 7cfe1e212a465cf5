"""Weekly opening hours (IVR menus, forwarding-scheme conditions): open windows per weekday.

Windows are half-open ``[start, end)`` on the tenant's local wall time; a window whose
end is not after its start crosses midnight and belongs to the day it starts on.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from core.aggregates.identifiers import ClockTime
from core.aggregates.schedule import Weekday
from core.errors import ValidationFailed


class Window(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One open window ``[start, end)``."""

    start: ClockTime
    end: ClockTime


class OpeningHours(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Open windows per weekday; a weekday left out is closed all day."""

    days: dict[Weekday, Annotated[tuple[Window, ...], msgspec.Meta(max_length=8)]] = {}


def check_hours(hours: OpeningHours, *, field: str) -> None:
    """Raise ``ValidationFailed`` naming the first window of ``hours`` that breaks a rule."""
    for day, windows in hours.days.items():
        for index, window in enumerate(windows):
            if window.start == window.end:
                raise ValidationFailed("a window needs different start and end", field=f"{field}.days.{day}[{index}]")
