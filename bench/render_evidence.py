"""Render simulated runs as the evidence files the tool reads (DESIGN §4), in several styles.

Sample of what comes out (``toolcalls`` style, one tool-call block):
    ### Bash - 2025-06-03T14:30:52Z
    **Input**:
    ```bash
    docker build -t report-worker:2.4.3 --build-arg GIT_SHA=6b39012 .
    ```

Styles follow the simulated author: ``toolcalls`` (`/observe` tool-call blocks), ``commands``
(``**Commands Executed**:`` list plus a timeline), ``rawlog`` (``## Raw Log`` transcript with
``$ `` prompts) and ``session`` (generic notes under ``docs/ops/sessions/``). Failure
observations and error journals are written for failures. Heading spellings vary per author.
Everything is plain string building: fast enough for 100,000-file corpora.
"""

from __future__ import annotations

import calendar
import shutil
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from bench.simulate import Event, Run, Simulation, fill
from bench.spec import Scenario

FENCE = "```"


def fmt_duration(seconds: float, variant: int = 0) -> str:
    """A duration the way people write it; `variant` picks the spelling."""
    s = max(0.0, seconds)
    if variant == 1:
        return f"{s:.1f}s"
    if variant == 2:
        return f"{round(s)} seconds" if s >= 2 else f"{s:.1f} seconds"
    if variant == 3:
        whole = round(s)
        return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
    whole = round(s)
    if whole < 60:
        return f"{s:.1f}s" if s < 10 else f"{whole}s"
    h, rem = divmod(whole, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}h {m}m {sec}s" if h else f"{m}m {sec}s"


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _front_matter(fields: list[tuple[str, str]]) -> str:
    return "---\n" + "".join(f"{k}: {v}\n" for k, v in fields) + "---\n"


def _execution_front_matter(sc: Scenario, run: Run, *, with_environment: bool = False) -> str:
    """The front matter every execution observation style shares."""
    fields = [
        ("mode", "execution"),
        ("date", _q(f"{run.started:%Y-%m-%d}")),
        ("time", _q(f"{run.started:%H:%M:%S}")),
        ("context", _q(sc.context)),
        ("tags", _tags(sc.tags)),
    ]
    if with_environment:
        fields.append(("environment", sc.environment))
    return _front_matter(fields)


def _q(text: str) -> str:
    """A YAML double-quoted scalar (dates, times and free text stay strings)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _tags(tags: Iterable[str]) -> str:
    return "[" + ", ".join(tags) + "]"


def _outcome_word(e: Event) -> str:
    if e.exit_code == 0:
        return "success"
    if e.exit_code == 127:
        return "command not found"
    if e.exit_code == 130:
        return "interrupted"
    return "failed: " + e.output.splitlines()[0] if e.output else "failed"


def _obs_path(kind: str, t: datetime, slug: str) -> str:
    return f".claude/observations/{t:%Y-%m-%d}/{kind}-{t:%H%M%S}-{slug}.md"


# ------------------------------------------------------------------- execution styles


def _toolcalls(sc: Scenario, run: Run) -> str:
    alt = run.author == "erin"
    lines = [
        _execution_front_matter(sc, run, with_environment=True),
        f"\n# Execution: {sc.title}\n",
        "\n## Context\n",
        f"\n{sc.context}. Operator: {run.author}.\n",
        "\n## Tool Calls\n" if not alt else "\n## Tool calls\n",
    ]
    for e in run.events:
        stamp = _iso(e.start) if not alt else f"{e.start:%Y-%m-%d %H:%M:%S}"
        lines.append(f"\n### Bash - {stamp}\n\n")
        lines.append("**Input**:\n" if not alt else "**Input:**\n")
        lines.append(f"{FENCE}bash\n{e.text}\n{FENCE}\n")
        if e.output:
            lines.append("\n**Output**:\n" if not alt else "\n**Output:**\n")
            lines.append(f"{FENCE}\n{e.output}\n{FENCE}\n")
        if e.exit_code != 0 or alt:
            lines.append(f"\n**Exit Code**: {e.exit_code}\n")
        lines.append(f"\n**Duration**: {fmt_duration(e.duration, 1 if alt else 0)}\n")
    lines.append("\n## Resource Consumption\n\n")
    lines.append(f"**Time**: {fmt_duration(run.total_seconds)}\n")
    lines.append(f"**Tool calls**: {len(run.events)}\n")
    return "".join(lines)


def _commands(sc: Scenario, run: Run) -> str:
    lines = [
        _execution_front_matter(sc, run),
        f"\n# {sc.title}\n",
        "\n## Summary\n",
        f"\n{sc.context} ({sc.environment}).\n",
        "\n## Side Effects\n\n**Commands Executed**:\n",
    ]
    for e in run.events:
        lines.append(f"- `{e.text}` - {e.exit_code} - {_outcome_word(e)}\n")
    lines.append("\n## Timeline\n\n")
    for e in run.events:
        lines.append(f"- {e.start:%H:%M:%S} — `{e.text}`\n")
    lines.append(f"- {run.finished:%H:%M:%S} — done\n")
    lines.append("\n## Resource Consumption\n\n")
    lines.append(f"**Time**: {fmt_duration(run.total_seconds, 2)}\n")
    return "".join(lines)


def _rawlog(sc: Scenario, run: Run) -> str:
    alt = run.author == "frank"
    lines = [
        _execution_front_matter(sc, run, with_environment=True),
        f"\n# Execution: {sc.title}\n",
        "\n## Raw Log\n\n" if not alt else "\n## Raw log\n\n",
        f"{FENCE}\n" if not alt else f"{FENCE}text\n",
    ]
    for e in run.events:
        stamp = f"[{e.start:%Y-%m-%d %H:%M:%S}]" if not alt else f"{e.start:%H:%M:%S}"
        lines.append(f"{stamp} $ {e.text}\n")
        if e.output:
            lines.append(e.output + "\n")
        if e.exit_code != 0:
            lines.append(f"(exit {e.exit_code})\n")
    end = f"[{run.finished:%Y-%m-%d %H:%M:%S}]" if not alt else f"{run.finished:%H:%M:%S}"
    lines.append(f"{end} # session end\n{FENCE}\n")
    lines.append("\n## Resource Consumption\n\n")
    lines.append(f"**Time**: {fmt_duration(run.total_seconds, 3 if alt else 0)}\n")
    return "".join(lines)


def _prompt(sc: Scenario, run: Run) -> str:
    # A terminal copy with a PS1 prompt carrying the time: "[14:30:52] ops@bastion:~/infra (main)$ cmd".
    lines = [
        _execution_front_matter(sc, run),
        f"\n# Execution: {sc.title}\n",
        "\n## Raw Log\n\n",
        f"{FENCE}console\n",
    ]
    for e in run.events:
        lines.append(f"[{e.start:%H:%M:%S}] {run.author}@bastion:~/{sc.slug} (main)$ {e.text}\n")
        if e.output:
            lines.append(e.output + "\n")
    lines.append(f"[{run.finished:%H:%M:%S}] {run.author}@bastion:~/{sc.slug} (main)$\n{FENCE}\n")
    lines.append("\n## Resource Consumption\n\n")
    lines.append(f"**Time**: {fmt_duration(run.total_seconds)}\n")
    return "".join(lines)


def _session(sc: Scenario, run: Run) -> str:
    lines = [
        f"# Session notes: {sc.title} ({run.started:%Y-%m-%d})\n",
        f"\nOperator: {run.author} · Environment: {sc.environment} · {sc.context}\n",
        "\n## What I ran\n\n",
        f"{FENCE}console\n",
    ]
    for e in run.events:
        lines.append(f"$ {e.text}\n")
        if e.output:
            lines.append(e.output + "\n")
    lines.append(f"{FENCE}\n")
    lines.append("\n## Timeline\n\n")
    for e in run.events:
        note = "" if e.exit_code == 0 else f" (exit {e.exit_code})"
        lines.append(f"- {e.start:%H:%M:%S} {e.text}{note}\n")
    lines.append(f"- {run.finished:%H:%M:%S} finished\n")
    errors = [e for e in run.events if e.kind == "fail"]
    if errors:
        lines.append("\n## Problems\n\n")
        for e in errors:
            lines.append(f"Error: {e.output.splitlines()[0]}\n")
    lines.append(f"\nTotal: {fmt_duration(run.total_seconds)}\n")
    return "".join(lines)


_STYLES = {
    "toolcalls": _toolcalls,
    "commands": _commands,
    "rawlog": _rawlog,
    "session": _session,
    "prompt": _prompt,
}


# -------------------------------------------------------------- failures and journals


def _failure_observation(sc: Scenario, run: Run) -> str:
    occ = run.failure
    assert occ is not None
    alt = run.author in ("bob", "dave", "frank")
    failed = next(e for e in run.events if e.kind == "fail")
    step = sc.step(occ.step)
    lines = [
        _front_matter(
            [
                ("mode", "failure"),
                ("date", _q(f"{occ.at:%Y-%m-%d}")),
                ("time", _q(f"{occ.at:%H:%M:%S}")),
                ("context", _q(f"{sc.context} — {step.name.lower()} failed")),
                ("severity", "high" if occ.rolled_back else "medium"),
                ("resolved", "false"),
                ("environment", sc.environment),
                ("tags", _tags([*sc.tags, "failure"])),
            ]
        ),
        f"\n# Failure: {step.name} failed during {sc.title.lower()}\n",
        "\n## Symptoms Observed\n\n" if not alt else "\n## Symptoms\n\n",
        f"- `{failed.text}` exited with code {failed.exit_code}\n",
        f'- The operation stopped at step "{step.name}"\n',
        "\n## Error Messages\n\n" if not alt else "\n## Error Message\n\n",
        f"### Error 1\n\n{FENCE}\n{failed.output}\n{FENCE}\n",
        "\n## Input State\n\n**What was attempted**:\n",
        f"{FENCE}bash\n{failed.text}\n{FENCE}\n",
        "\n## Environmental Context\n\n" if not alt else "\n## Environment Context\n\n",
        f"- Environment: {sc.environment}\n- Operator: {run.author}\n",
        "\n## Timeline\n\n",
    ]
    for e in run.events:
        if e.start > occ.at:
            break
        lines.append(f"- {e.start:%H:%M:%S} — `{e.text}`{'' if e.exit_code == 0 else ' failed'}\n")
    if occ.rolled_back:
        lines.append(f"- {failed.end:%H:%M:%S} — decided to roll back\n")
    return "".join(lines)


def _journal(sc: Scenario, run: Run) -> str:
    occ = run.failure
    assert occ is not None
    mode = next(f for f in sc.failures if f.id == occ.mode)
    failed = next(e for e in run.events if e.kind == "fail")
    fixes = [e.text for e in run.events if e.kind == "fix"]
    if not fixes:  # rolled back in the run: the journal records what was run afterwards
        fixes = [fill(c.command, run.values) for c in mode.fix]
    title = f"{mode.id.replace('-', ' ').capitalize()} during {sc.title.lower()}"
    lines = [
        _front_matter(
            [
                ("title", _q(title)),
                ("category", "error"),
                ("date", _q(f"{occ.at:%Y-%m-%d}")),
                ("resolved", "true"),
                ("severity", "high" if occ.rolled_back else "medium"),
                ("environment", sc.environment),
                ("tags", _tags(sc.tags)),
            ]
        ),
        f"\n# {title}\n",
        "\n## Symptoms\n\n",
        f"- `{failed.text}` failed with:\n\n{FENCE}\n{failed.output}\n{FENCE}\n",
        "\n## Investigation\n\n",
        f"Re-ran the failing command and read the error. Checked recent changes to {sc.stack}.\n",
        "\n## Root Cause\n\n",
        f"{mode.cause or 'Not fully understood.'}\n",
        "\n## Solution\n\n",
        ("Rolled back, then:\n\n" if occ.rolled_back else "Ran:\n\n"),
        f"{FENCE}bash\n" + "\n".join(fixes) + f"\n{FENCE}\n",
        f"\n**Verification**: re-ran `{failed.text}` and it succeeded.\n",
        "\n## Prevention\n\n",
        f"{mode.prevention or 'None recorded.'}\n",
    ]
    return "".join(lines)


# ---------------------------------------------------------------------------- writing


def render_run(sc: Scenario, run: Run) -> list[tuple[str, str]]:
    """The evidence files (root-relative path, text) one run leaves behind."""
    files: list[tuple[str, str]] = []
    if run.outcome == "success" and run.style != "zsh-history":  # histories: see write_corpus
        text = _STYLES[run.style](sc, run)
        if run.style == "session":
            path = f"docs/ops/sessions/{run.started:%Y-%m-%d-%H%M}-{sc.slug}.md"
        else:
            path = _obs_path("execution", run.started, sc.slug)
        files.append((path, text))
    return files + failure_records(sc, run)


def failure_records(sc: Scenario, run: Run) -> list[tuple[str, str]]:
    """The failure observation and error journal a run's failure left (none without one)."""
    occ = run.failure
    files: list[tuple[str, str]] = []
    if occ is not None:
        if occ.note:
            files.append((_obs_path("failure", occ.at, sc.slug), _failure_observation(sc, run)))
        if occ.journal:
            files.append(
                (
                    f".claude/journals/error/{occ.at:%Y-%m-%d}-{sc.slug}-{occ.mode}.md",
                    _journal(sc, run),
                )
            )
    return files


def zsh_history(runs: list[Run]) -> str:
    """One person's zsh EXTENDED_HISTORY over many runs (``: start:elapsed;command``)."""
    lines = []
    for run in sorted(runs, key=lambda r: r.started):
        for e in run.events:
            lines.append(f": {calendar.timegm(e.start.timetuple())}:{round(e.duration)};{e.text}\n")
    return "".join(lines)


def write_corpus(sim: Simulation, root: Path, clean: bool = True) -> list[str]:
    """Write the visible runs' evidence under `root`; returns the relative paths written."""
    if clean and root.exists():
        shutil.rmtree(root)
    files: list[tuple[str, str]] = []
    histories: dict[str, list[Run]] = {}
    for run in sim.visible:
        files += render_run(sim.scenario, run)
        if run.style == "zsh-history":
            histories.setdefault(run.author, []).append(run)
    # A history file holds every run of its author (rolled-back ones too), copied out of $HOME.
    files += [
        (f"ops/history/{author}/zsh_history", zsh_history(runs))
        for author, runs in sorted(histories.items())
    ]
    for rel, text in files:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return sorted(rel for rel, _ in files)
