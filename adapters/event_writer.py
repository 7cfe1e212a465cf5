"""The write path to the SQLite store: one held connection, one prepared insert per event, one transaction per save.

eventsourcing's recorder takes a pooled connection, opens context managers and a
transaction object around every save; for one command at a time that is about a
fifth of the cost of a command. This writer appends to the same ``stored_events``
table in the same way (the row id is the notification id, as the library's recorder
reads it back), so every reader, the projections and ``audit verify`` see no
difference. Several processes may write: SQLite's lock (with the store's lock
timeout) orders them, and a version clash becomes eventsourcing's ``IntegrityError``.

``CallrouteApp.execute`` then tries the batch again inside ``retrying``: after a short
pause of random length, so that writers that clashed do not clash again in step, and
from the third try on holding SQLite's write lock from before the batch loads its
tenants until its insert commits, so that a slow writer (one that loads a long tenant
from the store) cannot be overtaken for ever by fast ones. The first try, the only one
a writer without rivals makes, takes no lock and does not pause.
"""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from uuid import UUID

from eventsourcing.persistence import IntegrityError, StoredEvent

_INSERT = "INSERT INTO stored_events VALUES (?,?,?,?)"

FIRST_RETRY_PAUSE_SECONDS = 0.001
"""The longest pause before the second try of a batch; doubled before each further try, up to ``MAX_RETRY_PAUSE_SECONDS``."""
MAX_RETRY_PAUSE_SECONDS = 0.032
"""The longest pause before any try: with ``CallrouteApp.max_attempts`` = 8, at most 0.095 s of pauses in all."""
LOCKED_FROM_TRY = 3
"""From this try of a batch on, the try holds the write lock from before it loads until its insert commits."""


class SQLiteEventWriter:
    """Appends stored events to one SQLite file (see the module's docstring for why not the library's recorder).

    ``sleep`` and ``jitter`` (``random.uniform``'s signature) are the pause between tries, replaceable in tests.
    """

    def __init__(self, path: Path, *, lock_timeout: float = 10.0, sleep: Callable[[float], None] = time.sleep,
                 jitter: Callable[[float, float], float] = random.uniform) -> None:
        self._path = path
        self._lock_timeout = lock_timeout
        self._sleep = sleep
        self._jitter = jitter
        self._connection: sqlite3.Connection | None = None
        self._lock = threading.RLock()  # re-entered by ``insert`` inside ``retrying``

    def insert(self, stored_events: Sequence[StoredEvent]) -> list[int]:
        """Insert ``stored_events`` in one transaction; their notification ids, in order.

        Inside ``retrying``'s held lock, the held transaction is the one: it commits here.
        """
        with self._lock:
            connection = self._connection or self._connect()
            cursor = connection.cursor()
            held = connection.in_transaction
            if len(stored_events) == 1 and not held:
                # One statement in autocommit mode is its own transaction: the same all-or-nothing, two calls fewer.
                stored = stored_events[0]
                originator = stored.originator_id.hex if isinstance(stored.originator_id, UUID) else stored.originator_id
                try:
                    cursor.execute(_INSERT, (originator, stored.originator_version, stored.topic, stored.state))
                except sqlite3.IntegrityError as exc:
                    raise IntegrityError(exc) from exc
                return [cursor.lastrowid]  # type: ignore[list-item]
            if not held:
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

    @contextmanager
    def retrying(self, lost: int) -> Iterator[None]:
        """The context of the next try of a batch whose ``lost`` tries so far lost to other writers.

        First a pause of random length ("full jitter"): up to 1 ms after one lost try, 2 ms after two, doubling up
        to 32 ms, so that writers that clashed spread out, and a clock a few milliseconds behind another writer's
        catches up with the change that writer stored. Then, from try ``LOCKED_FROM_TRY`` on, SQLite's write lock
        is taken (``BEGIN IMMEDIATE``, waiting up to the lock timeout) and held until the batch's insert commits or
        the try ends: no other writer can store a change between this try's clock reading, its load and its save.
        If the lock cannot be had within the timeout, the try goes ahead without it.
        """
        self._sleep(self._jitter(0.0, min(MAX_RETRY_PAUSE_SECONDS, FIRST_RETRY_PAUSE_SECONDS * 2 ** (lost - 1))))
        if lost + 1 < LOCKED_FROM_TRY:
            yield
            return
        with self._lock:
            connection = self._connection or self._connect()
            try:
                connection.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError:  # still locked by another writer after the lock timeout
                connection = None
            try:
                yield
            finally:
                if connection is not None and connection.in_transaction:  # the try stored nothing: let go of the lock
                    connection.rollback()

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
