"""Mining: many executions -> one consensus procedure.

Public API:
    mine(executions, op_type) -> Procedure      consensus procedure of the successful runs
    is_noise(template, command) -> bool          typos, navigation and inspection noise
    is_check(template) -> bool                   reads / verifies rather than changes state
    durations.summarize(values) -> Stat | None   robust median and p90
"""

from __future__ import annotations

from runbook.mine import durations
from runbook.mine.core import is_guide, mine, render_commands
from runbook.mine.kinds import check_kind, is_check, is_monitor, is_noise, role, title_for

__all__ = [
    "check_kind",
    "durations",
    "is_check",
    "is_guide",
    "is_monitor",
    "is_noise",
    "mine",
    "render_commands",
    "role",
    "title_for",
]
