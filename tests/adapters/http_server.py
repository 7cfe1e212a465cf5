"""The HTTP API on a real hypercorn trio server on loopback, for the tests: a store with tokens, and the server's URL.

The store is a copy of the seeded sample store (``conftest.py``'s ``db``) with an auditor granted and four
tokens issued through core: the sample tenant's telephony_admin, its auditor, an operator, and a principal
with no permission anywhere. Every instant comes from a fixed clock (an hour after the store's last change).
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import trio

from adapters.bootstrap import build_app
from adapters.http import Limits, WebhookSource, create_app
from adapters.http.server import serve
from core import commands as c
from core.aggregates.context import Actor
from core.aggregates.tokens import issue_token, token_hash
from core.clock import SteppingClock
from tests.adapters.clirun import NOW

SLUG = "nordic-dental"
ADMIN = "admin@nordic-dental.example"
AUDITOR = "audrey@nordic-dental.example"
LATER = NOW + timedelta(hours=1)
"""The servers' clock: after every change of the seeded store."""

TOKENS = {
    "admin": ("00000000000000a1", ADMIN, False),
    "auditor": ("00000000000000a2", AUDITOR, False),
    "operator": ("00000000000000a3", "ops@platform.example", True),
    "outsider": ("00000000000000a4", "eve@elsewhere.example", False),
}


def token(who: str) -> str:
    token_id = TOKENS[who][0]
    return f"crt_{token_id}_test-secret-of-{who}"


def bearer(who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(who)}"}


def prepare(db: Path) -> Path:
    """Grant the auditor and issue the four tokens (through core, as ``callroute token create`` does)."""
    app = build_app(db, clock=SteppingClock(NOW))
    try:
        app.execute([c.GrantPermission(tenant=SLUG, principal=AUDITOR, permission="auditor")], Actor(principal=ADMIN))
        for who, (token_id, principal, operator) in TOKENS.items():
            issue_token(app, Actor(principal="ops@platform.example", operator=True), token_id=token_id,
                        token_hash=token_hash(token(who)), principal=principal, operator=operator)
    finally:
        app.close()
    return db


@asynccontextmanager
async def running(db: Path, *, clock: Any = None, limits: Limits | None = None,
                  webhooks: Mapping[str, WebhookSource] | None = None) -> AsyncIterator[str]:
    """A server on ``db`` at a free loopback port, for the block; its base URL."""
    app = create_app(db, clock=clock or SteppingClock(LATER, timedelta(seconds=1)), limits=limits, webhooks=webhooks)
    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        binds = await nursery.start(partial(serve, app, "127.0.0.1", 0, shutdown_trigger=stop.wait))
        try:
            yield binds[0]
        finally:
            stop.set()


def client(url: str, who: str | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=url, headers=bearer(who) if who else {}, timeout=30)


_FIXED_CLOCK_CLI = ("import sys; from datetime import datetime; from adapters.cli import Wiring, cli; "
                    "from core.clock import SteppingClock; cli(prog_name='callroute', "
                    "obj=Wiring(clock=SteppingClock(datetime.fromisoformat(sys.argv[1]))), args=sys.argv[2:])")


def serve_command(now: datetime, *args: str) -> list[str]:
    """``callroute serve ARGS`` as a command for a process of its own, its clock fixed at ``now`` through the wiring the
    console script gives the wall clock: what it stores is dated ``now`` whatever the machine's clock says."""
    return [sys.executable, "-c", _FIXED_CLOCK_CLI, now.isoformat(), "serve", *args]


@contextmanager
def serve_process(command: list[str], env: Mapping[str, str], *, within: float = 60, cwd: Path | None = None,
                  seen: list[str] | None = None) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``callroute serve`` started by ``command`` as a process of its own, for the block: the process and its base URL.

    The URL is read from the line it writes to stderr once it serves (``seen``, if given, gets every line read up to
    it); at the end the process gets SIGTERM (then, after 20 s, SIGKILL), so a caller can check ``returncode`` after
    the block.
    """
    process = subprocess.Popen(command, env=dict(env), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               cwd=cwd)
    try:
        url = None
        deadline = time.monotonic() + within
        assert process.stderr is not None
        seen = [] if seen is None else seen
        while url is None and time.monotonic() < deadline:
            line = process.stderr.readline()
            seen.append(line)
            found = re.search(r"serving .* on (http://\S+)", line)
            url = found[1] if found else None
            assert line or process.poll() is None, "callroute serve ended before it served: " + "".join(seen)[-2000:]
        assert url is not None, f"callroute serve did not say where it serves within {within:g} s"
        yield process, url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
