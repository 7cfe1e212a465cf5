"""Names carry no control characters and no bidirectional overrides: they are shown in tables, logs and audit trails.

A NUL or a newline in a name breaks every line-oriented output (and can forge a line of an audit
history); U+202E (right-to-left override) makes ``Evil\\u202eroC`` print as ``EvilCor``… The name-like
fields are found by walking the schemas, so a new one that forgets the rule fails here.
"""

from __future__ import annotations

from typing import Any

import msgspec
import msgspec.inspect as mi
import pytest

from adapters.directory import DirectoryFile
from core import commands as c
from core.aggregates.context import Actor
from core.aggregates.identifiers import NAME_RULE, REASON_RULE, TEXT_PATTERN, BillingId, Name, Principal, Reason, name_problem
from core.service import CallrouteApp
from simulator.scenario import Scenario
from tests.core.conftest import rejected

BAD = {
    "NUL": "\x00", "SOH": "\x01", "tab": "\t", "newline": "\n", "carriage return": "\r", "escape": "\x1b", "DEL": "\x7f",
    "C1 NEL": "\x85", "C1 CSI": "\x9b", "line separator": "\u2028", "paragraph separator": "\u2029",
    "arabic letter mark": "\u061c", "LRM": "\u200e", "RLM": "\u200f", "LRE": "\u202a", "RLE": "\u202b", "PDF": "\u202c",
    "LRO": "\u202d", "RLO": "\u202e", "LRI": "\u2066", "RLI": "\u2067", "FSI": "\u2068", "PDI": "\u2069",
    "lone surrogate": "\ud800",
}
GOOD = [
    "Nordic Dental Malmö", "Björn Berg", "Олена Коваленко", "O'Brien & Sons (Ltd.) #2", "北京办公室",
    "می\u200cخواهم",  # Persian: a zero-width non-joiner is part of the spelling
    "👩\u200d👩\u200d👧 family line",  # emoji joined by zero-width joiners
    "Reception – main desk", "admin@nordic-dental.example", "partner:phoneline-plus/pat",
]
TEXT_TYPES = {"name": Name, "principal": Principal, "billing id": BillingId, "reason": Reason}
NAME_LIKE = {"name", "principal", "partner", "reason", "billing_id", "model", "audio_file", "hold_music", "actor"}
"""Field names that hold a name or other one-line text a person typed (besides any ``*_name``)."""


def name_like_fields(*types: Any) -> dict[str, str | None]:
    """``Struct.field`` → the pattern of each string field with a name-like name reachable from ``types``."""
    found: dict[str, str | None] = {}
    seen: set[Any] = set()

    def strings(info: Any) -> list[mi.StrType]:
        if isinstance(info, mi.Metadata):
            return strings(info.type)
        if isinstance(info, mi.UnionType):
            return [s for item in info.types for s in strings(item)]
        return [info] if isinstance(info, mi.StrType) else []

    def walk(info: Any) -> None:
        if isinstance(info, mi.Metadata):
            walk(info.type)
        elif isinstance(info, mi.ListType | mi.SetType | mi.FrozenSetType | mi.VarTupleType):
            walk(info.item_type)
        elif isinstance(info, mi.TupleType | mi.UnionType):
            for item in getattr(info, "item_types", None) or info.types:  # type: ignore[attr-defined]
                walk(item)
        elif isinstance(info, mi.DictType):
            walk(info.value_type)
        elif isinstance(info, mi.StructType | mi.DataclassType) and info.cls not in seen:
            seen.add(info.cls)
            for field in info.fields:
                if field.name in NAME_LIKE or field.name.endswith("_name"):
                    for text in strings(field.type):
                        found[f"{info.cls.__name__}.{field.name}"] = text.pattern
                walk(field.type)

    for tp in types:
        walk(mi.type_info(tp))
    return found


FIELDS = name_like_fields(c.Command, c.CommandFile, Scenario, DirectoryFile)


def test_the_walk_finds_the_name_fields_of_commands_files_scenarios_and_the_directory() -> None:
    for field in ("CreateTenant.name", "AddUser.name", "GroupSettings.name", "CallQueue.name", "IvrMenu.name",
                  "ForwardingScheme.name", "GrantPermission.principal", "SetPartner.partner", "ActorSpec.principal",
                  "ActorSpec.partner", "CommandFile.reason", "SipPbx.name", "ConfigChange.actor", "AudioFile.name"):
        assert field in FIELDS, field


def test_every_name_like_field_carries_the_rule() -> None:
    allowed = {TEXT_PATTERN, msgspec.inspect.type_info(Reason).type.pattern}  # type: ignore[attr-defined]
    without = sorted(field for field, pattern in FIELDS.items() if pattern not in allowed)
    assert not without, f"use Name, Principal, BillingId or Reason (core/aggregates/identifiers.py) for: {without}"


@pytest.mark.parametrize("kind", sorted(TEXT_TYPES))
@pytest.mark.parametrize("char", sorted(BAD), ids=str)
def test_a_name_with_a_control_character_or_a_bidirectional_override_is_refused(kind: str, char: str) -> None:
    for value in (f"Evil{BAD[char]}Corp", BAD[char] + "Corp", "Corp" + BAD[char]):
        with pytest.raises(msgspec.ValidationError, match="matching regex"):
            msgspec.convert(value, TEXT_TYPES[kind])
    assert name_problem(f"Evil{BAD[char]}Corp") == NAME_RULE


@pytest.mark.parametrize("kind", sorted(TEXT_TYPES))
@pytest.mark.parametrize("value", GOOD)
def test_names_in_any_script_are_accepted(kind: str, value: str) -> None:
    assert msgspec.convert(value, TEXT_TYPES[kind]) == value
    assert name_problem(value) is None


def test_the_schema_says_the_rule_in_words() -> None:
    from adapters.cli.errors import pattern_text

    assert pattern_text(TEXT_PATTERN) == f"not a valid name ({NAME_RULE})"
    assert pattern_text(msgspec.inspect.type_info(Reason).type.pattern) == f"not a valid reason ({REASON_RULE})"  # type: ignore[attr-defined]


def test_the_application_refuses_a_tenant_name_with_a_right_to_left_override(app: CallrouteApp, actor: Actor) -> None:
    with rejected(app, msgspec.ValidationError, field="name", match="regex"):
        app.create_tenant(actor=actor, tenant="globex", name="Globex\u202eCorp", time_zone="Europe/Stockholm")


def test_the_application_refuses_a_user_name_with_a_nul(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, msgspec.ValidationError, field="name", match="regex"):
        app.add_user(actor=actor, tenant=acme, extension="2003", name="Carla\x00")


def test_the_application_refuses_a_principal_with_an_isolate(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, msgspec.ValidationError, field="principal", match="regex"):
        app.grant_permission(actor=actor, tenant=acme, principal="mallory\u2066@acme")


def test_the_application_refuses_a_reason_with_a_newline(app: CallrouteApp, actor: Actor, acme: str) -> None:
    forged = "lunch\n2026-11-20 17:30:00+01:00  tenant v9  DivertSet  by someone-else"
    with rejected(app, msgspec.ValidationError, field="reason", match="regex"):
        app.execute([c.RenameTenant(tenant=acme, name="Acme", reason=forged)], actor)


def test_a_group_name_inside_its_settings_is_refused_with_its_path() -> None:
    command = {"command": "create_answer_group", "tenant": "acme", "group": "sales", "settings": {"name": "Sales\u202e"}}
    with pytest.raises(msgspec.ValidationError, match=r"\$\.settings\.name"):
        msgspec.convert(command, c.Command)
