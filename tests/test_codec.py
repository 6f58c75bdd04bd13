from __future__ import annotations

import dataclasses
import enum
import json
import types
import typing
from datetime import date, datetime
from pathlib import Path, PurePath
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runbook import model
from runbook.codec import CodecError, from_json, to_json, type_hints
from runbook.model import (
    Command,
    EvidenceKind,
    Execution,
    Journal,
    ObservationMode,
    Outcome,
    ParsedFile,
    Skipped,
    SourceRef,
)

MODEL_CLASSES = sorted(
    (
        obj
        for obj in vars(model).values()
        if isinstance(obj, type)
        and dataclasses.is_dataclass(obj)
        and obj.__module__ == model.__name__
    ),
    key=lambda c: c.__name__,
)


def strategy_for(tp: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    """A strategy for any type the model uses, built from its type hints."""
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        return st.one_of(*(strategy_for(a, depth) for a in typing.get_args(tp)))
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return st.lists(strategy_for(args[0], depth + 1), max_size=0 if depth > 2 else 2).map(
                tuple
            )
        return st.tuples(*(strategy_for(a, depth + 1) for a in args))
    if tp is type(None):
        return st.none()
    if tp is bool:
        return st.booleans()
    if tp is int:
        return st.integers(-(2**40), 2**40)
    if tp is float:
        return st.floats(allow_nan=False, allow_infinity=False)
    if tp is str:
        return st.text(max_size=12)
    if tp is datetime:
        return st.datetimes()
    if tp is date:
        return st.dates()
    if isinstance(tp, type) and issubclass(tp, PurePath):
        return st.from_regex(r"[a-z]{1,5}(/[a-z]{1,5}){0,2}", fullmatch=True).map(Path)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return st.sampled_from(list(tp))
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = type_hints(tp)
        return st.builds(
            tp, **{f.name: strategy_for(hints[f.name], depth + 1) for f in dataclasses.fields(tp)}
        )
    raise AssertionError(f"no strategy for {tp!r}")


@pytest.mark.parametrize("cls", MODEL_CLASSES, ids=lambda c: c.__name__)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_model_dataclass_round_trips(cls: type, data: st.DataObject) -> None:
    value = data.draw(strategy_for(cls))
    encoded = json.loads(json.dumps(to_json(value)))
    assert from_json(cls, encoded) == value
    compact = json.loads(json.dumps(to_json(value, omit_defaults=True)))
    assert from_json(cls, compact) == value


def test_explicit_sample_round_trip_and_shape() -> None:
    ex = Execution(
        id="e1",
        source=SourceRef(".claude/observations/2025-12-23/execution-143052-deploy.md", 1),
        kind=EvidenceKind.OBSERVATION,
        mode=ObservationMode.EXECUTION,
        started_at=datetime(2025, 12, 23, 14, 30, 52),
        outcome=Outcome.SUCCESS,
        commands=(Command("aws lambda update-function-code", SourceRef("x.md", 3), exit_code=0),),
        tags=("lambda", "deploy"),
    )
    pf = ParsedFile("x.md", EvidenceKind.OBSERVATION, executions=(ex,))
    data = to_json(pf)
    assert data["kind"] == "observation"
    assert data["executions"][0]["started_at"] == "2025-12-23T14:30:52"
    assert data["executions"][0]["tags"] == ["lambda", "deploy"]
    assert from_json(ParsedFile, data) == pf
    j = Journal("j", SourceRef("j.md"), "error", date=date(2025, 1, 2))
    assert to_json(j)["date"] == "2025-01-02"
    assert from_json(Journal, to_json(j)) == j


def test_defaults_fill_missing_fields() -> None:
    assert from_json(SourceRef, {"path": "a.md"}) == SourceRef("a.md", 0)
    assert to_json(SourceRef("a.md", 0), omit_defaults=True) == {"path": "a.md"}
    assert to_json(SourceRef("a.md", 3), omit_defaults=True) == {"path": "a.md", "line": 3}


@pytest.mark.parametrize(
    ("tp", "data", "fragment"),
    [
        (SourceRef, {"path": "a", "line": "3"}, "$.line: expected int"),
        (SourceRef, {"path": "a", "evil": 1}, "unknown field"),
        (SourceRef, {"line": 3}, "missing field 'path'"),
        (SourceRef, ["a", 3], "expected object"),
        (Skipped, {"path": "a", "reason": True}, "expected str"),
        (Execution, {"id": "x", "source": {"path": "a"}, "kind": "nope"}, "not a EvidenceKind"),
        (Command, {"text": "ls", "source": {"path": "a"}, "started_at": "yesterday"}, "started_at"),
        (Command, {"text": "ls", "source": {"path": "a"}, "exit_code": True}, "exit_code"),
        (
            Journal,
            {"id": "j", "source": {"path": "a"}, "category": "e", "date": "2025-01-02T03:04:05"},
            "date",
        ),
    ],
)
def test_bad_data_is_rejected(tp: type, data: Any, fragment: str) -> None:
    with pytest.raises(CodecError, match=None) as info:
        from_json(tp, data)
    assert fragment in str(info.value)


def test_never_builds_arbitrary_types() -> None:
    # The payload names no types: only what the caller asks for can come out.
    hostile = {"path": {"__class__": "os.system", "args": ["rm -rf /"]}, "reason": "x"}
    with pytest.raises(CodecError):
        from_json(Skipped, hostile)
