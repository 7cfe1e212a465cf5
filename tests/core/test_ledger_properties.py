"""Properties of the ledger over random command sequences, on a real SQLite file."""

from __future__ import annotations

import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.bootstrap import sqlite_env
from core import commands as c
from core.aggregates import TENANT_EVENTS
from core.aggregates.catalog import AudioFile
from core.aggregates.context import Actor
from core.aggregates.dated import ClosureScope
from core.aggregates.groups import CloudMember, GroupMember, GroupSettings, LocalMember, SipMember
from core.aggregates.hours import OpeningHours, Window
from core.aggregates.identifiers import tenant_id
from core.aggregates.references import dangling
from core.aggregates.schedule import OutOfHours, UnavailableAllDay, UnavailableBetween
from core.aggregates.services import BackupStep, CallQueue, ForwardingScheme, IvrMenu, SchemeStep
from core.aggregates.targets import (
    AudioFileRef,
    BusyTone,
    ForwardTo,
    HandleWithVoicemail,
    MessageAndHangUp,
    Off,
    PlayMessage,
    TextToSpeech,
    ToExtension,
    ToGroup,
    ToIvr,
    ToNumber,
    ToQueue,
    ToRemote,
    ToScheme,
    ToVoicemail,
)
from core.aggregates.tenant import Tenant
from core.audit import verify_chain
from core.clock import SteppingClock
from core.service import CallrouteApp, CommandRejected
from tests.backends import delete_event, overwrite_event_state, record_events

T = "acme"
EXTENSIONS = ["2001", "2002", "2003", "2004"]
NUMBERS = ["+441234567890", "441234567891", "+46812345670", "+46701234567", "+380441234567"]
MACS = ["00:1a:2b:3c:4d:5e", "00-1A-2B-3C-4D-5F", "001a2b3c4d60"]


class FakeHasher:
    def hash(self, pin: str) -> str:
        return "fake$" + pin[::-1]


class SnapshottingApp(CallrouteApp):
    """Snapshots every 7 events, so reloads exercise snapshot + tail replay."""

    snapshotting_intervals = {Tenant: 7}  # noqa: RUF012


class FakeDirectory:
    """Two other PBXs: a cloud PBX with members m1, m2 and a SIP PBX with internal numbers 101, 102."""

    def cloud_members(self, pbx: str) -> dict[str, str] | None:
        return {"m1": "Member One", "m2": "Member Two"} if pbx == "malmo" else None

    def sip_internal_number_exists(self, pbx: str, internal_number: str) -> bool | None:
        return internal_number in ("101", "102") if pbx == "kyiv" else None


class WithoutM1(FakeDirectory):
    """The directory after the cloud PBX removed member m1."""

    def cloud_members(self, pbx: str) -> dict[str, str] | None:
        members = super().cloud_members(pbx)
        return None if members is None else {k: v for k, v in members.items() if k != "m1"}


def make_app(path: Path) -> CallrouteApp:
    clock = SteppingClock(datetime(2026, 11, 20, 16, 0, tzinfo=UTC), timedelta(minutes=7))
    return SnapshottingApp(sqlite_env(path), clock=clock, pin_hasher=FakeHasher(), pbx_directory=FakeDirectory())


ext = st.sampled_from(EXTENSIONS)
number = st.sampled_from(NUMBERS)
target = st.one_of(
    st.just(Off()),
    st.just(ToVoicemail()),
    ext.map(lambda e: ToExtension(extension=e)),
    st.builds(ToNumber, number=number, announce=st.booleans(), present_dialled_number=st.booleans(), always=st.booleans()),
)
greeting = st.just(TextToSpeech(text="Hej", language="sv-SE"))
handling = st.one_of(
    st.just(HandleWithVoicemail()),
    st.just(BusyTone()),
    greeting.map(lambda g: MessageAndHangUp(message=g)),
    ext.map(lambda e: ForwardTo(target=ToExtension(extension=e))),
)
apply_to = st.sampled_from(["new_users", "unchanged_users", "all_users"])
schedule = st.builds(
    OutOfHours,
    enabled=st.booleans(),
    days=st.dictionaries(
        st.sampled_from(["mon", "tue", "sat"]),
        st.one_of(st.just(UnavailableAllDay()), st.just(UnavailableBetween(start="18:00", end="09:00"))),
    ),
    when_unavailable=st.one_of(st.just(ToVoicemail()), ext.map(lambda e: ToExtension(extension=e))),
)

command = st.one_of(
    st.builds(c.AddUser, tenant=st.just(T), extension=ext, name=st.sampled_from(["Ann", "Bo", "Åsa"])),
    st.builds(c.RemoveUser, tenant=st.just(T), extension=ext),
    st.builds(c.UpdateUserProfile, tenant=st.just(T), extension=ext, name=st.sampled_from(["Cy", "Di"]),
              email=st.sampled_from([None, "x@example.com"])),
    st.builds(c.AssignNumber, tenant=st.just(T), extension=ext, number=number),
    st.builds(c.UnassignNumber, tenant=st.just(T), extension=ext, number=number),
    st.builds(c.SetDefaultNumber, tenant=st.just(T), extension=ext, number=number),
    st.builds(c.SetPresentationNumber, tenant=st.just(T), extension=ext, number=st.one_of(st.none(), number)),
    st.builds(c.AddDevice, tenant=st.just(T), extension=ext, mac=st.sampled_from(MACS)),
    st.builds(c.RemoveDevice, tenant=st.just(T), extension=ext, mac=st.sampled_from(MACS)),
    st.builds(c.SetPermanentRedirect, tenant=st.just(T), extension=ext, number=st.one_of(st.none(), number)),
    st.builds(c.SetNotifications, tenant=st.just(T), extension=ext, missed_call=st.booleans(), voicemail=st.booleans()),
    st.builds(c.SetDivert, tenant=st.just(T), extension=ext, condition=st.sampled_from(["always", "busy", "unreachable"]),
              target=target),
    st.builds(c.SetDivert, tenant=st.just(T), extension=ext, condition=st.just("no_answer"), target=target,
              ring_seconds=st.one_of(st.none(), st.integers(5, 600))),
    st.builds(c.SetOutOfHours, tenant=st.just(T), extension=ext, out_of_hours=st.one_of(st.none(), schedule)),
    st.builds(c.SetRejectAnonymous, tenant=st.just(T), extension=ext, enabled=st.booleans()),
    st.builds(c.SetCallWaiting, tenant=st.just(T), extension=ext, enabled=st.booleans()),
    st.builds(c.SetVoicemailGreeting, tenant=st.just(T), extension=ext, greeting=greeting),
    st.builds(c.SetTranscription, tenant=st.just(T), extension=ext, enabled=st.booleans()),
    st.builds(c.SetRejectedCallHandling, tenant=st.just(T), extension=ext, handling=handling),
    st.builds(c.SetDisplayNumberPreference, tenant=st.just(T), extension=ext, kind=st.sampled_from(["mobile", "landline"])),
    st.builds(c.ResetCallHandling, tenant=st.just(T), extension=ext,
              settings=st.lists(st.sampled_from(["busy", "no_answer", "call_waiting"]), min_size=1, max_size=2, unique=True)
              .map(tuple)),
    st.builds(c.SetVoicePortalPin, tenant=st.just(T), extension=ext, pin=st.sampled_from(["123456", "000001"])),
    st.builds(c.SetDefaultTranscription, tenant=st.just(T), enabled=st.booleans(),
              users_may_change=st.one_of(st.none(), st.booleans()), apply_to=apply_to),
    st.builds(c.SetDefaultNoAnswer, tenant=st.just(T), target=target, ring_seconds=st.integers(5, 600), apply_to=apply_to),
    st.builds(c.SetDefaultBusy, tenant=st.just(T), target=target, call_waiting=st.booleans(), apply_to=apply_to),
    st.builds(c.SetDefaultRejectedCallHandling, tenant=st.just(T), handling=handling, apply_to=apply_to),
    st.builds(c.SetDefaultDisplayNumber, tenant=st.just(T), kind=st.sampled_from(["mobile", "landline"]), apply_to=apply_to),
    st.builds(c.SetDefaultVoicemailGreeting, tenant=st.just(T), greeting=greeting, apply_to=apply_to),
    st.builds(c.SetUnassignedNumberHandling, tenant=st.just(T),
              handling=st.one_of(st.just(BusyTone()), ext.map(lambda e: ForwardTo(target=ToExtension(extension=e))))),
    st.builds(c.RenameTenant, tenant=st.just(T), name=st.sampled_from(["Acme", "Acme AB"])),
)

GROUPS = ["sales", "support", "billing"]
group_id = st.sampled_from(GROUPS)
audio_name = st.sampled_from(["welcome", "hold"])
mailbox = ext.map(lambda e: ToVoicemail(extension=e))
audio_prompt = audio_name.map(lambda a: AudioFileRef(audio_file=a))
to_number = number.map(lambda n: ToNumber(number=n))
to_group = group_id.map(lambda g: ToGroup(group=g))
scheme_step = st.builds(SchemeStep, destination=st.one_of(mailbox, to_number, to_group), timeout_seconds=st.sampled_from([15, 20, 30, 45]))
destination = st.one_of(
    mailbox,
    ext.map(lambda e: ToExtension(extension=e)),
    number.map(lambda n: ToNumber(number=n)),
    group_id.map(lambda g: ToGroup(group=g)),
    st.sampled_from(["q1", "q2"]).map(lambda q: ToQueue(queue=q)),
    st.sampled_from(["main", "after"]).map(lambda i: ToIvr(ivr=i)),
    st.sampled_from(["s1", "s2"]).map(lambda k: ToScheme(scheme=k)),
    st.sampled_from([("malmo", "m1"), ("kyiv", "101"), ("kyiv", "999")]).map(lambda r: ToRemote(pbx=r[0], member=r[1])),
    audio_name.map(lambda a: PlayMessage(message=AudioFileRef(audio_file=a))),
)
member_ref = st.one_of(
    ext.map(lambda e: LocalMember(extension=e)),
    st.sampled_from(["m1", "m2", "m3"]).map(lambda m: CloudMember(pbx="malmo", member=m)),
    st.sampled_from(["101", "102"]).map(lambda n: SipMember(pbx="kyiv", internal_number=n)),
)
settings_ = st.builds(
    GroupSettings,
    name=st.just("Group"),
    number=st.one_of(st.none(), number),
    strategy=st.sampled_from(["sequential", "simultaneous", "round_robin", "least_recent", "random"]),
    fallback=st.one_of(st.none(), group_id.map(lambda g: ToGroup(group=g)), mailbox,
                       st.just(ToRemote(pbx="kyiv", member="102"))),
)
hours = st.just(OpeningHours(days={"mon": (Window(start="09:00", end="18:00"),), "sat": (Window(start="22:00", end="02:00"),)}))
audio = st.builds(AudioFile, name=audio_name, language=st.just("sv-SE"), source=st.sampled_from(["recorded", "uploaded"]),
                  content_sha256=st.just("ab" * 32), duration_seconds=st.sampled_from([1.5, 30.0]))

model_command = st.one_of(
    st.builds(c.SetUserLicense, tenant=st.just(T), extension=ext, license=st.sampled_from(["basic", "pro"])),
    st.builds(c.ChangePlan, tenant=st.just(T), plan=st.sampled_from(["light", "unlimited"])),
    st.builds(c.BuyExtras, tenant=st.just(T), kind=st.sampled_from(["answer_groups", "ivr_menus"]), quantity=st.integers(1, 2)),
    st.builds(c.LinkPbx, tenant=st.just(T), pbx=st.sampled_from(["malmo", "kyiv", "nowhere"]),
              kind=st.sampled_from(["cloud", "sip"]), name=st.just("Other")),
    st.builds(c.UnlinkPbx, tenant=st.just(T), pbx=st.sampled_from(["malmo", "kyiv"])),
    st.builds(c.CreateAnswerGroup, tenant=st.just(T), group=group_id, settings=settings_,
              members=st.lists(st.builds(GroupMember, ref=member_ref), max_size=3).map(tuple),
              supervisors=st.lists(ext, max_size=1).map(tuple)),
    st.builds(c.UpdateAnswerGroup, tenant=st.just(T), group=group_id, settings=settings_),
    st.builds(c.AddGroupMember, tenant=st.just(T), group=group_id, member=st.builds(GroupMember, ref=member_ref)),
    st.builds(c.RemoveGroupMember, tenant=st.just(T), group=group_id, member=member_ref),
    st.builds(c.SetGroupMemberExcluded, tenant=st.just(T), group=group_id, member=member_ref, excluded=st.booleans()),
    st.builds(c.SetGroupMemberRingTime, tenant=st.just(T), group=group_id, member=member_ref, ring_seconds=st.integers(5, 300)),
    st.builds(c.SetGroupSupervisors, tenant=st.just(T), group=group_id, supervisors=st.lists(ext, max_size=2).map(tuple)),
    st.builds(c.DeleteAnswerGroup, tenant=st.just(T), group=group_id),
    st.builds(c.SaveQueue, tenant=st.just(T), queue=st.sampled_from(["q1", "q2"]),
              spec=st.builds(CallQueue, name=st.just("Queue"), agents=st.lists(ext, max_size=2, unique=True).map(tuple),
                             after_max_wait=st.one_of(st.none(), destination), hold_music=st.one_of(st.none(), audio_name))),
    st.builds(c.DeleteQueue, tenant=st.just(T), queue=st.sampled_from(["q1", "q2"])),
    st.builds(c.SaveIvrMenu, tenant=st.just(T), ivr=st.sampled_from(["main", "after"]),
              spec=st.builds(IvrMenu, name=st.just("Menu"), prompt=st.one_of(greeting, audio_prompt),
                             options=st.dictionaries(st.sampled_from(["1", "2", "*"]), destination, max_size=2),
                             number=st.one_of(st.none(), number), opening_hours=st.one_of(st.none(), hours),
                             when_closed=st.one_of(st.none(), destination))),
    st.builds(c.DeleteIvrMenu, tenant=st.just(T), ivr=st.sampled_from(["main", "after"])),
    st.builds(c.SaveForwardingScheme, tenant=st.just(T), scheme=st.sampled_from(["s1", "s2"]),
              spec=st.builds(ForwardingScheme, name=st.just("Scheme"),
                             steps=st.lists(scheme_step, min_size=1, max_size=3).map(tuple),
                             mode=st.sampled_from(["sequential", "parallel"]), working_hours=st.one_of(st.none(), hours),
                             outside_hours=st.one_of(st.none(), destination),
                             backup=st.lists(st.builds(BackupStep, destination=to_number), max_size=1).map(tuple),
                             hold_music=st.one_of(st.none(), audio_name))),
    st.builds(c.DeleteForwardingScheme, tenant=st.just(T), scheme=st.sampled_from(["s1", "s2"])),
    st.builds(c.RouteNumber, tenant=st.just(T), number=number, entry=st.one_of(st.none(), destination)),
    st.builds(c.ReleaseNumber, tenant=st.just(T), number=number),
    st.builds(c.SaveDisplayNumber, tenant=st.just(T), number=number, sms=st.booleans(),
              users=st.lists(ext, max_size=2, unique=True).map(tuple), groups=st.lists(group_id, max_size=1).map(tuple)),
    st.builds(c.SetDisplayNumberAccess, tenant=st.just(T), number=number, group=group_id, agents=st.booleans(),
              supervisors=st.booleans()),
    st.builds(c.RemoveDisplayNumber, tenant=st.just(T), number=number),
    st.builds(c.AddAudioFile, tenant=st.just(T), audio=audio),
    st.builds(c.UpdateAudioFile, tenant=st.just(T), audio=audio),
    st.builds(c.RemoveAudioFile, tenant=st.just(T), name=audio_name),
    st.builds(c.GrantPermission, tenant=st.just(T), principal=st.sampled_from(["bo@acme", "admin@acme"])),
    st.builds(c.RevokePermission, tenant=st.just(T), principal=st.sampled_from(["bo@acme", "admin@acme"])),
    st.builds(c.SetPartner, tenant=st.just(T), partner=st.sampled_from([None, "bt"])),
)
whole_model = st.one_of(command, model_command, model_command)

ACTOR = Actor(principal="admin@acme", operator=True)
PROPERTY_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def baseline() -> list[object]:
    """A tenant with something of everything, so that most random commands find what they refer to."""
    users = [c.AddUser(tenant=T, extension=e, name=f"User {e}") for e in EXTENSIONS[:3]]
    return [
        c.CreateTenant(tenant=T, name="Acme", time_zone="Europe/London"),
        *users,
        c.SetUserLicense(tenant=T, extension="2001", license="pro"),
        c.AddAudioFile(tenant=T, audio=AudioFile(name="welcome", language="en", source="uploaded", content_sha256="cd" * 32,
                                                 duration_seconds=4)),
        c.LinkPbx(tenant=T, pbx="malmo", kind="cloud", name="Malmö"),
        c.LinkPbx(tenant=T, pbx="kyiv", kind="sip", name="Kyiv"),
        c.CreateAnswerGroup(tenant=T, group="sales", settings=GroupSettings(name="Sales"),
                            members=(GroupMember(ref=LocalMember(extension="2001")),
                                     GroupMember(ref=CloudMember(pbx="malmo", member="m1")))),
        c.SaveQueue(tenant=T, queue="q1", spec=CallQueue(name="Q1", agents=("2002",))),
        c.SaveIvrMenu(tenant=T, ivr="main", spec=IvrMenu(name="Main", prompt=AudioFileRef(audio_file="welcome"),
                                                          options={"1": ToGroup(group="sales")})),
        c.SaveForwardingScheme(tenant=T, scheme="s1", spec=ForwardingScheme(
            name="S1", steps=(SchemeStep(destination=ToExtension(extension="2002")),))),
    ]


def run_sequence(app: CallrouteApp, sequence: list[object]) -> int:
    """Build the baseline, then apply each command on its own; refused ones must store nothing."""
    app.execute(baseline(), ACTOR)
    applied = 0
    for cmd in sequence:
        before = app.tenant(T).version
        try:
            app.execute([cmd], ACTOR)
            applied += 1
        except CommandRejected:
            assert app.tenant(T).version == before, "a refused command must record nothing"
        assert dangling(app.tenant(T).state) == [], f"dangling reference after {cmd!r}"
    return applied


@PROPERTY_SETTINGS
@given(st.lists(whole_model, min_size=1, max_size=60))
def test_reloaded_tenant_equals_live_tenant(sequence: list[object]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ledger.sqlite"
        live_app = make_app(path)
        run_sequence(live_app, sequence)
        live = live_app.tenant(T)
        reloaded = make_app(path).tenant(T)
        assert reloaded.version == live.version
        assert reloaded.head == live.head
        assert reloaded.state == live.state
        assert reloaded.modified_on == live.modified_on


@PROPERTY_SETTINGS
@given(st.lists(whole_model, min_size=1, max_size=40))
def test_every_stored_event_round_trips_through_the_mapper(sequence: list[object]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = make_app(Path(tmp) / "ledger.sqlite")
        run_sequence(app, sequence)
        for stored in app.recorder.select_events(tenant_id(T)):
            decoded = app.mapper.to_domain_event(stored)
            again = app.mapper.to_stored_event(decoded)
            assert again == stored


@pytest.mark.slow  # on PostgreSQL (a database for each of its examples): about 40 s
@PROPERTY_SETTINGS
@given(st.lists(whole_model, min_size=3, max_size=25), st.data())
def test_any_altered_stored_event_is_reported_by_verify(sequence: list[object], data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ledger.sqlite"
        app = make_app(path)
        run_sequence(app, sequence)
        version = app.tenant(T).version
        victim = data.draw(st.integers(1, version), label="altered version")
        stored = next(e for e in app.recorder.select_events(tenant_id(T)) if e.originator_version == victim)
        state = msgspec.json.decode(stored.state)
        field = data.draw(st.sampled_from(sorted(k for k in state if k != "hash")), label="altered field")
        state[field] = "tampered" if state[field] != "tampered" else "tampered again"
        overwrite_event_state(path, tenant_id(T), victim, msgspec.json.encode(state))  # in the file, or the database
        report = verify_chain(app.recorder, app.mapper, tenant_id(T), app.snapshots)
        assert report.first_break is not None
        assert report.first_break.version == victim
        assert report.first_break.problem == "altered"


def test_the_sample_sequence_stores_every_event_type(tmp_path: Path) -> None:
    """Guards the round-trip property above: together these commands make every event type."""
    app = make_app(tmp_path / "ledger.sqlite")
    app.execute([c.CreateTenant(tenant=T, name="Acme", time_zone="Europe/London")], ACTOR)
    e1, e2 = "2001", "2002"
    app.execute(
        [
            c.RenameTenant(tenant=T, name="Acme AB"),
            c.AddUser(tenant=T, extension=e1, name="Ann"),
            c.AddUser(tenant=T, extension=e2, name="Bo"),
            c.UpdateUserProfile(tenant=T, extension=e2, email="bo@example.com"),
            c.AssignNumber(tenant=T, extension=e1, number=NUMBERS[0]),
            c.AssignNumber(tenant=T, extension=e1, number=NUMBERS[1]),
            c.SetDefaultNumber(tenant=T, extension=e1, number=NUMBERS[1]),
            c.SetPresentationNumber(tenant=T, extension=e1, number=NUMBERS[0]),
            c.UnassignNumber(tenant=T, extension=e1, number=NUMBERS[0]),
            c.AddDevice(tenant=T, extension=e1, mac=MACS[0]),
            c.RemoveDevice(tenant=T, extension=e1, mac=MACS[0]),
            c.SetPermanentRedirect(tenant=T, extension=e1, number=NUMBERS[2]),
            c.SetNotifications(tenant=T, extension=e1, missed_call=False),
            c.SetDivert(tenant=T, extension=e1, condition="busy", target=ToVoicemail()),
            c.SetOutOfHours(tenant=T, extension=e1, out_of_hours=OutOfHours()),
            c.SetRejectAnonymous(tenant=T, extension=e1, enabled=True),
            c.SetNumberRejectAnonymous(tenant=T, number=NUMBERS[1], enabled=True),
            c.SetCallWaiting(tenant=T, extension=e1, enabled=False),
            c.ResetCallHandling(tenant=T, extension=e1, settings=("call_waiting",)),
            c.SetVoicePortalPin(tenant=T, extension=e1, pin="123456"),
            c.SetDefaultBusy(tenant=T, target=ToVoicemail(), apply_to="all_users"),
            c.SetUnassignedNumberHandling(tenant=T, handling=BusyTone()),
            c.SetUserLicense(tenant=T, extension=e1, license="pro"),
            c.BuyExtras(tenant=T, kind="answer_groups", quantity=1),
            c.ChangePlan(tenant=T, plan="unlimited"),
            c.GrantPermission(tenant=T, principal="bo@acme"),
            c.RevokePermission(tenant=T, principal="bo@acme"),
            c.SetPartner(tenant=T, partner="bt"),
            c.LinkPbx(tenant=T, pbx="kyiv", kind="sip", name="Kyiv"),
            c.AddAudioFile(tenant=T, audio=AudioFile(name="hold", language="en", source="uploaded", content_sha256="ab" * 32,
                                                     duration_seconds=3)),
            c.UpdateAudioFile(tenant=T, audio=AudioFile(name="hold", language="sv", source="uploaded", content_sha256="ab" * 32,
                                                        duration_seconds=3)),
            c.SaveDisplayNumber(tenant=T, number=NUMBERS[3], users=(e1,)),
            c.CreateAnswerGroup(tenant=T, group="sales", settings=GroupSettings(name="Sales"),
                                members=(GroupMember(ref=LocalMember(extension=e1)),)),
            c.UpdateAnswerGroup(tenant=T, group="sales", settings=GroupSettings(name="Sales", display_number=NUMBERS[3])),
            c.AddGroupMember(tenant=T, group="sales", member=GroupMember(ref=SipMember(pbx="kyiv", internal_number="101"))),
            c.ReorderGroupMembers(tenant=T, group="sales", order=(SipMember(pbx="kyiv", internal_number="101"),
                                                                  LocalMember(extension=e1))),
            c.SetGroupMemberExcluded(tenant=T, group="sales", member=LocalMember(extension=e1), excluded=True),
            c.SetGroupMemberRingTime(tenant=T, group="sales", member=LocalMember(extension=e1), ring_seconds=30),
            c.ClearGroupMemberRingTime(tenant=T, group="sales", member=LocalMember(extension=e1)),
            c.SetGroupSupervisors(tenant=T, group="sales", supervisors=(e1,)),
            c.SetGroupRejectAnonymous(tenant=T, group="sales", enabled=True),
            c.RemoveGroupMember(tenant=T, group="sales", member=SipMember(pbx="kyiv", internal_number="101")),
            c.UnlinkPbx(tenant=T, pbx="kyiv"),
            c.SetDisplayNumberAccess(tenant=T, number=NUMBERS[3], group="sales", agents=True, supervisors=False),
            c.SaveQueue(tenant=T, queue="q1", spec=CallQueue(name="Q", agents=(e1,), hold_music="hold")),
            c.SaveIvrMenu(tenant=T, ivr="main", spec=IvrMenu(name="Main", prompt=AudioFileRef(audio_file="hold"),
                                                              options={"1": ToQueue(queue="q1")})),
            c.SaveForwardingScheme(tenant=T, scheme="s1", spec=ForwardingScheme(name="S", steps=(SchemeStep(
                destination=ToIvr(ivr="main")),))),
            c.RouteNumber(tenant=T, number=NUMBERS[4], entry=ToScheme(scheme="s1")),
            c.ReleaseNumber(tenant=T, number=NUMBERS[4]),
            c.DeleteForwardingScheme(tenant=T, scheme="s1"),
            c.DeleteIvrMenu(tenant=T, ivr="main"),
            c.DeleteQueue(tenant=T, queue="q1"),
            c.RemoveAudioFile(tenant=T, name="hold"),
            c.UpdateAnswerGroup(tenant=T, group="sales", settings=GroupSettings(name="Sales")),
            c.SaveDisplayNumber(tenant=T, number=NUMBERS[3], users=()),
            c.SetPresentationNumber(tenant=T, extension=e1, number=None),
            c.RemoveDisplayNumber(tenant=T, number=NUMBERS[3]),
            c.DeleteAnswerGroup(tenant=T, group="sales"),
            c.RemoveUser(tenant=T, extension=e2),
            c.AddClosure(tenant=T, name="Christmas Eve", first_day=date(2026, 12, 24), scope=ClosureScope(users=(e1,))),
            c.ImportPublicHolidays(tenant=T, country="SE", first_year=2026, last_year=2026),
            c.RemoveClosure(tenant=T, name="Christmas Eve"),
            c.CloseTenant(tenant=T),
            c.ReopenTenant(tenant=T),
        ],
        ACTOR,
    )
    # A member on another PBX is marked unknown once the directory drops it, and known again once it lists it again.
    app.execute([c.LinkPbx(tenant=T, pbx="malmo", kind="cloud", name="Malmö"),
                 c.CreateAnswerGroup(tenant=T, group="remote", settings=GroupSettings(name="Remote"),
                                     members=(GroupMember(ref=CloudMember(pbx="malmo", member="m1")),))], ACTOR)
    app.pbx_directory = WithoutM1()
    app.execute([c.CheckPbxMembers(tenant=T)], ACTOR)
    app.pbx_directory = FakeDirectory()
    app.execute([c.CheckPbxMembers(tenant=T)], ACTOR)
    stored_topics = {e.topic for e in app.recorder.select_events(tenant_id(T))}
    assert stored_topics == {cls.TOPIC for cls in TENANT_EVENTS}


@pytest.mark.parametrize("victim", [1, 5, 9])
def test_verify_names_a_deleted_event(tmp_path: Path, victim: int) -> None:
    path = tmp_path / "ledger.sqlite"
    app = make_app(path)
    run_sequence(app, [c.AddUser(tenant=T, extension=f"30{i:02d}", name="U") for i in range(10)])
    delete_event(path, tenant_id(T), victim)
    report = verify_chain(app.recorder, app.mapper, tenant_id(T), app.snapshots)
    assert report.first_break is not None
    assert (report.first_break.version, report.first_break.problem) == (victim, "missing")


def test_verify_detects_events_deleted_from_the_end_through_the_snapshot(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    app = make_app(path)
    run_sequence(app, [c.AddUser(tenant=T, extension=f"30{i:02d}", name="U") for i in range(4)])  # 1 + 11 + 4 = 16 events
    assert [version for version, _, _ in record_events(path, tenant_id(T))] == list(range(1, 17))
    for version in range(13, 17):  # the batch's snapshot is at 12
        delete_event(path, tenant_id(T), version)
    report = verify_chain(app.recorder, app.mapper, tenant_id(T), app.snapshots)
    assert report.first_break is not None
    assert report.first_break.problem == "missing"
    assert "after version 12" in report.first_break.detail


def test_verify_detects_a_rehashed_edit_by_the_broken_link(tmp_path: Path) -> None:
    """An editor who also recomputes the edited event's own hash still breaks the next link."""
    from core.aggregates.chain import event_hash

    path = tmp_path / "ledger.sqlite"
    app = make_app(path)
    run_sequence(app, [])
    stored = next(e for e in app.recorder.select_events(tenant_id(T)) if e.originator_version == 2)
    state = msgspec.json.decode(stored.state)
    state["name"] = "Mallory"
    del state["hash"]  # then recompute it, as a careful forger would
    state["hash"] = event_hash(stored.topic, str(tenant_id(T)), 2, state)
    overwrite_event_state(path, tenant_id(T), 2, msgspec.json.encode(state))
    report = verify_chain(app.recorder, app.mapper, tenant_id(T), app.snapshots)
    assert report.first_break is not None
    assert (report.first_break.version, report.first_break.problem) == (3, "chain_broken")


def test_verify_detects_an_edited_snapshot(tmp_path: Path) -> None:
    """A snapshot loads the tenant for every reader: an edit that keeps its chain head must still be found."""
    path = tmp_path / "ledger.sqlite"
    app = make_app(path)
    run_sequence(app, [])  # one batch of 12 events: the snapshot is taken at version 12
    [(at, _, state)] = record_events(path, tenant_id(T), snapshots=True)
    edited = state.replace(b'"name":"Acme"', b'"name":"Evil Corp"')
    assert edited != state
    overwrite_event_state(path, tenant_id(T), at, edited, snapshots=True)
    report = verify_chain(app.recorder, app.mapper, tenant_id(T), app.snapshots)
    assert report.first_break is not None
    assert (report.first_break.version, report.first_break.problem) == (at, "snapshot_mismatch")
    # The snapshot's digest (core/codec.py) shows the edit before the replay does.
    assert f"the snapshot at version {at} does not match its digest" in report.first_break.detail


def test_verify_reports_an_unreadable_snapshot_instead_of_crashing(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    app = make_app(path)
    run_sequence(app, [])
    [(at, _, _)] = record_events(path, tenant_id(T), snapshots=True)
    overwrite_event_state(path, tenant_id(T), at, b"{}", snapshots=True)
    report = verify_chain(app.recorder, app.mapper, tenant_id(T), app.snapshots)
    assert report.first_break is not None
    assert report.first_break.problem == "snapshot_mismatch"
    assert "cannot be read" in report.first_break.detail
