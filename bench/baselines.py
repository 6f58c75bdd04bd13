"""Naive baselines, emitted in the tool's JSON shape so the same scorer applies.

* latest run: the newest visible successful run's commands verbatim, in order — what a person
  copying their last session gets (noise, secrets and literal versions included).
* most frequent: ``sort | uniq -c | sort -rn`` over the visible successful runs' commands,
  keeping as many as a typical run has, ordered by frequency.
"""

from __future__ import annotations

import statistics
from collections import Counter
from typing import Any

from bench.simulate import Run, Simulation


def _step(number: int, command: str, seconds: float | None) -> dict[str, Any]:
    return {
        "number": number,
        "name": f"step-{number}",
        "title": command.split(" ")[0],
        "purpose": "",
        "commands": [command],
        "parameters": [],
        "expected_output": "",
        "duration": None
        if seconds is None
        else {"median_seconds": round(seconds, 1), "p90_seconds": round(seconds, 1)},
        "verification": None,
        "if_failed": [],
        "support": {"runs": 1, "of": 1},
        "optional": False,
        "evidence": [],
    }


def _shell(
    sim: Simulation, steps: list[dict[str, Any]], total: float | None, runs: int
) -> dict[str, Any]:
    sc = sim.scenario
    return {
        "schema_version": 1,
        "title": f"Runbook: {sc.operation_type} - {sc.scope}",
        "operation_type": sc.operation_type,
        "scope": sc.scope,
        "estimated_duration": {
            "median_seconds": None if total is None else round(total, 1),
            "p90_seconds": None,
            "runs": runs,
        },
        "steps": steps,
        "troubleshooting": [],
    }


def _successful(sim: Simulation) -> list[Run]:
    return [r for r in sim.visible if r.outcome == "success"]


def latest_run(sim: Simulation) -> dict[str, Any]:
    """The newest visible successful run, verbatim."""
    ok = _successful(sim)
    if not ok:
        return _shell(sim, [], None, 0)
    run = max(ok, key=lambda r: r.started)
    steps = [_step(i + 1, e.text, e.duration) for i, e in enumerate(run.events)]
    return _shell(sim, steps, run.total_seconds, 1)


def most_frequent(sim: Simulation) -> dict[str, Any]:
    """Exact command lines ranked by how many visible successful runs used them."""
    ok = _successful(sim)
    if not ok:
        return _shell(sim, [], None, 0)
    counts: Counter[str] = Counter()
    first_seen: dict[str, int] = {}
    seconds: dict[str, list[float]] = {}
    pos = 0
    for run in ok:
        for text in {e.text for e in run.events}:
            counts[text] += 1
        for e in run.events:
            first_seen.setdefault(e.text, pos)
            seconds.setdefault(e.text, []).append(e.duration)
            pos += 1
    keep = round(statistics.median(len(r.events) for r in ok))
    ranked = sorted(counts, key=lambda t: (-counts[t], first_seen[t]))[:keep]
    steps = [_step(i + 1, t, statistics.median(seconds[t])) for i, t in enumerate(ranked)]
    total = sum(statistics.median(seconds[t]) for t in ranked)
    return _shell(sim, steps, total, len(ok))


BASELINES = {"latest-run": latest_run, "most-frequent": most_frequent}


def oracle(sim: Simulation) -> dict[str, Any]:
    """The ground truth itself in the tool's JSON shape: the scorer's upper bound (tests use it)."""
    sc = sim.scenario
    ok = _successful(sim)
    steps: list[dict[str, Any]] = []
    for i, s in enumerate(sc.steps):
        secs = [x for x in (r.step_seconds(s.id) for r in ok) if x is not None]
        step = _step(i + 1, s.action.command, statistics.median(secs) if secs else None)
        step["optional"] = s.optional
        if s.verify is not None:
            step["verification"] = {"command": s.verify.command, "expected": s.verify.output}
        steps.append(step)
    total = statistics.median(r.total_seconds for r in ok) if ok else None
    out = _shell(sim, steps, total, len(ok))
    out["troubleshooting"] = [
        {
            "title": f.id,
            "signature": f.error.splitlines()[0],
            "symptoms": [f.error],
            "cause": f.cause,
            "solution": [c.command for c in f.fix],
            "prevention": f.prevention,
            "occurrences": 1,
            "evidence": [],
        }
        for f in sc.failures
    ]
    return out
