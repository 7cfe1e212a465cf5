"""Phone numbers are refused in callroute's own words, never libphonenumber's."""

from __future__ import annotations

import pytest

from core.aggregates.identifiers import normalise_number
from core.errors import MalformedNumberError


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
