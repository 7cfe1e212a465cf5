"""The application service: commands in, events stored, views out.

``CallrouteApp.execute`` applies a list of commands all-or-nothing: every command is
re-validated against the shared schema, applied to its tenant in memory, and only
when all succeed are all their events saved in one transaction. The app has one typed
method per command (``app.set_divert(tenant=..., ...)``, generated into ``core/api.py``)
that does the same for one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
import structlog
from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.persistence import IntegrityError, Mapper, Recording

from core import commands as c
from core.aggregates.access import check_access
from core.aggregates.context import Actor, CommandContext
from core.aggregates.handling import CallHandling
from core.aggregates.identifiers import tenant_id
from core.aggregates.provisioning import Provisioning, provisioning_id
from core.aggregates.rules import PbxDirectory
from core.aggregates.targets import NoAnswerRule
from core.aggregates.tenant import PinHasher, Tenant, TenantSnapshot
from core.api import CommandMethods
from core.clock import Clock
from core.codec import MsgspecMapper
from core.errors import (
    AlreadyExistsError,
    ConflictError,
    DomainError,
    PermissionDeniedError,
    UnknownExtensionError,
    UnknownTenantError,
)
from core.queries import TenantView, UserView, tenant_view, user_view

# A library must not print: structlog's default configuration writes to stdout, so core's
# events go to the standard library logger "callroute", silent (NullHandler) unless the
# application sets up logging. Processors and level filtering stay structlog's, read from
# the application's ``structlog.configure`` when an event is logged (wrap_logger is lazy).
_stdlib_logger = logging.getLogger("callroute")
_stdlib_logger.addHandler(logging.NullHandler())
logger = structlog.wrap_logger(_stdlib_logger)

# Re-validating a command by a typed msgpack round trip costs ~1 us;
# msgspec.convert(to_builtins(...)) on the union costs ~23 us.
_COMMAND_ENCODER = msgspec.msgpack.Encoder()
_COMMAND_DECODER = msgspec.msgpack.Decoder(c.Command)


# Commands whose value the aggregate checks under its setting's name: the error names the
# command's own field instead (``handling.target.extension``, not ``rejected.target.extension``).
_FIELD_RENAMES: dict[type, tuple[str, str]] = {
    c.SetRejectedCallHandling: ("rejected", "handling"),
    c.SetDefaultRejectedCallHandling: ("rejected", "handling"),
    c.SetVoicemailGreeting: ("voicemail_greeting", "greeting"),
    c.SetDefaultVoicemailGreeting: ("voicemail_greeting", "greeting"),
    c.SetDefaultNoAnswer: ("no_answer.target", "target"),
    c.SetDefaultBusy: ("busy", "target"),
}


def _rename_field(command: object, error: DomainError) -> None:
    rename = _FIELD_RENAMES.get(type(command))
    if rename is not None and error.field is not None and (error.field + ".").startswith(rename[0] + "."):
        error.field = rename[1] + error.field[len(rename[0]):]


class CommandRejected(DomainError):
    """One command of a batch was refused; nothing of the batch was stored."""

    def __init__(self, index: int, command: object, cause: DomainError | msgspec.ValidationError) -> None:
        self.index = index
        self.command_name = c.command_tag(command)
        self.cause = cause
        if isinstance(cause, DomainError):
            field = cause.field
            rule = cause.rule
            detail = cause.message
        else:
            field, detail = _split_validation(str(cause))
            rule = "schema"
        self.rule = rule
        where = f"commands[{index}]" + (f".{field}" if field else "")
        super().__init__(f"{where} ({self.command_name}): {detail}", field=field)

    def __str__(self) -> str:
        return self.message


def _split_validation(text: str) -> tuple[str | None, str]:
    message, sep, path = text.rpartition(" - at `$.")
    if not sep:
        return None, text
    return path.rstrip("`"), message


class _StaleCache(Exception):
    """A cached tenant was behind the store; the batch is run again on fresh state."""


class Receipt(msgspec.Struct, frozen=True):
    """What a successful batch stored: the new version of each tenant it touched."""

    versions: dict[str, int]
    events: int


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
        # process has moved on fails to save with a version clash, and execute()
        # then evicts it and runs the batch once more on the fresh state.
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
    ) -> None:
        self.clock = clock
        self.pin_hasher = pin_hasher
        self.pbx_directory = pbx_directory
        super().__init__(env)

    def construct_mapper(self) -> Mapper:
        return MsgspecMapper(compressor=self.factory.compressor(), cipher=self.factory.cipher())

    # -- commands ------------------------------------------------------------------------

    def execute(
        self, commands: Sequence[Any], actor: Actor, *, reason: str | None = None, at: datetime | None = None
    ) -> Receipt:
        """Apply ``commands`` all-or-nothing as ``actor``; raise ``CommandRejected`` naming the first bad one."""
        at = self.clock.now() if at is None else at
        try:
            return self._execute(commands, actor, reason, at)
        except _StaleCache:
            return self._execute(commands, actor, reason, at, last_try=True)

    def _execute(
        self, commands: Sequence[Any], actor: Actor, reason: str | None, at: datetime, *, last_try: bool = False
    ) -> Receipt:
        touched: dict[UUID, Any] = {}
        try:
            for index, command in enumerate(commands):
                try:
                    checked = _COMMAND_DECODER.decode(_COMMAND_ENCODER.encode(command))
                    ctx = CommandContext(actor=actor, at=at, reason=checked.reason or reason, directory=self.pbx_directory)
                    self._apply(checked, ctx, touched)
                except (DomainError, msgspec.ValidationError) as exc:
                    if isinstance(exc, DomainError):
                        _rename_field(command, exc)
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
            try:
                self.save(*touched.values())
            except IntegrityError as exc:
                if not last_try:
                    raise _StaleCache from exc
                raise ConflictError("a tenant was changed concurrently by another writer; nothing was stored, retry") from exc
        except BaseException:
            self._evict(touched)
            raise
        versions = {agg.state.slug: agg.version for agg in touched.values() if isinstance(agg, Tenant)}
        logger.info("commands.applied", count=len(commands), versions=versions, actor=actor.principal)
        return Receipt(versions=versions, events=sum(1 for _ in commands))

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording]:
        """Record tenants' pending events in one transaction, and snapshot the saved tenants.

        Same steps as ``Application.save`` (record, snapshot, notify) without its
        per-event ``typing.Protocol`` isinstance checks (about 25 us each), and a
        snapshot is taken of the tenant just saved, not rebuilt from the store.
        """
        if not all(isinstance(obj, Tenant) for obj in objs):
            return super().save(*objs, **kwargs)
        processing = ProcessingEvent()
        for tenant in objs:
            processing.events.extend(tenant.collect_events())
            processing.aggregates[tenant.id] = tenant
        processing.saved_kwargs.update(kwargs)
        recordings = self._record(processing)
        interval = self.snapshotting_intervals.get(Tenant)
        if self.snapshots is not None and interval:
            for tenant in objs:
                if any(e.originator_version % interval == 0 for e in processing.events if e.originator_id == tenant.id):
                    self.snapshots.put([TenantSnapshot.take(tenant)])
        self._notify(recordings)
        return recordings

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
        if aggregate_id not in touched:
            try:
                touched[aggregate_id] = self.repository.get(aggregate_id)
            except AggregateNotFoundError:
                raise UnknownTenantError(f"no tenant {slug!r}", field="tenant") from None
        return touched[aggregate_id]

    def _apply(self, cmd: Any, ctx: CommandContext, touched: dict[UUID, Any]) -> None:
        if isinstance(cmd, c.CreateTenant):
            aggregate_id = tenant_id(cmd.tenant)
            if aggregate_id in touched or aggregate_id in self.repository:
                raise AlreadyExistsError(f"tenant {cmd.tenant!r} already exists", field="tenant")
            touched[aggregate_id] = Tenant.create(ctx, cmd.tenant, cmd.name, cmd.time_zone, cmd.plan)
            return
        t = self._load(cmd.tenant, touched)
        check_access(ctx.actor, t.state.slug, t.state.admins, t.state.partner, action="change")
        if isinstance(cmd, c.SetPartner) and ctx.actor.partner is not None and not ctx.actor.operator:
            raise PermissionDeniedError("a partner cannot hand its customer to another partner", field="partner")
        match cmd:
            case c.RenameTenant():
                t.rename(ctx, cmd.name)
            case c.CloseTenant():
                t.close(ctx)
            case c.AddUser():
                t.add_user(ctx, cmd.extension, cmd.name, cmd.email, cmd.license)
            case c.UpdateUserProfile():
                t.update_user_profile(ctx, cmd.extension, None if cmd.name is msgspec.UNSET else cmd.name, cmd.email)
            case c.RemoveUser():
                t.remove_user(ctx, cmd.extension)
            case c.AssignNumber():
                t.assign_number(ctx, cmd.extension, cmd.number)
            case c.UnassignNumber():
                t.unassign_number(ctx, cmd.extension, cmd.number)
            case c.SetDefaultNumber():
                t.set_default_number(ctx, cmd.extension, cmd.number)
            case c.SetPresentationNumber():
                t.set_presentation_number(ctx, cmd.extension, cmd.number)
            case c.AddDevice():
                t.add_device(ctx, cmd.extension, cmd.mac, cmd.model)
            case c.RemoveDevice():
                t.remove_device(ctx, cmd.extension, cmd.mac)
            case c.SetPermanentRedirect():
                t.set_permanent_redirect(ctx, cmd.extension, cmd.number)
            case c.SetNotifications():
                t.set_notifications(ctx, cmd.extension, cmd.missed_call, cmd.voicemail)
            case c.SetDivert():
                t.set_divert(ctx, cmd.extension, cmd.condition, cmd.target, cmd.ring_seconds)
            case c.SetOutOfHours():
                t.set_out_of_hours(ctx, cmd.extension, cmd.out_of_hours)
            case c.SetRejectAnonymous():
                t.set_reject_anonymous(ctx, cmd.extension, cmd.enabled)
            case c.SetCallWaiting():
                t.set_user_call_handling(ctx, cmd.extension, CallHandling(call_waiting=cmd.enabled))
            case c.SetVoicemailGreeting():
                t.set_user_call_handling(ctx, cmd.extension, CallHandling(voicemail_greeting=cmd.greeting))
            case c.SetTranscription():
                t.set_user_call_handling(ctx, cmd.extension, CallHandling(transcription=cmd.enabled))
            case c.SetRejectedCallHandling():
                t.set_user_call_handling(ctx, cmd.extension, CallHandling(rejected=cmd.handling))
            case c.SetDisplayNumberPreference():
                t.set_user_call_handling(ctx, cmd.extension, CallHandling(display_number=cmd.kind))
            case c.ResetCallHandling():
                t.reset_user_call_handling(ctx, cmd.extension, cmd.settings)
            case c.SetVoicePortalPin():
                t.set_voice_portal_pin(ctx, cmd.extension, cmd.pin, self.pin_hasher)
            case c.SetDefaultVoicemailGreeting():
                t.set_default(ctx, CallHandling(voicemail_greeting=cmd.greeting), cmd.apply_to)
            case c.SetDefaultTranscription():
                t.set_default(ctx, CallHandling(transcription=cmd.enabled), cmd.apply_to, cmd.users_may_change)
            case c.SetDefaultNoAnswer():
                rule = NoAnswerRule(target=cmd.target, ring_seconds=cmd.ring_seconds)
                t.set_default(ctx, CallHandling(no_answer=rule), cmd.apply_to)
            case c.SetDefaultBusy():
                t.set_default(ctx, CallHandling(busy=cmd.target, call_waiting=cmd.call_waiting), cmd.apply_to)
            case c.SetDefaultRejectedCallHandling():
                t.set_default(ctx, CallHandling(rejected=cmd.handling), cmd.apply_to)
            case c.SetDefaultDisplayNumber():
                t.set_default(ctx, CallHandling(display_number=cmd.kind), cmd.apply_to)
            case c.SetUnassignedNumberHandling():
                t.set_unassigned_handling(ctx, cmd.handling)
            case c.SetUserLicense():
                t.set_user_license(ctx, cmd.extension, cmd.license)
            case c.ChangePlan():
                t.change_plan(ctx, cmd.plan)
            case c.BuyExtras():
                t.buy_extras(ctx, cmd.kind, cmd.quantity)
            case c.GrantPermission():
                t.grant_permission(ctx, cmd.principal, cmd.permission)
            case c.RevokePermission():
                t.revoke_permission(ctx, cmd.principal, cmd.permission)
            case c.SetPartner():
                t.set_partner(ctx, cmd.partner)
            case c.LinkPbx():
                t.link_pbx(ctx, cmd.pbx, cmd.kind, cmd.name)
            case c.UnlinkPbx():
                t.unlink_pbx(ctx, cmd.pbx)
            case c.CreateAnswerGroup():
                t.create_answer_group(ctx, cmd.group, cmd.settings, cmd.members, cmd.supervisors)
            case c.UpdateAnswerGroup():
                t.update_answer_group(ctx, cmd.group, cmd.settings)
            case c.AddGroupMember():
                t.add_group_member(ctx, cmd.group, cmd.member, cmd.position)
            case c.RemoveGroupMember():
                t.remove_group_member(ctx, cmd.group, cmd.member)
            case c.ReorderGroupMembers():
                t.reorder_group_members(ctx, cmd.group, cmd.order)
            case c.SetGroupMemberExcluded():
                t.set_group_member_excluded(ctx, cmd.group, cmd.member, cmd.excluded)
            case c.SetGroupMemberRingTime():
                t.set_group_member_ring_time(ctx, cmd.group, cmd.member, cmd.ring_seconds)
            case c.SetGroupSupervisors():
                t.set_group_supervisors(ctx, cmd.group, cmd.supervisors)
            case c.DeleteAnswerGroup():
                t.delete_answer_group(ctx, cmd.group)
            case c.SaveQueue():
                t.save_queue(ctx, cmd.queue, cmd.spec)
            case c.DeleteQueue():
                t.delete_queue(ctx, cmd.queue)
            case c.SaveIvrMenu():
                t.save_ivr_menu(ctx, cmd.ivr, cmd.spec)
            case c.DeleteIvrMenu():
                t.delete_ivr_menu(ctx, cmd.ivr)
            case c.SaveForwardingScheme():
                t.save_forwarding_scheme(ctx, cmd.scheme, cmd.spec)
            case c.DeleteForwardingScheme():
                t.delete_forwarding_scheme(ctx, cmd.scheme)
            case c.RouteNumber():
                t.route_number(ctx, cmd.number, cmd.entry)
            case c.ReleaseNumber():
                t.release_number(ctx, cmd.number)
            case c.SaveDisplayNumber():
                t.save_display_number(ctx, cmd.number, cmd.sms, cmd.users, cmd.groups)
            case c.SetDisplayNumberAccess():
                t.set_display_number_access(ctx, cmd.number, cmd.group, cmd.agents, cmd.supervisors)
            case c.RemoveDisplayNumber():
                t.remove_display_number(ctx, cmd.number)
            case c.AddAudioFile():
                t.add_audio_file(ctx, cmd.audio)
            case c.UpdateAudioFile():
                t.update_audio_file(ctx, cmd.audio)
            case c.RemoveAudioFile():
                t.remove_audio_file(ctx, cmd.name)
            case c.SetProviderPolicy():
                self._provisioning(t, ctx, touched).set_policy(ctx, cmd.policy)
            case c.ConfirmProvisioning():
                record = self._provisioning(t, ctx, touched)
                changed_at = self.change_instant(t, cmd.version) if cmd.version <= t.version else ctx.at
                record.confirm(ctx, cmd.version, cmd.applied_at or ctx.at, tenant_version=t.version, changed_at=changed_at)
            case _:  # pragma: no cover - the schema and this match are kept in step by a test
                msg = f"no handler for {type(cmd).__name__}"
                raise TypeError(msg)

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
            return self.repository.get(provisioning_id(slug))
        except AggregateNotFoundError:
            return None

    # -- queries ---------------------------------------------------------------------------

    def tenant(self, slug: str, *, version: int | None = None) -> Tenant:
        """The tenant aggregate, now or at ``version``, for infrastructure (projections, audit, tests).

        No permission check: code serving a principal uses ``get_tenant``/``get_user``.
        Read it, never mutate it (it may be the cached object).
        """
        try:
            return self.repository.get(tenant_id(slug), version=version)
        except AggregateNotFoundError:
            raise UnknownTenantError(f"no tenant {slug!r}", field="tenant") from None

    def _readable(self, slug: str, actor: Actor) -> Tenant:
        tenant = self.tenant(slug)
        try:
            check_access(actor, slug, tenant.state.admins, tenant.state.partner, action="read")
        except PermissionDeniedError:
            logger.warning("query.refused", principal=actor.principal, partner=actor.partner, tenant=slug)
            raise
        return tenant

    def get_tenant(self, slug: str, actor: Actor) -> TenantView:
        """The tenant's whole current configuration, if ``actor`` may read it."""
        return tenant_view(self._readable(slug, actor))

    def get_user(self, slug: str, extension: str, actor: Actor) -> UserView:
        """One user's current settings, with defaults resolved, if ``actor`` may read them."""
        state = self._readable(slug, actor).state
        if extension not in state.users:
            raise UnknownExtensionError(f"tenant {slug!r} has no extension {extension!r}", field="extension")
        return user_view(state.users[extension], state.resolved(extension))

    def list_tenants(self) -> list[str]:
        """Slugs of every tenant ever created, in creation order."""
        slugs: list[str] = []
        start = 1
        while True:
            page = self.recorder.select_notifications(start, 500, topics=["callroute/TenantCreated"])
            for notification in page:
                slugs.append(self.mapper.decode_raw(notification.state)["slug"])  # type: ignore[attr-defined]
            if len(page) < 500:
                return slugs
            start = page[-1].id + 1
