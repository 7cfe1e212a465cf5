"""Explicit state machines for calls and agents: synchronous transitions, each allowed one listed.

The switch drives them; a transition not in the table is a bug and raises at once.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.routing import EndpointState
    from core.routing.plan import Queue as QueueNode
    from simulator.strategies import QueueState

CALL_TRANSITIONS: dict[tuple[str, str], str] = {
    ("arrived", "ring"): "ringing",
    ("arrived", "enter_ivr"): "ivr",
    ("arrived", "enqueue"): "queued",
    ("arrived", "end"): "ended",
    ("ringing", "ring"): "ringing",
    ("ringing", "answer"): "talking",
    ("ringing", "enter_ivr"): "ivr",
    ("ringing", "enqueue"): "queued",
    ("ringing", "end"): "ended",
    ("ringing", "abandon"): "ended",
    ("ivr", "ring"): "ringing",
    ("ivr", "enter_ivr"): "ivr",
    ("ivr", "enqueue"): "queued",
    ("ivr", "end"): "ended",
    ("ivr", "abandon"): "ended",
    ("queued", "offer"): "queued",
    ("queued", "answer"): "talking",
    ("queued", "ring"): "ringing",
    ("queued", "enter_ivr"): "ivr",
    ("queued", "enqueue"): "queued",
    ("queued", "end"): "ended",
    ("queued", "abandon"): "ended",
    ("talking", "hang_up"): "ended",
}

AGENT_TRANSITIONS: dict[tuple[str, str], str] = {
    ("offline", "log_in"): "available",
    ("available", "log_out"): "offline",
    ("available", "offer"): "ringing",
    ("ringing", "answer"): "talking",
    ("ringing", "miss"): "available",
    ("ringing", "caller_gone"): "available",
    ("ringing", "answered_elsewhere"): "available",
    ("talking", "hang_up"): "wrap_up",
    ("wrap_up", "ready"): "available",
    ("wrap_up", "ready_to_leave"): "offline",
    ("available", "lose_phone"): "unreachable",
    ("unreachable", "phone_back"): "available",
    ("unreachable", "log_out"): "offline",
}
"""``unreachable``: logged in, but the phone cannot be reached (it lost its registration or its network)."""

ROUTING_STATE: dict[str, EndpointState] = {"available": "available", "offline": "unreachable", "ringing": "busy", "talking": "busy",
                                           "wrap_up": "busy", "unreachable": "unreachable"}
"""How an agent's state looks to routing."""


_INF = math.inf  # a module global: one look-up fewer than ``math.inf`` for each of the run's calls


class IllegalTransition(RuntimeError):
    """A state machine was asked for a transition it does not have."""


class Call:
    """One call: who dialled what, when, and where it is now."""

    __slots__ = ("id", "name", "dialled", "drawn_caller", "digits", "arrived", "deadline", "state", "token", "where",
                 "queue", "endpoint", "answered_at", "held", "agent", "group", "ring_states", "refused", "queue_node",
                 "retry_at", "talk", "sure", "joined")

    def __init__(self, call_id: int, dialled: str, caller: str | int | None, digits: str | None, arrived: float,
                 patience: float) -> None:
        self.id = call_id
        self.name: str | None = None
        """The scenario's name for the call, if it has one (``label``)."""
        self.dialled = dialled
        self.drawn_caller = caller
        """The caller's number (``None``: withheld), or the digits of a drawn one as an int (``Arrivals._poisson``: the
        number is "+" and them), until ``caller`` is first read: most calls' numbers never are."""
        self.digits = digits
        self.arrived = arrived
        self.deadline = arrived + patience  # ``inf`` for a caller who never hangs up (``arrived`` is finite)
        self.state = "arrived"
        self.token = 0
        """Bumped by every transition: timers scheduled under an older token are stale."""
        self.where = ""
        """``""`` before its first queue, then ``queued``; ``overflowed`` once it has left a queue unanswered."""
        self.queue: str | None = None
        self.endpoint: str | None = None
        self.answered_at: float | None = None
        self.held: tuple[Agent, ...] = ()
        """Agents ringing for this call (held for it until it is answered, they miss it, or the caller leaves)."""
        self.agent: Agent | None = None
        """The agent talking to the caller."""
        self.group: str | None = None
        self.ring_states: dict[str, str] | None = None
        """Endpoint states at arrival, kept only when finished calls are recorded."""
        self.refused: set[str] | None = None
        """Agents who let this queue call ring out: offered to others first."""
        self.joined = 0.0
        """When the call joined the queue it is at (``queue``): its wait there runs from then."""
        self.queue_node: QueueNode | None = None
        """The queue plan node the call is waiting by: its join and leave rules, pause, and where it goes when the queue empties."""
        self.retry_at = 0.0
        """A queue call is not offered again before this instant (the queue's pause after a ring round nobody answered)."""
        self.talk: float | None = None
        self.sure = _INF
        """When an answer scheduled for it will come for sure (``inf``: none is): timers that would fire later do nothing,
        so they are not put on the calendar."""
        """How long the caller talks once answered, when the scenario knows it (a replayed call); else drawn then."""

    @property
    def caller(self) -> str | None:
        """Who called: their number, as ``core.routing.normalise_caller`` reads it (``None``: withheld)."""
        caller = self.drawn_caller
        if type(caller) is int:
            caller = self.drawn_caller = f"+{caller}"
        return caller  # type: ignore[return-value]  # not an int any more

    @property
    def label(self) -> str:
        """The call's name: the scenario's, else its number (made when asked: most calls are never named)."""
        return self.name if self.name is not None else str(self.id)

    @label.setter
    def label(self, label: str) -> None:
        self.name = label

    def transition(self, event: str) -> str:
        """Apply ``event``; return the new state."""
        new = CALL_TRANSITIONS.get((self.state, event))
        if new is None:
            raise IllegalTransition(f"call {self.id}: {event!r} in state {self.state!r}")
        self.state = new
        self.token += 1
        return new


class Agent:
    """A person at an extension: logged in or not, ringing, talking, wrapping up."""

    __slots__ = ("extension", "state", "free_since", "leaving", "busy_seconds", "logged_in_since", "logged_in_seconds",
                 "answered", "call", "answer_delay", "talk_time", "wrap_up", "phone_lost", "kept", "freed", "talk_parts", "fixed_delay")

    def __init__(self, extension: str, answer_delay: Callable[[], float] = lambda: math.inf,
                 talk_time: Callable[[], float] = lambda: 0.0, wrap_up: Callable[[], float] = lambda: 0.0) -> None:
        self.extension = extension
        self.state = "offline"
        self.free_since = 0.0
        self.leaving = False
        self.phone_lost = False
        """The phone becomes unreachable once the current call (and its wrap-up) is over."""
        self.busy_seconds = 0.0
        self.logged_in_since: float | None = None
        self.logged_in_seconds = 0.0
        self.answered = 0
        self.call: Call | None = None
        """The call this agent is ringing for or talking to."""
        self.answer_delay = answer_delay
        self.fixed_delay: float | None = getattr(answer_delay, "constant", None)
        """A fixed answer delay's value (``streams.sampler``): what ``answer_delay()`` returns, without the call."""
        self.talk_time = talk_time
        self.talk_parts: tuple[Callable[[], float], float] | None = getattr(talk_time, "parts", None)
        """An exponential talk time's draw and rate (``streams.sampler``): ``Ringing.answer`` writes the draw out."""
        self.wrap_up = wrap_up
        self.kept: tuple[tuple[QueueState, int], ...] = ()
        """The queues that keep the set of their free agents, and this agent's position in each (``strategies.py``)."""
        self.freed = 0
        """How many times the agent has become free: tells one free spell from the next."""

    def transition(self, event: str) -> str:
        """Apply ``event``; return the new state."""
        new = AGENT_TRANSITIONS.get((self.state, event))
        if new is None:
            raise IllegalTransition(f"agent {self.extension}: {event!r} in state {self.state!r}")
        self.state = new
        return new
