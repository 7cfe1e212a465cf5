"""Patterns at the edge match the whole value: ``$`` also matches before a final newline, ``fullmatch`` does not.

(``--digits`` is in test_cli_routing.py.)
"""

from __future__ import annotations

from datetime import UTC

from adapters.words import value_text


def test_a_history_value_is_read_as_an_instant_only_when_all_of_it_is_one() -> None:
    assert value_text("2026-11-20T17:59:59Z", UTC) == value_text("2026-11-20T17:59:59+00:00", UTC) != "2026-11-20T17:59:59Z"
    # A text that is an instant and a newline (stored under older, looser rules) is shown as it is, not cut or crashed on.
    assert value_text("2026-11-20T17:59:59Z\n", UTC) == "2026-11-20T17:59:59Z\n"
