"""Commands a scenario applies that are stored with a warning: listed in the run's result, after where they are."""

from __future__ import annotations

from typing import Any

import msgspec

from simulator.run import run_scenario
from tests.simulator.builders import NUMBER, TENANT, add_user, create_tenant, explicit, route_number, scenario

SHORT = "scheme s: steps[0]: 20 s is under the recommended 30 s"


def save_scheme(seconds: int) -> dict[str, Any]:
    return {"command": "save_forwarding_scheme", "tenant": TENANT, "scheme": "s",
            "spec": {"name": "S", "steps": [{"destination": {"kind": "extension", "extension": "2001"}, "timeout_seconds": seconds}]}}


def with_scheme(seconds: int, **fields: Any) -> Any:
    commands = [create_tenant(), add_user("2001"), save_scheme(seconds), route_number(NUMBER, {"kind": "scheme", "scheme": "s"})]
    return scenario(commands, [explicit({"at_seconds": 10, "to": NUMBER})], max_calls=1, **fields)


def test_the_result_lists_the_warnings_of_the_tenants_commands() -> None:
    assert run_scenario(with_scheme(20)).warnings == (f"$.tenant.commands: {SHORT}",)


def test_the_result_lists_the_warnings_of_a_change_during_the_run_after_where_it_is() -> None:
    change = {"at_seconds": 5, "commands": [save_scheme(20)]}
    assert run_scenario(with_scheme(30, changes=[change])).warnings == (f"$.changes[0].commands: {SHORT}",)


def test_a_run_without_warnings_encodes_as_before_without_a_warnings_field() -> None:
    result = run_scenario(with_scheme(30))
    assert (result.warnings, "warnings" in msgspec.json.decode(msgspec.json.encode(result))) == ((), False)
