"""`callroute demo`: the main job on the embedded SQLite default."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import click

from adapters.bootstrap import build_app, build_projection
from adapters.cli_simulate import run_and_report, summary_lines
from adapters.render import render_tenant
from adapters.render_plan import explanation_lines, pending_lines, plan_lines
from core import commands as c
from core.aggregates.context import Actor
from core.aggregates.hours import OpeningHours, Window
from core.aggregates.identifiers import tenant_id
from core.aggregates.provisioning import ProviderPolicy, provisioning_id
from core.aggregates.targets import Off
from core.audit import verify_chain
from core.routing import Call, route
from simulator.scenario import load_scenario

SEED_TENANT = "nordic-dental"


def run_demo(db: Path) -> None:
    """Recreate ``db``; build the seed tenant; confirm it live; make one more change; explain a call both ways."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    data = resources.files("adapters.data")
    with resources.as_file(data.joinpath("pbx_directory.toml")) as directory:
        app = build_app(db, pbx_directory=directory)
    commands = 0
    for name in ("seed_malmo.toml", "seed_tenant.toml"):
        document = c.decode_command_file(data.joinpath(name).read_bytes(), format="toml")
        admin = Actor(principal=document.actor.principal) if document.actor else Actor(principal="demo")
        app.execute(document.commands, admin, reason=document.reason)
        commands += len(document.commands)
    # Seed 002: a channel partner configures a hardware-only customer's voice-portal PIN.
    partner = Actor(principal="partner:phoneline-plus/pat", partner="phoneline-plus")
    app.execute([c.SetVoicePortalPin(tenant=SEED_TENANT, extension="2001", pin="482913")], partner,
                reason="hardware-only customer: partner sets the PIN")
    # Seed 000: the provider applies changes within 24 hours, counted from office hours.
    weekdays = {day: (Window(start="09:00", end="17:00"),) for day in ("mon", "tue", "wed", "thu", "fri")}
    policy = ProviderPolicy(office_hours=OpeningHours(days=weekdays), time_zone="Europe/London")
    live = app.execute([c.SetProviderPolicy(tenant=SEED_TENANT, policy=policy),
                        c.ConfirmProvisioning(tenant=SEED_TENANT, version=app.tenant(SEED_TENANT).version)],
                       partner, reason="the PBX reports everything so far as applied")
    # One more change that the PBX has not applied yet.
    app.execute([c.SetDivert(tenant=SEED_TENANT, extension="2003", condition="always", target=Off())], admin,
                reason="Carla is back from holiday")
    version = app.tenant(SEED_TENANT).version
    click.echo(f"Applied {commands + 4} commands to {db}; tenant {SEED_TENANT} is at version {version}, "
               f"version {live.versions[SEED_TENANT]} is confirmed live.\n")
    click.echo(render_tenant(app.get_tenant(SEED_TENANT, partner)))

    projection = build_projection(app, db)
    now = datetime.now(tz=UTC)
    call = Call(dialled="2003", at=now, caller="+441234567890")
    for label, table in (("live on the PBX (effective)", projection.effective(SEED_TENANT, now)),
                         ("as saved (desired)", projection.desired(SEED_TENANT))):
        assert table is not None
        decision = route(table, call)
        click.echo(f"\nA call to 2003 now, routed by the table {label}, version {table.version}:")
        click.echo("\n".join(plan_lines(decision.plan, "  ")))
        click.echo("\n".join("  " + line for line in explanation_lines(decision.explanation)))
    click.echo("\nPending changes:")
    click.echo("\n".join(pending_lines(projection.pending(SEED_TENANT, now))))

    for name, aggregate_id in (("tenant", tenant_id(SEED_TENANT)), ("provisioning", provisioning_id(SEED_TENANT))):
        report = verify_chain(app.recorder, app.mapper, aggregate_id, app.snapshots)
        click.echo(f"\nHash chain of the {name}: {'intact' if report.intact else 'BROKEN'} over {report.events} events, "
                   f"head {report.head}")
    # A simulated Monday at the same tenant, with a divert change at noon that goes live at 15:00.
    with resources.as_file(data.joinpath("demo_day.toml")) as scenario_path:
        scenario = load_scenario(scenario_path)
        report = db.with_name(db.stem + "-report.html")
        trace = db.with_name(db.stem + "-trace.jsonl")
        result = run_and_report(scenario, scenario_path.parent, None, trace, report, progress=sys.stderr.isatty())
    click.echo("\nA simulated Monday (adapters/data/demo_day.toml):")
    click.echo("\n".join(summary_lines(result)))
    click.echo(f"  report: {report}\n  trace: {trace}")
    click.echo(f"\nTry: callroute --db {db} --actor admin@nordic-dental.example explain --tenant {SEED_TENANT} "
               f"--to +46812345601 --from +441234567890 --digits 3")
