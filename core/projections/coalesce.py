"""Which of a tenant's pending events can be left unapplied: those a later event overwrites.

Some events only assign settings of one user: a divert, the out-of-hours schedule,
anonymous rejection, the user's own call-handling values. Each writes "slots" (one
setting of one user) whose new value depends on the event alone, carries every other
setting through unchanged and reads nothing else. In a run of such events, an event
whose every slot is written again later in the run has no effect on the tenant after
the run, so only the rest are applied. Any other event ends a run: it may read what
the earlier ones wrote (a default changed for new users only pins what users had).

``SLOTS`` must follow those events' ``apply()``; a test replays random runs both ways.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from core.aggregates.diverts import DivertSet, OutOfHoursSet, RejectAnonymousSet, UserCallHandlingChanged

Slots = str | tuple[str, ...]
"""One slot, or several: an extension and a setting, as ``"<extension> <setting>"`` (a string: no tuple to collect)."""

_DIVERT_SLOT = {"always": " forward_always", "unreachable": " unreachable", "no_answer": " own.no_answer", "busy": " own.busy"}


def _divert(fields: Any) -> Slots | None:
    slot = _DIVERT_SLOT.get(fields.condition)
    return fields.extension + slot if slot is not None else None


def _own(fields: Any) -> Slots | None:
    names = fields.changes.set_fields()
    if len(names) == 1:
        return f"{fields.extension} own.{names[0]}"
    return tuple(f"{fields.extension} own.{name}" for name in names) or None


SLOTS: dict[str, Callable[[Any], Slots | None]] = {
    DivertSet.TOPIC: _divert,
    OutOfHoursSet.TOPIC: lambda fields: fields.extension + " out_of_hours",
    RejectAnonymousSet.TOPIC: lambda fields: fields.extension + " reject_anonymous",
    UserCallHandlingChanged.TOPIC: _own,
}
"""Topic → the slots an event of it writes (``None``: it ends a run like any other event)."""


def survivors(items: list[Any], slots_of: Mapping[type, Callable[[Any], Slots | None]]) -> list[bool]:
    """For each of ``items`` (in order), whether it must be applied; ``slots_of``: an item's type → its slots function.

    The last item, and every item followed by one that ends a run, is always applied.
    """
    keep = [True] * len(items)
    seen: set[str] = set()
    for index in range(len(items) - 1, -1, -1):
        item = items[index]
        slots_fn = slots_of.get(type(item))
        slots = slots_fn(item) if slots_fn is not None else None
        if slots is None:
            seen.clear()
        elif type(slots) is str:
            if slots in seen:
                keep[index] = False
            else:
                seen.add(slots)
        elif seen.issuperset(slots):
            keep[index] = False
        else:
            seen.update(slots)
    return keep
