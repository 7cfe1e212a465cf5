"""The reads the auditor's web page needs beyond the command line's: the tenants a principal may read, a tenant's
timeline (saved changes, their deadlines and when each went live, with the zone's DST changes), and its calls.

They are ordinary API endpoints (``GET /v1/tenants``, ``GET /v1/tenants/{t}/timeline``, ``GET /v1/tenants/{t}/calls``):
the same bearer token, the same scoping (a tenant the principal may not read answers 404, as one that does not
exist), the same store thread and time limit as every other read (``app.Api.answer``). Query parameters are decoded
with msgspec into a Struct each (``TimelineQuery``, ``CallsQuery``): a value it refuses is a 422 naming the parameter.
"""

from __future__ import annotations

import bisect
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import msgspec
from litestar import Request, Response, get

from adapters.http.answers import CallsAnswer, TenantsAnswer, TenantSummary, TimelineAnswer, TimelineChange, ZoneOffset
from adapters.http.errors import ApiError, one_param
from core.aggregates.context import Actor

MAX_CALLS = 2000
DEFAULT_CALLS = 200
_ZONE_MARGIN = timedelta(days=400)
"""The zone's offsets are given from about a year before the first change to a year after the last (or ``at``)."""


class TimelineQuery(msgspec.Struct, frozen=True):
    at: Annotated[str, msgspec.Meta(max_length=80)] | None = None


class CallsQuery(msgspec.Struct, frozen=True):
    since: Annotated[str, msgspec.Meta(max_length=80)] | None = None
    until: Annotated[str, msgspec.Meta(max_length=80)] | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=MAX_CALLS)] = DEFAULT_CALLS


def decode_query(request: Request[Any, Any, Any], kind: type[Any]) -> Any:
    """The request's query parameters that ``kind`` names, decoded by msgspec; 422 naming the parameter and the rule."""
    params = request.query_params
    values: dict[str, str] = {}
    for name in kind.__struct_fields__:
        given = one_param({name: params.getall(name, [])}, name)
        if given is not None:
            values[name] = given
    try:
        return msgspec.convert(values, kind, strict=False)
    except msgspec.ValidationError as exc:
        text = str(exc)
        message, _, where = text.rpartition(" - at `$.")
        field = where.rstrip("`") if message else None
        raise ApiError(422, "validation", f"{field}: {message}" if field else text, field=field) from None


# -- the reads, in the store's thread -----------------------------------------------------------------------------------


def tenants(store: Any, actor: Actor) -> TenantsAnswer:
    """``callroute tenant list`` for the token's principal: only the tenants it may read."""
    from core.errors import DomainError

    app = store._app()  # noqa: SLF001
    summaries = []
    for slug in app.list_tenants(actor):
        try:
            view = app.get_tenant(slug, actor)
        except DomainError:
            continue
        summaries.append(TenantSummary(slug=view.slug, name=view.name, time_zone=view.time_zone, plan=view.plan,
                                       version=view.version, modified_on=view.modified_on))
    return TenantsAnswer(principal=actor.principal, operator=actor.operator, partner=actor.partner, now=store.clock.now(),
                         tenants=summaries)


def timeline(store: Any, slug: str, actor: Actor, query: TimelineQuery) -> TimelineAnswer:
    """Every saved change with its deadline and the instant it went live, the confirmations, and the zone's offsets."""
    from core.projections.deadlines import deadline

    zone_name = store.readable(slug, actor).time_zone
    zone = ZoneInfo(zone_name)
    at = store.instant(query.at, zone, "at")
    line = store.projection().timeline(slug)
    desired = line.desired_version(at)  # the version saved by ``at``, as ``effective`` is the one live by then
    if line.checker is not None and line.stored_changes:
        line.checker.changes(line, 1, line.stored_changes, None)  # every row served agrees with its stored event
    effective = line.effective_version(at)  # the provisioning rows are checked here
    confirmations = list(line.confirmations)
    by_time = sorted(confirmations, key=lambda c: c.applied_at)
    covered = []  # the highest version live by each confirmation, in time order
    for confirmation in by_time:
        covered.append(max(confirmation.version, covered[-1] if covered else 0))
    changes = []
    for change in line.changes:
        due = deadline(change.at, line.policy_at(change.at))
        index = bisect.bisect_left(covered, change.version)
        live_at = by_time[index].applied_at if index < len(by_time) else None
        if live_at is not None and live_at <= at:
            status = "live"
        elif change.at > at:
            status = "later"
        else:
            status = "overdue" if due < at else "pending"
        changes.append(TimelineChange(version=change.version, at=change.at, topic=change.topic.removeprefix("callroute/"),
                                      actor=change.actor, partner=change.partner, reason=change.reason, deadline=due,
                                      live_at=live_at, status=status, late=live_at is not None and live_at > due))
    instants = [at, *(c.at for c in line.changes), *(c.applied_at for c in confirmations)]
    offsets = zone_offsets(zone, min(instants).astimezone(UTC) - _ZONE_MARGIN, max(instants).astimezone(UTC) + _ZONE_MARGIN)
    return TimelineAnswer(tenant=slug, time_zone=zone_name, at=at, desired_version=desired, effective_version=effective,
                          changes=changes, confirmations=confirmations, zone=offsets)


def zone_offsets(zone: ZoneInfo, start: datetime, end: datetime) -> list[ZoneOffset]:
    """The zone's offset at ``start``, then each change of it (a DST change) up to ``end``, to the minute (instants in UTC)."""

    def at(instant: datetime) -> tuple[int, str, bool]:
        local = instant.astimezone(zone)
        offset, dst = local.utcoffset(), local.dst()
        return (int(offset.total_seconds()) if offset else 0, local.tzname() or "", bool(dst))

    first = at(start)
    out = [ZoneOffset(since=None, offset_seconds=first[0], abbreviation=first[1], dst=first[2])]
    step = timedelta(hours=6)
    here, current = start, first
    while here < end:
        nxt = here + step
        value = at(nxt)
        if value != current:
            low, high = here, nxt  # the change is in (low, high]: halve to the minute
            while high - low > timedelta(minutes=1):
                middle = low + (high - low) / 2
                if at(middle) == current:
                    low = middle
                else:
                    high = middle
            since = high.replace(second=0, microsecond=0)
            if at(since) != value:
                since += timedelta(minutes=1)
            out.append(ZoneOffset(since=since, offset_seconds=value[0], abbreviation=value[1], dst=value[2]))
            current = value
        here = nxt
    return out


def calls(store: Any, slug: str, actor: Actor, query: CallsQuery) -> CallsAnswer:
    """``callroute conformance``'s checks of the tenant's finished calls (the first ``limit`` in the window)."""
    from adapters.bootstrap import UnsupportedStore, open_call_store
    from core.calls.conformance import ProjectionTables, check_calls
    from core.calls.history import call_history

    zone = ZoneInfo(store.readable(slug, actor).time_zone)
    start = store.instant(query.since, zone, "since") if query.since else None
    end = store.instant(query.until, zone, "until") if query.until else None
    if start is not None and end is not None and end < start:
        raise ApiError(422, "validation", f"until: {query.until} is before since {query.since}", field="until")
    nothing = CallsAnswer(tenant=slug, kept=False, calls=[], conforms=0, deviates=0, unchecked=0, truncated=False)
    if store.location is None:  # an application in memory: no call tables
        return nothing
    try:
        call_store = open_call_store(store.location)  # an SQLite file's call tables, or a PostgreSQL database's
    except UnsupportedStore:
        return nothing
    source = ProjectionTables(store.projection(), slug)
    try:
        records = islice(call_history(call_store.calls(slug, start, end)), query.limit + 1)
        checks = list(check_calls(records, call_store.presence(slug, end), source))
    finally:
        call_store.close()
    truncated = len(checks) > query.limit
    checks = checks[:query.limit]
    counts = {"conforms": 0, "deviates": 0, "unchecked": 0}
    for check in checks:
        counts[check.verdict] += 1
    return CallsAnswer(tenant=slug, kept=True, calls=checks, truncated=truncated, **counts)


# -- the handlers -------------------------------------------------------------------------------------------------------


def page_routes(api: Any) -> list[Any]:
    """The handlers of these reads on ``api`` (``app.Api``): through ``api.answer``, as every other read."""

    @get("/v1/tenants")
    async def tenant_list(request: Request[Any, Any, Any]) -> Response[bytes]:
        return await api.answer(request, lambda actor: tenants(api.store, actor))

    @get("/v1/tenants/{tenant:str}/timeline")
    async def tenant_timeline(request: Request[Any, Any, Any]) -> Response[bytes]:
        tenant = request.path_params["tenant"]
        return await api.answer(request, lambda actor: timeline(api.store, tenant, actor, decode_query(request, TimelineQuery)))

    @get("/v1/tenants/{tenant:str}/calls")
    async def tenant_calls(request: Request[Any, Any, Any]) -> Response[bytes]:
        tenant = request.path_params["tenant"]
        return await api.answer(request, lambda actor: calls(api.store, tenant, actor, decode_query(request, CallsQuery)))

    return [tenant_list, tenant_timeline, tenant_calls]


__all__ = ["CallsQuery", "TimelineQuery", "calls", "decode_query", "page_routes", "tenants", "timeline", "zone_offsets"]
