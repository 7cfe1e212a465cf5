"""Asterisk AMI events → callroute's call events (``core.calls.events``), with the state it takes to correlate them.

Asterisk reports channels, not calls. Every channel has a ``Uniqueid``; the channels of one call
share a ``Linkedid`` (the ``Uniqueid`` of the oldest channel: the caller's, for a call that came
in), which is callroute's ``call_id``. A destination that rings is a *leg*: the channel a
``Dial``/``Queue`` created (``DialBegin``, ``AgentCalled``), whose ``Uniqueid`` names the leg.

A ``Local`` channel is a pair of halves (``Local/201@ctx-0000001;1`` and ``…;2``): the ``;1`` half is
what the caller (or the queue) dials, the ``;2`` half runs dialplan, which usually dials the phone
itself (``PJSIP/201-…``). The pair and the phone it dials for the same endpoint are one leg, named
by the ``;1`` half (what the queue's ``AgentCalled``/``AgentConnect`` name): the leg rings once,
is answered once and ends once, whichever of its channels Asterisk reports it through first. A
``Local`` leg that dials other endpoints (a ring group behind a Local channel) has those as legs of
their own.

Each event's ``key`` is deterministic (``ami:<id>:<kind>:<qualifier>``, the id a ``Uniqueid`` or
``Linkedid``), so that what a snapshot after a reconnect reports again carries the key it had when
it was first heard and the sink stores it once: the same key whichever event (``DialEnd``,
``Newstate``, ``AgentConnect``, a ``CoreShowChannel`` line) reported it, and the first one wins.
The mapper also drops a key it already gave for a call in progress. Endpoint and agent states
are values, not happenings: they carry no key, and the mapper reports only a change.

Snapshots: the client calls :meth:`AmiCallMapper.begin_snapshot` before ``CoreShowChannels``;
the ``CoreShowChannel`` lines are kept until ``CoreShowChannelsComplete`` and then read call by
call (the lines come in no useful order); a channel the mapper knew before the snapshot that
neither the snapshot nor a live event has seen since hung up while the client was away, and its
leg and call end then. ``QueueEntry``/``QueueMember`` lines (``QueueStatus``) and
``DeviceStateChange`` lines (``DeviceStateList``) map like the live events they repeat.

Input is validated at the edge: each mapped event's frame is converted to a msgspec Struct of the
fields the mapping reads; a frame that lacks one (or carries an id longer than Asterisk writes)
is counted in ``invalid`` and described in ``problems``, never raised. Pure: no I/O, no clock
(``now`` is passed in, for events without a ``Timestamp``).
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import msgspec

from adapters.pbx.ami import AmiFrame, wanted
from core.calls.events import (
    AgentStateChanged,
    AnsweredBy,
    CallEnded,
    CallEvent,
    CallStarted,
    EndpointPresence,
    EndpointStateChanged,
    LegAnswered,
    LegEnded,
    LegRinging,
    LegStatus,
    QueueJoined,
    QueueLeft,
    VoicemailReached,
)

MAX_TEXT = 200
"""``core.calls.events.Text``: longer values are cut to fit (keys are shortened with a digest)."""

Id = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
"""A ``Uniqueid``/``Linkedid``: ``<epoch>.<sequence>``, with the system name before it on clustered servers."""


# ---------------------------------------------------------------------------------------------------------------------
# What the mapping reads from each frame (field names as Asterisk writes them).


class _In(msgspec.Struct, kw_only=True):
    Timestamp: str = ""
    """Present when ``timestampevents = yes`` in ``manager.conf``: seconds since the epoch, with microseconds."""


class _ChannelIn(_In, kw_only=True):
    """The channel an event is about (every channel event carries its snapshot: ``ast_manager_build_channel_state_string``).

    Only what the mapping reads is looked for in a frame: fewer keys, less time per frame.
    """

    Channel: str = ""
    Uniqueid: Id
    Linkedid: Id


class _Newchannel(_ChannelIn, kw_only=True):
    CallerIDNum: str = ""
    Exten: str = ""


class _Newstate(_ChannelIn, kw_only=True):
    ChannelState: str = ""


class _Newexten(_ChannelIn, kw_only=True):
    Exten: str = ""
    Application: str = ""
    AppData: str = ""


class _Hangup(_ChannelIn, kw_only=True):
    Cause: str = ""
    cause_txt: str = msgspec.field(name="Cause-txt", default="")


class _Dest(_ChannelIn, kw_only=True):
    """The caller's channel, then the destination's, its fields prefixed ``Dest`` (dial and agent events)."""

    DestChannel: str = ""
    DestUniqueid: Id
    DestLinkedid: str = ""


class _Dial(_Dest, kw_only=True):
    """``DialBegin``/``DialState``/``DialEnd``."""

    DialString: str = ""
    DialStatus: str = ""


class _Queue(_ChannelIn, kw_only=True):
    """``QueueCallerJoin``/``Leave``/``Abandon``."""

    Queue: str
    Position: str = ""


class _Agent(_Dest, kw_only=True):
    """``AgentCalled``/``AgentConnect``/``AgentRingNoAnswer``/``AgentComplete``: caller, agent's channel, queue, member."""

    Queue: str = ""
    Interface: str = ""


class _DeviceState(_In, kw_only=True):
    Device: str
    State: str


class _ExtensionStatus(_In, kw_only=True):
    Exten: str
    Status: str = ""
    StatusText: str = ""


class _QueueMember(_In, kw_only=True):
    """``QueueMemberStatus``/``Added``/``Removed``/``Pause``."""

    Queue: str
    Interface: str = ""
    MemberName: str = ""
    Paused: str = "0"


class _QueueMemberLine(_In, kw_only=True):
    Queue: str
    Location: str = ""
    Name: str = ""
    Paused: str = "0"


class _QueueEntry(_In, kw_only=True):
    Queue: str
    Uniqueid: Id
    Position: str = ""


class _CoreShowChannel(_ChannelIn, kw_only=True):
    ChannelState: str = ""
    CallerIDNum: str = ""
    Exten: str = ""
    Application: str = ""
    ApplicationData: str = ""
    Duration: str = ""


# ---------------------------------------------------------------------------------------------------------------------
# Vocabulary.

DIAL_STATUS: dict[str, LegStatus] = {
    "NOANSWER": "no_answer",
    "CANCEL": "cancel",
    "BUSY": "busy",
    "CHANUNAVAIL": "unavailable",
    "CONGESTION": "failed",
    "ABORT": "cancel",
    "DONTCALL": "failed",
    "TORTURE": "failed",
    "INVALIDARGS": "failed",
}
"""``DialStatus`` of a destination that did not answer (``ANSWER`` is an answer; ``RINGING`` & co. are no end)."""

DEVICE_STATE: dict[str, EndpointPresence] = {
    "NOT_INUSE": "idle",
    "INUSE": "busy",
    "BUSY": "busy",
    "ONHOLD": "busy",
    "RINGING": "ringing",
    "RINGINUSE": "ringing",
    "UNAVAILABLE": "unavailable",
    "INVALID": "unavailable",
    "UNKNOWN": "unavailable",
}
"""``DeviceStateChange`` ``State`` (``main/devicestate.c``) → presence."""

EXTENSION_STATE: dict[str, EndpointPresence] = {
    "idle": "idle",
    "inuse": "busy",
    "busy": "busy",
    "unavailable": "unavailable",
    "ringing": "ringing",
    "inuse&ringing": "ringing",
    "hold": "busy",
    "inuse&hold": "busy",
}
"""``ExtensionStatus`` ``StatusText`` (``main/extension_state.c``) → presence."""

_EXTENSION_CODE: dict[int, EndpointPresence] = {0: "idle", 1: "busy", 2: "busy", 4: "unavailable", 8: "ringing", 9: "ringing",
                                                16: "busy", 17: "busy"}

DIAL_APPLICATIONS = frozenset({"AppDial", "AppQueue", "AppDial2"})
"""The application Asterisk names on a channel it dialled (``app_dial``, ``app_queue``, ``main/dial.c``)."""

IGNORED_EVENTS = frozenset({
    "hanguprequest", "softhanguprequest", "bridgeleave", "bridgecreate", "bridgedestroy", "queueparams",
    "coreshowchannelscomplete", "queuestatuscomplete", "devicestatelistcomplete", "queuememberpenalty",
    "queuememberringinuse", "fullybooted", "shutdown",
})
"""Events the mapping reads for nothing (or only at their list's end): known, so not counted as unknown."""


def _cause_status(cause: int | None) -> LegStatus:
    """A hangup cause as a dial status, as Asterisk derives one (``ast_hangup_cause_to_dial_status``, ``main/dial.c``)."""
    if cause == 17:
        return "busy"
    if cause == 34:
        return "failed"
    if cause in (3, 20):
        return "unavailable"
    return "no_answer"


def _int(text: str) -> int | None:
    try:
        return int(text.strip())
    except ValueError:
        return None


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    return value if len(value) <= MAX_TEXT else value[:MAX_TEXT]


def _key(ident: str, kind: str, qualifier: str = "") -> str:
    key = f"ami:{ident}:{kind}:{qualifier}"
    if len(key) <= MAX_TEXT:
        return key
    return key[:MAX_TEXT - 17] + "#" + hashlib.sha256(key.encode()).hexdigest()[:16]


def _uid_order(uid: str) -> tuple[int, int, int, str]:
    """``Uniqueid`` order: creation order for ``<epoch>.<sequence>``; others after, by text."""
    seconds, _, sequence = uid.rpartition("-")[2].partition(".")
    try:
        return (0, int(seconds), int(sequence or 0), uid)
    except ValueError:
        return (1, 0, 0, uid)


_CHANNEL_SUFFIX = re.compile(r"-[0-9a-fA-F]+$")


@dataclass(frozen=True, slots=True)
class ChannelName:
    """What a channel's name says: ``PJSIP/201-0000001a`` → technology ``PJSIP``, endpoint ``201``."""

    tech: str
    endpoint: str
    half: int = 0
    """1 or 2 for the halves of a ``Local`` channel."""
    base: str = ""
    """A ``Local`` channel's name without ``;1``/``;2``: what its two halves share."""

    @classmethod
    def parse(cls, name: str) -> ChannelName:
        name = name.strip()
        if name.endswith(">") and "<" in name:  # ``…<ZOMBIE>``, ``…<MASQ>`` after a masquerade
            name = name[:name.rfind("<")]
        tech, slash, rest = name.partition("/")
        if not slash:
            return cls("", name)
        if tech.lower() == "local":
            base, _, half = rest.rpartition(";")
            if not base:
                base, half = rest, ""
            exten = base.partition("@")[0]
            return cls("Local", exten, int(half) if half in ("1", "2") else 0, f"{tech}/{base}")
        return cls(tech, _CHANNEL_SUFFIX.sub("", rest) or rest)


def interface_endpoint(interface: str) -> str:
    """A device or queue member interface as an endpoint: ``PJSIP/201`` → ``201``, ``Local/201@from-queue/n`` → ``201``."""
    tech, slash, rest = interface.strip().partition("/")
    if not slash:
        return interface.strip()
    if tech.lower() == "local":
        return rest.partition("@")[0]
    return rest.partition("/")[0] or rest


def dialstring_endpoint(dialstring: str) -> str | None:
    """Who a ``DialString`` dials: ``201`` → ``201``, ``+4670…@trunk`` → ``+4670…``, ``trunk/sip:+4670…@host`` → ``+4670…``."""
    text = dialstring.strip()
    if not text:
        return None
    first = text.split("/", 1)
    if len(first) == 2 and "@" not in first[0]:
        uri = first[1]
        if uri.lower().startswith(("sip:", "sips:", "tel:")):
            user = uri.partition(":")[2].partition("@")[0].partition(";")[0]
            return user or first[0]
        return first[0] or None
    return text.partition("@")[0].partition("/")[0] or None


def _mailbox(appdata: str) -> str:
    """``VoiceMail(201@default&202,u)`` → ``201``: the first box, without its context."""
    return appdata.partition(",")[0].partition("&")[0].partition("@")[0].strip()


def _duration(text: str) -> timedelta | None:
    """``CoreShowChannel`` ``Duration``: ``HH:MM:SS`` since the channel was created."""
    parts = text.strip().split(":")
    if len(parts) != 3:
        return None
    try:
        hours, minutes, seconds = (int(p) for p in parts)
    except ValueError:
        return None
    if min(hours, minutes, seconds) < 0:
        return None
    return timedelta(hours=hours, minutes=minutes, seconds=seconds)


def _instant(stamp: str, now: datetime) -> datetime:
    if stamp:
        try:
            value = float(stamp)
            if 0 < value < 32503680000:  # before the year 3000
                return datetime.fromtimestamp(value, UTC)
        except (ValueError, OverflowError, OSError):
            pass
    return now


# ---------------------------------------------------------------------------------------------------------------------
# Correlation state.


@dataclass(slots=True)
class _Chan:
    uid: str
    name: ChannelName
    linkedid: str
    leg: str | None = None
    """The leg this channel is (part of), by the leg's ``Uniqueid``."""
    queue: str | None = None
    """The queue this (caller's) channel waits in."""


@dataclass(slots=True)
class _Leg:
    uid: str
    call: str
    endpoint: str
    queue: str | None = None
    by: AnsweredBy = "extension"
    answered: bool = False
    ended: bool = False
    members: set[str] = field(default_factory=set)


@dataclass(slots=True)
class _Call:
    linkedid: str
    channels: set[str] = field(default_factory=set)
    legs: set[str] = field(default_factory=set)
    emitted: set[str] = field(default_factory=set)
    cause: int | None = None
    cause_text: str | None = None
    origin_gone: bool = False


@dataclass(slots=True)
class _Snapshot:
    known: set[str]
    touched: set[str] = field(default_factory=set)
    lines: list[_CoreShowChannel] = field(default_factory=list)


class _Recent:
    """A bounded set of recently seen ids (oldest forgotten first)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._ids: OrderedDict[str, None] = OrderedDict()

    def add(self, ident: str) -> None:
        self._ids[ident] = None
        self._ids.move_to_end(ident)
        if len(self._ids) > self._size:
            self._ids.popitem(last=False)

    def __contains__(self, ident: object) -> bool:
        return ident in self._ids

    def __len__(self) -> int:
        return len(self._ids)


_Method = Callable[[Any, datetime, list[CallEvent]], None]


@dataclass(frozen=True, slots=True)
class _Handler:
    shape: type[_In]
    method: _Method
    fields: tuple[tuple[str, str, int], ...]
    hint: str | None = None
    """A text the frame must hold to be worth reading (``Newexten``: only ``VoiceMail`` is mapped)."""


def _handler(shape: type[_In], method: _Method, hint: str | None = None) -> _Handler:
    return _Handler(shape, method, wanted(f.encode_name for f in msgspec.structs.fields(shape)), hint)


class AmiCallMapper:
    """Maps AMI event frames of one Asterisk server to call events; keeps what it needs to correlate them.

    ``pbx`` names the server in every event; ``tenant``, when known, goes into ``CallStarted``.
    Counters: ``unknown`` (events it does not map), ``invalid`` (mapped events lacking what the
    mapping reads), ``late`` (events about a channel that already hung up); ``problems`` describes
    each invalid frame until drained.
    """

    def __init__(self, pbx: str, *, tenant: str | None = None, memory: int = 4096) -> None:
        self.pbx = pbx
        self.tenant = tenant
        self.unknown = 0
        self.invalid = 0
        self.late = 0
        self.problems: list[tuple[str, str]] = []
        self._chans: dict[str, _Chan] = {}
        self._calls: dict[str, _Call] = {}
        self._legs: dict[str, _Leg] = {}
        self._locals: dict[str, dict[int, str]] = {}
        self._presence: dict[str, EndpointPresence] = {}
        self._agents: dict[tuple[str, str], tuple[bool, bool]] = {}
        self._gone = _Recent(memory)
        self._snapshot: _Snapshot | None = None
        self._emptied: list[str] = []
        handlers: dict[str, tuple[type[_In], _Method] | tuple[type[_In], _Method, str]] = {
            "newchannel": (_Newchannel, self._newchannel),
            "newstate": (_Newstate, self._newstate),
            "newexten": (_Newexten, self._newexten, "ail"),
            "dialbegin": (_Dial, self._dial_begin),
            "dialstate": (_Dial, self._dial_state),
            "dialend": (_Dial, self._dial_end),
            "bridgeenter": (_ChannelIn, self._bridge_enter),
            "hangup": (_Hangup, self._hangup),
            "queuecallerjoin": (_Queue, self._queue_join),
            "queuecallerleave": (_Queue, self._queue_leave),
            "queuecallerabandon": (_Queue, self._queue_abandon),
            "agentcalled": (_Agent, self._agent_called),
            "agentconnect": (_Agent, self._agent_connect),
            "agentringnoanswer": (_Agent, self._agent_noanswer),
            "agentcomplete": (_Agent, self._agent_complete),
            "devicestatechange": (_DeviceState, self._device_state),
            "extensionstatus": (_ExtensionStatus, self._extension_status),
            "queuememberstatus": (_QueueMember, self._member_status),
            "queuememberadded": (_QueueMember, self._member_status),
            "queuememberpause": (_QueueMember, self._member_status),
            "queuememberpaused": (_QueueMember, self._member_status),
            "queuememberremoved": (_QueueMember, self._member_removed),
            "queuemember": (_QueueMemberLine, self._member_line),
            "queueentry": (_QueueEntry, self._queue_entry),
            "coreshowchannel": (_CoreShowChannel, self._core_show_channel),
            "coreshowchannelscomplete": (_In, self._channels_complete),
        }
        self._handlers = {name: _handler(*spec) for name, spec in handlers.items()}

    # -- public ----------------------------------------------------------------------------------------------------

    def map(self, frame: AmiFrame, now: datetime) -> list[CallEvent]:
        """The call events one frame says (often none). ``now``: the instant for a frame without ``Timestamp``."""
        if frame.kind != "event":
            return []
        name = frame.name.lower()
        handler = self._handlers.get(name)
        if handler is None:
            if name not in IGNORED_EVENTS:
                self.unknown += 1
            return []
        if handler.hint is not None and frame._text is not None and handler.hint not in frame._text:
            return []
        try:
            data = msgspec.convert(frame.fields(handler.fields), handler.shape, strict=False)
        except msgspec.ValidationError as exc:
            self.invalid += 1
            self.problems.append((frame.name, str(exc)))
            return []
        out: list[CallEvent] = []
        at = _instant(data.Timestamp, now)
        handler.method(data, at, out)
        while self._emptied:
            call = self._calls.get(self._emptied.pop())
            if call is not None and not call.channels:
                self._end_call(call, at, out)
        return out

    def begin_snapshot(self) -> None:
        """A ``CoreShowChannels`` listing is about to be asked for: what is known now is checked against it."""
        self._snapshot = _Snapshot(known=set(self._chans))

    def abandon_snapshot(self) -> None:
        """The listing will not come (the server refused ``CoreShowChannels``): nothing is checked against it."""
        self._snapshot = None

    @property
    def snapshot_pending(self) -> bool:
        return self._snapshot is not None

    def drain_problems(self) -> list[tuple[str, str]]:
        problems, self.problems = self.problems, []
        return problems

    @property
    def calls_in_progress(self) -> int:
        return len(self._calls)

    @property
    def channels(self) -> int:
        return len(self._chans)

    # -- correlation -----------------------------------------------------------------------------------------------

    def _emit(self, out: list[CallEvent], call: _Call | None, event: CallEvent) -> None:
        if call is not None:
            if event.key in call.emitted:
                return
            call.emitted.add(event.key)
        out.append(event)

    def _call(self, linkedid: str) -> _Call:
        call = self._calls.get(linkedid)
        if call is None:
            call = self._calls[linkedid] = _Call(linkedid)
        return call

    def _channel(self, name: str, uid: str, linkedid: str) -> _Chan | None:
        """The channel's state, created on first sight; ``None`` for a channel that already hung up."""
        if self._snapshot is not None:
            self._snapshot.touched.add(uid)
        chan = self._chans.get(uid)
        if chan is None:
            if uid in self._gone:
                self.late += 1
                return None
            chan = self._chans[uid] = _Chan(uid, ChannelName.parse(name), linkedid or uid)
            self._call(chan.linkedid).channels.add(uid)
            if chan.name.half:
                self._locals.setdefault(chan.name.base, {})[chan.name.half] = uid
                if chan.name.half == 2:
                    partner = self._chans.get(self._locals[chan.name.base].get(1, ""))
                    leg = self._legs.get(partner.leg) if partner is not None and partner.leg is not None else None
                    if leg is not None:
                        self._join(chan, leg)
        elif linkedid and linkedid != chan.linkedid:
            # Bridging gives every channel in the bridge the oldest linkedid (a transfer): the channel moves call,
            # and a call left without channels has ended (see ``map``).
            old = self._calls.get(chan.linkedid)
            chan.linkedid = linkedid
            self._call(linkedid).channels.add(uid)
            if old is not None:
                old.channels.discard(uid)
                if not old.channels:
                    self._emptied.append(old.linkedid)
        return chan

    def _chan_of(self, data: _ChannelIn) -> _Chan | None:
        return self._channel(data.Channel, data.Uniqueid, data.Linkedid)

    def _join(self, chan: _Chan, leg: _Leg) -> None:
        chan.leg = leg.uid
        leg.members.add(chan.uid)

    def _leg_of(self, chan: _Chan) -> _Leg | None:
        if chan.leg is not None:
            return self._legs.get(chan.leg)
        if chan.name.half == 2:
            partner = self._chans.get(self._locals.get(chan.name.base, {}).get(1, ""))
            if partner is not None and partner.leg is not None:
                leg = self._legs.get(partner.leg)
                if leg is not None:
                    self._join(chan, leg)
                return leg
        return None

    def _dest_leg(self, data: _Dest, at: datetime, out: list[CallEvent], *, endpoint: str | None = None,
                  queue: str | None = None) -> _Leg | None:
        """The leg a dial event's destination is: found, folded into its ``Local`` pair's leg, or new (and ringing)."""
        caller = self._chan_of(data)
        dest = self._channel(data.DestChannel, data.DestUniqueid, data.DestLinkedid or data.Linkedid)
        if dest is None:
            return None
        leg = self._leg_of(dest)
        if leg is not None:
            if queue and leg.queue is None:
                leg.queue = queue
            return leg
        by: AnsweredBy = "extension"
        name_endpoint = dest.name.endpoint
        dialled = dialstring_endpoint(data.DialString) if isinstance(data, _Dial) else None
        if endpoint is None:
            endpoint = dialled or name_endpoint
            if dest.name.tech != "Local" and dialled is not None and dialled != name_endpoint:
                by = "number"  # dialled through a trunk or peer: ``9898@peer``, ``trunk/sip:+46…``
        parent = self._leg_of(caller) if caller is not None else None
        if parent is not None and dest.name.tech != "Local" and parent.endpoint == endpoint and not parent.ended:
            self._join(dest, parent)  # the phone a Local leg rings for the same endpoint: the same leg
            return parent
        if queue is None and caller is not None:
            queue = caller.queue
        leg = _Leg(dest.uid, dest.linkedid, _text(endpoint) or "?", queue, by)
        self._legs[leg.uid] = leg
        self._call(dest.linkedid).legs.add(leg.uid)
        self._join(dest, leg)
        if dest.name.half == 1:
            partner = self._chans.get(self._locals.get(dest.name.base, {}).get(2, ""))
            if partner is not None:
                self._join(partner, leg)
        self._ringing(leg, at, out)
        return leg

    def _ringing(self, leg: _Leg, at: datetime, out: list[CallEvent]) -> None:
        if leg.ended or leg.answered:
            return
        self._emit(out, self._calls.get(leg.call), LegRinging(
            pbx=self.pbx, at=at, key=_key(leg.uid, "ringing"), call_id=leg.call, leg=leg.uid, endpoint=leg.endpoint,
            queue=_text(leg.queue)))

    def _answered(self, leg: _Leg, at: datetime, out: list[CallEvent]) -> None:
        if leg.ended or leg.answered:
            return
        leg.answered = True
        by: AnsweredBy = "voicemail" if leg.by == "voicemail" else "agent" if leg.queue else leg.by
        self._emit(out, self._calls.get(leg.call), LegAnswered(
            pbx=self.pbx, at=at, key=_key(leg.uid, "answered"), call_id=leg.call, leg=leg.uid, endpoint=leg.endpoint,
            answered_by=by, queue=_text(leg.queue)))

    def _ended(self, leg: _Leg, status: LegStatus, at: datetime, out: list[CallEvent]) -> None:
        if leg.ended:
            return
        leg.ended = True
        self._emit(out, self._calls.get(leg.call), LegEnded(
            pbx=self.pbx, at=at, key=_key(leg.uid, "leg_ended"), call_id=leg.call, leg=leg.uid,
            status="answered" if leg.answered else status, endpoint=leg.endpoint, queue=_text(leg.queue)))

    def _started(self, chan: _Chan, caller: str, dialled: str, at: datetime, out: list[CallEvent]) -> None:
        self._emit(out, self._call(chan.linkedid), CallStarted(
            pbx=self.pbx, at=at, key=_key(chan.linkedid, "started"), call_id=chan.linkedid, dialled=_text(dialled) or "",
            caller=_text(caller) or None, tenant=self.tenant))

    def _gone_channel(self, uid: str, cause: int | None, cause_text: str | None, at: datetime, out: list[CallEvent]) -> None:
        """A channel hung up: its leg ends with its last channel, its call with its last channel."""
        chan = self._chans.pop(uid, None)
        self._gone.add(uid)
        if chan is None:
            return
        leg = self._leg_of(chan)
        if leg is not None:
            leg.members.discard(uid)
            if not leg.members:
                self._ended(leg, _cause_status(cause), at, out)
        if chan.name.half:
            halves = self._locals.get(chan.name.base)
            if halves is not None:
                halves.pop(chan.name.half, None)
                if not halves:
                    del self._locals[chan.name.base]
        call = self._calls.get(chan.linkedid)
        if call is None:
            return
        call.channels.discard(uid)
        if uid == call.linkedid:
            call.cause, call.cause_text, call.origin_gone = cause, cause_text, True
        elif not call.origin_gone:
            call.cause, call.cause_text = cause, cause_text
        if not call.channels:
            self._end_call(call, at, out)

    def _end_call(self, call: _Call, at: datetime, out: list[CallEvent]) -> None:
        for leg_uid in call.legs:
            self._legs.pop(leg_uid, None)
        del self._calls[call.linkedid]
        out.append(CallEnded(pbx=self.pbx, at=at, key=_key(call.linkedid, "ended"), call_id=call.linkedid,
                             cause=call.cause, cause_text=_text(call.cause_text) or None))

    # -- channel events --------------------------------------------------------------------------------------------

    def _newchannel(self, data: _Newchannel, at: datetime, out: list[CallEvent]) -> None:
        chan = self._chan_of(data)
        if chan is not None and chan.uid == chan.linkedid:
            self._started(chan, data.CallerIDNum, data.Exten, at, out)

    def _newstate(self, data: _Newstate, at: datetime, out: list[CallEvent]) -> None:
        chan = self._chan_of(data)
        if chan is None or chan.name.half == 2:
            return  # a Local pair's ;2 half answers for its dialplan; its ;1 half says when the leg is answered
        leg = self._leg_of(chan)
        if leg is None:
            return
        if data.ChannelState == "6":
            self._answered(leg, at, out)
        elif data.ChannelState == "5":
            self._ringing(leg, at, out)

    def _newexten(self, data: _Newexten, at: datetime, out: list[CallEvent]) -> None:
        if data.Application.lower() != "voicemail":
            return
        chan = self._chan_of(data)
        if chan is None:
            return
        leg = self._leg_of(chan)
        if leg is not None:
            leg.by = "voicemail"
        mailbox = _mailbox(data.AppData) or data.Exten
        self._emit(out, self._calls.get(chan.linkedid), VoicemailReached(
            pbx=self.pbx, at=at, key=_key(chan.uid, "voicemail", mailbox), call_id=chan.linkedid, mailbox=_text(mailbox) or "?"))

    def _dial_begin(self, data: _Dial, at: datetime, out: list[CallEvent]) -> None:
        self._dest_leg(data, at, out)

    def _dial_state(self, data: _Dial, at: datetime, out: list[CallEvent]) -> None:
        leg = self._dest_leg(data, at, out)
        if leg is not None and data.DialStatus.upper() == "RINGING":
            self._ringing(leg, at, out)

    def _dial_end(self, data: _Dial, at: datetime, out: list[CallEvent]) -> None:
        leg = self._dest_leg(data, at, out)
        if leg is None:
            return
        status = data.DialStatus.upper()
        if status == "ANSWER":
            self._answered(leg, at, out)
        elif status in DIAL_STATUS:
            self._ended(leg, DIAL_STATUS[status], at, out)

    def _bridge_enter(self, data: _ChannelIn, at: datetime, out: list[CallEvent]) -> None:
        chan = self._chan_of(data)
        if chan is None or chan.name.half == 2:
            return
        leg = self._leg_of(chan)
        if leg is not None:
            self._answered(leg, at, out)

    def _hangup(self, data: _Hangup, at: datetime, out: list[CallEvent]) -> None:
        if self._snapshot is not None:
            self._snapshot.touched.add(data.Uniqueid)
        if data.Uniqueid not in self._chans:
            # Never seen alive (a listing not read yet, or connected mid-call without one): remembered as gone, so
            # that the listing does not bring it back; its call, unknown, is not ended on its behalf.
            if data.Uniqueid in self._gone:
                self.late += 1
            self._gone.add(data.Uniqueid)
            return
        self._gone_channel(data.Uniqueid, _int(data.Cause), data.cause_txt or None, at, out)

    # -- queues ----------------------------------------------------------------------------------------------------

    def _queue_join(self, data: _Queue, at: datetime, out: list[CallEvent]) -> None:
        chan = self._chan_of(data)
        if chan is None:
            return
        chan.queue = data.Queue
        self._queue_joined(chan, data.Queue, _int(data.Position), at, out)

    def _queue_joined(self, chan: _Chan, queue: str, position: int | None, at: datetime, out: list[CallEvent]) -> None:
        self._emit(out, self._calls.get(chan.linkedid), QueueJoined(
            pbx=self.pbx, at=at, key=_key(chan.uid, "queue_joined", queue), call_id=chan.linkedid, queue=_text(queue) or "?",
            position=position))

    def _queue_left(self, chan: _Chan, queue: str, abandoned: bool, at: datetime, out: list[CallEvent]) -> None:
        chan.queue = None
        self._emit(out, self._calls.get(chan.linkedid), QueueLeft(
            pbx=self.pbx, at=at, key=_key(chan.uid, "queue_left", queue), call_id=chan.linkedid, queue=_text(queue) or "?",
            abandoned=abandoned))

    def _queue_leave(self, data: _Queue, at: datetime, out: list[CallEvent]) -> None:
        chan = self._chan_of(data)
        if chan is not None:
            self._queue_left(chan, data.Queue, False, at, out)

    def _queue_abandon(self, data: _Queue, at: datetime, out: list[CallEvent]) -> None:
        chan = self._chan_of(data)
        if chan is not None:
            self._queue_left(chan, data.Queue, True, at, out)

    def _agent_leg(self, data: _Agent, at: datetime, out: list[CallEvent]) -> _Leg | None:
        endpoint = interface_endpoint(data.Interface) if data.Interface else None
        return self._dest_leg(data, at, out, endpoint=endpoint, queue=data.Queue or None)

    def _agent_called(self, data: _Agent, at: datetime, out: list[CallEvent]) -> None:
        self._agent_leg(data, at, out)

    def _agent_connect(self, data: _Agent, at: datetime, out: list[CallEvent]) -> None:
        leg = self._agent_leg(data, at, out)
        if leg is not None:
            self._answered(leg, at, out)

    def _agent_noanswer(self, data: _Agent, at: datetime, out: list[CallEvent]) -> None:
        leg = self._agent_leg(data, at, out)
        if leg is not None:
            self._ended(leg, "no_answer", at, out)

    def _agent_complete(self, data: _Agent, at: datetime, out: list[CallEvent]) -> None:
        leg = self._agent_leg(data, at, out)
        if leg is not None and leg.answered:
            self._ended(leg, "answered", at, out)

    # -- presence --------------------------------------------------------------------------------------------------

    def _presence_changed(self, endpoint: str, state: EndpointPresence, at: datetime, out: list[CallEvent]) -> None:
        if not endpoint or self._presence.get(endpoint) == state:
            return
        self._presence[endpoint] = state
        out.append(EndpointStateChanged(pbx=self.pbx, at=at, endpoint=_text(endpoint) or "?", state=state))

    def _device_state(self, data: _DeviceState, at: datetime, out: list[CallEvent]) -> None:
        tech, slash, resource = data.Device.partition("/")
        if not slash or ":" in tech or tech.lower() == "local" or not resource:
            return  # ``Queue:support``, ``Custom:…``, ``Local/…``: no endpoint of a user
        state = DEVICE_STATE.get(data.State.strip().upper())
        if state is not None:
            self._presence_changed(resource, state, at, out)

    def _extension_status(self, data: _ExtensionStatus, at: datetime, out: list[CallEvent]) -> None:
        state = EXTENSION_STATE.get(data.StatusText.strip().lower())
        code = _int(data.Status)
        if state is None and code is not None:
            state = "unavailable" if code < 0 else _EXTENSION_CODE.get(code)  # -1, -2: the hint or extension was removed
        if state is not None:
            self._presence_changed(data.Exten.strip(), state, at, out)

    def _agent_state(self, queue: str, agent: str, logged_in: bool, paused: bool, at: datetime, out: list[CallEvent]) -> None:
        if not agent:
            return
        if self._agents.get((queue, agent)) == (logged_in, paused):
            return
        self._agents[(queue, agent)] = (logged_in, paused)
        out.append(AgentStateChanged(pbx=self.pbx, at=at, queue=_text(queue) or "?", agent=_text(agent) or "?",
                                     logged_in=logged_in, paused=logged_in and paused))

    def _member_status(self, data: _QueueMember, at: datetime, out: list[CallEvent]) -> None:
        agent = interface_endpoint(data.Interface) if data.Interface else data.MemberName
        self._agent_state(data.Queue, agent, True, _int(data.Paused) == 1, at, out)

    def _member_removed(self, data: _QueueMember, at: datetime, out: list[CallEvent]) -> None:
        agent = interface_endpoint(data.Interface) if data.Interface else data.MemberName
        self._agent_state(data.Queue, agent, False, False, at, out)

    def _member_line(self, data: _QueueMemberLine, at: datetime, out: list[CallEvent]) -> None:
        agent = interface_endpoint(data.Location) if data.Location else data.Name
        self._agent_state(data.Queue, agent, True, _int(data.Paused) == 1, at, out)

    def _queue_entry(self, data: _QueueEntry, at: datetime, out: list[CallEvent]) -> None:
        chan = self._chans.get(data.Uniqueid)
        if chan is None:
            return  # not in the channel listing (it hung up meanwhile): nothing to say about it
        chan.queue = data.Queue
        self._queue_joined(chan, data.Queue, _int(data.Position), at, out)

    # -- the channel listing (CoreShowChannels) --------------------------------------------------------------------

    def _core_show_channel(self, data: _CoreShowChannel, at: datetime, out: list[CallEvent]) -> None:
        if self._snapshot is None:
            self._snapshot = _Snapshot(known=set(self._chans))
        self._snapshot.lines.append(data)

    def _channels_complete(self, data: _In, at: datetime, out: list[CallEvent]) -> None:
        snapshot, self._snapshot = self._snapshot, None
        if snapshot is None:
            return
        calls: dict[str, list[_CoreShowChannel]] = {}
        for line in snapshot.lines:
            if line.Uniqueid not in self._gone:
                calls.setdefault(line.Linkedid, []).append(line)
        for linkedid in sorted(calls, key=_uid_order):
            self._listed_call(linkedid, sorted(calls[linkedid], key=lambda line: _uid_order(line.Uniqueid)), at, out)
        listed = {line.Uniqueid for line in snapshot.lines}
        for uid in sorted(snapshot.known - listed - snapshot.touched, key=_uid_order):
            if uid in self._chans:
                self._gone_channel(uid, None, None, at, out)  # hung up while the client was away

    def _listed_call(self, linkedid: str, lines: list[_CoreShowChannel], at: datetime, out: list[CallEvent]) -> None:
        """One call of the channel listing: its start, its legs ringing or answered, its queue, its voicemail."""
        chans = {}
        for line in lines:
            chan = self._chan_of(line)
            if chan is not None:
                chans[line.Uniqueid] = chan
        origin = next((line for line in lines if line.Uniqueid == linkedid), None)
        queue = None
        if origin is not None and origin.Uniqueid in chans:
            since = _duration(origin.Duration)
            self._started(chans[origin.Uniqueid], origin.CallerIDNum, origin.Exten, at - since if since else at, out)
            if origin.Application.lower() == "queue":
                queue = origin.ApplicationData.partition(",")[0].strip() or None
                if queue is not None:
                    chans[origin.Uniqueid].queue = queue
                    self._queue_joined(chans[origin.Uniqueid], queue, None, at - since if since else at, out)
        # Legs: the dialled channels (Local ;1 halves first, so that the phone each rings folds into it).
        dialled = [line for line in lines if line.Uniqueid in chans and line.Uniqueid != linkedid
                   and line.Application in DIAL_APPLICATIONS and chans[line.Uniqueid].name.half != 2]
        dialled.sort(key=lambda line: (chans[line.Uniqueid].name.tech != "Local", _uid_order(line.Uniqueid)))
        locals_by_endpoint: dict[str, _Leg] = {}
        queue_answered = False
        for line in dialled:
            chan = chans[line.Uniqueid]
            leg = self._leg_of(chan)
            since = _duration(line.Duration)
            if leg is None:
                parent = locals_by_endpoint.get(chan.name.endpoint) if chan.name.tech != "Local" else None
                if parent is not None:
                    self._join(chan, parent)
                    leg = parent
                else:
                    leg = _Leg(chan.uid, linkedid, _text(chan.name.endpoint) or "?",
                               queue if line.Application == "AppQueue" else None)
                    self._legs[leg.uid] = leg
                    self._call(linkedid).legs.add(leg.uid)
                    self._join(chan, leg)
                    if chan.name.half == 1:
                        partner = self._chans.get(self._locals.get(chan.name.base, {}).get(2, ""))
                        if partner is not None:
                            self._join(partner, leg)
            if chan.name.tech == "Local" and leg.uid == chan.uid:
                locals_by_endpoint[leg.endpoint] = leg
            self._ringing(leg, at - since if since else at, out)
            if _int(line.ChannelState) == 6:
                self._answered(leg, at, out)
            if leg.answered and leg.queue:
                queue_answered = True
        if origin is not None and queue is not None and queue_answered and origin.Uniqueid in chans:
            self._queue_left(chans[origin.Uniqueid], queue, False, at, out)  # a queue caller talking to an agent left the queue
        for line in lines:
            if line.Application.lower() == "voicemail" and line.Uniqueid in chans:
                chan = chans[line.Uniqueid]
                leg = self._leg_of(chan)
                if leg is not None:
                    leg.by = "voicemail"
                mailbox = _mailbox(line.ApplicationData) or line.Exten
                self._emit(out, self._calls.get(linkedid), VoicemailReached(
                    pbx=self.pbx, at=at, key=_key(chan.uid, "voicemail", mailbox), call_id=linkedid, mailbox=_text(mailbox) or "?"))
