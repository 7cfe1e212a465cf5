"""The edge: the command line, the SQLite store's wiring and writer, logging, the demo, renderers.

Public face (loaded on first use, so the command line's start stays light): ``build_app``
(an application on an SQLite file, with the wall clock and Argon2), ``main`` (the
console script).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_PUBLIC = {"build_app": "adapters.bootstrap", "build_projection": "adapters.bootstrap", "main": "adapters.cli"}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'adapters' has no attribute {name!r}")
