"""`callroute simulate` over many runs: ``--replications N``, ``simulate compare A B`` and ``--replay``.

adapters/cli/simulate.py (the group and the single run) imports this module; its helpers are looked up there when
called (``from adapters.cli import simulate as single``), so either module imports first and a test's patch of
``simulate._stderr_is_terminal`` holds here too.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import msgspec

from adapters.cli.common import Env, pass_env
from adapters.cli.errors import Failure, schema_text
from adapters.cli.output import echo_warnings
from core.errors import DomainError, StoreIntegrityError
from simulator.scenario import Scenario, ScenarioError, load_scenario

if TYPE_CHECKING:
    from simulator.run import RunResult

RATES = ("probability_of_waiting", "abandon_rate", "occupancy")
"""Figures that are shares (shown as percentages), besides the service levels."""


def replayed(scenario: Scenario, path: Path) -> Scenario:
    """``scenario`` with its arrivals replaced by the calls of the history at ``path`` (``--replay``)."""
    from simulator.replay import replay_scenario

    try:
        return replay_scenario(scenario, path)
    except ScenarioError as exc:
        raise Failure(schema_text(str(exc))) from None


def _is_rate(name: str) -> bool:
    """A share, whether the figure of the run or a queue's (``queue.support.abandon_rate``)."""
    last = name.rsplit(".", 1)[-1]
    return last in RATES or last.startswith("service_level_")


def figure_text(name: str, value: float | None) -> str:
    """A figure as a person reads it: shares as percentages, waits in seconds, counts as counts."""
    if value is None:
        return "–"
    if _is_rate(name):
        return f"{value:.2%}"
    if name.endswith("_seconds") or name.rsplit(".", 1)[-1].startswith("wait_"):
        return f"{value:,.2f} s"
    return f"{value:,.2f}" if value != int(value) else f"{int(value):,}"


def difference_text(name: str, value: float | None) -> str:
    """A difference of a figure: shares in percentage points."""
    if value is None:
        return "–"
    if _is_rate(name):
        return f"{value * 100:+.2f} pp"
    text = figure_text(name, abs(value))
    return ("-" if value < 0 else "+") + text


def _headline_figures(names: Iterator[str] | list[str]) -> list[str]:
    """The scalar figures (not the breakdowns per number, queue and group, which are in the JSON)."""
    return [name for name in names if "." not in name]


def _queue_figures(names: list[str]) -> dict[str, list[str]]:
    """Each queue's wait figures (``queue.support.asa_seconds`` …) by queue, when there are several queues (with one
    they are the JSON's only)."""
    from simulator.replications import QUEUE_WAIT_FIGURES

    queues: dict[str, list[str]] = {}
    for name in names:
        kind, _, rest = name.partition(".")
        queue, _, figure = rest.rpartition(".")
        if kind == "queue" and (figure in QUEUE_WAIT_FIGURES or figure.startswith("service_level_")):
            queues.setdefault(queue, []).append(name)
    return queues if len(queues) > 1 else {}


class _ReplicationDisplay:
    """Progress on stderr: a bar on a terminal, else one line per finished replication."""

    def __init__(self, total: int, bar: bool, console: Any = None) -> None:
        self.total = total
        self.bar = bar
        self.console = console
        self.done = 0
        self.progress: Any = None

    def __enter__(self) -> _ReplicationDisplay:
        if self.bar:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            console = self.console if self.console is not None else Console(file=sys.stderr, force_terminal=True)
            self.progress = Progress(TextColumn("replications"), BarColumn(bar_width=20), MofNCompleteColumn(),
                                     TimeElapsedColumn(), TextColumn("{task.fields[status]}"), console=console,
                                     redirect_stdout=False, redirect_stderr=False)
            self.progress.__enter__()
            self.task = self.progress.add_task("replications", total=self.total, status="")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.__exit__(*exc)

    def finished(self, what: str, seed: int, result: RunResult) -> None:
        self.done += 1
        k = result.kpis
        from adapters.cli import simulate as single  # it imports this module

        levels = ", ".join(f"{share:.1%} within {single._duration(key)}" for key, share in k.service_level.items())
        status = f"{what} (seed {seed}): {k.offered:,} calls, service level {levels}, ASA (answered calls) {k.asa_seconds:.1f} s"
        if self.progress is not None:
            self.progress.update(self.task, completed=self.done, status=status)
        else:
            click.echo(f"{self.done}/{self.total} {status}", err=True)


def replication_lines(rep: Any, label: str) -> list[str]:
    """The text report of replications: seeds, then each figure's mean and 95 % confidence interval, then assertions."""
    lines = [f"{rep.replications} replications of {label}, seeds derived from seed {rep.seed}: "
             + ", ".join(str(s) for s in rep.seeds),
             f"  {'figure':<28} {'mean':>14}   95 % confidence interval"]
    for name in _headline_figures(list(rep.figures)):
        s = rep.figures[name]
        interval = f"{figure_text(name, s.low)} to {figure_text(name, s.high)}" if s.low is not None else "– (one replication)"
        lines.append(f"  {name:<28} {figure_text(name, s.mean):>14}   {interval}")
    for queue, names in _queue_figures(list(rep.figures)).items():
        lines.append(f"  queue {queue} (waits from joining it; shares of the calls offered to it)")
        for name in names:
            s = rep.figures[name]
            interval = (f"{figure_text(name, s.low)} to {figure_text(name, s.high)}" if s.low is not None
                        else "– (fewer than two replications with a value)")
            lines.append(f"    {name.rsplit('.', 1)[1]:<26} {figure_text(name, s.mean):>14}   {interval}")
    lines.append("  (Student t intervals over the replications; per-replication values, and per number, queue and group: --json)")
    for check in rep.assertions:
        lines.append(f"  {'PASS' if check.passed else 'FAIL'} {check.assertion}  ({check.detail})")
    return lines


def comparison_lines(comparison: Any, a_label: str, b_label: str) -> list[str]:
    """The text report of a comparison: each figure in A and B and the difference B - A with its 95 % interval."""
    lines = [f"A {a_label}, B {b_label}: {comparison.replications} replications each on common seeds derived from seed "
             f"{comparison.seed}: " + ", ".join(str(s) for s in comparison.seeds),
             f"  {'figure':<28} {'A':>14} {'B':>14} {'B - A':>14}   95 % confidence interval of B - A"]
    for name in _headline_figures(list(comparison.figures)):
        d = comparison.figures[name]
        diff = d.difference
        interval = (f"{difference_text(name, diff.low)} to {difference_text(name, diff.high)}" if diff.low is not None
                    else "– (one replication)")
        mark = "  differs" if d.differs else ""
        lines.append(f"  {name:<28} {figure_text(name, d.a.mean):>14} {figure_text(name, d.b.mean):>14} "
                     f"{difference_text(name, diff.mean):>14}   {interval}{mark}")
    for queue, names in _queue_figures(list(comparison.figures)).items():
        lines.append(f"  queue {queue} (waits from joining it; shares of the calls offered to it)")
        for name in names:
            d = comparison.figures[name]
            diff = d.difference
            interval = (f"{difference_text(name, diff.low)} to {difference_text(name, diff.high)}" if diff.low is not None
                        else "– (fewer than two replications with a value in both)")
            mark = "  differs" if d.differs else ""
            lines.append(f"    {name.rsplit('.', 1)[1]:<26} {figure_text(name, d.a.mean):>14} {figure_text(name, d.b.mean):>14} "
                         f"{difference_text(name, diff.mean):>14}   {interval}{mark}")
    lines.append("  (paired: replication i of A and B share seed i, so the same calls arrive; 'differs': the interval "
                 "leaves out 0; per-replication values: --json)")
    return lines


def _many(env: Env, scenario_file: Path, scenario: Scenario, work: Any) -> Any:
    """Run ``work()``; the errors a single run gives, given the same way (a scenario, a store the actor may not read)."""
    from adapters.cli import simulate as single  # it imports this module
    from simulator.dist import ClusterError

    try:
        return work()
    except ScenarioError as exc:
        raise Failure(schema_text(str(exc))) from None
    except (DomainError, StoreIntegrityError) as exc:
        raise single._store_refusal(scenario_file, scenario, exc, env.actor) from None
    except ClusterError as exc:
        raise Failure(str(exc)) from None


def run_replications(env: Env, scenario_file: Path, scenario: Scenario, count: int, *, seed: int | None, workers: int,
                     cluster: str | None, trace: Path | None, calls: Path | None, report: Path | None, junit: Path | None,
                     as_json: bool) -> None:
    """``simulate SCENARIO --replications N``: the summary on stdout (text or JSON), progress on stderr."""
    from adapters.cli import simulate as single  # it imports this module
    from simulator.replications import replicate

    for option, given in (("--trace", trace), ("--calls", calls)):
        if given is not None:
            raise Failure(f"{option} writes one run: leave out --replications (run one seed with --seed)")
    if report is not None:
        single.require_report_extra()
    with _ReplicationDisplay(count, single._stderr_is_terminal() and not as_json) as display:
        rep, results = _many(env, scenario_file, scenario, lambda: replicate(
            scenario, scenario_file.parent, count, seed=seed, workers=workers, cluster=cluster, reader=env.actor,
            progress=lambda index, run_seed, result: display.finished(f"replication {index + 1}", run_seed, result)))
    if report is not None:
        from simulator.report import write_replications_report

        write_replications_report(rep, results, scenario, report, base=scenario_file.parent)
    if junit is not None:
        from types import SimpleNamespace

        from simulator.run import AssertionResult

        checks = tuple(AssertionResult(a.assertion, a.passed, a.detail) for a in rep.assertions)
        junit.write_bytes(single.junit_xml(SimpleNamespace(assertions=checks), scenario_file.stem))  # type: ignore[arg-type]
    echo_warnings(tuple(rep.warnings))
    if as_json:
        click.echo(msgspec.json.format(msgspec.json.encode(rep), indent=2))
    else:
        click.echo("\n".join(replication_lines(rep, scenario_file.name) + single.written_lines(report=report, junit=junit)))
    failed = [a for a in rep.assertions if not a.passed]
    if failed:
        click.echo(f"{len(failed)} assertion(s) failed: " + "; ".join(a.assertion for a in failed), err=True)
        sys.exit(1)


@click.command("compare")
@click.argument("a_file", metavar="A", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("b_file", metavar="B", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--replications", type=click.IntRange(1, 100_000), default=10, show_default=True,
              help="Replications of each scenario; replication i of A and of B share a seed.")
@click.option("--seed", type=int, help="The seed the replications' seeds are derived from (default: A's seed).")
@click.option("--workers", type=click.IntRange(1, 1024), default=1, show_default=True,
              help="Processes that run the replications (the figures are the same for any number).")
@click.option("--cluster", metavar="tcp://HOST:PORT",
              help="Run the replications on the Dask cluster whose scheduler is there (needs the dist extra).")
@click.option("--replay", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Replay the calls of a recorded history through both instead of their own arrivals.")
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON, with every replication's values.")
@pass_env
def compare_command(env: Env, a_file: Path, b_file: Path, replications: int, seed: int | None, workers: int, cluster: str | None,
                    replay: Path | None, as_json: bool) -> None:
    """Compare two scenarios: each figure's difference B - A with a paired 95 % confidence interval.

    Both run on the same seeds, and each random draw has a stream of its own purpose, so the same calls arrive at the
    same instants in both (when their arrivals are the same): the difference is what the configurations make of them.
    """
    from adapters.cli import simulate as single  # it imports this module
    from simulator.compare import compare

    scenarios = []
    for path in (a_file, b_file):
        try:
            scenario = load_scenario(path)
        except ScenarioError as exc:
            raise Failure(schema_text(str(exc))) from None
        scenarios.append(replayed(scenario, replay) if replay is not None else scenario)
    a, b = scenarios
    if a.arrivals != b.arrivals and replay is None:
        click.echo("callroute: warning: A and B have different arrivals: their calls are not the same, and the "
                   "interval is wider than it would be", err=True)
    with _ReplicationDisplay(2 * replications, single._stderr_is_terminal() and not as_json) as display:
        comparison, _, _ = _many(env, a_file, a, lambda: compare(
            a, a_file.parent, b, b_file.parent, replications, seed=seed, workers=workers, cluster=cluster, reader=env.actor,
            progress=lambda side, index, run_seed, result: display.finished(f"{side.upper()} {index + 1}", run_seed, result)))
    echo_warnings(tuple(comparison.warnings))
    if as_json:
        click.echo(msgspec.json.format(msgspec.json.encode(comparison), indent=2))
    else:
        click.echo("\n".join(comparison_lines(comparison, a_file.name, b_file.name)))
