"""``callroute serve``: the HTTP API on hypercorn's trio worker, on the store of ``--db`` / ``CALLROUTE_DB``.

Webhook intakes are configured from the environment: ``CALLROUTE_TELNYX_PUBLIC_KEY`` (the account's Ed25519
public key, base64: ``POST /v1/webhooks/telnyx``, and ``telnyx-v2``, ``telnyx-v1``, ``texml``),
``CALLROUTE_TWILIO_AUTH_TOKEN`` (``POST /v1/webhooks/twilio``; its signature covers the URL Twilio calls:
give the server's public base URL in ``CALLROUTE_PUBLIC_URL`` when it sits behind a proxy).
"""

from __future__ import annotations

import os
import signal

import click

from adapters.cli.common import Env, pass_env, refuses_globals, setting
from adapters.cli.errors import Failure

SERVE_EXTRA = "serve needs the serve extra ({missing} is not installed): pip install 'callroute[serve]'"


def check_serve_extra() -> None:
    """Litestar and hypercorn, the ``serve`` extra, are installed; else one line naming the extra (``Failure``, exit 2)."""
    for module in ("litestar", "hypercorn"):
        try:
            __import__(module)
        except ImportError:
            raise Failure(SERVE_EXTRA.format(missing=module)) from None


def webhook_sources(environ: dict[str, str] | None = None) -> dict[str, object]:
    """The webhook intakes the environment configures (see the module's docstring)."""
    from adapters.http import WebhookSource

    environ = dict(os.environ if environ is None else environ)
    base = environ.get("CALLROUTE_PUBLIC_URL", "").rstrip("/")
    sources: dict[str, object] = {}
    telnyx = environ.get("CALLROUTE_TELNYX_PUBLIC_KEY")
    if telnyx:
        for provider in ("telnyx", "telnyx-v2", "telnyx-v1", "texml"):
            sources[provider] = WebhookSource(key=telnyx, pbx="telnyx")
    twilio = environ.get("CALLROUTE_TWILIO_AUTH_TOKEN")
    if twilio:
        sources["twilio"] = WebhookSource(key=twilio, pbx="twilio", url=f"{base}/v1/webhooks/twilio" if base else None)
    return sources


@refuses_globals("serve acts as each request's bearer token (callroute token create), not as {flag}; leave it out",
                 "actor", "partner", "operator")
@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True, help="The TCP port.")
@click.option("--max-body-bytes", type=click.IntRange(min=1), default=1024 * 1024, show_default=True,
              help="The largest request body taken (larger: 413).")
@click.option("--request-seconds", type=click.FloatRange(min=0.1, max=3600), default=30.0, show_default=True,
              help="How long one request may take (longer: 503; a command batch once started is always finished).")
@click.option("--after-seconds", type=click.FloatRange(min=0, max=3600), default=2.0, show_default=True,
              help="How long a read sent with X-Callroute-After (the position POST /v1/commands answered) waits for the "
                   "projection to reach it (then 503).")
@pass_env
def serve(env: Env, host: str, port: int, max_body_bytes: int, request_seconds: float, after_seconds: float) -> None:
    """Serve the HTTP API (bearer tokens from callroute token create) until interrupted.

    Each request acts as its bearer token, so serve takes no --actor, --partner or --operator. Logs follow
    --log-level (default error; warning adds refused commands and reads, info each stored batch).
    """
    import trio

    check_serve_extra()
    from adapters.bootstrap import store_problem
    from adapters.http import Limits, create_app
    from adapters.http.server import ListenError
    from adapters.http.server import serve as run_server

    problem = store_problem(env.db)
    if problem is not None:
        raise Failure(problem, problem.exit_code)
    log_level = setting(click.get_current_context(), "log_level") or "error"  # logging itself is set up as options are read
    limits = Limits(max_body_bytes=max_body_bytes, request_seconds=request_seconds, after_seconds=after_seconds)
    app = create_app(env.db, clock=env.clock, limits=limits, webhooks=webhook_sources(), pbx_directory=env.directory)  # type: ignore[arg-type]

    async def stopped() -> None:
        """SIGINT or SIGTERM: stop taking connections, finish the requests under way, close the store."""
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for received in signals:
                click.echo(f"callroute: {signal.Signals(received).name}: stopping", err=True)
                return

    refused: list[ListenError] = []

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            try:
                binds = await nursery.start(lambda task_status: run_server(
                    app, host, port, shutdown_trigger=stopped, task_status=task_status, log_level=log_level))
            except ListenError as exc:  # raised after the nursery, so that it is not wrapped in an exception group
                refused.append(exc)
                return
            click.echo(f"callroute: serving {env.db} on {', '.join(binds)}", err=True)

    trio.run(main)
    if refused:
        raise Failure(str(refused[0]))
