"""Answer groups / departments (seeds 001 and 003), including members on other PBXs."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from core.aggregates.identifiers import BillingId, Extension, Name, whole
from core.aggregates.targets import EntityId, MemberRingSeconds, ToExtension, ToGroup, ToRemote, ToVoicemail

RingStrategy = Literal["sequential", "simultaneous", "round_robin", "least_recent", "random"]
"""sequential: in member order; simultaneous: all at once; round_robin: the member after the
last one who was offered a call (memory); least_recent: the member who answered least
recently (memory); random: a uniformly drawn order (from the caller's seeded generator)."""

GroupTimeoutSeconds = Annotated[int, msgspec.Meta(ge=5, le=3600)]


class _MemberRef(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="on"):
    pass


class LocalMember(_MemberRef, tag="local"):
    """A user of this tenant."""

    extension: Extension


class CloudMember(_MemberRef, tag="cloud"):
    """An employee of another cloud PBX, chosen from that PBX's member list."""

    pbx: EntityId
    member: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class SipMember(_MemberRef, tag="sip"):
    """An employee of an office (SIP) PBX, by internal number."""

    pbx: EntityId
    internal_number: Annotated[str, msgspec.Meta(pattern=whole(r"[0-9*#]{1,12}"))]


MemberRef = LocalMember | CloudMember | SipMember

GroupFallback = ToExtension | ToGroup | ToRemote | ToVoicemail
"""Seed 003 "if nobody answers": a backup person or department, here or on another PBX."""


DEFAULT_MEMBER_RING_SECONDS = 20


class GroupMember(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """A member in the group's order, with its own ring time; excluded members are skipped."""

    ref: MemberRef
    ring_seconds: MemberRingSeconds | None = DEFAULT_MEMBER_RING_SECONDS
    """``None``: no own ring time, the member rings for as long as the group's timeout lets it.

    The default stays 20 s: stored members leave a 20 s ring time out, so an absent value must
    keep meaning 20 s; ``None`` is always stored explicitly (``"ring_seconds": null``).
    """
    excluded: bool = False


class GroupSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Everything of an answer group except its members and supervisors."""

    name: Name
    number: str | None = None
    billing_id: BillingId | None = None
    display_number: str | None = None
    strategy: RingStrategy = "sequential"
    timeout_seconds: GroupTimeoutSeconds = 60
    fallback: GroupFallback | None = None


class AnswerGroup(msgspec.Struct, frozen=True, omit_defaults=True):
    """An answer group (department)."""

    id: str
    settings: GroupSettings
    members: tuple[GroupMember, ...] = ()
    supervisors: tuple[str, ...] = ()
    reject_anonymous: bool = False
    """Callers who withhold their number get the tenant's rejected-call handling (else the engaged tone)."""

    def member_index(self, ref: MemberRef) -> int | None:
        """Position of ``ref`` among the members, or ``None``."""
        for index, member in enumerate(self.members):
            if member.ref == ref:
                return index
        return None


def member_label(ref: MemberRef) -> str:
    """A readable name of a member reference."""
    match ref:
        case LocalMember(extension=ext):
            return f"extension {ext}"
        case CloudMember(pbx=pbx, member=member):
            return f"{member} (cloud PBX {pbx})"
        case SipMember(pbx=pbx, internal_number=number):
            return f"internal number {number} (SIP PBX {pbx})"
    return str(ref)
