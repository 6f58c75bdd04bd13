"""JSON schema_version 1: every field of the issue's list is present with the right type."""

from __future__ import annotations

import json
from typing import Any

import pytest
from _assemble_fixtures import ALARM, make_runbook
from _golden import check_golden

from runbook.render.json import render_json

STR, INT, NUM, BOOL, LIST, DICT = str, int, (int, float), bool, list, dict
OPT_STR = (str, type(None))
OPT_NUM = (int, float, type(None))

# The field list of the generate issue, copied: name -> type (or nested schema).
TOP: dict[str, Any] = {
    "schema_version": INT,
    "title": STR,
    "operation_type": STR,
    "scope": STR,
    "generated": STR,
    "last_validated": OPT_STR,
    "owner": STR,
    "review_frequency": STR,
    "estimated_duration": {"median_seconds": OPT_NUM, "p90_seconds": OPT_NUM, "runs": INT},
    "sources": [{"path": STR, "kind": STR, "date": OPT_STR, "outcome": STR, "sha256": STR}],
    "prerequisites": {"environment": [STR], "pre_checks": [STR], "tools": [STR], "access": [STR]},
    "steps": [
        {
            "number": INT,
            "name": STR,
            "title": STR,
            "purpose": STR,
            "commands": [STR],
            "parameters": [{"name": STR, "examples": [STR]}],
            "expected_output": STR,
            "duration": ("nullable", {"median_seconds": NUM, "p90_seconds": OPT_NUM}),
            "verification": ("nullable", {"command": STR, "expected": STR}),
            "if_failed": [STR],
            "support": {"runs": INT, "of": INT},
            "optional": BOOL,
            "evidence": [STR],
        }
    ],
    "verification_checks": [{"title": STR, "command": STR, "expected": STR, "if_failed": STR}],
    "rollback": {
        "when": [STR],
        "decision_matrix": [{"condition": STR, "action": STR}],
        "steps": [{"title": STR, "commands": [STR], "verification": STR}],
        "provenance": STR,
    },
    "monitoring": {
        "watch": [STR],
        "alert_thresholds": [
            {"metric": STR, "warning": STR, "critical": STR, "action": STR, "provenance": STR}
        ],
    },
    "troubleshooting": [
        {
            "title": STR,
            "signature": STR,
            "symptoms": [STR],
            "cause": STR,
            "solution": [STR],
            "solution_note": STR,
            "prevention": STR,
            "occurrences": INT,
            "evidence": [STR],
        }
    ],
    "related": [{"path": STR, "kind": STR}],
}


def validate(value: Any, schema: Any, where: str = "$") -> None:
    """Assert ``value`` matches ``schema`` exactly (no missing or extra keys)."""
    if isinstance(schema, tuple) and schema and schema[0] == "nullable":
        if value is not None:
            validate(value, schema[1], where)
        return
    if isinstance(schema, dict):
        assert isinstance(value, dict), where
        assert list(value) == list(schema), f"{where}: keys {list(value)} != {list(schema)}"
        for key, sub in schema.items():
            validate(value[key], sub, f"{where}.{key}")
    elif isinstance(schema, list):
        assert isinstance(value, list), where
        for i, item in enumerate(value):
            validate(item, schema[0], f"{where}[{i}]")
    else:
        if schema is INT:
            assert isinstance(value, int) and not isinstance(value, bool), where
        elif schema is NUM or schema is OPT_NUM:
            assert not isinstance(value, bool) and isinstance(value, schema), where
        else:
            assert isinstance(value, schema), f"{where}: {value!r}"


@pytest.mark.parametrize("alarms", [(), (ALARM,)])
def test_every_field_present_with_the_right_type(alarms: tuple[Any, ...]) -> None:
    doc = json.loads(render_json(make_runbook(alarms=alarms)))
    validate(doc, TOP)
    assert doc["schema_version"] == 1
    # Every list in the schema is exercised by the fixture, so item types were checked.
    assert doc["steps"] and doc["troubleshooting"] and doc["rollback"]["steps"]
    assert doc["sources"] and doc["related"] and doc["verification_checks"]


def test_values_and_conventions() -> None:
    text = render_json(make_runbook())
    assert text.endswith("}\n")
    doc = json.loads(text)
    step = doc["steps"][3]
    assert "{image-uri}" in step["commands"][0]
    assert all(":" in e for e in step["evidence"])
    assert step["support"] == {"runs": 11, "of": 11}
    assert doc["steps"][5]["duration"] is None
    assert doc["steps"][0]["verification"] is None
    assert doc["operation_type"] == "deployment"
    assert doc["rollback"]["provenance"] == "derived — never observed"  # ensure_ascii=False
    assert any(p.endswith("(default)") for p in doc["prerequisites"]["pre_checks"])


def test_golden_json(request: pytest.FixtureRequest) -> None:
    check_golden(request, "fixture-deployment-lambda.json", render_json(make_runbook()))
