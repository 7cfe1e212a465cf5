"""Fixtures shared by the command-line tests: the sample tenant's store, built once, and a fresh copy per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.adapters.test_cli import apply_seed
from tests.backends import copy_store


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
    copy_store(seeded_store, copy)  # on the PostgreSQL backend, a database copied from the seeded one (tests/backends.py)
    return copy
