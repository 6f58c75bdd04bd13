"""The generate result cache: warm output is byte-identical; any input change invalidates."""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from _examples import copy_example

from runbook import api, result_cache
from runbook.config import Config
from runbook.discover import discover, stat_walk
from runbook.errors import RefusalError
from runbook.model import Skipped

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "acme-platform"
TODAY = date(2025, 12, 28)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A private copy of the example corpus (the cache is written under it)."""
    dest = tmp_path / "corpus"
    copy_example(EXAMPLE, dest)
    return dest


def _config() -> Config:
    return Config(git=False)


def _generate(
    root: Path, *, today: date = TODAY, config: Config | None = None
) -> api.GenerateResult:
    return api.generate(root, "deployment", "lambda", today=today, config=config or _config())


def _stored(root: Path) -> int:
    import sqlite3

    with sqlite3.connect(root / ".runbook" / "cache.sqlite") as conn:
        (count,) = conn.execute("SELECT count(*) FROM results").fetchone()
    return int(count)


def test_warm_result_equals_cold_byte_for_byte(root: Path) -> None:
    cold = _generate(root)
    assert _stored(root) == 1
    warm = _generate(root)
    assert warm.markdown == cold.markdown
    assert warm.json == cold.json
    assert warm == cold  # the runbook, counts and file name round-trip as well


def test_warm_result_does_not_mine(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cold = _generate(root)

    def no_loading(*args: object, **kwargs: object) -> None:
        raise AssertionError("a cached result must not read the corpus")

    monkeypatch.setattr("runbook.index.load_corpus", no_loading)
    assert _generate(root).json == cold.json


def test_cache_false_stores_nothing(root: Path) -> None:
    _generate(root, config=replace(_config(), cache=False))
    assert not (root / ".runbook" / "cache.sqlite").exists()


def test_touched_file_invalidates(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _generate(root)
    target = next(
        c for c in discover(root, _config()) if not isinstance(c, Skipped) and "lambda" in c.rel
    )
    st = os.stat(target.path)
    os.utime(target.path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    calls: list[int] = []
    real = result_cache.store_result

    def counting(*args: object, **kwargs: object) -> bool:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(result_cache, "store_result", counting)
    again = _generate(root)
    assert calls == [1]  # recomputed and stored, not served
    assert again.json == _generate(root).json


def test_changed_content_changes_the_output(root: Path) -> None:
    cold = _generate(root)
    cited = sorted(
        c.path
        for c in discover(root, _config())
        if not isinstance(c, Skipped) and c.rel in cold.json and "execution-" in c.rel
    )
    assert cited
    cited[-1].unlink()  # a run the runbook cites is gone: the stored result must not be served
    after = _generate(root)
    assert after.json != cold.json


def test_changed_clock_date_invalidates(root: Path) -> None:
    first = _generate(root)
    later = _generate(root, today=date(2026, 1, 5))
    assert later.json != first.json
    assert "2026-01-05" in later.json
    assert _stored(root) == 2
    assert _generate(root).json == first.json  # both results kept side by side


def test_request_arguments_are_part_of_the_key(root: Path) -> None:
    a = _generate(root)
    b = api.generate(
        root, "deployment", "lambda", today=TODAY, config=_config(), links_from="docs/runbooks"
    )
    assert b.markdown != a.markdown  # relative links are rebased, not served from a's entry
    assert (
        b.markdown
        == api.generate(
            root, "deployment", "lambda", today=TODAY, config=_config(), links_from="docs/runbooks"
        ).markdown
    )
    c = api.generate(root, "rollback", "lambda", today=TODAY, config=_config())
    assert c.json != a.json


def test_corrupt_entry_is_a_miss(root: Path) -> None:
    import sqlite3

    cold = _generate(root)
    with sqlite3.connect(root / ".runbook" / "cache.sqlite") as conn:
        conn.execute("UPDATE results SET payload = ?", (b"not zlib",))
    assert _generate(root).json == cold.json


def test_refusals_are_never_cached(root: Path) -> None:
    with pytest.raises(RefusalError):
        api.generate(root, "deployment", "Add new API endpoint", today=TODAY, config=_config())
    with pytest.raises(RefusalError):
        api.generate(root, "deployment", "Add new API endpoint", today=TODAY, config=_config())


def test_only_the_newest_results_are_kept(root: Path) -> None:
    for i in range(result_cache.KEEP_RESULTS + 3):
        assert result_cache.store_result(root, f"k{i}", {"i": i})
    assert _stored(root) == result_cache.KEEP_RESULTS
    assert result_cache.load_result(root, "k0") is None
    assert result_cache.load_result(root, f"k{result_cache.KEEP_RESULTS + 2}") == {
        "i": result_cache.KEEP_RESULTS + 2
    }


def test_corpus_digest_sees_size_mtime_and_skips(root: Path) -> None:
    found = list(discover(root, _config()))
    base = result_cache.corpus_digest(found)
    # the light walk sees the same files and keys them the same way
    assert result_cache.corpus_digest(stat_walk(root, _config())) == base
    assert [s.rel for s in stat_walk(root, _config()) if not isinstance(s, Skipped)] == [
        c.rel for c in found if not isinstance(c, Skipped)
    ]
    assert result_cache.corpus_digest(list(found)) == base
    first = next(c for c in found if not isinstance(c, Skipped))
    i = found.index(first)
    bumped = [*found[:i], replace(first, mtime_ns=first.mtime_ns + 1), *found[i + 1 :]]
    assert result_cache.corpus_digest(bumped) != base
    grown = [*found[:i], replace(first, size=first.size + 1), *found[i + 1 :]]
    assert result_cache.corpus_digest(grown) != base
    assert result_cache.corpus_digest([*found, Skipped("x.md", "too large")]) != base


def test_git_head_of_a_work_tree(tmp_path: Path) -> None:
    import subprocess

    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    assert result_cache.git_head(tmp_path) is None
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com"}
    env |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True, env=env)
    (tmp_path / "a.txt").write_text("a\n")
    subprocess.run(["git", "-C", str(tmp_path), "add", "a.txt"], check=True, env=env)
    subprocess.run(["git", "-C", str(tmp_path), "commit", "-qm", "a"], check=True, env=env)
    head = result_cache.git_head(tmp_path)
    assert head is not None and len(head) == 40


def test_package_hash_covers_only_the_named_code_when_asked() -> None:
    from runbook.result_cache import package_hash

    whole = package_hash()
    parsing = package_hash(("sources", "normalize.py"))
    assert len({whole, parsing, package_hash(("normalize.py",))}) == 3
    assert package_hash(("sources", "normalize.py")) == parsing  # stable
    assert package_hash(("no-such-file.py",)) == hashlib.sha256().hexdigest()  # nothing hashed
