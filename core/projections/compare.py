"""What happened to a call versus what the configuration said could happen.

A recorded call (from a PBX's call history, or later a simulator trace) names its
outcome; the routing plan of the table live at that instant lists every outcome the
configuration allows. A call whose outcome the plan does not allow is a discrepancy.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from core.routing import (
    BusyTone,
    Call,
    HopLimit,
    Lookup,
    Menu,
    Message,
    Missed,
    Node,
    Presentation,
    Queue,
    Ring,
    Unavailable,
    Voicemail,
    normalise_caller,
)

Outcome = Literal["answered", "voicemail", "busy", "message", "missed", "unavailable"]
EndpointStateName = Literal["available", "busy", "unreachable", "excluded"]


class RecordedCall(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename={"caller": "from"}):
    """One line of a recorded call history (JSON Lines)."""

    call_id: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    to: Annotated[str, msgspec.Meta(min_length=2, max_length=32)]
    at: Annotated[datetime, msgspec.Meta(tz=True)]
    outcome: Outcome
    caller: str | None = None
    """``from`` in the file, the caller id as the PBX logged it: null, absent, empty, ``anonymous`` and every other
    spelling ``normalise_caller`` knows mean a withheld caller."""
    endpoint: str | None = None
    """Who answered (extension, number, SIP URI or ``pbx/member``), or whose voicemail took it."""
    states: dict[str, EndpointStateName] = {}
    digits: str | None = None
    presentation: Presentation | None = None
    """The network's presentation indicator, when logged; ``restricted`` or ``unavailable`` make the caller anonymous."""

    def routing_call(self) -> Call:
        """The call as routing takes it, its caller id read as everywhere else."""
        caller, presentation = normalise_caller(self.caller, presentation=self.presentation)
        return Call(dialled=self.to, at=self.at, caller=caller, presentation=presentation, digits=self.digits,
                    call_id=self.call_id)


class Possible(msgspec.Struct, frozen=True):
    """Everything a plan allows: who may answer, which voicemail boxes, which other endings."""

    answered: frozenset[str] = frozenset()
    voicemail: frozenset[str] = frozenset()
    endings: frozenset[str] = frozenset()
    any_number: bool = False
    """A look-up (webhook, CRM) may ring a number known only at call time."""


def possible_outcomes(plan: Node | None) -> Possible:
    """Walk a plan and collect every outcome it allows."""
    answered: set[str] = set()
    voicemail: set[str] = set()
    endings: set[str] = set()
    any_number = False

    def walk(node: Node | None) -> None:
        nonlocal any_number
        match node:
            case None | Missed() | HopLimit():
                endings.add("missed")
            case Ring(legs=legs, then=then):
                answered.update(leg.endpoint.id for leg in legs)
                walk(then)
            case Voicemail(box=box):
                voicemail.add(box)
            case Message():
                endings.add("message")
            case BusyTone():
                endings.add("busy")
            case Unavailable():
                endings.add("unavailable")
            case Menu():
                for branch in (*node.options.values(), node.on_invalid, node.on_no_input):
                    if branch is not None:
                        walk(branch)
                endings.add("missed")  # the caller may hang up in the menu
            case Queue():
                answered.update(agent.id for agent in node.agents)
                walk(node.after_max_wait)
                walk(node.when_empty)  # a caller turned away on joining or leaving the emptied queue
                endings.add("missed")
            case Lookup(then=then):
                any_number = True
                walk(then)

    walk(plan)
    return Possible(answered=frozenset(answered), voicemail=frozenset(voicemail), endings=frozenset(endings),
                    any_number=any_number)


def allows(possible: Possible, call: RecordedCall) -> bool:
    """Whether the recorded outcome is one the plan allows."""
    if call.outcome == "answered":
        return call.endpoint in possible.answered or (possible.any_number and (call.endpoint or "").startswith("+"))
    if call.outcome == "voicemail":
        return call.endpoint in possible.voicemail
    if call.outcome == "missed":
        # A ringing call can always end unanswered when the caller hangs up.
        return "missed" in possible.endings or bool(possible.answered)
    return call.outcome in possible.endings


def describe_possible(possible: Possible) -> str:
    """The allowed outcomes in one line."""
    parts = []
    if possible.answered:
        parts.append("answered by " + ", ".join(sorted(possible.answered)))
    if possible.any_number:
        parts.append("answered at a number looked up at call time")
    if possible.voicemail:
        parts.append("voicemail of " + ", ".join(sorted(possible.voicemail)))
    parts.extend(sorted(possible.endings))
    return "; ".join(parts) or "nothing"
