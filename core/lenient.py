"""Stored values under the rules they were written with: ``msgspec.convert`` checking the shape only.

Stored events are kept forever, and the value rules of the types they share with commands only
ever get stricter: a stored value those rules refuse today is converted again without them. Only
stored events, snapshots and rows made from them go this way (the mapper in ``core/codec.py``, the
projection's rows); commands are decoded strictly where they come in.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import cache
from typing import Any
from uuid import UUID

import msgspec


def lenient_convert(value: Any, cls: type) -> Any:
    """``msgspec.convert(value, cls)`` checking the shape of ``value`` only: for stored events and snapshots, never input.

    The value rules of the types events share with commands (``Meta``'s pattern, length and range, a datetime's time
    zone) decide what a command may bring in, and they get stricter (every pattern a full match, names without control
    characters: an extension ``"2001\\n"`` or a group name ``"Sales\\t"`` was accepted before). A stored event is kept
    forever, so one stored under the older rules must still load: the mapper converts with this when the strict
    conversion refuses a stored value. The shape is still checked as msgspec checks it, and refused with
    ``msgspec.ValidationError`` (msgspec's words, and the path): a value of the wrong type, a required field missing, a
    tag no type of a union has, a field a type with ``forbid_unknown_fields`` does not know.

    The values are the same classes ``msgspec.convert`` makes: a struct is made by its constructor (which checks no
    ``Meta`` rule and runs its ``__post_init__``, as msgspec does), a dataclass (an eventsourcing event, a snapshot) as
    msgspec makes one (its fields set on a new object, defaults included, then its ``__post_init__``). A type this
    does not know how to convert (``_Unsupported``, a ``TypeError``) leaves the strict refusal standing.
    """
    try:
        return _lenient(cls)(value)
    except _Shape as exc:
        where = "$" + "".join(reversed(exc.path))
        raise msgspec.ValidationError(exc.message if where == "$" else f"{exc.message} - at `{where}`") from None


def decode_stored(decoder: msgspec.json.Decoder[Any] | msgspec.msgpack.Decoder[Any], data: bytes) -> Any:
    """``decoder.decode(data)`` for bytes written from stored events (a routing projection's rows): what the type's value
    rules refuse today, as the stored events may hold, is converted again by ``lenient_convert`` (the shape checked)."""
    try:
        return decoder.decode(data)
    except msgspec.ValidationError as strict:
        untyped = (msgspec.msgpack if isinstance(decoder, msgspec.msgpack.Decoder) else msgspec.json).decode(data)
        try:
            return lenient_convert(untyped, decoder.type)
        except _Unsupported:
            raise strict from None


class _Unsupported(TypeError):
    """A type ``lenient_convert`` does not convert (none of the stored types today): the strict refusal stands."""


class _Shape(Exception):  # noqa: N818 - becomes msgspec.ValidationError at the top
    """A shape error, with its path collected (innermost first) as it propagates out of the containers."""

    def __init__(self, message: str, *path: str) -> None:
        super().__init__(message)
        self.message = message
        self.path = list(path)


_Convert = Callable[[Any], Any]
_MISSING = object()
_NAMES = {str: "str", int: "int", float: "float", bool: "bool", type(None): "null", dict: "object", list: "array"}


def _got(expected: str, value: Any) -> _Shape:
    return _Shape(f"Expected `{expected}`, got `{_NAMES.get(type(value), type(value).__name__)}`")


@cache
def _lenient(cls: type) -> _Convert:
    """The lenient converter of ``cls``, compiled once from ``msgspec.inspect.type_info``."""
    return _Lenient().compile(msgspec.inspect.type_info(cls))


def _exact(tp: type) -> _Convert:
    name = _NAMES[tp]

    def convert(value: Any) -> Any:
        if type(value) is tp:
            return value
        raise _got(name, value)

    return convert


def _float(value: Any) -> Any:
    tp = type(value)
    if tp is float:
        return value
    if tp is int:
        return float(value)
    raise _got("float", value)


def _any(value: Any) -> Any:
    return value


def _literal(values: tuple[Any, ...]) -> _Convert:
    allowed = frozenset((type(v), v) for v in values)

    def convert(value: Any) -> Any:
        if (type(value), value) in allowed:
            return value
        raise _Shape(f"Invalid enum value {value!r}")

    return convert


def _parsed(tp: type) -> _Convert:
    """A type msgspec parses from a string (a datetime, a UUID, an enum...): its conversion has no value rule left once
    the ``Meta`` around it is dropped, so msgspec does it."""

    def convert(value: Any) -> Any:
        try:
            return msgspec.convert(value, tp)
        except msgspec.ValidationError as exc:
            raise _Shape(str(exc)) from None

    return convert


_mi = msgspec.inspect
_SCALARS: dict[type, _Convert] = {
    _mi.StrType: _exact(str), _mi.IntType: _exact(int), _mi.BoolType: _exact(bool), _mi.NoneType: _exact(type(None)),
    _mi.FloatType: _float, _mi.AnyType: _any,
}
_PARSED: dict[type, type] = {
    _mi.DateTimeType: datetime, _mi.DateType: date, _mi.TimeType: time, _mi.TimeDeltaType: timedelta, _mi.UUIDType: UUID,
    _mi.DecimalType: Decimal, _mi.BytesType: bytes, _mi.ByteArrayType: bytearray,
}
_ARRAYS: dict[type, type] = {_mi.ListType: list, _mi.VarTupleType: tuple, _mi.SetType: set, _mi.FrozenSetType: frozenset}
_STR_KEYS = (_mi.StrType, _mi.LiteralType)


class _Lenient:
    """Compiles a ``msgspec.inspect`` type into a converter that checks the shape and ignores every value rule."""

    def __init__(self) -> None:
        self.objects: dict[type, _Convert] = {}
        """Struct or dataclass → its converter (a forward reference while it is compiled: types may be recursive)."""

    def compile(self, t: Any) -> _Convert:
        while isinstance(t, _mi.Metadata):  # Annotated[..., Meta(...)]: the rules are what this leaves out
            t = t.type
        kind = type(t)
        if kind in _SCALARS:
            return _SCALARS[kind]
        if kind in _PARSED:
            return _parsed(_PARSED[kind])
        if kind is _mi.EnumType:
            return _parsed(t.cls)
        if kind is _mi.LiteralType:
            return _literal(t.values)
        if kind in _ARRAYS:
            return self._array(_ARRAYS[kind], self.compile(t.item_type))
        if kind is _mi.TupleType:
            return self._tuple([self.compile(item) for item in t.item_types])
        if kind is _mi.DictType and isinstance(_bare(t.key_type), _STR_KEYS):
            return self._dict(self.compile(t.key_type), self.compile(t.value_type))
        if kind is _mi.StructType and not t.array_like or kind is _mi.DataclassType:
            return self._object(t)
        if kind is _mi.UnionType:
            return self._union(t)
        raise _Unsupported(f"no lenient conversion of {t!r}")

    @staticmethod
    def _array(make: type, item: _Convert) -> _Convert:
        def convert(value: Any) -> Any:
            if type(value) is not list:
                raise _got("array", value)
            out = []
            for index, x in enumerate(value):
                try:
                    out.append(item(x))
                except _Shape as exc:
                    exc.path.append(f"[{index}]")
                    raise
            return out if make is list else make(out)

        return convert

    @staticmethod
    def _tuple(items: list[_Convert]) -> _Convert:
        def convert(value: Any) -> Any:
            if type(value) is not list:
                raise _got("array", value)
            if len(value) != len(items):
                raise _Shape(f"Expected `array` of length {len(items)}, got {len(value)}")
            out = []
            for index, (item, x) in enumerate(zip(items, value, strict=True)):
                try:
                    out.append(item(x))
                except _Shape as exc:
                    exc.path.append(f"[{index}]")
                    raise
            return tuple(out)

        return convert

    @staticmethod
    def _dict(key: _Convert, item: _Convert) -> _Convert:
        def convert(value: Any) -> Any:
            if type(value) is not dict:
                raise _got("object", value)
            try:
                return {key(k): item(v) for k, v in value.items()}
            except _Shape as exc:
                exc.path.append("[...]")
                raise

        return convert

    def _object(self, t: Any) -> _Convert:
        cls = t.cls
        known = self.objects.get(cls)
        if known is not None:
            return known
        later: list[_Convert] = []
        self.objects[cls] = lambda value: later[0](value)
        fields = [(f.encode_name, f.name, self.compile(f.type), f.required, f.default, f.default_factory) for f in t.fields]
        names = {f.encode_name for f in t.fields}
        if type(t) is _mi.StructType:
            tag_field, tag, forbid = t.tag_field, t.tag, t.forbid_unknown_fields

            def convert(value: Any) -> Any:
                if type(value) is not dict:
                    raise _got("object", value)
                kwargs = {}
                for key, name, item, required, _, _ in fields:
                    if key in value:
                        try:
                            kwargs[name] = item(value[key])
                        except _Shape as exc:
                            exc.path.append(f".{key}")
                            raise
                    elif required:
                        raise _Shape(f"Object missing required field `{key}`")
                if tag_field is not None and value.get(tag_field, tag) != tag:
                    raise _Shape(f"Invalid value {value[tag_field]!r}", f".{tag_field}")
                if forbid:
                    for key in value:
                        if key not in names and key != tag_field:
                            raise _Shape(f"Object contains unknown field `{key}`")
                return cls(**kwargs)  # a struct's constructor checks no Meta rule; it runs __post_init__, as msgspec does
        else:
            post_init = getattr(cls, "__post_init__", None)
            setter = object.__setattr__

            def convert(value: Any) -> Any:
                if type(value) is not dict:
                    raise _got("object", value)
                made = object.__new__(cls)
                for key, name, item, required, default, factory in fields:
                    if key in value:
                        try:
                            setter(made, name, item(value[key]))
                        except _Shape as exc:
                            exc.path.append(f".{key}")
                            raise
                    elif required:
                        raise _Shape(f"Object missing required field `{key}`")
                    else:
                        setter(made, name, default if factory is msgspec.NODEFAULT else factory())
                if post_init is not None:
                    try:
                        made.__post_init__()
                    except (TypeError, ValueError) as exc:  # msgspec's refusal of what __post_init__ refuses
                        raise _Shape(str(exc)) from None
                return made

        later.append(convert)
        self.objects[cls] = convert
        return convert

    def _union(self, t: Any) -> _Convert:
        members = [_bare(m) for m in t.types]
        by_type: dict[type, _Convert] = {}
        """A JSON value's type → the converter of the one member that takes it (msgspec's rule for unions)."""
        literals: dict[tuple[type, Any], Any] = {}
        parsed: list[_Convert] = []
        objects = [m for m in members if isinstance(m, _mi.StructType | _mi.DataclassType | _mi.DictType)]
        for m in members:
            kind = type(m)
            if kind is _mi.LiteralType:
                literals.update(((type(v), v), v) for v in m.values)
            elif kind in _SCALARS and kind is not _mi.AnyType:
                by_type[{_mi.StrType: str, _mi.IntType: int, _mi.BoolType: bool, _mi.NoneType: type(None),
                         _mi.FloatType: float}[kind]] = _SCALARS[kind]
            elif kind in _ARRAYS or kind is _mi.TupleType:
                by_type[list] = self.compile(m)
            elif kind in _PARSED or kind is _mi.EnumType:
                parsed.append(self.compile(m))
            elif m not in objects:
                raise _Unsupported(f"no lenient conversion of {t!r}")
        if float in by_type and int not in by_type:
            by_type[int] = _float
        if len(objects) == 1:
            by_type[dict] = self.compile(objects[0])
        elif objects:
            by_type[dict] = self._tagged(t, objects)
        expected = " | ".join(_expected_name(m) for m in members)

        def convert(value: Any) -> Any:
            tp = type(value)
            if literals and (tp is str or tp is int) and (tp, value) in literals:
                return value
            item = by_type.get(tp)
            if item is not None:
                return item(value)
            for parse in parsed:
                try:
                    return parse(value)
                except _Shape:
                    continue
            raise _got(expected, value)

        return convert

    def _tagged(self, t: Any, objects: list[Any]) -> _Convert:
        tag_fields = {getattr(m, "tag_field", None) for m in objects}
        tag_field = tag_fields.pop() if len(tag_fields) == 1 else None
        if tag_field is None:
            raise _Unsupported(f"no lenient conversion of {t!r}: several object types and no tag")
        by_tag = {m.tag: self.compile(m) for m in objects}

        def convert(value: Any) -> Any:
            tag = value.get(tag_field, _MISSING)
            if tag is _MISSING:
                raise _Shape(f"Object missing required field `{tag_field}`")
            item = by_tag.get(tag) if type(tag) in (str, int) else None
            if item is None:
                raise _Shape(f"Invalid value {tag!r}", f".{tag_field}")
            return item(value)

        return convert


def _bare(t: Any) -> Any:
    while isinstance(t, _mi.Metadata):
        t = t.type
    return t


def _expected_name(t: Any) -> str:
    kind = type(t)
    if kind in (_mi.StructType, _mi.DataclassType, _mi.DictType):
        return "object"
    if kind in _ARRAYS or kind is _mi.TupleType:
        return "array"
    if kind is _mi.NoneType:
        return "null"
    return kind.__name__.removesuffix("Type").lower()
