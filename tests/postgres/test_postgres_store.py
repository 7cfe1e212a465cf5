"""The store on a real PostgreSQL server (started by the tests, ``tests/pgserver.py``): written, read, verified and
refused as on SQLite, through eventsourcing's PostgreSQL recorder and ``adapters/postgres.py``."""

from __future__ import annotations

import re
import zlib
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from adapters.bootstrap import build_app, build_projection, store_problem
from adapters.postgres import PostgresProjectionStore
from adapters.projection_store import ProjectionMoved
from core import commands as c
from core.aggregates.context import Actor
from core.aggregates.identifiers import tenant_id
from core.aggregates.targets import ToExtension, ToVoicemail
from core.aggregates.tenant import Tenant
from core.clock import SteppingClock
from core.errors import StoreIntegrityError
from core.projections import ProjectionBatch
from core.service import CallrouteApp
from core.wiring import PostgresStore, StoreURLError, store_env
from tests.adapters.clirun import invoke
from tests.core.conftest import FakeHasher

pytestmark = pytest.mark.postgres

ADMIN = Actor(principal="admin@acme")
START = datetime(2026, 11, 16, 8, 0, tzinfo=UTC)


def seed(app: CallrouteApp, changes: int = 0) -> None:
    app.execute([c.CreateTenant(tenant="acme", name="Acme", time_zone="Europe/Stockholm")], ADMIN)
    app.execute([c.AddUser(tenant="acme", extension="2001", name="Ann"), c.AddUser(tenant="acme", extension="2002", name="Bo")],
                ADMIN)
    for index in range(changes):
        target = ToVoicemail() if index % 2 else ToExtension(extension="2002")
        app.execute([c.SetDivert(tenant="acme", extension="2001", condition="busy", target=target)], ADMIN)


def test_the_url_names_the_database_and_hides_its_password() -> None:
    store = PostgresStore("postgresql://ann:s%40cret@db.example:6543/routing?pool_size=3")
    env = store.env()
    assert (env["POSTGRES_USER"], env["POSTGRES_PASSWORD"], env["POSTGRES_HOST"], env["POSTGRES_PORT"]) == ("ann", "s@cret",
                                                                                                       "db.example", "6543")
    assert (env["POSTGRES_DBNAME"], env["POSTGRES_POOL_SIZE"], env["PERSISTENCE_MODULE"]) == ("routing", "3", "eventsourcing.postgres")
    assert str(store) == "postgresql://ann:***@db.example:6543/routing?pool_size=3"
    assert "cret" not in str(PostgresStore("postgresql://ann@h/db?password=secret"))
    with pytest.raises(StoreURLError, match="names no database"):
        PostgresStore("postgresql://ann:x@h:5432/").env()
    with pytest.raises(StoreURLError, match="unknown setting 'poolsize'"):
        PostgresStore("postgresql://ann:x@h:5432/db?poolsize=2").env()


def test_a_write_on_postgres_is_stored_once_and_verifies(postgres_url: str) -> None:
    app = build_app(postgres_url, clock=SteppingClock(START, timedelta(minutes=1)), pin_hasher=FakeHasher())
    seed(app, changes=3)
    assert app.tenant("acme").version == 6
    app.close()
    with psycopg.connect(**PostgresStore(postgres_url).conninfo()) as db:
        rows = db.execute("SELECT originator_version, topic FROM callroute_events ORDER BY notification_id").fetchall()
    assert [version for version, _ in rows] == [1, 2, 3, 4, 5, 6]
    assert rows[0][1] == "callroute/TenantCreated"
    result = invoke(["--db", postgres_url, "--operator", "audit", "verify"])
    assert result.exit_code == 0, result.output
    assert re.search(r"^acme: intact, 6 events, head [0-9a-f]{64}$", result.stdout, re.MULTILINE)
    assert re.search(r"^store head [0-9a-f]{64} after 6 events$", result.stdout, re.MULTILINE)
    assert "s3cret" not in result.output


def test_an_edited_event_on_postgres_is_refused_and_verify_names_it(postgres_url: str) -> None:
    app = build_app(postgres_url, clock=SteppingClock(START, timedelta(minutes=1)), pin_hasher=FakeHasher())
    seed(app, changes=2)
    app.close()
    with psycopg.connect(**PostgresStore(postgres_url).conninfo()) as db:
        db.execute("UPDATE callroute_events SET state = replace(encode(state, 'escape'), 'Ann', 'Eve')::bytea "
                   "WHERE originator_version = 2")
    fresh = build_app(postgres_url, clock=SteppingClock(START), pin_hasher=FakeHasher())
    with pytest.raises(StoreIntegrityError, match="tenant acme at version 2: the stored UsersAdded|tenant acme at version 2"):
        fresh.tenant("acme")
    result = invoke(["--db", postgres_url, "--operator", "audit", "verify"])
    assert result.exit_code == 1
    assert "acme: BROKEN at event version 2" in result.stdout


def test_a_version_missing_before_the_snapshot_is_found_by_counting_on_postgres(postgres_url: str) -> None:
    class SmallSnapshots(CallrouteApp):
        snapshotting_intervals = {Tenant: 5}  # noqa: RUF012

    app = SmallSnapshots(store_env(postgres_url), clock=SteppingClock(START, timedelta(minutes=1)), pin_hasher=FakeHasher())
    seed(app, changes=8)  # versions 1-10, a snapshot at 5 and at 10
    app.close()
    with psycopg.connect(**PostgresStore(postgres_url).conninfo()) as db:
        assert db.execute("SELECT count(*) FROM callroute_snapshots").fetchone()[0] == 2
        db.execute("DELETE FROM callroute_events WHERE originator_id = %s AND originator_version = 3", (tenant_id("acme"),))
    fresh = SmallSnapshots(store_env(postgres_url), clock=SteppingClock(START), pin_hasher=FakeHasher())
    with pytest.raises(StoreIntegrityError, match="at version 3: event version 3 is missing .*snapshot at version 10"):
        fresh.tenant("acme")


def test_the_projection_rows_and_position_commit_together_and_a_second_writer_is_refused(postgres_url: str) -> None:
    store = PostgresStore(postgres_url)
    first, second = PostgresProjectionStore(store), PostgresProjectionStore(store)
    table = b"\x81\xa1a\x01" * 100
    first.commit(0, ProjectionBatch(position=7, tenants={"ab": "acme"}, tables=[("acme", 3, table)]))
    with pytest.raises(ProjectionMoved, match="is at 7, not 0"):
        second.commit(0, ProjectionBatch(position=9, tenants={"cd": "beta"}, tables=[("beta", 1, table)]))
    loaded = second.load()
    assert (loaded.position, loaded.tenants) == (7, {"ab": "acme"})  # the refused batch left nothing behind
    assert second.table("acme", 3) == table and second.table("beta", 1) is None
    assert second.keys() == [("acme", 3)]
    with psycopg.connect(**store.conninfo()) as db:
        (blob,) = db.execute("SELECT blob FROM projection_tables").fetchone()
    assert zlib.decompress(blob) == table  # stored compressed, as SQLite's rows are
    first.close()
    second.close()


def test_the_routing_projection_on_postgres_gives_the_tables_of_a_rebuild(postgres_url: str) -> None:
    app = build_app(postgres_url, clock=SteppingClock(START, timedelta(minutes=1)), pin_hasher=FakeHasher())
    seed(app, changes=4)
    app.execute([c.ConfirmProvisioning(tenant="acme", version=4)], ADMIN)
    projection = build_projection(app, postgres_url)
    served = projection.effective("acme", START + timedelta(days=1))
    projection.store.close()
    again = build_projection(build_app(postgres_url, clock=SteppingClock(START), pin_hasher=FakeHasher()), postgres_url)
    assert again.effective("acme", START + timedelta(days=1)) == served
    assert served is not None


def test_an_empty_database_is_no_store_and_an_unreachable_server_is_one_line(postgres_url: str) -> None:
    problem = store_problem(postgres_url)
    assert problem is not None and problem.missing and problem.exit_code == 2
    assert str(problem).startswith("no store at postgresql://") and "make one with callroute apply FILE" in problem
    result = invoke(["--db", postgres_url, "tenant", "list"])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    down = "postgresql://ann:s3cret@127.0.0.1:1/nowhere?connect_timeout=2"
    result = invoke(["--db", down, "tenant", "list"])
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("callroute: error: postgresql://ann:***@127.0.0.1:1/nowhere?connect_timeout=2: cannot read "
                                    "the PostgreSQL database (")
    assert result.stderr.count("\n") == 1 and "s3cret" not in result.stderr


def test_call_history_of_a_postgres_store_without_call_tables_is_empty_and_creates_nothing(postgres_url: str) -> None:
    """Call events are kept on PostgreSQL too (``tests/postgres/test_call_store_pg.py``): a store that never took one
    has no call tables, and reading its history neither fails nor makes them."""
    build_app(postgres_url, clock=SteppingClock(START), pin_hasher=FakeHasher()).close()
    seed(build_app(postgres_url, clock=SteppingClock(START, timedelta(minutes=1)), pin_hasher=FakeHasher()))
    result = invoke(["--db", postgres_url, "--actor", ADMIN.principal, "history", "--tenant", "acme"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "acme: no finished calls\n", ""), result.output
    with psycopg.connect(**PostgresStore(postgres_url).conninfo()) as db:
        assert db.execute("SELECT to_regclass('call_events'), to_regclass('calls')").fetchone() == (None, None)
