"""Routing loops refused when a change is saved: the call flow may not lead a call back to where it was.

The tenant's routing is a graph: users, answer groups, queues, IVR menus, schemes and the
tenant's own numbers are nodes; an edge is a way a call goes on from one node to the next.
Only *hand-on* edges and *menu choices* count:

- hand-on: a user's forward always, the device's permanent redirect, a number divert
  marked ``always`` and the out-of-hours destination; a group's fallback; a queue's
  destination with no agents and after the maximum wait; a scheme's steps that route on
  (IVR, group, queue, one of the tenant's numbers), its backup and its destination outside
  working hours; an IVR menu's destination when closed; the unassigned-number forward;
  a dated closure's destination (or, for ``own``, the closed thing's own handling) from
  everything it closes, on the weekdays and hours its dates can fall on.
- menu choices: an IVR menu's digit options, and where invalid or no input goes.
- number entries: a forward to one of the tenant's own numbers comes back in where that
  number enters, through the public network, where no hop limit counts. The entry is
  neither of the above: the edge that dialled the number says whose choice it was.

A change is refused when it adds or alters an edge that closes a cycle of these edges
(``ForwardLoopError``, naming the path) with at least one hand-on edge, whose time
conditions (opening and working hours, out-of-hours schedules) can all hold at one
instant. Left to the routing's hop limit, which ends such a call and says so:

- cycles through a person's own diverts (no answer, busy, unreachable, the rejected-call
  forward, and the tenant defaults for them): colleagues commonly cover for each other
  both ways; each divert is sensible alone and often set by the user, who could not see
  or fix the other person's; and the cycle is taken only while every phone on it is
  unanswered, busy or offline at once, which usually clears;
- cycles of menu choices alone (``0``: back to the main menu; ``9``: hear this menu again,
  or dial the menu's own number): the caller chooses at every step and can always choose
  another way out.

Cycles that existed before a change (stored by older code) do not block changes that do
not close them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, Literal, NamedTuple

from core.aggregates.dated import Closure, OwnHandling
from core.aggregates.groups import GroupSettings
from core.aggregates.handling import BUILT_IN, ApplyTo, first_set
from core.aggregates.services import CallQueue, ForwardingScheme, IvrMenu
from core.aggregates.state import TenantState, User
from core.aggregates.targets import (
    ForwardTo,
    NoAnswerRule,
    Off,
    ToExtension,
    ToExternalSip,
    ToGroup,
    ToIvr,
    ToNumber,
    ToQueue,
    ToScheme,
    ToVoicemail,
)
from core.aggregates.week_masks import ALWAYS, closure_mask, first_minute, open_mask, outside, unavailable_mask
from core.errors import ForwardLoopError

NodeKey = tuple[str, str]
"""``("user", "2001")``, ``("group", "sales")``, ``("queue", …)``, ``("ivr", …)``, ``("scheme", …)``, ``("number", "+46…")``."""
_NAMES = {"user": "extension", "group": "group", "queue": "queue", "ivr": "IVR", "scheme": "scheme", "number": "number"}
_UNASSIGNED = object()
"""A number of the tenant's list that routes nowhere: the unassigned-number handling applies."""

EdgeKind = Literal["hand_on", "choice", "entry"]


class Edge(NamedTuple):
    """A way a call goes on: to which node, in words, the field that sets it, when, and whose choice it is."""

    to: NodeKey
    label: str | None
    field: str
    mask: int = ALWAYS
    kind: EdgeKind = "hand_on"


class DefaultChange(NamedTuple):
    """A tenant default being changed for today's users too (``unchanged_users`` or ``all_users``: see ``users_reached``)."""

    setting: str
    value: Any
    apply_to: ApplyTo


_NOTHING: Mapping[str, Any] = MappingProxyType({})
"""What a view lays over the parts of the state that the change leaves as they are."""


class _View:
    """The tenant's state with the change being made laid over it; edges are worked out only for the nodes visited."""

    def __init__(self, state: TenantState, *, users: dict[str, User] | None = None,
                 groups: dict[str, GroupSettings] | None = None, queues: dict[str, CallQueue] | None = None,
                 ivrs: dict[str, IvrMenu] | None = None, schemes: dict[str, ForwardingScheme] | None = None,
                 numbers: dict[str, Any] | None = None, unassigned: Any = None, default: DefaultChange | None = None,
                 closures: dict[str, Closure] | None = None) -> None:
        self.state = state
        self.users = users or _NOTHING
        self.groups = groups or _NOTHING
        self.queues = queues or _NOTHING
        self.ivrs = ivrs or _NOTHING
        self.schemes = schemes or _NOTHING
        self.numbers = numbers or _NOTHING
        self.unassigned = unassigned if unassigned is not None else state.unassigned
        self.default = default
        self.closures = {**state.closures, **closures} if closures else state.closures  # only read
        self._edges: dict[NodeKey, list[Edge]] = {}

    def edges(self, node: NodeKey) -> list[Edge]:
        edges = self._edges.get(node)
        if edges is None:
            kind, key = node
            edges = _NODE_EDGES[kind](self, key)
            # A user's forward always, redirect or always-divert takes every call before a closure is looked at.
            if self.closures and kind != "number" and not (kind == "user" and self._redirected(key)):
                edges = edges + self._closure_edges(kind, key)
            self._edges[node] = edges
        return edges

    def _redirected(self, extension: str) -> bool:
        """Whether forward always, a permanent redirect or a number divert marked always takes the user's every call."""
        user = self.users.get(extension) or self.state.users.get(extension)
        if user is None:
            return False
        if type(user.forward_always) is not Off or user.permanent_redirect is not None:
            return True
        return self._always_divert(user) is not None

    def _closure_edges(self, kind: str, key: str) -> list[Edge]:
        """While a closure closes the node, its calls go to the closure's destination, or the node's own handling."""
        if kind == "number" or not self.closures:
            return []
        edges: list[Edge] = []
        for name, closure in self.closures.items():
            scope = closure.scope
            if scope is not None and key not in getattr(scope, f"{kind}s"):
                continue
            mask, label = closure_mask(closure), f"closure {name}"
            if not isinstance(closure.destination, OwnHandling):
                # As routing does, a closure never closes the thing it sends calls to.
                edges += [edge for edge in self._to(closure.destination, label, "destination", mask) if edge.to != (kind, key)]
                continue
            for target, field in self._own_handling(kind, key):
                edges += self._to(target, f"{label} ({field.replace('_', ' ')})", field, mask)
        return edges

    def _own_handling(self, kind: str, key: str) -> list[tuple[object, str]]:
        """Where a closed node's own handling sends calls (a user without a schedule goes to voicemail: no edge)."""
        if kind == "user":
            user = self.users.get(key) or self.state.users.get(key)
            schedule = user.out_of_hours if user is not None else None
            # A schedule switched off is not the user's handling: routing sends a closed user's calls to voicemail.
            if schedule is None or not schedule.enabled:
                return []
            return [(schedule.when_unavailable, "out_of_hours.when_unavailable")]
        if kind == "group":
            settings = self._group_settings(key)
            return [] if settings is None else [(settings.fallback, "fallback")]
        if kind == "queue":
            queue = self.queues.get(key) or self.state.queues.get(key)
            if queue is None:
                return []
            return [(queue.when_no_agents, "when_no_agents")] if queue.when_no_agents is not None \
                else [(queue.after_max_wait, "after_max_wait")]
        if kind == "ivr":
            menu = self.ivrs.get(key) or self.state.ivrs.get(key)
            return [] if menu is None else [(menu.when_closed, "when_closed")]
        scheme = self.schemes.get(key) or self.state.schemes.get(key)
        return [] if scheme is None else [(scheme.outside_hours, "outside_hours")]

    def _to(self, target: object, label: str | None, field: str, mask: int = ALWAYS, kind: EdgeKind = "hand_on") -> list[Edge]:
        """The edge to where ``target`` routes, if it routes on (voicemail, messages, other phones end the flow here)."""
        if target is None or not mask:
            return []
        cls = type(target)
        routes = _ROUTES_ON.get(cls)
        if routes is not None:
            return [Edge((routes[0], getattr(target, routes[1])), label, field, mask, kind)]
        if cls in _ENDS_HERE:
            return []
        node: NodeKey | None = None
        match target:
            case ToExtension(extension=key):
                node = ("user", key)
            case ToGroup(group=key):
                node = ("group", key)
            case ToQueue(queue=key):
                node = ("queue", key)
            case ToIvr(ivr=key):
                node = ("ivr", key)
            case ToScheme(scheme=key):
                node = ("scheme", key)
            case ToNumber(number=number):  # an outside number has no edges: ``_number_edges`` finds no entry
                node = ("number", number)
        if node is None:
            _ENDS_HERE.add(cls)
            return []
        return [Edge(node, label, field, mask, kind)]

    def entry(self, number: str) -> Any:
        """Where one of the tenant's numbers enters, as routing reads it (``None``: not the tenant's number).

        Looked up for the one number, never as a whole index: the users' numbers are the long
        part, and a forward to an outside number is checked on every such divert.
        """
        if number in self.numbers:
            return _entry_or_unassigned(self.numbers[number])
        route = self.state.numbers.get(number)
        if route is not None:
            return _entry_or_unassigned(route.entry)
        for key, menu in {**self.state.ivrs, **self.ivrs}.items():
            if menu.number == number:
                return ToIvr(ivr=key)
        for key in {**self.state.groups, **self.groups}:
            settings = self._group_settings(key)
            if settings is not None and settings.number == number:
                return ToGroup(group=key)
        for extension, user in self.users.items():
            if number in user.numbers:
                return ToExtension(extension=extension)
        owner = next((user for user in self.state.users.values() if number in user.numbers), None)
        return None if owner is None or owner.extension in self.users else ToExtension(extension=owner.extension)

    def _user_edges(self, extension: str) -> list[Edge]:
        """In the routing's order: the first of these that applies takes every call, so only it counts."""
        user = self.users.get(extension) or self.state.users.get(extension)
        if user is None:
            return []
        if type(user.forward_always) is not Off:
            return self._to(user.forward_always, "forward always", "forward_always")
        if user.permanent_redirect is not None:
            return self._to(ToNumber(number=user.permanent_redirect), "permanent redirect", "permanent_redirect")
        divert = self._always_divert(user)
        if divert is not None:
            return self._to(divert[0], divert[1], divert[2])
        schedule = user.out_of_hours
        if schedule is None:
            return []
        return self._to(schedule.when_unavailable, "out of hours", "out_of_hours.when_unavailable", unavailable_mask(schedule))

    def _always_divert(self, user: User) -> tuple[ToNumber, str, str] | None:
        """The user's no-answer or busy divert to a number marked always (target, label, setting), if any."""
        for name, label in _ALWAYS_DIVERTS:
            target = self._setting(user, name)
            target = target.target if isinstance(target, NoAnswerRule) else target
            if type(target) is ToNumber and target.always:
                return target, label, name
        return None

    def _setting(self, user: User, name: str) -> Any:
        """A user's value of a call-handling setting, with the default being changed (it drops values pinned before)."""
        own, change = getattr(user.own, name), self.default
        if change is not None and change.setting == name:
            return change.value if change.apply_to == "all_users" else first_set(own, change.value)
        if own is not None:
            return own
        pinned = getattr(user.pinned, name)
        if pinned is not None:
            return pinned
        tenant = getattr(self.state.defaults, name)
        return tenant if tenant is not None else getattr(BUILT_IN, name)  # the built-in default sets every setting

    def _group_settings(self, key: str) -> GroupSettings | None:
        group = self.state.groups.get(key)
        return self.groups.get(key) or (group.settings if group is not None else None)

    def _group_edges(self, key: str) -> list[Edge]:
        settings = self._group_settings(key)
        return [] if settings is None else self._to(settings.fallback, "if nobody answers", "fallback")

    def _queue_edges(self, key: str) -> list[Edge]:
        queue = self.queues.get(key) or self.state.queues.get(key)
        if queue is None:
            return []
        return (self._to(queue.when_no_agents, "when no agent is logged in", "when_no_agents")
                + self._to(queue.after_max_wait, "after the maximum wait", "after_max_wait"))

    def _ivr_edges(self, key: str) -> list[Edge]:
        menu = self.ivrs.get(key) or self.state.ivrs.get(key)
        if menu is None:
            return []
        is_open = open_mask(menu.opening_hours)
        edges: list[Edge] = []
        for digit, target in sorted(menu.options.items()):
            edges += self._to(target, f"digit {digit}", f"options.{digit}", is_open, "choice")
        if menu.on_invalid is not None:
            edges += self._to(menu.on_invalid, "on invalid input", "on_invalid", is_open, "choice")
        if menu.on_no_input is not None:
            edges += self._to(menu.on_no_input, "on no input", "on_no_input", is_open, "choice")
        if menu.when_closed is not None:
            edges += self._to(menu.when_closed, "when closed", "when_closed", outside(is_open))
        return edges

    def _scheme_edges(self, key: str) -> list[Edge]:
        scheme = self.schemes.get(key) or self.state.schemes.get(key)
        if scheme is None:
            return []
        working = open_mask(scheme.working_hours)
        steps: Iterable[tuple[int, Any]] = enumerate(scheme.steps)
        if scheme.mode == "parallel":  # every step that rings a phone rings first, the others follow in order
            steps = sorted(steps, key=lambda item: not isinstance(item[1].destination, _RINGS))
        edges: list[Edge] = []
        for index, step in steps:
            target = step.destination
            if isinstance(target, ToExtension):
                continue  # as ``_step``: no edge, and ringing a phone never ends the scheme
            edges += self._to(target, f"step {index + 1}", f"steps[{index}].destination", working)
            if self._ends_scheme(target):
                break
        else:
            for index, backup in enumerate(scheme.backup):
                edges += self._step(backup.destination, f"backup step {index + 1}", f"backup[{index}].destination", working)
        if scheme.outside_hours is not None:
            edges += self._to(scheme.outside_hours, "outside working hours", "outside_hours", outside(working))
        return edges

    def _step(self, target: object, label: str, field: str, mask: int) -> list[Edge]:
        """A scheme step rings an extension's phone itself, without that user's diverts; other steps route on."""
        return [] if isinstance(target, ToExtension) else self._to(target, label, field, mask)

    def _ends_scheme(self, target: object) -> bool:
        """Whether a step keeps the call for good, so that later steps never run (as routing's ``chain`` does)."""
        if isinstance(target, _KEEPS):
            return True
        if not isinstance(target, ToGroup):
            return False
        settings = self._group_settings(target.group)
        return settings is not None and settings.fallback is not None

    def _number_edges(self, number: str) -> list[Edge]:
        entry = self.entry(number)
        if entry is _UNASSIGNED:
            handling = self.unassigned
            return self._to(handling.target, "unassigned-number handling", "handling.target") \
                if isinstance(handling, ForwardTo) else []
        return self._to(entry, None, "entry", kind="entry")


_NODE_EDGES = {"user": _View._user_edges, "group": _View._group_edges, "queue": _View._queue_edges, "ivr": _View._ivr_edges,
               "scheme": _View._scheme_edges, "number": _View._number_edges}
"""A node's own edges, by its kind."""

_ROUTES_ON: dict[type, tuple[str, str]] = {ToExtension: ("user", "extension"), ToGroup: ("group", "group"),
                                           ToQueue: ("queue", "queue"), ToIvr: ("ivr", "ivr"), ToScheme: ("scheme", "scheme"),
                                           ToNumber: ("number", "number")}
"""The node each routing-on target type leads to (kind, and the field that names it): ``_to``'s match, by type."""

_ENDS_HERE: set[type] = set()
"""Target types met that lead to no node (voicemail, a message, an outside SIP account …)."""

_ALWAYS_DIVERTS = (("no_answer", "no-answer divert marked always"), ("busy", "busy divert marked always"))
_RINGS = (ToExtension, ToNumber, ToExternalSip)
_KEEPS = (ToIvr, ToQueue, ToVoicemail)


def _entry_or_unassigned(entry: Any) -> Any:
    return entry if entry is not None else _UNASSIGNED


class _Cycle(NamedTuple):
    nodes: tuple[NodeKey, ...]
    edges: tuple[Edge, ...]
    mask: int


def _cycle(view: _View, start: NodeKey, first: Iterable[Edge]) -> _Cycle | None:
    """A cycle from ``start`` back to it that leaves by one of ``first``: with a hand-on edge, at an instant it can be taken.

    Depth first without recursion (a chain of forwards may be long). A node reached again
    with no more minutes and no more hand-on edges than an earlier visit is not explored again.
    """
    seen: dict[NodeKey, list[tuple[int, bool]]] = {}
    frames: list[tuple[NodeKey, int, bool, Any]] = [(start, ALWAYS, False, iter(first))]
    taken: list[Edge] = []
    while frames:
        node, mask, handed, pending = frames[-1]
        edge = next(pending, None)
        if edge is None:
            frames.pop()
            if taken:
                taken.pop()
            continue
        # Every mask lies within ALWAYS: meeting it leaves the other as it is (no work on 10,080-bit integers).
        reach = mask if edge.mask is ALWAYS else edge.mask if mask is ALWAYS else mask & edge.mask
        via_hand_on = handed or edge.kind == "hand_on"
        if not reach:
            continue
        if edge.to == start:
            if via_hand_on:
                return _Cycle((*(f[0] for f in frames), start), (*taken, edge), reach)
            continue
        visits = seen.get(edge.to)
        if visits is None:
            seen[edge.to] = [(reach, via_hand_on)]
        elif any((earlier is ALWAYS or reach & ~earlier == 0) and (hand_on or not via_hand_on) for earlier, hand_on in visits):
            continue
        else:
            visits.append((reach, via_hand_on))
        frames.append((edge.to, reach, via_hand_on, iter(view.edges(edge.to))))
        taken.append(edge)
    return None


def _text(cycle: _Cycle) -> str:
    """The path in words: ``scheme sales (step 2) → IVR main (digit 3) → scheme sales``."""
    nodes, edges = cycle.nodes, cycle.edges
    if all(node[0] == "user" for node in nodes) and all(edge.label == "forward always" for edge in edges):
        return f"forward-always would loop: {' → '.join(key for _, key in nodes)}"
    parts = [f"{_NAMES[kind]} {key}" + (f" ({edge.label})" if edge.label else "") for (kind, key), edge in zip(nodes, edges)]
    when = "" if cycle.mask == ALWAYS else f", for example at {first_minute(cycle.mask)}"
    return f"calls would go round in a loop: {' → '.join(parts)} → {_NAMES[nodes[-1][0]]} {nodes[-1][1]}{when}"


def refuse_loops(state: TenantState, starts: Iterable[tuple[NodeKey, str]], **change: Any) -> None:
    """Refuse ``change`` if it closes a loop through one of ``starts`` (see the module's docstring for which loops).

    ``change`` lays the new values over ``state`` (``users``, ``groups`` (settings), ``queues``,
    ``ivrs``, ``schemes``, ``numbers`` (number → entry, ``None``: unassigned), ``unassigned``,
    ``default``). Each start is a node the change gives new edges and the command field to
    name: a field ending in ``.`` is the prefix of the field of the edge that leaves the node.
    """
    after, before = _View(state, **change), None
    for start, field in starts:
        edges = after.edges(start)
        if not edges:
            continue  # nothing leaves the node: nothing new (the state before is not even looked at)
        if before is None:
            before = _View(state)
        old = before.edges(start)
        new = [edge for edge in edges if edge not in old]
        cycle = _cycle(after, start, new) if new else None
        if cycle is not None:
            where = field + cycle.edges[0].field if field.endswith(".") else field
            raise ForwardLoopError(_text(cycle), field=where)


def users_reached(state: TenantState, setting: str, apply_to: ApplyTo) -> list[str]:
    """The users whose value of ``setting`` a new tenant default changes (``new_users``: none of today's)."""
    if apply_to == "new_users":
        return []
    return [ext for ext, user in state.users.items() if apply_to == "all_users" or getattr(user.own, setting) is None]


__all__ = ["ALWAYS", "DefaultChange", "Edge", "NodeKey", "open_mask", "refuse_loops", "unavailable_mask", "users_reached"]
