"""The deterministic trio call simulator (see README.md, "Simulation").

Public face (loaded on first use): ``load_scenario`` and ``Scenario`` (the validated
scenario file), ``ScenarioError``, ``run_scenario`` and ``RunResult`` (one run: figures,
assertions, trace hash).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_PUBLIC = {
    "Scenario": "simulator.scenario",
    "ScenarioError": "simulator.scenario",
    "load_scenario": "simulator.scenario",
    "RunResult": "simulator.run",
    "run_scenario": "simulator.run",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'simulator' has no attribute {name!r}")
