"""The report's plots, read from the matplotlib figures before they are rendered: the wall-clock axis, gaps, the wait
distribution, who answered, confidence bands, and byte-identical output."""

from __future__ import annotations

import hashlib
import math
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import pytest

from simulator.kpis import BUCKET
from simulator.plots import Hours, Series, hourly_figure
from simulator.report import Bands, HourlyBand, Interval, Plot, hourly_series, outcome_bars, render_report, report_figures, tenant_zone
from simulator.run import RunResult, run_scenario
from simulator.scenario import Scenario, load_scenario
from tests.simulator.builders import NUMBER, add_user, create_tenant, explicit, fixed, route_number, save_queue, scenario
from tests.simulator.test_report import images, small_scenario

ROOT = Path(__file__).resolve().parents[2]
NEW_YORK = ZoneInfo("America/New_York")
STOCKHOLM = ZoneInfo("Europe/Stockholm")
WEEKDAY_TIME = re.compile(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun) [0-2]\d:[0-5]\d")


def gap_scenario(**fields: Any) -> Scenario:
    """Four hours from Friday 16:00 in Stockholm for a tenant in New York (10:00 there): calls in hours 0 and 2 only."""
    commands = [create_tenant("America/New_York"), add_user("2001"),
                save_queue("q", ["2001"], agent_ring_seconds=30, wrap_up_seconds=0, max_wait_seconds=600),
                route_number(NUMBER, {"kind": "queue", "queue": "q"})]
    calls = explicit(*({"at_seconds": t, "to": NUMBER, "from": "+441234567890"} for t in (600, 660, 1200, 9000)))
    return scenario(commands, [calls], start="2026-11-20T16:00:00+01:00", duration_seconds=4 * 3600,
                    agents=[{"extension": "2001", "answer_delay": fixed(0), "talk_time": fixed(100)}],
                    service_level_seconds=[20, 60], **fields)


def plots(result: RunResult, s: Scenario, **kwargs: Any) -> dict[str, Plot]:
    return {p.key: p for p in report_figures(result, s, **kwargs)}


def axes(plot: Plot) -> Any:
    (ax,) = plot.figure.axes
    return ax


def tick_labels(plot: Plot) -> list[str]:
    plot.figure.draw_without_rendering()
    return [t.get_text() for t in axes(plot).get_xticklabels() if t.get_text()]


def same(a: list[float], b: list[float]) -> bool:
    """Equal, NaN equal to NaN."""
    return len(a) == len(b) and all((math.isnan(x) and math.isnan(y)) or x == y for x, y in zip(a, b, strict=True))


def bands_of(ax: Any) -> list[Any]:
    from matplotlib.collections import PolyCollection

    return [c for c in ax.collections if isinstance(c, PolyCollection)]


def test_an_hour_without_calls_is_a_gap_in_the_mean_wait_not_zero() -> None:
    s = gap_scenario()
    result = run_scenario(s)
    k = result.kpis
    assert k.hourly_arrivals[:3] == [3, 0, 1]
    series = hourly_series(k, 4)
    assert series["arrivals"] == [3.0, 0.0, 1.0, 0.0]  # a count of no calls is 0
    assert math.isnan(series["mean_wait"][1]) and math.isnan(series["mean_wait"][3])
    assert not math.isnan(series["mean_wait"][0]) and series["mean_wait"][0] > 0  # the second caller waited for the first

    shown = plots(result, s)
    (wait_line,) = axes(shown["mean-wait"]).lines
    assert same(list(wait_line.get_ydata()), series["mean_wait"] + series["mean_wait"][-1:])  # each hour drawn to the next
    assert wait_line.get_drawstyle() == "steps-post"
    arrivals_line = axes(shown["calls"]).lines[0]
    assert list(arrivals_line.get_ydata()) == [3.0, 0.0, 1.0, 0.0, 0.0]


def test_the_time_axis_is_weekday_and_clock_time_in_the_tenants_zone() -> None:
    from matplotlib.dates import num2date

    s = gap_scenario()
    shown = plots(run_scenario(s), s)
    for key in ("calls", "mean-wait"):
        ax = axes(shown[key])
        labels = tick_labels(shown[key])
        assert len(labels) >= 4 and all(WEEKDAY_TIME.fullmatch(text) for text in labels), labels
        # Friday 16:00 in Stockholm is 10:00 in New York, the tenant's zone.
        assert "Fri 10:00" in labels and "Fri 16:00" not in labels
        assert ax.get_xlabel() == "time in America/New_York"
        # Each label is its tick's instant on the New York wall clock.
        assert labels == [num2date(x, tz=NEW_YORK).strftime("%a %H:%M") for x in ax.get_xticks()
                          if ax.get_xlim()[0] <= x <= ax.get_xlim()[1]]
        x = list(ax.lines[0].get_xdata())
        assert num2date(x[0], tz=NEW_YORK) == datetime(2026, 11, 20, 10, tzinfo=NEW_YORK)
        assert num2date(x[-1], tz=UTC) == datetime(2026, 11, 20, 19, tzinfo=UTC)  # four hours on
    assert "America/New_York" in shown["calls"].caption and "Friday 2026-11-20 10:00" in shown["calls"].caption


def test_hours_are_elapsed_hours_across_a_dst_change_shown_on_the_wall_clock() -> None:
    hours = Hours(datetime(2026, 10, 25, 0, tzinfo=STOCKHOLM), STOCKHOLM, 4)  # clocks go back at 03:00 CEST
    edges = hours.edges()
    assert [e.strftime("%H:%M %Z") for e in edges] == ["00:00 CEST", "01:00 CEST", "02:00 CEST", "02:00 CET", "03:00 CET"]
    utc = [e.astimezone(UTC) for e in edges]
    assert {(b - a).total_seconds() for a, b in zip(utc, utc[1:], strict=False)} == {3600.0}


def test_a_run_of_more_than_a_week_labels_days_with_their_date() -> None:
    hours = Hours(datetime(2026, 11, 16, 8, tzinfo=STOCKHOLM), STOCKHOLM, 24 * 10)
    figure = hourly_figure(hours, [Series("arrivals", [float(h % 24) for h in range(hours.count)])], title="t", ylabel="calls",
                           empty="none")
    plot = Plot("calls", figure, "")
    labels = tick_labels(plot)
    assert labels and all(re.fullmatch(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d\d (Nov|Dec)", text) for text in labels), labels


def test_the_tenants_zone_comes_from_its_commands_or_commands_files_else_the_start_offset() -> None:
    assert tenant_zone(gap_scenario()) == NEW_YORK
    demo = load_scenario(ROOT / "adapters" / "data" / "demo_day.toml")  # create_tenant is in a commands file
    assert tenant_zone(demo, ROOT / "adapters" / "data") == STOCKHOLM
    assert tenant_zone(demo) == timezone(timedelta(hours=1))  # without the folder: the start's offset, named as such
    s = msgspec.structs.replace(demo, tenant=msgspec.structs.replace(demo.tenant, commands_files=[]))
    assert tenant_zone(s, ROOT) == timezone(timedelta(hours=1))


def test_the_wait_distribution_is_cumulative_from_the_share_with_no_wait_with_the_thresholds_marked() -> None:
    s = small_scenario()  # answer delay 0: a caller who finds a free agent is answered at once
    result = run_scenario(s)
    k = result.kpis
    total = sum(n for _, n in k.wait_histogram)
    at_once = sum(n for start, n in k.wait_histogram if start < BUCKET / 2) / total
    assert 0.1 < at_once < 0.9

    ax = axes(plots(result, s)["waits"])
    curve, dot, *thresholds = ax.lines
    x, y = list(curve.get_xdata()), list(curve.get_ydata())
    assert (x[0], y[0]) == (0.0, pytest.approx(100 * at_once))  # the curve starts at the share with no wait
    assert curve.get_drawstyle() == "steps-post"
    assert all(b >= a for a, b in zip(y, y[1:], strict=False)) and y[-1] == pytest.approx(100.0)
    assert (list(dot.get_xdata()), list(dot.get_ydata())) == ([0.0], [pytest.approx(100 * at_once)])
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert f"no wait (0 s): {at_once:.1%}, answered at once or ended at once" in legend
    # One vertical line at each of the scenario's thresholds, labelled with its service level.
    assert [list(line.get_xdata()) for line in thresholds] == [[20.0, 20.0], [60.0, 60.0]] == [[t, t] for t in
                                                                                               s.service_level_seconds]
    assert [line.get_label() for line in thresholds] == [f"{t:g} s: service level {k.service_level[f'{t:g}s']:.1%}"
                                                         for t in s.service_level_seconds]
    # The curve counts every call whose wait ended, answered or not: it reaches at least the service level there.
    for threshold in s.service_level_seconds:
        reached = max(v for xv, v in zip(x, y, strict=True) if xv <= threshold)
        assert reached >= 100 * k.service_level[f"{threshold:g}s"] - 1e-9


def test_who_answered_puts_each_offered_call_in_one_bar() -> None:
    s = small_scenario(calls=200)
    result = run_scenario(s)
    k = result.kpis
    bars = {b.label.split(" (")[0]: b.value for b in outcome_bars(k)}
    assert bars["answered by agents here"] == sum(a.answered for a in k.agents.values()) == k.answered
    assert bars["answered by members on other PBXs"] == 0  # drawn, empty: nobody there answered
    assert "answered by users here without an agent spec" not in bars  # drawn only when one answered
    assert bars["abandoned"] == k.abandoned
    assert sum(bars.values()) == k.offered
    ax = axes(plots(result, s)["outcomes"])
    assert [p.get_width() for p in ax.patches] == list(bars.values())


def test_calls_answered_by_other_endpoints_and_voicemail_have_their_own_bars() -> None:
    commands = [create_tenant(), add_user("2001"), add_user("2002"),
                {"command": "create_answer_group", "tenant": "sim", "group": "g",
                 "settings": {"name": "G", "strategy": "sequential", "timeout_seconds": 40,
                              "fallback": {"kind": "voicemail", "extension": "2001"}},
                 "members": [{"ref": {"on": "local", "extension": m}, "ring_seconds": 10} for m in ("2001", "2002")]},
                route_number(NUMBER, {"kind": "group", "group": "g"})]
    calls = explicit(*({"at_seconds": 60.0 * i, "to": NUMBER} for i in range(40)))
    s = scenario(commands, [calls], agents=[{"extension": "2001", "answer_delay": fixed(30)}],
                 others={"answer_probability": 0.5, "answer_delay": fixed(2), "talk_time": fixed(10)})
    k = run_scenario(s).kpis
    bars = {b.label.split(" (")[0]: b.value for b in outcome_bars(k)}
    assert bars["answered by agents here"] == 0  # 2001 answers after 30 s, the ring lasts 10
    assert bars["answered by users here without an agent spec"] == k.answered > 0  # 2002 has no agent spec
    assert bars["answered by members on other PBXs"] == 0
    assert bars["voicemail"] == k.voicemail > 0
    assert sum(bars.values()) == k.offered


def test_bands_are_drawn_when_confidence_intervals_are_given() -> None:
    s = gap_scenario()
    result = run_scenario(s)
    plain = plots(result, s)
    assert not bands_of(axes(plain["calls"])) and not bands_of(axes(plain["mean-wait"]))
    assert [type(c).__name__ for c in axes(plain["outcomes"]).containers] == ["BarContainer"]

    hourly = {"arrivals": HourlyBand([2.5, 0.0, 1.5, 0.5], [1.0, 0.0, 0.5, 0.0], [4.0, 0.0, 2.5, 1.0]),
              "mean_wait": HourlyBand([30.0, math.nan, 12.0, 5.0], [20.0, math.nan, 8.0, 1.0], [40.0, math.nan, 16.0, 9.0])}
    bands = Bands(replications=5, hourly=hourly, outcomes={"agents": Interval(3.0, 2.5, 3.5)})
    shown = plots(result, s, bands=bands)
    ax = axes(shown["calls"])
    (band,) = bands_of(ax)
    assert list(ax.lines[0].get_ydata()) == [2.5, 0.0, 1.5, 0.5, 0.5]  # the mean, not the one run
    ys = [v[1] for path in band.get_paths() for v in path.vertices]
    assert min(ys) == 0.0 and max(ys) == 4.0
    assert "Means of 5 replications with 95 % confidence intervals" in shown["calls"].caption
    wait_ax = axes(shown["mean-wait"])
    (wait_band,) = bands_of(wait_ax)
    assert len(wait_band.get_paths()) == 2  # the hour without calls splits the band as it splits the line
    assert math.isnan(list(wait_ax.lines[0].get_ydata())[1])
    containers = axes(shown["outcomes"]).containers
    assert [type(c).__name__ for c in containers] == ["ErrorbarContainer", "BarContainer"]
    _, caps, (xerr,) = containers[0].lines
    assert [list(seg[:, 0]) for seg in xerr.get_segments()][0] == [2.5, 3.5]  # the agents' bar: 3.0 in [2.5, 3.5]
    assert "Means of 5 replications" in shown["outcomes"].caption
    assert len(images(render_report(result, s, bands=bands))) == 5

    with pytest.raises(ValueError, match="unknown hourly series 'waits'"):
        Bands(replications=2, hourly={"waits": hourly["mean_wait"]})


def test_the_warm_up_is_shaded_and_left_out_of_the_hourly_series() -> None:
    s = gap_scenario(warm_up_seconds=3600)
    result = run_scenario(s)
    series = hourly_series(result.kpis, 4, 3600)
    assert all(math.isnan(v[0]) for v in series.values())
    shown = plots(result, s)
    ax = axes(shown["calls"])
    assert "warm-up (not counted)" in [t.get_text() for t in ax.get_legend().get_texts()]
    assert "Shaded: the warm-up" in shown["calls"].caption


PROBE = """
import hashlib, sys
from pathlib import Path
from simulator.report import render_report
from simulator.run import run_scenario
from simulator.scenario import load_scenario
path = Path(sys.argv[1])
s = load_scenario(path)
print(hashlib.sha256(render_report(run_scenario(s, base=path.parent), s, base=path.parent).encode()).hexdigest())
"""


def test_the_same_scenario_gives_a_byte_identical_report_in_other_processes() -> None:
    scenario_file = ROOT / "examples" / "friday_divert.toml"
    runs = [subprocess.Popen([sys.executable, "-c", PROBE, str(scenario_file)], cwd=ROOT, env={**os.environ, "PYTHONHASHSEED": seed},
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for seed in ("1", "2")]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], [err for _, err in outputs]
    digests = {out.strip() for out, _ in outputs}
    s = load_scenario(scenario_file)
    here = render_report(run_scenario(s, base=scenario_file.parent), s, base=scenario_file.parent)
    assert digests == {hashlib.sha256(here.encode()).hexdigest()}


def test_a_run_of_replications_is_reported_with_bands_error_bars_and_intervals(tmp_path: Path) -> None:
    from simulator.replications import replicate
    from simulator.report import replication_bands, replication_figures, write_replications_report

    document = msgspec.to_builtins(gap_scenario())
    document["arrivals"] = [{"kind": "poisson", "to": NUMBER, "rate_per_hour": 1.5}]  # four hours, some without calls
    s = msgspec.convert(document, Scenario)
    replications, results = replicate(s, tmp_path, 4)
    bands = replication_bands(results, s)
    runs = [hourly_series(r.kpis, 4) for r in results]
    assert any(math.isnan(run["mean_wait"][hour]) for run in runs for hour in range(4))  # an hour without calls in some run
    for key in ("arrivals", "mean_wait"):
        for hour in range(4):
            values = [run[key][hour] for run in runs if not math.isnan(run[key][hour])]
            assert bands.hourly[key].mean[hour] == pytest.approx(sum(values) / len(values))
            if len(values) >= 2 and len(set(values)) > 1:
                assert bands.hourly[key].low[hour] < bands.hourly[key].mean[hour] < bands.hourly[key].high[hour]
    assert sum(i.mean for i in bands.outcomes.values()) == pytest.approx(replications.figures["offered"].mean)

    shown = {p.key: p for p in replication_figures(replications, results, s)}
    assert len(bands_of(axes(shown["calls"]))) == 3 and len(bands_of(axes(shown["mean-wait"]))) >= 1
    assert "ErrorbarContainer" in [type(c).__name__ for c in axes(shown["outcomes"]).containers]
    legend = [t.get_text() for t in axes(shown["waits"]).get_legend().get_texts()]
    level = replications.figures["service_level_20s"]
    assert f"20 s: service level {level.mean:.1%} (95 % CI {level.low:.1%} to {level.high:.1%})" in legend
    assert all(WEEKDAY_TIME.fullmatch(text) for text in tick_labels(shown["calls"]))

    first, second = tmp_path / "first.html", tmp_path / "second.html"
    write_replications_report(replications, results, s, first)
    write_replications_report(replications, results, s, second)
    assert first.read_bytes() == second.read_bytes()
    document = first.read_text(encoding="utf-8")
    assert "<h2>Figures over 4 replications</h2>" in document
    assert len(images(document)) == 5
    offered = replications.figures["offered"]
    assert f"<tr><td>offered</td><td class=\"n\">{offered.mean:,.1f}</td>" in document
