"""The OpenAPI 3.1 document of the HTTP API, from msgspec's JSON Schema of the very Structs the API decodes and encodes.

Litestar could describe its handlers itself, but the handlers decode their bodies with ``adapters/inputs.py``'s
checks and encode answers with msgspec; describing the same Structs with msgspec keeps the document exactly what
the API does (a schemathesis test checks every answer against it).
"""

from __future__ import annotations

from typing import Any

import msgspec

from adapters.http.answers import (
    AsOfAnswer,
    CallsAnswer,
    CommandsStored,
    DiffAnswer,
    ErrorAnswer,
    ExplainAnswer,
    Health,
    HistoryAnswer,
    PendingAnswer,
    StoreVerifyAnswer,
    TableAnswer,
    TenantsAnswer,
    TimelineAnswer,
    VerifyAnswer,
    WebhookAnswer,
)
from core.commands import CommandFile
from core.queries import TenantView

_REF = "#/components/schemas/{name}"
_ERRORS = {
    400: "The body is not JSON, not UTF-8, nested too deep or gives a key twice",
    401: "No bearer token, or an unknown or revoked one (a webhook: its signature does not check)",
    403: "The principal may read the tenant but not do this",
    404: "No tenant the principal may read by that name (the same whether it exists or not)",
    409: "Other writers kept changing the tenant through every retry; nothing was stored",
    413: "The body is over the size limit",
    415: "The body is not JSON",
    422: "The request breaks the schema or a rule: the index, field and rule are named",
    500: "The store is not what was written, or its file is damaged (run callroute audit verify)",
    503: "The store stayed locked, or the request ran past its time limit; retry",
}
_READ = (401, 404, 422, 500, 503)


def _json(ref: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": ref}}


def _query(name: str, description: str, *, required: bool = False, array: bool = False) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "array", "items": {"type": "string"}} if array else {"type": "string"}
    return {"name": name, "in": "query", "required": required, "description": description, "schema": schema,
            **({"explode": True, "style": "form"} if array else {})}


_TENANT = {"name": "tenant", "in": "path", "required": True, "description": "The tenant's slug",
           "schema": {"type": "string", "minLength": 1, "maxLength": 200}}
_AT = _query("at", "now (default), an instant with an offset (2026-11-20T17:59:59+01:00), or a date or local time in the "
                   "tenant's zone (2026-11-20T17:59)")
_VIEW = {**_query("view", "effective (live on the PBX, the default) or desired (saved)"),
         "schema": {"type": "string", "enum": ["effective", "desired"]}}


def _operator_only(operation: dict[str, Any], description: str) -> dict[str, Any]:
    """An operation only an operator's token is answered: its 404 is that of a path that does not exist."""
    operation["description"] = description
    operation["responses"]["404"] = {**operation["responses"]["404"],
                                     "description": "Not an operator: answered exactly as a path that does not exist"}
    return operation


def build_document(*, max_body_bytes: int) -> dict[str, Any]:
    """The document (a plain dict, encoded once when the app is made)."""
    types = [ErrorAnswer, Health, CommandFile, CommandsStored, TenantView, TableAnswer, ExplainAnswer, PendingAnswer, HistoryAnswer,
             AsOfAnswer, DiffAnswer, VerifyAnswer, StoreVerifyAnswer, WebhookAnswer, TenantsAnswer, TimelineAnswer,
             CallsAnswer]
    refs, components = msgspec.json.schema_components(types, ref_template=_REF)
    ref = dict(zip([t.__name__ for t in types], refs, strict=True))

    def op(summary: str, answer: str, errors: tuple[int, ...], *, params: list[dict[str, Any]] | None = None,
           body: dict[str, Any] | None = None, secured: bool = True, operation_id: str) -> dict[str, Any]:
        responses: dict[str, Any] = {"200": {"description": "OK", "content": _json(ref[answer])}}
        for status in errors:
            responses[str(status)] = {"description": _ERRORS[status], "content": _json(ref["ErrorAnswer"])}
        operation: dict[str, Any] = {"summary": summary, "operationId": operation_id, "responses": responses}
        if params:
            operation["parameters"] = params
        if body is not None:
            operation["requestBody"] = body
        operation["security"] = [{"bearer": []}] if secured else []
        return operation

    tenant = "/v1/tenants/{tenant}"
    paths = {
        "/healthz": {"get": op("The server is up and its store answers", "Health", (500, 503), secured=False, operation_id="health")},
        "/v1/commands": {"post": op(
            "Apply a command file all or nothing", "CommandsStored", (400, 401, 403, 404, 409, 413, 415, 422, 500, 503),
            body={"required": True, "description": f"A command file (JSON, at most {max_body_bytes:,} bytes)",
                  "content": _json(ref["CommandFile"])}, operation_id="commands")},
        tenant: {"get": op("The tenant's whole current configuration", "TenantView", _READ, params=[_TENANT],
                           operation_id="tenant")},
        f"{tenant}/table": {"get": op("The routing table, live or saved, at an instant", "TableAnswer", _READ,
                                      params=[_TENANT, _AT, _VIEW], operation_id="table")},
        f"{tenant}/explain": {"get": op("Where a call goes and why", "ExplainAnswer", _READ, params=[
            _TENANT, _query("to", "The dialled number (E.164) or extension", required=True),
            _query("from", "The caller id (empty, or a word such as anonymous: withheld)"), _AT,
            _query("digits", "The IVR digits the caller presses (empty: none; absent: every option)"),
            _query("presentation", "allowed, restricted or unavailable"),
            _query("busy", "Endpoints that are busy (repeat it, or separate with commas)", array=True),
            _query("unreachable", "Endpoints that are unreachable", array=True),
            _query("excluded", "Endpoints excluded from group and queue calls", array=True), _VIEW], operation_id="explain")},
        f"{tenant}/pending": {"get": op("Changes not yet live at an instant, with their deadlines", "PendingAnswer", _READ,
                                        params=[_TENANT, _AT], operation_id="pending")},
        f"{tenant}/history": {"get": op("Every change: when, who, why and what", "HistoryAnswer", _READ, params=[
            _TENANT, _query("since", "Only changes at or after this instant"), _query("until", "Only changes up to this instant")],
            operation_id="history")},
        f"{tenant}/as-of": {"get": op("The configuration and routing table at an instant", "AsOfAnswer", _READ,
                                      params=[_TENANT, _AT, _VIEW], operation_id="as_of")},
        f"{tenant}/diff": {"get": op("What changed between two versions or instants", "DiffAnswer", _READ, params=[
            _TENANT, _query("from", "A version number or an instant", required=True),
            _query("to", "A version number or an instant", required=True)], operation_id="diff")},
        "/v1/tenants": {"get": op("The tenants the principal may read (and who it is, and the server's now)", "TenantsAnswer",
                                  (401, 500, 503), operation_id="tenants")},
        f"{tenant}/timeline": {"get": op("Every saved change with its deadline and when it went live, and the zone's DST changes",
                                         "TimelineAnswer", _READ, params=[_TENANT, {**_AT, "description": "The instant the "
                                         "statuses are judged at: " + _AT["description"]}], operation_id="timeline")},
        f"{tenant}/calls": {"get": op("The finished calls the PBXs reported, each checked against the table live then",
                                      "CallsAnswer", _READ, params=[
            _TENANT, _query("since", "Only calls started at or after this instant"),
            _query("until", "Only calls started up to this instant"),
            {**_query("limit", "At most this many calls (the first in the window; default 200)"),
             "schema": {"type": "integer", "minimum": 1, "maximum": 2000}}], operation_id="calls")},
        f"{tenant}/verify": {"post": op("Verify the tenant's hash chains, its projection rows and its head", "VerifyAnswer",
                                        (401, 403, 404, 500, 503), params=[_TENANT], operation_id="verify")},
        "/v1/verify": {"post": _operator_only(op(
            "Verify the whole store (an operator's only): every record's hash chain, every projection row, and the store head",
            "StoreVerifyAnswer", (401, 404, 500, 503), operation_id="verify_store"),
            "What callroute audit verify --operator prints, store head included. It names every tenant, so it answers an "
            "operator's token only; any other is answered 404 exactly as a path that does not exist (rule not_found).")},
        "/v1/webhooks/{provider}": {"post": op(
            "A provider's signed call webhook: its call events are stored", "WebhookAnswer", (400, 401, 404, 413, 422, 500, 503),
            params=[{"name": "provider", "in": "path", "required": True, "description": "telnyx, telnyx-v2, telnyx-v1, texml or twilio",
                     "schema": {"type": "string"}}],
            body={"required": True, "content": {"application/json": {"schema": {}}, "application/x-www-form-urlencoded": {"schema": {}}}},
            secured=False, operation_id="webhook")},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "callroute", "version": _version(),
                 "description": "Tenants' call routing as hash-chained events: commands in, tables, explanations and audits out. "
                                "Every instant of an answer is RFC 3339 in UTC with a Z, whatever offset it was saved with."},
        "paths": paths,
        "components": {"schemas": components,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                                      "description": "A token printed by callroute token create"}}},
    }


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("callroute")
    except PackageNotFoundError:
        return "0"
