"""Render simulated runs as machine records: CI run logs, shell histories, asciinema casts.

Sample of what comes out (``ci-log``: a ``gh run view --log`` row, job TAB step TAB time text):
    deploy<TAB>Terraform apply<TAB>2025-06-03T14:31:07.4210000Z ##[group]Run terraform apply -auto-approve

The same simulated runs that ``render_evidence`` writes as notes are written here the way a
team without notes has them, so ``python -m bench`` can report quality *per evidence format*:

* ``ci-log`` — one downloaded GitHub Actions run log per run (plus the workflow file). CI does
  not type: noise, typos and interrupted retries are not in it. A failure ends the job with
  ``##[error]Process completed with exit code N.``; a run fixed by hand is a failed attempt
  and a re-run (``-attempt-2``) whose steps start after the fix. The fix commands themselves
  were typed elsewhere, so this format cannot carry them.
* ``shell-history`` — one history file per operator, holding all their runs *and* their
  personal work around them (editing, tests, git, a look at another cluster), in the flavour
  the operator's shell writes: zsh extended history, bash with ``HISTTIMEFORMAT``, fish, or an
  atuin database (the only one with exit codes and durations). No output is recorded.
* ``cast`` — one asciinema recording per run (v2, or v3 with shell-integration exit marks),
  typed keystroke chunks, a coloured prompt, output lines and an occasional backspaced typo.
* ``mixed-format`` — each operator keeps their own habit (notes, CI, casts, history) and error
  journals are written as usual; casts are *also* in the operator's shell history, so the same
  run is recorded twice and must be counted once.

Everything is seeded from the simulation: same seed → identical bytes.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import random
import shutil
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

from bench.render_evidence import failure_records, render_run
from bench.simulate import Event, Run, Simulation, fill
from bench.spec import Scenario

FORMATS = ("observations", "ci-log", "shell-history", "cast", "mixed-format")
# Operation types whose runs a CI pipeline carries; nobody answers an incident from CI.
CI_TYPES = frozenset({"deployment", "rollback", "migration", "scaling"})
HISTORY_FLAVOURS = ("zsh", "bash", "fish", "atuin")
# What a format can record: error text (failure signatures) and the commands of a fix.
RECORDS_ERRORS = {
    "observations": True,
    "ci-log": True,
    "shell-history": False,
    "cast": True,
    "mixed-format": True,
}
RECORDS_FIXES = {
    "observations": True,
    "ci-log": False,
    "shell-history": True,
    "cast": True,
    "mixed-format": True,
}


@dataclass(slots=True)
class FormatCorpus:
    """What one format corpus holds: its files and the runs recorded twice on purpose."""

    format: str
    files: list[str] = field(default_factory=list)
    duplicated_runs: int = 0  # runs present in two formats (cast + shell history)
    runs_written: int = 0


def applies(fmt: str, operation_type: str) -> bool:
    """Whether `fmt` is a realistic record of this operation type (CI logs: not incidents)."""
    return fmt != "ci-log" or operation_type in CI_TYPES


def _rng(sim: Simulation, *salt: object) -> random.Random:
    key = "\0".join([sim.scenario.name, str(sim.seed), *map(str, salt)])
    return random.Random(int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big"))


def _epoch(t: datetime) -> int:
    return calendar.timegm(t.timetuple())


# ------------------------------------------------------------------------------ CI logs

_SETUP = (
    "Current runner version: '2.321.0'",
    "##[group]Operating System",
    "Ubuntu",
    "22.04.5",
    "LTS",
    "##[endgroup]",
    "##[group]Runner Image",
    "Image: ubuntu-22.04",
    "Version: 20251102.1.0",
    "##[endgroup]",
    "Secret source: Actions",
    "Prepare workflow directory",
    "Prepare all required actions",
)


def _gh_ts(t: datetime, micro: int = 0) -> str:
    t += timedelta(microseconds=micro)  # GitHub writes 7 fractional digits
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond:06d}0Z"


def _ci_step_name(sc: Scenario, e: Event) -> str:
    if e.step_id is None:
        return "Run script"
    step = sc.step(e.step_id)
    return f"Verify: {step.name}" if e.kind == "verify" else step.name


def ci_simulation(sim: Simulation, only: Callable[[Run], bool] | None = None) -> Simulation:
    """The same runs as a CI pipeline runs them: no noise, typos, retries or think time.

    Every run (held-out ones too, so the truth the scorer compares with is CI-shaped) keeps
    its commands, outputs and command durations; steps follow each other after a short
    runner gap. A hand fix between attempts keeps the operator's own pace. ``only``: the
    runs a pipeline ran (the others stay as typed).
    """
    runs: list[Run] = []
    for run in sim.runs:
        if only is not None and not only(run):
            runs.append(run)
            continue
        rng = _rng(sim, "ci-time", run.index)
        kept = [e for e in run.events if e.kind in ("step", "verify", "fail", "fix")]
        clock = kept[0].start if kept else run.started
        events: list[Event] = []
        prev: Event | None = None
        for e in kept:
            if prev is not None:
                human = e.kind == "fix" or prev.kind == "fix"
                clock += (
                    (e.start - prev.end) if human else timedelta(seconds=rng.uniform(0.05, 0.6))
                )  # runner step switch
            moved = replace(e, start=clock)
            events.append(moved)
            clock = moved.end
            prev = e
        failure = run.failure
        if failure is not None:
            failed = next(e for e in events if e.kind == "fail")
            failure = replace(failure, at=failed.start)
        runs.append(replace(run, events=events, failure=failure, idle_seconds=0.0))
    by_index = {r.index: r for r in runs}
    return replace(
        sim,
        runs=runs,
        visible=[by_index[r.index] for r in sim.visible],
        held_out=[by_index[r.index] for r in sim.held_out],
    )


def _ci_events(run: Run) -> tuple[list[Event], list[Event] | None]:
    """(first attempt, re-run after a hand fix or None): CI only runs the pipeline's steps."""
    kept = [e for e in run.events if e.kind in ("step", "verify", "fail", "fix")]
    fail_at = next((i for i, e in enumerate(kept) if e.kind == "fail"), None)
    if fail_at is None:
        return [e for e in kept if e.kind != "fix"], None
    first = [e for e in kept[: fail_at + 1] if e.kind != "fix"]
    if run.outcome != "success":
        return first, None
    fixes = [e for e in kept if e.kind == "fix"]
    restart = (fixes[-1].end if fixes else kept[fail_at].end) + timedelta(seconds=40)
    # "Re-run all jobs": the pipeline runs again from the top once the fix is in.
    again = [e for e in kept if e.kind in ("step", "verify")]
    shifted: list[Event] = []
    clock = restart
    prev_end: datetime | None = None
    for e in again:
        if prev_end is not None:
            clock += (
                min(e.start - prev_end, timedelta(seconds=5)) if e.start > prev_end else timedelta()
            )
        shifted.append(
            Event(e.kind, e.text, e.output, e.exit_code, clock, e.duration, e.step_id, e.template)
        )
        clock += timedelta(seconds=e.duration)
        prev_end = e.end
    return first, shifted


def _ci_log(sc: Scenario, events: list[Event], job: str, rng: random.Random) -> str:
    rows: list[str] = []

    def row(step: str, t: datetime, text: str, micro: int = 0) -> None:
        rows.append(f"{job}\t{step}\t{_gh_ts(t, micro)} {text}\n")

    start = events[0].start - timedelta(seconds=rng.uniform(2.0, 5.0))  # set up job, checkout
    for i, line in enumerate(_SETUP):
        row("Set up job", start, line, micro=i * 37)
    row("Set up job", start + timedelta(seconds=1), f"Complete job name: {job}")
    t = start + timedelta(seconds=2)
    row("Run actions/checkout@v4", t, "##[group]Run actions/checkout@v4")
    row("Run actions/checkout@v4", t, "with:", micro=30)
    row("Run actions/checkout@v4", t, "  fetch-depth: 1", micro=60)
    row("Run actions/checkout@v4", t, "##[endgroup]", micro=90)
    row("Run actions/checkout@v4", t + timedelta(seconds=1), "Syncing repository: acme/ops")
    end = events[0].start
    for e in events:
        name = _ci_step_name(sc, e)
        lines = e.text.splitlines() or [e.text]
        row(name, e.start, f"##[group]Run {lines[0]}")
        for k, line in enumerate(lines):
            row(name, e.start, f"\x1b[36;1m{line}\x1b[0m", micro=10 + k)
        row(name, e.start, "shell: /usr/bin/bash -e {0}", micro=50)
        row(name, e.start, "##[endgroup]", micro=60)
        out = e.output.splitlines()
        for k, line in enumerate(out):
            at = e.start + timedelta(seconds=e.duration * (k + 1) / (len(out) + 1))
            row(name, at, line)
        if e.exit_code != 0:
            row(name, e.end, f"##[error]Process completed with exit code {e.exit_code}.")
        end = e.end
    row("Post Run actions/checkout@v4", end + timedelta(seconds=0.4), "Post job cleanup.")
    row("Complete job", end + timedelta(seconds=0.9), "Cleaning up orphan processes")
    return "".join(rows)


def _workflow(sc: Scenario, job: str) -> str:
    """The workflow file: one job whose steps run the procedure's commands."""
    lines = [
        f"name: {sc.slug}\n",
        "\non:\n  workflow_dispatch:\n",
        f"\njobs:\n  {job}:\n    runs-on: ubuntu-22.04\n",
        f"    environment: {sc.environment}\n",
        "    steps:\n      - uses: actions/checkout@v4\n        with:\n          fetch-depth: 1\n",
    ]
    for s in sc.steps:
        for name, cmd in ((s.name, s.action.command), (f"Verify: {s.name}", None)):
            if cmd is None:
                if s.verify is None:
                    continue
                cmd = s.verify.command
            script = _expressions(cmd)
            lines.append(f"      - name: {json.dumps(name)}\n")
            if "\n" in script:
                body = "".join(f"          {x}\n" for x in script.splitlines())
                lines.append(f"        run: |\n{body}")
            else:
                lines.append(f"        run: {json.dumps(script)}\n")
    return "".join(lines)


def _expressions(template: str) -> str:
    # "{version}" in a spec is an input of the dispatched workflow
    out, i = [], 0
    while i < len(template):
        j = template.find("{", i)
        k = template.find("}", j) if j >= 0 else -1
        name = template[j + 1 : k] if j >= 0 and k > j else ""
        if name and name.replace("_", "").isalnum() and name[0].isalpha():
            out.append(template[i:j] + "${{ inputs." + name + " }}")
            i = k + 1
        else:
            out.append(template[i:])
            break
    return "".join(out)


def _ci_files(sim: Simulation, runs: Iterable[Run]) -> list[tuple[str, str | bytes]]:
    sc = sim.scenario
    job = sc.operation_type.replace("-", "_")
    files: list[tuple[str, str | bytes]] = [
        (f".github/workflows/{sc.slug}.yml", _workflow(sc, job))
    ]
    for run in runs:
        rng = _rng(sim, "ci", run.index)
        run_id = 11_000_000_000 + rng.randrange(900_000_000)
        first, again = _ci_events(run)
        if not first:
            continue
        base = f"ci-logs/{sc.slug}/run-{run_id}"
        files.append((f"{base}.log", _ci_log(sc, first, job, rng)))
        if again:
            files.append((f"{base}-attempt-2.log", _ci_log(sc, again, job, rng)))
    return files


# ------------------------------------------------------------------------ shell history

_PERSONAL = (
    "git pull --rebase",
    "git status",
    "git checkout -b fix/{word}",
    "git commit -am 'wip: {word}'",
    "git push origin HEAD",
    "vim src/{word}.py",
    "code .",
    "make test",
    "python -m pytest -q tests/test_{word}.py",
    "npm run lint",
    "docker ps",
    "docker compose up -d db",
    "ssh dev-box",
    "brew upgrade",
    "gh pr list",
    "gh pr checkout {n}",
    "kubectl config get-contexts",
    "aws sts get-caller-identity",
    "tail -f logs/{word}.log",
    "htop",
    "ls -la",
    "cat README.md",
    "grep -rn TODO src/",
    "man rsync",
)
_WORDS = ("billing", "parser", "cache", "auth", "retry", "metrics", "config", "search")


def _personal(rng: random.Random) -> str:
    cmd = rng.choice(_PERSONAL)
    return cmd.replace("{word}", rng.choice(_WORDS)).replace("{n}", str(rng.randint(100, 999)))


@dataclass(slots=True)
class _Entry:
    at: datetime
    command: str
    seconds: float
    exit_code: int
    session: str


def _history_entries(sim: Simulation, author: str, runs: list[Run]) -> list[_Entry]:
    """An operator's commands: their runs plus personal work before, between and after them."""
    rng = _rng(sim, "history", author)
    entries: list[_Entry] = []
    for run in sorted(runs, key=lambda r: r.started):
        sid = f"{author}-{run.index}"
        # Personal work hours before the run (a separate session) and, now and then, minutes
        # before it in the same terminal.
        t = run.started - timedelta(hours=rng.uniform(2.5, 20.0))
        for _ in range(rng.randint(3, 9)):
            entries.append(_Entry(t, _personal(rng), rng.uniform(0.2, 20.0), 0, sid + "-p"))
            t += timedelta(seconds=rng.uniform(20.0, 400.0))
        if rng.random() < 0.5:
            t = run.started - timedelta(seconds=rng.uniform(120.0, 600.0))
            for _ in range(rng.randint(1, 2)):
                entries.append(_Entry(t, _personal(rng), rng.uniform(0.2, 5.0), 0, sid))
                t += timedelta(seconds=rng.uniform(10.0, 60.0))
        for e in typed_events(sim, run):
            entries.append(_Entry(e.start, e.text, e.duration, e.exit_code, sid))
    entries.sort(key=lambda x: x.at)
    return entries


def _zsh(entries: list[_Entry]) -> str:
    # zsh writes a multi-line command with backslash-newline continuations
    return "".join(
        f": {_epoch(x.at)}:{round(x.seconds)};{x.command.replace(chr(10), chr(92) + chr(10))}\n"
        for x in entries
    )


def _bash(entries: list[_Entry]) -> str:
    return "".join(f"#{_epoch(x.at)}\n{x.command}\n" for x in entries)


def _fish(entries: list[_Entry]) -> str:
    def esc(text: str) -> str:
        return text.replace("\\", "\\\\").replace("\n", "\\n")

    return "".join(f"- cmd: {esc(x.command)}\n  when: {_epoch(x.at)}\n" for x in entries)


def _atuin(entries: list[_Entry], host: str) -> bytes:
    """An atuin ``history.db`` (its real schema), built in memory and returned as bytes."""
    db = sqlite3.connect(":memory:")
    db.execute(
        "CREATE TABLE history (id TEXT PRIMARY KEY, timestamp INTEGER NOT NULL,"
        " duration INTEGER NOT NULL, exit INTEGER NOT NULL, command TEXT NOT NULL,"
        " cwd TEXT NOT NULL, session TEXT NOT NULL, hostname TEXT NOT NULL,"
        " deleted_at INTEGER)"
    )
    for i, x in enumerate(entries):
        db.execute(
            "INSERT INTO history VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)",
            (
                f"{i:032x}",
                _epoch(x.at) * 1_000_000_000 + x.at.microsecond * 1000,
                int(x.seconds * 1e9),
                x.exit_code,
                x.command,
                "/home/ops/src",
                hashlib.sha256(x.session.encode()).hexdigest()[:32],
                host,
            ),
        )
    db.commit()
    data = db.serialize()
    db.close()
    return bytes(data)


def _history_files(
    sim: Simulation, by_author: dict[str, list[Run]]
) -> list[tuple[str, str | bytes]]:
    files: list[tuple[str, str | bytes]] = []
    everyone = sorted({a for a, _ in (sim.scenario.authors or ())} | set(by_author))
    for author, runs in sorted(by_author.items()):
        flavour = HISTORY_FLAVOURS[everyone.index(author) % len(HISTORY_FLAVOURS)]
        entries = _history_entries(sim, author, runs)
        if flavour == "zsh":
            files.append((f"ops/history/{author}/.zsh_history", _zsh(entries)))
        elif flavour == "bash":
            files.append((f"ops/history/{author}/.bash_history", _bash(entries)))
        elif flavour == "fish":
            files.append((f"ops/history/{author}/fish_history", _fish(entries)))
        else:
            files.append((f"ops/history/{author}/atuin/history.db", _atuin(entries, "ops-laptop")))
    return files


# --------------------------------------------------------------------------------- casts


def typed_events(sim: Simulation, run: Run) -> list[Event]:
    """What the operator's terminal saw: the run, and after a failure that was rolled back,
    the rollback itself (the simulation ends such a run at the failure; the notes format
    records the rollback only in the error journal)."""
    if run.failure is None or run.outcome == "success":
        return list(run.events)
    mode = next(f for f in sim.scenario.failures if f.id == run.failure.mode)
    rng = _rng(sim, "rollback", run.index)
    events = list(run.events)
    clock = events[-1].end
    for fix in mode.fix:
        clock += timedelta(seconds=round(rng.uniform(5.0, 40.0), 1))
        secs = round(max(0.2, fix.duration.median * rng.uniform(0.7, 1.4)), 1)
        events.append(
            Event(
                "fix",
                fill(fix.command, run.values),
                fill(fix.output, run.values),
                0,
                clock,
                secs,
                template=fix.command,
                failure_id=mode.id,
            )
        )
        clock += timedelta(seconds=secs)
    return events


def _cast(sim: Simulation, run: Run, version: int) -> str:
    """One asciinema recording of a run: prompt, typed command, output, next prompt."""
    sc = sim.scenario
    rng = _rng(sim, "cast", run.index)
    t0 = run.started - timedelta(seconds=rng.uniform(1.5, 4.0))
    prompt = f"\x1b[1;32m{run.author}@bastion\x1b[0m:\x1b[1;34m~/{sc.slug}\x1b[0m$ "
    # v3 authors have shell integration (kitty, WezTerm, iTerm2): prompt/input/output marks
    marked_prompt = f"\x1b]133;A\x07{prompt}\x1b]133;B\x07" if version == 3 else prompt
    events: list[tuple[float, str]] = [(0.3, marked_prompt)]

    def at(t: datetime) -> float:
        return round((t - t0).total_seconds(), 6)

    prompt_at = 0.3
    for e in typed_events(sim, run):
        # typing starts after the prompt is drawn and ends at the command start (Enter: CR LF)
        text = e.text.replace("\n", "\r\n> ")
        chunks = max(1, min(6, len(text) // 12))
        begin = max(at(e.start) - min(3.0, 0.08 * len(text)), prompt_at + 0.05)
        typing = max(0.0, at(e.start) - begin)
        text_rest = text
        if rng.random() < 0.1 and len(text) > 6 and typing > 0.5:
            # a typo fixed with backspace: the screen ends up showing the command as run
            events.append((round(begin, 6), text[:3] + "x"))
            events.append((round(begin + 0.2, 6), "\b \b"))
            text_rest = text[3:]
            begin += 0.3
            typing -= 0.3
        size = max(1, len(text_rest) // chunks)
        pieces = [text_rest[i : i + size] for i in range(0, len(text_rest), size)]
        for k, piece in enumerate(pieces):
            events.append((round(begin + typing * k / len(pieces), 6), piece))
        events.append((at(e.start), "\r\n" + ("\x1b]133;C\x07" if version == 3 else "")))
        out = e.output.splitlines()
        for k, line in enumerate(out):
            events.append(
                (round(at(e.start) + e.duration * (k + 1) / (len(out) + 1), 6), line + "\r\n")
            )
        if version == 3:
            events.append((at(e.end), f"\x1b]133;D;{e.exit_code}\x07"))
        prompt_at = at(e.end) + 0.01
        events.append((prompt_at, marked_prompt))
    events.sort(key=lambda x: x[0])
    header: dict[str, object]
    if version == 3:
        header = {
            "version": 3,
            "term": {"cols": 160, "rows": 42, "type": "xterm-256color"},
            "timestamp": _epoch(t0),
            "title": f"{sc.title} ({run.author})",
        }
    else:
        header = {
            "version": 2,
            "width": 160,
            "height": 42,
            "timestamp": _epoch(t0),
            "title": f"{sc.title} ({run.author})",
            "env": {"SHELL": "/bin/bash", "TERM": "xterm-256color"},
        }
    lines = [json.dumps(header)]
    prev = 0.0
    for t, data in events:
        t = max(t, prev)  # a cast's clock never runs backwards
        stamp = round(t - prev, 6) if version == 3 else round(t, 6)
        lines.append(json.dumps([stamp, "o", data]))
        prev = t
    if version == 3:
        lines.append(json.dumps([0.5, "x", "0"]))
    return "\n".join(lines) + "\n"


def _cast_version(sim: Simulation, author: str) -> int:
    return 3 if _rng(sim, "cast-version", author).random() < 0.34 else 2


def _cast_files(sim: Simulation, runs: Iterable[Run]) -> list[tuple[str, str | bytes]]:
    sc = sim.scenario
    return [
        (
            f"ops/casts/{run.started:%Y-%m-%d-%H%M}-{sc.slug}.cast",
            _cast(sim, run, _cast_version(sim, run.author)),
        )
        for run in runs
    ]


# ------------------------------------------------------------------------------ corpora


def mixed_simulation(sim: Simulation) -> Simulation:
    """The runs as the mixed-format corpus has them: the CI-habit operators' runs CI-shaped."""
    return ci_simulation(sim, only=lambda run: _mixed_habit(sim, run.author) == "ci-log")


def _mixed_habit(sim: Simulation, author: str) -> str:
    """Each operator's habit in the mixed-format corpus (CI only where the type runs in CI)."""
    habits = ["observations", "ci-log", "cast", "shell-history"]
    if not applies("ci-log", sim.scenario.operation_type):
        habits = ["observations", "cast", "shell-history", "observations"]
    everyone = sorted({r.author for r in sim.runs})
    return habits[everyone.index(author) % len(habits)]


def write_format_corpus(
    sim: Simulation, root: Path, fmt: str, *, duplicates: bool = True, clean: bool = True
) -> FormatCorpus:
    """Write the visible runs under `root` in one evidence format (see the module docstring)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
    if clean and root.exists():
        shutil.rmtree(root)
    sc = sim.scenario
    result = FormatCorpus(fmt)
    files: list[tuple[str, str | bytes]] = []
    runs = list(sim.visible)
    if fmt == "observations":
        from bench.render_evidence import write_corpus  # the notes styles live there

        result.files = write_corpus(sim, root, clean=False)
        result.runs_written = len(runs)
        return result
    if fmt == "ci-log":
        files = _ci_files(sim, runs)
    elif fmt == "cast":
        files = _cast_files(sim, runs)
    elif fmt == "shell-history":
        by_author: dict[str, list[Run]] = {}
        for run in runs:
            by_author.setdefault(run.author, []).append(run)
        files = _history_files(sim, by_author)
    else:  # mixed-format
        habit = {r.author: _mixed_habit(sim, r.author) for r in runs}
        for r in runs:  # an author whose notes are a zsh history keeps writing one
            if r.style == "zsh-history" and habit[r.author] == "observations":
                habit[r.author] = "shell-history"
        notes = [r for r in runs if habit[r.author] == "observations"]
        casts = [r for r in runs if habit[r.author] == "cast"]
        history: dict[str, list[Run]] = {}
        for r in runs:
            if habit[r.author] == "shell-history" or (duplicates and habit[r.author] == "cast"):
                history.setdefault(r.author, []).append(r)
        for r in notes:
            files += render_run(sc, r)
        for r in runs:
            if habit[r.author] != "observations":
                files += failure_records(sc, r)
        files += _ci_files(sim, [r for r in runs if habit[r.author] == "ci-log"])
        files += _cast_files(sim, casts)
        files += _history_files(sim, history)
        if duplicates:
            result.duplicated_runs = len(casts)
    result.runs_written = len(runs)
    for rel, data in files:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, encoding="utf-8")
    result.files = sorted(rel for rel, _ in files)
    return result


__all__ = [
    "CI_TYPES",
    "FORMATS",
    "RECORDS_ERRORS",
    "RECORDS_FIXES",
    "FormatCorpus",
    "applies",
    "ci_simulation",
    "mixed_simulation",
    "typed_events",
    "write_format_corpus",
]
