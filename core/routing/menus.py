"""IVR menus and forwarding schemes.

A menu checks its opening hours, then follows the caller's digits when the call gives
them (else shows every branch). A scheme checks its working hours, then rings its steps
in order (a busy employee is skipped; webhook and CRM look-ups continue with the next
step when they give nothing) or every ringing step at once, then the backup steps.
"""

from __future__ import annotations

import msgspec

from core.aggregates.describe import describe
from core.aggregates.services import BackupStep, ForwardingScheme, SchemeStep
from core.aggregates.targets import ToExtension, ToExternalSip, ToNumber
from core.routing.closures import ClosureRouting
from core.routing.plan import Endpoint, HopLimit, Leg, Lookup, Menu, Missed, Node, Ring, Via
from core.routing.router import external_leg
from core.routing.windows import open_window

_RINGING = (ToExtension, ToNumber, ToExternalSip)
"""Scheme destinations that ring a phone (and so can ring in parallel)."""


class MenuRouting(ClosureRouting):
    """Routes a call into an IVR menu or a forwarding scheme."""

    def ivr(self, key: str, path: tuple[str, ...]) -> Node:
        at = f"ivr {key}"
        entered = self.enter(at, path)
        if isinstance(entered, HopLimit):
            return entered
        path, depth = entered, len(entered)
        menu = self.table.ivrs[key]
        closed = self.closed("ivrs", key, path, at, own=menu.when_closed)
        if closed is not None:
            return closed
        explain = self.explain
        if menu.opening_hours is not None:
            window = open_window(menu.opening_hours, self.local)
            if window is None:
                if explain:
                    self.note(depth, at, "opening hours", True, f"{self.when} is outside the opening hours: closed")
                return self.destination(menu.when_closed, path, owner=None) if menu.when_closed else Missed()
            if explain:
                self.note(depth, at, "opening hours", False, f"open: {window}")
        base = {"ivr": key, "prompt": menu.prompt, "timeout_seconds": menu.timeout_seconds, "retries": menu.retries}
        if self.digits is not None:
            digit, self.digits = self.digits[:1], self.digits[1:]
            if digit == "":
                if explain:
                    self.note(depth, at, "caller input", True, f"no digit after {menu.retries + 1} tries")
                branch = self.destination(menu.on_no_input, path, owner=None) if menu.on_no_input else Missed()
                return Menu(**base, on_no_input=branch, chosen="")
            if digit in menu.options:
                if explain:
                    self.note(depth, at, "caller input", True, f"pressed {digit}: {describe(menu.options[digit])}")
                return Menu(**base, options={digit: self.destination(menu.options[digit], path, owner=None)}, chosen=digit)
            if explain:
                self.note(depth, at, "caller input", True, f"pressed {digit}, which is no option")
            branch = self.destination(menu.on_invalid, path, owner=None) if menu.on_invalid else Missed()
            return Menu(**base, on_invalid=branch, chosen=digit)
        if explain:
            self.note(depth, at, "caller input", False, "unknown: every option is shown")
        options = {digit: self.destination(dest, path, owner=None) for digit, dest in sorted(menu.options.items())}
        return Menu(
            **base,
            options=options,
            on_invalid=self.destination(menu.on_invalid, path, owner=None) if menu.on_invalid else None,
            on_no_input=self.destination(menu.on_no_input, path, owner=None) if menu.on_no_input else None,
        )

    def scheme(self, key: str, path: tuple[str, ...]) -> Node:
        at = f"scheme {key}"
        entered = self.enter(at, path)
        if isinstance(entered, HopLimit):
            return entered
        path, depth = entered, len(entered)
        scheme = self.table.schemes[key]
        closed = self.closed("schemes", key, path, at, own=scheme.outside_hours)
        if closed is not None:
            return closed
        if scheme.working_hours is not None:
            window = open_window(scheme.working_hours, self.local)
            if window is None:
                outside = scheme.outside_hours
                if self.explain:
                    self.note(depth, at, "working hours", True,
                              f"{self.when} is outside working hours: {describe(outside) if outside else 'missed'}")
                return self.destination(outside, path, owner=None) if outside is not None else Missed()
            if self.explain:
                self.note(depth, at, "working hours", False, f"within {window}")
        if scheme.mode == "parallel":
            return self._parallel(key, scheme, path, depth, at)
        steps = [(step, f"{at} step {i + 1}", Via(kind="scheme", target=key, step=i + 1)) for i, step in enumerate(scheme.steps)]
        return self.chain(steps + _backup(key, scheme, at), path) or Missed()

    def _parallel(self, key: str, scheme: ForwardingScheme, path: tuple[str, ...], depth: int, at: str) -> Node:
        """Every step that rings a phone at once, for the longest of their timeouts; then the other steps and the backup."""
        whole = Via(kind="scheme", target=key)
        legs, timeouts, rest = [], [], []
        for index, step in enumerate(scheme.steps):
            if not isinstance(step.destination, _RINGING):
                rest.append(step)
                continue
            leg = self.ring_leg(step.destination, step.timeout_seconds, depth, f"{at} step {index + 1}")
            if leg is not None:
                legs.append(leg)
                timeouts.append(step.timeout_seconds)
        if not legs:
            if self.explain:
                self.note(depth, at, "parallel", False, "no destination can ring at once")
            return self.chain([(step, f"{at} step {i + 1}", whole) for i, step in enumerate(rest)] + _backup(key, scheme, at), path) \
                or Missed()
        limit = max(timeouts)
        if self.explain:
            self.note(depth, at, "parallel", True, f"{len(legs)} destinations ring at once for up to {limit} s")
        then = self.chain([(step, f"{at} after the parallel ring {i + 1}", whole) for i, step in enumerate(rest)]
                          + _backup(key, scheme, at), path)
        return Ring(legs=tuple(legs), mode="parallel", limit_seconds=limit, via=at, purpose=whole, then=then)

    def chain(self, steps: list[tuple[SchemeStep | BackupStep, str, Via]], path: tuple[str, ...]) -> Node | None:
        """Scheme steps in order: each one's "no answer" continues with the rest (explained in order)."""
        if not steps:
            return None
        (step, at, via), rest = steps[0], steps[1:]
        dest, seconds, depth = step.destination, step.timeout_seconds, len(path)
        if isinstance(dest, ToExtension) and self.states.get(dest.extension) in ("busy", "unreachable"):
            if self.explain:
                self.note(depth, at, "step", False, f"extension {dest.extension} is {self.states[dest.extension]}: skipped")
            return self.chain(rest, path)
        leg = self.ring_leg(dest, seconds, depth, at)
        if leg is not None:
            if self.explain:
                self.note(depth, at, "step", True, f"rings {leg.endpoint.id} for {seconds} s")
            return Ring(legs=(leg,), via=at, purpose=via, then=self.chain(rest, path))
        if self.explain:
            self.note(depth, at, "step", True, f"goes to {describe(dest)}")
        node = self.destination(dest, path, owner=None)
        if isinstance(node, Missed) and rest:
            if self.explain:
                self.note(depth, at, "step", False, f"{describe(dest)} cannot take the call: on to the next step")
            return self.chain(rest, path)
        if isinstance(node, Lookup | Ring) and node.then is None and rest:
            return msgspec.structs.replace(node, then=self.chain(rest, path))
        if rest and not isinstance(node, Lookup | Ring) and self.explain:
            self.note(depth, at, "later steps", False, f"{describe(dest)} ends the scheme: {len(rest)} later steps never run")
        return node

    def ring_leg(self, dest: object, seconds: int, depth: int, at: str) -> Leg | None:
        """A ringing leg for a scheme step that rings a phone, or ``None`` for other destinations."""
        match dest:
            case ToExtension(extension=ext):
                state = self.states.get(ext, "available")
                if state in ("busy", "unreachable"):  # "excluded" only concerns groups and queues
                    if self.explain:
                        self.note(depth, at, "step", False, f"extension {ext} is {state}: skipped")
                    return None
                return Leg(endpoint=Endpoint(kind="user", id=ext), seconds=seconds)
            case ToNumber():
                return external_leg(dest, seconds)
            case ToExternalSip(uri=uri):
                return Leg(endpoint=Endpoint(kind="external_sip", id=uri), seconds=seconds)
        return None


def _backup(key: str, scheme: ForwardingScheme, at: str) -> list[tuple[SchemeStep | BackupStep, str, Via]]:
    whole = Via(kind="scheme", target=key)
    return [(step, f"{at} backup step {i + 1}", whole) for i, step in enumerate(scheme.backup)]
