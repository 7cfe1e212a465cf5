"""The one composition root: every entry point (CLI, demo, simulator, tests) builds its application here.

It wires the application to a store, a clock, a PIN hasher, the PBX directory and,
where the edge supplies one, a lean event writer. Core draws no salt and reads no
clock: the caller hands those in (``adapters.bootstrap`` the wall clock and Argon2,
the simulator and tests fixed or virtual clocks and deterministic hashers).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from core.aggregates.commanding import PinHasher
from core.aggregates.rules import PbxDirectory
from core.clock import Clock
from core.service import CallrouteApp, EventWriter

DEFAULT_LOCK_TIMEOUT_SECONDS = 10


def store_env(path: str | Path | None, *, lock_timeout: int = DEFAULT_LOCK_TIMEOUT_SECONDS) -> dict[str, str]:
    """eventsourcing's settings for an SQLite file (WAL, so readers never block the writer), or for memory (``None``)."""
    if path is None:
        return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path), "SQLITE_LOCK_TIMEOUT": str(lock_timeout)}


def wire(
    path: str | Path | None,
    *,
    clock: Clock,
    pin_hasher: PinHasher,
    directory: Callable[[CallrouteApp], PbxDirectory] | None = None,
    event_writer: EventWriter | None = None,
) -> CallrouteApp:
    """An application on the SQLite file at ``path`` (``None``: in memory).

    ``directory`` builds the PBX directory from the application itself (other cloud PBXs
    are the store's other tenants), so nothing is attached after construction.
    """
    return CallrouteApp(store_env(path), clock=clock, pin_hasher=pin_hasher, directory=directory, event_writer=event_writer)
