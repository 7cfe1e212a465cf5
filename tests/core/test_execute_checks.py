"""What ``execute`` is handed besides the commands: the reason and the actor keep the schema's rules, checked in core.

A library caller passes ``reason=`` and an ``Actor`` directly (the command line checks its own
flags first); both are refused with ``ValidationFailed`` naming the field before anything is stored.
"""

from __future__ import annotations

import pytest

from core import commands as c
from core.aggregates.context import Actor
from core.aggregates.targets import ToVoicemail
from core.errors import ValidationFailed
from core.service import CallrouteApp
from tests.core.conftest import events_of

REASON = "reasons may not contain control characters or bidirectional overrides"
NAMES = "names may not contain control characters or bidirectional overrides"


def divert(app: CallrouteApp, actor: Actor, reason: object) -> None:
    app.execute([c.SetDivert(tenant="acme", extension="2001", condition="busy", target=ToVoicemail())], actor, reason=reason)  # type: ignore[arg-type]


@pytest.mark.parametrize(("reason", "message"), [
    ("ticket 42\n", f"reason: {REASON} (got 'ticket 42\\n')"),
    ("gpj.\u202eexe", f"reason: {REASON} (got 'gpj.\\u202eexe')"),
    ("nul\x00", f"reason: {REASON} (got 'nul\\x00')"),
    ("x" * 501, "reason: at most 500 characters (got 501)"),
    (42, "reason: must be text (got int)"),
])
def test_a_reason_a_command_could_not_carry_is_refused_naming_reason(app: CallrouteApp, actor: Actor, acme: str,
                                                                     reason: object, message: str) -> None:
    before = events_of(app, "acme")
    with pytest.raises(ValidationFailed) as caught:
        divert(app, actor, reason)
    assert (caught.value.field, str(caught.value)) == ("reason", message)
    assert events_of(app, "acme") == before


def test_a_reason_of_500_ordinary_characters_is_stored(app: CallrouteApp, actor: Actor, acme: str) -> None:
    divert(app, actor, "é" * 500)
    assert events_of(app, "acme")[-1].reason == "é" * 500


@pytest.mark.parametrize(("given", "field", "message"), [
    (Actor(principal="admin@acme.example\n"), "actor.principal", f"{NAMES} (got 'admin@acme.example\\n')"),
    (Actor(principal=""), "actor.principal", "must not be empty"),
    (Actor(principal="a" * 201, operator=True), "actor.principal", "at most 200 characters (got 201)"),
    (Actor(principal="pat", partner="bt\u202e"), "actor.partner", f"{NAMES} (got 'bt\\u202e')"),
])
def test_an_actor_a_command_file_could_not_name_is_refused_naming_the_field(app: CallrouteApp, acme: str, given: Actor,
                                                                           field: str, message: str) -> None:
    before = events_of(app, "acme")
    with pytest.raises(ValidationFailed) as caught:
        divert(app, given, None)
    assert (caught.value.field, caught.value.message) == (field, message)
    assert events_of(app, "acme") == before
