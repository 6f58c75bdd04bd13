"""Evidence readers: one module per format, each turning text into model objects.

``read_evidence`` is the one entry point: safe file IO (root containment, size limit, binary
and encoding checks), secret redaction on the whole text, then the per-format ``parse(text,
rel, config)``. One file is read at a time; nothing is kept between calls.
"""

from __future__ import annotations

import errno
import hashlib
import importlib
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import Any, BinaryIO

from runbook.config import Config
from runbook.model import Diagnostic, EvidenceKind, ParsedFile, Skipped, SourceRef
from runbook.redact import redact

Parser = Callable[[str, str, Config], ParsedFile]

# The module under ``runbook.sources`` that reads each kind; a kind whose module is not
# there yet is skipped with a reason instead of failing.
READER_MODULES: dict[EvidenceKind, str] = {
    EvidenceKind.OBSERVATION: "observations",
    EvidenceKind.JOURNAL: "journals",
    EvidenceKind.NOTES: "notes",
    EvidenceKind.CI_WORKFLOW: "github_actions:parse_workflow",  # "module:function" (default parse)
    EvidenceKind.CI_LOG: "github_actions:parse_log",
    EvidenceKind.SHELL_HISTORY: "shell_history",
    EvidenceKind.CAST: "asciinema",
    EvidenceKind.MIGRATION_FILE: "migrations",
    EvidenceKind.ALARM: "alarms",
    EvidenceKind.RUN_RECORD: "run_records",
    EvidenceKind.POSTMORTEM: "postmortems",
}

_BOMS = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),  # PowerShell transcripts are often UTF-16 with a BOM
    (b"\xfe\xff", "utf-16-be"),
)


def reader_for(kind: EvidenceKind) -> tuple[Parser | None, str]:
    """The ``parse`` function for ``kind``, or None and the reason there is none."""
    spec = READER_MODULES.get(kind)
    missing = f"no reader yet for kind {kind.value}"
    if spec is None:
        return None, missing
    name, _, attr = spec.partition(":")
    module: ModuleType
    try:
        module = importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"{__name__}.{name}":
            return None, missing
        return None, f"reader for kind {kind.value} unavailable: {exc}"
    except ImportError as exc:
        return None, f"reader for kind {kind.value} unavailable: {exc}"
    parse = getattr(module, attr or "parse", None)
    return (parse, "") if callable(parse) else (None, missing)


# Binary formats are read from the path instead of text: (kind, suffix) -> "module:function"
# with signature (path, rel, config) -> ParsedFile; the reader redacts what it returns.
PATH_READERS: dict[tuple[EvidenceKind, str], str] = {
    (EvidenceKind.SHELL_HISTORY, ".db"): "shell_history:parse_path",  # atuin's SQLite history
}


def _read_path(
    spec: str, real: Path, rel: str, kind: EvidenceKind, config: Config
) -> ParsedFile | Skipped:
    name, _, attr = spec.partition(":")
    try:
        reader: Callable[[Path, str, Config], ParsedFile] = getattr(
            importlib.import_module(f"{__name__}.{name}"), attr
        )
        with real.open("rb") as handle:
            digest = hashlib.file_digest(handle, "sha256").hexdigest()
        parsed = reader(real, rel, config)
    except Exception as exc:  # a reader bug must not stop the rest of the corpus
        return Skipped(
            rel, f"reader failed ({type(exc).__name__}: {str(exc).split(chr(10))[0][:160]})"
        )
    return replace(parsed, path=rel, kind=kind, sha256=digest)


# Machine logs grow past any whole-file limit (a 200 MB CI log, years of shell history): their
# kinds whose reader redacts what it reassembles (see _read_text)
REDACTED_BY_READER = frozenset({EvidenceKind.CAST})
# readers also take a stream of lines, ``parse_stream(lines, rel, config)``, and keep bounded
# state, so a file over max_file_bytes is read line by line instead of being skipped.
STREAM_READERS: dict[EvidenceKind, str] = {
    EvidenceKind.CI_LOG: "github_actions:parse_stream",
    EvidenceKind.SHELL_HISTORY: "shell_history:parse_stream",
}
_MAX_LINE_BYTES = 1 << 20  # a longer "line" (no newline for 1 MB) is cut into pieces
_REDACT_BLOCK_LINES = 2000


@dataclass
class _StreamStats:
    redactions: int = 0
    invalid_lines: int = 0


def _stream_lines(handle: BinaryIO, digest: Any, stats: _StreamStats) -> Iterator[str]:
    """Decoded, redacted lines of a file (line ends removed), hashing every byte read."""
    block: list[str] = []
    size = 0
    for line in _decoded_lines(handle, digest, stats):
        block.append(line)
        size += len(line)
        # redaction runs on blocks of lines: one regex pass per block is 3x faster than per line
        if len(block) >= _REDACT_BLOCK_LINES or size >= _MAX_LINE_BYTES:
            yield from _redacted(block, stats)
            block = []
            size = 0
    yield from _redacted(block, stats)


def _decoded_lines(handle: BinaryIO, digest: Any, stats: _StreamStats) -> Iterator[str]:
    first = True
    while raw := handle.readline(_MAX_LINE_BYTES):
        digest.update(raw)
        if first and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        first = False
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            stats.invalid_lines += 1
            text = raw.decode("utf-8", errors="replace")
        text = text.rstrip("\n").removesuffix("\r")
        # a bare CR starts a new line, as in the whole-file path (progress bars in CI logs)
        yield from text.split("\r")


def _redacted(block: list[str], stats: _StreamStats) -> list[str]:
    if not block:
        return []
    clean, n = redact("\n".join(block))
    out = clean.split("\n")
    if len(out) != len(block):  # a redaction spanned lines: redact one by one, lines stay exact
        out, n = [], 0
        for line in block:
            text, k = redact(line)
            out.append(text)
            n += k
    stats.redactions += n
    return out


def _read_stream(
    spec: str, real: Path, rel: str, kind: EvidenceKind, config: Config
) -> ParsedFile | Skipped:
    name, _, attr = spec.partition(":")
    try:
        reader: Callable[[Iterable[str], str, Config], ParsedFile] = getattr(
            importlib.import_module(f"{__name__}.{name}"), attr
        )
        with real.open("rb") as handle:
            start = handle.read(8192)
            if start.startswith((b"\xff\xfe", b"\xfe\xff")):
                return Skipped(rel, "UTF-16 file over max_file_bytes; only UTF-8 is streamed")
            if (nul := start.find(b"\x00")) >= 0:
                return Skipped(rel, f"binary file (NUL byte at offset {nul})")
            handle.seek(0)
            digest = hashlib.sha256()
            stats = _StreamStats()
            lines = _stream_lines(handle, digest, stats)
            parsed = reader(lines, rel, config)
            for _ in lines:  # hash what the reader did not need
                pass
    except OSError as exc:
        return Skipped(rel, f"cannot read: {exc.strerror or exc}")
    except Exception as exc:  # a reader bug must not stop the rest of the corpus
        return Skipped(
            rel, f"reader failed ({type(exc).__name__}: {str(exc).split(chr(10))[0][:160]})"
        )
    size = real.stat().st_size
    notes = [
        Diagnostic(
            SourceRef(rel),
            f"read line by line: {size} bytes is over max_file_bytes ({config.max_file_bytes})",
        )
    ]
    if stats.invalid_lines:
        notes.append(
            Diagnostic(
                SourceRef(rel), f"{stats.invalid_lines} line(s) were not valid UTF-8 (replaced)"
            )
        )
    return replace(
        parsed,
        path=rel,
        kind=kind,
        sha256=digest.hexdigest(),
        redactions=parsed.redactions + stats.redactions,
        diagnostics=(*parsed.diagnostics, *notes),
    )


def _rel(path: Path, root: Path) -> str:
    """Root-relative POSIX path, computed lexically (the file may resolve elsewhere)."""
    try:
        rel = os.path.relpath(os.path.abspath(path), os.path.abspath(root))
    except ValueError:  # different drives on Windows
        return path.as_posix()
    return Path(rel).as_posix()


def _decode(data: bytes) -> tuple[str | None, str]:
    """(text, "") or (None, reason) for raw file bytes."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            if encoding.startswith("utf-16"):
                try:
                    return data[len(bom) :].decode(encoding), ""
                except UnicodeDecodeError as exc:
                    return None, f"invalid {encoding.upper()} at byte {exc.start + len(bom)}"
            data_start = len(bom)
            break
    else:
        data_start = 0
    nul = data.find(b"\x00")
    if nul >= 0:
        return None, f"binary file (NUL byte at offset {nul})"
    try:
        return data[data_start:].decode("utf-8"), ""
    except UnicodeDecodeError as exc:
        return None, f"invalid UTF-8 at byte {exc.start + data_start}"


def read_evidence(
    path: Path, root: Path, kind: EvidenceKind, config: Config
) -> ParsedFile | Skipped:
    """Read one evidence file safely, redact secrets, and parse it with the reader for ``kind``."""
    if not path.is_absolute() and not path.exists() and (root / path).exists():
        path = root / path
    rel = _rel(path, root)
    try:
        real = path.resolve(strict=True)
        real_root = root.resolve(strict=True)
    except RuntimeError:  # Python < 3.13 reports a symlink loop this way
        return Skipped(rel, "symlink loop")
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return Skipped(rel, "symlink loop")
        if exc.errno in (errno.EACCES, errno.EPERM):
            return Skipped(rel, "permission denied")
        return Skipped(rel, f"cannot open: {exc.strerror or exc}")
    if not real.is_relative_to(real_root):
        return Skipped(rel, "resolves outside the root (symlink or '..'); not read")
    if not real.is_file():
        return Skipped(rel, "not a regular file")
    parser, why = reader_for(kind)
    if parser is None:
        return Skipped(rel, why)
    limit = config.max_file_bytes
    try:
        size = real.stat().st_size
        streamable = kind in STREAM_READERS and size <= config.max_stream_bytes
        if size > limit and not streamable:
            return Skipped(rel, f"file is {size} bytes, over the max_file_bytes limit of {limit}")
        if (path_reader := PATH_READERS.get((kind, real.suffix.lower()))) is not None:
            return _read_path(path_reader, real, rel, kind, config)
        if size > limit:
            return _read_stream(STREAM_READERS[kind], real, rel, kind, config)
        with real.open("rb") as handle:
            data = handle.read(limit + 1)  # the file may have grown since stat
    except PermissionError:
        return Skipped(rel, "permission denied")
    except OSError as exc:
        return Skipped(rel, f"cannot read: {exc.strerror or exc}")
    if len(data) > limit:
        return Skipped(rel, f"file is over the max_file_bytes limit of {limit}")
    digest = hashlib.sha256(data).hexdigest()
    text, reason = _decode(data)
    del data
    if text is None:
        return Skipped(rel, reason)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # Secrets are removed before any reader sees the text -- except in a terminal recording,
    # whose keystrokes arrive a few characters per event: there a secret is only whole after
    # replay, and redacting the event stream would cut "Bearer" after its "B". The cast
    # reader redacts every replayed line, its title and command itself (asciinema.parse).
    redactions = 0
    if kind not in REDACTED_BY_READER:
        text, redactions = redact(text)
    try:
        parsed = parser(text, rel, config)
    except Exception as exc:  # a reader bug must not stop the rest of the corpus
        first = redact(str(exc).split("\n")[0][:160])[0]
        return Skipped(rel, f"reader failed ({type(exc).__name__}: {first})")
    return replace(
        parsed, path=rel, kind=kind, sha256=digest, redactions=parsed.redactions + redactions
    )
