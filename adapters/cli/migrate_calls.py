"""The call events' part of ``callroute migrate`` (``adapters/cli/migrate.py``): the three call tables (``call_events``,
``calls``, ``call_chain_heads``) copied row for row from one read snapshot of SRC's, into a new SQLite file or inside DST's
PostgreSQL transaction, then checked against SRC's row for row and byte for byte, and with ``verify_calls``.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from adapters.cli.errors import BROKEN
from adapters.cli.migrate import MigrationError, count, words

CALL_TABLES = ("call_events", "calls", "call_chain_heads")
_CALL_COLUMNS = {"call_events": "seq, tenant, pbx, key, call_id, at, topic, body, hash",
                 "calls": "pbx, call_id, tenant, started",
                 "call_chain_heads": "tenant, hash, events"}
_CALL_ORDER = {"call_events": "seq", "calls": "pbx{c}, call_id{c}", "call_chain_heads": "tenant{c}"}
"""Each table's rows in one order on either store: text by its bytes (SQLite's BINARY, PostgreSQL's ``COLLATE "C"``)."""
_CALL_ROWS = {"call_events": "call events", "calls": "rows in its calls table", "call_chain_heads": "call chain heads"}
_FETCH = 2000
_cursors = itertools.count(1)

CallRows = Callable[[str], Iterator[tuple[Any, ...]]]
"""A store's rows of one call table (``CALL_TABLES``), in ``_CALL_ORDER``; none for a missing table."""


def _select(table: str, collate: str) -> str:
    return f"SELECT {_CALL_COLUMNS[table]} FROM {table} ORDER BY {_CALL_ORDER[table].format(c=collate)}"  # noqa: S608


def _calls_problem(check: Any) -> str:
    """The first thing ``verify_calls`` found wrong, in its words."""
    for chain in check.walk.chains:
        if chain.broken is not None:
            return f"{chain.tenant}: BROKEN at call event {chain.broken.position:,} of {chain.events:,}: {chain.broken.problem}"
    return str(check.index[0]) if check.index else "not intact"


def source_calls(source: Any) -> Any:
    """``verify_calls`` on SRC (None: it has no call tables); ``MigrationError`` when its call events do not verify, for
    the copy of a broken chain could not be checked against it."""
    from adapters.call_store import verify_calls

    try:
        check = verify_calls(source)
    except Exception as exc:
        raise MigrationError(f"{source}: its call events cannot be read ({words(exc)}); nothing was copied", BROKEN) from exc
    if check is not None and not check.intact:
        raise MigrationError(f"{source}: its call events do not verify ({_calls_problem(check)}); migrate copies only call "
                             "events that verify (see callroute audit verify --operator); nothing was copied", BROKEN)
    return check


def _sqlite_rows(connection: sqlite3.Connection) -> CallRows:
    tables = {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}

    def rows(table: str) -> Iterator[tuple[Any, ...]]:
        if table not in tables:
            return
        cursor = connection.execute(_select(table, ""))
        try:
            yield from cursor
        finally:
            cursor.close()

    return rows


def _postgres_rows(connection: Any) -> CallRows:
    """The call tables on the connection's search path, read inside the transaction it has open (server-side cursors)."""
    tables = {name for (name,) in connection.execute(
        "SELECT name FROM unnest(%s::text[]) AS t(name) WHERE to_regclass(name) IS NOT NULL", (list(CALL_TABLES),))}

    def rows(table: str) -> Iterator[tuple[Any, ...]]:
        if table not in tables:
            return
        with connection.cursor(name=f"callroute_migrate_{next(_cursors)}") as cursor:
            cursor.itersize = _FETCH
            cursor.execute(_select(table, ' COLLATE "C"'))
            for row in cursor:
                yield tuple(bytes(value) if isinstance(value, memoryview) else value for value in row)

    return rows


@contextmanager
def _call_source(location: Any) -> Iterator[CallRows]:
    """The call tables of the store at ``location`` in one read snapshot: a writer's commit meanwhile is not seen."""
    from adapters.bootstrap import is_file_store

    if is_file_store(location):
        with closing(sqlite3.connect(f"file:{location}?mode=ro", uri=True, isolation_level=None)) as connection:
            connection.execute("BEGIN")
            try:
                yield _sqlite_rows(connection)
            finally:
                connection.execute("COMMIT")
        return
    from adapters.postgres import connect, translated
    from core.wiring import resolve_store

    with translated(), closing(connect(resolve_store(location))) as connection, connection.transaction():  # type: ignore[arg-type]
        connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield _postgres_rows(connection)


def _insert_call_page(insert: Callable[[str, Sequence[tuple[Any, ...]]], Any], table: str, rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert one page of SRC's rows of a call table into DST (one place, so a test can make a copy fail part-way)."""
    insert(table, rows)


def _copy_calls(rows: CallRows, insert: Callable[[str, Sequence[tuple[Any, ...]]], Any], page: int) -> int:
    """Every row of SRC's call tables (``rows``), a page at a time, through ``insert``; how many call events."""
    events = 0
    for table in CALL_TABLES:
        with closing(rows(table)) as found:  # type: ignore[type-var]
            batch: list[tuple[Any, ...]] = []
            for row in found:
                batch.append(row)
                if len(batch) == page:
                    _insert_call_page(insert, table, batch)
                    batch = []
                events += table == "call_events"
            if batch:
                _insert_call_page(insert, table, batch)
    return events


def _where(table: str, index: int, row: tuple[Any, ...]) -> str:
    if table == "call_events":
        return f"call event {index:,} (seq {row[0]}, tenant {row[1]})"
    if table == "calls":
        return f"the calls table's row for {row[0]} call {row[1]}"
    return f"{row[0]}'s call chain head"


def _first_call_difference(ours: CallRows, theirs: CallRows) -> str | None:
    """Where DST's call tables (``theirs``) first differ from SRC's (``ours``), row for row, byte for byte; None."""
    for table in CALL_TABLES:
        with closing(ours(table)) as mine, closing(theirs(table)) as copied:  # type: ignore[type-var]
            index = 0
            for a, b in itertools.zip_longest(mine, copied):
                if a is None or b is None:
                    return f"it holds {'fewer' if b is None else 'more'} {_CALL_ROWS[table]} than SRC after {index:,}"
                index += 1
                if tuple(a) != tuple(b):
                    return f"{_where(table, index, a)} is not SRC's"
    return None


def _check_calls(source: Any, target: Any, copied: int, copy: CallRows, verify_copy: Callable[[], Any]) -> str:
    """Raise ``MigrationError`` unless DST's call tables (``copy``) are SRC's row for row and byte for byte, and
    ``verify_copy()`` (``verify_calls`` on DST) is intact and SRC's, calls head and all; that calls head."""
    from adapters.call_store import verify_calls

    now = verify_calls(source)
    stored = now.walk.events if now is not None else 0
    if now is None or stored != copied:
        change = (f"{count(stored - copied, 'call event')} stored in SRC" if stored > copied else
                  "SRC's call events were removed" if now is not None else "SRC's call tables were removed")
        raise MigrationError(f"{source}: {change} during the copy; nothing was copied: run migrate again when nothing "
                             "writes to SRC", BROKEN)
    with _call_source(source) as ours:
        difference = _first_call_difference(ours, copy)
    if difference is not None:
        raise MigrationError(f"{target}: the copy differs from SRC: {difference}; nothing was copied", BROKEN)
    check = verify_copy()
    if check is None or not check.intact:
        why = "it has no call tables" if check is None else _calls_problem(check)
        raise MigrationError(f"{target}: the copy's call events do not verify ({why}); nothing was copied", BROKEN)
    if check != now:
        raise MigrationError(f"{target}: the copy's calls head {check.walk.head.hex()} after {check.walk.events:,} call events "
                             f"is not SRC's {now.walk.head.hex()} after {now.walk.events:,}; nothing was copied", BROKEN)
    return str(now.walk.head.hex())


def calls_into_sqlite(source: Any, target: Path, temporary: Path, page: int) -> tuple[int, str]:
    """SRC's call tables into the new file ``temporary`` (one transaction), checked; how many call events, the calls head."""
    from adapters.call_store import SCHEMA, verify_calls

    with closing(sqlite3.connect(temporary, isolation_level=None)) as connection:
        connection.executescript(SCHEMA)
        statements = {table: f"INSERT INTO {table} ({columns}) VALUES ({','.join('?' * (columns.count(',') + 1))})"
                      for table, columns in _CALL_COLUMNS.items()}
        connection.execute("BEGIN IMMEDIATE")
        with _call_source(source) as rows:
            copied = _copy_calls(rows, lambda table, page_rows: connection.executemany(statements[table], page_rows), page)
        connection.execute("COMMIT")
    with _call_source(temporary) as copy:
        head = _check_calls(source, target, copied, copy, lambda: verify_calls(temporary))
    return copied, head


def postgres_holds_calls(connection: Any) -> bool:
    """Whether the call tables on the connection's search path hold any row."""
    tables = [name for (name,) in connection.execute(
        "SELECT name FROM unnest(%s::text[]) AS t(name) WHERE to_regclass(name) IS NOT NULL", (list(CALL_TABLES),))]
    return any(connection.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone() for table in tables)  # noqa: S608


def calls_into_postgres(connection: Any, source: Any, target: Any, page: int) -> tuple[int, str]:
    """SRC's call tables into DST's (made in this transaction), under their SRC ``seq``, checked inside the transaction;
    how many call events, the calls head."""
    from adapters.postgres_calls import check_calls

    def insert(table: str, rows: Sequence[tuple[Any, ...]]) -> None:
        with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({_CALL_COLUMNS[table]}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    with _call_source(source) as rows:
        copied = _copy_calls(rows, insert, page)
    # The next call event stored in DST is numbered after the copied ones, as in SRC.
    connection.execute("SELECT setval(pg_get_serial_sequence('call_events', 'seq'), (SELECT max(seq) FROM call_events))")
    return copied, _check_calls(source, target, copied, _postgres_rows(connection), lambda: check_calls(connection))
