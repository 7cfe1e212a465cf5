"""closure add, list, remove and import-holidays, and explain naming the closure that decided, on a real SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

from tests.adapters.test_cli import run

T = "acme"
ADMIN = "admin@acme.example"


def tenant(tmp_path: Path) -> Path:
    """Tenant acme (Europe/Stockholm) with users 2001 and 2002."""
    db = tmp_path / "c.sqlite"
    for args in (("tenant", "create", "--tenant", T, "--name", "Acme", "--time-zone", "Europe/Stockholm"),
                 ("user", "add", "--tenant", T, "--extension", "2001", "--name", "Ann"),
                 ("user", "add", "--tenant", T, "--extension", "2002", "--name", "Bo")):
        code, _, err = run(db, *args, actor=ADMIN)
        assert code == 0, err
    return db


def test_closure_add_says_when_where_calls_go_and_what_it_closes(tmp_path: Path) -> None:
    db = tenant(tmp_path)
    code, out, err = run(db, "closure", "add", "--tenant", T, "--name", "Christmas Eve", "--date", "2026-12-24", "--yearly",
                         "--to", "voicemail:2001", "--user", "2002", actor=ADMIN)
    assert code == 0, err
    assert out.splitlines() == ["acme: now at version 4",
                                "Christmas Eve: every year 12-24 (from 2026), whole day; calls go to voicemail of 2001; "
                                "closes user 2002"]


def test_closure_list_shows_each_closure_by_first_day(tmp_path: Path) -> None:
    db = tenant(tmp_path)
    run(db, "closure", "add", "--tenant", T, "--name", "Party", "--date", "2026-12-18", "--hours", "15:00-18:00",
        "--message", "Closed for our party", actor=ADMIN)
    run(db, "closure", "add", "--tenant", T, "--name", "Inventory", "--date", "2026-12-01", "--until", "2026-12-02", actor=ADMIN)
    code, out, _ = run(db, "closure", "list", "--tenant", T, actor=ADMIN)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "acme: 2 closures"
    assert lines[2].split() == ["Inventory", "2026-12-01", "–", "2026-12-02,", "whole", "days", "each", "thing's", "own",
                                "out-of-hours", "handling", "the", "whole", "tenant"]
    assert lines[3].startswith("Party") and "2026-12-18, 15:00–18:00" in lines[3]
    assert "play text-to-speech [en] 'Closed for our party' and hang up" in lines[3]


def test_closure_list_json_gives_the_closures_fields(tmp_path: Path) -> None:
    db = tenant(tmp_path)
    run(db, "closure", "add", "--tenant", T, "--name", "Inventory", "--date", "2026-12-01", actor=ADMIN)
    code, out, _ = run(db, "closure", "list", "--tenant", T, "--json", actor=ADMIN)
    assert code == 0
    assert json.loads(out) == [{"name": "Inventory", "first_day": "2026-12-01", "destination": {"kind": "own"}}]


def test_closure_remove_removes_it(tmp_path: Path) -> None:
    db = tenant(tmp_path)
    run(db, "closure", "add", "--tenant", T, "--name", "Inventory", "--date", "2026-12-01", actor=ADMIN)
    code, out, err = run(db, "closure", "remove", "--tenant", T, "--name", "Inventory", actor=ADMIN)
    assert code == 0, err
    assert out == "acme: now at version 5\n"
    assert run(db, "closure", "list", "--tenant", T, actor=ADMIN)[1].splitlines()[0] == "acme: 0 closures"


def test_closure_add_refusal_names_the_flag_typed(tmp_path: Path) -> None:
    db = tenant(tmp_path)
    code, _, err = run(db, "closure", "add", "--tenant", T, "--name", "Inventory", "--date", "2026-12-02", "--until",
                       "2026-12-01", actor=ADMIN)
    assert code == 2
    assert err == ("callroute: error: --until 2026-12-01: the last day 2026-12-01 is before the first day 2026-12-02; "
                   "nothing was stored\n")


def test_closure_add_refuses_an_unknown_user_naming_the_user_flag(tmp_path: Path) -> None:
    db = tenant(tmp_path)
    code, _, err = run(db, "closure", "add", "--tenant", T, "--name", "Inventory", "--date", "2026-12-01",
                       "--user", "2001", "--user", "2099", actor=ADMIN)
    assert code == 2
    assert err.startswith("callroute: error: --user 2099: tenant 'acme' has no extension '2099'")


def test_closure_add_refuses_to_and_message_together(tmp_path: Path) -> None:
    db = tenant(tmp_path)
    code, _, err = run(db, "closure", "add", "--tenant", T, "--name", "Inventory", "--date", "2026-12-01", "--to", "2001",
                       "--message", "Closed", actor=ADMIN)
    assert code == 2
    assert "--to and --message cannot be used together" in err


def test_closure_import_holidays_lists_the_closures_it_imported(tmp_path: Path) -> None:
    db = tenant(tmp_path)
    code, out, err = run(db, "closure", "import-holidays", "--tenant", T, "--country", "SE", "--years", "2026-2027", actor=ADMIN)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[:2] == ["acme: now at version 4", "acme: 32 closures imported"]
    assert any(line.startswith("Midsummer Eve 2026") and "2026-06-19, whole day" in line for line in lines)
    assert any(line.startswith("Midsummer Eve 2027") and "2027-06-25, whole day" in line for line in lines)


def test_closure_import_holidays_of_one_year_with_a_subdivision(tmp_path: Path) -> None:
    db = tenant(tmp_path)
    code, out, err = run(db, "closure", "import-holidays", "--tenant", T, "--country", "de", "--subdivision", "BY",
                         "--years", "2026", actor=ADMIN)
    assert code == 0, err
    assert any(line.startswith("Corpus Christi 2026") for line in out.splitlines())


def test_closure_import_holidays_refuses_malformed_years(tmp_path: Path) -> None:
    db = tenant(tmp_path)
    code, _, err = run(db, "closure", "import-holidays", "--tenant", T, "--country", "SE", "--years", "26-27", actor=ADMIN)
    assert code == 2
    assert "--years 26-27: write a year or two, e.g. 2026 or 2026-2027" in err


def test_closure_import_holidays_refusal_names_the_country_flag(tmp_path: Path) -> None:
    db = tenant(tmp_path)
    code, _, err = run(db, "closure", "import-holidays", "--tenant", T, "--country", "XX", "--years", "2026", actor=ADMIN)
    assert code == 2
    assert err.startswith("callroute: error: --country XX: the holidays package knows no country 'XX'")


def test_explain_names_the_closure_that_decided(tmp_path: Path) -> None:
    db = tenant(tmp_path)
    run(db, "closure", "import-holidays", "--tenant", T, "--country", "SE", "--years", "2027", actor=ADMIN)
    code, out, err = run(db, "explain", "--tenant", T, "--to", "2001", "--from", "+441234567890", "--desired",
                         "--at", "2027-03-26T10:00:00+01:00", actor=ADMIN)
    assert code == 0, err
    assert ("✔ user 2001: closure — fri 2027-03-26 10:00:00 CET is in closure 'Good Friday 2027' (2027-03-26, whole day): "
            "to voicemail (its own out-of-hours handling)") in out


def test_explain_the_day_after_a_closure_shows_no_closure_in_force(tmp_path: Path) -> None:
    db = tenant(tmp_path)
    run(db, "closure", "import-holidays", "--tenant", T, "--country", "SE", "--years", "2027", actor=ADMIN)
    code, out, _ = run(db, "explain", "--tenant", T, "--to", "2001", "--from", "+441234567890", "--desired",
                       "--at", "2027-03-27T10:00:00+01:00", actor=ADMIN)
    assert code == 0
    assert "· user 2001: closure — sat 2027-03-27 10:00:00 CET is in no closure" in out


def test_table_lists_the_closures(tmp_path: Path) -> None:
    db = tenant(tmp_path)
    run(db, "closure", "add", "--tenant", T, "--name", "Inventory", "--date", "2026-12-01", "--to", "2002", actor=ADMIN)
    code, out, _ = run(db, "table", "--tenant", T, "--desired", actor=ADMIN)
    assert code == 0
    assert "  closure 'Inventory': 2026-12-01, whole day; closes the whole tenant → extension 2002" in out.splitlines()


def test_audit_history_shows_an_imported_closure_in_words(tmp_path: Path) -> None:
    db = tenant(tmp_path)
    run(db, "closure", "import-holidays", "--tenant", T, "--country", "SE", "--years", "2026", actor=ADMIN)
    code, out, _ = run(db, "audit", "history", "--tenant", T, "--since", "2026-11-23", actor=ADMIN)
    assert code == 0
    lines = out.splitlines()
    at = lines.index("    closure Midsummer Eve 2026: added")
    assert lines[at + 1:at + 5] == ["        name: Midsummer Eve 2026", "        first day: 2026-06-19", "        yearly: off",
                                    "        destination: each thing's own out-of-hours handling"]


def test_closure_add_refuses_hours_past_23_59(tmp_path: Path) -> None:
    db = tenant(tmp_path)
    code, _, err = run(db, "closure", "add", "--tenant", T, "--name", "Late", "--date", "2026-12-01", "--hours", "18:00-24:00",
                       actor=ADMIN)
    assert code == 2
    assert "--hours 18:00-24:00: times are HH:MM from 00:00 to 23:59" in err


def test_closure_add_refuses_a_destination_of_an_unknown_kind(tmp_path: Path) -> None:
    db = tenant(tmp_path)
    code, _, err = run(db, "closure", "add", "--tenant", T, "--name", "Late", "--date", "2026-12-01", "--to", "room:5",
                       actor=ADMIN)
    assert code == 2
    assert "--to room:5: write own, EXT, NUMBER, voicemail:EXT, group:ID, queue:ID, ivr:ID or scheme:ID" in err


def test_closure_add_to_a_queue_is_refused_naming_the_to_flag_when_the_queue_does_not_exist(tmp_path: Path) -> None:
    db = tenant(tmp_path)
    code, _, err = run(db, "closure", "add", "--tenant", T, "--name", "Late", "--date", "2026-12-01", "--to", "queue:support",
                       actor=ADMIN)
    assert code == 2
    assert err.startswith("callroute: error: --to queue:support: tenant 'acme' has no call queue 'support'")
