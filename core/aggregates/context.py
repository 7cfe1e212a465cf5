"""Who makes a change, when, and why: carried onto every event."""

from __future__ import annotations

from datetime import datetime

import msgspec


class Actor(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The principal making a change, and the channel partner it acts for, if any."""

    principal: str
    partner: str | None = None
    """The channel partner the principal acts for (seed 002), if any."""
    operator: bool = False
    """A platform operator: may act for every tenant."""


class CommandContext(msgspec.Struct, frozen=True):
    """The actor, the instant (from the injected clock) and an optional reason of one change."""

    actor: Actor
    at: datetime
    reason: str | None = None
    directory: object | None = None
    """The PBX directory port (``rules.PbxDirectory``) used to check members of other PBXs."""
    pin_hasher: object | None = None
    """The PIN hasher port (``commanding.PinHasher``): the salt is drawn at the edge, never in core."""
    change_instant: object | None = None
    """A look-up ``(tenant, version) -> datetime`` of when a tenant's version was made (provisioning needs it)."""
