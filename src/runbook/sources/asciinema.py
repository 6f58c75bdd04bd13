"""Terminal recordings: asciinema casts (v1, v2 and v3) replayed into commands with timings.

Sample input (v2: a JSON header line, then ``[seconds since start, "o", data]`` events):
``[12.84, "o", "\\u001b[32mdeploy@bastion\\u001b[0m:~/app$ helm upgrade api charts/api\\r\\n"]``

v3 (``"version": 3``, ``term`` object) writes the *interval since the previous event* instead
of the absolute time, and may end with an ``"x"`` exit event. The output stream is replayed
through a small line-oriented terminal (carriage return, backspace, erase-in-line, cursor
left/right, tabs; colours and other escapes dropped; alternate-screen apps such as vim or
k9s skipped) so typed corrections and progress bars read as the final text. Prompt lines
(``$ ``, ``# ``, ``user@host:dir$ ``, ``❯ ``, ``➜ dir``, ``% ``) become commands; their output
runs to the next prompt, and their timing comes from event times: a command starts when its
line's Enter is echoed and lasts until the next prompt is drawn. Exit codes come from shell
integration marks (OSC 133;D;N), a ``[N]`` in the next prompt, or a following ``echo $?``.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
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
from runbook.redact import redact, secret_values
from runbook.sources.common import errors_from_output, excerpt, exit_outcome

_MAX_LINES = 200_000  # replayed lines kept; a longer cast is cut with a diagnostic
_MAX_DIAGNOSTICS = 20


# ------------------------------------------------------------------ terminal replay


@dataclass
class Line:
    """A finished terminal line: its text, when it began and ended, and the cast line it came from."""

    text: str
    start: float
    end: float
    cast_line: int
    exit_mark: int | None = None  # OSC 133;D;N seen while this line was current
    prompt_mark: bool = False  # OSC 133;A/B seen while this line was current
    zone: str = ""  # with shell integration marks: "prompt" or "output"; "" when unmarked


@dataclass
class Terminal:
    """A line-oriented terminal: enough of VT100 to get the final text of each line."""

    lines: list[Line] = field(default_factory=list)
    buf: list[str] = field(default_factory=list)
    col: int = 0
    start: float | None = None
    cast_line: int = 0
    pending: str = ""
    alt_screen: bool = False
    exit_mark: int | None = None
    prompt_mark: bool = False
    zone: str = ""
    truncated: bool = False

    def feed(self, data: str, t: float, cast_line: int) -> None:
        """Apply one output event written at time ``t``."""
        data = self.pending + data
        self.pending = ""
        i, n = 0, len(data)
        while i < n:
            ch = data[i]
            if ch == "\x1b":
                j = self._escape(data, i, t)
                if j < 0:  # sequence continues in the next event
                    self.pending = data[i:]
                    return
                i = j
                continue
            i += 1
            if self.alt_screen:
                continue
            if ch == "\n":
                self.commit(t)
            elif ch == "\r":
                self.col = 0
            elif ch == "\b":
                self.col = max(self.col - 1, 0)
            elif ch == "\t":
                self._put(" " * (8 - self.col % 8), t, cast_line)
            elif ch >= " " or ch == "\u00a0":
                self._put(ch, t, cast_line)

    def _put(self, text: str, t: float, cast_line: int) -> None:
        if self.start is None:
            self.start = t
            self.cast_line = cast_line
        for ch in text:
            if self.col < len(self.buf):
                self.buf[self.col] = ch
            else:
                self.buf.extend(" " * (self.col - len(self.buf)))
                self.buf.append(ch)
            self.col += 1

    def commit(self, t: float) -> None:
        """End the current line (newline, or the end of the recording)."""
        text = "".join(self.buf).rstrip()
        if len(self.lines) >= _MAX_LINES:
            self.truncated = True
        elif text or self.exit_mark is not None:
            start = self.start if self.start is not None else t
            self.lines.append(
                Line(text, start, t, self.cast_line, self.exit_mark, self.prompt_mark, self.zone)
            )
        self.buf = []
        self.col = 0
        self.start = None
        self.exit_mark = None
        self.prompt_mark = False

    def _escape(self, data: str, i: int, t: float) -> int:
        """Handle the escape sequence at ``data[i]``; return the index after it (-1: incomplete)."""
        n = len(data)
        if i + 1 >= n:
            return -1
        kind = data[i + 1]
        if kind == "[":
            m = _CSI.match(data, i)
            if m is None:
                return -1 if len(data) - i < 64 else i + 2
            self._csi(m.group(1), m.group(2), m.group(3))
            return m.end()
        if kind == "]":
            end = _OSC_END.search(data, i + 2)
            if end is None:
                return -1 if len(data) - i < 4096 else i + 2
            self._osc(data[i + 2 : end.start()])
            return end.end()
        if kind in "()*+#%":
            return i + 3 if i + 2 < n else -1
        return i + 2  # ESC 7, ESC 8, ESC =, ESC >, ESC M ...

    def _csi(self, private: str, params: str, final: str) -> None:
        nums = [int(p) if p.isdigit() else 0 for p in params.split(";")] if params else []
        first = nums[0] if nums else 0
        if private == "?" and final in "hl" and any(p in (47, 1047, 1049) for p in nums):
            entering = final == "h"
            if entering and not self.alt_screen:
                self.commit(0.0 if self.start is None else self.start)
            self.alt_screen = entering
            return
        if self.alt_screen:
            return
        if final == "K":
            if first == 0:
                del self.buf[self.col :]
            elif first == 1:
                for k in range(min(self.col + 1, len(self.buf))):
                    self.buf[k] = " "
            else:
                self.buf = []
        elif final == "C":
            self.col += max(first, 1)
        elif final == "D":
            self.col = max(self.col - max(first, 1), 0)
        elif final == "G":
            self.col = max(first - 1, 0)
        elif final == "P":
            del self.buf[self.col : self.col + max(first, 1)]
        elif final == "X":
            for k in range(self.col, min(self.col + max(first, 1), len(self.buf))):
                self.buf[k] = " "
        elif final == "@":
            self.buf[self.col : self.col] = [" "] * max(first, 1)
        elif final in "Hf" and len(nums) >= 2:
            self.col = max(nums[1] - 1, 0)

    def _osc(self, body: str) -> None:
        # shell integration (FinalTerm / VS Code / iTerm2): 133;A prompt, 133;D;N command done
        if body.startswith("133;D"):
            parts = body.split(";")
            if len(parts) > 2 and parts[2].lstrip("-").isdigit():
                self.exit_mark = int(parts[2])
                if self.lines and not self.buf:
                    self.lines[-1].exit_mark = self.exit_mark
                    self.exit_mark = None
        if body.startswith(("133;A", "133;B")):
            self.prompt_mark = True
            self.zone = "prompt"
        elif body.startswith("133;C"):
            self.zone = "output"
        elif body.startswith("133;D"):
            self.zone = "prompt"  # what follows a finished command is the next prompt


_CSI = re.compile(r"\x1b\[([?>=!]?)([0-9;:]*)[ -/]*([@-~])")
_OSC_END = re.compile(r"\x07|\x1b\\")


# ------------------------------------------------------------------ prompts

# (style, pattern): the command is the "cmd" group
_PROMPTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "user@host",
        re.compile(
            r"^(?:\([\w.\- ]+\)\s*)?\[?[\w.\-]+@[\w.\-]+(?:[: ](?P<cwd>[^$#%\n]{0,200}?))?\]?\s?[$#%]\s(?P<cmd>.*)$"
        ),
    ),
    (
        "arrow",
        re.compile(r"^➜\s+\S+(?:\s+git:\([^)]*\))?(?:\s+✗)?\s+(?P<cmd>(?!✗(?:\s|$)|git:\().*)$"),
    ),
    ("chevron", re.compile(r"^(?:\[\d{1,3}\]\s*)?[❯»λ›]\s(?P<cmd>.*)$")),
    ("shell-version", re.compile(r"^(?:ba|z|k)?sh-\d+(?:\.\d+)*[$#]\s(?P<cmd>.*)$")),
    ("path-dollar", re.compile(r"^(?:\[\d{1,3}\]\s*)?[~/][^\s$#%]{0,200}\s?[$%#]\s(?P<cmd>.*)$")),
    ("powershell", re.compile(r"^PS [^>\n]{0,200}>\s(?P<cmd>.*)$")),
    ("dollar", re.compile(r"^(?:\([\w.\- ]+\)\s*)?(?:\[\d{1,3}\]\s*)?[$%]\s(?P<cmd>.*)$")),
    ("hash", re.compile(r"^#\s(?P<cmd>.*)$")),
)
_PROMPT_EXIT = re.compile(r"^\[(\d{1,3})\]|\b(?:rc|exit|status)[=: ](\d{1,3})\b|✘\s?(\d{1,3})")
_ECHO_STATUS = re.compile(r"^echo\s+[\"']?\$\?[\"']?\s*$")
_SESSION_END = frozenset({"exit", "logout", "exit 0"})
_CONT_LINE = re.compile(r"^>\s?(?P<rest>.*)$")


def _prompt(line: str) -> tuple[str, str] | None:
    """(style, command) when ``line`` starts with a prompt."""
    for style, rx in _PROMPTS:
        m = rx.match(line)
        if m:
            return style, m.group("cmd")
    return None


def _prompt_cwd(line: str) -> str | None:
    """The working directory a ``user@host:~/app$`` prompt shows, if any."""
    m = _PROMPTS[0][1].match(line)
    cwd = (m.group("cwd") or "").strip() if m else ""
    return cwd or None


def _prompt_exit(line: str) -> int | None:
    m = _PROMPT_EXIT.search(line[:60])
    if m is None:
        return None
    value = next(g for g in m.groups() if g is not None)
    return int(value)


# ------------------------------------------------------------------ cast reading


@dataclass(frozen=True, slots=True)
class Header:
    """What a cast's header says."""

    version: int
    timestamp: datetime | None = None
    title: str = ""
    command: str = ""
    shell: str = ""


def _header(obj: dict[str, Any]) -> Header:
    version = obj.get("version")
    ts = obj.get("timestamp")
    start: datetime | None = None
    if isinstance(ts, (int, float)) and not isinstance(ts, bool) and math.isfinite(ts):
        try:
            start = datetime.fromtimestamp(ts, tz=UTC).replace(tzinfo=None)
        except (OverflowError, OSError, ValueError):
            start = None
    env = obj.get("env") if isinstance(obj.get("env"), dict) else {}
    shell = env.get("SHELL", "") if isinstance(env, dict) else ""
    return Header(
        version=version if isinstance(version, int) else 0,
        timestamp=start,
        title=str(obj.get("title") or ""),
        command=str(obj.get("command") or ""),
        shell=str(shell or ""),
    )


def replay(text: str, rel: str) -> tuple[Header | None, Terminal, list[Diagnostic], int | None]:
    """Replay a cast's output events: the header, the terminal, diagnostics, the v3 exit status."""
    lines = text.split("\n")
    diags: list[Diagnostic] = []
    term = Terminal()
    first = next((k for k, ln in enumerate(lines) if ln.strip()), None)
    if first is None:
        return None, term, [Diagnostic(SourceRef(rel), "empty cast", "error")], None
    head_text = lines[first]
    try:
        head_obj = json.loads(head_text)
    except (ValueError, RecursionError):
        # v1 casts are one JSON document over many lines
        try:
            head_obj = json.loads(text)
        except (ValueError, RecursionError) as exc:
            return (
                None,
                term,
                [Diagnostic(SourceRef(rel, first + 1), f"cast header is not JSON: {exc}", "error")],
                None,
            )
    if not isinstance(head_obj, dict):
        return (
            None,
            term,
            [Diagnostic(SourceRef(rel, first + 1), "cast header is not a JSON object", "error")],
            None,
        )
    header = _header(head_obj)
    if header.version == 1:
        clock = 0.0
        for item in head_obj.get("stdout") or []:
            if (
                isinstance(item, list)
                and len(item) == 2
                and isinstance(item[0], (int, float))
                and math.isfinite(item[0])
                and 0 <= item[0] < 1e8
                and isinstance(item[1], str)
            ):
                clock += float(item[0])
                term.feed(item[1], clock, first + 1)
        term.commit(clock)
        return header, term, diags, None
    if header.version not in (2, 3):
        return (
            None,
            term,
            [
                Diagnostic(
                    SourceRef(rel, first + 1), f"unsupported cast version {header.version}", "error"
                )
            ],
            None,
        )
    clock = 0.0
    exit_status: int | None = None
    bad = 0
    for k in range(first + 1, len(lines)):
        raw = lines[k]
        if not raw.strip():
            continue
        try:
            event = json.loads(raw)
        except (ValueError, RecursionError):
            bad += 1
            if len(diags) < _MAX_DIAGNOSTICS:
                diags.append(Diagnostic(SourceRef(rel, k + 1), "malformed event line skipped"))
            continue
        if (
            not isinstance(event, list)
            or len(event) < 3
            or not isinstance(event[0], (int, float))
            or isinstance(event[0], bool)
            or not math.isfinite(event[0])
            or not 0 <= event[0] < 1e8  # NaN, Infinity or a negative time is no event
            or not isinstance(event[1], str)
        ):
            bad += 1
            if len(diags) < _MAX_DIAGNOSTICS:
                diags.append(Diagnostic(SourceRef(rel, k + 1), "event is not [time, code, data]"))
            continue
        t = float(event[0])
        clock = clock + t if header.version == 3 else max(t, clock)
        code, data = event[1], event[2]
        if code == "o" and isinstance(data, str):
            term.feed(data, clock, k + 1)
        elif code == "x":
            try:
                exit_status = int(str(data))
            except ValueError:
                exit_status = None
    term.commit(clock)
    if term.truncated:
        diags.append(
            Diagnostic(SourceRef(rel), f"more than {_MAX_LINES} terminal lines: the rest was cut")
        )
    return header, term, diags, exit_status


# ------------------------------------------------------------------ commands


@dataclass
class _Found:
    text: str
    line: Line
    at: float  # when Enter was echoed
    output: list[Line] = field(default_factory=list)
    exit_code: int | None = None
    end: float | None = None


def _styles(lines: list[Line]) -> set[str]:
    """Prompt styles that recur in this recording (``# `` alone needs company to count)."""
    counts: Counter[str] = Counter()
    for ln in lines:
        found = _prompt(ln.text)
        if found and found[1].strip():
            counts[found[0]] += 1
    styles = {s for s, c in counts.items() if s != "hash" or c >= 2}
    if "hash" in styles and len(styles) > 1:
        styles.discard("hash")  # "# comment" output lines when real prompts are elsewhere
    return styles


def commands_from(term: Terminal) -> list[_Found]:
    """Commands at prompt lines with their output lines, timings and exit codes."""
    lines = term.lines
    marked = any(ln.prompt_mark for ln in lines)
    # Zones are only trustworthy when the shell marks output starts (133;C) too: with bare
    # 133;D exit marks everything after the first one would read as prompt.
    zoned = any(ln.zone == "output" for ln in lines)
    styles = _styles(lines)
    found: list[_Found] = []
    prompt_index: list[int] = []
    k = 0
    while k < len(lines):
        ln = lines[k]
        p = _prompt(ln.text) or _prompt(ln.text + " ")  # a bare prompt left without a command
        is_prompt = p is not None and (p[0] in styles or (marked and ln.prompt_mark))
        if not is_prompt or p is None:
            if found and (not zoned or ln.zone != "prompt"):
                found[-1].output.append(ln)
            k += 1
            continue
        prompt_index.append(k)
        if found and found[-1].exit_code is None:
            found[-1].exit_code = _prompt_exit(ln.text)
        if found and found[-1].end is None:
            found[-1].end = ln.start
        cmd = p[1].strip()
        at = ln.end
        # "cmd \" continued on "> more" lines
        while cmd.endswith("\\") and k + 1 < len(lines) and _CONT_LINE.match(lines[k + 1].text):
            k += 1
            m = _CONT_LINE.match(lines[k].text)
            cmd = cmd[:-1].rstrip() + " " + (m.group("rest").strip() if m else "")
            at = lines[k].end
        if cmd:
            found.append(_Found(cmd, ln, at))
        k += 1
    # OSC 133;D marks close the command whose output they follow
    for f in found:
        for out in f.output:
            if out.exit_mark is not None and f.exit_code is None:
                f.exit_code = out.exit_mark
        if f.exit_code is None and f.line.exit_mark is not None:
            f.exit_code = f.line.exit_mark
    # "echo $?" reports the previous command's status and is not itself a step
    kept: list[_Found] = []
    for f in found:
        if f.text in _SESSION_END:
            continue  # leaving the recorded shell is not a step
        if _ECHO_STATUS.match(f.text) and kept:
            value = next((o.text.strip() for o in f.output if o.text.strip()), "")
            if value.isdigit() and kept[-1].exit_code is None:
                kept[-1].exit_code = int(value)
            continue
        kept.append(f)
    for f in kept:
        if f.end is None and f.output:
            f.end = f.output[-1].end
    return kept


def parse(text: str, rel: str, config: Config) -> ParsedFile:
    """Replay one asciinema cast into one Execution of the commands typed at its prompts."""
    header, term, diags, exit_status = replay(text, rel)
    if header is None:
        return ParsedFile(path=rel, kind=EvidenceKind.CAST, diagnostics=tuple(diags))
    # Keystrokes arrive a few characters per event, so a typed secret is never whole in the
    # file text that was redacted on the way in: redact again what the screen showed.
    # A secret seen once on the screen is redacted wherever else it shows (the title too).
    secrets = secret_values(
        "\n".join([header.title, header.command, *(ln.text for ln in term.lines)])
    )
    redactions = 0
    for ln in term.lines:
        ln.text, n = redact(ln.text, secrets)
        redactions += n
    title, n_title = redact(header.title, secrets)
    command, n_command = redact(header.command, secrets)
    header = replace(header, title=title, command=command)
    redactions += n_title + n_command
    found = commands_from(term)
    if not found:
        diags.append(Diagnostic(SourceRef(rel), "no shell prompt lines found in the recording"))
        return ParsedFile(
            path=rel, kind=EvidenceKind.CAST, diagnostics=tuple(diags), redactions=redactions
        )
    base = header.timestamp

    def absolute(seconds: float | None) -> datetime | None:
        if base is None or seconds is None:
            return None
        return base + timedelta(seconds=round(seconds, 6))

    commands: list[Command] = []
    errors: list[ErrorEvent] = []
    for f in found:
        duration = round(f.end - f.at, 6) if f.end is not None and f.end >= f.at else None
        output = "\n".join(o.text for o in f.output)
        cmd = Command(
            text=f.text,
            source=SourceRef(rel, f.line.cast_line),
            exit_code=f.exit_code,
            started_at=absolute(f.at),
            duration_s=duration,
            output=excerpt(output, config.output_excerpt_chars),
            cwd=_prompt_cwd(f.line.text),
            origin="prompt",
        )
        commands.append(cmd)
        if cmd.exit_code not in (0,):
            errors.extend(errors_from_output(cmd))
    known = [c.exit_code for c in commands if c.exit_code is not None]
    outcome = Outcome.UNKNOWN
    if known:
        outcome = exit_outcome(known[-1])
    first_start = found[0].line.start
    last_end = max((ln.end for ln in term.lines), default=first_start)
    execution = Execution(
        id=rel,
        source=SourceRef(rel, found[0].line.cast_line),
        kind=EvidenceKind.CAST,
        title=header.title,
        # the recorded command says what the session was for; a bare shell path ("/bin/zsh") not
        context=header.command,
        started_at=absolute(first_start) if base else None,
        finished_at=absolute(last_end) if base else None,
        duration_s=round(last_end - first_start, 6),
        outcome=outcome,
        commands=tuple(commands),
        errors=tuple(errors),
        notes=(f"recording exit status: {exit_status}",) if exit_status is not None else (),
        tags=("cast", "asciinema"),
    )
    return ParsedFile(
        path=rel,
        kind=EvidenceKind.CAST,
        executions=(execution,),
        diagnostics=tuple(diags),
        redactions=redactions,
    )
