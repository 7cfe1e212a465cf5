"""`callroute demo`: the main job on the embedded SQLite default, with a sample history at fixed instants.

The sample store's history is the week of 16 November 2026 (the instants below), so that
every example in the README answers the same on any day: a demo is not a real store, and
only here does the clock come from a script instead of the wall.
"""

from __future__ import annotations

import shlex
import sys
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click

from adapters.bootstrap import build_app, build_projection, store_problem, stored_aggregate_ids
from adapters.cli.errors import Failure
from adapters.cli.output import echo_tree, instant_text
from adapters.render import render_tenant
from adapters.render_plan import explanation_lines, pending_lines, plan_tree
from core import commands as c
from core.aggregates.context import Actor
from core.aggregates.hours import OpeningHours, Window
from core.aggregates.identifiers import tenant_id
from core.aggregates.provisioning import ProviderPolicy, provisioning_id
from core.aggregates.targets import Off
from core.aggregates.tokens import access_record_id
from core.audit import verify_chain
from core.clock import SteppingClock
from core.routing import Call, route

SEED_TENANT = "nordic-dental"
ADMIN = "admin@nordic-dental.example"
STOCKHOLM = ZoneInfo("Europe/Stockholm")

# The sample history, in the tenant's zone (Europe/Stockholm, UTC+01:00 in November).
SEEDED_AT = datetime(2026, 11, 16, 9, 0, tzinfo=STOCKHOLM)        # Monday: the Malmö PBX, then the tenant
PIN_SET_AT = datetime(2026, 11, 16, 10, 30, tzinfo=STOCKHOLM)     # the partner sets a voice-portal PIN
LIVE_AT = datetime(2026, 11, 17, 11, 0, tzinfo=STOCKHOLM)         # Tuesday: policy set, all of it confirmed live
CHANGED_AT = datetime(2026, 11, 20, 17, 30, tzinfo=STOCKHOLM)     # Friday 17:30: one more change, not yet live
ASKED_AT = datetime(2026, 11, 20, 17, 59, 59, tzinfo=STOCKHOLM)   # Friday 17:59:59: the demo's "now"


SEED_FILES = ("seed_malmo.toml", "seed_tenant.toml")


def demo_tenants() -> set[str]:
    """The tenants the demo creates: those of its seed files."""
    data = resources.files("adapters.data")
    return {command.tenant for name in SEED_FILES
            for command in c.decode_command_file(data.joinpath(name).read_bytes(), format="toml").commands
            if isinstance(command, c.CreateTenant)}


def _stored_tenants(db: Path) -> list[str] | None:
    """The slugs of the tenants created in the callroute store at ``db`` (nothing is written), or ``None`` if unreadable."""
    from adapters.bootstrap import Argon2PinHasher, sqlite_env
    from adapters.wallclock import WallClock
    from core.service import CallrouteApp

    try:
        app = CallrouteApp({**sqlite_env(db), "CREATE_TABLE": "n"}, clock=WallClock(), pin_hasher=Argon2PinHasher())
    except Exception:  # noqa: BLE001 - a probe: whatever cannot be opened is not a demo store
        return None
    try:
        return sorted(app.list_tenants())
    except Exception:  # noqa: BLE001
        return None
    finally:
        app.close()


def reuse_problem(db: Path) -> str | None:
    """Why the demo must not recreate ``db``: it exists and is not a store an earlier demo made, or it is one that has
    since been given more than the demo's tenants (bearer tokens); ``None`` if it may."""
    if not db.exists() and not db.is_symlink():
        # Without an earlier demo's store, files beside it with the demo's names are someone else's.
        taken = [path for path in companions(db) if path.exists() or path.is_symlink()]
        if taken:
            return (f"{taken[0]} exists, and the demo would write over it beside {db}; "
                    "choose another path with --db")
        return None
    tenants = demo_tenants()
    if db.is_dir():
        why = "it is a folder"
    elif store_problem(db) is not None:
        why = "it is not a callroute store"
    else:
        stored = _stored_tenants(db)
        ids = {tenant_id(t).hex for t in tenants} | {provisioning_id(t).hex for t in tenants}
        if stored is not None and set(stored) == tenants:
            extra = stored_aggregate_ids(db) - ids
            calls = _stored_call_events(db)
            if calls:
                return (f"{db} is an earlier demo's store, but it also holds {calls:,} call events (callroute ingest), "
                        "which recreating the demo would delete; choose another path with --db, or remove the file")
            if not extra:
                return None
            # An earlier demo's store that something was added to since: recreating it would delete that silently.
            what = ("bearer tokens (an access record: callroute token create)" if extra == {access_record_id().hex}
                    else f"{len(extra)} records the demo does not make")
            return (f"{db} is an earlier demo's store, but it also holds {what}, which recreating the demo would "
                    "delete; choose another path with --db, or remove the file")
        why = f"it holds the tenants {', '.join(stored)}" if stored else "it holds no demo tenants"
    return (f"{db} exists and is not a store an earlier demo made ({why}); the demo recreates its file from scratch, "
            "so choose another path with --db")


def _stored_call_events(db: Path) -> int:
    """How many call events the SQLite store ``db`` keeps (``adapters/call_store.py``; 0 without its tables)."""
    import sqlite3
    from contextlib import closing

    with closing(sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)) as connection:
        if connection.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'call_events'").fetchone() is None:
            return 0
        return int(connection.execute("SELECT count(*) FROM call_events").fetchone()[0])


def companions(db: Path) -> tuple[Path, ...]:
    """The files the demo writes beside its store: the report, the trace, and a copy of the PBX directory if needed."""
    return (db.with_name(db.stem + "-report.html"), db.with_name(db.stem + "-trace.jsonl"),
            db.with_name(db.stem + "-pbx-directory.toml"))


def _directory_file(db: Path) -> Path:
    """The SIP PBX directory the demo uses, as a file that stays: the shipped one, or a copy beside the store."""
    shipped = resources.files("adapters.data").joinpath("pbx_directory.toml")
    if isinstance(shipped, Path) and shipped.is_file():
        return shipped.resolve()
    copy = companions(db)[2]
    copy.write_bytes(shipped.read_bytes())
    return copy.resolve()


def run_demo(db: Path) -> None:
    """Recreate ``db`` with the sample history; show the tenant, a call routed by both tables, pending changes, the chains.

    A file at ``db`` is replaced only when an earlier demo made it; anything else is refused (``Failure``).
    """
    problem = reuse_problem(db)
    if problem is not None:
        raise Failure(problem)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    directory = _directory_file(db)
    app = build_app(db, clock=SteppingClock(SEEDED_AT), pbx_directory=directory)
    commands, live_version = _sample_history(app)
    click.echo(f"Applied {commands} commands to {db}: the sample tenant {SEED_TENANT} of the seed articles, "
               f"as its admins set it up in the week of 16 November 2026.\n"
               f"It is at version {app.tenant(SEED_TENANT).version}; version {live_version} was confirmed live on "
               f"{instant_text(LIVE_AT)}, and the change of {instant_text(CHANGED_AT)} is not live yet.\n")
    click.echo(render_tenant(app.get_tenant(SEED_TENANT, Actor(principal=ADMIN))))
    _show_routing(app, db)
    for name, aggregate_id in (("tenant", tenant_id(SEED_TENANT)), ("provisioning", provisioning_id(SEED_TENANT))):
        report = verify_chain(app.recorder, app.mapper, aggregate_id, app.snapshots)
        click.echo(f"\nHash chain of the {name}: {'intact' if report.intact else 'BROKEN'} over {report.events} events, "
                   f"head {report.head}")
    _simulate_a_day(db)
    click.echo("\nNext, with callroute on your PATH (e.g. the venv activated), point callroute at this store:\n"
               f"  export CALLROUTE_DB={shlex.quote(str(db.resolve()))} CALLROUTE_ACTOR={ADMIN} "
               f"CALLROUTE_PBX_DIRECTORY={shlex.quote(str(directory))}\n"
               f"  callroute explain --tenant {SEED_TENANT} --to +46812345601 --from +441234567890 "
               "--at 2026-11-20T17:59:59+01:00 --digits 3")


def _sample_history(app: Any) -> tuple[int, int]:
    """The week's changes at their instants (the app's clock is a ``SteppingClock``); commands applied, version live."""
    clock = app.clock
    data = resources.files("adapters.data")
    admin = Actor(principal=ADMIN)
    commands = 0
    for name in SEED_FILES:
        document = c.decode_command_file(data.joinpath(name).read_bytes(), format="toml")
        actor = Actor(principal=document.actor.principal) if document.actor else admin
        app.execute(document.commands, actor, reason=document.reason)
        commands += len(document.commands)
    # Seed 002: a channel partner configures a hardware-only customer's voice-portal PIN.
    partner = Actor(principal="partner:phoneline-plus/pat", partner="phoneline-plus")
    clock.set(PIN_SET_AT)
    app.execute([c.SetVoicePortalPin(tenant=SEED_TENANT, extension="2001", pin="482913")], partner,
                reason="hardware-only customer: partner sets the PIN")
    # Seed 000: the provider applies changes within 24 hours, counted from office hours.
    weekdays = {day: (Window(start="09:00", end="17:00"),) for day in ("mon", "tue", "wed", "thu", "fri")}
    policy = ProviderPolicy(office_hours=OpeningHours(days=weekdays), time_zone="Europe/London")
    clock.set(LIVE_AT)
    live = app.execute([c.SetProviderPolicy(tenant=SEED_TENANT, policy=policy),
                        c.ConfirmProvisioning(tenant=SEED_TENANT, version=app.tenant(SEED_TENANT).version)],
                       partner, reason="the PBX reports everything so far as applied")
    clock.set(CHANGED_AT)
    app.execute([c.SetDivert(tenant=SEED_TENANT, extension="2003", condition="always", target=Off())], admin,
                reason="Carla is back from holiday")
    return commands + 4, live.versions[SEED_TENANT]


def _show_routing(app: Any, db: Path) -> None:
    """A call to 2003 at the demo's "now", by the live and the saved table, and what is pending then."""
    projection = build_projection(app, db)
    call = Call(dialled="2003", at=ASKED_AT, caller="+441234567890")
    for label, table in (("live on the PBX (effective)", projection.effective(SEED_TENANT, ASKED_AT)),
                         ("as saved (desired)", projection.desired(SEED_TENANT, ASKED_AT))):
        if table is None:  # pragma: no cover - the history above makes both
            raise RuntimeError(f"the demo has no {label} table")
        decision = route(table, call, explain=True)
        click.echo(f"\nA call to 2003 at {instant_text(ASKED_AT)}, routed by the table {label}, version {table.version}:")
        echo_tree(plan_tree(decision.plan))
        click.echo("\n".join("  " + line for line in explanation_lines(decision.explanation)))
    click.echo(f"\nPending changes at {instant_text(ASKED_AT)}:")
    click.echo("\n".join(pending_lines(projection.pending(SEED_TENANT, ASKED_AT), STOCKHOLM)))


def _simulate_a_day(db: Path) -> None:
    """A simulated Monday at the same tenant, with a divert change at noon that goes live at 15:00."""
    from adapters.cli.simulate import run_and_report, summary_lines
    from simulator.scenario import load_scenario

    data = resources.files("adapters.data")
    with resources.as_file(data.joinpath("demo_day.toml")) as scenario_path:
        scenario = load_scenario(scenario_path)
        report, trace, _ = companions(db)
        result = run_and_report(scenario, scenario_path.parent, None, trace, report, progress=sys.stderr.isatty())
    click.echo("\nA simulated Monday (adapters/data/demo_day.toml):")
    click.echo("\n".join(summary_lines(result)))
    click.echo(f"  report: {report}\n  trace: {trace}")
