"""`callroute simulate` on the shipped example scenarios."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

import adapters.cli.simulate as simulate_module
from adapters.cli import cli
from adapters.cli.simulate import run_and_report, simulated_clock
from simulator.run import CHECKPOINT_EVENTS
from simulator.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


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


def test_a_scenarios_warnings_go_to_stderr_and_leave_the_json_output_json(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    short = ('commands = [{ command = "save_forwarding_scheme", tenant = "office", scheme = "day", spec = { name = "Day", '
             'steps = [{ destination = { kind = "extension", extension = "2002" }, timeout_seconds = 20 }] } }]')
    path.write_text((EXAMPLES / "friday_divert.toml").read_text().replace(
        "[provisioning]", f"[[changes]]\nat_seconds = 60\n{short}\n\n[provisioning]"))
    code, out, err = simulate(str(path), "--json")
    warning = "$.changes[1].commands: scheme day: steps[0]: 20 s is under the recommended 30 s"
    assert code == 0
    assert f"callroute: warning: {warning}\n" in err
    assert json.loads(out)["warnings"] == [warning]


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


def test_the_files_written_are_listed_after_the_figures_one_per_line(tmp_path: Path) -> None:
    paths = {name: tmp_path / f"out.{name}" for name in ("trace", "report", "calls", "junit")}
    args = [arg for name, path in paths.items() for arg in (f"--{name}", str(path))]
    code, out, _ = simulate(str(EXAMPLES / "friday_divert.toml"), *args)
    assert code == 0
    lines = out.splitlines()
    assert lines[-5] == "  PASS call 3 is answered by 2002  (call 3: answered by 2002)"
    assert lines[-4:] == [f"  trace: {paths['trace']}", f"  report: {paths['report']}", f"  calls: {paths['calls']}",
                          f"  junit: {paths['junit']}"]
    assert all(path.is_file() for path in paths.values())


def without_assertions(tmp_path: Path) -> Path:
    """friday_divert.toml with an empty list of assertions."""
    text = (EXAMPLES / "friday_divert.toml").read_text()
    start, end = text.index("assertions = ["), text.index("]", text.index("assertions = [")) + 1
    path = tmp_path / "quiet.toml"
    path.write_text(text[:start] + "assertions = []" + text[end:])
    return path


def test_junit_has_one_testcase_per_assertion_and_a_failure_for_the_one_that_failed(tmp_path: Path) -> None:
    path = tmp_path / "divert.toml"
    path.write_text((EXAMPLES / "friday_divert.toml").read_text().replace("call 3 is answered by 2002", "call 3 is answered by 2001"))
    junit = tmp_path / "junit.xml"
    code, _, _ = simulate(str(path), "--junit", str(junit))
    assert code == 1
    root = ET.parse(junit).getroot()
    suites = root.findall("testsuite")
    assert root.tag == "testsuites" and len(suites) == 1
    suite = suites[0]
    assert (suite.get("name"), suite.get("tests"), suite.get("failures")) == ("divert", "3", "1")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == ["call 1 is answered by 2001", "call 2 is answered by 2001", "call 3 is answered by 2001"]
    assert [c.find("failure") is None for c in cases] == [True, True, False]
    failure = cases[2].find("failure")
    assert failure is not None
    assert failure.get("message") == "call 3: expected answered by 2001, actual answered by 2002"


def test_junit_gives_a_figure_its_expected_and_actual_values(tmp_path: Path) -> None:
    path = tmp_path / "divert.toml"
    path.write_text((EXAMPLES / "friday_divert.toml").read_text().replace('"call 1 is answered by 2001",', '"offered >= 4",'))
    junit = tmp_path / "junit.xml"
    assert simulate(str(path), "--junit", str(junit))[0] == 1
    failure = ET.parse(junit).getroot().find("testsuite/testcase[@name='offered >= 4']/failure")
    assert failure is not None
    assert failure.get("message") == "offered: expected >= 4, actual 3"


def test_junit_without_assertions_is_a_suite_of_zero_tests(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    assert simulate(str(without_assertions(tmp_path)), "--junit", str(junit))[0] == 0
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("name"), suite.get("tests"), suite.get("failures"), list(suite)) == ("quiet", "0", "0", [])


def test_without_matplotlib_a_report_is_refused_before_anything_is_written(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    # None in sys.modules makes `import matplotlib` raise ImportError, as on an install without the extra.
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    report, trace, calls = tmp_path / "r.html", tmp_path / "t.jsonl", tmp_path / "c.jsonl"
    code, out, err = simulate(str(EXAMPLES / "friday_divert.toml"), "--report", str(report), "--trace", str(trace),
                              "--calls", str(calls))
    assert code == 2
    assert err == "callroute: error: --report needs the report extra: pip install 'callroute[report]'\n"
    assert out == ""
    assert list(tmp_path.iterdir()) == []


def test_importing_the_command_does_not_import_matplotlib() -> None:
    probe = "import sys, adapters.cli.simulate; print(sorted(m for m in sys.modules if m.split('.')[0] == 'matplotlib'))"
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_a_run_within_one_batch_never_enters_trio_and_a_longer_one_is_hosted_by_it() -> None:
    """A short run needs nothing of trio (and no logging library): it is not imported; a longer run is one trio.run."""
    probe = (  # an exit handler: ``main`` may end the process without returning (adapters/cli/ending.py), never without them
        "import atexit, sys\n"
        "atexit.register(lambda: print(sorted({m.split('.')[0] for m in sys.modules} & {'trio', 'structlog', 'rich'}),\n"
        "                              file=sys.stderr))\n"
        "from adapters.cli import main\n"
        "sys.argv = ['callroute', 'simulate', sys.argv[1], '--json', '--engine', sys.argv[2]]\n"
        "main()\n"
    )
    loaded = {}
    for name, engine in (("friday_divert.toml", "general"), ("mmc.toml", "general"), ("mmc.toml", "auto")):
        done = subprocess.run([sys.executable, "-c", probe, str(EXAMPLES / name), engine], cwd=ROOT, capture_output=True,
                              text=True, check=False)
        assert done.returncode == 0, done.stderr
        loaded[name, engine] = done.stderr.strip()
    assert loaded == {("friday_divert.toml", "general"): "[]", ("mmc.toml", "general"): "['trio']",
                      ("mmc.toml", "auto"): "['trio']"}


# -- progress on stderr ---------------------------------------------------------------------------------


def on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """CliRunner's stderr is never a terminal: make the command believe it is."""
    monkeypatch.setattr(simulate_module, "_stderr_is_terminal", lambda: True)


def test_no_progress_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    code, _, err = simulate(str(EXAMPLES / "friday_divert.toml"), "--report", str(tmp_path / "r.html"))
    assert (code, err) == (0, "")


def test_no_progress_with_json_even_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    on_a_terminal(monkeypatch)
    code, out, err = simulate(str(EXAMPLES / "friday_divert.toml"), "--json")
    assert (code, err) == (0, "")
    assert json.loads(out)["kpis"]["offered"] == 3


def test_progress_on_a_terminal_shows_simulated_time_and_calls_per_second(monkeypatch: pytest.MonkeyPatch) -> None:
    on_a_terminal(monkeypatch)
    code, out, err = simulate(str(EXAMPLES / "friday_divert.toml"))
    assert code == 0
    # The last event (call 3 ends) is at 3 h 40 min of the 4 h the scenario lasts.
    assert "simulated 3h 40m of 4h 00m · 3 calls · " in err and " calls/s" in err
    assert "writing report" not in err
    assert "simulated" not in out.replace("simulated hours", "")


def test_progress_shows_the_report_being_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    on_a_terminal(monkeypatch)
    report = tmp_path / "r.html"
    code, _, err = simulate(str(EXAMPLES / "friday_divert.toml"), "--report", str(report))
    assert code == 0
    assert "writing report" in err and report.name in err


@pytest.mark.parametrize(("seconds", "shown"), [(0, "0h 00m"), (59.9, "0h 00m"), (8040, "2h 14m"), (86400 * 3 + 3900, "3d 1h 05m")])
def test_simulated_time_is_shown_to_the_minute(seconds: float, shown: str) -> None:
    assert simulated_clock(seconds) == shown


def test_the_progress_display_leaves_the_trace_and_figures_unchanged(tmp_path: Path) -> None:
    scenario_file = tmp_path / "mmc.toml"
    scenario_file.write_text((EXAMPLES / "mmc.toml").read_text().replace("20000", "2000"))
    scenario = load_scenario(scenario_file)
    console = Console(file=io.StringIO(), force_terminal=True, width=120)
    shown = run_and_report(scenario, EXAMPLES, None, tmp_path / "shown.jsonl", None, progress=True, console=console)
    plain = run_and_report(scenario, EXAMPLES, None, tmp_path / "plain.jsonl", None, progress=False)
    assert shown.kpis.events > 2 * CHECKPOINT_EVENTS  # so the display was called during the run, not only at its end
    assert "simulated" in console.file.getvalue()
    assert (tmp_path / "shown.jsonl").read_bytes() == (tmp_path / "plain.jsonl").read_bytes()
    assert shown == plain


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


# -- a tenant read from a store: only by an actor who may read it ---------------------------------------------------

ANNA = "anna@office.example"
OFFICE = [
    {"command": "create_tenant", "tenant": "office", "name": "Office", "time_zone": "Europe/Stockholm"},
    {"command": "add_user", "tenant": "office", "extension": "2001", "name": "Anna"},
    {"command": "add_user", "tenant": "office", "extension": "2002", "name": "Björn"},
    {"command": "assign_number", "tenant": "office", "extension": "2001", "number": "+46812345670"},
]


def from_store(tmp_path: Path, tenant: str = "office") -> Path:
    """The Friday-divert scenario on tenant ``tenant`` of ``store.sqlite`` (Anna's office, stored the Monday before)."""
    from tests.adapters.test_cli import run, write_json
    from tests.backends import store_exists

    db = tmp_path / "store.sqlite"
    if not store_exists(db):  # its file, or on the PostgreSQL backend its database (tests/backends.py)
        assert run(db, "apply", str(write_json(tmp_path / "office.json", OFFICE)), actor=ANNA)[0] == 0
    text = (EXAMPLES / "friday_divert.toml").read_text().replace("2026-11-20T16:00", "2026-11-27T16:00")
    head, _, rest = text.partition("[tenant]")
    rest = rest[rest.index("\n[[agents]]"):]
    path = tmp_path / "s.toml"
    path.write_text(f'{head}[tenant]\nslug = "office"\nstore = {{ db = "store.sqlite", tenant = "{tenant}" }}\n{rest}')
    return path


def simulate_as(actor: str, *args: str) -> tuple[int, str, str]:
    return simulate("--actor", actor, *args)


def test_a_tenant_read_from_a_store_is_simulated_for_an_actor_who_may_read_it(tmp_path: Path) -> None:
    code, out, err = simulate_as(ANNA, str(from_store(tmp_path)))
    assert code == 0, err
    assert "PASS call 3 is answered by 2002" in out


def test_a_tenant_read_from_a_store_is_refused_to_others_the_same_whether_it_exists_or_not(tmp_path: Path) -> None:
    eve = "eve@elsewhere.example"
    refusal = ("callroute: error: {path}: tenant.store.tenant: no tenant '{slug}' that 'eve@elsewhere.example' may read "
               "(name who acts with --actor PRINCIPAL or CALLROUTE_ACTOR; now acting as eve@elsewhere.example)\n")
    for slug in ("office", "ghost"):
        path = from_store(tmp_path, slug)
        assert simulate_as(eve, str(path)) == (3, "", refusal.format(path=path, slug=slug))
    # An operator, who may read every tenant, is told that there is none.
    code, _, err = simulate("--operator", str(from_store(tmp_path, "ghost")))
    assert (code, err) == (2, f"callroute: error: {tmp_path / 'store.sqlite'}: no tenant 'ghost' (at $.tenant.store.tenant)\n")
    assert simulate("--operator", str(from_store(tmp_path)))[0] == 0


def test_a_library_caller_reading_a_store_must_say_who_reads(tmp_path: Path) -> None:
    from core.aggregates.context import Actor
    from core.errors import TenantNotVisibleError
    from simulator.run import run_scenario
    from simulator.scenario import ScenarioError

    scenario = load_scenario(from_store(tmp_path))
    with pytest.raises(ScenarioError, match="reading a tenant from a store needs who reads it"):
        run_scenario(scenario, base=tmp_path)
    with pytest.raises(TenantNotVisibleError):
        run_scenario(scenario, base=tmp_path, reader=Actor(principal="eve@elsewhere.example"))
    assert run_scenario(scenario, base=tmp_path, reader=Actor(principal=ANNA)).passed
