"""schemathesis against the API's own OpenAPI document: no 5xx, and no answer that breaks the schema it declares.

The server runs on loopback in a thread of its own (``trio.run`` there), since schemathesis sends its requests
synchronously. Every operation gets a bounded number of generated requests, as the tenant's telephony_admin
(the tenant in the path is mostly one that does not exist: generated; a few use the sample tenant's slug).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.http import Limits, create_app
from adapters.http.server import serve
from tests.adapters.http_server import LATER, SLUG, bearer, prepare
from tests.backends import copy_store

schemathesis = pytest.importorskip("schemathesis")

EXAMPLES = 12
"""Generated requests per operation (14 operations): bounded so that the whole test stays within a few seconds."""


class ThreadServer:
    """The API on a free loopback port, served by ``trio.run`` in a thread until ``stop``."""

    def __init__(self, db: Path) -> None:
        from datetime import timedelta

        from core.clock import SteppingClock

        self.app = create_app(db, clock=SteppingClock(LATER, timedelta(milliseconds=1)), limits=Limits(max_body_bytes=64 * 1024))
        self.url = ""
        self._ready = threading.Event()
        self._token: trio.lowlevel.TrioToken | None = None
        self._stop: trio.Event | None = None
        self._thread = threading.Thread(target=trio.run, args=(self._main,), daemon=True)
        self._thread.start()
        assert self._ready.wait(30), "the server did not start"

    async def _main(self) -> None:
        self._token = trio.lowlevel.current_trio_token()
        self._stop = trio.Event()
        async with trio.open_nursery() as nursery:
            binds = await nursery.start(partial(serve, self.app, "127.0.0.1", 0, shutdown_trigger=self._stop.wait))
            self.url = binds[0]
            self._ready.set()

    def stop(self) -> None:
        assert self._token is not None and self._stop is not None
        trio.from_thread.run_sync(self._stop.set, trio_token=self._token)
        self._thread.join(30)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, seeded_store: Path) -> Iterator[ThreadServer]:

    db = tmp_path_factory.mktemp("schema") / "c.sqlite"
    copy_store(seeded_store, db)  # SQLite's backup, or a database copy on the PostgreSQL backend
    prepare(db)
    running = ThreadServer(db)
    yield running
    running.stop()


@pytest.mark.slow
def test_no_operation_answers_5xx_or_breaks_its_own_schema(server: ThreadServer) -> None:
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

    document = httpx.get(f"{server.url}/openapi.json").json()
    schema = schemathesis.openapi.from_dict(document)
    checks = [not_a_server_error, response_schema_conformance, status_code_conformance]
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 15
    failures: list[str] = []
    for operation in operations:

        def sample_tenant(case: Any) -> Any:  # half of the cases name the sample tenant, which the token may read
            if case.path_parameters and "tenant" in case.path_parameters:
                case.path_parameters["tenant"] = SLUG
            return case

        strategy = operation.as_strategy()
        cases = st.one_of(strategy, strategy.map(sample_tenant))

        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(case=cases)
        def check(case: Any) -> None:
            case.call_and_validate(base_url=server.url, headers=bearer("admin"), checks=checks)

        try:
            check()
        except Exception as exc:  # noqa: BLE001 - every operation's failure is listed
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:2000]}")
    assert failures == []
