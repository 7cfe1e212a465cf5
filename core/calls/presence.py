"""Presence: each endpoint's state (idle, ringing, busy, unavailable) and each queue agent's login, as the router's input.

A fold over ``EndpointStateChanged`` and ``AgentStateChanged``: the latest report by
instant wins, so the order events arrive in does not matter (at one instant the stronger
state wins: unavailable, busy, ringing, idle; logged out, paused, logged in).

For routing (``core.routing.route``), states map to ``EndpointState``:

- idle → available (left out of the states, as routing expects of an available endpoint);
- ringing → busy (it is taking another call: a PBX queue with ``ringinuse=no`` skips it, and
  a user without call waiting gets the busy rule);
- busy → busy;
- unavailable → unreachable;
- asked for the queues a call passed, an agent logged out of them or paused in them →
  excluded (routing's word for out of group and queue calls; it cannot tell a paused agent
  from a logged-out one, nor does it need to). Asked for no queue, logins are left out: a
  queue login says nothing of answer groups.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime

import msgspec

from core.calls.events import AgentStateChanged, CallEvent, EndpointPresence, EndpointStateChanged
from core.routing import EndpointState

ROUTER_STATE: dict[EndpointPresence, EndpointState | None] = {
    "idle": None,
    "ringing": "busy",
    "busy": "busy",
    "unavailable": "unreachable",
}
"""Presence → the router's endpoint state (``None``: available, left out)."""
_STRENGTH: dict[EndpointPresence, int] = {"idle": 0, "ringing": 1, "busy": 2, "unavailable": 3}


class EndpointView(msgspec.Struct, frozen=True):
    endpoint: str
    state: EndpointPresence
    since: datetime
    pbx: str


class AgentView(msgspec.Struct, frozen=True):
    queue: str
    agent: str
    logged_in: bool
    paused: bool
    since: datetime


class PresenceView(msgspec.Struct, frozen=True):
    """Presence at one instant: every endpoint reported, every queue agent reported."""

    endpoints: tuple[EndpointView, ...]
    agents: tuple[AgentView, ...]


class Presence:
    """The fold; feed it events with ``apply`` (any order), read it with ``view``, ``router_states`` or ``queue_agents``."""

    def __init__(self) -> None:
        self._endpoints: dict[str, tuple[datetime, int, EndpointPresence, str]] = {}
        self._agents: dict[tuple[str, str], tuple[datetime, int, bool, bool]] = {}

    def apply(self, event: CallEvent) -> None:
        """Take one event into account; events other than presence are ignored."""
        if isinstance(event, EndpointStateChanged):
            current = self._endpoints.get(event.endpoint)
            candidate = (event.at, _STRENGTH[event.state], event.state, event.pbx)
            if current is None or candidate[:2] > current[:2]:
                self._endpoints[event.endpoint] = candidate
        elif isinstance(event, AgentStateChanged):
            key = (event.queue, event.agent)
            strength = 0 if event.logged_in and not event.paused else 1 if event.logged_in else 2
            current_agent = self._agents.get(key)
            if current_agent is None or (event.at, strength) > current_agent[:2]:
                self._agents[key] = (event.at, strength, event.logged_in, event.paused)

    def apply_all(self, events: Iterable[CallEvent]) -> Presence:
        for event in events:
            self.apply(event)
        return self

    def state(self, endpoint: str) -> EndpointPresence | None:
        """The endpoint's last reported state (``None``: never reported)."""
        found = self._endpoints.get(endpoint)
        return found[2] if found is not None else None

    def view(self) -> PresenceView:
        endpoints = tuple(EndpointView(endpoint=e, state=s, since=at, pbx=pbx)
                          for e, (at, _, s, pbx) in sorted(self._endpoints.items()))
        agents = tuple(AgentView(queue=q, agent=a, logged_in=li, paused=p, since=at)
                       for (q, a), (at, _, li, p) in sorted(self._agents.items()))
        return PresenceView(endpoints=endpoints, agents=agents)

    def queue_agents(self, queue: str) -> tuple[AgentView, ...]:
        """The agents reported for ``queue``, logged in or not."""
        return tuple(a for a in self.view().agents if a.queue == queue)

    def router_states(self, queues: Collection[str] = ()) -> dict[str, EndpointState]:
        """The states ``route()`` takes: endpoints not available; with ``queues``, their agents out of (or paused in) them."""
        states: dict[str, EndpointState] = {}
        for endpoint, (_, _, state, _) in self._endpoints.items():
            routed = ROUTER_STATE[state]
            if routed is not None:
                states[endpoint] = routed
        away: dict[str, bool] = {}
        for (queue, agent), (_, _, logged_in, paused) in self._agents.items():
            if queue in queues:
                away[agent] = away.get(agent, True) and (not logged_in or paused)
        for agent, out in away.items():
            if out and agent not in states:
                states[agent] = "excluded"
        return states


def presence_at(events: Iterable[CallEvent], at: datetime) -> Presence:
    """Presence from the events reported strictly before ``at``."""
    presence = Presence()
    for event in events:
        if event.at < at:
            presence.apply(event)
    return presence
