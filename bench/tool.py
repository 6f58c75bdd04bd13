"""Run `runbook generate` on a corpus and capture its JSON, wall time and peak memory.

The tool runs as a subprocess (``python -m runbook generate TYPE SCOPE --root DIR --format
json --stdout``): a crash or a hang in the tool cannot take the bench down, and
``os.wait4`` gives the peak RSS of that one child (RUSAGE_CHILDREN would be the max over all
children so far).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(slots=True)
class ToolResult:
    """What one tool invocation produced."""

    exit_code: int
    stdout: str
    stderr: str
    seconds: float
    max_rss_mb: float
    output: dict[str, Any] | None  # the parsed JSON, when stdout was a JSON object
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.output is not None


def measure(
    args: list[str],
    env: dict[str, str] | None = None,
    timeout: float = 900.0,
    cwd: Path | None = None,
) -> ToolResult:
    """Run `args`, returning its output with wall seconds and the child's peak RSS."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(args, stdout=out, stderr=err, env=env, cwd=cwd)
        timed_out = threading.Event()

        def kill() -> None:
            timed_out.set()
            proc.kill()

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
    # ru_maxrss is in KiB on Linux.
    return ToolResult(
        proc.returncode, stdout, stderr, seconds, usage.ru_maxrss / 1024, None, timed_out.is_set()
    )


def generate(
    operation_type: str,
    scope: str,
    root: Path,
    *,
    today: str = "2026-01-15",
    timeout: float = 900.0,
    pythonpath: Path | None = None,
) -> ToolResult:
    """`runbook generate` on `root` as JSON on stdout; parsed into `ToolResult.output`."""
    args = [sys.executable, "-m", "runbook", "generate", operation_type]
    if scope:
        args.append(scope)
    args += ["--root", str(root), "--format", "json", "--stdout"]
    env = dict(os.environ)
    env["RUNBOOK_NOW"] = today  # the tool's injectable clock: outputs stay comparable
    env.setdefault("PYTHONHASHSEED", "0")
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)  # the frozen snapshot shadows the editable install
    res = measure(args, env=env, timeout=timeout)
    try:
        parsed = json.loads(res.stdout) if res.stdout.strip() else None
    except json.JSONDecodeError:
        parsed = None
    res.output = parsed if isinstance(parsed, dict) else None
    return res


def duplicates(
    root: Path, *, timeout: float = 900.0, pythonpath: Path | None = None
) -> list[tuple[str, str]] | None:
    """(dropped, kept) execution ids the tool merged as one run (``runbook sources --json``)."""
    args = [sys.executable, "-m", "runbook", "sources", "--root", str(root), "--json"]
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    res = measure(args, env=env, timeout=timeout)
    try:
        data = json.loads(res.stdout)
    except json.JSONDecodeError:
        return None
    return [(d["dropped"], d["kept"]) for d in data.get("duplicates", [])]


def snapshot(out: Path) -> tuple[Path | None, str]:
    """Freeze the tool's committed code (``git archive HEAD src/runbook``) under `out`.

    The bench then runs one fixed version of the tool: the working tree may change while a
    long scale run is going, and the tool's cache key includes its code hash, so a moving
    tree would also turn every "warm" run cold. Returns (PYTHONPATH entry, label); (None,
    "working tree") when git is unavailable.
    """
    repo = Path(__file__).resolve().parent.parent
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
        ).stdout.strip()
        dest = out / "snapshot" / sha[:12]
        if not (dest / "src" / "runbook" / "__init__.py").exists():
            data = subprocess.run(
                ["git", "archive", "--format=tar", "HEAD", "src/runbook"],
                cwd=repo,
                capture_output=True,
                check=True,
            ).stdout
            dest.mkdir(parents=True, exist_ok=True)
            with tarfile.open(fileobj=io.BytesIO(data)) as tar:
                tar.extractall(dest, filter="data")
        return dest / "src", f"commit {sha[:12]}"
    except (OSError, subprocess.CalledProcessError, tarfile.TarError):
        return None, "working tree"
