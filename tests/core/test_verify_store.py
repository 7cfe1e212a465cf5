"""verify_store: every record of a store, found from its rows, and one head over all of them."""

from __future__ import annotations

from core.aggregates.context import Actor
from core.audit import verify_store
from core.service import CallrouteApp

ADMIN = Actor(principal="admin@acme")


def two_tenants(app: CallrouteApp) -> None:
    for slug in ("acme", "beta"):
        app.create_tenant(actor=ADMIN, tenant=slug, name=slug.title(), time_zone="Europe/London")
    app.confirm_provisioning(actor=ADMIN, tenant="acme", version=1)


def test_every_tenant_and_provisioning_record_is_verified(app: CallrouteApp) -> None:
    two_tenants(app)
    report = verify_store(app)
    assert report.intact
    assert [r.name for r in report.records] == ["acme", "acme provisioning", "beta"]
    assert len(report.store_head) == 64


def test_one_tenant_and_its_provisioning_record(app: CallrouteApp) -> None:
    two_tenants(app)
    assert [r.name for r in verify_store(app, "acme").records] == ["acme", "acme provisioning"]


def test_the_store_head_moves_with_any_record(app: CallrouteApp) -> None:
    two_tenants(app)
    before = verify_store(app).store_head
    app.rename_tenant(actor=ADMIN, tenant="beta", name="Beta Group")
    assert verify_store(app).store_head != before
