"""CI records: GitHub Actions workflow files and run logs, and GitLab CI job logs.

Sample input (``gh run view 4242 --log``: job, step, timestamp, text):
``deploy<TAB>Deploy to production<TAB>2025-01-02T03:04:05.1234567Z ##[group]Run ./scripts/deploy.sh prod``

* ``parse_workflow`` reads ``.github/workflows/*.yml`` into one *procedure template*: an
  Execution tagged ``workflow`` with outcome UNKNOWN (it is the declared pipeline, not a run);
  ``run:`` scripts are split into commands, ``uses:`` steps become ``uses: owner/action@ref``.
* ``parse_log`` reads one downloaded run log (the ``gh run view --log`` table, a per-job raw
  log with leading timestamps, or a GitLab CI job log) into one Execution: per ``run:`` step
  its commands with start time, duration (to the next step), exit status and error lines.
  GitHub echoes a ``run:`` script inside ``##[group]Run …`` (script lines coloured
  ``ESC[36;1m``), then ``shell:`` and ``env:``; ``##[error]Process completed with exit code
  N.`` ends a failed step. GitLab wraps stages in ``section_start:EPOCH:name`` /
  ``section_end:EPOCH:name`` and echoes each command as ``$ cmd``.
"""

from __future__ import annotations

import itertools
import re
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import yaml

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
from runbook.redact import strip_ansi
from runbook.sources.common import environment_name, excerpt, is_error_line, operation_from_words
from runbook.sources.shell import split_script
from runbook.timeparse import parse_timestamp, to_utc_naive

# "[36;1m" without ESC: logs copied from the web UI lose the escape character
_BARE_SGR = re.compile(r"^\[[0-9;]{1,12}m|\[0?m$|\[0;m$")
_GH_ROW = re.compile(r"^(?P<job>[^\t]{0,300})\t(?P<step>[^\t]{0,500})\t(?P<rest>.*)$")
_TS = re.compile(r"^\ufeff?(?P<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d))\s?")
_GL_TS = re.compile(r"^(?P<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z) [0-9a-f]{2}[OE]\+?\s?")
_GROUP_RUN = re.compile(r"^##\[group\]Run (?P<title>.*)$")
_EXIT = re.compile(r"Process completed with exit code (\d+)")
_USES = re.compile(r"^(?:[\w.-]+/[\w./-]+@[\w./-]+|docker://\S+|\./[\w./-]+)$")
# Jenkins console: "[2025-01-02T03:04:05.123Z] + kubectl apply", "[Pipeline] { (Deploy)"
_JENKINS_TS = re.compile(
    r"^\[(?P<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d))\]\s?"
)
_JENKINS_STAGE = re.compile(r"^\[Pipeline\] \{ \((.+)\)$")
_JENKINS_FINISHED = re.compile(r"^Finished: (SUCCESS|FAILURE|UNSTABLE|ABORTED|NOT_BUILT)$", re.I)
_JENKINS_EXIT = re.compile(r"script returned exit code (\d+)")
_SECTION = re.compile(
    r"section_(?P<kind>start|end):(?P<epoch>\d{9,11}):(?P<name>[\w.-]+)(?:\[[^\]]*\])?"
)
_GL_FAILED = re.compile(r"ERROR: Job failed(?:: exit code (\d+)|:?(.*))")
_SETUP_STEPS = frozenset({"set up job", "complete job", "initialize containers", "stop containers"})
_MAX_ERRORS_PER_STEP = 3
# actions that only prepare the runner (checkout, toolchains, caches, credentials): recorded in
# notes, not as commands, so they never become runbook steps; deploy actions stay commands
_SETUP_ACTIONS = re.compile(
    r"^(?:actions/(?:checkout|setup-[\w-]+|cache|upload-artifact|download-artifact|github-script)"
    r"|aws-actions/configure-aws-credentials|aws-actions/amazon-ecr-login"
    r"|docker/(?:setup-buildx-action|setup-qemu-action|login-action|metadata-action)"
    r"|google-github-actions/(?:auth|setup-gcloud)|azure/login|hashicorp/setup-[\w-]+"
    r"|azure/setup-[\w-]+|pnpm/action-setup|ruby/setup-ruby|dtolnay/rust-toolchain)@",
    re.I,
)


def is_setup_action(uses: str) -> bool:
    """True for actions that only prepare the runner (``actions/checkout@v4``)."""
    return bool(_SETUP_ACTIONS.match(uses.strip()))


# per-job raw logs mark the runner's own closing steps with these lines
_POST_MARKERS = frozenset({"Post job cleanup.", "Cleaning up orphan processes"})


def _clean(text: str) -> str:
    text = strip_ansi(text)
    return _BARE_SGR.sub("", text).rstrip()


def _ts(text: str) -> datetime | None:
    """UTC-naive time of a log line's ISO stamp (fast path: ``fromisoformat``, 3.11+)."""
    try:
        return to_utc_naive(datetime.fromisoformat(text))
    except ValueError:
        return parse_timestamp(text)


# ------------------------------------------------------------------ shared step model

# Output kept per step / command while reading: the first and the last this many characters.
# ``excerpt`` keeps only a head and a tail of ``output_excerpt_chars`` (default 2000), so a
# 200 MB log costs no more memory than a small one.
KEEP_OUTPUT_CHARS = 16_000


class _Lines:
    """Output lines bounded to a head and a tail of ``KEEP_OUTPUT_CHARS`` characters each."""

    __slots__ = ("dropped", "head", "head_chars", "tail", "tail_chars")

    def __init__(self) -> None:
        self.head: list[str] = []
        self.head_chars = 0
        self.tail: deque[str] = deque()
        self.tail_chars = 0
        self.dropped = 0

    def append(self, line: str) -> None:
        if self.head_chars < KEEP_OUTPUT_CHARS:
            self.head.append(line)
            self.head_chars += len(line) + 1
            return
        self.tail.append(line)
        self.tail_chars += len(line) + 1
        while self.tail and self.tail_chars - len(self.tail[0]) - 1 >= KEEP_OUTPUT_CHARS:
            self.tail_chars -= len(self.tail.popleft()) + 1
            self.dropped += 1

    def __iter__(self) -> Iterator[str]:
        yield from self.head
        if self.dropped:
            yield f"... ({self.dropped} lines not kept)"
        yield from self.tail

    def __len__(self) -> int:
        return len(self.head) + len(self.tail)

    def __bool__(self) -> bool:
        return bool(self.head)


@dataclass(frozen=True, slots=True)
class _Peeked:
    """A stream of log lines with its first characters read ahead (format detection)."""

    head: str
    lines: Iterator[str]


def _peek(lines: Iterable[str], chars: int = 500_000) -> _Peeked:
    it = iter(lines)
    buf: list[str] = []
    size = 0
    for line in it:
        buf.append(line)
        size += len(line) + 1
        if size >= chars:
            break
    return _Peeked("\n".join(buf), itertools.chain(buf, it))


def _split(text: str | _Peeked) -> tuple[str, Iterable[str]]:
    """(head, lines) of a whole text or of a stream."""
    if isinstance(text, str):
        return text[:500_000], text.split("\n")
    return text.head, text.lines


@dataclass
class _Step:
    """One step (GitHub) or section (GitLab) as the log shows it; mutable while reading."""

    job: str
    name: str
    line: int
    start: datetime | None = None
    last: datetime | None = None
    script: list[tuple[str, int]] = field(default_factory=list)  # (line text, 1-based line)
    uses: str = ""
    has_shell: bool = False
    output: _Lines = field(default_factory=lambda: _Lines())
    errors: list[tuple[str, int, datetime | None]] = field(default_factory=list)
    exit_code: int | None = None
    canceled: bool = False
    # commands echoed with their own line ("$ cmd" in GitLab, "+ cmd" xtrace): text, line, time
    echoed: list[tuple[str, int, datetime | None]] = field(default_factory=list)
    echo_output: dict[int, _Lines] = field(default_factory=dict)

    def seen(self, at: datetime | None) -> None:
        if at is None:
            return
        if self.start is None:
            self.start = at
        self.last = at


def _commands_of(step: _Step, rel: str, end: datetime | None, limit: int) -> list[Command]:
    """Commands of a step, with times, exit codes and bounded output."""
    duration = (end - step.start).total_seconds() if end and step.start else None
    if duration is not None and duration < 0:
        duration = None
    origin = "ci-step"
    cmds: list[Command] = []
    if step.script:
        script = "\n".join(t for t, _ in step.script)
        first_line = step.script[0][1]
        lines = split_script(script, transcript=False)
        matched = _xtrace_match([sl.command for sl in lines], step.echoed)
        starts = [step.echoed[j][2] if j is not None else None for j in matched]
        for k, sl in enumerate(lines):
            at = starts[k] or (step.start if k == 0 else None)
            nxt = next((x for x in starts[k + 1 :] if x is not None), end)
            dur: float | None = None
            if len(lines) == 1:
                dur = duration
            elif starts[k] is not None and nxt is not None and at is not None and nxt >= at:
                dur = (nxt - at).total_seconds()
            out = ""
            if matched[k] is not None:
                stop = next((j for j in matched[k + 1 :] if j is not None), len(step.echoed))
                out = "\n".join(
                    ln for j in range(matched[k] or 0, stop) for ln in step.echo_output.get(j, [])
                )
            cmds.append(
                Command(
                    text=sl.command,
                    source=SourceRef(rel, first_line + sl.offset),
                    started_at=at,
                    duration_s=dur,
                    output=excerpt(out, limit),
                    origin=origin,
                )
            )
        if not any(m is not None for m in matched) and cmds and step.output:
            # no trace to split the output by: it belongs to the step's last command
            cmds[-1] = _with(cmds[-1], output=excerpt("\n".join(step.output), limit))
    elif step.echoed:
        for k, (text, line, at) in enumerate(step.echoed):
            nxt = step.echoed[k + 1][2] if k + 1 < len(step.echoed) else end
            dur = (nxt - at).total_seconds() if at and nxt and nxt >= at else None
            if len(step.echoed) == 1 and dur is None:
                dur = duration
            out = "\n".join(step.echo_output.get(k, []))
            cmds.append(
                Command(
                    text=text,
                    source=SourceRef(rel, line),
                    started_at=at or (step.start if k == 0 else None),
                    duration_s=dur,
                    output=excerpt(out, limit),
                    origin=origin,
                )
            )
    elif step.name.startswith("Run ") and not step.uses and step.start is not None:
        # a log without the "##[group]Run" echo still names unnamed run steps "Run <line 1>"
        title = step.name[4:].strip().rstrip(" \\")
        if title and not _USES.match(title):
            cmds.append(
                Command(
                    text=title,
                    source=SourceRef(rel, step.line),
                    started_at=step.start,
                    duration_s=duration,
                    output=excerpt("\n".join(step.output), limit),
                    origin="ci-step-name",
                )
            )
        elif title and not is_setup_action(title):
            cmds.append(
                Command(
                    text=f"uses: {title}",
                    source=SourceRef(rel, step.line),
                    started_at=step.start,
                    duration_s=duration,
                    origin="uses",
                )
            )
    elif step.uses and not is_setup_action(step.uses):
        cmds.append(
            Command(
                text=f"uses: {step.uses}",
                source=SourceRef(rel, step.line),
                started_at=step.start,
                duration_s=duration,
                output=excerpt("\n".join(step.output), limit),
                origin="uses",
            )
        )
    return cmds


def _xtrace_match(
    commands: list[str], echoed: list[tuple[str, int, datetime | None]]
) -> list[int | None]:
    """For each script command, the index of its ``set -x`` trace line (``+ cmd``), in order."""
    out: list[int | None] = [None] * len(commands)
    j = 0
    for k, cmd in enumerate(commands):
        head = cmd.split()[:2]
        if not head:
            continue
        # xtrace prints expanded words: the program and its first argument usually survive
        for jj in range(j, len(echoed)):
            if echoed[jj][0].split()[: len(head)] == head:
                out[k] = jj
                j = jj + 1
                break
    return out


def _with(cmd: Command, **changes: Any) -> Command:
    return replace(cmd, **changes)


def _assemble(
    steps: list[_Step],
    rel: str,
    config: Config,
    *,
    title: str,
    tags: tuple[str, ...],
    outcome: Outcome | None,
    final_exit: int | None,
) -> Execution | None:
    """One Execution from the steps of one run log."""
    if not steps:
        return None
    commands: list[Command] = []
    errors: list[ErrorEvent] = []
    notes: list[str] = []
    starts = [s.start for s in steps if s.start is not None]
    lasts = [s.last for s in steps if s.last is not None]
    any_failed = False
    for i, step in enumerate(steps):
        later = [s for s in steps[i + 1 :] if s.job == step.job and s.start is not None]
        end = later[0].start if later else step.last
        cmds = _commands_of(step, rel, end, config.output_excerpt_chars)
        failed = (
            step.exit_code not in (None, 0)
            or step.canceled
            or bool(step.errors and step.exit_code is None and not later)
        )
        any_failed = any_failed or failed
        if cmds:
            if failed and step.exit_code is not None:
                # bash -e stops at the failing command: the last one echoed or in the script
                cmds[-1] = _with(cmds[-1], exit_code=step.exit_code)
                cmds[:-1] = [_with(c, exit_code=0) for c in cmds[:-1]]
            elif not failed and (later or outcome is Outcome.SUCCESS):
                cmds = [_with(c, exit_code=0) for c in cmds]
        failing = cmds[-1].text if cmds and failed else None
        for msg, line, at in step.errors:
            errors.append(ErrorEvent(msg, SourceRef(rel, line), command=failing, at=at))
        commands.extend(cmds)
        if step.start is not None and end is not None and cmds:
            status = f", exit {step.exit_code}" if step.exit_code is not None else ""
            secs = max((end - step.start).total_seconds(), 0.0)
            notes.append(
                f"step {step.job + ' / ' if step.job else ''}{step.name}: {secs:g}s{status}"
            )
    if outcome is None:
        outcome = Outcome.FAILURE if any_failed else Outcome.SUCCESS
    if final_exit not in (None, 0) and commands and commands[-1].exit_code is None:
        commands[-1] = _with(commands[-1], exit_code=final_exit)
    started = min(starts) if starts else None
    finished = max(lasts) if lasts else None
    words = " ".join([title, *(s.job for s in steps), *(s.name for s in steps)])
    env = None
    for s in steps:
        m = re.search(
            r"\b(prod(?:uction)?|staging|stage|stg|dev|qa|uat|preprod)\b", f"{s.job} {s.name}", re.I
        )
        if m:
            env = environment_name(m.group(1))
            break
    return Execution(
        id=rel,
        source=SourceRef(rel, steps[0].line),
        kind=EvidenceKind.CI_LOG,
        title=title,
        environment=env,
        started_at=started,
        finished_at=finished,
        duration_s=(finished - started).total_seconds() if started and finished else None,
        outcome=outcome,
        commands=tuple(commands),
        errors=tuple(errors),
        notes=tuple(notes),
        tags=tags,
        # job names say what the run is ("deploy"); a step name ("Migrate database") is a part
        declared_type=operation_from_words(" ".join(s.job for s in steps))
        or operation_from_words(words),
    )


# ------------------------------------------------------------------ GitHub Actions logs


def parse_log(text: str, rel: str, config: Config) -> ParsedFile:
    """Read one CI run log (GitHub Actions or GitLab CI) into one Execution."""
    return _parse_log(text, text[:200_000], rel, config)


def parse_stream(lines: Iterable[str], rel: str, config: Config) -> ParsedFile:
    """``parse_log`` over a stream of (redacted) lines: bounded memory for a log of any size."""
    peeked = _peek(lines)
    return _parse_log(peeked, peeked.head[:200_000], rel, config)


def _parse_log(text: str | _Peeked, head: str, rel: str, config: Config) -> ParsedFile:
    if "section_start:" in head or "Running with gitlab-runner" in head:
        execution, diags = _gitlab(text, rel, config)
    else:
        execution, diags = _github(text, rel, config)
    if execution is None:
        diags.append(Diagnostic(SourceRef(rel), "no CI steps or commands recognized in this log"))
    return ParsedFile(
        path=rel,
        kind=EvidenceKind.CI_LOG,
        executions=(execution,) if execution else (),
        diagnostics=tuple(diags),
    )


def _github(
    text: str | _Peeked, rel: str, config: Config
) -> tuple[Execution | None, list[Diagnostic]]:
    steps: list[_Step] = []
    diags: list[Diagnostic] = []
    step: _Step | None = None
    in_group = False  # inside the "##[group]Run" header of the current step
    group_depth = 0
    header_mode = ""  # "", "script", "shell", "with", "env"
    head, lines = _split(text)
    colored_script = "\x1b[36;1m" in head or "[36;1m" in head
    table = False
    finished = ""  # Jenkins "Finished: SUCCESS"
    for n, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        job = name = ""
        rest = raw
        row = _GH_ROW.match(raw)
        if row and _TS.match(row.group("rest")):
            table = True
            job, name, rest = row.group("job"), row.group("step"), row.group("rest")
        at = None
        if m := _TS.match(rest) or _JENKINS_TS.match(rest):
            at = _ts(m.group("ts"))
            rest = rest[m.end() :]
        colored = rest.startswith(("\x1b[36;1m", "[36;1m"))
        line = _clean(rest)
        group_run = _GROUP_RUN.match(line)
        stage = _JENKINS_STAGE.match(line)
        if m := _JENKINS_FINISHED.match(line):
            finished = m.group(1).upper()
            continue
        if table:
            new_step = step is None or (job, name) != (step.job, step.name)
        else:
            starts_step = (bool(group_run) and group_depth == 0) or line in _POST_MARKERS
            new_step = step is None or (starts_step and not in_group) or bool(stage)
        if new_step:
            default = "Set up job" if step is None else line.rstrip(".")
            default = stage.group(1) if stage else default
            title = group_run.group("title").rstrip(" \\") if group_run else default
            step = _Step(job=job, name=name or title, line=n)
            steps.append(step)
            in_group = False
            group_depth = 0
            header_mode = ""
        assert step is not None
        step.seen(at)
        if group_run and not in_group and not step.script and not step.uses and not step.has_shell:
            in_group = True
            header_mode = "script"
            title = group_run.group("title").strip()
            if _USES.match(title):
                step.uses = title
            continue
        if in_group:
            if line == "##[endgroup]":
                in_group = False
                if step.has_shell:
                    step.uses = ""  # "Run ./x.sh" with shell: is a script, not a local action
                elif step.uses:
                    step.script = []
                continue
            stripped = line.strip()
            if line.startswith("shell: "):
                step.has_shell = True
                header_mode = "shell"
                continue
            if line in ("env:", "with:") and not colored:
                header_mode = line[:-1]
                continue
            if header_mode == "script" and (colored or not colored_script):
                step.script.append((line, n))
                continue
            if header_mode in ("env", "with") and (line.startswith("  ") or not stripped):
                continue
            # anything else ends the header early (a runner that printed no endgroup)
            in_group = False
        if line.startswith("##[group]"):
            group_depth += 1
            continue
        if line == "##[endgroup]":
            group_depth = max(group_depth - 1, 0)
            continue
        if line.startswith("##[error]") or line.startswith("Error: Process completed"):
            msg = line.split("]", 1)[1].strip() if line.startswith("##[") else line
            if m := _EXIT.search(msg):
                step.exit_code = int(m.group(1))
            elif "operation was canceled" in msg.lower() or "cancel" in msg.lower():
                step.canceled = True
            step.errors.append((msg, n, at))
            continue
        if m := _JENKINS_EXIT.search(line):
            step.exit_code = int(m.group(1))
            step.errors.append((line.strip(), n, at))
            continue
        if line.startswith("[Pipeline] "):
            continue  # Jenkins' own structure lines
        if line.startswith(("##[warning]", "##[debug]", "##[notice]", "##[command]")):
            if line.startswith("##[command]"):
                # container / docker actions echo their command this way
                step.echoed.append((line[len("##[command]") :].strip(), n, at))
            continue
        if line.startswith("+ ") and not step.uses and len(line) > 2:
            # bash -x trace: the command really started now
            step.echoed.append((line[2:].strip(), n, at))
            continue
        if step.echoed:
            step.echo_output.setdefault(len(step.echoed) - 1, _Lines()).append(line)
        step.output.append(line)
        if (
            is_error_line(line)
            and len(step.errors) < _MAX_ERRORS_PER_STEP
            and step.name.lower() not in _SETUP_STEPS
        ):
            step.errors.append((line.strip(), n, at))
    # keep only the error lines of steps that failed: noisy "error" words in a green step are output
    for s in steps:
        failed = (
            s.exit_code not in (None, 0)
            or s.canceled
            or any(
                msg.startswith("Process completed") or "##[error]" in msg for msg, _, _ in s.errors
            )
        )
        if not failed:
            s.errors = []
    # drop runner bookkeeping steps that carry no command
    useful = [
        s for s in steps if s.script or s.uses or s.echoed or s.errors or s.name.startswith("Run ")
    ]
    if not useful:
        return None, diags
    kept_ids = {id(s) for s in useful}
    ordered = [s for s in steps if id(s) in kept_ids or s.start is not None]
    jobs = sorted({s.job for s in useful if s.job})
    title = "GitHub Actions run" + (f": {', '.join(jobs)}" if jobs else "")
    tags = ("ci", "github-actions")
    outcome: Outcome | None = None
    if finished:
        title, tags = "Jenkins build", ("ci", "jenkins")
        outcome = Outcome.SUCCESS if finished == "SUCCESS" else Outcome.FAILURE
    execution = _assemble(
        ordered, rel, config, title=title, tags=tags, outcome=outcome, final_exit=None
    )
    return execution, diags


# ------------------------------------------------------------------ GitLab CI logs


def _gitlab(
    text: str | _Peeked, rel: str, config: Config
) -> tuple[Execution | None, list[Diagnostic]]:
    steps: list[_Step] = []
    diags: list[Diagnostic] = []
    current: _Step | None = None
    outcome: Outcome | None = None
    final_exit: int | None = None
    job_errors: list[tuple[str, int, datetime | None]] = []
    for n, raw in enumerate(_split(text)[1], start=1):
        at: datetime | None = None
        rest = raw
        if m := _GL_TS.match(rest):
            at = _ts(m.group("ts"))
            rest = rest[m.end() :]
        plain = strip_ansi(rest)
        # the dispatcher turned "\r" into newlines; markers can also share a line with text
        for sec in _SECTION.finditer(plain):
            when = datetime.fromtimestamp(int(sec.group("epoch")), tz=UTC).replace(tzinfo=None)
            if sec.group("kind") == "start":
                current = _Step(job="", name=sec.group("name"), line=n)
                current.seen(when)
                steps.append(current)
            elif current is not None and current.name == sec.group("name"):
                current.seen(when)
                current = None
        line = _SECTION.sub("", plain).strip("\r")
        line = _clean(line)
        if not line.strip():
            continue
        if m := _GL_FAILED.search(line):
            outcome = Outcome.FAILURE
            if m.group(1):
                final_exit = int(m.group(1))
            job_errors.append((line.strip(), n, at))
            continue
        if line.strip() == "Job succeeded":
            outcome = Outcome.SUCCESS
            continue
        if current is None:
            continue
        current.seen(at)
        if line.startswith("$ "):
            cmd = line[2:].strip()
            cmd = re.sub(r"\s*# collapsed multi-line command$", "", cmd)
            current.echoed.append((cmd, n, at))
            continue
        if current.echoed:
            current.echo_output.setdefault(len(current.echoed) - 1, _Lines()).append(line)
        current.output.append(line)
        if is_error_line(line) and len(current.errors) < _MAX_ERRORS_PER_STEP:
            current.errors.append((line.strip(), n, at))
    script_steps = [s for s in steps if s.echoed]
    if not script_steps:
        return None, diags
    # the job's failure belongs to the last section that ran commands
    if outcome is Outcome.FAILURE:
        failing = next(
            (s for s in reversed(script_steps) if s.name != "after_script"), script_steps[-1]
        )
        failing.exit_code = final_exit if final_exit is not None else 1
        failing.errors.extend(job_errors)
    for s in steps:
        if s.exit_code is None:
            s.errors = []  # error-looking output in a section that passed is just output
    title = "GitLab CI job"
    return (
        _assemble(
            steps,
            rel,
            config,
            title=title,
            tags=("ci", "gitlab-ci"),
            outcome=outcome,
            final_exit=None,
        ),
        diags,
    )


# ------------------------------------------------------------------ workflow files


class _WorkflowLoader(yaml.SafeLoader):
    """SafeLoader whose booleans are YAML 1.2 only: ``on:`` stays the string "on"."""


_WorkflowLoader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:bool"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _scalar(node: yaml.Node | None) -> str:
    if isinstance(node, yaml.ScalarNode):
        return str(node.value)
    return ""


def _get(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    for k, v in node.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key and isinstance(v, yaml.Node):
            return v
    return None


def _items(node: yaml.Node | None) -> list[tuple[str, yaml.Node]]:
    if not isinstance(node, yaml.MappingNode):
        return []
    return [(str(k.value), v) for k, v in node.value if isinstance(k, yaml.ScalarNode)]


def _job_order(jobs: list[tuple[str, yaml.Node]]) -> list[tuple[str, yaml.Node]]:
    """Jobs in ``needs:`` order (file order between independent jobs)."""
    names = [j for j, _ in jobs]
    needs: dict[str, set[str]] = {}
    for name, node in jobs:
        n = _get(node, "needs")
        if isinstance(n, yaml.SequenceNode):
            needs[name] = {_scalar(x) for x in n.value} & set(names)
        elif _scalar(n):
            needs[name] = {_scalar(n)} & set(names)
        else:
            needs[name] = set()
    done: list[str] = []
    while len(done) < len(names):
        ready = [j for j in names if j not in done and needs[j] <= set(done)]
        if not ready:  # a cycle: keep file order
            ready = [j for j in names if j not in done][:1]
        done.append(ready[0])
    by_name = dict(jobs)
    return [(j, by_name[j]) for j in done]


def parse_workflow(text: str, rel: str, config: Config) -> ParsedFile:
    """Read a GitHub Actions workflow file into one procedure-template Execution."""
    del config
    try:
        root = yaml.compose(text, Loader=_WorkflowLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return ParsedFile(
            path=rel,
            kind=EvidenceKind.CI_WORKFLOW,
            diagnostics=(Diagnostic(SourceRef(rel, line), f"invalid YAML: {problem}", "error"),),
        )
    except (ValueError, RecursionError) as exc:
        return ParsedFile(
            path=rel,
            kind=EvidenceKind.CI_WORKFLOW,
            diagnostics=(Diagnostic(SourceRef(rel), f"invalid YAML: {exc}", "error"),),
        )
    jobs = _items(_get(root, "jobs"))
    if not jobs:
        return ParsedFile(
            path=rel,
            kind=EvidenceKind.CI_WORKFLOW,
            diagnostics=(Diagnostic(SourceRef(rel), "no `jobs:` in this workflow"),),
        )
    title = _scalar(_get(root, "name")) or rel.rsplit("/", 1)[-1]
    triggers = _get(root, "on")
    if isinstance(triggers, yaml.MappingNode):
        trigger_text = ", ".join(k for k, _ in _items(triggers))
    elif isinstance(triggers, yaml.SequenceNode):
        trigger_text = ", ".join(_scalar(x) for x in triggers.value)
    else:
        trigger_text = _scalar(triggers)
    commands: list[Command] = []
    notes: list[str] = []
    setup: list[str] = []
    environment: str | None = None
    for job_id, job in _job_order(jobs):
        job_name = _scalar(_get(job, "name")) or job_id
        env_node = _get(job, "environment")
        env = _scalar(env_node) or _scalar(_get(env_node, "name"))
        facts = [f"job {job_name}"]
        if env:
            facts.append(f"environment {env}")
            if environment is None and "${{" not in env:
                environment = environment_name(env)
        if cond := _scalar(_get(job, "if")):
            facts.append(f"if: {cond}")
        if needs := _get(job, "needs"):
            listed = (
                [_scalar(x) for x in needs.value]
                if isinstance(needs, yaml.SequenceNode)
                else [_scalar(needs)]
            )
            facts.append("needs " + ", ".join(x for x in listed if x))
        notes.append("; ".join(facts))
        steps = _get(job, "steps")
        if not isinstance(steps, yaml.SequenceNode):
            if uses := _scalar(_get(job, "uses")):  # a reusable workflow call
                commands.append(
                    Command(f"uses: {uses}", SourceRef(rel, job.start_mark.line + 1), origin="uses")
                )
            continue
        for step in steps.value:
            step_name = _scalar(_get(step, "name"))
            if cond := _scalar(_get(step, "if")):
                notes.append(f"step {step_name or '?'} ({job_name}) if: {cond}")
            run = _get(step, "run")
            uses = _scalar(_get(step, "uses"))
            if isinstance(run, yaml.ScalarNode):
                # block scalars ("run: |") start on the line after the key
                body_line = run.start_mark.line + 1 + (1 if run.style in ("|", ">") else 0)
                for sl in split_script(str(run.value), transcript=False):
                    commands.append(
                        Command(
                            sl.command,
                            SourceRef(rel, body_line + sl.offset),
                            origin="workflow-run",
                        )
                    )
            elif uses and is_setup_action(uses):
                setup.append(uses)
            elif uses:
                commands.append(
                    Command(
                        f"uses: {uses}",
                        SourceRef(rel, (_get(step, "uses") or step).start_mark.line + 1),
                        origin="uses",
                    )
                )
    if setup:
        notes.append("runner setup: " + ", ".join(sorted(set(setup))))
    execution = Execution(
        id=rel,
        source=SourceRef(rel, 1),
        kind=EvidenceKind.CI_WORKFLOW,
        title=title,
        context=f"on: {trigger_text}" if trigger_text else "",
        environment=environment,
        outcome=Outcome.UNKNOWN,
        commands=tuple(commands),
        notes=tuple(notes),
        tags=("ci", "github-actions", "workflow"),
        declared_type=operation_from_words(" ".join([title, rel, *(j for j, _ in jobs)])),
    )
    return ParsedFile(path=rel, kind=EvidenceKind.CI_WORKFLOW, executions=(execution,))


def parse(text: str, rel: str, config: Config) -> ParsedFile:
    """A workflow file when the text declares ``jobs:`` at top level, else a run log."""
    if re.search(r"^jobs:\s*$", text, re.M) and not _GH_ROW.match(text.split("\n", 1)[0]):
        return parse_workflow(text, rel, config)
    return parse_log(text, rel, config)
