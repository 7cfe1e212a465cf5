"""What the AMI call mapping reads from each frame: the msgspec shapes an event's fields are converted to.

Field names are as Asterisk writes them; only what the mapping reads is declared, so that a frame
lacking one (or carrying an id longer than Asterisk writes) fails validation at the edge.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

Id = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
"""A ``Uniqueid``/``Linkedid``: ``<epoch>.<sequence>``, with the system name before it on clustered servers."""


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
