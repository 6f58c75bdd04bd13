"""Error hierarchy and exit statuses shared by every front end (CLI, MCP, web)."""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    OK = 0
    FINDINGS = 1  # validation findings, or a failed step
    USAGE = 2  # usage, configuration or input error
    DECLINED = 3  # operator declined a gate
    INTERRUPTED = 130


class RunbookError(Exception):
    """Base class: a message meant for the operator, and the exit status it implies."""

    status: ExitStatus = ExitStatus.USAGE

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(RunbookError):
    """Bad arguments or options."""


class InputError(RunbookError):
    """Evidence, runbook or configuration that cannot be used."""


class NoEvidenceError(InputError):
    """Nothing to mine: the message says what to record first."""


class RefusalError(InputError):
    """The request is one of the original's anti-patterns (single run, development task...)."""
