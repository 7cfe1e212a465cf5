"""``explain``, ``table``, ``pending`` and ``provision``: the tables as saved and as live, and where a call goes."""

from __future__ import annotations

import math
import re
import shlex
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import click
import msgspec

from adapters.cli.common import Env, pass_env
from adapters.cli.errors import Failure, exit_code, refusal_text
from adapters.cli.ledger import REASON, TENANT
from adapters.cli.output import echo_json, echo_table, echo_tree, echo_warnings, instant_text
from adapters.render_plan import explanation_lines, plan_tree, table_lines
from core import commands as c
from core.aggregates.hours import OpeningHours
from core.aggregates.provisioning import ProviderPolicy
from core.aggregates.schedule import WEEKDAYS
from core.errors import DomainError
from core.routing import PRESENTATIONS, Call, RoutingTable, normalise_caller, route

AT_HELP = ("When: now (the default), a date or local time in the tenant's zone (2026-11-20T17:59), "
           "or an instant with an offset (2026-11-20T17:59:59+01:00).")
AT = click.option("--at", "at", metavar="WHEN", help=AT_HELP)
JSON = click.option("--json", "as_json", is_flag=True, help="Machine-readable output (instants in UTC).")
VIEW = click.option("--effective/--desired", "effective", default=True, show_default=True,
                    help="The table live on the PBX at that instant, or the one saved.")
PRESENTATION = click.option(
    "--presentation", type=click.Choice(PRESENTATIONS, case_sensitive=False),
    help="The network's presentation indicator: restricted or unavailable make the caller anonymous whatever --from says.")
FROM_HELP = ("The caller id: a number, a tel: or sip: URI; withheld when empty, a word such as anonymous, restricted or "
             "unavailable, or sip:anonymous@anonymous.invalid.")


class Tables:
    """The routing projection of the store, caught up, after checking that the actor may read the tenant.

    What it serves is checked on the way (``core/integrity.py``): the events it catches up on, and
    every row it read back from the store that an answer rests on; a disagreement raises
    ``StoreIntegrityError``, which the command line turns into one line and exit 1 (``LazyGroup.invoke``).
    """

    def __init__(self, env: Env, slug: str, *, build: bool = True) -> None:
        from adapters.bootstrap import build_projection

        self.env = env
        self.slug = slug
        self.view = env.readable(slug)
        self.zone = ZoneInfo(self.view.time_zone)
        if build:
            self.projection = build_projection(env.app, env.db)

    def instant(self, value: str | None, option: str = "--at") -> datetime:
        """An instant given on the command line; local times are read in the tenant's zone."""
        return self.env.instant(value, option, self.zone)

    def table(self, at: datetime, desired: bool) -> RoutingTable:
        """The desired or effective table at ``at``, or one line saying why there is none."""
        if desired:
            table = self.projection.desired(self.slug, at)
            missing = "the tenant did not exist yet"
        else:
            table = self.projection.effective(self.slug, at)
            missing = ("nothing was confirmed live by then (callroute pending lists what waits for the PBX; "
                       "use --desired for the saved settings)")
        if table is None:
            raise Failure(f"no routing table of {self.slug!r} at {instant_text(at, self.zone)}: {missing}")
        return table


def caller_call(dialled: str, at: datetime, caller: str | None, presentation: str | None, **more: Any) -> Call:
    """The call to route, its caller id read as ``core.routing.normalise_caller`` reads every caller id."""
    number, shown = normalise_caller(caller, presentation=presentation)
    return Call(dialled=dialled, at=at, caller=number, presentation=shown, **more)


def caller_text(call: Call) -> str:
    """Who called, as the first line of an explanation says it."""
    if not call.withheld:
        return str(call.caller)
    return "no caller id (unavailable)" if call.effective_presentation == "unavailable" else "a withheld number"


def decide(table: RoutingTable, call: Call, states: dict[str, Any], flags: dict[str, tuple[str, object]] | None = None) -> Any:
    """``route()``, with a refusal as one line naming what was typed (``flags``: field → (flag, value))."""
    try:
        return route(table, call, states, explain=True)
    except DomainError as exc:
        raise Failure(refusal_text(exc, flags or {}, None, ZoneInfo(table.time_zone)), exit_code(exc)) from None


DIGITS = re.compile(r"[0-9*#]*")
"""IVR digits, the whole value (``fullmatch``: ``$`` would also match before a final newline)."""


def check_digits(digits: str | None) -> None:
    """Refuse IVR digits other than 0-9, * and # (none at all is fine: the caller pressed nothing)."""
    if digits is not None and not DIGITS.fullmatch(digits):
        shown = digits if digits.isprintable() else repr(digits)  # one line, even for a newline
        raise Failure(f"--digits {shown}: a caller presses the keys 0-9, * and # (give '' for none)")


def endpoints(table: RoutingTable) -> list[str]:
    """Every endpoint a state may be given for: the tenant's users and the members of its answer groups (PBX/MEMBER)."""
    from core.routing import member_key

    found = dict.fromkeys(sorted(table.users))
    for key in sorted(table.groups):
        found.update(dict.fromkeys(member_key(m.ref) for m in table.groups[key].members))
    return list(found)


def check_endpoints(table: RoutingTable, given: dict[str, tuple[str, ...]]) -> None:
    """Refuse a state for an endpoint that is neither a user of the tenant nor a member of one of its groups."""
    known = endpoints(table)
    for option, values in given.items():
        for value in values:
            if value not in known:
                raise Failure(f"{option} {value}: neither a user of {table.tenant} nor a member of its answer groups "
                              f"(table version {table.version}); give one of {', '.join(known)}")


def echo_decision(decision: Any) -> None:
    """The plan as a tree and every rule consulted."""
    click.echo("\nPlan:")
    echo_tree(plan_tree(decision.plan))
    click.echo("\nWhy:")
    click.echo("\n".join(explanation_lines(decision.explanation)))


@click.command()
@TENANT
@click.option("--to", "dialled", required=True, help="The dialled number (E.164) or extension.")
@click.option("--from", "caller", default=None, help=FROM_HELP + " Default: withheld.")
@PRESENTATION
@AT
@click.option("--busy", multiple=True, metavar="EXT", help="An endpoint that is busy (repeatable).")
@click.option("--unreachable", multiple=True, metavar="EXT", help="An endpoint that is unreachable (repeatable).")
@click.option("--excluded", multiple=True, metavar="EXT", help="An endpoint excluded from group and queue calls (repeatable).")
@click.option("--digits", help="The IVR digits the caller presses ('' for none; default: show every option).")
@VIEW
@JSON
@pass_env
def explain(
    env: Env, slug: str, dialled: str, caller: str | None, presentation: str | None, at: str | None, busy: tuple[str, ...],
    unreachable: tuple[str, ...], excluded: tuple[str, ...], digits: str | None, effective: bool, as_json: bool,
) -> None:
    """Show where a call goes and why: the plan as a tree, and every rule consulted."""
    check_digits(digits)
    tables = Tables(env, slug)
    instant = tables.instant(at)
    table = tables.table(instant, desired=not effective)
    check_endpoints(table, {"--busy": busy, "--unreachable": unreachable, "--excluded": excluded})
    states = {**{e: "excluded" for e in excluded}, **{e: "unreachable" for e in unreachable}, **{e: "busy" for e in busy}}
    call = caller_call(dialled, instant, caller, presentation, digits=digits)
    flags = {"to": ("--to", dialled), "dialled": ("--to", dialled), "caller": ("--from", caller), "from": ("--from", caller),
             "presentation": ("--presentation", presentation),
             "digits": ("--digits", digits), "tenant": ("--tenant", slug), "at": ("--at", at)}
    decision = decide(table, call, states, flags)
    if as_json:
        echo_json({"table_version": table.version, "effective": effective, "at": instant, "from": call.caller,
                   "presentation": call.effective_presentation, "plan": decision.plan, "explanation": decision.explanation})
        return
    kind = "effective (live)" if effective else "desired (saved)"
    click.echo(f"{slug}: call to {dialled} from {caller_text(call)} at {instant_text(instant, tables.zone)}, "
               f"{kind} table version {table.version}")
    echo_decision(decision)


@click.command("table")
@TENANT
@AT
@VIEW
@JSON
@pass_env
def table_command(env: Env, slug: str, at: str | None, effective: bool, as_json: bool) -> None:
    """Show the routing table, live or saved, at an instant."""
    tables = Tables(env, slug)
    table = tables.table(tables.instant(at), desired=not effective)
    if as_json:
        echo_json(table)
    else:
        click.echo("\n".join(table_lines(table)))


@click.command()
@TENANT
@AT
@JSON
@pass_env
def pending(env: Env, slug: str, at: str | None, as_json: bool) -> None:
    """List the changes not yet live at an instant, with their deadlines; overdue ones are marked."""
    tables = Tables(env, slug)
    instant = tables.instant(at)
    if tables.projection.timeline(slug).desired_version(instant) == 0:
        raise Failure(f"at {instant_text(instant, tables.zone)} the tenant did not exist yet")
    changes = tables.projection.pending(slug, instant)
    if as_json:
        echo_json(changes)
        return
    overdue = sum(p.overdue for p in changes)
    click.echo(f"{slug} at {instant_text(instant, tables.zone)}: {len(changes)} pending, {overdue} overdue")
    if changes:
        echo_table(["version", "change", "saved at", "by", "due", "status", "reason"],
                   [(p.version, p.topic.removeprefix("callroute/"), instant_text(p.at, tables.zone), p.actor,
                     instant_text(p.deadline, tables.zone), "OVERDUE" if p.overdue else "waiting", p.reason or "")
                    for p in changes])


@click.group()
def provision() -> None:
    """Record what the PBX confirmed live, and the provider's policy."""


@provision.command("confirm")
@TENANT
@click.option("--version", type=int, required=True, help="Every version up to this one is live.")
@click.option("--at", "at", metavar="WHEN",
              help="When the PBX applied it: now (the default), a date or local time in the tenant's zone "
                   "(2026-11-20T17:59), or an instant with an offset (2026-11-20T17:59:59+01:00).")
@REASON
@pass_env
def provision_confirm(env: Env, slug: str, version: int, at: str | None, reason: str | None) -> None:
    """Record that the PBX applied every change up to a version."""
    zone = env.zone(slug)
    applied_at = env.instant(at, "--at", zone) if at else None
    flags = {"version": ("--version", version), "applied_at": ("--at", at or "now"), "at": ("--at", at or "now"),
             "tenant": ("--tenant", slug), "reason": ("--reason", None)}
    receipt = env.execute([c.ConfirmProvisioning(tenant=slug, version=version, applied_at=applied_at, reason=reason)],
                          flags=flags, zone=zone)
    if applied_at is None:
        click.echo(f"{slug}: every change up to version {version} is now recorded as live")
    else:
        click.echo(f"{slug}: every change up to version {version} is recorded as live since {instant_text(applied_at, zone)}")
    echo_warnings(receipt.warnings)


@provision.command("policy")
@TENANT
@click.option("--max-delay-hours", type=click.FloatRange(min=0, max=720), default=24, show_default=True,
              help="The longest a change may take to go live, counted in office hours when those are given.")
@click.option("--office-hours", metavar="'DAYS HH:MM-HH:MM'",
              help="When the provider's office works: days, then one window (see the example above; default: always).")
@click.option("--time-zone", default="UTC", show_default=True, help="The IANA zone of the office hours.")
@REASON
@pass_env
def provision_policy(env: Env, slug: str, max_delay_hours: float, office_hours: str | None, time_zone: str,
                     reason: str | None) -> None:
    """Set the provider's maximum delay and office hours.

    \b
    Example:
      callroute provision policy --tenant nordic-dental --max-delay-hours 48 \\
          --office-hours 'mon-fri 09:00-17:00' --time-zone Europe/London
    """
    if not math.isfinite(max_delay_hours):
        raise Failure("--max-delay-hours: give a number of hours from 0 to 720")
    hours = parse_office_hours(office_hours) if office_hours else None
    policy = ProviderPolicy(max_delay_seconds=round(max_delay_hours * 3600), office_hours=hours, time_zone=time_zone)
    typed = f"{max_delay_hours:g}" + (f" --office-hours {shlex.quote(office_hours)}" if office_hours else "") + \
        f" --time-zone {time_zone}"
    flags = {"policy.time_zone": ("--time-zone", time_zone), "policy.office_hours": ("--office-hours", office_hours),
             "policy.max_delay_seconds": ("--max-delay-hours", f"{max_delay_hours:g}"), "policy": ("--max-delay-hours", typed),
             "tenant": ("--tenant", slug), "reason": ("--reason", None)}
    receipt = env.execute([c.SetProviderPolicy(tenant=slug, policy=policy, reason=reason)], flags=flags)
    counted = f"counted in office hours {office_hours} ({time_zone})" if office_hours else "counted from the change"
    click.echo(f"{slug}: changes must go live within {max_delay_hours:g} hours, {counted}")
    echo_warnings(receipt.warnings)


_HOURS = re.compile(r"\s*(?P<days>[a-z,\-]+)\s+(?P<start>\d{1,2}:\d{2})-(?P<end>\d{1,2}:\d{2})\s*")


def parse_office_hours(text: str) -> OpeningHours:
    """``mon-fri 09:00-17:00`` or ``mon,wed 08:00-12:00``: one window on the named days."""
    shape = "write days and hours like 'mon-fri 09:00-17:00' or 'mon,wed 08:00-12:00'"
    match = _HOURS.fullmatch(text.lower())
    if match is None:
        raise Failure(f"--office-hours {text!r}: {shape}")
    days: list[str] = []
    for part in match["days"].split(","):
        first, _, last = part.partition("-")
        for day in (first, last or first):
            if day not in WEEKDAYS:
                raise Failure(f"--office-hours {text!r}: {day!r} is not a day; days are {', '.join(WEEKDAYS)}")
        lo, hi = WEEKDAYS.index(first), WEEKDAYS.index(last or first)
        if hi < lo:
            raise Failure(f"--office-hours {text!r}: {part} runs backwards; write the earlier day first")
        days.extend(WEEKDAYS[lo : hi + 1])
    start, end = (f"{int(t.split(':')[0]):02d}:{t.split(':')[1]}" for t in (match["start"], match["end"]))
    try:
        return msgspec.convert({"days": {d: [{"start": start, "end": end}] for d in days}}, OpeningHours)
    except msgspec.ValidationError:
        raise Failure(f"--office-hours {text!r}: times are HH:MM from 00:00 to 24:00") from None
