from __future__ import annotations

import os
from pathlib import Path

import pytest

from runbook.config import Config
from runbook.discover import discover, kind_of
from runbook.model import Candidate, EvidenceKind, Skipped

K = EvidenceKind


@pytest.mark.parametrize(
    ("rel", "kind"),
    [
        (".claude/observations/2025-12-23/execution-143052-deploy-lambda.md", K.OBSERVATION),
        (".claude/observations/2025-12-23/failure-090001-api-timeout.md", K.OBSERVATION),
        (
            ".claude/observations/archive/2025-Q3/2025-08-01/behavior-101010-scaling.md",
            K.OBSERVATION,
        ),
        ("services/api/.claude/observations/2025-01-01/execution-1-x.md", K.OBSERVATION),
        (".claude/observations/README.md", None),
        (".claude/observations/2025-12-23/notes.md", None),
        (".claude/journals/error/2025-12-23-pool-exhausted.md", K.JOURNAL),
        (".claude/journals/2025-12-23-flat.md", K.JOURNAL),
        (".claude/journals/README.md", None),
        (".claude/commands/runbook.md", None),
        (".claude/skills/deployment/SKILL.md", None),
        (".github/workflows/deploy.yml", K.CI_WORKFLOW),
        (".github/workflows/ci.yaml", K.CI_WORKFLOW),
        (".github/ISSUE_TEMPLATE/bug.md", None),
        (".github/workflows/nested/x.yml", None),
        ("ci-logs/run-123.log", K.CI_LOG),
        ("logs/deploy/2025-01-01.log", K.CI_LOG),
        ("app/server.log", None),
        (".bash_history", K.SHELL_HISTORY),
        ("ops/history/.zsh_history", K.SHELL_HISTORY),
        ("fish_history", K.SHELL_HISTORY),
        ("shell-history-alice.txt", K.SHELL_HISTORY),
        ("atuin-export.db", K.SHELL_HISTORY),
        ("recordings/deploy.cast", K.CAST),
        ("migrations/0001_init.sql", K.MIGRATION_FILE),
        ("db/migrations/2025/0002_add_index.up.sql", K.MIGRATION_FILE),
        ("alembic/versions/abc123_add_users.py", K.MIGRATION_FILE),
        ("db/migrate/20240101120000_add_index.rb", K.MIGRATION_FILE),
        ("sql/V3__add_orders.sql", K.MIGRATION_FILE),
        ("schema/000123_orders.down.sql", K.MIGRATION_FILE),
        ("migrations/README.md", None),
        ("monitoring/alarms.json", K.ALARM),
        ("infra/cloudwatch-api.json", K.ALARM),
        ("k8s/prometheus-alerts.yaml", K.ALARM),
        ("k8s/api.rules.yml", K.ALARM),
        ("monitoring/lambda.tf", K.ALARM),
        ("infra/alarms/main.tf", K.ALARM),
        ("infra/main.tf", None),
        ("package.json", None),
        ("docs/deployment/LAMBDA_RUNBOOK.md", K.NOTES),
        ("docs/README.md", K.NOTES),
        ("postmortems/2025-11-02-outage.md", K.POSTMORTEM),
        ("incidents/INC-42.md", K.POSTMORTEM),
        ("docs/2025-01-01-post-mortem-db.md", K.POSTMORTEM),
        ("postmortems/README.md", K.NOTES),
        ("postmortems/template.md", K.NOTES),
        ("runbooks-src/scale.md", K.NOTES),
        ("SESSION_REPORT_2025-12-23.md", K.NOTES),
        ("DEPLOYMENT_CHECKLIST.md", K.NOTES),
        ("bug-hunt-notes.md", K.NOTES),
        ("TroubleshootingGuide.md", K.NOTES),
        ("README.md", None),
        ("CHANGELOG.md", None),
        ("LICENSE", None),
        ("CONTRIBUTING.md", None),
        ("src/app/design.md", None),
        (".runbook/runs/2025-01-01-deploy.jsonl", K.RUN_RECORD),
        (".runbook/runs/x.txt", None),
    ],
)
def test_kind_of(rel: str, kind: EvidenceKind | None) -> None:
    assert kind_of(rel) == kind


def _write(root: Path, rel: str, text: str = "x\n") -> Path:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")
    return p


def _rels(root: Path, config: Config | None = None) -> tuple[list[str], list[Skipped]]:
    found = list(discover(root, config or Config()))
    cands = [f.rel for f in found if isinstance(f, Candidate)]
    skipped = [f for f in found if isinstance(f, Skipped)]
    return cands, skipped


def test_walk_skips_noise_dirs_and_dotfiles(tmp_path: Path) -> None:
    for rel in (
        ".claude/observations/2025-12-23/execution-143052-deploy.md",
        ".claude/journals/error/2025-12-23-x.md",
        "docs/deploy.md",
        "node_modules/pkg/docs/deploy.md",
        ".git/logs/deploy.md",
        ".venv-3.11/lib/docs/x.md",
        "venv/docs/x.md",
        "__pycache__/docs/x.md",
        ".terraform/docs/x.md",
        ".secrets-planted.txt",
        ".hidden-deploy.md",
        "runbooks/2025-01-01-deployment-lambda.md",
        ".runbook/cache.sqlite",
        ".runbook/runs/r1.jsonl",
        "README.md",
    ):
        _write(tmp_path, rel)
    cands, skipped = _rels(tmp_path)
    assert sorted(cands) == [
        ".claude/journals/error/2025-12-23-x.md",
        ".claude/observations/2025-12-23/execution-143052-deploy.md",
        ".runbook/runs/r1.jsonl",
        "docs/deploy.md",
    ]
    assert skipped == []


def test_order_is_deterministic_and_sorted_by_name(tmp_path: Path) -> None:
    for rel in ("docs/b.md", "docs/a.md", "docs/sub/c.md", "ops/z.md"):
        _write(tmp_path, rel)
    first, _ = _rels(tmp_path)
    again, _ = _rels(tmp_path)
    assert first == again == ["docs/a.md", "docs/b.md", "docs/sub/c.md", "ops/z.md"]


def test_candidate_carries_stat(tmp_path: Path) -> None:
    p = _write(tmp_path, "docs/a.md", "hello\n")
    (cand,) = list(discover(tmp_path, Config()))
    assert isinstance(cand, Candidate)
    assert cand.kind == K.NOTES
    assert cand.size == 6
    assert cand.mtime_ns == p.stat().st_mtime_ns
    assert cand.path == tmp_path / "docs" / "a.md"


def test_exclude_globs_and_out_dir(tmp_path: Path) -> None:
    for rel in ("docs/a.md", "docs/archive/old.md", "generated/x-deploy.md", "ops/keep.md"):
        _write(tmp_path, rel)
    cfg = Config(exclude=("docs/archive/**",), out_dir="generated")
    cands, _ = _rels(tmp_path, cfg)
    assert cands == ["docs/a.md", "ops/keep.md"]


def test_oversize_is_skipped_with_reason(tmp_path: Path) -> None:
    _write(tmp_path, "docs/big.md", "x" * 2048)
    _write(tmp_path, "docs/small.md", "ok")
    cands, skipped = _rels(tmp_path, Config(max_file_bytes=1024))
    assert cands == ["docs/small.md"]
    assert [s.path for s in skipped] == ["docs/big.md"]
    assert "too large" in skipped[0].reason
    assert "max_file_bytes" in skipped[0].reason


@pytest.mark.skipif(os.name != "posix", reason="symlinks")
def test_symlink_loops_and_escapes(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    outside = tmp_path / "outside"
    _write(outside, "docs/secret-deploy.md")
    _write(root, "docs/real.md")
    os.symlink(root / "docs", root / "docs" / "loop")  # directory link to an ancestor
    os.symlink(outside / "docs", root / "ops")  # directory link leaving the root
    os.symlink(outside / "docs" / "secret-deploy.md", root / "docs" / "escape.md")
    os.symlink(root / "docs" / "self.md", root / "docs" / "self.md")  # file link loop
    os.symlink(root / "docs" / "real.md", root / "docs" / "alias.md")  # inside: fine
    os.symlink(root / "docs", root / "notes")  # dir link inside the root: not followed
    cands, skipped = _rels(root)
    assert cands == ["docs/alias.md", "docs/real.md"]
    reasons = {s.path: s.reason for s in skipped}
    assert set(reasons) == {"docs/escape.md", "docs/loop", "docs/self.md", "ops"}
    assert "escapes the root" in reasons["docs/escape.md"]
    assert "escapes the root" in reasons["ops"]
    assert "loop" in reasons["docs/loop"]
    assert "loop" in reasons["docs/self.md"]


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can read anything")
def test_unreadable_file_is_skipped(tmp_path: Path) -> None:
    p = _write(tmp_path, "docs/locked.md")
    p.chmod(0)
    try:
        _, skipped = _rels(tmp_path)
    finally:
        p.chmod(0o644)
    assert [(s.path, s.reason) for s in skipped] == [("docs/locked.md", "permission denied")]


def test_missing_root_yields_nothing(tmp_path: Path) -> None:
    assert list(discover(tmp_path / "nope", Config())) == []
