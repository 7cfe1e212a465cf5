"""``callroute migrate SRC DST``: a whole store from SQLite to PostgreSQL and back, with the same store head."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from adapters.bootstrap import build_app, store_problem
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
    assert again.stderr == (f"callroute: error: {PostgresStore(postgres_url)}: not empty (it holds events, a projection of them, "
                            "or call events); migrate copies into an empty store only\n")
    with psycopg.connect(**PostgresStore(postgres_url).conninfo()) as db:
        assert db.execute("SELECT count(*) FROM callroute_events").fetchone()[0] == count  # nothing copied twice


def test_migrate_says_in_one_line_what_is_wrong_with_its_stores(tmp_path: Path, postgres_url: str) -> None:
    missing = invoke(["migrate", str(tmp_path / "nothing.sqlite"), postgres_url])
    assert missing.exit_code == 2
    assert missing.stderr.startswith(f"callroute: error: {tmp_path / 'nothing.sqlite'}: no store to copy (no such file)")
    assert missing.stderr.count("\n") == 1
    source = str(tmp_path / "source.sqlite")
    build(source, changes=0)
    same = invoke(["migrate", source, source])
    assert same.exit_code == 2 and same.stderr == f"callroute: error: {source}: SRC and DST are the same store\n"
    down = invoke(["migrate", source, "postgresql://ann:s3cret@127.0.0.1:1/nowhere?connect_timeout=2"])
    assert down.exit_code == 1 and down.stderr.count("\n") == 1 and "s3cret" not in down.stderr


# -- call events ---------------------------------------------------------------------------------------------------------

CALL_ROWS = {"call_events": "SELECT seq, tenant, pbx, key, call_id, at, topic, body, hash FROM call_events ORDER BY seq",
             "calls": "SELECT pbx, call_id, tenant, started FROM calls ORDER BY pbx, call_id",
             "call_chain_heads": "SELECT tenant, hash, events FROM call_chain_heads ORDER BY tenant"}


def call_rows(location: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the store's call tables, read with SQL (each call event with its ``seq``, body and chain hash)."""
    from tests.adapters.call_sql import query

    return {table: sorted(query(location, statement)) for table, statement in CALL_ROWS.items()}


def with_calls(location: str, tmp_path: Path) -> None:
    """The sample tenants, with calls from every intake (AMI, ESL, saved webhooks) and presence, stored as each
    ``callroute ingest`` stores them (``tests/postgres/test_call_store_pg.py``), and a few of the other tenant's between
    them: two chains, their rows interleaved."""
    from tests.adapters.test_cli_calls import call, store
    from tests.postgres.test_call_store_pg import traffic

    saved = tmp_path / "saved"  # the webhook payloads ingested
    saved.mkdir(exist_ok=True)
    traffic(location, saved)
    malmo = [*call("m1", "+46401234500", start=2000, end=2030), *call("m2", "+46401234500", start=2100, end=2160)]
    store(location, malmo, tenant="nordic-dental-malmo")  # type: ignore[arg-type]
    store(location, call("c9", "2003", start=2200, end=2230), tenant="nordic-dental")  # type: ignore[arg-type]


def call_answers(location: str) -> dict[str, tuple[int, str]]:
    """What ``history``, ``conformance`` and ``audit verify`` print about the store (``audit verify --operator`` whole)."""
    from tests.adapters.test_cli_calls import run
    from tests.adapters.test_cli_verify import OPERATOR
    from tests.postgres.test_call_store_pg import answers

    found = answers(location)
    code, out, err = run(location, "audit", "verify", "--operator", actor=OPERATOR)  # type: ignore[arg-type]
    assert err == "", err
    found["verify --operator, whole"] = (code, out)
    return found


def test_call_events_go_to_postgres_and_back_with_the_same_history_conformance_and_verify(tmp_path: Path,
                                                                                        postgres_url: str) -> None:
    source, back = str(tmp_path / "source.sqlite"), str(tmp_path / "back" / "copy.sqlite")
    with_calls(source, tmp_path)
    expected, rows = call_answers(source), call_rows(source)
    assert len(rows["call_events"]) == 38 and {row[1] for row in rows["call_events"]} == {"nordic-dental", "nordic-dental-malmo"}
    assert [row[0] for row in rows["call_events"]] == list(range(1, 39))
    calls_head = re.search(r"^store calls head ([0-9a-f]{64}) after 38 call events$", expected["verify"][1], re.MULTILINE)
    assert calls_head is not None, expected["verify"]
    store_head = head(source)

    there = invoke(["migrate", source, postgres_url])
    assert there.exit_code == 0, there.output
    assert there.stdout.splitlines() == [
        f"copied {store_head[1]} events of 3 records, 0 snapshots and 38 call events from {source} to {PostgresStore(postgres_url)}",
        f"store head {store_head[0]} after {store_head[1]} events, the same in both",
        f"store calls head {calls_head[1]} after 38 call events, the same in both"]
    assert call_rows(postgres_url) == rows  # seq, bodies, chain hashes, calls and chain heads: the same
    assert call_answers(postgres_url) == expected

    home = invoke(["migrate", postgres_url, back])
    assert home.exit_code == 0, home.output
    assert home.stdout.splitlines()[2] == f"store calls head {calls_head[1]} after 38 call events, the same in both"
    assert call_rows(back) == rows
    assert call_answers(back) == expected
    assert "DEVIATES" in expected["conformance"][1] and expected["verify --operator, whole"][0] == 0  # not an empty answer

    # Each copy takes the next call event after the copied ones, on the same chain.
    from tests.adapters.test_cli_calls import call, store

    for copy in (postgres_url, back):
        store(copy, call("c10", "2003", start=2400, end=2430), tenant="nordic-dental")  # type: ignore[arg-type]
        assert [row[0] for row in call_rows(copy)["call_events"]][-3:] == [38, 39, 40]
        assert call_answers(copy)["verify"][0] == 0 and "after 40 call events" in call_answers(copy)["verify"][1]


def test_a_source_whose_call_events_do_not_verify_is_refused_and_nothing_is_copied(tmp_path: Path, postgres_url: str) -> None:
    from tests.adapters.call_sql import sql

    source = str(tmp_path / "source.sqlite")
    with_calls(source, tmp_path)
    sql(source, "UPDATE call_events SET hash = ? WHERE seq = 3", bytes(32))  # as if its body had been edited
    refused = invoke(["migrate", source, postgres_url])
    assert refused.exit_code == 1, refused.output
    assert refused.stderr.startswith(f"callroute: error: {source}: its call events do not verify (nordic-dental: BROKEN at call "
                                     "event 3 of ")
    assert refused.stderr.endswith("; nothing was copied\n") and refused.stderr.count("\n") == 1
    assert objects_in_public(postgres_url) == []


# -- all or nothing ------------------------------------------------------------------------------------------------------


def objects_in_public(url: str) -> list[str]:
    """Every table, sequence, index, type and function in the database's public schema: what a copy would have left."""
    with psycopg.connect(**PostgresStore(url).conninfo()) as db:
        relations = db.execute("SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                               "WHERE n.nspname = 'public'").fetchall()
        types = db.execute("SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
                           "WHERE n.nspname = 'public' AND t.typtype = 'c' AND t.typrelid IN "
                           "(SELECT oid FROM pg_class WHERE relkind = 'c')").fetchall()
        functions = db.execute("SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                               "WHERE n.nspname = 'public'").fetchall()
    return sorted(row[0] for row in [*relations, *types, *functions])


def failing_after(pages: int, fail: Callable[[], None], monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Make the copy fail (``fail()``) once ``pages`` pages of events are inserted; the pages inserted, as they go."""
    from adapters.cli import migrate

    real, inserted = migrate._insert_page, []

    def insert(into: Any, notifications: Sequence[Any]) -> None:
        if len(inserted) == pages:
            fail()
        real(into, notifications)
        inserted.append(len(notifications))

    monkeypatch.setattr(migrate, "_insert_page", insert)
    return inserted


def injected() -> None:
    raise RuntimeError("injected: the copy stops here")


def test_a_copy_into_postgres_that_fails_part_way_leaves_the_database_as_it_was(
        tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from adapters.cli.migrate import MigrationError, migrate_store

    source = str(tmp_path / "source.sqlite")
    build(source, changes=520)
    before = head(source, projection=False)
    inserted = failing_after(2, injected, monkeypatch)
    with pytest.raises(MigrationError) as refused:
        migrate_store(source, postgres_url, page=100)
    assert inserted == [100, 100]  # two pages were in DST's transaction when it failed
    assert refused.value.exit_code == 1
    assert str(refused.value) == (f"{PostgresStore(postgres_url)}: the copy failed (injected: the copy stops here); nothing was "
                                  "copied, DST is as it was")
    assert objects_in_public(postgres_url) == []  # no table, no type, no function, no projection row: as before
    assert store_problem(postgres_url) is not None and store_problem(postgres_url).missing  # type: ignore[union-attr]

    monkeypatch.undo()
    again = invoke(["migrate", source, postgres_url])  # nothing left behind stands in the way
    assert again.exit_code == 0, again.output
    assert head(postgres_url) == before


def test_a_copy_into_postgres_whose_connection_dies_part_way_leaves_the_database_as_it_was(
        tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The server ends migrate's connection mid-copy (as when it restarts): it rolls the transaction back."""
    source = str(tmp_path / "source.sqlite")
    build(source, changes=60)

    def cut() -> None:
        with psycopg.connect(**PostgresStore(postgres_url).conninfo(), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
                          "AND pid <> pg_backend_pid()")

    failing_after(1, cut, monkeypatch)
    from adapters.cli import migrate

    monkeypatch.setattr(migrate, "PAGE", 20)
    refused = invoke(["migrate", source, postgres_url])
    assert refused.exit_code == 1, refused.output
    assert refused.stderr.startswith(f"callroute: error: {PostgresStore(postgres_url)}: the copy failed (")
    assert refused.stderr.endswith("; nothing was copied, DST is as it was\n") and refused.stderr.count("\n") == 1
    assert objects_in_public(postgres_url) == []


def test_a_copy_into_postgres_that_differs_from_src_is_refused_and_commits_nothing(
        tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check after the copy compares every event byte for byte: one byte changed on the way (not in its recorded hash,
    so the store head alone would not show it) fails it, and the transaction is rolled back."""
    from adapters.cli import migrate

    real = migrate._insert_page

    def altering(into: Any, notifications: Sequence[Any]) -> None:
        real(into, [replace(n, state=n.state.replace(b"Acme", b"Acmf")) for n in notifications])

    monkeypatch.setattr(migrate, "_insert_page", altering)
    source = str(tmp_path / "source.sqlite")
    build(source, changes=3)
    refused = invoke(["migrate", source, postgres_url])
    assert refused.exit_code == 1, refused.output
    assert refused.stderr.startswith(f"callroute: error: {PostgresStore(postgres_url)}: the copy differs from SRC: event 1 (record ")
    assert refused.stderr.endswith(" version 1) is not SRC's; nothing was copied\n")
    assert objects_in_public(postgres_url) == []


def test_a_database_with_callroute_tables_but_no_events_is_empty_enough(tmp_path: Path, postgres_url: str) -> None:
    source = str(tmp_path / "source.sqlite")
    build(source, changes=2)
    build_app(postgres_url, pin_hasher=FakeHasher()).close()  # creates the tables (and the library's type and function)
    copied = invoke(["migrate", source, postgres_url])
    assert copied.exit_code == 0, copied.output
    assert head(postgres_url) == head(source, projection=False)


def test_a_copy_from_postgres_into_sqlite_that_fails_part_way_leaves_no_file_and_no_folder(
        tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    source = str(tmp_path / "source.sqlite")
    build(source, changes=520)
    assert invoke(["migrate", source, postgres_url]).exit_code == 0
    target = tmp_path / "new" / "folder" / "copy.sqlite"
    failing_after(3, injected, monkeypatch)
    from adapters.cli import migrate

    monkeypatch.setattr(migrate, "PAGE", 100)
    refused = invoke(["migrate", postgres_url, str(target)])
    assert refused.exit_code == 1, refused.output
    assert refused.stderr == (f"callroute: error: {target}: the copy failed (injected: the copy stops here); nothing was copied, "
                              "DST is as it was\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["source.sqlite"]  # no DST, no folder made for it, no partial file

    monkeypatch.undo()
    home = invoke(["migrate", postgres_url, str(target)])
    assert home.exit_code == 0, home.output
    assert head(str(target)) == head(source, projection=False)
    assert [p.name for p in target.parent.iterdir() if ".migrate-" in p.name] == []  # the copy's own file was linked, not left


# -- all or nothing, call events too -------------------------------------------------------------------------------------


def failing_calls_after(pages: int, fail: Callable[[], None], monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Make the copy fail (``fail()``) once ``pages`` pages of call-table rows are inserted; (table, rows) of each page
    inserted, as they go."""
    from adapters.cli import migrate_calls

    real, inserted = migrate_calls._insert_call_page, []

    def insert(into: Any, table: str, rows: Sequence[Any]) -> None:
        if len(inserted) == pages:
            fail()
        real(into, table, rows)
        inserted.append((table, len(rows)))

    monkeypatch.setattr(migrate_calls, "_insert_call_page", insert)
    return inserted


def test_a_copy_into_postgres_that_fails_in_the_call_events_leaves_the_database_as_it_was(
        tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every event, the snapshots and two pages of call events are in DST's transaction when it fails: none of it, and
    no call table, is left; the database keeps the (empty) tables it had."""
    from adapters.cli.migrate import MigrationError, migrate_store

    source = str(tmp_path / "source.sqlite")
    with_calls(source, tmp_path)
    build_app(postgres_url, pin_hasher=FakeHasher()).close()  # callroute's tables, no event, no call table
    before = objects_in_public(postgres_url)
    assert "callroute_events" in before and not [name for name in before if name.startswith(("call_", "calls"))]
    inserted = failing_calls_after(2, injected, monkeypatch)
    with pytest.raises(MigrationError) as refused:
        migrate_store(source, postgres_url, page=10)
    assert inserted == [("call_events", 10), ("call_events", 10)]  # 38 call events: two of four pages were copied
    assert (refused.value.exit_code, str(refused.value)) == (1, f"{PostgresStore(postgres_url)}: the copy failed (injected: the "
                                                                "copy stops here); nothing was copied, DST is as it was")
    assert objects_in_public(postgres_url) == before
    with psycopg.connect(**PostgresStore(postgres_url).conninfo()) as db:
        assert db.execute("SELECT count(*) FROM callroute_events").fetchone()[0] == 0

    monkeypatch.undo()
    again = invoke(["migrate", source, postgres_url])
    assert again.exit_code == 0, again.output
    assert call_answers(postgres_url) == call_answers(source)


def test_a_copy_into_postgres_whose_connection_dies_in_the_call_events_leaves_the_database_as_it_was(
        tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    source = str(tmp_path / "source.sqlite")
    with_calls(source, tmp_path)

    def cut() -> None:
        with psycopg.connect(**PostgresStore(postgres_url).conninfo(), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
                          "AND pid <> pg_backend_pid()")

    inserted = failing_calls_after(1, cut, monkeypatch)
    from adapters.cli import migrate

    monkeypatch.setattr(migrate, "PAGE", 20)
    refused = invoke(["migrate", source, postgres_url])
    assert refused.exit_code == 1, refused.output
    assert inserted[0] == ("call_events", 20)
    assert refused.stderr.startswith(f"callroute: error: {PostgresStore(postgres_url)}: the copy failed (")
    assert refused.stderr.endswith("; nothing was copied, DST is as it was\n") and refused.stderr.count("\n") == 1
    assert objects_in_public(postgres_url) == []


def test_a_call_event_changed_on_the_way_into_postgres_is_found_and_nothing_is_committed(
        tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """One byte of one call event's body changed (its chain hash left as it was): the row-for-row check finds it."""
    from adapters.cli import migrate_calls

    real = migrate_calls._insert_call_page

    def altering(into: Any, table: str, rows: Sequence[Any]) -> None:
        if table == "call_events":
            rows = [(*row[:7], row[7].replace(b"fs1", b"fs2"), row[8]) if row[0] == 5 else row for row in rows]
        real(into, table, rows)

    monkeypatch.setattr(migrate_calls, "_insert_call_page", altering)
    source = str(tmp_path / "source.sqlite")
    with_calls(source, tmp_path)
    refused = invoke(["migrate", source, postgres_url])
    assert refused.exit_code == 1, refused.output
    assert refused.stderr == (f"callroute: error: {PostgresStore(postgres_url)}: the copy differs from SRC: call event 5 (seq 5, "
                              "tenant nordic-dental) is not SRC's; nothing was copied\n")
    assert objects_in_public(postgres_url) == []


def test_a_copy_from_postgres_that_fails_in_the_call_events_leaves_no_file_and_no_folder(
        tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    source = str(tmp_path / "source.sqlite")
    with_calls(source, tmp_path)
    assert invoke(["migrate", source, postgres_url]).exit_code == 0
    target = tmp_path / "new" / "folder" / "copy.sqlite"
    inserted = failing_calls_after(3, injected, monkeypatch)
    from adapters.cli import migrate

    monkeypatch.setattr(migrate, "PAGE", 10)
    refused = invoke(["migrate", postgres_url, str(target)])
    assert refused.exit_code == 1, refused.output
    assert inserted == [("call_events", 10)] * 3
    assert refused.stderr == (f"callroute: error: {target}: the copy failed (injected: the copy stops here); nothing was copied, "
                              "DST is as it was\n")
    assert not (tmp_path / "new").exists()

    monkeypatch.undo()
    home = invoke(["migrate", postgres_url, str(target)])
    assert home.exit_code == 0, home.output
    assert call_answers(str(target)) == call_answers(source)
    assert call_rows(str(target)) == call_rows(source)
