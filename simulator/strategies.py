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

None of them scans the queue's agents (a queue may hold 2,000): longest idle keeps the idle agents in the order they
became free, oldest first (an entry is dropped when it comes up stale); the others keep the set of free agents as the
agents' state machines change (``QueueState.free``: their positions in order; fewest calls, a heap of them by calls
answered), and a pick looks only at free agents. The sets are kept by ``Presence.set_state``, at the very transitions
``_free`` reads.
"""

from __future__ import annotations

from bisect import bisect_left, insort
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
                 "checking", "free", "fewest", "idle_limit", "ring_seconds")

    def __init__(self, queue_id: str, seed: int) -> None:
        self.id = queue_id
        self.spec: CallQueue | None = None
        """The queue in the table in force (``None``: no longer in it)."""
        self.ring_seconds = 0
        """How long an offer rings an agent: the spec's ``agent_ring_seconds`` (0 once the queue is out of the table)."""
        self.agents: tuple[Agent, ...] = ()
        """The members that are simulated agents, in the queue's order."""
        self.index: dict[str, int] = {}
        """Extension → position in ``agents``."""
        self.pick: Pick = _nobody
        self.ring_all = False
        self.idle: deque[tuple[float, int, Agent]] | None = None
        """Longest idle only: (free since, position, agent), in that order, oldest first (``idle_in_order``): the order
        a heap of them would give them up in, but an agent freed now goes last, as most do, without a comparison of
        entries; an entry is stale once the agent's state or ``free_since`` no longer match it, and is dropped when it
        comes up."""
        self.idle_limit = 64
        """``idle`` longer than this holds stale entries: ``Queues._idle`` drops them (twice the agents, and 64)."""
        self.waiting: deque[Call] = deque()
        self.last_offered: str | None = None
        self.answered: dict[str, int] = {}
        self.draw = index_draw(stream(seed, f"queue:{queue_id}"))
        self.checking = False
        """A check of its waiting callers against their leave rule is on the calendar."""
        self.free: list[int] | None = None
        """Ring all, round robin, sequential, random: the positions of the free agents (``_free``), in order."""
        self.fewest: list[tuple[int, int, int, Agent]] | None = None
        """Fewest calls: (calls answered from this queue, position, the agent's ``freed``, agent) of free agents, a heap;
        an entry is stale once the agent is no longer free or has been freed again since (``Agent.freed``)."""

    def configure(self, spec: CallQueue | None, agents: dict[str, Agent]) -> None:
        """Take the queue as the table in force has it (``None``: removed); its idle list is rebuilt by the caller."""
        self.spec = spec
        self.ring_seconds = spec.agent_ring_seconds if spec is not None else 0
        members = [agents[ext] for ext in spec.agents if ext in agents] if spec is not None else []
        self.agents = tuple(members)
        self.idle_limit = 2 * len(members) + 64
        self.index = {agent.extension: i for i, agent in enumerate(members)}
        self.pick = STRATEGIES[spec.strategy] if spec is not None else _nobody
        self.ring_all = spec is not None and spec.strategy == "ring_all"
        self.idle = deque() if spec is not None and spec.strategy == "longest_idle" else None
        strategy = spec.strategy if spec is not None else None
        self.free = [p for p, agent in enumerate(members) if _free(agent, None)] if strategy in KEPT_FREE else None
        self.fewest = None
        if strategy == "fewest_calls":
            self.fewest = [(self.answered.get(agent.extension, 0), p, agent.freed, agent)
                           for p, agent in enumerate(members) if _free(agent, None)]
            heapify(self.fewest)

    def keeps(self) -> bool:
        """Whether the queue keeps its free agents as they change (``became_free``, ``taken``)."""
        return self.free is not None or self.fewest is not None

    def became_free(self, position: int, agent: Agent) -> None:
        """The agent at ``position`` has just become free (available, not leaving)."""
        if self.free is not None:
            insort(self.free, position)
        elif self.fewest is not None:
            fewest = self.fewest
            heappush(fewest, (self.answered.get(agent.extension, 0), position, agent.freed, agent))
            if len(fewest) > 2 * len(self.agents) + 64:
                # Entries of a free spell that is over (the agent has been freed since) can never come up valid: drop them.
                fewest[:] = [entry for entry in fewest if entry[3].freed == entry[2]]
                heapify(fewest)

    def taken(self, position: int) -> None:
        """The agent at ``position``, free until now, is not any more (fewest calls: its entry goes stale)."""
        free = self.free
        if free is not None:
            index = bisect_left(free, position)
            if index < len(free) and free[index] == position:
                del free[index]

    def put_back(self, agent: Agent) -> None:
        """Return an agent a strategy picked but who got no call to the idle list (longest idle takes them off it)."""
        if self.idle is not None:
            idle_in_order(self.idle, (agent.free_since, self.index[agent.extension], agent))

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


def idle_in_order(idle: deque[tuple[float, int, Agent]], entry: tuple[float, int, Agent]) -> None:
    """Put ``entry`` (free since, position, agent) in its place in ``idle``, which is in (free since, position) order:
    last, as an agent freed now goes, unless it comes before the last one (an agent put back, the idle agents of a table
    that went live, or one freed at the same instant as the last but listed before it), rare enough for a search."""
    if idle:
        since, position, _ = idle[-1]
        if entry[0] < since or (entry[0] == since and entry[1] < position):
            insort(idle, entry)
            return
    idle.append(entry)


def _free(agent: Agent, exclude: set[str] | None) -> bool:
    return agent.state == "available" and not agent.leaving and not (exclude and agent.extension in exclude)


def _nobody(queue: QueueState, exclude: set[str] | None) -> tuple[Agent, ...]:
    return ()


def _kept(queue: QueueState, exclude: set[str] | None) -> list[int]:
    """The positions of the free agents not in ``exclude``, in the queue's order."""
    free = queue.free
    assert free is not None
    if not exclude:
        return free
    agents = queue.agents
    return [p for p in free if agents[p].extension not in exclude]


def ring_all(queue: QueueState, exclude: set[str] | None) -> tuple[Agent, ...]:
    agents = queue.agents
    return tuple(agents[p] for p in _kept(queue, exclude))


def longest_idle(queue: QueueState, exclude: set[str] | None) -> tuple[Agent, ...]:
    idle = queue.idle
    if not idle:
        return ()
    if not exclude:
        while idle:
            since, _, agent = idle.popleft()
            if agent.state == "available" and agent.free_since == since:
                return (agent,)
        return ()
    candidates = [entry for entry in idle if entry[2].state == "available" and entry[2].free_since == entry[0]
                  and entry[2].extension not in exclude]
    if not candidates:
        return ()
    chosen = min(candidates)
    idle.remove(chosen)
    return (chosen[2],)


def round_robin(queue: QueueState, exclude: set[str] | None) -> tuple[Agent, ...]:
    # The first free agent after the last one offered a call, in the queue's order, wrapping round.
    free = _kept(queue, exclude)
    if not free:
        return ()
    last = queue.index.get(queue.last_offered) if queue.last_offered is not None else None
    index = bisect_left(free, 0 if last is None else last + 1)
    return (queue.agents[free[index if index < len(free) else 0]],)


def sequential(queue: QueueState, exclude: set[str] | None) -> tuple[Agent, ...]:
    free = _kept(queue, exclude)
    return (queue.agents[free[0]],) if free else ()


def random(queue: QueueState, exclude: set[str] | None) -> tuple[Agent, ...]:
    free = _kept(queue, exclude)
    return (queue.agents[free[queue.draw(len(free))]],) if free else ()


def fewest_calls(queue: QueueState, exclude: set[str] | None) -> tuple[Agent, ...]:
    # The free agent with the fewest calls answered from this queue, the first listed of them on a tie: the heap's
    # least valid entry (its count cannot change while the agent is free: only an answer changes it).
    fewest = queue.fewest
    assert fewest is not None
    while fewest and not _current(fewest[0]):
        heappop(fewest)
    if not exclude:
        return (fewest[0][3],) if fewest else ()
    valid = [entry for entry in fewest if _current(entry) and entry[3].extension not in exclude]
    return (min(valid)[3],) if valid else ()


def _current(entry: tuple[int, int, int, Agent]) -> bool:
    agent = entry[3]
    return agent.freed == entry[2] and _free(agent, None)


KEPT_FREE = frozenset({"ring_all", "round_robin", "sequential", "random"})
"""The strategies whose queue keeps the positions of its free agents (``QueueState.free``)."""

STRATEGIES: dict[str, Pick] = {"ring_all": ring_all, "longest_idle": longest_idle, "round_robin": round_robin,
                               "sequential": sequential, "random": random, "fewest_calls": fewest_calls}
"""Every ``QueueStrategy`` of the model, by name (a test checks that none is missing)."""
