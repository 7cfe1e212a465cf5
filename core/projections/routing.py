"""Desired and effective routing tables, pending changes and their deadlines, built from the event log.

The projection reads the application's notification log from its tracked position
(pull-style: the SQLite recorder has no push subscription), keeps per tenant the
timeline of changes (version, instant, actor, reason), the PBX's confirmations and
the provider policies, and materialises the routing table of every confirmed
version. Each batch is committed to a ``ProjectionStore`` together with the new
position, so a restart resumes exactly where the last commit ended: no event is
processed twice or skipped. A rebuild from position 0 gives the same tables.

- desired table at t: the table at the tenant's latest version made by t;
- effective table at t: the table at the highest version the PBX confirmed by t;
- pending at t: versions made by t and not yet confirmed by t, each with its deadline
  under the provider policy in force when it was made; overdue when past it.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from datetime import datetime
from functools import cache
from typing import Any, Protocol
from uuid import UUID

import msgspec
from eventsourcing.utils import resolve_topic

from core.aggregates.chained import replay
from core.aggregates.tenant import TenantCreated, TenantEvent
from core.aggregates.identifiers import tenant_id
from core.aggregates.provisioning import (
    Confirmation,
    ProviderPolicy,
    ProviderPolicySet,
    ProvisioningConfirmed,
    ProvisioningEvent,
    ProvisioningOpened,
)
from core.aggregates.tenant import Tenant
from core.errors import UnknownTenantError
from core.projections.deadlines import deadline
from core.projections.table import RoutingTable, compile_table


class _ChangeMeta(msgspec.Struct):
    timestamp: datetime
    actor: str
    partner: str | None = None
    reason: str | None = None
    slug: str | None = None


_META = msgspec.json.Decoder(_ChangeMeta)
_AFFECTS_ALL_USERS = frozenset({"TenantDefaultSet", "TenantCreated"})
"""Events that change every user's resolved rules; others change at most the user they name."""
_CREATED = TenantCreated
_TABLE_ENCODER = msgspec.msgpack.Encoder()
_TABLE_DECODER = msgspec.msgpack.Decoder(RoutingTable)


class ChangeRecord(msgspec.Struct, frozen=True):
    """One configuration change of a tenant."""

    version: int
    at: datetime
    topic: str
    actor: str
    partner: str | None = None
    reason: str | None = None


class PolicyRecord(msgspec.Struct, frozen=True):
    """A provider policy and the instant it took effect."""

    at: datetime
    policy: ProviderPolicy


class PendingChange(msgspec.Struct, frozen=True):
    """A change not yet confirmed live, its deadline, and whether that has passed."""

    version: int
    at: datetime
    topic: str
    actor: str
    reason: str | None
    deadline: datetime
    overdue: bool


class ProjectionBatch(msgspec.Struct):
    """What one catch-up step adds, committed atomically with the new position."""

    position: int
    tenants: dict[str, str] = {}
    """Aggregate id (hex) → tenant slug, for tenants and provisioning records first seen."""
    changes: list[tuple[str, ChangeRecord]] = []
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
        self.loaded.changes.extend(batch.changes)
        self.loaded.confirmations.extend(batch.confirmations)
        self.loaded.policies.extend(batch.policies)
        for slug, version, blob in batch.tables:
            self.tables[(slug, version)] = blob
        self.loaded.position = batch.position

    def table(self, slug: str, version: int) -> bytes | None:
        return self.tables.get((slug, version))


class Timeline:
    """One tenant's changes, confirmations and policies, indexed for look-ups by instant."""

    def __init__(self, slug: str) -> None:
        self.slug = slug
        self.changes: list[ChangeRecord] = []
        self.change_times: list[datetime] = []
        self.confirmations: list[Confirmation] = []
        self.confirmation_times: list[datetime] = []
        self.policies: list[PolicyRecord] = []

    def add_change(self, change: ChangeRecord) -> None:
        self.changes.append(change)
        self.change_times.append(change.at)

    def add_confirmation(self, confirmation: Confirmation) -> None:
        self.confirmations.append(confirmation)
        self.confirmation_times.append(confirmation.applied_at)

    def desired_version(self, at: datetime | None) -> int:
        """The latest version made by ``at`` (0: the tenant did not exist yet)."""
        if at is None:
            return self.changes[-1].version if self.changes else 0
        index = bisect.bisect_right(self.change_times, at)
        return self.changes[index - 1].version if index else 0

    def effective_version(self, at: datetime) -> int:
        """The highest version confirmed live by ``at`` (0: nothing confirmed yet)."""
        index = bisect.bisect_right(self.confirmation_times, at)
        return self.confirmations[index - 1].version if index else 0

    def policy_at(self, at: datetime) -> ProviderPolicy:
        """The provider policy in force at ``at``."""
        index = bisect.bisect_right([p.at for p in self.policies], at)
        return self.policies[index - 1].policy if index else ProviderPolicy()

    def pending(self, at: datetime) -> list[PendingChange]:
        """Changes made by ``at`` and not confirmed by ``at``, with their deadlines."""
        live = self.effective_version(at)
        made = bisect.bisect_right(self.change_times, at)
        out = []
        for change in self.changes[live:made]:
            due = deadline(change.at, self.policy_at(change.at))
            out.append(PendingChange(version=change.version, at=change.at, topic=change.topic, actor=change.actor,
                                     reason=change.reason, deadline=due, overdue=due < at))
        return out


class RoutingProjection:
    """Routing tables and provisioning timelines of every tenant, kept up to date from the event log."""

    def __init__(self, app: Any, store: ProjectionStore) -> None:
        self.app = app
        self.store = store
        loaded = store.load()
        self.position = loaded.position
        self.slugs: dict[str, str] = dict(loaded.tenants)
        self.timelines: dict[str, Timeline] = {}
        for slug, change in loaded.changes:
            self._timeline(slug).add_change(change)
        for slug, confirmation in loaded.confirmations:
            self._timeline(slug).add_confirmation(confirmation)
        for slug, policy in loaded.policies:
            self._timeline(slug).policies.append(policy)
        self._live: dict[str, Tenant] = {}
        self._backlog: dict[str, list[Any]] = {}
        # The last table compiled from the live tenant, and the users changed since (None: unknown, compile all).
        self._compiled: dict[str, RoutingTable] = {}
        self._changed: dict[str, set[str] | None] = {}
        self._tables: dict[tuple[str, int], RoutingTable] = {}

    def _timeline(self, slug: str) -> Timeline:
        timeline = self.timelines.get(slug)
        if timeline is None:
            timeline = self.timelines[slug] = Timeline(slug)
        return timeline

    # -- building ---------------------------------------------------------------------------

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
        mapper = self.app.mapper
        for notification in notifications:
            key = _hex(notification.originator_id)
            cls = _event_class(notification.topic)
            if issubclass(cls, TenantEvent):
                # Only the change's metadata is read now; the event itself is applied
                # when a table at or after its version is needed.
                meta = _META.decode(mapper.decode_raw_bytes(notification.state))
                if cls is _CREATED:
                    self.slugs[key] = batch.tenants[key] = meta.slug  # type: ignore[assignment]
                slug = self.slugs[key]
                change = ChangeRecord(version=notification.originator_version, at=meta.timestamp, topic=notification.topic,
                                      actor=meta.actor, partner=meta.partner, reason=meta.reason)
                self._timeline(slug).add_change(change)
                self._backlog.setdefault(slug, []).append(notification)
                batch.changes.append((slug, change))
            elif issubclass(cls, ProvisioningEvent):
                event = mapper.to_domain_event(notification)
                if isinstance(event, ProvisioningOpened):
                    self.slugs[key] = batch.tenants[key] = event.slug
                slug = self.slugs[key]
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
        backlog = self._backlog.get(slug, [])
        first = backlog[0].originator_version if backlog else None
        repository = self.app.repository
        if first is not None and first <= version:
            if live is None or live.version != first - 1:
                # Events before the backlog were processed before a restart: load them.
                live = None if first == 1 else repository.get(tenant_id(slug), version=first - 1)
                self._changed[slug] = None
            mapper = self.app.mapper
            changed = self._changed.get(slug)
            applied = 0
            for notification in backlog:
                if notification.originator_version > version:
                    break
                event = mapper.to_domain_event(notification)
                live = replay(event, live)
                applied += 1
                if changed is not None:
                    extension = event.__dict__.get("extension")
                    if extension is not None:
                        changed.add(extension)
                    elif type(event).__name__ in _AFFECTS_ALL_USERS:
                        changed = self._changed[slug] = None
            del backlog[:applied]
        elif live is None or live.version != version:
            live = repository.get(tenant_id(slug), version=version)
            self._changed[slug] = None
        self._live[slug] = live  # type: ignore[assignment]
        return live

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
                previous, changed = self._compiled.get(slug), self._changed.get(slug)
                table = compile_table(live.state, version, previous=previous, changed_users=changed)
                self._compiled[slug], self._changed[slug] = table, set()
        self._tables[(slug, version)] = table
        return table

    # -- queries ------------------------------------------------------------------------------

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


@cache
def _event_class(topic: str) -> type:
    return resolve_topic(topic)


def _hex(originator_id: Any) -> str:
    return originator_id.hex if isinstance(originator_id, UUID) else str(originator_id)
