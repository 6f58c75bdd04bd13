"""read_evidence: safe file IO, skip reasons, redaction before parsing, dispatch by kind."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runbook.config import Config
from runbook.model import EvidenceKind, ParsedFile, Skipped
from runbook.sources import read_evidence, reader_for

DATA = Path(__file__).parent / "data" / "sources"
OBS = EvidenceKind.OBSERVATION


def _skip(path: Path, root: Path, config: Config | None = None, kind: EvidenceKind = OBS) -> str:
    got = read_evidence(path, root, kind, config or Config())
    assert isinstance(got, Skipped), got
    return got.reason


def test_binary_file_is_skipped() -> None:
    root = DATA / "malformed"
    reason = _skip(root / "binary.md", root)
    assert reason == "binary file (NUL byte at offset 18)"


def test_invalid_utf8_names_the_byte() -> None:
    root = DATA / "malformed"
    got = read_evidence(root / "latin1.md", root, OBS, Config())
    assert got == Skipped("latin1.md", "invalid UTF-8 at byte 5")


def test_over_the_size_limit() -> None:
    root = DATA / "observations"
    rel = ".claude/observations/2025-12-23/execution-143052-deploy-report-worker.md"
    reason = _skip(root / rel, root, Config(max_file_bytes=1000))
    assert reason.startswith("file is ") and "max_file_bytes limit of 1000" in reason


def test_symlink_loop_and_outside_root(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    loop = root / "loop.md"
    loop.symlink_to(root / "loop.md")
    assert read_evidence(loop, root, OBS, Config()) == Skipped("loop.md", "symlink loop")
    outside = tmp_path / "secret.md"
    outside.write_text("# not evidence\n", encoding="utf-8")
    link = root / "notes.md"
    link.symlink_to(outside)
    assert "outside the root" in _skip(link, root)
    assert "outside the root" in _skip(root / ".." / "secret.md", root)


def test_missing_file(tmp_path: Path) -> None:
    assert "cannot open" in _skip(tmp_path / "gone.md", tmp_path)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads anything")
def test_permission_denied(tmp_path: Path) -> None:
    path = tmp_path / "locked.md"
    path.write_text("# x\n", encoding="utf-8")
    path.chmod(0)
    try:
        assert _skip(path, tmp_path) == "permission denied"
    finally:
        path.chmod(0o644)


def test_unimplemented_kind_is_skipped_with_reason(tmp_path: Path) -> None:
    # readers for the machine formats arrive one by one: test with one still missing
    missing = [k for k in EvidenceKind if reader_for(k)[0] is None]
    if not missing:
        pytest.skip("every kind has a reader")
    path = tmp_path / "record.txt"
    path.write_text("anything\n", encoding="utf-8")
    reason = _skip(path, tmp_path, kind=missing[0])
    assert reason == f"no reader yet for kind {missing[0].value}"


def test_relative_path_under_root_and_utf16(tmp_path: Path) -> None:
    text = "---\nmode: execution\n---\n# t\n\n```console\n$ kubectl get pods\n```\n"
    obs = tmp_path / ".claude" / "observations" / "2025-01-02"
    obs.mkdir(parents=True)
    (obs / "execution-101010-check.md").write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    got = read_evidence(
        Path(".claude/observations/2025-01-02/execution-101010-check.md"), tmp_path, OBS, Config()
    )
    assert isinstance(got, ParsedFile)
    assert got.path == ".claude/observations/2025-01-02/execution-101010-check.md"
    assert [c.text for c in got.executions[0].commands] == ["kubectl get pods"]


def test_secrets_are_redacted_before_parsing(tmp_path: Path) -> None:
    key = "AKIA" + "IOSFODNN7EXAMPLE"
    text = (
        "---\nmode: execution\ndate: 2025-01-02\n---\n# deploy\n\n"
        "**Commands Executed**:\n"
        f"- `AWS_ACCESS_KEY_ID={key} aws s3 ls` - 0 - ok\n"
    )
    path = tmp_path / "execution-101010-deploy.md"
    path.write_text(text, encoding="utf-8")
    got = read_evidence(path, tmp_path, OBS, Config())
    assert isinstance(got, ParsedFile)
    assert got.redactions >= 1
    (cmd,) = got.executions[0].commands
    assert key not in cmd.text and "{redacted:" in cmd.text
    assert cmd.exit_code == 0


def test_copied_tree_reads_the_same(tmp_path: Path) -> None:
    # a reader depends only on the file's bytes and root-relative path
    src = DATA / "observations"
    dst = tmp_path / "copy"
    shutil.copytree(src, dst, symlinks=True)
    rel = ".claude/observations/2025-12-24/execution-091500-scale-api.md"
    a = read_evidence(src / rel, src, OBS, Config())
    b = read_evidence(dst / rel, dst, OBS, Config())
    assert a == b


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.one_of(
        st.binary(max_size=400),
        st.text(max_size=400).map(lambda t: t.encode("utf-8")),
        st.text(max_size=200).map(
            lambda t: b"\xef\xbb\xbf---\r\nmode: failure\r\n---\r\n" + t.encode()
        ),
    ),
    st.sampled_from([EvidenceKind.OBSERVATION, EvidenceKind.JOURNAL, EvidenceKind.NOTES]),
)
def test_any_bytes_give_a_result_or_a_reason(
    tmp_path: Path, data: bytes, kind: EvidenceKind
) -> None:
    path = tmp_path / "2025-01-01-execution-000000-x.md"
    path.write_bytes(data)
    got = read_evidence(path, tmp_path, kind, Config())
    assert isinstance(got, (ParsedFile, Skipped))
    if isinstance(got, Skipped):
        assert got.reason and "\n" not in got.reason
        assert not got.reason.startswith("reader failed"), got.reason
