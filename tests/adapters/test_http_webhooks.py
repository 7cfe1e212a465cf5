"""``POST /v1/webhooks/{provider}``: a body the provider signed is stored as call events; a bad signature is 401, nothing stored."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from nacl.signing import SigningKey

from adapters.bootstrap import open_call_store
from adapters.http import WebhookSource
from adapters.pbx.webhooks import twilio_signature
from tests.adapters.http_server import LATER, SLUG, prepare, running

RECEPTION = "+46812345600"
"""The sample tenant's reception number: a call to it is the tenant's."""
TWILIO_TOKEN = "twilio-auth-token-for-tests"
TELNYX_KEY = SigningKey(b"\x01" * 32)


def stored_calls(db: Path) -> int:
    store = open_call_store(db)
    try:
        return store.count(SLUG)
    finally:
        store.close()


def sources() -> dict[str, WebhookSource]:
    public = base64.b64encode(bytes(TELNYX_KEY.verify_key)).decode()
    return {"twilio": WebhookSource(key=TWILIO_TOKEN), "telnyx": WebhookSource(key=public)}


async def test_a_signed_twilio_callback_is_stored_and_a_bad_signature_is_401(db: Path) -> None:
    prepare(db)
    body = urlencode({"CallSid": "CA1", "CallStatus": "ringing", "From": "+441234567890", "To": RECEPTION,
                      "Timestamp": "Mon, 23 Nov 2026 10:00:00 +0000"}).encode()
    async with running(db, webhooks=sources()) as url, httpx.AsyncClient(base_url=url) as http:
        endpoint = f"{url}/v1/webhooks/twilio"
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        forged = await http.post("/v1/webhooks/twilio", content=body,
                                 headers={**form, "X-Twilio-Signature": twilio_signature("wrong-token", endpoint, body)})
        assert forged.status_code == 401 and forged.json()["error"]["rule"] == "bad_signature"
        assert stored_calls(db) == 0
        good = await http.post("/v1/webhooks/twilio", content=body,
                               headers={**form, "X-Twilio-Signature": twilio_signature(TWILIO_TOKEN, endpoint, body)})
        again = await http.post("/v1/webhooks/twilio", content=body,
                                headers={**form, "X-Twilio-Signature": twilio_signature(TWILIO_TOKEN, endpoint, body)})
        unknown = await http.post("/v1/webhooks/vonage", content=body)
    assert good.status_code == 200, good.text
    assert good.json() == {"provider": "twilio", "received": 1, "stored": 1, "duplicates": 0, "unattributed": 0}
    assert again.json()["duplicates"] == 1  # a provider's retry is stored once
    assert stored_calls(db) == 1
    assert unknown.status_code == 404


async def test_a_signed_telnyx_webhook_is_stored_and_an_altered_one_is_401(db: Path) -> None:
    prepare(db)
    body = json.dumps({"data": {"event_type": "call.initiated", "occurred_at": LATER.isoformat(), "payload": {
        "call_leg_id": "leg-1", "call_session_id": "session-1", "from": "+441234567890", "to": RECEPTION,
        "direction": "incoming"}}}).encode()
    stamp = str(int(LATER.timestamp()))
    signature = base64.b64encode(TELNYX_KEY.sign(stamp.encode() + b"|" + body).signature).decode()
    headers = {"telnyx-signature-ed25519": signature, "telnyx-timestamp": stamp, "Content-Type": "application/json"}
    async with running(db, webhooks=sources()) as url, httpx.AsyncClient(base_url=url) as http:
        altered = await http.post("/v1/webhooks/telnyx", content=body.replace(b"leg-1", b"leg-2"), headers=headers)
        unsigned = await http.post("/v1/webhooks/telnyx", content=body, headers={"Content-Type": "application/json"})
        good = await http.post("/v1/webhooks/telnyx", content=body, headers=headers)
    assert (altered.status_code, unsigned.status_code) == (401, 401)
    assert good.status_code == 200, good.text
    assert good.json()["stored"] == 1
    assert stored_calls(db) == 1


async def test_a_signed_body_that_is_not_the_providers_format_is_422(db: Path) -> None:
    prepare(db)
    body = b'{"hello": "world"}'
    stamp = str(int(LATER.timestamp()))
    signature = base64.b64encode(TELNYX_KEY.sign(stamp.encode() + b"|" + body).signature).decode()
    async with running(db, webhooks=sources()) as url, httpx.AsyncClient(base_url=url) as http:
        refused = await http.post("/v1/webhooks/telnyx", content=body,
                                  headers={"telnyx-signature-ed25519": signature, "telnyx-timestamp": stamp})
    assert refused.status_code == 422 and refused.json()["error"]["rule"] == "webhook_format"


def nested(levels: int) -> bytes:
    """A Telnyx v2 envelope whose payload nests ``levels`` arrays deep (the envelope itself is one more level)."""
    return b'{"data": {"event_type": "call.initiated", "payload": ' + b"[" * levels + b"]" * levels + b"}}"


def telnyx_signed(body: bytes) -> dict[str, str]:
    stamp = str(int(LATER.timestamp()))
    signature = base64.b64encode(TELNYX_KEY.sign(stamp.encode() + b"|" + body).signature).decode()
    return {"telnyx-signature-ed25519": signature, "telnyx-timestamp": stamp, "Content-Type": "application/json"}


@pytest.mark.parametrize("levels", [63, 100_000])
async def test_a_signed_webhook_nested_too_deep_is_400_and_stores_nothing(db: Path, levels: int) -> None:
    """The JSON depth limit of every body (64, ``adapters/inputs.py``) holds for webhooks, whoever signed them: msgspec
    recurses, and 100,000 levels ended in RecursionError, a 500. 63 levels in the envelope's two make 65."""
    prepare(db)
    body = nested(levels)
    async with running(db, webhooks=sources()) as url, httpx.AsyncClient(base_url=url) as http:
        telnyx = await http.post("/v1/webhooks/telnyx", content=body, headers=telnyx_signed(body))
        endpoint = f"{url}/v1/webhooks/twilio"
        twilio = await http.post("/v1/webhooks/twilio", content=body,
                                 headers={"X-Twilio-Signature": twilio_signature(TWILIO_TOKEN, endpoint, body),
                                          "Content-Type": "application/json"})
    for refused in (telnyx, twilio):
        assert refused.status_code == 400, refused.text
        error = refused.json()["error"]
        assert error["rule"] == "too_deep"
        assert "nested more than 64 levels deep" in error["message"]
    assert stored_calls(db) == 0


async def test_a_webhook_at_the_depth_limit_passes_the_limits_and_meets_the_signature_check_then_the_parser(db: Path) -> None:
    """64 levels is within the limit: an unsigned body is then 401 (the signature is still checked), a signed one reaches
    the provider's parser (here 422: a payload is an object, not arrays)."""
    prepare(db)
    body = nested(62)
    async with running(db, webhooks=sources()) as url, httpx.AsyncClient(base_url=url) as http:
        unsigned = await http.post("/v1/webhooks/telnyx", content=body, headers={"Content-Type": "application/json"})
        signed = await http.post("/v1/webhooks/telnyx", content=body, headers=telnyx_signed(body))
    assert unsigned.status_code == 401 and unsigned.json()["error"]["rule"] == "bad_signature"
    assert signed.status_code == 422 and signed.json()["error"]["rule"] == "webhook_format"
    assert stored_calls(db) == 0


@pytest.mark.parametrize(("body", "rule"), [
    (nested(100), "too_deep"),
    (b'{"data": {"event_type": "call.initiated", "event_type": "call.hangup"}}', "duplicate_key"),
    (b'{"data": {"event_type": ', "not_json"),
    (b"CallSid=CA1&CallStatus=ringing&From=\xe9", "not_utf8"),
], ids=["too_deep", "duplicate_key", "not_json", "not_utf8"])
async def test_an_unsigned_webhook_that_breaks_a_body_limit_is_400_before_the_signature_is_looked_at(
        db: Path, body: bytes, rule: str) -> None:
    """Limits first, signature second, as on POST /v1/commands (the body is checked before the token): the checks are
    cheaper than an Ed25519 verification, no parsing (Twilio's check reads the form) sees a body they refuse, and they
    tell an unsigned client nothing but the published rules."""
    prepare(db)
    async with running(db, webhooks=sources()) as url, httpx.AsyncClient(base_url=url) as http:
        telnyx = await http.post("/v1/webhooks/telnyx", content=body, headers={"Content-Type": "application/json"})
        twilio = await http.post("/v1/webhooks/twilio", content=body, headers={"X-Twilio-Signature": "AAAA"})
    for refused in (telnyx, twilio):
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"]["rule"] == rule
        assert refused.json()["error"]["message"].startswith("body: ")
    assert stored_calls(db) == 0


async def test_a_webhook_over_the_size_limit_is_413_and_stores_nothing(db: Path) -> None:
    prepare(db)
    body = b'{"data": {"event_type": "call.initiated", "pad": "' + b"x" * (256 * 1024) + b'"}}'
    async with running(db, webhooks=sources()) as url, httpx.AsyncClient(base_url=url) as http:
        refused = await http.post("/v1/webhooks/telnyx", content=body, headers=telnyx_signed(body))
    assert refused.status_code == 413 and refused.json()["error"]["rule"] == "body_too_large"
    assert stored_calls(db) == 0
