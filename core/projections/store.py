"""Where the routing projection keeps its rows and tracked position: the port, and a store in memory.

The SQLite store (``adapters/projection_store.py``) implements the same contract.
"""

from __future__ import annotations

from typing import Protocol

import msgspec

from core.aggregates.provisioning import Confirmation
from core.projections.timeline import ChangeRecord, PolicyRecord


class ProjectionBatch(msgspec.Struct):
    """What one catch-up step adds, committed atomically with the new position."""

    position: int
    tenants: dict[str, str] = {}
    """Aggregate id (hex) → tenant slug, for tenants and provisioning records first seen."""
    changes: dict[str, list[ChangeRecord]] = {}
    """Tenant slug → its changes in this batch, in order."""
    confirmations: list[tuple[str, Confirmation]] = []
    policies: list[tuple[str, PolicyRecord]] = []
    tables: list[tuple[str, int, bytes]] = []


class LoadedProjection(msgspec.Struct):
    """Everything a store returns on start."""

    position: int
    tenants: dict[str, str]
    changes: list[tuple[str, ChangeRecord]]
    confirmations: list[tuple[str, Confirmation]]
    policies: list[tuple[str, PolicyRecord]]


class ProjectionStore(Protocol):
    """Where the projection's rows and position live (SQLite in adapters; memory for tests and the simulator)."""

    def load(self) -> LoadedProjection: ...

    def commit(self, expected_position: int, batch: ProjectionBatch) -> None:
        """Store ``batch`` and move the position, atomically; refuse if another writer moved it."""

    def table(self, slug: str, version: int) -> bytes | None: ...


class MemoryProjectionStore:
    """A projection store in memory (same contract as the SQLite one)."""

    def __init__(self) -> None:
        self.loaded = LoadedProjection(position=0, tenants={}, changes=[], confirmations=[], policies=[])
        self.tables: dict[tuple[str, int], bytes] = {}

    def load(self) -> LoadedProjection:
        return msgspec.structs.replace(self.loaded, tenants=dict(self.loaded.tenants), changes=list(self.loaded.changes),
                                       confirmations=list(self.loaded.confirmations), policies=list(self.loaded.policies))

    def commit(self, expected_position: int, batch: ProjectionBatch) -> None:
        if self.loaded.position != expected_position:
            msg = f"projection position moved from {expected_position} to {self.loaded.position} under us"
            raise RuntimeError(msg)
        self.loaded.tenants.update(batch.tenants)
        self.loaded.changes.extend((slug, change) for slug, changes in batch.changes.items() for change in changes)
        self.loaded.confirmations.extend(batch.confirmations)
        self.loaded.policies.extend(batch.policies)
        for slug, version, blob in batch.tables:
            self.tables[(slug, version)] = blob
        self.loaded.position = batch.position

    def table(self, slug: str, version: int) -> bytes | None:
        return self.tables.get((slug, version))
