"""Schema evolution: a version-1 ``callroute/UserAdded`` written by the old code still replays, verifies and chains.

Version 1 of ``UserAdded`` had no ``license`` (every user was basic) and the old mapper
stored no ``class_version``. The event is written here byte for byte as the old code
stored it, hashed from exactly those stored fields, into a real SQLite store.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from eventsourcing.persistence import StoredEvent

from adapters.bootstrap import open_projection_store
from core import commands as c
from core.aggregates.chain import event_hash
from core.aggregates.context import Actor
from core.aggregates.identifiers import tenant_id
from core.aggregates.targets import ToExtension
from core.aggregates.users import UserAdded
from core.audit import verify_chain
from core.clock import SteppingClock
from core.projections.history import tenant_history
from core.projections.routing import RoutingProjection
from core.service import CallrouteApp
from core.wiring import wire
from tests.backends import overwrite_event_state, record_events

T = "acme"
ADMIN = Actor("admin@acme")
START = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
OLD_AT = START + timedelta(hours=1)
TOPIC = "callroute/UserAdded"


class FakeHasher:
    def hash(self, pin: str) -> str:
        return "fake$" + pin[::-1]


def open_app(db: Path, start: datetime = START) -> CallrouteApp:
    return wire(db, clock=SteppingClock(start, timedelta(minutes=1)), pin_hasher=FakeHasher())


def v1_user_added(prev_hash: str, version: int, *, extension: str = "2002", name: str = "Bob") -> tuple[bytes, str]:
    """The stored JSON of a version-1 UserAdded as the old code wrote it, and its hash."""
    state: dict[str, Any] = {
        "timestamp": msgspec.to_builtins(OLD_AT),
        "actor": "admin@acme",
        "partner": None,
        "reason": "added before licences existed",
        "prev_hash": prev_hash,
        "extension": extension,
        "name": name,
        "email": None,
    }
    digest = event_hash(TOPIC, str(tenant_id(T)), version, state)
    stored = {**state, "hash": digest}
    return msgspec.json.encode(stored), digest


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A store where tenant acme has v1 TenantCreated, v2 UserAdded (2001, new code), v3 UserAdded (2002, old code)."""
    path = tmp_path / "store.sqlite"
    app = open_app(path)
    app.execute([c.CreateTenant(tenant=T, name="Acme", time_zone="Europe/London")], ADMIN)
    app.execute([c.AddUser(tenant=T, extension="2001", name="Ann")], ADMIN)
    tenant = app.tenant(T)
    data, _ = v1_user_added(tenant.head, tenant.version + 1)
    app.recorder.insert_events([StoredEvent(originator_id=tenant_id(T), originator_version=tenant.version + 1,
                                            topic=TOPIC, state=data)])
    app.close()
    return path


def stored_rows(db: Path) -> list[tuple[int, str, dict[str, Any]]]:
    """The tenant's events as stored (read with SQL, in the SQLite file or the PostgreSQL database)."""
    return [(version, topic, msgspec.json.decode(state)) for version, topic, state in record_events(db, tenant_id(T))]


def test_the_old_event_is_stored_without_license_or_class_version(db: Path) -> None:
    version, topic, state = stored_rows(db)[2]
    assert (version, topic) == (3, TOPIC)
    assert "license" not in state
    assert "class_version" not in state


def test_a_fresh_app_replays_the_old_event_with_the_basic_license(db: Path) -> None:
    app = open_app(db)
    tenant = app.tenant(T)
    assert tenant.version == 3
    user = tenant.state.users["2002"]
    assert (user.name, user.email, user.license, user.added_at_version) == ("Bob", None, "basic", 3)


def test_the_mapper_upcasts_the_old_event_to_version_2(db: Path) -> None:
    app = open_app(db)
    (stored,) = app.recorder.select_events(tenant_id(T), gt=2, lte=3)
    event = app.mapper.to_domain_event(stored)
    assert isinstance(event, UserAdded)
    assert (event.extension, event.license, event.reason) == ("2002", "basic", "added before licences existed")
    assert event.timestamp == OLD_AT


def test_the_chain_over_the_old_event_verifies_intact(db: Path) -> None:
    app = open_app(db)
    report = verify_chain(app.recorder, app.mapper, tenant_id(T), app.snapshots)
    assert report.intact, report.first_break
    assert report.events == 3
    assert report.head == stored_rows(db)[2][2]["hash"]
    assert app.tenant(T).head == report.head


def test_editing_the_old_event_is_detected(db: Path) -> None:
    edited = {**stored_rows(db)[2][2], "name": "Mallory"}
    overwrite_event_state(db, tenant_id(T), 3, msgspec.json.encode(edited))
    app = open_app(db)
    report = verify_chain(app.recorder, app.mapper, tenant_id(T))
    assert report.first_break is not None
    assert (report.first_break.version, report.first_break.problem) == (3, "altered")


def test_history_shows_the_old_event(db: Path) -> None:
    app = open_app(db)
    entry = tenant_history(app, T)[2]
    assert (entry.version, entry.event, entry.at, entry.actor, entry.reason) == (
        3, "UserAdded", OLD_AT, "admin@acme", "added before licences existed")
    (change,) = entry.changes
    assert (change.subject, change.field, change.before) == ("user 2002", "", None)
    assert change.after["name"] == "Bob"
    assert change.after.get("license", "basic") == "basic"


def test_new_commands_continue_the_chain_after_the_old_event(db: Path) -> None:
    app = open_app(db, start=OLD_AT + timedelta(hours=1))
    old_hash = stored_rows(db)[2][2]["hash"]
    app.execute([c.SetDivert(tenant=T, extension="2002", condition="always", target=ToExtension(extension="2001"))], ADMIN)
    app.execute([c.SetUserLicense(tenant=T, extension="2002", license="pro")], ADMIN)
    rows = stored_rows(db)
    assert [version for version, _, _ in rows] == [1, 2, 3, 4, 5]
    assert rows[3][2]["prev_hash"] == old_hash
    report = verify_chain(app.recorder, app.mapper, tenant_id(T), app.snapshots)
    assert report.intact, report.first_break
    assert report.events == 5
    assert open_app(db).tenant(T).state.users["2002"].license == "pro"


def test_the_routing_projection_replays_the_old_event(db: Path) -> None:
    app = open_app(db)
    projection = RoutingProjection(app, open_projection_store(db))  # in the SQLite file or the PostgreSQL database
    projection.catch_up()
    table = projection.desired(T)
    assert table is not None and table.version == 3
    assert set(table.users) == {"2001", "2002"}


def test_a_new_user_added_stores_class_version_2_and_its_license(db: Path) -> None:
    app = open_app(db, start=OLD_AT + timedelta(hours=1))
    app.execute([c.AddUser(tenant=T, extension="2003", name="Cid", license="pro"),
                 c.AddUser(tenant=T, extension="2004", name="Dan")], ADMIN)
    rows = stored_rows(db)
    assert [(version, topic) for version, topic, _ in rows[3:]] == [(4, TOPIC), (5, TOPIC)]
    assert (rows[3][2]["class_version"], rows[3][2]["license"]) == (2, "pro")
    assert (rows[4][2]["class_version"], rows[4][2]["license"]) == (2, "basic")
    fresh = open_app(db)
    assert fresh.tenant(T).state.users["2003"].license == "pro"
    assert verify_chain(fresh.recorder, fresh.mapper, tenant_id(T)).intact


def test_the_hash_of_a_new_user_added_covers_class_version_and_license(db: Path) -> None:
    app = open_app(db, start=OLD_AT + timedelta(hours=1))
    app.execute([c.AddUser(tenant=T, extension="2003", name="Cid", license="pro")], ADMIN)
    version, topic, state = stored_rows(db)[3]
    digest = state.pop("hash")
    assert event_hash(topic, str(tenant_id(T)), version, state) == digest
    assert event_hash(topic, str(tenant_id(T)), version, {**state, "license": "basic"}) != digest
