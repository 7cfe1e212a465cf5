"""Call history: the fold's rules, and that any arrival order or re-report of a call's events gives one and the same record."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.calls.events import (
    CallEnded,
    CallEvent,
    CallStarted,
    LegAnswered,
    LegEnded,
    LegRinging,
    QueueJoined,
    QueueLeft,
    VoicemailReached,
)
from core.calls.history import call_history, fold_call, group_by_call

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
PBX = "stockholm"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def started(call: str = "c1", dialled: str = "+46812345600", caller: str | None = "+441234567890", **more: object) -> CallStarted:
    return CallStarted(pbx=PBX, at=at(0), call_id=call, dialled=dialled, caller=caller, key=f"{call}:start", **more)  # type: ignore[arg-type]


def ringing(leg: str, endpoint: str, t: float, call: str = "c1", **more: object) -> LegRinging:
    return LegRinging(pbx=PBX, at=at(t), call_id=call, leg=leg, endpoint=endpoint, key=f"{call}:{leg}:ring", **more)  # type: ignore[arg-type]


def answered(leg: str, endpoint: str, t: float, call: str = "c1", **more: object) -> LegAnswered:
    return LegAnswered(pbx=PBX, at=at(t), call_id=call, leg=leg, endpoint=endpoint, key=f"{call}:{leg}:answer", **more)  # type: ignore[arg-type]


def leg_ended(leg: str, status: str, t: float, call: str = "c1", **more: object) -> LegEnded:
    return LegEnded(pbx=PBX, at=at(t), call_id=call, leg=leg, status=status, key=f"{call}:{leg}:end", **more)  # type: ignore[arg-type]


def ended(t: float, cause: int | None = 16, call: str = "c1") -> CallEnded:
    return CallEnded(pbx=PBX, at=at(t), call_id=call, cause=cause, cause_text="Normal Clearing" if cause == 16 else None,
                     key=f"{call}:end")


def queue_call_answered_by_second_agent() -> list[CallEvent]:
    """Seed 004's queue: 2002 rings out (NOANSWER), 2003 answers; the caller talks 100 s."""
    return [
        started(dialled="+46812345601"),
        QueueJoined(pbx=PBX, at=at(5), call_id="c1", queue="support", position=1, key="c1:qjoin"),
        ringing("a1", "2002", 6, queue="support"),
        leg_ended("a1", "no_answer", 26, endpoint="2002", queue="support"),
        ringing("a2", "2003", 27, queue="support"),
        answered("a2", "2003", 30, answered_by="agent", queue="support"),
        QueueLeft(pbx=PBX, at=at(30), call_id="c1", queue="support", key="c1:qleave"),
        leg_ended("a2", "answered", 130, endpoint="2003", queue="support"),
        ended(130),
    ]


def test_a_queue_call_another_agent_answers_is_answered_and_missed_by_nobody() -> None:
    record = fold_call(queue_call_answered_by_second_agent())
    assert record is not None
    assert (record.outcome, record.answered_by, record.answered_kind, record.answered) == ("answered", "2003", "agent", at(30))
    assert record.missed_by == ()
    assert record.queues == ("support",)
    assert (record.duration_seconds, record.talk_seconds, record.cause) == (130.0, 100.0, 16)
    assert (record.caller, record.presentation, record.dialled, record.pbx) == ("+441234567890", "allowed", "+46812345601", PBX)


def test_a_cancelled_agent_leg_in_an_answered_queue_call_is_not_missed_either() -> None:
    events = [started(), QueueJoined(pbx=PBX, at=at(1), call_id="c1", queue="support"),
              ringing("a1", "2002", 2, queue="support"), ringing("a2", "2003", 2, queue="support"),
              answered("a2", "2003", 8, answered_by="agent", queue="support"),
              leg_ended("a1", "cancel", 8, endpoint="2002", queue="support"),
              QueueLeft(pbx=PBX, at=at(8), call_id="c1", queue="support"), ended(60)]
    record = fold_call(events)
    assert record is not None and (record.outcome, record.missed_by) == ("answered", ())


def test_voicemail_after_nobody_answered_names_the_box_and_who_missed_it() -> None:
    events = [started(dialled="2001", caller="2004"), ringing("l1", "2001", 1), leg_ended("l1", "no_answer", 21, endpoint="2001"),
              VoicemailReached(pbx=PBX, at=at(21), call_id="c1", mailbox="2001", key="c1:vm"), ended(50)]
    record = fold_call(events)
    assert record is not None
    assert (record.outcome, record.mailbox, record.answered_by, record.missed_by) == ("voicemail", "2001", None, ("2001",))


def test_voicemail_reported_as_an_answer_by_the_voicemail_application_is_voicemail() -> None:
    events = [started(), answered("vm", "2001", 20, answered_by="voicemail"), ended(40)]
    record = fold_call(events)
    assert record is not None and (record.outcome, record.mailbox, record.answered) == ("voicemail", "2001", None)


def test_a_caller_who_hangs_up_in_the_queue_abandoned_it() -> None:
    events = [started(), QueueJoined(pbx=PBX, at=at(1), call_id="c1", queue="support"),
              ringing("a1", "2002", 2, queue="support"), leg_ended("a1", "cancel", 40, endpoint="2002", queue="support"),
              QueueLeft(pbx=PBX, at=at(40), call_id="c1", queue="support", abandoned=True), ended(40)]
    record = fold_call(events)
    assert record is not None and (record.outcome, record.missed_by) == ("abandoned", ("2002",))


def test_a_call_that_ends_while_still_in_the_queue_is_abandoned_too() -> None:
    events = [started(), QueueJoined(pbx=PBX, at=at(1), call_id="c1", queue="support"), ended(40)]
    assert fold_call(events).outcome == "abandoned"  # type: ignore[union-attr]


def test_a_busy_phone_makes_a_busy_call() -> None:
    events = [started(dialled="2001"), ringing("l1", "2001", 0.5), leg_ended("l1", "busy", 1, endpoint="2001"), ended(2, cause=17)]
    record = fold_call(events)
    assert record is not None and (record.outcome, record.cause) == ("busy", 17)


def test_without_legs_the_cause_decides_busy_failed_or_no_answer() -> None:
    assert fold_call([started(), ended(1, cause=17)]).outcome == "busy"  # type: ignore[union-attr]
    assert fold_call([started(), ended(1, cause=1)]).outcome == "failed"  # type: ignore[union-attr]
    assert fold_call([started(), ended(1, cause=16)]).outcome == "no_answer"  # type: ignore[union-attr]
    assert fold_call([started(), ended(1, cause=None)]).outcome == "no_answer"  # type: ignore[union-attr]


def test_legs_that_all_failed_make_a_failed_call_and_legs_that_rang_out_no_answer() -> None:
    failed = [started(), ringing("l1", "2001", 0), leg_ended("l1", "unavailable", 1, endpoint="2001"), ended(1, cause=20)]
    assert fold_call(failed).outcome == "failed"  # type: ignore[union-attr]
    rang_out = [started(), ringing("l1", "2001", 0), ringing("l2", "2002", 0), leg_ended("l1", "busy", 1),
                leg_ended("l2", "no_answer", 30), ended(30)]
    record = fold_call(rang_out)
    assert record is not None and (record.outcome, record.missed_by) == ("no_answer", ("2001", "2002"))


def test_a_member_on_another_pbx_answering_the_department_call_is_in_the_history() -> None:
    """Seed 003: calls of the department a member of another PBX took show in the department's own history."""
    events = [started(), ringing("l1", "2001", 0, group="reception"), leg_ended("l1", "no_answer", 20, endpoint="2001"),
              ringing("l2", "nordic-dental-malmo/3001", 20, group="reception"),
              leg_ended("l2", "no_answer", 45, endpoint="nordic-dental-malmo/3001"),
              ringing("l3", "kyiv-office/101", 45, group="reception"),
              answered("l3", "kyiv-office/101", 50, answered_by="member", group="reception"), ended(170)]
    record = fold_call(events)
    assert record is not None
    assert (record.outcome, record.answered_by, record.answered_kind, record.groups) == (
        "answered", "kyiv-office/101", "member", ("reception",))
    assert record.missed_by == ()


def test_a_withheld_caller_is_not_shown() -> None:
    record = fold_call([started(caller="anonymous"), ended(3)])
    assert record is not None and (record.caller, record.presentation) == (None, "restricted")
    record = fold_call([started(caller="+441234567890", presentation="restricted"), ended(3)])
    assert record is not None and (record.caller, record.presentation) == (None, "restricted")


def test_a_call_that_has_not_ended_has_no_record_yet() -> None:
    assert fold_call([started(), ringing("l1", "2001", 1)]) is None
    assert list(call_history([[started()], [started("c2"), ended(1, call="c2")]])) == [
        fold_call([started("c2"), ended(1, call="c2")])]


def test_group_by_call_separates_calls_and_leaves_presence_out() -> None:
    from core.calls.events import EndpointStateChanged

    events = [started("a"), started("b"), EndpointStateChanged(pbx=PBX, at=at(0), endpoint="2001", state="busy"), ended(1, call="a")]
    assert [[e.call_id for e in call] for call in group_by_call(events)] == [["a", "a"], ["b"]]  # type: ignore[attr-defined]


CALLS = [
    queue_call_answered_by_second_agent(),
    [started(), ringing("l1", "2001", 1), leg_ended("l1", "no_answer", 21, endpoint="2001"),
     VoicemailReached(pbx=PBX, at=at(21), call_id="c1", mailbox="2001"), ended(50)],
    [started(), QueueJoined(pbx=PBX, at=at(1), call_id="c1", queue="support"), ringing("a1", "2002", 2, queue="support"),
     leg_ended("a1", "cancel", 40, endpoint="2002"), QueueLeft(pbx=PBX, at=at(40), call_id="c1", queue="support", abandoned=True),
     ended(40)],
    [started(), ringing("l1", "2001", 0), leg_ended("l1", "busy", 0), ended(1, cause=17)],
    # Events at one instant, some without keys: the order of a call's life decides among them.
    [started(), ringing("l1", "2001", 0), ringing("l2", "kyiv-office/101", 0),
     LegAnswered(pbx=PBX, at=at(0), call_id="c1", leg="l2", endpoint="kyiv-office/101", answered_by="member"),
     LegEnded(pbx=PBX, at=at(0), call_id="c1", leg="l1", status="cancel"), ended(0)],
]


@pytest.mark.parametrize("index", range(len(CALLS)))
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_any_order_and_any_re_report_of_a_calls_events_gives_the_same_one_record(index: int, data: st.DataObject) -> None:
    events = CALLS[index]
    expected = fold_call(events)
    assert expected is not None
    repeated = data.draw(st.lists(st.sampled_from(events), max_size=len(events) * 2), label="re-reported")
    shuffled = data.draw(st.permutations(events + repeated), label="arrival order")
    assert fold_call(shuffled) == expected
    assert list(call_history([shuffled])) == [expected]


def test_the_outcome_changes_when_the_answer_is_taken_away() -> None:
    """The property above would hold for a fold that ignored its input: the outcome must follow the events."""
    events = queue_call_answered_by_second_agent()
    without_answer = [e for e in events if not isinstance(e, LegAnswered) and getattr(e, "status", None) != "answered"]
    record = fold_call(without_answer)
    assert record is not None and record.outcome == "no_answer" and record.missed_by == ("2002", "2003")
