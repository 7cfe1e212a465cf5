"""Asterisk Manager Interface (AMI): the wire format, parsed and written without I/O.

AMI is a line protocol over TCP (Asterisk's ``main/manager.c``; docs.asterisk.org, "AMI Command
Syntax"): the server first sends one banner line, ``Asterisk Call Manager/<version>``, then
messages (here: frames) of ``Key: Value`` lines ended by CRLF, each frame ended by an empty line.
The first key of a frame says what it is: ``Event`` (the server reports something), ``Response``
(the answer to an action, matched by its ``ActionID``) or ``Action`` (what a client asks).

What real servers send is looser than that, and :class:`AmiParser` takes it as it comes:

- keys repeat and their order matters (a ``Command`` response carries one ``Output:`` line per
  line of output; a failed login's response carries two ``ActionID`` lines, one Asterisk made
  up and the client's): a frame is the ordered list of its pairs, never a dict;
- line ends are ``\\r\\n``, sometimes a bare ``\\n``, and a frame's end is sometimes ``\\r\\n\\n``;
- a frame sometimes lacks its empty line, so that the next ``Event:`` follows on the next line
  (seen in published captures): a new ``Event:``/``Response:`` line starts a new frame (counted
  as a ``slip``);
- a line without ``:`` is kept as a pair with an empty key (counted as a bad line);
- old servers (Asterisk ≤ 13) answer ``Command`` with ``Response: Follows``, the raw output
  (empty lines included) and ``--END COMMAND--``: the output is kept as ``Output`` pairs;
- garbage between frames and frames that are no AMI message (their first key is none of
  ``Event``/``Response``/``Action``) are dropped and counted as malformed; bytes that are not
  UTF-8 are decoded with replacement characters and the frame is counted as malformed but kept
  (a Latin-1 caller name must not lose the call's event);
- a frame longer than the limit (64 KiB by default) is skipped up to its end and counted.

The parser never raises on input: what it drops is counted and described in :attr:`AmiParser.problems`
(with the first bytes, bounded) for the caller to log.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, NamedTuple

BANNER_PREFIX = "Asterisk Call Manager/"
DEFAULT_MAX_FRAME = 64 * 1024
HEAD_BYTES = 200
"""How many of a dropped frame's first bytes a problem keeps (for the log)."""

FrameKind = Literal["event", "response", "action"]
_KINDS: dict[str, FrameKind] = {"event": "event", "response": "response", "action": "action"}

_SEP = re.compile(rb"\r?\n\r?\n")
"""A frame's end: an empty line, whatever mix of CRLF and LF ends it and the line before it."""
_SLIP = re.compile(r"\r?\n(?=(?:Event|Response): )")
"""A line that starts a new frame inside a frame whose empty line went missing."""
_PAIR = re.compile(r"^([^:\r\n]+):[ \t]?([^\r\n]*?)[ \t]*\r?$")
_FOLLOWS_HEADERS = frozenset({"response", "privilege", "actionid", "message"})
_END_COMMAND = "--END COMMAND--"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]+$")


class AmiError(Exception):
    """Something went wrong talking to an Asterisk manager."""


class AmiLoginFailed(AmiError):
    """The manager refused the username or secret (``Response: Error`` to ``Login``): retrying cannot help.

    The command line exits with status 2 (bad input) on it.
    """

    exit_code = 2


class AmiConnectionError(AmiError):
    """The manager could not be reached, or the connection ended other than by the server closing it."""

    exit_code = 1


class AmiProblem(NamedTuple):
    """Something the parser dropped or repaired, for the log: what, how many bytes, and the first of them."""

    kind: Literal["malformed", "oversize", "undecodable"]
    size: int
    head: bytes


class AmiFrame:
    """One AMI message: its ``(key, value)`` pairs in order, repeated keys kept.

    ``kind`` is ``event``, ``response`` or ``action`` (from the first key) and ``name`` the first
    value (the event's name, the response's status, the action). Look-ups by key ignore case, as
    Asterisk does; :meth:`get` gives the first value of a key, :meth:`get_all` every value.
    """

    __slots__ = ("kind", "name", "_text", "_pairs", "_dict", "_lower", "bad_lines", "size", "undecodable")

    def __init__(self, kind: FrameKind, name: str, text: str | None = None, *, pairs: list[tuple[str, str]] | None = None,
                 size: int = 0, undecodable: bool = False) -> None:
        self.kind = kind
        self.name = name
        self._text = text
        self._pairs = pairs
        self._dict: dict[str, str] | None = None
        self._lower: dict[str, str] | None = None
        self.bad_lines = 0
        self.size = size
        self.undecodable = undecodable

    @classmethod
    def of(cls, pairs: Iterable[tuple[str, str]]) -> AmiFrame:
        """A frame built from pairs (the first names its kind: ``Event``, ``Response`` or ``Action``)."""
        items = [(str(k), str(v)) for k, v in pairs]
        if not items or items[0][0].lower() not in _KINDS:
            raise ValueError("the first key of an AMI frame is Event, Response or Action")
        return cls(_KINDS[items[0][0].lower()], items[0][1], pairs=items)

    @property
    def pairs(self) -> list[tuple[str, str]]:
        if self._pairs is None:
            self._pairs = self._parse()
        return self._pairs

    def _parse(self) -> list[tuple[str, str]]:
        text = self._text or ""
        lines = [line.partition(":") for line in text.split("\n")]
        pairs = [(key, value.strip()) for key, colon, value in lines if colon]
        if len(pairs) == len(lines):
            return pairs
        # Some line has no colon: keep every line, in order, the odd ones under an empty key.
        self.bad_lines = len(lines) - len(pairs)
        return [(key, value.strip()) if colon else ("", key.strip()) for key, colon, value in lines]

    def as_dict(self) -> dict[str, str]:
        """Each key (as written) with its first value: what a typed decoder reads."""
        if self._dict is None:
            self._dict = dict(reversed(self.pairs))
        return self._dict

    def fields(self, keys: Sequence[tuple[str, str, int]]) -> dict[str, str]:
        """The first value of each wanted key present, found without parsing every line (what a mapping reads).

        ``keys`` holds ``(key, "\\n" + key + ":", len(key) + 2)`` per key (see :func:`wanted`); keys match as
        Asterisk writes them (exact case), ``Key: value`` and ``Key:value`` alike; the value is stripped.
        """
        text = self._text
        if text is None:
            values = self.as_dict()
            return {key: values[key].strip() for key, _, _ in keys if key in values}
        out: dict[str, str] = {}
        find = text.find
        for key, needle, skip in keys:
            at = find(needle)
            if at >= 0:
                end = find("\n", at + skip)
                out[key] = (text[at + skip:] if end < 0 else text[at + skip:end]).strip()
        return out

    def get(self, key: str, default: Any = None) -> Any:
        value = self.as_dict().get(key)
        if value is not None:
            return value
        if self._lower is None:
            self._lower = {k.lower(): v for k, v in reversed(self.pairs)}
        return self._lower.get(key.lower(), default)

    def get_all(self, key: str) -> list[str]:
        key = key.lower()
        return [v for k, v in self.pairs if k.lower() == key]

    def __getitem__(self, key: str) -> str:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    @property
    def action_ids(self) -> list[str]:
        """Every ``ActionID`` (a failed login's response carries two)."""
        return self.get_all("ActionID")

    @property
    def output(self) -> list[str]:
        """The ``Output`` lines of a command's response, in order."""
        return self.get_all("Output")

    def encode(self) -> bytes:
        """The frame as written on the wire (CRLF lines, an empty line at the end)."""
        return encode_pairs(self.pairs)

    def __repr__(self) -> str:
        return f"AmiFrame({self.kind}={self.name!r}, {len(self.pairs)} pairs)"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AmiFrame) and self.pairs == other.pairs

    __hash__ = None  # type: ignore[assignment]


class AmiParser:
    """An incremental AMI parser: :meth:`feed` bytes as they arrive, get the frames they complete.

    Pure: no I/O, no clock. Counts what it saw (``frames``, ``malformed``, ``oversize``, ``slips``)
    and keeps a description of each dropped or repaired frame in ``problems`` until drained.
    """

    def __init__(self, max_frame: int = DEFAULT_MAX_FRAME, *, expect_banner: bool = True) -> None:
        if max_frame < 64:
            raise ValueError("max_frame must be at least 64 bytes")
        self.max_frame = max_frame
        self.banner: str | None = None
        """The banner line, once read (``Asterisk Call Manager/5.0.2``)."""
        self._banner_pending = expect_banner
        self._buf = b""
        self._skipping = False
        self._follows: list[str] | None = None
        self._follows_size = 0
        self.frames = 0
        self.malformed = 0
        self.oversize = 0
        self.slips = 0
        self.problems: list[AmiProblem] = []

    @property
    def version(self) -> str | None:
        """The manager's protocol version from the banner (``5.0.2``)."""
        return None if self.banner is None else self.banner[len(BANNER_PREFIX):]

    @property
    def banner_pending(self) -> bool:
        """Still waiting for the first line, to tell whether it is the banner."""
        return self._banner_pending

    @property
    def buffered(self) -> int:
        """Bytes held for a frame not yet complete."""
        return len(self._buf)

    def drain_problems(self) -> list[AmiProblem]:
        problems, self.problems = self.problems, []
        return problems

    def feed(self, data: bytes) -> list[AmiFrame]:
        """The frames ``data`` completes (with what was fed before), in order."""
        if not data:
            return []
        old = len(self._buf)
        buf = self._buf + data if old else bytes(data)
        if self._skipping:
            match = _SEP.search(buf)
            if match is None:
                self._buf = buf[-3:]  # a frame's end may straddle this chunk and the next
                return []
            buf = buf[match.end():]
            self._skipping = False
            old = 0
        if self._banner_pending:
            buf = self._read_banner(buf)
            if self._banner_pending:
                self._buf = buf
                return []
            old = 0
        # Only look for a frame's end where it can be: near the end of what was kept, or in the new bytes. Every end
        # (``\r\n\r\n``, ``\r\n\n``, ``\n\n``, ``\n\r\n``) holds ``\n\n`` or ``\n\r\n``.
        start = max(0, old - 2)
        if buf.find(b"\n\n", start) < 0 and buf.find(b"\n\r\n", start) < 0:
            self._buf = buf
            if len(buf) > self.max_frame:
                self._drop_tail()
            return []
        parts = buf.split(b"\r\n\r\n")  # the usual end, split fast; the others where they occur
        if any(b"\n\n" in part or b"\n\r\n" in part for part in parts):
            parts = [piece for part in parts for piece in _SEP.split(part)]
        self._buf = parts.pop()
        frames: list[AmiFrame] = []
        for raw in parts:
            self._frame(raw, frames)
        if len(self._buf) > self.max_frame:
            self._drop_tail()
        return frames

    def _read_banner(self, buf: bytes) -> bytes:
        while True:
            end = buf.find(b"\n")
            if end < 0:
                if len(buf) > 256:
                    self._banner_pending = False  # no line this long is a banner
                return buf
            line = buf[:end].rstrip(b"\r")
            if not line.strip():
                buf = buf[end + 1:]
                continue
            self._banner_pending = False
            if line.startswith(BANNER_PREFIX.encode()):
                self.banner = line.decode("utf-8", "replace").strip()
                return buf[end + 1:]
            return buf

    def _drop_tail(self) -> None:
        self._oversize(self._buf)
        self._buf = self._buf[-3:]
        self._skipping = True
        self._follows = None

    def _oversize(self, raw: bytes) -> None:
        self.oversize += 1
        self.problems.append(AmiProblem("oversize", len(raw), bytes(raw[:HEAD_BYTES])))

    def _frame(self, raw: bytes, out: list[AmiFrame]) -> None:
        if raw[:1] in (b"\r", b"\n") or raw[-1:] in (b"\r", b"\n"):
            raw = raw.strip(b"\r\n")
        if not raw:
            return
        if len(raw) > self.max_frame:
            self._oversize(raw)
            return
        undecodable = False
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("utf-8", "replace")
            undecodable = True
        if self._follows is not None:
            self._follows.append(text)
            self._follows_size += len(raw) + 4
            if self._follows_size > self.max_frame:
                self._follows = None
                self._oversize(raw)
            elif _END_COMMAND in text:
                out.append(self._follows_frame("\n\n".join(self._follows)))
                self._follows = None
            return
        pieces = [text]
        if ("\nEvent: " in text or "\nResponse: " in text) and not _is_follows(text):
            pieces = _SLIP.split(text)
            self.slips += len(pieces) - 1
        for piece in pieces:
            self._piece(piece, len(raw) if len(pieces) == 1 else len(piece.encode("utf-8", "replace")), undecodable, raw, out)

    def _piece(self, text: str, size: int, undecodable: bool, raw: bytes, out: list[AmiFrame]) -> None:
        end = text.find("\n")
        head = text if end < 0 else text[:end]
        key, colon, value = head.partition(":")
        kind = _KINDS.get(key.strip().lower()) if colon else None
        if kind is None:
            self.malformed += 1
            self.problems.append(AmiProblem("malformed", size, text.encode("utf-8", "replace")[:HEAD_BYTES]))
            return
        name = value.strip()
        if kind == "response" and name.lower() == "follows" and _END_COMMAND not in text:
            self._follows = [text]
            self._follows_size = size
            return
        if undecodable:
            self.malformed += 1
            self.problems.append(AmiProblem("undecodable", size, bytes(raw[:HEAD_BYTES])))
        if kind == "response" and name.lower() == "follows":
            out.append(self._follows_frame(text))
            return
        self.frames += 1
        out.append(AmiFrame(kind, name, text, size=size, undecodable=undecodable))

    def _follows_frame(self, text: str) -> AmiFrame:
        """``Response: Follows``: the headers, then each line of output as an ``Output`` pair (as Asterisk ≥ 14 sends it)."""
        self.frames += 1
        pairs: list[tuple[str, str]] = []
        lines = text.split("\n")
        i = 0
        while i < len(lines):
            match = _PAIR.match(lines[i].rstrip("\r"))
            if match is None or match[1].strip().lower() not in _FOLLOWS_HEADERS:
                break
            pairs.append((match[1], match[2]))
            i += 1
        for line in lines[i:]:
            line = line.rstrip("\r")
            if line.strip() == _END_COMMAND:
                break
            pairs.append(("Output", line))
        return AmiFrame("response", pairs[0][1] if pairs else "Follows", pairs=pairs, size=len(text))


def wanted(keys: Iterable[str]) -> tuple[tuple[str, str, int], ...]:
    """What :meth:`AmiFrame.fields` looks for, for ``keys``."""
    return tuple((key, f"\n{key}:", len(key) + 2) for key in keys)


def _is_follows(text: str) -> bool:
    head = text[:text.find("\n")] if "\n" in text else text
    key, _, value = head.partition(":")
    return key.strip().lower() == "response" and value.strip().lower() == "follows"


def encode_pairs(pairs: Iterable[tuple[str, str]]) -> bytes:
    """``Key: Value`` CRLF lines and the empty line that ends a frame; refuses what would break the framing."""
    lines = []
    for key, value in pairs:
        value = str(value)
        if not _TOKEN.match(key):
            raise ValueError(f"an AMI key is letters, digits, '-' or '_': {key!r}")
        if "\r" in value or "\n" in value:
            raise ValueError(f"an AMI value is one line: {key}: {value!r}")
        lines.append(f"{key}: {value}\r\n")
    lines.append("\r\n")
    return "".join(lines).encode("utf-8")


def encode_action(action: str, fields: Mapping[str, str | Sequence[str]] | Iterable[tuple[str, str]] = (), *,
                  action_id: str | None = None) -> bytes:
    """An action as sent to the manager: ``Action`` first, then ``ActionID`` (if any), then ``fields`` in order.

    A field whose value is a list or tuple is written once per value (``Variable: a=1``, ``Variable: b=2``).
    """
    pairs: list[tuple[str, str]] = [("Action", action)]
    if action_id is not None:
        pairs.append(("ActionID", action_id))
    items = fields.items() if isinstance(fields, Mapping) else fields
    for key, value in items:
        if isinstance(value, list | tuple):
            pairs.extend((key, str(v)) for v in value)
        else:
            pairs.append((key, str(value)))
    return encode_pairs(pairs)


def login_action(username: str, secret: str, *, action_id: str, events: bool = True) -> bytes:
    """``Action: Login`` with a plain-text secret, asking for events (``Events: on``) from the start."""
    return encode_action("Login", {"Username": username, "Secret": secret, "Events": "on" if events else "off"},
                         action_id=action_id)


def __getattr__(name: str) -> Any:
    # The client lives in ``ami_client`` (it needs trio); its public names are reachable from here too.
    if name in {"AmiSettings", "run_ami"}:
        from adapters.pbx import ami_client

        return getattr(ami_client, name)
    raise AttributeError(name)
