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


def test_a_simulated_day_can_be_checked_by_audit_explain_call(tmp_path: Path) -> None:
    """simulate --calls writes recorded calls; explain-call flags those routed by a table no longer current."""
    calls = tmp_path / "calls.jsonl"
    assert simulate(str(EXAMPLES / "friday_divert.toml"), "--calls", str(calls))[0] == 0
    lines = [json.loads(line) for line in calls.read_text().splitlines()]
    assert [(c["call_id"], c["outcome"], c["endpoint"]) for c in lines] == [
        ("1", "answered", "2001"), ("2", "answered", "2001"), ("3", "answered", "2002")]
    db = tmp_path / "c.sqlite"
    runner = CliRunner()
    base = ["--db", str(db), "--actor", "admin@office.example", "--log-level", "error"]
    setup = tmp_path / "office.json"
    setup.write_text(json.dumps({"commands": [
        {"command": "create_tenant", "tenant": "office", "name": "Office", "time_zone": "Europe/Stockholm"},
        {"command": "add_user", "tenant": "office", "extension": "2001", "name": "Anna"},
        {"command": "add_user", "tenant": "office", "extension": "2002", "name": "Björn"},
        {"command": "assign_number", "tenant": "office", "extension": "2001", "number": "+46812345670"},
        {"command": "set_divert", "tenant": "office", "extension": "2001", "condition": "always",
         "target": {"kind": "extension", "extension": "2002"}},
    ]}))
    assert runner.invoke(cli, [*base, "apply", str(setup)]).exit_code == 0
    result = runner.invoke(cli, [*base, "audit", "explain-call", "--tenant", "office", "--calls", str(calls), "--latest"])
    assert result.exit_code == 1
    assert "call 1: answered 2001 — DIFFERS from version 5, which allows: answered by 2002" in result.stdout
    assert "call 3: answered 2002 — as configured (version 5)" in result.stdout
    assert "2 calls differ from the configuration" in result.stdout
