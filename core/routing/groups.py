"""Answer groups and queues: members in the strategy's order, agents logged in, then the fallback.

Groups ring their members directly (members' personal diverts do not apply to group
calls), skipping excluded members and busy, unreachable or excluded endpoints. The
strategies that need memory read it from the decision's ``RoutingMemory``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from functools import lru_cache

import msgspec

from core.aggregates.describe import agent_level, describe
from core.aggregates.groups import AnswerGroup, CloudMember, LocalMember, MemberRef, SipMember
from core.aggregates.services import JOIN_LEVEL, CallQueue
from core.routing.closures import ClosureRouting
from core.routing.decision import member_key
from core.routing.plan import Endpoint, HopLimit, Leg, Missed, Node, Queue, Ring, Step, Via
from core.routing.router import AGENTS, MEMORY, STATES, user_endpoint
from core.routing.table import group_mailbox


class GroupRouting(ClosureRouting):
    """Routes a call to an answer group or a queue."""

    def group(self, key: str, path: tuple[str, ...]) -> Node:
        at = f"group {key}"
        entered = self.enter(at, path)
        if isinstance(entered, HopLimit):
            return entered
        path, depth = entered, len(entered)
        group = self.table.groups[key]
        settings = group.settings
        if group.reject_anonymous:
            refused = self.reject_withheld(depth, at, path, mailbox=group_mailbox(group))
            if refused is not None:
                return refused
        # Closed, a group is one where nobody answers: its fallback.
        closed = self.closed("groups", key, path, at, own=settings.fallback)
        if closed is not None:
            return closed
        legs = []
        explain, add, states = self.explain, self.steps.append, self.states
        for mkey, leg, excluded, ringing, remote in self.member_order(group, at, depth):
            if excluded:
                if explain:
                    add(Step(depth, at, "member", False, f"{mkey} is excluded from the group for now"))
                continue
            if remote is not None and self.unknown(remote) is not None:
                if explain:
                    add(Step(depth, at, "member", False, self.unknown_reason(remote)))
                continue
            state = states.get(mkey, "available")
            if state != "available":
                if explain:
                    add(Step(depth, at, "member", False, f"{mkey} is {state}"))
                continue
            legs.append(leg)
            if explain:
                add(Step(depth, at, "member", True, ringing))
        then = self.destination(settings.fallback, path, owner=None) if settings.fallback is not None else None
        if not legs:
            if explain:
                self.note(depth, at, "if nobody answers", True, f"no member can take the call: {_fallback(settings.fallback)}")
            return then if then is not None else Missed()
        if explain:
            after = settings.timeout_seconds
            if settings.strategy == "simultaneous":
                after = _at_once(depth, at, legs, after, self.note)
            self.note(depth, at, "if nobody answers", True, f"after {after} s ({settings.strategy}): {_fallback(settings.fallback)}")
        return Ring(legs=tuple(legs), mode="parallel" if settings.strategy == "simultaneous" else "sequential",
                    limit_seconds=settings.timeout_seconds, via=at, purpose=_group_via(key), then=then)

    def member_order(self, group: AnswerGroup, at: str, depth: int) -> Sequence[_Member]:
        """The members in the order the group's strategy rings them."""
        members = _members(group)
        strategy = group.settings.strategy
        if strategy == "sequential" or strategy == "simultaneous":
            return members
        self.depends |= MEMORY
        memory = self._memory
        if strategy == "round_robin":
            if not members:
                return members
            last = self._last_offered.get(group.id)
            keys = [m[0] for m in members]
            start = (keys.index(last) + 1) % len(keys) if last in keys else 0
            members = members[start:] + members[:start]
            states = self.states
            first = next((m for m in members if not m[2] and states.get(m[0], "available") == "available"
                          and (m[4] is None or self.unknown(m[4]) is None)), None)
            if first is not None:
                self._offered_changes[group.id] = first[0]
            if self.explain:
                self.note(depth, at, "round robin", True, f"starts after {last or 'nobody'} (the member offered first last time)")
        elif strategy == "least_recent":
            answered = memory.last_answered
            members = sorted(members, key=lambda m: answered.get(m[0], _NEVER))
            if self.explain:
                self.note(depth, at, "least recently answered", True, "members who answered longest ago (or never) ring first")
        elif strategy == "random":
            salt = f"{memory.seed}|{self.call.call_id}|{group.id}|"
            members = sorted(members, key=lambda m: hashlib.sha256((salt + m[0]).encode()).digest())
            if self.explain:
                self.note(depth, at, "random", True, f"order drawn from seed {memory.seed} and call {self.call.call_id!r}")
        return members

    def queue(self, key: str, path: tuple[str, ...]) -> Node:
        at = f"queue {key}"
        entered = self.enter(at, path)
        if isinstance(entered, HopLimit):
            return entered
        path, depth = entered, len(entered)
        queue = self.table.queues[key]
        # Closed, a queue is one with no agent logged in, and nobody is left waiting for the maximum wait.
        own = queue.when_no_agents if queue.when_no_agents is not None else queue.after_max_wait
        closed = self.closed("queues", key, path, at, own=own)
        if closed is not None:
            return closed
        states = self._states
        join = queue.join_rule
        # The agents' states pick the destination only when the join rule can turn a caller away.
        self.depends |= STATES if join != "always" else AGENTS
        if states:
            # Only agents that are not available appear in the states; most are.
            logged_in = tuple(user_endpoint(ext) for ext in queue.agents if states.get(ext) in (None, "busy"))
            free = sum(1 for ext in queue.agents if ext not in states)
            # Routing cannot tell a logged-out agent from one whose phone is unreachable (both are
            # ``unreachable``): only ``excluded`` (out of queue calls) counts as logged out here.
            present = sum(1 for ext in queue.agents if states.get(ext) != "excluded")
        else:
            logged_in = _queue_endpoints(queue.agents)
            present = free = len(logged_in)
        counts = (present, len(logged_in), free)
        if join != "always" and not counts[JOIN_LEVEL[join] - 1] and queue.when_no_agents is not None:
            if self.explain:
                self.note(depth, at, "no agents", True, f"no agent is {agent_level(join)}: to {describe(queue.when_no_agents)}")
            return self.destination(queue.when_no_agents, path, owner=None)
        if self.explain:
            self.note(depth, at, "no agents", False, f"{present} agents logged in, {len(logged_in)} reachable, {free} free"
                      + (f"; callers join only when an agent is {agent_level(join)}" if join != "always" else ""))
        after = self.destination(queue.after_max_wait, path, owner=None) if queue.after_max_wait is not None else None
        if self.explain:
            self.note(depth, at, "maximum wait", True,
                      f"waits at most {queue.max_wait_seconds} s, then {describe(queue.after_max_wait) if after else 'the call ends'}")
        return self._waiting(key, queue, path, depth, logged_in, after)

    def _waiting(self, key: str, queue: CallQueue, path: tuple[str, ...], depth: int, agents: tuple[Endpoint, ...],
                 after: Node | None) -> Queue:
        """The queue node of a caller who joins: its agents, times and rules, and where callers go when it empties."""
        at, leave, retry = f"queue {key}", queue.leave_rule, queue.retry_pause
        if self.explain and leave != "never":
            self.note(depth, at, "leaving", True,
                      f"waiting callers leave once no agent is {agent_level(leave)}: to {describe(queue.when_no_agents)}")
        if self.explain and retry:
            self.note(depth, at, "ring rounds", True,
                      f"after a ring round nobody answers, the caller waits {retry} s before the next")
        rules_of_its_own = queue.join_when not in (msgspec.UNSET, "always") or leave != "never"
        when_empty = None
        if rules_of_its_own and queue.when_no_agents is not None:
            when_empty = self.destination(queue.when_no_agents, path, owner=None)
        return Queue(
            queue=key,
            agents=agents,
            strategy=queue.strategy,
            agent_ring_seconds=queue.agent_ring_seconds,
            wrap_up_seconds=queue.wrap_up_seconds,
            max_wait_seconds=queue.max_wait_seconds,
            after_max_wait=after,
            announce_position=queue.announce_position,
            announce_hold_time=queue.announce_hold_time,
            hold_music=queue.hold_music,
            join_when=queue.join_rule,
            leave_when=leave,
            retry_seconds=retry,
            when_empty=when_empty,
        )


def _fallback(fallback: object) -> str:
    return f"then {describe(fallback)}" if fallback is not None else "then nothing: a missed call"


_Member = tuple[str, Leg, bool, str, tuple[str, str] | None]
"""A group member as routing reads it: its key, its ring leg, whether it is excluded, its explanation text, and
``(pbx, member)`` for a member of another PBX (``None`` for a user here)."""
_NEVER = float("-inf")
_MEMBERS: dict[int, tuple[AnswerGroup, tuple[_Member, ...]]] = {}
"""Members of the groups seen lately, by the group's identity (the group is kept, so its id is not reused)."""


def _members(group: AnswerGroup) -> tuple[_Member, ...]:
    """The group's members as routing reads them, built once per group.

    Groups are immutable, so their members are worked out once; keyed by identity because
    hashing a group (or each member) on every call costs more than the work it would save.
    """
    hit = _MEMBERS.get(id(group))
    if hit is not None and hit[0] is group:
        return hit[1]
    members: list[_Member] = []
    settings = group.settings
    at_once = settings.strategy == "simultaneous"
    for member in group.members:
        mkey = member_key(member.ref)
        local = isinstance(member.ref, LocalMember)
        own = member.ring_seconds
        # Without a ring time of its own a member rings until the group's timeout ends the ringing.
        leg = Leg(endpoint=Endpoint(kind="user" if local else "remote", id=mkey),
                  seconds=settings.timeout_seconds if own is None else own)
        ringing = _ring_time_text(mkey, own, settings.timeout_seconds, at_once=at_once)
        remote = _remote(member.ref)
        members.append((mkey, leg, member.excluded, ringing, remote))
    if len(_MEMBERS) >= 4096:  # tables come and go (the simulator's versions, the CLI's look-ups)
        _MEMBERS.clear()
    built = tuple(members)
    _MEMBERS[id(group)] = (group, built)
    return built


def _remote(ref: MemberRef) -> tuple[str, str] | None:
    """``(pbx, member)`` of a member of another PBX, as its marks are keyed; ``None`` for a user here."""
    match ref:
        case CloudMember(pbx=pbx, member=member) | SipMember(pbx=pbx, internal_number=member):
            return pbx, member
    return None


def _ring_time_text(mkey: str, own: int | None, timeout: int, *, at_once: bool) -> str:
    """How long one member rings, and why, in words."""
    if not at_once and own is None:
        return f"{mkey} rings until the group's {timeout} s timeout (no ring time of its own)"
    if not at_once:
        return f"{mkey} rings {own} s"
    if own is None:
        return f"{mkey} rings {timeout} s: no ring time of its own, so the group's timeout"
    if own < timeout:
        return f"{mkey} rings {own} s (its own ring time, within the group's {timeout} s timeout)"
    if own == timeout:
        return f"{mkey} rings {own} s (its own ring time, the same as the group's timeout)"
    return f"{mkey} rings {timeout} s: the group's timeout cuts its own {own} s short"


def _at_once(depth: int, at: str, legs: list[Leg], timeout: int, note: Callable[[int, str, str, bool, str], None]) -> int:
    """Explain how the ring times of members ringing at once and the group's timeout combine; how long the call rings."""
    longest = max(leg.seconds or timeout for leg in legs)
    rings = min(longest, timeout)
    if longest < timeout:
        why = f"the longest ring time of a member ({longest} s) ends before the group's {timeout} s timeout"
    elif longest == timeout:
        why = f"the longest ring time of a member ends with the group's {timeout} s timeout"
    else:
        why = f"the group's {timeout} s timeout ends the ringing before the longest ring time of a member ({longest} s)"
    who = "1 member rings" if len(legs) == 1 else f"{len(legs)} members ring at once"
    note(depth, at, "all at once", True, f"{who}; the call rings {rings} s: {why}")
    return rings


@lru_cache(maxsize=4096)
def _group_via(key: str) -> Via:
    return Via(kind="group", target=key)


@lru_cache(maxsize=1024)
def _queue_endpoints(agents: tuple[str, ...]) -> tuple[Endpoint, ...]:
    return tuple(user_endpoint(ext) for ext in agents)
