"""Routing decisions: pure functions from a routing table and a call to a plan and its explanation."""

from core.routing.decide import Call, Decision, RoutingMemory, record_answer, route
from core.routing.plan import Node, Step

__all__ = ["Call", "Decision", "Node", "RoutingMemory", "Step", "record_answer", "route"]
