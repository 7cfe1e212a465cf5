"""Conformance: recorded calls against the effective table at their instant, the rule expected, evidence for unconfirmed changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache

import msgspec

from core.aggregates.context import Actor
from core.aggregates.groups import CloudMember, GroupMember, GroupSettings, LocalMember, SipMember
from core.aggregates.services import CallQueue
from core.aggregates.targets import Off, ToExtension, ToQueue, ToVoicemail
from core.calls.conformance import ProjectionTables, check_call, check_calls, evidence, expected_rule
from core.calls.events import EndpointStateChanged
from core.calls.history import CallRecord
from core.clock import SteppingClock
from core.projections import MemoryProjectionStore, RoutingProjection
from core.projections.timeline import PendingChange
from core.routing import RoutingTable, compile_table
from core.service import CallrouteApp
from core.wiring import wire
from tests.core.conftest import FakeDirectory, FakeHasher

ADMIN = Actor("admin@acme")
BUILT = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
CONFIRMED = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
CHANGED = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
"""2003's divert is removed; the PBX is never told, as far as the provisioning record knows."""
CALL = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
RECEPTION, SUPPORT, ANN = "+46812345600", "+46812345601", "+46812345670"


def build() -> tuple[CallrouteApp, SteppingClock, int]:
    """Tenant acme: 2001 (busy → voicemail, no call waiting), 2002, 2003 (always → 2002); reception group with members here and on
    two other PBXs; support queue (2002, 2003). Everything up to ``confirmed`` is live from ``CONFIRMED``; the
    removal of 2003's divert at ``CHANGED`` is not confirmed."""
    clock = SteppingClock(BUILT, timedelta(seconds=1))
    app = wire(None, clock=clock, pin_hasher=FakeHasher(), directory=lambda _: FakeDirectory())
    app.create_tenant(actor=ADMIN, tenant="acme", name="Acme", time_zone="Europe/Stockholm")
    for extension, name in (("2001", "Ann"), ("2002", "Bob"), ("2003", "Carla")):
        app.add_user(actor=ADMIN, tenant="acme", extension=extension, name=name)
    app.assign_number(actor=ADMIN, tenant="acme", extension="2001", number=ANN)
    app.set_divert(actor=ADMIN, tenant="acme", extension="2001", condition="busy", target=ToVoicemail())
    app.set_call_waiting(actor=ADMIN, tenant="acme", extension="2001", enabled=False)
    app.set_divert(actor=ADMIN, tenant="acme", extension="2003", condition="always", target=ToExtension(extension="2002"))
    app.link_pbx(actor=ADMIN, tenant="acme", pbx="malmo", kind="cloud", name="Malmö")
    app.link_pbx(actor=ADMIN, tenant="acme", pbx="kyiv-office", kind="sip", name="Kyiv")
    app.create_answer_group(actor=ADMIN, tenant="acme", group="reception",
                            settings=GroupSettings(name="Reception", number=RECEPTION, timeout_seconds=60),
                            members=(GroupMember(ref=LocalMember(extension="2001")),
                                     GroupMember(ref=CloudMember(pbx="malmo", member="3001")),
                                     GroupMember(ref=SipMember(pbx="kyiv-office", internal_number="101"))))
    app.save_queue(actor=ADMIN, tenant="acme", queue="support",
                   spec=CallQueue(name="Support", agents=("2002", "2003"), after_max_wait=ToVoicemail(extension="2002")))
    app.route_number(actor=ADMIN, tenant="acme", number=SUPPORT, entry=ToQueue(queue="support"))
    confirmed = app.tenant("acme").version
    clock.set(CONFIRMED)
    app.confirm_provisioning(actor=ADMIN, tenant="acme", version=confirmed)
    clock.set(CHANGED)
    app.set_divert(actor=ADMIN, tenant="acme", extension="2003", condition="always", target=Off())
    return app, clock, confirmed


@cache
def built() -> tuple[CallrouteApp, int]:
    app, _, confirmed = build()
    return app, confirmed


@cache
def seed_table() -> RoutingTable:
    """The table live at ``CALL`` (the confirmed version)."""
    app, confirmed = built()
    return compile_table(app.tenant("acme", version=confirmed).state, confirmed)


@cache
def desired_table() -> RoutingTable:
    app, _ = built()
    tenant = app.tenant("acme")
    return compile_table(tenant.state, tenant.version)


def record(dialled: str, outcome: str, *, by: str | None = None, kind: str | None = None, mailbox: str | None = None,
           call_id: str = "c1", queues: tuple[str, ...] = (), at: datetime = CALL) -> CallRecord:
    return CallRecord(call_id=call_id, pbx="stockholm", caller="+441234567890", presentation="allowed", dialled=dialled,
                      started=at, answered=at + timedelta(seconds=5) if by else None, answered_by=by,
                      answered_kind=kind, queues=queues, groups=(), outcome=outcome, mailbox=mailbox,  # type: ignore[arg-type]
                      ended=at + timedelta(seconds=60), duration_seconds=60.0, talk_seconds=55.0 if by else None, cause=16,
                      cause_text=None, missed_by=())


def pending_v2() -> list[tuple[PendingChange, RoutingTable]]:
    table = desired_table()
    change = PendingChange(version=table.version, at=CHANGED, topic="callroute/DivertSet", actor=ADMIN.principal, reason=None,
                           deadline=CHANGED + timedelta(hours=24), overdue=False)
    return [(change, table)]


def test_a_call_that_follows_the_table_conforms() -> None:
    check = check_call(record(RECEPTION, "answered", by="2001", kind="extension"), {}, seed_table())
    assert (check.verdict, check.table_version, check.expected_rule) == ("conforms", seed_table().version, None)
    assert "answered by 2001" in (check.allowed or "")


def test_a_member_on_another_pbx_answering_the_group_conforms() -> None:
    check = check_call(record(RECEPTION, "answered", by="kyiv-office/101", kind="member"), {}, seed_table())
    assert check.verdict == "conforms"


def test_a_call_that_deviates_names_the_rule_that_was_expected() -> None:
    """2003 always diverts to 2002 in the live table: 2003 answering a call to 2003 deviates from that rule."""
    check = check_call(record("2003", "answered", by="2003", kind="extension"), {}, seed_table())
    assert check.verdict == "deviates"
    assert check.expected_rule == "user 2003: forward always — every call goes to extension 2002"
    assert check.allowed == "answered by 2002; missed"
    assert check.explanation and check.follows_version is None


def test_the_rule_expected_of_someone_outside_the_plan_is_the_last_one_that_decided() -> None:
    check = check_call(record(RECEPTION, "answered", by="2003", kind="extension"), {}, seed_table())
    assert check.verdict == "deviates"
    assert check.expected_rule is not None and check.expected_rule.startswith("group reception: if nobody answers")


def test_endpoint_states_from_presence_decide_what_was_allowed() -> None:
    """2001 busy (seed 000: busy → voicemail): voicemail of 2001 is what the table wants, a ring of 2001 is not."""
    vm = record(ANN, "voicemail", mailbox="2001")
    assert check_call(vm, {"2001": "busy"}, seed_table()).verdict == "conforms"
    answered = record(ANN, "answered", by="2001", kind="extension")
    assert check_call(answered, {"2001": "busy"}, seed_table()).verdict == "deviates"
    assert check_call(answered, {}, seed_table()).verdict == "conforms"


def test_check_calls_folds_presence_up_to_each_call() -> None:
    busy = EndpointStateChanged(pbx="stockholm", at=CALL - timedelta(minutes=1), endpoint="2001", state="busy")
    idle = EndpointStateChanged(pbx="stockholm", at=CALL + timedelta(minutes=5), endpoint="2001", state="idle")

    class Tables:
        def effective(self, at: datetime) -> RoutingTable:
            return seed_table()

        def pending(self, at: datetime) -> list[tuple[PendingChange, RoutingTable]]:
            return []

    calls = [record(ANN, "voicemail", mailbox="2001", call_id="first"),
             record(ANN, "voicemail", mailbox="2001", call_id="later", at=CALL + timedelta(minutes=10))]
    checks = list(check_calls(calls, [busy, idle], Tables()))
    assert [(c.call_id, c.verdict, c.states) for c in checks] == [("first", "conforms", {"2001": "busy"}), ("later", "deviates", {})]


def test_calls_that_cannot_be_checked_say_why() -> None:
    assert check_call(record("", "answered", by="2001"), {}, seed_table()).verdict == "unchecked"
    nothing_live = check_call(record(RECEPTION, "answered", by="2001"), {}, None)
    assert nothing_live.verdict == "unchecked" and "confirmed" in (nothing_live.reason or "")
    outgoing = check_call(record("+442071234567", "answered", by="+442071234567", kind="number"), {}, seed_table())
    assert outgoing.verdict == "unchecked" and "not routed" in (outgoing.reason or "")


def test_a_deviation_an_unconfirmed_change_allows_is_evidence_for_it_and_confirms_nothing() -> None:
    check = check_call(record("2003", "answered", by="2003", kind="extension"), {}, seed_table(), pending_v2)
    assert (check.verdict, check.follows_version) == ("deviates", desired_table().version)
    other = check_call(record("2003", "answered", by="2001", kind="extension"), {}, seed_table(), pending_v2)
    assert (other.verdict, other.follows_version) == ("deviates", None)


def test_evidence_over_the_projection_names_the_version_and_leaves_the_provisioning_record_alone() -> None:
    app, clock, confirmed = build()
    projection = RoutingProjection(app, MemoryProjectionStore())
    projection.catch_up()
    tables = ProjectionTables(projection, "acme")
    assert tables.effective(CALL).version == confirmed  # type: ignore[union-attr]
    calls = [record("2003", "answered", by="2003", kind="extension", call_id=f"c{i}", at=CALL + timedelta(minutes=i)) for i in range(3)]
    calls.append(record(RECEPTION, "answered", by="2001", kind="extension", call_id="fine", at=CALL + timedelta(minutes=9)))
    checks = list(check_calls(calls, [], tables))
    assert [c.verdict for c in checks] == ["deviates", "deviates", "deviates", "conforms"]
    (found,) = evidence(checks, tables)
    assert (found.version, found.calls, found.first_call, found.change) == (confirmed + 1, 3, CALL, "DivertSet")
    assert found.call_ids == ("c0", "c1", "c2")
    projection.catch_up()
    assert projection.effective("acme", CALL + timedelta(hours=1)).version == confirmed  # type: ignore[union-attr]
    assert [p.version for p in projection.pending("acme", CALL + timedelta(hours=1))] == [confirmed + 1]


def test_expected_rule_prefers_a_matched_rule_about_the_endpoint() -> None:
    from core.routing import Step

    steps = (Step(0, "number 2003", "entry", True, "internal call to extension 2003"),
             Step(1, "user 2003", "anonymous rejection", False, "off"),
             Step(1, "user 2003", "forward always", True, "every call goes to extension 2002"),
             Step(2, "user 2002", "busy", False, "the phone is available"))
    assert expected_rule(steps, "2003") == "user 2003: forward always — every call goes to extension 2002"
    # Only a rule that did not match names 2004: that one (it says why 2004 was not to take the call).
    excluded = (*steps, Step(1, "group reception", "member", False, "2004 is excluded from the group for now"))
    assert expected_rule(excluded, "2004") == "group reception: member — 2004 is excluded from the group for now"
    assert expected_rule(steps, "20") == "user 2003: forward always — every call goes to extension 2002"
    assert expected_rule(steps, None) == "user 2003: forward always — every call goes to extension 2002"


def test_checks_encode_as_json() -> None:
    check = check_call(record("2003", "answered", by="2003", kind="extension"), {}, seed_table())
    assert msgspec.json.decode(msgspec.json.encode(check))["verdict"] == "deviates"
