"""explain, table, pending and provision on a real SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.adapters.test_cli import ADD_2001, ADMIN, CREATE, apply_seed, run, write_json

T = "nordic-dental"


def seeded(tmp_path: Path, confirm: int | None = 37) -> Path:
    db = tmp_path / "c.sqlite"
    apply_seed(db)
    if confirm is not None:
        code, _, err = run(db, "provision", "confirm", "--tenant", T, "--version", str(confirm), actor=ADMIN)
        assert code == 0, err
    return db


def test_explain_prints_the_plan_and_every_rule_consulted(tmp_path: Path) -> None:
    db = seeded(tmp_path)
    code, out, err = run(db, "explain", "--tenant", T, "--to", "+46812345600", "--from", "+441234567890",
                         "--busy", "2001", actor=ADMIN)
    assert code == 0, err
    assert "effective (live) table version 37" in out
    assert "ring remote nordic-dental-malmo/3001 (25 s), remote kyiv-office/101 (25 s) — one after another, at most 60 s" in out
    assert "· group reception: member — 2001 is busy" in out
    assert "ring remote kyiv-office/205" in out


def test_explain_json_carries_plan_and_explanation(tmp_path: Path) -> None:
    db = seeded(tmp_path)
    code, out, _ = run(db, "explain", "--tenant", T, "--to", "+46701234567", "--json", actor=ADMIN)
    assert code == 0
    document = json.loads(out)
    assert document["plan"] == {"do": "message", "message": {"kind": "tts", "text": "We cannot take your call right now.",
                                                             "language": "sv-SE"}}
    assert document["explanation"][1]["rule"] == "anonymous rejection"
    assert document["explanation"][1]["matched"] is True


def test_explain_follows_the_digits_pressed_in_the_ivr(tmp_path: Path) -> None:
    db = seeded(tmp_path)
    code, out, _ = run(db, "explain", "--tenant", T, "--to", "+46812345601", "--from", "+441234567890",
                       "--at", "2026-11-24T10:00:00+01:00", "--digits", "2", actor=ADMIN)
    assert code == 0
    assert "caller pressed 2" in out
    assert "queue support: agents 2002, 2003" in out


@pytest.mark.parametrize("digits", ["2\n", "2x"])
def test_explain_refuses_digits_a_caller_cannot_press_even_a_trailing_newline(tmp_path: Path, digits: str) -> None:
    db = seeded(tmp_path)
    code, out, err = run(db, "explain", "--tenant", T, "--to", "+46812345601", "--from", "+441234567890",
                         "--at", "2026-11-24T10:00:00+01:00", "--digits", digits, actor=ADMIN)
    shown = digits if digits.isprintable() else repr(digits)
    assert (code, out, err) == (2, "", f"callroute: error: --digits {shown}: a caller presses the keys 0-9, * and # (give '' for none)\n")


def test_explain_says_plainly_that_the_hop_limit_ended_a_call_round_a_loop(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    divert = {"command": "set_divert", "tenant": "acme", "condition": "no_answer", "ring_seconds": 20}
    file = write_json(tmp_path / "cmds.json", [CREATE, ADD_2001, {**ADD_2001, "extension": "2002", "name": "Bo"},
                                               {**divert, "extension": "2001", "target": {"kind": "extension", "extension": "2002"}},
                                               {**divert, "extension": "2002", "target": {"kind": "extension", "extension": "2001"}}])
    assert run(db, "apply", str(file))[0] == 0
    code, out, err = run(db, "explain", "--tenant", "acme", "--to", "2001", "--desired")
    assert code == 0, err
    assert "stopped by the hop limit after 8 hops (a loop: user 2001 again): user 2001 → user 2002 → " in out
    assert "the call ends unanswered (missed)" in out
    assert "✔ user 2001: hop limit — the hop limit of 8 hops fired: " in out


def test_a_hop_limit_ending_a_long_chain_is_not_called_a_loop() -> None:
    from adapters.render_plan import plan_tree
    from core.routing import HopLimit

    label, _ = plan_tree(HopLimit(path=("user 2001", "user 2002", "user 2003")))
    assert label.startswith("stopped by the hop limit after 2 hops (a chain longer than the limit): user 2001 → user 2002 → user 2003")


def test_explain_without_a_confirmed_table_says_so_and_exits_2(tmp_path: Path) -> None:
    db = seeded(tmp_path, confirm=None)
    code, _, err = run(db, "explain", "--tenant", T, "--to", "2001", actor=ADMIN)
    assert code == 2
    assert "nothing was confirmed live by then" in err


def test_explain_desired_works_before_any_confirmation(tmp_path: Path) -> None:
    db = seeded(tmp_path, confirm=None)
    code, out, _ = run(db, "explain", "--tenant", T, "--to", "2003", "--desired", actor=ADMIN)
    assert code == 0
    assert "desired (saved) table version 37" in out
    assert "ring user 2002" in out


def test_explain_rejects_an_unknown_number_a_malformed_instant_and_an_unknown_tenant(tmp_path: Path) -> None:
    db = seeded(tmp_path)
    code, _, err = run(db, "explain", "--tenant", T, "--to", "+46899999999", actor=ADMIN)
    assert (code, "is not a number of tenant 'nordic-dental'" in err) == (2, True)
    code, _, err = run(db, "explain", "--tenant", T, "--to", "2001", "--at", "2026-11-24 25:00", actor=ADMIN)
    assert (code, "--at 2026-11-24 25:00: not a date or time" in err) == (2, True)
    code, _, err = run(db, "explain", "--tenant", T, "--to", "2001", "--at", "yesterday", actor=ADMIN)
    assert (code, "--at yesterday: not an instant" in err) == (2, True)
    code, _, err = run(db, "explain", "--tenant", "nobody", "--to", "2001", actor=ADMIN)
    assert (code, f"no tenant 'nobody' that '{ADMIN}' may read" in err) == (3, True)


def test_explain_needs_the_permission_to_read_the_tenant(tmp_path: Path) -> None:
    db = seeded(tmp_path)
    code, _, err = run(db, "explain", "--tenant", T, "--to", "2001", actor="mallory")
    assert code == 3
    assert f"no tenant '{T}' that 'mallory' may read" in err


def test_an_unassigned_number_gets_the_unassigned_handling(tmp_path: Path) -> None:
    db = seeded(tmp_path)
    code, out, _ = run(db, "explain", "--tenant", T, "--to", "+46812345603", "--from", "+441234567890", actor=ADMIN)
    assert code == 0
    assert "unassigned-number handling" in out
    assert "ring user 2001" in out


def test_table_and_pending_show_what_is_live_and_what_is_not(tmp_path: Path) -> None:
    db = seeded(tmp_path, confirm=30)
    code, out, _ = run(db, "table", "--tenant", T, actor=ADMIN)
    assert code == 0
    assert "routing table at version 30" in out
    code, out, _ = run(db, "table", "--tenant", T, "--desired", actor=ADMIN)
    assert "routing table at version 37" in out
    code, out, _ = run(db, "pending", "--tenant", T, actor=ADMIN)
    assert code == 0
    assert "7 pending, 0 overdue" in out
    header, *rows = out.splitlines()[1:]
    assert header.split()[:3] == ["version", "change", "saved"]
    assert [row.split()[0] for row in rows] == [str(v) for v in range(31, 38)]


def test_provision_confirm_refuses_a_version_the_tenant_does_not_have(tmp_path: Path) -> None:
    db = seeded(tmp_path, confirm=None)
    code, _, err = run(db, "provision", "confirm", "--tenant", T, "--version", "99", actor=ADMIN)
    assert code == 2
    assert err == "callroute: error: --version 99: version must be between 1 and the tenant's current version 37; nothing was stored\n"


def test_provision_policy_with_office_hours_is_recorded(tmp_path: Path) -> None:
    db = seeded(tmp_path)
    code, _, err = run(db, "provision", "policy", "--tenant", T, "--office-hours", "mon-fri 09:00-17:00",
                       "--time-zone", "Europe/London", "--max-delay-hours", "24", actor=ADMIN)
    assert code == 0, err
    code, _, err = run(db, "provision", "policy", "--tenant", T, "--office-hours", "weekdays 9-5", actor=ADMIN)
    assert code == 2
    assert "--office-hours" in err


def test_instants_outside_the_handled_years_are_refused(tmp_path: Path) -> None:
    db = seeded(tmp_path)
    code, _, err = run(db, "explain", "--tenant", T, "--to", "2001", "--at", "9999-12-31T23:59:59+00:00", actor=ADMIN)
    assert (code, "outside the years 1970-2200" in err) == (2, True)


def test_pending_before_the_tenant_existed_says_so(tmp_path: Path) -> None:
    db = seeded(tmp_path)
    code, _, err = run(db, "pending", "--tenant", T, "--at", "2001-01-01T00:00:00+01:00", actor=ADMIN)
    assert (code, "did not exist yet" in err) == (2, True)


def test_a_non_finite_maximum_delay_is_refused(tmp_path: Path) -> None:
    db = seeded(tmp_path)
    code, _, err = run(db, "provision", "policy", "--tenant", T, "--max-delay-hours", "nan", actor=ADMIN)
    assert code == 2
    assert "--max-delay-hours" in err


def test_audit_diff_takes_only_ascii_digits_as_versions(tmp_path: Path) -> None:
    db = seeded(tmp_path)
    code, _, err = run(db, "audit", "diff", "--tenant", T, "--from", "\u0663", "--to", "5", actor=ADMIN)
    assert code == 2
    assert "--from" in err


def test_at_takes_a_tenant_local_time_and_says_how_it_was_read(tmp_path: Path) -> None:
    db = seeded(tmp_path)
    code, out, err = run(db, "explain", "--tenant", T, "--to", "2001", "--at", "2026-11-24T10:00", actor=ADMIN)
    assert code == 0, err
    assert "--at 2026-11-24T10:00 read as Europe/Stockholm local time: 2026-11-24T10:00:00+01:00" in err
    assert "at 2026-11-24 10:00:00+01:00" in out


def test_at_takes_a_date_as_the_start_of_that_day_in_the_tenant_zone(tmp_path: Path) -> None:
    db = seeded(tmp_path)
    code, out, err = run(db, "table", "--tenant", T, "--at", "2026-11-24", "--json", actor=ADMIN)
    assert code == 0, err
    assert "read as Europe/Stockholm local time: 2026-11-24T00:00:00+01:00" in err
    assert json.loads(out)["version"] == 37


def test_at_now_is_the_injected_clock(tmp_path: Path) -> None:
    db = seeded(tmp_path)
    code, out, _ = run(db, "explain", "--tenant", T, "--to", "2001", "--at", "now", "--json", actor=ADMIN)
    assert code == 0
    assert json.loads(out)["at"] == "2026-11-23T09:00:00Z"


def test_a_local_time_in_the_spring_forward_gap_is_read_as_the_wall_time_that_exists(tmp_path: Path) -> None:
    db = seeded(tmp_path)
    code, out, err = run(db, "explain", "--tenant", T, "--to", "2001", "--at", "2027-03-28T02:30", "--json", actor=ADMIN)
    assert code == 0, err
    assert json.loads(out)["at"] == "2027-03-28T01:30:00Z"
