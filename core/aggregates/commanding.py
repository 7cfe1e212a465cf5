"""Commands and their handlers: each command is declared once, in the module of its concept.

A concept module (``users.py``, ``diverts.py``, ``answer_groups.py`` …) holds its command
Structs, the events they record and one handler per command, registered with
``@handles``. A handler receives the whole command and an explicit ``CommandContext``,
validates (raising a named ``DomainError`` that names the command's own field) and then
triggers the events, whose ``apply()`` only assigns state. ``core.commands`` assembles
the tagged union from the registered commands; the application's ``execute()`` is one
look-up in ``HANDLERS``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, NamedTuple, Protocol, TypeVar

import msgspec

from core.aggregates.identifiers import Reason, Slug

Target = Literal["create", "tenant", "provisioning"]
"""What a handler works on: a new tenant, an existing tenant, or the tenant's provisioning record."""

C = TypeVar("C", bound=Callable[..., Any])


class Command(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="command", kw_only=True):
    """Base of every command: the tenant it changes and an optional reason recorded on its events."""

    tenant: Slug
    reason: Reason | None = None


class PinHasher(Protocol):
    """Turns a PIN into a salted slow hash; supplied by the edge (core draws no random salt)."""

    def hash(self, pin: str) -> str: ...


class Handler(NamedTuple):
    """A command's handler, what it works on, and whether it runs on a closed tenant (only reopening does)."""

    target: Target
    run: Callable[..., None]
    while_closed: bool = False


HANDLERS: dict[type, Handler] = {}
"""Command type → its handler, in the order the concept modules declare them."""


def handles(command_type: type, *, target: Target = "tenant", while_closed: bool = False) -> Callable[[C], C]:
    """Register the decorated function as the handler of ``command_type``.

    ``tenant`` handlers are called ``(tenant, command, ctx)``; ``provisioning`` handlers
    ``(record, tenant, command, ctx)``; the ``create`` handler ``(command, ctx)`` returns the new tenant.
    A closed tenant refuses every command but those registered ``while_closed``.
    """

    def register(function: C) -> C:
        if command_type in HANDLERS:
            msg = f"{command_type.__name__} already has a handler"
            raise TypeError(msg)
        HANDLERS[command_type] = Handler(target, function, while_closed)
        return function

    return register


class Receipt(msgspec.Struct, frozen=True):
    """What a successful batch stored: the new version of each tenant it touched, how many events, and their warnings.

    Only what the actor may read: a tenant the batch changed by itself (the members another tenant has on a cloud PBX
    whose users the batch changed are re-checked in the same transaction) is left out, with its events and warnings,
    unless the actor may read it.
    """

    versions: dict[str, int]
    events: int
    """Events stored, tenants' and provisioning records' alike (a first confirmation stores two)."""
    warnings: tuple[str, ...] = ()
    """What the stored events were recorded with a warning about, in words (``scheme sales: steps[0]: 20 s is under …``)."""
    position: int = 0
    """The highest notification id the batch stored (its position in the store's log): a projection that has processed this
    position shows the batch (read-your-writes, ``X-Callroute-After``); 0 when the store gives none."""


def command_tag(command: object) -> str:
    """The stable wire name of a command (``set_divert``)."""
    return type(command).__struct_config__.tag  # type: ignore[attr-defined]
