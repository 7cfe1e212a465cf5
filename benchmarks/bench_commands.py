"""Command throughput on a SQLite file against the raw save ceiling, and tenant load time.

Run:  python benchmarks/bench_commands.py [--commands 3000] [--users 100] [--events 10000]

Figures, all measured in this one run on files in one temporary directory:
- ceiling: eventsourcing's SQLite recorder inserting one already-mapped event per
  transaction (no aggregate, no validation, no encoding), into the same file;
- commands/s: ``CallrouteApp.execute([cmd])`` one command at a time: schema
  re-validation, load from the aggregate cache, the aggregate's rules, one event,
  msgspec encoding, the hash chain, one transaction. The two alternate in six
  rounds so that disk and CPU drift during the run affect both alike;
- load: a tenant of N events from a cold app, from snapshots (every 200 events) and by
  replay from the first event.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eventsourcing.persistence import StoredEvent  # noqa: E402

from adapters.bootstrap import sqlite_env  # noqa: E402
from core import commands as c  # noqa: E402
from core.aggregates.context import Actor  # noqa: E402
from core.aggregates.targets import ToExtension, ToNumber, ToVoicemail  # noqa: E402
from core.clock import SteppingClock  # noqa: E402
from core.service import CallrouteApp  # noqa: E402

ACTOR = Actor(principal="bench")


def configure_quiet_logging() -> None:
    """The CLI's logging setup (cached loggers) at error level, so figures exclude log output."""
    from adapters.logging import configure_logging

    configure_logging("error")


class FakeHasher:
    def hash(self, pin: str) -> str:
        return pin


class NoSnapshotApp(CallrouteApp):
    snapshotting_intervals = {}  # noqa: RUF012


def make_app(path: Path, cls: type[CallrouteApp] = CallrouteApp) -> CallrouteApp:
    clock = SteppingClock(datetime(2026, 1, 1, tzinfo=UTC), timedelta(milliseconds=10))
    return cls(sqlite_env(path), clock=clock, pin_hasher=FakeHasher())


def seed(app: CallrouteApp, users: int) -> None:
    cmds: list[object] = [c.CreateTenant(tenant="bench", name="Bench", time_zone="Europe/Stockholm")]
    cmds += [c.AddUser(tenant="bench", extension=str(10000 + i), name=f"User {i}") for i in range(users)]
    app.execute(cmds, ACTOR)


def workload(n: int, users: int) -> list[object]:
    targets = [ToVoicemail(), ToNumber(number="+46701234567"), ToExtension(extension="10000")]
    conditions = ["busy", "no_answer", "unreachable"]
    return [
        c.SetDivert(tenant="bench", extension=str(10001 + i % (users - 1)), condition=conditions[i % 3],  # type: ignore[arg-type]
                    target=targets[(i // 3) % 3])
        for i in range(n)
    ]


def throughput(tmp: Path, n: int, users: int, rounds: int) -> tuple[float, float, list[float]]:
    """Commands/s and ceiling events/s, measured in alternating rounds so drift hits both alike."""
    app = make_app(tmp / "commands.sqlite")
    seed(app, users)
    raw_app = app  # the same file, as the issue asks; another originator id
    cmds = workload(n, users)
    app.execute([cmds[0]], ACTOR)
    sample = app.recorder.select_events(app.tenant("bench").id, desc=True, limit=1)[0].state
    originator = uuid.uuid4()
    prepared = [StoredEvent(originator, v, "callroute/DivertSet", sample) for v in range(1, n + 1)]
    per_round = n // rounds
    command_time = raw_time = 0.0
    latencies: list[float] = []
    for r in range(rounds):
        block = slice(r * per_round, (r + 1) * per_round)
        start = time.perf_counter()
        for stored in prepared[block]:
            raw_app.recorder.insert_events([stored])
        raw_time += time.perf_counter() - start
        start = time.perf_counter()
        for cmd in cmds[block]:
            t0 = time.perf_counter()
            app.execute([cmd], ACTOR)
            latencies.append(time.perf_counter() - t0)
        command_time += time.perf_counter() - start
    done = per_round * rounds
    return done / command_time, done / raw_time, latencies


def load_times(path: Path, events: int) -> tuple[float, float, int]:
    app = make_app(path)
    users = 50
    seed(app, users)
    batch = workload(events - users - 1, users)
    for i in range(0, len(batch), 500):
        app.execute(batch[i : i + 500], ACTOR)
    version = make_app(path).tenant("bench").version
    snap, replay = [], []
    for _ in range(5):
        t0 = time.perf_counter()
        make_app(path).tenant("bench")
        snap.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        make_app(path, NoSnapshotApp).tenant("bench")
        replay.append(time.perf_counter() - t0)
    return statistics.median(snap), statistics.median(replay), version


def main() -> None:
    configure_quiet_logging()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--commands", type=int, default=3000)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--events", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=".") as tmp:
        rate, raw, latencies = throughput(Path(tmp), args.commands, args.users, rounds=6)
        latencies.sort()
        print(f"raw save ceiling (1 prepared event / transaction): {raw:9.0f} events/s")
        print(f"commands (load, validate, save one event):        {rate:9.0f} commands/s")
        print(f"ratio commands / ceiling:                          {rate / raw:9.2f}   (target >= 0.80)")
        print(f"command latency p50 {latencies[len(latencies) // 2] * 1e6:.0f} us, "
              f"p99 {latencies[int(len(latencies) * 0.99)] * 1e6:.0f} us  ({args.commands} commands, {args.users} users)")
        snap, replay, version = load_times(Path(tmp) / "load.sqlite", args.events)
        print(f"load tenant of {version} events: {snap * 1e3:.1f} ms from snapshot, "
              f"{replay * 1e3:.1f} ms replaying from the first event (x{replay / snap:.0f})")


if __name__ == "__main__":
    main()
