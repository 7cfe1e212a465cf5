"""Validation and normal forms of the identifiers commands carry.

The msgspec schema checks the shape at the edge; these functions apply the rules a
regex cannot (a number valid in its country's plan, an IANA zone that exists) and
return the one normal form stored in events.
"""

from __future__ import annotations

import os
import re
import uuid
from functools import cache, lru_cache
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import msgspec

from core.errors import MalformedMacError, MalformedNumberError, PinRuleError, UnknownTimeZoneError

TENANT_NAMESPACE = uuid.UUID("6f1d3c1e-5a8e-4b8e-9c57-2f0c1e7d4a10")


def whole(body: str) -> str:
    r"""A schema pattern that must match the whole value: ``body`` anchored at both ends.

    msgspec checks ``Meta(pattern=...)`` with ``re.search``, and ``$`` also matches before a final
    newline, so ``^[0-9]{6}$`` accepts ``"650473\n"``. ``$(?!\n)`` is the very end of the value in
    Python's ``re`` and in ECMA-262 (the dialect of JSON Schema, where ``\Z`` is not defined).
    """
    return f"^(?:{body})$(?!\\n)"


NAME_RULE = "names may not contain control characters or bidirectional overrides"
"""Why a name was refused, in the refusal of every name-like field."""
# Control characters (C0, DEL, C1, and the line and paragraph separators, which break lines like a newline) and
# the bidirectional formatting characters (Unicode's Bidi_Control: U+061C, U+200E/F, U+202A-E, U+2066-9), which
# make a name print as something else (U+202E turns "gpj.exe" around); lone surrogates cannot be stored as UTF-8.
_TEXT_CHARACTER = r"[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
TEXT_PATTERN = whole(_TEXT_CHARACTER + "*")
"""A name or other one-line text: no control character and no bidirectional override or isolate."""
REASON_RULE = "reasons may not contain control characters or bidirectional overrides"

Slug = Annotated[str, msgspec.Meta(pattern=whole(r"[a-z0-9][a-z0-9-]{1,39}"), description="tenant id: 2-40 of a-z, 0-9, '-'")]
Extension = Annotated[str, msgspec.Meta(pattern=whole(r"[0-9]{2,6}"), description="internal extension: 2-6 digits")]
# Shape only; the numbering plan is checked by normalise_number().
PhoneNumber = Annotated[str, msgspec.Meta(pattern=whole(r"\+?[0-9 ()-]{4,24}"),
                                          description="E.164 number, e.g. +441234567890 or 441234567890")]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=120, pattern=TEXT_PATTERN, description=f"name: {NAME_RULE}")]
Principal = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=TEXT_PATTERN, description=f"name: {NAME_RULE}")]
"""Who acts (``admin@acme.example``) or the channel partner acted for (``phoneline-plus``)."""
BillingId = Annotated[str, msgspec.Meta(min_length=1, max_length=40, pattern=TEXT_PATTERN, description=f"name: {NAME_RULE}")]
TimeZone = Annotated[str, msgspec.Meta(min_length=1, max_length=64, description="IANA time zone, e.g. Europe/Stockholm")]
# The same characters as a name; a pattern of its own (the length is checked first) so that a refusal says "reason".
Reason = Annotated[str, msgspec.Meta(max_length=500, pattern=whole(_TEXT_CHARACTER + "{0,500}"), description=f"reason: {REASON_RULE}")]
LanguageTag = Annotated[str, msgspec.Meta(pattern=whole(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*"), description="BCP 47 language tag")]
Email = Annotated[str, msgspec.Meta(pattern=whole(r"[^@\s]+@[^@\s]+\.[^@\s]+"), max_length=254)]
ClockTime = Annotated[str, msgspec.Meta(pattern=whole(r"([01][0-9]|2[0-3]):[0-5][0-9]"), description="local wall time HH:MM")]


def name_problem(text: str) -> str | None:
    """``NAME_RULE`` if ``text`` holds a character a name may not (the schema's own check, for names not in a command)."""
    return None if _TEXT.search(text) is not None else NAME_RULE


def rule_problem(value: object, rule: object, words: str) -> str | None:
    """Why ``value`` breaks the schema rule ``rule`` (``Reason``, ``Principal``: the same check as in a command), in words
    to follow the field's name (``words``, e.g. ``REASON_RULE``, says the rule on characters); None when it keeps it."""
    try:
        msgspec.convert(value, rule)
    except msgspec.ValidationError:
        pass
    else:
        return None
    meta = rule.__metadata__[0]  # type: ignore[attr-defined]
    if not isinstance(value, str):
        return f"must be text (got {type(value).__name__})"
    if meta.min_length and len(value) < meta.min_length:
        return "must not be empty"
    if meta.max_length is not None and len(value) > meta.max_length:
        return f"at most {meta.max_length:,} characters (got {len(value):,})"
    shown = repr(value) if len(value) <= 60 else repr(value[:57]) + "…"
    return f"{words} (got {shown})"


_TEXT = re.compile(TEXT_PATTERN)
_MAC = re.compile(r"[0-9a-f]{2}([:-]?)[0-9a-f]{2}(\1[0-9a-f]{2}){4}")
_PIN = re.compile(r"[0-9]{6}")


@lru_cache(maxsize=4096)
def tenant_id(slug: str) -> uuid.UUID:
    """The aggregate id of a tenant: derived from its slug, so lookups need no index."""
    return uuid.uuid5(TENANT_NAMESPACE, slug)


_SHAPE = "write a country code and the number, digits only, e.g. 441234567890 or +441234567890"


@cache
def _parse_problems() -> dict[int, str]:
    """libphonenumber's own texts ("(0) Could not interpret numbers after plus-sign.") in callroute's words."""
    import phonenumbers

    return {
        phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: "it does not start with a known country code; " + _SHAPE,
        phonenumbers.NumberParseException.NOT_A_NUMBER: _SHAPE,
        phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "too few digits after the country code",
        phonenumbers.NumberParseException.TOO_SHORT_NSN: "too few digits after the country code",
        phonenumbers.NumberParseException.TOO_LONG: "too many digits (E.164 allows at most 15)",
    }


def normalise_number(raw: str, *, field: str) -> str:
    """Return ``raw`` as E.164 (``+441234567890``), or raise naming ``field``.

    Seed 000 writes numbers without the plus (``441234567890``); both are accepted.
    """
    return _normalise_number(raw, field)


@lru_cache(maxsize=4096)
def _normalise_number(raw: str, field: str) -> str:
    # phonenumbers.parse costs ~150 us; tenants reuse a small set of numbers. Imported here, on the first number
    # (~13 ms): a command that normalises none, such as a query, does without it.
    import phonenumbers

    digits = re.sub(r"[ ()-]", "", raw)
    if not digits.startswith("+"):
        digits = "+" + digits
    try:
        parsed = phonenumbers.parse(digits, None)
    except phonenumbers.NumberParseException as exc:
        raise MalformedNumberError(f"{raw!r} is not a phone number: {_parse_problems().get(exc.error_type, _SHAPE)}",
                                   field=field) from None
    if not phonenumbers.is_valid_number(parsed):
        raise MalformedNumberError(
            f"{raw!r} is not a valid number in its country's numbering plan (E.164, e.g. 441234567890)",
            field=field,
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def normalise_mac(raw: str, *, field: str) -> str:
    """Return a MAC address as lower-case colon-separated octets, or raise naming ``field``."""
    candidate = raw.strip().lower()
    if not _MAC.fullmatch(candidate):
        raise MalformedMacError(f"{raw!r} is not a MAC address (six hex octets, e.g. 00:1a:2b:3c:4d:5e)", field=field)
    hexdigits = re.sub(r"[:-]", "", candidate)
    return ":".join(hexdigits[i : i + 2] for i in range(0, 12, 2))


def check_pin(pin: str, *, field: str = "pin") -> None:
    """Raise unless ``pin`` is exactly six digits. The message never repeats the PIN."""
    if not _PIN.fullmatch(pin):
        raise PinRuleError("the voice-portal PIN must be exactly 6 digits", field=field)


@cache
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


@cache
def _packaged_zone_names() -> frozenset[str]:
    """The zones the tzdata package lists in its ``zones`` file, which ``available_timezones`` reads first: each is
    among its answers. Reading that one file takes well under a millisecond; ``available_timezones`` also walks the
    system's zone folders (10-20 ms), which only a name not in the list needs."""
    try:
        import tzdata
    except ImportError:  # pragma: no cover - a dependency; without it, the system's zones alone
        return frozenset()
    try:
        with open(os.path.join(os.path.dirname(tzdata.__file__), "zones"), encoding="utf-8") as listing:
            return frozenset(line.strip() for line in listing if line.strip()) - {"posixrules"}
    except OSError:  # pragma: no cover - a tzdata without its list
        return frozenset()


def check_time_zone(name: str, *, field: str = "time_zone") -> ZoneInfo:
    """Return the zone, or raise unless ``name`` is an IANA zone (``Europe/Stockholm``)."""
    if name not in _packaged_zone_names() and name not in _zone_names():
        raise UnknownTimeZoneError(f"{name!r} is not an IANA time zone name (e.g. Europe/Stockholm)", field=field)
    try:
        return ZoneInfo(name)
    except ZoneInfoNotFoundError:  # pragma: no cover - listed but unloadable
        raise UnknownTimeZoneError(f"{name!r} has no zone data on this machine", field=field) from None
