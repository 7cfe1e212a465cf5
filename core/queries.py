"""Read-only views of a tenant's current configuration, as frozen msgspec Structs."""

from __future__ import annotations

from datetime import datetime

import msgspec

from core.aggregates.catalog import INCLUDED, AudioFile, BillingItem, DisplayNumber, ExtraKind, PbxLink, Plan
from core.aggregates.dated import Closure
from core.aggregates.groups import AnswerGroup
from core.aggregates.handling import ApplyTo, CallHandling, ResolvedHandling
from core.aggregates.schedule import OutOfHours
from core.aggregates.services import CallQueue, ForwardingScheme, IvrMenu
from core.aggregates.state import Device, License, TenantState, User
from core.aggregates.targets import Destination, DivertTarget, UnassignedHandling
from core.routing.table import numbers_by_source


class UserView(msgspec.Struct, frozen=True):
    """A user's settings with tenant defaults resolved; the PIN hash is never shown."""

    extension: str
    name: str
    email: str | None
    numbers: tuple[str, ...]
    default_number: str | None
    presentation_number: str | None
    devices: tuple[Device, ...]
    permanent_redirect: str | None
    notify_missed_call: bool
    notify_voicemail: bool
    forward_always: DivertTarget
    unreachable: DivertTarget
    out_of_hours: OutOfHours | None
    reject_anonymous: bool
    has_voice_portal_pin: bool
    license: License
    own: CallHandling
    handling: ResolvedHandling


class NumberView(msgspec.Struct, frozen=True, omit_defaults=True):
    """A number of the tenant and where its calls enter (``None``: unassigned-number handling)."""

    number: str
    entry: Destination | None
    source: str
    """Where the route is configured: ``user``, ``answer group``, ``IVR menu`` or ``number list``."""
    reject_anonymous: bool = False
    """The number itself rejects callers who withhold their number (left out of JSON while off)."""


class Allowance(msgspec.Struct, frozen=True):
    """How many of something the plan allows, and how many exist."""

    included: int | None
    bought: int
    used: int


class SchemeView(msgspec.Struct, frozen=True):
    """A forwarding scheme and the warnings recorded when it was saved."""

    id: str
    scheme: ForwardingScheme
    warnings: tuple[str, ...]


class TenantView(msgspec.Struct, frozen=True, omit_defaults=True):
    """A tenant's whole current configuration (fields added later have defaults, left out of JSON while unused)."""

    slug: str
    name: str
    time_zone: str
    plan: Plan
    closed: bool
    version: int
    modified_on: datetime
    defaults: CallHandling
    default_scopes: dict[str, ApplyTo]
    transcription_users_may_change: bool
    unassigned: UnassignedHandling
    users: tuple[UserView, ...]
    groups: tuple[AnswerGroup, ...]
    queues: dict[str, CallQueue]
    ivr_menus: dict[str, IvrMenu]
    schemes: tuple[SchemeView, ...]
    numbers: tuple[NumberView, ...]
    display_numbers: tuple[DisplayNumber, ...]
    audio_files: tuple[AudioFile, ...]
    pbx_links: tuple[PbxLink, ...]
    allowances: dict[ExtraKind, Allowance]
    billing: tuple[BillingItem, ...]
    admins: dict[str, tuple[str, ...]]
    partner: str | None
    closures: tuple[Closure, ...] = ()
    """Dated closures, by first day, then name."""


def user_view(user: User, handling: ResolvedHandling) -> UserView:
    """The view of one user."""
    return UserView(
        extension=user.extension,
        name=user.name,
        email=user.email,
        numbers=user.numbers,
        default_number=user.default_number,
        presentation_number=user.presentation_number,
        devices=user.devices,
        permanent_redirect=user.permanent_redirect,
        notify_missed_call=user.notify_missed_call,
        notify_voicemail=user.notify_voicemail,
        forward_always=user.forward_always,
        unreachable=user.unreachable,
        out_of_hours=user.out_of_hours,
        reject_anonymous=user.reject_anonymous,
        has_voice_portal_pin=user.pin_hash is not None,
        license=user.license,
        own=user.own,
        handling=handling,
    )


def tenant_view(tenant: object) -> TenantView:
    """The view of a whole tenant aggregate."""
    state = tenant.state  # type: ignore[attr-defined]
    users = tuple(user_view(state.users[ext], state.resolved(ext)) for ext in sorted(state.users))
    return TenantView(
        slug=state.slug,
        name=state.name,
        time_zone=state.time_zone,
        plan=state.plan,
        closed=state.closed,
        version=tenant.version,  # type: ignore[attr-defined]
        modified_on=tenant.modified_on,  # type: ignore[attr-defined]
        defaults=state.defaults,
        default_scopes=dict(state.default_scopes),
        transcription_users_may_change=state.transcription_users_may_change,
        unassigned=state.unassigned,
        users=users,
        groups=tuple(state.groups[k] for k in sorted(state.groups)),
        queues=dict(sorted(state.queues.items())),
        ivr_menus=dict(sorted(state.ivrs.items())),
        schemes=tuple(SchemeView(id=k, scheme=state.schemes[k], warnings=state.scheme_warnings.get(k, ())) for k in sorted(state.schemes)),
        numbers=number_table(state),
        display_numbers=tuple(state.display_numbers[k] for k in sorted(state.display_numbers)),
        audio_files=tuple(state.audio_files[k] for k in sorted(state.audio_files)),
        pbx_links=tuple(state.pbx_links[k] for k in sorted(state.pbx_links)),
        allowances={
            "answer_groups": Allowance(INCLUDED[state.plan]["answer_groups"], state.extras.get("answer_groups", 0), len(state.groups)),
            "ivr_menus": Allowance(INCLUDED[state.plan]["ivr_menus"], state.extras.get("ivr_menus", 0), len(state.ivrs)),
        },
        billing=tuple(state.billing),
        admins=dict(sorted(state.admins.items())),
        partner=state.partner,
        closures=tuple(sorted(state.closures.values(), key=lambda c: (c.first_day, c.name))),
    )


def number_table(state: TenantState) -> tuple[NumberView, ...]:
    """Every number of the tenant and where it enters, in number order."""
    rejecting = {number for number, settings in state.number_settings.items() if settings.reject_anonymous}
    return tuple(NumberView(number=number, entry=entry, source=source, reject_anonymous=number in rejecting)
                 for number, entry, source in numbers_by_source(state))
