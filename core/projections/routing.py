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
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from eventsourcing.utils import resolve_topic

from core.aggregates.identifiers import tenant_id
from core.aggregates.provisioning import (
    Confirmation,
    ProviderPolicySet,
    ProvisioningConfirmed,
    ProvisioningEvent,
    ProvisioningOpened,
)
from core.aggregates.tenant import Tenant, TenantCreated, TenantEvent
from core.errors import UnknownTenantError
from core.projections.backlog import Backlog, Unread
from core.projections.coalesce import SLOTS
from core.projections.reader import EventReader
from core.projections.store import ProjectionBatch, ProjectionStore
from core.projections.timeline import ChangeRecord, PendingChange, PolicyRecord, Timeline
from core.routing import RoutingTable, compile_table

_TABLE_ENCODER = msgspec.msgpack.Encoder()
_TABLE_DECODER = msgspec.msgpack.Decoder(RoutingTable)
_TENANT, _PROVISIONING = 1, 2
_DECODED_BACKLOG = 2000
"""Unconfirmed events of a tenant kept decoded (their stored fields: about 0.6 KB for a divert). A tenant
confirmed now and then stays under it and each of its events is decoded once; past it only the metadata is
read at once and the stored bytes are kept (about 0.9 KB), so a tenant that is never confirmed costs no more."""


class _ChangeMeta(msgspec.Struct):
    """What the timeline needs of a change, read without decoding the rest of the event."""

    timestamp: datetime
    actor: str
    partner: str | None = None
    reason: str | None = None
    slug: str | None = None


_META = msgspec.json.Decoder(_ChangeMeta)


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
            self._process(notifications, batch)
            self.store.commit(self.position, batch)
            self.position = batch.position
            processed += len(notifications)
            batches += 1
        return processed

    def _process(self, notifications: Iterable[Any], batch: ProjectionBatch) -> None:
        fields_of, kinds = self._reader.fields, self._kinds
        lanes: dict[Any, tuple[Backlog, list[ChangeRecord]]] = {}  # aggregate id → its backlog and this batch's changes
        for notification in notifications:
            topic = notification.topic
            kind, decode = kinds.get(topic) or self._kind(topic)
            if kind == _TENANT:
                backlog, changes = lanes.get(notification.originator_id) or self._lane(notification, batch, lanes)
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
                changes.append(ChangeRecord(notification.originator_version, meta.timestamp, topic, meta.actor, meta.partner,
                                            meta.reason))
            elif kind == _PROVISIONING:
                event = self._reader.decode(notification)
                slug = self._slug_by_id.get(notification.originator_id) or self._slug(
                    notification.originator_id, event.slug if isinstance(event, ProvisioningOpened) else None, batch)
                self._provisioning(slug, event, batch)
        for slug, changes in batch.changes.items():
            self._timeline(slug).add_changes(changes)

    def _kind(self, topic: str) -> tuple[int, Any]:
        """Whether ``topic`` is a tenant's or a provisioning record's event, and the typed decoder of its stored bytes."""
        cls = resolve_topic(topic)
        kind = _TENANT if issubclass(cls, TenantEvent) else _PROVISIONING if issubclass(cls, ProvisioningEvent) else 0
        found = self._kinds[topic] = (kind, self._reader.typed_decode(topic))
        return found

    def _lane(self, notification: Any, batch: ProjectionBatch, lanes: dict[Any, Any]) -> tuple[Backlog, list[ChangeRecord]]:
        """The backlog and the batch's change list of the tenant of ``notification``, met first in this batch."""
        originator_id = notification.originator_id
        slug = self._slug_by_id.get(originator_id) or self._first_seen(notification, batch)
        self._ids[slug] = originator_id
        backlog = self._backlog.get(slug)
        if backlog is None:
            backlog = self._backlog[slug] = Backlog(first=notification.originator_version)
        lane = lanes[originator_id] = (backlog, batch.changes.setdefault(slug, []))
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
            table = _TABLE_DECODER.decode(blob)
        else:
            live = self._advance(slug, version)
            if live is None or live.version != version:
                table = compile_table(self.app.repository.get(tenant_id(slug), version=version).state, version)
            else:
                table = self._compile(slug, live.state, version)
        self._tables[(slug, version)] = table
        return table

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
        """The tenant's timeline, or ``UnknownTenantError``."""
        timeline = self.timelines.get(slug)
        if timeline is None or not timeline.changes:
            raise UnknownTenantError(f"no tenant {slug!r}", field="tenant")
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
