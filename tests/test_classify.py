from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runbook.classify import (
    classify,
    classify_journal,
    command_facts,
    is_development_task,
    query_terms,
    select,
    split_compound,
)
from runbook.model import (
    Command,
    ErrorEvent,
    EvidenceKind,
    Execution,
    Journal,
    ObservationMode,
    OperationType,
    Outcome,
    SourceRef,
)

OT = OperationType


def run(
    path: str = "notes/session.md",
    *commands: str,
    title: str = "",
    context: str = "",
    tags: tuple[str, ...] = (),
    mode: ObservationMode | None = None,
    kind: EvidenceKind = EvidenceKind.NOTES,
    declared: str | None = None,
    environment: str | None = None,
    errors: tuple[str, ...] = (),
    outcome: Outcome = Outcome.UNKNOWN,
) -> Execution:
    return Execution(
        id=path,
        source=SourceRef(path),
        kind=kind,
        title=title,
        context=context,
        mode=mode,
        environment=environment,
        outcome=outcome,
        commands=tuple(Command(c, SourceRef(path, i)) for i, c in enumerate(commands, 1)),
        errors=tuple(ErrorEvent(m, SourceRef(path)) for m in errors),
        tags=tags,
        declared_type=declared,
    )


# ------------------------------------------------------------- command families alone

# Untitled notes (no slug word, no title): only the commands can tell.
FAMILY_CASES = [
    (
        ["aws lambda update-function-code --function-name api --zip-file fileb://f.zip"],
        OT.DEPLOYMENT,
    ),
    (
        ["docker build -t app .", "docker push 123.dkr.ecr.us-east-1.amazonaws.com/app:1"],
        OT.DEPLOYMENT,
    ),
    (["helm upgrade api ./chart -n prod --install"], OT.DEPLOYMENT),
    (["kubectl set image deployment/api api=repo/api:2"], OT.DEPLOYMENT),
    (["kubectl apply -f k8s/"], OT.DEPLOYMENT),
    (["terraform init", "terraform plan -out tf.plan", "terraform apply tf.plan"], OT.DEPLOYMENT),
    (["sam build", "sam deploy --no-confirm-changeset"], OT.DEPLOYMENT),
    (["npx serverless deploy --stage prod"], OT.DEPLOYMENT),
    (["gh workflow run deploy.yml -f env=prod"], OT.DEPLOYMENT),
    (
        [
            "npm run build",
            "aws s3 sync dist/ s3://site --delete",
            "aws cloudfront create-invalidation --distribution-id E1 --paths '/*'",
        ],
        OT.DEPLOYMENT,
    ),
    (["eb deploy api-prod"], OT.DEPLOYMENT),
    (["fly deploy --app api"], OT.DEPLOYMENT),
    (["kubectl rollout undo deployment/api -n prod"], OT.ROLLBACK),
    (["helm rollback api 41"], OT.ROLLBACK),
    (
        [
            "aws lambda update-alias --function-name api --name live --function-version $PREVIOUS_VERSION"
        ],
        OT.ROLLBACK,
    ),
    (["git revert --no-edit HEAD", "git push origin main"], OT.ROLLBACK),
    (["alembic upgrade head"], OT.MIGRATION),
    (["flyway -url=jdbc:postgresql://db/app migrate"], OT.MIGRATION),
    (["migrate -path db/migrations -database postgres://u@db/app up"], OT.MIGRATION),
    (["dbmate up"], OT.MIGRATION),
    (["bundle exec rails db:migrate"], OT.MIGRATION),
    (["bin/rails db:migrate RAILS_ENV=production"], OT.MIGRATION),
    (["npx prisma migrate deploy"], OT.MIGRATION),
    (["psql -h db -U app -f migrations/0042_add_index.sql"], OT.MIGRATION),
    (["pg_dump -Fc app > backup.dump", "python manage.py migrate"], OT.MIGRATION),
    (["kubectl scale deployment/api --replicas=10"], OT.SCALING),
    (["aws application-autoscaling register-scalable-target --service-namespace ecs"], OT.SCALING),
    (["aws ecs update-service --cluster prod --service api --desired-count 12"], OT.SCALING),
    (
        [
            "aws rds create-db-instance-read-replica --db-instance-identifier db-r2 --source-db-instance-identifier db"
        ],
        OT.SCALING,
    ),
    (
        [
            "aws rds create-db-instance --db-instance-identifier acme-reader-3 --db-cluster-identifier acme --engine aurora-postgresql --db-instance-class db.r6g.large"
        ],
        OT.SCALING,
    ),
    (
        [
            "aws lambda put-provisioned-concurrency-config --function-name api --qualifier live --provisioned-concurrent-executions 50"
        ],
        OT.SCALING,
    ),
    (
        ["aws autoscaling set-desired-capacity --auto-scaling-group-name web --desired-capacity 8"],
        OT.SCALING,
    ),
    (["helm upgrade api ./chart --set replicaCount=6"], OT.SCALING),
    (
        [
            "aws logs filter-log-events --log-group-name /aws/lambda/api --filter-pattern ERROR",
            "kubectl logs deploy/api --since 10m",
        ],
        OT.INCIDENT,
    ),
    (["psql -c 'select count(*) from pg_stat_activity'"], OT.INCIDENT),
    (["ls -la", "cat README", "echo hello"], OT.NONE),
]


@pytest.mark.parametrize(("commands", "expected"), FAMILY_CASES, ids=lambda v: str(v)[:60])
def test_command_families(commands: list[str], expected: OperationType) -> None:
    c = classify(run("notes/session-12.md", *commands))
    assert c.operation_type is expected, c.reasons
    if expected is not OT.NONE:
        assert any(r.startswith("command: ") for r in c.reasons)
        assert 0 < c.confidence <= 1
    else:
        assert c.confidence == 0.0


def test_compound_commands_are_split() -> None:
    assert split_compound("a && b || c; d | e") == ["a", "b", "c", "d", "e"]
    assert split_compound("echo 'a && b' && ls") == ["echo 'a && b'", "ls"]
    assert split_compound('psql -c "select 1; select 2"') == ['psql -c "select 1; select 2"']
    assert split_compound("terraform apply \\\n  -auto-approve") == [
        "terraform apply    -auto-approve"
    ]
    labels = [f.family for f in command_facts("cd infra && terraform apply -auto-approve")]
    assert labels[-1] == "terraform/tofu/terragrunt apply"


def test_global_flags_before_the_service_do_not_hide_the_family() -> None:
    c = classify(
        run(
            "x.md",
            "aws --profile prod --region eu-west-1 lambda update-function-code --function-name api",
        )
    )
    assert c.operation_type is OT.DEPLOYMENT
    assert c.environment == "prod"
    assert "api" in c.scopes and "lambda" in c.scopes


# ----------------------------------------------------------------- text signals


@pytest.mark.parametrize(
    ("path", "title", "expected"),
    [
        (".claude/observations/2025-12-23/execution-143052-deploy-api.md", "", OT.DEPLOYMENT),
        (".claude/observations/2025-12-23/execution-143052-release-v2.md", "", OT.DEPLOYMENT),
        (".claude/observations/2025-12-23/execution-143052-roll-back-api.md", "", OT.ROLLBACK),
        (
            ".claude/observations/2025-12-23/execution-143052-x.md",
            "Reverting the bad config push",
            OT.ROLLBACK,
        ),
        (
            ".claude/observations/2025-12-23/execution-143052-aurora-schema-change.md",
            "",
            OT.MIGRATION,
        ),
        ("notes/python-upgrade.md", "Python 3.11 to 3.12", OT.MIGRATION),
        (".claude/observations/2025-12-23/behavior-143052-scaling-readers.md", "", OT.SCALING),
        ("notes/x.md", "Handle 10x traffic for launch", OT.SCALING),
        ("postmortems/2025-11-02-checkout.md", "", OT.INCIDENT),
        ("notes/x.md", "API latency spike on checkout", OT.INCIDENT),
        ("notes/x.md", "Team lunch planning", OT.NONE),
    ],
)
def test_slug_title_and_path_words(path: str, title: str, expected: OperationType) -> None:
    assert classify(run(path, title=title)).operation_type is expected


def test_declared_type_and_tags_count() -> None:
    c = classify(run("x.md", declared="migration", tags=("aurora",)))
    assert c.operation_type is OT.MIGRATION
    assert c.reasons[0] == "declared: migration"
    assert "database" in c.scopes and "aurora" in c.scopes


def test_rollback_is_not_deployment_because_it_redeploys() -> None:
    ex = run(
        ".claude/observations/2025-10-30/execution-142610-rollback-report-worker.md",
        "docker pull 1234.dkr.ecr.us-east-1.amazonaws.com/report-worker:previous",
        "aws lambda update-function-code --function-name report_worker --image-uri 1234.dkr.ecr.us-east-1.amazonaws.com/report-worker@sha256:abc",
        "aws lambda publish-version --function-name report_worker",
        "aws lambda wait function-updated --function-name report_worker",
        "docker push 1234.dkr.ecr.us-east-1.amazonaws.com/report-worker:previous",
        title="Roll back report-worker",
    )
    c = classify(ex)
    assert c.operation_type is OT.ROLLBACK
    assert "slug: rollback" in c.reasons


def test_rollback_from_previous_version_context_without_words() -> None:
    ex = run(
        "notes/friday.md",
        "PREV=$(aws lambda list-versions-by-function --function-name api | jq -r '.Versions[-2].Version')",
        "aws lambda update-alias --function-name api --name live --function-version $PREV",
    )
    assert classify(ex).operation_type is OT.ROLLBACK


def test_failure_observation_of_a_deployment_stays_a_deployment() -> None:
    ex = run(
        ".claude/observations/2025-10-09/failure-134855-deployment-lambda-update-conflict.md",
        "aws lambda update-function-code --function-name api",
        mode=ObservationMode.FAILURE,
        kind=EvidenceKind.OBSERVATION,
        errors=("ResourceConflictException: The operation cannot be performed at this time.",),
    )
    c = classify(ex)
    assert c.operation_type is OT.DEPLOYMENT
    assert c.outcome is Outcome.FAILURE  # unknown outcome of a failure report is a failure


def test_failure_observation_without_a_planned_operation_is_an_incident() -> None:
    ex = run(
        ".claude/observations/2025-11-02/failure-031500-checkout-502s.md",
        "curl -sS -o /dev/null -w '%{http_code}' https://api.example.com/health",
        mode=ObservationMode.FAILURE,
        kind=EvidenceKind.OBSERVATION,
    )
    c = classify(ex)
    assert c.operation_type is OT.INCIDENT
    assert "failure observation" in c.reasons


def test_error_journal_is_incident_evidence() -> None:
    j = Journal(
        id="j1",
        source=SourceRef(".claude/journals/error/2025-12-01-db-pool.md"),
        category="error",
        title="Database connection pool exhausted",
        symptoms=("API returns 500", "too many clients already"),
        error_messages=("FATAL: sorry, too many clients already",),
        root_cause="pool size 100 with 4 tasks",
        resolved=True,
        environment="production",
    )
    c = classify_journal(j)
    assert c.operation_type is OT.INCIDENT
    assert c.environment == "prod"
    assert c.outcome is Outcome.SUCCESS
    assert "database" in c.scopes


# ---------------------------------------------------------------- scope and env


def test_scopes_from_commands_and_resource_names() -> None:
    ex = run(
        "x.md",
        "aws ecs update-service --cluster payments --service checkout-api --force-new-deployment",
        "aws s3 sync build/ s3://www-bucket",
        "aws cloudfront create-invalidation --distribution-id E2 --paths /index.html",
        "terraform -chdir=infra apply",
        "kubectl rollout status deployment/ledger",
        "redis-cli -h cache info memory",
        tags=("smoke-test", "payments"),
    )
    c = classify(ex)
    for scope in (
        "frontend",
        "infrastructure",
        "ecs",
        "payments",
        "checkout-api",
        "terraform",
        "kubernetes",
        "ledger",
        "redis",
    ):
        assert scope in c.scopes, (scope, c.scopes)
    assert "smoke-test" not in c.scopes  # an activity tag the commands never touch
    assert c.scopes[:2] == ("frontend", "infrastructure")  # canonical scopes first


@pytest.mark.parametrize(
    ("commands", "declared", "expected"),
    [
        (["ENV=prod doppler run -- ./deploy.sh"], None, "prod"),
        (
            ["aws --profile staging lambda update-function-code --function-name api"],
            None,
            "staging",
        ),
        (["kubectl -n production rollout restart deploy/api"], None, "prod"),
        (["eb deploy -e production"], None, "prod"),
        (["curl http://localhost:8080/health"], None, "local"),
        (["psql -h db.staging.internal -c 'select 1'"], None, "staging"),
        (["aws lambda update-function-code --function-name api-dev"], None, "dev"),
        (["aws lambda update-function-code --function-name api"], "Production", "prod"),
        (["echo hi"], None, None),
    ],
)
def test_environment(commands: list[str], declared: str | None, expected: str | None) -> None:
    assert classify(run("x.md", *commands, environment=declared)).environment == expected


# ------------------------------------------------------------------------ select


def corpus() -> list[Execution]:
    return [
        run(
            ".claude/observations/2025-01-01/execution-100000-deploy-api.md",
            "aws lambda update-function-code --function-name api",
            outcome=Outcome.SUCCESS,
        ),
        run(
            ".claude/observations/2025-01-02/execution-100000-deploy-web.md",
            "aws s3 sync dist s3://web",
            "aws cloudfront create-invalidation --distribution-id E --paths /*",
        ),
        run(
            ".claude/observations/2025-01-03/execution-100000-rollback-api.md",
            "aws lambda update-alias --function-name api --name live --function-version 7",
        ),
        run(
            ".claude/observations/2025-01-04/failure-100000-api-timeout.md",
            mode=ObservationMode.FAILURE,
            title="API Gateway timeout on /reports",
            errors=("Task timed out after 30.00 seconds",),
            context="The API returned 504 after 29s; the report lambda timed out",
        ),
        run(
            ".claude/observations/2025-01-05/failure-100000-db-pool.md",
            mode=ObservationMode.FAILURE,
            title="Database connection pool exhausted",
            errors=("FATAL: remaining connection slots are reserved",),
            context="connection pool exhausted under load; database refused new connections",
        ),
        run(
            ".claude/observations/2025-01-06/failure-100000-deploy-timeout.md",
            "aws lambda update-function-code --function-name api",
            mode=ObservationMode.FAILURE,
            errors=("Error: Task timed out waiting for function update",),
        ),
        run(
            ".claude/journals/error/2025-01-07-disk-full.md",
            kind=EvidenceKind.JOURNAL,
            title="Disk full on build host",
            errors=("No space left on device",),
        ),
    ]


def test_select_by_type_and_scope_word() -> None:
    ex = corpus()
    got = [e.id for e, _ in select(ex, OT.DEPLOYMENT, "lambda")]
    assert sorted(got) == [
        ".claude/observations/2025-01-01/execution-100000-deploy-api.md",
        ".claude/observations/2025-01-06/failure-100000-deploy-timeout.md",
    ]
    assert [e.id for e, _ in select(ex, OT.DEPLOYMENT, "frontend")] == [
        ".claude/observations/2025-01-02/execution-100000-deploy-web.md"
    ]
    assert [e.id for e, _ in select(ex, OT.ROLLBACK, "LAMBDA")] == [
        ".claude/observations/2025-01-03/execution-100000-rollback-api.md"
    ]
    assert len(select(ex, OT.DEPLOYMENT, None)) == 3
    # a service name is a scope too, written with - or _
    assert [e.id for e, _ in select(ex, OT.DEPLOYMENT, "API")] == [
        ".claude/observations/2025-01-01/execution-100000-deploy-api.md",
        ".claude/observations/2025-01-06/failure-100000-deploy-timeout.md",
    ]
    assert select(ex, OT.MIGRATION, None) == []


def test_select_free_text_ranks_with_bm25() -> None:
    ex = corpus()
    got = select(ex, OT.INCIDENT, "API timeout")
    ids = [e.id for e, _ in got]
    assert ids[0] == ".claude/observations/2025-01-04/failure-100000-api-timeout.md"
    assert ".claude/observations/2025-01-05/failure-100000-db-pool.md" not in ids
    assert ".claude/journals/error/2025-01-07-disk-full.md" not in ids
    assert got[0][1] == 1.0
    assert all(0 < s <= 1 for _, s in got)

    got = select(ex, OT.INCIDENT, "Database connection pool exhausted")
    assert [e.id for e, _ in got] == [".claude/observations/2025-01-05/failure-100000-db-pool.md"]


def test_select_free_text_never_returns_zero_relevance() -> None:
    assert select(corpus(), OT.INCIDENT, "kafka consumer lag") == []
    assert select(corpus(), OT.INCIDENT, "the of and") == []


def test_select_is_deterministic() -> None:
    ex = corpus()
    assert select(ex, OT.INCIDENT, "timeout") == select(list(reversed(ex)), OT.INCIDENT, "timeout")


def test_query_terms() -> None:
    assert query_terms("Handle the 10x traffic, for API") == ["10x", "traffic", "api"]


def test_free_text_word_shared_by_every_run_of_the_type_still_counts() -> None:
    # bm25's idf is ~0 for a word in every document of a small pool; the ranking must not
    # collapse to "nothing relevant" when every migration run says "aurora schema".
    ex = [
        run(
            f".claude/observations/2025-0{i}-01/execution-100000-migration-aurora-schema.md",
            "alembic upgrade head",
        )
        for i in range(1, 6)
    ] + [run("notes/deploy-api.md", "sam deploy", title="Deploy API")]
    got = select(ex, OT.MIGRATION, "Aurora schema change")
    assert len(got) == 5
    assert all(score > 0 for _, score in got)


def test_free_text_synonyms_find_load_for_traffic() -> None:
    ex = [
        run(
            "a/behavior-1-scaling-readers.md",
            "kubectl scale deployment/api --replicas=8",
            context="load doubled after launch",
        ),
        run(
            "b/behavior-2-scaling-workers.md",
            "kubectl scale deployment/worker --replicas=4",
            context="queue depth",
        ),
    ]
    got = select(ex, OT.SCALING, "Handle 10x traffic")
    assert [e.id for e, _ in got] == ["a/behavior-1-scaling-readers.md"]


# ------------------------------------------------------------ development tasks


@pytest.mark.parametrize(
    "text",
    [
        "Add new API endpoint",
        "Fix typo in README.md",
        "implement feature X",
        "refactor the billing module",
        "write tests",
        "Add unit tests for the parser",
        "Create a settings page component",
        "rename getUser to fetchUser",
    ],
)
def test_development_tasks_are_refused(text: str) -> None:
    assert is_development_task(text)


@pytest.mark.parametrize(
    "text",
    [
        "Add read replica",
        "Aurora read replica addition",
        "Handle 10x traffic",
        "API timeout",
        "Python 3.11 to 3.12",
        "Database connection pool exhausted",
        "Lambda cold start latency",
        "DynamoDB single-table design",
        "Aurora schema change",
        "lambda",
        "frontend",
        "fix failed deploy",
        "add column to orders table",
        "",
    ],
)
def test_operations_are_not_development_tasks(text: str) -> None:
    assert not is_development_task(text)


# ------------------------------------------------------------------- robustness


@settings(max_examples=200, deadline=None)
@given(
    commands=st.lists(st.text(max_size=80), max_size=5),
    title=st.text(max_size=40),
    tags=st.lists(st.text(max_size=12), max_size=4),
    environment=st.none() | st.text(max_size=12),
)
def test_classify_never_crashes_and_is_deterministic(
    commands: list[str], title: str, tags: list[str], environment: str | None
) -> None:
    ex = run("notes/x.md", *commands, title=title, tags=tuple(tags), environment=environment)
    first = classify(ex)
    assert first == classify(ex)
    assert 0.0 <= first.confidence <= 1.0
    assert list(first.scopes) == list(dict.fromkeys(first.scopes))  # no duplicates


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=60))
def test_select_and_dev_task_never_crash(text: str) -> None:
    is_development_task(text)
    for _, score in select(corpus(), OT.INCIDENT, text):
        assert 0 < score <= 1


def test_shell_history_session_is_classified_by_its_commands() -> None:
    ex = run(
        ".bash_history",
        "cd ~/src/payments",
        "git pull",
        "kubectl config use-context prod-eks",
        "kubectl -n payments rollout undo deployment/payments-api",
        "kubectl -n payments rollout status deployment/payments-api",
        "kubectl -n payments get pods",
        kind=EvidenceKind.SHELL_HISTORY,
    )
    c = classify(ex)
    assert c.operation_type is OT.ROLLBACK
    assert c.environment == "prod"
    assert "payments-api" in c.scopes and "kubernetes" in c.scopes


# ------------------------------------------------- styles seen in held-out corpora


def test_version_named_run_with_a_repair_step_is_a_deployment() -> None:
    ex = run(
        ".claude/observations/2025-11-24/execution-162530-payments-api-2-17-0-after-repair.md",
        "cloud-sql-proxy acme-pay-prod:europe-west1:payments-db --port 5433",
        "flyway -url=jdbc:postgresql://127.0.0.1:5433/payments info",
        "flyway -url=jdbc:postgresql://127.0.0.1:5433/payments repair",
        "helm upgrade payments-api ./charts/payments-api -n payments --set image.tag=2.17.0 --wait",
        "kubectl rollout status deployment/payments-api -n payments --timeout=5m",
        context="payments-api 2.17.0 — flyway repair then redo the upgrade",
        tags=("payments-api", "deploy", "flyway", "repair"),
    )
    c = classify(ex)
    assert c.operation_type is OT.DEPLOYMENT, c.reasons
    assert c.environment == "prod"  # the loopback address is a tunnel, not the environment


def test_failure_named_after_its_tool_keeps_the_attempted_operation() -> None:
    ex = run(
        ".claude/observations/2025-11-24/failure-154012-payments-api-2-17-0-flyway-checksum.md",
        "helm upgrade payments-api ./charts/payments-api -n payments --set image.tag=2.17.0 --wait",
        "kubectl logs job/payments-api-flyway -n payments --tail=30",
        mode=ObservationMode.FAILURE,
        kind=EvidenceKind.OBSERVATION,
        context="payments-api 2.17.0 upgrade failed in the Flyway pre-upgrade hook",
        tags=("payments-api", "deploy", "flyway"),
    )
    assert classify(ex).operation_type is OT.DEPLOYMENT


def test_outage_during_a_node_upgrade_is_an_incident() -> None:
    ex = run(
        ".claude/observations/2025-12-17/failure-031744-redis-clusterdown-node-upgrade.md",
        "kubectl exec -n payments redis-cluster-0 -- redis-cli --cluster check redis-cluster-0:6379",
        mode=ObservationMode.FAILURE,
        kind=EvidenceKind.OBSERVATION,
        context="Redis CLUSTERDOWN during GKE node auto-upgrade",
        tags=("redis", "gke", "incident"),
    )
    c = classify(ex)
    assert c.operation_type is OT.INCIDENT
    assert "redis" in c.scopes and "call" not in c.scopes


def test_error_journal_whose_fix_scales_is_still_an_incident() -> None:
    j = Journal(
        id="j",
        source=SourceRef(".claude/journals/error/2025-12-04-cloudsql-connection-exhaustion.md"),
        category="error",
        title="Cloud SQL connection slots exhausted when HPA scaled payments-api to 40 pods",
        error_messages=("FATAL: remaining connection slots are reserved",),
        solution_commands=(
            Command(
                'kubectl patch hpa payments-api -n payments -p \'{"spec":{"maxReplicas":24}}\'',
                SourceRef("j", 9),
            ),
            Command(
                "kubectl scale deployment payments-api -n payments --replicas=24",
                SourceRef("j", 10),
            ),
        ),
        severity="high",
    )
    assert classify_journal(j).operation_type is OT.INCIDENT


def test_exec_wrapped_commands_are_classified_as_themselves() -> None:
    facts = command_facts("kubectl exec -it deploy/api -- psql -c 'select * from pg_stat_activity'")
    assert [f.family for f in facts] == ["kubectl/oc", "psql/mysql"]
    assert (OT.INCIDENT, 1.5) in facts[1].votes
