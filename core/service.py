"""The application service: commands in, events stored, views out.

``CallrouteApp.execute`` applies a list of commands all-or-nothing: every command is
re-validated against the shared schema, applied to its tenant in memory, and only
when all succeed are all their events saved in one transaction. The app has one typed
method per command (``app.set_divert(tenant=..., ...)``, generated into ``core/api/``)
that does the same for one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent, Repository
from eventsourcing.persistence import IntegrityError, Mapper, Notification, Recording

from core import commands as c
from core.aggregates.access import Action, check_access, may, not_visible
from core.aggregates.chained import EarlyInstantError
from core.aggregates.context import Actor, CommandContext
from core.aggregates.identifiers import tenant_id
from core.aggregates.provisioning import Provisioning, provisioning_id
from core.aggregates.rules import PbxDirectory
from core.aggregates.commanding import PinHasher, Receipt
from core.aggregates.tenant import Tenant, TenantSnapshot
from core.api import CommandMethods
from core.clock import Clock
from core.codec import MsgspecMapper
from core.integrity import CheckedRepository, broken
from core.errors import (
    AlreadyExistsError,
    DomainError,
    PermissionDeniedError,
    UnknownExtensionError,
    UnknownTenantError,
)
from core.linked_members import recheck_linking_tenants
from core.logger import logger
from core.queries import TenantView, UserView, tenant_view, user_view
from core.rejections import CommandRejected, _check_actor_and_reason, _unreadable
from core.writers import _FIRST_TRY, EventWriter, _outlasted, _Retry

# Re-validating a command by a typed msgpack round trip costs ~1 us;
# msgspec.convert(to_builtins(...)) on the union costs ~23 us.
_COMMAND_ENCODER = msgspec.msgpack.Encoder()
_COMMAND_DECODER = msgspec.msgpack.Decoder(c.Command)
_USER_COMMANDS = (c.AddUser, c.RemoveUser)


class CallrouteApp(CommandMethods, Application):
    """Tenants' configuration ledger on an eventsourcing store (SQLite by default)."""

    name = "callroute"
    env = {  # noqa: RUF012 - eventsourcing reads this class attribute
        "AGGREGATE_CACHE_MAXSIZE": "256",
        # Commands validate before they trigger an event, and a failed batch evicts
        # what it touched, so the cache can hand out the object itself: a deep copy
        # of a 1,000-user tenant per command would dominate command latency.
        "DEEPCOPY_FROM_AGGREGATE_CACHE": "n",
        # No fast-forward query before every command: a cached tenant that another
        # process has moved on fails to save with a version clash, or is refused on
        # its stale state (``_stale`` checks, only then), and execute() then evicts
        # it and runs the batch once more on the fresh state. Reads check the stored
        # version before serving a cached aggregate (``_current``).
        "AGGREGATE_CACHE_FASTFORWARD": "n",
    }
    snapshotting_intervals = {Tenant: 500}  # noqa: RUF012

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        clock: Clock,
        pin_hasher: PinHasher,
        pbx_directory: PbxDirectory | None = None,
        event_writer: EventWriter | None = None,
        directory: Callable[[CallrouteApp], PbxDirectory] | None = None,
    ) -> None:
        self.clock = clock
        self.pin_hasher = pin_hasher
        self.pbx_directory = pbx_directory
        self.event_writer = event_writer
        super().__init__(env)
        if directory is not None:  # a directory that reads this application's own tenants
            self.pbx_directory = directory(self)

    def construct_env(self, name: str, env: Any = None) -> Any:
        """The library's environment, under the name ``callroute`` for every subclass too: on PostgreSQL the tables are
        named after it (``callroute_events``, ``callroute_snapshots``), so a subclass (tests, benchmarks) opens the same
        store."""
        return super().construct_env(CallrouteApp.name, env)

    def construct_mapper(self) -> Mapper:
        return MsgspecMapper(compressor=self.factory.compressor(), cipher=self.factory.cipher())

    def construct_repository(self) -> Repository:  # type: ignore[type-arg]
        """The library's repository, checking each load as it reads it (``core/integrity.py``); errors name the record."""
        return CheckedRepository.wrapping(super().construct_repository(), self.record_name)

    def record_name(self, originator_id: Any) -> str:
        """``tenant nordic-dental``, ``the provisioning record of nordic-dental``, or ``record <id>`` for one of neither."""
        key = originator_id.hex if isinstance(originator_id, UUID) else str(originator_id).replace("-", "")
        for slug in self.list_tenants():
            if tenant_id(slug).hex == key:
                return f"tenant {slug}"
            if provisioning_id(slug).hex == key:
                return f"the provisioning record of {slug}"
        from core.aggregates.tokens import access_record_id

        if access_record_id().hex == key:
            return "the access record (the service's tokens)"
        return f"record {key} (its first event is missing)"


    max_attempts = 8
    """How often ``execute`` tries a batch on a tenant that other writers keep changing (see ``execute``)."""

    def execute(
        self, commands: Sequence[Any], actor: Actor, *, reason: str | None = None, at: datetime | None = None
    ) -> Receipt:
        """Apply ``commands`` all-or-nothing as ``actor``; raise ``CommandRejected`` naming the first bad one.

        The batch is dated ``at``, else by a clock reading taken afresh on every attempt. An attempt is run again, up
        to ``max_attempts`` in all, when another writer got in first: it saved a tenant of the batch after the batch
        loaded it (a version clash), or, with the instant from the clock, stored a change dated after the reading
        (or this clock is behind the clock of the writer of the tenant's last change). Each retry is logged as
        ``commands.retried`` and runs inside the event writer's ``retrying(lost)`` context, if it has one (a
        ``RetryingEventWriter``): the edge's pause and lock (core neither sleeps nor draws random numbers). When
        every attempt lost, ``ConcurrentChangeError``: nothing was stored. An ``at`` given before a tenant's last
        change is bad input (``CommandRejected`` at once, never retried). A ``reason`` or an actor's principal or partner
        that breaks the schema's rule for it (``Reason``, ``Principal``) is refused first: ``ValidationFailed`` naming
        ``reason``, ``actor.principal`` or ``actor.partner``.
        """
        _check_actor_and_reason(actor, reason)
        attempt = 1
        guard = _FIRST_TRY
        while True:
            try:
                with guard:
                    return self._execute(commands, actor, reason, self.clock.now() if at is None else at,
                                         from_clock=at is None, attempt=attempt)
            except _Retry as retry:
                logger.info("commands.retried", attempt=attempt, cause=retry.cause, actor=actor.principal)
                retrying = getattr(self.event_writer, "retrying", None)  # RetryingEventWriter.retrying, if it has one
                guard = _FIRST_TRY if retrying is None else retrying(attempt)
                attempt += 1

    def _execute(
        self, commands: Sequence[Any], actor: Actor, reason: str | None, at: datetime, *, from_clock: bool = False, attempt: int = 1
    ) -> Receipt:
        touched: dict[UUID, Any] = {}
        users_changed: set[str] = set()
        commanded: set[str] = set()
        last_try = attempt >= self.max_attempts
        try:
            for index, command in enumerate(commands):
                try:
                    checked = _COMMAND_DECODER.decode(_COMMAND_ENCODER.encode(command))
                    ctx = CommandContext(actor=actor, at=at, reason=checked.reason or reason, directory=self.pbx_directory,
                                         pin_hasher=self.pin_hasher, change_instant=self.change_instant)
                    self._apply(checked, ctx, touched)
                    commanded.add(checked.tenant)
                    if isinstance(checked, _USER_COMMANDS):
                        users_changed.add(checked.tenant)
                except (DomainError, msgspec.ValidationError) as exc:
                    if from_clock and isinstance(exc, EarlyInstantError):
                        # The clock was read before the tenant was loaded, and another writer stored a later change in
                        # between (or this clock is behind that writer's): not the caller's input, so tried again.
                        if not last_try:
                            raise _Retry("early_instant") from exc
                        raise _outlasted(self.clock, attempt, [getattr(checked, "tenant", "")], exc) from exc
                    if not last_try and self._stale(touched):
                        # Refused on a cached tenant another process has changed since: try again on what is stored.
                        raise _Retry("stale_cache") from exc
                    rejected = CommandRejected(index, command, exc)
                    logger.warning(
                        "command.rejected",
                        principal=actor.principal,
                        partner=actor.partner,
                        index=index,
                        command=rejected.command_name,
                        tenant=getattr(command, "tenant", None),
                        field=rejected.field,
                        rule=rejected.rule,
                    )
                    raise rejected from exc
            # Other tenants' members on a tenant whose users changed are checked in the same transaction.
            recheck_linking_tenants(self, users_changed, touched, actor, at)
            try:
                recordings = self.save(*touched.values())
            except IntegrityError as exc:
                if not last_try:
                    raise _Retry("version_clash") from exc
                raise _outlasted(self.clock, attempt, [a.state.slug for a in touched.values() if isinstance(a, Tenant)], None) from exc
        except BaseException:
            self._evict(touched)
            raise
        hidden = _unreadable(touched, commanded, actor)
        versions = {agg.state.slug: agg.version for key, agg in touched.items() if isinstance(agg, Tenant) and key not in hidden}
        shown = [recording for recording in recordings if recording.domain_event.originator_id not in hidden]
        warnings: list[str] = []
        for recording in shown:
            warnings += recording.domain_event.warning_texts()
        logger.info("commands.applied", count=len(commands), versions=versions, actor=actor.principal)
        position = max((getattr(r.notification, "id", None) or 0 for r in recordings), default=0)
        return Receipt(versions=versions, events=len(shown), warnings=tuple(warnings), position=position)

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording]:
        """Record tenants' pending events in one transaction, and snapshot the saved tenants.

        Same steps as ``Application.save`` (record, snapshot, notify) without its
        per-event ``typing.Protocol`` isinstance checks (about 25 us each), and a
        snapshot is taken of the tenant just saved, not rebuilt from the store.
        """
        for obj in objs:
            if not isinstance(obj, Tenant):
                return super().save(*objs, **kwargs)
        processing = ProcessingEvent()
        events = processing.events
        for tenant in objs:
            pending = tenant.pending_events  # what ``collect_events`` hands over and clears, without its pop(0) per event
            events += pending
            pending.clear()
            processing.aggregates[tenant.id] = tenant
        processing.saved_kwargs.update(kwargs)
        recordings = self._record(processing)
        interval = self.snapshotting_intervals.get(Tenant)
        if self.snapshots is not None and interval:
            # A tenant is snapshotted when one of its events just saved has a version that is a multiple of the interval.
            due = [e.originator_id for e in events if e.originator_version % interval == 0]
            if due:
                for tenant in objs:
                    if tenant.id in due:
                        self.snapshots.put([TenantSnapshot.take(tenant)])
        self._notify(recordings)
        return recordings

    def _record(self, processing: ProcessingEvent) -> list[Recording]:
        """Record through the injected writer when there is one; else the library's recorder."""
        if self.event_writer is None or processing.tracking is not None:
            return super()._record(processing)
        stored = [self.mapper.to_stored_event(event) for event in processing.events]
        ids = self.event_writer.insert(stored)
        recordings = [Recording(event, Notification(originator_id=s.originator_id, originator_version=s.originator_version,
                                                    topic=s.topic, state=s.state, id=i))
                      for event, s, i in zip(processing.events, stored, ids, strict=True)]
        if self.repository.cache is not None and not self.repository.fastforward:
            for aggregate_id, aggregate in processing.aggregates.items():
                self.repository.cache.put(aggregate_id, aggregate)
        return recordings

    def _stored_version(self, aggregate_id: UUID) -> int:
        """The version of the aggregate's last stored event (0: none): one look-up in the store's index."""
        last = self.recorder.select_events(aggregate_id, desc=True, limit=1)
        return last[0].originator_version if last else 0

    def _stale(self, touched: dict[UUID, Any]) -> bool:
        """Whether an aggregate a batch loaded (from the cache) is behind what is stored: another process wrote since."""
        return any(self._stored_version(key) != aggregate.version - len(aggregate.pending_events)
                   for key, aggregate in touched.items())

    def _current(self, aggregate_id: UUID) -> Any:
        """The aggregate as last committed, for a read: every write committed before the read started is in it.

        The cache is served only when its copy is at the stored version (one look-up of the last stored version; a copy
        a command of this process has changed and not saved yet is not served); else the aggregate is loaded afresh,
        from its snapshot and the events after it, and cached. Commands do not pay for this: a command on a stale copy
        fails to save, or is refused and finds it stale (``_stale``), and runs again (``execute``).
        """
        repository = self.repository
        cache = repository.cache
        if cache is None or repository.fastforward:
            return repository.get(aggregate_id)
        try:
            cached = cache.get(aggregate_id)
        except KeyError:
            return repository.get(aggregate_id)
        if not cached.pending_events and self._stored_version(aggregate_id) == cached.version:
            return cached
        self._evict([aggregate_id])
        return repository.get(aggregate_id)

    def _evict(self, touched: Iterable[UUID]) -> None:
        cache = self.repository.cache
        if cache is not None:
            for aggregate_id in touched:
                try:
                    cache.get(aggregate_id, evict=True)
                except KeyError:
                    pass

    def _load(self, slug: str, touched: dict[UUID, Any]) -> Tenant:
        aggregate_id = tenant_id(slug)
        tenant = touched.get(aggregate_id)
        if tenant is None:
            try:
                tenant = touched[aggregate_id] = self.repository.get(aggregate_id)
            except AggregateNotFoundError:
                raise UnknownTenantError(f"no tenant {slug!r}", field="tenant") from None
        return tenant

    def _apply(self, cmd: Any, ctx: CommandContext, touched: dict[UUID, Any]) -> None:
        """Run ``cmd``'s handler on the aggregate it changes, after the permission check."""
        handler = c.HANDLERS[type(cmd)]
        if handler.target == "create":
            aggregate_id = tenant_id(cmd.tenant)
            if aggregate_id in touched or aggregate_id in self.repository:
                raise AlreadyExistsError(f"tenant {cmd.tenant!r} already exists", field="tenant")
            touched[aggregate_id] = handler.run(cmd, ctx)
            return
        try:
            tenant = self._load(cmd.tenant, touched)
        except UnknownTenantError:
            if ctx.actor.operator:
                raise
            raise not_visible(ctx.actor, cmd.tenant) from None  # as for a tenant that exists and the actor may not read
        check_access(ctx.actor, tenant.state.slug, tenant.state.admins, tenant.state.partner, action="change")
        if isinstance(cmd, c.SetPartner) and ctx.actor.partner is not None and not ctx.actor.operator:
            raise PermissionDeniedError("a partner cannot hand its customer to another partner", field="partner")
        if handler.target == "provisioning":
            tenant.check_open()  # a closed tenant's provisioning record takes no change either
            record = self._provisioning(tenant, ctx, touched)
            record.check_writable(ctx)
            handler.run(record, tenant, cmd, ctx)
        else:
            tenant.check_writable(ctx, while_closed=handler.while_closed)
            handler.run(tenant, cmd, ctx)

    def _provisioning(self, tenant: Tenant, ctx: CommandContext, touched: dict[UUID, Any]) -> Provisioning:
        record_id = provisioning_id(tenant.state.slug)
        if record_id not in touched:
            try:
                touched[record_id] = self.repository.get(record_id)
            except AggregateNotFoundError:
                touched[record_id] = Provisioning.open(ctx, tenant.state.slug)
        return touched[record_id]

    def change_instant(self, tenant: Tenant, version: int) -> datetime:
        """When the tenant's event ``version`` was made."""
        if version == tenant.version:
            return tenant.modified_on
        for pending in tenant.pending_events:  # made earlier in the same batch, not stored yet
            if pending.originator_version == version:
                return pending.timestamp
        (change,) = self.events.get(tenant.id, gt=version - 1, lte=version)
        return change.timestamp

    def provisioning(self, slug: str) -> Provisioning | None:
        """The tenant's provisioning record, if anything was ever confirmed or set."""
        try:
            return self._current(provisioning_id(slug))
        except AggregateNotFoundError:
            return None


    def tenant(self, slug: str, *, version: int | None = None) -> Tenant:
        """The tenant aggregate, now or at ``version``, for infrastructure (projections, audit, tests).

        No permission check: code serving a principal uses ``get_tenant``/``get_user``.
        Read it, never mutate it (it may be the cached object).
        """
        try:
            if version is None:
                return self._current(tenant_id(slug))
            return self.repository.get(tenant_id(slug), version=version)
        except AggregateNotFoundError:
            raise UnknownTenantError(f"no tenant {slug!r}", field="tenant") from None

    def _readable(self, slug: str, actor: Actor, action: Action = "read") -> Tenant:
        """The tenant, if ``actor`` may ``action`` ("read" or "verify") it; else one refusal, the same whether it exists or not.

        Only an operator, who may read every tenant, is told ``UnknownTenantError``.
        """
        try:
            tenant = self.tenant(slug)
        except UnknownTenantError:
            if actor.operator:
                raise
            logger.warning("query.refused", principal=actor.principal, partner=actor.partner, tenant=slug)
            raise not_visible(actor, slug) from None
        try:
            check_access(actor, slug, tenant.state.admins, tenant.state.partner, action=action)
        except PermissionDeniedError:
            logger.warning("query.refused", principal=actor.principal, partner=actor.partner, tenant=slug)
            raise
        return tenant

    def get_tenant(self, slug: str, actor: Actor, *, action: Action = "read") -> TenantView:
        """The tenant's whole current configuration, if ``actor`` may read it (``action="verify"``: verify it).

        Refused with ``PermissionDeniedError`` (``TenantNotVisibleError``: the same for a tenant that does not exist)
        unless the actor is its telephony_admin or auditor, its partner, or an operator.
        """
        return tenant_view(self._readable(slug, actor, action))

    def get_user(self, slug: str, extension: str, actor: Actor) -> UserView:
        """One user's current settings, with defaults resolved, if ``actor`` may read them."""
        state = self._readable(slug, actor).state
        if extension not in state.users:
            raise UnknownExtensionError(f"tenant {slug!r} has no extension {extension!r}", field="extension")
        return user_view(state.users[extension], state.resolved(extension))

    def list_tenants(self, actor: Actor | None = None, *, action: Action = "read") -> list[str]:
        """Slugs of every tenant ever created, in creation order; with ``actor``, only those it may ``action``.

        A stored creation that cannot be read as one (not JSON, or no slug in it) raises ``StoreIntegrityError`` naming
        its record: it was not written so (``callroute audit verify`` says more; it skips such a creation).
        """
        slugs: list[str] = []
        start = 1
        while True:
            page = self.recorder.select_notifications(start, 500, topics=["callroute/TenantCreated"])
            for notification in page:
                try:
                    fields = self.mapper.decode_raw(notification.state)  # type: ignore[attr-defined]
                    problem = None if isinstance(fields, dict) else "it is not a JSON object"
                except (msgspec.DecodeError, TypeError, ValueError) as exc:  # not JSON (or not decrypted, decompressed)
                    fields, problem = {}, str(exc)
                slug = fields.get("slug") if problem is None else None
                if problem is None and not isinstance(slug, str):
                    problem = "it has no slug" if slug is None else f"its slug is {slug!r}, not a text"
                if problem is not None:
                    raise broken(notification.originator_id, notification.originator_version,
                                 f"the stored {notification.topic} cannot be read ({problem})")
                slugs.append(slug)
            if len(page) < 500:
                break
            start = page[-1].id + 1
        if actor is None or actor.operator:
            return slugs
        return [slug for slug in slugs if self._may(slug, actor, action)]

    def _may(self, slug: str, actor: Actor, action: Action) -> bool:
        try:
            state = self.tenant(slug).state
        except UnknownTenantError:
            return False
        except Exception:  # noqa: BLE001 - a tenant whose stored events do not load (audit verify says why) is listed for no one
            return False
        return may(actor, state.admins, state.partner, action=action)
