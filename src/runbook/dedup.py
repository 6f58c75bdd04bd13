"""One operation recorded in several formats counts once.

Sample case: a deploy at 14:02 shows up as ``ci-logs/run-4242.log`` (GitHub Actions, steps
timed, exit codes) and in the operator's ``.zsh_history`` (``: 1741960920:95;./deploy.sh prod``).
Both are the same run; mining it twice would double its weight and its duration sample.

Two executions from different files are the same run when their time ranges overlap (or they
start within ``START_SLACK``) and the template keys of their commands (``normalize``) have a
Jaccard similarity of at least ``MIN_SIMILARITY`` -- or, for overlapping time ranges, one
holds ``MIN_CONTAINMENT`` of the other's commands (a history that cut the session at an idle
gap, beside the recording that spans it). Of such a pair the richer record is kept:
more commands with durations, exit codes and output, then more commands and errors. The choice
is deterministic (ties go to the smaller id) and never depends on input order.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from runbook.model import EvidenceKind, Execution

MIN_SIMILARITY = 0.6
# ...or, when their time ranges overlap, one holds this share of the other's (≥ 3) commands
MIN_CONTAINMENT = 0.8
# kinds that record each run exactly once: two of them are the same run only when they start
# together (the same log saved twice)
ONE_RECORD_PER_RUN = frozenset({EvidenceKind.CI_LOG, EvidenceKind.CAST})
SAME_START = timedelta(seconds=2)
MIN_PART_COMMANDS = 3
START_SLACK = timedelta(minutes=5)
# commands that say nothing about which operation ran (navigation, screen, shell state)
_NOISE_PROGRAMS = frozenset(
    {"cd", "ls", "ll", "pwd", "clear", "echo", "history", "exit", "cat", "less", "true", "env"}
)


@dataclass(frozen=True, slots=True)
class _Facts:
    index: int
    start: datetime
    end: datetime
    keys: frozenset[str]
    rank: tuple[int, int, int, int, int, int, int]
    history: bool = False  # a shell-history session: the kind of record that gets cut
    kind: EvidenceKind | None = None


def command_keys(execution: Execution) -> frozenset[str]:
    """The normalized template keys of an execution's commands (navigation noise left out)."""
    from runbook.normalize import normalize

    keys: set[str] = set()
    for cmd in execution.commands:
        template = normalize(cmd.text)
        if not template.key or template.program in _NOISE_PROGRAMS:
            continue
        keys.add(template.key)
    return frozenset(keys)


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """|a ∩ b| / |a ∪ b| (0 when both are empty)."""
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def _end(ex: Execution, start: datetime) -> datetime:
    ends = [start]
    if ex.finished_at is not None:
        ends.append(ex.finished_at)
    if ex.duration_s is not None and ex.duration_s >= 0:
        ends.append(start + timedelta(seconds=min(ex.duration_s, 7 * 86400)))
    for cmd in ex.commands:
        if cmd.started_at is not None:
            ends.append(cmd.started_at + timedelta(seconds=max(cmd.duration_s or 0.0, 0.0)))
    return max(ends)


def richness(ex: Execution) -> tuple[int, int, int, int, int, int, int]:
    """How much a record knows: facts per (non-noise) command first, then counts."""
    from runbook.normalize import normalize

    cmds = [c for c in ex.commands if normalize(c.text).program not in _NOISE_PROGRAMS]
    timed = sum(1 for c in cmds if c.duration_s is not None)
    coded = sum(1 for c in cmds if c.exit_code is not None)
    shown = sum(1 for c in cmds if c.output)
    return (
        timed + coded + shown,
        coded,
        timed,
        sum(1 for c in cmds if c.started_at is not None),
        len(cmds),
        len(ex.errors),
        int(ex.finished_at is not None),
    )


def _facts(index: int, ex: Execution) -> _Facts | None:
    if ex.started_at is None:
        return None  # an undated record cannot be placed next to another
    keys = command_keys(ex)
    if not keys:
        return None
    history = ex.kind is EvidenceKind.SHELL_HISTORY
    return _Facts(
        index, ex.started_at, _end(ex, ex.started_at), keys, richness(ex), history, ex.kind
    )


def containment(a: frozenset[str], b: frozenset[str]) -> float:
    """|a ∩ b| / min(|a|, |b|): how much of the smaller record the larger one holds."""
    small = min(len(a), len(b))
    return len(a & b) / small if small else 0.0


def _same_run(a: _Facts, b: _Facts) -> bool:
    overlap = a.start <= b.end and b.start <= a.end
    near = abs(a.start - b.start) <= START_SLACK
    if not (overlap or near):
        return False
    if a.kind is b.kind and a.kind in ONE_RECORD_PER_RUN and abs(a.start - b.start) > SAME_START:
        # two CI logs are two attempts (a failed run and its re-run), two casts two sessions
        return False
    if jaccard(a.keys, b.keys) >= MIN_SIMILARITY:
        return True
    # A part of the run: a shell history cuts a session at an idle gap that the terminal
    # recording (or notes) of the same session spans, so one record holds the other's
    # commands. Only a history is cut that way; a failure report beside its run's notes is
    # a record of its own (its error text must stay).
    part = a if len(a.keys) <= len(b.keys) else b
    return (
        overlap
        and part.history
        and min(len(a.keys), len(b.keys)) >= MIN_PART_COMMANDS
        and containment(a.keys, b.keys) >= MIN_CONTAINMENT
    )


def _better(a: _Facts, b: _Facts, executions: Sequence[Execution]) -> bool:
    if a.rank != b.rank:
        return a.rank > b.rank
    return executions[a.index].id < executions[b.index].id


def deduplicate(
    executions: Sequence[Execution],
) -> tuple[tuple[Execution, ...], tuple[tuple[str, str], ...]]:
    """(kept executions in input order, sorted (dropped id, kept id) pairs)."""
    facts = [f for i, ex in enumerate(executions) if (f := _facts(i, ex)) is not None]
    # richest first, so each record is compared only with records it would lose to
    facts.sort(key=lambda f: (tuple(-x for x in f.rank), executions[f.index].id, f.index))
    kept: list[_Facts] = []
    starts: list[tuple[datetime, int]] = []  # (start, position in kept), ascending
    longest = timedelta(0)
    dropped: dict[int, int] = {}
    for f in facts:
        ex = executions[f.index]
        lo = bisect_left(starts, (f.start - longest - START_SLACK, -1))
        hi = bisect_right(starts, (f.end + START_SLACK, len(kept)))
        match: _Facts | None = None
        for _, pos in starts[lo:hi]:
            other = kept[pos]
            if executions[other.index].source.path == ex.source.path:
                continue  # runs of one file are distinct by construction
            if _same_run(f, other) and (match is None or _better(other, match, executions)):
                match = other
        if match is not None:
            dropped[f.index] = match.index
            continue
        insort(starts, (f.start, len(kept)))
        kept.append(f)
        longest = max(longest, f.end - f.start)
    pairs = sorted((executions[d].id, executions[k].id) for d, k in dropped.items())
    out = tuple(ex for i, ex in enumerate(executions) if i not in dropped)
    return out, tuple(pairs)


__all__ = ["MIN_SIMILARITY", "START_SLACK", "command_keys", "deduplicate", "jaccard", "richness"]
