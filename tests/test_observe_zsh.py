"""The zsh hook records commands typed in a real interactive zsh (skipped where zsh is absent)."""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import pexpect
import pytest

from runbook.config import Config
from runbook.model import EvidenceKind, ParsedFile
from runbook.sources import read_evidence

pytestmark = pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")


def _runbook(*args: str, root: Path) -> str:
    child = pexpect.spawn(
        sys.executable, ["-m", "runbook", *args, "--root", str(root)], encoding="utf-8", timeout=30
    )
    out = child.read()
    child.close()
    return str(out)


def test_zsh_hook_records_typed_commands(tmp_path: Path) -> None:
    root = tmp_path
    _runbook("observe", "start", "zsh hook", "--type", "deployment", root=root)
    bindir = Path(sys.executable).parent
    (root / ".zshrc").write_text(
        'PS1="ZP> "\n'
        f'export PATH="{bindir}:$PATH"\n'
        f'eval "$({sys.executable} -m runbook observe shell-hook zsh --root {root})"\n',
        encoding="utf-8",
    )
    env = dict(os.environ, ZDOTDIR=str(root), PS1="ZP> ")
    shell = pexpect.spawn("zsh", ["-i"], env=env, encoding="utf-8", timeout=30, cwd=str(root))
    shell.expect("ZP> ")
    for command in ("echo hello-zsh", "false"):
        shell.sendline(command)
        shell.expect("ZP> ")
    shell.sendline("exit")
    shell.expect(pexpect.EOF)
    time.sleep(1.0)  # the hook appends its events in the background so the prompt never waits
    _runbook("observe", "stop", root=root)
    [observation] = sorted(root.glob(".claude/observations/*/execution-*.md"))
    parsed = read_evidence(observation, root, EvidenceKind.OBSERVATION, Config())
    assert isinstance(parsed, ParsedFile)
    commands = [(c.text, c.exit_code) for c in parsed.executions[0].commands]
    assert ("echo hello-zsh", 0) in commands
    assert ("false", 1) in commands
