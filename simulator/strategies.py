"""A queue's agents, and the strategies that pick which free ones a call is offered to.

Each strategy of ``CallQueue.strategy`` picks among the queue's free agents (available,
not leaving, not in ``exclude``: those who let this call ring out):

- ``ring_all``: every free agent rings at once; the first to answer takes the call;
- ``longest_idle``: the agent free for longest: since the wrap-up of their last call,
  their log-in, or the end of an offer nobody answered;
- ``round_robin``: the next free agent after the one this queue offered a call to last,
  in the queue's order, wrapping round;
- ``sequential``: the first free agent in the queue's order, every time;
- ``random``: a uniform draw from the queue's own seeded stream (``queue:<id>``), so
  calls elsewhere in the scenario do not shift it;
- ``fewest_calls``: the agent who has answered the fewest calls from this queue.

Ties go to the agent listed first in the queue.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from heapq import heapify, heappop, heappush
from typing import TYPE_CHECKING

from simulator.machines import Agent, Call
from simulator.streams import index_draw, stream

if TYPE_CHECKING:
    from core.aggregates.services import CallQueue

Pick = Callable[["QueueState", "set[str] | None"], tuple[Agent, ...]]
"""A strategy: the agents to offer a call to (none when nobody is free)."""


class QueueState:
    """One queue over the run: its members under the table in force, its waiting calls, what its strategy remembers."""

    __slots__ = ("id", "spec", "agents", "index", "pick", "ring_all", "idle", "waiting", "last_offered", "answered", "draw",
                 "checking")

    def __init__(self, queue_id: str, seed: int) -> None:
        self.id = queue_id
        self.spec: CallQueue | None = None
        """The queue in the table in force (``None``: no longer in it)."""
        self.agents: tuple[Agent, ...] = ()
        """The members that are simulated agents, in the queue's order."""
        self.index: dict[str, int] = {}
        """Extension → position in ``agents``."""
        self.pick: Pick = _nobody
        self.ring_all = False
        self.idle: list[tuple[float, int, Agent]] | None = None
        """Longest idle only: (free since, position, agent), a heap; an entry is stale once the agent's state or
        ``free_since`` no longer match it, and is dropped when it comes up."""
        self.waiting: deque[Call] = deque()
        self.last_offered: str | None = None
        self.answered: dict[str, int] = {}
        self.draw = index_draw(stream(seed, f"queue:{queue_id}"))
        self.checking = False
        """A check of its waiting callers against their leave rule is on the calendar."""

    def configure(self, spec: CallQueue | None, agents: dict[str, Agent]) -> None:
        """Take the queue as the table in force has it (``None``: removed); its idle list is rebuilt by the caller."""
        self.spec = spec
        members = [agents[ext] for ext in spec.agents if ext in agents] if spec is not None else []
        self.agents = tuple(members)
        self.index = {agent.extension: i for i, agent in enumerate(members)}
        self.pick = STRATEGIES[spec.strategy] if spec is not None else _nobody
        self.ring_all = spec is not None and spec.strategy == "ring_all"
        self.idle = [] if spec is not None and spec.strategy == "longest_idle" else None

    def put_back(self, agent: Agent) -> None:
        """Return an agent a strategy picked but who got no call to the idle list (longest idle takes them off it)."""
        if self.idle is not None:
            heappush(self.idle, (agent.free_since, self.index[agent.extension], agent))

    def logged_in(self) -> int:
        """Members who can be offered a call now or later: logged in with a reachable phone (free or not)."""
        return sum(1 for agent in self.agents if agent.state != "offline" and agent.state != "unreachable")

    def has(self, level: int) -> bool:
        """Whether some member is logged in (level 1), logged in and reachable (2), or free (3): the rungs of
        ``JoinRule`` and ``LeaveRule``; level 0 always holds."""
        if level == 0:
            return True
        if level == 3:
            return any(_free(agent, None) for agent in self.agents)
        away = ("offline",) if level == 1 else ("offline", "unreachable")
        return any(agent.state not in away for agent in self.agents)


def _free(agent: Agent, exclude: set[str] | None) -> bool:
    return agent.state == "available" and not agent.leaving and not (exclude and agent.extension in exclude)


def _nobody(queue: QueueState, exclude: set[str] | None) -> tuple[Agent, ...]:
    return ()


def ring_all(queue: QueueState, exclude: set[str] | None) -> tuple[Agent, ...]:
    return tuple(agent for agent in queue.agents if _free(agent, exclude))


def longest_idle(queue: QueueState, exclude: set[str] | None) -> tuple[Agent, ...]:
    idle = queue.idle
    if not idle:
        return ()
    if not exclude:
        while idle:
            since, _, agent = heappop(idle)
            if agent.state == "available" and agent.free_since == since:
                return (agent,)
        return ()
    candidates = [entry for entry in idle if entry[2].state == "available" and entry[2].free_since == entry[0]
                  and entry[2].extension not in exclude]
    if not candidates:
        return ()
    chosen = min(candidates)
    idle.remove(chosen)
    heapify(idle)
    return (chosen[2],)


def round_robin(queue: QueueState, exclude: set[str] | None) -> tuple[Agent, ...]:
    agents = queue.agents
    last = queue.index.get(queue.last_offered) if queue.last_offered is not None else None
    start = 0 if last is None else last + 1
    count = len(agents)
    for step in range(count):
        agent = agents[(start + step) % count]
        if _free(agent, exclude):
            return (agent,)
    return ()


def sequential(queue: QueueState, exclude: set[str] | None) -> tuple[Agent, ...]:
    for agent in queue.agents:
        if _free(agent, exclude):
            return (agent,)
    return ()


def random(queue: QueueState, exclude: set[str] | None) -> tuple[Agent, ...]:
    free = [agent for agent in queue.agents if _free(agent, exclude)]
    return (free[queue.draw(len(free))],) if free else ()


def fewest_calls(queue: QueueState, exclude: set[str] | None) -> tuple[Agent, ...]:
    answered = queue.answered
    best: Agent | None = None
    fewest = 0
    for agent in queue.agents:
        if _free(agent, exclude):
            calls = answered.get(agent.extension, 0)
            if best is None or calls < fewest:
                best, fewest = agent, calls
    return (best,) if best is not None else ()


STRATEGIES: dict[str, Pick] = {"ring_all": ring_all, "longest_idle": longest_idle, "round_robin": round_robin,
                               "sequential": sequential, "random": random, "fewest_calls": fewest_calls}
"""Every ``QueueStrategy`` of the model, by name (a test checks that none is missing)."""
