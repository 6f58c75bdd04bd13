"""Per-run cleaning: normalize, drop noise, collapse retries and fix detours, attach durations.

A run's commands become ``Occurrence`` records: the kept command with its template, which
occurrence of that key it is in the run (a check run before *and* after an action is two
items), and its duration (recorded, else the gap to the next command's start). Failed
attempts later retried successfully are dropped together with the commands run in between
(that detour is the fix, which troubleshooting reports, not a procedure step).
Sample run: ``ls``, ``docker push X`` (exit 1), ``aws ecr get-login-password | docker login``,
``docker push X`` (exit 0) -> one occurrence: the successful ``docker push X``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from runbook.mine.kinds import is_check, is_noise, role
from runbook.mine.tables import ERROR_LINE, RETRY_ERROR_LINE
from runbook.model import Command, CommandTemplate, EvidenceKind, Execution

__all__ = ["Occurrence", "RunClean", "clean_run", "command_durations", "ok", "run_total"]

Normalizer = Callable[[str], CommandTemplate]


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One kept command of a run."""

    template: CommandTemplate
    command: Command
    occ: int  # 1 for the first occurrence of this key in the run, 2 for the second...
    duration: float | None
    from_gap: bool  # duration inferred from the next command's start (may include idle time)


@dataclass(frozen=True, slots=True)
class RunClean:
    occurrences: tuple[Occurrence, ...]
    noise: int  # commands dropped as noise
    detour: int  # failed attempts, duplicate retries and fix detours dropped
    total: float | None = None  # the run's wall time (see run_total)


def ok(cmd: Command) -> bool:
    """A command succeeded (unknown exit codes count as success)."""
    return cmd.exit_code in (0, None)


# The shell's ``time`` report: ``real\t2m41.203s`` (bash) or ``real 0m3.10s``.
_TIME_REAL = re.compile(r"^real\s+(?:(\d+)h)?(?:(\d+)m)?(\d+(?:\.\d+)?)s\s*$", re.M)


def _timed(cmd: Command) -> float | None:
    """Seconds a ``time``-prefixed command reported for itself (its ``real`` line)."""
    if not cmd.output or "real" not in cmd.output:
        return None
    words = cmd.text.split()
    if "time" not in words[:3]:
        return None
    found = _TIME_REAL.findall(cmd.output)
    if not found:
        return None
    hours, minutes, seconds = found[-1]
    return int(hours or 0) * 3600.0 + int(minutes or 0) * 60.0 + float(seconds)


def command_durations(execution: Execution) -> list[tuple[float | None, bool]]:
    """Per command: (seconds, inferred-from-gap) from duration_s, else the next start."""
    cmds = execution.commands
    out: list[tuple[float | None, bool]] = []
    for i, cmd in enumerate(cmds):
        if cmd.duration_s is None and (reported := _timed(cmd)) is not None:
            out.append((reported, False))  # measured by the shell itself
            continue
        if cmd.duration_s is not None and cmd.duration_s >= 0:
            # A "duration" equal to the distance to the next start was derived from a
            # timeline by the reader: it includes the operator's idle time. A CI runner
            # starts the next step as soon as one ends, so there it is the measured time.
            nxt = cmds[i + 1].started_at if i + 1 < len(cmds) else None
            derived = (
                execution.kind is not EvidenceKind.CI_LOG
                and cmd.started_at is not None
                and nxt is not None
                and abs((nxt - cmd.started_at).total_seconds() - cmd.duration_s) < 0.05
            )
            out.append((float(cmd.duration_s), derived))
            continue
        value: float | None = None
        if cmd.started_at is not None:
            nxt = next((c.started_at for c in cmds[i + 1 :] if c.started_at is not None), None)
            if nxt is None and execution.finished_at is not None:
                nxt = execution.finished_at
            if nxt is not None and nxt >= cmd.started_at:
                value = (nxt - cmd.started_at).total_seconds()
        out.append((value, True))
    # No command outlasts its run: a longer "duration" was misread from the record.
    limit = _recorded_span(execution)
    if limit is not None:
        out = [(None, True) if d is not None and d > limit + 1.0 else (d, g) for d, g in out]
    return out


def _recorded_span(execution: Execution) -> float | None:
    if execution.duration_s is not None and execution.duration_s > 0:
        return float(execution.duration_s)
    if execution.started_at is not None and execution.finished_at is not None:
        span = (execution.finished_at - execution.started_at).total_seconds()
        return span if span > 0 else None
    return None


def run_total(execution: Execution, durations: Sequence[tuple[float | None, bool]]) -> float | None:
    """Wall time of a run: recorded total, else finished - started, else from its commands."""
    if execution.duration_s is not None and execution.duration_s > 0:
        return float(execution.duration_s)
    if execution.started_at is not None and execution.finished_at is not None:
        span = (execution.finished_at - execution.started_at).total_seconds()
        if span > 0:
            return span
    starts = [c.started_at for c in execution.commands if c.started_at is not None]
    last = durations[-1][0] if len(durations) == len(execution.commands) and durations else None
    if len(starts) >= 2 or (starts and last is not None):
        first = min(starts)
        end = max(starts)
        tail = last if execution.commands[-1].started_at == end and last else 0.0
        span = (end - first).total_seconds() + tail
        if span > 0:
            return span
    values = [d for d, _ in durations]
    if values and all(v is not None for v in values):
        total = sum(v for v in values if v is not None)
        return total if total > 0 else None
    return None


def _bare_key(t: CommandTemplate) -> str:
    """The key from the program on: wrappers (``time``, ``sudo``) and env prefixes dropped."""
    words = t.key.split(" ")
    if t.program and t.program in words:
        return " ".join(words[words.index(t.program) :])
    return t.key


def _rerun_later(
    kept: Sequence[tuple[CommandTemplate, Command, float | None, bool]], i: int
) -> bool:
    """The i-th command (a change, not a read) is typed again verbatim after other commands."""
    t, c = kept[i][0], kept[i][1]
    # reads are run again on purpose (before and after a change); an unknown command is not
    # known to read (az webapp deployment slot swap has no role): a retry when typed again
    if is_check(t) or role(t) in ("check", "monitor"):
        return False
    text = c.text.strip()
    later = [k[1].text.strip() for k in kept[i + 1 :]]
    return text in later[1:] and later[0] != text


def _rolled_back_at(
    kept: Sequence[tuple[CommandTemplate, Command, float | None, bool]],
) -> int | None:
    """Index of a failed, never-retried, non-revert command that a revert follows; else None."""
    for i, (t, c, _d, _g) in enumerate(kept):
        if ok(c) or role(t) == "revert":
            continue
        later = kept[i + 1 :]
        if any(k[0].key == t.key and ok(k[1]) for k in later):
            continue  # retried: the retry rules below handle it
        if any(role(k[0]) == "revert" for k in later):
            return i
    return None


def mistyped(text: str, corrected: str) -> bool:
    """``text`` is ``corrected`` with its program mistyped (``asw s3 sync …`` then ``aws s3
    sync …``): without an exit code (a history) only the correction next to it tells."""
    a, _, rest_a = text.strip().partition(" ")
    b, _, rest_b = corrected.strip().partition(" ")
    if a == b or rest_a != rest_b or min(len(a), len(b)) < 2:
        return False
    return _one_edit(a, b)


def _one_edit(a: str, b: str) -> bool:
    """One insertion, deletion, substitution or swap of neighbours turns ``a`` into ``b``."""
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        i = diff[0] if len(diff) == 2 else -1
        return len(diff) == 2 and diff[1] == i + 1 and a[i] == b[i + 1] and a[i + 1] == b[i]
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def usual_repeats(runs: Sequence[Execution], normalize: Normalizer) -> frozenset[str]:
    """Command keys that many runs type twice (``migrate version`` before and after ``up``).

    Such a second occurrence is the procedure, not a retry after a failure: at least a
    third of the runs (and two) type it twice verbatim.
    """
    counts: dict[str, int] = {}
    for e in runs:
        # Only a command typed twice verbatim can be taken for a retry (``_rerun_later``), so
        # only those are normalized here; clean_run normalizes every command anyway.
        texts = Counter(c.text.strip() for c in e.commands if c.text.strip())
        keys = {normalize(text).key for text, k in texts.items() if k >= 2}
        for key in keys:
            counts[key] = counts.get(key, 0) + 1
    need = max(2, len(runs) / 3)
    return frozenset(k for k, v in counts.items() if v >= need)


def clean_run(
    execution: Execution, normalize: Normalizer, repeats: frozenset[str] = frozenset()
) -> RunClean:
    """Normalize and clean one run's commands (see the module docstring).

    ``repeats``: keys the procedure itself runs twice (``usual_repeats``), never retries.
    """
    durations = command_durations(execution)
    kept: list[tuple[CommandTemplate, Command, float | None, bool]] = []
    noise = 0
    commands = execution.commands
    for k, (cmd, (dur, gap)) in enumerate(zip(commands, durations, strict=True)):
        if not cmd.text.strip():
            continue
        template = normalize(cmd.text)
        nxt = commands[k + 1] if k + 1 < len(commands) else None
        if is_noise(template, cmd) or (
            cmd.exit_code is None and nxt is not None and mistyped(cmd.text, nxt.text)
        ):
            noise += 1
            continue
        kept.append((template, cmd, dur, gap))
    # Unrecorded exit codes: an attempt that printed an error and was run again failed. A
    # probe printing a bad status (``504 29.031``) reported the state; it did not fail, and
    # running it again later (after the fix) is a second check, not a retry.
    # A history records neither output nor status: there, a change run again word for word
    # after other commands (``docker push X``, ``docker login``, ``docker push X``) was a
    # failed attempt and what came between was its fix.
    failed = [
        (c.exit_code not in (0, None))
        or (
            c.exit_code is None
            and bool((ERROR_LINE if is_check(t) else RETRY_ERROR_LINE).search(c.output))
            # run again later, or undone by a rollback right after: either says it failed
            and any(k[0].key == t.key or role(k[0]) == "revert" for k in kept[i + 1 :])
        )
        or (
            c.exit_code is None
            and not c.output.strip()
            and t.key not in repeats
            and _rerun_later(kept, i)
        )
        for i, (t, c, _d, _g) in enumerate(kept)
    ]
    kept = [
        (t, replace(c, exit_code=1) if bad and c.exit_code is None else c, d, g)
        for (t, c, d, g), bad in zip(kept, failed, strict=True)
    ]
    # A failed step that is never retried, followed by a rollback (``helm rollback``, ``alembic
    # downgrade``), ended the procedure: what follows undoes it and belongs to Rollback, not
    # to the steps. (A failing rollback command itself is left alone: in a rollback's own
    # runs, the next revert is still the procedure.)
    cut = _rolled_back_at(kept)
    if cut is not None:
        dropped = len(kept) - cut - 1
        kept = kept[: cut + 1]
    else:
        dropped = 0
    # A failed attempt of a command that also succeeded in this run is not a step.
    succeeded = {t.key for t, c, _d, _g in kept if ok(c)}
    # Drop failed attempts that are retried later in the run, with the detour between.
    retained: list[tuple[CommandTemplate, Command, float | None, bool]] = []
    detour = dropped
    i = 0
    while i < len(kept):
        template, cmd = kept[i][0], kept[i][1]
        if not ok(cmd):
            j = next(
                (
                    j
                    for j in range(i + 1, len(kept))
                    if kept[j][0].key == template.key and ok(kept[j][1])
                ),
                None,
            )
            if j is not None:
                detour += j - i
                i = j
                continue
            if template.key in succeeded:
                detour += 1
                i += 1
                continue
        retained.append(kept[i])
        i += 1
    # Collapse immediate repeats of the same command (keep the last, a successful one if any);
    # ``time cmd`` then ``cmd`` is a repeat too.
    collapsed: list[tuple[CommandTemplate, Command, float | None, bool]] = []
    for item in retained:
        if collapsed and _bare_key(collapsed[-1][0]) == _bare_key(item[0]):
            detour += 1
            if ok(item[1]) or not ok(collapsed[-1][1]):
                prev = collapsed[-1]
                if item[2] is None and ok(prev[1]) and prev[2] is not None:
                    # ``time cmd`` then ``cmd`` again: the measured attempt holds the time
                    item = (item[0], item[1], prev[2], prev[3])
                collapsed[-1] = item
            continue
        collapsed.append(item)
    seen: dict[str, int] = {}
    occurrences: list[Occurrence] = []
    for template, cmd, dur, gap in collapsed:
        seen[template.key] = seen.get(template.key, 0) + 1
        occurrences.append(Occurrence(template, cmd, seen[template.key], dur, gap))
    return RunClean(tuple(occurrences), noise, detour, run_total(execution, durations))
