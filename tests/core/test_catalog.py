"""The tenant's catalog (seed 001): numbers and where they enter, display numbers, audio files,
plans and billing of extras, and linked PBXs (seed 003)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from core.aggregates.catalog import BillingItem, DisplayNumber, PbxLink
from core.aggregates.context import Actor
from core.aggregates.groups import CloudMember, GroupMember, GroupSettings, SipMember
from core.aggregates.services import CallQueue, ForwardingScheme, IvrMenu, SchemeStep
from core.aggregates.targets import (
    AudioFileRef,
    MessageAndHangUp,
    PlayMessage,
    TextToSpeech,
    ToExtension,
    ToExternalSip,
    ToGroup,
    ToIvr,
    ToNumber,
    ToQueue,
    ToRemote,
    ToResponsibleManager,
    ToScheme,
    ToVoicemail,
    ToWebhook,
)
from core.clock import SteppingClock
from core.errors import (
    AlreadyExistsError,
    InUseError,
    MalformedNumberError,
    NotFoundError,
    PlanLimitError,
    UnknownExtensionError,
    ValidationFailed,
)
from core.queries import Allowance, NumberView
from core.service import CallrouteApp
from core.wiring import wire
from tests.core.conftest import KYIV, MALMO, FakeHasher, add_audio, audio_file, events_of, rejected

UK = "+441234567890"
UK_BARE = "441234567890"
LONDON = "+442079460000"
STOCKHOLM = "+46812345678"
PROMPT = TextToSpeech(text="Welcome", language="en")


def menu(name: str = "Menu", **fields: Any) -> IvrMenu:
    return IvrMenu(name=name, prompt=fields.pop("prompt", PROMPT), **fields)


def scheme(**fields: Any) -> ForwardingScheme:
    return ForwardingScheme(name="Day", steps=(SchemeStep(destination=ToExtension(extension="2001")),), **fields)


def make_groups(app: CallrouteApp, actor: Actor, *keys: str) -> None:
    for key in keys:
        app.create_answer_group(actor=actor, tenant="acme", group=key, settings=GroupSettings(name=key.title()))


def make_menus(app: CallrouteApp, actor: Actor, *keys: str) -> None:
    for key in keys:
        app.save_ivr_menu(actor=actor, tenant="acme", ivr=key, spec=menu(key.title()))


# -- route_number / release_number ----------------------------------------------------------------

ENTRIES = {
    "extension": ToExtension(extension="2002"),
    "voicemail": ToVoicemail(extension="2001"),
    "external": ToNumber(number=LONDON, announce=True),
    "group": ToGroup(group="sales"),
    "queue": ToQueue(queue="support"),
    "ivr": ToIvr(ivr="main"),
    "scheme": ToScheme(scheme="day"),
    "external_sip": ToExternalSip(uri="sip:front@partner.example"),
    "webhook": ToWebhook(url="https://crm.example/route"),
    "responsible_manager": ToResponsibleManager(),
    "remote-cloud": ToRemote(pbx=MALMO, member="3002"),
    "remote-sip": ToRemote(pbx=KYIV, member="101"),
    "message": PlayMessage(message=AudioFileRef(audio_file="closed.wav")),
}


@pytest.mark.parametrize("kind", sorted(ENTRIES))
def test_route_number_enters_at_each_kind_of_destination(app: CallrouteApp, actor: Actor, linked: str, kind: str) -> None:
    make_groups(app, actor, "sales")
    app.save_queue(actor=actor, tenant=linked, queue="support", spec=CallQueue(name="Support"))
    make_menus(app, actor, "main")
    app.save_forwarding_scheme(actor=actor, tenant=linked, scheme="day", spec=scheme())
    add_audio(app, actor, linked, "closed.wav")
    app.route_number(actor=actor, tenant=linked, number=UK_BARE, entry=ENTRIES[kind])
    assert app.get_tenant(linked, actor).numbers == (NumberView(number=UK, entry=ENTRIES[kind], source="number list"),)


def test_route_number_without_an_entry_adds_an_unassigned_number(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.route_number(actor=actor, tenant=acme, number="+44 1234 567890")
    assert app.get_tenant(acme, actor).numbers == (NumberView(number=UK, entry=None, source="number list"),)


def test_route_number_re_routes_a_number_of_the_number_list(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.route_number(actor=actor, tenant=acme, number=UK, entry=ToExtension(extension="2001"))
    app.route_number(actor=actor, tenant=acme, number=UK_BARE, entry=ToExtension(extension="2002"))
    assert app.get_tenant(acme, actor).numbers == (NumberView(number=UK, entry=ToExtension(extension="2002"), source="number list"),)
    app.remove_user(actor=actor, tenant=acme, extension="2001")  # no longer an entry


def test_route_number_lists_every_number_of_the_tenant_in_number_order(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.assign_number(actor=actor, tenant=acme, extension="2001", number=STOCKHOLM)
    app.create_answer_group(actor=actor, tenant=acme, group="sales", settings=GroupSettings(name="Sales", number=LONDON))
    app.route_number(actor=actor, tenant=acme, number=UK)
    assert [(n.number, n.source) for n in app.get_tenant(acme, actor).numbers] == [
        (UK, "number list"),
        (LONDON, "answer group"),
        (STOCKHOLM, "user"),
    ]


@pytest.mark.parametrize(
    ("owner", "named"),
    [("user", "extension 2001"), ("group", "answer group sales"), ("ivr", "IVR menu main")],
)
def test_route_number_refuses_a_number_already_used_elsewhere_naming_the_owner(
    app: CallrouteApp, actor: Actor, acme: str, owner: str, named: str
) -> None:
    if owner == "user":
        app.assign_number(actor=actor, tenant=acme, extension="2001", number=UK)
    elif owner == "group":
        app.create_answer_group(actor=actor, tenant=acme, group="sales", settings=GroupSettings(name="Sales", number=UK))
    else:
        app.save_ivr_menu(actor=actor, tenant=acme, ivr="main", spec=menu(number=UK))
    with rejected(app, AlreadyExistsError, field="number", match=re.escape(f"{UK} is already assigned to {named}")):
        app.route_number(actor=actor, tenant=acme, number=UK_BARE, entry=ToExtension(extension="2002"))
    assert app.tenant(acme).state.numbers == {}


def test_assign_number_refuses_a_number_of_the_number_list(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.route_number(actor=actor, tenant=acme, number=UK)
    with rejected(app, AlreadyExistsError, field="number", match=re.escape(f"{UK} is already assigned to the tenant's number list")):
        app.assign_number(actor=actor, tenant=acme, extension="2001", number=UK)


def test_route_number_refuses_a_malformed_number(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, MalformedNumberError, field="number", match="'12345' is not a valid number"):
        app.route_number(actor=actor, tenant=acme, number="12345")


def test_route_number_refuses_an_entry_that_does_not_exist(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, NotFoundError, field="entry.ivr", match="tenant 'acme' has no IVR menu 'main'"):
        app.route_number(actor=actor, tenant=acme, number=UK, entry=ToIvr(ivr="main"))


def test_route_number_refuses_a_message_whose_audio_file_does_not_exist(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, NotFoundError, field="entry.message.audio_file", match="tenant 'acme' has no audio file 'closed.wav'"):
        app.route_number(actor=actor, tenant=acme, number=UK, entry=PlayMessage(message=AudioFileRef(audio_file="closed.wav")))


def test_release_number_gives_the_number_back(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.route_number(actor=actor, tenant=acme, number=UK, entry=ToExtension(extension="2001"))
    app.release_number(actor=actor, tenant=acme, number=UK_BARE)
    assert app.get_tenant(acme, actor).numbers == ()
    app.assign_number(actor=actor, tenant=acme, extension="2002", number=UK)
    app.remove_user(actor=actor, tenant=acme, extension="2001")


def test_release_number_refuses_a_number_not_in_the_number_list(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.assign_number(actor=actor, tenant=acme, extension="2001", number=UK)
    with rejected(app, NotFoundError, field="number", match=re.escape(f"{UK} is not in the tenant's number list")):
        app.release_number(actor=actor, tenant=acme, number=UK)
    assert app.get_user(acme, "2001", actor).numbers == (UK,)


# -- display numbers ---------------------------------------------------------------------------------


def test_save_display_number_records_sms_users_and_groups(app: CallrouteApp, actor: Actor, acme: str) -> None:
    make_groups(app, actor, "sales")
    app.save_display_number(actor=actor, tenant=acme, number="442079460000", sms=True, users=("2001", "2002"), groups=("sales",))
    assert app.get_tenant(acme, actor).display_numbers == (
        DisplayNumber(number=LONDON, sms=True, users=("2001", "2002"), groups=("sales",)),
    )


def test_save_display_number_changes_an_existing_display_number(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.save_display_number(actor=actor, tenant=acme, number=LONDON, sms=True, users=("2001",))
    app.save_display_number(actor=actor, tenant=acme, number=LONDON, sms=False, users=("2002",))
    assert app.get_tenant(acme, actor).display_numbers == (DisplayNumber(number=LONDON, sms=False, users=("2002",)),)


def test_save_display_number_refuses_settings_it_already_has(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.save_display_number(actor=actor, tenant=acme, number=LONDON, sms=True)
    with rejected(app, ValidationFailed, field="number", match="the display number already has these settings"):
        app.save_display_number(actor=actor, tenant=acme, number=LONDON, sms=True)


def test_save_display_number_refuses_an_unknown_user(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, UnknownExtensionError, field="users[1]", match="tenant 'acme' has no extension '2099'"):
        app.save_display_number(actor=actor, tenant=acme, number=LONDON, sms=False, users=("2001", "2099"))


def test_save_display_number_refuses_an_unknown_group(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, NotFoundError, field="groups[0]", match="there is no answer group 'sales'"):
        app.save_display_number(actor=actor, tenant=acme, number=LONDON, sms=False, groups=("sales",))


def test_save_display_number_refuses_a_malformed_number(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, MalformedNumberError, field="number", match="'12345' is not a valid number"):
        app.save_display_number(actor=actor, tenant=acme, number="12345", sms=False)


def test_a_user_may_present_a_display_number_assigned_to_them(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.save_display_number(actor=actor, tenant=acme, number=LONDON, sms=False, users=("2001",))
    app.set_presentation_number(actor=actor, tenant=acme, extension="2001", number=LONDON)
    assert app.get_user(acme, "2001", actor).presentation_number == LONDON
    with rejected(app, NotFoundError, field="number", match="is neither assigned to extension 2002 nor a display number assigned to it"):
        app.set_presentation_number(actor=actor, tenant=acme, extension="2002", number=LONDON)


def test_set_display_number_access_lets_a_linked_groups_agents_and_supervisors_use_it(app: CallrouteApp, actor: Actor, acme: str) -> None:
    make_groups(app, actor, "sales", "support")
    app.save_display_number(actor=actor, tenant=acme, number=LONDON, sms=False, groups=("sales", "support"))
    app.set_display_number_access(actor=actor, tenant=acme, number=LONDON, group="sales", agents=True, supervisors=True)
    app.set_display_number_access(actor=actor, tenant=acme, number=LONDON, group="support", agents=False, supervisors=True)
    (display,) = app.get_tenant(acme, actor).display_numbers
    assert (display.agent_access, display.supervisor_access) == (("sales",), ("sales", "support"))


def test_set_display_number_access_takes_access_away_again(app: CallrouteApp, actor: Actor, acme: str) -> None:
    make_groups(app, actor, "sales")
    app.save_display_number(actor=actor, tenant=acme, number=LONDON, sms=False, groups=("sales",))
    app.set_display_number_access(actor=actor, tenant=acme, number=LONDON, group="sales", agents=True, supervisors=True)
    app.set_display_number_access(actor=actor, tenant=acme, number=LONDON, group="sales", agents=False, supervisors=True)
    (display,) = app.get_tenant(acme, actor).display_numbers
    assert (display.agent_access, display.supervisor_access) == ((), ("sales",))


def test_set_display_number_access_works_for_the_display_number_of_a_groups_settings(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.save_display_number(actor=actor, tenant=acme, number=LONDON, sms=False)
    app.create_answer_group(actor=actor, tenant=acme, group="sales", settings=GroupSettings(name="Sales", display_number=LONDON))
    app.set_display_number_access(actor=actor, tenant=acme, number=LONDON, group="sales", agents=True, supervisors=False)
    app.save_display_number(actor=actor, tenant=acme, number=LONDON, sms=True)  # re-saving keeps the linked group's access
    (display,) = app.get_tenant(acme, actor).display_numbers
    assert (display.sms, display.agent_access, display.supervisor_access) == (True, ("sales",), ())


def test_set_display_number_access_refuses_a_change_that_changes_nothing(app: CallrouteApp, actor: Actor, acme: str) -> None:
    make_groups(app, actor, "sales")
    app.save_display_number(actor=actor, tenant=acme, number=LONDON, sms=False, groups=("sales",))
    with rejected(app, ValidationFailed, field="agents", match=re.escape(f"answer group sales already has this access to {LONDON}")):
        app.set_display_number_access(actor=actor, tenant=acme, number=LONDON, group="sales", agents=False, supervisors=False)
    app.set_display_number_access(actor=actor, tenant=acme, number=LONDON, group="sales", agents=True, supervisors=False)
    with rejected(app, ValidationFailed, field="agents", match=re.escape(f"answer group sales already has this access to {LONDON}")):
        app.set_display_number_access(actor=actor, tenant=acme, number=LONDON, group="sales", agents=True, supervisors=False)
    (display,) = app.get_tenant(acme, actor).display_numbers
    assert (display.agent_access, display.supervisor_access) == (("sales",), ())


def test_set_display_number_access_is_refused_for_a_group_the_number_is_not_linked_to(app: CallrouteApp, actor: Actor, acme: str) -> None:
    make_groups(app, actor, "sales")
    app.save_display_number(actor=actor, tenant=acme, number=LONDON, sms=False, users=("2001",))
    with rejected(app, ValidationFailed, field="group", match=re.escape(f"{LONDON} is not linked to answer group sales")):
        app.set_display_number_access(actor=actor, tenant=acme, number=LONDON, group="sales", agents=True, supervisors=True)


def test_set_display_number_access_refuses_a_number_that_is_not_a_display_number(app: CallrouteApp, actor: Actor, acme: str) -> None:
    make_groups(app, actor, "sales")
    with rejected(app, NotFoundError, field="number", match=re.escape(f"{LONDON} is not a display number of the tenant")):
        app.set_display_number_access(actor=actor, tenant=acme, number=LONDON, group="sales", agents=True, supervisors=True)


def test_set_display_number_access_refuses_an_unknown_group(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.save_display_number(actor=actor, tenant=acme, number=LONDON, sms=False)
    with rejected(app, NotFoundError, field="group", match="there is no answer group 'sales'"):
        app.set_display_number_access(actor=actor, tenant=acme, number=LONDON, group="sales", agents=True, supervisors=True)


def test_unlinking_a_group_from_a_display_number_drops_its_access(app: CallrouteApp, actor: Actor, acme: str) -> None:
    make_groups(app, actor, "sales")
    app.save_display_number(actor=actor, tenant=acme, number=LONDON, sms=False, groups=("sales",))
    app.set_display_number_access(actor=actor, tenant=acme, number=LONDON, group="sales", agents=True, supervisors=True)
    app.save_display_number(actor=actor, tenant=acme, number=LONDON, sms=False)
    assert app.get_tenant(acme, actor).display_numbers == (DisplayNumber(number=LONDON),)


def test_unlinking_a_group_through_its_settings_leaves_it_no_display_number_access(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.save_display_number(actor=actor, tenant=acme, number=LONDON, sms=False)
    app.create_answer_group(actor=actor, tenant=acme, group="sales", settings=GroupSettings(name="Sales", display_number=LONDON))
    app.set_display_number_access(actor=actor, tenant=acme, number=LONDON, group="sales", agents=True, supervisors=True)
    before = len(events_of(app, acme))
    app.update_answer_group(actor=actor, tenant=acme, group="sales", settings=GroupSettings(name="Sales"))
    new_events = events_of(app, acme)[before:]
    assert [type(e).__name__ for e in new_events] == ["AnswerGroupSettingsChanged"]  # the access goes in the same event
    assert app.get_tenant(acme, actor).display_numbers == (DisplayNumber(number=LONDON),)
    with rejected(app, ValidationFailed, field="group", match=re.escape(f"{LONDON} is not linked to answer group sales")):
        app.set_display_number_access(actor=actor, tenant=acme, number=LONDON, group="sales", agents=True, supervisors=False)
    app.delete_answer_group(actor=actor, tenant=acme, group="sales")  # nothing refers to the group any more
    assert app.get_tenant(acme, actor).display_numbers == (DisplayNumber(number=LONDON),)


def test_moving_a_group_to_another_display_number_drops_its_access_to_the_old_one(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.save_display_number(actor=actor, tenant=acme, number=LONDON, sms=False)
    app.save_display_number(actor=actor, tenant=acme, number=STOCKHOLM, sms=False)
    app.create_answer_group(actor=actor, tenant=acme, group="sales", settings=GroupSettings(name="Sales", display_number=LONDON))
    app.set_display_number_access(actor=actor, tenant=acme, number=LONDON, group="sales", agents=True, supervisors=True)
    app.update_answer_group(actor=actor, tenant=acme, group="sales", settings=GroupSettings(name="Sales", display_number=STOCKHOLM))
    assert app.get_tenant(acme, actor).display_numbers == (DisplayNumber(number=LONDON), DisplayNumber(number=STOCKHOLM))


def test_unlinking_a_group_through_its_settings_keeps_its_access_while_the_display_number_lists_it(
    app: CallrouteApp, actor: Actor, acme: str
) -> None:
    app.save_display_number(actor=actor, tenant=acme, number=LONDON, sms=False)
    app.create_answer_group(actor=actor, tenant=acme, group="sales", settings=GroupSettings(name="Sales", display_number=LONDON))
    app.save_display_number(actor=actor, tenant=acme, number=LONDON, sms=False, groups=("sales",))
    app.set_display_number_access(actor=actor, tenant=acme, number=LONDON, group="sales", agents=True, supervisors=False)
    app.update_answer_group(actor=actor, tenant=acme, group="sales", settings=GroupSettings(name="Sales"))
    (display,) = app.get_tenant(acme, actor).display_numbers
    assert (display.groups, display.agent_access, display.supervisor_access) == (("sales",), ("sales",), ())


def test_taking_a_user_off_a_display_number_they_present_leaves_no_stale_presentation_number(
    app: CallrouteApp, actor: Actor, acme: str
) -> None:
    app.save_display_number(actor=actor, tenant=acme, number=LONDON, sms=False, users=("2001",))
    app.set_presentation_number(actor=actor, tenant=acme, extension="2001", number=LONDON)
    app.save_display_number(actor=actor, tenant=acme, number=LONDON, sms=True, users=("2001", "2002"))
    assert app.get_user(acme, "2001", actor).presentation_number == LONDON  # still assigned: still presented
    before = len(events_of(app, acme))
    app.save_display_number(actor=actor, tenant=acme, number=LONDON, sms=True, users=("2002",))
    assert [type(e).__name__ for e in events_of(app, acme)[before:]] == ["DisplayNumberSaved"]
    assert app.get_user(acme, "2001", actor).presentation_number is None  # back to the default number
    app.remove_display_number(actor=actor, tenant=acme, number=LONDON)  # no longer presented by anyone
    assert app.get_tenant(acme, actor).display_numbers == ()


def test_remove_display_number_removes_it(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.save_display_number(actor=actor, tenant=acme, number=LONDON, sms=True, users=("2001",))
    app.remove_display_number(actor=actor, tenant=acme, number="442079460000")
    assert app.get_tenant(acme, actor).display_numbers == ()


def test_remove_display_number_is_refused_while_linked_to_a_group(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.save_display_number(actor=actor, tenant=acme, number=LONDON, sms=False)
    app.create_answer_group(actor=actor, tenant=acme, group="sales", settings=GroupSettings(name="Sales", display_number=LONDON))
    make_groups(app, actor, "support")
    app.save_display_number(actor=actor, tenant=acme, number=LONDON, sms=False, groups=("support",))
    with rejected(app, InUseError, field="number", match=re.escape(f"{LONDON} is linked to answer group support; answer group sales")):
        app.remove_display_number(actor=actor, tenant=acme, number=LONDON)
    assert len(app.get_tenant(acme, actor).display_numbers) == 1


def test_remove_display_number_is_refused_while_a_user_presents_it(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.save_display_number(actor=actor, tenant=acme, number=LONDON, sms=False, users=("2001",))
    app.set_presentation_number(actor=actor, tenant=acme, extension="2001", number=LONDON)
    with rejected(app, InUseError, field="number", match=f"display number \\{LONDON} is still used by: user 2001: presentation_number"):
        app.remove_display_number(actor=actor, tenant=acme, number=LONDON)


def test_remove_display_number_refuses_a_number_that_is_not_a_display_number(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, NotFoundError, field="number", match="is not a display number of the tenant"):
        app.remove_display_number(actor=actor, tenant=acme, number=LONDON)


def test_a_group_linked_to_a_display_number_cannot_be_deleted(app: CallrouteApp, actor: Actor, acme: str) -> None:
    make_groups(app, actor, "sales")
    app.save_display_number(actor=actor, tenant=acme, number=LONDON, sms=False, groups=("sales",))
    with rejected(app, InUseError, field="group", match=re.escape(f"display number {LONDON}: groups[0]")):
        app.delete_answer_group(actor=actor, tenant=acme, group="sales")


# -- audio files ---------------------------------------------------------------------------------------


def test_add_audio_file_registers_name_language_source_hash_and_duration(app: CallrouteApp, actor: Actor, acme: str) -> None:
    audio = audio_file("welcome.wav", language="sv-SE", digest="c", seconds=12.5)
    app.add_audio_file(actor=actor, tenant=acme, audio=audio)
    assert app.get_tenant(acme, actor).audio_files == (audio,)


def test_add_audio_file_refuses_a_name_that_exists(app: CallrouteApp, actor: Actor, acme: str) -> None:
    add_audio(app, actor, acme, "welcome.wav")
    with rejected(app, AlreadyExistsError, field="audio.name", match="audio file 'welcome.wav' already exists"):
        app.add_audio_file(actor=actor, tenant=acme, audio=audio_file("welcome.wav", digest="d"))
    assert app.get_tenant(acme, actor).audio_files == (audio_file("welcome.wav"),)


def test_add_audio_file_names_a_duplicate_by_its_path_in_the_command(app: CallrouteApp, actor: Actor, acme: str) -> None:
    add_audio(app, actor, acme, "welcome.wav")
    with rejected(app, AlreadyExistsError, field="audio.name", match="already exists"):
        app.add_audio_file(actor=actor, tenant=acme, audio=audio_file("welcome.wav", digest="d"))


@pytest.mark.parametrize(
    ("change", "field", "match"),
    [
        ({"content_sha256": "XYZ"}, "audio.content_sha256", "regex"),
        ({"duration_seconds": 0.0}, "audio.duration_seconds", "> 0"),
        ({"source": "generated"}, "audio.source", "Invalid enum value 'generated'"),
        ({"language": "english!"}, "audio.language", "regex"),
    ],
)
def test_add_audio_file_refuses_malformed_metadata_by_schema(
    app: CallrouteApp, actor: Actor, acme: str, change: dict[str, Any], field: str, match: str
) -> None:
    with rejected(app, msgspec.ValidationError, field=field, match=match):
        app.add_audio_file(actor=actor, tenant=acme, audio=msgspec.structs.replace(audio_file("x.wav"), **change))


def test_update_audio_file_changes_language_and_content(app: CallrouteApp, actor: Actor, acme: str) -> None:
    add_audio(app, actor, acme, "welcome.wav")
    new = audio_file("welcome.wav", language="uk-UA", digest="e", seconds=7.0)
    app.update_audio_file(actor=actor, tenant=acme, audio=new)
    assert app.get_tenant(acme, actor).audio_files == (new,)


def test_update_audio_file_refuses_an_unknown_file(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, NotFoundError, field="audio.name", match="there is no audio file 'welcome.wav'"):
        app.update_audio_file(actor=actor, tenant=acme, audio=audio_file("welcome.wav"))


def test_update_audio_file_refuses_a_change_that_changes_nothing(app: CallrouteApp, actor: Actor, acme: str) -> None:
    add_audio(app, actor, acme, "welcome.wav")
    with rejected(app, ValidationFailed, field="audio.name", match="the audio file already has these settings"):
        app.update_audio_file(actor=actor, tenant=acme, audio=audio_file("welcome.wav"))


def test_remove_audio_file_deletes_an_unused_file(app: CallrouteApp, actor: Actor, acme: str) -> None:
    add_audio(app, actor, acme, "a.wav", "b.wav")
    app.remove_audio_file(actor=actor, tenant=acme, name="a.wav")
    assert [a.name for a in app.get_tenant(acme, actor).audio_files] == ["b.wav"]


def test_remove_audio_file_refuses_an_unknown_file(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, NotFoundError, field="name", match="there is no audio file 'a.wav'"):
        app.remove_audio_file(actor=actor, tenant=acme, name="a.wav")


X = AudioFileRef(audio_file="x.wav")


def _use_audio(app: CallrouteApp, actor: Actor, use: str) -> None:
    t = {"actor": actor, "tenant": "acme"}
    match use:
        case "user greeting":
            app.set_voicemail_greeting(**t, extension="2001", greeting=X)
        case "tenant default greeting":
            app.set_default_voicemail_greeting(**t, greeting=X, apply_to="unchanged_users")
        case "rejected-call message":
            app.set_rejected_call_handling(**t, extension="2001", handling=MessageAndHangUp(message=X))
        case "unassigned-number message":
            app.set_unassigned_number_handling(**t, handling=MessageAndHangUp(message=X))
        case "IVR prompt":
            app.save_ivr_menu(**t, ivr="main", spec=menu(prompt=X))
        case "queue hold music":
            app.save_queue(**t, queue="support", spec=CallQueue(name="Support", hold_music="x.wav"))
        case "scheme hold music":
            app.save_forwarding_scheme(**t, scheme="day", spec=scheme(hold_music="x.wav"))
        case "scheme whisper":
            app.save_forwarding_scheme(**t, scheme="day", spec=scheme(whisper=X))
        case "scheme greeting":
            app.save_forwarding_scheme(**t, scheme="day", spec=scheme(greeting=X))
        case "play message":
            app.route_number(**t, number=UK, entry=PlayMessage(message=X))


AUDIO_USES = {
    "user greeting": "user 2001: own.voicemail_greeting",
    "tenant default greeting": "tenant default: voicemail_greeting",
    "rejected-call message": "user 2001: own.rejected.message",
    "unassigned-number message": "tenant: unassigned-number handling.message",
    "IVR prompt": "ivr main.prompt",
    "queue hold music": "queue support: hold_music",
    "scheme hold music": "scheme day: hold_music",
    "scheme whisper": "scheme day.whisper",
    "scheme greeting": "scheme day.greeting",
    "play message": f"number {UK}: entry.message",
}


@pytest.mark.parametrize("use", list(AUDIO_USES))
def test_remove_audio_file_is_refused_while_it_is_used_naming_the_user(app: CallrouteApp, actor: Actor, acme: str, use: str) -> None:
    add_audio(app, actor, acme, "x.wav")
    _use_audio(app, actor, use)
    with rejected(app, InUseError, field="name", match=re.escape(f"audio file 'x.wav' is still used by: {AUDIO_USES[use]}")):
        app.remove_audio_file(actor=actor, tenant=acme, name="x.wav")
    assert [a.name for a in app.get_tenant(acme, actor).audio_files] == ["x.wav"]


def test_remove_audio_file_is_refused_listing_every_user_of_it(app: CallrouteApp, actor: Actor, acme: str) -> None:
    add_audio(app, actor, acme, "x.wav")
    for use in AUDIO_USES:
        if use != "scheme hold music":  # the three scheme uses share one scheme
            _use_audio(app, actor, use)
    app.save_forwarding_scheme(actor=actor, tenant=acme, scheme="day", spec=scheme(hold_music="x.wav", whisper=X, greeting=X))
    with rejected(app, InUseError, field="name", match="audio file 'x.wav' is still used by: ") as excinfo:
        app.remove_audio_file(actor=actor, tenant=acme, name="x.wav")
    listed = str(excinfo.value).split("is still used by: ", 1)[1].split("; ")
    assert sorted(listed) == sorted(AUDIO_USES.values())


def test_a_greeting_must_name_an_existing_audio_file(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, NotFoundError, field="greeting.audio_file", match="tenant 'acme' has no audio file 'ann.wav'"):
        app.set_voicemail_greeting(actor=actor, tenant=acme, extension="2001", greeting=AudioFileRef(audio_file="ann.wav"))


# -- plans, extras and billing (seed 001: Light = 2 of each, more can be bought; Unlimited) ---------


def test_a_light_tenant_has_two_answer_groups_and_two_ivr_menus(app: CallrouteApp, actor: Actor, acme: str) -> None:
    make_groups(app, actor, "sales", "support")
    make_menus(app, actor, "main", "english")
    assert app.get_tenant(acme, actor).allowances == {
        "answer_groups": Allowance(included=2, bought=0, used=2),
        "ivr_menus": Allowance(included=2, bought=0, used=2),
    }


def test_a_light_tenant_is_refused_a_third_answer_group_saying_what_is_included_and_bought(
    app: CallrouteApp, actor: Actor, acme: str
) -> None:
    make_groups(app, actor, "sales", "support")
    with rejected(
        app,
        PlanLimitError,
        field="group",
        match="plan light includes 2 answer groups and 0 more were bought; the tenant has 2: buy more",
    ):
        make_groups(app, actor, "billing")
    assert sorted(app.tenant(acme).state.groups) == ["sales", "support"]


def test_a_light_tenant_is_refused_a_third_ivr_menu_saying_what_is_included_and_bought(app: CallrouteApp, actor: Actor, acme: str) -> None:
    make_menus(app, actor, "main", "english")
    app.buy_extras(actor=actor, tenant=acme, kind="ivr_menus", quantity=1)
    make_menus(app, actor, "swedish")
    with rejected(app, PlanLimitError, field="ivr", match="plan light includes 2 ivr menus and 1 more were bought; the tenant has 3"):
        make_menus(app, actor, "ukrainian")


def test_a_light_tenant_at_its_limit_may_still_replace_an_ivr_menu(app: CallrouteApp, actor: Actor, acme: str) -> None:
    make_menus(app, actor, "main", "english")
    app.save_ivr_menu(actor=actor, tenant=acme, ivr="main", spec=menu("Main (summer)"))
    assert app.tenant(acme).state.ivrs["main"].name == "Main (summer)"


def test_buy_extras_records_a_billing_item_and_allows_one_more(app: CallrouteApp, actor: Actor, acme: str, clock: SteppingClock) -> None:
    make_groups(app, actor, "sales", "support")
    instant = datetime(2026, 12, 3, 10, 15, tzinfo=UTC)
    clock.set(instant)
    app.buy_extras(actor=actor, tenant=acme, kind="answer_groups", quantity=3)
    view = app.get_tenant(acme, actor)
    assert view.billing == (BillingItem(kind="answer_groups", quantity=3, bought_at=instant, bought_by="admin@acme"),)
    assert view.allowances["answer_groups"] == Allowance(included=2, bought=3, used=2)
    make_groups(app, actor, "billing")
    assert app.get_tenant(acme, actor).allowances["answer_groups"] == Allowance(included=2, bought=3, used=3)


def test_buy_extras_adds_up_and_bills_each_purchase(app: CallrouteApp, actor: Actor, acme: str, clock: SteppingClock) -> None:
    app.buy_extras(actor=actor, tenant=acme, kind="ivr_menus", quantity=1)
    clock.set(datetime(2027, 1, 2, tzinfo=UTC))
    app.buy_extras(actor=actor, tenant=acme, kind="ivr_menus", quantity=2, reason="new branches")
    view = app.get_tenant(acme, actor)
    assert [(b.kind, b.quantity, b.bought_at) for b in view.billing] == [
        ("ivr_menus", 1, view.billing[0].bought_at),
        ("ivr_menus", 2, datetime(2027, 1, 2, tzinfo=UTC)),
    ]
    assert view.allowances["ivr_menus"] == Allowance(included=2, bought=3, used=0)


def test_buy_extras_billing_survives_a_rebuild_from_the_events(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.buy_extras(actor=actor, tenant=acme, kind="answer_groups", quantity=2)
    live = app.tenant(acme)
    rebuilt = app.tenant(acme, version=live.version)
    assert rebuilt is not live
    assert (rebuilt.state.billing, rebuilt.state.extras) == (live.state.billing, {"answer_groups": 2})


def test_buy_extras_is_refused_on_the_unlimited_plan(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.change_plan(actor=actor, tenant=acme, plan="unlimited")
    with rejected(app, ValidationFailed, field="kind", match="plan unlimited already has no limit on answer groups"):
        app.buy_extras(actor=actor, tenant=acme, kind="answer_groups", quantity=1)
    assert app.get_tenant(acme, actor).billing == ()


def test_buy_extras_refuses_a_quantity_under_one_by_schema(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, msgspec.ValidationError, field="quantity", match=">= 1"):
        app.buy_extras(actor=actor, tenant=acme, kind="answer_groups", quantity=0)


def test_an_unlimited_tenant_has_no_limit_on_groups_or_menus(app: CallrouteApp, actor: Actor) -> None:
    app.create_tenant(actor=actor, tenant="acme", name="Acme", time_zone="Europe/London", plan="unlimited")
    make_groups(app, actor, *(f"g{i}" for i in range(5)))
    make_menus(app, actor, *(f"m{i}" for i in range(4)))
    assert app.get_tenant("acme", actor).allowances == {
        "answer_groups": Allowance(included=None, bought=0, used=5),
        "ivr_menus": Allowance(included=None, bought=0, used=4),
    }


def test_change_plan_moves_the_tenant_to_unlimited(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.change_plan(actor=actor, tenant=acme, plan="unlimited")
    make_groups(app, actor, "a", "b", "c")
    assert app.get_tenant(acme, actor).plan == "unlimited"


def test_change_plan_down_to_light_is_refused_when_over_the_allowance(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.change_plan(actor=actor, tenant=acme, plan="unlimited")
    make_groups(app, actor, "a", "b", "c")
    with rejected(app, PlanLimitError, field="plan", match="plan light includes 2 answer groups and 0 more were bought; the tenant has 3"):
        app.change_plan(actor=actor, tenant=acme, plan="light")
    assert app.get_tenant(acme, actor).plan == "unlimited"


def test_change_plan_down_to_light_counts_extras_bought_before(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.buy_extras(actor=actor, tenant=acme, kind="ivr_menus", quantity=1)
    app.change_plan(actor=actor, tenant=acme, plan="unlimited")
    make_menus(app, actor, "a", "b", "c")
    app.change_plan(actor=actor, tenant=acme, plan="light")
    assert app.get_tenant(acme, actor).allowances["ivr_menus"] == Allowance(included=2, bought=1, used=3)


def test_change_plan_refuses_the_plan_the_tenant_is_on(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, ValidationFailed, field="plan", match="the tenant is already on plan light"):
        app.change_plan(actor=actor, tenant=acme, plan="light")


# -- linked PBXs (seed 003) --------------------------------------------------------------------------


def test_link_pbx_links_a_cloud_pbx_and_a_sip_pbx_the_directory_knows(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.link_pbx(actor=actor, tenant=acme, pbx=MALMO, kind="cloud", name="Malmö clinic")
    app.link_pbx(actor=actor, tenant=acme, pbx=KYIV, kind="sip", name="Kyiv office")
    assert app.get_tenant(acme, actor).pbx_links == (
        PbxLink(id=KYIV, kind="sip", name="Kyiv office"),
        PbxLink(id=MALMO, kind="cloud", name="Malmö clinic"),
    )


def test_link_pbx_refuses_a_pbx_already_linked(app: CallrouteApp, actor: Actor, linked: str) -> None:
    with rejected(app, AlreadyExistsError, field="pbx", match="PBX 'malmo' is already linked"):
        app.link_pbx(actor=actor, tenant=linked, pbx=MALMO, kind="cloud", name="Malmö again")


@pytest.mark.parametrize(("pbx", "kind"), [("lund", "cloud"), ("lviv-office", "sip"), (MALMO, "sip"), (KYIV, "cloud")])
def test_link_pbx_refuses_a_pbx_the_directory_does_not_know_as_that_kind(
    app: CallrouteApp, actor: Actor, acme: str, pbx: str, kind: str
) -> None:
    # An operator is told plainly; anyone else gets the refusal of a cloud PBX they may not change (tests/core/test_pbx_members.py).
    with rejected(app, NotFoundError, field="pbx", match=f"the directory knows no {kind} PBX '{pbx}'"):
        app.link_pbx(actor=Actor("ops@platform", operator=True), tenant=acme, pbx=pbx, kind=kind, name="Somewhere")


def test_link_pbx_is_refused_without_a_pbx_directory(clock: SteppingClock, actor: Actor) -> None:
    app = wire(None, clock=clock, pin_hasher=FakeHasher())
    app.create_tenant(actor=actor, tenant="acme", name="Acme", time_zone="Europe/London")
    with rejected(app, ValidationFailed, field="pbx", match="no PBX directory is configured"):
        app.link_pbx(actor=actor, tenant="acme", pbx=MALMO, kind="cloud", name="Malmö clinic")


def test_unlink_pbx_unlinks_an_unused_pbx(app: CallrouteApp, actor: Actor, linked: str) -> None:
    app.unlink_pbx(actor=actor, tenant=linked, pbx=MALMO)
    assert [p.id for p in app.get_tenant(linked, actor).pbx_links] == [KYIV]


def test_unlink_pbx_refuses_a_pbx_that_is_not_linked(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, NotFoundError, field="pbx", match="there is no linked PBX 'malmo'"):
        app.unlink_pbx(actor=actor, tenant=acme, pbx=MALMO)


def test_unlink_pbx_is_refused_while_members_or_destinations_refer_to_it_naming_each(app: CallrouteApp, actor: Actor, linked: str) -> None:
    app.create_answer_group(
        actor=actor,
        tenant=linked,
        group="sales",
        settings=GroupSettings(name="Sales", fallback=ToRemote(pbx=MALMO, member="3002")),
        members=(GroupMember(ref=CloudMember(pbx=MALMO, member="3001")), GroupMember(ref=SipMember(pbx=KYIV, internal_number="101"))),
    )
    app.route_number(actor=actor, tenant=linked, number=UK, entry=ToRemote(pbx=MALMO, member="3001"))
    with rejected(app, InUseError, field="pbx", match="PBX 'malmo' is still used by") as excinfo:
        app.unlink_pbx(actor=actor, tenant=linked, pbx=MALMO)
    for referrer in ("group sales: fallback", "group sales: members[0].ref", f"number {UK}: entry"):
        assert referrer in str(excinfo.value)
    assert "members[1]" not in str(excinfo.value)
    assert len(app.get_tenant(linked, actor).pbx_links) == 2
