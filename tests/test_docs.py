"""Every command teaches: it has help text, and the README documents it (sqlite-utils' habit)."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from runbook.cli import main

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found: list[tuple[str, click.Command]] = []
    for name, command in sorted(group.commands.items()):
        if command.hidden:
            continue
        full = f"{prefix}{name}"
        found.append((full, command))
        if isinstance(command, click.Group):
            found.extend(_commands(command, prefix=f"{full} "))
    return found


COMMANDS = _commands(main)


@pytest.mark.parametrize(("name", "command"), COMMANDS, ids=[n for n, _ in COMMANDS])
def test_command_has_help(name: str, command: click.Command) -> None:
    assert command.help and len(command.help.strip()) > 20, f"`runbook {name}` has no real help"
    for param in command.params:
        if isinstance(param, click.Option) and not param.hidden:
            assert param.help, f"`runbook {name}` option {param.opts} has no help"


@pytest.mark.parametrize(("name", "command"), COMMANDS, ids=[n for n, _ in COMMANDS])
def test_command_in_readme(name: str, command: click.Command) -> None:
    assert re.search(rf"runbook {re.escape(name)}\b", README), (
        f"README never shows `runbook {name}`"
    )


def test_readme_first_commands_are_install_run_and_test() -> None:
    fences = re.findall(r"```bash\n(.*?)```", README, flags=re.S)
    assert len(fences) >= 2
    first, second = fences[0], fences[1]
    assert "pip install -e" in first and "runbook " in first and "examples/" in first
    assert "pytest" in second


def test_ci_runs_the_readme_test_command() -> None:
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text(encoding="utf-8")
    fences = re.findall(r"```bash\n(.*?)```", README, flags=re.S)
    test_command = fences[1].strip().splitlines()[-1].strip()
    assert test_command in ci
