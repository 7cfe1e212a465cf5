"""Explicit callers in a scenario read as everywhere else: every withheld spelling, and the presentation, make them anonymous."""

from __future__ import annotations

from typing import Any

import pytest

from simulator.run import run_scenario
from tests.simulator.builders import NUMBER, TENANT, add_user, create_tenant, explicit, route_number, run_traced, scenario


def rejecting_2001(*calls: dict[str, Any]) -> Any:
    """2001 rejects anonymous callers (the built-in rejected-call handling: the engaged tone); ``NUMBER`` enters at 2001."""
    commands = [create_tenant(), add_user("2001"), route_number(NUMBER, {"kind": "extension", "extension": "2001"}),
                {"command": "set_reject_anonymous", "tenant": TENANT, "extension": "2001", "enabled": True}]
    return scenario(commands, [explicit(*calls)], max_calls=len(calls))


@pytest.mark.parametrize("caller", ["anonymous", "", "Restricted", "sip:anonymous@anonymous.invalid"])
def test_an_explicit_caller_with_a_withheld_spelling_is_rejected(caller: str) -> None:
    k = run_scenario(rejecting_2001({"at_seconds": 10, "to": NUMBER, "from": caller})).kpis
    assert (k.rejected, k.busy) == (1, 1)


def test_an_explicit_caller_with_presentation_restricted_is_rejected() -> None:
    k = run_scenario(rejecting_2001({"at_seconds": 10, "to": NUMBER, "from": "+46701234567", "presentation": "restricted"})).kpis
    assert k.rejected == 1


def test_an_explicit_caller_with_a_number_is_not_rejected() -> None:
    assert run_scenario(rejecting_2001({"at_seconds": 10, "to": NUMBER, "from": "tel:+46-70-123-45-67"})).kpis.rejected == 0


def test_the_trace_shows_a_withheld_explicit_caller_as_no_caller_id() -> None:
    _, _, records = run_traced(rejecting_2001({"at_seconds": 10, "to": NUMBER, "from": "Anonymous"}))
    (arrived,) = [r for r in records if r["ev"] == "arrive"]
    assert arrived["from"] is None


def test_the_trace_shows_an_explicit_callers_number_as_its_digits() -> None:
    _, _, records = run_traced(rejecting_2001({"at_seconds": 10, "to": NUMBER, "from": "sip:+46701234567@carrier.example"}))
    (arrived,) = [r for r in records if r["ev"] == "arrive"]
    assert arrived["from"] == "+46701234567"
