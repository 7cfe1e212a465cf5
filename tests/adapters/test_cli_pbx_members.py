"""Members on other PBXs that the directory stopped listing, and members ringing for the group's timeout, on the command line.

The sample tenant's reception group has ``cloud:nordic-dental-malmo/3001`` and
``sip:kyiv-office/101`` as members and ``205`` on kyiv-office as its fallback. A test that
changes the SIP directory writes its own directory file.
"""

from __future__ import annotations

from pathlib import Path

from tests.adapters.clirun import invoke
from tests.adapters.test_cli import ADMIN, DATA
from tests.adapters.test_cli_admin import T, members, ok, refused
from tests.backends import copy_store

MALMO = "nordic-dental-malmo"


def without_101(tmp_path: Path) -> Path:
    """The sample SIP directory after the Kyiv office dropped internal number 101."""
    path = tmp_path / "directory.toml"
    path.write_text('[sip_pbx.kyiv-office]\nname = "Kyiv office"\ninternal_numbers = ["102", "205"]\n')
    return path


def with_directory(db: Path, directory: Path | None, *args: str) -> tuple[int, str, str]:
    given = ["--pbx-directory", str(directory)] if directory is not None else []
    result = invoke(["--db", str(db), "--actor", ADMIN, *given, *args])
    return result.exit_code, result.stdout, result.stderr


def check_without_101(db: Path, tmp_path: Path) -> str:
    code, out, err = with_directory(db, without_101(tmp_path), "group", "check-members", "--tenant", T)
    assert code == 0, err
    return out


def test_group_check_members_lists_an_internal_number_gone_from_the_directory_file(db: Path, tmp_path: Path) -> None:
    out = check_without_101(db, tmp_path)
    assert out.splitlines()[1:] == [
        f"{T}: 1 member on other PBXs unknown to the PBX directory",
        "  sip:kyiv-office/101  unknown since 2026-11-23 10:00:00+01:00 (SIP PBX 'kyiv-office' has no internal number '101');"
        " in group reception",
    ]


def test_group_check_members_says_so_when_every_member_is_known(db: Path) -> None:
    assert ok(db, "group", "check-members", "--tenant", T) == f"{T}: every member on other PBXs is known to the PBX directory\n"


def test_group_check_members_without_a_directory_file_marks_nothing_and_says_where_sip_pbxs_are_listed(db: Path) -> None:
    code, _, err = with_directory(db, None, "group", "check-members", "--tenant", T)
    assert code == 2
    assert "does not know SIP PBX 'kyiv-office'; nothing was marked" in err and "--pbx-directory FILE" in err


def test_group_check_members_of_a_pbx_that_is_not_linked_names_the_pbx_flag(db: Path) -> None:
    assert refused(db, "group", "check-members", "--tenant", T, "--pbx", "nope").startswith("callroute: error: --pbx nope: ")


def test_group_show_marks_a_member_unknown_with_since_when_and_why(db: Path, tmp_path: Path) -> None:
    check_without_101(db, tmp_path)
    out = ok(db, "group", "show", "--tenant", T, "--group", "reception")
    assert ("internal number 101 (SIP PBX kyiv-office), rings 25 s, unknown since 2026-11-23 10:00:00+01:00 "
            "(SIP PBX 'kyiv-office' has no internal number '101')  [--member sip:kyiv-office/101]") in out


def test_group_show_json_gives_the_mark_of_an_unknown_member_only(db: Path, tmp_path: Path) -> None:
    check_without_101(db, tmp_path)
    shown = members(db, "reception")
    assert [m.get("unknown") for m in shown] == [None, None, None, {
        "since": "2026-11-23T09:00:00Z", "finding": "SIP PBX 'kyiv-office' has no internal number '101'"}]


def test_group_list_marks_an_unknown_member(db: Path, tmp_path: Path) -> None:
    check_without_101(db, tmp_path)
    assert "sip:kyiv-office/101 (unknown)" in ok(db, "group", "list", "--tenant", T)


def test_tenant_show_lists_the_unknown_members_of_a_linked_pbx(db: Path, tmp_path: Path) -> None:
    check_without_101(db, tmp_path)
    out = ok(db, "tenant", "show", "--tenant", T).splitlines()
    at = out.index("  linked sip PBX kyiv-office: Kyiv office")
    assert out[at + 1] == "      101 unknown since 2026-11-23 10:00:00+01:00 (SIP PBX 'kyiv-office' has no internal number '101')"


def test_explain_says_an_unknown_member_is_skipped(db: Path, tmp_path: Path) -> None:
    check_without_101(db, tmp_path)
    out = ok(db, "explain", "--tenant", T, "--to", "+46812345600", "--from", "441234567890", "--desired")
    assert ("· group reception: member — kyiv-office/101 is unknown since mon 2026-11-23 10:00:00 CET "
            "(SIP PBX 'kyiv-office' has no internal number '101'): skipped") in out


def test_removing_a_user_of_the_other_cloud_pbx_marks_the_member_of_the_group_that_uses_it(db: Path) -> None:
    out = ok(db, "user", "remove", "--tenant", MALMO, "--extension", "3001")
    assert f"{T}: now at version" in out
    assert "3001 (cloud PBX nordic-dental-malmo), rings 25 s, unknown since" in ok(db, "group", "show", "--tenant", T,
                                                                                  "--group", "reception")


def test_group_member_add_with_group_timeout_rings_for_the_group_timeout(db: Path) -> None:
    out = ok(db, "group", "member", "add", "--tenant", T, "--group", "sales", "--member", "2001", "--group-timeout")
    assert out.endswith("sales: extension 2001 added last, rings the group's timeout\n")
    assert members(db, "sales")[-1]["ring_seconds"] is None


def test_group_member_add_without_a_ring_time_rings_20_s(db: Path) -> None:
    ok(db, "group", "member", "add", "--tenant", T, "--group", "sales", "--member", "2001")
    assert members(db, "sales")[-1]["ring_seconds"] == 20


def test_group_member_add_refuses_a_ring_time_and_the_group_timeout_together(db: Path) -> None:
    err = refused(db, "group", "member", "add", "--tenant", T, "--group", "sales", "--member", "2001", "--ring-seconds", "30",
                  "--group-timeout")
    assert "give either --ring-seconds or --group-timeout, not both" in err


def test_group_member_ring_time_lets_the_group_timeout_govern_a_member(db: Path) -> None:
    out = ok(db, "group", "member", "ring-time", "--tenant", T, "--group", "sales", "--member", "2004", "--group-timeout")
    assert out.endswith("sales: extension 2004 now rings the group's timeout\n")
    assert "extension 2004, rings the group's timeout" in ok(db, "group", "show", "--tenant", T, "--group", "sales")


def test_group_member_ring_time_sets_a_members_own_ring_time(db: Path) -> None:
    ok(db, "group", "member", "ring-time", "--tenant", T, "--group", "sales", "--member", "2004", "--ring-seconds", "40")
    assert members(db, "sales")[0]["ring_seconds"] == 40


def test_group_member_ring_time_needs_a_ring_time_or_the_group_timeout(db: Path) -> None:
    err = refused(db, "group", "member", "ring-time", "--tenant", T, "--group", "sales", "--member", "2004")
    assert "give --ring-seconds SECONDS or --group-timeout" in err


# -- another customer's tenant as a cloud PBX: rights on both sides ---------------------------------------------

GLOBEX = "globex"
GUS = "gus@globex.example"
"""The administrator of tenant globex, and of nothing else."""
BOB = "bob@nordic-dental.example"
"""A second telephony_admin of the sample tenant, and of nothing else."""


def as_actor(db: Path, actor: str, *args: str) -> tuple[int, str, str]:
    result = invoke(["--db", str(db), "--actor", actor, "--pbx-directory", str(DATA / "pbx_directory.toml"), *args])
    return result.exit_code, result.stdout, result.stderr


def apply_as(db: Path, actor: str, toml: str, file: Path | None = None) -> tuple[int, str, str]:
    file = file or db.parent / "cmds.toml"
    file.write_text(toml)
    return as_actor(db, actor, "apply", str(file))


def globex(db: Path, *extensions: str) -> None:
    """Gus's tenant globex with ``extensions`` as users; Bob a second admin of the sample tenant."""
    toml = f'[[commands]]\ncommand = "create_tenant"\ntenant = "{GLOBEX}"\nname = "Globex"\ntime_zone = "Europe/Oslo"\n'
    toml += "".join(f'[[commands]]\ncommand = "add_user"\ntenant = "{GLOBEX}"\nextension = "{e}"\nname = "User {e}"\n'
                    for e in extensions)
    assert apply_as(db, GUS, toml)[0] == 0
    assert apply_as(db, ADMIN, f'[[commands]]\ncommand = "grant_permission"\ntenant = "{T}"\nprincipal = "{BOB}"\n')[0] == 0


LINK = f'[[commands]]\ncommand = "link_pbx"\ntenant = "{T}"\npbx = "{GLOBEX}"\nkind = "cloud"\nname = "Globex"\n'
GRANT_ADMIN = f'[[commands]]\ncommand = "grant_permission"\ntenant = "{GLOBEX}"\nprincipal = "{ADMIN}"\n'


def copy_of(db: Path, name: str) -> Path:

    (db.parent / name).mkdir()
    copy = db.parent / name / "c.sqlite"
    copy_store(db, copy)  # SQLite's backup, or a database copy on the PostgreSQL backend
    return copy


def test_linking_another_customers_tenant_is_refused_the_same_whether_it_exists_or_not(db: Path, tmp_path: Path) -> None:
    without = copy_of(db, "without")
    globex(db, "100")
    assert apply_as(without, ADMIN, f'[[commands]]\ncommand = "grant_permission"\ntenant = "{T}"\nprincipal = "{BOB}"\n')[0] == 0
    link = tmp_path / "link.toml"
    code, out, err = apply_as(db, ADMIN, LINK, link)
    assert (code, out, err) == apply_as(without, ADMIN, LINK, link)
    assert code == 3
    assert (f"commands[0].pbx (link_pbx): no cloud PBX '{GLOBEX}' that '{ADMIN}' may change; linking another tenant as a "
            "cloud PBX needs the right to change that tenant too (its telephony_admin permission, or acting for its partner)"
            ) in err


def test_linking_another_tenant_needs_its_admin_to_grant_the_right_first(db: Path) -> None:
    globex(db, "100")
    assert apply_as(db, GUS, GRANT_ADMIN)[0] == 0
    code, out, err = apply_as(db, ADMIN, LINK)
    assert (code, out) == (0, f"{T}: now at version {SEED_AFTER_BOB + 1}\n"), err
    assert ok(db, "group", "member", "add", "--tenant", T, "--group", "sales", "--member", f"cloud:{GLOBEX}/100")


SEED_AFTER_BOB = 38
"""The sample tenant's version after bob's grant (37 events of the seed files, then one)."""


def linked_globex(db: Path, *extensions: str) -> None:
    globex(db, *extensions)
    assert apply_as(db, GUS, GRANT_ADMIN)[0] == 0
    assert apply_as(db, ADMIN, LINK)[0] == 0


def test_a_member_of_the_other_tenant_is_refused_to_an_admin_of_one_side_the_same_whether_it_exists_or_not(db: Path) -> None:
    without = copy_of(db, "without")
    linked_globex(db, "100", "101")
    linked_globex(without, "100")
    args = ("group", "member", "add", "--tenant", T, "--group", "sales", "--member", f"cloud:{GLOBEX}/101")
    code, out, err = as_actor(db, BOB, *args)
    assert (code, out, err) == as_actor(without, BOB, *args)
    assert code == 3
    assert err.startswith(f"callroute: error: --member cloud:{GLOBEX}/101: no cloud PBX '{GLOBEX}' that '{BOB}' may change; "
                          "a member of another tenant needs the right to change that tenant too")


def test_an_admin_of_both_sides_is_told_which_member_the_other_tenant_lacks(db: Path) -> None:
    linked_globex(db, "100")
    code, _, err = as_actor(db, ADMIN, "group", "member", "add", "--tenant", T, "--group", "sales", "--member", f"cloud:{GLOBEX}/999")
    assert code == 2
    assert f"cloud PBX '{GLOBEX}' has no member '999' in its list" in err


def test_an_admin_of_one_side_may_ring_a_member_the_tenant_already_rings(db: Path) -> None:
    globex(db)
    # cloud:nordic-dental-malmo/3001 is in reception already: bob may put it in sales too, without rights on the Malmö clinic.
    code, out, err = as_actor(db, BOB, "group", "member", "add", "--tenant", T, "--group", "sales", "--member",
                              f"cloud:{MALMO}/3001")
    assert code == 0, err
    assert out.endswith("added last, rings 20 s\n")



def test_the_receipt_of_a_user_removal_names_no_tenant_the_actor_may_not_read(db: Path) -> None:
    linked_globex(db, "100", "101")
    for member in ("100", "101"):
        add = ("group", "member", "add", "--tenant", T, "--group", "sales", "--member", f"cloud:{GLOBEX}/{member}")
        assert as_actor(db, ADMIN, *add)[0] == 0
    version = SEED_AFTER_BOB + 3  # the link and the two members
    # Gus may not read the sample tenant, whose group is marked in the same transaction: his receipt leaves it out.
    assert as_actor(db, GUS, "user", "remove", "--tenant", GLOBEX, "--extension", "100") == (0, f"{GLOBEX}: now at version 5\n", "")
    assert [m.get("unknown") is not None for m in members(db, "sales")][-2:] == [True, False]  # globex/100, globex/101
    # The sample tenant's admin (granted on globex too) may read both: hers names both.
    code, out, err = as_actor(db, ADMIN, "user", "remove", "--tenant", GLOBEX, "--extension", "101")
    assert (code, out) == (0, f"{GLOBEX}: now at version 6\n{T}: now at version {version + 2}\n"), err
