"""The correlation state of one Asterisk server's calls (channels, ``Local`` pairs, legs, calls) and the call events its changes emit.

:class:`CallCorrelation` is the base of :class:`adapters.pbx.ami_calls.AmiCallMapper`, whose event handlers drive it.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime

from adapters.pbx.ami_shapes import _ChannelIn, _CoreShowChannel, _Dest, _Dial
from adapters.pbx.ami_values import ChannelName, _cause_status, _key, _text, dialstring_endpoint
from core.calls.events import (
    AnsweredBy,
    CallEnded,
    CallEvent,
    CallStarted,
    LegAnswered,
    LegEnded,
    LegRinging,
    LegStatus,
)


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


class CallCorrelation:
    """What one server's channels, legs and calls are now; emits the call events their changes say.

    ``pbx`` names the server in every event; ``tenant``, when known, goes into ``CallStarted``;
    ``late`` counts events about a channel that already hung up; ``memory`` bounds the hung-up
    channels remembered.
    """

    def __init__(self, pbx: str, *, tenant: str | None = None, memory: int = 4096) -> None:
        self.pbx = pbx
        self.tenant = tenant
        self.late = 0
        self._chans: dict[str, _Chan] = {}
        self._calls: dict[str, _Call] = {}
        self._legs: dict[str, _Leg] = {}
        self._locals: dict[str, dict[int, str]] = {}
        self._gone = _Recent(memory)
        self._snapshot: _Snapshot | None = None
        self._emptied: list[str] = []

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
