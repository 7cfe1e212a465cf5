"""Every call offered to a number, an answer group or a queue is counted in exactly one of its outcomes, and callers
who waited in a queue are in the waiting figures however their call ended.

A group or queue counts a call answered or abandoned there, or where it sent the call when it
gave up on it: a voicemail box, another ending (``other``), or on to something else that rings
(``passed_on``), which counts the call itself.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import msgspec
import pytest

from simulator.kpis import Breakdown, Kpis
from simulator.report import write_report
from simulator.run import run_scenario
from simulator.scenario import Scenario, load_scenario
from tests.simulator.builders import (
    NEVER,
    NUMBER,
    TENANT,
    add_user,
    create_tenant,
    explicit,
    fixed,
    route_number,
    save_queue,
    scenario,
)
from tests.simulator.test_determinism import the_scenario

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = [*sorted((ROOT / "examples").glob("*.toml")), ROOT / "adapters" / "data" / "demo_day.toml"]
VOICEMAIL_2003 = {"kind": "voicemail", "extension": "2003"}


def group(key: str, members: list[str], fallback: dict[str, Any] | None, timeout: int = 30) -> dict[str, Any]:
    return {"command": "create_answer_group", "tenant": TENANT, "group": key,
            "settings": {"name": key.title(), "timeout_seconds": timeout, "fallback": fallback},
            "members": [{"ref": {"on": "local", "extension": m}, "ring_seconds": timeout} for m in members]}


def users(*extensions: str) -> list[dict[str, Any]]:
    return [create_tenant(), *(add_user(e) for e in extensions)]


def unanswered_group() -> Scenario:
    """Group ``g`` (2001, who never answers) falls back to the voicemail of 2003 after 30 s."""
    commands = [*users("2001", "2003"), group("g", ["2001"], VOICEMAIL_2003), route_number(NUMBER, {"kind": "group", "group": "g"})]
    return scenario(commands, [explicit({"at_seconds": 0, "to": NUMBER})], agents=[{"extension": "2001", "answer_delay": NEVER}])


def group_into_group() -> Scenario:
    """Group ``first`` (2001, never answers) falls back to group ``second`` (2002, answers after 2 s)."""
    commands = [*users("2001", "2002"), group("second", ["2002"], None), group("first", ["2001"], {"kind": "group", "group": "second"}),
                route_number(NUMBER, {"kind": "group", "group": "first"})]
    return scenario(commands, [explicit({"at_seconds": 0, "to": NUMBER})],
                    agents=[{"extension": "2001", "answer_delay": NEVER}, {"extension": "2002", "answer_delay": fixed(2)}])


def queue_to_voicemail() -> Scenario:
    """Queue ``q`` (2001, talking to call 1 until 101 s) sends call 2 to voicemail after its 60 s maximum wait."""
    commands = [*users("2001", "2003"),
                save_queue("q", ["2001"], max_wait_seconds=60, wrap_up_seconds=0, after_max_wait=VOICEMAIL_2003),
                route_number(NUMBER, {"kind": "queue", "queue": "q"})]
    return scenario(commands, [explicit({"at_seconds": 0, "to": NUMBER}, {"at_seconds": 10, "to": NUMBER})],
                    agents=[{"extension": "2001", "answer_delay": fixed(1), "talk_time": fixed(100)}])


def queue_into_queue() -> Scenario:
    """Call 2 waits 20 s in ``first`` and 30 s in ``second`` (2001 is busy in both), then goes to voicemail."""
    commands = [*users("2001", "2003"),
                save_queue("second", ["2001"], max_wait_seconds=30, wrap_up_seconds=0, after_max_wait=VOICEMAIL_2003),
                save_queue("first", ["2001"], max_wait_seconds=20, wrap_up_seconds=0, after_max_wait={"kind": "queue", "queue": "second"}),
                route_number(NUMBER, {"kind": "queue", "queue": "first"})]
    return scenario(commands, [explicit({"at_seconds": 0, "to": NUMBER}, {"at_seconds": 10, "to": NUMBER})],
                    agents=[{"extension": "2001", "answer_delay": fixed(1), "talk_time": fixed(100)}])


def queue_that_empties() -> Scenario:
    """Call 2 waits in ``q`` until its only agent, talking to call 1, logs out after it (101 s): to voicemail."""
    commands = [*users("2001", "2003"),
                save_queue("q", ["2001"], wrap_up_seconds=0, when_no_agents=VOICEMAIL_2003, leave_when="no_agent_logged_in"),
                route_number(NUMBER, {"kind": "queue", "queue": "q"})]
    return scenario(commands, [explicit({"at_seconds": 0, "to": NUMBER}, {"at_seconds": 10, "to": NUMBER})],
                    agents=[{"extension": "2001", "answer_delay": fixed(1), "talk_time": fixed(100)}],
                    presence=[{"at_seconds": 50, "extension": "2001", "state": "offline"}])


BUILT = {"unanswered group": unanswered_group, "group into group": group_into_group, "queue to voicemail": queue_to_voicemail,
         "queue into queue": queue_into_queue, "queue that empties": queue_that_empties, "busy day": the_scenario}


def outcomes(b: Breakdown) -> int:
    return b.answered + b.abandoned + b.voicemail + b.other + b.passed_on


def unbalanced(k: Kpis) -> list[str]:
    return [f"{kind} {key}: offered {b.offered}, outcomes {msgspec.to_builtins(b)}"
            for kind, table in (("number", k.numbers), ("queue", k.queues), ("group", k.groups))
            for key, b in table.items() if b.offered != outcomes(b)]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_call_of_a_shipped_scenario_has_exactly_one_outcome_per_number_group_and_queue(path: Path) -> None:
    k = run_scenario(load_scenario(path), base=path.parent).kpis
    assert k.numbers and unbalanced(k) == []


@pytest.mark.parametrize("name", sorted(BUILT))
def test_every_call_of_a_built_scenario_has_exactly_one_outcome_per_number_group_and_queue(name: str) -> None:
    k = run_scenario(BUILT[name]()).kpis
    assert k.numbers and unbalanced(k) == []


def test_a_call_nobody_in_the_group_answers_counts_as_the_voicemail_of_its_fallback() -> None:
    k = run_scenario(unanswered_group()).kpis
    assert k.groups["g"] == Breakdown(offered=1, voicemail=1)


def test_a_call_answered_after_its_group_fell_back_to_another_group_counts_as_answered_only_there() -> None:
    k = run_scenario(group_into_group()).kpis
    assert (k.groups["first"], k.groups["second"]) == (Breakdown(offered=1, passed_on=1), Breakdown(offered=1, answered=1))


def test_a_queue_counts_a_call_sent_to_voicemail_after_the_maximum_wait() -> None:
    k = run_scenario(queue_to_voicemail()).kpis
    assert k.queues["q"] == Breakdown(offered=2, answered=1, voicemail=1)


def test_a_caller_who_waited_in_a_queue_then_went_to_voicemail_is_in_the_waiting_figures() -> None:
    k = run_scenario(queue_to_voicemail()).kpis
    assert (k.waited, k.overflowed, k.wait_max) == (1, 1, 60.0)
    assert k.wait_histogram == [(1.0, 1), (60.0, 1)], "call 1 answered after 1 s, call 2 overflowed after 60 s"
    assert k.probability_of_waiting == 0.5


def test_a_call_that_overflows_from_two_queues_is_counted_waiting_once_and_waits_until_it_reaches_voicemail() -> None:
    k = run_scenario(queue_into_queue()).kpis
    assert (k.waited, k.overflowed, k.wait_max) == (1, 1, 50.0), "20 s in the first queue, 30 s in the second"
    assert (k.queues["first"], k.queues["second"]) == (Breakdown(offered=2, answered=1, passed_on=1), Breakdown(offered=1, voicemail=1))


def test_a_caller_who_left_an_emptied_queue_is_in_the_waiting_figures_and_the_queues_voicemail() -> None:
    k = run_scenario(queue_that_empties()).kpis
    assert (k.waited, k.overflowed, k.wait_max) == (1, 1, 91.0)
    assert k.queues["q"] == Breakdown(offered=2, answered=1, voicemail=1)


def test_the_report_shows_overflowed_calls_and_what_each_queue_passed_on(tmp_path: Path) -> None:
    s = queue_into_queue()
    path = tmp_path / "report.html"
    write_report(run_scenario(s), s, path)
    document = path.read_text(encoding="utf-8")
    assert re.search(r"<td>overflowed \(sent on unanswered\)</td><td class=\"n\">1</td>", document)
    assert re.search(r"<tr[^>]*><td>first</td>(<td class=\"n\">[^<]*</td>){6}<td class=\"n\">1</td></tr>", document), \
        "queue first: offered 2, answered 1, abandoned 0, rate, voicemail 0, other 0, passed on 1"
