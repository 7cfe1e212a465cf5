"""Scenario files (TOML or JSON): a tenant, its agents, the calls that arrive, and what to check.

Validated by msgspec at the edge; an error names the field (``$.arrivals[1].rate_per_hour``).
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

import msgspec

from adapters.inputs import InputError, read_document
from core.aggregates.identifiers import ClockTime, Extension, Principal, whole
from core.commands import Command
from core.routing.caller import Presentation
from simulator.kpi_model import figure_names
from simulator.streams import Distribution, Exponential, Fixed, Never

TEN_YEARS = 10 * 365 * 86400.0
Seconds = Annotated[float, msgspec.Meta(ge=0, le=TEN_YEARS)]
Probability = Annotated[float, msgspec.Meta(ge=0, le=1)]


class StoreRef(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Simulate a tenant as it is in an existing store (its desired table at the start)."""

    db: str
    tenant: str


class TenantSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The configuration: shared commands (applied at the start), or a store to read it from."""

    slug: Annotated[str, msgspec.Meta(min_length=2, max_length=40)]
    commands: list[Command] = []
    commands_files: list[str] = []
    """Command files (JSON or TOML), relative to the scenario file, applied before ``commands``."""
    store: StoreRef | None = None


class Shift(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A daily shift on the tenant's wall clock, ``[start, end)``."""

    start: ClockTime
    end: ClockTime


class AgentSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A person at an extension and how they behave."""

    extension: Extension
    answer_delay: Distribution = Fixed(value=3)
    talk_time: Distribution = Exponential(mean=180)
    wrap_up: Distribution = Fixed(value=0)
    shifts: list[Shift] = []
    """Logged in only during these daily shifts (none: logged in all the time)."""


class AgentGroupSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Many agents with the same behaviour: extensions ``first`` … ``first + count - 1``."""

    first: Annotated[int, msgspec.Meta(ge=10)]
    count: Annotated[int, msgspec.Meta(ge=1, le=100_000)]
    answer_delay: Distribution = Fixed(value=3)
    talk_time: Distribution = Exponential(mean=180)
    wrap_up: Distribution = Fixed(value=0)


class OthersSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Endpoints that are not agents: users without a spec, external numbers, SIP accounts, other PBXs."""

    answer_probability: Probability = 0.0
    answer_delay: Distribution = Fixed(value=5)
    talk_time: Distribution = Exponential(mean=120)


class PresenceChange(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An agent logs in or out, or goes on a break, at a moment of the run."""

    at_seconds: Seconds
    extension: Extension
    state: Literal["available", "offline", "unreachable"]
    """``available``: logs in (or the phone is back); ``offline``: logs out; ``unreachable``: logged in, but the
    phone cannot be reached. A busy agent logs out or loses the phone once the call and its wrap-up are over."""


class ExplicitCall(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename={"caller": "from"}):
    """One call at a given moment."""

    at_seconds: Seconds
    to: Annotated[str, msgspec.Meta(min_length=2, max_length=32)]
    caller: str | None = None
    """``from`` in the file, read by ``core.routing.normalise_caller``: absent, null, empty, ``anonymous``,
    ``sip:anonymous@anonymous.invalid`` and the other withheld spellings mean an anonymous caller."""
    digits: str | None = None
    id: Annotated[str, msgspec.Meta(pattern=whole(r"[A-Za-z0-9_.:-]{1,40}"))] | None = None
    """A name for assertions (``call saturday ends at voicemail of 2004``); else its arrival number."""
    presentation: Presentation | None = None
    """The network's presentation indicator: ``restricted`` or ``unavailable`` make the caller anonymous."""
    talk_seconds: Seconds | None = None
    """How long the caller talks once answered (absent: drawn from the answerer's talk time)."""
    patience_seconds: Seconds | None = None
    """How long after arrival the caller hangs up unanswered (absent: drawn from the scenario's ``patience``)."""


class ReplayedCall(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename={"caller": "from"}):
    """A call of a recorded call history, at the instant it came (``simulator.replay`` reads the history files)."""

    at: Annotated[datetime, msgspec.Meta(tz=True)]
    to: Annotated[str, msgspec.Meta(min_length=2, max_length=32)]
    caller: str | None = None
    presentation: Presentation | None = None
    digits: str | None = None
    id: Annotated[str, msgspec.Meta(pattern=whole(r"[A-Za-z0-9_.:-]{1,40}"))] | None = None
    talk_seconds: Seconds | None = None
    patience_seconds: Seconds | None = None
    where: str = ""
    """Where the call is in its file (``monday.jsonl:17``), for errors."""


class ReplayArrivals(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="kind", tag="replay"):
    """The calls of a recorded call history, replayed instead of drawn: their instants, callers, dialled numbers and
    digits, and where the history knows them, talk times (answered calls) and patience (abandoned calls).

    ``file`` (relative to the scenario) is JSON Lines in the format of ``simulate --calls`` and
    ``audit explain-call --calls``, or the JSON array of ``callroute history --json``; it is read when the scenario
    is loaded, into ``calls``. Each call comes at its recorded instant moved by ``weeks`` whole weeks on the tenant's
    wall clock (absent: as many as bring the first call's day into the week that starts on the scenario's start day).
    """

    file: Annotated[str, msgspec.Meta(min_length=1)] | None = None
    weeks: Annotated[int, msgspec.Meta(ge=-5200, le=5200)] | None = None
    to: Annotated[str, msgspec.Meta(min_length=2, max_length=32)] | None = None
    """The number dialled by calls whose record does not say (absent: such a record is refused)."""
    calls: list[ReplayedCall] = []


class PoissonArrivals(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="kind", tag="poisson"):
    """Calls to ``to`` at a Poisson rate, shaped by an hourly and a weekly profile on the tenant's wall clock."""

    to: Annotated[str, msgspec.Meta(min_length=2, max_length=32)]
    rate_per_hour: Annotated[float, msgspec.Meta(gt=0, le=1e7)]
    hourly_profile: Annotated[list[Annotated[float, msgspec.Meta(ge=0)]], msgspec.Meta(min_length=24, max_length=24)] | None = None
    weekly_profile: Annotated[list[Annotated[float, msgspec.Meta(ge=0)]], msgspec.Meta(min_length=7, max_length=7)] | None = None
    anonymous_share: Probability = 0.0
    digits: dict[str, Probability] = {}
    """IVR input: the digits a caller presses (``""``: none) and their probabilities."""


class ExplicitArrivals(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="kind", tag="explicit"):
    """A list of calls."""

    calls: list[ExplicitCall]


Arrivals = PoissonArrivals | ExplicitArrivals | ReplayArrivals


class ConfigChange(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Commands applied at a moment of the run (live only once provisioning confirms them)."""

    at_seconds: Seconds
    commands: Annotated[list[Command], msgspec.Meta(min_length=1)]
    actor: Principal = "scenario"


class ProvisioningSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """How long the PBX takes to apply a change (0: at once)."""

    delay: Distribution = Fixed(value=0)


class Scenario(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A simulation: configuration, people, calls, and assertions on the outcome."""

    tenant: TenantSpec
    arrivals: Annotated[list[Arrivals], msgspec.Meta(min_length=1)]
    start: datetime = datetime.fromisoformat("2026-11-16T08:00:00+00:00")
    """The virtual wall-clock instant the run starts at (a Monday by default)."""
    duration_seconds: Annotated[float, msgspec.Meta(gt=0, le=TEN_YEARS)] | None = None
    max_calls: Annotated[int, msgspec.Meta(ge=1)] | None = None
    warm_up_seconds: Seconds = 0.0
    """Calls that arrive before this instant of the run are left out of every figure (agents' figures count from it):
    for steady-state studies, where the run's first hours, with every agent free, are not the state being measured."""
    seed: int = 0
    agents: list[AgentSpec] = []
    agent_groups: list[AgentGroupSpec] = []
    others: OthersSpec = OthersSpec()
    patience: Distribution = Never()
    presence: list[PresenceChange] = []
    changes: list[ConfigChange] = []
    provisioning: ProvisioningSpec = ProvisioningSpec()
    service_level_seconds: list[Annotated[float, msgspec.Meta(gt=0)]] = msgspec.field(default_factory=lambda: [20.0])
    assertions: list[Annotated[str, msgspec.Meta(min_length=3, max_length=200)]] = []
    max_hops: Annotated[int, msgspec.Meta(ge=1, le=50)] = 8


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message names the field."""


CALL_ASSERTION = re.compile(r"call (\S+) (ends at|is answered by|ends) (.+)")
"""``call ID ends at voicemail of EXT``, ``call ID is answered by EXT``, ``call ID ends busy``."""
FIGURE_ASSERTION = re.compile(r"([a-z_0-9]+)\s*(>=|<=|==|!=|>|<)\s*(-?[0-9]+(?:\.[0-9]+)?)")
"""``figure op number``, e.g. ``service_level_20s >= 0.8``."""
NOT_UNDERSTOOD = "not understood: use 'figure >= number' or 'call N ends at voicemail of EXT'"


def assertion_problem(scenario: Scenario) -> str | None:
    """The first assertion that could never hold as written (unknown figure, unknown form), as an error naming it.

    Checked when the file is read so that a typo costs no run: after the run, it would only
    show as one more failed assertion (and not at all to a caller that ignores assertions).
    """
    known = figure_names(scenario.service_level_seconds)
    for index, assertion in enumerate(scenario.assertions):
        text = assertion.strip()
        where = f"`$.assertions[{index}]`"
        if m := FIGURE_ASSERTION.fullmatch(text):
            if m.group(1) not in known:
                return (f"unknown figure {m.group(1)!r} in assertion {text!r}; known figures: {', '.join(sorted(known))}"
                        f" - at {where}")
        elif not CALL_ASSERTION.fullmatch(text):
            return f"assertion {text!r} {NOT_UNDERSTOOD} - at {where}"
    return None


def load_scenario(path: Path) -> Scenario:
    """Read and validate a scenario (TOML by suffix, else JSON)."""
    try:
        scenario = read_document(path, Scenario)
    except InputError as exc:  # size, UTF-8, nesting, a key given twice, the schema: one line naming the file
        raise ScenarioError(str(exc)) from None
    if needs_limit(scenario):
        raise ScenarioError(f"{path}: Poisson arrivals never end: give duration_seconds or max_calls - at `$`")
    if scenario.start.tzinfo is None:
        raise ScenarioError(f"{path}: the start instant needs an offset - at `$.start`")
    if (problem := assertion_problem(scenario)) is not None:
        raise ScenarioError(f"{path}: {problem}")
    if any(isinstance(a, ReplayArrivals) and a.file is not None for a in scenario.arrivals):
        from simulator.replay import read_replays

        scenario = read_replays(scenario, path.parent)
    return scenario


def needs_limit(scenario: Scenario) -> bool:
    """Whether the scenario would run for ever: Poisson arrivals and neither a duration nor a number of calls."""
    unbounded = scenario.duration_seconds is None and scenario.max_calls is None
    return unbounded and any(isinstance(a, PoissonArrivals) for a in scenario.arrivals)
