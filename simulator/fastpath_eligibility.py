"""Whether a run may take the fast path (``fastpath.py``), and if so its setup: ``prepare``.

The fast path computes only runs in which every call waits in one first-come-first-served queue whose decisions
depend neither on the time nor on the endpoints' states; ``prepare`` checks the scenario, the calendar, each number's
plan and each queue, and says why not (a sentence) at the first thing the fast path cannot model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.aggregates.services import JOIN_LEVEL
from core.routing import Call as RoutingCall
from core.routing import route
from core.routing.plan import Queue
from simulator.arrivals import PoissonProcess
from simulator.fastpath import ENDINGS, FastPath
from simulator.fastpath_queues import _Line, _Number
from simulator.scenario import AgentSpec, PoissonArrivals
from simulator.streams import Fixed, Never, Uniform

if TYPE_CHECKING:
    from simulator.switch import Switch

STRATEGIES = ("longest_idle", "sequential", "round_robin", "fewest_calls", "random", "ring_all")
"""The queue strategies the fast path picks agents by (``_Line.pick``)."""


def _bounded_delay(spec: Any, ring: int, ring_all: bool) -> str | None:
    """Why an answer delay may miss the queue's ring time (``None``: it never does), which the fast path cannot model."""
    if ring_all:
        return None if isinstance(spec, Fixed) and spec.value == 0 else "a ring-all queue whose agents do not answer at once"
    if isinstance(spec, Fixed):
        return None if spec.value <= ring else "an answer delay longer than the ring time"
    if isinstance(spec, Uniform):
        # ``uniform`` may round up to ``high`` and a hair past it: only below the ring time for sure.
        return None if spec.high < ring else "an answer delay that may reach the ring time"
    return "an answer delay without an upper bound"


def prepare(switch: Switch) -> FastPath | str:
    """The fast path for ``switch``'s run (set up, arrivals scheduled, nothing run yet), or why it cannot take it."""
    scenario = switch.scenario
    if switch.trace is not None:
        return "a trace is written (it records every agent's state change)"
    if scenario.changes:
        return "the configuration changes during the run"
    if scenario.presence:
        return "agents' presence changes during the run"
    if any(isinstance(spec, AgentSpec) and spec.shifts for spec in scenario.agents):
        return "agents work shifts"
    if not all(type(spec) is PoissonArrivals for spec in scenario.arrivals):
        return "not every arrival process is Poisson"
    calendar = switch.calendar
    log_in, warm_up, poisson = switch.presence._log_in, switch.kpis.warm_up_over, switch.arrivals._poisson
    processes: list[tuple[float, PoissonProcess]] = []
    warm: list[tuple[float, Any, Any]] = []
    for t, _, action, arg in sorted(calendar.heap, key=lambda entry: entry[:2]):
        if action == poisson:
            processes.append((t, arg))
        elif action == warm_up:
            warm.append((t, action, arg))
        else:
            return f"the calendar holds {getattr(action, '__qualname__', action)}"
    if any(action != log_in for _, action, _ in calendar.soon):
        return "the calendar holds more than the agents' log-ins at the start"
    if len(processes) != switch.arrivals.open:
        return "not every arrival is a Poisson process"
    if calendar.over:  # no call comes (the first arrival is after the duration): nothing runs, not even the log-ins
        return FastPath(switch, [], [], {}, warm)
    # The agents log in at 0, as in the general engine (the same events, counted as they run).
    calendar.run(len(calendar.soon))
    if calendar.soon or any(agent.state != "available" for agent in switch.presence.agents.values()):
        return "an agent is not available once logged in"
    numbers = _numbers(switch, [process for _, process in processes])
    if isinstance(numbers, str):
        return numbers
    lines: dict[str, _Line] = {}
    seen: dict[str, str] = {}
    for number in numbers:
        for node in number.nodes.values():
            if node.queue in lines:
                continue
            problem = _queue_problem(switch, node)
            if problem is not None:
                return problem
            line = lines[node.queue] = _Line(switch.queues.queues[node.queue])
            for extension in line.extensions:
                if seen.setdefault(extension, node.queue) != node.queue:
                    return f"agent {extension} serves two queues ({seen[extension]} and {node.queue})"
    for number in numbers:
        for node in number.nodes.values():
            problem = _node_problem(switch, node, lines[node.queue])
            if problem is not None:
                return problem
    return FastPath(switch, numbers, [t for t, _ in processes], lines, warm)


def _numbers(switch: Switch, processes: list[PoissonProcess]) -> list[_Number] | str:
    """Each process's queue node per kind of caller (withheld or not, digits pressed): one plan for all its calls.

    Routed as ``Plans.plan`` routes a call. A plan that depends on nothing but the table and the call (``agents``:
    only the queue node's informative list) is the same for every call; so is one that depends on the endpoints'
    states only through a queue's join rule asking for an agent logged in or reachable (every agent is, all along).
    """
    plans = switch.plans
    numbers = []
    for process in processes:
        spec = process.spec
        kinds = ([True] if spec.anonymous_share > 0 else []) + ([False] if spec.anonymous_share < 1 else [])
        digits: list[str | None] = [*sorted(spec.digits), ""] if spec.digits else [None]
        nodes: dict[tuple[bool, str | None], Queue] = {}
        for anonymous in kinds:
            for digit in digits:
                probe = RoutingCall(dialled=spec.to, at=switch.clock.wall(0.0), caller=None if anonymous else "+46700000000",
                                    digits=digit, call_id="0")
                try:
                    decision = route(plans.table, probe, switch.presence.states, plans.memory, hop_limit=switch.scenario.max_hops)
                except Exception:  # noqa: BLE001 - the general engine reports it, at the call that meets it
                    return "a call's plan cannot be decided"
                node = decision.plan
                if decision.rejected_anonymous or type(node) is not Queue:
                    return f"calls to {spec.to} do not all go to a queue"
                by_states = "states" in decision.depends_on and JOIN_LEVEL[node.join_when] in (1, 2)
                if not decision.depends_on <= {"agents", "states"} or ("states" in decision.depends_on and not by_states):
                    return f"the plan of calls to {spec.to} depends on the time or on the endpoints' states"
                if decision.memory is not plans.memory:
                    return f"the plan of calls to {spec.to} changes the routing memory"
                nodes[anonymous, digit] = node
        numbers.append(_Number(process, nodes, switch.calls_out is not None))
    return numbers


def _queue_problem(switch: Switch, node: Queue) -> str | None:
    state = switch.queues.queues.get(node.queue)
    if state is None or state.spec is None:
        return f"queue {node.queue} is not in the table"
    spec = state.spec
    if spec.strategy not in STRATEGIES:
        return f"queue {node.queue}'s strategy {spec.strategy}"
    for agent in state.agents:
        agent_spec = switch.presence.specs[agent.extension]
        problem = _bounded_delay(agent_spec.answer_delay, spec.agent_ring_seconds, spec.strategy == "ring_all")
        if problem is not None:
            return f"agent {agent.extension}: {problem}"
        if isinstance(agent_spec.talk_time, Never):
            return f"agent {agent.extension} never hangs up"
    return None


def _node_problem(switch: Switch, node: Queue, line: _Line) -> str | None:
    if node.leave_when != "never":
        return f"callers leave queue {node.queue} when its agents go (leave_when)"
    if node.when_empty is not None:
        level = JOIN_LEVEL[node.join_when]
        if level == 3:
            return f"queue {node.queue} turns callers away when no agent is free (join_when)"
        if level and not line.agents:
            return f"queue {node.queue} has no agent and turns callers away"
    if type(node.after_max_wait) not in ENDINGS:
        return f"callers go on from queue {node.queue} after its maximum wait"
    return None
