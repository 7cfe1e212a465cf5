"""Tamper evidence: walking a tenant's hash chain over the stored events as they are on disk."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

import msgspec

from core.aggregates.chain import GENESIS, event_hash

Problem = Literal["altered", "missing", "chain_broken", "undecodable", "snapshot_mismatch"]


class ChainBreak(msgspec.Struct, frozen=True):
    """The first place where the stored history is not what was written."""

    version: int
    problem: Problem
    detail: str


class ChainReport(msgspec.Struct, frozen=True):
    """The result of verifying one tenant's chain."""

    tenant_id: str
    events: int
    head: str
    first_break: ChainBreak | None

    @property
    def intact(self) -> bool:
        """Whether every stored event is as it was written."""
        return self.first_break is None


def verify_chain(recorder: Any, mapper: Any, originator_id: UUID, snapshots: Any = None) -> ChainReport:
    """Recompute every event's hash from its raw stored bytes and check the links between them.

    Detects an edited event (its content no longer matches its hash), a deleted or
    reordered event (a gap in versions or a broken ``prev_hash`` link), an event whose
    hash was recomputed after editing (the next link breaks), and, where snapshots are
    stored, events deleted from the end (a snapshot beyond the last event, or whose
    chain head differs from the event at its version).
    """
    expected_prev = GENESIS
    version = 0
    stored_events = recorder.select_events(originator_id)
    hashes: dict[int, str] = {}
    for stored in stored_events:
        version += 1
        if stored.originator_version != version:
            return _report(originator_id, version - 1, expected_prev, version, "missing",
                           f"event version {version} is missing (next stored is {stored.originator_version})")
        try:
            raw = mapper.decode_raw(stored.state)
            recorded_hash = raw.pop("hash")
        except (msgspec.DecodeError, KeyError, TypeError, AttributeError, ValueError) as exc:
            return _report(originator_id, version - 1, expected_prev, version, "undecodable", f"cannot read stored event: {exc}")
        actual = event_hash(stored.topic, str(originator_id), version, raw)
        if actual != recorded_hash:
            return _report(originator_id, version - 1, expected_prev, version, "altered",
                           f"stored content of {stored.topic} does not match its hash")
        if raw.get("prev_hash") != expected_prev:
            return _report(originator_id, version - 1, expected_prev, version, "chain_broken",
                           f"{stored.topic} does not link to the hash of event {version - 1}")
        expected_prev = recorded_hash
        hashes[version] = recorded_hash
    if snapshots is not None:
        for snapshot in snapshots.get(originator_id):
            head = snapshot.state.head
            at = snapshot.originator_version
            if at > version:
                return _report(originator_id, version, expected_prev, version + 1, "missing",
                               f"a snapshot at version {at} shows events after version {version} were deleted")
            if hashes.get(at) != head:
                return _report(originator_id, version, expected_prev, at, "snapshot_mismatch",
                               f"the snapshot at version {at} records a different chain head")
    return ChainReport(tenant_id=str(originator_id), events=version, head=expected_prev, first_break=None)


def _report(originator_id: UUID, events: int, head: str, version: int, problem: Problem, detail: str) -> ChainReport:
    return ChainReport(
        tenant_id=str(originator_id), events=events, head=head, first_break=ChainBreak(version=version, problem=problem, detail=detail)
    )
