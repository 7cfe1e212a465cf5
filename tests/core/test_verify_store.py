"""verify_store: every record of a store, found from its rows, the running head over their events, what a kept head is
to the store now; and check_projection: the projection's rows against a rebuild from the events."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import msgspec
import pytest

from core.aggregates.chain import GENESIS
from core.aggregates.context import Actor
from core.aggregates.identifiers import tenant_id
from core.aggregates.provisioning import Confirmation, provisioning_id
from core.audit import link, verify_store, walk_heads
from core.clock import SteppingClock
from core.projections import ChangeRecord, MemoryProjectionStore, RoutingProjection
from core.projections.check import check_projection
from core.service import CallrouteApp
from core.wiring import wire
from tests.backends import delete_event, overwrite_event_state, record_events, stored_events

ADMIN = Actor(principal="admin@acme")


class FakeHasher:
    def hash(self, pin: str) -> str:
        return "fake$" + pin


def two_tenants(app: CallrouteApp) -> None:
    for slug in ("acme", "beta"):
        app.create_tenant(actor=ADMIN, tenant=slug, name=slug.title(), time_zone="Europe/London")
    app.confirm_provisioning(actor=ADMIN, tenant="acme", version=1)


@pytest.fixture
def stored(tmp_path: Path) -> tuple[CallrouteApp, Path]:
    """Two tenants in an SQLite file, each with a few changes, acme confirmed at version 3."""
    path = tmp_path / "s.sqlite"
    app = wire(path, clock=SteppingClock(datetime(2026, 11, 20, 9, tzinfo=UTC), timedelta(minutes=1)), pin_hasher=FakeHasher())
    two_tenants(app)
    for slug in ("acme", "beta"):
        app.add_user(actor=ADMIN, tenant=slug, extension="2001", name="Ann")
        app.add_user(actor=ADMIN, tenant=slug, extension="2002", name="Bob")
    app.confirm_provisioning(actor=ADMIN, tenant="acme", version=3)
    return app, path


def rows(path: Path) -> list[tuple[str, int, bytes]]:
    """Every stored event's originator (hex), version and state, in the order stored (on either backend)."""
    return [(originator, version, state) for originator, version, _, state in stored_events(path)]


def test_every_tenant_and_provisioning_record_is_verified(app: CallrouteApp) -> None:
    two_tenants(app)
    report = verify_store(app)
    assert report.intact
    assert [r.name for r in report.records] == ["acme", "acme provisioning", "beta"]
    assert len(report.store_head) == 64
    assert report.events == 4


def test_one_tenant_and_its_provisioning_record(app: CallrouteApp) -> None:
    two_tenants(app)
    report = verify_store(app, "acme")
    assert [r.name for r in report.records] == ["acme", "acme provisioning"]
    assert report.events == 3


def test_the_store_head_moves_with_any_record(app: CallrouteApp) -> None:
    two_tenants(app)
    before = verify_store(app).store_head
    app.rename_tenant(actor=ADMIN, tenant="beta", name="Beta Group")
    assert verify_store(app).store_head != before


def test_the_store_head_is_the_running_hash_of_every_event_in_notification_order(stored: tuple[CallrouteApp, Path]) -> None:
    app, path = stored
    head = GENESIS
    for originator, version, state in rows(path):
        expected = hashlib.sha256(f"{head} {originator} {version} {msgspec.json.decode(state)['hash']}".encode()).hexdigest()
        head = link(head, originator, version, msgspec.json.decode(state)["hash"])
        assert head == expected
    report = verify_store(app)
    assert (report.store_head, report.events) == (head, len(rows(path)))


def test_the_tenant_head_covers_its_own_records_in_the_same_order_only(stored: tuple[CallrouteApp, Path]) -> None:
    app, path = stored
    mine = {tenant_id("acme").hex, provisioning_id("acme").hex}
    head = GENESIS
    for originator, version, state in rows(path):
        if originator in mine:
            head = link(head, originator, version, msgspec.json.decode(state)["hash"])
    assert verify_store(app, "acme").store_head == head
    app.add_user(actor=ADMIN, tenant="beta", extension="2003", name="Cid")
    assert verify_store(app, "acme").store_head == head


def test_a_kept_head_is_found_after_its_event_with_what_came_since(stored: tuple[CallrouteApp, Path]) -> None:
    app, _ = stored
    kept = verify_store(app)
    app.add_user(actor=ADMIN, tenant="beta", extension="2003", name="Cid")
    app.add_user(actor=ADMIN, tenant="beta", extension="2004", name="Dan")
    report = verify_store(app, expect_head=kept.store_head)
    assert report.kept is not None and report.kept.found
    assert (report.kept.after, report.events) == (kept.events, kept.events + 2)
    assert report.kept.later == (("beta", 4, 5, 2),)


def test_a_kept_head_is_not_found_once_an_event_before_it_is_gone(stored: tuple[CallrouteApp, Path]) -> None:
    app, path = stored
    kept = verify_store(app).store_head
    delete_event(path, tenant_id("beta"), 3)  # beta's last event: every chain that is left is intact
    report = verify_store(app, expect_head=kept)
    assert report.intact
    assert report.kept is not None and not report.kept.found


def test_a_rewritten_last_event_moves_every_later_head(stored: tuple[CallrouteApp, Path]) -> None:
    app, path = stored
    kept = verify_store(app).store_head
    overwrite_event_state(path, provisioning_id("acme"), 3, b'{"hash": "' + b"1" * 64 + b'"}')
    report = verify_store(app, expect_head=kept)
    assert report.kept is not None and not report.kept.found


def test_heads_in_their_earlier_forms_are_accepted_and_named(stored: tuple[CallrouteApp, Path]) -> None:
    app, _ = stored
    report = verify_store(app)
    # The head the earlier verify printed: SHA-256 over "<record id hex> <chain head>" of every record, sorted.
    legacy = hashlib.sha256("\n".join(sorted(f"{UUID(r.report.tenant_id).hex} {r.report.head}"
                                             for r in report.records)).encode()).hexdigest()
    assert report.legacy_head == legacy
    assert verify_store(app, expect_head=legacy).kept.earlier_form == "store"  # type: ignore[union-attr]
    beta = next(r.report for r in report.records if r.name == "beta")
    kept = verify_store(app, expect_head=beta.head).kept
    assert (kept.earlier_form, kept.earlier_version) == ("beta", beta.events)  # type: ignore[union-attr]
    # With one tenant, the earlier form is a chain head of that tenant's records only.
    assert not verify_store(app, "acme", expect_head=beta.head).kept.found  # type: ignore[union-attr]


def test_the_walk_reads_only_each_events_recorded_hash(stored: tuple[CallrouteApp, Path]) -> None:
    app, path = stored
    before = walk_heads(app.recorder, app.mapper)
    [(_, _, state)] = [row for row in record_events(path, tenant_id("acme")) if row[0] == 2]
    edited = {**msgspec.json.decode(state), "name": ["not", "a", "name"]}
    overwrite_event_state(path, tenant_id("acme"), 2, msgspec.json.encode(edited))
    assert walk_heads(app.recorder, app.mapper).head == before.head  # the content is its chain check's to judge
    assert not verify_store(app).intact


# -- check_projection --------------------------------------------------------------------------------------------------


def projected(app: CallrouteApp) -> MemoryProjectionStore:
    store = MemoryProjectionStore()
    RoutingProjection(app, store).catch_up()
    return store


def checked(app: CallrouteApp, store: MemoryProjectionStore, tenant: str | None = None) -> tuple[str, ...]:
    return check_projection(app, store.load(), store.table, list(store.tables), tenant=tenant).problems


def test_a_projection_built_from_the_events_agrees(stored: tuple[CallrouteApp, Path]) -> None:
    app, _ = stored
    store = projected(app)
    check = check_projection(app, store.load(), store.table, list(store.tables))
    assert check.problems == ()
    assert (check.tenants, check.changes, check.confirmations, check.tables) == (2, 6, 2, 2)


def test_rows_beyond_the_stored_position_are_not_expected(stored: tuple[CallrouteApp, Path]) -> None:
    app, _ = stored
    store = projected(app)
    app.add_user(actor=ADMIN, tenant="acme", extension="2003", name="Cid")
    app.confirm_provisioning(actor=ADMIN, tenant="acme", version=4)
    assert checked(app, store) == ()


def test_each_edited_row_is_named(stored: tuple[CallrouteApp, Path]) -> None:
    app, _ = stored
    store = projected(app)
    changes = store.loaded.changes
    index = next(i for i, (slug, change) in enumerate(changes) if slug == "acme" and change.version == 2)
    changes[index] = ("acme", msgspec.structs.replace(changes[index][1], actor="x"))
    store.loaded.confirmations[-1] = ("acme", Confirmation(version=2, applied_at=store.loaded.confirmations[-1][1].applied_at))
    table = msgspec.msgpack.decode(store.tables[("acme", 3)])
    table["users"]["2001"]["name"] = "Eve"
    store.tables[("acme", 3)] = msgspec.msgpack.encode(table)
    store.tables[("beta", 9)] = store.tables[("acme", 1)]
    problems = checked(app, store)
    assert problems[0] == "projection: acme change record version 2: actor 'x' but the event says 'admin@acme'"
    assert problems[1].startswith("projection: acme confirmation 2: version 2 applied at ")
    assert " but the event says version 3 applied at " in problems[1]
    assert problems[2:] == ("projection: acme table version 3 differs from what its events compile to",
                            "projection: beta table version 9 is stored, but no confirmation of it is")


def test_missing_and_unimplied_rows_are_named_and_one_tenant_sees_its_own_only(stored: tuple[CallrouteApp, Path]) -> None:
    app, _ = stored
    store = projected(app)
    store.loaded.changes = [(slug, change) for slug, change in store.loaded.changes if not (slug == "beta" and change.version == 2)]
    store.loaded.changes.append(("acme", ChangeRecord(version=7, at=datetime(2026, 11, 21, tzinfo=UTC), topic="x", actor="y")))
    del store.tables[("acme", 1)]
    assert checked(app, store) == (
        "projection: acme change record version 7 is stored, but no event implies it",
        "projection: beta change record version 2 is missing",
        "projection: acme table version 1 is missing",
    )
    assert checked(app, store, "beta") == ("projection: beta change record version 2 is missing",)
