from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from runbook.cli import main

DEPLOY = """\
---
mode: execution
date: 2025-10-09
time: 14:02:10
context: api 1.18.0 prod deploy
tags: [deployment, lambda, prod]
---

# api 1.18.0 to prod

## Side Effects

**Commands Executed**:
- `aws lambda update-function-code --function-name api --image-uri 1234.dkr.ecr.us-east-1.amazonaws.com/api@sha256:7a7684ccc099b1a0ddac84ee4a25958ae267a451d0526d7379b6498e1238728d` - 0 - accepted
- `aws lambda wait function-updated --function-name api` - 0 - ok
- `curl -fsS https://api.example.com/health` - 0 - 200

## Resource Consumption

**Time**: 3m 12s
"""

FAILURE = """\
---
mode: failure
date: 2025-10-10
time: 09:00:00
context: checkout API timing out
severity: high
environment: production
---

# API timeout on checkout

## Error Messages

### Error 1
```
Task timed out after 30.00 seconds
```
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    obs = tmp_path / ".claude" / "observations"
    (obs / "2025-10-09").mkdir(parents=True)
    (obs / "2025-10-10").mkdir(parents=True)
    (obs / "2025-10-09" / "execution-140210-deployment-api.md").write_text(DEPLOY, encoding="utf-8")
    (obs / "2025-10-10" / "failure-090000-api-timeout.md").write_text(FAILURE, encoding="utf-8")
    (obs / "2025-10-10" / "execution-100000-broken.md").write_bytes(b"\x00\x01\x02binary\xff\xfe")
    (tmp_path / "README.md").write_text("# project\n", encoding="utf-8")
    (tmp_path / ".secrets-planted.txt").write_text("AKIAIOSFODNN7EXAMPLE\n", encoding="utf-8")
    return tmp_path


def test_table_lists_files_classification_and_skips(repo: Path) -> None:
    result = CliRunner().invoke(main, ["sources", "--root", str(repo)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "execution-140210-deployment-api.md" in out
    assert "deployment" in out
    assert "failure-090000-api-timeout.md" in out
    assert "incident-response" in out
    assert "Skipped" in out and "execution-100000-broken.md" in out
    assert "README.md" not in out
    assert ".secrets-planted" not in out
    assert "AKIA" not in result.output


def test_json_parses_and_is_stable(repo: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(main, ["sources", "--root", str(repo), "--json"])
    assert first.exit_code == 0, first.output
    data = json.loads(first.stdout)
    paths = [f["path"] for f in data["files"]]
    assert paths == sorted(paths)
    assert paths == [
        ".claude/observations/2025-10-09/execution-140210-deployment-api.md",
        ".claude/observations/2025-10-10/failure-090000-api-timeout.md",
    ]
    deploy = data["files"][0]["entries"][0]
    assert deploy["operation_type"] == "deployment"
    assert "lambda" in deploy["scopes"] and "api" in deploy["scopes"]
    assert deploy["environment"] == "prod"
    assert deploy["commands"] == 3
    incident = data["files"][1]["entries"][0]
    assert incident["operation_type"] == "incident-response"
    assert incident["environment"] == "prod"
    assert (
        data["skipped"][0]["path"] == ".claude/observations/2025-10-10/execution-100000-broken.md"
    )
    assert data["totals"]["files"] == 2
    assert data["totals"]["skipped"] == 1
    # second run comes from the cache and is byte-identical
    second = runner.invoke(main, ["sources", "--root", str(repo), "--json"])
    assert second.stdout == first.stdout
    assert (repo / ".runbook" / "cache.sqlite").is_file()


def test_bad_root_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["sources", "--root", str(tmp_path / "missing")])
    assert result.exit_code == 2
    assert "no such directory" in result.stderr
    afile = tmp_path / "f.txt"
    afile.write_text("x", encoding="utf-8")
    result = CliRunner().invoke(main, ["sources", "--root", str(afile)])
    assert result.exit_code == 2
    assert "not a directory" in result.stderr


def test_empty_dir_says_what_to_record_first(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("# nothing here\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["sources", "--root", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "no evidence" in result.stderr
    assert "record runs first" in result.stderr
    assert ".claude/observations/YYYY-MM-DD/execution-HHMMSS-slug.md" in result.stderr


def test_help_teaches_with_examples() -> None:
    result = CliRunner().invoke(main, ["sources", "--help"])
    assert result.exit_code == 0
    assert "runbook sources --root examples/acme-platform" in result.output
    assert "--json" in result.output
