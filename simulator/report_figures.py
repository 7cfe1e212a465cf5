"""What the simulation report's plots show: the tenant's clock, hourly series with gaps, outcome bars, bands.

``report.py`` writes the page; this module makes the figures it embeds (matplotlib ``Figure``
objects, so tests read them before they are rendered).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from adapters.inputs import InputError, read_document
from core import commands as c
from simulator.kpis import BUCKET, Kpis, service_level_key
from simulator.plots import (
    ABANDONED,
    ANSWERED,
    ARRIVALS,
    WAIT,
    Bar,
    Hours,
    Series,
    hourly_figure,
    occupancy_figure,
    outcome_figure,
    wait_cdf_figure,
    zone_name,
)
from simulator.run import RunResult
from simulator.scenario import Scenario

if TYPE_CHECKING:
    from simulator.replications import Replications


def _duration(s: float) -> str:
    """``80,113 s (22 h 15 min)``."""
    if s < 60:
        return f"{s:,.1f} s"
    minutes = int(s // 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    spoken = (f"{days} d " if days else "") + (f"{hours} h " if hours or days else "") + f"{minutes} min"
    return f"{s:,.0f} s ({spoken})"



def tenant_zone(scenario: Scenario, base: Path | None = None) -> tzinfo:
    """The zone of the simulated tenant's wall clock: from its ``create_tenant`` command (in ``commands``, or in
    ``commands_files`` read from ``base``), else the fixed offset of the scenario's start (a tenant read from a store)."""
    commands: list[object] = []
    if base is not None:
        for name in scenario.tenant.commands_files:
            try:
                commands += read_document(Path(base, name), c.CommandFile).commands
            except InputError:  # the run read it; changed since: fall back to the start's offset
                continue
    commands += scenario.tenant.commands
    for command in commands:
        if isinstance(command, c.CreateTenant) and command.tenant == scenario.tenant.slug:
            try:
                return ZoneInfo(command.time_zone)
            except (ZoneInfoNotFoundError, ValueError):  # the run refused it first; be safe all the same
                break
    return scenario.start.tzinfo or UTC


@dataclass(frozen=True)
class HourlyBand:
    """A per-hour figure over replications: its mean and the low and high ends of its 95 % confidence interval."""

    mean: Sequence[float]
    low: Sequence[float]
    high: Sequence[float]


@dataclass(frozen=True)
class Interval:
    """A number over replications: its mean and the ends of its 95 % confidence interval."""

    mean: float
    low: float
    high: float


@dataclass(frozen=True)
class Bands:
    """What a run of replications gives the plots: per-hour series (keys ``HOURLY``) and outcome counts (keys
    ``OUTCOMES``) as means with 95 % confidence intervals. A key left out is drawn from the one run, without a band."""

    replications: int
    hourly: Mapping[str, HourlyBand] = field(default_factory=dict)
    outcomes: Mapping[str, Interval] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for key in self.hourly:
            if key not in HOURLY:
                raise ValueError(f"unknown hourly series {key!r}; known: {', '.join(HOURLY)}")
        for key in self.outcomes:
            if key not in OUTCOMES:
                raise ValueError(f"unknown outcome {key!r}; known: {', '.join(OUTCOMES)}")


HOURLY = ("arrivals", "answered", "abandoned", "mean_wait")
"""The per-hour series of the plots, by the hour the calls arrived in."""
OUTCOMES = ("agents", "users", "other_pbxs", "outside", "voicemail", "abandoned", "other_endings", "in_progress")
"""The bars of the outcome plot, from ``Kpis.answered_by``: answered by an agent here, by a user here without an agent
spec, by a member on another PBX, at an outside number or SIP address; voicemail, abandoned, another ending (busy tone,
message, unavailable, missed), still under way when the run ended."""
_SOMETIMES = frozenset(("users", "outside", "in_progress"))
"""Bars drawn only when they hold a call (the others are drawn at 0 too: an empty bar for members on other PBXs says
that none answered)."""


@dataclass(frozen=True)
class Plot:
    """One plot of the report: a key (the ``id`` of its ``<figure>``), the matplotlib figure and its caption."""

    key: str
    figure: Any
    caption: str


def hourly_series(k: Kpis, hours: int, warm_up_seconds: float = 0.0) -> dict[str, list[float]]:
    """The run's per-hour series over ``hours`` hours, by the hour the calls arrived in.

    Counts are 0 in an hour without calls; the mean wait is ``NaN`` there (``Kpis`` gives ``None`` for an hour with no
    wait to average), so that the plot shows a gap, not a wait of 0 s. An hour wholly inside the warm-up is ``NaN`` in
    every series: its calls were not counted.
    """
    warm = math.floor(warm_up_seconds / 3600)  # hours that end by the time the warm-up does

    def series(values: Sequence[float | None], filler: float) -> list[float]:
        padded = [math.nan if v is None else float(v) for v in values] + [filler] * (hours - len(values))
        return [math.nan if h < warm else v for h, v in enumerate(padded)]

    return {"arrivals": series(k.hourly_arrivals, 0.0), "answered": series(k.hourly_answered, 0.0),
            "abandoned": series(k.hourly_abandoned, 0.0), "mean_wait": series(k.hourly_mean_wait, math.nan)}


def _hours(k: Kpis, scenario: Scenario, bands: Bands | None) -> int:
    """Hours on the time axis: every hour with a call, to the end of the scenario's duration when it has one."""
    hours = max(len(k.hourly_arrivals), len(k.hourly_mean_wait))
    if scenario.duration_seconds is not None:
        hours = max(hours, math.ceil(scenario.duration_seconds / 3600))
    if bands is not None:
        hours = max([hours, *(len(b.mean) for b in bands.hourly.values())])
    return hours


def _padded(values: Sequence[float], hours: int, filler: float) -> list[float]:
    return [float(v) for v in values] + [filler] * (hours - len(values))


def _series(key: str, label: str, color: str, own: list[float], bands: Bands | None, hours: int) -> Series:
    band = bands.hourly.get(key) if bands is not None else None
    if band is None:
        return Series(label, own, color=color)
    filler = math.nan if key == "mean_wait" else 0.0
    return Series(label, _padded(band.mean, hours, filler), _padded(band.low, hours, filler), _padded(band.high, hours, filler),
                  color=color)


def outcome_counts(k: Kpis) -> dict[str, float]:
    """Each offered call in one of ``OUTCOMES``: who answered it (``Kpis.answered_by``) or how it ended."""
    by = k.answered_by
    other_endings = k.busy + k.message + k.unavailable + k.missed
    return {"agents": by["agent"], "users": by["user"], "other_pbxs": by["other_pbx"], "outside": by["external"] + by["sip"],
            "voicemail": k.voicemail, "abandoned": k.abandoned, "other_endings": other_endings,
            "in_progress": k.offered - k.answered - k.voicemail - k.abandoned - other_endings}


_OUTCOME_LABELS = {"agents": "answered by agents here ({agents} with an agent spec)",
                   "users": "answered by users here without an agent spec", "other_pbxs": "answered by members on other PBXs",
                   "outside": "answered at outside numbers or SIP addresses",
                   "voicemail": "voicemail", "abandoned": "abandoned (caller hung up)",
                   "other_endings": "busy tone, message, unavailable, missed", "in_progress": "still under way when the run ended"}
_OUTCOME_COLORS = {"agents": ANSWERED, "users": "#8fd18f", "other_pbxs": "#17becf", "outside": "#bcbd22",
                   "voicemail": "#ff7f0e", "abandoned": ABANDONED, "other_endings": "#7f7f7f", "in_progress": "#c7c7c7"}


def outcome_bars(k: Kpis, bands: Bands | None = None) -> list[Bar]:
    """Who answered (agents here, users here without an agent spec, members on other PBXs, outside numbers) and how the
    other calls ended; each offered call is in one bar.

    An outcome that ``bands`` gives is its mean with its confidence interval. Users without an agent spec, outside
    numbers and "still under way" have a bar only when they hold a call (a mean above 0).
    """
    counts = outcome_counts(k)
    bars = []
    for key in OUTCOMES:
        label, color = _OUTCOME_LABELS[key].format(agents=f"{len(k.agents):,}"), _OUTCOME_COLORS[key]
        interval = bands.outcomes.get(key) if bands is not None else None
        if interval is not None:
            if key not in _SOMETIMES or interval.mean:
                bars.append(Bar(label, interval.mean, color, interval.low, interval.high))
        elif key not in _SOMETIMES or counts[key]:
            bars.append(Bar(label, counts[key], color))
    return bars


def replication_bands(results: Sequence[RunResult], scenario: Scenario) -> Bands:
    """Each per-hour series and each outcome over replications (``simulator.replications.replicate``'s results): the
    mean and its Student t 95 % confidence interval, as ``simulator.replications.summarise`` gives every figure.

    An hour's mean wait is over the replications that measured a wait in that hour (``Kpis.hourly_mean_wait`` is
    ``None`` in the others: no call arrived then, or none had finished waiting when the run ended), so the band is
    the mean wait of that hour given that calls came in it, not pulled towards 0 s by replications without calls;
    ``NaN`` (a gap) when no replication measured one, and an interval needs two values (``NaN``, so no band, with
    fewer). A count is 0 in a replication without calls in that hour.
    """
    from simulator.replications import summarise

    if not results:
        raise ValueError("no replications to summarise")
    hours = max(_hours(r.kpis, scenario, None) for r in results)
    runs = [hourly_series(r.kpis, hours, scenario.warm_up_seconds) for r in results]

    def summary(values: list[float]) -> tuple[float, float, float]:
        values = [v for v in values if not math.isnan(v)]
        if not values:
            return math.nan, math.nan, math.nan
        s = summarise(values)
        return s.mean, math.nan if s.low is None else s.low, math.nan if s.high is None else s.high

    hourly = {}
    for key in HOURLY:
        columns = [summary([run[key][h] for run in runs]) for h in range(hours)]
        hourly[key] = HourlyBand([m for m, _, _ in columns], [lo for _, lo, _ in columns], [hi for _, _, hi in columns])
    counts = [outcome_counts(r.kpis) for r in results]
    outcomes = {key: Interval(*summary([c[key] for c in counts])) for key in OUTCOMES}
    return Bands(replications=len(results), hourly=hourly, outcomes=outcomes)


def _clock(scenario: Scenario, zone: tzinfo) -> str:
    start = scenario.start.astimezone(zone)
    aligned = "" if (start.minute, start.second, start.microsecond) == (0, 0, 0) else \
        f" Hours are counted from the start, {start:%H:%M:%S}, so they straddle the clock's hours."
    clock = f"Time on the tenant's wall clock ({zone_name(zone, start)}), from the start, {start:%A %Y-%m-%d %H:%M}.{aligned}"
    if scenario.warm_up_seconds:
        clock += f" Shaded: the warm-up ({_duration(scenario.warm_up_seconds)}), whose calls are left out of every figure."
    return clock


def _plots(scenario: Scenario, zone: tzinfo, hours: int, own: dict[str, list[float]], bands: Bands | None,
           histogram: Sequence[tuple[float, int]], levels: Mapping[float, float],
           level_intervals: Mapping[float, tuple[float, float]] | None, bars: list[Bar], occupancy: Mapping[str, float],
           pooled: int | None) -> list[Plot]:
    axis = Hours(scenario.start, zone, hours, scenario.warm_up_seconds)
    over = (f"Means of {bands.replications:,} replications with 95 % confidence intervals (bands); "
            if bands is not None and bands.hourly else "")
    clock = _clock(scenario, zone)
    calls = hourly_figure(axis, [_series("arrivals", "arrivals", ARRIVALS, own["arrivals"], bands, hours),
                                 _series("answered", "answered", ANSWERED, own["answered"], bands, hours),
                                 _series("abandoned", "abandoned", ABANDONED, own["abandoned"], bands, hours)],
                          title="Calls per hour: arrivals, answered, abandoned", ylabel="calls", empty="no calls")
    wait = hourly_figure(axis, [_series("mean_wait", "mean wait", WAIT, own["mean_wait"], bands, hours)],
                         title="Mean wait per hour", ylabel="mean wait (s)", empty="no call's wait was measured")
    outcome_over = f" Means of {bands.replications:,} replications, with 95 % confidence intervals." \
        if bands is not None and bands.outcomes else ""
    pooled_text = f" The waits of all {pooled:,} replications are pooled; each service level is their mean, with its 95 % " \
        "confidence interval." if pooled else ""
    return [
        Plot("calls", calls,
             f"{over}Calls by the hour they arrived in. {clock} The last hour may be partial."),
        Plot("mean-wait", wait,
             f"{over}Mean wait of the calls that arrived in each hour (arrival until answered, abandoned, or ended without a "
             f"person: voicemail, busy tone, message, unavailable, missed). A gap is an hour in which no call arrived, not a "
             f"wait of 0 s. {clock}"),
        Plot("waits", wait_cdf_figure(histogram, levels, level_intervals),
             "Cumulative distribution of the waits of the offered calls (arrival until answered, abandoned, or ended without "
             "a person), for each wait on the axis the share of calls whose wait had ended by then. Waits are read from "
             f"{BUCKET:g} s buckets. The dot at 0 s: calls answered at once and calls that ended at once without a person "
             "(voicemail or a message straight away, a rejected caller); its share of the offered calls is in the legend. "
             "Dashed lines: the service-level thresholds, each with its service level (calls answered within the threshold "
             f"/ offered calls), which the curve reaches or exceeds there, since it also counts calls that ended unanswered."
             f"{pooled_text}"),
        Plot("outcomes", outcome_figure(bars, sum(b.value for b in bars)),
             "Who answered each offered call, and how the calls nobody answered ended (shares of offered calls). Agents "
             "here are the extensions the scenario gives an agent spec; members on other PBXs are those of a group or "
             "forward on another PBX (answering with the scenario's probability for other endpoints); users here without "
             "an agent spec and outside numbers or SIP addresses have a bar when one answered."
             f"{outcome_over}"),
        Plot("occupancy", occupancy_figure(occupancy),
             "Agent occupancy: busy time (talk and wrap-up) / logged-in time" + (
                 f", over all {pooled:,} replications." if pooled else ".")),
    ]


def _levels(scenario: Scenario, service_level: Mapping[str, float]) -> dict[float, float]:
    return {t: service_level[service_level_key(t)] for t in scenario.service_level_seconds if service_level_key(t) in service_level}


def report_figures(result: RunResult, scenario: Scenario, *, base: Path | None = None, bands: Bands | None = None) -> list[Plot]:
    """The report's plots of one run as matplotlib figures (not yet rendered), each with its key and caption; with
    ``bands``, the per-hour series and outcomes they give are drawn as means with confidence intervals instead."""
    k = result.kpis
    hours = _hours(k, scenario, bands)
    return _plots(scenario, tenant_zone(scenario, base), hours, hourly_series(k, hours, scenario.warm_up_seconds), bands,
                  k.wait_histogram, _levels(scenario, k.service_level), None, outcome_bars(k, bands),
                  {extension: a.occupancy for extension, a in k.agents.items()}, None)


def replication_figures(replications: Replications, results: Sequence[RunResult], scenario: Scenario, *,
                        base: Path | None = None) -> list[Plot]:
    """The plots of a run of replications: per-hour means with bands, outcomes with error bars, the pooled waits with
    each service level's mean and interval, and occupancy over all replications."""
    bands = replication_bands(results, scenario)
    hours = len(bands.hourly["arrivals"].mean)
    histogram: dict[float, int] = {}
    for r in results:
        for start, n in r.kpis.wait_histogram:
            histogram[start] = histogram.get(start, 0) + n
    levels, intervals = {}, {}
    for threshold in scenario.service_level_seconds:
        summary = replications.figures.get(f"service_level_{service_level_key(threshold)}")
        if summary is not None and summary.mean is not None:  # a run's service levels always have one
            levels[threshold] = summary.mean
            if summary.low is not None and summary.high is not None:
                intervals[threshold] = (summary.low, summary.high)
    busy: dict[str, float] = {}
    logged: dict[str, float] = {}
    for r in results:
        for extension, a in r.kpis.agents.items():
            busy[extension] = busy.get(extension, 0.0) + a.busy_seconds
            logged[extension] = logged.get(extension, 0.0) + a.logged_in_seconds
    occupancy = {extension: busy[extension] / logged[extension] if logged[extension] else 0.0 for extension in busy}
    mean = {key: band.mean for key, band in bands.hourly.items()}
    return _plots(scenario, tenant_zone(scenario, base), hours, {key: list(v) for key, v in mean.items()}, bands,
                  sorted(histogram.items()), levels, intervals, outcome_bars(results[0].kpis, bands), occupancy, len(results))
