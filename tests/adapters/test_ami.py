"""The AMI parser (framing as real servers send it) and the mapping of recorded traffic to call events."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest

from adapters.pbx.ami import HEAD_BYTES, AmiFrame, AmiParser, encode_action, login_action
from adapters.pbx.ami_calls import AmiCallMapper
from adapters.pbx.ami_values import ChannelName, dialstring_endpoint, interface_endpoint
from core.calls.events import (
    AgentStateChanged,
    CallEnded,
    CallEvent,
    CallStarted,
    EndpointStateChanged,
    LegAnswered,
    LegEnded,
    LegRinging,
    QueueJoined,
    QueueLeft,
    VoicemailReached,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "ami"
NOW = datetime(2024, 7, 25, 12, 0, tzinfo=UTC)
SNAPSHOT_ACTIONS = {"CoreShowChannels": "CoreShowChannelsComplete", "QueueStatus": "QueueStatusComplete",
                    "DeviceStateList": "DeviceStateListComplete"}


def traffic(name: str) -> bytes:
    """A recorded scenario, as the server sends it (see tests/data/ami/README.md)."""
    return (DATA / name).read_bytes()


def frames_of(data: bytes) -> list[AmiFrame]:
    return AmiParser(expect_banner=False).feed(data)


def listing(action: str, action_id: str | None = None) -> bytes:
    """What the manager answers a snapshot action: the listing's response, its lines (with the ``ActionID``), its end."""
    lines = frames_of(traffic(f"reconnect_snapshot_{action}.ami"))
    head = [("Response", "Success")] + ([("ActionID", action_id)] if action_id else []) + [
        ("EventList", "start"), ("Message", f"{action} will follow")]
    out = [AmiFrame.of(head).encode()]
    for frame in lines:
        pairs = frame.pairs
        out.append(AmiFrame.of(pairs[:1] + ([("ActionID", action_id)] if action_id else []) + pairs[1:]).encode())
    tail = [("Event", SNAPSHOT_ACTIONS[action])] + ([("ActionID", action_id)] if action_id else []) + [
        ("EventList", "Complete"), ("ListItems", str(len(lines)))]
    out.append(AmiFrame.of(tail).encode())
    return b"".join(out)


def snapshot_traffic() -> bytes:
    return b"".join(listing(action, f"snap-{i}") for i, action in enumerate(SNAPSHOT_ACTIONS))


def run(mapper: AmiCallMapper, data: bytes, now: datetime = NOW) -> list[CallEvent]:
    return [event for frame in frames_of(data) for event in mapper.map(frame, now)]


def brief(events: list[CallEvent]) -> list[tuple]:
    """Each event as (kind, the fields that say what happened), for comparing whole sequences."""
    out = []
    for e in events:
        match e:
            case CallStarted():
                out.append(("started", e.call_id, e.caller, e.dialled))
            case LegRinging():
                out.append(("ringing", e.leg, e.endpoint, e.queue))
            case LegAnswered():
                out.append(("answered", e.leg, e.endpoint, e.answered_by, e.queue))
            case LegEnded():
                out.append(("leg_ended", e.leg, e.status, e.endpoint, e.queue))
            case QueueJoined():
                out.append(("queue_joined", e.queue, e.position))
            case QueueLeft():
                out.append(("queue_left", e.queue, e.abandoned))
            case VoicemailReached():
                out.append(("voicemail", e.mailbox))
            case CallEnded():
                out.append(("ended", e.call_id, e.cause, e.cause_text))
            case EndpointStateChanged():
                out.append(("endpoint", e.endpoint, e.state))
            case AgentStateChanged():
                out.append(("agent", e.queue, e.agent, e.logged_in, e.paused))
    return out


class DedupSink:
    """A sink that stores an event once per key (as the store does), and keeps everything it was handed."""

    def __init__(self) -> None:
        self.handed: list[CallEvent] = []
        self.stored: list[CallEvent] = []
        self._keys: set[str] = set()

    async def __call__(self, events) -> None:
        self.take(events)

    def take(self, events) -> None:
        for event in events:
            self.handed.append(event)
            if event.key:
                if event.key in self._keys:
                    continue
                self._keys.add(event.key)
            self.stored.append(event)


# -- parser -----------------------------------------------------------------------------------------------------------


def test_banner_then_frames_with_repeated_keys_in_order():
    parser = AmiParser()
    data = (b"Asterisk Call Manager/5.0.2\r\n"
            b"Response: Error\r\nActionID: generated_id\r\nMessage: Authentication failed\r\nActionID: callroute-1\r\n\r\n"
            b"Response: Success\r\nActionID: c-2\r\nMessage: Command output follows\r\nOutput: Name/username  Host\r\n"
            b"Output: 201/201  10.0.0.7\r\nOutput: \r\nOutput: 1 sip peers\r\n\r\n")
    failed, command = parser.feed(data)
    assert parser.banner == "Asterisk Call Manager/5.0.2" and parser.version == "5.0.2"
    assert (failed.kind, failed.name) == ("response", "Error")
    assert failed.action_ids == ["generated_id", "callroute-1"]
    assert failed.get("actionid") == "generated_id" and failed["Message"] == "Authentication failed"
    assert command.output == ["Name/username  Host", "201/201  10.0.0.7", "", "1 sip peers"]
    assert command.pairs[2:4] == [("Message", "Command output follows"), ("Output", "Name/username  Host")]
    assert frames_of(failed.encode()) == [failed]


def test_no_banner_is_no_frame_lost():
    parser = AmiParser()
    assert parser.feed(b"Event: FullyBooted\r\nPrivilege: system,all\r\n\r\n")[0].name == "FullyBooted"
    assert parser.banner is None and not parser.banner_pending


@pytest.mark.parametrize("separator", [b"\r\n\r\n", b"\r\n\n", b"\n\n", b"\n\r\n"])
def test_framing_slips_of_line_ends(separator):
    line_end = b"\n" if separator.startswith(b"\n") else b"\r\n"
    data = separator.join([b"Event: A" + line_end + b"X: 1", b"Event: B" + line_end + b"Y: 2", b""])
    parser = AmiParser(expect_banner=False)
    frames = parser.feed(data)
    assert [f.pairs for f in frames] == [[("Event", "A"), ("X", "1")], [("Event", "B"), ("Y", "2")]]
    assert parser.malformed == 0


def test_a_missing_empty_line_before_the_next_event_splits_the_frame():
    # As in the published capture the scenario follows: a DeviceStateChange runs straight into the DialEnd.
    data = traffic("call_answered.ami")
    assert b"State: INUSE\r\nEvent: DialEnd\r\n" in data
    parser = AmiParser(expect_banner=False)
    frames = parser.feed(data)
    assert parser.slips == 1 and parser.malformed == 0
    names = [f.name for f in frames]
    assert names[names.index("DialEnd") - 1] == "DeviceStateChange"
    assert frames[names.index("DialEnd") - 1].pairs[-1] == ("State", "INUSE")
    assert len(frames) == data.count(b"Event: ")


def test_a_line_without_a_colon_is_kept_under_an_empty_key():
    frame = frames_of(b"Event: Newexten\r\nChannel: PJSIP/201-00000001\r\nstray words\r\nApplication: Dial\r\n\r\n")[0]
    assert frame.pairs == [("Event", "Newexten"), ("Channel", "PJSIP/201-00000001"), ("", "stray words"),
                           ("Application", "Dial")]
    assert frame.bad_lines == 1 and frame["Application"] == "Dial"


def test_old_command_output_follows_to_its_end_marker():
    # Asterisk <= 13 (panoramisk's fixtures): raw output, empty lines included, ended by --END COMMAND--.
    data = (b"Response: Follows\r\nPrivilege: Command\r\nHTTP Server Status:\r\nPrefix: \r\n\r\nEnabled URI's:\r\n"
            b"/httpstatus => Asterisk HTTP General Status\r\n--END COMMAND--\r\n\r\nEvent: FullyBooted\r\n\r\n")
    parser = AmiParser(expect_banner=False)
    follows, booted = parser.feed(data)
    assert follows.name == "Follows" and follows["Privilege"] == "Command"
    assert follows.output == ["HTTP Server Status:", "Prefix: ", "", "Enabled URI's:",
                              "/httpstatus => Asterisk HTTP General Status"]
    assert booted.name == "FullyBooted" and parser.frames == 2


def test_garbage_is_counted_and_logged_bounded_and_the_stream_goes_on():
    parser = AmiParser(expect_banner=False)
    garbage = bytes(range(256)).replace(b"\n", b"") * 3
    frames = parser.feed(garbage + b"\r\n\r\nEvent: Hangup\r\nUniqueid: 1.2\r\n\r\n")
    assert [f.name for f in frames] == ["Hangup"]
    assert parser.malformed == 1
    (problem,) = parser.drain_problems()
    assert problem.kind == "malformed" and problem.size > HEAD_BYTES and len(problem.head) == HEAD_BYTES
    assert parser.problems == []


def test_bytes_that_are_not_utf8_are_replaced_counted_and_the_frame_kept():
    parser = AmiParser(expect_banner=False)
    (frame,) = parser.feed(b"Event: Newchannel\r\nCallerIDName: J\xf6rg M\xfcller\r\nUniqueid: 1.1\r\n\r\n")
    assert frame["CallerIDName"] == "J\ufffdrg M\ufffdller" and frame.undecodable
    assert parser.malformed == 1 and parser.problems[0].kind == "undecodable"


def test_an_oversize_frame_is_skipped_to_its_end_and_counted():
    parser = AmiParser(max_frame=1024, expect_banner=False)
    big = b"Event: Big\r\n" + b"".join(b"Output: %04d %s\r\n" % (i, b"x" * 60) for i in range(100)) + b"\r\n"
    data = b"Event: A\r\n\r\n" + big + b"Event: B\r\n\r\n"
    frames = []
    for i in range(0, len(data), 100):  # the big frame arrives in pieces: dropped before its end is seen
        frames += parser.feed(data[i:i + 100])
    assert [f.name for f in frames] == ["A", "B"]
    assert parser.oversize == 1 and parser.buffered < 1024
    assert parser.problems[0].kind == "oversize" and parser.problems[0].head.startswith(b"Event: Big")
    whole = AmiParser(max_frame=1024, expect_banner=False)
    assert [f.name for f in whole.feed(data)] == ["A", "B"] and whole.oversize == 1


def test_any_chunking_gives_the_same_frames():
    data = traffic("queue_answered.ami")
    whole = frames_of(data)
    parser = AmiParser(expect_banner=False)
    pieces = [f for i in range(0, len(data), 1) for f in parser.feed(data[i:i + 1])]
    assert pieces == whole and len(whole) == 94


def test_encode_action_keeps_order_and_repeats_and_refuses_broken_framing():
    assert encode_action("Originate", [("Channel", "PJSIP/201"), ("Variable", "A=1"), ("Variable", "B=2")],
                         action_id="x-1") == (b"Action: Originate\r\nActionID: x-1\r\nChannel: PJSIP/201\r\n"
                                              b"Variable: A=1\r\nVariable: B=2\r\n\r\n")
    assert encode_action("Setvar", {"Variable": ["A=1", "B=2"]}).count(b"Variable: ") == 2
    login = frames_of(login_action("callroute", "s3cret", action_id="c-1"))[0]
    assert login.pairs == [("Action", "Login"), ("ActionID", "c-1"), ("Username", "callroute"), ("Secret", "s3cret"),
                           ("Events", "on")]
    with pytest.raises(ValueError, match="one line"):
        encode_action("Login", {"Secret": "x\r\nAction: Originate"})
    with pytest.raises(ValueError, match="letters"):
        encode_action("Login", {"Bad Key": "x"})


# -- names ------------------------------------------------------------------------------------------------------------


def test_channel_and_interface_names():
    assert ChannelName.parse("PJSIP/201-0000001a") == ChannelName("PJSIP", "201")
    assert ChannelName.parse("SIP/9170-12-0000003c").endpoint == "9170-12"
    assert ChannelName.parse("Local/206040@from-internal-00000024;1") == ChannelName(
        "Local", "206040", 1, "Local/206040@from-internal-00000024")
    assert ChannelName.parse("PJSIP/201-0000001a<ZOMBIE>").endpoint == "201"
    assert interface_endpoint("Local/201@from-queue/n") == "201" and interface_endpoint("PJSIP/203") == "203"
    assert dialstring_endpoint("201") == "201"
    assert dialstring_endpoint("9898@okon.ferry.sip.com") == "9898"
    assert dialstring_endpoint("telia/sip:+46701234567@sip.telia.se") == "+46701234567"
    assert dialstring_endpoint("206040@from-internal/n") == "206040"
    assert dialstring_endpoint("") is None


# -- mapping recorded traffic -----------------------------------------------------------------------------------------


def test_an_answered_call():
    mapper = AmiCallMapper("malmo", tenant="acme")
    events = run(mapper, traffic("call_answered.ami"))
    a, b = "1721901000.101", "1721901000.102"
    assert brief(events) == [
        ("started", a, "+46701234567", "+4640123456"),
        ("ringing", b, "201", None),
        ("endpoint", "201", "ringing"),
        ("answered", b, "201", "extension", None),
        ("endpoint", "201", "busy"),
        ("leg_ended", b, "answered", "201", None),
        ("endpoint", "201", "idle"),
        ("ended", a, 16, "Normal Clearing"),
    ]
    assert all(e.pbx == "malmo" for e in events)
    assert events[0].tenant == "acme" and events[0].key == f"ami:{a}:started:"
    assert events[0].at == datetime.fromtimestamp(1721901000.000131, UTC)  # the event's Timestamp, not ``now``
    assert (events[3].at - events[1].at).total_seconds() == pytest.approx(7.2, abs=0.01)
    assert [e.key for e in events if isinstance(e, LegRinging | LegAnswered | LegEnded)] == [
        f"ami:{b}:ringing:", f"ami:{b}:answered:", f"ami:{b}:leg_ended:"]
    assert mapper.unknown == 1  # VarSet; BridgeCreate & co. are known and read for nothing
    assert mapper.calls_in_progress == 0 and mapper.channels == 0


def test_busy_without_timestamps_is_dated_now():
    events = run(AmiCallMapper("malmo"), traffic("call_busy.ami"))
    assert brief(events) == [
        ("started", "1721901100.112", "202", "201"),
        ("ringing", "1721901100.113", "201", None),
        ("leg_ended", "1721901100.113", "busy", "201", None),
        ("ended", "1721901100.112", 17, "User busy"),
    ]
    assert {e.at for e in events} == {NOW}


def test_no_answer_then_voicemail():
    events = run(AmiCallMapper("malmo"), traffic("call_voicemail.ami"))
    assert brief(events) == [
        ("started", "1721901200.120", "+46709876543", "+4640123457"),
        ("ringing", "1721901200.121", "201", None),
        ("leg_ended", "1721901200.121", "no_answer", "201", None),
        ("voicemail", "201"),
        ("ended", "1721901200.120", 16, "Normal Clearing"),
    ]


def test_a_queue_call_answered_by_an_agent_after_others_did_not_answer():
    """Round one: agents 201 and 202 ring and do not answer (NOANSWER); round two: 202 answers, 201 is called off
    (CANCEL). The agents' Local pairs and the phones they ring are one leg each; only 202's second leg is answered,
    so the call is answered by an agent, and the other legs end ``no_answer``/``cancel`` (no missed call)."""
    mapper = AmiCallMapper("malmo")
    events = run(mapper, traffic("queue_answered.ami"))
    assert brief(events) == [
        ("started", "1721901300.130", "+46705550101", "+4640123400"),
        ("queue_joined", "support", 1),
        ("ringing", "1721901300.131", "201", "support"),
        ("ringing", "1721901300.134", "202", "support"),
        ("leg_ended", "1721901300.131", "no_answer", "201", "support"),
        ("leg_ended", "1721901300.134", "no_answer", "202", "support"),
        ("ringing", "1721901317.137", "201", "support"),
        ("ringing", "1721901317.140", "202", "support"),
        ("answered", "1721901317.140", "202", "agent", "support"),
        ("leg_ended", "1721901317.137", "cancel", "201", "support"),
        ("queue_left", "support", False),
        ("leg_ended", "1721901317.140", "answered", "202", "support"),
        ("ended", "1721901300.130", 16, "Normal Clearing"),
    ]
    assert {e.call_id for e in events if hasattr(e, "call_id")} == {"1721901300.130"}
    # The phones (PJSIP/201-…, PJSIP/202-…) and the ;2 halves are no legs of their own: legs are the ;1 halves.
    assert {e.leg for e in events if isinstance(e, LegRinging)} == {
        "1721901300.131", "1721901300.134", "1721901317.137", "1721901317.140"}
    assert len([e for e in events if isinstance(e, LegAnswered)]) == 1
    assert not any(isinstance(e, QueueLeft) and e.abandoned for e in events)
    assert mapper.unknown == 0 and mapper.invalid == 0


def test_a_caller_who_hangs_up_in_the_queue_abandoned_it():
    events = run(AmiCallMapper("malmo"), traffic("queue_abandoned.ami"))
    assert brief(events) == [
        ("started", "1721901500.150", "+46705550202", "+4640123401"),
        ("queue_joined", "sales", 1),
        ("ringing", "1721901500.151", "203", "sales"),
        ("leg_ended", "1721901500.151", "cancel", "203", "sales"),
        ("queue_left", "sales", True),  # QueueCallerAbandon; the QueueCallerLeave after it is the same departure
        ("ended", "1721901500.150", 16, "Normal Clearing"),
    ]


def test_presence_reports_changes_only():
    mapper = AmiCallMapper("malmo")
    events = run(mapper, traffic("presence.ami"))
    assert brief(events) == [
        ("endpoint", "201", "busy"),  # INUSE, then the hint's InUse: the same news once
        ("endpoint", "201", "idle"),
        ("endpoint", "202", "unavailable"),  # Queue:support is no user's endpoint; the repeat is no change
        ("endpoint", "204", "unavailable"),  # Status -1: the hint was removed
        ("endpoint", "205", "ringing"),
        ("agent", "support", "203", True, False),
        ("agent", "support", "203", True, True),
        ("agent", "support", "203", True, False),
        ("agent", "support", "203", False, False),
    ]
    assert all(e.key == "" for e in events)
    assert mapper.unknown == 1  # PeerStatus


def test_keys_are_deterministic_across_a_reconnect_and_a_restart():
    """A call in progress across a reconnect: the snapshot's events carry the keys they had live, so the sink stores
    each once; a call that ended while the client was away ends after the snapshot; one that began meanwhile starts."""
    before, after = traffic("reconnect_before.ami"), traffic("reconnect_after.ami")
    live = AmiCallMapper("malmo")
    sink = DedupSink()
    sink.take(run(live, before))
    live.begin_snapshot()
    sink.take(run(live, snapshot_traffic()))
    sink.take(run(live, after))
    # The same mapper knows what it said: nothing keyed is handed twice.
    keyed = [e.key for e in sink.handed if e.key]
    assert len(keyed) == len(set(keyed))
    stored = brief(sink.stored)
    qa, qb, qc = "1721902000.200", "1721902000.210", "1721902060.220"
    for call in (qa, qb, qc):
        assert [s for s in stored if s[0] == "started" and s[1] == call] != []
        assert len([s for s in stored if s[0] == "ended" and s[1] == call]) == 1
    assert ("ended", qb, None, None) in stored  # hung up while the client was away: no cause known
    assert ("answered", "1721902000.201", "201", "agent", "support") in stored
    assert ("answered", "1721902060.221", "204", "extension", None) in stored
    assert Counter(s[0] for s in stored)["answered"] == 2

    # A new process (a fresh mapper) hears the snapshot and the rest: every keyed event it reports about the call
    # in progress has the key the first process stored, so the store keeps one of each.
    fresh = AmiCallMapper("malmo")
    fresh.begin_snapshot()
    restarted = run(fresh, snapshot_traffic()) + run(fresh, after)
    first = {e.key: e for e in sink.stored if e.key}
    for event in restarted:
        if event.key and getattr(event, "call_id", None) == qa:
            assert event.key in first and type(first[event.key]) is type(event)
    resumed = DedupSink()
    resumed.take(sink.stored)
    resumed.take(restarted)
    assert len([e for e in resumed.stored if isinstance(e, CallStarted)]) == 3
    assert len([e for e in resumed.stored if isinstance(e, CallEnded)]) == 3
    assert len([e for e in resumed.stored if isinstance(e, LegAnswered)]) == 2


def test_the_snapshot_alone_says_what_is_in_progress():
    mapper = AmiCallMapper("malmo")
    mapper.begin_snapshot()
    events = run(mapper, snapshot_traffic())
    assert brief(events) == [
        ("started", "1721902000.200", "+46705550303", "+4640123400"),
        ("queue_joined", "support", None),
        ("ringing", "1721902000.201", "201", "support"),
        ("answered", "1721902000.201", "201", "agent", "support"),
        ("queue_left", "support", False),
        ("started", "1721902060.220", "+46705550505", "+4640123403"),
        ("ringing", "1721902060.221", "204", None),
        ("agent", "support", "201", True, False),
        ("agent", "support", "202", True, True),
        ("endpoint", "201", "busy"),
        ("endpoint", "202", "idle"),
        ("endpoint", "204", "ringing"),
    ]
    started = [e for e in events if isinstance(e, CallStarted)]
    assert [e.at for e in started] == [NOW - timedelta(seconds=70), NOW - timedelta(seconds=10)]  # now - Duration
    assert mapper.calls_in_progress == 2 and mapper.channels == 6


def test_a_listing_refused_is_no_snapshot_pending():
    mapper = AmiCallMapper("malmo")
    mapper.begin_snapshot()
    assert mapper.snapshot_pending
    mapper.abandon_snapshot()
    run(mapper, traffic("reconnect_before.ami"))
    assert not mapper.snapshot_pending and mapper.calls_in_progress == 2


def test_a_channel_that_hangs_up_before_the_listing_is_read_is_not_brought_back():
    mapper = AmiCallMapper("malmo")
    mapper.begin_snapshot()
    hangup = (b"Event: Hangup\r\nChannel: PJSIP/204-000000dd\r\nUniqueid: 1721902060.221\r\nLinkedid: 1721902060.220\r\n"
              b"Cause: 16\r\nCause-txt: Normal Clearing\r\n\r\n")
    lines = listing("CoreShowChannels", "s-1")
    cut = lines.index(b"Event: CoreShowChannelsComplete")
    events = run(mapper, lines[:cut] + hangup + lines[cut:])
    assert ("ringing", "1721902060.221", "204", None) not in brief(events)
    assert mapper.channels == 5


def test_events_lacking_what_the_mapping_reads_are_counted_not_raised():
    mapper = AmiCallMapper("malmo")
    bad = [
        b"Event: DialEnd\r\nChannel: PJSIP/1-1\r\nUniqueid: 1.1\r\nLinkedid: 1.1\r\nDialStatus: ANSWER\r\n\r\n",
        b"Event: Newchannel\r\nChannel: PJSIP/1-1\r\nUniqueid: " + b"9" * 65 + b"\r\nLinkedid: 1.1\r\n\r\n",
        b"Event: QueueCallerJoin\r\nChannel: PJSIP/1-1\r\nUniqueid: 1.1\r\nLinkedid: 1.1\r\n\r\n",
    ]
    assert run(mapper, b"".join(bad)) == []
    assert mapper.invalid == 3 and [p[0] for p in mapper.drain_problems()] == ["DialEnd", "Newchannel", "QueueCallerJoin"]
    assert run(mapper, b"Event: RTCPSent\r\nTo: 10.0.0.1\r\n\r\nResponse: Success\r\n\r\n") == []
    assert mapper.unknown == 1


def test_long_values_are_cut_to_the_vocabulary_limits():
    name = "N" * 500
    frame = AmiFrame.of([("Event", "Newchannel"), ("Channel", "PJSIP/x-1"), ("Uniqueid", "1.1"), ("Linkedid", "1.1"),
                         ("CallerIDNum", "1" * 300), ("Exten", name)])
    (started,) = AmiCallMapper("malmo").map(frame, NOW)
    assert len(started.caller) == 200 and len(started.dialled) == 200
    queue = AmiFrame.of([("Event", "QueueCallerJoin"), ("Channel", "PJSIP/x-1"), ("Uniqueid", "1." + "2" * 60),
                         ("Linkedid", "1.1"), ("Queue", "q" * 190)])
    (joined,) = AmiCallMapper("malmo").map(queue, NOW)
    assert len(joined.key) <= 200 and msgspec.convert(msgspec.to_builtins(joined), QueueJoined) == joined


def test_a_ring_group_behind_a_local_channel_rings_legs_of_its_own():
    """``Local/600@groups`` dials 201 and 202: the Local pair is a leg for endpoint 600, the phones legs of their own."""
    c = "Channel: PJSIP/trunk-1\r\nUniqueid: 5.1\r\nLinkedid: 5.1\r\n"
    l1 = "DestChannel: Local/600@groups-00000001;1\r\nDestUniqueid: 5.2\r\nDestLinkedid: 5.1\r\n"
    data = (f"Event: Newchannel\r\n{c}Exten: 600\r\nCallerIDNum: 0701\r\n\r\n"
            "Event: Newchannel\r\nChannel: Local/600@groups-00000001;1\r\nUniqueid: 5.2\r\nLinkedid: 5.1\r\n\r\n"
            "Event: Newchannel\r\nChannel: Local/600@groups-00000001;2\r\nUniqueid: 5.3\r\nLinkedid: 5.1\r\n\r\n"
            f"Event: DialBegin\r\n{c}{l1}DialString: 600@groups\r\n\r\n")
    l2 = "Channel: Local/600@groups-00000001;2\r\nUniqueid: 5.3\r\nLinkedid: 5.1\r\n"
    for uid, ext in (("5.4", "201"), ("5.5", "202")):
        data += (f"Event: DialBegin\r\n{l2}DestChannel: PJSIP/{ext}-0000000{uid[-1]}\r\nDestUniqueid: {uid}\r\n"
                 f"DestLinkedid: 5.1\r\nDialString: {ext}\r\n\r\n")
    data += (f"Event: DialEnd\r\n{l2}DestChannel: PJSIP/202-00000005\r\nDestUniqueid: 5.5\r\nDialStatus: ANSWER\r\n\r\n"
             f"Event: DialEnd\r\n{l2}DestChannel: PJSIP/201-00000004\r\nDestUniqueid: 5.4\r\nDialStatus: CANCEL\r\n\r\n"
             f"Event: DialEnd\r\n{c}{l1}DialStatus: ANSWER\r\n\r\n")
    events = run(AmiCallMapper("malmo"), data.encode())
    assert brief(events)[1:] == [
        ("ringing", "5.2", "600", None),
        ("ringing", "5.4", "201", None),
        ("ringing", "5.5", "202", None),
        ("answered", "5.5", "202", "extension", None),
        ("leg_ended", "5.4", "cancel", "201", None),
        ("answered", "5.2", "600", "extension", None),
    ]


def test_a_channel_moved_to_an_older_call_leaves_its_own_call():
    """An attended transfer bridges channels of two calls; they all take the older Linkedid (bridge_channel.c)."""
    data = (b"Event: Newchannel\r\nChannel: PJSIP/201-1\r\nUniqueid: 7.1\r\nLinkedid: 7.1\r\nExten: 300\r\n\r\n"
            b"Event: Newchannel\r\nChannel: PJSIP/201-2\r\nUniqueid: 8.1\r\nLinkedid: 8.1\r\nExten: 202\r\n\r\n"
            b"Event: BridgeEnter\r\nChannel: PJSIP/201-2\r\nUniqueid: 8.1\r\nLinkedid: 7.1\r\n\r\n"
            b"Event: Hangup\r\nChannel: PJSIP/201-2\r\nUniqueid: 8.1\r\nLinkedid: 7.1\r\nCause: 16\r\n\r\n"
            b"Event: Hangup\r\nChannel: PJSIP/201-1\r\nUniqueid: 7.1\r\nLinkedid: 7.1\r\nCause: 16\r\n\r\n")
    events = run(AmiCallMapper("malmo"), data)
    assert [(type(e).__name__, e.call_id) for e in events] == [
        ("CallStarted", "7.1"), ("CallStarted", "8.1"), ("CallEnded", "8.1"), ("CallEnded", "7.1")]
    assert events[2].cause is None and events[3].cause == 16
