"""The Tenant aggregate: a customer organisation and every call-handling setting it has.

The tenant is changed only by command handlers (in the concept modules: ``users.py``,
``diverts.py``, ``answer_groups.py`` …), which validate with the look-ups below and then
``trigger`` events whose ``apply()`` only assigns state. Nothing here reads a clock.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from eventsourcing.domain import Aggregate, Snapshot, event
from eventsourcing.utils import register_topic

from core.aggregates.catalog import INCLUDED, AudioFile, ExtraKind, Plan, allowance
from core.aggregates.chain import GENESIS
from core.aggregates.chained import Chained, ChainedEvent
from core.aggregates.context import CommandContext
from core.aggregates.groups import AnswerGroup, CloudMember, SipMember
from core.aggregates.identifiers import check_time_zone, normalise_number, tenant_id
from core.aggregates.references import REFERRING, Kind, exists, ref_of, referrers
from core.aggregates.rules import check_refs, check_remote, find, normalise
from core.aggregates.state import TenantState, User
from core.aggregates.targets import ToExtension, ToNumber, ToRemote, ToVoicemail
from core.errors import (
    AlreadyExistsError,
    InUseError,
    NotFoundError,
    PlanLimitError,
    TenantClosedError,
    UnknownExtensionError,
    ValidationFailed,
)

_INSPECTED = (*REFERRING, ToNumber)
_REMOTE = (ToRemote, CloudMember, SipMember)


class TenantEvent(ChainedEvent):
    """Base of every tenant event. ``TOPIC`` is the stored type name: never change one."""

    TOPIC = "callroute/TenantEvent"


class TenantCreated(TenantEvent, Aggregate.Created):
    TOPIC = "callroute/TenantCreated"
    slug: str
    name: str
    time_zone: str
    plan: Plan


class SnapshotState(msgspec.Struct):
    """What a tenant snapshot stores: the state, the chain head and the aggregate's instants."""

    state: TenantState
    head: str
    created_on: datetime
    modified_on: datetime


class TenantSnapshot(Snapshot):
    """A typed snapshot of a tenant, stamped with the instant of its last event (never the wall clock)."""

    TOPIC = "callroute/TenantSnapshot"
    state: SnapshotState  # type: ignore[assignment]

    @classmethod
    def take(cls, aggregate: Any) -> TenantSnapshot:
        return cls(  # type: ignore[call-arg]
            originator_id=aggregate.id,
            originator_version=aggregate.version,
            timestamp=aggregate.modified_on,
            topic="callroute/Tenant",
            state=SnapshotState(
                state=aggregate.state, head=aggregate.head, created_on=aggregate.created_on, modified_on=aggregate.modified_on
            ),
        )

    def mutate(self, _: None) -> Tenant:
        tenant = object.__new__(Tenant)
        tenant.__dict__.update(
            _id=self.originator_id,
            _version=self.originator_version,
            _created_on=self.state.created_on,
            _modified_on=self.state.modified_on,
            _pending_events=[],
            state=self.state.state,
            head=self.state.head,
        )
        return tenant


register_topic(TenantSnapshot.TOPIC, TenantSnapshot)


class Tenant(Chained, Aggregate):
    """A customer organisation of the hosted PBX and its call-handling configuration."""

    TOPIC = "callroute/Tenant"
    Event = TenantEvent
    Created = TenantCreated
    Snapshot = TenantSnapshot  # type: ignore[assignment]

    state: TenantState
    head: str

    @event(TenantCreated)
    def __init__(self, slug: str, name: str, time_zone: str, plan: Plan, actor: str, partner: str | None) -> None:
        self.state = TenantState(slug=slug, name=name, time_zone=time_zone, plan=plan)
        # A partner creates its customer's tenant and manages it; anyone else who
        # creates a tenant becomes its first telephony administrator.
        if partner is not None:
            self.state.partner = partner
        else:
            self.state.admins[actor] = ("telephony_admin",)
        self.head = GENESIS

    @classmethod
    def create(cls, ctx: CommandContext, slug: str, name: str, time_zone: str, plan: Plan) -> Tenant:
        """Create a tenant with a name, an IANA time zone and a plan."""
        check_time_zone(time_zone)
        if not name.strip():
            raise ValidationFailed("a tenant name must not be blank", field="name")
        tenant = cls._create(
            cls.Created,
            id=tenant_id(slug),
            timestamp=ctx.at,
            actor=ctx.actor.principal,
            partner=ctx.actor.partner,
            reason=ctx.reason,
            prev_hash=GENESIS,
            hash="",
            slug=slug,
            name=name.strip(),
            time_zone=time_zone,
            plan=plan,
        )
        tenant._seal(tenant.pending_events[-1])
        return tenant

    def _check_open(self) -> None:
        if self.state.closed:
            raise TenantClosedError(f"tenant {self.state.slug!r} is closed and accepts no changes", field="tenant")

    def user(self, extension: str, *, field: str = "extension") -> User:
        """The user with ``extension``, or ``UnknownExtensionError`` naming ``field``."""
        try:
            return self.state.users[extension]
        except KeyError:
            raise UnknownExtensionError(f"tenant {self.state.slug!r} has no extension {extension!r}", field=field) from None

    def group(self, group_id: str, *, field: str = "group") -> AnswerGroup:
        """The answer group ``group_id``, or ``NotFoundError`` naming ``field``."""
        try:
            return self.state.groups[group_id]
        except KeyError:
            raise NotFoundError(f"there is no answer group {group_id!r}", field=field) from None

    def audio(self, name: str, *, field: str) -> AudioFile:
        """The audio file ``name``, or ``NotFoundError`` naming ``field``."""
        try:
            return self.state.audio_files[name]
        except KeyError:
            raise NotFoundError(f"there is no audio file {name!r}", field=field) from None

    def destination(self, value: Any, ctx: CommandContext, *, field: str, owner: str | None = None,
                    mailbox_required: bool = False) -> Any:
        """Validate a destination (or anything holding destinations); return it in normal form.

        Numbers become E.164; every extension, group, queue, IVR, scheme, audio file
        and linked PBX it names must exist; members of other PBXs are checked against
        the directory; ``owner`` may not send calls to itself; where there is no user
        to own a voicemail box, a voicemail destination must name one.
        """
        if value is None:
            return None
        # One walk finds everything the checks below need.
        found = find(value, _INSPECTED, field)
        if not found:
            return value
        # Rebuilt only when a number is not in E.164 already (normalise raises at the first bad number, as this does).
        for item, where in found:
            if isinstance(item, ToNumber) and normalise_number(item.number, field=f"{where}.number") != item.number:
                value = normalise(value, field)
                break
        state = self.state
        remote = False
        for item, where in found:
            ref = ref_of(item)
            if ref is not None and not exists(state, *ref):
                check_refs(state, item, where)
            if owner is not None and isinstance(item, ToExtension) and item.extension == owner:
                raise ValidationFailed(f"extension {owner} cannot divert to itself", field=f"{where}.extension")
            if mailbox_required and isinstance(item, ToVoicemail) and item.extension is None:
                raise ValidationFailed("a voicemail destination here must name the mailbox's extension", field=where)
            remote = remote or isinstance(item, _REMOTE)
        if remote:
            check_remote(state, value, field, ctx.directory, ctx.actor)
        return value

    def refuse_if_referenced(self, kind: Kind, key: str, label: str, *, field: str) -> None:
        """Refuse to remove something that other settings still name, listing every one of them."""
        found = referrers(self.state, kind, key)
        if found:
            raise InUseError(f"{label} is still used by: {'; '.join(found)}", field=field)

    def free_number(self, number: str, *, field: str, keep: str | None = None) -> str:
        """``number`` in E.164, refused if it already enters somewhere else than ``keep``."""
        normal = normalise_number(number, field=field)
        owner = self.state.number_owner(normal)
        if owner is not None and owner != keep:
            raise AlreadyExistsError(f"{normal} is already assigned to {owner}", field=field)
        return normal

    def check_allowance(self, kind: ExtraKind, *, plan: Plan | None = None, adding: int = 1, field: str) -> None:
        """Refuse one more answer group or IVR menu than the plan and the extras bought allow."""
        plan = plan or self.state.plan
        bought = self.state.extras.get(kind, 0)
        limit = allowance(plan, kind, bought)
        have = len(self.state.groups) if kind == "answer_groups" else len(self.state.ivrs)
        if limit is not None and have + adding > limit:
            label = kind.replace("_", " ")
            raise PlanLimitError(
                f"plan {plan} includes {INCLUDED[plan][kind]} {label} and {bought} more were bought; "
                f"the tenant has {have}: buy more (buy_extras) or change plan",
                field=field,
            )


__all__ = ["Tenant", "TenantCreated", "TenantEvent", "TenantSnapshot"]
