"""Conformance: each finished call against what the effective (live) table allowed at its instant.

For every call in the history, the table confirmed live at the call's start is asked the same
question ``explain`` answers: ``route()`` with the same caller, the dialled number, and the
endpoint states presence reported just before the call (``presence.py``). The plan's possible
outcomes (``core.projections.compare``) say whether what happened was allowed. A call that
deviates names the rule that was expected: the step of the explanation about the endpoint
that took the call, or else the last rule that decided the plan.

A deviating call that a change saved but not yet confirmed live *does* allow is evidence that
the PBX already applies that change: it is reported per version (how many calls, from when),
and the provisioning record is left alone; only ``callroute provision confirm`` confirms.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from functools import partial
from typing import Literal, Protocol

import msgspec

from core.calls.events import CallEvent, Outcome
from core.calls.history import CallRecord
from core.calls.presence import Presence
from core.errors import DomainError
from core.projections.compare import RecordedCall, allows, describe_possible, possible_outcomes
from core.projections.timeline import PendingChange
from core.routing import Call, EndpointState, RoutingTable, Step, route
from core.routing.caller import Presentation

Verdict = Literal["conforms", "deviates", "unchecked"]

RECORDED_OUTCOME: dict[Outcome, str] = {
    "answered": "answered",
    "voicemail": "voicemail",
    "busy": "busy",
    "no_answer": "missed",
    "abandoned": "missed",
    "failed": "unavailable",
}
"""History's outcome → the outcome ``core.projections.compare`` checks (a failed call met the network's treatment)."""


class CallCheck(msgspec.Struct, frozen=True, kw_only=True):
    """One call compared with the table live at its start."""

    call_id: str
    pbx: str
    started: datetime
    dialled: str | None
    caller: str | None
    presentation: Presentation
    outcome: Outcome
    endpoint: str | None
    """Who answered, or the voicemail box that took the call."""
    verdict: Verdict
    table_version: int | None = None
    """The effective version the call was checked against."""
    allowed: str | None = None
    """What that table allowed, in one line."""
    expected_rule: str | None = None
    """For a deviation: the rule the call did not follow (``where: rule — why``)."""
    explanation: tuple[Step, ...] = ()
    states: dict[str, EndpointState] = {}
    """The endpoint states routing was given (from presence before the call)."""
    follows_version: int | None = None
    """A saved version not yet confirmed live whose table allows what happened."""
    reason: str | None = None
    """Why the call was not checked."""


class Evidence(msgspec.Struct, frozen=True, kw_only=True):
    """Calls that follow a change saved but not confirmed live: evidence that the PBX applies it."""

    version: int
    change: str
    saved_at: datetime
    calls: int
    first_call: datetime
    last_call: datetime
    call_ids: tuple[str, ...]
    """The first few calls, to look at."""


class TableSource(Protocol):
    """The tables of one tenant by instant."""

    def effective(self, at: datetime) -> RoutingTable | None:
        """The table confirmed live at ``at`` (``None``: nothing confirmed by then)."""
        ...

    def pending(self, at: datetime) -> Sequence[tuple[PendingChange, RoutingTable]]:
        """The versions saved by ``at`` and not confirmed live by then, oldest first, each with its table."""
        ...


def recorded_call(record: CallRecord, states: dict[str, EndpointState]) -> RecordedCall:
    """The call in the form ``core.projections.compare`` checks."""
    endpoint = record.answered_by if record.outcome == "answered" else record.mailbox if record.outcome == "voicemail" else None
    return RecordedCall(call_id=record.call_id, to=record.dialled or "??", at=record.started,
                        outcome=RECORDED_OUTCOME[record.outcome], caller=record.caller, endpoint=endpoint,  # type: ignore[arg-type]
                        states=states, presentation=record.presentation)


def check_call(record: CallRecord, states: dict[str, EndpointState], effective: RoutingTable | None,
               pending: Callable[[], Sequence[tuple[PendingChange, RoutingTable]]] | None = None) -> CallCheck:
    """Compare one call with the effective table at its start; when it deviates, with the tables of the versions
    not confirmed yet (``pending``, asked only then: oldest first)."""
    endpoint = record.answered_by if record.outcome == "answered" else record.mailbox if record.outcome == "voicemail" else None
    base = {"call_id": record.call_id, "pbx": record.pbx, "started": record.started, "dialled": record.dialled,
            "caller": record.caller, "presentation": record.presentation, "outcome": record.outcome, "endpoint": endpoint,
            "states": states}
    if not record.dialled or len(record.dialled) < 2:
        return CallCheck(**base, verdict="unchecked", reason="the PBX did not report the dialled number")
    if effective is None:
        return CallCheck(**base, verdict="unchecked", reason="no version was confirmed live by then (callroute pending lists them)")
    call = Call(dialled=record.dialled, at=record.started, caller=record.caller, presentation=record.presentation,
                call_id=record.call_id)
    try:
        decision = route(effective, call, dict(states), explain=True)
    except DomainError as exc:
        return CallCheck(**base, verdict="unchecked", table_version=effective.version,
                         reason=f"not routed by the tenant's table: {exc.message}")
    recorded = recorded_call(record, states)
    possible = possible_outcomes(decision.plan)
    if allows(possible, recorded):
        return CallCheck(**base, verdict="conforms", table_version=effective.version, allowed=describe_possible(possible))
    follows = None
    for change, table in pending() if pending is not None else ():
        try:
            later = route(table, call, dict(states))
        except DomainError:
            continue
        if allows(possible_outcomes(later.plan), recorded):
            follows = change.version
            break
    return CallCheck(**base, verdict="deviates", table_version=effective.version, allowed=describe_possible(possible),
                     expected_rule=expected_rule(decision.explanation, endpoint), explanation=decision.explanation,
                     follows_version=follows)


def expected_rule(steps: Sequence[Step], endpoint: str | None) -> str | None:
    """The rule a deviating call did not follow: the deepest rule that matched about ``endpoint``, else one that
    did not match about it (it is excluded, busy...), else the last rule that matched."""
    def text(step: Step) -> str:
        return f"{step.at}: {step.rule} — {step.reason}"

    if endpoint:
        mention = re.compile(rf"(?<![\w+/]){re.escape(endpoint)}(?![\w/])")
        about = [s for s in steps if mention.search(s.at) or mention.search(s.reason)]
        matched = [s for s in about if s.matched]
        if matched:
            return text(max(matched, key=lambda s: s.depth))
        if about:
            return text(about[0])
    matched_steps = [s for s in steps if s.matched]
    return text(matched_steps[-1]) if matched_steps else None


def check_calls(records: Iterable[CallRecord], presence_events: Iterable[CallEvent], tables: TableSource) -> Iterator[CallCheck]:
    """Check calls in order of their start; presence is folded alongside, up to just before each call."""
    presence = Presence()
    pending_events = iter(sorted(presence_events, key=lambda e: e.at))
    next_event = next(pending_events, None)
    for record in records:
        while next_event is not None and next_event.at < record.started:
            presence.apply(next_event)
            next_event = next(pending_events, None)
        states = presence.router_states(record.queues)
        yield check_call(record, states, tables.effective(record.started), partial(tables.pending, record.started))


def evidence(checks: Iterable[CallCheck], tables: TableSource, *, examples: int = 5) -> list[Evidence]:
    """Per unconfirmed version, the deviating calls it allows (see the module's docstring)."""
    found: dict[int, list[CallCheck]] = {}
    for check in checks:
        if check.verdict == "deviates" and check.follows_version is not None:
            found.setdefault(check.follows_version, []).append(check)
    out = []
    for version, calls in sorted(found.items()):
        first = min(calls, key=lambda c: c.started)
        change = next((p for p, _ in tables.pending(first.started) if p.version == version), None)
        out.append(Evidence(version=version, change=change.topic.removeprefix("callroute/") if change else "",
                            saved_at=change.at if change else first.started, calls=len(calls), first_call=first.started,
                            last_call=max(c.started for c in calls), call_ids=tuple(c.call_id for c in calls[:examples])))
    return out


class ProjectionTables:
    """A ``TableSource`` over the routing projection (``core.projections.routing.RoutingProjection``) for one tenant."""

    def __init__(self, projection: object, slug: str) -> None:
        self.projection = projection
        self.slug = slug
        self._pending: dict[tuple[int, int], list[tuple[PendingChange, RoutingTable]]] = {}

    def effective(self, at: datetime) -> RoutingTable | None:
        return self.projection.effective(self.slug, at)  # type: ignore[attr-defined,no-any-return]

    def pending(self, at: datetime) -> Sequence[tuple[PendingChange, RoutingTable]]:
        timeline = self.projection.timeline(self.slug)  # type: ignore[attr-defined]
        key = (timeline.effective_version(at), timeline.desired_version(at))
        if key not in self._pending:
            items = []
            for change in self.projection.pending(self.slug, at):  # type: ignore[attr-defined]
                table = self.projection.desired(self.slug, change.at)  # type: ignore[attr-defined]
                if table is not None and table.version == change.version:
                    items.append((change, table))
            self._pending[key] = items
        return self._pending[key]
