"""simulate compare A B: common random numbers (the same calls in both) and paired confidence intervals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simulator.compare import compare
from simulator.replications import replicate
from simulator.scenario import load_scenario
from tests.simulator.test_replications import simulate, small_mmc


def two(tmp_path: Path, agents_b: int = 46) -> tuple[Path, Path]:
    """A: examples/mmc.toml cut to 600 calls (50 agents); B: the same with ``agents_b`` agents."""
    a = small_mmc(tmp_path, calls=600)
    b = tmp_path / "fewer.toml"
    b.write_text(a.read_text().replace("count = 50", f"count = {agents_b}"))
    return a, b


def test_the_same_scenario_twice_differs_in_nothing(tmp_path: Path) -> None:
    a, _ = two(tmp_path)
    s = load_scenario(a)
    comparison, a_runs, b_runs = compare(s, a.parent, s, a.parent, 3)
    assert a_runs == b_runs
    for name, d in comparison.figures.items():
        assert (d.difference.mean, d.difference.low, d.difference.high, d.differs) == (0.0, 0.0, 0.0, False), name


def test_fewer_agents_get_the_same_calls_and_a_worse_service_level_with_a_narrower_paired_interval(tmp_path: Path) -> None:
    a, b = two(tmp_path)
    sa, sb = load_scenario(a), load_scenario(b)
    comparison, a_runs, b_runs = compare(sa, a.parent, sb, b.parent, 5)
    for x, y in zip(a_runs, b_runs, strict=True):
        assert x.seed == y.seed
        assert x.kpis.hourly_arrivals == y.kpis.hourly_arrivals, "common random numbers: the same calls arrive"
    sl = comparison.figures["service_level_20s"]
    assert sl.differs and sl.difference.high is not None and sl.difference.high < 0, "fewer agents answer fewer calls in 20 s"
    assert comparison.figures["offered"].difference.values == [0.0] * 5
    assert comparison.figures["mean_wait_seconds"].difference.low > 0
    # The paired interval is narrower than the one of B alone: the calls' own randomness cancels out.
    alone, _ = replicate(sb, b.parent, 5)
    assert alone.figures["service_level_20s"].values == sl.b.values
    width = sl.difference.high - sl.difference.low
    assert width < (alone.figures["service_level_20s"].high - alone.figures["service_level_20s"].low)


def test_compare_on_the_command_line(tmp_path: Path) -> None:
    a, b = two(tmp_path)
    code, out, err = simulate("compare", str(a), str(b), "--replications", "3", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["replications"] == 3 and len(report["seeds"]) == 3
    sl = report["figures"]["service_level_20s"]
    assert len(sl["a"]["values"]) == len(sl["b"]["values"]) == len(sl["difference"]["values"]) == 3
    assert sl["difference"]["values"] == [pytest.approx(y - x) for x, y in zip(sl["a"]["values"], sl["b"]["values"], strict=True)]
    assert err.count("\n") == 6, "one progress line per run"
    code, text, _ = simulate("compare", str(a), str(b), "--replications", "3")
    assert code == 0
    assert "A mmc.toml, B fewer.toml: 3 replications each on common seeds derived from seed 7: " in text
    assert any(line.split()[0] == "service_level_20s" and line.endswith("differs") for line in text.splitlines()[2:])


def test_compare_warns_when_the_arrivals_differ(tmp_path: Path) -> None:
    a, b = two(tmp_path)
    b.write_text(b.read_text().replace("rate_per_hour = 900", "rate_per_hour = 850"))
    code, _, err = simulate("compare", str(a), str(b), "--replications", "2")
    assert code == 0 and "A and B have different arrivals" in err


def test_a_plain_scenario_named_like_nothing_special_still_runs_as_before(tmp_path: Path) -> None:
    code, out, _ = simulate("run", str(small_mmc(tmp_path, calls=50)))
    assert code == 0 and out.startswith("50 calls over")
