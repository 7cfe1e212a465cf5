"""Tamper evidence: walking a tenant's hash chain over the stored events as they are on disk."""

from __future__ import annotations

import hashlib
from typing import Any, Literal
from uuid import UUID

import msgspec
from eventsourcing.persistence import MapperDeserialisationError

from core.aggregates.chain import GENESIS, event_hash
from core.aggregates.chained import replay

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
        problem = _check_snapshots(recorder, mapper, snapshots, originator_id, version, hashes)
        if problem is not None:
            return _report(originator_id, version, expected_prev, problem[0], "snapshot_mismatch" if problem[1] else "missing",
                           problem[2])
    return ChainReport(tenant_id=str(originator_id), events=version, head=expected_prev, first_break=None)


def _report(originator_id: UUID, events: int, head: str, version: int, problem: Problem, detail: str) -> ChainReport:
    return ChainReport(
        tenant_id=str(originator_id), events=events, head=head, first_break=ChainBreak(version=version, problem=problem, detail=detail)
    )


def _check_snapshots(recorder: Any, mapper: Any, snapshots: Any, originator_id: UUID, events: int,
                     hashes: dict[int, str]) -> tuple[int, bool, str] | None:
    """Compare every stored snapshot with the state replayed from the (already verified) events.

    A snapshot is what loads a tenant quickly, so an edited one would change what
    every reader sees without touching an event: each must equal the replay.
    """
    try:
        stored = list(snapshots.get(originator_id))
    except MapperDeserialisationError as exc:
        return (0, True, f"a snapshot cannot be read: {exc}")
    if not stored:
        return None
    for snapshot in stored:
        at = snapshot.originator_version
        if at > events:
            return (events + 1, False, f"a snapshot at version {at} shows events after version {events} were deleted")
        if hashes.get(at) != snapshot.state.head:
            return (at, True, f"the snapshot at version {at} records a different chain head")
    wanted = {snapshot.originator_version: snapshot for snapshot in stored}
    aggregate = None
    for stored_event in recorder.select_events(originator_id, lte=max(wanted)):
        aggregate = replay(mapper.to_domain_event(stored_event), aggregate)
        snapshot = wanted.get(aggregate.version)
        if snapshot is not None and snapshot.state.state != aggregate.state:
            return (aggregate.version, True, f"the snapshot at version {aggregate.version} differs from the state its events give")
    return None


def stored_originators(recorder: Any, page: int = 1000) -> set[str]:
    """The ids (hex) of every aggregate with events in the store, found from the rows themselves.

    A tenant whose first event was deleted is no longer listed by its creation, but its
    other rows are, so verification still finds and reports it.
    """
    found: set[str] = set()
    start = 1
    while True:
        notifications = recorder.select_notifications(start, page)
        found.update(n.originator_id.hex if isinstance(n.originator_id, UUID) else str(n.originator_id) for n in notifications)
        if len(notifications) < page:
            return found
        start = notifications[-1].id + 1



class AggregateReport(msgspec.Struct, frozen=True):
    """One record of the store (a tenant or a tenant's provisioning record) and what verifying its chain found."""

    name: str
    """``nordic-dental``, ``nordic-dental provisioning``, or the id of a record whose first event is missing."""
    report: ChainReport


class StoreReport(msgspec.Struct, frozen=True):
    """Every record of a store, verified, and one head over all of them."""

    records: tuple[AggregateReport, ...]
    store_head: str
    """SHA-256 over every record's id and chain head, sorted: keep it, and a later verify shows what was removed."""

    @property
    def intact(self) -> bool:
        """Whether every record verified."""
        return all(record.report.intact for record in self.records)


def verify_store(app: Any, tenant: str | None = None) -> StoreReport:
    """Verify every record of ``app``'s store (or one tenant and its provisioning record).

    Records are found from the stored rows, so a tenant whose first event was deleted is
    still verified and reported under its id.
    """
    from core.aggregates.identifiers import tenant_id
    from core.aggregates.provisioning import provisioning_id

    stored = stored_originators(app.recorder)
    names = {tenant_id(slug).hex: slug for slug in app.list_tenants()}
    names.update({provisioning_id(slug).hex: f"{slug} provisioning" for slug in list(names.values())})
    if tenant is not None:
        stored &= {tenant_id(tenant).hex, provisioning_id(tenant).hex}
    records = []
    for key in sorted(stored, key=lambda k: names.get(k, "~" + k)):
        name = names.get(key, f"aggregate {key} (its first event is missing)")
        is_tenant = not name.endswith(" provisioning")
        report = verify_chain(app.recorder, app.mapper, UUID(key), app.snapshots if is_tenant else None)
        records.append(AggregateReport(name=name, report=report))
    heads = sorted(f"{UUID(r.report.tenant_id).hex} {r.report.head}" for r in records)
    return StoreReport(records=tuple(records), store_head=hashlib.sha256("\n".join(heads).encode()).hexdigest())
