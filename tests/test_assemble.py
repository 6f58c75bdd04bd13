"""assemble(): every section filled from evidence, with provenance; nothing invented."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from _assemble_fixtures import (
    ALARM,
    CLASSIFICATIONS,
    CLUSTERS,
    DEPLOY,
    LOGS,
    PROCEDURE,
    RUNS,
    SMOKE,
    make_runbook,
)

from runbook.assemble import NEVER_OBSERVED, RunSet, assemble, migration_chain, slugify
from runbook.config import Config
from runbook.model import (
    Command,
    EvidenceKind,
    Execution,
    MigrationDef,
    MinedCommand,
    MinedStep,
    OperationType,
    Param,
    Procedure,
    Skipped,
    SourceRef,
    Stat,
)
from runbook.sources import read_evidence


def test_header_from_evidence() -> None:
    rb = make_runbook()
    assert rb.title == "Runbook: Deployment - lambda"
    assert rb.generated == date(2025, 12, 28)
    assert rb.last_validated == date(2025, 12, 11)  # newest supporting run
    assert rb.estimated_duration.median_seconds == 390.0
    assert rb.estimated_duration.runs == 10
    assert rb.review_frequency == "Monthly"
    assert rb.owner == "platform-team"  # front matter owner of the runs


def test_owner_falls_back_to_config_then_unassigned() -> None:
    runs = tuple(replace(e, owner=None) for e in RUNS)
    kwargs = dict(
        op_type=OperationType.MIGRATION,
        scope="Aurora schema change",
        procedure=PROCEDURE,
        clusters=(),
        runs=RunSet(runs),
        failures=RunSet(()),
        journals=(),
        rollback_procedure=None,
        rollback_runs=(),
        today=date(2025, 12, 28),
    )
    assert assemble(**kwargs, owner="dba-team").owner == "dba-team"  # type: ignore[arg-type]
    rb = assemble(**kwargs)  # type: ignore[arg-type]
    assert rb.owner == "unassigned"
    assert rb.review_frequency == "Quarterly"


def test_steps_carry_support_params_and_evidence() -> None:
    rb = make_runbook()
    assert [s.number for s in rb.steps] == [1, 2, 3, 4, 5, 6]
    deploy = rb.steps[3]
    assert deploy.name == "step-4-update-the-lambda-function"
    assert deploy.commands == (DEPLOY.text,)
    assert "{image-uri}" in deploy.commands[0]
    assert [p.name for p in deploy.parameters] == ["image-uri"]
    assert deploy.verification is not None
    assert deploy.verification.command.startswith("aws lambda wait")
    assert (deploy.support.runs, deploy.support.of) == (11, 11)
    assert deploy.duration is not None and deploy.duration.median_seconds == 57
    assert "derived" in deploy.purpose
    assert rb.steps[5].optional
    # Parameters of several commands are merged, sorted and deduplicated.
    assert [p.name for p in rb.steps[2].parameters] == ["account-id", "tag"]


def test_if_failed_links_clusters_at_the_step_else_marked_default() -> None:
    rb = make_runbook()
    push, deploy, build = rb.steps[2], rb.steps[3], rb.steps[0]
    assert push.if_failed[0].startswith("Seen 3×: `denied: Your authorization token has expired")
    assert "Issue 1" in push.if_failed[0]
    assert "Issue 2" in deploy.if_failed[0]
    assert all("default" in line for line in build.if_failed)


def test_prerequisites_tools_versions_and_derived_access() -> None:
    rb = make_runbook()
    tools = {i.text.split(" ")[0]: i for i in rb.prerequisites.tools}
    assert "2.15.0" in next(i.text for i in rb.prerequisites.tools if "`aws`" in i.text)
    assert "`ls`" not in " ".join(tools)
    access = [i for i in rb.prerequisites.access]
    assert access and all(i.provenance == "derived" for i in access)
    assert any("lambda update-function-code" in i.text for i in access)
    envs = [i.text for i in rb.prerequisites.environment]
    assert envs == ["Environment: prod (9 of 11 runs)", "Environment: staging (2 of 11 runs)"]
    provenances = [i.provenance for i in rb.prerequisites.pre_checks]
    assert provenances[0] == "observed: 8/11 runs"
    assert "default" in provenances[1:]


def test_troubleshooting_sorted_by_frequency_and_honest_about_gaps() -> None:
    rb = make_runbook()
    assert [t.occurrences for t in rb.troubleshooting] == [3, 2, 2]
    conflict = rb.troubleshooting[1]
    assert conflict.cause == "Cause not recorded in evidence"
    assert conflict.prevention == "not recorded"
    assert rb.troubleshooting[0].cause.startswith("The ECR login token")
    # Input order must not matter.
    shuffled = assemble(
        op_type=OperationType.DEPLOYMENT,
        scope="lambda",
        procedure=PROCEDURE,
        clusters=tuple(reversed(CLUSTERS)),
        runs=RunSet(RUNS, CLASSIFICATIONS),
        failures=RunSet(()),
        journals=(),
        rollback_procedure=None,
        rollback_runs=(),
        today=date(2025, 12, 28),
    )
    assert [t.title for t in shuffled.troubleshooting] == [t.title for t in rb.troubleshooting]


def test_rollback_derived_when_never_observed() -> None:
    rb = make_runbook()
    assert rb.rollback.provenance == NEVER_OBSERVED
    commands = [c for s in rb.rollback.steps for c in s.commands]
    assert any("--image-uri {previous-image-uri}" in c for c in commands)
    assert not any(c.startswith("docker build") for c in commands)  # building is not reverting
    assert any(d.provenance == "default" for d in rb.rollback.decision_matrix)
    observed = [d for d in rb.rollback.decision_matrix if d.provenance.startswith("observed")]
    assert observed and "2 of 2" in observed[0].action
    assert any("rolled back (2 runs)" in w for w in rb.rollback.when)
    assert any("derived" in n for n in rb.notes)


def test_rollback_observed_from_rollback_runs() -> None:
    undo = MinedCommand(
        key="kubectl rollout undo deployment/api",
        text="kubectl rollout undo deployment/api",
        support=4,
        of=4,
        evidence=(SourceRef("rb.md", 3),),
    )
    status = MinedCommand(
        key="kubectl rollout status deployment/api", text="kubectl rollout status deployment/api"
    )
    rollback = Procedure(
        steps=(MinedStep("Revert", "Undo the rollout", (undo,), status, None, 4, 4),),
        runs=("a", "b", "c", "d"),
        total=Stat(120, 200, 4),
    )
    runs = tuple(Execution(id=x, source=SourceRef(x), kind=EvidenceKind.NOTES) for x in "abcd")
    rb = assemble(
        op_type=OperationType.DEPLOYMENT,
        scope="api",
        procedure=PROCEDURE,
        clusters=(),
        runs=RunSet(RUNS),
        failures=RunSet(()),
        journals=(),
        rollback_procedure=rollback,
        rollback_runs=runs,
        today=date(2025, 12, 28),
    )
    assert rb.rollback.provenance == "observed: 4 rollback runs"
    assert rb.rollback.steps[0].commands == ("kubectl rollout undo deployment/api",)
    assert rb.rollback.steps[0].verification == "kubectl rollout status deployment/api"
    assert rb.rollback.duration is not None and rb.rollback.duration.median_seconds == 120


def test_derived_inverses_for_common_tools() -> None:
    def only(text: str, phase: str = "Deploy") -> tuple[str, ...]:
        step = MinedStep(phase, "x", (MinedCommand(key=text, text=text),), None, None, 3, 3)
        rb = assemble(
            op_type=OperationType.DEPLOYMENT,
            scope="",
            procedure=Procedure(steps=(step,), runs=()),
            clusters=(),
            runs=RunSet(()),
            failures=RunSet(()),
            journals=(),
            rollback_procedure=None,
            rollback_runs=(),
            today=date(2025, 12, 28),
        )
        return tuple(c for s in rb.rollback.steps for c in s.commands)

    assert only("kubectl set image deployment/web web=repo/web:{tag}") == (
        "kubectl rollout undo deployment/web",
    )
    assert only("helm upgrade --install api charts/api -f values.yaml") == ("helm rollback api",)
    assert only("helm upgrade api charts/api -n shop --kube-context prod -f v.yaml --wait") == (
        "helm rollback api -n shop --kube-context prod",
    )
    assert only("kubectl -n shop set image deployment/web web=repo/web:{tag}") == (
        "kubectl rollout undo deployment/web -n shop",
    )
    assert only("alembic upgrade head", "Apply") == ("alembic downgrade -1",)
    # The wrapper that supplies credentials is kept, so the inverse runs the same way.
    assert only("ENV=prod doppler run -- alembic upgrade head", "Apply") == (
        "ENV=prod doppler run -- alembic downgrade -1",
    )
    assert only("alembic upgrade head --sql", "Apply") == ()  # a dry run changes nothing
    assert only(
        "aws rds create-db-instance --db-instance-identifier {db-instance-identifier} "
        "--db-cluster-identifier acme-prod --engine aurora-postgresql",
        "Execute",
    ) == (
        "aws rds delete-db-instance --db-instance-identifier {db-instance-identifier} "
        "--skip-final-snapshot",
    )
    assert only(
        "aws application-autoscaling register-scalable-target --service-namespace rds "
        "--resource-id cluster:acme-prod --scalable-dimension rds:cluster:ReadReplicaCount "
        "--min-capacity 2 --max-capacity 5",
        "Optimize",
    ) == (
        "aws application-autoscaling deregister-scalable-target --service-namespace rds "
        "--resource-id cluster:acme-prod --scalable-dimension rds:cluster:ReadReplicaCount",
    )
    # Preparation is not reverted: a snapshot taken in the Backup phase stays.
    assert only("aws rds create-db-cluster-snapshot --db-cluster-identifier x", "Backup") == ()
    assert only("docker service update --image registry/web:{tag} web") == (
        "docker service update --image registry/web:{previous-tag} web",
    )
    assert only("docker push registry/web:{tag}") == ()  # publishing is not the live change
    assert only("gh workflow run deploy.yml -f version={version}") == (
        "gh workflow run deploy.yml -f version={previous-version}",
    )
    assert only("ls -la") == ()


def test_terraform_plan_with_a_version_is_replanned_with_the_previous_one() -> None:
    plan = MinedCommand(
        key="p",
        text="terraform -chdir=infra/lambda plan -var image_tag={image-tag} -out=tfplan",
        params=(Param("image-tag", ("a1b2c3d", "d4e5f6a")),),
        role="dryrun",
    )
    apply = MinedCommand(key="a", text="terraform -chdir=infra/lambda apply -auto-approve tfplan")
    procedure = Procedure(
        steps=(
            MinedStep("Test", "Plan", (plan,), None, None, 3, 3),
            MinedStep("Deploy", "Apply", (apply,), None, None, 3, 3),
        ),
        runs=(),
    )
    rb = assemble(
        op_type=OperationType.DEPLOYMENT,
        scope="lambda",
        procedure=procedure,
        clusters=(),
        runs=RunSet(()),
        failures=RunSet(()),
        journals=(),
        rollback_procedure=None,
        rollback_runs=(),
        today=date(2025, 12, 28),
    )
    first = rb.rollback.steps[0]
    assert first.commands == (
        "terraform -chdir=infra/lambda plan -var image_tag={previous-image-tag} -out=tfplan",
        "terraform -chdir=infra/lambda apply -auto-approve tfplan",
    )
    assert first.parameters[0].name == "previous-image-tag"


def test_migration_down_files_become_rollback_steps() -> None:
    migration = MigrationDef(
        version="0042",
        name="add_reports_index",
        source=SourceRef("migrations/0042_add_reports_index.up.sql", 1),
        down_statements=("DROP INDEX reports_created_at_idx;",),
        down_source=SourceRef("migrations/0042_add_reports_index.down.sql", 1),
        reversible=True,
    )
    rb = assemble(
        op_type=OperationType.MIGRATION,
        scope="Aurora schema change",
        procedure=PROCEDURE,
        clusters=(),
        runs=RunSet(RUNS),
        failures=RunSet(()),
        journals=(),
        rollback_procedure=None,
        rollback_runs=(),
        migrations=(migration,),
        today=date(2025, 12, 28),
    )
    titles = [s.title for s in rb.rollback.steps]
    assert any("0042" in t for t in titles)
    assert any(s.path.endswith("0042_add_reports_index.up.sql") for s in rb.sources)


def test_thresholds_from_alarms_else_defaults() -> None:
    defaults = make_runbook().monitoring.alert_thresholds
    assert defaults and {t.provenance for t in defaults} == {"default"}
    rows = make_runbook(alarms=(ALARM,)).monitoring.alert_thresholds
    assert len(rows) == 1
    assert rows[0].critical.startswith("> 5")
    assert rows[0].provenance == "infra/alarms/report-worker.tf:3"
    assert rows[0].action == "notify oncall-page"


def test_thresholds_read_real_alarm_definitions() -> None:
    data = Path(__file__).parent / "data" / "machine" / "alarms"
    if not data.is_dir():
        pytest.skip("alarm fixtures not present")
    parsed = [
        read_evidence(path, data, EvidenceKind.ALARM, Config())
        for path in sorted(data.iterdir())
        if path.suffix in {".json", ".yml", ".yaml", ".tf"}
    ]
    alarms = tuple(a for p in parsed if not isinstance(p, Skipped) for a in p.alarms)
    assert alarms
    rows = make_runbook(alarms=alarms).monitoring.alert_thresholds
    assert len(rows) == len(alarms)
    for row in rows:
        assert row.provenance != "default"
        assert (row.warning == "—") != (row.critical == "—")  # one severity column is filled
        assert "\n" not in row.warning + row.critical
    cloudwatch = [r for r in rows if r.metric == "5XXError"]
    if cloudwatch:
        assert cloudwatch[0].critical.startswith("Sum >= 5 for 3 min")


def test_sources_and_related_are_sorted_and_complete() -> None:
    rb = make_runbook()
    paths = [s.path for s in rb.sources]
    assert paths == sorted(paths)
    assert len(paths) == 12  # 11 runs + the journal
    assert {s.outcome for s in rb.sources} == {"success", "n/a"}
    assert rb.related[0].kind == "guide"
    assert any(r.kind == "journal" for r in rb.related)


def test_notes_are_honest() -> None:
    rb = make_runbook()
    joined = "\n".join(rb.notes)
    assert "Mined from 11 successful runs" in joined
    assert "1 of 11 runs had no usable timing" in joined
    assert "defaults" in joined  # no alarm definitions


def test_slugify_is_safe_and_bounded() -> None:
    assert slugify("../../etc/passwd") == "etc-passwd"
    assert slugify("Ünïcode API timeout!") == "unicode-api-timeout"
    assert slugify("") == "step"
    assert len(slugify("word " * 40, 60)) <= 60


def test_branch_and_noted_versions_come_from_the_runs() -> None:
    def with_extra(e: Execution, day: int) -> Execution:
        extra = Command("git checkout main", SourceRef(e.source.path, 5), exit_code=0)
        return replace(
            e,
            commands=(extra, *e.commands),
            notes=("Environment Context: laptop, Terraform v1.6.6, AWS CLI 2.18.0",)
            if day == 1
            else (),
        )

    runs = tuple(with_extra(e, i) for i, e in enumerate(RUNS, start=1))
    rb = assemble(
        op_type=OperationType.DEPLOYMENT,
        scope="lambda",
        procedure=PROCEDURE,
        clusters=(),
        runs=RunSet(runs),
        failures=RunSet(()),
        journals=(),
        rollback_procedure=None,
        rollback_runs=(),
        today=date(2025, 12, 28),
    )
    assert "Branch: main (11 runs)" in [i.text for i in rb.prerequisites.environment]
    aws = next(i.text for i in rb.prerequisites.tools if "`aws`" in i.text)
    assert "2.18.0" in aws and "2.15.0" in aws  # noted and printed versions, newest first
    assert aws.index("2.18.0") < aws.index("2.15.0")


def test_log_command_goes_with_the_live_change_it_watches() -> None:
    rb = make_runbook()
    with_logs = [s.number for s in rb.steps if s.log_command]
    # The Lambda update shares `report_worker` with `aws logs tail /aws/lambda/report_worker`;
    # pushing an image, logging in and invalidating a CDN are not watched in those logs.
    assert with_logs == [4]
    assert rb.steps[3].log_command == "aws logs tail /aws/lambda/report_worker --since 5m"


def test_verification_checks_merge_environment_variants() -> None:
    plain = replace(LOGS, support=9)
    staging = replace(
        LOGS,
        key="ENV=staging doppler run -- aws logs tail /aws/lambda/report_worker --since 5m",
        text="ENV=staging doppler run -- aws logs tail /aws/lambda/report_worker --since 5m",
        support=2,
    )
    smoke_staging = replace(
        SMOKE, key="dr test smoke --env staging", text="dr test smoke --env staging", support=2
    )
    verify = MinedStep("Verify", "Smoke", (smoke_staging, SMOKE), None, None, 11, 11)
    procedure = replace(PROCEDURE, steps=(*PROCEDURE.steps, verify), monitoring=(staging, plain))
    rb = assemble(
        op_type=OperationType.DEPLOYMENT,
        scope="lambda",
        procedure=procedure,
        clusters=(),
        runs=RunSet(RUNS),
        failures=RunSet(()),
        journals=(),
        rollback_procedure=None,
        rollback_runs=(),
        today=date(2025, 12, 28),
    )
    commands = [c.command for c in rb.verification_checks]
    assert commands.count("dr test smoke") == 1 and "dr test smoke --env staging" not in commands
    assert "aws logs tail /aws/lambda/report_worker --since 5m" in commands
    assert not any(c.startswith("ENV=staging") for c in commands)
    assert "curl -fsS https://api.example.com/health" in commands  # a Verify-phase step's check


def test_credential_wrappers_are_tools_with_access() -> None:
    rb = make_runbook()
    assert any("`doppler`" in i.text for i in rb.prerequisites.tools)
    access = [i.text for i in rb.prerequisites.access]
    assert any(t.startswith("Doppler access") for t in access)
    # `git status` needs no write access.
    assert "Read access to the Git repository" in access


def test_placeholders_outside_the_procedure_are_explained() -> None:
    rb = make_runbook()
    revert = next(
        s for s in rb.rollback.steps if any("{previous-image-uri}" in c for c in s.commands)
    )
    names = {p.name: p for p in revert.parameters}
    assert "previous-image-uri" in names
    assert names["previous-image-uri"].examples  # the recorded values to choose from
    assert all(c.parameters == () or c.parameters[0].name for c in rb.verification_checks)


def test_migration_without_down_is_restored_from_the_backup_step() -> None:
    snapshot = MinedCommand(
        key="s",
        text="aws rds create-db-cluster-snapshot --db-cluster-identifier acme-prod "
        "--db-cluster-snapshot-identifier {db-cluster-snapshot-identifier}",
        params=(Param("db-cluster-snapshot-identifier", ("pre-migration-2025-12-04",)),),
        role="backup",
    )
    upgrade = MinedCommand(key="u", text="ENV=prod doppler run -- alembic upgrade head")
    procedure = Procedure(
        steps=(
            MinedStep("Backup", "Snapshot", (snapshot,), None, None, 3, 3),
            MinedStep("Apply", "Upgrade", (upgrade,), None, None, 3, 3),
        ),
        runs=(),
    )
    migration = MigrationDef(
        version="0007",
        name="drop legacy column",
        source=SourceRef("migrations/0007_drop_legacy.sql", 1),
        destructive=("ALTER TABLE reports DROP COLUMN legacy",),
        locking=("ALTER TABLE reports DROP COLUMN legacy",),
    )
    rb = assemble(
        op_type=OperationType.MIGRATION,
        scope="schema change",
        procedure=procedure,
        clusters=(),
        runs=RunSet(()),
        failures=RunSet(()),
        journals=(),
        rollback_procedure=None,
        rollback_runs=(),
        migrations=(migration,),
        today=date(2025, 12, 28),
    )
    restore = next(s for s in rb.rollback.steps if "restore from the backup" in s.title)
    assert restore.commands[0].startswith("aws rds restore-db-cluster-from-snapshot")
    assert "{db-cluster-snapshot-identifier}" in restore.commands[0]
    assert {p.name for p in restore.parameters} >= {"db-cluster-snapshot-identifier", "engine"}
    checks = [i.text for i in rb.prerequisites.pre_checks if i.provenance == "derived"]
    assert any(t.startswith("Back up first: migration 0007") for t in checks)
    assert any("low-traffic window" in t for t in checks)


def testmigration_chain_in_apply_order() -> None:
    def m(version: str, parent: str = "") -> MigrationDef:
        return MigrationDef(
            version=version,
            name="",
            source=SourceRef(f"m/{version}.py"),
            depends_on=(parent,) if parent else (),
        )

    alembic = (m("c3", "b2"), m("a1"), m("b2", "a1"))
    assert migration_chain(alembic) == "a1 → b2 → c3"
    flyway = (m("V10"), m("V2"), m("V1"))
    assert migration_chain(flyway) == "V1 → V2 → V10"
    assert migration_chain(()) == ""
