"""``apply``, ``tenant`` and ``demo``: command files, tenants, and the sample store."""

from __future__ import annotations

from pathlib import Path

import click
import msgspec

from adapters.cli.common import Env, pass_env, setting
from adapters.cli.errors import Failure, schema_text
from adapters.cli.output import echo_json, echo_table, echo_warnings, instant_text
from adapters.render import render_tenant
from core import commands as c
from core.aggregates.context import Actor
from core.errors import DomainError

TENANT = click.option("--tenant", "slug", required=True, metavar="SLUG", help="The tenant's short name, e.g. nordic-dental.")
REASON = click.option("--reason", help="Why: recorded on the change for auditors.")


def echo_receipt(receipt: object) -> None:
    """Which tenants a change moved to which version, then what was stored with a warning (on stderr)."""
    for slug, version in sorted(receipt.versions.items()):  # type: ignore[attr-defined]
        click.echo(f"{slug}: now at version {version}")
    echo_warnings(receipt.warnings)  # type: ignore[attr-defined]


@click.command("apply")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["json", "toml"]), help="The file's format (default: from its name).")
@REASON
@pass_env
def apply_file(env: Env, file: Path, fmt: str | None, reason: str | None) -> None:
    """Apply a JSON or TOML file of commands, all or nothing (creates the store if needed)."""
    fmt = fmt or ("toml" if file.suffix.lower() == ".toml" else "json")
    try:
        document = c.decode_command_file(file.read_bytes(), format=fmt)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise Failure(f"{file}: {schema_text(str(exc))}; nothing was stored") from None
    actor = env.actor
    if document.actor is not None and setting(click.get_current_context(), "actor") is None:
        # The file names who acts; --partner and --operator on the command line still apply.
        actor = Actor(principal=document.actor.principal, partner=env.actor.partner or document.actor.partner,
                      operator=env.actor.operator)
    echo_receipt(env.execute(list(document.commands), actor=actor, reason=reason or document.reason, creates=True,
                             where=str(file)))


@click.group()
def tenant() -> None:
    """Create, list and show tenants."""


@tenant.command("create")
@TENANT
@click.option("--name", required=True, help="The organisation's name.")
@click.option("--time-zone", required=True, help="The tenant's IANA time zone, e.g. Europe/Stockholm.")
@click.option("--plan", type=click.Choice(["light", "unlimited"]), default="light", show_default=True,
              help="Light includes 2 answer groups and 2 IVR menus.")
@REASON
@pass_env
def tenant_create(env: Env, slug: str, name: str, time_zone: str, plan: str, reason: str | None) -> None:
    """Create a tenant (and the store, if needed)."""
    flags = {"tenant": ("--tenant", slug), "name": ("--name", name), "time_zone": ("--time-zone", time_zone),
             "plan": ("--plan", plan)}
    command = c.CreateTenant(tenant=slug, name=name, time_zone=time_zone, plan=plan, reason=reason)  # type: ignore[arg-type]
    echo_receipt(env.execute([command], flags=flags, creates=True))


@tenant.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_env
def tenant_list(env: Env, as_json: bool) -> None:
    """List the tenants the actor may read."""
    views = []
    for slug in env.app.list_tenants():
        try:
            views.append(env.app.get_tenant(slug, env.actor))
        except DomainError:
            continue
    if as_json:
        echo_json([{"slug": v.slug, "name": v.name, "time_zone": v.time_zone, "plan": v.plan, "version": v.version,
                    "modified_on": v.modified_on} for v in views])
        return
    if not views:
        click.echo(f"no tenant that {env.actor.principal} may read")
        return
    echo_table(["tenant", "name", "time zone", "plan", "version", "last change"],
               [(v.slug, v.name, v.time_zone, v.plan, v.version, instant_text(v.modified_on, _zone(v.time_zone)))
                for v in views])


def _zone(name: str) -> object:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


@tenant.command("show")
@TENANT
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_env
def tenant_show(env: Env, slug: str, as_json: bool) -> None:
    """Show a tenant's current configuration, and where each value comes from."""
    view = env.readable(slug)
    if as_json:
        echo_json(view)
    else:
        click.echo(render_tenant(view))


@click.command()
@click.option("--db", "demo_db", metavar="PATH",
              help="The demo's store (default: callroute-demo.sqlite), made afresh on every run; a file there that an "
                   "earlier demo did not make is left alone and the demo refuses to run.")
@click.pass_context
def demo(ctx: click.Context, demo_db: str | None) -> None:
    """Build the sample tenant of the seed articles in a fresh store, and show what callroute does with it."""
    from adapters.demo import run_demo

    # Never $CALLROUTE_DB: the demo deletes its store first, and that variable may name a real one.
    root = ctx.find_root()
    given = root.get_parameter_source("db") is click.core.ParameterSource.COMMANDLINE
    root_db = root.params.get("db") if given else None
    run_demo(Path(demo_db or root_db or "callroute-demo.sqlite"))
