"""When a tenant's users change, the tenants that link it as a cloud PBX check their members there, in the same batch.

A cloud PBX's member list is its users (``adapters.directory``), so adding or removing a
user of tenant T can make a member of another tenant's group on T unknown, or known
again. The application runs ``check_pbx_members`` for T on every tenant that links T,
as ``CHECKER``, in the batch that changed T's users (one transaction: the marks are stored
with the change that caused them, or not at all). Candidates are found from the store's
``PbxLinked`` events (read once per process, then only the new ones), so the cost is
loading the few tenants that ever linked T; tenants that have since unlinked T are skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID
from weakref import WeakKeyDictionary

from core.aggregates.context import Actor, CommandContext
from core.aggregates.pbx_members import CheckPbxMembers, check_pbx_members
from core.aggregates.rules import CloudAccess, PbxDirectory
from core.aggregates.tenant import Tenant

CHECKER = Actor(principal="callroute:directory-check")
"""Who records the marks of an automatic check (not the actor who changed the other tenant, who may not administer this one)."""

_PAGE = 500


class BatchDirectory:
    """The PBX directory as the batch leaves it: cloud PBXs changed in the batch answer from their state in memory."""

    def __init__(self, base: PbxDirectory, changed: Mapping[str, Tenant]) -> None:
        self._base = base
        self._changed = changed

    def cloud_members(self, pbx: str) -> Mapping[str, str] | None:
        tenant = self._changed.get(pbx)
        if tenant is None:
            return self._base.cloud_members(pbx)
        return {ext: user.name for ext, user in tenant.state.users.items()}

    def sip_internal_number_exists(self, pbx: str, internal_number: str) -> bool | None:
        return self._base.sip_internal_number_exists(pbx, internal_number)

    def cloud_access(self, pbx: str) -> CloudAccess | None:
        tenant = self._changed.get(pbx)
        if tenant is None:
            lookup = getattr(self._base, "cloud_access", None)
            return lookup(pbx) if lookup is not None else None
        return CloudAccess(admins=dict(tenant.state.admins), partner=tenant.state.partner)


class _LinkIndex:
    """PBX → ids of the tenants whose stored ``PbxLinked`` events name it, read on from where it last stopped.

    Adding or removing a user asks it, so it must not read the whole log each time: the first
    question in a process reads every ``PbxLinked`` notification, later ones only those stored since.
    """

    def __init__(self) -> None:
        self.position = 0
        self.by_pbx: dict[str, set[UUID]] = {}

    def tenants(self, app: Any, pbx: str) -> set[UUID]:
        top = app.recorder.max_notification_id() or 0
        while self.position < top:
            page = app.recorder.select_notifications(self.position + 1, _PAGE, stop=top, topics=["callroute/PbxLinked"])
            for notification in page:
                linked = app.mapper.decode_raw(notification.state)["link"]["id"]
                self.by_pbx.setdefault(linked, set()).add(notification.originator_id)
            self.position = page[-1].id if len(page) == _PAGE else top
        return set(self.by_pbx.get(pbx, ()))


_INDEXES: WeakKeyDictionary[Any, _LinkIndex] = WeakKeyDictionary()


def linking_tenants(app: Any, pbx: str) -> set[UUID]:
    """Ids of the tenants whose stored ``PbxLinked`` events name ``pbx`` (some may have unlinked it since)."""
    index = _INDEXES.get(app)
    if index is None:
        index = _INDEXES[app] = _LinkIndex()
    return index.tenants(app, pbx)


def recheck_linking_tenants(app: Any, changed: set[str], touched: dict[UUID, Any], actor: Actor, at: datetime) -> None:
    """Run ``check_pbx_members`` on each tenant linking a cloud PBX in ``changed``; those it marks join ``touched``."""
    if not changed or app.pbx_directory is None:
        return
    by_slug = {agg.state.slug: agg for agg in touched.values() if isinstance(agg, Tenant)}
    directory = BatchDirectory(app.pbx_directory, by_slug)
    for pbx in sorted(changed):
        ctx = CommandContext(actor=CHECKER, at=at, reason=f"the users of cloud PBX {pbx} changed ({actor.principal})",
                             directory=directory)
        in_batch = {key for key, agg in touched.items() if isinstance(agg, Tenant) and pbx in agg.state.pbx_links}
        for aggregate_id in sorted(linking_tenants(app, pbx) | in_batch):
            tenant = touched[aggregate_id] if aggregate_id in touched else app.repository.get(aggregate_id)
            link = tenant.state.pbx_links.get(pbx)
            # A closed tenant takes no changes, and one changed after ``at`` cannot take an earlier one: both keep their marks.
            if link is None or link.kind != "cloud" or tenant.state.closed or at < tenant.modified_on:
                continue
            before = len(tenant.pending_events)
            check_pbx_members(tenant, CheckPbxMembers(tenant=tenant.state.slug, pbx=pbx), ctx)
            if len(tenant.pending_events) > before:
                touched[aggregate_id] = tenant
