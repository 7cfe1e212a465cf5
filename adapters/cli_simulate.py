"""`callroute simulate`: run a scenario, print its figures, write its trace and report, check its assertions."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
import msgspec

from adapters.cli import Failure, cli
from simulator.kpis import Kpis
from simulator.run import RunResult, run_scenario
from simulator.scenario import Scenario, ScenarioError, load_scenario


def summary_lines(result: RunResult) -> list[str]:
    """The figures a person looks at first."""
    k: Kpis = result.kpis
    hours = k.simulated_seconds / 3600
    levels = ", ".join(f"{share:.1%} within {key}" for key, share in k.service_level.items())
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


def run_and_report(scenario: Scenario, base: Path, seed: int | None, trace: Path | None, report: Path | None,
                   progress: bool, calls: Path | None = None) -> RunResult:
    """Run with an optional progress bar; write the trace and the report."""
    bar: Any = None
    total = scenario.max_calls or int(scenario.duration_seconds or 0)

    def tick(switch: Any) -> None:
        done = switch.next_call_id - 1 if scenario.max_calls else int(switch.now)
        bar.update(max(0, done - bar.pos))

    trace_file = trace.open("wb") if trace is not None else None
    calls_file = calls.open("wb") if calls is not None else None
    try:
        if progress and total:
            label = "calls" if scenario.max_calls else "simulated seconds"
            with click.progressbar(length=total, label=f"simulating ({label})", file=sys.stderr) as bar:
                result = run_scenario(scenario, base=base, seed=seed, trace=trace_file, progress=tick, calls_out=calls_file)
                bar.update(total - bar.pos)
        else:
            result = run_scenario(scenario, base=base, seed=seed, trace=trace_file, calls_out=calls_file)
    except ScenarioError as exc:
        raise Failure(str(exc)) from None
    finally:
        for handle in (trace_file, calls_file):
            if handle is not None:
                handle.close()
    if report is not None:
        from simulator.report import write_report

        write_report(result, scenario, report)
    return result


@cli.command()
@click.argument("scenario_file", metavar="SCENARIO", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--seed", type=int, help="Override the scenario's seed.")
@click.option("--trace", type=click.Path(dir_okay=False, path_type=Path), help="Write every state change as JSON Lines.")
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path), help="Write an HTML report with plots.")
@click.option("--calls", "calls", type=click.Path(dir_okay=False, path_type=Path),
              help="Write one line per call in the format `audit explain-call --calls` checks.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def simulate(scenario_file: Path, seed: int | None, trace: Path | None, report: Path | None, calls: Path | None,
             as_json: bool) -> None:
    """Run a call simulation; exit 1 when an assertion fails."""
    try:
        scenario = load_scenario(scenario_file)
    except ScenarioError as exc:
        raise Failure(str(exc)) from None
    for option, path in (("--trace", trace), ("--report", report), ("--calls", calls)):
        if path is not None and not path.resolve().parent.is_dir():
            raise Failure(f"{option}: the folder {path.resolve().parent} does not exist")
    result = run_and_report(scenario, scenario_file.parent, seed, trace, report, progress=sys.stderr.isatty() and not as_json,
                            calls=calls)
    if as_json:
        click.echo(msgspec.json.format(msgspec.json.encode(result), indent=2))
    else:
        click.echo("\n".join(summary_lines(result)))
        if report is not None:
            click.echo(f"  report: {report}")
    failed = [a for a in result.assertions if not a.passed]
    if failed:
        click.echo(f"{len(failed)} assertion(s) failed: " + "; ".join(a.assertion for a in failed), err=True)
        sys.exit(1)
