"""``ingest``, ``history`` and ``conformance``: live PBX events in, call history and the check against the live table out.

``callroute ingest ami|esl|webhook`` stores what a PBX reports about calls (``adapters.call_store``:
a table of its own in the same SQLite file, or ``adapters.postgres_calls`` in the same PostgreSQL
database; idempotent, hash-chained per tenant). Storing call
events for a tenant needs the right to change it (its telephony administrator, its partner, or
an operator): what a PBX reports becomes evidence about the tenant's configuration. Without
``--tenant`` a call goes to the tenant whose numbers include the dialled one, among those the
actor may change; a call no such tenant owns is counted and logged, never stored.

``callroute history`` (one record per finished call) and ``callroute conformance`` (each call
against the table live at its instant) need the right to read the tenant.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Awaitable, Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import msgspec

from adapters.cli.common import Env, pass_env
from adapters.cli.errors import NOT_PERMITTED, Failure, exit_code, schema_text
from adapters.cli.ledger import TENANT
from adapters.cli.output import echo_json, echo_table, exclusive, instant_text

if TYPE_CHECKING:
    from adapters.call_sink import SinkStats, StoringSink
    from adapters.pbx import IngestStats
    from core.calls.history import CallRecord

SINCE = click.option("--since", metavar="WHEN",
                     help="Only calls that started at or after this instant: a date (2026-11-20) or local time (2026-11-20T17:59) "
                          "in the tenant's zone, or an instant with an offset (2026-11-20T17:59:59+01:00).")
UNTIL = click.option("--until", metavar="WHEN", help="Only calls that started up to and including this instant, as --since.")
INGEST_TENANT = click.option("--tenant", "slug", metavar="SLUG",
                             help="Store every event for this tenant (default: the tenant whose numbers include the dialled one).")
ONCE = click.option("--once", is_flag=True, help="End (exit 0) when the server closes the connection, instead of reconnecting.")
PBX = click.option("--pbx", "pbx_name", metavar="NAME",
                   help="The name the PBX's events are stored under; keep it the same across runs (default: the host).")
FLUSH_SECONDS = 0.5
"""A lone event waits at most this long in the buffer before it is stored."""


@click.group()
def ingest() -> None:
    """Store what a live PBX reports about calls: Asterisk AMI, FreeSWITCH event socket, saved provider webhooks."""


def _sink(env: Env, slug: str | None) -> StoringSink:
    """The sink for the tenants the actor may change (``slug``: that one, refused in one line if it may not)."""
    from adapters.call_sink import StoringSink, directory_for
    from adapters.bootstrap import open_call_store
    from core.calls.attribution import Attribution
    from core.errors import DomainError

    if slug is not None:
        env.readable(slug)  # a tenant the actor may not read reads as one that does not exist
    try:
        directory = directory_for(env.app, env.actor, slug)
    except DomainError as exc:
        raise Failure(env.refusal(exc, {"tenant": ("--tenant", slug)}), exit_code(exc)) from None
    if not directory.extensions:
        raise Failure(f"{env.actor.principal!r} may change no tenant, so no call could be stored; name who acts with --actor",
                      NOT_PERMITTED)
    store = open_call_store(env.db)
    store.create()
    return StoringSink(store, Attribution(directory, tenant=slug, known_call=store.tenant_of_call))


def _run_client(sink: StoringSink, client: Callable[[StoringSink], Awaitable[IngestStats]]) -> IngestStats:
    import trio

    async def main() -> IngestStats:
        async with trio.open_nursery() as nursery:
            await nursery.start(sink.write_in_background, FLUSH_SECONDS)
            try:
                return await client(sink)
            finally:
                with trio.CancelScope(shield=True):
                    await sink.finish()  # what the client handed over is written, even when it failed

    try:
        return trio.run(main)
    except BaseExceptionGroup as group:  # trio's nurseries group what their tasks raise: the client's one error is raised
        raise _only(group) from None
    finally:
        sink.close()
        sink.store.close()


def _only(group: BaseExceptionGroup) -> BaseException:
    """The one exception in a (nested) group, or the group itself."""
    while len(group.exceptions) == 1:
        inner = group.exceptions[0]
        if not isinstance(inner, BaseExceptionGroup):
            return inner
        group = inner
    return group


def _client_failure(exc: Exception, unreachable: type[Exception] | None = None) -> Failure:
    """A client's error as one line: 1 for a PBX that could not be reached, 2 for a refused login or subscription."""
    code = 1 if unreachable is not None and isinstance(exc, unreachable) else 2
    return Failure(str(exc), getattr(exc, "exit_code", code))


def _report(what: str, client: IngestStats | None, sink: SinkStats) -> None:
    parts = []
    if client is not None:
        parts.append(f"{client.connects} connection{'s' if client.connects != 1 else ''}, {client.frames} frames "
                     f"({client.malformed} malformed, {client.oversize} oversize, {client.unknown} not call events)")
    parts.append(f"{sink.received} events: {sink.stored} stored, {sink.duplicates} heard before")
    calls = sink.unattributed_calls
    parts.append(f"no tenant found, not stored: {sink.unattributed_events} events ({calls} call{'s' if calls != 1 else ''})")
    click.echo(f"{what}: " + "; ".join(parts))


@ingest.command("ami")
@click.option("--host", required=True, help="The Asterisk manager's host.")
@click.option("--port", type=click.IntRange(1, 65535), default=5038, show_default=True, help="Its TCP port.")
@click.option("--username", required=True, help="The manager user (manager.conf).")
@click.option("--secret", required=True, envvar="CALLROUTE_AMI_SECRET", show_envvar=True, help="Its secret.")
@INGEST_TENANT
@PBX
@ONCE
@pass_env
def ingest_ami(env: Env, host: str, port: int, username: str, secret: str, slug: str | None, pbx_name: str | None,
               once: bool) -> None:
    """Listen to an Asterisk manager (AMI) and store the calls it reports."""
    from adapters.pbx import ami

    try:
        settings = ami.AmiSettings(host=host, port=port, username=username, secret=secret, pbx=pbx_name or host,
                                   tenant=slug).validated()
    except (ValueError, msgspec.ValidationError) as exc:
        raise Failure(f"ingest ami: {schema_text(str(exc))}") from None
    sink = _sink(env, slug)
    try:
        stats = _run_client(sink, lambda s: ami.run_ami(settings, s, once=once, clock=env.clock))
    except ami.AmiError as exc:
        raise _client_failure(exc, ami.AmiConnectionError) from None
    _report(f"ami {settings.pbx_name}", stats, sink.stats)


@ingest.command("esl")
@click.option("--host", required=True, help="The FreeSWITCH host.")
@click.option("--port", type=click.IntRange(1, 65535), default=8021, show_default=True, help="Its event-socket port.")
@click.option("--password", required=True, envvar="CALLROUTE_ESL_PASSWORD", show_envvar=True,
              help="The event socket's password (event_socket.conf.xml).")
@INGEST_TENANT
@PBX
@ONCE
@pass_env
def ingest_esl(env: Env, host: str, port: int, password: str, slug: str | None, pbx_name: str | None, once: bool) -> None:
    """Listen to a FreeSWITCH event socket (inbound) and store the calls it reports."""
    from adapters.pbx import esl_client

    try:
        settings = esl_client.EslSettings(host=host, port=port, password=password, pbx=pbx_name or host, tenant=slug)
    except (ValueError, msgspec.ValidationError) as exc:
        raise Failure(f"ingest esl: {schema_text(str(exc))}") from None
    sink = _sink(env, slug)
    try:
        stats = _run_client(sink, lambda s: esl_client.run_esl(settings, s, once=once))
    except esl_client.EslError as exc:
        raise _client_failure(exc, esl_client.EslConnectError) from None
    _report(f"esl {settings.pbx}", stats, sink.stats)


WEBHOOK_PROVIDERS = ("telnyx", "telnyx-v2", "telnyx-v1", "texml", "twilio")
"""``adapters.pbx.webhooks.PROVIDERS`` (named here so that listing the commands does not load the signature library)."""


@ingest.command("webhook")
@click.option("--provider", required=True, type=click.Choice(WEBHOOK_PROVIDERS),
              help="Whose webhook format the files hold (telnyx: call control v2, v1 or TeXML, told apart by their shape).")
@INGEST_TENANT
@click.option("--pbx", "pbx_name", metavar="NAME", help="The name the events are stored under (default: the provider's).")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@pass_env
def ingest_webhook(env: Env, provider: str, slug: str | None, pbx_name: str | None, files: tuple[Path, ...]) -> None:
    """Store saved webhook payloads (JSON, or JSON Lines: one payload a line) to fill in the call history.

    Every payload of every file is checked first: each bad payload is one line naming the file and
    the payload's place in it, and then nothing is stored (exit 2). Saved payloads carry no signature
    headers, so none is checked: give only payloads saved from requests that were verified.
    """
    pbx = pbx_name or provider.partition("-")[0]
    for _ in _webhook_events(provider, pbx, files, check_only=True):
        pass
    sink = _sink(env, slug)
    try:
        for events in _webhook_events(provider, pbx, files, check_only=False):
            sink.add(events)
    finally:
        sink.close()
        sink.store.close()
    _report(f"webhook {pbx}", None, sink.stats)


def _webhook_events(provider: str, pbx: str, files: tuple[Path, ...], *, check_only: bool) -> Iterator[list[Any]]:
    """Each payload's events (in file order); with ``check_only``, every problem first, one line each, then ``Failure``."""
    from adapters.inputs import InputError, check_json_text, read_input
    from adapters.pbx import webhooks

    state = webhooks.WebhookState()  # one backfill is one intake: the legs seen initiated are told apart
    problems: list[str] = []
    for path in files:
        try:
            data = read_input(path)  # the limits of every file callroute reads: size, UTF-8, nesting, keys once
            check_json_text(data, str(path))
        except InputError as exc:
            problems.append(str(exc) if exc.detail != "no such file" else f"{path}: cannot be read (no such file or directory)")
            continue
        for number, payload in enumerate(webhooks.iter_saved_payloads(data), start=1):
            try:
                events = webhooks.parse_webhook(provider, payload, {}, pbx=pbx, state=state)
            except (ValueError, msgspec.ValidationError, msgspec.DecodeError) as exc:
                problems.append(f"{path}: payload {number}: {schema_text(str(exc))}")
                continue
            if not check_only:
                yield events
    if problems and check_only:
        for problem in problems[:-1]:
            click.echo(f"callroute: error: {problem}", err=True)
        several = f"{len(problems)} bad payloads, " if len(problems) > 1 else ""
        raise Failure(f"{problems[-1]} ({several}nothing was stored)")


# -- history -------------------------------------------------------------------------------------------------------------

HISTORY_FIELDS = ("call_id", "pbx", "caller", "presentation", "dialled", "started", "answered", "answered_by", "answered_kind",
                  "queues", "groups", "outcome", "mailbox", "ended", "duration_seconds", "talk_seconds", "cause", "cause_text",
                  "missed_by")


def _utc(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value is not None else None


def _plain(record: CallRecord) -> dict[str, Any]:
    row = msgspec.structs.asdict(record)
    for name in ("started", "answered", "ended"):
        row[name] = _utc(row[name])
    return row


def _records(env: Env, slug: str, since: datetime | None, until: datetime | None) -> Iterator[CallRecord]:
    from adapters.bootstrap import open_call_store
    from core.calls.history import call_history

    store = open_call_store(env.db)
    try:
        yield from call_history(store.calls(slug, since, until))
    finally:
        store.close()


def _window(env: Env, slug: str, since: str | None, until: str | None) -> tuple[Any, datetime | None, datetime | None]:
    from adapters.cli.routing import Tables

    tables = Tables(env, slug, build=False)
    start = tables.instant(since, "--since") if since else None
    end = tables.instant(until, "--until") if until else None
    if start is not None and end is not None and end < start:
        raise Failure(f"--until {until} is before --since {since}")
    return tables, start, end


@click.command("history")
@TENANT
@SINCE
@UNTIL
@click.option("--json", "as_json", is_flag=True, help="A JSON array, one object per call (instants in UTC).")
@click.option("--csv", "as_csv", is_flag=True, help="One row per call (instants in UTC).")
@pass_env
def history(env: Env, slug: str, since: str | None, until: str | None, as_json: bool, as_csv: bool) -> None:
    """List the finished calls a PBX reported: who called, who answered, the outcome, how long.

    The outcome is one of answered, busy, no_answer, abandoned, voicemail, failed. (callroute audit
    history lists configuration changes, not calls.)
    """
    exclusive(**{"--json": as_json, "--csv": as_csv})
    tables, start, end = _window(env, slug, since, until)
    records = _records(env, slug, start, end)
    if as_json:
        _echo_json_array(_plain(r) for r in records)
    elif as_csv:
        _echo_csv(records)
    else:
        _echo_history(list(records), tables.zone, slug)


def _echo_json_array(rows: Iterable[dict[str, Any]]) -> None:
    """A JSON array written one element a line, as the calls are read (a long history is never held whole)."""
    encode = msgspec.json.encode
    first = True
    click.echo("[", nl=False)
    for row in rows:
        click.echo(("\n" if first else ",\n") + encode(row).decode(), nl=False)
        first = False
    click.echo("\n]" if not first else "]")


def _echo_csv(records: Iterable[CallRecord]) -> None:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HISTORY_FIELDS)
    for record in records:
        row = _plain(record)
        writer.writerow(["" if row[f] is None else " ".join(row[f]) if isinstance(row[f], tuple | list) else row[f]
                         for f in HISTORY_FIELDS])
        if out.tell() > 1 << 16:
            click.echo(out.getvalue(), nl=False)
            out.seek(0)
            out.truncate()
    click.echo(out.getvalue(), nl=False)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def _echo_history(records: list[CallRecord], zone: Any, slug: str) -> None:
    if not records:
        click.echo(f"{slug}: no finished calls")
        return
    outcomes: dict[str, int] = {}
    for record in records:
        outcomes[record.outcome] = outcomes.get(record.outcome, 0) + 1
    click.echo(f"{slug}: {len(records)} calls (" + ", ".join(f"{n} {o}" for o, n in sorted(outcomes.items())) + ")")
    rows = []
    for r in records:
        by = r.answered_by or (f"voicemail {r.mailbox}" if r.mailbox else "")
        if r.answered_kind in ("member", "agent", "number") and r.answered_by:
            by = f"{r.answered_by} ({r.answered_kind})"
        via = ", ".join([*(f"queue {q}" for q in r.queues), *(f"group {g}" for g in r.groups)])
        rows.append((instant_text(r.started, zone), r.call_id, r.caller or f"withheld ({r.presentation})", r.dialled or "",
                     r.outcome, by, via, _duration(r.duration_seconds), "" if r.cause is None else r.cause, r.pbx))
    echo_table(["started", "call", "from", "to", "outcome", "answered by", "via", "duration", "cause", "pbx"], rows)


# -- conformance ---------------------------------------------------------------------------------------------------------


@click.command("conformance")
@TENANT
@SINCE
@UNTIL
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (instants in UTC).")
@pass_env
def conformance(env: Env, slug: str, since: str | None, until: str | None, as_json: bool) -> None:
    """Check each finished call against the routing table live at its instant; exit 1 when a call deviated.

    Calls are routed again with the endpoint states the PBX reported just before them. A deviation
    names the rule that was expected. Calls that follow a change not yet confirmed live are evidence
    that the PBX applies it; the change is not confirmed for you (callroute provision confirm does that).
    """
    from adapters.bootstrap import build_projection
    from adapters.bootstrap import open_call_store
    from adapters.render_plan import explanation_lines
    from core.calls.conformance import ProjectionTables, check_calls, evidence

    tables, start, end = _window(env, slug, since, until)
    projection = build_projection(env.app, env.db)
    source = ProjectionTables(projection, slug)
    store = open_call_store(env.db)
    try:
        from core.calls.history import call_history

        checks = list(check_calls(call_history(store.calls(slug, start, end)), store.presence(slug, end), source))
    finally:
        store.close()
    counts = {"conforms": 0, "deviates": 0, "unchecked": 0}
    for check in checks:
        counts[check.verdict] += 1
    deviations = [c for c in checks if c.verdict == "deviates"]
    unchecked = [c for c in checks if c.verdict == "unchecked"]
    found = evidence(checks, source)
    if as_json:
        echo_json({"tenant": slug, "calls": len(checks), **counts, "deviations": deviations, "unchecked_calls": unchecked,
                   "evidence": found})
    else:
        zone = tables.zone
        click.echo(f"{slug}: {len(checks)} calls: {counts['conforms']} as configured, {counts['deviates']} deviate, "
                   f"{counts['unchecked']} not checked")
        for check in deviations:
            happened = check.outcome + (f" {check.endpoint}" if check.endpoint else "")
            click.echo(f"call {check.call_id} at {instant_text(check.started, zone)} to {check.dialled}: {happened} — DEVIATES from "
                       f"live version {check.table_version}, which allows: {check.allowed}")
            click.echo(f"    expected: {check.expected_rule}")
            if check.follows_version is not None:
                click.echo(f"    follows version {check.follows_version}, saved but not confirmed live")
            if check.states:
                click.echo("    endpoint states: " + ", ".join(f"{e} {s}" for e, s in sorted(check.states.items())))
            click.echo("\n".join("    " + line for line in explanation_lines(check.explanation)))
        reasons: dict[str, int] = {}
        for check in unchecked:
            reasons[check.reason or ""] = reasons.get(check.reason or "", 0) + 1
        for reason, count in sorted(reasons.items()):
            click.echo(f"not checked: {count} call{'s' if count != 1 else ''}: {reason}")
        for item in found:
            when = (f"1 call at {instant_text(item.first_call, zone)} follows" if item.calls == 1 else
                    f"{item.calls} calls from {instant_text(item.first_call, zone)} to {instant_text(item.last_call, zone)} follow")
            click.echo(f"evidence: {when} version {item.version} ({item.change}, saved "
                       f"{instant_text(item.saved_at, zone)}), which is not confirmed live; if the PBX applied it, record that with: "
                       f"callroute provision confirm --tenant {slug} --version {item.version} --at {_utc(item.first_call)}")
    if deviations:
        sys.exit(1)
