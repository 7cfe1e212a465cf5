"""The tenant's hash chain: each event records the hash of its predecessor and its own.

An event's hash covers its stable type name, tenant id, version and every stored
field except ``hash`` itself, encoded as JSON with sorted keys. The same function
hashes a new event from its fields and a stored event from its raw stored JSON (before
any upcasting), so events written under an old schema still verify.
"""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec

GENESIS = "0" * 64
"""The ``prev_hash`` of a tenant's first event."""

_encoder = msgspec.json.Encoder(order="sorted")


def event_hash(topic: str, originator_id: str, version: int, state: dict[str, Any]) -> str:
    """SHA-256 of an event's canonical content; ``state`` must not contain ``hash``."""
    payload = _encoder.encode({"topic": topic, "id": originator_id, "version": version, "state": state})
    return hashlib.sha256(payload).hexdigest()
