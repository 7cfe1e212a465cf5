"""The trace of a run: one typed record per state change, streamed as JSON Lines and hashed as written.

msgspec encodes a Struct's fields in the order they are declared, so every record reads
``{"t": …, "ev": …, …}`` with its fields in a fixed order, and the trace's hash depends on
nothing but the run. The recorded-call lines of ``simulate --calls`` (the format
``audit explain-call --calls`` reads) are written the same way.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import IO, Literal

import msgspec


class _Record(msgspec.Struct, kw_only=True, gc=False):
    # kw_only lets each record put its fixed ``ev`` second, before fields without defaults.
    t: float


class AgentChanged(_Record, kw_only=True):
    """An agent's state machine moved (``available``, ``ringing``, ``talking``, ``wrap_up``, ``offline``, ``unreachable``)."""

    ev: Literal["agent"] = "agent"
    agent: str
    state: str


class ConfigApplied(_Record, kw_only=True):
    """A scenario change was saved (desired); it is not live until provisioned."""

    ev: Literal["config"] = "config"
    version: int


class ConfigLive(_Record, kw_only=True):
    """The PBX applied everything up to ``version``."""

    ev: Literal["live"] = "live"
    version: int


class Arrived(_Record, kw_only=True, rename={"caller": "from"}):
    """A call came in."""

    ev: Literal["arrive"] = "arrive"
    call: int
    to: str
    caller: str | None


class Routed(_Record, kw_only=True):
    """A call's plan was decided (``plan``: the type of its first node)."""

    ev: Literal["route"] = "route"
    call: int
    version: int
    plan: str


class Rang(_Record, kw_only=True):
    """Endpoints started ringing for a call."""

    ev: Literal["ring"] = "ring"
    call: int
    endpoints: list[str]


class Answered(_Record, kw_only=True):
    """An endpoint answered."""

    ev: Literal["answer"] = "answer"
    call: int
    endpoint: str


class EnteredMenu(_Record, kw_only=True):
    """A call reached an IVR menu (``digit``: what the caller presses, ``None``: unknown)."""

    ev: Literal["ivr"] = "ivr"
    call: int
    ivr: str
    digit: str | None


class Queued(_Record, kw_only=True):
    """A call entered a queue."""

    ev: Literal["queue"] = "queue"
    call: int
    queue: str


class WaitedTooLong(_Record, kw_only=True):
    """A call reached its queue's maximum wait and moves on."""

    ev: Literal["max_wait"] = "max_wait"
    call: int
    queue: str


class QueueEmpty(_Record, kw_only=True):
    """A queue's rule found no agent for a caller: on ``join`` (turned away) or while they ``wait`` (they leave)."""

    ev: Literal["queue_empty"] = "queue_empty"
    call: int
    queue: str
    on: Literal["join", "wait"]


class Abandoned(_Record, kw_only=True):
    """The caller hung up before an answer (``where``: ``ringing``, ``ivr`` or ``queue``)."""

    ev: Literal["abandon"] = "abandon"
    call: int
    where: str


class Ended(_Record, kw_only=True):
    """A call ended, with its outcome and the endpoint it ended at."""

    ev: Literal["end"] = "end"
    call: int
    outcome: str
    endpoint: str | None


Record = AgentChanged | ConfigApplied | ConfigLive | Arrived | Routed | Rang | Answered | EnteredMenu | Queued | WaitedTooLong | \
    QueueEmpty | \
    Abandoned | Ended


class CallRecord(msgspec.Struct, gc=False, rename={"caller": "from"}):
    """One finished call in the recorded-call format of ``callroute audit explain-call --calls``."""

    call_id: str
    to: str
    caller: str | None
    at: str
    outcome: str
    endpoint: str | None
    states: dict[str, str] | None
    """Endpoint states when the call arrived (the routing input a recorded call carries)."""
    digits: str | None


Trace = Callable[[Record], None]
"""Where the parts of the switch send their records; absent (``None``) when nobody asked for a trace."""


class TraceWriter:
    """JSON Lines of records, streamed to a file in 64 KiB writes; hashes what it writes."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.encoder = msgspec.json.Encoder()
        self.digest = hashlib.sha256()
        self.buffer = bytearray()

    def __call__(self, record: msgspec.Struct) -> None:
        self.encoder.encode_into(record, self.buffer, -1)
        self.buffer.extend(b"\n")
        if len(self.buffer) > 1 << 16:
            self.flush()

    def flush(self) -> None:
        self.digest.update(self.buffer)
        self.out.write(self.buffer)
        self.buffer.clear()
