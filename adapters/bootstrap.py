"""The one place that wires real parts together: the store, the wall clock, the PIN hasher."""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from pathlib import Path

from argon2 import PasswordHasher

from adapters.directory import StoreDirectory, load_directory_file, tenant_access_of, tenant_users_of
from adapters.event_writer import SQLiteEventWriter
from adapters.projection_store import ProjectionMoved, SQLiteProjectionStore
from adapters.wallclock import WallClock
from core.audit import stored_originators
from core.projections.routing import RoutingProjection
from core.service import CallrouteApp
from core.wiring import DEFAULT_LOCK_TIMEOUT_SECONDS, store_env, wire

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


def db_path(explicit: str | None = None) -> Path:
    """``--db``, else ``$CALLROUTE_DB``, else ``./callroute.sqlite``."""
    return Path(explicit or os.environ.get("CALLROUTE_DB") or DEFAULT_DB)


def sqlite_env(path: Path) -> dict[str, str]:
    """eventsourcing settings for one SQLite file (WAL, so readers never block the writer)."""
    return store_env(path)


class StoreProblem(str):
    """Why a path is not a store to read, in one line; ``exit_code`` 1 (``BROKEN``) when the file itself is damaged or not
    SQLite at all, 2 when the path names no store (missing, a folder, another program's SQLite file)."""

    exit_code: int

    def __new__(cls, text: str, exit_code: int = 2) -> StoreProblem:
        problem = super().__new__(cls, text)
        problem.exit_code = exit_code
        return problem


def store_problem(path: Path) -> StoreProblem | None:
    """Why ``path`` is not a callroute store to read (missing, not SQLite, damaged or cut short, no callroute tables), or None."""
    if not path.exists():
        return StoreProblem(f"no store at {path}: make one with callroute apply FILE or callroute tenant create, "
                            "or run callroute demo and use the store it prints")
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


def damaged_text(path: Path, problem: object) -> str:
    """One line for an SQLite file that cannot all be read: the file, and SQLite's words for what is wrong (shortened)."""
    words = " ".join(str(problem).replace("*** in database main ***", "").split()) or type(problem).__name__
    if len(words) > 160:
        words = words[:157] + "..."
    if "file is not a database" in words:
        return f"{path}: not an SQLite file, or its header is damaged ({words}); if it was a callroute store, restore it from a backup"
    return f"{path}: the SQLite file is damaged ({words}), so what it stores cannot all be read; restore it from a backup"


def stored_aggregate_ids(path: Path) -> set[str]:
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
    path: str | os.PathLike[str], *, clock: object | None = None, pin_hasher: object | None = None, pbx_directory: Path | None = None
) -> CallrouteApp:
    """A ``CallrouteApp`` on the SQLite file at ``path`` (created if missing).

    Other cloud PBXs are the store's other tenants; SIP PBXs come from the
    ``pbx_directory`` TOML file, if given.
    """
    path = Path(path)
    if path.parent and not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    sip = load_directory_file(pbx_directory) if pbx_directory is not None else None
    return wire(
        path,
        clock=clock or WallClock(),  # type: ignore[arg-type]
        pin_hasher=pin_hasher or Argon2PinHasher(),  # type: ignore[arg-type]
        directory=lambda app: StoreDirectory(tenant_users_of(app), sip, tenant_access_of(app)),
        event_writer=SQLiteEventWriter(path, lock_timeout=DEFAULT_LOCK_TIMEOUT_SECONDS),
    )


def build_projection(app: CallrouteApp, path: Path) -> RoutingProjection:
    """The routing projection of ``app``, tracked in the same SQLite file, caught up to the last event."""
    for _ in range(5):
        projection = RoutingProjection(app, SQLiteProjectionStore(path))
        try:
            projection.catch_up()
            return projection
        except ProjectionMoved:
            continue  # another process committed first: reload what it stored and go on from there
    projection = RoutingProjection(app, SQLiteProjectionStore(path))
    projection.catch_up()
    return projection
