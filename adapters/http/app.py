"""The ASGI application of the HTTP API (Litestar, served by hypercorn's trio worker: ``server.py``).

Litestar is built on anyio and runs on trio: its own thread calls go through ``trio.to_thread`` there
(``litestar.concurrency``), its lifespan and request handling are anyio's. Only its ``channels`` plugin and
websocket streams are asyncio-only, and neither is used. Handlers are thin: they read the request at the edge
(bearer token, query parameters, a body within the limits, decoded with msgspec into core's own ``CommandFile``),
run the work on the store in the store's thread (``worker.py``, ``service.py``), and answer msgspec-encoded Structs
(``answers.py``) or one error body (``errors.py``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import trio
from litestar import Litestar, Request, Response, get, post
from litestar.exceptions import HTTPException

from adapters.http.answers import encode_answer
from adapters.http.errors import ApiError, encode_error, one_param, refusal
from adapters.http.openapi import build_document
from adapters.http.page_api import page_routes
from adapters.http.service import ApiStore, WebhookSource
from adapters.http.web import web_routes
from adapters.http.worker import StoreThread
from core.aggregates.context import Actor
from core.commands import CommandFile
from core.service import CallrouteApp

JSON = "application/json"
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
"""1 MiB: a command file of a large tenant is well under it (the command line's limit, for files, is 16 MiB)."""
DEFAULT_REQUEST_SECONDS = 30.0
DEFAULT_AFTER_SECONDS = 2.0
AFTER_HEADER = "x-callroute-after"
_AFTER_POLL_SECONDS = 0.02
_ENCODER = msgspec.json.Encoder()
_COMMAND_FILE = msgspec.json.Decoder(CommandFile)
_PATH = re.compile(r"^(?P<message>.*) - at `\$(?P<path>[^`]*)`$", re.DOTALL)
_INDEX = re.compile(r"^\.commands\[(?P<index>\d+)\]\.?(?P<field>.*)$")


@dataclass(frozen=True)
class Limits:
    """What one request may take: its body, its nesting (``adapters.inputs.MAX_DEPTH``) and its time."""

    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    request_seconds: float = DEFAULT_REQUEST_SECONDS
    after_seconds: float = DEFAULT_AFTER_SECONDS
    """How long a read with ``X-Callroute-After: P`` (or ``after=P``) waits for the routing projection to reach P (then 503)."""


def _bearer(request: Request[Any, Any, Any]) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def _query(request: Request[Any, Any, Any]) -> dict[str, list[str]]:
    params = request.query_params
    return {key: list(params.getall(key)) for key in params}


def _schema_error(exc: msgspec.ValidationError) -> ApiError:
    """msgspec's refusal of a command file as the index of the command, its field and the rule (``schema``)."""
    text = str(exc)
    match = _PATH.match(text)
    if match is None:
        return ApiError(422, "schema", f"body: {text}")
    path, message = match["path"], match["message"]
    command = _INDEX.match(path)
    if command is not None:
        index, field = int(command["index"]), command["field"] or None
        where = f"commands[{index}]" + (f".{field}" if field else "")
        return ApiError(422, "schema", f"{where}: {message}", field=field, index=index)
    field = path.lstrip(".") or None
    return ApiError(422, "schema", f"{field or 'body'}: {message}", field=field)


def _body_error(exc: Exception) -> ApiError:
    """``adapters.inputs``'s refusal of a body (not UTF-8, nested too deep, a key twice, not JSON) as a 400."""
    detail = getattr(exc, "detail", str(exc))
    rule = ("not_utf8" if detail.startswith("not UTF-8") else "too_deep" if detail.startswith("nested") else
            "duplicate_key" if detail.startswith("the key") else "not_json")
    return ApiError(400, rule, f"body: {detail}")


class Api:
    """The handlers' shared parts: the store (in its thread), the limits, the clock and the webhook sources."""

    def __init__(self, store: ApiStore, limits: Limits, clock: Any, webhooks: Mapping[str, WebhookSource]) -> None:
        self.store = store
        self.limits = limits
        self.clock = clock
        self.webhooks = dict(webhooks)
        self.worker: StoreThread | None = None

    async def start(self) -> None:
        self.worker = StoreThread()
        await self.worker.run(self.store.open, cancellable=False)

    async def stop(self) -> None:
        if self.worker is not None:
            worker, self.worker = self.worker, None
            try:
                await worker.run(self.store.close, cancellable=False)
            finally:
                await trio.to_thread.run_sync(worker.close)

    async def answer(self, request: Request[Any, Any, Any], work: Callable[[Actor], Any], *, write: bool = False,
                     body: Callable[[], Any] | None = None) -> Response[bytes]:
        """Run ``work`` for the principal of the request's token in the store's thread, within the time limit; its answer as JSON.

        ``body`` (a coroutine function) reads and checks the body first, within the same limit. A read that runs past
        the limit is given up (503); a write, once started, is waited for: its answer is what was stored.
        """
        token = _bearer(request)
        seen: dict[str, Actor] = {}
        after = None if write else _after(request)

        def job() -> bytes:
            actor = seen["actor"] = self.store.actor_for(token)
            return encode_answer(work(actor))

        assert self.worker is not None
        try:
            with trio.fail_after(self.limits.request_seconds):
                if body is not None:
                    await body()
                if after is not None:
                    await self.worker.run(lambda: self.store.actor_for(token))  # a stranger does not get to wait
                    await self.wait_for(after)
                content = await self.worker.run(job, cancellable=not write)
        except trio.TooSlowError:
            raise ApiError(503, "timeout", f"the request took longer than {self.limits.request_seconds:g} s and was given up; "
                                           "nothing was stored", headers={"Retry-After": "1"}) from None
        except ApiError:
            raise
        except HTTPException:
            raise
        except Exception as exc:
            raise refusal(exc, seen.get("actor"), store=self.store.location) from None
        return Response(content=content, media_type=JSON)


    async def wait_for(self, position: int) -> None:
        """Return once the routing projection reads serve has processed ``position``; 503 after ``after_seconds``."""
        assert self.worker is not None
        with trio.move_on_after(self.limits.after_seconds):
            while not await self.worker.run(lambda: self.store.reached(position)):
                await trio.sleep(_AFTER_POLL_SECONDS)
            return
        raise ApiError(503, "projection_behind", f"after: the routing projection has not reached position {position} within "
                                                 f"{self.limits.after_seconds:g} s; retry", field="after",
                       headers={"Retry-After": "1"})


def _after(request: Request[Any, Any, Any]) -> int | None:
    """The position a read waits for: ``X-Callroute-After`` or ``after=`` (a notification id; 422 when it is not one)."""
    values = [*request.headers.getall(AFTER_HEADER, []), *request.query_params.getall("after", [])]
    if not values:
        return None
    text = values[-1].strip()
    if len(values) > 1 and len(set(v.strip() for v in values)) > 1:
        raise ApiError(422, "validation", "after: given more than once with different positions; give it once", field="after")
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        raise ApiError(422, "validation", f"after: {text[:40]!r} is not a position (the position POST /v1/commands answered)",
                       field="after")
    return int(text)


def _error_response(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    if isinstance(exc, HTTPException):
        status = exc.status_code
        rule = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}.get(status, "http")
        message = {404: f"no such path: {request.method} {request.url.path}",
                   405: f"{request.method} is not allowed on {request.url.path}",
                   413: f"body: larger than the {_body_limit(request)} limit for a request body"}.get(status, str(exc.detail))
        error = ApiError(status, rule, message, headers=dict(exc.headers or {}))
    else:
        error = refusal(exc)
    return Response(content=encode_error(error), status_code=error.detail.status, media_type=JSON, headers=error.headers)


def _body_limit(request: Request[Any, Any, Any]) -> str:
    """The body size limit of the route asked (``--max-body-bytes``), in bytes: ``1,048,576-byte``."""
    try:
        limit = request.route_handler.resolve_request_max_body_size()
    except Exception:  # noqa: BLE001 - no route resolved: the app's limit is all there is to say
        limit = None
    return f"{limit:,}-byte" if isinstance(limit, int) else "size"


def create_app(
    store: str | Path | CallrouteApp | Any,
    *,
    clock: Any,
    limits: Limits | None = None,
    webhooks: Mapping[str, WebhookSource] | None = None,
    pbx_directory: Path | None = None,
) -> Litestar:
    """The ASGI app on a store: an SQLite file (opened at startup, closed at shutdown) or an application the caller owns.

    ``clock`` dates every change and reads "now" (the wall clock in ``callroute serve``; tests give a fixed one).
    ``webhooks``: the providers whose webhooks ``POST /v1/webhooks/{provider}`` takes, with their keys.
    """
    limits = limits or Limits()
    webhooks = dict(webhooks or {})
    api = Api(ApiStore(store, clock, pbx_directory=pbx_directory, webhooks=webhooks), limits, clock, webhooks)
    document = _ENCODER.encode(build_document(max_body_bytes=limits.max_body_bytes))

    @get("/healthz")
    async def healthz() -> Response[bytes]:
        assert api.worker is not None
        try:
            with trio.fail_after(limits.request_seconds):
                await api.worker.run(lambda: api.store._app().recorder.select_notifications(1, 1))  # noqa: SLF001
        except trio.TooSlowError:
            raise ApiError(503, "timeout", "the store did not answer in time", headers={"Retry-After": "1"}) from None
        except Exception as exc:
            raise refusal(exc, store=api.store.location) from None
        return Response(content=b'{"status":"ok"}', media_type=JSON)

    @get("/openapi.json")
    async def openapi() -> Response[bytes]:
        return Response(content=document, media_type=JSON)

    @post("/v1/commands", status_code=200)
    async def commands(request: Request[Any, Any, Any]) -> Response[bytes]:
        decoded: list[CommandFile] = []

        async def read() -> None:
            media = request.headers.get("content-type", JSON).split(";")[0].strip().lower()
            if media != JSON and not media.endswith("+json"):
                raise ApiError(415, "unsupported_media_type", f"body: a command file is JSON ({JSON}), not {media[:60]}")
            decoded.append(_command_file(await request.body()))

        def work(actor: Actor) -> Any:
            file = decoded[0]
            if file.actor is not None:
                _check_actor(file, actor)
            return api.store.execute(file.commands, actor, file.reason)

        return await api.answer(request, work, write=True, body=read)

    @get("/v1/tenants/{tenant:str}")
    async def tenant_view(request: Request[Any, Any, Any]) -> Response[bytes]:
        tenant = request.path_params["tenant"]
        return await api.answer(request, lambda actor: api.store.tenant(tenant, actor))

    @get("/v1/tenants/{tenant:str}/table")
    async def table(request: Request[Any, Any, Any]) -> Response[bytes]:
        tenant = request.path_params["tenant"]
        q = _query(request)
        return await api.answer(request, lambda actor: api.store.table(tenant, actor, one_param(q, "at"), one_param(q, "view")))

    @get("/v1/tenants/{tenant:str}/explain")
    async def explain(request: Request[Any, Any, Any]) -> Response[bytes]:
        tenant = request.path_params["tenant"]
        q = _query(request)
        return await api.answer(request, lambda actor: api.store.explain(tenant, actor, q))

    @get("/v1/tenants/{tenant:str}/pending")
    async def pending(request: Request[Any, Any, Any]) -> Response[bytes]:
        tenant = request.path_params["tenant"]
        q = _query(request)
        return await api.answer(request, lambda actor: api.store.pending(tenant, actor, one_param(q, "at")))

    @get("/v1/tenants/{tenant:str}/history")
    async def history(request: Request[Any, Any, Any]) -> Response[bytes]:
        tenant = request.path_params["tenant"]
        q = _query(request)
        return await api.answer(request, lambda actor: api.store.history(tenant, actor, one_param(q, "since"), one_param(q, "until")))

    @get("/v1/tenants/{tenant:str}/as-of")
    async def as_of(request: Request[Any, Any, Any]) -> Response[bytes]:
        tenant = request.path_params["tenant"]
        q = _query(request)
        return await api.answer(request, lambda actor: api.store.as_of(tenant, actor, one_param(q, "at"), one_param(q, "view")))

    @get("/v1/tenants/{tenant:str}/diff")
    async def diff(request: Request[Any, Any, Any]) -> Response[bytes]:
        tenant = request.path_params["tenant"]
        q = _query(request)
        return await api.answer(request, lambda actor: api.store.diff(tenant, actor, one_param(q, "from"), one_param(q, "to")))

    @post("/v1/tenants/{tenant:str}/verify", status_code=200)
    async def verify(request: Request[Any, Any, Any]) -> Response[bytes]:
        tenant = request.path_params["tenant"]
        return await api.answer(request, lambda actor: api.store.verify(tenant, actor))

    @post("/v1/verify", status_code=200)
    async def verify_all(request: Request[Any, Any, Any]) -> Response[bytes]:
        line = f"{request.method} {request.url.path}"  # an operator's only: anyone else is told it is no such path
        return await api.answer(request, lambda actor: api.store.verify_all(actor, line))

    @post("/v1/webhooks/{provider:str}", status_code=200)
    async def webhook(request: Request[Any, Any, Any]) -> Response[bytes]:
        return await _webhook(api, request, request.path_params["provider"])

    return Litestar(
        [healthz, openapi, commands, tenant_view, table, explain, pending, history, as_of, diff, verify, verify_all, webhook,
         *page_routes(api), *web_routes()],  # the web page's reads, and the page itself (page_api.py, web.py)
        openapi_config=None,
        request_max_body_size=limits.max_body_bytes,
        exception_handlers={Exception: _error_response},
        on_startup=[api.start],
        on_shutdown=[api.stop],
        logging_config=None,
    )




def _command_file(body: bytes) -> CommandFile:
    """The body as a command file: ``adapters/inputs.py``'s checks (UTF-8, nesting, keys given once, JSON), then the schema."""
    from adapters.inputs import InputError, decode_document

    try:
        decode_document(body, msgspec.Raw, format="json", where="body")
    except InputError as exc:
        raise _body_error(exc) from None
    try:
        return _COMMAND_FILE.decode(body.removeprefix(b"\xef\xbb\xbf"))
    except msgspec.ValidationError as exc:
        raise _schema_error(exc) from None
    except msgspec.DecodeError as exc:  # pragma: no cover - decode_document read it as JSON first
        raise ApiError(400, "not_json", f"body: {exc}") from None


def _check_actor(file: CommandFile, actor: Actor) -> None:
    """A file's ``[actor]`` is a check, as on the command line: it must name the principal of the token (and its partner)."""
    assert file.actor is not None
    if file.actor.principal != actor.principal:
        raise ApiError(422, "actor_mismatch", f"actor.principal: the file names {file.actor.principal!r}, but the token is "
                                              f"{actor.principal!r}'s; nothing was stored", field="actor.principal")
    if file.actor.partner != actor.partner:
        raise ApiError(422, "actor_mismatch", f"actor.partner: the file names partner {file.actor.partner!r}, but the token acts "
                                              f"for {actor.partner!r}; nothing was stored", field="actor.partner")


def _check_webhook_body(body: bytes) -> None:
    """A webhook body's edge checks, those of every body (``adapters/inputs.py``): UTF-8 text and, for a JSON body, at most
    ``MAX_DEPTH`` levels of nesting, each key once, well-formed; 400 naming the rule. A form-encoded body (Twilio, TeXML)
    nests nothing. Run before the signature is checked, so nothing parses a body these checks refuse (msgspec recurses:
    a signed body 100,000 levels deep ended in ``RecursionError``, a 500).
    """
    from adapters.inputs import InputError, decode_document, utf8_text

    try:
        utf8_text(body, "body")
        # What msgspec would read as JSON: an object or an array, after whitespace (a leading byte order mark included,
        # which the parsers refuse anyway). A scalar nests nothing.
        if body.removeprefix(b"\xef\xbb\xbf").lstrip()[:1] in (b"{", b"["):
            decode_document(body, msgspec.Raw, format="json", where="body")
    except InputError as exc:
        raise _body_error(exc) from None


async def _webhook(api: Api, request: Request[Any, Any, Any], provider: str) -> Response[bytes]:
    """Check the provider's signature on the body, map it to call events, and store them (nothing without a good signature)."""
    from adapters.pbx.webhooks import MAX_BODY, WebhookError, WebhookSignatureError, parse_webhook, verify_webhook

    source = api.webhooks.get(provider)
    if source is None:
        raise ApiError(404, "not_found", f"no webhook intake for {provider[:40]!r} on this server", field="provider")
    assert api.worker is not None
    try:
        with trio.fail_after(api.limits.request_seconds):
            body = await request.body()
            if len(body) > MAX_BODY:
                raise ApiError(413, "body_too_large",
                               f"body: a {provider} webhook of {len(body):,} bytes is over the {MAX_BODY:,}-byte limit")
            _check_webhook_body(body)  # the limits first, as for every body: before the signature check and the parser
            headers = dict(request.headers)
            try:
                verify_webhook(provider, body, headers, secret_or_public_key=source.key, now=api.clock.now(),
                               url=source.url or str(request.url))
            except WebhookSignatureError as exc:
                raise ApiError(401, "bad_signature", f"webhook signature: {exc}") from None

            def job() -> bytes:
                try:
                    events = parse_webhook(provider, body, headers, pbx=source.pbx or provider.partition("-")[0],
                                           state=api.store.webhook_state(provider))
                except WebhookError as exc:
                    raise ApiError(422, "webhook_format", f"body: {exc}") from None
                return encode_answer(api.store.webhook(provider, events))

            content = await api.worker.run(job, cancellable=False)
    except trio.TooSlowError:
        raise ApiError(503, "timeout", f"the request took longer than {api.limits.request_seconds:g} s",
                       headers={"Retry-After": "1"}) from None
    except (ApiError, HTTPException):
        raise
    except Exception as exc:
        raise refusal(exc, store=api.store.location) from None
    return Response(content=content, media_type=JSON)


__all__ = ["DEFAULT_MAX_BODY_BYTES", "DEFAULT_REQUEST_SECONDS", "Limits", "WebhookSource", "create_app"]
