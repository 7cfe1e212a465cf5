"""The command line against real SQLite files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest


from tests.adapters.clirun import invoke
from tests.backends import delete_event, for_child, overwrite_event_state, record_events, stored_event_count
from core.aggregates.identifiers import tenant_id

DATA = Path(__file__).resolve().parents[2] / "adapters" / "data"
SEED = DATA / "seed_tenant.toml"
SEED_EVENTS = 37
ADMIN = "admin@nordic-dental.example"


def run(db: Path, *args: str, actor: str = "tester") -> tuple[int, str, str]:
    result = invoke(["--db", str(db), "--actor", actor, "--pbx-directory", str(DATA / "pbx_directory.toml"), *args],
        catch_exceptions=False,
    )
    return result.exit_code, result.stdout, result.stderr


def apply_seed(db: Path) -> None:
    """The sample tenant: the Malmö cloud PBX first, whose users the reception group takes."""
    for name in ("seed_malmo.toml", "seed_tenant.toml"):
        code, _, err = run(db, "apply", str(DATA / name), actor=ADMIN)
        assert code == 0, err


def write_json(path: Path, commands: list[dict[str, object]]) -> Path:
    path.write_text(json.dumps({"commands": commands}))
    return path


CREATE = {"command": "create_tenant", "tenant": "acme", "name": "Acme", "time_zone": "Europe/London"}
ADD_2001 = {"command": "add_user", "tenant": "acme", "extension": "2001", "name": "Ann"}


def stored_rows(db: Path) -> int:
    return stored_event_count(db)  # the file's stored_events, or on the PostgreSQL backend its database's (tests/backends.py)


def test_apply_toml_file_stores_the_seed_tenant(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    run(db, "apply", str(DATA / "seed_malmo.toml"), actor=ADMIN)
    code, out, _ = run(db, "apply", str(SEED), actor=ADMIN)
    assert code == 0
    assert f"nordic-dental: now at version {SEED_EVENTS}" in out
    code, out, _ = run(db, "tenant", "show", "--tenant", "nordic-dental", actor=ADMIN)
    assert code == 0
    assert "Carla Diaz" in out
    assert "forward always: extension 2002" in out


def test_apply_with_one_invalid_command_stores_nothing_and_names_it(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    bad = {"command": "set_divert", "tenant": "acme", "extension": "2001", "condition": "busy",
           "target": {"kind": "external", "number": "+99912"}}
    file = write_json(tmp_path / "cmds.json", [CREATE, ADD_2001, bad])
    code, _, err = run(db, "apply", str(file))
    assert code == 2
    assert "commands[2].target.number (set_divert)" in err
    assert "nothing was stored" in err
    assert not db.exists()  # the store this refused first command would have created is removed again


def test_apply_reports_schema_errors_with_their_path(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    bad = {"command": "set_divert", "tenant": "acme", "extension": "2001", "condition": "no_answer",
           "target": {"kind": "voicemail"}, "ring_seconds": 9000}
    file = write_json(tmp_path / "cmds.json", [CREATE, ADD_2001, bad])
    code, _, err = run(db, "apply", str(file))
    assert code == 2
    assert "$.commands[2].ring_seconds" in err
    assert "must be at most 600" in err


def test_apply_rejects_unknown_fields(tmp_path: Path) -> None:
    file = write_json(tmp_path / "cmds.json", [{**CREATE, "colour": "red"}])
    code, _, err = run(tmp_path / "c.sqlite", "apply", str(file))
    assert code == 2
    assert "colour" in err


def test_apply_rejects_a_file_that_is_not_json(tmp_path: Path) -> None:
    file = tmp_path / "cmds.json"
    file.write_text("{not json")
    code, _, err = run(tmp_path / "c.sqlite", "apply", str(file))
    assert code == 2
    assert "cmds.json" in err


SHORT_STEP = {"command": "save_forwarding_scheme", "tenant": "acme", "scheme": "day",
              "spec": {"name": "Day", "steps": [{"destination": {"kind": "extension", "extension": "2001"}, "timeout_seconds": 20}]}}


def test_apply_prints_a_stored_warning_on_stderr_after_the_receipt(tmp_path: Path) -> None:
    file = write_json(tmp_path / "cmds.json", [CREATE, ADD_2001, SHORT_STEP])
    code, out, err = run(tmp_path / "c.sqlite", "apply", str(file))
    assert (code, out) == (0, "acme: now at version 3\n")
    assert err == "callroute: warning: scheme day: steps[0]: 20 s is under the recommended 30 s\n"


def test_apply_without_a_warning_prints_nothing_on_stderr(tmp_path: Path) -> None:
    file = write_json(tmp_path / "cmds.json", [CREATE, ADD_2001])
    code, _, err = run(tmp_path / "c.sqlite", "apply", str(file))
    assert (code, err) == (0, "")


def test_every_verb_prints_its_receipts_warnings_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    from adapters.cli.ledger import echo_receipt
    from core.aggregates.commanding import Receipt

    echo_receipt(Receipt(versions={"acme": 7}, events=1, warnings=("scheme day: steps[0]: 20 s is under the recommended 30 s",)))
    assert capsys.readouterr() == ("acme: now at version 7\n",
                                   "callroute: warning: scheme day: steps[0]: 20 s is under the recommended 30 s\n")


def test_database_path_comes_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "from-env.sqlite"
    monkeypatch.setenv("CALLROUTE_DB", str(db))
    result = invoke(["tenant", "create", "--tenant", "acme", "--name", "Acme", "--time-zone", "Europe/Kyiv"])
    assert result.exit_code == 0, result.output
    assert stored_rows(db) == 1


def test_divert_set_records_a_readable_divert(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    run(db, "apply", str(write_json(tmp_path / "c.json", [CREATE, ADD_2001])))
    code, _, err = run(db, "divert", "set", "--tenant", "acme", "--extension", "2001", "--when", "unreachable",
                       "--to", "441234567890", "--announce", "--reason", "mobile while travelling")
    assert code == 0, err
    _, out, _ = run(db, "tenant", "show", "--tenant", "acme", "--json")
    view = json.loads(out)
    assert view["users"][0]["unreachable"] == {"kind": "external", "number": "+441234567890", "announce": True,
                                               "present_dialled_number": False, "always": False}


def test_divert_options_on_a_non_number_target_are_refused(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    run(db, "apply", str(write_json(tmp_path / "c.json", [CREATE, ADD_2001])))
    code, _, err = run(db, "divert", "set", "--tenant", "acme", "--extension", "2001", "--when", "busy",
                       "--to", "voicemail", "--announce")
    assert code == 2
    assert "apply only to a number target" in err


def test_tenant_show_of_an_unknown_tenant_exits_2_for_an_operator(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    apply_seed(db)
    code, _, err = run(db, "tenant", "show", "--tenant", "nobody", "--operator")
    assert code == 2
    assert "no tenant 'nobody'" in err


def test_a_read_on_a_missing_store_names_the_path_and_creates_nothing(tmp_path: Path) -> None:
    db = tmp_path / "not-yet" / "c.sqlite"
    code, _, err = run(db, "tenant", "show", "--tenant", "nobody")
    assert code == 2
    assert f"no store at {db}" in err
    assert "callroute demo" in err
    assert not db.parent.exists()


def test_audit_verify_passes_on_an_intact_store(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    apply_seed(db)
    code, out, _ = run(db, "audit", "verify", "--operator")
    assert code == 0
    assert f"nordic-dental: intact, {SEED_EVENTS} events" in out


def test_audit_verify_names_the_first_edited_row(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    apply_seed(db)
    [(version, _, state)] = [row for row in record_events(db, tenant_id("nordic-dental")) if row[0] == 12]
    edited = msgspec.json.decode(state)
    edited["reason"] = "nobody will notice"
    overwrite_event_state(db, tenant_id("nordic-dental"), version, msgspec.json.encode(edited))
    code, out, _ = run(db, "audit", "verify", "--tenant", "nordic-dental", actor=ADMIN)
    assert code == 1
    assert "BROKEN at event version 12: altered" in out


def test_audit_verify_names_a_deleted_row(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    apply_seed(db)
    delete_event(db, tenant_id("nordic-dental"), 4)
    code, out, _ = run(db, "audit", "verify", "--operator")
    assert code == 1
    assert "BROKEN at event version 4: missing" in out


def test_audit_verify_with_expected_head_catches_truncation(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    apply_seed(db)
    _, out, _ = run(db, "audit", "verify", "--tenant", "nordic-dental", actor=ADMIN)
    head = out.strip().split("tenant head ", 1)[1].split()[0]
    delete_event(db, tenant_id("nordic-dental"), SEED_EVENTS)
    code, out, _ = run(db, "audit", "verify", "--tenant", "nordic-dental", "--expect-head", head, actor=ADMIN)
    assert code == 1
    assert "the history it covered was removed or rewritten" in out


def test_demo_builds_and_verifies_the_sample_tenant(tmp_path: Path) -> None:
    result = invoke(["demo", "--db", str(tmp_path / "demo.sqlite")], catch_exceptions=False)
    assert result.exit_code == 0
    assert "Nordic Dental AB" in result.stdout
    assert f"Hash chain of the tenant: intact over {SEED_EVENTS + 2} events" in result.stdout
    assert "answer group reception" in result.stdout
    assert "routed by the table live on the PBX (effective), version 38:\nring user 2002" in result.stdout
    assert "routed by the table as saved (desired), version 39:\nring user 2003" in result.stdout
    assert "v39 DivertSet" in result.stdout


def test_console_script_logs_json_lines_when_not_on_a_terminal(tmp_path: Path) -> None:
    file = write_json(tmp_path / "c.json", [CREATE])
    proc = subprocess.run(
        [sys.executable, "-m", "adapters.cli", "--db", for_child(tmp_path / "c.sqlite"), "--log-level", "info", "apply", str(file)],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in proc.stderr.splitlines() if line.strip()]
    assert any(r["event"] == "commands.applied" and r["versions"] == {"acme": 1} for r in records)


def test_reading_a_tenant_without_permission_exits_3(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    apply_seed(db)
    code, _, err = run(db, "tenant", "show", "--tenant", "nordic-dental", actor="mallory")
    assert code == 3
    assert "no tenant 'nordic-dental' that 'mallory' may read" in err


def test_a_partner_may_change_its_own_customer_but_not_another(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    apply_seed(db)
    args = ["divert", "set", "--tenant", "nordic-dental", "--extension", "2002", "--when", "busy", "--to", "voicemail"]
    result = invoke(["--db", str(db), "--actor", "pat", "--partner", "phoneline-plus", *args])
    assert result.exit_code == 0, result.output
    result = invoke(["--db", str(db), "--actor", "eve", "--partner", "other-partner", *args])
    assert result.exit_code == 3
    assert "no tenant 'nordic-dental' that 'eve' for partner 'other-partner' may read" in result.stderr


def test_tenant_list_shows_only_readable_tenants(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    apply_seed(db)
    run(db, "tenant", "create", "--tenant", "own", "--name", "Own", "--time-zone", "Europe/Kyiv", actor="mallory")
    _, out, _ = run(db, "tenant", "list", actor="mallory")
    header, *rows = out.splitlines()
    assert header.split()[:2] == ["tenant", "name"]
    assert [row.split()[0] for row in rows] == ["own"]


def test_a_sip_member_unknown_to_the_directory_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    apply_seed(db)
    file = write_json(tmp_path / "m.json", [{
        "command": "add_group_member", "tenant": "nordic-dental", "group": "sales",
        "member": {"ref": {"on": "sip", "pbx": "kyiv-office", "internal_number": "999"}},
    }])
    code, _, err = run(db, "apply", str(file), actor=ADMIN)
    assert code == 2
    assert "commands[0].member.ref (add_group_member): SIP PBX 'kyiv-office' has no internal number '999'" in err


def test_a_malformed_pbx_directory_file_is_reported_with_its_field(tmp_path: Path) -> None:
    bad = tmp_path / "dir.toml"
    bad.write_text('[sip_pbx.x]\nname = "X"\ninternal_numbers = ["10a"]\n')
    db = tmp_path / "c.sqlite"
    apply_seed(db)
    result = invoke(["--db", str(db), "--pbx-directory", str(bad), "tenant", "list"])
    assert result.exit_code == 2
    assert "$.sip_pbx.x.internal_numbers[0]" in result.stderr


def test_audit_verify_finds_a_tenant_whose_first_event_was_deleted(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    apply_seed(db)
    delete_event(db, tenant_id("nordic-dental"), 1)
    code, out, _ = run(db, "audit", "verify", "--operator")
    assert code == 1
    assert "(its first event is missing): BROKEN at event version 1: missing" in out
    code, out, _ = run(db, "audit", "verify", "--tenant", "nordic-dental", "--operator")
    assert code == 1
    assert "BROKEN at event version 1: missing" in out


def test_operator_and_partner_flags_apply_to_a_file_that_names_its_actor(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    apply_seed(db)
    file = tmp_path / "op.toml"
    file.write_text('[actor]\nprincipal = "support@platform.example"\n'
                    '[[commands]]\ncommand = "rename_tenant"\ntenant = "nordic-dental"\nname = "ND"\n')
    base = ["--db", str(db), "--pbx-directory", str(DATA / "pbx_directory.toml"), "--actor", "support@platform.example"]
    refused = invoke([*base, "apply", str(file)])
    assert refused.exit_code == 3
    assert invoke([*base, "--operator", "apply", str(file)]).exit_code == 0
    assert invoke([*base, "--partner", "phoneline-plus", "apply", str(file)]).exit_code == 0


def test_a_corrupted_stored_event_gives_one_clear_line(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    apply_seed(db)
    overwrite_event_state(db, tenant_id("nordic-dental"), 5, b"not json")
    proc = subprocess.run([sys.executable, "-m", "adapters.cli", "--db", for_child(db), "--actor", ADMIN, "tenant", "show",
                           "--tenant", "nordic-dental"], capture_output=True, text=True, check=False)
    assert proc.returncode == 1
    assert "a stored event cannot be read" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.sqlite_only  # checks that the SQLite file is made (tests/backends.py)
@pytest.mark.parametrize("kind", [str, Path], ids=["str", "Path"])
def test_build_app_takes_a_str_or_a_path(tmp_path: Path, kind: type) -> None:
    from adapters.bootstrap import build_app
    from core.aggregates.context import Actor
    from core.clock import SteppingClock
    from tests.adapters.clirun import NOW

    app = build_app(kind(tmp_path / "lib.sqlite"), clock=SteppingClock(NOW))
    receipt = app.create_tenant(actor=Actor(principal="lib"), tenant="acme", name="Acme", time_zone="Europe/London")
    assert receipt.versions == {"acme": 1}
    assert (tmp_path / "lib.sqlite").exists()
