"""Record runs as evidence: an append-only, fsynced, redacted journal per recording.

Sample journal line (``.runbook/runs/20261129-143052-deploy-lambda.jsonl``)::

    {"at": "2026-11-29T14:30:53.120Z", "command": "make deploy", "cwd": "/srv/app", "event": "command-start", "seq": "4242-1"}

A recording is opened by ``start`` (``.runbook/runs/current`` names it), fed by ``exec_command``
(a command run here, output streamed and captured), ``record_command`` (the shell hook: text,
exit code, timing, no output), the pty ``shell`` or ``runbook run``, and closed by ``stop``, which
writes ``.claude/observations/YYYY-MM-DD/execution-HHMMSS-slug.md`` in the ``/observe`` format
(``sources/observations.py`` reads it back) plus one ``failure-HHMMSS-slug.md`` per failed command.
Every event is redacted before it is written and fsynced before the command's result is reported,
so a killed process loses at most the command in flight; ``recover`` finishes such journals.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from runbook.errors import InputError, UsageError
from runbook.redact import redact, strip_ansi
from runbook.regenerate import atomic_write, fsync_dir

__all__ = [
    "CURRENT_FILE",
    "RUNS_DIR",
    "Captured",
    "Journal",
    "JournalCommand",
    "JournalStatus",
    "Recorder",
    "RecordingState",
    "StopResult",
    "clean_output",
    "current",
    "exec_command",
    "finish",
    "is_orphaned",
    "open_recorder",
    "parse_journal",
    "read_journal",
    "record_command",
    "recover",
    "refuse_if_open",
    "render_observations",
    "run_captured",
    "shell_hook",
    "start",
    "status",
    "stop",
    "utc_now",
]

RUNS_DIR = ".runbook/runs"
CURRENT_FILE = "current"
OBSERVATIONS_DIR = ".claude/observations"
# Raw bytes kept per command before the excerpt is cut: the head and the tail (errors come last).
_KEEP_BYTES = 64 * 1024
DEFAULT_EXCERPT = 2000

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The real clock: naive UTC, as everywhere in the model."""
    return datetime.now(UTC).replace(tzinfo=None)


# ---------------------------------------------------------------------- output cleaning

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_output(raw: str) -> str:
    """Terminal output as a person saw it: escapes removed, ``\\r`` overwrites applied."""
    text = strip_ansi(raw.replace("\r\n", "\n"))
    lines = []
    for line in text.split("\n"):
        if "\r" in line:
            # a progress bar redraws the line: what stays on screen is the last non-empty part
            parts = [p for p in line.split("\r") if p.strip()]
            line = parts[-1] if parts else ""
        lines.append(_CONTROL.sub("", line).rstrip())
    return "\n".join(lines).strip("\n")


def _excerpt(text: str, limit: int) -> str:
    text = text.strip("\n")
    if len(text) <= limit:
        return text
    head = limit * 2 // 3
    tail = max(limit - head - 5, 0)
    return text[:head] + "\n...\n" + (text[-tail:] if tail else "")


class _Bounded:
    """Keeps the first and last ``_KEEP_BYTES`` of a stream, and whether anything was dropped."""

    def __init__(self) -> None:
        self.head = bytearray()
        self.tail = bytearray()
        self.dropped = 0

    def add(self, data: bytes) -> None:
        room = _KEEP_BYTES - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data:
            self.tail += data
            if len(self.tail) > _KEEP_BYTES:
                cut = len(self.tail) - _KEEP_BYTES
                self.dropped += cut
                del self.tail[:cut]

    def text(self) -> str:
        gap = b"\n...\n" if self.dropped else b""
        return bytes(self.head + gap + self.tail).decode("utf-8", errors="replace")


def _safe(text: str) -> str:
    return redact(text)[0] if text else text


# ---------------------------------------------------------------------- running a command


@dataclass(frozen=True, slots=True)
class Captured:
    """What running one command produced: exit code, cleaned output, timing, how it ended."""

    exit_code: int
    output: str  # ANSI-stripped, NOT yet bounded or redacted
    duration_s: float
    timed_out: bool = False
    interrupted: bool = False


def _exit_code(returncode: int) -> int:
    # a child killed by signal N reports -N; shells report 128 + N
    return 128 - returncode if returncode < 0 else returncode


def _signal_group(proc: subprocess.Popen[bytes], sig: int, own_group: bool) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if own_group:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)


def _stop_child(proc: subprocess.Popen[bytes], own_group: bool, grace_s: float = 3.0) -> None:
    """SIGINT, then SIGTERM, then SIGKILL to the child (its whole group when it has one)."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        if proc.poll() is not None:
            return
        _signal_group(proc, sig, own_group)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace_s)


def _pty_pair() -> tuple[int, int]:
    """A pseudo-terminal for a child, sized like ours, so it line-buffers and keeps colors."""
    import fcntl
    import pty
    import termios

    master, slave = pty.openpty()
    for fd in (sys.stdout, sys.stderr, sys.stdin):
        try:
            size = fcntl.ioctl(fd.fileno(), termios.TIOCGWINSZ, b"\0" * 8)
        except (OSError, ValueError, AttributeError):
            continue
        with contextlib.suppress(OSError):
            fcntl.ioctl(slave, termios.TIOCSWINSZ, size)
        break
    return master, slave


def run_captured(
    command: str | Sequence[str],
    *,
    cwd: str | None = None,
    timeout_s: float | None = None,
    on_output: Callable[[bytes, bool], None] | None = None,
    new_session: bool = False,
    merge_stderr: bool = False,
    stdin_devnull: bool = False,
    use_pty: bool = False,
    env: dict[str, str] | None = None,
) -> Captured:
    """Run ``command`` (a shell string or argv), streaming chunks to ``on_output(data, is_err)``.

    With ``new_session`` the child gets its own process group: Ctrl-C reaches only this process,
    which then stops the child's group (SIGINT, SIGTERM, SIGKILL) and reports ``interrupted``.
    Without it the child shares the terminal's group and gets Ctrl-C itself, as in a shell.
    With ``use_pty`` its output goes through a pseudo-terminal (stdout and stderr merged), so
    it streams line by line as on a terminal instead of in pipe-sized blocks.
    """
    started = time.monotonic()
    master = slave = -1
    if use_pty:
        try:
            master, slave = _pty_pair()
        except OSError:
            use_pty = False
    out_arg: int = slave if use_pty else subprocess.PIPE
    err_arg: int = slave if use_pty else (subprocess.STDOUT if merge_stderr else subprocess.PIPE)
    try:
        proc = subprocess.Popen(
            command,
            shell=isinstance(command, str),
            cwd=cwd,
            stdin=subprocess.DEVNULL if stdin_devnull else None,
            stdout=out_arg,
            stderr=err_arg,
            start_new_session=new_session,
            env=env,
        )
    except OSError as exc:
        for fd in (master, slave):
            if fd >= 0:
                os.close(fd)
        name = command if isinstance(command, str) else (command[0] if command else "")
        message = f"{name}: {exc.strerror or exc}"
        if on_output is not None:  # the operator sees why, as a shell would say it
            on_output((message + "\n").encode(), True)
        code = 126 if isinstance(exc, PermissionError) else 127
        return Captured(code, message, time.monotonic() - started)
    fds: dict[int, bool] = {}  # fd -> is stderr
    if use_pty:
        os.close(slave)
        fds[master] = False
    else:
        if proc.stdout is not None:
            fds[proc.stdout.fileno()] = False
        if proc.stderr is not None:
            fds[proc.stderr.fileno()] = True
    buf = _Bounded()
    timed_out = interrupted = False
    deadline = started + timeout_s if timeout_s else None
    exited_at: float | None = None
    try:
        while fds:
            try:
                now_s = time.monotonic()
                if exited_at is None and proc.poll() is not None:
                    exited_at = now_s
                if exited_at is not None and now_s - exited_at > 1.0:
                    break  # a background process it started keeps the output open: stop reading
                if deadline is not None and now_s >= deadline and exited_at is None:
                    timed_out = True
                    _stop_child(proc, new_session, grace_s=2.0)
                    deadline = None
                    continue
                wait = 0.25 if deadline is None else min(0.25, max(deadline - now_s, 0.0))
                ready, _w, _x = select.select(list(fds), [], [], wait)
                for fd in ready:
                    try:
                        data = os.read(fd, 65536)
                    except OSError:  # EIO: the pty's child side is closed
                        data = b""
                    if not data:
                        del fds[fd]
                        continue
                    buf.add(data)
                    if on_output is not None:
                        on_output(data, fds[fd])
            except KeyboardInterrupt:
                interrupted = True
                if new_session:
                    _stop_child(proc, True)
                # else: the child got the same SIGINT from the terminal; keep draining
        while True:
            try:
                proc.wait()
                break
            except KeyboardInterrupt:
                interrupted = True
                _stop_child(proc, new_session)
    finally:
        if use_pty:
            os.close(master)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    code = _exit_code(proc.returncode if proc.returncode is not None else 1)
    if timed_out and code == 0:
        code = 124  # the timeout(1) convention
    return Captured(
        code, clean_output(buf.text()), time.monotonic() - started, timed_out, interrupted
    )


# ---------------------------------------------------------------------- the journal


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _parse_iso(text: object) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def _slug(text: str, max_len: int = 40) -> str:
    words = re.findall(r"[a-z0-9]+", text.lower())
    slug = ""
    for w in words:
        if len(slug) + len(w) + 1 > max_len:
            break
        slug = f"{slug}-{w}" if slug else w
    return slug or "run"


def _runs_dir(root: Path) -> Path:
    return root / RUNS_DIR


def _redacted_event(event: dict[str, object]) -> dict[str, object]:
    """Every string an event carries, redacted: nothing reaches disk unredacted."""
    out: dict[str, object] = {}
    for key, value in event.items():
        if isinstance(value, str):
            out[key] = _safe(value)
        elif isinstance(value, list):
            out[key] = [_safe(v) if isinstance(v, str) else v for v in value]
        else:
            out[key] = value
    return out


class Journal:
    """One recording's append-only JSON-lines file; each append is fsynced."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def id(self) -> str:
        """The recording id: the journal's file name without ``.jsonl``."""
        return self.path.stem

    def append(self, event: dict[str, object]) -> None:
        """Redact, append one line, flush and fsync before returning."""
        line = json.dumps(_redacted_event(event), ensure_ascii=False, sort_keys=True) + "\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            data = line.encode("utf-8")
            while data:
                written = os.write(fd, data)
                data = data[written:]
            os.fsync(fd)
        finally:
            os.close(fd)


@dataclass(slots=True)
class JournalCommand:
    """A command as the journal tells it; ``exit_code`` None means it never finished."""

    seq: str
    text: str
    started_at: datetime | None
    cwd: str = ""
    exit_code: int | None = None
    duration_s: float | None = None
    output: str = ""
    captured: bool = False  # whether output was captured (the shell hook captures none)
    timed_out: bool = False
    pid: int = 0
    line: int = 0  # 1-based journal line of its start event


@dataclass(slots=True)
class RecordingState:
    """A journal read back: header, commands in order, notes, and whether it was stopped."""

    id: str
    path: Path
    title: str = ""
    op_type: str = ""
    scope: str = ""
    env: str = ""
    started_at: datetime | None = None
    pid: int = 0
    source: str = "observe"  # observe | run
    commands: list[JournalCommand] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    stopped: bool = False
    stop_outcome: str = ""
    observations: list[str] = field(default_factory=list)
    finalizing: list[str] = field(default_factory=list)  # files a stop began to write
    last_at: datetime | None = None
    problems: list[str] = field(default_factory=list)  # unreadable lines, with line numbers

    @property
    def in_flight(self) -> list[JournalCommand]:
        """Commands started but never finished (their process died)."""
        return [c for c in self.commands if c.exit_code is None]


def read_journal(path: Path) -> RecordingState:
    """Read a journal tolerantly: a torn last line (killed mid-write) is reported, not fatal."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        state = RecordingState(id=path.stem, path=path)
        state.problems.append(f"{path.name}: cannot read: {exc.strerror or exc}")
        return state
    return parse_journal(text, path)


def parse_journal(text: str, path: Path) -> RecordingState:
    """A journal's text (one JSON event per line) as a RecordingState."""
    state = RecordingState(id=path.stem, path=path)
    by_seq: dict[str, JournalCommand] = {}
    for n, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            ev = json.loads(line)
        except ValueError:
            state.problems.append(f"{path.name}:{n}: unreadable event (torn write?)")
            continue
        if not isinstance(ev, dict):
            state.problems.append(f"{path.name}:{n}: not an event object")
            continue
        kind = ev.get("event")
        at = _parse_iso(ev.get("at"))
        if at is not None:
            state.last_at = at if state.last_at is None else max(state.last_at, at)
        if kind == "start":
            state.title = str(ev.get("title") or "")
            state.op_type = str(ev.get("type") or "")
            state.scope = str(ev.get("scope") or "")
            state.env = str(ev.get("env") or "")
            state.started_at = at
            state.pid = _int(ev.get("pid")) or 0
            state.source = str(ev.get("source") or "observe")
        elif kind in ("command-start", "command"):
            seq = str(ev.get("seq") or f"line-{n}")
            started = _parse_iso(ev.get("started_at")) or at
            cmd = JournalCommand(
                seq=seq,
                text=str(ev.get("command") or ""),
                started_at=started,
                cwd=str(ev.get("cwd") or ""),
                pid=_int(ev.get("pid")) or 0,
                line=n,
            )
            if kind == "command":  # one-shot event from the shell hook
                _finish(cmd, ev)
            if cmd.text.strip():
                by_seq[seq] = cmd
                state.commands.append(cmd)
        elif kind == "command-end":
            found = by_seq.get(str(ev.get("seq")))
            if found is None:
                state.problems.append(f"{path.name}:{n}: command-end without its start")
            else:
                _finish(found, ev)
        elif kind == "note":
            note = str(ev.get("text") or "").strip()
            if note:
                state.notes.append(note)
        elif kind == "finalizing":
            obs = ev.get("observations")
            if isinstance(obs, list):
                state.finalizing = [str(o) for o in obs]
        elif kind == "stop":
            state.stopped = True
            state.stop_outcome = str(ev.get("outcome") or "")
            obs = ev.get("observations")
            if isinstance(obs, list):
                state.observations = [str(o) for o in obs]
    return state


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,9}", value.strip()):
        return int(value)
    return None


def _finish(cmd: JournalCommand, ev: dict[str, object]) -> None:
    code = _int(ev.get("exit_code"))
    cmd.exit_code = code if code is not None else 1
    duration = ev.get("duration_s")
    if isinstance(duration, (int, float)) and not isinstance(duration, bool) and duration >= 0:
        cmd.duration_s = float(duration)
    cmd.output = str(ev.get("output") or "")
    cmd.captured = bool(ev.get("captured"))
    cmd.timed_out = bool(ev.get("timed_out"))


# ---------------------------------------------------------------------- recordings


def _current_path(root: Path) -> Path:
    return _runs_dir(root) / CURRENT_FILE


def current(root: Path) -> RecordingState | None:
    """The open recording under ``root`` (named by ``.runbook/runs/current``), if any."""
    pointer = _current_path(root)
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    if not re.fullmatch(r"[\w.-]+", name):
        return None
    path = _runs_dir(root) / f"{name}.jsonl"
    if not path.is_file():
        return None
    state = read_journal(path)
    return None if state.stopped else state


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return _not_zombie(pid)


def _not_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc (macOS): trust kill(0)
    return stat.rsplit(")", 1)[-1].split()[:1] != ["Z"]


class Recorder:
    """Appends a recording's events; used by ``observe exec``, the pty shell and ``runbook run``."""

    def __init__(self, root: Path, journal: Journal, now: Clock, limit: int = DEFAULT_EXCERPT):
        self.root = root
        self.journal = journal
        self.now = now
        self.limit = limit
        self._n = 0

    @property
    def id(self) -> str:
        """The id of the recording this recorder appends to."""
        return self.journal.id

    def command_start(self, text: str, cwd: str) -> str:
        """Journal that ``text`` starts now (fsynced); returns its sequence key."""
        self._n += 1
        seq = f"{os.getpid()}-{time.monotonic_ns()}-{self._n}"
        self.journal.append(
            {
                "event": "command-start",
                "seq": seq,
                "command": text,
                "cwd": cwd,
                "at": _iso(self.now()),
                "pid": os.getpid(),
            }
        )
        return seq

    def command_end(
        self,
        seq: str,
        exit_code: int,
        duration_s: float,
        output: str,
        *,
        captured: bool = True,
        timed_out: bool = False,
    ) -> None:
        """Journal how the command ended (fsynced) with a bounded, redacted excerpt."""
        event: dict[str, object] = {
            "event": "command-end",
            "seq": seq,
            "exit_code": exit_code,
            "duration_s": round(max(duration_s, 0.0), 3),
            "output": _excerpt(_safe(output), self.limit),
            "captured": captured,
            "at": _iso(self.now()),
        }
        if timed_out:
            event["timed_out"] = True
        self.journal.append(event)

    def note(self, text: str) -> None:
        """Journal a free-text note (a skipped step, a declined gate, a verification result)."""
        self.journal.append({"event": "note", "text": text, "at": _iso(self.now())})


def _limit(root: Path) -> int:
    from runbook.config import load_config

    try:
        return load_config(root).output_excerpt_chars
    except InputError:
        return DEFAULT_EXCERPT


def start(
    root: Path,
    title: str,
    *,
    op_type: str = "",
    scope: str = "",
    env: str = "",
    now: Clock = utc_now,
    owner_pid: int | None = None,
    source: str = "observe",
) -> Recorder:
    """Open a recording under ``root``; refuse while another one is open there."""
    if not root.is_dir():
        raise InputError(f"{root}: not a directory", hint="pass --root DIR (default: .)")
    title = " ".join(title.split())
    if not title:
        raise UsageError("a recording needs a title", hint='runbook observe start "deploy lambda"')
    refuse_if_open(root)
    at = now()
    runs = _runs_dir(root)
    runs.mkdir(parents=True, exist_ok=True)
    base = f"{at:%Y%m%d-%H%M%S}-{_slug(_safe(title))}"
    return _create(root, title, base, at, now, op_type, scope, env, owner_pid, source)


def refuse_if_open(root: Path) -> None:
    """UsageError naming the recording already open under ``root`` (and how to close it)."""
    open_now = current(root)
    if open_now is not None:
        hint = "stop it with `runbook observe stop` first"
        if not _alive(open_now.pid) and not any(_alive(c.pid) for c in open_now.in_flight):
            hint = "its process is gone: `runbook observe recover` turns it into an observation"
        raise UsageError(
            f"a recording is already open: {open_now.id} “{open_now.title}”"
            + (f", started {_iso(open_now.started_at)}" if open_now.started_at else ""),
            hint=hint,
        )


def _create(
    root: Path,
    title: str,
    base: str,
    at: datetime,
    now: Clock,
    op_type: str,
    scope: str,
    env: str,
    owner_pid: int | None,
    source: str,
) -> Recorder:
    runs = _runs_dir(root)
    for k in range(1, 1000):
        name = base if k == 1 else f"{base}-{k}"
        path = runs / f"{name}.jsonl"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        os.close(fd)
        break
    else:
        raise InputError(f"{runs}: cannot create a new journal")
    journal = Journal(path)
    journal.append(
        {
            "event": "start",
            "v": 1,
            "id": journal.id,
            "title": title,
            "type": op_type,
            "scope": scope,
            "env": env,
            "at": _iso(at),
            "pid": owner_pid if owner_pid is not None else os.getpid(),
            "source": source,
        }
    )
    _claim_current(root, journal)
    return Recorder(root, journal, now, _limit(root))


def _claim_current(root: Path, journal: Journal) -> None:
    """Point ``current`` at ``journal`` unless another start won the race (then refuse)."""
    pointer = _current_path(root)
    tmp = pointer.with_name(f".{CURRENT_FILE}.{os.getpid()}.{journal.id}.tmp")
    tmp.write_text(journal.id + "\n", encoding="utf-8")
    try:
        for _attempt in range(2):
            try:
                os.link(tmp, pointer)  # atomic: fails when a pointer exists
                fsync_dir(pointer.parent)
                return
            except FileExistsError:
                if current(root) is not None:
                    break
                with contextlib.suppress(OSError):  # stale: its journal stopped or vanished
                    pointer.unlink()
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    with contextlib.suppress(OSError):
        journal.path.unlink()
    refuse_if_open(root)
    raise UsageError("another recording started at the same time; try again")


def open_recorder(root: Path, now: Clock = utc_now) -> Recorder:
    """A recorder appending to the open recording; UsageError when none is open."""
    state = current(root)
    if state is None:
        raise UsageError(
            f"no recording is open under {root}",
            hint='start one with `runbook observe start "TITLE"`',
        )
    return Recorder(root, Journal(state.path), now, _limit(root))


def exec_command(
    root: Path,
    argv: Sequence[str],
    *,
    now: Clock = utc_now,
    stdout: BinaryIO | None = None,
    stderr: BinaryIO | None = None,
    cwd: str | None = None,
) -> Captured:
    """Run ``argv`` inside the open recording: stream its output, capture it, journal it."""
    if not argv:
        raise UsageError("no command given", hint="runbook observe exec -- make deploy")
    recorder = open_recorder(root, now)
    out = stdout if stdout is not None else sys.stdout.buffer
    err = stderr if stderr is not None else sys.stderr.buffer
    workdir = cwd or os.getcwd()
    text = _join_argv(argv)
    seq = recorder.command_start(text, workdir)
    began = now()

    def tee(data: bytes, is_err: bool) -> None:
        stream = err if is_err else out
        stream.write(data)
        stream.flush()

    # on a terminal the command gets a pty too: it streams and colors as it would in a shell
    tty = stdout is None and sys.stdout.isatty()
    result = run_captured(list(argv), cwd=workdir, on_output=tee, use_pty=tty)
    duration = (now() - began).total_seconds()
    recorder.command_end(seq, result.exit_code, duration, result.output)
    return Captured(result.exit_code, result.output, duration, result.timed_out, result.interrupted)


def _join_argv(argv: Sequence[str]) -> str:
    import shlex

    # `observe exec -- sh -c "a && b"` is recorded as the script it ran
    if len(argv) == 3 and Path(argv[0]).name in ("sh", "bash", "zsh") and argv[1] in ("-c", "-lc"):
        return argv[2]
    return shlex.join(argv)


def record_command(
    root: Path,
    text: str,
    *,
    exit_code: int,
    started: float | None,
    ended: float | None,
    cwd: str,
    now: Clock = utc_now,
) -> bool:
    """Journal one command reported by the shell hook (no output); False when nothing is open."""
    if not text.strip() or current(root) is None:
        return False
    recorder = open_recorder(root, now)
    at = now()
    duration = None
    if started is not None and ended is not None and ended >= started:
        duration = ended - started
    began = datetime.fromtimestamp(started, UTC).replace(tzinfo=None) if started is not None else at
    event: dict[str, object] = {
        "event": "command",
        "seq": f"hook-{os.getpid()}-{time.monotonic_ns()}",
        "command": text.strip(),
        "cwd": cwd,
        "exit_code": exit_code,
        "started_at": _iso(began),
        "at": _iso(at),
        "captured": False,
    }
    if duration is not None:
        event["duration_s"] = round(duration, 3)
    recorder.journal.append(event)
    return True


# ---------------------------------------------------------------------- observations


@dataclass(frozen=True, slots=True)
class StopResult:
    """A finished recording: its id, outcome and the observation files written (root-relative)."""

    id: str
    outcome: str
    execution: str
    failures: tuple[str, ...] = ()
    commands: int = 0
    interrupted: bool = False


def _fence(text: str, info: str = "") -> list[str]:
    longest = max((len(m) for m in re.findall(r"`{3,}", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return [f"{ticks}{info}", *text.split("\n"), ticks] if text else [f"{ticks}{info}", ticks]


def _yaml_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid YAML scalar


def _human_duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.3f}s".replace(".000s", "s")
    minutes, rest = divmod(seconds, 60)
    if minutes < 60:
        return f"{int(minutes)}m {rest:.1f}s".replace(".0s", "s")
    hours, minutes = divmod(minutes, 60)
    return f"{int(hours)}h {int(minutes)}m {int(rest)}s"


def _outcome_of(state: RecordingState, interrupted: bool) -> str:
    done = [c for c in state.commands if c.exit_code is not None]
    if interrupted:
        return "aborted"
    if done and done[-1].exit_code != 0:
        return "failure"
    return "success"


def _tags(state: RecordingState, outcome: str, interrupted: bool) -> list[str]:
    tags = [t for t in (state.op_type, _slug(state.scope) if state.scope else "", state.env) if t]
    tags.append("recorded")
    if state.source == "run":
        tags.append("runbook-run")
    if interrupted:
        tags.append("interrupted")
    if outcome not in ("success",):
        tags.append(outcome)
    return sorted(set(tags))


def render_observations(
    state: RecordingState, *, outcome: str | None = None, interrupted: bool = False
) -> tuple[tuple[str, str], list[tuple[str, str]], str]:
    """(execution file name, text), [(failure file name, text)], outcome for a recording.

    Names are relative to ``.claude/observations/``: ``YYYY-MM-DD/execution-HHMMSS-slug.md``.
    """
    outcome = outcome or _outcome_of(state, interrupted)
    start = state.started_at or state.last_at or datetime(1970, 1, 1)
    slug = _slug(state.title)
    # hook events are written in the background and may land out of order: order by start
    done = sorted(
        (c for c in state.commands if c.exit_code is not None),
        key=lambda c: c.started_at or datetime.max,
    )
    lost = state.in_flight
    lines = [
        "---",
        "mode: execution",
        f'date: "{start:%Y-%m-%d}"',
        f'time: "{start:%H:%M:%S}"',
        f"context: {_yaml_str(state.title)}",
        f"tags: [{', '.join(_tags(state, outcome, interrupted))}]",
    ]
    if state.env:
        lines.append(f"environment: {_yaml_str(state.env)}")
    if state.op_type:
        lines.append(f"type: {_yaml_str(state.op_type)}")
    if state.scope:
        lines.append(f"scope: {_yaml_str(state.scope)}")
    lines += [f"outcome: {outcome}", f"recording: {_yaml_str(state.id)}", "---", ""]
    lines += [f"# Execution: {state.title}", "", "## Context", ""]
    how = "`runbook run`" if state.source == "run" else "`runbook observe`"
    lines.append(
        f"Recorded with {how} (journal `{RUNS_DIR}/{state.id}.jsonl`), "
        f"{len(done)} command(s); outcome: {outcome}."
    )
    if interrupted and state.source == "run":
        lines += [
            "",
            "**Interrupted**: the operator pressed Ctrl-C; the running command's "
            "process group was stopped.",
        ]
    elif interrupted:
        lines.append("")
        lines.append(
            "**Interrupted**: the recording process ended without `observe stop`; "
            + (
                f"{len(lost)} command(s) in flight were lost: "
                + ", ".join(f"`{_one_line(c.text)}`" for c in lost)
                if lost
                else "no command was in flight"
            )
            + "."
        )
    if any(not c.captured for c in done):
        lines += ["", "Commands recorded by the shell hook carry no output (the hook sees none)."]
    lines += ["", "## Tool Calls", ""]
    for cmd in done:
        at = cmd.started_at or start
        lines.append(f"### Bash - {at:%Y-%m-%dT%H:%M:%S}Z")
        lines += ["", "**Input**:", *_fence(cmd.text, "bash"), ""]
        if cmd.captured:
            lines += ["**Output**:", *_fence(cmd.output), ""]
        lines.append(f"**Exit Code**: {cmd.exit_code}")
        if cmd.duration_s is not None:
            lines.append(f"**Duration**: {_duration_label(cmd.duration_s)}")
        if cmd.cwd:
            lines.append(f"**Working Directory**: `{cmd.cwd}`")
        if cmd.timed_out:
            lines.append("**Status**: timed out")
        lines.append("")
    lines += ["## Side Effects", "", "**Commands Executed**:"]
    listed = [c for c in done if "\n" not in c.text and "`" not in c.text]
    for cmd in listed:
        word = "success" if cmd.exit_code == 0 else "failed"
        lines.append(f"- `{cmd.text}` - {cmd.exit_code} - {word}")
    if not listed:
        lines.append("- none")
    lines.append("")
    total = _total_seconds(state, done)
    lines += ["## Resource Consumption", ""]
    lines.append(
        f"**Time**: {_human_duration(total)}" if total is not None else "**Time**: unknown"
    )
    lines.append("")
    if state.notes:
        lines += ["## Run Notes", ""]
        lines += [f"- {_one_line(n)}" for n in state.notes]
        lines.append("")
    lines += [
        "## Result",
        "",
        f"{outcome.capitalize()}" + (" (interrupted)." if interrupted else "."),
        "",
    ]
    execution_name = f"{start:%Y-%m-%d}/execution-{start:%H%M%S}-{slug}.md"
    failures = []
    for cmd in done:
        if cmd.exit_code == 0:
            continue
        failures.append(_failure(state, cmd, slug))
    return (execution_name, "\n".join(lines)), failures, outcome


def _duration_label(seconds: float) -> str:
    # three decimals keep the recorded duration exact to the millisecond in the round trip
    return f"{seconds:.3f}s"


def _total_seconds(state: RecordingState, done: list[JournalCommand]) -> float | None:
    if state.started_at is None:
        return None
    ends = [
        c.started_at + timedelta(seconds=c.duration_s or 0.0)
        for c in done
        if c.started_at is not None
    ]
    if state.last_at is not None:
        ends.append(state.last_at)
    end = max(ends, default=None)
    return max((end - state.started_at).total_seconds(), 0.0) if end is not None else None


def _one_line(text: str) -> str:
    return " ".join(text.split())[:300]


_ERRORISH = re.compile(
    r"\b(?:error|errors|fatal|failed|failure|exception|traceback|denied|refused|not found|"
    r"no such|cannot|can't|unable|timed? ?out|panic|invalid)\b",
    re.IGNORECASE,
)


def _error_lines(output: str) -> list[str]:
    lines = [ln.strip() for ln in output.split("\n") if ln.strip() and ln.strip() != "..."]
    picked = [ln for ln in lines if _ERRORISH.search(ln)]
    return (picked or lines[-3:])[:8]


def _failure(state: RecordingState, cmd: JournalCommand, slug: str) -> tuple[str, str]:
    at = cmd.started_at or state.started_at or datetime(1970, 1, 1)
    program = _slug(cmd.text.split()[0] if cmd.text.split() else "command", 20)
    errors = _error_lines(cmd.output)
    what = "timed out" if cmd.timed_out else f"exited with code {cmd.exit_code}"
    lines = [
        "---",
        "mode: failure",
        f'date: "{at:%Y-%m-%d}"',
        f'time: "{at:%H:%M:%S}"',
        f"context: {_yaml_str(f'{state.title}: {_one_line(cmd.text)[:120]} {what}')}",
        f"tags: [{', '.join(_tags(state, 'failure', False))}]",
        "severity: medium",
        "resolved: false",
    ]
    if state.env:
        lines.append(f"environment: {_yaml_str(state.env)}")
    if state.op_type:
        lines.append(f"type: {_yaml_str(state.op_type)}")
    lines += [f"recording: {_yaml_str(state.id)}", "---", ""]
    lines += [f"# Failure: `{_one_line(cmd.text)[:120]}` {what}", "", "## Symptoms Observed", ""]
    lines.append(f"- `{_one_line(cmd.text)[:200]}` {what}")
    lines += [f"- {e[:300]}" for e in errors[:3]]
    lines.append("")
    if errors:
        lines += ["## Error Messages", "", "### Error 1", *_fence("\n".join(errors)), ""]
    lines += ["## Input State", "", "**What was attempted**:", *_fence(cmd.text, "bash"), ""]
    lines += ["## Environmental Context", ""]
    if state.env:
        lines.append(f"**Environment**: {state.env}")
    if cmd.cwd:
        lines.append(f"**Working Directory**: `{cmd.cwd}`")
    lines.append(f"**Recording**: `{RUNS_DIR}/{state.id}.jsonl` ({state.title})")
    lines += ["", "## Timeline", ""]
    lines.append(f"- {at:%H:%M:%S} — started `{_one_line(cmd.text)[:200]}`")
    if cmd.duration_s is not None:
        end = at + timedelta(seconds=cmd.duration_s)
        lines.append(f"- {end:%H:%M:%S} — {what}")
    lines.append("")
    name = f"{at:%Y-%m-%d}/failure-{at:%H%M%S}-{slug}-{program}.md"
    return name, "\n".join(lines)


def _unique_path(base: Path, rel: str, text: str) -> Path:
    target = base / rel
    k = 1
    while target.exists():
        with contextlib.suppress(OSError):
            if target.read_text(encoding="utf-8") == text:
                return target  # written before a crash: same content, same file
        k += 1
        target = base / re.sub(r"\.md$", f"-{k}.md", rel)
    return target


def _finalize(
    root: Path, state: RecordingState, outcome: str | None, interrupted: bool, now: Clock
) -> StopResult:
    (exec_rel, exec_text), failures, final = render_observations(
        state, outcome=outcome, interrupted=interrupted
    )
    base = root / OBSERVATIONS_DIR
    files = [(rel, _safe(text)) for rel, text in [(exec_rel, exec_text), *failures]]
    # The target names are journaled before the files are written: a crash in between makes
    # `recover` overwrite the same files instead of adding a second copy of the run.
    planned = [p for p in state.finalizing if _inside(root, p)]
    if len(planned) == len(files):
        targets = [root / p for p in planned]
    else:
        targets = []
        for rel, text in files:
            target = _unique_path(base, rel, text)
            while target in targets:  # two failures in the same second
                target = target.with_name(target.stem + "-2.md")
            targets.append(target)
        Journal(state.path).append(
            {
                "event": "finalizing",
                "observations": [t.relative_to(root).as_posix() for t in targets],
                "at": _iso(now()),
            }
        )
    written = []
    for target, (_rel, text) in zip(targets, files, strict=True):
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, text, durable=True)
        written.append(target.relative_to(root).as_posix())
    Journal(state.path).append(
        {
            "event": "stop",
            "outcome": final,
            "interrupted": interrupted,
            "observations": written,
            "at": _iso(now()),
        }
    )
    pointer = _current_path(root)
    with contextlib.suppress(OSError):
        if pointer.read_text(encoding="utf-8").strip() == state.id:
            pointer.unlink()
    return StopResult(
        id=state.id,
        outcome=final,
        execution=written[0],
        failures=tuple(written[1:]),
        commands=sum(1 for c in state.commands if c.exit_code is not None),
        interrupted=interrupted,
    )


def _inside(root: Path, rel: str) -> bool:
    # a journal is data: its paths must stay under the observations folder
    path = PurePosixPath(rel)
    return (
        not path.is_absolute()
        and ".." not in path.parts
        and rel.startswith(OBSERVATIONS_DIR + "/")
        and rel.endswith(".md")
    )


def stop(root: Path, outcome: str | None = None, *, now: Clock = utc_now) -> StopResult:
    """Close the open recording and write its observation files."""
    if outcome is not None and outcome not in ("success", "failure"):
        raise UsageError(f"unknown outcome {outcome!r}", hint="--outcome success|failure")
    state = current(root)
    if state is None:
        raise UsageError(
            f"no recording is open under {root}",
            hint='start one with `runbook observe start "TITLE"`',
        )
    # a command still marked in flight at stop was lost (its process died): say so
    return _finalize(root, state, outcome, bool(state.in_flight), now)


def finish(
    recorder: Recorder, outcome: str, *, interrupted: bool = False, now: Clock = utc_now
) -> StopResult:
    """Close the recording ``recorder`` writes to (``runbook run``) with a known outcome."""
    state = read_journal(recorder.journal.path)
    return _finalize(recorder.root, state, outcome, interrupted, now)


@dataclass(frozen=True, slots=True)
class JournalStatus:
    """One journal for ``observe status``: open / orphaned / stopped, with counts."""

    id: str
    title: str
    state: str  # open | orphaned | stopped
    started_at: datetime | None
    commands: int
    failed: int
    in_flight: int
    observations: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()


def is_orphaned(state: RecordingState) -> bool:
    """True when an unfinished recording's owner and its in-flight commands are all gone."""
    return _orphaned(state)


def _orphaned(state: RecordingState) -> bool:
    if state.stopped:
        return False
    return not _alive(state.pid) and not any(_alive(c.pid) for c in state.in_flight)


def _journals(root: Path) -> Iterator[Path]:
    runs = _runs_dir(root)
    if runs.is_dir():
        yield from sorted(runs.glob("*.jsonl"))


def status(root: Path) -> tuple[JournalStatus | None, tuple[JournalStatus, ...]]:
    """(the open recording, every unfinished journal whose process is gone)."""
    open_state = current(root)
    open_status = _status_of(open_state) if open_state is not None else None
    orphans = []
    for path in _journals(root):
        state = read_journal(path)
        if open_state is not None and state.id == open_state.id:
            continue
        if not state.stopped and _orphaned(state):
            orphans.append(_status_of(state))
    return open_status, tuple(orphans)


def _status_of(state: RecordingState) -> JournalStatus:
    done = [c for c in state.commands if c.exit_code is not None]
    kind = "stopped" if state.stopped else ("orphaned" if _orphaned(state) else "open")
    return JournalStatus(
        id=state.id,
        title=state.title,
        state=kind,
        started_at=state.started_at,
        commands=len(done),
        failed=sum(1 for c in done if c.exit_code != 0),
        in_flight=len(state.in_flight),
        observations=tuple(state.observations),
        problems=tuple(state.problems),
    )


def recover(root: Path, *, now: Clock = utc_now) -> tuple[StopResult, ...]:
    """Turn every orphaned journal (no stop, its process gone) into observations."""
    results = []
    for path in _journals(root):
        state = read_journal(path)
        if state.stopped or not _orphaned(state):
            continue
        if state.started_at is None and not state.commands:
            continue  # an empty or unreadable journal: nothing to recover
        results.append(_finalize(root, state, None, True, now))
    return tuple(results)


# ---------------------------------------------------------------------- shell hooks

_BASH_HOOK = r"""# runbook observe: record every command typed in this shell while a recording is open.
# Records command text, exit code, timing and working directory - NOT the output.
# in the background, so the prompt does not wait for the journal write (the event has its times)
__runbook_observe() { ( %(runbook)s observe _event --root %(root)s "$@" >/dev/null 2>&1 & ); }
%(line)s__runbook_preexec() {
  [ -n "${COMP_LINE:-}" ] && return
  [ -n "${__runbook_busy:-}" ] && return
  case "$BASH_COMMAND" in __runbook_*) return ;; esac
  __runbook_busy=1
  __runbook_line
  __runbook_start=${EPOCHREALTIME:-$(date +%%s)}
}
__runbook_precmd() {
  local __runbook_ec=$?
  if [ -n "${__runbook_busy:-}" ]; then
    __runbook_observe --exit "$__runbook_ec" --start "$__runbook_start" \
      --end "${EPOCHREALTIME:-$(date +%%s)}" --cwd "$PWD" -- "$__runbook_cmd"
  fi
  __runbook_busy=
  return $__runbook_ec
}
case ";${PROMPT_COMMAND:-};" in
  *";__runbook_precmd;"*) ;;
  *) PROMPT_COMMAND="__runbook_precmd${PROMPT_COMMAND:+;$PROMPT_COMMAND}" ;;
esac
__runbook_busy=
trap '__runbook_preexec' DEBUG  # last: nothing after it is mistaken for a typed command
"""

_ZSH_HOOK = r"""# runbook observe: record every command typed in this shell while a recording is open.
# Records command text, exit code, timing and working directory - NOT the output.
zmodload zsh/datetime 2>/dev/null
autoload -Uz add-zsh-hook
# in the background, so the prompt does not wait for the journal write (the event has its times)
__runbook_observe() { %(runbook)s observe _event --root %(root)s "$@" >/dev/null 2>&1 &! }
__runbook_preexec() {
  __runbook_cmd=$1
  __runbook_start=${EPOCHREALTIME:-$(date +%%s)}
}
__runbook_precmd() {
  local __runbook_ec=$?
  if [[ -n ${__runbook_cmd:-} ]]; then
    __runbook_observe --exit "$__runbook_ec" --start "$__runbook_start" \
      --end "${EPOCHREALTIME:-$(date +%%s)}" --cwd "$PWD" -- "$__runbook_cmd"
  fi
  __runbook_cmd=
  return $__runbook_ec
}
add-zsh-hook preexec __runbook_preexec
add-zsh-hook precmd __runbook_precmd
"""


def shell_hook(shell: str, root: Path, runbook_command: Sequence[str] | None = None) -> str:
    """The hook script for ``eval "$(runbook observe shell-hook bash|zsh)"``."""
    import shlex

    command = runbook_command or (sys.executable, "-m", "runbook")
    values = {
        "runbook": " ".join(shlex.quote(c) for c in command),
        "root": shlex.quote(str(root.resolve())),
        "line": _BASH_LINE % {},
    }
    if shell == "bash":
        return _BASH_HOOK % values
    if shell == "zsh":
        return _ZSH_HOOK % values
    raise UsageError(f"unsupported shell {shell!r}", hint="runbook observe shell-hook bash|zsh")


def run_shell(
    root: Path,
    shell: str | None = None,
    *,
    now: Clock = utc_now,
) -> int:
    """A child shell on a pseudo-terminal; its commands are recorded with their output.

    The child shell reports each command's start and end to this process with private OSC
    escape sequences (written by a hook in its rc file); the bytes between them are that
    command's output. The shell's own exit status is returned.
    """
    import pty
    import tempfile

    recorder = open_recorder(root, now)
    shell = shell or os.environ.get("SHELL") or "/bin/bash"
    name = Path(shell).name
    if name not in ("bash", "zsh"):
        raise UsageError(f"`observe shell` supports bash and zsh, not {name}")
    tracker = _PtyTracker(recorder, now)
    with tempfile.TemporaryDirectory(prefix="runbook-shell-") as tmp:
        env = dict(os.environ)
        env["RUNBOOK_OBSERVE_SHELL"] = recorder.id
        if name == "bash":
            rc = Path(tmp) / "bashrc"
            rc.write_text(
                '[ -f "$HOME/.bashrc" ] && . "$HOME/.bashrc"\n' + _PTY_BASH, encoding="utf-8"
            )
            argv = [shell, "--rcfile", str(rc), "-i"]
        else:
            zdot = Path(tmp)
            home_rc = Path(os.environ.get("ZDOTDIR", str(Path.home()))) / ".zshrc"
            (zdot / ".zshrc").write_text(
                f"[ -f {json.dumps(str(home_rc))} ] && . {json.dumps(str(home_rc))}\n" + _PTY_ZSH,
                encoding="utf-8",
            )
            env["ZDOTDIR"] = str(zdot)
            argv = [shell, "-i"]
        saved = dict(os.environ)
        os.environ.clear()
        os.environ.update(env)
        try:
            status_code = pty.spawn(argv, tracker.read)
        finally:
            os.environ.clear()
            os.environ.update(saved)
    tracker.close()
    return _exit_code(os.waitstatus_to_exitcode(status_code))


# The child shell marks each command: ESC ] 7770 ; B ; <cwd> ; <command> BEL before it runs,
# ESC ] 7770 ; D ; <exit code> BEL when the prompt returns.
# __runbook_cmd := the typed line from history; when history did not change (a leading space with
# HISTCONTROL=ignorespace, a repeat with ignoredups, history off) the simple command instead.
_BASH_LINE = r"""__runbook_line() {
  local h n
  h=$(HISTTIMEFORMAT= builtin history 1 2>/dev/null)
  n=${h#"${h%%%%[![:space:]]*}"}; n=${n%%%%[![:digit:]]*}
  if [ -n "$n" ] && [ "$n" != "${__runbook_histno:-}" ]; then
    __runbook_histno=$n
    __runbook_cmd=$(printf '%%s' "$h" | sed -e '1s/^ *[0-9][0-9]*[* ] *//')
  else
    __runbook_cmd=$BASH_COMMAND
  fi
}
"""
_PTY_BASH = (
    _BASH_LINE.replace("%%", "%")
    + r"""
__runbook_pre() {
  [ -n "${__runbook_busy:-}" ] && return
  case "$BASH_COMMAND" in __runbook_*) return ;; esac
  __runbook_busy=1
  __runbook_line
  printf '\033]7770;B;%s;%s\007' "$PWD" "$__runbook_cmd"
}
__runbook_post() {
  local ec=$?
  [ -n "${__runbook_busy:-}" ] && printf '\033]7770;D;%s\007' "$ec"
  __runbook_busy=
  return $ec
}
PROMPT_COMMAND="__runbook_post${PROMPT_COMMAND:+;$PROMPT_COMMAND}"
__runbook_busy=
trap '__runbook_pre' DEBUG
"""
)
_PTY_ZSH = r"""
autoload -Uz add-zsh-hook
__runbook_busy=
__runbook_pre() { __runbook_busy=1; printf '\033]7770;B;%s;%s\007' "$PWD" "$1"; }
__runbook_post() {
  local ec=$?
  [[ -n $__runbook_busy ]] && printf '\033]7770;D;%s\007' "$ec"
  __runbook_busy=
  return $ec
}
add-zsh-hook preexec __runbook_pre
add-zsh-hook precmd __runbook_post
"""
_MARK = re.compile(rb"\x1b\]7770;([BD]);([^\x07]*)\x07")


class _PtyTracker:
    """Reads the pty, strips the command marks, journals each command with its output."""

    def __init__(self, recorder: Recorder, now: Clock) -> None:
        self.recorder = recorder
        self.now = now
        self.pending = b""
        self.seq: str | None = None
        self.began: datetime | None = None
        self.buf = _Bounded()

    def read(self, fd: int) -> bytes:
        """pty.spawn's reader. An empty result would mean end of output (and reading again
        could block while the child waits for input), so a read that held only marks shows a
        NUL, which terminals ignore."""
        data = os.read(fd, 65536)  # OSError (EIO) at the child's exit ends pty.spawn's loop
        if not data:
            return data
        return self._strip(data) or b"\x00"

    def _strip(self, data: bytes) -> bytes:
        data = self.pending + data
        self.pending = b""
        # an incomplete mark at the end waits for the next read
        cut = data.rfind(b"\x1b]7770;")
        if cut >= 0 and b"\x07" not in data[cut:]:
            data, self.pending = data[:cut], data[cut:]
        shown = bytearray()
        pos = 0
        for m in _MARK.finditer(data):
            chunk = data[pos : m.start()]
            shown += chunk
            self._output(chunk)
            self._mark(m.group(1), m.group(2).decode("utf-8", errors="replace"))
            pos = m.end()
        rest = data[pos:]
        shown += rest
        self._output(rest)
        return bytes(shown)

    def _output(self, chunk: bytes) -> None:
        if self.seq is not None and chunk:
            self.buf.add(chunk)

    def _mark(self, kind: bytes, payload: str) -> None:
        if kind == b"B":
            self._end(None)
            cwd, _, command = payload.partition(";")
            # leaving the recorded shell is not part of the run
            if command.strip() and not re.match(r"^\s*(?:exit|logout)\b", command):
                self.seq = self.recorder.command_start(command.strip(), cwd)
                self.began = self.now()
                self.buf = _Bounded()
        else:
            code = _int(payload.strip())
            self._end(code if code is not None else 1)

    def _end(self, code: int | None) -> None:
        if self.seq is None:
            return
        duration = (self.now() - self.began).total_seconds() if self.began else 0.0
        output = clean_output(self.buf.text())
        self.recorder.command_end(
            self.seq, code if code is not None else 1, duration, output, captured=True
        )
        self.seq = None

    def close(self) -> None:
        if self.seq is not None:
            self._end(None)
