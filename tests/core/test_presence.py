"""Presence: endpoint states and queue agents as the router reads them; the latest report wins, whatever the arrival order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from core.calls.events import AgentStateChanged, CallStarted, EndpointStateChanged
from core.calls.presence import Presence, presence_at
from core.routing import Call, route
from tests.core.test_conformance import seed_table

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def state(endpoint: str, value: str, seconds: float = 0) -> EndpointStateChanged:
    return EndpointStateChanged(pbx="stockholm", at=T0 + timedelta(seconds=seconds), endpoint=endpoint, state=value)  # type: ignore[arg-type]


def agent(name: str, queue: str, logged_in: bool, paused: bool = False, seconds: float = 0) -> AgentStateChanged:
    return AgentStateChanged(pbx="stockholm", at=T0 + timedelta(seconds=seconds), queue=queue, agent=name, logged_in=logged_in,
                             paused=paused)


def test_each_presence_maps_to_the_routers_endpoint_state() -> None:
    presence = Presence().apply_all([state("2001", "idle"), state("2002", "ringing"), state("2003", "busy"),
                                     state("2004", "unavailable")])
    assert presence.router_states() == {"2002": "busy", "2003": "busy", "2004": "unreachable"}
    assert [(e.endpoint, e.state) for e in presence.view().endpoints] == [
        ("2001", "idle"), ("2002", "ringing"), ("2003", "busy"), ("2004", "unavailable")]


def test_the_latest_report_wins_in_any_arrival_order() -> None:
    events = [state("2001", "busy", 1), state("2001", "idle", 5), state("2001", "ringing", 3)]
    assert Presence().apply_all(events).state("2001") == "idle"
    assert Presence().apply_all(reversed(events)).state("2001") == "idle"


@given(st.permutations([state("2001", "busy", 1), state("2001", "idle", 1), state("2002", "unavailable", 2),
                        state("2002", "idle", 4), agent("2002", "support", True, seconds=1), agent("2002", "support", False, seconds=1)]))
def test_the_fold_does_not_depend_on_the_order_even_for_reports_at_one_instant(events: list) -> None:
    presence = Presence().apply_all(events)
    assert presence.view() == Presence().apply_all(sorted(events, key=lambda e: (e.at, repr(e)))).view()
    assert presence.state("2001") == "busy"  # at one instant the stronger state wins


def test_agents_logged_out_or_paused_are_excluded_from_the_queue_the_call_passes() -> None:
    presence = Presence().apply_all([agent("2002", "support", True), agent("2003", "support", True, paused=True),
                                     agent("2004", "sales", False), state("2004", "busy")])
    assert presence.router_states(["support"]) == {"2003": "excluded", "2004": "busy"}
    assert presence.router_states() == {"2004": "busy"}  # logins say nothing of answer groups
    assert [(a.agent, a.logged_in, a.paused) for a in presence.queue_agents("support")] == [("2002", True, False), ("2003", True, True)]
    presence.apply(agent("2003", "support", True, seconds=10))
    assert presence.router_states(["support"]) == {"2004": "busy"}


def test_presence_at_an_instant_takes_only_what_was_reported_before_it() -> None:
    events = [state("2001", "busy", 0), state("2001", "idle", 60), CallStarted(pbx="x", at=T0, call_id="c", dialled="2001")]
    assert presence_at(events, T0 + timedelta(seconds=30)).router_states() == {"2001": "busy"}
    assert presence_at(events, T0 + timedelta(seconds=90)).router_states() == {}
    assert presence_at(events, T0).router_states() == {}


def test_the_router_takes_presence_as_its_input() -> None:
    """A busy 2001 (seed 000: busy → voicemail) sends a call to 2001 to voicemail; idle, it rings."""
    table = seed_table()
    call = Call(dialled="2001", at=T0, caller="+441234567890")
    busy = route(table, call, Presence().apply_all([state("2001", "busy")]).router_states())
    idle = route(table, call, Presence().apply_all([state("2001", "idle")]).router_states())
    assert type(busy.plan).__name__ == "Voicemail"
    assert type(idle.plan).__name__ == "Ring"
