"""Scenario specs: the shipped set covers the issue's matrix; bad specs are refused clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.spec import OPERATION_TYPES, SpecError, load_scenario, load_scenarios, parse_scenario


def _minimal(**extra: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": "t",
        "operation_type": "deployment",
        "vars": {"version": {"kind": "semver"}},
        "steps": [
            {"id": "a", "command": "make build VERSION={version}"},
            {"id": "b", "command": "make push VERSION={version}"},
            {"id": "c", "command": "make deploy"},
        ],
    }
    data.update(extra)
    return data


def test_shipped_scenarios_cover_types_and_stacks() -> None:
    scenarios = load_scenarios()
    assert len(scenarios) >= 8
    assert {s.operation_type for s in scenarios} == set(OPERATION_TYPES)
    assert len({s.stack for s in scenarios}) >= 3
    for s in scenarios:
        assert 5 <= len(s.steps) <= 10, s.name
        assert s.failures, s.name
        assert any(v.secret for v in s.vars) or s.noise.extra, s.name
        assert any(st.optional for st in s.steps), s.name
        assert any(st.verify for st in s.steps), s.name


def test_minimal_spec_parses_with_defaults() -> None:
    sc = parse_scenario(_minimal(), "mem")
    assert [s.id for s in sc.steps] == ["a", "b", "c"]
    assert sc.var_names == frozenset({"version"})
    assert sc.steps[0].action.duration.median == 2.0
    assert not sc.steps[0].optional


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"operation_type": "deploy"}, "unknown operation_type"),
        ({"swaps": [["a", "zz"]]}, "unknown step"),
        ({"swaps": [["a", "c"]]}, "adjacent"),
        (
            {"failures": [{"id": "f", "step": "zz", "error": "x", "probability": 0.1}]},
            "unknown step",
        ),
        ({"vars": {"version": {"kind": "nope"}}}, "unknown kind"),
        (
            {
                "steps": [
                    {"id": "a", "command": "x {typo}"},
                    {"id": "b", "command": "y"},
                    {"id": "c", "command": "z"},
                ]
            },
            "undeclared",
        ),
        (
            {
                "steps": [
                    {"id": "a", "command": "x"},
                    {"id": "b", "command": "x"},
                    {"id": "c", "command": "z"},
                ]
            },
            "share a command",
        ),
        ({"steps": [{"id": "a", "command": "x"}]}, "at least 3 steps"),
        ({"authors": [{"name": "x", "style": "nope"}]}, "authors need"),
    ],
)
def test_bad_specs_are_refused(change: dict[str, object], message: str) -> None:
    with pytest.raises(SpecError, match=message):
        parse_scenario(_minimal(**change), "mem.yaml")


def test_unreadable_yaml_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(SpecError, match=r"bad\.yaml"):
        load_scenario(bad)


def test_unknown_scenario_name_lists_known() -> None:
    with pytest.raises(SpecError, match="lambda-deploy"):
        load_scenarios(["no-such-scenario"])
