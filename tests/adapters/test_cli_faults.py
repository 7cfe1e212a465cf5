"""Faults of the store give one line naming the file and what is wrong, exit 1, never a traceback, and store nothing.

A deleted event, an unreadable one, a file cut short, random bytes written into it (over
SQLite's pages, or inside a stored event where SQLite cannot see it), a file that is not
SQLite at all: every command (``audit verify``, ``table``, ``explain``, ``apply`` and a
verb that writes) answers with one ``callroute: error:`` line on stderr and exit 1.
"""

from __future__ import annotations

import os
import random
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest

from adapters.cli.errors import BROKEN
from core.aggregates.identifiers import tenant_id
from tests.adapters.clirun import invoke
from tests.adapters.test_cli import ADMIN, DATA, SEED_EVENTS

pytestmark = pytest.mark.sqlite_only  # damages, truncates and edits the SQLite file itself; see tests/backends.py

T = "nordic-dental"
COMMANDS = {
    "audit verify": ["audit", "verify", "--tenant", T],
    "table": ["table", "--tenant", T, "--desired"],
    "explain": ["explain", "--tenant", T, "--to", "2001", "--desired"],
    "apply": ["apply", str(DATA / "seed_tenant.toml")],
    "divert set": ["divert", "set", "--tenant", T, "--extension", "2003", "--when", "busy", "--to", "voicemail"],
}


def run(db: Path, args: list[str]) -> tuple[int, str, str]:
    result = invoke(["--db", str(db), "--actor", ADMIN, "--pbx-directory", str(DATA / "pbx_directory.toml"), *args])
    crash = result.exception is not None and not isinstance(result.exception, SystemExit)
    assert not crash, repr(result.exception)
    return result.exit_code, result.stdout, result.stderr


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("callroute: error: ")
    assert "Traceback" not in err
    return lines[0]


def rows(db: Path) -> int:
    with closing(sqlite3.connect(db)) as connection:
        return connection.execute("SELECT count(*) FROM stored_events").fetchone()[0]


@pytest.fixture
def flat(db: Path) -> Path:
    """The seeded store with its write-ahead log folded into the file, so that damaging the file damages everything."""
    with closing(sqlite3.connect(db)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return db


# -- faults the chain checks find --------------------------------------------------------------------------------------


def test_a_deleted_event_makes_a_write_one_line_exit_1_and_nothing_is_appended(db: Path) -> None:
    with closing(sqlite3.connect(db)) as connection, connection:
        connection.execute("DELETE FROM stored_events WHERE originator_id = ? AND originator_version = 20", (tenant_id(T).hex,))
    before = rows(db)
    for args in (COMMANDS["divert set"], COMMANDS["apply"], ["tenant", "show", "--tenant", T]):
        code, _, err = run(db, args)
        assert code == BROKEN, err
        line = one_line(err)
        assert line == (f"callroute: error: {db}: tenant {T} at version 20: event version 20 is missing "
                        "(the next stored is version 21) — run: callroute audit verify")
    assert rows(db) == before


def test_an_event_that_is_not_json_is_one_line_exit_1(db: Path) -> None:
    with closing(sqlite3.connect(db)) as connection, connection:
        connection.execute("UPDATE stored_events SET state = ? WHERE originator_id = ? AND originator_version = 5",
                           (b"not json", tenant_id(T).hex))
    before = rows(db)
    for args in (COMMANDS["table"], COMMANDS["divert set"]):
        code, _, err = run(db, args)
        assert code == BROKEN
        line = one_line(err)
        assert f"{db}: " in line and "version 5" in line and line.endswith("— run: callroute audit verify"), line
    assert rows(db) == before


def test_random_bytes_inside_a_stored_event_are_found_by_its_hash(flat: Path) -> None:
    """Bytes SQLite cannot tell from data: the page is sound, the event is not what was written."""
    content = flat.read_bytes()
    at = content.index(b'"name":"Nordic Dental AB"') + len(b'"name":"')
    damaged = content[:at] + b"Evil" + content[at + 4:]
    flat.write_bytes(damaged)
    before = rows(flat)
    for name in ("table", "explain", "apply", "divert set"):
        code, _, err = run(flat, COMMANDS[name])
        assert code == BROKEN, (name, err)
        line = one_line(err)
        assert f"tenant {T} at version 1: the stored callroute/TenantCreated does not match its recorded hash" in line, line
    code, out, _ = run(flat, [*COMMANDS["audit verify"], "--operator"])  # the tenant's admins are in the altered event
    assert code == BROKEN
    assert f"{T}: BROKEN at event version 1: altered" in out
    assert rows(flat) == before


# -- faults of the file ------------------------------------------------------------------------------------------------


def cut_short(path: Path) -> None:
    os.truncate(path, path.stat().st_size // 2)


def random_bytes_in_the_middle(path: Path) -> None:
    rng = random.Random(11)
    with path.open("r+b") as file:
        file.seek(path.stat().st_size // 2)
        file.write(bytes(rng.randrange(256) for _ in range(4096)))


def not_sqlite(path: Path) -> None:
    path.write_bytes(b"hello, this is not a database at all\n" * 200)


def header_overwritten(path: Path) -> None:
    with path.open("r+b") as file:
        file.write(b"X" * 16)


DAMAGE: dict[str, Callable[[Path], None]] = {
    "cut short": cut_short,
    "random bytes in the middle": random_bytes_in_the_middle,
    "not SQLite": not_sqlite,
    "header overwritten": header_overwritten,
}
SAYS = {
    "cut short": "the SQLite file is damaged (",
    "random bytes in the middle": "the SQLite file is damaged (",
    "not SQLite": "is not a callroute store (not an SQLite file, or its header is damaged)",
    "header overwritten": "is not a callroute store (not an SQLite file, or its header is damaged)",
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_file_is_one_line_naming_it_exit_1(flat: Path, damage: str, command: str) -> None:
    DAMAGE[damage](flat)
    damaged = flat.read_bytes()
    code, out, err = run(flat, COMMANDS[command])
    assert code == BROKEN, (out, err)
    line = one_line(err)
    assert str(flat) in line
    assert SAYS[damage] in line, line
    assert flat.read_bytes() == damaged  # nothing written, nothing repaired behind the user's back


def test_the_store_checks_do_not_open_the_file_beside_sqlite(db: Path) -> None:
    """Closing any descriptor of an SQLite file drops the locks this process's connections hold on it (POSIX advisory locks
    belong to the process): ``store_problem`` must look at the file only through SQLite and ``os.stat``."""
    from unittest.mock import patch

    from adapters.bootstrap import store_problem

    with patch.object(Path, "open", side_effect=AssertionError("opened")), \
            patch("builtins.open", side_effect=AssertionError("opened")):
        assert store_problem(db) is None


def test_a_seeded_store_answers_every_command(db: Path) -> None:
    """The commands above work on the store as it was written (so their refusals above come from the damage)."""
    for name in ("table", "explain", "audit verify"):
        code, _, err = run(db, COMMANDS[name])
        assert code == 0, (name, err)
    assert rows(db) >= SEED_EVENTS
