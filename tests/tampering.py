"""Ways to tamper with a real callroute SQLite store, one function each, for the tests that require their detection.

``build_store(path)`` writes the store they work on: the demo's (the sample tenant
``nordic-dental``, its provisioning record and the Malmö cloud PBX), then enough changes
that the sample tenant has a snapshot (at version 500) and events after it, a second
confirmation of a version after the snapshot, two changes not yet confirmed, and the
routing projection caught up to the last event. Every instant comes from a fixed clock.

Each tamper function takes the path of such a store (or a copy of it: tamper only copies)
and changes the file directly, as someone with write access to it would; they need no
application and leave the file closed. ``KINDS`` maps a stable name to each. Where the
docstring says the projection is dropped, the function also deletes the projection's
tables (as an attacker who lets it be rebuilt from the tampered events would), so that a
head kept before the tampering is the only evidence left.
"""

from __future__ import annotations

import sqlite3
import zlib
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import msgspec

from core.aggregates.chain import event_hash
from core.aggregates.identifiers import tenant_id
from core.aggregates.provisioning import provisioning_id

SLUG = "nordic-dental"
"""The tenant tampered with (``whole_tenant`` deletes it)."""
ADMIN = "admin@nordic-dental.example"
"""The sample tenant's telephony_admin (the demo's actor)."""
FORGER = "mallory@evil.example"
"""The principal a forgery names."""
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
"""When the changes after the demo's are made: after all of them (the demo's last is of 20 November 2026)."""
SNAPSHOT_AT = 500
"""The version of the sample tenant's snapshot."""
CONFIRMED = 509
"""The version the second confirmation (after the snapshot) makes live."""
EVENTS = 511
"""The sample tenant's events: the demo's 39, then changes up to 509, confirmed, then two more."""
EDITED = 12
"""The event that ``edit`` and ``rehashed_edit`` change."""
DELETED = 20
"""The event that ``middle_deletion`` deletes."""
SWAPPED = (30, 31)
"""The events whose states ``swapped_rows`` swaps."""
FORGED_SNAPSHOT_AT = 505
"""The version of the snapshot ``forged_snapshot`` inserts."""

PROJECTION_TABLES = ("projection_position", "projection_tenants", "projection_changes", "projection_change_runs",
                     "projection_confirmations", "projection_policies", "projection_tables")


def build_store(path: Path) -> Path:
    """Write the store described above at ``path`` (which must not exist) and return it."""
    from adapters.bootstrap import build_app, build_projection
    from core import commands as c
    from core.aggregates.context import Actor
    from core.aggregates.targets import ToExtension, ToVoicemail
    from core.clock import SteppingClock
    from tests.adapters.clirun import invoke

    result = invoke(["demo", "--db", str(path)])
    assert result.exit_code == 0, result.output
    app = build_app(path, clock=SteppingClock(NOW, timedelta(seconds=1)))
    try:
        admin = Actor(principal=ADMIN)
        users = ("2001", "2002", "2003", "2004")
        version = app.tenant(SLUG).version
        changes: list[Any] = []
        for i in range(CONFIRMED - version):
            # Each user's busy divert flips between voicemail and a colleague: every change changes the state.
            target = ToVoicemail() if (i // len(users)) % 2 else ToExtension(extension=users[(i + 1) % len(users)])
            changes.append(c.SetDivert(tenant=SLUG, extension=users[i % len(users)], condition="busy", target=target))
        # The application snapshots a tenant as saved when a batch passes a multiple of 500: the first batch ends there.
        app.execute(changes[: SNAPSHOT_AT - version], admin, reason="a busy week")
        app.execute(changes[SNAPSHOT_AT - version:], admin, reason="a busy week")
        app.execute([c.ConfirmProvisioning(tenant=SLUG, version=CONFIRMED)], admin)
        app.execute([c.SetDivert(tenant=SLUG, extension="2001", condition="unreachable", target=ToVoicemail()),
                     c.SetDivert(tenant=SLUG, extension="2002", condition="unreachable", target=ToVoicemail())], admin,
                    reason="not live yet")
        assert app.tenant(SLUG).version == EVENTS
        build_projection(app, path).store.close()  # type: ignore[attr-defined]
    finally:
        app.close()
    with closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


def copy_store(source: Path, target: Path) -> Path:
    """A copy of the store at ``source`` at ``target`` (SQLite's backup: whatever is in its write-ahead log comes too)."""
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)
    return target


@contextmanager
def _store(db: Path) -> Iterator[sqlite3.Connection]:
    """The file opened as anyone with write access could: one transaction, committed on leaving."""
    with closing(sqlite3.connect(db)) as connection:
        with connection:
            yield connection


def _id(record: UUID) -> str:
    return record.hex


def _state(db: sqlite3.Connection, record: UUID, version: int) -> dict[str, Any]:
    row = db.execute("SELECT state FROM stored_events WHERE originator_id = ? AND originator_version = ?",
                     (_id(record), version)).fetchone()
    assert row is not None, f"no event {version} of {record}"
    return msgspec.json.decode(row[0])


def _topic(db: sqlite3.Connection, record: UUID, version: int) -> str:
    (topic,) = db.execute("SELECT topic FROM stored_events WHERE originator_id = ? AND originator_version = ?",
                          (_id(record), version)).fetchone()
    return topic


def _put(db: sqlite3.Connection, record: UUID, version: int, state: dict[str, Any]) -> None:
    db.execute("UPDATE stored_events SET state = ? WHERE originator_id = ? AND originator_version = ?",
               (msgspec.json.encode(state), _id(record), version))


def _sealed(topic: str, record: UUID, version: int, state: dict[str, Any]) -> dict[str, Any]:
    """``state`` with its ``hash`` recomputed, as the application seals an event."""
    fields = {key: value for key, value in state.items() if key != "hash"}
    return {**fields, "hash": event_hash(topic, str(record), version, fields)}


def _last(db: sqlite3.Connection, record: UUID) -> int:
    (version,) = db.execute("SELECT max(originator_version) FROM stored_events WHERE originator_id = ?", (_id(record),)).fetchone()
    return version


def _resealed(topic: str, record: UUID, version: int, snapshot: dict[str, Any]) -> bytes:
    """A snapshot's stored JSON as the application writes it: sealed with its digest again where snapshots carry one."""
    digest = snapshot.pop("digest", None)
    data = msgspec.json.encode(snapshot)
    if digest is None:
        return data
    from core.codec import sealed_snapshot

    return sealed_snapshot(topic, record, version, data)


def drop_projection(db: Path) -> None:
    """Delete the routing projection's tables: the next reader rebuilds them from the events as they are."""
    with _store(db) as connection:
        for table in PROJECTION_TABLES:
            connection.execute(f"DROP TABLE IF EXISTS {table}")


def _drop_projection(connection: sqlite3.Connection) -> None:
    for table in PROJECTION_TABLES:
        connection.execute(f"DROP TABLE IF EXISTS {table}")


# -- the tamper kinds ------------------------------------------------------------------------------------------------


def edit(db: Path) -> None:
    """Edit one stored event's JSON: the reason of the sample tenant's event ``EDITED``; its recorded hash is left as it was."""
    with _store(db) as connection:
        state = _state(connection, tenant_id(SLUG), EDITED)
        state["reason"] = "nobody will notice"
        _put(connection, tenant_id(SLUG), EDITED, state)


def rehashed_edit(db: Path) -> None:
    """Edit the sample tenant's event ``EDITED`` (its actor becomes ``FORGER``) and recompute its hash: the next event's
    link to it breaks."""
    with _store(db) as connection:
        record = tenant_id(SLUG)
        state = _state(connection, record, EDITED)
        state["actor"] = FORGER
        _put(connection, record, EDITED, _sealed(_topic(connection, record, EDITED), record, EDITED, state))


def middle_deletion(db: Path) -> None:
    """Delete the sample tenant's event ``DELETED`` (before its snapshot)."""
    with _store(db) as connection:
        connection.execute("DELETE FROM stored_events WHERE originator_id = ? AND originator_version = ?",
                           (_id(tenant_id(SLUG)), DELETED))


def tail_deletion(db: Path) -> None:
    """Delete the sample tenant's last event (after its snapshot, so no snapshot shows it), and drop the projection."""
    with _store(db) as connection:
        record = tenant_id(SLUG)
        connection.execute("DELETE FROM stored_events WHERE originator_id = ? AND originator_version = ?",
                           (_id(record), _last(connection, record)))
        _drop_projection(connection)


def forged_tail(db: Path) -> None:
    """Append to the sample tenant an event it never recorded, correctly chained and hashed: a copy of its last event,
    a minute later, by ``FORGER``. Every chain still verifies; only a head kept before it (and a check that nothing was
    recorded since) shows it."""
    with _store(db) as connection:
        record = tenant_id(SLUG)
        last = _last(connection, record)
        state = _state(connection, record, last)
        topic = _topic(connection, record, last)
        at = datetime.fromisoformat(state["timestamp"]) + timedelta(minutes=1)
        forged = _sealed(topic, record, last + 1, {**state, "prev_hash": state["hash"], "timestamp": at.isoformat(),
                                                   "actor": FORGER, "reason": None})
        connection.execute("INSERT INTO stored_events (originator_id, originator_version, topic, state) VALUES (?, ?, ?, ?)",
                           (_id(record), last + 1, topic, msgspec.json.encode(forged)))


def swapped_rows(db: Path) -> None:
    """Swap the stored states of the sample tenant's events ``SWAPPED`` (two consecutive events)."""
    with _store(db) as connection:
        record = tenant_id(SLUG)
        first, second = (_state(connection, record, version) for version in SWAPPED)
        _put(connection, record, SWAPPED[0], second)
        _put(connection, record, SWAPPED[1], first)


def snapshot_edit(db: Path) -> None:
    """Edit the state inside the sample tenant's snapshot: ``FORGER`` becomes a telephony_admin of it (any digest the
    snapshot carries is left as it was)."""
    with _store(db) as connection:
        key = _id(tenant_id(SLUG))
        (state,) = connection.execute("SELECT state FROM stored_snapshots WHERE originator_id = ? AND originator_version = ?",
                                      (key, SNAPSHOT_AT)).fetchone()
        snapshot = msgspec.json.decode(state)
        snapshot["state"]["state"]["admins"][FORGER] = ["telephony_admin"]
        connection.execute("UPDATE stored_snapshots SET state = ? WHERE originator_id = ? AND originator_version = ?",
                           (msgspec.json.encode(snapshot), key, SNAPSHOT_AT))


def forged_snapshot(db: Path) -> None:
    """Insert a snapshot of the sample tenant at ``FORGED_SNAPSHOT_AT`` whose chain head is that event's recorded hash but
    whose state is the one of the snapshot at ``SNAPSHOT_AT`` (the changes in between are missing from it) with ``FORGER``
    as a telephony_admin, sealed as the application seals one: only replaying the events shows it."""
    with _store(db) as connection:
        record = tenant_id(SLUG)
        key = _id(record)
        topic, state = connection.execute("SELECT topic, state FROM stored_snapshots WHERE originator_id = ? "
                                          "AND originator_version = ?", (key, SNAPSHOT_AT)).fetchone()
        snapshot = msgspec.json.decode(state)
        event = _state(connection, record, FORGED_SNAPSHOT_AT)
        snapshot["state"]["head"] = event["hash"]
        snapshot["state"]["state"]["admins"][FORGER] = ["telephony_admin"]
        snapshot["state"]["modified_on"] = snapshot["timestamp"] = event["timestamp"]
        connection.execute("INSERT INTO stored_snapshots (originator_id, originator_version, topic, state) VALUES (?, ?, ?, ?)",
                           (key, FORGED_SNAPSHOT_AT, topic, _resealed(topic, record, FORGED_SNAPSHOT_AT, snapshot)))


def projection_table(db: Path) -> None:
    """Edit the stored routing table of version ``CONFIRMED`` (the live one): user 2001's busy divert rings an outside
    number. It still decodes as a table."""
    with _store(db) as connection:
        (blob,) = connection.execute("SELECT blob FROM projection_tables WHERE slug = ? AND version = ?",
                                     (SLUG, CONFIRMED)).fetchone()
        table = msgspec.msgpack.decode(zlib.decompress(blob))
        table["users"]["2001"]["busy"] = {"kind": "external", "number": "+4930123456"}
        connection.execute("UPDATE projection_tables SET blob = ? WHERE slug = ? AND version = ?",
                           (zlib.compress(msgspec.msgpack.encode(table)), SLUG, CONFIRMED))


def projection_change_actor(db: Path) -> None:
    """Edit the actor of the sample tenant's last stored change record (a pending change): it reads as made by ``FORGER``."""
    with _store(db) as connection:
        seq, records = connection.execute("SELECT seq, records FROM projection_change_runs WHERE slug = ? ORDER BY seq DESC",
                                          (SLUG,)).fetchone()
        changes = msgspec.msgpack.decode(records)
        changes[-1]["actor"] = FORGER
        connection.execute("UPDATE projection_change_runs SET records = ? WHERE seq = ?", (msgspec.msgpack.encode(changes), seq))


def projection_confirmation(db: Path) -> None:
    """Edit the sample tenant's last stored confirmation: it says the pending version ``EVENTS`` is live."""
    with _store(db) as connection:
        seq, record = connection.execute("SELECT seq, record FROM projection_confirmations WHERE slug = ? ORDER BY seq DESC",
                                         (SLUG,)).fetchone()
        confirmation = msgspec.msgpack.decode(record)
        confirmation["version"] = EVENTS
        connection.execute("UPDATE projection_confirmations SET record = ? WHERE seq = ?",
                           (msgspec.msgpack.encode(confirmation), seq))


def provisioning_tail_deletion(db: Path) -> None:
    """Delete the last event of the sample tenant's provisioning record (the confirmation of ``CONFIRMED``), and drop the
    projection: rebuilt, the live table is an older version."""
    with _store(db) as connection:
        record = provisioning_id(SLUG)
        connection.execute("DELETE FROM stored_events WHERE originator_id = ? AND originator_version = ?",
                           (_id(record), _last(connection, record)))
        _drop_projection(connection)


def provisioning_tail_rehashed(db: Path) -> None:
    """Edit the sample tenant's last confirmation to a later version (``EVENTS``, not yet live) and recompute its hash (no
    event links to it), and drop the projection: rebuilt, the live table is one the PBX never applied."""
    with _store(db) as connection:
        record = provisioning_id(SLUG)
        last = _last(connection, record)
        state = _state(connection, record, last)
        assert state["version"] == CONFIRMED, state
        state["version"] = EVENTS
        _put(connection, record, last, _sealed(_topic(connection, record, last), record, last, state))
        _drop_projection(connection)


def whole_tenant(db: Path) -> None:
    """Delete every row of the sample tenant: its events, its snapshots, its provisioning record's events and its
    projection rows. Every remaining chain and row agrees; only a kept head shows it."""
    with _store(db) as connection:
        keys = (_id(tenant_id(SLUG)), _id(provisioning_id(SLUG)))
        for table in ("stored_events", "stored_snapshots"):
            connection.executemany(f"DELETE FROM {table} WHERE originator_id = ?", [(key,) for key in keys])
        connection.executemany("DELETE FROM projection_tenants WHERE aggregate_id = ?", [(key,) for key in keys])
        for table in ("projection_changes", "projection_change_runs", "projection_confirmations", "projection_policies",
                      "projection_tables"):
            connection.execute(f"DELETE FROM {table} WHERE slug = ?", (SLUG,))


FORGED_TEXT = "ok\x1b[2J\x1b[31m\x07\u202elive\n2026-11-23 10:00:04+01:00  tenant v999  DivertSet  by admin"
"""A reason that would clear and recolour a terminal, ring, reverse the text after it, and start a fake entry."""


def forged_text(db: Path) -> None:
    """Put ``FORGED_TEXT`` in the reason of the sample tenant's last event and recompute its hash (no event links to it),
    and drop the projection: every chain verifies, as after a change, and the text is what a command would refuse."""
    with _store(db) as connection:
        record = tenant_id(SLUG)
        last = _last(connection, record)
        state = _state(connection, record, last)
        state["reason"] = FORGED_TEXT
        _put(connection, record, last, _sealed(_topic(connection, record, last), record, last, state))
        _drop_projection(connection)


KINDS: dict[str, Callable[[Path], None]] = {
    "edit": edit,
    "rehashed_edit": rehashed_edit,
    "middle_deletion": middle_deletion,
    "tail_deletion": tail_deletion,
    "forged_tail": forged_tail,
    "swapped_rows": swapped_rows,
    "snapshot_edit": snapshot_edit,
    "forged_snapshot": forged_snapshot,
    "projection_table": projection_table,
    "projection_change_actor": projection_change_actor,
    "projection_confirmation": projection_confirmation,
    "provisioning_tail_deletion": provisioning_tail_deletion,
    "provisioning_tail_rehashed": provisioning_tail_rehashed,
    "whole_tenant": whole_tenant,
}
"""Every tamper kind by its stable name."""

KEPT_HEAD_ONLY = frozenset({"tail_deletion", "forged_tail", "provisioning_tail_deletion", "provisioning_tail_rehashed",
                            "whole_tenant"})
"""The kinds after which every chain, snapshot and projection row still agrees: a head kept before is the only evidence."""

TENANT_LEVEL = frozenset(KINDS) - {"whole_tenant"}
"""The kinds that leave the sample tenant in the store (``audit verify --tenant`` can look at it)."""
