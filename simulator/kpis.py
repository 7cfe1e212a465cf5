"""Key figures of a run, gathered in constant memory (histograms, counters, hourly series).

The figures themselves (``Kpis``, ``Breakdown``, ``AgentFigures``) and their names are in ``simulator.kpi_model``;
they are importable from here too.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, TypeVar

from simulator.kpi_model import (
    ALIASES,
    ANSWERED_BY,
    ENDPOINT_BY,
    SCALAR_FIGURES,
    AgentFigures,
    Breakdown,
    Kpis,
    answered_by_key,
    figure_names,
    service_level_key,
)
from simulator.queue_figures import QueueFigures, QueueWaits, figures_of_queue, within_levels

if TYPE_CHECKING:
    from simulator.machines import Agent

__all__ = ["ALIASES", "ANSWERED_BY", "BUCKET", "BUCKETS", "ENDPOINT_BY", "SCALAR_FIGURES", "AgentFigures", "Breakdown",
           "Collector", "Kpis", "QueueFigures", "answered_by_key", "figure_names", "service_level_key"]

T = TypeVar("T", int, float)

BUCKET = 0.1
"""Wait histogram resolution, seconds."""
BUCKETS = 36_000 * 4
"""Four hours of waits at 0.1 s; longer waits fall in the last bucket."""
_LAST = BUCKETS - 1


def _breakdown(table: dict[str, Breakdown], key: str) -> Breakdown:
    """``table[key]``, created empty the first time (``setdefault`` would build one on every call)."""
    breakdown = table.get(key)
    if breakdown is None:
        breakdown = table[key] = Breakdown()
    return breakdown


class Collector:
    """Accumulates figures while the switch runs.

    Each method is handed the arrival instant of its call: calls that arrived before ``warm_up`` are left out of every
    figure. Agent figures cover the time after the warm-up (``warm_up_over`` takes their state at that instant).
    """

    def __init__(self, service_levels: list[float], warm_up: float = 0.0) -> None:
        self.warm_up = warm_up
        self.counts = dict.fromkeys(("abandoned_ringing", "abandoned_ivr", "abandoned_queue", "voicemail", "rejected", "busy",
                                     "message", "unavailable", "missed", "waited", "overflowed"), 0)
        """Calls by what befell them; not offered and answered: ``hourly_arrivals`` and ``answered_by`` add up to those."""
        self.histogram = [0] * BUCKETS
        self.answer_wait_sum = 0.0
        self.wait_sum = 0.0
        self.max_wait = 0.0
        self.service_levels = service_levels
        self.levels = tuple(enumerate(service_levels))
        """Each threshold with its index, for the loops of ``answered`` (no ``enumerate`` a call)."""
        self.within = [0] * len(service_levels)
        self.numbers: dict[str, Breakdown] = {}
        self.queues: dict[str, Breakdown] = {}
        self.groups: dict[str, Breakdown] = {}
        self.answered_by = dict.fromkeys(ANSWERED_BY, 0)
        self.queue_waits: dict[str, QueueWaits] = {}
        self.hourly_arrivals: list[int] = []
        self.hourly_answered: list[int] = []
        self.hourly_abandoned: list[int] = []
        self.hourly_wait: list[float] = []
        self.hourly_waited: list[int] = []
        self.hourly_on_arrival: list[int] = []
        """Calls answered on arrival, by hour: waits of 0 s, counted here only, which ``result`` adds to the other figures
        (answered and measured waits in the hour, the first bucket, the service levels)."""
        self.agents_at_warm_up: dict[str, tuple[float, float, int]] | None = None
        """Each agent's busy and logged-in seconds and answered calls when the warm-up ended (``None``: not yet)."""

    @staticmethod
    def _hour(series: list[T], hour: int, zero: T) -> None:
        while len(series) <= hour:
            series.append(zero)

    def arrival(self, t: float, number: str) -> None:
        if t < self.warm_up:
            return
        hour = int(t // 3600)  # the hourly arrivals add up to ``offered``
        hourly = self.hourly_arrivals
        if hour >= len(hourly):
            self._hour(hourly, hour, 0)
        hourly[hour] += 1
        try:  # indexing, not ``get``: the cheaper once the number has been seen
            breakdown = self.numbers[number]
        except KeyError:
            breakdown = _breakdown(self.numbers, number)
        breakdown.offered += 1

    def _wait(self, arrived: float, wait: float) -> None:
        """The call that arrived at ``arrived`` stopped waiting for a person after ``wait`` seconds."""
        index = int(wait / BUCKET)
        if index > _LAST:  # ``min(index, BUCKETS - 1)``: a comparison is cheaper than the call
            index = _LAST
        self.histogram[index] += 1
        self.wait_sum += wait
        if wait > self.max_wait:
            self.max_wait = wait
        hour = int(arrived // 3600)
        if hour >= len(self.hourly_waited):
            self._hour(self.hourly_wait, hour, 0.0)
            self._hour(self.hourly_waited, hour, 0)
        self.hourly_wait[hour] += wait
        self.hourly_waited[hour] += 1

    def _queue(self, queue: str) -> QueueWaits:
        waits = self.queue_waits.get(queue)
        if waits is None:
            waits = self.queue_waits[queue] = QueueWaits([0] * len(self.service_levels))
        return waits

    def _left_queue(self, queue: str, wait: float) -> QueueWaits:
        """A call stopped waiting in ``queue`` after ``wait`` seconds there (answered, abandoned, or sent on)."""
        waits = self.queue_waits.get(queue) or self._queue(queue)
        waits.waits += 1
        waits.wait_sum += wait
        if wait > waits.max_wait:
            waits.max_wait = wait
        return waits

    def queued(self, arrived: float, queue: str, first: bool, free_agent: bool) -> None:
        """A call joined ``queue``; ``free_agent`` says whether an agent of it was free; ``first``: its first queue (where
        ``Kpis.waited`` is decided)."""
        if arrived < self.warm_up:
            return
        try:
            breakdown = self.queues[queue]
        except KeyError:
            breakdown = _breakdown(self.queues, queue)
        breakdown.offered += 1
        if not free_agent:
            (self.queue_waits.get(queue) or self._queue(queue)).waited += 1
            if first:
                self.counts["waited"] += 1

    def answered(self, t: float, arrived: float, number: str, queue: str | None, group: str | None, by: str,
                 joined: float) -> None:
        """Endpoint ``by`` (an ``answered_by`` key) answered at ``t``; ``joined``: when the call joined ``queue``, if it is
        a queue call."""
        if arrived < self.warm_up:
            return
        self.answered_by[by] += 1  # who answered: it adds up to ``answered``
        self.numbers[number].answered += 1
        if queue is not None:
            try:
                breakdown = self.queues[queue]
            except KeyError:
                breakdown = _breakdown(self.queues, queue)
            breakdown.answered += 1
            try:
                waits = self.queue_waits[queue]
            except KeyError:
                waits = self._queue(queue)
        if group is not None:
            self.groups.setdefault(group, Breakdown()).answered += 1
        hour = int(arrived // 3600)
        if t == arrived:  # on arrival, in the queue it joined then: waits of 0 s, whose figures ``result`` works out
            hourly = self.hourly_on_arrival
            if hour >= len(hourly):
                self._hour(hourly, hour, 0)
            hourly[hour] += 1
            if queue is not None:
                waits.on_arrival += 1
            return
        hourly = self.hourly_answered
        if hour >= len(hourly):
            self._hour(hourly, hour, 0)
        hourly[hour] += 1
        wait = t - arrived
        self.answer_wait_sum += wait
        # ``_wait``, written out (this runs once an answered call that waited), with the hour worked out above.
        index = int(wait / BUCKET)
        if index > _LAST:
            index = _LAST
        self.histogram[index] += 1
        self.wait_sum += wait
        if wait > self.max_wait:
            self.max_wait = wait
        hourly_waited = self.hourly_waited
        if hour >= len(hourly_waited):
            self._hour(self.hourly_wait, hour, 0.0)
            self._hour(hourly_waited, hour, 0)
        self.hourly_wait[hour] += wait
        hourly_waited[hour] += 1
        within = self.within
        if queue is None:
            for index, threshold in self.levels:
                if wait <= threshold:
                    within[index] += 1
        else:
            in_queue = t - joined  # ``_left_queue``, written out: one loop over the thresholds for both
            waits.waits += 1
            waits.wait_sum += in_queue
            if in_queue > waits.max_wait:
                waits.max_wait = in_queue
            waits.answer_wait_sum += in_queue
            queue_within = waits.within
            for index, threshold in self.levels:
                if wait <= threshold:
                    within[index] += 1
                if in_queue <= threshold:
                    queue_within[index] += 1

    def answered_on_arrival(self, calls: int, hour: int, number: str, queue: str) -> None:
        """``arrival``, ``queued`` and ``answered`` of ``calls`` calls to ``number`` at once: calls that arrived in ``hour``
        after the warm-up, joined ``queue`` (their first) with an agent of it free, and were answered by one on arrival.

        Calls answered on arrival are only counted (``hourly_on_arrival``): a wait of 0 s adds 0.0 to a sum of waits,
        which changes none (each is +0.0 or more), nor any maximum, so counting them here or one at a time comes to the
        same figures. The caller hands a batch in before any call of another number or queue is counted, which keeps the
        breakdowns in the order their numbers and queues came first."""
        for series in (self.hourly_arrivals, self.hourly_on_arrival):
            if hour >= len(series):
                self._hour(series, hour, 0)
            series[hour] += calls
        self.answered_by["agent"] += calls
        for breakdown in (_breakdown(self.numbers, number), _breakdown(self.queues, queue)):
            breakdown.offered += calls
            breakdown.answered += calls
        (self.queue_waits.get(queue) or self._queue(queue)).on_arrival += calls

    def answered_later(self, calls: int, waited: int, hour: int, number: str, queue: str) -> None:
        """The counts of ``arrival``, ``queued`` and ``answered`` of ``calls`` calls to ``number`` at once: calls that
        arrived in ``hour`` after the warm-up, joined ``queue`` (their first) on arrival, ``waited`` of them with no agent
        of it free, and were answered by one after arriving. Each one's wait is handed to ``answer_wait`` when the general
        engine would call ``answered``; the batch is handed in as ``answered_on_arrival``'s are."""
        for series in (self.hourly_arrivals, self.hourly_answered):
            if hour >= len(series):
                self._hour(series, hour, 0)
            series[hour] += calls
        if hour >= len(self.hourly_waited):
            self._hour(self.hourly_wait, hour, 0.0)
            self._hour(self.hourly_waited, hour, 0)
        self.hourly_waited[hour] += calls
        self.answered_by["agent"] += calls
        for breakdown in (_breakdown(self.numbers, number), _breakdown(self.queues, queue)):
            breakdown.offered += calls
            breakdown.answered += calls
        waits = self.waits_of(queue)
        waits.waits += calls
        waits.waited += waited
        self.counts["waited"] += waited

    def waits_of(self, queue: str) -> QueueWaits:
        """What is kept of ``queue``'s waits (created empty the first time, which changes no figure)."""
        return self.queue_waits.get(queue) or self._queue(queue)

    def answer_wait(self, wait: float, hour: int, waits: QueueWaits) -> None:
        """The wait of a call counted by ``answered_later`` (``hour``: of its arrival; ``waits``: its queue's, which it
        joined on arrival), added as ``answered`` adds it: sums of floats depend on their order, so the caller hands in
        each wait where the general engine calls ``answered``."""
        self.answer_wait_sum += wait
        self.wait_sum += wait
        hourly_wait = self.hourly_wait
        if hour >= len(hourly_wait):
            self._hour(hourly_wait, hour, 0.0)
            self._hour(self.hourly_waited, hour, 0)
        hourly_wait[hour] += wait
        waits.wait_sum += wait
        waits.answer_wait_sum += wait
        index = int(wait / BUCKET)
        if index > _LAST:
            index = _LAST
        self.histogram[index] += 1
        if wait > self.max_wait:
            self.max_wait = wait
        if wait > waits.max_wait:
            waits.max_wait = wait
        within, queue_within = self.within, waits.within
        for index, threshold in self.levels:
            if wait <= threshold:
                within[index] += 1
                queue_within[index] += 1

    def abandoned(self, t: float, arrived: float, number: str, where: str, queue: str | None, group: str | None,
                  joined: float) -> None:
        """The caller hung up at ``t`` (``where``: ringing, ivr, queue); ``joined``: when the call joined ``queue``."""
        if arrived < self.warm_up:
            return
        self.counts[f"abandoned_{where}"] += 1
        self._wait(arrived, t - arrived)
        hour = int(arrived // 3600)
        self._hour(self.hourly_abandoned, hour, 0)
        self.hourly_abandoned[hour] += 1
        self.numbers[number].abandoned += 1
        if queue is not None:
            self.queues.setdefault(queue, Breakdown()).abandoned += 1
            self._left_queue(queue, t - joined)
        if group is not None:
            self.groups.setdefault(group, Breakdown()).abandoned += 1

    def rejected(self, arrived: float) -> None:
        """A call was rejected (an anonymous caller to someone who refuses them); it ends as its plan says."""
        if arrived >= self.warm_up:
            self.counts["rejected"] += 1

    def ended(self, t: float, arrived: float, outcome: str, number: str, queue: str | None, group: str | None,
              joined: float) -> None:
        """A call that ended without an agent (voicemail, busy, message, unavailable, missed), at the queue or group it
        was at, if any (the group's fallback, the queue's destination); ``joined``: when it joined ``queue``."""
        if arrived < self.warm_up:
            return
        self.counts[outcome] += 1
        self._wait(arrived, t - arrived)
        if queue is not None:
            self._left_queue(queue, t - joined)
        for breakdown in (self.numbers[number], self.queues.get(queue) if queue is not None else None,
                          self.groups.get(group) if group is not None else None):
            if breakdown is None:
                continue
            if outcome == "voicemail":
                breakdown.voicemail += 1
            else:
                breakdown.other += 1

    def passed_on(self, t: float, arrived: float, queue: str | None, group: str | None, joined: float) -> None:
        """A call left its queue or group unanswered at ``t`` for something that rings, queues or plays a menu;
        ``joined``: when it joined ``queue``."""
        if arrived < self.warm_up:
            return
        if queue is not None:
            self.queues[queue].passed_on += 1
            self._left_queue(queue, t - joined)
        if group is not None:
            self.groups[group].passed_on += 1

    def overflowed(self, t: float, arrived: float) -> None:
        """A call that waited in a queue left it unanswered for the queue's next destination (counted once a call)."""
        if arrived >= self.warm_up:
            self.counts["overflowed"] += 1

    def offered_to(self, arrived: float, queue: str | None, group: str | None) -> None:
        if arrived < self.warm_up:
            return
        if queue is not None:
            self.queues.setdefault(queue, Breakdown()).offered += 1
        if group is not None:
            self.groups.setdefault(group, Breakdown()).offered += 1

    def warm_up_over(self, t: float, agents: Mapping[str, Agent]) -> None:
        """The warm-up ends at ``t``: each agent's figures from here on are counted from what they are now."""
        self.agents_at_warm_up = {
            extension: (agent.busy_seconds,
                        agent.logged_in_seconds + (t - agent.logged_in_since if agent.logged_in_since is not None else 0.0),
                        agent.answered)
            for extension, agent in agents.items()}

    def _after_warm_up(self, agents: dict[str, AgentFigures]) -> dict[str, AgentFigures]:
        if not self.warm_up:
            return agents
        at = self.agents_at_warm_up or {}
        out = {}
        for extension, a in agents.items():
            # No snapshot: the run ended before the warm-up did, and nothing is counted.
            busy0, logged0, answered0 = at.get(extension, (a.busy_seconds, a.logged_in_seconds, a.answered))
            busy, logged = max(0.0, a.busy_seconds - busy0), max(0.0, a.logged_in_seconds - logged0)
            out[extension] = AgentFigures(answered=a.answered - answered0, busy_seconds=busy, logged_in_seconds=logged,
                                          occupancy=busy / logged if logged else 0.0)
        return out

    def percentile(self, histogram: list[int], share: float, total: int) -> float:
        """The wait below which ``share`` of the ``total`` waits of ``histogram`` fall (the start of its bucket)."""
        if total == 0:
            return 0.0
        rank = math.ceil(share * total)
        seen = 0
        for index, count in enumerate(histogram):
            seen += count
            if seen >= rank:
                return index * BUCKET if index < BUCKETS - 1 else self.max_wait
        return self.max_wait

    def result(self, agents: dict[str, AgentFigures], simulated: float, events: int) -> Kpis:
        c = self.counts
        abandoned = c["abandoned_ringing"] + c["abandoned_ivr"] + c["abandoned_queue"]
        offered = sum(self.hourly_arrivals)  # each offered call counts in its hour
        answered = sum(self.answered_by.values())  # and each answered one by who answered
        on_arrival = self.hourly_on_arrival
        hours = max(len(self.hourly_arrivals), len(self.hourly_wait), len(on_arrival))
        for counts in (self.hourly_arrivals, self.hourly_answered, self.hourly_abandoned, self.hourly_waited, on_arrival):
            self._hour(counts, hours - 1, 0)
        self._hour(self.hourly_wait, hours - 1, 0.0)
        # The calls answered on arrival: in their hours' answered calls and measured waits, the first bucket, every level.
        calls_on_arrival = sum(on_arrival)
        histogram = self.histogram[:min(int(self.max_wait / BUCKET), _LAST) + 1]  # the longest wait's bucket is the last used
        histogram[0] += calls_on_arrival
        waits = sum(histogram)  # every finished call: all the offered ones once the run is over
        hourly_waited = [n + m for n, m in zip(self.hourly_waited, on_arrival, strict=True)]
        keys = [service_level_key(t) for t in self.service_levels]
        return Kpis(
            offered=offered, answered=answered, abandoned=abandoned, abandoned_ringing=c["abandoned_ringing"],
            abandoned_ivr=c["abandoned_ivr"], abandoned_queue=c["abandoned_queue"], voicemail=c["voicemail"],
            rejected=c["rejected"], busy=c["busy"], message=c["message"], unavailable=c["unavailable"], missed=c["missed"],
            waited=c["waited"], overflowed=c["overflowed"],
            asa_seconds=self.answer_wait_sum / answered if answered else 0.0,
            mean_wait_seconds=self.wait_sum / waits if waits else 0.0,
            wait_p50=self.percentile(histogram, 0.5, waits), wait_p90=self.percentile(histogram, 0.9, waits),
            wait_p95=self.percentile(histogram, 0.95, waits), wait_p99=self.percentile(histogram, 0.99, waits),
            wait_max=self.max_wait,
            probability_of_waiting=c["waited"] / offered if offered else 0.0,
            abandon_rate=abandoned / offered if offered else 0.0,
            service_level={key: (w / offered if offered else 0.0)
                           for key, w in zip(keys, within_levels(self.service_levels, self.within, calls_on_arrival), strict=True)},
            answered_by={**self.answered_by, "voicemail": c["voicemail"]},
            agents=self._after_warm_up(agents), numbers=self.numbers, queues=self.queues,
            queue_figures={queue: figures_of_queue(self.queue_waits.get(queue) or QueueWaits([0] * len(keys)), breakdown,
                                                self.service_levels, keys)
                           for queue, breakdown in self.queues.items()},
            groups=self.groups,
            hourly_arrivals=self.hourly_arrivals,
            hourly_answered=[n + m for n, m in zip(self.hourly_answered, on_arrival, strict=True)],
            hourly_abandoned=self.hourly_abandoned,
            hourly_mean_wait=[w / n if n else None for w, n in zip(self.hourly_wait, hourly_waited, strict=True)],
            wait_histogram=[(i * BUCKET, n) for i, n in enumerate(histogram) if n],
            simulated_seconds=simulated, events=events,
        )
