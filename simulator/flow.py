"""What the parts of the switch may ask of it: carry a call on to the next plan node, or end it.

Ringing, queues and menus each finish their part of a call by handing it back here, so
none of them needs to know about the others or about how a call's end is recorded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from core.routing.plan import Node
    from simulator.machines import Call


class CallFlow(Protocol):
    """The switch, as the parts see it."""

    def run(self, t: float, call: Call, node: Node | None) -> None:
        """Carry out plan node ``node`` for ``call`` (``None``: nothing more rings, a missed call)."""

    def end(self, t: float, call: Call, outcome: str, endpoint: str | None) -> None:
        """End an unanswered call with ``outcome`` (voicemail, busy, missed …), counted in the figures."""

    def finish(self, t: float, call: Call, outcome: str, endpoint: str | None) -> None:
        """Record a call's end (answered, abandoned or ``end``-ed): outcome, recorded call, trace."""
