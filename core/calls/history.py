"""Call history: one record per finished call, folded from the call's stored events.

The fold is a pure function of the *set* of a call's events: they are put in one total
order first (instant, then the natural order of a call's life, then key and content), and
duplicates (the same key, or the same content) count once. So any order of arrival, and
any number of re-reports after a reconnect, give the same record.

Rules, in order:

- **answered**: some leg was answered by a person (an extension, a queue agent, a member
  on another PBX, an outside number). The first such answer names who and when. An agent
  leg that rang out (``no_answer``) or was cancelled in a queue call another agent
  answered is not a missed call: the call is answered and nobody missed it.
- **voicemail**: no person answered and a voicemail box took the call.
- **abandoned**: no person answered, no voicemail, and the caller left a queue by hanging
  up (the PBX said so, or the call ended while still in the queue).
- **busy**: every leg that ended unanswered ended busy (or busy and failed), or no leg rang
  and the call ended with Q.850 cause 17 (user busy).
- **failed**: every leg failed or was unavailable, or no leg rang and the cause is a
  failure (unallocated number, network out of order, congestion, ...).
- **no_answer**: anything else (legs rang out, the caller hung up while they rang).

``missed_by`` lists the endpoints that rang and did not answer a call nobody answered.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

import msgspec

from core.calls.events import (
    AnsweredBy,
    CallEnded,
    CallEvent,
    CallStarted,
    LegAnswered,
    LegEnded,
    LegRinging,
    LegStatus,
    Outcome,
    QueueJoined,
    QueueLeft,
    VoicemailReached,
)
from core.routing.caller import Presentation, normalise_caller

OUTCOMES: tuple[Outcome, ...] = ("answered", "busy", "no_answer", "abandoned", "voicemail", "failed")

BUSY_CAUSE = 17
FAILURE_CAUSES = frozenset({1, 2, 3, 22, 27, 28, 34, 38, 41, 42, 44, 47, 50, 58, 63, 65, 66, 69, 79, 88, 95, 111, 127})
"""Q.850 causes that mean the call could not be put through (not a normal clearing, busy or no answer)."""

_RANK = {CallStarted: 0, QueueJoined: 1, LegRinging: 2, LegAnswered: 3, VoicemailReached: 4, LegEnded: 5, QueueLeft: 6, CallEnded: 7}
"""A call's life in order, for events reported at the same instant."""
_ENCODE = msgspec.json.Encoder(order="sorted").encode


class CallRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One finished call, as ``callroute history`` shows it."""

    call_id: str
    pbx: str
    """The PBX that reported the call."""
    caller: str | None
    """The caller id, when it may be shown (``None``: withheld or none delivered)."""
    presentation: Presentation
    dialled: str | None
    started: datetime
    answered: datetime | None
    answered_by: str | None
    """Who answered: an extension, an agent, ``pbx/member`` on another PBX, or a number."""
    answered_kind: AnsweredBy | None
    queues: tuple[str, ...]
    """The queues the call passed, in order."""
    groups: tuple[str, ...]
    """The answer groups the call passed, in order."""
    outcome: Outcome
    mailbox: str | None
    ended: datetime
    duration_seconds: float
    """From the start to the end of the call."""
    talk_seconds: float | None
    """From the answer to the end (``None``: not answered)."""
    cause: int | None
    cause_text: str | None
    missed_by: tuple[str, ...]


def _order(event: CallEvent) -> tuple[Any, ...]:
    return (event.at, _RANK.get(type(event), 9), event.key, _ENCODE(event))


def unique_in_order(events: Iterable[CallEvent]) -> list[CallEvent]:
    """The call's events in the fold's total order, each reported event once (by key, else by content)."""
    ordered = sorted(events, key=_order)
    seen_keys: set[str] = set()
    out: list[CallEvent] = []
    previous: CallEvent | None = None
    for event in ordered:
        if event.key:
            if event.key in seen_keys:
                continue
            seen_keys.add(event.key)
        elif previous is not None and event == previous:
            continue
        out.append(event)
        previous = event
    return out


def fold_call(events: Iterable[CallEvent]) -> CallRecord | None:
    """The record of one call (all events share a PBX and a call id), or ``None`` while it has not ended."""
    ordered = unique_in_order(events)
    if not ordered:
        return None
    ends = [e for e in ordered if isinstance(e, CallEnded)]
    if not ends:
        return None
    end = ends[0]
    first = ordered[0]
    starts = [e for e in ordered if isinstance(e, CallStarted)]
    start = starts[0] if starts else None
    started = start.at if start is not None else first.at
    if start is not None:
        try:
            caller, presentation = normalise_caller(start.caller, presentation=start.presentation)
        except ValueError:  # a presentation no PBX should send: the caller is not shown
            caller, presentation = None, "unavailable"
    else:
        caller, presentation = None, "unavailable"

    queues: dict[str, None] = {}
    groups: dict[str, None] = {}
    rang: dict[str, None] = {}
    answered_legs: set[str] = set()
    leg_status: dict[str, tuple[LegStatus, str | None]] = {}
    answer: LegAnswered | None = None
    late_answer: LegEnded | None = None
    mailbox: str | None = None
    joined: set[str] = set()
    left: set[str] = set()
    abandoned = False
    for event in ordered:
        match event:
            case QueueJoined(queue=queue):
                queues.setdefault(queue)
                joined.add(queue)
            case QueueLeft(queue=queue, abandoned=gave_up):
                queues.setdefault(queue)
                left.add(queue)
                abandoned = abandoned or gave_up
            case LegRinging(leg=leg, endpoint=endpoint, queue=queue, group=group):
                rang.setdefault(endpoint)
                leg_status.setdefault(leg, ("no_answer", endpoint))
                if queue:
                    queues.setdefault(queue)
                if group:
                    groups.setdefault(group)
            case LegAnswered(leg=leg, answered_by=kind, queue=queue, group=group):
                answered_legs.add(leg)
                if queue:
                    queues.setdefault(queue)
                if group:
                    groups.setdefault(group)
                if kind == "voicemail":
                    mailbox = mailbox or event.endpoint
                elif answer is None:
                    answer = event
            case VoicemailReached(mailbox=box):
                mailbox = mailbox or box
            case LegEnded(leg=leg, status=status, endpoint=endpoint, queue=queue):
                if queue:
                    queues.setdefault(queue)
                if status == "answered":
                    answered_legs.add(leg)
                    if late_answer is None:
                        late_answer = event
                elif leg not in answered_legs:
                    known = leg_status.get(leg)
                    leg_status[leg] = (status, endpoint or (known[1] if known else None))
    answered_kind: AnsweredBy | None = None
    answered_by: str | None = None
    answered_at: datetime | None = None
    if answer is not None:
        answered_at, answered_by, answered_kind = answer.at, answer.endpoint, answer.answered_by
    elif late_answer is not None and late_answer.endpoint is not None:
        # The leg's end says it was answered, its answer was not heard: who, but not when.
        answered_by, answered_kind = late_answer.endpoint, "agent" if late_answer.queue else "extension"
    unanswered = {leg: status for leg, status in leg_status.items() if leg not in answered_legs}
    outcome = _outcome(answered_by is not None, mailbox is not None,
                       abandoned or bool(joined - left), [s for s, _ in unanswered.values()], end.cause)
    missed: tuple[str, ...] = ()
    if outcome != "answered":
        missed = tuple(dict.fromkeys(endpoint for _, endpoint in unanswered.values() if endpoint is not None))
    return CallRecord(
        call_id=first.call_id,  # type: ignore[attr-defined]
        pbx=first.pbx,
        caller=caller,
        presentation=presentation,
        dialled=start.dialled if start is not None else None,
        started=started,
        answered=answered_at,
        answered_by=answered_by,
        answered_kind=answered_kind,
        queues=tuple(queues),
        groups=tuple(groups),
        outcome=outcome,
        mailbox=mailbox if outcome == "voicemail" else None,
        ended=end.at,
        duration_seconds=max(0.0, (end.at - started).total_seconds()),
        talk_seconds=max(0.0, (end.at - answered_at).total_seconds()) if answered_at is not None else None,
        cause=end.cause,
        cause_text=end.cause_text,
        missed_by=missed,
    )


def _outcome(answered: bool, voicemail: bool, abandoned: bool, statuses: list[LegStatus], cause: int | None) -> Outcome:
    if answered:
        return "answered"
    if voicemail:
        return "voicemail"
    if abandoned:
        return "abandoned"
    ended = set(statuses)
    if ended:
        if ended <= {"busy", "failed", "unavailable"}:
            return "busy" if "busy" in ended else "failed"
        return "no_answer"
    if cause == BUSY_CAUSE:
        return "busy"
    if cause in FAILURE_CAUSES:
        return "failed"
    return "no_answer"


def call_history(calls: Iterable[Iterable[CallEvent]]) -> Iterator[CallRecord]:
    """The record of each finished call, given each call's events (unfinished calls are left out)."""
    for events in calls:
        record = fold_call(events)
        if record is not None:
            yield record


def group_by_call(events: Iterable[CallEvent]) -> list[list[CallEvent]]:
    """A stream's call events gathered per call (PBX and call id), in order of first appearance; presence left out."""
    calls: dict[tuple[str, str], list[CallEvent]] = {}
    for event in events:
        call_id = getattr(event, "call_id", None)
        if call_id is not None:
            calls.setdefault((event.pbx, call_id), []).append(event)
    return list(calls.values())
