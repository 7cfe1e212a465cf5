"""One routing decision in progress: where a call enters, destinations, and what the plan depended on.

``Router`` holds the call, the endpoint states and the strategies' memory, records what
the plan depended on (as bit flags, turned into a shared frozenset at the end), and,
only when the decision is asked to explain itself, every rule consulted. Users, groups
and queues, IVR menus and schemes are routed by the mixins in ``users.py``,
``groups.py`` and ``menus.py``; ``decide.py`` puts them together.

The explanation is optional because formatting its reasons costs about as much as the
decision: every ``Step`` is built under ``if self.explain``, and nothing else may differ
between the two paths (a property test checks plans, memory and dependencies agree).
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import msgspec

from core.aggregates.catalog import UnknownPbxMember
from core.aggregates.describe import describe
from core.aggregates.identifiers import normalise_number
from core.aggregates.targets import BusyTone as BusyToneHandling
from core.aggregates.targets import (
    ForwardTo,
    HandleWithVoicemail,
    MessageAndHangUp,
    PlayMessage,
    ToExtension,
    ToExternalSip,
    ToGroup,
    ToIvr,
    ToNumber,
    ToQueue,
    ToRemote,
    ToResponsibleManager,
    ToScheme,
    ToVoicemail,
    ToWebhook,
)
from core.errors import MalformedNumberError
from core.routing.decision import Call, EndpointState, RoutingMemory, UnknownNumberError
from core.routing.plan import (
    BusyTone,
    Endpoint,
    HopLimit,
    Leg,
    Lookup,
    Message,
    Missed,
    Node,
    Ring,
    Step,
    Unavailable,
    Via,
    Voicemail,
)
from core.routing.table import RoutingTable, refused_handling
from core.routing.windows import describe_local

TIME, STATES, MEMORY, AGENTS = 1, 2, 4, 8
"""What a plan depended on, as bits of ``Router.depends``."""
_DEPENDS = tuple(
    frozenset(name for bit, name in ((TIME, "time"), (STATES, "states"), (MEMORY, "memory"), (AGENTS, "agents")) if flags & bit)
    for flags in range(16)
)
"""Every combination as one shared frozenset: a decision names its dependencies without building a set."""


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


class Router:
    """The state of one decision; the mixins' methods route users, groups, queues, menus and schemes."""

    def __init__(
        self, table: RoutingTable, call: Call, states: dict[str, EndpointState], memory: RoutingMemory, hop_limit: int,
        explain: bool,
    ) -> None:
        self.table = table
        self.call = call
        self._states = states
        self.hop_limit = hop_limit
        self.explain = explain
        self.steps: list[Step] = []
        self.digits = call.digits
        self._memory = memory
        self._last_offered = memory.last_offered
        self._offered_changes: dict[str, str] = {}
        self._local: datetime | None = None
        self._when: str | None = None
        self.depends = 0
        self.rejected_anonymous = False

    def memory(self) -> RoutingMemory:
        """The strategies' memory after this decision (the same object when nothing changed)."""
        if not self._offered_changes:
            return self._memory
        return msgspec.structs.replace(self._memory, last_offered={**self._last_offered, **self._offered_changes})

    def depends_on(self) -> frozenset[str]:
        return _DEPENDS[self.depends]

    def note(self, depth: int, at: str, rule: str, matched: bool, reason: str) -> None:
        """Record one rule consulted; callers check ``self.explain`` first, so reasons are formatted only when asked."""
        self.steps.append(Step(depth, at, rule, matched, reason))

    def unknown(self, remote: tuple[str, str]) -> UnknownPbxMember | None:
        """The mark on ``(pbx, member)`` when the PBX directory stopped listing it (``None``: not marked)."""
        link = self.table.pbx_links.get(remote[0])
        return link.unknown_members.get(remote[1]) if link is not None and link.unknown_members else None

    def unknown_reason(self, remote: tuple[str, str]) -> str:
        """Why a member of another PBX is not rung, in words (only for explanations)."""
        mark = self.unknown(remote)
        assert mark is not None
        since = describe_local(mark.since.astimezone(_zone(self.table.time_zone)))
        return f"{remote[0]}/{remote[1]} is unknown since {since} ({mark.finding}): skipped"

    def _wall_clock(self) -> datetime:
        # Converted on first use: most plans never consult a schedule.
        if self._local is None:
            self._local = self.call.at.astimezone(_zone(self.table.time_zone))
        return self._local

    @property
    def local(self) -> datetime:
        """The call's instant on the tenant's wall clock, for a decision: the plan depends on the time."""
        self.depends |= TIME
        return self._wall_clock()

    @property
    def states(self) -> dict[str, EndpointState]:
        """Endpoint states, for a decision: the plan depends on them."""
        self.depends |= STATES
        return self._states

    @property
    def when(self) -> str:
        """The call's instant on the tenant's wall clock, for explanations (formatted once)."""
        if self._when is None:
            self._when = describe_local(self._wall_clock())
        return self._when

    def entry(self) -> Node:
        """Where the dialled number or extension enters the tenant's routing."""
        table, dialled, explain = self.table, self.call.dialled, self.explain
        if table.closed:
            if explain:
                self.note(0, f"number {dialled}", "entry", True, f"tenant {table.tenant!r} is closed: no call is routed")
            return Unavailable()
        if dialled in table.users:
            if explain:
                self.note(0, f"number {dialled}", "entry", True, f"internal call to extension {dialled} at {self.when}")
            return self.user(dialled, ())
        number = dialled if dialled in table.numbers else _tenant_number(table, dialled)
        entry = table.numbers[number]
        rejection = table.anonymous_rejection
        if rejection is not None and number in rejection.numbers:
            refused = self.reject_withheld(0, f"number {number}", (), mailbox=_mailbox_of(entry))
            if refused is not None:
                return refused
        if entry is None:
            if explain:
                self.note(0, f"number {number}", "entry", True, f"{number} routes nowhere at {self.when}: unassigned-number handling")
            return self.handling(table.unassigned, (), owner=None)
        if explain:
            self.note(0, f"number {number}", "entry", True, f"{number} enters at {describe(entry)} at {self.when}")
        return self.destination(entry, (), owner=None)

    def destination(self, dest: object, path: tuple[str, ...], *, owner: str | None) -> Node:
        """Route to any destination; ``owner`` is the user whose own voicemail a bare voicemail means."""
        match dest:
            case ToExtension(extension=ext):
                return self.user(ext, path)
            case ToGroup(group=key):
                return self.group(key, path)
            case ToVoicemail(extension=ext):
                box = ext or owner or ""
                rule = self.table.users.get(box)
                return Voicemail(box=box, greeting=rule.voicemail_greeting if rule else None)
            case ToNumber():
                return Ring(legs=(external_leg(dest),), via=f"number {dest.number}", purpose=Via(kind="number", target=dest.number))
            case ToQueue(queue=key):
                return self.queue(key, path)
            case ToIvr(ivr=key):
                return self.ivr(key, path)
            case ToScheme(scheme=key):
                return self.scheme(key, path)
            case ToExternalSip(uri=uri):
                return Ring(legs=(Leg(endpoint=Endpoint(kind="external_sip", id=uri)),), via=f"SIP {uri}",
                            purpose=Via(kind="sip", target=uri))
            case ToRemote(pbx=pbx, member=member):
                if self.unknown((pbx, member)) is not None:
                    # Like an unavailable member of a group, it is skipped: a scheme goes on to its next step.
                    if self.explain:
                        self.note(len(path) + 1, _at(path), "PBX member", False, self.unknown_reason((pbx, member)))
                    return Missed()
                return Ring(legs=(Leg(endpoint=Endpoint(kind="remote", id=f"{pbx}/{member}")),), via=f"PBX {pbx}",
                            purpose=Via(kind="pbx", target=pbx))
            case ToWebhook(url=url):
                if self.explain:
                    self.note(len(path) + 1, _at(path), "webhook", True, f"the number is asked from {url} at call time")
                return Lookup(source="webhook", url=url)
            case ToResponsibleManager():
                if self.explain:
                    self.note(len(path) + 1, _at(path), "responsible manager", True, "the CRM names the manager at call time")
                return Lookup(source="responsible_manager")
            case PlayMessage(message=message):
                return Message(message=message)
        raise TypeError(f"not a destination: {dest!r}")

    def enter(self, node: str, path: tuple[str, ...]) -> tuple[str, ...] | HopLimit:
        """The path after entering ``node``, or a hop-limit stop (a loop, or just too many hops)."""
        new = (*path, node)
        if len(new) > self.hop_limit:
            if self.explain:
                why = (f"{node} was already visited, so these settings send calls round in a loop" if node in path
                       else "a chain longer than the limit")
                self.note(len(path) + 1, node, "hop limit", True,
                          f"the hop limit of {self.hop_limit} hops fired: {' → '.join(new)}; {why}; "
                          "routing stops here and the call ends unanswered (a missed call)")
            return HopLimit(path=new)
        return new

    def handling(self, handling: object, path: tuple[str, ...], *, owner: str | None) -> Node:
        """Rejected-call or unassigned-number handling."""
        match handling:
            case HandleWithVoicemail():
                return self.destination(ToVoicemail(extension=owner), path, owner=owner)
            case MessageAndHangUp(message=message):
                return Message(message=message)
            case BusyToneHandling():
                return BusyTone()
            case ForwardTo(target=target):
                return self.destination(target, path, owner=owner)
        raise TypeError(handling)

    def withheld_reason(self) -> str:
        """Why the caller counts as anonymous, in words (only for explanations)."""
        if self.call.effective_presentation == "unavailable":
            return "the network delivers no caller id (presentation unavailable)"
        return "the caller withholds their number (presentation restricted)"

    def reject_withheld(self, depth: int, at: str, path: tuple[str, ...], *, mailbox: str | None) -> Node | None:
        """A number's or an answer group's anonymous rejection (it is on): the tenant's rejected-call handling for a
        withheld caller, ``None`` for a caller id that is presented. ``mailbox``: whose voicemail "voicemail" means."""
        call = self.call
        if not call.withheld:
            if self.explain:
                self.note(depth, at, "anonymous rejection", False, f"caller id {call.caller} is present")
            return None
        self.rejected_anonymous = True
        rejection = self.table.anonymous_rejection
        default = rejection.handling if rejection is not None else None
        handling = refused_handling(default, mailbox)
        if self.explain:
            why = f" ({at} has no voicemail box)" if handling is not default and default is not None else ""
            self.note(depth, at, "anonymous rejection", True,
                      f"{self.withheld_reason()} and {at} rejects anonymous calls: {describe(handling)}{why}")
        return self.handling(handling, path, owner=mailbox)

    # Routed by the mixins (users.py, groups.py, menus.py).
    def user(self, ext: str, path: tuple[str, ...]) -> Node:
        raise NotImplementedError

    def group(self, key: str, path: tuple[str, ...]) -> Node:
        raise NotImplementedError

    def queue(self, key: str, path: tuple[str, ...]) -> Node:
        raise NotImplementedError

    def ivr(self, key: str, path: tuple[str, ...]) -> Node:
        raise NotImplementedError

    def scheme(self, key: str, path: tuple[str, ...]) -> Node:
        raise NotImplementedError


def _tenant_number(table: RoutingTable, dialled: str) -> str:
    """The tenant's number as stored (E.164) that ``dialled`` names, or ``UnknownNumberError``."""
    try:
        number = normalise_number(dialled, field="to")
    except MalformedNumberError:
        raise UnknownNumberError(f"{dialled!r} is neither an extension nor a number of tenant {table.tenant!r}", field="to") from None
    if number not in table.numbers:
        raise UnknownNumberError(f"{number} is not a number of tenant {table.tenant!r} (table version {table.version})", field="to")
    return number


def _mailbox_of(entry: object) -> str | None:
    """The voicemail box a number's own rejection means: that of the user (or box) the number enters at."""
    match entry:
        case ToExtension(extension=ext) | ToVoicemail(extension=ext):
            return ext
    return None


def external_leg(target: ToNumber, seconds: int | None = None) -> Leg:
    """The leg that rings an external number with its divert options."""
    return Leg(endpoint=Endpoint(kind="external", id=target.number), seconds=seconds, announce=target.announce,
               present_dialled_number=target.present_dialled_number)


@lru_cache(maxsize=65536)
def user_endpoint(extension: str) -> Endpoint:
    return Endpoint(kind="user", id=extension)


def _at(path: tuple[str, ...]) -> str:
    return path[-1] if path else "entry"
