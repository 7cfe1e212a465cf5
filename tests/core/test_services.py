"""Call queues, IVR menus and forwarding schemes (seeds 001 and 004), and voicemail destinations outside user settings.

save_queue, save_ivr_menu and save_forwarding_scheme carry the entity in ``spec``, and their
errors name the field by its path inside the command (``spec.agents[0]``, ``spec.when_closed``),
as the schema errors do; a reference to something missing is named by its key field
(``spec.options.1.group``, ``spec.prompt.audio_file``).
"""

from __future__ import annotations

import json
import re
from typing import Any

import msgspec
import pytest

from core import commands as c
from core.aggregates.context import Actor
from core.aggregates.groups import GroupMember, GroupSettings, LocalMember
from core.aggregates.hours import OpeningHours, Window
from core.aggregates.services import BackupStep, CallQueue, ForwardingScheme, IvrMenu, SchemeStep
from core.aggregates.targets import (
    AudioFileRef,
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
from core.commands import decode_command_file
from core.errors import AlreadyExistsError, InUseError, MalformedNumberError, NotFoundError, UnknownExtensionError, ValidationFailed
from core.queries import NumberView, SchemeView
from core.service import CallrouteApp
from tests.core.conftest import KYIV, MALMO, add_audio, rejected

UK = "+441234567890"
UK_BARE = "441234567890"
LONDON = "+442079460000"
WELCOME = TextToSpeech(text="Welcome to Acme. Press 1 for sales, 2 for support.", language="en-GB")
OFFICE_HOURS = OpeningHours(days={"mon": (Window(start="08:00", end="17:00"),), "fri": (Window(start="08:00", end="12:00"),)})


def menu(**fields: Any) -> IvrMenu:
    return IvrMenu(name=fields.pop("name", "Main menu"), prompt=fields.pop("prompt", WELCOME), **fields)


def scheme(*steps: SchemeStep, **fields: Any) -> ForwardingScheme:
    steps = steps or (SchemeStep(destination=ToExtension(extension="2001")),)
    return ForwardingScheme(name=fields.pop("name", "Daytime"), steps=steps, **fields)


def step(destination: Any, seconds: int = 30) -> SchemeStep:
    return SchemeStep(destination=destination, timeout_seconds=seconds)


@pytest.fixture
def world(app: CallrouteApp, actor: Actor, linked: str) -> str:
    """Acme, linked to the two PBXs, with group "sales", queue "support", scheme "day" and audio "hold.wav"."""
    app.create_answer_group(
        actor=actor,
        tenant=linked,
        group="sales",
        settings=GroupSettings(name="Sales"),
        members=(GroupMember(ref=LocalMember(extension="2001")),),
    )
    app.save_queue(actor=actor, tenant=linked, queue="support", spec=CallQueue(name="Support", agents=("2002",)))
    app.save_forwarding_scheme(actor=actor, tenant=linked, scheme="day", spec=scheme())
    add_audio(app, actor, linked, "hold.wav")
    return linked


# Every kind of destination (the tenant of ``world``); voicemail names a mailbox.
DESTINATIONS = {
    "extension": ToExtension(extension="2002"),
    "voicemail": ToVoicemail(extension="2001"),
    "external": ToNumber(number=UK),
    "group": ToGroup(group="sales"),
    "queue": ToQueue(queue="support"),
    "ivr": ToIvr(ivr="main"),
    "scheme": ToScheme(scheme="day"),
    "external_sip": ToExternalSip(uri="sip:reception@partner.example"),
    "webhook": ToWebhook(url="https://crm.example/route"),
    "responsible_manager": ToResponsibleManager(),
    "remote-cloud": ToRemote(pbx=MALMO, member="3001"),
    "remote-sip": ToRemote(pbx=KYIV, member="205"),
    "message": PlayMessage(message=TextToSpeech(text="We are closed.", language="en")),
}


# -- save_queue / delete_queue --------------------------------------------------------------------


def test_save_queue_records_agents_hold_music_and_where_callers_go(app: CallrouteApp, actor: Actor, acme: str) -> None:
    add_audio(app, actor, acme, "hold.wav")
    spec = CallQueue(
        name="Support",
        agents=("2002", "2001"),
        strategy="round_robin",
        max_wait_seconds=300,
        after_max_wait=ToVoicemail(extension="2002"),
        when_no_agents=ToNumber(number=UK_BARE),
        announce_position=True,
        hold_music="hold.wav",
    )
    app.save_queue(actor=actor, tenant=acme, queue="support", spec=spec)
    assert app.get_tenant(acme, actor).queues == {"support": msgspec.structs.replace(spec, when_no_agents=ToNumber(number=UK))}


def test_save_queue_replaces_an_existing_queue(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.save_queue(actor=actor, tenant=acme, queue="support", spec=CallQueue(name="Support", agents=("2001",)))
    app.save_queue(actor=actor, tenant=acme, queue="support", spec=CallQueue(name="Support desk", agents=("2002",)))
    assert app.get_tenant(acme, actor).queues == {"support": CallQueue(name="Support desk", agents=("2002",))}
    app.remove_user(actor=actor, tenant=acme, extension="2001")  # no longer an agent


@pytest.mark.parametrize("kind", sorted(DESTINATIONS))
def test_save_queue_sends_callers_after_the_maximum_wait_to_any_destination(app: CallrouteApp, actor: Actor, world: str, kind: str) -> None:
    app.save_ivr_menu(actor=actor, tenant=world, ivr="main", spec=menu())
    app.save_queue(actor=actor, tenant=world, queue="overflow", spec=CallQueue(name="Overflow", after_max_wait=DESTINATIONS[kind]))
    assert app.tenant(world).state.queues["overflow"].after_max_wait == DESTINATIONS[kind]


def test_save_queue_refuses_an_agent_who_does_not_exist(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, UnknownExtensionError, field="spec.agents[1]", match="tenant 'acme' has no extension '2099'"):
        app.save_queue(actor=actor, tenant=acme, queue="support", spec=CallQueue(name="Support", agents=("2001", "2099")))
    assert app.tenant(acme).state.queues == {}


def test_save_queue_refuses_an_agent_listed_twice(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, ValidationFailed, field="spec.agents", match="an agent is listed twice"):
        app.save_queue(actor=actor, tenant=acme, queue="support", spec=CallQueue(name="Support", agents=("2001", "2001")))


def test_save_queue_refuses_hold_music_that_is_not_an_audio_file_of_the_tenant(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, NotFoundError, field="spec.hold_music", match="there is no audio file 'hold.wav'"):
        app.save_queue(actor=actor, tenant=acme, queue="support", spec=CallQueue(name="Support", hold_music="hold.wav"))


def test_save_queue_refuses_a_destination_when_no_agents_that_does_not_exist(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, NotFoundError, field="spec.when_no_agents.queue", match="tenant 'acme' has no call queue 'elsewhere'"):
        app.save_queue(actor=actor, tenant=acme, queue="support", spec=CallQueue(name="Support", when_no_agents=ToQueue(queue="elsewhere")))


def test_save_queue_refuses_a_malformed_number_after_the_maximum_wait(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, MalformedNumberError, field="spec.after_max_wait.number", match="'12345' is not a valid number"):
        app.save_queue(actor=actor, tenant=acme, queue="support", spec=CallQueue(name="Support", after_max_wait=ToNumber(number="12345")))


def test_save_queue_refuses_a_maximum_wait_under_10_seconds_by_schema(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, msgspec.ValidationError, field="spec.max_wait_seconds", match=">= 10"):
        app.save_queue(actor=actor, tenant=acme, queue="support", spec=CallQueue(name="Support", max_wait_seconds=5))


def test_removing_a_queue_agent_is_refused_naming_the_queue(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.save_queue(actor=actor, tenant=acme, queue="support", spec=CallQueue(name="Support", agents=("2001", "2002")))
    with rejected(app, InUseError, field="extension", match=r"extension 2002 is still used by: queue support: agents\[1\]"):
        app.remove_user(actor=actor, tenant=acme, extension="2002")


def test_delete_queue_removes_the_queue(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.save_queue(actor=actor, tenant=acme, queue="support", spec=CallQueue(name="Support"))
    app.delete_queue(actor=actor, tenant=acme, queue="support")
    assert app.get_tenant(acme, actor).queues == {}


def test_delete_queue_refuses_an_unknown_queue(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, NotFoundError, field="queue", match="there is no call queue 'support'"):
        app.delete_queue(actor=actor, tenant=acme, queue="support")


def test_delete_queue_is_refused_while_something_routes_to_it_naming_every_referrer(app: CallrouteApp, actor: Actor, world: str) -> None:
    app.route_number(actor=actor, tenant=world, number=UK, entry=ToQueue(queue="support"))
    app.save_ivr_menu(actor=actor, tenant=world, ivr="main", spec=menu(options={"2": ToQueue(queue="support")}))
    with rejected(app, InUseError, field="queue", match="call queue 'support' is still used by") as excinfo:
        app.delete_queue(actor=actor, tenant=world, queue="support")
    assert f"number {UK}: entry" in str(excinfo.value)
    assert "ivr main.options.2" in str(excinfo.value)


# -- save_ivr_menu / delete_ivr_menu --------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(DESTINATIONS))
def test_save_ivr_menu_sends_a_digit_to_any_destination(app: CallrouteApp, actor: Actor, world: str, kind: str) -> None:
    app.save_ivr_menu(actor=actor, tenant=world, ivr="main", spec=menu())  # so that "ivr" can name a menu
    options = {"1": DESTINATIONS[kind], "#": ToExtension(extension="2001")}
    app.save_ivr_menu(actor=actor, tenant=world, ivr="main", spec=menu(options=options))
    assert app.get_tenant(world, actor).ivr_menus["main"].options == {"1": DESTINATIONS[kind], "#": ToExtension(extension="2001")}


def test_save_ivr_menu_records_the_whole_menu(app: CallrouteApp, actor: Actor, world: str) -> None:
    add_audio(app, actor, world, "welcome.wav")
    spec = IvrMenu(
        name="Main menu",
        prompt=AudioFileRef(audio_file="welcome.wav"),
        options={"1": ToGroup(group="sales"), "2": ToQueue(queue="support"), "0": ToNumber(number=UK_BARE)},
        number=UK_BARE,
        billing_id="IVR-1",
        timeout_seconds=8,
        retries=3,
        on_invalid=PlayMessage(message=TextToSpeech(text="Sorry.", language="en")),
        on_no_input=ToExtension(extension="2002"),
        opening_hours=OFFICE_HOURS,
        when_closed=ToVoicemail(extension="2001"),
    )
    app.save_ivr_menu(actor=actor, tenant=world, ivr="main", spec=spec)
    view = app.get_tenant(world, actor)
    assert view.ivr_menus == {"main": msgspec.structs.replace(spec, number=UK, options={**spec.options, "0": ToNumber(number=UK)})}
    assert NumberView(number=UK, entry=ToIvr(ivr="main"), source="IVR menu") in view.numbers


def test_save_ivr_menu_keeps_its_own_number_when_replaced(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.save_ivr_menu(actor=actor, tenant=acme, ivr="main", spec=menu(number=UK))
    app.save_ivr_menu(actor=actor, tenant=acme, ivr="main", spec=menu(name="Main (new)", number=UK_BARE))
    assert (app.tenant(acme).state.ivrs["main"].name, app.tenant(acme).state.ivrs["main"].number) == ("Main (new)", UK)


@pytest.mark.parametrize("owner", ["user", "group", "ivr", "number list"])
def test_save_ivr_menu_refuses_a_number_used_elsewhere_naming_the_owner(app: CallrouteApp, actor: Actor, acme: str, owner: str) -> None:
    expected = {
        "user": "extension 2001",
        "group": "answer group sales",
        "ivr": "IVR menu other",
        "number list": "the tenant's number list",
    }[owner]
    if owner == "user":
        app.assign_number(actor=actor, tenant=acme, extension="2001", number=UK)
    elif owner == "group":
        app.create_answer_group(actor=actor, tenant=acme, group="sales", settings=GroupSettings(name="Sales", number=UK))
    elif owner == "ivr":
        app.save_ivr_menu(actor=actor, tenant=acme, ivr="other", spec=menu(number=UK))
    else:
        app.route_number(actor=actor, tenant=acme, number=UK)
    with rejected(app, AlreadyExistsError, field="spec.number", match=re.escape(f"{UK} is already assigned to {expected}")):
        app.save_ivr_menu(actor=actor, tenant=acme, ivr="main", spec=menu(number=UK_BARE))
    assert "main" not in app.tenant(acme).state.ivrs


def test_assign_number_refuses_the_number_of_an_ivr_menu(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.save_ivr_menu(actor=actor, tenant=acme, ivr="main", spec=menu(number=UK))
    with rejected(app, AlreadyExistsError, field="number", match=r"\+441234567890 is already assigned to IVR menu main"):
        app.assign_number(actor=actor, tenant=acme, extension="2001", number=UK)


def test_save_ivr_menu_refuses_an_opening_window_whose_start_equals_its_end(app: CallrouteApp, actor: Actor, acme: str) -> None:
    hours = OpeningHours(days={"mon": (Window(start="08:00", end="17:00"), Window(start="18:00", end="18:00"))})
    with rejected(app, ValidationFailed, field="spec.opening_hours.days.mon[1]", match="a window needs different start and end"):
        app.save_ivr_menu(actor=actor, tenant=acme, ivr="main", spec=menu(opening_hours=hours, when_closed=ToExtension(extension="2001")))
    assert app.tenant(acme).state.ivrs == {}


def test_save_ivr_menu_accepts_a_window_crossing_midnight(app: CallrouteApp, actor: Actor, acme: str) -> None:
    hours = OpeningHours(days={"fri": (Window(start="22:00", end="02:00"),)})
    app.save_ivr_menu(actor=actor, tenant=acme, ivr="main", spec=menu(opening_hours=hours, when_closed=ToExtension(extension="2001")))
    assert app.tenant(acme).state.ivrs["main"].opening_hours == hours


def test_save_ivr_menu_refuses_opening_hours_without_a_destination_when_closed(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, ValidationFailed, field="spec.when_closed", match="a menu with opening hours needs a destination when closed"):
        app.save_ivr_menu(actor=actor, tenant=acme, ivr="main", spec=menu(opening_hours=OFFICE_HOURS))


def test_save_ivr_menu_refuses_a_prompt_that_is_not_an_audio_file_of_the_tenant(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, NotFoundError, field="spec.prompt.audio_file", match="tenant 'acme' has no audio file 'welcome.wav'"):
        app.save_ivr_menu(actor=actor, tenant=acme, ivr="main", spec=menu(prompt=AudioFileRef(audio_file="welcome.wav")))


def test_save_ivr_menu_refuses_an_option_to_a_group_that_does_not_exist(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, NotFoundError, field="spec.options.1.group", match="tenant 'acme' has no answer group 'sales'"):
        app.save_ivr_menu(actor=actor, tenant=acme, ivr="main", spec=menu(options={"1": ToGroup(group="sales")}))


def test_save_ivr_menu_refuses_a_key_that_is_not_a_phone_key_by_schema(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, msgspec.ValidationError, field=None, match="Invalid enum value 'A'"):
        app.save_ivr_menu(actor=actor, tenant=acme, ivr="main", spec=menu(options={"A": ToExtension(extension="2001")}))


def test_delete_ivr_menu_removes_the_menu_and_frees_its_number(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.save_ivr_menu(actor=actor, tenant=acme, ivr="main", spec=menu(number=UK))
    app.delete_ivr_menu(actor=actor, tenant=acme, ivr="main")
    assert (app.get_tenant(acme, actor).ivr_menus, app.get_tenant(acme, actor).numbers) == ({}, ())
    app.assign_number(actor=actor, tenant=acme, extension="2001", number=UK)


def test_delete_ivr_menu_refuses_an_unknown_menu(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, NotFoundError, field="ivr", match="there is no IVR menu 'main'"):
        app.delete_ivr_menu(actor=actor, tenant=acme, ivr="main")


def test_delete_ivr_menu_is_refused_while_something_routes_to_it_naming_every_referrer(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.save_ivr_menu(actor=actor, tenant=acme, ivr="main", spec=menu())
    app.save_ivr_menu(actor=actor, tenant=acme, ivr="english", spec=menu(name="English", options={"0": ToIvr(ivr="main")}))
    app.route_number(actor=actor, tenant=acme, number=UK, entry=ToIvr(ivr="main"))
    with rejected(app, InUseError, field="ivr", match="IVR menu 'main' is still used by") as excinfo:
        app.delete_ivr_menu(actor=actor, tenant=acme, ivr="main")
    assert "ivr english.options.0" in str(excinfo.value)
    assert f"number {UK}: entry" in str(excinfo.value)


# -- save_forwarding_scheme / delete_forwarding_scheme --------------------------------------------


def test_save_forwarding_scheme_records_steps_hours_backup_and_messages(app: CallrouteApp, actor: Actor, world: str) -> None:
    add_audio(app, actor, world, "greeting.wav")
    spec = ForwardingScheme(
        name="Daytime",
        steps=(step(ToExtension(extension="2001"), 30), step(ToGroup(group="sales"), 45), step(ToQueue(queue="support"), 60)),
        mode="sequential",
        working_hours=OFFICE_HOURS,
        outside_hours=ToVoicemail(extension="2001"),
        backup=(BackupStep(destination=ToNumber(number=UK_BARE)), BackupStep(destination=ToExternalSip(uri="sip:desk@partner.example"))),
        greeting=AudioFileRef(audio_file="greeting.wav"),
        hold_music="hold.wav",
        whisper=TextToSpeech(text="Call from the website", language="en"),
        post_call_menu=True,
    )
    app.save_forwarding_scheme(actor=actor, tenant=world, scheme="office", spec=spec)
    stored = msgspec.structs.replace(spec, backup=(BackupStep(destination=ToNumber(number=UK)), spec.backup[1]))
    assert SchemeView(id="office", scheme=stored, warnings=()) in app.get_tenant(world, actor).schemes


def test_save_forwarding_scheme_rings_steps_in_parallel(app: CallrouteApp, actor: Actor, acme: str) -> None:
    spec = scheme(step(ToExtension(extension="2001")), step(ToExtension(extension="2002")), mode="parallel")
    app.save_forwarding_scheme(actor=actor, tenant=acme, scheme="all", spec=spec)
    assert app.tenant(acme).state.schemes["all"].mode == "parallel"


def test_save_forwarding_scheme_refuses_a_step_under_15_seconds_in_a_command_file() -> None:
    document = {
        "commands": [
            {
                "command": "save_forwarding_scheme",
                "tenant": "acme",
                "scheme": "day",
                "spec": {"name": "Day", "steps": [{"destination": {"kind": "extension", "extension": "2001"}, "timeout_seconds": 14}]},
            }
        ]
    }
    with pytest.raises(msgspec.ValidationError, match=re.escape("Expected `int` >= 15 - at `$.commands[0].spec.steps[0].timeout_seconds`")):
        decode_command_file(json.dumps(document).encode(), format="json")


def test_save_forwarding_scheme_refuses_a_step_under_15_seconds_by_schema(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, msgspec.ValidationError, field="spec.steps[0].timeout_seconds", match=">= 15"):
        app.save_forwarding_scheme(actor=actor, tenant=acme, scheme="day", spec=scheme(step(ToExtension(extension="2001"), 14)))
    assert app.tenant(acme).state.schemes == {}


def test_save_forwarding_scheme_records_a_step_under_30_seconds_with_a_warning(app: CallrouteApp, actor: Actor, acme: str) -> None:
    spec = scheme(step(ToExtension(extension="2001"), 30), step(ToExtension(extension="2002"), 20))
    app.save_forwarding_scheme(actor=actor, tenant=acme, scheme="day", spec=spec)
    (view,) = app.get_tenant(acme, actor).schemes
    assert view == SchemeView(id="day", scheme=spec, warnings=("steps[1]: 20 s is under the recommended 30 s",))


def test_save_forwarding_scheme_returns_its_warning_on_the_receipt(app: CallrouteApp, actor: Actor, acme: str) -> None:
    spec = scheme(step(ToExtension(extension="2001"), 29))
    receipt = app.save_forwarding_scheme(actor=actor, tenant=acme, scheme="day", spec=spec)
    assert receipt.warnings == ("scheme day: steps[0]: 29 s is under the recommended 30 s",)


def test_save_forwarding_scheme_of_30_second_steps_returns_a_receipt_without_warnings(
    app: CallrouteApp, actor: Actor, acme: str
) -> None:
    receipt = app.save_forwarding_scheme(actor=actor, tenant=acme, scheme="day", spec=scheme(step(ToExtension(extension="2001"), 30)))
    assert receipt.warnings == ()


def test_a_batch_receipt_carries_the_warnings_of_every_event_stored_in_order(app: CallrouteApp, actor: Actor, acme: str) -> None:
    batch = [c.SaveForwardingScheme(tenant=acme, scheme=key, spec=scheme(step(ToExtension(extension="2001"), 15)))
             for key in ("day", "night")]
    assert app.execute(batch, actor).warnings == ("scheme day: steps[0]: 15 s is under the recommended 30 s",
                                                  "scheme night: steps[0]: 15 s is under the recommended 30 s")


def test_save_forwarding_scheme_gives_no_warning_for_a_voicemail_step_of_20_seconds(app: CallrouteApp, actor: Actor, acme: str) -> None:
    spec = scheme(step(ToExtension(extension="2001"), 30), step(ToVoicemail(extension="2001"), 20))
    app.save_forwarding_scheme(actor=actor, tenant=acme, scheme="day", spec=spec)
    assert app.get_tenant(acme, actor).schemes[0].warnings == ()


def test_save_forwarding_scheme_again_without_short_steps_clears_the_warning(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.save_forwarding_scheme(actor=actor, tenant=acme, scheme="day", spec=scheme(step(ToExtension(extension="2001"), 15)))
    assert app.get_tenant(acme, actor).schemes[0].warnings == ("steps[0]: 15 s is under the recommended 30 s",)
    app.save_forwarding_scheme(actor=actor, tenant=acme, scheme="day", spec=scheme(step(ToExtension(extension="2001"), 40)))
    assert app.get_tenant(acme, actor).schemes[0].warnings == ()


@pytest.mark.parametrize(
    "backup",
    [ToNumber(number=UK), ToExtension(extension="2002"), ToExternalSip(uri="sips:night@partner.example")],
    ids=["number", "extension", "external-sip"],
)
def test_save_forwarding_scheme_accepts_a_backup_step_to_a_number_extension_or_external_sip(
    app: CallrouteApp, actor: Actor, acme: str, backup: Any
) -> None:
    app.save_forwarding_scheme(actor=actor, tenant=acme, scheme="day", spec=scheme(backup=(BackupStep(destination=backup),)))
    assert app.tenant(acme).state.schemes["day"].backup == (BackupStep(destination=backup),)


@pytest.mark.parametrize(
    ("backup", "kind"),
    [(ToGroup(group="sales"), "group"), (ToVoicemail(extension="2001"), "voicemail"), (ToQueue(queue="support"), "queue")],
)
def test_save_forwarding_scheme_refuses_any_other_backup_step_by_schema(
    app: CallrouteApp, actor: Actor, acme: str, backup: Any, kind: str
) -> None:
    with rejected(app, msgspec.ValidationError, field="spec.backup[0].destination.kind", match=f"Invalid value '{kind}'"):
        app.save_forwarding_scheme(actor=actor, tenant=acme, scheme="day", spec=scheme(backup=(BackupStep(destination=backup),)))


def test_save_forwarding_scheme_refuses_a_group_backup_step_in_a_command_file() -> None:
    spec = {
        "name": "Day",
        "steps": [{"destination": {"kind": "extension", "extension": "2001"}}],
        "backup": [{"destination": {"kind": "group", "group": "sales"}}],
    }
    document = {"commands": [{"command": "save_forwarding_scheme", "tenant": "acme", "scheme": "day", "spec": spec}]}
    with pytest.raises(msgspec.ValidationError, match=re.escape("at `$.commands[0].spec.backup[0].destination.kind`")):
        decode_command_file(json.dumps(document).encode(), format="json")


def test_a_scheme_cannot_route_to_itself(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.save_forwarding_scheme(actor=actor, tenant=acme, scheme="day", spec=scheme())
    with rejected(app, ValidationFailed, field="spec.outside_hours.scheme", match="a scheme cannot send calls to itself"):
        app.save_forwarding_scheme(
            actor=actor, tenant=acme, scheme="day", spec=scheme(working_hours=OFFICE_HOURS, outside_hours=ToScheme(scheme="day"))
        )
    assert app.tenant(acme).state.schemes["day"].outside_hours is None


def test_a_new_scheme_cannot_route_to_itself(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, ValidationFailed, field="spec.outside_hours.scheme", match="a scheme cannot send calls to itself"):
        app.save_forwarding_scheme(
            actor=actor, tenant=acme, scheme="day", spec=scheme(working_hours=OFFICE_HOURS, outside_hours=ToScheme(scheme="day"))
        )


def test_a_scheme_may_route_outside_hours_to_another_scheme(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.save_forwarding_scheme(actor=actor, tenant=acme, scheme="night", spec=scheme(step(ToVoicemail(extension="2001"), 60), name="Night"))
    day = scheme(working_hours=OFFICE_HOURS, outside_hours=ToScheme(scheme="night"))
    app.save_forwarding_scheme(actor=actor, tenant=acme, scheme="day", spec=day)
    assert app.tenant(acme).state.schemes["day"].outside_hours == ToScheme(scheme="night")


def test_save_forwarding_scheme_refuses_a_step_to_a_scheme_by_schema(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, msgspec.ValidationError, field="spec.steps[0].destination.kind", match="Invalid value 'scheme'"):
        app.save_forwarding_scheme(actor=actor, tenant=acme, scheme="day", spec=scheme(step(ToScheme(scheme="night"))))


def test_save_forwarding_scheme_refuses_hold_music_that_is_not_an_audio_file(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, NotFoundError, field="spec.hold_music", match="there is no audio file 'hold.wav'"):
        app.save_forwarding_scheme(actor=actor, tenant=acme, scheme="day", spec=scheme(hold_music="hold.wav"))


def test_save_forwarding_scheme_refuses_a_whisper_that_is_not_an_audio_file(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, NotFoundError, field="spec.whisper.audio_file", match="tenant 'acme' has no audio file 'whisper.wav'"):
        app.save_forwarding_scheme(actor=actor, tenant=acme, scheme="day", spec=scheme(whisper=AudioFileRef(audio_file="whisper.wav")))


def test_save_forwarding_scheme_refuses_a_step_to_a_queue_that_does_not_exist(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, NotFoundError, field="spec.steps[0].destination.queue", match="tenant 'acme' has no call queue 'support'"):
        app.save_forwarding_scheme(actor=actor, tenant=acme, scheme="day", spec=scheme(step(ToQueue(queue="support"))))


def test_save_forwarding_scheme_refuses_working_hours_with_an_empty_window(app: CallrouteApp, actor: Actor, acme: str) -> None:
    hours = OpeningHours(days={"tue": (Window(start="09:00", end="09:00"),)})
    with rejected(app, ValidationFailed, field="spec.working_hours.days.tue[0]", match="a window needs different start and end"):
        app.save_forwarding_scheme(actor=actor, tenant=acme, scheme="day", spec=scheme(working_hours=hours))
    assert app.tenant(acme).state.schemes == {}


def test_delete_forwarding_scheme_removes_the_scheme_and_its_warnings(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.save_forwarding_scheme(actor=actor, tenant=acme, scheme="day", spec=scheme(step(ToExtension(extension="2001"), 20)))
    app.delete_forwarding_scheme(actor=actor, tenant=acme, scheme="day")
    state = app.tenant(acme).state
    assert (state.schemes, state.scheme_warnings, app.get_tenant(acme, actor).schemes) == ({}, {}, ())


def test_delete_forwarding_scheme_refuses_an_unknown_scheme(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, NotFoundError, field="scheme", match="there is no forwarding scheme 'day'"):
        app.delete_forwarding_scheme(actor=actor, tenant=acme, scheme="day")


def test_delete_forwarding_scheme_is_refused_while_something_routes_to_it_naming_every_referrer(
    app: CallrouteApp, actor: Actor, acme: str
) -> None:
    app.save_forwarding_scheme(actor=actor, tenant=acme, scheme="night", spec=scheme(name="Night"))
    day = scheme(working_hours=OFFICE_HOURS, outside_hours=ToScheme(scheme="night"))
    app.save_forwarding_scheme(actor=actor, tenant=acme, scheme="day", spec=day)
    app.route_number(actor=actor, tenant=acme, number=UK, entry=ToScheme(scheme="night"))
    app.save_ivr_menu(actor=actor, tenant=acme, ivr="main", spec=menu(options={"9": ToScheme(scheme="night")}))
    with rejected(app, InUseError, field="scheme", match="forwarding scheme 'night' is still used by") as excinfo:
        app.delete_forwarding_scheme(actor=actor, tenant=acme, scheme="night")
    for referrer in ("scheme day.outside_hours", f"number {UK}: entry", "ivr main.options.9"):
        assert referrer in str(excinfo.value)


# -- voicemail destinations outside user settings must name a mailbox ------------------------------


def _route(app: CallrouteApp, actor: Actor, tenant: str, where: str, destination: Any) -> None:
    if where == "number entry":
        app.route_number(actor=actor, tenant=tenant, number=UK, entry=destination)
    elif where == "queue":
        app.save_queue(actor=actor, tenant=tenant, queue="support", spec=CallQueue(name="Support", after_max_wait=destination))
    elif where == "ivr option":
        app.save_ivr_menu(actor=actor, tenant=tenant, ivr="main", spec=menu(options={"0": destination}))
    elif where == "scheme step":
        app.save_forwarding_scheme(actor=actor, tenant=tenant, scheme="day", spec=scheme(step(destination)))
    else:
        app.create_answer_group(actor=actor, tenant=tenant, group="sales", settings=GroupSettings(name="Sales", fallback=destination))


WHERE_VOICEMAIL = {
    "number entry": "entry",
    "queue": "spec.after_max_wait",
    "ivr option": "spec.options.0",
    "scheme step": "spec.steps[0].destination",
    "group fallback": "settings.fallback",
}


@pytest.mark.parametrize("where", sorted(WHERE_VOICEMAIL))
def test_a_voicemail_destination_outside_user_settings_must_name_a_mailbox(app: CallrouteApp, actor: Actor, acme: str, where: str) -> None:
    match = "a voicemail destination here must name the mailbox's extension"
    with rejected(app, ValidationFailed, field=WHERE_VOICEMAIL[where], match=match):
        _route(app, actor, acme, where, ToVoicemail())


@pytest.mark.parametrize("where", sorted(WHERE_VOICEMAIL))
def test_a_voicemail_destination_naming_a_mailbox_is_accepted_outside_user_settings(
    app: CallrouteApp, actor: Actor, acme: str, where: str
) -> None:
    before = app.recorder.max_notification_id()
    _route(app, actor, acme, where, ToVoicemail(extension="2002"))
    assert app.recorder.max_notification_id() == before + 1
    with rejected(app, InUseError, field="extension", match="extension 2002 is still used by"):
        app.remove_user(actor=actor, tenant=acme, extension="2002")


def test_a_users_own_divert_to_voicemail_needs_no_mailbox(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_divert(actor=actor, tenant=acme, extension="2001", condition="busy", target=ToVoicemail())
    assert app.get_user(acme, "2001", actor).handling.busy == ToVoicemail()


# -- field paths of the spec commands: the path inside the command as sent ('spec.…') -------------


def test_save_queue_names_a_refused_agent_by_its_path_in_the_command(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, UnknownExtensionError, field="spec.agents[0]", match="has no extension '2099'"):
        app.save_queue(actor=actor, tenant=acme, queue="support", spec=CallQueue(name="Support", agents=("2099",)))


def test_save_ivr_menu_names_a_missing_when_closed_by_its_path_in_the_command(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, ValidationFailed, field="spec.when_closed", match="needs a destination when closed"):
        app.save_ivr_menu(actor=actor, tenant=acme, ivr="main", spec=menu(opening_hours=OFFICE_HOURS))


def test_save_forwarding_scheme_names_missing_hold_music_by_its_path_in_the_command(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, NotFoundError, field="spec.hold_music", match="there is no audio file 'hold.wav'"):
        app.save_forwarding_scheme(actor=actor, tenant=acme, scheme="day", spec=scheme(hold_music="hold.wav"))


def test_save_ivr_menu_names_the_field_of_an_empty_opening_window(app: CallrouteApp, actor: Actor, acme: str) -> None:
    hours = OpeningHours(days={"mon": (Window(start="18:00", end="18:00"),)})
    with rejected(app, ValidationFailed, field="spec.opening_hours.days.mon[0]", match="a window needs different start and end"):
        app.save_ivr_menu(actor=actor, tenant=acme, ivr="main", spec=menu(opening_hours=hours, when_closed=ToExtension(extension="2001")))


def test_save_forwarding_scheme_names_the_field_of_an_empty_working_window(app: CallrouteApp, actor: Actor, acme: str) -> None:
    hours = OpeningHours(days={"tue": (Window(start="09:00", end="09:00"),)})
    with rejected(app, ValidationFailed, field="spec.working_hours.days.tue[0]", match="a window needs different start and end"):
        app.save_forwarding_scheme(actor=actor, tenant=acme, scheme="day", spec=scheme(working_hours=hours))
