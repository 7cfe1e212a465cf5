"""callroute core: the write model (aggregates), read models (projections) and pure routing.

Nothing here reads the wall clock, draws a random number, or imports the simulator or
the adapters; the event store, the clock and the PIN hasher are handed in through
``core.wiring.wire``. The public face is listed in ``__all__``; its names load on first
use, so importing one small module of core does not load the whole of it.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_PUBLIC = {
    "CallrouteApp": "core.service",
    "CommandRejected": "core.service",
    "Receipt": "core.aggregates.commanding",
    "Actor": "core.aggregates.context",
    "Clock": "core.clock",
    "SteppingClock": "core.clock",
    "DomainError": "core.errors",
    "route": "core.routing",
    "Call": "core.routing",
    "verify_store": "core.audit",
    "wire": "core.wiring",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'core' has no attribute {name!r}")
