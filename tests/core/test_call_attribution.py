"""Which tenant an event belongs to: the named one, or the one whose numbers include the dialled one; never a guess."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.calls.attribution import Attribution, Directory, number_forms
from core.calls.events import AgentStateChanged, CallEnded, CallStarted, EndpointStateChanged, LegRinging

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
DIRECTORY = Directory(numbers={"+46812345600": "nordic-dental", "+46401234500": "malmo"},
                      extensions={"nordic-dental": frozenset({"2001", "2002"}), "malmo": frozenset({"3001"})})


def start(call: str, dialled: str, pbx: str = "ast1", **more: object) -> CallStarted:
    return CallStarted(pbx=pbx, at=T0, call_id=call, dialled=dialled, key=f"{call}:s", **more)  # type: ignore[arg-type]


def ring(call: str, pbx: str = "ast1") -> LegRinging:
    return LegRinging(pbx=pbx, at=T0, call_id=call, leg=f"{call}-l", endpoint="2001", key=f"{call}:r")


def end(call: str, pbx: str = "ast1") -> CallEnded:
    return CallEnded(pbx=pbx, at=T0 + timedelta(seconds=5), call_id=call, key=f"{call}:e")


@pytest.mark.parametrize("dialled", ["+46812345600", "46812345600", "0046812345600", "sip:+46812345600@pbx.example;user=phone",
                                     "tel:+46-8-123 456 00", " +46 (8) 123 456 00 "])
def test_every_spelling_of_a_tenants_number_finds_the_tenant(dialled: str) -> None:
    assert DIRECTORY.tenant_of_number(dialled) == "nordic-dental", number_forms(dialled)


def test_an_extension_or_a_stranger_names_no_tenant() -> None:
    assert DIRECTORY.tenant_of_number("2001") is None
    assert DIRECTORY.tenant_of_number("+46899999999") is None


def test_a_call_follows_the_tenant_of_its_dialled_number_and_its_state_is_dropped_when_it_ends() -> None:
    attribution = Attribution(DIRECTORY)
    ready, given_up = attribution.attribute(start("c1", "46812345600"))
    assert [t for t, _ in ready] == ["nordic-dental"] and given_up == []
    assert attribution.attribute(ring("c1"))[0] == [("nordic-dental", ring("c1"))]
    assert attribution.open_calls == 1
    assert attribution.attribute(end("c1"))[0] == [("nordic-dental", end("c1"))]
    assert attribution.open_calls == 0
    assert attribution.attribute(ring("c1"))[0] == [("nordic-dental", ring("c1"))]  # a straggler still finds its tenant


def test_a_call_no_tenant_owns_is_given_up_once_with_its_reason_and_its_events_are_not_stored() -> None:
    attribution = Attribution(DIRECTORY)
    ready, (given_up,) = attribution.attribute(start("c1", "+46899999999"))
    assert ready == [] and given_up.events == 1 and "+46899999999" in given_up.reason
    assert attribution.attribute(ring("c1")) == ([], [])
    assert attribution.attribute(end("c1")) == ([], [])
    assert (attribution.stats.unattributed_calls, attribution.stats.unattributed_events, attribution.open_calls) == (1, 3, 0)


def test_events_heard_before_the_start_wait_for_it_bounded() -> None:
    attribution = Attribution(DIRECTORY, max_held_events=3)
    assert attribution.attribute(ring("c1")) == ([], [])
    assert attribution.stats.held == 1
    ready, _ = attribution.attribute(start("c1", "+46812345600"))
    assert [e.key for _, e in ready] == ["c1:s", "c1:r"] and attribution.stats.held == 0
    for call in ("a", "b", "c"):
        attribution.attribute(ring(call))
    _, (given_up,) = attribution.attribute(ring("d"))
    assert (given_up.call_id, given_up.events, attribution.stats.held) == ("a", 1, 3)
    assert [u.call_id for u in attribution.flush_held()] == ["b", "c", "d"]
    assert attribution.stats.held == 0 and attribution.stats.unattributed_calls == 4


def test_a_call_stored_earlier_is_found_through_the_store() -> None:
    attribution = Attribution(DIRECTORY, known_call=lambda pbx, call_id: "malmo" if call_id == "old" else None)
    assert attribution.attribute(end("old"))[0] == [("malmo", end("old"))]


def test_a_named_tenant_takes_every_call_but_one_the_pbx_says_is_anothers() -> None:
    attribution = Attribution(DIRECTORY, tenant="nordic-dental")
    assert attribution.attribute(start("c1", "2001"))[0] == [("nordic-dental", start("c1", "2001"))]
    assert attribution.attribute(ring("mid-call"))[0] == [("nordic-dental", ring("mid-call"))]
    ready, (given_up,) = attribution.attribute(start("c2", "2001", tenant="malmo"))
    assert ready == [] and "names tenant 'malmo'" in given_up.reason


def test_presence_goes_to_the_named_tenant_or_to_the_only_tenant_the_pbx_reported_calls_of() -> None:
    busy = EndpointStateChanged(pbx="ast1", at=T0, endpoint="2001", state="busy")
    agent = AgentStateChanged(pbx="ast1", at=T0, queue="support", agent="2002", logged_in=True)
    assert Attribution(DIRECTORY, tenant="malmo").attribute(busy)[0] == [("malmo", busy)]
    attribution = Attribution(DIRECTORY)
    assert attribution.attribute(busy)[0] == []  # no call heard yet: whose 2001?
    attribution.attribute(start("c1", "+46812345600"))
    assert attribution.attribute(busy)[0] == [("nordic-dental", busy)]
    assert attribution.attribute(agent)[0] == [("nordic-dental", agent)]
    stranger = EndpointStateChanged(pbx="ast1", at=T0, endpoint="9999", state="busy")
    assert "no extension" in attribution.attribute(stranger)[1][0].reason
    attribution.attribute(start("c2", "+46401234500"))
    assert attribution.attribute(busy)[0] == []  # two tenants on this PBX now: not a guess


def test_memory_stays_flat_however_many_calls_pass() -> None:
    attribution = Attribution(DIRECTORY, remember_ended=100)
    for index in range(5000):
        call = f"c{index}"
        attribution.attribute(start(call, "+46812345600"))
        attribution.attribute(ring(call))
        attribution.attribute(end(call))
    assert attribution.open_calls == 0 and len(attribution._ended) == 100 and attribution.stats.attributed == 15000


def test_attribute_into_answers_as_attribute_does_event_by_event() -> None:
    stranger = start("s", "+46899999999")
    events = [ring("early"), start("c1", "+46812345600"), ring("c1"), start("early", "+46401234500"), ring("s"), stranger,
              ring("s"), end("s"), ring("c1"), end("c1"), ring("c1"), end("early"),
              EndpointStateChanged(pbx="ast1", at=T0, endpoint="2001", state="idle")]
    one_by_one, batched = Attribution(DIRECTORY), Attribution(DIRECTORY)
    ready: list[object] = []
    lost = []
    for event in events:
        more, given_up = one_by_one.attribute(event)
        ready += more
        lost += given_up
    into: list[object] = []
    assert batched.attribute_into(events, into) == lost
    assert into == ready and batched.stats == one_by_one.stats
