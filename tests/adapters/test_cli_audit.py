"""`callroute audit history|as-of|diff|explain-call|verify` against a real SQLite file.

The store is built with ``CallrouteApp`` on a ``SteppingClock`` (the CLI itself uses the
wall clock), so every change has a known instant; the CLI then reads the same file.

Timeline of tenant "acme" (all UTC, 20 Nov 2026):

- 09:00  v1   TenantCreated                          admin@acme
- 10:00  v2-5 users 2001 Ann, 2002 Bob, 2003 Cid; +442071234567 to 2001
- 11:00       provisioning: version 5 confirmed live
- 11:30  v6   helper@acme granted telephony_admin
- 12:00  v7   helper@acme: 2001 forward always → 2002 ("holiday")
- 13:00  v8   admin@acme: 2002 unreachable → voicemail
- 14:00       provisioning: version 8 confirmed live
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest


from adapters.bootstrap import build_app
from tests.adapters.clirun import invoke
from tests.backends import overwrite_event_state, record_events
from core import commands as c
from core.aggregates.context import Actor
from core.aggregates.provisioning import provisioning_id
from core.aggregates.targets import ToExtension, ToVoicemail
from core.clock import SteppingClock

T = "acme"
ADMIN = "admin@acme"
HELPER = "helper@acme"
NUMBER = "+442071234567"


def at(hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 11, 20, hour, minute, second, tzinfo=UTC)


def iso(hour: int, minute: int = 0, second: int = 0) -> str:
    return at(hour, minute, second).isoformat()


def shown(hour: int, minute: int = 0, second: int = 0) -> str:
    """An instant as the text output shows it: in the tenant's zone (Europe/London), to the second."""
    return at(hour, minute, second).isoformat(sep=" ")


class FakeHasher:
    def hash(self, pin: str) -> str:
        return "fake$" + pin[::-1]


def build_store(db: Path) -> None:
    clock = SteppingClock(at(9), timedelta(0))
    app = build_app(db, clock=clock, pin_hasher=FakeHasher())
    admin, helper = Actor(ADMIN), Actor(HELPER)
    app.execute([c.CreateTenant(tenant=T, name="Acme", time_zone="Europe/London")], admin)
    clock.set(at(10))
    app.execute([c.AddUser(tenant=T, extension="2001", name="Ann"), c.AddUser(tenant=T, extension="2002", name="Bob"),
                 c.AddUser(tenant=T, extension="2003", name="Cid"),
                 c.AssignNumber(tenant=T, extension="2001", number=NUMBER)], admin)
    clock.set(at(11))
    app.execute([c.ConfirmProvisioning(tenant=T, version=5)], admin)
    clock.set(at(11, 30))
    app.execute([c.GrantPermission(tenant=T, principal=HELPER)], admin)
    clock.set(at(12))
    app.execute([c.SetDivert(tenant=T, extension="2001", condition="always", target=ToExtension(extension="2002"))],
                helper, reason="holiday")
    clock.set(at(13))
    app.execute([c.SetDivert(tenant=T, extension="2002", condition="unreachable", target=ToVoicemail())], admin)
    clock.set(at(14))
    app.execute([c.ConfirmProvisioning(tenant=T, version=8)], admin)
    app.close()


@pytest.fixture(scope="module")
def shared_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The store, built once and only read by the tests that use it."""
    db = tmp_path_factory.mktemp("audit") / "store.sqlite"
    build_store(db)
    return db


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A store of its own, for a test that edits rows."""
    path = tmp_path / "store.sqlite"
    build_store(path)
    return path


def run(db: Path, *args: str, actor: str = ADMIN) -> tuple[int, str, str]:
    result = invoke(["--db", str(db), "--actor", actor, *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def history_json(db: Path, *args: str) -> list[dict[str, object]]:
    code, out, err = run(db, "audit", "history", "--tenant", T, "--json", *args)
    assert code == 0, err
    return json.loads(out)


def calls_file(tmp_path: Path, *calls: dict[str, object] | str) -> Path:
    path = tmp_path / "calls.jsonl"
    path.write_text("\n".join(call if isinstance(call, str) else json.dumps(call) for call in calls) + "\n")
    return path


# -- audit history ------------------------------------------------------------------------------


def test_history_text_shows_when_who_why_and_before_after(shared_db: Path) -> None:
    code, out, _ = run(shared_db, "audit", "history", "--tenant", T)
    assert code == 0
    lines = out.splitlines()
    line = lines.index(f"{shown(12)}  tenant v7  DivertSet  by {HELPER} — holiday")
    assert lines[line + 1] == "    user 2001: forward always: off → extension 2002"
    assert f"{shown(14)}  provisioning v3  ProvisioningConfirmed  by {ADMIN}" in lines


def test_history_text_names_the_partner_a_change_was_made_for(tmp_path: Path) -> None:
    db = tmp_path / "store.sqlite"
    clock = SteppingClock(at(9), timedelta(minutes=1))
    app = build_app(db, clock=clock, pin_hasher=FakeHasher())
    app.execute([c.CreateTenant(tenant=T, name="Acme", time_zone="Europe/London"),
                 c.SetPartner(tenant=T, partner="phoneline-plus")], Actor(ADMIN))
    app.execute([c.RenameTenant(tenant=T, name="Acme Group")], Actor("pat", partner="phoneline-plus"), reason="rebrand")
    app.close()
    code, out, _ = run(db, "audit", "history", "--tenant", T)
    assert code == 0
    assert f"{shown(9, 1)}  tenant v3  TenantRenamed  by pat for partner phoneline-plus — rebrand" in out.splitlines()
    assert "    tenant: name: Acme → Acme Group" in out.splitlines()


def test_history_text_lists_changes_in_time_order(shared_db: Path) -> None:
    _, out, _ = run(shared_db, "audit", "history", "--tenant", T)
    stamps = [line.split("  ")[0] for line in out.splitlines() if not line.startswith(" ")]
    assert stamps == sorted(stamps)
    assert stamps[0] == shown(9) and stamps[-1] == shown(14)


def test_history_json_has_every_change_with_version_instant_actor_reason_and_values(shared_db: Path) -> None:
    entries = history_json(shared_db)
    tenant = [e for e in entries if e["record"] == "tenant"]
    assert [e["version"] for e in tenant] == [1, 2, 3, 4, 5, 6, 7, 8]
    divert = tenant[6]
    assert divert["event"] == "DivertSet"
    assert datetime.fromisoformat(divert["at"]) == at(12)
    assert (divert["actor"], divert["partner"], divert["reason"]) == (HELPER, None, "holiday")
    assert divert["changes"] == [{"subject": "user 2001", "field": "forward_always", "before": {"kind": "off"},
                                  "after": {"kind": "extension", "extension": "2002"}}]
    assert [e["event"] for e in entries if e["record"] == "provisioning"] == [
        "ProvisioningOpened", "ProvisioningConfirmed", "ProvisioningConfirmed"]


def test_history_csv_has_a_header_and_one_row_per_changed_value(shared_db: Path) -> None:
    code, out, _ = run(shared_db, "audit", "history", "--tenant", T, "--csv")
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["at", "record", "version", "event", "actor", "partner", "reason", "subject", "field", "before", "after"]
    entries = history_json(shared_db)
    assert len(rows) - 1 == sum(len(e["changes"]) or 1 for e in entries)  # an entry without changes keeps one row
    busy = [r for r in rows[1:] if r[2] == "8"]
    assert busy == [[iso(13).replace("+00:00", "Z"), "tenant", "8", "DivertSet", ADMIN, "", "", "user 2002", "unreachable",
                     '{"kind":"off"}',
                     json.dumps({"kind": "voicemail", "extension": None}, separators=(",", ":"))]]


def test_history_csv_before_and_after_are_json_values(shared_db: Path) -> None:
    _, out, _ = run(shared_db, "audit", "history", "--tenant", T, "--csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    (divert,) = [r for r in rows if r["record"] == "tenant" and r["version"] == "7"]
    assert json.loads(divert["before"]) == {"kind": "off"}
    assert json.loads(divert["after"]) == {"kind": "extension", "extension": "2002"}
    assert divert["reason"] == "holiday"


def test_history_user_keeps_changes_to_and_mentions_of_that_extension(shared_db: Path) -> None:
    entries = history_json(shared_db, "--user", "2002")
    assert [(e["record"], e["version"], e["event"]) for e in entries] == [
        ("tenant", 3, "UserAdded"), ("tenant", 7, "DivertSet"), ("tenant", 8, "DivertSet")]


def test_history_actor_keeps_only_that_principals_changes(shared_db: Path) -> None:
    entries = history_json(shared_db, "--by", HELPER)
    assert [(e["record"], e["version"]) for e in entries] == [("tenant", 7)]


def test_history_since_and_until_are_inclusive(shared_db: Path) -> None:
    entries = history_json(shared_db, "--since", iso(11, 30), "--until", iso(12))
    assert [(e["record"], e["version"], e["event"]) for e in entries] == [
        ("tenant", 6, "PermissionGranted"), ("tenant", 7, "DivertSet")]


def test_history_since_with_another_offset_means_the_same_instant(shared_db: Path) -> None:
    entries = history_json(shared_db, "--since", "2026-11-20T14:00:00+01:00", "--until", "2026-11-20T14:00:00+01:00")
    assert [(e["record"], e["version"]) for e in entries] == [("tenant", 8)]


@pytest.mark.parametrize("option", ["--since", "--until"])
def test_history_with_a_malformed_instant_exits_2(shared_db: Path, option: str) -> None:
    code, out, err = run(shared_db, "audit", "history", "--tenant", T, option, "yesterday")
    assert code == 2
    assert f"{option} yesterday: not an instant" in err
    assert out == ""


def test_history_reads_an_instant_without_offset_in_the_tenant_zone(shared_db: Path) -> None:
    code, out, err = run(shared_db, "audit", "history", "--tenant", T, "--since", "2026-11-20T12:00:00")
    assert code == 0
    assert "read as Europe/London local time: 2026-11-20T12:00:00+00:00" in err
    assert out.startswith(f"{shown(12)}  tenant v7  DivertSet")


def test_history_before_the_tenant_existed_says_no_changes_match(shared_db: Path) -> None:
    code, out, _ = run(shared_db, "audit", "history", "--tenant", T, "--until", iso(8))
    assert code == 0
    assert out.strip() == "no changes match"


def test_history_of_an_unknown_tenant_exits_2_for_an_operator(shared_db: Path) -> None:
    code, _, err = run(shared_db, "audit", "history", "--tenant", "nobody", "--operator")
    assert code == 2
    assert "no tenant 'nobody'" in err


# -- audit as-of --------------------------------------------------------------------------------


def as_of_json(db: Path, *args: str) -> dict[str, object]:
    code, out, err = run(db, "audit", "as-of", "--tenant", T, "--desired", "--json", *args)
    assert code == 0, err
    return json.loads(out)


def user_view(document: dict[str, object], extension: str) -> dict[str, object]:
    return next(u for u in document["configuration"]["users"] if u["extension"] == extension)  # type: ignore[index]


def test_as_of_exactly_at_a_change_includes_it(shared_db: Path) -> None:
    document = as_of_json(shared_db, "--at", iso(12))
    assert document["version"] == 7
    assert user_view(document, "2001")["forward_always"] == {"kind": "extension", "extension": "2002"}
    assert document["routing_table"]["version"] == 7  # type: ignore[index]


def test_as_of_just_before_a_change_excludes_it(shared_db: Path) -> None:
    document = as_of_json(shared_db, "--at", iso(11, 59, 59))
    assert document["version"] == 6
    assert user_view(document, "2001")["forward_always"] == {"kind": "off"}


def test_as_of_text_names_the_saved_version_and_shows_the_table(shared_db: Path) -> None:
    code, out, _ = run(shared_db, "audit", "as-of", "--tenant", T, "--at", iso(12), "--desired")
    assert code == 0
    assert out.startswith(f"{T} at {shown(12)}: saved (desired) version 7\n")
    assert "forward always: extension 2002" in out
    assert "acme routing table at version 7" in out


def test_as_of_before_the_tenant_existed_exits_2(shared_db: Path) -> None:
    code, out, err = run(shared_db, "audit", "as-of", "--tenant", T, "--at", iso(8, 59, 59))
    assert code == 2
    assert "the tenant did not exist yet" in err
    assert out == ""


def test_as_of_effective_during_a_pending_change_shows_the_confirmed_version(shared_db: Path) -> None:
    document = as_of_json(shared_db, "--at", iso(13, 30), "--effective")
    assert document["version"] == 5
    assert user_view(document, "2001")["forward_always"] == {"kind": "off"}
    assert document["routing_table"]["version"] == 5  # type: ignore[index]
    code, out, _ = run(shared_db, "audit", "as-of", "--tenant", T, "--at", iso(13, 30), "--effective")
    assert code == 0
    assert "live (effective) version 5" in out


def test_as_of_effective_before_anything_was_confirmed_exits_2(shared_db: Path) -> None:
    code, _, err = run(shared_db, "audit", "as-of", "--tenant", T, "--at", iso(10, 30), "--effective")
    assert code == 2
    assert "nothing of it was live yet" in err


def test_as_of_with_a_malformed_instant_exits_2(shared_db: Path) -> None:
    code, _, err = run(shared_db, "audit", "as-of", "--tenant", T, "--at", "noon")
    assert code == 2
    assert "--at noon: not an instant" in err


# -- audit diff ---------------------------------------------------------------------------------


def test_diff_between_two_versions_groups_changes_by_subject(shared_db: Path) -> None:
    code, out, _ = run(shared_db, "audit", "diff", "--tenant", T, "--from", "6", "--to", "8")
    assert code == 0
    assert out.splitlines() == [
        f"{T}: version 6 → 8, 2 values changed",
        "  user 2001",
        "    forward always: off → extension 2002",
        "  user 2002",
        "    unreachable: off → voicemail",
    ]


def test_diff_between_two_instants_uses_the_versions_saved_then(shared_db: Path) -> None:
    code, out, _ = run(shared_db, "audit", "diff", "--tenant", T, "--from", iso(11, 59), "--to", iso(12))
    assert code == 0
    assert out.splitlines() == [
        f"{T}: version 6 → 7, 1 value changed",
        "  user 2001",
        "    forward always: off → extension 2002",
    ]


def test_diff_json_names_both_versions_and_every_change(shared_db: Path) -> None:
    code, out, _ = run(shared_db, "audit", "diff", "--tenant", T, "--from", "1", "--to", "2", "--json")
    assert code == 0
    document = json.loads(out)
    assert (document["from_version"], document["to_version"]) == (1, 2)
    assert [(ch["subject"], ch["field"], ch["before"]) for ch in document["changes"]] == [("user 2001", "", None)]
    assert document["changes"][0]["after"]["name"] == "Ann"


@pytest.mark.parametrize(("start", "end", "message"), [
    ("6", "99", "--to 99: version 99 does not exist (the tenant is at version 8)"),
    ("0", "8", "--from 0: version 0 does not exist"),
])
def test_diff_with_an_unknown_version_exits_2(shared_db: Path, start: str, end: str, message: str) -> None:
    code, _, err = run(shared_db, "audit", "diff", "--tenant", T, "--from", start, "--to", end)
    assert code == 2
    assert message in err


def test_diff_from_an_instant_before_the_tenant_existed_exits_2(shared_db: Path) -> None:
    code, _, err = run(shared_db, "audit", "diff", "--tenant", T, "--from", iso(8), "--to", "8")
    assert code == 2
    assert "the tenant did not exist yet" in err


def test_diff_never_shows_a_pin_hash(tmp_path: Path) -> None:
    db = tmp_path / "store.sqlite"
    clock = SteppingClock(at(9), timedelta(minutes=1))
    app = build_app(db, clock=clock, pin_hasher=FakeHasher())
    app.execute([c.CreateTenant(tenant=T, name="Acme", time_zone="Europe/London"),
                 c.AddUser(tenant=T, extension="2001", name="Ann")], Actor(ADMIN))
    app.execute([c.SetVoicePortalPin(tenant=T, extension="2001", pin="123456")], Actor(ADMIN))
    app.close()
    code, out, _ = run(db, "audit", "diff", "--tenant", T, "--from", "2", "--to", "3")
    assert code == 0
    assert "voice-portal PIN: — → set" in out
    assert "fake$" not in out


def test_diff_over_a_user_added_with_a_pin_never_shows_the_hash(tmp_path: Path) -> None:
    db = tmp_path / "store.sqlite"
    clock = SteppingClock(at(9), timedelta(minutes=1))
    app = build_app(db, clock=clock, pin_hasher=FakeHasher())
    app.execute([c.CreateTenant(tenant=T, name="Acme", time_zone="Europe/London")], Actor(ADMIN))
    app.execute([c.AddUser(tenant=T, extension="2001", name="Ann"),
                 c.SetVoicePortalPin(tenant=T, extension="2001", pin="123456")], Actor(ADMIN))
    app.close()
    for args in (["--from", "1", "--to", "3"], ["--from", "1", "--to", "3", "--json"]):
        code, out, _ = run(db, "audit", "diff", "--tenant", T, *args)
        assert code == 0
        assert "fake$" not in out


# -- audit explain-call -------------------------------------------------------------------------


def test_explain_call_shows_the_plan_and_why_by_the_live_table(shared_db: Path) -> None:
    code, out, _ = run(shared_db, "audit", "explain-call", "--tenant", T, "--to", NUMBER, "--at", iso(14, 30),
                       "--from", "+441234567890")
    assert code == 0
    assert out.startswith(f"{T}: call to {NUMBER} from +441234567890 at {shown(14, 30)}, live table version 8\n")
    plan = out.split("Plan:\n")[1].split("\n\nWhy:")[0]
    assert plan.startswith("ring user 2002")
    why = out.split("Why:\n")[1]
    assert "user 2001: forward always" in why


def test_explain_call_while_a_change_is_pending_uses_the_table_then_live(shared_db: Path) -> None:
    code, out, _ = run(shared_db, "audit", "explain-call", "--tenant", T, "--to", NUMBER, "--at", iso(12, 30))
    assert code == 0
    assert "live table version 5" in out
    assert "Plan:\nring user 2001" in out


def test_explain_call_without_to_and_at_or_calls_exits_2(shared_db: Path) -> None:
    code, _, err = run(shared_db, "audit", "explain-call", "--tenant", T, "--to", NUMBER)
    assert code == 2
    assert "give --to and --at for one call, or --calls FILE" in err


def test_explain_calls_all_as_configured_exits_0(shared_db: Path, tmp_path: Path) -> None:
    file = calls_file(
        tmp_path,
        {"call_id": "c1", "to": NUMBER, "from": "+441234567890", "at": iso(14, 30), "outcome": "answered", "endpoint": "2002"},
        {"call_id": "c2", "to": NUMBER, "at": iso(14, 31), "outcome": "missed"},
        {"call_id": "c3", "to": NUMBER, "at": iso(14, 32), "outcome": "voicemail", "endpoint": "2002",
         "states": {"2002": "unreachable"}},
        {"call_id": "c4", "to": NUMBER, "at": iso(12, 30), "outcome": "answered", "endpoint": "2001"},
    )
    code, out, _ = run(shared_db, "audit", "explain-call", "--tenant", T, "--calls", str(file))
    assert code == 0
    assert out.splitlines() == [
        "call c1: answered 2002 — as configured (version 8)",
        "call c2: missed — as configured (version 8)",
        "call c3: voicemail 2002 — as configured (version 8)",
        "call c4: answered 2001 — as configured (version 5)",
    ]


def test_explain_calls_answered_by_the_wrong_extension_differs_and_exits_1(shared_db: Path, tmp_path: Path) -> None:
    file = calls_file(
        tmp_path,
        {"call_id": "ok", "to": NUMBER, "at": iso(14, 30), "outcome": "answered", "endpoint": "2002"},
        {"call_id": "bad", "to": NUMBER, "at": iso(14, 31), "outcome": "answered", "endpoint": "2003"},
    )
    code, out, _ = run(shared_db, "audit", "explain-call", "--tenant", T, "--calls", str(file))
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == "call ok: answered 2002 — as configured (version 8)"
    assert lines[1] == "call bad: answered 2003 — DIFFERS from version 8, which allows: answered by 2002; missed"
    assert any("forward always" in line for line in lines[2:])
    assert lines[-1] == "1 calls differ from the configuration"


def test_explain_calls_with_a_malformed_line_names_the_file_line_and_field(shared_db: Path, tmp_path: Path) -> None:
    file = calls_file(
        tmp_path,
        {"call_id": "c1", "to": NUMBER, "at": iso(14, 30), "outcome": "missed"},
        "",
        {"call_id": "c2", "to": NUMBER, "at": "yesterday", "outcome": "missed"},
    )
    code, _, err = run(shared_db, "audit", "explain-call", "--tenant", T, "--calls", str(file))
    assert code == 2
    assert f"{file}:3: " in err
    assert "$.at" in err


def test_explain_calls_with_an_unknown_outcome_names_the_field(shared_db: Path, tmp_path: Path) -> None:
    file = calls_file(tmp_path, {"call_id": "c1", "to": NUMBER, "at": iso(14, 30), "outcome": "hung up"})
    code, _, err = run(shared_db, "audit", "explain-call", "--tenant", T, "--calls", str(file))
    assert code == 2
    assert f"{file}:1: " in err
    assert "$.outcome" in err


def test_explain_calls_with_a_line_that_is_not_json_exits_2(shared_db: Path, tmp_path: Path) -> None:
    file = calls_file(tmp_path, "{not json")
    code, _, err = run(shared_db, "audit", "explain-call", "--tenant", T, "--calls", str(file))
    assert code == 2
    assert f"{file}:1: " in err


def test_explain_calls_refuse_the_field_caller_instead_of_from(shared_db: Path, tmp_path: Path) -> None:
    file = calls_file(tmp_path, {"call_id": "c1", "to": NUMBER, "at": iso(14, 30), "outcome": "missed", "caller": "+4412"})
    code, _, err = run(shared_db, "audit", "explain-call", "--tenant", T, "--calls", str(file))
    assert code == 2
    assert "caller" in err


def test_explain_calls_with_an_instant_without_offset_exits_2(shared_db: Path, tmp_path: Path) -> None:
    file = calls_file(tmp_path, {"call_id": "c1", "to": NUMBER, "at": "2026-11-20T14:30:00", "outcome": "missed"})
    result = invoke(["--db", str(shared_db), "--actor", ADMIN, "audit", "explain-call", "--tenant", T,
                                      "--calls", str(file)])
    assert result.exit_code == 2
    assert f"{file}:1: " in result.stderr
    assert "$.at" in result.stderr


def test_explain_calls_before_anything_was_live_exits_2(shared_db: Path, tmp_path: Path) -> None:
    file = calls_file(tmp_path, {"call_id": "c1", "to": NUMBER, "at": iso(10, 30), "outcome": "missed"})
    code, _, err = run(shared_db, "audit", "explain-call", "--tenant", T, "--calls", str(file))
    assert code == 2
    assert "nothing was confirmed live by then" in err


# -- permissions --------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [
    ["history", "--tenant", T],
    ["as-of", "--tenant", T, "--at", iso(12)],
    ["diff", "--tenant", T, "--from", "1", "--to", "8"],
    ["explain-call", "--tenant", T, "--to", NUMBER, "--at", iso(14, 30)],
], ids=["history", "as-of", "diff", "explain-call"])
def test_an_audit_command_without_permission_exits_3(shared_db: Path, args: list[str]) -> None:
    code, out, err = run(shared_db, "audit", *args, actor="mallory")
    assert code == 3
    assert "no tenant 'acme' that 'mallory' may read" in err
    assert out == ""


def test_explain_calls_without_permission_exits_3(shared_db: Path, tmp_path: Path) -> None:
    file = calls_file(tmp_path, {"call_id": "c1", "to": NUMBER, "at": iso(14, 30), "outcome": "missed"})
    code, out, _ = run(shared_db, "audit", "explain-call", "--tenant", T, "--calls", str(file), actor="mallory")
    assert code == 3
    assert out == ""


def test_a_partner_that_does_not_manage_the_tenant_gets_exit_3(shared_db: Path) -> None:
    result = invoke(["--db", str(shared_db), "--actor", "eve", "--partner", "other", "audit", "history",
                                      "--tenant", T])
    assert result.exit_code == 3
    assert "no tenant 'acme' that 'eve' for partner 'other' may read" in result.stderr


# -- audit verify -------------------------------------------------------------------------------


def test_verify_reports_both_chains_intact(shared_db: Path) -> None:
    code, out, _ = run(shared_db, "audit", "verify", "--tenant", T)
    assert code == 0
    assert out.startswith(f"{T}: intact, 8 events, head ")


def test_verify_reports_an_edited_provisioning_row(db: Path) -> None:
    [(_, _, state)] = [row for row in record_events(db, provisioning_id(T)) if row[0] == 3]
    edited = msgspec.json.decode(state)
    assert edited["version"] == 8
    edited["version"] = 7
    overwrite_event_state(db, provisioning_id(T), 3, msgspec.json.encode(edited))
    code, out, _ = run(db, "audit", "verify", "--operator")
    assert code == 1
    assert f"{T} provisioning: BROKEN at event version 3: altered" in out
    assert f"{T}: intact, 8 events" in out  # the tenant's own chain is untouched
