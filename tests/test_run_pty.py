"""`runbook run` driven through a real pseudo-terminal (pexpect): gates, skip, quit, placeholder
prompts, destructive confirmation, a failed step, Ctrl-C, and shell-injection safety."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from runbook.config import Config
from runbook.model import EvidenceKind, ParsedFile
from runbook.sources import read_evidence

pexpect = pytest.importorskip("pexpect")

SRC = str(Path(__file__).resolve().parents[1] / "src")

RUNBOOK = """\
# Runbook: Deployment - demo

## Procedure

### Step 1: Greet

**Purpose**: Show the release being shipped

**Command**:
```sh
echo "shipping {tag}"
```

**Parameters**:
- `{tag}` — observed: `v1.4.2`, `v1.5.0`

**Verification**:
```sh
true
```

### Step 2: Optional extra

```sh
echo extra-step-ran
```

### Step 3: Drop the scratch table

```sh
echo "DROP TABLE scratch_events"
```

### Step 4: Final check

```sh
echo final-check-ok
```
"""

FAILING = """\
# Runbook: Deployment - failing

## Procedure

### Step 1: Check

```sh
false
```

**If Failed**:
- Check: the service is up

## Rollback Procedure

### Rollback Steps

#### Step 1: Undo

```sh
echo undone
```
"""

SLOW = """\
# Runbook: Deployment - slow

## Procedure

### Step 1: Wait

```sh
echo $$ > child.pid; exec sleep 30
```
"""

INJECT = """\
# Runbook: Deployment - inject

## Procedure

### Step 1: Echo a value

```sh
echo {tag} > tag.txt
```
"""


def spawn(tmp_path: Path, text: str, *args: str) -> pexpect.spawn:
    book = tmp_path / "rb.md"
    book.write_text(text, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": SRC, "TERM": "dumb", "NO_COLOR": "1"}
    return pexpect.spawn(
        sys.executable,
        ["-m", "runbook", "run", str(book), "--root", str(tmp_path), *args],
        env=env,
        cwd=str(tmp_path),
        encoding="utf-8",
        timeout=10,
    )


def finish(child: pexpect.spawn) -> int:
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus is not None, child.signalstatus
    return int(child.exitstatus)


def observation(tmp_path: Path) -> tuple[Path, str]:
    (path,) = sorted((tmp_path / ".claude" / "observations").glob("*/execution-*.md"))
    return path, path.read_text(encoding="utf-8")


def test_gates_placeholder_skip_and_destructive_confirmation(tmp_path: Path) -> None:
    child = spawn(tmp_path, RUNBOOK)
    child.expect(r"Value for \{tag\} \(e\.g\. v1\.4\.2, v1\.5\.0\): ")
    child.sendline("latest; rm")  # not a version: asked again
    child.expect("should be a version")
    child.sendline("v2.0.1")
    child.expect(r"Run step 1\? \[y\]es / \[s\]kip / \[q\]uit: ")
    child.sendline("y")
    child.expect("shipping v2.0.1")
    child.expect("verification passed")
    child.expect(r"Run step 2\?")
    child.sendline("s")
    child.expect("Skipped step 2")
    child.expect(r"Run step 3\?")
    child.sendline("y")
    child.expect(r"DESTRUCTIVE \(DROP\)")
    child.expect("Type 'scratch_events' to confirm: ")
    child.sendline("scratch_events")
    child.expect("DROP TABLE scratch_events")
    child.expect(r"Run step 4\?")
    child.sendline("y")
    child.expect("final-check-ok")
    child.expect("All steps passed")
    assert finish(child) == 0
    assert "extra-step-ran" not in (child.before or "")

    path, text = observation(tmp_path)
    assert "Step 2 “Optional extra”: skipped by the operator" in text
    assert "destructive command confirmed by typing 'scratch_events'" in text
    parsed = read_evidence(path, tmp_path, EvidenceKind.OBSERVATION, Config())
    assert isinstance(parsed, ParsedFile)
    assert [c.text for c in parsed.executions[0].commands] == [
        'echo "shipping v2.0.1"',
        "true",
        'echo "DROP TABLE scratch_events"',
        "echo final-check-ok",
    ]


def test_quit_exits_3(tmp_path: Path) -> None:
    child = spawn(tmp_path, RUNBOOK, "--param", "tag=v1.5.0")
    child.expect(r"Run step 1\?")
    child.sendline("q")
    child.expect("Stopped")
    assert finish(child) == 3
    _path, text = observation(tmp_path)
    assert "gate declined (quit)" in text and "outcome: aborted" in text


def test_wrong_destructive_confirmation_declines_even_with_yes(tmp_path: Path) -> None:
    child = spawn(tmp_path, RUNBOOK, "--param", "tag=v1.5.0", "--yes", "--from-step", "3")
    child.expect("Type 'scratch_events' to confirm: ")
    child.sendline("scratch")
    child.expect("did not match")
    assert finish(child) == 3


def test_failed_step_offers_retry_rollback_stop(tmp_path: Path) -> None:
    child = spawn(tmp_path, FAILING)
    child.expect(r"Run step 1\?")
    child.sendline("y")
    child.expect("exited with code 1")
    child.expect("Check: the service is up")
    child.expect(r"\[r\]etry / roll\[b\]ack / \[s\]top: ")
    child.sendline("b")
    child.expect(r"Run rollback step 1\?")
    child.sendline("y")
    child.expect("undone")
    assert finish(child) == 1
    _path, text = observation(tmp_path)
    assert "Rollback started after step 1 failed" in text


def test_ctrl_c_stops_the_child_and_records_the_interrupted_run(tmp_path: Path) -> None:
    child = spawn(tmp_path, SLOW)
    child.expect(r"Run step 1\?")
    child.sendline("y")
    pidfile = tmp_path / "child.pid"
    for _ in range(100):
        if pidfile.exists() and pidfile.read_text().strip():
            break
        child.expect([pexpect.TIMEOUT], timeout=0.1)
    pid = int(pidfile.read_text())
    child.sendintr()
    child.expect("Interrupted")
    assert finish(child) == 130
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # the sleep was stopped, not left behind
    _path, text = observation(tmp_path)
    assert "**Interrupted**" in text and "interrupted" in text.split("---")[1]


def test_param_injection_through_the_cli_creates_no_file(tmp_path: Path) -> None:
    child = spawn(tmp_path, INJECT, "--param", "tag=x; touch PWNED")
    child.expect(r"Run step 1\?")
    child.sendline("y")
    assert finish(child) == 0
    assert not (tmp_path / "PWNED").exists()
    assert (tmp_path / "tag.txt").read_text() == "x; touch PWNED\n"


def test_no_terminal_without_yes_is_refused(tmp_path: Path) -> None:
    book = tmp_path / "rb.md"
    book.write_text(INJECT, encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "runbook", "run", str(book), "--root", str(tmp_path)],
        env={**os.environ, "PYTHONPATH": SRC},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert run.returncode == 2
    assert "not a terminal" in run.stderr and "--yes" in run.stderr
    assert not (tmp_path / ".runbook").exists()
