"""Audit history: every change of a tenant with when, who (and for which partner), why, and before → after.

Uses the in-memory app of ``tests/core/conftest.py``: tenant "acme" is created at ``START``
(v1) and users 2001 (v2) and 2002 (v3) follow a second apart; every later command
reads the stepping clock once, one second later each time.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import msgspec

from core import commands as c
from core.aggregates.context import Actor
from core.aggregates.groups import GroupMember, GroupSettings, LocalMember
from core.aggregates.provisioning import ProviderPolicy
from core.aggregates.services import CallQueue
from core.aggregates.targets import ToExtension, ToNumber, ToVoicemail
from core.clock import SteppingClock
from core.projections import FieldChange, HistoryEntry, short, state_changes, tenant_history
from core.service import CallrouteApp
from core.wiring import wire
from tests.core.conftest import ADMIN, START, FakeHasher

T = "acme"


def second(n: int) -> Any:
    """The instant ``n`` seconds after ``START``."""
    return START + timedelta(seconds=n)


def plain(value: Any) -> Any:
    """A value as JSON would give it back (tuples become lists)."""
    return msgspec.json.decode(msgspec.json.encode(value))


def last(app: CallrouteApp, **filters: Any) -> HistoryEntry:
    return tenant_history(app, T, **filters)[-1]


def create_sales(app: CallrouteApp, *members: str) -> None:
    app.create_answer_group(actor=ADMIN, tenant=T, group="sales", settings=GroupSettings(name="Sales"),
                            members=tuple(GroupMember(ref=LocalMember(extension=m)) for m in members))


def test_history_lists_every_change_in_order_with_version_instant_actor_and_reason(app: CallrouteApp, acme: str) -> None:
    app.set_divert(actor=ADMIN, tenant=T, extension="2001", condition="always", target=ToVoicemail(), reason="on leave")
    entries = tenant_history(app, T)
    assert [(e.record, e.version, e.at, e.event, e.actor, e.partner, e.reason) for e in entries] == [
        ("tenant", 1, second(0), "TenantCreated", "admin@acme", None, None),
        ("tenant", 2, second(1), "UserAdded", "admin@acme", None, None),
        ("tenant", 3, second(2), "UserAdded", "admin@acme", None, None),
        ("tenant", 4, second(3), "DivertSet", "admin@acme", None, "on leave"),
    ]


def test_history_shows_the_partner_a_change_was_made_for(app: CallrouteApp, acme: str) -> None:
    app.set_partner(actor=ADMIN, tenant=T, partner="phoneline-plus")
    app.rename_tenant(actor=Actor("pat", partner="phoneline-plus"), tenant=T, name="Acme Group", reason="rebrand")
    entry = last(app)
    assert (entry.event, entry.actor, entry.partner, entry.reason) == ("TenantRenamed", "pat", "phoneline-plus", "rebrand")
    assert entry.changes == (FieldChange(subject="tenant", field="name", before="Acme Ltd", after="Acme Group"),)


def test_history_of_a_change_without_partner_has_none(app: CallrouteApp, acme: str) -> None:
    assert all(entry.partner is None for entry in tenant_history(app, T))


def test_history_of_the_creation_shows_the_tenants_first_values(app: CallrouteApp, acme: str) -> None:
    created = tenant_history(app, T)[0]
    fields = {change.field: (change.before, change.after) for change in created.changes}
    assert {change.subject for change in created.changes} == {"tenant"}
    assert fields["name"] == (None, "Acme Ltd")
    assert fields["time_zone"] == (None, "Europe/London")
    assert plain(fields["admins.admin@acme"]) == [None, ["telephony_admin"]]


def test_history_shows_a_divert_change_before_and_after(app: CallrouteApp, acme: str) -> None:
    app.set_divert(actor=ADMIN, tenant=T, extension="2001", condition="always", target=ToVoicemail())
    app.set_divert(actor=ADMIN, tenant=T, extension="2001", condition="always", target=ToExtension(extension="2002"))
    assert last(app).changes == (FieldChange(subject="user 2001", field="forward_always",
                                             before={"kind": "voicemail", "extension": None},
                                             after={"kind": "extension", "extension": "2002"}),)


def test_history_shows_a_divert_to_a_number_with_its_options(app: CallrouteApp, acme: str) -> None:
    app.set_divert(actor=ADMIN, tenant=T, extension="2001", condition="unreachable",
                   target=ToNumber(number="+441234567890", announce=True))
    (change,) = last(app).changes
    assert (change.subject, change.field, change.before) == ("user 2001", "unreachable", {"kind": "off"})
    assert change.after == {"kind": "external", "number": "+441234567890", "announce": True,
                            "present_dialled_number": False, "always": False}
    assert short(change.after) == "external +441234567890 announce"


def test_history_shows_a_second_busy_divert_under_own_busy(app: CallrouteApp, acme: str) -> None:
    app.set_divert(actor=ADMIN, tenant=T, extension="2001", condition="busy", target=ToVoicemail())
    app.set_divert(actor=ADMIN, tenant=T, extension="2001", condition="busy", target=ToExtension(extension="2002"))
    assert last(app).changes == (FieldChange(subject="user 2001", field="own.busy",
                                             before={"kind": "voicemail", "extension": None},
                                             after={"kind": "extension", "extension": "2002"}),)


def test_history_shows_a_first_busy_divert_under_own_busy(app: CallrouteApp, acme: str) -> None:
    app.set_divert(actor=ADMIN, tenant=T, extension="2001", condition="busy", target=ToVoicemail())
    assert last(app).changes == (FieldChange(subject="user 2001", field="own.busy", before=None,
                                             after={"kind": "voicemail", "extension": None}),)


def test_history_shows_call_waiting_turned_off(app: CallrouteApp, acme: str) -> None:
    app.set_divert(actor=ADMIN, tenant=T, extension="2001", condition="busy", target=ToVoicemail())  # "own" is a record now
    app.set_call_waiting(actor=ADMIN, tenant=T, extension="2001", enabled=False)
    entry = last(app)
    assert entry.event == "UserCallHandlingChanged"
    assert entry.changes == (FieldChange(subject="user 2001", field="own.call_waiting", before=None, after=False),)


def test_history_shows_missed_call_notifications_switched_off(app: CallrouteApp, acme: str) -> None:
    app.set_notifications(actor=ADMIN, tenant=T, extension="2001", missed_call=False)
    entry = last(app)
    assert entry.event == "NotificationsSet"
    assert [(c.subject, c.field, c.after) for c in entry.changes] == [("user 2001", "notify_missed_call", False)]


def test_history_shows_a_group_member_exclusion_before_and_after(app: CallrouteApp, acme: str) -> None:
    create_sales(app, "2001", "2002")
    app.set_group_member_excluded(actor=ADMIN, tenant=T, group="sales", member=LocalMember(extension="2001"), excluded=True)
    entry = last(app)
    assert entry.event == "GroupMemberExclusionSet"
    (change,) = entry.changes
    assert (change.subject, change.field) == ("group sales", "members")
    member = {"ref": {"on": "local", "extension": "2001"}, "ring_seconds": 20, "excluded": False}
    other = {"ref": {"on": "local", "extension": "2002"}, "ring_seconds": 20, "excluded": False}
    assert plain(change.before) == [member, other]
    assert plain(change.after) == [{**member, "excluded": True}, other]


def test_history_shows_a_new_group_as_the_whole_subject(app: CallrouteApp, acme: str) -> None:
    create_sales(app, "2001")
    (change,) = last(app).changes
    assert (change.subject, change.field, change.before) == ("group sales", "", None)
    assert plain(change.after)["id"] == "sales"
    assert plain(change.after)["settings"]["name"] == "Sales"
    assert plain(change.after)["members"] == [{"ref": {"on": "local", "extension": "2001"}, "ring_seconds": 20, "excluded": False}]


def test_history_shows_a_deleted_group_as_the_whole_subject_going(app: CallrouteApp, acme: str) -> None:
    create_sales(app)
    app.delete_answer_group(actor=ADMIN, tenant=T, group="sales")
    (change,) = last(app).changes
    assert (change.subject, change.field, change.after) == ("group sales", "", None)
    assert plain(change.before)["id"] == "sales"


def test_history_shows_a_tenant_default_before_and_after(app: CallrouteApp, acme: str) -> None:
    app.set_default_busy(actor=ADMIN, tenant=T, target=ToVoicemail(), apply_to="new_users")
    app.set_default_busy(actor=ADMIN, tenant=T, target=ToExtension(extension="2002"), apply_to="unchanged_users")
    changes = {(c.subject, c.field): (c.before, c.after) for c in last(app).changes}
    assert changes[("tenant", "defaults.busy")] == ({"kind": "voicemail", "extension": None},
                                                    {"kind": "extension", "extension": "2002"})
    assert changes[("tenant", "default_scopes.busy")] == ("new_users", "unchanged_users")


def test_history_shows_a_default_for_all_users_clearing_a_users_own_value(app: CallrouteApp, acme: str) -> None:
    app.set_divert(actor=ADMIN, tenant=T, extension="2001", condition="busy", target=ToVoicemail())
    app.set_call_waiting(actor=ADMIN, tenant=T, extension="2001", enabled=True)  # so that "own" stays a record
    app.set_default_busy(actor=ADMIN, tenant=T, target=ToExtension(extension="2002"), apply_to="all_users")
    changes = {(c.subject, c.field): (c.before, c.after) for c in last(app).changes}
    assert changes[("tenant", "defaults.busy")] == (None, {"kind": "extension", "extension": "2002"})
    assert changes[("user 2001", "own.busy")] == ({"kind": "voicemail", "extension": None}, None)


def test_history_shows_the_pin_hash_as_set_never_the_hash(app: CallrouteApp, acme: str) -> None:
    app.set_voice_portal_pin(actor=ADMIN, tenant=T, extension="2001", pin="123456")
    assert last(app).changes == (FieldChange(subject="user 2001", field="pin_hash", before=None, after="set"),)
    app.set_voice_portal_pin(actor=ADMIN, tenant=T, extension="2001", pin="654321")
    assert last(app).changes == (FieldChange(subject="user 2001", field="pin_hash", before="set", after="set"),)
    assert b"fake$" not in msgspec.json.encode(tenant_history(app, T))


def test_history_never_shows_the_pin_hash_of_a_removed_user(app: CallrouteApp, acme: str) -> None:
    app.set_voice_portal_pin(actor=ADMIN, tenant=T, extension="2002", pin="123456")
    app.remove_user(actor=ADMIN, tenant=T, extension="2002")
    assert last(app).event == "UserRemoved"
    assert b"fake$" not in msgspec.json.encode(tenant_history(app, T))


def test_history_of_a_change_that_changes_nothing_visible_has_no_changes() -> None:
    assert state_changes({"users": {"2001": {"name": "Ann"}}}, {"users": {"2001": {"name": "Ann"}}}) == ()


def test_history_since_and_until_include_changes_exactly_at_their_instants(app: CallrouteApp, acme: str) -> None:
    app.rename_tenant(actor=ADMIN, tenant=T, name="Acme 2")  # v4 at second 3
    app.rename_tenant(actor=ADMIN, tenant=T, name="Acme 3")  # v5 at second 4
    entries = tenant_history(app, T, since=second(1), until=second(3))
    assert [e.version for e in entries] == [2, 3, 4]


def test_history_since_and_until_at_the_same_instant_give_that_change(app: CallrouteApp, acme: str) -> None:
    assert [e.version for e in tenant_history(app, T, since=second(2), until=second(2))] == [3]


def test_history_since_shows_before_values_from_earlier_changes(app: CallrouteApp, acme: str) -> None:
    app.rename_tenant(actor=ADMIN, tenant=T, name="Acme 2")
    (entry,) = tenant_history(app, T, since=second(3))
    assert entry.changes == (FieldChange(subject="tenant", field="name", before="Acme Ltd", after="Acme 2"),)


def test_history_until_before_the_tenant_existed_is_empty(app: CallrouteApp, acme: str) -> None:
    app.confirm_provisioning(actor=ADMIN, tenant=T, version=3)
    assert tenant_history(app, T, until=START - timedelta(microseconds=1)) == []


def test_history_since_after_the_last_change_is_empty(app: CallrouteApp, acme: str) -> None:
    assert tenant_history(app, T, since=second(3)) == []


def test_history_actor_keeps_only_that_principals_changes(app: CallrouteApp, acme: str) -> None:
    app.grant_permission(actor=ADMIN, tenant=T, principal="helper@acme")
    helper = Actor("helper@acme")
    app.rename_tenant(actor=helper, tenant=T, name="Acme 2")
    app.confirm_provisioning(actor=helper, tenant=T, version=5)
    entries = tenant_history(app, T, actor="helper@acme")
    assert [(e.record, e.event) for e in entries] == [("tenant", "TenantRenamed"), ("provisioning", "ProvisioningOpened"),
                                                     ("provisioning", "ProvisioningConfirmed")]
    assert {e.actor for e in entries} == {"helper@acme"}


def test_history_user_keeps_changes_to_that_user(app: CallrouteApp, acme: str) -> None:
    app.set_divert(actor=ADMIN, tenant=T, extension="2001", condition="always", target=ToVoicemail())
    app.rename_tenant(actor=ADMIN, tenant=T, name="Acme 2")
    assert [(e.version, e.event) for e in tenant_history(app, T, user="2001")] == [(2, "UserAdded"), (4, "DivertSet")]


def test_history_user_keeps_another_users_divert_to_it(app: CallrouteApp, acme: str) -> None:
    app.set_divert(actor=ADMIN, tenant=T, extension="2001", condition="always", target=ToExtension(extension="2002"))
    entries = tenant_history(app, T, user="2002")
    assert [(e.version, e.event) for e in entries] == [(3, "UserAdded"), (4, "DivertSet")]
    assert entries[-1].changes[0].subject == "user 2001"


def test_history_user_keeps_a_voicemail_divert_to_its_box(app: CallrouteApp, acme: str) -> None:
    app.set_divert(actor=ADMIN, tenant=T, extension="2001", condition="busy", target=ToVoicemail(extension="2002"))
    assert [e.version for e in tenant_history(app, T, user="2002")] == [3, 4]


def test_history_user_keeps_group_changes_naming_it(app: CallrouteApp, acme: str) -> None:
    create_sales(app, "2001")  # v4
    app.add_group_member(actor=ADMIN, tenant=T, group="sales", member=GroupMember(ref=LocalMember(extension="2002")))  # v5
    app.set_group_member_excluded(actor=ADMIN, tenant=T, group="sales", member=LocalMember(extension="2001"),
                                  excluded=True)  # v6
    assert [(e.version, e.event) for e in tenant_history(app, T, user="2002")] == [(3, "UserAdded"), (5, "GroupMemberAdded")]
    assert [e.version for e in tenant_history(app, T, user="2001")] == [2, 4, 6]


def test_history_user_keeps_a_queue_listing_it_as_agent(app: CallrouteApp, acme: str) -> None:
    app.save_queue(actor=ADMIN, tenant=T, queue="support", spec=CallQueue(name="Support", agents=("2002",)))
    assert [(e.version, e.event) for e in tenant_history(app, T, user="2002")] == [(3, "UserAdded"), (4, "QueueSaved")]


def test_history_user_of_an_unknown_extension_is_empty(app: CallrouteApp, acme: str) -> None:
    assert tenant_history(app, T, user="9999") == []


def test_history_shows_provisioning_events_in_time_order_with_the_tenants(app: CallrouteApp, acme: str) -> None:
    app.set_provider_policy(actor=ADMIN, tenant=T, policy=ProviderPolicy(max_delay_seconds=3600))  # second 3
    app.rename_tenant(actor=ADMIN, tenant=T, name="Acme 2")  # v4 at second 4
    app.confirm_provisioning(actor=ADMIN, tenant=T, version=4, reason="PBX applied it")  # second 5
    entries = tenant_history(app, T)
    assert [(e.record, e.version, e.event) for e in entries[3:]] == [
        ("provisioning", 1, "ProvisioningOpened"), ("provisioning", 2, "ProviderPolicySet"),
        ("tenant", 4, "TenantRenamed"), ("provisioning", 3, "ProvisioningConfirmed")]
    assert [e.at for e in entries] == sorted(e.at for e in entries)
    assert entries[-1].reason == "PBX applied it"


def test_history_shows_a_provider_policy_before_and_after(app: CallrouteApp, acme: str) -> None:
    app.set_provider_policy(actor=ADMIN, tenant=T, policy=ProviderPolicy(max_delay_seconds=3600))
    app.set_provider_policy(actor=ADMIN, tenant=T, policy=ProviderPolicy(max_delay_seconds=7200))
    assert last(app).changes == (FieldChange(subject="provisioning", field="policy.max_delay_seconds",
                                             before=3600, after=7200),)


def test_history_shows_a_confirmation_as_the_live_version(app: CallrouteApp, acme: str) -> None:
    app.confirm_provisioning(actor=ADMIN, tenant=T, version=3)
    entry = last(app)
    assert (entry.record, entry.version, entry.event) == ("provisioning", 2, "ProvisioningConfirmed")
    assert entry.changes == (FieldChange(subject="provisioning", field="live_version", before=None,
                                         after={"version": 3, "applied_at": second(3).isoformat()}),)


def test_history_shows_a_later_confirmation_replacing_the_earlier_live_version(app: CallrouteApp, acme: str) -> None:
    app.confirm_provisioning(actor=ADMIN, tenant=T, version=2)  # second 3
    app.confirm_provisioning(actor=ADMIN, tenant=T, version=3)  # second 4
    assert last(app).changes == (FieldChange(subject="provisioning", field="live_version",
                                             before={"version": 2, "applied_at": second(3).isoformat()},
                                             after={"version": 3, "applied_at": second(4).isoformat()}),)


def test_history_for_a_user_leaves_provisioning_events_out(app: CallrouteApp, acme: str) -> None:
    app.confirm_provisioning(actor=ADMIN, tenant=T, version=3)
    assert {e.record for e in tenant_history(app, T)} == {"tenant", "provisioning"}
    assert {e.record for e in tenant_history(app, T, user="2001")} == {"tenant"}


def test_history_since_and_until_apply_to_provisioning_events(app: CallrouteApp, acme: str) -> None:
    app.confirm_provisioning(actor=ADMIN, tenant=T, version=2)  # second 3: opened + confirmed
    app.confirm_provisioning(actor=ADMIN, tenant=T, version=3)  # second 4
    entries = tenant_history(app, T, since=second(4), until=second(4))
    assert [(e.record, e.version) for e in entries] == [("provisioning", 3)]


def test_history_orders_a_batch_made_at_one_instant_by_version(directory: Any) -> None:
    clock = SteppingClock(START)
    app = wire(None, clock=clock, pin_hasher=FakeHasher(), directory=lambda _: directory)
    app.execute([c.CreateTenant(tenant=T, name="Acme", time_zone="Europe/London"),
                 c.AddUser(tenant=T, extension="2001", name="Ann"),
                 c.SetProviderPolicy(tenant=T, policy=ProviderPolicy(max_delay_seconds=60)),
                 c.AddUser(tenant=T, extension="2002", name="Bob")], ADMIN)
    entries = tenant_history(app, T, since=START, until=START)
    assert [(e.record, e.version) for e in entries] == [("tenant", 1), ("tenant", 2), ("tenant", 3),
                                                        ("provisioning", 1), ("provisioning", 2)]
