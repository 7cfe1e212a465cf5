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
from core.aggregates.services import IvrMenu
from core.aggregates.targets import TextToSpeech, ToRemote
from core.clock import SteppingClock
from core.errors import NotFoundError, ValidationFailed
from core.projections.history import tenant_history
from core.routing.table import compile_table
from core.service import CallrouteApp
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
