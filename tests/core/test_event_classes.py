"""Chained event classes share one ``__init__``, ``__eq__``, ``__hash__`` and ``__repr__`` (``core/aggregates/chained.py``).

They must behave as the frozen dataclasses the library's metaclass would have made: the same fields in the same order,
frozen instances, equality and hashing by field values, and a ``TypeError`` naming what is wrong in a construction.
"""

from __future__ import annotations

import dataclasses
import inspect
import pickle
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

import core.aggregates  # noqa: F401 - registers every concept's event types
from core.aggregates.chained import ChainedEvent
from core.aggregates.tenant import TenantCreated
from core.aggregates.users import UserAdded

AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
ID = uuid.UUID("12345678-1234-5678-1234-567812345678")


def every_event_class() -> list[type]:
    found: list[type] = []
    pending = [ChainedEvent]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


def user_added(**changes: Any) -> UserAdded:
    fields: dict[str, Any] = {"originator_id": ID, "originator_version": 2, "timestamp": AT, "actor": "admin@acme",
                              "partner": None, "reason": None, "prev_hash": "p", "hash": "h", "extension": "2001",
                              "name": "Ann", "email": None, "license": "basic"}
    return UserAdded(**{**fields, **changes})


def annotated_names(cls: type) -> list[str]:
    """The fields a dataclass would collect: annotations base first, each name at its first place, ClassVars left out."""
    names: list[str] = []
    for klass in reversed(cls.__mro__):
        for name, annotation in vars(klass).get("__annotations__", {}).items():
            if "ClassVar" not in str(annotation) and name not in names:
                names.append(name)
    return names


@pytest.mark.parametrize("cls", every_event_class(), ids=lambda cls: cls.__qualname__)
def test_each_class_has_the_fields_a_dataclass_would_have_in_order(cls: type) -> None:
    names = [field.name for field in dataclasses.fields(cls)]
    assert names == annotated_names(cls)
    assert list(inspect.signature(cls).parameters) == names
    assert cls.__dataclass_params__.frozen
    assert cls.__match_args__ == tuple(names)
    assert cls.__doc__
    if cls.__doc__.startswith(cls.__name__ + "("):  # no docstring of its own: named as a dataclass names it
        assert cls.__doc__ == f"{cls.__name__}({', '.join(names)})"


def test_a_construction_keeps_the_field_order_and_checks_the_origin() -> None:
    event = user_added()
    assert list(vars(event)) == [field.name for field in dataclasses.fields(UserAdded)]
    with pytest.raises(TypeError, match="non-UUID originator_id"):
        user_added(originator_id="not a uuid")


def test_missing_unexpected_and_repeated_arguments_are_named() -> None:
    fields = vars(user_added()).copy()
    del fields["name"], fields["email"]
    with pytest.raises(TypeError, match=r"UserAdded\(\) missing required arguments: 'name', 'email'"):
        UserAdded(**fields)
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'bogus'"):
        user_added(bogus=1)
    values = list(vars(user_added()).values())
    assert UserAdded(*values) == user_added()
    with pytest.raises(TypeError, match=r"multiple values for argument 'originator_id'"):
        UserAdded(*values[:1], **{name: value for name, value in vars(user_added()).items()})
    with pytest.raises(TypeError, match=r"takes 12 arguments but 13 were given"):
        UserAdded(*values, "extra")


@pytest.mark.parametrize("cls", every_event_class(), ids=lambda cls: cls.__qualname__)
def test_instances_of_each_class_are_frozen(cls: type) -> None:
    event = object.__new__(cls)
    for name in ("hash", "actor", "anything"):
        with pytest.raises(dataclasses.FrozenInstanceError, match=f"cannot assign to field '{name}'"):
            setattr(event, name, "x")
        with pytest.raises(dataclasses.FrozenInstanceError, match=f"cannot delete field '{name}'"):
            delattr(event, name)


def test_the_dataclass_functions_work_on_an_event() -> None:
    event = user_added()
    assert dataclasses.is_dataclass(event)
    assert dataclasses.replace(event, name="Bob") == user_added(name="Bob")
    assert dataclasses.asdict(event) == vars(event)
    assert pickle.loads(pickle.dumps(event)) == event
    match event:
        case UserAdded(_, _, _, "admin@acme"):
            matched = True
        case _:
            matched = False
    assert matched


def test_equality_and_hashing_follow_the_field_values_and_the_class() -> None:
    assert user_added() == user_added()
    assert hash(user_added()) == hash(user_added())
    assert user_added() != user_added(name="Bob")
    assert len({user_added(), user_added(), user_added(name="Bob")}) == 2
    created = TenantCreated(originator_id=ID, originator_version=1, timestamp=AT, originator_topic="callroute/Tenant",
                            actor="a", partner=None, reason=None, prev_hash="p", hash="h", slug="acme", name="Acme",
                            time_zone="Europe/Stockholm", plan="unlimited")
    assert created != user_added()
    assert user_added().__eq__(created) is NotImplemented


def test_repr_names_the_class_and_every_field() -> None:
    text = repr(user_added())
    assert text.startswith("UserAdded(originator_id=UUID('12345678-1234-5678-1234-567812345678'), originator_version=2, ")
    assert text.endswith("extension='2001', name='Ann', email=None, license='basic')")


def test_a_decoded_event_equals_hashes_and_reads_as_the_one_constructed() -> None:
    """The mapper decodes with ``msgspec.convert``, which sets the fields in the order of the stored JSON, the origin last
    (``core/codec.py``): equality, the hash and ``repr`` go by the fields' order, not the instance's dictionary."""
    import msgspec

    from core.codec import stored_state

    event = user_added()
    state = stored_state(event)
    state.pop("class_version")
    state |= {"originator_id": event.originator_id, "originator_version": event.originator_version}
    decoded = msgspec.convert(state, UserAdded)
    assert list(vars(decoded)) != list(vars(event))  # the case at issue: another order
    assert decoded == event
    assert hash(decoded) == hash(event)
    assert decoded in {event}
    assert repr(decoded) == repr(event)


def test_an_event_grown_with_a_default_or_flags_behaves_as_the_dataclass_it_declares() -> None:
    """No stored event has one yet; a field with a default is the usual way to grow one, and must not need a value."""
    from core.aggregates.tenant import TenantEvent

    base = {name: value for name, value in vars(user_added()).items() if name in ChainedEvent._field_names}

    class Grown(TenantEvent):
        extension: str
        note: str = "none"
        tally: int = dataclasses.field(default=0, compare=False)

    class GrownFurther(Grown):
        level: int = 1  # after fields with defaults, as a dataclass requires

    assert Grown(**base, extension="2001").note == "none"
    assert Grown(**base, extension="2001", tally=1) == Grown(**base, extension="2001", tally=2)
    assert Grown(**base, extension="2001") != Grown(**base, extension="2001", note="x")
    assert repr(Grown(**base, extension="2001")).endswith("extension='2001', note='none', tally=0)")
    further = GrownFurther(**base, extension="2001", level=3)
    assert (further.note, further.level) == ("none", 3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        further.note = "x"  # type: ignore[misc]
