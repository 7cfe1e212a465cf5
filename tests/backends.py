"""Which store the tests run on: SQLite files (the default), or a PostgreSQL server (``CALLROUTE_TEST_BACKEND=postgres``).

The suite is written against SQLite paths (``tmp_path / "c.sqlite"``, ``--db PATH``). On the PostgreSQL backend
the one place a store location is resolved, ``core.wiring.resolve_store``, is replaced for the whole run by
``Redirect``: each SQLite path that is not already a file or folder becomes a database of its own on the test
server, created on first use (``CREATE DATABASE``, about 20 ms) and dropped when the test that made it ends (a
session fixture's, when the run ends). Every opener (``wire``, ``build_app``, ``build_projection``,
``store_problem``, ``audit verify``) then goes to PostgreSQL, while messages still name the path the test gave.
A path that is a file or folder already (another program's file, ``/dev/zero``, a folder) stays what it is.

What stays on SQLite, and says so with ``@pytest.mark.sqlite_only``: tests that edit, damage, truncate or copy the
SQLite file itself, that read the fixture file ``tests/fixtures/store_2026_11.sqlite``, that check the lean SQLite
writer or SQLite's locks. On the PostgreSQL backend they are deselected, and the summary counts them. A child process
does not get this redirect: a test that opens its store in one hands it ``for_child(path)`` (the database's URL on
this backend, the path on SQLite). A test that reads, edits or deletes stored events with SQL does it through
``stored_events``, ``record_events``, ``overwrite_event_state`` and ``delete_event``, which do it in either store.

Connection pools an application opens on the test server are closed when the test ends (``close_pools``), so that
applications a test does not close leave no threads or connections behind.
"""

from __future__ import annotations

import itertools
import os
import sqlite3
import weakref
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import pytest

from core import wiring
from core.wiring import PostgresStore
from tests.pgserver import PostgresServer

ENV_BACKEND = "CALLROUTE_TEST_BACKEND"
BACKENDS = ("sqlite", "postgres")
BACKEND = os.environ.get(ENV_BACKEND, "sqlite").strip().lower() or "sqlite"
POSTGRES = BACKEND == "postgres"

_pools: weakref.WeakSet[Any] = weakref.WeakSet()


def track_pools() -> None:
    """Remember every connection pool eventsourcing opens, so that ``close_pools`` can close them."""
    from eventsourcing import postgres

    if getattr(postgres.ConnectionPool, "_callroute_tracked", False):
        return
    original = postgres.ConnectionPool.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        _pools.add(self)

    postgres.ConnectionPool.__init__ = init  # type: ignore[method-assign]
    postgres.ConnectionPool._callroute_tracked = True  # type: ignore[attr-defined]


def pools() -> set[Any]:
    """The connection pools open now."""
    return set(_pools)


def close_pools(keep: set[Any] | None = None) -> None:
    """Close the pools opened since ``keep`` was taken (every pool when ``None``)."""
    for pool in list(_pools):
        if keep is not None and pool in keep:
            continue
        try:
            pool.close(timeout=1)
        except Exception:  # noqa: BLE001, S110 - a pool already closed or broken: nothing left to close
            pass
        _pools.discard(pool)


class Redirect:
    """``core.wiring.resolve_store`` on the PostgreSQL backend: SQLite paths to databases of the test server."""

    def __init__(self, server: PostgresServer, original: Callable[[Any], Any]) -> None:
        self.server = server
        self.original = original
        self.databases: dict[str, str] = {}
        """Absolute path → database name."""
        self._names = (f"callroute_t{os.getpid()}_{n}" for n in itertools.count(1))
        self.paused = False
        """While set, paths stay SQLite files (``sqlite_files``: tests that move a store between the two kinds)."""

    def __call__(self, location: Any) -> Any:
        store = self.original(location)
        if not isinstance(store, Path) or self.paused:
            return store
        key = os.path.abspath(store)
        name = self.databases.get(key)
        if name is None:
            if store.exists() or store.is_symlink():
                return store  # a file or folder that is there already: a test about files, on SQLite
            self._forget_removed()
            name = next(self._names)
            self.server.create_database(name)
            self.databases[key] = name
        return PostgresStore(self.server.url(name))

    def _forget_removed(self) -> None:
        """Drop the databases of paths whose folder is gone (a ``TemporaryDirectory`` a property test made per example),
        and close their pools: a test that makes hundreds of stores holds the connections of the live ones only."""
        gone = {key for key in self.databases if not os.path.isdir(os.path.dirname(key))}
        if not gone:
            return
        names = {self.databases[key] for key in gone}
        for pool in list(_pools):
            if isinstance(pool.kwargs, dict) and pool.kwargs.get("dbname") in names:
                try:
                    pool.close(timeout=1)
                except Exception:  # noqa: BLE001, S110 - already closed or broken
                    pass
                _pools.discard(pool)
        for key in gone:
            self.server.drop_database(self.databases.pop(key))

    def clone(self, source: Path, target: Path) -> None:
        """Make ``target`` a new database that is a copy of ``source``'s."""
        self(source)
        name = next(self._names)
        self.server.create_database(name, template=self.databases[os.path.abspath(source)])
        self.databases[os.path.abspath(target)] = name

    def drop(self, keys: set[str], *, keep: set[Any] | None = None) -> None:
        """Drop the databases of ``keys`` (absolute paths), after closing the pools opened since ``keep`` was taken."""
        close_pools(keep)
        for key in keys:
            name = self.databases.pop(key, None)
            if name is not None:
                self.server.drop_database(name)


_redirect: Redirect | None = None


def install(server: PostgresServer) -> Redirect:
    """Send every store the tests open to ``server`` (for the rest of the run)."""
    global _redirect
    track_pools()
    _redirect = Redirect(server, wiring.resolve_store)
    wiring.resolve_store = _redirect  # type: ignore[assignment]
    return _redirect


def uninstall() -> None:
    global _redirect
    if _redirect is not None:
        wiring.resolve_store = _redirect.original  # type: ignore[assignment]
        _redirect.drop(set(_redirect.databases))
        _redirect = None


@contextmanager
def sqlite_files() -> Iterator[None]:
    """Paths are SQLite files inside this block on either backend (the PostgreSQL tests of ``callroute migrate``, which
    copy between an SQLite file and a database)."""
    if _redirect is None:
        yield
        return
    _redirect.paused = True
    try:
        yield
    finally:
        _redirect.paused = False


def redirect() -> Redirect | None:
    """The redirect in force (the PostgreSQL backend), else ``None``."""
    return _redirect


def copy_store(source: Path, target: Path) -> None:
    """A copy of the store at ``source`` at ``target``: SQLite's backup (with the write-ahead log), or on the PostgreSQL
    backend a new database made from ``source``'s as its template."""
    if _redirect is not None:
        _redirect.clone(source, target)
        return
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def for_child(location: Path | str) -> str:
    """What to hand a child process (``--db``, ``CALLROUTE_DB``) for the store at ``location``, which does not get the
    redirect: the path itself on SQLite; on the PostgreSQL backend the ``postgresql://`` URL of the database the path is
    redirected to (created now if it is new, and dropped with the test's other databases)."""
    store = wiring.resolve_store(location)
    return store.url if isinstance(store, PostgresStore) else str(location)


def store_exists(location: Path | str) -> bool:
    """Whether a store was made at ``location``: its SQLite file exists, or on the PostgreSQL backend a database was
    created for the path."""
    if _redirect is not None and not _redirect.paused and os.path.abspath(location) in _redirect.databases:
        return True
    return Path(location).exists()


def stored_event_count(location: Path | str) -> int:
    """How many events the store at ``location`` holds, read with SQL as a test reads the file (on the PostgreSQL backend,
    from its ``callroute_events`` table)."""
    store = wiring.resolve_store(location)
    if isinstance(store, PostgresStore):
        import psycopg

        with psycopg.connect(**store.conninfo()) as db:
            row = db.execute("SELECT count(*) FROM callroute_events").fetchone()
        return int(row[0]) if row else 0
    with closing(sqlite3.connect(store)) as db:  # type: ignore[arg-type]
        return int(db.execute("SELECT count(*) FROM stored_events").fetchone()[0])


def stored_events(location: Path | str) -> list[tuple[str, int, str, bytes]]:
    """Every stored event as (originator id hex, version, topic, state bytes), in the order stored, read with SQL (on the
    PostgreSQL backend from ``callroute_events``)."""
    store = wiring.resolve_store(location)
    if isinstance(store, PostgresStore):
        import psycopg

        with psycopg.connect(**store.conninfo()) as db:
            rows = db.execute("SELECT originator_id, originator_version, topic, state FROM callroute_events ORDER BY notification_id")
            return [(originator.hex, version, topic, bytes(state)) for originator, version, topic, state in rows]
    with closing(sqlite3.connect(store)) as db:  # type: ignore[arg-type]
        return list(db.execute("SELECT originator_id, originator_version, topic, state FROM stored_events ORDER BY rowid"))


def _tables(snapshots: bool) -> tuple[str, str]:
    """The table of the stored events (or snapshots) in an SQLite file, and in a PostgreSQL database."""
    return ("stored_snapshots", "callroute_snapshots") if snapshots else ("stored_events", "callroute_events")


def record_events(location: Path | str, originator: Any, *, snapshots: bool = False) -> list[tuple[int, str, bytes]]:
    """The stored events (or snapshots) of record ``originator`` (a UUID) as (version, topic, state bytes), by version,
    read with SQL."""
    sqlite_table, postgres_table = _tables(snapshots)
    store = wiring.resolve_store(location)
    if isinstance(store, PostgresStore):
        import psycopg

        with psycopg.connect(**store.conninfo()) as db:
            rows = db.execute(f"SELECT originator_version, topic, state FROM {postgres_table} WHERE originator_id = %s "
                              "ORDER BY originator_version", (originator,))
            return [(version, topic, bytes(state)) for version, topic, state in rows]
    with closing(sqlite3.connect(store)) as db:  # type: ignore[arg-type]
        return list(db.execute(f"SELECT originator_version, topic, state FROM {sqlite_table} WHERE originator_id = ? "
                               "ORDER BY originator_version", (originator.hex,)))


def overwrite_event_state(location: Path | str, originator: Any, version: int, state: bytes, *, snapshots: bool = False) -> None:
    """Overwrite the stored bytes of one event (or snapshot) with SQL, as someone with write access to the store would (on
    the PostgreSQL backend, in ``callroute_events`` or ``callroute_snapshots``)."""
    sqlite_table, postgres_table = _tables(snapshots)
    store = wiring.resolve_store(location)
    if isinstance(store, PostgresStore):
        import psycopg

        with psycopg.connect(**store.conninfo()) as db:
            changed = db.execute(f"UPDATE {postgres_table} SET state = %s WHERE originator_id = %s AND originator_version = %s",
                                 (state, originator, version)).rowcount
    else:
        with closing(sqlite3.connect(store)) as db, db:  # type: ignore[arg-type]
            changed = db.execute(f"UPDATE {sqlite_table} SET state = ? WHERE originator_id = ? AND originator_version = ?",
                                 (state, originator.hex, version)).rowcount
    assert changed == 1, f"no event {originator} version {version} in {location}"


def delete_event(location: Path | str, originator: Any, version: int | None) -> None:
    """Delete one stored event (every event of the record with ``version=None``) with SQL, as someone with write access
    to the store would (on the PostgreSQL backend, from ``callroute_events``)."""
    store = wiring.resolve_store(location)
    if isinstance(store, PostgresStore):
        import psycopg

        with psycopg.connect(**store.conninfo()) as db:
            changed = db.execute("DELETE FROM callroute_events WHERE originator_id = %s AND originator_version = "
                                 "coalesce(%s, originator_version)", (originator, version)).rowcount
    else:
        with closing(sqlite3.connect(store)) as db, db:  # type: ignore[arg-type]
            changed = db.execute("DELETE FROM stored_events WHERE originator_id = ? AND originator_version = "
                                 "coalesce(?, originator_version)", (originator.hex, version)).rowcount
    assert changed == 1 or (version is None and changed), f"no event {originator} version {version} in {location}"


sqlite_only = pytest.mark.sqlite_only
"""Marks a test about SQLite files themselves (see the module's docstring): deselected on the PostgreSQL backend."""
