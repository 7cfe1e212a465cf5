"""The routing projection: incremental == rebuild, restarts, exactly-once commits, effective vs desired."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.bootstrap import sqlite_env
from adapters.projection_store import ProjectionMoved, SQLiteProjectionStore
from core import commands as c
from core.aggregates.context import Actor
from core.aggregates.hours import OpeningHours, Window
from core.aggregates.identifiers import tenant_id
from core.aggregates.provisioning import ProviderPolicy
from core.aggregates.targets import ToExtension, ToVoicemail
from core.clock import SteppingClock
from core.projections import MemoryProjectionStore, RoutingProjection
from core.projections import routing as routing_projection
from core.routing import compile_table
from core.service import CallrouteApp, CommandRejected

T = "acme"
ADMIN = Actor(principal="admin@acme")
START = datetime(2026, 11, 16, 8, 0, tzinfo=UTC)  # a Monday


class FakeHasher:
    def hash(self, pin: str) -> str:
        return "fake"


def make_app(path: Path, step: timedelta = timedelta(minutes=37)) -> tuple[CallrouteApp, SteppingClock]:
    clock = SteppingClock(START, step)
    return CallrouteApp(sqlite_env(path), clock=clock, pin_hasher=FakeHasher()), clock


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


def test_a_confirmation_dated_after_it_is_recorded_is_refused(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path / "store.sqlite")
    seed(app)
    with pytest.raises(CommandRejected, match="cannot be dated after it is recorded"):
        app.execute([c.ConfirmProvisioning(tenant=T, version=4, applied_at=START + timedelta(days=3650))], ADMIN)
