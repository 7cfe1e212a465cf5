"""Readers and writers refuse what their checks can see of each tampering (``tests/tampering.py``), in one line, exit 1.

Every reader checks what it reads (``core/integrity.py``): each event's hash and link as it is
decoded, a snapshot's digest and head, the versions before a snapshot counted, and the routing
projection's rows against the events when it serves them. So a reader refuses exactly the
tamperings in what it reads, with ``callroute: error: <store>: <what> — run: callroute audit
verify``, and serves the rest. What it does not read, by design:

- an edit (plain, re-hashed, or two rows swapped) of an event before the snapshot a reader starts
  from: only the readers that replay those events (``audit history``; ``as-of`` and ``diff`` at
  those versions) see it, besides ``audit verify``;
- a snapshot forged with a state its events do not give and sealed as the application seals one
  (only replaying the events shows it: ``audit verify``);
- events deleted from the end of a record after which the projection was rebuilt, a correctly
  chained tail appended, a confirmation re-hashed at the end of the provisioning record, or a
  whole tenant deleted: every chain and row left agrees; a store head kept before is the only
  evidence (``audit verify --expect-head``). The tests below show each is served, with what the
  forgery changed, so that a reader that starts to see one fails here and this list is updated.

Two more kinds than the tampering module's: the end of the tenant's or its provisioning record's
events deleted *without* dropping the projection, which the projection's rows then show.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.cli.errors import BROKEN
from core.aggregates.identifiers import tenant_id
from core.aggregates.provisioning import provisioning_id
from core.clock import SteppingClock
from tests.adapters.clirun import invoke
from tests.tampering import ADMIN, CONFIRMED, DELETED, EDITED, EVENTS, FORGER, KINDS, SLUG, SNAPSHOT_AT, SWAPPED, build_store, copy_store

pytestmark = pytest.mark.sqlite_only  # tampers with the SQLite file's rows (tests/tampering.py); see tests/backends.py

LATER = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
"""When the readers read: after every change of the store (the last ones are of 23 November)."""
EARLY = "2026-11-20T12:00:00+00:00"
"""An instant in the demo's history, before the snapshot: as-of there replays from the first event."""

READERS: dict[str, list[str]] = {
    "tenant show": ["tenant", "show", "--tenant", SLUG],
    "user show": ["user", "show", "--tenant", SLUG, "--extension", "2001"],
    "explain": ["explain", "--tenant", SLUG, "--to", "2001"],
    "explain --desired": ["explain", "--tenant", SLUG, "--to", "2001", "--desired"],
    "table": ["table", "--tenant", SLUG],
    "table --desired": ["table", "--tenant", SLUG, "--desired"],
    "pending": ["pending", "--tenant", SLUG],
    "audit as-of": ["audit", "as-of", "--tenant", SLUG],
    "audit as-of early": ["audit", "as-of", "--tenant", SLUG, "--desired", "--at", EARLY],
    "audit history": ["audit", "history", "--tenant", SLUG],
    "audit diff": ["audit", "diff", "--tenant", SLUG, "--from", "1", "--to", "40"],
    "audit explain-call": ["audit", "explain-call", "--tenant", SLUG, "--to", "2001", "--at", "2026-11-24T08:00:00+00:00"],
    "divert set (a write)": ["divert", "set", "--tenant", SLUG, "--extension", "2003", "--when", "no_answer", "--to", "voicemail"],
}
EVERY = frozenset(READERS)
REPLAYING = frozenset({"audit history", "audit as-of early", "audit diff"})
"""Readers that replay the sample tenant's events from the first (the others start from its snapshot at 500)."""
PROJECTION = frozenset({"explain", "explain --desired", "table", "table --desired", "pending", "audit as-of", "audit as-of early",
                        "audit diff", "audit explain-call"})
"""Readers of the routing projection: each checks the tenant's last change record against the store."""
EFFECTIVE = frozenset({"explain", "table", "pending", "audit as-of", "audit explain-call"})
"""Readers of the confirmations (what is live, or pending): the provisioning record's events are read to check them."""
LIVE_TABLE = EFFECTIVE - {"pending"}
"""Readers of the live table, whose stored blob (version ``CONFIRMED``) is checked against its events."""


def _delete_tail(db: Path, record: object) -> None:
    """The last event of ``record`` deleted, the projection (which saw it) left as it was."""
    with closing(sqlite3.connect(db)) as connection, connection:
        (last,) = connection.execute("SELECT max(originator_version) FROM stored_events WHERE originator_id = ?",
                                     (record.hex,)).fetchone()  # type: ignore[attr-defined]
        connection.execute("DELETE FROM stored_events WHERE originator_id = ? AND originator_version = ?",
                           (record.hex, last))  # type: ignore[attr-defined]


MORE_KINDS: dict[str, Callable[[Path], None]] = {
    "tail_deletion_projection_kept": lambda db: _delete_tail(db, tenant_id(SLUG)),
    "provisioning_tail_deletion_projection_kept": lambda db: _delete_tail(db, provisioning_id(SLUG)),
}
ALL_KINDS = {**KINDS, **MORE_KINDS}

REFUSED: dict[str, tuple[frozenset[str], str]] = {
    "edit": (REPLAYING, f"tenant {SLUG} at version {EDITED}: the stored callroute/DivertSet does not match its recorded hash"),
    "rehashed_edit": (REPLAYING, f"tenant {SLUG} at version {EDITED + 1}: the stored callroute/DivertSet does not link to the "
                                 f"hash of version {EDITED}"),
    "swapped_rows": (REPLAYING, f"tenant {SLUG} at version {SWAPPED[0]}: the stored callroute/"),
    "middle_deletion": (EVERY, f"tenant {SLUG} at version {DELETED}: event version {DELETED} is missing"),
    "snapshot_edit": (EVERY, f"tenant {SLUG} at version {SNAPSHOT_AT}: the snapshot at version {SNAPSHOT_AT} does not match "
                             "its digest"),
    "projection_table": (LIVE_TABLE, f"the routing projection's table of {SLUG} at version {CONFIRMED}: differs from the "
                                     "table compiled from the tenant's events"),
    "projection_change_actor": (PROJECTION, f"the routing projection's change records of {SLUG} at version {EVENTS}: actor "
                                            f"'{FORGER}' but the event says '{ADMIN}'"),
    "projection_confirmation": (EFFECTIVE, f"the routing projection's confirmation 2 of {SLUG}: version {EVENTS}, "),
    "tail_deletion_projection_kept": (PROJECTION, f"tenant {SLUG} at version {EVENTS}: the routing projection saw version "
                                                  f"{EVENTS}, which the store no longer holds"),
    "provisioning_tail_deletion_projection_kept": (EFFECTIVE, f"the provisioning record of {SLUG}: the routing projection saw "
                                                              "2 confirmation events, the store holds 1"),
    # By design no reader sees these (the module's docstring says why); the last test shows what each one serves.
    "tail_deletion": (frozenset(), ""),
    "forged_tail": (frozenset(), ""),
    "forged_snapshot": (frozenset(), ""),
    "provisioning_tail_deletion": (frozenset(), ""),
    "provisioning_tail_rehashed": (frozenset(), ""),
    "whole_tenant": (frozenset(), ""),
}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_store(tmp_path_factory.mktemp("refusal") / "store.sqlite")


@pytest.fixture(scope="module")
def tampered(pristine: Path, tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """Each kind's tampered store, made once; a test reads a copy of it."""
    made: dict[str, Path] = {}

    def of(kind: str) -> Path:
        if kind not in made:
            made[kind] = copy_store(pristine, tmp_path_factory.mktemp(kind) / "store.sqlite")
            if kind != "none":
                ALL_KINDS[kind](made[kind])
        return made[kind]

    return of


def read(db: Path, reader: str) -> tuple[int, str, str]:
    result = invoke(["--db", str(db), "--actor", ADMIN, *READERS[reader]], clock=SteppingClock(LATER))
    crash = result.exception is not None and not isinstance(result.exception, SystemExit)
    assert not crash, repr(result.exception)
    return result.exit_code, result.stdout, result.stderr


def rows(db: Path) -> int:
    with closing(sqlite3.connect(db)) as connection:
        return connection.execute("SELECT count(*) FROM stored_events").fetchone()[0]


def test_every_kind_of_the_tampering_module_has_an_expectation() -> None:
    assert set(REFUSED) == set(ALL_KINDS)


@pytest.mark.parametrize("reader", sorted(READERS))
def test_the_untouched_store_is_served_by_every_reader(tampered: Callable[[str], Path], tmp_path: Path, reader: str) -> None:
    db = copy_store(tampered("none"), tmp_path / "store.sqlite")
    code, out, err = read(db, reader)
    assert (code, err) == (0, ""), out


@pytest.mark.parametrize("reader", sorted(READERS))
@pytest.mark.parametrize("kind", sorted(ALL_KINDS))
def test_a_reader_refuses_the_tampering_it_reads_and_serves_the_rest(tampered: Callable[[str], Path], tmp_path: Path,
                                                                      kind: str, reader: str) -> None:
    db = copy_store(tampered(kind), tmp_path / "store.sqlite")
    before = rows(db)
    code, out, err = read(db, reader)
    refusing, says = REFUSED[kind]
    if reader in refusing:
        assert code == BROKEN, out + err
        assert out == ""  # nothing of it was served
        lines = err.strip().splitlines()
        assert len(lines) == 1, err
        assert lines[0].startswith(f"callroute: error: {db}: {says}"), lines[0]
        assert lines[0].endswith(" — run: callroute audit verify"), lines[0]
        assert rows(db) == before  # a writer appended nothing
    elif kind == "whole_tenant":
        assert code == 3, out + err  # an unknown tenant, told as one the actor may not read
        assert f"no tenant '{SLUG}' that '{ADMIN}' may read" in err
    else:
        assert (code, err) == (0, ""), out


def test_what_the_checks_cannot_see_is_served_with_the_forgery_in_it(tampered: Callable[[str], Path], tmp_path: Path) -> None:
    """Each kind no reader refuses, read where its forgery shows: only ``audit verify`` (and a kept head) finds these."""
    shows = {
        "forged_tail": ("audit history", f"tenant v{EVENTS + 1}  DivertSet  by {FORGER}"),
        "forged_snapshot": ("tenant show", FORGER),
        "tail_deletion": ("tenant show", f"version {EVENTS - 1}"),
        "provisioning_tail_deletion": ("table", f"{SLUG} routing table at version 38 "),
        "provisioning_tail_rehashed": ("table", f"{SLUG} routing table at version {EVENTS} "),
    }
    for kind, (reader, text) in shows.items():
        db = copy_store(tampered(kind), tmp_path / f"{kind}.sqlite")
        code, out, err = read(db, reader)
        assert (code, err) == (0, ""), (kind, out)
        assert text in out, (kind, out)
        clean_code, clean, _ = read(copy_store(tampered("none"), tmp_path / f"{kind}-clean.sqlite"), reader)
        assert clean_code == 0 and text not in clean, (kind, clean)
