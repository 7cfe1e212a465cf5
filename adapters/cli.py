"""The ``callroute`` command line (click: well kept, composable sub-commands, exit status 2 on usage errors)."""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path
from typing import Any

import click
import msgspec

from adapters.bootstrap import build_app, db_path, directory_path
from adapters.logging import configure_logging
from adapters.render import render_tenant
from core import commands as c
from core.aggregates.context import Actor
from core.aggregates.identifiers import tenant_id
from core.aggregates.targets import Off, ToExtension, ToNumber, ToVoicemail
from core.audit import verify_chain
from core.errors import DomainError
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
        actor = Actor(principal=document.actor.principal, partner=document.actor.partner)
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
    slugs = [slug] if slug else app.list_tenants()
    if slug and slug not in app.list_tenants():
        raise Failure(f"no tenant {slug!r}")
    broken = False
    for name in slugs:
        report = verify_chain(app.recorder, app.mapper, tenant_id(name), app.snapshots)
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


@cli.command()
@click.option("--db", "demo_db", default="callroute-demo.sqlite", show_default=True, help="Recreated on every run.")
def demo(demo_db: str) -> None:
    """Build the sample tenant of the seed articles in a fresh SQLite file and show it."""
    from adapters.demo import run_demo

    run_demo(Path(demo_db))


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="callroute")


if __name__ == "__main__":  # pragma: no cover
    main()
