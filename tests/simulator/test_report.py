"""The HTML report: one self-contained file with the run's figures, assertions and five embedded PNG plots."""

from __future__ import annotations

import base64
import html
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec

from simulator.report import write_report
from simulator.run import RunResult, run_scenario
from simulator.scenario import Scenario

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
NUMBER = "+46812345600"


def tenant_commands(agents: list[str]) -> list[dict[str, Any]]:
    commands: list[dict[str, Any]] = [
        {"command": "create_tenant", "tenant": "helpdesk", "name": "Help desk", "time_zone": "Europe/Stockholm",
         "plan": "unlimited"},
    ]
    commands += [{"command": "add_user", "tenant": "helpdesk", "extension": ext, "name": f"Agent {ext}"} for ext in agents]
    commands.append({"command": "save_queue", "tenant": "helpdesk", "queue": "help",
                     "spec": {"name": "Help", "agents": agents, "strategy": "longest_idle", "agent_ring_seconds": 30,
                              "wrap_up_seconds": 0, "max_wait_seconds": 3600}})
    commands.append({"command": "route_number", "tenant": "helpdesk", "number": NUMBER,
                     "entry": {"kind": "queue", "queue": "help"}})
    return commands


def small_scenario(agents: int = 4, calls: int = 400, rate_per_hour: float = 90) -> Scenario:
    """An overloaded little queue (4.5 Erlang on 4 agents) so that some callers wait and some give up."""
    extensions = [str(2000 + i) for i in range(agents)]
    return msgspec.convert({
        "tenant": {"slug": "helpdesk", "commands": tenant_commands(extensions)},
        "seed": 11,
        "max_calls": calls,
        "patience": {"dist": "exponential", "mean": 90},
        "agent_groups": [{"first": 2000, "count": agents, "answer_delay": {"dist": "fixed", "value": 0},
                          "talk_time": {"dist": "exponential", "mean": 180}}],
        "arrivals": [{"kind": "poisson", "to": NUMBER, "rate_per_hour": rate_per_hour}],
        "service_level_seconds": [20, 60],
        "assertions": [f"offered == {calls}", "abandon_rate < 0.0001"],
    }, type=Scenario)


def run(scenario: Scenario) -> RunResult:
    return run_scenario(scenario)


def figures(document: str) -> dict[str, str]:
    """First two cells of every table row: the key figures by label (and agents by extension)."""
    return {html.unescape(label): html.unescape(value)
            for label, value in re.findall(r'<tr[^>]*><td>([^<]*)</td><td class="n">([^<]*)</td>', document)}


def images(document: str) -> list[bytes]:
    return [base64.b64decode(data, validate=True) for data in re.findall(r'src="data:image/png;base64,([^"]+)"', document)]


def test_report_holds_the_figures_assertions_and_five_png_plots(tmp_path: Path) -> None:
    scenario = small_scenario()
    result = run(scenario)
    k = result.kpis
    assert k.abandoned > 0 and k.answered > 0  # the scenario exercises both

    path = tmp_path / "report.html"
    write_report(result, scenario, path)
    document = path.read_text(encoding="utf-8")

    assert document.startswith("<!DOCTYPE html>")
    assert "<title>Simulation report: helpdesk, seed 11</title>" in document
    shown = figures(document)
    assert shown["Offered"] == f"{k.offered:,}" == "400"
    assert shown["Answered"] == f"{k.answered:,}"
    assert shown["Abandoned"] == f"{k.abandoned:,}"
    assert shown["in a queue"] == f"{k.abandoned_queue:,}"
    assert shown["Voicemail"] == "0"
    assert shown["Found no free agent on arrival"] == f"{k.waited:,}"
    assert shown["Average speed of answer (ASA), answered calls"] == f"{k.asa_seconds:,.1f} s"
    assert shown["Mean wait, all calls"] == f"{k.mean_wait_seconds:,.1f} s"
    assert shown["Wait, median (p50)"] == f"{k.wait_p50:,.1f} s"
    assert shown["Wait, p90"] == f"{k.wait_p90:,.1f} s"
    assert shown["Wait, p99"] == f"{k.wait_p99:,.1f} s"
    assert shown["Wait, longest"] == f"{k.wait_max:,.1f} s"
    assert shown["Probability of waiting"] == f"{k.probability_of_waiting:.1%}"
    assert shown["Abandon rate"] == f"{k.abandon_rate:.1%}"
    assert shown["Service level (20s)"] == f"{k.service_level['20s']:.1%}"
    assert shown["Service level (60s)"] == f"{k.service_level['60s']:.1%}"
    for extension, agent in k.agents.items():
        assert shown[extension] == f"{agent.answered:,}"
        assert f"{agent.occupancy:.1%}" in document

    # Assertions with their verdicts; text escaped, never raw.
    assert [a.passed for a in result.assertions] == [True, False]
    assert '<span class="pass">PASS</span></td><td><code>offered == 400</code>' in document
    assert '<span class="fail">FAIL</span></td><td><code>abandon_rate &lt; 0.0001</code>' in document
    assert f"<td>{html.escape(result.assertions[1].detail)}</td>" in document
    assert "abandon_rate < 0.0001" not in document
    assert "1 of 2 assertions failed" in document

    # Per-number and per-queue breakdowns.
    assert f"<td>{html.escape(NUMBER)}</td>" in document
    assert "<td>help</td>" in document

    pngs = images(document)
    assert len(pngs) == 5
    assert re.findall(r'<figure id="plot-([a-z-]+)">', document) == ["calls", "mean-wait", "waits", "outcomes", "occupancy"]
    for png in pngs:
        assert png.startswith(PNG_SIGNATURE)
        assert png[12:16] == b"IHDR"
        assert b"Software" not in png and b"Matplotlib" not in png

    # Self-contained: nothing fetched from elsewhere.
    assert not re.search(r'(src|href)="(?!data:)', document)


def test_the_same_result_gives_the_same_bytes(tmp_path: Path) -> None:
    scenario = small_scenario(calls=150)
    result = run(scenario)
    first, second = tmp_path / "first.html", tmp_path / "second.html"
    write_report(result, scenario, first)
    write_report(result, scenario, second)
    assert first.read_bytes() == second.read_bytes()
    write_report(run(scenario), scenario, second)  # and a second run of the same seed
    assert first.read_bytes() == second.read_bytes()


def test_many_agents_fold_the_agent_table_and_still_get_five_plots(tmp_path: Path) -> None:
    scenario = small_scenario(agents=70, calls=300, rate_per_hour=1200)
    result = run(scenario)
    path = tmp_path / "report.html"
    write_report(result, scenario, path)
    document = path.read_text(encoding="utf-8")
    assert len(images(document)) == 5
    assert "<details><summary>70 rows</summary>" in document
    assert figures(document)["2069"] == f"{result.kpis.agents['2069'].answered:,}"


def test_importing_the_report_module_does_not_import_matplotlib() -> None:
    """matplotlib is the optional `report` extra: it is imported when a report is drawn, not when the module loads."""
    probe = "import sys, simulator.report; print(sorted(m for m in sys.modules if m.split('.')[0] == 'matplotlib'))"
    done = subprocess.run([sys.executable, "-c", probe], cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"
