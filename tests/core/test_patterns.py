"""Every pattern of the schemas matches whole values only: a trailing newline or garbage before or after is refused.

msgspec checks ``Meta(pattern=...)`` with ``re.search``, where ``$`` also matches before a final newline:
``^[0-9]{6}$`` took the PIN ``"650473\\n"``, which no keypad can enter. The patterns are found by walking
the types callroute decodes from outside (commands, command files, scenarios, the PBX directory,
recorded calls), so a new pattern without an example below fails ``test_every_pattern_has_an_example``.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
import msgspec.inspect as mi
import pytest

from adapters.directory import DirectoryFile
from core import commands as c
from core.aggregates.catalog import Sha256
from core.aggregates.closures import CountryCode, HolidayCategory, HolidayLanguage, Subdivision
from core.aggregates.groups import SipMember
from core.aggregates.identifiers import TEXT_PATTERN, ClockTime, Email, Extension, LanguageTag, PhoneNumber, Reason, Slug, check_pin
from core.aggregates.targets import EntityId, HttpsUrl, SipUri
from core.aggregates.users import Pin
from core.errors import PinRuleError
from core.projections.compare import RecordedCall
from simulator.scenario import ExplicitCall, Scenario

INPUT_TYPES: tuple[Any, ...] = (c.Command, c.CommandFile, Scenario, DirectoryFile, RecordedCall)
"""What callroute decodes from outside: every pattern reachable from these is checked."""


def schema_patterns(*types: Any) -> dict[str, list[str]]:
    """Each pattern reachable from ``types`` → the places it is used (``SetDivert.target.number``)."""
    found: dict[str, list[str]] = {}
    seen: set[Any] = set()

    def walk(info: Any, where: str) -> None:
        if isinstance(info, mi.Metadata):
            walk(info.type, where)
        elif isinstance(info, mi.StrType):
            if info.pattern is not None:
                found.setdefault(info.pattern, []).append(where)
        elif isinstance(info, mi.ListType | mi.SetType | mi.FrozenSetType | mi.VarTupleType):
            walk(info.item_type, where + "[]")
        elif isinstance(info, mi.TupleType):
            for item in info.item_types:
                walk(item, where + "[]")
        elif isinstance(info, mi.DictType):
            walk(info.key_type, where + "{key}")
            walk(info.value_type, where + "{}")
        elif isinstance(info, mi.UnionType):
            for item in info.types:
                walk(item, where)
        elif isinstance(info, mi.StructType | mi.DataclassType):
            if info.cls in seen:
                return
            seen.add(info.cls)
            for field in info.fields:
                walk(field.type, f"{info.cls.__name__}.{field.name}")

    for tp in types:
        walk(mi.type_info(tp), getattr(tp, "__name__", "Command"))
    return found


def pattern_of(tp: Any, field: str | None = None) -> str:
    """The pattern of an annotated type, or of ``field`` of a struct."""
    info = mi.type_info(tp)
    if field is not None:
        info = next(f.type for f in info.fields if f.name == field)  # type: ignore[attr-defined]
    while isinstance(info, mi.UnionType):  # ``X | None``
        info = next(t for t in info.types if not isinstance(t, mi.NoneType))
    if isinstance(info, mi.Metadata):
        info = info.type
    assert isinstance(info, mi.StrType) and info.pattern is not None, info
    return info.pattern


# (pattern, a valid value, garbage that makes it invalid both as a prefix and as a suffix)
EXAMPLES: list[tuple[str, str, str]] = [
    (pattern_of(Slug), "nordic-dental", "_"),
    (pattern_of(Extension), "2001", "x"),
    (pattern_of(PhoneNumber), "+46 8 123 456 00", "x"),
    (pattern_of(LanguageTag), "sv-SE", "_"),
    (pattern_of(Email), "ann@example.com", " "),
    (pattern_of(ClockTime), "09:30", "0"),
    (pattern_of(EntityId), "reception", "_"),
    (pattern_of(SipUri), "sip:alice@pbx.example", " "),
    (pattern_of(HttpsUrl), "https://crm.example/lookup?n=1", " "),
    (pattern_of(Sha256), "0123456789abcdef" * 4, "0"),
    (pattern_of(CountryCode), "SE", "E"),
    (pattern_of(Subdivision), "BY", "_"),
    (pattern_of(HolidayCategory), "public", "-"),
    (pattern_of(HolidayLanguage), "en_US", "_"),
    (pattern_of(Pin), "650473", "1"),
    (pattern_of(SipMember, "internal_number"), "*205#", "a"),
    (pattern_of(ExplicitCall, "id"), "monday-9:00", " "),
    (TEXT_PATTERN, "Nordic Dental Malmö", "\u202e"),
    (pattern_of(Reason), "Carla is back from holiday", "\x00"),
]
BY_PATTERN = {pattern: (valid, garbage) for pattern, valid, garbage in EXAMPLES}
PATTERNS = schema_patterns(*INPUT_TYPES)


def test_the_walk_finds_the_patterns_of_every_input_type() -> None:
    assert len(PATTERNS) >= 15
    assert any(where.startswith("SetVoicePortalPin.pin") for where in PATTERNS[pattern_of(Pin)])
    assert any(where.startswith("ExplicitCall.id") for where in PATTERNS[pattern_of(ExplicitCall, "id")])
    assert any(where.startswith("SipPbx.internal_numbers") for where in PATTERNS[pattern_of(SipMember, "internal_number")])


def test_every_pattern_has_an_example() -> None:
    missing = {pattern: places[:3] for pattern, places in PATTERNS.items() if pattern not in BY_PATTERN}
    assert not missing, f"add an example to EXAMPLES for each new pattern: {missing}"


def test_every_example_is_of_a_pattern_in_use() -> None:
    assert not set(BY_PATTERN) - set(PATTERNS)


@pytest.mark.parametrize("pattern", sorted(PATTERNS), ids=lambda p: BY_PATTERN.get(p, (p, ""))[0][:24])
def test_a_pattern_matches_the_whole_value_only(pattern: str) -> None:
    valid, garbage = BY_PATTERN[pattern]
    checked = Annotated[str, msgspec.Meta(pattern=pattern)]
    assert msgspec.convert(valid, checked) == valid
    for bad in (valid + "\n", garbage + valid, valid + garbage, "\n" + valid):
        with pytest.raises(msgspec.ValidationError, match="matching regex"):
            msgspec.convert(bad, checked)


@pytest.mark.parametrize("pattern", sorted(PATTERNS), ids=lambda p: BY_PATTERN.get(p, (p, ""))[0][:24])
def test_a_pattern_is_anchored_in_the_json_schema_dialect_too(pattern: str) -> None:
    # ECMA-262 (JSON Schema's regex dialect) has no \Z: the end is written $(?!\n), the very end in both dialects.
    assert pattern.startswith("^(?:") and pattern.endswith(r")$(?!\n)")


def test_the_pin_rule_refuses_a_trailing_newline_in_the_schema_and_in_the_rule() -> None:
    command = {"command": "set_voice_portal_pin", "tenant": "acme", "extension": "2001", "pin": "650473\n"}
    with pytest.raises(msgspec.ValidationError, match=r"\$\.pin"):
        msgspec.convert(command, c.Command)
    with pytest.raises(PinRuleError):
        check_pin("650473\n")
    check_pin("650473")


def test_every_command_pattern_says_in_words_what_it_wants() -> None:
    from adapters.cli.errors import pattern_text

    vague = {p: places[:2] for p, places in schema_patterns(c.Command).items() if pattern_text(p) == "not in the form callroute expects"}
    assert not vague, f"give these patterns a description (or words in adapters/cli/errors.py): {vague}"
