"""audit verify: one head for the whole store, and never "intact" for a store that is not there."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from core.aggregates.identifiers import tenant_id
from tests.adapters.test_cli import ADMIN, apply_seed, run

STORE_HEAD = re.compile(r"^store head ([0-9a-f]{64})$", re.MULTILINE)


def store_head(db: Path) -> str:
    code, out, _ = run(db, "audit", "verify", actor=ADMIN)
    assert code == 0, out
    match = STORE_HEAD.search(out)
    assert match is not None, out
    return match.group(1)


def test_verify_prints_one_store_head_over_every_chain(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    apply_seed(db)
    assert store_head(db) == store_head(db)


def test_a_kept_store_head_catches_a_whole_tenant_deleted(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    apply_seed(db)
    head = store_head(db)
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM stored_events WHERE originator_id = ?", (tenant_id("nordic-dental-malmo").hex,))
    code, out, _ = run(db, "audit", "verify", "--expect-head", head, actor=ADMIN)
    assert code == 1
    assert f"the store head {STORE_HEAD.search(out).group(1)} is not the expected {head}" in out  # type: ignore[union-attr]


def test_a_new_change_moves_the_store_head(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    apply_seed(db)
    head = store_head(db)
    code, _, err = run(db, "user", "add", "--tenant", "nordic-dental", "--extension", "2009", "--name", "Ida", actor=ADMIN)
    assert code == 0, err
    assert store_head(db) != head


def test_expect_head_with_a_tenant_compares_that_tenants_chain_head(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    apply_seed(db)
    _, out, _ = run(db, "audit", "verify", "--tenant", "nordic-dental", actor=ADMIN)
    head = re.search(r"nordic-dental: intact, \d+ events, head ([0-9a-f]{64})", out).group(1)  # type: ignore[union-attr]
    code, _, _ = run(db, "audit", "verify", "--tenant", "nordic-dental", "--expect-head", head, actor=ADMIN)
    assert code == 0
    code, out, _ = run(db, "audit", "verify", "--tenant", "nordic-dental", "--expect-head", store_head(db), actor=ADMIN)
    assert code == 1
    assert "nordic-dental's chain head" in out


def test_verify_of_a_missing_store_exits_2_and_creates_nothing(tmp_path: Path) -> None:
    db = tmp_path / "missing.sqlite"
    code, out, err = run(db, "audit", "verify")
    assert code == 2
    assert "intact" not in out
    assert f"no store at {db}" in err
    assert not db.exists()


@pytest.mark.parametrize("content", [b"", b"hello, not a database at all" * 40], ids=["empty file", "not sqlite"])
def test_verify_of_an_empty_or_foreign_file_exits_non_zero(tmp_path: Path, content: bytes) -> None:
    db = tmp_path / "other.sqlite"
    db.write_bytes(content)
    code, out, err = run(db, "audit", "verify")
    assert code == 2
    assert "intact" not in out
    assert "is not a callroute store" in err
    assert db.read_bytes() == content


def test_verify_of_another_programs_sqlite_file_exits_non_zero(tmp_path: Path) -> None:
    db = tmp_path / "other.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE notes (text TEXT)")
    code, out, err = run(db, "audit", "verify")
    assert code == 2
    assert "holds no callroute events" in err


def test_verify_of_a_store_without_events_is_not_intact(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    apply_seed(db)
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM stored_events")
    code, out, _ = run(db, "audit", "verify")
    assert code == 1
    assert "holds no events" in out
    assert "intact" not in out
