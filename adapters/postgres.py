"""The store on PostgreSQL: the routing projection's rows, the retry pause of the writers, and what a URL holds.

The events and snapshots are eventsourcing's (its PostgreSQL recorder, selected by a ``postgresql://`` URL:
``core/wiring.py``), in the tables ``callroute_events`` and ``callroute_snapshots`` (the library names them after the
application; the rows are the same as SQLite's ``stored_events`` and ``stored_snapshots``: the same topics, the same
JSON bytes, the same hash chains). The library's recorder writes: it takes the events table's lock for each insert,
so notification ids are given in commit order, and a version already stored is its ``IntegrityError``, which
``CallrouteApp.execute`` answers by running the batch again (``PostgresEventWriter`` adds the pause between tries
that the SQLite writer makes).

The projection's rows are in tables of the same names and columns as in SQLite (``projection_*``, bytes in ``bytea``),
written by ``PostgresProjectionStore`` on a connection of its own, rows and position in one transaction. psycopg is
synchronous: a trio program calls all of this through ``trio.to_thread.run_sync``.
"""

from __future__ import annotations

import random
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import msgspec
import psycopg
from eventsourcing.persistence import IntegrityError, OperationalError, PersistenceError, StoredEvent

from adapters.event_writer import FIRST_RETRY_PAUSE_SECONDS, MAX_RETRY_PAUSE_SECONDS
from adapters.projection_store import _ZLIB, ProjectionMoved, _change_run, _confirmation, _decoded, _encode, _policy
from core.errors import StoreIntegrityError
from core.projections import LoadedProjection, ProjectionBatch
from core.wiring import PostgresStore

EVENTS_TABLE = "callroute_events"
SNAPSHOTS_TABLE = "callroute_snapshots"

PROJECTION_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS projection_position (name TEXT PRIMARY KEY, position BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS projection_tenants (aggregate_id TEXT PRIMARY KEY, slug TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS projection_change_runs (seq BIGSERIAL PRIMARY KEY, slug TEXT NOT NULL, records BYTEA NOT NULL)",
    "CREATE TABLE IF NOT EXISTS projection_confirmations (seq BIGSERIAL PRIMARY KEY, slug TEXT NOT NULL, record BYTEA NOT NULL)",
    "CREATE TABLE IF NOT EXISTS projection_policies (seq BIGSERIAL PRIMARY KEY, slug TEXT NOT NULL, record BYTEA NOT NULL)",
    "CREATE TABLE IF NOT EXISTS projection_tables (slug TEXT NOT NULL, version BIGINT NOT NULL, blob BYTEA NOT NULL, "
    "PRIMARY KEY (slug, version))",
)
"""SQLite's projection tables (``adapters/projection_store.py``) in PostgreSQL's types; a store here is never older than
the one-row-per-batch change records, so it has no ``projection_changes``."""


def words(exc: BaseException) -> str:
    """The driver's message on one line."""
    return " ".join(str(exc).split()) or type(exc).__name__


@contextmanager
def translated() -> Iterator[None]:
    """psycopg's errors as eventsourcing's (what the command line maps to one line): a lost or refused connection is an
    ``OperationalError``, anything else a ``PersistenceError``."""
    try:
        yield
    except psycopg.IntegrityError as exc:
        raise IntegrityError(words(exc)) from exc
    except psycopg.OperationalError as exc:
        raise OperationalError(words(exc)) from exc
    except psycopg.Error as exc:
        raise PersistenceError(words(exc)) from exc


def connect(store: PostgresStore) -> psycopg.Connection[Any]:
    """A connection of its own to ``store``'s database (autocommit; the URL's schema first on the search path)."""
    keywords: dict[str, Any] = dict(store.conninfo())
    if store.schema != "public":
        keywords["options"] = f"-c search_path={store.schema}"
    with translated():
        return psycopg.connect(**keywords, autocommit=True)


def has_events_table(store: PostgresStore) -> bool:
    """Whether the database holds callroute's events table (``OperationalError`` when it cannot be reached)."""
    with connect(store) as connection, translated():
        row = connection.execute("SELECT to_regclass(%s)", (f'"{store.schema}"."{EVENTS_TABLE}"',)).fetchone()
    return row is not None and row[0] is not None


def create_tables(app: Any) -> None:
    """Create the application's event and snapshot tables if the database has none yet, on the application's own pool.

    (The library's ``CREATE_TABLE`` runs its ``CREATE ... IF NOT EXISTS`` statements, a composite type and a function
    among them, on every start: a dozen round trips, most of a short command's time.)
    """
    recorder = app.recorder
    table = f'"{recorder.datastore.schema}"."{recorder.events_table_name}"'
    with recorder.datastore.get_connection() as connection:
        row = connection.execute("SELECT to_regclass(%s) AS found", (table,)).fetchone()
    if row is not None and row["found"] is not None:
        return
    with recorder.datastore.get_connection() as connection:
        # One creator at a time: two processes creating the same tables at once can clash in the catalog.
        connection.execute("SELECT pg_advisory_lock(hashtext('callroute tables'))")
        try:
            recorder.create_table()
            if app.snapshots is not None:
                app.snapshots.recorder.create_table()
        finally:
            connection.execute("SELECT pg_advisory_unlock(hashtext('callroute tables'))")


class PostgresEventWriter:
    """eventsourcing's PostgreSQL recorder as the application's event writer, with the pause between tries.

    ``insert`` is the recorder's ``insert_events`` (one transaction, the events table locked for it, notification ids in
    commit order; a version clash is ``IntegrityError``). ``retrying`` makes the SQLite writer's pause of random length
    before each further try of a batch that lost to another writer (up to 1 ms after one lost try, doubling to 32 ms);
    it takes no lock: a try that loses again is tried again, up to ``CallrouteApp.max_attempts``.
    ``recorder`` is set once the application exists (``adapters.bootstrap.build_app``).
    """

    def __init__(self, *, sleep: Callable[[float], None] = time.sleep, jitter: Callable[[float, float], float] = random.uniform) -> None:
        self.recorder: Any = None
        self._sleep = sleep
        self._jitter = jitter

    def insert(self, stored_events: Sequence[StoredEvent]) -> list[int]:
        ids = self.recorder.insert_events(stored_events)
        return list(ids or ())

    @contextmanager
    def retrying(self, lost: int) -> Iterator[None]:
        self._sleep(self._jitter(0.0, min(MAX_RETRY_PAUSE_SECONDS, FIRST_RETRY_PAUSE_SECONDS * 2 ** (lost - 1))))
        yield


class PostgresProjectionStore:
    """The routing projection's rows and position in PostgreSQL, committed together in one transaction.

    The same contract as ``SQLiteProjectionStore``: ``load``, ``commit`` (refused with ``ProjectionMoved`` when another
    process committed first: the position row is locked and compared inside the transaction), ``table``, ``keys``.
    """

    def __init__(self, store: PostgresStore, name: str = "routing", *, create: bool = True) -> None:
        self.name = name
        self.store = store
        self.connection = connect(store)
        with translated():
            if create and not self.exists():
                with self.connection.transaction():
                    # One creator at a time: CREATE TABLE IF NOT EXISTS can still clash in the catalog when run at once.
                    self.connection.execute("SELECT pg_advisory_xact_lock(hashtext('callroute projection schema'))")
                    for statement in PROJECTION_SCHEMA:
                        self.connection.execute(statement)  # type: ignore[arg-type]
                    self.connection.execute("INSERT INTO projection_position VALUES (%s, 0) ON CONFLICT DO NOTHING", (name,))

    def exists(self) -> bool:
        """Whether the database holds the projection's tables."""
        with translated():
            row = self.connection.execute("SELECT to_regclass('projection_position')").fetchone()
        return row is not None and row[0] is not None

    def load(self) -> LoadedProjection:
        db = self.connection
        with translated(), db.transaction():  # one snapshot of the rows and their position
            row = db.execute("SELECT position FROM projection_position WHERE name = %s", (self.name,)).fetchone()
            tenants = dict(db.execute("SELECT aggregate_id, slug FROM projection_tenants").fetchall())
            runs = db.execute("SELECT seq, slug, records FROM projection_change_runs ORDER BY seq").fetchall()
            confirmations = db.execute("SELECT seq, slug, record FROM projection_confirmations ORDER BY seq").fetchall()
            policies = db.execute("SELECT seq, slug, record FROM projection_policies ORDER BY seq").fetchall()
        try:
            return LoadedProjection(
                position=row[0] if row else 0,
                tenants=tenants,
                changes=[(slug, change) for seq, slug, run in runs
                         for change in _decoded(_change_run, bytes(run), "change records", slug, seq)],
                confirmations=[(slug, _decoded(_confirmation, bytes(r), "confirmation", slug, seq)) for seq, slug, r in confirmations],
                policies=[(slug, _decoded(_policy, bytes(r), "policy", slug, seq)) for seq, slug, r in policies],
            )
        except (TypeError, ValueError, msgspec.ValidationError) as exc:
            raise StoreIntegrityError("the routing projection's rows", None, f"cannot be read ({exc})") from None

    def commit(self, expected_position: int, batch: ProjectionBatch) -> None:
        runs = [(slug, _encode(changes)) for slug, changes in batch.changes.items() if changes]
        tables = [(slug, version, zlib.compress(blob, 1)) for slug, version, blob in batch.tables]
        db = self.connection
        with translated(), db.transaction(), db.cursor() as cursor:
            row = cursor.execute("SELECT position FROM projection_position WHERE name = %s FOR UPDATE", (self.name,)).fetchone()
            current = row[0] if row else 0
            if current != expected_position:
                raise ProjectionMoved(f"projection {self.name!r} is at {current}, not {expected_position}: reload it")
            if batch.tenants:
                cursor.executemany("INSERT INTO projection_tenants VALUES (%s, %s)", list(batch.tenants.items()))
            if runs:
                cursor.executemany("INSERT INTO projection_change_runs (slug, records) VALUES (%s, %s)", runs)
            if batch.confirmations:
                cursor.executemany("INSERT INTO projection_confirmations (slug, record) VALUES (%s, %s)",
                                   [(slug, _encode(r)) for slug, r in batch.confirmations])
            if batch.policies:
                cursor.executemany("INSERT INTO projection_policies (slug, record) VALUES (%s, %s)",
                                   [(slug, _encode(r)) for slug, r in batch.policies])
            if tables:
                cursor.executemany("INSERT INTO projection_tables VALUES (%s, %s, %s) "
                                   "ON CONFLICT (slug, version) DO UPDATE SET blob = excluded.blob", tables)
            cursor.execute("INSERT INTO projection_position VALUES (%s, %s) ON CONFLICT (name) DO UPDATE SET position = excluded.position",
                           (self.name, batch.position))

    def table(self, slug: str, version: int) -> bytes | None:
        with translated():
            row = self.connection.execute("SELECT blob FROM projection_tables WHERE slug = %s AND version = %s", (slug, version)).fetchone()
        if row is None:
            return None
        blob = bytes(row[0])
        try:
            return zlib.decompress(blob) if blob[:1] == _ZLIB else blob
        except zlib.error as exc:
            raise StoreIntegrityError(f"the routing projection's table of {slug}", version, f"cannot be read ({exc})") from None

    def keys(self) -> list[tuple[str, int]]:
        """(slug, version) of every stored table."""
        with translated():
            return [(slug, version) for slug, version in self.connection.execute("SELECT slug, version FROM projection_tables")]

    def close(self) -> None:
        """Close the connection."""
        self.connection.close()
