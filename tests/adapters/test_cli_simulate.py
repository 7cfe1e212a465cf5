"""`callroute simulate` on the shipped example scenarios."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from adapters.cli import cli

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def simulate(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--log-level", "error", "simulate", *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_the_friday_divert_example_shows_the_old_table_until_the_change_is_live(tmp_path: Path) -> None:
    code, out, _ = simulate(str(EXAMPLES / "friday_divert.toml"), "--trace", str(tmp_path / "t.jsonl"))
    assert code == 0
    assert "PASS call 2 is answered by 2001" in out
    assert "PASS call 3 is answered by 2002" in out
    events = [json.loads(line) for line in (tmp_path / "t.jsonl").read_text().splitlines()]
    assert {"t": 3600.0, "ev": "config", "version": 5} in events
    assert {"t": 10800.0, "ev": "live", "version": 5} in events


def test_the_seed_004_example_runs_its_assertions(tmp_path: Path) -> None:
    code, out, _ = simulate(str(EXAMPLES / "seed004_sales.toml"))
    assert code == 0
    assert "PASS call saturday ends at voicemail of 2004" in out


def test_a_failed_assertion_exits_1_and_lists_it(tmp_path: Path) -> None:
    scenario = (EXAMPLES / "friday_divert.toml").read_text().replace("call 3 is answered by 2002", "call 3 is answered by 2001")
    path = tmp_path / "s.toml"
    path.write_text(scenario)
    code, out, err = simulate(str(path))
    assert code == 1
    assert "FAIL call 3 is answered by 2001  (call 3: answered by 2002)" in out
    assert "1 assertion(s) failed: call 3 is answered by 2001" in err


def test_a_scenario_error_names_the_field_and_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text((EXAMPLES / "friday_divert.toml").read_text().replace("duration_seconds = 14400", "duration_seconds = -1"))
    code, _, err = simulate(str(path))
    assert code == 2
    assert "$.duration_seconds" in err


def test_a_bad_command_in_a_scenario_names_where_it_is(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text((EXAMPLES / "friday_divert.toml").read_text().replace('extension = "2002" }, reason', 'extension = "2099" }, reason'))
    code, _, err = simulate(str(path))
    assert code == 2
    assert "has no extension '2099'" in err
    assert "$.changes[0].commands" in err


def test_json_output_and_the_same_seed_give_the_same_figures(tmp_path: Path) -> None:
    runs = [json.loads(simulate(str(EXAMPLES / "seed004_sales.toml"), "--json", "--seed", "11")[1]) for _ in range(2)]
    assert runs[0] == runs[1]
    assert runs[0]["seed"] == 11
    other = json.loads(simulate(str(EXAMPLES / "seed004_sales.toml"), "--json", "--seed", "12")[1])
    assert other["kpis"]["offered"] != runs[0]["kpis"]["offered"] or other["kpis"] != runs[0]["kpis"]


def test_the_report_is_written(tmp_path: Path) -> None:
    report = tmp_path / "r.html"
    code, out, _ = simulate(str(EXAMPLES / "friday_divert.toml"), "--report", str(report))
    assert code == 0
    assert f"report: {report}" in out
    assert report.read_text().startswith("<!DOCTYPE html>") or "<html" in report.read_text()
