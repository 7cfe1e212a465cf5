"""FreeSWITCH channel events as callroute's call events (``core.calls.events``). Pure: no I/O, no clock.

A FreeSWITCH call is a set of channels (legs), each with its ``Unique-ID``. The first leg (the
caller's, or the first leg of an originate) starts the call; a leg the PBX originated for it
(a bridge to an extension, a queue agent) names its originator in ``Other-Type: originator``
and ``Other-Leg-Unique-ID`` (``switch_channel_event_set_basic_data``), or, for an agent leg of
mod_callcenter, in the ``cc_member_session_uuid`` variable. The call's id is the first leg's
``variable_call_uuid`` (its own uuid until a bridge), followed along that chain for the legs
after it.

=========================  ===============================================================
FreeSWITCH                 callroute
=========================  ===============================================================
CHANNEL_CREATE             ``CallStarted`` (first leg) / ``LegRinging`` (an originated leg)
CHANNEL_ANSWER             ``LegAnswered`` for an originated leg (the first leg's answer is
                           the PBX picking up: nothing)
CHANNEL_BRIDGE             ``LegAnswered`` for the bridged leg, if its answer was not heard
CHANNEL_UNBRIDGE           nothing (the vocabulary has no bridge events)
CHANNEL_HANGUP(_COMPLETE)  ``LegEnded`` (status from ``Hangup-Cause``) / ``CallEnded`` with
                           the Q.850 cause when the first leg ends
CHANNEL_DESTROY            as a hangup if none was heard; then the leg is forgotten
CUSTOM callcenter::info    ``QueueJoined`` / ``QueueLeft`` / ``LegAnswered`` by an agent
=========================  ===============================================================

Each event's ``key`` is ``esl:<Unique-ID>:<what>`` (``started``, ``ringing``, ``answered``,
``ended`` for a leg, ``call_ended`` for the end of the call by its first leg), so what a
snapshot (``show channels as json``) reports again after a reconnect has the key of what
was heard before, and the sink stores it once.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from typing import Annotated

import msgspec

from adapters.pbx.esl import EVENT_JSON, EVENT_PLAIN, EslEventError, EslFrame, HeaderPicker
from core.calls.events import CallEnded, CallEvent, CallStarted, LegAnswered, LegEnded, LegRinging, LegStatus, QueueJoined, QueueLeft

CHANNEL_EVENTS = ("CHANNEL_CREATE", "CHANNEL_ANSWER", "CHANNEL_BRIDGE", "CHANNEL_UNBRIDGE", "CHANNEL_HANGUP",
                  "CHANNEL_HANGUP_COMPLETE", "CHANNEL_DESTROY")
CALLCENTER_SUBCLASS = "callcenter::info"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_Value = Annotated[str, msgspec.Meta(max_length=200)]
_Field = _Value | None


class EslMappingError(ValueError):
    """An event that is well framed but cannot be mapped (a header missing or out of range)."""


class ChannelFields(msgspec.Struct, frozen=True, kw_only=True):
    """The headers the mapping reads, validated at the edge (strings of at most 200 characters; any may be missing)."""

    event_name: _Field = msgspec.field(default=None, name="Event-Name")
    event_subclass: _Field = msgspec.field(default=None, name="Event-Subclass")
    timestamp: _Field = msgspec.field(default=None, name="Event-Date-Timestamp")
    unique_id: _Field = msgspec.field(default=None, name="Unique-ID")
    call_uuid: _Field = msgspec.field(default=None, name="variable_call_uuid")
    other_type: _Field = msgspec.field(default=None, name="Other-Type")
    other_leg: _Field = msgspec.field(default=None, name="Other-Leg-Unique-ID")
    bridge_b: _Field = msgspec.field(default=None, name="Bridge-B-Unique-ID")
    caller_number: _Field = msgspec.field(default=None, name="Caller-Caller-ID-Number")
    destination: _Field = msgspec.field(default=None, name="Caller-Destination-Number")
    hide_number: _Field = msgspec.field(default=None, name="Caller-Privacy-Hide-Number")
    answered_time: _Field = msgspec.field(default=None, name="Caller-Channel-Answered-Time")
    hangup_cause: _Field = msgspec.field(default=None, name="Hangup-Cause")
    q850: _Field = msgspec.field(default=None, name="variable_hangup_cause_q850")
    cc_side: _Field = msgspec.field(default=None, name="variable_cc_side")
    cc_member_session: _Field = msgspec.field(default=None, name="variable_cc_member_session_uuid")
    cc_queue: _Field = msgspec.field(default=None, name="variable_cc_queue")
    cc_agent: _Field = msgspec.field(default=None, name="variable_cc_agent")
    cc_action: _Field = msgspec.field(default=None, name="CC-Action")
    cc_event_queue: _Field = msgspec.field(default=None, name="CC-Queue")
    cc_event_agent: _Field = msgspec.field(default=None, name="CC-Agent")
    cc_agent_uuid: _Field = msgspec.field(default=None, name="CC-Agent-UUID")
    cc_member_uuid: _Field = msgspec.field(default=None, name="CC-Member-UUID")
    cc_member_session_uuid: _Field = msgspec.field(default=None, name="CC-Member-Session-UUID")
    cc_cause: _Field = msgspec.field(default=None, name="CC-Cause")
    cc_cancel_reason: _Field = msgspec.field(default=None, name="CC-Cancel-Reason")


_FIELD_NAMES = tuple(field.encode_name for field in msgspec.structs.fields(ChannelFields))
_PICKER = HeaderPicker(_FIELD_NAMES)

_JSON_FIELDS = msgspec.json.Decoder(ChannelFields)
_JSON_LOOSE = msgspec.json.Decoder(dict[str, str | list[str]])


def channel_fields(frame: EslFrame) -> ChannelFields:
    """The headers of an event frame (plain or JSON) that the mapping reads; ``EslMappingError`` when they are not valid."""
    try:
        if frame.content_type == EVENT_JSON:
            try:
                return _JSON_FIELDS.decode(frame.body)
            except msgspec.ValidationError:
                # A header FreeSWITCH sent as an array: its first value, like a repeated plain header.
                loose = _JSON_LOOSE.decode(frame.body)
                return msgspec.convert({key: value if isinstance(value, str) else (value[0] if value else None)
                                        for key, value in loose.items() if key in _FIELD_SET}, ChannelFields)
        if frame.content_type == EVENT_PLAIN:
            return msgspec.convert(_PICKER.pick(frame.body), ChannelFields)
    except (msgspec.DecodeError, msgspec.ValidationError, EslEventError) as error:
        raise EslMappingError(str(error)) from None
    raise EslMappingError(f"{frame.content_type!r} is not an event")


_FIELD_SET = frozenset(_FIELD_NAMES)


class ChannelRow(msgspec.Struct, frozen=True, kw_only=True):
    """One row of ``show channels as json`` (the ``channels`` table of ``switch_core_sqldb.c``; every value a string)."""

    uuid: str
    direction: str = ""
    created_epoch: str = "0"
    cid_num: str = ""
    dest: str = ""
    callstate: str = ""
    call_uuid: str = ""


class ChannelList(msgspec.Struct, frozen=True):
    """``{"row_count": N, "rows": [...]}``; with no channel FreeSWITCH prints ``{"row_count": 0}``."""

    row_count: int = 0
    rows: list[ChannelRow] = []


_CHANNEL_LIST = msgspec.json.Decoder(ChannelList)

_NO_ANSWER = frozenset({"NO_ANSWER", "NO_USER_RESPONSE", "ALLOTTED_TIMEOUT", "NO_PICKUP", "RECOVERY_ON_TIMER_EXPIRE",
                        "PROGRESS_TIMEOUT"})
_BUSY = frozenset({"USER_BUSY", "CALL_REJECTED"})
"""A destination that declines (SIP 603, ``CALL_REJECTED``) is as busy as one that says so (486), for routing's diverts."""
_CANCEL = frozenset({"ORIGINATOR_CANCEL", "LOSE_RACE", "PICKED_OFF"})
_UNAVAILABLE = frozenset({"USER_NOT_REGISTERED", "SUBSCRIBER_ABSENT", "DESTINATION_OUT_OF_ORDER", "NO_ROUTE_DESTINATION",
                          "UNALLOCATED_NUMBER", "NETWORK_OUT_OF_ORDER", "GATEWAY_DOWN", "INVALID_GATEWAY", "INVALID_PROFILE"})
_UP = frozenset({"ACTIVE", "HELD"})


def leg_status(hangup_cause: str | None, *, answered: bool) -> LegStatus:
    """How a leg ended, from FreeSWITCH's ``Hangup-Cause`` (``switch_channel_cause2str``) and whether it was answered."""
    if answered:
        return "answered"
    cause = (hangup_cause or "").upper()
    if cause in _NO_ANSWER:
        return "no_answer"
    if cause in _BUSY:
        return "busy"
    if cause in _CANCEL:
        return "cancel"
    if cause in _UNAVAILABLE:
        return "unavailable"
    return "failed"


def _instant_us(raw: str | None) -> datetime:
    """``Event-Date-Timestamp``: microseconds since the epoch."""
    if raw is None or not raw.isdigit():
        raise EslMappingError(f"Event-Date-Timestamp {raw!r} is not microseconds since the epoch")
    try:
        return _EPOCH + timedelta(microseconds=int(raw))
    except OverflowError:
        raise EslMappingError(f"Event-Date-Timestamp {raw!r} is out of range") from None


class _Leg:
    __slots__ = ("answered", "call_id", "ended", "endpoint", "is_first", "queue", "seen")

    def __init__(self, call_id: str, *, is_first: bool, endpoint: str = "", queue: str | None = None, seen: int = 0) -> None:
        self.call_id = call_id
        self.is_first = is_first
        self.endpoint = endpoint
        self.queue = queue
        self.answered = False
        self.ended = False
        self.seen = seen
        """The connection in which the leg was last heard of."""


class EslCallMapper:
    """Maps event frames of one FreeSWITCH (its name is ``pbx``), keeping what correlates legs between events.

    The state is bounded: a leg is forgotten at CHANNEL_DESTROY (or when ``max_legs`` newer
    legs push it out), and the ids of the last ``max_gone`` forgotten legs are kept so that a
    late event or a snapshot does not bring them back.
    """

    def __init__(self, *, pbx: str, tenant: str | None = None, max_legs: int = 100_000, max_gone: int = 20_000) -> None:
        self.pbx = pbx
        self.tenant = tenant
        self._legs: OrderedDict[str, _Leg] = OrderedDict()
        self._gone: OrderedDict[str, None] = OrderedDict()
        self._max_legs = max_legs
        self._max_gone = max_gone
        self.last_at: datetime | None = None
        """The PBX's time of the newest event mapped: the instant given to calls found ended by a snapshot."""
        self._connection = 0
        self._queue_keys: OrderedDict[str, None] = OrderedDict()
        """Keys already reported (a bounded memory): FreeSWITCH may report one fact twice (mod_callcenter repeats, an agent's
        answer arrives as CHANNEL_ANSWER and as bridge-agent-start), and a key is reported once."""

    def _once(self, events: list[CallEvent]) -> list[CallEvent]:
        """``events`` without those whose key was reported before (the newest ``max_gone`` keys are remembered)."""
        fresh = [event for event in events if event.key not in self._queue_keys]
        for event in fresh:
            self._queue_keys[event.key] = None
            if len(self._queue_keys) > self._max_gone:
                self._queue_keys.popitem(last=False)
        return fresh

    def connection_started(self) -> None:
        """A new connection (before its subscription): legs heard of from now on are alive whatever its snapshot says.

        An event subscribed to before the snapshot was taken may reach us before the snapshot
        does (a channel created meanwhile), and FreeSWITCH writes queued events and the api
        response from different threads; so only legs not heard of on this connection are
        taken to have ended when the snapshot does not list them.
        """
        self._connection += 1

    @property
    def legs(self) -> int:
        return len(self._legs)

    def map_frame(self, frame: EslFrame) -> list[CallEvent] | None:
        """The call events of one event frame; ``None`` for an event callroute does not map (counted as unknown)."""
        events = self.map_fields(channel_fields(frame))
        return None if events is None else self._once(events)

    def map_fields(self, f: ChannelFields) -> list[CallEvent] | None:
        name = f.event_name
        if name == "CUSTOM":
            if f.event_subclass != CALLCENTER_SUBCLASS:
                return None
            at = self._at(f)
            return self._callcenter(f, at)
        if name not in _CHANNEL_SET:
            return None
        at = self._at(f)
        uid = f.unique_id
        if not uid:
            raise EslMappingError(f"{name} without Unique-ID")
        if uid in self._gone:
            return []
        out: list[CallEvent] = []
        leg = self._legs.get(uid)
        if leg is None:
            leg = self._learn(uid, f, at, out)
        leg.seen = self._connection
        if name == "CHANNEL_ANSWER":
            if not leg.is_first:
                self._answered(uid, leg, at, out)
        elif name == "CHANNEL_BRIDGE":
            other = f.bridge_b or f.other_leg
            if leg.is_first and other and other != uid:
                bridged = self._legs.get(other)
                if bridged is not None and not bridged.is_first:
                    self._answered(other, bridged, at, out)
            elif not leg.is_first:
                self._answered(uid, leg, at, out)
        elif name in ("CHANNEL_HANGUP", "CHANNEL_HANGUP_COMPLETE"):
            self._ended(uid, leg, f, at, out)
        elif name == "CHANNEL_DESTROY":
            self._ended(uid, leg, f, at, out)
            self._forget(uid)
        return out

    def map_snapshot(self, body: bytes) -> tuple[list[CallEvent], int]:
        """``api show channels as json`` after a (re)connect: the calls in progress, reported again (with the keys they had).

        A leg this mapper knew, not heard of on this connection (``connection_started``), that is
        no longer listed ended while the connection was down:
        the call is ended (an answered leg as answered, a ringing one as cancelled) at the
        newest PBX instant heard. Returns the events and the number of rows that could not be
        used (values over the limits). Raises ``EslMappingError`` when the body is not the
        JSON that FreeSWITCH prints (``-ERR ...``).
        """
        try:
            listing = _CHANNEL_LIST.decode(body)
        except (msgspec.DecodeError, msgspec.ValidationError) as error:
            raise EslMappingError(f"show channels as json: {error}; got {body[:80]!r}") from None
        out: list[CallEvent] = []
        rejected = 0
        listed: set[str] = set()
        for row in listing.rows:
            listed.add(row.uuid)
            try:
                self._snapshot_row(row, out)
            except (EslMappingError, msgspec.ValidationError):
                rejected += 1
        if self.last_at is not None:
            for uid, leg in list(self._legs.items()):
                if uid not in listed and leg.seen < self._connection:
                    self._ended_unseen(uid, leg, self.last_at, out)
                    self._forget(uid)
        return out, rejected

    # -- state ---------------------------------------------------------------------------------------------------------

    def _at(self, f: ChannelFields) -> datetime:
        at = _instant_us(f.timestamp)
        if self.last_at is None or at > self.last_at:
            self.last_at = at
        return at

    def _remember(self, uid: str, leg: _Leg) -> _Leg:
        leg.seen = self._connection
        self._legs[uid] = leg
        if len(self._legs) > self._max_legs:
            self._legs.popitem(last=False)
        return leg

    def _forget(self, uid: str) -> None:
        self._legs.pop(uid, None)
        self._gone[uid] = None
        if len(self._gone) > self._max_gone:
            self._gone.popitem(last=False)

    def _call_of(self, uid: str) -> str:
        leg = self._legs.get(uid)
        return leg.call_id if leg is not None else uid

    def _learn(self, uid: str, f: ChannelFields, at: datetime, out: list[CallEvent]) -> _Leg:
        """A leg first heard of: the first leg of a call starts it, an originated leg rings (whatever event told us)."""
        originator: str | None = None
        queue: str | None = None
        endpoint = f.destination or ""
        if f.cc_side == "agent" and f.cc_member_session:
            originator, queue, endpoint = f.cc_member_session, f.cc_queue, f.cc_agent or endpoint
        elif f.other_type == "originator" and f.other_leg and f.other_leg != uid:
            originator = f.other_leg
        elif f.call_uuid and f.call_uuid != uid and f.call_uuid in self._legs:
            originator = f.call_uuid
        if originator is None:
            call_id = f.call_uuid or uid
            leg = self._remember(uid, _Leg(call_id, is_first=True, endpoint=endpoint))
            caller = f.caller_number
            presentation = "restricted" if (f.hide_number or "").lower() == "true" else None
            out.append(CallStarted(pbx=self.pbx, at=at, key=f"esl:{uid}:started", call_id=call_id, dialled=endpoint,
                                   caller=caller, presentation=presentation, tenant=self.tenant))
            return leg
        leg = self._remember(uid, _Leg(self._call_of(originator), is_first=False, endpoint=endpoint, queue=queue))
        out.append(LegRinging(pbx=self.pbx, at=at, key=f"esl:{uid}:ringing", call_id=leg.call_id, leg=uid, endpoint=endpoint,
                              queue=queue))
        if f.answered_time not in (None, "", "0") and f.event_name != "CHANNEL_ANSWER":
            # Heard of first after its answer (a reconnect): the answer is reported too, at its own instant.
            self._answered(uid, leg, _instant_us(f.answered_time), out)
        return leg

    def _answered(self, uid: str, leg: _Leg, at: datetime, out: list[CallEvent]) -> None:
        if leg.answered:
            return
        leg.answered = True
        out.append(LegAnswered(pbx=self.pbx, at=at, key=f"esl:{uid}:answered", call_id=leg.call_id, leg=uid, endpoint=leg.endpoint,
                               answered_by="agent" if leg.queue is not None else "extension", queue=leg.queue))

    def _ended(self, uid: str, leg: _Leg, f: ChannelFields, at: datetime, out: list[CallEvent]) -> None:
        if leg.ended:
            return
        leg.ended = True
        if leg.is_first:
            cause = int(f.q850) if f.q850 and f.q850.isdigit() else None
            out.append(CallEnded(pbx=self.pbx, at=at, key=f"esl:{uid}:call_ended", call_id=leg.call_id, cause=cause,
                                 cause_text=f.hangup_cause))
            return
        answered = leg.answered or f.answered_time not in (None, "", "0")
        out.append(LegEnded(pbx=self.pbx, at=at, key=f"esl:{uid}:ended", call_id=leg.call_id, leg=uid,
                            status=leg_status(f.hangup_cause, answered=answered), endpoint=leg.endpoint or None, queue=leg.queue))

    def _ended_unseen(self, uid: str, leg: _Leg, at: datetime, out: list[CallEvent]) -> None:
        if leg.ended:
            return
        leg.ended = True
        if leg.is_first:
            out.append(CallEnded(pbx=self.pbx, at=at, key=f"esl:{uid}:call_ended", call_id=leg.call_id,
                                 cause_text="ended while disconnected"))
        else:
            out.append(LegEnded(pbx=self.pbx, at=at, key=f"esl:{uid}:ended", call_id=leg.call_id, leg=uid,
                                status="answered" if leg.answered else "cancel", endpoint=leg.endpoint or None, queue=leg.queue))

    def _snapshot_row(self, row: ChannelRow, out: list[CallEvent]) -> None:
        uid = row.uuid
        if not uid or uid in self._gone:
            return
        leg = self._legs.get(uid)
        if leg is not None:
            if not leg.is_first and row.callstate in _UP and not leg.answered:
                self._answered(uid, leg, self.last_at or _seconds(row.created_epoch), out)
            return
        at = _seconds(row.created_epoch)
        linked = row.call_uuid and row.call_uuid != uid
        if row.direction == "outbound" and not linked:
            return  # a ringing originated leg cannot be tied to its call from this row; its next event will
        fields = ChannelFields(event_name="CHANNEL_CREATE", unique_id=uid, destination=row.dest or None,
                               caller_number=row.cid_num or None,
                               other_type="originator" if row.direction == "outbound" else None,
                               other_leg=row.call_uuid if row.direction == "outbound" else None,
                               call_uuid=None if row.direction == "outbound" else (row.call_uuid or None))
        msgspec.convert(msgspec.to_builtins(fields), ChannelFields)  # the row's values are held to the same limits
        leg = self._learn(uid, fields, at, out)
        if not leg.is_first and row.callstate in _UP:
            self._answered(uid, leg, at, out)

    def _callcenter(self, f: ChannelFields, at: datetime) -> list[CallEvent]:
        action = f.cc_action
        queue = f.cc_event_queue
        session = f.cc_member_session_uuid
        if not queue or not session:
            return []
        call_id = self._call_of(session)
        member = f.cc_member_uuid or session
        if action in ("member-queue-start", "member-queue-resume"):
            return ([QueueJoined(pbx=self.pbx, at=at, key=f"esl:{member}:queue:{queue}:{action[13:]}", call_id=call_id,
                                           queue=queue)])
        if action == "member-queue-end":
            abandoned = f.cc_cause == "Cancel" and f.cc_cancel_reason in (None, "", "NONE")
            return ([QueueLeft(pbx=self.pbx, at=at, key=f"esl:{member}:queue:{queue}:left", call_id=call_id, queue=queue,
                                         abandoned=abandoned)])
        if action == "bridge-agent-start" and f.cc_agent_uuid:
            agent_leg = f.cc_agent_uuid
            leg = self._legs.get(agent_leg)
            if leg is None:
                leg = self._remember(agent_leg, _Leg(call_id, is_first=False, endpoint=f.cc_event_agent or "", queue=queue))
            out: list[CallEvent] = []
            self._answered(agent_leg, leg, at, out)
            return out
        return []


_CHANNEL_SET = frozenset(CHANNEL_EVENTS)


def _seconds(raw: str) -> datetime:
    if not raw.isdigit():
        raise EslMappingError(f"created_epoch {raw!r} is not seconds since the epoch")
    return _EPOCH + timedelta(seconds=int(raw))


__all__ = ["CALLCENTER_SUBCLASS", "CHANNEL_EVENTS", "ChannelFields", "ChannelList", "ChannelRow", "EslCallMapper", "EslMappingError",
           "channel_fields", "leg_status"]
