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
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from simulator.kpis import ANSWERED_BY, BUCKET, Breakdown, Kpis
from simulator.plots import (
    png,
)
from simulator.report_figures import (
    Bands,
    HourlyBand,
    Interval,
    Plot,
    _duration,
    hourly_series,
    outcome_bars,
    outcome_counts,
    replication_bands,
    replication_figures,
    report_figures,
    tenant_zone,
)
from simulator.run import RunResult
from simulator.scenario import ExplicitArrivals, PoissonArrivals, ReplayArrivals, Scenario
from simulator.streams import Distribution, Exponential, Fixed, LogNormal, Never, Uniform

if TYPE_CHECKING:
    from simulator.replications import Replications, Summary

__all__ = ["Bands", "HourlyBand", "Interval", "Plot", "hourly_series", "outcome_bars", "outcome_counts", "render_replications_report",
           "render_report", "replication_bands", "replication_figures", "report_figures", "tenant_zone", "write_replications_report",
           "write_report"]

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
        _queue_wait_section(k),
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
        *((f"by {ANSWERED_BY[key].split(' (')[0]}", k.answered_by.get(key, 0), True) for key in ANSWERED_BY
          if key != "voicemail" and (key in ("agent", "other_pbx") or k.answered_by.get(key, 0))),
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


def _queue_wait_section(k: Kpis) -> str:
    """Each queue's waits, measured from when a call joined it (the key figures measure from arrival)."""
    if not k.queue_figures:
        return ""
    levels = list(next(iter(k.queue_figures.values())).service_level)
    rows = []
    for queue, q in k.queue_figures.items():
        rows.append((queue, "–" if q.asa_seconds is None else _seconds(q.asa_seconds),
                     "–" if q.mean_wait_seconds is None else _seconds(q.mean_wait_seconds), _seconds(q.wait_max),
                     _share(q.probability_of_waiting), _share(q.abandon_rate),
                     *(_share(q.service_level[level]) for level in levels)))
    head = (("Queue", False), ("ASA, answered calls", True), ("Mean wait, all calls", True), ("Wait, longest", True),
            ("Probability of waiting", True), ("Abandon rate", True), *((f"Service level ({level})", True) for level in levels))
    note = ('<p class="note">A call\'s wait in a queue runs from joining it until an agent of the queue answers, the '
            "caller hangs up, or the call leaves the queue unanswered. The probability of waiting (no free agent of the "
            "queue when the call joined it), the abandon rate and the service levels (answered within the threshold of "
            "joining) are shares of the calls offered to the queue. –: no call to average.</p>")
    return "<h2>Queue waits</h2>\n" + _table(head, rows) + "\n" + note


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


def _figure_value(name: str, value: float | None) -> str:
    """A figure's value as the single-run table shows it: shares in %, seconds in s, counts with one decimal (a queue's
    figures, ``queue.support.abandon_rate``, alike); ``None`` (nothing to average) as –."""
    if value is None:
        return "–"
    last = name.rsplit(".", 1)[-1]
    if last in _SHARES or last.startswith("service_level_"):
        return _share(value)
    if last.endswith("_seconds") or last.startswith("wait_"):
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
        *((f"<h2>Who answered; numbers, queues and groups over {n:,} replications</h2>", _table(head, rows(broken_down)),
           '<p class="note">A queue\'s waits run from joining it; a queue\'s figure with nothing to average in a '
           "replication (its ASA when nobody answered there) is left out of that figure's mean and interval.</p>")
          if broken_down else ()),
        "<h2>Assertions</h2>",
        _table((("Result", False), ("Assertion", False), ("Over the replications", False)), assertion_rows, raw=True)
        if assertion_rows else '<p class="note">The scenario states no assertions.</p>',
        f"<details><summary>The {n:,} replications' seeds</summary><p><code>{_e(seeds)}</code></p></details>",
        _figure_html(replication_figures(replications, results, scenario, base=base)),
        "</body>", "</html>", "",
    ]
    return "\n".join(parts)
