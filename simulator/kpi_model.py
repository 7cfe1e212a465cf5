"""The figures a run comes to (``Kpis``, the output model) and their names; ``kpis.Collector`` gathers them."""

from __future__ import annotations

import msgspec

from simulator.queue_figures import QueueFigures


class Breakdown(msgspec.Struct):
    """Calls of one number, group or queue, each offered call counted in exactly one outcome.

    For a group or a queue: answered there (by a member or agent), abandoned there, or sent on
    unanswered (a group's fallback, a queue's destination after the maximum wait or when it
    empties) to a voicemail box (``voicemail``), to an ending (``other``: busy, message,
    unavailable, missed), or to something that rings, queues or plays a menu (``passed_on``:
    what follows is counted there). A call offered twice (a loop) counts twice.
    """

    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    voicemail: int = 0
    other: int = 0
    passed_on: int = 0


ANSWERED_BY: dict[str, str] = {
    "agent": "agents here (extensions the scenario gives an agent spec)",
    "user": "users here without an agent spec",
    "other_pbx": "members on other PBXs",
    "external": "outside numbers",
    "sip": "SIP addresses",
    "voicemail": "voicemail",
}
"""Who took a call (``Kpis.answered_by``'s keys, always all of them, in this order) and how the output names them."""

ENDPOINT_BY: dict[str, str] = {"user": "user", "remote": "other_pbx", "external": "external", "external_sip": "sip"}
"""``answered_by``'s key for an answering leg's endpoint kind (``core.routing.plan.EndpointKind``) when it is no agent."""


def answered_by_key(kind: str, agent: bool) -> str:
    """``answered_by``'s key for an endpoint of ``kind`` that answered: an agent here, or by its kind."""
    return "agent" if agent else ENDPOINT_BY[kind]


class AgentFigures(msgspec.Struct, frozen=True):
    """One agent's figures."""

    answered: int
    busy_seconds: float
    logged_in_seconds: float
    occupancy: float


class Kpis(msgspec.Struct, frozen=True):
    """Everything a run measured, over the calls that arrived after the scenario's warm-up.

    Every rate is a share of ``offered`` calls, and every offered call counts in exactly one outcome:
    answered, abandoned (ringing, IVR, queue), voicemail, busy, message, unavailable or missed.
    """

    offered: int
    answered: int
    abandoned: int
    abandoned_ringing: int
    abandoned_ivr: int
    abandoned_queue: int
    voicemail: int
    rejected: int
    busy: int
    message: int
    unavailable: int
    missed: int
    waited: int
    """Calls that found no free agent when they reached their first queue (an agent ringing for another call, talking or
    wrapping up is not free), however they ended."""
    overflowed: int
    """Calls that waited in a queue and left it unanswered for its next destination: after the maximum wait, or
    when it emptied (each also counts in how it ended)."""
    asa_seconds: float
    """ASA (answered calls): mean time from arrival to answer, over answered calls only."""
    mean_wait_seconds: float
    """Mean wait, all calls: mean of every offered call's wait (see ``wait_histogram``), abandoned calls included; what
    Erlang A tables call ASA."""
    wait_p50: float
    wait_p90: float
    wait_p95: float
    wait_p99: float
    wait_max: float
    probability_of_waiting: float
    """P(wait): ``waited`` / ``offered``, the share of calls that found no free agent on arrival."""
    abandon_rate: float
    """Abandoned / offered."""
    service_level: dict[str, float]
    """``"20s"`` → calls answered within 20 s of arrival / offered."""
    answered_by: dict[str, int]
    """Who took the offered calls, each ``ANSWERED_BY`` key: ``agent`` (an extension here with an agent spec),
    ``user`` (an extension here without one), ``other_pbx`` (a member on another PBX), ``external`` (an outside number),
    ``sip`` (a SIP address), ``voicemail`` (a voicemail box). The answered ones add up to ``answered``; ``voicemail``
    is ``voicemail``."""
    agents: dict[str, AgentFigures]
    numbers: dict[str, Breakdown]
    queues: dict[str, Breakdown]
    queue_figures: dict[str, QueueFigures]
    """Each queue's waits (the keys of ``queues``), measured from when a call joined it."""
    groups: dict[str, Breakdown]
    hourly_arrivals: list[int]
    hourly_answered: list[int]
    hourly_abandoned: list[int]
    hourly_mean_wait: list[float | None]
    """Mean wait of the calls that arrived in each hour; ``None`` (``null`` in JSON) for an hour in which no call's
    wait was measured: none arrived (or all arrived in the warm-up), or all were still under way when the run ended."""
    wait_histogram: list[tuple[float, int]]
    """Non-empty buckets: (start of bucket in seconds, calls). A call's wait runs from its arrival until it is
    answered, abandons, or ends without a person (voicemail, busy tone, message, unavailable, missed), whichever comes
    first: every offered call has one, so the buckets add up to ``offered``."""
    simulated_seconds: float
    events: int
    """Events the calendar ran: arrivals, answers, hang-ups, ends of wrap-ups, the timers that fired (a caller's patience
    or a queue's maximum wait is scheduled only when it can matter); the fast path counts the same events."""

    def flat(self) -> dict[str, float]:
        """Every scalar figure by name (``service_level_20s``, ``calls_to_voicemail`` …) for assertions.

        Its keys are ``figure_names`` of the run's service-level thresholds, which a scenario's
        assertions are checked against before the run.
        """
        out: dict[str, float] = {name: float(getattr(self, name)) for name in SCALAR_FIGURES}
        for key, value in self.service_level.items():
            out[f"service_level_{key}"] = value
        for alias, name in ALIASES.items():
            out[alias] = out[name]
        out["occupancy"] = (sum(a.busy_seconds for a in self.agents.values())
                            / max(1e-9, sum(a.logged_in_seconds for a in self.agents.values())))
        return out


SCALAR_FIGURES: tuple[str, ...] = tuple(f.name for f in msgspec.structs.fields(Kpis) if f.type in (int, float))
"""The figures of ``Kpis`` that are one number (not the breakdowns, series or histograms)."""
ALIASES: dict[str, str] = {**{f"calls_{name}": name for name in ("voicemail", "answered", "abandoned", "rejected", "busy",
                                                                  "missed", "offered")},
                           "calls_to_voicemail": "voicemail"}
"""Other names assertions may use for a figure."""


def service_level_key(threshold: float) -> str:
    """The key of a service-level threshold in ``Kpis.service_level``: ``20.0`` → ``"20s"``."""
    return f"{threshold:g}s"


def figure_names(service_level_seconds: list[float]) -> frozenset[str]:
    """The names ``Kpis.flat`` will have for a run with these service-level thresholds, known before the run."""
    levels = (f"service_level_{service_level_key(t)}" for t in service_level_seconds)
    return frozenset((*SCALAR_FIGURES, *levels, *ALIASES, "occupancy"))
