"""The simulator against queueing theory: M/M/c (Erlang C) and M/M/c+M (Erlang A).

The scenario is ``examples/mmc.toml``'s call centre built inline: one number routed to a
``longest_idle`` queue, Poisson arrivals, exponential talk time (mean 180 s), answer delay
0, wrap-up 0, maximum wait 7200 s (never reached at these loads), and caller patience
``never`` (M/M/c) or exponential with mean 120 s (M/M/c+M).

How the figures are estimated
-----------------------------
*Warm-up.* A run starts with every agent free, so its first hours see less waiting than
the steady state the formulas describe. Two runs with the same seed, one of ``warm_up``
seconds and one of ``warm_up + length`` seconds, are identical for every call that
arrives during the warm-up (each purpose has its own random stream, queues are served
first come first served, and a later arrival never overtakes an earlier one);
``test_a_shorter_run_is_a_prefix_of_a_longer_one`` checks this call by call. The
difference of their counters (answered, abandoned, waited, answered within 20 s, sum of
answer waits = ASA x answered) is therefore exactly the figures of the calls that arrived
in ``[warm_up, warm_up + length)``, with the warm-up discarded. The warm-up is at least
2.5 relaxation times ``1 / (mu (sqrt(c) - sqrt(a))^2)`` (Whitt's heavy-traffic
approximation; abandonment only shortens it): 0.6 h for 3 agents at 2.1 Erlang, 0.9 h at
2.25 Erlang, 0.4 h for 50 agents at 45 Erlang. The bias left is below e^-2.5 x relaxation
time / length, under 0.3 % of each figure - negligible next to the tolerances below.

*Tolerance.* Waits in a queue are strongly autocorrelated, so the calls of one run are
far from independent: the binomial standard error of P(wait) would be too small by a
factor of 1.6 (3 agents with abandonment) to 13 (50 agents at rho 0.9 without). Each test
makes R = 8 independent replications (seeds 1..8; streams are seeded by SHA-256 of the
seed and the purpose, so replications share no draws) and treats them as batch means: the
estimate is their mean and its standard error is ``s / sqrt(R)``. Each figure must be
within 4 standard errors of the formula (two-sided, Student t with 7 degrees of freedom:
a correct simulator passes with probability 0.995; the seeds are fixed, so the outcome is
deterministic). So that a noisy simulator cannot widen its own tolerance, the standard
error must also be at most twice the one calibrated once on 30 other seeds (1000-1029)
at the same run length (``calibrated_sd / sqrt(R)``; chi-square with 7 degrees of
freedom exceeds 4x its mean with probability 2e-4).
"""

from __future__ import annotations

import io
import math
import statistics
from dataclasses import dataclass, field

import msgspec
import pytest

from simulator.kpis import Kpis
from simulator.run import run_scenario
from simulator.scenario import Scenario
from tests.simulator.builders import (
    NEVER,
    NUMBER,
    add_user,
    create_tenant,
    exponential,
    fixed,
    route_number,
    save_queue,
    scenario,
)

TALK_SECONDS = 180.0
PATIENCE_SECONDS = 120.0
SERVICE_LEVEL_SECONDS = 20.0
REPLICATIONS = 8
SEEDS = range(1, REPLICATIONS + 1)
HOUR = 3600.0

# -- reference formulas -------------------------------------------------------------------------


def erlang_c(c: int, a: float) -> float:
    """Probability of waiting in M/M/c with offered load ``a`` Erlang (closed form, terms built iteratively)."""
    assert a < c, "the queue must be stable"
    term, below = 1.0, 0.0  # term = a^k / k!
    for k in range(c):
        below += term
        term *= a / (k + 1)
    top = term * c / (c - a)
    return top / (below + top)


@dataclass(frozen=True)
class ErlangC:
    p_wait: float
    asa: float
    """Mean wait of all calls (every call is answered): C / (c mu - lambda)."""
    service_level: float
    """P(wait <= t) = 1 - C exp(-(c mu - lambda) t)."""


def mmc(c: int, lam: float, mu: float, t: float) -> ErlangC:
    p = erlang_c(c, lam / mu)
    return ErlangC(p_wait=p, asa=p / (c * mu - lam), service_level=1 - p * math.exp(-(c * mu - lam) * t))


@dataclass(frozen=True)
class ErlangA:
    p_wait: float
    """P(an arrival finds every agent busy) = sum over n >= c of pi_n (PASTA)."""
    p_abandon: float
    """theta E[Lq] / lambda (abandonments per unit time over arrivals per unit time)."""
    p_abandon_by_paths: float
    """The same, as 1 - P(served) from the tagged-call recursion (a consistency check)."""
    asa: float
    """Mean wait of answered calls, E[W | served] (the simulator's ``asa_seconds``)."""
    mean_wait_all: float
    """E[Lq] / lambda: mean time in queue of all calls (Little)."""
    mean_wait_all_by_paths: float
    """The same from the recursion: E[W 1{served}] + E[W 1{abandoned}] (a consistency check)."""


def erlang_a(c: int, lam: float, mu: float, theta: float, tail: float = 1e-17) -> ErlangA:
    """M/M/c+M by its birth-death chain, truncated where the stationary weights fall below ``tail``.

    Number in system n: birth rate lambda, death rate min(n, c) mu + max(n - c, 0) theta.

    Mean wait of served calls: a tagged arrival that finds every agent busy and j calls
    waiting ahead of it (FCFS) leaves state j at rate r_j = c mu + j theta + theta: to j - 1
    (or to an agent when j = 0) at rate c mu + j theta, or abandons at rate theta. With
    S_j = P(served | j) and T_j = E[W 1{served} | j], U_j = E[W 1{abandoned} | j] (the time
    in state j is exponential and independent of which event ends it):

        S_j = q_j S_{j-1},                 S_{-1} = 1,   q_j = (c mu + j theta) / r_j
        T_j = S_j / r_j + q_j T_{j-1},      T_{-1} = 0
        U_j = (1 - S_j) / r_j + q_j U_{j-1}, U_{-1} = 0

    and E[W | served] = sum_j pi_{c+j} T_j / (P(n < c) + sum_j pi_{c+j} S_j).
    """
    weights = [1.0]
    n = 0
    while True:
        n += 1
        weights.append(weights[-1] * lam / (min(n, c) * mu + max(n - c, 0) * theta))
        if n > c and weights[-1] < tail * max(weights):
            break
    total = sum(weights)
    pi = [w / total for w in weights]
    p_wait = sum(pi[c:])
    lq = sum((k - c) * pi[k] for k in range(c, len(pi)))
    served, served_wait, abandoned_wait = sum(pi[:c]), 0.0, 0.0
    s_prev, t_prev, u_prev = 1.0, 0.0, 0.0
    for j in range(len(pi) - c):
        r = c * mu + j * theta + theta
        q = (c * mu + j * theta) / r
        s = q * s_prev
        t = s / r + q * t_prev
        u = (1 - s) / r + q * u_prev
        served += pi[c + j] * s
        served_wait += pi[c + j] * t
        abandoned_wait += pi[c + j] * u
        s_prev, t_prev, u_prev = s, t, u
    return ErlangA(p_wait=p_wait, p_abandon=theta * lq / lam, p_abandon_by_paths=1 - served, asa=served_wait / served,
                   mean_wait_all=lq / lam, mean_wait_all_by_paths=served_wait + abandoned_wait)


# -- the reference formulas themselves ------------------------------------------------------------


def test_erlang_c_matches_textbook_values() -> None:
    assert erlang_c(1, 0.7) == pytest.approx(0.7)  # M/M/1: P(wait) = rho
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)  # M/M/2: 2 rho^2 / (1 + rho) at rho = 0.5
    # through Erlang B: C = B / (1 - rho (1 - B)), B by its recursion
    for c, a in ((3, 2.1), (50, 45.0), (52, 45.0)):
        b = 1.0
        for k in range(1, c + 1):
            b = a * b / (k + a * b)
        assert erlang_c(c, a) == pytest.approx(b / (1 - a / c * (1 - b)), rel=1e-12)
    figures = mmc(3, 2.1 / TALK_SECONDS, 1 / TALK_SECONDS, 20)
    assert figures.p_wait == pytest.approx(0.492344, abs=1e-6)
    assert figures.asa == pytest.approx(98.4689, abs=1e-4)


def test_erlang_a_is_consistent_and_tends_to_erlang_c_without_abandonment() -> None:
    mu = 1 / TALK_SECONDS
    for c, a in ((3, 2.25), (50, 45.0)):
        model = erlang_a(c, a * mu, mu, 1 / PATIENCE_SECONDS)
        assert model.p_abandon == pytest.approx(model.p_abandon_by_paths, rel=1e-9)
        assert model.mean_wait_all == pytest.approx(model.mean_wait_all_by_paths, rel=1e-9)
        assert 0 < model.p_abandon < model.p_wait < 1
        assert model.asa < model.mean_wait_all  # patient callers wait longer, and abandoners leave late
        patient = erlang_a(c, a * mu, mu, 1e-9)
        exact = mmc(c, a * mu, mu, 20)
        assert patient.p_wait == pytest.approx(exact.p_wait, rel=1e-4)
        assert patient.asa == pytest.approx(exact.asa, rel=1e-3)
        assert patient.p_abandon < 1e-5
    assert erlang_a(3, 2.25 / TALK_SECONDS, mu, 1 / PATIENCE_SECONDS).p_abandon == pytest.approx(0.155232, abs=1e-6)


# -- the simulated call centre ------------------------------------------------------------------------


def call_centre(agents: int, erlangs: float, patience: dict) -> Scenario:
    """``agents`` agents (5000…) behind one queue, ``erlangs`` of Poisson traffic (duration set per run)."""
    extensions = [str(5000 + i) for i in range(agents)]
    commands = [create_tenant(), *(add_user(e) for e in extensions),
                save_queue("support", extensions, strategy="longest_idle", agent_ring_seconds=30, wrap_up_seconds=0,
                           max_wait_seconds=7200),
                route_number(NUMBER, {"kind": "queue", "queue": "support"})]
    return scenario(
        commands,
        [{"kind": "poisson", "to": NUMBER, "rate_per_hour": erlangs / TALK_SECONDS * HOUR}],
        duration_seconds=HOUR,
        patience=patience,
        service_level_seconds=[SERVICE_LEVEL_SECONDS],
        agent_groups=[{"first": 5000, "count": agents, "answer_delay": fixed(0), "talk_time": exponential(TALK_SECONDS),
                       "wrap_up": fixed(0)}],
    )


@dataclass(frozen=True)
class Counters:
    offered: int
    answered: int
    abandoned: int
    waited: int
    within: int
    wait_sum: float
    """Waits of answered calls (ASA x answered)."""
    all_wait_sum: float
    """Waits of all calls, abandoned ones up to when they hung up (mean wait, all calls x offered)."""

    @classmethod
    def of(cls, k: Kpis) -> Counters:
        handled = k.answered + k.abandoned
        assert k.missed == k.voicemail == 0 and handled == k.offered, "every call is answered or abandons in the queue"
        return cls(offered=k.offered, answered=k.answered, abandoned=k.abandoned, waited=k.waited,
                   within=round(k.service_level[f"{SERVICE_LEVEL_SECONDS:g}s"] * k.offered), wait_sum=k.asa_seconds * k.answered,
                   all_wait_sum=k.mean_wait_seconds * k.offered)

    def __sub__(self, other: Counters) -> Counters:
        return Counters(*(getattr(self, f) - getattr(other, f) for f in self.__dataclass_fields__))


@dataclass(frozen=True)
class Window:
    """The figures of the calls that arrived after the warm-up, in one replication."""

    calls: int
    p_wait: float
    asa: float
    service_level: float
    p_abandon: float
    mean_wait_all: float

    @classmethod
    def of(cls, d: Counters) -> Window:
        handled = d.answered + d.abandoned
        return cls(calls=handled, p_wait=d.waited / handled, asa=d.wait_sum / d.answered, service_level=d.within / handled,
                   p_abandon=d.abandoned / handled, mean_wait_all=d.all_wait_sum / handled)


def window(s: Scenario, seed: int, warm_up: float, length: float) -> Window:
    short = run_scenario(msgspec.structs.replace(s, duration_seconds=warm_up), seed=seed).kpis
    long = run_scenario(msgspec.structs.replace(s, duration_seconds=warm_up + length), seed=seed).kpis
    return Window.of(Counters.of(long) - Counters.of(short))


@dataclass
class Comparison:
    """Simulated figures (batch means over replications) against the formula, with 4-standard-error bounds."""

    title: str
    windows: list[Window]
    lines: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def check(self, figure: str, theory: float, calibrated_sd: float) -> None:
        values = [getattr(w, figure) for w in self.windows]
        mean = statistics.fmean(values)
        se = statistics.stdev(values) / math.sqrt(len(values))
        tolerance = 4 * se
        line = (f"{figure}: simulated {mean:.4f} (se {se:.4f}), theory {theory:.4f}, "
                f"difference {mean - theory:+.4f} = {(mean - theory) / se:+.2f} se, tolerance +-{tolerance:.4f}")
        self.lines.append(line)
        if se > 2 * calibrated_sd / math.sqrt(len(values)):
            self.failures.append(f"{figure}: standard error {se:.4f} above twice the calibrated "
                                 f"{calibrated_sd / math.sqrt(len(values)):.4f}")
        if abs(mean - theory) > tolerance:
            self.failures.append(line)

    def report(self) -> None:
        calls = sum(w.calls for w in self.windows)
        print(f"\n{self.title}: {len(self.windows)} replications, {calls} calls after warm-up")
        for line in self.lines:
            print("  " + line)
        assert not self.failures, "\n".join([self.title, *self.failures, *self.lines])


def replicate(s: Scenario, warm_up: float, length: float) -> list[Window]:
    return [window(s, seed, warm_up, length) for seed in SEEDS]


def test_a_shorter_run_is_a_prefix_of_a_longer_one() -> None:
    """Every call that arrives before the end of the short run has the same life in the long run (the warm-up argument)."""

    def lives(s: Scenario) -> dict[int, list[tuple]]:
        out = io.BytesIO()
        run_scenario(s, trace=out)
        calls: dict[int, list[tuple]] = {}
        for line in out.getvalue().splitlines():
            record = msgspec.json.decode(line)
            if "call" in record:
                calls.setdefault(record["call"], []).append((record["t"], record["ev"], record.get("endpoint")))
        return calls

    for patience in (NEVER, exponential(PATIENCE_SECONDS)):
        s = msgspec.structs.replace(call_centre(3, 2.25, patience), seed=11)
        short = lives(msgspec.structs.replace(s, duration_seconds=20 * HOUR))
        long = lives(msgspec.structs.replace(s, duration_seconds=40 * HOUR))
        assert 700 < len(short) < len(long) - 700
        assert {call: long[call] for call in short} == short
        # agents are busy at the cut: some calls of the short run end after it, as they do in the long run
        assert any(events[-1][0] > 20 * HOUR for events in short.values())


def test_mmc_small_system_matches_erlang_c() -> None:
    """3 agents, 2.1 Erlang (rho 0.7), no abandonment: P(wait), ASA, service level at 20 s; about 84,000 calls."""
    c, a = 3, 2.1
    theory = mmc(c, a / TALK_SECONDS, 1 / TALK_SECONDS, SERVICE_LEVEL_SECONDS)
    result = Comparison("M/M/3, 2.1 Erlang", replicate(call_centre(c, a, NEVER), warm_up=3 * HOUR, length=250 * HOUR))
    # calibrated per-replication standard deviations (30 seeds, same lengths): 0.0143, 9.36 s, 0.0150
    result.check("p_wait", theory.p_wait, 0.0143)
    result.check("asa", theory.asa, 9.36)
    result.check("service_level", theory.service_level, 0.0150)
    result.report()


@pytest.mark.slow
def test_mmc_large_system_matches_erlang_c() -> None:
    """50 agents, 45 Erlang (rho 0.9), no abandonment; about 144,000 calls (about 7 s: near-critical waits are slow to average)."""
    c, a = 50, 45.0
    theory = mmc(c, a / TALK_SECONDS, 1 / TALK_SECONDS, SERVICE_LEVEL_SECONDS)
    result = Comparison("M/M/50, 45 Erlang", replicate(call_centre(c, a, NEVER), warm_up=HOUR, length=20 * HOUR))
    # calibrated per-replication standard deviations (30 and 40 seeds, same lengths; the larger): 0.0463, 5.18 s, 0.0446
    result.check("p_wait", theory.p_wait, 0.0463)
    result.check("asa", theory.asa, 5.18)
    result.check("service_level", theory.service_level, 0.0446)
    result.report()


def test_mmcm_small_system_matches_erlang_a() -> None:
    """3 agents, 2.25 Erlang (rho 0.75), exponential patience of mean 120 s: P(wait), P(abandon), ASA; about 72,000 calls."""
    c, a = 3, 2.25
    mu = 1 / TALK_SECONDS
    theory = erlang_a(c, a * mu, mu, 1 / PATIENCE_SECONDS)
    s = call_centre(c, a, exponential(PATIENCE_SECONDS))
    result = Comparison("M/M/3+M, 2.25 Erlang, patience 120 s", replicate(s, warm_up=3 * HOUR, length=200 * HOUR))
    # calibrated per-replication standard deviations (30 seeds, same lengths): 0.0080, 0.0050, 0.551 s, 0.715 s
    result.check("p_wait", theory.p_wait, 0.0080)
    result.check("p_abandon", theory.p_abandon, 0.0050)
    result.check("asa", theory.asa, 0.551)
    result.check("mean_wait_all", theory.mean_wait_all, 0.715)
    result.report()


@pytest.mark.slow
def test_mmcm_large_system_matches_erlang_a() -> None:
    """examples/mmc.toml's centre: 50 agents, 45 Erlang, patience 120 s; about 115,000 calls (about 5 s)."""
    c, a = 50, 45.0
    mu = 1 / TALK_SECONDS
    theory = erlang_a(c, a * mu, mu, 1 / PATIENCE_SECONDS)
    s = call_centre(c, a, exponential(PATIENCE_SECONDS))
    result = Comparison("M/M/50+M, 45 Erlang, patience 120 s", replicate(s, warm_up=HOUR, length=16 * HOUR))
    # calibrated per-replication standard deviations (30 seeds, same lengths): 0.0221, 0.0033, 0.332 s, 0.360 s
    result.check("p_wait", theory.p_wait, 0.0221)
    result.check("p_abandon", theory.p_abandon, 0.0033)
    result.check("asa", theory.asa, 0.332)
    result.check("mean_wait_all", theory.mean_wait_all, 0.360)
    result.report()
