"""The result cache: a generated runbook remembered for an unchanged corpus and request.

Table ``results(key, payload)`` in ``ROOT/.runbook/cache.sqlite`` (next to the parsed-evidence
entries of ``index``). The key is a sha256 over everything the output depends on:

- the tool: version, model schema, and every file of the package (mining, assembling and
  rendering change output without a version bump during development);
- the request: operation type, scope, the clock date, flags, link bases, the configuration;
- the corpus: what discovery saw — each candidate's (rel, kind, size, mtime_ns) and each skip
  reason — plus the git HEAD commit when git history is read.

The corpus part is the same stat-level identity the parsed-evidence cache trusts, so an
unchanged corpus costs one directory walk (no file is opened) and one lookup. The payload is
compact JSON via ``codec`` (never pickle: the root may be an untrusted repository), zlib-
compressed; anything unreadable is a miss.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import zlib
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from runbook import __version__
from runbook.discover import FileStat
from runbook.model import Candidate, Skipped

CACHE_DIR = ".runbook"
CACHE_NAME = "cache.sqlite"
KEEP_RESULTS = 16  # newest results kept; older ones are deleted on write
_GIT_TIMEOUT_S = 10.0


@cache
def package_hash(only: tuple[str, ...] = ()) -> str:
    """A hash of the package's source and template files (``only``: ``.py`` files under these
    relative path prefixes)."""
    # Fixes ship without version bumps during development: cached results must notice them.
    pkg = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(pkg):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in sorted(filenames):
            if name.endswith((".pyc", ".pyo")):
                continue
            path = Path(dirpath, name)
            rel = path.relative_to(pkg).as_posix()
            if only and not (rel.endswith(".py") and rel.startswith(only)):
                continue
            h.update(rel.encode())
            with contextlib.suppress(OSError), open(path, "rb") as fh:
                h.update(fh.read())
    return h.hexdigest()


def corpus_digest(found: Iterable[Candidate | FileStat | Skipped]) -> str:
    """A hash of what discovery saw: every candidate's stat identity and every skip reason.

    ``discover`` and ``stat_walk`` over the same files give the same digest.
    """
    h = hashlib.sha256()
    for item in found:
        if isinstance(item, Skipped):
            h.update(f"S\0{item.path}\0{item.reason}\n".encode())
        else:
            h.update(f"C\0{item.rel}\0{item.kind.value}\0{item.size}\0{item.mtime_ns}\n".encode())
    return h.hexdigest()


def git_head(root: Path) -> str | None:
    """The commit ``root``'s work tree is at, or None when it cannot be told."""
    git = shutil.which("git")
    if git is None:
        return None
    env = {k: v for k, v in os.environ.items() if k not in ("GIT_DIR", "GIT_WORK_TREE")}
    env.update({"GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"})
    try:
        done = subprocess.run(
            [git, "-C", str(root), "rev-parse", "--verify", "-q", "HEAD"],
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT_S,
            env=env,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    head = done.stdout.strip()
    return head if done.returncode == 0 and head else None


def result_key(*parts: str) -> str:
    """The cache key of a request: tool identity plus the caller's parts, hashed."""
    from runbook.index import schema_hash

    text = "\n".join((__version__, schema_hash(), package_hash(), *parts))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _connect(root: Path, *, create: bool) -> sqlite3.Connection | None:
    path = root / CACHE_DIR / CACHE_NAME
    if not create and not path.is_file():
        return None
    try:
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=10, isolation_level=None)
    except (OSError, sqlite3.Error):
        return None
    try:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS results (key TEXT PRIMARY KEY, payload BLOB NOT NULL)"
        )
    except sqlite3.Error:
        conn.close()
        return None
    return conn


def load_result(root: Path, key: str) -> object | None:
    """The JSON value stored under ``key`` (None on a miss or an unreadable entry)."""
    conn = _connect(root, create=False)
    if conn is None:
        return None
    try:
        row = conn.execute("SELECT payload FROM results WHERE key = ?", (key,)).fetchone()
    except sqlite3.Error:
        row = None
    finally:
        conn.close()
    if row is None or not isinstance(row[0], bytes):
        return None
    try:
        data: object = json.loads(zlib.decompress(row[0]))
    except (ValueError, zlib.error):
        return None
    return data


def store_result(root: Path, key: str, value: object) -> bool:
    """Store the JSON ``value`` under ``key``, keeping only the newest results; True on success."""
    payload = zlib.compress(
        json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8"), 6
    )
    conn = _connect(root, create=True)
    if conn is None:
        return False
    try:
        conn.execute("BEGIN")
        conn.execute("DELETE FROM results WHERE key = ?", (key,))
        conn.execute("INSERT INTO results (key, payload) VALUES (?, ?)", (key, payload))
        # rowid grows with each insert: everything but the newest KEEP_RESULTS goes
        conn.execute(
            "DELETE FROM results WHERE rowid NOT IN "
            "(SELECT rowid FROM results ORDER BY rowid DESC LIMIT ?)",
            (KEEP_RESULTS,),
        )
        conn.execute("COMMIT")
        return True
    except sqlite3.Error:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        return False
    finally:
        conn.close()


def clear_results(root: Path) -> None:
    """Forget every stored result under ``root``."""
    conn = _connect(root, create=False)
    if conn is None:
        return
    try:
        conn.execute("DELETE FROM results")
    except sqlite3.Error:
        pass
    finally:
        conn.close()


__all__ = [
    "clear_results",
    "corpus_digest",
    "git_head",
    "load_result",
    "package_hash",
    "result_key",
    "store_result",
]
