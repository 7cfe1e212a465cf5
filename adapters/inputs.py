"""Every file callroute reads, read at the edge: bounded in size, UTF-8, bounded in nesting, no key given twice.

Command files (``apply``), ``--pbx-directory`` files, scenarios and the command files they name, and
recorded calls (``audit explain-call --calls``, JSON Lines) all come through here before msgspec
decodes them into their types. A file that breaks a rule is refused with one ``InputError`` line
that names the file (and the line, where there is one) and the rule:

- size: at most ``CALLROUTE_MAX_INPUT_BYTES`` bytes (default 16 MiB). At most one byte more is
  read, so ``/dev/zero`` or an endless pipe stops at once;
- UTF-8 text (a leading byte order mark is allowed and dropped);
- nesting at most ``MAX_DEPTH`` (64) arrays and objects (TOML: tables) deep. Brackets are counted outside strings
  and comments before any parser runs (Python's ``json``, ``tomllib`` and msgspec recurse, and
  10,000 levels would end in ``RecursionError``); TOML's dotted keys and table headers nest
  without brackets, so the parsed document is measured too, before msgspec converts it;
- a JSON object may not give a key twice (msgspec would keep the last silently); TOML refuses
  that itself.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal, TypeVar

import msgspec

T = TypeVar("T")
Format = Literal["json", "toml"]

MAX_INPUT_BYTES_VARIABLE = "CALLROUTE_MAX_INPUT_BYTES"
DEFAULT_MAX_INPUT_BYTES = 16 * 1024 * 1024
"""16 MiB: a command file of a large tenant is under 1 MiB, a day of recorded calls of a busy call centre a few MiB."""
MAX_DEPTH = 64
"""Arrays and tables inside each other: callroute's own files nest under 12 deep."""
_CHUNK = 1 << 16


class InputError(ValueError):
    """A file that cannot be used: one line, ``WHERE: what is wrong``."""

    def __init__(self, where: str, detail: str) -> None:
        super().__init__(f"{where}: {detail}")
        self.where = where
        self.detail = detail


def max_input_bytes() -> int:
    """The size limit of an input file: ``$CALLROUTE_MAX_INPUT_BYTES``, else 16 MiB."""
    value = os.environ.get(MAX_INPUT_BYTES_VARIABLE, "").strip()
    if not value:
        return DEFAULT_MAX_INPUT_BYTES
    try:
        limit = int(value.replace("_", ""))
    except ValueError:
        limit = 0
    if limit < 1:
        raise InputError(MAX_INPUT_BYTES_VARIABLE, f"{value!r} is not a number of bytes (a whole number, at least 1)")
    return limit


def read_input(path: Path, *, where: str | None = None, limit: int | None = None) -> bytes:
    """The bytes of ``path``, refused past ``limit`` (default ``max_input_bytes()``) after reading one byte more at most."""
    where = str(path) if where is None else where
    limit = max_input_bytes() if limit is None else limit
    chunks: list[bytes] = []
    size = 0
    try:
        with open(path, "rb", buffering=0) as handle:
            while size <= limit:
                chunk = handle.read(min(_CHUNK, limit + 1 - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
    except FileNotFoundError:
        raise InputError(where, "no such file") from None
    except IsADirectoryError:
        raise InputError(where, "a folder, not a file") from None
    except PermissionError:
        raise InputError(where, "the file cannot be read (permission denied)") from None
    except OSError as exc:
        raise InputError(where, f"the file cannot be read ({(exc.strerror or str(exc)).lower()})") from None
    if size > limit:
        raise InputError(where, f"larger than {limit:,} bytes, the limit for an input file "
                                f"(set {MAX_INPUT_BYTES_VARIABLE} to change it)")
    return b"".join(chunks)


def utf8_text(data: bytes, where: str, *, line_in_where: bool = False) -> str:
    """``data`` as text, or one line naming the first byte that is not UTF-8 (its line after ``where``, if asked)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        byte = f"byte 0x{data[exc.start]:02x} at offset {exc.start}"
        if line_in_where:
            raise InputError(f"{where}:{line}", f"not UTF-8 text ({byte})") from None
        raise InputError(where, f"not UTF-8 text ({byte}, line {line})") from None
    return text.removeprefix("\ufeff")


def format_of(path: Path) -> Format:
    """TOML for a ``.toml`` file, else JSON."""
    return "toml" if path.suffix.lower() == ".toml" else "json"


def read_document(path: Path, type: type[T], *, format: Format | None = None, where: str | None = None) -> T:
    """Read a JSON or TOML file (by ``format``, else by its suffix) and decode it as ``type``."""
    where = str(path) if where is None else where
    return decode_document(read_input(path, where=where), type, format=format or format_of(path), where=where)


def decode_document(data: bytes, type: type[T], *, format: Format, where: str) -> T:
    """``data``, a JSON or TOML document within the size limit, decoded as ``type`` after the edge checks."""
    text = utf8_text(data, where)
    if format == "toml":
        return _decode_toml(text, type, where)
    return _decode_json(text, type, where, lines=True)


def read_json_lines(path: Path, type: type[T], *, where: str | None = None) -> list[tuple[int, T]]:
    """Each non-blank line of a JSON Lines file with its number, decoded as ``type``; errors name ``FILE:LINE``."""
    where = str(path) if where is None else where
    text = utf8_text(read_input(path, where=where), where, line_in_where=True)
    decoded = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            decoded.append((number, _decode_json(line, type, f"{where}:{number}", lines=False)))
    return decoded


def check_json_text(data: bytes, where: str) -> str:
    """``data`` as UTF-8 text whose JSON (one document, or one a line) nests at most ``MAX_DEPTH`` deep and gives no key
    twice, checked without parsing it (saved webhook bodies: ``callroute ingest webhook``); the text. Lines that are not
    JSON (form-encoded bodies) nest nothing and pass."""
    text = utf8_text(data, where)
    _check_json(text, where, lines=True)
    return text


# --- JSON --------------------------------------------------------------------------------------------------------

# A string (escapes included), or one structural character; anything else (numbers, true, spaces) is skipped.
_JSON_TOKEN = re.compile(r'"(?:[^"\\]++|\\.)*+"|[\[\]{}:,]', re.DOTALL)


def _decode_json(text: str, type: type[T], where: str, *, lines: bool) -> T:
    _check_json(text, where, lines)
    try:
        return msgspec.json.decode(text, type=type)
    except msgspec.ValidationError as exc:
        raise InputError(where, str(exc)) from None
    except msgspec.DecodeError as exc:
        raise InputError(where, "not valid JSON: " + _json_position(str(exc).removeprefix("JSON is malformed: "), text, lines)) from None
    except RecursionError:  # pragma: no cover - _check_json refuses deep nesting first
        raise InputError(where, _too_deep(containers=_JSON_CONTAINERS)) from None


def _json_position(message: str, text: str, lines: bool) -> str:
    """msgspec's ``(byte N)`` as a line and column of ``text``."""
    match = re.search(r"\(byte (\d+)\)", message)
    if match is None:
        return message
    offset = len(text.encode()[: int(match[1])].decode(errors="ignore"))
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    where = f"line {line}, column {column}" if lines else f"column {column}"
    return message[: match.start()] + f"({where})" + message[match.end():]


def _check_json(text: str, where: str, lines: bool) -> None:
    """Refuse nesting deeper than ``MAX_DEPTH`` and an object that gives a key twice, in one pass over the tokens.

    Only the structure is looked at: a malformed document passes on to msgspec, which says where it breaks.
    """
    stack: list[list[Any]] = []  # per open container: [kind, keys seen, current key / index, expecting a key]
    previous_string: str | None = None
    for token in _JSON_TOKEN.finditer(text):
        char = token[0][0]
        if char == '"':
            previous_string = token[0]
            continue
        if char == ":" and stack and stack[-1][0] == "{" and stack[-1][3] and previous_string is not None:
            frame = stack[-1]
            key = _json_key(previous_string)
            if key is not None:
                if key in frame[1]:
                    at = f" (line {text.count(chr(10), 0, token.start()) + 1})" if lines else ""
                    raise InputError(where, f"the key {key!r} is given twice in {_json_path(stack)}{at}; "
                                            "each key may appear once in an object")
                frame[1].add(key)
                frame[2] = key
            frame[3] = False
        elif char in "[{":
            if len(stack) >= MAX_DEPTH:
                at = f" (line {text.count(chr(10), 0, token.start()) + 1})" if lines else ""
                raise InputError(where, _too_deep(at, containers=_JSON_CONTAINERS))
            stack.append([char, set(), 0, True] if char == "{" else [char, None, 0, False])
        elif char in "]}":
            if stack:
                stack.pop()
        elif char == "," and stack:
            if stack[-1][0] == "[":
                stack[-1][2] += 1
            else:
                stack[-1][3] = True
        previous_string = None


def _json_key(token: str) -> str | None:
    if "\\" not in token:
        return token[1:-1]
    try:
        return msgspec.json.decode(token, type=str)
    except msgspec.DecodeError:
        return None  # msgspec reports the broken string


def _json_path(stack: list[list[Any]]) -> str:
    """The innermost open container, as msgspec names a place: ``$.commands[2].target``."""
    return "$" + "".join(f"[{frame[2]}]" if frame[0] == "[" else f".{frame[2]}" for frame in stack[:-1])


_JSON_CONTAINERS = "arrays and objects"
_TOML_CONTAINERS = "arrays and tables"


def _too_deep(at: str = "", *, containers: str = _TOML_CONTAINERS) -> str:
    """The nesting refusal, naming the containers in the format's own words (JSON's objects are TOML's tables)."""
    return f"nested more than {MAX_DEPTH} levels deep{at}; {containers} may nest at most {MAX_DEPTH} levels"


# --- TOML --------------------------------------------------------------------------------------------------------

# Strings of the four kinds (a multi-line one may end with one or two quotes of its own), comments, and brackets.
_TOML_TOKEN = re.compile(
    r"'''.*?'{0,2}'''"
    r'|"""(?:[^"\\]|\\.|"(?!""))*"{0,2}"""'
    r"|'[^'\n]*'"
    r'|"(?:[^"\\\n]|\\[^\n])*"'
    r"|#[^\n]*"
    r"|[\[\]{}]",
    re.DOTALL,
)


def _decode_toml(text: str, type: type[T], where: str) -> T:
    depth = 0
    for token in _TOML_TOKEN.finditer(text):
        char = token[0]
        if char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise InputError(where, _too_deep(f" (line {text.count(chr(10), 0, token.start()) + 1})"))
        elif char in "]}":
            depth = max(0, depth - 1)
    import tomllib  # here, not at the top: a JSON document does without it (~1.5 ms of a start-up)

    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(where, "not valid TOML: " + _toml_problem(str(exc), text)) from None
    except RecursionError:
        raise InputError(where, _too_deep()) from None
    if _depth_over(document, MAX_DEPTH):
        raise InputError(where, _too_deep(" (counting dotted keys and table headers)"))
    try:
        # What msgspec.toml.decode does after tomllib.
        return msgspec.convert(document, type, builtin_types=(_dt.datetime, _dt.date, _dt.time), str_keys=True)
    except msgspec.ValidationError as exc:
        raise InputError(where, str(exc)) from None


_TOML_TWICE = ("Cannot overwrite a value", "Cannot declare", "Duplicate inline table key")
_AT_LINE = re.compile(r"\(at line (\d+), column \d+\)$")


def _toml_problem(message: str, text: str) -> str:
    """tomllib's message; a key or table given twice (its words name neither) quotes the line that repeats it."""
    at = _AT_LINE.search(message)
    if at is not None and message.startswith(_TOML_TWICE):
        lines = text.splitlines()
        shown = lines[int(at[1]) - 1].strip()[:80] if int(at[1]) <= len(lines) else ""
        return f"{shown!r} gives a key or table a second time {at[0]}; each key may appear once in a table"
    return message[:1].lower() + message[1:]


def _depth_over(document: object, limit: int) -> bool:
    """Whether lists and dicts nest more than ``limit`` deep in ``document`` (without recursion)."""
    pending: list[tuple[object, int]] = [(document, 1)]
    while pending:
        value, depth = pending.pop()
        if depth > limit:
            return True
        children: Iterable[object] = value.values() if isinstance(value, dict) else value  # type: ignore[assignment]
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False
