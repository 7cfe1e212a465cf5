"""A store written under older value rules keeps loading, verifying and showing its history.

Commit 93a2c2d made every schema pattern a full match and names refuse control and bidirectional
characters. Commands and stored events share those types, so a value an older main accepted and
stored (an extension ``"2001\\n"``: ``^[0-9]{2,6}$`` is searched, and ``$`` matches before a final
newline; a group name with a tab) is refused by today's rules. Stored events are kept forever: the
mapper converts such an event again without the value rules (``core.codec.lenient_convert``), the
shape still checked, and a new command carrying the same value is refused as before.

The store here is written by today's code and then rewritten to hold what an older main stored: the
values below, with every event's hash and link recomputed so that the chain is intact.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

import msgspec
import pytest
from eventsourcing.persistence import MapperDeserialisationError
from eventsourcing.utils import resolve_topic

from adapters.bootstrap import build_app, build_projection
from core import commands as c
from core.aggregates.chain import GENESIS, event_hash
from core.aggregates.context import Actor
from core.aggregates.groups import AnswerGroup, GroupMember, GroupSettings, LocalMember
from core.aggregates.hours import OpeningHours, Window
from core.aggregates.identifiers import ClockTime, Extension, Name, tenant_id
from core.aggregates.provisioning import ProviderPolicy, provisioning_id
from core.aggregates.targets import ToExtension
from core.aggregates.tenant import TenantSnapshot
from core.audit import verify_chain, verify_store
from core.clock import SteppingClock
from core.codec import lenient_convert, opened_snapshot
from core.errors import StoreIntegrityError
from core.projections.history import tenant_history
from core.projections.reader import EventReader
from core.service import CallrouteApp, CommandRejected
from tests.adapters.clirun import invoke
from tests.backends import copy_store, overwrite_event_state, record_events

SLUG = "old-rules"
ADMIN = "admin@old-rules.example"
ACTOR = Actor(principal=ADMIN)
WRITTEN = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
"""When the changes were made (before the stricter rules)."""
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
"""When today's code reads the store and makes its own changes."""
TENANT = tenant_id(SLUG)
RECORD = provisioning_id(SLUG)

LEGACY = {
    "2001": "2001\n",  # an extension: ^[0-9]{2,6}$ finds a match before the final newline
    "Sales": "Sales\t",  # a group name with a tab
    "Anna Andersson": "Anna \u202eAndersson",  # a user's name with a right-to-left override
    "set up": "set\x00up",  # a reason with a NUL
    "08:00": "08:00\n",  # the start of the provider's office hours: ^([01][0-9]|2[0-3]):[0-5][0-9]$ found it too
}
"""Each value as today's code writes it → the value an older main stored instead (and accepted: see the first test)."""
CONSTRAINED = ("callroute/AnswerGroupCreated", "callroute/DivertSet", "callroute/ProviderPolicySet")
"""The stored events whose types carry a rule that refuses a value of ``LEGACY`` today (the others store plain ``str``)."""

OLD_RULES = {
    "2001\n": Annotated[str, msgspec.Meta(pattern=r"^[0-9]{2,6}$")],
    "Sales\t": Annotated[str, msgspec.Meta(min_length=1, max_length=120)],
    "Anna \u202eAndersson": Annotated[str, msgspec.Meta(min_length=1, max_length=120)],
    "set\x00up": Annotated[str, msgspec.Meta(max_length=500)],
    "08:00\n": Annotated[str, msgspec.Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")],
}
"""The value rules of the main before 93a2c2d (``Extension``, ``Name``, ``Reason``, ``ClockTime``)."""


class FakeHasher:
    def hash(self, pin: str) -> str:
        return "fake$" + pin[::-1]


def open_app(db: Path, at: datetime = NOW) -> CallrouteApp:
    return build_app(db, clock=SteppingClock(at, timedelta(seconds=1)), pin_hasher=FakeHasher())


def rewrite(db: Path, record: UUID, edit: Callable[[str, int, dict[str, Any]], None]) -> None:
    """Edit the stored fields of every event of ``record`` in place (``edit(topic, version, fields)``) and seal each again:
    its ``prev_hash`` the hash of the one before, its ``hash`` over its content (``core/aggregates/chain.py``), as the
    writer of the values would have sealed it."""
    head = GENESIS
    for version, topic, state in record_events(db, record):  # with SQL, in the SQLite file or the PostgreSQL database
        fields = msgspec.json.decode(state)  # keeps the stored order of the fields
        edit(topic, version, fields)
        fields["prev_hash"] = head
        fields["hash"] = head = event_hash(topic, str(record), version, {k: v for k, v in fields.items() if k != "hash"})
        overwrite_event_state(db, record, version, msgspec.json.encode(fields))


def _legacy(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _legacy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_legacy(item) for item in value]
    return LEGACY.get(value, value) if isinstance(value, str) else value


def as_stored_by_an_older_main(topic: str, version: int, fields: dict[str, Any]) -> None:
    fields.update(_legacy({key: value for key, value in fields.items() if key not in ("hash", "prev_hash")}))


def write_store(db: Path) -> Path:
    """A tenant with users, an answer group, a divert and a provider's policy, rewritten to hold ``LEGACY``'s values, sealed."""
    app = open_app(db, WRITTEN)
    try:
        app.execute([
            c.CreateTenant(tenant=SLUG, name="Old Rules AB", time_zone="Europe/Stockholm"),
            c.AddUser(tenant=SLUG, extension="2001", name="Anna Andersson"),
            c.AddUser(tenant=SLUG, extension="2002", name="Bo Berg"),
            c.CreateAnswerGroup(tenant=SLUG, group="sales", settings=GroupSettings(name="Sales"),
                                members=(GroupMember(ref=LocalMember(extension="2001")),)),
            c.SetDivert(tenant=SLUG, extension="2002", condition="busy", target=ToExtension(extension="2001")),
            c.SetProviderPolicy(tenant=SLUG, policy=ProviderPolicy(
                office_hours=OpeningHours(days={"mon": (Window(start="08:00", end="17:00"),)}), time_zone="Europe/Stockholm")),
        ], ACTOR, reason="set up")
    finally:
        app.close()
    rewrite(db, TENANT, as_stored_by_an_older_main)
    rewrite(db, RECORD, as_stored_by_an_older_main)
    return db


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_store(tmp_path_factory.mktemp("stored_rules") / "store.sqlite")


@pytest.fixture
def db(written: Path, tmp_path: Path) -> Path:
    """A copy of the written store for one test."""
    copy = tmp_path / "store.sqlite"
    copy_store(written, copy)
    return copy


@pytest.fixture
def app(db: Path) -> Iterator[CallrouteApp]:
    application = open_app(db)
    yield application
    application.close()


def stored_rows(db: Path, record: UUID = TENANT) -> list[tuple[int, str, dict[str, Any]]]:
    return [(version, topic, msgspec.json.decode(state)) for version, topic, state in record_events(db, record)]


def strict(fields: dict[str, Any], topic: str, originator_id: UUID, version: int) -> Any:
    """The stored fields converted as the mapper converts them first: with every value rule."""
    return msgspec.convert({**fields, "originator_id": originator_id, "originator_version": version}, resolve_topic(topic))


def run(db: Path, *args: str, actor: str = ADMIN) -> tuple[int, str, str]:
    result = invoke(["--db", str(db), "--actor", actor, *args], clock=SteppingClock(NOW))
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, result.stdout, result.stderr


def builtins(value: Any) -> Any:
    return msgspec.json.decode(msgspec.json.encode(value))


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("callroute: error: ") and "Traceback" not in err
    return lines[0]


# -- the premise -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", list(OLD_RULES), ids=repr)
def test_each_stored_value_was_accepted_by_the_old_rules(value: str) -> None:
    assert msgspec.convert(value, OLD_RULES[value]) == value


@pytest.mark.parametrize(("value", "rule"), [("2001\n", Extension), ("Sales\t", Name), ("Anna \u202eAndersson", Name),
                                             ("08:00\n", ClockTime)], ids=repr)
def test_and_is_refused_by_todays(value: str, rule: Any) -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(value, rule)


def test_the_store_holds_them_sealed_in_an_intact_chain(db: Path, app: CallrouteApp) -> None:
    rows = stored_rows(db)
    text = msgspec.json.encode([fields for _, _, fields in [*rows, *stored_rows(db, RECORD)]]).decode()
    for value in LEGACY.values():
        assert msgspec.json.encode(value).decode() in text
    report = verify_chain(app.recorder, app.mapper, TENANT, app.snapshots)
    assert report.intact, report.first_break
    assert report.events == len(rows) == 5
    assert verify_chain(app.recorder, app.mapper, RECORD).intact


def test_the_strict_conversion_refuses_the_events_whose_types_carry_the_rules(db: Path) -> None:
    refused = []
    for record in (TENANT, RECORD):
        for version, topic, fields in stored_rows(db, record):
            try:
                strict(fields, topic, record, version)
            except msgspec.ValidationError:
                refused.append(topic)
    assert tuple(refused) == CONSTRAINED  # so the tests below go through the lenient conversion


# -- today's code reads it -------------------------------------------------------------------------------------------


def test_the_tenant_loads_with_the_values_as_stored(app: CallrouteApp) -> None:
    state = app.tenant(SLUG).state
    assert set(state.users) == {"2001\n", "2002"}
    assert state.users["2001\n"].name == "Anna \u202eAndersson"
    group = state.groups["sales"]
    assert group.settings.name == "Sales\t"
    (member,) = group.members
    assert type(member.ref) is LocalMember and member.ref.extension == "2001\n"
    assert member.ring_seconds == 20  # the default of a field the stored member leaves out
    busy = state.users["2002"].own.busy
    assert type(busy) is ToExtension and busy.extension == "2001\n"


def test_every_stored_event_decodes_into_its_own_class_by_the_mapper_and_the_reader_alike(db: Path, app: CallrouteApp) -> None:
    reader = EventReader(app.mapper)
    events = list(app.recorder.select_events(TENANT))
    for stored in events:
        event = app.mapper.to_domain_event(stored)
        assert type(event) is resolve_topic(stored.topic)
        assert reader.decode(stored) == event
    (created,) = [app.mapper.to_domain_event(s) for s in events if s.topic == "callroute/AnswerGroupCreated"]
    assert type(created.group.settings) is GroupSettings and type(created.group.members[0]) is GroupMember
    assert created.reason == "set\x00up" and created.timestamp.tzinfo is not None


def test_audit_verify_says_intact(db: Path) -> None:
    code, out, err = run(db, "audit", "verify", "--tenant", SLUG)
    assert code == 0, out + err
    assert f"{SLUG}: intact, 5 events" in out


def test_the_whole_store_verifies_with_its_projection(app: CallrouteApp, db: Path) -> None:
    app.execute([c.ConfirmProvisioning(tenant=SLUG, version=5)], ACTOR)  # a live table: stored by the projection
    build_projection(app, db).effective(SLUG, NOW + timedelta(hours=1))
    report = verify_store(app)
    assert report.intact
    code, out, err = run(db, "audit", "verify", "--operator", actor="ops@platform.example")
    assert code == 0, out + err
    assert f"{SLUG}: intact, 5 events" in out and "projection: " in out, out


HISTORY = ["TenantCreated", "UserAdded", "UserAdded", "AnswerGroupCreated", "DivertSet", "ProvisioningOpened", "ProviderPolicySet"]


def test_the_history_shows_each_change_with_its_stored_values(app: CallrouteApp, db: Path) -> None:
    entries = builtins(tenant_history(app, SLUG))
    code, out, err = run(db, "audit", "history", "--tenant", SLUG, "--json")
    assert code == 0, out + err
    assert msgspec.json.decode(out) == entries
    assert [entry["event"] for entry in entries] == HISTORY
    assert {entry["reason"] for entry in entries} == {"set\x00up"}
    changes = {(change["subject"], change["field"]): change["after"] for entry in entries for change in entry["changes"]}
    assert changes[("user 2001\n", "")]["name"] == "Anna \u202eAndersson"
    group = changes[("group sales", "")]
    assert (group["settings"]["name"], group["members"][0]["ref"]["extension"]) == ("Sales\t", "2001\n")
    assert changes[("user 2002", "own.busy")] == {"kind": "extension", "extension": "2001\n"}
    assert changes[("provisioning", "policy.office_hours.days.mon")] == [{"start": "08:00\n", "end": "17:00"}]
    code, out, err = run(db, "audit", "history", "--tenant", SLUG)
    assert code == 0, out + err
    assert all(event in out for event in HISTORY)


def test_the_routing_projection_builds_and_serves_tables_after_a_restart(app: CallrouteApp, db: Path) -> None:
    app.execute([c.ConfirmProvisioning(tenant=SLUG, version=5)], ACTOR)
    projection = build_projection(app, db)
    desired = projection.desired(SLUG)
    assert desired is not None and desired.groups["sales"].settings.name == "Sales\t"
    live = projection.effective(SLUG, NOW + timedelta(hours=1))
    assert live is not None and live == desired
    projection.store.close()  # type: ignore[attr-defined]
    restarted = build_projection(app, db)  # reads the stored table, checked against the events
    assert restarted.effective(SLUG, NOW + timedelta(hours=1)) == desired
    code, out, err = run(db, "table", "--tenant", SLUG, "--desired")
    assert code == 0, out + err


def test_a_snapshot_holding_the_values_loads(app: CallrouteApp, db: Path) -> None:
    app.snapshots.put([TenantSnapshot.take(app.tenant(SLUG))])  # type: ignore[union-attr]
    (row,) = app.snapshots.recorder.select_events(TENANT)  # type: ignore[union-attr]
    fields = msgspec.json.decode(opened_snapshot(row, row.state))
    with pytest.raises(msgspec.ValidationError):
        strict(fields, row.topic, TENANT, row.originator_version)
    fresh = open_app(db)  # nothing cached: the repository starts from the snapshot
    try:
        (snapshot,) = fresh.snapshots.get(TENANT)  # type: ignore[union-attr]
        assert type(snapshot) is TenantSnapshot and snapshot.state.state.groups["sales"].settings.name == "Sales\t"
        loaded = fresh.tenant(SLUG)
        assert loaded.state == app.tenant(SLUG).state and loaded.head == app.tenant(SLUG).head
    finally:
        fresh.close()
    report = verify_chain(app.recorder, app.mapper, TENANT, app.snapshots)  # compares the snapshot with the replay too
    assert report.intact, report.first_break


def test_todays_changes_continue_the_chain(app: CallrouteApp) -> None:
    head = app.tenant(SLUG).head
    app.execute([c.RenameTenant(tenant=SLUG, name="Old Rules Group AB")], ACTOR)
    (new,) = app.recorder.select_events(TENANT, gt=5)
    assert app.mapper.decode_raw(new.state)["prev_hash"] == head
    report = verify_chain(app.recorder, app.mapper, TENANT, app.snapshots)
    assert report.intact and report.events == 6


# -- what comes in stays strict ----------------------------------------------------------------------------------------


NEW_COMMANDS = {
    "a group name with a tab": c.CreateAnswerGroup(tenant=SLUG, group="support", settings=GroupSettings(name="Sales\t")),
    "a group member 2001\\n": c.AddGroupMember(tenant=SLUG, group="sales", member=GroupMember(ref=LocalMember(extension="2001\n"))),
    "a divert to 2001\\n": c.SetDivert(tenant=SLUG, extension="2002", condition="no_answer", target=ToExtension(extension="2001\n")),
    "a divert of 2001\\n": c.SetDivert(tenant=SLUG, extension="2001\n", condition="busy", target=ToExtension(extension="2002")),
    "a user 2003\\n": c.AddUser(tenant=SLUG, extension="2003\n", name="Cecilia"),
    "a user's name with an override": c.AddUser(tenant=SLUG, extension="2003", name="Anna \u202eAndersson"),
}


@pytest.mark.parametrize("command", list(NEW_COMMANDS.values()), ids=list(NEW_COMMANDS))
def test_a_new_command_carrying_such_a_value_is_refused(app: CallrouteApp, command: Any) -> None:
    version = app.tenant(SLUG).version
    with pytest.raises(CommandRejected) as refused:
        app.execute([command], ACTOR)
    assert refused.value.rule == "schema", refused.value
    assert app.tenant(SLUG).version == version


def test_a_reason_with_a_nul_is_refused_too(app: CallrouteApp) -> None:
    with pytest.raises(CommandRejected) as refused:
        app.execute([c.RenameTenant(tenant=SLUG, name="Renamed", reason="set\x00up")], ACTOR)
    assert (refused.value.rule, refused.value.field) == ("schema", "reason")
    assert app.tenant(SLUG).state.name == "Old Rules AB"


def test_a_command_file_carrying_such_a_value_is_refused_at_the_edge(db: Path, tmp_path: Path) -> None:
    commands = tmp_path / "commands.toml"
    commands.write_text(f'[actor]\nprincipal = "{ADMIN}"\n\n[[commands]]\ncommand = "add_user"\ntenant = "{SLUG}"\n'
                        'extension = "2003\\n"\nname = "Cecilia"\n', encoding="utf-8")
    code, out, err = run(db, "apply", str(commands))
    assert code != 0 and "extension" in out + err, out + err
    assert open_app(db).tenant(SLUG).version == 5


# -- the shape is still checked ----------------------------------------------------------------------------------------


def _group(fields: dict[str, Any]) -> dict[str, Any]:
    return fields["group"]


SHAPE_ERRORS: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "a name that is a number": (lambda f: _group(f)["settings"].update(name=5), "Expected `str`, got `int` - at `$.group.settings.name`"),
    "a timeout written as text": (lambda f: _group(f)["settings"].update(timeout_seconds="60"), "$.group.settings.timeout_seconds"),
    "a member of no known kind": (lambda f: _group(f)["members"][0]["ref"].update(on="teleport"), "Invalid value 'teleport'"),
    "a member without its kind": (lambda f: _group(f)["members"][0]["ref"].pop("on"), "missing required field `on`"),
    "a group without its settings": (lambda f: _group(f).pop("settings"), "missing required field `settings`"),
    "an unknown field in settings": (lambda f: _group(f)["settings"].update(colour="red"), "unknown field `colour`"),
    "members that are not a list": (lambda f: _group(f).update(members={"0": "2001\n"}), "Expected `array`, got `object`"),
}


@pytest.fixture(params=list(SHAPE_ERRORS), ids=list(SHAPE_ERRORS))
def misshapen(request: pytest.FixtureRequest, db: Path) -> tuple[Path, str]:
    """The store with its stored AnswerGroupCreated (which holds values today's rules refuse) also of a wrong shape,
    sealed again (so the chain is intact: only the decoding can refuse it)."""
    edit, words = SHAPE_ERRORS[request.param]

    def misshape(topic: str, version: int, fields: dict[str, Any]) -> None:
        if topic == "callroute/AnswerGroupCreated":
            edit(fields)

    rewrite(db, TENANT, misshape)
    return db, words


def test_a_stored_event_of_the_wrong_shape_is_still_refused(misshapen: tuple[Path, str]) -> None:
    db, words = misshapen
    app = open_app(db)
    try:
        assert verify_chain(app.recorder, app.mapper, TENANT).intact  # the hashes and links are: only the decoding refuses
        with pytest.raises(MapperDeserialisationError) as refused:
            app.tenant(SLUG)
        assert "'callroute/AnswerGroupCreated' version 4" in str(refused.value)
        assert words in str(refused.value)
        (stored,) = app.recorder.select_events(TENANT, gt=3, lte=4)
        with pytest.raises(MapperDeserialisationError):
            EventReader(app.mapper).decode(stored)
    finally:
        app.close()


def test_the_command_line_says_so_in_one_line(misshapen: tuple[Path, str]) -> None:
    db, _ = misshapen
    for args in (["tenant", "show", "--tenant", SLUG], ["table", "--tenant", SLUG, "--desired"]):
        code, out, err = run(db, *args)
        assert code == 1, out + err
        assert "AnswerGroupCreated" in one_line(err) and "audit verify" in err


# -- the lenient conversion is the strict one on everything the strict one accepts ---------------------------------------


FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "store_2026_11.sqlite"


def _same(a: Any, b: Any) -> bool:
    """Equal, of the same types all the way down (``==`` lets a list equal a tuple's elements' types differ)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, msgspec.Struct):
        return all(_same(getattr(a, f), getattr(b, f)) for f in a.__struct_fields__)
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if hasattr(a, "__dataclass_fields__"):
        return all(_same(getattr(a, f), getattr(b, f)) for f in a.__dataclass_fields__)
    return a == b


@pytest.mark.sqlite_only  # reads the fixture SQLite file tests/fixtures/store_2026_11.sqlite; see tests/backends.py
def test_the_lenient_conversion_gives_what_the_strict_one_gives_for_every_event_and_snapshot_of_the_2026_11_store(
        tmp_path: Path) -> None:
    copy = tmp_path / FIXTURE.name
    shutil.copyfile(FIXTURE, copy)
    app = open_app(copy)
    try:
        rows = list(app.recorder.select_notifications(1, 100_000))
        snapshots = [row for key in {r.originator_id for r in rows} for row in app.snapshots.recorder.select_events(key)]  # type: ignore[union-attr]
        assert len(rows) > 500 and snapshots
        compared = set()
        for row in [*rows, *snapshots]:
            cls = resolve_topic(row.topic)
            data = opened_snapshot(row, row.state) if row in snapshots else row.state
            fields = msgspec.json.decode(data)
            version = fields.pop("class_version", 1)
            while version < getattr(cls, "class_version", 1):
                getattr(cls, f"upcast_v{version}_v{version + 1}")(fields)
                version += 1
            fields.update(originator_id=row.originator_id, originator_version=row.originator_version)
            expected, lenient = msgspec.convert(fields, cls), lenient_convert(fields, cls)
            assert _same(lenient, expected), row.topic
            assert vars(expected).items() <= vars(lenient).items()
            compared.add(row.topic)
        assert len(compared) > 40
    finally:
        app.close()


def _stored_types() -> list[type]:
    """Every stored event class (each with a ``TOPIC`` of its own), the tenant snapshot and the projection's row types."""
    from core.aggregates.chained import ChainedEvent
    from core.aggregates.provisioning import Confirmation
    from core.projections.timeline import ChangeRecord, PolicyRecord
    from core.routing import RoutingTable

    found, todo = [], [ChainedEvent]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if "TOPIC" in cls.__dict__ and resolve_topic(cls.TOPIC) is cls:
            found.append(cls)
    return [*found, TenantSnapshot, RoutingTable, ChangeRecord, list[ChangeRecord], PolicyRecord, Confirmation]


def test_every_stored_type_has_a_lenient_conversion() -> None:
    """A type the lenient conversion does not know would leave the strict refusal standing: a new stored type must not have one."""
    from core.lenient import _lenient

    types = _stored_types()
    assert len(types) > 60
    for cls in types:
        assert callable(_lenient(cls)), cls


def test_the_lenient_conversion_reports_a_shape_error_with_its_path() -> None:
    with pytest.raises(msgspec.ValidationError, match=re.escape("Expected `str`, got `int` - at `$.settings.name`")):
        lenient_convert({"id": "sales", "settings": {"name": 5}}, AnswerGroup)
    with pytest.raises(msgspec.ValidationError, match=re.escape("Expected `array`, got `str` - at `$.members`")):
        lenient_convert({"id": "sales", "settings": {"name": "x"}, "members": "2001"}, AnswerGroup)
    with pytest.raises(msgspec.ValidationError, match=re.escape("Object missing required field `id`")):
        lenient_convert({"settings": {"name": "x"}}, AnswerGroup)
    group = lenient_convert({"id": "sales", "settings": {"name": "Sales\t"}, "members": [{"ref": {"on": "local", "extension": "1"}}]},
                            AnswerGroup)
    assert group == AnswerGroup(id="sales", settings=GroupSettings(name="Sales\t"),
                                members=(GroupMember(ref=LocalMember(extension="1")),))


# -- the tenant list -------------------------------------------------------------------------------------------------


UNREADABLE_CREATIONS = {
    "not JSON": (b'{"slug": "old-ru', "Input data was truncated"),
    "no slug": (b'{"name": "Old Rules AB"}', "it has no slug"),
    "a slug that is no text": (b'{"slug": 5}', "its slug is 5, not a text"),
    "not an object": (b'["old-rules"]', "it is not a JSON object"),
}


@pytest.mark.parametrize(("state", "problem"), list(UNREADABLE_CREATIONS.values()), ids=list(UNREADABLE_CREATIONS))
def test_an_unreadable_tenant_creation_is_a_store_integrity_error_naming_its_record(db: Path, state: bytes, problem: str) -> None:
    overwrite_event_state(db, TENANT, 1, state)
    app = open_app(db)
    try:
        with pytest.raises(StoreIntegrityError) as broken:
            app.list_tenants()
    finally:
        app.close()
    assert (broken.value.record, broken.value.version) == (f"record {TENANT.hex}", 1)
    assert broken.value.detail == f"the stored callroute/TenantCreated cannot be read ({problem})"
    code, out, err = run(db, "tenant", "list")
    assert code == 1, out + err
    line = one_line(err)
    assert f"record {TENANT.hex} at version 1: the stored callroute/TenantCreated cannot be read ({problem})" in line
    assert "audit verify" in line
