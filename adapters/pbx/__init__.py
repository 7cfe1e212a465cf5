"""Live PBX events: protocol clients and mappings into callroute's own call events (``core.calls.events``).

Each protocol has a parser that does no I/O (bytes in, frames out), a mapping that turns
frames into call events (keeping what it needs to correlate legs), and a trio client that
connects, logs in, subscribes, takes a snapshot after every (re)connect and hands the
events to a sink. What the events feed (call history, presence, conformance) is built
elsewhere from what the sink stores.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import msgspec

from core.calls.events import CallEvent

EventSink = Callable[[Sequence[CallEvent]], Awaitable[None]]
"""Where a client hands the events of each frame (or snapshot) it mapped, in order."""


class IngestStats(msgspec.Struct):
    """What one client run did: counted, so malformed input is visible and never silent."""

    connects: int = 0
    frames: int = 0
    events: int = 0
    malformed: int = 0
    """Frames that could not be parsed (logged with their first bytes, then skipped)."""
    unknown: int = 0
    """Well-formed frames of events callroute does not map."""
    oversize: int = 0
    """Frames over the size limit (skipped up to their end)."""
