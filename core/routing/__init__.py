"""Routing decisions: pure functions from a routing table and a call to a plan and its explanation.

The layer below the read models: it imports only the aggregates' value objects and
``core.errors`` (a test walks the import graph). Adapters, the simulator and the
projections use what is listed in ``__all__``.
"""

from core.routing.caller import PRESENTATIONS, Presentation, normalise_caller
from core.routing.decide import route
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
from core.routing.plan import (
    BusyTone,
    Endpoint,
    HopLimit,
    Leg,
    Lookup,
    Menu,
    Message,
    Missed,
    Node,
    Queue,
    Ring,
    Step,
    Unavailable,
    Via,
    Voicemail,
)
from core.routing.table import AnonymousRejection, RoutingTable, UserRule, compile_table
from core.routing.windows import open_window

__all__ = [
    "DEFAULT_HOP_LIMIT",
    "PRESENTATIONS",
    "AnonymousRejection",
    "BusyTone",
    "Call",
    "Decision",
    "Endpoint",
    "EndpointState",
    "HopLimit",
    "Leg",
    "Lookup",
    "Menu",
    "Message",
    "Missed",
    "Node",
    "Presentation",
    "Queue",
    "Ring",
    "RoutingMemory",
    "RoutingTable",
    "Step",
    "Unavailable",
    "UnknownNumberError",
    "UserRule",
    "Via",
    "Voicemail",
    "compile_table",
    "member_key",
    "normalise_caller",
    "open_window",
    "record_answer",
    "route",
]
