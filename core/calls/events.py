"""callroute's own call events: what a PBX reported, independent of its protocol.

Every event names the PBX that reported it (``pbx``: the name the ingest was started
with) and the instant the PBX gave. Call events carry the PBX's id of the whole call
(``call_id``: Asterisk's ``Linkedid``, FreeSWITCH's call UUID of the first leg, a
provider's call session id) and, for a leg, the id of that leg (Asterisk ``Uniqueid``,
FreeSWITCH ``Unique-ID``, a provider's call control id). ``key`` makes each event
idempotent: a PBX snapshot taken after a reconnect reports again what was already
heard, and an event whose key was stored is not stored twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from core.routing.caller import Presentation

Text = Annotated[str, msgspec.Meta(max_length=200)]
Instant = Annotated[datetime, msgspec.Meta(tz=True)]

AnsweredBy = Literal["extension", "agent", "member", "number", "voicemail"]
"""Who took a leg: a local extension, a queue agent, a member on another PBX (seed 003), an outside number."""
LegStatus = Literal["answered", "no_answer", "busy", "cancel", "failed", "unavailable"]
"""How a leg ended: the dial status (Asterisk ``DialStatus`` ANSWER/NOANSWER/BUSY/CANCEL/CHANUNAVAIL/CONGESTION,
FreeSWITCH hangup causes) in one vocabulary."""
EndpointPresence = Literal["idle", "ringing", "busy", "unavailable"]
Outcome = Literal["answered", "busy", "no_answer", "abandoned", "voicemail", "failed"]
"""The outcome of a whole call, as ``callroute history`` spells it."""


class _Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="kind", forbid_unknown_fields=True):
    pbx: Text
    at: Instant
    key: Text = ""
    """What makes this event unique at its PBX (e.g. ``ami:<Uniqueid>:DialEnd:<DestUniqueid>``); empty: none."""


class _CallEvent(_Event, frozen=True, kw_only=True):
    call_id: Text


class CallStarted(_CallEvent, frozen=True, kw_only=True, tag="started"):
    """A call came in (or went out): who called, what was dialled."""

    dialled: Text
    caller: Text | None = None
    """The caller id as the PBX gave it; ``core.routing.caller.normalise_caller`` reads every spelling of a withheld one."""
    presentation: Presentation | None = None
    tenant: Text | None = None
    """The tenant, where the adapter knows it (``--tenant``); else found from the dialled number."""


class LegRinging(_CallEvent, frozen=True, kw_only=True, tag="ringing"):
    """One destination of the call started ringing."""

    leg: Text
    endpoint: Text
    """An extension (``201``), a number, a SIP URI or ``pbx/member`` for a member on another PBX."""
    queue: Text | None = None
    group: Text | None = None


class LegAnswered(_CallEvent, frozen=True, kw_only=True, tag="answered"):
    """A destination answered."""

    leg: Text
    endpoint: Text
    answered_by: AnsweredBy = "extension"
    queue: Text | None = None
    group: Text | None = None


class LegEnded(_CallEvent, frozen=True, kw_only=True, tag="leg_ended"):
    """A destination stopped ringing or hung up. An agent leg ending ``no_answer`` or ``cancel`` while another agent
    answers the same queue call is not a missed call: the call's outcome is what its answered leg says."""

    leg: Text
    status: LegStatus
    endpoint: Text | None = None
    queue: Text | None = None


class QueueJoined(_CallEvent, frozen=True, kw_only=True, tag="queue_joined"):
    """The caller entered a queue."""

    queue: Text
    position: int | None = None


class QueueLeft(_CallEvent, frozen=True, kw_only=True, tag="queue_left"):
    """The caller left a queue: to an agent, or by hanging up first (``abandoned``)."""

    queue: Text
    abandoned: bool = False


class VoicemailReached(_CallEvent, frozen=True, kw_only=True, tag="voicemail"):
    """The call went to a voicemail box."""

    mailbox: Text


class CallEnded(_CallEvent, frozen=True, kw_only=True, tag="ended"):
    """The whole call ended (its last leg hung up)."""

    cause: int | None = None
    """Q.850 cause code (16 normal clearing, 17 user busy, 19 no answer, ...)."""
    cause_text: Text | None = None


class EndpointStateChanged(_Event, frozen=True, kw_only=True, tag="endpoint_state"):
    """An endpoint (extension, device) became idle, ringing, busy or unavailable: the router's input."""

    endpoint: Text
    state: EndpointPresence


class AgentStateChanged(_Event, frozen=True, kw_only=True, tag="agent_state"):
    """A queue agent logged in or out, paused or resumed."""

    queue: Text
    agent: Text
    logged_in: bool
    paused: bool = False


CallEvent = (CallStarted | LegRinging | LegAnswered | LegEnded | QueueJoined | QueueLeft | VoicemailReached | CallEnded
             | EndpointStateChanged | AgentStateChanged)
"""Every event an adapter may report."""

CALL_EVENT_TYPES: tuple[type, ...] = (CallStarted, LegRinging, LegAnswered, LegEnded, QueueJoined, QueueLeft, VoicemailReached,
                                       CallEnded, EndpointStateChanged, AgentStateChanged)
