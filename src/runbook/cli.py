"""Command line: parse arguments, call `api`, format, exit. No logic lives here."""

from __future__ import annotations

import os
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from runbook import __version__
from runbook.errors import RunbookError
from runbook.model import EvidenceKind, SourcesReport

if TYPE_CHECKING:
    from rich.console import JustifyMethod

    from runbook import api as api_types

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
        # A free-text first word (`runbook "Add new API endpoint"`) also goes to generate, which
        # refuses development tasks and names the five types for anything else.
        if args and " " in args[0] and args[0] not in self.commands:
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


# ------------------------------------------------------------------ generate, reproduce


@main.command("generate")
@click.argument("op_type", metavar="TYPE")
@click.argument("scope", required=False)
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Repository holding the evidence.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output directory (default: runbooks/ under --root, or `out_dir` in config).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["md", "json"]),
    default="md",
    show_default=True,
    help="md: the runbook in the original template; json: the same content as schema_version 1 data.",
)
@click.option(
    "--stdout", "to_stdout", is_flag=True, help="Print the runbook instead of writing it."
)
@click.option("--force", is_flag=True, help="Overwrite a runbook a person has edited.")
@click.option("--allow-single-run", is_flag=True, help="Generate even when only one run matches.")
@click.option(
    "--check",
    is_flag=True,
    help="Write nothing; exit 1 when regenerating would change the existing runbook.",
)
@click.option(
    "--diff",
    "show_diff",
    is_flag=True,
    help="Write nothing; print what would change (unified diff).",
)
def generate_cmd(
    op_type: str,
    scope: str | None,
    root: Path,
    out_dir: Path | None,
    fmt: str,
    to_stdout: bool,
    force: bool,
    allow_single_run: bool,
    check: bool = False,
    show_diff: bool = False,
) -> None:
    """Mine the recorded runs of TYPE [SCOPE] into a runbook.

    TYPE is deployment, rollback, incident-response (or incident), migration or scaling;
    SCOPE is a word (lambda, frontend, database) or free text ("API timeout").
    """
    from runbook import api
    from runbook.config import load_config

    try:
        config = load_config(root) if root.is_dir() else None
        target_dir = api.output_dir(root, config, out_dir)
        with _ReadProgress() as progress:
            result = api.generate(
                root,
                op_type,
                scope,
                today=today(),
                config=config,
                allow_single_run=allow_single_run,
                root_link=api.root_link(root, target_dir),
                progress=progress,
            )
        text = result.markdown if fmt == "md" else result.json
        if check or show_diff:
            found = api.check_runbook(result, target_dir, fmt, root=root)
            _check_generated(found, show_diff=show_diff, check=check)
            return
        if to_stdout:
            click.echo(text, nl=False)
            click.echo(api.summary_line(result, "stdout"), err=True)
            return
        outcome = api.write_runbook(result, target_dir, fmt, force, root=root)
    except RunbookError as exc:
        fail(exc)
        return
    carried = outcome.kept is not None and outcome.status in ("merged", "written")
    source = f" in {_display_path(outcome.kept)}" if carried and outcome.kept else ""
    if outcome.status == "merged" and outcome.kept_sections:
        click.echo(
            f"runbook: kept your edits{source} to {_sections_list(outcome.kept_sections)}",
            err=True,
        )
    if outcome.conflicts:
        click.echo(
            f"runbook: both you{source} and the new evidence changed "
            f"{_sections_list(outcome.conflicts)}; merge those sections by hand",
            err=True,
        )
    shown = _display_path(outcome.path)
    if outcome.status == "beside" and outcome.kept is not None:
        click.echo(
            f"runbook: {_display_path(outcome.kept)} was edited by hand; left it alone and wrote "
            f"{shown} beside it (use --force to overwrite)",
            err=True,
        )
    elif outcome.status == "unchanged":
        shown += " (unchanged)"
    click.echo(api.summary_line(result, shown), err=True)


def _sections_list(titles: tuple[str, ...]) -> str:
    return ", ".join(f"“{t}”" for t in titles)


def _check_generated(found: api_types.RegenerationCheck, *, show_diff: bool, check: bool) -> None:
    """Report `generate --check/--diff` like black: diff on stdout, verdict on stderr; with
    --check, exit 1 when the runbook would change."""
    if show_diff and found.diff:
        click.echo(found.diff, nl=False)
    if found.existing is None:
        click.echo(f"runbook: would write {_display_path(found.target)} (no runbook yet)", err=True)
    elif found.changed:
        what = f"would change {_display_path(found.existing)}"
        if found.conflicts:
            what += f" (conflicting edits in {_sections_list(found.conflicts)})"
        click.echo(f"runbook: {what}", err=True)
    else:
        click.echo(f"runbook: {_display_path(found.existing)} is up to date", err=True)
    sys.exit(1 if check and found.changed else 0)


class _Bar:
    """rich's progress bar, imported only when one is shown."""

    def __init__(self, total: int) -> None:
        from rich.console import Console
        from rich.progress import Progress

        self.progress = Progress(console=Console(stderr=True), transient=True)
        self.progress.start()
        self.task = self.progress.add_task("reading evidence", total=total)


class _ReadProgress:
    """A transient progress bar on stderr while evidence is read (large corpora, terminals only)."""

    MIN_FILES = 200  # below this, reading is quick enough that a bar is only noise

    def __init__(self) -> None:
        self._bar: _Bar | None = None

    def __enter__(self) -> _ReadProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.progress.stop()

    def __call__(self, done: int, total: int) -> None:
        if total < self.MIN_FILES or not sys.stderr.isatty():
            return
        if self._bar is None:
            self._bar = _Bar(total)
        self._bar.progress.update(self._bar.task, completed=done)


def _display_path(path: Path) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)
    return str(path.resolve()) if rel.startswith("..") else rel


@main.command("reproduce")
@click.argument("observation", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Repository root (default: the directory holding .claude/, else the current one).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output directory (default: .claude/reproductions/ under the root).",
)
@click.option("--stdout", "to_stdout", is_flag=True, help="Print the guide instead of writing it.")
def reproduce_cmd(
    observation: Path, root: Path | None, out_dir: Path | None, to_stdout: bool
) -> None:
    """Turn ONE observation file into a reproduction guide (the single-run counterpart)."""
    from runbook.config import load_config
    from runbook.reproduce import reproduce

    base = root if root is not None else _root_of(observation)
    try:
        result = reproduce(observation, base, today=today(), config=load_config(base))
    except RunbookError as exc:
        fail(exc)
        return
    if to_stdout:
        click.echo(result.markdown, nl=False)
        return
    target = (out_dir / Path(result.relpath).name) if out_dir is not None else base / result.relpath
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(result.markdown, encoding="utf-8")
    click.echo(f"Reproduction guide for {result.source} → {_display_path(target)}", err=True)


def _root_of(observation: Path) -> Path:
    """The directory above `.claude/` for an observation path, else the current directory."""
    resolved = observation.resolve()
    for parent in resolved.parents:
        if parent.name == ".claude":
            return parent.parent
    return Path(".")


# ------------------------------------------------------------------------- sources


@main.command("sources")
@click.option(
    "--root",
    type=click.Path(path_type=Path),
    default=Path("."),
    show_default=True,
    help="Repository holding the evidence.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of a table.")
@click.option(
    "--kind",
    "kinds",
    metavar="KIND[,KIND]",
    default="",
    help="Only evidence of these kinds (observation, journal, notes, ci-workflow, ci-log, "
    "shell-history, cast, migration-file, alarm, run-record, postmortem, git-history).",
)
def sources_cmd(root: Path, as_json: bool, kinds: str) -> None:
    """List the evidence found under --root: kind, classification, commands, failures,
    and every skipped file with its reason.

    \b
    Evidence is read from .claude/observations/ (execution-, failure-, behavior-*.md),
    .claude/journals/, docs/ and other ops notes, .github/workflows/, CI logs, shell
    history, asciinema casts, migrations/ and alarm definitions. Parsed results are
    cached in .runbook/cache.sqlite, so a second run over unchanged files is fast.

    \b
    Examples:
      runbook sources                              # the current repository
      runbook sources --root examples/acme-platform
      runbook sources --json | jq '.totals'        # machine-readable
      runbook sources --kind ci-log,shell-history  # only machine records
    """
    from runbook import api

    try:
        wanted = _evidence_kinds(kinds)
        with _SourcesProgress() as progress:
            report = api.sources(root, progress=progress, kinds=wanted)
    except RunbookError as exc:
        fail(exc)
        return
    if as_json:
        click.echo(api.sources_json(report), nl=False)
    else:
        _print_sources(report)
    _sources_diagnostics(report)


def _evidence_kinds(text: str) -> tuple[EvidenceKind, ...]:
    from runbook.errors import UsageError

    known = {k.value: k for k in EvidenceKind}
    out: list[EvidenceKind] = []
    for word in (w.strip().lower() for w in text.split(",")):
        if not word:
            continue
        if word not in known:
            raise UsageError(
                f"unknown evidence kind {word!r}", hint=f"--kind takes: {', '.join(sorted(known))}"
            )
        out.append(known[word])
    return tuple(sorted(set(out)))


class _SourcesProgress(_ReadProgress):
    """The same bar for `runbook sources`, shown from 201 files (as it always was)."""

    MIN_FILES = 201


def _print_sources(report: SourcesReport) -> None:
    from rich.console import Console
    from rich.table import Table

    # Piped output is read by people and grep alike: never fold a path because of a default 80.
    width = None if sys.stdout.isatty() else max(240, int(os.environ.get("COLUMNS", "0") or 0))
    console = Console(width=width, highlight=False, soft_wrap=False)
    table = Table(title=f"Evidence under {report.root}", title_justify="left", box=None)
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("file", "left"),
        ("kind", "left"),
        ("type", "left"),
        ("scopes", "left"),
        ("env", "left"),
        ("outcome", "left"),
        ("cmds", "right"),
        ("errors", "right"),
    )
    for name, justify in columns:
        # One line per record: paths stay whole, long scope lists end in an ellipsis.
        one_line = name in ("file", "scopes")
        table.add_column(
            name,
            justify=justify,
            overflow="ellipsis" if name == "scopes" else "fold",
            no_wrap=one_line,
            min_width=24 if name == "scopes" else None,
            max_width=44 if name == "scopes" else None,
        )
    for f in report.files:
        if not f.entries:
            table.add_row(f.path, f.kind.value, "-", "", "", "", "0", "0")
        for i, e in enumerate(f.entries):
            label = f.path if i == 0 else f"  ↳ {e.record}: {e.title or e.id}"
            table.add_row(
                label,
                f.kind.value if i == 0 else "",
                e.operation_type.value,
                ", ".join(e.scopes[:5]) + (" …" if len(e.scopes) > 5 else ""),
                e.environment or "",
                e.outcome.value,
                str(e.commands),
                str(e.errors),
            )
    console.print(table)
    if report.skipped:
        skipped = Table(title="Skipped", title_justify="left", box=None)
        skipped.add_column("file", overflow="fold")
        skipped.add_column("reason", overflow="fold")
        for s in report.skipped:
            skipped.add_row(s.path, s.reason)
        console.print(skipped)
    for a in report.alert_runbooks:
        console.print(f"alert {a.alarm} ({a.source}) links runbook {a.runbook}")
    t = report.totals
    types = ", ".join(f"{c.count} {c.name}" for c in t.by_type) or "none"
    console.print(
        f"{t.files} files: {t.executions} executions, {t.journals} journals, {t.alarms} alarms, "
        f"{t.migrations} migrations; {t.commands} commands, {t.failures} failed runs, "
        f"{t.errors} errors; {t.skipped} skipped. By type: {types}."
    )
    if t.duplicates:
        console.print(
            f"{t.duplicates} execution(s) recorded in another format too, counted once "
            "(`--json` lists the pairs)."
        )


def _sources_diagnostics(report: SourcesReport) -> None:
    for d in report.diagnostics:
        click.echo(f"runbook: {d.level}: {d.source}: {d.message}", err=True)
    n = report.totals.diagnostics
    if report.totals.redactions:
        click.echo(
            f"runbook: {report.totals.redactions} secret(s) redacted while reading", err=True
        )
    if n:
        click.echo(f"runbook: {n} diagnostic(s); `runbook sources --json` lists them", err=True)


# ------------------------------------------------------------------------ validate


@main.command("validate")
@click.argument("runbooks", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--root",
    type=click.Path(path_type=Path),
    default=None,
    help="Evidence root: also check drift against newer runs and compute success metrics.",
)
@click.option(
    "--since",
    default=None,
    metavar="DATE",
    help="Runs on or after DATE (YYYY-MM-DD) count as newer (default: after Last Validated).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "github"]),
    default="text",
    show_default=True,
    help="github prints workflow annotations (::error file=…,line=…::…).",
)
@click.option("--strict", is_flag=True, help="Warnings fail too (exit 1).")
def validate_cmd(
    runbooks: tuple[Path, ...], root: Path | None, since: str | None, fmt: str, strict: bool
) -> None:
    """Lint RUNBOOK files (or folders of them); with --root, check them against newer runs.

    \b
    Lint (RB1xx): template sections, 5-10 steps, commands, ambiguous wording, unverified
    changes, unguarded destructive commands, placeholders, secrets, links, review dates.
    Drift (RB2xx, needs --root): commands newer runs do that the runbook lacks, steps they no
    longer do, durations outside ±20 %, uncovered failures, a never-exercised rollback.
    Metrics: followed-and-succeeded, duration accuracy, troubleshooting coverage (≥ 80 %).

    \b
    Exit status: 0 clean, 1 error findings (warnings too with --strict), 2 usage/input error.
    Silence a rule in one file with <!-- runbook-validate: disable=RB104,RB112 -->.

    \b
    Examples:
      runbook validate runbooks/
      runbook validate runbooks/*.md --root . --format github
      runbook validate deploy.md --root . --since 2025-12-01 --format json
    """
    from runbook import api
    from runbook.errors import UsageError
    from runbook.validate import format_github, format_text, report_json, summary

    try:
        since_date = None
        if since is not None:
            try:
                since_date = date.fromisoformat(since.strip())
            except ValueError:
                raise UsageError(
                    f"--since {since!r} is not a date", hint="write it as YYYY-MM-DD"
                ) from None
        report = api.validate(
            list(runbooks), root=root, since=since_date, today=today(), strict=strict
        )
    except RunbookError as exc:
        fail(exc)
        return
    if fmt == "json":
        click.echo(report_json(report), nl=False)
    elif fmt == "github":
        click.echo(format_github(report), nl=False)
    else:
        click.echo(format_text(report), nl=False)
    click.echo(f"runbook: {summary(report)}", err=True)
    sys.exit(report.exit_status)


# ------------------------------------------------------------------------- observe

_ROOT_OPTION = click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Repository the recording belongs to (journals in .runbook/runs/).",
)


@main.group("observe")
def observe_group() -> None:
    """Record a run as evidence: commands, output, exit codes, timings.

    \b
    runbook observe start "deploy lambda" --type deployment --env prod
    runbook observe exec -- make deploy        # run + record one command
    eval "$(runbook observe shell-hook bash)"  # or record every typed command (no output)
    runbook observe shell                      # or a recorded child shell (with output)
    runbook observe stop                       # -> .claude/observations/DATE/execution-…md

    \b
    Every event is redacted and fsynced to .runbook/runs/<id>.jsonl before the command's
    result is reported; `runbook observe recover` finishes a recording whose process died.
    """


@observe_group.command("start")
@click.argument("title")
@click.option("--type", "op_type", default="", help="deployment, rollback, incident-response, …")
@click.option("--scope", default="", help="What it is about: lambda, database, “API timeout”.")
@click.option("--env", default="", help="Environment: prod, staging, dev.")
@_ROOT_OPTION
def observe_start_cmd(title: str, op_type: str, scope: str, env: str, root: Path) -> None:
    """Open a recording (one at a time per root)."""
    from runbook import api

    try:
        # the recording belongs to the shell that started it: its exit orphans the journal
        rid = api.observe_start(
            root, title, op_type=op_type, scope=scope, env=env, owner_pid=os.getppid()
        )
    except RunbookError as exc:
        fail(exc)
        return
    click.echo(rid)
    click.echo(
        f"runbook: recording “{title}” ({rid}); run commands with `runbook observe exec -- CMD`, "
        "finish with `runbook observe stop`",
        err=True,
    )


@observe_group.command(
    "exec", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False}
)
@_ROOT_OPTION
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def observe_exec_cmd(root: Path, command: tuple[str, ...]) -> None:
    """Run one command inside the open recording; exits with the command's own exit code.

    Output streams to the terminal as usual and a bounded, redacted excerpt is recorded.
    """
    from runbook import api

    try:
        code = api.observe_exec(root, list(command))
    except RunbookError as exc:
        fail(exc)
        return
    sys.exit(code)


@observe_group.command("_event", hidden=True)
@_ROOT_OPTION
@click.option("--exit", "exit_code", type=int, default=0)
@click.option("--start", "started", type=float, default=None)
@click.option("--end", "ended", type=float, default=None)
@click.option("--cwd", default="")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
def observe_event_cmd(
    root: Path,
    exit_code: int,
    started: float | None,
    ended: float | None,
    cwd: str,
    command: tuple[str, ...],
) -> None:
    """Journal one command reported by the shell hook (internal)."""
    import contextlib

    from runbook import api

    with contextlib.suppress(RunbookError):  # a hook must never break the operator's shell
        api.observe_event(
            root, " ".join(command), exit_code=exit_code, started=started, ended=ended, cwd=cwd
        )


@observe_group.command("shell-hook")
@click.argument("shell", type=click.Choice(["bash", "zsh"]))
@_ROOT_OPTION
def observe_shell_hook_cmd(shell: str, root: Path) -> None:
    """Print a hook that records every command typed in this shell while a recording is open.

    \b
    eval "$(runbook observe shell-hook bash)"   # bash: PROMPT_COMMAND + DEBUG trap
    eval "$(runbook observe shell-hook zsh)"    # zsh: add-zsh-hook preexec/precmd

    The hook records command text, exit code, timing and working directory. It cannot see
    output: use `runbook observe exec -- CMD` or `runbook observe shell` to capture output too.
    """
    from runbook import api

    try:
        click.echo(api.observe_shell_hook(shell, root), nl=False)
    except RunbookError as exc:
        fail(exc)


@observe_group.command("shell")
@click.option("--shell", "shell", default=None, help="bash or zsh (default: $SHELL).")
@_ROOT_OPTION
def observe_shell_cmd(shell: str | None, root: Path) -> None:
    """Start a child shell on a pseudo-terminal that records each command with its output."""
    from runbook import api

    try:
        click.echo("runbook: recording shell; `exit` to leave it (then `observe stop`)", err=True)
        code = api.observe_shell(root, shell)
    except RunbookError as exc:
        fail(exc)
        return
    sys.exit(code)


@observe_group.command("stop")
@click.option("--outcome", type=click.Choice(["success", "failure"]), default=None,
              help="Default: from the exit codes (failure when the last command failed).")  # fmt: skip
@_ROOT_OPTION
def observe_stop_cmd(outcome: str | None, root: Path) -> None:
    """Close the recording and write its observation (and a failure-… one per failed command)."""
    from runbook import api

    try:
        result = api.observe_stop(root, outcome)
    except RunbookError as exc:
        fail(exc)
        return
    for rel in (result.execution, *result.failures):
        click.echo(_display_path(root / rel))
    click.echo(
        f"runbook: {result.commands} command(s) recorded, outcome {result.outcome}", err=True
    )


@observe_group.command("status")
@_ROOT_OPTION
def observe_status_cmd(root: Path) -> None:
    """Show the open recording and any orphaned journals."""
    from runbook import api

    open_now, orphans = api.observe_status(root)
    if open_now is None:
        click.echo("no recording open")
    else:
        started = open_now.started_at.strftime("%Y-%m-%d %H:%M:%S") if open_now.started_at else "?"
        click.echo(
            f"open: {open_now.id} “{open_now.title}” since {started} UTC — "
            f"{open_now.commands} command(s), {open_now.failed} failed"
            + (f", {open_now.in_flight} running" if open_now.in_flight else "")
            + (" (its shell is gone: `observe recover`)" if open_now.state == "orphaned" else "")
        )
    for o in orphans:
        click.echo(f"orphaned: {o.id} “{o.title}” — {o.commands} command(s); `observe recover`")


@observe_group.command("recover")
@_ROOT_OPTION
def observe_recover_cmd(root: Path) -> None:
    """Turn orphaned journals (process killed, never stopped) into observations."""
    from runbook import api

    results = api.observe_recover(root)
    for r in results:
        for rel in (r.execution, *r.failures):
            click.echo(_display_path(root / rel))
    click.echo(f"runbook: recovered {len(results)} recording(s)", err=True)


# ------------------------------------------------------------------------- run


@main.command("run")
@click.argument("runbook_path", metavar="RUNBOOK", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
              help="A placeholder value (repeatable): --param tag=v1.4.2")  # fmt: skip
@click.option("--dry-run", is_flag=True, help="Print what would run (values substituted).")
@click.option("--from-step", type=int, default=1, show_default=True, help="Resume at step N.")
@click.option("--yes", is_flag=True,
              help="Answer the ordinary gates (destructive steps still need the target typed).")  # fmt: skip
@click.option("--timeout", "timeout_s", type=float, default=None,
              help="Seconds per command (default: the step's p90 × 3, at least 60 s).")  # fmt: skip
@_ROOT_OPTION
def run_cmd(
    runbook_path: Path,
    params: tuple[str, ...],
    dry_run: bool,
    from_step: int,
    yes: bool,
    timeout_s: float | None,
    root: Path,
) -> None:
    """Execute RUNBOOK step by step: [y]es / [s]kip / [q]uit before each step, then verify.

    \b
    Placeholder values come from --param or a prompt, are checked against the runbook's
    examples and shell-quoted, so a value never adds shell syntax. A failed step shows its
    If Failed guidance and matching troubleshooting, and offers retry, rollback or stop.
    Destructive commands (DROP, TRUNCATE, rm -rf, terraform destroy, kubectl delete, --delete,
    scaling to 0) need the target's name typed, even with --yes. The run is recorded as an
    observation under --root.

    \b
    Exit status: 0 all steps passed · 1 a step or verification failed · 2 usage error ·
    3 declined or quit · 130 interrupted (Ctrl-C).
    """
    from runbook import api
    from runbook.execute import RunOptions, parse_params, terminal_io

    try:
        options = RunOptions(
            params=parse_params(params),
            dry_run=dry_run,
            from_step=from_step,
            yes=yes,
            timeout_s=timeout_s,
        )
        outcome = api.run_runbook(runbook_path, root=root, options=options, io=terminal_io())
    except KeyboardInterrupt:
        click.echo("\nrunbook: interrupted before any step ran", err=True)
        sys.exit(130)
    except RunbookError as exc:
        fail(exc)
        return
    if outcome.result is None:
        click.echo(outcome.dry_run, nl=False)
        return
    if outcome.recording is not None:
        click.echo(
            f"runbook: run recorded in {_display_path(root / outcome.recording.execution)}",
            err=True,
        )
    elif outcome.recorded_into:
        click.echo(f"runbook: run added to the open recording {outcome.recorded_into}", err=True)
    sys.exit(int(outcome.result.status))
