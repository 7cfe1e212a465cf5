"""Routing skips a member of another PBX that the PBX directory stopped listing, and says so."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec

from core.aggregates.catalog import PbxLink, UnknownPbxMember
from core.aggregates.groups import CloudMember, SipMember
from core.aggregates.services import ForwardingScheme, SchemeStep
from core.aggregates.targets import ToExtension, ToRemote, ToScheme
from core.routing import Missed, RoutingMemory, RoutingTable
from tests.core.routing_builders import MAIN, decide, group, legs, steps, table, team_table, user

ELIN = CloudMember(pbx="malmo", member="3001")
FARID = CloudMember(pbx="malmo", member="3002")
OFFICE_205 = SipMember(pbx="kyiv-office", internal_number="205")
SINCE = datetime(2026, 6, 9, 8, 30, tzinfo=UTC)
"""Tuesday 10:30 CEST."""
GONE = "cloud PBX 'malmo' has no member '3001' in its list"


def with_marks(routing: RoutingTable, **unknown: tuple[str, ...]) -> RoutingTable:
    """``routing`` linked to cloud PBX malmo and SIP PBX kyiv-office, with the given members marked unknown."""
    links = {pbx: PbxLink(id=pbx, kind=kind, name=pbx.title(),
                          unknown_members={m: UnknownPbxMember(since=SINCE, finding=GONE) for m in unknown.get(pbx.replace("-", "_"), ())})
             for pbx, kind in (("malmo", "cloud"), ("kyiv-office", "sip"))}
    return msgspec.structs.replace(routing, pbx_links=links)


def test_a_member_marked_unknown_is_skipped() -> None:
    decision = decide(with_marks(team_table(group("sales", "2001", ELIN, FARID)), malmo=("3001",)), MAIN)
    assert legs(decision.plan) == ["2001", "malmo/3002"]


def test_the_explanation_says_since_when_and_why_a_member_is_skipped() -> None:
    decision = decide(with_marks(team_table(group("sales", "2001", ELIN)), malmo=("3001",)), MAIN)
    (skipped,) = [s for s in steps(decision, "member") if not s.matched]
    assert skipped.reason == f"malmo/3001 is unknown since tue 2026-06-09 10:30:00 CEST ({GONE}): skipped"


def test_a_mark_on_one_pbx_leaves_the_same_member_id_on_another_pbx_ringing() -> None:
    same_number = SipMember(pbx="kyiv-office", internal_number="3001")
    decision = decide(with_marks(team_table(group("sales", ELIN, same_number)), malmo=("3001",)), MAIN)
    assert legs(decision.plan) == ["kyiv-office/3001"]


def test_a_group_whose_only_member_is_unknown_goes_to_its_fallback_at_once() -> None:
    sales = group("sales", ELIN, fallback=ToExtension(extension="2004"))
    plan = decide(with_marks(team_table(sales), malmo=("3001",)), MAIN).plan
    assert legs(plan) == ["2004"]


def test_a_fallback_on_another_pbx_marked_unknown_is_skipped_as_a_missed_call() -> None:
    sales = group("sales", "2001", fallback=ToRemote(pbx="kyiv-office", member="205"))
    decision = decide(with_marks(team_table(sales), kyiv_office=("205",)), MAIN)
    assert decision.plan.then == Missed()
    (step,) = steps(decision, "PBX member")
    assert step.reason.startswith("kyiv-office/205 is unknown since") and not step.matched


def test_a_fallback_on_another_pbx_rings_while_not_marked() -> None:
    sales = group("sales", "2001", fallback=ToRemote(pbx="kyiv-office", member="205"))
    decision = decide(with_marks(team_table(sales), kyiv_office=("101",)), MAIN)
    assert legs(decision.plan.then) == ["kyiv-office/205"]


def test_round_robin_does_not_offer_first_to_a_member_marked_unknown() -> None:
    sales = group("sales", ELIN, "2001", strategy="round_robin")
    decision = decide(with_marks(team_table(sales), malmo=("3001",)), MAIN, memory=RoutingMemory())
    assert decision.memory.last_offered == {"sales": "2001"}


def test_a_scheme_step_to_a_member_marked_unknown_goes_on_to_the_next_step() -> None:
    scheme = ForwardingScheme(name="Sales", steps=(SchemeStep(destination=ToRemote(pbx="malmo", member="3001"), timeout_seconds=30),
                                                   SchemeStep(destination=ToExtension(extension="2001"), timeout_seconds=30)))
    routing = table(user("2001"), schemes={"sales": scheme}, numbers={MAIN: ToScheme(scheme="sales")})
    assert legs(decide(with_marks(routing, malmo=("3001",)), MAIN).plan) == ["2001"]
