"""The write path to the SQLite store: one held connection, one prepared insert per event, one transaction per save.

eventsourcing's recorder takes a pooled connection, opens context managers and a
transaction object around every save; for one command at a time that is about a
fifth of the cost of a command. This writer appends to the same ``stored_events``
table in the same way (the row id is the notification id, as the library's recorder
reads it back), so every reader, the projections and ``audit verify`` see no
difference. Several processes may write: SQLite's lock (with the store's lock
timeout) orders them, and a version clash becomes eventsourcing's ``IntegrityError``.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from uuid import UUID

from eventsourcing.persistence import IntegrityError, StoredEvent

_INSERT = "INSERT INTO stored_events VALUES (?,?,?,?)"


class SQLiteEventWriter:
    """Appends stored events to one SQLite file (see the module's docstring for why not the library's recorder)."""

    def __init__(self, path: Path, *, lock_timeout: float = 10.0) -> None:
        self._path = path
        self._lock_timeout = lock_timeout
        self._connection: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def insert(self, stored_events: Sequence[StoredEvent]) -> list[int]:
        """Insert ``stored_events`` in one transaction; their notification ids, in order."""
        with self._lock:
            connection = self._connection or self._connect()
            cursor = connection.cursor()
            if len(stored_events) == 1:
                # One statement in autocommit mode is its own transaction: the same all-or-nothing, two calls fewer.
                stored = stored_events[0]
                originator = stored.originator_id.hex if isinstance(stored.originator_id, UUID) else stored.originator_id
                try:
                    cursor.execute(_INSERT, (originator, stored.originator_version, stored.topic, stored.state))
                except sqlite3.IntegrityError as exc:
                    raise IntegrityError(exc) from exc
                return [cursor.lastrowid]  # type: ignore[list-item]
            cursor.execute("BEGIN")
            try:
                ids = []
                for stored in stored_events:
                    originator = stored.originator_id.hex if isinstance(stored.originator_id, UUID) else stored.originator_id
                    cursor.execute(_INSERT, (originator, stored.originator_version, stored.topic, stored.state))
                    ids.append(cursor.lastrowid)
                cursor.execute("COMMIT")
            except sqlite3.IntegrityError as exc:
                connection.rollback()
                raise IntegrityError(exc) from exc
            except BaseException:
                if connection.in_transaction:
                    connection.rollback()
                raise
            return ids  # type: ignore[return-value]

    def _connect(self) -> sqlite3.Connection:
        # Opened on first use: by then the application has created the tables and set WAL mode.
        self._connection = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False,
                                           timeout=self._lock_timeout, cached_statements=16)
        return self._connection

    def close(self) -> None:
        """Close the held connection (a later insert opens a new one)."""
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None
