"""The same scenario and seed give the same trace, byte for byte, in one process and across processes.

The scenario exercises everything that draws or orders: Poisson arrivals shaped by an
hourly profile, anonymous callers and IVR digits drawn per call, a menu, a queue, answer
groups with the ``random`` and ``round_robin`` strategies, a forwarding scheme ringing an
external number that answers with a probability, reject-anonymous, lognormal patience,
uniform answer delays, shifts and presence changes, and a configuration change with a
random provisioning delay.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec

from simulator.run import run_scenario
from simulator.scenario import Scenario
from tests.simulator.builders import (
    NUMBER,
    TENANT,
    TTS,
    add_user,
    create_tenant,
    exponential,
    fixed,
    route_number,
    save_queue,
    set_divert,
)

ROOT = Path(__file__).resolve().parents[2]
SALES = "+46812345601"


def group(group_id: str, strategy: str, members: list[str], fallback: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"command": "create_answer_group", "tenant": TENANT, "group": group_id,
            "settings": {"name": group_id.title(), "strategy": strategy, "timeout_seconds": 40, "fallback": fallback},
            "members": [{"ref": {"on": "local", "extension": m}, "ring_seconds": 15} for m in members]}


def busy_scenario() -> dict[str, Any]:
    """A day's worth of traffic through a menu, a queue, two groups and a scheme (a JSON-able document)."""
    queue_agents = [str(3000 + i) for i in range(4)]
    group_members = [str(2001 + i) for i in range(6)]
    commands = [
        create_tenant("Europe/Stockholm"),
        *(add_user(e) for e in queue_agents + group_members + ["2100"]),
        {"command": "set_reject_anonymous", "tenant": TENANT, "extension": "2006", "enabled": True},
        set_divert("2001", "no_answer", {"kind": "voicemail"}, ring_seconds=20),
        save_queue("support", queue_agents, strategy="longest_idle", agent_ring_seconds=20, wrap_up_seconds=0,
                   max_wait_seconds=300, after_max_wait={"kind": "voicemail", "extension": "2100"}),
        group("sales", "random", group_members[:3], fallback={"kind": "voicemail", "extension": "2100"}),
        group("billing", "round_robin", group_members[3:]),
        {"command": "save_forwarding_scheme", "tenant": TENANT, "scheme": "after",
         "spec": {"name": "After", "mode": "sequential",
                  "steps": [{"destination": {"kind": "extension", "extension": "2006"}, "timeout_seconds": 20},
                            {"destination": {"kind": "external", "number": "+46701234567"}, "timeout_seconds": 30},
                            {"destination": {"kind": "voicemail", "extension": "2100"}, "timeout_seconds": 15}]}},
        {"command": "save_ivr_menu", "tenant": TENANT, "ivr": "main",
         "spec": {"name": "Main", "prompt": TTS, "timeout_seconds": 4, "retries": 1,
                  "options": {"1": {"kind": "queue", "queue": "support"}, "2": {"kind": "group", "group": "sales"},
                              "3": {"kind": "group", "group": "billing"}, "4": {"kind": "scheme", "scheme": "after"}},
                  "on_no_input": {"kind": "queue", "queue": "support"}}},
        route_number(NUMBER, {"kind": "ivr", "ivr": "main"}),
        route_number(SALES, {"kind": "group", "group": "sales"}),
    ]
    hourly = [0.2] * 8 + [1.0, 1.5, 1.2, 1.0, 0.6, 1.0, 1.3, 1.1, 0.8, 0.5] + [0.2] * 6
    return {
        "tenant": {"slug": TENANT, "commands": commands},
        "start": "2026-11-16T08:00:00+01:00",
        "duration_seconds": 6 * 3600,
        "seed": 42,
        "patience": {"dist": "lognormal", "mean": 60, "sd": 50},
        "others": {"answer_probability": 0.6, "answer_delay": {"dist": "uniform", "low": 2, "high": 12},
                   "talk_time": exponential(100)},
        "agent_groups": [{"first": 3000, "count": 4, "answer_delay": fixed(0), "talk_time": exponential(150),
                          "wrap_up": {"dist": "uniform", "low": 0, "high": 20}}],
        "agents": [
            *({"extension": e, "answer_delay": {"dist": "uniform", "low": 1, "high": 25}, "talk_time": exponential(120)}
              for e in group_members if e != "2003"),  # 2003 has its own spec below, with a shift
            {"extension": "2003", "answer_delay": fixed(4), "talk_time": exponential(120),
             "shifts": [{"start": "10:00", "end": "12:30"}]},
        ],
        "presence": [{"at_seconds": 3600, "extension": "2002", "state": "offline"},
                     {"at_seconds": 9000, "extension": "2002", "state": "available"}],
        "changes": [{"at_seconds": 7200, "commands": [set_divert("2004", "always", {"kind": "extension", "extension": "2005"})]}],
        "provisioning": {"delay": exponential(900)},
        "arrivals": [
            {"kind": "poisson", "to": NUMBER, "rate_per_hour": 90, "hourly_profile": hourly, "anonymous_share": 0.2,
             "digits": {"1": 0.4, "2": 0.2, "3": 0.15, "4": 0.15, "": 0.05, "9": 0.05}},
            {"kind": "poisson", "to": SALES, "rate_per_hour": 15},
            {"kind": "explicit", "calls": [{"at_seconds": 5000, "to": "2001", "from": "+46709999999"}]},
        ],
    }


def the_scenario(**overrides: Any) -> Scenario:
    return msgspec.convert({**busy_scenario(), **overrides}, Scenario)


def traced(s: Scenario, seed: int | None = None) -> tuple[str | None, bytes]:
    out = io.BytesIO()
    result = run_scenario(s, seed=seed, trace=out)
    return result.trace_sha256, out.getvalue()


def test_the_scenario_exercises_what_it_claims() -> None:
    _, data = traced(the_scenario())
    events = {msgspec.json.decode(line)["ev"] for line in data.splitlines()}
    assert {"arrive", "route", "ivr", "queue", "ring", "answer", "abandon", "end", "agent", "config", "live"} <= events
    k = run_scenario(the_scenario()).kpis
    assert k.offered > 500
    assert k.answered > 300 and k.abandoned > 20 and k.voicemail > 20 and k.missed > 0
    assert k.abandoned_ringing > 0 and k.abandoned_queue > 0
    assert set(k.groups) == {"sales", "billing"} and k.queues["support"].offered > 100


def test_same_seed_same_trace_twice_in_one_process() -> None:
    s = the_scenario()
    first_hash, first = traced(s)
    second_hash, second = traced(s)
    assert first_hash == hashlib.sha256(first).hexdigest()
    assert len(first.splitlines()) > 3000
    assert first == second
    assert first_hash == second_hash
    # through a seed override too
    assert traced(the_scenario(seed=7), seed=42) == (first_hash, first)


def test_a_different_seed_gives_a_different_trace() -> None:
    s = the_scenario()
    base_hash, base = traced(s)
    other_hash, other = traced(s, seed=43)
    assert other_hash != base_hash and other != base
    assert traced(s, seed=43)[0] == other_hash


SCRIPT = """
import logging, sys
from pathlib import Path
import structlog
structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
from simulator.run import run_scenario
from simulator.scenario import load_scenario
path, trace = Path(sys.argv[1]), Path(sys.argv[2])
with trace.open("wb") as out:
    result = run_scenario(load_scenario(path), base=path.parent, trace=out)
print("trace_sha256=" + result.trace_sha256)
"""


def run_in_subprocess(scenario_file: Path, trace: Path, hash_seed: str) -> str:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(scenario_file), str(trace)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("trace_sha256=")]
    assert len(lines) == 1, done.stdout
    return lines[0].removeprefix("trace_sha256=")


def test_same_trace_across_processes_with_different_hash_seeds(tmp_path: Path) -> None:
    scenario_file = tmp_path / "busy.json"
    scenario_file.write_bytes(msgspec.json.encode(busy_scenario()))
    in_process_hash, in_process = traced(the_scenario())
    hashes = {}
    for hash_seed in ("0", "1", "4242"):
        trace = tmp_path / f"trace-{hash_seed}.jsonl"
        hashes[hash_seed] = run_in_subprocess(scenario_file, trace, hash_seed)
        assert trace.read_bytes() == in_process, f"PYTHONHASHSEED={hash_seed} changed the trace"
    assert set(hashes.values()) == {in_process_hash}
