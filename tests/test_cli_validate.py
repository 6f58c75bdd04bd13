"""`runbook validate` through click: exit codes, text / json / github formats, and the bundled
examples (generated runbooks and the hand-written one) with the findings the README shows."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from _examples import copy_example
from _validate_corpus import RUNBOOK, base_corpus, write_runbook
from click.testing import CliRunner

from runbook import api
from runbook.cli import main
from runbook.model import Finding, Metric, OperationType, RunbookValidation, ValidationReport
from runbook.validate import format_github

REPO = Path(__file__).resolve().parents[1]
HANDWRITTEN = REPO / "examples" / "handwritten" / "deploy-frontend.md"
ACME = REPO / "examples" / "acme-platform"
GITHUB_LINE = re.compile(
    r"^::(error|warning|notice) file=[^,:\n]+(?:,line=\d+)?,title=[^,:\n]+::[^\n]+$"
)


def run(args: list[str], now: str = "2025-12-28") -> tuple[int, str, str]:
    result = CliRunner().invoke(main, args, env={"RUNBOOK_NOW": now}, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


# ------------------------------------------------------------------ exit codes


def test_clean_runbook_exits_0(tmp_path: Path) -> None:
    path = write_runbook(tmp_path)
    code, out, err = run(["validate", str(path)], now="2025-10-20")
    assert (code, out) == (0, "")
    assert "0 errors, 0 warnings in 1 runbook" in err


def test_warnings_exit_0_unless_strict(tmp_path: Path) -> None:
    path = write_runbook(tmp_path)  # monthly review from 2025-10-05: overdue on 2025-12-01
    code, out, _ = run(["validate", str(path)], now="2025-12-01")
    assert code == 0 and "RB112 warning" in out
    code, _, _ = run(["validate", "--strict", str(path)], now="2025-12-01")
    assert code == 1


def test_error_findings_exit_1(tmp_path: Path) -> None:
    path = write_runbook(tmp_path, RUNBOOK.replace("make test", "make test\nrm -rf build/"))
    code, out, _ = run(["validate", str(path)], now="2025-10-20")
    assert code == 1
    line = (
        RUNBOOK.replace("make test", "make test\nrm -rf build/").split("\n").index("rm -rf build/")
    )
    assert f"deployment-billing-api.md:{line + 1}: RB107 error: destructive command (rm -rf)" in out


@pytest.mark.parametrize(
    "args",
    [
        ["validate"],
        ["validate", "no/such/runbook.md"],
        ["validate", "{runbook}", "--since", "last tuesday"],
        ["validate", "{runbook}", "--root", "no/such/dir"],
        ["validate", "{runbook}", "--format", "xml"],
        ["validate", "{runbook}", "--since", "2025-10-01"],  # --since without --root
    ],
)
def test_usage_and_input_errors_exit_2(tmp_path: Path, args: list[str]) -> None:
    path = write_runbook(tmp_path)
    code, out, _ = run([a.replace("{runbook}", str(path)) for a in args])
    assert code == 2 and out == ""


def test_a_folder_is_searched_for_runbooks(tmp_path: Path) -> None:
    write_runbook(tmp_path)
    (tmp_path / "runbooks" / "other.md").write_text("# Runbook: Scaling - api\n", encoding="utf-8")
    code, out, err = run(["validate", str(tmp_path / "runbooks")], now="2025-10-20")
    assert code == 1  # other.md has no procedure at all
    assert "in 2 runbooks" in err and "other.md:1: RB101 error" in out


# ------------------------------------------------------------------ formats


def test_github_format_matches_the_annotation_syntax(tmp_path: Path) -> None:
    base_corpus(tmp_path)
    path = write_runbook(tmp_path)
    code, out, _ = run(
        ["validate", str(path), "--root", str(tmp_path), "--format", "github"], now="2025-12-01"
    )
    assert code == 0
    lines = out.strip().split("\n")
    assert lines and all(GITHUB_LINE.match(line) for line in lines), out
    assert any(line.startswith("::warning ") and "title=RB112::" in line for line in lines)
    assert lines[-1].startswith("::notice ") and "title=runbook metrics::" in lines[-1]


def test_github_format_escapes_data_and_properties() -> None:
    finding = Finding("RB105", "ambiguous-step", "error", "run,books/a:b.md", 7, "50% done\r\nnext")
    report = ValidationReport(
        runbooks=(
            RunbookValidation(
                "run,books/a:b.md", "t", OperationType.DEPLOYMENT, "", findings=(finding,)
            ),
        )
    )
    assert format_github(report) == (
        "::error file=run%2Cbooks/a%3Ab.md,line=7,title=RB105::50%25 done%0D%0Anext\n"
    )


def test_json_format_parses_and_carries_metrics(tmp_path: Path) -> None:
    base_corpus(tmp_path)
    path = write_runbook(tmp_path)
    code, out, _ = run(
        ["validate", str(path), "--root", str(tmp_path), "--format", "json", "--strict"],
        now="2025-12-01",
    )
    data = json.loads(out)
    assert code == 1 and data["exit_status"] == 1 and data["strict"] is True
    (runbook,) = data["runbooks"]
    assert runbook["operation_type"] == "deployment" and runbook["scope"] == "billing-api"
    assert {f["rule"] for f in runbook["findings"]} == {"RB112", "RB206"}
    by_name = {m["name"]: m for m in runbook["metrics"]}
    assert by_name["followed-success"]["value"] == 1.0
    assert by_name["troubleshooting-coverage"]["target"] == 0.8
    assert data["rules"]["RB107"]["name"] == "unguarded-destructive"


def test_text_format_prints_the_metrics_table(tmp_path: Path) -> None:
    base_corpus(tmp_path)
    path = write_runbook(tmp_path)
    code, out, _ = run(["validate", str(path), "--root", str(tmp_path)], now="2025-10-20")
    assert code == 0
    assert "success metrics (all 4 recorded runs (none newer))" in out
    assert re.search(r"runs that followed the runbook and succeeded\s+4/4\s+100 %", out)
    assert re.search(r"failures with a troubleshooting entry\s+0/0\s+n/a\s+≥ 80 %", out)


def test_metric_value_and_target() -> None:
    m = Metric("troubleshooting-coverage", "x", 4, 5, target=0.8)
    assert m.value == 0.8 and m.met is True
    assert Metric("x", "x", 0, 0, target=0.8).met is None


# ------------------------------------------------------------------ bundled examples


# The findings the README shows for examples/handwritten/deploy-frontend.md (RUNBOOK_NOW=2025-12-28).
HANDWRITTEN_FINDINGS = [
    (4, "RB112", "warning"),
    (51, "RB109", "warning"),
    (99, "RB106", "warning"),
    (99, "RB107", "error"),
    (110, "RB106", "warning"),
    (123, "RB108", "warning"),
    (130, "RB104", "warning"),
    (132, "RB105", "error"),
    (164, "RB108", "warning"),
    (198, "RB111", "error"),
]


def test_handwritten_example_gives_the_readme_findings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    code, out, err = run(["validate", "examples/handwritten/deploy-frontend.md"])
    assert code == 1
    found = [
        (int(m.group(1)), m.group(2), m.group(3))
        for m in re.finditer(
            r"^examples/handwritten/deploy-frontend\.md:(\d+): (RB\d+) (\w+):", out, re.M
        )
    ]
    assert found == HANDWRITTEN_FINDINGS
    assert "3 errors, 7 warnings in 1 runbook" in err


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The acme-platform example with its five runbooks generated into runbooks/."""
    root = tmp_path_factory.mktemp("acme") / "acme-platform"
    copy_example(ACME, root)
    from datetime import date

    for op, scope in (
        ("deployment", "lambda"),
        ("rollback", "lambda"),
        ("incident-response", "API timeout"),
        ("migration", "Aurora schema change"),
        ("scaling", "Aurora read replica addition"),
    ):
        result = api.generate(root, op, scope, today=date(2025, 12, 28))
        api.write_runbook(result, root / "runbooks", "md", False, root=root)
    return root


def test_generated_examples_follow_the_template(generated: Path) -> None:
    code, out, err = run(["validate", str(generated / "runbooks"), "--root", str(generated)])
    assert code == 0, out  # no error-level finding in any generated runbook
    assert "in 5 runbooks" in err
    # What the generator guarantees: the template's sections and header, a command in every
    # step, no ambiguous wording, no secret, links that resolve.
    for rule in ("RB101", "RB102", "RB104", "RB105", "RB107", "RB110", "RB111", "RB113"):
        assert f" {rule} " not in out, out
    assert out.count("success metrics (") == 5


def test_generated_deployment_runbook_parses_back(generated: Path) -> None:
    from runbook.runbook_parse import parse_runbook_file

    (path,) = (generated / "runbooks").glob("*-deployment-lambda.md")
    parsed = parse_runbook_file(path)
    assert parsed.operation_type is OperationType.DEPLOYMENT and parsed.scope == "lambda"
    assert parsed.marker == "unedited"
    assert 5 <= len(parsed.steps) <= 10
    assert all(step.commands for step in parsed.steps)
    assert all(step.expected_duration_s is not None for step in parsed.steps)
    assert parsed.rollback_steps and parsed.troubleshooting and parsed.checks
    assert parsed.last_validated is not None and parsed.estimated_duration_s is not None


def test_readme_transcript_of_the_handwritten_example(monkeypatch: pytest.MonkeyPatch) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    prompt = "$ RUNBOOK_NOW=2025-12-28 runbook validate examples/handwritten/deploy-frontend.md\n"
    assert prompt in readme
    shown = readme.split(prompt, 1)[1].split("\nrunbook: ", 1)[0] + "\n"
    monkeypatch.chdir(REPO)
    _code, out, err = run(["validate", "examples/handwritten/deploy-frontend.md"])
    assert shown == out
    assert readme.split(prompt, 1)[1].split("\n$ ", 1)[0].endswith(f"\n{err.strip()}")


def test_a_json_runbook_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "runbook.json"
    path.write_text("{}", encoding="utf-8")
    code, _, err = run(["validate", str(path)])
    assert code == 2 and "markdown" in err


def test_an_unreadable_file_is_a_finding_and_the_others_are_still_checked(tmp_path: Path) -> None:
    write_runbook(tmp_path)
    (tmp_path / "runbooks" / "blob.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    code, out, err = run(["validate", str(tmp_path / "runbooks")], now="2025-10-20")
    assert code == 1 and "blob.md:1: RB100 error: not a text file" in out
    assert "in 2 runbooks" in err
