"""Machine logs over max_file_bytes are read line by line (bounded memory), not skipped."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

from runbook.config import Config
from runbook.discover import discover
from runbook.model import Candidate, EvidenceKind, ParsedFile, Skipped
from runbook.sources import read_evidence
from runbook.sources.github_actions import KEEP_OUTPUT_CHARS, _Lines

DATA = Path(__file__).parent / "data" / "machine"
SMALL = Config(max_file_bytes=200)


def _both(root: Path, rel: str, kind: EvidenceKind) -> tuple[ParsedFile, ParsedFile]:
    whole = read_evidence(root / rel, root, kind, Config())
    streamed = read_evidence(root / rel, root, kind, SMALL)
    assert isinstance(whole, ParsedFile) and isinstance(streamed, ParsedFile), streamed
    return whole, streamed


def test_streamed_ci_logs_and_histories_read_the_same() -> None:
    for root, rel, kind in (
        (DATA / "ci", "logs/run-4242-deploy-failed.log", EvidenceKind.CI_LOG),
        (DATA / "ci", "logs/gitlab-job-7781.log", EvidenceKind.CI_LOG),
        (DATA / "history", "zsh_history", EvidenceKind.SHELL_HISTORY),
        (DATA / "history", "bash_history_timestamped", EvidenceKind.SHELL_HISTORY),
        (DATA / "history", "fish_history", EvidenceKind.SHELL_HISTORY),
    ):
        whole, streamed = _both(root, rel, kind)
        assert streamed.executions == whole.executions, rel
        assert streamed.sha256 == whole.sha256
        assert streamed.redactions == whole.redactions
        assert any("read line by line" in d.message for d in streamed.diagnostics)


def test_other_kinds_over_the_limit_are_still_skipped(tmp_path: Path) -> None:
    (tmp_path / "ci-logs").mkdir()
    shutil.copy(DATA / "ci" / "logs" / "2_deploy.txt", tmp_path / "ci-logs" / "2_deploy.txt")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "deploy-notes.md").write_text("# deploy\n" + "x\n" * 200)
    found = {f.path if isinstance(f, Skipped) else f.rel: f for f in discover(tmp_path, SMALL)}
    assert isinstance(found["ci-logs/2_deploy.txt"], Candidate)
    assert isinstance(found["docs/deploy-notes.md"], Skipped)
    capped = replace(SMALL, max_stream_bytes=300)
    assert isinstance(
        read_evidence(tmp_path / "ci-logs/2_deploy.txt", tmp_path, EvidenceKind.CI_LOG, capped),
        Skipped,
    )


def test_streamed_lines_are_redacted_crlf_and_bad_bytes(tmp_path: Path) -> None:
    lines = [
        b": 1741165203:1;cd ~/src/checkout",
        b": 1741165205:3;export DEPLOY_TOKEN=ghp_aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5",
        b": 1741165210:40;helm upgrade checkout charts/checkout -n checkout \xff",
        b": 1741165260:2;kubectl rollout status deploy/checkout -n checkout",
    ]
    (tmp_path / ".zsh_history").write_bytes(b"\r\n".join(lines) + b"\r\n" + b"# " + b"x" * 300)
    got = read_evidence(tmp_path / ".zsh_history", tmp_path, EvidenceKind.SHELL_HISTORY, SMALL)
    assert isinstance(got, ParsedFile), got
    texts = [c.text for ex in got.executions for c in ex.commands]
    assert all("ghp_" not in t for t in texts) and got.redactions >= 1
    assert "kubectl rollout status deploy/checkout -n checkout" in texts  # no stray "\r"
    assert any("not valid UTF-8" in d.message for d in got.diagnostics)


def test_step_output_is_bounded() -> None:
    out = _Lines()
    for i in range(200_000):
        out.append(f"line {i:06d} compiling something")
    assert len(out) < 2 * KEEP_OUTPUT_CHARS // 10
    text = "\n".join(out)
    assert text.startswith("line 000000") and text.endswith("line 199999 compiling something")
    assert "lines not kept)" in text
