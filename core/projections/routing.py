"""Desired and effective routing tables, pending changes and their deadlines, built from the event log.

The projection reads the application's notification log from its tracked position
(pull-style: the SQLite recorder has no push subscription), keeps per tenant the
timeline of changes (version, instant, actor, reason), the PBX's confirmations and
the provider policies (``timeline.py``), and materialises the routing table of every
confirmed version. Each batch is committed to a ``ProjectionStore`` (``store.py``)
together with the new position, so a restart resumes exactly where the last commit
ended: no event is processed twice or skipped. A rebuild from position 0 gives the
same tables.

Each event is decoded once, when it is read (``reader.py``, into its stored fields):
its metadata goes to the timeline, and the fields wait in the tenant's backlog
(``backlog.py``) until a table at or after its version is needed; then the events are
applied to the tenant kept live here, but those a later one overwrites (``coalesce.py``),
and the table is compiled from the previous one, recompiling only the users changed
since. (A backlog past ``_DECODED_BACKLOG`` events keeps stored bytes instead, decoded
when applied.)

Every event read at catch-up is checked as it is read (``core/integrity.py``): its recorded
hash against its stored content, its version (the next of its record) and its link to the one
before. Rows read back from the projection's store were derived by another process and are
checked against the events before they are served (``StoredRows``, ``stored_rows.py``): the change records a
look-up or ``pending`` uses, the tenant's last change (the store must still hold it: a deleted
tail), the confirmations and policies (against the provisioning record's events), and a stored
table (against the table compiled from the tenant at its version). Disagreement raises
``StoreIntegrityError`` naming the row.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import cache
from hashlib import sha256
from typing import Any
from uuid import UUID

import msgspec
from eventsourcing.utils import resolve_topic

from core.aggregates.chain import GENESIS, event_hash
from core.aggregates.identifiers import tenant_id
from core.aggregates.provisioning import (
    Confirmation,
    ProviderPolicySet,
    ProvisioningConfirmed,
    ProvisioningEvent,
    ProvisioningOpened,
)
from core.aggregates.tenant import Tenant, TenantCreated, TenantEvent
from core.errors import StoreIntegrityError, UnknownTenantError
from core.integrity import altered, checked_raw, gap, named, unlinked
from core.lenient import decode_stored
from core.projections.backlog import Backlog, Unread
from core.projections.coalesce import SLOTS
from core.projections.reader import EventReader
from core.projections.store import ProjectionBatch, ProjectionStore
from core.projections.stored_rows import StoredRows, _ChangeMeta
from core.projections.timeline import ChangeRecord, PendingChange, PolicyRecord, Timeline
from core.routing import RoutingTable, compile_table

_TABLE_ENCODER = msgspec.msgpack.Encoder()
_HASH_ENCODER = msgspec.json.Encoder(order="sorted")
"""``core.aggregates.chain.event_hash``'s encoding, used inline where every event of the store is hashed."""
_TENANT, _PROVISIONING = 1, 2
_DECODED_BACKLOG = 2000
"""Unconfirmed events of a tenant kept decoded (their stored fields: about 0.6 KB for a divert). A tenant
confirmed now and then stays under it and each of its events is decoded once; past it only the metadata is
read at once and the stored bytes are kept (about 0.9 KB), so a tenant that is never confirmed costs no more."""

_META = msgspec.json.Decoder(_ChangeMeta)


@cache
def _table_decoder() -> msgspec.msgpack.Decoder[RoutingTable]:
    """Made when a stored table is first read (~3 ms for the whole table type): a run that only compiles does without."""
    return msgspec.msgpack.Decoder(RoutingTable)


class RoutingProjection:
    """Routing tables and provisioning timelines of every tenant, kept up to date from the event log."""

    def __init__(self, app: Any, store: ProjectionStore) -> None:
        self.app = app
        self.store = store
        self._reader = EventReader(app.mapper)
        loaded = store.load()
        self.position = loaded.position
        self.slugs: dict[str, str] = dict(loaded.tenants)
        self._slug_by_id: dict[Any, str] = {}
        self.timelines: dict[str, Timeline] = {}
        for slug, change in loaded.changes:
            self._timeline(slug).add_change(change)
        for slug, confirmation in loaded.confirmations:
            self._timeline(slug).add_confirmation(confirmation)
        for slug, policy in loaded.policies:
            self._timeline(slug).policies.append(policy)
        self._live: dict[str, Tenant] = {}
        self._backlog: dict[str, Backlog] = {}
        # The last table compiled from the live tenant with the users it was compiled from, and the users changed
        # since (None: unknown, compile all).
        self._compiled: dict[str, tuple[RoutingTable, dict[str, Any]]] = {}
        self._changed: dict[str, set[str] | None] = {}
        self._tables: dict[tuple[str, int], RoutingTable] = {}
        self._kinds: dict[str, tuple[int, Any]] = {}
        self._ids: dict[str, Any] = {}
        self._slot_fns: dict[type, Any] = {}
        self._slot_classes = 0
        self._rules_compiled = 0
        mapper = app.mapper
        self._raw = mapper.decode_raw if mapper.cipher or mapper.compressor else msgspec.json.Decoder().decode
        self._chains: dict[Any, list[Any]] = {}
        """Aggregate id → [version, recorded hash, id text] of its last event read at catch-up (``_check_link``)."""
        for slug, timeline in self.timelines.items():
            timeline.checker = StoredRows(self, slug)
            timeline.stored_changes = len(timeline.changes)
            timeline.stored_provisioning = bool(timeline.confirmations or timeline.policies)

    def _timeline(self, slug: str) -> Timeline:
        timeline = self.timelines.get(slug)
        if timeline is None:
            timeline = self.timelines[slug] = Timeline(slug)
        return timeline

    def catch_up(self, *, batch_size: int = 1000, max_batches: int | None = None) -> int:
        """Process every new notification (or ``max_batches`` batches of them); return how many."""
        processed = 0
        batches = 0
        while max_batches is None or batches < max_batches:
            notifications = self.app.recorder.select_notifications(self.position + 1, batch_size)
            if not notifications:
                break
            batch = ProjectionBatch(position=notifications[-1].id)
            try:
                self._process(notifications, batch)
            except StoreIntegrityError as exc:
                raise named(exc, self.record_name) from None
            self.store.commit(self.position, batch)
            self.position = batch.position
            processed += len(notifications)
            batches += 1
        return processed

    def _process(self, notifications: Iterable[Any], batch: ProjectionBatch) -> None:
        fields_of, kinds, raw_of, digest = self._reader.fields, self._kinds, self._raw, _HASH_ENCODER.encode
        # Aggregate id → its backlog, this batch's changes and where its chain stands (``_chain_of``).
        lanes: dict[Any, tuple[Backlog, list[ChangeRecord], list[Any]]] = {}
        for notification in notifications:
            topic = notification.topic
            kind, decode = kinds.get(topic) or self._kind(topic)
            if kind == _TENANT:
                backlog, changes, chain = lanes.get(notification.originator_id) or self._lane(notification, batch, lanes)
                # The change is recorded now; the event waits in the backlog until a table at or after it is needed.
                items = backlog.items
                if len(items) < _DECODED_BACKLOG:
                    try:  # decoded once: its metadata now, the event itself later
                        meta = fields_of(notification) if decode is None else decode(notification.state)
                    except msgspec.DecodeError:
                        meta = fields_of(notification)  # the mapper's error names the stored event
                    items.append(meta)
                else:
                    meta = self._metadata(notification)
                    items.append(Unread(notification))
                # The event's chain (``_check_link``, inline: this runs for every event of the store).
                raw, version = raw_of(notification.state), notification.originator_version
                recorded = raw.pop("hash", None)
                if (sha256(digest({"topic": topic, "id": chain[2], "version": version, "state": raw})).hexdigest() != recorded
                        or version != chain[0] + 1 or raw.get("prev_hash") != chain[1]):
                    self._check_link(notification, chain)  # raises, saying which
                chain[0], chain[1] = version, recorded
                changes.append(ChangeRecord(notification.originator_version, meta.timestamp, topic, meta.actor, meta.partner,
                                            meta.reason))
            elif kind == _PROVISIONING:
                event = self._reader.decode(notification)
                self._check_link(notification, self._chains.get(notification.originator_id) or self._chain_of(notification))
                slug = self._slug_by_id.get(notification.originator_id) or self._slug(
                    notification.originator_id, event.slug if isinstance(event, ProvisioningOpened) else None, batch)
                self._provisioning(slug, event, batch)
        for slug, changes in batch.changes.items():
            self._timeline(slug).add_changes(changes)

    def _check_link(self, notification: Any, chain: list[Any]) -> None:
        """Check an event read at catch-up: its hash against its content, the next version of its record, linked to the last."""
        originator_id, version = notification.originator_id, notification.originator_version
        raw = self._raw(notification.state)
        recorded = raw.pop("hash", None)
        if recorded is None or event_hash(notification.topic, chain[2], version, raw) != recorded:
            raise altered(originator_id, version, notification.topic)
        if version != chain[0] + 1:
            raise gap(originator_id, chain[0] + 1, version)
        if raw.get("prev_hash") != chain[1]:
            raise unlinked(originator_id, version, notification.topic)
        chain[0], chain[1] = version, recorded

    def _chain_of(self, notification: Any) -> list[Any]:
        """Where the record of ``notification`` stands before it: from its stored event before, met first in this run."""
        originator_id, version = notification.originator_id, notification.originator_version
        chain = self._chains[originator_id] = [0, GENESIS, str(originator_id)]
        if version > 1:
            rows = self.app.recorder.select_events(originator_id, gt=version - 2, lte=version - 1)
            if not rows:
                raise gap(originator_id, version - 1, version)
            chain[0], chain[1] = version - 1, checked_raw(self.app.mapper, rows[0], chain[2])[1]
        return chain

    def record_name(self, originator_id: Any) -> str:
        """``tenant nordic-dental`` or ``the provisioning record of nordic-dental``, as the application names it."""
        slug = self.slugs.get(_hex(originator_id))
        if slug is not None:
            return f"tenant {slug}" if tenant_id(slug) == originator_id else f"the provisioning record of {slug}"
        return self.app.record_name(originator_id)

    def _kind(self, topic: str) -> tuple[int, Any]:
        """Whether ``topic`` is a tenant's or a provisioning record's event, and the typed decoder of its stored bytes."""
        cls = resolve_topic(topic)
        kind = _TENANT if issubclass(cls, TenantEvent) else _PROVISIONING if issubclass(cls, ProvisioningEvent) else 0
        found = self._kinds[topic] = (kind, self._reader.typed_decode(topic))
        return found

    def _lane(self, notification: Any, batch: ProjectionBatch,
              lanes: dict[Any, Any]) -> tuple[Backlog, list[ChangeRecord], list[Any]]:
        """The backlog, the batch's change list and the chain of the tenant of ``notification``, met first in this batch."""
        originator_id = notification.originator_id
        chain = self._chains.get(originator_id) or self._chain_of(notification)
        slug = self._slug_by_id.get(originator_id) or self._first_seen(notification, batch)
        self._ids[slug] = originator_id
        backlog = self._backlog.get(slug)
        if backlog is None:
            backlog = self._backlog[slug] = Backlog(first=notification.originator_version)
        lane = lanes[originator_id] = (backlog, batch.changes.setdefault(slug, []), chain)
        return lane

    def _metadata(self, notification: Any) -> _ChangeMeta:
        return _META.decode(self.app.mapper.decode_raw_bytes(notification.state))

    def _first_seen(self, notification: Any, batch: ProjectionBatch) -> str:
        created = self._metadata(notification).slug if notification.topic == TenantCreated.TOPIC else None
        return self._slug(notification.originator_id, created, batch)

    def _slug(self, originator_id: Any, created: str | None, batch: ProjectionBatch) -> str:
        """The tenant slug of an aggregate first met in this run (then looked up by the id object itself)."""
        key = _hex(originator_id)
        if created is not None:  # its first event names it
            self.slugs[key] = batch.tenants[key] = created
        if key not in self.slugs:  # its first event, which names it, is not stored (and its chain was checked from there)
            raise gap(originator_id, 1, None)
        slug = self._slug_by_id[originator_id] = self.slugs[key]
        return slug

    def _provisioning(self, slug: str, event: Any, batch: ProjectionBatch) -> None:
        if isinstance(event, ProviderPolicySet):
            record = PolicyRecord(at=event.timestamp, policy=event.policy)
            self._timeline(slug).policies.append(record)
            batch.policies.append((slug, record))
        elif isinstance(event, ProvisioningConfirmed):
            confirmation = Confirmation(version=event.version, applied_at=event.applied_at)
            self._timeline(slug).add_confirmation(confirmation)
            batch.confirmations.append((slug, confirmation))
            table = self._table_at(slug, event.version)
            batch.tables.append((slug, event.version, _TABLE_ENCODER.encode(table)))

    def _advance(self, slug: str, version: int) -> Tenant | None:
        """The live tenant brought to ``version`` (from the backlog where it can), or ``None`` if it is past it."""
        live = self._live.get(slug)
        if live is not None and live.version > version:
            return None
        backlog = self._backlog.get(slug)
        first = backlog.first if backlog is not None and backlog.items else None
        if backlog is not None and first is not None and first <= version:
            if live is None or live.version != first - 1:
                # Events before the backlog were processed before a restart: load them.
                live = None if first == 1 else self.app.repository.get(tenant_id(slug), version=first - 1)
                self._changed[slug] = None
            live, self._changed[slug] = backlog.apply(live, version, self._reader, self._ids[slug], self._slots(),
                                                      self._changed.get(slug))
        elif live is None or live.version != version:
            live = self.app.repository.get(tenant_id(slug), version=version)
            self._changed[slug] = None
        self._live[slug] = live  # type: ignore[assignment]
        return live

    def _slots(self) -> dict[type, Any]:
        """Stored-fields type → the slots function of the events that only assign settings (``coalesce.py``)."""
        classes = self._reader.classes
        if self._slot_classes != len(classes):
            self._slot_fns = {fields: SLOTS[cls.TOPIC] for fields, cls in classes.items() if cls.__dict__.get("TOPIC") in SLOTS}
            self._slot_classes = len(classes)
        return self._slot_fns

    def _table_at(self, slug: str, version: int) -> RoutingTable:
        cached = self._tables.get((slug, version))
        if cached is not None:
            return cached
        blob = self.store.table(slug, version)
        if blob is not None:
            # Compiled and stored by another run: served only if it is the table the tenant's events give at that version.
            table = compile_table(self._tenant_at(slug, version).state, version)
            try:
                stored = decode_stored(_table_decoder(), blob)  # as the events it was compiled from: stored values
            except msgspec.DecodeError as exc:
                raise StoreIntegrityError(f"the routing projection's table of {slug}", version, f"cannot be read ({exc})") from None
            if stored != table:
                raise StoreIntegrityError(f"the routing projection's table of {slug}", version,
                                          "differs from the table compiled from the tenant's events at that version")
        else:
            live = self._advance(slug, version)
            if live is None or live.version != version:
                table = compile_table(self.app.repository.get(tenant_id(slug), version=version).state, version)
            else:
                table = self._compile(slug, live.state, version)
        self._tables[(slug, version)] = table
        return table

    def _tenant_at(self, slug: str, version: int) -> Tenant:
        """The tenant at ``version``, loaded (and checked) from the store; a version the store does not hold is a deleted tail."""
        tenant = self.app.repository.get(tenant_id(slug), version=version)
        if tenant.version != version:
            raise StoreIntegrityError(f"tenant {slug}", version, f"the projection has version {version}, the store ends at "
                                                                f"version {tenant.version}: events were deleted")
        return tenant

    def _compile(self, slug: str, state: Any, version: int) -> RoutingTable:
        """The table of the live tenant, compiled from the last one: again only for users whose settings differ from then."""
        previous, changed, users = self._compiled.get(slug), self._changed.get(slug), state.users
        if previous is not None and changed is not None:
            before = previous[1]
            changed = {extension for extension in changed if users.get(extension) != before.get(extension)}
        table = compile_table(state, version, previous=previous[0] if previous else None, changed_users=changed)
        self._rules_compiled += len(users) if changed is None or previous is None else len(changed)
        self._compiled[slug], self._changed[slug] = (table, dict(users)), set()
        return table

    def work(self) -> dict[str, int]:
        """What this projection did since it started: events applied to its live tenants, events left out
        (overwritten before a table needed them), and user rules compiled for tables."""
        backlogs = self._backlog.values()
        return {"events_applied": sum(b.applied for b in backlogs), "events_left_out": sum(b.left_out for b in backlogs),
                "user_rules_compiled": self._rules_compiled}

    def timeline(self, slug: str) -> Timeline:
        """The tenant's timeline, or ``UnknownTenantError``; its last change checked against the store first, if read from it."""
        timeline = self.timelines.get(slug)
        if timeline is None or not timeline.changes:
            raise UnknownTenantError(f"no tenant {slug!r}", field="tenant")
        if timeline.checker is not None and not timeline.checker.last_checked:
            timeline.checker.last()
        return timeline

    def desired(self, slug: str, at: datetime | None = None) -> RoutingTable | None:
        """The desired table now, or as it was at ``at`` (``None``: the tenant did not exist yet)."""
        version = self.timeline(slug).desired_version(at)
        return self._table_at(slug, version) if version else None

    def effective(self, slug: str, at: datetime) -> RoutingTable | None:
        """The table live on the PBX at ``at`` (``None``: nothing confirmed by then)."""
        version = self.timeline(slug).effective_version(at)
        return self._table_at(slug, version) if version else None

    def pending(self, slug: str, at: datetime) -> list[PendingChange]:
        """Changes made by ``at`` that were not live at ``at``, with deadlines."""
        return self.timeline(slug).pending(at)


def _hex(originator_id: Any) -> str:
    return originator_id.hex if isinstance(originator_id, UUID) else str(originator_id)
