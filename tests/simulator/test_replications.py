"""Replications: seeds derived from the scenario's, Student t intervals, the same output for any number of workers,
and the same per-replication results in this process, in worker processes and on a Dask cluster."""

from __future__ import annotations

import json
import math
from pathlib import Path

import msgspec
import pytest
from click.testing import CliRunner

from adapters.cli import cli
from simulator.replications import (
    decode_result,
    execute,
    make_tasks,
    replicate,
    replication_seeds,
    student_t_quantile,
    summarise,
)
from simulator.run import run_scenario
from simulator.scenario import load_scenario
from tests.simulator.test_theory import HOUR, PATIENCE_SECONDS, TALK_SECONDS, call_centre, erlang_a, exponential

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def small_mmc(tmp_path: Path, calls: int = 400, extra: str = "") -> Path:
    """examples/mmc.toml (its commands file beside it) cut to ``calls`` calls."""
    (tmp_path / "mmc_tenant.json").write_bytes((EXAMPLES / "mmc_tenant.json").read_bytes())
    path = tmp_path / "mmc.toml"
    path.write_text(extra + (EXAMPLES / "mmc.toml").read_text().replace("max_calls = 20000", f"max_calls = {calls}")
                    .replace('"offered == 20000"', f'"offered == {calls}"'))
    return path


def simulate(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--log-level", "error", "simulate", *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


# -- the statistics -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("df", "t"), [(1, 12.706204736), (2, 4.302652730), (4, 2.776445105), (9, 2.262157163),
                                       (29, 2.045229642), (100, 1.983971519), (1000, 1.962339081)])
def test_the_t_quantile_matches_the_tables(df: int, t: float) -> None:
    assert student_t_quantile(0.975, df) == pytest.approx(t, abs=5e-9)


@pytest.mark.parametrize(("p", "df", "t"), [(0.95, 1, 6.313751515), (0.95, 10, 1.812461123), (0.995, 5, 4.032142984),
                                            (0.9, 3, 1.637744354), (0.995, 30, 2.749995654)])
def test_the_t_quantile_matches_the_tables_at_other_levels(p: float, df: int, t: float) -> None:
    # Values of scipy.stats.t.ppf(p, df) to 9 decimals (scipy is not a dependency; the quantile is computed here).
    assert student_t_quantile(p, df) == pytest.approx(t, abs=5e-9)


def test_a_summary_is_the_mean_with_its_student_t_interval() -> None:
    s = summarise([1.0, 2.0, 3.0, 4.0, 5.0])
    half = 2.776445105 * math.sqrt(2.5) / math.sqrt(5)
    assert (s.mean, s.sd) == (3.0, pytest.approx(math.sqrt(2.5)))
    assert (s.low, s.high) == (pytest.approx(3 - half), pytest.approx(3 + half))
    assert s.values == [1.0, 2.0, 3.0, 4.0, 5.0]
    one = summarise([7.0])
    assert (one.mean, one.low, one.high, one.sd) == (7.0, None, None, None)


def test_seeds_are_derived_from_the_scenarios_seed_distinct_and_stable() -> None:
    seeds = replication_seeds(7, 50)
    assert seeds[:3] == [49380864766534, 257344611603678, 192250752198845]
    assert len(set(seeds)) == 50 and replication_seeds(7, 3) == seeds[:3]
    assert replication_seeds(8, 3) != seeds[:3]


# -- replications ---------------------------------------------------------------------------------------------------------


def test_each_replication_is_the_single_run_with_its_seed(tmp_path: Path) -> None:
    path = small_mmc(tmp_path)
    scenario = load_scenario(path)
    rep, results = replicate(scenario, path.parent, 3)
    assert rep.seeds == replication_seeds(7, 3) and rep.replications == 3
    for seed, result in zip(rep.seeds, results, strict=True):
        assert result == run_scenario(scenario, base=path.parent, seed=seed)
    assert rep.figures["service_level_20s"].values == [r.kpis.service_level["20s"] for r in results]
    assert rep.figures["queue.support.answered"].values == [float(r.kpis.queues["support"].answered) for r in results]


def test_the_output_is_the_same_for_any_number_of_workers(tmp_path: Path) -> None:
    path = small_mmc(tmp_path)
    one = simulate(str(path), "--replications", "4", "--json")
    two = simulate(str(path), "--replications", "4", "--workers", "2", "--json")
    assert one[0] == two[0] == 0
    assert one[1] == two[1]
    report = json.loads(one[1])
    assert report["seeds"] == replication_seeds(7, 4)
    assert len(report["figures"]["abandon_rate"]["values"]) == 4
    assert report["interval"].startswith("95 % confidence interval")
    assert one[2].count("\n") == 4 and "4/4 replication" in one[2], "one progress line per finished replication on stderr"
    text = simulate(str(path), "--replications", "4")
    assert "4 replications of mmc.toml, seeds derived from seed 7: 49380864766534, " in text[1]
    assert "PASS offered == 400  (mean offered = 400" in text[1]


def test_figure_assertions_hold_for_the_mean_and_call_assertions_in_every_replication(tmp_path: Path) -> None:
    path = small_mmc(tmp_path)
    path.write_text(path.read_text().replace('assertions = ["abandon_rate < 0.2"', 'assertions = ["abandon_rate > 0.2"'))
    code, out, err = simulate(str(path), "--replications", "2", "--junit", str(tmp_path / "j.xml"))
    assert code == 1
    assert "FAIL abandon_rate > 0.2  (mean abandon_rate = " in out and "held in 0 of 2 replications" in out
    assert "1 assertion(s) failed: abandon_rate > 0.2" in err
    assert 'failures="1"' in (tmp_path / "j.xml").read_text()


def test_replications_refuse_a_trace_which_is_of_one_run(tmp_path: Path) -> None:
    code, _, err = simulate(str(small_mmc(tmp_path)), "--replications", "2", "--trace", str(tmp_path / "t.jsonl"))
    assert code == 2 and "--trace writes one run: leave out --replications" in err


def test_a_scenario_error_is_given_before_any_replication_runs(tmp_path: Path) -> None:
    path = small_mmc(tmp_path)
    path.write_text(path.read_text().replace('to = "+46812345600"', 'to = "+46812345699"'))
    code, _, err = simulate(str(path), "--replications", "3", "--workers", "2")
    assert code == 2 and "is neither an extension nor a number of tenant 'callcentre'" in err and "$.arrivals[0].to" in err
    assert "replication 1" not in err


def test_replications_with_a_report_draw_bands(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    report = tmp_path / "r.html"
    code, out, _ = simulate(str(small_mmc(tmp_path)), "--replications", "2", "--report", str(report))
    assert code == 0 and f"report: {report}" in out
    assert "2 replications" in report.read_text()


def test_the_confidence_intervals_cover_erlang_a() -> None:
    """M/M/3+M at 2.25 Erlang, 8 replications of 40 h after a 3 h warm-up: each interval holds the formula's value."""
    mu = 1 / TALK_SECONDS
    theory = erlang_a(3, 2.25 * mu, mu, 1 / PATIENCE_SECONDS)
    s = msgspec.structs.replace(call_centre(3, 2.25, exponential(PATIENCE_SECONDS)), duration_seconds=43 * HOUR,
                                warm_up_seconds=3 * HOUR, seed=3)
    rep, _ = replicate(s, ROOT, 8)
    for name, value in (("probability_of_waiting", theory.p_wait), ("abandon_rate", theory.p_abandon),
                        ("asa_seconds", theory.asa), ("mean_wait_seconds", theory.mean_wait_all)):
        summary = rep.figures[name]
        assert summary.low is not None and summary.high is not None
        assert summary.low <= value <= summary.high, (name, value, summary.low, summary.high)


# -- on a Dask cluster ------------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_replications_on_a_loopback_dask_cluster_give_the_same_bytes(tmp_path: Path) -> None:
    """A scheduler and two worker processes on 127.0.0.1 (about 10 s to start)."""
    distributed = pytest.importorskip("distributed")
    path = small_mmc(tmp_path, calls=300)
    scenario = load_scenario(path)
    tasks = make_tasks(scenario, path.parent, replication_seeds(scenario.seed, 4))
    local = execute(tasks)
    with distributed.LocalCluster(processes=True, n_workers=2, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        finished: list[int] = []
        remote = execute(tasks, cluster=cluster.scheduler_address, progress=lambda index, _: finished.append(index))
        on_cluster = simulate(str(path), "--replications", "4", "--cluster", cluster.scheduler_address, "--json")
    assert remote == local, "each replication's result, byte for byte"
    assert sorted(finished) == [0, 1, 2, 3]
    assert [decode_result(r).seed for r in remote] == replication_seeds(7, 4)
    assert on_cluster[0] == 0
    assert on_cluster[1] == simulate(str(path), "--replications", "4", "--json")[1]


@pytest.mark.sqlite_only  # copies the SQLite file for the workers; see tests/backends.py
def test_replications_of_a_tenant_read_from_a_store_take_a_copy_of_the_store(tmp_path: Path) -> None:
    from tests.adapters.test_cli_simulate import ANNA, from_store

    path = from_store(tmp_path)
    code, out, err = simulate("--actor", ANNA, str(path), "--replications", "2")
    assert code == 0, err
    assert "PASS call 3 is answered by 2002  (held in 2 of 2 replications)" in out
    refused = simulate("--actor", "eve@elsewhere.example", str(path), "--replications", "2")
    assert refused[0] == 3 and "no tenant 'office' that 'eve@elsewhere.example' may read" in refused[2]
