"""Scenario builders for the simulator tests: plain dicts converted to ``Scenario`` so each test is self-contained."""

from __future__ import annotations

import io
from typing import Any

import msgspec

from simulator.run import RunResult, run_scenario
from simulator.scenario import Scenario

TENANT = "sim"
NUMBER = "+46812345600"
"""The tenant's inbound number in most scenarios."""
TTS = {"kind": "tts", "text": "Welcome.", "language": "en"}


def create_tenant(time_zone: str = "UTC") -> dict[str, Any]:
    return {"command": "create_tenant", "tenant": TENANT, "name": "Simulated", "time_zone": time_zone, "plan": "unlimited"}


def add_user(extension: str) -> dict[str, Any]:
    return {"command": "add_user", "tenant": TENANT, "extension": extension, "name": f"User {extension}"}


def save_queue(queue: str, agents: list[str], **spec: Any) -> dict[str, Any]:
    return {"command": "save_queue", "tenant": TENANT, "queue": queue, "spec": {"name": queue.title(), "agents": agents, **spec}}


def route_number(number: str, entry: dict[str, Any]) -> dict[str, Any]:
    return {"command": "route_number", "tenant": TENANT, "number": number, "entry": entry}


def set_divert(extension: str, condition: str, target: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"command": "set_divert", "tenant": TENANT, "extension": extension, "condition": condition, "target": target, **extra}


def scenario(commands: list[dict[str, Any]], arrivals: list[dict[str, Any]], **fields: Any) -> Scenario:
    """A validated scenario for tenant ``sim`` configured by ``commands``."""
    return msgspec.convert({"tenant": {"slug": TENANT, "commands": commands}, "arrivals": arrivals, **fields}, Scenario)


def explicit(*calls: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "explicit", "calls": list(calls)}


def fixed(value: float) -> dict[str, Any]:
    return {"dist": "fixed", "value": value}


def exponential(mean: float) -> dict[str, Any]:
    return {"dist": "exponential", "mean": mean}


NEVER = {"dist": "never"}


def run_traced(s: Scenario, **kwargs: Any) -> tuple[RunResult, bytes, list[dict[str, Any]]]:
    """Run with a trace in memory; return the result, the trace bytes and its records."""
    out = io.BytesIO()
    result = run_scenario(s, trace=out, **kwargs)
    data = out.getvalue()
    return result, data, [msgspec.json.decode(line) for line in data.splitlines()]
