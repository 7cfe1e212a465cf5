"""Provider webhooks: each format mapped to call events, signatures (good, bad, expired), saved-payload files, and fuzzing
that a bad body gives one clear error. Traffic: ``tests/data/webhooks`` (its README cites the documentation)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.signing import SigningKey

from adapters.pbx.webhooks import (
    WebhookError,
    WebhookSignatureError,
    WebhookState,
    iter_saved_payloads,
    parse_webhook,
    twilio_signature,
    verify_webhook,
)
from core.calls.events import CallEnded, CallStarted, LegAnswered, LegEnded, LegRinging

DATA = Path(__file__).resolve().parents[1] / "data" / "webhooks"
SESSION = "63dcc852-e29f-11ee-ab82-02420a0d0870"
IN_LEG = "63e33fb6-e29f-11ee-815b-02420a0d0870"
OUT_LEG = "20623dea-e2a0-11ee-86f0-02420a0d0870"


def replay(provider: str, name: str, state: WebhookState | None = None) -> tuple[list, WebhookState]:
    state = state or WebhookState()
    events = []
    for body in iter_saved_payloads((DATA / name).read_bytes()):
        events += parse_webhook(provider, body, {}, pbx="telnyx", state=state)
    return events, state


def rows(events: list) -> list[tuple]:
    out = []
    for e in events:
        row: tuple = (type(e).__name__, e.key, e.call_id, e.at.isoformat())
        if isinstance(e, CallStarted):
            row += (e.dialled, e.caller)
        elif isinstance(e, LegRinging | LegAnswered):
            row += (e.leg, e.endpoint)
        elif isinstance(e, LegEnded):
            row += (e.leg, e.status)
        elif isinstance(e, CallEnded):
            row += (e.cause, e.cause_text)
        out.append(row)
    return out


@pytest.mark.parametrize("provider", ["telnyx", "telnyx-v2"])
def test_telnyx_v2_transfer_to_a_mobile(provider):
    events, state = replay(provider, "telnyx_v2_transfer.ndjson")
    assert rows(events) == [
        ("CallStarted", f"telnyx:{IN_LEG}:started", SESSION, "2025-11-16T08:00:00+00:00", "+4681234500", "+46701234567"),
        ("LegRinging", f"telnyx:{OUT_LEG}:ringing", SESSION, "2025-11-16T08:00:01.200000+00:00", OUT_LEG, "+46709876543"),
        ("LegAnswered", f"telnyx:{OUT_LEG}:answered", SESSION, "2025-11-16T08:00:09.500000+00:00", OUT_LEG, "+46709876543"),
        ("LegAnswered", f"telnyx:{OUT_LEG}:answered", SESSION, "2025-11-16T08:00:09.600000+00:00", OUT_LEG, "+46709876543"),
        ("LegEnded", f"telnyx:{OUT_LEG}:ended", SESSION, "2025-11-16T08:02:10+00:00", OUT_LEG, "answered"),
        ("CallEnded", f"telnyx:{IN_LEG}:call_ended", SESSION, "2025-11-16T08:02:10.100000+00:00", None, "normal_clearing"),
    ]
    assert (state.webhooks, state.unknown, state.events) == (9, 1, 6)
    assert {e.pbx for e in events} == {"telnyx"}
    assert events[2].answered_by == "number"


def test_without_state_an_unknown_leg_is_taken_for_a_destination():
    bodies = list(iter_saved_payloads((DATA / "telnyx_v2_transfer.ndjson").read_bytes()))
    (answered,) = parse_webhook("telnyx", bodies[1], {}, pbx="t")  # the caller's leg, answered by the application
    assert isinstance(answered, LegAnswered) and answered.leg == IN_LEG


@pytest.mark.parametrize("provider", ["telnyx", "telnyx-v1"])
def test_telnyx_v1_busy_destination(provider):
    events, _ = replay(provider, "telnyx_v1_busy.json")
    call = "428c31b6-abf3-3bc1-b7f4-5013ef9657c1"
    assert rows(events) == [
        ("CallStarted", "telnyx:428c31b6-7af4-4bcb-b7f5-5013ef9657c1:started", call, "2025-11-16T09:00:00+00:00", "+4681234510",
         "+35319605860"),
        ("LegRinging", "telnyx:52f1c8a0-7af4-4bcb-b7f5-5013ef9657c2:ringing", call, "2025-11-16T09:00:01+00:00",
         "52f1c8a0-7af4-4bcb-b7f5-5013ef9657c2", "+46701112233"),
        ("LegEnded", "telnyx:52f1c8a0-7af4-4bcb-b7f5-5013ef9657c2:ended", call, "2025-11-16T09:00:04+00:00",
         "52f1c8a0-7af4-4bcb-b7f5-5013ef9657c2", "busy"),
        ("CallEnded", "telnyx:428c31b6-7af4-4bcb-b7f5-5013ef9657c1:call_ended", call, "2025-11-16T09:00:05+00:00", None,
         "normal_clearing"),
    ]


@pytest.mark.parametrize("provider", ["telnyx", "texml"])
def test_texml_status_callbacks_of_a_dial_nobody_answers(provider):
    events, _ = replay(provider, "texml_dial.form.txt")
    parent = "v3:9X2vxPDFY2RHSJ1EdMS0RHRksMTg7ldNxdjWbVr9zBjbGjGsSe-aiQ"
    assert rows(events) == [
        ("CallStarted", f"texml:{parent}:started", parent, "2025-11-16T10:30:00+00:00", "+4681234520", "+35319605860"),
        ("LegRinging", "texml:v3:dialLeg0001:ringing", parent, "2025-11-16T10:30:01+00:00", "v3:dialLeg0001", "sip:201@pbx.example.net"),
        ("LegEnded", "texml:v3:dialLeg0001:ended", parent, "2025-11-16T10:30:31.731479+00:00", "v3:dialLeg0001", "no_answer"),
        ("CallStarted", f"texml:{parent}:started", parent, "2025-11-16T10:31:00+00:00", "+4681234520", "+35319605860"),
        ("CallEnded", f"texml:{parent}:call_ended", parent, "2025-11-16T10:31:00+00:00", None, "normal_clearing"),
    ]  # the repeated CallStarted has the key of the first: stored once


def test_texml_callback_as_json():
    body = json.dumps({"AccountSid": "f5586561", "CallSid": "v3:abc", "CallStatus": "in-progress", "From": "+35319605860",
                       "To": "+13129457420", "SequenceNumber": 2, "ShakenStirValidated": True, "ParentCallSid": "v3:parent",
                       "Timestamp": "2024-01-15T10:30:00Z"}).encode()
    (answered,) = parse_webhook("texml", body, {}, pbx="t")
    assert isinstance(answered, LegAnswered) and (answered.call_id, answered.leg) == ("v3:parent", "v3:abc")


def test_twilio_status_callbacks_of_an_answered_dial():
    events, _ = replay("twilio", "twilio_dial.form.txt")
    parent, child = "CA1111111111111111111111111111111a", "CA2222222222222222222222222222222b"
    assert rows(events) == [
        ("CallStarted", f"twilio:{parent}:started", parent, "2025-11-16T11:00:00+00:00", "+4681234530", "+46701234567"),
        ("LegRinging", f"twilio:{child}:ringing", parent, "2025-11-16T11:00:01+00:00", child, "+46709876543"),
        ("LegAnswered", f"twilio:{child}:answered", parent, "2025-11-16T11:00:07+00:00", child, "+46709876543"),
        ("LegEnded", f"twilio:{child}:ended", parent, "2025-11-16T11:01:40+00:00", child, "answered"),
        ("CallStarted", f"twilio:{parent}:started", parent, "2025-11-16T11:01:40+00:00", "+4681234530", "+46701234567"),
        ("CallEnded", f"twilio:{parent}:call_ended", parent, "2025-11-16T11:01:40+00:00", None, "completed"),
    ]


@pytest.mark.parametrize(("status", "expected"), [("busy", "busy"), ("no-answer", "no_answer"), ("failed", "failed"),
                                                  ("canceled", "cancel"), ("completed", "answered")])
def test_twilio_leg_end_statuses(status, expected):
    body = (f"CallSid=CA9&ParentCallSid=CA1&CallStatus={status}&To=%2B4670&Timestamp=Sun%2C%2016%20Nov%202025%2011%3A00%3A00%20%2B0000"
            ).encode()
    (ended,) = parse_webhook("twilio", body, {}, pbx="t")
    assert isinstance(ended, LegEnded) and ended.status == expected


@pytest.mark.parametrize(("provider", "body", "message"), [
    ("telnyx", b"{}", "neither call control v2"),
    ("telnyx", b"[1, 2]", "not a JSON object"),
    ("telnyx-v2", b'{"data": {"event_type": "call.hangup", "occurred_at": "2025-11-16T08:00:00", "payload": {}}}', "timezone"),
    ("telnyx-v2", b'{"data": {"event_type": "call.hangup", "occurred_at": "2025-11-16T08:00:00Z", "payload": {"call_leg_id": "x"}}}',
     "call_session_id"),
    ("telnyx-v1", b'{"event_type": "call_hangup", "payload": {"call_leg_id": "x", "call_session_id": "y"}}', "when it happened"),
    ("twilio", b"CallSid=CA1&CallStatus=ringing", "no Timestamp"),
    ("twilio", b"CallSid=CA1&CallStatus=ringing&Timestamp=yesterday", "neither ISO 8601 nor RFC 2822"),
    ("twilio", b"CallSid=CA1&CallStatus=ringing&Timestamp=2025-11-16T08%3A00%3A00", "no time zone"),
    ("twilio", b"CallSid=CA1&CallStatus=dialling&Timestamp=2025-11-16T08%3A00%3A00Z", "CallStatus"),
    ("twilio", b"just some text", "not form-encoded"),
    ("texml", b"\xff\xfe", "not UTF-8"),
    ("twilio", b"CallSid=" + b"x" * 300 + b"&CallStatus=ringing&Timestamp=2025-11-16T08%3A00%3A00Z", "length"),
    ("pigeon", b"{}", "unknown webhook provider"),
])
def test_bad_bodies_are_one_clear_error(provider, body, message):
    with pytest.raises(WebhookError, match=message):
        parse_webhook(provider, body, {}, pbx="t")


@settings(deadline=None)
@given(st.sampled_from(["telnyx", "telnyx-v2", "telnyx-v1", "texml", "twilio"]),
       st.one_of(st.binary(max_size=300), st.text(max_size=200).map(str.encode),
                 st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                              lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
                                  st.sampled_from(["data", "event_type", "payload", "occurred_at", "CallSid", "CallStatus",
                                                   "Timestamp", "call_leg_id", "call_session_id", "x"]), inner, max_size=5),
                              max_leaves=12).map(lambda v: json.dumps(v).encode())))
def test_any_body_maps_or_fails_with_one_clear_error(provider, body):
    try:
        events = parse_webhook(provider, body, {}, pbx="t")
    except WebhookError as error:
        assert str(error) and "\n" not in str(error).strip()
    else:
        assert all(e.pbx == "t" for e in events)


# -- signatures ----------------------------------------------------------------------------------------------------------

NOW = datetime(2025, 11, 16, 8, 0, 5, tzinfo=UTC)


def telnyx_signed(key: SigningKey, body: bytes, when: datetime) -> dict[str, str]:
    timestamp = str(int(when.timestamp()))
    signature = key.sign(f"{timestamp}|".encode() + body).signature
    return {"Telnyx-Signature-Ed25519": base64.b64encode(signature).decode(), "Telnyx-Timestamp": timestamp}


@pytest.fixture(scope="module")
def telnyx_key() -> SigningKey:
    return SigningKey.generate()


def public(key: SigningKey) -> str:
    return base64.b64encode(bytes(key.verify_key)).decode()


def test_telnyx_signature_good(telnyx_key):
    body = next(iter_saved_payloads((DATA / "telnyx_v2_transfer.ndjson").read_bytes()))
    headers = telnyx_signed(telnyx_key, body, NOW - timedelta(seconds=5))
    verify_webhook("telnyx", body, headers, secret_or_public_key=public(telnyx_key), now=NOW)
    verify_webhook("texml", body, {k.lower(): v for k, v in headers.items()}, secret_or_public_key=bytes(telnyx_key.verify_key),
                   now=NOW)


@pytest.mark.parametrize("change", ["body", "timestamp", "key", "signature", "missing", "garbled"])
def test_telnyx_signature_bad(telnyx_key, change):
    body = b'{"data": {}}'
    headers = telnyx_signed(telnyx_key, body, NOW)
    key = public(telnyx_key)
    if change == "body":
        body = b'{"data": {} }'
    elif change == "timestamp":
        headers["Telnyx-Timestamp"] = str(int(NOW.timestamp()) + 1)
    elif change == "key":
        key = public(SigningKey.generate())
    elif change == "signature":
        headers["Telnyx-Signature-Ed25519"] = base64.b64encode(b"\0" * 64).decode()
    elif change == "missing":
        del headers["Telnyx-Signature-Ed25519"]
    else:
        headers["Telnyx-Signature-Ed25519"] = "not base64!"
    with pytest.raises(WebhookSignatureError):
        verify_webhook("telnyx", body, headers, secret_or_public_key=key, now=NOW)


@pytest.mark.parametrize("age", [timedelta(minutes=5, seconds=1), -timedelta(minutes=6), timedelta(days=400)])
def test_telnyx_signature_expired(telnyx_key, age):
    body = b'{"data": {}}'
    headers = telnyx_signed(telnyx_key, body, NOW - age)
    with pytest.raises(WebhookSignatureError, match="outside"):
        verify_webhook("telnyx", body, headers, secret_or_public_key=public(telnyx_key), now=NOW)
    verify_webhook("telnyx", body, headers, secret_or_public_key=public(telnyx_key), now=NOW, tolerance=abs(age) + timedelta(seconds=1))


def test_twilio_signature_matches_the_documented_example():
    """Twilio's own example (twilio.com/docs/usage/security; the Twilio libraries test it): this URL, these parameters and the
    auth token 12345 sign as 0/KCTR6DLpKmkAf8muzZqo1nDgQ=."""
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    body = b"CallSid=CA1234567890ABCDE&Caller=%2B12349013030&Digits=1234&From=%2B12349013030&To=%2B18005551212"
    assert twilio_signature("12345", url, body) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    verify_webhook("twilio", body, {"X-Twilio-Signature": "0/KCTR6DLpKmkAf8muzZqo1nDgQ="}, secret_or_public_key="12345", now=NOW,
                   url=url)


@pytest.mark.parametrize("change", ["token", "url", "body", "missing", "no url"])
def test_twilio_signature_bad(change):
    url = "https://pbx.example.net/twilio/status"
    body = (DATA / "twilio_dial.form.txt").read_bytes().splitlines()[0]
    headers = {"x-twilio-signature": twilio_signature("token", url, body)}
    token, called = "token", url
    if change == "token":
        token = "other"
    elif change == "url":
        called = url + "?x=1"
    elif change == "body":
        body = body.replace(b"ringing", b"completed")
    elif change == "missing":
        headers = {}
    else:
        called = None
    with pytest.raises(WebhookSignatureError):
        verify_webhook("twilio", body, headers, secret_or_public_key=token, now=NOW, url=called)
    if change in ("token", "url", "body"):
        verify_webhook("twilio", body, {"X-Twilio-Signature": twilio_signature(token, called, body)}, secret_or_public_key=token,
                       now=NOW, url=called)


def test_verify_needs_an_aware_now_and_a_known_provider():
    with pytest.raises(ValueError, match="aware"):
        verify_webhook("telnyx", b"", {}, secret_or_public_key="k", now=datetime(2025, 1, 1))
    with pytest.raises(WebhookError, match="unknown"):
        verify_webhook("pigeon", b"", {}, secret_or_public_key="k", now=NOW)


# -- saved payloads ------------------------------------------------------------------------------------------------------


def test_saved_payloads_in_each_layout():
    one = b'{"data": {"event_type": "call.hangup"}}'
    assert list(iter_saved_payloads(b"\n " + one + b"\n")) == [one]
    assert [json.loads(b) for b in iter_saved_payloads(b"[" + one + b", " + one + b"]")] == [json.loads(one)] * 2
    assert list(iter_saved_payloads(one + b"\n\n" + one + b"\r\n")) == [one, one]
    assert list(iter_saved_payloads(b"CallSid=1&CallStatus=ringing\nCallSid=2&CallStatus=busy\n")) == [
        b"CallSid=1&CallStatus=ringing", b"CallSid=2&CallStatus=busy"]
    assert list(iter_saved_payloads(b"  \n")) == []
    assert len(list(iter_saved_payloads((DATA / "telnyx_v2_transfer.ndjson").read_bytes()))) == 9
    assert len(list(iter_saved_payloads((DATA / "telnyx_v1_busy.json").read_bytes()))) == 4


def test_state_is_bounded():
    state = WebhookState(max_legs=3)
    for i in range(10):
        state.note(f"leg{i}", True)
    assert state.incoming("leg0") is None and state.incoming("leg9") is True
