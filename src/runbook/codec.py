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
import sys
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

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.path: list[str] = []  # filled while the error travels up: [".source", ".line"]

    def __str__(self) -> str:
        return f"${''.join(self.path)}: {self.reason}"


def to_json(obj: object, *, omit_defaults: bool = False) -> JSONValue:
    """Turn a dataclass tree (tuples, enums, dates, paths, dicts) into plain JSON values.

    ``omit_defaults`` leaves out fields equal to their default (compact storage; decoding
    fills them back in).
    """
    if isinstance(obj, enum.Enum):  # first: StrEnum members are also str
        return obj.value
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out: dict[str, JSONValue] = {}
        for name, default in _defaults(type(obj)):
            value = getattr(obj, name)
            if omit_defaults and default is not _NO_DEFAULT and value == default:
                continue
            out[name] = to_json(value, omit_defaults=omit_defaults)
        return out
    if isinstance(obj, (tuple, list)):
        return [to_json(v, omit_defaults=omit_defaults) for v in obj]
    if isinstance(obj, (set, frozenset)):
        # Sets have no order; sort their encodings so output is deterministic.
        return sorted((to_json(v, omit_defaults=omit_defaults) for v in obj), key=repr)
    if isinstance(obj, dict):
        return {
            str(k.value if isinstance(k, enum.Enum) else k): to_json(v, omit_defaults=omit_defaults)
            for k, v in obj.items()
        }
    if isinstance(obj, datetime):  # before date: datetime is a date subclass
        return obj.isoformat()
    if isinstance(obj, date):
        return obj.isoformat()
    if isinstance(obj, PurePath):
        return obj.as_posix()
    raise CodecError(f"cannot encode {type(obj).__name__}")


_NO_DEFAULT = object()


@cache
def _defaults(cls: type) -> tuple[tuple[str, Any], ...]:
    # (field name, default value or _NO_DEFAULT) in declaration order; factories run once.
    out: list[tuple[str, Any]] = []
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            out.append((f.name, f.default))
        elif f.default_factory is not dataclasses.MISSING:
            out.append((f.name, f.default_factory()))
        else:
            out.append((f.name, _NO_DEFAULT))
    return tuple(out)


def from_json(tp: type[T], data: JSONValue) -> T:
    """Build a value of type ``tp`` from JSON data produced by ``to_json``."""
    return cast(T, _decoder(cast(Any, tp))(data))


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def type_hints(cls: type) -> dict[str, Any]:
    """Resolved field types of a dataclass (cached)."""
    return dict(_hints(cls))


# Decoders are compiled once per type into closures: the cache decodes 100k files per run,
# and re-inspecting type hints for every value made that the slowest part of a warm run.
Decoder = Callable[[Any], Any]


def _at(exc: CodecError, segment: str) -> CodecError:
    exc.path.insert(0, segment)
    return exc


@cache
def _decoder(tp: Any) -> Decoder:
    if tp is Any or tp is object:
        return _identity
    if tp is type(None) or tp is None:
        return _decode_none
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        return _union_decoder(typing.get_args(tp))
    if origin in (tuple, list, set, frozenset):
        return _sequence_decoder(tp, origin)
    if origin is dict:
        return _dict_decoder(*typing.get_args(tp))
    if origin is typing.Literal:
        return _literal_decoder(typing.get_args(tp))
    if isinstance(tp, type):
        return _class_decoder(tp)
    raise CodecError(f"unsupported type {tp!r}")


def _identity(data: Any) -> Any:
    return data


def _decode_none(data: Any) -> None:
    if data is not None:
        raise CodecError("expected null")


def _union_decoder(arms: tuple[Any, ...]) -> Decoder:
    concrete = [a for a in arms if a is not type(None)]
    nullable = len(concrete) < len(arms)
    if len(concrete) == 1:
        inner = _decoder(concrete[0])

        def optional(data: Any) -> Any:
            return None if data is None and nullable else inner(data)

        return optional
    decoders = [_decoder(a) for a in concrete]

    def union(data: Any) -> Any:
        if data is None and nullable:
            return None
        reasons: list[str] = []
        for dec in decoders:
            try:
                return dec(data)
            except CodecError as exc:
                reasons.append(str(exc))
        raise CodecError(f"matches no member of the union ({'; '.join(reasons)})")

    return union


def _sequence_decoder(tp: Any, origin: Any) -> Decoder:
    args = typing.get_args(tp)
    if origin is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
        parts = [_decoder(a) for a in args]

        def fixed(data: Any) -> Any:
            if type(data) is not list:
                raise CodecError("expected array")
            if len(parts) != len(data):
                raise CodecError(f"expected {len(parts)} items, got {len(data)}")
            out = []
            for i, (dec, v) in enumerate(zip(parts, data, strict=True)):
                try:
                    out.append(dec(v))
                except CodecError as exc:
                    raise _at(exc, f"[{i}]") from None
            return tuple(out)

        return fixed
    item = _decoder(args[0] if args else Any)
    builder: Callable[[Any], Any] = origin

    def sequence(data: Any) -> Any:
        if type(data) is not list:
            raise CodecError("expected array")
        try:
            return builder(map(item, data))
        except CodecError as exc:
            for i, v in enumerate(data):  # slow path, only to name the failing index
                try:
                    item(v)
                except CodecError:
                    raise _at(exc, f"[{i}]") from None
            raise

    return sequence


def _dict_decoder(key_t: Any, val_t: Any) -> Decoder:
    key, val = _decoder(key_t), _decoder(val_t)

    def mapping(data: Any) -> Any:
        if type(data) is not dict:
            raise CodecError("expected object")
        out = {}
        for k, v in data.items():
            try:
                out[key(k)] = val(v)
            except CodecError as exc:
                raise _at(exc, f".{k}") from None
        return out

    return mapping


def _literal_decoder(allowed: tuple[Any, ...]) -> Decoder:
    def literal(data: Any) -> Any:
        if data not in allowed:
            raise CodecError(f"{data!r} not allowed")
        return data

    return literal


# Decoded evidence repeats short strings in every record (paths in each SourceRef, command
# origins, tags, environments): sharing one object per value halves a 100k-file corpus.
_INTERN_MAX = 256


def _decode_str(data: Any) -> Any:
    if type(data) is not str:
        raise CodecError("expected str")
    return sys.intern(data) if len(data) <= _INTERN_MAX else data


def _scalar_decoder(tp: type, accepted: tuple[type, ...]) -> Decoder:
    def scalar(data: Any) -> Any:
        if type(data) not in accepted:  # exact: bool is not an int here
            raise CodecError(f"expected {tp.__name__}")
        return tp(data) if type(data) is not tp else data

    return scalar


def _class_decoder(tp: type) -> Decoder:
    if tp is bool:
        return _scalar_decoder(bool, (bool,))
    if tp is str:
        return _decode_str
    if tp is int:
        return _scalar_decoder(int, (int,))
    if tp is float:
        # JSON writes 2.0 as 2.0 but hand-written data may say 2
        return _scalar_decoder(float, (float, int))
    if issubclass(tp, enum.Enum):
        enum_t: Any = tp

        def member(data: Any) -> Any:
            try:
                return enum_t(data)
            except (ValueError, TypeError) as exc:
                raise CodecError(f"{data!r} is not a {tp.__name__}") from exc

        return member
    if dataclasses.is_dataclass(tp):
        return _dataclass_decoder(tp)
    if issubclass(tp, datetime):
        return _iso_decoder(datetime.fromisoformat, allow_time=True)
    if issubclass(tp, date):
        return _iso_decoder(date.fromisoformat, allow_time=False)
    if issubclass(tp, PurePath):
        path_t: Callable[[str], Any] = Path if tp is PurePath else tp

        def path(data: Any) -> Any:
            if type(data) is not str:
                raise CodecError("expected path string")
            return path_t(data)

        return path
    raise CodecError(f"unsupported type {tp.__name__}")


def _iso_decoder(parse: Callable[[str], Any], *, allow_time: bool) -> Decoder:
    def iso(data: Any) -> Any:
        if type(data) is not str:
            raise CodecError("expected ISO string")
        if not allow_time and "T" in data:
            raise CodecError("expected a date, got a datetime")
        try:
            return parse(data)
        except ValueError as exc:
            raise CodecError(str(exc)) from None

    return iso


def _dataclass_decoder(tp: type) -> Decoder:
    # The field plan is built on first use, so self-referencing dataclasses cannot recurse
    # forever while their decoder is being compiled.
    plan: list[tuple[str, Decoder, bool]] = []
    names: frozenset[str] = frozenset()

    def build(data: Any) -> Any:
        nonlocal names
        if not names:
            hints = _hints(tp)
            for f in dataclasses.fields(tp):
                if f.init:
                    required = (
                        f.default is dataclasses.MISSING
                        and f.default_factory is dataclasses.MISSING
                    )
                    plan.append((f.name, _decoder(hints[f.name]), required))
            names = frozenset(name for name, _, _ in plan)
        if type(data) is not dict:
            raise CodecError(f"expected object for {tp.__name__}")
        if not names.issuperset(data):
            unknown = ", ".join(sorted(str(k) for k in set(data) - names))
            raise CodecError(f"unknown field(s) for {tp.__name__}: {unknown}")
        kwargs: dict[str, Any] = {}
        for name, dec, required in plan:
            if name in data:
                try:
                    kwargs[name] = dec(data[name])
                except CodecError as exc:
                    raise _at(exc, f".{name}") from None
            elif required:
                raise CodecError(f"missing field {name!r} for {tp.__name__}")
        try:
            return tp(**kwargs)
        except (TypeError, ValueError) as exc:
            raise CodecError(f"cannot build {tp.__name__}: {exc}") from None

    return build
