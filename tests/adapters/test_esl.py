"""The FreeSWITCH event-socket parser (framing, encodings) and the mapping of channel events to call events.

Traffic: ``tests/data/esl`` (see its README for where each part of the format comes from).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.pbx.esl import (
    API_RESPONSE,
    AUTH_REQUEST,
    COMMAND_REPLY,
    DISCONNECT_NOTICE,
    EVENT_JSON,
    EVENT_PLAIN,
    SAMPLE_BYTES,
    EslEvent,
    EslEventError,
    EslFrame,
    EslMalformed,
    EslParser,
    HeaderPicker,
    url_decode,
)
from adapters.pbx.esl_calls import EslCallMapper, EslMappingError, channel_fields, leg_status
from core.calls.events import CallEnded, CallStarted, LegAnswered, LegEnded, LegRinging, QueueJoined, QueueLeft

DATA = Path(__file__).resolve().parents[1] / "data" / "esl"
A_LEG = "0c6e2c3a-5d1f-4f0e-9a51-6f3b1c2d4e01"
B_LEG = "7f1d9a22-3b4c-4d5e-8f60-718293a4b5c6"
A2_LEG = "3a9b8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c61"
B2_LEG = "5b6c7d8e-9f01-4a2b-8c3d-4e5f60718292"
B3_LEG = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b63"
T0 = 1763280000_000000

_UNSAFE = set(b"\r\n #%&+:;<=>?@[\\]^`{|}\"")


def fs_encode(value: str) -> str:
    """``switch_url_encode``: bytes outside printable ASCII and those of ``SWITCH_URL_UNSAFE`` as ``%XX``."""
    return "".join(f"%{b:02X}" if b < 0x20 or b > 0x7E or b in _UNSAFE else chr(b) for b in value.encode())


def message(content_type: str, body: bytes = b"", **headers: str) -> bytes:
    """One message as mod_event_socket writes it (``Content-Length`` counted in bytes)."""
    lines = [f"Content-Type: {content_type}"] + [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    if body:
        lines.insert(0, f"Content-Length: {len(body)}")
    return ("\n".join(lines) + "\n\n").encode() + body


def plain_body(headers: list[tuple[str, str]], body: str | None = None) -> bytes:
    """``switch_event_serialize``: URL-encoded values; a body of the event's own after an inner ``Content-Length``."""
    text = "".join(f"{k}: {fs_encode(v)}\n" for k, v in headers).encode()
    if body is None:
        return text + b"\n"
    raw = body.encode()
    return text + f"Content-Length: {len(raw)}\n\n".encode() + raw


def json_body(headers: list[tuple[str, str]], body: str | None = None) -> bytes:
    """``switch_event_serialize_json``: values as they are; a repeated header becomes a list; the body is ``_body``."""
    obj: dict[str, object] = {}
    for k, v in headers:
        if k in obj:
            prev = obj[k]
            obj[k] = [*prev, v] if isinstance(prev, list) else [prev, v]
        else:
            obj[k] = v
    if body is not None:
        obj["Content-Length"] = str(len(body.encode()))
        obj["_body"] = body
    return json.dumps(obj, ensure_ascii=False).encode()


def event(fmt: str, headers: list[tuple[str, str]], body: str | None = None) -> bytes:
    if fmt == "plain":
        return message(EVENT_PLAIN, plain_body(headers, body))
    return message(EVENT_JSON, json_body(headers, body))


def channel(name: str, uid: str, seconds: float, **extra: str) -> list[tuple[str, str]]:
    """A channel event with the headers the mapping reads (others omitted; missing ones are tolerated)."""
    headers = [("Event-Name", name), ("Event-Date-Timestamp", str(T0 + int(seconds * 1_000_000))), ("Unique-ID", uid)]
    return headers + [(k.replace("__", "-").replace("_", "-") if not k.startswith("variable_") else k, v) for k, v in extra.items()]


def parse_all(data: bytes, *, chunk: int | None = None, max_frame: int = 1 << 20) -> tuple[list, EslParser]:
    parser = EslParser(max_frame=max_frame)
    items: list = []
    if chunk is None:
        items += parser.feed(data)
    else:
        for i in range(0, len(data), chunk):
            items += parser.feed(data[i:i + chunk])
    items += parser.close()
    return items, parser


def summary(events: list) -> list[tuple]:
    out = []
    for e in events:
        row: tuple = (type(e).__name__, e.key, e.call_id, e.at)
        if isinstance(e, CallStarted):
            row += (e.dialled, e.caller, e.presentation)
        elif isinstance(e, LegRinging | LegAnswered):
            row += (e.leg, e.endpoint)
        elif isinstance(e, LegEnded):
            row += (e.leg, e.status, e.endpoint)
        elif isinstance(e, CallEnded):
            row += (e.cause, e.cause_text)
        out.append(row)
    return out


# -- framing -------------------------------------------------------------------------------------------------------------


def test_each_content_type_is_framed():
    stream = (message(AUTH_REQUEST) + message(COMMAND_REPLY, Reply_Text="+OK accepted")
              + message(COMMAND_REPLY, Reply_Text="-ERR invalid")
              + message(API_RESPONSE, b'{"row_count": 0}\n')
              + message(DISCONNECT_NOTICE, b"Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"))
    items, parser = parse_all(stream)
    assert [i.content_type for i in items] == [AUTH_REQUEST, COMMAND_REPLY, COMMAND_REPLY, API_RESPONSE, DISCONNECT_NOTICE]
    assert items[1].reply_ok and items[1].reply_text == "+OK accepted"
    assert not items[2].reply_ok and items[2].reply_text == "-ERR invalid"
    assert items[3].body == b'{"row_count": 0}\n'
    assert items[4].body.startswith(b"Disconnected, goodbye.")
    assert (parser.frames, parser.malformed, parser.oversize) == (5, 0, 0)


def test_content_length_counts_bytes_of_a_multibyte_body_in_any_chunking():
    headers = [("Event-Name", "CUSTOM"), ("Event-Subclass", "SMS::SEND_MESSAGE"), ("from", "Åsa Öberg <201@pbx>")]
    body = "Hej då ☎ – ring mig\n\nTack! 😀"
    stream = event("json", headers, body) + event("plain", headers, body) + message(COMMAND_REPLY, Reply_Text="+OK")
    assert len(body.encode()) > len(body)  # the byte count is not the character count
    whole, _ = parse_all(stream)
    for chunk in (1, 2, 3, 7, 64):
        assert parse_all(stream, chunk=chunk)[0] == whole
    json_event, plain_event, reply = whole
    assert reply.content_type == COMMAND_REPLY
    for frame in (json_event, plain_event):
        parsed = EslEvent.from_frame(frame)
        assert parsed.body == body
        assert parsed.get("from") == "Åsa Öberg <201@pbx>"
        assert parsed.name == "CUSTOM"


def test_plain_inner_content_length_keeps_the_event_body_out_of_the_headers():
    body = "Unique-ID: not-a-header\nEvent-Name: CHANNEL_HANGUP\n\nmore ☎"
    raw = plain_body(channel("CHANNEL_CREATE", A_LEG, 0, Caller__Destination__Number="201"), body)
    frame = EslFrame(EVENT_PLAIN, (), raw)
    parsed = EslEvent.from_frame(frame)
    assert parsed.body == body
    assert parsed.get_all("Unique-ID") == [A_LEG]
    fields = channel_fields(frame)
    assert (fields.unique_id, fields.event_name, fields.destination) == (A_LEG, "CHANNEL_CREATE", "201")


def test_an_inner_content_length_longer_than_the_body_is_an_error():
    raw = b"Event-Name: CUSTOM\nContent-Length: 50\n\nshort"
    with pytest.raises(EslEventError, match="5 of 50 bytes"):
        EslEvent.from_frame(EslFrame(EVENT_PLAIN, (), raw))


def test_plain_values_are_url_decoded_json_values_are_not():
    headers = [("Event-Name", "CHANNEL_CREATE"), ("Caller-Caller-ID-Name", "Åsa Öberg"), ("Caller-Caller-ID-Number", "+46701234567"),
               ("variable_sip_full_from", '"Åsa" <sip:+46701234567@pbx>;tag=a1'), ("Event-Date-Timestamp", "1")]
    plain = parse_all(event("plain", headers))[0][0]
    assert b"%2B46701234567" in plain.body and b"%C3%85sa" in plain.body  # encoded on the wire
    parsed = EslEvent.from_frame(plain)
    assert parsed.get("Caller-Caller-ID-Number") == "+46701234567"
    assert parsed.get("Caller-Caller-ID-Name") == "Åsa Öberg"
    assert parsed.get("variable_sip_full_from") == '"Åsa" <sip:+46701234567@pbx>;tag=a1'
    literal = [("Event-Name", "CUSTOM"), ("note", "100%2B sure")]
    assert EslEvent.from_frame(parse_all(event("json", literal))[0][0]).get("note") == "100%2B sure"


def test_url_decode_reads_like_freeswitch():
    assert url_decode(b"%2B46%20701") == "+46 701"
    assert url_decode(b"a+b") == "a+b"  # not form encoding
    assert url_decode(b"100%") == "100%"  # a lone percent stays
    assert url_decode(b"%zz%4") == "%zz%4"
    assert url_decode(b"%C3%85sa") == "Åsa"
    assert url_decode(b"%FF") == "\ufffd"


def test_outer_headers_are_url_decoded():
    frame = parse_all(b"Content-Type: command/reply\nReply-Text: %2BOK%20accepted\n\n")[0][0]
    assert frame.reply_text == "+OK accepted"


def test_repeated_headers_are_kept_and_missing_ones_tolerated():
    frame = parse_all(b"Content-Type: command/reply\nReply-Text: +OK\nJob-UUID: 1\nJob-UUID: 2\n\n")[0][0]
    assert frame.header("job-uuid") == "1" and frame.header_all("Job-UUID") == ["1", "2"]
    assert frame.header("Content-Length") is None
    no_type = parse_all(b"Reply-Text: +OK\n\n")[0][0]
    assert isinstance(no_type, EslFrame) and no_type.content_type == ""
    headers = [("Event-Name", "CUSTOM"), ("Tag", "one"), ("Tag", "two"), ("DP_MATCH", "ARRAY::1002|:1003")]
    for fmt in ("plain", "json"):
        parsed = EslEvent.from_frame(parse_all(event(fmt, headers))[0][0])
        assert parsed.get("Tag") == "one" and parsed.get_all("Tag") == ["one", "two"]
        assert parsed.get_all("DP_MATCH") == ["1002", "1003"]
        assert parsed.get("Missing") is None and parsed.get_all("Missing") == []
        assert ("Tag", "two") in list(parsed.headers())


def test_header_picker_takes_the_first_value_and_stops_at_the_blank_line():
    picker = HeaderPicker(["Unique-ID", "Event-Name", "Caller-Destination-Number"])
    raw = b"Event-Name: CHANNEL_CREATE\nUnique-ID: first\nUnique-ID: second\nCaller-Destination-Number: %2B46\n\nUnique-ID: body"
    assert picker.pick(raw) == {"Event-Name": "CHANNEL_CREATE", "Unique-ID": "first", "Caller-Destination-Number": "+46"}
    assert picker.pick(b"Other: 1\n\n") == {}


def test_crlf_line_ends_and_blank_lines_between_messages_are_tolerated():
    stream = b"\n\r\nContent-Type: command/reply\r\nReply-Text: +OK accepted\r\n\r\n\nContent-Type: auth/request\n\n"
    items, parser = parse_all(stream)
    assert [(i.content_type, i.reply_text) for i in items] == [(COMMAND_REPLY, "+OK accepted"), (AUTH_REQUEST, None)]
    assert parser.malformed == 0


def test_garbage_is_counted_with_a_bounded_sample_and_the_stream_goes_on():
    garbage = b"\x00\xff garbage without a colon " * 40 + b"\n\n"
    stream = garbage + message(COMMAND_REPLY, Reply_Text="+OK accepted")
    items, parser = parse_all(stream, chunk=5)
    bad, good = items
    assert isinstance(bad, EslMalformed) and "not a header line" in bad.reason
    assert len(bad.sample) == SAMPLE_BYTES and garbage.startswith(bad.sample)
    assert good.reply_ok and parser.malformed == 1


def test_a_bad_content_length_is_malformed_and_the_next_message_is_read():
    items, parser = parse_all(b"Content-Type: api/response\nContent-Length: twelve\n\n" + message(AUTH_REQUEST))
    assert isinstance(items[0], EslMalformed) and "not a number" in items[0].reason
    assert items[1].content_type == AUTH_REQUEST and parser.malformed == 1


def test_a_bad_line_in_a_framed_message_skips_its_body_too():
    stream = b"Content-Type: api/response\nthis is no header\nContent-Length: 10\n\n0123456789" + message(AUTH_REQUEST)
    items, _ = parse_all(stream)
    assert isinstance(items[0], EslMalformed) and [i.content_type for i in items[1:]] == [AUTH_REQUEST]


@pytest.mark.parametrize("chunk", [None, 1, 1000])
def test_an_oversize_frame_is_skipped_to_its_end_and_counted(chunk):
    big = message(API_RESPONSE, b"x" * 5000)
    stream = big + message(COMMAND_REPLY, Reply_Text="+OK") + big + message(AUTH_REQUEST)
    items, parser = parse_all(stream, chunk=chunk, max_frame=4096)
    kinds = [("oversize" if i.oversize else "malformed") if isinstance(i, EslMalformed) else i.content_type for i in items]
    assert kinds == ["oversize", COMMAND_REPLY, "oversize", AUTH_REQUEST]
    assert (parser.oversize, parser.malformed, parser.frames) == (2, 0, 2)


def test_a_header_block_that_never_ends_is_dropped_as_oversize():
    items, parser = parse_all(b"X-Long: " + b"y" * 70_000)
    assert isinstance(items[0], EslMalformed) and items[0].oversize and parser.oversize == 1


@pytest.mark.parametrize("cut", [10, 40, 80])
def test_a_truncated_stream_reports_the_partial_message_once(cut):
    stream = message(COMMAND_REPLY, Reply_Text="+OK") + message(API_RESPONSE, b"y" * 60)
    first = len(message(COMMAND_REPLY, Reply_Text="+OK"))
    items, parser = parse_all(stream[:first + cut])
    assert items[0].reply_ok
    assert len(items) == 2 and isinstance(items[1], EslMalformed) and "stream ended" in items[1].reason
    assert parser.malformed == 1 and parser.close() == []


def test_an_event_body_that_is_not_json_is_an_event_error():
    with pytest.raises(EslEventError):
        EslEvent.from_frame(EslFrame(EVENT_JSON, (), b"{not json"))
    with pytest.raises(EslEventError):
        EslEvent.from_frame(EslFrame(EVENT_JSON, (), b'{"Event-Name": 5}'))
    with pytest.raises(EslEventError):
        EslEvent.from_frame(EslFrame(COMMAND_REPLY, ()))


# -- mapping -------------------------------------------------------------------------------------------------------------


def replay(name: str, mapper: EslCallMapper | None = None) -> tuple[list, list, EslCallMapper]:
    mapper = mapper or EslCallMapper(pbx="fs1", tenant="acme")
    items, parser = parse_all((DATA / name).read_bytes(), chunk=4096)
    assert parser.malformed == 0
    events, unknown = [], []
    for frame in items:
        mapped = mapper.map_frame(frame)
        if mapped is None:
            unknown.append(EslEvent.from_frame(frame).name)
        else:
            events += mapped
    return events, unknown, mapper


EXPECTED = [
    ("CallStarted", f"esl:{A_LEG}:started", A_LEG, 0.0, "+4681234500", "+46701234567", None),
    ("LegRinging", f"esl:{B_LEG}:ringing", A_LEG, 0.2, B_LEG, "201"),
    ("LegAnswered", f"esl:{B_LEG}:answered", A_LEG, 6.5, B_LEG, "201"),
    ("CallEnded", f"esl:{A_LEG}:call_ended", A_LEG, 48.0, 16, "NORMAL_CLEARING"),
    ("LegEnded", f"esl:{B_LEG}:ended", A_LEG, 48.01, B_LEG, "answered", "201"),
    ("CallStarted", f"esl:{A2_LEG}:started", A2_LEG, 30.0, "+4681234510", "0701112233", None),
    ("LegRinging", f"esl:{B2_LEG}:ringing", A2_LEG, 30.1, B2_LEG, "202"),
    ("LegRinging", f"esl:{B3_LEG}:ringing", A2_LEG, 30.1, B3_LEG, "203"),
    ("LegAnswered", f"esl:{B3_LEG}:answered", A2_LEG, 38.0, B3_LEG, "203"),
    ("LegEnded", f"esl:{B2_LEG}:ended", A2_LEG, 38.01, B2_LEG, "cancel", "202"),
    ("LegEnded", f"esl:{B3_LEG}:ended", A2_LEG, 95.0, B3_LEG, "answered", "203"),
    ("CallEnded", f"esl:{A2_LEG}:call_ended", A2_LEG, 95.02, 16, "NORMAL_CLEARING"),
]


def expected() -> list[tuple]:
    from datetime import timedelta
    base = datetime.fromtimestamp(T0 // 1_000_000, UTC)
    return [(kind, key, call, base + timedelta(microseconds=round(s * 1_000_000)), *rest) for kind, key, call, s, *rest in EXPECTED]


@pytest.mark.parametrize("name", ["two_calls.plain.esl", "two_calls.json.esl"])
def test_two_recorded_calls_map_to_call_events(name):
    events, unknown, mapper = replay(name)
    assert summary(events) == expected()
    assert unknown == ["HEARTBEAT", "CUSTOM"]
    assert {e.pbx for e in events} == {"fs1"}
    assert [e.tenant for e in events if isinstance(e, CallStarted)] == ["acme", "acme"]
    assert len({e.key for e in events}) == len(events)
    assert mapper.legs == 2  # call 1 and B2 were destroyed; A2 and B3 were not (no CHANNEL_DESTROY recorded for them)


def test_plain_and_json_give_the_same_events():
    assert replay("two_calls.plain.esl")[0] == replay("two_calls.json.esl")[0]


@pytest.mark.parametrize(("cause", "answered", "status"), [
    ("NORMAL_CLEARING", True, "answered"), ("NORMAL_CLEARING", False, "failed"), ("NO_ANSWER", False, "no_answer"),
    ("NO_USER_RESPONSE", False, "no_answer"), ("ALLOTTED_TIMEOUT", False, "no_answer"), ("USER_BUSY", False, "busy"),
    ("ORIGINATOR_CANCEL", False, "cancel"), ("LOSE_RACE", False, "cancel"), ("PICKED_OFF", False, "cancel"),
    ("USER_NOT_REGISTERED", False, "unavailable"), ("SUBSCRIBER_ABSENT", False, "unavailable"),
    ("NO_ROUTE_DESTINATION", False, "unavailable"), ("CALL_REJECTED", False, "busy"), ("INCOMPATIBLE_DESTINATION", False, "failed"),
    ("MEDIA_TIMEOUT", True, "answered"),
    (None, False, "failed"),
])
def test_leg_status_from_hangup_cause(cause, answered, status):
    assert leg_status(cause, answered=answered) == status


def frame_of(fmt: str, headers: list[tuple[str, str]]) -> EslFrame:
    items, _ = parse_all(event(fmt, headers))
    return items[0]


@pytest.mark.parametrize("fmt", ["plain", "json"])
def test_a_leg_heard_of_after_a_gap_is_started_then_ended(fmt):
    mapper = EslCallMapper(pbx="fs1")
    hangup = channel("CHANNEL_HANGUP_COMPLETE", "b1", 20, Other__Type="originator", Other__Leg__Unique__ID="a1",
                     Caller__Destination__Number="201", Caller__Channel__Answered__Time=str(T0 + 5_000_000),
                     Hangup__Cause="NORMAL_CLEARING")
    events = mapper.map_frame(frame_of(fmt, hangup))
    assert [(type(e).__name__, e.key, e.call_id) for e in events] == [
        ("LegRinging", "esl:b1:ringing", "a1"), ("LegAnswered", "esl:b1:answered", "a1"), ("LegEnded", "esl:b1:ended", "a1")]
    assert events[1].at == datetime.fromtimestamp(T0 / 1e6 + 5, UTC) and events[2].status == "answered"


def test_a_withheld_caller_is_started_restricted():
    create = channel("CHANNEL_CREATE", "a1", 0, Caller__Caller__ID__Number="anonymous", Caller__Destination__Number="200",
                     Caller__Privacy__Hide__Number="true")
    (started,) = EslCallMapper(pbx="fs1").map_frame(frame_of("plain", create))
    assert (started.caller, started.presentation, started.dialled) == ("anonymous", "restricted", "200")


def test_hangup_and_destroy_report_an_end_once():
    mapper = EslCallMapper(pbx="fs1")
    mapper.map_frame(frame_of("plain", channel("CHANNEL_CREATE", "a1", 0, Caller__Destination__Number="200")))
    ends = []
    for name in ("CHANNEL_HANGUP", "CHANNEL_HANGUP_COMPLETE", "CHANNEL_DESTROY"):
        ends += mapper.map_frame(frame_of("plain", channel(name, "a1", 9, Hangup__Cause="NO_ANSWER", variable_hangup_cause_q850="19")))
    assert [(type(e).__name__, e.cause, e.cause_text) for e in ends] == [("CallEnded", 19, "NO_ANSWER")]
    assert mapper.legs == 0
    assert mapper.map_frame(frame_of("plain", channel("CHANNEL_DESTROY", "a1", 9))) == []  # a late event of a forgotten leg


def test_bridge_reports_an_answer_that_was_not_heard():
    mapper = EslCallMapper(pbx="fs1")
    mapper.map_frame(frame_of("json", channel("CHANNEL_CREATE", "a1", 0, Caller__Destination__Number="200")))
    mapper.map_frame(frame_of("json", channel("CHANNEL_CREATE", "b1", 1, Other__Type="originator", Other__Leg__Unique__ID="a1",
                                              Caller__Destination__Number="201")))
    bridged = mapper.map_frame(frame_of("json", channel("CHANNEL_BRIDGE", "a1", 5, Other__Type="originatee",
                                                        Other__Leg__Unique__ID="b1", Bridge__B__Unique__ID="b1")))
    assert [(type(e).__name__, e.key, e.leg) for e in bridged] == [("LegAnswered", "esl:b1:answered", "b1")]
    assert mapper.map_frame(frame_of("json", channel("CHANNEL_ANSWER", "b1", 5, Other__Type="originator",
                                                     Other__Leg__Unique__ID="a1"))) == []
    assert mapper.map_frame(frame_of("json", channel("CHANNEL_UNBRIDGE", "a1", 6))) == []


def test_a_leg_originated_by_an_originated_leg_belongs_to_the_first_call():
    mapper = EslCallMapper(pbx="fs1")
    for frame in (channel("CHANNEL_CREATE", "a1", 0, Caller__Destination__Number="200"),
                  channel("CHANNEL_CREATE", "b1", 1, Other__Type="originator", Other__Leg__Unique__ID="a1"),
                  channel("CHANNEL_CREATE", "c1", 2, Other__Type="originator", Other__Leg__Unique__ID="b1")):
        (last,) = mapper.map_frame(frame_of("plain", frame))
    assert last.call_id == "a1"


def test_queue_events_of_mod_callcenter():
    mapper = EslCallMapper(pbx="fs1")
    mapper.map_frame(frame_of("plain", channel("CHANNEL_CREATE", "a1", 0, Caller__Destination__Number="400")))

    def cc(action: str, seconds: float, member: str = "m1", **extra: str) -> EslFrame:
        headers = [("Event-Name", "CUSTOM"), ("Event-Subclass", "callcenter::info"),
                   ("Event-Date-Timestamp", str(T0 + int(seconds * 1e6))), ("CC-Queue", "support@default"), ("CC-Action", action),
                   ("CC-Member-UUID", member), ("CC-Member-Session-UUID", "a1")]
        return frame_of("plain", headers + [(k.replace("_", "-"), v) for k, v in extra.items()])

    (joined,) = mapper.map_frame(cc("member-queue-start", 1))
    assert isinstance(joined, QueueJoined) and (joined.call_id, joined.queue) == ("a1", "support@default")
    agent = channel("CHANNEL_CREATE", "g1", 2, Caller__Destination__Number="1001", variable_cc_side="agent",
                    variable_cc_member_session_uuid="a1", variable_cc_queue="support@default", variable_cc_agent="1001@default")
    (ringing,) = mapper.map_frame(frame_of("plain", agent))
    assert (ringing.call_id, ringing.endpoint, ringing.queue) == ("a1", "1001@default", "support@default")
    (answered,) = mapper.map_frame(cc("bridge-agent-start", 8, CC_Agent="1001@default", CC_Agent_UUID="g1"))
    assert isinstance(answered, LegAnswered) and (answered.answered_by, answered.leg) == ("agent", "g1")
    (left,) = mapper.map_frame(cc("member-queue-end", 60, CC_Cause="Terminated"))
    assert isinstance(left, QueueLeft) and not left.abandoned
    assert mapper.map_frame(cc("member-queue-end", 60, CC_Cause="Terminated")) == []  # the same fact again: reported once
    # Other members' ends (each key is reported once): a caller who hung up, and one whose wait timed out.
    (gave_up,) = mapper.map_frame(cc("member-queue-end", 61, CC_Cause="Cancel", CC_Cancel_Reason="NONE", member="m2"))
    assert gave_up.abandoned
    (timed_out,) = mapper.map_frame(cc("member-queue-end", 62, CC_Cause="Cancel", CC_Cancel_Reason="TIMEOUT", member="m3"))
    assert not timed_out.abandoned
    assert mapper.map_frame(cc("agent-offering", 3)) == []
    other = [("Event-Name", "CUSTOM"), ("Event-Subclass", "conference::maintenance"), ("Event-Date-Timestamp", "1")]
    assert mapper.map_frame(frame_of("plain", other)) is None


@pytest.mark.parametrize("headers", [
    [("Event-Name", "CHANNEL_CREATE"), ("Unique-ID", "a1")],  # no timestamp
    [("Event-Name", "CHANNEL_CREATE"), ("Unique-ID", "a1"), ("Event-Date-Timestamp", "yesterday")],
    [("Event-Name", "CHANNEL_CREATE"), ("Event-Date-Timestamp", "1")],  # no Unique-ID
    [("Event-Name", "CHANNEL_CREATE"), ("Unique-ID", "a1"), ("Event-Date-Timestamp", "9" * 30)],
    [("Event-Name", "CHANNEL_CREATE"), ("Unique-ID", "a" * 201), ("Event-Date-Timestamp", "1")],  # over the vocabulary's limit
])
@pytest.mark.parametrize("fmt", ["plain", "json"])
def test_unmappable_events_are_mapping_errors(headers, fmt):
    with pytest.raises(EslMappingError):
        EslCallMapper(pbx="fs1").map_frame(frame_of(fmt, headers))


def test_a_json_array_header_counts_as_its_first_value():
    body = json.dumps({"Event-Name": "CHANNEL_CREATE", "Event-Date-Timestamp": "1", "Unique-ID": ["a1", "a2"],
                       "Caller-Destination-Number": "200"}).encode()
    (started,) = EslCallMapper(pbx="fs1").map_frame(EslFrame(EVENT_JSON, (), body))
    assert started.call_id == "a1"


def test_non_events_are_not_mapped():
    with pytest.raises(EslMappingError):
        EslCallMapper(pbx="fs1").map_frame(EslFrame(COMMAND_REPLY, (("Reply-Text", "+OK"),)))


# -- snapshots -----------------------------------------------------------------------------------------------------------


def test_a_snapshot_reports_calls_in_progress_with_the_keys_of_their_live_events():
    live, _, _ = replay("two_calls.plain.esl")
    mapper = EslCallMapper(pbx="fs1", tenant="acme")  # a new process: nothing known
    events, rejected = mapper.map_snapshot((DATA / "show_channels_call1_bridged.json").read_bytes())
    assert rejected == 0
    assert [(type(e).__name__, e.key, e.call_id) for e in events] == [
        ("CallStarted", f"esl:{A_LEG}:started", A_LEG), ("LegRinging", f"esl:{B_LEG}:ringing", A_LEG),
        ("LegAnswered", f"esl:{B_LEG}:answered", A_LEG)]
    live_keys = {e.key for e in live}
    assert {e.key for e in events} <= live_keys
    assert events[0].dialled == "+4681234500" and events[0].caller == "+46701234567"


def test_a_snapshot_of_known_legs_reports_nothing_new():
    mapper = EslCallMapper(pbx="fs1")
    items, _ = parse_all((DATA / "two_calls.plain.esl").read_bytes())
    for frame in items[:5]:  # call 1 up to its bridge
        mapper.map_frame(frame)
    events, _ = mapper.map_snapshot((DATA / "show_channels_call1_bridged.json").read_bytes())
    assert events == []


def test_legs_missing_from_a_snapshot_ended_while_disconnected():
    mapper = EslCallMapper(pbx="fs1")
    items, _ = parse_all((DATA / "two_calls.plain.esl").read_bytes())
    for frame in items[:3]:  # A and B created, B answered
        mapper.map_frame(frame)
    mapper.connection_started()  # the connection dropped; this is the next one
    events, _ = mapper.map_snapshot((DATA / "show_channels_empty.json").read_bytes())
    assert [(type(e).__name__, e.key) for e in events] == [("CallEnded", f"esl:{A_LEG}:call_ended"), ("LegEnded", f"esl:{B_LEG}:ended")]
    assert events[0].cause is None and events[1].status == "answered"
    assert events[0].at == mapper.last_at and mapper.legs == 0
    assert mapper.map_frame(items[6]) == []  # the hangup heard later belongs to a forgotten leg


def test_legs_heard_of_on_this_connection_are_alive_whatever_its_snapshot_says():
    """Subscribed, then the snapshot is taken: a channel created in between is heard of before the snapshot arrives, and the
    snapshot (taken earlier) does not list it. It is not ended."""
    mapper = EslCallMapper(pbx="fs1")
    items, _ = parse_all((DATA / "two_calls.plain.esl").read_bytes())
    mapper.map_frame(items[0])  # A created, heard on connection 1
    mapper.connection_started()
    mapper.map_frame(items[1])  # B created, heard on connection 2 before its snapshot
    mapper.map_frame(items[2])  # B answered
    events, _ = mapper.map_snapshot((DATA / "show_channels_empty.json").read_bytes())
    assert [(type(e).__name__, e.key) for e in events] == [("CallEnded", f"esl:{A_LEG}:call_ended")]
    assert mapper.legs == 1


def test_snapshot_rows_it_cannot_tie_or_read():
    rows = [{"uuid": "b9", "direction": "outbound", "call_uuid": "b9", "created_epoch": "1763280000", "dest": "209"},
            {"uuid": "a9", "direction": "inbound", "call_uuid": "", "created_epoch": "1763280000", "dest": "2" * 300},
            {"uuid": "a8", "direction": "inbound", "call_uuid": "", "created_epoch": "soon", "dest": "208"}]
    events, rejected = EslCallMapper(pbx="fs1").map_snapshot(json.dumps({"row_count": 3, "rows": rows}).encode())
    assert events == [] and rejected == 2


@pytest.mark.parametrize("body", [b"-ERR show Command not found!\n", b'{"rows": 5}', b""])
def test_a_snapshot_that_is_not_a_channel_list_is_an_error(body):
    with pytest.raises(EslMappingError):
        EslCallMapper(pbx="fs1").map_snapshot(body)


def test_mapper_state_is_bounded():
    mapper = EslCallMapper(pbx="fs1", max_legs=10, max_gone=5)
    for i in range(50):
        mapper.map_frame(frame_of("plain", channel("CHANNEL_CREATE", f"a{i}", i, Caller__Destination__Number="200")))
    assert mapper.legs == 10
    for i in range(40, 50):
        mapper.map_frame(frame_of("plain", channel("CHANNEL_DESTROY", f"a{i}", 60 + i)))
    assert mapper.legs == 0 and len(mapper._gone) == 5
