"""Keeping the routing projection of a store up to date in a process of its own (``callroute project``).

The projection (``core/projections/routing.py``) commits each batch of events with its new position in one
transaction (``adapters/projection_store.py``), so a process killed at any point leaves the rows of the
last committed batch and its position, and the next one resumes from there: nothing is missed or applied
twice. Several processes may keep the same projection (``callroute project`` and the API processes, which
catch up before a read): the store refuses a batch whose position another process moved first
(``ProjectionMoved``), and the loser reloads what the winner stored and goes on from there.

How new events are found depends on the store (``follower_for``):

- SQLite: poll from the tracked position every ``interval`` seconds (SQLite has no notifications).
- PostgreSQL: the issue asks for eventsourcing's projection runner, woken by LISTEN/NOTIFY, with a watchdog that
  restarts it when its notification connection dies. That is not built yet: a PostgreSQL store is polled the same way
  (correct, at the polling interval's latency), and ``callroute project`` says so on stderr. ``PollingFollower`` is the
  seam: a ``ListeningFollower`` with the same ``wait`` is what remains to write.

The call history (the call events of ``adapters/call_store.py``) is stored as the events arrive, by the intake that
receives them, and the audit history is replayed from the events when it is asked for: neither has rows derived
from the event log to keep up to date, so the routing projection is the one this process follows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import trio

DEFAULT_INTERVAL_SECONDS = 0.5
DEFAULT_BATCH_SIZE = 500


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

    def _drop(self) -> None:
        if self.projection is not None and hasattr(self.projection.store, "close"):
            self.projection.store.close()
        self.projection = None

    def close(self) -> None:
        self._drop()
        self.app.close()


class PollingFollower:
    """Finds new events by asking the store every ``interval`` seconds (SQLite; PostgreSQL until LISTEN is built)."""

    kind = "polling"

    def __init__(self, interval: float) -> None:
        self.interval = interval

    async def wait(self) -> None:
        await trio.sleep(self.interval)


def follower_for(location: Any, interval: float) -> tuple[PollingFollower, str | None]:
    """How to wait for new events in the store at ``location``, and a note for stderr when it is a stand-in."""
    from adapters.bootstrap import is_file_store

    if is_file_store(location):
        return PollingFollower(interval), None
    # The seam for PostgreSQL: eventsourcing's projection runner on LISTEN/NOTIFY with a watchdog (not built yet).
    return PollingFollower(interval), ("PostgreSQL: following by polling every "
                                       f"{interval:g} s (the LISTEN/NOTIFY runner with its watchdog is not built yet)")


async def follow(projector: Projector, follower: PollingFollower, worker: Any, *,
                 on_step: Callable[[int, int], None] | None = None,
                 task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
    """Catch up, then wait for new events and catch up again, until cancelled.

    Each step runs in ``worker`` (``adapters/http/worker.StoreThread``: the one thread the projector's SQLite connections
    belong to), and is not given up when the caller is cancelled: a batch under way is committed (or, if the process
    is killed, rolled back) whole. ``on_step(processed, position)`` is called after each step that processed something.
    """
    started = False
    while True:
        processed = 1
        while processed:  # one batch per call, so that a stop request is seen between batches
            processed = await worker.run(lambda: projector.step(1), cancellable=False)
            if processed and on_step is not None:
                on_step(processed, projector.projection.position)
        if not started:
            task_status.started()
            started = True
        await follower.wait()

