"""`runbook reproduce`: one observation -> a reproduction guide."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from runbook.cli import main
from runbook.errors import InputError
from runbook.reproduce import reproduce, reproduction_path

FAILURE = """---
mode: failure
date: 2025-11-20
time: "14:02:11"
context: "Migration 0042 failed on prod: lock timeout on reports"
tags: [migration, aurora, prod]
severity: high
resolved: false
environment: prod
---

# Failure: migration 0042 lock timeout

## Symptoms Observed

- `alembic upgrade head` hung for 60 s then failed
- API p99 latency rose to 8 s while it waited

## Error Messages

### Error 1
```
sqlalchemy.exc.OperationalError: (psycopg2.errors.LockNotAvailable) canceling statement due to lock timeout
```

## Input State

**What was attempted**:
```bash
alembic upgrade head
```

## Timeline

- 14:01:02 started `alembic upgrade head`
- 14:02:04 lock timeout, transaction rolled back
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = (
        tmp_path
        / ".claude"
        / "observations"
        / "2025-11-20"
        / "failure-140211-migration-lock-timeout.md"
    )
    path.parent.mkdir(parents=True)
    path.write_text(FAILURE, encoding="utf-8")
    return tmp_path


OBS = ".claude/observations/2025-11-20/failure-140211-migration-lock-timeout.md"


def test_guide_has_every_section(root: Path) -> None:
    guide = reproduce(root / OBS, root, today=date(2025, 12, 28))
    text = guide.markdown
    for heading in (
        "## Context",
        "## Environment",
        "## Steps to Reproduce",
        "## Expected Outputs",
        "## The Failure",
        "## What to Look At",
    ):
        assert heading in text
    assert "Migration 0042 failed on prod" in text
    assert "alembic upgrade head" in text
    assert "LockNotAvailable" in text
    assert "**Environment**: prod" in text
    assert "search logs for: `sqlalchemy.exc.OperationalError" in text
    assert guide.relpath == ".claude/reproductions/2025-12-28-migration-lock-timeout.md"
    assert reproduce(root / OBS, root, today=date(2025, 12, 28)).markdown == text  # deterministic


def test_reproduction_path_is_safe() -> None:
    assert reproduction_path("a/b/execution-101500-deployed-Lambda!!.md", date(2025, 1, 2)) == (
        ".claude/reproductions/2025-01-02-deployed-lambda.md"
    )


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        reproduce(tmp_path / "nope.md", tmp_path, today=date(2025, 12, 28))


def test_cli_writes_under_reproductions(root: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["reproduce", str(root / OBS)], env={"RUNBOOK_NOW": "2025-12-28"})
    assert result.exit_code == 0, result.stderr
    written = root / ".claude" / "reproductions" / "2025-12-28-migration-lock-timeout.md"
    assert written.is_file()
    assert result.stdout == ""
    result = runner.invoke(
        main, ["reproduce", str(root / OBS), "--stdout"], env={"RUNBOOK_NOW": "2025-12-28"}
    )
    assert result.exit_code == 0
    assert result.stdout == written.read_text(encoding="utf-8")


def test_cli_missing_file_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["reproduce", str(tmp_path / "missing.md"), "--root", str(tmp_path)]
    )
    assert result.exit_code == 2


EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "acme-platform"


@pytest.mark.skipif(not EXAMPLES.is_dir(), reason="example corpus not present")
def test_no_planted_secret_reaches_a_reproduction_guide() -> None:
    planted_file = EXAMPLES / ".secrets-planted.txt"
    planted = [
        line.strip()
        for line in planted_file.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    files = sorted((EXAMPLES / ".claude" / "observations").rglob("*.md"))
    files += sorted((EXAMPLES / "docs").rglob("*.md"))
    assert files
    for path in files:
        try:
            guide = reproduce(path, EXAMPLES, today=date(2025, 12, 28))
        except InputError:  # a document with no recorded run (NoEvidenceError) has no guide
            continue
        for secret in planted:
            assert secret not in guide.markdown, f"{secret[:6]}… leaked from {path.name}"
