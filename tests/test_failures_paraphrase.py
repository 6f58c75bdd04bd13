"""Troubleshooting on multi-author evidence: paraphrased errors, diagnosis vs fix, journals."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from _mine_runs import run

from runbook.failures import cluster, title_of
from runbook.model import Command, ErrorEvent, Execution, Journal, Outcome, SourceRef

T0 = datetime(2025, 10, 9, 13, 0, 0)
UPDATE = "aws lambda update-function-code --function-name worker --image-uri {REG}@sha256:{d}"
REG = "123456789012.dkr.ecr.us-east-1.amazonaws.com/worker"
CONFLICT = (
    "An error occurred (ResourceConflictException) when calling the UpdateFunctionCode "
    "operation: The operation cannot be performed at this time. An update is in progress for "
    "resource: arn:aws:lambda:us-east-1:123456789012:function:worker"
)
WAIT = "aws lambda wait function-updated --function-name worker"
INSPECT = "aws lambda get-function --function-name worker --query Code.ResolvedImageUri"


def _unknown_exits(e: Execution, *, keep_first: bool = False) -> Execution:
    """The run as a transcript records it: no exit codes (the first one kept if asked)."""
    cmds = tuple(
        c if keep_first and i == 0 else replace(c, exit_code=None) for i, c in enumerate(e.commands)
    )
    return replace(e, commands=cmds)


def _update(i: int) -> str:
    return UPDATE.format(REG=REG, d=f"{i:064x}")


def _failure_report() -> object:
    """A failure observation: the error verbatim and again in its timeline."""
    return run(
        "2025-10-09/failure-update-conflict",
        [(_update(1), 1, 254, CONFLICT)],
        start=T0,
        outcome=Outcome.FAILURE,
        errors=(
            ErrorEvent(CONFLICT, SourceRef("2025-10-09/failure-update-conflict.md", 25)),
            ErrorEvent(
                "update-function-code -> ResourceConflictException",
                SourceRef("2025-10-09/failure-update-conflict.md", 49),
                command=_update(1),
                at=T0 + timedelta(seconds=52),
            ),
        ),
    )


def _in_run_fix(day: int) -> object:
    return run(
        f"2025-12-{day:02d}/execution-deploy",
        [
            (_update(day), 2, 254, CONFLICT),
            (INSPECT, 1, 0, f"{REG}@sha256:{0:064x}"),
            (WAIT, 40),
            (_update(day), 30),
            ("curl -fsS https://api.example.com/health", 1),
        ],
        start=T0 + timedelta(days=day),
    )


def test_a_timeline_paraphrase_folds_into_the_printed_error() -> None:
    (c,) = cluster([_failure_report(), _in_run_fix(2)], [])  # type: ignore[list-item]
    assert c.occurrences == 2
    assert c.title.startswith("ResourceConflictException on UpdateFunctionCode")
    assert any(r.line == 49 for r in c.evidence)  # the paraphrase is a source, not an entry


def test_inspection_before_the_change_is_diagnosis_not_the_fix() -> None:
    (c,) = cluster([_in_run_fix(2), _in_run_fix(5)], [])  # type: ignore[list-item]
    assert c.solution[0] == WAIT
    assert c.solution[1].startswith("aws lambda update-function-code")
    assert all("get-function " not in line for line in c.solution)


def test_an_unproven_retry_in_a_failed_run_is_not_the_fix() -> None:
    denied = "denied: Your authorization token has expired. Reauthenticate and try again."
    push = f"docker push {REG}:abc1234"
    login = "aws ecr get-login-password | docker login --username AWS --password-stdin x"
    report = _unknown_exits(
        run(
            "2025-09-25/failure-push",
            [(push, 3, 1, denied), (push, 3, 0, "")],
            start=T0,
            outcome=Outcome.FAILURE,
        ),
        keep_first=True,
    )
    session = _unknown_exits(
        run(
            "2025-11-20/session",
            [(push, 3, 0, f"Preparing\n{denied}"), (login, 2, 0, "Login Succeeded"),
             (push, 60, 0, "digest: sha256:abc size: 2419")],
            start=T0 + timedelta(days=40),
        )
    )  # fmt: skip
    (c,) = cluster([report, session], [])  # type: ignore[list-item]
    assert c.occurrences == 2
    assert c.solution[0] == login
    assert c.solution[1].startswith("docker push")


def test_a_verbose_and_a_summary_test_line_are_one_failure() -> None:
    summary = "FAILED tests/smoke/test_reports.py::test_create_report - AssertionError: got 500"
    verbose = "tests/smoke/test_reports.py::test_create_report FAILED [ 50%]"
    a = run("a", [("dr test smoke", 9, 1, summary)], start=T0, outcome=Outcome.FAILURE)
    b = run("b", [("dr test smoke", 9, 1, verbose)], start=T0 + timedelta(days=20),
            outcome=Outcome.FAILURE)  # fmt: skip
    (c,) = cluster([a, b], [])  # type: ignore[list-item]
    assert c.occurrences == 2


def test_journal_fix_without_navigation_and_with_run_values_templated() -> None:
    lock = "Error: Error acquiring the state lock"
    failure = run(
        "f", [("terraform plan -out=tfplan", 3, 1, lock)], start=T0, outcome=Outcome.FAILURE
    )
    ref = SourceRef("j.md", 30)
    journal = Journal(
        id="j",
        source=SourceRef("j.md"),
        category="error",
        title="Terraform state lock",
        error_messages=(lock,),
        root_cause="A cancelled apply left its lock.",
        solution_commands=(
            Command("cd infra/envs/prod", ref),
            Command("terraform force-unlock -force 6f1d2c3b-8e4a-4f7b-9a2c-1d0e5b7c9f31", ref),
            Command("terraform plan -out=tfplan", ref),
        ),
    )
    (c,) = cluster([failure], [journal])  # type: ignore[list-item]
    assert c.cause == "A cancelled apply left its lock."
    assert c.solution[0].startswith("terraform force-unlock -force {")
    assert "6f1d2c3b" not in c.solution[0]
    assert not any(line.startswith("cd ") for line in c.solution)


def test_terraform_box_frame_is_not_part_of_the_title() -> None:
    assert title_of("│ Error: Error acquiring the state lock") == "Error acquiring the state lock"


def test_a_second_journal_about_a_listed_failure_is_not_a_second_entry() -> None:
    lock = "Error: Error acquiring the state lock"
    failure = run(
        "f", [("terraform plan -out=tfplan", 3, 1, lock)], start=T0, outcome=Outcome.FAILURE
    )

    def journal(day: int, prevention: str) -> Journal:
        return Journal(
            id=f"j{day}",
            source=SourceRef(f".claude/journals/error/2025-10-{day:02d}-state-lock.md"),
            category="error",
            title="State lock during apply",
            error_messages=(lock,),
            root_cause="A cancelled apply left its lock." if day == 1 else "",
            prevention=prevention,
        )

    (c,) = cluster([failure], [journal(1, ""), journal(20, "Queue applies in CI.")])  # type: ignore[list-item]
    assert c.cause == "A cancelled apply left its lock."
    assert c.prevention == "Queue applies in CI."  # filled from the second write-up
    assert {r.path for r in c.evidence} >= {
        ".claude/journals/error/2025-10-01-state-lock.md",
        ".claude/journals/error/2025-10-20-state-lock.md",
    }


def test_lines_one_command_printed_about_one_exception_are_one_failure() -> None:
    log = "[WARNING] api.clients: invoke worker attempt 3/3 failed: TooManyRequestsException"
    trace = "botocore.errorfactory.TooManyRequestsException: An error occurred (x) (retries: 2)"
    probe = "curl -sS https://api.example.com/r"
    report = run(
        "failure-timeout",
        [(probe, 29, 1, "504")],
        start=T0,
        outcome=Outcome.FAILURE,
        errors=(
            ErrorEvent(log, SourceRef("failure-timeout.md", 38), command=probe),
            ErrorEvent(trace, SourceRef("failure-timeout.md", 45), command=probe),
        ),
    )
    (c,) = cluster([report], [])  # type: ignore[list-item]
    assert set(c.symptoms) == {log, trace}


def test_a_later_run_that_only_ran_the_command_again_is_the_weakest_fix() -> None:
    denied = "unexpected status: 401 Unauthorized"
    push = "docker buildx build -t ghcr.io/acme/api:v{n} --push ."
    login = "echo $TOKEN | docker login ghcr.io -u ci --password-stdin"
    runs = []
    for i in range(3):  # failure reports, then a plain successful run each
        runs.append(
            run(f"f{i}", [(push.format(n=i), 5, 1, denied)], start=T0 + timedelta(days=3 * i),
                outcome=Outcome.FAILURE)
        )  # fmt: skip
        runs.append(run(f"ok{i}", [(push.format(n=i), 60)], start=T0 + timedelta(days=3 * i + 1)))
    runs.append(
        run("inrun", [(push.format(n=9), 5, 1, denied), (login, 2), (push.format(n=9), 60)],
            start=T0 + timedelta(days=20))
    )  # fmt: skip
    (c,) = cluster(runs, [])  # type: ignore[list-item]
    assert c.solution[0] == login
