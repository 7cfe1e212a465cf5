"""Keeping the routing projection of a store up to date in a process of its own (``callroute project``).

The projection (``core/projections/routing.py``) commits each batch of events with its new position in one
transaction (``adapters/projection_store.py``), so a process killed at any point leaves the rows of the
last committed batch and its position, and the next one resumes from there: nothing is missed or applied
twice. Several processes may keep the same projection (``callroute project`` and the API processes, which
catch up before a read): the store refuses a batch whose position another process moved first
(``ProjectionMoved``), and the loser reloads what the winner stored and goes on from there.

How new events are found depends on the store (``follower_for``, ``adapters/followers.py``):

- SQLite: poll from the tracked position every ``interval`` seconds (SQLite has no notifications).
- PostgreSQL (``ListeningFollower``): eventsourcing's subscription to the store (``recorder.subscribe``: its
  ``PostgresSubscription``, the one its ``ProjectionRunner`` iterates) wakes the process as soon as an event is committed
  (the library's recorder sends ``NOTIFY`` with every insert and the subscription ``LISTEN``s on a connection of its own),
  and the steps stay this module's ``Projector``'s: the subscription only says "there is something after position N".
  The library's runner itself is not used: it decodes every event with a plain application's mapper and hands them one by
  one to a projection that records its own tracking row, where ours commits a batch of rows with its position in one
  transaction (exactly once, shared with the API processes). A watchdog restarts the subscription, logging it, when it
  ends (a killed ``LISTEN`` connection, a server restart: its threads stop, which nothing would otherwise notice), when its
  ``LISTEN`` is not established in time, and when the store holds events it did not report within a whole fallback
  interval (a connection that died without a word); and the process looks at the store every ``interval`` seconds
  whatever it hears, so an event a dead listener missed waits at most that long. Nothing is missed while it is down:
  every step reads from the projection's tracked position, not from what was notified.

The call history (the call events of ``adapters/call_store.py``) is stored as the events arrive, by the intake that
receives them, and the audit history is replayed from the events when it is asked for: neither has rows derived
from the event log to keep up to date, so the routing projection is the one this process follows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import structlog
import trio

from adapters.followers import DEFAULT_FALLBACK_SECONDS, DEFAULT_INTERVAL_SECONDS, Follower, follower_for

__all__ = [  # the followers' names ``callroute project`` takes from here, with the projector's
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_FALLBACK_SECONDS",
    "DEFAULT_INTERVAL_SECONDS",
    "Follower",
    "Projector",
    "follow",
    "follower_for",
]

DEFAULT_BATCH_SIZE = 500

log = structlog.wrap_logger(logging.getLogger("callroute"))


class Projector:
    """The routing projection of one store, caught up in steps (each a committed batch of events)."""

    def __init__(self, location: Any, *, clock: Any = None, batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        from adapters.bootstrap import build_app

        self.location = location
        self.batch_size = batch_size
        self.app = build_app(location, clock=clock)
        self.projection: Any = None
        self.reloads = 0
        """How often another process committed first and this one reloaded the rows it stored."""

    def _open(self) -> Any:
        from adapters.bootstrap import open_projection_store
        from core.projections.routing import RoutingProjection

        if self.projection is None:
            self.projection = RoutingProjection(self.app, open_projection_store(self.location))
        return self.projection

    @property
    def position(self) -> int:
        """The notification id of the last event this process's projection has processed (and committed)."""
        return int(self._open().position)

    def step(self, max_batches: int | None = None) -> int:
        """Process new events, ``max_batches`` committed batches at most (None: all there are); how many events."""
        from adapters.projection_store import ProjectionMoved

        projection = self._open()
        try:
            return int(projection.catch_up(batch_size=self.batch_size, max_batches=max_batches))
        except ProjectionMoved:  # another process committed first: reload what it stored, go on from there next step
            self._drop()
            self.reloads += 1
            return 0

    def catch_up(self) -> int:
        """Every event stored by now, processed; how many (ones another process processed first are not counted)."""
        total = 0
        for _ in range(100):
            before = self.reloads
            total += self.step()
            if self.reloads == before:
                return total
        msg = "the projection kept moving under this process: other processes keep committing it first"
        raise RuntimeError(msg)

    def store_head(self) -> int:
        """The highest notification id stored (0: none)."""
        recorder = self.app.recorder
        max_id = getattr(recorder, "max_notification_id", None)
        if max_id is not None:
            return int(max_id() or 0)
        last = recorder.select_notifications(self.position + 1, 1 << 30)
        return int(last[-1].id) if last else self.position

    def reload(self) -> None:
        """Forget the rows in memory (and the projection store's connection): the next step loads them from the store."""
        try:
            self._drop()
        except Exception:  # noqa: BLE001, S110 - a connection already lost: nothing left to close
            self.projection = None

    def _drop(self) -> None:
        if self.projection is not None and hasattr(self.projection.store, "close"):
            self.projection.store.close()
        self.projection = None

    def close(self) -> None:
        self._drop()
        self.app.close()



async def follow(projector: Projector, follower: Follower, worker: Any, *,
                 on_step: Callable[[int, int], None] | None = None,
                 task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
    """Catch up, then wait for new events and catch up again, until cancelled.

    Each step runs in ``worker`` (``adapters/http/worker.StoreThread``: the one thread the projector's SQLite connections
    belong to), and is not given up when the caller is cancelled: a batch under way is committed (or, if the process
    is killed, rolled back) whole. ``on_step(processed, position)`` is called after each step that processed something.
    A step that finds the store unreachable (the follower's ``transient`` errors) is logged and tried again at the next
    wake: the projection is reloaded from the store first, so a batch whose commit was cut off is neither lost nor
    applied twice. ``task_status.started()`` once caught up and the follower watches (a subscription listens).
    """

    async def position() -> int:
        return await worker.run(lambda: projector.position, cancellable=False)  # type: ignore[no-any-return]

    async with trio.open_nursery() as nursery:
        await _catch_up(projector, follower, worker, on_step)
        await nursery.start(follower.watch, position)
        task_status.started()
        while True:
            woken = await follower.wait()
            reached = await _catch_up(projector, follower, worker, on_step)
            if reached is not None:
                follower.looked(reached, woken=woken)


async def _catch_up(projector: Projector, follower: Follower, worker: Any,
                    on_step: Callable[[int, int], None] | None) -> int | None:
    """Steps of one batch each (so that a stop request is seen between batches) until none is left; the position reached
    (None: the store could not be reached). A step that lost to another process (which reloads) is followed by another."""
    from_reloads = 0
    while True:
        before = projector.reloads
        try:
            processed = await worker.run(lambda: projector.step(1), cancellable=False)
        except follower.transient as exc:
            from adapters.postgres import words

            log.warning("projector.store_unavailable", error=words(exc))
            await worker.run(projector.reload, cancellable=False)
            return None
        if processed:
            from_reloads = 0
            if on_step is not None:
                on_step(processed, projector.projection.position)
        elif projector.reloads == before or from_reloads >= 100:
            break
        else:
            from_reloads += 1
    return await worker.run(lambda: projector.position, cancellable=False)  # type: ignore[no-any-return]
