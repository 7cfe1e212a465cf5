"""Every command of core/commands.py through CallrouteApp: the state it leaves and every error it raises.

A refused command raises ``CommandRejected`` (message ``commands[i].field (tag): ...``)
whose ``cause`` is the domain error (or the msgspec schema error), and stores nothing.
"""

from __future__ import annotations

import ast
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest

from core import commands as c
from core.aggregates.context import Actor, CommandContext
from core.aggregates.groups import GroupMember, GroupSettings, LocalMember
from core.aggregates.hours import OpeningHours, Window
from core.aggregates.identifiers import tenant_id
from core.aggregates.provisioning import Confirmation, ProviderPolicy
from core.aggregates.schedule import AvailableAllDay, OutOfHours, UnavailableAllDay, UnavailableBetween
from core.aggregates.services import CallQueue, ForwardingScheme, IvrMenu, SchemeStep
from core.aggregates.state import Device
from core.aggregates.targets import (
    AudioFileRef,
    BusyTone,
    ForwardTo,
    HandleWithVoicemail,
    MessageAndHangUp,
    NoAnswerRule,
    Off,
    TextToSpeech,
    ToExtension,
    ToNumber,
    ToVoicemail,
)
from core.errors import (
    AlreadyExistsError,
    ConflictError,
    ForwardLoopError,
    InUseError,
    MalformedMacError,
    MalformedNumberError,
    NotAllowedError,
    NotFoundError,
    PinRuleError,
    TenantClosedError,
    UnknownExtensionError,
    UnknownTenantError,
    UnknownTimeZoneError,
    ValidationFailed,
)
from core.service import CallrouteApp, CommandRejected, Receipt
from tests.core.conftest import ADMIN, add_audio, audio_file, events_of, rejected

UK = "+441234567890"  # a valid UK geographic number (E.164)
UK_BARE = "441234567890"  # seed 000 writes numbers without the plus
LONDON = "+442079460000"
STOCKHOLM = "+46812345678"
MAC = "00:1a:2b:3c:4d:5e"
PIN = "918273"  # not a palindrome, so the fake hash never contains it


# -- helpers -----------------------------------------------------------------------------


def user(app: CallrouteApp, extension: str, slug: str = "acme") -> Any:
    return app.get_user(slug, extension, ADMIN)


# -- create_tenant -------------------------------------------------------------------------


def test_create_tenant_records_name_zone_plan_and_instant(app: CallrouteApp, actor: Actor, clock: Any) -> None:
    instant = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    clock.set(instant)
    receipt = app.create_tenant(actor=actor, tenant="globex", name="  Globex  ", time_zone="Europe/Stockholm", plan="unlimited")
    assert receipt == Receipt(versions={"globex": 1}, events=1, position=receipt.position) and receipt.position > 0
    view = app.get_tenant("globex", ADMIN)
    assert (view.slug, view.name, view.time_zone, view.plan) == ("globex", "Globex", "Europe/Stockholm", "unlimited")
    assert (view.version, view.closed, view.users, view.modified_on) == (1, False, (), instant)
    assert app.list_tenants() == ["globex"]


def test_create_tenant_defaults_to_the_light_plan(app: CallrouteApp, actor: Actor) -> None:
    app.create_tenant(actor=actor, tenant="globex", name="Globex", time_zone="Europe/Stockholm")
    assert app.get_tenant("globex", ADMIN).plan == "light"


def test_create_tenant_refuses_an_unknown_time_zone(app: CallrouteApp, actor: Actor) -> None:
    with rejected(app, UnknownTimeZoneError, field="time_zone", match="'Mars/Olympus' is not an IANA time zone"):
        app.create_tenant(actor=actor, tenant="globex", name="Globex", time_zone="Mars/Olympus")
    assert app.list_tenants() == []


def test_create_tenant_refuses_a_duplicate_slug(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, AlreadyExistsError, field="tenant", match="tenant 'acme' already exists"):
        app.create_tenant(actor=actor, tenant="acme", name="Other Acme", time_zone="Europe/London")
    assert app.get_tenant("acme", ADMIN).name == "Acme Ltd"


def test_create_tenant_refuses_the_same_slug_twice_in_one_batch(app: CallrouteApp, actor: Actor) -> None:
    batch = [
        c.CreateTenant(tenant="globex", name="Globex", time_zone="Europe/Stockholm"),
        c.CreateTenant(tenant="globex", name="Globex 2", time_zone="Europe/Stockholm"),
    ]
    with rejected(app, AlreadyExistsError, field="tenant", match=r"^commands\[1\]\.tenant .*already exists", index=1):
        app.execute(batch, actor)
    assert app.list_tenants() == []


def test_create_tenant_refuses_a_blank_name(app: CallrouteApp, actor: Actor) -> None:
    with rejected(app, ValidationFailed, field="name", match="tenant name must not be blank"):
        app.create_tenant(actor=actor, tenant="globex", name="   ", time_zone="Europe/Stockholm")


def test_create_tenant_refuses_an_empty_name_by_schema(app: CallrouteApp, actor: Actor) -> None:
    with rejected(app, msgspec.ValidationError, field="name", match="length >= 1"):
        app.create_tenant(actor=actor, tenant="globex", name="", time_zone="Europe/Stockholm")


def test_create_tenant_refuses_a_malformed_slug_by_schema(app: CallrouteApp, actor: Actor) -> None:
    with rejected(app, msgspec.ValidationError, field="tenant", match="regex"):
        app.create_tenant(actor=actor, tenant="Acme Ltd", name="Acme", time_zone="Europe/London")


# -- commands on a tenant that does not exist / is closed / a user that does not exist --------

# Valid arguments (for the schema) of every command except create_tenant; user commands act on 2001.
VALID_ARGS: dict[str, dict[str, Any]] = {
    "rename_tenant": {"name": "Acme Group"},
    "close_tenant": {},
    "reopen_tenant": {},
    "add_user": {"extension": "2003", "name": "Cid"},
    "update_user_profile": {"extension": "2001", "name": "Ann B"},
    "remove_user": {"extension": "2001"},
    "assign_number": {"extension": "2001", "number": UK},
    "unassign_number": {"extension": "2001", "number": UK},
    "set_default_number": {"extension": "2001", "number": UK},
    "set_presentation_number": {"extension": "2001", "number": None},
    "add_device": {"extension": "2001", "mac": MAC},
    "remove_device": {"extension": "2001", "mac": MAC},
    "set_permanent_redirect": {"extension": "2001", "number": None},
    "set_notifications": {"extension": "2001", "missed_call": False},
    "set_divert": {"extension": "2001", "condition": "busy", "target": ToVoicemail()},
    "set_out_of_hours": {"extension": "2001", "out_of_hours": None},
    "set_reject_anonymous": {"extension": "2001", "enabled": True},
    "set_call_waiting": {"extension": "2001", "enabled": False},
    "set_voicemail_greeting": {"extension": "2001", "greeting": AudioFileRef(audio_file="ann.wav")},
    "set_transcription": {"extension": "2001", "enabled": True},
    "set_rejected_call_handling": {"extension": "2001", "handling": HandleWithVoicemail()},
    "set_display_number_preference": {"extension": "2001", "kind": "mobile"},
    "reset_call_handling": {"extension": "2001", "settings": ("busy",)},
    "set_voice_portal_pin": {"extension": "2001", "pin": PIN},
    "set_default_voicemail_greeting": {"greeting": AudioFileRef(audio_file="acme.wav"), "apply_to": "all_users"},
    "set_default_transcription": {"enabled": True, "apply_to": "all_users"},
    "set_default_no_answer": {"target": ToVoicemail(), "apply_to": "all_users"},
    "set_default_busy": {"call_waiting": False, "apply_to": "all_users"},
    "set_default_rejected_call_handling": {"handling": HandleWithVoicemail(), "apply_to": "all_users"},
    "set_default_display_number": {"kind": "mobile", "apply_to": "all_users"},
    "set_unassigned_number_handling": {"handling": BusyTone()},
    "set_user_license": {"extension": "2001", "license": "pro"},
    "change_plan": {"plan": "unlimited"},
    "buy_extras": {"kind": "answer_groups", "quantity": 1},
    "grant_permission": {"principal": "bob@acme"},
    "revoke_permission": {"principal": "bob@acme"},
    "set_partner": {"partner": "bt"},
    "link_pbx": {"pbx": "malmo", "kind": "cloud", "name": "Malmö clinic"},
    "unlink_pbx": {"pbx": "malmo"},
    "create_answer_group": {"group": "sales", "settings": GroupSettings(name="Sales")},
    "update_answer_group": {"group": "sales", "settings": GroupSettings(name="Sales team")},
    "add_group_member": {"group": "sales", "member": GroupMember(ref=LocalMember(extension="2002"))},
    "remove_group_member": {"group": "sales", "member": LocalMember(extension="2002")},
    "reorder_group_members": {"group": "sales", "order": ()},
    "set_group_member_excluded": {"group": "sales", "member": LocalMember(extension="2002"), "excluded": True},
    "set_group_member_ring_time": {"group": "sales", "member": LocalMember(extension="2002"), "ring_seconds": 30},
    "clear_group_member_ring_time": {"group": "sales", "member": LocalMember(extension="2002")},
    "check_pbx_members": {},
    "set_group_supervisors": {"group": "sales", "supervisors": ()},
    "delete_answer_group": {"group": "sales"},
    "set_group_reject_anonymous": {"group": "sales", "enabled": True},
    "save_queue": {"queue": "support", "spec": CallQueue(name="Support")},
    "delete_queue": {"queue": "support"},
    "save_ivr_menu": {"ivr": "main", "spec": IvrMenu(name="Main", prompt=TextToSpeech(text="Welcome", language="en"))},
    "delete_ivr_menu": {"ivr": "main"},
    "save_forwarding_scheme": {
        "scheme": "day",
        "spec": ForwardingScheme(name="Day", steps=(SchemeStep(destination=ToExtension(extension="2002")),)),
    },
    "delete_forwarding_scheme": {"scheme": "day"},
    "route_number": {"number": UK, "entry": None},
    "release_number": {"number": UK},
    "set_number_reject_anonymous": {"number": UK, "enabled": True},
    "save_display_number": {"number": UK, "sms": True},
    "set_display_number_access": {"number": UK, "group": "sales", "agents": True, "supervisors": False},
    "remove_display_number": {"number": UK},
    "add_audio_file": {"audio": audio_file("ann.wav")},
    "update_audio_file": {"audio": audio_file("ann.wav", digest="b")},
    "remove_audio_file": {"name": "ann.wav"},
    "set_provider_policy": {"policy": ProviderPolicy(max_delay_seconds=3600)},
    "confirm_provisioning": {"version": 1},
    "add_closure": {"name": "Christmas Eve", "first_day": date(2026, 12, 24)},
    "remove_closure": {"name": "Christmas Eve"},
    "import_public_holidays": {"country": "SE", "first_year": 2026, "last_year": 2026},
}
USER_COMMANDS = sorted(tag for tag, args in VALID_ARGS.items() if args.get("extension") == "2001")


def test_the_argument_table_covers_every_command_of_the_schema() -> None:
    tags = {t.__struct_config__.tag for t in c.COMMAND_TYPES}
    assert tags - {"create_tenant"} == set(VALID_ARGS)


def command_test_names() -> list[str]:
    """Names of the test functions of this module and of its siblings that test the newer commands."""
    here = Path(__file__).parent
    modules = ["test_tenant_commands", "test_groups", "test_services", "test_catalog", "test_permissions", "test_closures",
               "test_pbx_members", "test_group_ring_times", "test_anonymous_rejection"]
    return [
        node.name
        for module in modules
        for node in ast.parse((here / f"{module}.py").read_text(encoding="utf-8")).body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    ]


def test_every_command_of_the_schema_has_a_success_test() -> None:
    names = command_test_names()
    missing = [
        t.__struct_config__.tag
        for t in c.COMMAND_TYPES
        if not any(name.startswith(f"test_{t.__struct_config__.tag}_") for name in names)
    ]
    assert missing == []


@pytest.mark.parametrize("tag", sorted(VALID_ARGS))
def test_every_command_on_an_unknown_tenant_is_refused(app: CallrouteApp, actor: Actor, acme: str, tag: str) -> None:
    # Told plainly to an operator; anyone else cannot tell it from a forbidden tenant (tests/core/test_permissions.py).
    with rejected(app, UnknownTenantError, field="tenant", match="no tenant 'nowhere'"):
        getattr(app, tag)(actor=Actor("ops@platform", operator=True), tenant="nowhere", **VALID_ARGS[tag])


@pytest.mark.parametrize("tag", USER_COMMANDS)
def test_every_user_command_on_an_unknown_extension_is_refused(app: CallrouteApp, actor: Actor, acme: str, tag: str) -> None:
    args = {**VALID_ARGS[tag], "extension": "2099"}
    with rejected(app, UnknownExtensionError, field="extension", match="tenant 'acme' has no extension '2099'"):
        getattr(app, tag)(actor=actor, tenant=acme, **args)


@pytest.mark.parametrize("tag", sorted(set(VALID_ARGS) - {"reopen_tenant"}))
def test_every_command_on_a_closed_tenant_is_refused(app: CallrouteApp, actor: Actor, acme: str, tag: str) -> None:
    app.close_tenant(actor=actor, tenant=acme)
    with rejected(app, TenantClosedError, field="tenant", match="tenant 'acme' is closed and accepts no changes"):
        getattr(app, tag)(actor=actor, tenant=acme, **VALID_ARGS[tag])


@pytest.mark.parametrize("extension", ["1", "1234567", "20a1"])
def test_a_malformed_extension_is_refused_by_the_schema(app: CallrouteApp, actor: Actor, acme: str, extension: str) -> None:
    with rejected(app, msgspec.ValidationError, field="extension", match="regex"):
        app.add_user(actor=actor, tenant=acme, extension=extension, name="Cid")


# -- rename_tenant / close_tenant --------------------------------------------------------------


def test_rename_tenant_sets_the_trimmed_name(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.rename_tenant(actor=actor, tenant=acme, name="  Acme Group ")
    assert app.get_tenant(acme, ADMIN).name == "Acme Group"


def test_rename_tenant_refuses_a_blank_name(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, ValidationFailed, field="name", match="tenant name must not be blank"):
        app.rename_tenant(actor=actor, tenant=acme, name="  ")
    assert app.get_tenant(acme, ADMIN).name == "Acme Ltd"


def test_close_tenant_marks_it_closed_and_keeps_its_history_readable(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.close_tenant(actor=actor, tenant=acme)
    view = app.get_tenant(acme, ADMIN)
    assert view.closed is True
    assert [u.extension for u in view.users] == ["2001", "2002"]
    assert type(events_of(app, acme)[-1]).__name__ == "TenantClosed"


def test_close_tenant_twice_is_refused(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.close_tenant(actor=actor, tenant=acme)
    with rejected(app, TenantClosedError, field="tenant", match="is closed"):
        app.close_tenant(actor=actor, tenant=acme)


def test_reopen_tenant_accepts_changes_again(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.close_tenant(actor=actor, tenant=acme)
    app.reopen_tenant(actor=actor, tenant=acme)
    app.rename_tenant(actor=actor, tenant=acme, name="Acme Again")
    view = app.get_tenant(acme, ADMIN)
    assert (view.closed, view.name) == (False, "Acme Again")
    assert [type(e).__name__ for e in events_of(app, acme)[-3:]] == ["TenantClosed", "TenantReopened", "TenantRenamed"]


def test_reopen_tenant_lets_its_provisioning_record_change_again(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.close_tenant(actor=actor, tenant=acme)
    version = app.reopen_tenant(actor=actor, tenant=acme).versions[acme]
    app.confirm_provisioning(actor=actor, tenant=acme, version=version)
    assert app.provisioning(acme).confirmed.version == version  # type: ignore[union-attr]


def test_reopen_tenant_refuses_a_tenant_that_is_open(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, ConflictError, field="tenant", match="tenant 'acme' is not closed"):
        app.reopen_tenant(actor=actor, tenant=acme)


# -- add_user / update_user_profile / remove_user ----------------------------------------------


def test_add_user_creates_the_user_with_trimmed_name_and_email(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.add_user(actor=actor, tenant=acme, extension="2003", name=" Cid Carlsson ", email="cid@acme.example")
    cid = user(app, "2003")
    assert (cid.extension, cid.name, cid.email) == ("2003", "Cid Carlsson", "cid@acme.example")
    assert (cid.numbers, cid.devices, cid.default_number, cid.has_voice_portal_pin) == ((), (), None, False)
    assert [u.extension for u in app.get_tenant(acme, ADMIN).users] == ["2001", "2002", "2003"]


def test_add_user_refuses_a_duplicate_extension(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, AlreadyExistsError, field="extension", match="extension 2001 already exists"):
        app.add_user(actor=actor, tenant=acme, extension="2001", name="Another Ann")
    assert user(app, "2001").name == "Ann Andersson"


def test_add_user_refuses_a_blank_name(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, ValidationFailed, field="name", match="user name must not be blank"):
        app.add_user(actor=actor, tenant=acme, extension="2003", name="   ")


def test_add_user_refuses_a_malformed_email_by_schema(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, msgspec.ValidationError, field="email", match="regex"):
        app.add_user(actor=actor, tenant=acme, extension="2003", name="Cid", email="not-an-email")


def test_update_user_profile_changes_only_the_name_when_only_a_name_is_given(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.update_user_profile(actor=actor, tenant=acme, extension="2001", name=" Ann Berg ")
    ann = user(app, "2001")
    assert (ann.name, ann.email) == ("Ann Berg", "ann@acme.example")


def test_update_user_profile_changes_only_the_email_when_only_an_email_is_given(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.update_user_profile(actor=actor, tenant=acme, extension="2001", email="ann.b@acme.example")
    ann = user(app, "2001")
    assert (ann.name, ann.email) == ("Ann Andersson", "ann.b@acme.example")


def test_update_user_profile_with_email_none_clears_the_email(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.update_user_profile(actor=actor, tenant=acme, extension="2001", email=None)
    assert user(app, "2001").email is None


def test_update_user_profile_refuses_a_change_that_changes_nothing(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, ValidationFailed, field="name", match="changes nothing"):
        app.update_user_profile(actor=actor, tenant=acme, extension="2001", name="Ann Andersson")


def test_update_user_profile_refuses_a_blank_name(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, ValidationFailed, field="name", match="user name must not be blank"):
        app.update_user_profile(actor=actor, tenant=acme, extension="2001", name=" ")


def test_remove_user_deletes_the_user(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.remove_user(actor=actor, tenant=acme, extension="2002")
    assert [u.extension for u in app.get_tenant(acme, ADMIN).users] == ["2001"]
    with pytest.raises(UnknownExtensionError, match="no extension '2002'"):
        app.get_user(acme, "2002", ADMIN)


def test_remove_user_frees_the_extension_for_a_new_user(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.remove_user(actor=actor, tenant=acme, extension="2002")
    app.add_user(actor=actor, tenant=acme, extension="2002", name="Bea")
    assert user(app, "2002").name == "Bea"


def test_remove_user_is_refused_while_another_user_diverts_to_it(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_divert(actor=actor, tenant=acme, extension="2001", condition="always", target=ToExtension(extension="2002"))
    with rejected(app, InUseError, field="extension", match=r"extension 2002 is still used by: user 2001: forward_always"):
        app.remove_user(actor=actor, tenant=acme, extension="2002")
    assert user(app, "2002").name == "Bob Berg"


def test_remove_user_is_refused_while_a_tenant_default_routes_to_it(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_default_busy(actor=actor, tenant=acme, target=ToExtension(extension="2002"), apply_to="all_users")
    with rejected(app, InUseError, field="extension", match="tenant default: busy"):
        app.remove_user(actor=actor, tenant=acme, extension="2002")


def test_remove_user_is_refused_while_unassigned_number_handling_forwards_to_it(
    app: CallrouteApp, actor: Actor, acme: str
) -> None:
    app.set_unassigned_number_handling(actor=actor, tenant=acme, handling=ForwardTo(target=ToExtension(extension="2002")))
    with rejected(app, InUseError, field="extension", match="tenant: unassigned-number handling"):
        app.remove_user(actor=actor, tenant=acme, extension="2002")


def test_remove_user_is_allowed_once_the_divert_to_it_is_switched_off(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_divert(actor=actor, tenant=acme, extension="2001", condition="busy", target=ToExtension(extension="2002"))
    app.set_divert(actor=actor, tenant=acme, extension="2001", condition="busy", target=Off())
    app.remove_user(actor=actor, tenant=acme, extension="2002")
    assert [u.extension for u in app.get_tenant(acme, ADMIN).users] == ["2001"]


# -- numbers -----------------------------------------------------------------------------------


def test_assign_number_gives_the_user_the_number_and_makes_the_first_one_default(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.assign_number(actor=actor, tenant=acme, extension="2001", number=UK)
    ann = user(app, "2001")
    assert (ann.numbers, ann.default_number) == ((UK,), UK)


def test_assign_number_normalises_a_number_without_plus_to_e164(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.assign_number(actor=actor, tenant=acme, extension="2001", number=UK_BARE)
    assert user(app, "2001").numbers == ("+441234567890",)


def test_assign_number_normalises_spaces_and_punctuation(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.assign_number(actor=actor, tenant=acme, extension="2001", number="+44 (20) 7946-0000")
    assert user(app, "2001").numbers == (LONDON,)


def test_assign_number_keeps_the_first_number_as_default_when_a_second_is_added(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.assign_number(actor=actor, tenant=acme, extension="2001", number=UK)
    app.assign_number(actor=actor, tenant=acme, extension="2001", number=LONDON)
    ann = user(app, "2001")
    assert (ann.numbers, ann.default_number) == ((UK, LONDON), UK)


def test_assign_number_refuses_a_number_not_in_any_numbering_plan(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, MalformedNumberError, field="number", match="'12345' is not a valid number"):
        app.assign_number(actor=actor, tenant=acme, extension="2001", number="12345")
    assert user(app, "2001").numbers == ()


def test_assign_number_refuses_letters_by_schema(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, msgspec.ValidationError, field="number", match="regex"):
        app.assign_number(actor=actor, tenant=acme, extension="2001", number="+44ABCDEFGH")


def test_assign_number_refuses_a_number_already_assigned_to_another_user(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.assign_number(actor=actor, tenant=acme, extension="2001", number=UK)
    with rejected(app, AlreadyExistsError, field="number", match=r"\+441234567890 is already assigned to extension 2001"):
        app.assign_number(actor=actor, tenant=acme, extension="2002", number=UK_BARE)
    assert user(app, "2002").numbers == ()


def test_assign_number_refuses_the_same_number_twice_to_one_user(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.assign_number(actor=actor, tenant=acme, extension="2001", number=UK)
    with rejected(app, AlreadyExistsError, field="number", match="already assigned to extension 2001"):
        app.assign_number(actor=actor, tenant=acme, extension="2001", number=UK)


def test_unassign_number_takes_the_number_from_the_user(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.assign_number(actor=actor, tenant=acme, extension="2001", number=UK)
    app.unassign_number(actor=actor, tenant=acme, extension="2001", number=UK_BARE)
    ann = user(app, "2001")
    assert (ann.numbers, ann.default_number) == ((), None)


def test_unassign_number_frees_it_for_another_user(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.assign_number(actor=actor, tenant=acme, extension="2001", number=UK)
    app.unassign_number(actor=actor, tenant=acme, extension="2001", number=UK)
    app.assign_number(actor=actor, tenant=acme, extension="2002", number=UK)
    assert user(app, "2002").numbers == (UK,)


def test_unassign_number_of_the_default_moves_the_default_to_a_remaining_number(app: CallrouteApp, actor: Actor, acme: str) -> None:
    for number in (UK, LONDON, STOCKHOLM):
        app.assign_number(actor=actor, tenant=acme, extension="2001", number=number)
    app.unassign_number(actor=actor, tenant=acme, extension="2001", number=UK)
    ann = user(app, "2001")
    assert (ann.numbers, ann.default_number) == ((LONDON, STOCKHOLM), LONDON)


def test_unassign_number_of_a_non_default_keeps_the_default(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.assign_number(actor=actor, tenant=acme, extension="2001", number=UK)
    app.assign_number(actor=actor, tenant=acme, extension="2001", number=LONDON)
    app.unassign_number(actor=actor, tenant=acme, extension="2001", number=LONDON)
    assert user(app, "2001").default_number == UK


def test_unassign_number_of_the_presentation_number_resets_presentation(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.assign_number(actor=actor, tenant=acme, extension="2001", number=UK)
    app.assign_number(actor=actor, tenant=acme, extension="2001", number=LONDON)
    app.set_presentation_number(actor=actor, tenant=acme, extension="2001", number=LONDON)
    app.unassign_number(actor=actor, tenant=acme, extension="2001", number=LONDON)
    assert user(app, "2001").presentation_number is None


def test_unassign_number_refuses_a_number_the_user_does_not_have(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.assign_number(actor=actor, tenant=acme, extension="2002", number=UK)
    with rejected(app, NotFoundError, field="number", match=r"\+441234567890 is not assigned to extension 2001"):
        app.unassign_number(actor=actor, tenant=acme, extension="2001", number=UK)
    assert user(app, "2002").numbers == (UK,)


def test_unassign_number_refuses_a_malformed_number(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, MalformedNumberError, field="number", match="not a valid number"):
        app.unassign_number(actor=actor, tenant=acme, extension="2001", number="12345")


def test_set_default_number_chooses_one_of_the_users_numbers(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.assign_number(actor=actor, tenant=acme, extension="2001", number=UK)
    app.assign_number(actor=actor, tenant=acme, extension="2001", number=LONDON)
    app.set_default_number(actor=actor, tenant=acme, extension="2001", number="442079460000")
    assert user(app, "2001").default_number == LONDON


def test_set_default_number_refuses_a_number_that_is_not_the_users(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.assign_number(actor=actor, tenant=acme, extension="2001", number=UK)
    app.assign_number(actor=actor, tenant=acme, extension="2002", number=LONDON)
    with rejected(app, NotFoundError, field="number", match=r"\+442079460000 is not assigned to extension 2001"):
        app.set_default_number(actor=actor, tenant=acme, extension="2001", number=LONDON)
    assert user(app, "2001").default_number == UK


def test_set_default_number_refuses_a_malformed_number(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, MalformedNumberError, field="number", match="not a valid number"):
        app.set_default_number(actor=actor, tenant=acme, extension="2001", number="12345")


def test_set_presentation_number_shows_one_of_the_users_numbers(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.assign_number(actor=actor, tenant=acme, extension="2001", number=UK)
    app.assign_number(actor=actor, tenant=acme, extension="2001", number=LONDON)
    app.set_presentation_number(actor=actor, tenant=acme, extension="2001", number="442079460000")
    ann = user(app, "2001")
    assert (ann.presentation_number, ann.default_number) == (LONDON, UK)


def test_set_presentation_number_none_goes_back_to_the_default_number(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.assign_number(actor=actor, tenant=acme, extension="2001", number=UK)
    app.set_presentation_number(actor=actor, tenant=acme, extension="2001", number=UK)
    app.set_presentation_number(actor=actor, tenant=acme, extension="2001", number=None)
    assert user(app, "2001").presentation_number is None


def test_set_presentation_number_refuses_a_number_that_is_not_the_users(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, NotFoundError, field="number", match="is neither assigned to extension 2001 nor a display number assigned to it"):
        app.set_presentation_number(actor=actor, tenant=acme, extension="2001", number=UK)


# -- devices / permanent redirect / notifications ------------------------------------------------


@pytest.mark.parametrize("raw", ["00:1a:2b:3c:4d:5e", "00:1A:2B:3C:4D:5E", "00-1a-2b-3c-4d-5e", "001A2B3C4D5E", " 001a2b3c4d5e "])
def test_add_device_registers_the_mac_in_lower_case_colon_form(app: CallrouteApp, actor: Actor, acme: str, raw: str) -> None:
    app.add_device(actor=actor, tenant=acme, extension="2001", mac=raw, model="Yealink T54W")
    assert user(app, "2001").devices == (Device(mac=MAC, model="Yealink T54W"),)


@pytest.mark.parametrize("raw", ["00:1a:2b:3c:4d:zz", "00:1a-2b:3c:4d:5e", "001a2b3c4d5e6f", "0:1a:2b:3c:4d:5e:"])
def test_add_device_refuses_a_malformed_mac(app: CallrouteApp, actor: Actor, acme: str, raw: str) -> None:
    with rejected(app, MalformedMacError, field="mac", match="is not a MAC address"):
        app.add_device(actor=actor, tenant=acme, extension="2001", mac=raw)


def test_add_device_refuses_a_too_short_mac_by_schema(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, msgspec.ValidationError, field="mac", match="length >= 12"):
        app.add_device(actor=actor, tenant=acme, extension="2001", mac="00:1a")


def test_add_device_refuses_a_device_registered_to_another_user(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.add_device(actor=actor, tenant=acme, extension="2001", mac=MAC)
    with rejected(app, AlreadyExistsError, field="mac", match="device 00:1a:2b:3c:4d:5e is already registered to extension 2001"):
        app.add_device(actor=actor, tenant=acme, extension="2002", mac="00-1A-2B-3C-4D-5E")
    assert user(app, "2002").devices == ()


def test_add_device_refuses_the_same_device_twice_to_one_user(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.add_device(actor=actor, tenant=acme, extension="2001", mac=MAC)
    with rejected(app, AlreadyExistsError, field="mac", match="already registered to extension 2001"):
        app.add_device(actor=actor, tenant=acme, extension="2001", mac=MAC)


def test_remove_device_unregisters_it_given_any_mac_spelling(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.add_device(actor=actor, tenant=acme, extension="2001", mac=MAC)
    app.add_device(actor=actor, tenant=acme, extension="2001", mac="00:1a:2b:3c:4d:5f")
    app.remove_device(actor=actor, tenant=acme, extension="2001", mac="001A2B3C4D5E")
    assert user(app, "2001").devices == (Device(mac="00:1a:2b:3c:4d:5f"),)


def test_remove_device_refuses_a_device_the_user_does_not_have(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.add_device(actor=actor, tenant=acme, extension="2002", mac=MAC)
    with rejected(app, NotFoundError, field="mac", match="extension 2001 has no device 00:1a:2b:3c:4d:5e"):
        app.remove_device(actor=actor, tenant=acme, extension="2001", mac=MAC)


def test_remove_device_refuses_a_malformed_mac(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, MalformedMacError, field="mac", match="is not a MAC address"):
        app.remove_device(actor=actor, tenant=acme, extension="2001", mac="zz:1a:2b:3c:4d:5e")


def test_set_permanent_redirect_stores_the_normalised_number(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_permanent_redirect(actor=actor, tenant=acme, extension="2001", number=UK_BARE)
    assert user(app, "2001").permanent_redirect == UK


def test_set_permanent_redirect_none_ends_the_redirect(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_permanent_redirect(actor=actor, tenant=acme, extension="2001", number=UK)
    app.set_permanent_redirect(actor=actor, tenant=acme, extension="2001", number=None)
    assert user(app, "2001").permanent_redirect is None


def test_set_permanent_redirect_refuses_a_malformed_number(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, MalformedNumberError, field="number", match="'12345' is not a valid number"):
        app.set_permanent_redirect(actor=actor, tenant=acme, extension="2001", number="12345")


def test_set_notifications_changes_only_the_given_flag(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_notifications(actor=actor, tenant=acme, extension="2001", missed_call=False)
    ann = user(app, "2001")
    assert (ann.notify_missed_call, ann.notify_voicemail) == (False, True)


def test_set_notifications_sets_both_flags(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_notifications(actor=actor, tenant=acme, extension="2001", missed_call=False, voicemail=False)
    ann = user(app, "2001")
    assert (ann.notify_missed_call, ann.notify_voicemail) == (False, False)


def test_set_notifications_refuses_a_change_without_any_flag(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, ValidationFailed, field="missed_call", match="give missed_call and/or voicemail"):
        app.set_notifications(actor=actor, tenant=acme, extension="2001")


# -- diverts -------------------------------------------------------------------------------------


def test_set_divert_always_forwards_to_another_extension(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_divert(actor=actor, tenant=acme, extension="2001", condition="always", target=ToExtension(extension="2002"))
    assert user(app, "2001").forward_always == ToExtension(extension="2002")


def test_set_divert_unreachable_to_a_number_normalises_it_and_keeps_its_options(app: CallrouteApp, actor: Actor, acme: str) -> None:
    target = ToNumber(number=UK_BARE, announce=True, present_dialled_number=True)
    app.set_divert(actor=actor, tenant=acme, extension="2001", condition="unreachable", target=target)
    assert user(app, "2001").unreachable == ToNumber(number=UK, announce=True, present_dialled_number=True)


def test_set_divert_busy_sets_the_users_own_busy_handling(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_divert(actor=actor, tenant=acme, extension="2001", condition="busy", target=ToVoicemail())
    ann = user(app, "2001")
    assert (ann.handling.busy, ann.handling.sources["busy"], ann.own.busy) == (ToVoicemail(), "user", ToVoicemail())


def test_set_divert_no_answer_with_ring_seconds(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_divert(actor=actor, tenant=acme, extension="2001", condition="no_answer", target=ToVoicemail(), ring_seconds=20)
    assert user(app, "2001").handling.no_answer == NoAnswerRule(target=ToVoicemail(), ring_seconds=20)


def test_set_divert_no_answer_without_ring_seconds_uses_the_built_in_300(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_divert(actor=actor, tenant=acme, extension="2001", condition="no_answer", target=ToVoicemail())
    assert user(app, "2001").handling.no_answer == NoAnswerRule(target=ToVoicemail(), ring_seconds=300)


def test_set_divert_no_answer_without_ring_seconds_keeps_the_users_current_ring_time(
    app: CallrouteApp, actor: Actor, acme: str
) -> None:
    app.set_divert(actor=actor, tenant=acme, extension="2001", condition="no_answer", target=ToVoicemail(), ring_seconds=25)
    app.set_divert(actor=actor, tenant=acme, extension="2001", condition="no_answer", target=ToExtension(extension="2002"))
    assert user(app, "2001").handling.no_answer == NoAnswerRule(target=ToExtension(extension="2002"), ring_seconds=25)


def test_set_divert_to_an_unknown_extension_is_refused(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, UnknownExtensionError, field="target.extension", match="has no extension '2099'"):
        app.set_divert(actor=actor, tenant=acme, extension="2001", condition="busy", target=ToExtension(extension="2099"))


@pytest.mark.parametrize("condition", ["always", "no_answer", "busy", "unreachable"])
def test_set_divert_to_the_users_own_extension_is_refused(app: CallrouteApp, actor: Actor, acme: str, condition: str) -> None:
    with rejected(app, ValidationFailed, field="target.extension", match="extension 2001 cannot divert to itself"):
        app.set_divert(actor=actor, tenant=acme, extension="2001", condition=condition, target=ToExtension(extension="2001"))


def test_set_divert_to_a_malformed_number_is_refused(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, MalformedNumberError, field="target.number", match="'12345' is not a valid number"):
        app.set_divert(actor=actor, tenant=acme, extension="2001", condition="busy", target=ToNumber(number="12345"))


def test_set_divert_forward_always_cycle_is_refused_naming_the_loop(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_divert(actor=actor, tenant=acme, extension="2002", condition="always", target=ToExtension(extension="2001"))
    with rejected(app, ForwardLoopError, field="target", match="forward-always would loop: 2001 → 2002 → 2001"):
        app.set_divert(actor=actor, tenant=acme, extension="2001", condition="always", target=ToExtension(extension="2002"))
    assert user(app, "2001").forward_always == Off()


def test_set_divert_forward_always_cycle_through_three_users_is_refused(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.add_user(actor=actor, tenant=acme, extension="2003", name="Cid")
    app.set_divert(actor=actor, tenant=acme, extension="2002", condition="always", target=ToExtension(extension="2003"))
    app.set_divert(actor=actor, tenant=acme, extension="2003", condition="always", target=ToExtension(extension="2001"))
    with rejected(app, ForwardLoopError, field="target", match="2001 → 2002 → 2003 → 2001"):
        app.set_divert(actor=actor, tenant=acme, extension="2001", condition="always", target=ToExtension(extension="2002"))


def test_set_divert_forward_always_chain_without_a_cycle_is_accepted(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_divert(actor=actor, tenant=acme, extension="2002", condition="always", target=ToNumber(number=UK))
    app.set_divert(actor=actor, tenant=acme, extension="2001", condition="always", target=ToExtension(extension="2002"))
    assert user(app, "2001").forward_always == ToExtension(extension="2002")


def test_set_divert_busy_back_to_a_forwarding_user_is_not_a_forward_loop(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_divert(actor=actor, tenant=acme, extension="2002", condition="always", target=ToExtension(extension="2001"))
    app.set_divert(actor=actor, tenant=acme, extension="2001", condition="busy", target=ToExtension(extension="2002"))
    assert user(app, "2001").handling.busy == ToExtension(extension="2002")


def test_set_divert_ring_seconds_on_a_non_no_answer_divert_is_refused(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, ValidationFailed, field="ring_seconds", match="ring_seconds applies only to the no_answer divert"):
        app.set_divert(actor=actor, tenant=acme, extension="2001", condition="busy", target=ToVoicemail(), ring_seconds=20)


@pytest.mark.parametrize(("ring_seconds", "rule"), [(4, ">= 5"), (601, "<= 600")])
def test_set_divert_ring_seconds_out_of_range_is_refused_by_schema(
    app: CallrouteApp, actor: Actor, acme: str, ring_seconds: int, rule: str
) -> None:
    with rejected(app, msgspec.ValidationError, field="ring_seconds", match=re.escape(rule)):
        app.set_divert(
            actor=actor, tenant=acme, extension="2001", condition="no_answer", target=ToVoicemail(), ring_seconds=ring_seconds
        )


def test_set_divert_unknown_condition_is_refused_by_schema(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, msgspec.ValidationError, field="condition", match="Invalid enum value 'sometimes'"):
        app.set_divert(actor=actor, tenant=acme, extension="2001", condition="sometimes", target=ToVoicemail())


# -- out of hours / reject anonymous -------------------------------------------------------------


def test_set_out_of_hours_stores_the_schedule_with_a_normalised_target(app: CallrouteApp, actor: Actor, acme: str) -> None:
    schedule = OutOfHours(
        days={"mon": UnavailableBetween(start="18:00", end="08:00"), "sat": UnavailableAllDay(), "sun": AvailableAllDay()},
        when_unavailable=ToNumber(number=UK_BARE),
    )
    app.set_out_of_hours(actor=actor, tenant=acme, extension="2001", out_of_hours=schedule)
    stored = user(app, "2001").out_of_hours
    assert stored == OutOfHours(days=schedule.days, when_unavailable=ToNumber(number=UK))
    assert stored.day("mon").crosses_midnight is True
    assert stored.day("tue") == AvailableAllDay()


def test_set_out_of_hours_none_removes_the_schedule(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_out_of_hours(actor=actor, tenant=acme, extension="2001", out_of_hours=OutOfHours(days={"sat": UnavailableAllDay()}))
    app.set_out_of_hours(actor=actor, tenant=acme, extension="2001", out_of_hours=None)
    assert user(app, "2001").out_of_hours is None


def test_set_out_of_hours_refuses_a_window_whose_start_equals_its_end(app: CallrouteApp, actor: Actor, acme: str) -> None:
    schedule = OutOfHours(days={"wed": UnavailableBetween(start="12:00", end="12:00")})
    with rejected(app, ValidationFailed, field="out_of_hours.days.wed.end", match="needs different start and end"):
        app.set_out_of_hours(actor=actor, tenant=acme, extension="2001", out_of_hours=schedule)
    assert user(app, "2001").out_of_hours is None


def test_set_out_of_hours_refuses_a_malformed_wall_time_by_schema(app: CallrouteApp, actor: Actor, acme: str) -> None:
    schedule = OutOfHours(days={"wed": UnavailableBetween(start="25:00", end="08:00")})
    with rejected(app, msgspec.ValidationError, field="out_of_hours.days[...].start", match="regex"):
        app.set_out_of_hours(actor=actor, tenant=acme, extension="2001", out_of_hours=schedule)


def test_set_out_of_hours_refuses_diverting_to_the_users_own_extension(app: CallrouteApp, actor: Actor, acme: str) -> None:
    schedule = OutOfHours(days={"sat": UnavailableAllDay()}, when_unavailable=ToExtension(extension="2001"))
    with rejected(app, ValidationFailed, field="out_of_hours.when_unavailable.extension", match="cannot divert to itself"):
        app.set_out_of_hours(actor=actor, tenant=acme, extension="2001", out_of_hours=schedule)


def test_set_out_of_hours_refuses_an_unknown_extension_target(app: CallrouteApp, actor: Actor, acme: str) -> None:
    schedule = OutOfHours(days={"sat": UnavailableAllDay()}, when_unavailable=ToExtension(extension="2099"))
    with rejected(app, UnknownExtensionError, field="out_of_hours.when_unavailable.extension", match="no extension '2099'"):
        app.set_out_of_hours(actor=actor, tenant=acme, extension="2001", out_of_hours=schedule)


def test_set_reject_anonymous_turns_rejection_on_and_off(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_reject_anonymous(actor=actor, tenant=acme, extension="2001", enabled=True)
    assert user(app, "2001").reject_anonymous is True
    app.set_reject_anonymous(actor=actor, tenant=acme, extension="2001", enabled=False)
    assert user(app, "2001").reject_anonymous is False


# -- per-user call handling ----------------------------------------------------------------------


def test_set_call_waiting_sets_the_users_own_value(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_call_waiting(actor=actor, tenant=acme, extension="2001", enabled=False)
    ann = user(app, "2001")
    assert (ann.handling.call_waiting, ann.handling.sources["call_waiting"], ann.own.call_waiting) == (False, "user", False)
    assert user(app, "2002").handling.call_waiting is True


def test_set_voicemail_greeting_sets_a_text_to_speech_greeting(app: CallrouteApp, actor: Actor, acme: str) -> None:
    greeting = TextToSpeech(text="Ann här, lämna ett meddelande.", language="sv-SE")
    app.set_voicemail_greeting(actor=actor, tenant=acme, extension="2001", greeting=greeting)
    ann = user(app, "2001")
    assert (ann.handling.voicemail_greeting, ann.handling.sources["voicemail_greeting"]) == (greeting, "user")


def test_set_voicemail_greeting_refuses_a_malformed_language_tag_by_schema(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, msgspec.ValidationError, field="greeting.language", match="regex"):
        app.set_voicemail_greeting(actor=actor, tenant=acme, extension="2001", greeting=TextToSpeech(text="Hi", language="123"))


def test_set_transcription_sets_the_users_own_value(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_transcription(actor=actor, tenant=acme, extension="2001", enabled=True)
    ann = user(app, "2001")
    assert (ann.handling.transcription, ann.handling.sources["transcription"]) == (True, "user")


def test_set_transcription_is_refused_when_the_tenant_does_not_let_users_change_it(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_default_transcription(actor=actor, tenant=acme, enabled=True, users_may_change=False, apply_to="all_users")
    with rejected(app, NotAllowedError, field="enabled", match="does not let users change voicemail transcription"):
        app.set_transcription(actor=actor, tenant=acme, extension="2001", enabled=False)
    assert user(app, "2001").handling.transcription is True


def test_set_transcription_is_allowed_again_once_the_tenant_lets_users_change_it(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_default_transcription(actor=actor, tenant=acme, enabled=True, users_may_change=False, apply_to="all_users")
    app.set_default_transcription(actor=actor, tenant=acme, enabled=True, users_may_change=True, apply_to="all_users")
    app.set_transcription(actor=actor, tenant=acme, extension="2001", enabled=False)
    assert user(app, "2001").handling.transcription is False


def test_other_call_handling_stays_changeable_while_transcription_is_locked(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_default_transcription(actor=actor, tenant=acme, enabled=True, users_may_change=False, apply_to="all_users")
    app.set_call_waiting(actor=actor, tenant=acme, extension="2001", enabled=False)
    assert user(app, "2001").handling.call_waiting is False


def test_set_rejected_call_handling_forwards_to_a_normalised_number(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_rejected_call_handling(
        actor=actor, tenant=acme, extension="2001", handling=ForwardTo(target=ToNumber(number=UK_BARE, announce=True))
    )
    ann = user(app, "2001")
    assert ann.handling.rejected == ForwardTo(target=ToNumber(number=UK, announce=True))
    assert ann.handling.sources["rejected"] == "user"


def test_set_rejected_call_handling_plays_a_message_and_hangs_up(app: CallrouteApp, actor: Actor, acme: str) -> None:
    add_audio(app, actor, acme, "closed.wav")
    handling = MessageAndHangUp(message=AudioFileRef(audio_file="closed.wav"))
    app.set_rejected_call_handling(actor=actor, tenant=acme, extension="2001", handling=handling)
    assert user(app, "2001").handling.rejected == handling


def test_set_rejected_call_handling_refuses_forwarding_to_the_users_own_extension(app: CallrouteApp, actor: Actor, acme: str) -> None:
    handling = ForwardTo(target=ToExtension(extension="2001"))
    with rejected(app, ValidationFailed, field="handling.target.extension", match="cannot divert to itself"):
        app.set_rejected_call_handling(actor=actor, tenant=acme, extension="2001", handling=handling)


def test_set_rejected_call_handling_refuses_an_unknown_extension(app: CallrouteApp, actor: Actor, acme: str) -> None:
    handling = ForwardTo(target=ToExtension(extension="2099"))
    with rejected(app, UnknownExtensionError, field="handling.target.extension", match="no extension '2099'"):
        app.set_rejected_call_handling(actor=actor, tenant=acme, extension="2001", handling=handling)


def test_set_display_number_preference_sets_the_users_own_value(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_display_number_preference(actor=actor, tenant=acme, extension="2001", kind="mobile")
    ann = user(app, "2001")
    assert (ann.handling.display_number, ann.handling.sources["display_number"]) == ("mobile", "user")


def test_set_display_number_preference_refuses_an_unknown_kind_by_schema(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, msgspec.ValidationError, field="kind", match="Invalid enum value 'fax'"):
        app.set_display_number_preference(actor=actor, tenant=acme, extension="2001", kind="fax")


def test_reset_call_handling_forgets_the_users_own_value(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_call_waiting(actor=actor, tenant=acme, extension="2001", enabled=False)
    app.set_divert(actor=actor, tenant=acme, extension="2001", condition="busy", target=ToVoicemail())
    app.reset_call_handling(actor=actor, tenant=acme, extension="2001", settings=("call_waiting",))
    ann = user(app, "2001")
    assert (ann.own.call_waiting, ann.handling.call_waiting, ann.handling.sources["call_waiting"]) == (None, True, "built_in")
    assert ann.own.busy == ToVoicemail()


def test_reset_call_handling_brings_back_the_tenant_default(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_display_number_preference(actor=actor, tenant=acme, extension="2001", kind="landline")
    app.set_default_display_number(actor=actor, tenant=acme, kind="mobile", apply_to="unchanged_users")
    app.reset_call_handling(actor=actor, tenant=acme, extension="2001", settings=("display_number",))
    ann = user(app, "2001")
    assert (ann.handling.display_number, ann.handling.sources["display_number"]) == ("mobile", "tenant")


def test_reset_call_handling_refuses_a_setting_the_user_has_not_changed(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_call_waiting(actor=actor, tenant=acme, extension="2001", enabled=False)
    with rejected(app, ValidationFailed, field="settings", match="extension 2001 has no own value for busy"):
        app.reset_call_handling(actor=actor, tenant=acme, extension="2001", settings=("call_waiting", "busy"))
    assert user(app, "2001").own.call_waiting is False


def test_reset_call_handling_refuses_an_empty_list_by_schema(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, msgspec.ValidationError, field="settings", match="length >= 1"):
        app.reset_call_handling(actor=actor, tenant=acme, extension="2001", settings=())


def test_reset_call_handling_refuses_an_unknown_setting_by_schema(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, msgspec.ValidationError, field="settings[0]", match="Invalid enum value 'ringtone'"):
        app.reset_call_handling(actor=actor, tenant=acme, extension="2001", settings=("ringtone",))


# -- voice-portal PIN ----------------------------------------------------------------------------


def test_set_voice_portal_pin_stores_only_the_hash(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_voice_portal_pin(actor=actor, tenant=acme, extension="2001", pin=PIN)
    assert user(app, "2001").has_voice_portal_pin is True
    assert user(app, "2002").has_voice_portal_pin is False
    assert app.tenant(acme).state.users["2001"].pin_hash == "fake$" + PIN[::-1]


def test_set_voice_portal_pin_never_records_the_pin_in_any_stored_event(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_voice_portal_pin(actor=actor, tenant=acme, extension="2001", pin=PIN)
    app.set_voice_portal_pin(actor=actor, tenant=acme, extension="2001", pin="192837")
    stored = app.recorder.select_events(tenant_id(acme))
    assert [s.topic for s in stored][-2:] == ["callroute/VoicePortalPinSet", "callroute/VoicePortalPinSet"]
    for s in stored:
        assert PIN.encode() not in s.state
        assert b"192837" not in s.state
    assert all(PIN not in repr(e) and "192837" not in repr(e) for e in events_of(app, acme))


@pytest.mark.parametrize("pin", ["12345", "1234567", "12345a", "      ", "١٢٣٤٥٦"])
def test_set_voice_portal_pin_refuses_a_pin_that_is_not_six_digits_by_schema(
    app: CallrouteApp, actor: Actor, acme: str, pin: str
) -> None:
    with rejected(app, msgspec.ValidationError, field="pin", match="regex") as excinfo:
        app.set_voice_portal_pin(actor=actor, tenant=acme, extension="2001", pin=pin)
    assert pin not in str(excinfo.value)
    assert user(app, "2001").has_voice_portal_pin is False


def test_set_voice_portal_pin_is_checked_by_the_aggregate_too(app: CallrouteApp, actor: Actor, acme: str) -> None:
    tenant = app.tenant(acme, version=app.get_tenant(acme, ADMIN).version)  # a fresh copy, not the cached object
    ctx = CommandContext(actor=actor, at=datetime(2027, 1, 1, tzinfo=UTC), pin_hasher=app.pin_hasher)
    # The handler itself, past the schema (which would refuse the pin first): the rule holds in core too.
    unchecked = msgspec.structs.replace(c.SetVoicePortalPin(tenant=acme, extension="2001", pin="123456"), pin="12ab56")
    with pytest.raises(PinRuleError, match="exactly 6 digits") as excinfo:
        c.HANDLERS[c.SetVoicePortalPin].run(tenant, unchecked, ctx)
    assert "12ab56" not in str(excinfo.value)
    assert tenant.pending_events == []


def test_set_voice_portal_pin_command_repr_masks_the_pin() -> None:
    assert PIN not in repr(c.SetVoicePortalPin(tenant="acme", extension="2001", pin=PIN))


# -- tenant defaults (the apply-to semantics are in test_tenant_defaults.py) ------------------------


def test_set_default_voicemail_greeting_sets_the_tenant_default(app: CallrouteApp, actor: Actor, acme: str) -> None:
    add_audio(app, actor, acme, "acme-greeting.wav")
    greeting = AudioFileRef(audio_file="acme-greeting.wav")
    app.set_default_voicemail_greeting(actor=actor, tenant=acme, greeting=greeting, apply_to="unchanged_users")
    view = app.get_tenant(acme, ADMIN)
    assert (view.defaults.voicemail_greeting, view.default_scopes) == (greeting, {"voicemail_greeting": "unchanged_users"})
    assert user(app, "2001").handling.voicemail_greeting == greeting


def test_set_default_transcription_sets_the_default_and_the_users_may_change_policy(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_default_transcription(actor=actor, tenant=acme, enabled=True, users_may_change=False, apply_to="all_users")
    view = app.get_tenant(acme, ADMIN)
    assert (view.defaults.transcription, view.transcription_users_may_change) == (True, False)
    assert view.default_scopes == {"transcription": "all_users"}


def test_set_default_transcription_without_users_may_change_keeps_the_policy(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_default_transcription(actor=actor, tenant=acme, enabled=True, users_may_change=False, apply_to="all_users")
    app.set_default_transcription(actor=actor, tenant=acme, enabled=False, apply_to="all_users")
    view = app.get_tenant(acme, ADMIN)
    assert (view.defaults.transcription, view.transcription_users_may_change) == (False, False)


def test_set_default_no_answer_sets_the_rule_with_the_default_ring_time(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_default_no_answer(actor=actor, tenant=acme, target=ToVoicemail(), apply_to="unchanged_users")
    assert app.get_tenant(acme, ADMIN).defaults.no_answer == NoAnswerRule(target=ToVoicemail(), ring_seconds=300)


def test_set_default_no_answer_normalises_a_number_target(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_default_no_answer(actor=actor, tenant=acme, target=ToNumber(number=UK_BARE), ring_seconds=30, apply_to="all_users")
    assert app.get_tenant(acme, ADMIN).defaults.no_answer == NoAnswerRule(target=ToNumber(number=UK), ring_seconds=30)


def test_set_default_no_answer_refuses_an_unknown_extension(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, UnknownExtensionError, field="target.extension", match="no extension '2099'"):
        app.set_default_no_answer(actor=actor, tenant=acme, target=ToExtension(extension="2099"), apply_to="all_users")


def test_set_default_no_answer_refuses_ring_seconds_out_of_range_by_schema(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, msgspec.ValidationError, field="ring_seconds", match=re.escape("<= 600")):
        app.set_default_no_answer(actor=actor, tenant=acme, target=ToVoicemail(), ring_seconds=900, apply_to="all_users")


def test_set_default_busy_sets_the_busy_target_and_call_waiting(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_default_busy(actor=actor, tenant=acme, target=ToVoicemail(), call_waiting=False, apply_to="all_users")
    view = app.get_tenant(acme, ADMIN)
    assert (view.defaults.busy, view.defaults.call_waiting) == (ToVoicemail(), False)
    assert view.default_scopes == {"busy": "all_users", "call_waiting": "all_users"}


def test_set_default_busy_with_only_call_waiting_leaves_the_busy_default_alone(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_default_busy(actor=actor, tenant=acme, target=ToVoicemail(), apply_to="all_users")
    app.set_default_busy(actor=actor, tenant=acme, call_waiting=False, apply_to="unchanged_users")
    view = app.get_tenant(acme, ADMIN)
    assert (view.defaults.busy, view.defaults.call_waiting) == (ToVoicemail(), False)
    assert view.default_scopes == {"busy": "all_users", "call_waiting": "unchanged_users"}


def test_set_default_busy_refuses_a_change_without_any_value(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, ValidationFailed, field="target", match="no default value given"):
        app.set_default_busy(actor=actor, tenant=acme, apply_to="all_users")


def test_set_default_rejected_call_handling_sets_the_default(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_default_rejected_call_handling(
        actor=actor, tenant=acme, handling=ForwardTo(target=ToNumber(number=UK_BARE)), apply_to="unchanged_users"
    )
    assert app.get_tenant(acme, ADMIN).defaults.rejected == ForwardTo(target=ToNumber(number=UK))
    assert user(app, "2002").handling.rejected == ForwardTo(target=ToNumber(number=UK))


def test_set_default_rejected_call_handling_refuses_a_malformed_number(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, MalformedNumberError, field="handling.target.number", match="'12345' is not a valid number"):
        app.set_default_rejected_call_handling(
            actor=actor, tenant=acme, handling=ForwardTo(target=ToNumber(number="12345")), apply_to="all_users"
        )


def test_set_default_display_number_sets_the_default(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_default_display_number(actor=actor, tenant=acme, kind="mobile", apply_to="unchanged_users")
    view = app.get_tenant(acme, ADMIN)
    assert (view.defaults.display_number, view.default_scopes) == ("mobile", {"display_number": "unchanged_users"})


def test_set_default_refuses_an_unknown_apply_to_by_schema(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, msgspec.ValidationError, field="apply_to", match="Invalid enum value 'everyone'"):
        app.set_default_display_number(actor=actor, tenant=acme, kind="mobile", apply_to="everyone")


def test_set_unassigned_number_handling_starts_as_busy_tone(app: CallrouteApp, acme: str) -> None:
    assert app.get_tenant(acme, ADMIN).unassigned == BusyTone()


def test_set_unassigned_number_handling_plays_a_message(app: CallrouteApp, actor: Actor, acme: str) -> None:
    handling = MessageAndHangUp(message=TextToSpeech(text="This number is not in use.", language="en-GB"))
    app.set_unassigned_number_handling(actor=actor, tenant=acme, handling=handling)
    assert app.get_tenant(acme, ADMIN).unassigned == handling


def test_set_unassigned_number_handling_forwards_to_an_extension(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_unassigned_number_handling(actor=actor, tenant=acme, handling=ForwardTo(target=ToExtension(extension="2001")))
    assert app.get_tenant(acme, ADMIN).unassigned == ForwardTo(target=ToExtension(extension="2001"))


def test_set_unassigned_number_handling_refuses_an_unknown_extension(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, UnknownExtensionError, field="handling.target.extension", match="no extension '2099'"):
        app.set_unassigned_number_handling(actor=actor, tenant=acme, handling=ForwardTo(target=ToExtension(extension="2099")))


def test_set_unassigned_number_handling_refuses_voicemail_by_schema(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, msgspec.ValidationError, field="handling.action", match="Invalid value 'voicemail'"):
        app.set_unassigned_number_handling(actor=actor, tenant=acme, handling=HandleWithVoicemail())


# -- the provisioning record (what the provider's PBX confirmed as live; the routing tests are in test_projection.py) --


def test_set_provider_policy_records_the_maximum_delay_and_office_hours(app: CallrouteApp, actor: Actor, acme: str) -> None:
    policy = ProviderPolicy(
        max_delay_seconds=3600, office_hours=OpeningHours(days={"mon": (Window(start="09:00", end="17:00"),)}), time_zone="Europe/London"
    )
    app.set_provider_policy(actor=actor, tenant=acme, policy=policy)
    record = app.provisioning(acme)
    assert record is not None
    assert (record.policy, record.confirmed) == (policy, None)


def test_set_provider_policy_refuses_an_unknown_time_zone(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, UnknownTimeZoneError, field="policy.time_zone", match="'Mars/Olympus' is not an IANA time zone"):
        app.set_provider_policy(actor=actor, tenant=acme, policy=ProviderPolicy(time_zone="Mars/Olympus"))
    assert app.provisioning(acme) is None


def test_set_provider_policy_refuses_office_hours_with_an_empty_window(app: CallrouteApp, actor: Actor, acme: str) -> None:
    thursday = (Window(start="08:00", end="12:00"), Window(start="13:00", end="13:00"))
    hours = OpeningHours(days={"mon": (Window(start="09:00", end="17:00"),), "thu": thursday})
    with rejected(app, ValidationFailed, field="policy.office_hours.days.thu[1]", match="a window needs different start and end"):
        app.set_provider_policy(actor=actor, tenant=acme, policy=ProviderPolicy(office_hours=hours, time_zone="Europe/London"))
    assert app.provisioning(acme) is None


def test_confirm_provisioning_records_the_version_the_pbx_applied(app: CallrouteApp, actor: Actor, acme: str, clock: Any) -> None:
    instant = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    clock.set(instant)
    app.confirm_provisioning(actor=actor, tenant=acme, version=2)
    record = app.provisioning(acme)
    assert record is not None
    assert record.confirmed == Confirmation(version=2, applied_at=instant)
    assert app.get_tenant(acme, ADMIN).version == 3  # a confirmation is not a change of the tenant


def test_confirm_provisioning_refuses_a_version_the_tenant_does_not_have(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, ValidationFailed, field="version", match="version must be between 1 and the tenant's current version 3"):
        app.confirm_provisioning(actor=actor, tenant=acme, version=4)


# -- batches: all or nothing -----------------------------------------------------------------------


def test_a_batch_applies_every_command_and_reports_the_new_version(app: CallrouteApp, actor: Actor) -> None:
    batch = [
        c.CreateTenant(tenant="globex", name="Globex", time_zone="Europe/Stockholm"),
        c.AddUser(tenant="globex", extension="100", name="Gus"),
        c.AssignNumber(tenant="globex", extension="100", number="46812345678"),
    ]
    receipt = app.execute(batch, actor)
    assert receipt == Receipt(versions={"globex": 3}, events=3, position=receipt.position) and receipt.position > 0
    assert user(app, "100", "globex").numbers == (STOCKHOLM,)


def test_a_batch_whose_fourth_command_fails_stores_nothing_and_names_index_3(app: CallrouteApp, actor: Actor, acme: str) -> None:
    version = app.get_tenant(acme, ADMIN).version
    batch = [
        c.AddUser(tenant=acme, extension="2003", name="Cid"),
        c.RenameTenant(tenant=acme, name="Acme Group"),
        c.AssignNumber(tenant=acme, extension="2003", number=UK),
        c.AssignNumber(tenant=acme, extension="2001", number=UK_BARE),  # already 2003's
    ]
    with rejected(app, AlreadyExistsError, field="number", index=3, match=r"^commands\[3\]\.number \(assign_number\): .*extension 2003"):
        app.execute(batch, actor)
    view = app.get_tenant(acme, ADMIN)
    assert (view.version, view.name, [u.extension for u in view.users]) == (version, "Acme Ltd", ["2001", "2002"])
    assert len(app.recorder.select_events(tenant_id(acme))) == version


def test_a_batch_refused_by_schema_names_the_index_and_field(app: CallrouteApp, actor: Actor, acme: str) -> None:
    batch = [
        c.AddUser(tenant=acme, extension="2003", name="Cid"),
        c.SetVoicePortalPin(tenant=acme, extension="2003", pin="12"),
    ]
    with rejected(app, msgspec.ValidationError, field="pin", index=1, match=r"^commands\[1\]\.pin \(set_voice_portal_pin\)"):
        app.execute(batch, actor)


def test_after_a_failed_batch_the_next_good_command_works_on_the_stored_state(app: CallrouteApp, actor: Actor, acme: str) -> None:
    version = app.get_tenant(acme, ADMIN).version
    batch = [
        c.AddUser(tenant=acme, extension="2003", name="Cid"),
        c.RenameTenant(tenant=acme, name="Acme Group"),
        c.SetDivert(tenant=acme, extension="2003", condition="always", target=ToExtension(extension="2001")),
        c.RemoveUser(tenant=acme, extension="2099"),
    ]
    with pytest.raises(CommandRejected, match=r"^commands\[3\]\.extension"):
        app.execute(batch, actor)
    receipt = app.add_user(actor=actor, tenant=acme, extension="2003", name="Cid Carlsson")  # would clash with a cached half-batch
    assert receipt.versions == {acme: version + 1}
    view = app.get_tenant(acme, ADMIN)
    assert view.name == "Acme Ltd"
    assert user(app, "2003").forward_always == Off()
    app.remove_user(actor=actor, tenant=acme, extension="2001")  # nothing diverts to 2001 any more
    assert [u.extension for u in app.get_tenant(acme, ADMIN).users] == ["2002", "2003"]


def test_a_failed_batch_across_two_tenants_stores_nothing_for_either(app: CallrouteApp, actor: Actor, acme: str) -> None:
    batch = [
        c.CreateTenant(tenant="globex", name="Globex", time_zone="Europe/Stockholm"),
        c.AddUser(tenant=acme, extension="2003", name="Cid"),
        c.AddUser(tenant="globex", extension="100", name="Gus"),
        c.AddUser(tenant="globex", extension="100", name="Gus again"),
    ]
    with rejected(app, AlreadyExistsError, field="extension", index=3, match="extension 100 already exists"):
        app.execute(batch, actor)
    assert app.list_tenants() == ["acme"]
    with pytest.raises(UnknownTenantError):
        app.tenant("globex")
    assert [u.extension for u in app.get_tenant(acme, ADMIN).users] == ["2001", "2002"]


def test_commands_later_in_a_batch_see_the_effects_of_earlier_ones(app: CallrouteApp, actor: Actor, acme: str) -> None:
    batch = [
        c.SetDivert(tenant=acme, extension="2002", condition="always", target=ToExtension(extension="2001")),
        c.SetDivert(tenant=acme, extension="2001", condition="always", target=ToExtension(extension="2002")),
    ]
    with rejected(app, ForwardLoopError, field="target", index=1, match="2001 → 2002 → 2001"):
        app.execute(batch, actor)
    assert user(app, "2002").forward_always == Off()


def test_a_batch_dated_before_the_tenants_last_change_is_refused(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, ConflictError, field="at", match="is before the last change"):
        app.execute([c.RenameTenant(tenant=acme, name="Acme Group")], actor, at=datetime(2020, 1, 1, tzinfo=UTC))


def test_a_batch_dated_with_a_naive_instant_is_refused(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, ValidationFailed, field="at", match="must carry a time zone"):
        app.execute([c.RenameTenant(tenant=acme, name="Acme Group")], actor, at=datetime(2030, 1, 1))


# -- who, when and why: on every event ---------------------------------------------------------------


def test_an_event_records_the_actor_partner_reason_and_clock_instant(app: CallrouteApp, actor: Actor, acme: str, clock: Any) -> None:
    app.set_partner(actor=actor, tenant=acme, partner="bt")
    instant = datetime(2026, 12, 24, 8, 0, tzinfo=UTC)
    clock.set(instant)
    partner = Actor("partner:bt/pat", partner="bt")
    app.set_divert(actor=partner, reason="holiday", tenant=acme, extension="2001", condition="always", target=ToNumber(number=UK))
    last = events_of(app, acme)[-1]
    assert type(last).__name__ == "DivertSet"
    assert (last.actor, last.partner, last.reason, last.timestamp) == ("partner:bt/pat", "bt", "holiday", instant)
    assert (last.extension, last.condition, last.target) == ("2001", "always", ToNumber(number=UK))
    assert app.get_tenant(acme, ADMIN).modified_on == instant


def test_the_stored_event_carries_the_actor_partner_and_reason(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_partner(actor=actor, tenant=acme, partner="bt")
    app.rename_tenant(actor=Actor("partner:bt/pat", partner="bt"), reason="holiday", tenant=acme, name="Acme Group")
    raw = app.mapper.decode_raw(app.recorder.select_events(tenant_id(acme))[-1].state)
    assert (raw["actor"], raw["partner"], raw["reason"], raw["name"]) == ("partner:bt/pat", "bt", "holiday", "Acme Group")


def test_a_commands_own_reason_overrides_the_batch_reason(app: CallrouteApp, actor: Actor, acme: str) -> None:
    batch = [
        c.RenameTenant(tenant=acme, name="Acme Group", reason="rebrand"),
        c.SetRejectAnonymous(tenant=acme, extension="2001", enabled=True),
    ]
    app.execute(batch, actor, reason="quarterly review")
    assert [e.reason for e in events_of(app, acme)[-2:]] == ["rebrand", "quarterly review"]


def test_every_event_of_a_batch_carries_the_same_instant_and_actor(app: CallrouteApp, actor: Actor, acme: str) -> None:
    at = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
    batch = [c.SetCallWaiting(tenant=acme, extension=e, enabled=False) for e in ("2001", "2002")]
    app.execute(batch, actor, at=at)
    last_two = events_of(app, acme)[-2:]
    assert [(e.timestamp, e.actor, e.partner, e.reason) for e in last_two] == [(at, "admin@acme", None, None)] * 2


def test_every_event_of_the_fixture_tenant_is_stamped_by_the_stepping_clock(app: CallrouteApp, acme: str) -> None:
    stamps = [e.timestamp for e in events_of(app, acme)]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps) == 3
    assert stamps[0] == datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
