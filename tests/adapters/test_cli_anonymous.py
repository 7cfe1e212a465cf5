"""Withheld callers on the command line: --from and --presentation, recorded calls, and rejection per number and group.

The seed tenant's user 2004 rejects anonymous callers; its default rejected-call handling plays
"We cannot take your call right now." and hangs up. Every test works on its own copy of a store
built once from the seed files, and reads the saved (desired) table.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.adapters.test_cli import ADMIN, run

T = "nordic-dental"
RECEPTION = "+46812345600"
"""The reception group's number."""
MENU = "+46812345601"
"""The main IVR menu's number."""
REFUSED = "play text-to-speech [sv-SE] 'We cannot take your call right now.', then hang up"


def ok(db: Path, *args: str) -> str:
    code, out, err = run(db, *args, actor=ADMIN)
    assert code == 0, err
    return out


def refused(db: Path, *args: str) -> str:
    code, _, err = run(db, *args, actor=ADMIN)
    assert code == 2, err
    return err


def plan_of(out: str) -> str:
    return out.split("Plan:\n")[1].split("\n\nWhy:")[0]


def explain(db: Path, *args: str) -> str:
    return ok(db, "explain", "--tenant", T, "--desired", *args)


@pytest.mark.parametrize("caller", ["", "anonymous", "Restricted", "unavailable", "sip:anonymous@anonymous.invalid"])
def test_explain_treats_every_withheld_spelling_as_anonymous(db: Path, caller: str) -> None:
    assert plan_of(explain(db, "--to", "2004", "--from", caller)) == REFUSED


def test_explain_from_an_empty_caller_id_says_the_number_is_withheld(db: Path) -> None:
    out = explain(db, "--to", "2004", "--from", "")
    assert out.startswith(f"{T}: call to 2004 from a withheld number at ")
    assert "user 2004: anonymous rejection — the caller withholds their number (presentation restricted)" in out


def test_explain_rings_a_caller_whose_number_is_a_sip_uri_of_a_real_number(db: Path) -> None:
    out = explain(db, "--to", "2004", "--from", "sip:+441234567890@carrier.example;user=phone")
    assert out.startswith(f"{T}: call to 2004 from +441234567890 at ")
    assert plan_of(out).startswith("ring user 2004")


def test_explain_with_presentation_restricted_rejects_a_caller_with_a_number(db: Path) -> None:
    out = explain(db, "--to", "2004", "--from", "+441234567890", "--presentation", "restricted")
    assert out.startswith(f"{T}: call to 2004 from a withheld number at ")
    assert plan_of(out) == REFUSED


def test_explain_with_presentation_unavailable_says_no_caller_id_came(db: Path) -> None:
    out = explain(db, "--to", "2004", "--presentation", "unavailable")
    assert out.startswith(f"{T}: call to 2004 from no caller id (unavailable) at ")
    assert "the network delivers no caller id (presentation unavailable)" in out


def test_explain_with_presentation_allowed_rings_a_caller_with_a_number(db: Path) -> None:
    out = explain(db, "--to", "2004", "--from", "+441234567890", "--presentation", "allowed")
    assert plan_of(out).startswith("ring user 2004")


def test_explain_json_carries_the_caller_as_read(db: Path) -> None:
    document = json.loads(explain(db, "--to", "2004", "--from", "tel:+44-1234-567890", "--json"))
    assert (document["from"], document["presentation"]) == ("+441234567890", "allowed")


def test_explain_refuses_an_unknown_presentation(db: Path) -> None:
    assert "--presentation" in refused(db, "explain", "--tenant", T, "--to", "2004", "--presentation", "hidden")


def test_audit_explain_call_treats_anonymous_as_withheld(db: Path) -> None:
    out = ok(db, "audit", "explain-call", "--tenant", T, "--desired", "--to", "2004", "--from", "Anonymous",
             "--at", "2026-11-23T12:00:00+01:00")
    assert out.startswith(f"{T}: call to 2004 from a withheld number at ")
    assert plan_of(out) == REFUSED


def test_audit_explain_call_takes_the_presentation(db: Path) -> None:
    out = ok(db, "audit", "explain-call", "--tenant", T, "--desired", "--to", "2004", "--from", "+441234567890",
             "--presentation", "restricted", "--at", "2026-11-23T12:00:00+01:00")
    assert plan_of(out) == REFUSED


def recorded(tmp_path: Path, **call: object) -> Path:
    path = tmp_path / "calls.jsonl"
    line = {"call_id": "c1", "to": "2004", "at": "2026-11-23T12:00:00+01:00", "outcome": "message", **call}
    path.write_text(json.dumps(line) + "\n")
    return path


@pytest.mark.parametrize("caller", ["anonymous", "", "sip:anonymous@anonymous.invalid"])
def test_a_recorded_call_from_a_withheld_spelling_was_rightly_rejected(db: Path, tmp_path: Path, caller: str) -> None:
    out = ok(db, "audit", "explain-call", "--tenant", T, "--desired", "--calls", str(recorded(tmp_path, **{"from": caller})))
    assert "call c1: message — as configured" in out


def test_a_recorded_call_with_presentation_restricted_was_rightly_rejected(db: Path, tmp_path: Path) -> None:
    file = recorded(tmp_path, **{"from": "+441234567890", "presentation": "restricted"})
    assert "call c1: message — as configured" in ok(db, "audit", "explain-call", "--tenant", T, "--desired", "--calls", str(file))


def test_a_recorded_call_from_a_number_should_not_have_been_rejected(db: Path, tmp_path: Path) -> None:
    file = recorded(tmp_path, **{"from": "+441234567890"})
    code, out, _ = run(db, "audit", "explain-call", "--tenant", T, "--desired", "--calls", str(file), actor=ADMIN)
    assert code == 1 and "call c1: message — DIFFERS" in out


def test_number_reject_anonymous_on_rejects_withheld_callers_to_that_number(db: Path) -> None:
    assert ok(db, "number", "reject-anonymous", "--tenant", T, "--number", RECEPTION, "--on").endswith(
        f"{RECEPTION} now rejects anonymous callers\n")
    out = explain(db, "--to", RECEPTION, "--from", "anonymous")
    assert plan_of(out) == REFUSED
    assert f"✔ number {RECEPTION}: anonymous rejection — the caller withholds their number (presentation restricted) and " \
           f"number {RECEPTION} rejects anonymous calls" in out


def test_number_list_marks_a_number_that_rejects_anonymous_callers(db: Path) -> None:
    ok(db, "number", "reject-anonymous", "--tenant", T, "--number", RECEPTION, "--on")
    rows = {line.split()[0]: line for line in ok(db, "number", "list", "--tenant", T).splitlines()[1:]}
    assert rows[RECEPTION].endswith("rejected") and rows[MENU].endswith("-")


def test_number_reject_anonymous_off_lets_withheld_callers_in_again(db: Path) -> None:
    ok(db, "number", "reject-anonymous", "--tenant", T, "--number", RECEPTION, "--on")
    ok(db, "number", "reject-anonymous", "--tenant", T, "--number", RECEPTION, "--off")
    assert plan_of(explain(db, "--to", RECEPTION)).startswith("ring ")


def test_number_reject_anonymous_off_when_off_is_refused_naming_the_switch(db: Path) -> None:
    err = refused(db, "number", "reject-anonymous", "--tenant", T, "--number", RECEPTION, "--off")
    assert err.startswith(f"callroute: error: --off: {RECEPTION} does not reject anonymous callers")


def test_number_reject_anonymous_refuses_a_number_of_no_one(db: Path) -> None:
    err = refused(db, "number", "reject-anonymous", "--tenant", T, "--number", "+46812345699", "--on")
    assert "--number +46812345699: +46812345699 is not a number of the tenant" in err


def test_number_reject_anonymous_needs_on_or_off(db: Path) -> None:
    assert "--on" in refused(db, "number", "reject-anonymous", "--tenant", T, "--number", RECEPTION)


def test_group_reject_anonymous_on_rejects_withheld_callers_to_the_group(db: Path) -> None:
    assert ok(db, "group", "reject-anonymous", "--tenant", T, "--group", "reception", "--on").endswith(
        "reception: now rejects anonymous callers\n")
    out = explain(db, "--to", RECEPTION, "--from", "anonymous")
    assert plan_of(out) == REFUSED
    assert "✔ group reception: anonymous rejection" in out


def test_group_show_says_what_anonymous_callers_get(db: Path) -> None:
    assert "anonymous callers  accepted" in ok(db, "group", "show", "--tenant", T, "--group", "sales")
    ok(db, "group", "reject-anonymous", "--tenant", T, "--group", "sales", "--on")
    out = ok(db, "group", "show", "--tenant", T, "--group", "sales")
    assert "anonymous callers  rejected: message and hang up: text-to-speech [sv-SE] 'We cannot take your call right now.'" in out


def test_group_reject_anonymous_refuses_an_unknown_group(db: Path) -> None:
    assert "--group nope: there is no answer group 'nope'" in refused(db, "group", "reject-anonymous", "--tenant", T,
                                                                      "--group", "nope", "--on")


def test_table_shows_the_numbers_and_groups_that_reject_anonymous_callers(db: Path) -> None:
    ok(db, "number", "reject-anonymous", "--tenant", T, "--number", RECEPTION, "--on")
    ok(db, "group", "reject-anonymous", "--tenant", T, "--group", "sales", "--on")
    lines = ok(db, "table", "--tenant", T, "--desired").splitlines()
    assert f"  {RECEPTION} → answer group reception; rejects anonymous" in lines
    assert any(line.startswith("  group sales (Sales)") and line.endswith("; rejects anonymous") for line in lines)
    assert "  anonymous callers a number or group rejects: message and hang up: text-to-speech [sv-SE] " \
           "'We cannot take your call right now.'" in lines


def test_table_without_rejecting_numbers_or_groups_says_nothing_of_them(db: Path) -> None:
    assert "anonymous callers a number or group rejects" not in ok(db, "table", "--tenant", T, "--desired")
