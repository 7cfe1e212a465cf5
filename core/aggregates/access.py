"""Principals and permissions: who may read, verify and change a tenant's telephony settings.

The edge authenticates; core decides. A customer principal needs one of the tenant's
permissions (granted by ``grant_permission``): ``telephony_admin`` (seed 001
"Telefonisystem") reads, verifies and changes; ``auditor`` reads everything of the tenant,
verifies its chain and reads its history, and changes nothing. A principal acting for a
channel partner (seed 002) may do all three only for that partner's own customers. A
platform operator may act for any tenant.

Without the right to read a tenant, a tenant that exists and one that does not look the
same: ``not_visible`` is the one refusal for both (``PermissionDeniedError``, field
``tenant``), for reads and for writes alike. Only an operator, who may read every tenant,
is told plainly that a tenant does not exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from core.aggregates.context import Actor
from core.errors import PermissionDeniedError, TenantNotVisibleError

Permission = Literal["telephony_admin", "auditor"]
Action = Literal["read", "verify", "change"]

_GIVES: dict[str, frozenset[str]] = {
    "read": frozenset({"telephony_admin", "auditor"}),
    "verify": frozenset({"telephony_admin", "auditor"}),
    "change": frozenset({"telephony_admin"}),
}


def may(actor: Actor, admins: Mapping[str, tuple[str, ...]], partner: str | None, *, action: str) -> bool:
    """Whether ``actor`` may ``action`` ("read", "verify" or "change") a tenant with these permissions and partner."""
    if actor.operator:
        return True
    if actor.partner is not None:
        # A principal acting for a partner acts only as that partner, never as a customer principal of the same name.
        return actor.partner == partner
    return not _GIVES[action].isdisjoint(admins.get(actor.principal, ()))


def who(actor: Actor) -> str:
    """The actor as refusals name it: ``'alice'``, or ``'pat' for partner 'bt'``."""
    return repr(actor.principal) + (f" for partner {actor.partner!r}" if actor.partner is not None else "")


def not_visible(actor: Actor, slug: str) -> TenantNotVisibleError:
    """The one refusal for a tenant the actor may not read, whether or not it exists."""
    return TenantNotVisibleError(f"no tenant {slug!r} that {who(actor)} may read", field="tenant")


def check_access(actor: Actor, slug: str, admins: Mapping[str, tuple[str, ...]], partner: str | None, *, action: str) -> None:
    """Raise ``PermissionDeniedError`` unless ``actor`` may ``action`` ("read", "verify" or "change") tenant ``slug``.

    A refused read or verify, and a refused change of a tenant the actor may not even read, is
    ``not_visible``: it says nothing that an unknown tenant would not say too. An actor who may
    read but not change (an auditor) is told so.
    """
    if action not in _GIVES:
        raise ValueError(f"unknown action {action!r}: read, verify or change")
    if may(actor, admins, partner, action=action):
        return
    if action == "change" and may(actor, admins, partner, action="read"):
        raise PermissionDeniedError(
            f"{who(actor)} may read tenant {slug!r} as its auditor but not change it; changing needs the telephony_admin permission",
            field="tenant",
        )
    raise not_visible(actor, slug)
