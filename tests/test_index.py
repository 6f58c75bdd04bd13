from __future__ import annotations

import os
import sqlite3
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
from _examples import copy_example

from runbook.config import Config
from runbook.index import load_corpus
from runbook.model import (
    Command,
    ErrorEvent,
    EvidenceKind,
    Execution,
    Outcome,
    ParsedFile,
    Skipped,
    SourceRef,
)


class CountingReader:
    """A stand-in reader: one execution per file, one command per non-empty line."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(
        self, path: Path, root: Path, kind: EvidenceKind, config: Config
    ) -> ParsedFile | Skipped:
        rel = path.relative_to(root).as_posix()
        self.calls.append(rel)
        text = path.read_text(encoding="utf-8")
        if "BINARY" in text:
            return Skipped(rel, "binary file")
        cmds = tuple(
            Command(
                line.strip(),
                SourceRef(rel, i),
                exit_code=0,
                started_at=datetime(2025, 12, 23, 14, 30, i % 60),
            )
            for i, line in enumerate(text.splitlines(), 1)
            if line.strip()
        )
        ex = Execution(
            id=rel,
            source=SourceRef(rel),
            kind=kind,
            title=path.stem,
            outcome=Outcome.SUCCESS,
            commands=cmds,
            errors=(ErrorEvent("Error: boom", SourceRef(rel, 1)),),
            tags=("lambda",),
        )
        return ParsedFile(rel, kind, executions=(ex,))


def _write(root: Path, rel: str, text: str) -> Path:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")
    return p


@pytest.fixture
def corpus_root(tmp_path: Path) -> Path:
    _write(tmp_path, "docs/deploy.md", "aws lambda update-function-code\naws lambda wait\n")
    _write(tmp_path, "docs/rollback.md", "aws lambda update-alias --function-version 41\n")
    _write(tmp_path, ".claude/journals/error/2025-12-23-pool.md", "psql -c 'select 1'\n")
    _write(tmp_path, "docs/blob.md", "BINARY\n")
    return tmp_path


def test_second_run_is_served_from_cache(corpus_root: Path) -> None:
    reader = CountingReader()
    first = load_corpus(corpus_root, Config(), reader=reader)
    assert len(reader.calls) == 4
    assert [f.path for f in first.files] == [
        ".claude/journals/error/2025-12-23-pool.md",
        "docs/deploy.md",
        "docs/rollback.md",
    ]
    assert [s.path for s in first.skipped] == ["docs/blob.md"]
    assert all(len(f.sha256) == 64 for f in first.files)
    assert (corpus_root / ".runbook" / "cache.sqlite").is_file()

    reader2 = CountingReader()
    second = load_corpus(corpus_root, Config(), reader=reader2)
    assert reader2.calls == []  # nothing re-parsed, the skip was remembered too
    assert second == first
    assert second.diagnostics == ()


def test_changed_file_is_reparsed_and_touched_file_is_not(corpus_root: Path) -> None:
    load_corpus(corpus_root, Config(), reader=CountingReader())
    changed = corpus_root / "docs" / "deploy.md"
    changed.write_text("aws lambda update-function-code --publish\n", encoding="utf-8")
    touched = corpus_root / "docs" / "rollback.md"
    st = touched.stat()
    os.utime(touched, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))

    reader = CountingReader()
    corpus = load_corpus(corpus_root, Config(), reader=reader)
    assert reader.calls == ["docs/deploy.md"]  # same bytes under a new mtime: hash matched
    deploy = next(f for f in corpus.files if f.path == "docs/deploy.md")
    assert deploy.executions[0].commands[0].text == "aws lambda update-function-code --publish"

    reader = CountingReader()
    load_corpus(corpus_root, Config(), reader=reader)
    assert reader.calls == []  # the refreshed stat key is a plain hit now


def test_deleted_file_is_dropped_from_cache(corpus_root: Path) -> None:
    load_corpus(corpus_root, Config(), reader=CountingReader())
    (corpus_root / "docs" / "rollback.md").unlink()
    corpus = load_corpus(corpus_root, Config(), reader=CountingReader())
    assert "docs/rollback.md" not in [f.path for f in corpus.files]
    with sqlite3.connect(corpus_root / ".runbook" / "cache.sqlite") as conn:
        rels = sorted(r for (r,) in conn.execute("SELECT rel FROM entries"))
    assert rels == [".claude/journals/error/2025-12-23-pool.md", "docs/blob.md", "docs/deploy.md"]


def test_corrupted_cache_is_rebuilt_with_a_diagnostic(corpus_root: Path) -> None:
    load_corpus(corpus_root, Config(), reader=CountingReader())
    db = corpus_root / ".runbook" / "cache.sqlite"
    db.write_bytes(b"this is not a database at all" * 100)
    reader = CountingReader()
    corpus = load_corpus(corpus_root, Config(), reader=reader)
    assert len(reader.calls) == 4
    assert len(corpus.files) == 3
    assert any("rebuilt" in d.message for d in corpus.diagnostics)
    reader = CountingReader()
    assert load_corpus(corpus_root, Config(), reader=reader).diagnostics == ()
    assert reader.calls == []


def test_tampered_payload_is_a_miss_not_a_crash(corpus_root: Path) -> None:
    load_corpus(corpus_root, Config(), reader=CountingReader())
    with sqlite3.connect(corpus_root / ".runbook" / "cache.sqlite") as conn:
        conn.execute(
            "UPDATE entries SET payload = ? WHERE rel = 'docs/deploy.md'",
            ('{"parsed": {"path": "docs/deploy.md", "kind": "no-such-kind"}}',),
        )
        conn.execute(
            "UPDATE entries SET payload = '{not json' WHERE rel = 'docs/rollback.md'",
        )
    reader = CountingReader()
    corpus = load_corpus(corpus_root, Config(), reader=reader)
    assert sorted(reader.calls) == ["docs/deploy.md", "docs/rollback.md"]
    assert len(corpus.files) == 3


def test_cache_disabled_writes_nothing(corpus_root: Path) -> None:
    reader = CountingReader()
    load_corpus(corpus_root, Config(cache=False), reader=reader)
    load_corpus(corpus_root, Config(cache=False), reader=reader)
    assert len(reader.calls) == 8
    assert not (corpus_root / ".runbook").exists()


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_root_still_works(corpus_root: Path) -> None:
    corpus_root.chmod(0o555)
    try:
        corpus = load_corpus(corpus_root, Config(), reader=CountingReader())
    finally:
        corpus_root.chmod(0o755)
    assert len(corpus.files) == 3
    assert [d.message.startswith("cache disabled") for d in corpus.diagnostics] == [True]


def test_unwritable_cache_location_still_works(corpus_root: Path) -> None:
    # A *file* named .runbook makes the cache directory impossible, even for root.
    (corpus_root / ".runbook").write_text("not a directory", encoding="utf-8")
    corpus = load_corpus(corpus_root, Config(), reader=CountingReader())
    assert len(corpus.files) == 3
    assert len(corpus.diagnostics) == 1
    assert corpus.diagnostics[0].message.startswith("cache disabled")


def test_config_change_invalidates(corpus_root: Path) -> None:
    load_corpus(corpus_root, Config(), reader=CountingReader())
    reader = CountingReader()
    load_corpus(corpus_root, Config(output_excerpt_chars=10), reader=reader)
    assert len(reader.calls) == 4
    reader = CountingReader()
    load_corpus(corpus_root, Config(output_excerpt_chars=10, owner="ops"), reader=reader)
    assert reader.calls == []  # the owner does not change what readers produce


def test_reader_crash_becomes_a_skip(corpus_root: Path) -> None:
    def broken(path: Path, root: Path, kind: EvidenceKind, config: Config) -> ParsedFile:
        raise RuntimeError("boom")

    corpus = load_corpus(corpus_root, Config(cache=False), reader=broken)
    assert corpus.files == ()
    assert all("reader failed: RuntimeError: boom" in s.reason for s in corpus.skipped)


def test_progress_reports_every_file(corpus_root: Path) -> None:
    seen: list[tuple[int, int]] = []
    load_corpus(
        corpus_root, Config(), reader=CountingReader(), progress=lambda i, n: seen.append((i, n))
    )
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]
    seen.clear()
    load_corpus(
        corpus_root, Config(), reader=CountingReader(), progress=lambda i, n: seen.append((i, n))
    )
    assert seen == [(4, 4)]  # every file from the cache: reported at once


@pytest.mark.slow
def test_many_files_second_run_is_fast(tmp_path: Path) -> None:
    import time

    for i in range(3000):
        _write(tmp_path, f"docs/d{i // 100}/run-{i}.md", f"echo {i}\n")
    reader = CountingReader()
    load_corpus(tmp_path, Config(), reader=reader)
    assert len(reader.calls) == 3000
    reader = CountingReader()
    t0 = time.perf_counter()
    corpus = load_corpus(tmp_path, Config(), reader=reader)
    elapsed = time.perf_counter() - t0
    assert reader.calls == []
    assert len(corpus.files) == 3000
    assert elapsed < 10


def test_loaded_files_share_repeated_strings(corpus_root: Path) -> None:
    # Each command's SourceRef names the same file: one string object per value, cold and
    # warm, so a large corpus holds each path once rather than once per command.
    def reader(path: Path, root: Path, kind: EvidenceKind, config: Config) -> ParsedFile | Skipped:
        parsed = CountingReader()(path, root, kind, config)
        if isinstance(parsed, Skipped):
            return parsed
        ex = parsed.executions[0]
        # a fresh, equal string per command, as a real reader's slicing produces
        cmds = tuple(replace(c, source=SourceRef("".join(c.source.path), 1)) for c in ex.commands)
        tags = tuple("".join(t) for t in ex.tags)
        return replace(parsed, executions=(replace(ex, commands=cmds, tags=tags),))

    for cache in (False, True, True):
        corpus = load_corpus(corpus_root, Config(cache=cache), reader=reader)
        deploy = next(f for f in corpus.files if f.path == "docs/deploy.md")
        paths = [c.source.path for e in deploy.executions for c in e.commands]
        assert len(paths) == 2 and paths[0] == paths[1] == "docs/deploy.md"
        assert paths[0] is paths[1]
        assert deploy.executions[0].tags[0] is corpus.files[0].executions[0].tags[0]


def test_cold_load_equals_warm_load(corpus_root: Path) -> None:
    cold = load_corpus(corpus_root, Config(), reader=CountingReader())
    warm = load_corpus(corpus_root, Config(), reader=CountingReader())
    assert cold == warm
    assert load_corpus(corpus_root, Config(cache=False), reader=CountingReader()) == cold


def test_parallel_parse_equals_serial(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import multiprocessing
    import sys
    import threading
    from typing import Any

    from runbook import index

    example = Path(__file__).resolve().parents[1] / "examples" / "acme-platform"
    copy_example(example, tmp_path / "c")
    root = tmp_path / "c"
    serial = load_corpus(root, Config(cache=False, git=False))
    monkeypatch.setattr(index, "_workers", lambda: 2)
    monkeypatch.setattr(index, "_PARALLEL_MIN", 1)
    pools: list[str] = []
    real = multiprocessing.get_context

    def counting(method: str | None = None) -> Any:
        pools.append(str(method))
        return real(method)

    monkeypatch.setattr(multiprocessing, "get_context", counting)
    # a progress bar may start a thread: the workers must have forked before its first call
    pools_at_progress: list[int] = []
    parallel = load_corpus(  # cold: every file through the pool
        root, Config(git=False), progress=lambda i, n: pools_at_progress.append(len(pools))
    )
    assert parallel == serial
    if threading.active_count() == 1 and sys.platform == "linux":
        assert pools == ["fork"]
        assert pools_at_progress and set(pools_at_progress) == {1}
    assert load_corpus(root, Config(git=False)) == serial  # and warm, from the cache
