"""One tenant's backlog: events read (their changes already on the timeline) and not yet applied.

A tenant's events come in version order without gaps, so the backlog keeps the version
of its first event and the events' stored fields (``EventReader.fields``), or, past the
projection's limit, the stored events themselves (``Unread``). When a table at some
version is needed, the events up to it are applied to the live tenant, except those a
later event overwrites (``coalesce.py``); event objects are made only for those applied,
and each is applied as the repository would (``mutate``), the version first moved past
the events left out just before it.
"""

from __future__ import annotations

from typing import Any

from core.aggregates.chained import replay
from core.projections.coalesce import survivors

AFFECTS_ALL_USERS = frozenset({"TenantDefaultSet", "TenantCreated"})
"""Events that change every user's resolved rules; others change at most the user they name."""


class Unread:
    """A stored event kept undecoded in a backlog (decoded when applied)."""

    __slots__ = ("stored",)

    def __init__(self, stored: Any) -> None:
        self.stored = stored


class Backlog:
    """Events of one tenant from version ``first`` on, in order, waiting to be applied."""

    __slots__ = ("applied", "first", "items", "left_out")

    def __init__(self, first: int) -> None:
        self.first = first
        self.items: list[Any] = []
        self.applied = self.left_out = 0
        """How many events this backlog applied, and left out because a later one overwrote them."""

    def apply(self, live: Any, version: int, reader: Any, originator_id: Any, slots: dict[type, Any],
              changed: set[str] | None) -> tuple[Any, set[str] | None]:
        """Apply the events up to ``version`` to ``live`` (version ``first - 1``; ``None`` before the first event).

        Returns the tenant after them and ``changed`` with the extensions they changed added
        (``None``: every user's rules may have changed). ``slots`` (stored-fields type → its
        slots function, ``coalesce.SLOTS``) says which events only assign settings.
        """
        count = min(len(self.items), version - self.first + 1)
        fields_of, classes, make = reader.fields, reader.classes, reader.event
        items = [fields_of(item.stored) if type(item) is Unread else item for item in self.items[:count]]
        keep = survivors(items, slots)
        applied = sum(keep)
        self.applied, self.left_out = self.applied + applied, self.left_out + count - applied
        event_version = reached = self.first - 1  # reached: the version of the last event applied
        left_head = None  # the recorded hash of the last event left out (its chain was checked when it was read)
        for fields, kept in zip(items, keep, strict=True):
            event_version += 1
            if not kept:
                left_head = fields.hash
                continue
            event = make(fields, originator_id, event_version) if type(fields) in classes else fields
            if reached != event_version - 1 and live.version == reached:
                # The events left out just before it move the version and the chain's head on.
                live.version, live.head = event_version - 1, left_head
            live = replay(event, live)  # which checks the event is the next one, linked to the head before it
            reached = event_version
            if changed is not None:
                extension = event.__dict__.get("extension")
                if extension is not None:
                    changed.add(extension)
                elif type(event).__name__ in AFFECTS_ALL_USERS:
                    changed = None
        del self.items[:count]
        self.first += count
        return live, changed
