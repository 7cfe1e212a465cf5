"""No process serves a stale tenant: a read sees every write committed before it started, whoever wrote it.

Two applications on one store, and two processes, on SQLite and on PostgreSQL: the reader has the tenant in its
aggregate cache before the other writes, then reads. Commands too: one refused on a stale cached tenant (a user another
process added since) is tried again on what is stored.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.bootstrap import build_app
from core import commands as c
from core import wiring
from core.aggregates.context import Actor
from core.aggregates.targets import ToVoicemail
from core.clock import SteppingClock
from core.service import CallrouteApp
from core.wiring import PostgresStore
from tests.core.conftest import FakeHasher

ADMIN = Actor(principal="admin@acme")
START = datetime(2026, 11, 16, 8, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["sqlite", "postgres"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_url"))
    return str(tmp_path / "store.sqlite")


def opened(location: str, start: datetime = START) -> CallrouteApp:
    return build_app(location, clock=SteppingClock(start, timedelta(seconds=1)), pin_hasher=FakeHasher())


def seeded(location: str) -> CallrouteApp:
    app = opened(location)
    app.execute([c.CreateTenant(tenant="acme", name="Acme", time_zone="Europe/Stockholm")], ADMIN)
    app.execute([c.AddUser(tenant="acme", extension="2001", name="Ann")], ADMIN)
    return app


def test_a_read_through_b_sees_what_a_wrote_after_b_cached_the_tenant(location: str) -> None:
    a = seeded(location)
    b = opened(location, START + timedelta(hours=1))
    assert b.get_tenant("acme", ADMIN).version == 2  # now in B's aggregate cache
    assert b.provisioning("acme") is None
    a.execute([c.AddUser(tenant="acme", extension="2002", name="Bo")], ADMIN)
    a.execute([c.ConfirmProvisioning(tenant="acme", version=3)], ADMIN)
    view = b.get_tenant("acme", ADMIN)
    assert view.version == 3 and "2002" in {user.extension for user in view.users}
    assert b.get_user("acme", "2002", ADMIN).name == "Bo"
    record = b.provisioning("acme")
    assert record is not None and record.version == a.provisioning("acme").version
    assert b.tenant("acme") is b.tenant("acme")  # nothing new since: the cached tenant is served


def test_a_command_refused_on_a_stale_cached_tenant_is_tried_again_on_what_is_stored(location: str) -> None:
    a = seeded(location)
    b = opened(location, START + timedelta(hours=1))
    b.get_tenant("acme", ADMIN)
    a.execute([c.AddUser(tenant="acme", extension="2002", name="Bo")], ADMIN)
    receipt = b.execute([c.SetDivert(tenant="acme", extension="2002", condition="busy", target=ToVoicemail())], ADMIN)
    assert receipt.versions == {"acme": 4}
    assert a.get_tenant("acme", ADMIN).version == 4


def test_a_command_on_a_stale_cached_tenant_that_saves_first_is_tried_again_after_the_clash(location: str) -> None:
    a = seeded(location)
    b = opened(location, START + timedelta(hours=1))
    b.get_tenant("acme", ADMIN)
    a.execute([c.AddUser(tenant="acme", extension="2002", name="Bo")], ADMIN)
    assert b.execute([c.AddUser(tenant="acme", extension="2003", name="Cy")], ADMIN).versions == {"acme": 4}
    assert {user.extension for user in a.get_tenant("acme", ADMIN).users} == {"2001", "2002", "2003"}


READER = textwrap.dedent('''
    import sys
    from datetime import UTC, datetime
    from adapters.bootstrap import build_app
    from core.aggregates.context import Actor
    from core.clock import SteppingClock
    from tests.core.conftest import FakeHasher

    app = build_app(sys.argv[1], clock=SteppingClock(datetime(2026, 12, 1, tzinfo=UTC)), pin_hasher=FakeHasher())
    actor = Actor(principal="admin@acme")
    for line in sys.stdin:
        view = app.get_tenant("acme", actor)
        print(view.version, ",".join(sorted(user.extension for user in view.users)), flush=True)
''')


WRITER = textwrap.dedent('''
    import sys
    from datetime import UTC, datetime
    from adapters.bootstrap import build_app
    from core import commands as c
    from core.aggregates.context import Actor
    from core.clock import SteppingClock
    from tests.core.conftest import FakeHasher

    app = build_app(sys.argv[1], clock=SteppingClock(datetime(2026, 12, 2, tzinfo=UTC)), pin_hasher=FakeHasher())
    app.execute([c.AddUser(tenant="acme", extension="2002", name="Bo")], Actor(principal="admin@acme"))
    app.close()
''')


def child_location(location: str) -> str:
    """The store as the child process must be told it (on the PostgreSQL test backend a path here is a database there)."""
    store = wiring.resolve_store(location)
    return store.url if isinstance(store, PostgresStore) else str(store)


def test_a_long_lived_reader_process_sees_what_another_process_wrote(location: str) -> None:
    seeded(location).close()
    reader = subprocess.Popen([sys.executable, "-c", READER, child_location(location)], cwd=ROOT, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert reader.stdin is not None and reader.stdout is not None
    ask: Callable[[], Any] = lambda: (reader.stdin.write("read\n"), reader.stdin.flush(), reader.stdout.readline().strip())[2]  # noqa: E731
    try:
        assert ask() == "2 2001", reader.stderr.read() if reader.poll() is not None else ""
        # Another process writes, at an injected instant after the seeded history (no test may depend on today's date).
        writer = subprocess.run([sys.executable, "-c", WRITER, child_location(location)],
                                cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
        assert writer.returncode == 0, writer.stderr
        assert ask() == "3 2001,2002"
        assert ask() == "3 2001,2002"
    finally:
        reader.stdin.close()
        reader.wait(timeout=60)
