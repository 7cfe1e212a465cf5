"""set_number_reject_anonymous and set_group_reject_anonymous: state, refusals, the compiled table, views and history."""

from __future__ import annotations

from collections.abc import Callable

import msgspec
import pytest

from core.aggregates.context import Actor
from core.aggregates.groups import GroupSettings
from core.aggregates.services import IvrMenu
from core.aggregates.targets import BusyTone, HandleWithVoicemail, TextToSpeech, ToExtension
from core.errors import MalformedNumberError, NotFoundError, ValidationFailed
from core.projections import tenant_history
from core.queries import NumberView
from core.routing import AnonymousRejection, RoutingTable, compile_table
from core.service import CallrouteApp
from tests.core.conftest import rejected

UK = "+441234567890"
OTHER = "+442079460000"
WELCOME = TextToSpeech(text="Welcome", language="en")


def rejecting_numbers(app: CallrouteApp, slug: str) -> dict[str, bool]:
    return {number: settings.reject_anonymous for number, settings in app.tenant(slug).state.number_settings.items()}


def table_of(app: CallrouteApp, slug: str) -> RoutingTable:
    tenant = app.tenant(slug)
    return compile_table(tenant.state, tenant.version)


def give_number(app: CallrouteApp, actor: Actor, slug: str, owner: str) -> None:
    """Make ``UK`` a number of the tenant through ``owner``: a user, a group, an IVR menu or the number list."""
    if owner == "user":
        app.assign_number(actor=actor, tenant=slug, extension="2001", number=UK)
    elif owner == "group":
        app.create_answer_group(actor=actor, tenant=slug, group="sales", settings=GroupSettings(name="Sales", number=UK))
    elif owner == "ivr":
        app.save_ivr_menu(actor=actor, tenant=slug, ivr="main", spec=IvrMenu(name="Main", prompt=WELCOME, number=UK))
    else:
        app.route_number(actor=actor, tenant=slug, number=UK, entry=ToExtension(extension="2001"))


@pytest.mark.parametrize("owner", ["user", "group", "ivr", "number list"])
def test_set_number_reject_anonymous_works_on_any_number_of_the_tenant(app: CallrouteApp, actor: Actor, acme: str, owner: str) -> None:
    give_number(app, actor, acme, owner)
    app.set_number_reject_anonymous(actor=actor, tenant=acme, number=UK, enabled=True)
    assert rejecting_numbers(app, acme) == {UK: True}


def test_a_number_written_without_plus_is_stored_in_e164(app: CallrouteApp, actor: Actor, acme: str) -> None:
    give_number(app, actor, acme, "user")
    app.set_number_reject_anonymous(actor=actor, tenant=acme, number=UK.removeprefix("+"), enabled=True)
    assert rejecting_numbers(app, acme) == {UK: True}


def test_a_number_the_tenant_does_not_have_is_refused(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, NotFoundError, field="number", match=rf"\{UK} is not a number of the tenant"):
        app.set_number_reject_anonymous(actor=actor, tenant=acme, number=UK, enabled=True)


def test_a_malformed_number_is_refused(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, MalformedNumberError, field="number", match="."):
        app.set_number_reject_anonymous(actor=actor, tenant=acme, number="+99912", enabled=True)


def test_turning_on_a_numbers_rejection_twice_is_refused(app: CallrouteApp, actor: Actor, acme: str) -> None:
    give_number(app, actor, acme, "user")
    app.set_number_reject_anonymous(actor=actor, tenant=acme, number=UK, enabled=True)
    with rejected(app, ValidationFailed, field="enabled", match=rf"\{UK} already rejects anonymous callers"):
        app.set_number_reject_anonymous(actor=actor, tenant=acme, number=UK, enabled=True)


def test_turning_off_a_numbers_rejection_that_is_off_is_refused(app: CallrouteApp, actor: Actor, acme: str) -> None:
    give_number(app, actor, acme, "user")
    with rejected(app, ValidationFailed, field="enabled", match=rf"\{UK} does not reject anonymous callers"):
        app.set_number_reject_anonymous(actor=actor, tenant=acme, number=UK, enabled=False)


def test_turning_a_numbers_rejection_off_leaves_no_settings_behind(app: CallrouteApp, actor: Actor, acme: str) -> None:
    give_number(app, actor, acme, "user")
    app.set_number_reject_anonymous(actor=actor, tenant=acme, number=UK, enabled=True)
    app.set_number_reject_anonymous(actor=actor, tenant=acme, number=UK, enabled=False)
    assert app.tenant(acme).state.number_settings == {}


LEAVING: dict[str, tuple[str, Callable[[CallrouteApp, Actor, str], None]]] = {
    "released": ("number list", lambda app, actor, t: app.release_number(actor=actor, tenant=t, number=UK)),
    "unassigned": ("user", lambda app, actor, t: app.unassign_number(actor=actor, tenant=t, extension="2001", number=UK)),
    "user removed": ("user", lambda app, actor, t: app.remove_user(actor=actor, tenant=t, extension="2001")),
    "group renumbered": ("group", lambda app, actor, t: app.update_answer_group(
        actor=actor, tenant=t, group="sales", settings=GroupSettings(name="Sales", number=OTHER))),
    "group deleted": ("group", lambda app, actor, t: app.delete_answer_group(actor=actor, tenant=t, group="sales")),
    "menu renumbered": ("ivr", lambda app, actor, t: app.save_ivr_menu(
        actor=actor, tenant=t, ivr="main", spec=IvrMenu(name="Main", prompt=WELCOME))),
    "menu deleted": ("ivr", lambda app, actor, t: app.delete_ivr_menu(actor=actor, tenant=t, ivr="main")),
}


@pytest.mark.parametrize("how", sorted(LEAVING))
def test_a_number_that_leaves_the_tenant_loses_its_rejection(app: CallrouteApp, actor: Actor, acme: str, how: str) -> None:
    owner, leave = LEAVING[how]
    give_number(app, actor, acme, owner)
    app.set_number_reject_anonymous(actor=actor, tenant=acme, number=UK, enabled=True)
    leave(app, actor, acme)
    assert rejecting_numbers(app, acme) == {}


def test_a_number_that_comes_back_does_not_reject_anonymous_callers(app: CallrouteApp, actor: Actor, acme: str) -> None:
    give_number(app, actor, acme, "number list")
    app.set_number_reject_anonymous(actor=actor, tenant=acme, number=UK, enabled=True)
    app.release_number(actor=actor, tenant=acme, number=UK)
    app.route_number(actor=actor, tenant=acme, number=UK, entry=ToExtension(extension="2001"))
    assert table_of(app, acme).anonymous_rejection is None


@pytest.mark.parametrize("owner", ["group", "ivr", "number list"])
def test_a_number_saved_again_where_it_is_keeps_its_rejection(app: CallrouteApp, actor: Actor, acme: str, owner: str) -> None:
    give_number(app, actor, acme, owner)
    app.set_number_reject_anonymous(actor=actor, tenant=acme, number=UK, enabled=True)
    if owner == "group":
        app.update_answer_group(actor=actor, tenant=acme, group="sales", settings=GroupSettings(name="Sales (new)", number=UK))
    elif owner == "ivr":
        app.save_ivr_menu(actor=actor, tenant=acme, ivr="main", spec=IvrMenu(name="Main (new)", prompt=WELCOME, number=UK))
    else:
        app.route_number(actor=actor, tenant=acme, number=UK, entry=ToExtension(extension="2002"))
    assert rejecting_numbers(app, acme) == {UK: True}


def test_set_group_reject_anonymous_marks_the_group(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.create_answer_group(actor=actor, tenant=acme, group="sales", settings=GroupSettings(name="Sales"))
    app.set_group_reject_anonymous(actor=actor, tenant=acme, group="sales", enabled=True)
    assert app.tenant(acme).state.groups["sales"].reject_anonymous


def test_a_groups_rejection_survives_a_change_of_its_settings(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.create_answer_group(actor=actor, tenant=acme, group="sales", settings=GroupSettings(name="Sales"))
    app.set_group_reject_anonymous(actor=actor, tenant=acme, group="sales", enabled=True)
    app.update_answer_group(actor=actor, tenant=acme, group="sales", settings=GroupSettings(name="Sales", timeout_seconds=30))
    assert app.tenant(acme).state.groups["sales"].reject_anonymous


def test_an_unknown_group_is_refused(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, NotFoundError, field="group", match="there is no answer group 'sales'"):
        app.set_group_reject_anonymous(actor=actor, tenant=acme, group="sales", enabled=True)


def test_turning_off_a_groups_rejection_that_is_off_is_refused(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.create_answer_group(actor=actor, tenant=acme, group="sales", settings=GroupSettings(name="Sales"))
    with rejected(app, ValidationFailed, field="enabled", match="answer group sales does not reject anonymous callers"):
        app.set_group_reject_anonymous(actor=actor, tenant=acme, group="sales", enabled=False)


def test_the_table_lists_rejecting_numbers_with_the_tenants_rejected_call_default(app: CallrouteApp, actor: Actor, acme: str) -> None:
    give_number(app, actor, acme, "user")
    app.set_default_rejected_call_handling(actor=actor, tenant=acme, handling=HandleWithVoicemail(), apply_to="new_users")
    app.set_number_reject_anonymous(actor=actor, tenant=acme, number=UK, enabled=True)
    assert table_of(app, acme).anonymous_rejection == AnonymousRejection(numbers=(UK,), handling=HandleWithVoicemail())


def test_the_table_of_a_rejecting_group_without_a_tenant_default_uses_the_engaged_tone(
    app: CallrouteApp, actor: Actor, acme: str
) -> None:
    app.create_answer_group(actor=actor, tenant=acme, group="sales", settings=GroupSettings(name="Sales"))
    app.set_group_reject_anonymous(actor=actor, tenant=acme, group="sales", enabled=True)
    assert table_of(app, acme).anonymous_rejection == AnonymousRejection(numbers=(), handling=BusyTone())


def test_the_table_without_rejecting_numbers_or_groups_has_no_anonymous_rejection(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.set_default_rejected_call_handling(actor=actor, tenant=acme, handling=HandleWithVoicemail(), apply_to="new_users")
    table = table_of(app, acme)
    assert table.anonymous_rejection is None
    assert b"anonymous_rejection" not in msgspec.json.encode(table)


def test_a_table_stored_before_anonymous_rejection_existed_decodes_without_it(app: CallrouteApp, acme: str) -> None:
    table = table_of(app, acme)
    stored = msgspec.msgpack.encode({k: v for k, v in msgspec.to_builtins(table).items() if k != "anonymous_rejection"})
    assert msgspec.msgpack.decode(stored, type=RoutingTable) == table


def test_a_table_with_anonymous_rejection_round_trips_as_stored(app: CallrouteApp, actor: Actor, acme: str) -> None:
    give_number(app, actor, acme, "user")
    app.set_number_reject_anonymous(actor=actor, tenant=acme, number=UK, enabled=True)
    table = table_of(app, acme)
    assert msgspec.msgpack.decode(msgspec.msgpack.encode(table), type=RoutingTable) == table


def test_the_number_view_says_which_number_rejects_anonymous_callers(app: CallrouteApp, actor: Actor, acme: str) -> None:
    give_number(app, actor, acme, "user")
    app.set_number_reject_anonymous(actor=actor, tenant=acme, number=UK, enabled=True)
    assert app.get_tenant(acme, actor).numbers == (NumberView(number=UK, entry=ToExtension(extension="2001"), source="user",
                                                              reject_anonymous=True),)


def test_a_number_view_without_rejection_leaves_it_out_of_json(app: CallrouteApp, actor: Actor, acme: str) -> None:
    give_number(app, actor, acme, "user")
    assert b"reject_anonymous" not in msgspec.json.encode(app.get_tenant(acme, actor).numbers)


def test_history_shows_a_numbers_rejection_turned_on(app: CallrouteApp, actor: Actor, acme: str) -> None:
    give_number(app, actor, acme, "user")
    app.set_number_reject_anonymous(actor=actor, tenant=acme, number=UK, enabled=True)
    entry = tenant_history(app, acme)[-1]
    assert (entry.event, [(c.subject, c.field, c.before, c.after) for c in entry.changes]) == (
        "NumberRejectAnonymousSet", [(f"number {UK}", "reject_anonymous", False, True)])


def test_history_shows_a_released_number_stop_rejecting(app: CallrouteApp, actor: Actor, acme: str) -> None:
    give_number(app, actor, acme, "number list")
    app.set_number_reject_anonymous(actor=actor, tenant=acme, number=UK, enabled=True)
    app.release_number(actor=actor, tenant=acme, number=UK)
    changes = tenant_history(app, acme)[-1].changes
    assert (f"number {UK}", "reject_anonymous", True, False) in [(c.subject, c.field, c.before, c.after) for c in changes]


def test_history_shows_a_groups_rejection_turned_on(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.create_answer_group(actor=actor, tenant=acme, group="sales", settings=GroupSettings(name="Sales"))
    app.set_group_reject_anonymous(actor=actor, tenant=acme, group="sales", enabled=True)
    entry = tenant_history(app, acme)[-1]
    assert [(c.subject, c.field, c.before, c.after) for c in entry.changes] == [("group sales", "reject_anonymous", False, True)]


def test_history_of_a_new_group_leaves_out_its_rejection_while_off(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.create_answer_group(actor=actor, tenant=acme, group="sales", settings=GroupSettings(name="Sales"))
    (created,) = tenant_history(app, acme)[-1].changes
    assert "reject_anonymous" not in created.after
