"""`callroute audit …`: history, as-of, diff and explain-call (verify lives beside the other commands)."""

from __future__ import annotations

import csv
import io
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click
import msgspec

from adapters.cli import Env, Failure, Tables, audit, exit_code, parse_instant, pass_env
from adapters.render import render_tenant
from adapters.render_plan import explanation_lines, plan_lines, table_lines
from core.errors import DomainError
from core.projections.compare import RecordedCall, allows, describe_possible, possible_outcomes
from core.projections.history import HistoryEntry, plain, short, state_changes, tenant_history
from core.queries import tenant_view
from core.routing import Call, route


def _history_lines(entries: list[HistoryEntry]) -> list[str]:
    lines = []
    for entry in entries:
        who = entry.actor + (f" for partner {entry.partner}" if entry.partner else "")
        why = f" — {entry.reason}" if entry.reason else ""
        lines.append(f"{entry.at.isoformat()}  {entry.record} v{entry.version}  {entry.event}  by {who}{why}")
        for change in entry.changes:
            field = f" {change.field}" if change.field else ""
            lines.append(f"    {change.subject}{field}: {short(change.before)} → {short(change.after)}")
    return lines


def _csv(entries: list[HistoryEntry]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["at", "record", "version", "event", "actor", "partner", "reason", "subject", "field", "before", "after"])
    for e in entries:
        rows = e.changes or (None,)
        for change in rows:
            writer.writerow([e.at.isoformat(), e.record, e.version, e.event, e.actor, e.partner or "", e.reason or "",
                             change.subject if change else "", change.field if change else "",
                             msgspec.json.encode(change.before).decode() if change else "",
                             msgspec.json.encode(change.after).decode() if change else ""])
    return out.getvalue()


@audit.command("history")
@click.option("--tenant", "slug", required=True)
@click.option("--since", help="ISO 8601 instant with offset.")
@click.option("--until", help="ISO 8601 instant with offset.")
@click.option("--actor", "who", help="Only changes made by this principal.")
@click.option("--user", "extension", help="Only changes to this extension or that refer to it.")
@click.option("--json", "as_json", is_flag=True)
@click.option("--csv", "as_csv", is_flag=True, help="One row per changed value.")
@pass_env
def history(env: Env, slug: str, since: str | None, until: str | None, who: str | None, extension: str | None,
            as_json: bool, as_csv: bool) -> None:
    """Every change: when, who (and for which partner), why, and what it changed."""
    Tables(env, slug, build=False)
    entries = tenant_history(env.app, slug, since=parse_instant(since, "--since") if since else None,
                             until=parse_instant(until, "--until") if until else None, actor=who, user=extension)
    if as_json:
        click.echo(msgspec.json.format(msgspec.json.encode(entries), indent=2))
    elif as_csv:
        click.echo(_csv(entries), nl=False)
    else:
        click.echo("\n".join(_history_lines(entries)) or "no changes match")


def _version_at(tables: Tables, slug: str, at: datetime, effective: bool) -> int:
    timeline = tables.projection.timeline(slug)
    version = timeline.effective_version(at) if effective else timeline.desired_version(at)
    if version == 0:
        what = "nothing of it was live yet" if effective and timeline.desired_version(at) else "the tenant did not exist yet"
        raise Failure(f"at {at.isoformat()} {what}")
    return version


@audit.command("as-of")
@click.option("--tenant", "slug", required=True)
@click.option("--at", "at", required=True, help="ISO 8601 instant with offset.")
@click.option("--effective", is_flag=True, help="As it was live on the PBX (default: as saved).")
@click.option("--json", "as_json", is_flag=True)
@pass_env
def as_of(env: Env, slug: str, at: str, effective: bool, as_json: bool) -> None:
    """The configuration and routing table as saved, or as live, at an instant."""
    instant = parse_instant(at)
    tables = Tables(env, slug)
    version = _version_at(tables, slug, instant, effective)
    view = tenant_view(env.app.tenant(slug, version=version))
    table = tables.projection.effective(slug, instant) if effective else tables.projection.desired(slug, instant)
    if as_json:
        click.echo(msgspec.json.format(msgspec.json.encode({"version": version, "configuration": view, "routing_table": table}),
                                       indent=2))
        return
    kind = "live (effective)" if effective else "saved (desired)"
    click.echo(f"{slug} at {instant.isoformat()}: {kind} version {version}\n")
    click.echo(render_tenant(view))
    click.echo("")
    click.echo("\n".join(table_lines(table)))  # type: ignore[arg-type]


def _version_of(tables: Tables, slug: str, text: str, option: str) -> int:
    if text.isascii() and text.isdigit():
        version = int(text)
        latest = tables.projection.timeline(slug).desired_version(None)
        if not 1 <= version <= latest:
            raise Failure(f"{option}: version {version} does not exist (the tenant is at version {latest})")
        return version
    return _version_at(tables, slug, parse_instant(text, option), effective=False)


@audit.command("diff")
@click.option("--tenant", "slug", required=True)
@click.option("--from", "start", required=True, help="A version number or an ISO 8601 instant.")
@click.option("--to", "end", required=True, help="A version number or an ISO 8601 instant.")
@click.option("--json", "as_json", is_flag=True)
@pass_env
def diff_command(env: Env, slug: str, start: str, end: str, as_json: bool) -> None:
    """What changed between two instants or versions, grouped by user, group, number…"""
    tables = Tables(env, slug)
    first, last = _version_of(tables, slug, start, "--from"), _version_of(tables, slug, end, "--to")
    before = plain(env.app.tenant(slug, version=first).state)
    after = plain(env.app.tenant(slug, version=last).state)
    changes = state_changes(before, after)
    if as_json:
        click.echo(msgspec.json.format(msgspec.json.encode({"from_version": first, "to_version": last, "changes": changes}),
                                       indent=2))
        return
    click.echo(f"{slug}: version {first} → {last}, {len(changes)} values changed")
    groups: dict[str, list[str]] = {}
    for change in changes:
        groups.setdefault(change.subject, []).append(
            f"    {change.field or '(whole)'}: {short(change.before)} → {short(change.after)}")
    for subject in sorted(groups):
        click.echo(f"  {subject}")
        click.echo("\n".join(groups[subject]))


@audit.command("explain-call")
@click.option("--tenant", "slug", required=True)
@click.option("--to", "dialled", help="Dialled number or extension (one call).")
@click.option("--from", "caller", help="Caller id, or 'anonymous'.")
@click.option("--at", "at", help="ISO 8601 instant with offset (one call).")
@click.option("--calls", "calls_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Recorded call history (JSON Lines): compare what happened with what the configuration said.")
@click.option("--desired", is_flag=True, help="Use the saved table instead of the one live at that instant.")
@click.option("--latest", is_flag=True,
              help="Use the latest saved table for every call (e.g. to check a simulated day: `simulate --calls`).")
@pass_env
def explain_call(env: Env, slug: str, dialled: str | None, caller: str | None, at: str | None, calls_file: Path | None,
                 desired: bool, latest: bool) -> None:
    """Why a past call went where it went, by the table live at its instant; with --calls, check recorded calls."""
    tables = Tables(env, slug)
    current = tables.projection.desired(slug) if latest else None

    def table_for(instant: datetime) -> Any:
        return current if current is not None else tables.table(instant, desired=desired)

    if calls_file is None:
        if dialled is None or at is None:
            raise Failure("give --to and --at for one call, or --calls FILE")
        call = Call(dialled=dialled, at=parse_instant(at), caller=None if caller in (None, "anonymous") else caller)
        table = table_for(call.at)
        decision = _route(table, call, {})
        click.echo(f"{slug}: call to {dialled} from {call.caller or 'anonymous'} at {call.at.isoformat()}, "
                   f"{'desired' if desired else 'live'} table version {table.version}\n\nPlan:")
        click.echo("\n".join(plan_lines(decision.plan, "  ")))
        click.echo("\nWhy:")
        click.echo("\n".join(explanation_lines(decision.explanation)))
        return
    differing = 0
    for number, line in enumerate(calls_file.read_bytes().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            recorded = msgspec.json.decode(line, type=RecordedCall)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            raise Failure(f"{calls_file}:{number}: {exc}") from None
        table = table_for(recorded.at)
        decision = _route(table, Call(dialled=recorded.to, at=recorded.at, caller=recorded.caller, digits=recorded.digits,
                                      call_id=recorded.call_id), dict(recorded.states))
        possible = possible_outcomes(decision.plan)
        happened = recorded.outcome + (f" {recorded.endpoint}" if recorded.endpoint else "")
        if allows(possible, recorded):
            click.echo(f"call {recorded.call_id}: {happened} — as configured (version {table.version})")
        else:
            differing += 1
            click.echo(f"call {recorded.call_id}: {happened} — DIFFERS from version {table.version}, "
                       f"which allows: {describe_possible(possible)}")
            click.echo("\n".join("    " + line for line in explanation_lines(decision.explanation)))
    if differing:
        click.echo(f"{differing} calls differ from the configuration")
        sys.exit(1)


def _route(table: Any, call: Call, states: dict[str, Any]) -> Any:
    try:
        return route(table, call, states)
    except DomainError as exc:
        raise Failure(str(exc), exit_code(exc)) from None
