"""Assemble the mined parts (procedure, failure clusters, rollback runs, alarms...) into a `Runbook`.

Every section of the original `/runbook` template is filled here from evidence. What was not
observed is either left empty (the renderer then says so) or filled with a clearly marked
*default* (the original template's generic advice) or *derived* item (inferred from the
commands, e.g. the access a tool implies), never passed off as observed.
"""

from __future__ import annotations

import posixpath
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date

from runbook.classify import resolved_outcome
from runbook.mine.tables import segments
from runbook.model import (
    AlarmDef,
    Check,
    Classification,
    Decision,
    Duration,
    EvidenceKind,
    Execution,
    FailureCluster,
    Item,
    Journal,
    MigrationDef,
    MinedCommand,
    MinedStep,
    Monitoring,
    OperationType,
    Outcome,
    Overview,
    Param,
    ParsedFile,
    Prerequisites,
    Procedure,
    Related,
    Rollback,
    RollbackStep,
    Runbook,
    SourceEntry,
    SourceRef,
    Stat,
    Step,
    Support,
    Threshold,
    TroubleshootingEntry,
    Verification,
)
from runbook.normalize import join_continuations, resolve_program, secret_wrapper

DEFAULT = "default"
DERIVED = "derived"
NEVER_OBSERVED = "derived — never observed"

TYPE_TITLES: Mapping[OperationType, str] = {
    OperationType.DEPLOYMENT: "Deployment",
    OperationType.ROLLBACK: "Rollback",
    OperationType.INCIDENT: "Incident Response",
    OperationType.MIGRATION: "Migration",
    OperationType.SCALING: "Scaling",
    OperationType.NONE: "Operation",
}

# The original's "Runbook Maintenance": critical runbooks monthly, regular ones quarterly.
REVIEW_FREQUENCY: Mapping[OperationType, str] = {
    OperationType.DEPLOYMENT: "Monthly",
    OperationType.ROLLBACK: "Monthly",
    OperationType.INCIDENT: "Monthly",
    OperationType.MIGRATION: "Quarterly",
    OperationType.SCALING: "Quarterly",
    OperationType.NONE: "Quarterly",
}

# Why a phase exists, phrased generically: the evidence records what was run, not why.
PHASE_PURPOSE: Mapping[str, str] = {
    "build": "Produce the artifact that the later steps ship",
    "test": "Check the change before it reaches the target environment",
    "deploy": "Apply the change to the target environment",
    "verify": "Confirm the change took effect and the service is healthy",
    "monitor": "Watch logs and metrics for regressions after the change",
    "detect": "Confirm the problem and how far it reaches",
    "decide": "Decide whether to revert, using the decision matrix below",
    "revert": "Return the service to its last known-good version",
    "investigate": "Collect what is needed to find out why the change failed",
    "triage": "Assess severity and impact to decide how urgently to act",
    "mitigate": "Restore service quickly, before the root cause is known",
    "root cause": "Find the underlying cause of the incident",
    "fix": "Apply the permanent fix",
    "document": "Record what happened so the next responder is faster",
    "backup": "Make the change recoverable before touching data",
    "apply": "Apply the change",
    "rollback plan": "Prepare and check the way back before it is needed",
    "analyze": "Measure the current load and capacity",
    "plan": "Decide the target capacity and how to get there",
    "execute": "Change the capacity",
    "optimize": "Tune the new capacity to the observed load",
    "prepare": "Put the prerequisites in place",
}


def _wordset(text: str) -> frozenset[str]:
    """A word list written as text (easier to read and extend than a column of strings)."""
    return frozenset(text.split())


# Shell words that are not tools an operator needs to install.
_BUILTINS = _wordset(
    "cd ls cat echo export set unset source . clear history sleep true false pwd exit "
    "printf read test [ wait time env sudo nohup xargs tee grep head tail sed awk sort "
    "uniq wc cut tr date mkdir rm cp mv touch chmod which type alias"
)

TOOL_NAMES: Mapping[str, str] = {
    "aws": "AWS CLI",
    "terraform": "Terraform CLI",
    "tofu": "OpenTofu CLI",
    "doppler": "Doppler CLI",
    "gh": "GitHub CLI",
    "git": "Git",
    "kubectl": "kubectl",
    "helm": "Helm",
    "docker": "Docker",
    "psql": "psql (PostgreSQL client)",
    "mysql": "mysql client",
    "alembic": "Alembic",
    "flyway": "Flyway",
    "migrate": "golang-migrate",
    "dbmate": "dbmate",
    "npm": "npm",
    "npx": "npx",
    "yarn": "Yarn",
    "pnpm": "pnpm",
    "make": "make",
    "python": "Python",
    "python3": "Python",
    "pip": "pip",
    "pytest": "pytest",
    "curl": "curl",
    "jq": "jq",
    "sam": "AWS SAM CLI",
    "cdk": "AWS CDK",
    "serverless": "Serverless Framework",
    "sls": "Serverless Framework",
    "gcloud": "Google Cloud CLI",
    "az": "Azure CLI",
    "redis-cli": "redis-cli",
    "dr": "dr (project CLI)",
}

# What a tool implies an operator must be allowed to do; always marked "derived".
ACCESS_BY_TOOL: Mapping[str, str] = {
    "aws": "AWS credentials (IAM role/profile) allowed to run: {subcommands}",
    "sam": "AWS credentials (IAM role/profile) for SAM deployments",
    "cdk": "AWS credentials (IAM role/profile) for CDK deployments",
    "gh": "GitHub access for `gh` (authenticated; write access to the repository for workflow runs)",
    "git": "Git write access to the repository",
    "doppler": "Doppler access to read the secrets of the target environment",
    "kubectl": "A Kubernetes context with rights for: {subcommands}",
    "helm": "A Kubernetes context with rights to install/upgrade Helm releases",
    "terraform": "Cloud credentials and access to the Terraform state backend (and its lock)",
    "tofu": "Cloud credentials and access to the OpenTofu state backend (and its lock)",
    "psql": "Database credentials for the target database",
    "mysql": "Database credentials for the target database",
    "alembic": "Database credentials for the target database (migrations)",
    "flyway": "Database credentials for the target database (migrations)",
    "migrate": "Database credentials for the target database (migrations)",
    "dbmate": "Database credentials for the target database (migrations)",
    "redis-cli": "Credentials for the Redis endpoint",
    "gcloud": "Google Cloud credentials for: {subcommands}",
    "az": "Azure credentials for: {subcommands}",
}

AWS_SERVICES: Mapping[str, str] = {
    "lambda": "AWS Lambda",
    "ecr": "Amazon ECR",
    "ecs": "Amazon ECS",
    "eks": "Amazon EKS",
    "rds": "Amazon RDS / Aurora",
    "dynamodb": "Amazon DynamoDB",
    "s3": "Amazon S3",
    "cloudfront": "Amazon CloudFront",
    "cloudwatch": "Amazon CloudWatch",
    "logs": "CloudWatch Logs",
    "apigateway": "Amazon API Gateway",
    "sqs": "Amazon SQS",
    "sns": "Amazon SNS",
    "elasticache": "Amazon ElastiCache",
    "application-autoscaling": "Application Auto Scaling",
    "autoscaling": "EC2 Auto Scaling",
    "ec2": "Amazon EC2",
    "secretsmanager": "AWS Secrets Manager",
    "ssm": "AWS Systems Manager",
    "stepfunctions": "AWS Step Functions",
    "sts": "AWS STS",
}

# The original template's generic pre-checks, per type; always shown as "default".
_DEFAULT_PRE_CHECKS: Mapping[OperationType, tuple[str, ...]] = {
    OperationType.DEPLOYMENT: (
        "No other deployment in progress (check CI)",
        "Stakeholders notified (if production)",
    ),
    OperationType.ROLLBACK: (
        "The failing version and the last known-good version are identified",
        "No deployment in progress that would redeploy the failing version (check CI)",
    ),
    OperationType.INCIDENT: ("Incident declared; responders and stakeholders informed",),
    OperationType.MIGRATION: (
        "No other migration or deployment in progress (check CI)",
        "Stakeholders notified (if production)",
    ),
    OperationType.SCALING: (
        "No other capacity change in progress",
        "Stakeholders notified (if production)",
    ),
    OperationType.NONE: ("Stakeholders notified (if production)",),
}

_WHEN_DEFAULTS = (
    "Any verification check fails",
    "Error rate > 5% for 5+ minutes",
    "Critical functionality broken (smoke tests fail)",
    "Stakeholder decision (business impact)",
)

_MATRIX_DEFAULTS = (
    ("Smoke tests fail", "Rollback immediately (no discussion)"),
    ("Error rate 5-10%", "Rollback (high confidence)"),
    ("Error rate 10-20%", "Rollback mandatory"),
    ("Metrics degraded but tests pass", "Investigate 10 min, then decide"),
)

_THRESHOLD_DEFAULTS = (
    ("Error Rate", "> 5%", "> 10%", "Rollback"),
    ("Latency p99", "> 10s", "> 20s", "Investigate"),
    ("5xx Errors", "> 5 in 5min", "> 10 in 5min", "Rollback"),
    ("Memory Usage", "> 80%", "> 90%", "Scale up"),
)

_COMPARISON = {
    "greaterthanthreshold": ">",
    "greaterthanorequaltothreshold": "≥",
    "lessthanthreshold": "<",
    "lessthanorequaltothreshold": "≤",
    "greaterthanupperthreshold": ">",
    "lessthanlowerthreshold": "<",
}

_CRITICAL_SEVERITIES = frozenset(
    {"critical", "crit", "high", "sev1", "sev-1", "p1", "page", "error"}
)

MAX_EVIDENCE_SHOWN = 5
MAX_OBSERVED_TRIGGERS = 3  # failure signatures shown as rollback triggers (most frequent first)
MAX_IF_FAILED = 3  # failure signatures listed under a step; the rest are referenced by number


@dataclass(frozen=True, slots=True)
class RunSet:
    """A group of executions with their classifications (keyed by execution id)."""

    executions: tuple[Execution, ...] = ()
    classifications: Mapping[str, Classification] | None = None

    def classification(self, execution: Execution) -> Classification | None:
        """The classification of ``execution`` when one was given."""
        if self.classifications is None:
            return None
        return self.classifications.get(execution.id)


def assemble(
    *,
    op_type: OperationType,
    scope: str,
    procedure: Procedure,
    clusters: Sequence[FailureCluster],
    runs: RunSet,
    failures: RunSet,
    journals: Sequence[Journal],
    rollback_procedure: Procedure | None,
    rollback_runs: Sequence[Execution],
    alarms: Sequence[AlarmDef] = (),
    migrations: Sequence[MigrationDef] = (),
    files: Sequence[ParsedFile] = (),
    guides: Sequence[str] = (),
    today: date,
    owner: str = "",
) -> Runbook:
    """Fill every section of the runbook template from the mined evidence, with provenance."""
    used_runs = _used_runs(procedure, runs.executions)
    ordered_clusters = sort_clusters(clusters)
    steps = _steps(procedure, ordered_clusters, op_type)
    title = f"Runbook: {TYPE_TITLES[op_type]}" + (f" - {scope}" if scope else "")
    total = procedure.total
    rollback = _rollback(
        op_type,
        procedure,
        ordered_clusters,
        rollback_procedure,
        rollback_runs,
        migrations,
    )
    if op_type is not OperationType.INCIDENT:
        rollback = replace(rollback, when=rollback.when + _alarm_triggers(alarms))
    alarm_rows = _thresholds(alarms)
    monitoring = Monitoring(watch=_watch(procedure, steps), alert_thresholds=alarm_rows)
    file_index = {f.path: f for f in files}
    sources = _sources(
        file_index,
        [*used_runs, *failures.executions, *rollback_runs],
        journals,
        alarms,
        migrations,
    )
    runbook = Runbook(
        title=title,
        operation_type=op_type,
        scope=scope,
        generated=today,
        last_validated=_last_validated(used_runs),
        owner=_owner(used_runs, owner),
        review_frequency=REVIEW_FREQUENCY[op_type],
        estimated_duration=Duration(
            median_seconds=total.median_s if total else None,
            p90_seconds=total.p90_s if total else None,
            runs=total.n if total else 0,
        ),
        sources=sources,
        overview=_overview(op_type, scope, procedure, used_runs, runs, ordered_clusters, alarms),
        prerequisites=_prerequisites(
            op_type, procedure, used_runs, runs, failures.executions, migrations
        ),
        steps=steps,
        verification_checks=_checks(procedure, ordered_clusters),
        rollback=rollback,
        monitoring=monitoring,
        troubleshooting=tuple(_troubleshooting(c) for c in ordered_clusters),
        related=_related(sources, guides),
        notes=(),
    )
    notes = _notes(runbook, procedure, runs, used_runs, rollback_runs, alarms, op_type)
    chain = migration_chain(migrations)
    if chain:
        notes += (
            f"Migrations found, oldest to newest: {chain}; the newest is what the Rollback "
            "section reverts.",
        )
    return _with_notes(runbook, notes)


# ------------------------------------------------------------------ helpers: commands


def program_of(command: MinedCommand | str) -> tuple[str, str]:
    """(program, subcommand) of a mined command, falling back to a plain split of its text."""
    if isinstance(command, MinedCommand) and command.program:
        return command.program, command.subcommand
    text = command.text if isinstance(command, MinedCommand) else command
    # Past env assignments and wrappers (`ENV=prod doppler run -- aws ...`): the tool is what
    # runs. normalize holds the one wrapper table.
    found = resolve_program(_first_segment(text))
    if found is None:
        return "", ""
    program = posixpath.basename(found[0])
    sub: list[str] = []
    rest = list(found[1])
    while rest and len(sub) < 2:
        word = rest.pop(0)
        if word in _GLOBAL_VALUE_FLAGS and not sub:
            rest = rest[1:]  # `kubectl -n shop set image ...`: a global option before the verb
            continue
        if word.startswith("-") and "=" in word and not sub:
            continue  # `terraform -chdir=infra plan`: a self-contained global option
        if word.startswith("-") or "{" in word or "/" in word or "=" in word:
            break
        sub.append(word)
    return program, " ".join(sub)


# Options that take a value and may come before the subcommand (`kubectl -n x get`, `git -C d`).
_GLOBAL_VALUE_FLAGS = frozenset(
    {
        "-n",
        "--namespace",
        "--context",
        "--kube-context",
        "--kubeconfig",
        "--profile",
        "--region",
        "-C",
    }
)


def _first_segment(text: str) -> list[str]:
    """The words of the first simple command of ``text``."""
    lines = _command_lines(text)
    segs = segments(lines[0]) if lines else []
    return segs[0] if segs else []


_HEREDOC_OPEN = re.compile(r"(?<!<)<<(?!<)")


def _command_lines(text: str) -> list[str]:
    """The shell lines of ``text``, continuations joined, up to a heredoc body (data, not code)."""
    out: list[str] = []
    for line in join_continuations(text).strip().splitlines():
        if line.strip():
            out.append(line)
        if _HEREDOC_OPEN.search(line):
            break
    return out


def programs_in(text: str) -> list[str]:
    """Every program a command line runs, including wrappers and what follows pipes and `&&`."""
    found: list[str] = []
    for line in _command_lines(text):
        for words in segments(line):
            resolved = resolve_program(words)
            program = posixpath.basename(resolved[0]) if resolved else ""
            for name in (secret_wrapper(words), program):
                if name and name not in found:
                    found.append(name)
    return found


def is_log_command(command: MinedCommand | str) -> bool:
    """A command that tails or reads service logs (`aws logs tail`, `kubectl logs`...)."""
    program, sub = program_of(command)
    text = command.text if isinstance(command, MinedCommand) else command
    if program == "aws":
        return sub.startswith("logs")
    if program in {"kubectl", "docker", "heroku", "stern", "fly", "flyctl"}:
        return "logs" in sub.split() or program == "stern"
    if program == "journalctl":
        return True
    return program == "gcloud" and "logging" in text


def _all_commands(procedure: Procedure) -> list[MinedCommand]:
    out: list[MinedCommand] = []
    for step in procedure.steps:
        out.extend(step.commands)
        if step.verification is not None:
            out.append(step.verification)
    out.extend(procedure.pre_checks)
    out.extend(procedure.monitoring)
    return out


def _dedupe_refs(refs: Iterable[SourceRef]) -> tuple[SourceRef, ...]:
    return tuple(sorted(set(refs)))


def slugify(text: str, max_len: int = 40) -> str:
    """Lowercase ASCII slug of ``[a-z0-9-]``, bounded, never empty."""
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_text = decomposed.encode("ascii", "ignore").decode("ascii").lower()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")
    if len(slug) > max_len:
        slug = slug[:max_len].rsplit("-", 1)[0] if "-" in slug[:max_len] else slug[:max_len]
    return slug.strip("-") or "step"


# ---------------------------------------------------------------------- header


def _used_runs(procedure: Procedure, runs: Sequence[Execution]) -> tuple[Execution, ...]:
    ids = set(procedure.runs)
    used = [e for e in runs if e.id in ids] if ids else list(runs)
    return tuple(sorted(used, key=lambda e: e.id))


def _last_validated(runs: Sequence[Execution]) -> date | None:
    dates = [d for d in (_run_date(e) for e in runs) if d is not None]
    return max(dates) if dates else None


def _run_date(execution: Execution) -> date | None:
    when = execution.finished_at or execution.started_at
    return when.date() if when else None


def _owner(runs: Sequence[Execution], configured: str) -> str:
    counts = Counter(e.owner.strip() for e in runs if e.owner and e.owner.strip())
    if counts:
        # Most runs win; ties go to the alphabetically first so the choice is stable. Readers
        # also fill ``owner`` from `author:`; one person who wrote one note is not an owner, so
        # the name must recur and cover most of the runs that name anyone.
        name, count = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        if count >= 2 and count * 2 > sum(counts.values()):
            return name
    return configured.strip() or "unassigned"


# -------------------------------------------------------------------- overview


def _overview(
    op_type: OperationType,
    scope: str,
    procedure: Procedure,
    used: Sequence[Execution],
    runs: RunSet,
    clusters: Sequence[FailureCluster],
    alarms: Sequence[AlarmDef],
) -> Overview:
    target = scope or "the service"
    envs = _environments(used, runs)
    env_text = f" ({', '.join(name for name, _ in envs)})" if envs else ""
    n = len(used)
    # Free-text scopes ("Aurora schema change") read as names, single words ("lambda") as nouns.
    named = f"\u201c{target}\u201d" if " " in target else target
    purposes = {
        OperationType.DEPLOYMENT: f"Deploy {target}{env_text} the way {_n(n, 'recorded run')} did, with a verification gate after each change.",
        OperationType.ROLLBACK: f"Return {target}{env_text} to its last known-good version, following {_n(n, 'recorded rollback run')}.",
        OperationType.INCIDENT: f"Detect, triage, mitigate and resolve \u201c{target}\u201d incidents, following {_n(n, 'recorded response')}.",
        OperationType.MIGRATION: f"Carry out the migration {named}{env_text} recoverably (backup, test, apply, verify, rollback plan), following {_n(n, 'recorded run')}.",
        OperationType.SCALING: f"Carry out the scaling change {named}{env_text} (analyze, plan, execute, monitor, optimize), following {_n(n, 'recorded run')}.",
        OperationType.NONE: f"Carry out the {target} operation as recorded in {_n(n, 'run')}.",
    }
    occasion = {
        OperationType.DEPLOYMENT: f"A new version of {target} is ready to ship{env_text}",
        OperationType.ROLLBACK: f"A change to {target} broke something and the previous version was good",
        OperationType.INCIDENT: f"Symptoms matching \u201c{target}\u201d are reported or alerted",
        OperationType.MIGRATION: f"The migration {named} is ready to apply{env_text}",
        OperationType.SCALING: f"Load or capacity metrics call for {named}{env_text}",
        OperationType.NONE: f"The {target} operation is due",
    }
    when: list[str] = [f"{occasion[op_type]} (derived from the operation type)"]
    contexts = Counter(_first_sentence(e.context or e.title) for e in used)
    contexts.pop("", None)
    ranked = sorted(contexts.items(), key=lambda kv: (-kv[1], kv[0]))
    recurring = [(t, c) for t, c in ranked if c > 1][:3]
    for text, count in recurring:
        when.append(f"{text} (observed: {count} runs)")
    if not recurring and ranked:
        examples = "; ".join(f"\u201c{t}\u201d" for t, _ in ranked[:2])
        when.append(f"Recorded occasions, e.g. {examples} ({_n(len(used), 'run')} in all)")
    if op_type in (OperationType.ROLLBACK, OperationType.INCIDENT):
        for cluster in clusters[:3]:
            label = (
                f"followed by a rollback {cluster.rolled_back}×"
                if cluster.rolled_back
                else f"seen {cluster.occurrences}×"
            )
            when.append(f"{_code(_one_line(cluster.signature))} ({label})")
    for alarm in sorted(alarms, key=lambda a: (a.name, a.source))[:3]:
        when.append(f"Alarm `{alarm.name}` fires (defined in {alarm.source.path})")

    deps = _dependencies(procedure)
    return Overview(purpose=purposes[op_type], when_to_use=tuple(when), dependencies=deps)


def _code(text: str) -> str:
    """A markdown code span that survives backticks inside ``text`` (error lines quote code)."""
    line = " ".join(text.split())
    ticks = "`" * (max((len(m) for m in re.findall(r"`+", line)), default=0) + 1)
    pad = " " if line.startswith("`") or line.endswith("`") else ""
    return f"{ticks}{pad}{line}{pad}{ticks}"


def _n(count: int, noun: str) -> str:
    """``1 run`` / ``3 runs``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _first_sentence(text: str) -> str:
    line = " ".join(text.split())
    match = re.match(r"(.+?[.!?])(\s|$)", line)
    sentence = match.group(1) if match else line
    return sentence[:160].rstrip()


def _one_line(text: str, limit: int = 160) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _dependencies(procedure: Procedure) -> tuple[str, ...]:
    tools: list[str] = []
    services: list[str] = []
    for command in _all_commands(procedure):
        for program in programs_in(command.text):
            if program in _BUILTINS:
                continue
            name = TOOL_NAMES.get(program, f"`{program}`")
            label = f"{name} (`{program}`)" if program in TOOL_NAMES else name
            if label not in tools:
                tools.append(label)
        program, sub = program_of(command)
        if program == "aws" and sub:
            service = AWS_SERVICES.get(sub.split()[0], f"AWS {sub.split()[0]}")
            if service not in services:
                services.append(service)
    return tuple(tools + services)


# --------------------------------------------------------------- prerequisites


def _environments(used: Sequence[Execution], runs: RunSet) -> list[tuple[str, int]]:
    counts: Counter[str] = Counter()
    for execution in used:
        cls = runs.classification(execution)
        env = (cls.environment if cls and cls.environment else execution.environment) or ""
        if env:
            counts[env.lower()] += 1
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def _prerequisites(
    op_type: OperationType,
    procedure: Procedure,
    used: Sequence[Execution],
    runs: RunSet,
    failures: Sequence[Execution] = (),
    migrations: Sequence[MigrationDef] = (),
) -> Prerequisites:
    n = len(used)
    env_items = tuple(
        Item(
            text=f"Environment: {name} ({count} of {_n(n, 'run')})",
            provenance="observed",
            evidence=tuple(sorted(e.source for e in used if _env_of(e, runs) == name))[:5],
        )
        for name, count in _environments(used, runs)
    )
    env_items += _branches(used)
    in_steps = {
        k for s in procedure.steps for c in (*s.commands, *_opt(s.verification)) for k in _keys(c)
    }
    pre = [
        Item(
            text=_code(c.text),
            provenance=f"observed: {c.support}/{c.of} runs" if c.of else "observed",
            evidence=c.evidence,
        )
        for c in procedure.pre_checks
        if not set(_keys(c)) & in_steps  # already a step: listing it twice adds nothing
    ]
    pre.extend(_migration_checks(migrations, [*used, *failures]))
    pre.extend(Item(text=text, provenance=DEFAULT) for text in _DEFAULT_PRE_CHECKS[op_type])
    return Prerequisites(
        environment=env_items,
        pre_checks=tuple(pre),
        tools=_tools(procedure, [*used, *failures]),
        access=_access(procedure),
    )


_BRANCH = re.compile(
    r"\bgit\s+(?:checkout|switch)\s+(?:-[bBc]\s+)?([\w./-]+)\s*$"
    r"|\bgit\s+(?:pull|fetch|push)\s+\S+\s+([\w./-]+)\s*$"
)


def _branches(used: Sequence[Execution]) -> tuple[Item, ...]:
    """The branch the runs deployed from, when they switched to or pulled one."""
    seen: dict[str, set[SourceRef]] = {}
    for execution in used:
        for command in execution.commands:
            match = _BRANCH.search(command.text.strip())
            if match and not (command.exit_code or 0):
                name = match.group(1) or match.group(2)
                if name and not name.startswith("-") and name not in {".", "--"}:
                    seen.setdefault(name, set()).add(command.source)
    ranked = sorted(seen.items(), key=lambda kv: (-len({r.path for r in kv[1]}), kv[0]))
    return tuple(
        Item(
            text=f"Branch: {name} ({_n(len({r.path for r in refs}), 'run')})",
            provenance="observed",
            evidence=tuple(sorted(refs))[:5],
        )
        for name, refs in ranked[:2]
    )


def _label(migration: MigrationDef) -> str:
    return f"{migration.version} ({migration.name})" if migration.name else migration.version


def _migration_checks(
    migrations: Sequence[MigrationDef], executions: Sequence[Execution] = ()
) -> list[Item]:
    """Pending migrations (after the newest one a run applied) and what they risk."""
    items: list[Item] = []
    pending, applied, applied_at = _pending(migrations, executions)
    if applied_at is not None and pending:
        names = ", then ".join(_label(m) for m in pending[:8])
        more = f" (+{len(pending) - 8} more)" if len(pending) > 8 else ""
        items.append(
            Item(
                text=f"Pending migrations, in order: {names}{more}; the recorded runs applied "
                f"up to {applied}",
                provenance=DERIVED,
                evidence=(applied_at, *(m.source for m in pending[:4])),
            )
        )
    for migration in pending if applied_at is not None else _heads(migrations):
        label = _label(migration)
        if migration.destructive:
            items.append(
                Item(
                    text=f"Back up first: migration {label} destroys data "
                    f"({_code(_one_line(migration.destructive[0], 100))})",
                    provenance=DERIVED,
                    evidence=(migration.source,),
                )
            )
        if migration.locking:
            items.append(
                Item(
                    text=f"Migration {label} takes heavy locks "
                    f"({_code(_one_line(migration.locking[0], 100))}): run it in a low-traffic window",
                    provenance=DERIVED,
                    evidence=(migration.source,),
                )
            )
        if not migration.down_statements and not migration.repeatable and applied_at:
            items.append(
                Item(
                    text=f"Migration {label} has no down-migration: take a backup of what it "
                    "changes first; restoring it is the only way back",
                    provenance=DERIVED,
                    evidence=(migration.source,),
                )
            )
    return items


def _env_of(execution: Execution, runs: RunSet) -> str:
    cls = runs.classification(execution)
    return ((cls.environment if cls and cls.environment else execution.environment) or "").lower()


def _tool_usage(procedure: Procedure) -> dict[str, list[MinedCommand]]:
    usage: dict[str, list[MinedCommand]] = {}
    for command in _all_commands(procedure):
        for program in programs_in(command.text):
            if program in _BUILTINS:
                continue
            usage.setdefault(program, []).append(command)
    return usage


def _tools(procedure: Procedure, used: Sequence[Execution]) -> tuple[Item, ...]:
    items: list[Item] = []
    for program, commands in _tool_usage(procedure).items():
        versions = _versions(program, used)
        name = TOOL_NAMES.get(program, program)
        text = f"{name} (`{program}`)" if name != program else f"`{program}`"
        if versions:
            shown = ", ".join(v for v, _ in versions[:3])
            text += f" — version seen in the runs: {shown}"
            evidence = tuple(sorted({ref for _, refs in versions for ref in refs}))[:5]
        else:
            evidence = _dedupe_refs(r for c in commands for r in c.evidence)[:5]
        count = len({c.key for c in commands})
        items.append(
            Item(
                text=f"{text} (used by {count} command{'s' if count != 1 else ''})",
                provenance="observed",
                evidence=evidence,
            )
        )
    return tuple(items)


_VERSION = r"v?(\d+\.\d+(?:\.\d+)?)"


_ASKS_VERSION = re.compile(r"(^|\s)(--version|version|-v)(\s|$)")


def _versions(program: str, runs: Sequence[Execution]) -> list[tuple[str, list[SourceRef]]]:
    """Versions of ``program`` the runs printed or noted (`aws-cli/2.15.0`, `AWS CLI 2.18.0`)."""
    names = [re.escape(program)]
    display = TOOL_NAMES.get(program, "")
    if display and display.lower() != program:
        names.append(re.escape(display).replace("\\ ", r"\s+"))
    alternatives = "|".join(names)
    anywhere = re.compile(
        rf"(?<![\w-])(?:{alternatives})(?:-cli)?(?:/|\s+version\s+|\s+){_VERSION}\b", re.I
    )
    found: dict[str, list[SourceRef]] = {}
    for execution in runs:
        for command in execution.commands:
            if not command.output:
                continue
            hits = anywhere.findall(command.output)
            # Parse the command only when it asks for a version (`aws --version`): shell
            # splitting every command of every run is what made this slow on big corpora.
            if _ASKS_VERSION.search(command.text) and program_of(command.text)[0] == program:
                generic = re.search(_VERSION, command.output)
                if generic:
                    hits.append(generic.group(1))
            for version in hits:
                found.setdefault(version, []).append(command.source)
        # Environment notes ("marcus@laptop, AWS CLI 2.18.0") name versions too.
        for note in execution.notes:
            for version in anywhere.findall(note):
                found.setdefault(version, []).append(execution.source)
    return sorted(found.items(), key=lambda kv: [-int(p) for p in kv[0].split(".") if p.isdigit()])


def _access(procedure: Procedure) -> tuple[Item, ...]:
    items: list[Item] = []
    for program, commands in _tool_usage(procedure).items():
        template = ACCESS_BY_TOOL.get(program)
        if template is None:
            continue
        subs: list[str] = []
        for command in commands:
            own, sub = program_of(command)
            if own == program and sub and sub not in subs:
                subs.append(sub)
        text = template.format(
            subcommands=", ".join(f"`{s}`" for s in subs) or "the commands below"
        )
        if program == "git" and not any(s.split()[0] in {"push", "tag"} for s in subs if s):
            text = "Read access to the Git repository"  # status / pull / rev-parse need no write
        item = Item(
            text=text,
            provenance=DERIVED,
            evidence=_dedupe_refs(r for c in commands for r in c.evidence)[:3],
        )
        # psql and alembic both need database credentials: say it once, in the fuller wording.
        same = next((i for i, old in enumerate(items) if _same_need(old.text, text)), None)
        if same is None:
            items.append(item)
        elif len(text) > len(items[same].text):
            items[same] = item
    return tuple(items)


def _same_need(a: str, b: str) -> bool:
    return a.startswith(b) or b.startswith(a)


# ----------------------------------------------------------------------- steps


def sort_clusters(clusters: Sequence[FailureCluster]) -> tuple[FailureCluster, ...]:
    """Most frequent first, then the most actionable (fix, cause, prevention recorded), then the
    best attested (distinct files); ties by signature so input order never matters."""

    def key(c: FailureCluster) -> tuple[int, int, int, str, str]:
        known = bool(c.solution) + bool(c.cause) + bool(c.prevention)
        files = len({r.path for r in c.evidence})
        return (-c.occurrences, -known, -files, c.signature, c.title)

    return tuple(sorted(clusters, key=key))


def _steps(
    procedure: Procedure, clusters: Sequence[FailureCluster], op_type: OperationType
) -> tuple[Step, ...]:
    # The log command most runs used (ties: the shorter text, then alphabetical).
    logs = [c for c in procedure.monitoring if is_log_command(c)] or [
        c for s in procedure.steps for c in s.commands if is_log_command(c)
    ]
    best = min(logs, key=lambda c: (-c.support, len(c.text), c.text), default=None)
    log_command = best.text if best is not None else ""
    watched = _steps_to_watch(procedure.steps, log_command)
    steps: list[Step] = []
    for index, mined in enumerate(procedure.steps, start=1):
        keys = {k for c in (*mined.commands, *_opt(mined.verification)) for k in _keys(c)}
        steps.append(
            Step(
                number=index,
                name=f"step-{index}-{slugify(mined.title or mined.phase, 30)}",
                title=" ".join(mined.title.split()) or mined.phase or f"Step {index}",
                purpose=_purpose(mined),
                commands=tuple(c.text for c in mined.commands),
                parameters=_merge_params(mined.commands),
                expected_output=_expected_output(mined),
                duration=_duration(mined.duration),
                verification=_verification(mined.verification),
                if_failed=_if_failed(keys, clusters, op_type),
                support=Support(mined.support, mined.of),
                optional=mined.optional,
                evidence=_dedupe_refs(
                    r for c in (*mined.commands, *_opt(mined.verification)) for r in c.evidence
                ),
                phase=mined.phase,
                log_command=log_command if index - 1 in watched else "",
            )
        )
    return tuple(steps)


def _keys(command: MinedCommand) -> tuple[str, ...]:
    return command.keys or (command.key,)


def _opt(command: MinedCommand | None) -> tuple[MinedCommand, ...]:
    return (command,) if command is not None else ()


# Phases that change a running system: the service logs are worth tailing while they run.
_LIVE_PHASES = frozenset({"deploy", "revert", "apply", "execute", "mitigate", "fix"})

# Tools whose commands change a deployed system (as opposed to building or testing locally):
# only these get a "previous version" inverse in a derived rollback.
_REMOTE_TOOLS = _wordset(
    "aws gcloud az kubectl helm terraform tofu sam cdk serverless sls fly flyctl heroku gh "
    "ecs-cli eksctl pulumi ansible-playbook"
)


_GENERIC_WORDS = _wordset(
    "aws logs tail follow since filter pattern format short kubectl docker journalctl lambda "
    "ecs service deployment deploy the run env prod staging dev doppler"
)


def _words_of(text: str) -> set[str]:
    words = re.split(r"[^A-Za-z0-9_-]+", text.lower().replace("_", "-"))
    return {w for w in words if len(w) > 2 and w not in _GENERIC_WORDS and not w.isdigit()}


def _steps_to_watch(steps: Sequence[MinedStep], log_command: str) -> set[int]:
    """Indexes of the steps to tail logs during: live changes to what the log command reads
    (sharing a name such as the function or deployment), else the last live change."""
    if not log_command:
        return set()
    live = {i: _live_commands(s) for i, s in enumerate(steps)}
    live = {i: commands for i, commands in live.items() if commands}
    target = _words_of(log_command)
    sharing = [
        i
        for i, commands in live.items()
        if target & {w for c in commands for w in _words_of(c.text)}
    ]
    return set(sharing or sorted(live)[-1:])


def _publishes_artifact(command: MinedCommand) -> bool:
    """Pushing an image or package changes a registry, not the running service."""
    program, sub = program_of(command)
    verb = sub.split()[0] if sub else ""
    if "login" in sub or command.role == "auth":
        return True
    if program in {"docker", "podman", "buildah", "nerdctl"}:
        return verb in {"push", "tag", "build", "login"}
    return (program, verb) in {("npm", "publish"), ("twine", "upload"), ("helm", "push")}


def _live_commands(step: MinedStep) -> list[MinedCommand]:
    """The commands of a live-phase step that change the running system."""
    if step.phase.strip().lower() not in _LIVE_PHASES:
        return []
    return [
        c
        for c in step.commands
        if not c.is_check
        and not is_log_command(c)
        and not _publishes_artifact(c)
        and c.role not in _NOT_INVERTIBLE_ROLES
    ]


def _purpose(step: MinedStep) -> str:
    phase = step.phase.strip().lower()
    base = PHASE_PURPOSE.get(phase)
    if base is None:
        base = f"{step.phase} phase" if step.phase else "Part of the recorded procedure"
    return (
        f"{base} (derived from the {step.phase or 'procedure'} phase, not stated in the evidence)"
    )


def _merge_params(commands: Sequence[MinedCommand]) -> tuple[Param, ...]:
    merged: dict[str, set[str]] = {}
    for command in commands:
        for param in command.params:
            # A redaction marker is where a secret was, not a value anyone should type.
            examples = {e for e in param.examples if not e.startswith("{redacted")}
            merged.setdefault(param.name, set()).update(examples)
    return tuple(Param(name, tuple(sorted(ex))[:5]) for name, ex in sorted(merged.items()))


def _expected_output(step: MinedStep) -> str:
    with_output = [c for c in step.commands if c.expected_output.strip()]
    if len(with_output) == 1 and len(step.commands) == 1:
        return with_output[0].expected_output.strip("\n")
    # Several commands: label each output with its command, as a terminal would show it.
    return "\n".join(
        f"$ {_one_line(c.text, 100)}\n{c.expected_output.strip(chr(10))}" for c in with_output
    )


def _duration(stat: Stat | None) -> Duration | None:
    if stat is None:
        return None
    return Duration(median_seconds=stat.median_s, p90_seconds=stat.p90_s, runs=stat.n)


def _verification(command: MinedCommand | None) -> Verification | None:
    if command is None:
        return None
    expected = command.expected_output.strip("\n")
    if not expected:
        support = f" in {command.support}/{command.of} runs" if command.of else ""
        expected = f"Completes without error (seen{support}; no output recorded)"
    return Verification(command=command.text, expected=expected)


def _if_failed(
    keys: set[str], clusters: Sequence[FailureCluster], op_type: OperationType
) -> tuple[str, ...]:
    lines: list[str] = []
    matching = [
        (number, cluster)
        for number, cluster in enumerate(clusters, start=1)
        if cluster.step_key is not None and cluster.step_key in keys
    ]
    for number, cluster in matching[:MAX_IF_FAILED]:
        fix = _fix_text(cluster)
        lines.append(
            f"Seen {cluster.occurrences}×: {_code(_one_line(cluster.signature, 120))} → {fix} "
            f"(see Troubleshooting, Issue {number})"
        )
    if len(matching) > MAX_IF_FAILED:
        rest = ", ".join(str(number) for number, _ in matching[MAX_IF_FAILED:])
        lines.append(
            f"{len(matching) - MAX_IF_FAILED} more seen at this step: Troubleshooting, Issues {rest}"
        )
    if not lines:
        lines.append(
            "Check: the command's exit code and output against Expected Output above "
            "(default — no failure recorded at this step)"
        )
        if op_type is OperationType.ROLLBACK:
            lines.append("Fallback: stop and escalate to the runbook owner (default)")
        elif op_type is OperationType.INCIDENT:
            lines.append("Fallback: escalate to the next on-call tier (default)")
        else:
            lines.append("Fallback: stop and follow the Rollback Procedure (default)")
    return tuple(lines)


def _fix_text(cluster: FailureCluster) -> str:
    if not cluster.solution:
        return "no fix recorded"
    first = _one_line(cluster.solution[0], 120)
    return f"fix: {_code(first)}" if cluster.solution_is_commands else f"fix: {first}"


# ------------------------------------------------------------------ verification


_ENV_FLAGS = re.compile(r"\s--(?:env|environment|profile|context|stage)(?:=|\s+)\S+")


def _variant_key(text: str) -> str:
    """A command without its environment wrapper and environment flags."""
    program, _ = program_of(text)
    core = text[len(_wrapper_prefix(text, program)) :] if program else text
    return " ".join(_ENV_FLAGS.sub("", core).split())


def _check_title(command: MinedCommand) -> str:
    program, sub = program_of(command)
    text = command.text.lower()
    if "smoke" in text:
        return "Smoke tests"
    if program in {"curl", "wget", "http", "https"}:
        return "Service health (HTTP)"
    if is_log_command(command):
        return "Recent logs"
    if "rollout status" in text:
        return "Rollout status"
    if {"psql", "mysql", "sqlcmd", "mongosh"} & set(programs_in(command.text)) or re.search(
        r"\bselect\s.+\sfrom\s", text
    ):
        return "Database state (query)"
    metric = re.search(r"--metric-name[= ](\S+)", command.text)
    if metric and "{" not in metric.group(1):
        return f"Metric: {metric.group(1)}"
    if " wait " in f" {sub} " or sub.endswith("wait"):
        return "Resource reached its target state"
    if program in {"pytest", "npm", "make"} and "test" in text:
        return "Tests"
    if any(word in sub.split() for word in ("describe", "get", "status", "list", "show")) or any(
        w.startswith(("describe", "get-", "list-")) for w in sub.split()
    ):
        return f"State: `{program} {sub}`".strip()
    return f"Check: `{(program + ' ' + sub).strip()}`"


def _checks(procedure: Procedure, clusters: Sequence[FailureCluster]) -> tuple[Check, ...]:
    seen: set[str] = set()
    checks: list[Check] = []
    # In step order: each step's verification, then the checks that make up a Verify/Monitor
    # step (health probes, smoke tests), then monitoring seen after the runs.
    candidates: list[MinedCommand] = []
    for step in procedure.steps:
        if step.phase.strip().lower() in _PREPARATION_PHASES:
            continue  # a snapshot or build being ready is not a post-operation check
        candidates.extend(_opt(step.verification))
        if step.phase.strip().lower() in _CHECK_PHASES:
            candidates.extend(c for c in step.commands if c.is_check or is_log_command(c))
    candidates += [c for c in procedure.monitoring if c.is_check or is_log_command(c)]
    # Variants for another environment (`ENV=staging doppler run -- …`, `--env staging`) are
    # one check: keep the variant most runs used, at the place of the first one.
    best: dict[str, MinedCommand] = {}
    for command in candidates:
        variant = _variant_key(command.text)
        kept = best.get(variant)
        if kept is None or (-command.support, command.text) < (-kept.support, kept.text):
            best[variant] = command
    for command in candidates:
        chosen = best[_variant_key(command.text)]
        if chosen.key in seen:
            continue
        seen.add(chosen.key)
        command = chosen
        related = [(n, c) for n, c in enumerate(clusters, start=1) if c.step_key in _keys(command)]
        if related:
            number, cluster = related[0]
            if_failed = f"Seen {cluster.occurrences}×: {_fix_text(cluster)} (see Troubleshooting, Issue {number})"
        else:
            if_failed = "Investigate before continuing; consider the Rollback Procedure (default)"
        verification = _verification(command)
        checks.append(
            Check(
                title=_check_title(command),
                command=command.text,
                expected=verification.expected if verification else "",
                if_failed=if_failed,
                evidence=command.evidence,
                parameters=_merge_params((command,)),
            )
        )
    return tuple(checks)


# ----------------------------------------------------------------------- rollback

# Placeholder names that identify "the version being shipped": their previous value reverts it.
_VERSIONED = re.compile(
    r"\{((?:[a-z0-9]+-)*(?:image|digest|version|tag|uri|revision|task-definition|sha|commit|release|artifact|replicas|capacity|count|instance-class|size)(?:-[a-z0-9]+)*)\}"
)


# Steps in these phases are themselves post-operation checks (the original's Verification).
_CHECK_PHASES = frozenset({"verify", "monitor"})

# Checks in these phases verify preparation (a snapshot, a build), not the live system.
_PREPARATION_PHASES = frozenset({"build", "test", "backup", "analyze", "plan", "prepare"})

_MIGRATION_DOWN = "Roll back the last migration"

_NOT_INVERTIBLE_ROLES = frozenset({"build", "test", "dryrun", "check", "monitor", "backup"})


def _inverse(command: MinedCommand) -> tuple[str, str] | None:
    """(title, command) that undoes ``command``, or None when no inverse can be derived."""
    program, sub = program_of(command)
    text = command.text
    if command.is_check or is_log_command(command) or command.role in _NOT_INVERTIBLE_ROLES:
        return None
    prefix = _wrapper_prefix(text, program)
    if program == "kubectl" and (
        sub.startswith(("set image", "apply")) or "rollout restart" in sub
    ):
        target = re.search(r"\b(deployment|deploy|statefulset|daemonset)/(\S+)", text)
        resource = f"{target.group(1)}/{target.group(2)}" if target else "deployment/{deployment}"
        return (
            "Undo the Kubernetes rollout",
            f"{prefix}kubectl rollout undo {resource}{_scope_flags(text)}",
        )
    if program == "kubectl" and sub.startswith("scale"):
        return "Restore the previous replica count", re.sub(
            r"--replicas[= ]\S+", "--replicas={previous-replicas}", text
        )
    if program == "helm" and sub.startswith("upgrade"):
        words = _first_segment(text)
        idx = words.index("upgrade") if "upgrade" in words else -1
        rest = [w for w in words[idx + 1 :] if not w.startswith("-")] if idx >= 0 else []
        release = rest[0] if rest else "{release}"
        return "Roll back the Helm release", f"{prefix}helm rollback {release}{_scope_flags(text)}"
    if program == "alembic" and sub.startswith("upgrade") and "--sql" not in text:
        return "Downgrade the database one revision", f"{prefix}alembic downgrade -1"
    if program == "dbmate" and sub.startswith(("up", "migrate")):
        return _MIGRATION_DOWN, f"{prefix}dbmate rollback"
    if program == "migrate" and re.search(r"\bup\b", text):
        return _MIGRATION_DOWN, re.sub(r"\bup\b(\s+\d+)?", "down 1", text, count=1)
    if program == "aws" and (
        sub.startswith("rds create-db-instance-read-replica")
        or (sub.startswith("rds create-db-instance") and "--db-cluster-identifier" in text)
    ):
        # An added replica / Aurora reader holds no data of its own: deleting it is the inverse.
        ident = re.search(r"--db-instance-identifier[= ](\S+)", text)
        name = ident.group(1) if ident else "{db-instance-identifier}"
        return (
            "Remove the added read replica",
            f"{prefix}aws rds delete-db-instance --db-instance-identifier {name} --skip-final-snapshot",
        )
    if program == "aws" and sub.startswith("application-autoscaling"):
        verbs = {
            "register-scalable-target": "deregister-scalable-target",
            "put-scaling-policy": "delete-scaling-policy",
        }
        for verb, undo in verbs.items():
            if verb in sub:
                keep = re.findall(
                    r"--(?:service-namespace|resource-id|scalable-dimension|policy-name)[= ]\S+",
                    text,
                )
                undone = " ".join([f"{prefix}aws application-autoscaling {undo}", *keep])
                return f"Undo `{verb}`", undone
    live = program in _REMOTE_TOOLS or (
        program == "docker" and sub.startswith(("service", "stack", "compose"))
    )
    if live and _VERSIONED.search(text):
        reverted = _VERSIONED.sub(lambda m: "{previous-" + m.group(1) + "}", text)
        sizes = re.search(
            r"\{previous-[a-z0-9-]*(?:count|replicas|capacity|size|class)\}", reverted
        )
        title = (
            "Restore the previous capacity"
            if sizes
            else "Re-run the change with the previous version"
        )
        return title, reverted
    return None


# `aws rds wait db-instance-available`, `aws cloudformation wait stack-create-complete`...
_CREATION_WAIT = re.compile(r"\bwait\s+\S*(?:-available|-exists|create-complete)\b")


def _replan_previous(procedure: Procedure) -> list[RollbackStep]:
    """`terraform plan -var tag={image-tag} -out=p` + `terraform apply p`: the version lives in
    the (dry-run) plan, so the rollback is the same pair with the previous value."""
    commands = [c for s in procedure.steps for c in s.commands]
    out: list[RollbackStep] = []
    for i, plan in enumerate(commands):
        program, sub = program_of(plan)
        if program not in {"terraform", "tofu"} or not sub.startswith("plan"):
            continue
        if not _VERSIONED.search(plan.text):
            continue
        planfile = re.search(r"-out[= ](\S+)", plan.text)
        apply = next(
            (
                c
                for c in commands[i + 1 :]
                if program_of(c)[0] == program
                and program_of(c)[1].startswith("apply")
                and (planfile is None or planfile.group(1) in c.text)
            ),
            None,
        )
        replan = _VERSIONED.sub(lambda m: "{previous-" + m.group(1) + "}", plan.text)
        steps = (replan, apply.text) if apply is not None else (replan,)
        out.append(
            RollbackStep(
                title="Plan and apply the previous version",
                commands=steps,
                evidence=_dedupe_refs((*plan.evidence[:2], *(apply.evidence[:1] if apply else ()))),
                parameters=_inverse_params(replan, (plan,)),
            )
        )
    return out


def _inverse_params(text: str, sources: Sequence[MinedCommand]) -> tuple[Param, ...]:
    """Parameters of a derived command: its own placeholders, ``{previous-x}`` from ``{x}``."""
    known = {p.name: p for p in _merge_params(sources)}
    params: list[Param] = []
    for name in sorted(set(re.findall(r"\{([a-z0-9][a-z0-9-]*)\}", text))):
        if name in known:
            params.append(known[name])
        elif name.startswith("previous-") and name[len("previous-") :] in known:
            # The values recorded for {x} are the candidates: the previous one is among them.
            examples = known[name[len("previous-") :]].examples
            if all(e.isdigit() for e in examples):
                examples = tuple(sorted(examples, key=int))  # 8, 10, 12 rather than 10, 12, 8
            params.append(Param(name, examples))
        else:
            params.append(Param(name, ()))
    return tuple(params)


def _inverse_wait(verification: MinedCommand | None, inverse: str) -> str:
    """The wait that confirms a derived delete: `wait db-instance-available` -> `-deleted`."""
    if verification is None or " delete-" not in f" {inverse}":
        return ""
    text = verification.text
    if not _CREATION_WAIT.search(text):
        return ""
    return re.sub(r"-(?:available|exists)\b", "-deleted", text, count=1)


_SCOPE_FLAGS = re.compile(
    r"\s(?:-n|--namespace|--kube-context|--context|--kubeconfig)(?:=|\s+)(?!-)\S+"
)


def _scope_flags(text: str) -> str:
    """Namespace / context flags of a kubectl or helm command, kept so the undo hits the same target."""
    return "".join(m.group(0) for m in _SCOPE_FLAGS.finditer(text))


def _wrapper_prefix(text: str, program: str) -> str:
    """What precedes the program (`ENV=prod doppler run -- `), kept so the inverse runs alike."""
    match = re.search(rf"(?:^|\s)(?:\S*/)?{re.escape(program)}(?=\s|$)", text)
    if match is None or match.start() == 0:
        return ""
    return text[: match.start()].strip() + " "


def _mentions_smoke(cluster: FailureCluster) -> bool:
    text = " ".join((cluster.title, cluster.signature, *(r.path for r in cluster.evidence)))
    return "smoke" in text.lower()


def _too_few(runs: Sequence[Execution]) -> str:
    return f"{_n(len(runs), 'rollback run')} recorded, too few for a pattern"


def _restore_step(procedure: Procedure, migration: MigrationDef) -> RollbackStep:
    """No down-migration: the way back is the backup the procedure takes (restore derived)."""
    title = f"No down-migration for {migration.version}: restore from the backup"
    for step in procedure.steps:
        for command in step.commands:
            program, sub = program_of(command)
            text = command.text
            prefix = _wrapper_prefix(text, program)
            snap = re.search(r"--db-(cluster-)?snapshot-identifier[= ](\S+)", text)
            ident = re.search(r"--db-(cluster|instance)-identifier[= ](\S+)", text)
            restore = ""
            if program == "aws" and snap and sub.startswith("rds create-db-cluster-snapshot"):
                source = ident.group(2) if ident else "{db-cluster-identifier}"
                restore = (
                    f"{prefix}aws rds restore-db-cluster-from-snapshot --db-cluster-identifier "
                    f"{source}-restored --snapshot-identifier {snap.group(2)} --engine {{engine}}"
                )
            elif program == "aws" and snap and sub.startswith("rds create-db-snapshot"):
                source = ident.group(2) if ident else "{db-instance-identifier}"
                restore = (
                    f"{prefix}aws rds restore-db-instance-from-db-snapshot --db-instance-identifier "
                    f"{source}-restored --db-snapshot-identifier {snap.group(2)}"
                )
            if restore:
                return RollbackStep(
                    title,
                    (restore,),
                    evidence=command.evidence[:2],
                    parameters=_inverse_params(restore, (command,)),
                )
            dump = re.search(r"(?:-f|--file)[= ](\S+)", text)
            if program == "pg_dump" and dump:
                tables = re.findall(r"(?:-t|--table)[= ](['\"]?)([\w.]+)\1", text)
                named = {t.split(".")[-1].lower() for _q, t in tables}
                changed = " ".join(migration.up_statements).lower()
                if named and not any(re.search(rf"\b{re.escape(t)}\b", changed) for t in named):
                    # a dump of other tables would not bring back what this migration changed
                    return RollbackStep(
                        title,
                        (
                            f"# the recorded backup ({_one_line(text, 120)}) covers only "
                            f"{', '.join(sorted(named))}: back up what {migration.version} "
                            "changes before applying it",
                        ),
                        evidence=(*command.evidence[:2], migration.source),
                    )
                db = re.search(r"(?:-d|--dbname)[= ](\S+)|pg_dump\s+(\"?\$\{?\w+\}?\"?)", text)
                target = (db.group(1) or db.group(2)) if db else "{database}"
                restore = f"{prefix}pg_restore --clean --if-exists -d {target} {dump.group(1)}"
                return RollbackStep(
                    title,
                    (restore,),
                    evidence=command.evidence[:2],
                    parameters=_inverse_params(restore, (command,)),
                )
    # No backup recorded either: say so instead of inventing a command.
    return RollbackStep(
        title,
        ("# no backup step was recorded: take one before applying this migration",),
        evidence=(migration.source,),
    )


def migration_chain(migrations: Sequence[MigrationDef]) -> str:
    """`a → b → c` in apply order (Alembic parents, else numeric versions); bounded."""
    order = _migration_order(migrations)
    shown = order if len(order) <= 8 else [*order[:3], "…", *order[-4:]]
    return " → ".join(shown)


def _migration_order(migrations: Sequence[MigrationDef]) -> list[str]:
    """Versions in apply order: the Alembic parent chain, else numeric versions."""
    if not migrations:
        return []
    by_version = {m.version: m for m in migrations if not m.repeatable}
    children: dict[str, list[str]] = {}
    for m in by_version.values():
        for parent in m.depends_on:
            children.setdefault(parent, []).append(m.version)
    roots = sorted(v for v, m in by_version.items() if not set(m.depends_on) & set(by_version))
    order: list[str] = []
    queue = list(roots)
    while queue and len(order) < len(by_version):
        version = queue.pop(0)
        if version in order:
            continue
        order.append(version)
        queue.extend(sorted(children.get(version, [])))
    if len(order) < len(by_version) or not any(m.depends_on for m in by_version.values()):

        def numeric(v: str) -> tuple[int, str]:
            digits = re.sub(r"\D", "", v)
            return (int(digits) if digits and len(digits) < 19 else -1, v)

        order = sorted(by_version, key=numeric)
    return order


# What migration tools print when they apply one: golang-migrate "5/u drop_x (61ms)", Flyway
# 'Migrating schema "public" to version "3 - add x"', Alembic "Running upgrade a1 -> b2, msg",
# dbmate "Applying: 20240101_x.sql".
_APPLIED = re.compile(
    r"^\s*(?P<golang>\d+)/u \S"
    r"|Migrating schema \S+ to version \"?(?P<flyway>[\d._]+)"
    r"|Running upgrade \S* -> (?P<alembic>\w+)"
    r"|^\s*Applying: (?P<dbmate>\d+)_",
    re.MULTILINE,
)


def _same_version(seen: str, version: str) -> bool:
    if seen == version:
        return True
    a, b = seen.replace("_", "."), version.replace("_", ".")
    if re.fullmatch(r"[\d.]+", a) and re.fullmatch(r"[\d.]+", b):
        return [int(x) for x in a.split(".") if x] == [int(x) for x in b.split(".") if x]
    return False


def _last_applied(
    migrations: Sequence[MigrationDef], executions: Sequence[Execution]
) -> tuple[int, SourceRef] | None:
    """Position (in apply order) of the newest migration a recorded run applied, and where."""
    order = _migration_order(migrations)
    best: tuple[int, SourceRef] | None = None
    for execution in executions:
        for command in execution.commands:
            for match in _APPLIED.finditer(command.output):
                seen = next(v for v in match.groups() if v)
                for i, version in enumerate(order):
                    if _same_version(seen, version) and (best is None or i > best[0]):
                        best = (i, command.source)
    return best


def _pending(
    migrations: Sequence[MigrationDef], executions: Sequence[Execution]
) -> tuple[list[MigrationDef], str, SourceRef | None]:
    """Migrations after the newest one the runs applied (that version, where it was seen)."""
    last = _last_applied(migrations, executions)
    if last is None:
        return _heads(migrations), "", None
    by_version = {m.version: m for m in migrations if not m.repeatable}
    order = _migration_order(migrations)
    return [by_version[v] for v in order[last[0] + 1 :]], order[last[0]], last[1]


def _heads(migrations: Sequence[MigrationDef]) -> list[MigrationDef]:
    """The newest migrations: those no other migration depends on (else the highest version)."""
    if not migrations:
        return []
    parents = {p for m in migrations for p in m.depends_on}
    if parents:
        heads = [m for m in migrations if m.version not in parents and not m.repeatable]
        if heads:
            return sorted(heads, key=lambda m: (m.version, m.name))

    # Sequential versions (Flyway V12, golang-migrate 000012): compare numerically when possible.
    def order(m: MigrationDef) -> tuple[int, str]:
        digits = re.sub(r"\D", "", m.version)
        return (int(digits) if digits else -1, m.version)

    return [max((m for m in migrations if not m.repeatable), key=order, default=migrations[-1])]


def _rollback(
    op_type: OperationType,
    procedure: Procedure,
    clusters: Sequence[FailureCluster],
    rollback_procedure: Procedure | None,
    rollback_runs: Sequence[Execution],
    migrations: Sequence[MigrationDef],
) -> Rollback:
    when: list[str] = [f"{text} (default)" for text in _WHEN_DEFAULTS]
    matrix = [Decision(condition=c, action=a, provenance=DEFAULT) for c, a in _MATRIX_DEFAULTS]
    smoke = [c for c in clusters if c.rolled_back and _mentions_smoke(c)]
    if smoke:
        # Annotate the default row with what the evidence shows, keeping it marked as default.
        # Several signatures often come from one failed run: count the records, not clusters.
        records = {r.path for c in smoke for r in c.evidence if "/journals/" not in f"/{r.path}"}
        matrix[0] = Decision(
            condition=matrix[0].condition,
            action=matrix[0].action,
            provenance=f"default; observed: smoke-test failures in {_n(len(records), 'record')} "
            "were followed by a rollback",
        )
    rolled = sorted(
        (c for c in clusters if c.rolled_back),
        key=lambda c: (-c.rolled_back, -c.occurrences, c.signature),
    )
    for cluster in rolled[:MAX_OBSERVED_TRIGGERS]:
        when.append(
            f"observed: {_code(_one_line(cluster.signature, 100))} → rolled back "
            f"({_n(cluster.rolled_back, 'run')})"
        )
        paths = sorted({r.path for r in cluster.evidence})
        matrix.append(
            Decision(
                condition=_one_line(cluster.title or cluster.signature, 100),
                action=f"Rolled back after {cluster.rolled_back} of {_n(cluster.occurrences, 'occurrence')}",
                provenance="observed: " + ", ".join(paths[:3]) + (" …" if len(paths) > 3 else ""),
            )
        )
    if len(rolled) > MAX_OBSERVED_TRIGGERS:
        when.append(
            f"observed: {len(rolled) - MAX_OBSERVED_TRIGGERS} more failure signatures were "
            "followed by a rollback (see Troubleshooting)"
        )
    if op_type is OperationType.ROLLBACK:
        return Rollback(
            when=tuple(when),
            decision_matrix=tuple(matrix),
            steps=(),
            provenance=f"observed: {len(procedure.runs)} rollback runs (the Procedure above)",
            duration=_duration(procedure.total),
        )
    if rollback_procedure is not None and rollback_procedure.steps:
        steps = tuple(
            RollbackStep(
                title=s.title or s.phase,
                commands=tuple(c.text for c in s.commands),
                verification=s.verification.text if s.verification else "",
                evidence=_dedupe_refs(r for c in s.commands for r in c.evidence),
                parameters=_merge_params((*s.commands, *_opt(s.verification))),
            )
            for s in rollback_procedure.steps
        )
        count = len(rollback_runs) or len(rollback_procedure.runs)
        return Rollback(
            when=tuple(when),
            decision_matrix=tuple(matrix),
            steps=steps,
            provenance=f"observed: {count} rollback run{'s' if count != 1 else ''}",
            duration=_duration(rollback_procedure.total),
        )
    derived: list[RollbackStep] = list(_replan_previous(procedure))
    seen: set[str] = {c for r in derived for c in r.commands}
    # a "down 1" fails when the newest migration has no down file: the backup is the way back
    no_down = any(not m.down_statements and not m.repeatable for m in _heads(migrations))
    for step in procedure.steps:
        if step.phase.strip().lower() in _PREPARATION_PHASES:
            continue
        for command in step.commands:
            inverse = _inverse(command)
            if inverse is None or inverse[1] in seen:
                continue
            if no_down and inverse[0] == _MIGRATION_DOWN:
                continue
            seen.add(inverse[1])
            derived.append(
                RollbackStep(
                    title=inverse[0],
                    commands=(inverse[1],),
                    verification=_inverse_wait(step.verification, inverse[1]),
                    evidence=command.evidence[:3],
                    parameters=_inverse_params(inverse[1], (command, *_opt(step.verification))),
                )
            )
    for migration in _heads(migrations):
        if not migration.down_statements and not migration.repeatable:
            derived.append(_restore_step(procedure, migration))
        if migration.down_statements:
            ref = migration.down_source or migration.source
            # Shown as comments: they are SQL or Alembic ops, not shell commands to paste.
            lines = [f"# down migration of {migration.version} ({ref.path}):"]
            lines += [f"#   {_one_line(st, 200)}" for st in migration.down_statements[:10]]
            if migration.down_destructive:
                lines.append(
                    "# WARNING: this down migration destroys data; the backup is the way back"
                )
            derived.append(
                RollbackStep(
                    title=f"What the down migration of {migration.version} does".strip(),
                    commands=tuple(lines),
                    evidence=(ref,),
                )
            )
    if derived:
        checks = [
            c
            for s in procedure.steps
            if s.phase.strip().lower() not in _PREPARATION_PHASES
            for c in (*_opt(s.verification), *(c for c in s.commands if c.is_check))
            if not _CREATION_WAIT.search(c.text)  # it waits for what the rollback removed
            and c.role != "dryrun"  # a plan of the forward change verifies nothing afterwards
            and not program_of(c)[1].startswith("plan")
        ]
        derived.append(
            RollbackStep(
                title="Verify the rollback (re-run the verification checks)",
                commands=tuple(dict.fromkeys(c.text for c in checks)),
                verification="All checks pass",
                parameters=_merge_params(checks),
            )
        )
    return Rollback(
        when=tuple(when),
        decision_matrix=tuple(matrix),
        steps=tuple(derived),
        provenance=(
            (NEVER_OBSERVED if not rollback_runs else f"derived — {_too_few(rollback_runs)}")
            if derived
            else "none"
        ),
        duration=None,
    )


# --------------------------------------------------------------------- monitoring


def _watch(procedure: Procedure, steps: Sequence[Step]) -> tuple[Item, ...]:
    items: list[Item] = []
    seen: set[str] = set()
    for command in procedure.monitoring:
        if command.key in seen:
            continue
        seen.add(command.key)
        support = (
            f"observed after {command.support}/{command.of} runs" if command.of else "observed"
        )
        items.append(Item(text=_code(command.text), provenance=support, evidence=command.evidence))
    for step in steps:
        if step.log_command and _code(step.log_command) not in {i.text for i in items}:
            items.append(Item(text=_code(step.log_command), provenance="observed"))
            break
    return tuple(items)


def _thresholds(alarms: Sequence[AlarmDef]) -> tuple[Threshold, ...]:
    if not alarms:
        return tuple(
            Threshold(metric=m, warning=w, critical=c, action=a, provenance=DEFAULT)
            for m, w, c, a in _THRESHOLD_DEFAULTS
        )
    rows: list[Threshold] = []
    for alarm in sorted(alarms, key=lambda a: (a.metric or a.name, a.name, a.source)):
        condition = _alarm_condition(alarm)
        critical = alarm.severity.lower() in _CRITICAL_SEVERITIES
        # A PromQL expression is not a metric name: show the alert's name (the file has the rest).
        expression = not alarm.metric or alarm.metric == alarm.expression or "(" in alarm.metric
        metric = alarm.name if expression else alarm.metric
        rows.append(
            Threshold(
                metric=metric,
                warning="—" if critical else condition,
                critical=condition if critical else "—",
                action=_alarm_action(alarm),
                provenance=str(alarm.source),
            )
        )
    return tuple(rows)


def _alarm_triggers(alarms: Sequence[AlarmDef]) -> tuple[str, ...]:
    """Paging alarms as rollback triggers: the team's own line for "this change hurts"."""
    paging = sorted(
        (a for a in alarms if a.severity.lower() in _CRITICAL_SEVERITIES),
        key=lambda a: (a.name, a.source),
    )
    return tuple(
        f"Alarm {_code(a.name)} fires after the change: {_alarm_condition(a)} "
        f"(derived from {a.source})"
        for a in paging[:MAX_OBSERVED_TRIGGERS]
    )


def _alarm_condition(alarm: AlarmDef) -> str:
    """``Sum > 5 for 5 min`` from a CloudWatch/Terraform alarm, or the PromQL with its ``for``."""
    if alarm.threshold:
        op = _COMPARISON.get(alarm.comparison.lower().replace("_", ""), alarm.comparison)
        condition = " ".join(p for p in (alarm.statistic, op, alarm.threshold) if p)
    else:
        condition = alarm.expression or alarm.name
    if alarm.window_s:
        condition += f" for {_seconds_text(alarm.window_s)}"
    elif alarm.period or alarm.evaluation:
        condition += f" ({' × '.join(p for p in (alarm.evaluation, alarm.period) if p)})"
    return " ".join(condition.split()) or "—"


def _seconds_text(seconds: float) -> str:
    if seconds % 3600 == 0 and seconds >= 3600:
        return f"{seconds / 3600:g} h"
    if seconds % 60 == 0 and seconds >= 60:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


def _alarm_action(alarm: AlarmDef) -> str:
    if alarm.action:
        # `arn:aws:sns:eu-west-1:123456789012:oncall` -> notify `oncall`; other targets as written.
        target = (
            alarm.action.rsplit(":", 1)[-1] if alarm.action.startswith("arn:") else alarm.action
        )
        # Terraform references (`aws_sns_topic.payments_oncall.arn`) name the topic in the middle.
        reference = re.fullmatch(r"aws_sns_topic\.([\w-]+)\.arn", target)
        return f"notify {reference.group(1) if reference else target}"
    if alarm.runbook_url:
        return f"see {alarm.runbook_url}"
    return "not recorded"


# ---------------------------------------------------------------- troubleshooting


def _troubleshooting(cluster: FailureCluster) -> TroubleshootingEntry:
    solution = cluster.solution or ("No fix recorded in evidence",)
    return TroubleshootingEntry(
        title=cluster.title or _one_line(cluster.signature, 80),
        signature=cluster.signature,
        symptoms=cluster.symptoms,
        cause=cluster.cause or "Cause not recorded in evidence",
        solution=solution,
        prevention=cluster.prevention or "not recorded",
        occurrences=cluster.occurrences,
        evidence=_dedupe_refs(cluster.evidence),
        solution_is_commands=cluster.solution_is_commands and bool(cluster.solution),
        verification=cluster.verification,
        solution_note=cluster.solution_note,
    )


# ------------------------------------------------------------- sources, related


def _sources(
    files: Mapping[str, ParsedFile],
    executions: Sequence[Execution],
    journals: Sequence[Journal],
    alarms: Sequence[AlarmDef],
    migrations: Sequence[MigrationDef],
) -> tuple[SourceEntry, ...]:
    by_path: dict[str, list[Execution]] = {}
    for execution in executions:
        by_path.setdefault(execution.source.path, []).append(execution)
    entries: dict[str, SourceEntry] = {}
    for path, group in by_path.items():
        outcomes = {e.outcome for e in group}
        outcome = outcomes.pop().value if len(outcomes) == 1 else "mixed"
        dates = sorted(d for d in (_run_date(e) for e in group) if d is not None)
        entries[path] = SourceEntry(
            path=path,
            kind=_kind(files, path, group[0].kind),
            date=dates[0].isoformat() if dates else None,
            outcome=outcome,
            sha256=files[path].sha256 if path in files else "",
        )
    for journal in journals:
        path = journal.source.path
        if path not in entries:
            entries[path] = SourceEntry(
                path=path,
                kind=_kind(files, path, EvidenceKind.JOURNAL),
                date=journal.date.isoformat() if journal.date else None,
                outcome="n/a",
                sha256=files[path].sha256 if path in files else "",
            )
    for ref, kind in [(a.source, EvidenceKind.ALARM) for a in alarms] + [
        (m.source, EvidenceKind.MIGRATION_FILE) for m in migrations
    ]:
        if ref.path not in entries:
            entries[ref.path] = SourceEntry(
                path=ref.path,
                kind=_kind(files, ref.path, kind),
                date=None,
                outcome="n/a",
                sha256=files[ref.path].sha256 if ref.path in files else "",
            )
    return tuple(entries[p] for p in sorted(entries))


def _kind(files: Mapping[str, ParsedFile], path: str, fallback: EvidenceKind) -> str:
    return files[path].kind.value if path in files else fallback.value


def _related(sources: Sequence[SourceEntry], guides: Sequence[str]) -> tuple[Related, ...]:
    rows = {s.path: Related(path=s.path, kind=s.kind) for s in sources}
    for guide in guides:
        rows.setdefault(guide, Related(path=guide, kind="guide"))
    return tuple(sorted(rows.values(), key=lambda r: (_related_order(r.kind), r.path)))


_RELATED_ORDER = ("guide", "notes", "observation", "journal", "ci-log", "ci-workflow")


def _related_order(kind: str) -> int:
    return _RELATED_ORDER.index(kind) if kind in _RELATED_ORDER else len(_RELATED_ORDER)


# ------------------------------------------------------------------------ notes


def _notes(
    runbook: Runbook,
    procedure: Procedure,
    runs: RunSet,
    used: Sequence[Execution],
    rollback_runs: Sequence[Execution],
    alarms: Sequence[AlarmDef],
    op_type: OperationType,
) -> tuple[str, ...]:
    notes: list[str] = []
    n = len(used)
    majority = sum(1 for s in runbook.steps if not s.optional)
    optional = len(runbook.steps) - majority
    successful = sum(
        1 for e in used if resolved_outcome(e, runs.classification(e)) is Outcome.SUCCESS
    )
    mined = (
        _n(n, "successful run")
        if successful == n
        else f"{_n(n, 'run')} ({successful} successful, {n - successful} without a recorded outcome)"
    )
    notes.append(
        f"Mined from {mined}: {_n(majority, 'step')} {'recurs' if majority == 1 else 'recur'} "
        "in a majority of runs" + (f", {optional} optional" if optional else "") + "."
    )
    named = sorted({e.owner.strip() for e in used if e.owner and e.owner.strip()})
    if named and runbook.owner not in named:
        notes.append(
            f"People named in the runs ({', '.join(named)}) are operators, not a recorded owner; "
            "set `owner` in .runbook.toml to name one."
        )
    if len(runbook.steps) < 5:
        notes.append(
            f"Only {_n(len(runbook.steps), 'step')} {'recurs' if len(runbook.steps) == 1 else 'recur'} "
            "across runs (the original asks for 5-10); "
            "record more runs to fill the pattern."
        )
    dropped = []
    if procedure.noise_dropped:
        dropped.append(f"{_n(procedure.noise_dropped, 'noise command')} (typos, `ls`, retries...)")
    if procedure.one_offs_dropped:
        dropped.append(
            f"{_n(procedure.one_offs_dropped, 'one-off command')} (seen in one run only)"
        )
    if procedure.rare_dropped:
        dropped.append(
            f"{_n(procedure.rare_dropped, 'occasional command')} "
            "(seen in a few runs, fewer than one in ten)"
        )
    if dropped:
        notes.append(f"Dropped {' and '.join(dropped)}.")
    timed = procedure.total.n if procedure.total else 0
    if n and timed < n:
        notes.append(
            f"{n - timed} of {n} runs had no usable timing (or were excluded as outliers) "
            "and do not count in the durations."
        )
    if op_type is not OperationType.ROLLBACK:
        few = runbook.rollback.provenance != "none" and not runbook.rollback.provenance.startswith(
            "observed"
        )
        if runbook.rollback.provenance == NEVER_OBSERVED:
            notes.append("No rollback run recorded: rollback steps are derived, never observed.")
        elif few or (runbook.rollback.provenance == "none" and rollback_runs):
            paths = ", ".join(sorted({e.source.path for e in rollback_runs}))
            notes.append(
                f"Only {_too_few(rollback_runs)} ({paths}): rollback steps are derived from the "
                "procedure instead of mined; read that run for what was actually done."
            )
        elif runbook.rollback.provenance == "none":
            notes.append(
                "No rollback run recorded and no command could be inverted: rollback steps are missing."
            )
        elif rollback_runs:
            notes.append(
                f"Rollback steps come from {_n(len(rollback_runs), 'recorded rollback run')}."
            )
    if not alarms:
        notes.append(
            "No alarm definition found: alert thresholds are the original template's defaults."
        )
    if not runbook.troubleshooting:
        notes.append("No failure recorded for this operation: Troubleshooting is empty.")
    if runbook.last_validated is None:
        notes.append("No supporting run carries a date: Last Validated is unknown.")
    return tuple(notes)


def _with_notes(runbook: Runbook, notes: tuple[str, ...]) -> Runbook:
    return replace(runbook, notes=notes)
