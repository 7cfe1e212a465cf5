"""audit verify on a store of 100,000 events: what each of its checks costs, against reading the events plainly.

Run:  python benchmarks/bench_verify.py [--events 100000] [--repeat 3] [--store PATH]

Builds one tenant of N events in a SQLite file (200 users, then diverts; snapshots every 500 events, as the
application takes them; a provisioning confirmation after every 10,000 events and at the end, so the projection
compiles tables) and catches its routing projection up in the same file (``--store PATH`` keeps the file, and reuses
it when it is there). Then, each on an application opened afresh (as a new process opens it), ``--repeat`` times:

- head walk: the running store head over every stored event (``core.audit.walk_heads``);
- chains and snapshots: every record's hash chain recomputed from its raw bytes, and the tenant's snapshots against
  the replay of its events (``verify_chain`` on each record, as ``verify_store`` runs it);
- projection check: the projection's stored rows against a rebuild from the events (``check_projection``, as
  ``audit verify`` runs it);
- the whole command: ``callroute audit verify --operator`` in a new process (interpreter start-up and imports, the
  SQLite quick check, everything above, the lines printed); ``callroute --version`` is timed too, for the start-up;
- baseline, in the same run on the same file: the library's plain read of every stored event, record by record
  (``recorder.select_events`` and the mapper's decode into domain events), with no check.

Figures are CPU seconds (``time.process_time``; the child's user+system time for the command): the machine is
shared, and wall time (printed beside) moves with whatever else runs. Each figure is the median of the repeats.

The last line is one JSON object. ``ratio`` is the whole command's CPU time over the plain read's; the target is
5 (verifying costs at most five plain reads of the same events: it decodes each event at least three times, for the
head, the chain and the projection's rebuild, and replays the tenant twice); ``checks_ratio`` leaves the command's
start-up, SQLite's quick check and printing out.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.bootstrap import build_app, build_projection  # noqa: E402
from adapters.logging import configure_logging  # noqa: E402
from adapters.projection_store import SQLiteProjectionStore  # noqa: E402
from core import commands as c  # noqa: E402
from core.aggregates.context import Actor  # noqa: E402
from core.aggregates.identifiers import tenant_id  # noqa: E402
from core.aggregates.provisioning import provisioning_id  # noqa: E402
from core.aggregates.targets import ToExtension, ToVoicemail  # noqa: E402
from core.audit import verify_chain, walk_heads  # noqa: E402
from core.clock import SteppingClock  # noqa: E402
from core.projections.check import check_projection  # noqa: E402
from core.wiring import wire  # noqa: E402

ACTOR = Actor(principal="bench")
START = datetime(2026, 1, 1, tzinfo=UTC)
TARGET = 5.0
SLUG = "big"
CALLROUTE = str(Path(sys.executable).parent / "callroute")


class FakeHasher:
    def hash(self, pin: str) -> str:
        return pin


def build(path: Path, events: int) -> float:
    """One tenant of ``events`` events, confirmed after every 10,000 and at the end, its projection caught up; seconds taken."""
    started = time.perf_counter()
    app = wire(path, clock=SteppingClock(START, timedelta(seconds=30)), pin_hasher=FakeHasher())
    users = 200
    cmds: list[Any] = [c.CreateTenant(tenant=SLUG, name="Big", time_zone="Europe/Kyiv")]
    cmds += [c.AddUser(tenant=SLUG, extension=str(10000 + i), name=f"User {i}") for i in range(users)]
    for i in range(events - len(cmds)):
        ext = str(10000 + (i * 7) % users)
        target = ToVoicemail() if i % 2 else ToExtension(extension=str(10000 + (i * 7 + 1) % users))
        cmds.append(c.SetDivert(tenant=SLUG, extension=ext, condition="busy", target=target))
    for i in range(0, len(cmds), 1000):
        version = app.execute(cmds[i:i + 1000], ACTOR).versions[SLUG]  # one instant per batch of 1,000
        if i // 1000 % 10 == 9 or i + 1000 >= len(cmds):  # the provider applied everything so far: a table to compile
            app.execute([c.ConfirmProvisioning(tenant=SLUG, version=version)], ACTOR)
    build_projection(app, path).store.close()  # type: ignore[attr-defined]
    app.close()
    return time.perf_counter() - started


def timed(store: Path, run: Callable[[Any], Any], repeat: int) -> tuple[float, float, Any]:
    """Median CPU and wall seconds of ``run(app)`` on an application opened afresh each time (the opening not counted)."""
    cpu, wall, result = [], [], None
    for _ in range(repeat):
        app = build_app(store, clock=SteppingClock(START))
        c0, w0 = time.process_time(), time.perf_counter()
        result = run(app)
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
        app.close()
    return statistics.median(cpu), statistics.median(wall), result


def child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def command(store: Path, argv: list[str], repeat: int) -> tuple[float, float, str]:
    """Median CPU (user+system) and wall seconds of a new process running ``argv``; its output."""
    cpu, wall, out = [], [], ""
    env = {**os.environ, "CALLROUTE_DB": str(store), "CALLROUTE_ACTOR": "ops@platform.example"}
    for _ in range(repeat):
        c0, w0 = child_cpu(), time.perf_counter()
        done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
        wall.append(time.perf_counter() - w0)
        cpu.append(child_cpu() - c0)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} exited {done.returncode}: {done.stdout}{done.stderr}")
        out = done.stdout
    return statistics.median(cpu), statistics.median(wall), out


def plain_read(app: Any, records: list[UUID]) -> int:
    """Every stored event of the records, decoded into domain events with no check: the library's own read."""
    count = 0
    to_domain_event = app.mapper.to_domain_event
    for record in records:
        for stored in app.recorder.select_events(record):
            to_domain_event(stored)
            count += 1
    return count


def chains(app: Any, records: list[UUID]) -> list[Any]:
    """Each record as ``verify_store`` verifies it: its hash chain from the raw bytes; the tenant's with its snapshots."""
    tenant = tenant_id(SLUG)
    return [verify_chain(app.recorder, app.mapper, record, app.snapshots if record == tenant else None) for record in records]


def projection(app: Any, store_path: Path) -> Any:
    """The projection's stored rows against a rebuild from the events, as ``audit verify`` compares them."""
    store = SQLiteProjectionStore(store_path)
    try:
        loaded = store.load()
        keys = store.connection.execute("SELECT slug, version FROM projection_tables").fetchall()
        return check_projection(app, loaded, store.table, keys)
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--store", type=Path, help="Keep the store in this file (reused when it exists).")
    args = parser.parse_args()
    configure_logging("error")
    repeat = args.repeat
    with ExitStack() as stack:
        path = args.store or Path(stack.enter_context(tempfile.TemporaryDirectory())) / "verify.sqlite"
        built = None if path.exists() else build(path, args.events)
        records = [tenant_id(SLUG), provisioning_id(SLUG)]
        read_cpu, read_wall, events = timed(path, lambda app: plain_read(app, records), repeat)
        head_cpu, head_wall, walk = timed(path, lambda app: walk_heads(app.recorder, app.mapper), repeat)
        assert walk.originators == {r.hex for r in records} and walk.events == events, walk
        chains_cpu, chains_wall, reports = timed(path, lambda app: chains(app, records), repeat)
        proj_cpu, proj_wall, check = timed(path, lambda app: projection(app, path), repeat)
        assert all(r.intact for r in reports) and check.agrees and check.tables, (reports, check)
        startup_cpu, startup_wall, _ = command(path, [CALLROUTE, "--version"], repeat)
        cli_cpu, cli_wall, out = command(path, [CALLROUTE, "audit", "verify", "--operator"], repeat)
        assert "store head" in out and "BROKEN" not in out, out
    checks_cpu, checks_wall = head_cpu + chains_cpu + proj_cpu, head_wall + chains_wall + proj_wall
    ratio = cli_cpu / read_cpu
    if built is not None:
        print(f"store of {events:,} events ({check.confirmations:,} confirmations, {check.tables:,} tables) built in {built:.1f} s")
    print(f"{events:,} events, median of {repeat} runs; CPU seconds (wall beside: the machine is shared):")
    rows = [("plain read (baseline)", read_cpu, read_wall), ("head walk", head_cpu, head_wall),
            ("chains and snapshots", chains_cpu, chains_wall), ("projection check", proj_cpu, proj_wall),
            ("the three checks", checks_cpu, checks_wall), ("callroute --version (start-up)", startup_cpu, startup_wall),
            ("callroute audit verify --operator", cli_cpu, cli_wall)]
    for name, cpu, wall in rows:
        print(f"  {name:<34} {cpu:6.2f} s CPU  {cpu / read_cpu:5.2f}x the plain read  ({wall:.2f} s wall)")
    verdict = "meets" if ratio <= TARGET else "misses"
    print(f"audit verify --operator costs {ratio:.2f}x the plain read of the same events (target <= {TARGET:g}x): {verdict} it")
    print(json.dumps({
        "benchmark": "audit_verify", "ratio": round(ratio, 2), "target": TARGET, "clock": "cpu", "events": events,
        "confirmations": check.confirmations, "tables": check.tables, "repeat": repeat,
        "plain_read_cpu_s": round(read_cpu, 3), "head_walk_cpu_s": round(head_cpu, 3), "chains_snapshots_cpu_s": round(chains_cpu, 3),
        "projection_check_cpu_s": round(proj_cpu, 3), "checks_cpu_s": round(checks_cpu, 3),
        "checks_ratio": round(checks_cpu / read_cpu, 2), "cli_verify_cpu_s": round(cli_cpu, 3), "cli_startup_cpu_s": round(startup_cpu, 3),
        "plain_read_wall_s": round(read_wall, 3), "head_walk_wall_s": round(head_wall, 3), "chains_snapshots_wall_s": round(chains_wall, 3),
        "projection_check_wall_s": round(proj_wall, 3), "cli_verify_wall_s": round(cli_wall, 3),
        "build_s": None if built is None else round(built, 1)}))


if __name__ == "__main__":
    main()
