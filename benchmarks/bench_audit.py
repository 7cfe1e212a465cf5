"""As-of queries on a tenant with 100,000 events: from snapshots against replay from the first event.

Run:  python benchmarks/bench_audit.py [--events 100000] [--queries 50]

Builds one tenant of N events in a SQLite file (snapshots every 500 events, as the
application takes them), builds the routing projection (the timeline that maps an
instant to a version), then answers "the configuration as saved at instant t" for
random instants as ``callroute audit as-of --desired`` does, with every reader's check on
(``core/integrity.py``): each query opens a cold application and the projection from its
stored rows (as a new process would; the opening is timed apart), then looks up the version
(its change record and the next event checked against the store), loads the tenant at it
(the snapshot's digest, the events after it hashed and linked, the versions before it
counted) and builds its view, and gets the routing table at that version (compiled from a
second checked load). The baseline, in the same run and on the same file, loads the same
versions by replaying from the first event (no snapshots; every event checked too).

The last line is one JSON object; its ``ratio`` is the slowest as-of from snapshots, table
included, over the 100 ms target (below 1 meets it).
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
from core.aggregates.targets import ToExtension, ToVoicemail  # noqa: E402
from core.clock import SteppingClock  # noqa: E402
from core.projections import RoutingProjection  # noqa: E402
from core.queries import tenant_view  # noqa: E402
from core.service import CallrouteApp  # noqa: E402
from core.wiring import wire  # noqa: E402

ACTOR = Actor(principal="bench")
START = datetime(2026, 1, 1, tzinfo=UTC)


class FakeHasher:
    def hash(self, pin: str) -> str:
        return pin


class ReplayApp(CallrouteApp):
    """The same application without snapshots: every load replays from the first event."""

    snapshotting_intervals = {}  # noqa: RUF012


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=50)
    args = parser.parse_args()
    configure_logging("error")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "audit.sqlite"
        app = wire(path, clock=SteppingClock(START, timedelta(seconds=30)), pin_hasher=FakeHasher())
        users = 200
        cmds: list[object] = [c.CreateTenant(tenant="big", name="Big", time_zone="Europe/Kyiv")]
        cmds += [c.AddUser(tenant="big", extension=str(10000 + i), name=f"User {i}") for i in range(users)]
        started = time.perf_counter()
        for i in range(args.events - len(cmds)):
            ext = str(10000 + (i * 7) % users)
            target = ToVoicemail() if i % 2 else ToExtension(extension=str(10000 + (i * 7 + 1) % users))
            cmds.append(c.SetDivert(tenant="big", extension=ext, condition="busy", target=target))
        for i in range(0, len(cmds), 1000):
            app.execute(cmds[i : i + 1000], ACTOR)  # one instant per batch of 1,000
        built = time.perf_counter() - started
        projection = RoutingProjection(app, SQLiteProjectionStore(path))
        started = time.perf_counter()
        projection.catch_up()
        caught_up = time.perf_counter() - started
        timeline = projection.timeline("big")
        print(f"tenant of {timeline.changes[-1].version} events built in {built:.1f} s; projection built in {caught_up:.1f} s")

        rng = random.Random(5)
        first, last = timeline.changes[0].at, timeline.changes[-1].at
        instants = [first + (last - first) * rng.random() for _ in range(args.queries)]
        projection.store.close()
        snapshot_times, table_times, open_times, replay_times = [], [], [], []
        replay_app = ReplayApp(sqlite_env(path), clock=SteppingClock(START), pin_hasher=FakeHasher())
        for at in instants:
            fresh = wire(path, clock=SteppingClock(START), pin_hasher=FakeHasher())  # no warm cache
            t0 = time.perf_counter()
            store = SQLiteProjectionStore(path)
            reopened = RoutingProjection(fresh, store)  # its rows read from the store: checked as they are served
            open_times.append(time.perf_counter() - t0)
            checked_before = len(reopened.timelines["big"].checker.checked)
            t0 = time.perf_counter()
            version = reopened.timeline("big").desired_version(at)
            view = tenant_view(fresh.tenant("big", version=version))
            snapshot_times.append(time.perf_counter() - t0)
            table = reopened.desired("big", at)
            table_times.append(time.perf_counter() - t0)
            assert table is not None and table.version == version
            assert len(reopened.timelines["big"].checker.checked) > checked_before  # the rows served were checked
            store.close()
            fresh.close()
            t0 = time.perf_counter()
            baseline = tenant_view(replay_app.tenant("big", version=version))
            replay_times.append(time.perf_counter() - t0)
            assert view == baseline
        for times in (snapshot_times, table_times, open_times, replay_times):
            times.sort()

        def ms(times: list[float], q: float) -> float:
            return round(times[min(len(times) - 1, int(len(times) * q))] * 1e3, 1)

        print(f"as-of at a random instant ({args.queries} queries, reader checks on): version, checked load and view "
              f"p50 {ms(snapshot_times, 0.5)} ms, p99 {ms(snapshot_times, 0.99)} ms, max {snapshot_times[-1] * 1e3:.1f} ms; "
              f"with the routing table p50 {ms(table_times, 0.5)} ms, p99 {ms(table_times, 0.99)} ms, "
              f"max {table_times[-1] * 1e3:.1f} ms (target < 100 ms)")
        print(f"  opening the projection from its stored rows (not in the figures above): p50 {ms(open_times, 0.5)} ms; "
              f"replaying from the first event p50 {statistics.median(replay_times) * 1e3:.0f} ms, max {replay_times[-1] * 1e3:.0f} ms")
        print(json.dumps({"benchmark": "audit_as_of", "ratio": round(table_times[-1] * 1e3 / 100, 3), "target": 1.0,
                          "events": timeline.changes[-1].version, "queries": args.queries, "target_ms": 100, "checks": True,
                          "as_of_p50_ms": ms(snapshot_times, 0.5), "as_of_p99_ms": ms(snapshot_times, 0.99),
                          "as_of_max_ms": round(snapshot_times[-1] * 1e3, 1),
                          "as_of_with_table_p50_ms": ms(table_times, 0.5), "as_of_with_table_p99_ms": ms(table_times, 0.99),
                          "as_of_with_table_max_ms": round(table_times[-1] * 1e3, 1),
                          "projection_open_p50_ms": ms(open_times, 0.5),
                          "replay_p50_ms": round(statistics.median(replay_times) * 1e3), "replay_max_ms": round(replay_times[-1] * 1e3),
                          "build_s": round(built, 1), "projection_s": round(caught_up, 1)}))


if __name__ == "__main__":
    main()
