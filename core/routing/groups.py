"""Answer groups and queues: members in the strategy's order, agents logged in, then the fallback.

Groups ring their members directly (members' personal diverts do not apply to group
calls), skipping excluded members and busy, unreachable or excluded endpoints. The
strategies that need memory read it from the decision's ``RoutingMemory``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import lru_cache

from core.aggregates.describe import describe
from core.aggregates.groups import AnswerGroup, LocalMember
from core.routing.decision import member_key
from core.routing.plan import Endpoint, HopLimit, Leg, Missed, Node, Queue, Ring, Step, Via
from core.routing.router import AGENTS, MEMORY, STATES, Router, user_endpoint


class GroupRouting(Router):
    """Routes a call to an answer group or a queue."""

    def group(self, key: str, path: tuple[str, ...]) -> Node:
        at = f"group {key}"
        entered = self.enter(at, path)
        if isinstance(entered, HopLimit):
            return entered
        path, depth = entered, len(entered)
        group = self.table.groups[key]
        settings = group.settings
        legs = []
        explain, add, states = self.explain, self.steps.append, self.states
        for mkey, leg, excluded, ringing in self.member_order(group, at, depth):
            if excluded:
                if explain:
                    add(Step(depth, at, "member", False, f"{mkey} is excluded from the group for now"))
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
            self.note(depth, at, "if nobody answers", True,
                      f"after {settings.timeout_seconds} s ({settings.strategy}): {_fallback(settings.fallback)}")
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
            first = next((m for m in members if not m[2] and states.get(m[0], "available") == "available"), None)
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
        states = self._states
        # Whether anyone is logged in picks the destination only with a no-agents destination.
        self.depends |= STATES if queue.when_no_agents is not None else AGENTS
        if states:
            # Only agents that are not available appear in the states; most are.
            logged_in = tuple(user_endpoint(ext) for ext in queue.agents if states.get(ext) in (None, "busy"))
            free = sum(1 for ext in queue.agents if ext not in states)
        else:
            logged_in = _queue_endpoints(queue.agents)
            free = len(logged_in)
        if not logged_in and queue.when_no_agents is not None:
            if self.explain:
                self.note(depth, at, "no agents", True, f"no agent is logged in: to {describe(queue.when_no_agents)}")
            return self.destination(queue.when_no_agents, path, owner=None)
        if self.explain:
            self.note(depth, at, "no agents", False, f"{len(logged_in)} agents logged in, {free} free")
        after = self.destination(queue.after_max_wait, path, owner=None) if queue.after_max_wait is not None else None
        if self.explain:
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


def _fallback(fallback: object) -> str:
    return f"then {describe(fallback)}" if fallback is not None else "then nothing: a missed call"


_Member = tuple[str, Leg, bool, str]
"""A group member as routing reads it: its key, its ring leg, whether it is excluded, its explanation text."""
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
    for member in group.members:
        mkey = member_key(member.ref)
        kind = "user" if isinstance(member.ref, LocalMember) else "remote"
        leg = Leg(endpoint=Endpoint(kind=kind, id=mkey), seconds=member.ring_seconds)
        members.append((mkey, leg, member.excluded, f"{mkey} rings {member.ring_seconds} s"))
    if len(_MEMBERS) >= 4096:  # tables come and go (the simulator's versions, the CLI's look-ups)
        _MEMBERS.clear()
    built = tuple(members)
    _MEMBERS[id(group)] = (group, built)
    return built


@lru_cache(maxsize=4096)
def _group_via(key: str) -> Via:
    return Via(kind="group", target=key)


@lru_cache(maxsize=1024)
def _queue_endpoints(agents: tuple[str, ...]) -> tuple[Endpoint, ...]:
    return tuple(user_endpoint(ext) for ext in agents)
