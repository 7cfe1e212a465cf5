"""``callroute audit …``: tamper evidence, history, as-of, diff and explain-call."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import sys
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import click
import msgspec

from adapters.cli.common import Env, pass_env
from adapters.cli.errors import Failure, schema_text
from adapters.cli.ledger import TENANT
from adapters.cli.output import echo_json, exclusive, instant_text
from adapters.cli.routing import AT, FROM_HELP, JSON, PRESENTATION, VIEW, Tables, caller_call, caller_text, decide, echo_decision
from adapters.render import render_tenant
from adapters.render_plan import explanation_lines, table_lines
from adapters.words import path_order, typed, value_text
from core.aggregates.identifiers import tenant_id
from core.aggregates.provisioning import provisioning_id
from core.audit import stored_originators, verify_chain
from core.projections.compare import RecordedCall, allows, describe_possible, possible_outcomes
from core.projections.history import FieldChange, HistoryEntry, plain, state_changes, tenant_history
from core.queries import tenant_view

# Internal names in a changed field's path, in the words the seed articles use.
_WORDS = {
    "own": "own setting",
    "pinned": "kept for existing users",
    "default_scopes": "default applies to",
    "defaults": "default",
    "added_at_version": "added at version",
    "live_version": "live version",
    "max_delay_seconds": "maximum delay (s)",
    "ring_seconds": "ring time (s)",
    "pin_hash": "voice-portal PIN",
    "timeout_seconds": "timeout (s)",
}


HEAD = re.compile(r"[0-9a-f]{64}")


def field_label(field: str) -> str:
    """``own.no_answer.target`` → ``own setting › no answer › target``."""
    if not field:
        return "(all of it)"
    return " › ".join(_part_label(part) for part in field.split("."))


def _part_label(part: str) -> str:
    if part in _WORDS:
        return _WORDS[part]
    if part.endswith("_seconds"):
        return f"{part.removesuffix('_seconds').replace('_', ' ')} (s)"
    return part.replace("_", " ")


@click.group()
def audit() -> None:
    """Prove the stored history intact, and read it: history, as-of, diff, explain-call."""


@audit.command("verify")
@click.option("--tenant", "slug", metavar="SLUG", help="One tenant and its provisioning record (default: the whole store).")
@click.option("--expect-head", metavar="HASH",
              help="A head kept earlier (64 hex digits, as this command prints it): the store head, or with --tenant "
                   "that tenant's chain head.")
@pass_env
def audit_verify(env: Env, slug: str | None, expect_head: str | None) -> None:
    """Walk the hash chains; exit 0 when intact, 1 naming the first altered or missing event."""
    if expect_head is not None:
        if not HEAD.fullmatch(expect_head.strip().lower()):
            raise Failure(f"--expect-head {expect_head}: a head is 64 hex digits (0-9, a-f), as audit verify prints it")
        expect_head = expect_head.strip().lower()
    app = env.app
    # Every aggregate with rows in the store: a tenant whose first event was deleted is no
    # longer listed by its creation, but its rows are.
    stored = stored_originators(app.recorder)
    known = {tenant_id(name).hex: name for name in app.list_tenants()}
    known.update({provisioning_id(name).hex: f"{name} provisioning" for name in list(known.values())})
    if slug is not None:
        wanted = {tenant_id(slug).hex, provisioning_id(slug).hex} & stored
        if not wanted:
            raise Failure(env.unknown_tenant(slug))
    else:
        wanted = stored
    if not wanted:
        click.echo(f"{env.db}: the store holds no events; nothing to verify")
        sys.exit(1)
    broken = False
    heads: list[str] = []
    tenant_head = None
    for key in sorted(wanted, key=lambda k: known.get(k, "~" + k)):
        name = known.get(key, f"aggregate {key} (its first event is missing)")
        is_tenant = not name.endswith(" provisioning")
        report = verify_chain(app.recorder, app.mapper, UUID(key), app.snapshots if is_tenant else None)
        heads.append(f"{key} {report.head}")
        if report.first_break is not None:
            b = report.first_break
            click.echo(f"{name}: BROKEN at event version {b.version}: {b.problem}: {b.detail}")
            broken = True
        else:
            click.echo(f"{name}: intact, {report.events} events, head {report.head}")
        if is_tenant and slug is not None:
            tenant_head = report.head
    store_head = hashlib.sha256("\n".join(sorted(heads)).encode()).hexdigest()
    if slug is None:
        click.echo(f"store head {store_head}")
    if expect_head is not None and not broken:
        actual = tenant_head if slug is not None else store_head
        if actual != expect_head:
            what = f"{slug}'s chain head" if slug is not None else "the store head"
            click.echo(f"{what} {actual} is not the expected {expect_head}: events were removed or rewritten")
            broken = True
    if broken:
        sys.exit(1)


def _history_lines(entries: list[HistoryEntry], zone: Any) -> list[str]:
    lines = []
    for entry in entries:
        who = entry.actor + (f" for partner {entry.partner}" if entry.partner else "")
        why = f" — {entry.reason}" if entry.reason else ""
        lines.append(f"{instant_text(entry.at, zone)}  {entry.record} v{entry.version}  {entry.event}  by {who}{why}")
        lines.extend(_change_lines(entry.changes, "    ", zone))
    return lines


def _in_order(changes: tuple[FieldChange, ...] | list[FieldChange]) -> list[FieldChange]:
    """The changes as core lists them, except that weekdays come in week order (core sorts their names)."""
    first_seen: dict[str, int] = {}
    for change in changes:
        first_seen.setdefault(change.subject, len(first_seen))
    return sorted(changes, key=lambda c: (first_seen[c.subject], path_order(c.field.split("."))))


def _change_lines(changes: tuple[FieldChange, ...] | list[FieldChange], indent: str, zone: Any,
                  subject: bool = True) -> list[str]:
    lines = []
    for change in _in_order(changes):
        head = f"{indent}{change.subject + ': ' if subject else ''}"
        whole = change.before if isinstance(change.before, dict) else change.after
        if not change.field and isinstance(whole, dict):
            # A record that came or went: field by field, in words, leaving out what is empty.
            lines.append(head + ("added" if change.before is None else "removed" if change.after is None else "replaced"))
            lines.extend(f"{indent}    {field_label(path)}: {value_text(value, zone)}" for path, value in _leaves(whole))
            continue
        lines.append(f"{head}{field_label(change.field)}: {value_text(change.before, zone)} → {value_text(change.after, zone)}")
    return lines


def _leaves(record: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Every set value of a record with its dotted path; nested records are opened unless they read as one value."""
    out: list[tuple[str, Any]] = []
    for key, value in record.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and typed(value) is None and not any(tag in value for tag in ("kind", "action", "mode", "on", "do")):
            out.extend(_leaves(value, path + "."))
        elif value not in (None, [], {}, "") and key != "added_at_version":
            out.append((path, value))
    return out


def _csv(entries: list[HistoryEntry]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["at", "record", "version", "event", "actor", "partner", "reason", "subject", "field", "before", "after"])
    for e in entries:
        for change in e.changes or (None,):
            writer.writerow([_utc(e.at), e.record, e.version, e.event, e.actor, e.partner or "", e.reason or "",
                             change.subject if change else "", field_label(change.field) if change else "",
                             msgspec.json.encode(change.before).decode() if change else "",
                             msgspec.json.encode(change.after).decode() if change else ""])
    return out.getvalue()


def _utc(at: datetime) -> str:
    from datetime import UTC

    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


@audit.command("history")
@TENANT
@click.option("--since", metavar="WHEN",
              help="Only changes at or after this instant: a date (2026-11-20) or local time (2026-11-20T17:59) in "
                   "the tenant's zone, or an instant with an offset (2026-11-20T17:59:59+01:00).")
@click.option("--until", metavar="WHEN",
              help="Only changes up to and including this instant, in the same forms as --since.")
@click.option("--by", "who", metavar="PRINCIPAL", help="Only changes made by this principal.")
@click.option("--user", "extension", metavar="EXT", help="Only changes to this extension or that refer to it.")
@JSON
@click.option("--csv", "as_csv", is_flag=True, help="One row per changed value.")
@pass_env
def history(env: Env, slug: str, since: str | None, until: str | None, who: str | None, extension: str | None,
            as_json: bool, as_csv: bool) -> None:
    """List every change: when, who (and for which partner), why, and what it changed."""
    exclusive(**{"--json": as_json, "--csv": as_csv})
    tables = Tables(env, slug, build=False)
    entries = tenant_history(env.app, slug, since=tables.instant(since, "--since") if since else None,
                             until=tables.instant(until, "--until") if until else None, actor=who, user=extension)
    if as_json:
        echo_json(entries)
    elif as_csv:
        click.echo(_csv(entries), nl=False)
    else:
        click.echo("\n".join(_history_lines(entries, tables.zone)) or "no changes match")


def _version_at(tables: Tables, slug: str, at: datetime, effective: bool) -> int:
    timeline = tables.projection.timeline(slug)
    version = timeline.effective_version(at) if effective else timeline.desired_version(at)
    if version == 0:
        what = "nothing of it was live yet" if effective and timeline.desired_version(at) else "the tenant did not exist yet"
        raise Failure(f"at {instant_text(at, tables.zone)} {what}")
    return version


@audit.command("as-of")
@TENANT
@AT
@VIEW
@JSON
@pass_env
def as_of(env: Env, slug: str, at: str | None, effective: bool, as_json: bool) -> None:
    """Show the configuration and routing table as live, or as saved, at an instant."""
    tables = Tables(env, slug)
    instant = tables.instant(at)
    version = _version_at(tables, slug, instant, effective)
    view = tenant_view(env.app.tenant(slug, version=version))
    table = tables.projection.effective(slug, instant) if effective else tables.projection.desired(slug, instant)
    if as_json:
        echo_json({"version": version, "effective": effective, "at": instant, "configuration": view, "routing_table": table})
        return
    kind = "live (effective)" if effective else "saved (desired)"
    click.echo(f"{slug} at {instant_text(instant, tables.zone)}: {kind} version {version}\n")
    click.echo(render_tenant(view))
    click.echo("")
    click.echo("\n".join(table_lines(table)))  # type: ignore[arg-type]


def _version_of(tables: Tables, slug: str, text: str, option: str) -> int:
    if text.isascii() and text.isdigit():
        version = int(text)
        latest = tables.projection.timeline(slug).desired_version(None)
        if not 1 <= version <= latest:
            raise Failure(f"{option} {text}: version {version} does not exist (the tenant is at version {latest})")
        return version
    return _version_at(tables, slug, tables.instant(text, option), effective=False)


@audit.command("diff")
@TENANT
@click.option("--from", "start", required=True, metavar="VERSION|WHEN", help="A version number or an instant.")
@click.option("--to", "end", required=True, metavar="VERSION|WHEN", help="A version number or an instant.")
@JSON
@pass_env
def diff_command(env: Env, slug: str, start: str, end: str, as_json: bool) -> None:
    """Show what changed between two instants or versions, grouped by user, group, number and so on."""
    tables = Tables(env, slug)
    first, last = _version_of(tables, slug, start, "--from"), _version_of(tables, slug, end, "--to")
    changes = state_changes(plain(env.app.tenant(slug, version=first).state), plain(env.app.tenant(slug, version=last).state))
    if as_json:
        echo_json({"from_version": first, "to_version": last, "changes": changes})
        return
    click.echo(f"{slug}: version {first} → {last}, {len(changes)} {'value' if len(changes) == 1 else 'values'} changed")
    by_subject: dict[str, list[FieldChange]] = {}
    for change in changes:
        by_subject.setdefault(change.subject, []).append(change)
    for subject in sorted(by_subject):
        click.echo(f"  {subject}")
        click.echo("\n".join(_change_lines(by_subject[subject], "    ", tables.zone, subject=False)))


@audit.command("explain-call")
@TENANT
@click.option("--to", "dialled", help="The dialled number or extension (one call).")
@click.option("--from", "caller", help=FROM_HELP)
@PRESENTATION
@AT
@click.option("--calls", "calls_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Recorded call history (JSON Lines): compare what happened with what the configuration said.")
@click.option("--desired", is_flag=True, help="Use the saved table instead of the one live at that instant.")
@click.option("--latest", is_flag=True,
              help="Use the latest saved table for every call (to check a simulated day: simulate --calls).")
@pass_env
def explain_call(env: Env, slug: str, dialled: str | None, caller: str | None, presentation: str | None, at: str | None,
                 calls_file: Path | None, desired: bool, latest: bool) -> None:
    """Explain why a past call went where it went; with --calls, check recorded calls against the configuration."""
    tables = Tables(env, slug)
    current = tables.projection.desired(slug) if latest else None

    def table_for(instant: datetime) -> Any:
        return current if current is not None else tables.table(instant, desired=desired)

    if calls_file is None:
        if dialled is None or at is None:
            raise Failure("give --to and --at for one call, or --calls FILE")
        call = caller_call(dialled, tables.instant(at), caller, presentation)
        table = table_for(call.at)
        click.echo(f"{slug}: call to {dialled} from {caller_text(call)} at {instant_text(call.at, tables.zone)}, "
                   f"{'desired' if desired else 'live'} table version {table.version}")
        echo_decision(decide(table, call, {}, {"to": ("--to", dialled), "tenant": ("--tenant", slug)}))
        return
    differing = 0
    for number, line in enumerate(calls_file.read_bytes().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            recorded = msgspec.json.decode(line, type=RecordedCall)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            raise Failure(f"{calls_file}:{number}: {schema_text(str(exc))}") from None
        table = table_for(recorded.at)
        decision = decide(table, recorded.routing_call(), dict(recorded.states),
                          {"to": (f"{calls_file}:{number}: to", recorded.to)})
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
