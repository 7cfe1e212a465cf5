"""Holidays and exceptions: add_closure, remove_closure and import_public_holidays.

Tenant "acme" is in Europe/London with users 2001 and 2002. Errors name the command's own
field (``last_day``, ``scope.users[0]``, ``destination.extension``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from core.aggregates.context import Actor
from core.aggregates.dated import Closure, ClosureScope, OwnHandling
from core.aggregates.groups import GroupSettings
from core.aggregates.hours import Window
from core.aggregates.identifiers import tenant_id
from core.aggregates.targets import PlayMessage, TextToSpeech, ToExtension, ToVoicemail
from core.errors import AlreadyExistsError, InUseError, NotFoundError, UnknownExtensionError, ValidationFailed
from core.projections.history import tenant_history
from core.routing.table import compile_table
from core.service import CallrouteApp
from tests.core.conftest import events_of, rejected

CHRISTMAS_EVE = date(2026, 12, 24)
SORRY = PlayMessage(message=TextToSpeech(text="We are closed today", language="en-GB"))


def add(app: CallrouteApp, actor: Actor, tenant: str, **fields: Any) -> None:
    app.add_closure(actor=actor, tenant=tenant, **{"name": "Christmas Eve", "first_day": CHRISTMAS_EVE, **fields})


def closures(app: CallrouteApp, tenant: str) -> dict[str, Closure]:
    return app.tenant(tenant).state.closures


def imported(app: CallrouteApp, actor: Actor, tenant: str, **fields: Any) -> dict[str, date]:
    """Import, then every closure's name → its day."""
    app.import_public_holidays(actor=actor, tenant=tenant, **{"country": "SE", "first_year": 2026, "last_year": 2027, **fields})
    return {name: closure.first_day for name, closure in closures(app, tenant).items()}


# -- add_closure -------------------------------------------------------------------------------


def test_add_closure_stores_it_with_each_things_own_handling_for_the_whole_tenant(app: CallrouteApp, actor: Actor, acme: str) -> None:
    add(app, actor, acme)
    assert closures(app, acme) == {"Christmas Eve": Closure(name="Christmas Eve", first_day=CHRISTMAS_EVE)}
    assert closures(app, acme)["Christmas Eve"].destination == OwnHandling() and closures(app, acme)["Christmas Eve"].scope is None


def test_add_closure_stores_its_hours_days_destination_and_scope(app: CallrouteApp, actor: Actor, acme: str) -> None:
    add(app, actor, acme, last_day=date(2026, 12, 26), hours=Window(start="12:00", end="17:00"), yearly=True,
        destination=ToVoicemail(extension="2001"), scope=ClosureScope(users=("2002",)))
    assert closures(app, acme)["Christmas Eve"] == Closure(
        name="Christmas Eve", first_day=CHRISTMAS_EVE, last_day=date(2026, 12, 26), hours=Window(start="12:00", end="17:00"),
        yearly=True, destination=ToVoicemail(extension="2001"), scope=ClosureScope(users=("2002",)))


def test_add_closure_records_one_closure_added_event(app: CallrouteApp, actor: Actor, acme: str) -> None:
    add(app, actor, acme)
    last = events_of(app, acme)[-1]
    assert (type(last).__name__, last.closure.name) == ("ClosureAdded", "Christmas Eve")


def test_add_closure_with_the_same_last_day_stores_a_single_day(app: CallrouteApp, actor: Actor, acme: str) -> None:
    add(app, actor, acme, last_day=CHRISTMAS_EVE)
    assert closures(app, acme)["Christmas Eve"].last_day is None


def test_the_tenant_view_lists_closures_by_first_day(app: CallrouteApp, actor: Actor, acme: str) -> None:
    add(app, actor, acme, name="Z first", first_day=date(2026, 12, 1))
    add(app, actor, acme, name="A second", first_day=date(2026, 12, 2))
    assert [c.name for c in app.get_tenant(acme, actor).closures] == ["Z first", "A second"]


def test_add_closure_refuses_a_name_already_taken(app: CallrouteApp, actor: Actor, acme: str) -> None:
    add(app, actor, acme)
    with rejected(app, AlreadyExistsError, field="name", match="already a closure 'Christmas Eve'"):
        add(app, actor, acme, first_day=date(2027, 12, 24))


def test_add_closure_refuses_a_blank_name(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, ValidationFailed, field="name", match="needs a name"):
        add(app, actor, acme, name="  ")


def test_add_closure_refuses_a_last_day_before_the_first_day(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, ValidationFailed, field="last_day", match="before the first day"):
        add(app, actor, acme, last_day=date(2026, 12, 23))


def test_add_closure_accepts_366_days(app: CallrouteApp, actor: Actor, acme: str) -> None:
    add(app, actor, acme, first_day=date(2027, 1, 1), last_day=date(2028, 1, 1))
    assert closures(app, acme)["Christmas Eve"].last_day == date(2028, 1, 1)


def test_add_closure_refuses_367_days(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, ValidationFailed, field="last_day", match="at most 366 days"):
        add(app, actor, acme, first_day=date(2027, 1, 1), last_day=date(2028, 1, 2))


@pytest.mark.parametrize(("fields", "field"), [
    ({"first_day": date(1899, 12, 31)}, "first_day"),
    ({"first_day": date(2200, 12, 31), "last_day": date(2201, 1, 1)}, "last_day"),
])
def test_add_closure_refuses_days_outside_the_years_1900_to_2200(app: CallrouteApp, actor: Actor, acme: str,
                                                                 fields: dict[str, date], field: str) -> None:
    with rejected(app, ValidationFailed, field=field, match="years 1900 to 2200"):
        add(app, actor, acme, **fields)


def test_add_closure_accepts_the_last_day_of_2200(app: CallrouteApp, actor: Actor, acme: str) -> None:
    add(app, actor, acme, first_day=date(2200, 12, 31), yearly=True)
    assert closures(app, acme)["Christmas Eve"].first_day == date(2200, 12, 31)


def test_add_closure_refuses_a_window_that_starts_where_it_ends(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, ValidationFailed, field="hours", match="different start and end"):
        add(app, actor, acme, hours=Window(start="12:00", end="12:00"))


@pytest.mark.parametrize(("fields", "field"), [
    ({"first_day": date(2028, 2, 29)}, "first_day"),
    ({"first_day": date(2028, 2, 28), "last_day": date(2028, 2, 29)}, "last_day"),
])
def test_add_closure_refuses_a_yearly_closure_on_29_february(app: CallrouteApp, actor: Actor, acme: str,
                                                             fields: dict[str, date], field: str) -> None:
    with rejected(app, ValidationFailed, field=field, match="29 February"):
        add(app, actor, acme, yearly=True, **fields)


def test_add_closure_accepts_a_yearly_closure_one_day_shorter_than_a_year(app: CallrouteApp, actor: Actor, acme: str) -> None:
    add(app, actor, acme, first_day=date(2026, 1, 1), last_day=date(2026, 12, 31), yearly=True)
    assert closures(app, acme)["Christmas Eve"].yearly


def test_add_closure_refuses_a_yearly_closure_of_a_whole_year(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, ValidationFailed, field="last_day", match="shorter than a year"):
        add(app, actor, acme, first_day=date(2026, 1, 1), last_day=date(2027, 1, 1), yearly=True)


def test_add_closure_refuses_an_unknown_user_in_its_scope(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, UnknownExtensionError, field="scope.users[1]", match="no extension '2099'"):
        add(app, actor, acme, scope=ClosureScope(users=("2001", "2099")))


def test_add_closure_refuses_an_unknown_group_in_its_scope(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, NotFoundError, field="scope.groups[0]", match="no answer group 'sales'"):
        add(app, actor, acme, scope=ClosureScope(groups=("sales",)))


def test_add_closure_refuses_a_scope_that_lists_nothing(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, ValidationFailed, field="scope", match="list what the closure closes"):
        add(app, actor, acme, scope=ClosureScope())


def test_add_closure_refuses_to_send_calls_to_a_user_it_closes(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, ValidationFailed, field="destination.extension", match="closes 2001"):
        add(app, actor, acme, destination=ToExtension(extension="2001"), scope=ClosureScope(users=("2001",)))


def test_add_closure_refuses_a_voicemail_destination_without_its_mailbox(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, ValidationFailed, field="destination", match="must name the mailbox"):
        add(app, actor, acme, destination=ToVoicemail())


def test_add_closure_refuses_a_destination_that_does_not_exist(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, UnknownExtensionError, field="destination.extension", match="no extension '2099'"):
        add(app, actor, acme, destination=ToExtension(extension="2099"))


def test_removing_a_user_a_closure_lists_is_refused_naming_the_closure(app: CallrouteApp, actor: Actor, acme: str) -> None:
    add(app, actor, acme, scope=ClosureScope(users=("2002",)))
    with rejected(app, InUseError, field="extension", match=r"closure Christmas Eve: scope\.users\[0\]"):
        app.remove_user(actor=actor, tenant=acme, extension="2002")


def test_deleting_a_group_a_closure_sends_calls_to_is_refused(app: CallrouteApp, actor: Actor, acme: str) -> None:
    app.create_answer_group(actor=actor, tenant=acme, group="sales", settings=GroupSettings(name="Sales"))
    add(app, actor, acme, destination=ToExtension(extension="2001"), scope=ClosureScope(groups=("sales",)))
    with rejected(app, InUseError, field="group", match=r"closure Christmas Eve: scope\.groups\[0\]"):
        app.delete_answer_group(actor=actor, tenant=acme, group="sales")


def test_the_compiled_table_holds_closures_that_list_what_they_close_before_whole_tenant_ones(
    app: CallrouteApp, actor: Actor, acme: str
) -> None:
    add(app, actor, acme, name="A whole tenant")
    add(app, actor, acme, name="B listed", scope=ClosureScope(users=("2001",)))
    tenant = app.tenant(acme)
    assert [c.name for c in compile_table(tenant.state, tenant.version).closures] == ["B listed", "A whole tenant"]


def test_history_shows_an_added_closure_as_its_own_subject(app: CallrouteApp, actor: Actor, acme: str) -> None:
    add(app, actor, acme, destination=SORRY)
    (change,) = tenant_history(app, acme)[-1].changes
    assert (change.subject, change.before, change.after["destination"]["kind"]) == ("closure Christmas Eve", None, "message")


# -- remove_closure ----------------------------------------------------------------------------


def test_remove_closure_removes_it(app: CallrouteApp, actor: Actor, acme: str) -> None:
    add(app, actor, acme)
    app.remove_closure(actor=actor, tenant=acme, name="Christmas Eve")
    assert closures(app, acme) == {}


def test_remove_closure_refuses_a_name_no_closure_has(app: CallrouteApp, actor: Actor, acme: str) -> None:
    add(app, actor, acme)
    with rejected(app, NotFoundError, field="name", match=r"no closure 'Easter' \(closures: Christmas Eve\)"):
        app.remove_closure(actor=actor, tenant=acme, name="Easter")


def test_history_shows_a_removed_closure(app: CallrouteApp, actor: Actor, acme: str) -> None:
    add(app, actor, acme)
    app.remove_closure(actor=actor, tenant=acme, name="Christmas Eve")
    (change,) = tenant_history(app, acme)[-1].changes
    assert (change.subject, change.after) == ("closure Christmas Eve", None)


# -- import_public_holidays --------------------------------------------------------------------


def test_import_public_holidays_adds_a_whole_day_closure_per_holiday_and_year(app: CallrouteApp, actor: Actor, acme: str) -> None:
    days = imported(app, actor, acme)
    assert days["Christmas Day 2026"] == date(2026, 12, 25) and days["Christmas Day 2027"] == date(2027, 12, 25)
    assert len(days) == 32  # 13 public and 3 de facto holidays a year
    assert {(c.last_day, c.hours, c.yearly) for c in closures(app, acme).values()} == {(None, None, False)}


@pytest.mark.parametrize(("name", "day"), [
    ("Good Friday 2026", date(2026, 4, 3)),
    ("Easter Monday 2026", date(2026, 4, 6)),
    ("Good Friday 2027", date(2027, 3, 26)),
    ("Easter Monday 2027", date(2027, 3, 29)),
])
def test_import_public_holidays_dates_easter_for_the_year(app: CallrouteApp, actor: Actor, acme: str, name: str, day: date) -> None:
    assert imported(app, actor, acme)[name] == day


@pytest.mark.parametrize(("name", "day"), [("Midsummer Eve 2026", date(2026, 6, 19)), ("Midsummer Eve 2027", date(2027, 6, 25))])
def test_import_public_holidays_puts_swedish_midsummer_eve_on_the_friday_between_19_and_25_june(
    app: CallrouteApp, actor: Actor, acme: str, name: str, day: date
) -> None:
    found = imported(app, actor, acme)[name]
    assert found == day
    assert found.weekday() == 4 and date(found.year, 6, 19) <= found <= date(found.year, 6, 25)


def test_import_public_holidays_with_only_the_public_category_leaves_midsummer_eve_out(
    app: CallrouteApp, actor: Actor, acme: str
) -> None:
    days = imported(app, actor, acme, categories=("public",))
    assert "Midsummer Day 2026" in days and "Midsummer Eve 2026" not in days


def test_import_public_holidays_names_holidays_in_english_whatever_the_machines_locale(
    app: CallrouteApp, actor: Actor, acme: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.setenv(variable, "sv_SE.UTF-8")
    assert "Midsummer Eve 2026" in imported(app, actor, acme)


def test_import_public_holidays_names_holidays_in_the_language_asked_for(app: CallrouteApp, actor: Actor, acme: str) -> None:
    assert imported(app, actor, acme, language="sv")["Midsommarafton 2026"] == date(2026, 6, 19)


def test_import_public_holidays_of_a_subdivision_adds_its_own_holidays(app: CallrouteApp, actor: Actor, acme: str) -> None:
    assert imported(app, actor, acme, country="DE", subdivision="BY", last_year=2026)["Corpus Christi 2026"] == date(2026, 6, 4)


def test_import_public_holidays_of_the_country_alone_leaves_regional_holidays_out(app: CallrouteApp, actor: Actor, acme: str) -> None:
    assert "Corpus Christi 2026" not in imported(app, actor, acme, country="DE", last_year=2026)


def test_import_public_holidays_names_a_holiday_given_twice_in_a_year_by_its_dates(app: CallrouteApp, actor: Actor, acme: str) -> None:
    days = imported(app, actor, acme, country="AL", last_year=2026)
    assert (days["New Year's Day 2026-01-01"], days["New Year's Day 2026-01-02"]) == (date(2026, 1, 1), date(2026, 1, 2))
    assert "New Year's Day 2026" not in days


def test_import_public_holidays_refuses_years_the_package_lists_no_holidays_for(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, ValidationFailed, field="first_year", match="lists no holidays of SE in 1900–1901"):
        imported(app, actor, acme, first_year=1900, last_year=1901)


def test_import_public_holidays_gives_each_closure_the_destination_and_scope_asked_for(
    app: CallrouteApp, actor: Actor, acme: str
) -> None:
    imported(app, actor, acme, destination=SORRY, scope=ClosureScope(users=("2001",)))
    assert {(c.destination, c.scope) for c in closures(app, acme).values()} == {(SORRY, ClosureScope(users=("2001",)))}


def test_import_public_holidays_stores_the_dated_closures_in_its_event(app: CallrouteApp, actor: Actor, acme: str) -> None:
    imported(app, actor, acme, last_year=2026)
    event = events_of(app, acme)[-1]
    assert type(event).__name__ == "PublicHolidaysImported"
    assert (event.country, event.categories, event.language) == ("SE", ("public", "de_facto"), "en_US")
    assert event.source.startswith("holidays ")
    assert {c.name: c.first_day for c in event.closures}["Midsummer Eve 2026"] == date(2026, 6, 19)


def test_replaying_an_import_never_asks_the_holidays_package_again(
    app: CallrouteApp, actor: Actor, acme: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import holidays

    imported(app, actor, acme, last_year=2026)
    expected = closures(app, acme)

    def asked_again(*_: Any, **__: Any) -> Any:
        raise AssertionError("the holidays package was asked again")

    monkeypatch.setattr(holidays, "country_holidays", asked_again)
    replayed = None
    for event in app.events.get(tenant_id(acme)):
        replayed = event.mutate(replayed)
    assert replayed is not None and replayed.state.closures == expected


def test_import_public_holidays_refuses_names_already_taken(app: CallrouteApp, actor: Actor, acme: str) -> None:
    imported(app, actor, acme, last_year=2026)
    with rejected(app, AlreadyExistsError, field="replace", match="Good Friday 2026 and 13 more already exist"):
        imported(app, actor, acme, last_year=2026)


def test_import_public_holidays_with_replace_replaces_closures_of_the_same_names(app: CallrouteApp, actor: Actor, acme: str) -> None:
    imported(app, actor, acme, last_year=2026)
    imported(app, actor, acme, last_year=2026, replace=True, destination=SORRY)
    assert {c.destination for c in closures(app, acme).values()} == {SORRY}


@pytest.mark.parametrize(("fields", "field", "match"), [
    ({"country": "XX"}, "country", "knows no country 'XX'"),
    ({"subdivision": "ZZ"}, "subdivision", "knows no subdivision 'ZZ'"),
    ({"categories": ("school",)}, "categories", "no holiday category 'school'"),
    ({"language": "de"}, "language", "not 'de'"),
    ({"first_year": 2027, "last_year": 2026}, "last_year", "before the first year"),
])
def test_import_public_holidays_refuses_what_the_package_does_not_know_and_years_out_of_order(
    app: CallrouteApp, actor: Actor, acme: str, fields: dict[str, Any], field: str, match: str
) -> None:
    with rejected(app, ValidationFailed, field=field, match=match):
        imported(app, actor, acme, **fields)


def test_import_public_holidays_accepts_ten_years(app: CallrouteApp, actor: Actor, acme: str) -> None:
    days = imported(app, actor, acme, first_year=2026, last_year=2035)
    assert {day.year for day in days.values()} == set(range(2026, 2036))


def test_import_public_holidays_refuses_eleven_years(app: CallrouteApp, actor: Actor, acme: str) -> None:
    with rejected(app, ValidationFailed, field="last_year", match="at most 10 years"):
        imported(app, actor, acme, first_year=2026, last_year=2036)
