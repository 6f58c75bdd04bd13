"""Configuration: `.runbook.toml` > `pyproject.toml [tool.runbook]` > defaults."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from runbook.errors import InputError


@dataclass(frozen=True, slots=True)
class Config:
    max_file_bytes: int = 20 * 1024 * 1024  # larger evidence files are skipped with a reason
    # CI logs and shell histories over max_file_bytes are read line by line up to this size
    max_stream_bytes: int = 2 * 1024 * 1024 * 1024
    output_excerpt_chars: int = 2000  # bounded command output kept per command
    history_idle_gap_s: float = 30 * 60  # shell history: a gap this long starts a new execution
    owner: str = ""  # Runbook Owner when evidence names none
    out_dir: str = "runbooks"
    cache: bool = True
    exclude: tuple[str, ...] = ()  # extra glob patterns (root-relative) never read
    git: bool = True  # read revert / hotfix commits from `git log` when the root is a work tree


def load_config(root: Path) -> Config:
    """Read configuration for ``root``; unknown keys are an input error naming the file."""
    for path, table in ((root / ".runbook.toml", None), (root / "pyproject.toml", "runbook")):
        if not path.is_file():
            continue
        try:
            data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise InputError(f"{path}: cannot read configuration: {exc}") from exc
        if table is not None:
            data = data.get("tool", {}).get(table, {})
            if not data:
                continue
        return _apply(Config(), data, path)
    return Config()


def _apply(cfg: Config, data: dict[str, Any], path: Path) -> Config:
    known = {f.name: f for f in fields(Config)}
    changes: dict[str, Any] = {}
    for key, value in data.items():
        name = key.replace("-", "_")
        if name not in known:
            raise InputError(
                f"{path}: unknown setting {key!r}", hint=f"known: {', '.join(sorted(known))}"
            )
        default = getattr(cfg, name)
        if isinstance(default, tuple):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise InputError(f"{path}: {key} must be a list of strings")
            value = tuple(value)
        elif isinstance(default, bool):
            if not isinstance(value, bool):
                raise InputError(f"{path}: {key} must be true or false")
        elif isinstance(default, (int, float)):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise InputError(f"{path}: {key} must be a number")
        elif not isinstance(value, str):
            raise InputError(f"{path}: {key} must be a string")
        changes[name] = value
    return replace(cfg, **changes)
