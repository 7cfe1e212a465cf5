"""The routing projection: incremental == rebuild, restarts, exactly-once commits, effective vs desired, events left out."""

from __future__ import annotations

import copy
import tempfile
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest.mock import patch

import msgspec
import pytest
from eventsourcing.persistence import MapperDeserialisationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.projection_store import ProjectionMoved, SQLiteProjectionStore
from core import commands as c
from core.aggregates.context import Actor
from core.aggregates.handling import CallHandling
from core.aggregates.hours import OpeningHours, Window
from core.aggregates.identifiers import tenant_id
from core.aggregates.provisioning import ProviderPolicy
from core.aggregates.schedule import OutOfHours, UnavailableAllDay, UnavailableBetween
from core.aggregates.state import User
from core.aggregates.targets import Off, ToExtension, ToVoicemail
from core.clock import SteppingClock
from core.projections import EventReader, MemoryProjectionStore, ProjectionBatch, RoutingProjection
from core.projections import routing as routing_projection
from core.projections.coalesce import SLOTS, survivors
from core.routing import RoutingTable, compile_table
from core.service import CallrouteApp, CommandRejected
from core.wiring import wire

T = "acme"
ADMIN = Actor(principal="admin@acme")
START = datetime(2026, 11, 16, 8, 0, tzinfo=UTC)  # a Monday


class FakeHasher:
    def hash(self, pin: str) -> str:
        return "fake"


def make_app(path: Path, step: timedelta = timedelta(minutes=37)) -> tuple[CallrouteApp, SteppingClock]:
    clock = SteppingClock(START, step)
    return wire(path, clock=clock, pin_hasher=FakeHasher()), clock


def seed(app: CallrouteApp) -> None:
    app.execute([c.CreateTenant(tenant=T, name="Acme", time_zone="Europe/Stockholm"),
                 c.AddUser(tenant=T, extension="2001", name="Ann"), c.AddUser(tenant=T, extension="2002", name="Bo"),
                 c.AssignNumber(tenant=T, extension="2001", number="+46812345670")], ADMIN)


change = st.one_of(
    st.builds(c.SetDivert, tenant=st.just(T), extension=st.sampled_from(["2001", "2002"]),
              condition=st.sampled_from(["busy", "unreachable", "always"]),
              target=st.sampled_from([ToVoicemail(), ToExtension(extension="2001"), ToExtension(extension="2002")])),
    st.builds(c.SetCallWaiting, tenant=st.just(T), extension=st.sampled_from(["2001", "2002"]), enabled=st.booleans()),
    st.builds(c.AddUser, tenant=st.just(T), extension=st.sampled_from(["2003", "2004"]), name=st.just("New")),
    st.builds(c.SetProviderPolicy, tenant=st.just(T), policy=st.sampled_from([
        ProviderPolicy(max_delay_seconds=3600),
        ProviderPolicy(office_hours=OpeningHours(days={"mon": (Window(start="09:00", end="17:00"),)}), time_zone="Europe/London"),
    ])),
)
# ("confirm", k): confirm the version k changes back from the latest (0 = the latest).
step = st.one_of(change, st.tuples(st.just("confirm"), st.integers(0, 3)))


def apply_step(app: CallrouteApp, item: object) -> None:
    try:
        if isinstance(item, tuple):
            version = app.tenant(T).version - item[1]
            app.execute([c.ConfirmProvisioning(tenant=T, version=max(version, 1))], ADMIN)
        else:
            app.execute([item], ADMIN)
    except CommandRejected:
        pass


def projection_state(projection: RoutingProjection) -> dict[str, object]:
    timeline = projection.timeline(T)
    return {
        "changes": timeline.changes,
        "confirmations": timeline.confirmations,
        "policies": timeline.policies,
        "tables": {c.version: projection.effective(T, c.applied_at) for c in timeline.confirmations},
        "desired": projection.desired(T),
    }


decoded_backlogs = st.sampled_from([0, 2, routing_projection._DECODED_BACKLOG])
"""How many unconfirmed events a tenant keeps decoded: past it, stored bytes decoded when applied."""


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(step, min_size=1, max_size=25), st.lists(st.booleans(), min_size=25, max_size=25),
       st.integers(1, 4), decoded_backlogs)
def test_incremental_projection_with_restarts_equals_a_rebuild(steps: list[object], restarts: list[bool], batch: int,
                                                               decoded: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, patch.object(routing_projection, "_DECODED_BACKLOG", decoded):
        path = Path(tmp) / "store.sqlite"
        app, _ = make_app(path)
        seed(app)
        store = SQLiteProjectionStore(path)
        projection = RoutingProjection(app, store)
        for item, restart in zip(steps, restarts, strict=False):
            apply_step(app, item)
            projection.catch_up(batch_size=batch, max_batches=2)  # sometimes leaves work for later
            if restart:
                store.close()
                store = SQLiteProjectionStore(path)
                projection = RoutingProjection(app, store)
        projection.catch_up(batch_size=batch)
        rebuilt = RoutingProjection(app, MemoryProjectionStore())
        rebuilt.catch_up()
        assert projection.position == rebuilt.position == app.recorder.max_notification_id()
        assert projection_state(projection) == projection_state(rebuilt)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(step, min_size=1, max_size=20), st.lists(st.integers(0, 20 * 37 * 60), min_size=5, max_size=5), decoded_backlogs)
def test_the_effective_table_never_shows_a_change_before_its_confirmation(steps: list[object], offsets: list[int],
                                                                           decoded: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, patch.object(routing_projection, "_DECODED_BACKLOG", decoded):
        app, _ = make_app(Path(tmp) / "store.sqlite")
        seed(app)
        for item in steps:
            apply_step(app, item)
        projection = RoutingProjection(app, MemoryProjectionStore())
        projection.catch_up()
        confirmations = projection.timeline(T).confirmations
        for offset in offsets:
            at = START + timedelta(seconds=offset)
            live = [conf.version for conf in confirmations if conf.applied_at <= at]
            table = projection.effective(T, at)
            if not live:
                assert table is None
                continue
            assert table is not None
            assert table.version == max(live)
            expected = app.tenant(T, version=max(live))
            assert table == compile_table(expected.state, max(live))


def test_a_crash_before_commit_loses_nothing_and_repeats_nothing(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    app, _ = make_app(path)
    seed(app)
    app.execute([c.ConfirmProvisioning(tenant=T, version=4)], ADMIN)

    class CrashingStore(SQLiteProjectionStore):
        def commit(self, expected_position: int, batch: object) -> None:
            raise OSError("disk gone")

    with pytest.raises(OSError):
        RoutingProjection(app, CrashingStore(path)).catch_up()
    projection = RoutingProjection(app, SQLiteProjectionStore(path))
    assert projection.position == 0
    projection.catch_up()
    timeline = projection.timeline(T)
    assert [change.version for change in timeline.changes] == [1, 2, 3, 4]
    assert [conf.version for conf in timeline.confirmations] == [4]


def test_a_second_projection_process_cannot_commit_over_the_first(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    app, _ = make_app(path)
    seed(app)
    first = RoutingProjection(app, SQLiteProjectionStore(path))
    second = RoutingProjection(app, SQLiteProjectionStore(path))
    first.catch_up()
    with pytest.raises(ProjectionMoved, match="reload it"):
        second.catch_up()


def test_a_restarted_projection_reads_only_new_events(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    app, _ = make_app(path)
    seed(app)
    assert RoutingProjection(app, SQLiteProjectionStore(path)).catch_up() == 4
    app.execute([c.SetCallWaiting(tenant=T, extension="2001", enabled=False)], ADMIN)
    assert RoutingProjection(app, SQLiteProjectionStore(path)).catch_up() == 1


def test_desired_and_effective_differ_until_the_change_is_confirmed(tmp_path: Path) -> None:
    app, clock = make_app(tmp_path / "store.sqlite", step=timedelta(0))
    seed(app)
    app.execute([c.ConfirmProvisioning(tenant=T, version=4)], ADMIN)
    friday_17 = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)  # 17:00 in Stockholm
    clock.set(friday_17)
    app.execute([c.SetDivert(tenant=T, extension="2001", condition="always", target=ToVoicemail())], ADMIN)
    projection = RoutingProjection(app, MemoryProjectionStore())
    projection.catch_up()
    later = friday_17 + timedelta(hours=1)
    assert projection.desired(T, later).users["2001"].forward_always == ToVoicemail()
    assert projection.effective(T, later).version == 4
    assert [p.version for p in projection.pending(T, later)] == [5]
    clock.set(friday_17 + timedelta(hours=2))
    app.execute([c.ConfirmProvisioning(tenant=T, version=5)], ADMIN)
    projection.catch_up()
    assert projection.effective(T, later).version == 4
    assert projection.effective(T, friday_17 + timedelta(hours=2)).users["2001"].forward_always == ToVoicemail()
    assert projection.pending(T, friday_17 + timedelta(hours=2)) == []


def test_a_change_on_friday_17_00_outside_office_hours_is_due_tuesday_and_overdue_after(tmp_path: Path) -> None:
    app, clock = make_app(tmp_path / "store.sqlite", step=timedelta(0))
    seed(app)
    weekdays = {day: (Window(start="09:00", end="17:00"),) for day in ("mon", "tue", "wed", "thu", "fri")}
    app.execute([c.SetProviderPolicy(tenant=T, policy=ProviderPolicy(office_hours=OpeningHours(days=weekdays),
                                                                     time_zone="Europe/London")),
                 c.ConfirmProvisioning(tenant=T, version=4)], ADMIN)
    friday_17_london = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
    clock.set(friday_17_london)
    app.execute([c.SetDivert(tenant=T, extension="2002", condition="busy", target=ToVoicemail())], ADMIN)
    projection = RoutingProjection(app, MemoryProjectionStore())
    projection.catch_up()
    (pending,) = projection.pending(T, friday_17_london + timedelta(hours=1))
    assert pending.deadline == datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # office re-opens Monday 09:00, + 24 h
    assert not pending.overdue
    (late,) = projection.pending(T, datetime(2026, 11, 24, 9, 0, 1, tzinfo=UTC))
    assert late.overdue


def test_confirming_a_version_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path / "store.sqlite")
    seed(app)
    with pytest.raises(CommandRejected, match="between 1 and the tenant's current version 4"):
        app.execute([c.ConfirmProvisioning(tenant=T, version=9)], ADMIN)


def test_confirming_before_the_change_was_made_is_refused(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path / "store.sqlite")
    seed(app)
    with pytest.raises(CommandRejected, match="cannot be live before that"):
        app.execute([c.ConfirmProvisioning(tenant=T, version=4, applied_at=START - timedelta(days=1))], ADMIN)


def test_confirming_an_older_version_again_is_refused(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path / "store.sqlite")
    seed(app)
    app.execute([c.ConfirmProvisioning(tenant=T, version=4)], ADMIN)
    with pytest.raises(CommandRejected, match="version 4 is already confirmed"):
        app.execute([c.ConfirmProvisioning(tenant=T, version=3)], ADMIN)


def test_provisioning_events_form_their_own_hash_chain(tmp_path: Path) -> None:
    from core.aggregates.provisioning import provisioning_id
    from core.audit import verify_chain

    app, _ = make_app(tmp_path / "store.sqlite")
    seed(app)
    app.execute([c.ConfirmProvisioning(tenant=T, version=2)], ADMIN)
    app.execute([c.ConfirmProvisioning(tenant=T, version=4)], ADMIN)
    report = verify_chain(app.recorder, app.mapper, provisioning_id(T))
    assert report.intact and report.events == 3
    assert verify_chain(app.recorder, app.mapper, tenant_id(T)).intact


def test_calls_to_a_closed_tenant_are_not_routed(tmp_path: Path) -> None:
    from core.routing import Call, Unavailable, route

    app, _ = make_app(tmp_path / "store.sqlite")
    seed(app)
    app.execute([c.CloseTenant(tenant=T)], ADMIN)
    projection = RoutingProjection(app, MemoryProjectionStore())
    projection.catch_up()
    decision = route(projection.desired(T), Call(dialled="+46812345670", at=START + timedelta(days=1), caller="+441234567890"),
                     explain=True)
    assert decision.plan == Unavailable()
    assert "is closed" in decision.explanation[0].reason


def test_calls_to_a_reopened_tenant_are_routed_again(tmp_path: Path) -> None:
    from core.routing import Call, Ring, route

    app, _ = make_app(tmp_path / "store.sqlite")
    seed(app)
    app.execute([c.CloseTenant(tenant=T)], ADMIN)
    app.execute([c.ReopenTenant(tenant=T)], ADMIN)
    projection = RoutingProjection(app, MemoryProjectionStore())
    projection.catch_up()
    decision = route(projection.desired(T), Call(dialled="+46812345670", at=START + timedelta(days=1), caller="+441234567890"))
    assert isinstance(decision.plan, Ring)


def test_a_confirmation_dated_after_it_is_recorded_is_refused(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path / "store.sqlite")
    seed(app)
    with pytest.raises(CommandRejected, match="cannot be dated after it is recorded"):
        app.execute([c.ConfirmProvisioning(tenant=T, version=4, applied_at=START + timedelta(days=3650))], ADMIN)


USERS = ["2001", "2002"]
"""Few users and settings, so that runs often write one setting twice, around events that end a run or not."""
targets = st.sampled_from([ToVoicemail(), ToExtension(extension="2003"), Off()])
# Events that only assign one setting of a user (left out when a later one overwrites it), and events that end a run.
assigning = st.one_of(
    st.builds(c.SetDivert, tenant=st.just(T), extension=st.sampled_from(USERS), condition=st.sampled_from(["busy", "always"]),
              target=targets),
    st.builds(c.SetDivert, tenant=st.just(T), extension=st.sampled_from(USERS), condition=st.just("no_answer"),
              target=targets, ring_seconds=st.sampled_from([None, 10])),
    st.builds(c.SetOutOfHours, tenant=st.just(T), extension=st.sampled_from(USERS),
              out_of_hours=st.sampled_from([None, OutOfHours(days={"sat": UnavailableAllDay()}),
                                            OutOfHours(days={"mon": UnavailableBetween(start="18:00", end="08:00")})])),
    st.builds(c.SetRejectAnonymous, tenant=st.just(T), extension=st.sampled_from(USERS), enabled=st.booleans()),
    st.builds(c.SetCallWaiting, tenant=st.just(T), extension=st.sampled_from(USERS), enabled=st.booleans()),
)
run_enders = st.one_of(
    st.builds(c.SetDefaultBusy, tenant=st.just(T), target=targets, call_waiting=st.sampled_from([None, False]),
              apply_to=st.sampled_from(["new_users", "unchanged_users", "all_users"])),
    st.builds(c.ResetCallHandling, tenant=st.just(T), extension=st.sampled_from(USERS),
              settings=st.sampled_from([("busy",), ("no_answer", "call_waiting")])),
    st.builds(c.RemoveUser, tenant=st.just(T), extension=st.just("2003")),
    st.builds(c.AddUser, tenant=st.just(T), extension=st.just("2003"), name=st.just("Cy")),
    st.builds(c.UpdateUserProfile, tenant=st.just(T), extension=st.sampled_from(USERS), name=st.sampled_from(["A", "B"])),
)
runs = st.lists(st.one_of(assigning, assigning, assigning, run_enders, st.tuples(st.just("confirm"), st.integers(0, 3))),
                min_size=1, max_size=40)


def seed_three(app: CallrouteApp) -> None:
    seed(app)
    app.execute([c.AddUser(tenant=T, extension="2003", name="Cy")], ADMIN)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(runs, st.integers(1, 6), decoded_backlogs)
def test_events_left_out_because_a_later_one_overwrites_them_change_nothing(steps: list[object], batch: int,
                                                                              decoded: int) -> None:
    """Every confirmed table, and the tenant kept live, equal those of the repository's full replay."""
    with tempfile.TemporaryDirectory() as tmp, patch.object(routing_projection, "_DECODED_BACKLOG", decoded):
        app, _ = make_app(Path(tmp) / "store.sqlite")
        seed_three(app)
        for item in steps:
            apply_step(app, item)
        apply_step(app, ("confirm", 0))  # the live tenant reaches the last version
        projection = RoutingProjection(app, MemoryProjectionStore())
        projection.catch_up(batch_size=batch)
        for confirmation in projection.timeline(T).confirmations:
            table = projection.effective(T, confirmation.applied_at)
            assert table == compile_table(app.tenant(T, version=confirmation.version).state, confirmation.version)
        live, replayed = projection._live[T], app.tenant(T)
        assert (live.version, live.head, live.modified_on) == (replayed.version, replayed.head, replayed.modified_on)
        assert live.state == replayed.state


def _written(before: User, after: User) -> set[str]:
    """The settings of a user that differ, as ``coalesce`` names its slots (``own.<name>`` inside ``own``)."""
    changed = {name for name in User.__struct_fields__ if name != "own" and getattr(before, name) != getattr(after, name)}
    return changed | {f"own.{name}" for name in CallHandling.__struct_fields__
                      if getattr(before.own, name) != getattr(after.own, name)}


@settings(max_examples=60, deadline=None)
@given(st.lists(assigning, min_size=1, max_size=8))
def test_each_event_left_out_when_overwritten_writes_only_its_slots(commands: list[object]) -> None:
    """``coalesce.SLOTS`` follows the events' ``apply()``: the one user named, and no setting but its slots."""
    with tempfile.TemporaryDirectory() as tmp:
        app, _ = make_app(Path(tmp) / "store.sqlite")
        seed_three(app)
        reader = EventReader(app.mapper)
        for command in commands:
            before = copy.deepcopy(app.tenant(T))  # the application changes its cached tenant in place
            try:
                app.execute([command], ADMIN)
            except CommandRejected:
                continue
            after = app.tenant(T)
            (stored,) = app.recorder.select_notifications(app.recorder.max_notification_id(), 1)
            fields = reader.fields(stored)
            slots = SLOTS[stored.topic](fields)
            slots = {slots} if isinstance(slots, str) else set(slots)
            assert {f"{fields.extension} {slot}" for slot in _written(before.state.users[fields.extension],
                                                                      after.state.users[fields.extension])} <= slots
            others = {e: u for e, u in after.state.users.items() if e != fields.extension}
            assert others == {e: u for e, u in before.state.users.items() if e != fields.extension}
            assert msgspec.structs.replace(after.state, users={}) == msgspec.structs.replace(before.state, users={})


def test_an_event_is_not_left_out_across_one_that_reads_what_it_wrote(tmp_path: Path) -> None:
    """A default for new users only pins what users had then: the divert before it counts, though one after overwrites it."""
    app, _ = make_app(tmp_path / "store.sqlite")
    seed_three(app)
    app.execute([c.SetDivert(tenant=T, extension="2001", condition="busy", target=ToVoicemail()),
                 c.SetDefaultBusy(tenant=T, target=ToExtension(extension="2002"), apply_to="new_users"),
                 c.SetDivert(tenant=T, extension="2001", condition="busy", target=ToExtension(extension="2003"))], ADMIN)
    app.execute([c.ConfirmProvisioning(tenant=T, version=app.tenant(T).version)], ADMIN)
    projection = RoutingProjection(app, MemoryProjectionStore())
    projection.catch_up()
    assert projection._live[T].state == app.tenant(T).state
    assert projection._live[T].state.users["2001"].pinned.busy is None  # 2001 had its own busy divert when the default came


def test_survivors_keep_the_last_writer_of_each_slot_within_a_run() -> None:
    class Assign(msgspec.Struct):
        slots: str | tuple[str, ...]

    class Other(msgspec.Struct):
        pass

    slots_of = {Assign: lambda item: item.slots}
    items = [Assign("a"), Assign("b"), Assign(("a", "b")), Assign("a"), Other(), Assign("b"), Assign("c"), Assign("b")]
    # "a" then "b" are written again by the pair; the pair's "b" is not written again before Other ends the run.
    assert survivors(items, slots_of) == [False, False, True, True, True, False, True, True]
    assert survivors([], slots_of) == []
    assert survivors([Assign(("a", "b")), Assign("a")], slots_of) == [True, True]


def test_a_user_whose_settings_come_back_keeps_the_rule_of_the_last_table(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path / "store.sqlite")
    seed(app)
    app.execute([c.SetDivert(tenant=T, extension="2001", condition="busy", target=ToVoicemail()),
                 c.ConfirmProvisioning(tenant=T, version=5)], ADMIN)
    app.execute([c.SetDivert(tenant=T, extension="2001", condition="busy", target=ToExtension(extension="2002")),
                 c.ConfirmProvisioning(tenant=T, version=6)], ADMIN)  # compiled: 2001 changed
    app.execute([c.SetDivert(tenant=T, extension="2001", condition="busy", target=ToVoicemail()),
                 c.SetDivert(tenant=T, extension="2001", condition="busy", target=ToExtension(extension="2002")),
                 c.SetCallWaiting(tenant=T, extension="2002", enabled=False),
                 c.ConfirmProvisioning(tenant=T, version=9)], ADMIN)
    projection = RoutingProjection(app, MemoryProjectionStore())
    projection.catch_up()
    _, first, second = (projection.effective(T, conf.applied_at) for conf in projection.timeline(T).confirmations)
    assert first.users["2001"].busy == ToExtension(extension="2002")
    assert second.users["2001"] is first.users["2001"]  # busy set and set back: not compiled again
    assert second.users["2002"] is not first.users["2002"]
    assert second == compile_table(app.tenant(T, version=9).state, 9)
    # Version 7 (busy back to voicemail) is overwritten by 8 before table 9 needs it; tables: 2 rules, then 1, then 1.
    assert projection.work() == {"events_applied": 8, "events_left_out": 1, "user_rules_compiled": 4}


def test_a_store_written_before_change_runs_and_compressed_tables_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    app, _ = make_app(path)
    seed(app)
    app.execute([c.ConfirmProvisioning(tenant=T, version=4)], ADMIN)
    rebuilt = RoutingProjection(app, MemoryProjectionStore())
    rebuilt.catch_up()
    timeline, table = rebuilt.timeline(T), rebuilt.effective(T, START + timedelta(days=1))
    store = SQLiteProjectionStore(path)
    store.commit(0, ProjectionBatch(position=app.recorder.max_notification_id(), tenants=dict(rebuilt.slugs),
                                    confirmations=[(T, conf) for conf in timeline.confirmations]))
    encode = msgspec.msgpack.encode  # the rows as the store wrote them before: one per change, tables not compressed
    store.connection.executemany("INSERT INTO projection_changes (slug, record) VALUES (?, ?)",
                                 [(T, encode(change)) for change in timeline.changes[:3]])
    store.connection.execute("INSERT INTO projection_change_runs (slug, records) VALUES (?, ?)", (T, encode(timeline.changes[3:])))
    store.connection.execute("INSERT INTO projection_tables VALUES (?, ?, ?)", (T, 4, encode(table)))
    reopened = RoutingProjection(app, SQLiteProjectionStore(path))
    assert reopened.timeline(T).changes == timeline.changes
    assert reopened.effective(T, START + timedelta(days=1)) == table
    assert reopened.catch_up() == 0


def test_a_batch_stores_one_row_of_changes_per_tenant_and_compressed_tables(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    app, _ = make_app(path)
    seed(app)
    app.execute([c.ConfirmProvisioning(tenant=T, version=4)], ADMIN)
    store = SQLiteProjectionStore(path)
    RoutingProjection(app, store).catch_up(batch_size=1000)
    assert store.connection.execute("SELECT count(*) FROM projection_change_runs").fetchone() == (1,)
    assert store.connection.execute("SELECT count(*) FROM projection_changes").fetchone() == (0,)
    (blob,) = store.connection.execute("SELECT blob FROM projection_tables").fetchone()
    assert msgspec.msgpack.decode(zlib.decompress(blob), type=RoutingTable) == compile_table(app.tenant(T, version=4).state, 4)


def test_an_event_the_projection_cannot_read_stops_it_naming_the_event(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path / "store.sqlite")
    seed(app)
    app.execute([c.SetDivert(tenant=T, extension="2001", condition="busy", target=ToVoicemail())], ADMIN)
    select = app.recorder.select_notifications

    def broken(*args: object, **kwargs: object) -> list[object]:
        return [type(n)(id=n.id, originator_id=n.originator_id, originator_version=n.originator_version, topic=n.topic,
                        state=b'{"extension": 2001}' if n.topic == "callroute/DivertSet" else n.state)
                for n in select(*args, **kwargs)]

    projection = RoutingProjection(app, MemoryProjectionStore())
    with patch.object(app.recorder, "select_notifications", broken), \
            pytest.raises(MapperDeserialisationError, match="'callroute/DivertSet' version 5"):
        projection.catch_up()
    assert projection.position == 0
