"""audit verify: one running head over the whole store (or one tenant), the projection's rows, who may verify, and
never "intact" for a store that is not there or cannot be read."""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
from contextlib import closing
from pathlib import Path
from uuid import UUID

import msgspec
import pytest

from adapters.bootstrap import build_app, build_projection, open_projection_store
from core.aggregates.context import Actor
from core.aggregates.identifiers import tenant_id
from core.clock import SteppingClock
from tests.adapters.clirun import NOW
from tests.adapters.test_cli import ADMIN, run
from tests.backends import delete_event, stored_event_count, stored_events

OPERATOR = "ops@platform.example"
T = "nordic-dental"
STORE_HEAD = re.compile(r"^store head ([0-9a-f]{64}) after ([\d,]+) events$", re.MULTILINE)
TENANT_HEAD = re.compile(r"^tenant head ([0-9a-f]{64}) after ([\d,]+) events$", re.MULTILINE)
RECORD = re.compile(r"^(.+): intact, [\d,]+ events?, head ([0-9a-f]{64})$", re.MULTILINE)


def verify(db: Path, *args: str, actor: str = OPERATOR) -> tuple[int, str, str]:
    """``audit verify ARGS``; the operator's (the whole store) unless another actor is named."""
    return run(db, "audit", "verify", *(["--operator"] if actor == OPERATOR else []), *args, actor=actor)


def store_head(db: Path) -> tuple[str, int]:
    code, out, err = verify(db)
    assert code == 0, out + err
    match = STORE_HEAD.search(out)
    assert match is not None, out
    return match.group(1), int(match.group(2).replace(",", ""))


def tenant_head(db: Path, slug: str = T, actor: str = ADMIN) -> str:
    code, out, err = verify(db, "--tenant", slug, actor=actor)
    assert code == 0, out + err
    match = TENANT_HEAD.search(out)
    assert match is not None, out
    return match.group(1)


def events_in(db: Path) -> int:
    return stored_event_count(db)


def open_app(db: Path):  # noqa: ANN201 - the application, on the test clock
    return build_app(db, clock=SteppingClock(NOW))


# -- the store head --------------------------------------------------------------------------------------------------


def test_verify_prints_one_store_head_after_every_event(db: Path) -> None:
    head, events = store_head(db)
    assert (head, events) == store_head(db)
    assert events == events_in(db)


def test_the_store_head_is_the_running_hash_over_every_event_in_the_order_stored(db: Path) -> None:
    head = "0" * 64
    for originator, version, _, state in stored_events(db):
        head = hashlib.sha256(f"{head} {originator} {version} {msgspec.json.decode(state)['hash']}".encode()).hexdigest()
    assert store_head(db)[0] == head


def test_a_kept_head_is_found_after_later_changes_which_are_named(db: Path) -> None:
    head, events = store_head(db)
    code, _, err = run(db, "user", "add", "--tenant", T, "--extension", "2009", "--name", "Ida", actor=ADMIN)
    assert code == 0, err
    assert store_head(db)[0] != head
    code, out, _ = verify(db, "--expect-head", head)
    assert code == 0, out
    assert (f"the kept head is the store head after event {events} of {events + 1}: nothing up to it was removed or changed; "
            f"1 event was recorded after it: {T} v38") in out
    code, out, _ = verify(db, "--expect-head", head, "--no-later-events")
    assert code == 1
    assert "and --no-later-events says none was" in out


def test_a_kept_head_of_an_untouched_store_passes_even_with_no_later_events(db: Path) -> None:
    head, events = store_head(db)
    code, out, _ = verify(db, "--expect-head", head.upper(), "--no-later-events")
    assert code == 0, out
    assert out.splitlines()[-1] == f"the kept head is the store head after event {events} of {events}: nothing up to it was " \
                                   "removed or changed"


def test_a_kept_head_catches_a_whole_tenant_deleted(db: Path) -> None:
    head, events = store_head(db)
    delete_event(db, tenant_id("nordic-dental-malmo"), None)
    code, out, _ = verify(db, "--expect-head", head)
    assert code == 1
    assert f"the kept head {head} is none of the store heads of these {events - 3} events: the history it covered was removed " \
           "or rewritten" in out
    assert "BROKEN" not in out  # every chain that is left is intact: only the kept head shows it


def test_a_kept_head_catches_the_last_event_of_a_tenant_deleted(db: Path) -> None:
    head, _ = store_head(db)
    delete_event(db, tenant_id(T), 37)
    code, out, _ = verify(db, "--expect-head", head)
    assert code == 1
    assert "the history it covered was removed or rewritten" in out


def test_a_head_printed_by_the_earlier_verify_is_accepted_on_an_unchanged_store(db: Path) -> None:
    _, out, _ = verify(db)
    # The earlier store head: SHA-256 over each record's id and chain head, sorted.
    names = {T: tenant_id(T).hex, "nordic-dental-malmo": tenant_id("nordic-dental-malmo").hex}
    lines = sorted(f"{names[name]} {head}" for name, head in RECORD.findall(out))
    legacy = hashlib.sha256("\n".join(lines).encode()).hexdigest()
    code, out, _ = verify(db, "--expect-head", legacy)
    assert code == 0, out
    assert "the kept head is the store head in its earlier form" in out
    run(db, "user", "add", "--tenant", T, "--extension", "2009", "--name", "Ida", actor=ADMIN)
    code, out, _ = verify(db, "--expect-head", legacy)
    assert code == 1  # the earlier form matches only the store it was printed for
    assert "the history it covered was removed or rewritten" in out


def test_a_tenants_chain_head_kept_without_tenant_is_no_false_alarm(db: Path) -> None:
    _, out, _ = verify(db)
    chain_head = dict(RECORD.findall(out))[T]
    code, out, _ = verify(db, "--expect-head", chain_head)
    assert code == 0, out
    assert f"the kept head is {T}'s chain head at event 37, a head in its earlier form: {T} is intact up to it" in out


def test_a_store_head_kept_before_any_event_is_the_genesis_head(db: Path) -> None:
    code, out, _ = verify(db, "--expect-head", "0" * 64)
    assert code == 0
    assert "the kept head is the store head after event 0 of" in out


# -- one tenant ------------------------------------------------------------------------------------------------------


def test_a_tenants_verify_shows_its_own_records_and_head_only(db: Path) -> None:
    code, out, _ = verify(db, "--tenant", T, actor=ADMIN)
    assert code == 0, out
    assert out.startswith(f"{T}: intact, 37 events, head ")
    assert "nordic-dental-malmo" not in out and "store head" not in out
    assert TENANT_HEAD.search(out).group(2) == "37"  # type: ignore[union-attr]


def test_the_tenant_head_ignores_other_tenants_changes(db: Path) -> None:
    head = tenant_head(db)
    code, _, err = run(db, "user", "add", "--tenant", "nordic-dental-malmo", "--extension", "3009", "--name", "Ola", actor=ADMIN)
    assert code == 0, err
    assert tenant_head(db) == head
    code, out, _ = verify(db, "--tenant", T, "--expect-head", head, "--no-later-events", actor=ADMIN)
    assert code == 0, out
    assert "the kept head is the tenant head after event 37 of 37" in out


def test_a_tenants_chain_head_is_accepted_as_the_earlier_form_and_a_store_head_is_not(db: Path) -> None:
    _, out, _ = verify(db, "--tenant", T, actor=ADMIN)
    chain_head = dict(RECORD.findall(out))[T]
    code, out, _ = verify(db, "--tenant", T, "--expect-head", chain_head, actor=ADMIN)
    assert code == 0, out
    assert f"{T}'s chain head at event 37, a head in its earlier form" in out
    code, out, _ = verify(db, "--tenant", T, "--expect-head", store_head(db)[0], actor=ADMIN)
    assert code == 1
    assert "is none of the tenant heads of these 37 events" in out


def test_a_kept_tenant_head_catches_the_tenants_last_event_deleted(db: Path) -> None:
    head = tenant_head(db)
    delete_event(db, tenant_id(T), 37)
    code, out, _ = verify(db, "--tenant", T, "--expect-head", head, actor=ADMIN)
    assert code == 1
    assert "the history it covered was removed or rewritten" in out


# -- who may verify --------------------------------------------------------------------------------------------------


def test_the_whole_store_is_verified_by_an_operator_only(db: Path) -> None:
    code, out, err = verify(db, actor=ADMIN)
    assert code == 3
    assert out == ""
    assert "audit verify without --tenant covers every tenant of the store" in err
    assert "is not a platform operator (--operator); verify one tenant with --tenant SLUG" in err
    assert len(err.strip().splitlines()) == 1


def test_a_stranger_cannot_tell_a_tenant_from_none_and_learns_nothing(db: Path) -> None:
    code, out, err = verify(db, "--tenant", T, actor="mallory")
    assert (code, out) == (3, "")
    unknown = verify(db, "--tenant", "no-such-tenant", actor="mallory")
    assert unknown[0] == 3
    assert unknown[2] == err.replace(f"'{T}'", "'no-such-tenant'").replace(f"--tenant {T}:", "--tenant no-such-tenant:")


def test_an_operator_is_told_a_tenant_does_not_exist(db: Path) -> None:
    code, _, err = verify(db, "--tenant", "no-such-tenant")
    assert code == 2
    assert "no tenant 'no-such-tenant'" in err


@pytest.mark.parametrize("permission", ["auditor", "telephony_admin"])
def test_an_auditor_or_admin_of_the_tenant_may_verify_it(db: Path, permission: str) -> None:
    app = open_app(db)
    app.grant_permission(actor=Actor(principal=ADMIN), tenant=T, principal="eva@audit.example", permission=permission)
    app.close()
    code, out, _ = verify(db, "--tenant", T, actor="eva@audit.example")
    assert code == 0, out
    assert TENANT_HEAD.search(out)
    code, _, _ = verify(db, "--tenant", "nordic-dental-malmo", actor="eva@audit.example")
    assert code == 3


def test_the_admin_of_a_tenant_whose_chain_is_broken_still_gets_the_report(db: Path) -> None:
    delete_event(db, tenant_id(T), 20)
    code, out, err = verify(db, "--tenant", T, actor=ADMIN)
    assert code == 1, err
    assert f"{T}: BROKEN at event version 20: missing" in out
    code, out, err = verify(db, "--tenant", T, actor="mallory")
    assert (code, out) == (3, "")


# -- the projection's rows -------------------------------------------------------------------------------------------


def caught_up(db: Path) -> Path:
    app = open_app(db)
    build_projection(app, db).store.close()  # type: ignore[attr-defined]
    app.close()
    return db


def test_verify_says_nothing_of_a_projection_the_store_does_not_have(db: Path) -> None:
    assert open_projection_store(db, create=False) is None  # no projection tables, in the file or the database
    code, out, _ = verify(db)
    assert code == 0
    assert "projection" not in out


def test_verify_compares_the_projection_rows_with_the_events(db: Path) -> None:
    caught_up(db)
    code, out, _ = verify(db)
    assert code == 0, out
    assert "projection: the rows of 2 tenants agree with the events (40 change records, 0 confirmations" in out
    code, out, _ = verify(db, "--tenant", T, actor=ADMIN)
    assert f"projection: {T}'s rows agree with the events (37 change records" in out


@pytest.mark.sqlite_only  # reads or edits the SQLite file's rows; see tests/backends.py
def test_an_edited_change_record_is_named_with_what_its_event_says(db: Path) -> None:
    caught_up(db)
    with sqlite3.connect(db) as conn:
        seq, records = conn.execute("SELECT seq, records FROM projection_change_runs WHERE slug = ? ORDER BY seq", (T,)).fetchone()
        changes = msgspec.msgpack.decode(records)
        version = changes[6]["version"]
        changes[6]["actor"] = "x"
        changes[6]["reason"] = "forged"
        conn.execute("UPDATE projection_change_runs SET records = ? WHERE seq = ?", (msgspec.msgpack.encode(changes), seq))
    code, out, _ = verify(db)
    assert code == 1
    assert f"projection: {T} change record version {version}: actor 'x' but the event says '{ADMIN}'; reason 'forged' but " \
           "the event says" in out
    assert "BROKEN" not in out


@pytest.mark.sqlite_only  # reads or edits the SQLite file's rows; see tests/backends.py
def test_a_row_no_event_implies_and_a_missing_row_are_each_named(db: Path) -> None:
    caught_up(db)
    with sqlite3.connect(db) as conn:
        seq, records = conn.execute("SELECT seq, records FROM projection_change_runs WHERE slug = ? ORDER BY seq", (T,)).fetchone()
        changes = msgspec.msgpack.decode(records)
        forged = {**changes[-1], "version": 99}
        del changes[3]
        conn.execute("UPDATE projection_change_runs SET records = ? WHERE seq = ?",
                     (msgspec.msgpack.encode([*changes, forged]), seq))
        conn.execute("INSERT INTO projection_tenants VALUES (?, ?)", ("0" * 32, "ghost"))
    code, out, _ = verify(db)
    assert code == 1
    problems = [line for line in out.splitlines() if line.startswith("projection: ")]
    assert problems == [
        f"projection: the tenant row of {'0' * 32} names 'ghost', but no event of {'0' * 32} is stored",
        f"projection: {T} change record version 4 is missing",
        f"projection: {T} change record version 99 is stored, but no event implies it",
    ]


def test_rows_of_a_projection_that_has_not_caught_up_are_fine(db: Path) -> None:
    caught_up(db)
    code, _, err = run(db, "user", "add", "--tenant", T, "--extension", "2009", "--name", "Ida", actor=ADMIN)
    assert code == 0, err
    code, out, _ = verify(db)
    assert code == 0, out
    assert "projection: the rows of 2 tenants agree" in out


def test_the_projection_is_not_compared_with_broken_events(db: Path) -> None:
    caught_up(db)
    delete_event(db, tenant_id(T), 5)
    code, out, _ = verify(db)
    assert code == 1
    assert "projection: not compared with the events, which are not as written" in out


# -- stores that are not there or cannot be read ---------------------------------------------------------------------


def test_verify_of_a_missing_store_exits_2_and_creates_nothing(tmp_path: Path) -> None:
    db = tmp_path / "missing.sqlite"
    code, out, err = verify(db)
    assert code == 2
    assert "intact" not in out
    assert f"no store at {db}" in err
    assert not db.exists()


@pytest.mark.parametrize("content", [b"", b"hello, not a database at all" * 40], ids=["empty file", "not sqlite"])
def test_verify_of_an_empty_or_foreign_file_exits_non_zero(tmp_path: Path, content: bytes) -> None:
    db = tmp_path / "other.sqlite"
    db.write_bytes(content)
    code, out, err = verify(db)
    # An empty file is an empty SQLite database (no store: bad input); a file that is not SQLite is a fault (exit 1).
    assert code == (2 if not content else 1)
    assert "intact" not in out
    assert "is not a callroute store" in err
    assert db.read_bytes() == content


def test_verify_of_another_programs_sqlite_file_exits_non_zero(tmp_path: Path) -> None:
    db = tmp_path / "other.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE notes (text TEXT)")
    code, out, err = verify(db)
    assert code == 2
    assert "holds no callroute events" in err


def test_verify_of_a_store_without_events_is_not_intact(db: Path) -> None:
    for originator in {UUID(hex=originator) for originator, _, _, _ in stored_events(db)}:
        delete_event(db, originator, None)
    code, out, _ = verify(db)
    assert code == 1
    assert "holds no events" in out
    assert "intact" not in out


def damaged(db: Path, how: str) -> Path:
    caught_up(db)
    with closing(sqlite3.connect(db)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(db.read_bytes())
    if how == "truncated":
        data = data[: len(data) // 2]
    else:  # random bytes over the middle
        middle = len(data) // 2
        data[middle - 4096: middle + 4096] = os.urandom(8192)
    db.write_bytes(bytes(data))
    return db


@pytest.mark.sqlite_only  # reads or edits the SQLite file's rows; see tests/backends.py
@pytest.mark.parametrize("how", ["truncated", "random bytes over the middle"])
def test_a_damaged_sqlite_file_is_one_line_naming_it_exit_1(db: Path, how: str) -> None:
    damaged(db, how)
    for args in ((), ("--tenant", T)):
        code, out, err = verify(db, *args)
        assert code == 1, err
        assert out == ""
        assert err.startswith(f"callroute: error: {db}: the SQLite file is damaged (")
        assert len(err.strip().splitlines()) == 1


@pytest.mark.sqlite_only  # reads or edits the SQLite file's rows; see tests/backends.py
@pytest.mark.parametrize("how", ["intact", "truncated", "not SQLite"])
def test_verify_never_opens_the_store_file_but_through_sqlite(db: Path, how: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Closing any descriptor of an SQLite file drops the locks this process's SQLite connections hold on it (POSIX
    advisory locks): only SQLite itself and ``os.stat`` may look at the file while a writer may be at work."""
    import builtins
    import io

    if how == "truncated":
        damaged(db, how)
    elif how == "not SQLite":
        db.write_bytes(b"not a database at all" * 100)
    else:
        caught_up(db)
    watched = {os.path.realpath(f"{db}{suffix}") for suffix in ("", "-wal", "-shm", "-journal")}
    opened: list[str] = []

    def spied(real):  # noqa: ANN001, ANN202
        def spy(file, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
            if isinstance(file, (str, bytes, os.PathLike)) and os.path.realpath(file) in watched:
                opened.append(os.fsdecode(file))
            return real(file, *args, **kwargs)
        return spy

    monkeypatch.setattr(builtins, "open", spied(builtins.open))
    monkeypatch.setattr(io, "open", spied(io.open))
    monkeypatch.setattr(os, "open", spied(os.open))
    real_path_open = Path.open
    monkeypatch.setattr(Path, "open", lambda self, *a, **k: spied(lambda f, *b, **c: real_path_open(f, *b, **c))(self, *a, **k))
    for args in ((), ("--tenant", T)):
        code, out, err = verify(db, *args)
        assert code == (0 if how == "intact" else 1), out + err
    assert opened == []


def test_no_later_events_needs_a_kept_head(db: Path) -> None:
    code, _, err = verify(db, "--no-later-events")
    assert code == 2
    assert "--no-later-events: give the kept head with --expect-head HASH" in err
