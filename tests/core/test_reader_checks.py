"""Readers check what they read (``core/integrity.py``): aggregate loads, writes, history, and the routing projection.

Each test writes a small SQLite store (snapshots every 5 events, so that a load starts from a
snapshot and replays a few events after it), changes the file as someone with write access
would, and reads it again with a fresh application. What the checks cannot see by design is
asserted too, so that a change that made them see it (or stop seeing the rest) fails here.
"""

from __future__ import annotations

import sqlite3
import zlib
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest.mock import patch

import msgspec
import pytest

from adapters.projection_store import SQLiteProjectionStore
from core import commands as c
from core.aggregates.chain import GENESIS, event_hash
from core.aggregates.context import Actor
from core.aggregates.identifiers import tenant_id
from core.aggregates.provisioning import provisioning_id
from core.aggregates.targets import ToExtension, ToVoicemail
from core.aggregates.tenant import Tenant
from core.audit import verify_chain
from core.clock import SteppingClock
from core.codec import opened_snapshot, sealed_snapshot
from core.errors import StoreIntegrityError
from core.projections import MemoryProjectionStore, RoutingProjection, tenant_history
from core.routing import compile_table
from core.service import CallrouteApp
from core.wiring import store_env

pytestmark = pytest.mark.sqlite_only  # edits, deletes and swaps rows of the SQLite file; see tests/backends.py

T = "acme"
ADMIN = Actor(principal="admin@acme")
START = datetime(2026, 11, 16, 8, 0, tzinfo=UTC)
LATER = START + timedelta(days=30)
SEEDED = 4
"""Events of the seed: the tenant, two users, a number."""


class FakeHasher:
    def hash(self, pin: str) -> str:
        return "fake$" + pin[::-1]


class SmallSnapshots(CallrouteApp):
    """The application with a snapshot every 5 events, so that small stores have snapshots with events after them."""

    snapshotting_intervals = {Tenant: 5}  # noqa: RUF012


def open_app(path: Path, at: datetime = START) -> CallrouteApp:
    return SmallSnapshots(store_env(path), clock=SteppingClock(at, timedelta(minutes=7)), pin_hasher=FakeHasher())


def divert(index: int) -> c.SetDivert:
    """A change of user 2001's busy divert that differs from the one before."""
    return c.SetDivert(tenant=T, extension="2001", condition="busy",
                       target=ToVoicemail() if index % 2 else ToExtension(extension="2002"), reason=f"change {index}")


def build(path: Path, changes: int = 8) -> Path:
    """Tenant acme: the seed, then ``changes`` diverts one command at a time (snapshots at 5 and 10), version 12 by default."""
    app = open_app(path)
    app.execute([c.CreateTenant(tenant=T, name="Acme", time_zone="Europe/Stockholm")], ADMIN)
    app.execute([c.AddUser(tenant=T, extension="2001", name="Ann")], ADMIN)
    app.execute([c.AddUser(tenant=T, extension="2002", name="Bo")], ADMIN)
    app.execute([c.AssignNumber(tenant=T, extension="2001", number="+46812345670")], ADMIN)
    for index in range(changes):
        app.execute([divert(index)], ADMIN)
    app.close()
    return path


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return build(tmp_path / "store.sqlite")


@contextmanager
def edited(path: Path) -> Iterator[sqlite3.Connection]:
    with closing(sqlite3.connect(path)) as db, db:
        yield db


def key(record: Any = None) -> str:
    return (record or tenant_id(T)).hex


def state_of(db: sqlite3.Connection, version: int, record: Any = None) -> dict[str, Any]:
    (state,) = db.execute("SELECT state FROM stored_events WHERE originator_id = ? AND originator_version = ?",
                          (key(record), version)).fetchone()
    return msgspec.json.decode(state)


def put(db: sqlite3.Connection, version: int, state: dict[str, Any], record: Any = None) -> None:
    db.execute("UPDATE stored_events SET state = ? WHERE originator_id = ? AND originator_version = ?",
               (msgspec.json.encode(state), key(record), version))


def rehashed(db: sqlite3.Connection, version: int, state: dict[str, Any], record: Any = None) -> dict[str, Any]:
    (topic,) = db.execute("SELECT topic FROM stored_events WHERE originator_id = ? AND originator_version = ?",
                          (key(record), version)).fetchone()
    fields = {k: v for k, v in state.items() if k != "hash"}
    return {**fields, "hash": event_hash(topic, str(record or tenant_id(T)), version, fields)}


def delete(db: sqlite3.Connection, *versions: int, record: Any = None) -> None:
    db.executemany("DELETE FROM stored_events WHERE originator_id = ? AND originator_version = ?",
                   [(key(record), version) for version in versions])


def stored_count(path: Path) -> int:
    with closing(sqlite3.connect(path)) as db:
        return db.execute("SELECT count(*) FROM stored_events").fetchone()[0]


def refused(path: Path, match: str) -> StoreIntegrityError:
    """A fresh application refuses to load the tenant, with an error that names it and says ``match``."""
    app = open_app(path)
    with pytest.raises(StoreIntegrityError, match=match) as info:
        app.tenant(T)
    assert str(info.value).startswith(f"tenant {T} at version ")
    return info.value


# -- aggregate loads ---------------------------------------------------------------------------------------------------


def test_an_untouched_store_loads_from_its_snapshot_and_verifies(store: Path) -> None:
    app = open_app(store)
    assert [s.originator_version for s in app.snapshots.get(tenant_id(T))] == [5, 10]
    assert app.tenant(T).version == SEEDED + 8
    assert app.tenant(T, version=7).version == 7
    assert verify_chain(app.recorder, app.mapper, tenant_id(T), app.snapshots).intact


def test_an_event_edited_after_the_snapshot_is_refused_naming_the_tenant_and_version(store: Path) -> None:
    with edited(store) as db:
        state = state_of(db, 11)
        put(db, 11, {**state, "reason": "nobody will notice"})
    error = refused(store, "does not match its recorded hash")
    assert (error.record, error.version) == (f"tenant {T}", 11)
    assert "callroute/DivertSet" in error.detail


def test_a_load_at_an_earlier_version_reads_and_checks_only_up_to_it(store: Path) -> None:
    with edited(store) as db:
        put(db, 11, {**state_of(db, 11), "reason": "nobody will notice"})
    app = open_app(store)
    assert app.tenant(T, version=9).version == 9  # events 6 to 9 after the snapshot at 5: untouched
    with pytest.raises(StoreIntegrityError, match="at version 11"):
        app.tenant(T, version=11)


def test_a_rehashed_edit_breaks_the_link_of_the_next_event(store: Path) -> None:
    with edited(store) as db:
        state = state_of(db, 11)
        put(db, 11, rehashed(db, 11, {**state, "actor": "mallory"}))
    error = refused(store, "does not link to the hash of version 11")
    assert error.version == 12


def test_a_rehashed_edit_of_the_last_event_is_served_only_a_kept_head_shows_it(store: Path) -> None:
    """Nothing links to the last event: a reader has nothing to check its recomputed hash against (by design)."""
    with edited(store) as db:
        put(db, 12, rehashed(db, 12, {**state_of(db, 12), "actor": "mallory"}))
    app = open_app(store)
    assert app.tenant(T).version == 12
    assert tenant_history(app, T)[-1].actor == "mallory"


def test_swapped_rows_are_refused(store: Path) -> None:
    with edited(store) as db:
        first, second = state_of(db, 11), state_of(db, 12)
        put(db, 11, second)
        put(db, 12, first)
    refused(store, "at version 11: the stored callroute/DivertSet does not match its recorded hash")


def test_a_deleted_event_after_the_snapshot_is_a_missing_version_not_a_library_error(store: Path) -> None:
    with edited(store) as db:
        delete(db, 11)
    error = refused(store, r"event version 11 is missing \(the next stored is version 12\)")
    assert error.version == 11


def test_a_deleted_event_before_the_snapshot_is_found_by_counting_the_versions(store: Path) -> None:
    with edited(store) as db:
        delete(db, 3)
    refused(store, "at version 3: event version 3 is missing .*snapshot at version 10")
    # At a version before the first snapshot the tenant is replayed from its first event, which finds the gap too.
    with pytest.raises(StoreIntegrityError, match="event version 3 is missing"):
        open_app(store).tenant(T, version=4)


def test_a_deleted_first_event_is_named_by_its_record_id_and_version(tmp_path: Path) -> None:
    path = build(tmp_path / "store.sqlite", changes=0)  # no snapshot: the load replays from the first event
    with edited(path) as db:
        delete(db, 1)
    with pytest.raises(StoreIntegrityError, match="event version 1 is missing") as info:
        open_app(path).tenant(T)
    assert "its first event is missing" in info.value.record  # no creation event left to name it


def test_a_first_event_that_is_not_a_creation_is_refused(tmp_path: Path) -> None:
    path = build(tmp_path / "store.sqlite", changes=0)
    with edited(path) as db:
        second = state_of(db, 2)
        (topic,) = db.execute("SELECT topic FROM stored_events WHERE originator_version = 2").fetchone()
        delete(db, 1)
        db.execute("UPDATE stored_events SET originator_version = 1 WHERE originator_id = ? AND originator_version = 2", (key(),))
        fields = {**{k: v for k, v in second.items() if k != "hash"}, "prev_hash": GENESIS}
        put(db, 1, {**fields, "hash": event_hash(topic, str(tenant_id(T)), 1, fields)})
        delete(db, 3, 4)
    with pytest.raises(StoreIntegrityError, match="the first stored event is a callroute/UserAdded, not a creation"):
        open_app(path).tenant(T)


# -- snapshots ---------------------------------------------------------------------------------------------------------


def snapshot_row(db: sqlite3.Connection, version: int) -> tuple[str, bytes]:
    return db.execute("SELECT topic, state FROM stored_snapshots WHERE originator_id = ? AND originator_version = ?",
                      (key(), version)).fetchone()


def put_snapshot(db: sqlite3.Connection, version: int, data: bytes) -> None:
    db.execute("UPDATE stored_snapshots SET state = ? WHERE originator_id = ? AND originator_version = ?", (data, key(), version))


def test_a_snapshot_is_stored_with_a_digest_of_its_content() -> None:
    data = b'{"topic":"callroute/Tenant","state":{"head":"x"}}'
    sealed = sealed_snapshot("callroute/TenantSnapshot", tenant_id(T), 10, data)
    assert msgspec.json.decode(sealed)["digest"]

    class Row:
        topic, originator_id, originator_version = "callroute/TenantSnapshot", tenant_id(T), 10

    assert opened_snapshot(Row(), sealed) == data  # type: ignore[arg-type]
    Row.originator_version = 11  # the same bytes under another version: not what was sealed
    with pytest.raises(StoreIntegrityError, match="does not match its digest"):
        opened_snapshot(Row(), sealed)  # type: ignore[arg-type]


def test_an_edited_snapshot_is_refused_by_its_digest(store: Path) -> None:
    with edited(store) as db:
        _, data = snapshot_row(db, 10)
        put_snapshot(db, 10, data.replace(b'"name":"Acme"', b'"name":"Evil Corp"'))
    refused(store, "at version 10: the snapshot at version 10 does not match its digest")


def test_a_snapshot_stored_before_digests_is_read_and_its_head_still_checked(store: Path) -> None:
    """A snapshot without a digest (as stores before kept them) is trusted as far as its head: edited, it is served."""
    with edited(store) as db:
        _, data = snapshot_row(db, 10)
        legacy = msgspec.json.decode(data)
        del legacy["digest"]
        legacy["state"]["state"]["name"] = "Evil Corp"
        put_snapshot(db, 10, msgspec.json.encode(legacy))
    assert open_app(store).tenant(T).state.name == "Evil Corp"  # only audit verify's replay shows it
    with edited(store) as db:
        legacy["state"]["head"] = "0" * 64
        put_snapshot(db, 10, msgspec.json.encode(legacy))
    refused(store, "does not link to the hash of version 10")  # the events after it link to the real head


def test_a_snapshot_with_no_event_after_it_must_record_the_head_of_the_event_at_its_version(store: Path) -> None:
    with edited(store) as db:
        _, data = snapshot_row(db, 10)
        snapshot = msgspec.json.decode(data)
        del snapshot["digest"]
        snapshot["state"]["head"] = "f" * 64
        put_snapshot(db, 10, sealed_snapshot("callroute/TenantSnapshot", tenant_id(T), 10, msgspec.json.encode(snapshot)))
    app = open_app(store)
    with pytest.raises(StoreIntegrityError, match="the snapshot at version 10 records a different chain head"):
        app.tenant(T, version=10)


def test_a_snapshot_past_the_last_stored_event_shows_the_deleted_tail(store: Path) -> None:
    with edited(store) as db:
        delete(db, 10, 11, 12)
    refused(store, "the snapshot at version 10 is past the last stored event: events were deleted")


def test_a_tail_deleted_after_the_snapshot_is_served_only_a_kept_head_or_the_projection_shows_it(store: Path) -> None:
    with edited(store) as db:
        delete(db, 12)
    assert open_app(store).tenant(T).version == 11


# -- writes ------------------------------------------------------------------------------------------------------------


def test_a_writer_refuses_to_append_to_a_broken_chain_and_stores_nothing(store: Path) -> None:
    with edited(store) as db:
        delete(db, 7)
    before = stored_count(store)
    app = open_app(store, LATER)
    with pytest.raises(StoreIntegrityError, match="event version 7 is missing"):
        app.execute([divert(99)], ADMIN)
    with pytest.raises(StoreIntegrityError, match="event version 7 is missing"):
        app.execute([c.ConfirmProvisioning(tenant=T, version=5)], ADMIN)
    assert stored_count(store) == before


def test_a_tenant_already_cached_is_not_read_again_by_later_commands(store: Path) -> None:
    """The cost of the checks is paid when a tenant is loaded, not per command: an application that loaded it before the
    store was changed goes on from what it read (and appends after the real head, which is intact)."""
    app = open_app(store, LATER)
    app.execute([divert(100)], ADMIN)  # loads and caches the tenant
    with edited(store) as db:
        delete(db, 7)
    with patch.object(app.recorder, "select_events", side_effect=AssertionError("read again")):
        app.execute([divert(101)], ADMIN)
    with pytest.raises(StoreIntegrityError):
        open_app(store, LATER).execute([divert(102)], ADMIN)


# -- history -----------------------------------------------------------------------------------------------------------


def test_history_checks_every_event_it_reads(store: Path) -> None:
    with edited(store) as db:
        put(db, 2, {**state_of(db, 2), "name": "Mallory"})
    with pytest.raises(StoreIntegrityError, match=f"^tenant {T} at version 2: .*does not match its recorded hash"):
        tenant_history(open_app(store), T)


def test_history_checks_the_links_of_the_provisioning_record(store: Path) -> None:
    app = open_app(store, LATER)
    app.execute([c.ConfirmProvisioning(tenant=T, version=5)], ADMIN)
    app.execute([c.ConfirmProvisioning(tenant=T, version=9)], ADMIN)
    record = provisioning_id(T)
    with edited(store) as db:
        second, third = state_of(db, 2, record), state_of(db, 3, record)
        put(db, 2, rehashed(db, 2, {**third, "prev_hash": second["prev_hash"]}, record), record)
        put(db, 3, rehashed(db, 3, {**second, "prev_hash": second["hash"]}, record), record)
    with pytest.raises(StoreIntegrityError, match=f"^the provisioning record of {T} at version 3: .*does not link"):
        tenant_history(open_app(store), T)


# -- the routing projection: catch-up ----------------------------------------------------------------------------------


def test_catch_up_refuses_an_edited_event_and_stays_where_it_was(store: Path) -> None:
    with edited(store) as db:
        put(db, 6, {**state_of(db, 6), "actor": "mallory"})
    projection = RoutingProjection(open_app(store), MemoryProjectionStore())
    with pytest.raises(StoreIntegrityError, match=f"^tenant {T} at version 6: .*does not match its recorded hash"):
        projection.catch_up()
    assert projection.position == 0


@pytest.mark.parametrize("tamper", ["deleted", "rehashed"])
def test_catch_up_checks_versions_and_links_from_where_it_resumes(store: Path, tamper: str) -> None:
    app = open_app(store)
    RoutingProjection(app, SQLiteProjectionStore(store)).catch_up()  # up to version 12, stored
    writer = open_app(store, LATER)
    for index in range(3):
        writer.execute([divert(200 + index)], ADMIN)  # versions 13 to 15, not seen yet
    with edited(store) as db:
        if tamper == "deleted":
            delete(db, 14)
        else:
            put(db, 13, rehashed(db, 13, {**state_of(db, 13), "actor": "mallory"}))
    reopened = RoutingProjection(open_app(store), SQLiteProjectionStore(store))
    message = "event version 14 is missing" if tamper == "deleted" else "at version 14: .*does not link to the hash of version 13"
    with pytest.raises(StoreIntegrityError, match=message):
        reopened.catch_up()


def test_a_projection_built_in_this_process_has_nothing_to_check(store: Path) -> None:
    projection = RoutingProjection(open_app(store), MemoryProjectionStore())
    projection.catch_up()
    assert projection.timeline(T).checker is None


# -- the routing projection: rows read back from its store ------------------------------------------------------------


def confirmed(path: Path) -> Path:
    """The store with versions 5 and 9 confirmed live and the projection stored in the same file."""
    app = open_app(path, LATER)
    app.execute([c.ConfirmProvisioning(tenant=T, version=5)], ADMIN)
    app.execute([c.ConfirmProvisioning(tenant=T, version=9)], ADMIN)
    projection = RoutingProjection(app, SQLiteProjectionStore(path))
    projection.catch_up()
    projection.store.close()  # type: ignore[attr-defined]
    app.close()
    return path


def reopened(path: Path) -> RoutingProjection:
    projection = RoutingProjection(open_app(path, LATER), SQLiteProjectionStore(path))
    projection.catch_up()
    return projection


def edit_runs(path: Path, change: Any) -> None:
    """Apply ``change`` to the stored change records (a list of dicts) of the tenant's last run."""
    with edited(path) as db:
        seq, records = db.execute("SELECT seq, records FROM projection_change_runs WHERE slug = ? ORDER BY seq DESC", (T,)).fetchone()
        rows = msgspec.msgpack.decode(records)
        change(rows)
        db.execute("UPDATE projection_change_runs SET records = ? WHERE seq = ?", (msgspec.msgpack.encode(rows), seq))


def test_rows_read_back_agree_with_the_events_and_are_served(store: Path) -> None:
    confirmed(store)
    projection = reopened(store)
    app = projection.app
    at = LATER + timedelta(hours=1)
    assert projection.timeline(T).checker is not None
    assert projection.timeline(T).desired_version(at) == 12
    assert projection.timeline(T).effective_version(at) == 9
    assert [p.version for p in projection.pending(T, at)] == [10, 11, 12]
    assert projection.effective(T, at) == compile_table(app.tenant(T, version=9).state, 9)


def test_a_change_record_edited_in_the_projection_is_refused_naming_the_row(store: Path) -> None:
    confirmed(store)

    def forge(rows: list[dict[str, Any]]) -> None:
        rows[-2]["actor"] = "mallory"  # version 11: pending

    edit_runs(store, forge)
    projection = reopened(store)
    with pytest.raises(StoreIntegrityError, match=f"change records of {T} at version 11: actor 'mallory' but the event says"):
        projection.pending(T, LATER + timedelta(hours=1))


def test_a_change_instant_edited_in_the_projection_cannot_move_a_look_up(store: Path) -> None:
    confirmed(store)
    app = open_app(store)
    made_9 = app.tenant(T, version=9).modified_on

    def forge(rows: list[dict[str, Any]]) -> None:
        for row in rows:
            if row["version"] == 9:
                row["at"] = (made_9 + timedelta(days=2)).isoformat()

    edit_runs(store, forge)
    projection = reopened(store)
    with pytest.raises(StoreIntegrityError, match="at version 9: the stored event of version 9 was made at .* but the records "
                                                  "say version 8 was the last change by then"):
        projection.timeline(T).desired_version(made_9 + timedelta(minutes=1))


def test_a_stored_table_is_checked_against_the_table_its_events_compile_to(store: Path) -> None:
    confirmed(store)
    with edited(store) as db:
        (blob,) = db.execute("SELECT blob FROM projection_tables WHERE slug = ? AND version = 9", (T,)).fetchone()
        table = msgspec.msgpack.decode(zlib.decompress(blob))
        table["users"]["2001"]["busy"] = {"kind": "external", "number": "+4930123456"}
        db.execute("UPDATE projection_tables SET blob = ? WHERE slug = ? AND version = 9",
                   (zlib.compress(msgspec.msgpack.encode(table)), T))
    projection = reopened(store)
    with pytest.raises(StoreIntegrityError, match=f"routing projection's table of {T} at version 9: differs"):
        projection.effective(T, LATER + timedelta(hours=1))
    assert projection.desired(T, LATER + timedelta(hours=1)).version == 12  # a table not stored is compiled and served


def test_a_confirmation_edited_in_the_projection_is_refused(store: Path) -> None:
    confirmed(store)
    with edited(store) as db:
        seq, record = db.execute("SELECT seq, record FROM projection_confirmations WHERE slug = ? ORDER BY seq DESC", (T,)).fetchone()
        db.execute("UPDATE projection_confirmations SET record = ? WHERE seq = ?",
                   (msgspec.msgpack.encode({**msgspec.msgpack.decode(record), "version": 12}), seq))
    projection = reopened(store)
    with pytest.raises(StoreIntegrityError, match=f"confirmation 2 of {T}: version 12, .* is not what the provisioning"):
        projection.effective(T, LATER + timedelta(hours=1))


def test_a_tail_the_projection_saw_deleted_from_the_store_is_refused(store: Path) -> None:
    confirmed(store)
    with edited(store) as db:
        delete(db, 12)
    with pytest.raises(StoreIntegrityError, match=f"tenant {T} at version 12: the routing projection saw version 12, which the store"):
        reopened(store).timeline(T)


def test_a_provisioning_tail_the_projection_saw_deleted_is_refused(store: Path) -> None:
    confirmed(store)
    with edited(store) as db:
        delete(db, 3, record=provisioning_id(T))
    projection = reopened(store)
    assert projection.timeline(T).desired_version(None) == 12  # the tenant's own rows are fine
    with pytest.raises(StoreIntegrityError, match="saw 2 confirmation events, the store holds 1: events were deleted"):
        projection.effective(T, LATER + timedelta(hours=1))


def test_a_projection_row_that_cannot_be_decoded_is_refused_naming_it(store: Path) -> None:
    confirmed(store)
    with edited(store) as db:
        db.execute("UPDATE projection_change_runs SET records = ? WHERE slug = ?", (b"\xc1garbage", T))
    with pytest.raises(StoreIntegrityError, match=f"^the routing projection's change records of {T} \\(row 1\\): cannot be read"):
        reopened(store)


def test_a_stored_table_that_cannot_be_decoded_is_refused_naming_it(store: Path) -> None:
    confirmed(store)
    with edited(store) as db:
        db.execute("UPDATE projection_tables SET blob = ? WHERE slug = ? AND version = 9", (zlib.compress(b"\xc1garbage"), T))
    with pytest.raises(StoreIntegrityError, match=f"^the routing projection's table of {T} at version 9: cannot be read"):
        reopened(store).effective(T, LATER + timedelta(hours=1))


def test_rows_are_checked_once_per_process(store: Path) -> None:
    confirmed(store)
    projection = reopened(store)
    at = LATER + timedelta(hours=1)
    projection.pending(T, at)
    projection.effective(T, at)
    with patch.object(projection.app.recorder, "select_events", side_effect=AssertionError("read again")):
        assert [p.version for p in projection.pending(T, at)] == [10, 11, 12]
        assert projection.timeline(T).effective_version(at) == 9
