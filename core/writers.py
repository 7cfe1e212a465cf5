"""The event writer a store's edge hands in, and the retry of a batch that lost to other writers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Protocol, runtime_checkable

from eventsourcing.persistence import StoredEvent

from core.aggregates.chained import EarlyInstantError
from core.clock import Clock
from core.errors import ConcurrentChangeError


class _Retry(Exception):
    """Another writer got in first; the batch is run again on fresh state, at a fresh clock reading (``CallrouteApp.execute``)."""

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause
        """``version_clash``: a tenant was saved by another writer after this batch loaded it (or its cached copy was
        behind); ``early_instant``: the clock was read before another writer stored a later change; ``stale_cache``: a
        command was refused on a cached tenant that another process had changed since (``CallrouteApp._stale``)."""


_FIRST_TRY = nullcontext()
"""The context of a batch's first attempt: nothing (a retry's comes from the event writer, ``CallrouteApp.execute``)."""


class EventWriter(Protocol):
    """Appends stored events to the store's event table in one transaction (the edge supplies a lean one for SQLite).

    A writer may also be a ``RetryingEventWriter``: core looks its ``retrying`` up with ``getattr`` and goes without it
    (retrying at once) when the writer has none.
    """

    def insert(self, stored_events: Sequence[StoredEvent]) -> list[int]:
        """Insert the events; their notification ids, in order; eventsourcing's ``IntegrityError`` on a version clash."""
        ...


@runtime_checkable
class RetryingEventWriter(EventWriter, Protocol):
    """An event writer that also sets the scene for a batch's next try after it lost to other writers (optional)."""

    def retrying(self, lost: int) -> AbstractContextManager[object]:
        """The context each retry of a batch runs in, ``lost`` tries having lost so far (1 before the second try).

        Entered before the try reads the clock and loads its tenants, left when the try has stored its events or failed:
        the edge's pause (core neither sleeps nor draws random numbers) and, after some lost tries, its write lock
        (``adapters/event_writer.SQLiteEventWriter.retrying``).
        """
        ...


def _outlasted(clock: Clock, attempt: int, slugs: Iterable[str], early: EarlyInstantError | None) -> ConcurrentChangeError:
    """The error of a batch whose every attempt lost to other writers (``early``: the last lost on its clock reading)."""
    names = ", ".join(repr(slug) for slug in sorted(set(slugs)) if slug) or "the tenant"
    tries = f"{attempt} attempt{'' if attempt == 1 else 's'}"
    if early is not None:
        now = clock.now()  # read once more: a clock that is still behind the stored change is not a race
        if now < early.last_change:
            gap = (early.last_change - now).total_seconds()
            return ConcurrentChangeError(
                f"this machine's clock still read {now.isoformat()} after {tries}, {gap:.3f} s before the last change "
                f"of {names} ({early.last_change.isoformat()}), stored by a writer whose clock is ahead; nothing was "
                "stored, retry when the clocks agree")
    return ConcurrentChangeError(f"other writers kept changing {names} through {tries}; nothing was stored, retry")
