"""Every way of tampering with a real store (``tests/tampering.py``) is caught by ``audit verify``, and named.

The store has the sample tenant with a snapshot and events after it, its provisioning record
with two confirmations, the Malmö cloud PBX and the routing projection caught up. Before each
tampering the store head and the sample tenant's head are kept, as an auditor would; then
``audit verify`` (the whole store, as operator; and the tenant, as its admin) must exit 1 and
say what is wrong. Where only a kept head can show it (``KEPT_HEAD_ONLY``), the kept head is
given; ``--no-later-events`` says nothing was to be written since it was kept.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.adapters.clirun import invoke
from tests.tampering import (
    ADMIN,
    CONFIRMED,
    DELETED,
    EDITED,
    EVENTS,
    FORGED_SNAPSHOT_AT,
    FORGER,
    KEPT_HEAD_ONLY,
    KINDS,
    SLUG,
    SNAPSHOT_AT,
    SWAPPED,
    TENANT_LEVEL,
    build_store,
    copy_store,
)

pytestmark = pytest.mark.sqlite_only  # tampers with the SQLite file's rows (tests/tampering.py); see tests/backends.py

OPERATOR = "ops@platform.example"
HEAD = re.compile(r"^(store|tenant) head ([0-9a-f]{64}) after ([\d,]+) events?$", re.MULTILINE)

# What verify must say for each kind (whole store, and the tenant's own verify where it can see it).
NAMED = {
    "edit": f"{SLUG}: BROKEN at event version {EDITED}: altered",
    "rehashed_edit": f"{SLUG}: BROKEN at event version {EDITED + 1}: chain_broken",
    "middle_deletion": f"{SLUG}: BROKEN at event version {DELETED}: missing",
    "tail_deletion": "heads of these",
    "forged_tail": f"1 event was recorded after it: {SLUG} v{EVENTS + 1}, and --no-later-events says none was",
    "swapped_rows": f"{SLUG}: BROKEN at event version {SWAPPED[0]}: altered",
    "snapshot_edit": f"{SLUG}: BROKEN at event version {SNAPSHOT_AT}: snapshot_mismatch: the snapshot at version {SNAPSHOT_AT}",
    "forged_snapshot": f"the snapshot at version {FORGED_SNAPSHOT_AT} differs from the state its events give",
    "projection_table": f"projection: {SLUG} table version {CONFIRMED} differs from what its events compile to",
    "projection_change_actor": f"projection: {SLUG} change record version {EVENTS}: actor '{FORGER}' but the event says '{ADMIN}'",
    "projection_confirmation": f"projection: {SLUG} confirmation 2: version {EVENTS} applied at",
    "provisioning_tail_deletion": "heads of these",
    "provisioning_tail_rehashed": "heads of these",
    "whole_tenant": "heads of these",
}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The store, built once for the module; each test tampers a copy."""
    return build_store(tmp_path_factory.mktemp("tamper") / "store.sqlite")


@pytest.fixture
def store(pristine: Path, tmp_path: Path) -> Path:
    return copy_store(pristine, tmp_path / "store.sqlite")


def verify(db: Path, *args: str, actor: str = OPERATOR) -> tuple[int, str, str]:
    operator = ["--operator"] if actor == OPERATOR else []
    result = invoke(["--db", str(db), "--actor", actor, "audit", "verify", *operator, *args])
    assert "Traceback" not in result.output
    return result.exit_code, result.stdout, result.stderr


def kept_head(db: Path, *args: str, actor: str = OPERATOR) -> str:
    code, out, err = verify(db, *args, actor=actor)
    assert code == 0, out + err
    match = HEAD.search(out)
    assert match is not None, out
    return match.group(2)


def test_the_named_kinds_are_every_kind() -> None:
    assert set(NAMED) == set(KINDS)
    assert KEPT_HEAD_ONLY <= set(KINDS) and TENANT_LEVEL <= set(KINDS)


@pytest.mark.parametrize("scope", ["store", "tenant"])
def test_the_untouched_store_verifies_with_its_kept_head(store: Path, scope: str) -> None:
    args = ("--tenant", SLUG) if scope == "tenant" else ()
    actor = ADMIN if scope == "tenant" else OPERATOR
    head = kept_head(store, *args, actor=actor)
    code, out, err = verify(store, *args, "--expect-head", head, "--no-later-events", actor=actor)
    assert code == 0, out + err
    assert f"the kept head is the {scope} head after event" in out
    assert "nothing up to it was removed or changed" in out
    assert "BROKEN" not in out and "differs" not in out
    assert re.search(r"^projection: .* agree with the events", out, re.MULTILINE), out


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_verify_of_the_whole_store_catches_and_names_each_tampering(store: Path, kind: str) -> None:
    head = kept_head(store)
    KINDS[kind](store)
    extra = ("--expect-head", head, "--no-later-events") if kind in KEPT_HEAD_ONLY else ()
    code, out, err = verify(store, *extra)
    assert code == 1, out + err
    assert NAMED[kind] in out, out + err


@pytest.mark.parametrize("kind", sorted(TENANT_LEVEL))
def test_the_tenants_own_verify_catches_each_tampering_of_it(store: Path, kind: str) -> None:
    head = kept_head(store, "--tenant", SLUG, actor=ADMIN)
    KINDS[kind](store)
    extra = ("--expect-head", head, "--no-later-events") if kind in KEPT_HEAD_ONLY else ()
    code, out, err = verify(store, "--tenant", SLUG, *extra, actor=ADMIN)
    assert code == 1, out + err
    assert NAMED[kind].replace("heads of these", "tenant heads of these") in out, out + err
    assert "nordic-dental-malmo" not in out  # the tenant's auditor learns nothing of the other tenants


@pytest.mark.parametrize("kind", sorted(KEPT_HEAD_ONLY - {"forged_tail"}))
def test_a_kept_head_catches_what_leaves_every_chain_intact(store: Path, kind: str) -> None:
    head = kept_head(store)
    KINDS[kind](store)
    code, out, _ = verify(store, "--expect-head", head)
    assert code == 1
    assert "BROKEN" not in out  # every chain that is left verifies: the kept head is what shows it
    assert f"the kept head {head} is none of the store heads of these" in out
    assert "the history it covered was removed or rewritten" in out


def test_a_forged_tail_shows_as_an_event_recorded_after_the_kept_head(store: Path) -> None:
    head = kept_head(store)
    KINDS["forged_tail"](store)
    code, out, _ = verify(store, "--expect-head", head)
    assert code == 0  # without --no-later-events an event recorded since is no failure: it may be a real change
    assert f"1 event was recorded after it: {SLUG} v{EVENTS + 1}" in out


def test_an_untouched_store_still_verifies_after_the_projection_is_dropped(store: Path) -> None:
    from tests.tampering import drop_projection

    head = kept_head(store)
    drop_projection(store)
    code, out, _ = verify(store, "--expect-head", head, "--no-later-events")
    assert code == 0, out
    assert "projection" not in out


def test_control_characters_a_rehashed_edit_put_in_a_reason_are_shown_escaped(store: Path) -> None:
    """Commands refuse them, so only an edit of the store can put them there; an auditor's terminal must not run them."""
    from tests.tampering import forged_text

    forged_text(store)
    assert verify(store)[0] == 0  # the hashes were recomputed: nothing shows the edit but the text itself
    result = invoke(["--db", str(store), "--actor", OPERATOR, "--operator", "audit", "history", "--tenant", SLUG])
    assert result.exit_code == 0, result.stderr
    forged = [line for line in result.stdout.splitlines() if "— ok" in line]
    assert len(forged) == 1
    assert forged[0].endswith(r" — ok\x1b[2J\x1b[31m\x07\u202elive\n2026-11-23 10:00:04+01:00  tenant v999  DivertSet  by admin")
    assert not any(char in result.stdout for char in "\x1b\x07\u202e")
    assert not any(line.startswith("2026-11-23 10:00:04+01:00  tenant v999") for line in result.stdout.splitlines())
