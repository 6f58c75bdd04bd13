"""`runbook generate` / shorthand through click: outputs, refusals (exit 2), no-overwrite."""

from __future__ import annotations

import json
import re
import shutil
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from runbook.api import output_filename, slug_for
from runbook.cli import main
from runbook.model import OperationType

NOW = {"RUNBOOK_NOW": "2025-12-28"}


def observation(root: Path, day: int, tag: str, *, env: str = "prod", extra: str = "") -> Path:
    """Write one execution observation of a Kubernetes deployment of billing-api."""
    when = f"2025-11-{day:02d}"
    path = (
        root
        / ".claude"
        / "observations"
        / when
        / f"execution-10{day:02d}00-deployment-billing-api.md"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    calls = [
        (
            "docker build -t registry.example.com/billing-api:{tag} .",
            "Successfully built 3f2a\nSuccessfully tagged registry.example.com/billing-api:{tag}",
            "48s",
        ),
        (
            "docker push registry.example.com/billing-api:{tag}",
            "{tag}: digest: sha256:" + "b" * 64 + " size: 2204",
            "21s",
        ),
        (
            "kubectl set image deployment/billing-api billing-api=registry.example.com/billing-api:{tag} -n billing",
            "deployment.apps/billing-api image updated",
            "1s",
        ),
        (
            "kubectl rollout status deployment/billing-api -n billing --timeout=300s",
            'deployment "billing-api" successfully rolled out',
            "64s",
        ),
        ("curl -fsS https://billing.example.com/healthz", '{"status":"ok"}', "1s"),
    ]
    blocks = []
    minute = 0
    for text, output, duration in calls:
        blocks.append(
            f"### Bash - {when}T10:{minute:02d}:00Z\n\n**Input**:\n```bash\n{text.replace('{tag}', tag)}\n```\n"
            f"**Output**:\n```\n{output.replace('{tag}', tag)}\n```\n\n**Exit Code**: 0\n**Duration**: {duration}\n"
        )
        minute += 2
    path.write_text(
        "---\nmode: execution\n"
        f'date: {when}\ntime: "10:00:00"\n'
        f'context: "Deploy billing-api {tag} to {env}"\n'
        f"tags: [deployment, billing-api, kubernetes, {env}]\n---\n\n"
        f"# Execution: billing-api {tag} → {env}\n\n## Context\n\nRoutine release of billing-api {tag}.\n{extra}\n"
        "## Tool Calls\n\n" + "\n".join(blocks),
        encoding="utf-8",
    )
    return path


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for day, tag in ((3, "v2.3.0"), (10, "v2.3.1"), (17, "v2.4.0"), (24, "v2.4.1")):
        observation(root, day, tag, env="staging" if day == 10 else "prod")
    return root


def run(args: list[str], root: Path | None = None) -> tuple[int, str, str]:
    runner = CliRunner()
    full = [*args, "--root", str(root)] if root is not None else args
    result = runner.invoke(main, full, env=NOW, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_generate_writes_the_dated_file(corpus: Path) -> None:
    code, out, err = run(["generate", "deployment", "billing-api"], corpus)
    assert code == 0, err
    assert out == ""  # stdout carries data only, and only with --stdout
    target = corpus / "runbooks" / "2025-12-28-deployment-billing-api.md"
    assert target.is_file()
    text = target.read_text(encoding="utf-8")
    assert text.startswith("# Runbook: Deployment - billing-api\n")
    assert "kubectl set image deployment/billing-api" in text
    assert "Mined 4 successful runs (4 observations)" in err
    assert "2025-12-28-deployment-billing-api.md" in err
    # Links are relative to runbooks/.
    assert "](../.claude/observations/" in text


def test_shorthand_and_stdout_are_byte_identical_across_runs(corpus: Path) -> None:
    code1, out1, _ = run(["deployment", "billing-api", "--stdout"], corpus)
    code2, out2, _ = run(["generate", "deployment", "billing-api", "--stdout"], corpus)
    assert code1 == code2 == 0
    assert out1 == out2
    assert out1.startswith("# Runbook: Deployment - billing-api")
    assert not (corpus / "runbooks").exists()


def test_json_format(corpus: Path) -> None:
    code, out, err = run(["deployment", "billing-api", "--format", "json", "--stdout"], corpus)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["schema_version"] == 1
    assert doc["operation_type"] == "deployment"
    code, _, err = run(["deployment", "billing-api", "--format", "json"], corpus)
    assert code == 0, err
    assert (corpus / "runbooks" / "2025-12-28-deployment-billing-api.json").is_file()


def test_incident_alias_and_file_prefix(tmp_path: Path) -> None:
    code, _, err = run(["incident", "API timeout"], tmp_path)
    assert code == 2
    assert "incident-response" in err  # resolved alias, then refused: no evidence


def test_unknown_type_is_a_usage_error(corpus: Path) -> None:
    code, _, err = run(["generate", "deploymnet", "billing-api"], corpus)
    assert code == 2
    assert "deployment, rollback, incident-response, migration, scaling" in err


def test_refuses_without_evidence(tmp_path: Path) -> None:
    code, out, err = run(["deployment", "lambda"], tmp_path)
    assert code == 2
    assert out == ""
    assert "no recorded execution" in err
    assert ".claude/observations/YYYY-MM-DD/execution-HHMMSS-deployment-lambda.md" in err


def test_refuses_a_single_run_and_suggests_reproduce(tmp_path: Path) -> None:
    path = observation(tmp_path, 3, "v2.3.0")
    code, _, err = run(["deployment", "billing-api"], tmp_path)
    assert code == 2
    assert "runbook reproduce" in err
    assert path.name in err
    code, out, err = run(["deployment", "billing-api", "--allow-single-run", "--stdout"], tmp_path)
    assert code == 0, err
    assert "# Runbook: Deployment - billing-api" in out


@pytest.mark.parametrize("args", [["Add new API endpoint"], ["generate", "Fix typo in README.md"]])
def test_refuses_development_tasks(tmp_path: Path, args: list[str]) -> None:
    code, _, err = run(args, tmp_path)
    assert code == 2
    assert "development task" in err


def test_no_overwrite_of_edited_runbook(corpus: Path) -> None:
    assert run(["deployment", "billing-api"], corpus)[0] == 0
    target = corpus / "runbooks" / "2025-12-28-deployment-billing-api.md"
    beside = corpus / "runbooks" / "2025-12-28-deployment-billing-api.new.md"
    # Regenerating over our own unedited output is fine (and reports "unchanged").
    code, _, err = run(["deployment", "billing-api"], corpus)
    assert code == 0 and "(unchanged)" in err
    edited = target.read_text(encoding="utf-8").replace("## Overview", "## Overview\n\nOur note.")
    target.write_text(edited, encoding="utf-8")
    # With the stored base (.runbook/generated/) the edit is merged: kept, nothing beside.
    code, _, err = run(["deployment", "billing-api"], corpus)
    assert code == 0 and target.read_text(encoding="utf-8") == edited and not beside.exists()
    # Without a stored base the tool cannot tell whose change is whose: it writes beside.
    shutil.rmtree(corpus / ".runbook" / "generated")
    code, _, err = run(["deployment", "billing-api"], corpus)
    assert code == 0
    assert target.read_text(encoding="utf-8") == edited  # the person's edit survives
    assert beside.is_file()
    assert "edited by hand" in err and "--force" in err
    code, _, err = run(["deployment", "billing-api", "--force"], corpus)
    assert code == 0
    assert "Our note." not in target.read_text(encoding="utf-8")


def test_file_without_marker_is_not_overwritten(corpus: Path) -> None:
    target = corpus / "runbooks" / "2025-12-28-deployment-billing-api.md"
    target.parent.mkdir(parents=True)
    target.write_text("# hand-written runbook\n", encoding="utf-8")
    code, _, _ = run(["deployment", "billing-api"], corpus)
    assert code == 0
    assert target.read_text(encoding="utf-8") == "# hand-written runbook\n"


def test_output_names_are_safe_and_bounded() -> None:
    day = date(2025, 12, 28)
    assert output_filename(OperationType.INCIDENT, "API timeout", day) == (
        "2025-12-28-incident-api-timeout"
    )
    assert output_filename(OperationType.DEPLOYMENT, None, day) == "2025-12-28-deployment"
    name = output_filename(OperationType.MIGRATION, "../../etc/passwd", day)
    assert name == "2025-12-28-migration-etc-passwd"
    long = output_filename(OperationType.SCALING, "x" * 300, day)
    assert len(long) <= len("2025-12-28-scaling-") + 60
    assert all(c.isalnum() or c == "-" for c in slug_for("Aurora/read replica; rm -rf ~"))


def test_a_guide_alone_is_not_evidence(tmp_path: Path) -> None:
    guide = tmp_path / "docs" / "deployment" / "billing-api-deployment.md"
    guide.parent.mkdir(parents=True)
    guide.write_text(
        "# Deploying billing-api\n\n```bash\n"
        "docker build -t registry.example.com/billing-api:TAG .\n"
        "docker push registry.example.com/billing-api:TAG\n"
        "kubectl set image deployment/billing-api billing-api=registry.example.com/billing-api:TAG\n"
        "kubectl rollout status deployment/billing-api\n```\n",
        encoding="utf-8",
    )
    code, _, err = run(["deployment", "billing-api"], tmp_path)
    assert code == 2
    assert "no recorded execution" in err
    assert "guide" in err


def test_out_dir_links_point_back_at_the_evidence(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "published" / "ops"
    code, _, err = run(["deployment", "billing-api", "--out", str(out)], corpus)
    assert code == 0, err
    text = (out / "2025-12-28-deployment-billing-api.md").read_text(encoding="utf-8")
    link = re.search(r"\]\((\.\./[^)]*execution-[^)]*\.md)\)", text)
    assert link is not None
    assert (out / link.group(1)).resolve().is_file()  # the relative link resolves


def test_json_output_keeps_a_foreign_file(corpus: Path) -> None:
    target = corpus / "runbooks" / "2025-12-28-deployment-billing-api.json"
    target.parent.mkdir(parents=True)
    target.write_text('{"hand": "written"}\n', encoding="utf-8")
    code, _, err = run(["deployment", "billing-api", "--format", "json"], corpus)
    assert code == 0, err
    assert target.read_text(encoding="utf-8") == '{"hand": "written"}\n'
    beside = corpus / "runbooks" / "2025-12-28-deployment-billing-api.new.json"
    assert json.loads(beside.read_text(encoding="utf-8"))["schema_version"] == 1
    # Our own earlier output is simply replaced.
    target.write_text(beside.read_text(encoding="utf-8"), encoding="utf-8")
    code, _, err = run(["deployment", "billing-api", "--format", "json"], corpus)
    assert code == 0 and "(unchanged)" in err
