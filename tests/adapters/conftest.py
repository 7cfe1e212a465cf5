"""Fixtures shared by the command-line tests: the sample tenant's store, built once, and a fresh copy per test."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from tests.adapters.test_cli import apply_seed


@pytest.fixture(scope="session")
def seeded_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Malmö PBX and the sample tenant, applied once for the whole run; never changed by a test."""
    db = tmp_path_factory.mktemp("seeded") / "seed.sqlite"
    apply_seed(db)
    return db


@pytest.fixture
def db(seeded_store: Path, tmp_path: Path) -> Path:
    """A copy of the seeded store that a test may change (SQLite's backup: the copy includes the write-ahead log)."""
    copy = tmp_path / "c.sqlite"
    with closing(sqlite3.connect(seeded_store)) as source, closing(sqlite3.connect(copy)) as target:
        source.backup(target)
    return copy
