"""Helpers shared by the markdown readers: commands from fences, merging, errors, outcomes.

Sample inputs: a fence opened with ``\u0060\u0060\u0060console`` holding ``$ terraform apply``, an error line
``Error: Task timed out after 30.00 seconds``, an expectation ``Expected: HTTP 200``.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

from runbook.model import Command, Diagnostic, ErrorEvent, Outcome, SourceRef
from runbook.normalize import resolve_program
from runbook.sources.markdown import Document, Fence, norm_heading, scalar
from runbook.sources.shell import PROSE_WORDS, is_transcript, split_script
from runbook.timeparse import (
    find_timestamp,
    parse_duration,
    parse_timestamp,
    remark_duration,
    to_utc_naive,
)

SCRIPT_INFOS = frozenset(
    {"bash", "sh", "shell", "zsh", "ksh", "fish", "dash", "powershell", "ps1", "pwsh", "ps"}
)
TRANSCRIPT_INFOS = frozenset(
    {
        "console",
        "shell-session",
        "shellsession",
        "terminal",
        "session",
        "sh-session",
        "bash-session",
    }
)
# fences that may hold a transcript but are not shell by declaration
LOOSE_INFOS = frozenset({"", "text", "txt", "plain", "plaintext", "log", "output", "none"})

# "2025-01-02", "2025/01/02", "2025_01_02", "2025.01.02" inside a path, title or line
DATE_IN = re.compile(r"(?<!\d)(\d{4})[-/_.](\d{2})[-/_.](\d{2})(?!\d)")
_ERROR_LINE = re.compile(
    r"(?:^|[\s\[(:.])(?:[A-Z]\w*(?:Error|Exception|Fault)|Traceback|ERROR|FATAL|CRITICAL|PANIC|panic:"
    r"|[Ee]rror(?:\[\w+\])?:|[Ff]atal:|E[0-9]{4}|AccessDenied\w*|Unauthorized|Forbidden|denied:"
    r"|timed out|Timeout|Connection refused|No such file or directory|command not found"
    r"|exit (?:code|status) [1-9]\d*|[Ff]ailed(?: to| with|:)|FAILED|FAIL\b|Permission denied)"
)
_NOT_ERROR = re.compile(
    r"\b(?:0|no|zero) (?:errors?|failures?)\b|\berrors?: 0\b|\bfailed: 0\b", re.I
)
_EXPECTED = re.compile(
    r"^\s*(?:>\s*)?(?:[-*+]\s+)?(?:\*\*|__)?Expected(?: (?:output|result|response|outcome|value))?"
    r"(?:\*\*|__)?\s*:\s*(?:\*\*|__)?\s*(?P<text>.*)$",
    re.IGNORECASE,
)
_EXIT_IN_OUTPUT = re.compile(
    r"(?:exit(?:ed)?(?: with)?(?: code| status)?|return(?:ed)? code|rc)\s*[:=]?\s*(-?\d{1,3})\b",
    re.I,
)
_OPERATION_WORDS: tuple[tuple[str, str], ...] = (
    (r"roll(?:ed|ing)?[ _-]?back|rollback|revert", "rollback"),
    (
        r"incident|outage|postmortem|post-mortem|sev[0-4]\b|on-?call|triage|mitigat\w*",
        "incident-response",
    ),
    (r"migrat\w*", "migration"),
    (r"scal(?:e|ed|ing|eup|eout)\w*|autoscal\w*|replicas?\b|resiz\w*|capacity", "scaling"),
    (r"deploy\w*|release|rollout|ship(?:ped|ping)?", "deployment"),
)
_SUCCESS_WORDS = frozenset(
    [
        "success",
        "successful",
        "succeeded",
        "ok",
        "pass",
        "passed",
        "passing",
        "completed",
        "complete",
        "done",
        "resolved",
        "green",
        "fixed",
        "deployed",
        "migrated",
        "applied",
        "healthy",
        "clean",
        "restored",
        "recovered",
        "mitigated",
        "worked",
        "erfolgreich",
    ]
)
_FAILURE_WORDS = frozenset(
    [
        "failure",
        "failed",
        "fail",
        "fehlgeschlagen",
        "error",
        "errored",
        "aborted",
        "abort",
        "broken",
        "red",
        "timeout",
        "timedout",
        "crashed",
        "cancelled",
        "canceled",
        "rolledback",
    ]
)


def is_error_line(line: str) -> bool:
    """True when a line reads as an error message rather than ordinary output."""
    return bool(_ERROR_LINE.search(line)) and not _NOT_ERROR.search(line)


def expectation(line: str) -> str | None:
    """The text of an ``Expected: ...`` line, else None."""
    m = _EXPECTED.match(line)
    if m is None:
        return None
    text = m.group("text").strip().strip("*_").strip()
    return text or None


def excerpt(text: str, limit: int) -> str:
    """Output bounded to ``limit`` characters, keeping head and tail (errors often come last)."""
    text = text.strip("\n")
    if len(text) <= limit:
        return text
    head = max(limit * 2 // 3, 0)
    tail = max(limit - head - 5, 0)
    return text[:head] + "\n...\n" + (text[-tail:] if tail else "")


def exit_code_in(text: str) -> int | None:
    """An exit code stated in free text (``exit 1``, ``Exit code: 0``, ``(rc=2)``), else None."""
    m = _EXIT_IN_OUTPUT.search(text)
    return int(m.group(1)) if m else None


def _failure(word: str) -> bool:
    return word in _FAILURE_WORDS or (word.endswith("s") and word[:-1] in _FAILURE_WORDS)


def outcome_word(text: str, *, rollback_ok: bool = False) -> Outcome | None:
    """SUCCESS/FAILURE for a status word such as ``succeeded`` or ``rolled back``, else None.

    "Rolled back" is a failed deployment but a successful rollback: ``rollback_ok`` says which.
    """
    words = re.sub(r"[^a-z ]+", " ", text.lower()).replace("rolled back", "rolledback").split()
    if rollback_ok:
        words = [w for w in words if w != "rolledback"]
    if not words:
        return None
    # "no errors", "without failures", "0 failed" negate the failure word that follows
    negated = {k + 1 for k, w in enumerate(words) if w in ("no", "without", "zero", "never")}
    if negated:
        kept = [w for k, w in enumerate(words) if k not in negated]
        if len(kept) < len(words) and not any(_failure(w) for w in kept):
            return Outcome.SUCCESS
        words = kept
    if any(_failure(w) for w in words) and words[0] not in ("no", "not", "without"):
        return Outcome.FAILURE
    if any(w in _SUCCESS_WORDS for w in words):
        return Outcome.SUCCESS
    return None


def operation_from_words(text: str) -> str | None:
    """The operation type named by words such as ``deploy``, ``rollback``, ``migrate``."""
    low = text.lower()
    for pattern, op in _OPERATION_WORDS:
        if re.search(rf"(?:^|[^a-z]){pattern}", low):
            return op
    return None


def declared_type(meta: dict[str, Any], slug: str) -> str | None:
    """Operation type from front matter (``type``, ``operation``...) or the file's slug words."""
    for key in ("operation_type", "operation", "type", "category", "kind"):
        value = scalar(meta.get(key))
        if value:
            op = operation_from_words(value)
            if op:
                return op
    return operation_from_words(slug.replace("_", "-"))


def environment_name(text: str) -> str | None:
    """Canonical environment for a value such as ``production`` or ``stg``."""
    low = text.strip().lower()
    for canon, names in (
        ("prod", ("prod", "production", "prd", "live")),
        ("staging", ("staging", "stage", "stg", "preprod", "pre-prod", "uat")),
        ("dev", ("dev", "development", "develop", "sandbox")),
        ("local", ("local", "localhost", "laptop")),
        ("test", ("test", "testing", "qa", "ci")),
    ):
        if low in names or re.match(rf"^(?:{'|'.join(map(re.escape, names))})\b", low):
            return canon
    return low.split()[0][:40] if low and len(low.split()) <= 2 else None


def meta_datetime(
    meta: dict[str, Any], fallback: date | None
) -> tuple[date | None, datetime | None]:
    """The date and start datetime stated by front matter ``date``/``time`` (or ``timestamp``)."""
    day: date | None = fallback
    raw_date = meta.get("date")
    start: datetime | None = None
    if isinstance(raw_date, datetime):
        start = _utc(raw_date)
        day = start.date()
    elif isinstance(raw_date, date):
        day = raw_date
    elif raw_date is not None:
        parsed = parse_timestamp(str(raw_date), fallback)
        if parsed is not None:
            day = parsed.date()
            if re.search(r"\d:\d", str(raw_date)):
                start = parsed
    for key in ("timestamp", "started", "started_at", "start"):
        if start is None and meta.get(key) is not None:
            value = meta[key]
            start = _utc(value) if isinstance(value, datetime) else parse_timestamp(str(value), day)
    raw_time = meta.get("time")
    if start is None and raw_time is not None and day is not None:
        if isinstance(raw_time, int) and not isinstance(raw_time, bool) and 0 <= raw_time < 86400:
            # YAML 1.1 reads an unquoted 14:30:52 as base-60 seconds
            start = datetime.combine(
                day, time(raw_time // 3600, raw_time // 60 % 60, raw_time % 60)
            )
        elif isinstance(raw_time, datetime):
            start = _utc(raw_time)
        else:
            t = str(raw_time).strip()
            if re.fullmatch(r"\d{6}", t):
                t = f"{t[:2]}:{t[2:4]}:{t[4:]}"
            start = parse_timestamp(t, day)
    return day, start


def _utc(dt: datetime) -> datetime:
    return to_utc_naive(dt)


_ECHO_STATUS = re.compile(r"""^echo\s+["']?[\w =:]*\$\??\{?\?\}?["']?$""")


def fence_commands(
    fence: Fence,
    rel: str,
    origin: str,
    limit: int,
    *,
    shell_only: bool = False,
    day: date | None = None,
) -> list[Command]:
    """Commands in a code block: scripts by line, transcripts with their output.

    ``day`` dates the clock times a timed prompt shows (``[10:03:40] user@host:~$ cmd``).
    """
    info = fence.info
    transcript: bool | None
    if info in TRANSCRIPT_INFOS:
        transcript = True
    elif info in SCRIPT_INFOS:
        transcript = bool(is_transcript(fence.body))
    elif info in LOOSE_INFOS and not shell_only:
        if not is_transcript(fence.body):
            return []
        transcript = True
    else:
        return []
    commands: list[Command] = []
    answered = -1  # index of the command whose status an "echo $?" already gave
    for sl in split_script(fence.body, transcript=transcript):
        status = _ECHO_STATUS.match(sl.command)
        if status and commands and re.fullmatch(r"\s*\S*?(-?\d{1,3})\s*", sl.output or "x"):
            # "$ echo $?" answers for the command before it and is not a step itself
            if answered != len(commands) - 1:
                code = int(re.findall(r"-?\d{1,3}", sl.output)[-1])
                commands[-1] = replace(commands[-1], exit_code=code)
                answered = len(commands) - 1
            continue
        text, timed = _untimed(sl.command, sl.output)
        commands.append(
            Command(
                text=text,
                source=SourceRef(rel, fence.body_line + sl.offset),
                output=excerpt(sl.output, limit),
                cwd=sl.cwd,
                origin=origin,
                exit_code=exit_code_in(sl.output.split("\n")[-1]) if sl.output else None,
                duration_s=timed,
                started_at=_date_output(text, sl.output) or _prompt_time(sl.clock, day),
            )
        )
    return commands


def _prompt_time(clock: str | None, day: date | None) -> datetime | None:
    """The start a timed prompt printed, dated by the document's day."""
    if not clock:
        return None
    stamp = parse_timestamp(clock, day)
    return _utc(stamp) if stamp is not None else None


_DATE_CMD = re.compile(r"^date(?:\s+-u|\s+--utc)?\s*$")
# `date -u` prints "Thu Nov  6 09:30:15 UTC 2025" (C locale); the zone may be missing
_CTIME = re.compile(
    r"^(?:[A-Z][a-z]{2}\s+)?(?P<mon>[A-Z][a-z]{2})\s+(?P<d>\d{1,2})\s+"
    r"(?P<t>\d{2}:\d{2}:\d{2})\s+(?:(?P<tz>UTC|GMT|Z)\s+)?(?P<y>\d{4})$"
)


def _date_output(command: str, output: str) -> datetime | None:
    """When a transcript's ``date -u`` ran: the time it printed (UTC only), else None."""
    if not _DATE_CMD.match(command.strip()):
        return None
    m = _CTIME.match(output.strip())
    if m is None or (m.group("tz") is None and "-u" not in command and "--utc" not in command):
        return None
    return parse_timestamp(f"{m.group('d')}/{m.group('mon')}/{m.group('y')}:{m.group('t')}")


_TIME_PREFIX = re.compile(r"^time\s+(?:-p\s+)?(?=\S)")
_REAL_LINE = re.compile(r"^\s*real\s+(\S+)\s*$", re.MULTILINE)
_ZSH_TOTAL = re.compile(r"\scpu\s+(\d+(?::\d{2}){0,2}(?:\.\d+)?)\s+total\s*$", re.MULTILINE)


def _untimed(command: str, output: str) -> tuple[str, float | None]:
    """``time helm upgrade …`` is the step ``helm upgrade …``; its ``real 1m52.4s`` is the duration."""
    m = _TIME_PREFIX.match(command)
    if m is None:
        return command, None
    seconds: float | None = None
    if real := _REAL_LINE.findall(output):
        seconds = parse_duration(real[-1])
    elif total := _ZSH_TOTAL.findall(output):
        value = total[-1]
        seconds = parse_duration(value if ":" in value else value + "s")
    return command[m.end() :], seconds


def input_commands(fence: Fence, rel: str, origin: str, limit: int) -> list[Command]:
    """Commands in a tool call's ``**Input**`` block (a shell body or ``{"command": ...}`` JSON)."""
    body = fence.body.strip()
    if body.startswith("{"):
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if isinstance(data, dict):
            for key in ("command", "cmd", "script", "commands"):
                value = data.get(key)
                if isinstance(value, str) and value.strip():
                    sub = Fence("bash", value, fence.line, fence.body_line, fence.end)
                    return fence_commands(sub, rel, origin, limit)
            return []
    m = re.match(r"^(?:command|cmd)\s*:\s*(.+)$", body, re.S)
    if m:
        sub = Fence("bash", m.group(1).strip().strip("'\""), fence.line, fence.body_line, fence.end)
        return fence_commands(sub, rel, origin, limit)
    info = fence.info if fence.info not in LOOSE_INFOS else "bash"
    if is_transcript(body):
        info = "console"
    return fence_commands(replace(fence, info=info), rel, origin, limit)


BACKTICKED = re.compile(r"`([^`\n]{3,400})`")
_LIST_ITEM = re.compile(r"^(?P<indent>\s*)(?:[-*+]|\d{1,3}[.)])\s+(?:\[[ xX]\]\s+)?(?P<text>.*)$")
# "ENV=prod doppler run -- aws ...", "sudo systemctl restart nginx": a program then arguments
_COMMANDISH = re.compile(r"^(?:[A-Z_][A-Z0-9_]*=\S+\s+)*(?:sudo\s+)?[a-z][\w.+-]*(?:\s+\S+)+$")


def inline_commands(doc: Document, rel: str, start: int, end: int) -> list[Command]:
    """Backticked commands in list steps (``1. Raise it: `aws lambda put-...` ``), wrapped lines included."""
    out: list[Command] = []
    in_item = False
    for i, line in doc.prose(start, end):
        m = _LIST_ITEM.match(line)
        if m:
            in_item = True
            text = m.group("text")
        elif in_item and line.strip() and line[:1] in (" ", "\t"):
            text = line
        else:
            in_item = bool(line.strip()) and in_item and line[:1] in (" ", "\t")
            continue
        for span in BACKTICKED.findall(text):
            span = span.strip()
            if looks_like_command(span):
                out.append(Command(span, SourceRef(rel, i + 1), origin="inline"))
    return out


_STEP_LEAD_MAX = 160  # characters of prose allowed before a step's backticked command


# a lead-in that plans or hedges ("Rollback plan if needed:", "next time:") is not a run
_PLANNING = re.compile(
    r"\b(?:if|plan|planned|would|should|could|might|next|todo|consider|instead|otherwise"
    r"|later|future|never|avoid|don'?t|do not)\b",
    re.IGNORECASE,
)
_LEAD_END = re.compile(r"(?:[:→⇒]|->|=>|\s[-—–]|^[-—–])\s*$")


def _strip_stamp(text: str, stamp: tuple[Any, str] | None) -> str:
    """``text`` without its leading time ("[14:02:11 UTC]", "**11h04**", "2:02 PM") or checkbox."""
    lead = text
    if stamp is not None and stamp[0].has_time:
        lead = re.sub(
            r"^[\s\[(*_]*(?:(?:[@~]|(?:at|um|ca\.)\s)\s*)?"
            r"(?:\d{4}-\d{2}-\d{2}[T ]?)?\d{1,2}[:h]\d{2}(?::\d{2})?(?:\.\d+)?"
            r"(?:\s*[AaPp][Mm])?(?:\s*(?:Z|UTC|GMT))?[\])*_]*(?:\s*(?:[-—–:|]|->|→)\s)?",
            "",
            lead,
        )
    return re.sub(r"^\s*\[[ xX]\]\s*", "", lead).strip()


# words that say the command was run: "Ran `x`", "then re-ran `x`", "✅ `x`"
_RAN_WORDS = frozenset(
    [
        "ran",
        "run",
        "running",
        "re-ran",
        "reran",
        "rerun",
        "executed",
        "exec",
        "then",
        "first",
        "finally",
        "also",
        "retried",
        "tried",
        "again",
        "issued",
        "triggered",
        "kicked",
        "off",
        "started",
        "typed",
        "did",
        "step",
        "✅",
        "❌",
        "✔",
        "✗",
        "⚠️",
    ]
)


def _step_lead(pre: str, stamp: tuple[Any, str] | None) -> bool:
    """True when the text before a step's command introduces it: nothing, a run verb, or ``…:``."""
    lead = _strip_stamp(pre, stamp)
    if not lead:
        return True
    if len(lead) > _STEP_LEAD_MAX or "`" in lead or _PLANNING.search(lead):
        return False
    words = re.sub(r"[*_:,]+", " ", lead).lower().split()
    if words and len(words) <= 3 and all(w in _RAN_WORDS or w.isdigit() for w in words):
        return True
    return bool(_LEAD_END.search(lead))


# "$ kubectl get pods — ok (2s)": a prompt in a list item; the command ends at a remark
_PROMPT_ITEM = re.compile(
    r"^\$\s+(?P<cmd>[^\s`].*?)(?P<rest>\s+(?:[—–→#]|->|-\s|\()(?:.*)|\s{2,}.*)?$"
)


def _step_command(text: str, stamp: tuple[Any, str] | None) -> tuple[str, str] | None:
    """(command, remark after it) of a step line, or None when the line is no step."""
    tick = BACKTICKED.search(text)
    if tick is not None and _step_lead(text[: tick.start()], stamp):
        return tick.group(1).strip(), text[tick.end() :]
    lead = _strip_stamp(text, stamp)
    prompt = _PROMPT_ITEM.match(lead)
    if prompt is not None and "`" not in prompt.group("cmd"):
        return prompt.group("cmd").strip(), prompt.group("rest") or ""
    return None


def _paren_unit_duration(text: str) -> float | None:
    """A parenthesized duration with a unit (``(exit 0, 3s)``); ``(14:02)`` is a time of day."""
    for m in _PAREN_DURATION.finditer(text):
        if re.search(r"\d\s*[A-Za-z]", m.group(1)):
            seconds = parse_duration(m.group(1))
            if seconds is not None:
                return seconds
    return None


def _reports_on(line: str, cmd: Command) -> bool:
    """True for a list item or time-led line giving the exit code of ``cmd`` by its program."""
    if cmd.exit_code is not None or exit_code_in(line) is None:
        return False
    found = find_timestamp(line)
    if _LIST_ITEM.match(line) is None and (found is None or not found[0].has_time):
        return False
    program = program_of(cmd.text).rsplit("/", 1)[-1].lower()
    return (
        bool(program)
        and re.search(rf"(?<![\w-]){re.escape(program)}(?![\w-])", line.lower()) is not None
    )


def step_commands(
    doc: Document,
    rel: str,
    start: int,
    end: int,
    day: date | None,
    *,
    skip: Sequence[tuple[int, int]] = (),
    require_evidence: bool = False,
    limit: int = 4000,
    consumed: set[int] | None = None,
) -> list[Command]:
    """Commands written as step lines: a list item or a time-led line whose backticked command leads.

    ``1. [2025-11-03 14:02:11 UTC] Get credentials: `gcloud container ...` (took ~4s)``,
    ``- 11h04 `helm upgrade ...` → exit 1 after 10m``, ``16h46 `helm rollback ...` — exit 0,
    took 1m 20s``. The text after the command gives the exit code and a duration; a code block
    under the item is its output. ``require_evidence`` keeps only lines with a time, an exit
    code or a duration (a design note's bullets mention commands nobody ran). The opening
    lines of code blocks taken as output are added to ``consumed``.
    """
    out: list[Command] = []
    steps: list[tuple[int, Command]] = []
    for i, line in doc.prose(start, end):
        if any(a <= i < b for a, b in skip) or line.lstrip().startswith("|"):
            continue  # table rows are read as tables
        m = _LIST_ITEM.match(line)
        text = m.group("text") if m else line.strip()
        found = find_timestamp(text if m else line)
        at: datetime | None = None
        if found is not None and found[0].has_time:
            at = found[0].resolve(day)
        elif m is None:
            continue  # a plain paragraph line is a step only when it starts with a time
        picked = _step_command(text, found)
        if picked is None:
            # "- 3:43 PM — helm returns exit code 1 (after roughly 1m40s)": the outcome of the
            # step before, named by its program
            if "`" not in line and steps and _reports_on(line, steps[-1][1]):
                prev = steps[-1][1]
                steps[-1] = (
                    steps[-1][0],
                    replace(
                        prev,
                        exit_code=exit_code_in(line),
                        duration_s=prev.duration_s or remark_duration(line),
                    ),
                )
            continue
        command, rest = picked
        exit_code = exit_code_in(rest)
        duration = remark_duration(rest)
        if duration is None:
            duration = _paren_unit_duration(rest)  # "(exit 0, 3s)"
        evidence = at is not None or exit_code is not None or duration is not None
        if not looks_like_command(command) and not (evidence and _COMMANDISH.match(command)):
            continue  # "make deploy" is English too, unless a time or exit code says it ran
        if require_evidence and not evidence:
            continue
        # only a short status right after the command ("→ fine", "— ok") is an outcome; a
        # remark such as "V47 shows `Failed checksum`" describes output, not the result
        note = re.sub(r"^\s*(?:[-—–|:→⇒,]|->)\s*", "", rest.strip())
        note = re.split(r"[,;.(]|\s[-—–]\s", re.sub(r"\([^()]*\)", "", note), maxsplit=1)[0]
        note = note.strip() if len(note.strip()) <= 25 else ""
        for mark, word in (("✅", "success"), ("✔", "success"), ("❌", "failed"), ("✗", "failed")):
            if mark in note:
                note = word
        cmd = Command(
            text=command,
            source=SourceRef(rel, i + 1),
            exit_code=exit_code,
            started_at=at,
            duration_s=duration,
            outcome_note=note[:80],
            origin="step",
        )
        steps.append((i, cmd))
    # a code block between a step and the next one is that step's output
    for k, (i, cmd) in enumerate(steps):
        stop = steps[k + 1][0] if k + 1 < len(steps) else end
        stop = min(stop, next((s.line - 1 for s in doc.sections[1:] if i < s.line - 1), stop))
        blocks = [f for f in doc.fences_in(i + 1, stop) if not f.info or f.info in LOOSE_INFOS]
        if blocks:
            cmd = replace(cmd, output=excerpt("\n".join(f.body for f in blocks), limit))
            if consumed is not None:
                consumed.update(f.line for f in blocks)
        out.append(cmd)
    return out


# "Total about 3.5 minutes", "took 2m", "Whole thing about 1.5 min", "Gesamtdauer ca. 3,5 Minuten"
_TOTAL_PROSE = re.compile(
    r"\b(?:total(?:\s+(?:time|duration|runtime))?|took|elapsed|wall[- ]clock|hands-on|overall"
    r"|whole thing|all in all|gesamtdauer|gesamtzeit|insgesamt)\b"
    r"(?:[^\n.\d]|\bca\.|\bapprox\.){0,25}?"
    r"(?P<d>~?\s*\d[\d.:]*\s*(?:[a-z]+)?(?:\s+\d[\d.]*\s*[a-z]+)?)",
    re.IGNORECASE,
)
# "~20 minutes end to end", "3 min in total": the figure before the words
_TOTAL_AFTER = re.compile(
    r"(?P<d>~?\s*\d[\d.]*\s*[a-z]+)\s+(?:end[- ]to[- ]end|in total|overall|total)\b",
    re.IGNORECASE,
)
_CLOCK_TEXT = r"\d{1,2}(?::|h(?=\d))\d{2}(?::\d{2})?(?:\s*[AaPp][Mm]\b)?"
# "(08:15 bis 08:18)", "15:09 – 15:13", "2:02 PM -> 2:06 PM": a start and an end clock time
_TIME_RANGE = re.compile(
    rf"(?<![\d:])(?P<a>{_CLOCK_TEXT})\s*(?:–|—|-|→|->|to|bis|until)\s*(?P<b>{_CLOCK_TEXT})(?![\d:])"
)
_RANGE_DAY = date(2000, 1, 1)


def prose_total(line: str) -> float | None:
    """A run's total duration stated in a sentence (``Total about 3.5 minutes``), else None."""
    text = re.sub(r"(?<=\d),(?=\d\s*[A-Za-z])", ".", line)  # "3,5 Minuten"
    m = _TOTAL_PROSE.search(text) or _TOTAL_AFTER.search(text)
    return parse_duration(m.group("d")) if m else None


def time_range_seconds(line: str) -> float | None:
    """Seconds between the clock times of a range (``15:09 – 15:13``), else None."""
    m = _TIME_RANGE.search(line)
    if m is None:
        return None
    a = parse_timestamp(m.group("a").replace("h", ":"), _RANGE_DAY)
    b = parse_timestamp(m.group("b").replace("h", ":"), _RANGE_DAY)
    if a is None or b is None:
        return None
    gap = (b - a).total_seconds()
    if gap < 0:
        gap += 86400  # past midnight
    return gap if 0 < gap <= 12 * 3600 else None


def item_remarks(doc: Document, commands: Sequence[Command], start: int, end: int) -> list[Command]:
    """Exit codes and durations a list item states for the one command in the code block under it.

    ``2. Wait for it — 40s, exit 0:`` followed by a fence holding ``kubectl rollout status …``.
    """
    out = list(commands)
    items = [
        (i, len(m.group("indent")), m.group("text"))
        for i, line in doc.prose(start, end)
        if (m := _LIST_ITEM.match(line)) is not None
    ]
    heads = sorted(s.line - 1 for s in doc.sections[1:] if start <= s.line - 1 < end)
    for k, (i, _indent, text) in enumerate(items):
        if "`" in text:
            continue
        exit_code = exit_code_in(text)
        duration = remark_duration(text)
        if duration is None:
            duration = _paren_unit_duration(text)
        if exit_code is None and duration is None:
            continue
        stop = items[k + 1][0] if k + 1 < len(items) else end
        stop = min([stop, *(h for h in heads if h > i)])
        fence = doc.fence_at_or_after(i + 1, stop)
        if fence is None:
            continue
        inside = [j for j, c in enumerate(out) if fence.line <= c.source.line <= fence.end]
        if len(inside) != 1:
            continue  # a remark about several commands says nothing about each
        cmd = out[inside[0]]
        out[inside[0]] = replace(
            cmd,
            exit_code=cmd.exit_code if cmd.exit_code is not None else exit_code,
            duration_s=cmd.duration_s if cmd.duration_s is not None else duration,
        )
    return out


def looks_like_command(text: str) -> bool:
    """True for a program followed by arguments (``kubectl get pods``), not a word or a phrase."""
    words = text.split()
    return bool(words) and bool(_COMMANDISH.match(text)) and words[0].lower() not in PROSE_WORDS


def paren_duration(text: str) -> float | None:
    """The first parenthesized duration in text: ``exit 0 (12s)`` gives 12."""
    for m in _PAREN_DURATION.finditer(text):
        seconds = parse_duration(m.group(1))
        if seconds is not None:
            return seconds
    return None


@dataclass(frozen=True, slots=True)
class Table:
    """A markdown pipe table: lowercased header cells and its body rows (0-based line, cells)."""

    header: tuple[str, ...]
    rows: tuple[tuple[int, tuple[str, ...]], ...]


_SEPARATOR_ROW = re.compile(r"^\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*$")
_TIME_HEADERS = (
    "time",
    "timestamp",
    "start",
    "started",
    "when",
    "at",
    "clock",
    "time utc",
    "uhrzeit",
    "zeit",
)
_EVENT_HEADERS = ("event", "step", "action", "what", "description", "activity", "note", "notes")
_DURATION_HEADERS = ("duration", "took", "elapsed", "time taken", "length", "dauer")
_COMMAND_HEADERS = ("command", "cmd", "commands", "befehl", "befehle", "kommando")
_EXIT_HEADERS = ("exit", "exit code", "rc", "return code", "exit status")
_STATUS_HEADERS = ("status", "result", "outcome", "output", "notes", "note")


def _cells(line: str) -> tuple[str, ...]:
    body = line.strip()
    body = body[1:] if body.startswith("|") else body
    body = body[:-1] if body.endswith("|") and not body.endswith("\\|") else body
    return tuple(c.strip() for c in re.split(r"(?<!\\)\|", body))


def tables(doc: Document, start: int, end: int) -> list[Table]:
    """Pipe tables (header, separator, rows) outside code blocks."""
    out: list[Table] = []
    prose = doc.prose(start, end)
    k = 0
    while k + 1 < len(prose):
        (i, line), (j, sep) = prose[k], prose[k + 1]
        if "|" in line and j == i + 1 and _SEPARATOR_ROW.match(sep.strip()):
            header = tuple(norm_heading(c) for c in _cells(line))
            rows: list[tuple[int, tuple[str, ...]]] = []
            k += 2
            while k < len(prose) and prose[k][1].strip().startswith("|"):
                rows.append((prose[k][0], _cells(prose[k][1])))
                k += 1
            out.append(Table(header, tuple(rows)))
            continue
        k += 1
    return out


def _column(header: tuple[str, ...], names: tuple[str, ...]) -> int | None:
    for idx, cell in enumerate(header):
        if any(cell == n or cell.startswith(n + " ") for n in names):
            return idx
    return None


def _cell_getter(cells: tuple[str, ...]) -> Callable[[int | None], str]:
    def cell(idx: int | None) -> str:
        return cells[idx] if idx is not None and idx < len(cells) else ""

    return cell


def table_rows(
    table: Table, rel: str, day: date | None
) -> tuple[list[tuple[datetime | None, str, int]], list[Command]]:
    """Timeline entries and backticked commands from a table with a time or command column."""
    when = _column(table.header, _TIME_HEADERS)
    if when is None:  # no header says so: a column whose cells are mostly times
        for idx in range(len(table.header)):
            hits = sum(
                1
                for _, cells in table.rows
                if idx < len(cells)
                and (f := find_timestamp(cells[idx]))
                and f[0].has_time
                and not f[1]
            )
            if table.rows and hits * 2 >= len(table.rows):
                when = idx
                break
    what = _column(table.header, _COMMAND_HEADERS)
    took = _column(table.header, _DURATION_HEADERS)
    exit_col = _column(table.header, _EXIT_HEADERS)
    status = _column(table.header, _STATUS_HEADERS)
    if when is None and what is None:
        return [], []
    entries: list[tuple[datetime | None, str, int]] = []
    commands: list[Command] = []
    for i, cells in table.rows:
        cell = _cell_getter(cells)

        at: datetime | None = None
        if when is not None:
            found = find_timestamp(cell(when))
            if found is not None and found[0].has_time:
                at = found[0].resolve(day)
        seconds = parse_duration(cell(took)) if took is not None else None
        rest = " ".join(
            c for idx, c in enumerate(cells) if idx not in (when, took, exit_col, status) and c
        )
        if at is not None:
            extra = f" ({cell(took)})" if seconds is not None else ""
            entries.append((at, rest + extra, i + 1))
        spans = re.findall(r"`([^`]+)`", cell(what)) if what is not None else []
        for text in spans or ([cell(what)] if what is not None and cell(what) else []):
            code = cell(exit_col).strip("`* ")
            note = cell(status).strip()
            if re.fullmatch(r"-?\d{1,3}", code):
                exit_code: int | None = int(code)
            else:
                exit_code = exit_code_in(f"exit {code}") if code else exit_code_in(note)
            commands.append(
                Command(
                    text=text.strip(),
                    source=SourceRef(rel, i + 1),
                    exit_code=exit_code,
                    started_at=at,
                    duration_s=seconds,
                    outcome_note=note[:80],
                    origin="table",
                )
            )
    return entries, commands


_DOLLAR = re.compile(r"^\$\s+")
_CONTINUATION = re.compile(r"(?<![ \t])[ \t]*\\\n\s*")
_SPACES = re.compile(r"\s+")


@lru_cache(maxsize=8192)
def command_key(text: str) -> str:
    """Text used to recognize the same command written twice (whitespace, backticks, ``$ ``)."""
    t = _DOLLAR.sub("", text.strip().strip("`").strip())
    t = _CONTINUATION.sub(" ", t)
    return _SPACES.sub(" ", t).rstrip(";").strip()


def _richer(a: Command, b: Command) -> Command:
    """``a`` completed with what only ``b`` knows (exit code, times, output, note, cwd)."""
    return replace(
        a,
        exit_code=a.exit_code if a.exit_code is not None else b.exit_code,
        started_at=a.started_at or b.started_at,
        duration_s=a.duration_s if a.duration_s is not None else b.duration_s,
        output=a.output if len(a.output) >= len(b.output) else b.output,
        cwd=a.cwd or b.cwd,
        outcome_note=a.outcome_note or b.outcome_note,
    )


def merge_commands(base: Sequence[Command], extra: Iterable[Command]) -> list[Command]:
    """Add ``extra`` to ``base`` without counting one command twice; merged records keep the richer fields.

    Matching is in order, so a command retried twice in both lists is matched pairwise; an
    unmatched extra command is placed after the last matched position.
    """
    merged = list(base)
    unused: dict[str, list[int]] = {}  # key -> ascending base positions not yet matched
    for i, cmd in enumerate(merged):
        unused.setdefault(command_key(cmd.text), []).append(i)
    after: dict[int, list[Command]] = {}  # base position -> extras placed right after it
    cursor = 0  # base position after the last match
    for cmd in extra:
        slots = unused.get(command_key(cmd.text))
        if not slots:
            after.setdefault(cursor - 1, []).append(cmd)
            continue
        k = bisect_left(slots, cursor)
        hit = slots.pop(k if k < len(slots) else 0)
        merged[hit] = _richer(merged[hit], cmd)
        cursor = hit + 1
    out = list(after.get(-1, []))
    for i, cmd in enumerate(merged):
        out.append(cmd)
        out.extend(after.get(i, []))
    return out


def outcome_from_commands(
    commands: Sequence[Command], *, rollback_ok: bool = False
) -> Outcome | None:
    """Final state from exit codes (a failure retried later does not count), else list notes."""
    keys = [command_key(c.text) for c in commands]
    considered: list[int] = []
    for i, cmd in enumerate(commands):
        if cmd.exit_code is None:
            continue
        if cmd.exit_code != 0 and keys[i] in keys[i + 1 :]:
            continue  # retried later: the retry decides
        considered.append(cmd.exit_code)
    if considered:
        return exit_outcome(considered[-1])
    if any(c.exit_code is not None for c in commands):
        return None
    notes = [
        outcome_word(c.outcome_note, rollback_ok=rollback_ok) for c in commands if c.outcome_note
    ]
    known = [n for n in notes if n is not None]
    return known[-1] if known else None


_PAREN_DURATION = re.compile(r"\(([^()]{1,30})\)")
_TIMELINE_STOP = frozenset(
    [
        "start",
        "started",
        "starting",
        "begin",
        "began",
        "done",
        "finished",
        "end",
        "ended",
        "ok",
        "note",
        "back",
        "paged",
        "decision",
        "the",
        "a",
        "an",
        "on",
        "in",
        "at",
        "to",
        "and",
        "then",
        "now",
    ]
)
_TOKEN = re.compile(r"[a-z0-9][a-z0-9_-]*")
_ARROW = re.compile(r"\s(?:->|→|=>|—|–|-)\s|[,;:(]")


def attach_timeline(
    commands: list[Command], timeline: list[tuple[datetime | None, str, int]]
) -> list[Command]:
    """Give commands the times (and parenthesized durations) of timeline entries that name them."""
    out = list(commands)
    tokens = [set(_TOKEN.findall(c.text.lower())) for c in out]
    programs = [next(iter(_TOKEN.findall(program_of(c.text).lower())), "") for c in out]
    cursor = 0
    for at, rest, _ in timeline:
        if at is None or not rest:
            continue
        head = _ARROW.split(rest.lower(), maxsplit=1)[0]
        words = [w for w in _TOKEN.findall(head) if not w.isdigit()][:4]
        if not words or words[0] in _TIMELINE_STOP:
            continue
        best, best_score = None, 0
        for j in range(cursor, min(len(out), cursor + 8)):
            hits = {w for w in words if w in tokens[j]}
            # the program name alone ("docker") does not say which docker command, unless no
            # other command nearby runs that program
            distinctive = {w for w in hits if w != programs[j] and len(w) >= 4}
            window = programs[cursor : min(len(out), cursor + 8)]
            only = hits == {programs[j]} and window.count(programs[j]) == 1
            score = len(hits) if len(hits) >= 2 else (1 if distinctive or only else 0)
            if score > best_score:
                best, best_score = j, score
        if best is None:
            continue
        cmd = out[best]
        duration = cmd.duration_s
        for m in _PAREN_DURATION.finditer(rest):
            seconds = parse_duration(m.group(1))
            if seconds is not None and duration is None:
                duration = seconds
        out[best] = replace(cmd, started_at=cmd.started_at or at, duration_s=duration)
        cursor = best + 1
    return out


def program_of(text: str) -> str:
    """The executable of a command, past ``ENV=x`` prefixes and wrappers (normalize's table)."""
    found = resolve_program(text.split(), into_shells=False)
    return found[0] if found else ""


def fill_durations(commands: Sequence[Command], finished_at: datetime | None) -> list[Command]:
    """Durations from the next command's start time where none was recorded (at most 6 hours).

    Only a directly following timed command counts: when untimed commands sit in between, the
    gap covers all of them and would inflate this one.
    """
    out = list(commands)
    for i, cmd in enumerate(out):
        if cmd.duration_s is not None or cmd.started_at is None:
            continue
        if re.search(r"(?<![&|])&\s*$", cmd.text):
            continue  # backgrounded ("cloud-sql-proxy … &"): the gap is not its duration
        nxt = out[i + 1].started_at if i + 1 < len(out) else finished_at
        if nxt is None:
            continue
        gap = (nxt - cmd.started_at).total_seconds()
        if 0 <= gap <= 6 * 3600:
            out[i] = replace(cmd, duration_s=gap)
    return out


def roll_days(stamps: list[datetime | None]) -> list[datetime | None]:
    """Move bare clock times that run past midnight to the next day (23:59 then 00:01)."""
    out: list[datetime | None] = []
    shift = timedelta(0)
    prev: datetime | None = None
    for st in stamps:
        if st is None:
            out.append(None)
            continue
        cur = st + shift
        if prev is not None and (prev - cur) > timedelta(hours=12):
            shift += timedelta(days=1)
            cur = st + shift
        out.append(cur)
        prev = cur
    return out


def errors_from_output(cmd: Command, max_errors: int = 1) -> list[ErrorEvent]:
    """The first error-looking line(s) of a failed command's output as error events."""
    found: list[ErrorEvent] = []
    lines = cmd.output.split("\n")
    hits = [ln for ln in lines if ln.strip() and is_error_line(ln)]
    # a Python traceback's message is its last line, not "Traceback (most recent call last):"
    if len(hits) > 1 and hits[0].lstrip().startswith("Traceback"):
        hits = hits[1:]
    for line in hits:
        if line:
            found.append(
                ErrorEvent(line.strip()[:500], cmd.source, command=cmd.text, at=cmd.started_at)
            )
            if len(found) >= max_errors:
                break
    if not found and cmd.exit_code not in (None, 0):
        last = next((ln.strip() for ln in reversed(lines) if ln.strip()), "")
        if last:
            found.append(ErrorEvent(last[:500], cmd.source, command=cmd.text, at=cmd.started_at))
    return found


def expectations_in(doc: Document, start: int = 0, end: int | None = None) -> list[str]:
    """All ``Expected: ...`` lines in a range of the document, outside code blocks."""
    out: list[str] = []
    stop = len(doc.lines) if end is None else end
    for _, line in doc.prose(start, stop):
        text = expectation(line)
        if text:
            out.append(text[:300])
    return out


def front_matter_diagnostics(doc: Document, rel: str, fallback: str) -> list[Diagnostic]:
    """A diagnostics list holding why `doc`'s front matter was unusable, if it was, and what was used instead."""
    if not doc.meta_problem:
        return []
    return [Diagnostic(SourceRef(rel, doc.meta_line), f"{doc.meta_problem}; {fallback}")]


def exit_outcome(code: int) -> Outcome:
    """The outcome an exit code reports: 0 succeeded, anything else failed."""
    return Outcome.SUCCESS if code == 0 else Outcome.FAILURE


def ymd_date(m: re.Match[str]) -> date | None:
    """The day a (year, month, day) match names, or None when no such day exists."""
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def last_date_in(pattern: re.Pattern[str], text: str) -> date | None:
    """The last real day `pattern` finds in `text` (a path's innermost date wins)."""
    for m in reversed(list(pattern.finditer(text))):
        day = ymd_date(m)
        if day is not None:
            return day
    return None


def unique(items: Iterable[str]) -> tuple[str, ...]:
    """Items in first-seen order without repeats (empty strings dropped)."""
    seen: dict[str, None] = {}
    for item in items:
        if item and item not in seen:
            seen[item] = None
    return tuple(seen)
