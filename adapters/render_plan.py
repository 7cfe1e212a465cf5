"""Routing plans and explanations as readable trees (what `callroute explain` prints)."""

from __future__ import annotations

from adapters.render import describe
from core.projections.routing import PendingChange
from core.projections.table import RoutingTable
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
    """The plan as indented lines."""
    match node:
        case None | Missed():
            return [f"{indent}missed call (rings until the caller hangs up)" if node else f"{indent}missed call"]
        case Ring():
            legs = ", ".join(_leg(leg) for leg in node.legs)
            how = "" if len(node.legs) == 1 else (" — all at once" if node.mode == "parallel" else " — one after another")
            limit = f", at most {node.limit_seconds} s" if node.limit_seconds else ""
            lines = [f"{indent}ring {legs}{how}{limit}  ({node.via})"]
            if node.then is not None or any(leg.seconds is not None for leg in node.legs) or node.limit_seconds:
                lines.append(f"{indent}└─ if nobody answers:")
                lines += plan_lines(node.then, indent + "   ")
            return lines
        case Voicemail():
            return [f"{indent}voicemail of {node.box}" + (f": {describe(node.greeting)}" if node.greeting else "")]
        case Message():
            return [f"{indent}play {describe(node.message)}, then hang up"]
        case BusyTone():
            return [f"{indent}engaged tone"]
        case Unavailable():
            return [f"{indent}unavailable"]
        case HopLimit():
            return [f"{indent}stopped: hop limit reached after {' → '.join(node.path)}"]
        case Lookup():
            source = f"webhook {node.url}" if node.source == "webhook" else "the CRM's responsible manager"
            lines = [f"{indent}ring the number given by {source}", f"{indent}└─ if there is none or nobody answers:"]
            return lines + plan_lines(node.then, indent + "   ")
        case Queue():
            agents = ", ".join(a.id for a in node.agents) or "no agent logged in"
            lines = [f"{indent}queue {node.queue}: agents {agents} ({node.strategy}, {node.agent_ring_seconds} s each, "
                     f"wrap-up {node.wrap_up_seconds} s), wait at most {node.max_wait_seconds} s",
                     f"{indent}└─ after the maximum wait:"]
            return lines + plan_lines(node.after_max_wait, indent + "   ")
        case Menu():
            chosen = f", caller pressed {node.chosen or 'nothing'}" if node.chosen is not None else ""
            lines = [f"{indent}IVR {node.ivr}: {describe(node.prompt)}, {node.timeout_seconds} s per try, "
                     f"{node.retries + 1} tries{chosen}"]
            for digit, branch in node.options.items():
                lines.append(f"{indent}├─ {digit}:")
                lines += plan_lines(branch, indent + "│  ")
            for label, branch in (("invalid input", node.on_invalid), ("no input", node.on_no_input)):
                if branch is not None:
                    lines.append(f"{indent}├─ {label}:")
                    lines += plan_lines(branch, indent + "│  ")
            return lines
    return [f"{indent}{node!r}"]


def explanation_lines(steps: tuple[Step, ...]) -> list[str]:
    """The rules consulted, in order."""
    return [f"{'  ' * step.depth}{'✔' if step.matched else '·'} {step.at}: {step.rule} — {step.reason}" for step in steps]


def table_lines(table: RoutingTable) -> list[str]:
    """A routing table, briefly."""
    lines = [f"{table.tenant} routing table at version {table.version} (time zone {table.time_zone})"]
    for number, entry in sorted(table.numbers.items()):
        lines.append(f"  {number} → {describe(entry) if entry else 'unassigned: ' + describe(table.unassigned)}")
    for ext, rule in sorted(table.users.items()):
        parts = [f"always {describe(rule.forward_always)}", f"busy {describe(rule.busy)}",
                 f"no answer {describe(rule.no_answer)}", f"unreachable {describe(rule.unreachable)}"]
        if rule.out_of_hours:
            parts.append(f"out of hours → {describe(rule.out_of_hours.when_unavailable)}")
        if rule.reject_anonymous:
            parts.append("rejects anonymous")
        lines.append(f"  user {ext} ({rule.name}): " + "; ".join(parts))
    for key, group in sorted(table.groups.items()):
        members = ", ".join(m.ref.extension if hasattr(m.ref, "extension") else str(m.ref) for m in group.members)
        lines.append(f"  group {key}: {group.settings.strategy} [{members}] → {describe(group.settings.fallback)}")
    for key in sorted(table.queues):
        lines.append(f"  queue {key}")
    for key in sorted(table.ivrs):
        lines.append(f"  IVR {key}")
    for key in sorted(table.schemes):
        lines.append(f"  scheme {key}")
    return lines


def pending_lines(pending: list[PendingChange]) -> list[str]:
    """Pending changes with their deadlines."""
    if not pending:
        return ["nothing pending: every change made by then was live"]
    return [f"  v{p.version} {p.topic.removeprefix('callroute/')} at {p.at.isoformat()} by {p.actor}: "
            f"due {p.deadline.isoformat()}{'  OVERDUE' if p.overdue else ''}" + (f"  ({p.reason})" if p.reason else "")
            for p in pending]
