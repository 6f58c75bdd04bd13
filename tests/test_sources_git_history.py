"""Git history reader: revert / hotfix commits after a deploy become rollback evidence."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runbook.config import Config
from runbook.index import load_corpus
from runbook.model import Command, EvidenceKind, Execution, ParsedFile, Skipped, SourceRef
from runbook.normalize import normalize
from runbook.sources import git_history
from runbook.sources.git_history import parse_log, read_git_history, rollback_executions

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _git(root: Path, *args: str, when: str = "2025-04-01T10:00:00+00:00") -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Ana Ops",
        "GIT_AUTHOR_EMAIL": "ana@example.com",
        "GIT_COMMITTER_NAME": "Ana Ops",
        "GIT_COMMITTER_EMAIL": "ana@example.com",
        "GIT_AUTHOR_DATE": when,
        "GIT_COMMITTER_DATE": when,
        "GIT_CONFIG_NOSYSTEM": "1",
        "HOME": str(root),
    }
    out = subprocess.run(
        ["git", "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false", *args],
        cwd=root,
        env=env,
        capture_output=True,
        check=True,
        text=True,
    )
    return out.stdout.strip()


def _commit(root: Path, path: str, text: str, message: str, when: str) -> str:
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    _git(root, "add", path, when=when)
    _git(root, "commit", "-q", "-m", message, when=when)
    return _git(root, "rev-parse", "HEAD", when=when)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    _git(tmp_path, "init", "-q", "-b", "main")
    _commit(tmp_path, "src/app.py", "print('hi')\n", "Add checkout service", "2025-04-01T10:00:00Z")
    _commit(
        tmp_path,
        "deploy/values-prod.yaml",
        "pool: 5\n",
        "Enable connection pooling",
        "2025-04-02T09:00:00+02:00",  # 07:00 UTC: the deploy
    )
    _git(tmp_path, "revert", "--no-edit", "HEAD", when="2025-04-02T12:00:00+02:00")
    _commit(tmp_path, "README.md", "# checkout\n", "Update README", "2025-04-05T10:00:00Z")
    _git(tmp_path, "revert", "--no-edit", "HEAD", when="2025-04-10T10:00:00Z")
    _commit(tmp_path, "src/pay.py", "x = 1\n", "Payment handler", "2025-04-12T10:00:00Z")
    _git(tmp_path, "tag", "v1.2.0", when="2025-04-12T10:00:00Z")
    _commit(
        tmp_path,
        "src/pay.py",
        "x = 2\n",
        "hotfix: null check in payment handler",
        "2025-04-12T11:30:00Z",
    )
    return tmp_path


@needs_git
def test_revert_three_hours_after_a_deploy_is_a_rollback(repo: Path) -> None:
    got = read_git_history(repo, Config())
    assert isinstance(got, ParsedFile), got
    assert got.kind is EvidenceKind.GIT_HISTORY and got.path == ".git"
    revert, hotfix = got.executions
    assert revert.declared_type == "rollback"
    assert revert.tags == ("git", "revert")
    assert revert.title == 'Revert "Enable connection pooling"'
    assert revert.started_at == datetime(2025, 4, 2, 10, 0)  # 12:00+02:00 in UTC
    assert revert.owner == "Ana Ops"
    (note,) = revert.notes
    assert note.startswith('reverted "Enable connection pooling", 3 h after deploy ')
    (cmd,) = revert.commands
    assert cmd.text.startswith("git revert --no-edit ")
    assert normalize(cmd.text).key == "git revert --no-edit {commit-sha}"
    # the README revert came five days after the last deploy: code history, not a rollback
    assert all("README" not in e.title for e in got.executions)
    assert hotfix.tags == ("git", "hotfix")
    assert hotfix.commands == ()
    assert hotfix.notes == (
        'hotfix "hotfix: null check in payment handler", 1.5 h after deploy '
        'v1.2.0 ("Payment handler")',
    )


@needs_git
def test_loaded_with_the_corpus_and_switchable(repo: Path) -> None:
    corpus = load_corpus(repo, Config(cache=False))
    assert [f.path for f in corpus.files] == [".git"]
    assert len(corpus.executions) == 2
    off = load_corpus(repo, Config(cache=False, git=False))
    assert off.files == ()


def test_a_deployment_run_from_other_evidence_counts_as_the_deploy() -> None:
    text = (
        "\x1e" + "b" * 40 + "\x1f2025-05-01T15:00:00Z\x1f" + "a" * 40 + "\x1f\x1fKim\x1f"
        'Revert "Tune cache"\x1fThis reverts commit ' + "a" * 40 + ".\x1f\nsrc/cache.py\n"
        "\x1e" + "a" * 40 + "\x1f2025-05-01T09:00:00Z\x1f\x1f\x1fKim\x1fTune cache\x1f\x1f\n"
        "src/cache.py\n"
    )
    commits, diags, _ = parse_log(text)
    assert [c.subject for c in commits] == ['Revert "Tune cache"', "Tune cache"] and not diags
    assert rollback_executions(commits) == []  # no deploy known
    deploy = Execution(
        id="ci-logs/run-9.log",
        source=SourceRef("ci-logs/run-9.log", 1),
        kind=EvidenceKind.CI_LOG,
        title="GitHub Actions run: deploy",
        started_at=datetime(2025, 5, 1, 13, 0),
        declared_type="deployment",
        commands=(Command("./deploy.sh", SourceRef("ci-logs/run-9.log", 3)),),
    )
    (ex,) = rollback_executions(commits, [deploy])
    assert ex.notes == (
        'reverted "Tune cache", 2 h after deploy GitHub Actions run: deploy (ci-logs/run-9.log)',
    )


def test_missing_git_or_not_a_repository_is_a_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(git_history.shutil, "which", lambda _name: None)
    got = read_git_history(tmp_path, Config())
    assert isinstance(got, Skipped) and "not installed" in got.reason
    monkeypatch.undo()
    if shutil.which("git") is None:
        return
    (tmp_path / ".git").write_text("gitdir: /nonexistent\n", encoding="utf-8")
    got = read_git_history(tmp_path, Config())
    assert isinstance(got, Skipped) and got.reason.startswith("git log failed")
    corpus = load_corpus(tmp_path, Config(cache=False))
    assert [s.path for s in corpus.skipped] == [".git"]


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.sampled_from('ab01-:T\x1e\x1f\n Revert"x'), max_size=300))
def test_parse_log_never_crashes(text: str) -> None:
    commits, _, _ = parse_log(text)
    rollback_executions(commits)


def _record(sha: str, when: str, subject: str, files: str = "src/app.py", refs: str = "") -> str:
    return f"\x1e{sha * 40}\x1f{when}\x1f\x1f{refs}\x1fKim\x1f{subject}\x1f\x1f\n{files}\n"


def test_only_subjects_that_are_hotfixes_count() -> None:
    text = "".join(
        [
            _record(
                "f", "2025-05-02T11:00:00Z", "Merge pull request #7 from acme/hotfix/null-check"
            ),
            _record("e", "2025-05-02T10:40:00Z", "fix(prod): restore the pool size"),
            _record("d", "2025-05-02T10:30:00Z", "docs: describe rollback runs in the guide"),
            _record("c", "2025-05-02T10:20:00Z", "Add rollback support to the CLI"),
            _record(
                "b", "2025-05-02T10:10:00Z", "tests: deploy fixture", "tests/data/deploy/x.yaml"
            ),
            _record("a", "2025-05-02T10:00:00Z", "Release v2.4.0", refs="tag: v2.4.0"),
        ]
    )
    commits, _, _ = parse_log(text)
    got = rollback_executions(commits)
    assert [(e.title, e.notes[0].split(", ", 1)[1]) for e in got] == [
        (
            "fix(prod): restore the pool size",
            '40 min after deploy v2.4.0 ("Release v2.4.0")',
        ),
        (
            "Merge pull request #7 from acme/hotfix/null-check",
            '1 h after deploy v2.4.0 ("Release v2.4.0")',
        ),
    ]
