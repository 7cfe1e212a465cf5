"""The report's plots: PNG images drawn with matplotlib's object API and the Agg canvas, never pyplot.

matplotlib is imported only when a plot is drawn, so importing the report costs nothing
without the ``report`` extra; the PNGs carry no ``Software`` text chunk, so the same
figures give the same bytes.
"""

from __future__ import annotations

import io
import math
from typing import Any

from simulator.kpis import BUCKET, Kpis

MANY_AGENTS = 60
"""Above this many agents the occupancy plot is a histogram instead of one bar per agent."""
WAIT_BINS = 60
"""Bars in the wait distribution."""


def _figure(width: float = 8.0, height: float = 3.2) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def _whole_hours() -> Any:
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(integer=True)


def _empty(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#666")
    ax.set_xticks([])
    ax.set_yticks([])


def plot_hourly(k: Kpis) -> bytes:
    figure = _figure()
    ax = figure.add_subplot()
    hours = len(k.hourly_arrivals)
    if hours == 0:
        _empty(ax, "no calls")
    else:
        x = list(range(hours + 1))  # each hour drawn from its start to the next one's

        def series(values: list[int]) -> list[int]:
            values = values + [0] * (hours - len(values))
            return values + values[-1:]

        ax.step(x, series(k.hourly_arrivals), where="post", label="arrivals", color="#1f77b4")
        ax.step(x, series(k.hourly_answered), where="post", label="answered", color="#2ca02c")
        ax.step(x, series(k.hourly_abandoned), where="post", label="abandoned", color="#d62728")
        ax.set_xlabel("hour since start")
        ax.xaxis.set_major_locator(_whole_hours())
        ax.set_ylabel("calls")
        ax.set_ylim(bottom=0)
        ax.legend(loc="best", fontsize="small")
        ax.grid(True, alpha=0.3)
    ax.set_title("Arrivals, answered and abandoned per hour")
    return _png(figure)


def plot_mean_wait(k: Kpis) -> bytes:
    figure = _figure()
    ax = figure.add_subplot()
    if not k.hourly_mean_wait:
        _empty(ax, "no calls waited")
    else:
        waits = k.hourly_mean_wait
        ax.step(range(len(waits) + 1), waits + waits[-1:], where="post", color="#9467bd")
        ax.set_xlabel("hour since start")
        ax.xaxis.set_major_locator(_whole_hours())
        ax.set_ylabel("mean wait (s)")
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
    ax.set_title("Mean wait per hour")
    return _png(figure)


def plot_waits(k: Kpis) -> bytes:
    figure = _figure()
    ax = figure.add_subplot()
    total = sum(n for _, n in k.wait_histogram)
    # The first bucket (no wait to speak of) usually dwarfs the rest: it is stated, not drawn.
    immediate = sum(n for start, n in k.wait_histogram if start < BUCKET / 2)
    rest = [(start, n) for start, n in k.wait_histogram if start >= BUCKET / 2]
    if not rest:
        _empty(ax, "no call waited" if total == 0 else f"all {total:,} calls waited under {BUCKET:g} s")
        ax.set_title("Waits")
    else:
        # Work in whole buckets so that float bucket starts cannot land a call in the wrong bar.
        indices = [(round(start / BUCKET), n) for start, n in rest]
        last = max(index for index, _ in indices)
        per_bar = max(1, math.ceil((last + 1) / WAIT_BINS))
        bins = [0] * (last // per_bar + 1)
        for index, n in indices:
            bins[index // per_bar] += n
        width = per_bar * BUCKET
        ax.bar([i * width for i in range(len(bins))], bins, width=width, align="edge", color="#ff7f0e", edgecolor="white",
               linewidth=0.3)
        ax.set_xlabel(f"wait (s), bars of {width:g} s")
        ax.set_ylabel("calls")
        ax.set_xlim(0, len(bins) * width)
        ax.grid(True, axis="y", alpha=0.3)
        ax.set_title(f"Waits: {immediate:,} of {total:,} calls ({immediate / total:.1%}) waited under {BUCKET:g} s "
                     "(not drawn)", fontsize="medium")
    return _png(figure)


def plot_occupancy(k: Kpis) -> bytes:
    figure = _figure()
    ax = figure.add_subplot()
    agents = list(k.agents.items())
    if not agents:
        _empty(ax, "no agents")
        ax.set_title("Occupancy")
    elif len(agents) <= MANY_AGENTS:
        x = range(len(agents))
        ax.bar(x, [100 * a.occupancy for _, a in agents], color="#17becf")
        ax.set_xticks(list(x), [ext for ext, _ in agents], rotation=90, fontsize="x-small" if len(agents) > 20 else "small")
        ax.set_xlabel("agent")
        ax.set_ylabel("occupancy (%)")
        ax.set_ylim(0, 100)
        ax.grid(True, axis="y", alpha=0.3)
        ax.set_title("Occupancy per agent")
    else:
        edges = [i * 2 for i in range(51)]
        ax.hist([100 * a.occupancy for _, a in agents], bins=edges, color="#17becf", edgecolor="white", linewidth=0.3)
        ax.set_xlabel("occupancy (%)")
        ax.set_ylabel("agents")
        ax.set_xlim(0, 100)
        ax.grid(True, axis="y", alpha=0.3)
        ax.set_title(f"Occupancy of {len(agents):,} agents")
    return _png(figure)
