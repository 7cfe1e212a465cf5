"""The lean SQLite write path: same table, same notification ids, all or nothing, clashes as IntegrityError."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent

from adapters.bootstrap import build_app
from adapters.event_writer import SQLiteEventWriter
from core.aggregates.context import Actor
from core.clock import SteppingClock
from tests.adapters.clirun import NOW

pytestmark = pytest.mark.sqlite_only  # the lean SQLite writer; see tests/backends.py

ADMIN = Actor(principal="admin@acme")


def app_on(db: Path):  # noqa: ANN201
    return build_app(db, clock=SteppingClock(NOW))


def test_commands_are_stored_by_the_writer_and_read_back_as_notifications(tmp_path: Path) -> None:
    app = app_on(tmp_path / "c.sqlite")
    assert app.event_writer is not None
    app.create_tenant(actor=ADMIN, tenant="acme", name="Acme", time_zone="Europe/London")
    receipt = app.add_user(actor=ADMIN, tenant="acme", extension="2001", name="Ann")
    assert receipt.versions == {"acme": 2}
    notifications = app.recorder.select_notifications(start=1, limit=10)
    assert [(n.id, n.originator_version, n.topic) for n in notifications] == [
        (1, 1, "callroute/TenantCreated"), (2, 2, "callroute/UserAdded")]
    assert app_on(tmp_path / "c.sqlite").tenant("acme").state.users["2001"].name == "Ann"


def test_a_version_clash_is_an_integrity_error_and_stores_nothing_of_the_batch(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    app = app_on(db)
    app.create_tenant(actor=ADMIN, tenant="acme", name="Acme", time_zone="Europe/London")
    (first,) = app.recorder.select_events(app.tenant("acme").id)
    fresh = StoredEvent(uuid.uuid4(), 1, "callroute/TenantCreated", first.state)
    clash = StoredEvent(first.originator_id, 1, first.topic, first.state)
    writer = SQLiteEventWriter(db)
    with pytest.raises(IntegrityError):
        writer.insert([fresh, clash])
    assert app.recorder.select_events(fresh.originator_id) == []
    assert writer.insert([fresh]) == [2]


def test_two_apps_on_one_file_both_land_their_changes(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    one, two = app_on(db), app_on(db)
    one.create_tenant(actor=ADMIN, tenant="acme", name="Acme", time_zone="Europe/London")
    two.add_user(actor=ADMIN, tenant="acme", extension="2001", name="Ann")
    one.add_user(actor=ADMIN, tenant="acme", extension="2002", name="Bo")  # its cached tenant is stale: retried on fresh state
    assert sorted(app_on(db).tenant("acme").state.users) == ["2001", "2002"]


class ScriptedClock:
    """Gives the instants it was given, one per reading."""

    def __init__(self, *instants: datetime) -> None:
        self.instants = list(instants)

    def now(self) -> datetime:
        return self.instants.pop(0)


def test_a_retry_after_another_writer_got_in_first_reads_the_clock_again(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    minute = timedelta(minutes=1)
    one = build_app(db, clock=ScriptedClock(NOW, NOW + minute, NOW + 10 * minute))
    one.create_tenant(actor=ADMIN, tenant="acme", name="Acme", time_zone="Europe/London")  # one now caches acme
    build_app(db, clock=SteppingClock(NOW + 5 * minute)).add_user(actor=ADMIN, tenant="acme", extension="2001", name="Ann")
    # one's first try (at NOW + 1 min, on its stale copy) clashes; the retry reads the clock again (NOW + 10 min),
    # which is after the other writer's change at NOW + 5 min, so the command lands.
    receipt = one.add_user(actor=ADMIN, tenant="acme", extension="2002", name="Bo")
    assert receipt.versions == {"acme": 3}


def test_the_sqlite_writer_is_a_retrying_event_writer_as_core_declares_it(tmp_path: Path) -> None:
    from core.writers import RetryingEventWriter

    # Core looks ``retrying`` up by name: a writer that renamed it would silently retry without pause or lock.
    assert isinstance(app_on(tmp_path / "c.sqlite").event_writer, RetryingEventWriter)
    assert not isinstance(object(), RetryingEventWriter)
