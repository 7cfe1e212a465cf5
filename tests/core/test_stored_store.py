"""A store written by the code of November 2026 still loads, verifies and shows the same configuration.

``tests/fixtures/store_2026_11.sqlite`` was written by ``tests/fixtures/build_store_fixture.py``
run on the code of the commit named in ``store_2026_11.expected.json``, which also holds
what that code said of the store: each aggregate's chain head and event count, each
tenant's history and view, and the routing tables. Stored events are kept forever, so
whatever the aggregate and its events become, today's code must read that store the
same way. When a test here fails, fix the code (an upcaster, a kept topic), never the
fixture.

The store holds every stored event type, a version-1 ``UserAdded``, a snapshot of the
sample tenant at version 500 with events after it, two provisioning confirmations and a
closed tenant. Each test works on a copy; the committed file is never opened for writing.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import msgspec
import pytest

from adapters.bootstrap import build_app, build_projection, stored_aggregate_ids
from core import commands as c
from core.aggregates.context import Actor
from core.aggregates.identifiers import tenant_id
from core.aggregates.targets import ToVoicemail
from core.audit import verify_chain
from core.clock import SteppingClock
from core.errors import TenantClosedError
from core.projections.history import tenant_history
from core.projections.routing import RoutingProjection
from core.service import CallrouteApp, CommandRejected

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
STORE = FIXTURES / "store_2026_11.sqlite"
RECORDED: dict[str, Any] = json.loads((FIXTURES / "store_2026_11.expected.json").read_text(encoding="utf-8"))

SAMPLE = "nordic-dental"
"""The sample tenant: every event type, a version-1 UserAdded, a snapshot at 500, two confirmations."""
CLOSED = "fjord-lab"
ADMIN = Actor(principal="admin@nordic-dental.example")
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
"""After every stored event (the last is of 27 November 2026)."""

AGGREGATES = sorted(RECORDED["aggregates"].items(), key=lambda item: item[1]["name"])
EFFECTIVE = [(slug, instant) for slug, tables in RECORDED["effective"].items() for instant in tables]


class FakeHasher:
    """The deterministic PIN hasher the fixture was written with."""

    def hash(self, pin: str) -> str:
        return "fake$" + pin[::-1]


def copy_of_store(folder: Path) -> Path:
    copy = folder / STORE.name
    shutil.copyfile(STORE, copy)
    return copy


def open_app(path: Path) -> CallrouteApp:
    return build_app(path, clock=SteppingClock(NOW), pin_hasher=FakeHasher())


def builtins(value: Any) -> Any:
    """``value`` as plain JSON values, as the recorded ones read back from the JSON file."""
    return msgspec.json.decode(msgspec.json.encode(value))


def replayed(app: CallrouteApp, aggregate_id: UUID, *, lte: int | None = None) -> Any:
    """The aggregate rebuilt by applying its stored events one by one from the first (no snapshot)."""
    aggregate = None
    for event in app.events.get(aggregate_id, lte=lte):
        aggregate = event.mutate(aggregate)
    return aggregate


def essentials(tenant: Any) -> tuple[Any, ...]:
    return tenant.version, tenant.head, tenant.state, tenant.created_on, tenant.modified_on


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the fixture shared by the tests that only read (the projection adds its tables to it)."""
    return copy_of_store(tmp_path_factory.mktemp("stored_store"))


@pytest.fixture(scope="module")
def app(store: Path) -> Iterator[CallrouteApp]:
    application = open_app(store)
    yield application
    application.close()


@pytest.fixture(scope="module")
def projection(app: CallrouteApp, store: Path) -> RoutingProjection:
    return build_projection(app, store)


def test_the_committed_fixture_holds_only_the_event_store() -> None:
    with closing(sqlite3.connect(f"file:{STORE}?mode=ro", uri=True)) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"stored_events", "stored_snapshots"}


def test_the_store_holds_the_recorded_aggregates(store: Path) -> None:
    assert stored_aggregate_ids(store) == set(RECORDED["aggregates"])


@pytest.mark.parametrize(("aggregate_id", "recorded"), AGGREGATES, ids=[item[1]["name"] for item in AGGREGATES])
def test_each_aggregate_verifies_intact_with_the_recorded_head_and_event_count(
    app: CallrouteApp, aggregate_id: str, recorded: dict[str, Any]
) -> None:
    report = verify_chain(app.recorder, app.mapper, UUID(aggregate_id), app.snapshots)
    assert report.intact, report.first_break
    assert (report.events, report.head) == (recorded["events"], recorded["head"])


def test_every_stored_event_decodes_with_the_current_code(app: CallrouteApp) -> None:
    undecodable = []
    for aggregate_id, recorded in AGGREGATES:
        for stored in app.recorder.select_events(UUID(aggregate_id)):
            try:
                app.mapper.to_domain_event(stored)
            except Exception as exc:  # noqa: BLE001 - every failure is listed
                undecodable.append(f"{recorded['name']} v{stored.originator_version} {stored.topic}: {exc}")
    assert undecodable == []


def test_the_store_lists_the_recorded_tenants(app: CallrouteApp) -> None:
    assert app.list_tenants() == RECORDED["tenants"]


@pytest.mark.parametrize("slug", RECORDED["tenants"])
def test_the_history_of_each_tenant_is_as_recorded(app: CallrouteApp, slug: str) -> None:
    history = builtins(tenant_history(app, slug))
    recorded = RECORDED["history"][slug]
    assert len(history) == len(recorded)
    for entry, expected in zip(history, recorded, strict=True):
        assert entry == expected


@pytest.mark.parametrize("slug", RECORDED["open_tenants"])
def test_the_view_of_each_open_tenant_is_as_recorded(app: CallrouteApp, slug: str) -> None:
    recorded = RECORDED["views"][slug]
    reader = msgspec.convert(recorded["reader"], Actor)
    assert builtins(app.get_tenant(slug, reader)) == recorded["view"]


def test_the_closed_tenant_still_refuses_changes(app: CallrouteApp) -> None:
    assert RECORDED["closed_tenants"] == [CLOSED]
    with pytest.raises(CommandRejected) as refused:
        app.execute([c.RenameTenant(tenant=CLOSED, name="Fjord Lab again")], Actor(principal="admin@fjord-lab.example"))
    assert isinstance(refused.value.cause, TenantClosedError)


@pytest.mark.parametrize("slug", RECORDED["tenants"])
def test_the_desired_routing_table_of_each_tenant_is_as_recorded(projection: RoutingProjection, slug: str) -> None:
    assert builtins(projection.desired(slug)) == RECORDED["desired"][slug]


@pytest.mark.parametrize(("slug", "instant"), EFFECTIVE, ids=[f"{slug}@{instant}" for slug, instant in EFFECTIVE])
def test_the_effective_routing_table_of_each_tenant_is_as_recorded(projection: RoutingProjection, slug: str, instant: str) -> None:
    table = projection.effective(slug, datetime.fromisoformat(instant))
    assert builtins(table) == RECORDED["effective"][slug][instant]


def test_the_sample_tenant_has_its_recorded_snapshot(app: CallrouteApp) -> None:
    versions = [snapshot.originator_version for snapshot in app.snapshots.get(tenant_id(SAMPLE))]
    assert versions == RECORDED["snapshots"][SAMPLE] == [500]


def test_the_stored_snapshot_equals_a_replay_up_to_its_version(app: CallrouteApp) -> None:
    (snapshot,) = app.snapshots.get(tenant_id(SAMPLE))
    from_snapshot = snapshot.mutate(None)
    assert essentials(from_snapshot) == essentials(replayed(app, tenant_id(SAMPLE), lte=snapshot.originator_version))


def test_the_tenant_loaded_from_its_snapshot_equals_a_replay_from_the_first_event(store: Path) -> None:
    fresh = open_app(store)  # nothing cached: the repository starts from the snapshot at 500
    try:
        loaded = fresh.repository.get(tenant_id(SAMPLE))
        replay = replayed(fresh, tenant_id(SAMPLE))
        assert loaded.version == replay.version == RECORDED["aggregates"][tenant_id(SAMPLE).hex]["events"]
        assert essentials(loaded) == essentials(replay)
    finally:
        fresh.close()


def test_the_version_1_user_added_still_gives_a_basic_user(app: CallrouteApp, store: Path) -> None:
    with closing(sqlite3.connect(f"file:{store}?mode=ro", uri=True)) as db:
        rows = db.execute("SELECT originator_version, state FROM stored_events WHERE originator_id = ? "
                          "AND topic = 'callroute/UserAdded'", (tenant_id(SAMPLE).hex,)).fetchall()
    old = [(version, msgspec.json.decode(state)) for version, state in rows if b"class_version" not in state]
    assert [(state["extension"], "license" in state) for _, state in old] == [("2006", False)]
    ((version, _),) = old
    # Replayed from the first event: the snapshot at 500, taken after this event, would hide the upcast.
    assert app.tenant(SAMPLE, version=version).state.users["2006"].license == "basic"


def test_a_new_command_continues_the_recorded_chain_and_verifies(tmp_path: Path) -> None:
    recorded = RECORDED["aggregates"][tenant_id(SAMPLE).hex]
    app = open_app(copy_of_store(tmp_path))
    try:
        app.execute([c.SetDivert(tenant=SAMPLE, extension="2003", condition="busy", target=ToVoicemail())], ADMIN,
                    reason="appended by today's code")
        (new,) = app.recorder.select_events(tenant_id(SAMPLE), gt=recorded["events"])
        assert (new.originator_version, app.mapper.decode_raw(new.state)["prev_hash"]) == (recorded["events"] + 1, recorded["head"])
        report = verify_chain(app.recorder, app.mapper, tenant_id(SAMPLE), app.snapshots)
        assert report.intact, report.first_break
        assert report.events == recorded["events"] + 1
    finally:
        app.close()


STORE_HEAD = "dac32147074d28e77da798ffd5aaf13dafcfb1e6e8fc20451736fda4cb06d5a7"
"""The store head of the fixture, as ``audit verify`` prints it since the running head (issue 11). Heads kept by
auditors must keep matching: the definition of the head, like the stored events, never changes."""


def test_the_store_head_of_the_recorded_store_never_changes(app: CallrouteApp) -> None:
    from core.audit import verify_store

    report = verify_store(app, expect_head=STORE_HEAD)
    assert report.intact
    assert (report.store_head, report.events) == (STORE_HEAD, sum(a["events"] for a in RECORDED["aggregates"].values()))
    assert report.kept is not None and report.kept.after == report.events


def test_the_head_printed_by_the_code_of_november_2026_is_accepted_in_its_earlier_form(app: CallrouteApp) -> None:
    import hashlib

    from core.audit import verify_store

    # What audit verify printed then: SHA-256 over "<id hex> <chain head>" of every record, sorted.
    earlier = hashlib.sha256("\n".join(sorted(f"{key} {a['head']}" for key, a in RECORDED["aggregates"].items())).encode())
    kept = verify_store(app, expect_head=earlier.hexdigest()).kept
    assert kept is not None and kept.earlier_form == "store"
