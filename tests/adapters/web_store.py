"""A store for the web page's tests: the demo's week of history, the tokens of ``http_server``, and a few calls.

The demo's sample history (``adapters/demo.py``: changes on 16, 17 and 20 November 2026, version 38 confirmed live
on the 17th, Carla's divert turned off on the 20th and not live yet), then, as ``http_server.prepare`` does, an
auditor granted and four tokens issued; then three calls a PBX reported on the 18th and the 20th: one as configured,
one that deviates, and one that follows the change not yet live. Every instant is fixed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

from adapters.bootstrap import build_app, open_call_store
from adapters.call_sink import StoringSink, directory_for
from adapters.demo import SEEDED_AT, _sample_history
from core.aggregates.context import Actor
from core.calls.attribution import Attribution
from core.calls.events import CallEnded, CallEvent, CallStarted, LegAnswered, LegRinging
from core.clock import SteppingClock
from tests.adapters.http_server import ADMIN, SLUG, prepare

OTHER_TENANT = "nordic-dental-malmo"
"""The demo's other tenant: its admin may read it, the sample tenant's auditor may not."""
SERVER_NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
"""The server's clock in the page's tests: after every change of the store (``http_server.LATER``)."""
CALL_DAY = datetime(2026, 11, 18, 9, 0, tzinfo=UTC)
"""Wednesday 10:00 in Stockholm: version 38 is live, so a call to 2003 rings 2002 (Carla's divert)."""
LATE_CALL = datetime(2026, 11, 20, 16, 45, tzinfo=UTC)
"""Friday 17:45 in Stockholm: Carla's divert is off in the saved table (version 39), not yet on the PBX."""


def _call(call_id: str, dialled: str, answered_by: str, start: datetime) -> list[CallEvent]:
    leg = f"{call_id}-{answered_by}"
    return [CallStarted(pbx="stockholm", at=start, call_id=call_id, dialled=dialled, caller="+441234567890", key=f"{call_id}:s"),
            LegRinging(pbx="stockholm", at=start + timedelta(seconds=2), call_id=call_id, leg=leg, endpoint=answered_by,
                       key=f"{call_id}:r"),
            LegAnswered(pbx="stockholm", at=start + timedelta(seconds=8), call_id=call_id, leg=leg, endpoint=answered_by,
                        answered_by="extension", key=f"{call_id}:a"),
            CallEnded(pbx="stockholm", at=start + timedelta(seconds=70), call_id=call_id, cause=16, key=f"{call_id}:e")]


CALLS = [*_call("c1", "2003", "2002", CALL_DAY), *_call("c2", "2003", "2003", CALL_DAY + timedelta(minutes=30)),
         *_call("c3", "2003", "2003", LATE_CALL)]
"""c1 as configured (2003 forwards to 2002), c2 deviates, c3 deviates from the live table and follows version 39."""


def build_web_store(db: Path) -> Path:
    """The store described in the module's docstring, at ``db`` (made afresh: an SQLite file, or on the PostgreSQL
    backend the database the path is redirected to, ``tests/backends.py``)."""
    directory = resources.files("adapters.data").joinpath("pbx_directory.toml")
    with resources.as_file(directory) as path:
        app = build_app(db, clock=SteppingClock(SEEDED_AT), pbx_directory=path)
    try:
        _sample_history(app)
    finally:
        app.close()
    prepare(db)
    app = build_app(db, clock=SteppingClock(SERVER_NOW))
    try:
        directory = directory_for(app, Actor(ADMIN), SLUG)
    finally:
        app.close()
    store = open_call_store(db)  # the SQLite file's call tables, or the database's on the PostgreSQL backend
    try:
        sink = StoringSink(store, Attribution(directory, tenant=SLUG, known_call=store.tenant_of_call))
        sink.add(CALLS)
        sink.close()
    finally:
        store.close()
    return db
