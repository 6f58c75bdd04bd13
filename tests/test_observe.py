"""`runbook observe`: round trip through the observation reader, redaction before disk,
crash safety (kill -9 then recover), one open recording per root, the shell hook."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from runbook import observe
from runbook.config import Config
from runbook.errors import UsageError
from runbook.model import EvidenceKind, Execution, ObservationMode, Outcome, ParsedFile, Skipped
from runbook.sources import read_evidence

ENV = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}


class FakeClock:
    """Each reading is 1.25 s after the previous one."""

    def __init__(self, start: datetime = datetime(2026, 1, 5, 14, 30, 0)) -> None:
        self.t = start

    def __call__(self) -> datetime:
        self.t += timedelta(seconds=1.25)
        return self.t


def _read(root: Path, rel: str) -> Execution:
    parsed = read_evidence(root / rel, root, EvidenceKind.OBSERVATION, Config())
    assert isinstance(parsed, ParsedFile), parsed
    (execution,) = parsed.executions
    return execution


def _journal_events(root: Path) -> list[dict[str, object]]:
    events = []
    for path in sorted((root / ".runbook" / "runs").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                events.append(json.loads(line))
    return events


def _sink() -> tuple[object, object]:
    import io

    return io.BytesIO(), io.BytesIO()


def test_round_trip_commands_exit_codes_durations(tmp_path: Path) -> None:
    clock = FakeClock()
    rec = observe.start(
        tmp_path,
        "Deploy report worker",
        op_type="deployment",
        scope="lambda",
        env="prod",
        now=clock,
    )
    out, err = _sink()
    argvs = [
        ["sh", "-c", "echo building; echo done"],
        ["sh", "-c", "echo 'Error: image not found' >&2; exit 3"],
        ["sh", "-c", "printf '\\033[32mhealthy\\033[0m\\n'"],
    ]
    codes = [
        observe.exec_command(tmp_path, a, now=clock, stdout=out, stderr=err).exit_code  # type: ignore[arg-type]
        for a in argvs
    ]
    assert codes == [0, 3, 0]
    assert out.getvalue() == b"building\ndone\n\x1b[32mhealthy\x1b[0m\n"  # type: ignore[attr-defined]
    assert err.getvalue() == b"Error: image not found\n"  # type: ignore[attr-defined]
    result = observe.stop(tmp_path, now=clock)
    assert result.id == rec.id
    assert result.outcome == "success"  # the last command passed
    assert (
        result.execution
        == ".claude/observations/2026-01-05/execution-143001-deploy-report-worker.md"
    )
    assert len(result.failures) == 1 and "/failure-143" in result.failures[0]

    journal = [e for e in _journal_events(tmp_path) if e["event"] == "command-end"]
    execution = _read(tmp_path, result.execution)
    assert execution.mode is ObservationMode.EXECUTION
    assert execution.outcome is Outcome.SUCCESS
    assert execution.environment == "prod"
    assert execution.declared_type == "deployment"
    assert [c.text for c in execution.commands] == [
        "echo building; echo done",
        "echo 'Error: image not found' >&2; exit 3",
        "printf '\\033[32mhealthy\\033[0m\\n'",
    ]
    assert [c.exit_code for c in execution.commands] == [0, 3, 0]
    assert [c.duration_s for c in execution.commands] == [e["duration_s"] for e in journal]
    assert [c.duration_s for c in execution.commands] == [1.25, 1.25, 1.25]
    assert execution.commands[2].output == "healthy"  # ANSI stripped
    assert execution.commands[0].cwd == os.getcwd()
    assert execution.started_at == datetime(2026, 1, 5, 14, 30, 1, 250000).replace(microsecond=0)
    assert any("image not found" in e.message for e in execution.errors)

    failure = _read(tmp_path, result.failures[0])
    assert failure.mode is ObservationMode.FAILURE and failure.outcome is Outcome.FAILURE
    assert any("image not found" in e.message for e in failure.errors)
    assert [c.text for c in failure.commands] == ["echo 'Error: image not found' >&2; exit 3"]
    assert observe.current(tmp_path) is None


def test_outcome_defaults_and_override(tmp_path: Path) -> None:
    out, err = _sink()
    observe.start(tmp_path, "migrate db")
    observe.exec_command(tmp_path, ["false"], stdout=out, stderr=err)  # type: ignore[arg-type]
    result = observe.stop(tmp_path)
    assert result.outcome == "failure"
    assert _read(tmp_path, result.execution).outcome is Outcome.FAILURE

    observe.start(tmp_path, "migrate db again")
    observe.exec_command(tmp_path, ["false"], stdout=out, stderr=err)  # type: ignore[arg-type]
    result = observe.stop(tmp_path, "success")
    assert _read(tmp_path, result.execution).outcome is Outcome.SUCCESS
    with pytest.raises(UsageError):
        observe.stop(tmp_path)  # nothing open any more


def test_one_open_recording_per_root(tmp_path: Path) -> None:
    rec = observe.start(tmp_path, "first one")
    with pytest.raises(UsageError, match=rf"already open: {rec.id} “first one”"):
        observe.start(tmp_path, "second one")
    open_now, orphans = observe.status(tmp_path)
    assert open_now is not None and open_now.id == rec.id and open_now.state == "open"
    assert orphans == ()
    assert observe.recover(tmp_path) == ()  # its owner (this process) is alive


def test_exec_without_recording_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no recording is open"):
        observe.exec_command(tmp_path, ["true"])


SECRET_KEY = "AKIA" + "QZ7XW4PLMN2RT6YB"
SECRET_PW = "Tr0ub4dor-" + "x9Q2vL7w"
SECRET_TOKEN = "ghp_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5"


def test_secrets_never_reach_disk(tmp_path: Path) -> None:
    out, err = _sink()
    observe.start(tmp_path, f"deploy with PGPASSWORD={SECRET_PW}")
    observe.exec_command(
        tmp_path,
        ["sh", "-c", f"echo key {SECRET_KEY}; echo token={SECRET_TOKEN} >&2"],
        stdout=out,  # type: ignore[arg-type]
        stderr=err,  # type: ignore[arg-type]
    )
    observe.exec_command(
        tmp_path,
        ["env", f"PGPASSWORD={SECRET_PW}", "sh", "-c", "exit 2"],
        stdout=out,  # type: ignore[arg-type]
        stderr=err,  # type: ignore[arg-type]
    )
    rec = observe.open_recorder(tmp_path)
    rec.note(f"used {SECRET_TOKEN}")
    result = observe.stop(tmp_path)
    assert result.failures
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.suffix == ".jsonl" for p in files) and any(p.suffix == ".md" for p in files)
    for path in files:
        data = path.read_bytes()
        for secret in (SECRET_KEY, SECRET_PW, SECRET_TOKEN):
            assert secret.encode() not in data, f"{secret} leaked into {path}"
    text = (tmp_path / result.execution).read_text(encoding="utf-8")
    assert "{redacted:" in text
    # the operator still saw the real output on the terminal
    assert SECRET_KEY.encode() in out.getvalue()  # type: ignore[attr-defined]


def test_torn_last_line_is_tolerated(tmp_path: Path) -> None:
    out, err = _sink()
    observe.start(tmp_path, "torn")
    observe.exec_command(tmp_path, ["echo", "one"], stdout=out, stderr=err)  # type: ignore[arg-type]
    state = observe.current(tmp_path)
    assert state is not None
    with state.path.open("a", encoding="utf-8") as handle:
        handle.write('{"event": "command-start", "command": "echo tw')  # killed mid-write
    state = observe.read_journal(state.path)
    assert [c.text for c in state.commands] == ["echo one"]
    assert state.problems and "torn" in state.problems[0]


def test_clean_output() -> None:
    raw = "\x1b[1mbold\x1b[0m\r\n 10%\r 50%\r100%\n\x1b]0;title\x07done\x08"
    assert observe.clean_output(raw) == "bold\n100%\ndone"


def _wait_for(predicate: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


def test_kill_9_then_recover_keeps_every_completed_command(tmp_path: Path) -> None:
    runbook = f"{sys.executable} -m runbook"
    script = (
        f'{runbook} observe start "scale workers" --type scaling --root "$ROOT" >/dev/null\n'
        "for i in 1 2 3 4; do\n"
        f'  {runbook} observe exec --root "$ROOT" -- echo "batch $i" >/dev/null\n'
        "done\n"
        f'{runbook} observe exec --root "$ROOT" -- sleep 60\n'
    )
    proc = subprocess.Popen(
        ["bash", "-c", script],
        env={**ENV, "ROOT": str(tmp_path)},
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def sleeping() -> bool:
            return any(
                e.get("event") == "command-start" and e.get("command") == "sleep 60"
                for e in _journal_events(tmp_path)
            )

        _wait_for(sleeping)
        completed = [e for e in _journal_events(tmp_path) if e["event"] == "command-end"]
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert len(completed) == 4

    _open_now, _orphans = observe.status(tmp_path)
    results = observe.recover(tmp_path)
    assert len(results) == 1 and results[0].interrupted
    execution = _read(tmp_path, results[0].execution)
    assert [c.text for c in execution.commands] == [f"echo 'batch {i}'" for i in range(1, 5)]
    assert [c.exit_code for c in execution.commands] == [0, 0, 0, 0]
    assert [c.output for c in execution.commands] == [f"batch {i}" for i in range(1, 5)]
    assert execution.declared_type == "scaling"
    text = (tmp_path / results[0].execution).read_text(encoding="utf-8")
    assert "**Interrupted**" in text and "`sleep 60`" in text
    assert observe.recover(tmp_path) == ()  # recovered once
    assert observe.current(tmp_path) is None


def test_cli_exec_returns_the_commands_exit_code(tmp_path: Path) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "runbook", "observe", *args, "--root", str(tmp_path)]
            if args[0] != "exec"
            else [
                sys.executable,
                "-m",
                "runbook",
                "observe",
                "exec",
                "--root",
                str(tmp_path),
                *args[1:],
            ],
            env=ENV,
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert cli("start", "hotfix api").returncode == 0
    second = cli("start", "another")
    assert second.returncode == 2 and "already open" in second.stderr
    run = cli("exec", "--", "sh", "-c", "echo out; echo err >&2; exit 7")
    assert run.returncode == 7 and run.stdout == "out\n" and run.stderr == "err\n"
    status = cli("status")
    assert "hotfix api" in status.stdout and "1 command(s), 1 failed" in status.stdout
    stop = cli("stop", "--outcome", "failure")
    assert stop.returncode == 0
    paths = stop.stdout.split()
    assert len(paths) == 2 and "execution-" in paths[0] and "failure-" in paths[1]
    assert "no recording open" in cli("status").stdout


def test_shell_hook_scripts() -> None:
    bash = observe.shell_hook("bash", Path("."))
    assert "trap '__runbook_preexec' DEBUG" in bash and "PROMPT_COMMAND" in bash
    assert "observe _event" in bash and "NOT the output" in bash
    zsh = observe.shell_hook("zsh", Path("."))
    assert "add-zsh-hook preexec __runbook_preexec" in zsh
    assert "add-zsh-hook precmd __runbook_precmd" in zsh
    with pytest.raises(UsageError):
        observe.shell_hook("fish", Path("."))


def test_bash_hook_records_typed_commands(tmp_path: Path) -> None:
    pexpect = pytest.importorskip("pexpect")
    observe.start(tmp_path, "typed session", owner_pid=os.getpid())
    hook = tmp_path / "hook.sh"
    hook.write_text(observe.shell_hook("bash", tmp_path), encoding="utf-8")
    child = pexpect.spawn(
        "bash",
        ["--norc", "--noprofile", "-i"],
        env={**ENV, "PS1": "PROMPT> ", "HISTFILE": "/dev/null", "TERM": "dumb"},
        encoding="utf-8",
        timeout=20,
        cwd=str(tmp_path),
    )
    try:
        child.expect("PROMPT> ")
        child.sendline(f"source {hook}")
        child.expect("PROMPT> ")
        child.sendline("echo hello-from-hook")
        child.expect("PROMPT> ")
        child.sendline("sh -c 'exit 5'")
        child.expect("PROMPT> ")
        child.sendline("exit")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)

    def both_recorded() -> bool:
        state = observe.current(tmp_path)
        return state is not None and len(state.commands) >= 2

    _wait_for(both_recorded)  # the hook writes in the background
    state = observe.current(tmp_path)
    assert state is not None
    state.commands.sort(key=lambda c: c.started_at or datetime.max)
    assert [(c.text, c.exit_code) for c in state.commands] == [
        ("echo hello-from-hook", 0),
        ("sh -c 'exit 5'", 5),
    ]
    assert all(c.cwd == str(tmp_path) and not c.captured for c in state.commands)
    result = observe.stop(tmp_path)
    execution = _read(tmp_path, result.execution)
    assert [c.exit_code for c in execution.commands] == [0, 5]
    assert "carry no output" in (tmp_path / result.execution).read_text(encoding="utf-8")


def test_observe_shell_records_commands_with_output(tmp_path: Path) -> None:
    pexpect = pytest.importorskip("pexpect")
    observe.start(tmp_path, "pty session", owner_pid=os.getpid())
    child = pexpect.spawn(
        sys.executable,
        ["-m", "runbook", "observe", "shell", "--shell", "bash", "--root", str(tmp_path)],
        env={**ENV, "HOME": str(tmp_path), "TERM": "dumb"},
        cwd=str(tmp_path),
        encoding="utf-8",
        timeout=20,
    )
    prompt = r"[#$] $"
    try:
        child.expect(prompt)
        child.sendline("echo recorded-output")
        child.expect(prompt)
        child.sendline("sh -c 'echo oops-on-stderr >&2; exit 3'")
        child.expect(prompt)
        child.sendline("exit 4")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 4
    state = observe.current(tmp_path)
    assert state is not None
    assert [(c.text, c.exit_code) for c in state.commands] == [
        ("echo recorded-output", 0),
        ("sh -c 'echo oops-on-stderr >&2; exit 3'", 3),
    ]
    assert state.commands[0].output == "recorded-output"
    assert state.commands[1].output == "oops-on-stderr"


def test_open_journal_is_evidence_until_it_becomes_an_observation(tmp_path: Path) -> None:
    from runbook.discover import discover

    out, err = _sink()
    observe.start(tmp_path, "rotate certs", op_type="deployment", now=FakeClock())
    observe.exec_command(tmp_path, ["echo", "rotated"], stdout=out, stderr=err)  # type: ignore[arg-type]
    state = observe.current(tmp_path)
    assert state is not None
    journal = read_evidence(state.path, tmp_path, EvidenceKind.RUN_RECORD, Config())
    assert isinstance(journal, ParsedFile)
    (execution,) = journal.executions
    assert [c.text for c in execution.commands] == ["echo rotated"]
    assert execution.commands[0].source.line == 2
    assert execution.declared_type == "deployment" and execution.outcome is Outcome.UNKNOWN
    assert "not stopped" in journal.diagnostics[-1].message

    observe.stop(tmp_path)
    kinds = {}
    for cand in discover(tmp_path, Config()):
        if isinstance(cand, Skipped):
            continue
        parsed = read_evidence(cand.path, tmp_path, cand.kind, Config())
        assert isinstance(parsed, ParsedFile), parsed
        kinds[cand.kind] = len(parsed.executions)
    # the stopped journal yields nothing: its run is counted once, from the observation
    assert kinds == {EvidenceKind.RUN_RECORD: 0, EvidenceKind.OBSERVATION: 1}


def test_run_captured_on_a_pty_streams_like_a_terminal() -> None:
    chunks: list[bytes] = []
    result = observe.run_captured(
        "if [ -t 1 ]; then echo on-a-tty; fi; printf '\\033[1mbold\\033[0m\\n'; echo err >&2",
        on_output=lambda data, _err: chunks.append(data),
        use_pty=True,
    )
    assert result.exit_code == 0
    assert result.output == "on-a-tty\nbold\nerr"  # merged, ANSI stripped
    assert b"\x1b[1m" in b"".join(chunks)  # the terminal still got the colors


def test_run_captured_timeout_and_background_children(tmp_path: Path) -> None:
    began = time.monotonic()
    result = observe.run_captured("sleep 20", timeout_s=0.5, new_session=True)
    assert result.timed_out and result.exit_code != 0
    # a daemon keeping stdout open does not hold the command's result hostage
    pidfile = tmp_path / "daemon.pid"
    result = observe.run_captured(f"sleep 20 & echo $! > {pidfile}; echo started")
    try:
        assert result.exit_code == 0 and result.output == "started"
        assert time.monotonic() - began < 10
    finally:
        os.kill(int(pidfile.read_text()), signal.SIGTERM)


def test_bash_hook_ignorespace_and_repeats(tmp_path: Path) -> None:
    pexpect = pytest.importorskip("pexpect")
    observe.start(tmp_path, "typed session", owner_pid=os.getpid())
    hook = tmp_path / "hook.sh"
    hook.write_text(observe.shell_hook("bash", tmp_path), encoding="utf-8")
    child = pexpect.spawn(
        "bash",
        ["--norc", "--noprofile", "-i"],
        env={**ENV, "PS1": "PROMPT> ", "HISTFILE": "/dev/null", "TERM": "dumb",
             "HISTCONTROL": "ignoreboth"},
        encoding="utf-8",
        timeout=20,
        cwd=str(tmp_path),
    )  # fmt: skip
    try:
        child.expect("PROMPT> ")
        for line in (f"source {hook}", "echo first", " echo hidden-from-history", "echo first"):
            child.sendline(line)
            child.expect("PROMPT> ")
        child.sendline("exit")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)

    def three() -> bool:
        state = observe.current(tmp_path)
        return state is not None and len(state.commands) >= 3

    _wait_for(three)
    state = observe.current(tmp_path)
    assert state is not None
    state.commands.sort(key=lambda c: c.started_at or datetime.max)
    assert [c.text for c in state.commands] == [
        "echo first",
        "echo hidden-from-history",
        "echo first",
    ]


def test_crash_between_writing_and_stopping_does_not_duplicate(tmp_path: Path) -> None:
    out, err = _sink()
    observe.start(tmp_path, "half stopped", owner_pid=os.getpid())
    observe.exec_command(tmp_path, ["sh", "-c", "exit 1"], stdout=out, stderr=err)  # type: ignore[arg-type]
    state = observe.current(tmp_path)
    assert state is not None
    journal_before = state.path.read_text(encoding="utf-8")
    result = observe.stop(tmp_path)
    # simulate a crash after the files were written but before the stop event landed
    lines = state.path.read_text(encoding="utf-8").splitlines(keepends=True)
    assert json.loads(lines[-1])["event"] == "stop"
    state.path.write_text("".join(lines[:-1]), encoding="utf-8")
    assert journal_before in state.path.read_text(encoding="utf-8")
    (tmp_path / ".runbook" / "runs" / "current").write_text(state.id + "\n", encoding="utf-8")
    again = observe.stop(tmp_path)
    assert (again.execution, again.failures) == (result.execution, result.failures)
    files = sorted(p.name for p in (tmp_path / ".claude").rglob("*.md"))
    assert len(files) == 2
