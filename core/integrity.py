"""Readers check what they read: each stored event against its hash and its place in the chain, as it is decoded.

``core/audit.verify_chain`` walks a whole record; a reader checks only what it reads, so the
check costs what the read costs. Every event decoded by the mapper has its recorded hash
recomputed from its raw stored JSON (``core/codec.py``, exactly as ``verify_chain`` does), and
every event applied to an aggregate must be the next version and link to the head before it
(``ChainedEvent.mutate``): the snapshot's recorded head for the first event after a snapshot,
``GENESIS`` for the first. A load that ends on a snapshot checks the snapshot's head against the
recorded hash of the event at its version, and a load from a snapshot counts the stored versions
up to the one loaded (one look-up in the store's index), so an event deleted before the snapshot
is found too (``CheckedRepository``). What fails raises ``StoreIntegrityError``: readers refuse
to serve it, and writers, which load through the same repository, refuse to append after it.

What a reader cannot see is what it does not read: an edit of an event before the snapshot it
starts from, a snapshot forged with a state its events do not give (its digest recomputed,
``core/codec.py``), events deleted from the end of a record (unless the routing projection saw
them), an appended tail that is correctly chained, or a whole record deleted. ``callroute audit
verify`` walks every event and snapshot, and a kept store head catches the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import chain
from typing import Any
from uuid import UUID

import msgspec
from eventsourcing.application import AggregateNotFoundError, Repository, project_aggregate

from core.aggregates.chain import GENESIS, event_hash
from core.errors import StoreIntegrityError

_raw = msgspec.json.Decoder()

UNNAMED = "record "
"""How an error names a record before the application puts a name on it (``record <hex id>``)."""


def broken(originator_id: Any, version: int | None, detail: str) -> StoreIntegrityError:
    """The error for record ``originator_id``, named by its id until ``named`` gives it the tenant's name."""
    exc = StoreIntegrityError(f"{UNNAMED}{_hex(originator_id)}", version, detail)
    exc.originator_id = originator_id  # type: ignore[attr-defined]
    return exc


def named(exc: StoreIntegrityError, name_of: Callable[[Any], str]) -> StoreIntegrityError:
    """``exc`` with its record named (``tenant nordic-dental``) if it was named by id only."""
    originator_id = getattr(exc, "originator_id", None)
    if originator_id is None or not exc.record.startswith(UNNAMED):
        return exc
    try:
        name = name_of(originator_id)
    except Exception:  # noqa: BLE001 - a name is a courtesy: an unreadable store keeps the id
        return exc
    renamed = StoreIntegrityError(name, exc.version, exc.detail)
    renamed.originator_id = originator_id  # type: ignore[attr-defined]
    return renamed


def _hex(originator_id: Any) -> str:
    return originator_id.hex if isinstance(originator_id, UUID) else str(originator_id)


def altered(originator_id: Any, version: int, topic: str) -> StoreIntegrityError:
    return broken(originator_id, version, f"the stored {topic} does not match its recorded hash (its content was edited)")


def checked_raw(mapper: Any, stored: Any, id_text: str | None = None) -> tuple[dict[str, Any], str]:
    """The raw stored fields of a chained event (without ``hash``) and its recorded hash, after checking one against the other.

    Raises ``StoreIntegrityError`` when the recorded hash is not that of the content, or the event
    cannot be read as a chained event at all.
    """
    try:
        raw = mapper.decode_raw(stored.state)
        recorded = raw.pop("hash")
    except (msgspec.DecodeError, KeyError, TypeError, AttributeError, ValueError) as exc:
        raise broken(stored.originator_id, stored.originator_version, f"the stored event cannot be read ({exc})") from None
    text = id_text if id_text is not None else str(stored.originator_id)
    if not isinstance(recorded, str) or event_hash(stored.topic, text, stored.originator_version, raw) != recorded:
        raise altered(stored.originator_id, stored.originator_version, stored.topic)
    return raw, recorded


def gap(originator_id: Any, expected: int, found: int | None) -> StoreIntegrityError:
    """A version missing where the next one was expected (``found``: the version read instead, ``None``: none)."""
    if found is None:
        return broken(originator_id, expected, f"event version {expected} is missing")
    return broken(originator_id, expected, f"event version {expected} is missing (the next stored is version {found})")


def unlinked(originator_id: Any, version: int, topic: str) -> StoreIntegrityError:
    return broken(originator_id, version, f"the stored {topic} does not link to the hash of version {version - 1} "
                                          "(rows swapped or replaced, or an edit re-hashed)")


def checked_events(mapper: Any, recorder: Any, originator_id: Any, *, gt: int = 0, lte: int | None = None
                   ) -> Iterator[tuple[Any, dict[str, Any], str]]:
    """The stored events after version ``gt`` (up to ``lte``), each as (stored event, raw fields, recorded hash), checked.

    Each one's hash against its content, its version (the next one, without a gap) and its link
    to the one before; for ``gt > 0`` the event at ``gt`` is read too, for its hash (checked
    against its content), so that the first event returned is checked against it.
    """
    id_text = str(originator_id)
    stored_events = recorder.select_events(originator_id, gt=gt - 1 if gt > 0 else None, lte=lte)
    head, version = GENESIS, gt - 1 if gt > 0 else 0
    for stored in stored_events:
        raw, recorded = checked_raw(mapper, stored, id_text)
        version += 1
        if stored.originator_version != version:
            raise gap(originator_id, version, stored.originator_version)
        if version > gt:
            if raw.get("prev_hash") != head:
                raise unlinked(originator_id, version, stored.topic)
            yield stored, raw, recorded
        head = recorded
    if gt > 0 and version < gt:
        raise gap(originator_id, gt, None)


class CheckedRepository(Repository):  # type: ignore[type-arg]
    """The library's repository with the reader's checks (see the module's docstring) and the record named in its errors."""

    name_of: Callable[[Any], str]

    @classmethod
    def wrapping(cls, repository: Repository, name_of: Callable[[Any], str]) -> CheckedRepository:  # type: ignore[type-arg]
        """This repository with the settings of ``repository`` (as the application constructed it)."""
        checked = cls.__new__(cls)
        checked.__dict__.update(repository.__dict__)
        checked.name_of = name_of
        return checked

    def get(self, aggregate_id: Any, **kwargs: Any) -> Any:
        try:
            return super().get(aggregate_id, **kwargs)
        except StoreIntegrityError as exc:
            raise named(exc, self.name_of) from None

    def _reconstruct_aggregate(self, aggregate_id: Any, version: int | None, projector_func: Any) -> Any:
        """As the library does (the latest snapshot at or before ``version``, then the events after it), checked."""
        snapshots = []
        if self.snapshot_store is not None:
            snapshots = list(self.snapshot_store.get(originator_id=aggregate_id, desc=True, limit=1, lte=version))
        gt = snapshots[0].originator_version if snapshots else None
        events = self.event_store.get(originator_id=aggregate_id, gt=gt, lte=version)
        if projector_func is project_aggregate:
            # The library's projector without its assertion that each event is a ``typing.Protocol`` (about 75 us an
            # event: more than the checks cost); ``mutate`` is all it calls.
            aggregate = None
            for event in chain(snapshots, events):
                aggregate = event.mutate(aggregate)
        else:
            aggregate = projector_func(None, chain(snapshots, events))
        if aggregate is None:
            msg = f"Aggregate {aggregate_id!r} version {version!r} not found."
            raise AggregateNotFoundError(msg)
        if snapshots:
            if aggregate.version == gt:
                self._check_snapshot_head(aggregate_id, gt, aggregate.head)  # type: ignore[arg-type]
            self._check_count(aggregate_id, gt)  # type: ignore[arg-type]
        return aggregate

    def _check_count(self, aggregate_id: Any, version: int) -> None:
        """Versions 1 to ``version`` (those a snapshot stands for) must all be stored: one count over the store's index."""
        recorder = self.event_store.recorder
        datastore, table = getattr(recorder, "datastore", None), getattr(recorder, "events_table_name", None)
        if table is None or not hasattr(datastore, "transaction"):
            return  # not an SQL store (in memory, for tests and the simulator)
        # SQLite keeps the id as hex text and takes ``?``; PostgreSQL (eventsourcing.postgres, psycopg) a uuid and ``%s``.
        postgres = type(datastore).__module__.startswith("eventsourcing.postgres")
        key = aggregate_id if postgres else aggregate_id.hex if isinstance(aggregate_id, UUID) else str(aggregate_id)
        mark = "%s" if postgres else "?"
        if postgres:
            table = f'"{datastore.schema}"."{table}"'  # type: ignore[union-attr]
        with datastore.transaction(commit=False) as cursor:  # type: ignore[union-attr]
            cursor.execute(f"SELECT COUNT(*) AS n FROM {table} WHERE originator_id = {mark} AND originator_version <= {mark}",
                           (key, version))
            count = cursor.fetchone()["n"]  # sqlite3.Row and psycopg's dict rows both take the column's name
            if count == version:
                return
            cursor.execute(f"SELECT originator_version FROM {table} WHERE originator_id = {mark} AND originator_version <= {mark} "
                           "ORDER BY originator_version", (key, version))
            stored = [row["originator_version"] for row in cursor.fetchall()]
        missing = next((v for v, s in enumerate(stored, start=1) if v != s), len(stored) + 1)
        raise broken(aggregate_id, missing, f"event version {missing} is missing (before the snapshot at version {version}: "
                                            f"{version - len(stored)} of its versions are not stored)")

    def _check_snapshot_head(self, aggregate_id: Any, version: int, head: str) -> None:
        """A snapshot with no event after it: its head must be the recorded hash of the stored event at its version."""
        store = self.event_store
        rows = store.recorder.select_events(aggregate_id, gt=version - 1, lte=version)
        if not rows:
            raise broken(aggregate_id, version, f"the snapshot at version {version} is past the last stored event: "
                                                "events were deleted")
        _, recorded = checked_raw(store.mapper, rows[0])
        if recorded != head:
            raise broken(aggregate_id, version, f"the snapshot at version {version} records a different chain head "
                                                "than the stored event at its version")
