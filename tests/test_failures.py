from __future__ import annotations

import random
from datetime import datetime, timedelta

from _mine_runs import run

from runbook.failures import cluster, salient_line, title_of
from runbook.model import Command, ErrorEvent, Journal, ObservationMode, Outcome, SourceRef

T0 = datetime(2025, 11, 1, 9, 0, 0)
REG = "123456789012.dkr.ecr.us-east-1.amazonaws.com/report-worker"
LOGIN = (
    "aws ecr get-login-password --region us-east-1 | docker login --username AWS "
    "--password-stdin 123456789012.dkr.ecr.us-east-1.amazonaws.com"
)
DENIED = "denied: Your authorization token has expired. Reauthenticate and try again."


def _deploy(i: int, *, expired: bool) -> list[tuple[object, ...]]:
    sha = f"b{i:06x}"
    cmds: list[tuple[object, ...]] = [(f"docker build -t report-worker:{sha} .", 170)]
    if expired:
        cmds += [
            (f"docker push {REG}:{sha}", 3, 1, f"The push refers to repository [{REG}]\n{DENIED}"),
            ("ls ~/.docker", 0.1),
            (LOGIN, 2, 0, "Login Succeeded"),
        ]
    cmds += [
        (f"docker push {REG}:{sha}", 80),
        ("aws lambda update-function-code --function-name w --image-uri x", 4),
    ]
    return cmds


def test_fix_from_the_same_run() -> None:
    runs = [
        run(f"r{i}", _deploy(i, expired=i in (1, 4, 6)), start=T0 + timedelta(days=i))
        for i in range(8)
    ]
    (c,) = cluster(runs, [])
    assert c.occurrences == 3
    assert c.symptoms == (DENIED,)
    assert c.title == "denied: Your authorization token has expired"
    assert c.solution[0] == LOGIN  # constant across occurrences: literal
    assert c.solution[1].startswith(f"docker push {REG}:{{")  # the retried push, templated
    assert len(c.solution) == 2 and c.solution_is_commands
    assert c.step_key is not None and c.step_key.startswith("docker push")
    assert c.cause == ""  # no journal, no recorded cause
    assert any(ref.path.endswith("r1.md") for ref in c.evidence)


def test_fix_from_the_next_run() -> None:
    failure = run(
        "2025-11-03/failure-push",
        [
            ("docker build -t report-worker:c403818 .", 170),
            (f"docker push {REG}:c403818", 3, 1, DENIED),
        ],
        start=T0 + timedelta(days=2),
        outcome=Outcome.FAILURE,
        mode=ObservationMode.FAILURE,
    )
    normal = [run(f"r{i}", _deploy(i, expired=False), start=T0 + timedelta(days=i)) for i in (0, 1)]
    fixed = run(
        "r-next",
        [
            (LOGIN, 2),
            ("docker build -t report-worker:d51a7e2 .", 170),
            (f"docker push {REG}:d51a7e2", 80),
        ],
        start=T0 + timedelta(days=2, hours=1),
    )
    later = [run(f"r{i}", _deploy(i, expired=False), start=T0 + timedelta(days=i)) for i in (5, 6)]
    (c,) = cluster([*later, fixed, failure, *normal], [])
    assert c.occurrences == 1
    # the routine build is not part of the fix; the login and the successful push are
    assert c.solution[0] == LOGIN
    assert c.solution[1].startswith("docker push")
    assert len(c.solution) == 2


def _lock_failure(i: int, lock_id: str) -> object:
    message = (
        "Error: Error acquiring the state lock\n\n"
        "Error message: ConditionalCheckFailedException: The conditional request failed\n"
        f"Lock Info:\n  ID:        {lock_id}\n  Path:      acme/terraform.tfstate"
    )
    return run(
        f"2025-11-{i + 10:02d}/failure-terraform-lock",
        [("terraform apply -auto-approve", 12, 1)],
        start=T0 + timedelta(days=10 + i),
        outcome=Outcome.FAILURE,
        mode=ObservationMode.FAILURE,
        errors=[
            ErrorEvent(message, SourceRef(f"f{i}.md", 30), command="terraform apply -auto-approve")
        ],
    )


JOURNAL = Journal(
    id=".claude/journals/error/2025-11-12-terraform-state-lock.md",
    source=SourceRef(".claude/journals/error/2025-11-12-terraform-state-lock.md"),
    category="error",
    title="Terraform state lock left behind after a crashed apply",
    error_messages=("Error: Error acquiring the state lock",),
    root_cause="A previous terraform apply crashed without releasing the DynamoDB lock.",
    solution="Confirm nobody is applying, then force-unlock.",
    solution_commands=(Command("terraform force-unlock {lock-id}", SourceRef("j.md", 20)),),
    prevention="Run terraform apply with -lock-timeout=5m from CI only.",
    verification="terraform plan shows no lock error.",
)


def test_cluster_by_signature_with_journal_cause_and_solution() -> None:
    ids = ["1b2c3d4e-0000-4bbb-8ccc-123456789abc", "9f8e7d6c-1111-4aaa-9bbb-cba987654321"]
    failures = [_lock_failure(i, lock) for i, lock in enumerate(ids)]
    unrelated = Journal(
        id="j-other",
        source=SourceRef("j-other.md"),
        category="error",
        title="Lambda cold start latency",
        error_messages=("Task timed out after 30.00 seconds",),
        root_cause="cold starts",
    )
    clusters = cluster(failures, [unrelated, JOURNAL])  # type: ignore[list-item]
    lock = next(c for c in clusters if c.occurrences == 2)
    assert lock.title == "Error acquiring the state lock"
    assert lock.cause == JOURNAL.root_cause
    assert lock.solution == ("terraform force-unlock {lock-id}",)
    assert lock.prevention == JOURNAL.prevention
    assert lock.verification == JOURNAL.verification
    assert JOURNAL.source in lock.evidence
    assert lock.step_key == "terraform apply -auto-approve"
    # the unmatched journal is kept as a journal-only entry, after the observed one
    assert clusters[0] is lock
    other = clusters[1]
    assert other.occurrences == 1 and other.cause == "cold starts"


def test_prose_solution_when_journal_has_no_commands() -> None:
    journal = Journal(
        id="j",
        source=SourceRef("j.md"),
        category="error",
        title="State lock",
        error_messages=("Error: Error acquiring the state lock",),
        root_cause="crash",
        solution="- Wait for the other apply to finish\n- Ask in #infra before unlocking",
    )
    (c,) = cluster([_lock_failure(0, "1b2c3d4e-0000-4bbb-8ccc-123456789abc")], [journal])  # type: ignore[list-item]
    assert c.solution == ("Wait for the other apply to finish", "Ask in #infra before unlocking")
    assert not c.solution_is_commands


def test_near_identical_signatures_merge_for_the_same_program() -> None:
    runs = []
    for i, pod in enumerate(["api-7d9f8b-xk2lp", "api-7d9f8b-qq9zz", "api-55c4d-aa1bb"]):
        runs.append(
            run(
                f"f{i}",
                [
                    (
                        "kubectl rollout status deployment/api -n prod",
                        120,
                        1,
                        f'error: deployment "api" exceeded its progress deadline (pod {pod})',
                    )
                ],
                start=T0 + timedelta(days=i),
                outcome=Outcome.FAILURE,
            )
        )
    clusters = cluster(runs, [])
    assert len(clusters) == 1 and clusters[0].occurrences == 3


def test_rolled_back_counts_failures_followed_by_a_rollback_run() -> None:
    fail = run(
        "f1",
        [
            (
                "helm upgrade api ./chart -n prod --wait",
                300,
                1,
                "Error: UPGRADE FAILED: timed out waiting for the condition",
            )
        ],
        start=T0,
        outcome=Outcome.FAILURE,
    )
    fail_late = run(
        "f2",
        [
            (
                "helm upgrade api ./chart -n prod --wait",
                300,
                1,
                "Error: UPGRADE FAILED: timed out waiting for the condition",
            )
        ],
        start=T0 + timedelta(days=3),
        outcome=Outcome.FAILURE,
    )
    rollback = run(
        "rb1",
        [("helm rollback api 41 -n prod", 20)],
        start=T0 + timedelta(minutes=25),
        declared_type="rollback",
        title="Rollback api after failed upgrade",
    )
    (c,) = cluster([fail, fail_late, rollback], [])
    assert c.occurrences == 2 and c.rolled_back == 1
    assert c.title == "UPGRADE FAILED: timed out waiting for the condition"


def test_sorted_by_occurrences_then_title_and_deterministic() -> None:
    runs = [
        run(f"r{i}", _deploy(i, expired=i % 2 == 0), start=T0 + timedelta(days=i)) for i in range(6)
    ]
    runs += [_lock_failure(0, "1b2c3d4e-0000-4bbb-8ccc-123456789abc")]  # type: ignore[list-item]
    first = cluster(runs, [JOURNAL])
    assert [c.occurrences for c in first] == [3, 1]
    shuffled = list(runs)
    random.Random(4).shuffle(shuffled)
    assert cluster(shuffled, [JOURNAL]) == first


def test_typos_are_not_failures() -> None:
    r = run("r", [("kubctl get pods", 0.1, 127, "zsh: command not found: kubctl")], start=T0)
    assert cluster([r], []) == ()


def test_salient_line_and_titles() -> None:
    trace = (
        "Traceback (most recent call last):\n  File \"h.py\", line 3\nKeyError: 'OPENAI_API_KEY'"
    )
    assert salient_line(trace) == "KeyError: 'OPENAI_API_KEY'"
    assert title_of("KeyError: 'OPENAI_API_KEY'") == "KeyError: 'OPENAI_API_KEY'"
    aws = (
        "An error occurred (ResourceConflictException) when calling the UpdateFunctionCode "
        "operation: The operation cannot be performed at this time. An update is in progress."
    )
    assert title_of(aws) == (
        "ResourceConflictException on UpdateFunctionCode: The operation cannot be performed at this time"
    )
    assert title_of("2025-11-20T09:18:44Z ERROR Error: connection refused") == "connection refused"


def test_a_rollback_after_an_unretried_failure_is_the_remedy() -> None:
    runs = []
    for i in range(3):
        runs.append(
            run(
                f"r{i}",
                [
                    ("helm upgrade checkout-api charts/checkout-api -n checkout --wait", 90),
                    (
                        "make smoke ENV=prod",
                        20,
                        1,
                        "smoke: FAIL /api/cart returned 500 (expected 200)",
                    ),
                    (f"helm rollback checkout-api {40 + i} -n checkout --wait", 40),
                    ("kubectl rollout status deployment/checkout-api -n checkout", 30),
                    ("ls", 0.1),
                ],
                start=T0 + timedelta(days=i),
                outcome=Outcome.FAILURE,
            )
        )
    (c,) = cluster(runs, [])
    assert c.occurrences == 3
    assert c.solution[0].startswith("helm rollback checkout-api {")
    assert c.solution[1] == "kubectl rollout status deployment/checkout-api -n checkout"
    assert c.rolled_back == 3


def test_the_same_error_seen_through_different_commands_is_one_cluster() -> None:
    first = run(
        "probe",
        [
            (
                "curl -sS https://api.example.com/reports",
                30,
                28,
                "0e7d... Task timed out after 90.10 seconds",
            )
        ],
        start=T0,
        outcome=Outcome.FAILURE,
    )
    second = run(
        "logs",
        [
            (
                "aws logs tail /aws/lambda/w --since 10m",
                3,
                1,
                "6c1e... Task timed out after 90.09 seconds",
            )
        ],
        start=T0 + timedelta(days=1),
        outcome=Outcome.FAILURE,
    )
    (c,) = cluster([first, second], [])
    assert c.occurrences == 2
    assert c.title.startswith("Task timed out after")


def test_a_bare_number_is_not_a_symptom() -> None:
    r = run(
        "r",
        [("curl -sS -w '%{time_total}' https://x.example/", 30, 28, "29.031")],
        start=T0,
        outcome=Outcome.FAILURE,
    )
    assert cluster([r], []) == ()


def test_a_later_success_with_no_remedy_says_so() -> None:
    # The smoke test failed and the run was abandoned; the next run passed it with nothing
    # new done: the only "fix" on record is running it again, and the entry says so.
    smoke = "./scripts/smoke.sh https://checkout.example.com"
    failure = run(
        "2025-11-03/failure-smoke",
        [
            ("helm upgrade api charts/api -n prod --wait", 90),
            (smoke, 20, 1, "smoke: FAIL /api/cart returned 500 (expected 200)"),
        ],
        start=T0 + timedelta(days=2),
        outcome=Outcome.FAILURE,
        mode=ObservationMode.FAILURE,
    )
    ok = [
        run(f"ok{i}", [("helm upgrade api charts/api -n prod --wait", 90), (smoke, 20)],
            start=T0 + timedelta(days=i))
        for i in (0, 1, 3, 4)
    ]  # fmt: skip
    (c,) = cluster([*ok, failure], [])
    assert c.solution == (smoke,)
    assert c.solution_note.startswith("Only evidence: a later run ran this command again")


def test_a_recorded_remedy_carries_no_note() -> None:
    runs = [
        run(f"r{i}", _deploy(i, expired=i in (1, 4, 6)), start=T0 + timedelta(days=i))
        for i in range(8)
    ]
    (c,) = cluster(runs, [])
    assert c.solution_note == ""
