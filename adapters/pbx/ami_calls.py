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

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

from adapters.pbx.ami import AmiFrame, wanted
from adapters.pbx.ami_correlation import CallCorrelation, _Chan, _Leg, _Snapshot
from adapters.pbx.ami_shapes import (
    _Agent,
    _ChannelIn,
    _CoreShowChannel,
    _DeviceState,
    _Dial,
    _ExtensionStatus,
    _Hangup,
    _In,
    _Newchannel,
    _Newexten,
    _Newstate,
    _Queue,
    _QueueEntry,
    _QueueMember,
    _QueueMemberLine,
)
from adapters.pbx.ami_values import (
    _EXTENSION_CODE,
    DEVICE_STATE,
    DIAL_APPLICATIONS,
    DIAL_STATUS,
    EXTENSION_STATE,
    IGNORED_EVENTS,
    _duration,
    _instant,
    _int,
    _key,
    _mailbox,
    _text,
    _uid_order,
    interface_endpoint,
)
from core.calls.events import AgentStateChanged, CallEvent, EndpointPresence, EndpointStateChanged, QueueJoined, QueueLeft, VoicemailReached

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

class AmiCallMapper(CallCorrelation):
    """Maps AMI event frames of one Asterisk server to call events; keeps what it needs to correlate them.

    ``pbx`` names the server in every event; ``tenant``, when known, goes into ``CallStarted``.
    Counters: ``unknown`` (events it does not map), ``invalid`` (mapped events lacking what the
    mapping reads), ``late`` (events about a channel that already hung up); ``problems`` describes
    each invalid frame until drained.
    """

    def __init__(self, pbx: str, *, tenant: str | None = None, memory: int = 4096) -> None:
        super().__init__(pbx, tenant=tenant, memory=memory)
        self.unknown = 0
        self.invalid = 0
        self.problems: list[tuple[str, str]] = []
        self._presence: dict[str, EndpointPresence] = {}
        self._agents: dict[tuple[str, str], tuple[bool, bool]] = {}
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
