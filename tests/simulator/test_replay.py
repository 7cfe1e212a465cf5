"""Replaying real traffic: the calls of a recorded history (simulate --calls lines, or callroute history --json) as the
arrivals, with their talk time and patience where the history knows them, drawn from the scenario where not."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest

from adapters.cli.calls import _plain
from core.calls.history import CallRecord
from simulator.replay import read_history
from simulator.run import run_scenario
from simulator.scenario import Scenario, ScenarioError, load_scenario
from tests.simulator.builders import NUMBER, add_user, create_tenant, fixed, route_number, run_traced, save_queue, scenario
from tests.simulator.test_replications import simulate

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def history_record(call_id: str, started: datetime, outcome: str, *, dialled: str | None = NUMBER, seconds: float = 60,
                   talk: float | None = None, caller: str | None = "+46701234567") -> dict[str, Any]:
    """One element of ``callroute history --json``, as the command writes it."""
    answered = started + timedelta(seconds=seconds - talk) if talk is not None else None
    record = CallRecord(call_id=call_id, pbx="office-pbx", caller=caller, presentation="allowed" if caller else "restricted",
                        dialled=dialled, started=started, answered=answered, answered_by="2001" if talk is not None else None,
                        answered_kind="agent" if talk is not None else None, queues=("q",), groups=(), outcome=outcome,  # type: ignore[arg-type]
                        mailbox=None, ended=started + timedelta(seconds=seconds), duration_seconds=seconds, talk_seconds=talk,
                        cause=16, cause_text="normal clearing", missed_by=())
    return json.loads(msgspec.json.encode(_plain(record)))


def write_history(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("[" + ",\n".join(json.dumps(r) for r in records) + "\n]\n")
    return path


def queue_scenario(replay: dict[str, Any], start: str = "2026-11-16T00:00:00+01:00", **fields: Any) -> Scenario:
    """Queue ``q`` of agent 2001 (answers after 1 s, talks 100 s unless the call says) in Stockholm."""
    commands = [create_tenant("Europe/Stockholm"), add_user("2001"), save_queue("q", ["2001"], wrap_up_seconds=0),
                route_number(NUMBER, {"kind": "queue", "queue": "q"})]
    return scenario(commands, [{"kind": "replay", **replay}], start=start,
                    agents=[{"extension": "2001", "answer_delay": fixed(1), "talk_time": fixed(100)}], **fields)


def test_a_simulated_day_replayed_through_the_same_configuration_ends_the_same(tmp_path: Path) -> None:
    calls = tmp_path / "calls.jsonl"
    assert simulate(str(EXAMPLES / "friday_divert.toml"), "--calls", str(calls))[0] == 0
    code, out, err = simulate(str(EXAMPLES / "friday_divert.toml"), "--replay", str(calls), "--calls", str(tmp_path / "again.jsonl"))
    assert code == 0, err
    assert "PASS call 3 is answered by 2002" in out, "the recorded call ids name the replayed calls"
    assert (tmp_path / "again.jsonl").read_text() == calls.read_text()


def test_a_history_gives_talk_times_and_patience_and_the_scenario_the_rest(tmp_path: Path) -> None:
    """Last Monday 09:00 UTC (10:00 in Stockholm): A answered, talked 42 s; B hung up after 17 s; C's number unknown."""
    monday = datetime(2026, 11, 9, 9, 0, tzinfo=UTC)
    write_history(tmp_path / "monday.json", [
        history_record("A", monday, "answered", talk=42, seconds=43),
        history_record("B", monday + timedelta(seconds=10), "abandoned", seconds=17),
        history_record("C", monday + timedelta(seconds=300), "no_answer", dialled=None, caller=None)])
    s = queue_scenario({"file": "monday.json", "to": NUMBER})
    (tmp_path / "s.json").write_bytes(msgspec.json.encode(s))
    loaded = load_scenario(tmp_path / "s.json")
    result, _, trace = run_traced(loaded, base=tmp_path)
    ten = 10 * 3600.0  # a week on: Monday 10:00 in Stockholm, 10 h after the scenario's start at midnight
    arrived = {r["call"]: (r["t"], r["from"]) for r in trace if r["ev"] == "arrive"}
    ends = {r["call"]: (r["t"], r["outcome"]) for r in trace if r["ev"] == "end"}
    assert arrived == {1: (ten, "+46701234567"), 2: (ten + 10, "+46701234567"), 3: (ten + 300, None)}
    assert ends == {1: (ten + 1 + 42, "answered"), 2: (ten + 10 + 17, "abandoned_queue"), 3: (ten + 300 + 1 + 100, "answered")}
    assert (result.kpis.offered, result.kpis.answered, result.kpis.abandoned) == (3, 2, 1)


def test_the_replay_keeps_the_wall_clock_time_across_a_change_of_daylight_time(tmp_path: Path) -> None:
    """09:00 on the Monday before the clocks go forward (29 March 2026) comes at 09:00 the Monday after."""
    history = write_history(tmp_path / "h.json", [history_record("A", datetime(2026, 3, 23, 8, 0, tzinfo=UTC), "answered", talk=5)])
    s = queue_scenario({"calls": read_history(history)}, start="2026-03-30T00:00:00+02:00")
    _, _, trace = run_traced(s)
    assert [r["t"] for r in trace if r["ev"] == "arrive"] == [9 * 3600.0]


def test_a_history_without_the_dialled_number_needs_one_given(tmp_path: Path) -> None:
    write_history(tmp_path / "h.json", [history_record("A", datetime(2026, 11, 9, 9, tzinfo=UTC), "answered", dialled=None, talk=5)])
    (tmp_path / "s.json").write_bytes(msgspec.json.encode(queue_scenario({"file": "h.json"})))
    with pytest.raises(ScenarioError, match=r"h\.json\[0\]: call A does not say which number was dialled.* - at `\$\.arrivals\[0\]\.to`"):
        load_scenario(tmp_path / "s.json")


def test_calls_before_the_start_and_numbers_the_tenant_lacks_are_refused(tmp_path: Path) -> None:
    history = write_history(tmp_path / "h.json", [history_record("A", datetime(2026, 11, 9, 9, tzinfo=UTC), "answered", talk=5)])
    calls = read_history(history)
    with pytest.raises(ScenarioError, match=r"comes before the scenario's start .* - at `\$\.arrivals\[0\]\.weeks`"):
        run_scenario(queue_scenario({"calls": calls, "weeks": 0}))
    assert run_scenario(queue_scenario({"calls": calls, "weeks": 1})).kpis.offered == 1
    elsewhere = [msgspec.structs.replace(calls[0], to="+46899999999")]
    with pytest.raises(ScenarioError, match=r"neither an extension nor a number of tenant 'sim' - at `\$\.arrivals\[0\]\.file`"):
        run_scenario(queue_scenario({"calls": elsewhere}))


def test_a_broken_history_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    path.write_text('{"call_id": "1", "to": "+46812345600", "at": "2026-11-09T09:00:00Z", "outcome": "answered"}\n{"call_id": 2}\n')
    with pytest.raises(ScenarioError, match=r"calls\.jsonl:2"):
        read_history(path)
    assert simulate(str(EXAMPLES / "friday_divert.toml"), "--replay", str(path))[0] == 2
