"""The routing projection's rows and tracked position in SQLite (the same file as the events, by default).

On PostgreSQL the same rows are kept by ``adapters/postgres.PostgresProjectionStore``.

A batch stores each tenant's changes as one row (``projection_change_runs``: the batch's
change records of that tenant, in order, in one msgpack array). Stores written before
kept one row per change (``projection_changes``); those rows are still read, first.
Tables are stored zlib-compressed (a 200-user table: about 110 KB of msgpack, 6 KB
compressed); an uncompressed one, as stores before kept them, is read as it is.

A row that cannot be decoded raises ``StoreIntegrityError`` naming it (its content is checked
against the events when it is served: ``core/projections/routing.py``).
"""

from __future__ import annotations

import sqlite3
import zlib
from pathlib import Path
from typing import Any

import msgspec

from core.aggregates.provisioning import Confirmation
from core.lenient import decode_stored
from core.errors import StoreIntegrityError
from core.projections import ChangeRecord, LoadedProjection, PolicyRecord, ProjectionBatch

SCHEMA = """
CREATE TABLE IF NOT EXISTS projection_position (name TEXT PRIMARY KEY, position INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS projection_tenants (aggregate_id TEXT PRIMARY KEY, slug TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS projection_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, slug TEXT NOT NULL, record BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS projection_change_runs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, slug TEXT NOT NULL, records BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS projection_confirmations (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, slug TEXT NOT NULL, record BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS projection_policies (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, slug TEXT NOT NULL, record BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS projection_tables (
    slug TEXT NOT NULL, version INTEGER NOT NULL, blob BLOB NOT NULL, PRIMARY KEY (slug, version));
"""

_encode = msgspec.msgpack.Encoder().encode
_ZLIB = b"\x78"
"""The first byte of a zlib stream; an uncompressed table (msgpack, as stores before kept them) starts with a map's."""
_change = msgspec.msgpack.Decoder(ChangeRecord)
_change_run = msgspec.msgpack.Decoder(list[ChangeRecord])
_confirmation = msgspec.msgpack.Decoder(Confirmation)
_policy = msgspec.msgpack.Decoder(PolicyRecord)


def _decoded(decoder: msgspec.msgpack.Decoder, data: bytes, what: str, slug: str, seq: int) -> Any:
    try:
        return decode_stored(decoder, data)  # rows made from stored events hold what they hold (core/codec.py)
    except msgspec.DecodeError as exc:
        raise StoreIntegrityError(f"the routing projection's {what} of {slug} (row {seq})", None, f"cannot be read ({exc})") from None


class ProjectionMoved(RuntimeError):
    """Another process committed the projection first; this one must reload before going on."""


class SQLiteProjectionStore:
    """Projection rows and position, committed together in one SQLite transaction."""

    def __init__(self, path: Path, name: str = "routing") -> None:
        self.name = name
        self.connection = sqlite3.connect(path, isolation_level=None, timeout=10)
        self.connection.execute("PRAGMA journal_mode=WAL")
        # The rows are derived from the events and committed with their position: a commit a power cut takes back
        # is done again on restart. WAL keeps the file consistent under NORMAL; this connection's commits skip the fsync.
        self.connection.execute("PRAGMA synchronous=NORMAL")
        self.connection.executescript(SCHEMA)

    def load(self) -> LoadedProjection:
        db = self.connection
        row = db.execute("SELECT position FROM projection_position WHERE name = ?", (self.name,)).fetchone()
        try:
            return LoadedProjection(
                position=row[0] if row else 0,
                tenants=dict(db.execute("SELECT aggregate_id, slug FROM projection_tenants")),
                changes=[(slug, _decoded(_change, r, "change record", slug, seq))
                         for seq, slug, r in db.execute("SELECT seq, slug, record FROM projection_changes ORDER BY seq")]
                + [(slug, change) for seq, slug, run in db.execute("SELECT seq, slug, records FROM projection_change_runs ORDER BY seq")
                   for change in _decoded(_change_run, run, "change records", slug, seq)],
                confirmations=[(slug, _decoded(_confirmation, r, "confirmation", slug, seq))
                               for seq, slug, r in db.execute("SELECT seq, slug, record FROM projection_confirmations ORDER BY seq")],
                policies=[(slug, _decoded(_policy, r, "policy", slug, seq))
                          for seq, slug, r in db.execute("SELECT seq, slug, record FROM projection_policies ORDER BY seq")],
            )
        except (TypeError, ValueError) as exc:  # a row that is not a row of this table at all (the wrong column types)
            raise StoreIntegrityError("the routing projection's rows", None, f"cannot be read ({exc})") from None

    def commit(self, expected_position: int, batch: ProjectionBatch) -> None:
        runs = [(slug, _encode(changes)) for slug, changes in batch.changes.items() if changes]
        tables = [(slug, version, zlib.compress(blob, 1)) for slug, version, blob in batch.tables]
        db = self.connection
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute("SELECT position FROM projection_position WHERE name = ?", (self.name,)).fetchone()
            current = row[0] if row else 0
            if current != expected_position:
                raise ProjectionMoved(f"projection {self.name!r} is at {current}, not {expected_position}: reload it")
            db.executemany("INSERT INTO projection_tenants VALUES (?, ?)", batch.tenants.items())
            db.executemany("INSERT INTO projection_change_runs (slug, records) VALUES (?, ?)", runs)
            db.executemany("INSERT INTO projection_confirmations (slug, record) VALUES (?, ?)",
                           [(slug, _encode(r)) for slug, r in batch.confirmations])
            db.executemany("INSERT INTO projection_policies (slug, record) VALUES (?, ?)",
                           [(slug, _encode(r)) for slug, r in batch.policies])
            db.executemany("INSERT OR REPLACE INTO projection_tables VALUES (?, ?, ?)", tables)
            db.execute("INSERT OR REPLACE INTO projection_position VALUES (?, ?)", (self.name, batch.position))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def table(self, slug: str, version: int) -> bytes | None:
        row = self.connection.execute("SELECT blob FROM projection_tables WHERE slug = ? AND version = ?", (slug, version)).fetchone()
        if row is None:
            return None
        blob = row[0]
        try:
            return zlib.decompress(blob) if blob[:1] == _ZLIB else bytes(blob)
        except (zlib.error, TypeError) as exc:
            raise StoreIntegrityError(f"the routing projection's table of {slug}", version, f"cannot be read ({exc})") from None

    def keys(self) -> list[tuple[str, int]]:
        """(slug, version) of every stored table."""
        return [(slug, version) for slug, version in self.connection.execute("SELECT slug, version FROM projection_tables")]

    def close(self) -> None:
        """Close the connection."""
        self.connection.close()
