"""Simulated calls per second: callroute's simulator against an idiomatic SimPy model of the same call centre.

Run:  python benchmarks/bench_simulator.py [--rounds 3] [--calls 200000] [--large-calls 1000000] [--large-agents 500]
      python benchmarks/bench_simulator.py --memory [--memory-calls 10000000]    (resident memory over one long run)
      python benchmarks/bench_simulator.py --agents 50,500,2000                  (time per call as queues grow)
      (SimPy comes with the bench extra: pip install -e '.[bench]')

The model, M/M/c+M (Erlang A): c agents, Poisson arrivals at 18 calls/h per agent (90 % load of exponential talk
time with a 180 s mean), callers who hang up after an exponential patience with a 120 s mean, one FIFO queue
(longest idle agent first), answered at once, no wrap-up. In callroute: a tenant whose number enters a queue of the c
agents, built by the scenario's commands; in SimPy: ``simpy.Resource(capacity=c)``, one process per caller, patience
as ``yield request | env.timeout(patience)`` (the way SimPy's documentation writes a bank or a call centre).

Figures, all from this one run, each side measured the same way:

- start-up: whole new processes that simulate one call, against ``python -c pass`` and the SimPy script with one
  call (target: callroute at most 0.15 s); callroute's bytecode is compiled first, as a wheel's install does and as
  SimPy's was, so that neither side compiles source in a timed run (``byte_compile``);
- whole processes (what a user waits for: ``callroute simulate FILE`` against ``python simpy_model.py``), at 200,000
  calls with 50 agents and at 1,000,000 calls with 500 agents, the three alternating round after round, medians:
  the general engine (``--engine general``: the event calendar; target ≥ 2x SimPy) and the fast path (``--engine
  auto``, which takes it on its own for this model: the FIFO recursion; target ≥ 5x SimPy), with each process's CPU
  time beside its wall time (the machine is shared: CPU time is what each side spent);
- inside one process, the engines alone (the scenario built, then ``run_scenario``), against SimPy's model run in
  this process: what the whole-process figures are made of;
- the models' abandon rate, probability of waiting, mean waits and service level side by side with the exact Erlang A
  figures of the birth-death chain, as a check that all simulate the same system;
- last, one JSON line: ``{"benchmark": "simulator", "ratio": general engine / SimPy as whole processes at 200,000
  calls, "target": 2, ...}`` with every figure above.

``--memory``: 10,000,000 calls in one run of each engine (each in its own process), the resident set
(``/proc/self/statm``) sampled every million calls from the run's progress callback, and the peak RSS; JSON line
``{"benchmark": "simulator_memory", ...}``.

``--agents``: the general engine in this process at the same load per agent with queues of 50, 500 and 2,000 agents
(the schema's maximum): microseconds per call and the calendar's size, to show that the time per call grows no faster
than the calendar's logarithm; JSON line ``{"benchmark": "simulator_agents", ...}``.
"""

from __future__ import annotations

import argparse
import compileall
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import msgspec  # noqa: E402

AGENTS = 50
RATE_PER_AGENT = 18.0
"""Calls per hour per agent: 90 % load at a 180 s mean talk time."""
MEAN_TALK = 180.0
MEAN_PATIENCE = 120.0
SERVICE_LEVEL = 20.0
SEED = 7

SIMPY_MODEL = '''
import json, random, sys, time

import simpy


def run_simpy(calls, agents, rate_per_hour, mean_talk, mean_patience, service_level, seed):
    """The M/M/c+M call centre in SimPy: one process per caller, a Resource of ``agents``."""
    env = simpy.Environment()
    desk = simpy.Resource(env, capacity=agents)
    arrivals, talk, patience = random.Random(seed), random.Random(seed + 1), random.Random(seed + 2)
    stats = {"answered": 0, "abandoned": 0, "waited": 0, "answer_wait": 0.0, "abandon_wait": 0.0, "within": 0}

    def caller(env):
        arrived = env.now
        gives_up = patience.expovariate(1 / mean_patience)
        with desk.request() as request:
            if not request.triggered:
                stats["waited"] += 1
            outcome = yield request | env.timeout(gives_up)
            wait = env.now - arrived
            if request in outcome:
                stats["answered"] += 1
                stats["answer_wait"] += wait
                stats["within"] += wait <= service_level
                yield env.timeout(talk.expovariate(1 / mean_talk))
            else:
                stats["abandoned"] += 1
                stats["abandon_wait"] += wait

    def source(env):
        rate = rate_per_hour / 3600
        for _ in range(calls):
            yield env.timeout(arrivals.expovariate(rate))
            env.process(caller(env))

    env.process(source(env))
    env.run()
    offered = stats["answered"] + stats["abandoned"]
    return {"abandon": stats["abandoned"] / offered, "wait_p": stats["waited"] / offered,
            "wait_all": (stats["answer_wait"] + stats["abandon_wait"]) / offered,
            "asa": stats["answer_wait"] / stats["answered"] if stats["answered"] else 0.0, "sl": stats["within"] / offered}


if __name__ == "__main__":
    calls, agents = int(sys.argv[1]), int(sys.argv[2])
    figures = run_simpy(calls, agents, float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6]),
                        int(sys.argv[7]))
    print(json.dumps(figures))
'''
"""The SimPy side, as a script of its own: run as a whole process (it imports nothing but SimPy), and executed in
this process for the in-process comparison: one model for both."""


def scenario_document(agents: int, calls: int, seed: int = SEED) -> dict[str, Any]:
    """The call centre as a callroute scenario (a JSON document): one queue of ``agents``, one number."""
    commands: list[dict[str, Any]] = [{"command": "create_tenant", "tenant": "callcentre", "name": "Call centre",
                                       "time_zone": "Europe/Stockholm", "plan": "unlimited"}]
    commands += [{"command": "add_user", "tenant": "callcentre", "extension": str(5000 + i), "name": f"Agent {i}"}
                 for i in range(agents)]
    commands.append({"command": "save_queue", "tenant": "callcentre", "queue": "support",
                     "spec": {"name": "Support", "agents": [str(5000 + i) for i in range(agents)], "strategy": "longest_idle",
                              "agent_ring_seconds": 30, "wrap_up_seconds": 0, "max_wait_seconds": 7200}})
    commands.append({"command": "route_number", "tenant": "callcentre", "number": "+46812345600",
                     "entry": {"kind": "queue", "queue": "support"}})
    return {
        "tenant": {"slug": "callcentre", "commands": commands},
        "seed": seed,
        "max_calls": calls,
        "patience": {"dist": "exponential", "mean": MEAN_PATIENCE},
        "agent_groups": [{"first": 5000, "count": agents, "answer_delay": {"dist": "fixed", "value": 0},
                          "talk_time": {"dist": "exponential", "mean": MEAN_TALK}, "wrap_up": {"dist": "fixed", "value": 0}}],
        "arrivals": [{"kind": "poisson", "to": "+46812345600", "rate_per_hour": RATE_PER_AGENT * agents}],
        "service_level_seconds": [SERVICE_LEVEL],
    }


def mmc_scenario(agents: int, calls: int, seed: int = SEED) -> Any:
    from simulator.scenario import Scenario

    return msgspec.convert(scenario_document(agents, calls, seed), type=Scenario)


def figures_of(kpis: dict[str, Any]) -> dict[str, float]:
    """The figures compared with SimPy's and Erlang A's, from a run's ``kpis`` (as JSON): shares of offered calls."""
    offered = kpis["offered"]
    return {"abandon": kpis["abandoned"] / offered, "wait_p": kpis["probability_of_waiting"],
            "wait_all": kpis["mean_wait_seconds"], "asa": kpis["asa_seconds"], "sl": kpis["service_level"][f"{SERVICE_LEVEL:g}s"]}


def erlang_a(servers: int, arrival_rate: float, mean_talk: float, mean_patience: float) -> dict[str, float]:
    """Exact M/M/c+M figures from the stationary birth-death chain (PASTA: arrivals see the time average)."""
    mu, theta = 1 / mean_talk, 1 / mean_patience
    log_p = [0.0]
    n = 0
    while True:  # until the tail is negligible
        n += 1
        death = min(n, servers) * mu + max(n - servers, 0) * theta
        log_p.append(log_p[-1] + math.log(arrival_rate / death))
        if n > servers and log_p[-1] < max(log_p) - 50:
            break
    top = max(log_p)
    p = [math.exp(x - top) for x in log_p]
    total = sum(p)
    p = [x / total for x in p]
    queue = sum((i - servers) * x for i, x in enumerate(p) if i > servers)
    served_share = served_wait = 0.0
    for i, x in enumerate(p):
        if i < servers:
            served_share += x
            continue
        # Position k = i - servers + 1 when arriving: each step up is the race of cμ + (k-1)θ against one's own θ.
        survive, spent = 1.0, 0.0
        for k in range(1, i - servers + 2):
            survive *= (servers * mu + (k - 1) * theta) / (servers * mu + k * theta)
            spent += 1 / (servers * mu + k * theta)
        served_share += x * survive
        served_wait += x * survive * spent
    return {"abandon": theta * queue / arrival_rate, "wait_p": sum(p[servers:]), "wait_all": queue / arrival_rate,
            "asa": served_wait / served_share}


def peak_rss_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes on macOS, KiB elsewhere


def current_rss_mib() -> float | None:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError):
        return None


def import_simpy() -> Any:
    try:
        import simpy
    except ImportError:
        sys.exit("SimPy is not installed; it is in the bench extra: pip install -e '.[bench]'")
    return simpy


# -- whole processes ------------------------------------------------------------------------------------------------


class Workdir:
    """Scenario files and the SimPy script, written once into a temporary folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.simpy = folder / "simpy_model.py"
        self.simpy.write_text(SIMPY_MODEL)
        self.callroute = str(Path(sys.executable).with_name("callroute"))

    def scenario(self, agents: int, calls: int) -> Path:
        path = self.folder / f"mmc_{agents}_{calls}.json"
        if not path.exists():
            path.write_bytes(msgspec.json.encode(scenario_document(agents, calls)))
        return path

    def command(self, side: str, agents: int, calls: int) -> list[str]:
        if side == "simpy":
            return [sys.executable, str(self.simpy), str(calls), str(agents), str(RATE_PER_AGENT * agents), str(MEAN_TALK),
                    str(MEAN_PATIENCE), str(SERVICE_LEVEL), str(SEED)]
        engine = {"general": "general", "fast": "auto"}[side]
        return [self.callroute, "simulate", str(self.scenario(agents, calls)), "--json", "--engine", engine]


def timed(command: list[str]) -> tuple[float, float, str]:
    """Run a whole process: its wall time, its CPU time (user + system), its standard output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False,
                          env={**os.environ, "PYTHONHASHSEED": "0"})
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), done.stdout


def whole_processes(work: Workdir, agents: int, calls: int, rounds: int) -> dict[str, Any]:
    """The general engine, the fast path and SimPy as whole processes, alternating; medians, and each one's figures."""
    walls: dict[str, list[float]] = {"general": [], "fast": [], "simpy": []}
    cpus: dict[str, list[float]] = {side: [] for side in walls}
    outputs: dict[str, str] = {}
    for _ in range(rounds):
        for side in walls:
            wall, cpu, out = timed(work.command(side, agents, calls))
            walls[side].append(wall)
            cpus[side].append(cpu)
            outputs[side] = out
    results = {side: msgspec.json.decode(outputs[side]) for side in ("general", "fast")}
    for side, expected in (("general", "general"), ("fast", "fast")):
        if results[side]["engine"] != expected:
            sys.exit(f"callroute ran the {results[side]['engine']} engine where the {expected} one was asked for")
    if results["general"]["kpis"] != results["fast"]["kpis"]:
        sys.exit("the two engines gave different figures")
    wall = {side: statistics.median(values) for side, values in walls.items()}
    cpu = {side: statistics.median(values) for side, values in cpus.items()}
    return {
        "agents": agents, "calls": calls, "rounds": rounds,
        "seconds": {side: round(value, 3) for side, value in wall.items()},
        "cpu_seconds": {side: round(value, 3) for side, value in cpu.items()},
        "ratio_general": round(wall["simpy"] / wall["general"], 3), "ratio_fast": round(wall["simpy"] / wall["fast"], 3),
        "cpu_ratio_general": round(cpu["simpy"] / cpu["general"], 3), "cpu_ratio_fast": round(cpu["simpy"] / cpu["fast"], 3),
        "events": results["general"]["kpis"]["events"],
        "callroute_figures": figures_of(results["general"]["kpis"]),
        "simpy_figures": json.loads(outputs["simpy"]),
    }


def startup(work: Workdir, runs: int) -> dict[str, float]:
    """Whole processes that simulate one call (and ``python -c pass``), interleaved: medians of wall time."""
    commands = {"python": [sys.executable, "-c", "pass"], "simpy": work.command("simpy", 1, 1),
                "callroute": work.command("fast", 1, 1), "callroute_general": work.command("general", 1, 1)}
    walls: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            walls[name].append(timed(command)[0])
    return {name: round(statistics.median(values), 3) for name, values in walls.items()}


# -- in one process -------------------------------------------------------------------------------------------------


def in_process(agents: int, calls: int) -> dict[str, Any]:
    """The engines alone, after the scenario is built (``run_scenario`` less a one-call run's set-up), and SimPy's model."""
    from simulator.run import run_scenario

    namespace: dict[str, Any] = {"__name__": "simpy_model"}
    exec(compile(SIMPY_MODEL, "simpy_model.py", "exec"), namespace)  # noqa: S102 - our own model, as the script runs it
    setup_started = time.process_time()
    run_scenario(mmc_scenario(agents, 1), engine="general")
    setup = time.process_time() - setup_started
    seconds: dict[str, float] = {}
    for engine in ("general", "fast"):
        started = time.process_time()
        result = run_scenario(mmc_scenario(agents, calls), engine=engine)  # type: ignore[arg-type]
        seconds[engine] = time.process_time() - started - setup
        assert result.engine == engine
    started = time.process_time()
    namespace["run_simpy"](calls, agents, RATE_PER_AGENT * agents, MEAN_TALK, MEAN_PATIENCE, SERVICE_LEVEL, SEED)
    seconds["simpy"] = time.process_time() - started
    return {"agents": agents, "calls": calls, "setup_seconds": round(setup, 3),
            "cpu_seconds": {side: round(value, 3) for side, value in seconds.items()},
            "ratio_general": round(seconds["simpy"] / seconds["general"], 3), "ratio_fast": round(seconds["simpy"] / seconds["fast"], 3),
            "events": result.kpis.events}


# -- the default run ------------------------------------------------------------------------------------------------


def byte_compile() -> None:
    """Write callroute's bytecode first, as ``pip install`` does for a wheel (and did for SimPy): an editable install
    leaves it to the first import, and where ``PYTHONDONTWRITEBYTECODE`` is set every run would compile the source anew
    (about 0.13 s of each start-up), which SimPy's processes never do."""
    for package in ("core", "simulator", "adapters"):
        compileall.compile_dir(ROOT / package, quiet=1)


def compare(calls: int, large_calls: int, large_agents: int, rounds: int, large_rounds: int, startup_runs: int) -> None:
    simpy = import_simpy()
    byte_compile()
    with tempfile.TemporaryDirectory() as folder:
        work = Workdir(Path(folder))
        start = startup(work, startup_runs)
        small = whole_processes(work, AGENTS, calls, rounds)
        large = whole_processes(work, large_agents, large_calls, large_rounds)
    inside = in_process(AGENTS, calls)
    print(f"M/M/c+M call centre: {RATE_PER_AGENT:g} calls/h per agent (90 % load, exponential talk time mean {MEAN_TALK:g} s), "
          f"exponential patience mean {MEAN_PATIENCE:g} s, one FIFO queue; SimPy {simpy.__version__}, seed {SEED}")
    print(f"start-up (a whole process simulating one call, median of {startup_runs}; both sides' bytecode compiled): "
          f"callroute {start['callroute']:.3f} s "
          f"(general engine {start['callroute_general']:.3f} s), SimPy {start['simpy']:.3f} s, python -c pass "
          f"{start['python']:.3f} s  (target <= 0.15 s{'' if start['callroute'] <= 0.15 else ': missed'})")
    for block in (small, large):
        s, c = block["seconds"], block["cpu_seconds"]
        print(f"whole processes, {block['calls']:,} calls, {block['agents']} agents (median of {block['rounds']} alternating rounds; "
              f"wall, and CPU):")
        for side, label in (("general", "callroute, general engine"), ("fast", "callroute, fast path     "),
                            ("simpy", "SimPy                    ")):
            print(f"  {label} {s[side]:7.2f} s  {block['calls'] / s[side]:9,.0f} calls/s   (CPU {c[side]:6.2f} s)")
        for side, target in (("general", 2), ("fast", 5)):
            ratio, cpu_ratio = block[f"ratio_{side}"], block[f"cpu_ratio_{side}"]
            print(f"  {side} / SimPy: {ratio:.2f}x (CPU {cpu_ratio:.2f}x)  "
                  f"(target >= {target}x{'' if ratio >= target else ': missed'}; "
                  f"by CPU{'' if cpu_ratio >= target else ': missed'})")
    i = inside["cpu_seconds"]
    print(f"in this process, the engines alone ({calls:,} calls, {AGENTS} agents; the scenario's set-up, "
          f"{inside['setup_seconds']:.2f} s, left out): general {i['general']:.2f} s ({inside['ratio_general']:.2f}x SimPy), "
          f"fast path {i['fast']:.2f} s ({inside['ratio_fast']:.2f}x), SimPy {i['simpy']:.2f} s; "
          f"{inside['events'] / calls:.2f} calendar events per call")
    exact = erlang_a(AGENTS, RATE_PER_AGENT * AGENTS / 3600, MEAN_TALK, MEAN_PATIENCE)
    print(f"  same system? ({calls:,} calls, {AGENTS} agents)      callroute      SimPy   Erlang A (exact)")
    rows = [("abandon rate", "abandon", "pct"), ("probability of waiting", "wait_p", "pct"),
            ("mean wait, all calls", "wait_all", "s"), ("mean wait of answered calls (ASA)", "asa", "s"),
            (f"service level {SERVICE_LEVEL:g} s", "sl", "pct")]
    for label, key, unit in rows:
        def show(figures: dict[str, float], key: str = key, unit: str = unit) -> str:
            if key not in figures:
                return "-"
            return f"{figures[key]:.2%}" if unit == "pct" else f"{figures[key]:.2f} s"
        print(f"    {label:<40}{show(small['callroute_figures']):>10} {show(small['simpy_figures']):>10} {show(exact):>18}")
    ratio = small["ratio_general"]
    print(json.dumps({
        "benchmark": "simulator", "ratio": ratio, "target": 2, "met": ratio >= 2,
        "fast_ratio": small["ratio_fast"], "fast_target": 5, "fast_met": small["ratio_fast"] >= 5,
        # By CPU time, which a shared machine's load does not bend (wall time favours the shorter runs under load).
        "cpu_ratio": small["cpu_ratio_general"], "cpu_met": small["cpu_ratio_general"] >= 2,
        "fast_cpu_ratio": small["cpu_ratio_fast"], "fast_cpu_met": small["cpu_ratio_fast"] >= 5,
        "large_cpu_ratio": large["cpu_ratio_general"], "large_fast_cpu_ratio": large["cpu_ratio_fast"],
        "large_ratio": large["ratio_general"], "large_fast_ratio": large["ratio_fast"],
        "startup_seconds": start["callroute"], "startup_target_seconds": 0.15, "startup": start,
        "whole_processes": [small, large], "in_process": inside, "simpy_version": simpy.__version__,
        "erlang_a": {key: round(value, 5) for key, value in exact.items()},
    }))


# -- memory ---------------------------------------------------------------------------------------------------------


def rss_child(engine: str, calls: int, agents: int) -> None:
    """One long run in this process: the resident set every million calls (printed as one JSON line)."""
    from simulator.run import run_scenario

    scenario = mmc_scenario(agents, calls)
    samples: list[tuple[int, float, float | None]] = []
    mark = 1_000_000
    started = time.perf_counter()
    before = current_rss_mib()

    def progress(switch: Any) -> None:
        nonlocal mark
        so_far = switch.next_call_id - 1
        if so_far >= mark:
            samples.append((so_far, round(time.perf_counter() - started, 1), current_rss_mib()))
            while mark <= so_far:
                mark += 1_000_000

    result = run_scenario(scenario, progress=progress, engine=engine)  # type: ignore[arg-type]
    print(json.dumps({"engine": result.engine, "calls": result.kpis.offered, "seconds": round(time.perf_counter() - started, 1),
                      "rss_before_mib": before, "samples": samples, "peak_rss_mib": round(peak_rss_mib(), 1),
                      "abandon": round(result.kpis.abandon_rate, 5)}))


def memory(calls: int, agents: int) -> None:
    runs = {}
    for engine in ("fast", "general"):
        done = subprocess.run([sys.executable, __file__, "--rss-child", engine, str(calls), str(agents)], capture_output=True,
                              text=True, cwd=ROOT, check=False)
        if done.returncode != 0:
            sys.exit(done.stderr)
        runs[engine] = json.loads(done.stdout.splitlines()[-1])
    print(f"memory: {calls:,} calls in one run of each engine, {agents} agents; resident set every million calls")
    for engine, run in runs.items():
        samples = run["samples"]
        resident = [rss for _, _, rss in samples if rss is not None]
        print(f"  {engine}: {run['seconds']:.0f} s; before the run {run['rss_before_mib']:.1f} MiB; peak RSS {run['peak_rss_mib']:.1f} MiB")
        print("      calls   elapsed   resident")
        for so_far, at, rss in samples:
            print(f"  {so_far:>11,} {at:7.0f} s {rss:7.1f} MiB")
        if resident:
            print(f"  resident from the first to the last sample: {resident[0]:.1f} -> {resident[-1]:.1f} MiB "
                  f"({resident[-1] - resident[0]:+.1f} MiB over {samples[-1][0] - samples[0][0]:,} calls)")
    growth = max(run["samples"][-1][2] - run["samples"][0][2] for run in runs.values())
    print(json.dumps({"benchmark": "simulator_memory", "ratio": round(growth, 1), "target": 1.0, "unit": "MiB of growth",
                      "calls": calls, "agents": agents, "runs": runs}))


# -- agents ---------------------------------------------------------------------------------------------------------


def agents_scaling(sizes: list[int], calls: int) -> None:
    from simulator.run import run_scenario

    rows = []
    for agents in sizes:
        started = time.process_time()
        run_scenario(mmc_scenario(agents, 1), engine="general")
        setup = time.process_time() - started
        heap: list[int] = []

        def progress(switch: Any) -> None:
            heap.append(len(switch.calendar))  # pending events, lanes included

        started = time.process_time()
        result = run_scenario(mmc_scenario(agents, calls), progress=progress, engine="general")
        seconds = time.process_time() - started - setup
        fast_started = time.process_time()
        run_scenario(mmc_scenario(agents, calls), engine="fast")
        fast = time.process_time() - fast_started - setup
        rows.append({"agents": agents, "setup_seconds": round(setup, 2), "us_per_call": round(seconds / calls * 1e6, 2),
                     "fast_us_per_call": round(fast / calls * 1e6, 2), "events_per_call": round(result.kpis.events / calls, 2),
                     "calendar_mean": round(statistics.mean(heap), 1) if heap else 0})
    print(f"queues of {', '.join(str(n) for n in sizes)} agents at {RATE_PER_AGENT:g} calls/h per agent, {calls:,} calls each, "
          "in this process (CPU time; the set-up left out)")
    print("    agents   µs/call (general)   µs/call (fast)   events/call   calendar (mean entries)   set-up")
    for row in rows:
        print(f"  {row['agents']:>8} {row['us_per_call']:>19.2f} {row['fast_us_per_call']:>16.2f} {row['events_per_call']:>13.2f} "
              f"{row['calendar_mean']:>25,.0f} {row['setup_seconds']:>7.2f} s")
    first, last = rows[0], rows[-1]
    log_ratio = math.log2(max(2.0, last["calendar_mean"])) / math.log2(max(2.0, first["calendar_mean"]))
    ratio = last["us_per_call"] / first["us_per_call"]
    print(f"  time per call at {last['agents']} agents / at {first['agents']}: {ratio:.2f}x; the calendar's logarithm grew "
          f"{log_ratio:.2f}x")
    print(json.dumps({"benchmark": "simulator_agents", "ratio": round(ratio, 3), "target": round(log_ratio, 3), "calls": calls,
                      "rows": rows}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=200_000, help="calls of the first comparison (50 agents)")
    parser.add_argument("--large-calls", type=int, default=1_000_000, help="calls of the second comparison")
    parser.add_argument("--large-agents", type=int, default=500, help="agents of the second comparison")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of the first comparison (medians)")
    parser.add_argument("--large-rounds", type=int, default=1, help="alternating rounds of the second comparison")
    parser.add_argument("--startup-runs", type=int, default=15, help="interleaved start-up runs (medians)")
    parser.add_argument("--memory", action="store_true", help="instead: resident memory over one long run of each engine")
    parser.add_argument("--memory-calls", type=int, default=10_000_000)
    parser.add_argument("--agents", type=str, default=None, help="instead: time per call with queues of these sizes (50,500,2000)")
    parser.add_argument("--rss-child", nargs=3, metavar=("ENGINE", "CALLS", "AGENTS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    from adapters.logging import configure_logging

    configure_logging("error")
    if args.rss_child:
        rss_child(args.rss_child[0], int(args.rss_child[1]), int(args.rss_child[2]))
    elif args.memory:
        memory(args.memory_calls, args.large_agents)
    elif args.agents:
        agents_scaling([int(n) for n in args.agents.split(",")], args.calls)
    else:
        compare(args.calls, args.large_calls, args.large_agents, args.rounds, args.large_rounds, args.startup_runs)


if __name__ == "__main__":
    main()
