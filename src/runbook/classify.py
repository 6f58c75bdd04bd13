"""Classification: what operation a recorded run is, what it touches, where, and how it went.

Sample input: an execution titled "Deploy report-worker Lambda" whose commands include
``aws lambda update-function-code --function-name report-worker --profile prod`` becomes
``Classification(deployment, scopes=(lambda, report-worker), environment=prod, ...)``.

Signals are weighted votes, all kept as data below: the author's declared type, words in the
file slug, title, tags, parent directories and body text, and the command families the run
executes (matched on ``normalize()``'s program + the words after it). A rollback re-deploys
an old version, so deployment commands inside a run that calls itself a rollback do not
make it a deployment. Free-text scopes ("API timeout") are ranked with SQLite FTS5 + bm25.
`select_procedure` then keeps the runs of one procedure among those (runbook.cluster groups
them by what they ran): another service's deploy that also runs ``terraform apply`` is not a
run of "deployment infrastructure", and says so on stderr.
"""

from __future__ import annotations

import math
import re
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import PurePosixPath

from runbook.cluster import (
    JOIN,
    PARTIAL_JOIN,
    Member,
    cluster_weights,
    command_profile,
    containment,
    group,
    similarity,
)
from runbook.model import (
    Classification,
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
from runbook.normalize import normalize

D = OperationType.DEPLOYMENT
R = OperationType.ROLLBACK
INC = OperationType.INCIDENT
MIG = OperationType.MIGRATION
SC = OperationType.SCALING
PLANNED = (D, R, MIG, SC)
# Tie-break order: the more specific operation first.
PRIORITY = (R, MIG, SC, INC, D)

MIN_SCORE = 1.0  # below this, a run is "none": not an operation we can tell
COMMAND_CAP = 4.0  # command families add at most this much to one type
ROLLBACK_OVER_DEPLOY = 2.0  # rollback evidence at least this strong beats deployment commands
FAILURE_BONUS = 1.5  # a failure report with no planned operation named is incident evidence
BODY_LIMIT = 20_000  # characters of context/notes/errors searched for operation words

# --------------------------------------------------------------------- words

# (type, pattern, factor): factor scales the field weight; weak words (error, failure) count less.
TEXT_PATTERNS: tuple[tuple[OperationType, str, float], ...] = (
    (R, r"roll(?:ed|ing)?[ _-]?backs?|revert(?:s|ed|ing)?|undo|downgrad\w*|restore[ds]?", 1.0),
    (R, r"swap(?:ped|ping)?[ _-]back|back[ _-]to[ _-](?:the[ _-])?(?:previous|last[ _-]good)", 1.0),
    (D, r"deploy\w*|releas(?:e|es|ed|ing)|rollouts?|ship(?:ped|ping)?|publish\w*|promot\w*", 1.0),
    (D, r"canary|blue[ _-]?green|go[ _-]?live", 1.0),
    (MIG, r"migrat\w*|backfill\w*|cut[ _-]?over", 1.0),
    # tool and object words: a failure named "flyway-checksum" is not itself a migration
    (MIG, r"schema|alembic|flyway|liquibase|\d+(?:\.\d+)+\s*(?:to|->|→)\s*\d+(?:\.\d+)+", 0.75),
    (MIG, r"upgrad\w*", 0.5),  # helm upgrade, node upgrade, Postgres upgrade
    # a service version in a name ("payments-api 2.17.0") is most often a release
    (D, r"v?\d{1,3}[._ -]\d{1,3}[._ -]\d{1,4}", 0.5),
    (SC, r"scal(?:e|es|ed|ing)\w*|autoscal\w*|replicas?|capacity|concurrency|throughput", 1.0),
    (SC, r"resiz\w*|shard\w*|provisioned|hpa|\d+x\s+traffic|traffic|load[ _-]?test\w*", 0.75),
    (INC, r"incidents?|outages?|post[ _-]?mortems?|sev[ _-]?[0-4]|p[0-2]|on[ _-]?call|paged", 1.0),
    (INC, r"time[ds]?[ _-]?outs?|timed[ _-]out|degrad\w*|latency|5xx|50[0234]s?|unavailable", 1.0),
    (INC, r"exhaust\w*|crash\w*|oom\w*|out[ _-]of[ _-]memory|leak\w*|throttl\w*|spikes?", 1.0),
    (INC, r"troubleshoot\w*|root[ _-]cause|rca|mitigat\w*|firefight\w*", 1.0),
    (INC, r"(?:cluster)?down|unreachable|unhealthy|not[ _-]responding", 0.75),
    (INC, r"debug\w*|investigat\w*|diagnos\w*", 0.75),
    (
        INC,
        r"alerts?|alarms?|triage|hotfix\w*|cold[ _-]starts?|errors?|fail(?:ure|ures|ed|ing)",
        0.5,
    ),
)
_TEXT_RES = tuple(
    (op, re.compile(rf"(?<![a-z0-9])(?:{pat})(?![a-z0-9])"), f) for op, pat, f in TEXT_PATTERNS
)

# Field weights: how much a matching word in each place counts.
W_DECLARED = 3.0
W_SLUG = 2.5
W_TITLE = 2.0
W_TAGS = 1.5
W_DIRS = 1.0
W_BODY = 0.75  # context, notes, error text: mentioned, not named
W_ARGS = 2.0  # words the operator typed into a command: an issue title, a label, a notes file

# A timestamp in a title ("zsh history 2025-06-27 17:40") is when, not a release number.
_DATES = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[ t]\d{1,2}:\d{2}(?::\d{2})?)?|\b\d{1,2}:\d{2}(?::\d{2})?\b"
)

# Directory names that say nothing about the operation.
_GENERIC_DIRS = frozenset(
    {".claude", "observations", "journals", "archive", "docs", "doc", "notes", "ops", "logs"}
)

# Canonical scopes and the words / tools that imply them.
SCOPE_WORDS: tuple[tuple[str, str], ...] = (
    ("lambda", r"lambdas?|serverless"),
    ("frontend", r"front[ _-]?end|web[ _-]?app|website|spa|cdn|cloudfront|static[ _-]site|ui"),
    (
        "database",
        r"databases?|db|postgres\w*|mysql|aurora|rds|dynamodb|sql|schema|read[ _-]replicas?",
    ),
    ("infrastructure", r"infra\w*|terraform|cloudformation|vpc|network\w*|pulumi|cdk"),
    ("kubernetes", r"kubernetes|k8s|eks|kubectl|helm|pods?"),
    ("ecs", r"ecs|fargate"),
    ("aurora", r"aurora"),
    ("redis", r"redis|elasticache"),
    ("dynamodb", r"dynamodb"),
    ("terraform", r"terraform"),
    ("api", r"api|api[ _-]gateway"),
)
_SCOPE_RES = tuple((s, re.compile(rf"(?<![a-z0-9])(?:{p})(?![a-z0-9])")) for s, p in SCOPE_WORDS)
CANONICAL_SCOPES = ("lambda", "frontend", "database", "infrastructure")
SCOPE_SYNONYMS: dict[str, str] = {
    "db": "database",
    "databases": "database",
    "infra": "infrastructure",
    "web": "frontend",
    "front-end": "frontend",
    "lambdas": "lambda",
    "serverless": "lambda",
    "k8s": "kubernetes",
}
# Tools and AWS services that imply a canonical scope.
SCOPE_IMPLIES: dict[str, tuple[str, ...]] = {
    "aurora": ("database",),
    "rds": ("database",),
    "dynamodb": ("database",),
    "postgres": ("database",),
    "mysql": ("database",),
    "terraform": ("infrastructure",),
    "cloudformation": ("infrastructure",),
    "pulumi": ("infrastructure",),
    "cdk": ("infrastructure",),
    "cloudfront": ("frontend",),
    "helm": ("kubernetes",),
}

ENV_WORDS: dict[str, tuple[str, ...]] = {
    "prod": ("prod", "production", "prd", "live"),
    "staging": ("staging", "stage", "stg", "preprod", "pre-prod", "uat"),
    "dev": ("dev", "development", "sandbox"),
    "local": ("local", "localhost", "127.0.0.1", "laptop"),
}
_ENV_LOOKUP = {w: env for env, words in ENV_WORDS.items() for w in words}
_ENV_FLAGS = frozenset(
    {"--profile", "--env", "--environment", "--stage", "--context", "--kube-context", "--workspace"}
)
_NAMESPACE_FLAGS = frozenset({"-n", "--namespace"})
_ENV_VARS = frozenset(
    {
        "ENV",
        "ENVIRONMENT",
        "STAGE",
        "APP_ENV",
        "RAILS_ENV",
        "NODE_ENV",
        "DEPLOY_ENV",
        "TF_WORKSPACE",
        "AWS_PROFILE",
        "TARGET_ENV",
    }
)

# Flags whose value names a concrete resource (function, cluster, service...).
RESOURCE_FLAGS = frozenset(
    {
        "--function-name",
        "--cluster",
        "--cluster-name",
        "--service",
        "--service-name",
        "--db-instance-identifier",
        "--db-cluster-identifier",
        "--source-db-instance-identifier",
        "--stack-name",
        "--table-name",
        "--replication-group-id",
        "--auto-scaling-group-name",
        "--app",
        "--application-name",
    }
)
_RESOURCE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9._-]{1,62}$")
_KUBE_OBJECT = re.compile(
    r"^(?:deploy(?:ment)?s?|statefulsets?|sts|daemonsets?|ds)/([a-z0-9][a-z0-9.-]*)$"
)
_APP_LABELS = frozenset({"app", "app.kubernetes.io/name", "app.kubernetes.io/instance"})

# ---------------------------------------------------------------- command families


@dataclass(frozen=True, slots=True)
class Family:
    """A command family: program + leading words, optional flag conditions, and its votes."""

    label: str
    programs: frozenset[str]
    words: tuple[frozenset[str], ...]
    votes: tuple[tuple[OperationType, float], ...]
    scopes: tuple[str, ...] = ()
    any_of: tuple[str, ...] = ()  # at least one of these flags/words must be present
    none_of: tuple[str, ...] = ()  # none of these may be present
    pattern: re.Pattern[str] | None = None  # must match the command text
    new: bool = False  # builds or publishes a new artifact: what a deploy does, a rollback not


def _fam(
    spec: str,
    *votes: tuple[OperationType, float],
    scopes: tuple[str, ...] = (),
    any_of: tuple[str, ...] = (),
    none_of: tuple[str, ...] = (),
    pattern: str | None = None,
    new: bool = False,
) -> Family:
    head, *rest = spec.split()
    return Family(
        label=spec.replace("|", "/"),
        programs=frozenset(head.split("|")),
        words=tuple(frozenset(w.split("|")) for w in rest),
        votes=votes,
        scopes=scopes,
        any_of=any_of,
        none_of=none_of,
        pattern=re.compile(pattern, re.IGNORECASE) if pattern else None,
        new=new,
    )


# Words in a command that point at an older version: the mark of a rollback.
PREVIOUS = (
    r"(?<![a-z])(?:prev(?:ious)?|last[-_]?(?:known[-_]?)?good|rollback|roll-back|revert\w*|older"
    r"|to-revision)(?![a-z])"
    r"|\[\s*-\s*2\s*\]"  # Versions[-2], revisions[-2]: the one before the current one
)
_PREVIOUS_RE = re.compile(PREVIOUS, re.IGNORECASE)

# Ordered: the first family that matches a command decides its votes, so specific rules
# (a flag-conditioned or previous-version variant) come before the general one.
FAMILIES: tuple[Family, ...] = (
    # --- AWS Lambda
    _fam("aws lambda update-alias", (R, 2.0), scopes=("lambda",), pattern=PREVIOUS),
    _fam("aws lambda update-alias", (D, 1.0), scopes=("lambda",)),
    _fam("aws lambda update-function-code", (D, 1.5), scopes=("lambda",), new=True),
    _fam("aws lambda publish-version|create-function", (D, 1.0), scopes=("lambda",), new=True),
    _fam(
        "aws lambda put-provisioned-concurrency-config|put-function-concurrency|delete-function-concurrency",
        (SC, 2.0),
        scopes=("lambda",),
    ),
    _fam(
        "aws lambda update-function-configuration",
        (SC, 1.5),
        scopes=("lambda",),
        any_of=("--memory-size",),
    ),
    _fam("aws lambda update-function-configuration", (D, 0.75), scopes=("lambda",)),
    _fam("aws lambda", (D, 0.0), scopes=("lambda",)),
    # --- containers on AWS
    _fam("aws ecs update-service", (SC, 2.0), scopes=("ecs",), any_of=("--desired-count",)),
    _fam("aws ecs update-service", (R, 2.0), scopes=("ecs",), pattern=PREVIOUS),
    _fam("aws ecs update-service", (D, 1.5), scopes=("ecs",)),
    _fam("aws ecs register-task-definition", (D, 1.0), scopes=("ecs",), new=True),
    _fam("aws ecs", (D, 0.0), scopes=("ecs",)),
    _fam("aws ecr get-login-password|batch-get-image|put-image", (D, 0.5), new=True),
    _fam("aws eks update-nodegroup-config", (SC, 2.0), scopes=("kubernetes",)),
    # --- static frontends
    _fam("aws s3 sync", (D, 1.0), scopes=("frontend",), new=True),
    _fam("aws cloudfront create-invalidation", (D, 1.0), scopes=("frontend", "cloudfront")),
    # --- infrastructure as code on AWS
    _fam(
        "aws cloudformation cancel-update-stack|rollback-stack|continue-update-rollback",
        (R, 2.0),
        scopes=("infrastructure", "cloudformation"),
    ),
    _fam(
        "aws cloudformation deploy|update-stack|create-stack|execute-change-set",
        (D, 1.5),
        scopes=("infrastructure", "cloudformation"),
    ),
    _fam("aws deploy stop-deployment", (R, 1.5)),
    _fam("aws deploy create-deployment", (D, 1.5)),
    # --- databases on AWS
    _fam("aws rds create-db-instance-read-replica", (SC, 2.5), scopes=("database", "rds")),
    _fam(
        "aws rds create-db-instance",
        (SC, 2.0),
        scopes=("database", "aurora"),
        any_of=("--db-cluster-identifier",),
    ),
    _fam(
        "aws rds modify-db-instance|modify-db-cluster|modify-current-db-cluster-capacity",
        (SC, 2.0),
        scopes=("database", "rds"),
        any_of=(
            "--db-instance-class",
            "--allocated-storage",
            "--serverless-v2-scaling-configuration",
            "--capacity",
        ),
    ),
    _fam(
        "aws rds create-db-snapshot|create-db-cluster-snapshot",
        (MIG, 0.75),
        scopes=("database", "rds"),
    ),
    _fam(
        "aws rds restore-db-instance-from-db-snapshot|restore-db-cluster-to-point-in-time|restore-db-instance-to-point-in-time|restore-db-cluster-from-snapshot",
        (R, 1.0),
        (INC, 0.5),
        scopes=("database", "rds"),
    ),
    _fam(
        "aws rds failover-db-cluster|reboot-db-instance|reboot-db-cluster",
        (INC, 1.5),
        scopes=("database", "rds"),
    ),
    _fam("aws rds", (D, 0.0), scopes=("database", "rds")),
    _fam(
        "aws dynamodb update-table",
        (SC, 1.5),
        scopes=("database", "dynamodb"),
        any_of=("--provisioned-throughput", "--billing-mode"),
    ),
    _fam("aws dynamodb update-table", (MIG, 0.75), scopes=("database", "dynamodb")),
    _fam("aws dynamodb", (D, 0.0), scopes=("database", "dynamodb")),
    _fam(
        "aws elasticache modify-replication-group|increase-replica-count|modify-cache-cluster|modify-replication-group-shard-configuration",
        (SC, 1.5),
        scopes=("redis",),
    ),
    _fam(
        "aws dms start-replication-task|create-replication-task", (MIG, 2.0), scopes=("database",)
    ),
    # --- autoscaling
    _fam("aws application-autoscaling", (SC, 2.0)),
    _fam(
        "aws autoscaling set-desired-capacity|update-auto-scaling-group|put-scaling-policy",
        (SC, 2.0),
        scopes=("infrastructure",),
    ),
    # --- triage on AWS
    _fam(
        "aws logs filter-log-events|tail|get-log-events|start-query|get-query-results",
        (INC, 0.75),
    ),
    _fam(
        "aws cloudwatch get-metric-statistics|get-metric-data|describe-alarms|describe-alarm-history|set-alarm-state",
        (INC, 0.5),
    ),
    # --- Kubernetes
    _fam("kubectl|oc rollout undo", (R, 2.5), scopes=("kubernetes",)),
    _fam("kubectl|oc argo rollouts undo|abort", (R, 2.5), scopes=("kubernetes",)),
    _fam("kubectl|oc argo rollouts promote|set", (D, 1.5), scopes=("kubernetes",)),
    _fam("kubectl|oc rollout status", (D, 0.25), scopes=("kubernetes",)),
    _fam("kubectl|oc rollout restart", (D, 0.5), (INC, 0.5), scopes=("kubernetes",)),
    _fam("kubectl|oc set image", (D, 1.5), scopes=("kubernetes",)),
    _fam("kubectl|oc apply|create|replace", (D, 1.0), scopes=("kubernetes",)),
    _fam("kubectl|oc scale|autoscale", (SC, 2.0), scopes=("kubernetes",)),
    _fam("kubectl|oc patch hpa|horizontalpodautoscaler", (SC, 1.5), scopes=("kubernetes",)),
    _fam("kubectl|oc logs", (INC, 0.75), scopes=("kubernetes",)),
    # deleting a pod makes its controller replace it: a restart of a stuck or crashing pod
    _fam("kubectl|oc delete pod|pods|po", (INC, 1.0), scopes=("kubernetes",)),
    _fam("kubectl|oc top", (INC, 0.5), (SC, 0.5), scopes=("kubernetes",)),
    _fam("kubectl|oc describe", (INC, 0.5), scopes=("kubernetes",)),
    _fam("kubectl|oc get events", (INC, 0.5), scopes=("kubernetes",)),
    _fam("kubectl|oc", (D, 0.0), scopes=("kubernetes",)),
    _fam("helm rollback", (R, 2.5), scopes=("kubernetes", "helm")),
    _fam(
        "helm upgrade|install",
        (SC, 2.0),
        scopes=("kubernetes", "helm"),
        pattern=r"--set[= ]\S*(?:replica|autoscaling)",
    ),
    _fam(
        "helm upgrade|install",
        (D, 2.0),
        scopes=("kubernetes", "helm"),
        pattern=r"--set[= ]\S*image\.(?:tag|digest|repository)",
    ),
    _fam("helm upgrade|install", (D, 1.5), scopes=("kubernetes", "helm")),
    _fam("argocd app rollback", (R, 2.5), scopes=("kubernetes",)),
    _fam("argocd app sync", (D, 1.5), scopes=("kubernetes",)),
    _fam(
        "argocd app set",
        (D, 1.0),
        scopes=("kubernetes",),
        pattern=r"--kustomize-image|image\.(?:tag|repository)|--helm-set\S*\s+\S*image",
    ),
    _fam("skaffold run|deploy", (D, 1.5), scopes=("kubernetes",)),
    # --- infrastructure as code
    _fam("terraform|tofu|terragrunt apply", (D, 1.5), scopes=("infrastructure", "terraform")),
    _fam("terraform|tofu|terragrunt plan", (D, 0.5), scopes=("infrastructure", "terraform")),
    _fam("terraform|tofu|terragrunt", (D, 0.0), scopes=("infrastructure", "terraform")),
    _fam("pulumi up|preview", (D, 1.5), scopes=("infrastructure", "pulumi")),
    _fam("cdk deploy", (D, 1.5), scopes=("infrastructure", "cdk")),
    _fam("ansible-playbook", (D, 0.75), scopes=("infrastructure",)),
    # --- serverless frameworks and PaaS
    _fam("sam deploy", (D, 2.0), scopes=("lambda",)),
    _fam("serverless|sls rollback", (R, 2.5), scopes=("lambda",)),
    _fam("serverless|sls deploy", (D, 2.0), scopes=("lambda",)),
    _fam("eb deploy", (D, 2.0)),
    _fam("fly|flyctl scale", (SC, 2.0)),
    _fam("fly|flyctl releases rollback", (R, 2.5)),
    _fam("fly|flyctl deploy", (D, 2.0)),
    _fam("vercel|netlify rollback", (R, 2.5), scopes=("frontend",)),
    _fam("vercel", (D, 1.5), scopes=("frontend",), any_of=("--prod", "deploy")),
    _fam("netlify deploy", (D, 1.5), scopes=("frontend",)),
    _fam("firebase deploy", (D, 1.5)),
    _fam("gcloud run|app|functions deploy", (D, 2.0)),
    _fam("gcloud container clusters resize", (SC, 2.0), scopes=("kubernetes", "gke")),
    _fam(
        "gcloud container clusters|node-pools update",
        (SC, 1.5),
        scopes=("kubernetes", "gke"),
        pattern=r"--(?:enable-autoscaling|min-nodes|max-nodes|num-nodes)",
    ),
    _fam("gcloud container", (D, 0.0), scopes=("kubernetes", "gke")),
    _fam(
        "gcloud sql instances patch",
        (SC, 1.5),
        scopes=("database", "cloudsql"),
        any_of=("--tier", "--cpu", "--memory"),
    ),
    _fam("gcloud sql", (D, 0.0), scopes=("database", "cloudsql")),
    _fam("gcloud artifacts docker tags add", (D, 0.5)),
    _fam("heroku rollback|releases:rollback", (R, 2.5)),
    _fam("heroku ps:scale", (SC, 2.0)),
    _fam("heroku pg:kill|pg:killall", (INC, 1.5), scopes=("database",)),
    _fam("heroku logs", (INC, 0.75)),
    # --- Azure
    _fam("az webapp deployment slot swap", (D, 1.5), scopes=("azure",)),
    _fam("az webapp deploy|up", (D, 1.5), scopes=("azure",)),
    _fam("az webapp log tail", (INC, 0.75), scopes=("azure",)),
    _fam("az aks scale", (SC, 2.0), scopes=("kubernetes", "aks")),
    _fam(
        "az aks nodepool scale|update",
        (SC, 2.0),
        scopes=("kubernetes", "aks"),
        any_of=("scale", "--node-count", "--max-count", "--min-count"),
    ),
    _fam(
        "az appservice plan update",
        (SC, 1.5),
        scopes=("azure",),
        any_of=("--number-of-workers", "--sku"),
    ),
    _fam("az monitor metrics list", (INC, 0.5), scopes=("azure",)),
    # --- Nomad
    _fam("nomad job revert", (R, 2.5), scopes=("nomad",)),
    _fam("nomad job scale", (SC, 2.0), scopes=("nomad",)),
    _fam("nomad job run", (D, 1.5), scopes=("nomad",)),
    _fam("nomad alloc logs", (INC, 0.75), scopes=("nomad",)),
    _fam("nomad alloc restart|stop", (INC, 1.0), scopes=("nomad",)),
    _fam("git push", (D, 1.0), any_of=("heroku", "dokku")),
    _fam("cap|capistrano * deploy:rollback", (R, 2.5)),
    _fam("cap|capistrano * deploy", (D, 1.5)),
    # --- CI/CD and git
    _fam("gh workflow run", (R, 2.0), pattern=r"rollback|revert"),
    _fam("gh workflow run", (D, 1.5), pattern=r"deploy|release"),
    _fam("gh release create", (D, 1.0), new=True),
    _fam("git revert", (R, 2.0)),
    # --- containers
    _fam("docker|podman push", (D, 1.0), scopes=("docker",), new=True),
    _fam("docker|podman build|buildx", (D, 0.5), scopes=("docker",), new=True),
    _fam("docker service scale", (SC, 2.0), scopes=("docker",)),
    _fam("docker service update", (R, 2.0), scopes=("docker",), any_of=("--rollback",)),
    _fam("docker service update", (D, 1.0), scopes=("docker",)),
    _fam("docker stack deploy", (D, 1.5), scopes=("docker",)),
    _fam("docker compose up", (SC, 1.5), scopes=("docker",), any_of=("--scale",)),
    _fam("docker|podman logs", (INC, 0.5), scopes=("docker",)),
    # --- schema migrations
    _fam("alembic upgrade", (MIG, 2.0), scopes=("database", "alembic")),
    _fam("alembic downgrade", (R, 1.5), (MIG, 1.0), scopes=("database", "alembic")),
    _fam("alembic current|history|heads|check", (MIG, 0.5), scopes=("database", "alembic")),
    _fam("flyway migrate|baseline", (MIG, 2.0), scopes=("database", "flyway")),
    _fam("flyway repair", (MIG, 0.75), scopes=("database", "flyway")),
    _fam("flyway undo", (R, 1.5), (MIG, 1.0), scopes=("database", "flyway")),
    _fam("flyway info|validate", (MIG, 0.5), scopes=("database", "flyway")),
    _fam("migrate up|goto|force", (MIG, 2.0), scopes=("database",)),
    _fam("migrate down", (R, 1.5), (MIG, 1.0), scopes=("database",)),
    _fam("dbmate up|migrate", (MIG, 2.0), scopes=("database",)),
    _fam("dbmate rollback|down", (R, 1.5), (MIG, 1.0), scopes=("database",)),
    _fam("goose up|up-by-one|up-to", (MIG, 2.0), scopes=("database",)),
    _fam("goose down|down-to", (R, 1.5), (MIG, 1.0), scopes=("database",)),
    _fam("rails|rake db:migrate|db:migrate:status", (MIG, 2.0), scopes=("database",)),
    _fam("rails|rake db:rollback", (R, 1.5), (MIG, 1.0), scopes=("database",)),
    _fam("prisma migrate deploy|resolve", (MIG, 2.0), scopes=("database", "prisma")),
    _fam("prisma db push", (MIG, 1.0), scopes=("database", "prisma")),
    _fam("python|python3 manage.py migrate", (MIG, 2.0), scopes=("database",)),
    _fam("knex migrate:latest|migrate:up", (MIG, 2.0), scopes=("database",)),
    _fam("knex migrate:rollback|migrate:down", (R, 1.5), (MIG, 1.0), scopes=("database",)),
    _fam("sequelize|sequelize-cli db:migrate", (MIG, 2.0), scopes=("database",)),
    _fam("sequelize|sequelize-cli db:migrate:undo", (R, 1.5), (MIG, 1.0), scopes=("database",)),
    _fam("liquibase update", (MIG, 2.0), scopes=("database",)),
    _fam("liquibase rollback", (R, 1.5), (MIG, 1.0), scopes=("database",)),
    _fam("atlas migrate|schema apply", (MIG, 2.0), scopes=("database",)),
    _fam("sqitch deploy", (MIG, 2.0), scopes=("database",)),
    _fam("sqitch revert", (R, 1.5), (MIG, 1.0), scopes=("database",)),
    # online schema change tools: copy the table, apply the ALTER, swap
    _fam("gh-ost|pt-online-schema-change", (MIG, 2.0), scopes=("database",)),
    # --- database clients: what the SQL says decides
    _fam(
        "psql|mysql",
        (MIG, 1.5),
        scopes=("database",),
        pattern=r"(?:-f|--file)[= ]?\S*migrat|<\s*\S*migrat",
    ),
    _fam(
        "psql|mysql",
        (INC, 1.5),
        scopes=("database",),
        pattern=r"pg_stat_activity|pg_terminate_backend|pg_cancel_backend|show\s+(?:full\s+)?processlist|pg_locks"
        r"|information_schema\.processlist|\bkill\s+(?:query\s+|connection\s+)?\d+",
    ),
    _fam(
        "psql|mysql",
        (MIG, 1.0),
        scopes=("database",),
        pattern=r"\b(?:alter\s+table|create\s+(?:unique\s+)?index|add\s+column|drop\s+column)\b",
    ),
    _fam("psql|mysql|pgcli|mycli", (D, 0.0), scopes=("database",)),
    _fam("pg_dump|pg_dumpall|mysqldump", (MIG, 0.75), scopes=("database",)),
    _fam("pg_restore", (R, 0.5), (MIG, 0.5), scopes=("database",)),
    _fam(
        "redis-cli",
        (INC, 0.5),
        scopes=("redis",),
        any_of=("info", "slowlog", "client", "latency", "memory"),
    ),
    _fam("redis-cli", (D, 0.0), scopes=("redis",)),
    # --- Kafka: moving partitions onto brokers, adding partitions
    _fam("kafka-reassign-partitions|kafka-reassign-partitions.sh", (SC, 2.0), scopes=("kafka",)),
    _fam(
        "kafka-topics|kafka-topics.sh",
        (SC, 2.0),
        scopes=("kafka",),
        pattern=r"--alter\b.*--partitions",
    ),
    # --- certificates: a renewal forced by hand, a look at what a server presents
    _fam("cmctl renew", (INC, 1.0), scopes=("kubernetes",)),
    _fam("openssl s_client", (INC, 0.5)),
    # --- host triage
    _fam("top|htop|vmstat|iostat|mpstat|free|uptime|sar", (INC, 0.5)),
    _fam("journalctl|dmesg", (INC, 0.75)),
    _fam("netstat|ss|lsof|strace|tcpdump|traceroute|mtr|dig|nslookup", (INC, 0.5)),
)

# Wrappers whose next word is the real program (normalize strips sudo/env/doppler itself).
_WRAPPERS: dict[str, int] = {
    "npx": 1,
    "bunx": 1,
    "bundle": 2,
    "poetry": 2,
    "uv": 2,
    "pipenv": 2,
    "pdm": 2,
}
# Task runners and scripts: the script name carries the operation ("make deploy", "./rollback.sh").
_RUNNERS = frozenset(
    {"make", "just", "task", "npm", "yarn", "pnpm", "bun", "rake", "invoke", "mage"}
)
SCRIPT_WORDS: tuple[tuple[OperationType, str, float], ...] = (
    (R, r"rollback|roll-back|revert|undo", 1.5),
    (MIG, r"migrat\w*", 1.5),
    (SC, r"scal(?:e|ing)\w*", 1.5),
    (D, r"deploy\w*|release|publish|ship", 1.0),
)
_SCRIPT_RES = tuple(
    (op, re.compile(rf"(?<![a-z])(?:{p})(?![a-z])"), w) for op, p, w in SCRIPT_WORDS
)

# ---------------------------------------------------------------------- classify


@dataclass(slots=True)
class _Votes:
    text: dict[OperationType, float]
    commands: dict[OperationType, float]
    reasons: dict[OperationType, list[str]]
    named: dict[OperationType, float]  # strong words in the declared type, slug or title

    def add(self, op: OperationType, weight: float, reason: str, *, command: bool = False) -> None:
        bucket = self.commands if command else self.text
        bucket[op] = bucket.get(op, 0.0) + weight
        if reason not in self.reasons[op]:
            self.reasons[op].append(reason)

    def total(self, op: OperationType) -> float:
        return self.text.get(op, 0.0) + min(self.commands.get(op, 0.0), COMMAND_CAP)


@dataclass(frozen=True, slots=True)
class _CommandFacts:
    """What one (simple) command contributes: family votes, scopes, env votes."""

    family: str
    votes: tuple[tuple[OperationType, float], ...]
    scopes: tuple[str, ...]
    env: tuple[tuple[str, float], ...]
    previous: bool
    prose: str = ""  # what the operator wrote into it: titles, messages, labels, notes files
    new: bool = False  # builds or publishes a new artifact
    triage: bool = False  # reads for a fault: logs, alarms, sessions, error metrics
    faults: bool = False  # ... and names one: an ERROR filter, a 5xx metric, an alarm
    action: tuple[str, str, str] = ("", "", "")  # (program, verb, object): put function-concurrency


def resolved_outcome(execution: Execution, cls: Classification | None) -> Outcome:
    """The classified outcome of a run where one was found, else the outcome it recorded."""
    if cls is not None and cls.outcome is not Outcome.UNKNOWN:
        return cls.outcome
    return execution.outcome


def classify(execution: Execution) -> Classification:
    """Operation type, scopes, environment and outcome of one run, with weighted reasons."""
    votes = _Votes({}, {}, defaultdict(list), {})
    scopes: set[str] = set()
    env_votes: dict[str, float] = defaultdict(float)
    slug, dirs = _slug_and_dirs(execution.source.path)

    if execution.declared_type:
        op = _op_from_text(execution.declared_type)
        if op is not None:
            votes.add(op, W_DECLARED, f"declared: {execution.declared_type}")
            votes.named[op] = votes.named.get(op, 0.0) + W_DECLARED
    _text_votes(votes, "slug", slug, W_SLUG)
    _text_votes(votes, "title", execution.title, W_TITLE)
    _text_votes(votes, "tags", " ".join(execution.tags), W_TAGS)
    _text_votes(votes, "path", " ".join(dirs), W_DIRS)
    body = " ".join((execution.context, *execution.notes, *(e.message for e in execution.errors)))
    body = body[:BODY_LIMIT]  # mentions, not names: the start of a long record is enough
    _text_votes(votes, "text", body, W_BODY)

    sequence = [f for cmd in execution.commands for f in command_facts(cmd.text)]
    for facts in sequence:
        scopes.update(facts.scopes)
        for env, w in facts.env:
            env_votes[env] += w
    if _operates(sequence):
        # Names a run gave an operation it carried out; a commit message alone is development.
        _text_votes(votes, "argument", " ".join(f.prose for f in sequence if f.prose), W_ARGS)
    _command_votes(votes, sequence)

    planned_named = any(votes.named.get(op, 0.0) >= ROLLBACK_OVER_DEPLOY for op in PLANNED)
    if execution.kind is EvidenceKind.JOURNAL and (execution.errors or execution.severity):
        # An error journal records a problem and its fix: incident evidence, unless its name
        # says it was a planned operation going wrong (a "rollback-..." journal).
        votes.add(INC, W_DECLARED, "error journal")
    elif execution.mode is ObservationMode.FAILURE and not planned_named:
        votes.add(INC, FAILURE_BONUS, "failure observation")

    op_type, confidence, reasons = _decide(votes)

    scopes.update(_text_scopes(" ".join((slug, execution.title, " ".join(execution.tags)))))
    scopes.update(_tag_scopes(execution.tags, execution.commands))
    for env, w in _text_env(" ".join((slug, execution.title, " ".join(execution.tags)))):
        env_votes[env] += w
    environment = _environment(execution.environment, env_votes)

    outcome = execution.outcome
    if outcome is Outcome.UNKNOWN and execution.mode is ObservationMode.FAILURE:
        outcome = Outcome.FAILURE
    return Classification(
        operation_type=op_type,
        scopes=_finish_scopes(scopes),
        environment=environment,
        outcome=outcome,
        confidence=confidence,
        reasons=reasons,
    )


# Phase order: what a run did before its first change says why it made the change.
TRIAGE_FIRST = 1.5  # error triage, then a capacity change: the change mitigates an incident
_ERROR_WORDS = re.compile(
    r"(?<![a-z])(?:errors?|exceptions?|faults?|timeouts?|timed[ _-]?out|alarms?|alerts?"
    r"|fatal|panic\w*|crash\w*|oom\w*|throttl\w*|unhealthy|fail(?:ed|ing|ures?)?)(?![a-z])"
    r"|5xx|(?<!\d)5\d\d(?!\d)"  # Http5xx, 5XXError, 502
)
_CAPACITY_READ = re.compile(r"metric|top|stat|describe")


def _op_from_prose(text: str) -> OperationType | None:
    """The rollback a note names ("Rollback api v41", rollback-notes.md), else None."""
    rx = _TEXT_RES[0][1]
    return R if rx.search(_DATES.sub(" ", text.lower())) else None


def _operates(sequence: Sequence[_CommandFacts]) -> bool:
    """Whether a run runs an operations tool we know (kubectl, aws, helm...), not only git."""
    return any(not f.family.startswith("other:") for f in sequence)


def _change_op(facts: _CommandFacts) -> OperationType | None:
    """The planned operation a command carries out, if it changes something (weight >= 1)."""
    planned = [(w, -PRIORITY.index(op), op) for op, w in facts.votes if op in PLANNED and w >= 1.0]
    return max(planned)[2] if planned else None


def _is_triage(family: Family, text: str) -> bool:
    """A read that looks for a fault: logs, alarms, sessions; a metric read only of errors."""
    positive = [op for op, w in family.votes if w > 0]
    if not positive or any(op is not INC for op in positive):
        return False
    if _CAPACITY_READ.search(family.label) and "alarm" not in text:
        return bool(_ERROR_WORDS.search(text))
    return True


# Verbs and the verbs that undo them (put-function-concurrency / delete-function-concurrency).
INVERSE_VERBS: dict[str, frozenset[str]] = {
    "put": frozenset({"delete", "remove"}),
    "set": frozenset({"unset", "delete", "remove", "clear"}),
    "add": frozenset({"remove", "delete"}),
    "enable": frozenset({"disable"}),
    "disable": frozenset({"enable"}),
    "suspend": frozenset({"resume"}),
    "pause": frozenset({"resume", "unpause"}),
    "cordon": frozenset({"uncordon"}),
    "attach": frozenset({"detach"}),
}
_UNDO_VERBS = frozenset(v for undo in INVERSE_VERBS.values() for v in undo)


def _action(program: str, words: Sequence[str]) -> tuple[str, str, str]:
    """(program, verb, object) of a command whose subcommand starts with a reversible verb."""
    for word in words[:3]:
        verb, _, obj = word.partition("-")
        if verb in INVERSE_VERBS or verb in _UNDO_VERBS:
            return (program, verb, obj)
    return ("", "", "")


def _temporary(sequence: Sequence[_CommandFacts]) -> set[int]:
    """Capacity changes the run itself undoes later (put ... then delete ...), and their undo."""
    out: set[int] = set()
    for i, facts in enumerate(sequence):
        program, verb, obj = facts.action
        undo = INVERSE_VERBS.get(verb, frozenset())
        if not program or not undo or _change_op(facts) is not SC:
            continue
        later = [
            j
            for j in range(i + 1, len(sequence))
            if sequence[j].action[0] == program
            and sequence[j].action[2] == obj
            and sequence[j].action[1] in undo
        ]
        if later:
            out.update((i, *later))
    return out


def _command_votes(votes: _Votes, sequence: Sequence[_CommandFacts]) -> None:
    """Family votes of a run's commands, read in order.

    A deployment command after a command that points at an older version (``Versions[-2]``,
    ``--to-revision``, ``previous``) re-deploys that version: a rollback, unless the run also
    builds something new; so does one in a run whose notes call it a rollback and that has no
    rollback command of its own. A rollback command after the run's own deployment change
    undoes that deploy: the run stays a deployment (failed half-way, often re-run). Error
    triage before the first change makes a capacity change an incident's mitigation and
    re-pointing at an existing version (nothing built) a rollback. A capacity change the run
    itself undoes later (a concurrency cap put on, then removed) is a stop-gap: its votes are
    the incident's.
    """
    builds = any(f.new for f in sequence)
    named = not any(_change_op(f) is R for f in sequence) and any(
        _op_from_prose(f.prose) is R for f in sequence if f.prose
    )
    families: set[str] = set()
    previous = False  # a command so far pointed at an older version
    first_change: OperationType | None = None
    triaged = False
    faults = False
    own_rollback = False
    temporary = _temporary(sequence)
    for i, facts in enumerate(sequence):
        change = _change_op(facts)
        if i in temporary:
            change = INC
        if change is R and first_change is D:
            own_rollback = True
            continue  # the deploy's own rollback: part of the deployment
        previous = previous or facts.previous
        reroute = change is D and (previous or named) and not builds
        if reroute:
            change = R
        if first_change is None and change is not None:
            first_change = change
            if triaged and change is SC:
                votes.add(INC, TRIAGE_FIRST, "command: triage before the change", command=True)
            elif faults and change is D and not builds:
                votes.add(
                    R, TRIAGE_FIRST, "command: triage, then an existing version", command=True
                )
        elif first_change is None and facts.triage:
            triaged = True
            # a fault seen (an ERROR filter, a 5xx metric, an alarm), not only a log read
            faults = faults or facts.faults
        if facts.family in families:
            continue  # a family counts once per run, however often it is retried
        families.add(facts.family)
        for op, w in facts.votes:
            if w <= 0:
                continue
            if reroute and op is D:
                votes.add(R, w, f"command: {facts.family} (older version)", command=True)
            elif i in temporary and op is SC:
                votes.add(INC, w, f"command: {facts.family} (undone in the same run)", command=True)
            else:
                votes.add(op, w, f"command: {facts.family}", command=True)
    if previous and _operates(sequence):
        # an older version named by a run that operates (not a branch called fix/rollback)
        votes.add(R, 1.0, "command: previous version", command=True)
    if own_rollback:
        votes.add(D, 0.0, "command: rolled back its own deploy", command=True)


def classify_journal(journal: Journal) -> Classification:
    """Classify a journal entry the way a run is classified (error journals lean incident)."""
    return classify(journal_execution(journal))


def journal_execution(journal: Journal) -> Execution:
    """A journal seen as one execution: its fix and verification commands, its error lines."""
    errors = tuple(ErrorEvent(m, journal.source) for m in journal.error_messages)
    if journal.resolved is True:
        outcome = Outcome.SUCCESS
    elif journal.resolved is False:
        outcome = Outcome.FAILURE
    else:
        outcome = Outcome.UNKNOWN
    notes = tuple(
        t
        for t in (
            *journal.symptoms,
            journal.root_cause,
            journal.solution,
            journal.prevention,
            *journal.notes,
        )
        if t
    )
    return Execution(
        id=journal.id,
        source=journal.source,
        kind=EvidenceKind.JOURNAL,
        title=journal.title,
        context=journal.investigation,
        environment=journal.environment,
        outcome=outcome,
        commands=(*journal.solution_commands, *journal.verification_commands),
        errors=errors,
        notes=notes,
        tags=journal.tags,
        severity=journal.severity
        or ("error" if journal.category == "error" and (errors or journal.symptoms) else None),
        resolved=journal.resolved,
    )


def _decide(votes: _Votes) -> tuple[OperationType, float, tuple[str, ...]]:
    totals = {op: votes.total(op) for op in PRIORITY}
    # On a tie, the operation the run's words name beats one only its commands carry out
    # (scaled up, then filed incident-notes.md: the scale-up was the incident's mitigation).
    ranked = sorted(
        PRIORITY, key=lambda op: (-totals[op], -votes.text.get(op, 0.0), PRIORITY.index(op))
    )
    best = ranked[0]
    notes: list[str] = []
    # A rollback re-deploys a known-good version: its deployment commands are expected.
    if best is D and totals[R] >= ROLLBACK_OVER_DEPLOY and votes.text.get(R, 0.0) > 0:
        best = R
        notes.append("rollback over deployment commands")
    if totals[best] < MIN_SCORE:
        strongest = ", ".join(votes.reasons[ranked[0]][:2]) if totals[ranked[0]] > 0 else ""
        why = f"weak signals only ({strongest})" if strongest else "no operation signals"
        return OperationType.NONE, 0.0, (why,)
    s1 = totals[best]
    s2 = max((totals[op] for op in PRIORITY if op is not best), default=0.0)
    strength = 1.0 - math.exp(-s1 / 3.0)
    margin = max(0.0, s1 - s2) / s1
    confidence = round(strength * (0.5 + 0.5 * margin), 2)
    reasons = [*votes.reasons[best], *notes]
    return best, confidence, tuple(reasons[:8])


def _slug_and_dirs(path: str) -> tuple[str, list[str]]:
    p = PurePosixPath(path)
    stem = p.name.rsplit(".", 1)[0] if "." in p.name else p.name
    # execution-143052-deploy-lambda -> "deploy lambda"; 2025-12-23-pool-exhausted -> "pool exhausted"
    stem = re.sub(r"^(?:execution|failure|behaviou?r)-", "", stem, flags=re.IGNORECASE)
    stem = re.sub(r"^[\d_-]+", "", stem)
    stem = re.sub(r"([a-z])([A-Z])", r"\1 \2", stem)
    slug = re.sub(r"[_\-.]+", " ", stem).strip().lower()
    dirs = [
        d.lower()
        for d in p.parts[:-1]
        if d.lower() not in _GENERIC_DIRS and not re.fullmatch(r"[\d\-Q_]+", d, re.IGNORECASE)
    ]
    return slug, dirs


def _text_votes(votes: _Votes, field: str, text: str, weight: float) -> None:
    if not text:
        return
    low = _DATES.sub(" ", text.lower())
    best: dict[OperationType, tuple[float, str]] = {}
    for op, rx, factor in _TEXT_RES:
        m = rx.search(low)
        if m and factor > best.get(op, (0.0, ""))[0]:
            best[op] = (factor, m.group(0))
    for op, (factor, word) in best.items():
        votes.add(op, weight * factor, f"{field}: {word}")
        if factor >= 1.0 and field in ("slug", "title"):
            votes.named[op] = votes.named.get(op, 0.0) + weight


def _op_from_text(text: str) -> OperationType | None:
    low = text.strip().lower()
    try:
        return OperationType(low)
    except ValueError:
        pass
    if low in ("incident", "incident response", "incident_response"):
        return INC
    for op, rx, factor in _TEXT_RES:
        if factor >= 1.0 and rx.search(low):
            return op
    return None


# ----------------------------------------------------------------- command facts

# One pass over the text: quoted strings and escapes are kept whole, operators split.
_SHELL_PIECE = re.compile(
    r"""'[^']*'?|"(?:\\.|[^"\\])*"?|\\.|(?P<op>&&|\|\||[;|\n])|[^'"\\&|;\n]+|."""
)


def split_compound(text: str) -> list[str]:
    """Split ``a && b | c; d`` into simple commands, respecting quotes and escapes."""
    text = text.replace("\\\n", " ")
    if not any(ch in text for ch in "&|;\n"):
        return [text.strip()] if text.strip() else []
    parts: list[str] = []
    buf: list[str] = []
    for m in _SHELL_PIECE.finditer(text):
        if m.group("op"):
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(m.group(0))
    parts.append("".join(buf))
    return [p.strip() for p in parts if p.strip()]


def command_facts(text: str) -> list[_CommandFacts]:
    """The family, votes, scopes and environment hints of each simple command in ``text``."""
    return list(_command_facts(text))


@lru_cache(maxsize=1 << 15)
def _command_facts(text: str) -> tuple[_CommandFacts, ...]:
    # Runs repeat the same commands; normalizing each distinct text once is enough.
    out: list[_CommandFacts] = []
    for part in split_compound(text):
        out.extend(_simple_facts(part))
    return tuple(out)


# Programs whose arguments after "--" are a command of their own (kubectl exec pod -- psql ...).
_EXEC_WRAPPERS = frozenset({"kubectl", "oc", "docker", "podman", "ssh", "gcloud"})


def _simple_facts(text: str, depth: int = 0) -> list[_CommandFacts]:
    template = normalize(text)
    tokens = [t.text for t in template.tokens] or text.split()
    program = _base(template.program) if template.program else ""
    start = _program_index(tokens, program)
    env_votes = _env_from_assignments(tokens[:start])
    if not program:
        return []
    rest = tokens[start + 1 :]
    nested: list[_CommandFacts] = []
    if program in _EXEC_WRAPPERS and "--" in rest and depth < 2:
        cut = rest.index("--")
        if cut + 1 < len(rest):
            nested = _simple_facts(" ".join(rest[cut + 1 :]), depth + 1)
        rest = rest[:cut]
    # npx prisma migrate deploy / bundle exec rails db:migrate: the wrapped tool is the program.
    skip = _WRAPPERS.get(program, 0)
    if skip and len(rest) >= skip:
        program, rest = _base(rest[skip - 1]), rest[skip:]
    if program == "docker-compose":
        program, rest = "docker", ["compose", *rest]
    words = [w for w in rest if not w.startswith("-")]
    # Two readings of "the words after the program": normalize's subcommand (it knows the
    # global flags of common CLIs) and our positional words (flag values dropped).
    readings = [template.subcommand.lower().split()] if template.program == program else []
    readings.append([w.lower() for w in _positional(rest)])
    flags = _flags(rest)
    env_votes += _env_from_flags(flags, program)
    env_votes += _env_from_names(rest)
    low_text = text.lower()
    scopes = list(_resource_names(program, rest, flags))
    previous = bool(_PREVIOUS_RE.search(" ".join(rest)))
    prose = _prose(rest, flags)

    for fam in FAMILIES:
        if program not in fam.programs or not any(_words_match(fam.words, r) for r in readings):
            continue
        if fam.any_of and not any(a in flags or a in words for a in fam.any_of):
            continue
        if fam.none_of and any(a in flags or a in words for a in fam.none_of):
            continue
        if fam.pattern is not None and not fam.pattern.search(low_text):
            continue
        scopes.extend(fam.scopes)
        scopes.extend(_aws_service(program, words))
        # Reading a crashed container's earlier logs (kubectl logs --previous) names no version.
        triage = _is_triage(fam, low_text)
        facts = _CommandFacts(
            fam.label,
            fam.votes,
            tuple(scopes),
            tuple(env_votes),
            previous and not triage,
            prose,
            fam.new,
            triage,
            triage and bool(_ERROR_WORDS.search(low_text)),
            _action(program, readings[-1]),
        )
        return [facts, *nested]

    scopes.extend(_aws_service(program, words))
    script_votes = _script_votes(program, words)
    if script_votes:
        label = f"script: {program} {' '.join(words[:1])}".strip()
        return [
            _CommandFacts(label, script_votes, tuple(scopes), tuple(env_votes), previous, prose),
            *nested,
        ]
    if scopes or env_votes or prose or previous:
        # jq '.[-2]' after a listing of releases: a lookup of the one before the current one
        other = _CommandFacts(
            f"other: {program}", (), tuple(scopes), tuple(env_votes), previous, prose
        )
        return [other, *nested]
    return nested


# Flags whose value is prose the operator wrote: what they called the work at the time.
PROSE_FLAGS = frozenset(
    {
        "-m",
        "--message",
        "--title",
        "--subject",
        "--summary",
        "--description",
        "--reason",
        "--comment",
        "--note",
        "--notes",
        "--body",
        "--body-file",
        "--notes-file",
        "--label",
        "--labels",
        "--change-cause",
        "--type",  # jira issue create --type Incident
        "--issue-type",
    }
)
_NOTES_FILE = re.compile(r"[\w./-]+\.(?:md|txt|markdown|rst)$", re.IGNORECASE)


def _prose(rest: list[str], flags: Mapping[str, str]) -> str:
    # gh issue create --title "Rollback api v41" --label incident --body-file rollback-notes.md
    parts = [v for f, v in flags.items() if f in PROSE_FLAGS and v]
    parts += [t for t in rest if _NOTES_FILE.fullmatch(t) and t not in parts]
    return " ".join(parts)


def _base(program: str) -> str:
    name = program.rsplit("/", 1)[-1].lower()
    return name


def _program_index(tokens: list[str], program: str) -> int:
    for i, tok in enumerate(tokens):
        if _base(tok) == program:
            return i
    return 0


def _words_match(pattern: tuple[frozenset[str], ...], words: list[str]) -> bool:
    if len(words) < len(pattern):
        return False
    return all("*" in alts or words[k] in alts for k, alts in enumerate(pattern))


# Flags that take no value, so the word after them is positional (aws --no-cli-pager lambda ...).
BOOLEAN_FLAGS = frozenset(
    {
        "--no-cli-pager",
        "--no-paginate",
        "--debug",
        "--no-verify-ssl",
        "--dry-run",
        "--insecure",
        "--all-namespaces",
        "-A",
        "-y",
        "--yes",
        "--force",
        "--wait",
        "--atomic",
        "--install",
        "--no-edit",
        "--no-color",
        "-v",
        "--verbose",
        "-q",
        "--quiet",
        "--prod",
        "--auto-approve",
        "-auto-approve",
    }
)


def _positional(rest: list[str]) -> list[str]:
    out: list[str] = []
    skip = False
    for tok in rest:
        if skip:
            skip = False
            continue
        if tok.startswith("-") and tok not in ("-", "--"):
            skip = "=" not in tok and tok not in BOOLEAN_FLAGS
            continue
        out.append(tok)
    return out


def _flags(rest: list[str]) -> dict[str, str]:
    flags: dict[str, str] = {}
    for i, tok in enumerate(rest):
        if not tok.startswith("-") or tok == "--":
            continue
        if "=" in tok and tok.startswith("--"):
            name, _, value = tok.partition("=")
            flags[name] = value
            continue
        nxt = rest[i + 1] if i + 1 < len(rest) else ""
        flags[tok] = "" if nxt.startswith("-") else nxt
    return flags


def _script_votes(program: str, words: list[str]) -> tuple[tuple[OperationType, float], ...]:
    # ./scripts/deploy.sh, make rollback, npm run db:migrate
    names = [program]
    if program in _RUNNERS:
        names += [w for w in words[:2] if w not in ("run", "run-script", "exec")][:1]
    elif not (program.endswith((".sh", ".py", ".bash")) or "deploy" in program):
        return ()
    text = " ".join(names).lower()
    for op, rx, w in _SCRIPT_RES:
        if rx.search(text):
            return ((op, w),)
    return ()


_AWS_SERVICE_SCOPES: dict[str, tuple[str, ...]] = {
    "lambda": ("lambda",),
    "ecs": ("ecs",),
    "eks": ("kubernetes", "eks"),
    "rds": ("database", "rds"),
    "dynamodb": ("database", "dynamodb"),
    "elasticache": ("redis",),
    "cloudfront": ("frontend", "cloudfront"),
    "s3": ("s3",),
    "apigateway": ("api",),
    "apigatewayv2": ("api",),
    "cloudformation": ("infrastructure", "cloudformation"),
    "ec2": ("infrastructure", "ec2"),
    "sqs": ("sqs",),
    "sns": ("sns",),
}


def _aws_service(program: str, words: list[str]) -> tuple[str, ...]:
    if program != "aws" or not words:
        return ()
    for w in words[:3]:
        if w in _AWS_SERVICE_SCOPES:
            return _AWS_SERVICE_SCOPES[w]
    return ()


def _resource_names(program: str, rest: list[str], flags: dict[str, str]) -> Iterable[str]:
    if program == "redis-cli":  # --cluster takes a subcommand (add-node, call), not a name
        return
    for flag in sorted(RESOURCE_FLAGS & flags.keys()):
        name = _resource(flags[flag])
        if name:
            yield name
    if program == "helm":
        words = [w for w in rest if not w.startswith("-")]
        if len(words) >= 2 and words[0] in ("upgrade", "install", "rollback", "uninstall"):
            name = _resource(words[1])
            if name:
                yield name
    if program in ("kubectl", "oc"):
        for tok in rest:
            m = _KUBE_OBJECT.match(tok)
            if m:
                yield m.group(1)
        # "-l app.kubernetes.io/instance=checkout-api": the app label names the service too
        for part in (flags.get("-l") or flags.get("--selector") or "").split(","):
            key, _, value = part.partition("=")
            if key.strip() in _APP_LABELS and (name := _resource(value)):
                yield name


def _resource(value: str) -> str | None:
    value = value.strip("'\"")
    if ":function:" in value:  # a Lambda ARN: the name follows ":function:"
        value = value.split(":function:", 1)[1].split(":", 1)[0]
    elif value.startswith("arn:"):
        value = value.rsplit("/", 1)[-1]
    if not _RESOURCE_NAME.match(value) or value.isdigit():
        return None
    return value.lower()


def _env_from_assignments(prefix: list[str]) -> list[tuple[str, float]]:
    out: list[tuple[str, float]] = []
    for tok in prefix:
        name, eq, value = tok.partition("=")
        if eq and name.upper() in _ENV_VARS:
            env = _env_word(value)
            if env:
                out.append((env, 2.0))
    return out


def _env_from_flags(flags: dict[str, str], program: str) -> list[tuple[str, float]]:
    out: list[tuple[str, float]] = []
    for flag, value in flags.items():
        if flag in _ENV_FLAGS or flag in _NAMESPACE_FLAGS or (flag == "-e" and "=" not in value):
            env = (
                _env_in_name(value)
                if flag in _NAMESPACE_FLAGS or flag == "--context"
                else _env_word(value)
            )
            if env:
                out.append((env, 2.0))
        elif flag == "-e" and "=" in value:
            out += _env_from_assignments([value])
    return out


def _env_from_names(rest: list[str]) -> list[tuple[str, float]]:
    # Hostnames, cluster and function names: api-prod, db.staging.example.com, localhost:8080
    out: list[tuple[str, float]] = []
    for tok in rest:
        if tok.startswith("-") and "=" not in tok:
            continue
        env = _env_in_name(tok.partition("=")[2] if tok.startswith("-") else tok)
        if env:
            # a loopback address is usually a tunnel (cloud-sql-proxy, port-forward) to a
            # real environment, so it says little about where the run happened
            out.append((env, 0.2 if env == "local" else 0.5))
    return out


def _env_word(value: str) -> str | None:
    return _ENV_LOOKUP.get(value.strip("'\"").lower())


def _env_in_name(value: str) -> str | None:
    if len(value) > 200 or "{" in value:
        return None
    low = value.lower()
    # ".dev" ending a host name of 3+ labels is a top-level domain (europe-west1-docker.pkg.dev),
    # not a stage; "api.dev" may still be a namespace
    low = re.sub(r"(\.[a-z0-9-]+)\.dev(?=$|[:/])", r"\1", low)
    for part in re.split(r"[^a-z0-9.]+|(?<=[a-z])\.|\.(?=[a-z])", low):
        env = _ENV_LOOKUP.get(part)
        if env and part not in ("live", "stage", "local"):  # too common as plain words
            return env
        if part in ("localhost", "127.0.0.1"):
            return "local"
    return None


def _text_env(text: str) -> list[tuple[str, float]]:
    low = text.lower()
    out: list[tuple[str, float]] = []
    for word in re.findall(r"[a-z0-9]+", low):
        env = _ENV_LOOKUP.get(word)
        if env and word not in ("live", "stage", "local"):
            out.append((env, 1.5))
    return out


def _environment(declared: str | None, votes: Mapping[str, float]) -> str | None:
    if declared and declared.strip():
        low = declared.strip().lower()
        return _ENV_LOOKUP.get(low) or _env_in_name(low) or low
    if not votes:
        return None
    order = tuple(ENV_WORDS)
    return sorted(votes, key=lambda e: (-votes[e], order.index(e) if e in order else 99, e))[0]


def _text_scopes(text: str) -> set[str]:
    low = text.lower()
    return {scope for scope, rx in _SCOPE_RES if rx.search(low)}


def scopes_in_text(text: str) -> set[str]:
    """Scope words a text names, with what they imply (``AWS/RDS`` -> rds, database)."""
    found = _text_scopes(text)
    return found | {s for f in found for s in SCOPE_IMPLIES.get(f, ())}


_TYPE_OR_ENV_WORDS = re.compile(
    r"^(?:deploy\w*|rollback|roll-back|incident\w*|incident-response|migration\w*|scaling|scale|"
    r"prod|production|staging|dev|local|success|failure|failed|resolved|error|errors|fix|ops)$"
)


def _tag_scopes(tags: Sequence[str], commands: Sequence[Command]) -> set[str]:
    # A tag is a scope when it names a known area (lambda, database...) or a tool/service the
    # run's commands actually touch (doppler, ecr, report_worker); activity tags such as
    # "smoke-test" or "fix-forward" stay tags.
    touched: set[str] | None = None
    out: set[str] = set()
    for tag in tags:
        low = tag.strip().lower().replace(" ", "-")
        if (
            not low
            or _TYPE_OR_ENV_WORDS.match(low)
            or not re.fullmatch(r"[a-z0-9][a-z0-9._-]{0,40}", low)
        ):
            continue
        known = _text_scopes(low)
        if known:
            out.update(known)
            continue
        if touched is None:
            touched = {
                w.replace("_", "-")
                for cmd in commands
                for w in re.split(r"[^a-z0-9_-]+", cmd.text.lower())
                if w
            }
        if low.replace("_", "-") in touched:
            out.add(SCOPE_SYNONYMS.get(low, low))
    return out


def _finish_scopes(scopes: set[str]) -> tuple[str, ...]:
    out = {SCOPE_SYNONYMS.get(s, s) for s in scopes if s}
    for s in list(out):
        out.update(SCOPE_IMPLIES.get(s, ()))
        if "-" in s or "_" in s:
            # a compound name says its area too: the statefulset "redis-cluster" is redis
            out.update(_text_scopes(s))
    canon = [s for s in CANONICAL_SCOPES if s in out]
    return (*canon, *sorted(out - set(canon)))


# ------------------------------------------------------------------------ select

# Grammar words, and request words that describe the ask rather than the evidence ("handle").
_STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "how",
        "in",
        "into",
        "is",
        "it",
        "of",
        "on",
        "or",
        "the",
        "to",
        "with",
        "when",
        "why",
        "what",
        "x",
        "handle",
        "handling",
        "add",
        "adding",
        "addition",
        "new",
        "change",
        "changes",
        "issue",
        "issues",
        "problem",
        "problems",
        "procedure",
        "process",
        "runbook",
    ]
)
# A few operational synonyms, so "Handle 10x traffic" also finds runs that speak of load.
QUERY_SYNONYMS: dict[str, tuple[str, ...]] = {
    "traffic": ("load", "requests", "rps", "qps", "throughput"),
    "load": ("traffic",),
    "replica": ("reader", "replicas"),
    "reader": ("replica",),
    "db": ("database",),
    "database": ("db",),
    "latency": ("slow", "p99"),
    "slow": ("latency",),
    "k8s": ("kubernetes",),
    "kubernetes": ("k8s",),
    "timeout": ("timeouts",),
}
# FTS5 column weights: title and slug name the run; errors and tags are specific; notes chatter.
_FTS_COLUMNS = ("title", "slug", "tags", "errors", "context", "notes", "commands")
_FTS_WEIGHTS = (4.0, 4.0, 2.0, 2.5, 1.0, 0.5, 0.5)
RELATIVE_CUTOFF = 0.45  # keep documents scoring at least this share of the best one
SECONDARY_WEIGHT = 0.6  # failure evidence of another type, for incident response
# bm25 says how specific a match is, coverage how much of the request it answers; bm25 alone
# collapses when a word is in most documents (idf ~ 0), coverage alone ignores specificity.
BM25_SHARE = 0.7


def normalize_scope(scope: str) -> str:
    """``DB`` -> ``database``; free text is returned lower-cased and trimmed."""
    low = " ".join(scope.lower().split())
    return SCOPE_SYNONYMS.get(low, low)


def select(
    executions: Sequence[Execution],
    op_type: OperationType,
    scope: str | None,
    classifications: Mapping[str, Classification] | None = None,
) -> list[tuple[Execution, float]]:
    """Executions relevant to an operation type and scope, best first, with relevance scores."""
    cls = {e.id: (classifications or {}).get(e.id) or classify(e) for e in executions}
    pool: list[tuple[Execution, float]] = []
    for ex in executions:
        c = cls[ex.id]
        if c.operation_type is op_type:
            pool.append((ex, 1.0))
        elif op_type is INC and _is_failure_evidence(ex, c):
            # Failure reports and error journals are incident evidence whatever was being done.
            pool.append((ex, SECONDARY_WEIGHT))
    if not pool:
        return []
    scope_text = normalize_scope(scope) if scope and scope.strip() else ""
    if not scope_text:
        scored = [(ex, round(w * (0.5 + 0.5 * cls[ex.id].confidence), 4)) for ex, w in pool]
        return _ordered(scored)
    # "report-worker" and "report_worker" name the same service.
    wanted = scope_text.replace("_", "-")
    known = set(CANONICAL_SCOPES) | {s.replace("_", "-") for c in cls.values() for s in c.scopes}
    if wanted in known:
        scored = [
            (ex, round(w * (0.5 + 0.5 * cls[ex.id].confidence), 4))
            for ex, w in pool
            if wanted in {s.replace("_", "-") for s in cls[ex.id].scopes}
        ]
        return _ordered(scored)
    return _ordered(_rank_text(executions, pool, scope_text, cls))


def _is_failure_evidence(ex: Execution, c: Classification) -> bool:
    if ex.mode is ObservationMode.FAILURE:
        return True
    return ex.kind is EvidenceKind.JOURNAL and bool(ex.errors or ex.severity)


def _ordered(scored: list[tuple[Execution, float]]) -> list[tuple[Execution, float]]:
    return sorted(scored, key=lambda p: (-p[1], p[0].id))


def query_terms(text: str) -> list[str]:
    """The searchable words of a free-text scope (stop words dropped, order kept, unique)."""
    seen: list[str] = []
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        if word not in _STOP_WORDS and word not in seen:
            seen.append(word)
    return seen


def _document(ex: Execution, c: Classification) -> tuple[str, ...]:
    slug, dirs = _slug_and_dirs(ex.source.path)
    return (
        ex.title,
        " ".join((slug, *dirs)),
        " ".join((*ex.tags, *c.scopes)),
        " ".join(e.message for e in ex.errors),
        ex.context,
        " ".join((*ex.notes, *ex.expectations)),
        " ".join(cmd.text for cmd in ex.commands[:200]),
    )


def _rank_text(
    executions: Sequence[Execution],
    pool: list[tuple[Execution, float]],
    text: str,
    cls: Mapping[str, Classification],
) -> list[tuple[Execution, float]]:
    terms = query_terms(text)
    if not terms:
        return []
    groups = [(t, *QUERY_SYNONYMS.get(t, ())) for t in terms]
    pool_weight = {ex.id: w for ex, w in pool}
    # Index every execution, not just the pool: idf must come from the whole corpus, or a
    # word shared by all runs of the requested type ("aurora" in every migration) counts 0.
    docs = sorted({ex.id: ex for ex in executions}.values(), key=lambda e: e.id)
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute(
            f"CREATE VIRTUAL TABLE docs USING fts5({', '.join(_FTS_COLUMNS)}, tokenize='porter unicode61')"
        )
        conn.executemany(
            f"INSERT INTO docs(rowid, {', '.join(_FTS_COLUMNS)}) VALUES (?, {', '.join('?' * len(_FTS_COLUMNS))})",
            [(i, *_document(ex, cls[ex.id])) for i, ex in enumerate(docs)],
        )
        weights = ", ".join(str(w) for w in _FTS_WEIGHTS)
        query = " OR ".join(_fts_group(g) for g in groups)
        bm25 = {
            int(rowid): max(0.0, -float(score))  # bm25() is negative, lower = better
            for rowid, score in conn.execute(
                f"SELECT rowid, bm25(docs, {weights}) FROM docs WHERE docs MATCH ?", (query,)
            )
        }
        covered: dict[int, int] = defaultdict(int)
        for group in groups:
            for (rowid,) in conn.execute(
                "SELECT rowid FROM docs WHERE docs MATCH ?", (_fts_group(group),)
            ):
                covered[int(rowid)] += 1
    finally:
        conn.close()
    candidates = [i for i in bm25 if docs[i].id in pool_weight and covered[i] > 0]
    if not candidates:
        return []
    best_bm25 = max(bm25[i] for i in candidates)
    scores: dict[int, float] = {}
    for i in candidates:
        specificity = bm25[i] / best_bm25 if best_bm25 > 1e-9 else 0.0
        coverage = covered[i] / len(groups)
        share = BM25_SHARE if best_bm25 > 1e-9 else 0.0
        scores[i] = (share * specificity + (1 - share) * coverage) * pool_weight[docs[i].id]
    best = max(scores.values())
    return [(docs[i], round(s / best, 4)) for i, s in scores.items() if s / best >= RELATIVE_CUTOFF]


def _fts_group(words: Sequence[str]) -> str:
    # Quoted: an FTS5 query never sees user syntax (AND, NEAR, column filters, '*').
    return "(" + " OR ".join('"' + w.replace('"', "") + '"' for w in words) + ")"


# ------------------------------------------------------------- one procedure

# A run with fewer distinct commands than this only joins a procedure; it never founds one.
PROCEDURE_MIN_KEYS = 3
# A second procedure matching the request at least this share of the chosen one is ambiguous.
AMBIGUOUS_SHARE = 0.8
# Runs outside the request compared against: at most this many per candidate (bounded work).
REFERENCE_FACTOR = 2
# How well a run's own words name the requested scope: the scope word (or a synonym), a tool
# that implies it (terraform -> infrastructure), or only the scopes read from its commands.
HIT_NAMED = 1.0
HIT_IMPLIED = 0.6
HIT_COMMANDS = 0.3
CONTEXT_CHARS = 200  # of a run's context read for the scope (a line, not a note's body)
_NAME_WORD = re.compile(r"[a-z][a-z0-9]{2,}")
_TITLE_PREFIX = re.compile(r"^\s*(?:execution|failure|session notes|run)\s*:\s*", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class _Group:
    """A procedure group seen from the request: its candidates and the other runs in it."""

    candidates: tuple[str, ...]
    others: tuple[str, ...]
    complete: int  # complete candidate runs (those that may found a procedure)
    match: float  # how well its candidates match the request (summed over runs)


def select_procedure(
    executions: Sequence[Execution],
    op_type: OperationType,
    scope: str | None,
    classifications: Mapping[str, Classification] | None = None,
) -> tuple[list[tuple[Execution, float]], tuple[str, ...]]:
    """`select`, narrowed to the one procedure the request names; notes say what was left out.

    Runs of the requested type and scope may still belong to different procedures (another
    service's deploy also runs ``terraform apply``; a deploy that rolled back half-way). They
    are grouped by what they ran and what names them (`runbook.cluster`): the group matching
    the request best is kept, and runs of another recurring procedure are left out. A lone odd
    run is kept: one run is no evidence of another procedure.
    """
    cls = {e.id: (classifications or {}).get(e.id) or classify(e) for e in executions}
    ranked = select(executions, op_type, scope, cls)
    if len(ranked) < 2:
        return ranked, ()
    if op_type is INC:
        # Failure reports and journals are grouped into incidents elsewhere; the response runs
        # are narrowed like any runs, so that another kind of incident whose notes share a
        # word with the request ("timeout" of a certificate webhook) stays out.
        reports = [(ex, w) for ex, w in ranked if _is_failure_evidence(ex, cls[ex.id])]
        runs = [(ex, w) for ex, w in ranked if not _is_failure_evidence(ex, cls[ex.id])]
        if len(runs) < 2:
            return ranked, ()
        kept, notes = _focus(runs, executions, op_type, scope, cls)
        return _ordered([*reports, *kept]), notes
    return _focus(ranked, executions, op_type, scope, cls)


def _focus(
    ranked: list[tuple[Execution, float]],
    executions: Sequence[Execution],
    op_type: OperationType,
    scope: str | None,
    cls: Mapping[str, Classification],
) -> tuple[list[tuple[Execution, float]], tuple[str, ...]]:
    pool = {ex.id: (ex, score) for ex, score in ranked}
    members: dict[str, Member] = {ex.id: _procedure_member(ex, cls[ex.id]) for ex, _ in ranked}
    if sum(1 for m in members.values() if m.full) < 2:
        return ranked, ()
    scope_text = normalize_scope(scope) if scope and scope.strip() else ""
    members.update(_reference_members(executions, pool, op_type, scope_text, cls))
    hit = _request_hit(scope_text)
    groups: list[_Group] = []
    for ids in group(sorted(members.values(), key=lambda m: m.id)):
        cand = tuple(i for i in ids if i in pool)
        groups.append(
            _Group(
                candidates=cand,
                others=tuple(i for i in ids if i not in pool),
                complete=sum(1 for i in cand if members[i].full),
                match=sum(pool[i][1] * hit(pool[i][0], cls[i]) for i in cand),
            )
        )
    # A procedure of the request: two complete runs at least, and mostly runs of the request.
    own = [g for g in groups if g.complete >= 2 and g.complete >= len(g.others)]
    # groups come largest first: on a tie the larger one wins
    best = max(own, key=lambda g: g.match) if own else None
    dropped: set[str] = set()
    notes: list[str] = []
    for g in groups:
        if g is best or not g.candidates:
            continue
        if sum(1 for i in (*g.candidates, *g.others) if members[i].full) < 2:
            continue  # a lone odd run is no evidence of another procedure
        if best is not None and g in own:
            dropped.update(g.candidates)
            notes.append(_another_procedure_note(g, best, own, pool, cls))
            continue
        # Runs that repeat another request's procedure, unless their own names say they are
        # this operation (a deploy retried as update-function-code alone looks like a
        # rollback) and, beside a procedure of the request, not that one too ("Ship 1.3
        # (retry after undo)" names both and is a deploy). With no procedure of the request
        # in view, only runs whose names never call them this operation are left out.
        if len(g.others) < 2:
            continue  # one other run is no recurring procedure either
        theirs = Counter(cls[i].operation_type for i in g.others)
        kind = min(theirs, key=lambda t: (-theirs[t], t.value)) if theirs else None
        strays = tuple(
            i
            for i in g.candidates
            if not _names_operation(pool[i][0], op_type)
            or (
                best is not None
                and kind is not None
                and kind is not op_type
                and _names_operation(pool[i][0], kind)
            )
        )
        if strays:
            dropped.update(strays)
            notes.append(_other_runs_note(replace(g, candidates=strays), pool, executions, cls))
    adopted = _adopted(best, executions, op_type, cls) if best is not None else []
    if adopted:
        # after the request's own runs: they rank below every run classified as asked
        floor = min(pool[i][1] for i in best.candidates) if best is not None else 0.0
        notes.append(_adopted_note(adopted, op_type, cls))
        ranked = [*ranked, *((ex, floor) for ex in adopted)]
    kin = _kin(best, members, executions, pool, op_type, scope_text, cls) if best else []
    kin = [e for e in kin if e not in adopted]
    if kin:
        floor = min(pool[i][1] for i in best.candidates) if best is not None else 0.0
        notes.append(_kin_note(kin, scope_text))
        ranked = [*ranked, *((ex, floor) for ex in kin)]
        adopted = [*adopted, *kin]
    if not dropped and not adopted:
        return ranked, ()
    return [(ex, s) for ex, s in ranked if ex.id not in dropped], tuple(notes)


def _adopted(
    best: _Group,
    executions: Sequence[Execution],
    op_type: OperationType,
    cls: Mapping[str, Classification],
) -> list[Execution]:
    """Runs classified otherwise that repeat the chosen procedure and whose names call them
    this operation, not the one they were classified as (a deploy whose rollback half-way
    outvoted its deploy commands): runs of this procedure, with their failures and fixes."""
    others = set(best.others)
    return sorted(
        (
            e
            for e in executions
            if e.id in others
            and _names_operation(e, op_type)
            and not _names_operation(e, cls[e.id].operation_type)
        ),
        key=lambda e: e.id,
    )


def _kin(
    best: _Group,
    members: Mapping[str, Member],
    executions: Sequence[Execution],
    pool: Mapping[str, tuple[Execution, float]],
    op_type: OperationType,
    scope_text: str,
    cls: Mapping[str, Classification],
) -> list[Execution]:
    """Runs of the requested type (or of none) that a free-text scope missed but that are
    this procedure.

    One procedure is often recorded partly in notes whose titles name it and partly in
    machine records that say less: a cast titled "schema change to orders" beside notes on
    "the Postgres schema change", a shell history that names nothing. Such a run joins when
    its commands are the chosen procedure's (cluster similarity) and it is not named for
    something else: its names share a word with the request, or it is a history session
    whose scopes the chosen runs all cover (another service's history stays out).
    """
    if not scope_text:
        return []
    terms = set(query_terms(scope_text))
    chosen = [members[i] for i in best.candidates]
    covered = {s for i in best.candidates for s in cls[i].scopes}
    cand = [
        e
        for e in executions
        if e.id not in pool
        and e.commands
        and not _is_failure_evidence(e, cls[e.id])  # a failure report is no run of it
        # of the type, or of none (a record whose commands alone did not say what it was)
        and cls[e.id].operation_type in (op_type, OperationType.NONE)
    ]
    if not cand or not chosen:
        return []
    looks = {e.id: _procedure_member(e, cls[e.id]) for e in cand}
    weight = cluster_weights([m.commands for m in (*chosen, *looks.values())])
    profile = command_profile(chosen)
    out = []
    for e in cand:
        m = looks[e.id]
        if not m.commands:
            continue
        named = bool(_name_words(e) & terms)
        anonymous = e.kind is EvidenceKind.SHELL_HISTORY and set(cls[e.id].scopes) <= covered
        if not (named or anonymous):
            continue
        # a complete run is alike the whole profile; a partial one is held by it
        fits = (
            similarity(m.commands, profile, weight) >= JOIN
            if m.full
            else containment(m.commands, profile, weight) >= PARTIAL_JOIN
        )
        if fits:
            out.append(e)
    return sorted(out, key=lambda e: e.id)


def _kin_note(kin: Sequence[Execution], scope_text: str) -> str:
    """``counted 12 runs that do not name '…' (9 shell histories, 3 casts) …``."""
    kinds = Counter(e.kind.value for e in kin)
    what = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0])))
    return (
        f"counted {_plural(len(kin), 'run')} that {'does' if len(kin) == 1 else 'do'} not name "
        f"{scope_text!r} ({what}): {'it repeats' if len(kin) == 1 else 'they repeat'} the "
        "commands of the runs that do"
    )


def _adopted_note(
    adopted: Sequence[Execution], op_type: OperationType, cls: Mapping[str, Classification]
) -> str:
    """``counted 2 runs read as rollback (a.md, b.md) as runs of this procedure: …``."""
    kinds = sorted({cls[e.id].operation_type.value for e in adopted})
    paths = [e.source.path for e in adopted]
    shown = ", ".join(paths[:2]) + (f" and {len(paths) - 2} more" if len(paths) > 2 else "")
    return (
        f"counted {_plural(len(adopted), 'run')} read as {' or '.join(kinds)} ({shown}) as runs "
        f"of this procedure: {'it repeats' if len(adopted) == 1 else 'they repeat'} its "
        f"commands and {'its' if len(adopted) == 1 else 'their'} names say {op_type.value}"
    )


def _procedure_member(ex: Execution, c: Classification) -> Member:
    """What a run did (command templates) and what names it (words), for grouping by procedure."""
    from runbook.mine.kinds import is_noise

    commands: set[str] = set()
    for cmd in ex.commands[:200]:
        for part in split_compound(cmd.text):
            t = normalize(part)
            if t.program and not is_noise(t, cmd):
                commands.add(f"{_base(t.program)} {t.subcommand}".rstrip())
    failed = resolved_outcome(ex, c) is Outcome.FAILURE or ex.mode is ObservationMode.FAILURE
    full = len(commands) >= PROCEDURE_MIN_KEYS and not failed
    return Member(ex.id, frozenset(commands), frozenset(_name_words(ex)), full=full)


def _names_text(ex: Execution) -> str:
    """What names a run: title, file name, folders and tags, lower-cased."""
    slug, dirs = _slug_and_dirs(ex.source.path)
    # not the context: a session note's context is its whole body, commands and all
    return " ".join((ex.title, slug, *dirs, *ex.tags)).lower()


def _names_operation(ex: Execution, op_type: OperationType) -> bool:
    """True when a run's own names (title, file name, tags) call it this operation."""
    text = _names_text(ex)
    return any(op is op_type and f >= 1.0 and rx.search(text) for op, rx, f in _TEXT_RES)


def _name_words(ex: Execution) -> set[str]:
    return {w for w in _NAME_WORD.findall(_names_text(ex)) if w not in _STOP_WORDS}


def _reference_members(
    executions: Sequence[Execution],
    pool: Mapping[str, tuple[Execution, float]],
    op_type: OperationType,
    scope_text: str,
    cls: Mapping[str, Classification],
) -> dict[str, Member]:
    """Complete runs of other operations that share the request's area (bounded, id order).

    Runs of the same operation left out of the pool (below a free-text relevance cut) are no
    reference: their procedure is this one, and they would outvote the pool's own runs.
    """
    wanted = scope_text.replace("_", "-")
    pool_scopes = {s.replace("_", "-") for ex, _ in pool.values() for s in cls[ex.id].scopes}
    area = {wanted} if wanted in pool_scopes else pool_scopes
    out: dict[str, Member] = {}
    limit = REFERENCE_FACTOR * len(pool) + 50
    for ex in sorted(executions, key=lambda e: e.id):
        if len(out) >= limit:
            break
        if ex.id in pool or not ex.commands or cls[ex.id].operation_type is op_type:
            continue
        if not area & {s.replace("_", "-") for s in cls[ex.id].scopes}:
            continue
        m = _procedure_member(ex, cls[ex.id])
        if m.full:
            out[ex.id] = m
    return out


def _request_hit(scope_text: str) -> Callable[[Execution, Classification], float]:
    """How well one run's own words name the request (1 when there is no scope)."""
    if not scope_text:
        return lambda ex, c: 1.0
    wanted = scope_text.replace("_", "-")
    terms = query_terms(scope_text)
    named = {wanted, *terms, *(w for w, canon in SCOPE_SYNONYMS.items() if canon == wanted)}
    for t in terms:
        named.update(QUERY_SYNONYMS.get(t, ()))
    implied = {tool for tool, areas in SCOPE_IMPLIES.items() if wanted in areas}
    named_re = _words_re(named)
    implied_re = _words_re(implied)

    def hit(ex: Execution, c: Classification) -> float:
        # a context line, not a body: a session note's context is all of it, commands too
        text = f"{_names_text(ex)} {ex.context[:CONTEXT_CHARS].lower()}"
        if named_re is not None and named_re.search(text):
            return HIT_NAMED
        if implied_re is not None and implied_re.search(text):
            return HIT_IMPLIED
        return HIT_COMMANDS

    return hit


def _words_re(words: Iterable[str]) -> re.Pattern[str] | None:
    alts = sorted(
        {re.escape(w).replace(r"\-", "[ _-]") for w in words if w}, key=lambda w: (-len(w), w)
    )
    return re.compile(rf"(?<![a-z0-9])(?:{'|'.join(alts)})(?![a-z0-9])") if alts else None


def _title(ids: Sequence[str], runs: Mapping[str, Execution]) -> str:
    """The most common title among the runs (``Execution:`` and similar prefixes dropped)."""
    titles = Counter(_TITLE_PREFIX.sub("", runs[i].title).strip() for i in ids if i in runs)
    titles.pop("", None)
    if not titles:
        return ""
    title, _ = min(titles.items(), key=lambda kv: (-kv[1], kv[0]))
    return title if len(title) <= 60 else title[:57].rstrip() + "..."


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _another_procedure_note(
    g: _Group,
    best: _Group,
    own: Sequence[_Group],
    pool: Mapping[str, tuple[Execution, float]],
    cls: Mapping[str, Classification],
) -> str:
    """``left out 47 runs of another procedure ("Deploy report-worker Lambda"): …``."""
    runs = {i: pool[i][0] for i in (*g.candidates, *best.candidates)}
    title = _title(g.candidates, runs)
    kept_title = _title(best.candidates, runs)
    label = f" (“{title}”)" if title else ""
    kept = f"“{kept_title}”" if kept_title else _plural(len(best.candidates), "run")
    ask = _scope_apart(g, own, pool, cls)
    ask = f"; ask for scope {ask!r} to mine them" if ask else ""
    close = g.match >= AMBIGUOUS_SHARE * best.match
    how = "almost as well as" if close else "less well than"
    return (
        f"left out {_plural(len(g.candidates), 'run')} of another procedure{label}: "
        f"they match the request {how} the one mined ({kept}){ask}"
    )


def _scope_apart(
    g: _Group,
    own: Sequence[_Group],
    pool: Mapping[str, tuple[Execution, float]],
    cls: Mapping[str, Classification],
) -> str:
    """A scope that asks for ``g``'s runs: most of them have it and other groups' runs lack it.

    Failing that, one their own names say (title, file name) and other groups' names do not:
    terraform runs of another service imply "infrastructure", they do not name it.
    """
    others = [o for o in own if o is not g]

    def named(ids: Sequence[str], scope: str) -> int:
        rx = _words_re([scope])
        return sum(1 for i in ids if rx is not None and rx.search(_names_text(pool[i][0])))

    def held(ids: Sequence[str], scope: str) -> int:
        return sum(1 for i in ids if scope in cls[i].scopes)

    theirs = Counter(s for i in g.candidates for s in cls[i].scopes)
    common = [s for s, n in theirs.items() if n * 2 >= len(g.candidates)]
    names = {s: named(g.candidates, s) for s in common}
    apart = [
        s for s in common if all(held(o.candidates, s) * 2 < len(o.candidates) for o in others)
    ] or [
        s
        for s in common
        if names[s] * 2 >= len(g.candidates)
        and all(named(o.candidates, s) * 2 < len(o.candidates) for o in others)
    ]
    # a scope the runs' own titles name reads best ("lambda" of "Deploy report-worker Lambda"),
    # then the most specific: a service name (checkout-api) before a word inside it (api)
    return min(
        apart,
        key=lambda s: (-names[s], s not in CANONICAL_SCOPES, -theirs[s], -len(s), s),
        default="",
    )


def _other_runs_note(
    g: _Group,
    pool: Mapping[str, tuple[Execution, float]],
    executions: Sequence[Execution],
    cls: Mapping[str, Classification],
) -> str:
    """``left out 2 runs that look like the 40 deployment runs of "Deploy checkout-api"``."""
    others = set(g.others)
    runs = {e.id: e for e in executions if e.id in others}
    types = Counter(cls[i].operation_type.value for i in g.others)
    kind = min(types.items(), key=lambda kv: (-kv[1], kv[0]))[0] if types else "other"
    title = _title(g.others, runs)
    label = f" (“{title}”)" if title else ""
    paths = sorted(pool[i][0].source.path for i in g.candidates)
    shown = ", ".join(paths[:2]) + (f" and {len(paths) - 2} more" if len(paths) > 2 else "")
    return (
        f"left out {_plural(len(g.candidates), 'run')} ({shown}): "
        f"{'it repeats' if len(paths) == 1 else 'they repeat'} the procedure of "
        f"{_plural(len(g.others), f'{kind} run')}{label}, not this one"
    )


# ------------------------------------------------------------- development tasks

# Verbs that alone make a request development work.
DEV_PHRASES = (
    r"implement\w*",
    r"refactor\w*",
    r"rename\w*",
    r"fix(?:ing)?\s+(?:a\s+|the\s+)?typos?",
    r"write\s+(?:unit\s+|integration\s+|e2e\s+)?tests?",
    r"add\s+(?:unit\s+|integration\s+|e2e\s+)?tests?",
    r"code\s+review",
    r"clean\s*up\s+(?:the\s+)?code",
)
# Verbs that make development work only together with a code object below.
DEV_VERBS = (
    r"add|adding|create|build|write|fix|update|remove|delete|change|extend|support|introduce|design"
)
DEV_OBJECTS = (
    r"endpoints?|features?|readme(?:\.md)?|functions?|class(?:es)?|methods?|tests?|unit\s+tests?"
    r"|components?|pages?|buttons?|forms?|screens?|modals?|widgets?|routes?|handlers?|docstrings?"
    r"|comments?|types?|interfaces?|props?|css|styles?|typos?|lint\w*|bugs?|ui|ux|fields?|models?|views?"
)
# Operational words: any of these means the request is about operations, not code.
OPS_WORDS = (
    r"deploy\w*|roll(?:ed|ing)?[ -]?backs?|revert\w*|incidents?|outages?|migrat\w*|scal(?:e|ing)\w*"
    r"|replicas?|traffic|timeouts?|latency|exhaust\w*|capacity|failover|backups?|restore\w*"
    r"|upgrad\w*|cold[ -]starts?|alarms?|alerts?|throttl\w*|5xx|50[0234]|pool|cluster|nodes?"
    r"|concurrency|throughput|schema|columns?|index(?:es)?|tables?|aurora|rds|dynamodb|postgres\w*"
    r"|\d+(?:\.\d+)+\s*(?:to|->)\s*\d+(?:\.\d+)+|\d+x"
)
_DEV_PHRASE_RE = re.compile(rf"(?<![a-z])(?:{'|'.join(DEV_PHRASES)})(?![a-z])")
_DEV_VERB_RE = re.compile(rf"(?<![a-z])(?:{DEV_VERBS})(?![a-z])")
_DEV_OBJECT_RE = re.compile(rf"(?<![a-z])(?:{DEV_OBJECTS})(?![a-z])")
_OPS_RE = re.compile(rf"(?<![a-z0-9])(?:{OPS_WORDS})(?![a-z])")


def development_task_reason(text: str) -> str | None:
    """Why ``text`` reads as a development task (None when it reads as operations)."""
    low = " ".join(text.lower().split())
    if not low or _OPS_RE.search(low):
        return None
    phrase = _DEV_PHRASE_RE.search(low)
    if phrase:
        return f'"{phrase.group(0)}" is development work'
    verb = _DEV_VERB_RE.search(low)
    obj = _DEV_OBJECT_RE.search(low)
    if verb and obj:
        return f'"{verb.group(0)} … {obj.group(0)}" is development work'
    return None


def is_development_task(text: str) -> bool:
    """True when the request is feature/code work rather than an operation (anti-pattern)."""
    return development_task_reason(text) is not None


__all__ = [
    "CANONICAL_SCOPES",
    "FAMILIES",
    "Command",
    "SourceRef",
    "classify",
    "classify_journal",
    "command_facts",
    "development_task_reason",
    "is_development_task",
    "journal_execution",
    "normalize_scope",
    "query_terms",
    "select",
    "select_procedure",
    "split_compound",
]
