"""The fast path's state per queue (``_Line``) and per Poisson process (``_Number``), which ``fastpath.py`` runs.

``fastpath_eligibility.prepare`` sets them up for a run that may take the fast path.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque
from heapq import heappop, heappush
from typing import TYPE_CHECKING, Any

from simulator.arrivals import PoissonProcess

if TYPE_CHECKING:
    from core.routing.plan import Queue
    from simulator.machines import Agent
    from simulator.strategies import QueueState


class _Line:
    """One queue on the fast path: its agents, who is free since when, and what its strategy remembers."""

    __slots__ = ("id", "state", "agents", "extensions", "ring", "wrap", "strategy", "busy", "free", "answered", "last", "draw",
                 "delays", "talks", "ready", "readies", "constant_delays", "talk_parts")

    def __init__(self, state: QueueState) -> None:
        spec = state.spec
        assert spec is not None
        self.id = state.id
        self.state = state
        self.agents: tuple[Agent, ...] = state.agents
        self.extensions = [agent.extension for agent in state.agents]
        self.ring = spec.agent_ring_seconds
        self.wrap = float(spec.wrap_up_seconds)
        self.strategy = "sequential" if spec.strategy == "ring_all" else spec.strategy  # answering at once: the first free
        self.busy: list[tuple[float, int]] = []
        """(free again at, position) of every agent not free."""
        # Everyone logged in at 0 and is free since then.
        count = len(self.agents)
        self.free: Any = list(range(count))
        """The free agents: positions (a heap, or in order), or (calls answered, position) for fewest calls; for longest
        idle, a FIFO of positions: agents become free in order of (free since, position), the order it picks them in
        (the busy heap gives them back in that order, and each is free again no earlier than the last one given back)."""
        if self.strategy == "fewest_calls":
            self.free = [(0, p) for p in range(count)]
        elif self.strategy == "longest_idle":
            self.free = deque(range(count))
        self.answered = [0] * count
        self.last: int | None = state.index.get(state.last_offered) if state.last_offered is not None else None
        self.draw = state.draw
        self.delays = [agent.answer_delay for agent in self.agents]
        self.talks = [agent.talk_time for agent in self.agents]
        # The loop writes out the commonest draws (``streams.sampler``'s parts): fixed answer delays, exponential talk.
        constants = [getattr(delay, "constant", None) for delay in self.delays]
        self.constant_delays: list[float] | None = constants if None not in constants else None  # type: ignore[assignment]
        parts = [getattr(talk, "parts", None) for talk in self.talks]
        self.talk_parts: list[tuple[Any, float]] | None = parts if None not in parts else None  # type: ignore[assignment]
        self.ready = [False] * count
        """Whether an agent not free becomes free by an event of its own (the end of a wrap-up), which the calendar
        counts, or by the caller's leaving (no event of its own)."""
        self.readies = 0
        """Ends of wrap-ups passed so far by ``release`` (events of the calendar; the loop counts its own at once)."""

    def release(self, t: float) -> None:
        """Agents free again by ``t`` join the free ones."""
        busy = self.busy
        while busy and busy[0][0] <= t:
            since, position = heappop(busy)
            if self.ready[position]:
                self.readies += 1
            strategy = self.strategy
            if strategy == "longest_idle":
                self.free.append(position)
            elif strategy == "sequential":
                heappush(self.free, position)
            elif strategy == "fewest_calls":
                heappush(self.free, (self.answered[position], position))
            else:
                insort(self.free, position)

    def pick(self) -> int:
        """The free agent the strategy offers a new call to, taken from the free ones (``strategies.py``)."""
        free = self.free
        strategy = self.strategy
        if strategy == "longest_idle":
            return free.popleft()
        if strategy == "fewest_calls":
            return heappop(free)[1]
        if strategy == "sequential":
            return heappop(free)
        if strategy == "round_robin":
            start = 0 if self.last is None else self.last + 1
            index = bisect_left(free, start)
            return free.pop(index if index < len(free) else 0)
        return free.pop(self.draw(len(free)))  # random: a uniform draw among the free, in the queue's order


class _Number:
    """What the calls of one Poisson process get: its process, and the queue node of each kind of caller."""

    __slots__ = ("process", "dialled", "nodes", "single", "callers", "flat")

    def __init__(self, process: PoissonProcess, nodes: dict[tuple[bool, str | None], Queue], callers: bool) -> None:
        self.process = process
        self.dialled = process.spec.to
        self.nodes = nodes
        values = list(nodes.values())
        self.single = values[0] if all(node == values[0] for node in values) else None
        """The node of every call when all kinds of caller get the same one."""
        self.callers = callers or self.single is None
        """Whether each call's caller is drawn (for the recorded calls, or because the plan depends on it)."""
        self.flat = type(process) is PoissonProcess and process.flat and process.peak > 0
        """A process at one rate all along: its next arrival is one exponential draw."""
