"""What a routing decision takes and gives: the call, the strategies' memory, the decision."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Literal

import msgspec

from core.aggregates.groups import CloudMember, LocalMember, SipMember
from core.errors import NotFoundError
from core.routing.caller import Presentation
from core.routing.plan import Node, Step

EndpointState = Literal["available", "busy", "unreachable", "excluded"]
DEFAULT_HOP_LIMIT = 8


class UnknownNumberError(NotFoundError):
    """The dialled number is neither an extension nor a number of the tenant."""

    rule = "unknown_number"


class Call(msgspec.Struct, frozen=True):
    """A call to route: who dialled what, when, and (optionally) the IVR digits the caller presses."""

    dialled: str
    at: datetime
    caller: str | None = None
    """The caller id as presented (``core.routing.caller.normalise_caller``); ``None``: withheld or none delivered."""
    presentation: Presentation = "allowed"
    """``restricted``: the caller withheld their number; ``unavailable``: the network delivered none."""
    digits: str | None = None
    """IVR input: ``None`` = unknown (the plan shows every option), ``""`` = presses nothing."""
    call_id: str = ""
    """Distinguishes calls for the ``random`` strategy's order."""

    @property
    def withheld(self) -> bool:
        """Whether anonymous rejection applies: the presentation is not ``allowed``, or there is no caller id at all."""
        return self.presentation != "allowed" or self.caller is None

    @property
    def effective_presentation(self) -> Presentation:
        """The presentation routing goes by: a call without a caller id counts as ``restricted`` unless it says more."""
        return "restricted" if self.caller is None and self.presentation == "allowed" else self.presentation


class RoutingMemory(msgspec.Struct, frozen=True):
    """What strategies remember between calls."""

    last_offered: dict[str, str] = {}
    """Group → key of the member a round-robin call was last offered to first."""
    last_answered: dict[str, float] = {}
    """Member key → POSIX time it last answered a group call (least recently answered)."""
    seed: int = 0
    """Seed of the ``random`` strategy's order (the order also depends on the call id)."""


class Decision(msgspec.Struct, frozen=True):
    """A routing plan, the explanation of how it was reached, and the updated strategy memory."""

    plan: Node
    explanation: tuple[Step, ...]
    """Every rule consulted, in order, with why it matched or not; empty unless the decision was asked
    for it (``route(..., explain=True)``): building it costs about as much as the decision itself."""
    memory: RoutingMemory
    rejected_anonymous: bool = False
    """The callee (a user, the number called or an answer group) rejects anonymous calls and this caller's
    number is withheld: the plan is the rejected-call handling."""
    depends_on: frozenset[str] = frozenset()
    """What besides the table, the dialled number, the caller's anonymity and the digits the plan
    depended on: ``time`` (a schedule was consulted), ``states`` (endpoint states picked a
    destination), ``memory`` (a strategy's memory), ``agents`` (only a queue node's list of
    logged-in agents, which is informative: who is logged in changes while callers wait). Empty:
    the same plan holds for every such call (the explanation's wording may still mention the
    instant)."""


def record_answer(memory: RoutingMemory, member_key: str, at: datetime) -> RoutingMemory:
    """The memory after ``member_key`` answered a group call at ``at`` (for least-recently-answered)."""
    return msgspec.structs.replace(memory, last_answered={**memory.last_answered, member_key: at.timestamp()})


@lru_cache(maxsize=65536)
def member_key(ref: object) -> str:
    """The endpoint-state and memory key of a group member."""
    match ref:
        case LocalMember(extension=ext):
            return ext
        case CloudMember(pbx=pbx, member=member):
            return f"{pbx}/{member}"
        case SipMember(pbx=pbx, internal_number=number):
            return f"{pbx}/{number}"
    raise TypeError(ref)
