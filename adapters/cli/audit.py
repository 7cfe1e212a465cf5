"""``callroute audit …``: tamper evidence, history, as-of, diff and explain-call."""

from __future__ import annotations

import csv
import io
import os
import re
import sqlite3
import sys
from contextlib import closing
from datetime import datetime
from pathlib import Path
from typing import Any

import click
import msgspec
from eventsourcing.persistence import PersistenceError

from adapters.cli.common import Env, pass_env
from adapters.cli.errors import BROKEN, Failure, exit_code, schema_text
from adapters.cli.ledger import TENANT
from adapters.cli.output import echo_json, exclusive, instant_text
from adapters.cli.routing import AT, FROM_HELP, JSON, PRESENTATION, VIEW, Tables, caller_call, caller_text, decide, echo_decision
from adapters.render import render_tenant
from adapters.render_plan import explanation_lines, table_lines
from adapters.words import path_order, terminal_safe, typed, value_text
from core.aggregates.access import check_access
from core.aggregates.access import who as named_actor
from core.aggregates.identifiers import tenant_id
from core.aggregates.provisioning import provisioning_id
from core.audit import StoreReport, replay_verified, verify_chain, verify_store
from core.errors import PermissionDeniedError
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
@click.option("--tenant", "slug", metavar="SLUG",
              help="One tenant and its provisioning record (its telephony_admin, auditor or partner may); default: the "
                   "whole store, for an operator (--operator).")
@click.option("--expect-head", metavar="HASH",
              help="A head kept earlier (64 hex digits, as this command prints it: the store head, or with --tenant the "
                   "tenant head): passes if nothing recorded up to it was removed, reordered or rewritten.")
@click.option("--expect-calls-head", metavar="HASH",
              help="A calls head kept earlier (64 hex digits, as this command prints it: the store calls head, or with "
                   "--tenant the tenant calls head): passes if no call event stored up to it was removed, reordered or "
                   "rewritten.")
@click.option("--no-later-events", "no_later", is_flag=True,
              help="With --expect-head (--expect-calls-head): fail if any event (call event) was recorded after the kept "
                   "head (when nothing should have been written since it was kept).")
@pass_env
def audit_verify(env: Env, slug: str | None, expect_head: str | None, expect_calls_head: str | None, no_later: bool) -> None:
    """Check the stored history: every chain, the store (or tenant) head, the projection's rows, and the call events.

    Exit 0 when everything is as written; 1 naming each altered, missing or forged event, snapshot,
    projection row or call event, or a kept head the store no longer leads to.
    """
    for option, given in (("--expect-head", expect_head), ("--expect-calls-head", expect_calls_head)):
        if given is not None and not HEAD.fullmatch(given.strip().lower()):
            raise Failure(f"{option} {given}: a head is 64 hex digits (0-9, a-f), as audit verify prints it")
    expect_head = expect_head.strip().lower() if expect_head is not None else None
    expect_calls_head = expect_calls_head.strip().lower() if expect_calls_head is not None else None
    if no_later and expect_head is None and expect_calls_head is None:
        raise Failure("--no-later-events: give the kept head with --expect-head HASH (or --expect-calls-head HASH)")
    damage = _damage(env.db)
    if damage is not None:
        raise Failure(damage, BROKEN)
    try:
        lines, broken = _verify(env, slug, expect_head, expect_calls_head, no_later)
    except (sqlite3.DatabaseError, PersistenceError) as exc:
        raise Failure(_damaged(env.db, exc), BROKEN) from None
    click.echo("\n".join(lines))
    if broken:
        sys.exit(BROKEN)


def _verify(env: Env, slug: str | None, expect_head: str | None, expect_calls_head: str | None,
            no_later: bool) -> tuple[list[str], bool]:
    """The lines ``audit verify`` prints, and whether anything is not as written (all read before anything is printed)."""
    app = env.app
    if slug is None and not env.actor.operator:
        refused = PermissionDeniedError(f"audit verify without --tenant covers every tenant of the store: {named_actor(env.actor)} "
                                        "is not a platform operator (--operator); verify one tenant with --tenant SLUG")
        raise Failure(env.refusal(refused, {}), exit_code(refused))
    if slug is not None:
        _may_verify(env, slug)
    report = verify_store(app, slug, expect_head=expect_head)
    if not report.records:
        if slug is not None:
            raise env.no_tenant(slug)
        return [f"{env.db}: the store holds no events; nothing to verify"], True
    lines = []
    for record in report.records:
        b = record.report.first_break
        if b is not None:
            lines.append(f"{record.name}: BROKEN at event version {b.version}: {b.problem}: {b.detail}")
        else:
            lines.append(f"{record.name}: intact, {_count(record.report.events, 'event')}, head {record.report.head}")
    projection, differs = _projection_lines(env, slug) if report.intact else (
        ["projection: not compared with the events, which are not as written"], False)
    lines.extend(projection)
    what = "store" if slug is None else "tenant"
    lines.append(f"{what} head {report.store_head} after {_count(report.events, 'event')}")
    kept_lines, kept_fails = ([], False) if report.kept is None else _kept_lines(report, what, no_later)
    lines.extend(kept_lines)
    calls, calls_broken = _calls_lines(env, slug, expect_calls_head, no_later and expect_calls_head is not None)
    lines.extend(calls)
    return lines, not report.intact or differs or kept_fails or calls_broken


def _count(n: int, noun: str, plural: str | None = None) -> str:
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"


def _may_verify(env: Env, slug: str) -> None:
    """Refuse unless the actor may verify tenant ``slug``: its telephony_admin, auditor or partner, or an operator.

    An unknown tenant and a forbidden one give the same line. A tenant that cannot be loaded as stored (its chain or
    snapshot is not as written) is judged by its events up to the first break, never by a snapshot; an operator may
    verify any tenant that has rows.
    """
    from core.errors import DomainError, UnknownTenantError

    app = env.app
    if env.actor.operator:
        if not any(app.recorder.select_events(record, limit=1) for record in (tenant_id(slug), provisioning_id(slug))):
            raise env.no_tenant(slug)
        return
    state = None
    try:
        state = app.tenant(slug).state
    except UnknownTenantError:
        raise env.no_tenant(slug) from None
    except Exception:  # noqa: BLE001 - its stored events or snapshot do not load as written: judged by its verified events
        try:
            tenant = replay_verified(app.recorder, app.mapper, tenant_id(slug),
                                     verify_chain(app.recorder, app.mapper, tenant_id(slug)))
            state = None if tenant is None else tenant.state
        except Exception:  # noqa: BLE001, S110 - nothing of it can be trusted: only an operator may verify it
            pass
    if state is None:
        raise env.no_tenant(slug)
    try:
        check_access(env.actor, slug, state.admins, state.partner, action="verify")
    except DomainError as exc:
        raise Failure(env.refusal(exc, {"tenant": ("--tenant", slug)}), exit_code(exc)) from None


def _projection_lines(env: Env, slug: str | None) -> tuple[list[str], bool]:
    """The projection's stored rows against a rebuild from the events: a line per disagreement, or one saying they agree;
    and whether any differs.

    Nothing when the store has no projection yet; the rows are compared up to the projection's stored position.
    """
    from adapters.projection_check import compare_projection

    found = compare_projection(env.app, env.db, slug)  # the same SQLite file or PostgreSQL database as the events
    if found.status != "agree" or found.check is None:
        return found.problems, found.status == "disagree"
    check = found.check
    whose = f"{slug}'s rows" if slug is not None else f"the rows of {_count(check.tenants, 'tenant')}"
    return [f"projection: {whose} agree with the events ({_count(check.changes, 'change record')}, "
            f"{_count(check.confirmations, 'confirmation')}, {_count(check.policies, 'provider policy', 'provider policies')}, "
            f"{_count(check.tables, 'table')})"], False


def _calls_lines(env: Env, slug: str | None, kept: str | None, no_later: bool) -> tuple[list[str], bool]:
    """The call events (``adapters.call_store``): a line per tenant's chain, one per disagreement of the ``calls`` table,
    the calls head of the scope, and what a kept calls head is to it; and whether anything fails. Nothing when the store
    has no call tables (one from before call events were stored), unless a kept calls head was given.

    The calls head is apart from the store head: the store head of a store without calls stays what it was, and call
    events, stored by the thousand a day, do not count as "events recorded after" a kept store head.
    """
    from adapters.call_store import verify_calls
    from core.calls.log import GENESIS, CallsWalk

    # An SQLite file's call tables, or a PostgreSQL database's (adapters/postgres_calls.py): the same check.
    check = verify_calls(env.db, slug, kept=bytes.fromhex(kept) if kept is not None else None)
    if check is None and kept is None:
        return [], False
    walk = check.walk if check is not None else CallsWalk(chains=(), head=GENESIS, events=0,
                                                           kept_after=0 if kept == GENESIS.hex() else None)
    lines = []
    for chain in walk.chains:
        if chain.broken is not None:
            lines.append(f"calls: {chain.tenant}: BROKEN at call event {chain.broken.position:,} of {chain.events:,}: "
                         f"{chain.broken.problem}")
        else:
            lines.append(f"calls: {chain.tenant}: intact, {_count(chain.events, 'call event')}, head {chain.head.hex()}")
    if slug is not None and not walk.chains and check is not None:
        lines.append(f"calls: {slug}: no call events")
    if check is not None:
        lines.extend(f"calls: {problem}" for problem in check.index)
        if check.index_more:
            lines.append(f"calls: and {_count(check.index_more, 'more call')} whose calls-table row disagrees with its events")
    what = "store" if slug is None else "tenant"
    lines.append(f"{what} calls head {walk.head.hex()} after {_count(walk.events, 'call event')}")
    broken = check is not None and not check.intact
    if kept is None:
        return lines, broken
    kept_line, kept_fails = _kept_calls_line(walk, kept, what, no_later)
    return [*lines, kept_line], broken or kept_fails


def _kept_calls_line(walk: Any, kept: str, what: str, no_later: bool) -> tuple[str, bool]:
    """What a kept calls head is to the call events now, in words; and whether that fails the check."""
    if walk.kept_after is not None:
        line = f"the kept calls head is the {what} calls head after call event {walk.kept_after:,} of {walk.events:,}"
        line += ": nothing up to it was removed or changed" if walk.intact else (
            ": nothing up to it was removed or reordered, but the broken chains above show call events edited since")
        if not walk.later:
            return line, False
        since = sum(count for _, count in walk.later)
        spans = [f"{tenant} {count:,}" for tenant, count in walk.later[:10]]
        if len(walk.later) > 10:
            spans.append(f"and {_count(len(walk.later) - 10, 'more tenant')}")
        recorded = f"{_count(since, 'call event')} {'was' if since == 1 else 'were'} stored after it: {', '.join(spans)}"
        if no_later:
            return f"{line}, but {recorded}, and --no-later-events says none was", True
        return f"{line}; {recorded}", False
    if walk.kept_chain is not None:
        tenant, position = walk.kept_chain
        chain = next(c for c in walk.chains if c.tenant == tenant)
        line = (f"the kept calls head is {tenant}'s call chain head at call event {position:,}: {tenant}'s call events are "
                "intact up to it")
        if what == "store":
            line += " (it covers that tenant only; keep the store calls head to cover every tenant)"
        after = chain.events - position
        if after and no_later:
            return (f"{line}, but {_count(after, 'call event')} of it {'was' if after == 1 else 'were'} stored after it, "
                    "and --no-later-events says none was"), True
        return line + (f"; {_count(after, 'call event')} of it stored after it" if after else ""), False
    return (f"the kept calls head {kept} is none of the {what} calls heads of these {_count(walk.events, 'call event')}: "
            "the call events it covered were removed or rewritten"), True


def _kept_lines(report: StoreReport, what: str, no_later: bool) -> tuple[list[str], bool]:
    """What the kept head is to the store now, in words; and whether that fails the check."""
    kept = report.kept
    assert kept is not None
    if kept.after is not None:
        line = f"the kept head is the {what} head after event {kept.after:,} of {report.events:,}"
        # The running head covers the hashes the events record; a chain broken above is an event changed after it was recorded.
        line += ": nothing up to it was removed or changed" if report.intact else (
            ": nothing up to it was removed or reordered, but the broken chains above show events edited since")
        if not kept.later:
            return [line], False
        since = sum(count for *_, count in kept.later)
        spans = [f"{name} v{first}" + (f"-v{last}" if last != first else "") for name, first, last, _ in kept.later[:10]]
        if len(kept.later) > 10:
            spans.append(f"and {_count(len(kept.later) - 10, 'more record')}")
        recorded = f"{_count(since, 'event')} {'was' if since == 1 else 'were'} recorded after it: {', '.join(spans)}"
        if no_later:
            return [f"{line}, but {recorded}, and --no-later-events says none was"], True
        return [f"{line}; {recorded}"], False
    if kept.earlier_form == "store":
        return ["the kept head is the store head in its earlier form (over every record's chain head), which only an "
                "unchanged store matches: nothing was removed or changed"], False
    if kept.earlier_form is not None:
        record = next(r.report for r in report.records if r.name == kept.earlier_form)
        line = (f"the kept head is {kept.earlier_form}'s chain head at event {kept.earlier_version}, a head in its earlier form: "
                f"{kept.earlier_form} is intact up to it")
        after = record.events - (kept.earlier_version or 0)
        if what == "store":
            line += " (it covers that record only; keep the store head to cover every tenant)"
        if after and no_later:
            return [f"{line}, but {_count(after, 'event')} of it {'was' if after == 1 else 'were'} recorded after it, "
                    "and --no-later-events says none was"], True
        return [line + (f"; {_count(after, 'event')} of it recorded after it" if after else "")], False
    return [f"the kept head {kept.head} is none of the {what} heads of these {_count(report.events, 'event')}: the history "
            "it covered was removed or rewritten"], True


def _damage(path: Path) -> str | None:
    """Why the SQLite file at ``path`` is damaged (SQLite's own check, read-only), or None: a missing or foreign file is
    left to the usual store checks.

    Only SQLite and ``os.stat`` look at the file, never a plain ``open``: closing any descriptor of a file in this
    process drops the locks SQLite holds on it (POSIX advisory locks belong to the process), under a writer's feet.
    """
    if not isinstance(path, Path) or not os.path.isfile(path):  # a PostgreSQL database is checked by its server
        return None
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
            found = [row[0] for row in connection.execute("PRAGMA quick_check(2)")]
    except sqlite3.DatabaseError as exc:
        if "file is not a database" in str(exc):  # not SQLite, or its header is damaged: the store checks say which
            return None
        return _damaged(path, exc)
    if found != ["ok"]:
        return _damaged(path, "; ".join(found))
    return None


def _damaged(path: Path, problem: object) -> str:
    """One line: the file, that it is damaged, and SQLite's words for how (on one line, shortened); for a PostgreSQL
    database, the database and the driver's words."""
    if not isinstance(path, Path):
        from adapters.bootstrap import damaged_text

        return damaged_text(path, problem)
    words = " ".join(str(problem).replace("*** in database main ***", "").split()) or type(problem).__name__
    if len(words) > 160:
        words = words[:157] + "..."
    return f"{path}: the SQLite file is damaged ({words}), so what it stores cannot all be read; restore it from a backup"


def _history_lines(entries: list[HistoryEntry], zone: Any) -> list[str]:
    lines = []
    for entry in entries:
        who = entry.actor + (f" for partner {entry.partner}" if entry.partner else "")
        why = f" — {entry.reason}" if entry.reason else ""
        lines.append(f"{instant_text(entry.at, zone)}  {entry.record} v{entry.version}  {entry.event}  by {who}{why}")
        lines.extend(_change_lines(entry.changes, "    ", zone))
    return [terminal_safe(line) for line in lines]


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
    return [terminal_safe(line) for line in lines]


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
        click.echo(terminal_safe(f"  {subject}"))
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
    from adapters.inputs import InputError, read_json_lines

    try:  # every line is read and checked before any call is explained
        recorded_calls = read_json_lines(calls_file, RecordedCall)
    except InputError as exc:
        raise Failure(schema_text(str(exc))) from None
    differing = 0
    for number, recorded in recorded_calls:
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
