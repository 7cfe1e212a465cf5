"""Stored call events are kept forever: the rows written in November 2026 still decode, link and verify the same way.

``tests/fixtures/call_events_v1.json`` holds one stored row of every call event type as
``core/calls/log.py`` wrote it (topic, msgpack body in hex, and the event it stands for),
and the chain head of the ten rows. When a test here fails, fix the code (keep the topic,
add an upcaster), never the fixture.
"""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from core.calls import log
from core.calls.events import CALL_EVENT_TYPES, CallEvent

FIXTURE = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "call_events_v1.json").read_text(encoding="utf-8"))
ROWS = FIXTURE["rows"]


def test_every_call_event_type_has_its_own_explicit_stable_topic() -> None:
    assert set(log.TOPICS) == set(CALL_EVENT_TYPES)
    assert len(set(log.TOPICS.values())) == len(log.TOPICS)
    assert sorted(log.TOPICS.values()) == sorted(row["topic"] for row in ROWS)


@pytest.mark.parametrize("row", ROWS, ids=[row["topic"].rsplit("/", 1)[1] for row in ROWS])
def test_a_stored_row_decodes_to_the_event_it_was_written_for(row: dict[str, object]) -> None:
    event = log.decode(row["topic"], bytes.fromhex(row["body_hex"]))  # type: ignore[arg-type]
    assert event == msgspec.convert(row["event"], CallEvent)
    assert log.TOPICS[type(event)] == row["topic"]


def test_the_stored_chain_still_links_to_its_recorded_head() -> None:
    rows = []
    previous = log.GENESIS
    for row in ROWS:
        body = bytes.fromhex(row["body_hex"])
        previous = log.link(previous, row["topic"], body)
        rows.append((row["topic"], body, previous))
    assert previous.hex() == FIXTURE["chain_head"]
    count, head, broken = log.verify_rows(rows, previous, len(rows))
    assert (count, head.hex(), broken) == (len(ROWS), FIXTURE["chain_head"], None)


def test_verify_names_the_first_row_that_does_not_link() -> None:
    rows = []
    previous = log.GENESIS
    for row in ROWS:
        body = bytes.fromhex(row["body_hex"])
        previous = log.link(previous, row["topic"], body)
        rows.append((row["topic"], body, previous))
    edited = [*rows[:3], (rows[3][0], rows[3][1].replace(b"no_answer", b"cancel\xa0\xa0\xa0"), rows[3][2]), *rows[4:]]
    assert log.verify_rows(edited, previous, len(rows))[2] == log.ChainBreak(4, "altered, reordered or a row before it removed")
    removed = rows[:4] + rows[5:]
    assert log.verify_rows(removed, previous, len(rows))[2].position == 5  # type: ignore[union-attr]
    truncated = rows[:-1]
    assert "recorded 10 events" in log.verify_rows(truncated, previous, len(rows))[2].problem  # type: ignore[union-attr]


def test_an_unknown_topic_is_refused_by_name() -> None:
    with pytest.raises(log.UnknownTopicError, match="callroute/call/Nope"):
        log.decode("callroute/call/Nope", b"\x80")
