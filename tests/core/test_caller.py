"""normalise_caller: every spelling of a withheld caller, and presented caller ids kept as given."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.errors import ValidationFailed
from core.routing import Call, normalise_caller

NUMBER = "+46701234567"
_AT = datetime(2026, 6, 10, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize("raw", [None, "", "   ", "\t\n"], ids=["none", "empty", "spaces", "tab-newline"])
def test_no_caller_id_is_a_withheld_caller(raw: str | None) -> None:
    assert normalise_caller(raw) == (None, "restricted")


@pytest.mark.parametrize("raw", ["anonymous", "Anonymous", "ANONYMOUS", " anonymous ", "restricted", "Restricted", "private",
                                 "Withheld", '"Anonymous"'])
def test_a_word_for_a_withheld_number_is_restricted(raw: str) -> None:
    assert normalise_caller(raw) == (None, "restricted")


@pytest.mark.parametrize("raw", ["unavailable", "Unavailable", "unknown", " UNKNOWN "])
def test_a_word_for_a_number_the_network_lacks_is_unavailable(raw: str) -> None:
    assert normalise_caller(raw) == (None, "unavailable")


@pytest.mark.parametrize("raw", [
    "sip:anonymous@anonymous.invalid",
    "SIP:Anonymous@Anonymous.Invalid",
    "sips:anonymous@anonymous.invalid",
    "sip:thisis@anonymous.invalid",
    '"Anonymous" <sip:anonymous@anonymous.invalid>;tag=1928301774',
    "<sip:anonymous@anonymous.invalid>",
    "sip:anonymous@anonymous.invalid;transport=udp",
], ids=["rfc3261", "upper-case", "sips", "any-user", "name-addr-with-tag", "angle-brackets", "uri-parameters"])
def test_the_anonymous_sip_uri_of_rfc_3261_is_restricted(raw: str) -> None:
    assert normalise_caller(raw) == (None, "restricted")


@pytest.mark.parametrize("raw", ["sip:anonymous@carrier.example", "sip:Restricted@carrier.example", "tel:anonymous"])
def test_a_uri_whose_user_is_a_withheld_word_is_restricted(raw: str) -> None:
    assert normalise_caller(raw) == (None, "restricted")


def test_a_sip_uri_whose_user_is_unavailable_is_unavailable() -> None:
    assert normalise_caller("sip:unavailable@carrier.example") == (None, "unavailable")


@pytest.mark.parametrize("raw", ["+46701234567", "tel:+46701234567", "tel:+46-70-123-45-67", "tel:+46701234567;phone-context=+46",
                                 "sip:+46701234567@carrier.example;user=phone", "sips:+46701234567@carrier.example",
                                 '"Anna" <sip:+46701234567@carrier.example>;tag=9', "+46 70 123 45 67", " +46 (70) 123.45.67 "],
                         ids=["e164", "tel", "tel-separators", "tel-parameters", "sip-user-phone", "sips", "name-addr", "spaces",
                              "separators"])
def test_a_number_however_written_is_presented_as_its_digits(raw: str) -> None:
    assert normalise_caller(raw) == (NUMBER, "allowed")


def test_an_e164_number_without_plus_is_kept_as_given() -> None:
    assert normalise_caller("46701234567") == ("46701234567", "allowed")


def test_a_sip_uri_of_a_named_user_is_presented_as_given() -> None:
    assert normalise_caller(" sip:alice@partner.example ") == ("sip:alice@partner.example", "allowed")


def test_a_sip_uri_with_no_user_is_presented_as_given() -> None:
    assert normalise_caller("sip:pbx.example") == ("sip:pbx.example", "allowed")


def test_a_caller_id_that_is_no_number_nor_withheld_word_is_presented_as_given() -> None:
    assert normalise_caller("Reception desk") == ("Reception desk", "allowed")


@pytest.mark.parametrize("hint", ["restricted", "Restricted", " RESTRICTED "])
def test_presentation_restricted_withholds_a_number(hint: str) -> None:
    assert normalise_caller(NUMBER, presentation=hint) == (None, "restricted")


def test_presentation_unavailable_withholds_a_number() -> None:
    assert normalise_caller(NUMBER, presentation="unavailable") == (None, "unavailable")


def test_presentation_unavailable_wins_over_a_withheld_word() -> None:
    assert normalise_caller("anonymous", presentation="unavailable") == (None, "unavailable")


def test_presentation_allowed_keeps_a_number() -> None:
    assert normalise_caller(NUMBER, presentation="allowed") == (NUMBER, "allowed")


def test_presentation_allowed_cannot_present_a_withheld_caller() -> None:
    assert normalise_caller("anonymous", presentation="allowed") == (None, "restricted")


def test_an_unknown_presentation_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationFailed, match="presentation 'hidden' is none of allowed, restricted, unavailable") as refused:
        normalise_caller(NUMBER, presentation="hidden")
    assert refused.value.field == "presentation"


@pytest.mark.parametrize("privacy", ["id", "header", "user", "ID", "header; id", "id;critical", "session, user"])
def test_privacy_asking_to_hide_the_identity_withholds_a_number(privacy: str) -> None:
    assert normalise_caller(NUMBER, privacy=privacy) == (None, "restricted")


@pytest.mark.parametrize("privacy", ["none", "session", "critical", ""])
def test_privacy_that_hides_no_identity_keeps_the_number(privacy: str) -> None:
    assert normalise_caller(NUMBER, privacy=privacy) == (NUMBER, "allowed")


def test_a_call_with_presentation_restricted_is_withheld_even_with_a_caller_id() -> None:
    call = Call(dialled="2001", at=_AT, caller=NUMBER, presentation="restricted")
    assert call.withheld and call.effective_presentation == "restricted"


def test_a_call_without_a_caller_id_is_withheld_as_restricted() -> None:
    call = Call(dialled="2001", at=_AT)
    assert call.withheld and call.effective_presentation == "restricted"


def test_a_call_with_a_presented_caller_id_is_not_withheld() -> None:
    assert not Call(dialled="2001", at=_AT, caller=NUMBER).withheld


@pytest.mark.parametrize(("raw", "expected"), [
    ("+44 (0)20 7946 0000", "+442079460000"),
    ('"A <b>" <sip:+46701234567@x>', "+46701234567"),
    ("sip:%2B46701234567@pbx.example", "+46701234567"),
], ids=["trunk-zero", "quoted-name-with-brackets", "percent-encoded-plus"])
def test_presented_numbers_written_the_ways_networks_write_them_come_out_whole(raw: str, expected: str) -> None:
    assert normalise_caller(raw) == (expected, "allowed")
