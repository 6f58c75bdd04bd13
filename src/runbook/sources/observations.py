"""Observation files: ``.claude/observations/YYYY-MM-DD/{execution|failure|behavior}-HHMMSS-slug.md``.

Sample line: ``- `aws lambda wait function-updated --function-name report_worker` - 0 - success``.
Format per DESIGN §4 (also the ``archive/YYYY-QN/`` layout). Parsing goes by headings and labels,
never by position: tool-call blocks (``### Bash - 14:30:52`` with ``**Input**``/``**Output**``
fences and ``**Duration**``), the ``**Commands Executed**`` list, ``## Raw Log`` transcripts and any
other shell fence; one command seen in several places is merged into one record.
"""

from __future__ import annotations

import re
from dataclasses import replace
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
    ObservationMode,
    Outcome,
    ParsedFile,
    SourceRef,
)
from runbook.sources.common import (
    attach_timeline,
    command_key,
    declared_type,
    environment_name,
    errors_from_output,
    excerpt,
    exit_code_in,
    exit_outcome,
    expectations_in,
    fence_commands,
    fill_durations,
    front_matter_diagnostics,
    input_commands,
    is_error_line,
    item_remarks,
    last_date_in,
    looks_like_command,
    merge_commands,
    meta_datetime,
    outcome_from_commands,
    outcome_word,
    paren_duration,
    prose_total,
    roll_days,
    step_commands,
    table_rows,
    tables,
    time_range_seconds,
    unique,
)
from runbook.sources.markdown import (
    Document,
    Section,
    boolean,
    bullets,
    heading_matches,
    label,
    norm_heading,
    scalar,
    words_list,
)
from runbook.timeparse import find_timestamp, parse_duration, parse_timestamp

_FILE_NAME = re.compile(
    r"^(?P<mode>execution|failure|behaviou?r)(?:[-_](?P<hms>\d{6}|\d{2}-\d{2}-\d{2}))?(?:[-_](?P<slug>.*))?$",
    re.IGNORECASE,
)
_PATH_DATE = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")

# Heading variants (normalized by norm_heading: lowercase, singular) for each section role.
_ROLES: dict[str, tuple[str, ...]] = {
    "tool_calls": (
        "tool call",
        "tool use",
        "tool invocation",
        "tool usage",
        "action",
        "actions taken",
        "step taken",
        "execution step",
        "execution log",
        "command run",
        "commands executed",
        "command",
        "commands run",
        "shell command",
        "session",
        "procedure",
        "step",
        "befehl",
    ),
    "side_effects": ("side effect", "change made", "changes"),
    "resources": (
        "resource consumption",
        "resource",
        "resource usage",
        "metric",
        "performance",
        "cost",
        "timing",
    ),
    "raw_log": (
        "raw log",
        "raw output",
        "log",
        "transcript",
        "terminal output",
        "console output",
        "session log",
        "full log",
        "output",
    ),
    "context": (
        "context",
        "summary",
        "overview",
        "description",
        "goal",
        "objective",
        "purpose",
        "task",
        "background",
        "ziel",
    ),
    "symptoms": (
        "symptom",
        "symptoms observed",
        "observed symptom",
        "observed behavior",
        "what happened",
        "observation",
    ),
    "errors": (
        "error message",
        "error",
        "errors observed",
        "error output",
        "failure message",
        "exception",
    ),
    "stack": ("stack trace", "traceback", "stacktrace", "backtrace"),
    "input_state": (
        "input state",
        "input",
        "what was attempted",
        "reproduction",
        "steps to reproduce",
        "attempt",
    ),
    "environment": (
        "environmental context",
        "environment context",
        "environment",
        "env",
        "system context",
        "system state",
    ),
    "timeline": ("timeline", "sequence of events", "chronology", "event", "time line"),
    "data": ("data captured", "captured data", "data", "evidence", "artifact", "attachment"),
    "result": (
        "result",
        "outcome",
        "status",
        "conclusion",
        "final state",
        "verification",
        "ergebnis",
    ),
    "expected": ("expected behavior", "expected result", "expected outcome", "expected"),
    "advice": (
        "next step",
        "recommendation",
        "suggestion",
        "suggested fix",
        "follow up",
        "todo",
        "possible fix",
        "possible cause",
        "hypothesis",
        "hypothese",
        "question",
        "open question",
        "prevention",
        "lesson",
        "lessons learned",
        "rollback plan",
        "idea",
        "root cause",
        "analysis",
        "related",
    ),
}
_ROLE_KEYS = {role: tuple(norm_heading(v) for v in vs) for role, vs in _ROLES.items()}
# order matters: more specific roles first ("error message" before "error", "raw log" before "log")
_ROLE_ORDER = (
    "raw_log",
    "stack",
    "errors",
    "input_state",
    "environment",
    "timeline",
    "data",
    "expected",
    "symptoms",
    "side_effects",
    "resources",
    "tool_calls",
    "result",
    "context",
    "advice",
)
_SHELL_TOOLS = frozenset(
    [
        "bash",
        "shell",
        "sh",
        "zsh",
        "terminal",
        "run",
        "exec",
        "execute",
        "command",
        "cmd",
        "powershell",
        "pwsh",
        "run_command",
        "execute_command",
        "run_shell_command",
        "shell_command",
        "local_shell",
        "computer",
    ]
)
_OTHER_TOOLS = frozenset(
    [
        "read",
        "write",
        "edit",
        "multiedit",
        "glob",
        "grep",
        "ls",
        "webfetch",
        "websearch",
        "task",
        "todowrite",
        "todoread",
        "notebookedit",
        "notebookread",
        "view",
        "create",
        "str_replace",
        "file_read",
        "file_write",
        "search",
        "fetch",
        "browser",
    ]
)
_TOOL_HEADING = re.compile(
    r"^(?P<tool>[A-Za-z][\w .:/()-]{0,60}?)\s*(?:[-–—:|@(\[]\s*)+(?P<ts>.+?)[)\]]?\s*$"
)
_EXIT_LABELS = ("exit code", "exit", "exit status", "return code", "rc", "status code", "exitcode")
_DURATION_LABELS = (
    "duration",
    "time",
    "elapsed",
    "took",
    "runtime",
    "wall time",
    "time taken",
    "execution time",
)
_TOTAL_LABELS = (
    "time",
    "total time",
    "duration",
    "total duration",
    "wall time",
    "elapsed",
    "wall clock",
    "total",
)
_COMMAND_LIST_LABELS = (
    "command executed",
    "commands executed",
    "command run",
    "commands run",
    "command",
)
_SEP = r"\s+[-—–|]\s+|\s*[→⇒]\s*|\s+->\s+"
# possessive quantifiers: runs of blanks must not be re-split on failure (catastrophic backtracking)
_EXIT_TOKEN = re.compile(
    r"^\(?\s*+(?:(?:exit(?:ed)?(?:\s++code)?|rc|status|code|return(?:\s++code)?)\s*+[:=]?\s*+)?"
    r"(-?\d{1,3})(?!\d)\s*+\)?(?P<tail>.*)$",
    re.I,
)
_SEP_START = re.compile(rf"^(?:{_SEP})")
_EXIT_INLINE = re.compile(r"\(\s*(?:exit(?:\s*code)?|rc|status)\s*[:=]?\s*(-?\d{1,3})\s*\)", re.I)
_EMOJI_OUTCOME = {
    "✅": "success",
    "✔": "success",
    "✓": "success",
    "❌": "failed",
    "✗": "failed",
    "✘": "failed",
}
_EMPTY = frozenset({"", "none", "n/a", "na", "-", "—", "empty", "no output", "nothing"})
_INPUT_LABELS = ("input", "command", "cmd")
_OUTCOME_LABELS = ("outcome", "result", "status", "ergebnis", "conclusion")
_ENV_KEYS = ("environment", "env", "stage", "target environment", "target env", "aws environment")


def parse(text: str, rel: str, config: Config) -> ParsedFile:
    """One observation file → a ParsedFile holding one Execution."""
    doc = Document(text)
    diags = front_matter_diagnostics(doc, rel, "date, time and mode taken from the file name")
    reader = _Reader(doc, rel, config, diags)
    execution = reader.execution()
    return ParsedFile(
        path=rel,
        kind=EvidenceKind.OBSERVATION,
        executions=(execution,),
        diagnostics=tuple(diags),
    )


def _path_date(rel: str) -> date | None:
    return last_date_in(_PATH_DATE, rel)


def _role(sec: Section) -> str | None:
    key = sec.key
    for role in _ROLE_ORDER:
        if any(heading_matches(key, k) for k in _ROLE_KEYS[role]):
            return role
    return None


def _first_lines(doc: Document, start: int, end: int, n: int = 3) -> str:
    lines = [
        ln.strip()
        for _, ln in doc.prose(start, end)
        if ln.strip() and not ((lab := label(ln)) is not None and not lab[1])
    ]
    return " ".join(lines[:n])[:300]


class _Reader:
    """State for reading one observation document."""

    def __init__(self, doc: Document, rel: str, config: Config, diags: list[Diagnostic]) -> None:
        self.doc = doc
        self.rel = rel
        self.config = config
        self.diags = diags
        self.meta: dict[str, Any] = doc.meta
        stem = PurePosixPath(rel).stem
        m = _FILE_NAME.match(stem)
        self.file_mode = m.group("mode").lower() if m else None
        self.slug = (m.group("slug") or "") if m else stem
        hms = (m.group("hms") or "").replace("-", "") if m else ""
        self.day, self.start = meta_datetime(self.meta, _path_date(rel))
        if self.start is None and self.day is not None and hms:
            self.start = parse_timestamp(f"{hms[:2]}:{hms[2:4]}:{hms[4:]}", self.day)
        self.consumed: set[int] = set()  # fence opening lines already used
        self.declared = declared_type(self.meta, self.slug)
        self.rollback = self.declared == "rollback"

    # ------------------------------------------------------------------ helpers

    def ref(self, index0: int) -> SourceRef:
        return SourceRef(self.rel, index0 + 1)

    def warn(self, index0: int, message: str) -> None:
        self.diags.append(Diagnostic(self.ref(index0), message))

    def mode(self) -> ObservationMode | None:
        raw = (scalar(self.meta.get("mode")) or scalar(self.meta.get("type")) or "").lower()
        for candidate in (raw, self.file_mode or ""):
            candidate = "behavior" if candidate.startswith("behaviou") else candidate
            if candidate in ("execution", "failure", "behavior"):
                return ObservationMode(candidate)
        return None

    # ------------------------------------------------------------------ sections

    def execution(self) -> Execution:
        doc = self.doc
        tool_cmds: list[Command] = []
        list_cmds: list[Command] = []
        log_cmds: list[Command] = []
        attempt_cmds: list[Command] = []
        fence_cmds: list[Command] = []
        errors: list[ErrorEvent] = []
        notes: list[str] = []
        stamps: list[datetime] = []
        entries: list[tuple[datetime | None, str, int]] = []  # timeline (time, text, line)
        expectations: list[str] = []
        total: float | None = None
        env: str | None = None
        context = scalar(self.meta.get("context")) or scalar(self.meta.get("description")) or ""
        result_outcome: Outcome | None = None
        advice_ranges: list[tuple[int, int]] = []
        error_ranges: list[tuple[int, int]] = []
        described_ranges: list[tuple[int, int]] = []  # symptoms / environment: described

        total = self._meta_duration()
        handled: list[tuple[int, int]] = []  # 0-based spans of sections whose subtree is read
        for sec in doc.sections[1:]:
            if any(a <= sec.line - 1 < b for a, b in handled):
                continue
            role = _role(sec)
            # a section holding tool-call blocks is recognized by its content, whatever its title
            if role not in ("errors", "raw_log", "stack", "data", "advice") and self._has_label(
                sec, _INPUT_LABELS
            ):
                tool_cmds.extend(self._tool_call(sec))
                continue
            if role is None:
                if self._has_tool_children(sec):
                    continue
                if sec.level <= 1 or sec.body_end <= sec.start:
                    continue
                first = _first_lines(doc, sec.start, sec.body_end)
                if first:
                    notes.append(f"{sec.title}: {first}")
                continue
            if role == "tool_calls":
                # children are visited on their own; fences are read below
                list_cmds.extend(self._section_items(sec))
                continue
            handled.append((sec.start, sec.end))
            if role == "raw_log":
                for fence in doc.fences_in(sec.start, sec.end):
                    log_cmds.extend(self._fence(fence, "raw-log", loose=True))
            elif role == "errors":
                error_ranges.append((sec.start, sec.end))
                errors.extend(self._error_section(sec))
            elif role == "stack":
                error_ranges.append((sec.start, sec.end))
                errors.extend(self._stack_section(sec))
            elif role == "input_state":
                attempt_cmds.extend(self._input_state(sec))
                first = _first_lines(doc, sec.start, sec.end)
                if first:
                    notes.append(f"{sec.title}: {first}")
            elif role == "environment":
                described_ranges.append((sec.start, sec.end))
                env = env or self._environment(sec)
                first = _first_lines(doc, sec.start, sec.end, 6)
                if first:
                    notes.append(f"{sec.title}: {first}")
            elif role == "timeline":
                t_entries, t_errors = self._timeline(sec)
                entries.extend(t_entries)
                stamps.extend(at for at, _, _ in t_entries if at is not None)
                errors.extend(t_errors)
            elif role in ("data", "symptoms"):
                described_ranges.append((sec.start, sec.end))
                if role == "data":
                    error_ranges.append((sec.start, sec.end))
                    for fence in doc.fences_in(sec.start, sec.end):
                        self.consumed.add(fence.line)
                first = _first_lines(doc, sec.start, sec.end)
                if first:
                    notes.append(f"{sec.title}: {first}")
            elif role == "resources":
                total = total if total is not None else self._total(sec)
            elif role == "context":
                if not context:
                    context = _first_lines(doc, sec.start, sec.end, 5)
            elif role == "result":
                first = _first_lines(doc, sec.start, sec.end)
                blocks = doc.fences_in(sec.start, sec.end)
                if not first and blocks and not blocks[0].info:
                    # a tab-indented line is a code block to markdown, but still the result
                    first = " ".join(blocks[0].body.split("\n")[:3]).strip()[:300]
                result_outcome = (
                    outcome_word(_first_sentence(first), rollback_ok=self.rollback)
                    if first
                    else None
                )
                if result_outcome is None and first:
                    # "Exit 0 for everything." states the outcome as an exit code
                    code = exit_code_in(first)
                    if code is not None:
                        result_outcome = exit_outcome(code)
                if first:
                    notes.append(f"{sec.title}: {first}")
            elif role == "expected":
                expectations.extend(
                    ln.strip().lstrip("-*+ ").strip()
                    for _, ln in doc.prose(sec.start, sec.end)
                    if ln.strip()
                )
            elif role == "advice":
                advice_ranges.append((sec.start, sec.end))
                for fence in doc.fences_in(sec.start, sec.end):
                    self.consumed.add(fence.line)
                first = _first_lines(doc, sec.start, sec.end)
                if first:
                    notes.append(f"{sec.title}: {first}")

        # **Commands Executed** lists, wherever they are
        list_cmds.extend(self._command_lists())
        # steps written as list items or time-led lines with a backticked command, wherever
        # they are ("1. [14:02:11 UTC] Get credentials: `gcloud ...` (took ~4s)")
        step_cmds = step_commands(
            doc,
            self.rel,
            doc.body_start,
            len(doc.lines),
            self.day,
            skip=advice_ranges + error_ranges + described_ranges,
            limit=self.config.output_excerpt_chars,
            consumed=self.consumed,
        )
        # a "Commands Executed" table (| Command | Exit | Outcome |) is a list too
        for table in tables(doc, doc.body_start, len(doc.lines)):
            first_row = table.rows[0][0] if table.rows else -1
            if not any(a <= first_row < b for a, b in advice_ranges):
                list_cmds.extend(table_rows(table, self.rel, self.day)[1])
        if total is None:
            total = self._total_anywhere()
        if total is None:
            # "Total about 3.5 minutes", "~11 minutes in total", "(08:15 bis 08:18)"
            total = self._prose_total({c.source.line for c in step_cmds}, advice_ranges)
        # every other shell fence not yet used
        leftover = []  # code blocks that hold no command: output or error text
        for fence in doc.fences:
            if fence.line in self.consumed:
                continue
            found = self._fence(fence, "fence", loose=True)
            fence_cmds.extend(found)
            if not found:
                leftover.append(fence)

        commands = merge_commands(tool_cmds, list_cmds)
        commands = merge_commands(commands, log_cmds)
        commands = merge_commands(commands, attempt_cmds)
        commands = merge_commands(commands, fence_cmds)
        # steps last: the structured records above keep their place when both hold a command;
        # next to a Tool Calls / Commands Executed record, prose steps only add detail (a note
        # "Step 3 failed: `cmd` exited with code 4" is not a second run of `cmd`)
        if tool_cmds or list_cmds:
            step_cmds = _known(step_cmds, commands)
        commands = merge_commands(commands, step_cmds) if commands else step_cmds
        commands = item_remarks(doc, commands, doc.body_start, len(doc.lines))
        commands = self._timed(commands, entries)

        if result_outcome is None:
            result_outcome = self._outcome_label(advice_ranges)
        if self.mode() is ObservationMode.FAILURE:
            # a failure written without an "Error Messages" heading keeps its errors in code
            # blocks under any title ("What broke", "What we saw")
            errors.extend(_error_blocks(leftover, self.rel))
        # errors: failed commands' output and "Error:" lines in prose
        failure_mode = self.mode() is ObservationMode.FAILURE
        for cmd in commands:
            if cmd.exit_code not in (None, 0):
                errors.extend(errors_from_output(cmd))
            elif failure_mode and cmd.exit_code is None and cmd.origin == "step" and cmd.output:
                # a failure's step without an exit code: its output's error line is the failure
                errors.extend(e for e in errors_from_output(cmd) if is_error_line(e.message))
        errors.extend(self._prose_errors(advice_ranges + error_ranges))
        failing = next((c.text for c in reversed(commands) if c.exit_code not in (None, 0)), None)
        if failing is None and self.mode() is ObservationMode.FAILURE and attempt_cmds:
            failing = attempt_cmds[-1].text
        errors = _dedupe_errors(errors, failing)

        expectations.extend(expectations_in(doc, doc.body_start))
        if env is None:
            for key in ("environment", "env", "stage"):
                value = scalar(self.meta.get(key))
                if value:
                    env = environment_name(value)
                    break
        else:
            meta_env = scalar(self.meta.get("environment")) or scalar(self.meta.get("env"))
            env = environment_name(meta_env) if meta_env else env

        started, finished, duration = self._span(commands, stamps, total)
        mode = self.mode()
        h1 = next((sec.title for sec in doc.sections[1:] if sec.level == 1), "")
        title = h1 or scalar(self.meta.get("title")) or self.slug.replace("-", " ").strip()
        return Execution(
            id=self.rel,
            source=SourceRef(self.rel, 1),
            kind=EvidenceKind.OBSERVATION,
            title=title[:200],
            context=context[:1000],
            mode=mode,
            environment=env,
            started_at=started,
            finished_at=finished,
            duration_s=duration,
            outcome=self._outcome(mode, commands, result_outcome),
            commands=tuple(commands),
            errors=tuple(errors),
            notes=unique(notes),
            tags=words_list(self.meta.get("tags")),
            severity=(scalar(self.meta.get("severity")) or "").lower() or None,
            resolved=boolean(self.meta.get("resolved")),
            declared_type=self.declared,
            expectations=unique(expectations),
            owner=scalar(self.meta.get("owner")) or scalar(self.meta.get("author")),
        )

    def _outcome_label(self, skip: list[tuple[int, int]]) -> Outcome | None:
        """``Outcome: success, …`` / ``Result: OK`` written as a prose label outside a heading."""
        for i, line in self.doc.prose(self.doc.body_start, len(self.doc.lines)):
            if any(a <= i < b for a, b in skip):
                continue
            lab = label(line)
            if lab is None or lab[0] not in _OUTCOME_LABELS or not lab[1]:
                continue
            word = outcome_word(_first_sentence(lab[1]), rollback_ok=self.rollback)
            if word is not None:
                return word
        return None

    def _has_label(self, sec: Section, names: tuple[str, ...]) -> bool:
        for _, line in self.doc.prose(sec.start, sec.body_end):
            lab = label(line)
            if lab is not None and lab[0] in names:
                return True
        return False

    def _has_tool_children(self, sec: Section) -> bool:
        return any(self._has_label(c, _INPUT_LABELS) for c in self.doc.children(sec))

    # ------------------------------------------------------------- tool calls

    def _tool_call(self, sec: Section) -> list[Command]:
        """A ``### Bash - 14:30:52`` block with Input/Output fences and Duration/Exit labels."""
        doc = self.doc
        tool, at = self._tool_heading(sec.title)
        input_fence = output_fence = None
        inline_input = ""
        inline_output = ""
        duration: float | None = None
        exit_code: int | None = None
        cwd: str | None = None
        status_note = ""
        input_line = sec.line - 1
        for i, line in doc.prose(sec.start, sec.body_end):
            lab = label(line)
            if lab is None:
                continue
            name, value = lab
            fence = doc.fence_at_or_after(i + 1, sec.body_end)
            # a label's fence must follow before the next label
            if fence is not None and any(
                label(doc.lines[k]) is not None for k in range(i + 1, fence.line - 1)
            ):
                fence = None
            if name in ("input", "command", "cmd", "parameter", "args", "argument"):
                input_line = i
                if value:
                    inline_input = value.strip("`")
                elif fence is not None:
                    input_fence = fence
            elif name in ("output", "result", "response", "stdout", "stderr", "tool output"):
                if value and value.strip("`*_()").lower() not in _EMPTY:
                    inline_output = value.strip("`")
                elif fence is not None and output_fence is None and not value:
                    output_fence = fence
            elif name in _DURATION_LABELS and _is_clock_time(name, value):
                # "**Time**: 14:30:52" in a tool call is when it ran, not how long
                at = at or parse_timestamp(value.strip("`*_ "), self.day)
            elif name in _DURATION_LABELS:
                duration = parse_duration(value)
                if duration is None and value:
                    self.warn(i, f"unreadable duration {value[:40]!r}")
            elif name in _EXIT_LABELS:
                m = re.search(r"-?\d+", value)
                if m:
                    exit_code = int(m.group(0))
            elif name in ("status", "outcome"):
                status_note = value
                exit_code = exit_code if exit_code is not None else exit_code_in(value)
            elif name in ("timestamp", "started", "start", "started at", "at", "when"):
                at = at or parse_timestamp(value, self.day)
            elif name in ("cwd", "working directory", "directory", "workdir", "dir"):
                cwd = value.strip("`") or None
        for f in (input_fence, output_fence):
            if f is not None:
                self.consumed.add(f.line)
        tool_low = tool.lower().strip()
        if tool_low in _OTHER_TOOLS:
            return []
        if input_fence is not None:
            if tool_low not in _SHELL_TOOLS and re.match(r"^\w+:\s", input_fence.body):
                return []  # "pattern: replicas" is a non-shell tool's parameters
            if tool_low not in _SHELL_TOOLS and input_fence.info not in (
                "bash",
                "sh",
                "shell",
                "zsh",
                "console",
                "powershell",
                "json",
                "",
            ):
                return []
            commands = input_commands(
                input_fence, self.rel, "tool-call", self.config.output_excerpt_chars
            )
        elif inline_input and (tool_low in _SHELL_TOOLS or not tool_low):
            commands = [Command(inline_input, self.ref(input_line), origin="tool-call")]
        else:
            return []
        if not commands:
            return []
        output = output_fence.body if output_fence is not None else inline_output
        if exit_code is None and output:
            tail = "\n".join(output.strip().split("\n")[-3:])
            exit_code = exit_code_in(tail)
        if exit_code is None and status_note:
            exit_code = exit_code_in(status_note)
        first, last = commands[0], commands[-1]
        commands[0] = replace(first, started_at=at, cwd=first.cwd or cwd)
        single = len(commands) == 1
        last = commands[-1]
        commands[-1] = replace(
            last,
            exit_code=exit_code if exit_code is not None else last.exit_code,
            duration_s=duration if single else None,
            output=_bounded(output, self.config.output_excerpt_chars) or last.output,
            outcome_note=status_note[:80],
        )
        return commands

    def _tool_heading(self, title: str) -> tuple[str, datetime | None]:
        title = re.sub(r"^(?:#?\d+[.):]?|step \d+[.):]?)\s+", "", title.strip(), flags=re.I)
        m = _TOOL_HEADING.match(title)
        if m:
            at = self._stamp(m.group("ts"))
            if at is not None:
                return re.sub(r"^\d+[.)]\s*", "", m.group("tool")).strip(), at
        found = find_timestamp(title)
        if found is not None:
            return found[1], found[0].resolve(self.day)
        return re.sub(r"^\d+[.)]\s*", "", title).strip(), None

    def _stamp(self, text: str) -> datetime | None:
        text = text.strip().strip("`*_()[]").strip()
        dt = parse_timestamp(text, self.day)
        if dt is None:
            found = find_timestamp(text)
            if found is not None and not found[1]:
                dt = found[0].resolve(self.day)
        return dt

    # ----------------------------------------------------------- command lists

    def _command_lists(self) -> list[Command]:
        """Items of ``**Commands Executed**:`` lists: ``- cmd - exit code - outcome``."""
        doc = self.doc
        out: list[Command] = []
        prose = doc.prose(doc.body_start, len(doc.lines))
        k = 0
        while k < len(prose):
            i, line = prose[k]
            lab = label(line)
            k += 1
            if lab is None or lab[0] not in _COMMAND_LIST_LABELS or lab[1]:
                # inline lists like "**Commands Executed**: `ls`" are handled too
                if lab is not None and lab[0] in _COMMAND_LIST_LABELS and lab[1].startswith("`"):
                    cmd = _list_item(lab[1], self.ref(i))
                    if cmd is not None:
                        out.append(cmd)
                continue
            # the list follows, possibly after a blank line; it ends at a non-item line
            started = False
            while k < len(prose):
                j, item_line = prose[k]
                if not item_line.strip():
                    if started and k + 1 < len(prose) and not _is_item(prose[k + 1][1]):
                        break
                    k += 1
                    continue
                if not _is_item(item_line):
                    if started and item_line.startswith((" ", "\t")):
                        k += 1  # a wrapped item or a nested detail line
                        continue
                    break
                started = True
                body = re.sub(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+(?:\[[ xX]\]\s+)?", "", item_line)
                cmd = _list_item(body, self.ref(j), self.day)
                if cmd is not None:
                    out.append(cmd)
                k += 1
        return out

    def _section_items(self, sec: Section) -> list[Command]:
        """List items of a ``## Commands Run``-style section: backticked or with an exit code."""
        out: list[Command] = []
        for i, text in bullets(self.doc, sec.start, sec.body_end):
            body = re.sub(r"^\[[ xX]\]\s+", "", text)
            cmd = _list_item(body, self.ref(i), self.day)
            if cmd is None:
                continue
            if body.startswith("`") or cmd.exit_code is not None or cmd.started_at is not None:
                out.append(cmd)
        return out

    # ------------------------------------------------------------------ fences

    def _fence(self, fence: Any, origin: str, *, loose: bool) -> list[Command]:
        self.consumed.add(fence.line)
        return fence_commands(
            fence,
            self.rel,
            origin,
            self.config.output_excerpt_chars,
            shell_only=not loose,
            day=self.day,
        )

    def _input_state(self, sec: Section) -> list[Command]:
        """``**What was attempted**:`` fences (and any shell fence) of a failure's Input State."""
        out: list[Command] = []
        for fence in self.doc.fences_in(sec.start, sec.end):
            if fence.line in self.consumed:
                continue
            cmds = self._fence(fence, "input-state", loose=False)
            if not cmds and fence.info in ("", "text"):
                # "What was attempted" fences are often unlabeled scripts
                self.consumed.add(fence.line)
                cmds = input_commands(
                    fence, self.rel, "input-state", self.config.output_excerpt_chars
                )
            out.extend(cmds)
        return out

    # ------------------------------------------------------------------ errors

    def _error_section(self, sec: Section) -> list[ErrorEvent]:
        """``### Error N`` blocks with a fence each, or bare fences / bullets in the section."""
        doc = self.doc
        out: list[ErrorEvent] = []
        for fence in doc.fences_in(sec.start, sec.end):
            self.consumed.add(fence.line)
            message = _message(fence.body)
            if message:
                out.append(ErrorEvent(message, SourceRef(self.rel, fence.body_line)))
        fenced = {f.line for f in doc.fences_in(sec.start, sec.end)}
        if not fenced:
            for i, text in bullets(doc, sec.start, sec.end) or [
                (i, ln.strip()) for i, ln in doc.prose(sec.start, sec.end) if ln.strip()
            ]:
                msg = text.strip().strip("`").strip()
                lab = label(text)
                if lab is not None and lab[0] in ("message", "error"):
                    msg = lab[1].strip("`")
                if msg and not msg.startswith("#"):
                    out.append(ErrorEvent(msg[:1000], self.ref(i)))
        return out

    def _stack_section(self, sec: Section) -> list[ErrorEvent]:
        out: list[ErrorEvent] = []
        for fence in self.doc.fences_in(sec.start, sec.end):
            self.consumed.add(fence.line)
            lines = [ln for ln in fence.body.split("\n") if ln.strip()]
            pick = next(
                (
                    k
                    for k in range(len(lines) - 1, -1, -1)
                    if re.match(r"^\s*[\w.]+(?:Error|Exception|Exit|Interrupt)\b", lines[k])
                ),
                len(lines) - 1 if lines else None,
            )
            if pick is not None:
                offset = fence.body.split("\n").index(lines[pick])
                out.append(
                    ErrorEvent(
                        lines[pick].strip()[:1000], SourceRef(self.rel, fence.body_line + offset)
                    )
                )
        return out

    def _prose_errors(self, skip: list[tuple[int, int]]) -> list[ErrorEvent]:
        """``Error: ...`` lines written in prose outside error sections and advice."""
        out: list[ErrorEvent] = []
        for i, line in self.doc.prose(self.doc.body_start, len(self.doc.lines)):
            if any(a <= i < b for a, b in skip):
                continue
            m = re.match(
                r"^\s*(?:[-*+]\s+)?(?:\*\*|__)?(?:Error|ERROR|Fatal|FATAL)(?:\*\*|__)?\s*:\s*(?:\*\*|__)?\s*(.+)$",
                line,
            )
            if m:
                msg = m.group(1).strip().strip("`").strip()
                if msg:
                    out.append(ErrorEvent(msg[:1000], self.ref(i)))
        return out

    def _timeline(
        self, sec: Section
    ) -> tuple[list[tuple[datetime | None, str, int]], list[ErrorEvent]]:
        stamps: list[datetime | None] = []
        texts: list[tuple[int, str]] = []
        for i, line in self.doc.prose(sec.start, sec.end):
            found = find_timestamp(line)
            if found is None:
                continue
            stamps.append(found[0].resolve(self.day))
            texts.append((i, found[1]))
        rolled = roll_days(stamps)
        errors = []
        for (i, rest), at in zip(texts, rolled, strict=True):
            # "helm returns exit code 1" reports a status; the error text is elsewhere
            if rest and is_error_line(_EXIT_PHRASE.sub("", rest)):
                errors.append(ErrorEvent(rest.strip("`* ")[:1000], self.ref(i), at=at))
        entries = [(at, rest, i + 1) for (i, rest), at in zip(texts, rolled, strict=True)]
        return entries, errors

    # ------------------------------------------------------------- environment

    def _environment(self, sec: Section) -> str | None:
        for _, line in self.doc.prose(sec.start, sec.end):
            lab = label(line)
            if lab is not None and lab[0] in _ENV_KEYS and lab[1]:
                return environment_name(lab[1].strip("`*"))
        return None

    # ----------------------------------------------------------------- timing

    def _meta_duration(self) -> float | None:
        for key in ("duration", "total_time", "elapsed", "time_taken"):
            value = scalar(self.meta.get(key))
            if value:
                return parse_duration(value)
        return None

    def _total(self, sec: Section) -> float | None:
        for i, line in self.doc.prose(sec.start, sec.end):
            lab = label(line)
            if lab is not None and lab[0] in _TOTAL_LABELS and lab[1]:
                seconds = parse_duration(lab[1])
                if seconds is None:
                    self.warn(i, f"unreadable duration {lab[1][:40]!r}")
                return seconds
        return None

    def _total_anywhere(self) -> float | None:
        for i, line in self.doc.prose(self.doc.body_start, len(self.doc.lines)):
            lab = label(line)
            if (
                lab is not None
                and lab[0] in ("total time", "total duration", "wall time", "wall clock")
                and lab[1]
            ):
                seconds = parse_duration(lab[1])
                if seconds is not None:
                    return seconds
                self.warn(i, f"unreadable duration {lab[1][:40]!r}")
        return None

    def _prose_total(self, step_lines: set[int], skip: list[tuple[int, int]]) -> float | None:
        """A total stated in a sentence, else a start-end clock range; step lines are not totals."""
        lines = [
            line
            for i, line in self.doc.prose(self.doc.body_start, len(self.doc.lines))
            if (i + 1) not in step_lines
            and not any(a <= i < b for a, b in skip)
            and not ((found := find_timestamp(line)) is not None and found[0].has_time)
        ]
        for line in lines:
            if (seconds := prose_total(line)) is not None:
                return seconds
        for line in lines:
            if (seconds := time_range_seconds(line)) is not None:
                return seconds
        return None

    def _timed(
        self, commands: list[Command], entries: list[tuple[datetime | None, str, int]]
    ) -> list[Command]:
        rolled = roll_days([c.started_at for c in commands])
        commands = [replace(c, started_at=r) for c, r in zip(commands, rolled, strict=True)]
        # timeline lines naming a command ("02:22:32 update-function-code") give it a time
        if entries and any(c.started_at is None for c in commands):
            commands = attach_timeline(commands, entries)
        return fill_durations(commands, None)

    def _span(
        self, commands: list[Command], stamps: list[datetime], total: float | None
    ) -> tuple[datetime | None, datetime | None, float | None]:
        starts = [c.started_at for c in commands if c.started_at is not None] + stamps
        if self.start is not None:
            starts.append(self.start)
        started = min(starts) if starts else None
        ends = list(stamps)
        for c in commands:
            if c.started_at is not None:
                ends.append(c.started_at + timedelta(seconds=c.duration_s or 0.0))
        finished: datetime | None = None
        if started is not None and total is not None:
            finished = started + timedelta(seconds=total)
        elif ends:
            finished = max(ends)
            if started is not None and finished <= started:
                finished = None
        duration = total
        if duration is None and started is not None and finished is not None:
            duration = (finished - started).total_seconds()
        return started, finished, duration

    # ----------------------------------------------------------------- outcome

    def _outcome(
        self, mode: ObservationMode | None, commands: list[Command], result: Outcome | None
    ) -> Outcome:
        if mode is ObservationMode.FAILURE:
            return Outcome.FAILURE
        for key in ("outcome", "status", "result"):
            value = scalar(self.meta.get(key))
            if value:
                word = outcome_word(value, rollback_ok=self.rollback)
                if word is not None:
                    return word
        resolved = boolean(self.meta.get("resolved"))
        if resolved is not None:
            return Outcome.SUCCESS if resolved else Outcome.FAILURE
        if result is not None:
            return result
        return outcome_from_commands(commands, rollback_ok=self.rollback) or Outcome.UNKNOWN


# ---------------------------------------------------------------- list items


_EXIT_PHRASE = re.compile(
    r"\b(?:exit(?:ed)?|return(?:ed|s)?)(?: with)?(?: code| status)? [1-9]\d*\b", re.I
)
_CLOCK_VALUE = re.compile(r"^(\d{1,2}):[0-5]\d(?::[0-5]\d(?:\.\d+)?)?\s*(?:Z|UTC|[AaPp][Mm])?$")


def _is_clock_time(name: str, value: str) -> bool:
    """A "Time" label holding a time of day (or a full timestamp) rather than a duration."""
    if name != "time":
        return False
    text = value.strip("`*_ ")
    if re.match(r"^\d{4}-\d{2}-\d{2}[T ]\d", text):
        return True
    m = _CLOCK_VALUE.match(text)
    return m is not None and int(m.group(1)) >= 1


def _first_sentence(text: str) -> str:
    return re.split(r"(?<=[.!?;])\s|\s[—–]\s", text, maxsplit=1)[0]


def _is_item(line: str) -> bool:
    return bool(re.match(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+\S", line))


def _tail(rest: str) -> tuple[int | None, str] | None:
    """(exit code, note) when ``rest`` starts with an exit code token (``0``, ``exit 1``, ``(rc=2)``)."""
    m = _EXIT_TOKEN.match(rest)
    if m is None:
        return None
    tail = m.group("tail")
    if not tail.strip():
        return int(m.group(1)), ""
    sep = _SEP_START.match(" " + tail if tail[:1] not in (" ", "\t") else tail)
    if sep is None:
        return None
    return int(m.group(1)), tail[sep.end() - (0 if tail[:1] in (" ", "\t") else 1) :].strip()


_LOOSE_ITEM = re.compile(r"^(?P<pre>[^`]{1,80}?)`{1,2}(?P<cmd>[^`]+)`{1,2}(?P<rest>.*)$")
_CLOCK_IN = re.compile(
    r"(?<![\d:])\d{1,2}(?::|h(?=\d))\d{2}(?::\d{2})?(?:\s*[AaPp][Mm]\b)?(?![\d:])"
)


def _list_item(body: str, ref: SourceRef, day: date | None = None) -> Command | None:
    """Parse ``cmd - exit code - outcome``; the command may itself contain `` - ``.

    Also ``**Bash** (14:30:52): `kubectl get pods` → exit 0 (12s)``: a lead-in naming the tool
    and time, then the backticked command.
    """
    text = body.strip()
    at: datetime | None = None
    loose = _LOOSE_ITEM.match(text)
    if loose and looks_like_command(loose.group("cmd").strip()):
        clock = _CLOCK_IN.search(loose.group("pre"))
        if clock:
            at = parse_timestamp(clock.group(0), day)
        text = f"`{loose.group('cmd')}`{loose.group('rest')}"
    for emoji, word in _EMOJI_OUTCOME.items():
        if text.startswith(emoji) or text.endswith(emoji):
            text = text.strip(emoji).strip()
            note_from_emoji = word
            break
    else:
        note_from_emoji = ""
    if not text:
        return None
    exit_code: int | None = None
    note = ""
    m = re.match(r"^`{1,2}(?P<cmd>[^`]+)`{1,2}(?P<rest>.*)$", text)
    if m:
        command = m.group("cmd").strip()
        rest = re.sub(r"^\s*(?:[-—–|:→⇒,]|->)?\s*", "", m.group("rest"))
        tail = _tail(rest)
        if tail is not None:
            exit_code, note = tail
        else:
            im = _EXIT_INLINE.search(rest)
            if im:
                exit_code = int(im.group(1))
                rest = (rest[: im.start()] + rest[im.end() :]).strip()
            else:
                exit_code = exit_code_in(rest)
            note = re.sub(r"^\s*(?:[-—–|:→⇒,]|->)\s*", "", rest.strip())
    else:
        command = text
        # the command ends at the first separator followed by an exit code token
        for sep in re.finditer(_SEP, text):
            tail = _tail(text[sep.end() :])
            if tail is not None and sep.start() > 0:
                command = text[: sep.start()]
                exit_code, note = tail
                break
        else:
            im = _EXIT_INLINE.search(text)
            if im:
                exit_code = int(im.group(1))
                command = text[: im.start()].strip()
                note = re.sub(r"^\s*(?:[-—–|:→⇒,]|->)\s*", "", text[im.end() :]).strip()
            else:
                seps = list(re.finditer(_SEP, text))
                if seps:
                    last = seps[-1]
                    after = text[last.end() :].strip()
                    if len(after) <= 60 and outcome_word(after) is not None and last.start() > 0:
                        command, note = text[: last.start()], after
        command = command.strip().strip("`").strip()
    note = note or note_from_emoji
    if exit_code is None and note:
        exit_code = exit_code_in(note)
    if not command or not re.search(r"[A-Za-z0-9]", command):
        return None
    return Command(
        text=command,
        source=ref,
        exit_code=exit_code,
        started_at=at,
        duration_s=paren_duration(note) if note else None,
        outcome_note=note[:80],
        origin="commands-executed",
    )


def _known(extra: list[Command], base: list[Command]) -> list[Command]:
    """The commands of ``extra`` that ``base`` already holds, at most as often as it does."""
    left: dict[str, int] = {}
    for cmd in base:
        key = command_key(cmd.text)
        left[key] = left.get(key, 0) + 1
    out = []
    for cmd in extra:
        key = command_key(cmd.text)
        if left.get(key, 0) > 0:
            left[key] -= 1
            out.append(cmd)
    return out


def _error_blocks(fences: list[Any], rel: str) -> list[ErrorEvent]:
    """Error lines of code blocks that hold no command (at most 3 lines per block)."""
    out: list[ErrorEvent] = []
    for fence in fences:
        lines = fence.body.split("\n")
        hits = [k for k, ln in enumerate(lines) if ln.strip() and is_error_line(ln)][:3]
        if hits:
            message = "\n".join(lines[k].strip() for k in hits)[:1000]
            out.append(ErrorEvent(message, SourceRef(rel, fence.body_line + hits[0])))
    return out


def _bounded(text: str, limit: int) -> str:
    return excerpt(text, limit) if text else ""


def _message(body: str) -> str:
    """An error fence as one message: its non-blank lines, bounded."""
    lines = [ln.rstrip() for ln in body.strip("\n").split("\n") if ln.strip()]
    return "\n".join(lines[:12])[:1000]


_ERROR_PREFIX = re.compile(r"^(?:error|fatal)\s*:\s*", re.IGNORECASE)


def _dedupe_errors(errors: list[ErrorEvent], failing: str | None) -> list[ErrorEvent]:
    """Drop repeats (same message, or one message contained in an earlier one); attach the failing command."""
    out: list[ErrorEvent] = []
    for err in errors:
        msg = _ERROR_PREFIX.sub("", " ".join(err.message.split()))
        dup = False
        for k, prev in enumerate(out):
            pmsg = _ERROR_PREFIX.sub("", " ".join(prev.message.split()))
            if msg == pmsg or msg in pmsg:
                dup = True
                if prev.at is None and err.at is not None:
                    out[k] = replace(prev, at=err.at)
                break
        if not dup:
            out.append(err)
    if failing:
        out = [e if e.command else replace(e, command=failing) for e in out]
    return out
