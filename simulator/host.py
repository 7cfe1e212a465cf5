"""trio hosts a run past its first batch: one task runs the engine in batches, with a checkpoint between them.

Imported only by a run of more than one batch (``run.run_scenario`` runs the first before starting trio: nothing of
trio runs during a batch), so a short scenario does not import trio (~60 ms).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import trio

if TYPE_CHECKING:
    from simulator.run import Engine
    from simulator.switch import Switch


class VirtualClock(trio.abc.Clock):
    """trio's clock in a run: the virtual time, moved on by the driver (``trio.testing.MockClock`` without
    ``trio.testing``, whose import pulls in pytest). Nothing in a run sleeps: a deadline not yet reached is far away."""

    def __init__(self) -> None:
        self.now = 0.0

    def start_clock(self) -> None:
        pass

    def current_time(self) -> float:
        return self.now

    def deadline_to_sleep_time(self, deadline: float) -> float:
        return 0.0 if deadline <= self.now else 999_999_999.0


def host(switch: Switch, engine: Engine, progress: Callable[[Switch], None] | None, budget: int) -> None:
    """Run the batches after the first in one ``trio.run``, each of ``budget`` events, after a checkpoint."""
    clock = VirtualClock()
    trio.run(_drive, switch, engine, clock, progress, budget, clock=clock)


async def _drive(switch: Switch, engine: Engine, clock: VirtualClock, progress: Callable[[Switch], None] | None,
                 budget: int) -> None:
    while True:
        clock.now = max(clock.now, engine.now)
        if progress is not None:
            progress(switch)
        await trio.lowlevel.checkpoint()
        if not engine.run(budget):
            break
    clock.now = max(clock.now, switch.calendar.now)
