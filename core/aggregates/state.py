"""The state of a tenant: plain msgspec Structs that the aggregate's events assign."""

from __future__ import annotations

from typing import Literal

import msgspec

from core.aggregates.handling import ApplyTo, CallHandling, ResolvedHandling, resolve
from core.aggregates.schedule import OutOfHours
from core.aggregates.targets import BusyTone, DivertTarget, Off, UnassignedHandling, extension_of

Plan = Literal["light", "unlimited"]


class Device(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A desk phone or other hardware registered to a user by MAC address."""

    mac: str
    model: str | None = None


class User(msgspec.Struct, frozen=True):
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

    def targets(self) -> list[tuple[str, object]]:
        """Every setting of this user that can send a call somewhere, by name."""
        found: list[tuple[str, object]] = [
            ("forward_always", self.forward_always),
            ("unreachable", self.unreachable),
        ]
        if self.out_of_hours is not None:
            found.append(("out_of_hours.when_unavailable", self.out_of_hours.when_unavailable))
        for level in ("own", "pinned"):
            handling: CallHandling = getattr(self, level)
            for name in ("no_answer", "busy", "rejected"):
                value = getattr(handling, name)
                if value is not None:
                    found.append((f"{name}", value))
        return found


class TenantState(msgspec.Struct):
    """Everything the tenant aggregate knows; mutated only by its event methods."""

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

    def resolved(self, extension: str) -> ResolvedHandling:
        """The call handling of a user after tenant defaults are resolved."""
        user = self.users[extension]
        return resolve(user.own, user.pinned, self.defaults)

    def referrers_of(self, extension: str) -> list[str]:
        """Every setting that sends calls to ``extension``, as readable paths."""
        found = [
            f"user {user.extension}: {name}"
            for user in self.users.values()
            if user.extension != extension
            for name, target in user.targets()
            if extension_of(target) == extension
        ]
        for name in ("no_answer", "busy", "rejected"):
            if extension_of(getattr(self.defaults, name)) == extension:
                found.append(f"tenant default: {name}")
        if extension_of(self.unassigned) == extension:
            found.append("tenant: unassigned-number handling")
        return found
