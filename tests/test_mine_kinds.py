from __future__ import annotations

import pytest

from runbook.mine import check_kind, is_check, is_monitor, is_noise, role, title_for
from runbook.model import Command, SourceRef
from runbook.normalize import normalize


def _cmd(text: str, code: int | None = 0, output: str = "") -> Command:
    return Command(text=text, source=SourceRef("x.md", 1), exit_code=code, output=output)


@pytest.mark.parametrize(
    "text",
    [
        "ls -la",
        "cd infra/",
        "pwd",
        "cat README.md",
        "tail -n 50 deploy.log",
        "clear",
        "history | grep helm",
        "echo $KUBECONFIG",
        "git status",
        "git log --oneline -5",
        "git diff HEAD~1",
        "which terraform",
        "whoami",
        "vim values.yaml",
        "code .",
        "cat deploy.log | grep -i error | wc -l",
        "doppler secrets get DB_PASSWORD --plain --config prd",
        "kubectl get secret db -n prod -o jsonpath={.data.password} | base64 -d",
        "notes.md",
    ],
)
def test_navigation_and_inspection_is_noise(text: str) -> None:
    assert is_noise(normalize(text), _cmd(text))


@pytest.mark.parametrize(
    "text",
    [
        "kubectl apply -f k8s/",
        "cd infra && terraform apply -auto-approve",
        "echo 'maintenance=on' > /etc/app/flags",
        "cat migration.sql | psql -h db.internal -U app",
        "git pull --ff-only",
        "helm upgrade api ./chart -n prod",
    ],
)
def test_real_work_is_not_noise(text: str) -> None:
    assert not is_noise(normalize(text), _cmd(text))


def test_typos_are_noise() -> None:
    assert is_noise(normalize("kubctl get pods"), _cmd("kubctl get pods", 127))
    out = "zsh: command not found: terrafrom"
    assert is_noise(normalize("terrafrom plan"), _cmd("terrafrom plan", 1, out))


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("curl -fsS https://api.example.com/health", "verify"),
        ("aws lambda wait function-updated --function-name report_worker", "verify"),
        ("kubectl rollout status deployment/api -n prod", "verify"),
        ("kubectl get pods -n prod", "verify"),
        ("aws ecs describe-services --cluster main --services api", "verify"),
        ("helm status api -n prod", "verify"),
        ("dr test smoke", "verify"),
        ("pytest -m smoke tests/", "verify"),
        ("make smoke", "verify"),
        ('psql "$DATABASE_URL" -c "select count(*) from reports"', "verify"),
        ("alembic current", "verify"),
        ("redis-cli -h cache.internal INFO memory", "verify"),
        ("aws sts get-caller-identity", "verify"),
        ("terraform plan -out=tfplan", "dryrun"),
        ("kubectl apply -f k8s/ --dry-run=server", "dryrun"),
        ("aws ecr get-login-password --region us-east-1", None),
        ("kubectl apply -f k8s/", None),
        ("terraform apply tfplan", None),
        ('psql -c "ALTER TABLE reports ADD COLUMN x int"', None),
        ("curl -X POST https://hooks.slack.com/services/T0/B0/x -d '{}'", None),
        ("alembic upgrade head", None),
        ("kubectl get deploy api -o yaml > api-backup.yaml", None),
        ("redis-cli -h cache.internal CONFIG SET maxmemory 2gb", None),
    ],
)
def test_check_kinds(text: str, kind: str | None) -> None:
    t = normalize(text)
    assert check_kind(t) == kind
    assert is_check(t) is (kind is not None)


def test_monitoring_commands() -> None:
    assert is_monitor(normalize("aws logs tail /aws/lambda/report_worker --since 5m"))
    assert is_monitor(normalize("kubectl logs deploy/api -n prod --since=10m"))
    assert not is_monitor(normalize("kubectl rollout status deployment/api"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("docker build -t api:abc1234 .", "build"),
        ("pytest -q tests/unit", "test"),
        ("pg_dump -Fc -f backup.dump app", "backup"),
        (
            "aws rds create-db-snapshot --db-instance-identifier db --db-snapshot-identifier s1",
            "backup",
        ),
        ("helm upgrade api ./chart -n prod", "deploy"),
        ("kubectl rollout undo deployment/api", "revert"),
        ("alembic downgrade -1", "revert"),
        ("kubectl scale deployment api --replicas=6", "scale"),
        ("aws application-autoscaling put-scaling-policy --policy-name cpu", "optimize"),
        ("kubectl logs deploy/api", "monitor"),
        ("terraform init", "prepare"),
        ("terraform plan", "dryrun"),
    ],
)
def test_roles(text: str, expected: str) -> None:
    assert role(normalize(text)) == expected


@pytest.mark.parametrize(
    ("text", "title"),
    [
        (
            "aws lambda update-function-code --function-name w --image-uri x",
            "Update Lambda function code",
        ),
        ("docker push registry/api:{image-tag}", "Push Docker image"),
        ("aws ec2 describe-instances --filters x", "EC2: describe instances"),
        ("kubectl get pods -n prod", "Check pods"),
        ("curl -fsS https://api.example.com/health", "Check /health endpoint"),
        ("./scripts/warm-cache.sh prod", "Run ./scripts/warm-cache.sh prod"),
    ],
)
def test_titles(text: str, title: str) -> None:
    assert title_for(normalize(text), text) == title


def test_shell_wrapped_sql_read_is_a_check() -> None:
    text = 'ENV=prod doppler run -- bash -c \'psql "$DATABASE_URL" -c "select version_num from alembic_version"\''
    assert check_kind(normalize(text)) == "verify"


def test_dry_run_flag_wins_over_a_redirect() -> None:
    assert check_kind(normalize("alembic upgrade head --sql > /tmp/upgrade.sql")) == "dryrun"


def test_a_secret_read_chained_to_real_work_is_a_step() -> None:

    def noise(text: str) -> bool:
        return is_noise(normalize(text), Command(text, SourceRef("x")))

    assert noise("vault kv get -field=password secret/kafka/client")
    assert noise("aws secretsmanager get-secret-value --secret-id db && echo ok")
    assert not noise(
        "vault kv get -field=password secret/kafka/client > /dev/null && "
        "./scripts/render-client-properties.sh prod"
    )


def test_aborting_a_canary_is_a_revert_but_aborting_a_rebase_is_not() -> None:
    assert role(normalize("kubectl argo rollouts abort payments-api -n payments")) == "revert"
    assert role(normalize("git rebase --abort")) != "revert"


@pytest.mark.parametrize(
    ("command", "check"),
    [
        ("kubectl argo rollouts status payments-api -n payments --timeout 15m", True),
        ("kubectl argo rollouts promote payments-api -n payments", False),
        ("zcat backups/orders-2025-06-01.sql.gz | tail -1", True),
        ("sha256sum -c release.sha256", True),
    ],
)
def test_reads_of_nested_groups_and_backups_are_checks(command: str, check: bool) -> None:
    assert is_check(normalize(command)) is check


def test_titles_of_nested_command_groups_lead_with_the_verb() -> None:
    cmd = "az webapp deployment slot swap --name shop-web -g rg --slot staging"
    assert title_for(normalize(cmd), cmd) == "webapp: swap deployment slot"
    cmd = "kubectl argo rollouts promote payments-api -n payments"
    assert title_for(normalize(cmd), cmd) == "Run kubectl argo rollouts promote"
