"""``audit verify`` over the API (``POST /v1/tenants/{slug}/verify``, ``POST /v1/verify``): ``ApiStore``'s verify part.

``VerifyReads`` is a mixin of ``adapters/http/service.ApiStore``: who may verify a tenant (judged by its verified events
when it cannot be loaded), ``verify_store``'s report of the hash chains, and the projection's stored rows compared
with a rebuild from the events (``adapters/projection_check.py``), answered as ``adapters/http/answers.py`` Structs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from adapters.http.answers import ProjectionRows, ProjectionStatus, RecordVerified, StoreVerifyAnswer, VerifyAnswer
from adapters.http.errors import ApiError
from core.aggregates.context import Actor
from core.errors import DomainError, UnknownTenantError

if TYPE_CHECKING:
    from core.service import CallrouteApp


class VerifyReads:
    """``ApiStore``'s verify endpoints; it gives them the application (``_app``) and where its store is (``location``)."""

    if TYPE_CHECKING:
        location: Any

        def _app(self) -> CallrouteApp: ...

    def verify(self, slug: str, actor: Actor) -> VerifyAnswer:
        """``audit verify --tenant``: may the actor verify it (judged by its verified events when it cannot be loaded)."""
        from core.audit import verify_store

        self._may_verify(slug, actor)
        report = verify_store(self._app(), slug)
        if not report.records:
            raise self._no_tenant(slug, actor)
        records = [_record_verified(record) for record in report.records]
        status: ProjectionStatus
        if report.intact:
            status, rows, projection = self._projection_check(slug)
        else:
            status, rows, projection = "not_compared", None, [
                "projection: not compared with the events, which are not as written"]
        return VerifyAnswer(tenant=slug, intact=report.intact and not projection, records=records, projection=projection,
                            projection_status=status, projection_rows=rows, tenant_head=report.store_head,
                            events=report.events)

    def verify_all(self, actor: Actor, request_line: str) -> StoreVerifyAnswer:
        """``audit verify --operator``: every record of the store, the projection's rows and the store head, for an operator.

        It names every tenant, so anyone else is answered exactly as a path that does not exist (``request_line``:
        ``POST /v1/verify``, as the unknown-path answer names it): the one refusal for what a principal may not read.
        """
        from core.audit import verify_store

        if not actor.operator:
            raise ApiError(404, "not_found", f"no such path: {request_line}")
        report = verify_store(self._app())
        records = [_record_verified(record) for record in report.records]
        projection = self._projection_problems(None) if report.intact else [
            "projection: not compared with the events, which are not as written"]
        return StoreVerifyAnswer(intact=bool(report.records) and report.intact and not projection, records=records,
                                 projection=projection, store_head=report.store_head, events=report.events)

    def _no_tenant(self, slug: str, actor: Actor) -> DomainError:
        from core.aggregates.access import not_visible

        return UnknownTenantError(f"no tenant {slug!r}", field="tenant") if actor.operator else not_visible(actor, slug)

    def _may_verify(self, slug: str, actor: Actor) -> None:
        from core.aggregates.access import check_access
        from core.aggregates.identifiers import tenant_id
        from core.aggregates.provisioning import provisioning_id
        from core.audit import replay_verified, verify_chain

        app = self._app()
        if actor.operator:
            if not any(app.recorder.select_events(record, limit=1) for record in (tenant_id(slug), provisioning_id(slug))):
                raise self._no_tenant(slug, actor)
            return
        try:
            state = app.tenant(slug).state
        except UnknownTenantError:
            raise self._no_tenant(slug, actor) from None
        except Exception:  # noqa: BLE001 - its stored events or snapshot do not load as written: judged by its verified events
            state = None
            try:
                tenant = replay_verified(app.recorder, app.mapper, tenant_id(slug), verify_chain(app.recorder, app.mapper, tenant_id(slug)))
                state = None if tenant is None else tenant.state
            except Exception:  # noqa: BLE001, S110 - nothing of it can be trusted: only an operator may verify it
                pass
        if state is None:
            raise self._no_tenant(slug, actor)
        check_access(actor, slug, state.admins, state.partner, action="verify")

    def _projection_problems(self, slug: str | None) -> list[str]:
        """The projection's stored rows of the tenant (``None``: of every tenant) against a rebuild from the events
        (``audit verify``'s check), in the SQLite file or the PostgreSQL database; nothing when it keeps none yet."""
        return self._projection_check(slug)[2]

    def _projection_check(self, slug: str | None) -> tuple[ProjectionStatus, ProjectionRows | None, list[str]]:
        """``_projection_problems`` with what was compared: ``agree`` (and how many rows of each kind, as ``audit verify``
        prints them), ``disagree`` (a line per disagreement), or ``absent`` (no projection, or none of its rows yet)."""
        from adapters.projection_check import compare_projection

        if self.location is None:
            return "absent", None, []
        found = compare_projection(self._app(), self.location, slug)
        check = found.check
        rows = None if check is None else ProjectionRows(tenants=check.tenants, changes=check.changes,
                                                         confirmations=check.confirmations, policies=check.policies,
                                                         tables=check.tables)
        return found.status, rows, found.problems


def _record_verified(record: Any) -> RecordVerified:
    """One record of ``verify_store``'s report as the API answers it."""
    b = record.report.first_break
    return RecordVerified(name=record.name, events=record.report.events, head=record.report.head, intact=b is None,
                          broken_at=None if b is None else b.version, problem=None if b is None else b.problem,
                          detail=None if b is None else b.detail)
