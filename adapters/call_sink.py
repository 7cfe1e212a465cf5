"""The sink every live client hands its events to: each event attributed to its tenant, stored in batches.

``StoringSink`` is an ``adapters.pbx.EventSink``: the AMI and ESL clients call it once per
frame (or snapshot) with the events they mapped, the webhook backfill once per payload. Events
are attributed (``core.calls.attribution``) and written to the call store in batches of
``batch_size`` (one transaction each). Run by a live client, the sink writes in a worker thread
(``write_in_background``) so that the socket is read while SQLite writes (an Asterisk manager
drops a client that stops reading), and a quiet moment writes what the buffer holds: a burst of
frames is one transaction and a lone event waits at most ``flush_seconds``.
What cannot be attributed is counted and logged (one line per call), never stored.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import msgspec
import structlog
import trio

from adapters.call_store import CallStore
from core.aggregates.access import check_access
from core.aggregates.context import Actor
from core.calls.attribution import Attribution, Directory, Unattributed
from core.calls.events import CallEvent
from core.errors import PermissionDeniedError, TenantClosedError
from core.routing.table import numbers_by_source

logger = structlog.wrap_logger(logging.getLogger("callroute"))


class SinkStats(msgspec.Struct):
    """What the sink did with what it was handed."""

    received: int = 0
    stored: int = 0
    duplicates: int = 0
    """Events heard before (same PBX and key), not stored again."""
    unattributed_calls: int = 0
    unattributed_events: int = 0
    """Events whose tenant could not be found (or is not one the ingest may store for): logged, not stored."""
    batches: int = 0


class StoringSink:
    """Attributes and stores call events (see the module's docstring)."""

    def __init__(self, store: CallStore, attribution: Attribution, *, batch_size: int = 2000) -> None:
        self.store = store
        self.attribution = attribution
        self.batch_size = batch_size
        self.stats = SinkStats()
        self._buffer: list[tuple[str, CallEvent]] = []
        self._batches: trio.MemorySendChannel[list[tuple[str, CallEvent]]] | None = None
        self._written = trio.Event()

    async def __call__(self, events: Sequence[CallEvent]) -> None:
        self._attribute(events)
        if len(self._buffer) >= self.batch_size:
            if self._batches is None:
                self.flush()
            else:  # the writer takes it; while it still writes the one before, the client waits here (and reads no more)
                batch, self._buffer = self._buffer, []
                await self._batches.send(batch)

    def add(self, events: Sequence[CallEvent]) -> None:
        """Attribute ``events``; store a batch, here and now, when the buffer is full (no background writer)."""
        self._attribute(events)
        if len(self._buffer) >= self.batch_size:
            self.flush()

    def _attribute(self, events: Sequence[CallEvent]) -> None:
        self.stats.received += len(events)
        for unattributed in self.attribution.attribute_into(events, self._buffer):
            self._log(unattributed)

    def flush(self) -> None:
        """Store what the buffer holds, in one transaction."""
        if self._buffer:
            batch, self._buffer = self._buffer, []
            self._store(batch)

    def _store(self, batch: list[tuple[str, CallEvent]]) -> None:
        appended = self.store.append(batch)
        self.stats.stored += appended.stored
        self.stats.duplicates += appended.duplicates
        self.stats.batches += 1

    async def write_in_background(self, flush_seconds: float, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
                                  ) -> None:
        """Write batches in a worker thread while the client goes on reading; write a quiet buffer every ``flush_seconds``.

        Start it with ``nursery.start``; ``finish()`` ends it once everything handed over is written. A write is
        never cancelled half-way (trio waits for the thread). At most one batch waits while one is written, so a
        slow disk slows the reading down instead of filling memory.
        """
        send, receive = trio.open_memory_channel[list[tuple[str, CallEvent]]](1)
        self._batches, self._written = send, trio.Event()
        task_status.started()
        try:
            async with receive:
                while True:
                    batch: list[tuple[str, CallEvent]] | None = None
                    with trio.move_on_after(flush_seconds):
                        try:
                            batch = await receive.receive()
                        except trio.EndOfChannel:
                            break
                    if batch is None:
                        if not self._buffer:
                            continue
                        batch, self._buffer = self._buffer, []
                    await trio.to_thread.run_sync(self._store, batch)
            if self._buffer:
                batch, self._buffer = self._buffer, []
                await trio.to_thread.run_sync(self._store, batch)
        finally:
            self._batches = None
            self._written.set()

    async def finish(self) -> None:
        """Let the background writer write everything handed over, and end; returns when it has."""
        if self._batches is not None:
            await self._batches.aclose()
            await self._written.wait()

    def close(self) -> SinkStats:
        """Store the rest; give up the events still waiting for their call's start."""
        self.flush()
        for unattributed in self.attribution.flush_held():
            self._log(unattributed)
        stats = self.attribution.stats
        self.stats.unattributed_calls = stats.unattributed_calls
        self.stats.unattributed_events = stats.unattributed_events
        return self.stats

    def _log(self, unattributed: Unattributed) -> None:
        logger.warning("call.unattributed", pbx=unattributed.pbx, call_id=unattributed.call_id, dialled=unattributed.dialled,
                       events=unattributed.events, reason=unattributed.reason)


def directory_for(app: object, actor: Actor, tenant: str | None) -> Directory:
    """The numbers and extensions of the tenants ``actor`` may change (``tenant``: that one only; it must exist and be
    changeable: ``UnknownTenantError`` or ``PermissionDeniedError`` otherwise)."""
    slugs = [tenant] if tenant is not None else app.list_tenants()  # type: ignore[attr-defined]
    numbers: dict[str, str] = {}
    extensions: dict[str, frozenset[str]] = {}
    for slug in slugs:
        aggregate = app.tenant(slug)  # type: ignore[attr-defined]
        state = aggregate.state
        try:
            check_access(actor, slug, state.admins, state.partner, action="change")
        except PermissionDeniedError:
            if tenant is not None:
                raise
            continue
        if state.closed:
            if tenant is not None:
                raise TenantClosedError(f"tenant {slug!r} is closed: no call is stored for it", field="tenant")
            continue
        for number, _, _ in numbers_by_source(state):
            numbers.setdefault(number, slug)
        agents = {agent for queue in state.queues.values() for agent in queue.agents}
        extensions[slug] = frozenset(state.users) | frozenset(agents)
    return Directory(numbers=numbers, extensions=extensions)
