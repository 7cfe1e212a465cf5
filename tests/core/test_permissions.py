"""Who may read, verify and change a tenant (core/aggregates/access.py; seeds 001 and 002).

A tenant's creator becomes its telephony_admin, unless the creator acts for a channel partner:
then that partner manages the tenant. A customer principal needs telephony_admin to change the
tenant, and telephony_admin or auditor to read and verify it; a principal acting for partner P
may act only for tenants P manages; a platform operator may act for every tenant. A refusal is a
``CommandRejected`` caused by ``PermissionDeniedError`` (rule ``permission_denied``), stores
nothing and is logged. Without the right to read a tenant, an unknown tenant and a forbidden one
are the same refusal (``TenantNotVisibleError``), word for word; only an operator is told that a
tenant does not exist.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from core import commands as c
from core.aggregates.context import Actor
from core.aggregates.identifiers import tenant_id
from core.aggregates.access import check_access, may
from core.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    TenantNotVisibleError,
    UnknownExtensionError,
    UnknownTenantError,
    ValidationFailed,
)
from core.service import CallrouteApp, CommandRejected
from core.wiring import wire
from tests.core.conftest import ADMIN, FakeDirectory, FakeHasher, events_of, rejected
from tests.core.test_tenant_commands import VALID_ARGS

STRANGER = Actor("eve@elsewhere")
BT = Actor("pat@bt", partner="bt")
TELE2 = Actor("tom@tele2", partner="tele2")
OPERATOR = Actor("ops@platform", operator=True)
AUDITOR = Actor("audrey@acme")


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
    denied = "^tenant: no tenant 'acme' that 'eve@elsewhere' may read$"
    with pytest.raises(TenantNotVisibleError, match=denied):
        app.get_tenant(acme, STRANGER)
    assert warnings_of(logs, "query.refused") == [
        {"event": "query.refused", "log_level": "warning", "principal": "eve@elsewhere", "partner": None, "tenant": "acme"}
    ]


def test_a_principal_without_permission_cannot_read_a_user(app: CallrouteApp, acme: str) -> None:
    with pytest.raises(TenantNotVisibleError, match="^tenant: no tenant 'acme' that 'eve@elsewhere' may read$") as excinfo:
        app.get_user(acme, "2001", STRANGER)
    assert (excinfo.value.field, excinfo.value.rule) == ("tenant", "permission_denied")


def test_a_principal_without_permission_cannot_change_the_tenant_and_is_logged(
    app: CallrouteApp, acme: str, logs: list[dict[str, Any]]
) -> None:
    denied = "no tenant 'acme' that 'eve@elsewhere' may read$"
    with rejected(app, TenantNotVisibleError, field="tenant", match=denied):
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
    with rejected(app, TenantNotVisibleError, field="tenant", match="no tenant 'acme' that 'eve@elsewhere' may read"):
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
    with rejected(app, TenantNotVisibleError, field="tenant", match="no tenant 'acme' that 'eve@elsewhere' may read"):
        app.grant_permission(actor=STRANGER, tenant=acme, principal="eve@elsewhere")
    assert "eve@elsewhere" not in app.tenant(acme).state.admins


def test_revoke_permission_takes_reading_and_changing_away(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.grant_permission(actor=actor, tenant=acme, principal="bob@acme")
    app.revoke_permission(actor=actor, tenant=acme, principal="bob@acme")
    assert app.get_tenant(acme, actor).admins == {"admin@acme": ("telephony_admin",)}
    with pytest.raises(PermissionDeniedError):
        app.get_tenant(acme, Actor("bob@acme"))
    with rejected(app, TenantNotVisibleError, field="tenant", match="no tenant 'acme' that 'bob@acme' may read"):
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
    denied = "no tenant 'acme' that 'tom@tele2' for partner 'tele2' may read"
    with rejected(app, TenantNotVisibleError, field="tenant", match=denied):
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
    with pytest.raises(TenantNotVisibleError, match="no tenant 'acme' that 'tom@tele2' for partner 'tele2' may read"):
        app.get_tenant(managed, TELE2)
    assert [(e["principal"], e["partner"]) for e in warnings_of(logs, "query.refused")] == [("tom@tele2", "tele2")]


def test_a_partner_cannot_act_for_a_customer_no_partner_manages(app: CallrouteApp, acme: str) -> None:
    with rejected(app, TenantNotVisibleError, field="tenant", match="no tenant 'acme' that 'pat@bt' for partner 'bt' may read"):
        app.rename_tenant(actor=BT, tenant=acme, name="Acme (bt)")
    with pytest.raises(TenantNotVisibleError):
        app.get_user(acme, "2001", BT)


def test_a_partner_principal_is_not_a_customer_admin_even_with_the_same_name(app: CallrouteApp, acme: str) -> None:
    with rejected(app, TenantNotVisibleError, field="tenant", match="no tenant 'acme' that 'admin@acme' for partner 'bt' may read"):
        app.rename_tenant(actor=Actor("admin@acme", partner="bt"), tenant=acme, name="Acme (bt)")


def test_set_partner_hands_the_tenant_to_a_partner(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_partner(actor=actor, tenant=acme, partner="bt")
    assert app.get_tenant(acme, BT).partner == "bt"
    assert (events_of(app, acme)[-1].managing_partner, events_of(app, acme)[-1].partner) == ("bt", None)


def test_set_partner_to_none_ends_the_partners_access(app: CallrouteApp, actor: Actor, managed: str) -> None:
    app.set_partner(actor=actor, tenant=managed, partner=None)
    assert app.get_tenant(managed, actor).partner is None
    with rejected(app, TenantNotVisibleError, field="tenant", match="no tenant 'acme' that 'pat@bt' for partner 'bt' may read"):
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


def test_an_operator_is_told_plainly_that_a_tenant_does_not_exist(app: CallrouteApp, acme: str) -> None:
    with pytest.raises(UnknownTenantError, match="no tenant 'nowhere'"):
        app.get_tenant("nowhere", OPERATOR)
    with rejected(app, UnknownTenantError, field="tenant", match="no tenant 'nowhere'$"):
        app.rename_tenant(actor=OPERATOR, tenant="nowhere", name="Nowhere")


# -- auditors ---------------------------------------------------------------------------------------


@pytest.fixture
def audited(app: CallrouteApp, actor: Actor, acme: str) -> str:
    """Acme, with audrey@acme as its auditor (granted by its admin)."""
    app.grant_permission(actor=actor, tenant=acme, principal=AUDITOR.principal, permission="auditor")
    return acme


def test_grant_permission_can_make_a_principal_an_auditor(app: CallrouteApp, actor: Actor, audited: str) -> None:
    assert app.get_tenant(audited, actor).admins == {"admin@acme": ("telephony_admin",), "audrey@acme": ("auditor",)}
    stored = last_stored(app, audited)
    assert (stored["principal"], stored["permission"]) == ("audrey@acme", "auditor")


def test_an_auditor_reads_and_verifies_the_tenant_and_its_users(app: CallrouteApp, audited: str) -> None:
    assert app.get_tenant(audited, AUDITOR).slug == audited
    assert app.get_tenant(audited, AUDITOR, action="verify").slug == audited
    assert app.get_user(audited, "2001", AUDITOR).name == "Ann Andersson"
    with pytest.raises(UnknownExtensionError, match="tenant 'acme' has no extension '2099'"):
        app.get_user(audited, "2099", AUDITOR)  # a reader may be told which extensions exist
    assert app.list_tenants(AUDITOR) == [audited]


def test_an_auditor_changes_nothing_and_is_told_why(app: CallrouteApp, audited: str, logs: list[dict[str, Any]]) -> None:
    denied = ("'audrey@acme' may read tenant 'acme' as its auditor but not change it; "
              "changing needs the telephony_admin permission$")
    with rejected(app, PermissionDeniedError, field="tenant", match=denied) as excinfo:
        app.rename_tenant(actor=AUDITOR, tenant=audited, name="Audited Ltd")
    assert not isinstance(excinfo.value.cause, TenantNotVisibleError)
    assert [(e["principal"], e["rule"]) for e in warnings_of(logs, "command.rejected")] == [("audrey@acme", "permission_denied")]


@pytest.mark.parametrize("tag", sorted(VALID_ARGS))
def test_an_auditor_is_refused_every_command(app: CallrouteApp, audited: str, tag: str) -> None:
    with rejected(app, PermissionDeniedError, field="tenant", match="as its auditor but not change it"):
        getattr(app, tag)(actor=AUDITOR, tenant=audited, **VALID_ARGS[tag])


def test_an_auditor_cannot_grant_itself_more(app: CallrouteApp, audited: str) -> None:
    with rejected(app, PermissionDeniedError, field="tenant", match="as its auditor but not change it"):
        app.grant_permission(actor=AUDITOR, tenant=audited, principal=AUDITOR.principal)
    assert app.tenant(audited).state.admins[AUDITOR.principal] == ("auditor",)


def test_an_auditor_of_one_tenant_cannot_read_another(app: CallrouteApp, audited: str) -> None:
    app.create_tenant(actor=STRANGER, tenant="globex", name="Globex", time_zone="Europe/Stockholm")
    with pytest.raises(TenantNotVisibleError, match="no tenant 'globex' that 'audrey@acme' may read"):
        app.get_tenant("globex", AUDITOR)


def test_an_auditor_is_no_administrator_so_the_last_one_cannot_be_revoked(app: CallrouteApp, actor: Actor, audited: str) -> None:
    with rejected(app, ConflictError, field="principal", match="this would leave the tenant without any telephony administrator"):
        app.revoke_permission(actor=actor, tenant=audited, principal="admin@acme")


def test_an_auditor_is_no_administrator_so_the_partner_cannot_be_dropped_for_one(app: CallrouteApp) -> None:
    app.create_tenant(actor=BT, tenant="cust", name="Customer AB", time_zone="Europe/Stockholm")
    app.grant_permission(actor=BT, tenant="cust", principal="audrey@cust", permission="auditor")
    with rejected(app, ConflictError, field="partner", match="the tenant has no telephony administrator of its own"):
        app.set_partner(actor=OPERATOR, tenant="cust", partner=None)


def test_revoking_the_auditor_permission_takes_reading_away(app: CallrouteApp, actor: Actor, audited: str) -> None:
    app.revoke_permission(actor=actor, tenant=audited, principal=AUDITOR.principal, permission="auditor")
    assert AUDITOR.principal not in app.tenant(audited).state.admins
    with pytest.raises(TenantNotVisibleError):
        app.get_tenant(audited, AUDITOR)


def test_an_admin_made_auditor_keeps_reading_when_telephony_admin_is_revoked(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.grant_permission(actor=actor, tenant=acme, principal="bob@acme")
    app.grant_permission(actor=actor, tenant=acme, principal="bob@acme", permission="auditor")
    app.revoke_permission(actor=actor, tenant=acme, principal="bob@acme")
    assert app.get_tenant(acme, Actor("bob@acme")).admins["bob@acme"] == ("auditor",)
    with rejected(app, PermissionDeniedError, field="tenant", match="as its auditor but not change it"):
        app.rename_tenant(actor=Actor("bob@acme"), tenant=acme, name="Bob's")


def test_granting_auditor_twice_is_refused(app: CallrouteApp, actor: Actor, audited: str) -> None:
    with rejected(app, ValidationFailed, field="principal", match="'audrey@acme' already has auditor"):
        app.grant_permission(actor=actor, tenant=audited, principal=AUDITOR.principal, permission="auditor")


# -- who may do what: the whole table -----------------------------------------------------------------

ADMINS = {"ann": ("telephony_admin",), "aud": ("auditor",), "both": ("auditor", "telephony_admin")}


@pytest.mark.parametrize(("actor", "read", "change"), [
    (Actor("ann"), True, True),
    (Actor("aud"), True, False),
    (Actor("both"), True, True),
    (Actor("eve"), False, False),
    (Actor("pat", partner="bt"), True, True),
    (Actor("tom", partner="tele2"), False, False),
    (Actor("ann", partner="tele2"), False, False),  # acting for a partner, never as the customer principal of that name
    (Actor("aud", partner="tele2"), False, False),
    (Actor("ops", operator=True), True, True),
], ids=["admin", "auditor", "admin-and-auditor", "stranger", "its-partner", "other-partner", "admin-for-a-partner",
        "auditor-for-a-partner", "operator"])
def test_who_may_read_verify_and_change(actor: Actor, read: bool, change: bool) -> None:
    assert [may(actor, ADMINS, "bt", action=a) for a in ("read", "verify", "change")] == [read, read, change]
    for action, allowed in (("read", read), ("verify", read), ("change", change)):
        if allowed:
            check_access(actor, "acme", ADMINS, "bt", action=action)
        else:
            with pytest.raises(PermissionDeniedError):
                check_access(actor, "acme", ADMINS, "bt", action=action)


def test_check_access_refuses_an_action_it_does_not_know() -> None:
    with pytest.raises(ValueError, match="unknown action 'delete'"):
        check_access(OPERATOR, "acme", ADMINS, None, action="delete")


# -- unknown and forbidden look the same ------------------------------------------------------------


def _two_stores() -> tuple[CallrouteApp, CallrouteApp]:
    """The same store twice, except that only the first has tenant "acme" (its admin: ADMIN, its auditor: audrey@acme).

    Both have "globex" (admin eve@elsewhere, auditor gus@globex) and "bt-cust" (managed by partner bt).
    """
    from core.clock import SteppingClock
    from tests.core.conftest import START

    apps = []
    for with_acme in (True, False):
        app = wire(None, clock=SteppingClock(START), pin_hasher=FakeHasher(), directory=lambda _: FakeDirectory())
        app.create_tenant(actor=STRANGER, tenant="globex", name="Globex", time_zone="Europe/Stockholm")
        app.grant_permission(actor=STRANGER, tenant="globex", principal="gus@globex", permission="auditor")
        app.create_tenant(actor=BT, tenant="bt-cust", name="BT customer", time_zone="Europe/Stockholm")
        if with_acme:
            app.create_tenant(actor=ADMIN, tenant="acme", name="Acme Ltd", time_zone="Europe/London")
            app.add_user(actor=ADMIN, tenant="acme", extension="2001", name="Ann Andersson")
            app.grant_permission(actor=ADMIN, tenant="acme", principal="audrey@acme", permission="auditor")
        apps.append(app)
    return apps[0], apps[1]


OUTSIDERS = {
    "stranger": Actor("mallory"),
    "admin-of-another-tenant": STRANGER,
    "auditor-of-another-tenant": Actor("gus@globex"),
    "other-partner": TELE2,
    "partner-of-another-tenant": BT,
}


def _refusal(call: Any) -> tuple[type, str, str | None, str]:
    """What a refused read or write shows: the error's type, its text, field and rule (of the cause, for a batch)."""
    with pytest.raises((PermissionDeniedError, CommandRejected)) as excinfo:
        call()
    exc = excinfo.value
    cause = exc.cause if isinstance(exc, CommandRejected) else exc
    return type(cause), str(exc), exc.field, exc.rule


@pytest.mark.parametrize("who_", sorted(OUTSIDERS))
@pytest.mark.parametrize("what", ["get_tenant", "get_tenant-verify", "get_user", "get_user-unknown-extension"])
def test_a_read_of_an_unknown_tenant_and_of_a_forbidden_one_are_the_same_refusal(who_: str, what: str) -> None:
    actor = OUTSIDERS[who_]
    reads = {
        "get_tenant": lambda app: app.get_tenant("acme", actor),
        "get_tenant-verify": lambda app: app.get_tenant("acme", actor, action="verify"),
        "get_user": lambda app: app.get_user("acme", "2001", actor),
        "get_user-unknown-extension": lambda app: app.get_user("acme", "2099", actor),
    }
    forbidden, unknown = (_refusal(lambda app=app: reads[what](app)) for app in _two_stores())
    assert forbidden == unknown
    assert forbidden[0] is TenantNotVisibleError and forbidden[1].endswith(" may read")


@pytest.mark.parametrize("who_", sorted(OUTSIDERS))
@pytest.mark.parametrize("tag", sorted(VALID_ARGS))
def test_a_write_to_an_unknown_tenant_and_to_a_forbidden_one_are_the_same_refusal(who_: str, tag: str) -> None:
    actor = OUTSIDERS[who_]
    forbidden, unknown = (_refusal(lambda app=app: getattr(app, tag)(actor=actor, tenant="acme", **VALID_ARGS[tag]))
                          for app in _two_stores())
    assert forbidden == unknown
    assert forbidden[0] is TenantNotVisibleError


def test_a_refused_read_of_an_unknown_tenant_is_logged_as_one_of_a_forbidden_tenant(
    app: CallrouteApp, acme: str, logs: list[dict[str, Any]]
) -> None:
    for slug in (acme, "nowhere"):
        with pytest.raises(TenantNotVisibleError):
            app.get_tenant(slug, STRANGER)
    assert [e["tenant"] for e in warnings_of(logs, "query.refused")] == [acme, "nowhere"]


def test_list_tenants_for_an_actor_lists_only_what_it_may_read(app: CallrouteApp, actor: Actor, managed: str) -> None:
    app.create_tenant(actor=STRANGER, tenant="globex", name="Globex", time_zone="Europe/Stockholm")
    app.grant_permission(actor=STRANGER, tenant="globex", principal="audrey@acme", permission="auditor")
    assert app.list_tenants() == [managed, "globex"]
    assert app.list_tenants(OPERATOR) == [managed, "globex"]
    assert app.list_tenants(actor) == [managed]
    assert app.list_tenants(AUDITOR) == ["globex"]
    assert app.list_tenants(AUDITOR, action="verify") == ["globex"]
    assert app.list_tenants(BT) == [managed]
    assert app.list_tenants(TELE2) == []
