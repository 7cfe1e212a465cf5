"""The projection's event reader decodes every stored event as the application's mapper does.

It decodes each event class with a typed decoder built from the class's fields, and
sends classes with an upcaster (and anything the typed decoder refuses) to the mapper.
The fixture store holds every stored event type and a version-1 ``UserAdded``.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import msgspec
import pytest
from eventsourcing.persistence import MapperDeserialisationError

from adapters.bootstrap import build_app
from core.projections import EventReader

STORE = Path(__file__).resolve().parents[1] / "fixtures" / "store_2026_11.sqlite"


def notifications(app: Any) -> list[Any]:
    found, position = [], 0
    while page := app.recorder.select_notifications(position + 1, 500):
        found += page
        position = page[-1].id
    return found


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Any:
    copy = tmp_path_factory.mktemp("store") / STORE.name
    shutil.copyfile(STORE, copy)
    return build_app(copy)


def test_every_stored_event_decodes_as_the_mapper_decodes_it(app: Any) -> None:
    reader = EventReader(app.mapper)
    stored = notifications(app)
    assert len({n.topic for n in stored}) > 40  # every stored event type
    for notification in stored:
        ours, theirs = reader.decode(notification), app.mapper.to_domain_event(notification)
        assert type(ours) is type(theirs)
        assert ours.__dict__ == theirs.__dict__, notification.topic


def test_the_typed_path_is_used_except_for_upcast_classes(app: Any) -> None:
    reader = EventReader(app.mapper)
    for notification in notifications(app):
        reader.decode(notification)
    untyped = sorted(topic for topic, typed in reader._typed.items() if typed is None)
    assert untyped == ["callroute/UserAdded"]  # class_version 2: the mapper upcasts version-1 events


def test_an_unreadable_event_is_refused_by_the_mapper_naming_it(app: Any) -> None:
    notification = next(n for n in notifications(app) if n.topic == "callroute/DivertSet")
    broken = type(notification)(id=notification.id, originator_id=notification.originator_id,
                                originator_version=notification.originator_version, topic=notification.topic,
                                state=b'{"extension": 2001}')
    with pytest.raises(MapperDeserialisationError, match="callroute/DivertSet"):
        EventReader(app.mapper).decode(broken)


def test_stored_fields_then_the_event_equal_the_mappers_event(app: Any) -> None:
    """The projection's two steps: ``fields`` (or the typed decoder of a topic) when read, ``event`` when applied."""
    reader = EventReader(app.mapper)
    for notification in notifications(app):
        fields = reader.fields(notification)
        typed = reader.typed_decode(notification.topic)
        theirs = app.mapper.to_domain_event(notification)
        if typed is None:  # an upcast class: the mapper's event itself
            assert type(fields) is type(theirs) and fields.__dict__ == theirs.__dict__
            continue
        assert typed(notification.state) == fields
        ours = reader.event(fields, notification.originator_id, notification.originator_version)
        assert type(ours) is type(theirs)
        assert ours.__dict__ == theirs.__dict__, notification.topic


def test_bytes_the_typed_decoder_cannot_read_are_refused_by_the_mapper_naming_the_event(app: Any) -> None:
    notification = next(n for n in notifications(app) if n.topic == "callroute/DivertSet")
    broken = type(notification)(id=notification.id, originator_id=notification.originator_id,
                                originator_version=notification.originator_version, topic=notification.topic,
                                state=b'{"extension": 2001}')
    reader = EventReader(app.mapper)
    with pytest.raises(msgspec.DecodeError):
        reader.typed_decode(broken.topic)(broken.state)
    with pytest.raises(MapperDeserialisationError, match="callroute/DivertSet"):
        reader.fields(broken)
