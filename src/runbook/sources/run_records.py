"""The tool's own run journals: ``.runbook/runs/<id>.jsonl`` written by `runbook observe` / `run`.

Sample line: ``{"event": "command-end", "exit_code": 0, "duration_s": 1.25, "seq": "4242-1"}``.
A stopped journal has already become an observation under ``.claude/observations/`` (which is
the evidence), so it yields nothing here; a journal still open, or orphaned by a killed process,
yields the run recorded so far, so no command is lost before `runbook observe recover` runs.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import PurePosixPath

from runbook.config import Config
from runbook.model import (
    Command,
    Diagnostic,
    EvidenceKind,
    Execution,
    ObservationMode,
    Outcome,
    ParsedFile,
    SourceRef,
)
from runbook.observe import parse_journal
from runbook.sources.common import environment_name, excerpt


def parse(text: str, rel: str, config: Config) -> ParsedFile:
    """One journal -> a ParsedFile: nothing when stopped, else the run recorded so far."""
    from pathlib import Path

    state = parse_journal(text, Path(PurePosixPath(rel).name))
    diags = [Diagnostic(SourceRef(rel, _line(p)), p.split(": ", 1)[-1]) for p in state.problems]
    if state.stopped or state.finalizing:  # its observation files exist (or are being written)
        return ParsedFile(path=rel, kind=EvidenceKind.RUN_RECORD, diagnostics=tuple(diags))
    if state.started_at is None and not state.commands:
        diags.append(Diagnostic(SourceRef(rel, 1), "no start event: not a runbook journal"))
        return ParsedFile(path=rel, kind=EvidenceKind.RUN_RECORD, diagnostics=tuple(diags))
    diags.append(
        Diagnostic(
            SourceRef(rel, 1),
            "recording not stopped (still open, or its process died): read as recorded so far; "
            "`runbook observe stop` or `runbook observe recover` turns it into an observation",
        )
    )
    commands = tuple(
        Command(
            text=c.text,
            source=SourceRef(rel, c.line),
            exit_code=c.exit_code,
            started_at=c.started_at,
            duration_s=c.duration_s,
            output=excerpt(c.output, config.output_excerpt_chars) if c.output else "",
            cwd=c.cwd or None,
            origin="run-record",
        )
        for c in state.commands
        if c.exit_code is not None
    )
    ends = [
        c.started_at + timedelta(seconds=c.duration_s or 0.0)
        for c in commands
        if c.started_at is not None
    ]
    finished = max(ends, default=None)
    started = state.started_at
    duration = (finished - started).total_seconds() if finished and started else None
    execution = Execution(
        id=rel,
        source=SourceRef(rel, 1),
        kind=EvidenceKind.RUN_RECORD,
        title=state.title,
        context=state.title,
        mode=ObservationMode.EXECUTION,
        environment=environment_name(state.env) if state.env else None,
        started_at=started,
        finished_at=finished,
        duration_s=duration if duration is None or duration >= 0 else None,
        outcome=Outcome.UNKNOWN,  # the run has not ended: its outcome is not known yet
        commands=commands,
        notes=tuple(state.notes),
        tags=tuple(sorted({t for t in (state.op_type, state.env, "in-progress") if t})),
        declared_type=state.op_type or None,
    )
    return ParsedFile(
        path=rel,
        kind=EvidenceKind.RUN_RECORD,
        executions=(execution,),
        diagnostics=tuple(diags),
    )


def _line(problem: str) -> int:
    # "20261129-….jsonl:7: unreadable event" -> 7
    head = problem.split(": ", 1)[0]
    tail = head.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else 0
