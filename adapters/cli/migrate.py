"""``callroute migrate SRC DST``: copy a whole store from SQLite to PostgreSQL, or back, then check the copy.

What is copied, byte for byte through eventsourcing's recorders: every stored event in notification order (tenants,
their provisioning records, the access record: each record's hash chain, and the store head over them all, come out
the same), and every snapshot. The routing projection is not copied: it is built in DST from the copied events (a
rebuild gives the same rows, ``core/projections/routing.py``), so a DST is ready to serve. Call events are kept in
SQLite stores only: a SRC that holds any is refused, and nothing is copied.

DST must be empty: a missing SQLite file, a PostgreSQL database without callroute's tables, or tables without events.
After the copy, DST's store head and event count (``core.audit.walk_heads``) and its snapshots must equal SRC's; a
SRC written to during the copy is said so. A copy that fails part-way leaves what it copied in DST: empty DST (delete
the file, or drop the database's tables) before running migrate again.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from adapters.cli.errors import BROKEN, Failure

PAGE = 1000
"""Events read and inserted per transaction."""


@dataclass(frozen=True)
class Copied:
    """What ``migrate_store`` copied, and the store head both stores lead to."""

    events: int
    records: int
    snapshots: int
    head: str


class MigrationError(Exception):
    """Why a migration was refused or did not copy what it should have (one line); ``exit_code`` as the command's."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def _open(location: Any, *, create: bool) -> Any:
    from adapters.bootstrap import Argon2PinHasher
    from adapters.wallclock import WallClock
    from core.service import CallrouteApp
    from core.wiring import store_env

    env = store_env(location)
    if not create:
        env["CREATE_TABLE"] = "n"
    return CallrouteApp(env, clock=WallClock(), pin_hasher=Argon2PinHasher())


def _call_events(location: Any) -> int:
    """How many call events the store at ``location`` holds (only SQLite stores keep them)."""
    from adapters.bootstrap import is_file_store

    if not is_file_store(location):
        return 0
    with closing(sqlite3.connect(f"file:{location}?mode=ro", uri=True)) as connection:
        if connection.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'call_events'").fetchone() is None:
            return 0
        return int(connection.execute("SELECT count(*) FROM call_events").fetchone()[0])


def _snapshots(app: Any, originators: list[Any]) -> list[Any]:
    if app.snapshots is None:
        return []
    return [row for originator in originators for row in app.snapshots.recorder.select_events(originator)]


def migrate_store(source: Any, target: Any, *, page: int = PAGE) -> Copied:
    """Copy the store at ``source`` into the empty store at ``target`` (each an SQLite path or a ``postgresql://`` URL) and
    check the copy; ``MigrationError`` (one line) when it is refused or the copy differs."""
    from adapters.bootstrap import build_app, build_projection, is_file_store, open_projection_store, shown, store_problem
    from core.audit import walk_heads

    source, target = shown(source), shown(target)  # named without a password in every message

    if str(source) == str(target):
        raise MigrationError(f"{source}: SRC and DST are the same store")
    problem = store_problem(source)
    if problem is not None:
        raise MigrationError(f"SRC {problem}" if problem.missing else str(problem), problem.exit_code)
    problem = store_problem(target)
    if problem is not None and not problem.missing:
        raise MigrationError(str(problem), problem.exit_code)
    calls = _call_events(source)
    if calls:
        raise MigrationError(f"{source}: holds {calls:,} call events, which migrate does not copy (call events are kept in SQLite "
                             "stores only); nothing was copied")
    if is_file_store(target):
        Path(str(target)).parent.mkdir(parents=True, exist_ok=True)
    src = _open(source, create=False)
    dst = _open(target, create=True)
    try:
        held = dst.recorder.max_notification_id() or 0
        projection = open_projection_store(target, create=False)
        if projection is not None:
            try:
                held = held or projection.load().position
            finally:
                projection.close()
        if held:
            raise MigrationError(f"{target}: not empty (it holds events, or a projection of them); migrate copies into an "
                                 "empty store only")
        events, originators = 0, []
        seen: set[Any] = set()
        start = 1
        while True:
            notifications = src.recorder.select_notifications(start, page)
            if notifications:
                dst.recorder.insert_events(notifications)  # a Notification is a StoredEvent: the same bytes, in the same order
                events += len(notifications)
                for note in notifications:
                    if note.originator_id not in seen:
                        seen.add(note.originator_id)
                        originators.append(note.originator_id)
            if len(notifications) < page:
                break
            start = notifications[-1].id + 1
        snapshots = _snapshots(src, originators)
        if snapshots:
            dst.snapshots.recorder.insert_events(snapshots)
        before = walk_heads(src.recorder, src.mapper)
        after = walk_heads(dst.recorder, dst.mapper)
        if before.events != events:
            raise MigrationError(f"{source}: {before.events - events:,} events were stored in SRC during the copy; DST holds the "
                                 f"{events:,} before them: empty DST and run migrate again when nothing writes to SRC", BROKEN)
        if (after.head, after.events) != (before.head, before.events):
            raise MigrationError(f"{target}: the copy's store head {after.head} after {after.events:,} events is not SRC's "
                                 f"{before.head} after {before.events:,}", BROKEN)
        copied = _snapshots(dst, originators)
        if [(s.originator_id, s.originator_version, s.topic, s.state) for s in copied] != [
                (s.originator_id, s.originator_version, s.topic, s.state) for s in snapshots]:
            raise MigrationError(f"{target}: the copied snapshots are not SRC's ({len(copied):,} of {len(snapshots):,})", BROKEN)
    finally:
        src.close()
        dst.close()
    app = build_app(target)
    try:
        build_projection(app, target).store.close()  # DST's routing projection, from the copied events
    finally:
        app.close()
    return Copied(events=events, records=len(originators), snapshots=len(snapshots), head=after.head)


@click.command("migrate")
@click.argument("source", metavar="SRC")
@click.argument("target", metavar="DST")
def migrate(source: str, target: str) -> None:
    """Copy the whole store SRC into the empty store DST, and check the copy.

    SRC and DST are each an SQLite file or a postgresql://user:password@host:port/dbname URL:
    from SQLite to PostgreSQL, or back. Every event is copied in the order it was stored, with
    every snapshot; DST's routing projection is built from them. The copy is checked: DST's store
    head (as audit verify --operator prints it) must equal SRC's. DST must be empty; SRC must hold
    no call events (they are kept in SQLite stores only).
    """
    from adapters.bootstrap import db_path

    src, dst = db_path(source), db_path(target)
    try:
        copied = migrate_store(src, dst)
    except MigrationError as exc:
        raise Failure(str(exc), exc.exit_code) from None
    click.echo(f"copied {_count(copied.events, 'event')} of {_count(copied.records, 'record')} and "
               f"{_count(copied.snapshots, 'snapshot')} from {src} to {dst}")
    click.echo(f"store head {copied.head} after {copied.events:,} events, the same in both")


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"
