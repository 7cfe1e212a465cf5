"""The collector counts calls answered on arrival in batches (the fast path's) with the figures of one call at a time."""

from __future__ import annotations

import msgspec

from simulator.kpis import BUCKET, BUCKETS, Collector, Kpis


def collect(batch: bool) -> Kpis:
    c = Collector([20.0, 60.0])
    c.arrival(10.0, "n")
    c.queued(10.0, "q", True, False)
    c.answered(40.0, 10.0, "n", "q", None, "agent", 10.0)  # waited 30 s
    if batch:
        c.answered_on_arrival(3, 1, "n", "q")
    else:
        for t in (3600.0, 4000.0, 7199.5):
            c.arrival(t, "n")
            c.queued(t, "q", True, True)
            c.answered(t, t, "n", "q", None, "agent", t)
    c.arrival(9000.0, "n")  # waits five hours, past the histogram's last bucket
    c.queued(9000.0, "q", True, False)
    c.abandoned(9000.0 + 5 * 3600, 9000.0, "n", "queue", "q", None, 9000.0)
    return c.result({}, 30000.0, 12)


def test_calls_answered_on_arrival_give_the_same_figures_in_a_batch_as_one_at_a_time() -> None:
    one_by_one, batched = collect(False), collect(True)
    assert msgspec.json.encode(batched) == msgspec.json.encode(one_by_one)
    k = batched
    assert (k.offered, k.answered, k.abandoned, k.waited) == (5, 4, 1, 2)
    assert k.hourly_arrivals == [1, 3, 1] and k.hourly_answered == [1, 3, 0]
    assert k.hourly_mean_wait == [30.0, 0.0, 5 * 3600.0]
    assert k.service_level == {"20s": 3 / 5, "60s": 4 / 5} and k.queue_figures["q"].service_level == k.service_level
    assert k.queue_figures["q"].mean_wait_seconds == k.mean_wait_seconds == (30.0 + 5 * 3600) / 5
    assert k.wait_histogram == [(0.0, 3), (300 * BUCKET, 1), ((BUCKETS - 1) * BUCKET, 1)]
    assert k.wait_p50 == 0.0 and k.wait_p90 == k.wait_max == 5 * 3600.0  # the last bucket's figure: the longest wait


def collect_later(batch: bool) -> Kpis:
    """Calls answered after arriving, one at a time or as the fast path hands them in: counted in a batch, each wait in
    the answers' order, among the waits of a call that abandons."""
    c = Collector([20.0, 60.0])
    answers = [(3600.0, 3630.1, False), (3700.0, 3700.25, True), (3800.0, 3825.3, False), (7000.0, 7100.7, False)]
    if batch:
        waits = c.waits_of("q")
        c.answer_wait(3630.1 - 3600.0, 1, waits)
        c.arrival(3650.0, "n")
        c.queued(3650.0, "q", True, False)
        c.abandoned(3660.0, 3650.0, "n", "queue", "q", None, 3650.0)
        for arrived, answer, _ in answers[1:]:
            c.answer_wait(answer - arrived, 1, waits)
        c.answered_later(4, 3, 1, "n", "q")
    else:
        arrived, answer, free = answers[0]
        c.arrival(arrived, "n")
        c.queued(arrived, "q", True, free)
        c.answered(answer, arrived, "n", "q", None, "agent", arrived)
        c.arrival(3650.0, "n")
        c.queued(3650.0, "q", True, False)
        c.abandoned(3660.0, 3650.0, "n", "queue", "q", None, 3650.0)
        for arrived, answer, free in answers[1:]:
            c.arrival(arrived, "n")
            c.queued(arrived, "q", True, free)
            c.answered(answer, arrived, "n", "q", None, "agent", arrived)
    return c.result({}, 30000.0, 12)


def test_calls_answered_later_give_the_same_figures_in_a_batch_as_one_at_a_time() -> None:
    one_by_one, batched = collect_later(False), collect_later(True)
    assert msgspec.json.encode(batched) == msgspec.json.encode(one_by_one)
    k = batched
    assert (k.offered, k.answered, k.abandoned, k.waited) == (5, 4, 1, 4)
    assert k.hourly_arrivals == [0, 5] and k.hourly_answered == [0, 4]
    assert k.service_level == {"20s": 1 / 5, "60s": 3 / 5} and k.queue_figures["q"].service_level == k.service_level
