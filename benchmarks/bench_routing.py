"""Routing decisions per second, projection rebuild rate, and effective-table look-ups.

Run:  python benchmarks/bench_routing.py [--decisions 100000] [--events 30000]

Figures, all from this one run:
- decisions: ``core.routing.route`` on a tenant of 1,000 users and 100 answer groups,
  one core, a mix of calls to users (with diverts, schedules, busy and unreachable
  phones) and to groups (every strategy); throughput and per-decision latency, as the
  simulator asks for them (no explanation), then the same calls with the explanation;
- rebuild: the routing projection built from scratch from a SQLite store, against
  the store's own raw read-and-decode rate (``select_notifications`` + the mapper)
  measured on the same file;
- effective table: ``RoutingProjection.effective`` at random instants once built.

The last line is one JSON object with every figure; its ``ratio`` is the headline:
rebuild rate / raw read-and-decode rate (target 0.8).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.bootstrap import sqlite_env  # noqa: E402
from adapters.logging import configure_logging  # noqa: E402
from adapters.projection_store import SQLiteProjectionStore  # noqa: E402
from core import commands as c  # noqa: E402
from core.aggregates.context import Actor  # noqa: E402
from core.aggregates.groups import GroupMember, GroupSettings, LocalMember  # noqa: E402
from core.aggregates.schedule import OutOfHours, UnavailableAllDay, UnavailableBetween  # noqa: E402
from core.aggregates.targets import ToExtension, ToGroup, ToNumber, ToVoicemail  # noqa: E402
from core.clock import SteppingClock  # noqa: E402
from core.projections import RoutingProjection  # noqa: E402
from core.routing import Call, RoutingMemory, compile_table, route  # noqa: E402
from core.service import CallrouteApp  # noqa: E402

ACTOR = Actor(principal="bench")
START = datetime(2026, 11, 16, 7, 0, tzinfo=UTC)
STRATEGIES = ["sequential", "simultaneous", "round_robin", "least_recent", "random"]


class FakeHasher:
    def hash(self, pin: str) -> str:
        return pin


def make_app(env: dict[str, str], step: timedelta = timedelta(seconds=3)) -> CallrouteApp:
    return CallrouteApp(env, clock=SteppingClock(START, step), pin_hasher=FakeHasher())


def build_tenant(app: CallrouteApp, users: int, groups: int) -> None:
    cmds: list[object] = [c.CreateTenant(tenant="bench", name="Bench", time_zone="Europe/Stockholm", plan="unlimited")]
    for i in range(users):
        ext = str(10000 + i)
        cmds.append(c.AddUser(tenant="bench", extension=ext, name=f"User {i}"))
        cmds.append(c.AssignNumber(tenant="bench", extension=ext, number=f"+468{1000000 + i}"))
    for i in range(users):
        ext = str(10000 + i)
        match i % 5:
            case 0:
                cmds.append(c.SetDivert(tenant="bench", extension=ext, condition="no_answer", ring_seconds=20,
                                        target=ToExtension(extension=str(10000 + (i + 1) % users))))
            case 1:
                cmds.append(c.SetDivert(tenant="bench", extension=ext, condition="busy", target=ToVoicemail()))
            case 2:
                days = {d: UnavailableBetween(start="18:00", end="08:00") for d in ("mon", "tue", "wed", "thu", "fri")}
                cmds.append(c.SetOutOfHours(tenant="bench", extension=ext, out_of_hours=OutOfHours(
                    days={**days, "sat": UnavailableAllDay(), "sun": UnavailableAllDay()})))
            case 3:
                cmds.append(c.SetDivert(tenant="bench", extension=ext, condition="unreachable",
                                        target=ToNumber(number="+46701234567")))
            case _:
                cmds.append(c.SetRejectAnonymous(tenant="bench", extension=ext, enabled=True))
    for g in range(groups):
        members = tuple(GroupMember(ref=LocalMember(extension=str(10000 + (g * 10 + k) % users))) for k in range(8))
        fallback = ToGroup(group=f"g{g - 1}") if g % 2 else ToVoicemail(extension=str(10000 + g))
        cmds.append(c.CreateAnswerGroup(tenant="bench", group=f"g{g}", members=members, settings=GroupSettings(
            name=f"Group {g}", number=f"+468{2000000 + g}", strategy=STRATEGIES[g % 5], fallback=fallback)))  # type: ignore[arg-type]
    for i in range(0, len(cmds), 1000):
        app.execute(cmds[i : i + 1000], ACTOR)


def bench_decisions(n: int, users: int, groups: int) -> dict[str, float]:
    app = make_app({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    build_tenant(app, users, groups)
    tenant = app.tenant("bench")
    table = compile_table(tenant.state, tenant.version)
    rng = random.Random(7)
    calls = []
    for i in range(2000):
        if i % 4 == 3:
            dialled = f"+468{2000000 + rng.randrange(groups)}"
        else:
            dialled = f"+468{1000000 + rng.randrange(users)}"
        at = START + timedelta(minutes=rng.randrange(7 * 24 * 60))
        caller = None if i % 10 == 0 else "+441234567890"
        states = {str(10000 + rng.randrange(users)): rng.choice(["busy", "unreachable", "excluded"]) for _ in range(20)}
        calls.append((Call(dialled=dialled, at=at, caller=caller, call_id=str(i)), states))
    figures: dict[str, float] = {}
    for explain, label in ((False, "decisions"), (True, "explained")):
        memory = RoutingMemory(seed=1)
        for call, states in calls[:500]:
            route(table, call, states, memory, explain=explain)  # warm caches (zoneinfo, number parsing)
        latencies = []
        clock = time.perf_counter_ns
        start = time.perf_counter()
        for i in range(n):
            call, states = calls[i % len(calls)]
            t0 = clock()
            decision = route(table, call, states, memory, explain=explain)
            latencies.append(clock() - t0)
            memory = decision.memory
        elapsed = time.perf_counter() - start
        latencies.sort()
        figures |= {f"{label}_per_s": round(n / elapsed), f"{label}_p50_us": round(latencies[n // 2] / 1000, 1),
                    f"{label}_p99_us": round(latencies[int(n * 0.99)] / 1000, 1)}
    print(f"routing decisions ({users} users, {groups} groups, mixed calls): {figures['decisions_per_s']:9.0f} decisions/s  "
          f"(target >= 150,000)")
    print(f"  latency p50 {figures['decisions_p50_us']:.1f} us, p99 {figures['decisions_p99_us']:.1f} us  (target p99 < 50 us)")
    print(f"  with the explanation (explain=True, as the CLI asks): {figures['explained_per_s']:9.0f} decisions/s, "
          f"p50 {figures['explained_p50_us']:.1f} us, p99 {figures['explained_p99_us']:.1f} us")
    return figures


def build_store(path: Path, events: int) -> CallrouteApp:
    """A tenant of 200 users whose ``events`` events are busy diverts, confirmed every 500 commands, 100 versions behind."""
    app = make_app(sqlite_env(path), step=timedelta(seconds=41))
    build_tenant(app, 200, 20)
    base = app.tenant("bench").version
    cmds = []
    for i in range(events - base):
        ext = str(10000 + (i * 7) % 200)
        if i % 500 == 499:
            cmds.append(c.ConfirmProvisioning(tenant="bench", version=base + i - 100))
        else:
            cmds.append(c.SetDivert(tenant="bench", extension=ext, condition="busy",
                                    target=ToVoicemail() if i % 2 else ToExtension(extension=str(10000 + (i * 7 + 1) % 200))))
    for i in range(0, len(cmds), 1000):
        app.execute(cmds[i : i + 1000], ACTOR)
    return app


def bench_projection(path: Path, events: int) -> tuple[dict[str, float], CallrouteApp, RoutingProjection]:
    """The rebuild from scratch against the raw read-and-decode rate, alternating, median of 3 rounds each."""
    app = build_store(path, events)
    total = app.recorder.max_notification_id()

    def raw_read() -> float:
        started = time.perf_counter()
        position = 0
        while True:
            page = app.recorder.select_notifications(position + 1, 1000)
            if not page:
                break
            for notification in page:
                app.mapper.to_domain_event(notification)
            position = page[-1].id
        return total / (time.perf_counter() - started)

    def rebuild(store_path: Path) -> tuple[float, RoutingProjection]:
        store_path.unlink(missing_ok=True)
        fresh = make_app(sqlite_env(path))  # a cold application: no aggregate cache
        started = time.perf_counter()
        projection = RoutingProjection(fresh, SQLiteProjectionStore(store_path))
        projection.catch_up(batch_size=1000)
        return total / (time.perf_counter() - started), projection

    raw_rates, rebuild_rates = [], []
    projection = None
    for round_ in range(3):
        raw_rates.append(raw_read())
        rate, projection = rebuild(path.with_name(f"projection-{round_}.sqlite"))
        rebuild_rates.append(rate)
    raw, built = statistics.median(raw_rates), statistics.median(rebuild_rates)
    print(f"projection rebuild over {total} events: {built:9.0f} events/s; raw read-and-decode {raw:9.0f} events/s; "
          f"ratio {built / raw:.2f}  (target >= 0.80)")
    assert projection is not None
    work = projection.work()
    print(f"  what a rebuild did: applied {work['events_applied']:,} events, left out {work['events_left_out']:,} "
          f"(overwritten before a confirmed table needed them); compiled {work['user_rules_compiled']:,} user rules "
          f"for {len(projection.timeline('bench').confirmations)} tables")
    return {"events": total, "rebuild_per_s": round(built), "raw_read_decode_per_s": round(raw), "rebuild_ratio": round(built / raw, 2),
            **{f"rebuild_{name}": count for name, count in work.items()}}, app, projection


def bench_lookups(app: CallrouteApp, path: Path, projection: RoutingProjection) -> dict[str, float]:
    """The effective table at random instants from a reopened projection: first look-ups, then warm ones."""
    timeline = projection.timeline("bench")
    first, last = timeline.changes[0].at, timeline.changes[-1].at
    rng = random.Random(3)
    instants = [first + (last - first) * rng.random() for _ in range(2000)]
    reopened = RoutingProjection(app, SQLiteProjectionStore(path.with_name("projection-2.sqlite")))
    cold = []
    for confirmation in timeline.confirmations:  # first look-up of each version: its stored table, checked (a compile)
        t0 = time.perf_counter_ns()
        reopened.effective("bench", confirmation.applied_at)
        cold.append(time.perf_counter_ns() - t0)
    warm = []
    for at in instants:
        t0 = time.perf_counter_ns()
        reopened.effective("bench", at)
        warm.append(time.perf_counter_ns() - t0)
    warm.sort()
    cold.sort()
    print(f"effective table at an arbitrary instant ({len(timeline.confirmations)} confirmed versions, 2,000 instants): "
          f"p50 {warm[len(warm) // 2] / 1000:.1f} us, p99 {warm[int(len(warm) * 0.99)] / 1000:.1f} us, "
          f"max {warm[-1] / 1000:.1f} us  (target < 1 ms)")
    print(f"  first look-up of each version after a restart (reads its stored 200-user table and checks it against the "
          f"table compiled from the tenant's events at that version): "
          f"p50 {cold[len(cold) // 2] / 1e6:.2f} ms, max {cold[-1] / 1e6:.2f} ms")
    return {"confirmed_versions": len(timeline.confirmations), "effective_p50_us": round(warm[len(warm) // 2] / 1000, 1),
            "effective_p99_us": round(warm[int(len(warm) * 0.99)] / 1000, 1), "effective_max_us": round(warm[-1] / 1000, 1),
            "first_lookup_p50_ms": round(cold[len(cold) // 2] / 1e6, 2), "first_lookup_max_ms": round(cold[-1] / 1e6, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--decisions", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=30_000)
    args = parser.parse_args()
    configure_logging("error")
    decisions = bench_decisions(args.decisions, 1000, 100)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "events.sqlite"
        rebuild, app, projection = bench_projection(path, args.events)
        lookups = bench_lookups(app, path, projection)
    print(json.dumps({"benchmark": "routing", "ratio": rebuild["rebuild_ratio"], "target": 0.8,
                      "decisions_target_per_s": 150_000, "decisions_p99_target_us": 50, **decisions, **rebuild, **lookups}))


if __name__ == "__main__":
    main()
