"""Command-family tables as data: noise, checks, roles, phases and step-title verbs.

Every decision the miner makes about *what kind* of command it sees comes from these tables,
so supporting a new tool is a table edit, not new logic. Sample command the tables classify:
    ENV=prod doppler run -- aws lambda wait function-updated --function-name report_worker
(program ``aws``, subcommand ``lambda wait``: a verifying check of role "check").
"""

from __future__ import annotations

import re
import shlex
from functools import lru_cache

from runbook.model import OperationType
from runbook.normalize import program_name, resolve_program

# ------------------------------------------------------------------------ noise

# Programs that only navigate or inspect the local workstation: never procedure steps.
NOISE_PROGRAMS = frozenset(
    {
        "ls", "ll", "la", "l", "dir", "cd", "pushd", "popd", "pwd", "cat", "bat", "less",
        "more", "head", "tail", "clear", "cls", "reset", "history", "echo", "printf", "which",
        "whereis", "type", "whoami", "id", "vim", "vi", "nvim", "nano", "emacs", "code",
        "subl", "man", "help", "exit", "logout", "true", "sl", "tree", "sleep", "date",
        "hostname", "uptime", "env", "printenv", "open", "file", "stat", "wc", "export",
        "unset", "set", "alias", "unalias", "source", "fg", "bg", "jobs",
    }
)  # fmt: skip

# Subcommands that are inspection noise for otherwise meaningful programs.
NOISE_SUBCOMMANDS = {
    "git": frozenset({"status", "log", "diff", "show", "branch", "remote", "stash list"}),
}

# Commands that print a secret to the terminal: never a step (and never worth showing).
SECRET_READ = re.compile(
    r"\b(?:doppler secrets (?:get|download)|secretsmanager get-secret-value|"
    r"ssm get-parameters? .*--with-decryption|kubectl get secrets?\b|vault (?:kv )?(?:read|get)|"
    r"op (?:read|item get)|pass show|gcloud secrets versions access|"
    r"az keyvault secret show|base64 (?:-d|--decode))",
)

# Filters that may follow a noise command in a pipeline without giving it side effects.
PIPE_FILTERS = frozenset(
    {"grep", "egrep", "fgrep", "rg", "head", "tail", "less", "more", "wc", "sort", "uniq",
     "cut", "awk", "sed", "jq", "yq", "column", "tr", "tee", "cat", "xargs"}
)  # fmt: skip

# A line stating an error (used to spot failed attempts whose exit code was not recorded).
ERROR_LINE = re.compile(
    r"Error:|error:|\bERROR\b|Exception\b|[a-z]Error\b|\bdenied\b|\bDenied\b|\bFATAL\b|"
    r"\bfatal:|\b[Ff]ailed\b|\bFAIL(?:ED)?\b|timed out|[Tt]imeout\b|refused|[Uu]nauthorized|"
    r"[Ff]orbidden|Traceback|panic:|\bERR!"
)

# Wider net for attempts that were run again: with the retry as evidence of failure,
# softer wording counts too.
RETRY_ERROR_LINE = re.compile(
    ERROR_LINE.pattern
    + r"|unable to|\bcannot\b|could not|couldn't|can't|not allowed|\binvalid\b|rejected|"
    r"exceeded|conflict|no space|out of memory|throttl|too many requests|\b(?:429|50[0-4])\b"
)

# Bare document names a prompt-like output line can turn into a fake "command".
DOC_FILE = re.compile(r"^[\w./-]+\.(?:md|txt|json|ya?ml|log|csv|ini|cfg|conf|toml|rst)$", re.I)

COMMAND_NOT_FOUND = re.compile(
    r"command not found|not recognized as an internal or external command|"
    r"No such file or directory \(os error 2\)|Unknown command:|unknown command \"",
    re.IGNORECASE,
)

# --------------------------------------------------------------------- checks

# Last subcommand words (or their prefixes for aws-style verbs) that read rather than change.
CHECK_WORDS = frozenset(
    {
        "status", "health", "healthcheck", "ping", "version", "info", "list", "ls", "show",
        "get", "describe", "check", "verify", "wait", "top", "logs", "history", "current",
        "heads", "inspect", "whoami", "events", "tail", "stats", "dbsize", "explain",
        "cluster-info", "can-i", "validate", "output", "lookup", "query", "search", "ps",
        "images", "dig", "view", "watch", "test-connection", "df",
    }
)  # fmt: skip
CHECK_PREFIXES = ("describe-", "get-", "list-", "wait-", "check-", "head-", "lookup-", "test-")
# aws-style verbs that look like reads but perform an action (authentication, uploads).
NOT_CHECK_WORDS = frozenset(
    {
        "get-login-password", "get-login", "get-authorization-token", "get-secret-value",
        "get-parameter", "get-parameters", "get-token", "get-credentials", "get-object",
        "test-invoke-method",
    }
)  # fmt: skip
# Programs whose every invocation is a read / probe.
CHECK_PROGRAMS = frozenset(
    {"curl", "wget", "http", "https", "httpie", "dig", "nslookup", "host", "ping", "nc", "hey", "ab", "wrk",
     "telnet", "traceroute", "openssl", "grpcurl", "xh", "journalctl", "stern", "k9s",
     # reading back what a step wrote: a backup's tail, a checksum
     "zcat", "xzcat", "bzcat", "zgrep", "zless", "sha256sum", "sha1sum", "md5sum", "b2sum"}
)  # fmt: skip
# Dry runs / pre-checks: read-only, but never the verification of the step before them.
# (``terraform show`` reads the state or a saved plan: a read, not a dry run.)
DRYRUN_SUBCOMMANDS = {
    "terraform": frozenset({"plan", "validate", "fmt"}),
    "tofu": frozenset({"plan", "validate", "fmt"}),
    "terragrunt": frozenset({"plan", "validate"}),
    "helm": frozenset({"diff", "lint", "template"}),
    "kubectl": frozenset({"diff"}),
    "pulumi": frozenset({"preview"}),
    "cdk": frozenset({"diff", "synth"}),
    "alembic": frozenset({"check"}),
}
# Flags that turn a command into a read (``pg_restore --list``, ``tar --list``).
READ_FLAGS = frozenset({"--list", "--status", "--verify", "--test", "--check-only", "--version"})
# A dry run that only reports through its exit status whether anything would change
# (``terraform plan -detailed-exitcode`` without ``-out``) is a check of the current state.
STATE_CHECK_FLAGS = frozenset({"-detailed-exitcode", "--detailed-exitcode"})
# ... unless it also saves what it would do, to apply next.
SAVE_PLAN_FLAGS = frozenset({"-out", "--out"})
DRYRUN_FLAGS = frozenset(
    {"--dry-run", "--dryrun", "--check", "--sql", "--plan", "--noop", "--diff"}
)
# A SELECT that calls a function with side effects (cancel a query, end a session, move a
# sequence, take a lock) changes state: not a read.
SQL_READ = re.compile(
    r"^\s*(?!select\b.*\b(?:pg_cancel_backend|pg_terminate_backend|pg_reload_conf|setval|nextval|"
    r"pg_advisory_lock|pg_advisory_unlock|pg_switch_wal|pg_create_restore_point|kill)\s*\()"
    r"(?:select|show|explain|with|\\d|\\l|\\dt|\\conninfo|table)\b",
    re.I | re.S,
)
HTTP_WRITE = re.compile(
    r"(?:^|\s)(?:-X|--request)\s*(?:POST|PUT|DELETE|PATCH)\b|(?:^|\s)(?:-d|--data\S*|-F|--form|-T|--upload-file)(?:\s|=)"
)

# Commands that read logs or metrics: monitoring (also checks).
MONITOR_PATTERNS = (
    re.compile(
        r"^aws logs (?:tail|filter-log-events|get-log-events|start-query|get-query-results)\b"
    ),
    re.compile(r"^aws cloudwatch (?:get-metric-statistics|get-metric-data|describe-alarms)\b"),
    re.compile(r"^(?:kubectl|oc) (?:logs|top)\b"),
    re.compile(r"^(?:docker|podman) (?:logs|stats)\b"),
    re.compile(r"^(?:journalctl|stern)\b"),
    re.compile(r"^(?:heroku|fly|flyctl|gcloud logging|az monitor) ?(?:logs|read|metrics)?\b"),
    re.compile(r"^(?:sentry-cli|datadog-ci|promtool|logcli)\b"),
)

# ---------------------------------------------------------------------- roles

# (program, regex over "program subcommand rest"), role. First match wins; order matters.
ROLE_RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (role, re.compile(pattern))
    for role, pattern in (
        ("revert", r"\b(?:rollout undo|rollback|roll-back|revert|downgrade|undo|(?<!-)abort)\b"),
        ("backup", r"\b(?:pg_dump|pg_dumpall|pg_basebackup|mysqldump|mongodump|create-db-snapshot|create-db-cluster-snapshot|create-snapshot|create-backup|start-backup-job|backup|bgsave|snapshot create|velero backup)\b"),
        ("auth", r"\b(?:login|get-login-password|auth|configure sso|sso login|assume-role)\b"),
        ("optimize", r"\b(?:put-scaling-policy|register-scalable-target|autoscale|put-scheduled-update-group-action|set resources|hpa|vpa|put-provisioned-concurrency-config|tune|optimi[sz]e)\b"),
        ("scale", r"\b(?:scale|set-desired-capacity|update-auto-scaling-group|modify-replication-group|increase-replica-count|modify-db-instance|modify-cache-cluster|put-function-concurrency|desired-count|--replicas|add-nodes|resize)\b"),
        ("build", r"^(?:\S+ build\b|docker (?:build|buildx build|compose build)|podman build|buildah|kaniko|(?:npm|pnpm|yarn|bun) (?:run )?build|(?:npm|pnpm|yarn) (?:ci|install)|make(?: build| all| package|$)|go build|cargo build|mvn (?:package|install|clean)|gradle|\./gradlew|sam build|zip|tar|pip install|poetry (?:build|install)|uv (?:build|sync)|python -m build|docker tag|dotnet (?:build|publish)|packer build|hugo|next build)\b"),
        ("test", r"^(?:\S+ (?:test|tests|unit|lint|check)\b|pytest|python -m pytest|tox|nox|(?:npm|pnpm|yarn|bun) (?:run )?test|make (?:test|check|lint)|go test|go vet|cargo test|mvn test|jest|vitest|ruff|flake8|eslint|mypy|shellcheck|hadolint|tflint|checkov|trivy|k6|locust|ab|hey|artillery|alembic upgrade .*--sql)\b"),
        ("document", r"\b(?:gh issue create|gh pr comment|jira|slack|notify|post-mortem|postmortem|pagerduty|opsgenie|incident (?:create|resolve|update)|statuspage|git commit|hooks\.slack\.com|webhook)\b"),
        ("decide", r"\b(?:rollout history|helm history|list-versions-by-function|list-aliases|describe-task-definition|git tag --list|git tag -l|releases|list-image|describe-images|get-alias)\b"),
        ("prepare", r"^(?:git (?:pull|fetch|checkout|switch|clone|merge|rebase|tag|push)|export|source|\.|aws configure|kubectl config|kubectx|kubens|gcloud config|az account set|terraform (?:init|workspace)|helm repo|direnv|nvm use|pyenv|conda activate|cp|mv|mkdir)\b"),
        ("deploy", r"\b(?:apply|deploy|update-function-code|update-function-configuration|publish-version|update-alias|update-service|register-task-definition|set image|upgrade|install|push|sync|create-invalidation|put|create|update|restart|reload|rollout restart|migrate|upgrade head|stamp|run|exec|invoke|start|stop|enable|disable|patch|replace|promote|release|cp|mv|rm|delete|terminate|flushall|config set)\b"),
    )
)  # fmt: skip

# Phase names per operation type (the original's patterns).
PHASES: dict[OperationType, tuple[str, ...]] = {
    OperationType.DEPLOYMENT: ("Build", "Test", "Deploy", "Verify", "Monitor"),
    OperationType.ROLLBACK: ("Detect", "Decide", "Revert", "Verify", "Investigate"),
    OperationType.INCIDENT: ("Detect", "Triage", "Mitigate", "Root cause", "Fix", "Document"),
    OperationType.MIGRATION: ("Backup", "Test", "Apply", "Verify", "Rollback plan"),
    OperationType.SCALING: ("Analyze", "Plan", "Execute", "Monitor", "Optimize"),
    OperationType.NONE: ("Build", "Test", "Deploy", "Verify", "Monitor"),
}

# Role -> phases it fits (by name) per operation type; absent role = no preference.
_DEPLOY_FIT = {
    "prepare": ("Build",),
    "build": ("Build",),
    "test": ("Test",),
    "dryrun": ("Test",),
    "backup": ("Test", "Deploy"),
    "deploy": ("Deploy",),
    "revert": ("Deploy",),
    "scale": ("Deploy",),
    "optimize": ("Deploy", "Monitor"),
    "check": ("Verify",),
    "monitor": ("Monitor",),
    "document": ("Monitor",),
}
PHASE_FIT: dict[OperationType, dict[str, tuple[str, ...]]] = {
    OperationType.DEPLOYMENT: _DEPLOY_FIT,
    OperationType.NONE: _DEPLOY_FIT,
    OperationType.ROLLBACK: {
        "check": ("Detect", "Verify"),
        "monitor": ("Detect", "Investigate"),
        "decide": ("Decide",),
        "prepare": ("Decide", "Revert"),
        "revert": ("Revert",),
        "deploy": ("Revert",),
        "scale": ("Revert",),
        "build": ("Revert",),
        "test": ("Verify",),
        "document": ("Investigate",),
    },
    OperationType.INCIDENT: {
        "check": ("Detect", "Triage", "Root cause"),
        "monitor": ("Detect", "Triage", "Root cause"),
        "decide": ("Triage",),
        "revert": ("Mitigate", "Fix"),
        "scale": ("Mitigate", "Fix"),
        "deploy": ("Mitigate", "Fix"),
        "optimize": ("Fix",),
        "build": ("Fix",),
        "test": ("Fix",),
        "document": ("Document",),
    },
    OperationType.MIGRATION: {
        "backup": ("Backup",),
        "prepare": ("Backup", "Test"),
        "test": ("Test",),
        "dryrun": ("Test",),
        "check": ("Test", "Verify"),
        "deploy": ("Apply",),
        "scale": ("Apply",),
        "monitor": ("Verify",),
        "revert": ("Rollback plan",),
        "document": ("Rollback plan",),
    },
    OperationType.SCALING: {
        "check": ("Analyze", "Monitor"),
        "monitor": ("Analyze", "Monitor"),
        "decide": ("Plan",),
        "dryrun": ("Plan",),
        "test": ("Plan", "Monitor"),
        "prepare": ("Plan",),
        "scale": ("Execute",),
        "deploy": ("Execute",),
        "optimize": ("Optimize", "Execute"),
        "document": ("Optimize",),
    },
}

# ---------------------------------------------------------------------- titles

# Nicer titles for common (program, subcommand-prefix) pairs; {obj} = first positional object.
TITLES: tuple[tuple[str, str], ...] = (
    ("aws sts get-caller-identity", "Confirm AWS identity"),
    ("aws ecr get-login-password", "Log in to ECR"),
    ("aws lambda update-function-code", "Update Lambda function code"),
    ("aws lambda update-function-configuration", "Update Lambda configuration"),
    ("aws lambda publish-version", "Publish Lambda version"),
    ("aws lambda update-alias", "Point Lambda alias at the new version"),
    ("aws lambda wait", "Wait for Lambda update"),
    ("aws lambda invoke", "Invoke Lambda function"),
    ("aws s3 sync", "Sync files to S3"),
    ("aws s3 cp", "Copy files to S3"),
    ("aws cloudfront create-invalidation", "Invalidate CloudFront cache"),
    ("aws cloudfront wait", "Wait for CloudFront invalidation"),
    ("aws ecs update-service", "Update ECS service"),
    ("aws ecs register-task-definition", "Register ECS task definition"),
    ("aws ecs wait", "Wait for ECS service to stabilize"),
    ("aws rds create-db-snapshot", "Snapshot the database"),
    ("aws rds create-db-cluster-snapshot", "Snapshot the database cluster"),
    ("aws rds wait", "Wait for RDS"),
    ("aws logs tail", "Tail logs"),
    ("aws cloudwatch get-metric-statistics", "Check CloudWatch metrics"),
    ("aws cloudwatch get-metric-data", "Check CloudWatch metrics"),
    ("aws elasticache modify-replication-group", "Modify ElastiCache replication group"),
    ("aws autoscaling set-desired-capacity", "Set Auto Scaling desired capacity"),
    ("docker build", "Build Docker image"),
    ("docker buildx build", "Build Docker image"),
    ("docker push", "Push Docker image"),
    ("docker tag", "Tag Docker image"),
    ("docker login", "Log in to container registry"),
    ("kubectl apply", "Apply Kubernetes manifests"),
    ("kubectl set image", "Update container image"),
    ("kubectl rollout status", "Wait for rollout to complete"),
    ("kubectl rollout undo", "Roll back deployment"),
    ("kubectl rollout restart", "Restart deployment"),
    ("kubectl rollout history", "Review rollout history"),
    ("kubectl scale", "Scale deployment"),
    ("kubectl autoscale", "Configure autoscaling"),
    ("kubectl get", "Check {obj}"),
    ("kubectl describe", "Describe {obj}"),
    ("kubectl logs", "Check logs"),
    ("kubectl top", "Check resource usage"),
    ("kubectl config use-context", "Select Kubernetes context"),
    ("helm upgrade", "Upgrade Helm release"),
    ("helm install", "Install Helm release"),
    ("helm rollback", "Roll back Helm release"),
    ("helm status", "Check Helm release status"),
    ("helm history", "Review Helm release history"),
    ("helm diff", "Diff Helm release"),
    ("helm test", "Run Helm tests"),
    ("helm repo update", "Update Helm repositories"),
    ("terraform init", "Initialize Terraform"),
    ("terraform plan", "Plan Terraform changes"),
    ("terraform apply", "Apply Terraform changes"),
    ("terraform validate", "Validate Terraform configuration"),
    ("terraform workspace select", "Select Terraform workspace"),
    ("terraform output", "Read Terraform outputs"),
    ("alembic upgrade", "Apply database migrations"),
    ("alembic downgrade", "Downgrade database migration"),
    ("alembic current", "Check current migration revision"),
    ("alembic history", "Review migration history"),
    ("pg_dump", "Back up the database"),
    ("psql", "Run SQL"),
    ("git pull", "Update the working copy"),
    ("git checkout", "Check out {obj}"),
    ("git tag", "Tag the release"),
    ("git push", "Push to the remote"),
    ("git revert", "Revert the change"),
    ("pytest", "Run tests"),
    ("npm test", "Run tests"),
    ("npm ci", "Install dependencies"),
    ("npm install", "Install dependencies"),
    ("npm run build", "Build the application"),
    ("make test", "Run tests"),
    ("make build", "Build"),
    ("go test", "Run tests"),
    ("sam build", "Build SAM application"),
    ("sam deploy", "Deploy SAM application"),
    ("redis-cli info", "Check Redis info"),
    ("redis-cli ping", "Ping Redis"),
    ("systemctl restart", "Restart {obj}"),
    ("systemctl status", "Check {obj} status"),
    ("gh run list", "List workflow runs"),
    ("gh run watch", "Watch workflow run"),
    ("gh workflow run", "Start workflow"),
)

# Display names of programs / cloud services for generic titles.
DISPLAY_NAMES = {
    "aws": "AWS", "kubectl": "kubectl", "helm": "Helm", "terraform": "Terraform",
    "docker": "Docker", "gcloud": "gcloud", "az": "Azure", "lambda": "Lambda", "s3": "S3",
    "ecs": "ECS", "ecr": "ECR", "rds": "RDS", "cloudfront": "CloudFront", "sts": "STS",
    "elasticache": "ElastiCache", "autoscaling": "Auto Scaling", "dynamodb": "DynamoDB",
    "cloudwatch": "CloudWatch", "logs": "CloudWatch Logs", "iam": "IAM", "sqs": "SQS",
    "sns": "SNS", "ec2": "EC2", "eks": "EKS", "cloudformation": "CloudFormation",
    "apigateway": "API Gateway", "ssm": "SSM", "secretsmanager": "Secrets Manager",
    "application-autoscaling": "Application Auto Scaling", "elbv2": "ELB", "route53": "Route 53",
    "psql": "psql", "redis-cli": "Redis", "alembic": "Alembic", "gh": "GitHub CLI",
    "git": "git", "npm": "npm", "make": "make", "curl": "curl",
}  # fmt: skip


# ------------------------------------------------------------------- helpers


def segments(raw: str) -> list[list[str]]:
    """Split a shell command line into pipeline / list segments of words (quote-aware)."""
    # shlex is slow and each command is split several times (noise, check, role): cache the
    # split and hand out fresh lists, since callers may change them.
    return [list(seg) for seg in _segments(raw)]


@lru_cache(maxsize=1 << 16)  # ~40k distinct commands at 10k runs; a sweep must fit
def _segments(raw: str) -> tuple[tuple[str, ...], ...]:
    try:
        lexer = shlex.shlex(raw, posix=True, punctuation_chars="|&;<>")
        lexer.whitespace_split = True
        words = list(lexer)
    except ValueError:  # unbalanced quotes: fall back to plain words
        words = raw.split()
    out: list[list[str]] = [[]]
    for word in words:
        if word in {"|", "||", "&&", ";", "&", "|&"}:
            out.append([])
        else:
            out[-1].append(word)
    return tuple(tuple(s) for s in out if s)


def segment_program(words: list[str]) -> str:
    """The executable of one segment, past env assignments and wrappers (``bash -c`` kept)."""
    # normalize's wrapper table is the only one; ``bash -c '...'`` stays ``bash`` because
    # kinds unwraps the script into segments of its own.
    found = resolve_program(words, into_shells=False)
    return program_name(found[0]) if found else ""
