"""Tenant isolation on the command line: the auditor role, and unknown and forbidden tenants that look the same.

Two stores are built once: ``exists`` holds the Malmö clinic and the sample tenant
``nordic-dental`` (with ``audrey`` granted the auditor permission through ``apply``);
``unknown`` holds the Malmö clinic only. In both, outsiders own tenants of their own. Every
read and every write of ``nordic-dental`` by an outsider must answer byte for byte the same
in both stores, exit 3: nobody learns from an answer whether a tenant they may not read
exists. An operator is told plainly that a tenant does not exist (exit 2).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.adapters.test_cli import ADMIN, DATA, apply_seed, run

T = "nordic-dental"
AUDITOR = "audrey"

OUTSIDERS: dict[str, tuple[str, ...]] = {
    "stranger": ("mallory",),  # the admin of a tenant of its own
    "auditor-of-another-tenant": ("olga",),
    "other-partner": ("eve", "--partner", "other"),
    "admin-acting-for-a-partner": (ADMIN, "--partner", "other"),  # never the customer principal of that name
}


def _apply(db: Path, actor: str, text: str, name: str = "cmds.toml") -> None:
    path = db.parent / name
    path.write_text(text)
    code, _, err = run(db, "apply", str(path), actor=actor)
    assert code == 0, err


def _own_tenants(db: Path) -> None:
    """What outsiders have in both stores: mallory's tenant (olga its auditor) and partner other's customer."""
    _apply(db, "mallory", '[[commands]]\ncommand = "create_tenant"\ntenant = "own"\nname = "Own"\ntime_zone = "Europe/Kyiv"\n'
                          '[[commands]]\ncommand = "grant_permission"\ntenant = "own"\nprincipal = "olga"\npermission = "auditor"\n')
    code, _, err = run(db, "tenant", "create", "--tenant", "other-cust", "--name", "Other's", "--time-zone", "Europe/Oslo",
                       "--partner", "other", actor="eve")
    assert code == 0, err


GRANT_AUDITOR = (f'[[commands]]\ncommand = "grant_permission"\ntenant = "{T}"\nprincipal = "{AUDITOR}"\n'
                 'permission = "auditor"\n')


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    exists = tmp_path_factory.mktemp("exists") / "c.sqlite"
    apply_seed(exists)
    _apply(exists, ADMIN, GRANT_AUDITOR, "grant.toml")  # the CLI grants telephony_admin and auditor alike: apply
    unknown = tmp_path_factory.mktemp("unknown") / "c.sqlite"
    code, _, err = run(unknown, "apply", str(DATA / "seed_malmo.toml"), actor=ADMIN)
    assert code == 0, err
    for db in (exists, unknown):
        _own_tenants(db)
    return {"exists": exists, "unknown": unknown}


READS: dict[str, tuple[str, ...]] = {
    "tenant show": ("tenant", "show", "--tenant", T),
    "tenant show --json": ("tenant", "show", "--tenant", T, "--json"),
    "user list": ("user", "list", "--tenant", T),
    "user show": ("user", "show", "--tenant", T, "--extension", "2001"),
    "user show of an unknown extension": ("user", "show", "--tenant", T, "--extension", "2999"),
    "divert show": ("divert", "show", "--tenant", T, "--extension", "2001"),
    "out-of-hours show": ("out-of-hours", "show", "--tenant", T, "--extension", "2004"),
    "group list": ("group", "list", "--tenant", T),
    "group show": ("group", "show", "--tenant", T, "--group", "reception"),
    "queue list": ("queue", "list", "--tenant", T),
    "queue show": ("queue", "show", "--tenant", T, "--queue", "support"),
    "ivr list": ("ivr", "list", "--tenant", T),
    "ivr show": ("ivr", "show", "--tenant", T, "--ivr", "main"),
    "scheme list": ("scheme", "list", "--tenant", T),
    "scheme show": ("scheme", "show", "--tenant", T, "--scheme", "sales-hours"),
    "number list": ("number", "list", "--tenant", T),
    "closure list": ("closure", "list", "--tenant", T),
    "table": ("table", "--tenant", T, "--desired"),
    "explain": ("explain", "--tenant", T, "--to", "2001", "--desired"),
    "pending": ("pending", "--tenant", T),
    "audit history": ("audit", "history", "--tenant", T),
    "audit as-of": ("audit", "as-of", "--tenant", T, "--desired"),
    "audit diff": ("audit", "diff", "--tenant", T, "--from", "1", "--to", "2"),
    "audit explain-call": ("audit", "explain-call", "--tenant", T, "--to", "2001", "--at", "2026-11-23T10:00", "--desired"),
    "audit verify": ("audit", "verify", "--tenant", T),
}

WRITES: dict[str, tuple[str, ...]] = {
    "user add": ("user", "add", "--tenant", T, "--extension", "2999", "--name", "Mallory"),
    "user remove": ("user", "remove", "--tenant", T, "--extension", "2003"),
    "divert set": ("divert", "set", "--tenant", T, "--extension", "2001", "--when", "busy", "--to", "voicemail"),
    "divert clear": ("divert", "clear", "--tenant", T, "--extension", "2001", "--when", "busy"),
    "out-of-hours off": ("out-of-hours", "off", "--tenant", T, "--extension", "2004"),
    "group member add": ("group", "member", "add", "--tenant", T, "--group", "sales", "--member", "2001"),
    "group member add of another cloud PBX": ("group", "member", "add", "--tenant", T, "--group", "sales", "--member",
                                              "cloud:nordic-dental-malmo/3002"),
    "group member remove": ("group", "member", "remove", "--tenant", T, "--group", "reception", "--member", "2001"),
    "group reject-anonymous": ("group", "reject-anonymous", "--tenant", T, "--group", "sales", "--on"),
    "group check-members": ("group", "check-members", "--tenant", T),
    "number reject-anonymous": ("number", "reject-anonymous", "--tenant", T, "--number", "+46812345670", "--on"),
    "closure add": ("closure", "add", "--tenant", T, "--name", "Mallory day", "--date", "2026-12-01"),
    "provision confirm": ("provision", "confirm", "--tenant", T, "--version", "1"),
    "provision policy": ("provision", "policy", "--tenant", T, "--max-delay-hours", "1"),
}

RENAME = f'[[commands]]\ncommand = "rename_tenant"\ntenant = "{T}"\nname = "Mine now"\n'


def answer(db: Path, args: tuple[str, ...], who: tuple[str, ...]) -> tuple[int, str, str]:
    actor, *more = who
    return run(db, *args, *more, actor=actor)


def both(stores: dict[str, Path], args: tuple[str, ...], who: tuple[str, ...]) -> tuple[int, str, str]:
    """The answer in the store where the tenant exists, asserted byte for byte equal to the one where it does not."""
    found = answer(stores["exists"], args, who)
    assert found == answer(stores["unknown"], args, who)
    return found


def refusal_line(who: tuple[str, ...], readable: str) -> str:
    actor = who[0]
    named = repr(actor) + (f" for partner {who[2]!r}" if len(who) > 1 else "")
    return (f"no tenant '{T}' that {named} may read; tenants you may read: {readable} "
            f"(name who acts with --actor PRINCIPAL or CALLROUTE_ACTOR; now acting as {actor})")


READABLE = {"stranger": "own", "auditor-of-another-tenant": "own", "other-partner": "other-cust",
            "admin-acting-for-a-partner": "other-cust"}


# -- unknown and forbidden look the same -----------------------------------------------------------


@pytest.mark.parametrize("outsider", sorted(OUTSIDERS))
@pytest.mark.parametrize("read", sorted(READS))
def test_a_read_of_a_tenant_the_actor_may_not_read_is_the_same_whether_it_exists_or_not(
    stores: dict[str, Path], read: str, outsider: str
) -> None:
    who = OUTSIDERS[outsider]
    code, out, err = both(stores, READS[read], who)
    assert (code, out) == (3, "")
    assert err == f"callroute: error: --tenant {T}: {refusal_line(who, READABLE[outsider])}\n"


@pytest.mark.parametrize("outsider", sorted(OUTSIDERS))
@pytest.mark.parametrize("write", sorted(WRITES))
def test_a_write_to_a_tenant_the_actor_may_not_read_is_the_same_whether_it_exists_or_not(
    stores: dict[str, Path], write: str, outsider: str
) -> None:
    who = OUTSIDERS[outsider]
    code, out, err = both(stores, WRITES[write], who)
    assert (code, out) == (3, "")
    assert err == f"callroute: error: --tenant {T}: {refusal_line(who, READABLE[outsider])}\n"


@pytest.mark.parametrize("outsider", sorted(OUTSIDERS))
def test_a_command_file_for_a_tenant_the_actor_may_not_read_is_the_same_whether_it_exists_or_not(
    stores: dict[str, Path], tmp_path: Path, outsider: str
) -> None:
    file = tmp_path / "rename.toml"
    file.write_text(RENAME)
    who = OUTSIDERS[outsider]
    code, out, err = both(stores, ("apply", str(file)), who)
    assert (code, out) == (3, "")
    assert err == f"callroute: error: {file}: commands[0].tenant (rename_tenant): {refusal_line(who, READABLE[outsider])}\n"


@pytest.mark.parametrize("outsider", sorted(OUTSIDERS))
def test_tenant_list_shows_an_outsider_the_same_in_both_stores(stores: dict[str, Path], outsider: str) -> None:
    code, out, _ = both(stores, ("tenant", "list", "--json"), OUTSIDERS[outsider])
    assert code == 0
    assert [t["slug"] for t in json.loads(out)] == [READABLE[outsider]]


def test_an_operator_is_told_plainly_that_a_tenant_does_not_exist(stores: dict[str, Path]) -> None:
    operator = ("ops", "--operator")
    for args in (READS["tenant show"], READS["audit history"], WRITES["divert set"]):
        code, out, err = answer(stores["unknown"], args, operator)
        assert (code, out) == (2, "")
        assert err.startswith(f"callroute: error: --tenant {T}: no tenant '{T}'; tenants you may read: ")
    assert answer(stores["exists"], READS["tenant show"], operator)[0] == 0


def test_an_extension_of_a_tenant_the_actor_may_read_is_named_plainly(stores: dict[str, Path]) -> None:
    code, _, err = answer(stores["exists"], READS["user show of an unknown extension"], (ADMIN,))
    assert (code, "--extension 2999" in err) == (2, True)


# -- the auditor ---------------------------------------------------------------------------------


@pytest.mark.parametrize("read", sorted(set(READS) - {"user show of an unknown extension"}))
def test_an_auditor_reads_what_an_admin_reads(stores: dict[str, Path], read: str) -> None:
    audited = answer(stores["exists"], READS[read], (AUDITOR,))
    assert audited[0] == 0, audited[2]
    assert audited == answer(stores["exists"], READS[read], (ADMIN,))


@pytest.mark.parametrize("write", sorted(WRITES))
def test_an_auditor_changes_nothing(stores: dict[str, Path], write: str) -> None:
    code, out, err = answer(stores["exists"], WRITES[write], (AUDITOR,))
    assert (code, out) == (3, "")
    assert err == (f"callroute: error: --tenant {T}: '{AUDITOR}' may read tenant '{T}' as its auditor but not change it; "
                   f"changing needs the telephony_admin permission (name who acts with --actor PRINCIPAL or CALLROUTE_ACTOR; "
                   f"now acting as {AUDITOR})\n")


def test_an_auditor_cannot_apply_a_command_file(stores: dict[str, Path], tmp_path: Path) -> None:
    file = tmp_path / "rename.toml"
    file.write_text(RENAME)
    code, _, err = answer(stores["exists"], ("apply", str(file)), (AUDITOR,))
    assert code == 3
    assert f"commands[0].tenant (rename_tenant): '{AUDITOR}' may read tenant '{T}' as its auditor but not change it" in err


def test_tenant_list_shows_an_auditor_the_tenants_it_audits(stores: dict[str, Path]) -> None:
    code, out, _ = answer(stores["exists"], ("tenant", "list", "--json"), (AUDITOR,))
    assert (code, [t["slug"] for t in json.loads(out)]) == (0, [T])


def test_the_auditor_is_shown_among_the_tenants_permissions(stores: dict[str, Path]) -> None:
    code, out, _ = answer(stores["exists"], ("tenant", "show", "--tenant", T, "--json"), (AUDITOR,))
    assert (code, json.loads(out)["admins"][AUDITOR]) == (0, ["auditor"])


def test_an_unknown_permission_is_refused_naming_the_field(tmp_path: Path, stores: dict[str, Path]) -> None:
    file = tmp_path / "grant.toml"
    file.write_text(GRANT_AUDITOR.replace('"auditor"', '"root"'))
    code, _, err = answer(stores["exists"], ("apply", str(file)), (ADMIN,))
    assert code == 2
    assert "permission" in err and "'root' is not one of the allowed values" in err
