"""Comparing two scenarios (two configurations of a tenant, or one with a change at an instant) with common random numbers.

Replication ``i`` of both runs with the same seed. Every random draw comes from a stream of its own purpose
(``arrivals:0``, ``callers:0``, ``patience``, ``talk_time:2001`` …; ``simulator.streams``), so the two runs get the
same calls at the same instants from the same callers with the same patience, as long as their arrivals are the
same: what differs is what the configuration does with them. Each figure's difference B - A is taken within each
replication (in the replications where both have it: a queue's ASA needs a call answered there), and its mean gets a
paired Student t 95 % confidence interval: much narrower than the two runs' own
intervals, since the calls' own randomness cancels out. An interval that leaves out 0 says the change makes that
figure differ, and by how much.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import msgspec

from core.aggregates.context import Actor
from simulator.replications import (
    INTERVAL,
    Summary,
    decode_result,
    execute,
    figure_table,
    make_tasks,
    missing_value,
    preflight,
    replication_seeds,
    summarise,
)
from simulator.run import RunResult
from simulator.scenario import Scenario


class Difference(msgspec.Struct, frozen=True):
    """One figure in both scenarios and their paired difference (B - A)."""

    a: Summary
    b: Summary
    difference: Summary
    differs: bool
    """Whether the difference's 95 % confidence interval leaves out 0 (with one replication: whether it is not 0)."""


class Comparison(msgspec.Struct, frozen=True):
    """What ``simulate compare A B`` reports."""

    seed: int
    replications: int
    seeds: list[int]
    interval: str
    figures: dict[str, Difference]
    warnings: list[str] = []


Progress = Callable[[str, int, int, RunResult], None]
"""Told of each finished run: ``"a"`` or ``"b"``, the replication's index, its seed, its result."""


def compare(a: Scenario, a_base: Path, b: Scenario, b_base: Path, count: int, *, seed: int | None = None, workers: int = 1,
            cluster: str | None = None, reader: Actor | None = None,
            progress: Progress | None = None) -> tuple[Comparison, list[RunResult], list[RunResult]]:
    """Run ``count`` replications of ``a`` and of ``b`` on the same seeds (derived from ``a``'s, or ``seed``)."""
    base_seed = a.seed if seed is None else seed
    seeds = replication_seeds(base_seed, count)
    preflight(a, a_base, reader)
    preflight(b, b_base, reader)
    tasks = [*make_tasks(a, a_base, seeds, reader), *make_tasks(b, b_base, seeds, reader)]

    def told(index: int, data: bytes) -> None:
        if progress is not None:
            side, position = ("a", index) if index < count else ("b", index - count)
            progress(side, position, seeds[position], decode_result(data))

    results = [decode_result(data) for data in execute(tasks, workers=workers, cluster=cluster, progress=told)]
    a_runs, b_runs = results[:count], results[count:]
    return paired(base_seed, seeds, a_runs, b_runs), a_runs, b_runs


def paired(base_seed: int, seeds: list[int], a_runs: list[RunResult], b_runs: list[RunResult]) -> Comparison:
    """Each figure of both, and its difference replication by replication."""
    a_table, b_table = figure_table(a_runs), figure_table(b_runs)
    names = dict.fromkeys([*a_table, *b_table])
    figures: dict[str, Difference] = {}
    for name in names:
        missing = [missing_value(name)] * len(a_runs)
        a_values, b_values = a_table.get(name, missing), b_table.get(name, missing)
        # A figure one side has nothing to average for in a replication (``None``) has no difference there.
        difference = summarise([None if x is None or y is None else y - x for x, y in zip(a_values, b_values, strict=True)])
        if difference.mean is None:
            differs = False
        elif difference.low is None:
            differs = difference.mean != 0
        else:
            differs = difference.low > 0 or difference.high is not None and difference.high < 0
        figures[name] = Difference(summarise(a_values), summarise(b_values), difference, differs)
    warnings = list(dict.fromkeys(w for r in (*a_runs, *b_runs) for w in r.warnings))
    return Comparison(seed=base_seed, replications=len(a_runs), seeds=seeds, interval=f"paired differences B - A; {INTERVAL}",
                      figures=figures, warnings=warnings)

