"""The command line explains itself: sentences, help on every option, no markup, environment variables, a version."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from adapters.cli import cli
from tests.adapters.clirun import invoke
from tests.adapters.test_cli import ADMIN, apply_seed
from tests.backends import for_child


def every_command() -> Iterator[tuple[str, click.Command]]:
    ctx = click.Context(cli)

    def walk(group: click.Group, prefix: str) -> Iterator[tuple[str, click.Command]]:
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            assert command is not None, name
            yield f"{prefix}{name}", command
            if isinstance(command, click.Group):
                yield from walk(command, f"{prefix}{name} ")

    yield "callroute", cli
    yield from walk(cli, "")


COMMANDS = dict(every_command())


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_summary_is_one_sentence_without_markup(name: str) -> None:
    summary = (COMMANDS[name].help or "").strip().splitlines()[0]
    assert summary[:1].isupper() or summary.startswith("callroute"), summary
    assert summary.endswith("."), summary
    assert "``" not in (COMMANDS[name].help or "") and "`" not in summary


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_option_has_help(name: str) -> None:
    for param in COMMANDS[name].params:
        if isinstance(param, click.Option):
            assert param.help, f"{name} {param.opts[0]} has no help"
            assert "``" not in param.help


def test_the_short_list_reads_as_sentences() -> None:
    out = invoke(["--help"]).stdout
    assert "e.g.\n" not in out and "e.g. " not in out.split("Commands:")[1]
    assert "Set, show and clear a user's diverts." in out


def test_environment_variables_show_in_help() -> None:
    out = invoke(["--help"]).stdout
    for name in ("CALLROUTE_DB", "CALLROUTE_ACTOR", "CALLROUTE_PBX_DIRECTORY"):
        assert f"env var: {name}" in out


def test_global_options_are_listed_on_each_sub_command_too() -> None:
    out = invoke(["table", "--help"]).stdout
    assert "--db PATH" in out and "env var: CALLROUTE_DB" in out and "--actor PRINCIPAL" in out


def test_version_prints_the_package_version() -> None:
    from importlib.metadata import version

    result = invoke(["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"callroute {version('callroute')}\n"


def test_global_options_after_the_sub_command_work_as_before_it(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    apply_seed(db)
    before = invoke(["--db", str(db), "--actor", ADMIN, "tenant", "show", "--tenant", "nordic-dental", "--json"])
    after = invoke(["tenant", "show", "--tenant", "nordic-dental", "--json", "--db", str(db), "--actor", ADMIN])
    assert before.exit_code == after.exit_code == 0
    assert before.stdout == after.stdout


def test_an_option_after_the_sub_command_wins_over_the_one_before(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    apply_seed(db)
    result = invoke(["--db", str(db), "--actor", "mallory", "tenant", "show", "--tenant", "nordic-dental", "--actor", ADMIN])
    assert result.exit_code == 0, result.stderr


def test_a_permission_refusal_says_how_to_name_the_actor(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    apply_seed(db)
    result = invoke(["--db", str(db), "--actor", "mallory", "tenant", "show", "--tenant", "nordic-dental"])
    assert result.exit_code == 3
    assert "--actor PRINCIPAL or CALLROUTE_ACTOR" in result.stderr
    assert "now acting as mallory" in result.stderr


def test_a_refused_verb_names_the_flag_typed_once_and_logs_nothing_at_the_default_level(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    apply_seed(db)
    result = invoke(["--db", str(db), "--actor", ADMIN, "divert", "set", "--tenant", "nordic-dental", "--extension", "9999",
                     "--when", "busy", "--to", "voicemail"])
    assert result.exit_code == 2
    assert result.stderr.startswith("callroute: error: --extension 9999: ")
    assert result.stderr.count("\n") == 1
    assert "commands[0]" not in result.stderr


def test_office_hours_in_the_wrong_form_are_refused_in_callroutes_words(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    apply_seed(db)
    result = invoke(["--db", str(db), "--actor", ADMIN, "provision", "policy", "--tenant", "nordic-dental",
                     "--office-hours", "Mon-Fri 09:00-17:00", "--time-zone", "Europe/London"])
    assert result.exit_code == 0, result.stderr
    result = invoke(["--db", str(db), "--actor", ADMIN, "provision", "policy", "--tenant", "nordic-dental",
                     "--office-hours", "mon-fry 09:00-17:00"])
    assert result.exit_code == 2
    assert "'fry' is not a day; days are mon, tue, wed, thu, fri, sat, sun" in result.stderr
    assert "tuple.index" not in result.stderr


def test_json_and_csv_together_are_refused(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    apply_seed(db)
    result = invoke(["--db", str(db), "--actor", ADMIN, "audit", "history", "--tenant", "nordic-dental", "--json", "--csv"])
    assert result.exit_code == 2
    assert "--json and --csv cannot be used together" in result.stderr


def test_a_query_imports_neither_the_simulator_nor_trio_nor_matplotlib_nor_logging_or_number_libraries(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    apply_seed(db)
    script = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from adapters.cli import cli\n"
        f"r = CliRunner().invoke(cli, ['--db', {for_child(db)!r}, '--actor', {ADMIN!r}, 'table', '--tenant', 'nordic-dental',"
        " '--desired', '--at', '2026-11-23T10:00:00+01:00'])\n"
        "assert r.exit_code == 0, r.output\n"
        "unused = {'simulator', 'trio', 'matplotlib', 'structlog', 'rich', 'phonenumbers'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in unused))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"
