"""Refusals and schema errors in the user's words: the flag typed in a verb, the file's path in ``apply``."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import click

if TYPE_CHECKING:
    from core.aggregates.context import Actor
    from core.errors import DomainError

BROKEN = 1
"""The store is not what was written (or cannot be read): audit verify says where."""
INVALID = 2
NOT_PERMITTED = 3
CONFLICT = 4
"""Other writers kept changing the same tenant while a batch retried, the store stayed locked, or this machine's clock
was still behind the last change of a tenant (stored by a writer whose clock is ahead) after every retry; nothing was
stored, try again (when the clocks agree)."""
ACTOR_HINT = "name who acts with --actor PRINCIPAL or CALLROUTE_ACTOR"


class Failure(click.ClickException):
    """An error shown as one clear line; exit status 2 (bad input) unless told otherwise."""

    exit_code = INVALID

    def __init__(self, message: str, exit_code: int = INVALID) -> None:
        super().__init__(message)
        self.exit_code = exit_code

    def show(self, file: Any = None) -> None:
        click.echo(f"callroute: error: {self.message}", err=True)


def exit_code(exc: DomainError) -> int:
    """3 when the actor lacks a permission, 4 for a concurrent change that outlasted the retries, 2 for every other refused input."""
    rule = getattr(exc, "rule", None)
    if rule == "concurrent_change":
        return CONFLICT
    return NOT_PERMITTED if rule == "permission_denied" else INVALID


def refusal_text(
    exc: DomainError, flags: dict[str, tuple[str, object]] | None, actor: Actor | None, zone: ZoneInfo | None = None
) -> str:
    """A refused command in the user's words: the flag and value typed in a verb, the file's path in ``apply``.

    ``flags`` maps a command field (``ring_seconds``, ``policy.time_zone``) to the flag and value typed for it;
    a refusal of that field, or of a value inside it, is shown as ``--ring-seconds 2: …``, and the field's
    name in the message reads as the flag. Instants in the message read to the second (in ``zone``, if given).
    """
    from core.service import CommandRejected

    rejected = isinstance(exc, CommandRejected)
    if flags is None:
        # A command file: the command's index, field and name, as the file's author wrote them.
        if rejected:
            where = f"commands[{exc.index}]" + (f".{exc.field}" if exc.field else "")  # type: ignore[attr-defined]
            text = f"{where} ({exc.command_name}): {schema_text(cause_detail(exc))}"  # type: ignore[attr-defined]
        else:
            text = schema_text(str(exc))
    else:
        detail = schema_text(cause_detail(exc) if rejected else exc.message)
        path = exc.field or ""
        named = _flag_of(path, flags)
        for field_name, (flag, _) in flags.items():
            # A field's name in the message (``ring_seconds applies only to…``) reads as its flag, when the flag is
            # that name (``--ring-seconds``): a name without underscores is an ordinary word.
            if "_" in field_name and flag == "--" + field_name.replace("_", "-"):
                detail = re.sub(rf"\b{re.escape(field_name)}\b", flag, detail)
        if named is not None:
            flag, value = named
            # A value with a control character or a bidirectional override is shown escaped, as it cannot be shown as typed.
            shown = value if value is None or str(value).isprintable() else repr(value)
            text = f"{flag}{'' if shown is None else f' {shown}'}: {detail}"
        else:
            text = f"{path}: {detail}" if path else detail
    text = _INSTANT.sub(lambda m: _instant_words(m[0], zone), text)
    if exit_code(exc) == NOT_PERMITTED:
        text += f" ({ACTOR_HINT}" + (f"; now acting as {actor.principal})" if actor is not None else ")")
    elif rejected and not text.endswith("nothing was stored"):
        text += "; nothing was stored"
    return text


_INSTANT = re.compile(r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})")


def _instant_words(text: str, zone: ZoneInfo | None) -> str:
    from adapters.words import instant_text

    return instant_text(datetime.fromisoformat(text.replace("Z", "+00:00")), zone)


def _flag_of(path: str, flags: dict[str, tuple[str, object]]) -> tuple[str, object] | None:
    """The flag typed for the field at ``path``: the longest field of ``flags`` that is ``path`` or holds it."""
    best = None
    for field_name, named in flags.items():
        if path == field_name or path.startswith((field_name + ".", field_name + "[")):
            if best is None or len(field_name) > len(best[0]):
                best = (field_name, named)
    return None if best is None else best[1]


def before_nothing_stored(text: str, extra: str) -> str:
    """``text`` with ``extra`` added before its closing "; nothing was stored", if any."""
    tail = "; nothing was stored"
    return text[: -len(tail)] + extra + tail if text.endswith(tail) else text + extra


def cause_detail(exc: Any) -> str:
    """What a refused command broke, without the batch position (``commands[0].x (name): …``)."""
    from core.errors import DomainError

    cause = exc.cause
    if isinstance(cause, DomainError):
        return cause.message
    message, sep, _ = str(cause).rpartition(" - at `$.")
    return message if sep else str(cause)


# Patterns of the schema whose Meta carries no description (or one that reads badly in a sentence).
_PATTERN_WORDS = {
    r"^(?:[^@\s]+@[^@\s]+\.[^@\s]+)$(?!\n)": "not an e-mail address (write it like ann@example.com)",
    r"^(?:[0-9*#]{1,12})$(?!\n)": "not an internal number (1 to 12 of the digits 0-9, * and #)",
    r"^(?:https?://\S+)$(?!\n)": "not a web address (it starts with http:// or https://)",
}
_TYPE_WORDS = {"int": "a whole number", "float": "a number", "str": "text", "bool": "true or false", "array": "a list",
               "object": "a table of fields", "null": "nothing", "datetime": "an instant with an offset"}


def _described_patterns() -> dict[str, str]:
    """Each pattern of the command schema with the description its Meta gives (core/aggregates/identifiers.py)."""
    import msgspec

    from core import commands as c

    found: dict[str, str] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("pattern"), str) and node.get("description") and node["pattern"] not in found:
                found[node["pattern"]] = node["description"]
            for item in node.values():
                walk(item)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(msgspec.json.schema(c.Command))
    return found


def pattern_text(pattern: str) -> str:
    """Why a value does not match ``pattern``, in words: the type's own description where it has one."""
    if pattern in _PATTERN_WORDS:
        return _PATTERN_WORDS[pattern]
    description = _described_patterns().get(pattern)
    if description is None:
        return "not in the form callroute expects"
    what, colon, rule = description.partition(": ")
    if colon:
        return f"not a valid {what} ({rule})"
    return f"not a valid {description}" if description[:1].isupper() else f"must be {description}"


@cache
def _schema_phrases() -> tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...]:
    """msgspec's phrasings and callroute's words for them, compiled when a text is first put in those words: a command
    that refuses nothing does without (15 patterns, ~1.4 ms of a start-up)."""
    return (
        (re.compile(r"Expected `str` matching regex '(?P<p>.*?)'(?= - at `|$)"),
         lambda m: pattern_text(m["p"].encode().decode("unicode_escape"))),
        (re.compile(r"Expected `(?:int|float|number)` >= (?P<n>[-\d.]+)"), lambda m: f"must be at least {m['n']}"),
        (re.compile(r"Expected `(?:int|float|number)` > (?P<n>[-\d.]+)"), lambda m: f"must be more than {m['n']}"),
        (re.compile(r"Expected `(?:int|float|number)` <= (?P<n>[-\d.]+)"), lambda m: f"must be at most {m['n']}"),
        (re.compile(r"Expected `(?:int|float|number)` < (?P<n>[-\d.]+)"), lambda m: f"must be less than {m['n']}"),
        (re.compile(r"Expected `str` of length >= 1"), lambda m: "must not be empty"),
        (re.compile(r"Expected `str` of length >= (?P<n>\d+)"), lambda m: f"must be at least {m['n']} characters long"),
        (re.compile(r"Expected `str` of length <= (?P<n>\d+)"), lambda m: f"must be at most {m['n']} characters long"),
        (re.compile(r"Expected `(?:array|object)` of length >= (?P<n>\d+)"), lambda m: f"needs at least {m['n']} entries"),
        (re.compile(r"Expected `(?:array|object)` of length <= (?P<n>\d+)"), lambda m: f"takes at most {m['n']} entries"),
        (re.compile(r"Expected `(?P<want>[^`]+)`, got `(?P<got>[^`]+)`"),
         lambda m: f"must be {_kinds(m['want'])}, not {_TYPE_WORDS.get(m['got'], m['got'])}"),
        (re.compile(r"Invalid enum value (?P<v>.+?)(?= - at `|$)"), lambda m: f"{m['v']} is not one of the allowed values"),
        (re.compile(r"Object missing required field `(?P<f>[^`]+)`"), lambda m: f"the field {m['f']} is missing"),
        (re.compile(r"Object contains unknown field `(?P<f>[^`]+)`"), lambda m: f"unknown field {m['f']}"),
        (re.compile(r"Invalid value (?P<v>.+?)(?= - at `|$)"), lambda m: f"{m['v']} is not one of the allowed kinds"),
    )


def _kinds(wanted: str) -> str:
    return " or ".join(_TYPE_WORDS.get(part.strip(), part.strip()) for part in wanted.split("|"))


_AT_PATH = re.compile(r" - at `(?P<path>[^`]*)`")


def schema_text(text: str) -> str:
    """msgspec's validation text in callroute's words, with no markup: ``… - at `$.x``` becomes ``… (at $.x)``."""
    for pattern, phrase in _schema_phrases():
        match = pattern.search(text)
        if match is not None:
            text = text[: match.start()] + phrase(match) + text[match.end():]
            break
    return _AT_PATH.sub(lambda m: f" (at {m['path']})", text).replace("`", "")
