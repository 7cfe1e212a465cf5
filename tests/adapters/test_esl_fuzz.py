"""Property tests of the event-socket parser and mapping: garbage, truncation, oversize and any chunking never crash or
corrupt what follows; the mapping raises nothing but ``EslMappingError`` and reports each key once."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.pbx.esl import EVENT_JSON, EVENT_PLAIN, EslEvent, EslEventError, EslFrame, EslMalformed, EslParser
from adapters.pbx.esl_calls import CHANNEL_EVENTS, EslCallMapper, EslMappingError
from tests.adapters.test_esl import T0, fs_encode, json_body, plain_body

CONTENT_TYPES = ["auth/request", "command/reply", "api/response", "text/event-plain", "text/event-json",
                 "text/disconnect-notice", "log/data", "x-unknown/type"]
header_names = st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,15}", fullmatch=True).filter(
    lambda n: n.lower() not in ("content-type", "content-length"))
header_values = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30).map(str.strip)
bodies = st.one_of(st.binary(max_size=200), st.text(max_size=80).map(str.encode))


@st.composite
def frames(draw) -> tuple[bytes, EslFrame]:
    """A message as mod_event_socket writes it, and what the parser must make of it."""
    content_type = draw(st.sampled_from(CONTENT_TYPES))
    extra = draw(st.lists(st.tuples(header_names, header_values), max_size=4))
    body = draw(bodies)
    headers = ([("Content-Length", str(len(body)))] if body else []) + [("Content-Type", content_type)] + extra
    wire = "".join(f"{k}: {fs_encode(v)}\n" for k, v in headers).encode() + b"\n" + body
    return wire, EslFrame(content_type, tuple(headers), body)


def parse(data: bytes, cuts: list[int], *, max_frame: int = 1 << 20) -> tuple[list, EslParser]:
    parser = EslParser(max_frame=max_frame)
    items: list = []
    start = 0
    for cut in sorted({c % (len(data) + 1) for c in cuts}) + [len(data)]:
        items += parser.feed(data[start:cut])
        start = cut
    return items + parser.close(), parser


@settings(deadline=None)
@given(st.lists(frames(), max_size=6), st.lists(st.integers(min_value=0), max_size=8))
def test_valid_frames_come_out_whole_in_any_chunking(messages, cuts):
    stream = b"".join(wire for wire, _ in messages)
    items, parser = parse(stream, cuts)
    assert items == [frame for _, frame in messages]
    assert (parser.frames, parser.malformed, parser.oversize) == (len(messages), 0, 0)


@settings(deadline=None)
@given(st.binary(max_size=600), st.lists(st.integers(min_value=0), max_size=8))
def test_arbitrary_bytes_never_raise_and_chunking_does_not_matter(data, cuts):
    items, parser = parse(data, cuts, max_frame=256)
    assert items == parse(data, [], max_frame=256)[0]
    frames_out = [i for i in items if isinstance(i, EslFrame)]
    bad = [i for i in items if isinstance(i, EslMalformed)]
    assert len(frames_out) + len(bad) == len(items)
    assert parser.frames == len(frames_out) and parser.malformed + parser.oversize == len(bad)
    assert all(len(b.sample) <= 200 for b in bad)


@settings(deadline=None)
@given(st.binary(max_size=300).filter(lambda g: b"\n" not in g and b":" not in g and g.strip(b"\r")),
       st.lists(frames(), min_size=1, max_size=4), st.lists(st.integers(min_value=0), max_size=5))
def test_the_stream_goes_on_after_garbage(garbage, messages, cuts):
    stream = garbage + b"\n\n" + b"".join(wire for wire, _ in messages)
    items, parser = parse(stream, cuts)
    assert isinstance(items[0], EslMalformed) and parser.malformed == 1
    assert items[1:] == [frame for _, frame in messages]


@settings(deadline=None)
@given(st.lists(frames(), min_size=1, max_size=5), st.integers(min_value=0))
def test_a_truncated_stream_keeps_every_whole_frame_and_reports_the_rest_once(messages, cut):
    stream = b"".join(wire for wire, _ in messages)
    cut %= len(stream) + 1
    items, _ = parse(stream[:cut], [])
    expected = [frame for _, frame in messages]
    whole = [i for i in items if isinstance(i, EslFrame)]
    assert whole == expected[:len(whole)]
    rest = items[len(whole):]
    assert len(rest) <= 1 and all(isinstance(i, EslMalformed) and i.reason.startswith("stream ended") for i in rest)
    if len(whole) < len(expected) and stream[:cut].strip(b"\r\n") and cut not in _ends(messages):
        assert len(rest) == 1


def _ends(messages) -> set[int]:
    ends, total = set(), 0
    for wire, _ in messages:
        total += len(wire)
        ends.add(total)
    return ends


@settings(deadline=None)
@given(st.lists(st.one_of(frames(), st.integers(min_value=300, max_value=3000)), max_size=6),
       st.lists(st.integers(min_value=0), max_size=6))
def test_oversize_frames_are_skipped_without_breaking_the_framing(parts, cuts):
    stream, expected = b"", []
    for part in parts:
        if isinstance(part, int):
            stream += f"Content-Type: api/response\nContent-Length: {part}\n\n".encode() + b"\n\n" * (part // 2) + b"z" * (part % 2)
            expected.append("oversize")
        else:
            stream += part[0]
            expected.append(part[1] if len(part[1].body) <= 256 else "oversize")
    items, parser = parse(stream, cuts, max_frame=256)
    assert [("oversize" if isinstance(i, EslMalformed) and i.oversize else i) for i in items] == expected


@settings(deadline=None)
@given(st.binary(max_size=400), st.sampled_from([EVENT_PLAIN, EVENT_JSON]))
def test_event_bodies_raise_only_event_errors(body, content_type):
    frame = EslFrame(content_type, (), body)
    try:
        event = EslEvent.from_frame(frame)
    except EslEventError:
        pass
    else:
        event.get("Event-Name")
        event.get_all("Unique-ID")
        list(event.headers())
    try:
        EslCallMapper(pbx="fs1").map_frame(frame)
    except EslMappingError:
        pass


LEGS = ["a1", "a2", "b1", "b2", "c1"]
CAUSES = ["NORMAL_CLEARING", "NO_ANSWER", "USER_BUSY", "ORIGINATOR_CANCEL", "LOSE_RACE", "CALL_REJECTED", "%ZZ", ""]


@st.composite
def channel_events(draw) -> tuple[str, list[tuple[str, str]]]:
    name = draw(st.sampled_from([*CHANNEL_EVENTS, "HEARTBEAT", "CUSTOM"]))
    headers = [("Event-Name", name)]
    optional = {
        "Event-Date-Timestamp": st.one_of(st.integers(0, 10**10).map(lambda s: str(T0 + s)), st.sampled_from(["", "x", "-1"])),
        "Unique-ID": st.sampled_from(LEGS),
        "Other-Type": st.sampled_from(["originator", "originatee"]),
        "Other-Leg-Unique-ID": st.sampled_from(LEGS),
        "variable_call_uuid": st.sampled_from(LEGS),
        "Caller-Destination-Number": st.sampled_from(["200", "+4681234500", "Åsa"]),
        "Caller-Channel-Answered-Time": st.sampled_from(["0", str(T0 + 5), "soon"]),
        "Hangup-Cause": st.sampled_from(CAUSES),
        "variable_hangup_cause_q850": st.sampled_from(["16", "19", "x"]),
        "Event-Subclass": st.sampled_from(["callcenter::info", "sofia::register"]),
        "CC-Action": st.sampled_from(["member-queue-start", "member-queue-end", "bridge-agent-start"]),
        "CC-Queue": st.just("q1"),
        "CC-Member-Session-UUID": st.sampled_from(LEGS),
        "CC-Agent-UUID": st.sampled_from(LEGS),
        "variable_cc_side": st.just("agent"),
        "variable_cc_member_session_uuid": st.sampled_from(LEGS),
    }
    for key in draw(st.lists(st.sampled_from(sorted(optional)), unique=True)):
        headers.append((key, draw(optional[key])))
    return draw(st.sampled_from(["plain", "json"])), headers


def snapshot_rows(draw_rows) -> bytes:
    return json.dumps({"row_count": len(draw_rows), "rows": draw_rows}).encode()


rows = st.lists(st.fixed_dictionaries({"uuid": st.sampled_from(LEGS), "direction": st.sampled_from(["inbound", "outbound"]),
                                       "call_uuid": st.sampled_from(["", *LEGS]), "callstate": st.sampled_from(["RINGING", "ACTIVE"]),
                                       "created_epoch": st.sampled_from(["1763280000", "x"]), "dest": st.just("200")}), max_size=4)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(channel_events(), rows, st.just("reconnect")), max_size=30))
def test_any_sequence_of_events_and_snapshots_reports_each_key_once(sequence):
    mapper = EslCallMapper(pbx="fs1")
    keys: list[str] = []
    for item in sequence:
        if item == "reconnect":
            mapper.connection_started()
            continue
        try:
            if isinstance(item, list):
                events, _ = mapper.map_snapshot(snapshot_rows(item))
            else:
                fmt, headers = item
                body = plain_body(headers) if fmt == "plain" else json_body(headers)
                events = mapper.map_frame(EslFrame(EVENT_PLAIN if fmt == "plain" else EVENT_JSON, (), body)) or []
        except EslMappingError:
            continue
        keys += [e.key for e in events]
        assert all(e.pbx == "fs1" and e.key.startswith("esl:") for e in events)
    assert len(keys) == len(set(keys))
