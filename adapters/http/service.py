"""What each endpoint does on the store, in the store's thread (``worker.py``): core's calls, scoped to the principal.

Every method takes the principal its token stands for and checks first that it may read (or verify) the
tenant, through ``CallrouteApp.get_tenant``: a tenant it may not read is refused exactly as one that does
not exist. The reads are the command line's (``adapters/cli/routing.py``, ``adapters/cli/audit.py``), made
through the same core calls: the routing projection (caught up before each read), ``tenant_history``,
``state_changes``, ``verify_store`` and ``check_projection`` (the verify endpoints: ``verify_service.py``).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from adapters.http.answers import (
    AsOfAnswer,
    CommandsStored,
    DiffAnswer,
    ExplainAnswer,
    HistoryAnswer,
    PendingAnswer,
    TableAnswer,
    View,
    WebhookAnswer,
    changes_in_utc,
    history_in_utc,
)
from adapters.http.errors import ApiError, one_param, unauthorized
from adapters.http.verify_service import VerifyReads
from core.aggregates.context import Actor
from core.aggregates.tokens import TokenBook
from core.errors import DomainError
from core.routing import PRESENTATIONS, Call, normalise_caller, route
from core.service import CallrouteApp

DIGITS = re.compile(r"[0-9*#]*")
STATES = ("busy", "unreachable", "excluded")


@dataclass
class WebhookSource:
    """A provider whose webhooks the API takes: its key, the name its events are stored under, and whose calls they are.

    ``key``: Telnyx's Ed25519 public key (base64), or Twilio's auth token. ``url``: for Twilio, the public URL it
    calls (its signature covers the URL; behind a proxy the URL this server sees differs); default: the request's.
    ``tenant``: store every call for this tenant; default: the tenant whose numbers include the dialled one.
    """

    key: str | bytes
    pbx: str | None = None
    url: str | None = None
    tenant: str | None = None
    actor: Actor | None = None
    """Whose right to store calls for a tenant attribution uses (default: an operator, ``webhook:<provider>``)."""


@dataclass
class _Intake:
    """One provider's intake, kept for the server's life: the legs seen initiated and the calls whose tenant is known."""

    provider: str
    source: WebhookSource
    sink: Any
    state: Any
    actor: Actor


@dataclass
class ApiStore(VerifyReads):
    """The application, its projection, the tokens and the webhook intakes; every method runs in the store's thread."""

    store: Any
    """An SQLite file's path, a store location ``adapters.bootstrap`` takes, or an application the caller owns."""
    clock: Any
    pbx_directory: Path | None = None
    webhooks: Mapping[str, WebhookSource] = field(default_factory=dict)
    app: CallrouteApp | None = None
    location: Any = None
    """Where the store is, as ``adapters.bootstrap`` takes it (None: an application in memory)."""
    _owned: bool = False
    _projection: Any = None
    _book: TokenBook | None = None
    _intakes: dict[str, _Intake] = field(default_factory=dict)

    # -- life -----------------------------------------------------------------------------------------------------------

    def open(self) -> None:
        from adapters import bootstrap

        if isinstance(self.store, CallrouteApp):
            self.app = self.store
            name = self.app.env.get("SQLITE_DBNAME") if hasattr(self.app, "env") else None
            self.location = Path(name) if name and name != ":memory:" else None
        else:
            self.location = self.store
            problem = bootstrap.store_problem(self.store)  # type: ignore[arg-type]
            if problem is not None:
                raise RuntimeError(str(problem))
            self.app = bootstrap.build_app(self.store, clock=self.clock, pbx_directory=self.pbx_directory)  # type: ignore[arg-type]
            self._owned = True
        self._book = TokenBook(self.app)

    def close(self) -> None:
        for intake in self._intakes.values():
            intake.sink.close()
            intake.sink.store.close()
        self._intakes.clear()
        if self._projection is not None and hasattr(self._projection.store, "close"):
            self._projection.store.close()
        if self._owned and self.app is not None:
            self.app.close()

    # -- who asks -------------------------------------------------------------------------------------------------------

    def actor_for(self, token: str | None) -> Actor:
        """The principal of a bearer token; 401 without one, or for one that is unknown or revoked."""
        if not token:
            raise unauthorized("no bearer token: send Authorization: Bearer <token> (callroute token create prints one)")
        assert self._book is not None
        actor = self._book.actor_for(token)
        if actor is None:
            raise unauthorized("the bearer token is unknown or was revoked")
        return actor

    def _app(self) -> CallrouteApp:
        assert self.app is not None
        return self.app

    def readable(self, slug: str, actor: Actor, action: str = "read") -> Any:
        """The tenant's view if ``actor`` may ``action`` it; the one refusal (404) for a tenant it may not read."""
        return self._app().get_tenant(slug, actor, action=action)  # type: ignore[arg-type]

    def projection(self) -> Any:
        """The routing projection, caught up with every event stored (by this process or another) before the read."""
        from core.projections.routing import RoutingProjection
        from core.projections.store import MemoryProjectionStore

        if self.location is None:
            if self._projection is None:
                self._projection = RoutingProjection(self._app(), MemoryProjectionStore())
            self._projection.catch_up()
            return self._projection
        from eventsourcing.persistence import IntegrityError, PersistenceError

        from adapters.bootstrap import build_projection
        from adapters.projection_store import ProjectionMoved

        if self._projection is not None:
            try:
                self._projection.catch_up()
                return self._projection
            except ProjectionMoved:  # another process committed first: reload what it stored and go on from there
                self._projection.store.close()
                self._projection = None
            except PersistenceError as exc:  # its connection may be lost (a PostgreSQL server gone): a new one next time
                if isinstance(exc, IntegrityError):
                    raise
                with contextlib.suppress(Exception):
                    self._projection.store.close()
                self._projection = None
                raise
        self._projection = build_projection(self._app(), self.location)
        return self._projection

    def reached(self, position: int) -> bool:
        """Whether the routing projection reads serve has processed ``position`` (caught up first: from the position a
        ``callroute project`` process committed, if one keeps it, so only the events after it are left to this one)."""
        return bool(self.projection().position >= position)

    # -- reads ----------------------------------------------------------------------------------------------------------

    def tenant(self, slug: str, actor: Actor) -> Any:
        return self.readable(slug, actor)

    def table(self, slug: str, actor: Actor, at: str | None, view: str | None) -> TableAnswer:
        zone = ZoneInfo(self.readable(slug, actor).time_zone)
        chosen, instant = _view(view), self.instant(at, zone, "at")
        table = self._table(slug, instant, chosen)
        return TableAnswer(tenant=slug, view=chosen, at=instant, version=table.version, table=table)

    def _table(self, slug: str, at: datetime, view: View) -> Any:
        projection = self.projection()
        if view == "desired":
            table = projection.desired(slug, at)
            missing = "the tenant did not exist yet"
        else:
            table = projection.effective(slug, at)
            missing = "nothing was confirmed live by then (pending lists what waits for the PBX; view=desired gives the saved table)"
        if table is None:
            raise ApiError(422, "no_table", f"at: no {view} routing table of {slug!r} at {at.isoformat()}: {missing}", field="at")
        return table

    def explain(self, slug: str, actor: Actor, q: Mapping[str, Sequence[str]]) -> ExplainAnswer:
        zone = ZoneInfo(self.readable(slug, actor).time_zone)
        dialled = one_param(q, "to")
        if not dialled:
            raise ApiError(422, "required", "to: give the dialled number (E.164) or extension", field="to")
        digits = one_param(q, "digits")
        if digits is not None and DIGITS.fullmatch(digits) is None:
            raise ApiError(422, "validation", "digits: a caller presses the keys 0-9, * and # (give an empty value for none)",
                           field="digits")
        presentation = one_param(q, "presentation")
        if presentation is not None and presentation.lower() not in PRESENTATIONS:
            raise ApiError(422, "validation", f"presentation: one of {', '.join(PRESENTATIONS)}", field="presentation")
        chosen, instant = _view(one_param(q, "view")), self.instant(one_param(q, "at"), zone, "at")
        table = self._table(slug, instant, chosen)
        states = _states(q, table)
        caller, shown = normalise_caller(one_param(q, "from"), presentation=presentation)
        call = Call(dialled=dialled, at=instant, caller=caller, presentation=shown, digits=digits)
        try:
            decision = route(table, call, states, explain=True)
        except DomainError as exc:
            raise ApiError(422, exc.rule, f"to: {exc.message}", field="to") from None
        return ExplainAnswer(tenant=slug, view=chosen, at=instant, table_version=table.version, dialled=dialled, caller=call.caller,
                             presentation=call.effective_presentation, plan=decision.plan, explanation=decision.explanation,
                             rejected_anonymous=decision.rejected_anonymous)

    def pending(self, slug: str, actor: Actor, at: str | None) -> PendingAnswer:
        zone = ZoneInfo(self.readable(slug, actor).time_zone)
        instant = self.instant(at, zone, "at")
        projection = self.projection()
        changes = projection.pending(slug, instant)
        return PendingAnswer(tenant=slug, at=instant, pending=changes, overdue=sum(p.overdue for p in changes))

    def history(self, slug: str, actor: Actor, since: str | None, until: str | None) -> HistoryAnswer:
        from core.projections.history import tenant_history

        zone = ZoneInfo(self.readable(slug, actor).time_zone)
        first = self.instant(since, zone, "since") if since else None
        last = self.instant(until, zone, "until") if until else None
        return HistoryAnswer(tenant=slug, changes=history_in_utc(tenant_history(self._app(), slug, since=first, until=last)))

    def as_of(self, slug: str, actor: Actor, at: str | None, view: str | None) -> AsOfAnswer:
        from core.queries import tenant_view

        zone = ZoneInfo(self.readable(slug, actor).time_zone)
        chosen, instant = _view(view), self.instant(at, zone, "at")
        version = self._version_at(slug, instant, chosen, "at")
        table = self._table(slug, instant, chosen)
        configuration = tenant_view(self._app().tenant(slug, version=version))
        return AsOfAnswer(tenant=slug, at=instant, view=chosen, version=version, configuration=configuration, routing_table=table)

    def _version_at(self, slug: str, at: datetime, view: View, name: str) -> int:
        timeline = self.projection().timeline(slug)
        version = timeline.effective_version(at) if view == "effective" else timeline.desired_version(at)
        if version == 0:
            what = "nothing of it was live yet" if view == "effective" and timeline.desired_version(at) else \
                "the tenant did not exist yet"
            raise ApiError(422, "no_version", f"{name}: at {at.isoformat()} {what}", field=name)
        return version

    def diff(self, slug: str, actor: Actor, start: str | None, end: str | None) -> DiffAnswer:
        from core.projections.history import plain, state_changes

        zone = ZoneInfo(self.readable(slug, actor).time_zone)
        first, last = self._version_of(slug, start, zone, "from"), self._version_of(slug, end, zone, "to")
        app = self._app()
        changes = state_changes(plain(app.tenant(slug, version=first).state), plain(app.tenant(slug, version=last).state))
        return DiffAnswer(tenant=slug, from_version=first, to_version=last, changes=changes_in_utc(changes))

    def _version_of(self, slug: str, text: str | None, zone: ZoneInfo, name: str) -> int:
        if not text:
            raise ApiError(422, "required", f"{name}: give a version number or an instant", field=name)
        if text.isascii() and text.isdigit():
            version = int(text)
            latest = self.projection().timeline(slug).desired_version(None)
            if not 1 <= version <= latest:
                raise ApiError(422, "no_version", f"{name}: version {version} does not exist (the tenant is at version {latest})",
                               field=name)
            return version
        return self._version_at(slug, self.instant(text, zone, name), "desired", name)

    # -- writes ---------------------------------------------------------------------------------------------------------

    def execute(self, commands: Sequence[Any], actor: Actor, reason: str | None) -> CommandsStored:
        receipt = self._app().execute(commands, actor, reason=reason)
        return CommandsStored(versions=dict(receipt.versions), events=receipt.events, warnings=tuple(receipt.warnings),
                              position=receipt.position)

    def webhook(self, provider: str, events: Sequence[Any]) -> WebhookAnswer:
        """Store a verified webhook's call events for the tenants they belong to (``adapters/call_sink.py``)."""
        from adapters.call_sink import directory_for

        intake = self._intake(provider)
        before = msgspec.structs.replace(intake.sink.stats)
        # The numbers as they are now: a number routed since the last webhook is found.
        intake.sink.attribution.directory = directory_for(self._app(), intake.actor, intake.source.tenant)
        intake.sink.add(events)
        intake.sink.flush()
        stats = intake.sink.stats
        stored, duplicates = stats.stored - before.stored, stats.duplicates - before.duplicates
        unattributed = len(events) - stored - duplicates
        return WebhookAnswer(provider=provider, received=len(events), stored=stored, duplicates=duplicates,
                             unattributed=max(0, unattributed))

    def _intake(self, provider: str) -> _Intake:
        from adapters.bootstrap import open_call_store
        from adapters.call_sink import StoringSink, directory_for
        from adapters.pbx.webhooks import WebhookState
        from core.calls.attribution import Attribution

        intake = self._intakes.get(provider)
        if intake is None:
            if self.location is None:
                raise ApiError(503, "no_call_store", "this server's store keeps no calls (its events are in memory: the call "
                                                     "store is an SQLite file or a PostgreSQL database)")
            source = self.webhooks[provider]
            actor = source.actor or Actor(principal=f"webhook:{provider}", operator=True)
            store = open_call_store(self.location)  # an SQLite file's call tables, or a PostgreSQL database's
            store.create()
            directory = directory_for(self._app(), actor, source.tenant)
            sink = StoringSink(store, Attribution(directory, tenant=source.tenant, known_call=store.tenant_of_call))
            intake = self._intakes[provider] = _Intake(provider, source, sink, WebhookState(), actor)
        return intake

    def webhook_state(self, provider: str) -> Any:
        return self._intake(provider).state

    # -- instants -------------------------------------------------------------------------------------------------------

    def instant(self, value: str | None, zone: ZoneInfo, name: str) -> datetime:
        """``now`` (or nothing), an ISO 8601 instant with an offset, or a date or local time read in the tenant's zone."""
        if value is None or value.strip().lower() in ("", "now"):
            return self.clock.now()  # type: ignore[no-any-return]
        text = value.strip()
        try:
            at = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
        except ValueError:
            raise ApiError(422, "malformed_instant", f"{name}: {value[:60]!r} is not an instant: give now, 2026-11-20, "
                                                     "2026-11-20T17:59 (the tenant's zone) or 2026-11-20T17:59:59+01:00",
                           field=name) from None
        if at.tzinfo is None:
            at = at.replace(tzinfo=zone)
        return at


def _view(value: str | None) -> View:
    if value is None or value == "effective":
        return "effective"
    if value == "desired":
        return "desired"
    raise ApiError(422, "validation", f"view: {value[:40]!r} is neither effective (live on the PBX) nor desired (saved)",
                   field="view")


def _states(q: Mapping[str, Sequence[str]], table: Any) -> dict[str, str]:
    """``busy=``, ``unreachable=``, ``excluded=`` (each repeatable, or comma-separated): endpoints of the tenant only."""
    from core.routing import member_key

    known = dict.fromkeys(sorted(table.users))
    for key in sorted(table.groups):
        known.update(dict.fromkeys(member_key(m.ref) for m in table.groups[key].members))
    states: dict[str, str] = {}
    for state in STATES:
        for value in q.get(state, ()):
            for endpoint in filter(None, (part.strip() for part in value.split(","))):
                if endpoint not in known:
                    raise ApiError(422, "unknown_endpoint", f"{state}: {endpoint[:40]!r} is neither a user of {table.tenant} nor a "
                                                            f"member of its answer groups (table version {table.version})",
                                   field=state)
                states[endpoint] = state
    return states
