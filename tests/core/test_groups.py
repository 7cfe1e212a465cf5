"""Answer groups / departments (seeds 001 and 003): members here and on linked PBXs, supervisors, fallback.

Members of another cloud PBX are chosen from its member list, members of an office (SIP) PBX
by internal number; both are checked against the PBX directory (faked in conftest: cloud PBX
``malmo`` with members 3001/3002, SIP PBX ``kyiv-office`` with internal numbers 101/102/205).
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from core.aggregates.context import Actor
from core.aggregates.groups import AnswerGroup, CloudMember, GroupMember, GroupSettings, LocalMember, SipMember
from core.aggregates.services import CallQueue, IvrMenu
from core.aggregates.targets import TextToSpeech, ToExtension, ToGroup, ToNumber, ToRemote, ToVoicemail
from core.errors import AlreadyExistsError, InUseError, MalformedNumberError, NotFoundError, UnknownExtensionError, ValidationFailed
from core.queries import NumberView
from core.service import CallrouteApp, CommandRejected
from tests.core.conftest import KYIV, MALMO, rejected

UK = "+441234567890"
UK_BARE = "441234567890"
DISPLAY = "+442079460000"
OTHER = "+46812345678"

ANN = LocalMember(extension="2001")
BOB = LocalMember(extension="2002")
ELIN = CloudMember(pbx=MALMO, member="3001")
OFFICE_101 = SipMember(pbx=KYIV, internal_number="101")


def group(app: CallrouteApp, key: str, slug: str = "acme") -> AnswerGroup:
    return app.tenant(slug).state.groups[key]


def members(app: CallrouteApp, key: str) -> list[Any]:
    return [m.ref for m in group(app, key).members]


def make_group(app: CallrouteApp, actor: Actor, key: str = "sales", *refs: Any, **settings: Any) -> None:
    app.create_answer_group(
        actor=actor,
        tenant="acme",
        group=key,
        settings=GroupSettings(name=settings.pop("name", key.title()), **settings),
        members=tuple(GroupMember(ref=r) for r in refs),
    )


def make_pro(app: CallrouteApp, actor: Actor, *extensions: str) -> None:
    for extension in extensions:
        app.set_user_license(actor=actor, tenant="acme", extension=extension, license="pro")


# -- create_answer_group -------------------------------------------------------------------


def test_create_answer_group_records_number_billing_id_display_number_members_and_supervisors(
    app: CallrouteApp, actor: Actor, linked: str
) -> None:
    app.save_display_number(actor=actor, tenant=linked, number=DISPLAY, sms=False)
    make_pro(app, actor, "2002")
    settings = GroupSettings(
        name="Reception", number=UK_BARE, billing_id="CC-4711", display_number="442079460000", strategy="simultaneous", timeout_seconds=45
    )
    team = (
        GroupMember(ref=ANN, ring_seconds=15),
        GroupMember(ref=ELIN),
        GroupMember(ref=OFFICE_101, ring_seconds=25, excluded=True),
    )
    app.create_answer_group(actor=actor, tenant=linked, group="reception", settings=settings, members=team, supervisors=("2002",))
    (view,) = app.get_tenant(linked, actor).groups
    assert view == AnswerGroup(
        id="reception",
        settings=GroupSettings(
            name="Reception", number=UK, billing_id="CC-4711", display_number=DISPLAY, strategy="simultaneous", timeout_seconds=45
        ),
        members=team,
        supervisors=("2002",),
    )


def test_create_answer_group_puts_its_number_in_the_number_table(app: CallrouteApp, actor: Actor, acme: str) -> None:
    make_group(app, actor, "sales", number=UK)
    assert app.get_tenant(acme, actor).numbers == (NumberView(number=UK, entry=ToGroup(group="sales"), source="answer group"),)


def test_create_answer_group_defaults_to_sequential_60_seconds_without_fallback(app: CallrouteApp, actor: Actor, acme: str) -> None:
    make_group(app, actor, "sales", ANN)
    settings = group(app, "sales").settings
    assert (settings.strategy, settings.timeout_seconds, settings.fallback, settings.number) == ("sequential", 60, None, None)
    assert group(app, "sales").members == (GroupMember(ref=ANN, ring_seconds=20, excluded=False),)


def test_create_answer_group_refuses_an_existing_id(app: CallrouteApp, actor: Actor, acme: str) -> None:
    make_group(app, actor, "sales", name="Sales")
    with rejected(app, AlreadyExistsError, field="group", match="answer group 'sales' already exists"):
        make_group(app, actor, "sales", name="Sales again")
    assert group(app, "sales").settings.name == "Sales"


def test_create_answer_group_refuses_a_number_of_a_user_naming_the_user(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.assign_number(actor=actor, tenant=acme, extension="2001", number=UK)
    with rejected(app, AlreadyExistsError, field="settings.number", match=r"\+441234567890 is already assigned to extension 2001"):
        make_group(app, actor, "sales", number=UK_BARE)
    assert app.tenant(acme).state.groups == {}


def test_create_answer_group_refuses_a_malformed_number(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, MalformedNumberError, field="settings.number", match="'12345' is not a valid number"):
        make_group(app, actor, "sales", number="12345")


def test_create_answer_group_refuses_a_display_number_the_tenant_does_not_have(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, NotFoundError, field="settings.display_number", match=r"\+442079460000 is not one of the tenant's display numbers"):
        make_group(app, actor, "sales", display_number=DISPLAY)


def test_create_answer_group_refuses_an_id_that_is_not_an_entity_id_by_schema(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, msgspec.ValidationError, field="group", match="regex"):
        make_group(app, actor, "Sales Team")


def test_create_answer_group_refuses_a_timeout_under_5_seconds_by_schema(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, msgspec.ValidationError, field="settings.timeout_seconds", match=">= 5"):
        make_group(app, actor, "sales", timeout_seconds=4)


def test_create_answer_group_refuses_an_unknown_strategy_by_schema(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, msgspec.ValidationError, field="settings.strategy", match="Invalid enum value 'loudest'"):
        make_group(app, actor, "sales", strategy="loudest")


def test_create_answer_group_refuses_a_member_listed_twice(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, ValidationFailed, field="members", match="a member is listed twice"):
        make_group(app, actor, "sales", ANN, BOB, ANN)


def test_create_answer_group_refuses_an_unknown_local_member(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, UnknownExtensionError, field="members[1].ref.extension", match="tenant 'acme' has no extension '2099'"):
        make_group(app, actor, "sales", ANN, LocalMember(extension="2099"))


def test_create_answer_group_refuses_an_unknown_local_member_and_stores_nothing(app: CallrouteApp, actor: Actor, acme: str) -> None:
    before = app.recorder.max_notification_id()
    with pytest.raises(CommandRejected, match="tenant 'acme' has no extension '2099'") as excinfo:
        make_group(app, actor, "sales", ANN, LocalMember(extension="2099"))
    assert isinstance(excinfo.value.cause, UnknownExtensionError)
    assert (excinfo.value.rule, excinfo.value.field) == ("unknown_extension", "members[1].ref.extension")
    assert app.recorder.max_notification_id() == before


def test_create_answer_group_takes_a_member_of_a_linked_cloud_pbx_from_its_list(app: CallrouteApp, actor: Actor, linked: str) -> None:
    make_group(app, actor, "sales", CloudMember(pbx=MALMO, member="3002"))
    assert members(app, "sales") == [CloudMember(pbx=MALMO, member="3002")]


def test_create_answer_group_refuses_a_cloud_member_missing_from_the_pbxs_list(app: CallrouteApp, actor: Actor, linked: str) -> None:
    with rejected(app, NotFoundError, field="members[0].ref", match="cloud PBX 'malmo' has no member '3009' in its list"):
        make_group(app, actor, "sales", CloudMember(pbx=MALMO, member="3009"))


def test_create_answer_group_takes_a_member_of_a_linked_sip_pbx_by_internal_number(app: CallrouteApp, actor: Actor, linked: str) -> None:
    make_group(app, actor, "sales", SipMember(pbx=KYIV, internal_number="205"))
    assert members(app, "sales") == [SipMember(pbx=KYIV, internal_number="205")]


def test_create_answer_group_refuses_an_internal_number_the_sip_pbx_lacks(app: CallrouteApp, actor: Actor, linked: str) -> None:
    with rejected(app, NotFoundError, field="members[0].ref", match="SIP PBX 'kyiv-office' has no internal number '999'"):
        make_group(app, actor, "sales", SipMember(pbx=KYIV, internal_number="999"))


def test_create_answer_group_refuses_a_member_of_an_unlinked_pbx(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, NotFoundError, field="members[0].ref.pbx", match="tenant 'acme' has no linked PBX 'malmo'"):
        make_group(app, actor, "sales", ELIN)


def test_create_answer_group_refuses_an_internal_number_on_a_cloud_pbx(app: CallrouteApp, actor: Actor, linked: str) -> None:
    with rejected(app, ValidationFailed, field="members[0].ref", match="PBX 'malmo' is a cloud PBX; choose a member from its list"):
        make_group(app, actor, "sales", SipMember(pbx=MALMO, internal_number="101"))


def test_create_answer_group_refuses_a_member_list_entry_on_a_sip_pbx(app: CallrouteApp, actor: Actor, linked: str) -> None:
    with rejected(app, ValidationFailed, field="members[0].ref", match="PBX 'kyiv-office' is a SIP PBX; give an internal number"):
        make_group(app, actor, "sales", CloudMember(pbx=KYIV, member="101"))


def test_create_answer_group_refuses_a_malformed_internal_number_by_schema(app: CallrouteApp, actor: Actor, linked: str) -> None:
    with rejected(app, msgspec.ValidationError, field="members[0].ref.internal_number", match="regex"):
        make_group(app, actor, "sales", SipMember(pbx=KYIV, internal_number="1-01"))


def test_create_answer_group_accepts_pro_supervisors(app: CallrouteApp, actor: Actor, acme: str) -> None:
    make_pro(app, actor, "2001", "2002")
    app.create_answer_group(actor=actor, tenant=acme, group="sales", settings=GroupSettings(name="Sales"), supervisors=("2002", "2001"))
    assert group(app, "sales").supervisors == ("2002", "2001")


def test_create_answer_group_refuses_a_supervisor_who_is_not_a_pro_user(app: CallrouteApp, actor: Actor, acme: str) -> None:
    make_pro(app, actor, "2001")
    with rejected(app, ValidationFailed, field="supervisors[1]", match="extension 2002 is not a Pro user; only Pro users may supervise"):
        app.create_answer_group(
            actor=actor, tenant=acme, group="sales", settings=GroupSettings(name="Sales"), supervisors=("2001", "2002")
        )


def test_create_answer_group_refuses_an_unknown_supervisor(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, UnknownExtensionError, field="supervisors[0]", match="tenant 'acme' has no extension '2099'"):
        app.create_answer_group(actor=actor, tenant=acme, group="sales", settings=GroupSettings(name="Sales"), supervisors=("2099",))


def test_create_answer_group_refuses_a_supervisor_listed_twice(app: CallrouteApp, actor: Actor, acme: str) -> None:
    make_pro(app, actor, "2001")
    with rejected(app, ValidationFailed, field="supervisors", match="a supervisor is listed twice"):
        app.create_answer_group(
            actor=actor, tenant=acme, group="sales", settings=GroupSettings(name="Sales"), supervisors=("2001", "2001")
        )


# -- fallback: a backup person or department, here or on another PBX (seed 003) -------------------


@pytest.mark.parametrize(
    "fallback",
    [
        ToExtension(extension="2002"),
        ToGroup(group="backoffice"),
        ToVoicemail(extension="2001"),
        ToRemote(pbx=MALMO, member="3001"),
        ToRemote(pbx=KYIV, member="102"),
    ],
    ids=["person-here", "department-here", "mailbox", "person-on-cloud-pbx", "person-on-sip-pbx"],
)
def test_create_answer_group_falls_back_to_a_backup_here_or_on_another_pbx(
    app: CallrouteApp, actor: Actor, linked: str, fallback: Any
) -> None:
    make_group(app, actor, "backoffice", BOB)
    make_group(app, actor, "sales", ANN, fallback=fallback)
    assert group(app, "sales").settings.fallback == fallback


def test_create_answer_group_refuses_a_fallback_to_voicemail_without_a_mailbox(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, ValidationFailed, field="settings.fallback", match="a voicemail destination here must name the mailbox's extension"):
        make_group(app, actor, "sales", fallback=ToVoicemail())


def test_create_answer_group_refuses_a_fallback_to_an_internal_number_the_sip_pbx_lacks(
    app: CallrouteApp, actor: Actor, linked: str
) -> None:
    with rejected(app, NotFoundError, field="settings.fallback", match="SIP PBX 'kyiv-office' has no internal number '999'"):
        make_group(app, actor, "sales", fallback=ToRemote(pbx=KYIV, member="999"))


def test_create_answer_group_refuses_a_fallback_to_someone_off_the_cloud_pbxs_list(app: CallrouteApp, actor: Actor, linked: str) -> None:
    with rejected(app, NotFoundError, field="settings.fallback", match="cloud PBX 'malmo' has no member '3999' in its list"):
        make_group(app, actor, "sales", fallback=ToRemote(pbx=MALMO, member="3999"))


def test_create_answer_group_refuses_a_fallback_to_an_unlinked_pbx(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, NotFoundError, field="settings.fallback.pbx", match="tenant 'acme' has no linked PBX 'malmo'"):
        make_group(app, actor, "sales", fallback=ToRemote(pbx=MALMO, member="3001"))


def test_create_answer_group_refuses_a_fallback_to_an_unknown_group(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, NotFoundError, field="settings.fallback.group", match="tenant 'acme' has no answer group 'nowhere'"):
        make_group(app, actor, "sales", fallback=ToGroup(group="nowhere"))


def test_create_answer_group_refuses_a_fallback_to_an_outside_number_by_schema(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, msgspec.ValidationError, field="settings.fallback.kind", match="Invalid value 'external'"):
        make_group(app, actor, "sales", fallback=ToNumber(number=UK))


def test_a_group_cannot_fall_back_to_itself(app: CallrouteApp, actor: Actor, acme: str) -> None:
    make_group(app, actor, "sales", ANN)
    with rejected(app, ValidationFailed, field="settings.fallback.group", match="a group cannot fall back to itself"):
        app.update_answer_group(
            actor=actor, tenant=acme, group="sales", settings=GroupSettings(name="Sales", fallback=ToGroup(group="sales"))
        )
    assert group(app, "sales").settings.fallback is None


def test_a_new_group_cannot_fall_back_to_itself(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, ValidationFailed, field="settings.fallback.group", match="a group cannot fall back to itself"):
        make_group(app, actor, "sales", ANN, fallback=ToGroup(group="sales"))


# -- update_answer_group --------------------------------------------------------------------------


def test_update_answer_group_replaces_the_settings_and_keeps_members(app: CallrouteApp, actor: Actor, acme: str) -> None:
    make_group(app, actor, "sales", ANN, BOB, number=UK)
    new = GroupSettings(name="Sales EMEA", number=UK, billing_id="CC-1", strategy="round_robin", timeout_seconds=30)
    app.update_answer_group(actor=actor, tenant=acme, group="sales", settings=new)
    assert group(app, "sales").settings == new
    assert members(app, "sales") == [ANN, BOB]


def test_update_answer_group_moves_the_group_to_another_number(app: CallrouteApp, actor: Actor, acme: str) -> None:
    make_group(app, actor, "sales", number=UK)
    app.update_answer_group(actor=actor, tenant=acme, group="sales", settings=GroupSettings(name="Sales", number=OTHER))
    app.assign_number(actor=actor, tenant=acme, extension="2001", number=UK)  # the old number is free again
    assert [(n.number, n.source) for n in app.get_tenant(acme, actor).numbers] == [(UK, "user"), (OTHER, "answer group")]


def test_update_answer_group_refuses_another_groups_number(app: CallrouteApp, actor: Actor, acme: str) -> None:
    make_group(app, actor, "sales", number=UK)
    make_group(app, actor, "support")
    with rejected(app, AlreadyExistsError, field="settings.number", match=r"\+441234567890 is already assigned to answer group sales"):
        app.update_answer_group(actor=actor, tenant=acme, group="support", settings=GroupSettings(name="Support", number=UK))


def test_update_answer_group_refuses_an_unknown_group(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, NotFoundError, field="group", match="there is no answer group 'sales'"):
        app.update_answer_group(actor=actor, tenant=acme, group="sales", settings=GroupSettings(name="Sales"))


# -- add_group_member / remove_group_member -------------------------------------------------------


def test_add_group_member_appends_the_member_last(app: CallrouteApp, actor: Actor, acme: str) -> None:
    make_group(app, actor, "sales", ANN)
    app.add_group_member(actor=actor, tenant=acme, group="sales", member=GroupMember(ref=BOB, ring_seconds=40))
    assert group(app, "sales").members == (GroupMember(ref=ANN), GroupMember(ref=BOB, ring_seconds=40))


def test_add_group_member_inserts_at_the_given_position(app: CallrouteApp, actor: Actor, linked: str) -> None:
    make_group(app, actor, "sales", ANN, BOB)
    app.add_group_member(actor=actor, tenant=linked, group="sales", member=GroupMember(ref=ELIN), position=1)
    assert members(app, "sales") == [ANN, ELIN, BOB]


def test_add_group_member_adds_a_member_of_a_linked_cloud_pbx(app: CallrouteApp, actor: Actor, linked: str) -> None:
    make_group(app, actor, "sales")
    app.add_group_member(actor=actor, tenant=linked, group="sales", member=GroupMember(ref=ELIN))
    assert members(app, "sales") == [ELIN]


def test_add_group_member_adds_an_internal_number_of_a_linked_sip_pbx(app: CallrouteApp, actor: Actor, linked: str) -> None:
    make_group(app, actor, "sales")
    app.add_group_member(actor=actor, tenant=linked, group="sales", member=GroupMember(ref=OFFICE_101))
    assert members(app, "sales") == [OFFICE_101]


def test_add_group_member_refuses_an_internal_number_the_sip_pbx_lacks(app: CallrouteApp, actor: Actor, linked: str) -> None:
    make_group(app, actor, "sales")
    with rejected(app, NotFoundError, field="member.ref", match="SIP PBX 'kyiv-office' has no internal number '999'"):
        app.add_group_member(actor=actor, tenant=linked, group="sales", member=GroupMember(ref=SipMember(pbx=KYIV, internal_number="999")))
    assert members(app, "sales") == []


def test_add_group_member_refuses_someone_off_the_cloud_pbxs_list(app: CallrouteApp, actor: Actor, linked: str) -> None:
    make_group(app, actor, "sales")
    with rejected(app, NotFoundError, field="member.ref", match="cloud PBX 'malmo' has no member '3009' in its list"):
        app.add_group_member(actor=actor, tenant=linked, group="sales", member=GroupMember(ref=CloudMember(pbx=MALMO, member="3009")))


def test_add_group_member_refuses_a_member_of_an_unlinked_pbx(app: CallrouteApp, actor: Actor, acme: str) -> None:
    make_group(app, actor, "sales")
    with rejected(app, NotFoundError, field="member.ref.pbx", match="tenant 'acme' has no linked PBX 'kyiv-office'"):
        app.add_group_member(actor=actor, tenant=acme, group="sales", member=GroupMember(ref=OFFICE_101))


def test_add_group_member_refuses_a_pbx_the_directory_no_longer_knows(
    app: CallrouteApp, actor: Actor, linked: str, directory: Any
) -> None:
    make_group(app, actor, "sales")
    del directory.sip[KYIV]
    with rejected(app, NotFoundError, field="member.ref", match="the directory does not know SIP PBX 'kyiv-office'"):
        app.add_group_member(actor=actor, tenant=linked, group="sales", member=GroupMember(ref=OFFICE_101))


def test_add_group_member_refuses_an_unknown_extension(app: CallrouteApp, actor: Actor, acme: str) -> None:
    make_group(app, actor, "sales")
    with rejected(app, UnknownExtensionError, field="member.ref.extension", match="tenant 'acme' has no extension '2099'"):
        app.add_group_member(actor=actor, tenant=acme, group="sales", member=GroupMember(ref=LocalMember(extension="2099")))


def test_add_group_member_refuses_a_member_already_in_the_group(app: CallrouteApp, actor: Actor, acme: str) -> None:
    make_group(app, actor, "sales", ANN)
    with rejected(app, AlreadyExistsError, field="member", match="extension 2001 is already a member of sales"):
        app.add_group_member(actor=actor, tenant=acme, group="sales", member=GroupMember(ref=ANN, ring_seconds=10))


def test_add_group_member_refuses_a_position_past_the_end(app: CallrouteApp, actor: Actor, acme: str) -> None:
    make_group(app, actor, "sales", ANN)
    with rejected(app, ValidationFailed, field="position", match="position must be between 0 and 1"):
        app.add_group_member(actor=actor, tenant=acme, group="sales", member=GroupMember(ref=BOB), position=2)


def test_add_group_member_refuses_an_unknown_group(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, NotFoundError, field="group", match="there is no answer group 'sales'"):
        app.add_group_member(actor=actor, tenant=acme, group="sales", member=GroupMember(ref=ANN))


def test_remove_group_member_takes_the_member_out_of_the_group(app: CallrouteApp, actor: Actor, linked: str) -> None:
    make_group(app, actor, "sales", ANN, ELIN, BOB)
    app.remove_group_member(actor=actor, tenant=linked, group="sales", member=ELIN)
    assert members(app, "sales") == [ANN, BOB]


def test_remove_group_member_lets_the_user_be_removed_afterwards(app: CallrouteApp, actor: Actor, acme: str) -> None:
    make_group(app, actor, "sales", ANN, BOB)
    app.remove_group_member(actor=actor, tenant=acme, group="sales", member=BOB)
    app.remove_user(actor=actor, tenant=acme, extension="2002")
    assert "2002" not in app.tenant(acme).state.users


def test_remove_group_member_refuses_someone_who_is_not_a_member(app: CallrouteApp, actor: Actor, linked: str) -> None:
    make_group(app, actor, "sales", ANN)
    with rejected(app, NotFoundError, field="member", match=r"3001 \(cloud PBX malmo\) is not a member of sales"):
        app.remove_group_member(actor=actor, tenant=linked, group="sales", member=ELIN)


# -- reorder_group_members -----------------------------------------------------------------------


def test_reorder_group_members_puts_the_members_in_the_new_order_with_their_settings(
    app: CallrouteApp, actor: Actor, linked: str
) -> None:
    app.create_answer_group(
        actor=actor,
        tenant=linked,
        group="sales",
        settings=GroupSettings(name="Sales"),
        members=(GroupMember(ref=ANN, ring_seconds=10), GroupMember(ref=BOB, excluded=True), GroupMember(ref=OFFICE_101)),
    )
    app.reorder_group_members(actor=actor, tenant=linked, group="sales", order=(OFFICE_101, ANN, BOB))
    assert group(app, "sales").members == (
        GroupMember(ref=OFFICE_101),
        GroupMember(ref=ANN, ring_seconds=10),
        GroupMember(ref=BOB, excluded=True),
    )


@pytest.mark.parametrize(
    "order",
    [(ANN,), (ANN, BOB, BOB), (BOB, ANN, LocalMember(extension="2003")), (ANN, LocalMember(extension="2003"))],
    ids=["one-missing", "one-twice", "one-extra", "one-swapped-for-another"],
)
def test_reorder_group_members_refuses_an_order_that_is_not_a_permutation(
    app: CallrouteApp, actor: Actor, acme: str, order: tuple[Any, ...]
) -> None:
    make_group(app, actor, "sales", ANN, BOB)
    with rejected(app, ValidationFailed, field="order", match="order must list every current member exactly once"):
        app.reorder_group_members(actor=actor, tenant=acme, group="sales", order=order)
    assert members(app, "sales") == [ANN, BOB]


# -- set_group_member_excluded / set_group_member_ring_time --------------------------------------


def test_set_group_member_excluded_excludes_a_member_and_includes_them_back(app: CallrouteApp, actor: Actor, acme: str) -> None:
    make_group(app, actor, "sales", ANN, BOB)
    app.set_group_member_excluded(actor=actor, tenant=acme, group="sales", member=BOB, excluded=True)
    assert [m.excluded for m in group(app, "sales").members] == [False, True]
    app.set_group_member_excluded(actor=actor, tenant=acme, group="sales", member=BOB, excluded=False)
    assert [m.excluded for m in group(app, "sales").members] == [False, False]


def test_set_group_member_excluded_refuses_excluding_an_excluded_member(app: CallrouteApp, actor: Actor, acme: str) -> None:
    make_group(app, actor, "sales", ANN)
    app.set_group_member_excluded(actor=actor, tenant=acme, group="sales", member=ANN, excluded=True)
    with rejected(app, ValidationFailed, field="excluded", match="extension 2001 is already excluded"):
        app.set_group_member_excluded(actor=actor, tenant=acme, group="sales", member=ANN, excluded=True)


def test_set_group_member_excluded_refuses_including_a_member_who_is_not_excluded(app: CallrouteApp, actor: Actor, linked: str) -> None:
    make_group(app, actor, "sales", OFFICE_101)
    with rejected(app, ValidationFailed, field="excluded", match=r"internal number 101 \(SIP PBX kyiv-office\) is not excluded"):
        app.set_group_member_excluded(actor=actor, tenant=linked, group="sales", member=OFFICE_101, excluded=False)


def test_set_group_member_excluded_refuses_someone_who_is_not_a_member(app: CallrouteApp, actor: Actor, acme: str) -> None:
    make_group(app, actor, "sales", ANN)
    with rejected(app, NotFoundError, field="member", match="extension 2002 is not a member of sales"):
        app.set_group_member_excluded(actor=actor, tenant=acme, group="sales", member=BOB, excluded=True)


def test_set_group_member_ring_time_sets_one_members_ring_time(app: CallrouteApp, actor: Actor, acme: str) -> None:
    make_group(app, actor, "sales", ANN, BOB)
    app.set_group_member_ring_time(actor=actor, tenant=acme, group="sales", member=BOB, ring_seconds=45)
    assert [m.ring_seconds for m in group(app, "sales").members] == [20, 45]


def test_set_group_member_ring_time_refuses_someone_who_is_not_a_member(app: CallrouteApp, actor: Actor, acme: str) -> None:
    make_group(app, actor, "sales", ANN)
    with rejected(app, NotFoundError, field="member", match="extension 2002 is not a member of sales"):
        app.set_group_member_ring_time(actor=actor, tenant=acme, group="sales", member=BOB, ring_seconds=45)


@pytest.mark.parametrize(("seconds", "bound"), [(4, ">= 5"), (301, "<= 300")])
def test_set_group_member_ring_time_refuses_a_time_out_of_range_by_schema(
    app: CallrouteApp, actor: Actor, acme: str, seconds: int, bound: str
) -> None:
    make_group(app, actor, "sales", ANN)
    with rejected(app, msgspec.ValidationError, field="ring_seconds", match=bound):
        app.set_group_member_ring_time(actor=actor, tenant=acme, group="sales", member=ANN, ring_seconds=seconds)


# -- set_user_license / set_group_supervisors -----------------------------------------------------


def test_set_user_license_gives_a_user_the_pro_licence(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_user_license(actor=actor, tenant=acme, extension="2001", license="pro")
    assert [u.license for u in app.get_tenant(acme, actor).users] == ["pro", "basic"]


def test_set_user_license_refuses_the_licence_the_user_already_has(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, ValidationFailed, field="license", match="extension 2001 already has the basic licence"):
        app.set_user_license(actor=actor, tenant=acme, extension="2001", license="basic")


def test_set_user_license_refuses_basic_for_a_supervisor(app: CallrouteApp, actor: Actor, acme: str) -> None:
    make_pro(app, actor, "2001")
    app.create_answer_group(actor=actor, tenant=acme, group="sales", settings=GroupSettings(name="Sales"), supervisors=("2001",))
    with rejected(app, InUseError, field="license", match="extension 2001 supervises sales; supervisors must be Pro users"):
        app.set_user_license(actor=actor, tenant=acme, extension="2001", license="basic")


def test_set_user_license_refuses_an_unknown_licence_by_schema(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, msgspec.ValidationError, field="license", match="Invalid enum value 'gold'"):
        app.set_user_license(actor=actor, tenant=acme, extension="2001", license="gold")


def test_set_group_supervisors_replaces_the_supervisors(app: CallrouteApp, actor: Actor, acme: str) -> None:
    make_pro(app, actor, "2001", "2002")
    app.create_answer_group(actor=actor, tenant=acme, group="sales", settings=GroupSettings(name="Sales"), supervisors=("2001",))
    app.set_group_supervisors(actor=actor, tenant=acme, group="sales", supervisors=("2002",))
    assert group(app, "sales").supervisors == ("2002",)
    app.set_user_license(actor=actor, tenant=acme, extension="2001", license="basic")  # no longer supervising


def test_set_group_supervisors_refuses_a_basic_user(app: CallrouteApp, actor: Actor, acme: str) -> None:
    make_group(app, actor, "sales")
    with rejected(app, ValidationFailed, field="supervisors[0]", match="extension 2002 is not a Pro user"):
        app.set_group_supervisors(actor=actor, tenant=acme, group="sales", supervisors=("2002",))
    assert group(app, "sales").supervisors == ()


def test_set_group_supervisors_refuses_an_unknown_group(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, NotFoundError, field="group", match="there is no answer group 'sales'"):
        app.set_group_supervisors(actor=actor, tenant=acme, group="sales", supervisors=())


# -- delete_answer_group ----------------------------------------------------------------------------


def test_delete_answer_group_removes_the_group_and_frees_its_number(app: CallrouteApp, actor: Actor, acme: str) -> None:
    make_group(app, actor, "sales", ANN, number=UK)
    app.delete_answer_group(actor=actor, tenant=acme, group="sales")
    assert app.get_tenant(acme, actor).groups == ()
    app.assign_number(actor=actor, tenant=acme, extension="2001", number=UK)
    app.remove_user(actor=actor, tenant=acme, extension="2002")


def test_delete_answer_group_refuses_an_unknown_group(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, NotFoundError, field="group", match="there is no answer group 'sales'"):
        app.delete_answer_group(actor=actor, tenant=acme, group="sales")


def test_delete_answer_group_is_refused_while_something_routes_to_it_naming_every_referrer(
    app: CallrouteApp, actor: Actor, acme: str
) -> None:
    make_group(app, actor, "sales", ANN)
    make_group(app, actor, "support", fallback=ToGroup(group="sales"))
    app.route_number(actor=actor, tenant=acme, number=OTHER, entry=ToGroup(group="sales"))
    app.save_queue(actor=actor, tenant=acme, queue="overflow", spec=CallQueue(name="Overflow", when_no_agents=ToGroup(group="sales")))
    app.save_ivr_menu(
        actor=actor,
        tenant=acme,
        ivr="main",
        spec=IvrMenu(name="Main", prompt=TextToSpeech(text="Press 1 for sales", language="en"), options={"1": ToGroup(group="sales")}),
    )
    app.save_display_number(actor=actor, tenant=acme, number=DISPLAY, sms=False, groups=("sales",))
    with rejected(app, InUseError, field="group", match="answer group 'sales' is still used by") as excinfo:
        app.delete_answer_group(actor=actor, tenant=acme, group="sales")
    message = str(excinfo.value)
    for referrer in (
        "group support: fallback",
        "queue overflow: when_no_agents",
        "ivr main.options.1",
        f"number {OTHER}: entry",
        f"display number {DISPLAY}: groups[0]",
    ):
        assert referrer in message
    assert "sales" in app.tenant(acme).state.groups


def test_delete_answer_group_is_allowed_once_nothing_routes_to_it(app: CallrouteApp, actor: Actor, acme: str) -> None:
    make_group(app, actor, "sales")
    make_group(app, actor, "support", fallback=ToGroup(group="sales"))
    app.update_answer_group(actor=actor, tenant=acme, group="support", settings=GroupSettings(name="Support"))
    app.delete_answer_group(actor=actor, tenant=acme, group="sales")
    assert list(app.tenant(acme).state.groups) == ["support"]


def test_removing_a_user_is_refused_while_a_group_has_them_as_member_or_supervisor(app: CallrouteApp, actor: Actor, acme: str) -> None:
    make_pro(app, actor, "2002")
    app.create_answer_group(
        actor=actor,
        tenant=acme,
        group="sales",
        settings=GroupSettings(name="Sales"),
        members=(GroupMember(ref=BOB),),
        supervisors=("2002",),
    )
    with rejected(app, InUseError, field="extension", match="extension 2002 is still used by") as excinfo:
        app.remove_user(actor=actor, tenant=acme, extension="2002")
    assert "group sales: members[0]" in str(excinfo.value)
    assert "group sales: supervisors[0]" in str(excinfo.value)
