"""Seed 001's tenant defaults: which users a default change reaches (``apply_to``) and where each value comes from.

Each setting resolves user → pinned → tenant default → built-in (core/aggregates/handling.py):

- ``new_users``: existing users keep what they had; users added afterwards get the new default.
- ``unchanged_users``: also every existing user who has not changed the setting.
- ``all_users``: every user, clearing their own changes of it (they may change it again).
"""

from __future__ import annotations

from typing import Any

import pytest

from core.aggregates.context import Actor
from core.aggregates.handling import BUILT_IN, CallHandling
from core.aggregates.targets import AudioFileRef, NoAnswerRule, Off, TextToSpeech, ToExtension, ToNumber, ToVoicemail
from core.errors import InUseError, ValidationFailed
from core.service import CallrouteApp, CommandRejected
from tests.core.conftest import ADMIN, add_audio

UK = "+441234567890"
SETTINGS = CallHandling.__struct_fields__


def handling(app: CallrouteApp, extension: str) -> Any:
    return app.get_user("acme", extension, ADMIN).handling


def stored_user(app: CallrouteApp, extension: str) -> Any:
    return app.tenant("acme").state.users[extension]


# -- new_users -------------------------------------------------------------------------------------


def test_new_users_keeps_existing_users_on_the_built_in_value_they_had(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_default_display_number(actor=actor, tenant=acme, kind="mobile", apply_to="new_users")
    assert app.get_tenant(acme, ADMIN).defaults.display_number == "mobile"
    for extension in ("2001", "2002"):
        resolved = handling(app, extension)
        assert (resolved.display_number, resolved.sources["display_number"]) == ("landline", "pinned")


def test_new_users_gives_users_added_afterwards_the_new_default(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_default_display_number(actor=actor, tenant=acme, kind="mobile", apply_to="new_users")
    app.add_user(actor=actor, tenant=acme, extension="2003", name="Cid")
    resolved = handling(app, "2003")
    assert (resolved.display_number, resolved.sources["display_number"]) == ("mobile", "tenant")
    assert stored_user(app, "2003").pinned == CallHandling()


def test_new_users_keeps_existing_users_on_the_previous_tenant_default(app: CallrouteApp, actor: Actor, acme: str) -> None:
    add_audio(app, actor, acme, "old.wav", "new.wav")
    old = AudioFileRef(audio_file="old.wav")
    new = AudioFileRef(audio_file="new.wav")
    app.set_default_voicemail_greeting(actor=actor, tenant=acme, greeting=old, apply_to="unchanged_users")
    app.set_default_voicemail_greeting(actor=actor, tenant=acme, greeting=new, apply_to="new_users")
    app.add_user(actor=actor, tenant=acme, extension="2003", name="Cid")
    assert [handling(app, e).voicemail_greeting for e in ("2001", "2002", "2003")] == [old, old, new]


def test_new_users_keeps_a_users_own_value_without_pinning_it(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_divert(actor=actor, tenant=acme, extension="2001", condition="no_answer", target=ToVoicemail(), ring_seconds=20)
    app.set_default_no_answer(actor=actor, tenant=acme, target=ToNumber(number=UK), ring_seconds=30, apply_to="new_users")
    ann = handling(app, "2001")
    assert (ann.no_answer, ann.sources["no_answer"]) == (NoAnswerRule(target=ToVoicemail(), ring_seconds=20), "user")
    assert stored_user(app, "2001").pinned.no_answer is None
    assert stored_user(app, "2002").pinned.no_answer == BUILT_IN.no_answer


def test_new_users_pins_only_the_settings_the_change_names(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_default_display_number(actor=actor, tenant=acme, kind="mobile", apply_to="new_users")
    assert stored_user(app, "2002").pinned == CallHandling(display_number="landline")
    sources = handling(app, "2002").sources
    assert {name: sources[name] for name in SETTINGS if name != "display_number"} == dict.fromkeys(
        (n for n in SETTINGS if n != "display_number"), "built_in"
    )


def test_new_users_a_second_time_keeps_each_user_on_what_they_had(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_default_display_number(actor=actor, tenant=acme, kind="mobile", apply_to="new_users")
    app.add_user(actor=actor, tenant=acme, extension="2003", name="Cid")  # joins under "mobile"
    app.set_default_display_number(actor=actor, tenant=acme, kind="landline", apply_to="new_users")
    app.add_user(actor=actor, tenant=acme, extension="2004", name="Dan")  # joins under "landline"
    shown = {e: (handling(app, e).display_number, handling(app, e).sources["display_number"]) for e in ("2001", "2003", "2004")}
    assert shown == {"2001": ("landline", "pinned"), "2003": ("mobile", "pinned"), "2004": ("landline", "tenant")}


def test_new_users_with_a_busy_target_and_call_waiting_pins_both(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_default_busy(actor=actor, tenant=acme, target=ToVoicemail(), call_waiting=False, apply_to="new_users")
    bob = handling(app, "2002")
    assert (bob.busy, bob.call_waiting) == (Off(), True)
    assert (bob.sources["busy"], bob.sources["call_waiting"]) == ("pinned", "pinned")


def test_new_users_keeps_existing_users_on_a_false_tenant_default(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_default_busy(actor=actor, tenant=acme, call_waiting=False, apply_to="all_users")
    assert handling(app, "2001").call_waiting is False
    app.set_default_busy(actor=actor, tenant=acme, call_waiting=True, apply_to="new_users")
    app.add_user(actor=actor, tenant=acme, extension="2003", name="Cid")
    assert [handling(app, e).call_waiting for e in ("2001", "2002", "2003")] == [False, False, True]


# -- unchanged_users ---------------------------------------------------------------------------------


def test_unchanged_users_reaches_existing_users_who_did_not_change_the_setting(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_default_display_number(actor=actor, tenant=acme, kind="mobile", apply_to="unchanged_users")
    for extension in ("2001", "2002"):
        resolved = handling(app, extension)
        assert (resolved.display_number, resolved.sources["display_number"]) == ("mobile", "tenant")


def test_unchanged_users_does_not_reach_users_who_changed_the_setting(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_display_number_preference(actor=actor, tenant=acme, extension="2001", kind="landline")
    app.set_default_display_number(actor=actor, tenant=acme, kind="mobile", apply_to="unchanged_users")
    ann, bob = handling(app, "2001"), handling(app, "2002")
    assert (ann.display_number, ann.sources["display_number"]) == ("landline", "user")
    assert (bob.display_number, bob.sources["display_number"]) == ("mobile", "tenant")


def test_unchanged_users_reaches_users_pinned_by_an_earlier_new_users_change(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_default_display_number(actor=actor, tenant=acme, kind="mobile", apply_to="new_users")
    app.set_default_display_number(actor=actor, tenant=acme, kind="mobile", apply_to="unchanged_users")
    resolved = handling(app, "2001")
    assert (resolved.display_number, resolved.sources["display_number"]) == ("mobile", "tenant")
    assert stored_user(app, "2001").pinned.display_number is None


def test_unchanged_users_leaves_a_users_other_own_settings_alone(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_call_waiting(actor=actor, tenant=acme, extension="2001", enabled=False)
    app.set_default_display_number(actor=actor, tenant=acme, kind="mobile", apply_to="unchanged_users")
    ann = handling(app, "2001")
    assert (ann.call_waiting, ann.sources["call_waiting"], ann.display_number) == (False, "user", "mobile")


# -- all_users -----------------------------------------------------------------------------------------


def test_all_users_overrides_users_own_values(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_display_number_preference(actor=actor, tenant=acme, extension="2001", kind="landline")
    app.set_default_display_number(actor=actor, tenant=acme, kind="mobile", apply_to="all_users")
    ann = app.get_user(acme, "2001", ADMIN)
    assert (ann.handling.display_number, ann.handling.sources["display_number"], ann.own.display_number) == (
        "mobile",
        "tenant",
        None,
    )


def test_all_users_overrides_values_pinned_by_an_earlier_new_users_change(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_default_display_number(actor=actor, tenant=acme, kind="mobile", apply_to="new_users")
    app.set_default_display_number(actor=actor, tenant=acme, kind="mobile", apply_to="all_users")
    assert [handling(app, e).sources["display_number"] for e in ("2001", "2002")] == ["tenant", "tenant"]
    assert stored_user(app, "2001").pinned == CallHandling()


def test_all_users_lets_a_user_change_the_setting_again_afterwards(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_display_number_preference(actor=actor, tenant=acme, extension="2001", kind="landline")
    app.set_default_display_number(actor=actor, tenant=acme, kind="mobile", apply_to="all_users")
    app.set_display_number_preference(actor=actor, tenant=acme, extension="2001", kind="landline")
    ann, bob = handling(app, "2001"), handling(app, "2002")
    assert (ann.display_number, ann.sources["display_number"]) == ("landline", "user")
    assert (bob.display_number, bob.sources["display_number"]) == ("mobile", "tenant")


def test_all_users_clears_only_the_named_setting_of_users_own_values(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_call_waiting(actor=actor, tenant=acme, extension="2001", enabled=False)
    app.set_display_number_preference(actor=actor, tenant=acme, extension="2001", kind="landline")
    app.set_default_display_number(actor=actor, tenant=acme, kind="mobile", apply_to="all_users")
    assert app.get_user(acme, "2001", ADMIN).own == CallHandling(call_waiting=False)


def test_all_users_leaves_nothing_of_the_setting_to_reset(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_display_number_preference(actor=actor, tenant=acme, extension="2001", kind="landline")
    app.set_default_display_number(actor=actor, tenant=acme, kind="mobile", apply_to="all_users")
    with pytest.raises(CommandRejected, match="extension 2001 has no own value for display_number") as excinfo:
        app.reset_call_handling(actor=actor, tenant=acme, extension="2001", settings=("display_number",))
    assert isinstance(excinfo.value.cause, ValidationFailed)


# -- where each value comes from ----------------------------------------------------------------------


def test_sources_say_built_in_for_every_setting_of_a_fresh_tenant(app: CallrouteApp, acme: str) -> None:
    resolved = handling(app, "2001")
    assert resolved.sources == dict.fromkeys(SETTINGS, "built_in")
    assert {name: getattr(resolved, name) for name in SETTINGS} == {name: getattr(BUILT_IN, name) for name in SETTINGS}


def test_sources_name_the_level_each_value_came_from(app: CallrouteApp, actor: Actor, acme: str) -> None:
    greeting = TextToSpeech(text="Acme, lämna ett meddelande.", language="sv")
    app.set_display_number_preference(actor=actor, tenant=acme, extension="2001", kind="mobile")  # user
    app.set_default_voicemail_greeting(actor=actor, tenant=acme, greeting=greeting, apply_to="new_users")  # pinned
    app.set_default_busy(actor=actor, tenant=acme, target=ToVoicemail(), apply_to="unchanged_users")  # tenant
    resolved = handling(app, "2001")
    assert resolved.sources == {
        "voicemail_greeting": "pinned",
        "transcription": "built_in",
        "no_answer": "built_in",
        "busy": "tenant",
        "call_waiting": "built_in",
        "rejected": "built_in",
        "display_number": "user",
    }
    assert (resolved.display_number, resolved.voicemail_greeting, resolved.busy) == ("mobile", BUILT_IN.voicemail_greeting, ToVoicemail())


def test_default_scopes_record_the_latest_apply_to_of_each_setting(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_default_display_number(actor=actor, tenant=acme, kind="mobile", apply_to="new_users")
    app.set_default_transcription(actor=actor, tenant=acme, enabled=True, apply_to="unchanged_users")
    app.set_default_display_number(actor=actor, tenant=acme, kind="landline", apply_to="all_users")
    assert app.get_tenant(acme, ADMIN).default_scopes == {"display_number": "all_users", "transcription": "unchanged_users"}


# -- defaults meet other commands ---------------------------------------------------------------------


def test_a_no_answer_divert_without_ring_seconds_takes_the_tenant_defaults_ring_time(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_default_no_answer(actor=actor, tenant=acme, target=Off(), ring_seconds=45, apply_to="unchanged_users")
    app.set_divert(actor=actor, tenant=acme, extension="2001", condition="no_answer", target=ToVoicemail())
    assert handling(app, "2001").no_answer == NoAnswerRule(target=ToVoicemail(), ring_seconds=45)


def test_a_no_answer_divert_without_ring_seconds_takes_the_pinned_ring_time(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_default_no_answer(actor=actor, tenant=acme, target=Off(), ring_seconds=45, apply_to="unchanged_users")
    app.set_default_no_answer(actor=actor, tenant=acme, target=Off(), ring_seconds=15, apply_to="new_users")
    app.set_divert(actor=actor, tenant=acme, extension="2001", condition="no_answer", target=ToVoicemail())
    assert handling(app, "2001").no_answer == NoAnswerRule(target=ToVoicemail(), ring_seconds=45)


def test_a_pinned_value_that_routes_to_a_user_keeps_that_user_from_being_removed(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_default_busy(actor=actor, tenant=acme, target=ToExtension(extension="2001"), apply_to="unchanged_users")
    app.set_default_busy(actor=actor, tenant=acme, target=ToVoicemail(), apply_to="new_users")  # 2002 keeps "busy → 2001"
    assert handling(app, "2002").busy == ToExtension(extension="2001")
    with pytest.raises(CommandRejected, match="extension 2001 is still used by: user 2002: pinned.busy") as excinfo:
        app.remove_user(actor=actor, tenant=acme, extension="2001")
    assert isinstance(excinfo.value.cause, InUseError)


def test_a_tenant_rebuilt_from_its_events_resolves_defaults_like_the_live_one(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_display_number_preference(actor=actor, tenant=acme, extension="2001", kind="mobile")
    app.set_default_display_number(actor=actor, tenant=acme, kind="mobile", apply_to="new_users")
    app.add_user(actor=actor, tenant=acme, extension="2003", name="Cid")
    add_audio(app, actor, acme, "a.wav")
    app.set_default_voicemail_greeting(actor=actor, tenant=acme, greeting=AudioFileRef(audio_file="a.wav"), apply_to="unchanged_users")
    app.set_default_busy(actor=actor, tenant=acme, target=ToVoicemail(), call_waiting=False, apply_to="all_users")
    live = app.tenant(acme)
    rebuilt = app.tenant(acme, version=live.version)
    assert rebuilt is not live
    assert rebuilt.state == live.state
    assert [rebuilt.state.resolved(e) for e in ("2001", "2002", "2003")] == [live.state.resolved(e) for e in ("2001", "2002", "2003")]
