"""The report's plots: matplotlib ``Figure`` objects drawn with the Agg canvas (never pyplot), and their PNG bytes.

Each ``*_figure`` function returns the ``Figure`` so that a test can read its axes (tick
labels, lines' data) before anything is rendered; ``png`` renders one. matplotlib is
imported only when a figure is made, so importing the report costs nothing without the
``report`` extra. The PNGs carry no ``Software`` text chunk and PNG has no date, so the
same figures give the same bytes.

Per-hour series are ``Series``: one value per hour of the run, ``NaN`` where the hour has
nothing to show (a mean wait in an hour without calls, an hour inside the warm-up), which
matplotlib draws as a gap in the line; with ``low`` and ``high`` (a confidence interval
over replications) a band is drawn around it. The time axis is the wall clock of the
tenant's zone, weekday and time (weekday and date for runs over a week).
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from simulator.kpis import BUCKET

MANY_AGENTS = 60
"""Above this many agents the occupancy plot is a histogram instead of one bar per agent."""
CDF_SHOWN = 0.995
"""The wait distribution's axis runs at least to where this share of waits has ended (and past every threshold)."""
LONG_RUN_DAYS = 7
"""Runs longer than this label their time axis with weekday and date (ticks at midnight), shorter ones weekday and time."""

ARRIVALS, ANSWERED, ABANDONED, WAIT = "#1f77b4", "#2ca02c", "#d62728", "#9467bd"


@dataclass(frozen=True)
class Series:
    """One value per hour of the run (``NaN``: nothing to show that hour), with an optional confidence band."""

    label: str
    values: Sequence[float]
    low: Sequence[float] | None = None
    high: Sequence[float] | None = None
    color: str = ARRIVALS

    def __post_init__(self) -> None:
        if (self.low is None) != (self.high is None):
            raise ValueError(f"{self.label}: a band needs both low and high")
        for bound in (self.low, self.high):
            if bound is not None and len(bound) != len(self.values):
                raise ValueError(f"{self.label}: {len(bound)} band values for {len(self.values)} hours")


@dataclass(frozen=True)
class Hours:
    """The hourly axis: hour ``h`` runs from ``start`` + h hours to the next, shown on the wall clock of ``zone``."""

    start: datetime
    zone: tzinfo
    count: int
    warm_up_seconds: float = 0.0
    """The run's first seconds whose calls are left out of the figures: shaded on the axis."""

    def edges(self) -> list[datetime]:
        """The ``count + 1`` instants (in ``zone``) where the hours begin and the last one ends."""
        start = self.start.astimezone(UTC)  # step in UTC: hours are elapsed time, whatever DST does to the wall clock
        return [(start + timedelta(hours=h)).astimezone(self.zone) for h in range(self.count + 1)]


@dataclass(frozen=True)
class Bar:
    """One bar of the outcome plot: a number of calls, with an optional confidence interval."""

    label: str
    value: float
    color: str
    low: float | None = None
    high: float | None = None


def _figure(width: float = 8.0, height: float = 3.2) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def png(figure: Any) -> bytes:
    """The figure as PNG bytes, without the ``Software`` text chunk (so without matplotlib's version)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def zone_name(zone: tzinfo, at: datetime) -> str:
    """``Europe/Stockholm``, or ``UTC+01:00`` for a fixed offset."""
    key = getattr(zone, "key", None)
    if key:
        return str(key)
    offset = at.astimezone(zone).utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _empty(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#666")
    ax.set_xticks([])
    ax.set_yticks([])


def _time_axis(ax: Any, hours: Hours) -> list[float]:
    """Put the wall clock of ``hours.zone`` on the x axis; return the hour edges as matplotlib date numbers."""
    from matplotlib.dates import AutoDateLocator, DateFormatter, date2num

    edges = hours.edges()
    x = [float(date2num(edge)) for edge in edges]
    long_run = edges[-1] - edges[0] > timedelta(days=LONG_RUN_DAYS)
    ax.xaxis.set_major_locator(AutoDateLocator(tz=hours.zone, minticks=4, maxticks=9, interval_multiples=True))
    ax.xaxis.set_major_formatter(DateFormatter("%a %d %b" if long_run else "%a %H:%M", tz=hours.zone))
    ax.set_xlim(x[0], x[-1])
    ax.set_xlabel(f"time in {zone_name(hours.zone, hours.start)}")
    if long_run:
        ax.tick_params(axis="x", labelrotation=30)
    return x


def _step(ax: Any, x: list[float], series: Series) -> None:
    """One series as steps (each hour drawn from its start to the next one's); its band if it has one."""
    values = list(series.values)
    ax.step(x, values + values[-1:], where="post", label=series.label, color=series.color, linewidth=1.4)
    if series.low is not None and series.high is not None:
        low, high = list(series.low), list(series.high)
        ax.fill_between(x, low + low[-1:], high + high[-1:], step="post", color=series.color, alpha=0.2, linewidth=0)


def hourly_figure(hours: Hours, series: Sequence[Series], *, title: str, ylabel: str, empty: str) -> Any:
    """Per-hour series on the wall clock; a series of only ``NaN`` hours, or no hours, shows ``empty``."""
    figure = _figure()
    ax = figure.add_subplot()
    shown = [s for s in series if any(not math.isnan(v) for v in s.values)]
    if hours.count == 0 or not shown:
        _empty(ax, empty)
    else:
        x = _time_axis(ax, hours)
        if hours.warm_up_seconds:
            from matplotlib.dates import date2num

            end = float(date2num(hours.start.astimezone(UTC) + timedelta(seconds=hours.warm_up_seconds)))
            ax.axvspan(x[0], min(end, x[-1]), facecolor="#f2f2f2", edgecolor="#bbbbbb", hatch="///", linewidth=0,
                       label="warm-up (not counted)")
        for s in series:
            if len(s.values) != hours.count:
                raise ValueError(f"{s.label}: {len(s.values)} values for {hours.count} hours")
            _step(ax, x, s)
        ax.set_ylabel(ylabel)
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
        handles, _ = ax.get_legend_handles_labels()
        if any(s.low is not None for s in series):
            from matplotlib.patches import Patch

            handles.append(Patch(color="#888", alpha=0.35, linewidth=0, label="shaded: 95 % confidence\ninterval"))
        if len(handles) > 1:
            ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)
    ax.set_title(title)
    return figure


def wait_cdf_figure(histogram: Sequence[tuple[float, int]], service_levels: Mapping[float, float],
                    intervals: Mapping[float, tuple[float, float]] | None = None) -> Any:
    """The empirical cumulative distribution of waits, the service-level thresholds marked, the share with no wait stated.

    ``histogram`` is ``Kpis.wait_histogram`` (bucket start, calls); a wait counts as its bucket's start, as
    the percentiles do, so the curve starts at 0 s at the share of waits in the first bucket (no wait: answered
    at once, or ended at once without a person), marked with a dot. ``service_levels`` maps each threshold
    (seconds) to its service level; ``intervals`` to its 95 % confidence interval, when there is one (replications).
    """
    figure = _figure()
    ax = figure.add_subplot()
    buckets = sorted((start, n) for start, n in histogram if n)
    total = sum(n for _, n in buckets)
    if total == 0:
        _empty(ax, "no call's wait was measured")
        ax.set_title("Waits")
        return figure
    at_once = sum(n for start, n in buckets if start < BUCKET / 2) / total
    x: list[float] = [] if buckets[0][0] < BUCKET / 2 else [0.0]
    y: list[float] = [] if buckets[0][0] < BUCKET / 2 else [0.0]
    seen = 0
    shown_to = 0.0
    for start, n in buckets:
        seen += n
        x.append(0.0 if start < BUCKET / 2 else start)
        y.append(seen / total)
        if seen / total < CDF_SHOWN:
            shown_to = start
    thresholds = sorted(service_levels)
    right = max([shown_to + BUCKET, *(1.25 * t for t in thresholds), 1.0])
    longest = buckets[-1][0]
    x.append(max(right, longest))
    y.append(1.0)
    ax.step(x, [100 * v for v in y], where="post", color=WAIT, linewidth=1.6, label="waits ended by then")
    ax.plot([0.0], [100 * at_once], "o", color=WAIT, markersize=6, clip_on=False,
            label=f"no wait (0 s): {at_once:.1%}, answered at once or ended at once")
    for index, threshold in enumerate(thresholds):
        interval = (intervals or {}).get(threshold)
        ci = f" (95 % CI {interval[0]:.1%} to {interval[1]:.1%})" if interval is not None else ""
        ax.axvline(threshold, color="#555", linestyle=("--", ":", "-.")[index % 3], linewidth=1.1,
                   label=f"{threshold:g} s: service level {service_levels[threshold]:.1%}{ci}")
    ax.set_xlim(0, right)
    ax.set_ylim(0, 101)
    ax.set_xlabel("wait (s)" + (f"; the longest, {longest:,.1f} s, is off the axis" if longest > right else ""))
    ax.set_ylabel("calls whose wait ended (%)")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", fontsize="small")
    ax.set_title("Waits: share of calls whose wait had ended, by wait")
    return figure


def outcome_figure(bars: Sequence[Bar], offered: float) -> Any:
    """Horizontal bars: who answered and how the other calls ended, each with its share of the offered calls."""
    figure = _figure(height=0.45 * len(bars) + 1.0)
    ax = figure.add_subplot()
    if not offered:
        _empty(ax, "no calls")
        ax.set_title("Who answered")
        return figure
    y = list(range(len(bars)))
    errors = None
    if any(b.low is not None for b in bars):
        errors = [[b.value - (b.low if b.low is not None else b.value) for b in bars],
                  [(b.high if b.high is not None else b.value) - b.value for b in bars]]
    ax.barh(y, [b.value for b in bars], color=[b.color for b in bars], xerr=errors, capsize=3 if errors else 0)
    ax.set_yticks(y, [b.label for b in bars], fontsize="small")
    ax.invert_yaxis()
    widest = max(b.high if b.high is not None else b.value for b in bars)
    for index, b in enumerate(bars):
        end = b.high if b.high is not None else b.value
        text = f"{b.value:,.0f}" if errors is None else f"{b.value:,.1f} ({b.low:,.1f}–{b.high:,.1f})" if b.low is not None \
            else f"{b.value:,.1f}"
        ax.text(end + widest * 0.01, index, f" {text}; {b.value / offered:.1%}", va="center", fontsize="small")
    ax.set_xlim(0, widest * (1.6 if errors else 1.25) if widest else 1)
    ax.set_xlabel("calls")
    ax.grid(True, axis="x", alpha=0.3)
    ax.set_title("Who answered, and how the other calls ended")
    return figure


def occupancy_figure(occupancy: Mapping[str, float]) -> Any:
    """Each agent's occupancy (a share), by extension: one bar each, or a histogram when there are many."""
    figure = _figure()
    ax = figure.add_subplot()
    items = list(occupancy.items())
    if not items:
        _empty(ax, "no agents")
        ax.set_title("Occupancy")
    elif len(items) <= MANY_AGENTS:
        x = range(len(items))
        ax.bar(x, [100 * share for _, share in items], color="#17becf")
        ax.set_xticks(list(x), [ext for ext, _ in items], rotation=90, fontsize="x-small" if len(items) > 20 else "small")
        ax.set_xlabel("agent")
        ax.set_ylabel("occupancy (%)")
        ax.set_ylim(0, 100)
        ax.grid(True, axis="y", alpha=0.3)
        ax.set_title("Occupancy per agent")
    else:
        edges = [i * 2 for i in range(51)]
        ax.hist([100 * share for _, share in items], bins=edges, color="#17becf", edgecolor="white", linewidth=0.3)
        ax.set_xlabel("occupancy (%)")
        ax.set_ylabel("agents")
        ax.set_xlim(0, 100)
        ax.grid(True, axis="y", alpha=0.3)
        ax.set_title(f"Occupancy of {len(items):,} agents")
    return figure
