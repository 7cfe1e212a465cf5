"""Scenarios that used to crash or silently misbehave (found by review)."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from simulator.run import run_scenario
from simulator.scenario import Scenario, ScenarioError, load_scenario
from tests.simulator.builders import add_user, create_tenant, explicit, fixed, scenario


def test_an_agent_that_is_not_a_user_is_refused_naming_the_field() -> None:
    s = scenario([create_tenant(), add_user("2001")], [explicit({"at_seconds": 1, "to": "2001"})],
                 agents=[{"extension": "2001"}, {"extension": "9999"}])
    with pytest.raises(ScenarioError, match=r"9999 is not a user.*\$\.agents\[1\]\.extension"):
        run_scenario(s)


def test_two_specs_for_one_agent_are_refused() -> None:
    s = scenario([create_tenant(), add_user("2001")], [explicit({"at_seconds": 1, "to": "2001"})],
                 agents=[{"extension": "2001"}, {"extension": "2001"}])
    with pytest.raises(ScenarioError, match="two agent specs"):
        run_scenario(s)


@pytest.mark.parametrize("field, value", [("duration_seconds", float("inf")), ("duration_seconds", 1e12)])
def test_unbounded_durations_are_refused_by_the_schema(field: str, value: float) -> None:
    document = {"tenant": {"slug": "sim"}, "arrivals": [{"kind": "explicit", "calls": []}], field: value}
    with pytest.raises(msgspec.ValidationError, match=rf"\$\.{field}"):
        msgspec.convert(document, Scenario)


def test_an_arrival_at_an_infinite_instant_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_bytes(b'{"tenant": {"slug": "sim"}, "arrivals": [{"kind": "explicit", "calls": [{"at_seconds": 1e400, "to": "2001"}]}]}')
    with pytest.raises(ScenarioError, match=r"\$\.arrivals\[0\]\.calls\[0\]\.at_seconds"):
        load_scenario(path)


def test_poisson_arrivals_with_an_all_zero_profile_end_instead_of_crashing() -> None:
    s = scenario([create_tenant(), add_user("2001")],
                 [{"kind": "poisson", "to": "2001", "rate_per_hour": 10, "hourly_profile": [0] * 24}], max_calls=5)
    assert run_scenario(s).kpis.offered == 0


def test_shifts_continue_past_a_week_when_the_run_is_bounded_by_calls() -> None:
    """One call an hour for 20 days to an agent on a 24-hour shift: every call is answered."""
    calls = [{"at_seconds": 3600 * i + 60, "to": "2001"} for i in range(480)]
    s = scenario([create_tenant(), add_user("2001")], [explicit(*calls)], max_calls=480,
                 agents=[{"extension": "2001", "answer_delay": fixed(1), "talk_time": fixed(10),
                          "shifts": [{"start": "00:00", "end": "23:59"}]}])
    k = run_scenario(s).kpis
    assert k.offered == 480
    assert k.answered >= 470  # the minute from 23:59 to 00:00 is outside the shift
