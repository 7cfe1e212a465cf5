"""A batch's refused input: ``CommandRejected`` (one command of it refused) and the checks of its reason and actor."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec

from core import commands as c
from core.aggregates.access import may
from core.aggregates.context import Actor
from core.aggregates.identifiers import NAME_RULE, REASON_RULE, Principal, Reason, rule_problem
from core.aggregates.tenant import Tenant
from core.errors import DomainError, ValidationFailed


class CommandRejected(DomainError):
    """One command of a batch was refused; nothing of the batch was stored."""

    def __init__(self, index: int, command: object, cause: DomainError | msgspec.ValidationError) -> None:
        self.index = index
        self.command_name = c.command_tag(command)
        self.cause = cause
        if isinstance(cause, DomainError):
            field = cause.field
            rule = cause.rule
            detail = cause.message
        else:
            field, detail = _split_validation(str(cause))
            rule = "schema"
        self.rule = rule
        where = f"commands[{index}]" + (f".{field}" if field else "")
        super().__init__(f"{where} ({self.command_name}): {detail}", field=field)

    def __str__(self) -> str:
        return self.message


def _split_validation(text: str) -> tuple[str | None, str]:
    message, sep, path = text.rpartition(" - at `$.")
    if not sep:
        return None, text
    return path.rstrip("`"), message


def _unreadable(touched: dict[UUID, Any], commanded: set[str], actor: Actor) -> set[UUID]:
    """The tenants a batch changed that its actor named in no command and may not read: left out of its receipt.

    They are the tenants linking a cloud PBX whose users the batch changed, whose members core re-checked in the same
    transaction (``recheck_linking_tenants``); a receipt names no tenant, version or event its actor could not read.
    """
    return {key for key, agg in touched.items()
            if isinstance(agg, Tenant) and agg.state.slug not in commanded
            and not may(actor, agg.state.admins, agg.state.partner, action="read")}


def _check_actor_and_reason(actor: Actor, reason: object) -> None:
    """Refuse a ``reason`` or an actor that a command could not carry (the same rules as the schema's), naming the field."""
    checks = (("reason", reason, Reason, REASON_RULE), ("actor.principal", actor.principal, Principal, NAME_RULE),
              ("actor.partner", actor.partner, Principal, NAME_RULE))
    for field, value, rule, words in checks:
        if value is not None and (problem := rule_problem(value, rule, words)) is not None:
            raise ValidationFailed(problem, field=field)
