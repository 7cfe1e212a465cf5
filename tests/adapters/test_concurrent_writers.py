"""Concurrent writers on one tenant: real processes on one SQLite file, wall clocks, the product's write path.

Four processes change one tenant at once: every other command the same user (all four
processes on it), the rest each process's own user. Two processes run the command line
in-process (a fresh application per command, as separate ``callroute`` invocations are),
two keep one long-lived application (its cached tenant goes stale as the others write).
Every command carries a unique reason, so the store can be counted: every command that
reported success is stored exactly once, every refused one not at all, no refusal is a
bad-input exit (2) caused by the race, and the tenant's chain verifies.

Run one worker by hand: ``python -m tests.adapters.test_concurrent_writers DB INDEX MODE COUNT GO``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 4
COMMANDS = 75
"""Commands per worker: 300 in all, 2 to 10 s on a 2-core machine, by its load (before the retries were fixed, 8-11 % of
them failed here, with exit 2)."""
TENANT = "acme"
SHARED = "2001"
OPERATOR = ["--actor", "ops@platform", "--operator"]


def _ring_seconds(worker: int, index: int) -> int:
    """A value no other command sets (5-600), so that every command changes what it sets."""
    return 10 + worker * COMMANDS + index


def _worker(db: str, worker: int, mode: str, count: int, go: str) -> None:
    """Issue ``count`` divert changes, one line of JSON per command on stdout: marker, exit status, error lines, retries."""
    from structlog.testing import capture_logs

    from adapters.cli.errors import exit_code, refusal_text
    from core import commands as c
    from core.aggregates.context import Actor
    from core.aggregates.targets import ToVoicemail
    from core.errors import DomainError

    own = str(2002 + worker)
    runner = app = None
    if mode == "cli":
        from click.testing import CliRunner

        from adapters.cli import Wiring, cli

        runner = CliRunner()
    else:
        from adapters.bootstrap import build_app

        app = build_app(db)  # the wall clock and the lean SQLite writer, as every entry point wires them
        actor = Actor("ops@platform", operator=True)
        app.tenant(TENANT)  # cached from here on: the other writers make it stale
    Path(f"{go}.ready{worker}").touch()
    while not Path(go).exists():
        time.sleep(0.001)
    for index in range(count):
        extension = SHARED if index % 2 == 0 else own
        marker = f"w{worker}-{index}"
        ring = _ring_seconds(worker, index)
        if runner is not None:
            result = runner.invoke(cli, ["--db", db, *OPERATOR, "--log-level", "info", "divert", "set", "--tenant", TENANT,
                                         "--extension", extension, "--when", "no_answer", "--to", "voicemail",
                                         "--ring-seconds", str(ring), "--reason", marker], obj=Wiring())
            logs = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
            lines = [line for line in result.stderr.splitlines() if not line.startswith("{")]
            status = result.exit_code
            if result.exception is not None and not isinstance(result.exception, SystemExit):
                lines.append(f"crash: {result.exception!r}")
        else:
            command = c.SetDivert(tenant=TENANT, extension=extension, condition="no_answer", target=ToVoicemail(),
                                  ring_seconds=ring, reason=marker)
            with capture_logs() as logs:
                try:
                    app.execute([command], actor)  # type: ignore[union-attr]
                    status, lines = 0, []
                except DomainError as exc:  # what the command line does with a refusal
                    status, lines = exit_code(exc), [f"callroute: error: {refusal_text(exc, None, actor)}"]
                except Exception as exc:  # noqa: BLE001 - reported to the test, which fails on it
                    status, lines = 99, [f"crash: {exc!r}"]
        causes = [entry.get("cause") for entry in logs if entry.get("event") == "commands.retried"]
        print(json.dumps({"marker": marker, "exit": status, "lines": lines, "retries": len(causes), "causes": causes}), flush=True)


def _callroute(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "adapters.cli", "--db", str(db), *OPERATOR, *args],
                          capture_output=True, text=True, cwd=ROOT, check=False, timeout=120)


def _run_writers(db: Path, tmp_path: Path) -> tuple[list[dict[str, Any]], float]:
    go = tmp_path / "go"
    modes = ["cli", "app"] * (WORKERS // 2)
    procs = [subprocess.Popen([sys.executable, "-m", "tests.adapters.test_concurrent_writers", str(db), str(w), modes[w],
                               str(COMMANDS), str(go)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
             for w in range(WORKERS)]
    try:
        deadline = time.monotonic() + 120
        while not all(Path(f"{go}.ready{w}").exists() for w in range(WORKERS)):
            assert all(p.poll() is None for p in procs), "a writer ended before it started"
            assert time.monotonic() < deadline, "the writers did not start"
            time.sleep(0.01)
        started = time.perf_counter()
        go.touch()
        outputs = [p.communicate(timeout=120) for p in procs]
        wall = time.perf_counter() - started
    except BaseException:
        for proc in procs:
            proc.kill()
        raise AssertionError([proc.communicate()[1][-2000:] for proc in procs]) from None
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    return [json.loads(line) for out, _ in outputs for line in out.splitlines()], wall


# SQLite's writer holds the write lock from a command's third try, so no command is refused at all (asserted below);
# PostgreSQL's takes no such lock, and its processes are proven in tests/postgres/test_processes_pg.py.
@pytest.mark.sqlite_only
@pytest.mark.slow
def test_concurrent_writers_lose_nothing_and_refuse_only_with_the_conflict_line(tmp_path: Path) -> None:
    from adapters.bootstrap import build_app

    db = tmp_path / "store.sqlite"
    setup = build_app(db)  # the wall clock, like the writers'
    setup.create_tenant(actor=app_actor(), tenant=TENANT, name="Acme", time_zone="Europe/London")
    for extension in [SHARED, *(str(2002 + w) for w in range(WORKERS))]:
        setup.add_user(actor=app_actor(), tenant=TENANT, extension=extension, name=f"User {extension}")
    setup.close()

    results, wall = _run_writers(db, tmp_path)

    assert len(results) == WORKERS * COMMANDS
    accepted = {r["marker"] for r in results if r["exit"] == 0}
    refused = [r for r in results if r["exit"] != 0]
    for r in results:
        assert r["lines"] == [] if r["exit"] == 0 else len(r["lines"]) == 1, r
    # A refusal is the concurrent-change line with exit 4: never a bad-input exit 2 caused by the race, never a crash.
    assert [r for r in refused if r["exit"] != 4] == []
    for r in refused:
        assert r["lines"][0].startswith("callroute: error: "), r
        assert "nothing was stored" in r["lines"][0] and "retry" in r["lines"][0], r
    # And none at all: from the third try on a writer holds the lock from its load to its save, so it cannot lose again.
    assert refused == []

    from core.aggregates.identifiers import tenant_id

    app = build_app(db)
    stored = Counter(event.reason for event in app.events.get(tenant_id(TENANT)))
    # Every accepted command is stored exactly once; no refused one is stored at all.
    assert {marker: n for marker, n in stored.items() if marker in accepted and n != 1} == {}
    assert set(stored) - {None} == accepted
    assert app.tenant(TENANT).version == 1 + 1 + WORKERS + len(accepted)
    # The shared user's setting is that of the last accepted command on it, in the order stored.
    last_shared = [e for e in app.events.get(tenant_id(TENANT)) if getattr(e, "extension", None) == SHARED][-1]
    worker, index = map(int, last_shared.reason[1:].split("-"))
    assert app.get_user(TENANT, SHARED, app_actor()).handling.no_answer.ring_seconds == _ring_seconds(worker, index)
    app.close()

    verified = _callroute(db, "audit", "verify", "--tenant", TENANT)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "intact" in verified.stdout

    causes = Counter(cause for r in results for cause in r["causes"])
    print(f"\n{len(results)} commands from {WORKERS} processes in {wall:.2f} s: {len(accepted)} stored, {len(refused)} refused "
          f"(exit 4), {sum(causes.values())} retries ({dict(causes)}) in {sum(1 for r in results if r['retries'])} commands, "
          f"at most {max(r['retries'] for r in results)} for one")


# -- the pieces, in one process ---------------------------------------------------------------------------------------


def _store(tmp_path: Path) -> Path:
    from adapters.bootstrap import build_app
    from core.clock import SteppingClock
    from tests.adapters.clirun import NOW

    db = tmp_path / "store.sqlite"
    app = build_app(db, clock=SteppingClock(NOW))
    app.create_tenant(actor=app_actor(), tenant=TENANT, name="Acme", time_zone="Europe/Stockholm")
    app.add_user(actor=app_actor(), tenant=TENANT, extension=SHARED, name="Ann")
    app.close()
    return db


def test_a_clock_behind_the_last_change_is_exit_4_with_one_line_naming_both_instants(tmp_path: Path) -> None:
    from datetime import timedelta

    from core.clock import SteppingClock
    from tests.adapters.clirun import NOW, invoke

    db = _store(tmp_path)
    behind = SteppingClock(NOW - timedelta(seconds=2.5))  # another machine's clock dated the last change NOW
    result = invoke(["--db", str(db), *OPERATOR, "divert", "set", "--tenant", TENANT, "--extension", SHARED, "--when", "busy",
                     "--to", "voicemail"], clock=behind)
    assert result.exit_code == 4
    assert result.stdout == ""
    assert result.stderr == (
        "callroute: error: this machine's clock still read 2026-11-23 08:59:57+00:00 after 8 attempts, 2.500 s before the "
        "last change of 'acme' (2026-11-23 09:00:00+00:00), stored by a writer whose clock is ahead; nothing was stored, "
        "retry when the clocks agree\n")
    ahead = invoke(["--db", str(db), *OPERATOR, "divert", "set", "--tenant", TENANT, "--extension", SHARED, "--when", "busy",
                    "--to", "voicemail"], clock=SteppingClock(NOW))
    assert ahead.exit_code == 0, ahead.output


@pytest.mark.sqlite_only  # the SQLite writer and SQLite's write lock; see tests/backends.py
def test_retrying_pauses_a_random_doubling_while_and_locks_from_the_third_try(tmp_path: Path) -> None:
    from adapters.event_writer import SQLiteEventWriter

    slept: list[float] = []
    writer = SQLiteEventWriter(_store(tmp_path), sleep=slept.append, jitter=lambda low, high: high)
    held = []
    for lost in range(1, 8):
        with writer.retrying(lost):
            held.append(writer._connection is not None and writer._connection.in_transaction)
    assert slept == [0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.032]
    assert held == [False, True, True, True, True, True, True]  # the second try is unlocked; the third on hold the lock
    assert not writer._connection.in_transaction  # type: ignore[union-attr]  # a try that stored nothing lets go
    writer.close()


@pytest.mark.sqlite_only  # the SQLite writer and SQLite's write lock; see tests/backends.py
def test_a_held_lock_keeps_other_writers_out_from_the_load_until_the_insert_commits(tmp_path: Path) -> None:
    import sqlite3

    from eventsourcing.persistence import IntegrityError, StoredEvent

    from adapters.bootstrap import build_app
    from adapters.event_writer import SQLiteEventWriter
    from core.aggregates.identifiers import tenant_id

    db = _store(tmp_path)
    app = build_app(db)
    (first, second) = app.recorder.select_events(tenant_id(TENANT))
    nxt = StoredEvent(first.originator_id, 3, second.topic, second.state)
    mine = SQLiteEventWriter(db, sleep=lambda _: None)
    other = SQLiteEventWriter(db, lock_timeout=0.05)
    with mine.retrying(2):
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.insert([nxt])  # kept out (here after 50 ms; a real writer waits up to the store's lock timeout)
        assert len(app.recorder.select_events(tenant_id(TENANT))) == 2  # reads go on meanwhile
        assert mine.insert([nxt]) == [3]  # commits, and lets go
        with pytest.raises(IntegrityError):
            other.insert([nxt])  # the other writer then clashes, and retries on fresh state
    assert len(app.recorder.select_events(tenant_id(TENANT))) == 3
    app.close()
    mine.close()
    other.close()


@pytest.mark.sqlite_only  # the SQLite writer and SQLite's write lock; see tests/backends.py
def test_a_batch_inserted_under_the_held_lock_commits_all_or_nothing(tmp_path: Path) -> None:
    from eventsourcing.persistence import IntegrityError, StoredEvent

    from adapters.bootstrap import build_app
    from adapters.event_writer import SQLiteEventWriter
    from core.aggregates.identifiers import tenant_id

    db = _store(tmp_path)
    app = build_app(db)
    (first, second) = app.recorder.select_events(tenant_id(TENANT))
    batch = [StoredEvent(first.originator_id, v, second.topic, second.state) for v in (3, 4)]
    writer = SQLiteEventWriter(db, sleep=lambda _: None)
    with writer.retrying(3), pytest.raises(IntegrityError):
        writer.insert([*batch, StoredEvent(first.originator_id, 2, second.topic, second.state)])  # version 2 clashes
    assert not writer._connection.in_transaction  # type: ignore[union-attr]
    assert len(app.recorder.select_events(tenant_id(TENANT))) == 2
    with writer.retrying(3):
        assert writer.insert(batch) == [3, 4]
    assert len(app.recorder.select_events(tenant_id(TENANT))) == 4
    app.close()
    writer.close()


def app_actor() -> Any:
    from core.aggregates.context import Actor

    return Actor("ops@platform", operator=True)


if __name__ == "__main__":
    _worker(sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5])
