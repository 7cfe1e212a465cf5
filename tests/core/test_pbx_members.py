"""Members on other PBXs after they were added (seed 003): ``check_pbx_members`` and its marks.

The fake directory of conftest lists cloud PBX ``malmo`` (members 3001, 3002) and SIP PBX
``kyiv-office`` (internal numbers 101, 102, 205); a test changes it as the other PBX's
directory would change, then checks.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
import pytest

from core.aggregates.catalog import PbxLink, UnknownPbxMember
from core.aggregates.context import Actor
from core.aggregates.groups import CloudMember, GroupMember, GroupSettings, SipMember
from core.aggregates.pbx_members import PbxMemberKnownAgain, PbxMemberMarkedUnknown
from core.aggregates.rules import CloudAccess
from core.aggregates.services import IvrMenu
from core.aggregates.targets import TextToSpeech, ToRemote
from core.clock import SteppingClock
from core.errors import NotFoundError, PermissionDeniedError, ValidationFailed
from core.projections.history import tenant_history
from core.routing.table import compile_table
from core.service import CallrouteApp, CommandRejected
from core.wiring import wire
from tests.core.conftest import KYIV, MALMO, FakeDirectory, FakeHasher, events_of, rejected

ELIN = CloudMember(pbx=MALMO, member="3001")
FARID = CloudMember(pbx=MALMO, member="3002")
OFFICE_101 = SipMember(pbx=KYIV, internal_number="101")


def make_group(app: CallrouteApp, actor: Actor, *refs: Any, fallback: Any = None, key: str = "sales") -> None:
    app.create_answer_group(actor=actor, tenant="acme", group=key, settings=GroupSettings(name=key.title(), fallback=fallback),
                            members=tuple(GroupMember(ref=r) for r in refs))


def marks(app: CallrouteApp, pbx: str) -> dict[str, UnknownPbxMember]:
    return app.tenant("acme").state.pbx_links[pbx].unknown_members


def new_events(app: CallrouteApp, before: int) -> list[Any]:
    return events_of(app, "acme")[before:]


def check(app: CallrouteApp, actor: Actor, **options: Any) -> list[Any]:
    """Run the check; the events it recorded."""
    before = len(events_of(app, "acme"))
    app.check_pbx_members(actor=actor, tenant="acme", **options)
    return new_events(app, before)


def test_check_pbx_members_marks_a_cloud_member_the_other_pbx_no_longer_lists(
    app: CallrouteApp, actor: Actor, linked: str, directory: FakeDirectory
) -> None:
    make_group(app, actor, ELIN)
    del directory.cloud[MALMO]["3001"]
    (event,) = check(app, actor)
    assert isinstance(event, PbxMemberMarkedUnknown)
    assert (event.pbx, event.member, event.finding) == (MALMO, "3001", "cloud PBX 'malmo' has no member '3001' in its list")
    assert marks(app, MALMO) == {"3001": UnknownPbxMember(since=event.timestamp, finding=event.finding)}


def test_check_pbx_members_marks_an_internal_number_gone_from_the_sip_directory(
    app: CallrouteApp, actor: Actor, linked: str, directory: FakeDirectory
) -> None:
    make_group(app, actor, OFFICE_101)
    directory.sip[KYIV] = ("102", "205")
    (event,) = check(app, actor)
    assert (event.pbx, event.member, event.finding) == (KYIV, "101", "SIP PBX 'kyiv-office' has no internal number '101'")


def test_check_pbx_members_marks_a_group_fallback_on_another_pbx(
    app: CallrouteApp, actor: Actor, linked: str, directory: FakeDirectory
) -> None:
    make_group(app, actor, fallback=ToRemote(pbx=KYIV, member="205"))
    directory.sip[KYIV] = ("101", "102")
    (event,) = check(app, actor)
    assert (event.pbx, event.member) == (KYIV, "205")


def test_check_pbx_members_marks_a_destination_on_another_pbx_outside_groups(
    app: CallrouteApp, actor: Actor, linked: str, directory: FakeDirectory
) -> None:
    menu = IvrMenu(name="Main", prompt=TextToSpeech(text="Press 1", language="en"), options={"1": ToRemote(pbx=KYIV, member="205")})
    app.save_ivr_menu(actor=actor, tenant=linked, ivr="main", spec=menu)
    directory.sip[KYIV] = ("101",)
    (event,) = check(app, actor)
    assert (event.pbx, event.member) == (KYIV, "205")


def test_check_pbx_members_records_nothing_while_the_directory_lists_every_member(
    app: CallrouteApp, actor: Actor, linked: str
) -> None:
    make_group(app, actor, ELIN, OFFICE_101, fallback=ToRemote(pbx=KYIV, member="205"))
    assert check(app, actor) == []


def test_check_pbx_members_marks_only_the_member_the_directory_dropped(
    app: CallrouteApp, actor: Actor, linked: str, directory: FakeDirectory
) -> None:
    make_group(app, actor, ELIN, FARID)
    del directory.cloud[MALMO]["3002"]
    check(app, actor)
    assert list(marks(app, MALMO)) == ["3002"]


def test_check_pbx_members_ignores_directory_changes_to_members_nothing_uses(
    app: CallrouteApp, actor: Actor, linked: str, directory: FakeDirectory
) -> None:
    make_group(app, actor, ELIN)
    del directory.cloud[MALMO]["3002"]
    assert check(app, actor) == []


def test_check_pbx_members_does_not_mark_a_marked_member_again(
    app: CallrouteApp, actor: Actor, linked: str, directory: FakeDirectory
) -> None:
    make_group(app, actor, ELIN)
    del directory.cloud[MALMO]["3001"]
    check(app, actor)
    assert check(app, actor) == []


def test_check_pbx_members_records_a_member_known_again_when_the_directory_lists_it_again(
    app: CallrouteApp, actor: Actor, linked: str, directory: FakeDirectory
) -> None:
    make_group(app, actor, ELIN)
    del directory.cloud[MALMO]["3001"]
    check(app, actor)
    directory.cloud[MALMO]["3001"] = "Elin Holm"
    (event,) = check(app, actor)
    assert isinstance(event, PbxMemberKnownAgain) and (event.pbx, event.member) == (MALMO, "3001")
    assert marks(app, MALMO) == {}


def test_check_pbx_members_unmarks_a_member_no_longer_used_once_the_directory_lists_it_again(
    app: CallrouteApp, actor: Actor, linked: str, directory: FakeDirectory
) -> None:
    make_group(app, actor, ELIN, FARID)
    del directory.cloud[MALMO]["3001"]
    check(app, actor)
    app.remove_group_member(actor=actor, tenant="acme", group="sales", member=ELIN)
    directory.cloud[MALMO]["3001"] = "Elin Holm"
    (event,) = check(app, actor)
    assert isinstance(event, PbxMemberKnownAgain)


def test_check_pbx_members_of_one_pbx_leaves_the_other_pbxs_unchecked(
    app: CallrouteApp, actor: Actor, linked: str, directory: FakeDirectory
) -> None:
    make_group(app, actor, ELIN, OFFICE_101)
    del directory.cloud[MALMO]["3001"]
    directory.sip[KYIV] = ("102",)
    (event,) = check(app, actor, pbx=KYIV)
    assert event.pbx == KYIV and marks(app, MALMO) == {}


def test_check_pbx_members_refuses_a_pbx_that_is_not_linked(app: CallrouteApp, actor: Actor, linked: str) -> None:
    with rejected(app, NotFoundError, field="pbx", match="no linked PBX 'elsewhere'"):
        app.check_pbx_members(actor=actor, tenant=linked, pbx="elsewhere")


def test_check_pbx_members_refuses_a_pbx_the_directory_does_not_know_and_marks_nothing(
    app: CallrouteApp, actor: Actor, linked: str, directory: FakeDirectory
) -> None:
    make_group(app, actor, ELIN, OFFICE_101)
    del directory.cloud[MALMO]["3001"]
    del directory.sip[KYIV]
    with rejected(app, NotFoundError, field="pbx", match="does not know SIP PBX 'kyiv-office'; nothing was marked"):
        app.check_pbx_members(actor=actor, tenant=linked)


def test_check_pbx_members_passes_a_pbx_the_directory_does_not_know_when_nothing_rings_there(
    app: CallrouteApp, actor: Actor, linked: str, directory: FakeDirectory
) -> None:
    make_group(app, actor, ELIN)
    del directory.cloud[MALMO]["3001"]
    del directory.sip[KYIV]
    (event,) = check(app, actor)
    assert event.pbx == MALMO


def test_check_pbx_members_refuses_without_a_pbx_directory(clock: SteppingClock, actor: Actor) -> None:
    app = wire(None, clock=clock, pin_hasher=FakeHasher())
    app.create_tenant(actor=actor, tenant="acme", name="Acme Ltd", time_zone="Europe/London")
    with rejected(app, ValidationFailed, field="pbx", match="no PBX directory is configured"):
        app.check_pbx_members(actor=actor, tenant="acme")


@pytest.mark.parametrize("readd", ["member", "fallback"])
def test_adding_a_marked_member_again_records_it_known_again_first(
    app: CallrouteApp, actor: Actor, linked: str, directory: FakeDirectory, readd: str
) -> None:
    make_group(app, actor, ELIN, fallback=ToRemote(pbx=MALMO, member="3001"))
    del directory.cloud[MALMO]["3001"]
    check(app, actor)
    directory.cloud[MALMO]["3001"] = "Elin Holm"
    before = len(events_of(app, "acme"))
    if readd == "member":
        app.remove_group_member(actor=actor, tenant="acme", group="sales", member=ELIN)
        before += 1
        app.add_group_member(actor=actor, tenant="acme", group="sales", member=GroupMember(ref=ELIN))
    else:
        app.update_answer_group(actor=actor, tenant="acme", group="sales",
                                settings=GroupSettings(name="Sales", fallback=ToRemote(pbx=MALMO, member="3001")))
    assert [type(e).__name__ for e in new_events(app, before)][0] == "PbxMemberKnownAgain"
    assert marks(app, MALMO) == {}


def test_a_new_group_with_a_marked_member_records_it_known_again(
    app: CallrouteApp, actor: Actor, linked: str, directory: FakeDirectory
) -> None:
    make_group(app, actor, ELIN)
    del directory.cloud[MALMO]["3001"]
    check(app, actor)
    directory.cloud[MALMO]["3001"] = "Elin Holm"
    make_group(app, actor, ELIN, key="support")
    assert marks(app, MALMO) == {}


def test_a_mark_shows_in_the_tenant_view_of_the_linked_pbx(
    app: CallrouteApp, actor: Actor, linked: str, directory: FakeDirectory
) -> None:
    make_group(app, actor, OFFICE_101)
    directory.sip[KYIV] = ()
    (event,) = check(app, actor)
    (kyiv,) = [link for link in app.get_tenant(linked, actor).pbx_links if link.id == KYIV]
    assert kyiv.unknown_members == {"101": UnknownPbxMember(since=event.timestamp, finding=event.finding)}


def test_the_routing_table_carries_the_marks(app: CallrouteApp, actor: Actor, linked: str, directory: FakeDirectory) -> None:
    make_group(app, actor, OFFICE_101)
    directory.sip[KYIV] = ()
    check(app, actor)
    tenant = app.tenant(linked)
    assert list(compile_table(tenant.state, tenant.version).pbx_links[KYIV].unknown_members) == ["101"]


def test_a_link_without_marks_encodes_as_links_did_before_marks() -> None:
    link = PbxLink(id=KYIV, kind="sip", name="Kyiv office")
    assert msgspec.json.decode(msgspec.json.encode(link)) == {"id": KYIV, "kind": "sip", "name": "Kyiv office"}


def test_the_history_shows_when_a_member_became_unknown_and_when_it_was_known_again(
    app: CallrouteApp, actor: Actor, linked: str, directory: FakeDirectory
) -> None:
    make_group(app, actor, ELIN)
    del directory.cloud[MALMO]["3001"]
    check(app, actor)
    directory.cloud[MALMO]["3001"] = "Elin Holm"
    check(app, actor)
    marked, known = [(e.event, e.changes) for e in tenant_history(app, linked)][-2:]
    finding = "cloud PBX 'malmo' has no member '3001' in its list"
    ((subject, field, before, after),) = [(c.subject, c.field, c.before, c.after) for c in marked[1]]
    assert (marked[0], subject, field, before, after["finding"]) == (
        "PbxMemberMarkedUnknown", "linked PBX malmo", "unknown_members.3001", None, finding)
    assert datetime.fromisoformat(after["since"]) == events_of(app, linked)[-2].timestamp
    assert (known[0], [(c.field, c.after) for c in known[1]]) == ("PbxMemberKnownAgain", [("unknown_members.3001", None)])


# -- linking another tenant, and taking its members, needs the right to change it -------------------------------

OPERATOR = Actor("ops@platform", operator=True)
BOB = Actor("bob@acme")
"""A second telephony_admin of acme, with no permission on the Malmö clinic."""


def restricted(admins: dict[str, tuple[str, ...]] | None = None, partner: str | None = None) -> FakeDirectory:
    """The conftest directory, except that only ``admins`` (default: admin@malmo) and ``partner`` may act for Malmö."""
    return FakeDirectory(access={MALMO: CloudAccess(admins=admins or {"admin@malmo": ("telephony_admin",)}, partner=partner)})


def app_with(clock: SteppingClock, directory: FakeDirectory) -> CallrouteApp:
    return wire(None, clock=clock, pin_hasher=FakeHasher(), directory=lambda _: directory)


def test_link_pbx_of_a_cloud_pbx_the_actor_may_not_change_is_refused(clock: SteppingClock, actor: Actor) -> None:
    app = app_with(clock, restricted())
    app.create_tenant(actor=actor, tenant="acme", name="Acme Ltd", time_zone="Europe/London")
    denied = (f"^commands\\[0\\]\\.pbx \\(link_pbx\\): no cloud PBX '{MALMO}' that 'admin@acme' may change; linking another "
              "tenant as a cloud PBX needs the right to change that tenant too \\(its telephony_admin permission, or acting "
              "for its partner\\)$")
    with rejected(app, PermissionDeniedError, field="pbx", match=denied):
        app.link_pbx(actor=actor, tenant="acme", pbx=MALMO, kind="cloud", name="Malmö clinic")
    assert app.tenant("acme").state.pbx_links == {}


LINKERS = {
    "admin-of-this-tenant-only": (Actor("admin@acme"), {}),
    "auditor-of-the-other-tenant": (Actor("admin@acme"), {"admin@acme": ("auditor",)}),  # may read Malmö, not change it
    "partner-of-this-tenant-only": (Actor("pat@bt", partner="bt"), {}),
    "partner-acting-as-the-other-tenants-admin": (Actor("admin@malmo", partner="bt"), {}),
}


@pytest.mark.parametrize("who", sorted(LINKERS))
def test_link_pbx_refusal_is_the_same_whether_the_other_tenant_exists_or_not(clock: SteppingClock, who: str) -> None:
    actor, more = LINKERS[who]
    texts = []
    for exists in (True, False):
        directory = (restricted({"admin@malmo": ("telephony_admin",), **more}, partner="tele2") if exists
                     else FakeDirectory(cloud={}, access={}))
        app = app_with(SteppingClock(clock.now()), directory)
        app.create_tenant(actor=Actor("pat@bt", partner="bt"), tenant="acme", name="Acme Ltd", time_zone="Europe/London")
        app.grant_permission(actor=OPERATOR, tenant="acme", principal="admin@acme")
        with pytest.raises(CommandRejected) as excinfo:
            app.link_pbx(actor=actor, tenant="acme", pbx=MALMO, kind="cloud", name="Clinic")
        assert (type(excinfo.value.cause), excinfo.value.field, excinfo.value.rule) == (PermissionDeniedError, "pbx", "permission_denied")
        texts.append(str(excinfo.value))
    assert texts[0] == texts[1]
    assert f"no cloud PBX '{MALMO}' that {actor.principal!r}" in texts[0]


def test_an_operator_is_told_plainly_that_the_directory_knows_no_such_cloud_pbx(clock: SteppingClock) -> None:
    app = app_with(clock, FakeDirectory(cloud={}, access={}))
    app.create_tenant(actor=OPERATOR, tenant="acme", name="Acme Ltd", time_zone="Europe/London")
    with rejected(app, NotFoundError, field="pbx", match=f"the directory knows no cloud PBX '{MALMO}'"):
        app.link_pbx(actor=OPERATOR, tenant="acme", pbx=MALMO, kind="cloud", name="Clinic")


def test_link_pbx_is_allowed_to_an_admin_of_both_tenants(clock: SteppingClock, actor: Actor) -> None:
    app = app_with(clock, restricted({"admin@malmo": ("telephony_admin",), "admin@acme": ("telephony_admin",)}))
    app.create_tenant(actor=actor, tenant="acme", name="Acme Ltd", time_zone="Europe/London")
    app.link_pbx(actor=actor, tenant="acme", pbx=MALMO, kind="cloud", name="Malmö clinic")
    assert list(app.tenant("acme").state.pbx_links) == [MALMO]


def test_link_pbx_is_allowed_to_the_partner_of_both_tenants_and_to_an_operator(clock: SteppingClock) -> None:
    app = app_with(clock, restricted(partner="bt"))
    bt = Actor("pat@bt", partner="bt")
    for slug, actor in (("acme", bt), ("beta", OPERATOR)):
        app.create_tenant(actor=bt, tenant=slug, name=slug.title(), time_zone="Europe/London")
        app.link_pbx(actor=actor, tenant=slug, pbx=MALMO, kind="cloud", name="Malmö clinic")
        assert list(app.tenant(slug).state.pbx_links) == [MALMO]


def test_link_pbx_of_a_sip_pbx_needs_no_other_tenant(clock: SteppingClock, actor: Actor) -> None:
    app = app_with(clock, restricted())
    app.create_tenant(actor=actor, tenant="acme", name="Acme Ltd", time_zone="Europe/London")
    app.link_pbx(actor=actor, tenant="acme", pbx=KYIV, kind="sip", name="Kyiv office")


def test_a_directory_that_cannot_say_who_may_act_for_a_cloud_pbx_lets_only_operators_link_it(
    clock: SteppingClock, actor: Actor
) -> None:
    class OldDirectory:
        def cloud_members(self, pbx: str) -> dict[str, str] | None:
            return {"3001": "Elin Holm"} if pbx == MALMO else None

        def sip_internal_number_exists(self, pbx: str, internal_number: str) -> bool | None:
            return None

    app = wire(None, clock=clock, pin_hasher=FakeHasher(), directory=lambda _: OldDirectory())
    app.create_tenant(actor=actor, tenant="acme", name="Acme Ltd", time_zone="Europe/London")
    with rejected(app, PermissionDeniedError, field="pbx", match=f"no cloud PBX '{MALMO}' that 'admin@acme' may change"):
        app.link_pbx(actor=actor, tenant="acme", pbx=MALMO, kind="cloud", name="Malmö clinic")
    app.link_pbx(actor=OPERATOR, tenant="acme", pbx=MALMO, kind="cloud", name="Malmö clinic")


@pytest.fixture
def shared(app: CallrouteApp, actor: Actor, linked: str, directory: FakeDirectory) -> str:
    """Acme linked to Malmö by its admin (who may change Malmö too), with bob@acme as a second admin of acme only."""
    app.grant_permission(actor=actor, tenant=linked, principal=BOB.principal)
    make_group(app, actor, ELIN)
    return linked


@pytest.mark.parametrize("member", ["3002", "3999"], ids=["listed", "not-listed"])
def test_adding_a_member_of_a_cloud_pbx_the_actor_may_not_change_is_refused_saying_nothing_of_its_members(
    app: CallrouteApp, shared: str, member: str
) -> None:
    denied = (f"^commands\\[0\\]\\.member\\.ref \\(add_group_member\\): no cloud PBX '{MALMO}' that 'bob@acme' may change; "
              "a member of another tenant needs the right to change that tenant too")
    with rejected(app, PermissionDeniedError, field="member.ref", match=denied):
        app.add_group_member(actor=BOB, tenant=shared, group="sales", member=GroupMember(ref=CloudMember(pbx=MALMO, member=member)))


@pytest.mark.parametrize("where", ["group member", "group fallback", "new group", "ivr option"])
def test_every_destination_on_a_cloud_pbx_needs_the_right_to_change_it(app: CallrouteApp, shared: str, where: str) -> None:
    farid = ToRemote(pbx=MALMO, member="3002")
    commands = {
        "group member": lambda: app.add_group_member(actor=BOB, tenant=shared, group="sales", member=GroupMember(ref=FARID)),
        "group fallback": lambda: app.update_answer_group(actor=BOB, tenant=shared, group="sales",
                                                          settings=GroupSettings(name="Sales", fallback=farid)),
        "new group": lambda: app.create_answer_group(actor=BOB, tenant=shared, group="desk", settings=GroupSettings(name="Desk"),
                                                     members=(GroupMember(ref=FARID),)),
        "ivr option": lambda: app.save_ivr_menu(actor=BOB, tenant=shared, ivr="main", spec=IvrMenu(
            name="Main", prompt=TextToSpeech(text="Hej", language="sv-SE"), options={"1": farid})),
    }
    with pytest.raises(CommandRejected, match=f"no cloud PBX '{MALMO}' that 'bob@acme' may change") as excinfo:
        commands[where]()
    assert excinfo.value.rule == "permission_denied"


def test_a_member_the_tenant_already_rings_needs_no_right_on_the_other_tenant(app: CallrouteApp, shared: str) -> None:
    # Elin is in "sales" already (added by an admin of both): bob may keep her in settings he changes, and ring her elsewhere.
    app.update_answer_group(actor=BOB, tenant=shared, group="sales", settings=GroupSettings(name="Sales team", fallback=ToRemote(
        pbx=MALMO, member="3001")))
    app.create_answer_group(actor=BOB, tenant=shared, group="desk", settings=GroupSettings(name="Desk"), members=(GroupMember(ref=ELIN),))
    assert app.tenant(shared).state.groups["desk"].members[0].ref == ELIN


def test_an_admin_of_both_tenants_is_told_which_member_the_other_pbx_does_not_list(app: CallrouteApp, actor: Actor, shared: str) -> None:
    with rejected(app, NotFoundError, field="member.ref", match=f"cloud PBX '{MALMO}' has no member '3999' in its list"):
        app.add_group_member(actor=actor, tenant=shared, group="sales", member=GroupMember(ref=CloudMember(pbx=MALMO, member="3999")))
    app.add_group_member(actor=actor, tenant=shared, group="sales", member=GroupMember(ref=FARID))


def test_an_operator_may_add_any_listed_member(app: CallrouteApp, shared: str) -> None:
    app.add_group_member(actor=OPERATOR, tenant=shared, group="sales", member=GroupMember(ref=FARID))
    assert [m.ref for m in app.tenant(shared).state.groups["sales"].members] == [ELIN, FARID]


def test_sip_members_need_no_right_on_another_tenant(app: CallrouteApp, shared: str) -> None:
    app.add_group_member(actor=BOB, tenant=shared, group="sales", member=GroupMember(ref=OFFICE_101))


def test_links_and_members_stored_before_the_rule_still_load_and_route(app: CallrouteApp, shared: str, directory: FakeDirectory) -> None:
    # The events were stored when the rule was met; who may act for Malmö later changes nothing about what was stored.
    directory.access = {MALMO: CloudAccess(admins={})}
    state = app.tenant(shared).state
    assert (sorted(state.pbx_links), state.groups["sales"].members[0].ref) == ([KYIV, MALMO], ELIN)
    assert app.get_tenant(shared, BOB).slug == shared
    compile_table(state, version=app.tenant(shared).version)


def test_the_store_directory_says_who_may_act_for_another_tenant(app: CallrouteApp, actor: Actor, managed_acme: str) -> None:
    from adapters.directory import StoreDirectory, tenant_access_of, tenant_users_of

    store = StoreDirectory(tenant_users_of(app), tenant_access=tenant_access_of(app))
    assert store.cloud_access(managed_acme) == CloudAccess(admins={"admin@acme": ("telephony_admin",)}, partner="bt")
    assert store.cloud_access("nowhere") is None
    assert StoreDirectory(tenant_users_of(app)).cloud_access(managed_acme) is None  # without it, only operators may link


def test_the_batch_directory_says_who_may_act_for_a_tenant_changed_in_the_batch(app: CallrouteApp, managed_acme: str) -> None:
    from core.linked_members import BatchDirectory

    stale = FakeDirectory(access={MALMO: CloudAccess(admins={})})
    changed = BatchDirectory(stale, {managed_acme: app.tenant(managed_acme)})
    assert changed.cloud_access(managed_acme) == CloudAccess(admins={"admin@acme": ("telephony_admin",)}, partner="bt")
    assert changed.cloud_access(MALMO) == CloudAccess(admins={})


@pytest.fixture
def managed_acme(app: CallrouteApp, actor: Actor, acme: str) -> str:
    app.set_partner(actor=actor, tenant=acme, partner="bt")
    return acme
