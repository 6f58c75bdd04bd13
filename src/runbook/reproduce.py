"""One observation file -> a reproduction guide (the single-run counterpart of `generate`).

The original's `/reproduce`: context, environment, the exact commands in order (with exit codes,
durations and recorded output), what the run expected, the failure and what to look at.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path, PurePosixPath

from runbook.assemble import program_of, slugify
from runbook.config import Config
from runbook.discover import kind_of
from runbook.errors import InputError, NoEvidenceError
from runbook.model import Command, EvidenceKind, Execution, Outcome, ParsedFile, Skipped
from runbook.render.markdown import environment, format_seconds, tidy

REPRODUCTIONS_DIR = ".claude/reproductions"
_OBSERVATION_PREFIX = re.compile(r"^(?:execution|failure|behavior)-\d{4,6}-", re.I)


@dataclass(frozen=True, slots=True)
class Reproduction:
    """A rendered reproduction guide and where it would be written (root-relative)."""

    markdown: str
    relpath: str
    source: str
    runs: int


def reproduction_path(source_rel: str, today: date) -> str:
    """`.claude/reproductions/YYYY-MM-DD-slug.md` for an observation path."""
    stem = PurePosixPath(source_rel).stem
    slug = slugify(_OBSERVATION_PREFIX.sub("", stem), 60)
    return f"{REPRODUCTIONS_DIR}/{today.isoformat()}-{slug}.md"


def read_observation(path: Path, root: Path, config: Config) -> ParsedFile:
    """Parse one evidence file for reproduction; errors name the file and the reason."""
    from runbook.sources import read_evidence  # readers are the heavy part

    candidate = path if path.is_absolute() or path.exists() else root / path
    try:
        rel = candidate.resolve().relative_to(root.resolve()).as_posix()
    except (OSError, ValueError):
        rel = candidate.as_posix()
    if not candidate.is_file():
        raise InputError(f"{path}: no such observation file")
    kind = kind_of(rel) or EvidenceKind.OBSERVATION
    parsed = read_evidence(candidate, root, kind, config)
    if isinstance(parsed, Skipped):
        raise InputError(f"{parsed.path}: cannot read: {parsed.reason}")
    return parsed


def reproduce(path: Path, root: Path, *, today: date, config: Config | None = None) -> Reproduction:
    """Build the reproduction guide for the observation at ``path`` (under ``root``)."""
    parsed = read_observation(path, root, config or Config())
    if not parsed.executions:
        raise NoEvidenceError(
            f"{parsed.path}: no recorded run found (no commands, errors or outcome)",
            hint="an observation needs a `## Tool Calls`, `**Commands Executed**:` list, "
            "`## Raw Log` or shell fence",
        )
    runs = [_run_view(e, i) for i, e in enumerate(parsed.executions, start=1)]
    body = (
        environment()
        .get_template("reproduce.md.j2")
        .render(
            source=parsed.path,
            sha256=parsed.sha256,
            today=today.isoformat(),
            runs=runs,
            diagnostics=[f"{d.source}: {d.message}" for d in parsed.diagnostics],
        )
    )
    return Reproduction(
        markdown=tidy(body),
        relpath=reproduction_path(parsed.path, today),
        source=parsed.path,
        runs=len(runs),
    )


def _run_view(execution: Execution, index: int) -> dict[str, object]:
    commands = [_command_view(c, n) for n, c in enumerate(execution.commands, start=1)]
    failing = next(
        (c for c in commands if c["exit_code"] not in (None, 0)),
        None,
    )
    look_at: list[str] = []
    if failing is not None:
        look_at.append(
            f"Command {failing['number']} (`{failing['text_one_line']}`) exited with "
            f"{failing['exit_code']}: start there."
        )
    for error in execution.errors:
        if error.command:
            look_at.append(f"The error was raised by `{_one_line(error.command)}` ({error.source})")
            break
    if execution.errors:
        look_at.append(
            f"Error text to search logs for: `{_error_line(execution.errors[0].message)}`"
        )
    for note in execution.notes:
        head = note.split(":", 1)[0].strip().lower()
        if any(w in head for w in ("timeline", "stack", "symptom", "data captured", "log")):
            look_at.append(f"Recorded {note.split(':', 1)[0].strip()} (see the source file)")
    if not look_at and execution.outcome is Outcome.FAILURE:
        look_at.append(
            "The record names no failing command: compare its output with a successful run"
        )
    programs: list[str] = []
    for command in execution.commands:
        program, _ = program_of(command.text)
        if program and program not in programs:
            programs.append(program)
    return {
        "index": index,
        "e": execution,
        "commands": commands,
        "programs": programs,
        "cwds": sorted({c.cwd for c in execution.commands if c.cwd}),
        "look_at": look_at,
        "failed": execution.outcome is Outcome.FAILURE or bool(execution.errors),
        "duration": format_seconds(execution.duration_s) if execution.duration_s else "",
    }


def _command_view(command: Command, number: int) -> dict[str, object]:
    return {
        "number": number,
        "text": command.text,
        "text_one_line": _one_line(command.text),
        "exit_code": command.exit_code,
        "duration": format_seconds(command.duration_s) if command.duration_s is not None else "",
        "started": command.started_at.isoformat(sep=" ") if command.started_at else "",
        "output": command.output.strip("\n"),
        "note": command.outcome_note,
        "source": str(command.source),
    }


_ERRORISH = re.compile(r"(?i)error|exception|failed|failure|denied|timed? ?out|fatal|panic|refused")


def _error_line(message: str) -> str:
    """The line of a multi-line error worth searching for (the one that says what failed)."""
    lines = [line.strip(" \t│╷╵|") for line in message.splitlines()]
    lines = [line for line in lines if line]
    chosen = next((line for line in lines if _ERRORISH.search(line)), lines[0] if lines else "")
    return _one_line(chosen).replace("`", "'")


def _one_line(text: str, limit: int = 140) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def summarize(reproductions: Sequence[Reproduction]) -> str:
    """One line per guide, for stderr."""
    return "\n".join(f"{r.source} → {r.relpath} ({r.runs} run(s))" for r in reproductions)
