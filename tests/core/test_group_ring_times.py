"""How members' ring times and a group's timeout combine, and members without a ring time of their own.

A member rings for its own time; the group's timeout ends all ringing. When every member
rings at once the call rings until the longest member time or the timeout, whichever comes
first. A member without a ring time of its own (``ring_seconds: null``) rings until the
timeout. A member stored without a ring time keeps meaning 20 s, as it always did.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from core.aggregates.context import Actor
from core.aggregates.groups import GroupMember, GroupSettings, LocalMember
from core.errors import NotFoundError, ValidationFailed
from core.routing import Ring
from core.service import CallrouteApp
from tests.core.conftest import events_of, rejected
from tests.core.routing_builders import MAIN, decide, group, member, steps, team_table, the_step, user_leg

ANN = LocalMember(extension="2001")
BOB = LocalMember(extension="2002")


def at_once(*members: Any, timeout: int = 25) -> Any:
    return decide(team_table(group("sales", *members, strategy="simultaneous", timeout_seconds=timeout)), MAIN)


@pytest.mark.parametrize(("own", "rings"), [(20, 20), (25, 25), (30, 25), (None, 25)],
                         ids=["shorter-than-timeout", "equal-to-timeout", "longer-than-timeout", "none"])
def test_a_member_ringing_at_once_rings_until_its_own_time_or_the_group_timeout_whichever_is_first(
    own: int | None, rings: int
) -> None:
    decision = at_once(member("2001", ring_seconds=own))
    assert the_step(decision, "if nobody answers").reason == f"after {rings} s (simultaneous): then nothing: a missed call"


@pytest.mark.parametrize(("own", "reason"), [
    (20, "2001 rings 20 s (its own ring time, within the group's 25 s timeout)"),
    (25, "2001 rings 25 s (its own ring time, the same as the group's timeout)"),
    (30, "2001 rings 25 s: the group's timeout cuts its own 30 s short"),
    (None, "2001 rings 25 s: no ring time of its own, so the group's timeout"),
], ids=["shorter-than-timeout", "equal-to-timeout", "longer-than-timeout", "none"])
def test_the_explanation_says_how_long_each_member_ringing_at_once_rings_and_why(own: int | None, reason: str) -> None:
    (step,) = steps(at_once(member("2001", ring_seconds=own)), "member")
    assert step.reason == reason


@pytest.mark.parametrize(("times", "reason"), [
    ((20, 24), "2 members ring at once; the call rings 24 s: "
               "the longest ring time of a member (24 s) ends before the group's 25 s timeout"),
    ((20, 25), "2 members ring at once; the call rings 25 s: the longest ring time of a member ends with the group's 25 s timeout"),
    ((20, 26), "2 members ring at once; the call rings 25 s: "
               "the group's 25 s timeout ends the ringing before the longest ring time of a member (26 s)"),
    ((20, None), "2 members ring at once; the call rings 25 s: the longest ring time of a member ends with the group's 25 s timeout"),
], ids=["longest-shorter", "longest-equal", "longest-longer", "one-without-own-time"])
def test_the_explanation_says_how_member_times_and_the_timeout_combine_when_all_ring_at_once(
    times: tuple[int | None, ...], reason: str
) -> None:
    decision = at_once(*(member(ext, ring_seconds=t) for ext, t in zip(("2001", "2002"), times, strict=True)))
    assert the_step(decision, "all at once").reason == reason


def test_a_member_without_its_own_ring_time_rings_for_the_group_timeout_in_the_plan() -> None:
    plan = at_once(member("2001", ring_seconds=None), member("2002", ring_seconds=20), timeout=40).plan
    assert isinstance(plan, Ring)
    assert (plan.legs, plan.limit_seconds) == ((user_leg("2001", 40), user_leg("2002", 20)), 40)


def test_a_member_ringing_at_once_keeps_its_own_time_in_the_plan_under_the_timeout_cap() -> None:
    plan = at_once(member("2001", ring_seconds=30)).plan
    assert (plan.legs, plan.limit_seconds) == ((user_leg("2001", 30),), 25)


def test_a_member_stored_without_a_ring_time_still_rings_20_s_at_once_under_a_longer_timeout() -> None:
    stored = msgspec.json.decode(b'{"ref": {"on": "local", "extension": "2001"}}', type=GroupMember)
    assert the_step(at_once(stored), "if nobody answers").reason.startswith("after 20 s")


def test_in_turn_a_member_without_its_own_ring_time_rings_until_the_group_timeout() -> None:
    decision = decide(team_table(group("sales", member("2001", ring_seconds=None), "2002", timeout_seconds=50)), MAIN)
    assert decision.plan.legs[0] == user_leg("2001", 50)
    assert steps(decision, "member")[0].reason == "2001 rings until the group's 50 s timeout (no ring time of its own)"


def test_a_single_member_ringing_at_once_is_explained_as_one_member() -> None:
    step = the_step(at_once(member("2001", ring_seconds=20)), "all at once")
    assert step.reason.startswith("1 member rings; the call rings 20 s:")


def test_in_turn_the_explanation_has_no_all_at_once_step() -> None:
    assert steps(decide(team_table(group("sales", "2001")), MAIN), "all at once") == []


def test_a_member_without_its_own_ring_time_is_stored_with_an_explicit_null(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.create_answer_group(actor=actor, tenant=acme, group="sales", settings=GroupSettings(name="Sales"))
    app.add_group_member(actor=actor, tenant=acme, group="sales", member=GroupMember(ref=ANN, ring_seconds=None))
    (stored,) = app.recorder.select_events(events_of(app, acme)[-1].originator_id, gt=len(events_of(app, acme)) - 1)
    assert app.mapper.decode_raw(stored.state)["member"] == {"ref": {"on": "local", "extension": "2001"}, "ring_seconds": None}
    assert app.tenant(acme).state.groups["sales"].members[0].ring_seconds is None


def test_a_member_added_without_a_ring_time_in_the_command_rings_20_s_as_before(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.create_answer_group(actor=actor, tenant=acme, group="sales", settings=GroupSettings(name="Sales"), members=(GroupMember(ref=ANN),))
    assert app.tenant(acme).state.groups["sales"].members[0].ring_seconds == 20


def test_clear_group_member_ring_time_lets_the_group_timeout_govern_the_member(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.create_answer_group(actor=actor, tenant=acme, group="sales", settings=GroupSettings(name="Sales"),
                            members=(GroupMember(ref=ANN, ring_seconds=30), GroupMember(ref=BOB)))
    app.clear_group_member_ring_time(actor=actor, tenant=acme, group="sales", member=ANN)
    assert [m.ring_seconds for m in app.tenant(acme).state.groups["sales"].members] == [None, 20]


def test_set_group_member_ring_time_gives_a_cleared_member_its_own_time_again(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.create_answer_group(actor=actor, tenant=acme, group="sales", settings=GroupSettings(name="Sales"),
                            members=(GroupMember(ref=ANN, ring_seconds=None),))
    app.set_group_member_ring_time(actor=actor, tenant=acme, group="sales", member=ANN, ring_seconds=20)
    assert app.tenant(acme).state.groups["sales"].members[0].ring_seconds == 20


def test_clear_group_member_ring_time_refuses_a_member_without_its_own_time(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.create_answer_group(actor=actor, tenant=acme, group="sales", settings=GroupSettings(name="Sales"),
                            members=(GroupMember(ref=ANN, ring_seconds=None),))
    with rejected(app, ValidationFailed, field="member", match="has no ring time of its own"):
        app.clear_group_member_ring_time(actor=actor, tenant=acme, group="sales", member=ANN)


def test_clear_group_member_ring_time_refuses_someone_who_is_not_a_member(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.create_answer_group(actor=actor, tenant=acme, group="sales", settings=GroupSettings(name="Sales"), members=(GroupMember(ref=ANN),))
    with rejected(app, NotFoundError, field="member", match="is not a member of sales"):
        app.clear_group_member_ring_time(actor=actor, tenant=acme, group="sales", member=BOB)
