"""Independent replications of a scenario: seeds derived from its seed, run in processes or on a Dask cluster, and
each figure summarised as a mean with a 95 % confidence interval.

A replication is a task: the scenario encoded as JSON, the files it refers to (``tenant.commands_files``, the store
of ``tenant.store``) as bytes, a seed and who runs it. ``run_task`` runs one (a fresh ``trio.run`` past its first batch) wherever it is
called (this process, a worker process, a Dask worker) and returns the ``RunResult`` encoded as JSON: the same task
gives the same bytes anywhere, so the summary does not depend on how many workers ran it, nor where.

Confidence intervals are Student t intervals of the mean over the replications (each replication is one
independent observation of each figure): ``mean ± t(0.975, n - 1) · s / √n``. A figure a replication has nothing to
average for (a queue's ASA when nobody answered there, a queue's rates when no call was offered to it: ``None``) is
left out of that figure's mean and interval, which are then over the ``n`` replications that have it (conditional on
it being defined; ``null`` when none has it, no interval with fewer than two); its ``values`` keep one entry per
replication, ``null`` where it had none. The t quantile is computed here (the
regularised incomplete beta function, to double precision), so no statistics package is needed and the numbers are
the same on every machine; a test checks it against textbook values and against scipy where scipy is installed.
"""

from __future__ import annotations

import hashlib
import math
import sqlite3
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import msgspec

from adapters.inputs import read_input
from core.aggregates.context import Actor
from simulator.kpis import ALIASES, ANSWERED_BY, Breakdown, Kpis, QueueFigures
from simulator.run import RunResult, run_scenario
from simulator.scenario import FIGURE_ASSERTION, Scenario, StoreRef

CONFIDENCE = 0.95
INTERVAL = "95 % confidence interval of the mean: Student t with n - 1 degrees of freedom"
Progress = Callable[[int, int, RunResult], None]
"""Told of each finished replication: its index (from 0), its seed, its result; in the order they finish."""


# -- seeds ----------------------------------------------------------------------------------------------------------


def replication_seeds(seed: int, count: int) -> list[int]:
    """``count`` seeds derived from ``seed``: SHA-256 of the seed and the replication's number, 48 bits each, all distinct."""
    seeds: list[int] = []
    index = 0
    while len(seeds) < count:
        digest = hashlib.sha256(f"{seed}\x00replication:{index}".encode()).digest()
        candidate = int.from_bytes(digest[:6], "big")
        if candidate not in seeds:
            seeds.append(candidate)
        index += 1
    return seeds


# -- Student t ------------------------------------------------------------------------------------------------------


def _continued_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 1000):
        m2 = 2 * m
        for numerator in (m * (b - m) * x / ((a - 1.0 + m2) * (a + m2)), -(a + m) * (a + b + m) * x / ((a + m2) * (a + 1.0 + m2))):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-16:
            break
    return h


def incomplete_beta(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _continued_fraction(a, b, x) / a
    return 1.0 - front * _continued_fraction(b, a, 1.0 - x) / b


def student_t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with ``df`` degrees of freedom."""
    tail = 0.5 * incomplete_beta(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t > 0 else tail


def student_t_quantile(p: float, df: float) -> float:
    """The ``p`` quantile of Student's t with ``df`` degrees of freedom (``0.5 < p < 1``), by bisection to the last bit."""
    if not 0.5 < p < 1.0 or df <= 0:
        raise ValueError(f"p must be in (0.5, 1) and df above 0, not p={p}, df={df}")
    low, high = 0.0, 1.0
    while student_t_cdf(high, df) < p:
        low, high = high, high * 2.0
    for _ in range(200):
        middle = (low + high) / 2.0
        if middle in (low, high):
            break
        if student_t_cdf(middle, df) < p:
            low = middle
        else:
            high = middle
    return high


class Summary(msgspec.Struct, frozen=True):
    """One figure over the replications: mean, the ends of its 95 % confidence interval, standard deviation, values.

    ``values`` has one entry per replication, ``None`` where that replication had nothing to average (a queue's ASA
    when nobody answered there); the rest are over the other values. With fewer than two of those there is no interval
    (``low``, ``high`` and ``sd`` are null), with none no mean either."""

    mean: float | None
    low: float | None
    high: float | None
    sd: float | None
    values: list[float | None]


def summarise(values: Sequence[float | None]) -> Summary:
    """The mean of ``values`` and its Student t 95 % confidence interval, over the values that are not ``None``."""
    present = [v for v in values if v is not None]
    n = len(present)
    if n == 0:
        return Summary(None, None, None, None, list(values))
    mean = math.fsum(present) / n
    if n < 2:
        return Summary(mean, None, None, None, list(values))
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in present) / (n - 1))
    half = student_t_quantile(1 - (1 - CONFIDENCE) / 2, n - 1) * sd / math.sqrt(n)
    return Summary(mean, mean - half, mean + half, sd, list(values))


# -- figures of a run -----------------------------------------------------------------------------------------------

BREAKDOWN_FIELDS = tuple(f.name for f in msgspec.structs.fields(Breakdown))
QUEUE_WAIT_FIGURES = ("asa_seconds", "mean_wait_seconds", "probability_of_waiting", "abandon_rate", "wait_max")
"""A queue's wait figures (``QueueFigures``) by name, before its service levels (``service_level_20s`` …)."""
_COUNTS = frozenset((*BREAKDOWN_FIELDS, "waited"))


def queue_wait_figures(q: QueueFigures) -> dict[str, float | None]:
    """One queue's wait figures by name: ``QUEUE_WAIT_FIGURES``, then ``service_level_20s`` …, then ``waited``."""
    out: dict[str, float | None] = {name: getattr(q, name) for name in QUEUE_WAIT_FIGURES}
    out.update({f"service_level_{key}": value for key, value in q.service_level.items()})
    out["waited"] = float(q.waited)
    return out


def figures(k: Kpis) -> dict[str, float | None]:
    """Every scalar figure of a run by name (``Kpis.flat`` without its aliases); who answered as
    ``answered_by.other_pbx``; each number's, queue's and group's counts as ``queue.support.answered``, and each
    queue's wait figures as ``queue.support.asa_seconds`` (``None`` where the queue had nothing to average)."""
    out: dict[str, float | None] = {name: value for name, value in k.flat().items() if name not in ALIASES}
    for key in ANSWERED_BY:
        out[f"answered_by.{key}"] = float(k.answered_by.get(key, 0))
    for kind, table in (("number", k.numbers), ("queue", k.queues), ("group", k.groups)):
        for key in sorted(table):
            for name in BREAKDOWN_FIELDS:
                out[f"{kind}.{key}.{name}"] = float(getattr(table[key], name))
            if kind == "queue" and key in k.queue_figures:
                for name, value in queue_wait_figures(k.queue_figures[key]).items():
                    out[f"queue.{key}.{name}"] = value
    return out


def missing_value(name: str) -> float | None:
    """A figure's value in a run that does not have it: 0 for a count (no call), ``None`` for a queue's wait figure
    (no call was offered to the queue: nothing to average)."""
    if name.startswith("queue.") and name.rsplit(".", 1)[1] not in _COUNTS:
        return None
    return 0.0


def figure_table(results: Iterable[RunResult]) -> dict[str, list[float | None]]:
    """Each figure's values, one per run in order; a breakdown a run does not have counts 0 there, and a queue's wait
    figures are ``None`` there."""
    runs = [figures(r.kpis) for r in results]
    names: dict[str, None] = {}
    for run in runs:
        names.update(dict.fromkeys(run))
    return {name: [run.get(name, missing_value(name)) for run in runs] for name in names}


# -- tasks ----------------------------------------------------------------------------------------------------------


class Task(msgspec.Struct, frozen=True):
    """One replication, self-contained: it runs the same anywhere."""

    scenario: bytes
    """The scenario as JSON, its files renamed to those of ``files``."""
    files: dict[str, bytes]
    """The files it refers to, by the names the scenario gives them now."""
    seed: int
    reader: Actor | None = None


def bundle(scenario: Scenario, base: Path) -> tuple[Scenario, dict[str, bytes]]:
    """``scenario`` with the files it refers to renamed (``commands_0.json``, ``store.sqlite``) and their contents.

    A store is copied with SQLite's backup (a consistent copy even while it is being written)."""
    files: dict[str, bytes] = {}
    tenant = scenario.tenant
    names = []
    for index, name in enumerate(tenant.commands_files):
        renamed = f"commands_{index}{Path(name).suffix}"
        files[renamed] = read_input(Path(base, name))
        names.append(renamed)
    store = tenant.store
    if store is not None:
        with tempfile.TemporaryDirectory() as folder:
            copy = Path(folder, "store.sqlite")
            source = sqlite3.connect(f"file:{Path(base, store.db)}?mode=ro", uri=True)
            target = sqlite3.connect(copy)
            try:
                source.backup(target)
            finally:
                target.close()
                source.close()
            files["store.sqlite"] = copy.read_bytes()
        store = StoreRef(db="store.sqlite", tenant=store.tenant)
    tenant = msgspec.structs.replace(tenant, commands_files=names, store=store)
    return msgspec.structs.replace(scenario, tenant=tenant), files


def make_tasks(scenario: Scenario, base: Path, seeds: Sequence[int], reader: Actor | None = None) -> list[bytes]:
    """One encoded task per seed."""
    bundled, files = bundle(scenario, base)
    encoded = msgspec.json.encode(bundled)
    return [msgspec.msgpack.encode(Task(encoded, files, seed, reader)) for seed in seeds]


def run_task(task: bytes) -> bytes:
    """Run one replication (in its own ``trio.run``, if it lasts more than a batch) and return its ``RunResult`` as JSON."""
    decoded = msgspec.msgpack.decode(task, type=Task)
    scenario = msgspec.json.decode(decoded.scenario, type=Scenario)
    with tempfile.TemporaryDirectory(prefix="callroute-replication-") as folder:
        for name, data in decoded.files.items():
            Path(folder, name).write_bytes(data)
        result = run_scenario(scenario, base=Path(folder), seed=decoded.seed, reader=decoded.reader)
    return msgspec.json.encode(result)


def decode_result(data: bytes) -> RunResult:
    return msgspec.json.decode(data, type=RunResult)


# -- running them ---------------------------------------------------------------------------------------------------


def preflight(scenario: Scenario, base: Path, reader: Actor | None = None) -> None:
    """Refuse, before any replication runs, what every replication would refuse: the configuration, the numbers called,
    a store the reader may not read (the same errors a single run gives)."""
    from simulator.config import LiveConfig
    from simulator.switch import Switch

    Switch(scenario, LiveConfig(scenario, base, reader=reader)).schedule_arrivals()


def execute(tasks: Sequence[bytes], *, workers: int = 1, cluster: str | None = None,
            progress: Callable[[int, bytes], None] | None = None) -> list[bytes]:
    """Each task's result, in the order of the tasks: here (one worker), in ``workers`` processes, or on the Dask
    cluster at ``cluster``. ``progress`` is told the index and result of each task as it finishes."""
    if cluster is not None:
        from simulator.dist import run_on_cluster

        return run_on_cluster(cluster, tasks, progress)
    results: list[bytes | None] = [None] * len(tasks)
    if workers <= 1 or len(tasks) <= 1:
        for index, task in enumerate(tasks):
            results[index] = data = run_task(task)
            if progress is not None:
                progress(index, data)
    else:
        import multiprocessing
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

        # spawn: a fresh interpreter per worker, whatever threads (a progress display) this process runs.
        with ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=multiprocessing.get_context("spawn")) as pool:
            pending = {pool.submit(run_task, task): index for index, task in enumerate(tasks)}
            try:
                while pending:
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for future in sorted(done, key=pending.__getitem__):
                        index = pending.pop(future)
                        results[index] = data = future.result()
                        if progress is not None:
                            progress(index, data)
            except BaseException:
                for future in pending:
                    future.cancel()
                raise
    return [r for r in results if r is not None]


class ReplicatedAssertion(msgspec.Struct, frozen=True):
    """A scenario assertion over the replications: a figure's against its mean, a call's in every replication."""

    assertion: str
    passed: bool
    detail: str
    held_in: int
    """Replications in which it held."""


class Replications(msgspec.Struct, frozen=True):
    """What ``simulate --replications`` reports: the seeds, each figure's summary, the assertions over the runs."""

    seed: int
    """The seed the replications' seeds were derived from."""
    replications: int
    seeds: list[int]
    interval: str
    figures: dict[str, Summary]
    assertions: list[ReplicatedAssertion]
    warnings: list[str] = []


def replicate(scenario: Scenario, base: Path, count: int, *, seed: int | None = None, workers: int = 1,
              cluster: str | None = None, reader: Actor | None = None,
              progress: Progress | None = None) -> tuple[Replications, list[RunResult]]:
    """Run ``count`` replications of ``scenario`` and summarise them; also return each one's result, in seed order."""
    base_seed = scenario.seed if seed is None else seed
    seeds = replication_seeds(base_seed, count)
    preflight(scenario, base, reader)
    tasks = make_tasks(scenario, base, seeds, reader)
    told = None if progress is None else (lambda index, data: progress(index, seeds[index], decode_result(data)))
    results = [decode_result(data) for data in execute(tasks, workers=workers, cluster=cluster, progress=told)]
    return summarise_runs(base_seed, seeds, results, scenario.assertions), results


def summarise_runs(base_seed: int, seeds: list[int], results: list[RunResult], assertions: Sequence[str]) -> Replications:
    table = figure_table(results)
    summaries = {name: summarise(values) for name, values in table.items()}
    checked = [_check_over(a, summaries, results) for a in assertions]
    warnings = list(dict.fromkeys(w for r in results for w in r.warnings))
    return Replications(seed=base_seed, replications=len(results), seeds=seeds, interval=INTERVAL, figures=summaries,
                        assertions=checked, warnings=warnings)


def _check_over(assertion: str, summaries: dict[str, Summary], results: list[RunResult]) -> ReplicatedAssertion:
    held = [next(a for a in r.assertions if a.assertion == assertion).passed for r in results]
    text = assertion.strip()
    m = FIGURE_ASSERTION.fullmatch(text)
    if m and ALIASES.get(m.group(1), m.group(1)) in summaries:
        summary = summaries[ALIASES.get(m.group(1), m.group(1))]
        value, op = float(m.group(3)), m.group(2)
        mean = math.nan if summary.mean is None else summary.mean  # the figures assertions name are never ``None``
        ok = {">=": mean >= value, "<=": mean <= value, "==": mean == value,
              "!=": mean != value, ">": mean > value, "<": mean < value}[op]
        interval = f", 95 % CI {summary.low:g} to {summary.high:g}" if summary.low is not None else ""
        return ReplicatedAssertion(assertion, ok, f"mean {m.group(1)} = {mean:g}{interval}; held in "
                                                  f"{sum(held)} of {len(held)} replications", sum(held))
    return ReplicatedAssertion(assertion, all(held), f"held in {sum(held)} of {len(held)} replications", sum(held))

