"""Where a call goes, and why: ``route(table, call, states, memory) -> Decision``.

A pure function. A call to a user is decided in this order (DESIGN.md): anonymous
rejection → forward always (then a device's permanent redirect, then a number divert
marked "always") → out of hours → unreachable → busy (call waiting off) → ring until
the no-answer timeout → no-answer rule. Groups, queues, IVR menus and forwarding
schemes follow their own settings. Every rule consulted is recorded, in order, with
why it matched or not. Strategies that need memory (round robin, least recently
answered, random order) read it from ``memory`` and the decision returns the updated
memory; nothing is kept between calls.

Endpoint states are keyed by extension (``2001``) or, for members of other PBXs,
``pbx/member``; a missing key means available. ``excluded`` takes an endpoint out of
group and queue calls only.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

import msgspec

from core.aggregates.describe import describe
from core.aggregates.groups import AnswerGroup, CloudMember, LocalMember, SipMember
from core.aggregates.identifiers import normalise_number
from core.aggregates.targets import (
    BusyTone as BusyToneHandling,
)
from core.aggregates.targets import (
    ForwardTo,
    HandleWithVoicemail,
    MessageAndHangUp,
    Off,
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
from core.errors import MalformedNumberError, NotFoundError
from core.projections.table import RoutingTable, UserRule
from core.routing.plan import (
    BusyTone,
    Endpoint,
    HopLimit,
    Leg,
    Lookup,
    Menu,
    Message,
    Missed,
    Node,
    Queue,
    Ring,
    Step,
    Unavailable,
    Via,
    Voicemail,
)
from core.routing.windows import describe_local, open_window, out_of_hours_window

EndpointState = Literal["available", "busy", "unreachable", "excluded"]
DEFAULT_HOP_LIMIT = 8


class UnknownNumberError(NotFoundError):
    """The dialled number is neither an extension nor a number of the tenant."""

    rule = "unknown_number"


class Call(msgspec.Struct, frozen=True):
    """A call to route: who dialled what, when, and (optionally) the IVR digits the caller presses."""

    dialled: str
    at: datetime
    caller: str | None = None
    """The caller id; ``None`` for an anonymous (withheld) caller."""
    digits: str | None = None
    """IVR input: ``None`` = unknown (the plan shows every option), ``""`` = presses nothing."""
    call_id: str = ""
    """Distinguishes calls for the ``random`` strategy's order."""


class RoutingMemory(msgspec.Struct, frozen=True):
    """What strategies remember between calls."""

    last_offered: dict[str, str] = {}
    """Group → key of the member a round-robin call was last offered to first."""
    last_answered: dict[str, float] = {}
    """Member key → POSIX time it last answered a group call (least recently answered)."""
    seed: int = 0
    """Seed of the ``random`` strategy's order (the order also depends on the call id)."""


class Decision(msgspec.Struct, frozen=True):
    """A routing plan, the explanation of how it was reached, and the updated strategy memory."""

    plan: Node
    explanation: tuple[Step, ...]
    memory: RoutingMemory
    rejected_anonymous: bool = False
    """The callee rejects anonymous calls and this caller withheld their number: the plan is the
    rejected-call handling."""
    depends_on: frozenset[str] = frozenset()
    """What besides the table, the dialled number, the caller's anonymity and the digits the plan
    depended on: ``time`` (a schedule was consulted), ``states`` (endpoint states picked a
    destination), ``memory`` (a strategy's memory), ``agents`` (only a queue node's list of
    logged-in agents, which is informative: who is logged in changes while callers wait). Empty:
    the same plan holds for every such call (the explanation's wording may still mention the
    instant)."""


def record_answer(memory: RoutingMemory, member_key: str, at: datetime) -> RoutingMemory:
    """The memory after ``member_key`` answered a group call at ``at`` (for least-recently-answered)."""
    return msgspec.structs.replace(memory, last_answered={**memory.last_answered, member_key: at.timestamp()})


@lru_cache(maxsize=65536)
def member_key(ref: object) -> str:
    """The endpoint-state and memory key of a group member."""
    match ref:
        case LocalMember(extension=ext):
            return ext
        case CloudMember(pbx=pbx, member=member):
            return f"{pbx}/{member}"
        case SipMember(pbx=pbx, internal_number=number):
            return f"{pbx}/{number}"
    raise TypeError(ref)


def route(
    table: RoutingTable,
    call: Call,
    states: dict[str, EndpointState] | None = None,
    memory: RoutingMemory | None = None,
    *,
    hop_limit: int = DEFAULT_HOP_LIMIT,
) -> Decision:
    """Decide where ``call`` goes under ``table`` with endpoints in ``states``."""
    router = _Router(table, call, states or {}, memory or RoutingMemory(), hop_limit)
    plan = router.entry()
    return Decision(plan=plan, explanation=tuple(router.steps), memory=router.memory(), rejected_anonymous=router.rejected_anonymous,
                    depends_on=frozenset(router.depends))


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


class _Router:
    def __init__(
        self, table: RoutingTable, call: Call, states: dict[str, EndpointState], memory: RoutingMemory, hop_limit: int
    ) -> None:
        self.table = table
        self.call = call
        self._states = states
        self.hop_limit = hop_limit
        self.steps: list[Step] = []
        self._local = call.at.astimezone(_zone(table.time_zone))
        self.digits = call.digits
        self._last_offered = memory.last_offered
        self._offered_changes: dict[str, str] = {}
        self._memory = memory
        self._when: str | None = None
        self.depends: set[str] = set()
        self.rejected_anonymous = False

    def memory(self) -> RoutingMemory:
        if not self._offered_changes:
            return self._memory
        return msgspec.structs.replace(self._memory, last_offered={**self._last_offered, **self._offered_changes})

    def note(self, depth: int, at: str, rule: str, matched: bool, reason: str) -> None:
        self.steps.append(Step(depth, at, rule, matched, reason))

    @property
    def local(self) -> datetime:
        """The call's instant on the tenant's wall clock, for a decision: the plan depends on the time."""
        self.depends.add("time")
        return self._local

    @property
    def states(self) -> dict[str, EndpointState]:
        """Endpoint states, for a decision: the plan depends on them."""
        self.depends.add("states")
        return self._states

    @property
    def when(self) -> str:
        """The call's instant on the tenant's wall clock, for explanations (formatted once)."""
        if self._when is None:
            self._when = describe_local(self._local)
        return self._when

    # -- entry ------------------------------------------------------------------------------

    def entry(self) -> Node:
        table, dialled = self.table, self.call.dialled
        when = self.when
        if table.closed:
            self.note(0, f"number {dialled}", "entry", True, f"tenant {table.tenant!r} is closed: no call is routed")
            return Unavailable()
        if dialled in table.users:
            self.note(0, f"number {dialled}", "entry", True, f"internal call to extension {dialled} at {when}")
            return self.user(dialled, ())
        try:
            number = normalise_number(dialled, field="to")
        except MalformedNumberError:
            raise UnknownNumberError(f"{dialled!r} is neither an extension nor a number of tenant {table.tenant!r}",
                                     field="to") from None
        if number not in table.numbers:
            raise UnknownNumberError(f"{number} is not a number of tenant {table.tenant!r} (table version {table.version})", field="to")
        entry = table.numbers[number]
        if entry is None:
            self.note(0, f"number {number}", "entry", True, f"{number} routes nowhere at {when}: unassigned-number handling")
            return self.handling(table.unassigned, (), 1, owner=None)
        self.note(0, f"number {number}", "entry", True, f"{number} enters at {describe(entry)} at {when}")
        return self.destination(entry, (), owner=None)

    # -- destinations ---------------------------------------------------------------------

    def destination(self, dest: object, path: tuple[str, ...], *, owner: str | None) -> Node:
        """Route to any destination; ``owner`` is the user whose own voicemail a bare voicemail means."""
        depth = len(path) + 1
        match dest:
            case ToExtension(extension=ext):
                return self.user(ext, path)
            case ToVoicemail(extension=ext):
                box = ext or owner or ""
                rule = self.table.users.get(box)
                return Voicemail(box=box, greeting=rule.voicemail_greeting if rule else None)
            case ToNumber():
                return Ring(legs=(self.external_leg(dest),), via=f"number {dest.number}", purpose=Via(kind="number", target=dest.number))
            case ToExternalSip(uri=uri):
                return Ring(legs=(Leg(endpoint=Endpoint(kind="external_sip", id=uri)),), via=f"SIP {uri}", purpose=Via(kind="sip", target=uri))
            case ToRemote(pbx=pbx, member=member):
                return Ring(legs=(Leg(endpoint=Endpoint(kind="remote", id=f"{pbx}/{member}")),), via=f"PBX {pbx}",
                            purpose=Via(kind="pbx", target=pbx))
            case ToGroup(group=key):
                return self.group(key, path)
            case ToQueue(queue=key):
                return self.queue(key, path)
            case ToIvr(ivr=key):
                return self.ivr(key, path)
            case ToScheme(scheme=key):
                return self.scheme(key, path)
            case ToWebhook(url=url):
                self.note(depth, _at(path), "webhook", True, f"the number is asked from {url} at call time")
                return Lookup(source="webhook", url=url)
            case ToResponsibleManager():
                self.note(depth, _at(path), "responsible manager", True, "the CRM names the manager at call time")
                return Lookup(source="responsible_manager")
            case PlayMessage(message=message):
                return Message(message=message)
        raise TypeError(f"not a destination: {dest!r}")

    def external_leg(self, target: ToNumber, seconds: int | None = None) -> Leg:
        return Leg(endpoint=Endpoint(kind="external", id=target.number), seconds=seconds, announce=target.announce,
                   present_dialled_number=target.present_dialled_number)

    def enter(self, node: str, path: tuple[str, ...]) -> tuple[str, ...] | HopLimit:
        """The path after entering ``node``, or a hop-limit stop (a loop, or just too many hops)."""
        new = (*path, node)
        if len(new) > self.hop_limit:
            loop = f"; {node} was already visited" if node in path else ""
            self.note(len(path) + 1, node, "hop limit", True,
                      f"{self.hop_limit} hops reached: {' → '.join(new)}{loop}; forwarding stops here")
            return HopLimit(path=new)
        return new

    def handling(self, handling: object, path: tuple[str, ...], depth: int, *, owner: str | None) -> Node:
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

    # -- users --------------------------------------------------------------------------------

    def user(self, ext: str, path: tuple[str, ...]) -> Node:
        entered = self.enter(f"user {ext}", path)
        if isinstance(entered, HopLimit):
            return entered
        path, at, depth = entered, f"user {ext}", len(entered)
        add = self.steps.append
        rule = self.table.users.get(ext)
        if rule is None:  # pragma: no cover - referential integrity keeps targets valid
            add(Step(depth, at, "user", False, f"extension {ext} does not exist"))
            return Unavailable()
        caller = self.call.caller
        if rule.reject_anonymous and caller is None:
            add(Step(depth, at, "anonymous rejection", True, "the caller withholds their number and the user rejects anonymous calls"))
            self.rejected_anonymous = True
            return self.handling(rule.rejected, path, depth, owner=ext)
        self.note(depth, at, "anonymous rejection", False,
                  "reject anonymous is off" if not rule.reject_anonymous else f"caller id {caller} is present")

        if not isinstance(rule.forward_always, Off):
            add(Step(depth, at, "forward always", True, f"every call goes to {describe(rule.forward_always)}"))
            return self.destination(rule.forward_always, path, owner=ext)
        add(Step(depth, at, "forward always", False, "off"))
        if rule.permanent_redirect is not None:
            add(Step(depth, at, "permanent redirect", True, f"the device redirects every call to {rule.permanent_redirect}"))
            return Ring(legs=(Leg(endpoint=Endpoint(kind="external", id=rule.permanent_redirect)),), via=f"user {ext} redirect",
                        purpose=Via(kind="redirect", target=ext))
        add(Step(depth, at, "permanent redirect", False, "none"))
        for name, target in (("no answer", rule.no_answer.target), ("busy", rule.busy)):
            if isinstance(target, ToNumber) and target.always:
                add(Step(depth, at, f"{name} divert marked always", True, f"redirects every call to {target.number} at once"))
                return Ring(legs=(self.external_leg(target),), via=f"user {ext} always-redirect", purpose=Via(kind="redirect", target=ext))
        add(Step(depth, at, "redirect always", False, "no number divert is marked always"))

        if rule.out_of_hours is not None:
            window = out_of_hours_window(rule.out_of_hours, self.local)
            if window is not None:
                self.note(depth, at, "out of hours", True,
                          f"{self.when} is in {window}: to {describe(rule.out_of_hours.when_unavailable)}")
                return self.destination(rule.out_of_hours.when_unavailable, path, owner=ext)
            add(Step(depth, at, "out of hours", False, f"{self.when} is in no unavailable window"))
        else:
            add(Step(depth, at, "out of hours", False, "no schedule"))

        state = self.states.get(ext, "available")
        if state == "unreachable":
            if isinstance(rule.unreachable, Off):
                add(Step(depth, at, "unreachable", True, "the phone is unreachable and the divert is off: unavailable"))
                return Unavailable()
            add(Step(depth, at, "unreachable", True, f"the phone is unreachable: to {describe(rule.unreachable)}"))
            return self.destination(rule.unreachable, path, owner=ext)
        add(Step(depth, at, "unreachable", False, f"the phone is {state}"))

        if state == "busy":
            if rule.call_waiting:
                add(Step(depth, at, "busy", False, "the user is on a call but call waiting is on: the call waits"))
            elif isinstance(rule.busy, Off):
                add(Step(depth, at, "busy", True, "the user is on a call, call waiting is off, the divert is off: engaged tone"))
                return BusyTone()
            else:
                add(Step(depth, at, "busy", True, f"the user is on a call and call waiting is off: to {describe(rule.busy)}"))
                return self.destination(rule.busy, path, owner=ext)
        else:
            add(Step(depth, at, "busy", False, f"the phone is {state}"))

        return self.ring_user(rule, path, depth, at)

    def ring_user(self, rule: UserRule, path: tuple[str, ...], depth: int, at: str) -> Node:
        no_answer = rule.no_answer
        leg = _user_endpoint(rule.extension)
        add = self.steps.append
        if isinstance(no_answer.target, Off):
            add(Step(depth, at, "no answer", False, "the divert is off: keeps ringing until answered or the caller hangs up"))
            return Ring(legs=(Leg(endpoint=leg),), via=at, purpose=_user_via(rule.extension))
        add(Step(depth, at, "no answer", True, f"rings {no_answer.ring_seconds} s, then to {describe(no_answer.target)}"))
        then = self.destination(no_answer.target, path, owner=rule.extension)
        return Ring(legs=(Leg(endpoint=leg, seconds=no_answer.ring_seconds),), via=at, purpose=_user_via(rule.extension), then=then)

    # -- groups ---------------------------------------------------------------------------------

    def group(self, key: str, path: tuple[str, ...]) -> Node:
        entered = self.enter(f"group {key}", path)
        if isinstance(entered, HopLimit):
            return entered
        path, at, depth = entered, f"group {key}", len(entered)
        group = self.table.groups[key]
        settings = group.settings
        legs = []
        steps, states = self.steps, self.states
        for member in self.member_order(group, at, depth):
            mkey, leg, ringing = _member_leg(member)
            if member.excluded:
                steps.append(Step(depth, at, "member", False, f"{mkey} is excluded from the group for now"))
                continue
            state = states.get(mkey, "available")
            if state != "available":
                steps.append(Step(depth, at, "member", False, f"{mkey} is {state}"))
                continue
            legs.append(leg)
            steps.append(Step(depth, at, "member", True, ringing))
        if settings.fallback is not None:
            then = self.destination(settings.fallback, path, owner=None)
            fallback = f"then {describe(settings.fallback)}"
        else:
            then = None
            fallback = "then nothing: a missed call"
        if not legs:
            self.note(depth, at, "if nobody answers", True, f"no member can take the call: {fallback}")
            return then if then is not None else Missed()
        mode = "parallel" if settings.strategy == "simultaneous" else "sequential"
        self.note(depth, at, "if nobody answers", True, f"after {settings.timeout_seconds} s ({settings.strategy}): {fallback}")
        return Ring(legs=tuple(legs), mode=mode, limit_seconds=settings.timeout_seconds, via=at,
                    purpose=Via(kind="group", target=key), then=then)

    def member_order(self, group: AnswerGroup, at: str, depth: int) -> list:
        members = list(group.members)
        strategy = group.settings.strategy
        if strategy in ("round_robin", "least_recent", "random"):
            self.depends.add("memory")
        if strategy == "round_robin" and members:
            keys = [member_key(m.ref) for m in members]
            last = self._last_offered.get(group.id)
            start = (keys.index(last) + 1) % len(keys) if last in keys else 0
            members = members[start:] + members[:start]
            first = next((m for m in members if not m.excluded and self.states.get(member_key(m.ref), "available") == "available"),
                         None)
            if first is not None:
                self._offered_changes[group.id] = member_key(first.ref)
            self.note(depth, at, "round robin", True, f"starts after {last or 'nobody'} (the member offered first last time)")
        elif strategy == "least_recent":
            answered = self._memory.last_answered
            members.sort(key=lambda m: answered.get(member_key(m.ref), float("-inf")))
            self.note(depth, at, "least recently answered", True, "members who answered longest ago (or never) ring first")
        elif strategy == "random":
            salt = f"{self._memory.seed}|{self.call.call_id}|{group.id}|"
            members.sort(key=lambda m: hashlib.sha256((salt + member_key(m.ref)).encode()).digest())
            self.note(depth, at, "random", True, f"order drawn from seed {self._memory.seed} and call {self.call.call_id!r}")
        return members

    # -- queues, menus, schemes ----------------------------------------------------------------

    def queue(self, key: str, path: tuple[str, ...]) -> Node:
        entered = self.enter(f"queue {key}", path)
        if isinstance(entered, HopLimit):
            return entered
        path, at, depth = entered, f"queue {key}", len(entered)
        queue = self.table.queues[key]
        states = self._states
        # Whether anyone is logged in picks the destination only with a no-agents destination.
        self.depends.add("states" if queue.when_no_agents is not None else "agents")
        if states:
            # Only agents that are not available appear in the states; most are.
            logged_in = tuple(_user_endpoint(ext) for ext in queue.agents if states.get(ext) in (None, "busy"))
            free = sum(1 for ext in queue.agents if ext not in states)
        else:
            logged_in = _queue_endpoints(queue.agents)
            free = len(logged_in)
        if not logged_in and queue.when_no_agents is not None:
            self.note(depth, at, "no agents", True, f"no agent is logged in: to {describe(queue.when_no_agents)}")
            return self.destination(queue.when_no_agents, path, owner=None)
        self.note(depth, at, "no agents", False, f"{len(logged_in)} agents logged in, {free} free")
        after = self.destination(queue.after_max_wait, path, owner=None) if queue.after_max_wait is not None else None
        self.note(depth, at, "maximum wait", True,
                  f"waits at most {queue.max_wait_seconds} s, then {describe(queue.after_max_wait) if after else 'the call ends'}")
        return Queue(
            queue=key,
            agents=logged_in,
            strategy=queue.strategy,
            agent_ring_seconds=queue.agent_ring_seconds,
            wrap_up_seconds=queue.wrap_up_seconds,
            max_wait_seconds=queue.max_wait_seconds,
            after_max_wait=after,
            announce_position=queue.announce_position,
            announce_hold_time=queue.announce_hold_time,
            hold_music=queue.hold_music,
        )

    def ivr(self, key: str, path: tuple[str, ...]) -> Node:
        entered = self.enter(f"ivr {key}", path)
        if isinstance(entered, HopLimit):
            return entered
        path, at, depth = entered, f"ivr {key}", len(entered)
        menu = self.table.ivrs[key]
        if menu.opening_hours is not None:
            window = open_window(menu.opening_hours, self.local)
            if window is None:
                self.note(depth, at, "opening hours", True, f"{self.when} is outside the opening hours: closed")
                return self.destination(menu.when_closed, path, owner=None) if menu.when_closed else Missed()
            self.note(depth, at, "opening hours", False, f"open: {window}")
        base = {"ivr": key, "prompt": menu.prompt, "timeout_seconds": menu.timeout_seconds, "retries": menu.retries}
        if self.digits is not None:
            digit, self.digits = self.digits[:1], self.digits[1:]
            if digit == "":
                self.note(depth, at, "caller input", True, f"no digit after {menu.retries + 1} tries")
                branch = self.destination(menu.on_no_input, path, owner=None) if menu.on_no_input else Missed()
                return Menu(**base, on_no_input=branch, chosen="")
            if digit in menu.options:
                self.note(depth, at, "caller input", True, f"pressed {digit}: {describe(menu.options[digit])}")
                return Menu(**base, options={digit: self.destination(menu.options[digit], path, owner=None)}, chosen=digit)
            self.note(depth, at, "caller input", True, f"pressed {digit}, which is no option")
            branch = self.destination(menu.on_invalid, path, owner=None) if menu.on_invalid else Missed()
            return Menu(**base, on_invalid=branch, chosen=digit)
        self.note(depth, at, "caller input", False, "unknown: every option is shown")
        options = {digit: self.destination(dest, path, owner=None) for digit, dest in sorted(menu.options.items())}
        return Menu(
            **base,
            options=options,
            on_invalid=self.destination(menu.on_invalid, path, owner=None) if menu.on_invalid else None,
            on_no_input=self.destination(menu.on_no_input, path, owner=None) if menu.on_no_input else None,
        )

    def scheme(self, key: str, path: tuple[str, ...]) -> Node:
        entered = self.enter(f"scheme {key}", path)
        if isinstance(entered, HopLimit):
            return entered
        path, at, depth = entered, f"scheme {key}", len(entered)
        scheme = self.table.schemes[key]
        if scheme.working_hours is not None:
            window = open_window(scheme.working_hours, self.local)
            if window is None:
                outside = scheme.outside_hours
                self.note(depth, at, "working hours", True,
                          f"{self.when} is outside working hours: {describe(outside) if outside else 'missed'}")
                return self.destination(outside, path, owner=None) if outside is not None else Missed()
            self.note(depth, at, "working hours", False, f"within {window}")
        whole = Via(kind="scheme", target=key)
        backup = [(step, f"{at} backup step {i + 1}", whole) for i, step in enumerate(scheme.backup)]
        if scheme.mode == "parallel":
            legs, timeouts, rest = [], [], []
            for index, step in enumerate(scheme.steps):
                if not isinstance(step.destination, ToExtension | ToNumber | ToExternalSip):
                    rest.append(step)
                    continue
                leg = self.ring_leg(step.destination, step.timeout_seconds, depth, f"{at} step {index + 1}")
                if leg is not None:
                    legs.append(leg)
                    timeouts.append(step.timeout_seconds)
            if not legs:
                self.note(depth, at, "parallel", False, "no destination can ring at once")
                return self.chain([(step, f"{at} step {i + 1}", whole) for i, step in enumerate(rest)] + backup, path) or Missed()
            limit = max(timeouts)
            self.note(depth, at, "parallel", True, f"{len(legs)} destinations ring at once for up to {limit} s")
            then = self.chain([(step, f"{at} after the parallel ring {i + 1}", whole) for i, step in enumerate(rest)] + backup, path)
            return Ring(legs=tuple(legs), mode="parallel", limit_seconds=limit, via=at, purpose=Via(kind="scheme", target=key), then=then)
        steps = [(step, f"{at} step {i + 1}", Via(kind="scheme", target=key, step=i + 1)) for i, step in enumerate(scheme.steps)]
        return self.chain(steps + backup, path) or Missed()

    def chain(self, steps: list, path: tuple[str, ...]) -> Node | None:
        """Scheme steps in order: each one's "no answer" continues with the rest (explained in order)."""
        if not steps:
            return None
        (step, at, via), rest = steps[0], steps[1:]
        dest, seconds, depth = step.destination, step.timeout_seconds, len(path)
        if isinstance(dest, ToExtension) and self.states.get(dest.extension) in ("busy", "unreachable"):
            self.note(depth, at, "step", False, f"extension {dest.extension} is {self.states[dest.extension]}: skipped")
            return self.chain(rest, path)
        leg = self.ring_leg(dest, seconds, depth, at)
        if leg is not None:
            self.note(depth, at, "step", True, f"rings {leg.endpoint.id} for {seconds} s")
            return Ring(legs=(leg,), via=at, purpose=via, then=self.chain(rest, path))
        self.note(depth, at, "step", True, f"goes to {describe(dest)}")
        node = self.destination(dest, path, owner=None)
        if isinstance(node, Missed) and rest:
            self.note(depth, at, "step", False, f"{describe(dest)} cannot take the call: on to the next step")
            return self.chain(rest, path)
        if isinstance(node, Lookup | Ring) and node.then is None and rest:
            return msgspec.structs.replace(node, then=self.chain(rest, path))
        if rest and not isinstance(node, Lookup | Ring):
            self.note(depth, at, "later steps", False, f"{describe(dest)} ends the scheme: {len(rest)} later steps never run")
        return node

    def ring_leg(self, dest: object, seconds: int, depth: int, at: str) -> Leg | None:
        """A ringing leg for a scheme step that rings a phone, or ``None`` for other destinations."""
        match dest:
            case ToExtension(extension=ext):
                state = self.states.get(ext, "available")
                if state in ("busy", "unreachable"):  # "excluded" only concerns groups and queues
                    self.note(depth, at, "step", False, f"extension {ext} is {state}: skipped")
                    return None
                return Leg(endpoint=Endpoint(kind="user", id=ext), seconds=seconds)
            case ToNumber():
                return self.external_leg(dest, seconds)
            case ToExternalSip(uri=uri):
                return Leg(endpoint=Endpoint(kind="external_sip", id=uri), seconds=seconds)
        return None


@lru_cache(maxsize=65536)
def _member_leg(member: object) -> tuple[str, Leg, str]:
    """A group member's key, ring leg and explanation text (all immutable, so built once)."""
    mkey = member_key(member.ref)  # type: ignore[attr-defined]
    kind = "user" if isinstance(member.ref, LocalMember) else "remote"  # type: ignore[attr-defined]
    seconds = member.ring_seconds  # type: ignore[attr-defined]
    return mkey, Leg(endpoint=Endpoint(kind=kind, id=mkey), seconds=seconds), f"{mkey} rings {seconds} s"


@lru_cache(maxsize=65536)
def _user_via(extension: str) -> Via:
    return Via(kind="user", target=extension)


@lru_cache(maxsize=65536)
def _user_endpoint(extension: str) -> Endpoint:
    return Endpoint(kind="user", id=extension)


@lru_cache(maxsize=1024)
def _queue_endpoints(agents: tuple[str, ...]) -> tuple[Endpoint, ...]:
    return tuple(_user_endpoint(ext) for ext in agents)


def _at(path: tuple[str, ...]) -> str:
    return path[-1] if path else "entry"
