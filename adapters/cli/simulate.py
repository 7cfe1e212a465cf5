"""`callroute simulate`: run a scenario, print its figures, write its trace, report and JUnit file, check its assertions.

Importing this module stays light: matplotlib (the report), rich (the progress display) and the XML
writer (--junit) are imported only when a report is asked for, a terminal shows progress or a JUnit
file is written. Many runs (--replications, simulate compare, --replay) are in simulate_many.py.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import msgspec

from adapters.cli.common import Env, pass_env
from adapters.cli.ending import nothing_to_close
from adapters.cli.errors import BROKEN, Failure, exit_code, refusal_text, schema_text
from adapters.cli.output import echo_warnings
from adapters.cli.simulate_many import compare_command, replayed, run_replications
from core.errors import DomainError, StoreIntegrityError
from simulator.kpi_model import ANSWERED_BY, Kpis
from simulator.run import EngineChoice, RunResult, run_scenario
from simulator.scenario import Scenario, ScenarioError, load_scenario

if TYPE_CHECKING:
    from core.aggregates.context import Actor
    from simulator.switch import Switch

REPORT_EXTRA = "--report needs the report extra: pip install 'callroute[report]'"


ENGINES = {"general": "general (the event calendar)",
           "fast": "fast path (the FIFO recursion of one first-come-first-served queue; the same figures as the calendar)"}
"""How the summary names the engine that ran (``RunResult.engine``)."""


def summary_lines(result: RunResult) -> list[str]:
    """The figures a person looks at first."""
    k: Kpis = result.kpis
    hours = k.simulated_seconds / 3600
    levels = ", ".join(f"{share:.1%} within {_duration(key)}" for key, share in k.service_level.items())
    lines = [
        f"{k.offered} calls over {hours:.1f} simulated hours (seed {result.seed}, {k.events} events)",
        f"  engine: {ENGINES[result.engine]}",
        f"  answered {k.answered}, abandoned {k.abandoned} (ringing {k.abandoned_ringing}, IVR {k.abandoned_ivr}, "
        f"queue {k.abandoned_queue}), voicemail {k.voicemail}",
        f"  rejected {k.rejected}, busy {k.busy}, message {k.message}, unavailable {k.unavailable}, missed {k.missed}",
        f"  ASA (answered calls) {k.asa_seconds:.1f} s; mean wait, all calls {k.mean_wait_seconds:.1f} s; wait p50 "
        f"{k.wait_p50:.1f} s, p90 {k.wait_p90:.1f} s, p99 {k.wait_p99:.1f} s, max {k.wait_max:.1f} s",
        f"  probability of waiting (no free agent on arrival) {k.probability_of_waiting:.1%}; abandon rate {k.abandon_rate:.1%}",
        f"  service level (of all offered calls): {levels}",
    ]
    lines.append("  " + answered_by_text(k))
    if len(k.queue_figures) > 1:
        lines += [f"  {line}" for line in queue_lines(k)]
    if k.agents:
        occupancy = sum(a.busy_seconds for a in k.agents.values()) / max(1e-9, sum(a.logged_in_seconds for a in k.agents.values()))
        lines.append(f"  {len(k.agents)} agents, occupancy {occupancy:.1%}")
    if result.trace_sha256:
        lines.append(f"  trace sha256 {result.trace_sha256}")
    for check in result.assertions:
        lines.append(f"  {'PASS' if check.passed else 'FAIL'} {check.assertion}  ({check.detail})")
    return lines


ALWAYS_SHOWN = ("agent", "other_pbx")
"""Who answered, shown even when 0: agents here and members on other PBXs (the others when they answered a call)."""


def answered_by_text(k: Kpis) -> str:
    """``answered by agents here 930, members on other PBXs 12, outside numbers 3`` (voicemail is on its own line)."""
    shown = [f"{ANSWERED_BY[key].split(' (')[0]} {k.answered_by.get(key, 0)}" for key in ANSWERED_BY
             if key != "voicemail" and (key in ALWAYS_SHOWN or k.answered_by.get(key, 0))]
    return "answered by " + ", ".join(shown)


def _seconds_or_none(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} s"


def queue_lines(k: Kpis) -> list[str]:
    """One line per queue: its calls and waits, measured from when a call joined it."""
    lines = ["per queue (waits from joining the queue; shares of the calls offered to it):"]
    for queue, q in k.queue_figures.items():
        b = k.queues[queue]
        levels = ", ".join(f"{share:.1%} within {_duration(key)}" for key, share in q.service_level.items())
        lines.append(f"  {queue}: offered {b.offered}, answered {b.answered}, abandoned {b.abandoned} ({q.abandon_rate:.1%}); "
                     f"probability of waiting {q.probability_of_waiting:.1%}")
        lines.append(f"    ASA (answered calls) {_seconds_or_none(q.asa_seconds)}; mean wait, all calls "
                     f"{_seconds_or_none(q.mean_wait_seconds)}; max {q.wait_max:.1f} s; service level {levels}")
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
                   progress: bool, calls: Path | None = None, *, console: Any = None, reader: Actor | None = None,
                   engine: EngineChoice = "auto") -> RunResult:
    """Run with an optional progress display on stderr; write the trace, the calls and the report.

    ``progress`` should be true only when stderr is a terminal; ``console`` (a ``rich.console.Console``)
    replaces stderr for the display. Without matplotlib a report is refused before anything is written.
    ``reader``: who runs it, who must be allowed to read a tenant the scenario reads from a store.
    """
    if report is not None:
        require_report_extra()
    with _display(scenario, progress, console) as display:
        trace_file = trace.open("wb") if trace is not None else None
        calls_file = calls.open("wb") if calls is not None else None
        try:
            result = run_scenario(scenario, base=base, seed=seed, trace=trace_file, calls_out=calls_file,
                                  progress=display.tick if display is not None else None, reader=reader, engine=engine)
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
                write_report(result, scenario, report, base=base)
            else:
                with display.stage("writing report", report.name):
                    write_report(result, scenario, report, base=base)
    return result


def junit_xml(result: RunResult, suite: str) -> bytes:
    """The assertions as JUnit XML: one testsuite ``suite``, one testcase per assertion, a failure for each that failed."""
    import xml.etree.ElementTree as ET  # only for --junit

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


def _store_refusal(scenario_file: Path, scenario: Scenario, exc: Exception, actor: Actor) -> Failure:
    """The one line for a tenant read from the scenario's store that the actor may not read (or that does not exist,
    which reads the same to anyone but an operator), exit 3; or that is not as written, exit 1."""
    store = scenario.tenant.store
    path = Path(scenario_file.parent, store.db) if store is not None else scenario_file
    if isinstance(exc, StoreIntegrityError):
        return Failure(f"{path}: {exc} — run: callroute audit verify --db {path}", BROKEN)
    text = refusal_text(exc, {"tenant": ("tenant.store.tenant", None)}, actor)  # type: ignore[arg-type]
    return Failure(f"{scenario_file}: {text}", exit_code(exc))  # type: ignore[arg-type]


def _stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


@click.command("run")
@click.argument("scenario_file", metavar="SCENARIO", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--seed", type=int, help="Override the scenario's seed (with --replications: the seed theirs are derived from).")
@click.option("--replications", type=click.IntRange(1, 100_000),
              help="Run N independent replications and give each figure's mean with a 95 % confidence interval.")
@click.option("--workers", type=click.IntRange(1, 1024), default=1, show_default=True,
              help="Processes that run the replications (the figures are the same for any number).")
@click.option("--cluster", metavar="tcp://HOST:PORT",
              help="Run the replications on the Dask cluster whose scheduler is there (needs the dist extra).")
@click.option("--replay", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Replay the calls of a recorded history (simulate --calls lines, or history --json) instead of the "
                   "scenario's arrivals.")
@click.option("--trace", type=click.Path(dir_okay=False, path_type=Path), help="Write every state change as JSON Lines.")
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path),
              help="Write an HTML report with plots (needs the report extra: matplotlib).")
@click.option("--calls", "calls", type=click.Path(dir_okay=False, path_type=Path),
              help="Write one line per call, in the form that audit explain-call --calls checks.")
@click.option("--junit", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the assertions as JUnit XML (one testcase per assertion).")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.option("--engine", type=click.Choice(["auto", "general", "fast"]), default="auto", show_default=True,
              help="auto: the fast path when the scenario allows it (every call waits in one first-come-first-served "
                   "queue), else the event calendar; general: always the calendar; fast: the fast path or an error saying "
                   "why not. Both give the same figures.")
@pass_env
def run_command(env: Env, scenario_file: Path, seed: int | None, replications: int | None, workers: int, cluster: str | None,
                replay: Path | None, trace: Path | None, report: Path | None, calls: Path | None, junit: Path | None,
                as_json: bool, engine: EngineChoice) -> None:
    """Run a call simulation; exit 1 when an assertion fails.

    On a terminal, stderr shows the simulated time and calls per second while it runs. A scenario that reads its
    tenant from a store (tenant.store) needs an actor (--actor, --partner, --operator) who may read that tenant.
    """
    try:
        scenario = load_scenario(scenario_file)
    except ScenarioError as exc:
        raise Failure(schema_text(str(exc))) from None
    for option, path in (("--trace", trace), ("--report", report), ("--calls", calls), ("--junit", junit)):
        if path is not None and not path.resolve().parent.is_dir():
            raise Failure(f"{option}: the folder {path.resolve().parent} does not exist")
    if replay is not None:
        scenario = replayed(scenario, replay)
    if replications is not None or cluster is not None:
        run_replications(env, scenario_file, scenario, replications or 1, seed=seed, workers=workers, cluster=cluster,
                         trace=trace, calls=calls, report=report, junit=junit, as_json=as_json)
        return
    if scenario.tenant.store is None:
        nothing_to_close()  # an in-memory store; run_and_report closes the files it writes
    try:
        result = run_and_report(scenario, scenario_file.parent, seed, trace, report,
                                progress=_stderr_is_terminal() and not as_json, calls=calls, reader=env.actor, engine=engine)
    except (DomainError, StoreIntegrityError) as exc:
        raise _store_refusal(scenario_file, scenario, exc, env.actor) from None
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


class _SimulateGroup(click.Group):
    """``simulate SCENARIO …`` is ``simulate run SCENARIO …``; ``simulate compare A B …`` compares two scenarios."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ctx.help_option_names):
            args = ["run", *args]
        return super().parse_args(ctx, args)


simulate = _SimulateGroup("simulate", commands={"run": run_command, "compare": compare_command}, help="""Simulate calls.

    With a scenario file (simulate SCENARIO, the same as simulate run SCENARIO) it runs the scenario: one run, or with
    --replications N the mean of each figure with a 95 % confidence interval. simulate compare A B compares two scenarios.
    """)
