"""A call to a user, in the documented order.

Anonymous rejection → forward always (then a device's permanent redirect, then a number
divert marked "always") → a dated closure in force → out of hours → unreachable → busy
(only when call waiting is off) → ring until the no-answer time → the no-answer rule.
"""

from __future__ import annotations

from functools import lru_cache

from core.aggregates.describe import describe
from core.aggregates.targets import Off, ToNumber, ToVoicemail
from core.routing.closures import ClosureRouting
from core.routing.plan import BusyTone, Endpoint, HopLimit, Leg, Node, Ring, Step, Unavailable, Via
from core.routing.router import external_leg, user_endpoint
from core.routing.table import UserRule
from core.routing.windows import out_of_hours_window


class UserRouting(ClosureRouting):
    """Routes a call to one user by the user's resolved rules."""

    def user(self, ext: str, path: tuple[str, ...]) -> Node:
        at = f"user {ext}"
        entered = self.enter(at, path)
        if isinstance(entered, HopLimit):
            return entered
        path, depth = entered, len(entered)
        rule = self.table.users.get(ext)
        if rule is None:  # pragma: no cover - referential integrity keeps targets valid
            if self.explain:
                self.note(depth, at, "user", False, f"extension {ext} does not exist")
            return Unavailable()
        node = self._redirected(rule, path, depth, at)
        if node is None:
            node = self._unavailable(rule, path, depth, at)
        return node if node is not None else self._ring(rule, path, depth, at)

    def _redirected(self, rule: UserRule, path: tuple[str, ...], depth: int, at: str) -> Node | None:
        """Anonymous rejection, forward always and the redirects that skip ringing; ``None``: none applies."""
        ext, explain, add = rule.extension, self.explain, self.steps.append
        call = self.call
        if rule.reject_anonymous and call.withheld:
            if explain:
                add(Step(depth, at, "anonymous rejection", True, f"{self.withheld_reason()} and the user rejects anonymous calls"))
            self.rejected_anonymous = True
            return self.handling(rule.rejected, path, owner=ext)
        if explain:
            add(Step(depth, at, "anonymous rejection", False,
                     "reject anonymous is off" if not rule.reject_anonymous else f"caller id {call.caller} is present"))
        if type(rule.forward_always) is not Off:
            if explain:
                add(Step(depth, at, "forward always", True, f"every call goes to {describe(rule.forward_always)}"))
            return self.destination(rule.forward_always, path, owner=ext)
        if explain:
            add(Step(depth, at, "forward always", False, "off"))
        if rule.permanent_redirect is not None:
            if explain:
                add(Step(depth, at, "permanent redirect", True, f"the device redirects every call to {rule.permanent_redirect}"))
            return Ring(legs=(Leg(endpoint=Endpoint(kind="external", id=rule.permanent_redirect)),), via=f"user {ext} redirect",
                        purpose=Via(kind="redirect", target=ext))
        if explain:
            add(Step(depth, at, "permanent redirect", False, "none"))
        for name, target in (("no answer", rule.no_answer.target), ("busy", rule.busy)):
            if type(target) is ToNumber and target.always:
                if explain:
                    add(Step(depth, at, f"{name} divert marked always", True, f"redirects every call to {target.number} at once"))
                return Ring(legs=(external_leg(target),), via=f"user {ext} always-redirect", purpose=Via(kind="redirect", target=ext))
        if explain:
            add(Step(depth, at, "redirect always", False, "no number divert is marked always"))
        return None

    def _unavailable(self, rule: UserRule, path: tuple[str, ...], depth: int, at: str) -> Node | None:
        """Out of hours, unreachable and busy; ``None``: the user's phone rings."""
        ext, explain, add = rule.extension, self.explain, self.steps.append
        own = rule.out_of_hours.when_unavailable if rule.out_of_hours is not None else _OWN_VOICEMAIL
        closed = self.closed("users", ext, path, at, own=own, owner=ext)
        if closed is not None:
            return closed
        if rule.out_of_hours is not None:
            window = out_of_hours_window(rule.out_of_hours, self.local)
            if window is not None:
                if explain:
                    add(Step(depth, at, "out of hours", True,
                             f"{self.when} is in {window}: to {describe(rule.out_of_hours.when_unavailable)}"))
                return self.destination(rule.out_of_hours.when_unavailable, path, owner=ext)
            if explain:
                add(Step(depth, at, "out of hours", False, f"{self.when} is in no unavailable window"))
        elif explain:
            add(Step(depth, at, "out of hours", False, "no schedule"))

        state = self.states.get(ext, "available")
        if state == "unreachable":
            if type(rule.unreachable) is Off:
                if explain:
                    add(Step(depth, at, "unreachable", True, "the phone is unreachable and the divert is off: unavailable"))
                return Unavailable()
            if explain:
                add(Step(depth, at, "unreachable", True, f"the phone is unreachable: to {describe(rule.unreachable)}"))
            return self.destination(rule.unreachable, path, owner=ext)
        if explain:
            add(Step(depth, at, "unreachable", False, f"the phone is {state}"))

        if state != "busy":
            if explain:
                add(Step(depth, at, "busy", False, f"the phone is {state}"))
            return None
        if rule.call_waiting:
            if explain:
                add(Step(depth, at, "busy", False, "the user is on a call but call waiting is on: the call waits"))
            return None
        if type(rule.busy) is Off:
            if explain:
                add(Step(depth, at, "busy", True, "the user is on a call, call waiting is off, the divert is off: engaged tone"))
            return BusyTone()
        if explain:
            add(Step(depth, at, "busy", True, f"the user is on a call and call waiting is off: to {describe(rule.busy)}"))
        return self.destination(rule.busy, path, owner=ext)

    def _ring(self, rule: UserRule, path: tuple[str, ...], depth: int, at: str) -> Node:
        """Ring the user's phone until the no-answer time, then the no-answer rule."""
        no_answer = rule.no_answer
        if type(no_answer.target) is Off:
            if self.explain:
                self.note(depth, at, "no answer", False, "the divert is off: keeps ringing until answered or the caller hangs up")
            return _ringing(rule.extension, at)
        if self.explain:
            self.note(depth, at, "no answer", True, f"rings {no_answer.ring_seconds} s, then to {describe(no_answer.target)}")
        then = self.destination(no_answer.target, path, owner=rule.extension)
        return Ring(legs=(_timed_leg(rule.extension, no_answer.ring_seconds),), via=at, purpose=_user_via(rule.extension), then=then)


_OWN_VOICEMAIL = ToVoicemail()
"""A closed user's own handling without an out-of-hours schedule switched on: their voicemail."""


@lru_cache(maxsize=65536)
def _ringing(extension: str, at: str) -> Ring:
    """A user's phone ringing until answered (immutable, so built once per user)."""
    return Ring(legs=(Leg(endpoint=user_endpoint(extension)),), via=at, purpose=_user_via(extension))


@lru_cache(maxsize=65536)
def _timed_leg(extension: str, seconds: int) -> Leg:
    return Leg(endpoint=user_endpoint(extension), seconds=seconds)


@lru_cache(maxsize=65536)
def _user_via(extension: str) -> Via:
    return Via(kind="user", target=extension)
