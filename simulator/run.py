"""Running a scenario: trio hosts the switch in virtual time; results, trace and assertions.

The switch's calendar is the only scheduler: one trio task (``host.py``) runs it in batches of
``CHECKPOINT_EVENTS`` events, and between batches moves trio's clock (``host.VirtualClock``) to the
calendar's instant (so ``trio.current_time()`` is the virtual time whenever trio code can
look), calls the progress callback and checkpoints (where a cancellation or Ctrl-C lands).
The first batch runs before trio starts: nothing of trio runs during a batch, so a run that
ends within one (a short scenario) is the same without it, and does not import trio (~60 ms).
The fast path (``fastpath.py``), when a scenario allows it, is driven the same way, in
batches of as many calls.
Calls and agents are not trio tasks: trio wakes tasks due at the same instant in a
shuffled order, and a task switch costs more than a whole event of the switch.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import IO, Literal, Protocol

import msgspec

from core.aggregates.context import Actor
from simulator.config import LiveConfig
from simulator.kpi_model import Kpis
from simulator.scenario import CALL_ASSERTION, FIGURE_ASSERTION, NOT_UNDERSTOOD, Scenario, ScenarioError, needs_limit
from simulator.switch import Switch
from simulator.trace import TraceWriter

__all__ = ["CHECKPOINT_EVENTS", "AssertionResult", "EngineChoice", "RunResult", "TraceWriter", "check", "run_scenario",
           "watched_calls"]

CHECKPOINT_EVENTS = 4096
EngineChoice = Literal["auto", "general", "fast"]


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
    engine: Literal["general", "fast"]
    """Which engine ran: the calendar, or the FIFO recursion of ``fastpath.py`` (the same figures, faster)."""
    warnings: tuple[str, ...] = ()
    """What the scenario's commands were stored with a warning about (``$.tenant.commands: scheme sales: …``);
    left out of the JSON when there is none, so a run without warnings encodes as before."""

    @property
    def passed(self) -> bool:
        """Whether every assertion held."""
        return all(a.passed for a in self.assertions)


def watched_calls(assertions: list[str]) -> frozenset[str]:
    """Calls whose outcome an assertion names (``call 17 ends at voicemail of 2002``, ``call saturday …``)."""
    return frozenset(m.group(1) for a in assertions if (m := CALL_ASSERTION.fullmatch(a.strip())))


def check(assertion: str, kpis: Kpis, outcomes: dict[str, tuple[str, str | None]]) -> AssertionResult:
    """Evaluate one assertion: ``figure op number`` or a call's outcome."""
    text = assertion.strip()
    if m := FIGURE_ASSERTION.fullmatch(text):
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
    if m := CALL_ASSERTION.fullmatch(text):
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


class Engine(Protocol):
    """What the driver runs in batches: the calendar (the general engine) or the fast path."""

    now: float

    def run(self, budget: int) -> bool: ...


def run_scenario(scenario: Scenario, *, base: Path = Path("."), seed: int | None = None, trace: IO[bytes] | None = None,
                 progress: Callable[[Switch], None] | None = None, calls_out: IO[bytes] | None = None,
                 reader: Actor | None = None, engine: EngineChoice = "auto") -> RunResult:
    """Run ``scenario`` (with ``seed`` instead of its own, if given); stream its trace to ``trace``.

    ``engine``: ``auto`` takes the fast path (``fastpath.py``) when the scenario allows it, else the general engine;
    ``general`` always the calendar; ``fast`` the fast path or a ``ScenarioError`` saying why not. Both give the same
    figures and recorded calls; ``RunResult.engine`` says which ran.

    ``reader`` is who runs it: a scenario that reads its tenant from a store (``$.tenant.store``) needs one that may
    read that tenant (else ``TenantNotVisibleError``, as for every read; ``ScenarioError`` without a reader).

    ``calls_out`` receives one JSON line per finished call in the recorded-call format of
    ``callroute audit explain-call --calls``, so a simulated day can be checked like a real one.
    """
    if seed is not None:
        scenario = msgspec.structs.replace(scenario, seed=seed)
    if needs_limit(scenario):
        raise ScenarioError("Poisson arrivals never end: give duration_seconds or max_calls - at `$`")
    config = LiveConfig(scenario, base, reader=reader)
    writer = TraceWriter(trace) if trace is not None else None
    calls_writer = TraceWriter(calls_out) if calls_out is not None else None
    switch = Switch(scenario, config, writer, watched_calls(scenario.assertions), calls_writer)
    switch.schedule_arrivals()
    ran: Engine = switch.calendar
    if engine != "general":
        from simulator.fastpath_eligibility import prepare

        fast = prepare(switch)
        if not isinstance(fast, str):
            ran = fast
        elif engine == "fast":
            raise ScenarioError(f"the fast path cannot run this scenario: {fast} - at `$`")
    if ran.run(CHECKPOINT_EVENTS):  # more than one batch: trio hosts the rest, with a checkpoint between batches
        from simulator.host import host

        host(switch, ran, progress, CHECKPOINT_EVENTS)
    for stream_writer in (writer, calls_writer):
        if stream_writer is not None:
            stream_writer.flush()
    kpis = switch.result()
    results = tuple(check(a, kpis, switch.outcomes) for a in scenario.assertions)
    return RunResult(seed=scenario.seed, kpis=kpis, assertions=results, trace_sha256=writer.digest.hexdigest() if writer else None,
                     engine="general" if ran is switch.calendar else "fast", warnings=tuple(config.warnings))
