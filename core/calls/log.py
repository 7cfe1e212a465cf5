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
