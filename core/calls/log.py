"""How call events are stored: an explicit, stable topic per event type, msgpack bodies, a hash chain per tenant.

Call events are kept in a table of their own beside the configuration events (never on the
tenant aggregate: a busy tenant reports thousands of calls a day, and the routing projection
and ``audit verify`` read every configuration event). Each stored call event is one row: the
tenant, the PBX, the event's idempotency key, its call id and instant, its ``TOPIC`` and its
body. Stored events are kept forever, so the topic names below never change, whatever the
classes in ``core.calls.events`` are renamed to; a new event type gets a new topic.

Like the configuration events, each tenant's call events form a hash chain:
``hash = SHA-256(previous hash ‖ topic ‖ 0x00 ‖ body)`` from ``GENESIS``, so an edited,
reordered or deleted row breaks every later link. Pure: no I/O, no clock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import msgspec

from core.calls.events import (
    AgentStateChanged,
    CallEnded,
    CallEvent,
    CallStarted,
    EndpointStateChanged,
    LegAnswered,
    LegEnded,
    LegRinging,
    QueueJoined,
    QueueLeft,
    VoicemailReached,
)

TOPICS: dict[type, str] = {
    CallStarted: "callroute/call/CallStarted",
    LegRinging: "callroute/call/LegRinging",
    LegAnswered: "callroute/call/LegAnswered",
    LegEnded: "callroute/call/LegEnded",
    QueueJoined: "callroute/call/QueueJoined",
    QueueLeft: "callroute/call/QueueLeft",
    VoicemailReached: "callroute/call/VoicemailReached",
    CallEnded: "callroute/call/CallEnded",
    EndpointStateChanged: "callroute/call/EndpointStateChanged",
    AgentStateChanged: "callroute/call/AgentStateChanged",
}
"""Every stored call event type → its stored name. Never change a value: stored rows are read by it."""

TYPES: dict[str, type] = {topic: cls for cls, topic in TOPICS.items()}
STARTED = TOPICS[CallStarted]
GENESIS = bytes(32)
"""The previous hash of a tenant's first call event."""

_encode = msgspec.msgpack.Encoder().encode
_DECODERS = {topic: msgspec.msgpack.Decoder(cls) for topic, cls in TYPES.items()}


class UnknownTopicError(ValueError):
    """A stored row names a topic this code does not know (written by a newer version)."""


def encode(event: CallEvent) -> tuple[str, bytes]:
    """The stored topic and body of ``event``."""
    return TOPICS[type(event)], _encode(event)


def decode(topic: str, body: bytes) -> CallEvent:
    """The event stored as ``topic`` with ``body``."""
    decoder = _DECODERS.get(topic)
    if decoder is None:
        raise UnknownTopicError(f"unknown call event topic {topic!r}")
    return decoder.decode(body)  # type: ignore[no-any-return]


_TOPIC_BYTES = {topic: topic.encode() + b"\x00" for topic in TYPES}


def link(previous: bytes, topic: str, body: bytes) -> bytes:
    """The chain hash of a row after ``previous``: SHA-256 of previous ‖ topic ‖ 0x00 ‖ body."""
    prefix = _TOPIC_BYTES.get(topic)
    return hashlib.sha256(previous + (prefix if prefix is not None else topic.encode() + b"\x00") + body).digest()


class ChainBreak(msgspec.Struct, frozen=True):
    """Where a tenant's call-event chain stopped verifying: the row's position in the tenant's chain (from 1) and why."""

    position: int
    problem: str


def verify_rows(rows: Iterable[tuple[str, bytes, bytes]], head: bytes | None, count: int | None) -> tuple[int, bytes, ChainBreak | None]:
    """Walk ``(topic, body, hash)`` rows in stored order; the number of rows, the last hash, and the first break.

    ``head`` and ``count`` are what the store recorded as the chain's end (``None``: not recorded): rows removed
    from the end show there.
    """
    previous = GENESIS
    position = 0
    for topic, body, recorded in rows:
        position += 1
        expected = link(previous, topic, body)
        if expected != recorded:
            return position, previous, ChainBreak(position, "altered, reordered or a row before it removed")
        previous = recorded
    if count is not None and count != position:
        return position, previous, ChainBreak(position + 1, f"the store recorded {count} events, {position} are there")
    if head is not None and head != previous:
        return position, previous, ChainBreak(position, "the last event is not the recorded head")
    return position, previous, None


# -- the running head over stored call events, and verifying them (``callroute audit verify``) ---------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MICRO = timedelta(microseconds=1)


def running(previous: bytes, recorded: object) -> bytes:
    """The calls head after one more stored row: SHA-256 of the previous head ‖ the chain hash the row records.

    Over every row of a scope (the store, or one tenant) in stored order, from ``GENESIS``: a head kept at any moment is
    among the running heads of today's rows if and only if no row stored up to then was removed or reordered, and none's
    recorded hash changed (each tenant's chain proves a row's content equal to the hash it records). A recorded hash that
    is not 32 bytes (a column edited to another type) stands in by its text.
    """
    if not (isinstance(recorded, bytes) and len(recorded) == 32):
        recorded = hashlib.sha256(b"unreadable:" + repr(recorded).encode()).digest()
    return hashlib.sha256(previous + recorded).digest()


class TenantCalls(msgspec.Struct, frozen=True):
    """One tenant's chain of call events as verified: its rows, its last linked hash, and where it broke."""

    tenant: str
    events: int
    """The tenant's rows walked (all of them, also after a break)."""
    head: bytes
    """The last hash linked before any break."""
    broken: ChainBreak | None = None


class CallsWalk(msgspec.Struct, frozen=True):
    """Every chain of a scope's stored call events, verified in one walk in stored order, and the running head over them."""

    chains: tuple[TenantCalls, ...]
    """By tenant name."""
    head: bytes
    events: int
    kept_after: int | None = None
    """The kept head is the running head after this many rows (0: before the first); None: none of them."""
    kept_chain: tuple[str, int] | None = None
    """(tenant, position): the kept head is that tenant's chain hash at that row, and the chain is intact up to it."""
    later: tuple[tuple[str, int], ...] = ()
    """Tenants with rows after the kept running head: (tenant, how many)."""

    @property
    def intact(self) -> bool:
        return all(chain.broken is None for chain in self.chains)


Row = tuple[str, str, str | None, str | None, int, str, bytes, bytes]
"""A stored row as ``walk`` reads it: tenant, PBX, key, call id, instant (µs), topic, body, chain hash."""


def walk(rows: Iterable[Row], recorded: dict[str, tuple[bytes, int]], kept: bytes | None = None) -> CallsWalk:
    """Verify every tenant's chain in ``rows`` (stored order) against the heads and counts the store recorded, and walk
    the running head (``running``) over them; with ``kept``, say where that head is among them.

    A row breaks its tenant's chain when its hash does not link (its topic or body edited, a row before it removed or
    reordered) or when its other columns — what the history's queries select by — disagree with its body. A chain whose
    last rows were removed with its recorded head and count put back shows only against a head kept earlier.
    """
    state: dict[str, list] = {}  # tenant → [previous hash, position, break]
    head, events = GENESIS, 0
    kept_after = 0 if kept == GENESIS else None
    kept_chain: tuple[str, int] | None = None
    later: dict[str, int] = {}
    for row in rows:
        tenant, recorded_hash = row[0], row[7]
        chain = state.get(tenant)
        if chain is None:
            chain = state[tenant] = [GENESIS, 0, None]
        chain[1] += 1
        if chain[2] is None:
            problem = _row_problem(chain[0], row)
            if problem is not None:
                chain[2] = ChainBreak(chain[1], problem)
            else:
                chain[0] = recorded_hash
                if kept is not None and kept_chain is None and recorded_hash == kept:
                    kept_chain = (tenant, chain[1])
        head = running(head, recorded_hash)
        events += 1
        if kept is not None:
            if kept_after is not None:
                later[tenant] = later.get(tenant, 0) + 1
            elif head == kept:
                kept_after = events
    chains = []
    for tenant in sorted(set(state) | set(recorded), key=str):  # key: a tenant column edited to a number still sorts
        previous, position, broken = state.get(tenant, [GENESIS, 0, None])
        if broken is None:
            if tenant not in recorded:
                broken = ChainBreak(position + 1, f"no chain head is recorded for its {position} call events")
            elif recorded[tenant][1] != position:
                broken = ChainBreak(position + 1, f"the store recorded {recorded[tenant][1]} call events, {position} are there")
            elif recorded[tenant][0] != previous:
                broken = ChainBreak(position, "the last call event is not the recorded head")
        chains.append(TenantCalls(tenant=tenant, events=position, head=previous, broken=broken))
    if kept_chain is not None:
        found = next(chain for chain in chains if chain.tenant == kept_chain[0])
        if found.broken is not None and found.broken.position <= kept_chain[1]:
            kept_chain = None
    return CallsWalk(chains=tuple(chains), head=head, events=events, kept_after=kept_after, kept_chain=kept_chain,
                     later=tuple(sorted(later.items())))


def _row_problem(previous: bytes, row: Row) -> str | None:
    """Why a stored row is not what was written after ``previous``, or None."""
    _, pbx, key, call_id, at, topic, body, recorded = row
    if not (isinstance(topic, str) and isinstance(body, bytes) and isinstance(recorded, bytes)):
        return "a column holds a value of the wrong type"
    if link(previous, topic, body) != recorded:
        return "altered, reordered or a row before it removed"
    try:
        event = decode(topic, body)
    except (UnknownTopicError, msgspec.DecodeError, msgspec.ValidationError) as exc:
        return f"cannot be read: {exc}"
    said = (event.pbx, event.key or None, getattr(event, "call_id", None), (event.at - _EPOCH) // _ONE_MICRO)
    if (pbx, key, call_id, at) != said:
        columns = [name for name, stored, body_says in zip(("pbx", "key", "call_id", "at"), (pbx, key, call_id, at), said,
                                                              strict=True) if stored != body_says]
        return f"its {', '.join(columns)} column{'s' if len(columns) > 1 else ''} disagree{'' if len(columns) > 1 else 's'} " \
               "with its body"
    return None
