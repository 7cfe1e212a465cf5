"""Properties of the ledger over random command sequences, on a real SQLite file."""

from __future__ import annotations

import sqlite3
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.bootstrap import sqlite_env
from core import commands as c
from core.aggregates import events as ev
from core.aggregates.context import Actor
from core.aggregates.identifiers import tenant_id
from core.aggregates.schedule import OutOfHours, UnavailableAllDay, UnavailableBetween
from core.aggregates.targets import (
    BusyTone,
    ForwardTo,
    HandleWithVoicemail,
    MessageAndHangUp,
    Off,
    TextToSpeech,
    ToExtension,
    ToNumber,
    ToVoicemail,
)
from core.aggregates.tenant import Tenant
from core.audit import verify_chain
from core.clock import SteppingClock
from core.service import CallrouteApp, CommandRejected

T = "acme"
EXTENSIONS = ["2001", "2002", "2003", "2004"]
NUMBERS = ["+441234567890", "441234567891", "+46812345670", "+46701234567", "+380441234567"]
MACS = ["00:1a:2b:3c:4d:5e", "00-1A-2B-3C-4D-5F", "001a2b3c4d60"]


class FakeHasher:
    def hash(self, pin: str) -> str:
        return "fake$" + pin[::-1]


class SnapshottingApp(CallrouteApp):
    """Snapshots every 7 events, so reloads exercise snapshot + tail replay."""

    snapshotting_intervals = {Tenant: 7}  # noqa: RUF012


def make_app(path: Path) -> CallrouteApp:
    clock = SteppingClock(datetime(2026, 11, 20, 16, 0, tzinfo=UTC), timedelta(minutes=7))
    return SnapshottingApp(sqlite_env(path), clock=clock, pin_hasher=FakeHasher())


ext = st.sampled_from(EXTENSIONS)
number = st.sampled_from(NUMBERS)
target = st.one_of(
    st.just(Off()),
    st.just(ToVoicemail()),
    ext.map(lambda e: ToExtension(extension=e)),
    st.builds(ToNumber, number=number, announce=st.booleans(), present_dialled_number=st.booleans(), always=st.booleans()),
)
greeting = st.just(TextToSpeech(text="Hej", language="sv-SE"))
handling = st.one_of(
    st.just(HandleWithVoicemail()),
    st.just(BusyTone()),
    greeting.map(lambda g: MessageAndHangUp(message=g)),
    ext.map(lambda e: ForwardTo(target=ToExtension(extension=e))),
)
apply_to = st.sampled_from(["new_users", "unchanged_users", "all_users"])
schedule = st.builds(
    OutOfHours,
    enabled=st.booleans(),
    days=st.dictionaries(
        st.sampled_from(["mon", "tue", "sat"]),
        st.one_of(st.just(UnavailableAllDay()), st.just(UnavailableBetween(start="18:00", end="09:00"))),
    ),
    when_unavailable=st.one_of(st.just(ToVoicemail()), ext.map(lambda e: ToExtension(extension=e))),
)

command = st.one_of(
    st.builds(c.AddUser, tenant=st.just(T), extension=ext, name=st.sampled_from(["Ann", "Bo", "Åsa"])),
    st.builds(c.RemoveUser, tenant=st.just(T), extension=ext),
    st.builds(c.UpdateUserProfile, tenant=st.just(T), extension=ext, name=st.sampled_from(["Cy", "Di"]),
              email=st.sampled_from([None, "x@example.com"])),
    st.builds(c.AssignNumber, tenant=st.just(T), extension=ext, number=number),
    st.builds(c.UnassignNumber, tenant=st.just(T), extension=ext, number=number),
    st.builds(c.SetDefaultNumber, tenant=st.just(T), extension=ext, number=number),
    st.builds(c.SetPresentationNumber, tenant=st.just(T), extension=ext, number=st.one_of(st.none(), number)),
    st.builds(c.AddDevice, tenant=st.just(T), extension=ext, mac=st.sampled_from(MACS)),
    st.builds(c.RemoveDevice, tenant=st.just(T), extension=ext, mac=st.sampled_from(MACS)),
    st.builds(c.SetPermanentRedirect, tenant=st.just(T), extension=ext, number=st.one_of(st.none(), number)),
    st.builds(c.SetNotifications, tenant=st.just(T), extension=ext, missed_call=st.booleans(), voicemail=st.booleans()),
    st.builds(c.SetDivert, tenant=st.just(T), extension=ext, condition=st.sampled_from(["always", "busy", "unreachable"]),
              target=target),
    st.builds(c.SetDivert, tenant=st.just(T), extension=ext, condition=st.just("no_answer"), target=target,
              ring_seconds=st.one_of(st.none(), st.integers(5, 600))),
    st.builds(c.SetOutOfHours, tenant=st.just(T), extension=ext, out_of_hours=st.one_of(st.none(), schedule)),
    st.builds(c.SetRejectAnonymous, tenant=st.just(T), extension=ext, enabled=st.booleans()),
    st.builds(c.SetCallWaiting, tenant=st.just(T), extension=ext, enabled=st.booleans()),
    st.builds(c.SetVoicemailGreeting, tenant=st.just(T), extension=ext, greeting=greeting),
    st.builds(c.SetTranscription, tenant=st.just(T), extension=ext, enabled=st.booleans()),
    st.builds(c.SetRejectedCallHandling, tenant=st.just(T), extension=ext, handling=handling),
    st.builds(c.SetDisplayNumberPreference, tenant=st.just(T), extension=ext, kind=st.sampled_from(["mobile", "landline"])),
    st.builds(c.ResetCallHandling, tenant=st.just(T), extension=ext,
              settings=st.lists(st.sampled_from(["busy", "no_answer", "call_waiting"]), min_size=1, max_size=2, unique=True)
              .map(tuple)),
    st.builds(c.SetVoicePortalPin, tenant=st.just(T), extension=ext, pin=st.sampled_from(["123456", "000001"])),
    st.builds(c.SetDefaultTranscription, tenant=st.just(T), enabled=st.booleans(),
              users_may_change=st.one_of(st.none(), st.booleans()), apply_to=apply_to),
    st.builds(c.SetDefaultNoAnswer, tenant=st.just(T), target=target, ring_seconds=st.integers(5, 600), apply_to=apply_to),
    st.builds(c.SetDefaultBusy, tenant=st.just(T), target=target, call_waiting=st.booleans(), apply_to=apply_to),
    st.builds(c.SetDefaultRejectedCallHandling, tenant=st.just(T), handling=handling, apply_to=apply_to),
    st.builds(c.SetDefaultDisplayNumber, tenant=st.just(T), kind=st.sampled_from(["mobile", "landline"]), apply_to=apply_to),
    st.builds(c.SetDefaultVoicemailGreeting, tenant=st.just(T), greeting=greeting, apply_to=apply_to),
    st.builds(c.SetUnassignedNumberHandling, tenant=st.just(T),
              handling=st.one_of(st.just(BusyTone()), ext.map(lambda e: ForwardTo(target=ToExtension(extension=e))))),
    st.builds(c.RenameTenant, tenant=st.just(T), name=st.sampled_from(["Acme", "Acme AB"])),
)

ACTOR = Actor(principal="admin@acme")
PROPERTY_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def run_sequence(app: CallrouteApp, sequence: list[object]) -> int:
    """Create the tenant, then apply each command on its own; refused ones must store nothing."""
    app.execute([c.CreateTenant(tenant=T, name="Acme", time_zone="Europe/London")], ACTOR)
    applied = 0
    for cmd in sequence:
        before = app.tenant(T).version
        try:
            app.execute([cmd], ACTOR)
            applied += 1
        except CommandRejected:
            assert app.tenant(T).version == before, "a refused command must record nothing"
    return applied


@PROPERTY_SETTINGS
@given(st.lists(command, min_size=1, max_size=40))
def test_reloaded_tenant_equals_live_tenant(sequence: list[object]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ledger.sqlite"
        live_app = make_app(path)
        run_sequence(live_app, sequence)
        live = live_app.tenant(T)
        reloaded = make_app(path).tenant(T)
        assert reloaded.version == live.version
        assert reloaded.head == live.head
        assert reloaded.state == live.state
        assert reloaded.modified_on == live.modified_on


@PROPERTY_SETTINGS
@given(st.lists(command, min_size=1, max_size=25))
def test_every_stored_event_round_trips_through_the_mapper(sequence: list[object]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = make_app(Path(tmp) / "ledger.sqlite")
        run_sequence(app, sequence)
        for stored in app.recorder.select_events(tenant_id(T)):
            decoded = app.mapper.to_domain_event(stored)
            again = app.mapper.to_stored_event(decoded)
            assert again == stored


@PROPERTY_SETTINGS
@given(st.lists(command, min_size=3, max_size=25), st.data())
def test_any_altered_stored_event_is_reported_by_verify(sequence: list[object], data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ledger.sqlite"
        app = make_app(path)
        run_sequence(app, sequence)
        version = app.tenant(T).version
        victim = data.draw(st.integers(1, version), label="altered version")
        stored = next(e for e in app.recorder.select_events(tenant_id(T)) if e.originator_version == victim)
        state = msgspec.json.decode(stored.state)
        field = data.draw(st.sampled_from(sorted(k for k in state if k != "hash")), label="altered field")
        state[field] = "tampered" if state[field] != "tampered" else "tampered again"
        with sqlite3.connect(path) as db:
            db.execute(
                "UPDATE stored_events SET state = ? WHERE originator_id = ? AND originator_version = ?",
                (msgspec.json.encode(state), tenant_id(T).hex, victim),
            )
        report = verify_chain(app.recorder, app.mapper, tenant_id(T), app.snapshots)
        assert report.first_break is not None
        assert report.first_break.version == victim
        assert report.first_break.problem == "altered"


def test_the_sample_sequence_stores_every_event_type(tmp_path: Path) -> None:
    """Guards the round-trip property above: together these commands make every event type."""
    app = make_app(tmp_path / "ledger.sqlite")
    app.execute([c.CreateTenant(tenant=T, name="Acme", time_zone="Europe/London")], ACTOR)
    e1, e2 = "2001", "2002"
    app.execute(
        [
            c.RenameTenant(tenant=T, name="Acme AB"),
            c.AddUser(tenant=T, extension=e1, name="Ann"),
            c.AddUser(tenant=T, extension=e2, name="Bo"),
            c.UpdateUserProfile(tenant=T, extension=e2, email="bo@example.com"),
            c.AssignNumber(tenant=T, extension=e1, number=NUMBERS[0]),
            c.AssignNumber(tenant=T, extension=e1, number=NUMBERS[1]),
            c.SetDefaultNumber(tenant=T, extension=e1, number=NUMBERS[1]),
            c.SetPresentationNumber(tenant=T, extension=e1, number=NUMBERS[0]),
            c.UnassignNumber(tenant=T, extension=e1, number=NUMBERS[0]),
            c.AddDevice(tenant=T, extension=e1, mac=MACS[0]),
            c.RemoveDevice(tenant=T, extension=e1, mac=MACS[0]),
            c.SetPermanentRedirect(tenant=T, extension=e1, number=NUMBERS[2]),
            c.SetNotifications(tenant=T, extension=e1, missed_call=False),
            c.SetDivert(tenant=T, extension=e1, condition="busy", target=ToVoicemail()),
            c.SetOutOfHours(tenant=T, extension=e1, out_of_hours=OutOfHours()),
            c.SetRejectAnonymous(tenant=T, extension=e1, enabled=True),
            c.SetCallWaiting(tenant=T, extension=e1, enabled=False),
            c.ResetCallHandling(tenant=T, extension=e1, settings=("call_waiting",)),
            c.SetVoicePortalPin(tenant=T, extension=e1, pin="123456"),
            c.SetDefaultBusy(tenant=T, target=ToVoicemail(), apply_to="all_users"),
            c.SetUnassignedNumberHandling(tenant=T, handling=BusyTone()),
            c.RemoveUser(tenant=T, extension=e2),
            c.CloseTenant(tenant=T),
        ],
        ACTOR,
    )
    stored_topics = {e.topic for e in app.recorder.select_events(tenant_id(T))}
    all_topics = {cls.TOPIC for cls in vars(ev).values() if isinstance(cls, type) and issubclass(cls, ev.TenantEvent)}
    assert stored_topics == all_topics - {ev.TenantEvent.TOPIC}


@pytest.mark.parametrize("victim", [1, 5, 9])
def test_verify_names_a_deleted_event(tmp_path: Path, victim: int) -> None:
    path = tmp_path / "ledger.sqlite"
    app = make_app(path)
    run_sequence(app, [c.AddUser(tenant=T, extension=f"20{i:02d}", name="U") for i in range(10)])
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM stored_events WHERE originator_version = ?", (victim,))
    report = verify_chain(app.recorder, app.mapper, tenant_id(T), app.snapshots)
    assert report.first_break is not None
    assert (report.first_break.version, report.first_break.problem) == (victim, "missing")


def test_verify_detects_events_deleted_from_the_end_through_the_snapshot(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    app = make_app(path)
    run_sequence(app, [c.AddUser(tenant=T, extension=f"20{i:02d}", name="U") for i in range(13)])  # snapshot at 7 and 14
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM stored_events WHERE originator_version >= 13")
    report = verify_chain(app.recorder, app.mapper, tenant_id(T), app.snapshots)
    assert report.first_break is not None
    assert report.first_break.problem == "missing"
    assert "after version 12" in report.first_break.detail


def test_verify_detects_a_rehashed_edit_by_the_broken_link(tmp_path: Path) -> None:
    """An editor who also recomputes the edited event's own hash still breaks the next link."""
    from core.aggregates.chain import event_hash

    path = tmp_path / "ledger.sqlite"
    app = make_app(path)
    run_sequence(app, [c.AddUser(tenant=T, extension="2001", name="Ann"), c.AddUser(tenant=T, extension="2002", name="Bo")])
    stored = next(e for e in app.recorder.select_events(tenant_id(T)) if e.originator_version == 2)
    state = msgspec.json.decode(stored.state)
    state["name"] = "Mallory"
    del state["hash"]
    state["hash"] = event_hash(stored.topic, str(tenant_id(T)), 2, state)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE stored_events SET state = ? WHERE originator_version = 2", (msgspec.json.encode(state),))
    report = verify_chain(app.recorder, app.mapper, tenant_id(T), app.snapshots)
    assert report.first_break is not None
    assert (report.first_break.version, report.first_break.problem) == (3, "chain_broken")
