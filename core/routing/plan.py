"""The routing plan: a tree of what rings, for how long, and what happens next; and its explanation."""

from __future__ import annotations

from typing import Literal

import msgspec

from core.aggregates.services import JoinRule, LeaveRule
from core.aggregates.targets import Greeting

EndpointKind = Literal["user", "external", "external_sip", "remote"]


class Endpoint(msgspec.Struct, frozen=True):
    """Something that can ring: a user's phone, an external number, a SIP URI, a member of another PBX."""

    kind: EndpointKind
    id: str
    """Extension, E.164 number, SIP URI, or ``pbx/member``."""


class Leg(msgspec.Struct, frozen=True, omit_defaults=True):
    """One endpoint of a ring step and how long it rings (``None``: until answered or the caller hangs up)."""

    endpoint: Endpoint
    seconds: int | None = None
    announce: bool = False
    present_dialled_number: bool = False


ViaKind = Literal["user", "redirect", "group", "scheme", "number", "sip", "pbx"]


class Via(msgspec.Struct, frozen=True, omit_defaults=True):
    """What a ring is for, as data: readers (the simulator, conformance) use this, never the ``via`` text."""

    kind: ViaKind
    """``user`` (the user's own phone), ``redirect`` (a user's permanent or always-redirect), ``group``,
    ``scheme`` (a step of a forwarding scheme), ``number``, ``sip`` or ``pbx`` (a destination of that kind)."""
    target: str
    """The extension, group, scheme, number, SIP URI or PBX."""
    step: int | None = None
    """The scheme step (from 1), for a scheme's ring."""


class _Node(msgspec.Struct, frozen=True, tag_field="do", omit_defaults=True):
    pass


class Ring(_Node, tag="ring"):
    """Ring ``legs`` one after another (sequential) or all at once (parallel); on no answer, ``then``."""

    legs: tuple[Leg, ...]
    mode: Literal["sequential", "parallel"] = "sequential"
    limit_seconds: int | None = None
    """Overall cap (a group's timeout); ``None``: the legs' own times."""
    via: str = ""
    """What this ring is for, in words (``user 2001``, ``group sales``, ``scheme sales-hours step 2``)."""
    purpose: Via | None = None
    """What this ring is for, as data."""
    then: Node | None = None
    """What happens when nobody answers (``None``: a missed call)."""


class Voicemail(_Node, tag="voicemail"):
    """Leave a message in ``box``'s voicemail."""

    box: str
    greeting: Greeting | None = None


class Message(_Node, tag="message"):
    """Play a message, then hang up."""

    message: Greeting


class BusyTone(_Node, tag="busy_tone"):
    """The engaged tone."""


class Unavailable(_Node, tag="unavailable"):
    """The network's "not available" treatment."""


class Missed(_Node, tag="missed"):
    """Nothing more rings; the call ends unanswered when the caller hangs up."""


class Menu(_Node, tag="menu"):
    """An IVR menu: the caller's digit picks a branch."""

    ivr: str
    prompt: Greeting
    timeout_seconds: int
    retries: int
    options: dict[str, Node] = {}
    on_invalid: Node | None = None
    on_no_input: Node | None = None
    chosen: str | None = None
    """The digit the caller pressed, when the call says."""


class Queue(_Node, tag="queue"):
    """Wait in a queue until an agent answers, at most ``max_wait_seconds``."""

    queue: str
    agents: tuple[Endpoint, ...]
    strategy: str
    agent_ring_seconds: int
    wrap_up_seconds: int
    max_wait_seconds: int
    after_max_wait: Node | None = None
    announce_position: bool = False
    announce_hold_time: bool = False
    hold_music: str | None = None
    join_when: JoinRule = "always"
    """The join rule in force (routing has applied it by the endpoint states when it routed the call)."""
    leave_when: LeaveRule = "never"
    """When waiting callers leave, to ``when_empty``."""
    retry_seconds: int = 0
    """The pause before a waiting call is offered again after a ring round nobody answered."""
    when_empty: Node | None = None
    """Where a caller goes when the queue turns them away on joining or they leave it empty (its ``when_no_agents``);
    given only for a queue with a join or leave rule of its own, which a switch judges again by its agents when the
    caller reaches the queue and while they wait. A queue saved without them is judged on routing only."""


class Lookup(_Node, tag="lookup"):
    """Ask a webhook or the CRM for a number at call time, ring it; if there is none or no answer, ``then``."""

    source: Literal["webhook", "responsible_manager"]
    url: str | None = None
    then: Node | None = None


class HopLimit(_Node, tag="hop_limit"):
    """Routing stopped because the hop limit fired; the call ends unanswered, as a missed call.

    The backstop for loops that saving does not refuse (through a person's no-answer, busy
    or unreachable diverts, or a menu's options alone; or stored before loops were
    refused) and for chains longer than the limit.
    """

    path: tuple[str, ...]
    """Every node entered, the one refused last: the limit is one less than its length."""

    @property
    def looped(self) -> bool:
        """Whether the node refused had been entered before (a loop, not just a long chain)."""
        return self.path[-1] in self.path[:-1]


Node = Ring | Voicemail | Message | BusyTone | Unavailable | Missed | Menu | Queue | Lookup | HopLimit


class Step(msgspec.Struct, frozen=True):
    """One rule consulted, in order: whether it matched and why."""

    depth: int
    at: str
    """Where: ``user 2001``, ``group sales``, ``number +46812345600``."""
    rule: str
    matched: bool
    reason: str
