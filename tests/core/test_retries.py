"""Retries of a batch that lost to another writer: a fresh clock reading on every try, a bound, and an honest error.

Deterministic: the other writer's change is made from inside a clock reading (so it lands exactly between the
reading and the load), and a fake event writer clashes on command. Real processes: tests/adapters/test_concurrent_writers.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent

from core import commands as c
from core.aggregates.chained import EarlyInstantError
from core.aggregates.targets import ToVoicemail
from core.errors import ConcurrentChangeError
from core.service import CallrouteApp, CommandRejected
from core.wiring import wire
from tests.core.conftest import ADMIN, FakeHasher

T = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


def divert(ring_seconds: int, extension: str = "2001") -> c.SetDivert:
    return c.SetDivert(tenant="acme", extension=extension, condition="no_answer", target=ToVoicemail(), ring_seconds=ring_seconds)


class ScriptedClock:
    """Gives the instants it was given, one per reading (the last one again once they run out); ``then[i]`` runs
    right after reading ``i`` is taken: another writer acting between this writer's reading and its load."""

    def __init__(self, *instants: datetime, then: dict[int, Callable[[], None]] | None = None) -> None:
        self.instants = list(instants)
        self.then = dict(then or {})
        self.readings: list[datetime] = []

    def now(self) -> datetime:
        instant = self.instants[min(len(self.readings), len(self.instants) - 1)]
        self.readings.append(instant)
        action = self.then.pop(len(self.readings) - 1, None)
        if action is not None:
            action()
        return instant


class ClashingWriter:
    """An event writer that loses ``clashes`` saves to an imaginary other writer, then stores into the app's recorder.

    ``retrying`` records the context each retry ran in (entered, exited) in ``trace``, beside the clock's readings.
    """

    def __init__(self, clashes: int, trace: list[str] | None = None) -> None:
        self.clashes = clashes
        self.app: CallrouteApp | None = None
        self.trace = trace if trace is not None else []
        self.lost: list[int] = []

    def insert(self, stored_events: Sequence[StoredEvent]) -> list[int]:
        if self.clashes:
            self.clashes -= 1
            self.trace.append("clash")
            raise IntegrityError("UNIQUE constraint failed: stored_events.originator_id, stored_events.originator_version")
        assert self.app is not None
        self.trace.append("insert")
        return list(self.app.recorder.insert_events(stored_events) or [])

    @contextmanager
    def retrying(self, lost: int) -> Iterator[None]:
        self.lost.append(lost)
        self.trace.append(f"enter {lost}")
        try:
            yield
        finally:
            self.trace.append(f"exit {lost}")


class TracingClock(ScriptedClock):
    def __init__(self, trace: list[str], *instants: datetime) -> None:
        super().__init__(*instants)
        self.trace = trace

    def now(self) -> datetime:
        self.trace.append("read")
        return super().now()


def app_with(clock: Any, writer: ClashingWriter | None = None, path: Path | None = None) -> CallrouteApp:
    if writer is None:
        return wire(path, clock=clock, pin_hasher=FakeHasher())
    app = CallrouteApp({"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=clock, pin_hasher=FakeHasher(), event_writer=writer)
    writer.app = app
    return app


def seed(app: CallrouteApp) -> None:
    """Tenant acme with users 2001 and 2002, dated ``T`` (given explicitly: the app's clock is the test's to script)."""
    app.execute([c.CreateTenant(tenant="acme", name="Acme", time_zone="Europe/London"),
                 c.AddUser(tenant="acme", extension="2001", name="Ann"), c.AddUser(tenant="acme", extension="2002", name="Bob")],
                ADMIN, at=T)


def retried(logs: list[dict[str, Any]]) -> list[tuple[int, str]]:
    return [(e["attempt"], e["cause"]) for e in logs if e["event"] == "commands.retried"]


# -- a clock reading overtaken by another writer's change ------------------------------------------------------------


def test_a_change_stored_between_the_clock_reading_and_the_load_is_retried_at_a_fresh_reading(
    tmp_path: Path, logs: list[dict[str, Any]]
) -> None:
    db = tmp_path / "store.sqlite"
    other = app_with(ScriptedClock(T), path=db)
    seed(other)
    # This writer reads T + 1 s; before it loads acme, the other writer stores a change dated T + 2 s.
    clock = ScriptedClock(T + SECOND, T + 3 * SECOND,
                          then={0: lambda: other.execute([divert(20, "2002")], ADMIN, at=T + 2 * SECOND)})
    app = app_with(clock, path=db)
    receipt = app.execute([divert(30)], ADMIN)
    assert receipt.versions == {"acme": 5}
    assert clock.readings == [T + SECOND, T + 3 * SECOND]  # a fresh reading for the second try
    assert retried(logs) == [(1, "early_instant")]
    assert app.tenant("acme").modified_on == T + 3 * SECOND
    assert [e for e in logs if e["event"] == "command.rejected"] == []


def test_a_race_lost_on_the_last_try_is_told_apart_from_a_clock_that_is_behind(tmp_path: Path) -> None:
    """Once the tries are used up, the clock is read once more: past the stored change, it was a race, not a slow clock."""
    db = tmp_path / "store.sqlite"
    other = app_with(ScriptedClock(T), path=db)
    seed(other)
    clock = ScriptedClock(T + SECOND, T + 3 * SECOND, then={0: lambda: other.execute([divert(20, "2002")], ADMIN, at=T + 2 * SECOND)})
    app = app_with(clock, path=db)
    app.max_attempts = 1
    with pytest.raises(ConcurrentChangeError, match="^other writers kept changing 'acme' through 1 attempt; nothing was stored, retry$"):
        app.execute([divert(30)], ADMIN)
    assert app.tenant("acme").version == 4


def test_an_instant_the_caller_gave_before_the_last_change_is_bad_input_and_not_retried(
    tmp_path: Path, logs: list[dict[str, Any]]
) -> None:
    app = app_with(ScriptedClock(T), path=tmp_path / "store.sqlite")
    seed(app)
    with pytest.raises(CommandRejected, match=r"is before the last change") as refused:
        app.execute([divert(30)], ADMIN, at=T - SECOND)
    assert isinstance(refused.value.cause, EarlyInstantError)
    assert (refused.value.cause.at, refused.value.cause.last_change) == (T - SECOND, T)
    assert refused.value.rule == "conflict"  # exit 2 on the command line, as before
    assert retried(logs) == []
    assert app.tenant("acme").version == 3


# -- a clock behind another writer's ---------------------------------------------------------------------------------


def test_a_clock_that_stays_behind_the_last_change_fails_after_the_bound_naming_both_instants(logs: list[dict[str, Any]]) -> None:
    writer = ClashingWriter(0)
    clock = ScriptedClock(T - 5 * SECOND)  # every reading: 5 s before the change another machine's clock dated T
    app = app_with(clock, writer)
    seed(app)
    with pytest.raises(ConcurrentChangeError) as failed:
        app.execute([divert(30)], ADMIN)
    assert str(failed.value) == (
        "this machine's clock still read 2026-11-23T08:59:55+00:00 after 8 attempts, 5.000 s before the last change of "
        "'acme' (2026-11-23T09:00:00+00:00), stored by a writer whose clock is ahead; nothing was stored, retry when "
        "the clocks agree")
    assert failed.value.rule == "concurrent_change"
    assert retried(logs) == [(n, "early_instant") for n in range(1, 8)]
    assert writer.lost == list(range(1, 8))  # the edge's pause (and lock) before every retry
    assert len(clock.readings) == 8 + 1  # one per attempt, and one more to tell a slow clock from a race
    assert app.tenant("acme").version == 3


def test_a_clock_that_catches_up_during_the_retries_lands() -> None:
    writer = ClashingWriter(0)
    clock = ScriptedClock(T - 2 * SECOND, T - SECOND, T + SECOND)
    app = app_with(clock, writer)
    seed(app)
    assert app.execute([divert(30)], ADMIN).versions == {"acme": 4}
    assert app.tenant("acme").modified_on == T + SECOND
    assert writer.lost == [1, 2]


# -- version clashes -------------------------------------------------------------------------------------------------


def test_a_version_clash_is_retried_inside_the_writers_retry_context_at_a_fresh_reading(logs: list[dict[str, Any]]) -> None:
    trace: list[str] = []
    writer = ClashingWriter(0, trace)
    app = app_with(TracingClock(trace, T + SECOND, T + 2 * SECOND, T + 3 * SECOND), writer)
    seed(app)
    trace.clear()
    writer.clashes = 2
    assert app.execute([divert(30)], ADMIN).versions == {"acme": 4}
    # The clock is read inside the retry's context (after the edge's pause and lock), once per try.
    assert trace == ["read", "clash", "enter 1", "read", "clash", "exit 1", "enter 2", "read", "insert", "exit 2"]
    assert retried(logs) == [(1, "version_clash"), (2, "version_clash")]
    assert app.tenant("acme").modified_on == T + 3 * SECOND


def test_other_writers_that_win_every_try_give_the_concurrent_change_error_and_store_nothing(logs: list[dict[str, Any]]) -> None:
    writer = ClashingWriter(0)
    app = app_with(ScriptedClock(T + SECOND), writer)
    seed(app)
    writer.clashes = 100
    with pytest.raises(ConcurrentChangeError) as failed:
        app.execute([divert(30), divert(40, "2002")], ADMIN)
    assert str(failed.value) == "other writers kept changing 'acme' through 8 attempts; nothing was stored, retry"
    assert writer.clashes == 100 - 8
    assert len(retried(logs)) == 7
    assert app.tenant("acme").version == 3
    writer.clashes = 0
    assert app.execute([divert(30)], ADMIN).versions == {"acme": 4}  # nothing of the failed batch was left in the cache


def test_an_explicit_instant_is_kept_through_version_clash_retries() -> None:
    writer = ClashingWriter(0)
    clock = ScriptedClock(T + 9 * SECOND)
    app = app_with(clock, writer)
    seed(app)
    writer.clashes = 1
    clock.readings.clear()
    app.execute([divert(30)], ADMIN, at=T + SECOND)
    assert app.tenant("acme").modified_on == T + SECOND
    assert clock.readings == []


def test_the_bound_is_the_apps_max_attempts() -> None:
    writer = ClashingWriter(0)
    app = app_with(ScriptedClock(T + SECOND), writer)
    seed(app)
    app.max_attempts = 3
    writer.clashes = 3
    with pytest.raises(ConcurrentChangeError, match="through 3 attempts"):
        app.execute([divert(30)], ADMIN)
    writer.clashes = 2
    assert app.execute([divert(30)], ADMIN).versions == {"acme": 4}
