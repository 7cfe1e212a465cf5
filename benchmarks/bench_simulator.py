"""Simulated calls per second: callroute's simulator against an idiomatic SimPy model of the same call centre.

Run:  python benchmarks/bench_simulator.py [--calls 200000] [--rounds 1] [--large [--agents 1000]]
      (SimPy comes with the bench extra: pip install -e '.[bench]')

The model, M/M/c+M (Erlang A): 50 agents, Poisson arrivals at 900 calls/h (45 Erlang of
exponential talk time with a 180 s mean: 90 % load), callers who hang up after an
exponential patience with a 120 s mean, one FIFO queue, answered at once, no wrap-up.

Figures, all from this one run:
- callroute: ``run_scenario`` on that scenario, no trace, end to end: the in-memory ledger
  and the tenant's commands, the routing table, calls routed by ``core.routing.route``
  (a plan that depends on nothing but the table and the number dialled is decided once
  per table and reused, see ``Decision.depends_on``), the switch on its own calendar
  under trio. The setup alone (a
  one-call run) is shown beside it;
- SimPy: ``simpy.Resource(capacity=50)``, one process per caller, patience as
  ``yield request | env.timeout(patience)``;
- simulated calls per second of each and their ratio (target: callroute >= 2x SimPy);
  with ``--rounds N`` the two alternate N times and the medians are shown;
- the two models' abandon rate, probability of waiting, mean waits and service level
  side by side, with the exact Erlang-A figures of the birth-death chain, as a check
  that both simulate the same system;
- last, one JSON line for scripts: ``{"benchmark": "simulator", "ratio": callroute/SimPy
  calls per second, "target": 2, ...}`` with the figures above.

--large (instead of the comparison): 1,000,000 calls with 1,000 agents at the same 90 %
load (18,000 calls/h) in one run. A queue holds at most 500 agents, so two numbers each
feed their own 500-agent queue at 9,000 calls/h. Peak RSS (``ru_maxrss``) before and
after, and the resident set (``/proc/self/statm``) sampled every 100,000 calls from the
run's progress callback, to show that memory stays flat; last, one JSON line
``{"benchmark": "simulator_large", ...}``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import msgspec  # noqa: E402

from adapters.logging import configure_logging  # noqa: E402
from simulator.run import RunResult, run_scenario  # noqa: E402
from simulator.scenario import Scenario  # noqa: E402

AGENTS = 50
RATE_PER_HOUR = 900.0
MEAN_TALK = 180.0
MEAN_PATIENCE = 120.0
SERVICE_LEVEL = 20.0
SEED = 7
QUEUE_LIMIT = 500
"""Most agents a queue takes (``CallQueue.agents``)."""


def mmc_scenario(agents: int, rate_per_hour: float, calls: int, seed: int = SEED) -> Scenario:
    """The call centre as a callroute scenario: ``agents`` split over queues of at most 500, one number each."""
    queues = math.ceil(agents / QUEUE_LIMIT)
    per_queue = agents // queues
    commands: list[dict[str, Any]] = [{"command": "create_tenant", "tenant": "callcentre", "name": "Call centre",
                                       "time_zone": "Europe/Stockholm", "plan": "unlimited"}]
    commands += [{"command": "add_user", "tenant": "callcentre", "extension": str(5000 + i), "name": f"Agent {i}"}
                 for i in range(agents)]
    arrivals = []
    for q in range(queues):
        members = [str(5000 + q * per_queue + i) for i in range(per_queue)]
        number = f"+4681234560{q}"
        commands.append({"command": "save_queue", "tenant": "callcentre", "queue": f"support{q}",
                         "spec": {"name": f"Support {q}", "agents": members, "strategy": "longest_idle",
                                  "agent_ring_seconds": 30, "wrap_up_seconds": 0, "max_wait_seconds": 7200}})
        commands.append({"command": "route_number", "tenant": "callcentre", "number": number,
                         "entry": {"kind": "queue", "queue": f"support{q}"}})
        arrivals.append({"kind": "poisson", "to": number, "rate_per_hour": rate_per_hour / queues})
    return msgspec.convert({
        "tenant": {"slug": "callcentre", "commands": commands},
        "seed": seed,
        "max_calls": calls,
        "patience": {"dist": "exponential", "mean": MEAN_PATIENCE},
        "agent_groups": [{"first": 5000, "count": agents, "answer_delay": {"dist": "fixed", "value": 0},
                          "talk_time": {"dist": "exponential", "mean": MEAN_TALK}, "wrap_up": {"dist": "fixed", "value": 0}}],
        "arrivals": arrivals,
        "service_level_seconds": [SERVICE_LEVEL],
    }, type=Scenario)


def run_callroute(calls: int) -> tuple[float, RunResult]:
    scenario = mmc_scenario(AGENTS, RATE_PER_HOUR, calls)
    started = time.perf_counter()
    result = run_scenario(scenario)
    return time.perf_counter() - started, result


def callroute_figures(result: RunResult) -> dict[str, float]:
    k = result.kpis
    handled = k.answered + k.abandoned
    # Waits are summed per arrival hour over answered and abandoned calls: hourly mean x calls is exact.
    total_wait = sum(w * (a + b) for w, a, b in zip(k.hourly_mean_wait, k.hourly_answered, k.hourly_abandoned, strict=True))
    return {"abandon": k.abandon_rate, "wait_p": k.probability_of_waiting, "wait_all": total_wait / handled,
            "asa": k.asa_seconds, "sl": k.service_level[f"{SERVICE_LEVEL:g}s"]}


def import_simpy() -> Any:
    try:
        import simpy
    except ImportError:
        sys.exit("SimPy is not installed; it is in the bench extra: pip install -e '.[bench]'")
    return simpy


def run_simpy(calls: int, seed: int = SEED) -> tuple[float, dict[str, float]]:
    """The same system, written the way the SimPy documentation writes a bank or a call centre."""
    simpy = import_simpy()
    started = time.perf_counter()
    env = simpy.Environment()
    agents = simpy.Resource(env, capacity=AGENTS)
    arrivals, talk, patience = random.Random(seed), random.Random(seed + 1), random.Random(seed + 2)
    stats = {"answered": 0, "abandoned": 0, "waited": 0, "answer_wait": 0.0, "abandon_wait": 0.0, "within": 0}

    def caller(env: Any) -> Any:
        arrived = env.now
        gives_up = patience.expovariate(1 / MEAN_PATIENCE)
        with agents.request() as request:
            if not request.triggered:
                stats["waited"] += 1
            outcome = yield request | env.timeout(gives_up)
            wait = env.now - arrived
            if request in outcome:
                stats["answered"] += 1
                stats["answer_wait"] += wait
                stats["within"] += wait <= SERVICE_LEVEL
                yield env.timeout(talk.expovariate(1 / MEAN_TALK))
            else:
                stats["abandoned"] += 1
                stats["abandon_wait"] += wait

    def source(env: Any) -> Any:
        rate = RATE_PER_HOUR / 3600
        for _ in range(calls):
            yield env.timeout(arrivals.expovariate(rate))
            env.process(caller(env))

    env.process(source(env))
    env.run()
    elapsed = time.perf_counter() - started
    handled = stats["answered"] + stats["abandoned"]
    return elapsed, {"abandon": stats["abandoned"] / handled, "wait_p": stats["waited"] / handled,
                     "wait_all": (stats["answer_wait"] + stats["abandon_wait"]) / handled,
                     "asa": stats["answer_wait"] / stats["answered"], "sl": stats["within"] / handled}


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


def compare(calls: int, rounds: int) -> None:
    simpy = import_simpy()
    setup, _ = run_callroute(1)
    ours, theirs = [], []
    result: RunResult | None = None
    simpy_figures: dict[str, float] = {}
    for _ in range(rounds):
        elapsed, result = run_callroute(calls)
        ours.append(elapsed)
        elapsed, simpy_figures = run_simpy(calls)
        theirs.append(elapsed)
    assert result is not None
    ours_s, theirs_s = statistics.median(ours), statistics.median(theirs)
    events = result.kpis.events
    load = RATE_PER_HOUR * MEAN_TALK / 3600
    print(f"M/M/{AGENTS}+M call centre: {load:g} Erlang on {AGENTS} agents ({RATE_PER_HOUR:g} calls/h, exponential talk "
          f"time mean {MEAN_TALK:g} s), exponential patience mean {MEAN_PATIENCE:g} s; {calls:,} calls, seed {SEED}"
          + (f", median of {rounds} alternating rounds" if rounds > 1 else ""))
    print(f"  callroute run_scenario (no trace): {calls:>9,} calls in {ours_s:6.2f} s: {calls / ours_s:9,.0f} calls/s  "
          f"({events:,} events, {events / ours_s:,.0f} events/s; setup {setup:.2f} s)")
    print(f"  SimPy {simpy.__version__} Resource model:    {calls:>9,} calls in {theirs_s:6.2f} s: "
          f"{calls / theirs_s:9,.0f} calls/s")
    ratio = theirs_s / ours_s
    print(f"  callroute / SimPy: {ratio:.2f}x  (target >= 2x{'' if ratio >= 2 else ': missed'})")
    exact = erlang_a(AGENTS, RATE_PER_HOUR / 3600, MEAN_TALK, MEAN_PATIENCE)
    ours_f = callroute_figures(result)
    print("  same system?                          callroute      SimPy   Erlang A (exact)")
    rows = [("abandon rate", "abandon", "pct"), ("probability of waiting", "wait_p", "pct"),
            ("mean wait, answered + abandoned", "wait_all", "s"), ("mean wait of answered calls (ASA)", "asa", "s"),
            (f"service level {SERVICE_LEVEL:g} s", "sl", "pct")]
    for label, key, unit in rows:
        def show(figures: dict[str, float], key: str = key, unit: str = unit) -> str:
            if key not in figures:
                return "-"
            return f"{figures[key]:.2%}" if unit == "pct" else f"{figures[key]:.2f} s"
        print(f"    {label:<34}{show(ours_f):>10} {show(simpy_figures):>10} {show(exact):>18}")
    print(json.dumps({
        "benchmark": "simulator", "ratio": round(ratio, 3), "target": 2, "met": ratio >= 2, "calls": calls, "rounds": rounds,
        "callroute_seconds": round(ours_s, 3), "simpy_seconds": round(theirs_s, 3),
        "callroute_calls_per_s": round(calls / ours_s), "simpy_calls_per_s": round(calls / theirs_s),
        "events": events, "events_per_s": round(events / ours_s), "setup_seconds": round(setup, 3),
        "simpy_version": simpy.__version__,
        "callroute_figures": {key: round(value, 5) for key, value in ours_f.items()},
        "simpy_figures": {key: round(value, 5) for key, value in simpy_figures.items()},
        "erlang_a": {key: round(value, 5) for key, value in exact.items()},
    }))


def large(calls: int, agents: int) -> None:
    rate = RATE_PER_HOUR * agents / AGENTS
    scenario = mmc_scenario(agents, rate, calls)
    queues = len(scenario.arrivals)
    before_peak, before_now = peak_rss_mib(), current_rss_mib()
    samples: list[tuple[int, float, float | None, float, int, int]] = []
    mark = 100_000
    started = time.perf_counter()

    def progress(switch: Any) -> None:
        nonlocal mark
        so_far = switch.next_call_id - 1
        if so_far >= mark:
            samples.append((so_far, time.perf_counter() - started, current_rss_mib(), peak_rss_mib(),
                            len(switch.calendar.heap), switch.calendar.events))
            while mark <= so_far:
                mark += 100_000

    result = run_scenario(scenario, progress=progress)
    elapsed = time.perf_counter() - started
    k = result.kpis
    print(f"large: {calls:,} calls, {agents:,} agents in {queues} queues of {agents // queues} "
          f"({rate:,.0f} calls/h, {rate * MEAN_TALK / 3600 / agents:.0%} load), one run")
    print(f"  {calls / elapsed:,.0f} calls/s ({elapsed:.1f} s, {k.events:,} events, {k.events / elapsed:,.0f} events/s); "
          f"{k.simulated_seconds / 3600:,.1f} simulated hours")
    now = f", resident {before_now:.1f} MiB" if before_now is not None else ""
    print(f"  before the run: peak RSS {before_peak:.1f} MiB{now}")
    print("      calls   elapsed   resident   peak RSS   calendar   events")
    for so_far, at, rss, peak, heap, events in samples:
        resident = f"{rss:7.1f} MiB" if rss is not None else "        -  "
        print(f"  {so_far:>9,} {at:7.1f} s {resident} {peak:7.1f} MiB {heap:>10,} {events:>10,}")
    after_peak = peak_rss_mib()
    print(f"  after the run: peak RSS {after_peak:.1f} MiB (+{after_peak - before_peak:.1f} MiB over the setup and the run)")
    if len(samples) >= 2 and samples[0][2] is not None and samples[-1][2] is not None:
        print(f"  resident from the first to the last sample: {samples[0][2]:.1f} -> {samples[-1][2]:.1f} MiB "
              f"({samples[-1][2] - samples[0][2]:+.1f} MiB over {samples[-1][0] - samples[0][0]:,} calls)")
    exact = erlang_a(agents // queues, rate / queues / 3600, MEAN_TALK, MEAN_PATIENCE)
    print(f"  abandon rate {k.abandon_rate:.2%} (Erlang A {exact['abandon']:.2%}), probability of waiting "
          f"{k.probability_of_waiting:.2%} (Erlang A {exact['wait_p']:.2%}), ASA {k.asa_seconds:.2f} s "
          f"(Erlang A {exact['asa']:.2f} s)")
    print(json.dumps({
        "benchmark": "simulator_large", "calls": calls, "agents": agents, "seconds": round(elapsed, 3),
        "calls_per_s": round(calls / elapsed), "events": k.events, "events_per_s": round(k.events / elapsed),
        "peak_rss_mib_before": round(before_peak, 1), "peak_rss_mib_after": round(after_peak, 1),
        "resident_mib_samples": [round(rss, 1) if rss is not None else None for _, _, rss, _, _, _ in samples],
        "abandon": round(k.abandon_rate, 5), "wait_p": round(k.probability_of_waiting, 5), "asa": round(k.asa_seconds, 3),
        "erlang_a": {key: round(value, 5) for key, value in exact.items()},
    }))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=None, help="calls to simulate (default 200,000; 1,000,000 with --large)")
    parser.add_argument("--rounds", type=int, default=1, help="alternate the two simulators this many times (medians)")
    parser.add_argument("--large", action="store_true", help="instead: one run of 1,000,000 calls on 1,000 agents, memory")
    parser.add_argument("--agents", type=int, default=1000, help="agents of the --large run (default 1,000)")
    args = parser.parse_args()
    configure_logging("error")
    if args.large:
        large(args.calls or 1_000_000, args.agents)
    else:
        compare(args.calls or 200_000, args.rounds)


if __name__ == "__main__":
    main()
