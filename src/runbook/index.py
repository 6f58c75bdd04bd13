"""The parsed-evidence cache and corpus loading: discover, read one file at a time, remember.

Cache: ``ROOT/.runbook/cache.sqlite`` (stdlib sqlite3), one row per evidence file:
``entries(rel, size, mtime_ns, sha256, payload)`` where payload is the typed JSON of the
``ParsedFile`` (or ``Skipped``) the readers returned — JSON via ``codec``, never pickle,
because the root may be an untrusted repository.

Lookup, designed so an unchanged corpus costs one stat per file and no hashing:
(rel, size, mtime_ns) equal -> reuse; size or mtime changed -> hash the bytes and reuse
when the sha256 is unchanged (a ``touch`` or a checkout); otherwise re-parse. The whole
cache is dropped when the fingerprint changes: tool version, the shape of every model
dataclass, the reader code, and the parsing-relevant configuration.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import hashlib
import json
import os
import sqlite3
import sys
import threading
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runbook import __version__, model
from runbook.codec import CodecError, from_json, to_json, type_hints
from runbook.config import Config
from runbook.discover import discover
from runbook.model import (
    Candidate,
    Corpus,
    Diagnostic,
    EvidenceKind,
    ParsedFile,
    Skipped,
    SourceRef,
)
from runbook.result_cache import package_hash

if TYPE_CHECKING:
    from concurrent.futures import Executor, Future

Reader = Callable[[Path, Path, EvidenceKind, Config], "ParsedFile | Skipped"]
Progress = Callable[[int, int], None]

CACHE_DIR = ".runbook"
CACHE_NAME = "cache.sqlite"
CACHE_REL = f"{CACHE_DIR}/{CACHE_NAME}"
_BATCH = 500  # rows per executemany; all inside one transaction
_HASH_CHUNK = 1 << 20
_PARALLEL_MIN = 200  # files to parse before a process pool pays for its start (~0.5 s)
_MAX_WORKERS = 8
_CHUNK = 16  # files per task sent to a worker
_AHEAD = 4  # chunks in flight per worker
# Configuration fields that change what readers produce (owner/out_dir/exclude do not).
_PARSE_CONFIG = ("max_file_bytes", "output_excerpt_chars", "history_idle_gap_s")


def _default_reader(
    path: Path, root: Path, kind: EvidenceKind, config: Config
) -> ParsedFile | Skipped:
    from runbook.sources import read_evidence  # imported late: readers are the heavy part

    return read_evidence(path, root, kind, config)


@cache
def schema_hash() -> str:
    """A hash of every model dataclass's field names and types: changes when the schema does."""
    h = hashlib.sha256()
    for name in sorted(vars(model)):
        obj = getattr(model, name)
        if (
            isinstance(obj, type)
            and dataclasses.is_dataclass(obj)
            and obj.__module__ == model.__name__
        ):
            hints = type_hints(obj)
            h.update(name.encode())
            for f in dataclasses.fields(obj):
                h.update(f"|{f.name}:{hints[f.name]!r}".encode())
            h.update(b"\n")
    return h.hexdigest()


# The code whose output the cache stores: readers and what they call, the model, the codec.
_PARSING_CODE: tuple[str, ...] = ("sources", "model.py", "codec.py", "config.py", "normalize.py")
_PARSING_CODE += ("redact.py", "timeparse.py", "index.py")


def fingerprint(config: Config) -> str:
    """What a cache entry depends on besides the file: version, schema, code, config."""
    # Reader fixes ship without version bumps during development; a change to the parsing
    # code must invalidate parsed results, or a fixed parser would stay invisible.
    parts = [__version__, schema_hash(), package_hash(_PARSING_CODE)]
    parts += [f"{name}={getattr(config, name)!r}" for name in _PARSE_CONFIG]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def load_corpus(
    root: Path,
    config: Config,
    *,
    progress: Progress | None = None,
    reader: Reader | None = None,
    found: Iterable[Candidate | Skipped] | None = None,
) -> Corpus:
    """Discover and parse every evidence file under ``root``, reusing the cache when valid.

    ``found``: what ``discover`` yielded, when the caller already walked the root.
    """
    candidates: list[Candidate] = []
    skipped: list[Skipped] = []
    for item in discover(root, config) if found is None else found:
        if isinstance(item, Skipped):
            skipped.append(item)
        else:
            candidates.append(item)
    candidates.sort(key=lambda c: c.rel)

    diagnostics: list[Diagnostic] = []
    store = _Store.open(root, config, diagnostics) if config.cache else None
    files: list[ParsedFile] = []
    total = len(candidates)
    # Parsed evidence is an acyclic tree of frozen dataclasses: the cyclic collector only
    # rescans the growing heap (10x slower at 100k files on 3.11), so pause it while loading.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        misses: list[tuple[Candidate, str | None]] = []
        results: list[ParsedFile | Skipped | None] = []
        for cand in candidates:
            hit, digest = _lookup(cand, store)
            results.append(hit)
            if hit is None:
                misses.append((cand, digest))
        parsed = _read_all(misses, root, config, reader)
        done = total - len(misses)
        if progress is not None and done:
            progress(done, total)  # the hits at once: a bar (and its thread) starts after forks
        for i, cand in enumerate(candidates):
            if results[i] is None:
                raw, digest = next(parsed)
                results[i] = _remember(cand, raw, digest, store)
                done += 1
                if progress is not None:
                    progress(done, total)
            result = results[i]
            results[i] = None  # the list must not keep a second reference alive
            if isinstance(result, Skipped):
                skipped.append(result)
            elif result is not None:
                files.append(result)
        if store is not None:
            store.finish({c.rel for c in candidates}, diagnostics)
    finally:
        if gc_was_enabled:
            gc.enable()
        if store is not None:
            store.close()
    if config.git and (root / ".git").exists():
        # git history has no file: read once per load and never cached (HEAD moves by itself)
        from runbook.sources.git_history import read_git_history

        deployments = [e for f in files for e in f.executions]
        history = read_git_history(root, config, deployments=deployments)
        if isinstance(history, Skipped):
            skipped.append(history)
        elif history.executions or history.diagnostics:
            files.append(history)
            files.sort(key=lambda f: f.path)
    skipped.sort(key=lambda s: (s.path, s.reason))
    return Corpus(files=tuple(files), skipped=tuple(skipped), diagnostics=tuple(diagnostics))


def _lookup(
    cand: Candidate, store: _Store | None
) -> tuple[ParsedFile | Skipped | None, str | None]:
    """(cached result or None, the file's sha256 when it had to be computed)."""
    digest: str | None = None
    if store is not None:
        hit = store.lookup(cand)
        if hit is not None:
            return hit, None
        if cand.rel in store.keys:
            # Stat changed; content may not have (touch, checkout): compare hashes.
            digest = _sha256(cand.path)
            if digest is not None:
                hit = store.lookup_by_hash(cand, digest)
                if hit is not None:
                    return hit, digest
    return None, digest


def _read_one(cand: Candidate, root: Path, config: Config, read: Reader) -> ParsedFile | Skipped:
    try:
        return read(cand.path, root, cand.kind, config)
    except Exception as exc:  # a reader bug must not take the whole corpus down
        return Skipped(cand.rel, f"reader failed: {type(exc).__name__}: {exc}")


def _read_chunk(cands: list[Candidate], root: Path, config: Config) -> list[ParsedFile | Skipped]:
    """A worker's task: read a few files with the default reader."""
    return [_read_one(cand, root, config, _default_reader) for cand in cands]


def _workers() -> int:
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return min(cpus, _MAX_WORKERS)


def _read_all(
    misses: list[tuple[Candidate, str | None]],
    root: Path,
    config: Config,
    custom: Reader | None,
) -> Iterator[tuple[ParsedFile | Skipped, str | None]]:
    """Read every missed file, in order; many of them with the default reader go to a pool.

    A pool's workers are forked before this returns (so before a progress bar's thread).
    """
    workers = _workers()
    # Parsing is CPU-bound pure Python: one process per CPU, results back in order (output is
    # unchanged). Only by fork (no re-import of the caller's main module, no start-up cost),
    # and only from a single-threaded process: a fork copies no other thread's held locks.
    if (
        custom is None
        and workers > 1
        and len(misses) >= _PARALLEL_MIN
        and sys.platform == "linux"
        and threading.active_count() == 1
    ):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        chunks = [
            [cand for cand, _ in misses[i : i + _CHUNK]] for i in range(0, len(misses), _CHUNK)
        ]
        try:
            pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
        except Exception:  # no pool here (sandbox, frozen app): read in-process
            return _read_serial(misses, 0, root, config, _default_reader)
        try:
            # a fork context starts every worker on the first submit, i.e. now
            ahead = deque([pool.submit(_read_chunk, chunks[0], root, config)])
        except Exception:
            pool.shutdown(wait=True, cancel_futures=True)
            return _read_serial(misses, 0, root, config, _default_reader)
        return _drain(pool, ahead, chunks, workers * _AHEAD, misses, root, config)
    return _read_serial(misses, 0, root, config, custom or _default_reader)


def _read_serial(
    misses: list[tuple[Candidate, str | None]],
    start: int,
    root: Path,
    config: Config,
    read: Reader,
) -> Iterator[tuple[ParsedFile | Skipped, str | None]]:
    for cand, digest in misses[start:]:
        yield _read_one(cand, root, config, read), digest


def _drain(
    pool: Executor,
    ahead: deque[Future[list[ParsedFile | Skipped]]],
    chunks: list[list[Candidate]],
    window: int,
    misses: list[tuple[Candidate, str | None]],
    root: Path,
    config: Config,
) -> Iterator[tuple[ParsedFile | Skipped, str | None]]:
    # Only `window` chunks are in flight: when this process falls behind the workers, parsed
    # files wait in the workers' queue as jobs, not here as results (100k would not fit).
    done = 0
    submitted = len(ahead)
    try:
        while ahead:
            while submitted < len(chunks) and len(ahead) < window:
                ahead.append(pool.submit(_read_chunk, chunks[submitted], root, config))
                submitted += 1
            for result in ahead.popleft().result():
                yield result, misses[done][1]
                done += 1
    except Exception:  # a broken worker: the rest is read in-process, never a failure
        pool.shutdown(wait=True, cancel_futures=True)
        yield from _read_serial(misses, done, root, config, _default_reader)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _remember(
    cand: Candidate, result: ParsedFile | Skipped, digest: str | None, store: _Store | None
) -> ParsedFile | Skipped:
    """Store a freshly read result and hand back its decoded (string-sharing) form."""
    if isinstance(result, ParsedFile) and not result.sha256:
        digest = digest or _sha256(cand.path) or ""
        result = dataclasses.replace(result, sha256=digest)
    try:
        data = _to_data(result)
    except (CodecError, RecursionError):
        return result  # not storable: used as read, parsed again next time
    if store is not None:
        sha = (
            result.sha256
            if isinstance(result, ParsedFile)
            else (digest or _sha256(cand.path) or "")
        )
        store.put_data(cand, sha, data)
    if isinstance(result, ParsedFile):
        # Hand back what a warm run would decode: the same values, with repeated strings
        # shared (half the memory of a large corpus), and cold == warm by construction.
        try:
            return from_json(ParsedFile, data["parsed"])
        except (CodecError, RecursionError):
            pass
    return result


def _sha256(path: Path) -> str | None:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(_HASH_CHUNK):
                h.update(chunk)
    except OSError:
        return None
    return h.hexdigest()


def _to_data(result: ParsedFile | Skipped) -> dict[str, Any]:
    tag = "skipped" if isinstance(result, Skipped) else "parsed"
    return {tag: to_json(result, omit_defaults=True)}


def _encode(result: ParsedFile | Skipped) -> bytes:
    return _compress(_to_data(result))


def _compress(data: dict[str, Any]) -> bytes:
    # Compact JSON (defaults left out), zlib-compressed: 100k files stay in tens of MB.
    return zlib.compress(json.dumps(data, separators=(",", ":")).encode("utf-8"), 6)


def _decode(payload: bytes | str) -> ParsedFile | Skipped | None:
    try:
        text = zlib.decompress(payload) if isinstance(payload, bytes) else payload
        data = json.loads(text)
        if isinstance(data, dict) and "parsed" in data:
            return from_json(ParsedFile, data["parsed"])
        if isinstance(data, dict) and "skipped" in data:
            return from_json(Skipped, data["skipped"])
    except (ValueError, CodecError, RecursionError, zlib.error):
        pass
    return None  # unreadable entry: treated as a miss and re-parsed


class _Store:
    """The SQLite cache: keys loaded with one SELECT, writes batched in one transaction."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path
        self.keys: dict[str, tuple[int, int, str]] = {}
        self.pending: list[tuple[str, str, int, int, str, bytes]] = []  # (op, row...)
        self.in_txn = False
        self.failed = False

    @classmethod
    def open(cls, root: Path, config: Config, diagnostics: list[Diagnostic]) -> _Store | None:
        path = root / CACHE_DIR / CACHE_NAME
        try:
            return cls._open(path, config)
        except sqlite3.OperationalError as exc:  # locked, read-only, cannot open
            diagnostics.append(
                _diag(f"cache disabled: cannot use {path} ({exc}); every file is parsed")
            )
            return None
        except sqlite3.DatabaseError as exc:
            # Corrupt or foreign file: rebuild from scratch rather than fail the run.
            diagnostics.append(_diag(f"cache was unreadable ({exc}); rebuilt it"))
            _remove(path)
            try:
                return cls._open(path, config)
            except (sqlite3.Error, OSError) as exc2:
                diagnostics.append(_diag(f"cache disabled: {exc2}; every file is parsed"))
                return None
        except (sqlite3.Error, OSError) as exc:
            diagnostics.append(
                _diag(f"cache disabled: cannot write {path} ({exc}); every file is parsed")
            )
            return None

    @classmethod
    def _open(cls, path: Path, config: Config) -> _Store:
        path.parent.mkdir(parents=True, exist_ok=True)
        _ignore_file(path.parent)
        conn = sqlite3.connect(path, timeout=10, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=DELETE")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
            )
            conn.execute(
                "CREATE TABLE IF NOT EXISTS entries (rel TEXT PRIMARY KEY, size INTEGER NOT NULL,"
                " mtime_ns INTEGER NOT NULL, sha256 TEXT NOT NULL, payload BLOB NOT NULL)"
            )
            want = fingerprint(config)
            row = conn.execute("SELECT value FROM meta WHERE key = 'fingerprint'").fetchone()
            if row is None or row[0] != want:
                conn.execute("BEGIN")
                conn.execute("DELETE FROM entries")
                conn.execute("INSERT OR REPLACE INTO meta VALUES ('fingerprint', ?)", (want,))
                conn.execute("COMMIT")
            store = cls(conn, path)
            store.keys = {
                rel: (size, mtime, sha)
                for rel, size, mtime, sha in conn.execute(
                    "SELECT rel, size, mtime_ns, sha256 FROM entries"
                )
            }
            return store
        except BaseException:
            conn.close()
            raise

    def lookup(self, cand: Candidate) -> ParsedFile | Skipped | None:
        key = self.keys.get(cand.rel)
        if key is None or key[0] != cand.size or key[1] != cand.mtime_ns:
            return None
        return self._payload(cand.rel)

    def lookup_by_hash(self, cand: Candidate, digest: str) -> ParsedFile | Skipped | None:
        key = self.keys.get(cand.rel)
        if key is None or key[2] != digest:
            return None
        hit = self._payload(cand.rel)
        if hit is not None:
            # Same content, new stat: refresh the key so the next run is a plain hit.
            self._queue("UPDATE", (cand.rel, cand.size, cand.mtime_ns, digest, b""))
        return hit

    def _payload(self, rel: str) -> ParsedFile | Skipped | None:
        try:
            row = self.conn.execute("SELECT payload FROM entries WHERE rel = ?", (rel,)).fetchone()
        except sqlite3.Error:
            return None
        return _decode(row[0]) if row else None

    def put(self, cand: Candidate, sha: str, result: ParsedFile | Skipped) -> None:
        self._queue("UPSERT", (cand.rel, cand.size, cand.mtime_ns, sha, _encode(result)))

    def put_data(self, cand: Candidate, sha: str, data: dict[str, Any]) -> None:
        """``put`` for a result already turned into JSON data (``_to_data``)."""
        self._queue("UPSERT", (cand.rel, cand.size, cand.mtime_ns, sha, _compress(data)))

    def _queue(self, op: str, row: tuple[str, int, int, str, bytes]) -> None:
        self.pending.append((op, *row))
        if len(self.pending) >= _BATCH:
            self._flush()

    def _flush(self) -> None:
        if not self.pending or self.failed:
            self.pending.clear()
            return
        rows = self.pending
        self.pending = []
        try:
            if not self.in_txn:
                self.conn.execute("BEGIN")
                self.in_txn = True
            upserts = [r[1:] for r in rows if r[0] == "UPSERT"]
            updates = [(r[2], r[3], r[1]) for r in rows if r[0] == "UPDATE"]
            self.conn.executemany("INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?)", upserts)
            self.conn.executemany(
                "UPDATE entries SET size = ?, mtime_ns = ? WHERE rel = ?", updates
            )
        except sqlite3.Error:
            self.failed = True

    def finish(self, present: Iterable[str], diagnostics: list[Diagnostic]) -> None:
        """Write pending rows, drop entries for files that disappeared, commit once."""
        self._flush()
        gone = sorted(set(self.keys) - set(present))
        try:
            if not self.failed and (gone or self.in_txn):
                if not self.in_txn:
                    self.conn.execute("BEGIN")
                    self.in_txn = True
                self.conn.executemany("DELETE FROM entries WHERE rel = ?", [(r,) for r in gone])
            if self.in_txn:
                self.conn.execute("ROLLBACK" if self.failed else "COMMIT")
                self.in_txn = False
        except sqlite3.Error as exc:
            self.failed = True
            diagnostics.append(_diag(f"cache not updated: {exc}"))
            return
        if self.failed:
            diagnostics.append(
                _diag("cache not updated: a write failed; results were still parsed")
            )

    def close(self) -> None:
        try:
            if self.in_txn:
                self.conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass
        finally:
            self.conn.close()


def _diag(message: str) -> Diagnostic:
    return Diagnostic(SourceRef(CACHE_REL), message)


def _remove(path: Path) -> None:
    for p in (path, path.with_name(path.name + "-journal"), path.with_name(path.name + "-wal")):
        with contextlib.suppress(OSError):
            p.unlink()


def _ignore_file(directory: Path) -> None:
    # Keep the cache (and this file) out of version control, but not the run records.
    ignore = directory / ".gitignore"
    if not ignore.exists():
        ignore.write_text(f"{CACHE_NAME}\n{CACHE_NAME}-*\n.gitignore\n", encoding="utf-8")


def clear_cache(root: Path) -> bool:
    """Delete the cache file under ``root``; True when there was one."""
    path = root / CACHE_DIR / CACHE_NAME
    existed = path.exists()
    _remove(path)
    return existed and not path.exists()


__all__ = ["Progress", "Reader", "clear_cache", "fingerprint", "load_corpus", "schema_hash"]
