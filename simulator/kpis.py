"""Key figures of a run, gathered in constant memory (histograms, counters, hourly series)."""

from __future__ import annotations

import math
from typing import TypeVar

import msgspec

T = TypeVar("T", int, float)

BUCKET = 0.1
"""Wait histogram resolution, seconds."""
BUCKETS = 36_000 * 4
"""Four hours of waits at 0.1 s; longer waits fall in the last bucket."""


class Breakdown(msgspec.Struct):
    """Calls of one number, group or queue, each offered call counted in exactly one outcome.

    For a group or a queue: answered there (by a member or agent), abandoned there, or sent on
    unanswered (a group's fallback, a queue's destination after the maximum wait or when it
    empties) to a voicemail box (``voicemail``), to an ending (``other``: busy, message,
    unavailable, missed), or to something that rings, queues or plays a menu (``passed_on``:
    what follows is counted there). A call offered twice (a loop) counts twice.
    """

    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    voicemail: int = 0
    other: int = 0
    passed_on: int = 0


class AgentFigures(msgspec.Struct, frozen=True):
    """One agent's figures."""

    answered: int
    busy_seconds: float
    logged_in_seconds: float
    occupancy: float


class Kpis(msgspec.Struct, frozen=True):
    """Everything a run measured."""

    offered: int
    answered: int
    abandoned: int
    abandoned_ringing: int
    abandoned_ivr: int
    abandoned_queue: int
    voicemail: int
    rejected: int
    busy: int
    message: int
    unavailable: int
    missed: int
    waited: int
    """Calls that did not get an agent at once in a queue: answered after waiting, abandoned there, or overflowed."""
    overflowed: int
    """Calls that waited in a queue and left it unanswered for its next destination: after the maximum wait, or
    when it emptied (each also counts in how it ended)."""
    asa_seconds: float
    """Average speed of answer: mean time from arrival to answer of answered calls."""
    wait_p50: float
    wait_p90: float
    wait_p95: float
    wait_p99: float
    wait_max: float
    probability_of_waiting: float
    """``waited`` / the calls whose wait was measured (see ``wait_histogram``)."""
    abandon_rate: float
    """Abandoned / (answered + abandoned)."""
    service_level: dict[str, float]
    """``"20s"`` → answered within 20 s of arrival / (answered + abandoned)."""
    agents: dict[str, AgentFigures]
    numbers: dict[str, Breakdown]
    queues: dict[str, Breakdown]
    groups: dict[str, Breakdown]
    hourly_arrivals: list[int]
    hourly_answered: list[int]
    hourly_abandoned: list[int]
    hourly_mean_wait: list[float]
    wait_histogram: list[tuple[float, int]]
    """Non-empty buckets: (start of bucket in seconds, calls). A call's wait runs from its arrival until it is
    answered, abandons or overflows from a queue, whichever comes first; calls that end otherwise are not in it."""
    simulated_seconds: float
    events: int

    def flat(self) -> dict[str, float]:
        """Every scalar figure by name (``service_level_20s``, ``calls_to_voicemail`` …) for assertions.

        Its keys are ``figure_names`` of the run's service-level thresholds, which a scenario's
        assertions are checked against before the run.
        """
        out: dict[str, float] = {name: float(getattr(self, name)) for name in SCALAR_FIGURES}
        for key, value in self.service_level.items():
            out[f"service_level_{key}"] = value
        for alias, name in ALIASES.items():
            out[alias] = out[name]
        out["occupancy"] = (sum(a.busy_seconds for a in self.agents.values())
                            / max(1e-9, sum(a.logged_in_seconds for a in self.agents.values())))
        return out


SCALAR_FIGURES: tuple[str, ...] = tuple(f.name for f in msgspec.structs.fields(Kpis) if f.type in (int, float))
"""The figures of ``Kpis`` that are one number (not the breakdowns, series or histograms)."""
ALIASES: dict[str, str] = {**{f"calls_{name}": name for name in ("voicemail", "answered", "abandoned", "rejected", "busy",
                                                                  "missed", "offered")},
                           "calls_to_voicemail": "voicemail"}
"""Other names assertions may use for a figure."""


def service_level_key(threshold: float) -> str:
    """The key of a service-level threshold in ``Kpis.service_level``: ``20.0`` → ``"20s"``."""
    return f"{threshold:g}s"


def figure_names(service_level_seconds: list[float]) -> frozenset[str]:
    """The names ``Kpis.flat`` will have for a run with these service-level thresholds, known before the run."""
    levels = (f"service_level_{service_level_key(t)}" for t in service_level_seconds)
    return frozenset((*SCALAR_FIGURES, *levels, *ALIASES, "occupancy"))


class Collector:
    """Accumulates figures while the switch runs."""

    def __init__(self, service_levels: list[float]) -> None:
        self.counts = dict.fromkeys(("offered", "answered", "abandoned_ringing", "abandoned_ivr", "abandoned_queue",
                                     "voicemail", "rejected", "busy", "message", "unavailable", "missed", "waited",
                                     "overflowed"), 0)
        self.histogram = [0] * BUCKETS
        self.answer_wait_sum = 0.0
        self.max_wait = 0.0
        self.service_levels = service_levels
        self.within = [0] * len(service_levels)
        self.numbers: dict[str, Breakdown] = {}
        self.queues: dict[str, Breakdown] = {}
        self.groups: dict[str, Breakdown] = {}
        self.hourly_arrivals: list[int] = []
        self.hourly_answered: list[int] = []
        self.hourly_abandoned: list[int] = []
        self.hourly_wait: list[float] = []
        self.hourly_waited: list[int] = []

    @staticmethod
    def _hour(series: list[T], hour: int, zero: T) -> None:
        while len(series) <= hour:
            series.append(zero)

    def arrival(self, t: float, number: str) -> None:
        self.counts["offered"] += 1
        hour = int(t // 3600)
        self._hour(self.hourly_arrivals, hour, 0)
        self.hourly_arrivals[hour] += 1
        self.numbers.setdefault(number, Breakdown()).offered += 1

    def _wait(self, t: float, wait: float) -> None:
        index = min(int(wait / BUCKET), BUCKETS - 1)
        self.histogram[index] += 1
        if wait > self.max_wait:
            self.max_wait = wait
        hour = int(t // 3600)
        self._hour(self.hourly_wait, hour, 0.0)
        self._hour(self.hourly_waited, hour, 0)
        self.hourly_wait[hour] += wait
        self.hourly_waited[hour] += 1

    def answered(self, t: float, arrived: float, number: str, queue: str | None, group: str | None, queued: bool,
                 overflowed: bool = False) -> None:
        """``overflowed``: the call left a queue unanswered before, which measured its wait."""
        self.counts["answered"] += 1
        wait = t - arrived
        self.answer_wait_sum += wait
        if not overflowed:
            self._wait(arrived, wait)
        if queued:
            self.counts["waited"] += 1
        for index, threshold in enumerate(self.service_levels):
            if wait <= threshold:
                self.within[index] += 1
        hour = int(arrived // 3600)
        self._hour(self.hourly_answered, hour, 0)
        self.hourly_answered[hour] += 1
        self.numbers[number].answered += 1
        if queue is not None:
            self.queues.setdefault(queue, Breakdown()).answered += 1
        if group is not None:
            self.groups.setdefault(group, Breakdown()).answered += 1

    def abandoned(self, t: float, arrived: float, number: str, where: str, queue: str | None, group: str | None,
                  overflowed: bool = False) -> None:
        """``overflowed``: the call left a queue unanswered before, which measured its wait and counted it as waited."""
        self.counts[f"abandoned_{where}"] += 1
        if not overflowed:
            self._wait(arrived, t - arrived)
            if where == "queue":
                self.counts["waited"] += 1
        hour = int(arrived // 3600)
        self._hour(self.hourly_abandoned, hour, 0)
        self.hourly_abandoned[hour] += 1
        self.numbers[number].abandoned += 1
        if queue is not None:
            self.queues.setdefault(queue, Breakdown()).abandoned += 1
        if group is not None:
            self.groups.setdefault(group, Breakdown()).abandoned += 1

    def rejected(self) -> None:
        """A call was rejected (an anonymous caller to someone who refuses them); it ends as its plan says."""
        self.counts["rejected"] += 1

    def ended(self, outcome: str, number: str, queue: str | None = None, group: str | None = None) -> None:
        """A call that ended without an agent (voicemail, busy, message, unavailable, missed), at the queue or group it
        was at, if any (the group's fallback, the queue's destination)."""
        self.counts[outcome] += 1
        for breakdown in (self.numbers[number], self.queues.get(queue) if queue is not None else None,
                          self.groups.get(group) if group is not None else None):
            if breakdown is None:
                continue
            if outcome == "voicemail":
                breakdown.voicemail += 1
            else:
                breakdown.other += 1

    def passed_on(self, queue: str | None, group: str | None) -> None:
        """A call left its queue or group unanswered for something that rings, queues or plays a menu."""
        if queue is not None:
            self.queues[queue].passed_on += 1
        if group is not None:
            self.groups[group].passed_on += 1

    def overflowed(self, t: float, arrived: float) -> None:
        """A call that waited in a queue left it unanswered for the queue's next destination: its wait ends here."""
        self.counts["overflowed"] += 1
        self.counts["waited"] += 1
        self._wait(arrived, t - arrived)

    def offered_to(self, queue: str | None, group: str | None) -> None:
        if queue is not None:
            self.queues.setdefault(queue, Breakdown()).offered += 1
        if group is not None:
            self.groups.setdefault(group, Breakdown()).offered += 1

    def percentile(self, share: float, total: int) -> float:
        if total == 0:
            return 0.0
        rank = math.ceil(share * total)
        seen = 0
        for index, count in enumerate(self.histogram):
            seen += count
            if seen >= rank:
                return index * BUCKET if index < BUCKETS - 1 else self.max_wait
        return self.max_wait

    def result(self, agents: dict[str, AgentFigures], simulated: float, events: int) -> Kpis:
        c = self.counts
        abandoned = c["abandoned_ringing"] + c["abandoned_ivr"] + c["abandoned_queue"]
        handled = c["answered"] + abandoned
        waited_total = sum(self.histogram)  # handled, less those answered or abandoned after they overflowed, plus overflowed
        hours = max(len(self.hourly_arrivals), len(self.hourly_wait))
        for counts in (self.hourly_arrivals, self.hourly_answered, self.hourly_abandoned, self.hourly_waited):
            self._hour(counts, hours - 1, 0)
        self._hour(self.hourly_wait, hours - 1, 0.0)
        return Kpis(
            offered=c["offered"], answered=c["answered"], abandoned=abandoned, abandoned_ringing=c["abandoned_ringing"],
            abandoned_ivr=c["abandoned_ivr"], abandoned_queue=c["abandoned_queue"], voicemail=c["voicemail"],
            rejected=c["rejected"], busy=c["busy"], message=c["message"], unavailable=c["unavailable"], missed=c["missed"],
            waited=c["waited"], overflowed=c["overflowed"],
            asa_seconds=self.answer_wait_sum / c["answered"] if c["answered"] else 0.0,
            wait_p50=self.percentile(0.5, waited_total), wait_p90=self.percentile(0.9, waited_total),
            wait_p95=self.percentile(0.95, waited_total), wait_p99=self.percentile(0.99, waited_total), wait_max=self.max_wait,
            probability_of_waiting=c["waited"] / waited_total if waited_total else 0.0,
            abandon_rate=abandoned / handled if handled else 0.0,
            service_level={service_level_key(t): (w / handled if handled else 0.0)
                           for t, w in zip(self.service_levels, self.within, strict=True)},
            agents=agents, numbers=self.numbers, queues=self.queues, groups=self.groups,
            hourly_arrivals=self.hourly_arrivals, hourly_answered=self.hourly_answered, hourly_abandoned=self.hourly_abandoned,
            hourly_mean_wait=[w / n if n else 0.0 for w, n in zip(self.hourly_wait, self.hourly_waited, strict=True)],
            wait_histogram=[(i * BUCKET, n) for i, n in enumerate(self.histogram) if n],
            simulated_seconds=simulated, events=events,
        )
