"""classify() on runs with no title: the operation is read from the commands alone."""

from __future__ import annotations

from runbook.classify import classify, command_facts
from runbook.model import Command, EvidenceKind, Execution, OperationType, SourceRef

OT = OperationType


def session(*commands: str, title: str = "bash history 2026-02-03 14:07") -> Execution:
    path = "home/ops/.bash_history"
    return Execution(
        id=f"{path}#1",
        source=SourceRef(path),
        kind=EvidenceKind.SHELL_HISTORY,
        title=title,
        commands=tuple(Command(c, SourceRef(path, i)) for i, c in enumerate(commands, 1)),
    )


def kind_of(*commands: str) -> OT:
    return classify(session(*commands)).operation_type


# ------------------------------------------------------------------ timestamps


def test_a_timestamp_in_the_title_is_not_a_release_number() -> None:
    c = classify(session("git pull --rebase", "npm test", title="zsh history 2025-06-27 17:40"))
    assert c.operation_type is OT.NONE
    assert not any("06-27" in r for r in c.reasons)


def test_a_version_in_the_title_still_reads_as_a_release() -> None:
    c = classify(session("ls", title="payments-api 2.17.0"))
    assert c.operation_type is OT.DEPLOYMENT


# -------------------------------------------------------------------- rollbacks


def test_slot_swap_after_reading_errors_is_a_rollback() -> None:
    # Azure: 5xx on the live slot, read the logs, swap the old build back in.
    assert (
        kind_of(
            "az monitor metrics list --resource /subscriptions/x/sites/shop --metric Http5xx",
            "az webapp log tail --name shop --resource-group rg-shop",
            "az webapp deployment slot swap --name shop -g rg-shop --slot staging",
        )
        is OT.ROLLBACK
    )


def test_the_same_swap_without_triage_is_a_deployment() -> None:
    assert (
        kind_of(
            "az webapp deploy --name shop -g rg-shop --src-path build.zip --slot staging",
            "az webapp deployment slot swap --name shop -g rg-shop --slot staging",
            "curl -fsS https://shop.example.com/healthz",
        )
        is OT.DEPLOYMENT
    )


def test_deploying_the_previous_image_is_a_rollback() -> None:
    c = classify(
        session(
            "fly releases -a shop --json",
            'fly deploy -a shop --image "$PREVIOUS_IMAGE"',
            "fly status -a shop",
        )
    )
    assert c.operation_type is OT.ROLLBACK
    assert any("older version" in r for r in c.reasons)


def test_pointing_traffic_at_the_second_to_last_revision_is_a_rollback() -> None:
    assert (
        kind_of(
            "gcloud run revisions list --service pay --format='value(name)' --sort-by=~created"
            " --limit 2 | jq -r '.[-2]'",
            "gcloud run deploy pay --image gcr.io/acme/pay@sha256:ab12 --region europe-west1",
        )
        is OT.ROLLBACK
    )


def test_a_revert_named_in_a_pull_request_title_makes_the_sync_a_rollback() -> None:
    c = classify(
        session(
            'gh pr create --title "Revert pricing engine 3.2" --body "bad totals"',
            "argocd app sync pricing --prune",
            "argocd app wait pricing --health",
        )
    )
    assert c.operation_type is OT.ROLLBACK
    assert "argument: revert" in c.reasons


def test_a_deploy_that_records_the_previous_version_and_builds_stays_a_deployment() -> None:
    assert (
        kind_of(
            "docker build -t ghcr.io/acme/web:v3.1.0 .",
            "docker push ghcr.io/acme/web:v3.1.0",
            "kubectl get deploy web -o jsonpath='{.spec.template.spec.containers[0].image}'"
            " > previous-image.txt",
            "kubectl set image deploy/web web=ghcr.io/acme/web:v3.1.0",
            "kubectl rollout status deploy/web",
        )
        is OT.DEPLOYMENT
    )


def test_a_deploy_rolled_back_and_run_again_stays_a_deployment() -> None:
    c = classify(
        session(
            "argocd app set web -p image.tag=v8.4.0",
            "argocd app sync web",
            "argocd app rollback web 41",
            "argocd app sync web",
            "argocd app wait web --health",
        )
    )
    assert c.operation_type is OT.DEPLOYMENT
    assert "command: rolled back its own deploy" in c.reasons


def test_a_deploy_that_ends_in_its_own_rollback_stays_a_deployment() -> None:
    assert (
        kind_of(
            "kubectl set image deploy/web web=ghcr.io/acme/web:v2.0.0 -n shop",
            "kubectl rollout status deploy/web -n shop --timeout=120s",
            "kubectl rollout undo deploy/web -n shop",
        )
        is OT.DEPLOYMENT
    )


def test_a_rollback_program_first_is_still_a_rollback() -> None:
    assert (
        kind_of(
            "nomad job history api",
            "nomad job revert api 12",
            "nomad job status api",
        )
        is OT.ROLLBACK
    )


# -------------------------------------------------------------------- incidents


def test_deleting_a_crashlooping_pod_and_adding_replicas_after_triage_is_an_incident() -> None:
    c = classify(
        session(
            "kubectl get events -n shop --field-selector type=Warning",
            "kubectl logs web-7d9f-abc -n shop --previous",
            "kubectl delete pod web-7d9f-abc -n shop",
            "kubectl scale deploy/web -n shop --replicas=6",
        )
    )
    assert c.operation_type is OT.INCIDENT
    assert "command: triage before the change" in c.reasons


def test_logs_read_with_previous_do_not_point_at_an_older_version() -> None:
    (facts,) = command_facts("kubectl logs web-7d9f-abc --previous")
    assert facts.triage and not facts.previous


def test_killing_mysql_queries_then_upsizing_is_an_incident() -> None:
    assert (
        kind_of(
            'mysql -h db.internal -e "SHOW FULL PROCESSLIST"',
            'mysql -h db.internal -e "KILL 4821"',
            "aws rds modify-db-instance --db-instance-identifier shop"
            " --db-instance-class db.r6g.2xlarge --apply-immediately",
        )
        is OT.INCIDENT
    )


def test_cancelling_postgres_backends_with_a_postmortem_note_is_an_incident() -> None:
    c = classify(
        session(
            "psql -c \"select pid, query from pg_stat_activity where wait_event_type = 'Lock'\"",
            'psql -c "select pg_cancel_backend(48211)"',
            "gh issue comment 88 --body-file postmortem.md",
        )
    )
    assert c.operation_type is OT.INCIDENT
    assert "argument: postmortem" in c.reasons


def test_a_concurrency_cap_named_an_incident_is_an_incident() -> None:
    assert (
        kind_of(
            "heroku pg:killall -a shop",
            "heroku ps:scale worker=2 -a shop",
            'gh issue create --title "Outage: checkout workers" --label sev2',
        )
        is OT.INCIDENT
    )


# ---------------------------------------------------------------------- scaling


def test_nomad_scale_with_a_load_test_is_scaling() -> None:
    assert (
        kind_of(
            "nomad job status api",
            "nomad job scale api web 8",
            "k6 run --vus 300 --duration 10m load/api.js",
        )
        is OT.SCALING
    )


def test_capacity_metrics_before_a_node_pool_resize_stay_scaling() -> None:
    c = classify(
        session(
            "az monitor metrics list --resource /subscriptions/x/aks/prod --metric node_cpu_usage_percentage",
            "az aks nodepool scale --cluster-name prod -g rg --name pool1 --node-count 6",
        )
    )
    assert c.operation_type is OT.SCALING
    assert "command: triage before the change" not in c.reasons


def test_error_metrics_before_a_replica_change_make_it_a_mitigation() -> None:
    assert (
        kind_of(
            "az monitor metrics list --resource /subscriptions/x/aks/prod --metric Http5xx",
            "kubectl logs deploy/api -n shop --since=10m",
            "az aks nodepool scale --cluster-name prod -g rg --name pool1 --node-count 6",
        )
        is OT.INCIDENT
    )


def test_a_capacity_cap_removed_later_in_the_run_is_a_mitigation() -> None:
    c = classify(
        session(
            "aws lambda put-provisioned-concurrency-config --function-name ingest"
            " --qualifier live --provisioned-concurrent-executions 0",
            "watch -n 10 'aws sqs get-queue-attributes --queue-url $Q'",
            "aws lambda delete-provisioned-concurrency-config --function-name ingest"
            " --qualifier live",
        )
    )
    assert c.operation_type is OT.INCIDENT
    assert any("undone in the same run" in r for r in c.reasons)


def test_a_capacity_change_that_stays_is_scaling() -> None:
    assert (
        kind_of(
            "aws lambda put-provisioned-concurrency-config --function-name ingest"
            " --qualifier live --provisioned-concurrent-executions 50",
            "aws lambda get-provisioned-concurrency-config --function-name ingest --qualifier live",
        )
        is OT.SCALING
    )


def test_an_incident_note_after_a_replica_change_names_the_run() -> None:
    # the triage happened in an earlier session; the note says what this one was
    assert (
        kind_of(
            "kubectl scale statefulset/kafka -n data --replicas=5",
            "kubectl rollout status statefulset/kafka -n data",
            "gh issue comment 212 --body-file outage-notes.md",
        )
        is OT.INCIDENT
    )


def test_a_commit_message_alone_does_not_make_an_operation() -> None:
    assert (
        kind_of(
            "git checkout -b fix/rollback-script",
            'git commit -am "add rollback script for the billing worker"',
            "npm test",
        )
        is OT.NONE
    )


def test_reading_logs_before_a_sync_is_not_yet_a_rollback() -> None:
    # no fault named in what was read: a look before deploying, not a reaction to errors
    assert (
        kind_of(
            "kubectl logs deploy/web -n shop --since=5m",
            "argocd app sync web",
            "argocd app wait web --health",
        )
        is OT.DEPLOYMENT
    )


def test_an_online_schema_change_is_a_migration() -> None:
    assert (
        kind_of(
            'mysql -h db1 -e "SHOW CREATE TABLE shop.invoices"',
            "pt-online-schema-change --alter 'ADD COLUMN vat_id VARCHAR(32)' D=shop,t=invoices"
            " --execute",
            'mysql -h db1 -e "SHOW CREATE TABLE shop.invoices"',
        )
        is OT.MIGRATION
    )


def test_promoting_an_argo_rollout_is_a_deployment() -> None:
    assert (
        kind_of(
            "kubectl argo rollouts set image api api=ghcr.io/acme/api:v5.2.0 -n web",
            "kubectl argo rollouts get rollout api -n web --watch",
            "kubectl argo rollouts promote api -n web",
        )
        is OT.DEPLOYMENT
    )


def test_the_records_after_a_rollback_name_it() -> None:
    # verification and paperwork after the rollback, cut into a session of their own
    assert (
        kind_of(
            "curl -fsS https://shop.example.com/healthz",
            "kubectl annotate deploy/web -n shop ops.example.com/last-action=revert --overwrite",
            'gh issue create --title "Post-mortem: web rolled back to 7.1" --label postmortem',
        )
        is OT.ROLLBACK
    )


def test_adding_kafka_partitions_is_scaling() -> None:
    assert (
        kind_of(
            "kafka-topics --bootstrap-server b1:9092 --describe --topic clicks",
            "kafka-topics --bootstrap-server b1:9092 --alter --topic clicks --partitions 48",
            "kafka-consumer-groups --bootstrap-server b1:9092 --describe --group rollup",
        )
        is OT.SCALING
    )


def test_a_forced_certificate_renewal_filed_as_an_incident_is_an_incident() -> None:
    assert (
        kind_of(
            "openssl s_client -connect shop.example.com:443 -servername shop.example.com",
            "cmctl renew shop-tls -n web",
            'jira issue create --project SRE --type Incident --summary "shop TLS expired"',
        )
        is OT.INCIDENT
    )
