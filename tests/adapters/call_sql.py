"""SQL on a store's call tables as someone with the store would run it, on either test backend (``tests/backends.py``).

On SQLite the statements run on the file; on the PostgreSQL backend (or for a ``postgresql://`` URL) on the database
the path was sent to, with ``?`` placeholders given as psycopg's ``%s``. The call tables have the same names and
columns on both (``adapters/call_store.py``, ``adapters/postgres_calls.py``), so a tamper reads the same on both.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from core import wiring
from core.wiring import PostgresStore


def _postgres(location: Path | str) -> PostgresStore | None:
    store = wiring.resolve_store(location)
    return store if isinstance(store, PostgresStore) else None


def sql(location: Path | str, statement: str, *values: object) -> None:
    """Run one statement and commit it."""
    store = _postgres(location)
    if store is not None:
        import psycopg

        with psycopg.connect(**store.conninfo(), autocommit=True) as db:
            db.execute(statement.replace("?", "%s"), values or None)  # type: ignore[arg-type]
        return
    with closing(sqlite3.connect(location)) as connection, connection:
        connection.execute(statement, values)


def query(location: Path | str, statement: str, *values: object) -> list[tuple[Any, ...]]:
    """The rows of one query (``bytea`` as ``bytes``, as SQLite gives a ``BLOB``)."""
    store = _postgres(location)
    if store is not None:
        import psycopg

        with psycopg.connect(**store.conninfo(), autocommit=True) as db:
            rows = db.execute(statement.replace("?", "%s"), values or None).fetchall()  # type: ignore[arg-type]
        return [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in rows]
    with closing(sqlite3.connect(location)) as connection:
        return connection.execute(statement, values).fetchall()


def call_tables(location: Path | str) -> set[str]:
    """The names of the store's tables that start with ``call``."""
    store = _postgres(location)
    if store is not None:
        return {name for (name,) in query(location, "SELECT table_name FROM information_schema.tables "
                                                    "WHERE table_schema = current_schema() AND table_name LIKE 'call%'")}
    return {name for (name,) in query(location, "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'call%'")}
