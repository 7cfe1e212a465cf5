"""The write model: the Tenant aggregate and its provisioning record, the commands that change them, and their events.

Each concept module (``users``, ``diverts``, ``defaults``, ``catalogue``, ``answer_groups``,
``pbx_members``, ``queues``, ``ivr_menus``, ``schemes``, ``numbers``, ``provisioning``, ``closures``) declares its commands,
their handlers and the events they record; importing this package registers them all.
"""

from __future__ import annotations

from core.aggregates import (  # noqa: F401 - imported to register each concept's handlers and stored event types
    answer_groups,
    catalogue,
    closures,
    defaults,
    diverts,
    ivr_menus,
    numbers,
    pbx_members,
    queues,
    schemes,
    tokens,
    users,
)
from core.aggregates.commanding import HANDLERS, Command, Handler, PinHasher, command_tag, handles
from core.aggregates.context import Actor, CommandContext
from core.aggregates.identifiers import tenant_id
from core.aggregates.provisioning import (
    Confirmation,
    Provisioning,
    ProvisioningEvent,
    ProviderPolicy,
    provisioning_id,
)
from core.aggregates.tenant import Tenant, TenantCreated, TenantEvent, TenantSnapshot


def _concrete(base: type) -> tuple[type, ...]:
    found: list[type] = []
    for sub in base.__subclasses__():
        found.append(sub)
        found.extend(_concrete(sub))
    return tuple(dict.fromkeys(found))


TENANT_EVENTS: tuple[type, ...] = _concrete(TenantEvent)
"""Every stored tenant event type."""
PROVISIONING_EVENTS: tuple[type, ...] = _concrete(ProvisioningEvent)
"""Every stored provisioning event type."""

__all__ = [
    "HANDLERS", "PROVISIONING_EVENTS", "TENANT_EVENTS", "Actor", "Command", "CommandContext", "Confirmation", "Handler",
    "PinHasher", "ProviderPolicy", "Provisioning", "ProvisioningEvent", "Tenant", "TenantCreated", "TenantEvent",
    "TenantSnapshot", "command_tag", "handles", "provisioning_id", "tenant_id",
]
