"""``queue``, ``ivr``, ``scheme`` and ``number``: read-only views of a tenant's services and numbers.

Answer groups are in ``groups.py``. Creating and changing these services stays with
``callroute apply`` and a command file; these verbs show what is saved, with its content.
"""

from __future__ import annotations

from typing import Any

import click
import msgspec

from adapters.cli.common import Env, pass_env
from adapters.cli.errors import Failure
from adapters.cli.ledger import REASON, TENANT, echo_receipt
from adapters.cli.output import echo_json, echo_table
from adapters.cli.users import JSON, counted
from adapters.words import describe, hours_text, seconds, words
from core import commands as c
from core.aggregates.describe import agent_level
from core.aggregates.services import CallQueue, ForwardingScheme, IvrMenu
from core.queries import SchemeView, TenantView


def lookup(items: dict[str, Any], key: str, option: str, kind: str, view: TenantView) -> Any:
    """``items[key]``, or one line naming the option, the value and what exists."""
    if key in items:
        return items[key]
    known = ", ".join(sorted(items)) or "none"
    raise Failure(f"{option} {key}: tenant {view.slug!r} has no {kind} {key!r} (it has: {known})")


def flat(key_name: str, key: str, spec: msgspec.Struct) -> dict[str, Any]:
    """A service as one JSON object: its id first, then every field of its spec."""
    return {key_name: key, **msgspec.structs.asdict(spec)}


def echo_lines(lines: list[tuple[str, str]], title: str) -> None:
    """One item's details: a title, then aligned label and value lines."""
    click.echo(title)
    width = max(len(label) for label, _ in lines)
    for label, text in lines:
        click.echo(f"  {label:<{width}}  {text}")




@click.group()
def queue() -> None:
    """List and show call queues.

    Creating, changing and deleting queues stays with callroute apply and a command file
    (save_queue, delete_queue).
    """


def queue_lines(spec: CallQueue) -> list[tuple[str, str]]:
    """Every setting of a queue, as label and text."""
    announce = [name for name, on in (("position", spec.announce_position), ("hold time", spec.announce_hold_time)) if on]
    return [
        ("agents", ", ".join(spec.agents) or "-"),
        ("strategy", words(spec.strategy)),
        ("agent rings", seconds(spec.agent_ring_seconds)),
        ("wrap-up", seconds(spec.wrap_up_seconds)),
        ("longest wait", f"{seconds(spec.max_wait_seconds)}, then "
                         + (describe(spec.after_max_wait) if spec.after_max_wait else "the call ends")),
        *entry_and_exit_lines(spec),
        ("announcements", f"{' and '.join(announce)} every {seconds(spec.announce_every_seconds)}" if announce else "none"),
        ("hold music", spec.hold_music or "-"),
    ]


def entry_and_exit_lines(spec: CallQueue) -> list[tuple[str, str]]:
    """When callers may join and must leave, and the pause between ring rounds (the labels keep the column width)."""
    join, leave, retry = spec.join_rule, spec.leave_rule, spec.retry_pause
    elsewhere = describe(spec.when_no_agents) if spec.when_no_agents else "-"
    return [
        ("callers join when", "always" if join == "always" else f"an agent is {agent_level(join)}, else {elsewhere}"),
        ("callers leave when", "never" if leave == "never" else f"no agent is {agent_level(leave)}, to {elsewhere}"),
        ("next ring round", f"{seconds(retry)} after nobody answered" if retry else "at once"),
    ]


def queue_json(key: str, spec: CallQueue) -> dict[str, Any]:
    """A queue as one JSON object, with the join and leave rules and the pause in force (a stored queue may lack them)."""
    return {**flat("queue", key, spec), "join_when": spec.join_rule, "leave_when": spec.leave_rule,
            "retry_seconds": spec.retry_pause}


@queue.command("list")
@TENANT
@JSON
@pass_env
def queue_list(env: Env, slug: str, as_json: bool) -> None:
    """List a tenant's call queues with their agents, strategy and waiting limits."""
    view = env.readable(slug)
    if as_json:
        echo_json([queue_json(key, spec) for key, spec in view.queues.items()])
        return
    echo_table(["queue", "name", "agents", "strategy", "agent rings", "longest wait", "then", "no agents"],
               [(key, q.name, ", ".join(q.agents) or "-", words(q.strategy), seconds(q.agent_ring_seconds),
                 seconds(q.max_wait_seconds), describe(q.after_max_wait) if q.after_max_wait else "call ends",
                 describe(q.when_no_agents) if q.when_no_agents else "wait anyway")
                for key, q in view.queues.items()], title=f"{slug}: {counted(len(view.queues), 'call queue')}")


@queue.command("show")
@TENANT
@click.option("--queue", "key", required=True, metavar="QUEUE", help="The queue's id, e.g. support.")
@JSON
@pass_env
def queue_show(env: Env, slug: str, key: str, as_json: bool) -> None:
    """Show every setting of one call queue."""
    view = env.readable(slug)
    spec = lookup(view.queues, key, "--queue", "queue", view)
    if as_json:
        echo_json(queue_json(key, spec))
        return
    echo_lines(queue_lines(spec), f"queue {key}: {spec.name}")




@click.group()
def ivr() -> None:
    """List and show IVR (voice) menus.

    Creating, changing and deleting menus stays with callroute apply and a command file
    (save_ivr_menu, delete_ivr_menu).
    """


def options_text(spec: IvrMenu) -> str:
    """The digits of a menu and where each goes, in one line."""
    return "; ".join(f"{digit} → {describe(dest)}" for digit, dest in sorted(spec.options.items())) or "none"


def ivr_lines(spec: IvrMenu) -> list[tuple[str, str]]:
    """Every setting of an IVR menu, as label and text; one line per digit."""
    lines = [("number", spec.number or "-"), ("billing id", spec.billing_id or "-"), ("prompt", describe(spec.prompt))]
    lines += [(f"press {digit}", describe(dest)) for digit, dest in sorted(spec.options.items())]
    if not spec.options:
        lines.append(("options", "none"))
    lines += [
        ("waits for a digit", f"{seconds(spec.timeout_seconds)}, {spec.retries} retries"),
        ("invalid digit", describe(spec.on_invalid) if spec.on_invalid else "the call ends"),
        ("no digit", describe(spec.on_no_input) if spec.on_no_input else "the call ends"),
        ("open", hours_text(spec.opening_hours)),
        ("when closed", describe(spec.when_closed) if spec.when_closed else "-"),
    ]
    return lines


@ivr.command("list")
@TENANT
@JSON
@pass_env
def ivr_list(env: Env, slug: str, as_json: bool) -> None:
    """List a tenant's IVR menus with their numbers, options and opening hours."""
    view = env.readable(slug)
    if as_json:
        echo_json([flat("ivr", key, spec) for key, spec in view.ivr_menus.items()])
        return
    echo_table(["ivr", "name", "number", "prompt", "options", "open", "when closed"],
               [(key, m.name, m.number or "-", describe(m.prompt), options_text(m), hours_text(m.opening_hours),
                 describe(m.when_closed) if m.when_closed else "-")
                for key, m in view.ivr_menus.items()], title=f"{slug}: {counted(len(view.ivr_menus), 'IVR menu')}")


@ivr.command("show")
@TENANT
@click.option("--ivr", "key", required=True, metavar="IVR", help="The menu's id, e.g. main.")
@JSON
@pass_env
def ivr_show(env: Env, slug: str, key: str, as_json: bool) -> None:
    """Show every setting of one IVR menu, with each digit's destination."""
    view = env.readable(slug)
    spec = lookup(view.ivr_menus, key, "--ivr", "IVR menu", view)
    if as_json:
        echo_json(flat("ivr", key, spec))
        return
    echo_lines(ivr_lines(spec), f"IVR menu {key}: {spec.name}")




@click.group()
def scheme() -> None:
    """List and show forwarding schemes.

    Creating, changing and deleting schemes stays with callroute apply and a command file
    (save_forwarding_scheme, delete_forwarding_scheme).
    """


def steps_text(spec: ForwardingScheme) -> str:
    """A scheme's steps in one line."""
    joiner = " + " if spec.mode == "parallel" else " → "
    return joiner.join(f"{describe(step.destination)} ({seconds(step.timeout_seconds)})" for step in spec.steps)


def scheme_lines(item: SchemeView) -> list[tuple[str, str]]:
    """Every setting of a scheme, as label and text; one line per step."""
    spec = item.scheme
    lines = [("mode", "one after another" if spec.mode == "sequential" else "all at once")]
    lines += [(f"step {i}", f"{describe(step.destination)}, rings {seconds(step.timeout_seconds)}")
              for i, step in enumerate(spec.steps, start=1)]
    lines += [(f"backup {i}", f"{describe(step.destination)}, rings {seconds(step.timeout_seconds)}")
              for i, step in enumerate(spec.backup, start=1)]
    lines += [
        ("working hours", hours_text(spec.working_hours)),
        ("outside hours", describe(spec.outside_hours) if spec.outside_hours else "the call is missed"),
        ("greeting", describe(spec.greeting)),
        ("hold music", spec.hold_music or "-"),
        ("whisper to agent", describe(spec.whisper)),
        ("post-call menu", describe(spec.post_call_menu)),
    ]
    lines += [("warning", warning) for warning in item.warnings]
    return lines


@scheme.command("list")
@TENANT
@JSON
@pass_env
def scheme_list(env: Env, slug: str, as_json: bool) -> None:
    """List a tenant's forwarding schemes with their steps and working hours."""
    view = env.readable(slug)
    if as_json:
        echo_json([{**flat("scheme", item.id, item.scheme), "warnings": item.warnings} for item in view.schemes])
        return
    echo_table(["scheme", "name", "steps", "working hours", "outside hours"],
               [(item.id, item.scheme.name, steps_text(item.scheme), hours_text(item.scheme.working_hours),
                 describe(item.scheme.outside_hours) if item.scheme.outside_hours else "missed")
                for item in view.schemes], title=f"{slug}: {counted(len(view.schemes), 'forwarding scheme')}")


@scheme.command("show")
@TENANT
@click.option("--scheme", "key", required=True, metavar="SCHEME", help="The scheme's id, e.g. sales-hours.")
@JSON
@pass_env
def scheme_show(env: Env, slug: str, key: str, as_json: bool) -> None:
    """Show every setting of one forwarding scheme, step by step."""
    view = env.readable(slug)
    item = lookup({s.id: s for s in view.schemes}, key, "--scheme", "forwarding scheme", view)
    if as_json:
        echo_json({**flat("scheme", key, item.scheme), "warnings": item.warnings})
        return
    echo_lines(scheme_lines(item), f"scheme {key}: {item.scheme.name}")




@click.group()
def number() -> None:
    """List a tenant's numbers and where their calls enter; reject anonymous callers on a number.

    Assigning numbers and routing them stays with callroute apply and a command file
    (assign_number, route_number, release_number, set_unassigned_number_handling).
    """


@number.command("reject-anonymous")
@TENANT
@click.option("--number", "number_", required=True, metavar="NUMBER", help="One of the tenant's numbers (E.164).")
@click.option("--on/--off", "enabled", required=True,
              help="Reject callers who withhold their number on this number, or stop rejecting them.")
@REASON
@pass_env
def number_reject_anonymous(env: Env, slug: str, number_: str, enabled: bool, reason: str | None) -> None:
    """Reject callers who withhold their number on one of the tenant's numbers, whatever it enters at.

    A rejected caller gets the tenant's default rejected-call handling (set_default_rejected_call_handling),
    else the engaged tone; "voicemail" there means the voicemail of the user (or box) the number enters
    at, and the engaged tone for a number that enters anywhere else.

    \b
    Example:
      callroute number reject-anonymous --tenant nordic-dental --number +46812345600 --on
    """
    switch = "--on" if enabled else "--off"
    flags = {"tenant": ("--tenant", slug), "number": ("--number", number_), "enabled": (switch, None)}
    echo_receipt(env.execute([c.SetNumberRejectAnonymous(tenant=slug, number=number_, enabled=enabled, reason=reason)],
                             flags=flags))
    click.echo(f"{slug}: {number_} " + ("now rejects anonymous callers" if enabled else "accepts anonymous callers again"))


@number.command("list")
@TENANT
@JSON
@pass_env
def number_list(env: Env, slug: str, as_json: bool) -> None:
    """List every number of a tenant, where its calls enter, and what happens to calls to unassigned numbers."""
    view = env.readable(slug)
    if as_json:
        echo_json({"numbers": view.numbers, "unassigned": view.unassigned})
        return
    unassigned = describe(view.unassigned)
    echo_table(["number", "calls enter at", "configured in", "anonymous callers"],
               [(n.number, describe(n.entry) if n.entry else f"unassigned: {unassigned}", n.source,
                 "rejected" if n.reject_anonymous else "-") for n in view.numbers],
               title=f"{slug}: {counted(len(view.numbers), 'number')}")
    click.echo(f"calls to a number that routes nowhere: {unassigned}")
