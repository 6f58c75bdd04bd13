"""Hand-made mined parts (a realistic Lambda deployment) for the assemble / render tests."""

from __future__ import annotations

from datetime import date, datetime

from runbook.assemble import RunSet, assemble
from runbook.model import (
    AlarmDef,
    Classification,
    Command,
    EvidenceKind,
    Execution,
    FailureCluster,
    Journal,
    MinedCommand,
    MinedStep,
    ObservationMode,
    OperationType,
    Outcome,
    Param,
    ParsedFile,
    Procedure,
    Runbook,
    SourceRef,
    Stat,
)

OBS = ".claude/observations"
ECR = "{account-id}.dkr.ecr.us-east-1.amazonaws.com"


def ref(day: int, line: int = 12, name: str = "deployed-lambda") -> SourceRef:
    return SourceRef(f"{OBS}/2025-12-{day:02d}/execution-101500-{name}.md", line)


def mc(
    key: str,
    *,
    params: tuple[Param, ...] = (),
    support: int = 11,
    of: int = 11,
    is_check: bool = False,
    output: str = "",
    program: str = "",
    subcommand: str = "",
    days: tuple[int, ...] = (2, 5, 9),
    seconds: float | None = None,
) -> MinedCommand:
    return MinedCommand(
        key=key,
        text=key,
        params=params,
        support=support,
        of=of,
        optional=support * 2 <= of,
        is_check=is_check,
        duration=Stat(seconds, seconds * 1.5, support) if seconds else None,
        expected_output=output,
        evidence=tuple(ref(d) for d in days),
        program=program,
        subcommand=subcommand,
    )


BUILD = mc(
    "docker build -t report-worker:{tag} .",
    params=(Param("tag", ("v1.4.2", "v1.5.0")),),
    program="docker",
    subcommand="build",
    output="Successfully tagged report-worker:{tag}",
    seconds=80,
)
TEST = mc("pytest tests/ -q", program="pytest", output="{count} passed in {seconds}s", seconds=40)
LOGIN = mc(
    "ENV=prod doppler run -- aws ecr get-login-password --region us-east-1 | docker login --username AWS --password-stdin "
    + ECR,
    params=(Param("account-id", ("123456789012",)),),
    program="aws",
    subcommand="ecr get-login-password",
    output="Login Succeeded",
)
PUSH = mc(
    f"docker push {ECR}/report-worker:{{tag}}",
    params=(Param("account-id", ("123456789012",)), Param("tag", ("v1.4.2", "v1.5.0"))),
    program="docker",
    subcommand="push",
    seconds=35,
)
DEPLOY = mc(
    "ENV=prod doppler run -- aws lambda update-function-code --function-name report_worker --image-uri {image-uri}",
    params=(
        Param(
            "image-uri",
            (f"123456789012.dkr.ecr.us-east-1.amazonaws.com/report-worker@sha256:{'a' * 64}",),
        ),
    ),
    program="aws",
    subcommand="lambda update-function-code",
    output='{\n    "FunctionName": "report_worker",\n    "LastUpdateStatus": "InProgress"\n}',
    seconds=12,
)
WAIT = mc(
    "aws lambda wait function-updated --function-name report_worker",
    program="aws",
    subcommand="lambda wait",
    is_check=True,
    seconds=45,
)
HEALTH = mc(
    "curl -fsS https://api.example.com/health",
    program="curl",
    is_check=True,
    output='{"status": "healthy", "version": "{version}"}',
    support=10,
)
SMOKE = mc("dr test smoke", program="dr", subcommand="test smoke", is_check=True, support=9)
INVALIDATE = mc(
    "aws cloudfront create-invalidation --distribution-id {distribution-id} --paths '/*'",
    params=(Param("distribution-id", ("E2QWRUHAPOMQZL",)),),
    program="aws",
    subcommand="cloudfront create-invalidation",
    support=3,
    days=(9,),
)
LOGS = mc(
    "aws logs tail /aws/lambda/report_worker --since 5m",
    program="aws",
    subcommand="logs tail",
    is_check=True,
    support=7,
)
GIT_STATUS = mc(
    "git status --porcelain", program="git", subcommand="status", is_check=True, support=8
)

STEPS = (
    MinedStep("Build", "Build the container image", (BUILD,), None, Stat(80, 120, 11), 11, 11),
    MinedStep("Test", "Run the test suite", (TEST,), None, Stat(40, 55, 11), 11, 11),
    MinedStep("Deploy", "Push the image to ECR", (LOGIN, PUSH), None, Stat(40, 70, 11), 11, 11),
    MinedStep("Deploy", "Update the Lambda function", (DEPLOY,), WAIT, Stat(57, 90, 11), 11, 11),
    MinedStep("Verify", "Check service health", (HEALTH,), SMOKE, Stat(8, 15, 10), 10, 11),
    MinedStep(
        "Deploy", "Invalidate the CloudFront cache", (INVALIDATE,), None, None, 3, 11, optional=True
    ),
)

RUN_IDS = tuple(f"{OBS}/2025-12-{d:02d}/execution-101500-deployed-lambda.md" for d in range(1, 12))

PROCEDURE = Procedure(
    steps=STEPS,
    runs=RUN_IDS,
    total=Stat(390.0, 520.0, 10),
    noise_dropped=14,
    one_offs_dropped=5,
    pre_checks=(GIT_STATUS,),
    monitoring=(LOGS,),
)

CLUSTERS = (
    FailureCluster(
        signature="denied: Your authorization token has expired. Reauthenticate and try again.",
        title="Docker image push failed: ECR token expired",
        symptoms=("denied: Your authorization token has expired. Reauthenticate and try again.",),
        cause="The ECR login token is valid for 12 hours; the session was older.",
        solution=(LOGIN.text, PUSH.text),
        prevention="Log in to ECR right before pushing.",
        occurrences=3,
        step_key=PUSH.key,
        evidence=(
            ref(3, 40, "failure-ecr"),
            ref(7, 22, "failure-ecr"),
            SourceRef(".claude/journals/error/2025-12-07-ecr-token.md", 1),
        ),
    ),
    FailureCluster(
        signature="An error occurred (ResourceConflictException) when calling the UpdateFunctionCode operation: The operation cannot be performed at this time. An update is in progress for resource: {arn}",
        title="Lambda update already in progress",
        symptoms=(
            "An error occurred (ResourceConflictException) when calling the UpdateFunctionCode operation",
        ),
        cause="",
        solution=(WAIT.text, DEPLOY.text),
        occurrences=2,
        step_key=DEPLOY.key,
        evidence=(ref(4, 31, "failure-conflict"), ref(10, 18, "failure-conflict")),
    ),
    FailureCluster(
        signature="FAILED tests/smoke/test_reports.py::test_generate_report - AssertionError | status 500",
        title="Smoke tests fail after deploy",
        symptoms=("FAILED tests/smoke/test_reports.py::test_generate_report - AssertionError",),
        cause="",
        solution=("Rolled back to the previous image and opened a fix PR",),
        solution_is_commands=False,
        occurrences=2,
        step_key=SMOKE.key,
        rolled_back=2,
        evidence=(ref(6, 50, "failure-smoke"), ref(8, 44, "failure-smoke")),
    ),
)


def execution(day: int, *, outcome: Outcome = Outcome.SUCCESS, env: str = "prod") -> Execution:
    start = datetime(2025, 12, day, 10, 15, 0)
    return Execution(
        id=f"{OBS}/2025-12-{day:02d}/execution-101500-deployed-lambda.md",
        source=SourceRef(f"{OBS}/2025-12-{day:02d}/execution-101500-deployed-lambda.md", 0),
        kind=EvidenceKind.OBSERVATION,
        title="Deployed report_worker Lambda",
        context="Deploy the report worker to production."
        if day % 3
        else "Ship the weekly release.",
        mode=ObservationMode.EXECUTION,
        environment=env,
        started_at=start,
        outcome=outcome,
        commands=(
            Command(
                "aws --version",
                SourceRef(f"{OBS}/2025-12-{day:02d}/execution-101500-deployed-lambda.md", 20),
                exit_code=0,
                output="aws-cli/2.15.0 Python/3.11.6 Linux/6.5.0 exe/x86_64.ubuntu.22",
            ),
        ),
        owner="platform-team" if day < 4 else None,
    )


RUNS = tuple(execution(d, env="staging" if d in (2, 5) else "prod") for d in range(1, 12))
CLASSIFICATIONS = {
    e.id: Classification(OperationType.DEPLOYMENT, ("lambda",), e.environment, e.outcome, 0.9)
    for e in RUNS
}
FILES = tuple(
    ParsedFile(
        path=e.source.path, kind=EvidenceKind.OBSERVATION, sha256=f"{i:064x}", executions=(e,)
    )
    for i, e in enumerate(RUNS)
)
JOURNAL = Journal(
    id=".claude/journals/error/2025-12-07-ecr-token.md",
    source=SourceRef(".claude/journals/error/2025-12-07-ecr-token.md", 1),
    category="error",
    title="ECR token expired during push",
    date=date(2025, 12, 7),
)
ALARM = AlarmDef(
    name="report-worker-errors",
    source=SourceRef("infra/alarms/report-worker.tf", 3),
    metric="Errors",
    comparison="GreaterThanThreshold",
    threshold="5",
    period="60",
    evaluation="5",
    severity="critical",
    action="arn:aws:sns:us-east-1:123456789012:oncall-page",
)


def make_runbook(*, alarms: tuple[AlarmDef, ...] = (), owner: str = "") -> Runbook:
    return assemble(
        op_type=OperationType.DEPLOYMENT,
        scope="lambda",
        procedure=PROCEDURE,
        clusters=CLUSTERS,
        runs=RunSet(RUNS, CLASSIFICATIONS),
        failures=RunSet(()),
        journals=(JOURNAL,),
        rollback_procedure=None,
        rollback_runs=(),
        alarms=alarms,
        files=FILES,
        guides=("docs/deployment/LAMBDA.md",),
        today=date(2025, 12, 28),
        owner=owner,
    )
