"""Audio files, display numbers, the tenant's inbound numbers, PBX links, plans and billing (seed 001)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from core.aggregates.identifiers import LanguageTag, Name
from core.aggregates.targets import Destination

Sha256 = Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the audio bytes, hex")]


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


PbxKind = Literal["cloud", "sip"]


class PbxLink(msgspec.Struct, frozen=True):
    """Another PBX whose employees may take this tenant's calls (seed 003)."""

    id: str
    kind: PbxKind
    name: str


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
