"""The compiled routing table of one tenant at one version: what a routing decision reads.

Compiling resolves every user's call handling against the tenant defaults (by their
apply-to scope) once, so a decision does dictionary look-ups only. The table is built
from the tenant's state alone (no application query), so routing depends on nothing
above the aggregates' value objects.
"""

from __future__ import annotations

import msgspec

from core.aggregates.catalog import PbxLink
from core.aggregates.dated import Closure
from core.aggregates.groups import AnswerGroup
from core.aggregates.schedule import OutOfHours
from core.aggregates.services import CallQueue, ForwardingScheme, IvrMenu
from core.aggregates.state import TenantState
from core.aggregates.targets import BusyTone as BusyToneHandling
from core.aggregates.targets import (
    Destination,
    DivertTarget,
    Greeting,
    HandleWithVoicemail,
    NoAnswerRule,
    RejectedHandling,
    ToExtension,
    ToGroup,
    ToIvr,
    ToVoicemail,
    UnassignedHandling,
)


class UserRule(msgspec.Struct, frozen=True, omit_defaults=True):
    """Everything routing needs of one user, defaults resolved."""

    extension: str
    name: str
    reject_anonymous: bool
    forward_always: DivertTarget
    permanent_redirect: str | None
    out_of_hours: OutOfHours | None
    """Only when enabled."""
    unreachable: DivertTarget
    busy: DivertTarget
    call_waiting: bool
    no_answer: NoAnswerRule
    rejected: RejectedHandling
    voicemail_greeting: Greeting


class AnonymousRejection(msgspec.Struct, frozen=True, omit_defaults=True):
    """Withheld callers refused above the users: by the number called (answer groups carry their own flag)."""

    numbers: tuple[str, ...] = ()
    """The tenant's numbers that reject withheld callers, in number order."""
    handling: RejectedHandling = BusyToneHandling()
    """What a caller refused by a number or a group gets: the tenant's rejected-call default, else the engaged tone."""


class RoutingTable(msgspec.Struct, frozen=True, omit_defaults=True):
    """A tenant's routing at one version."""

    tenant: str
    version: int
    time_zone: str
    users: dict[str, UserRule]
    groups: dict[str, AnswerGroup]
    queues: dict[str, CallQueue]
    ivrs: dict[str, IvrMenu]
    schemes: dict[str, ForwardingScheme]
    numbers: dict[str, Destination | None]
    """Every number of the tenant → where it enters (``None``: unassigned-number handling)."""
    unassigned: UnassignedHandling
    pbx_links: dict[str, PbxLink]
    # A factory default: ``omit_defaults`` (which keeps the empty closures of older tables out of their JSON) leaves
    # ``closed`` written, as it always was.
    closed: bool = msgspec.field(default_factory=bool)
    closures: tuple[Closure, ...] = ()
    """The tenant's dated closures, those that list what they close first, each group by name: the first in force wins."""
    anonymous_rejection: AnonymousRejection | None = None
    """Only when a number or an answer group rejects withheld callers (so tables without it encode as before)."""


def user_rule(state: TenantState, extension: str) -> UserRule:
    """One user's rule, with tenant defaults resolved."""
    user = state.users[extension]
    handling = state.resolved(extension)
    ooh = user.out_of_hours if user.out_of_hours is not None and user.out_of_hours.enabled else None
    return UserRule(
        extension=extension,
        name=user.name,
        reject_anonymous=user.reject_anonymous,
        forward_always=user.forward_always,
        permanent_redirect=user.permanent_redirect,
        out_of_hours=ooh,
        unreachable=user.unreachable,
        busy=handling.busy,
        call_waiting=handling.call_waiting,
        no_answer=handling.no_answer,
        rejected=handling.rejected,
        voicemail_greeting=handling.voicemail_greeting,
    )


def numbers_by_source(state: TenantState) -> list[tuple[str, Destination | None, str]]:
    """Every number of the tenant, where it enters and which setting gives it, sorted by number.

    Users' own numbers first, then answer groups', IVR menus' and the number list's; the sort
    is stable, so among a number listed twice the later source comes last (and wins).
    """
    rows: list[tuple[str, Destination | None, str]] = [
        (number, ToExtension(extension=user.extension), "user") for user in state.users.values() for number in user.numbers
    ]
    rows += [(group.settings.number, ToGroup(group=key), "answer group") for key, group in state.groups.items()
             if group.settings.number]
    rows += [(menu.number, ToIvr(ivr=key), "IVR menu") for key, menu in state.ivrs.items() if menu.number]
    rows += [(route.number, route.entry, "number list") for route in state.numbers.values()]
    rows.sort(key=lambda row: row[0])
    return rows


def number_entries(state: TenantState) -> dict[str, Destination | None]:
    """Every number of the tenant → where it enters (a later source wins a number listed twice)."""
    return {number: entry for number, entry, _ in numbers_by_source(state)}


def compile_table(
    state: TenantState, version: int, *, previous: RoutingTable | None = None, changed_users: set[str] | None = None
) -> RoutingTable:
    """The routing table of ``state`` (the tenant at ``version``).

    Given the table of an earlier version of the same tenant and the extensions whose
    settings changed since, only those users' rules are compiled again (rules are
    immutable, so the others are shared); the result equals a full compilation.
    """
    if previous is not None and changed_users is not None:
        users = dict(previous.users)
        for extension in changed_users:
            if extension in state.users:
                users[extension] = user_rule(state, extension)
            else:
                users.pop(extension, None)
    else:
        users = {extension: user_rule(state, extension) for extension in state.users}
    return RoutingTable(
        tenant=state.slug,
        version=version,
        time_zone=state.time_zone,
        users=users,
        groups=dict(state.groups),
        queues=dict(state.queues),
        ivrs=dict(state.ivrs),
        schemes=dict(state.schemes),
        numbers=number_entries(state),
        unassigned=state.unassigned,
        pbx_links=dict(state.pbx_links),
        closed=state.closed,
        closures=tuple(sorted(state.closures.values(), key=lambda c: (c.scope is None, c.name))),
        anonymous_rejection=anonymous_rejection(state),
    )


def refused_handling(handling: RejectedHandling | None, mailbox: str | None) -> RejectedHandling:
    """What a caller refused by a number or a group gets: the tenant's default ``handling`` (``None``: the engaged
    tone), except that voicemail with no ``mailbox`` to take it (a number that enters at no user, a group without a
    voicemail fallback) is the engaged tone."""
    if handling is None or (isinstance(handling, HandleWithVoicemail) and mailbox is None):
        return BusyToneHandling()
    return handling


def group_mailbox(group: AnswerGroup) -> str | None:
    """The voicemail box that is an answer group's own: its fallback, when that is a voicemail box."""
    fallback = group.settings.fallback
    return fallback.extension if isinstance(fallback, ToVoicemail) else None


def anonymous_rejection(state: TenantState) -> AnonymousRejection | None:
    """Which numbers reject withheld callers and what such callers get, when any number or group rejects them."""
    numbers = tuple(sorted(n for n, s in state.number_settings.items() if s.reject_anonymous))
    if not numbers and not any(group.reject_anonymous for group in state.groups.values()):
        return None
    return AnonymousRejection(numbers=numbers, handling=state.defaults.rejected or BusyToneHandling())
