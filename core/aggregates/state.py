"""The state of a tenant: plain msgspec Structs that the aggregate's events assign."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from core.aggregates.catalog import AudioFile, BillingItem, DisplayNumber, ExtraKind, NumberRoute, NumberSettings, PbxLink, Plan
from core.aggregates.dated import Closure
from core.aggregates.groups import AnswerGroup, MemberRef
from core.aggregates.handling import ApplyTo, CallHandling, ResolvedHandling, resolve
from core.aggregates.schedule import OutOfHours
from core.aggregates.services import CallQueue, ForwardingScheme, IvrMenu
from core.aggregates.targets import BusyTone, DivertTarget, Off, UnassignedHandling

License = Literal["basic", "pro"]


class Device(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A desk phone or other hardware registered to a user by MAC address."""

    mac: str
    model: str | None = None


class User(msgspec.Struct, frozen=True, omit_defaults=True):
    """A user (extension) of a tenant and every per-user setting of seeds 000 and 002."""

    extension: str
    name: str
    email: str | None
    added_at_version: int
    numbers: tuple[str, ...] = ()
    default_number: str | None = None
    presentation_number: str | None = None
    devices: tuple[Device, ...] = ()
    permanent_redirect: str | None = None
    notify_missed_call: bool = True
    notify_voicemail: bool = True
    forward_always: DivertTarget = Off()
    unreachable: DivertTarget = Off()
    out_of_hours: OutOfHours | None = None
    reject_anonymous: bool = False
    own: CallHandling = CallHandling()
    """Call-handling values the user (or an admin for them) changed."""
    pinned: CallHandling = CallHandling()
    """Values kept when a tenant default changed for new users only."""
    pin_hash: str | None = None
    license: License = "basic"
    """Pro users may be answer-group supervisors (seed 001 "endast Pro")."""


class TenantState(msgspec.Struct, omit_defaults=True):
    """Everything the tenant aggregate knows; mutated only by its events' ``apply()``."""

    slug: str
    name: str
    time_zone: str
    plan: Plan
    closed: bool = False
    users: dict[str, User] = {}
    defaults: CallHandling = CallHandling()
    default_scopes: dict[str, ApplyTo] = {}
    transcription_users_may_change: bool = True
    unassigned: UnassignedHandling = BusyTone()
    groups: dict[str, AnswerGroup] = {}
    queues: dict[str, CallQueue] = {}
    ivrs: dict[str, IvrMenu] = {}
    schemes: dict[str, ForwardingScheme] = {}
    scheme_warnings: dict[str, tuple[str, ...]] = {}
    numbers: dict[str, NumberRoute] = {}
    """Numbers routed explicitly (and unassigned ones); users', groups' and IVRs' own numbers live with them."""
    number_settings: dict[str, NumberSettings] = {}
    """Settings of numbers themselves (any number of the tenant), only for numbers that have any; a number
    that leaves the tenant loses them (``numbers_left``)."""
    display_numbers: dict[str, DisplayNumber] = {}
    audio_files: dict[str, AudioFile] = {}
    pbx_links: dict[str, PbxLink] = {}
    extras: dict[ExtraKind, int] = {}
    billing: list[BillingItem] = []
    admins: dict[str, tuple[str, ...]] = {}
    """Principal → permissions on this tenant."""
    partner: str | None = None
    """The channel partner that manages this customer (seed 002)."""
    closures: dict[str, Closure] = {}
    """Named dated closures (holidays and exceptions), by name."""

    def replace_user(self, extension: str, **changes: Any) -> None:
        """Put a copy of the user with ``changes`` in place of the user (events' ``apply()`` use this)."""
        self.users[extension] = msgspec.structs.replace(self.users[extension], **changes)

    def numbers_left(self, *numbers: str | None) -> None:
        """Numbers that left the tenant lose their own settings (events' ``apply()`` that remove a number call this),
        so a number that comes back starts afresh."""
        for number in numbers:
            if number is not None:
                self.number_settings.pop(number, None)

    def replace_group(self, group_id: str, **changes: Any) -> None:
        """Put a copy of the answer group with ``changes`` in its place."""
        self.groups[group_id] = msgspec.structs.replace(self.groups[group_id], **changes)

    def replace_member(self, group_id: str, ref: MemberRef, **changes: Any) -> None:
        """Put a copy of one member of an answer group with ``changes`` in its place."""
        group = self.groups[group_id]
        members = tuple(msgspec.structs.replace(m, **changes) if m.ref == ref else m for m in group.members)
        self.replace_group(group_id, members=members)

    def resolved(self, extension: str) -> ResolvedHandling:
        """The call handling of a user after tenant defaults are resolved."""
        user = self.users[extension]
        return resolve(user.own, user.pinned, self.defaults)

    def number_owner(self, number: str) -> str | None:
        """What a number of the tenant already belongs to, readable, or ``None``."""
        for user in self.users.values():
            if number in user.numbers:
                return f"extension {user.extension}"
        for key, group in self.groups.items():
            if group.settings.number == number:
                return f"answer group {key}"
        for key, ivr in self.ivrs.items():
            if ivr.number == number:
                return f"IVR menu {key}"
        if number in self.numbers:
            return "the tenant's number list"
        return None
