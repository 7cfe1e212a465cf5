"""The README never lies: its commands are the ones CI runs."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from tests.adapters.clirun import invoke

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## On a fresh machine", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", section)


def test_readme_shows_exactly_two_fresh_machine_commands() -> None:
    commands = readme_commands()
    assert len(commands) == 2
    assert commands[0].endswith("callroute demo")
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert readme_commands()[1] in ci_lines


def section(heading: str) -> str:
    text = (ROOT / "README.md").read_text()
    return text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


def using_it() -> str:
    return section("Using it")


def transcript(text: str | None = None) -> list[tuple[str, str]]:
    """Each ``$ callroute …`` line of a section's console blocks (default: "Using it"), with the output shown under it.

    Only ``console`` blocks are run: a block of another kind (``sh``) shows commands that cannot run here."""
    steps: list[tuple[str, str]] = []
    for block in re.findall(r"```console\n(.*?)```", using_it() if text is None else text, flags=re.DOTALL):
        for chunk in re.split(r"^\$ ", block, flags=re.MULTILINE)[1:]:
            command, _, output = chunk.partition("\n")
            steps.append((command, output))
    return steps


def shown_pattern(output: str) -> re.Pattern[str]:
    """The output as shown: a line ``...`` stands for any lines, ``...`` inside a line for any text."""
    parts = []
    for line in output.splitlines():
        if line == "...":
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            parts.append(".*?".join(re.escape(piece) for piece in line.split("...")) + r"\n")
    return re.compile("".join(parts))


def test_the_readme_shows_commands_and_answers_to_run() -> None:
    steps = transcript()
    assert len(steps) >= 10
    assert all(command.startswith("callroute ") for command, _ in steps)


def test_every_using_it_command_answers_as_the_readme_shows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "callroute-demo.sqlite"
    demo = invoke(["demo", "--db", str(db)])
    assert demo.exit_code == 0, demo.output
    setup = re.search(r"```sh\n(.*?)```", using_it(), flags=re.DOTALL).group(1).splitlines()  # type: ignore[union-attr]
    assert setup[0] == "source .venv/bin/activate"
    printed = next(line.strip() for line in demo.stdout.splitlines() if line.strip().startswith("export "))
    # The demo prints absolute paths; the README shows them as seen from this folder.
    directory = ROOT / "adapters" / "data" / "pbx_directory.toml"
    shown = printed.replace(str(db.resolve()), "callroute-demo.sqlite").replace(str(directory.resolve()),
                                                                                "adapters/data/pbx_directory.toml")
    assert shown == setup[1]
    for assignment in shlex.split(setup[1])[1:]:
        name, _, value = assignment.partition("=")
        monkeypatch.setenv(name, str(db) if name == "CALLROUTE_DB" else value)
    monkeypatch.chdir(ROOT)
    service_mode = transcript(section("Service mode"))  # run after "Using it", on the same store (its positions follow)
    assert len(service_mode) >= 3
    for command, output in [*transcript(), *service_mode]:
        result = invoke(shlex.split(command)[1:])
        assert result.exit_code == 0, f"$ {command}\n{result.output}"
        assert shown_pattern(output).fullmatch(result.stdout), f"$ {command}\n--- README shows:\n{output}--- it printed:\n{result.stdout}"


def test_every_simulation_command_answers_as_the_readme_shows(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Simulation section's examples (replications and a comparison in two worker processes: about 15 s)."""
    steps = transcript(section("Simulation"))
    assert len(steps) >= 3
    monkeypatch.chdir(ROOT)
    for command, output in steps:
        assert command.startswith("callroute simulate "), command
        result = invoke(shlex.split(command)[1:])
        assert result.exit_code == 0, f"$ {command}\n{result.output}"
        assert shown_pattern(output).fullmatch(result.stdout), f"$ {command}\n--- README shows:\n{output}--- it printed:\n{result.stdout}"


def test_the_readme_shows_how_to_start_a_dask_cluster_on_other_machines() -> None:
    """Two commands that start servers on other machines: shown in an ``sh`` block, which the transcript does not run."""
    blocks = re.findall(r"```sh\n(.*?)```", section("Simulation"), flags=re.DOTALL)
    commands = [line.split("#")[0].strip() for block in blocks for line in block.splitlines()]
    assert "dask scheduler" in commands and "dask worker tcp://HOST:8786" in commands
    assert not any(command.startswith("dask") for command, _ in transcript(section("Simulation")))
