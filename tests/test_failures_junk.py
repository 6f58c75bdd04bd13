from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from _mine_runs import run

from runbook.failures import cluster
from runbook.model import ErrorEvent, Execution, SourceRef

T0 = datetime(2025, 5, 7, 10, 0, 0)
_TAIL = "aws logs tail /aws/lambda/report-worker --since 15m --filter-pattern ERROR"
_COUNT = "kubectl logs deployment/checkout-api -n checkout --since=10m | grep -c ERROR"


def _timeline_run(i: int) -> Execution:
    """A run whose timeline lines (read as error events) only name commands that mention ERROR."""
    at = T0 + timedelta(days=i)
    cmds: list[tuple[object, ...]] = [
        ("aws lambda list-versions-by-function --function-name report-worker", 3),
        (_TAIL, 5, 0, "2025-05-07T10:11:02 ERROR Unhandled exception: KeyError"),
        (
            "aws lambda update-alias --function-name report-worker --name live --function-version 57",
            4,
        ),
        (_COUNT, 2, 0, "3"),
        (_TAIL, 5, 0, ""),
    ]
    rid = f"2025-05-0{i + 1}/execution-rollback-{i}"
    path = f".claude/observations/{rid}.md"
    errors = [
        ErrorEvent(_TAIL, SourceRef(path, 32), at=at + timedelta(seconds=3)),
        ErrorEvent(f"`{_COUNT}`", SourceRef(path, 36), at=at + timedelta(seconds=12)),
    ]
    return run(rid, cmds, start=at, errors=errors)


def test_timeline_lines_naming_commands_are_not_errors() -> None:
    got = cluster([_timeline_run(i) for i in range(3)], [])
    assert got == ()


def test_search_for_errors_with_unknown_exit_is_not_a_failure() -> None:
    # session notes record no exit codes: a repeated log search that prints ERROR lines is
    # doing its job, not failing and being retried
    runs = [
        replace(r, errors=(), commands=tuple(replace(c, exit_code=None) for c in r.commands))
        for r in (_timeline_run(i) for i in range(3))
    ]
    assert cluster(runs, []) == ()


def test_command_text_plus_a_real_error_is_still_an_error() -> None:
    at = T0
    cmds: list[tuple[object, ...]] = [
        (
            "helm upgrade api ./chart --set image.tag=v2",
            30,
            1,
            "Error: UPGRADE FAILED: timed out waiting",
        ),
        ("helm rollback api 3", 10),
    ]
    rid = "2025-05-09/execution-helm"
    path = f".claude/observations/{rid}.md"
    line = "helm upgrade api ./chart --set image.tag=v2 — Error: UPGRADE FAILED: timed out waiting"
    r = run(rid, cmds, start=at, errors=[ErrorEvent(line, SourceRef(path, 20), at=at)])
    got = cluster([r], [])
    assert len(got) == 1
    assert "UPGRADE FAILED" in got[0].signature
    # a failed log search (exit 1) still is a failure of that command
    failed = run(
        "2025-05-10/execution-tail",
        [
            (
                _TAIL,
                5,
                255,
                "An error occurred (ResourceNotFoundException): log group does not exist",
            )
        ],
        start=at,
    )
    assert len(cluster([failed], [])) == 1
