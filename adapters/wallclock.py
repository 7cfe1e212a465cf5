"""The production clock, kept apart from the store's wiring so that light commands need not import it."""

from __future__ import annotations

from datetime import UTC, datetime


class WallClock:
    """The production clock: the current UTC instant."""

    def now(self) -> datetime:
        return datetime.now(tz=UTC)
