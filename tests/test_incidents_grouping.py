"""group_incidents finds the report a run answers through a time index: the same answer as
checking every report (the rule: within 1 h before to RESPONSE_WINDOW after, sharing words)."""

from __future__ import annotations

from datetime import datetime, timedelta

from runbook.incidents import MIN_SHARED, RESPONSE_WINDOW, group_incidents
from runbook.model import (
    Command,
    ErrorEvent,
    EvidenceKind,
    Execution,
    ObservationMode,
    SourceRef,
)

T0 = datetime(2025, 3, 1, 8)
TOPICS = ("redis memory eviction", "postgres connection pool", "api gateway timeout")


def _report(i: int) -> Execution:
    at = T0 + timedelta(hours=7 * i)
    return Execution(
        id=f"report-{i:03d}",
        source=SourceRef(f"obs/failure-{i:03d}.md", 1),
        kind=EvidenceKind.OBSERVATION,
        title=TOPICS[i % 3],
        mode=ObservationMode.FAILURE,
        started_at=at,
        errors=(ErrorEvent(message="boom", source=SourceRef(f"obs/failure-{i:03d}.md", 9)),),
    )


def _run(i: int) -> Execution:
    at = T0 + timedelta(hours=5 * i, minutes=13)
    return Execution(
        id=f"run-{i:03d}",
        source=SourceRef(f"obs/execution-{i:03d}.md", 1),
        kind=EvidenceKind.OBSERVATION,
        title=f"mitigate {TOPICS[(i * 2) % 3]}",
        mode=ObservationMode.EXECUTION,
        started_at=at,
        commands=(Command(text="kubectl get pods", source=SourceRef("x", 1), exit_code=0),),
    )


def _words(e: Execution) -> set[str]:
    return set(e.title.split())


def _brute_host(run: Execution, reports: list[Execution]) -> str | None:
    assert run.started_at is not None
    for r in sorted(reports, key=lambda e: (e.started_at, e.id)):
        assert r.started_at is not None
        if (
            r.started_at - timedelta(hours=1) <= run.started_at <= r.started_at + RESPONSE_WINDOW
            and len(_words(run) & _words(r)) >= MIN_SHARED
        ):
            return r.id
    return None


def test_each_run_joins_the_earliest_report_it_answers() -> None:
    reports = [_report(i) for i in range(40)]
    runs = [_run(i) for i in range(60)]
    incidents = group_incidents([*runs, *reports], [])
    joined = {rid: inc.failures[0] for inc in incidents if inc.failures for rid in inc.responses}
    expected = {r.id: h for r in runs if (h := _brute_host(r, reports)) is not None}
    assert expected  # the corpus does exercise the rule
    assert joined == expected
    # runs that answer no report stand alone, each its own incident
    alone = {inc.responses[0] for inc in incidents if not inc.failures}
    assert alone == {r.id for r in runs} - set(expected)
