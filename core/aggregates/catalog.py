"""Audio files, display numbers, the tenant's inbound numbers, PBX links, plans and billing (seed 001)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from core.aggregates.identifiers import LanguageTag, Name, whole
from core.aggregates.targets import Destination

Sha256 = Annotated[str, msgspec.Meta(pattern=whole(r"[0-9a-f]{64}"), description="SHA-256 of the audio bytes, hex")]


class AudioFile(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An audio file's metadata; the bytes live outside the events, named by their hash."""

    name: Name
    language: LanguageTag
    source: Literal["recorded", "uploaded"]
    content_sha256: Sha256
    duration_seconds: Annotated[float, msgspec.Meta(gt=0, le=3600)]


class DisplayNumber(msgspec.Struct, frozen=True):
    """A non-personal number users or teams may show on outgoing calls."""

    number: str
    sms: bool = False
    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    agent_access: tuple[str, ...] = ()
    """Groups whose agents may use it."""
    supervisor_access: tuple[str, ...] = ()
    """Groups whose supervisors may use it."""


class NumberRoute(msgspec.Struct, frozen=True):
    """A number of the tenant and where its calls enter (``None``: unassigned)."""

    number: str
    entry: Destination | None = None


class NumberSettings(msgspec.Struct, frozen=True, omit_defaults=True):
    """What the provider sets on one number of the tenant itself, whatever the number enters at."""

    reject_anonymous: bool = False
    """Callers who withhold their number get the tenant's rejected-call handling (else the engaged tone)."""


PbxKind = Literal["cloud", "sip"]


class UnknownPbxMember(msgspec.Struct, frozen=True):
    """A member of a linked PBX that the PBX directory stopped listing, and since when."""

    since: datetime
    finding: str
    """What the directory said, in words (``SIP PBX 'kyiv-office' has no internal number '101'``)."""


class PbxLink(msgspec.Struct, frozen=True, omit_defaults=True):
    """Another PBX whose employees may take this tenant's calls (seed 003)."""

    id: str
    kind: PbxKind
    name: str
    unknown_members: dict[str, UnknownPbxMember] = {}
    """Member id (cloud) or internal number (SIP) → the mark recorded when the directory stopped listing it.

    Set only by ``PbxMemberMarkedUnknown`` / ``PbxMemberKnownAgain``; omitted when empty, so
    links stored before marks existed encode exactly as they did.
    """


ExtraKind = Literal["answer_groups", "ivr_menus"]
Plan = Literal["light", "unlimited"]

INCLUDED: dict[Plan, dict[ExtraKind, int | None]] = {
    "light": {"answer_groups": 2, "ivr_menus": 2},
    "unlimited": {"answer_groups": None, "ivr_menus": None},
}
"""Seed 001: "Unlimited = obegränsat, Light = 2 st (fler kan köpas)". ``None``: no limit."""


class BillingItem(msgspec.Struct, frozen=True):
    """Extras bought, billed on the next invoice."""

    kind: ExtraKind
    quantity: int
    bought_at: datetime
    bought_by: str


def allowance(plan: Plan, kind: ExtraKind, bought: int) -> int | None:
    """How many of ``kind`` the tenant may have (``None``: no limit)."""
    included = INCLUDED[plan][kind]
    return None if included is None else included + bought
