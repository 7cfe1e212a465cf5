"""The injected clock: core never reads the wall clock itself."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Something that tells the current instant (timezone-aware)."""

    def now(self) -> datetime: ...


class SteppingClock:
    """A deterministic clock for tests and the simulator: starts at ``start``, advances by ``step`` per reading."""

    def __init__(self, start: datetime, step: timedelta = timedelta(0)) -> None:
        if start.tzinfo is None:
            msg = "SteppingClock needs a timezone-aware start"
            raise ValueError(msg)
        self._now = start
        self._step = step

    def now(self) -> datetime:
        current = self._now
        self._now = current + self._step
        return current

    def set(self, instant: datetime) -> None:
        """Jump to ``instant``."""
        self._now = instant
