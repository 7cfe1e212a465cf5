"""Principals and permissions: who may read and change a tenant's telephony settings.

The edge authenticates; core decides. A customer principal needs the tenant's
``telephony_admin`` permission (seed 001 "Telefonisystem"). A principal acting for a
channel partner (seed 002) may act only for that partner's own customers. A platform
operator may act for any tenant.
"""

from __future__ import annotations

from typing import Literal

from core.aggregates.context import Actor
from core.errors import PermissionDeniedError

Permission = Literal["telephony_admin"]


def check_access(actor: Actor, slug: str, admins: dict[str, tuple[str, ...]], partner: str | None, *, action: str) -> None:
    """Raise ``PermissionDeniedError`` unless ``actor`` may ``action`` (read/change) tenant ``slug``."""
    if actor.operator:
        return
    if actor.partner is not None:
        if actor.partner != partner:
            raise PermissionDeniedError(
                f"partner {actor.partner!r} does not manage tenant {slug!r}; a partner may act only for its own customers",
                field="tenant",
            )
        return
    if "telephony_admin" not in admins.get(actor.principal, ()):
        raise PermissionDeniedError(
            f"{actor.principal!r} lacks the telephony_admin permission of tenant {slug!r} needed to {action} it", field="tenant"
        )
