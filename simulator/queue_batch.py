"""The batch counting of calls answered on arrival: ``Queues`` counts a plain run's call that is answered at once by
the one agent rung in a batch, handed to the figures when it changes (``Collector.answered_on_arrival``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from simulator.kpis import Collector
    from simulator.machines import Call


class ArrivalBatch:
    """The arrival counting of ``Queues``: the call not counted yet, and the batch of calls answered on arrival."""

    kpis: Collector
    uncounted: Call | None
    """The call arriving now whose arrival and joining of its queue the figures have not counted yet (set by
    ``Switch.arrive`` in a plain run): counted in the batch if it is answered at once, else when it joins."""
    at_once: int
    """Calls answered on arrival not yet handed to the figures: a batch (``Collector.answered_on_arrival``) of calls
    that arrived in the hour from ``at_once_start`` to ``at_once_end`` to ``at_once_number`` and joined
    ``at_once_queue`` (kept apart, not a key tuple: no tuple made a call)."""
    at_once_start: float
    at_once_end: float
    """The bounds of the batch's hour in seconds (``hour * 3600`` and an hour later): a call arrived in that hour
    exactly when ``at_once_start <= arrived < at_once_end`` (``int(arrived // 3600)``, the floor of an exact quotient,
    is the hour just then): two comparisons a call, where the hour takes a division and an ``int``."""
    at_once_number: str
    at_once_queue: str

    def _start_batch(self) -> None:
        self.uncounted = None
        self.at_once = 0
        self._batch_of(-1, "", "")

    def _batch_of(self, hour: int, number: str, queue: str) -> None:
        """The batch is of calls that arrived in ``hour`` to ``number`` and joined ``queue``."""
        self.at_once_number, self.at_once_queue = number, queue
        self.at_once_start, self.at_once_end = hour * 3600.0, (hour + 1) * 3600.0

    def _count_arrival(self) -> None:
        """Count the arrival of the call ``uncounted`` and its joining of its queue, its first, with an agent free."""
        call = self.uncounted
        assert call is not None and call.queue is not None
        self.uncounted = None
        self.kpis.arrival(call.arrived, call.dialled)
        self.kpis.queued(call.arrived, call.queue, True, True)

    def _in_batch(self, call: Call) -> bool:
        """Count ``call`` (``uncounted``: it has just come, joined its first queue with an agent free and is answered at
        once by the one rung) in the batch of calls answered on arrival, if its number and queue have been seen.

        In the batch, its counts are added later, but they are only counts (the waits of 0 s are counted, not summed:
        ``Collector.answered_on_arrival``), whose order changes no figure, and to breakdowns that exist already, whose
        order is the order their numbers and queues were first seen. A call of a number or queue never seen is counted
        at once, which adds it in its place. The batch is handed in when it changes, and by ``Switch.result``."""
        number, queue = call.dialled, call.queue
        assert queue is not None
        arrived = call.arrived
        self.uncounted = None
        if (self.at_once_start <= arrived < self.at_once_end and number == self.at_once_number
                and queue == self.at_once_queue):
            self.at_once += 1
            return True
        kpis = self.kpis
        if number in kpis.numbers and queue in kpis.queues and queue in kpis.queue_waits:
            self.hand_in()
            self._batch_of(int(arrived // 3600), number, queue)
            self.at_once = 1
            return True
        self.uncounted = call
        return False

    def hand_in(self) -> None:
        """Hand the batch of calls answered on arrival to the figures."""
        if self.at_once:
            hour = int(self.at_once_start // 3600)  # exact: a whole number of hours
            self.kpis.answered_on_arrival(self.at_once, hour, self.at_once_number, self.at_once_queue)
            self.at_once = 0
