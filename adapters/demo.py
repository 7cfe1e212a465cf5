"""`callroute demo`: the main job on the embedded SQLite default."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import click

from adapters.bootstrap import build_app
from adapters.render import render_tenant
from core import commands as c
from core.aggregates.context import Actor
from core.aggregates.identifiers import tenant_id
from core.audit import verify_chain

SEED_TENANT = "nordic-dental"


def run_demo(db: Path) -> None:
    """Recreate ``db``, build the seed tenant, then a channel partner sets a PIN; show and verify it."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    data = resources.files("adapters.data")
    with resources.as_file(data.joinpath("pbx_directory.toml")) as directory:
        app = build_app(db, pbx_directory=directory)
    for name in ("seed_malmo.toml", "seed_tenant.toml"):
        document = c.decode_command_file(data.joinpath(name).read_bytes(), format="toml")
        actor = Actor(principal=document.actor.principal) if document.actor else Actor(principal="demo")
        receipt = app.execute(document.commands, actor, reason=document.reason)
    # Seed 002: a channel partner configures a hardware-only customer's voice-portal PIN.
    partner = Actor(principal="partner:phoneline-plus/pat", partner="phoneline-plus")
    app.execute([c.SetVoicePortalPin(tenant=SEED_TENANT, extension="2001", pin="482913")], partner,
                reason="hardware-only customer: partner sets the PIN")
    click.echo(f"Applied {len(document.commands) + 1} commands to {db} (tenant {SEED_TENANT}, "
               f"version {receipt.versions[SEED_TENANT] + 1}).\n")
    click.echo(render_tenant(app.get_tenant(SEED_TENANT, partner)))
    report = verify_chain(app.recorder, app.mapper, tenant_id(SEED_TENANT), app.snapshots)
    click.echo(f"\nHash chain: {'intact' if report.intact else 'BROKEN'} over {report.events} events, head {report.head}")
    click.echo(f"Try: callroute --db {db} tenant show {SEED_TENANT} --json")
