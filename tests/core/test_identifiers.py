"""Phone numbers are refused in callroute's own words, never libphonenumber's."""

from __future__ import annotations

from zoneinfo import available_timezones

import pytest

from core.aggregates.identifiers import _packaged_zone_names, check_time_zone, normalise_number
from core.errors import MalformedNumberError, UnknownTimeZoneError


@pytest.mark.parametrize(("raw", "reason"), [
    ("+999123", "it does not start with a known country code"),
    ("abc", "write a country code and the number, digits only"),
    ("1234567890123456789", "too many digits (E.164 allows at most 15)"),
])
def test_a_malformed_number_is_refused_in_callroutes_words(raw: str, reason: str) -> None:
    with pytest.raises(MalformedNumberError, match=r"is not a phone number: ") as caught:
        normalise_number(raw, field="target.number")
    assert reason in caught.value.message
    assert "Could not interpret" not in caught.value.message
    assert "(0)" not in caught.value.message
    assert caught.value.field == "target.number"


def test_a_number_without_plus_is_accepted_as_e164() -> None:
    assert normalise_number("441234567890", field="number") == "+441234567890"


def test_a_time_zone_is_accepted_exactly_when_zoneinfo_lists_it() -> None:
    """The quick look in tzdata's own list answers as ``available_timezones`` does, for listed names and others."""
    available = available_timezones()
    assert _packaged_zone_names() <= available
    odd = ["posixrules", "right/UTC", "posix/Europe/Stockholm", "localtime", "Factory", "../zoneinfo/UTC", "Europe//Oslo",
           "./UTC", "europe/stockholm", "", "Mars/Olympus", "UTC", "Etc/GMT+1"]
    for name in sorted(available) + odd:
        try:
            check_time_zone(name)
            accepted = True
        except UnknownTimeZoneError:
            accepted = False
        assert accepted == (name in available), name
