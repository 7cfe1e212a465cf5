"""``POST /v1/webhooks/{provider}``: a body the provider signed is stored as call events; a bad signature is 401, nothing stored."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from nacl.signing import SigningKey

from adapters.call_store import CallStore
from adapters.http import WebhookSource
from adapters.pbx.webhooks import twilio_signature
from tests.adapters.http_server import LATER, SLUG, prepare, running

RECEPTION = "+46812345600"
"""The sample tenant's reception number: a call to it is the tenant's."""
TWILIO_TOKEN = "twilio-auth-token-for-tests"
TELNYX_KEY = SigningKey(b"\x01" * 32)


def stored_calls(db: Path) -> int:
    store = CallStore(db)
    try:
        return store.count(SLUG)
    finally:
        store.close()


def sources() -> dict[str, WebhookSource]:
    public = base64.b64encode(bytes(TELNYX_KEY.verify_key)).decode()
    return {"twilio": WebhookSource(key=TWILIO_TOKEN), "telnyx": WebhookSource(key=public)}


@pytest.mark.sqlite_only  # call events are kept in SQLite stores only; see tests/backends.py
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


@pytest.mark.sqlite_only  # call events are kept in SQLite stores only; see tests/backends.py
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


@pytest.mark.sqlite_only  # call events are kept in SQLite stores only; see tests/backends.py
async def test_a_signed_body_that_is_not_the_providers_format_is_422(db: Path) -> None:
    prepare(db)
    body = b'{"hello": "world"}'
    stamp = str(int(LATER.timestamp()))
    signature = base64.b64encode(TELNYX_KEY.sign(stamp.encode() + b"|" + body).signature).decode()
    async with running(db, webhooks=sources()) as url, httpx.AsyncClient(base_url=url) as http:
        refused = await http.post("/v1/webhooks/telnyx", content=body,
                                  headers={"telnyx-signature-ed25519": signature, "telnyx-timestamp": stamp})
    assert refused.status_code == 422 and refused.json()["error"]["rule"] == "webhook_format"
