"""`callroute simulate`: run a scenario, print its figures, write its trace, report and JUnit file, check its assertions.

Importing this module stays light: matplotlib (the report) and rich (the progress display) are
imported only when a report is asked for or a terminal shows progress.
"""

from __future__ import annotations

import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import msgspec

from adapters.cli.errors import Failure, schema_text
from adapters.cli.output import echo_warnings
from simulator.kpis import Kpis
from simulator.run import RunResult, run_scenario
from simulator.scenario import Scenario, ScenarioError, load_scenario

if TYPE_CHECKING:
    from simulator.switch import Switch

REPORT_EXTRA = "--report needs the report extra: pip install 'callroute[report]'"


def summary_lines(result: RunResult) -> list[str]:
    """The figures a person looks at first."""
    k: Kpis = result.kpis
    hours = k.simulated_seconds / 3600
    levels = ", ".join(f"{share:.1%} within {_duration(key)}" for key, share in k.service_level.items())
    lines = [
        f"{k.offered} calls over {hours:.1f} simulated hours (seed {result.seed}, {k.events} events)",
        f"  answered {k.answered}, abandoned {k.abandoned} (ringing {k.abandoned_ringing}, IVR {k.abandoned_ivr}, "
        f"queue {k.abandoned_queue}), voicemail {k.voicemail}",
        f"  rejected {k.rejected}, busy {k.busy}, message {k.message}, unavailable {k.unavailable}, missed {k.missed}",
        f"  ASA {k.asa_seconds:.1f} s; wait p50 {k.wait_p50:.1f} s, p90 {k.wait_p90:.1f} s, p99 {k.wait_p99:.1f} s, "
        f"max {k.wait_max:.1f} s; probability of waiting {k.probability_of_waiting:.1%}; abandon rate {k.abandon_rate:.1%}",
        f"  service level: {levels}",
    ]
    if k.agents:
        occupancy = sum(a.busy_seconds for a in k.agents.values()) / max(1e-9, sum(a.logged_in_seconds for a in k.agents.values()))
        lines.append(f"  {len(k.agents)} agents, occupancy {occupancy:.1%}")
    if result.trace_sha256:
        lines.append(f"  trace sha256 {result.trace_sha256}")
    for check in result.assertions:
        lines.append(f"  {'PASS' if check.passed else 'FAIL'} {check.assertion}  ({check.detail})")
    return lines


def _duration(key: str) -> str:
    """A service-level threshold key (``20s``) as the command line writes durations (``20 s``)."""
    number = key.removesuffix("s")
    return f"{number} s" if number.replace(".", "", 1).isdigit() else key


def written_lines(trace: Path | None = None, report: Path | None = None, calls: Path | None = None,
                  junit: Path | None = None) -> list[str]:
    """One line per file written (``  trace: PATH``), in the order trace, report, calls, junit."""
    named = (("trace", trace), ("report", report), ("calls", calls), ("junit", junit))
    return [f"  {name}: {path}" for name, path in named if path is not None]


def simulated_clock(seconds: float) -> str:
    """Virtual time elapsed, to the minute: ``0h 07m``, ``2h 14m``, ``3d 1h 05m``."""
    days, minutes = divmod(int(seconds // 60), 24 * 60)
    hours, minutes = divmod(minutes, 60)
    return f"{days}d {hours}h {minutes:02d}m" if days else f"{hours}h {minutes:02d}m"


def require_report_extra() -> None:
    """Refuse a report before anything runs or is written when matplotlib (the ``report`` extra) cannot be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise Failure(REPORT_EXTRA) from None


class _Display:
    """The progress lines on stderr: simulated time, calls so far and their wall rate, then the report being written.

    ``tick`` runs inside the simulation every few thousand events and only reads the switch,
    so the trace and the figures are the same with or without a display.
    """

    def __init__(self, progress: Any, scenario: Scenario) -> None:
        self.progress = progress
        self.max_calls = scenario.max_calls
        self.duration = scenario.duration_seconds
        self.started = time.monotonic()
        self.task = progress.add_task("simulating", total=self._total(), status=self._status(0.0, 0))

    def _total(self) -> float | None:
        # The run stops at max_calls when it is given (even with a duration), else at the duration;
        # with neither (explicit calls only) the bar pulses.
        if self.max_calls is not None:
            return float(self.max_calls)
        return self.duration

    def _status(self, simulated: float, calls: int) -> str:
        wall = time.monotonic() - self.started
        rate = calls / wall if wall > 0 else 0.0
        of = f" of {simulated_clock(self.duration)}" if self.duration is not None else ""
        return f"simulated {simulated_clock(simulated)}{of} · {calls:,} calls · {rate:,.0f} calls/s"

    def _done(self, simulated: float, calls: int) -> float:
        return float(calls) if self.max_calls is not None else simulated

    def tick(self, switch: Switch) -> None:
        calls = switch.next_call_id - 1
        self.progress.update(self.task, completed=self._done(switch.now, calls), status=self._status(switch.now, calls))

    def finished(self, result: RunResult) -> None:
        k = result.kpis
        status = self._status(k.simulated_seconds, k.offered)
        # A run can end before its limit (the calls ran out): the bar still ends full.
        self.progress.update(self.task, total=1, completed=1, status=status)

    @contextmanager
    def stage(self, description: str, detail: str) -> Iterator[None]:
        task = self.progress.add_task(description, total=None, status=detail)
        yield
        self.progress.update(task, total=1, completed=1)


@contextmanager
def _display(scenario: Scenario, show: bool, console: Any) -> Iterator[_Display | None]:
    if not show:
        yield None
        return
    # rich costs an import only when a terminal shows progress.
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn
    from rich.table import Column

    # The caller decided stderr is a terminal; forcing it keeps rich from second-guessing a wrapped stream.
    console = console if console is not None else Console(file=sys.stderr, force_terminal=True)
    # On a narrow terminal only the status (the last column) is cut short, never the stage or the percentage.
    progress = Progress(TextColumn("{task.description}", table_column=Column(width=14, no_wrap=True)),
                        BarColumn(bar_width=20), TaskProgressColumn(table_column=Column(width=4, no_wrap=True)),
                        TextColumn("{task.fields[status]}", table_column=Column(no_wrap=True, overflow="ellipsis")),
                        console=console, redirect_stdout=False, redirect_stderr=False)
    with progress:
        yield _Display(progress, scenario)


def run_and_report(scenario: Scenario, base: Path, seed: int | None, trace: Path | None, report: Path | None,
                   progress: bool, calls: Path | None = None, *, console: Any = None) -> RunResult:
    """Run with an optional progress display on stderr; write the trace, the calls and the report.

    ``progress`` should be true only when stderr is a terminal; ``console`` (a ``rich.console.Console``)
    replaces stderr for the display. Without matplotlib a report is refused before anything is written.
    """
    if report is not None:
        require_report_extra()
    with _display(scenario, progress, console) as display:
        trace_file = trace.open("wb") if trace is not None else None
        calls_file = calls.open("wb") if calls is not None else None
        try:
            result = run_scenario(scenario, base=base, seed=seed, trace=trace_file, calls_out=calls_file,
                                  progress=display.tick if display is not None else None)
        except ScenarioError as exc:
            raise Failure(schema_text(str(exc))) from None
        finally:
            for handle in (trace_file, calls_file):
                if handle is not None:
                    handle.close()
        if display is not None:
            display.finished(result)
        if report is not None:
            from simulator.report import write_report

            if display is None:
                write_report(result, scenario, report)
            else:
                with display.stage("writing report", report.name):
                    write_report(result, scenario, report)
    return result


def junit_xml(result: RunResult, suite: str) -> bytes:
    """The assertions as JUnit XML: one testsuite ``suite``, one testcase per assertion, a failure for each that failed."""
    failed = sum(not a.passed for a in result.assertions)
    counts = {"tests": str(len(result.assertions)), "failures": str(failed), "errors": "0", "skipped": "0"}
    root = ET.Element("testsuites", {"name": "callroute simulate", **counts})
    testsuite = ET.SubElement(root, "testsuite", {"name": suite, **counts})
    for check in result.assertions:
        testcase = ET.SubElement(testsuite, "testcase", {"classname": suite, "name": check.assertion})
        if not check.passed:
            if check.figure:
                message = f"{check.figure}: expected {check.expected}, actual {check.actual or check.detail}"
            else:
                message = check.detail
            failure = ET.SubElement(testcase, "failure", {"message": message, "type": "AssertionFailed"})
            failure.text = check.detail
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def _stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


@click.command("simulate")
@click.argument("scenario_file", metavar="SCENARIO", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--seed", type=int, help="Override the scenario's seed.")
@click.option("--trace", type=click.Path(dir_okay=False, path_type=Path), help="Write every state change as JSON Lines.")
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path),
              help="Write an HTML report with plots (needs the report extra: matplotlib).")
@click.option("--calls", "calls", type=click.Path(dir_okay=False, path_type=Path),
              help="Write one line per call, in the form that audit explain-call --calls checks.")
@click.option("--junit", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the assertions as JUnit XML (one testcase per assertion).")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def simulate(scenario_file: Path, seed: int | None, trace: Path | None, report: Path | None, calls: Path | None,
             junit: Path | None, as_json: bool) -> None:
    """Run a call simulation; exit 1 when an assertion fails.

    On a terminal, stderr shows the simulated time and calls per second while it runs.
    """
    try:
        scenario = load_scenario(scenario_file)
    except ScenarioError as exc:
        raise Failure(schema_text(str(exc))) from None
    for option, path in (("--trace", trace), ("--report", report), ("--calls", calls), ("--junit", junit)):
        if path is not None and not path.resolve().parent.is_dir():
            raise Failure(f"{option}: the folder {path.resolve().parent} does not exist")
    result = run_and_report(scenario, scenario_file.parent, seed, trace, report, progress=_stderr_is_terminal() and not as_json,
                            calls=calls)
    if junit is not None:
        junit.write_bytes(junit_xml(result, scenario_file.stem))
    echo_warnings(result.warnings)
    if as_json:
        click.echo(msgspec.json.format(msgspec.json.encode(result), indent=2))
    else:
        click.echo("\n".join(summary_lines(result) + written_lines(trace, report, calls, junit)))
    failed = [a for a in result.assertions if not a.passed]
    if failed:
        click.echo(f"{len(failed)} assertion(s) failed: " + "; ".join(a.assertion for a in failed), err=True)
        sys.exit(1)
