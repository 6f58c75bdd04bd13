"""Generic operations notes: session reports, bug hunts, checklists, existing runbooks and guides.

Sample lines: ``09:18:44  docker push -> DENIED, token expired`` (a timeline), ``$ dr test smoke``
(a prompt line, its output follows), ``Error: Task timed out after 30.00 seconds``,
``Expected: HTTP 200``, ``## 2025-03-02 deploy`` (one session of several in one file).

A file with dated sessions yields one Execution per session; an undated hand-written runbook or
guide yields one Execution tagged "guide" with outcome UNKNOWN, so mining can tell it is not a run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import PurePosixPath
from typing import Any

from runbook.config import Config
from runbook.model import (
    Command,
    Diagnostic,
    ErrorEvent,
    EvidenceKind,
    Execution,
    Outcome,
    ParsedFile,
    SourceRef,
)
from runbook.sources.common import (
    DATE_IN,
    LOOSE_INFOS,
    attach_timeline,
    command_key,
    declared_type,
    environment_name,
    errors_from_output,
    excerpt,
    exit_code_in,
    exit_outcome,
    expectation,
    fence_commands,
    fill_durations,
    front_matter_diagnostics,
    inline_commands,
    is_error_line,
    item_remarks,
    last_date_in,
    merge_commands,
    meta_datetime,
    operation_from_words,
    outcome_from_commands,
    outcome_word,
    prose_total,
    roll_days,
    step_commands,
    table_rows,
    tables,
    unique,
    ymd_date,
)
from runbook.sources.markdown import (
    Document,
    Fence,
    boolean,
    heading_matches,
    label,
    norm_heading,
    scalar,
    words_list,
)
from runbook.sources.shell import split_script
from runbook.timeparse import find_timestamp, parse_duration, parse_timestamp

_GUIDE_WORDS = re.compile(
    r"\b(?:runbooks?|guides?|playbooks?|how[- ]?to|howto|procedures?|checklists?|troubleshooting|"
    r"readme|manual|sop|instructions|handbook|cheat[- ]?sheet|reference)\b",
    re.IGNORECASE,
)
_PROMPT_START = re.compile(r"^\s*(?:[\w.-]+@[\w.-]+\S*\s?[$#%]|\$|PS[^>]{0,80}>)\s")
_ERROR_PROSE = re.compile(
    r"^\s*+(?:>\s*)?(?:[-*+]\s+)?(?:\*\*|__)?(?:Error|ERROR|Fatal|FATAL|Failure|FAILED)(?:\*\*|__)?\s*:\s*(?:\*\*|__)?\s*(.+)$"
)
_LABEL_SPLIT = re.compile(r"(?<!\s)\s+[·•|]\s+")
_OUTCOME_LABELS = ("result", "outcome", "status", "conclusion", "final status")
_OUTCOME_HEADINGS = frozenset(
    norm_heading(h) for h in ("outcome", "result", "results", "ergebnis", "conclusion")
)
_ENV_LABELS = ("environment", "env", "stage", "target", "target environment")
_DATE_LABELS = ("date", "when", "day", "started", "start", "started at")


@dataclass(frozen=True, slots=True)
class _Span:
    """A session: a line range of the document with its heading."""

    start: int  # 0-based, inclusive
    end: int  # 0-based, exclusive
    title: str
    line: int  # 1-based heading line, 0 for the whole file
    day: date | None


def parse(text: str, rel: str, config: Config) -> ParsedFile:
    """A notes file → one Execution per dated session (or one guide Execution)."""
    doc = Document(text)
    diags = front_matter_diagnostics(doc, rel, "ignored")
    executions = executions_from(doc, rel, config, EvidenceKind.NOTES, diags)
    return ParsedFile(
        path=rel, kind=EvidenceKind.NOTES, executions=tuple(executions), diagnostics=tuple(diags)
    )


def executions_from(
    doc: Document,
    rel: str,
    config: Config,
    kind: EvidenceKind,
    diags: list[Diagnostic],
    *,
    require_run: bool = False,
) -> list[Execution]:
    """Executions in a markdown document read as operations notes (also used for journals)."""
    meta = doc.meta
    stem = PurePosixPath(rel).stem
    file_day = _file_date(rel)
    meta_day, meta_start = meta_datetime(meta, file_day)
    label_day = _label_date(doc, 0, len(doc.lines))
    base_day = meta_day or label_day
    spans = _dated_sections(doc)
    if not spans:
        day = base_day or _heading_date(doc.title) or _first_dated_stamp(doc)
        title = doc.title or scalar(meta.get("title")) or stem.replace("-", " ").replace("_", " ")
        named = bool(_GUIDE_WORDS.search(stem.replace("_", " ").replace("-", " "))) or bool(
            _GUIDE_WORDS.search(title)
        )
        guide = named or (day is None and "docs" in PurePosixPath(rel).parts)
        spans = [_Span(doc.body_start, len(doc.lines), title, 0, day)]
        if guide:
            # a "checklist" or "guide" that records a real run (prompts, output, times) is a run
            ex = _session(doc, rel, config, kind, spans[0], meta, meta_start, diags)
            if _is_run(ex):
                return [ex]
            return (
                []
                if require_run
                else [_as_guide(doc, rel, spans[0], ex, config.output_excerpt_chars)]
            )
    out: list[Execution] = []
    many = len(spans) > 1
    for k, span in enumerate(spans):
        ex = _session(doc, rel, config, kind, span, meta, meta_start if not many else None, diags)
        if require_run and not _is_run(ex):
            continue
        if many:
            ex = replace(ex, id=f"{rel}#{k + 1}")
        out.append(ex)
    return out


def _as_guide(doc: Document, rel: str, span: _Span, ex: Execution, limit: int) -> Execution:
    """A hand-written guide: not a run (no outcome, no dates), commands from steps too."""
    # a guide writes its commands inline in numbered steps as often as in fences, and its
    # rollback / troubleshooting sections belong to it
    commands = [
        *_commands(doc, rel, span, limit),
        *inline_commands(doc, rel, span.start, span.end),
    ]
    commands.sort(key=lambda c: c.source.line)
    return replace(
        ex,
        outcome=Outcome.UNKNOWN,
        started_at=None,
        finished_at=None,
        duration_s=None,
        commands=tuple(commands),
        tags=tuple(sorted({*ex.tags, "guide"} - {"undated"})),
    )


def _is_run(ex: Execution) -> bool:
    """A recorded run shows it was run: prompts with output, or times; a description does not."""
    if "guide" in ex.tags:
        return False
    if ex.finished_at is not None:  # a stated start and end time
        return True
    return any(c.origin == "prompt" or c.output or c.cwd or c.started_at for c in ex.commands)


# ---------------------------------------------------------------- sessions


def _file_date(rel: str) -> date | None:
    return last_date_in(DATE_IN, rel)


def _heading_date(title: str) -> date | None:
    m = DATE_IN.search(title)
    return None if m is None else ymd_date(m)


def _dated_sections(doc: Document) -> list[_Span]:
    """Sections whose headings carry a date, at the shallowest level that has at least two."""
    dated = [(s, _heading_date(s.title)) for s in doc.sections[1:]]
    levels = sorted({s.level for s, d in dated if d is not None})
    for level in levels:
        chosen = [(s, d) for s, d in dated if d is not None and s.level == level]
        if len(chosen) >= 2:
            return [_Span(s.start, s.end, s.title, s.line, d) for s, d in chosen]
    return []


def _first_dated_stamp(doc: Document) -> date | None:
    for _, line in doc.prose(doc.body_start, min(len(doc.lines), doc.body_start + 60)):
        found = find_timestamp(line)
        if found is not None and found[0].day is not None:
            return found[0].day
    return None


def _labels(doc: Document, start: int, end: int) -> list[tuple[int, str, str]]:
    """(0-based line, label, value) for label lines, also ``Date: x · Env: y`` run-ins."""
    out: list[tuple[int, str, str]] = []
    for i, line in doc.prose(start, end):
        for chunk in _LABEL_SPLIT.split(line):
            lab = label(chunk)
            if lab is not None and lab[1]:
                out.append((i, lab[0], lab[1]))
    return out


def _label_time(value: str, day: date | None) -> datetime | None:
    """``Started: 10:02 UTC`` / ``Finished: 2025-03-02 22:09`` as a datetime."""
    text = value.strip("`*_ ")
    dt = parse_timestamp(text, day)
    if dt is None:
        found = find_timestamp(text)
        if found is not None and found[0].has_time:
            dt = found[0].resolve(day)
    return dt


def _label_date(doc: Document, start: int, end: int) -> date | None:
    for _, name, value in _labels(doc, start, min(end, start + 40)):
        if name in _DATE_LABELS:
            dt = parse_timestamp(value.split()[0].strip("`*,"), None)
            if dt is not None:
                return dt.date()
    return None


def _session(
    doc: Document,
    rel: str,
    config: Config,
    kind: EvidenceKind,
    span: _Span,
    meta: dict[str, Any],
    meta_start: datetime | None,
    diags: list[Diagnostic],
) -> Execution:
    limit = config.output_excerpt_chars
    day = span.day or _label_date(doc, span.start, span.end)
    timeline: list[tuple[datetime | None, str, int]] = []
    for fence in doc.fences_in(span.start, span.end):
        if fence.info in LOOSE_INFOS and _is_timeline(fence):
            timeline.extend(_fence_timeline(fence, day))
    # commands under "Next steps" / "Rollback plan" / "Follow-ups" were not run in this session
    planned = _advice_spans(doc, span)
    commands = [
        c
        for c in _commands(doc, rel, span, limit)
        if not any(a <= c.source.line - 1 < b for a, b in planned)
    ]
    table_lines: set[int] = set()
    table_cmds: list[Command] = []
    for table in tables(doc, span.start, span.end):
        entries, cmds = table_rows(table, rel, day)
        if entries or cmds:
            table_lines.update(i for i, _ in table.rows)
        timeline.extend(entries)
        table_cmds.extend(cmds)
    for i, line in doc.prose(span.start, span.end):
        if i in table_lines:
            continue
        found = find_timestamp(line)
        if found is None or not found[0].has_time:
            continue
        timeline.append((found[0].resolve(day), found[1].strip(" |"), i + 1))
    timeline.sort(key=lambda t: t[2])
    if table_cmds:
        commands = merge_commands(commands, table_cmds) if commands else table_cmds
    # "16h46 `helm rollback ...` — exit 0, took 1m 20s": a step line that shows it was run
    steps = step_commands(
        doc, rel, span.start, span.end, day, skip=planned, require_evidence=True, limit=limit
    )
    step_lines = {c.source.line for c in steps}
    if steps:
        commands = merge_commands(commands, steps) if commands else steps
        commands.sort(key=lambda c: c.source.line)
    stamps = roll_days([t[0] for t in timeline])
    timeline = [(s, rest, ln) for s, (_, rest, ln) in zip(stamps, timeline, strict=True)]
    commands = item_remarks(doc, commands, span.start, span.end)
    commands = attach_timeline(commands, timeline)
    commands = fill_durations(commands, None)

    errors: list[ErrorEvent] = []
    expectations: list[str] = []
    env: str | None = None
    outcome_label: Outcome | None = None
    total: float | None = None
    for i, line in doc.prose(span.start, span.end):
        text = expectation(line)
        if text:
            expectations.append(text[:300])
        m = _ERROR_PROSE.match(line)
        if m and m.group(1).strip():
            message = re.sub(r"[*_]{2}", "", line.strip().lstrip(">-*+ ")).strip()
            errors.append(ErrorEvent(message[:1000], SourceRef(rel, i + 1)))
        # a step's own "took 1m 20s" is not the session's total
        if total is None and (i + 1) not in step_lines and not _timeline_led(line):
            total = prose_total(line)
    label_start: datetime | None = None
    label_end: datetime | None = None
    for i, name, value in _labels(doc, span.start, span.end):
        if (
            name in ("started", "start", "start time", "began", "started at")
            and label_start is None
        ):
            label_start = _label_time(value, day)
        elif name in ("finished", "ended", "end", "end time", "completed", "finished at", "done"):
            label_end = label_end or _label_time(value, day)
        if name in _ENV_LABELS and env is None:
            env = environment_name(re.split(r"[\s(,]", value.strip("`* "), maxsplit=1)[0])
        elif name in _OUTCOME_LABELS and outcome_label is None:
            outcome_label = outcome_word(value)
        elif (
            name in ("duration", "total time", "total duration", "time taken", "elapsed")
            and total is None
        ):
            total = parse_duration(value)
            if total is None:
                diags.append(
                    Diagnostic(SourceRef(rel, i + 1), f"unreadable duration {value[:40]!r}")
                )
    for at, rest, ln in timeline:
        if rest and (is_error_line(rest) or re.search(r"\b(?:DENIED|FAILED|ERROR)\b", rest)):
            errors.append(ErrorEvent(rest[:1000], SourceRef(rel, ln), at=at))
    for cmd in commands:
        if cmd.exit_code not in (None, 0):
            errors.extend(errors_from_output(cmd))
        elif cmd.exit_code is None and cmd.output:
            # no exit code in a transcript: an error in the last lines of output still counts
            tail = [ln for ln in cmd.output.split("\n")[-3:] if is_error_line(ln)]
            if tail:
                errors.append(ErrorEvent(tail[-1].strip()[:500], cmd.source, command=cmd.text))
    errors = _dedupe(errors)

    title = span.title or doc.title or scalar(meta.get("title")) or ""
    context = (
        scalar(meta.get("context"))
        or scalar(meta.get("description"))
        or _first_paragraph(doc, span)
    )
    declared = declared_type(meta, PurePosixPath(rel).stem)
    if span.line:  # a session heading may name its own operation
        declared = operation_from_words(span.title) or declared
    rollback = declared == "rollback"
    if env is None:
        meta_env = scalar(meta.get("environment")) or scalar(meta.get("env"))
        env = environment_name(meta_env) if meta_env else None

    started: datetime | None = None
    starts = [c.started_at for c in commands if c.started_at] + [t[0] for t in timeline if t[0]]
    if meta_start is not None:
        starts.append(meta_start)
    if label_start is not None:
        starts.append(label_start)
    if starts:
        started = min(starts)
    ends = [t[0] for t in timeline if t[0]] + [
        c.started_at + timedelta(seconds=c.duration_s or 0) for c in commands if c.started_at
    ]
    if label_end is not None:
        ends.append(label_end)
    finished: datetime | None = None
    if ends and started is not None and max(ends) > started:
        finished = max(ends)
    elif started is not None and total is not None:
        finished = started + timedelta(seconds=total)
    if total is None and started is not None and finished is not None:
        total = (finished - started).total_seconds()
    if started is None and day is not None:
        started = datetime.combine(day, datetime.min.time())

    tags = list(words_list(meta.get("tags")))
    if outcome_label is None:
        outcome_label = _outcome_section(doc, span)
    outcome = _outcome(meta, span, outcome_label, commands, rollback)
    if day is None and started is None:
        tags.append("undated")
    return Execution(
        id=rel,
        source=SourceRef(rel, span.line or 1),
        kind=kind,
        title=title[:200],
        context=context[:1000],
        environment=env,
        started_at=started,
        finished_at=finished,
        duration_s=total,
        outcome=outcome,
        commands=tuple(commands),
        errors=tuple(errors),
        notes=tuple(_notes(doc, span)),
        tags=tuple(sorted(set(tags))),
        severity=(scalar(meta.get("severity")) or "").lower() or None,
        resolved=boolean(meta.get("resolved")),
        declared_type=declared,
        expectations=unique(expectations),
        owner=scalar(meta.get("owner")) or scalar(meta.get("author")) or _operator(doc, span),
    )


def _outcome(
    meta: dict[str, Any],
    span: _Span,
    label_outcome: Outcome | None,
    commands: list[Command],
    rollback: bool,
) -> Outcome:
    for key in ("outcome", "status", "result"):
        value = scalar(meta.get(key))
        if value and (word := outcome_word(value, rollback_ok=rollback)) is not None:
            return word
    if span.line and (word := outcome_word(_heading_status(span.title), rollback_ok=rollback)):
        return word
    if label_outcome is not None:
        return label_outcome
    return outcome_from_commands(commands, rollback_ok=rollback) or Outcome.UNKNOWN


def _timeline_led(line: str) -> bool:
    found = find_timestamp(line)
    return found is not None and found[0].has_time


def _outcome_section(doc: Document, span: _Span) -> Outcome | None:
    """The first sentence under an ``## Outcome`` / ``## Result`` heading: "Success. …"."""
    for sec in doc.sections[1:]:
        if not (span.start <= sec.line - 1 < span.end) or sec.key not in _OUTCOME_HEADINGS:
            continue
        for _, line in doc.prose(sec.start, sec.body_end):
            text = line.strip().lstrip("-*+> ").strip()
            if not text:
                continue
            first = re.split(r"(?<=[.!?;])\s", text, maxsplit=1)[0]
            word = outcome_word(first)
            if word is None and (code := exit_code_in(first)) is not None:
                word = exit_outcome(code)
            return word
    return None


def _heading_status(title: str) -> str:
    """Only a bracketed or trailing status counts: "(failed)", "— rolled back"."""
    m = re.search(r"[(\[]([^)\]]{1,30})[)\]]\s*$|\s[—–-]\s+([^—–-]{1,30})$", title)
    return (m.group(1) or m.group(2)) if m else ""


def _operator(doc: Document, span: _Span) -> str | None:
    for _, name, value in _labels(doc, span.start, min(span.end, span.start + 40)):
        if name in ("operator", "owner", "author", "on call", "engineer", "who"):
            return re.split(r"[\s(,]", value.strip("`*@ "), maxsplit=1)[0] or None
    return None


def _first_paragraph(doc: Document, span: _Span) -> str:
    lines: list[str] = []
    for _, line in doc.prose(span.start, span.end):
        stripped = line.strip()
        if stripped.startswith("#") or label(stripped) is not None or _PROMPT_START.match(stripped):
            if lines:
                break
            continue
        if not stripped:
            if lines:
                break
            continue
        lines.append(stripped)
    return " ".join(lines)


def _notes(doc: Document, span: _Span) -> list[str]:
    """Subsection headings with their first lines: kept as context."""
    out: list[str] = []
    for sec in doc.sections[1:]:
        if not (span.start <= sec.line - 1 < span.end) or sec.line == span.line or sec.level == 1:
            continue
        lines = [ln.strip() for _, ln in doc.prose(sec.start, sec.body_end) if ln.strip()]
        if lines:
            out.append(f"{sec.title}: {' '.join(lines[:3])[:300]}")
    return out


# -------------------------------------------------------------- commands


_ADVICE = tuple(
    norm_heading(h)
    for h in (
        "next steps",
        "follow-ups",
        "follow up",
        "followup",
        "todo",
        "to do",
        "action items",
        "rollback plan",
        "recommendations",
        "prevention",
        "lessons learned",
        "ideas",
        "open questions",
        "future work",
        "improvements",
        "if this fails",
    )
)


def _advice_spans(doc: Document, span: _Span) -> list[tuple[int, int]]:
    """Line ranges of sections that plan or advise rather than record."""
    return [
        (sec.start, sec.end)
        for sec in doc.sections[1:]
        if span.start <= sec.line - 1 < span.end
        and any(heading_matches(sec.key, k) for k in _ADVICE)
    ]


def _commands(doc: Document, rel: str, span: _Span, limit: int) -> list[Command]:
    """Shell fences (not timelines) and prompt lines in a span, in document order."""
    commands: list[Command] = []
    for fence in doc.fences_in(span.start, span.end):
        if fence.info in LOOSE_INFOS and _is_timeline(fence):
            continue
        commands.extend(fence_commands(fence, rel, "fence", limit))
    commands.extend(_prompt_blocks(doc, rel, span, limit))
    commands.sort(key=lambda c: c.source.line)
    return commands


def _prompt_blocks(doc: Document, rel: str, span: _Span, limit: int) -> list[Command]:
    """``$ cmd`` lines written in prose (outside fences) with the lines that follow as output."""
    out: list[Command] = []
    block: list[tuple[int, str]] = []

    def flush() -> None:
        if block and any(_PROMPT_START.match(t) for _, t in block):
            first = block[0][0]
            text = "\n".join(t for _, t in block)
            for sl in split_script(text, transcript=True):
                out.append(
                    Command(
                        text=sl.command,
                        source=SourceRef(rel, first + sl.offset + 1),
                        output=excerpt(sl.output, limit),
                        cwd=sl.cwd,
                        origin="prompt",
                    )
                )
        block.clear()

    last = -2
    for i, line in doc.prose(span.start, span.end):
        if not line.strip() or i != last + 1:
            flush()
        if line.strip():
            block.append((i, re.sub(r"^\s{0,3}(?:>\s?)?", "", line)))
        last = i
    flush()
    return out


def _is_timeline(fence: Fence) -> bool:
    lines = [ln for ln in fence.body.split("\n") if ln.strip()]
    if len(lines) < 2:
        return False
    hits = sum(
        1 for ln in lines if (f := find_timestamp(ln)) is not None and f[0].has_time and f[1]
    )
    return hits * 2 >= len(lines) and not any(ln.lstrip().startswith("$ ") for ln in lines)


def _fence_timeline(fence: Fence, day: date | None) -> list[tuple[datetime | None, str, int]]:
    out: list[tuple[datetime | None, str, int]] = []
    for k, line in enumerate(fence.body.split("\n")):
        found = find_timestamp(line)
        if found is not None and found[0].has_time:
            out.append((found[0].resolve(day), found[1], fence.body_line + k))
    return out


def _dedupe(errors: list[ErrorEvent]) -> list[ErrorEvent]:
    seen: set[str] = set()
    out: list[ErrorEvent] = []
    for err in errors:
        key = " ".join(err.message.lower().split())
        if key in seen:
            continue
        seen.add(key)
        out.append(err)
    return out


__all__ = ["command_key", "executions_from", "parse"]
