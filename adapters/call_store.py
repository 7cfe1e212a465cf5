"""Call events in the same SQLite file as the configuration events: append-only, idempotent, hash-chained per tenant.

(In a PostgreSQL store the same tables, rows and chains are kept by ``adapters.postgres_calls``; ``verify_calls`` below
verifies either, and ``adapters.bootstrap.open_call_store`` opens either.)

Tables (created by the first write; a store without them holds no calls):

- ``call_events``: one row per stored event: tenant, PBX, idempotency key, call id (none for
  presence), instant (microseconds since the epoch, UTC), stable topic, msgpack body and the
  chain hash (``core.calls.log``). A unique index on ``(pbx, key)`` stores an event a PBX
  reports again (a snapshot after a reconnect) once; an event without a key is stored as
  often as it is heard (the history's fold counts equal events once).
- ``calls``: one row per call (PBX, call id): its tenant and its first instant; how a late
  event of a call finds its tenant, and how ``history --since/--until`` finds calls.
- ``call_chain_heads``: each tenant's chain head and event count, so rows removed from the
  end of a chain show too.

Writes come in batches, one transaction each (``BEGIN IMMEDIATE``: several ingests may write
the same file, SQLite's lock orders them and each reads the chain heads inside its own
transaction). The connection commits with ``synchronous=NORMAL`` in WAL mode, as the
projection's does: a power cut may take back the last batches, never corrupt the file, and a
PBX's snapshot after the next connect reports the calls in progress again.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import msgspec

from core.calls import log
from core.calls.events import CallEvent

SCHEMA = """
CREATE TABLE IF NOT EXISTS call_events (
    seq INTEGER PRIMARY KEY, tenant TEXT NOT NULL, pbx TEXT NOT NULL, key TEXT, call_id TEXT, at INTEGER NOT NULL,
    topic TEXT NOT NULL, body BLOB NOT NULL, hash BLOB NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS call_events_key ON call_events (pbx, key) WHERE key IS NOT NULL;
CREATE INDEX IF NOT EXISTS call_events_call ON call_events (tenant, pbx, call_id) WHERE call_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS call_events_presence ON call_events (tenant, at) WHERE call_id IS NULL;
CREATE TABLE IF NOT EXISTS calls (
    pbx TEXT NOT NULL, call_id TEXT NOT NULL, tenant TEXT NOT NULL, started INTEGER NOT NULL,
    PRIMARY KEY (pbx, call_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS calls_started ON calls (tenant, started);
CREATE TABLE IF NOT EXISTS call_chain_heads (tenant TEXT PRIMARY KEY, hash BLOB NOT NULL, events INTEGER NOT NULL) WITHOUT ROWID;
"""

_INSERT = ("INSERT INTO call_events (tenant, pbx, key, call_id, at, topic, body, hash) VALUES (?,?,?,?,?,?,?,?) "
           "ON CONFLICT DO NOTHING")
_COLUMNS = 8


@lru_cache(maxsize=8)
def _insert_rows(count: int) -> str:
    """``_INSERT`` for ``count`` rows at once."""
    values = ",".join(["(?,?,?,?,?,?,?,?)"] * count)
    return f"INSERT INTO call_events (tenant, pbx, key, call_id, at, topic, body, hash) VALUES {values} ON CONFLICT DO NOTHING"


_CALL = ("INSERT INTO calls VALUES (?,?,?,?) ON CONFLICT (pbx, call_id) DO UPDATE SET started = min(started, excluded.started)")
_HEAD = "INSERT OR REPLACE INTO call_chain_heads VALUES (?,?,?)"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MICRO = timedelta(microseconds=1)


def calls_of(rows: Iterable[tuple[str, str, str, bytes | memoryview]]) -> Iterator[list[CallEvent]]:
    """Rows ``(pbx, call_id, topic, body)`` in order of call, then of event, as one list of decoded events per call."""
    decode = log.decode
    current: tuple[str, str] | None = None
    events: list[CallEvent] = []
    for pbx, call_id, topic, body in rows:
        if (pbx, call_id) != current:
            if events:
                yield events
            current, events = (pbx, call_id), []
        events.append(decode(topic, bytes(body)))
    if events:
        yield events


def micros(at: datetime) -> int:
    """An instant as whole microseconds since the epoch (UTC)."""
    return (at - _EPOCH) // _ONE_MICRO


class Appended(msgspec.Struct):
    stored: int = 0
    duplicates: int = 0


class ChainReport(msgspec.Struct, frozen=True):
    tenant: str
    events: int
    head: str
    intact: bool
    problem: str | None = None


class CallStore:
    """The call-event tables of one SQLite file (see the module's docstring)."""

    def __init__(self, path: Path, *, lock_timeout: float = 10.0) -> None:
        self.path = path
        self._lock_timeout = lock_timeout
        # Writes go through one connection (from a worker thread, one batch at a time: ``StoringSink``), reads through
        # another, so that a look-up during a write never shares a connection with it (WAL: it reads the last commit).
        self.connection = sqlite3.connect(path, isolation_level=None, timeout=lock_timeout, check_same_thread=False)
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.execute("PRAGMA synchronous=NORMAL")
        self._reader: sqlite3.Connection | None = None
        self._ready = False
        self._rows_per_statement = max(1, min(2000, self.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // _COLUMNS))

    @property
    def reader(self) -> sqlite3.Connection:
        if self._reader is None:
            self._reader = sqlite3.connect(self.path, isolation_level=None, timeout=self._lock_timeout)
        return self._reader

    def _has_tables(self) -> bool:
        if not self._ready:
            row = self.reader.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'call_chain_heads'").fetchone()
            self._ready = row is not None
        return self._ready

    def create(self) -> None:
        """Create the tables (and indexes) if they are not there yet."""
        if not self._has_tables():
            self.connection.executescript(SCHEMA)
            self._ready = True

    def append(self, items: Sequence[tuple[str, CallEvent]]) -> Appended:
        """Store ``(tenant, event)`` pairs in one transaction, in order; events heard before (same PBX and key) are skipped.

        The rows are written with one ``executemany`` as if none had been heard before; when the count of rows
        written says some were (a snapshot after a reconnect), the transaction is rolled back and the batch is
        written row by row, each chain advancing only by the rows stored.
        """
        if not items:
            return Appended()
        self.create()
        encode, epoch, micro = log.encode, _EPOCH, _ONE_MICRO
        rows = [(tenant, event.pbx, event.key or None, getattr(event, "call_id", None), (event.at - epoch) // micro, *encode(event))
                for tenant, event in items]
        db = self.connection
        db.execute("BEGIN IMMEDIATE")
        try:
            result = self._write(rows, optimistic=True)
            if result is None:
                db.execute("ROLLBACK")
                db.execute("BEGIN IMMEDIATE")
                result = self._write(rows, optimistic=False)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        return result  # type: ignore[return-value]

    def _write(self, rows: list[tuple[str, str, str | None, str | None, int, str, bytes]], *, optimistic: bool) -> Appended | None:
        """Write ``rows`` with their chain hashes inside the open transaction; ``None`` when ``optimistic`` and a row was
        heard before (nothing useful was written: the caller rolls back)."""
        db = self.connection
        link = log.link
        heads: dict[str, list[Any]] = {}
        for tenant in {row[0] for row in rows}:
            found = db.execute("SELECT hash, events FROM call_chain_heads WHERE tenant = ?", (tenant,)).fetchone()
            heads[tenant] = [found[0], found[1]] if found else [log.GENESIS, 0]
        result = Appended()
        written = []
        if optimistic:
            if len(heads) == 1:  # one tenant (the usual batch): its chain in a tight loop
                ((head, count),) = heads.values()
                for row in rows:
                    head = link(head, row[5], row[6])
                    written.append((*row, head))
                heads = {rows[0][0]: [head, count + len(rows)]}
            else:
                for row in rows:
                    chain = heads[row[0]]
                    chain[0] = link(chain[0], row[5], row[6])
                    chain[1] += 1
                    written.append((*row, chain[0]))
            before = db.total_changes
            per = self._rows_per_statement
            for start in range(0, len(written), per):
                chunk = written[start:start + per]
                # One statement of many rows: SQLite runs it in one step, which a worker thread does without the GIL.
                db.execute(_insert_rows(len(chunk)), [value for row in chunk for value in row])
            if db.total_changes - before != len(rows):
                return None
            result.stored = len(rows)
        else:
            for row in rows:
                head = heads[row[0]]
                digest = link(head[0], row[5], row[6])
                if db.execute(_INSERT, (*row, digest)).rowcount != 1:
                    result.duplicates += 1
                    continue
                result.stored += 1
                head[0] = digest
                head[1] += 1
                written.append((*row, digest))
        calls: dict[tuple[str, str], tuple[str, int]] = {}
        for tenant, pbx, _, call_id, at, _, _, _ in written:
            if call_id is not None:
                known = calls.get((pbx, call_id))
                if known is None or at < known[1]:
                    calls[(pbx, call_id)] = (tenant, at)
        db.executemany(_CALL, [(pbx, call_id, tenant, at) for (pbx, call_id), (tenant, at) in calls.items()])
        db.executemany(_HEAD, [(tenant, head, count) for tenant, (head, count) in heads.items()])
        return result

    def tenant_of_call(self, pbx: str, call_id: str) -> str | None:
        """The tenant of a call stored earlier, if any."""
        if not self._has_tables():
            return None
        row = self.reader.execute("SELECT tenant FROM calls WHERE pbx = ? AND call_id = ?", (pbx, call_id)).fetchone()
        return row[0] if row else None

    def calls(self, tenant: str, since: datetime | None = None, until: datetime | None = None) -> Iterator[list[CallEvent]]:
        """Each call's events, calls in order of their first instant (``since``/``until``: that instant within, both included)."""
        if not self._has_tables():
            return
        low = micros(since) if since is not None else -(2**62)
        high = micros(until) if until is not None else 2**62
        rows = self.reader.execute(
            "SELECT c.pbx, c.call_id, e.topic, e.body FROM calls c JOIN call_events e "
            "ON e.tenant = c.tenant AND e.pbx = c.pbx AND e.call_id = c.call_id "
            "WHERE c.tenant = ? AND c.started BETWEEN ? AND ? ORDER BY c.started, c.pbx, c.call_id", (tenant, low, high))
        yield from calls_of(rows)

    def presence(self, tenant: str, until: datetime | None = None) -> Iterator[CallEvent]:
        """The tenant's presence events (endpoint and agent states) up to ``until``, in order of their instant."""
        if not self._has_tables():
            return
        high = micros(until) if until is not None else 2**62
        rows = self.reader.execute("SELECT topic, body FROM call_events WHERE tenant = ? AND call_id IS NULL AND at <= ? "
                                       "ORDER BY at, seq", (tenant, high))
        decode = log.decode
        for topic, body in rows:
            yield decode(topic, body)

    def count(self, tenant: str | None = None) -> int:
        """How many call events are stored (of one tenant)."""
        if not self._has_tables():
            return 0
        if tenant is None:
            return self.reader.execute("SELECT count(*) FROM call_events").fetchone()[0]  # type: ignore[no-any-return]
        return self.reader.execute("SELECT count(*) FROM call_events WHERE tenant = ?", (tenant,)).fetchone()[0]  # type: ignore[no-any-return]

    def verify(self, tenant: str) -> ChainReport:
        """Walk the tenant's chain of call events from its first; intact, or the first row that does not link."""
        if not self._has_tables():
            return ChainReport(tenant=tenant, events=0, head=log.GENESIS.hex(), intact=True)
        reader = self.reader
        reader.execute("BEGIN")  # one snapshot: a writer's commit between the head and the rows is not a break
        try:
            recorded = reader.execute("SELECT hash, events FROM call_chain_heads WHERE tenant = ?", (tenant,)).fetchone()
            rows = reader.execute("SELECT topic, body, hash FROM call_events WHERE tenant = ? ORDER BY seq", (tenant,))
            count, head, broken = log.verify_rows(rows, recorded[0] if recorded else log.GENESIS, recorded[1] if recorded else 0)
        finally:
            reader.execute("COMMIT")
        return ChainReport(tenant=tenant, events=count, head=head.hex(), intact=broken is None,
                           problem=f"event {broken.position}: {broken.problem}" if broken else None)

    def close(self) -> None:
        self.connection.close()
        if self._reader is not None:
            self._reader.close()
            self._reader = None



class CallsCheck(msgspec.Struct, frozen=True):
    """What ``verify_calls`` found: the chains and the calls head (``walk``), and where the ``calls`` table, which the
    history and conformance select calls by, disagrees with the call events (first few, and how many more)."""

    walk: log.CallsWalk
    index: tuple[str, ...] = ()
    index_more: int = 0

    @property
    def intact(self) -> bool:
        return self.walk.intact and not self.index


_INDEX_SHOWN = 5
_DISAGREEING = (
    "SELECT e.pbx, e.call_id, min(e.at), group_concat(DISTINCT e.tenant), c.tenant, c.started FROM call_events e "
    "LEFT JOIN calls c ON c.pbx = e.pbx AND c.call_id = e.call_id WHERE e.call_id IS NOT NULL{scope} GROUP BY e.pbx, e.call_id "
    "HAVING c.tenant IS NULL OR c.started != min(e.at) OR max(e.tenant = c.tenant) = 0")
_TENANTS_CALLS = " AND (e.pbx, e.call_id) IN (SELECT pbx, call_id FROM call_events WHERE tenant = ? AND call_id IS NOT NULL)"
_WITHOUT_EVENTS = ("SELECT c.pbx, c.call_id, c.tenant FROM calls c WHERE NOT EXISTS (SELECT 1 FROM call_events e "
                   "WHERE e.tenant = c.tenant AND e.pbx = c.pbx AND e.call_id = c.call_id){scope}")


def _utc(at: int) -> str:
    return (_EPOCH + at * _ONE_MICRO).isoformat().replace("+00:00", "Z")


CALLS_TABLE_MISSING = "the calls table is missing: history and conformance see none of the calls stored"


def _index_problems(connection: sqlite3.Connection, tables: set[str], tenant: str | None) -> list[str]:
    """Each call whose row in ``calls`` disagrees with its events: missing, another tenant's, another first instant; and
    each row of ``calls`` without events of its tenant."""
    if "calls" not in tables:
        stored = "call_events" in tables and connection.execute(
            "SELECT 1 FROM call_events WHERE call_id IS NOT NULL" + ("" if tenant is None else " AND tenant = ?") + " LIMIT 1",
            () if tenant is None else (tenant,)).fetchone()
        return [CALLS_TABLE_MISSING] if stored else []
    disagreeing: Any = ()
    if "call_events" in tables:
        scope = ("", ()) if tenant is None else (_TENANTS_CALLS, (tenant,))
        disagreeing = connection.execute(_DISAGREEING.format(scope=scope[0]), scope[1])
    scope = ("", ()) if tenant is None else (" AND c.tenant = ?", (tenant,))
    return index_problems(disagreeing, lambda: connection.execute(_WITHOUT_EVENTS.format(scope=scope[0]), scope[1]))


def index_problems(disagreeing: Iterable[tuple[Any, ...]], without: Callable[[], Iterable[tuple[Any, ...]]]) -> list[str]:
    """The lines for the calls whose row in ``calls`` disagrees with their events (``disagreeing``: pbx, call id, first
    instant, the events' tenants comma-separated, the row's tenant and start) and for the rows of ``calls`` without events
    of their tenant (``without()``: pbx, call id, tenant), in the order given; the same on SQLite and PostgreSQL."""
    problems = []
    listed = set()
    for pbx, call_id, first, tenants, owner, started in disagreeing:
        listed.add((pbx, call_id))
        if owner is None:
            problems.append(f"{pbx} call {call_id} has no row in the calls table: history and conformance do not see it")
        elif owner not in tenants.split(","):
            problems.append(f"{pbx} call {call_id}: the calls table gives it to {owner}, its events are {tenants}'s")
        else:
            problems.append(f"{pbx} call {call_id}: the calls table says it started at {_utc(started)}, its first event "
                            f"is at {_utc(first)}")
    for pbx, call_id, owner in without():
        if (pbx, call_id) not in listed:
            problems.append(f"{pbx} call {call_id} is in the calls table (tenant {owner}) without events of that tenant")
    return problems


def calls_check(walked: log.CallsWalk, problems: list[str]) -> CallsCheck:
    """What ``verify_calls`` returns: the walk, and the first few of the calls table's problems."""
    return CallsCheck(walk=walked, index=tuple(problems[:_INDEX_SHOWN]), index_more=max(0, len(problems) - _INDEX_SHOWN))


def verify_calls(path: Path | str | Any, tenant: str | None = None, *, kept: bytes | None = None) -> CallsCheck | None:
    """Every tenant's chain of call events in the SQLite file at ``path`` (or ``tenant``'s), the calls head of that scope,
    where ``kept`` is among its heads (``core.calls.log.walk``), and the ``calls`` table against the events; ``None`` when
    the file has no call tables (a store from before call events were stored, or that never stored any).

    Read-only, through SQLite alone, in one read transaction: a writer's commit meanwhile is not a break. A missing
    table is read as empty, so that dropping one shows. A ``postgresql://`` store is verified by
    ``adapters.postgres_calls.verify_calls``, the same way.
    """
    from contextlib import closing

    from core import wiring

    store = wiring.resolve_store(path)
    if isinstance(store, wiring.PostgresStore):
        from adapters.postgres_calls import verify_calls as verify_postgres

        return verify_postgres(store, tenant, kept=kept)
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)) as connection:
        connection.execute("BEGIN")
        try:
            tables = {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not {"call_events", "call_chain_heads", "calls"} & tables:
                return None
            where, scope = ("", ()) if tenant is None else (" WHERE tenant = ?", (tenant,))
            recorded: dict[str, tuple[bytes, int]] = {}
            if "call_chain_heads" in tables:
                recorded = {name: (head, count) for name, head, count in
                            connection.execute(f"SELECT tenant, hash, events FROM call_chain_heads{where}", scope)}  # noqa: S608
            rows: Any = ()
            if "call_events" in tables:
                rows = connection.execute(f"SELECT tenant, pbx, key, call_id, at, topic, body, hash FROM call_events{where} "  # noqa: S608
                                          "ORDER BY seq", scope)
            walked = log.walk(rows, recorded, kept)
            problems = _index_problems(connection, tables, tenant)
        finally:
            connection.execute("COMMIT")
    return calls_check(walked, problems)
