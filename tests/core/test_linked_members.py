"""When a tenant's users change, the tenants that link it as a cloud PBX check their members there by themselves.

Tenant "malmo" (users 3001 and 3002) is a cloud PBX of tenant "acme", whose group "sales"
has 3001 as a member; the directory reads the store's own tenants, as the command line's does.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from adapters.directory import StoreDirectory, tenant_access_of, tenant_users_of
from core import commands as c
from core.aggregates.context import Actor
from core.aggregates.groups import CloudMember, GroupMember, GroupSettings
from core.clock import SteppingClock
from core.errors import UnknownExtensionError
from core.linked_members import CHECKER, BatchDirectory
from core.service import CallrouteApp
from core.wiring import wire
from tests.core.conftest import FakeDirectory, FakeHasher, events_of, rejected

MALMO_ADMIN = Actor("admin@malmo")
ELIN = CloudMember(pbx="malmo", member="3001")


@pytest.fixture
def app(clock: SteppingClock) -> CallrouteApp:
    return wire(None, clock=clock, pin_hasher=FakeHasher(),
                directory=lambda a: StoreDirectory(tenant_users_of(a), tenant_access=tenant_access_of(a)))


@pytest.fixture
def linked(app: CallrouteApp, actor: Actor) -> str:
    app.create_tenant(actor=MALMO_ADMIN, tenant="malmo", name="Malmö clinic", time_zone="Europe/Stockholm")
    app.add_user(actor=MALMO_ADMIN, tenant="malmo", extension="3001", name="Elin Holm")
    app.add_user(actor=MALMO_ADMIN, tenant="malmo", extension="3002", name="Farid Aziz")
    app.grant_permission(actor=MALMO_ADMIN, tenant="malmo", principal=actor.principal)  # linking needs rights on both sides
    app.create_tenant(actor=actor, tenant="acme", name="Acme Ltd", time_zone="Europe/London")
    app.link_pbx(actor=actor, tenant="acme", pbx="malmo", kind="cloud", name="Malmö clinic")
    app.create_answer_group(actor=actor, tenant="acme", group="sales", settings=GroupSettings(name="Sales"),
                            members=(GroupMember(ref=ELIN),))
    return "acme"


def marked(app: CallrouteApp) -> list[str]:
    return list(app.tenant("acme").state.pbx_links["malmo"].unknown_members)


def test_removing_a_user_marks_that_member_in_the_tenant_whose_group_uses_it(app: CallrouteApp, actor: Actor, linked: str) -> None:
    receipt = app.remove_user(actor=actor, tenant="malmo", extension="3001")  # acme's admin, granted on malmo too
    assert marked(app) == ["3001"]
    assert (receipt.versions, receipt.events) == ({"acme": app.tenant("acme").version, "malmo": app.tenant("malmo").version}, 2)


def test_the_receipt_leaves_out_a_re_checked_tenant_its_actor_may_not_read(app: CallrouteApp, linked: str) -> None:
    acme_before = app.tenant("acme").version
    receipt = app.remove_user(actor=MALMO_ADMIN, tenant="malmo", extension="3001")
    assert (marked(app), app.tenant("acme").version) == (["3001"], acme_before + 1)  # acme was marked in the same transaction
    assert (receipt.versions, receipt.events) == ({"malmo": app.tenant("malmo").version}, 1)


def test_the_automatic_mark_is_recorded_by_the_checker_naming_who_changed_the_other_tenant(
    app: CallrouteApp, linked: str
) -> None:
    app.remove_user(actor=MALMO_ADMIN, tenant="malmo", extension="3001")
    event = events_of(app, "acme")[-1]
    assert (event.actor, event.reason) == (CHECKER.principal, "the users of cloud PBX malmo changed (admin@malmo)")


def test_the_automatic_mark_has_the_instant_of_the_removal(app: CallrouteApp, linked: str) -> None:
    app.remove_user(actor=MALMO_ADMIN, tenant="malmo", extension="3001")
    assert events_of(app, "acme")[-1].timestamp == events_of(app, "malmo")[-1].timestamp


def test_adding_the_user_back_records_the_member_known_again(app: CallrouteApp, linked: str) -> None:
    app.remove_user(actor=MALMO_ADMIN, tenant="malmo", extension="3001")
    app.add_user(actor=MALMO_ADMIN, tenant="malmo", extension="3001", name="Elin Holm")
    assert marked(app) == []
    assert type(events_of(app, "acme")[-1]).__name__ == "PbxMemberKnownAgain"


def test_removing_a_user_no_group_uses_touches_no_other_tenant(app: CallrouteApp, linked: str) -> None:
    before = len(events_of(app, "acme"))
    receipt = app.remove_user(actor=MALMO_ADMIN, tenant="malmo", extension="3002")
    assert (list(receipt.versions), len(events_of(app, "acme"))) == (["malmo"], before)


def test_a_refused_batch_leaves_no_mark(app: CallrouteApp, linked: str) -> None:
    batch = [c.RemoveUser(tenant="malmo", extension="3001"), c.RemoveUser(tenant="malmo", extension="9999")]
    with rejected(app, UnknownExtensionError, field="extension", match="no extension '9999'", index=1):
        app.execute(batch, MALMO_ADMIN)
    assert marked(app) == []


def test_a_closed_tenant_is_not_checked(app: CallrouteApp, actor: Actor, linked: str) -> None:
    app.close_tenant(actor=actor, tenant="acme")
    app.remove_user(actor=MALMO_ADMIN, tenant="malmo", extension="3001")
    assert marked(app) == []


def test_a_tenant_changed_after_the_removal_is_not_checked(app: CallrouteApp, linked: str) -> None:
    # The removal is dated between Malmö's last change and Acme's: Acme cannot take a change dated before its own last one.
    at = app.tenant("malmo").modified_on + timedelta(milliseconds=1)
    assert at < app.tenant("acme").modified_on
    app.execute([c.RemoveUser(tenant="malmo", extension="3001")], MALMO_ADMIN, at=at)
    assert "3001" not in app.tenant("malmo").state.users and marked(app) == []


def test_the_batch_directory_answers_for_a_tenant_changed_in_the_batch_from_its_state_in_memory(
    app: CallrouteApp, linked: str
) -> None:
    stale = FakeDirectory(cloud={"malmo": {"3001": "Elin Holm", "3002": "Farid Aziz", "3003": "Gone"}}, sip={})
    changed = BatchDirectory(stale, {"malmo": app.tenant("malmo")})
    assert (changed.cloud_members("malmo"), BatchDirectory(stale, {}).cloud_members("malmo")) == (
        {"3001": "Elin Holm", "3002": "Farid Aziz"}, stale.cloud["malmo"])


def test_a_tenant_that_links_the_pbx_after_an_earlier_check_is_checked_too(app: CallrouteApp, actor: Actor, linked: str) -> None:
    app.remove_user(actor=MALMO_ADMIN, tenant="malmo", extension="3001")  # the links are read once here
    app.create_tenant(actor=actor, tenant="beta", name="Beta AB", time_zone="Europe/Stockholm")
    app.link_pbx(actor=actor, tenant="beta", pbx="malmo", kind="cloud", name="Malmö clinic")
    app.create_answer_group(actor=actor, tenant="beta", group="desk", settings=GroupSettings(name="Desk"),
                            members=(GroupMember(ref=CloudMember(pbx="malmo", member="3002")),))
    app.remove_user(actor=MALMO_ADMIN, tenant="malmo", extension="3002")
    assert list(app.tenant("beta").state.pbx_links["malmo"].unknown_members) == ["3002"]
