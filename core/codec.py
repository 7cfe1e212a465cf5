"""The msgspec mapper: events stored as JSON under explicit stable type names.

eventsourcing's own mapper stores the Python class path as the topic and JSON-encodes
with its transcoder; this one stores each event under its ``TOPIC`` (``callroute/...``,
registered once, so renaming or moving a class never breaks history), encodes the
event's fields with msgspec, and decodes them back into typed values with
``msgspec.convert`` after upcasting the raw dict.

Stored events are kept forever, and the value rules of the types they share with commands only
ever get stricter: a stored value those rules refuse today is converted again without them
(``core/lenient.py``: the shape is still checked). Only stored events and snapshots go that way;
commands are decoded strictly where they come in (``core/service.py``, the command line).
"""

from __future__ import annotations

import hashlib
from functools import cache
from typing import Any

import msgspec
from eventsourcing.domain import CanSnapshotAggregate
from eventsourcing.persistence import Mapper, MapperDeserialisationError, StoredEvent, Transcoder
from eventsourcing.utils import resolve_topic

from core.lenient import _Unsupported, decode_stored, lenient_convert

__all__ = ["MsgspecMapper", "decode_stored", "lenient_convert", "opened_snapshot", "sealed_snapshot", "stable_topic", "stored_state"]

_encoder = msgspec.json.Encoder()
_raw_decoder = msgspec.json.Decoder()


class MsgspecTranscoder(Transcoder):
    """JSON bytes <-> builtin values with msgspec (the mapper does the typing)."""

    def encode(self, obj: Any) -> bytes:
        return _encoder.encode(obj)

    def decode(self, data: bytes) -> Any:
        return _raw_decoder.decode(data)


class MsgspecMapper(Mapper):
    """Maps domain events to stored events and back, by explicit topic and with msgspec."""

    def __init__(self, transcoder: Transcoder | None = None, compressor: Any = None, cipher: Any = None) -> None:
        super().__init__(transcoder or MsgspecTranscoder(), compressor=compressor, cipher=cipher)
        from core.aggregates.chain import event_hash  # not at the top: the aggregates' package imports this module

        self._event_hash = event_hash
        self._id_texts: dict[Any, str] = {}
        """Originator id → its text as the chain hashes it (``str(UUID)`` is not free, and every event read needs it)."""

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        topic = stable_topic(type(domain_event))
        state = stored_state(domain_event)
        data = self.transcoder.encode(state)
        if _is_snapshot(type(domain_event)):
            data = sealed_snapshot(topic, domain_event.originator_id, domain_event.originator_version, data)
        if self.compressor:
            data = self.compressor.compress(data)
        if self.cipher:
            data = self.cipher.encrypt(data)
        return StoredEvent(
            originator_id=domain_event.originator_id,
            originator_version=domain_event.originator_version,
            topic=topic,
            state=data,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        """The event of ``stored_event``; a chained event's recorded hash is checked against its raw stored content first.

        (``core/integrity.py``: an event edited in the store raises ``StoreIntegrityError``; one that
        cannot be decoded at all, ``MapperDeserialisationError`` naming it.) A snapshot is checked
        against its digest, where it has one. A stored value the types' value rules refuse today (they
        are rules for input, and were looser when it was stored) is converted by ``lenient_convert``,
        which checks the shape only.
        """
        cls = resolve_topic(stored_event.topic)
        actual = recorded = None
        try:
            kind = _kind(cls)
            if kind is _CHAINED:
                state = self.decode_raw(stored_event.state)
                # The hash covers the fields as stored but itself, before any upcasting (as ``core/audit.verify_chain``
                # recomputes it); ``state`` keeps the stored order, which the event's fields follow.
                unhashed = dict(state)
                recorded = unhashed.pop("hash", None)
                actual = self._event_hash(stored_event.topic, self._id_text(stored_event.originator_id),
                                          stored_event.originator_version, unhashed)
            elif kind is _SNAPSHOT:
                state = self.transcoder.decode(opened_snapshot(stored_event, self.decode_raw_bytes(stored_event.state)))
            else:
                state = self.decode_raw(stored_event.state)
            from_version = state.pop("class_version", 1)
            class_version = getattr(cls, "class_version", 1)
            while from_version < class_version:
                getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(state)
                from_version += 1
            state["originator_id"] = stored_event.originator_id
            state["originator_version"] = stored_event.originator_version
            try:
                event = msgspec.convert(state, cls)
            except msgspec.ValidationError as strict:
                # Stored under older value rules (``lenient_convert``), or not of the event's shape (refused still).
                try:
                    event = lenient_convert(state, cls)
                except _Unsupported:
                    raise strict from None
        except (msgspec.ValidationError, msgspec.DecodeError, KeyError, TypeError, ValueError) as exc:
            if isinstance(recorded, str) and actual != recorded:
                raise self._altered(stored_event) from None  # it does not decode because it is not what was written
            msg = (
                f"cannot decode stored event {stored_event.topic!r} version "
                f"{stored_event.originator_version} of {stored_event.originator_id}: {exc}"
            )
            raise MapperDeserialisationError(msg) from exc
        if actual != recorded:
            raise self._altered(stored_event)
        return event

    def _id_text(self, originator_id: Any) -> str:
        text = self._id_texts.get(originator_id)
        if text is None:
            if len(self._id_texts) > 4096:
                self._id_texts.clear()
            text = self._id_texts[originator_id] = str(originator_id)
        return text

    @staticmethod
    def _altered(stored_event: StoredEvent) -> Exception:
        from core.integrity import altered

        return altered(stored_event.originator_id, stored_event.originator_version, stored_event.topic)

    def decode_raw(self, data: bytes) -> dict[str, Any]:
        """The stored fields of an event as plain JSON values, before any upcasting."""
        return self.transcoder.decode(self.decode_raw_bytes(data))

    def decode_raw_bytes(self, data: bytes) -> bytes:
        """The stored JSON of an event, decrypted and decompressed."""
        if self.cipher:
            data = self.cipher.decrypt(data)
        if self.compressor:
            data = self.compressor.decompress(data)
        return data


_CHAINED, _SNAPSHOT, _OTHER = "chained", "snapshot", "other"


@cache
def _kind(cls: type) -> str:
    """A ``ChainedEvent`` (it carries ``prev_hash`` and ``hash``, checked when it is read), a snapshot, or another type."""
    fields = getattr(cls, "__dataclass_fields__", {})
    if "hash" in fields and "prev_hash" in fields:
        return _CHAINED
    return _SNAPSHOT if isinstance(cls, type) and issubclass(cls, CanSnapshotAggregate) else _OTHER


def _is_snapshot(cls: type) -> bool:
    return _kind(cls) is _SNAPSHOT


_DIGEST_KEY = b',"digest":"'
_DIGEST_TAIL = len(_DIGEST_KEY) + 64 + 2
"""A sealed snapshot's JSON ends with ``,"digest":"<64 hex digits>"}``."""


def _snapshot_digest(topic: str, originator_id: Any, version: int, body: bytes) -> bytes:
    head = f"callroute snapshot {topic} {originator_id} {version}\n".encode()
    return hashlib.sha256(head + body).hexdigest().encode()


def sealed_snapshot(topic: str, originator_id: Any, version: int, data: bytes) -> bytes:
    """A snapshot's stored JSON with its digest added as the last field: the SHA-256 of its id, version and the JSON before.

    A reader checks it in one pass over the bytes (``opened_snapshot``), so an edit of a stored
    snapshot's state is caught without replaying the events. It is no proof against someone who
    recomputes it (nor is an event's hash at the end of a chain): ``audit verify`` compares every
    snapshot with the replay of its events.
    """
    return data[:-1] + _DIGEST_KEY + _snapshot_digest(topic, originator_id, version, data) + b'"}'


def opened_snapshot(stored_event: StoredEvent, data: bytes) -> bytes:
    """A stored snapshot's JSON without its digest, after checking it (a snapshot stored before digests has none)."""
    tail = data[-_DIGEST_TAIL:]
    if not (tail.startswith(_DIGEST_KEY) and tail.endswith(b'"}')):
        return data
    body = data[:-_DIGEST_TAIL] + b"}"
    if _snapshot_digest(stored_event.topic, stored_event.originator_id, stored_event.originator_version, body) != tail[11:-2]:
        from core.integrity import broken

        version = stored_event.originator_version
        raise broken(stored_event.originator_id, version,
                     f"the snapshot at version {version} does not match its digest (its content was edited)")
    return body


@cache
def stable_topic(cls: type) -> str:
    """The explicit stored name of an event class; refuses a class that would inherit another's."""
    topic = getattr(cls, "TOPIC", None)
    if not topic or resolve_topic(topic) is not cls:
        msg = f"{cls.__qualname__} has no explicit TOPIC of its own; every stored type needs a stable name"
        raise TypeError(msg)
    return topic


def stored_state(domain_event: Any) -> dict[str, Any]:
    """The fields an event stores: everything but the originator id and version."""
    state = dict(vars(domain_event))
    del state["originator_id"], state["originator_version"]
    class_version = getattr(type(domain_event), "class_version", 1)
    if class_version > 1:
        state["class_version"] = class_version
    return state

