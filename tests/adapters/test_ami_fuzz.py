"""Hypothesis against the AMI parser and mapping: whatever bytes come, nothing raises, what is dropped is counted,
and valid frames around the damage still come out whole."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.pbx.ami import AmiFrame, AmiParser
from adapters.pbx.ami_calls import AmiCallMapper
from core.calls.events import CallEvent
from tests.adapters.test_ami import frames_of, traffic

NOW = datetime(2024, 7, 25, 12, 0, tzinfo=UTC)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

REAL = [frame for name in ("call_answered.ami", "queue_answered.ami", "queue_abandoned.ami", "presence.ami")
        for frame in frames_of(traffic(name))]
"""Frames of the recordings: what valid traffic looks like."""
SEPARATORS = [b"\r\n\r\n", b"\r\n\n", b"\n\n"]
KEYWORDS = (b"event", b"response", b"action")


def render(frame: AmiFrame, separator: bytes) -> bytes:
    line_end = b"\n" if separator == b"\n\n" else b"\r\n"
    return line_end.join(f"{k}: {v}".encode() for k, v in frame.pairs) + separator


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in zip(points, points[1:], strict=False)]


streams = st.lists(st.tuples(st.sampled_from(range(len(REAL))), st.sampled_from(SEPARATORS)), min_size=1, max_size=25)
garbage = st.binary(min_size=1, max_size=300).filter(lambda g: not any(k in g.lower() for k in KEYWORDS))


@FUZZ
@given(st.binary(max_size=4096), st.lists(st.integers(min_value=0, max_value=4096), max_size=20))
def test_random_bytes_never_raise_and_every_frame_is_counted(data, cuts):
    parser = AmiParser(max_frame=1024)
    frames = [f for piece in chunked(data, cuts) for f in parser.feed(piece)]
    assert len(frames) == parser.frames
    assert all(f.kind in ("event", "response", "action") for f in frames)
    assert all(len(p.head) <= 200 for p in parser.problems)
    assert parser.buffered <= 1024 + 4096


@FUZZ
@given(streams, st.lists(st.integers(min_value=0, max_value=200_000), max_size=30))
def test_how_the_bytes_are_chunked_makes_no_difference(picks, cuts):
    data = b"".join(render(REAL[i], sep) for i, sep in picks)
    expected = [REAL[i].pairs for i, _ in picks]
    parser = AmiParser(expect_banner=False)
    assert [f.pairs for piece in chunked(data, cuts) for f in parser.feed(piece)] == expected
    assert parser.malformed == parser.oversize == 0


@FUZZ
@given(streams, st.integers(min_value=0, max_value=200_000))
def test_a_truncated_stream_gives_a_prefix_and_the_rest_follows(picks, cut):
    data = b"".join(render(REAL[i], sep) for i, sep in picks)
    cut %= len(data) + 1
    expected = [REAL[i].pairs for i, _ in picks]
    parser = AmiParser(expect_banner=False)
    head = [f.pairs for f in parser.feed(data[:cut])]
    assert head == expected[:len(head)]
    assert head + [f.pairs for f in parser.feed(data[cut:])] == expected


@FUZZ
@given(st.lists(st.tuples(garbage, st.sampled_from(range(len(REAL)))), min_size=1, max_size=12),
       st.lists(st.integers(min_value=0, max_value=100_000), max_size=20))
def test_valid_frames_between_garbage_still_parse(items, cuts):
    data = b"".join(g + b"\r\n\r\n" + render(REAL[i], b"\r\n\r\n") for g, i in items)
    parser = AmiParser(expect_banner=False)
    frames = [f for piece in chunked(data, cuts) for f in parser.feed(piece)]
    assert [f.pairs for f in frames] == [REAL[i].pairs for _, i in items]
    assert parser.malformed >= sum(1 for g, _ in items if g.strip(b"\r\n"))
    assert parser.malformed == len(parser.problems)


@FUZZ
@given(st.lists(st.tuples(st.integers(min_value=300, max_value=5000), st.sampled_from(range(len(REAL)))),
                min_size=1, max_size=8),
       st.lists(st.integers(min_value=0, max_value=100_000), max_size=20))
def test_oversize_frames_are_skipped_and_counted(items, cuts):
    data = b""
    for size, i in items:
        data += b"Event: UserEvent\r\nData: " + b"x" * size + b"\r\n\r\n" + render(REAL[i], b"\r\n\r\n")
    parser = AmiParser(max_frame=2048, expect_banner=False)
    frames = [f for piece in chunked(data, cuts) for f in parser.feed(piece)]
    assert [f.pairs for f in frames if f.name != "UserEvent"] == [REAL[i].pairs for _, i in items]
    assert parser.oversize == sum(1 for size, _ in items if size + 24 > 2048)


# -- the mapping ------------------------------------------------------------------------------------------------------

UIDS = ["1.1", "1.2", "1.3", "1.4", "2.1", "2.2"]
CHANNELS = ["PJSIP/201-00000001", "PJSIP/202-00000002", "Local/201@q-00000003;1", "Local/201@q-00000003;2",
            "SIP/peer-0000000a", "DAHDI/1-1", "weird", ""]
VALUES = st.one_of(st.sampled_from(["", "0", "4", "5", "6", "16", "17", "-1", "ANSWER", "NOANSWER", "CANCEL", "BUSY",
                                    "RINGING", "CHANUNAVAIL", "support", "VoiceMail", "201@default,u", "Queue",
                                    "AppQueue", "AppDial", "00:01:10", "1721901000.5", "nan", "1e400", "INUSE",
                                    "InUse&Ringing", "Local/201@q/n", "PJSIP/201"]),
                   st.text(max_size=300))
EVENTS = ["Newchannel", "Newstate", "Newexten", "DialBegin", "DialState", "DialEnd", "BridgeEnter", "Hangup",
          "QueueCallerJoin", "QueueCallerLeave", "QueueCallerAbandon", "AgentCalled", "AgentConnect", "AgentRingNoAnswer",
          "AgentComplete", "DeviceStateChange", "ExtensionStatus", "QueueMemberStatus", "QueueMemberRemoved",
          "QueueMemberPause", "QueueMember", "QueueEntry", "CoreShowChannel", "CoreShowChannelsComplete", "VarSet"]
FIELDS = ["Channel", "ChannelState", "CallerIDNum", "Exten", "Application", "AppData", "ApplicationData", "Duration",
          "DestChannel", "DestChannelState", "DialString", "DialStatus", "Cause", "Cause-txt", "Queue", "Position",
          "Interface", "MemberName", "Location", "Paused", "Device", "State", "Status", "StatusText", "Timestamp"]


@st.composite
def frames(draw) -> AmiFrame:
    name = draw(st.sampled_from(EVENTS))
    pairs = [("Event", name)]
    for key in ("Uniqueid", "Linkedid", "DestUniqueid", "DestLinkedid"):
        if draw(st.booleans()):
            pairs.append((key, draw(st.sampled_from(UIDS + ["x" * 70]))))
    for key in draw(st.lists(st.sampled_from(FIELDS), max_size=10)):
        value = draw(st.sampled_from(CHANNELS)) if "Channel" in key and "State" not in key else draw(VALUES)
        pairs.append((key, value.replace("\r", "").replace("\n", "")))
    return AmiFrame.of(pairs)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(frames(), max_size=40), st.booleans())
def test_the_mapping_never_raises_and_every_event_it_makes_is_valid(sequence, snapshot):
    mapper = AmiCallMapper("malmo", tenant="acme")
    if snapshot:
        mapper.begin_snapshot()
    for frame in sequence:
        for event in mapper.map(frame, NOW):
            assert msgspec.convert(msgspec.to_builtins(event), CallEvent) == event
            assert len(event.key) <= 200
    assert mapper.unknown >= sum(1 for f in sequence if f.name == "VarSet")


@pytest.mark.slow
@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(min_value=0, max_value=60_000), st.binary(min_size=1, max_size=8)), max_size=30))
def test_damaged_recordings_never_raise(damage):
    data = bytearray(traffic("queue_answered.ami"))
    for at, junk in damage:
        at %= len(data)
        data[at:at + len(junk)] = junk
    parser = AmiParser(expect_banner=False)
    mapper = AmiCallMapper("malmo")
    for frame in parser.feed(bytes(data)):
        for event in mapper.map(frame, NOW):
            assert msgspec.convert(msgspec.to_builtins(event), CallEvent) == event
