"""Provider webhooks as callroute's call events, and the providers' signature checks. Pure: no I/O, no clock.

Formats, each validated with its own msgspec Structs before anything is mapped:

- **Telnyx call control v2** (``{"data": {"event_type": "call.initiated", "occurred_at", "payload": {...}}}``);
- **Telnyx call control v1** (``{"event_type": "call_initiated", "created_at", "payload": {..., "occurred_at"}}``);
- **Telnyx TeXML status callbacks** (form-encoded, or JSON, ``CallSid``/``CallStatus``/``ParentCallSid``...);
- **Twilio Voice status callbacks** (form-encoded ``CallSid``/``CallStatus`` queued, ringing, in-progress, completed,
  busy, no-answer, failed, canceled; ``ParentCallSid`` for a leg of a ``<Dial>``).

Provider names for ``parse_webhook``: ``telnyx`` (any of the three Telnyx forms, told apart by their shape),
``telnyx-v2``, ``telnyx-v1``, ``texml``, ``twilio``.

Call control delivers one webhook per leg, and its ``call.answered``/``call.hangup`` payloads do not
say whether the leg is the caller's (``call.initiated`` does, in ``direction``). Pass the same
``WebhookState`` to every call of one intake (or backfill run) and the legs seen initiated are
told apart; without it an unknown leg is taken for a destination (its answer a ``LegAnswered``,
its hangup a ``LegEnded``). TeXML and Twilio callbacks name the parent call of a dialled leg, and
need no state.

Signatures: Telnyx signs ``f"{timestamp}|{body}"`` with Ed25519 (headers ``telnyx-signature-ed25519``,
base64, and ``telnyx-timestamp``, Unix seconds), checked with PyNaCl against the account's public
key and a timestamp tolerance; Twilio signs the full URL followed by the sorted POST parameters
with HMAC-SHA1 keyed by the auth token (``X-Twilio-Signature``, base64).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Annotated, Literal
from urllib.parse import parse_qsl

import msgspec
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from core.calls.events import CallEnded, CallEvent, CallStarted, LegAnswered, LegEnded, LegRinging, LegStatus

PROVIDERS = ("telnyx", "telnyx-v2", "telnyx-v1", "texml", "twilio")
DEFAULT_TOLERANCE = timedelta(minutes=5)
MAX_BODY = 256 * 1024

Text = Annotated[str, msgspec.Meta(max_length=200)]
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class WebhookError(ValueError):
    """A webhook body that is not what its provider sends (one clear message; nothing was mapped)."""


class WebhookSignatureError(WebhookError):
    """A missing, malformed, wrong or expired signature."""


class WebhookState:
    """What one intake remembers between webhooks: the direction of call-control legs (bounded), and counters."""

    def __init__(self, max_legs: int = 100_000) -> None:
        self._incoming: OrderedDict[str, bool] = OrderedDict()
        self._max_legs = max_legs
        self.webhooks = 0
        self.events = 0
        self.unknown = 0
        """Well-formed webhooks of event types callroute does not map (``call.dtmf.received``, ``call.speak.ended``...)."""

    def note(self, leg: str, incoming: bool) -> None:
        self._incoming[leg] = incoming
        self._incoming.move_to_end(leg)
        if len(self._incoming) > self._max_legs:
            self._incoming.popitem(last=False)

    def incoming(self, leg: str) -> bool | None:
        return self._incoming.get(leg)


# -- Telnyx call control ------------------------------------------------------------------------------------------------


class TelnyxPayload(msgspec.Struct, frozen=True, kw_only=True):
    call_control_id: Text | None = None
    call_leg_id: Id
    call_session_id: Id
    connection_id: Text | None = None
    from_: Text | None = msgspec.field(default=None, name="from")
    to: Text | None = None
    direction: Literal["incoming", "outgoing"] | None = None
    state: Text | None = None
    hangup_cause: Text | None = None
    hangup_source: Text | None = None
    sip_hangup_cause: Text | None = None
    start_time: datetime | None = None
    occurred_at: Annotated[datetime, msgspec.Meta(tz=True)] | None = None
    """v1 carries the instant in the payload."""


class TelnyxV2Data(msgspec.Struct, frozen=True, kw_only=True):
    event_type: Id
    id: Text | None = None
    occurred_at: Annotated[datetime, msgspec.Meta(tz=True)]
    record_type: Text | None = None
    payload: msgspec.Raw


class TelnyxV2Envelope(msgspec.Struct, frozen=True, kw_only=True):
    data: TelnyxV2Data


class TelnyxV1Envelope(msgspec.Struct, frozen=True, kw_only=True):
    event_type: Id
    id: Text | None = None
    created_at: Annotated[datetime, msgspec.Meta(tz=True)] | None = None
    record_type: Text | None = None
    payload: msgspec.Raw


_V2_TYPES = {"call.initiated": "initiated", "call.answered": "answered", "call.bridged": "bridged", "call.hangup": "hangup"}
_V1_TYPES = {"call_initiated": "initiated", "call_answered": "answered", "call_bridged": "bridged", "call_hangup": "hangup"}

_TELNYX_STATUS: dict[str, LegStatus] = {
    "normal_clearing": "answered", "time_limit": "answered", "user_busy": "busy", "call_rejected": "busy",
    "originator_cancel": "cancel", "timeout": "no_answer", "no_answer": "no_answer", "not_found": "unavailable",
}
"""Telnyx ``hangup_cause`` (call_rejected, normal_clearing, originator_cancel, timeout, time_limit, user_busy, not_found,
no_answer, unspecified) as a leg's end; ``normal_clearing`` is the end of a leg that was answered."""


def _telnyx(kind: str, data: TelnyxPayload, at: datetime, *, pbx: str, state: WebhookState, prefix: str) -> list[CallEvent]:
    leg, call = data.call_leg_id, data.call_session_id
    incoming = state.incoming(leg)
    if data.direction is not None:
        incoming = data.direction == "incoming"
        state.note(leg, incoming)
    if kind == "initiated":
        if incoming:
            return [CallStarted(pbx=pbx, at=at, key=f"{prefix}:{leg}:started", call_id=call, dialled=data.to or "", caller=data.from_)]
        return [LegRinging(pbx=pbx, at=at, key=f"{prefix}:{leg}:ringing", call_id=call, leg=leg, endpoint=data.to or "")]
    if kind in ("answered", "bridged"):
        if incoming:
            return []  # the application answering the caller, or bridging the caller to a destination: told by the destination leg
        return [LegAnswered(pbx=pbx, at=at, key=f"{prefix}:{leg}:answered", call_id=call, leg=leg, endpoint=data.to or "",
                            answered_by="number")]
    # hangup
    if incoming:
        return [CallEnded(pbx=pbx, at=at, key=f"{prefix}:{leg}:call_ended", call_id=call, cause_text=data.hangup_cause)]
    status = _TELNYX_STATUS.get((data.hangup_cause or "").lower(), "failed")
    return [LegEnded(pbx=pbx, at=at, key=f"{prefix}:{leg}:ended", call_id=call, leg=leg, status=status, endpoint=data.to)]


_V2 = msgspec.json.Decoder(TelnyxV2Envelope)
_V1 = msgspec.json.Decoder(TelnyxV1Envelope)
_PAYLOAD = msgspec.json.Decoder(TelnyxPayload)


def _telnyx_v2(body: bytes, *, pbx: str, state: WebhookState) -> list[CallEvent] | None:
    envelope = _decode(_V2, body, "Telnyx call control v2")
    kind = _V2_TYPES.get(envelope.data.event_type)
    if kind is None:
        return None
    payload = _decode(_PAYLOAD, envelope.data.payload, f"Telnyx {envelope.data.event_type} payload")
    return _telnyx(kind, payload, envelope.data.occurred_at, pbx=pbx, state=state, prefix="telnyx")


def _telnyx_v1(body: bytes, *, pbx: str, state: WebhookState) -> list[CallEvent] | None:
    envelope = _decode(_V1, body, "Telnyx call control v1")
    kind = _V1_TYPES.get(envelope.event_type)
    if kind is None:
        return None
    payload = _decode(_PAYLOAD, envelope.payload, f"Telnyx {envelope.event_type} payload")
    at = payload.occurred_at or envelope.created_at
    if at is None:
        raise WebhookError(f"Telnyx {envelope.event_type}: neither payload.occurred_at nor created_at says when it happened")
    return _telnyx(kind, payload, at, pbx=pbx, state=state, prefix="telnyx")


# -- TeXML and Twilio status callbacks ----------------------------------------------------------------------------------

CallStatus = Literal["queued", "initiated", "ringing", "in-progress", "completed", "busy", "no-answer", "failed", "canceled"]


class StatusCallback(msgspec.Struct, frozen=True, kw_only=True, rename="pascal"):
    """A TwiML/TeXML status callback (TeXML adds ``CallSessionId``, ``HangupCause``...; Twilio ``ApiVersion``, ``Direction``)."""

    call_sid: Id
    call_status: CallStatus
    account_sid: Text | None = None
    from_: Text | None = msgspec.field(default=None, name="From")
    to: Text | None = None
    parent_call_sid: Text | None = None
    direction: Text | None = None
    timestamp: Text | None = None
    call_duration: Text | None = None
    hangup_cause: Text | None = None
    sequence_number: Text | int | None = None
    callback_source: Text | None = None


_STATUS_END: dict[str, LegStatus] = {"completed": "answered", "busy": "busy", "no-answer": "no_answer", "failed": "failed",
                                     "canceled": "cancel"}


def _instant(raw: str | None, what: str) -> datetime:
    """``Timestamp``: RFC 2822 (Twilio, TeXML's documentation) or ISO 8601 (TeXML's examples); it must name its zone."""
    if not raw:
        raise WebhookError(f"{what}: no Timestamp says when it happened")
    try:
        at = datetime.fromisoformat(raw.strip())
    except ValueError:
        try:
            at = parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            raise WebhookError(f"{what}: Timestamp {raw[:60]!r} is neither ISO 8601 nor RFC 2822") from None
    if at.tzinfo is None:
        raise WebhookError(f"{what}: Timestamp {raw[:60]!r} has no time zone")
    return at.astimezone(UTC)


def _status_callback(body: bytes, *, pbx: str, what: str, prefix: str) -> list[CallEvent]:
    fields = _form_or_json(body, what)
    try:
        cb = msgspec.convert(fields, StatusCallback)
    except msgspec.ValidationError as error:
        raise WebhookError(f"{what}: {error}") from None
    at = _instant(cb.timestamp, what)
    leg = cb.call_sid
    dialled_leg = bool(cb.parent_call_sid) or (cb.direction or "").lower() == "outbound-dial"
    call = cb.parent_call_sid or leg
    status = cb.call_status
    if not dialled_leg:
        out: list[CallEvent] = [CallStarted(pbx=pbx, at=at, key=f"{prefix}:{leg}:started", call_id=call, dialled=cb.to or "",
                                            caller=cb.from_)]
        if status in _STATUS_END:
            out.append(CallEnded(pbx=pbx, at=at, key=f"{prefix}:{leg}:call_ended", call_id=call,
                                 cause_text=cb.hangup_cause or status))
        return out
    if status in ("queued", "initiated", "ringing"):
        return [LegRinging(pbx=pbx, at=at, key=f"{prefix}:{leg}:ringing", call_id=call, leg=leg, endpoint=cb.to or "")]
    if status == "in-progress":
        return [LegAnswered(pbx=pbx, at=at, key=f"{prefix}:{leg}:answered", call_id=call, leg=leg, endpoint=cb.to or "",
                            answered_by="number")]
    return [LegEnded(pbx=pbx, at=at, key=f"{prefix}:{leg}:ended", call_id=call, leg=leg, status=_STATUS_END[status], endpoint=cb.to)]


def _form_or_json(body: bytes, what: str) -> dict[str, object]:
    text = _utf8(body, what)
    if text.lstrip().startswith("{"):
        try:
            data = msgspec.json.decode(body)
        except msgspec.DecodeError as error:
            raise WebhookError(f"{what}: {error}") from None
        if not isinstance(data, dict):
            raise WebhookError(f"{what}: the JSON body is not an object")
        return data
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=True, errors="strict")
    except (ValueError, UnicodeDecodeError) as error:
        raise WebhookError(f"{what}: not form-encoded ({error})") from None
    out: dict[str, object] = {}
    for key, value in pairs:
        out.setdefault(key, value)
    return out


# -- entry points -------------------------------------------------------------------------------------------------------


def _utf8(body: bytes, what: str) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise WebhookError(f"{what}: the body is not UTF-8") from None


def _decode(decoder: msgspec.json.Decoder, body: bytes | msgspec.Raw, what: str):
    try:
        return decoder.decode(body)
    except msgspec.ValidationError as error:
        raise WebhookError(f"{what}: {error}") from None
    except msgspec.DecodeError as error:
        raise WebhookError(f"{what}: not JSON ({error})") from None


def _telnyx_any(body: bytes, *, pbx: str, state: WebhookState) -> list[CallEvent] | None:
    stripped = body.lstrip()
    if not stripped.startswith((b"{", b"[")):
        return _status_callback(body, pbx=pbx, what="Telnyx TeXML status callback", prefix="texml")
    try:
        shape = msgspec.json.decode(body, type=dict[str, msgspec.Raw])
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        raise WebhookError(f"Telnyx webhook: not a JSON object ({error})") from None
    if "data" in shape:
        return _telnyx_v2(body, pbx=pbx, state=state)
    if "event_type" in shape:
        return _telnyx_v1(body, pbx=pbx, state=state)
    if "CallSid" in shape:
        return _status_callback(body, pbx=pbx, what="Telnyx TeXML status callback", prefix="texml")
    raise WebhookError("Telnyx webhook: neither call control v2 (data), v1 (event_type) nor TeXML (CallSid)")


def parse_webhook(provider: str, body: bytes, headers: Mapping[str, str], *, pbx: str,
                  state: WebhookState | None = None) -> list[CallEvent]:
    """The call events of one webhook body; ``[]`` for an event type callroute does not map (counted in ``state.unknown``).

    Raises ``WebhookError`` (a ``ValueError``) with one clear message for a body that is not the
    provider's format. ``headers`` are those of the request (unused by the mapping today; the
    signature is checked apart, by ``verify_webhook``).
    """
    state = state if state is not None else WebhookState()
    if provider not in PROVIDERS:
        raise WebhookError(f"unknown webhook provider {provider!r}; one of {', '.join(PROVIDERS)}")
    if len(body) > MAX_BODY:
        raise WebhookError(f"{provider} webhook of {len(body)} bytes is over the {MAX_BODY}-byte limit")
    state.webhooks += 1
    if provider == "telnyx":
        events = _telnyx_any(body, pbx=pbx, state=state)
    elif provider == "telnyx-v2":
        events = _telnyx_v2(body, pbx=pbx, state=state)
    elif provider == "telnyx-v1":
        events = _telnyx_v1(body, pbx=pbx, state=state)
    elif provider == "texml":
        events = _status_callback(body, pbx=pbx, what="Telnyx TeXML status callback", prefix="texml")
    else:
        events = _status_callback(body, pbx=pbx, what="Twilio status callback", prefix="twilio")
    if events is None:
        state.unknown += 1
        return []
    state.events += len(events)
    return events


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def verify_webhook(provider: str, body: bytes, headers: Mapping[str, str], *, secret_or_public_key: str | bytes, now: datetime,
                   tolerance: timedelta = DEFAULT_TOLERANCE, url: str | None = None) -> None:
    """Raises ``WebhookSignatureError`` unless the provider signed this body; returns ``None`` when it did.

    Telnyx (``telnyx``, ``telnyx-v2``, ``telnyx-v1``, ``texml``): ``secret_or_public_key`` is the
    account's Ed25519 public key (base64, as the portal shows it, or the 32 raw bytes); the
    signed ``telnyx-timestamp`` must lie within ``tolerance`` of ``now`` (given by the caller:
    no clock here), which stops replays. Twilio: ``secret_or_public_key`` is the auth token
    and ``url`` the full URL Twilio called (the signature covers it); Twilio signs no
    timestamp, so ``now`` is not used.
    """
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    if provider == "twilio":
        _verify_twilio(body, headers, token=secret_or_public_key, url=url)
    elif provider in PROVIDERS:
        _verify_telnyx(body, headers, public_key=secret_or_public_key, now=now, tolerance=tolerance)
    else:
        raise WebhookError(f"unknown webhook provider {provider!r}; one of {', '.join(PROVIDERS)}")


def _verify_telnyx(body: bytes, headers: Mapping[str, str], *, public_key: str | bytes, now: datetime, tolerance: timedelta) -> None:
    signature_b64 = _header(headers, "telnyx-signature-ed25519")
    timestamp = _header(headers, "telnyx-timestamp")
    if not signature_b64 or not timestamp:
        raise WebhookSignatureError("Telnyx webhook without telnyx-signature-ed25519 and telnyx-timestamp headers")
    if not timestamp.strip().isdigit() or len(timestamp.strip()) > 12:
        raise WebhookSignatureError(f"telnyx-timestamp {timestamp[:40]!r} is not Unix seconds")
    signed_at = datetime.fromtimestamp(int(timestamp), UTC)
    if abs(now - signed_at) > tolerance:
        raise WebhookSignatureError(f"Telnyx webhook signed at {signed_at.isoformat()}, outside {tolerance} of {now.isoformat()}: "
                                    "a replay or a clock far off")
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        key = VerifyKey(public_key if isinstance(public_key, bytes) else base64.b64decode(public_key, validate=True))
    except (binascii.Error, ValueError, TypeError) as error:
        raise WebhookSignatureError(f"Telnyx signature or public key is not base64 Ed25519 ({error})") from None
    if len(signature) != 64:
        raise WebhookSignatureError(f"Telnyx signature has {len(signature)} bytes, not 64")
    try:
        key.verify(timestamp.encode() + b"|" + body, signature)
    except BadSignatureError:
        raise WebhookSignatureError("Telnyx signature does not match the body and timestamp (wrong key, or altered)") from None


def twilio_signature(token: str | bytes, url: str, body: bytes) -> str:
    """What Twilio puts in ``X-Twilio-Signature`` for a form-encoded POST of ``body`` to ``url``."""
    params = sorted(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    data = url + "".join(key + value for key, value in params)
    key = token.encode() if isinstance(token, str) else token
    return base64.b64encode(hmac.new(key, data.encode(), hashlib.sha1).digest()).decode()


def _verify_twilio(body: bytes, headers: Mapping[str, str], *, token: str | bytes, url: str | None) -> None:
    signature = _header(headers, "X-Twilio-Signature")
    if not signature:
        raise WebhookSignatureError("Twilio webhook without an X-Twilio-Signature header")
    if not url:
        raise WebhookSignatureError("a Twilio signature covers the URL Twilio called: pass url=")
    try:
        expected = twilio_signature(token, url, body)
    except UnicodeDecodeError:
        raise WebhookSignatureError("Twilio webhook body is not UTF-8 form data") from None
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        raise WebhookSignatureError("Twilio signature does not match the URL and parameters (wrong auth token, or altered)")


def iter_saved_payloads(data: bytes) -> Iterator[bytes]:
    """Webhook bodies saved in a file: one JSON document (an object, or an array of them) or JSON lines (one body a line).

    A line that is not JSON (a saved form-encoded TeXML callback) is passed on as it is;
    ``parse_webhook`` judges each body. Blank lines are skipped.
    """
    stripped = data.strip()
    if not stripped:
        return
    try:
        document = msgspec.json.decode(stripped)
    except msgspec.DecodeError:
        document = None
    else:
        if isinstance(document, list):
            for item in document:
                yield msgspec.json.encode(item)
            return
        yield stripped
        return
    for line in data.splitlines():
        line = line.strip()
        if line:
            yield line


__all__ = ["DEFAULT_TOLERANCE", "PROVIDERS", "StatusCallback", "TelnyxPayload", "TelnyxV1Envelope", "TelnyxV2Envelope",
           "WebhookError", "WebhookSignatureError", "WebhookState", "iter_saved_payloads", "parse_webhook", "twilio_signature",
           "verify_webhook"]
