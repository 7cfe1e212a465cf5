"""Who may read and change a tenant (core/aggregates/access.py; seeds 001 and 002).

A tenant's creator becomes its telephony_admin, unless the creator acts for a channel partner:
then that partner manages the tenant. A customer principal needs telephony_admin; a principal
acting for partner P may act only for tenants P manages; a platform operator may act for every
tenant. A refusal is a ``CommandRejected`` caused by ``PermissionDeniedError`` (rule
``permission_denied``), stores nothing and is logged.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from core import commands as c
from core.aggregates.context import Actor
from core.aggregates.identifiers import tenant_id
from core.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationFailed
from core.service import CallrouteApp
from tests.core.conftest import events_of, rejected

STRANGER = Actor("eve@elsewhere")
BT = Actor("pat@bt", partner="bt")
TELE2 = Actor("tom@tele2", partner="tele2")
OPERATOR = Actor("ops@platform", operator=True)


def last_stored(app: CallrouteApp, slug: str) -> dict[str, Any]:
    return app.mapper.decode_raw(app.recorder.select_events(tenant_id(slug))[-1].state)  # type: ignore[attr-defined]


def warnings_of(logs: list[dict[str, Any]], event: str) -> list[dict[str, Any]]:
    return [entry for entry in logs if entry["event"] == event]


@pytest.fixture
def managed(app: CallrouteApp, actor: Actor, acme: str) -> str:
    """Acme, managed by partner "bt" (set by its admin)."""
    app.set_partner(actor=actor, tenant=acme, partner="bt")
    return acme


# -- the customer's own administrator -------------------------------------------------------------


def test_the_creator_of_a_tenant_becomes_its_telephony_admin(app: CallrouteApp, actor: Actor, acme: str) -> None:
    view = app.get_tenant(acme, actor)
    assert (view.admins, view.partner) == ({"admin@acme": ("telephony_admin",)}, None)


def test_a_customer_admin_can_read_the_tenant_and_its_users(app: CallrouteApp, actor: Actor, acme: str) -> None:
    assert app.get_tenant(acme, actor).slug == acme
    assert app.get_user(acme, "2001", actor).name == "Ann Andersson"


def test_a_customer_admin_can_change_the_tenant(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.rename_tenant(actor=actor, tenant=acme, name="Acme Group")
    assert app.get_tenant(acme, actor).name == "Acme Group"
    assert (last_stored(app, acme)["actor"], last_stored(app, acme)["partner"]) == ("admin@acme", None)


def test_a_principal_without_permission_cannot_read_the_tenant(
    app: CallrouteApp, acme: str, logs: list[dict[str, Any]]
) -> None:
    denied = "'eve@elsewhere' lacks the telephony_admin permission of tenant 'acme' needed to read it"
    with pytest.raises(PermissionDeniedError, match=denied):
        app.get_tenant(acme, STRANGER)
    assert warnings_of(logs, "query.refused") == [
        {"event": "query.refused", "log_level": "warning", "principal": "eve@elsewhere", "partner": None, "tenant": "acme"}
    ]


def test_a_principal_without_permission_cannot_read_a_user(app: CallrouteApp, acme: str) -> None:
    with pytest.raises(PermissionDeniedError, match="needed to read it") as excinfo:
        app.get_user(acme, "2001", STRANGER)
    assert (excinfo.value.field, excinfo.value.rule) == ("tenant", "permission_denied")


def test_a_principal_without_permission_cannot_change_the_tenant_and_is_logged(
    app: CallrouteApp, acme: str, logs: list[dict[str, Any]]
) -> None:
    denied = "'eve@elsewhere' lacks the telephony_admin permission of tenant 'acme' needed to change it"
    with rejected(app, PermissionDeniedError, field="tenant", match=denied):
        app.rename_tenant(actor=STRANGER, tenant=acme, name="Evil Corp")
    assert app.tenant(acme).state.name == "Acme Ltd"
    assert warnings_of(logs, "command.rejected") == [
        {
            "event": "command.rejected",
            "log_level": "warning",
            "principal": "eve@elsewhere",
            "partner": None,
            "index": 0,
            "command": "rename_tenant",
            "tenant": "acme",
            "field": "tenant",
            "rule": "permission_denied",
        }
    ]


def test_a_refused_command_on_a_closed_tenant_is_a_permission_error_for_a_stranger(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.close_tenant(actor=actor, tenant=acme)
    with rejected(app, PermissionDeniedError, field="tenant", match="lacks the telephony_admin permission"):
        app.rename_tenant(actor=STRANGER, tenant=acme, name="Evil Corp")


def test_a_batch_with_one_command_the_actor_may_not_make_stores_nothing(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.create_tenant(actor=STRANGER, tenant="globex", name="Globex", time_zone="Europe/Stockholm")
    batch = [c.RenameTenant(tenant="globex", name="Globex AB"), c.RenameTenant(tenant=acme, name="Acme by Eve")]
    with rejected(app, PermissionDeniedError, field="tenant", index=1, match=r"^commands\[1\]\.tenant \(rename_tenant\)"):
        app.execute(batch, STRANGER)
    assert (app.tenant("globex").state.name, app.tenant(acme).state.name) == ("Globex", "Acme Ltd")


# -- grant_permission / revoke_permission -----------------------------------------------------------


def test_grant_permission_lets_the_principal_read_and_change(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.grant_permission(actor=actor, tenant=acme, principal="bob@acme")
    bob = Actor("bob@acme")
    app.rename_tenant(actor=bob, tenant=acme, name="Acme Group")
    view = app.get_tenant(acme, bob)
    assert (view.name, view.admins) == ("Acme Group", {"admin@acme": ("telephony_admin",), "bob@acme": ("telephony_admin",)})


def test_grant_permission_refuses_a_permission_the_principal_has(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, ValidationFailed, field="principal", match="'admin@acme' already has telephony_admin"):
        app.grant_permission(actor=actor, tenant=acme, principal="admin@acme")


def test_grant_permission_refuses_an_unknown_permission_by_schema(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, msgspec.ValidationError, field="permission", match="Invalid enum value 'root'"):
        app.grant_permission(actor=actor, tenant=acme, principal="bob@acme", permission="root")


def test_grant_permission_cannot_be_made_by_a_principal_without_permission(app: CallrouteApp, acme: str) -> None:
    with rejected(app, PermissionDeniedError, field="tenant", match="lacks the telephony_admin permission"):
        app.grant_permission(actor=STRANGER, tenant=acme, principal="eve@elsewhere")
    assert "eve@elsewhere" not in app.tenant(acme).state.admins


def test_revoke_permission_takes_reading_and_changing_away(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.grant_permission(actor=actor, tenant=acme, principal="bob@acme")
    app.revoke_permission(actor=actor, tenant=acme, principal="bob@acme")
    assert app.get_tenant(acme, actor).admins == {"admin@acme": ("telephony_admin",)}
    with pytest.raises(PermissionDeniedError):
        app.get_tenant(acme, Actor("bob@acme"))
    with rejected(app, PermissionDeniedError, field="tenant", match="'bob@acme' lacks the telephony_admin permission"):
        app.rename_tenant(actor=Actor("bob@acme"), tenant=acme, name="Bob's")


def test_revoke_permission_lets_an_admin_step_down_when_another_remains(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.grant_permission(actor=actor, tenant=acme, principal="bob@acme")
    app.revoke_permission(actor=actor, tenant=acme, principal="admin@acme")
    assert app.get_tenant(acme, Actor("bob@acme")).admins == {"bob@acme": ("telephony_admin",)}


def test_revoke_permission_refuses_a_principal_without_it(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, NotFoundError, field="principal", match="'bob@acme' does not have telephony_admin"):
        app.revoke_permission(actor=actor, tenant=acme, principal="bob@acme")


def test_revoke_permission_refuses_to_remove_the_last_telephony_admin(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, ConflictError, field="principal", match="this would leave the tenant without any telephony administrator"):
        app.revoke_permission(actor=actor, tenant=acme, principal="admin@acme")
    assert app.get_tenant(acme, actor).admins == {"admin@acme": ("telephony_admin",)}


def test_revoke_permission_removes_the_last_admin_of_a_tenant_a_partner_manages(app: CallrouteApp, actor: Actor, managed: str) -> None:
    app.revoke_permission(actor=actor, tenant=managed, principal="admin@acme")
    view = app.get_tenant(managed, BT)
    assert (view.admins, view.partner) == ({}, "bt")


# -- channel partners (seed 002) ----------------------------------------------------------------------


def test_a_tenant_created_for_a_partner_is_managed_by_that_partner(app: CallrouteApp) -> None:
    app.create_tenant(actor=BT, tenant="cust", name="Customer AB", time_zone="Europe/Stockholm")
    view = app.get_tenant("cust", BT)
    assert (view.admins, view.partner) == ({}, "bt")
    app.add_user(actor=Actor("kim@bt", partner="bt"), tenant="cust", extension="100", name="Kim")
    assert [u.extension for u in app.get_tenant("cust", BT).users] == ["100"]


def test_a_partner_acting_for_its_own_customer_succeeds_and_the_event_carries_the_partner(
    app: CallrouteApp, managed: str
) -> None:
    app.set_reject_anonymous(actor=BT, reason="customer asked", tenant=managed, extension="2001", enabled=True)
    assert app.get_user(managed, "2001", BT).reject_anonymous is True
    stored = last_stored(app, managed)
    assert (stored["actor"], stored["partner"], stored["reason"]) == ("pat@bt", "bt", "customer asked")
    assert (events_of(app, managed)[-1].actor, events_of(app, managed)[-1].partner) == ("pat@bt", "bt")


def test_a_partner_trying_another_partners_customer_is_refused_and_logged(
    app: CallrouteApp, managed: str, logs: list[dict[str, Any]]
) -> None:
    denied = "partner 'tele2' does not manage tenant 'acme'; a partner may act only for its own customers"
    with rejected(app, PermissionDeniedError, field="tenant", match=denied):
        app.rename_tenant(actor=TELE2, tenant=managed, name="Acme (tele2)")
    (entry,) = warnings_of(logs, "command.rejected")
    assert (entry["principal"], entry["partner"], entry["tenant"], entry["rule"], entry["command"]) == (
        "tom@tele2",
        "tele2",
        "acme",
        "permission_denied",
        "rename_tenant",
    )


def test_a_partner_cannot_read_another_partners_customer(app: CallrouteApp, managed: str, logs: list[dict[str, Any]]) -> None:
    with pytest.raises(PermissionDeniedError, match="partner 'tele2' does not manage tenant 'acme'"):
        app.get_tenant(managed, TELE2)
    assert [(e["principal"], e["partner"]) for e in warnings_of(logs, "query.refused")] == [("tom@tele2", "tele2")]


def test_a_partner_cannot_act_for_a_customer_no_partner_manages(app: CallrouteApp, acme: str) -> None:
    with rejected(app, PermissionDeniedError, field="tenant", match="partner 'bt' does not manage tenant 'acme'"):
        app.rename_tenant(actor=BT, tenant=acme, name="Acme (bt)")
    with pytest.raises(PermissionDeniedError):
        app.get_user(acme, "2001", BT)


def test_a_partner_principal_is_not_a_customer_admin_even_with_the_same_name(app: CallrouteApp, acme: str) -> None:
    with rejected(app, PermissionDeniedError, field="tenant", match="partner 'bt' does not manage tenant 'acme'"):
        app.rename_tenant(actor=Actor("admin@acme", partner="bt"), tenant=acme, name="Acme (bt)")


def test_set_partner_hands_the_tenant_to_a_partner(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_partner(actor=actor, tenant=acme, partner="bt")
    assert app.get_tenant(acme, BT).partner == "bt"
    assert (events_of(app, acme)[-1].managing_partner, events_of(app, acme)[-1].partner) == ("bt", None)


def test_set_partner_to_none_ends_the_partners_access(app: CallrouteApp, actor: Actor, managed: str) -> None:
    app.set_partner(actor=actor, tenant=managed, partner=None)
    assert app.get_tenant(managed, actor).partner is None
    with rejected(app, PermissionDeniedError, field="tenant", match="partner 'bt' does not manage tenant 'acme'"):
        app.rename_tenant(actor=BT, tenant=managed, name="Acme (bt)")


def test_set_partner_refuses_the_partner_the_tenant_already_has(app: CallrouteApp, actor: Actor, managed: str) -> None:
    with rejected(app, ValidationFailed, field="partner", match="the tenant's partner is already 'bt'"):
        app.set_partner(actor=actor, tenant=managed, partner="bt")


def test_set_partner_cannot_be_made_by_a_partner(app: CallrouteApp, managed: str) -> None:
    with rejected(app, PermissionDeniedError, field="partner", match="a partner cannot hand its customer to another partner"):
        app.set_partner(actor=BT, tenant=managed, partner="tele2")
    assert app.get_tenant(managed, BT).partner == "bt"


def test_set_partner_to_none_is_refused_while_the_tenant_has_no_admin_of_its_own(app: CallrouteApp) -> None:
    app.create_tenant(actor=BT, tenant="cust", name="Customer AB", time_zone="Europe/Stockholm")
    with rejected(app, ConflictError, field="partner", match="the tenant has no telephony administrator of its own; grant one first"):
        app.set_partner(actor=OPERATOR, tenant="cust", partner=None)


def test_a_partner_can_give_its_customer_an_admin_who_may_then_drop_the_partner(app: CallrouteApp) -> None:
    app.create_tenant(actor=BT, tenant="cust", name="Customer AB", time_zone="Europe/Stockholm")
    app.grant_permission(actor=BT, tenant="cust", principal="boss@cust")
    app.set_partner(actor=Actor("boss@cust"), tenant="cust", partner=None)
    view = app.get_tenant("cust", Actor("boss@cust"))
    assert (view.admins, view.partner) == ({"boss@cust": ("telephony_admin",)}, None)


# -- platform operators -------------------------------------------------------------------------------


def test_an_operator_can_read_and_change_every_tenant(app: CallrouteApp, managed: str) -> None:
    app.create_tenant(actor=STRANGER, tenant="globex", name="Globex", time_zone="Europe/Stockholm")
    for slug in (managed, "globex"):
        app.rename_tenant(actor=OPERATOR, tenant=slug, name=f"{slug} (checked)")
        assert app.get_tenant(slug, OPERATOR).name == f"{slug} (checked)"
    assert app.get_user(managed, "2002", OPERATOR).name == "Bob Berg"
    assert last_stored(app, "globex")["actor"] == "ops@platform"


def test_an_operator_may_set_the_partner(app: CallrouteApp, acme: str) -> None:
    app.set_partner(actor=OPERATOR, tenant=acme, partner="tele2")
    assert app.get_tenant(acme, TELE2).partner == "tele2"
