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
from eventsourcing.persistence import IntegrityError, InterfaceError, OperationalError, PersistenceError, StoredEvent

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


class DatabaseUnavailable(PersistenceError):
    """The PostgreSQL server cannot be reached: one line naming the database (without its password) and the driver's words.

    Not the library's ``OperationalError``, which its recorder methods try ten times over. ``sent`` says whether
    anything may have reached the server before the connection was lost (a commit whose outcome is not known);
    ``False`` when the call failed before it had a connection.
    """

    def __init__(self, store: PostgresStore, why: str, *, sent: bool) -> None:
        super().__init__(f"the PostgreSQL database {store} cannot be reached ({why})")
        self.sent = sent


class OutcomeUnknown(DatabaseUnavailable):
    """The connection was lost after a batch's commit was sent, and the server cannot be asked whether it was stored."""


PROBE_SECONDS = 2
"""How long the probe of a server found gone waits to connect (libpq's least ``connect_timeout``)."""


class Reconnecting:
    """Bounds what a lost PostgreSQL server costs the application's calls, and gives it a new pool when the server is back.

    It replaces the datastore's ``get_connection`` (every recorder call and ``datastore.transaction`` go through it).
    When a call finds the server gone (a connection lost or refused, the pool timing out), the next calls first try one
    connection of their own (``PROBE_SECONDS`` at most): while that fails they fail at once with ``DatabaseUnavailable``
    (not one of the library's retried errors: its recorder methods would otherwise try ten times, each waiting the pool's
    timeout); once it succeeds, the pool is replaced by a new one (psycopg's pool waits longer and longer between its
    own reconnection attempts, up to minutes, and a closed pool cannot be opened again), and the call goes on. A call
    that lost its connection while the server is up again (a connection the restarted server no longer knows) is raised
    as the library's ``OperationalError``, which its recorder methods try again on the new pool.
    """

    def __init__(self, datastore: Any, store: PostgresStore) -> None:
        self.datastore = datastore
        self.store = store
        self.down: str | None = None
        self._original = datastore.get_connection
        datastore.get_connection = self.get_connection

    @contextmanager
    def get_connection(self) -> Iterator[Any]:
        if self.down is not None:
            self._probe()
        acquired = False
        try:
            with self._original() as connection:
                acquired = True
                yield connection
        except (OperationalError, InterfaceError) as exc:
            if isinstance(exc, DatabaseUnavailable):
                raise
            if not acquired or connection_lost(exc):
                self.down = words(exc)
                try:
                    self._probe()
                except DatabaseUnavailable as gone:
                    raise DatabaseUnavailable(self.store, words(exc), sent=acquired) from gone
            raise

    def _probe(self) -> None:
        """Connect once, outside the pool: ``DatabaseUnavailable`` while that fails; a new pool once it succeeds."""
        keywords: dict[str, Any] = dict(self.store.conninfo())
        keywords["connect_timeout"] = str(min(PROBE_SECONDS, int(keywords.get("connect_timeout") or PROBE_SECONDS)))
        try:
            psycopg.connect(**keywords, autocommit=True).close()
        except psycopg.Error as exc:
            self.down = words(exc)
            raise DatabaseUnavailable(self.store, self.down, sent=False) from None
        if self.down is not None:
            self.down = None
            self._renew_pool()

    def _renew_pool(self) -> None:
        """A new pool, in use once it holds a connection (made by its workers at once; waited for with short sleeps, not
        the pool's own timed waits, which never return under a clock moved forward by ``faketime``); the old one closed
        without waiting for its threads."""
        old = self.datastore.pool
        new = type(old)(
            get_password_func=old.get_password_func, connection_class=old.connection_class, kwargs=old.kwargs,
            min_size=max(1, old.min_size), max_size=old.max_size, open=False, configure=old._configure,  # noqa: SLF001
            timeout=old.timeout, max_waiting=old.max_waiting, max_lifetime=old.max_lifetime, check=old._check,  # noqa: SLF001
        )
        new.open(wait=False)
        for _ in range(int(PROBE_SECONDS / 0.02)):
            if new.get_stats().get("pool_available", 0) > 0:
                break
            time.sleep(0.02)
        else:
            new.close(timeout=0)
            self.down = "the server accepted one connection, then none for the pool"
            raise DatabaseUnavailable(self.store, self.down, sent=False)
        self.datastore.pool = new
        try:
            old.close(timeout=0)
        except Exception:  # noqa: BLE001, S110 - a pool whose connections are gone: nothing left to close
            pass


def connection_lost(exc: BaseException) -> bool:
    """Whether ``exc`` (the library's error) is a connection that broke, was refused, or that the pool could not give."""
    cause = exc.__cause__
    if isinstance(exc, InterfaceError) or isinstance(cause, psycopg.InterfaceError):
        return True
    if isinstance(cause, psycopg.OperationalError):
        # Not a query the server refused on a working connection (a lock timeout, a cancelled statement): those have a
        # SQLSTATE and a connection that still works.
        connection_class = getattr(cause, "sqlstate", None) or ""
        return not connection_class or connection_class.startswith(("08", "57P"))
    return cause is None


def guard_outages(app: Any, store: PostgresStore) -> Reconnecting:
    """``Reconnecting`` on the application's datastore (its events' and snapshots' recorders share it)."""
    return Reconnecting(app.recorder.datastore, store)


class PostgresEventWriter:
    """eventsourcing's PostgreSQL recorder as the application's event writer, with the pause between tries.

    ``insert`` is the recorder's ``insert_events`` (one transaction, the events table locked for it, notification ids in
    commit order; a version clash is ``IntegrityError``). ``retrying`` makes the SQLite writer's pause of random length
    before each further try of a batch that lost to another writer (up to 1 ms after one lost try, doubling to 32 ms);
    it takes no lock: a try that loses again is tried again, up to ``CallrouteApp.max_attempts``.
    ``recorder`` and ``store`` are set once the application exists (``adapters.bootstrap.build_app``).
    """

    store: Any = None

    def __init__(self, *, sleep: Callable[[float], None] = time.sleep, jitter: Callable[[float, float], float] = random.uniform) -> None:
        self.recorder: Any = None
        self._sleep = sleep
        self._jitter = jitter

    def insert(self, stored_events: Sequence[StoredEvent]) -> list[int]:
        """One try of the recorder's ``insert_events`` (not the library's ten: a try whose connection was lost after its
        commit was sent may have been stored, and a second try would then clash with itself and be run again as another
        writer's clash, storing the batch twice). A lost connection is answered by asking the server whether the batch
        was stored: its ids if it was, ``DatabaseUnavailable`` (nothing stored) if not, ``OutcomeUnknown`` if it cannot
        be asked."""
        raw = getattr(type(self.recorder).insert_events, "__wrapped__", None)

        def insert_once() -> list[int]:
            return list((raw(self.recorder, stored_events) if raw is not None else self.recorder.insert_events(stored_events)) or ())

        try:
            return insert_once()
        except (OperationalError, InterfaceError, DatabaseUnavailable) as exc:
            if not stored_events or not getattr(exc, "sent", True):
                raise  # it failed before it had a connection: nothing was sent
            try:
                stored = self._stored_ids(stored_events)
            except (OperationalError, InterfaceError, DatabaseUnavailable):
                raise OutcomeUnknown(self.store, f"{words(exc)}; the connection was lost after the change was sent, and "
                                     "whether it was stored is not known", sent=True) from exc
            if stored is not None:
                return stored  # it was committed before the connection was lost
            return insert_once()  # the server answers again and holds none of it: one more try

    def _stored_ids(self, stored_events: Sequence[StoredEvent]) -> list[int] | None:
        """The notification ids of ``stored_events`` if the store holds them as they are (all of them, or none: one
        transaction), else None."""
        first = stored_events[0]
        datastore, table = self.recorder.datastore, f'"{self.recorder.datastore.schema}"."{self.recorder.events_table_name}"'
        with datastore.get_connection() as connection:
            row = connection.execute(
                f"SELECT state, notification_id FROM {table} WHERE originator_id = %s AND originator_version = %s",  # noqa: S608
                (first.originator_id, first.originator_version)).fetchone()
        if row is None or bytes(row["state"]) != bytes(first.state):
            return None
        with datastore.get_connection() as connection:  # the batch's rows were inserted together, the table locked
            rows = connection.execute(f"SELECT notification_id FROM {table} WHERE notification_id >= %s "  # noqa: S608
                                      "ORDER BY notification_id LIMIT %s", (row["notification_id"], len(stored_events))).fetchall()
        return [r["notification_id"] for r in rows]

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
