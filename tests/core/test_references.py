"""Referential integrity (core/aggregates/references.py): no command leaves a reference to something
missing, and every removal of something still referred to is refused naming each referrer."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest

from core import commands as c
from core.aggregates.context import Actor
from core.aggregates.groups import CloudMember, GroupMember, GroupSettings, LocalMember, SipMember
from core.aggregates.hours import OpeningHours, Window
from core.aggregates.references import dangling, references, referrers
from core.aggregates.schedule import OutOfHours, UnavailableAllDay
from core.aggregates.services import BackupStep, CallQueue, ForwardingScheme, IvrMenu, SchemeStep
from core.aggregates.state import TenantState
from core.aggregates.targets import (
    AudioFileRef,
    BusyTone,
    ForwardTo,
    MessageAndHangUp,
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
from core.errors import InUseError
from core.service import CallrouteApp, CommandRejected
from tests.core.conftest import KYIV, MALMO, add_audio, audio_file, rejected

DISPLAY = "+442079460000"
N1 = "+441234567890"
N2 = "+46812345678"
HOURS = OpeningHours(days={"mon": (Window(start="08:00", end="17:00"),)})
ALL_KINDS = {"user", "group", "queue", "ivr", "scheme", "audio", "display_number", "pbx"}


@pytest.fixture
def world(app: CallrouteApp, actor: Actor) -> str:
    """An Unlimited tenant "acme" where every kind of thing refers to every other kind."""
    app.create_tenant(actor=actor, tenant="acme", name="Acme", time_zone="Europe/London", plan="unlimited")
    t = {"actor": actor, "tenant": "acme"}
    for extension, name in (("2001", "Ann"), ("2002", "Bob"), ("2003", "Cid")):
        app.add_user(**t, extension=extension, name=name)
    app.set_user_license(**t, extension="2003", license="pro")
    add_audio(app, actor, "acme", "hold.wav", "welcome.wav")
    app.link_pbx(**t, pbx=MALMO, kind="cloud", name="Malmö clinic")
    app.link_pbx(**t, pbx=KYIV, kind="sip", name="Kyiv office")
    app.save_display_number(**t, number=DISPLAY, sms=True, users=("2001",))
    app.create_answer_group(
        **t,
        group="sales",
        settings=GroupSettings(name="Sales", display_number=DISPLAY, fallback=ToVoicemail(extension="2002")),
        members=(
            GroupMember(ref=LocalMember(extension="2001")),
            GroupMember(ref=CloudMember(pbx=MALMO, member="3001")),
            GroupMember(ref=SipMember(pbx=KYIV, internal_number="101")),
        ),
        supervisors=("2003",),
    )
    app.create_answer_group(
        **t,
        group="support",
        settings=GroupSettings(name="Support", fallback=ToGroup(group="sales")),
        members=(GroupMember(ref=LocalMember(extension="2002")),),
    )
    app.save_queue(
        **t,
        queue="q",
        spec=CallQueue(
            name="Queue",
            agents=("2001", "2002"),
            hold_music="hold.wav",
            after_max_wait=ToGroup(group="sales"),
            when_no_agents=ToRemote(pbx=KYIV, member="205"),
        ),
    )
    night = ForwardingScheme(name="Night", steps=(SchemeStep(destination=ToVoicemail(extension="2001")),))
    app.save_forwarding_scheme(**t, scheme="night", spec=night)
    app.save_ivr_menu(
        **t,
        ivr="main",
        spec=IvrMenu(
            name="Main",
            prompt=AudioFileRef(audio_file="welcome.wav"),
            options={"1": ToGroup(group="sales"), "2": ToQueue(queue="q"), "0": ToExtension(extension="2001")},
            opening_hours=HOURS,
            when_closed=ToScheme(scheme="night"),
        ),
    )
    app.save_forwarding_scheme(
        **t,
        scheme="day",
        spec=ForwardingScheme(
            name="Day",
            steps=(SchemeStep(destination=ToExtension(extension="2002")), SchemeStep(destination=ToIvr(ivr="main"))),
            working_hours=HOURS,
            outside_hours=ToScheme(scheme="night"),
            whisper=AudioFileRef(audio_file="welcome.wav"),
            hold_music="hold.wav",
        ),
    )
    app.route_number(**t, number=N1, entry=ToScheme(scheme="day"))
    app.route_number(**t, number=N2, entry=ToRemote(pbx=MALMO, member="3002"))
    app.set_divert(**t, extension="2002", condition="busy", target=ToExtension(extension="2001"))
    app.set_out_of_hours(
        **t, extension="2001", out_of_hours=OutOfHours(days={"sun": UnavailableAllDay()}, when_unavailable=ToExtension(extension="2003"))
    )
    app.set_unassigned_number_handling(**t, handling=ForwardTo(target=ToExtension(extension="2003")))
    app.set_presentation_number(**t, extension="2001", number=DISPLAY)
    return "acme"


# -- dangling -------------------------------------------------------------------------------------


def test_dangling_is_empty_in_a_tenant_where_everything_refers_to_everything(app: CallrouteApp, world: str) -> None:
    state = app.tenant(world).state
    assert dangling(state) == []
    assert {kind for kind, _, _ in references(state)} == ALL_KINDS


def test_dangling_finds_a_reference_to_something_missing() -> None:
    state = TenantState(slug="acme", name="Acme", time_zone="Europe/London", plan="light")
    state.numbers = {}
    state.unassigned = ForwardTo(target=ToExtension(extension="2001"))
    state.queues = {"q": CallQueue(name="Q", agents=("2002",), hold_music="hold.wav", when_no_agents=ToIvr(ivr="main"))}
    assert sorted(dangling(state)) == sorted(
        [
            ("user", "2001", "tenant: unassigned-number handling.target"),
            ("user", "2002", "queue q: agents[0]"),
            ("ivr", "main", "queue q: when_no_agents"),
            ("audio", "hold.wav", "queue q: hold_music"),
        ]
    )


def test_dangling_stays_empty_while_the_tenant_is_taken_apart_in_a_valid_order(app: CallrouteApp, actor: Actor, world: str) -> None:
    t = {"actor": actor, "tenant": world}
    steps: list[Callable[[], Any]] = [
        lambda: app.release_number(**t, number=N1),
        lambda: app.release_number(**t, number=N2),
        lambda: app.delete_forwarding_scheme(**t, scheme="day"),
        lambda: app.delete_ivr_menu(**t, ivr="main"),
        lambda: app.delete_forwarding_scheme(**t, scheme="night"),
        lambda: app.delete_queue(**t, queue="q"),
        lambda: app.delete_answer_group(**t, group="support"),
        lambda: app.delete_answer_group(**t, group="sales"),
        lambda: app.set_presentation_number(**t, extension="2001", number=None),
        lambda: app.remove_display_number(**t, number=DISPLAY),
        lambda: app.unlink_pbx(**t, pbx=MALMO),
        lambda: app.unlink_pbx(**t, pbx=KYIV),
        lambda: app.remove_audio_file(**t, name="hold.wav"),
        lambda: app.remove_audio_file(**t, name="welcome.wav"),
        lambda: app.set_unassigned_number_handling(**t, handling=BusyTone()),
        lambda: app.set_out_of_hours(**t, extension="2001", out_of_hours=None),
        lambda: app.remove_user(**t, extension="2003"),
        lambda: app.reset_call_handling(**t, extension="2002", settings=("busy",)),
        lambda: app.remove_user(**t, extension="2001"),
        lambda: app.remove_user(**t, extension="2002"),
    ]
    for step in steps:
        step()
        assert dangling(app.tenant(world).state) == []
    view = app.get_tenant(world, actor)
    assert (view.users, view.groups, view.queues, view.ivr_menus, view.schemes) == ((), (), {}, {}, ())
    assert (view.numbers, view.display_numbers, view.audio_files, view.pbx_links) == ((), (), (), ())


# -- every removal of something referred to is refused, naming each referrer ------------------------

REMOVALS: dict[str, tuple[str, dict[str, str], str, str, list[str]]] = {
    # id: (command, arguments, field, label, referrers in the order the tenant's state lists them)
    "user 2001": (
        "remove_user",
        {"extension": "2001"},
        "extension",
        "extension 2001",
        [
            "user 2002: own.busy",
            "group sales: members[0].ref",
            "queue q: agents[0]",
            "ivr main.options.0",
            "scheme night.steps[0].destination",
            f"display number {DISPLAY}: users[0]",
        ],
    ),
    "user 2002": (
        "remove_user",
        {"extension": "2002"},
        "extension",
        "extension 2002",
        ["group sales: fallback", "group support: members[0].ref", "queue q: agents[1]", "scheme day.steps[0].destination"],
    ),
    "user 2003": (
        "remove_user",
        {"extension": "2003"},
        "extension",
        "extension 2003",
        ["user 2001: out_of_hours.when_unavailable", "tenant: unassigned-number handling.target", "group sales: supervisors[0]"],
    ),
    "group": (
        "delete_answer_group",
        {"group": "sales"},
        "group",
        "answer group 'sales'",
        ["group support: fallback", "queue q: after_max_wait", "ivr main.options.1"],
    ),
    "queue": ("delete_queue", {"queue": "q"}, "queue", "call queue 'q'", ["ivr main.options.2"]),
    "ivr": ("delete_ivr_menu", {"ivr": "main"}, "ivr", "IVR menu 'main'", ["scheme day.steps[1].destination"]),
    "scheme night": (
        "delete_forwarding_scheme",
        {"scheme": "night"},
        "scheme",
        "forwarding scheme 'night'",
        ["ivr main.when_closed", "scheme day.outside_hours"],
    ),
    "scheme day": ("delete_forwarding_scheme", {"scheme": "day"}, "scheme", "forwarding scheme 'day'", [f"number {N1}: entry"]),
    "hold music": (
        "remove_audio_file",
        {"name": "hold.wav"},
        "name",
        "audio file 'hold.wav'",
        ["queue q: hold_music", "scheme day: hold_music"],
    ),
    "prompt and whisper": (
        "remove_audio_file",
        {"name": "welcome.wav"},
        "name",
        "audio file 'welcome.wav'",
        ["ivr main.prompt", "scheme day.whisper"],
    ),
    "cloud pbx": ("unlink_pbx", {"pbx": MALMO}, "pbx", "PBX 'malmo'", ["group sales: members[1].ref", f"number {N2}: entry"]),
    "sip pbx": ("unlink_pbx", {"pbx": KYIV}, "pbx", "PBX 'kyiv-office'", ["group sales: members[2].ref", "queue q: when_no_agents"]),
}
KINDS_OF = {
    "remove_user": "user",
    "delete_answer_group": "group",
    "delete_queue": "queue",
    "delete_ivr_menu": "ivr",
    "delete_forwarding_scheme": "scheme",
    "remove_audio_file": "audio",
    "unlink_pbx": "pbx",
}


@pytest.mark.parametrize("case", list(REMOVALS))
def test_a_removal_of_something_referred_to_is_refused_naming_every_referrer(
    app: CallrouteApp, actor: Actor, world: str, case: str
) -> None:
    command, arguments, field, label, expected = REMOVALS[case]
    state = app.tenant(world).state
    assert referrers(state, KINDS_OF[command], next(iter(arguments.values()))) == expected  # type: ignore[arg-type]
    with rejected(app, InUseError, field=field, match="is still used by") as excinfo:
        getattr(app, command)(actor=actor, tenant=world, **arguments)
    assert str(excinfo.value) == f"commands[0].{field} ({command}): {label} is still used by: {'; '.join(expected)}"
    assert dangling(app.tenant(world).state) == []


def test_a_display_number_linked_to_a_group_is_refused_naming_the_group_first(app: CallrouteApp, actor: Actor, world: str) -> None:
    with rejected(app, InUseError, field="number", match="is linked to") as excinfo:
        app.remove_display_number(actor=actor, tenant=world, number=DISPLAY)
    assert str(excinfo.value) == (
        f"commands[0].number (remove_display_number): {DISPLAY} is linked to answer group sales: display_number and cannot be removed"
    )


def test_a_display_number_a_user_presents_is_refused_naming_the_user(app: CallrouteApp, actor: Actor, world: str) -> None:
    unlinked = GroupSettings(name="Sales", fallback=ToVoicemail(extension="2002"))
    app.update_answer_group(actor=actor, tenant=world, group="sales", settings=unlinked)
    with rejected(app, InUseError, field="number", match="is still used by") as excinfo:
        app.remove_display_number(actor=actor, tenant=world, number=DISPLAY)
    assert str(excinfo.value).endswith(f"display number {DISPLAY} is still used by: user 2001: presentation_number")


def test_a_group_referred_to_only_by_its_own_settings_can_be_deleted(app: CallrouteApp, actor: Actor, world: str) -> None:
    app.save_ivr_menu(
        actor=actor, tenant=world, ivr="loop", spec=IvrMenu(name="Loop", prompt=TextToSpeech(text="Again", language="en"))
    )
    app.save_ivr_menu(
        actor=actor,
        tenant=world,
        ivr="loop",
        spec=IvrMenu(name="Loop", prompt=TextToSpeech(text="Again", language="en"), options={"9": ToIvr(ivr="loop")}),
    )
    assert referrers(app.tenant(world).state, "ivr", "loop") == []
    app.delete_ivr_menu(actor=actor, tenant=world, ivr="loop")
    assert dangling(app.tenant(world).state) == []


# -- a long random sequence of commands leaves no dangling reference ----------------------------------

EXTENSIONS = ["2001", "2002", "2003", "2004"]
GROUPS = ["sales", "support"]
QUEUES = ["q1", "q2"]
IVRS = ["main", "english"]
SCHEMES = ["day", "night"]
AUDIO = ["a.wav", "b.wav"]
NUMBERS = ["+441234567890", "+441234567891", "+46812345670"]
DISPLAYS = ["+442079460000", "+442079460001"]


def _destination(r: random.Random) -> Any:
    return r.choice(
        [
            ToExtension(extension=r.choice(EXTENSIONS)),
            ToVoicemail(extension=r.choice(EXTENSIONS)),
            ToNumber(number="+442071234567"),
            ToGroup(group=r.choice(GROUPS)),
            ToQueue(queue=r.choice(QUEUES)),
            ToIvr(ivr=r.choice(IVRS)),
            ToScheme(scheme=r.choice(SCHEMES)),
            ToRemote(pbx=MALMO, member=r.choice(["3001", "3002"])),
            ToRemote(pbx=KYIV, member=r.choice(["101", "205"])),
            PlayMessage(message=AudioFileRef(audio_file=r.choice(AUDIO))),
        ]
    )


def _step_destination(r: random.Random) -> Any:
    return r.choice(
        [
            ToExtension(extension=r.choice(EXTENSIONS)),
            ToVoicemail(extension=r.choice(EXTENSIONS)),
            ToGroup(group=r.choice(GROUPS)),
            ToQueue(queue=r.choice(QUEUES)),
            ToIvr(ivr=r.choice(IVRS)),
        ]
    )


def _member(r: random.Random) -> Any:
    return r.choice(
        [LocalMember(extension=r.choice(EXTENSIONS)), CloudMember(pbx=MALMO, member="3001"), SipMember(pbx=KYIV, internal_number="102")]
    )


def _random_command(r: random.Random) -> Any:
    """One command on "acme", drawn so that things are created about four times as often as removed."""
    t = "acme"
    ext = r.choice(EXTENSIONS)
    group = r.choice(GROUPS)
    greeting = r.choice([AudioFileRef(audio_file=r.choice(AUDIO)), TextToSpeech(text="Hi", language="en")])
    apply_to = r.choice(["new_users", "unchanged_users", "all_users"])
    create: list[Callable[[], Any]] = [
        lambda: c.AddUser(tenant=t, extension=ext, name=f"User {ext}"),
        lambda: c.SetUserLicense(tenant=t, extension=ext, license=r.choice(["basic", "pro"])),
        lambda: c.AddAudioFile(tenant=t, audio=audio_file(r.choice(AUDIO))),
        lambda: c.LinkPbx(tenant=t, pbx=MALMO, kind="cloud", name="Malmö"),
        lambda: c.LinkPbx(tenant=t, pbx=KYIV, kind="sip", name="Kyiv"),
        lambda: c.CreateAnswerGroup(
            tenant=t,
            group=group,
            settings=GroupSettings(name=group, fallback=r.choice([None, ToExtension(extension=ext), ToGroup(group=r.choice(GROUPS))])),
            members=tuple({m: GroupMember(ref=m) for m in (_member(r), _member(r))}.values()),
            supervisors=r.choice([(), (ext,)]),
        ),
        lambda: c.AddGroupMember(tenant=t, group=group, member=GroupMember(ref=_member(r))),
        lambda: c.SaveQueue(
            tenant=t,
            queue=r.choice(QUEUES),
            spec=CallQueue(name="Q", agents=(ext,), hold_music=r.choice([None, *AUDIO]), after_max_wait=_destination(r)),
        ),
        lambda: c.SaveIvrMenu(
            tenant=t, ivr=r.choice(IVRS), spec=IvrMenu(name="M", prompt=greeting, options={"1": _destination(r), "2": _destination(r)})
        ),
        lambda: c.SaveForwardingScheme(
            tenant=t,
            scheme=r.choice(SCHEMES),
            spec=ForwardingScheme(
                name="S",
                steps=(SchemeStep(destination=_step_destination(r)),),
                outside_hours=_destination(r),
                working_hours=HOURS,
                whisper=greeting,
                backup=(BackupStep(destination=ToExtension(extension=ext)),),
            ),
        ),
        lambda: c.RouteNumber(tenant=t, number=r.choice(NUMBERS), entry=r.choice([None, _destination(r)])),
        lambda: c.SaveDisplayNumber(
            tenant=t, number=r.choice(DISPLAYS), sms=r.random() < 0.5, users=(ext,), groups=r.choice([(), (group,)])
        ),
    ]
    change: list[Callable[[], Any]] = [
        lambda: c.RemoveUser(tenant=t, extension=ext),
        lambda: c.SetDivert(
            tenant=t,
            extension=ext,
            condition=r.choice(["always", "busy", "unreachable"]),
            target=ToExtension(extension=r.choice(EXTENSIONS)),
        ),
        lambda: c.SetVoicemailGreeting(tenant=t, extension=ext, greeting=greeting),
        lambda: c.SetDefaultVoicemailGreeting(tenant=t, greeting=greeting, apply_to=apply_to),
        lambda: c.SetDefaultBusy(tenant=t, target=ToExtension(extension=ext), apply_to=apply_to),
        lambda: c.SetUnassignedNumberHandling(
            tenant=t, handling=r.choice([BusyTone(), ForwardTo(target=ToExtension(extension=ext)), MessageAndHangUp(message=greeting)])
        ),
        lambda: c.RemoveAudioFile(tenant=t, name=r.choice(AUDIO)),
        lambda: c.UnlinkPbx(tenant=t, pbx=r.choice([MALMO, KYIV])),
        lambda: c.UpdateAnswerGroup(tenant=t, group=group, settings=GroupSettings(name=group, display_number=r.choice([None, *DISPLAYS]))),
        lambda: c.RemoveGroupMember(tenant=t, group=group, member=_member(r)),
        lambda: c.SetGroupMemberExcluded(tenant=t, group=group, member=_member(r), excluded=r.random() < 0.5),
        lambda: c.SetGroupSupervisors(tenant=t, group=group, supervisors=(ext,)),
        lambda: c.DeleteAnswerGroup(tenant=t, group=group),
        lambda: c.DeleteQueue(tenant=t, queue=r.choice(QUEUES)),
        lambda: c.DeleteIvrMenu(tenant=t, ivr=r.choice(IVRS)),
        lambda: c.DeleteForwardingScheme(tenant=t, scheme=r.choice(SCHEMES)),
        lambda: c.ReleaseNumber(tenant=t, number=r.choice(NUMBERS)),
        lambda: c.SetDisplayNumberAccess(tenant=t, number=r.choice(DISPLAYS), group=group, agents=True, supervisors=r.random() < 0.5),
        lambda: c.RemoveDisplayNumber(tenant=t, number=r.choice(DISPLAYS)),
        lambda: c.SetPresentationNumber(tenant=t, extension=ext, number=r.choice([None, *DISPLAYS])),
    ]
    makers = create if r.random() < 0.55 else change
    return r.choice(makers)()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_long_random_sequence_of_commands_leaves_no_dangling_reference(app: CallrouteApp, actor: Actor, seed: int) -> None:
    r = random.Random(seed)
    app.create_tenant(actor=actor, tenant="acme", name="Acme", time_zone="Europe/London", plan="unlimited")
    accepted: set[str] = set()
    for _ in range(500):
        command = _random_command(r)
        try:
            app.execute([command], actor)
        except CommandRejected:
            continue
        accepted.add(c.command_tag(command))
        assert dangling(app.tenant("acme").state) == [], c.command_tag(command)
    assert len(accepted) >= 25  # the sequence really exercised most commands
    live = app.tenant("acme")
    rebuilt = app.tenant("acme", version=live.version)
    assert rebuilt is not live
    assert rebuilt.state == live.state
