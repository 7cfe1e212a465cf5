"""Instants in UTC with a ``Z`` in what the command line's ``--json`` and the HTTP API answer, one walk for both.

A stored event keeps the offset it was saved with; only what is shown is normalised.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any


def each_leaf(value: Any, leaf: Callable[[Any], Any]) -> Any:
    """``value`` (plain JSON-like: dicts, lists and tuples of leaves) with ``leaf`` applied to every leaf."""
    if isinstance(value, dict):
        return {key: each_leaf(item, leaf) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [each_leaf(item, leaf) for item in value]
    return leaf(value)


def instant_in_utc(value: Any) -> Any:
    """An aware instant moved to UTC (msgspec writes UTC's offset as ``Z``); anything else as it is."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC)
    return value


def instant_text_in_utc(value: Any) -> Any:
    """An instant as RFC 3339 text in UTC with a ``Z``; anything else as it is."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return value


def written_instant_in_utc(value: Any) -> Any:
    """Text that ``isoformat`` wrote of an aware instant, in UTC with a ``Z``; any other value as it is."""
    if not isinstance(value, str):
        return value
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        return value
    if instant.tzinfo is None or instant.isoformat() != value:
        return value
    return instant_text_in_utc(instant)
