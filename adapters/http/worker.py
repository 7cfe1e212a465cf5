"""The one thread the HTTP API calls the store in: synchronous calls awaited from trio, one at a time, in order.

The store is synchronous (sqlite3, eventsourcing's recorders). A request's store work runs off the event
loop, in a thread, so that the server goes on reading and answering other connections. It is always the
same thread, one call at a time, because the SQLite connections of the routing projection and of the call
store belong to the thread that opened them (``sqlite3``'s ``check_same_thread``), and the application's
aggregate cache and the projection are not safe to share between threads; SQLite has one writer anyway.
This is ``trio.to_thread.run_sync`` with a ``CapacityLimiter(1)``, pinned to one thread: trio's thread
cache would hand each call whichever worker is idle.

A call waited for may be given up (``cancellable``, for reads): its caller stops waiting, the thread
finishes it (nothing is cut off half-way) and drops its result; one not started yet is skipped. A write is
never given up: its caller waits for it whatever the deadline, so that an answer never says "nothing was
stored" about a batch that was then committed.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import outcome
import trio

T = TypeVar("T")


class _Job:
    def __init__(self, fn: Callable[[], Any], token: trio.lowlevel.TrioToken) -> None:
        self.fn = fn
        self.token = token
        self.done = trio.Event()
        self.result: outcome.Outcome[Any] | None = None
        self.abandoned = False

    def run(self) -> None:
        if self.abandoned:
            return
        self.result = outcome.capture(self.fn)
        try:
            trio.from_thread.run_sync(self.done.set, trio_token=self.token)
        except trio.RunFinishedError:  # the server stopped while the call ran
            pass


class StoreThread:
    """Runs calls on the store in one thread of its own (see the module's docstring)."""

    def __init__(self, name: str = "callroute-store") -> None:
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            job.run()

    async def run(self, fn: Callable[[], T], *, cancellable: bool = True) -> T:
        """``fn()`` in the store's thread; with ``cancellable``, a cancelled caller stops waiting (the call is dropped)."""
        job = _Job(fn, trio.lowlevel.current_trio_token())
        self._jobs.put(job)
        if cancellable:
            try:
                await job.done.wait()
            except trio.Cancelled:
                job.abandoned = True
                raise
        else:
            with trio.CancelScope(shield=True):
                await job.done.wait()
        assert job.result is not None
        return job.result.unwrap()  # type: ignore[no-any-return]

    def close(self) -> None:
        """End the thread after the calls queued before."""
        self._jobs.put(None)
        self._thread.join()

