"""Command line: parse arguments, call `api`, format, exit. No logic lives here."""

from __future__ import annotations

import os
import sys
from datetime import UTC, date, datetime

import click

from runbook import __version__
from runbook.errors import RunbookError

OPERATION_TYPES = (
    "deployment",
    "rollback",
    "incident-response",
    "incident",
    "migration",
    "scaling",
)


def today() -> date:
    """The injectable clock: RUNBOOK_NOW (ISO date) or SOURCE_DATE_EPOCH, else the real date."""
    fixed = os.environ.get("RUNBOOK_NOW")
    if fixed:
        return date.fromisoformat(fixed[:10])
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return datetime.fromtimestamp(int(epoch), tz=UTC).date()
    return datetime.now(tz=UTC).date()


def fail(exc: RunbookError) -> None:
    """Print an operator-facing error on stderr and exit with its status."""
    click.echo(f"runbook: error: {exc.message}", err=True)
    if exc.hint:
        click.echo(f"  hint: {exc.hint}", err=True)
    sys.exit(int(exc.status))


class ShorthandGroup(click.Group):
    """`runbook deployment lambda` is `runbook generate deployment lambda`, as in the original."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        if args and args[0] in OPERATION_TYPES and args[0] not in self.commands:
            generate = self.get_command(ctx, "generate")
            if generate is not None:
                return "generate", generate, args
        return super().resolve_command(ctx, args)


@click.group(cls=ShorthandGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="runbook")
def main() -> None:
    """Mine recorded runs (observations, journals, notes, CI logs, shell history) into
    evidence-backed runbooks.

    \b
    Typical use:
      runbook sources --root .                 # what evidence is there?
      runbook deployment lambda                # = runbook generate deployment lambda
      runbook incident-response "API timeout"
    """
