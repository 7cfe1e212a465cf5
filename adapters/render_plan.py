"""Routing plans and explanations as readable trees (what `callroute explain` prints)."""

from __future__ import annotations

from datetime import tzinfo

from adapters.cli.output import Tree, instant_text, tree_lines
from adapters.words import describe, seconds, terminal_safe, words
from adapters.words import hours_text as hours
from core.aggregates.dated import period_text, scope_text
from core.aggregates.describe import agent_level
from core.aggregates.groups import member_label
from core.aggregates.targets import HandleWithVoicemail
from core.projections import PendingChange
from core.routing import RoutingTable
from core.routing.plan import (
    BusyTone,
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
    Voicemail,
)


def _leg(leg: Leg) -> str:
    text = f"{leg.endpoint.kind} {leg.endpoint.id}"
    if leg.seconds is not None:
        text += f" ({leg.seconds} s)"
    extras = [name for name in ("announce", "present_dialled_number") if getattr(leg, name)]
    return text + (f" [{', '.join(extras)}]" if extras else "")


def plan_lines(node: Node | None, indent: str = "") -> list[str]:
    """The plan as indented lines with tree guides."""
    return [indent + line for line in tree_lines(plan_tree(node))]


def _then(label: str, node: Node | None) -> Tree:
    return (label, [plan_tree(node)])


def _emptied(node: Queue) -> str:
    """When a queue sends a caller to its no-agents destination, by its join and leave rules."""
    cases = []
    if node.join_when != "always":
        cases.append(f"no agent is {agent_level(node.join_when)} when the caller comes")
    if node.leave_when != "never":
        cases.append(f"no agent is {agent_level(node.leave_when)} while they wait")
    return f"if {' or '.join(cases) or 'the queue empties'}:"


def plan_tree(node: Node | None) -> Tree:
    """The plan as a tree: each node's label, and what follows it as children."""
    match node:
        case None | Missed():
            return ("missed call (rings until the caller hangs up)" if node else "missed call", [])
        case Ring():
            legs = ", ".join(_leg(leg) for leg in node.legs)
            how = "" if len(node.legs) == 1 else (" — all at once" if node.mode == "parallel" else " — one after another")
            limit = f", at most {node.limit_seconds} s" if node.limit_seconds else ""
            label = f"ring {legs}{how}{limit}  ({node.via})"
            if node.then is not None or any(leg.seconds is not None for leg in node.legs) or node.limit_seconds:
                return (label, [_then("if nobody answers:", node.then)])
            return (label, [])
        case Voicemail():
            return (f"voicemail of {node.box}" + (f": {describe(node.greeting)}" if node.greeting else ""), [])
        case Message():
            return (f"play {describe(node.message)}, then hang up", [])
        case BusyTone():
            return ("engaged tone", [])
        case Unavailable():
            return ("unavailable", [])
        case HopLimit():
            why = f"a loop: {node.path[-1]} again" if node.looped else "a chain longer than the limit"
            return (f"stopped by the hop limit after {len(node.path) - 1} hops ({why}): {' → '.join(node.path)}; "
                    "the call ends unanswered (missed)", [])
        case Lookup():
            source = f"webhook {node.url}" if node.source == "webhook" else "the CRM's responsible manager"
            return (f"ring the number given by {source}", [_then("if there is none or nobody answers:", node.then)])
        case Queue():
            agents = ", ".join(a.id for a in node.agents) or "no agent logged in"
            label = (f"queue {node.queue}: agents {agents} ({words(node.strategy)}, {seconds(node.agent_ring_seconds)} each, "
                     f"wrap-up {seconds(node.wrap_up_seconds)}), wait at most {seconds(node.max_wait_seconds)}")
            if node.retry_seconds:
                label += f", {seconds(node.retry_seconds)} between ring rounds"
            children = [_then("after the maximum wait:", node.after_max_wait)]
            if node.when_empty is not None:
                children.append(_then(_emptied(node), node.when_empty))
            return (label, children)
        case Menu():
            chosen = f", caller pressed {node.chosen or 'nothing'}" if node.chosen is not None else ""
            label = (f"IVR {node.ivr}: {describe(node.prompt)}, {node.timeout_seconds} s per try, "
                     f"{node.retries + 1} tries{chosen}")
            children = [_then(f"{digit}:", branch) for digit, branch in node.options.items()]
            children += [_then(f"{name}:", branch) for name, branch in (("invalid input", node.on_invalid),
                                                                         ("no input", node.on_no_input)) if branch is not None]
            return (label, children)
    return (type(node).__name__, [])


def explanation_lines(steps: tuple[Step, ...]) -> list[str]:
    """The rules consulted, in order."""
    return [terminal_safe(f"{'  ' * step.depth}{'✔' if step.matched else '·'} {step.at}: {step.rule} — {step.reason}")
            for step in steps]


def table_lines(table: RoutingTable) -> list[str]:
    """A routing table, briefly."""
    lines = [f"{table.tenant} routing table at version {table.version} (time zone {table.time_zone})"]
    rejection = table.anonymous_rejection
    rejecting = set(rejection.numbers) if rejection is not None else set()
    for number, entry in sorted(table.numbers.items()):
        lines.append(f"  {number} → {describe(entry) if entry else 'unassigned: ' + describe(table.unassigned)}"
                     + ("; rejects anonymous" if number in rejecting else ""))
    for ext, rule in sorted(table.users.items()):
        parts = [f"always {describe(rule.forward_always)}", f"busy {describe(rule.busy)}",
                 f"no answer {describe(rule.no_answer)}", f"unreachable {describe(rule.unreachable)}"]
        if rule.out_of_hours:
            parts.append(f"out of hours → {describe(rule.out_of_hours.when_unavailable)}")
        if rule.reject_anonymous:
            parts.append("rejects anonymous")
        lines.append(f"  user {ext} ({rule.name}): " + "; ".join(parts))
    for key, group in sorted(table.groups.items()):
        members = ", ".join(member_label(m.ref) + (" (excluded)" if m.excluded else "") for m in group.members)
        lines.append(f"  group {key} ({group.settings.name}): {words(group.settings.strategy)} [{members}], "
                     f"at most {seconds(group.settings.timeout_seconds)} → {describe(group.settings.fallback)}"
                     + ("; rejects anonymous" if group.reject_anonymous else ""))
    if rejection is not None:
        no_box = " (the engaged tone where the number or group has no voicemail box)" if rejection.handling == HandleWithVoicemail() else ""
        lines.append(f"  anonymous callers a number or group rejects: {describe(rejection.handling)}{no_box}")
    for key, queue in sorted(table.queues.items()):
        lines.append(f"  queue {key} ({queue.name}): agents {', '.join(queue.agents) or '-'}, {words(queue.strategy)}, "
                     f"wait at most {seconds(queue.max_wait_seconds)} → {describe(queue.after_max_wait)}")
    for key, ivr in sorted(table.ivrs.items()):
        options = ", ".join(f"{digit}: {describe(dest)}" for digit, dest in sorted(ivr.options.items()))
        lines.append(f"  IVR {key} ({ivr.name}): {options or 'no options'}; open {hours(ivr.opening_hours)}")
    for key, scheme in sorted(table.schemes.items()):
        steps = " → ".join(f"{describe(step.destination)} ({seconds(step.timeout_seconds)})" for step in scheme.steps)
        lines.append(f"  scheme {key} ({scheme.name}): {scheme.mode}: {steps}")
    for closure in table.closures:
        lines.append(f"  closure {closure.name!r}: {period_text(closure)}; closes {scope_text(closure.scope)} "
                     f"→ {describe(closure.destination)}")
    return [terminal_safe(line) for line in lines]


def pending_lines(pending: list[PendingChange], zone: tzinfo | None = None) -> list[str]:
    """Pending changes with their deadlines, instants in ``zone``."""
    if not pending:
        return ["nothing pending: every change made by then was live"]
    return [f"  v{p.version} {p.topic.removeprefix('callroute/')} at {instant_text(p.at, zone)} by {p.actor}: "
            f"due {instant_text(p.deadline, zone)}{'  OVERDUE' if p.overdue else ''}" + (f"  ({p.reason})" if p.reason else "")
            for p in pending]
