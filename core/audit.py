"""Tamper evidence: each record's hash chain, and one running head over every stored event of the store.

Each record (a tenant, a tenant's provisioning record) is a hash chain: ``verify_chain``
recomputes every event's hash from its raw stored bytes and checks the links. That
proves a record intact from its first event to its last stored one, but not that its
last events, or the whole record, are still there. The store head does: walking every
stored event in the order the store recorded them (notification id),

    h0 = GENESIS,  h_n = sha256(f"{h_(n-1)} {originator_hex} {version} {event_hash}")

where ``event_hash`` is the hash the event records (which its record's chain check
proves equal to its content). A head kept at any moment is among the running heads of
today's store if and only if nothing recorded up to that moment was removed, reordered
or rewritten; what was recorded since comes after it. Scoped to one tenant (its events
and its provisioning record's, in the same order), the same walk gives the tenant head.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
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
    chain head differs from the event at its version) and a snapshot whose state is not
    the replay of its events (compared in the same pass over the events).
    """
    checked = _SnapshotCheck(snapshots, mapper, originator_id) if snapshots is not None else None
    id_text = str(originator_id)
    expected_prev = GENESIS
    version = 0
    hashes: dict[int, str] = {}
    for stored in recorder.select_events(originator_id):
        version += 1
        if stored.originator_version != version:
            return _report(originator_id, version - 1, expected_prev, version, "missing",
                           f"event version {version} is missing (next stored is {stored.originator_version})")
        try:
            raw = mapper.decode_raw(stored.state)
            recorded_hash = raw.pop("hash")
        except (msgspec.DecodeError, KeyError, TypeError, AttributeError, ValueError) as exc:
            return _report(originator_id, version - 1, expected_prev, version, "undecodable", f"cannot read stored event: {exc}")
        actual = event_hash(stored.topic, id_text, version, raw)
        if actual != recorded_hash:
            return _report(originator_id, version - 1, expected_prev, version, "altered",
                           f"stored content of {stored.topic} does not match its hash")
        if raw.get("prev_hash") != expected_prev:
            return _report(originator_id, version - 1, expected_prev, version, "chain_broken",
                           f"{stored.topic} does not link to the hash of event {version - 1}")
        expected_prev = recorded_hash
        hashes[version] = recorded_hash
        if checked is not None and version <= checked.replay_to:
            checked.apply(stored, version)
    if checked is not None:
        problem = checked.problem(version, hashes)
        if problem is not None:
            return _report(originator_id, version, expected_prev, problem[0], "snapshot_mismatch" if problem[1] else "missing",
                           problem[2])
    return ChainReport(tenant_id=str(originator_id), events=version, head=expected_prev, first_break=None)


def _report(originator_id: UUID, events: int, head: str, version: int, problem: Problem, detail: str) -> ChainReport:
    return ChainReport(
        tenant_id=str(originator_id), events=events, head=head, first_break=ChainBreak(version=version, problem=problem, detail=detail)
    )


class _SnapshotCheck:
    """Every stored snapshot of a record against the state replayed from its (verified) events.

    A snapshot is what loads a tenant quickly, so an edited one would change what every
    reader sees without touching an event: each must equal the replay. The snapshots are
    read first; ``verify_chain`` hands each verified event up to the last of them to
    ``apply`` as it walks the chain, so the events are read once.
    """

    def __init__(self, snapshots: Any, mapper: Any, originator_id: UUID) -> None:
        from core.errors import StoreIntegrityError
        from core.projections.reader import EventReader

        self.rows = list(snapshots.recorder.select_events(originator_id))
        self.unreadable: dict[int, str] = {}
        self.decoded: dict[int, Any] = {}
        for row in self.rows:
            at = row.originator_version
            try:
                self.decoded[at] = snapshots.mapper.to_domain_event(row)
            except StoreIntegrityError as exc:
                self.unreadable[at] = exc.detail
            except MapperDeserialisationError as exc:
                self.unreadable[at] = f"the snapshot at version {at} cannot be read: {exc}"
        self.replay_to = max(self.decoded, default=0)
        self.reader = EventReader(mapper)  # the events are verified: decoded in one typed pass, as the projection does
        self.aggregate: Any = None
        self.differs: dict[int, str] = {}

    def apply(self, stored: Any, version: int) -> None:
        """Apply the verified event ``version``; compare with the snapshot at it, if any."""
        try:
            self.aggregate = replay(self.reader.decode(stored), self.aggregate)
        except Exception as exc:  # noqa: BLE001 - the snapshots after it cannot be compared: said, not raised
            self.differs[version] = f"event {version} cannot be replayed to compare the snapshots with: {exc}"
            self.replay_to = 0
            return
        snapshot = self.decoded.get(version)
        if snapshot is not None and snapshot.state.state != self.aggregate.state:
            self.differs[version] = f"the snapshot at version {version} differs from the state its events give"

    def problem(self, events: int, hashes: dict[int, str]) -> tuple[int, bool, str] | None:
        """The first problem: (version, whether the snapshot itself is wrong rather than events missing, detail)."""
        for row in self.rows:
            if row.originator_version > events:
                return (events + 1, False, f"a snapshot at version {row.originator_version} shows events after version {events} "
                                           "were deleted")
        for row in self.rows:
            at = row.originator_version
            if at in self.unreadable:
                return (at, True, self.unreadable[at])
            if hashes.get(at) != self.decoded[at].state.head:
                return (at, True, f"the snapshot at version {at} records a different chain head")
        if self.differs:
            at = min(self.differs)
            return (at, True, self.differs[at])
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



def replay_verified(recorder: Any, mapper: Any, originator_id: UUID, report: ChainReport) -> Any | None:
    """The record as its verified events leave it: all of them if intact, else those before the first break (None: none).

    Replayed from the events themselves, never a snapshot, for what must be trusted when the chain is broken
    (who may verify the tenant).
    """
    last = report.events if report.first_break is None else report.first_break.version - 1
    if last < 1:
        return None
    aggregate = None
    for stored in recorder.select_events(originator_id, lte=last):
        aggregate = replay(mapper.to_domain_event(stored), aggregate)
    return aggregate


class _Hashed(msgspec.Struct):
    """The one field of a stored event the store head needs: decoding only it keeps the walk over every event fast."""

    hash: str


_HASHED = msgspec.json.Decoder(_Hashed)


def link(head: str, originator_hex: str, version: int, recorded_hash: str) -> str:
    """The running head after one more event: ``sha256(f"{head} {originator_hex} {version} {recorded_hash}")``."""
    return hashlib.sha256(f"{head} {originator_hex} {version} {recorded_hash}".encode()).hexdigest()


def _recorded_hash(state: bytes, decode_bytes: Any) -> str:
    """The hash a stored event records; for one that cannot be read, a stand-in that any change to its bytes moves."""
    try:
        return _HASHED.decode(state if decode_bytes is None else decode_bytes(state)).hash
    except (msgspec.DecodeError, ValueError, TypeError):
        return "unreadable:" + hashlib.sha256(state).hexdigest()


class HeadWalk(msgspec.Struct, frozen=True):
    """The running head over stored events, in the order the store recorded them."""

    head: str
    """The last running head (``GENESIS`` when there are no events)."""
    events: int
    originators: frozenset[str]
    """The ids (hex) of the records walked."""
    kept_after: int | None = None
    """The kept head is the running head after this many events (0: before the first); None: it is none of them."""
    kept_event: tuple[str, int] | None = None
    """(record id hex, version) of the first event whose recorded hash is the kept head, if any."""
    later: tuple[tuple[str, int, int, int], ...] = ()
    """Records with events after the kept head: (id hex, first version, last version, how many)."""


def walk_heads(recorder: Any, mapper: Any, *, only: Iterable[str] | None = None, kept: str | None = None,
               page: int = 5000) -> HeadWalk:
    """Walk every stored event (or only those of the records ``only`` names, by id hex) in notification order.

    Only each event's recorded ``hash`` is decoded. With ``kept``, also say after which event the
    running head was ``kept``, which records have events after that, and which event records ``kept``
    as its own hash (a record's chain head in the earlier form of a kept head).
    """
    wanted = None if only is None else frozenset(only)
    decode_bytes = mapper.decode_raw_bytes if getattr(mapper, "cipher", None) or getattr(mapper, "compressor", None) else None
    head, events = GENESIS, 0
    decode, sha256 = _HASHED.decode, hashlib.sha256
    keys: dict[Any, str] = {}
    kept_after = 0 if kept == GENESIS else None
    kept_event: tuple[str, int] | None = None
    later: dict[str, list[int]] = {}
    start = 1
    while True:
        notifications = recorder.select_notifications(start, page)
        for note in notifications:
            originator = note.originator_id
            key = keys.get(originator)
            if key is None:
                key = keys[originator] = originator.hex if isinstance(originator, UUID) else str(originator).replace("-", "")
            if wanted is not None and key not in wanted:
                continue
            version = note.originator_version
            state = note.state
            try:  # _recorded_hash and link, inline: this loop runs once per stored event
                recorded = decode(state if decode_bytes is None else decode_bytes(state)).hash
            except (msgspec.DecodeError, ValueError, TypeError):
                recorded = _recorded_hash(state, decode_bytes)
            head = sha256(f"{head} {key} {version} {recorded}".encode()).hexdigest()
            events += 1
            if kept is not None:
                if kept_after is not None:
                    span = later.get(key)
                    if span is None:
                        later[key] = [version, version, 1]
                    else:
                        span[1] = version
                        span[2] += 1
                elif head == kept:
                    kept_after = events
                if kept_event is None and recorded == kept:
                    kept_event = (key, version)
        if len(notifications) < page:
            break
        start = notifications[-1].id + 1
    return HeadWalk(head=head, events=events, originators=frozenset(keys[o] for o in keys if wanted is None or keys[o] in wanted),
                    kept_after=kept_after, kept_event=kept_event,
                    later=tuple((key, first, last, count) for key, (first, last, count) in later.items()))


class AggregateReport(msgspec.Struct, frozen=True):
    """One record of the store (a tenant or a tenant's provisioning record) and what verifying its chain found."""

    name: str
    """``nordic-dental``, ``nordic-dental provisioning``, or the id of a record whose first event is missing."""
    report: ChainReport


class KeptHead(msgspec.Struct, frozen=True):
    """What a head kept earlier (``audit verify --expect-head``) is to the store as it is now."""

    head: str
    after: int | None = None
    """The kept head is the running head after this many events (0: before the first); None: it is none of them."""
    later: tuple[tuple[str, int, int, int], ...] = ()
    """Records with events recorded after it: (name, first version, last version, how many)."""
    earlier_form: str | None = None
    """Where it is a head printed by earlier code: ``"store"`` (the head over every record's chain head, which only
    an unchanged store matches), or the name of the record whose chain head it was (at ``earlier_version``)."""
    earlier_version: int | None = None

    @property
    def found(self) -> bool:
        """Whether the kept head belongs to this store's history, as it stands."""
        return self.after is not None or self.earlier_form is not None


class StoreReport(msgspec.Struct, frozen=True):
    """Every record of a store (or of one tenant), verified, and the running head over their events."""

    records: tuple[AggregateReport, ...]
    store_head: str
    """The running head after the last event (over one tenant's events with ``tenant``): keep it, and a later verify
    shows whether anything recorded up to now was removed, reordered or rewritten."""
    events: int = 0
    """How many events the head covers."""
    legacy_head: str = ""
    """The head in the form printed before the running head: SHA-256 over every record's id and chain head, sorted."""
    tenant: str | None = None
    kept: KeptHead | None = None

    @property
    def intact(self) -> bool:
        """Whether every record verified."""
        return all(record.report.intact for record in self.records)


def verify_store(app: Any, tenant: str | None = None, *, expect_head: str | None = None) -> StoreReport:
    """Verify every record of ``app``'s store (or one tenant and its provisioning record), and walk its head.

    Records are found from the stored rows, so a tenant whose first event was deleted is
    still verified and reported under its id. With ``expect_head`` (a head kept earlier),
    say what it is to the store as it is now (``StoreReport.kept``).
    """
    from core.aggregates.identifiers import tenant_id
    from core.aggregates.provisioning import provisioning_id

    names = {tenant_id(slug).hex: slug for slug in _created_slugs(app)}
    names.update({provisioning_id(slug).hex: f"{slug} provisioning" for slug in list(names.values())})
    from core.aggregates.tokens import access_record_id

    names[access_record_id().hex] = "access record"  # the service's tokens (core/aggregates/tokens.py)
    scope = None if tenant is None else {tenant_id(tenant).hex, provisioning_id(tenant).hex}
    # The head first: every event it covers is then in the chains verified below (events are only ever appended).
    walk = walk_heads(app.recorder, app.mapper, only=scope, kept=expect_head)
    if tenant is not None:  # named as asked, even if its creation cannot be read
        names.update({tenant_id(tenant).hex: tenant, provisioning_id(tenant).hex: f"{tenant} provisioning"})
    records = []
    for key in sorted(walk.originators, key=lambda k: names.get(k, "~" + k)):
        name = names.get(key)
        is_tenant = name is None or not name.endswith(" provisioning")
        report = verify_chain(app.recorder, app.mapper, UUID(key), app.snapshots if is_tenant else None)
        if name is None:
            first = report.first_break
            why = "its first event is missing" if first and first.version == 1 and first.problem == "missing" else \
                "no readable creation names it"
            name = f"aggregate {key} ({why})"
        records.append(AggregateReport(name=name, report=report))
    heads = sorted(f"{UUID(r.report.tenant_id).hex} {r.report.head}" for r in records)
    legacy = hashlib.sha256("\n".join(heads).encode()).hexdigest()
    kept = None if expect_head is None else _kept(expect_head, walk, records, legacy, tenant)
    return StoreReport(records=tuple(records), store_head=walk.head, events=walk.events, legacy_head=legacy, tenant=tenant,
                       kept=kept)


def _created_slugs(app: Any, page: int = 500) -> list[str]:
    """The slug of every tenant whose creation is stored and readable (``list_tenants``, but an unreadable creation is
    skipped: its record is then named by its id, and its chain check says what is wrong with it)."""
    from core.aggregates.tenant import TenantCreated

    slugs: list[str] = []
    start = 1
    while True:
        notifications = app.recorder.select_notifications(start, page, topics=[TenantCreated.TOPIC])
        for notification in notifications:
            try:
                slug = app.mapper.decode_raw(notification.state)["slug"]
            except (msgspec.DecodeError, KeyError, TypeError, ValueError, AttributeError):
                continue
            if isinstance(slug, str):
                slugs.append(slug)
        if len(notifications) < page:
            return slugs
        start = notifications[-1].id + 1


def _kept(head: str, walk: HeadWalk, records: list[AggregateReport], legacy: str, tenant: str | None) -> KeptHead:
    names = {UUID(r.report.tenant_id).hex: r.name for r in records}

    def name(key: str) -> str:
        return names.get(key, f"aggregate {key}")

    if walk.kept_after is not None:
        later = tuple((name(key), first, last, count) for key, first, last, count in walk.later)
        return KeptHead(head=head, after=walk.kept_after, later=later)
    intact = all(r.report.intact for r in records)
    if tenant is None and head == legacy and intact and records:
        return KeptHead(head=head, earlier_form="store")
    if walk.kept_event is not None:
        key, version = walk.kept_event
        report = next((r.report for r in records if UUID(r.report.tenant_id).hex == key), None)
        if report is not None and (report.first_break is None or report.first_break.version > version):
            return KeptHead(head=head, earlier_form=name(key), earlier_version=version)
    return KeptHead(head=head)
