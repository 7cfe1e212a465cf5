"""The ``callroute`` command line (click: well kept, composable sub-commands, exit status 2 on usage errors)."""

from __future__ import annotations

import getpass
import math
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import click
import msgspec
from eventsourcing.persistence import MapperDeserialisationError

from adapters.bootstrap import build_app, build_projection, db_path, directory_path
from adapters.logging import configure_logging
from adapters.render import render_tenant
from adapters.render_plan import explanation_lines, pending_lines, plan_lines, table_lines
from core import commands as c
from core.aggregates.context import Actor
from core.aggregates.hours import OpeningHours
from core.aggregates.identifiers import tenant_id
from core.aggregates.provisioning import ProviderPolicy, provisioning_id
from core.aggregates.schedule import WEEKDAYS
from core.aggregates.targets import Off, ToExtension, ToNumber, ToVoicemail
from core.audit import verify_chain
from core.errors import DomainError
from core.projections.table import RoutingTable
from core.routing import Call, route
from core.service import CallrouteApp

INVALID = 2
NOT_PERMITTED = 3


class Failure(click.ClickException):
    """An error shown as one clear line; exit status 2 (bad input) unless told otherwise."""

    exit_code = INVALID

    def __init__(self, message: str, exit_code: int = INVALID) -> None:
        super().__init__(message)
        self.exit_code = exit_code

    def show(self, file: Any = None) -> None:
        click.echo(f"callroute: error: {self.message}", err=True)


def _default_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


class Env:
    """What every sub-command gets: the store path and who acts."""

    def __init__(
        self, db: str | None, actor: str | None, partner: str | None, directory: str | None = None, operator: bool = False
    ) -> None:
        self.db = db_path(db)
        self.directory = directory_path(directory)
        principal = actor or os.environ.get("CALLROUTE_ACTOR") or _default_actor()
        self.actor = Actor(principal=principal, partner=partner, operator=operator)
        self._app: CallrouteApp | None = None

    @property
    def app(self) -> CallrouteApp:
        if self._app is None:
            try:
                self._app = build_app(self.db, pbx_directory=self.directory)
            except (OSError, msgspec.ValidationError, msgspec.DecodeError) as exc:
                raise Failure(f"PBX directory {self.directory}: {exc}") from None
        return self._app

    def execute(self, commands: list[Any], *, actor: Actor | None = None, reason: str | None = None) -> None:
        try:
            receipt = self.app.execute(commands, actor or self.actor, reason=reason)
        except DomainError as exc:
            raise Failure(f"{exc}; nothing was stored", exit_code(exc)) from None
        for slug, version in sorted(receipt.versions.items()):
            click.echo(f"{slug}: now at version {version}")


pass_env = click.make_pass_decorator(Env)


def exit_code(exc: DomainError) -> int:
    """3 when the actor lacks a permission, 2 for every other refused input."""
    return NOT_PERMITTED if exc.rule == "permission_denied" else INVALID


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--db", metavar="PATH", help="SQLite file (default: $CALLROUTE_DB, else ./callroute.sqlite).")
@click.option("--actor", metavar="PRINCIPAL", help="Who makes the change (default: $CALLROUTE_ACTOR, else cli:$USER).")
@click.option("--partner", metavar="PARTNER", help="The channel partner the actor acts for, if any.")
@click.option("--operator", is_flag=True, help="Act as platform operator: may act for every tenant.")
@click.option("--pbx-directory", metavar="FILE", help="TOML list of SIP PBXs and their internal numbers ($CALLROUTE_PBX_DIRECTORY).")
@click.option("--log-level", default="warning", show_default=True, type=click.Choice(["debug", "info", "warning", "error"]))
@click.pass_context
def cli(
    ctx: click.Context, db: str | None, actor: str | None, partner: str | None, operator: bool, pbx_directory: str | None,
    log_level: str,
) -> None:
    """callroute: the routing core of a hosted phone system."""
    configure_logging(log_level)
    ctx.obj = Env(db, actor, partner, pbx_directory, operator)


@cli.command("apply")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["json", "toml"]), help="Default: from the file name.")
@click.option("--reason", help="Why: recorded on every event the file makes (a command's own reason wins).")
@pass_env
def apply_file(env: Env, file: Path, fmt: str | None, reason: str | None) -> None:
    """Apply a JSON or TOML file of commands, all or nothing."""
    fmt = fmt or ("toml" if file.suffix.lower() == ".toml" else "json")
    try:
        document = c.decode_command_file(file.read_bytes(), format=fmt)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise Failure(f"{file}: {exc}; nothing was stored") from None
    actor = env.actor
    if document.actor is not None and not _actor_given():
        # The file names who acts; --partner and --operator on the command line still apply.
        actor = Actor(principal=document.actor.principal, partner=env.actor.partner or document.actor.partner,
                      operator=env.actor.operator)
    env.execute(list(document.commands), actor=actor, reason=reason or document.reason)


def _actor_given() -> bool:
    ctx = click.get_current_context().find_root()
    return ctx.params.get("actor") is not None


@cli.group()
def tenant() -> None:
    """Create, list and show tenants."""


@tenant.command("create")
@click.argument("slug")
@click.option("--name", required=True)
@click.option("--time-zone", required=True, help="IANA zone, e.g. Europe/Stockholm.")
@click.option("--plan", type=click.Choice(["light", "unlimited"]), default="light", show_default=True)
@click.option("--reason")
@pass_env
def tenant_create(env: Env, slug: str, name: str, time_zone: str, plan: str, reason: str | None) -> None:
    """Create a tenant."""
    env.execute([c.CreateTenant(tenant=slug, name=name, time_zone=time_zone, plan=plan, reason=reason)])  # type: ignore[arg-type]


@tenant.command("list")
@pass_env
def tenant_list(env: Env) -> None:
    """List the tenants the actor may read."""
    for slug in env.app.list_tenants():
        try:
            env.app.get_tenant(slug, env.actor)
        except DomainError:
            continue
        click.echo(slug)


@tenant.command("show")
@click.argument("slug")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_env
def tenant_show(env: Env, slug: str, as_json: bool) -> None:
    """Show a tenant's current configuration."""
    try:
        view = env.app.get_tenant(slug, env.actor)
    except DomainError as exc:
        raise Failure(str(exc), exit_code(exc)) from None
    if as_json:
        click.echo(msgspec.json.format(msgspec.json.encode(view), indent=2))
    else:
        click.echo(render_tenant(view))


@cli.group()
def user() -> None:
    """Add and remove users."""


@user.command("add")
@click.option("--tenant", "slug", required=True)
@click.option("--extension", required=True)
@click.option("--name", required=True)
@click.option("--email")
@click.option("--reason")
@pass_env
def user_add(env: Env, slug: str, extension: str, name: str, email: str | None, reason: str | None) -> None:
    """Add a user."""
    env.execute([c.AddUser(tenant=slug, extension=extension, name=name, email=email, reason=reason)])


@user.command("remove")
@click.option("--tenant", "slug", required=True)
@click.option("--extension", required=True)
@click.option("--reason")
@pass_env
def user_remove(env: Env, slug: str, extension: str, reason: str | None) -> None:
    """Remove a user."""
    env.execute([c.RemoveUser(tenant=slug, extension=extension, reason=reason)])


def parse_target(text: str) -> Any:
    """``off``, ``voicemail``, an extension (``2002``) or a number (``+441234567890``)."""
    lowered = text.strip().lower()
    if lowered == "off":
        return Off()
    if lowered == "voicemail":
        return ToVoicemail()
    if lowered.isdigit() and len(lowered) <= 6:
        return ToExtension(extension=lowered)
    return ToNumber(number=text.strip())


@cli.group()
def divert() -> None:
    """Set a user's diverts."""


@divert.command("set")
@click.option("--tenant", "slug", required=True)
@click.option("--extension", required=True)
@click.option("--when", "condition", required=True, type=click.Choice(["always", "no_answer", "busy", "unreachable"]))
@click.option("--to", "target", required=True, metavar="off|voicemail|EXT|NUMBER")
@click.option("--ring-seconds", type=int, help="For no_answer: how long to ring first (5-600, default 300).")
@click.option("--announce", is_flag=True, help="Number targets: tell the caller they are being redirected.")
@click.option("--present-dialled-number", is_flag=True, help="Number targets: show the dialled number as caller id.")
@click.option("--always", "redirect_always", is_flag=True, help="Number targets: redirect at once, without ringing first.")
@click.option("--reason")
@pass_env
def divert_set(
    env: Env,
    slug: str,
    extension: str,
    condition: str,
    target: str,
    ring_seconds: int | None,
    announce: bool,
    present_dialled_number: bool,
    redirect_always: bool,
    reason: str | None,
) -> None:
    """Set one divert, e.g. ``--when busy --to voicemail`` or ``--when always --to 441234567890``."""
    parsed = parse_target(target)
    if isinstance(parsed, ToNumber):
        parsed = ToNumber(number=parsed.number, announce=announce, present_dialled_number=present_dialled_number,
                          always=redirect_always)
    elif announce or present_dialled_number or redirect_always:
        raise Failure("--announce, --present-dialled-number and --always apply only to a number target")
    env.execute([c.SetDivert(tenant=slug, extension=extension, condition=condition, target=parsed,  # type: ignore[arg-type]
                             ring_seconds=ring_seconds, reason=reason)])


@cli.group()
def audit() -> None:
    """Tamper evidence and history."""


@audit.command("verify")
@click.option("--tenant", "slug", help="One tenant (default: every tenant).")
@click.option("--expect-head", help="Also require this chain head (a hash you recorded earlier elsewhere).")
@pass_env
def audit_verify(env: Env, slug: str | None, expect_head: str | None) -> None:
    """Walk the hash chains; exit 0 when intact, 1 naming the first altered or missing event."""
    app = env.app
    # Every aggregate in the store, found from the rows themselves: a tenant whose
    # first event was deleted is no longer listed by its creation, but its rows are.
    stored = stored_aggregates(env.db)
    known = {tenant_id(name).hex: name for name in app.list_tenants()}
    known.update({provisioning_id(name).hex: f"{name} provisioning" for name in known.values()})
    if slug is not None:
        wanted = {tenant_id(slug).hex, provisioning_id(slug).hex} & stored
        if not wanted:
            raise Failure(f"no tenant {slug!r}")
    else:
        wanted = stored
    broken = False
    for key in sorted(wanted, key=lambda k: (known.get(k, "~" + k))):
        name = known.get(key, f"aggregate {key} (its first event is missing)")
        is_tenant = not name.endswith(" provisioning")
        report = verify_chain(app.recorder, app.mapper, UUID(key), app.snapshots if is_tenant else None)
        if not is_tenant:
            if report.first_break is not None:
                b = report.first_break
                click.echo(f"{name}: BROKEN at event version {b.version}: {b.problem}: {b.detail}")
                broken = True
            continue
        if report.first_break is None and expect_head and report.head != expect_head:
            click.echo(f"{name}: chain intact over {report.events} events, but its head {report.head} "
                       f"is not the expected {expect_head}: events were removed from the end or rewritten")
            broken = True
        elif report.first_break is None:
            click.echo(f"{name}: intact, {report.events} events, head {report.head}")
        else:
            b = report.first_break
            click.echo(f"{name}: BROKEN at event version {b.version}: {b.problem}: {b.detail}")
            broken = True
    if broken:
        sys.exit(1)


def stored_aggregates(db: Path) -> set[str]:
    """The ids (hex) of every aggregate with rows in the store's events table."""
    if not db.exists():
        return set()
    import sqlite3

    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
        try:
            return {row[0] for row in connection.execute("SELECT DISTINCT originator_id FROM stored_events")}
        except sqlite3.OperationalError:
            return set()


def parse_instant(value: str | None, option: str = "--at") -> datetime:
    """An ISO 8601 instant with an offset (``2026-11-20T17:59:59+01:00`` or ``...Z``); now when omitted."""
    if value is None:
        return datetime.now(tz=UTC)
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise Failure(f"{option}: {value!r} is not an ISO 8601 instant, e.g. 2026-11-20T17:59:59+01:00") from None
    if instant.tzinfo is None:
        raise Failure(f"{option}: {value!r} has no offset; add one, e.g. +01:00 or Z") from None
    if not 1970 <= instant.year <= 2200:
        raise Failure(f"{option}: {value!r} is outside the years 1970-2200 callroute handles")
    return instant


class Tables:
    """The routing projection of the store, caught up, with a permission check per tenant."""

    def __init__(self, env: Env, slug: str, *, build: bool = True) -> None:
        self.env = env
        self.slug = slug
        try:
            env.app.get_tenant(slug, env.actor)
        except DomainError as exc:
            raise Failure(str(exc), exit_code(exc)) from None
        if build:
            self.projection = build_projection(env.app, env.db)

    def table(self, at: datetime, desired: bool) -> RoutingTable:
        if desired:
            table = self.projection.desired(self.slug, at)
            missing = "the tenant did not exist yet"
        else:
            table = self.projection.effective(self.slug, at)
            missing = "nothing was confirmed live by then (see `callroute pending`; use --desired for the saved settings)"
        if table is None:
            raise Failure(f"no routing table of {self.slug!r} at {at.isoformat()}: {missing}")
        return table


effective_option = click.option("--effective/--desired", "effective", default=True, show_default=True,
                                help="The table live on the PBX at that instant, or the one saved.")


@cli.command()
@click.option("--tenant", "slug", required=True)
@click.option("--to", "dialled", required=True, help="Dialled number (E.164) or extension.")
@click.option("--from", "caller", default=None, help="Caller id, or 'anonymous' (default: anonymous).")
@click.option("--at", "at", help="ISO 8601 instant with offset (default: now).")
@click.option("--busy", multiple=True, metavar="EXT", help="An endpoint that is busy (repeatable).")
@click.option("--unreachable", multiple=True, metavar="EXT", help="An endpoint that is unreachable (repeatable).")
@click.option("--excluded", multiple=True, metavar="EXT", help="An endpoint excluded from group and queue calls.")
@click.option("--digits", help="The IVR digits the caller presses ('' for none; default: show every option).")
@effective_option
@click.option("--json", "as_json", is_flag=True)
@pass_env
def explain(
    env: Env, slug: str, dialled: str, caller: str | None, at: str | None, busy: tuple[str, ...], unreachable: tuple[str, ...],
    excluded: tuple[str, ...], digits: str | None, effective: bool, as_json: bool,
) -> None:
    """Where a call goes and why: the plan as a tree, and every rule consulted."""
    instant = parse_instant(at)
    table = Tables(env, slug).table(instant, desired=not effective)
    states = {**{e: "excluded" for e in excluded}, **{e: "unreachable" for e in unreachable}, **{e: "busy" for e in busy}}
    call = Call(dialled=dialled, at=instant, caller=None if caller in (None, "anonymous") else caller, digits=digits)
    try:
        decision = route(table, call, states)  # type: ignore[arg-type]
    except DomainError as exc:
        raise Failure(str(exc), exit_code(exc)) from None
    if as_json:
        click.echo(msgspec.json.format(msgspec.json.encode({"table_version": table.version, "effective": effective,
                                                             "plan": decision.plan, "explanation": decision.explanation}), indent=2))
        return
    kind = "effective (live)" if effective else "desired (saved)"
    click.echo(f"{slug}: call to {dialled} from {call.caller or 'anonymous'} at {instant.isoformat()}, "
               f"{kind} table version {table.version}")
    click.echo("\nPlan:")
    click.echo("\n".join(plan_lines(decision.plan, "  ")))
    click.echo("\nWhy:")
    click.echo("\n".join(explanation_lines(decision.explanation)))


@cli.command("table")
@click.option("--tenant", "slug", required=True)
@click.option("--at", "at", help="ISO 8601 instant with offset (default: now).")
@effective_option
@click.option("--json", "as_json", is_flag=True)
@pass_env
def table_command(env: Env, slug: str, at: str | None, effective: bool, as_json: bool) -> None:
    """The routing table, live or saved, at an instant."""
    table = Tables(env, slug).table(parse_instant(at), desired=not effective)
    if as_json:
        click.echo(msgspec.json.format(msgspec.json.encode(table), indent=2))
    else:
        click.echo("\n".join(table_lines(table)))


@cli.command()
@click.option("--tenant", "slug", required=True)
@click.option("--at", "at", help="ISO 8601 instant with offset (default: now).")
@click.option("--json", "as_json", is_flag=True)
@pass_env
def pending(env: Env, slug: str, at: str | None, as_json: bool) -> None:
    """Changes not yet live at an instant, with their deadlines; overdue ones are marked."""
    instant = parse_instant(at)
    tables = Tables(env, slug)
    if tables.projection.timeline(slug).desired_version(instant) == 0:
        raise Failure(f"at {instant.isoformat()} the tenant did not exist yet")
    changes = tables.projection.pending(slug, instant)
    if as_json:
        click.echo(msgspec.json.format(msgspec.json.encode(changes), indent=2))
        return
    click.echo(f"{slug} at {instant.isoformat()}: {len(changes)} pending, {sum(p.overdue for p in changes)} overdue")
    click.echo("\n".join(pending_lines(changes)))


@cli.group()
def provision() -> None:
    """What the PBX confirmed live, and the provider's policy."""


@provision.command("confirm")
@click.option("--tenant", "slug", required=True)
@click.option("--version", type=int, required=True, help="Every version up to this one is live.")
@click.option("--at", "at", help="When it went live (ISO 8601 with offset; default: now).")
@click.option("--reason")
@pass_env
def provision_confirm(env: Env, slug: str, version: int, at: str | None, reason: str | None) -> None:
    """Record that the PBX applied every change up to VERSION."""
    env.execute([c.ConfirmProvisioning(tenant=slug, version=version, applied_at=parse_instant(at) if at else None, reason=reason)])


@provision.command("policy")
@click.option("--tenant", "slug", required=True)
@click.option("--max-delay-hours", type=click.FloatRange(min=0, max=720), default=24, show_default=True)
@click.option("--office-hours", help="e.g. 'mon-fri 09:00-17:00' (default: none, the clock always runs).")
@click.option("--time-zone", default="UTC", show_default=True, help="Zone of the office hours.")
@click.option("--reason")
@pass_env
def provision_policy(env: Env, slug: str, max_delay_hours: float, office_hours: str | None, time_zone: str,
                     reason: str | None) -> None:
    """Set the provider's maximum delay and office hours."""
    if not math.isfinite(max_delay_hours):
        raise Failure("--max-delay-hours: give a number of hours from 0 to 720")
    hours = parse_office_hours(office_hours) if office_hours else None
    policy = ProviderPolicy(max_delay_seconds=round(max_delay_hours * 3600), office_hours=hours, time_zone=time_zone)
    env.execute([c.SetProviderPolicy(tenant=slug, policy=policy, reason=reason)])


def parse_office_hours(text: str) -> OpeningHours:
    """``mon-fri 09:00-17:00`` or ``mon,wed 08:00-12:00``."""
    try:
        days_part, window = text.split()
        start, end = window.split("-")
        if "-" in days_part:
            first, last = days_part.split("-")
            days = WEEKDAYS[WEEKDAYS.index(first) : WEEKDAYS.index(last) + 1]  # type: ignore[arg-type]
        else:
            days = tuple(days_part.split(","))
        return msgspec.convert({"days": {d: [{"start": start, "end": end}] for d in days}}, OpeningHours)
    except (ValueError, msgspec.ValidationError) as exc:
        raise Failure(f"--office-hours: {text!r} is not like 'mon-fri 09:00-17:00' ({exc})") from None


@cli.command()
@click.option("--db", "demo_db", default="callroute-demo.sqlite", show_default=True, help="Recreated on every run.")
def demo(demo_db: str) -> None:
    """Build the sample tenant of the seed articles in a fresh SQLite file and show it."""
    from adapters.demo import run_demo

    run_demo(Path(demo_db))


from adapters import cli_audit, cli_simulate  # noqa: E402,F401  (register the audit and simulate commands)


def main() -> None:
    """Console-script entry point."""
    try:
        cli(prog_name="callroute")
    except MapperDeserialisationError as exc:
        click.echo(f"callroute: error: a stored event cannot be read ({exc}); run `callroute audit verify`", err=True)
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
