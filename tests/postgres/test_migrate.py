"""``callroute migrate SRC DST``: a whole store from SQLite to PostgreSQL and back, with the same store head."""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from adapters.bootstrap import build_app
from core import commands as c
from core.aggregates.context import Actor
from core.aggregates.targets import ToExtension, ToVoicemail
from core.clock import SteppingClock
from core.wiring import PostgresStore
from tests.adapters.clirun import invoke
from tests.core.conftest import FakeHasher

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("sqlite_files")]  # SQLite files stay files on either backend

ADMIN = Actor(principal="admin@acme")
START = datetime(2026, 11, 16, 8, 0, tzinfo=UTC)
HEAD = re.compile(r"^store head ([0-9a-f]{64}) after (\d+) events$", re.MULTILINE)


def build(location: str, changes: int) -> None:
    """Tenants acme (``changes`` diverts: a snapshot every 500 versions) and beta, acme's provisioning record."""
    app = build_app(location, clock=SteppingClock(START, timedelta(seconds=1)), pin_hasher=FakeHasher())
    app.execute([c.CreateTenant(tenant="acme", name="Acme", time_zone="Europe/Stockholm")], ADMIN)
    app.execute([c.AddUser(tenant="acme", extension="2001", name="Ann"), c.AddUser(tenant="acme", extension="2002", name="Bo")],
                ADMIN)
    app.execute([c.CreateTenant(tenant="beta", name="Beta", time_zone="Europe/London")], ADMIN)
    for index in range(changes):
        target = ToVoicemail() if index % 2 else ToExtension(extension="2002")
        app.execute([c.SetDivert(tenant="acme", extension="2001", condition="busy", target=target)], ADMIN)
    app.execute([c.ConfirmProvisioning(tenant="acme", version=3)], ADMIN)
    app.close()


def head(location: str, *, projection: bool = True) -> tuple[str, int]:
    """The store head ``audit verify --operator`` prints, and after how many events; every chain intact, and the routing
    projection (built by migrate in its DST) agreeing with the events."""
    result = invoke(["--db", location, "--operator", "audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "BROKEN" not in result.stdout
    assert not projection or "projection: the rows of 2 tenants agree with the events" in result.stdout, result.stdout
    found = HEAD.search(result.stdout)
    assert found is not None, result.stdout
    return found[1], int(found[2])


def test_a_store_goes_to_postgres_and_back_with_the_same_store_head(tmp_path: Path, postgres_url: str) -> None:
    source, back = str(tmp_path / "source.sqlite"), str(tmp_path / "back" / "copy.sqlite")
    build(source, changes=520)  # acme reaches version 523: a snapshot at 500
    before = head(source, projection=False)
    assert before[1] == 523 + 1 + 2  # acme, beta, acme's provisioning record (opened and confirmed)

    there = invoke(["migrate", source, postgres_url])
    assert there.exit_code == 0, there.output
    shown = str(PostgresStore(postgres_url))
    assert there.stdout.splitlines() == [f"copied 526 events of 3 records and 1 snapshot from {source} to {shown}",
                                         f"store head {before[0]} after 526 events, the same in both"]
    assert head(postgres_url) == before

    home = invoke(["migrate", postgres_url, back])
    assert home.exit_code == 0, home.output
    assert head(back) == before
    with closing(sqlite3.connect(source)) as a, closing(sqlite3.connect(back)) as b:
        query = "SELECT originator_id, originator_version, topic, state FROM stored_events ORDER BY rowid"
        assert a.execute(query).fetchall() == b.execute(query).fetchall()
        query = "SELECT originator_id, originator_version, topic, state FROM stored_snapshots ORDER BY originator_version"
        assert a.execute(query).fetchall() == b.execute(query).fetchall()

    # The copy serves and takes writes like the original.
    app = build_app(postgres_url, clock=SteppingClock(START + timedelta(days=1)), pin_hasher=FakeHasher())
    assert app.tenant("acme").version == 523
    app.execute([c.AddUser(tenant="beta", extension="3001", name="Cy")], ADMIN)
    assert head(postgres_url)[1] == 527


def test_migrate_refuses_a_destination_that_is_not_empty_in_one_line(tmp_path: Path, postgres_url: str) -> None:
    source = str(tmp_path / "source.sqlite")
    build(source, changes=1)
    assert invoke(["migrate", source, postgres_url]).exit_code == 0
    with psycopg.connect(**PostgresStore(postgres_url).conninfo()) as db:
        count = db.execute("SELECT count(*) FROM callroute_events").fetchone()[0]
    again = invoke(["migrate", source, postgres_url])
    assert again.exit_code == 2
    assert again.stderr == (f"callroute: error: {PostgresStore(postgres_url)}: not empty (it holds events, or a projection of them); "
                            "migrate copies into an empty store only\n")
    with psycopg.connect(**PostgresStore(postgres_url).conninfo()) as db:
        assert db.execute("SELECT count(*) FROM callroute_events").fetchone()[0] == count  # nothing copied twice


def test_migrate_says_in_one_line_what_is_wrong_with_its_stores(tmp_path: Path, postgres_url: str) -> None:
    missing = invoke(["migrate", str(tmp_path / "nothing.sqlite"), postgres_url])
    assert missing.exit_code == 2
    assert missing.stderr.startswith(f"callroute: error: SRC no store at {tmp_path / 'nothing.sqlite'}") and missing.stderr.count("\n") == 1
    source = str(tmp_path / "source.sqlite")
    build(source, changes=0)
    same = invoke(["migrate", source, source])
    assert same.exit_code == 2 and same.stderr == f"callroute: error: {source}: SRC and DST are the same store\n"
    down = invoke(["migrate", source, "postgresql://ann:s3cret@127.0.0.1:1/nowhere?connect_timeout=2"])
    assert down.exit_code == 1 and down.stderr.count("\n") == 1 and "s3cret" not in down.stderr


def test_migrate_refuses_a_source_with_call_events_and_copies_nothing(tmp_path: Path, postgres_url: str) -> None:
    source = tmp_path / "source.sqlite"
    build(str(source), changes=0)
    from adapters.call_store import CallStore

    from core.calls.events import CallEvent  # noqa: F401 - the module the store's rows decode to

    store = CallStore(source)
    store.create()
    with closing(sqlite3.connect(source)) as db, db:
        db.execute("INSERT INTO call_events (tenant, pbx, key, call_id, at, topic, body, hash) "
                   "VALUES ('acme', 'p', 'k', 'c', 0, 't', x'00', x'00')")
    store.close()
    refused = invoke(["migrate", str(source), postgres_url])
    assert refused.exit_code == 2
    assert refused.stderr == (f"callroute: error: {source}: holds 1 call events, which migrate does not copy (call events are kept "
                              "in SQLite stores only); nothing was copied\n")
    with psycopg.connect(**PostgresStore(postgres_url).conninfo()) as db:
        assert db.execute("SELECT to_regclass('callroute_events')").fetchone()[0] is None
