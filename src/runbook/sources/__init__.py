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
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from types import ModuleType

from runbook.config import Config
from runbook.model import EvidenceKind, ParsedFile, Skipped
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
        if size > limit:
            return Skipped(rel, f"file is {size} bytes, over the max_file_bytes limit of {limit}")
        if (path_reader := PATH_READERS.get((kind, real.suffix.lower()))) is not None:
            return _read_path(path_reader, real, rel, kind, config)
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
    # secrets are removed before any reader sees the text
    text, redactions = redact(text)
    try:
        parsed = parser(text, rel, config)
    except Exception as exc:  # a reader bug must not stop the rest of the corpus
        first = str(exc).split("\n")[0][:160]
        return Skipped(rel, f"reader failed ({type(exc).__name__}: {first})")
    return replace(
        parsed, path=rel, kind=kind, sha256=digest, redactions=parsed.redactions + redactions
    )
