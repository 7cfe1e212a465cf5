"""Call events in a PostgreSQL store: the SQLite call store's tables, rows, keys and hash chains (``adapters/call_store.py``).

The same three tables as in the SQLite file, in PostgreSQL's types (``BIGSERIAL``, ``BIGINT``, ``BYTEA``), beside
eventsourcing's ``callroute_events`` in the database (and schema) the ``postgresql://`` URL names: ``call_events`` (one
row per stored event, a unique index on ``(pbx, key)``), ``calls`` (a call's tenant and first instant) and
``call_chain_heads`` (each tenant's chain head and count). The bodies are the same msgpack bytes and the chain hashes
the same (``core.calls.log``), so ``audit verify`` gives the same chains and calls heads on either store.

One writer at a time, as SQLite's ``BEGIN IMMEDIATE`` makes it: each batch is one transaction that first takes
``call_events``'s lock in ``EXCLUSIVE`` mode (readers go on reading the last commit; another writer waits, up to the
lock timeout), the way eventsourcing's recorder locks its events table. Inside it the batch's keys already stored are
looked up, so an event a PBX reports again (or twice in one batch) is counted as heard before and never stored; the
rows stored are chained from the heads read inside the same transaction and written with one ``COPY``, the ``calls``
and head rows with one statement each.
Rows are numbered (``seq``) in commit order, so the running calls head over them only grows at the end, as on SQLite.

psycopg is synchronous: a trio program calls this through ``trio.to_thread.run_sync`` (``adapters/call_sink.py``'s
background writer). Writes go through one connection, reads through another, as on SQLite: a look-up made while a batch
is written never shares its connection. Long reads (a tenant's calls, its presence) come from server-side cursors a few
thousand rows at a time, so a long history is never held whole.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import psycopg
from eventsourcing.persistence import OperationalError

from adapters.call_store import CALLS_TABLE_MISSING, Appended, CallsCheck, ChainReport, calls_check, calls_of, index_problems, micros
from adapters.postgres import connect, translated, words
from core.calls import log
from core.calls.events import CallEvent
from core.wiring import DEFAULT_LOCK_TIMEOUT_SECONDS, PostgresStore

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS call_events (seq BIGSERIAL PRIMARY KEY, tenant TEXT NOT NULL, pbx TEXT NOT NULL, key TEXT, "
    "call_id TEXT, at BIGINT NOT NULL, topic TEXT NOT NULL, body BYTEA NOT NULL, hash BYTEA NOT NULL)",
    "CREATE UNIQUE INDEX IF NOT EXISTS call_events_key ON call_events (pbx, key) WHERE key IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS call_events_call ON call_events (tenant, pbx, call_id) WHERE call_id IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS call_events_presence ON call_events (tenant, at) WHERE call_id IS NULL",
    "CREATE TABLE IF NOT EXISTS calls (pbx TEXT NOT NULL, call_id TEXT NOT NULL, tenant TEXT NOT NULL, started BIGINT NOT NULL, "
    "PRIMARY KEY (pbx, call_id))",
    "CREATE INDEX IF NOT EXISTS calls_started ON calls (tenant, started)",
    "CREATE TABLE IF NOT EXISTS call_chain_heads (tenant TEXT PRIMARY KEY, hash BYTEA NOT NULL, events BIGINT NOT NULL)",
)
"""``adapters.call_store.SCHEMA`` in PostgreSQL's types."""

TABLES = ("call_events", "calls", "call_chain_heads")

_HEARD = ("SELECT e.pbx, e.key FROM call_events e JOIN unnest(%s::text[], %s::text[]) AS b(pbx, key) "
          "ON e.pbx = b.pbx AND e.key = b.key WHERE e.key IS NOT NULL")
_COPY = "COPY call_events (tenant, pbx, key, call_id, at, topic, body, hash) FROM STDIN"
_CALLS = ("INSERT INTO calls (pbx, call_id, tenant, started) SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::bigint[]) "
          "ON CONFLICT (pbx, call_id) DO UPDATE SET started = least(calls.started, excluded.started)")
_HEADS = ("INSERT INTO call_chain_heads (tenant, hash, events) SELECT * FROM unnest(%s::text[], %s::bytea[], %s::bigint[]) "
          "ON CONFLICT (tenant) DO UPDATE SET hash = excluded.hash, events = excluded.events")
_C = 'COLLATE "C"'
"""Text ordered by its bytes, as SQLite orders it (a database's own collation may be a language's)."""
_FETCH = 2000
_cursors = itertools.count(1)


@contextmanager
def _translated(lock_timeout: float) -> Iterator[None]:
    """``adapters.postgres.translated``, with a lock held past the timeout said as SQLite's busy store is."""
    try:
        with translated():
            yield
    except OperationalError as exc:
        if isinstance(exc.__cause__, psycopg.errors.LockNotAvailable):
            raise OperationalError(f"the call events stayed locked by another writer for {lock_timeout:g} s "
                                   f"({words(exc.__cause__)})") from exc.__cause__
        raise


class PostgresCallStore:
    """The call-event tables of one PostgreSQL store: ``adapters.call_store.CallStore``'s methods and results."""

    def __init__(self, store: PostgresStore, *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT_SECONDS) -> None:
        self.store = store
        self._lock_timeout = lock_timeout
        self.connection = connect(store)
        self._reader: psycopg.Connection[Any] | None = None
        self._ready = False

    @property
    def reader(self) -> psycopg.Connection[Any]:
        if self._reader is None or self._reader.broken:  # a connection lost (the server restarted): a new one
            if self._reader is not None:
                self._reader.close()
            self._reader = connect(self.store)
        return self._reader

    def _writer(self) -> psycopg.Connection[Any]:
        if self.connection.broken:  # lost with the server: the batch that found it so failed, the next one reconnects
            self.connection.close()
            self.connection = connect(self.store)
        return self.connection

    def _has_tables(self) -> bool:
        if not self._ready:
            with translated():
                row = self.reader.execute("SELECT to_regclass('call_chain_heads')").fetchone()
            self._ready = row is not None and row[0] is not None
        return self._ready

    def create(self) -> None:
        """Create the tables (and indexes) if they are not there yet."""
        if self._has_tables():
            return
        db = self._writer()
        with translated(), db.transaction():
            # One creator at a time: CREATE TABLE IF NOT EXISTS can still clash in the catalog when run at once.
            db.execute("SELECT pg_advisory_xact_lock(hashtext('callroute call tables'))")
            for statement in SCHEMA:
                db.execute(statement)  # type: ignore[arg-type]
        self._ready = True

    def append(self, items: Sequence[tuple[str, CallEvent]]) -> Appended:
        """Store ``(tenant, event)`` pairs in one transaction, in order; events heard before (same PBX and key) are skipped."""
        if not items:
            return Appended()
        self.create()
        encode, getter = log.encode, getattr
        rows = [(tenant, event.pbx, event.key or None, getter(event, "call_id", None), micros(event.at), *encode(event))
                for tenant, event in items]
        db = self._writer()
        with _translated(self._lock_timeout), db.transaction():
            db.execute(f"SET LOCAL lock_timeout = '{int(self._lock_timeout * 1000)}ms'")
            db.execute("LOCK TABLE call_events IN EXCLUSIVE MODE")
            return self._write(db, rows)

    def _write(self, db: psycopg.Connection[Any], rows: list[tuple[Any, ...]]) -> Appended:
        """Write ``rows`` with their chain hashes inside the open transaction (the table locked)."""
        keyed = [(row[1], row[2]) for row in rows if row[2] is not None]
        heard: set[tuple[str, str]] = set()
        if keyed:
            heard = {(pbx, key) for pbx, key in db.execute(_HEARD, ([p for p, _ in keyed], [k for _, k in keyed]))}
        tenants = list(dict.fromkeys(row[0] for row in rows))
        found = {tenant: (bytes(head), count) for tenant, head, count in
                 db.execute("SELECT tenant, hash, events FROM call_chain_heads WHERE tenant = ANY(%s::text[])", (tenants,))}
        heads = {tenant: list(found.get(tenant, (log.GENESIS, 0))) for tenant in tenants}
        result = Appended()
        written = []
        link = log.link
        for row in rows:
            if row[2] is not None:
                if (row[1], row[2]) in heard:
                    result.duplicates += 1
                    continue
                heard.add((row[1], row[2]))
            head = heads[row[0]]
            head[0] = link(head[0], row[5], row[6])
            head[1] += 1
            written.append((*row, head[0]))
        result.stored = len(written)
        if written:
            # COPY, in order (so numbered in order): no key is stored twice, since the keys stored were looked up under the
            # lock; one another writer stored regardless would be the unique index's error, and nothing of the batch stored.
            with db.cursor() as cursor, cursor.copy(_COPY) as copy:
                write = copy.write_row
                for row in written:
                    write(row)
        calls: dict[tuple[str, str], tuple[str, int]] = {}
        for tenant, pbx, _, call_id, at, _, _, _ in written:
            if call_id is not None:
                known = calls.get((pbx, call_id))
                if known is None or at < known[1]:
                    calls[(pbx, call_id)] = (tenant, at)
        if calls:
            db.execute(_CALLS, ([pbx for pbx, _ in calls], [call_id for _, call_id in calls], [t for t, _ in calls.values()],
                                [at for _, at in calls.values()]))
        db.execute(_HEADS, (tenants, [heads[t][0] for t in tenants], [heads[t][1] for t in tenants]))
        return result

    def tenant_of_call(self, pbx: str, call_id: str) -> str | None:
        """The tenant of a call stored earlier, if any."""
        if not self._has_tables():
            return None
        with translated():
            row = self.reader.execute("SELECT tenant FROM calls WHERE pbx = %s AND call_id = %s", (pbx, call_id)).fetchone()
        return row[0] if row else None

    def _rows(self, query: str, params: tuple[Any, ...]) -> Iterator[tuple[Any, ...]]:
        """The rows of ``query``, fetched from a server-side cursor (held past its statement: several can be read at once)."""
        with translated(), self.reader.cursor(name=f"callroute_calls_{next(_cursors)}", withhold=True) as cursor:
            cursor.itersize = _FETCH
            cursor.execute(query, params)  # type: ignore[arg-type]
            yield from cursor

    def calls(self, tenant: str, since: datetime | None = None, until: datetime | None = None) -> Iterator[list[CallEvent]]:
        """Each call's events, calls in order of their first instant (``since``/``until``: that instant within, both included)."""
        if not self._has_tables():
            return
        low = micros(since) if since is not None else -(2**62)
        high = micros(until) if until is not None else 2**62
        rows = self._rows(
            "SELECT c.pbx, c.call_id, e.topic, e.body FROM calls c JOIN call_events e "
            "ON e.tenant = c.tenant AND e.pbx = c.pbx AND e.call_id = c.call_id "
            f"WHERE c.tenant = %s AND c.started BETWEEN %s AND %s ORDER BY c.started, c.pbx {_C}, c.call_id {_C}, e.seq",
            (tenant, low, high))
        yield from calls_of(rows)

    def presence(self, tenant: str, until: datetime | None = None) -> Iterator[CallEvent]:
        """The tenant's presence events (endpoint and agent states) up to ``until``, in order of their instant."""
        if not self._has_tables():
            return
        high = micros(until) if until is not None else 2**62
        rows = self._rows("SELECT topic, body FROM call_events WHERE tenant = %s AND call_id IS NULL AND at <= %s ORDER BY at, seq",
                          (tenant, high))
        decode = log.decode
        for topic, body in rows:
            yield decode(topic, bytes(body))

    def count(self, tenant: str | None = None) -> int:
        """How many call events are stored (of one tenant)."""
        if not self._has_tables():
            return 0
        with translated():
            if tenant is None:
                row = self.reader.execute("SELECT count(*) FROM call_events").fetchone()
            else:
                row = self.reader.execute("SELECT count(*) FROM call_events WHERE tenant = %s", (tenant,)).fetchone()
        return int(row[0]) if row else 0

    def verify(self, tenant: str) -> ChainReport:
        """Walk the tenant's chain of call events from its first; intact, or the first row that does not link."""
        if not self._has_tables():
            return ChainReport(tenant=tenant, events=0, head=log.GENESIS.hex(), intact=True)
        reader = self.reader
        with translated(), reader.transaction():
            reader.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")  # one snapshot of the head and the rows
            recorded = reader.execute("SELECT hash, events FROM call_chain_heads WHERE tenant = %s", (tenant,)).fetchone()
            with reader.cursor(name=f"callroute_calls_{next(_cursors)}") as cursor:
                cursor.itersize = _FETCH
                cursor.execute("SELECT topic, body, hash FROM call_events WHERE tenant = %s ORDER BY seq", (tenant,))
                count, head, broken = log.verify_rows(((topic, bytes(body), bytes(hash_)) for topic, body, hash_ in cursor),
                                                      bytes(recorded[0]) if recorded else log.GENESIS,
                                                      recorded[1] if recorded else 0)
        return ChainReport(tenant=tenant, events=count, head=head.hex(), intact=broken is None,
                           problem=f"event {broken.position}: {broken.problem}" if broken else None)

    def close(self) -> None:
        self.connection.close()
        if self._reader is not None:
            self._reader.close()
            self._reader = None


_DISAGREEING = (
    "SELECT e.pbx, e.call_id, min(e.at), string_agg(DISTINCT e.tenant, ','), c.tenant, c.started FROM call_events e "
    "LEFT JOIN calls c ON c.pbx = e.pbx AND c.call_id = e.call_id WHERE e.call_id IS NOT NULL{scope} "
    "GROUP BY e.pbx, e.call_id, c.tenant, c.started "
    f"HAVING c.tenant IS NULL OR c.started != min(e.at) OR NOT bool_or(e.tenant = c.tenant) ORDER BY e.pbx {_C}, e.call_id {_C}")
_TENANTS_CALLS = " AND (e.pbx, e.call_id) IN (SELECT pbx, call_id FROM call_events WHERE tenant = %s AND call_id IS NOT NULL)"
_WITHOUT_EVENTS = ("SELECT c.pbx, c.call_id, c.tenant FROM calls c WHERE NOT EXISTS (SELECT 1 FROM call_events e "
                   "WHERE e.tenant = c.tenant AND e.pbx = c.pbx AND e.call_id = c.call_id){scope} "
                   f"ORDER BY c.pbx {_C}, c.call_id {_C}")


def verify_calls(store: PostgresStore, tenant: str | None = None, *, kept: bytes | None = None) -> CallsCheck | None:
    """``adapters.call_store.verify_calls`` on a PostgreSQL store: every tenant's chain (or ``tenant``'s), the calls head,
    ``kept`` among its heads, and the ``calls`` table against the events; ``None`` when the database has no call tables.

    Read-only, in one ``REPEATABLE READ`` transaction: a writer's commit meanwhile is not a break. A missing table is read
    as empty, so that dropping one shows.
    """
    with translated(), connect(store) as connection, connection.transaction():
        connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        return check_calls(connection, tenant, kept=kept)


def check_calls(connection: psycopg.Connection[Any], tenant: str | None = None, *, kept: bytes | None = None) -> CallsCheck | None:
    """``verify_calls`` on ``connection``, inside the transaction it has open (``callroute migrate`` checks its copy so,
    before committing it): the call tables on its search path; ``None`` when there are none."""
    tables = {name for (name,) in connection.execute(
        "SELECT name FROM unnest(%s::text[]) AS t(name) WHERE to_regclass(name) IS NOT NULL", (list(TABLES),))}
    if not tables:
        return None
    where, scope = ("", ()) if tenant is None else (" WHERE tenant = %s", (tenant,))
    recorded: dict[str, tuple[bytes, int]] = {}
    if "call_chain_heads" in tables:
        recorded = {name: (bytes(head), count) for name, head, count in
                    connection.execute(f"SELECT tenant, hash, events FROM call_chain_heads{where}", scope)}  # type: ignore[call-overload]  # noqa: S608
    if "call_events" in tables:
        with connection.cursor(name=f"callroute_calls_{next(_cursors)}") as cursor:
            cursor.itersize = _FETCH
            cursor.execute(f"SELECT tenant, pbx, key, call_id, at, topic, body, hash FROM call_events{where} ORDER BY seq",  # type: ignore[arg-type]  # noqa: S608
                           scope)
            walked = log.walk(((t, p, k, c, a, topic, bytes(body), bytes(hash_))
                               for t, p, k, c, a, topic, body, hash_ in cursor), recorded, kept)
    else:
        walked = log.walk((), recorded, kept)
    problems = _index_problems(connection, tables, tenant)
    return calls_check(walked, problems)


def _index_problems(connection: psycopg.Connection[Any], tables: set[str], tenant: str | None) -> list[str]:
    """``adapters.call_store``'s check of the ``calls`` table against the events, with PostgreSQL's SQL."""
    if "calls" not in tables:
        stored = "call_events" in tables and connection.execute(
            "SELECT 1 FROM call_events WHERE call_id IS NOT NULL" + ("" if tenant is None else " AND tenant = %s") + " LIMIT 1",  # type: ignore[arg-type]
            () if tenant is None else (tenant,)).fetchone() is not None
        return [CALLS_TABLE_MISSING] if stored else []
    disagreeing: list[Any] = []
    if "call_events" in tables:
        scope = ("", ()) if tenant is None else (_TENANTS_CALLS, (tenant,))
        disagreeing = connection.execute(_DISAGREEING.format(scope=scope[0]), scope[1]).fetchall()  # type: ignore[arg-type]
    scope = ("", ()) if tenant is None else (" AND c.tenant = %s", (tenant,))
    return index_problems(disagreeing, lambda: connection.execute(_WITHOUT_EVENTS.format(scope=scope[0]), scope[1]).fetchall())  # type: ignore[arg-type]
