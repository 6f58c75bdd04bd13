"""Render a `Runbook` as JSON, schema_version 1 (field names fixed by the generate issue).

Keys are emitted in a fixed order (not sorted, not dict-order dependent on input), evidence as
``"path:line"`` strings, placeholders inside commands as ``{name}``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from runbook.model import (
    Check,
    Duration,
    Runbook,
    SourceRef,
    Step,
    TroubleshootingEntry,
)

SCHEMA_VERSION = 1


def _evidence(refs: Sequence[SourceRef]) -> list[str]:
    return [f"{r.path}:{r.line}" for r in refs]


def _items(items: Sequence[Any]) -> list[str]:
    # Prerequisite items render as their text with the provenance appended when not observed,
    # so JSON readers see "default"/"derived" just like markdown readers.
    out: list[str] = []
    for item in items:
        text = item.text
        if item.provenance in ("default", "derived"):
            text = f"{text} ({item.provenance})"
        out.append(text)
    return out


def _duration(duration: Duration | None) -> dict[str, Any] | None:
    if duration is None or duration.median_seconds is None:
        return None
    return {"median_seconds": duration.median_seconds, "p90_seconds": duration.p90_seconds}


def _step(step: Step) -> dict[str, Any]:
    return {
        "number": step.number,
        "name": step.name,
        "title": step.title,
        "purpose": step.purpose,
        "commands": list(step.commands),
        "parameters": [{"name": p.name, "examples": list(p.examples)} for p in step.parameters],
        "expected_output": step.expected_output,
        "duration": _duration(step.duration),
        "verification": (
            {"command": step.verification.command, "expected": step.verification.expected}
            if step.verification
            else None
        ),
        "if_failed": list(step.if_failed),
        "support": {"runs": step.support.runs, "of": step.support.of},
        "optional": step.optional,
        "evidence": _evidence(step.evidence),
    }


def _check(check: Check) -> dict[str, Any]:
    return {
        "title": check.title,
        "command": check.command,
        "expected": check.expected,
        "if_failed": check.if_failed,
    }


def _issue(entry: TroubleshootingEntry) -> dict[str, Any]:
    return {
        "title": entry.title,
        "signature": entry.signature,
        "symptoms": list(entry.symptoms),
        "cause": entry.cause,
        "solution": list(entry.solution),
        "solution_note": entry.solution_note,
        "prevention": entry.prevention,
        "occurrences": entry.occurrences,
        "evidence": _evidence(entry.evidence),
    }


def runbook_dict(runbook: Runbook) -> dict[str, Any]:
    """The schema_version 1 document as plain data, keys in schema order."""
    estimated = runbook.estimated_duration
    return {
        "schema_version": SCHEMA_VERSION,
        "title": runbook.title,
        "operation_type": runbook.operation_type.value,
        "scope": runbook.scope,
        "generated": runbook.generated.isoformat(),
        "last_validated": runbook.last_validated.isoformat() if runbook.last_validated else None,
        "owner": runbook.owner,
        "review_frequency": runbook.review_frequency,
        "estimated_duration": {
            "median_seconds": estimated.median_seconds,
            "p90_seconds": estimated.p90_seconds,
            "runs": estimated.runs,
        },
        "sources": [
            {
                "path": s.path,
                "kind": s.kind,
                "date": s.date,
                "outcome": s.outcome,
                "sha256": s.sha256,
            }
            for s in runbook.sources
        ],
        "prerequisites": {
            "environment": _items(runbook.prerequisites.environment),
            "pre_checks": _items(runbook.prerequisites.pre_checks),
            "tools": _items(runbook.prerequisites.tools),
            "access": _items(runbook.prerequisites.access),
        },
        "steps": [_step(s) for s in runbook.steps],
        "verification_checks": [_check(c) for c in runbook.verification_checks],
        "rollback": {
            "when": list(runbook.rollback.when),
            "decision_matrix": [
                {"condition": d.condition, "action": d.action}
                for d in runbook.rollback.decision_matrix
            ],
            "steps": [
                {"title": r.title, "commands": list(r.commands), "verification": r.verification}
                for r in runbook.rollback.steps
            ],
            "provenance": runbook.rollback.provenance,
        },
        "monitoring": {
            "watch": _items(runbook.monitoring.watch),
            "alert_thresholds": [
                {
                    "metric": t.metric,
                    "warning": t.warning,
                    "critical": t.critical,
                    "action": t.action,
                    "provenance": t.provenance,
                }
                for t in runbook.monitoring.alert_thresholds
            ],
        },
        "troubleshooting": [_issue(t) for t in runbook.troubleshooting],
        "related": [{"path": r.path, "kind": r.kind} for r in runbook.related],
    }


def render_json(runbook: Runbook) -> str:
    """The runbook as schema_version 1 JSON text (indent 2, UTF-8, trailing newline)."""
    return json.dumps(runbook_dict(runbook), indent=2, sort_keys=False, ensure_ascii=False) + "\n"
