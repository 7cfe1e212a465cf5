"""An admin's daily verbs: users, diverts, out-of-hours schedules, group members, and read-only service views.

Every test works on its own copy of a store built once from the seed files, through the
command line with a fixed clock (``run`` of test_cli).
"""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest

from adapters.cli import cli
from tests.adapters.test_cli import ADMIN, SEED_EVENTS, run

T = "nordic-dental"


def ok(db: Path, *args: str) -> str:
    """Run as the tenant's admin; fail the test unless the command succeeds."""
    code, out, err = run(db, *args, actor=ADMIN)
    assert code == 0, err
    return out


def refused(db: Path, *args: str) -> str:
    """Run as the tenant's admin; the command must be refused as bad input (exit 2); its stderr."""
    code, _, err = run(db, *args, actor=ADMIN)
    assert code == 2, err
    return err


def as_json(db: Path, *args: str) -> object:
    return json.loads(ok(db, *args, "--json"))


def user_json(db: Path, extension: str) -> dict[str, object]:
    return as_json(db, "user", "show", "--tenant", T, "--extension", extension)  # type: ignore[return-value]


def diverts(db: Path, extension: str) -> dict[str, object]:
    return as_json(db, "divert", "show", "--tenant", T, "--extension", extension)  # type: ignore[return-value]


def schedule(db: Path, extension: str) -> dict[str, object] | None:
    return as_json(db, "out-of-hours", "show", "--tenant", T, "--extension", extension)["out_of_hours"]  # type: ignore[index]


def members(db: Path, group: str) -> list[dict[str, object]]:
    return as_json(db, "group", "show", "--tenant", T, "--group", group)["members"]  # type: ignore[index]


OFF = {"kind": "off"}


# -- user -------------------------------------------------------------------------------------


def test_user_list_shows_extension_name_email_numbers_licence_and_forward_always(db: Path) -> None:
    out = ok(db, "user", "list", "--tenant", T)
    assert "4 users" in out
    anna = next(line for line in out.splitlines() if line.startswith("2001"))
    assert anna.split() == ["2001", "Anna", "Lind", "anna@nordic-dental.example", "+46812345670", "pro", "off"]
    carla = next(line for line in out.splitlines() if line.startswith("2003"))
    assert carla.endswith("extension 2002")


def test_user_list_json_has_one_entry_per_user(db: Path) -> None:
    users = as_json(db, "user", "list", "--tenant", T)
    assert [u["extension"] for u in users] == ["2001", "2002", "2003", "2004"]  # type: ignore[index,union-attr]
    assert users[2]["forward_always"] == {"kind": "extension", "extension": "2002"}  # type: ignore[index]


def test_user_show_prints_every_setting_with_where_call_handling_comes_from(db: Path) -> None:
    out = ok(db, "user", "show", "--tenant", T, "--extension", "2001")
    assert out.startswith("2001  Anna Lind <anna@nordic-dental.example> [Pro]")
    assert "device: 00:1a:2b:3c:4d:5e Yealink T54W" in out
    assert "no answer: after 20 s → extension 2002 [set for this user]" in out
    assert "  transcription       tenant default" in out
    assert "  call waiting        built-in default" in out


def test_user_show_json_carries_resolved_handling_and_its_sources(db: Path) -> None:
    user = user_json(db, "2004")
    assert user["out_of_hours"]["when_unavailable"] == {"kind": "voicemail", "extension": None}  # type: ignore[index]
    assert user["handling"]["sources"]["rejected"] == "tenant"  # type: ignore[index]
    assert "pin_hash" not in user


def test_user_show_of_an_unknown_extension_names_the_flag(db: Path) -> None:
    assert "--extension 9999" in refused(db, "user", "show", "--tenant", T, "--extension", "9999")


def test_reading_users_needs_permission_on_the_tenant(db: Path) -> None:
    code, _, err = run(db, "user", "list", "--tenant", T, actor="stranger@elsewhere.example")
    assert code == 3, err


# -- divert -----------------------------------------------------------------------------------


def test_divert_show_lists_the_four_diverts_and_the_ring_time(db: Path) -> None:
    out = ok(db, "divert", "show", "--tenant", T, "--extension", "2001")
    assert "forward always  off" in out
    assert "no answer       extension 2002 (set for this user); ring time 20 s" in out
    assert "busy            voicemail (set for this user)" in out
    assert "unreachable     off" in out


def test_divert_show_json_has_every_divert_and_the_ring_time(db: Path) -> None:
    assert diverts(db, "2004") == {
        "extension": "2004", "always": OFF, "no_answer": OFF, "ring_seconds": 300, "busy": OFF,
        "unreachable": {"kind": "external", "number": "+447911123456", "announce": True, "present_dialled_number": False,
                        "always": False},
        "sources": {"no_answer": "built_in", "busy": "built_in"},
    }


def test_divert_clear_turns_one_divert_off_and_leaves_the_others(db: Path) -> None:
    out = ok(db, "divert", "clear", "--tenant", T, "--extension", "2001", "--when", "busy")
    assert f"now at version {SEED_EVENTS + 1}" in out
    after = diverts(db, "2001")
    assert after["busy"] == OFF
    assert after["no_answer"] == {"kind": "extension", "extension": "2002"}


def test_divert_clear_all_changes_only_the_diverts_that_are_not_off_already_in_one_batch(db: Path) -> None:
    # 2001 has its own no-answer and busy diverts; forward always and unreachable are off already.
    out = ok(db, "divert", "clear", "--tenant", T, "--extension", "2001", "--when", "all")
    assert f"now at version {SEED_EVENTS + 1}" in out
    assert "forward always and unreachable already off" in out
    after = diverts(db, "2001")
    assert [after[k] for k in ("always", "no_answer", "busy", "unreachable")] == [OFF] * 4


def test_divert_clear_of_an_unknown_extension_names_the_flag_and_stores_nothing(db: Path) -> None:
    err = refused(db, "divert", "clear", "--tenant", T, "--extension", "9999", "--when", "all")
    assert "--extension 9999" in err
    assert "nothing was stored" in err
    assert f"now at version {SEED_EVENTS + 1}" in ok(db, "divert", "clear", "--tenant", T, "--extension", "2001", "--when", "busy")


# -- out-of-hours -----------------------------------------------------------------------------


def test_out_of_hours_set_stores_windows_whole_days_and_where_calls_go(db: Path) -> None:
    out = ok(db, "out-of-hours", "set", "--tenant", T, "--extension", "2002", "--unavailable", "mon-fri 18:00-8:00",
             "--unavailable-all-day", "sat,sun", "--when-unavailable", "2001")
    assert "2002: out of hours on: unavailable mon-fri 18:00-08:00, sat-sun all day → extension 2001" in out
    stored = schedule(db, "2002")
    assert stored["enabled"] is True  # type: ignore[index]
    assert stored["days"]["wed"] == {"mode": "unavailable_between", "start": "18:00", "end": "08:00"}  # type: ignore[index]
    assert stored["days"]["sun"] == {"mode": "unavailable"}  # type: ignore[index]
    assert stored["when_unavailable"] == {"kind": "extension", "extension": "2001"}  # type: ignore[index]


def test_out_of_hours_set_leaves_days_not_named_available(db: Path) -> None:
    ok(db, "out-of-hours", "set", "--tenant", T, "--extension", "2002", "--unavailable-all-day", "fri")
    days = schedule(db, "2002")["days"]  # type: ignore[index]
    assert days["fri"] == {"mode": "unavailable"}
    assert days["mon"] == {"mode": "available"}


def test_out_of_hours_set_refuses_a_day_named_twice(db: Path) -> None:
    err = refused(db, "out-of-hours", "set", "--tenant", T, "--extension", "2002", "--unavailable", "mon-fri 18:00-08:00",
                  "--available-all-day", "fri")
    assert "--available-all-day fri: fri is already given by --unavailable 'mon-fri 18:00-08:00'" in err


def test_out_of_hours_set_refuses_a_window_that_is_not_days_and_times(db: Path) -> None:
    err = refused(db, "out-of-hours", "set", "--tenant", T, "--extension", "2002", "--unavailable", "weekdays 6pm")
    assert "--unavailable 'weekdays 6pm'" in err


def test_out_of_hours_set_refusal_names_the_when_unavailable_flag(db: Path) -> None:
    err = refused(db, "out-of-hours", "set", "--tenant", T, "--extension", "2002", "--unavailable-all-day", "sat",
                  "--when-unavailable", "9999")
    assert "--when-unavailable 9999: tenant 'nordic-dental' has no extension '9999'" in err


def test_out_of_hours_show_lists_each_weekday_and_where_calls_go(db: Path) -> None:
    out = ok(db, "out-of-hours", "show", "--tenant", T, "--extension", "2004")
    assert "out of hours on; while unavailable → voicemail" in out
    assert "  mon  unavailable 18:00-09:00 (until 09:00 the next day)" in out
    assert "  sun  unavailable all day" in out


def test_out_of_hours_show_json_lists_all_seven_days(db: Path) -> None:
    ok(db, "out-of-hours", "set", "--tenant", T, "--extension", "2002", "--unavailable-all-day", "sat")
    assert list(schedule(db, "2002")["days"]) == ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]  # type: ignore[index]


def test_out_of_hours_show_of_a_user_without_a_schedule_says_so(db: Path) -> None:
    assert "no out-of-hours schedule" in ok(db, "out-of-hours", "show", "--tenant", T, "--extension", "2001")
    assert schedule(db, "2001") is None


def test_out_of_hours_off_keeps_the_schedule_but_turns_it_off(db: Path) -> None:
    before = schedule(db, "2004")
    ok(db, "out-of-hours", "off", "--tenant", T, "--extension", "2004")
    assert schedule(db, "2004") == {**before, "enabled": False}  # type: ignore[dict-item]


def test_out_of_hours_on_turns_a_kept_schedule_on_again(db: Path) -> None:
    ok(db, "out-of-hours", "off", "--tenant", T, "--extension", "2004")
    ok(db, "out-of-hours", "on", "--tenant", T, "--extension", "2004")
    assert schedule(db, "2004")["enabled"] is True  # type: ignore[index]


def test_out_of_hours_off_without_a_schedule_is_refused(db: Path) -> None:
    assert "--extension 2001: has no out-of-hours schedule" in refused(db, "out-of-hours", "off", "--tenant", T,
                                                                         "--extension", "2001")


# -- groups -----------------------------------------------------------------------------------


def test_group_list_shows_members_in_order_with_the_excluded_one_marked(db: Path) -> None:
    out = ok(db, "group", "list", "--tenant", T)
    reception = next(line for line in out.splitlines() if line.startswith("reception"))
    assert "2001, 2002 (excluded), cloud:nordic-dental-malmo/3001, sip:kyiv-office/101" in reception
    assert reception.endswith("205 on PBX kyiv-office")


def test_group_show_marks_an_excluded_member_as_excluded(db: Path) -> None:
    out = ok(db, "group", "show", "--tenant", T, "--group", "reception")
    assert "member 2           extension 2002, rings 20 s, excluded  [--member 2002]" in out
    assert "member 1           extension 2001, rings 20 s  [--member 2001]" in out


def test_group_show_names_members_on_other_pbxs(db: Path) -> None:
    out = ok(db, "group", "show", "--tenant", T, "--group", "reception")
    assert "3001 (cloud PBX nordic-dental-malmo), rings 25 s  [--member cloud:nordic-dental-malmo/3001]" in out
    assert "internal number 101 (SIP PBX kyiv-office), rings 25 s  [--member sip:kyiv-office/101]" in out


def test_group_show_json_spells_out_every_members_ring_time_and_exclusion(db: Path) -> None:
    assert members(db, "reception")[1] == {"member": "2002", "ref": {"on": "local", "extension": "2002"},
                                           "ring_seconds": 20, "excluded": True}


def test_group_show_of_an_unknown_group_names_the_flag_and_the_groups(db: Path) -> None:
    err = refused(db, "group", "show", "--tenant", T, "--group", "nope")
    assert "--group nope: tenant 'nordic-dental' has no answer group 'nope' (it has: billing, reception, sales)" in err


def test_group_member_add_puts_a_local_member_last_with_its_ring_time(db: Path) -> None:
    ok(db, "group", "member", "add", "--tenant", T, "--group", "sales", "--member", "2003", "--ring-seconds", "30")
    assert members(db, "sales")[-1] == {"member": "2003", "ref": {"on": "local", "extension": "2003"}, "ring_seconds": 30,
                                        "excluded": False}


def test_group_member_add_takes_a_member_of_a_sip_pbx(db: Path) -> None:
    ok(db, "group", "member", "add", "--tenant", T, "--group", "sales", "--member", "sip:kyiv-office/102")
    assert members(db, "sales")[-1]["ref"] == {"on": "sip", "pbx": "kyiv-office", "internal_number": "102"}


def test_group_member_add_takes_a_member_of_another_cloud_pbx(db: Path) -> None:
    ok(db, "group", "member", "add", "--tenant", T, "--group", "sales", "--member", "cloud:nordic-dental-malmo/3002")
    assert members(db, "sales")[-1]["ref"] == {"on": "cloud", "pbx": "nordic-dental-malmo", "member": "3002"}


def test_group_member_add_of_an_unknown_extension_names_the_member_flag(db: Path) -> None:
    err = refused(db, "group", "member", "add", "--tenant", T, "--group", "sales", "--member", "9999")
    assert "--member 9999: tenant 'nordic-dental' has no extension '9999'" in err


def test_group_member_add_to_an_unknown_group_names_the_group_flag(db: Path) -> None:
    assert "--group nope:" in refused(db, "group", "member", "add", "--tenant", T, "--group", "nope", "--member", "2001")


def test_group_member_written_wrongly_is_refused_with_the_shapes_it_takes(db: Path) -> None:
    err = refused(db, "group", "member", "add", "--tenant", T, "--group", "sales", "--member", "ftp:kyiv-office")
    assert "--member ftp:kyiv-office: write an extension (2001), cloud:PBX/MEMBER or sip:PBX/NUMBER" in err


def test_group_member_remove_takes_the_member_out(db: Path) -> None:
    ok(db, "group", "member", "remove", "--tenant", T, "--group", "reception", "--member", "sip:kyiv-office/101")
    assert [m["member"] for m in members(db, "reception")] == ["2001", "2002", "cloud:nordic-dental-malmo/3001"]


def test_group_member_exclude_shows_the_member_as_excluded(db: Path) -> None:
    ok(db, "group", "member", "exclude", "--tenant", T, "--group", "reception", "--member", "2001")
    out = ok(db, "group", "show", "--tenant", T, "--group", "reception")
    assert "extension 2001, rings 20 s, excluded" in out


def test_group_member_exclude_of_an_excluded_member_names_the_flag(db: Path) -> None:
    err = refused(db, "group", "member", "exclude", "--tenant", T, "--group", "reception", "--member", "2002")
    assert "--member 2002: extension 2002 is already excluded" in err


def test_group_member_include_brings_an_excluded_member_back(db: Path) -> None:
    ok(db, "group", "member", "include", "--tenant", T, "--group", "reception", "--member", "2002")
    assert members(db, "reception")[1]["excluded"] is False


def test_group_member_reorder_sets_the_ringing_order(db: Path) -> None:
    ok(db, "group", "member", "reorder", "--tenant", T, "--group", "billing", "--order", "2003,2002")
    assert [m["member"] for m in members(db, "billing")] == ["2003", "2002"]


def test_group_member_reorder_that_leaves_out_a_member_names_the_order_flag(db: Path) -> None:
    err = refused(db, "group", "member", "reorder", "--tenant", T, "--group", "billing", "--order", "2003")
    assert "--order 2003: order must list every current member exactly once" in err


# -- queues, IVR menus, schemes, numbers --------------------------------------------------------


def test_queue_list_shows_agents_strategy_and_waiting_limits(db: Path) -> None:
    out = ok(db, "queue", "list", "--tenant", T)
    row = next(line for line in out.splitlines() if line.startswith("support"))
    assert row.split("  ")[0:1] == ["support"]
    for text in ("Support queue", "2002, 2003", "longest idle", "20 s", "300 s", "voicemail of 2002"):
        assert text in row


def test_queue_show_shows_every_setting(db: Path) -> None:
    out = ok(db, "queue", "show", "--tenant", T, "--queue", "support")
    assert out.startswith("queue support: Support queue")
    for text in ("agents              2002, 2003", "wrap-up             30 s", "longest wait        300 s, then voicemail of 2002",
                 "announcements       position every 60 s", "hold music          hold-jazz"):
        assert text in out


def test_queue_show_of_an_unknown_queue_names_the_flag(db: Path) -> None:
    assert "--queue nope: tenant 'nordic-dental' has no queue 'nope'" in refused(db, "queue", "show", "--tenant", T,
                                                                                 "--queue", "nope")


def test_ivr_list_shows_options_and_opening_hours(db: Path) -> None:
    out = ok(db, "ivr", "list", "--tenant", T)
    assert "1 → answer group reception; 2 → queue support; 3 → scheme sales-hours" in out
    assert "mon-fri 08:00-17:00" in out


def test_ivr_show_lists_each_digit_prompt_and_hours(db: Path) -> None:
    out = ok(db, "ivr", "show", "--tenant", T, "--ivr", "main")
    for text in ("prompt             audio file 'welcome-sv'", "press 2            queue support",
                 "waits for a digit  5 s, 2 retries", "open               mon-fri 08:00-17:00",
                 "when closed        voicemail of 2001"):
        assert text in out


def test_scheme_list_shows_steps_with_their_timeouts(db: Path) -> None:
    out = ok(db, "scheme", "list", "--tenant", T)
    assert "extension 2004 (30 s) → +46701234568 (30 s) → voicemail of 2004 (20 s)" in out


def test_scheme_show_lists_steps_backup_and_working_hours(db: Path) -> None:
    out = ok(db, "scheme", "show", "--tenant", T, "--scheme", "sales-hours")
    for text in ("step 1            extension 2004, rings 30 s", "step 3            voicemail of 2004, rings 20 s",
                 "backup 1          +46701234568, rings 30 s", "working hours     mon-fri 09:00-18:00",
                 "outside hours     voicemail of 2004"):
        assert text in out


def test_number_list_shows_where_each_number_enters_and_the_unassigned_handling(db: Path) -> None:
    out = ok(db, "number", "list", "--tenant", T)
    assert "+46812345601  IVR menu main" in out
    assert "+46812345603  unassigned: forward to extension 2001" in out
    assert out.rstrip().endswith("calls to a number that routes nowhere: forward to extension 2001")


def test_number_list_json_has_every_number_and_the_unassigned_handling(db: Path) -> None:
    document = as_json(db, "number", "list", "--tenant", T)
    assert len(document["numbers"]) == 6  # type: ignore[index]
    assert document["unassigned"] == {"action": "forward", "target": {"kind": "extension", "extension": "2001"}}  # type: ignore[index]


@pytest.mark.parametrize(("verb", "key", "expected"), [
    (("group", "list"), "group", ["billing", "reception", "sales"]),
    (("queue", "list"), "queue", ["support"]),
    (("ivr", "list"), "ivr", ["main"]),
    (("scheme", "list"), "scheme", ["sales-hours"]),
])
def test_service_lists_in_json_name_each_item_by_its_id(db: Path, verb: tuple[str, str], key: str, expected: list[str]) -> None:
    assert [item[key] for item in as_json(db, *verb, "--tenant", T)] == expected  # type: ignore[index,union-attr]


@pytest.mark.parametrize(("verb", "option", "key"), [
    (("queue", "show"), "--queue", "support"),
    (("ivr", "show"), "--ivr", "main"),
    (("scheme", "show"), "--scheme", "sales-hours"),
])
def test_service_show_in_json_has_the_whole_content(db: Path, verb: tuple[str, str], option: str, key: str) -> None:
    document = as_json(db, *verb, "--tenant", T, option, key)
    content = {"queue": "agents", "ivr": "options", "scheme": "steps"}[verb[0]]
    assert document[verb[0]] == key and document[content]  # type: ignore[index]


# -- the lead's rules for every verb -------------------------------------------------------------

NEW_VERBS = [("user", "list"), ("user", "show"), ("divert", "show"), ("divert", "clear"), ("out-of-hours", "set"),
             ("out-of-hours", "show"), ("out-of-hours", "off"), ("out-of-hours", "on"), ("group", "list"), ("group", "show"),
             ("group", "member", "add"), ("group", "member", "remove"), ("group", "member", "exclude"),
             ("group", "member", "include"), ("group", "member", "reorder"), ("queue", "list"), ("queue", "show"),
             ("ivr", "list"), ("ivr", "show"), ("scheme", "list"), ("scheme", "show"), ("number", "list")]


def command_at(path: tuple[str, ...]) -> click.Command:
    ctx = click.Context(cli)
    command: click.Command = cli
    for name in path:
        found = command.get_command(ctx, name)  # type: ignore[attr-defined]
        assert found is not None, path
        command = found
    return command


@pytest.mark.parametrize("path", NEW_VERBS, ids=" ".join)
def test_every_new_verb_takes_tenant_as_an_option_and_explains_itself(path: tuple[str, ...]) -> None:
    command = command_at(path)
    first_line = (command.help or "").strip().splitlines()[0]
    assert first_line.endswith(".") and "`" not in first_line and "::" not in first_line
    assert "--tenant" in {opt for p in command.params for opt in getattr(p, "opts", ())}
    assert not [p.name for p in command.params if isinstance(p, click.Argument)]
    assert all(p.help for p in command.params if isinstance(p, click.Option)), path


@pytest.mark.parametrize("name", ["queue", "ivr", "scheme", "number", "group"])
def test_each_read_only_group_says_that_creating_stays_with_apply(name: str) -> None:
    assert "callroute apply" in (command_at((name,)).help or "")
