"""Builders of realistic hand-written runs for the mining and failure tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from runbook.model import (
    Command,
    ErrorEvent,
    EvidenceKind,
    Execution,
    ObservationMode,
    Outcome,
    SourceRef,
)

# (text, seconds, exit code, output) - exit code and output optional
Spec = tuple[object, ...]


def run(
    run_id: str,
    commands: Sequence[Spec],
    *,
    start: datetime,
    outcome: Outcome = Outcome.SUCCESS,
    timed: bool = True,
    with_durations: bool = True,
    idle_after: dict[int, float] | None = None,
    errors: Sequence[ErrorEvent] = (),
    mode: ObservationMode | None = ObservationMode.EXECUTION,
    title: str = "",
    declared_type: str | None = None,
    record_total: bool = False,
) -> Execution:
    """An execution whose commands start back to back (plus optional idle gaps)."""
    path = f".claude/observations/{run_id}.md"
    at = start
    cmds: list[Command] = []
    for i, spec in enumerate(commands):
        text = str(spec[0])
        seconds = float(spec[1]) if len(spec) > 1 and spec[1] is not None else 5.0  # type: ignore[arg-type]
        code = int(spec[2]) if len(spec) > 2 and spec[2] is not None else 0  # type: ignore[call-overload]
        output = str(spec[3]) if len(spec) > 3 else ""
        cmds.append(
            Command(
                text=text,
                source=SourceRef(path, 10 + i * 5),
                exit_code=code,
                started_at=at if timed else None,
                duration_s=seconds if with_durations else None,
                output=output,
            )
        )
        at += timedelta(seconds=seconds + (idle_after or {}).get(i, 0.0))
    return Execution(
        id=path,
        source=SourceRef(path),
        kind=EvidenceKind.OBSERVATION,
        mode=mode,
        outcome=outcome,
        started_at=start if timed else None,
        finished_at=at if timed else None,
        duration_s=(at - start).total_seconds() if record_total else None,
        commands=tuple(cmds),
        errors=tuple(errors),
        title=title,
        declared_type=declared_type,
    )


def kendall_tau(produced: Sequence[str], truth: Sequence[str]) -> float:
    """Kendall tau between two orders over their common items."""
    common = [x for x in truth if x in produced]
    pos = {x: produced.index(x) for x in common}
    concordant = discordant = 0
    for i, a in enumerate(common):
        for b in common[i + 1 :]:
            if pos[a] < pos[b]:
                concordant += 1
            else:
                discordant += 1
    total = concordant + discordant
    return 1.0 if total == 0 else (concordant - discordant) / total
