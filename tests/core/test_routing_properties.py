"""The decision as a value: what its plan depends on, and the explained and unexplained paths agreeing.

A decision made without its explanation (``route(..., explain=False)``, what the simulator
asks for) must carry the same plan, memory, dependencies and anonymous-rejection flag as
one made with it, whatever the table, call, endpoint states and memory; and the
explanation, when asked for, must be the one the explaining path gives.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.aggregates.dated import OWN_HANDLING, Closure, ClosureScope
from core.aggregates.groups import CloudMember, GroupMember, LocalMember
from core.aggregates.hours import OpeningHours, Window
from core.aggregates.schedule import AvailableAllDay, OutOfHours, UnavailableAllDay, UnavailableBetween
from core.aggregates.services import BackupStep, CallQueue, ForwardingScheme, IvrMenu, SchemeStep
from core.aggregates.targets import BusyTone as BusyToneHandling
from core.aggregates.targets import (
    ForwardTo,
    HandleWithVoicemail,
    MessageAndHangUp,
    NoAnswerRule,
    Off,
    PlayMessage,
    TextToSpeech,
    ToExtension,
    ToExternalSip,
    ToGroup,
    ToIvr,
    ToNumber,
    ToQueue,
    ToRemote,
    ToResponsibleManager,
    ToScheme,
    ToVoicemail,
    ToWebhook,
)
from core.routing import Call, Decision, RoutingMemory, RoutingTable, UserRule, route
from tests.core.routing_builders import (
    CALLER,
    MAIN,
    MOBILE,
    NOT_IN_USE,
    OTHER_MOBILE,
    PROMPT,
    SIP_URI,
    SORRY,
    TEAM,
    WEBHOOK,
    decide,
    group,
    office_scheme,
    queue_table,
    table,
    team_table,
    user,
)

STRATEGIES = ("sequential", "simultaneous", "round_robin", "least_recent", "random")


def test_decision_is_a_plain_value_that_round_trips_through_json() -> None:
    routing = team_table(group("sales", *TEAM, strategy="round_robin", fallback=ToVoicemail(extension="2004")))
    decision = decide(routing, MAIN)
    assert msgspec.json.decode(msgspec.json.encode(decision), type=Decision) == decision


def test_the_same_call_gives_the_same_decision() -> None:
    routing = team_table(group("sales", *TEAM, strategy="random"))
    memory = RoutingMemory(seed=9)
    assert decide(routing, MAIN, memory=memory, call_id="x") == decide(routing, MAIN, memory=memory, call_id="x")


MIDNIGHT = datetime(2026, 6, 13, 22, 30, tzinfo=UTC)
"""Sunday 00:30 CEST: outside any office hours."""


DEPENDENCY_CASES = {
    "voicemail only": (table(user("2001", forward_always=ToVoicemail()), numbers={MAIN: ToExtension(extension="2001")}), set()),
    "ringing a user": (table(user("2001"), numbers={MAIN: ToExtension(extension="2001")}), {"states"}),
    "queue without no-agents": (queue_table(), {"agents"}),
    "queue with no-agents": (queue_table(when_no_agents=ToVoicemail(extension="2003")), {"states"}),
    "scheme with working hours": (office_scheme(), {"time", "states"}),
    "user with a holiday": (msgspec.structs.replace(table(user("2001"), numbers={MAIN: ToExtension(extension="2001")}),
                                                    closures=(Closure(name="Sunday off", first_day=date(2026, 6, 14)),)),
                            {"time", "states"}),
    "round robin group": (table(user("2001"), user("2002"), groups=(group("sales", "2001", "2002", strategy="round_robin"),),
                                numbers={MAIN: ToGroup(group="sales")}), {"states", "memory"}),
}


@pytest.mark.parametrize("case", DEPENDENCY_CASES)
def test_a_decision_names_what_its_plan_depends_on(case: str) -> None:
    routing, expected = DEPENDENCY_CASES[case]
    assert decide(routing, MAIN).depends_on == expected


@pytest.mark.parametrize("case", DEPENDENCY_CASES)
def test_a_plan_that_depends_on_neither_time_nor_states_is_the_same_at_any_time_and_in_any_state(case: str) -> None:
    routing, _ = DEPENDENCY_CASES[case]
    base = decide(routing, MAIN)
    unavailable = {"2001": "unreachable", "2002": "busy", "2003": "excluded"}
    if "time" not in base.depends_on:
        assert decide(routing, MAIN, at=MIDNIGHT).plan == base.plan
    else:
        assert decide(routing, MAIN, at=MIDNIGHT).plan != base.plan
    if not base.depends_on & {"states", "agents"}:
        assert decide(routing, MAIN, states=unavailable).plan == base.plan
    else:
        assert decide(routing, MAIN, states=unavailable).plan != base.plan


EXTENSIONS = ("2001", "2002", "2003", "2004")
GROUPS = ("g1", "g2")
SPARE_NUMBER = "+46812345601"
"""Routed nowhere: unassigned-number handling."""
WEEK = datetime(2026, 3, 23, tzinfo=UTC)
"""Monday before the Europe/Stockholm spring-forward change: random instants cross it."""

extensions = st.sampled_from(EXTENSIONS)
seconds = st.sampled_from((15, 20, 30, 45))
numbers = st.builds(ToNumber, number=st.sampled_from((MOBILE, "+441234567891")), announce=st.booleans(), always=st.booleans())
greetings = st.builds(TextToSpeech, text=st.sampled_from(("Hello", "Closed")), language=st.just("en"))
divert_targets = st.one_of(st.just(Off()), st.builds(ToVoicemail, extension=st.none() | extensions),
                           st.builds(ToExtension, extension=extensions), numbers)
destinations = st.one_of(
    st.builds(ToExtension, extension=extensions), st.builds(ToVoicemail, extension=st.none() | extensions), numbers,
    st.builds(ToGroup, group=st.sampled_from(GROUPS)), st.just(ToQueue(queue="q")), st.just(ToIvr(ivr="main")),
    st.just(ToScheme(scheme="s")), st.just(ToExternalSip(uri=SIP_URI)), st.just(ToRemote(pbx="malmo", member="3001")),
    st.just(ToWebhook(url=WEBHOOK)), st.just(ToResponsibleManager()), st.builds(PlayMessage, message=greetings),
)
clock_times = st.sampled_from(("00:00", "02:30", "08:00", "09:00", "12:00", "17:30", "18:00", "23:00"))
weekdays = st.sampled_from(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))
day_schedules = st.one_of(st.just(AvailableAllDay()), st.just(UnavailableAllDay()),
                          st.builds(UnavailableBetween, start=clock_times, end=clock_times))
hours = st.builds(OpeningHours, days=st.dictionaries(weekdays, st.lists(st.builds(Window, start=clock_times, end=clock_times),
                                                                       max_size=2).map(tuple), max_size=4))


scopes = st.none() | st.builds(ClosureScope, users=st.lists(extensions, unique=True, max_size=2).map(tuple),
                                groups=st.lists(st.sampled_from(GROUPS), unique=True, max_size=1).map(tuple),
                                queues=st.sampled_from(((), ("q",))), ivrs=st.sampled_from(((), ("main",))),
                                schemes=st.sampled_from(((), ("s",))))
closures = st.builds(Closure, name=st.sampled_from(("a", "b")), first_day=st.dates(date(2026, 3, 21), date(2026, 3, 31)),
                     last_day=st.none() | st.dates(date(2026, 3, 31), date(2026, 4, 2)),
                     hours=st.none() | st.builds(Window, start=clock_times, end=clock_times), yearly=st.booleans(),
                     destination=st.just(OWN_HANDLING) | destinations, scope=scopes)
"""Closures around the week of calls below, which crosses the spring-forward change (not always valid commands: routing
copes with whatever the table holds)."""


@st.composite
def user_rules(draw: st.DrawFn, ext: str) -> UserRule:
    schedule = draw(st.none() | st.builds(OutOfHours, days=st.dictionaries(weekdays, day_schedules, max_size=4),
                                          when_unavailable=st.sampled_from((ToVoicemail(), ToExtension(extension="2004")))))
    return user(ext, reject_anonymous=draw(st.booleans()), forward_always=draw(st.sampled_from((Off(), Off(), ToVoicemail()))),
                permanent_redirect=draw(st.none() | st.just(OTHER_MOBILE)), out_of_hours=schedule,
                unreachable=draw(divert_targets), busy=draw(divert_targets), call_waiting=draw(st.booleans()),
                no_answer=NoAnswerRule(target=draw(divert_targets), ring_seconds=draw(seconds)),
                rejected=draw(st.sampled_from((HandleWithVoicemail(), BusyToneHandling(), MessageAndHangUp(message=SORRY),
                                               ForwardTo(target=ToExtension(extension="2004"))))))


@st.composite
def tables(draw: st.DrawFn) -> RoutingTable:
    """A tenant where every group, queue, menu and scheme a destination may name exists."""
    members = st.builds(GroupMember, ref=st.one_of(st.builds(LocalMember, extension=extensions),
                                                   st.just(CloudMember(pbx="malmo", member="3001"))),
                        ring_seconds=seconds, excluded=st.booleans())
    groups = tuple(group(key, *draw(st.lists(members, max_size=5)), strategy=draw(st.sampled_from(STRATEGIES)),
                         fallback=draw(st.none() | st.builds(ToGroup, group=st.sampled_from(GROUPS))
                                       | st.just(ToVoicemail(extension="2001"))))
                   for key in GROUPS)
    queue = CallQueue(name="Queue", agents=tuple(draw(st.lists(extensions, unique=True, max_size=3))),
                      after_max_wait=draw(st.none() | destinations), when_no_agents=draw(st.none() | destinations))
    menu = IvrMenu(name="Main", prompt=PROMPT, options=draw(st.dictionaries(st.sampled_from("0123"), destinations, max_size=3)),
                   on_invalid=draw(st.none() | destinations), on_no_input=draw(st.none() | destinations),
                   opening_hours=draw(st.none() | hours), when_closed=draw(st.none() | destinations))
    steps = st.builds(SchemeStep, destination=st.one_of(st.builds(ToExtension, extension=extensions), numbers,
                                                        st.just(ToWebhook(url=WEBHOOK)), st.just(ToGroup(group="g1")),
                                                        st.just(ToVoicemail(extension="2002"))), timeout_seconds=seconds)
    scheme = ForwardingScheme(name="Scheme", steps=tuple(draw(st.lists(steps, min_size=1, max_size=3))),
                              mode=draw(st.sampled_from(("sequential", "parallel"))), working_hours=draw(st.none() | hours),
                              outside_hours=draw(st.none() | destinations),
                              backup=tuple(draw(st.lists(st.builds(BackupStep, destination=numbers), max_size=2))))
    routing = table(*(draw(user_rules(ext)) for ext in EXTENSIONS), groups=groups, queues={"q": queue}, ivrs={"main": menu},
                    schemes={"s": scheme}, numbers={MAIN: draw(destinations), SPARE_NUMBER: None},
                    unassigned=draw(st.sampled_from((BusyToneHandling(), MessageAndHangUp(message=NOT_IN_USE)))))
    return msgspec.structs.replace(routing, closures=tuple(draw(st.lists(closures, max_size=3))))


calls = st.builds(Call, dialled=st.sampled_from((MAIN, MAIN, SPARE_NUMBER, *EXTENSIONS)),
                  at=st.integers(0, 7 * 24 * 3600 - 1).map(lambda s: WEEK + timedelta(seconds=s)),
                  caller=st.none() | st.just(CALLER), digits=st.none() | st.text("0123", max_size=3), call_id=st.sampled_from("abc"))
endpoint_states = st.dictionaries(st.sampled_from((*EXTENSIONS, "malmo/3001")),
                                  st.sampled_from(("available", "busy", "unreachable", "excluded")), max_size=4)
memories = st.builds(RoutingMemory, last_offered=st.dictionaries(st.sampled_from(GROUPS), st.sampled_from((*EXTENSIONS, "malmo/3001")),
                                                                 max_size=2),
                     last_answered=st.dictionaries(extensions, st.floats(0, 1e9), max_size=3), seed=st.integers(0, 3))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables(), calls, endpoint_states, memories, st.integers(2, 8))
def test_a_decision_without_its_explanation_is_the_decision_with_it(routing: RoutingTable, call: Call, states: dict[str, Any],
                                                                    memory: RoutingMemory, hop_limit: int) -> None:
    unexplained = route(routing, call, states, memory, hop_limit=hop_limit)
    explained = route(routing, call, states, memory, hop_limit=hop_limit, explain=True)
    assert unexplained.plan == explained.plan
    assert unexplained.memory == explained.memory
    assert unexplained.depends_on == explained.depends_on
    assert unexplained.rejected_anonymous == explained.rejected_anonymous
    assert unexplained.explanation == ()
    # Asked for again, after the unexplained path has filled the shared caches, the explanation is the same.
    again = route(routing, call, states, memory, hop_limit=hop_limit, explain=True)
    assert again.explanation == explained.explanation
    assert explained.explanation[0].rule == "entry" and explained.explanation[0].depth == 0
    assert explained.rejected_anonymous == any(s.rule == "anonymous rejection" and s.matched for s in explained.explanation)
