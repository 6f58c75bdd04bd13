"""Drift and success metrics: evidence corpora where the procedure changed, slowed down, or
gained a new failure, checked through the real pipeline (readers, classify, mine, failures)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from _validate_corpus import (
    BUILD,
    HEALTH,
    LOGS,
    PUSH,
    ROLLOUT,
    RUNBOOK,
    TEST,
    TOTAL_S,
    UPGRADE,
    base_corpus,
    call,
    deploy,
    write_failure,
    write_run,
    write_runbook,
)

from runbook import api
from runbook.model import Finding, Metric, RunbookValidation

TODAY = date(2025, 11, 20)
NEWER = (datetime(2025, 11, 10, 10), datetime(2025, 11, 12, 10), datetime(2025, 11, 14, 10))


def line_of(prefix: str) -> int:
    return next(i for i, line in enumerate(RUNBOOK.split("\n"), 1) if line.startswith(prefix))


def check(root: Path, since: date | None = None) -> RunbookValidation:
    report = api.validate([root / "runbooks"], root=root, since=since, today=TODAY)
    assert len(report.runbooks) == 1
    return report.runbooks[0]


def rules(result: RunbookValidation) -> dict[str, list[Finding]]:
    out: dict[str, list[Finding]] = {}
    for f in result.findings:
        out.setdefault(f.rule, []).append(f)
    return out


def metric(result: RunbookValidation, name: str) -> Metric:
    return next(m for m in result.metrics if m.name == name)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    base_corpus(tmp_path)
    write_runbook(tmp_path)
    return tmp_path


def test_unchanged_procedure_has_no_drift(root: Path) -> None:
    for i, when in enumerate(NEWER):
        deploy(root, when, f"e{i}abcde")
    result = check(root)
    drift = {r for r in rules(result) if r.startswith("RB2")} - {"RB206"}
    assert drift == set()
    assert result.window == "3 runs after 2025-10-05"
    assert (
        metric(result, "followed-success").numerator,
        metric(result, "followed-success").denominator,
    ) == (3, 3)


def test_changed_procedure_reports_new_and_dropped_commands(root: Path) -> None:
    # Newer runs skip the tests and update chart dependencies before the upgrade.
    for i, when in enumerate(NEWER):
        sha = f"f{i}abcde"
        calls = [call(s, sha) for s in (BUILD, PUSH)]
        calls.append(("helm dependency update ./chart", 8.0, 0, "Saving 2 charts"))
        calls += [call(s, sha) for s in (UPGRADE, ROLLOUT, HEALTH, LOGS)]
        write_run(root, when, calls)
    found = rules(check(root))
    assert any("helm dependency update ./chart" in f.message for f in found["RB201"])
    assert len(found["RB201"]) == 1
    stale = found["RB202"]
    assert [f.line for f in stale] == [line_of("### Step 1: Run the tests")]
    assert "0/3" in stale[0].message


def test_slower_build_is_reported_for_the_step_and_the_total(root: Path) -> None:
    for i, when in enumerate(NEWER):
        deploy(root, when, f"a{i}bcdef", build_s=400.0)
    found = rules(check(root))
    steps = found["RB203"]
    assert len(steps) == 1 and "Step 2 (Build the image)" in steps[0].message
    assert "stated ~2 min" in steps[0].message and "observed median 6.7 min" in steps[0].message
    total = found["RB204"]
    assert total[0].line == line_of("**Estimated Duration**")
    assert "observed median 9.9 min" in total[0].message


def test_small_timing_noise_is_not_drift(root: Path) -> None:
    for i, when in enumerate(NEWER):
        deploy(root, when, f"b{i}cdefa", build_s=130.0)  # +8 %: inside the ±20 % band
    assert "RB203" not in rules(check(root))


def test_new_failure_without_entry_is_reported_and_covered_one_is_not(root: Path) -> None:
    for i, when in enumerate(NEWER):
        deploy(root, when, f"c{i}defab")
    write_failure(
        root,
        datetime(2025, 11, 11, 9),
        "Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress",
        "helm upgrade billing-api ./chart -n prod --set image.tag=c9defab",
        "helm upgrade blocked by a pending release",
    )
    write_failure(
        root,
        datetime(2025, 11, 13, 9),
        "denied: requested access to the resource is denied",
        "docker push registry.example.com/billing-api:c8defab",
        "docker push denied",
    )
    result = check(root)
    uncovered = rules(result)["RB205"]
    assert len(uncovered) == 1
    assert "UPGRADE FAILED" in uncovered[0].message
    coverage = metric(result, "troubleshooting-coverage")
    assert (coverage.numerator, coverage.denominator) == (1, 2)
    assert coverage.met is False


def test_rollback_exercised_by_a_recorded_run(root: Path) -> None:
    write_run(
        root,
        datetime(2025, 10, 4, 16),
        [
            ("helm rollback billing-api -n prod", 12.0, 0, "Rollback was a success!"),
            call(ROLLOUT, ""),
        ],
        slug="rollback-billing-api-prod",
    )
    result = check(root)
    assert "RB206" not in rules(result)
    rollback = metric(result, "rollback-exercised")
    assert (rollback.numerator, rollback.denominator) == (1, 1)


def test_rollback_never_exercised(root: Path) -> None:
    found = rules(check(root))
    assert [f.line for f in found["RB206"]] == [line_of("## Rollback Procedure")]


def test_since_overrides_last_validated(root: Path) -> None:
    for i, when in enumerate(NEWER):
        deploy(root, when, f"d{i}efabc", build_s=400.0)
    # Since 2025-11-13 only one newer run remains: too few for a median, so no duration drift.
    result = check(root, since=date(2025, 11, 13))
    assert result.window == "1 run since 2025-11-13"
    assert "RB203" not in rules(result)
    assert any("need at least 2" in n for n in result.notes)


def test_metrics_on_a_corpus_with_known_answers(root: Path) -> None:
    # Four runs follow the runbook: three succeed (314 s, 320 s, 420 s), one fails (300 s).
    # One unrelated run (a health probe only) does not follow it.
    deploy(root, datetime(2025, 11, 10, 10), "e1e1e1e")
    write_run(
        root,
        datetime(2025, 11, 11, 10),
        [call(s, "e2e2e2e") for s in (TEST, BUILD, PUSH, UPGRADE, ROLLOUT, HEALTH, LOGS)],
        total_s=320.0,
    )
    write_run(
        root,
        datetime(2025, 11, 12, 10),
        [call(s, "e3e3e3e") for s in (TEST, BUILD, PUSH, UPGRADE, ROLLOUT, HEALTH, LOGS)],
        total_s=420.0,
    )
    failed = [call(s, "e4e4e4e") for s in (TEST, BUILD, PUSH, UPGRADE)]
    failed.append(
        (
            "kubectl rollout status deployment/billing-api -n prod --timeout=120s",
            120.0,
            1,
            'error: deployment "billing-api" exceeded its progress deadline',
        )
    )
    write_run(
        root,
        datetime(2025, 11, 13, 10),
        failed,
        outcome="Failure. The rollout never became ready.",
        total_s=300.0,
    )
    write_run(
        root,
        datetime(2025, 11, 14, 10),
        [call(HEALTH, "")],
        slug="deployment-billing-api-probe",
        outcome="Success.",
    )
    result = check(root)
    followed = metric(result, "followed-success")
    assert (followed.numerator, followed.denominator) == (3, 4)
    accuracy = metric(result, "duration-accuracy")
    # 5.2 min stated: 314 s, 320 s and 300 s are within ±20 %, 420 s is not.
    assert (accuracy.numerator, accuracy.denominator) == (3, 4)
    assert accuracy.target == 0.8 and accuracy.met is False
    coverage = metric(result, "troubleshooting-coverage")
    assert coverage.denominator == 1 and coverage.numerator == 0
    assert TOTAL_S == 314.0


def test_no_evidence_for_the_operation_is_a_note(tmp_path: Path) -> None:
    write_runbook(tmp_path)
    (tmp_path / "docs").mkdir()
    result = check(tmp_path)
    assert result.metrics == ()
    assert any("no recorded run" in n for n in result.notes)


@pytest.mark.parametrize(
    ("runbook", "run", "same"),
    [
        ("docker build -t api:{sha} .", "docker build -t api:1a2b3c4 .", True),
        (
            "ENV={env} doppler run -- aws lambda update-function-code --function-name w --image-uri {uri}",
            "aws lambda update-function-code --function-name w --image-uri 1.dkr.ecr/w@sha256:ab",
            True,
        ),
        ("dr test smoke", "dr test all", False),
        ("curl -fsS {url}", "curl -fsS https://api.example.com/health", True),
        # Many shared flags, but another metric of another namespace: another command.
        (
            "aws cloudwatch get-metric-statistics --namespace AWS/ApiGateway --metric-name 5XXError "
            "--start-time {start} --end-time {end} --period 300 --statistics Sum --output text",
            "aws cloudwatch get-metric-statistics --namespace AWS/RDS --metric-name CPUUtilization "
            "--start-time 2025-11-01T10:00:00Z --end-time 2025-11-01T11:00:00Z --period 300 "
            "--statistics Sum --output text",
            False,
        ),
        # One optional flag missing from a long command is still the same command.
        (
            "aws logs tail /aws/lambda/w --since 10m --filter-pattern ERROR --format short",
            "aws logs tail /aws/lambda/w --since 10m --filter-pattern ERROR",
            True,
        ),
        ("kubectl delete pod api-0 -n prod", "kubectl delete pod api-0 -n staging", False),
    ],
)
def test_command_matching(runbook: str, run: str, same: bool) -> None:
    from runbook.validate import command_matches

    assert command_matches(runbook, run) is same


def test_a_run_recorded_twice_counts_once(root: Path) -> None:
    for i, when in enumerate(NEWER):
        deploy(root, when, f"e{i}abcde")
    # the same third run, also written up in a second file (another format of the same run)
    calls = [call(spec, "e2abcde") for spec in (TEST, BUILD, PUSH, UPGRADE, ROLLOUT, HEALTH, LOGS)]
    write_run(root, NEWER[2], calls, slug="deployment-billing-api-prod-copy")
    result = check(root)
    assert result.window == "3 runs after 2025-10-05"
    followed = metric(result, "followed-success")
    assert (followed.numerator, followed.denominator) == (3, 3)
