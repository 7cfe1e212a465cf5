"""``apply``, ``tenant`` and ``demo``: command files, tenants, and the sample store."""

from __future__ import annotations

import os
from pathlib import Path

import click

from adapters.cli.common import Env, pass_env, setting
from adapters.cli.errors import Failure, schema_text
from adapters.cli.output import echo_json, echo_table, echo_warnings, instant_text
from adapters.inputs import InputError, format_of, read_document
from adapters.render import render_tenant
from core import commands as c
from core.aggregates.context import Actor
from core.aggregates.identifiers import REASON_RULE, name_problem
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
    """Apply a JSON or TOML file of commands, all or nothing (creates the store if needed).

    The actor is who runs callroute (--actor or CALLROUTE_ACTOR, and --partner): a file whose actor
    names someone else is refused.
    """
    try:
        document = read_document(file, c.CommandFile, format=fmt)
    except InputError as exc:
        raise Failure(f"{schema_text(str(exc))}; nothing was stored") from None
    if reason is not None and name_problem(reason) is not None:
        raise Failure(f"--reason {reason!r}: {REASON_RULE}; nothing was stored")
    if document.actor is not None:
        _check_file_actor(file, fmt or format_of(file), document.actor, env.actor)
    echo_receipt(env.execute(list(document.commands), reason=reason or document.reason, creates=True, where=str(file)))


def _check_file_actor(file: Path, fmt: str, named: c.ActorSpec, running: Actor) -> None:
    """Refuse a command file whose ``[actor]`` is not who runs the command: its principal, and its partner if it names one."""
    table = "[actor]" if fmt == "toml" else '"actor"'
    hint = "the actor is who runs callroute (--actor or CALLROUTE_ACTOR"
    if named.principal != running.principal:
        given = setting(click.get_current_context(), "actor") or os.environ.get("CALLROUTE_ACTOR")
        by = f"{running.principal!r}" + ("" if given else ", as no --actor or CALLROUTE_ACTOR is given")
        raise Failure(f"{file}: {table} names {named.principal!r}, but the command is run by {by}; {hint}); nothing was stored")
    if named.partner is not None and named.partner != running.partner:
        now = f"for partner {running.partner!r}" if running.partner else "for no partner"
        raise Failure(f"{file}: {table} names partner {named.partner!r}, but the command is run {now}; "
                      f"{hint}, with --partner); nothing was stored")


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
    for slug in env.app.list_tenants(env.actor):  # only those it may read: no refusal (logged with its slug) for the others
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
    from core.wiring import PostgresStore, is_postgres_url

    if is_postgres_url(demo_db or root_db):
        raise Failure(f"--db {PostgresStore(demo_db or root_db)}: the demo builds an SQLite file, made afresh on every run; give "
                      "it a file path (then copy it to PostgreSQL with callroute migrate FILE URL)")
    run_demo(Path(demo_db or root_db or "callroute-demo.sqlite"))
