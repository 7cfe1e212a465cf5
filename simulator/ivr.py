"""IVR menus: the caller listens, presses a digit (or nothing), and the call follows that branch.

A menu caller presses their digit after min(3 s, the menu timeout); no input takes the
timeout times the tries; an invalid digit is pressed on every try before the menu gives up.
"""

from __future__ import annotations

import msgspec

from core.routing.plan import Menu, Node
from simulator.calendar import Calendar
from simulator.flow import CallFlow
from simulator.machines import Call
from simulator.trace import EnteredMenu, Trace

IVR_PRESS_SECONDS = 3.0


class MenuDone(msgspec.Struct, gc=False):
    """The caller has chosen (or the menu has given up): ``branch`` next, unless the call moved on since ``token``."""

    call: Call
    token: int
    branch: Node | None


class Menus:
    """Plays IVR menus to callers."""

    def __init__(self, calendar: Calendar, flow: CallFlow, trace: Trace | None) -> None:
        self.calendar = calendar
        self.flow = flow
        self.trace = trace

    def enter(self, t: float, call: Call, menu: Menu) -> None:
        """``call`` reaches a menu node."""
        call.transition("enter_ivr")
        if self.trace is not None:
            self.trace(EnteredMenu(t=t, call=call.id, ivr=menu.ivr, digit=menu.chosen))
        tries = menu.retries + 1
        press = min(IVR_PRESS_SECONDS, menu.timeout_seconds)
        dt: float
        if not menu.chosen:  # unknown (None) or nothing pressed (""): the menu times out on every try
            branch, dt = menu.on_no_input, menu.timeout_seconds * tries
        elif menu.chosen in menu.options:
            branch, dt = menu.options[menu.chosen], press
        else:
            branch, dt = menu.on_invalid, press * tries
        self.calendar.at(t + dt, self._done, MenuDone(call, call.token, branch))

    def _done(self, t: float, done: MenuDone) -> None:
        if done.call.token == done.token:
            self.flow.run(t, done.call, done.branch)
