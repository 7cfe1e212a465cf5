"""Every file the command line reads is bounded, UTF-8, shallow and unambiguous, or refused in one line (exit 2).

The matrix below feeds each kind of bad content to each file input (command files in JSON and TOML,
``--pbx-directory``, recorded calls, scenarios in TOML and JSON, and the command files a scenario names)
and requires one ``callroute: error:`` line naming the file and the rule, exit 2, no traceback, nothing
stored. Then the edge reader itself (``adapters/inputs.py``), names given on the command line, and a
command file's ``[actor]``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import msgspec
import pytest

from adapters.inputs import DEFAULT_MAX_INPUT_BYTES, MAX_DEPTH, InputError, decode_document, max_input_bytes, read_input
from core import commands as c
from tests.adapters.clirun import invoke
from tests.adapters.test_cli import ADMIN, DATA, stored_rows
from tests.backends import copy_store, for_child, store_exists, stored_events

ROOT = Path(__file__).resolve().parents[2]
CREATE = '{"command": "create_tenant", "tenant": "acme", "name": "Acme", "time_zone": "Europe/London"}'

# --- the matrix: every file input × every kind of bad content ---------------------------------------------------

# kind of input → (suffix of the file, its format, arguments given the file and a store)
INPUTS: dict[str, tuple[str, str, Callable[[Path, Path], list[str]]]] = {
    "apply json": (".json", "json", lambda f, db: ["--db", str(db), "--actor", ADMIN, "apply", str(f)]),
    "apply toml": (".toml", "toml", lambda f, db: ["--db", str(db), "--actor", ADMIN, "apply", str(f)]),
    "pbx directory": (".toml", "toml", lambda f, db: ["--db", str(db), "--actor", ADMIN, "--pbx-directory", str(f),
                                                      "tenant", "list"]),
    "recorded calls": (".jsonl", "jsonl", lambda f, db: ["--db", str(db), "--actor", ADMIN, "audit", "explain-call",
                                                         "--tenant", "nordic-dental", "--calls", str(f)]),
    "scenario toml": (".toml", "toml", lambda f, db: ["simulate", str(f)]),
    "scenario json": (".json", "json", lambda f, db: ["simulate", str(f)]),
    "scenario's command file": (".json", "json", lambda f, db: ["simulate", str(_scenario_naming(f))]),
}


def _scenario_naming(commands_file: Path) -> Path:
    scenario = commands_file.with_name("scenario.toml")
    scenario.write_text(f'max_calls = 1\n[tenant]\nslug = "acme"\ncommands_files = ["{commands_file.name}"]\n'
                        '[[arrivals]]\nkind = "poisson"\nto = "2001"\nrate_per_hour = 1\n')
    return scenario


def _deep(fmt: str) -> bytes:
    nested = b"[" * 10_000 + b"]" * 10_000
    return b"x = " + nested if fmt == "toml" else nested


# kind of bad content → (the content in each format, the rule in the error, a regular expression)
BAD: dict[str, tuple[Callable[[str], bytes], str]] = {
    "not UTF-8": (lambda fmt: b'reason = "caf\xe9"\n' if fmt == "toml" else b'{"reason": "caf\xe9"}\n',
                  r"not UTF-8 text \(byte 0xe9 at offset \d+"),
    "10,000 deep": (_deep, f"nested more than {MAX_DEPTH} levels deep"),
    "10,000 dotted keys": (lambda fmt: (".".join(["a"] * 10_000) + " = 1\n").encode() if fmt == "toml" else _deep(fmt),
                           f"nested more than {MAX_DEPTH} levels deep"),
    "a key twice": (lambda fmt: b'reason = "a"\nreason = "b"\n' if fmt == "toml" else b'{"reason": "a", "reason": "b"}\n',
                    r"the key 'reason' is given twice|'reason = \"b\"' gives a key or table a second time"),
    "too large": (lambda fmt: b"#" * 300 + b"\n" if fmt == "toml" else b" " * 300 + b"{}\n", "larger than 250 bytes"),
}


@pytest.mark.parametrize("bad", sorted(BAD))
@pytest.mark.parametrize("kind", sorted(INPUTS))
def test_every_file_input_refuses_bad_content_in_one_line(kind: str, bad: str, seeded_store: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    suffix, fmt, arguments = INPUTS[kind]
    content, rule = BAD[bad]
    file = tmp_path / f"input{suffix}"
    file.write_bytes(content(fmt))
    if bad == "too large":
        monkeypatch.setenv("CALLROUTE_MAX_INPUT_BYTES", "250")  # the scenario naming a command file is under it
    # A copy of the seeded store (opening it for a read writes the routing projection's tables; the seeded one stays as seeded).
    seeded = None
    if kind in ("pbx directory", "recorded calls"):
        copy_store(seeded_store, seeded := tmp_path / "c.sqlite")
    db = seeded or tmp_path / "new.sqlite"
    before = stored_rows(seeded) if seeded else None
    result = invoke(arguments(file, db))
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("callroute: error: ")
    assert str(file) + (":1: " if kind == "recorded calls" and bad != "too large" else ": ") in lines[0]
    assert re.search(rule, lines[0]), lines[0]
    assert "Traceback" not in result.output and "RecursionError" not in result.output
    assert (stored_rows(seeded) if seeded else None) == before
    assert not store_exists(tmp_path / "new.sqlite")  # no file, nor on the PostgreSQL backend a database


def test_a_duplicate_json_key_is_named_with_where_it_is(tmp_path: Path) -> None:
    file = tmp_path / "twice.json"
    file.write_text('{"commands": [\n' + CREATE + ',\n{"command": "add_user", "tenant": "acme", "extension": "2001",\n'
                    ' "tenant": "evil", "name": "Ann"}]}')
    result = invoke(["--db", str(tmp_path / "c.sqlite"), "--actor", ADMIN, "apply", str(file)])
    assert result.exit_code == 2
    assert result.stderr == (f"callroute: error: {file}: the key 'tenant' is given twice in $.commands[1] (line 4); "
                             "each key may appear once in an object; nothing was stored\n")


def test_a_recorded_call_line_is_named_by_its_number(db: Path, tmp_path: Path) -> None:
    good = '{"call_id": "c1", "to": "2001", "at": "2026-11-20T10:00:00+01:00", "outcome": "missed"}'
    file = tmp_path / "calls.jsonl"
    file.write_bytes(f"{good}\n\n{good}\n".encode() + b'{"call_id": "c\xff"}\n')
    result = invoke(["--db", str(db), "--actor", ADMIN, "audit", "explain-call", "--tenant", "nordic-dental",
                     "--calls", str(file)])
    assert result.exit_code == 2
    assert result.stdout == ""  # every line is checked before any call is explained
    assert result.stderr.startswith(f"callroute: error: {file}:4: not UTF-8 text (byte 0xff at offset ")
    file.write_text(f'{good}\n{{"call_id": "c2", "call_id": "c3"}}\n')
    result = invoke(["--db", str(db), "--actor", ADMIN, "audit", "explain-call", "--tenant", "nordic-dental",
                     "--calls", str(file)])
    assert result.stderr == (f"callroute: error: {file}:2: the key 'call_id' is given twice in $; "
                             "each key may appear once in an object\n")


def test_apply_dev_zero_stops_at_the_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLROUTE_MAX_INPUT_BYTES", "65536")
    result = invoke(["--db", str(tmp_path / "c.sqlite"), "--actor", ADMIN, "apply", "/dev/zero"])
    assert result.exit_code == 2
    assert result.stderr == ("callroute: error: /dev/zero: larger than 65,536 bytes, the limit for an input file "
                             "(set CALLROUTE_MAX_INPUT_BYTES to change it); nothing was stored\n")
    assert not (tmp_path / "c.sqlite").exists()


def test_apply_reads_a_command_file_from_standard_input(tmp_path: Path) -> None:
    # A stream, not a file: the size is not known before it is read.
    env = {**os.environ, "CALLROUTE_DB": for_child(tmp_path / "c.sqlite"), "CALLROUTE_ACTOR": ADMIN}
    proc = subprocess.run([sys.executable, "-m", "adapters.cli", "apply", "--format", "json", "/dev/stdin"],
                          input='{"commands": [' + CREATE + "]}", capture_output=True, text=True, env=env, cwd=ROOT,
                          check=False)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "acme: now at version 1\n", "")


def test_a_size_limit_that_is_not_a_number_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLROUTE_MAX_INPUT_BYTES", "lots")
    file = tmp_path / "c.json"
    file.write_text('{"commands": [' + CREATE + "]}")
    result = invoke(["--db", str(tmp_path / "c.sqlite"), "--actor", ADMIN, "apply", str(file)])
    assert result.exit_code == 2
    assert result.stderr.startswith("callroute: error: CALLROUTE_MAX_INPUT_BYTES: 'lots' is not a number of bytes")


# --- the edge reader ---------------------------------------------------------------------------------------------


def test_the_limit_is_16_mib_unless_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CALLROUTE_MAX_INPUT_BYTES", raising=False)
    assert max_input_bytes() == DEFAULT_MAX_INPUT_BYTES == 16 * 1024 * 1024
    monkeypatch.setenv("CALLROUTE_MAX_INPUT_BYTES", "1_000")
    assert max_input_bytes() == 1000
    for bad in ("0", "-5", "1e6", "16MiB"):
        monkeypatch.setenv("CALLROUTE_MAX_INPUT_BYTES", bad)
        with pytest.raises(InputError, match="not a number of bytes"):
            max_input_bytes()


def test_a_file_of_exactly_the_limit_is_read_and_one_byte_more_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "f"
    file.write_bytes(b"x" * 100)
    assert read_input(file, limit=100) == b"x" * 100
    file.write_bytes(b"x" * 101)
    with pytest.raises(InputError, match="larger than 100 bytes"):
        read_input(file, limit=100)


def test_an_endless_input_is_read_only_to_the_limit() -> None:
    tracemalloc.start()
    try:
        with pytest.raises(InputError, match="larger than 1,048,576 bytes"):
            read_input(Path("/dev/zero"), limit=1 << 20)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 3 << 20


def test_an_endless_pipe_is_refused_at_the_limit(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    stop = threading.Event()

    def write() -> None:
        try:
            with open(fifo, "wb") as handle:
                while not stop.is_set():
                    handle.write(b" " * 4096)
        except BrokenPipeError:
            pass  # the reader stopped at the limit and closed the pipe

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    with pytest.raises(InputError, match="larger than 10,000 bytes"):
        read_input(fifo, limit=10_000)
    stop.set()
    writer.join(timeout=5)


@pytest.mark.parametrize("fmt", ["json", "toml"])
def test_nesting_of_exactly_the_limit_is_read_and_one_level_more_is_refused(fmt: str) -> None:
    def nested(depth: int) -> bytes:
        inner = b"[" * (depth - 1) + b"]" * (depth - 1)
        return b"x = " + inner if fmt == "toml" else b'{"x": ' + inner + b"}"

    assert decode_document(nested(MAX_DEPTH), object, format=fmt, where="F")  # type: ignore[type-abstract]
    with pytest.raises(InputError, match=f"nested more than {MAX_DEPTH} levels deep"):
        decode_document(nested(MAX_DEPTH + 1), object, format=fmt, where="F")  # type: ignore[type-abstract]


@pytest.mark.parametrize(("fmt", "deep", "words"), [
    ("json", b"[" * 65 + b"]" * 65, "arrays and objects"),   # JSON's words for its containers
    ("toml", b"x = " + b"[" * 65 + b"]" * 65, "arrays and tables"),
    ("toml", (".".join(["a"] * 70) + " = 1\n").encode(), "arrays and tables"),
])
def test_a_refusal_of_nesting_names_the_containers_in_the_formats_words(fmt: str, deep: bytes, words: str) -> None:
    with pytest.raises(InputError) as refused:
        decode_document(deep, object, format=fmt, where="F")  # type: ignore[type-abstract]
    assert str(refused.value).endswith(f"; {words} may nest at most {MAX_DEPTH} levels"), str(refused.value)


@pytest.mark.parametrize(("fmt", "text"), [
    ("json", '{"reason": "' + "[{" * 100 + '\\" [[[", "commands": []}'),
    ("toml", 'reason = "' + "[{" * 100 + '\\" [[["\n# ' + "[" * 100 + "\ncommands = []\n"),
    ("toml", "reason = '''" + "[" * 100 + "'''\n# ''' [[[[\ncommands = []\n"),
    ("toml", 'reason = """\n' + "{" * 100 + '"\\""""\ncommands = []\n'),
    ("toml", "reason = '" + "[" * 100 + "'\ncommands = []\n"),
])
def test_brackets_in_strings_and_comments_are_not_nesting(fmt: str, text: str) -> None:
    with pytest.raises(InputError, match=r"needs at least 1 entries|length >= 1"):
        decode_document(text.encode(), c.CommandFile, format=fmt, where="F")


def test_a_multiline_string_ending_in_quotes_does_not_hide_nesting() -> None:
    text = 'x = ["""a"""", ' + "[" * 5000 + "]" * 5000 + ', "b"]\n'
    with pytest.raises(InputError, match="nested more than"):
        decode_document(text.encode(), object, format="toml", where="F")  # type: ignore[type-abstract]


def test_duplicate_keys_are_refused_at_any_depth_and_after_escapes() -> None:
    for text in ('{"a": {"b": [{"c": 1, "c": 2}]}}', '{"tenant": 1, "ten\\u0061nt": 2}'):
        with pytest.raises(InputError, match="is given twice"):
            decode_document(text.encode(), object, format="json", where="F")  # type: ignore[type-abstract]
    same_key_apart = '{"a": {"k": 1}, "b": {"k": 2}, "c": [{"k": 1}, {"k": 2}]}'
    assert decode_document(same_key_apart.encode(), object, format="json", where="F")  # type: ignore[type-abstract]


def test_toml_refuses_a_key_or_a_table_given_twice() -> None:
    for text in ('a = 1\na = 2\n', '[t]\na = 1\n[t]\nb = 2\n', 'a.b = 1\na.b = 2\n'):
        with pytest.raises(InputError, match="not valid TOML"):
            decode_document(text.encode(), object, format="toml", where="F")  # type: ignore[type-abstract]


def test_a_byte_order_mark_is_allowed_and_a_syntax_error_gives_line_and_column() -> None:
    assert decode_document('\ufeff{"commands": []}'.encode(), object, format="json", where="F") == {"commands": []}  # type: ignore[type-abstract]
    with pytest.raises(InputError, match=r"^F: not valid JSON: .*\(line 2, column \d+\)$"):
        decode_document(b'{"a": 1,\n "b" 2}', object, format="json", where="F")  # type: ignore[type-abstract]


def test_schema_errors_keep_msgspecs_field_path(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"\$\.commands\[0\]\.extension"):
        decode_document(b'{"commands": [{"command": "add_user", "tenant": "acme", "extension": "2001\\n", "name": "A"}]}',
                        c.CommandFile, format="json", where="F")
    assert issubclass(InputError, ValueError) and not issubclass(InputError, msgspec.MsgspecError)


# --- names given on the command line -----------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "shown"), [
    (["--actor", "admin\u202e@x"], "--actor 'admin\\u202e@x'"),
    (["--actor", ADMIN, "--partner", "p\x1b[31m"], "--partner 'p\\x1b[31m'"),
])
def test_an_actor_or_partner_with_a_control_character_or_an_override_is_refused(db: Path, args: list[str], shown: str) -> None:
    result = invoke(["--db", str(db), *args, "tenant", "list"])
    assert result.exit_code == 2
    assert result.stderr == f"callroute: error: {shown}: names may not contain control characters or bidirectional overrides\n"


@pytest.mark.parametrize("command", [["tenant", "list"], ["table", "--tenant", "acme"],
                                     ["tenant", "create", "--tenant", "acme", "--name", "Acme", "--time-zone", "Europe/London"]])
@pytest.mark.parametrize(("flag", "value"), [("--actor", "a" * 201), ("--partner", "p" * 250)])
def test_an_actor_or_partner_over_200_characters_is_refused_for_reads_and_changes(db: Path, command: list[str], flag: str,
                                                                                  value: str) -> None:
    args = ["--actor", ADMIN, flag, value] if flag == "--partner" else [flag, value]
    result = invoke(["--db", str(db), *args, *command])
    assert result.exit_code == 2
    assert result.stderr == f"callroute: error: {flag} {value[:57]!r}…: at most 200 characters (got {len(value)})\n"


def test_an_actor_of_200_characters_is_taken(db: Path) -> None:
    result = invoke(["--db", str(db), "--actor", "a" * 200, "tenant", "list"])
    assert result.exit_code == 0, result.stderr


def test_callroute_actor_with_an_override_is_refused(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLROUTE_ACTOR", "admin\u2066")
    result = invoke(["--db", str(db), "tenant", "list"])
    assert result.exit_code == 2
    assert "names may not contain control characters or bidirectional overrides" in result.stderr


def test_a_tenant_name_with_an_override_is_refused_and_shown_escaped(tmp_path: Path) -> None:
    result = invoke(["--db", str(tmp_path / "c.sqlite"), "--actor", ADMIN, "tenant", "create", "--tenant", "acme",
                     "--name", "Acme\u202eevil", "--time-zone", "Europe/London"])
    assert result.exit_code == 2
    assert result.stderr == ("callroute: error: --name 'Acme\\u202eevil': not a valid name (names may not contain control "
                             "characters or bidirectional overrides); nothing was stored\n")
    assert not (tmp_path / "c.sqlite").exists()


def test_a_name_in_a_command_file_is_refused_with_its_path(tmp_path: Path) -> None:
    file = tmp_path / "c.json"
    file.write_text('{"commands": [{"command": "create_tenant", "tenant": "acme", "name": "A\\u0000", "time_zone": "UTC"}]}')
    result = invoke(["--db", str(tmp_path / "c.sqlite"), "--actor", ADMIN, "apply", str(file)])
    assert result.exit_code == 2
    assert result.stderr == (f"callroute: error: {file}: not a valid name (names may not contain control characters or "
                             "bidirectional overrides) (at $.commands[0].name); nothing was stored\n")


def test_apply_refuses_a_reason_with_a_newline(db: Path, tmp_path: Path) -> None:
    file = tmp_path / "r.json"
    file.write_text('{"commands": [{"command": "rename_tenant", "tenant": "nordic-dental", "name": "ND"}]}')
    before = stored_rows(db)
    result = invoke(["--db", str(db), "--actor", ADMIN, "apply", str(file), "--reason", "lunch\nforged line"])
    assert result.exit_code == 2
    assert "--reason 'lunch\\nforged line': reasons may not contain control characters" in result.stderr
    assert stored_rows(db) == before


# --- a command file's [actor] is who runs it ---------------------------------------------------------------------

RENAME = '[[commands]]\ncommand = "rename_tenant"\ntenant = "nordic-dental"\nname = "ND"\n'


def _actors(db: Path) -> list[tuple[str, str | None]]:
    states = [state for *_, state in stored_events(db)]  # on the PostgreSQL backend, its database's (tests/backends.py)
    decoded = [msgspec.json.decode(state) for state in states]
    return [(event["actor"], event.get("partner")) for event in decoded if "actor" in event]


def test_a_file_naming_another_actor_is_refused_and_nothing_is_stored(db: Path, tmp_path: Path) -> None:
    file = tmp_path / "other.toml"
    file.write_text(f'[actor]\nprincipal = "{ADMIN}"\n' + RENAME)
    before = stored_rows(db)
    result = invoke(["--db", str(db), "--actor", "mallory@example.com", "apply", str(file)])
    assert result.exit_code == 2
    assert result.stderr == (f"callroute: error: {file}: [actor] names '{ADMIN}', but the command is run by "
                             "'mallory@example.com'; the actor is who runs callroute (--actor or CALLROUTE_ACTOR); "
                             "nothing was stored\n")
    assert stored_rows(db) == before


def test_a_file_naming_its_actor_needs_that_actor_to_run_it(db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CALLROUTE_ACTOR", raising=False)
    file = tmp_path / "admin.json"
    file.write_text('{"actor": {"principal": "' + ADMIN + '"}, "commands": [{"command": "rename_tenant", '
                    '"tenant": "nordic-dental", "name": "ND"}]}')
    result = invoke(["--db", str(db), "apply", str(file)])
    assert result.exit_code == 2
    assert f'"actor" names \'{ADMIN}\', but the command is run by \'cli:' in result.stderr
    assert "as no --actor or CALLROUTE_ACTOR is given" in result.stderr
    monkeypatch.setenv("CALLROUTE_ACTOR", ADMIN)
    assert invoke(["--db", str(db), "apply", str(file)]).exit_code == 0
    assert _actors(db)[-1] == (ADMIN, None)


def test_a_file_naming_a_partner_needs_that_partner(db: Path, tmp_path: Path) -> None:
    principal = "partner:phoneline-plus/pat"
    file = tmp_path / "partner.toml"
    file.write_text(f'[actor]\nprincipal = "{principal}"\npartner = "phoneline-plus"\n' + RENAME)
    base = ["--db", str(db), "--pbx-directory", str(DATA / "pbx_directory.toml"), "--actor", principal]
    result = invoke([*base, "apply", str(file)])
    assert result.exit_code == 2
    assert "[actor] names partner 'phoneline-plus', but the command is run for no partner" in result.stderr
    result = invoke([*base, "--partner", "other-partner", "apply", str(file)])
    assert result.exit_code == 2
    assert "but the command is run for partner 'other-partner'" in result.stderr
    assert invoke([*base, "--partner", "phoneline-plus", "apply", str(file)]).exit_code == 0
    assert _actors(db)[-1] == (principal, "phoneline-plus")


def test_the_shipped_seed_files_apply_when_run_by_their_actor(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    for name in ("seed_malmo.toml", "seed_tenant.toml"):
        result = invoke(["--db", str(db), "--actor", ADMIN, "--pbx-directory", str(DATA / "pbx_directory.toml"),
                         "apply", str(DATA / name)])
        assert result.exit_code == 0, result.output
    assert {actor for actor, _ in _actors(db)} == {ADMIN}
