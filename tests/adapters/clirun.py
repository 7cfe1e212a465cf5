"""Run the command line in-process with an injected clock, as the console script wires the wall clock."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from click.testing import CliRunner, Result

from adapters.cli import Wiring, cli
from core.clock import Clock, SteppingClock

# Every command-line test acts at fixed instants: the Monday after the sample week, unless a test says otherwise.
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def invoke(args: Sequence[str], *, clock: Clock | None = None, **kwargs: Any) -> Result:
    """``callroute ARGS`` with ``clock`` (default: fixed at ``NOW``) wired in place of the wall clock."""
    return CliRunner().invoke(cli, list(args), obj=Wiring(clock=clock or SteppingClock(NOW)), **kwargs)
