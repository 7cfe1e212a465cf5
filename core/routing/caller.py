"""Who is calling: a raw caller id, with the network's privacy and presentation hints, in one normal form.

A withheld caller reaches a PBX in many spellings: an empty id, a word (``anonymous``,
``restricted``, ``unavailable``…), the anonymous SIP URI of RFC 3261 §8.1.1.3
(``"Anonymous" <sip:anonymous@anonymous.invalid>``), a SIP ``Privacy`` header asking to
hide the identity (RFC 3323 §4.2 ``header``/``user``, RFC 3325 §9.3 ``id``), or the
presentation indicator of Q.931 / ISUP (allowed, restricted, not available).
``normalise_caller`` turns each of them into ``(None, "restricted" | "unavailable")`` and a
presented caller id into ``(id, "allowed")``, so the command line, recorded calls and the
simulator give a caller one meaning. Pure: no clock, no I/O.
"""

from __future__ import annotations

import re
from typing import Literal, get_args
from urllib.parse import unquote

from core.errors import ValidationFailed

Presentation = Literal["allowed", "restricted", "unavailable"]
"""Q.931 / ISUP presentation indicator: the number may be shown, the caller withheld it, or the network has none."""
PRESENTATIONS: tuple[Presentation, ...] = get_args(Presentation)

_RESTRICTED = frozenset({"anonymous", "restricted", "private", "withheld"})
_UNAVAILABLE = frozenset({"unavailable", "unknown"})
_HIDING_PRIVACY = frozenset({"id", "header", "user"})
"""Privacy values that ask to hide who calls; ``session``, ``critical`` and ``none`` do not."""
_ANONYMOUS_HOST = "anonymous.invalid"
_SEPARATORS = re.compile(r"[\s.()\-]")
"""RFC 3966 visual separators (and spaces) inside a written number."""
_NUMBER = re.compile(r"\+?[0-9]+")
_TRUNK_ZERO = re.compile(r"^(\+[0-9]{1,3})\s*\(0\)")
_SIP = re.compile(r"(?P<scheme>sips?|tel):(?P<rest>.*)", re.IGNORECASE)


def normalise_caller(raw: str | None, *, presentation: str | None = None,
                     privacy: str | None = None) -> tuple[str | None, Presentation]:
    """``(caller, presentation)`` of a call: the caller id only when it may be presented, else ``None``.

    ``raw`` is the caller id as received (a number, a SIP or tel URI, a ``From`` header's
    name-addr, a word, empty or ``None``); ``presentation`` the network's indicator
    (``allowed``/``restricted``/``unavailable``, any case); ``privacy`` a SIP ``Privacy``
    header value (``id``, ``header; id``…). A restriction from either hint wins over a
    number in ``raw``, and the number is dropped: routing never shows or uses a number
    the caller asked to hide. No caller id with no hint counts as withheld (``restricted``).
    """
    hint = _presentation_hint(presentation)
    if hint is not None and hint != "allowed":
        return None, hint
    if privacy is not None and _HIDING_PRIVACY & set(re.split(r"[\s;,]+", privacy.strip().lower())):
        return None, "restricted"
    return _caller_id(raw)


def _presentation_hint(value: str | None) -> Presentation | None:
    if value is None:
        return None
    word = value.strip().lower()
    if word not in PRESENTATIONS:
        raise ValidationFailed(f"presentation {value!r} is none of {', '.join(PRESENTATIONS)}", field="presentation")
    return word  # type: ignore[return-value]


def _caller_id(raw: str | None) -> tuple[str | None, Presentation]:
    """What the caller id alone says."""
    text = _addr_spec((raw or "").strip())
    withheld = _withheld_word(text)
    if withheld is not None:
        return None, withheld
    uri = _SIP.fullmatch(text)
    if uri is None:
        return _number_or(text), "allowed"
    if uri["scheme"].lower() == "tel":
        user, host = uri["rest"], ""
    else:
        user, at, host = uri["rest"].partition("@")
        if not at:  # ``sip:pbx.example``: a host and no user
            user, host = "", user
    user = unquote(user.partition(";")[0].partition(":")[0])  # tel parameters, or a SIP password; %2B is a +
    host = re.split(r"[;:?>]", host, maxsplit=1)[0].lower()
    if host == _ANONYMOUS_HOST:
        return None, "restricted"
    if not user:
        return text, "allowed"
    withheld = _withheld_word(user)
    if withheld is not None:
        return None, withheld
    number = _number_or(user)
    return (number if _NUMBER.fullmatch(number) else text), "allowed"


def _addr_spec(text: str) -> str:
    """The URI of a name-addr (``"A <b>" <sip:…>;tag=…``): the display name, quoted or not, is only a label."""
    rest = text
    if rest.startswith('"'):
        # A quoted display name may itself hold ``<`` and ``>``; skip it, honouring backslash escapes.
        match = re.match(r'^"(?:[^"\\]|\\.)*"\s*', rest)
        if match is None:
            return text
        rest = rest[match.end():]
    if rest.startswith("<") or ("<" in rest and not text.startswith('"')):
        inner = rest.partition("<")[2]
        if ">" in inner:
            return inner.partition(">")[0].strip()
    return text


def _withheld_word(text: str) -> Presentation | None:
    word = text.strip().strip("\"'").strip().lower()
    if not word or word in _RESTRICTED:
        return "restricted"
    if word in _UNAVAILABLE:
        return "unavailable"
    return None


def _number_or(text: str) -> str:
    """A written number without its visual separators (``+46 70-123 45 67`` → ``+46701234567``); anything else as given."""
    # ``+44 (0)20 …``: the national trunk prefix written after a country code is not dialled from abroad.
    compact = _SEPARATORS.sub("", _TRUNK_ZERO.sub(r"\1", text))
    return compact if _NUMBER.fullmatch(compact) else text


__all__ = ["PRESENTATIONS", "Presentation", "normalise_caller"]
