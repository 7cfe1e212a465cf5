"""A new user's first hour: what the command line says, in callroute's words, and what it leaves behind.

Each test pins one behaviour a new user tripped over: the demo replacing a file it did not make,
tables and trees cut at 80 columns, internal values and dumps in human output, errors that do
not name what was typed, raw schema text, empty store files left by refused commands, diverts
cleared twice, the demo's export line, and the wording of help and messages.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import click
import msgspec
import pytest

from adapters.cli import cli
from core.clock import SteppingClock
from tests.adapters.clirun import NOW, invoke
from tests.adapters.test_cli import ADMIN, SEED_EVENTS, run, stored_rows, write_json
from tests.adapters.test_cli_help import COMMANDS
from tests.backends import copy_store

T = "nordic-dental"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A store made by ``callroute demo``, and what the demo printed."""
    db = tmp_path_factory.mktemp("demo") / "callroute-demo.sqlite"
    result = invoke(["demo", "--db", str(db)])
    assert result.exit_code == 0, result.output
    return db, result.stdout


def ok(db: Path, *args: str) -> str:
    code, out, err = run(db, *args, actor=ADMIN)
    assert code == 0, err
    return out


def refused(db: Path, *args: str, actor: str = ADMIN, status: int = 2) -> str:
    """The one error line of a refused command (stderr may also say how an instant was read)."""
    code, _, err = run(db, *args, actor=actor)
    assert code == status, err
    errors = [line for line in err.splitlines() if line.startswith("callroute: error: ")]
    assert len(errors) == 1, err
    return errors[0].removeprefix("callroute: error: ")


# -- 1. the demo recreates only its own store ----------------------------------------------------


@pytest.mark.parametrize("where", ["before", "after"])
def test_demo_refuses_to_replace_a_file_that_is_not_a_store_and_leaves_it_as_it_was(tmp_path: Path, where: str) -> None:
    keep = tmp_path / "keep.sqlite"
    keep.write_text("my notes\n")
    args = ["--db", str(keep), "demo"] if where == "before" else ["demo", "--db", str(keep)]
    result = invoke(args)
    assert result.exit_code == 2
    assert str(keep) in result.stderr and "choose another path" in result.stderr
    assert result.stderr.count("\n") == 1
    assert keep.read_text() == "my notes\n"


@pytest.mark.sqlite_only  # the demo recreates its SQLite file; see tests/backends.py
def test_demo_refuses_to_replace_a_store_with_other_tenants(tmp_path: Path) -> None:
    db = tmp_path / "mine.sqlite"
    assert run(db, "tenant", "create", "--tenant", "acme", "--name", "Acme", "--time-zone", "Europe/London")[0] == 0
    result = invoke(["demo", "--db", str(db)])
    assert result.exit_code == 2
    assert "acme" in result.stderr and "choose another path" in result.stderr
    assert stored_rows(db) == 1


@pytest.mark.sqlite_only  # the demo recreates its SQLite file; see tests/backends.py
def test_demo_recreates_a_store_an_earlier_demo_made(tmp_path: Path) -> None:
    db = tmp_path / "callroute-demo.sqlite"
    assert invoke(["demo", "--db", str(db)]).exit_code == 0
    run(db, "divert", "set", "--tenant", T, "--extension", "2002", "--when", "busy", "--to", "voicemail", actor=ADMIN)
    again = invoke(["demo", "--db", str(db)])
    assert again.exit_code == 0, again.output
    assert "It is at version 39" in again.stdout


def assert_demo_refuses(db: Path, what: str) -> None:
    """Running the demo again on ``db`` is refused in one line naming ``what`` it would delete, and nothing changes."""
    before = stored_rows(db)
    again = invoke(["demo", "--db", str(db)])
    assert again.exit_code == 2
    assert again.stderr == (f"callroute: error: {db} is an earlier demo's store, but it also holds {what}, which recreating "
                            "the demo would delete; choose another path with --db, or remove the file\n")
    assert stored_rows(db) == before


@pytest.mark.sqlite_only  # the demo recreates its SQLite file; see tests/backends.py
def test_demo_refuses_to_delete_the_tokens_issued_on_its_store_and_says_so(tmp_path: Path) -> None:
    db = tmp_path / "callroute-demo.sqlite"
    assert invoke(["demo", "--db", str(db)]).exit_code == 0
    issued = invoke(["token", "create", "--db", str(db), "--principal", ADMIN])
    assert issued.exit_code == 0, issued.output
    assert_demo_refuses(db, "bearer tokens (an access record: callroute token create)")


@pytest.mark.sqlite_only  # the demo recreates its SQLite file; see tests/backends.py
def test_demo_refuses_to_delete_the_call_events_ingested_on_its_store_and_says_so(tmp_path: Path) -> None:
    from tests.adapters.test_cli_calls import ANN, call, store

    db = tmp_path / "callroute-demo.sqlite"
    assert invoke(["demo", "--db", str(db)]).exit_code == 0
    assert store(db, call("c1", ANN)).stats.stored == 2
    assert_demo_refuses(db, "2 call events (callroute ingest)")


# -- 2. tables and trees at 80 columns -----------------------------------------------------------


@pytest.fixture
def terminal_80(monkeypatch: pytest.MonkeyPatch) -> None:
    """Output as on an 80-column terminal: rich tables and trees."""
    monkeypatch.setattr("adapters.cli.output.on_terminal", lambda: True)
    monkeypatch.setenv("COLUMNS", "80")


@pytest.mark.parametrize(("args", "ids"), [
    (["tenant", "list"], ["nordic-dental-malmo", "nordic-dental"]),
    (["group", "list", "--tenant", T], ["billing", "reception", "sales"]),
    (["user", "list", "--tenant", T], ["2001", "2002", "2003", "2004"]),
])
def test_tables_at_80_columns_truncate_nothing_and_keep_every_id_whole(db: Path, terminal_80: None, args: list[str],
                                                                          ids: list[str]) -> None:
    out = ok(db, *args)
    assert "…" not in out
    assert all(len(line) <= 80 for line in out.splitlines())
    first_column = [line.split("│")[1].strip() for line in out.splitlines() if line.startswith("│")]
    assert [cell for cell in first_column if cell] == ids


def test_plan_trees_at_80_columns_wrap_long_labels_instead_of_cutting_them(demo_store: tuple[Path, str],
                                                                            terminal_80: None) -> None:
    db, _ = demo_store
    out = ok(db, "explain", "--tenant", T, "--to", "+46812345601", "--from", "441234567890",
             "--at", "2026-11-20T17:59:59+01:00", "--digits", "3")
    plan = out.split("Plan:\n", 1)[1].split("\nWhy:", 1)[0]
    assert all(len(line) <= 80 for line in plan.splitlines())
    assert "…" not in plan
    words = " ".join(plan.split())
    assert "voicemail of 2001: text-to-speech [sv-SE] 'Välkommen till Nordic Dental. Lämna ett meddelande efter tonen.'" in words


# -- 3. values in words --------------------------------------------------------------------------

INTERNAL = re.compile(r"\b(round_robin|longest_idle|busy_tone|all_users|unchanged_users|message_and_hang_up|"
                      r"unavailable_between|telephony_admin)\b")


def test_tenant_show_table_and_as_of_write_strategies_in_words(db: Path) -> None:
    for args in (["tenant", "show", "--tenant", T], ["table", "--tenant", T, "--desired"],
                 ["audit", "as-of", "--tenant", T, "--desired"]):
        out = ok(db, *args)
        assert INTERNAL.search(out) is None, (args, INTERNAL.search(out))
        assert "round robin" in out and "longest idle" in out


def test_human_output_writes_durations_as_number_space_s(db: Path) -> None:
    for args in (["tenant", "show", "--tenant", T], ["table", "--tenant", T, "--desired"]):
        out = ok(db, *args)
        assert re.search(r"\d+s\b", out) is None, re.search(r".*\d+s\b.*", out)
    assert "after 20 s → extension 2002" in ok(db, "tenant", "show", "--tenant", T)


def test_history_writes_tags_in_words(db: Path) -> None:
    out = ok(db, "audit", "history", "--tenant", T)
    assert INTERNAL.search(out) is None, INTERNAL.search(out)
    assert "tenant: default applies to › transcription: — → all users" in out
    assert "settings › strategy: round robin" in out


def test_history_describes_destinations_and_handlings_as_the_rest_of_the_cli(db: Path) -> None:
    out = ok(db, "audit", "history", "--tenant", T)
    assert "tenant: default › rejected: — → message and hang up: text-to-speech [sv-SE] 'We cannot take your call right now.'" in out
    assert "user 2001: own setting › no answer: — → after 20 s → extension 2002" in out
    assert "tenant: unassigned: busy tone → forward to extension 2001" in out
    assert "{" not in out and "[" not in out.replace("[sv-SE]", "").replace("[und]", "")


def test_history_and_diff_list_group_members_with_their_ring_times(db: Path) -> None:
    out = ok(db, "audit", "history", "--tenant", T)
    assert ("members: 2001 (20 s), 2002 (20 s), cloud:nordic-dental-malmo/3001 (25 s), sip:kyiv-office/101 (25 s) → "
            "2001 (20 s), 2002 (20 s, excluded), cloud:nordic-dental-malmo/3001 (25 s), sip:kyiv-office/101 (25 s)") in out
    diff = ok(db, "audit", "diff", "--tenant", T, "--from", "1", "--to", str(SEED_EVENTS))
    assert "members: 2002 (20 s), 2003 (20 s)" in diff


def test_history_shows_instants_in_the_tenant_zone_to_the_second(db: Path) -> None:
    clock = SteppingClock(NOW.replace(microsecond=274011))
    result = invoke(["--db", str(db), "--actor", ADMIN, "provision", "confirm", "--tenant", T, "--version", str(SEED_EVENTS)],
                    clock=clock)
    assert result.exit_code == 0, result.output
    out = ok(db, "audit", "history", "--tenant", T, "--since", "2026-11-23")
    assert "provisioning: live version: — → version 37, live since 2026-11-23 10:00:00+01:00" in out
    assert "274011" not in out and "+00:00" not in out


def test_history_lists_office_hours_days_in_week_order(db: Path) -> None:
    ok(db, "provision", "policy", "--tenant", T, "--office-hours", "mon-fri 09:00-17:00", "--time-zone", "Europe/London")
    out = ok(db, "audit", "history", "--tenant", T, "--since", "2026-11-23")
    days = re.findall(r"office hours › days › (\w+):", out)
    assert days == ["mon", "tue", "wed", "thu", "fri"]


def test_history_json_keeps_the_raw_values(db: Path) -> None:
    entries = json.loads(ok(db, "audit", "history", "--tenant", T, "--json"))
    values = json.dumps([c for e in entries for c in e["changes"]])
    assert '"busy_tone"' in values and '"all_users"' in values and '"round_robin"' in values


def test_diff_says_value_in_the_singular_for_one_change(db: Path) -> None:
    ok(db, "divert", "set", "--tenant", T, "--extension", "2002", "--when", "busy", "--to", "voicemail")
    out = ok(db, "audit", "diff", "--tenant", T, "--from", str(SEED_EVENTS), "--to", str(SEED_EVENTS + 1))
    assert out.splitlines()[0] == f"{T}: version {SEED_EVENTS} → {SEED_EVENTS + 1}, 1 value changed"


# -- 4. errors name what was typed ---------------------------------------------------------------


def test_an_unknown_tenant_names_the_flag_and_the_tenants_you_may_read(db: Path) -> None:
    err = refused(db, "group", "list", "--tenant", "nordic", status=3)
    assert err == (f"--tenant nordic: no tenant 'nordic' that '{ADMIN}' may read; tenants you may read: nordic-dental, "
                   f"nordic-dental-malmo (name who acts with --actor PRINCIPAL or CALLROUTE_ACTOR; now acting as {ADMIN})")


def test_an_unknown_tenant_reads_the_same_in_audit_verify_as_elsewhere(db: Path) -> None:
    assert refused(db, "audit", "verify", "--tenant", "nordic", status=3) == refused(db, "tenant", "show", "--tenant", "nordic", status=3)


def test_a_permission_refusal_names_the_tenant_flag(db: Path) -> None:
    err = refused(db, "group", "list", "--tenant", T, actor="x", status=3)
    assert err.startswith(f"--tenant {T}: no tenant '{T}' that 'x' may read")


def test_an_unknown_number_in_explain_names_to(db: Path) -> None:
    err = refused(db, "explain", "--tenant", T, "--to", "+99912", "--desired")
    assert err.startswith("--to +99912: ")


def test_provision_confirm_names_at_when_the_instant_is_refused(db: Path) -> None:
    err = refused(db, "provision", "confirm", "--tenant", T, "--version", "5", "--at", "2020-01-01")
    assert err.startswith("--at 2020-01-01: version 5 was made at 2026-11-23 10:00:00+01:00")


def test_a_refusal_names_the_flag_in_the_message_too(db: Path) -> None:
    err = refused(db, "divert", "set", "--tenant", T, "--extension", "2002", "--when", "busy", "--to", "voicemail",
                  "--ring-seconds", "30")
    assert err.startswith("--ring-seconds 30: ") and "ring_seconds" not in err


# Each verb that changes something, with arguments valid on the seeded store.
WRITING_VERBS = [
    ["tenant", "create", "--tenant", "newco", "--name", "New Co", "--time-zone", "UTC", "--plan", "light"],
    ["user", "add", "--tenant", T, "--extension", "2099", "--name", "Xavier", "--email", "x@example.com"],
    ["user", "remove", "--tenant", T, "--extension", "2002"],
    ["divert", "set", "--tenant", T, "--extension", "2002", "--when", "no_answer", "--to", "voicemail", "--ring-seconds", "20"],
    ["divert", "set", "--tenant", T, "--extension", "2002", "--when", "unreachable", "--to", "+441234567890", "--announce"],
    ["divert", "clear", "--tenant", T, "--extension", "2001", "--when", "all"],
    ["divert", "clear", "--tenant", T, "--extension", "2003", "--when", "always"],
    ["out-of-hours", "set", "--tenant", T, "--extension", "2002", "--unavailable", "mon-fri 18:00-08:00",
     "--unavailable-all-day", "sat,sun", "--when-unavailable", "voicemail"],
    ["out-of-hours", "off", "--tenant", T, "--extension", "2004"],
    ["group", "member", "add", "--tenant", T, "--group", "sales", "--member", "2001", "--ring-seconds", "25"],
    ["group", "member", "remove", "--tenant", T, "--group", "sales", "--member", "2004"],
    ["group", "member", "exclude", "--tenant", T, "--group", "reception", "--member", "2001"],
    ["group", "member", "reorder", "--tenant", T, "--group", "billing", "--order", "2003,2002"],
    ["provision", "confirm", "--tenant", T, "--version", "5", "--at", "2026-11-23T10:00:00+01:00"],
    ["provision", "policy", "--tenant", T, "--office-hours", "mon-fri 09:00-17:00", "--time-zone", "Europe/London"],
]


@pytest.mark.parametrize("args", WRITING_VERBS, ids=lambda a: " ".join(a[:3]))
def test_every_verb_names_the_flag_of_every_field_it_passes(db: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]) -> None:
    from core.errors import ValidationFailed
    from core.service import CallrouteApp, CommandRejected

    refuse: dict[str, str | None] = {"field": None}
    seen: list[object] = []

    def execute(self: object, commands: list[object], actor: object, reason: str | None = None) -> object:
        seen[:] = commands
        raise CommandRejected(0, commands[0], ValidationFailed("refused for the test", field=refuse["field"]))

    monkeypatch.setattr(CallrouteApp, "execute", execute)
    refused(db, *args, "--reason", "because")
    fields = sorted({field.name for command in seen for field in msgspec.structs.fields(command)  # type: ignore[arg-type]
                     if getattr(command, field.name) not in (None, field.default)})
    assert fields
    for field in fields:
        refuse["field"] = field
        err = refused(db, *args, "--reason", "because")
        assert err.startswith("--"), f"{field}: {err}"


# -- 5. schema errors in callroute's words -------------------------------------------------------


@pytest.mark.parametrize(("args", "expected"), [
    (["user", "add", "--tenant", T, "--extension", "abc", "--name", "X"], "--extension abc: not a valid internal extension (2-6 digits)"),
    (["user", "add", "--tenant", T, "--extension", "2099", "--name", "X", "--email", "notanemail"],
     "--email notanemail: not an e-mail address (write it like ann@example.com)"),
    (["tenant", "create", "--tenant", "Acme_Bad", "--name", "X", "--time-zone", "UTC"],
     "--tenant Acme_Bad: not a valid tenant id (2-40 of a-z, 0-9, '-')"),
    (["divert", "set", "--tenant", T, "--extension", "2002", "--when", "no_answer", "--to", "voicemail", "--ring-seconds", "2"],
     "--ring-seconds 2: must be at least 5"),
    (["--pbx-directory", "/nonexistent/none.toml", "tenant", "list"], "--pbx-directory /nonexistent/none.toml: no such file"),
], ids=["extension", "email", "tenant", "ring-seconds", "pbx-directory"])
def test_schema_errors_read_in_callroutes_words(db: Path, args: list[str], expected: str) -> None:
    result = invoke(["--db", str(db), "--actor", ADMIN, *args])
    assert result.exit_code == 2
    err = result.stderr.removeprefix("callroute: error: ").strip()
    assert err.startswith(expected), err
    assert not re.search(r"regex|Expected|`|Errno", err), err


def test_apply_errors_keep_the_file_and_the_json_path_in_words(tmp_path: Path) -> None:
    file = write_json(tmp_path / "cmds.json", [{"command": "create_tenant", "tenant": "acme", "name": "A", "time_zone": "UTC"},
                                               {"command": "add_user", "tenant": "acme", "extension": "20x1", "name": "A"}])
    code, _, err = run(tmp_path / "c.sqlite", "apply", str(file))
    assert code == 2
    assert err.strip() == (f"callroute: error: {file}: not a valid internal extension (2-6 digits) "
                           "(at $.commands[1].extension); nothing was stored")


# -- 6. a refused first command leaves no file ---------------------------------------------------


def test_a_refused_tenant_create_leaves_no_store_file_or_folder(tmp_path: Path) -> None:
    db = tmp_path / "new" / "store.sqlite"
    err = refused(db, "tenant", "create", "--tenant", "acme", "--name", "A", "--time-zone", "Mars/Base")
    assert err.startswith("--time-zone Mars/Base: ") and err.endswith("nothing was stored")
    assert list(tmp_path.iterdir()) == []


def test_a_refused_apply_leaves_no_store_file(tmp_path: Path) -> None:
    file = write_json(tmp_path / "bad.json", [{"command": "create_tenant", "tenant": "acme", "name": "A", "time_zone": "Mars/Base"}])
    db = tmp_path / "fresh.sqlite"
    code, _, err = run(db, "apply", str(file))
    assert code == 2, err
    assert str(file) in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.json"]


def test_a_refused_command_on_an_existing_store_keeps_the_store(db: Path) -> None:
    refused(db, "tenant", "create", "--tenant", "acme", "--name", "A", "--time-zone", "Mars/Base")
    assert stored_rows(db) > 0


# -- 7. divert clear ----------------------------------------------------------------------------


def test_divert_clear_of_diverts_already_off_is_refused_naming_when(db: Path) -> None:
    before = stored_rows(db)
    err = refused(db, "divert", "clear", "--tenant", T, "--extension", "2002", "--when", "all")
    assert err.startswith("--when all: ") and "already off" in err
    assert stored_rows(db) == before


def test_divert_clear_all_run_twice_stores_nothing_the_second_time(db: Path) -> None:
    ok(db, "divert", "clear", "--tenant", T, "--extension", "2001", "--when", "all")
    before = stored_rows(db)
    assert refused(db, "divert", "clear", "--tenant", T, "--extension", "2001", "--when", "all").startswith("--when all: ")
    assert stored_rows(db) == before


def test_divert_clear_no_answer_goes_back_to_the_tenant_default(db: Path, tmp_path: Path) -> None:
    default = {"command": "set_default_no_answer", "tenant": T, "target": {"kind": "voicemail"}, "ring_seconds": 25,
               "apply_to": "unchanged_users"}
    ok(db, "apply", str(write_json(tmp_path / "default.json", [default])))
    out = ok(db, "divert", "clear", "--tenant", T, "--extension", "2001", "--when", "no_answer")
    assert "no answer back to the tenant default: after 25 s → voicemail" in out
    shown = json.loads(ok(db, "divert", "show", "--tenant", T, "--extension", "2001", "--json"))
    assert shown["sources"]["no_answer"] == "tenant"
    assert shown["no_answer"] == {"kind": "voicemail", "extension": None}


def test_divert_clear_always_turns_the_divert_off(db: Path) -> None:
    assert "2003: forward always now off" in ok(db, "divert", "clear", "--tenant", T, "--extension", "2003", "--when", "always")
    assert json.loads(ok(db, "divert", "show", "--tenant", T, "--extension", "2003", "--json"))["always"] == {"kind": "off"}


def test_divert_clear_help_says_no_answer_and_busy_go_back_to_the_tenant_default() -> None:
    out = invoke(["divert", "clear", "--help"]).stdout
    assert "back to the tenant default" in " ".join(out.split())


# -- 8. the demo's export line ------------------------------------------------------------------


def test_demo_export_line_names_the_pbx_directory_it_used(demo_store: tuple[Path, str]) -> None:
    _, printed = demo_store
    line = next(line.strip() for line in printed.splitlines() if line.strip().startswith("export "))
    settings = dict(part.split("=", 1) for part in shlex.split(line)[1:])
    assert set(settings) == {"CALLROUTE_DB", "CALLROUTE_ACTOR", "CALLROUTE_PBX_DIRECTORY"}
    directory = Path(settings["CALLROUTE_PBX_DIRECTORY"])
    assert directory.is_absolute() and directory.is_file()
    assert directory == (ROOT / "adapters" / "data" / "pbx_directory.toml").resolve()


def test_a_sip_member_can_be_added_with_the_demos_export_line(demo_store: tuple[Path, str], tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    db, printed = demo_store
    copy = tmp_path / "copy.sqlite"
    copy_store(db, copy)  # SQLite's backup, or a database copy on the PostgreSQL backend
    line = next(line.strip() for line in printed.splitlines() if line.strip().startswith("export "))
    for name, value in (part.split("=", 1) for part in shlex.split(line)[1:]):
        monkeypatch.setenv(name, str(copy) if name == "CALLROUTE_DB" else value)
    result = invoke(["group", "member", "add", "--tenant", T, "--group", "sales", "--member", "sip:kyiv-office/102"])
    assert result.exit_code == 0, result.output


def test_an_unknown_sip_pbx_without_a_directory_file_says_how_to_name_one(db: Path) -> None:
    result = invoke(["--db", str(db), "--actor", ADMIN, "group", "member", "add", "--tenant", T, "--group", "sales",
                     "--member", "sip:kyiv-office/102"])
    assert result.exit_code == 2
    assert "--pbx-directory FILE or CALLROUTE_PBX_DIRECTORY" in result.stderr


# -- 9. and 10. input checked before it is used -------------------------------------------------


def test_audit_verify_refuses_an_expected_head_that_is_not_64_hex_digits(db: Path) -> None:
    err = refused(db, "audit", "verify", "--expect-head", "abc")
    assert err.startswith("--expect-head abc: ") and "64 hex digits" in err


def test_explain_refuses_digits_a_caller_cannot_press(db: Path) -> None:
    err = refused(db, "explain", "--tenant", T, "--to", "+46812345601", "--digits", "9x", "--desired")
    assert err.startswith("--digits 9x: ")


@pytest.mark.parametrize("option", ["--busy", "--unreachable", "--excluded"])
def test_explain_refuses_a_state_for_an_endpoint_the_tenant_does_not_have(db: Path, option: str) -> None:
    err = refused(db, "explain", "--tenant", T, "--to", "2001", option, "9999", "--desired")
    assert err.startswith(f"{option} 9999: ")


def test_explain_takes_a_state_for_a_member_on_another_pbx(db: Path) -> None:
    out = ok(db, "explain", "--tenant", T, "--to", "+46812345600", "--busy", "kyiv-office/101", "--desired")
    assert "kyiv-office" in out


# -- 11. help and messages ----------------------------------------------------------------------


@pytest.mark.parametrize("width", [60, 80, 100])
def test_help_never_breaks_a_word_at_a_hyphen_and_has_no_backticks(width: int) -> None:
    for name in COMMANDS:
        path = [] if name == "callroute" else name.split()
        out = click.testing.CliRunner().invoke(cli, [*path, "--help"], terminal_width=width).output
        assert "`" not in out, name
        for line in out.splitlines():
            assert not re.search(r"[A-Za-z]{2}-$", line.rstrip()), f"{name} at {width}: {line!r}"


def help_examples() -> list[str]:
    """Every example command line in the help, backslash continuations joined."""
    examples = []
    for command in COMMANDS.values():
        pending = None
        for line in (command.help or "").splitlines():
            text = line.strip()
            if pending is not None:
                pending = f"{pending} {text}"
            elif text.startswith("callroute "):
                pending = text
            else:
                continue
            if pending.endswith("\\"):
                pending = pending[:-1].strip()
                continue
            examples.append(pending)
            pending = None
    return examples


def test_help_shows_examples_for_values_that_click_would_wrap() -> None:
    shown = help_examples()
    assert any("--office-hours 'mon-fri 09:00-17:00'" in e for e in shown)
    assert any("--order 2002,2001,cloud:nordic-dental-malmo/3001" in e for e in shown)
    assert any("--unavailable 'mon-fri 18:00-09:00'" in e for e in shown)


@pytest.mark.parametrize("example", help_examples())
def test_every_example_in_the_help_runs_as_shown(demo_store: tuple[Path, str], tmp_path: Path, example: str) -> None:
    db, _ = demo_store
    copy = tmp_path / "copy.sqlite"
    copy_store(db, copy)  # SQLite's backup, or a database copy on the PostgreSQL backend
    directory = ROOT / "adapters" / "data" / "pbx_directory.toml"
    result = invoke(["--db", str(copy), "--actor", ADMIN, "--pbx-directory", str(directory), *shlex.split(example)[1:]])
    assert result.exit_code == 0, f"{example}\n{result.output}"


def test_provision_confirm_at_help_says_when_once() -> None:
    out = " ".join(invoke(["provision", "confirm", "--help"]).stdout.split())
    assert "now (the default)" in out and "(default: now)" not in out


def test_history_since_and_until_help_name_the_forms_they_take() -> None:
    out = " ".join(invoke(["audit", "history", "--help"]).stdout.split())
    assert "a date (2026-11-20)" in out and "same forms as --since" in out


def test_error_messages_have_no_backticks(tmp_path: Path, db: Path) -> None:
    assert "`" not in refused(tmp_path / "missing.sqlite", "tenant", "list")
    assert "`" not in refused(db, "explain", "--tenant", T, "--to", "2001")  # nothing confirmed live yet


def test_pending_names_every_column(db: Path) -> None:
    out = ok(db, "pending", "--tenant", T)
    header = out.splitlines()[1].split("  ")
    assert [h.strip() for h in header if h.strip()] == ["version", "change", "saved at", "by", "due", "status", "reason"]


def test_demo_closing_line_does_not_assume_the_source_checkout(demo_store: tuple[Path, str]) -> None:
    _, printed = demo_store
    assert "source .venv/bin/activate" not in printed
    assert "with callroute on your PATH (e.g. the venv activated)" in printed


def test_bare_callroute_prints_the_help_and_exits_0() -> None:
    result = invoke([])
    assert result.exit_code == 0
    assert "Usage: callroute" in result.stdout and "Commands:" in result.stdout


# -- 12. JSON keys ------------------------------------------------------------------------------


def test_tenant_list_json_names_the_tenant_slug_as_tenant_show_does(db: Path) -> None:
    listed = json.loads(ok(db, "tenant", "list", "--json"))
    shown = json.loads(ok(db, "tenant", "show", "--tenant", T, "--json"))
    assert {entry["slug"] for entry in listed} == {T, "nordic-dental-malmo"}
    assert shown["slug"] == T


def test_demo_refuses_to_write_over_a_file_beside_a_new_store(tmp_path: Path) -> None:
    notes = tmp_path / "notes-report.html"
    notes.write_text("mine")
    result = invoke(["demo", "--db", str(tmp_path / "notes.sqlite")])
    assert result.exit_code == 2
    assert f"{notes} exists" in result.stderr
    assert notes.read_text() == "mine"
    assert not (tmp_path / "notes.sqlite").exists()
