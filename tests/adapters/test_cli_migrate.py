"""``callroute migrate SRC DST`` between two SQLite files: all or nothing (the PostgreSQL directions: tests/postgres)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from adapters.bootstrap import build_app
from tests.adapters.clirun import invoke
from tests.core.conftest import FakeHasher
from tests.postgres.test_migrate import build, call_answers, call_rows, head, with_calls

pytestmark = pytest.mark.usefixtures("sqlite_files")  # SQLite files stay files on either backend


def files(folder: Path) -> list[str]:
    """What is in ``folder``; a store's own ``-wal`` and ``-shm`` (a reader in this process may hold it open) left out."""
    names = {str(p.relative_to(folder)) for p in folder.rglob("*")}
    return sorted(name for name in names if not (name.endswith(("-wal", "-shm")) and name[:-4] in names))


def test_a_store_is_copied_to_another_sqlite_file_with_the_same_store_head(tmp_path: Path) -> None:
    source, target = tmp_path / "source.sqlite", tmp_path / "copies" / "copy.sqlite"
    build(str(source), changes=520)
    copied = invoke(["migrate", str(source), str(target)])
    assert copied.exit_code == 0, copied.output
    assert copied.stdout.splitlines()[0] == f"copied 526 events of 3 records and 1 snapshot from {source} to {target}"
    assert head(str(target)) == head(str(source), projection=False)
    assert files(tmp_path / "copies") == ["copy.sqlite"]  # no temporary file, no write-ahead log left beside it


def failing_after(pages: int, monkeypatch: pytest.MonkeyPatch) -> None:
    from adapters.cli import migrate

    real, inserted = migrate._insert_page, []

    def insert(into: Any, notifications: Sequence[Any]) -> None:
        if len(inserted) == pages:
            raise OSError(28, "No space left on device")
        real(into, notifications)
        inserted.append(notifications)

    monkeypatch.setattr(migrate, "_insert_page", insert)
    monkeypatch.setattr(migrate, "PAGE", 100)


def test_a_copy_that_fails_part_way_leaves_no_file_no_folder_and_no_part(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source, target = tmp_path / "source.sqlite", tmp_path / "a" / "b" / "copy.sqlite"
    build(str(source), changes=520)
    failing_after(3, monkeypatch)
    refused = invoke(["migrate", str(source), str(target)])
    assert refused.exit_code == 1, refused.output
    assert refused.stderr == (f"callroute: error: {target}: the copy failed ([Errno 28] No space left on device); nothing was "
                              "copied, DST is as it was\n")
    assert files(tmp_path) == ["source.sqlite"]


def test_a_copy_whose_check_fails_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from adapters.cli import migrate

    real = migrate._insert_page

    def altering(into: Any, notifications: Sequence[Any]) -> None:
        real(into, [replace(n, state=n.state.replace(b"Acme", b"Acmf")) for n in notifications])

    monkeypatch.setattr(migrate, "_insert_page", altering)
    source, target = tmp_path / "source.sqlite", tmp_path / "copy.sqlite"
    build(str(source), changes=3)
    refused = invoke(["migrate", str(source), str(target)])
    assert refused.exit_code == 1, refused.output
    assert "the copy differs from SRC: event 1 (record " in refused.stderr and refused.stderr.endswith("nothing was copied\n")
    assert files(tmp_path) == ["source.sqlite"]


def test_a_destination_that_holds_events_is_refused_by_name_and_left_untouched(tmp_path: Path) -> None:
    source, target = tmp_path / "source.sqlite", tmp_path / "target.sqlite"
    build(str(source), changes=1)
    build(str(target), changes=2)
    before = target.read_bytes()
    refused = invoke(["migrate", str(source), str(target)])
    assert refused.exit_code == 2
    assert refused.stderr == (f"callroute: error: {target}: not empty (it holds events, a projection of them, or call events); "
                              "migrate copies into an empty store only\n")
    assert target.read_bytes() == before
    assert files(tmp_path) == ["source.sqlite", "target.sqlite"]


def test_an_empty_store_at_the_destination_is_replaced_by_the_copy(tmp_path: Path) -> None:
    source, target = tmp_path / "source.sqlite", tmp_path / "target.sqlite"
    build(str(source), changes=2)
    build_app(str(target), pin_hasher=FakeHasher()).close()  # callroute's tables, no event
    copied = invoke(["migrate", str(source), str(target)])
    assert copied.exit_code == 0, copied.output
    assert head(str(target)) == head(str(source), projection=False)


def test_the_same_file_under_another_name_is_the_same_store(tmp_path: Path) -> None:
    source = tmp_path / "source.sqlite"
    build(str(source), changes=0)
    (tmp_path / "link.sqlite").symlink_to(source)
    refused = invoke(["migrate", str(source), str(tmp_path / "link.sqlite")])
    assert refused.exit_code == 2 and refused.stderr == f"callroute: error: {source}: SRC and DST are the same store\n"


def test_a_missing_source_is_one_line_naming_it_first(tmp_path: Path) -> None:
    source, target = tmp_path / "nonexist.sqlite", tmp_path / "copy2.sqlite"
    refused = invoke(["migrate", str(source), str(target)])
    assert refused.exit_code == 2
    assert refused.stderr == (f"callroute: error: {source}: no store to copy (no such file); SRC must be an existing "
                              "store, migrate creates only DST\n")
    assert files(tmp_path) == []


# -- call events ---------------------------------------------------------------------------------------------------------


def test_call_events_are_copied_to_another_sqlite_file_with_the_same_answers(tmp_path: Path) -> None:
    source, target = tmp_path / "source.sqlite", tmp_path / "copies" / "copy.sqlite"
    with_calls(str(source), tmp_path)
    copied = invoke(["migrate", str(source), str(target)])
    assert copied.exit_code == 0, copied.output
    assert copied.stdout.splitlines()[0].endswith(f", 0 snapshots and 38 call events from {source} to {target}")
    assert copied.stdout.splitlines()[2].endswith(" after 38 call events, the same in both")
    assert call_rows(str(target)) == call_rows(str(source))
    assert call_answers(str(target)) == call_answers(str(source))
    assert files(tmp_path / "copies") == ["copy.sqlite"]


def failing_calls(monkeypatch: pytest.MonkeyPatch, when: Callable[[int], None]) -> list[str]:
    """``when(pages inserted so far)`` before each page of call-table rows is inserted; the tables of the pages inserted."""
    from adapters.cli import migrate, migrate_calls

    real, inserted = migrate_calls._insert_call_page, []

    def insert(into: Any, table: str, rows: Sequence[Any]) -> None:
        when(len(inserted))
        real(into, table, rows)
        inserted.append(table)

    monkeypatch.setattr(migrate_calls, "_insert_call_page", insert)
    monkeypatch.setattr(migrate, "PAGE", 10)
    return inserted


def test_a_copy_that_fails_in_the_call_events_leaves_no_file_and_no_folder(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    source, target = tmp_path / "source.sqlite", tmp_path / "a" / "b" / "copy.sqlite"
    with_calls(str(source), tmp_path)

    def full(pages: int) -> None:
        if pages == 2:
            raise OSError(28, "No space left on device")

    inserted = failing_calls(monkeypatch, full)
    refused = invoke(["migrate", str(source), str(target)])
    assert refused.exit_code == 1, refused.output
    assert inserted == ["call_events", "call_events"]
    assert refused.stderr == (f"callroute: error: {target}: the copy failed ([Errno 28] No space left on device); nothing was "
                              "copied, DST is as it was\n")
    assert [name for name in files(tmp_path) if not name.startswith("saved")] == ["source.sqlite"]


def test_a_call_event_changed_on_the_way_is_found_and_no_file_is_left(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from adapters.cli import migrate_calls

    real = migrate_calls._insert_call_page

    def altering(into: Any, table: str, rows: Sequence[Any]) -> None:
        if table == "call_chain_heads":  # a chain head that is not SRC's: the calls head over the rows would not show it
            rows = [(row[0], row[1], row[2] - 1) if row[0] == "nordic-dental-malmo" else row for row in rows]
        real(into, table, rows)

    monkeypatch.setattr(migrate_calls, "_insert_call_page", altering)
    source, target = tmp_path / "source.sqlite", tmp_path / "copy.sqlite"
    with_calls(str(source), tmp_path)
    refused = invoke(["migrate", str(source), str(target)])
    assert refused.exit_code == 1, refused.output
    assert refused.stderr == (f"callroute: error: {target}: the copy differs from SRC: nordic-dental-malmo's call chain head is "
                              "not SRC's; nothing was copied\n")
    assert not target.exists() and [name for name in files(tmp_path) if ".migrate-" in name] == []


def test_call_events_stored_in_the_source_during_the_copy_fail_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The copy reads SRC's call tables in one snapshot; a call stored meanwhile is found by the check after the copy."""
    from tests.adapters.test_cli_calls import call, store

    source, target = tmp_path / "source.sqlite", tmp_path / "copy.sqlite"
    with_calls(str(source), tmp_path)

    def ingest(pages: int) -> None:
        if pages == 1:
            store(source, call("late", "2003", start=3000, end=3030), tenant="nordic-dental")

    failing_calls(monkeypatch, ingest)
    refused = invoke(["migrate", str(source), str(target)])
    assert refused.exit_code == 1, refused.output
    assert refused.stderr == (f"callroute: error: {source}: 2 call events stored in SRC during the copy; nothing was copied: run "
                              "migrate again when nothing writes to SRC\n")
    assert not target.exists()


def test_a_destination_that_holds_only_a_call_chain_head_is_not_empty(tmp_path: Path) -> None:
    from adapters.call_store import CallStore
    from tests.adapters.call_sql import sql

    source, target = tmp_path / "source.sqlite", tmp_path / "target.sqlite"
    build(str(source), changes=1)
    build_app(str(target), pin_hasher=FakeHasher()).close()
    calls = CallStore(target)
    calls.create()
    calls.close()
    sql(target, "INSERT INTO call_chain_heads VALUES ('acme', ?, 1)", bytes(32))
    before = target.read_bytes()
    refused = invoke(["migrate", str(source), str(target)])
    assert refused.exit_code == 2, refused.output
    assert refused.stderr == (f"callroute: error: {target}: not empty (it holds events, a projection of them, or call events); "
                              "migrate copies into an empty store only\n")
    assert target.read_bytes() == before
