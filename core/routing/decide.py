"""Where a call goes, and why: ``route(table, call, states, memory) -> Decision``.

A pure function. A call to a user is decided in this order (``users.py``): anonymous
rejection → forward always (then a device's permanent redirect, then a number divert
marked "always") → a dated closure in force → out of hours → unreachable → busy (call
waiting off) → ring until the no-answer timeout → no-answer rule. Groups and queues
(``groups.py``), IVR menus and forwarding schemes (``menus.py``) follow their own
settings, after any closure in force (``closures.py``). Strategies that need
memory (round robin, least recently answered, random order) read it from ``memory``
and the decision returns the updated memory; nothing is kept between calls.

With ``explain=True`` every rule consulted is recorded, in order, with why it matched
or not. Only what shows it to a person asks for it (the CLI, the demo, audit
explain-call); the simulator and other bulk callers do not, and their decisions carry
an empty explanation but the same plan, memory and dependencies.

Endpoint states are keyed by extension (``2001``) or, for members of other PBXs,
``pbx/member``; a missing key means available. ``excluded`` takes an endpoint out of
group and queue calls only.
"""

from __future__ import annotations

from core.routing.decision import (
    DEFAULT_HOP_LIMIT,
    Call,
    Decision,
    EndpointState,
    RoutingMemory,
    UnknownNumberError,
    member_key,
    record_answer,
)
from core.routing.groups import GroupRouting
from core.routing.menus import MenuRouting
from core.routing.table import RoutingTable
from core.routing.users import UserRouting

__all__ = [
    "DEFAULT_HOP_LIMIT",
    "Call",
    "Decision",
    "EndpointState",
    "RoutingMemory",
    "UnknownNumberError",
    "member_key",
    "record_answer",
    "route",
]

_NO_STATES: dict[str, EndpointState] = {}
"""Shared: routing never changes the states it is given."""


class _Router(UserRouting, GroupRouting, MenuRouting):
    """Users, groups and queues, menus and schemes, on one decision's state."""


def route(
    table: RoutingTable,
    call: Call,
    states: dict[str, EndpointState] | None = None,
    memory: RoutingMemory | None = None,
    *,
    hop_limit: int = DEFAULT_HOP_LIMIT,
    explain: bool = False,
) -> Decision:
    """Decide where ``call`` goes under ``table`` with endpoints in ``states``; ``explain``: record every rule consulted."""
    router = _Router(table, call, states or _NO_STATES, memory or RoutingMemory(), hop_limit, explain)
    plan = router.entry()
    return Decision(plan=plan, explanation=tuple(router.steps), memory=router.memory(),
                    rejected_anonymous=router.rejected_anonymous, depends_on=router.depends_on())
