"""``callroute project --follow`` on a real PostgreSQL server (``tests/pgserver.py``): woken by eventsourcing's
LISTEN/NOTIFY subscription, its LISTEN connection killed and restarted by the watchdog, the process itself killed with
SIGKILL in the middle of its batches (``adapters/projector.py``).

Every wait has a deadline on the monotonic clock (``trio.fail_after``, ``time.monotonic``): the suite also runs under
``faketime`` with the clock years away. The stores are written in-process at fixed instants (only the projection reads
them), from connections of their own: the follower hears of them only through the server's notifications, or its
fallback look, which these tests set far beyond their deadlines.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial

import psycopg
import pytest
import trio

from adapters import followers as followers_module
from adapters.bootstrap import build_app, open_projection_store
from adapters.followers import ListeningFollower, follower_for
from adapters.http.worker import StoreThread
from adapters.projector import Projector, follow
from core import commands as c
from core.aggregates.context import Actor
from core.aggregates.targets import ToExtension, ToVoicemail
from core.clock import SteppingClock
from core.projections.check import check_projection, rebuild
from core.service import CallrouteApp
from core.wiring import PostgresStore
from tests.adapters.test_processes import Process, callroute, ok
from tests.core.conftest import FakeHasher

pytestmark = pytest.mark.postgres

ADMIN = Actor(principal="admin@acme")
START = datetime(2026, 11, 16, 8, 0, tzinfo=UTC)
NEVER = 3600.0
"""The fallback look of the followers under test: far beyond every deadline, so only a notification can wake them."""
DEADLINE = 60.0
"""The longest any wait here may take (a loaded machine); a notification arrives in milliseconds."""
EXTENSIONS = ("2001", "2002", "2003", "2004", "2005")


@pytest.fixture
def writer(postgres_url: str) -> Iterator[CallrouteApp]:
    """An application on the test database (its own pool: another connection than the follower's), with a tenant."""
    app = build_app(postgres_url, clock=SteppingClock(START, timedelta(seconds=1)), pin_hasher=FakeHasher())
    app.execute([c.CreateTenant(tenant="acme", name="Acme", time_zone="Europe/Stockholm"),
                 *(c.AddUser(tenant="acme", extension=ext, name=f"User {ext}") for ext in EXTENSIONS)], ADMIN)
    try:
        yield app
    finally:
        app.close()


def change(app: CallrouteApp, index: int) -> int:
    """One divert change (a new event); the store's head after it."""
    target = ToVoicemail() if index % 2 else ToExtension(extension="2002")
    app.execute([c.SetDivert(tenant="acme", extension="2001", condition="busy", target=target)], ADMIN, reason=f"change {index}")
    return int(app.recorder.max_notification_id())


def killed_listeners(url: str) -> list[int]:
    """Kill every LISTEN connection to the test database, as an administrator would: the pids killed."""
    store = PostgresStore(url)
    with psycopg.connect(**store.conninfo(), autocommit=True) as db:
        rows = db.execute("SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE query ILIKE 'LISTEN%%' AND datname = %s AND pid <> pg_backend_pid()",
                          (store.parts()["dbname"],)).fetchall()
    return [pid for pid, done in rows if done]


def agrees_with_a_rebuild(url: str, app: CallrouteApp, head: int) -> None:
    """The stored rows are at ``head`` and are exactly what a rebuild from the events gives: nothing missed, nothing twice."""
    store = open_projection_store(url, create=False)
    try:
        loaded = store.load()
        check = check_projection(app, loaded, store.table, store.keys())
    finally:
        store.close()
    assert loaded.position == head
    assert check.agrees, check.problems
    expected, _ = rebuild(app, head)
    assert loaded.changes == expected.changes  # every change record once, in order
    assert (loaded.tenants, loaded.confirmations, loaded.policies) == (expected.tenants, expected.confirmations, expected.policies)


class Following:
    """An in-process ``follow`` on the test database with a ``ListeningFollower``; ``reached(n)`` waits for position n."""

    def __init__(self, projector: Projector, follower: ListeningFollower) -> None:
        self.projector = projector
        self.follower = follower
        self.position = 0
        self._moved = trio.Event()

    def stepped(self, processed: int, position: int) -> None:
        self.position = position
        self._moved.set()
        self._moved = trio.Event()

    async def reached(self, position: int) -> float:
        """Wait until the projection is at ``position`` (at most ``DEADLINE``); the seconds it took."""
        began = time.monotonic()
        with trio.fail_after(DEADLINE):
            while self.position < position:
                await self._moved.wait()
        return time.monotonic() - began

    async def listening(self, *, restarts: int = 0) -> int:
        """Wait until a subscription listens after ``restarts`` restarts at least; its LISTEN connection's pid."""
        with trio.fail_after(DEADLINE):
            while not (self.follower.listening and self.follower.restarts >= restarts):
                await self.follower.changed.wait()
        assert self.follower.pid is not None
        return self.follower.pid


def run_following(url: str, body: Callable[[Following], Awaitable[None]], *, interval: float = NEVER) -> Following:
    """Run ``follow`` on ``url`` (caught up and listening first), then ``body``, then stop it."""

    async def main() -> Following:
        worker = StoreThread("test-projector")
        projector = await worker.run(lambda: Projector(url, clock=SteppingClock(START)), cancellable=False)
        follower = ListeningFollower(PostgresStore(url), interval)
        following = Following(projector, follower)
        following.position = await worker.run(lambda: projector.position, cancellable=False)
        try:
            async with trio.open_nursery() as nursery:
                with trio.fail_after(DEADLINE):
                    await nursery.start(partial(follow, projector, follower, worker, on_step=following.stepped))
                await body(following)
                nursery.cancel_scope.cancel()
        finally:
            await worker.run(projector.close, cancellable=False)
            await trio.to_thread.run_sync(worker.close)
        return following

    return trio.run(main)


def test_a_postgres_store_is_followed_by_listening(postgres_url: str) -> None:
    follower, note = follower_for(postgres_url)
    assert isinstance(follower, ListeningFollower) and note is None
    assert follower.interval == followers_module.DEFAULT_FALLBACK_SECONDS
    assert follower_for(postgres_url, 2.5)[0].interval == 2.5  # type: ignore[attr-defined]


def test_a_write_from_another_connection_wakes_the_follower_at_once(postgres_url: str, writer: CallrouteApp) -> None:
    latencies: list[float] = []

    async def body(following: Following) -> None:
        await following.listening()
        for index in range(5):
            head = await trio.to_thread.run_sync(change, writer, index)
            latencies.append(await following.reached(head))  # long before the fallback look (an hour away)
        assert following.follower.restarts == 0

    following = run_following(postgres_url, body)
    print(f"wake latency after a commit: max {max(latencies) * 1000:.1f} ms, "  # noqa: T201 - a figure for the README
          f"min {min(latencies) * 1000:.1f} ms")
    assert following.follower.reported == following.position
    agrees_with_a_rebuild(postgres_url, writer, following.position)


def test_a_killed_listen_connection_is_restarted_and_nothing_is_missed_or_applied_twice(
        postgres_url: str, writer: CallrouteApp, monkeypatch: pytest.MonkeyPatch) -> None:
    # The watchdog waits a second before starting the next subscription, so that writes land while none listens.
    monkeypatch.setattr(followers_module, "FIRST_RESTART_PAUSE_SECONDS", 1.0)
    figures: dict[str, float] = {}

    async def body(following: Following) -> None:
        first = await following.listening()
        await following.reached(await trio.to_thread.run_sync(change, writer, 0))
        killed_at = time.monotonic()
        assert await trio.to_thread.run_sync(killed_listeners, postgres_url) == [first]
        with trio.fail_after(DEADLINE):  # the subscription's threads stop with the connection: the watchdog sees it
            while following.follower.listening:
                await following.follower.changed.wait()
        figures["noticed"] = time.monotonic() - killed_at
        head = 0
        for index in range(1, 4):  # while nothing listens: read from the tracked position once it listens again
            head = await trio.to_thread.run_sync(change, writer, index)
        second = await following.listening(restarts=1)
        figures["restarted"] = time.monotonic() - killed_at
        assert second != first
        await following.reached(head)
        for index in range(4, 7):  # the new subscription is woken by later writes (the fallback is an hour away)
            head = await trio.to_thread.run_sync(change, writer, index)
            await following.reached(head)
        assert following.follower.restarts == 1

    following = run_following(postgres_url, body)
    print(f"killed LISTEN: noticed after {figures['noticed'] * 1000:.0f} ms, listening again after "  # noqa: T201
          f"{figures['restarted'] * 1000:.0f} ms (1 s of it the watchdog's pause here)")
    assert following.position == writer.recorder.max_notification_id()
    agrees_with_a_rebuild(postgres_url, writer, following.position)


def test_a_listener_that_goes_deaf_silently_is_restarted_and_the_fallback_look_misses_nothing(
        postgres_url: str, writer: CallrouteApp, monkeypatch: pytest.MonkeyPatch) -> None:
    # A LISTEN connection that died without a word: the subscription reports nothing more, and raises nothing.
    monkeypatch.setattr(ListeningFollower, "_report", lambda self, notification_id: None)

    async def body(following: Following) -> None:
        await following.listening()
        head = 0
        for index in range(3):
            head = await trio.to_thread.run_sync(change, writer, index)
        await following.reached(head)  # by the fallback look (every 0.3 s here)
        await following.listening(restarts=1)  # the watchdog found events the subscription never reported

    following = run_following(postgres_url, body, interval=0.3)
    assert following.follower.restarts >= 1
    agrees_with_a_rebuild(postgres_url, writer, following.position)


# -- a real `callroute project --follow` process, killed with SIGKILL ------------------------------------------------------


@pytest.fixture
def busy_store(postgres_url: str) -> tuple[str, CallrouteApp]:
    """A database of about 3,000 events (fixed instants: only the projection reads them), confirmed live now and then."""
    app = build_app(postgres_url, clock=SteppingClock(START, timedelta(seconds=1)), pin_hasher=FakeHasher())
    app.execute([c.CreateTenant(tenant="acme", name="Acme", time_zone="Europe/Stockholm"),
                 *(c.AddUser(tenant="acme", extension=ext, name=f"User {ext}") for ext in EXTENSIONS)], ADMIN)
    for step in range(30):
        receipt = app.execute([c.SetDivert(tenant="acme", extension=EXTENSIONS[i % len(EXTENSIONS)], condition="no_answer",
                                           ring_seconds=10 + (step + i) % 50, target=ToVoicemail())
                               for i in range(100)], ADMIN, reason=f"step {step}")
        if step % 5 == 4:
            app.execute([c.ConfirmProvisioning(tenant="acme", version=receipt.versions["acme"])], ADMIN)
    return postgres_url, app


def stored_position(url: str) -> int:
    with psycopg.connect(**PostgresStore(url).conninfo()) as db:
        row = db.execute("SELECT position FROM projection_position WHERE name = 'routing'").fetchone()
    return int(row[0]) if row else 0


def increments(process: Process) -> int:
    return sum(int(line.rsplit("(+", 1)[1].rstrip(")\n")) for line in process.lines if "projection at position" in line)


@pytest.mark.slow
def test_a_killed_follow_process_on_postgres_resumes_from_its_position(busy_store: tuple[str, CallrouteApp]) -> None:
    url, app = busy_store
    head = int(app.recorder.max_notification_id())
    follower = Process(url, "project", "--follow", "--batch-size", "10", "--interval", str(NEVER))  # type: ignore[arg-type]
    try:
        follower.wait_for(r"projection at position (\d+)", count=3, timeout=DEADLINE)
        follower.kill9()  # between or in the middle of its batches: the server rolls back a transaction not committed
    finally:
        follower.stop()
    killed_at = stored_position(url)
    assert 0 < killed_at < head, (killed_at, head)  # it was killed while it had more to do
    agrees_with_a_rebuild(url, app, killed_at)  # no part of a batch beyond the stored position

    restarted = Process(url, "project", "--follow", "--interval", str(NEVER))  # type: ignore[arg-type]
    try:
        restarted.wait_for(rf"following .* from position {head}\b", timeout=DEADLINE)
        assert increments(restarted) == head - killed_at  # it resumed from the stored position: nothing twice, nothing missed
        assert "LISTEN/NOTIFY" in "".join(restarted.lines)
        later = change(app, 1)  # from another connection: heard at once (the fallback look is an hour away)
        restarted.wait_for(rf"projection at position {later}\b", timeout=DEADLINE)
    finally:
        code = restarted.stop()
    assert code == 0, "".join(restarted.lines)[-2000:]
    assert restarted.process.stdout is not None and restarted.process.stdout.read().strip() == f"projection: at position {later}"
    agrees_with_a_rebuild(url, app, later)
    assert ok(callroute(url, "project")).strip() == f"projection: at position {later} (0 events processed now)"  # type: ignore[arg-type]
    app.close()


def test_follow_on_postgres_is_described_on_stderr_and_stops_on_sigterm(writer: CallrouteApp, postgres_url: str) -> None:
    head = int(writer.recorder.max_notification_id())
    process = Process(postgres_url, "project", "--follow")  # type: ignore[arg-type]
    try:
        line = process.wait_for(rf"following .* \((.*)\) from position {head}\b", timeout=DEADLINE)
        assert line[1] == "woken by LISTEN/NOTIFY, looking at least every 10 s"
        process.wait_for(r"projector.listening", timeout=DEADLINE)
    finally:
        code = process.stop()
    assert code == 0, "".join(process.lines)[-2000:]
