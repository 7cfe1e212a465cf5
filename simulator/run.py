"""Running a scenario: trio hosts the switch in virtual time; results, trace and assertions.

The switch's calendar is the only scheduler: one trio task runs it in batches of
``CHECKPOINT_EVENTS`` events, and between batches jumps ``trio.testing.MockClock`` to the
calendar's instant (so ``trio.current_time()`` is the virtual time whenever trio code can
look), calls the progress callback and checkpoints (where a cancellation or Ctrl-C lands).
Calls and agents are not trio tasks: trio wakes tasks due at the same instant in a
shuffled order, and a task switch costs more than a whole event of the switch.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import IO

import msgspec
import trio
import trio.testing

from simulator.config import LiveConfig
from simulator.kpis import Kpis
from simulator.scenario import CALL_ASSERTION, FIGURE_ASSERTION, NOT_UNDERSTOOD, Scenario, ScenarioError, needs_limit
from simulator.switch import Switch
from simulator.trace import TraceWriter

__all__ = ["CHECKPOINT_EVENTS", "AssertionResult", "RunResult", "TraceWriter", "check", "run_scenario", "watched_calls"]

CHECKPOINT_EVENTS = 4096


class AssertionResult(msgspec.Struct, frozen=True):
    """One scenario assertion and whether it held."""

    assertion: str
    passed: bool
    detail: str
    figure: str = ""
    """What it is about: the figure's name or ``call ID`` ("" when not understood)."""
    expected: str = ""
    """What it asks for: ``>= 0.8``, ``voicemail of 2004``."""
    actual: str = ""
    """What the run gave: ``0.75``, ``answered by 2002`` ("" for an unknown figure)."""


class RunResult(msgspec.Struct, frozen=True, omit_defaults=True):
    """The figures of a run, its assertions, the hash of its trace (when one was written), and its commands' warnings."""

    seed: int
    kpis: Kpis
    assertions: tuple[AssertionResult, ...]
    trace_sha256: str | None
    warnings: tuple[str, ...] = ()
    """What the scenario's commands were stored with a warning about (``$.tenant.commands: scheme sales: …``);
    left out of the JSON when there is none, so a run without warnings encodes as before."""

    @property
    def passed(self) -> bool:
        """Whether every assertion held."""
        return all(a.passed for a in self.assertions)


def watched_calls(assertions: list[str]) -> frozenset[str]:
    """Calls whose outcome an assertion names (``call 17 ends at voicemail of 2002``, ``call saturday …``)."""
    return frozenset(m.group(1) for a in assertions if (m := CALL_ASSERTION.match(a.strip())))


def check(assertion: str, kpis: Kpis, outcomes: dict[str, tuple[str, str | None]]) -> AssertionResult:
    """Evaluate one assertion: ``figure op number`` or a call's outcome."""
    text = assertion.strip()
    if m := FIGURE_ASSERTION.match(text):
        name, op, value = m.group(1), m.group(2), float(m.group(3))
        wanted = f"{op} {m.group(3)}"
        figures = kpis.flat()
        if name not in figures:
            # Only a scenario built in code gets here: load_scenario refuses unknown figures.
            return AssertionResult(assertion, False, f"unknown figure {name!r}; known: {', '.join(sorted(figures))}", name, wanted)
        actual = figures[name]
        ok = {">=": actual >= value, "<=": actual <= value, "==": actual == value, "!=": actual != value,
              ">": actual > value, "<": actual < value}[op]
        return AssertionResult(assertion, ok, f"{name} = {actual:g}", name, wanted, f"{actual:g}")
    if m := CALL_ASSERTION.match(text):
        call_id, verb, expected = m.group(1), m.group(2), m.group(3).strip()
        outcome, endpoint = outcomes.get(call_id, ("never arrived", None))
        described = _describe_outcome(outcome, endpoint)
        if verb == "is answered by":
            expected = f"answered by {expected}"
        elif verb == "ends at":
            expected = expected if expected.startswith(("voicemail", "answered")) else f"answered by {expected}"
        ok = described == expected
        return AssertionResult(assertion, ok, f"call {call_id}: {described}", f"call {call_id}", expected, described)
    return AssertionResult(assertion, False, NOT_UNDERSTOOD)


def _describe_outcome(outcome: str, endpoint: str | None) -> str:
    if outcome == "voicemail":
        return f"voicemail of {endpoint}"
    if outcome == "answered":
        return f"answered by {endpoint}"
    return outcome.replace("_", " in ") if outcome.startswith("abandoned_") else outcome


def _catch_up(clock: trio.testing.MockClock, now: float) -> None:
    ahead = now - trio.current_time()
    if ahead > 0:  # float sums of jumps may land a hair past ``now``; MockClock refuses to go back
        clock.jump(ahead)


async def _drive(switch: Switch, clock: trio.testing.MockClock, progress: Callable[[Switch], None] | None) -> None:
    calendar = switch.calendar
    while calendar.run(CHECKPOINT_EVENTS):
        _catch_up(clock, calendar.now)
        if progress is not None:
            progress(switch)
        await trio.lowlevel.checkpoint()
    _catch_up(clock, calendar.now)


def run_scenario(scenario: Scenario, *, base: Path = Path("."), seed: int | None = None, trace: IO[bytes] | None = None,
                 progress: Callable[[Switch], None] | None = None, calls_out: IO[bytes] | None = None) -> RunResult:
    """Run ``scenario`` (with ``seed`` instead of its own, if given); stream its trace to ``trace``.

    ``calls_out`` receives one JSON line per finished call in the recorded-call format of
    ``callroute audit explain-call --calls``, so a simulated day can be checked like a real one.
    """
    if seed is not None:
        scenario = msgspec.structs.replace(scenario, seed=seed)
    if needs_limit(scenario):
        raise ScenarioError("Poisson arrivals never end: give duration_seconds or max_calls - at `$`")
    config = LiveConfig(scenario, base)
    writer = TraceWriter(trace) if trace is not None else None
    calls_writer = TraceWriter(calls_out) if calls_out is not None else None
    switch = Switch(scenario, config, writer, watched_calls(scenario.assertions), calls_writer)
    switch.schedule_arrivals()
    clock = trio.testing.MockClock()
    trio.run(_drive, switch, clock, progress, clock=clock)
    for stream_writer in (writer, calls_writer):
        if stream_writer is not None:
            stream_writer.flush()
    kpis = switch.result()
    results = tuple(check(a, kpis, switch.outcomes) for a in scenario.assertions)
    return RunResult(seed=scenario.seed, kpis=kpis, assertions=results, trace_sha256=writer.digest.hexdigest() if writer else None,
                     warnings=tuple(config.warnings))
