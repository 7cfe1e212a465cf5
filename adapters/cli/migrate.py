"""``callroute migrate SRC DST``: copy a whole store from SQLite to PostgreSQL, or back, then check the copy.

What is copied, byte for byte: every stored event in notification order (tenants, their provisioning records, the
access record: each record's hash chain, and the store head over them all, come out the same), and every snapshot.
The routing projection is not copied: it is built in DST from the copied events (a rebuild gives the same rows,
``core/projections/routing.py``), so a DST is ready to serve. The call events' tables (``call_events``, ``calls``,
``call_chain_heads``: ``adapters/call_store.py``, ``adapters/postgres_calls.py``) are copied row for row, each call event
under its SRC ``seq`` (so in the same order, with the same chain hashes and heads, and the same calls head), from one read
snapshot of SRC's; a SRC whose call events do not verify (``verify_calls``) is refused, and nothing is copied.

All or nothing. DST must be empty: a missing SQLite file, a PostgreSQL database (or the URL's schema) without
callroute's tables, or tables without events, projection rows or call events. The copy, its projection and its check
(DST's store head and event count, ``core.audit.walk_heads``, and its snapshots equal to SRC's; DST's call tables equal
to SRC's row for row and byte for byte, and ``verify_calls`` on DST intact with SRC's calls head; a SRC written to during
the copy is said so) are made where nothing else sees them, and DST gets all of it only once they have passed:

- into SQLite: a new file beside DST (``.NAME.migrate-…``) with the events, snapshots and call events, checked, then
  linked into DST's place in one step; on any failure it is removed, with the folders migrate made for it, and DST is
  as it was (missing, or the empty store);
- into PostgreSQL: one transaction on one connection, which creates the tables (PostgreSQL's DDL is transactional),
  inserts the events under their SRC notification ids, the snapshots, the call events (under their SRC ``seq``) and the
  projection's rows, reads them back to check them, and commits; any failure, a lost connection or a killed process
  rolls all of it back.

A process killed while copying into SQLite leaves its ``.NAME.migrate-…`` file (never DST): delete it.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

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
    call_events: int | None = None
    """How many call events were copied; None: SRC has no call tables (none are made in DST)."""
    calls_head: str | None = None
    """The calls head both stores lead to (``audit verify --operator``'s ``store calls head``)."""


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


def words(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _snapshots(app: Any, originators: list[Any]) -> list[Any]:
    if app.snapshots is None:
        return []
    return [row for originator in originators for row in app.snapshots.recorder.select_events(originator)]


def _not_empty(target: Any) -> MigrationError:
    return MigrationError(f"{target}: not empty (it holds events, a projection of them, or call events); migrate copies into an "
                          "empty store only")


def _insert_page(insert: Callable[[Sequence[Any]], Any], notifications: Sequence[Any]) -> None:
    """Insert one page of SRC's events into DST (one place, so a test can make a copy fail part-way)."""
    insert(notifications)


def _copy_events(src: Any, insert: Callable[[Sequence[Any]], Any], page: int) -> tuple[int, list[Any]]:
    """Every event of SRC in notification order, a page at a time, through ``insert``; how many, and the records in order."""
    events, originators, seen, start = 0, [], set(), 1
    while True:
        notifications = src.recorder.select_notifications(start, page)
        if notifications:
            _insert_page(insert, notifications)  # a Notification is a StoredEvent: the same bytes, in the same order
            events += len(notifications)
            for note in notifications:
                if note.originator_id not in seen:
                    seen.add(note.originator_id)
                    originators.append(note.originator_id)
        if len(notifications) < page:
            return events, originators
        start = notifications[-1].id + 1


def _key(originator_id: Any) -> str:
    return originator_id.hex if isinstance(originator_id, UUID) else str(originator_id).replace("-", "")


def _first_difference(src: Any, copy: Any, page: int) -> str | None:
    """Where DST's events (``copy``: a recorder) first differ from SRC's, in notification order, byte for byte; None."""
    starts, index = [1, 1], 0
    while True:
        ours, theirs = src.recorder.select_notifications(starts[0], page), copy.select_notifications(starts[1], page)
        for a, b in zip(ours, theirs, strict=False):
            index += 1
            if (_key(a.originator_id), a.originator_version, a.topic, bytes(a.state)) != (
                    _key(b.originator_id), b.originator_version, b.topic, bytes(b.state)):
                return f"event {index:,} (record {_key(a.originator_id)} version {a.originator_version}) is not SRC's"
        if len(ours) != len(theirs):
            return f"it holds {'fewer' if len(theirs) < len(ours) else 'more'} events than SRC after event {index:,}"
        if len(ours) < page:
            return None
        starts = [ours[-1].id + 1, theirs[-1].id + 1]


def _check_copy(src: Any, source: Any, target: Any, events: int, copy: Any, mapper: Any, snapshots: list[Any],
                copied_snapshots: list[Any], page: int) -> str:
    """Raise ``MigrationError`` unless DST's events (``copy``, a recorder) and snapshots are SRC's, byte for byte, and lead
    to the same store head; that head."""
    from core.audit import walk_heads

    before = walk_heads(src.recorder, src.mapper)
    if before.events != events:
        raise MigrationError(f"{source}: {before.events - events:,} events were stored in SRC during the copy; nothing was "
                             "copied: run migrate again when nothing writes to SRC", BROKEN)
    difference = _first_difference(src, copy, page)
    if difference is not None:
        raise MigrationError(f"{target}: the copy differs from SRC: {difference}; nothing was copied", BROKEN)
    after = walk_heads(copy, mapper)
    if (after.head, after.events) != (before.head, before.events):
        raise MigrationError(f"{target}: the copy's store head {after.head} after {after.events:,} events is not SRC's "
                             f"{before.head} after {before.events:,}; nothing was copied", BROKEN)
    if [(_key(s.originator_id), s.originator_version, s.topic, bytes(s.state)) for s in copied_snapshots] != [
            (_key(s.originator_id), s.originator_version, s.topic, bytes(s.state)) for s in snapshots]:
        raise MigrationError(f"{target}: the copied snapshots are not SRC's ({len(copied_snapshots):,} of {len(snapshots):,}); "
                             "nothing was copied", BROKEN)
    return str(before.head)


def migrate_store(source: Any, target: Any, *, page: int | None = None) -> Copied:
    """Copy the store at ``source`` into the empty store at ``target`` (each an SQLite path or a ``postgresql://`` URL) and
    check the copy, all or nothing; ``MigrationError`` (one line) when it is refused or fails, and then DST is as it was."""
    from adapters.bootstrap import is_file_store, shown, store_problem
    from adapters.cli.migrate_calls import source_calls

    source, target = shown(source), shown(target)  # named without a password in every message
    page = page or PAGE

    if str(source) == str(target) or (is_file_store(source) and is_file_store(target) and Path(str(target)).exists()
                                      and Path(str(source)).exists() and os.path.samefile(str(source), str(target))):
        raise MigrationError(f"{source}: SRC and DST are the same store")
    problem = store_problem(source)
    if problem is not None:
        if problem.missing:  # nothing there: a missing file, or a database without callroute's tables
            what = "no such file" if is_file_store(source) else "the database has no callroute tables"
            raise MigrationError(f"{source}: no store to copy ({what}); SRC must be an existing store, migrate creates "
                                 "only DST", problem.exit_code)
        raise MigrationError(str(problem), problem.exit_code)
    problem = store_problem(target)
    if problem is not None and not problem.missing:
        raise MigrationError(str(problem), problem.exit_code)
    calls = source_calls(source)
    src = _open(source, create=False)
    try:
        if is_file_store(target):
            return _into_sqlite(src, source, Path(str(target)), page, calls)
        return _into_postgres(src, source, target, page, calls)
    except MigrationError:
        raise
    except Exception as exc:  # a lost connection, a full disk, a damaged SRC: one line, and DST as it was
        raise MigrationError(f"{target}: the copy failed ({words(exc)}); nothing was copied, DST is as it was", BROKEN) from exc
    finally:
        src.close()


# -- into SQLite: a file of its own, linked into place ------------------------------------------------------------------

_SIDE_FILES = ("-wal", "-shm", "-journal")


def _sqlite_holds_anything(path: Path) -> bool:
    """Whether the SQLite store at ``path`` holds events, projection rows past position 0, or call tables' rows."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        checks = [("stored_events", "SELECT 1 FROM stored_events LIMIT 1"),
                  ("projection_position", "SELECT 1 FROM projection_position WHERE position > 0 LIMIT 1"),
                  ("call_events", "SELECT 1 FROM call_events LIMIT 1"), ("calls", "SELECT 1 FROM calls LIMIT 1"),
                  ("call_chain_heads", "SELECT 1 FROM call_chain_heads LIMIT 1")]
        return any(table in tables and connection.execute(query).fetchone() is not None for table, query in checks)


def _remove(path: Path) -> None:
    for name in (path, *(path.with_name(path.name + side) for side in _SIDE_FILES)):
        try:
            name.unlink()
        except FileNotFoundError:
            pass


def _folded(path: Path) -> None:
    """Fold the file's write-ahead log into it and remove the log: the file alone must be the whole store when linked."""
    with closing(sqlite3.connect(path)) as connection:
        busy, _, _ = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    wal = path.with_name(path.name + "-wal")
    if busy or (wal.exists() and wal.stat().st_size):
        raise MigrationError(f"{path}: its write-ahead log could not be folded into it (still open elsewhere)", BROKEN)
    for side in _SIDE_FILES:  # an empty log, and the log's index, which the next opener makes again
        path.with_name(path.name + side).unlink(missing_ok=True)


def _publish(temporary: Path, path: Path) -> None:
    """Put the checked copy at ``path`` in one step: a new name for a missing DST, else in place of the empty store."""
    try:
        os.link(temporary, path)  # refuses a DST that appeared meanwhile
    except FileExistsError:
        if _sqlite_holds_anything(path):
            raise _not_empty(path) from None
        os.replace(temporary, path)
    except OSError:  # a file system without hard links
        if path.exists() and _sqlite_holds_anything(path):
            raise _not_empty(path) from None
        os.replace(temporary, path)
    else:
        temporary.unlink()
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def _into_sqlite(src: Any, source: Any, path: Path, page: int, calls: Any) -> Copied:
    from adapters.bootstrap import build_app, build_projection
    from adapters.cli.migrate_calls import calls_into_sqlite

    if path.exists():
        wal = path.with_name(path.name + "-wal")
        if _sqlite_holds_anything(path):
            raise _not_empty(path)
        if wal.exists() and wal.stat().st_size:
            raise MigrationError(f"{path}: an empty store, but open elsewhere (its write-ahead log is not empty); "
                                 "nothing was copied")
    made: list[Path] = []  # the folders migrate makes for DST, removed again if the copy fails
    for folder in reversed([path.parent, *path.parent.parents]):
        if not folder.exists():
            folder.mkdir()
            made.append(folder)
    temporary = path.with_name(f".{path.name}.migrate-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        dst = _open(temporary, create=True)
        try:
            events, originators = _copy_events(src, dst.recorder.insert_events, page)
            snapshots = _snapshots(src, originators)
            if snapshots:
                dst.snapshots.recorder.insert_events(snapshots)
            head = _check_copy(src, source, path, events, dst.recorder, dst.mapper, snapshots, _snapshots(dst, originators),
                               page)
        finally:
            dst.close()
        call_events, calls_head = calls_into_sqlite(source, path, temporary, page) if calls is not None else (None, None)
        app = build_app(temporary)
        try:
            build_projection(app, temporary).store.close()  # DST's routing projection, from the copied events
        finally:
            app.close()
        _folded(temporary)
        _publish(temporary, path)
    except BaseException:
        _remove(temporary)
        for folder in reversed(made):
            try:
                folder.rmdir()
            except OSError:
                pass
        raise
    return Copied(events=events, records=len(originators), snapshots=len(snapshots), head=head, call_events=call_events,
                  calls_head=calls_head)


# -- into PostgreSQL: one transaction ----------------------------------------------------------------------------------


class _Rows:
    """A recorder's ``select_notifications`` and ``select_events`` over one connection, inside its transaction."""

    def __init__(self, connection: Any, table: Any) -> None:
        self.connection = connection
        self.table = table

    def select_notifications(self, start: int, limit: int, *_: Any, **__: Any) -> list[Any]:
        from eventsourcing.persistence import Notification
        from psycopg import sql

        rows = self.connection.execute(sql.SQL("SELECT notification_id, originator_id, originator_version, topic, state FROM {} "
                                               "WHERE notification_id >= %s ORDER BY notification_id LIMIT %s").format(self.table),
                                       (start, limit)).fetchall()
        return [Notification(id=row[0], originator_id=row[1], originator_version=row[2], topic=row[3], state=bytes(row[4]))
                for row in rows]

    def select_events(self, originator_id: Any) -> list[Any]:
        from eventsourcing.persistence import StoredEvent
        from psycopg import sql

        rows = self.connection.execute(sql.SQL("SELECT originator_id, originator_version, topic, state FROM {} "
                                               "WHERE originator_id = %s ORDER BY originator_version").format(self.table),
                                       (originator_id,)).fetchall()
        return [StoredEvent(originator_id=row[0], originator_version=row[1], topic=row[2], state=bytes(row[3])) for row in rows]


def _into_postgres(src: Any, source: Any, target: Any, page: int, calls: Any) -> Copied:
    from psycopg import errors, sql

    from adapters.cli.migrate_calls import calls_into_postgres, postgres_holds_calls
    from adapters.postgres import PROJECTION_SCHEMA, PostgresProjectionStore, connect, translated
    from adapters.postgres_calls import SCHEMA as CALLS_SCHEMA
    from core.projections.routing import RoutingProjection
    from core.wiring import resolve_store

    store = resolve_store(target)
    dst = _open(target, create=False)  # for its recorders' statements and the mapper: nothing is written through it
    connection = connect(store)  # type: ignore[arg-type]
    schema = store.schema  # type: ignore[union-attr]
    recorders = [dst.recorder, *([dst.snapshots.recorder] if dst.snapshots is not None else [])]
    events_table = sql.Identifier(schema, dst.recorder.events_table_name)
    try:
        with translated(), connection.transaction():
            # Whoever creates callroute's tables waits for this transaction (adapters/postgres.py takes the same locks).
            connection.execute("SELECT pg_advisory_xact_lock(hashtext('callroute tables'))")
            connection.execute("SELECT pg_advisory_xact_lock(hashtext('callroute projection schema'))")
            for recorder in recorders:  # the library's own statements (create_table), in this transaction
                for statement in recorder.sql_create_statements:
                    if "CREATE TYPE" in statement.as_string():
                        try:
                            with connection.transaction():  # a savepoint: the type may be there already
                                connection.execute(statement, prepare=False)
                        except errors.DuplicateObject:
                            pass
            for recorder in recorders:
                for statement in recorder.sql_create_statements:
                    if "CREATE TYPE" not in statement.as_string():
                        connection.execute(statement, prepare=False)
            for statement in PROJECTION_SCHEMA:
                connection.execute(statement)  # type: ignore[arg-type]
            connection.execute("INSERT INTO projection_position VALUES ('routing', 0) ON CONFLICT DO NOTHING")
            connection.execute(sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(events_table))  # no writer while it is checked
            if calls is not None:  # SRC's call tables, made as adapters.postgres_calls makes them (its lock, its statements)
                connection.execute("SELECT pg_advisory_xact_lock(hashtext('callroute call tables'))")
                for statement in CALLS_SCHEMA:
                    connection.execute(statement)  # type: ignore[arg-type]
            if connection.execute("SELECT to_regclass('call_events')").fetchone()[0] is not None:
                connection.execute("LOCK TABLE call_events IN EXCLUSIVE MODE")  # as a call store's writer takes it
            if (connection.execute(sql.SQL("SELECT 1 FROM {} LIMIT 1").format(events_table)).fetchone()
                    or connection.execute("SELECT 1 FROM projection_position WHERE position > 0").fetchone()
                    or postgres_holds_calls(connection)):
                raise _not_empty(target)

            insert = sql.SQL("INSERT INTO {} (notification_id, originator_id, originator_version, topic, state) "
                             "VALUES (%s, %s, %s, %s, %s)").format(events_table)

            def insert_events(notifications: Sequence[Any]) -> None:
                # Under SRC's notification ids: the projection built below from SRC's log holds DST's positions.
                with connection.cursor() as cursor:
                    cursor.executemany(insert, [(n.id, n.originator_id, n.originator_version, n.topic, n.state)
                                                for n in notifications])

            events, originators = _copy_events(src, insert_events, page)
            if events:
                    connection.execute(sql.SQL("SELECT setval(pg_get_serial_sequence(%s, 'notification_id'), "
                                           "(SELECT max(notification_id) FROM {}))").format(events_table),
                                   (f'"{schema}"."{dst.recorder.events_table_name}"',))
            snapshots = _snapshots(src, originators)
            snapshots_table = None
            if dst.snapshots is not None:
                snapshots_table = sql.Identifier(schema, dst.snapshots.recorder.events_table_name)
                if snapshots:
                    with connection.cursor() as cursor:
                        cursor.executemany(sql.SQL("INSERT INTO {} (originator_id, originator_version, topic, state) "
                                                   "VALUES (%s, %s, %s, %s)").format(snapshots_table),
                                           [(s.originator_id, s.originator_version, s.topic, s.state) for s in snapshots])
            call_events, calls_head = (calls_into_postgres(connection, source, target, page) if calls is not None
                                       else (None, None))
            projection_store = PostgresProjectionStore.__new__(PostgresProjectionStore)
            projection_store.name, projection_store.store, projection_store.connection = "routing", store, connection
            RoutingProjection(src, projection_store).catch_up()  # its batches are savepoints of this transaction
            copied_snapshots = [] if snapshots_table is None else [
                row for originator in originators for row in _Rows(connection, snapshots_table).select_events(originator)]
            head = _check_copy(src, source, target, events, _Rows(connection, events_table), dst.mapper, snapshots,
                               copied_snapshots, page)
    finally:
        connection.close()
        dst.close()
    return Copied(events=events, records=len(originators), snapshots=len(snapshots), head=head, call_events=call_events,
                  calls_head=calls_head)


@click.command("migrate")
@click.argument("source", metavar="SRC")
@click.argument("target", metavar="DST")
def migrate(source: str, target: str) -> None:
    """Copy the whole store SRC into the empty store DST, and check the copy.

    SRC and DST are each an SQLite file or a postgresql://user:password@host:port/dbname URL:
    from SQLite to PostgreSQL, or back. Every event is copied in the order it was stored, with
    every snapshot; DST's routing projection is built from them. The copy is checked: DST's store
    head (as audit verify --operator prints it) must equal SRC's. All or nothing: DST gets the
    copy only once it is checked, and a failure leaves DST as it was. DST must be empty (missing,
    or without events). The call events are copied too, in the order they were stored: DST's
    call tables must equal SRC's byte for byte, and verify with SRC's calls head.
    """
    from adapters.bootstrap import db_path

    src, dst = db_path(source), db_path(target)
    try:
        copied = migrate_store(src, dst)
    except MigrationError as exc:
        raise Failure(str(exc), exc.exit_code) from None
    what = f"{count(copied.events, 'event')} of {count(copied.records, 'record')}"
    if copied.call_events is None:
        what += f" and {count(copied.snapshots, 'snapshot')}"
    else:
        what += f", {count(copied.snapshots, 'snapshot')} and {count(copied.call_events, 'call event')}"
    click.echo(f"copied {what} from {src} to {dst}")
    click.echo(f"store head {copied.head} after {copied.events:,} events, the same in both")
    if copied.calls_head is not None:
        click.echo(f"store calls head {copied.calls_head} after {copied.call_events:,} call events, the same in both")


def count(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"
