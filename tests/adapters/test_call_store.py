"""The call-event tables in the store (an SQLite file, or a PostgreSQL database on that backend): idempotent by (PBX, key),
batched, hash-chained per tenant, read call by call."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import trio

from adapters.bootstrap import open_call_store
from adapters.call_sink import StoringSink
from core.calls.attribution import Attribution, Directory
from core.calls.events import CallEnded, CallEvent, CallStarted, EndpointStateChanged, LegRinging
from tests.adapters.call_sql import call_tables, sql

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def started(call: str, seconds: float = 0, pbx: str = "ast1") -> CallStarted:
    return CallStarted(pbx=pbx, at=T0 + timedelta(seconds=seconds), call_id=call, dialled="+46812345600", key=f"{call}:s")


def ended(call: str, seconds: float = 60, pbx: str = "ast1") -> CallEnded:
    return CallEnded(pbx=pbx, at=T0 + timedelta(seconds=seconds), call_id=call, cause=16, key=f"{call}:e")


def test_an_event_heard_again_is_stored_once_and_one_without_a_key_each_time(tmp_path: Path) -> None:
    store = open_call_store(tmp_path / "s.sqlite")
    busy = EndpointStateChanged(pbx="ast1", at=T0, endpoint="2001", state="busy")
    first = store.append([("acme", started("c1")), ("acme", busy), ("acme", started("c1"))])
    again = store.append([("acme", started("c1")), ("acme", busy), ("acme", ended("c1"))])
    assert (first.stored, first.duplicates, again.stored, again.duplicates) == (2, 1, 2, 1)
    assert store.count("acme") == 4
    assert store.verify("acme").intact and store.verify("acme").events == 4
    # The same key from another PBX is another event.
    assert store.append([("acme", started("c1", pbx="fs1"))]).stored == 1


def test_calls_come_whole_in_order_of_their_start_and_by_window(tmp_path: Path) -> None:
    store = open_call_store(tmp_path / "s.sqlite")
    late, early = "late", "early"
    store.append([("acme", started(late, 600)), ("acme", started(early, 0)), ("other", started("x", 300))])
    store.append([("acme", ended(early, 30)), ("acme", LegRinging(pbx="ast1", at=T0 + timedelta(seconds=601), call_id=late, leg="l",
                                                                  endpoint="2001")), ("acme", ended(late, 700))])
    # Each call's events together (in no promised order: the history's fold orders them), calls by their start.
    assert [sorted(e.key for e in call) for call in store.calls("acme")] == [["early:e", "early:s"], ["", "late:e", "late:s"]]
    assert [call[0].call_id for call in store.calls("acme", since=T0 + timedelta(seconds=1))] == [late]  # type: ignore[attr-defined]
    assert [call[0].call_id for call in store.calls("acme", until=T0)] == [early]  # type: ignore[attr-defined]
    assert store.tenant_of_call("ast1", late) == "acme" and store.tenant_of_call("ast1", "nope") is None


def test_reading_a_store_without_call_tables_finds_nothing_and_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    store = open_call_store(path)
    assert (list(store.calls("acme")), list(store.presence("acme")), store.count(), store.tenant_of_call("a", "b")) == ([], [], 0, None)
    assert store.verify("acme").intact
    store.close()
    assert call_tables(path) == set()
    store = open_call_store(path)
    store.create()
    store.close()
    assert call_tables(path) == {"call_events", "calls", "call_chain_heads"}  # what the helper reads, once there


def test_two_writers_on_one_file_keep_each_tenants_chain_whole(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    one, two = open_call_store(path), open_call_store(path)
    for index in range(20):
        (one if index % 2 else two).append([("acme", started(f"c{index}")), ("beta", started(f"b{index}"))])
    assert one.verify("acme").intact and one.verify("beta").intact and one.count() == 40
    sql(path, "DELETE FROM call_events WHERE seq = (SELECT max(seq) FROM call_events WHERE tenant = 'acme')")
    report = two.verify("acme")
    assert not report.intact and "the store recorded 20 events, 19 are there" in (report.problem or "")


def test_the_sink_writes_one_transaction_per_batch_and_the_rest_on_close(tmp_path: Path) -> None:
    store = open_call_store(tmp_path / "s.sqlite")
    directory = Directory(numbers={"+46812345600": "acme"}, extensions={"acme": frozenset()})
    sink = StoringSink(store, Attribution(directory), batch_size=10)
    events: list[CallEvent] = []
    for index in range(12):
        events += [started(f"c{index}"), ended(f"c{index}")]
    sink.add(events[:9])
    assert (sink.stats.batches, store.count()) == (0, 0)
    sink.add(events[9:])
    assert (sink.stats.batches, store.count()) == (1, 24)
    sink.add([started("lonely")])
    stats = sink.close()
    assert (stats.batches, stats.stored, stats.received, store.count()) == (2, 25, 25, 25)


class SlowStore:
    """Records the batches it is handed, taking ``seconds`` for each (in the writer's thread)."""

    def __init__(self, seconds: float = 0.0) -> None:
        self.batches: list[int] = []
        self.seconds = seconds

    def append(self, items: list[object]) -> object:
        import time

        time.sleep(self.seconds)
        self.batches.append(len(items))
        return type("Appended", (), {"stored": len(items), "duplicates": 0})()


DIRECTORY = Directory(numbers={"+46812345600": "acme"}, extensions={"acme": frozenset()})


async def test_the_background_writer_writes_a_quiet_buffer_on_its_own() -> None:
    fake = SlowStore()
    sink = StoringSink(fake, Attribution(DIRECTORY), batch_size=1000)  # type: ignore[arg-type]
    async with trio.open_nursery() as nursery:
        await nursery.start(sink.write_in_background, 0.01)
        await sink([started("c1")])
        await trio.sleep(0.1)
        assert fake.batches == [1]
        await sink.finish()
    assert sink.stats.stored == 1


async def test_the_background_writer_writes_every_batch_handed_over_before_it_ends() -> None:
    fake = SlowStore(seconds=0.01)
    sink = StoringSink(fake, Attribution(DIRECTORY), batch_size=4)  # type: ignore[arg-type]
    async with trio.open_nursery() as nursery:
        await nursery.start(sink.write_in_background, 10)
        for index in range(9):
            await sink([started(f"c{index}"), ended(f"c{index}")])
        await sink.finish()
    assert sum(fake.batches) == 18 and len(fake.batches) == 5
    assert sink.close().stored == 18


def test_the_ingest_directory_holds_the_tenants_the_actor_may_change_and_refuses_a_closed_one() -> None:

    from adapters.call_sink import directory_for
    from core.aggregates.context import Actor
    from core.clock import SteppingClock
    from core.errors import PermissionDeniedError, TenantClosedError
    from core.wiring import wire
    from tests.core.conftest import FakeHasher

    app = wire(None, clock=SteppingClock(T0), pin_hasher=FakeHasher())
    ann, bob = Actor("ann@acme"), Actor("bob@beta")
    app.create_tenant(actor=ann, tenant="acme", name="Acme", time_zone="Europe/Stockholm")
    app.add_user(actor=ann, tenant="acme", extension="2001", name="Ann")
    app.assign_number(actor=ann, tenant="acme", extension="2001", number="+46812345670")
    app.create_tenant(actor=bob, tenant="beta", name="Beta", time_zone="Europe/Stockholm")
    assert directory_for(app, ann, None) == Directory(numbers={"+46812345670": "acme"}, extensions={"acme": frozenset({"2001"})})
    assert directory_for(app, Actor("op", operator=True), None).extensions.keys() == {"acme", "beta"}
    with pytest.raises(PermissionDeniedError):
        directory_for(app, ann, "beta")
    app.close_tenant(actor=bob, tenant="beta")
    with pytest.raises(TenantClosedError):
        directory_for(app, bob, "beta")
    assert "beta" not in directory_for(app, Actor("op", operator=True), None).extensions
