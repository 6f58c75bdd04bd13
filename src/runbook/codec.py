"""Typed dataclass <-> JSON codec, driven by the dataclasses' own type hints.

Used for the evidence cache and for JSON output. Never pickle: the cache lives inside the
evidence root, which may be an untrusted repository, so decoding must only ever build the
types we name. Decoding is strict (unknown fields, wrong types and bad enum values raise
``CodecError``) so a stale or tampered cache entry is rejected rather than half-trusted.

Example: ``to_json(SourceRef("a.md", 3))`` -> ``{"path": "a.md", "line": 3}``.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Callable
from datetime import date, datetime
from functools import cache
from pathlib import Path, PurePath
from typing import Any, TypeVar, cast

T = TypeVar("T")

JSONValue = Any  # str | int | float | bool | None | list[JSONValue] | dict[str, JSONValue]


class CodecError(ValueError):
    """Data that does not fit the requested type (message names the JSON path)."""


def to_json(obj: object) -> JSONValue:
    """Turn a dataclass tree (tuples, enums, dates, paths, dicts) into plain JSON values."""
    if isinstance(obj, enum.Enum):  # first: StrEnum members are also str
        return obj.value
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_json(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (tuple, list)):
        return [to_json(v) for v in obj]
    if isinstance(obj, (set, frozenset)):
        # Sets have no order; sort their encodings so output is deterministic.
        return sorted((to_json(v) for v in obj), key=repr)
    if isinstance(obj, dict):
        return {str(k.value if isinstance(k, enum.Enum) else k): to_json(v) for k, v in obj.items()}
    if isinstance(obj, datetime):  # before date: datetime is a date subclass
        return obj.isoformat()
    if isinstance(obj, date):
        return obj.isoformat()
    if isinstance(obj, PurePath):
        return obj.as_posix()
    raise CodecError(f"cannot encode {type(obj).__name__}")


def from_json(tp: type[T], data: JSONValue) -> T:
    """Build a value of type ``tp`` from JSON data produced by ``to_json``."""
    return cast(T, _decode(tp, data, "$"))


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def type_hints(cls: type) -> dict[str, Any]:
    """Resolved field types of a dataclass (cached)."""
    return dict(_hints(cls))


def _decode(tp: Any, data: JSONValue, where: str) -> Any:
    if tp is Any or tp is object:
        return data
    if tp is type(None) or tp is None:
        if data is not None:
            raise CodecError(f"{where}: expected null")
        return None
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        return _decode_union(typing.get_args(tp), data, where)
    if origin in (tuple, list, set, frozenset):
        return _decode_sequence(tp, origin, data, where)
    if origin is dict:
        key_t, val_t = typing.get_args(tp)
        if not isinstance(data, dict):
            raise CodecError(f"{where}: expected object")
        return {
            _decode(key_t, k, f"{where}.{k}"): _decode(val_t, v, f"{where}.{k}")
            for k, v in data.items()
        }
    if origin is typing.Literal:
        if data not in typing.get_args(tp):
            raise CodecError(f"{where}: {data!r} not allowed")
        return data
    if isinstance(tp, type):
        return _decode_class(tp, data, where)
    raise CodecError(f"{where}: unsupported type {tp!r}")


def _decode_union(arms: tuple[Any, ...], data: JSONValue, where: str) -> Any:
    if data is None and type(None) in arms:
        return None
    errors: list[str] = []
    for arm in arms:
        if arm is type(None):
            continue
        try:
            return _decode(arm, data, where)
        except CodecError as exc:
            errors.append(str(exc))
    raise CodecError(f"{where}: matches no member of the union ({'; '.join(errors)})")


def _decode_sequence(tp: Any, origin: Any, data: JSONValue, where: str) -> Any:
    if not isinstance(data, list):
        raise CodecError(f"{where}: expected array")
    args = typing.get_args(tp)
    if origin is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
        if len(args) != len(data):
            raise CodecError(f"{where}: expected {len(args)} items, got {len(data)}")
        return tuple(
            _decode(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, data, strict=True))
        )
    item_t = args[0] if args else Any
    items = [_decode(item_t, v, f"{where}[{i}]") for i, v in enumerate(data)]
    builder: Callable[[list[Any]], Any] = origin
    return builder(items)


_SCALARS: dict[type, tuple[type, ...]] = {
    str: (str,),
    int: (int,),
    float: (float, int),  # JSON writes 2.0 as 2.0 but hand-written data may say 2
}


def _decode_class(tp: type, data: JSONValue, where: str) -> Any:
    if tp is bool:
        if not isinstance(data, bool):
            raise CodecError(f"{where}: expected boolean")
        return data
    if tp in _SCALARS:
        if isinstance(data, bool) or not isinstance(data, _SCALARS[tp]):
            raise CodecError(f"{where}: expected {tp.__name__}")
        return tp(data)
    if issubclass(tp, enum.Enum):
        try:
            return tp(data)
        except ValueError as exc:
            raise CodecError(f"{where}: {data!r} is not a {tp.__name__}") from exc
    if dataclasses.is_dataclass(tp):
        return _decode_dataclass(tp, data, where)
    if issubclass(tp, datetime):
        return _parse_iso(datetime.fromisoformat, data, where)
    if issubclass(tp, date):
        if isinstance(data, str) and "T" in data:
            raise CodecError(f"{where}: expected a date, got a datetime")
        return _parse_iso(date.fromisoformat, data, where)
    if issubclass(tp, PurePath):
        if not isinstance(data, str):
            raise CodecError(f"{where}: expected path string")
        return Path(data) if tp is PurePath else tp(data)
    raise CodecError(f"{where}: unsupported type {tp.__name__}")


def _parse_iso(parse: Callable[[str], Any], data: JSONValue, where: str) -> Any:
    if not isinstance(data, str):
        raise CodecError(f"{where}: expected ISO string")
    try:
        return parse(data)
    except ValueError as exc:
        raise CodecError(f"{where}: {exc}") from exc


def _decode_dataclass(tp: type, data: JSONValue, where: str) -> Any:
    if not isinstance(data, dict):
        raise CodecError(f"{where}: expected object for {tp.__name__}")
    hints = _hints(tp)
    fields = {f.name: f for f in dataclasses.fields(tp) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise CodecError(f"{where}: unknown field(s) for {tp.__name__}: {', '.join(unknown)}")
    kwargs: dict[str, Any] = {}
    for name, f in fields.items():
        if name in data:
            kwargs[name] = _decode(hints[name], data[name], f"{where}.{name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise CodecError(f"{where}: missing field {name!r} for {tp.__name__}")
    try:
        return tp(**kwargs)
    except (TypeError, ValueError) as exc:
        raise CodecError(f"{where}: cannot build {tp.__name__}: {exc}") from exc
