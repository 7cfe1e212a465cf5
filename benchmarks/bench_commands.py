"""Command throughput on a SQLite file against the raw save ceiling, and tenant load time.

Run:  python benchmarks/bench_commands.py [--commands 3000] [--events 10000]

Two tenants of 1,000 users each: the ledger's (seed 000/002 settings: diverts) and the
whole model's (also 100 answer groups, 50 IVR menus, 50 forwarding schemes, with a mix
of commands on all of them). The application is built by ``adapters.bootstrap.build_app``,
the composition root every entry point uses, so commands take the product's write path.

Figures, all measured in this one run on files in one temporary directory:
- ceilings, into the same file, one already-mapped event per transaction (no
  aggregate, no validation, no encoding): eventsourcing's SQLite recorder
  (``recorder.insert_events``), and the product's own lean writer
  (``SQLiteEventWriter.insert``, one held connection), which the commands use. The
  headline ratio is against eventsourcing's raw save, the ceiling the write-path target
  was set against; the ratio to the lean writer's raw save is printed beside it;
- commands/s: ``CallrouteApp.execute([cmd])`` one command at a time: schema
  re-validation, load from the aggregate cache, the handler's rules, one event,
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

import json  # noqa: E402

from adapters.bootstrap import build_app, sqlite_env  # noqa: E402
from adapters.event_writer import SQLiteEventWriter  # noqa: E402
from core import commands as c  # noqa: E402
from core.aggregates.catalog import AudioFile  # noqa: E402
from core.aggregates.context import Actor  # noqa: E402
from core.aggregates.groups import GroupMember, GroupSettings, LocalMember  # noqa: E402
from core.aggregates.services import ForwardingScheme, IvrMenu, SchemeStep  # noqa: E402
from core.aggregates.targets import AudioFileRef, ToExtension, ToGroup, ToNumber, ToScheme, ToVoicemail  # noqa: E402
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


def make_app(path: Path, cls: type[CallrouteApp] | None = None) -> CallrouteApp:
    """The product's app on ``path`` (``cls``: a bare application class, for the replay baseline)."""
    clock = SteppingClock(datetime(2026, 1, 1, tzinfo=UTC), timedelta(milliseconds=10))
    if cls is not None:
        return cls(sqlite_env(path), clock=clock, pin_hasher=FakeHasher())
    return build_app(path, clock=clock, pin_hasher=FakeHasher())


def seed(app: CallrouteApp, users: int, groups: int = 0, ivrs: int = 0, schemes: int = 0) -> None:
    cmds: list[object] = [c.CreateTenant(tenant="bench", name="Bench", time_zone="Europe/Stockholm", plan="unlimited")]
    cmds += [c.AddUser(tenant="bench", extension=str(10000 + i), name=f"User {i}") for i in range(users)]
    cmds.append(c.AddAudioFile(tenant="bench", audio=AudioFile(name="welcome", language="sv", source="uploaded",
                                                               content_sha256="ab" * 32, duration_seconds=5)))
    for g in range(groups):
        members = tuple(GroupMember(ref=LocalMember(extension=str(10000 + (g * 7 + k) % users))) for k in range(5))
        cmds.append(c.CreateAnswerGroup(tenant="bench", group=f"g{g}", settings=GroupSettings(name=f"Group {g}"), members=members))
    for k in range(schemes):
        steps = (SchemeStep(destination=ToExtension(extension=str(10000 + k))), SchemeStep(destination=ToGroup(group=f"g{k % groups}")))
        cmds.append(c.SaveForwardingScheme(tenant="bench", scheme=f"s{k}", spec=ForwardingScheme(name=f"Scheme {k}", steps=steps)))
    for i in range(ivrs):
        menu = IvrMenu(name=f"Menu {i}", prompt=AudioFileRef(audio_file="welcome"),
                       options={"1": ToGroup(group=f"g{i % groups}"), "2": ToScheme(scheme=f"s{i % schemes}")})
        cmds.append(c.SaveIvrMenu(tenant="bench", ivr=f"i{i}", spec=menu))
    for i in range(0, len(cmds), 500):
        app.execute(cmds[i : i + 500], ACTOR)


def model_workload(n: int, users: int, groups: int, ivrs: int, schemes: int) -> list[object]:
    """A mix over the whole model: diverts, group members, exclusions, menus, schemes."""
    out: list[object] = []
    for i in range(n):
        ext = str(10000 + (i * 13) % users)
        group = f"g{i % groups}"
        match i % 6:
            case 0:
                out.append(c.SetDivert(tenant="bench", extension=ext, condition="busy", target=ToVoicemail()))
            case 1:
                out.append(c.AddGroupMember(tenant="bench", group=group,
                                            member=GroupMember(ref=LocalMember(extension=str(10700 + (i * 31) % 300)))))
            case 2:
                # takes out the member the previous command added
                out.append(c.RemoveGroupMember(tenant="bench", group=f"g{(i - 1) % groups}",
                                               member=LocalMember(extension=str(10700 + ((i - 1) * 31) % 300))))
            case 3:
                out.append(c.UpdateAnswerGroup(tenant="bench", group=group,
                                               settings=GroupSettings(name=f"Group {i}", fallback=ToGroup(group=f"g{(i + 1) % groups}"))))
            case 4:
                menu = IvrMenu(name=f"Menu {i}", prompt=AudioFileRef(audio_file="welcome"),
                               options={"1": ToGroup(group=group), "9": ToExtension(extension=ext)})
                out.append(c.SaveIvrMenu(tenant="bench", ivr=f"i{i % ivrs}", spec=menu))
            case _:
                steps = (SchemeStep(destination=ToExtension(extension=ext)), SchemeStep(destination=ToNumber(number="+46701234567")))
                out.append(c.SaveForwardingScheme(tenant="bench", scheme=f"s{i % schemes}",
                                                  spec=ForwardingScheme(name=f"Scheme {i}", steps=steps)))
    return out


def workload(n: int, users: int) -> list[object]:
    targets = [ToVoicemail(), ToNumber(number="+46701234567"), ToExtension(extension="10000")]
    conditions = ["busy", "no_answer", "unreachable"]
    return [
        c.SetDivert(tenant="bench", extension=str(10001 + i % (users - 1)), condition=conditions[i % 3],  # type: ignore[arg-type]
                    target=targets[(i // 3) % 3])
        for i in range(n)
    ]


def throughput(path: Path, cmds: list[object], setup: dict[str, int], rounds: int) -> tuple[float, float, float, list[float]]:
    """Commands/s and the two ceilings' events/s, measured in alternating rounds so drift hits all alike."""
    app = make_app(path)
    seed(app, **setup)
    raw_app = app  # the same file, as the issue asks; another originator id
    n = len(cmds)
    app.execute([cmds[0]], ACTOR)
    sample = app.recorder.select_events(app.tenant("bench").id, desc=True, limit=1)[0].state
    originator = uuid.uuid4()
    prepared = [StoredEvent(originator, v, "callroute/DivertSet", sample) for v in range(1, n + 1)]
    lean_originator = uuid.uuid4()
    lean_prepared = [StoredEvent(lean_originator, v, "callroute/DivertSet", sample) for v in range(1, n + 1)]
    writer = SQLiteEventWriter(path)
    per_round = n // rounds
    command_time = raw_time = lean_time = 0.0
    latencies: list[float] = []
    for r in range(rounds):
        block = slice(r * per_round, (r + 1) * per_round)
        start = time.perf_counter()
        for stored in prepared[block]:
            raw_app.recorder.insert_events([stored])
        raw_time += time.perf_counter() - start
        start = time.perf_counter()
        for stored in lean_prepared[block]:
            writer.insert([stored])
        lean_time += time.perf_counter() - start
        start = time.perf_counter()
        for cmd in cmds[block]:
            t0 = time.perf_counter()
            app.execute([cmd], ACTOR)
            latencies.append(time.perf_counter() - t0)
        command_time += time.perf_counter() - start
    done = per_round * rounds
    writer.close()
    return done / command_time, done / raw_time, done / lean_time, latencies


def load_times(path: Path, events: int) -> tuple[float, float, int]:
    app = make_app(path)
    users = 50
    seed(app, users)
    batch = workload(events - users - 2, users)
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
    parser.add_argument("--events", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        figures: list[dict[str, float]] = []
        ledger = {"users": 1000}
        model = {"users": 1000, "groups": 100, "ivrs": 50, "schemes": 50}
        for label, setup, cmds in (
            ("ledger tenant: 1,000 users, diverts", ledger, workload(args.commands, 1000)),
            ("whole model: 1,000 users, 100 groups, 50 IVRs, 50 schemes, mixed commands", model,
             model_workload(args.commands, 1000, 100, 50, 50)),
        ):
            rate, raw, lean, latencies = throughput(Path(tmp) / f"{len(figures)}.sqlite", cmds, setup, rounds=6)
            figures.append({"commands_per_s": round(rate), "library_insert_per_s": round(raw), "lean_insert_per_s": round(lean),
                            "ratio": round(rate / raw, 3), "ratio_to_lean_insert": round(rate / lean, 3),
                            "p50_us": round(sorted(latencies)[len(latencies) // 2] * 1e6),
                            "p99_us": round(sorted(latencies)[int(len(latencies) * 0.99)] * 1e6)})
            latencies.sort()
            print(label)
            print(f"  raw save, eventsourcing's recorder (1 prepared event / transaction): {raw:9.0f} events/s")
            print(f"  raw save, the lean writer (1 prepared event / transaction):          {lean:9.0f} events/s")
            print(f"  commands (load, validate, save one event):                           {rate:9.0f} commands/s")
            print(f"  ratio commands / eventsourcing's raw save:                           {rate / raw:9.2f}   (target >= 0.80)")
            print(f"  ratio commands / the lean writer's raw save:                         {rate / lean:9.2f}")
            print(f"  command latency p50 {latencies[len(latencies) // 2] * 1e6:.0f} us, "
                  f"p99 {latencies[int(len(latencies) * 0.99)] * 1e6:.0f} us  ({len(cmds)} commands)")
        snap, replay, version = load_times(Path(tmp) / "load.sqlite", args.events)
        print(f"load tenant of {version} events: {snap * 1e3:.1f} ms from snapshot, "
              f"{replay * 1e3:.1f} ms replaying from the first event (x{replay / snap:.0f})")
    print(json.dumps({"benchmark": "commands", "ratio": min(f["ratio"] for f in figures), "target": 0.8,
                      "ledger": figures[0], "whole_model": figures[1],
                      "load_from_snapshot_ms": round(snap * 1e3, 2), "load_by_replay_ms": round(replay * 1e3, 1)}))


if __name__ == "__main__":
    main()
