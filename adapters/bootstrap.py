"""The one place that wires real parts together: the store, the wall clock, the PIN hasher.

A store is an SQLite file (a path; the lean SQLite writer appends its events) or a PostgreSQL database (a
``postgresql://user:password@host:port/dbname`` URL; eventsourcing's PostgreSQL recorder writes, ``adapters/postgres.py``).
Every function here takes either, and finds which through ``core.wiring.resolve_store``.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher

from adapters.directory import StoreDirectory, load_directory_file, tenant_access_of, tenant_users_of
from adapters.event_writer import SQLiteEventWriter
from adapters.projection_store import ProjectionMoved, SQLiteProjectionStore
from adapters.wallclock import WallClock
from core import wiring
from core.audit import stored_originators
from core.projections.routing import RoutingProjection
from core.service import CallrouteApp
from core.wiring import DEFAULT_LOCK_TIMEOUT_SECONDS, PostgresStore, StoreURLError, is_postgres_url, store_env, wire

StoreLocation = str | os.PathLike[str] | PostgresStore
"""Where a store is: an SQLite file's path, or a PostgreSQL database (a ``postgresql://`` URL or a ``PostgresStore``)."""

DEFAULT_DB = "callroute.sqlite"


class Argon2PinHasher:
    """Argon2id with a random salt (argon2-cffi's defaults: RFC 9106 low-memory profile)."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()

    def hash(self, pin: str) -> str:
        return self._hasher.hash(pin)

    def verify(self, pin_hash: str, pin: str) -> bool:
        """Whether ``pin`` matches ``pin_hash``."""
        try:
            return self._hasher.verify(pin_hash, pin)
        except Exception:  # argon2 raises VerifyMismatchError and friends
            return False


def db_path(explicit: str | None = None) -> Path | PostgresStore:
    """``--db``, else ``$CALLROUTE_DB``, else ``./callroute.sqlite``: an SQLite file's path, or a PostgreSQL database for a
    ``postgresql://`` URL (shown without its password)."""
    value = explicit or os.environ.get("CALLROUTE_DB") or DEFAULT_DB
    return PostgresStore(value) if is_postgres_url(value) else Path(value)


def sqlite_env(path: StoreLocation) -> dict[str, str]:
    """eventsourcing settings for one SQLite file (WAL, so readers never block the writer), or the database a URL names."""
    return store_env(path)


def shown(location: StoreLocation) -> object:
    """``location`` as messages name it: a URL without its password."""
    return PostgresStore(location) if is_postgres_url(location) else location


def is_file_store(location: StoreLocation) -> bool:
    """Whether ``location`` is an SQLite file (not a PostgreSQL database)."""
    return isinstance(wiring.resolve_store(location), Path)


class StoreProblem(str):
    """Why a path is not a store to read, in one line; ``exit_code`` 1 (``BROKEN``) when the file itself is damaged or not
    SQLite at all, or the database cannot be reached, 2 when the path names no store (missing, a folder, another
    program's SQLite file, a database without callroute's tables); ``missing``: nothing is there yet, so a command that
    creates a store may make one there."""

    exit_code: int
    missing: bool

    def __new__(cls, text: str, exit_code: int = 2, *, missing: bool = False) -> StoreProblem:
        problem = super().__new__(cls, text)
        problem.exit_code = exit_code
        problem.missing = missing
        return problem


def store_problem(location: StoreLocation) -> StoreProblem | None:
    """Why ``location`` is not a callroute store to read (missing, not SQLite, damaged or cut short, no callroute tables;
    a database that cannot be reached), or None."""
    store = wiring.resolve_store(location)
    if isinstance(store, PostgresStore):
        return _postgres_problem(location, store)
    path: Path = store  # type: ignore[assignment]
    if not path.exists():
        return StoreProblem(f"no store at {path}: make one with callroute apply FILE or callroute tenant create, "
                            "or run callroute demo and use the store it prints", missing=True)
    if path.is_dir():
        return StoreProblem(f"{path} is a folder, not a callroute store")
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            truncated = truncation(path, connection)
    except sqlite3.DatabaseError as exc:
        if "file is not a database" in str(exc):
            return StoreProblem(f"{path} is not a callroute store (not an SQLite file, or its header is damaged)", 1)
        return StoreProblem(damaged_text(path, exc), 1)
    if truncated is not None:
        return StoreProblem(truncated, 1)
    if "stored_events" not in tables:
        return StoreProblem(f"{path} is not a callroute store (it holds no callroute events)")
    return None


def _postgres_problem(location: StoreLocation, store: PostgresStore) -> StoreProblem | None:
    from eventsourcing.persistence import PersistenceError

    location = shown(location)  # type: ignore[assignment]
    try:
        from adapters.postgres import has_events_table, words
    except ImportError as exc:
        return StoreProblem(f"{location}: a PostgreSQL store needs psycopg ({exc}): pip install 'callroute[postgres]'")
    try:
        store.parts()
        present = has_events_table(store)
    except StoreURLError as exc:
        return StoreProblem(str(exc))
    except PersistenceError as exc:
        return StoreProblem(f"{location}: cannot read the PostgreSQL database ({words(exc)})", 1)
    if not present:
        demo = "" if isinstance(location, PostgresStore) else ", or run callroute demo and use the store it prints"
        return StoreProblem(f"no store at {location}: make one with callroute apply FILE or callroute tenant create{demo}",
                            missing=True)
    return None


def truncation(path: Path, connection: sqlite3.Connection) -> str | None:
    """Why the SQLite file at ``path`` is shorter than SQLite counts it (it was cut off), or None.

    SQLite counts the pages from the file's header; those past the end of the file can only be in
    the write-ahead log, each in a frame of at least a page. The file is only looked at with
    ``os.stat``: opening and closing it in this process would drop the locks SQLite holds on it
    (POSIX advisory locks belong to the process, and closing any descriptor of a file releases them).
    """
    pages = connection.execute("PRAGMA page_count").fetchone()[0]
    page_size = connection.execute("PRAGMA page_size").fetchone()[0]
    try:
        size = os.stat(path).st_size
        wal = os.stat(f"{path}-wal").st_size if os.path.exists(f"{path}-wal") else 0
    except OSError:
        return None
    if (pages * page_size - size) > wal:
        return damaged_text(path, f"{size:,} bytes where SQLite counts {pages:,} pages of {page_size:,} bytes: "
                                  "the file was cut short")
    return None


def damaged_text(path: StoreLocation, problem: object) -> str:
    """One line for an SQLite file that cannot all be read: the file, and SQLite's words for what is wrong (shortened);
    for a PostgreSQL database, the database and the driver's words."""
    words = " ".join(str(problem).replace("*** in database main ***", "").split()) or type(problem).__name__
    if len(words) > 160:
        words = words[:157] + "..."
    if not is_file_store(path):
        return f"{shown(path)}: the PostgreSQL database cannot be read or written ({words})"
    if "file is not a database" in words:
        return f"{path}: not an SQLite file, or its header is damaged ({words}); if it was a callroute store, restore it from a backup"
    return f"{path}: the SQLite file is damaged ({words}), so what it stores cannot all be read; restore it from a backup"


def stored_aggregate_ids(path: StoreLocation) -> set[str]:
    """The ids (hex) of every aggregate with events in an existing store, read through the library's recorder."""
    app = CallrouteApp({**store_env(path), "CREATE_TABLE": "n"}, clock=WallClock(), pin_hasher=Argon2PinHasher())
    try:
        return stored_originators(app.recorder)
    finally:
        app.close()


def directory_path(explicit: str | None = None) -> Path | None:
    """``--pbx-directory``, else ``$CALLROUTE_PBX_DIRECTORY``, else none."""
    value = explicit or os.environ.get("CALLROUTE_PBX_DIRECTORY")
    return Path(value) if value else None


def build_app(
    path: StoreLocation, *, clock: object | None = None, pin_hasher: object | None = None, pbx_directory: Path | None = None
) -> CallrouteApp:
    """A ``CallrouteApp`` on the SQLite file at ``path`` (created if missing), or on the PostgreSQL database a
    ``postgresql://`` URL names (its tables created if missing; the database must exist).

    Other cloud PBXs are the store's other tenants; SIP PBXs come from the
    ``pbx_directory`` TOML file, if given.
    """
    store = wiring.resolve_store(path)
    sip = load_directory_file(pbx_directory) if pbx_directory is not None else None
    parts: dict[str, object] = {
        "clock": clock or WallClock(),
        "pin_hasher": pin_hasher or Argon2PinHasher(),
        "directory": lambda app: StoreDirectory(tenant_users_of(app), sip, tenant_access_of(app)),
    }
    if isinstance(store, PostgresStore):
        from adapters.postgres import PostgresEventWriter, create_tables, guard_outages

        writer = PostgresEventWriter()
        app = wire(store, **parts, event_writer=writer, create_tables=False)  # type: ignore[arg-type]
        create_tables(app)
        writer.recorder, writer.store = app.recorder, store
        guard_outages(app, store)  # a lost server: calls fail at once, in one line, and the pool is renewed when it returns
        return app
    assert store is not None
    if store.parent and not store.parent.exists():
        store.parent.mkdir(parents=True, exist_ok=True)
    return wire(store, **parts, event_writer=SQLiteEventWriter(store, lock_timeout=DEFAULT_LOCK_TIMEOUT_SECONDS))  # type: ignore[arg-type]


class UnsupportedStore(Exception):
    """What a kind of store does not keep (one line naming the store; exit 2 from the command line)."""


def open_call_store(location: StoreLocation) -> Any:
    """The call events' tables in the SQLite file at ``location`` (``adapters.call_store.CallStore``), or in the
    PostgreSQL database a ``postgresql://`` URL names (``adapters.postgres_calls.PostgresCallStore``: the same methods,
    rows, keys and hash chains)."""
    store = wiring.resolve_store(location)
    if isinstance(store, PostgresStore):
        from adapters.postgres_calls import PostgresCallStore

        return PostgresCallStore(store)
    from adapters.call_store import CallStore

    return CallStore(store)  # type: ignore[arg-type]


def open_projection_store(location: StoreLocation, *, create: bool = True) -> Any:
    """The routing projection's store in the same SQLite file or PostgreSQL database as the events; with ``create=False``,
    ``None`` when it has no projection tables yet (nothing is created)."""
    store = wiring.resolve_store(location)
    if isinstance(store, PostgresStore):
        from adapters.postgres import PostgresProjectionStore

        projection_store = PostgresProjectionStore(store, create=create)
        if not create and not projection_store.exists():
            projection_store.close()
            return None
        return projection_store
    assert store is not None
    if not create:
        with closing(sqlite3.connect(f"file:{store}?mode=ro", uri=True)) as connection:
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "projection_position" not in tables:
            return None
    return SQLiteProjectionStore(store)


def build_projection(app: CallrouteApp, path: StoreLocation) -> RoutingProjection:
    """The routing projection of ``app``, tracked in the same SQLite file or PostgreSQL database, caught up to the last event."""
    for _ in range(5):
        projection = RoutingProjection(app, open_projection_store(path))
        try:
            projection.catch_up()
            return projection
        except ProjectionMoved:
            continue  # another process committed first: reload what it stored and go on from there
    projection = RoutingProjection(app, open_projection_store(path))
    projection.catch_up()
    return projection
