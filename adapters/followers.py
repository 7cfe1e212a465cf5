"""How ``callroute project --follow`` learns that there may be new events (``adapters/projector.py``'s ``follow``).

``PollingFollower`` asks an SQLite store every ``interval`` seconds; ``ListeningFollower`` is woken by eventsourcing's
LISTEN/NOTIFY subscription to a PostgreSQL store, with a watchdog that restarts the subscription when it is lost
(``adapters/projector.py``'s module docstring tells why and how). ``follower_for`` picks the one for a store.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import structlog
import trio

DEFAULT_INTERVAL_SECONDS = 0.5
"""SQLite: how often ``project --follow`` looks for new events."""
DEFAULT_FALLBACK_SECONDS = 10.0
"""PostgreSQL: the longest ``project --follow`` goes without looking, whatever it hears (new events wake it at once)."""
LISTEN_SETTLE_SECONDS = 10.0
"""How long a new subscription may take to have its ``LISTEN`` running before the watchdog starts another."""
FIRST_RESTART_PAUSE_SECONDS = 0.05
MAX_RESTART_PAUSE_SECONDS = 5.0

log = structlog.wrap_logger(logging.getLogger("callroute"))


class Follower(Protocol):
    """How ``follow`` learns that there may be new events (``PollingFollower``, ``ListeningFollower``)."""

    kind: str
    transient: tuple[type[BaseException], ...]
    """Errors of a step that mean "the store cannot be reached now": logged, and the step is tried again later."""

    def describe(self) -> str: ...
    async def watch(self, position: Callable[[], Awaitable[int]], *, task_status: trio.TaskStatus[None]) -> None: ...
    async def wait(self) -> bool: ...
    def looked(self, position: int, *, woken: bool) -> None: ...


class PollingFollower:
    """Finds new events by asking the store every ``interval`` seconds (SQLite)."""

    kind = "polling"
    transient: tuple[type[BaseException], ...] = ()

    def __init__(self, interval: float) -> None:
        self.interval = interval

    def describe(self) -> str:
        return f"polling every {self.interval:g} s"

    async def watch(self, position: Callable[[], Awaitable[int]], *,
                    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Nothing to watch: the timer is all there is."""
        task_status.started()

    async def wait(self) -> bool:
        """Sleep ``interval`` seconds; False: woken by the timer, not by a notification."""
        await trio.sleep(self.interval)
        return False

    def looked(self, position: int, *, woken: bool) -> None:
        """Nothing to check."""


class ListeningFollower:
    """Woken by eventsourcing's LISTEN/NOTIFY subscription to a PostgreSQL store, with a watchdog (module docstring).

    ``watch`` runs the subscription and restarts it whenever it stops; ``wait`` returns as soon as the subscription
    reports an event after the projector's position, or after ``interval`` seconds whatever it heard (the fallback).
    The subscription has an application recorder of its own (its own small pool, its connections named
    ``callroute-project-<pid>-<n>``): a lost ``LISTEN`` connection is its business, never the projector's pool's.
    """

    kind = "LISTEN/NOTIFY"

    def __init__(self, store: Any, interval: float = DEFAULT_FALLBACK_SECONDS, *,
                 settle_seconds: float = LISTEN_SETTLE_SECONDS) -> None:
        from eventsourcing.persistence import InterfaceError, OperationalError

        from adapters.postgres import DatabaseUnavailable

        self.store = store
        self.interval = interval
        self.settle_seconds = settle_seconds
        self.transient = (OperationalError, InterfaceError, DatabaseUnavailable)
        self.reported = 0
        """The highest notification id the subscription has reported (written by its consumer thread)."""
        self.listening = False
        """Whether a subscription's ``LISTEN`` is running now."""
        self.pid: int | None = None
        """The server process of the current ``LISTEN`` connection."""
        self.restarts = 0
        """How often the watchdog has started a subscription again."""
        self.generation = 0
        self._wake = trio.Event()
        self._signalled = False
        self._token: trio.lowlevel.TrioToken | None = None
        self._scope: trio.CancelScope | None = None
        self._why: str | None = None
        self._unreported: int | None = None
        self._lost_at: float | None = None
        self.changed = trio.Event()
        """Set (and replaced) whenever ``listening`` changes: for tests and logs."""

    def describe(self) -> str:
        return f"woken by LISTEN/NOTIFY, looking at least every {self.interval:g} s"

    # -- the trio side ------------------------------------------------------------------------------------------------

    async def wait(self) -> bool:
        """Until the subscription reports an event or ``interval`` seconds pass; True when woken by the subscription."""
        with trio.move_on_after(self.interval):
            await self._wake.wait()
        woken = self._wake.is_set()
        self._wake = trio.Event()
        return woken

    def looked(self, position: int, *, woken: bool) -> None:
        """After a step from a timer's look: restart a subscription that did not report, within a whole interval, events
        the previous timer's look found (its connection died without a word: no error, no notifications)."""
        if woken or not self.listening:
            return
        if self._unreported is not None and self.reported < self._unreported:
            self.restart(f"the subscription reported nothing up to position {self._unreported}, which the store held "
                         f"{self.interval:g} s ago (a LISTEN connection that died silently)")
        self._unreported = position if position > self.reported else None

    def restart(self, why: str) -> None:
        """End the current subscription; the watchdog logs ``why`` and starts another."""
        if self._scope is not None and self._why is None:
            self._why = why
            self._scope.cancel()

    def _set_listening(self, listening: bool) -> None:
        self.listening = listening
        self.changed.set()
        self.changed = trio.Event()

    async def watch(self, position: Callable[[], Awaitable[int]], *,
                    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """The watchdog: run a subscription from the projector's position; when it ends, log why and run another.

        ``task_status.started()`` once the first one listens (or failed to: the fallback timer goes on meanwhile)."""
        from adapters.postgres import words

        self._token = trio.lowlevel.current_trio_token()
        pause = FIRST_RESTART_PAUSE_SECONDS
        started = False

        def ready() -> None:
            nonlocal started
            if not started:
                started = True
                task_status.started()

        while True:
            self._why = None
            began = time.monotonic()
            with trio.CancelScope() as scope:
                self._scope = scope
                try:
                    self._why = await self._listen_once(position, ready)
                except self.transient as exc:
                    self._why = f"cannot listen: {words(exc)}"
            self._scope = None
            if self.listening:
                self._set_listening(False)
            self._lost_at = time.monotonic()
            self.restarts += 1
            log.warning("projector.listen_lost", reason=self._why or "ended", pid=self.pid, restarts=self.restarts,
                        listened_seconds=round(self._lost_at - began, 3))
            ready()
            if self._lost_at - began > MAX_RESTART_PAUSE_SECONDS:
                pause = FIRST_RESTART_PAUSE_SECONDS  # it had been working: start again at once
            await trio.sleep(pause)
            pause = min(MAX_RESTART_PAUSE_SECONDS, pause * 2)
            self._wake.set()  # whatever happened meanwhile is read from the tracked position

    async def _listen_once(self, position: Callable[[], Awaitable[int]], ready: Callable[[], None]) -> str:
        """Run one subscription until it ends (why, in words) or the watchdog's scope is cancelled."""
        from adapters.postgres import words

        self.generation += 1
        name = f"callroute-project-{os.getpid()}-{self.generation}"
        gt = await position()
        recorder = await trio.to_thread.run_sync(self._recorder, name)
        ended = trio.Event()
        outcome: list[BaseException | None] = []
        subscription = recorder.subscribe(gt=gt)  # starts its threads: one LISTENs, one selects what was notified
        self.reported = max(self.reported, gt)
        self._unreported = None

        def consume() -> None:
            try:
                with subscription:
                    for notification in subscription:
                        self._report(notification.id)
                outcome.append(None)
            except BaseException as exc:  # noqa: BLE001 - its thread's error: the reason the watchdog logs
                outcome.append(exc)
            finally:
                self._call_soon(ended.set)

        consumer = threading.Thread(target=consume, name=f"{name}-consumer", daemon=True)
        consumer.start()
        try:
            pid = await self._listening_pid(name, ended)
            if pid is None:
                if ended.is_set():
                    return self._ended_why(outcome, words)
                return f"its LISTEN was not running after {self.settle_seconds:g} s"
            self.pid = pid
            self._set_listening(True)
            log.info("projector.listening", pid=pid, channel=recorder.channel_name, after_position=gt,
                     restarts=self.restarts,
                     **({"down_seconds": round(time.monotonic() - self._lost_at, 3)} if self._lost_at is not None else {}))
            self._wake.set()  # events committed before the LISTEN ran are read now
            ready()
            await ended.wait()
            return self._ended_why(outcome, words)
        finally:
            subscription.stop()
            with trio.CancelScope(shield=True):
                await trio.to_thread.run_sync(self._close, consumer, recorder)

    @staticmethod
    def _ended_why(outcome: list[BaseException | None], words: Callable[[BaseException], str]) -> str:
        error = outcome[0] if outcome else None
        return f"the subscription stopped: {type(error).__name__}: {words(error)}" if error is not None else "the subscription ended"

    async def _listening_pid(self, name: str, ended: trio.Event) -> int | None:
        """The server process of the subscription's ``LISTEN`` connection once it runs (None: not in time, or it ended)."""
        from adapters.postgres import connect

        connection = await trio.to_thread.run_sync(connect, self.store)
        try:
            with trio.move_on_after(self.settle_seconds):
                while not ended.is_set():
                    row = await trio.to_thread.run_sync(lambda: connection.execute(
                        "SELECT pid FROM pg_stat_activity WHERE application_name = %s AND query ILIKE 'LISTEN%%'",
                        (name,)).fetchone())
                    if row is not None:
                        return int(row[0])
                    await trio.sleep(0.02)
            return None
        finally:
            await trio.to_thread.run_sync(connection.close)

    # -- the threads' side ----------------------------------------------------------------------------------------------

    def _recorder(self, name: str) -> Any:
        """An application recorder of its own on the store's events table (no tables created), its connections named."""
        from eventsourcing.postgres import PostgresFactory
        from eventsourcing.utils import Environment

        from core.service import CallrouteApp

        env = self.store.env()
        env.update({"CREATE_TABLE": "n", "POSTGRES_POOL_SIZE": "2", "POSTGRES_MAX_OVERFLOW": "2"})
        factory = PostgresFactory(Environment(CallrouteApp.name, env))
        factory.datastore.pool.kwargs["application_name"] = name  # type: ignore[index]  # before it connects
        return factory.application_recorder()

    def _report(self, notification_id: int) -> None:
        """In the consumer thread: the subscription reported ``notification_id``; wake the trio side (once per wake)."""
        if notification_id > self.reported:
            self.reported = notification_id
            if not self._signalled:
                self._signalled = True
                self._call_soon(self._notified)

    def _notified(self) -> None:
        self._signalled = False
        self._wake.set()

    def _call_soon(self, fn: Callable[[], None]) -> None:
        if self._token is None:
            return
        try:
            self._token.run_sync_soon(fn)
        except trio.RunFinishedError:
            pass

    @staticmethod
    def _close(consumer: threading.Thread, recorder: Any) -> None:
        consumer.join(10)  # the subscription's threads end within a tenth of a second of stop()
        recorder.datastore.close()


def follower_for(location: Any, interval: float | None = None) -> tuple[Follower, str | None]:
    """How to wait for new events in the store at ``location`` (``interval``: the polling period on SQLite, the fallback
    on PostgreSQL; None: the default of each), and a note for stderr (None: nothing to say)."""
    from adapters.bootstrap import is_file_store
    from core.wiring import resolve_store

    if is_file_store(location):
        return PollingFollower(DEFAULT_INTERVAL_SECONDS if interval is None else interval), None
    return ListeningFollower(resolve_store(location), DEFAULT_FALLBACK_SECONDS if interval is None else interval), None

