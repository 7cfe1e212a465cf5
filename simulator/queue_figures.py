"""Each queue's waits: what the collector keeps of them (``QueueWaits``), and the figures they come to (``QueueFigures``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

if TYPE_CHECKING:
    from simulator.kpi_model import Breakdown


class QueueFigures(msgspec.Struct, frozen=True):
    """One queue's waits, over the calls offered to it, each measured from when it joined the queue.

    A call's wait in a queue runs from joining it until an agent of the queue answers, the caller hangs up there, or
    the call leaves it unanswered (the maximum wait, the queue emptying), whichever comes first. A call offered to the
    queue twice (a loop) counts twice. ``None``: nothing to average (no call answered there, no wait ended there).
    """

    waited: int
    """Calls that found no free agent of the queue when they joined it."""
    asa_seconds: float | None
    """ASA (answered calls): mean wait of the calls an agent of the queue answered."""
    mean_wait_seconds: float | None
    """Mean wait, all calls: abandoned and sent-on calls included."""
    wait_max: float
    probability_of_waiting: float
    """``waited`` / offered."""
    abandon_rate: float
    """Abandoned in the queue / offered."""
    service_level: dict[str, float]
    """``"20s"`` → calls answered within 20 s of joining the queue / offered."""


class QueueWaits(msgspec.Struct, gc=False):
    """What the collector keeps of one queue's waits."""

    within: list[int]
    waited: int = 0
    waits: int = 0
    wait_sum: float = 0.0
    answer_wait_sum: float = 0.0
    max_wait: float = 0.0
    on_arrival: int = 0
    """Calls answered on joining the queue: waits of 0 s, counted here only (not in ``waits`` nor ``within``)."""


def within_levels(service_levels: list[float], within: list[int], on_arrival: int) -> list[int]:
    """The calls within each service level: ``within``, and the ``on_arrival`` calls answered on arrival (a wait of 0 s)."""
    return [n + on_arrival if 0.0 <= t else n for t, n in zip(service_levels, within, strict=True)]


def figures_of_queue(w: QueueWaits, breakdown: Breakdown, service_levels: list[float], keys: list[str]) -> QueueFigures:
    """A queue's figures, from its waits and its breakdown; ``keys``: the service levels' keys (``service_level_key``)."""
    offered = breakdown.offered
    return QueueFigures(
        waited=w.waited, asa_seconds=w.answer_wait_sum / breakdown.answered if breakdown.answered else None,
        mean_wait_seconds=w.wait_sum / (w.waits + w.on_arrival) if w.waits + w.on_arrival else None, wait_max=w.max_wait,
        probability_of_waiting=w.waited / offered if offered else 0.0,
        abandon_rate=breakdown.abandoned / offered if offered else 0.0,
        service_level={key: (n / offered if offered else 0.0)
                       for key, n in zip(keys, within_levels(service_levels, w.within, w.on_arrival), strict=True)})
