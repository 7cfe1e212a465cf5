"""One self-contained HTML report of a simulation run: the scenario, key figures, assertions, breakdowns and plots.

Everything is in the one file: the style sheet inline, the plots as PNG data URIs. The plots are
drawn on ``matplotlib.figure.Figure`` objects with the Agg canvas, never through pyplot, so writing
a report changes no global matplotlib state. The same result gives the same bytes: the PNGs carry
no ``Software`` (matplotlib version) text chunk and PNG has no date, and the page itself holds
nothing but the run's figures (no clock, no host name).

The plots (``report_figures``, built before they are rendered so that tests can read them): calls
per hour and the mean wait per hour on the tenant's wall clock (weekday and time, in its zone; an
hour without a measured wait is a gap, not 0 s), the cumulative distribution of waits with the
service-level thresholds marked, who answered and how the other calls ended, and occupancy. Given
``Bands`` (means and 95 % confidence intervals over replications), the per-hour plots draw the
means with bands and the outcome bars carry error bars. ``write_replications_report`` is the
report of ``simulate --replications``: each figure's mean and interval, the assertions over
the replications, and the plots with bands built from every replication's result.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from adapters.inputs import InputError, read_document
from core import commands as c
from simulator.kpis import BUCKET, Breakdown, Kpis, service_level_key
from simulator.plots import (ABANDONED, ANSWERED, ARRIVALS, WAIT, Bar, Hours, Series, hourly_figure, occupancy_figure, outcome_figure,
                             png, wait_cdf_figure, zone_name)
from simulator.run import RunResult
from simulator.scenario import ExplicitArrivals, PoissonArrivals, ReplayArrivals, Scenario
from simulator.streams import Distribution, Exponential, Fixed, LogNormal, Never, Uniform

if TYPE_CHECKING:
    from simulator.replications import Replications, Summary

LONG_TABLE = 50
"""Tables with more rows than this are folded (``<details>``) so that the page stays readable."""

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 64rem;
       padding: 0 1rem; color: #1d1d1f; line-height: 1.4; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
table { border-collapse: collapse; margin: .5rem 0 1rem; }
th, td { padding: .2rem .7rem; border-bottom: 1px solid #eee; text-align: left; vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.sub td:first-child, tr.sub th { padding-left: 1.8rem; color: #555; font-weight: normal; }
.pass { color: #137333; font-weight: 600; }
.fail { color: #b3261e; font-weight: 600; }
.note { color: #666; font-size: .9rem; }
.summary { font-size: 1.05rem; }
figure { margin: 1rem 0; }
figcaption { color: #555; font-size: .9rem; }
img { max-width: 100%; height: auto; }
code { font-size: .9em; }
"""


def write_report(result: RunResult, scenario: Scenario, path: Path, *, base: Path | None = None,
                 bands: Bands | None = None) -> None:
    """Write the HTML report of ``result`` (a run of ``scenario``) to ``path``.

    ``base``: the scenario file's folder, where its ``commands_files`` are (they give the tenant's time zone);
    ``bands``: means and confidence intervals over replications, drawn around the plots' series.
    """
    path.write_bytes(render_report(result, scenario, base=base, bands=bands).encode("utf-8"))


def render_report(result: RunResult, scenario: Scenario, *, base: Path | None = None, bands: Bands | None = None) -> str:
    """The report as one HTML document."""
    k = result.kpis
    title = f"Simulation report: {scenario.tenant.slug}, seed {result.seed}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title>",
        f"<style>{_STYLE}</style>",
        "</head>",
        "<body>",
        f"<h1>{_e(title)}</h1>",
        _headline(result),
        _scenario_section(result, scenario),
        _kpi_section(k),
        _assertion_section(result),
        _breakdown_section("Numbers", "Number", k.numbers),
        _breakdown_section("Queues", "Queue", k.queues),
        _breakdown_section("Answer groups", "Group", k.groups),
        _agent_section(k),
        _plot_section(result, scenario, base, bands),
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(parts)


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _count(n: int) -> str:
    return f"{n:,}"


def _seconds(s: float) -> str:
    if s == math.inf:
        return "never"
    return f"{s:,.1f} s"


def _share(x: float) -> str:
    return f"{x:.1%}"


def _duration(s: float) -> str:
    """``80,113 s (22 h 15 min)``."""
    if s < 60:
        return f"{s:,.1f} s"
    minutes = int(s // 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    spoken = (f"{days} d " if days else "") + (f"{hours} h " if hours or days else "") + f"{minutes} min"
    return f"{s:,.0f} s ({spoken})"


def _distribution(d: Distribution) -> str:
    match d:
        case Fixed(value=value):
            return f"fixed {value:g} s"
        case Exponential(mean=mean):
            return f"exponential, mean {mean:g} s"
        case Uniform(low=low, high=high):
            return f"uniform {low:g}–{high:g} s"
        case LogNormal(mean=mean, sd=sd):
            return f"log-normal, mean {mean:g} s, sd {sd:g} s"
        case Never():
            return "never"
    return str(d)


def _table(head: Sequence[tuple[str, bool]], rows: Iterable[Sequence[str]], *, raw: bool = False,
           row_classes: Sequence[str] | None = None) -> str:
    """A table; ``head`` is (label, numeric). Cells are escaped unless ``raw``."""
    cells = "".join(f'<th class="n">{_e(h)}</th>' if numeric else f"<th>{_e(h)}</th>" for h, numeric in head)
    out = ["<table>", f"<thead><tr>{cells}</tr></thead>", "<tbody>"]
    count = 0
    for index, row in enumerate(rows):
        count += 1
        klass = row_classes[index] if row_classes and row_classes[index] else ""
        tds = "".join(('<td class="n">' if numeric else "<td>") + (cell if raw else _e(cell)) + "</td>"
                      for cell, (_, numeric) in zip(row, head, strict=True))
        out.append(f'<tr class="{klass}">{tds}</tr>' if klass else f"<tr>{tds}</tr>")
    out += ["</tbody>", "</table>"]
    body = "\n".join(out)
    if count > LONG_TABLE:
        return f"<details><summary>{count:,} rows</summary>\n{body}\n</details>"
    return body


def _headline(result: RunResult) -> str:
    k = result.kpis
    failed = sum(1 for a in result.assertions if not a.passed)
    if not result.assertions:
        verdict = '<span class="note">no assertions</span>'
    elif failed:
        verdict = f'<span class="fail">{failed} of {len(result.assertions)} assertions failed</span>'
    else:
        verdict = f'<span class="pass">all {len(result.assertions)} assertions held</span>'
    sl = ", ".join(f"service level {_e(t)} {_e(_share(v))}" for t, v in k.service_level.items())
    return (f'<p class="summary">{_e(_count(k.offered))} calls offered, {_e(_count(k.answered))} answered, '
            f"{_e(_count(k.abandoned))} abandoned ({_e(_share(k.abandon_rate))}); ASA {_e(_seconds(k.asa_seconds))}"
            f"{'; ' + sl if sl else ''}. {verdict}.</p>")


def _scenario_section(result: RunResult, scenario: Scenario, *, seed_text: str | None = None, trace: bool = True) -> str:
    """The scenario; the run's simulated time, events and trace hash (without ``trace``: a run of replications, where
    these are the first replication's)."""
    k = result.kpis
    agents = len(scenario.agents) + sum(g.count for g in scenario.agent_groups)
    rows: list[tuple[str, str]] = [
        ("Tenant", scenario.tenant.slug),
        ("Seed", seed_text or str(result.seed)),
        ("Start", scenario.start.isoformat()),
    ]
    if scenario.duration_seconds is not None:
        rows.append(("Duration", _duration(scenario.duration_seconds)))
    if scenario.max_calls is not None:
        rows.append(("Calls (at most)", _count(scenario.max_calls)))
    if scenario.warm_up_seconds:
        rows.append(("Warm-up (not counted)", _duration(scenario.warm_up_seconds)))
    if trace:
        rows.append(("Simulated time", _duration(k.simulated_seconds)))
        rows.append(("Events", _count(k.events)))
    rows.append(("Agents", _count(agents)))
    for group in scenario.agent_groups:
        rows.append((f"  extensions {group.first}–{group.first + group.count - 1}",
                     f"{group.count:,} agents; answer delay {_distribution(group.answer_delay)}; talk time "
                     f"{_distribution(group.talk_time)}; wrap-up {_distribution(group.wrap_up)}"))
    for spec in scenario.agents:
        shifts = ", ".join(f"{s.start}–{s.end}" for s in spec.shifts) or "always logged in"
        rows.append((f"  extension {spec.extension}",
                     f"answer delay {_distribution(spec.answer_delay)}; talk time {_distribution(spec.talk_time)}; "
                     f"wrap-up {_distribution(spec.wrap_up)}; {shifts}"))
    for index, arrivals in enumerate(scenario.arrivals):
        if isinstance(arrivals, PoissonArrivals):
            shaped = []
            if arrivals.hourly_profile is not None:
                shaped.append("hourly profile")
            if arrivals.weekly_profile is not None:
                shaped.append("weekly profile")
            extra = f" ({', '.join(shaped)})" if shaped else ""
            anonymous = f", {_share(arrivals.anonymous_share)} anonymous" if arrivals.anonymous_share else ""
            text = f"Poisson to {arrivals.to}, {arrivals.rate_per_hour:,g} calls/h{extra}{anonymous}"
        elif isinstance(arrivals, ExplicitArrivals):
            text = f"{len(arrivals.calls):,} explicit calls"
        elif isinstance(arrivals, ReplayArrivals):
            text = f"{len(arrivals.calls):,} replayed calls" + (f" from {arrivals.file}" if arrivals.file else "")
        else:  # pragma: no cover - the union has three members
            text = type(arrivals).__name__
        rows.append((f"Arrivals {index + 1}", text))
    rows.append(("Caller patience", _distribution(scenario.patience)))
    if scenario.others.answer_probability:
        rows.append(("Other endpoints", f"answer with probability {scenario.others.answer_probability:g}"))
    if scenario.presence:
        rows.append(("Presence changes", _count(len(scenario.presence))))
    if scenario.changes:
        rows.append(("Configuration changes", f"{len(scenario.changes):,}; provisioning delay "
                                              f"{_distribution(scenario.provisioning.delay)}"))
    rows.append(("Service level thresholds", ", ".join(f"{s:g} s" for s in scenario.service_level_seconds)))
    if trace and result.trace_sha256 is not None:
        rows.append(("Trace SHA-256", result.trace_sha256))
    body = "".join(f'<tr class="sub"><th>{_e(label.strip())}</th><td>{_e(value)}</td></tr>' if label.startswith(" ")
                   else f"<tr><th>{_e(label)}</th><td>{_e(value)}</td></tr>" for label, value in rows)
    return f"<h2>Scenario</h2>\n<table><tbody>{body}</tbody></table>"


def _kpi_section(k: Kpis) -> str:
    offered = k.offered

    def of_offered(n: int) -> str:
        return _share(n / offered) if offered else ""

    counts: list[tuple[str, int, bool]] = [
        ("Offered", k.offered, False),
        ("Answered", k.answered, False),
        ("Abandoned", k.abandoned, False),
        ("in a queue", k.abandoned_queue, True),
        ("while ringing", k.abandoned_ringing, True),
        ("in a menu (IVR)", k.abandoned_ivr, True),
        ("Voicemail", k.voicemail, False),
        ("Rejected (anonymous)", k.rejected, False),
        ("Busy tone", k.busy, False),
        ("Message", k.message, False),
        ("Unavailable", k.unavailable, False),
        ("Missed", k.missed, False),
        ("Found no free agent on arrival", k.waited, False),
        ("overflowed (sent on unanswered)", k.overflowed, True),
    ]
    rows: list[tuple[str, str, str]] = [(label, _count(n), of_offered(n)) for label, n, _ in counts]
    classes = ["sub" if sub else "" for _, _, sub in counts]
    figures: list[tuple[str, str]] = [
        ("Average speed of answer (ASA), answered calls", _seconds(k.asa_seconds)),
        ("Mean wait, all calls", _seconds(k.mean_wait_seconds)),
        ("Wait, median (p50)", _seconds(k.wait_p50)),
        ("Wait, p90", _seconds(k.wait_p90)),
        ("Wait, p95", _seconds(k.wait_p95)),
        ("Wait, p99", _seconds(k.wait_p99)),
        ("Wait, longest", _seconds(k.wait_max)),
        ("Probability of waiting", _share(k.probability_of_waiting)),
        ("Abandon rate", _share(k.abandon_rate)),
    ]
    figures += [(f"Service level ({threshold})", _share(value)) for threshold, value in k.service_level.items()]
    figures.append(("Agent occupancy (all agents)", _share(k.flat()["occupancy"])))
    rows += [(label, value, "") for label, value in figures]
    classes += [""] * len(figures)
    note = ('<p class="note">Every offered call has a wait: from arrival until it is answered, abandoned, or ends without '
            "a person (voicemail, busy tone, message, unavailable, missed). ASA averages the waits of answered calls; the "
            "mean wait averages every call's. Percentiles are read from a histogram of "
            f"{BUCKET:g} s buckets. The probability of waiting (calls that found no free agent on arrival), the abandon rate "
            "and the service levels (calls answered within the threshold) are shares of offered calls. A rejected or "
            "overflowed call is also counted under how it ended.</p>")
    table = _table((("Figure", False), ("Value", True), ("Of offered", True)), rows, row_classes=classes)
    return "<h2>Key figures</h2>\n" + table + "\n" + note


def _assertion_section(result: RunResult) -> str:
    if not result.assertions:
        return '<h2>Assertions</h2>\n<p class="note">The scenario states no assertions.</p>'
    rows = []
    for a in result.assertions:
        verdict = '<span class="pass">PASS</span>' if a.passed else '<span class="fail">FAIL</span>'
        rows.append((verdict, f"<code>{_e(a.assertion)}</code>", _e(a.detail)))
    return "<h2>Assertions</h2>\n" + _table((("Result", False), ("Assertion", False), ("Actual", False)), rows, raw=True)


def _breakdown_section(title: str, label: str, breakdowns: dict[str, Breakdown]) -> str:
    if not breakdowns:
        return ""
    rows = []
    for key, b in breakdowns.items():
        handled = b.answered + b.abandoned
        rows.append((key, _count(b.offered), _count(b.answered), _count(b.abandoned),
                     _share(b.abandoned / handled) if handled else "–", _count(b.voicemail), _count(b.other),
                     _count(b.passed_on)))
    head = ((label, False), ("Offered", True), ("Answered", True), ("Abandoned", True), ("Abandon rate", True),
            ("Voicemail", True), ("Other endings", True), ("Passed on", True))
    return f"<h2>{_e(title)}</h2>\n" + _table(head, rows)


def _agent_section(k: Kpis) -> str:
    if not k.agents:
        return '<h2>Agents</h2>\n<p class="note">No agents.</p>'
    rows = [(extension, _count(a.answered), _duration(a.busy_seconds), _duration(a.logged_in_seconds), _share(a.occupancy))
            for extension, a in k.agents.items()]
    occupancies = sorted(a.occupancy for a in k.agents.values())
    summary = (f'<p class="note">Occupancy: busy (talking and wrap-up) / logged in. Lowest {_e(_share(occupancies[0]))}, '
               f"median {_e(_share(occupancies[len(occupancies) // 2]))}, highest {_e(_share(occupancies[-1]))}.</p>")
    head = (("Agent", False), ("Answered", True), ("Busy", True), ("Logged in", True), ("Occupancy", True))
    return "<h2>Agents</h2>\n" + summary + "\n" + _table(head, rows)


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
OUTCOMES = ("agents", "others", "voicemail", "abandoned", "other_endings", "in_progress")
"""The bars of the outcome plot: answered by an agent, answered by another endpoint, voicemail, abandoned, another
ending (busy tone, message, unavailable, missed), still under way when the run ended."""


@dataclass(frozen=True)
class Plot:
    """One plot of the report: a key (the ``id`` of its ``<figure>``), the matplotlib figure and its caption."""

    key: str
    figure: Any
    caption: str


def hourly_series(k: Kpis, hours: int, warm_up_seconds: float = 0.0) -> dict[str, list[float]]:
    """The run's per-hour series over ``hours`` hours, by the hour the calls arrived in.

    Counts are 0 in an hour without calls; the mean wait is ``NaN`` there (``Kpis`` gives 0.0 for an hour with no
    wait to average: no call arrived in it), so that the plot shows a gap, not a wait of 0 s. An hour wholly inside
    the warm-up is ``NaN`` in every series: its calls were not counted.
    """
    warm = math.floor(warm_up_seconds / 3600)  # hours that end by the time the warm-up does

    def series(values: Sequence[float], filler: float) -> list[float]:
        padded = [float(v) for v in values] + [filler] * (hours - len(values))
        return [math.nan if h < warm else v for h, v in enumerate(padded)]

    arrivals = series(k.hourly_arrivals, 0.0)
    waits = series(k.hourly_mean_wait, math.nan)
    mean_wait = [math.nan if calls == 0 else w for calls, w in zip(arrivals, waits, strict=True)]
    return {"arrivals": arrivals, "answered": series(k.hourly_answered, 0.0), "abandoned": series(k.hourly_abandoned, 0.0),
            "mean_wait": mean_wait}


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
    """Each offered call in one of ``OUTCOMES``: who answered it (an agent, another endpoint) or how it ended."""
    agents = sum(a.answered for a in k.agents.values())
    other_endings = k.busy + k.message + k.unavailable + k.missed
    return {"agents": agents, "others": k.answered - agents, "voicemail": k.voicemail, "abandoned": k.abandoned,
            "other_endings": other_endings, "in_progress": k.offered - k.answered - k.voicemail - k.abandoned - other_endings}


_OUTCOME_LABELS = {"agents": "answered by agents ({agents} with an agent spec)",
                   "others": "answered by others (other PBXs' members,\nusers without an agent spec, outside numbers)",
                   "voicemail": "voicemail", "abandoned": "abandoned (caller hung up)",
                   "other_endings": "busy tone, message, unavailable, missed", "in_progress": "still under way when the run ended"}
_OUTCOME_COLORS = {"agents": ANSWERED, "others": "#8fd18f", "voicemail": "#ff7f0e", "abandoned": ABANDONED,
                   "other_endings": "#7f7f7f", "in_progress": "#c7c7c7"}


def outcome_bars(k: Kpis, bands: Bands | None = None) -> list[Bar]:
    """Who answered (agents, other endpoints) and how the other calls ended; each offered call is in one bar.

    An outcome that ``bands`` gives is its mean with its confidence interval; "still under way" only when there are such.
    """
    counts = outcome_counts(k)
    bars = []
    for key in OUTCOMES:
        label, color = _OUTCOME_LABELS[key].format(agents=f"{len(k.agents):,}"), _OUTCOME_COLORS[key]
        interval = bands.outcomes.get(key) if bands is not None else None
        if interval is not None:
            if key != "in_progress" or interval.mean:
                bars.append(Bar(label, interval.mean, color, interval.low, interval.high))
        elif key != "in_progress" or counts[key]:
            bars.append(Bar(label, counts[key], color))
    return bars


def replication_bands(results: Sequence[RunResult], scenario: Scenario) -> Bands:
    """Each per-hour series and each outcome over replications (``simulator.replications.replicate``'s results): the
    mean and its Student t 95 % confidence interval, as ``simulator.replications.summarise`` gives every figure.

    An hour's mean wait is over the replications in which a call arrived in that hour (``NaN`` in none); an interval
    needs two values (``NaN``, so no band, with fewer). A count is 0 in a replication without calls in that hour.
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
             "Who answered each offered call, and how the calls nobody answered ended (shares of offered calls). Agents are "
             "the extensions the scenario gives an agent spec; the run does not record which kind of other endpoint answered "
             f"(a member on another PBX, a user without an agent spec, an outside number or SIP address).{outcome_over}"),
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
        if summary is not None:
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


def _figure_html(plots: list[Plot]) -> str:
    out = ["<h2>Plots</h2>"]
    for plot in plots:
        data = base64.b64encode(png(plot.figure)).decode("ascii")
        out.append(f'<figure id="plot-{plot.key}"><img alt="{_e(plot.caption)}" src="data:image/png;base64,{data}">'
                   f"<figcaption>{_e(plot.caption)}</figcaption></figure>")
    return "\n".join(out)


def _plot_section(result: RunResult, scenario: Scenario, base: Path | None, bands: Bands | None) -> str:
    return _figure_html(report_figures(result, scenario, base=base, bands=bands))


# -- a run of replications ------------------------------------------------------------------------------------------

_SHARES = frozenset(("probability_of_waiting", "abandon_rate", "occupancy"))


def _figure_value(name: str, value: float) -> str:
    """A figure's value as the single-run table shows it: shares in %, seconds in s, counts with one decimal."""
    if name in _SHARES or name.startswith("service_level_"):
        return _share(value)
    if name.endswith("_seconds") or name.startswith("wait_"):
        return _seconds(value)
    return f"{value:,.1f}"


def write_replications_report(replications: Replications, results: Sequence[RunResult], scenario: Scenario, path: Path, *,
                              base: Path | None = None) -> None:
    """Write the HTML report of a run of replications (``simulator.replications.replicate``'s two results) to ``path``."""
    path.write_bytes(render_replications_report(replications, results, scenario, base=base).encode("utf-8"))


def render_replications_report(replications: Replications, results: Sequence[RunResult], scenario: Scenario, *,
                               base: Path | None = None) -> str:
    """The report of a run of replications as one HTML document: each figure's mean with its 95 % confidence interval,
    the assertions over the replications, and the plots with bands."""
    n = replications.replications
    title = f"Simulation report: {scenario.tenant.slug}, {n:,} replications (seeds from {replications.seed})"
    figures = replications.figures
    scalar = [(name, s) for name, s in figures.items() if "." not in name]
    broken_down = [(name, s) for name, s in figures.items() if "." in name]

    def rows(items: list[tuple[str, Summary]]) -> list[tuple[str, str, str, str]]:
        return [(name, _figure_value(name, s.mean),
                 "–" if s.low is None or s.high is None else f"{_figure_value(name, s.low)} to {_figure_value(name, s.high)}",
                 "–" if s.sd is None else _figure_value(name, s.sd)) for name, s in items]

    head = (("Figure", False), ("Mean", True), ("95 % confidence interval", True), ("Standard deviation", True))
    failed = sum(1 for a in replications.assertions if not a.passed)
    if not replications.assertions:
        verdict = '<span class="note">no assertions</span>'
    elif failed:
        verdict = f'<span class="fail">{failed} of {len(replications.assertions)} assertions failed</span>'
    else:
        verdict = f'<span class="pass">all {len(replications.assertions)} assertions held</span>'
    assertion_rows = [('<span class="pass">PASS</span>' if a.passed else '<span class="fail">FAIL</span>',
                       f"<code>{_e(a.assertion)}</code>", _e(a.detail)) for a in replications.assertions]
    seeds = ", ".join(str(seed) for seed in replications.seeds)
    parts = [
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">', f"<title>{_e(title)}</title>",
        f"<style>{_STYLE}</style>", "</head>", "<body>", f"<h1>{_e(title)}</h1>",
        f'<p class="summary">{n:,} independent replications; each figure is the mean over them with its '
        f"{_e(replications.interval)}. {verdict}.</p>",
        _scenario_section(results[0], scenario, seed_text=f"{replications.seed} (replications' seeds derived from it)",
                          trace=False),
        f"<h2>Figures over {n:,} replications</h2>", _table(head, rows(scalar)),
        *((f"<h2>Numbers, queues and groups over {n:,} replications</h2>", _table(head, rows(broken_down))) if broken_down else ()),
        "<h2>Assertions</h2>",
        _table((("Result", False), ("Assertion", False), ("Over the replications", False)), assertion_rows, raw=True)
        if assertion_rows else '<p class="note">The scenario states no assertions.</p>',
        f"<details><summary>The {n:,} replications' seeds</summary><p><code>{_e(seeds)}</code></p></details>",
        _figure_html(replication_figures(replications, results, scenario, base=base)),
        "</body>", "</html>", "",
    ]
    return "\n".join(parts)
