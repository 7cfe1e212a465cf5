"""Read-only views of a tenant's current configuration, as frozen msgspec Structs."""

from __future__ import annotations

from datetime import datetime

import msgspec

from core.aggregates.handling import ApplyTo, CallHandling, ResolvedHandling
from core.aggregates.schedule import OutOfHours
from core.aggregates.state import Device, Plan, User
from core.aggregates.targets import DivertTarget, UnassignedHandling


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
    own: CallHandling
    handling: ResolvedHandling


class TenantView(msgspec.Struct, frozen=True):
    """A tenant's whole current configuration."""

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
    )
