"""The AMI mapping's vocabulary and value helpers: status and state tables, channel names, endpoints, keys, times."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from core.calls.events import EndpointPresence, LegStatus

MAX_TEXT = 200
"""``core.calls.events.Text``: longer values are cut to fit (keys are shortened with a digest)."""

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
