"""Grouping the ordered commands into 5-10 steps of the operation type's pattern.

Each action command becomes a step; a verifying check directly after it becomes that step's
verification (dry runs such as ``terraform plan`` never verify the step before them; a read
of the same tool right after a dry run verifies it: ``terraform show`` of the saved plan). Steps
get a phase of the type's pattern from command-family tables, kept monotone along the
consensus order by dynamic programming (commands are never reordered to fit the pattern).
More than ten steps: neighbours are merged - optional steps only with optional steps (a
rare detour never borrows a majority step's support), required ones preferring the same tool,
then the same phase; a step's support is that of its least supported command. Fewer than five:
nothing is invented. Leading checks are also reported as pre-checks; log / metric reads after the last
action as monitoring.
Sample: build, push, update, wait, curl /health -> Build: build; Build: push; Deploy: update
(verification: wait); Verify: curl /health.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from runbook.mine import durations, kinds
from runbook.mine import tables as tb
from runbook.model import CommandTemplate, MinedCommand, MinedStep, OperationType, Stat

__all__ = ["MAX_STEPS", "Grouped", "group_steps"]

MAX_STEPS = 10
_DRY_TITLE = re.compile(r"\b(?:plan|diff|dry|preview|validate|lint|template|check)", re.IGNORECASE)

Item = tuple[str, int]  # (normalize key, occurrence number within a run)


@dataclass(frozen=True, slots=True)
class Grouped:
    steps: tuple[MinedStep, ...]
    pre_checks: tuple[MinedCommand, ...]
    monitoring: tuple[MinedCommand, ...]


@dataclass(slots=True)
class _Unit:
    members: list[int]  # indexes into the ordered commands (actions and unpaired checks)
    verification: int | None = None
    phase: int = 0
    extra_checks: list[int] = field(default_factory=list)

    def all(self) -> list[int]:
        return [*self.members, *([self.verification] if self.verification is not None else [])]


def _fit(op_type: OperationType, role: str) -> tuple[int, ...]:
    phases = tb.PHASES[op_type]
    names = tb.PHASE_FIT[op_type].get(role, ())
    return tuple(phases.index(n) for n in names if n in phases)


def _assign_phases(
    prefs: Sequence[tuple[int, ...]], n_phases: int, weights: Sequence[float] = ()
) -> list[int]:
    """Monotone phase per unit minimizing misfits; ties go to the position-proportional phase."""
    n = len(prefs)
    if n == 0:
        return []
    inf = float("inf")
    cost = [[inf] * n_phases for _ in range(n)]
    back = [[0] * n_phases for _ in range(n)]

    def local(i: int, p: int) -> float:
        expected = (i / (n - 1) if n > 1 else 0.0) * (n_phases - 1)
        misfit = 0.0 if not prefs[i] or p in prefs[i] else (weights[i] if weights else 1.0)
        return misfit + 0.01 * abs(p - expected) / n_phases

    for p in range(n_phases):
        cost[0][p] = local(0, p)
    for i in range(1, n):
        best, arg = inf, 0
        for p in range(n_phases):
            if cost[i - 1][p] < best:
                best, arg = cost[i - 1][p], p
            cost[i][p] = best + local(i, p)
            back[i][p] = arg
    p = min(range(n_phases), key=lambda q: (cost[n - 1][q], q))
    out = [0] * n
    for i in range(n - 1, -1, -1):
        out[i] = p
        p = back[i][p]
    return out


def _lower_first(title: str) -> str:
    if len(title) > 1 and title[0].isupper() and title[1].islower():
        return title[0].lower() + title[1:]
    return title


def group_steps(
    commands: Sequence[MinedCommand],
    templates: Sequence[CommandTemplate],
    op_type: OperationType,
    *,
    per_run_durations: Sequence[Mapping[Item, float | None]] = (),
    order: Sequence[Item] = (),
) -> Grouped:
    """Steps, pre-checks and monitoring commands from commands in consensus order."""
    n = len(commands)
    if n == 0:
        return Grouped((), (), ())
    kind = [kinds.check_kind(t) for t in templates]
    monitor = [kinds.is_monitor(t) for t in templates]
    role = [c.role or kinds.role(t) for c, t in zip(commands, templates, strict=True)]
    action = [kind[i] is None and not monitor[i] for i in range(n)]
    # Smoke / test runs exercise the system: a check right after one verifies it.
    verifiable = [action[i] or kinds.is_test_check(t) for i, t in enumerate(templates)]

    def inspects(i: int, j: int) -> bool:
        # a read of a dry run's own tool right after it inspects its result (plan -> show)
        return (
            kind[j] == "dryrun"
            and bool(templates[i].program)
            and (templates[i].program == templates[j].program)
        )

    units: list[_Unit] = []
    for i in range(n):
        last = units[-1] if units else None
        if (
            kind[i] == "verify"
            and not monitor[i]
            and last is not None
            and last.verification is None
            and (verifiable[last.members[-1]] or inspects(i, last.members[-1]))
            # a rare check does not verify a step that always runs, nor the reverse
            and commands[i].optional == commands[last.members[-1]].optional
        ):
            last.verification = i
            continue
        units.append(_Unit([i]))

    pre_checks: list[MinedCommand] = []
    for unit in units:
        first = unit.members[0]
        if action[first]:
            break
        if kind[first] is not None and not commands[first].optional:
            pre_checks.append(commands[first])
    last_action = max((i for i in range(n) if action[i]), default=-1)
    if last_action < 0:
        # Nothing but checks (triage): they are the procedure, not pre-checks or follow-ups.
        pre_checks = []
    monitoring = tuple(
        commands[i] for i in range(last_action + 1, n) if monitor[i] and last_action >= 0
    )

    phases = tb.PHASES[op_type]
    prefs = [_fit(op_type, role[u.members[0]]) for u in units]
    # Optional steps weigh less: a rare detour should not drag the required steps' phases.
    weights = [0.3 if all(commands[m].optional for m in u.members) else 1.0 for u in units]
    for unit, phase in zip(units, _assign_phases(prefs, len(phases), weights), strict=True):
        unit.phase = phase

    # Too many steps: merge neighbours, never an optional detour into a step every run has
    # (its support would be overstated). Optional neighbours fold together first, then the
    # closest required pairs; optional steps that cannot merge are dropped, rarest first.
    runs = commands[0].of
    while len(units) > MAX_STEPS:
        pick = _merge_candidate(units, commands, templates)
        rare = [i for i, u in enumerate(units) if _optional(u, commands)]
        rarest = min(rare, key=lambda i: (_support(units[i], commands), -i), default=None)
        # A detour seen in under a tenth of the runs goes before two real steps are merged
        # or better supported optional steps are folded into it.
        tiny = rarest is not None and _support(units[rarest], commands) * 10 < runs
        if pick is None or tiny:
            if rarest is None:
                break  # nothing may merge and nothing is optional: keep every step
            del units[rarest]
            continue
        a, b = units[pick], units[pick + 1]
        members = a.all() + b.members
        units[pick : pick + 2] = [_Unit(members, b.verification, a.phase)]

    index_of = {key: i for i, key in enumerate(order)}
    steps: list[MinedStep] = []
    for unit in units:
        cmds = [commands[i] for i in unit.members]
        verification = commands[unit.verification] if unit.verification is not None else None
        everything = unit.all()
        # Every command of the step was seen in at least this many runs (the verification
        # states its own support).
        support = min(commands[i].support for i in unit.members)
        steps.append(
            MinedStep(
                phase=phases[unit.phase],
                title=_title(unit, commands, templates, action),
                commands=tuple(cmds),
                verification=verification,
                duration=_step_duration(everything, per_run_durations, order, index_of),
                support=support,
                of=commands[0].of,
                optional=all(commands[i].optional for i in everything),
            )
        )
    return Grouped(tuple(steps), tuple(pre_checks), monitoring)


def _support(unit: _Unit, commands: Sequence[MinedCommand]) -> int:
    return max(commands[m].support for m in unit.all())


def _optional(unit: _Unit, commands: Sequence[MinedCommand]) -> bool:
    return all(commands[m].optional for m in unit.all())


def _merge_candidate(
    units: Sequence[_Unit], commands: Sequence[MinedCommand], templates: Sequence[CommandTemplate]
) -> int | None:
    """Index of the adjacent pair best merged, or None when no pair may merge."""
    best: tuple[tuple[int, ...], float, int] | None = None
    for i in range(len(units) - 1):
        a, b = units[i], units[i + 1]
        rare_a, rare_b = _optional(a, commands), _optional(b, commands)
        if rare_a != rare_b:
            continue
        if rare_a:
            # only optional steps of like support merge: the step shows the lower figure
            low, high = sorted((_support(a, commands), _support(b, commands)))
            if 2 * low < high:
                continue
        same_phase = a.phase == b.phase
        same_program = bool(
            {templates[m].program for m in a.all()} & {templates[m].program for m in b.members}
        )
        # Same tool in one phase is closest; the same tool across phases (tag, then push)
        # before two different tools of one phase.
        affinity = (
            0 if same_phase and same_program else 1 if same_program else 2 if same_phase else 3
        )
        stats = [commands[m].duration for m in (*a.all(), *b.all())]
        seconds = sum(stat.median_s for stat in stats if stat is not None)
        score = (
            (0 if rare_a else 1, 1 if a.verification is not None else 0, affinity),
            seconds,
            i,
        )
        if best is None or score < best:
            best = score
    return best[2] if best is not None else None


def _title(
    unit: _Unit,
    commands: Sequence[MinedCommand],
    templates: Sequence[CommandTemplate],
    action: Sequence[bool],
) -> str:
    picks = [i for i in unit.members if action[i]] or unit.members
    # In command order; optional commands stay out of a required step's title.
    if not all(commands[i].optional for i in picks):
        picks = [i for i in picks if not commands[i].optional]
    titles: list[str] = []
    for i in picks:
        title = kinds.title_for(templates[i], commands[i].text)
        if kinds.check_kind(templates[i]) == "dryrun" and not _DRY_TITLE.search(title):
            title = f"Dry run: {_lower_first(title)}"

        if title not in titles:
            titles.append(title)
    if len(titles) == 1:
        return titles[0]
    shown = titles[:3]
    text = ", then ".join([shown[0], *(_lower_first(t) for t in shown[1:])])
    return text + (f" (+{len(titles) - 3} more)" if len(titles) > 3 else "")


def _step_duration(
    members: Sequence[int],
    per_run: Sequence[Mapping[Item, float | None]],
    order: Sequence[Item],
    index_of: Mapping[Item, int],
) -> Stat | None:
    if not order:
        return None
    keys = [order[i] for i in members if i < len(order)]
    values: list[float] = []
    for run in per_run:
        present = [run[k] for k in keys if k in run]
        if present and all(v is not None for v in present):
            values.append(sum(v for v in present if v is not None))
    return durations.summarize(values)
