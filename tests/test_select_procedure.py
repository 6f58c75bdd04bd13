"""One procedure per request: classify.select_procedure on corpora where several procedures match.

The corpora are written here in styles the bench does not use (Cloud Run + terraform, plain
kubectl set image / rollout undo, bash history without titles).
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from pathlib import Path

from runbook import api
from runbook.classify import classify, select, select_procedure
from runbook.config import Config
from runbook.model import (
    Classification,
    Command,
    EvidenceKind,
    Execution,
    ObservationMode,
    OperationType,
    Outcome,
    SourceRef,
)

D = OperationType.DEPLOYMENT
R = OperationType.ROLLBACK


def run(
    path: str,
    *commands: str,
    title: str = "",
    kind: EvidenceKind = EvidenceKind.NOTES,
    outcome: Outcome = Outcome.UNKNOWN,
    mode: ObservationMode | None = None,
    exit_code: int | None = 0,
) -> Execution:
    return Execution(
        id=path,
        source=SourceRef(path),
        kind=kind,
        title=title,
        outcome=outcome,
        mode=mode,
        commands=tuple(
            Command(c, SourceRef(path, i), exit_code=exit_code) for i, c in enumerate(commands, 1)
        ),
    )


# ------------------------------------------------- two services sharing terraform apply


def billing(i: int, *extra: str) -> Execution:
    return run(
        f"ops/notes/2025-03-{i:02d}-billing-release.md",
        f"gcloud builds submit --tag europe-docker.pkg.dev/acme/billing/api:v2.{i} .",
        f"terraform -chdir=services/billing plan -var image=v2.{i} -out=billing.tfplan",
        "terraform -chdir=services/billing apply billing.tfplan",
        "gcloud run services describe billing-api --region europe-west4",
        "hurl --test smoke/billing.hurl",
        *extra,
        title=f"Release billing API v2.{i} to Cloud Run",
    )


def network(i: int, *extra: str) -> Execution:
    return run(
        f"ops/notes/2025-04-{i:02d}-network-change.md",
        "terraform fmt -check",
        "terraform -chdir=envs/prod init -input=false",
        "terraform -chdir=envs/prod validate",
        "terraform -chdir=envs/prod plan -out=prod.tfplan",
        "terraform -chdir=envs/prod apply prod.tfplan",
        "terraform -chdir=envs/prod output -json",
        *extra,
        title=f"Infrastructure change {i}: VPC peering and firewall rules",
    )


def two_services() -> list[Execution]:
    runs = [
        billing(i, *(("gcloud run services logs read billing-api",) * (i % 2))) for i in range(1, 7)
    ]
    return runs + [network(i, *(("tflint --recursive",) * (i % 3 == 0))) for i in range(1, 6)]


def test_another_service_deploy_that_runs_terraform_is_left_out() -> None:
    runs = two_services()
    # the type/scope filter alone keeps both: terraform implies "infrastructure"
    assert len(select(runs, D, "infrastructure")) == 11
    kept, notes = select_procedure(runs, D, "infrastructure")
    assert sorted(e.id for e, _ in kept) == sorted(e.id for e in runs if "network" in e.id)
    assert len(notes) == 1
    assert notes[0].startswith("left out 6 runs of another procedure (“Release billing API v2.")
    assert "Infrastructure change" in notes[0]


def test_asking_for_the_other_service_gets_its_runs() -> None:
    runs = two_services()
    kept, notes = select_procedure(runs, D, "billing api")
    assert sorted(e.id for e, _ in kept) == sorted(e.id for e in runs if "billing" in e.id)
    assert notes == ()


def test_one_procedure_is_left_alone() -> None:
    runs = [network(i) for i in range(1, 6)]
    assert select_procedure(runs, D, "infrastructure") == (select(runs, D, "infrastructure"), ())


# ------------------------------------ a rollback request and deploys that rolled back


def deploy(i: int, *, undo: bool = False, path: str = "", title: str | None = None) -> Execution:
    image = f"registry.acme.io/orders:1.{i}.0"
    cmds = [
        f"docker build -t {image} .",
        f"docker push {image}",
        f"kubectl -n shop set image deploy/orders orders={image}",
        "kubectl -n shop rollout status deploy/orders --timeout=120s",
    ]
    if undo:
        cmds += [
            "kubectl -n shop rollout undo deploy/orders",
            f"kubectl -n shop set image deploy/orders orders={image}-hotfix",
            "kubectl -n shop rollout status deploy/orders --timeout=120s",
        ]
    cmds += ["curl -fsS https://shop.acme.io/orders/healthz", "k6 run smoke/orders.js"]
    kind = EvidenceKind.SHELL_HISTORY if path.startswith("history/") else EvidenceKind.NOTES
    return run(
        path or f"runs/deploys/2025-05-{i:02d}-orders.md",
        *cmds,
        title=f"Ship orders 1.{i}.0" if title is None else title,
        kind=kind,
    )


def undo(i: int, *, annotate: bool = True) -> Execution:
    cmds = [
        "kubectl -n shop rollout history deploy/orders",
        "kubectl -n shop rollout undo deploy/orders",
        "kubectl -n shop rollout status deploy/orders --timeout=120s",
        "kubectl -n shop get pods -l app=orders",
        "curl -fsS https://shop.acme.io/orders/healthz",
    ]
    if annotate:
        cmds.append(f"kubectl -n shop annotate deploy/orders acme.io/rolled-back=2025-06-{i:02d}")
    return run(
        f"runs/rollbacks/2025-06-{i:02d}-orders-undo.md",
        *cmds,
        title=f"Revert orders after bad release #{i}",
    )


def orders_corpus() -> list[Execution]:
    runs = [deploy(i) for i in range(1, 7)] + [undo(i, annotate=i % 2 == 0) for i in range(1, 6)]
    runs += [deploy(20 + i, undo=True, path=f"history/bash-{i}", title="") for i in range(2)]
    # a deploy that had to undo and ship a hotfix: its title names the undo too
    runs.append(
        deploy(
            30,
            undo=True,
            path="runs/deploys/2025-07-01-orders-retry.md",
            title="Ship orders 1.30.0 (retry after undo)",
        )
    )
    return runs


def test_a_deploy_that_rolled_back_is_not_a_rollback_run() -> None:
    runs = orders_corpus()
    selected = {e.id for e, _ in select(runs, R, "orders")}
    assert "runs/deploys/2025-07-01-orders-retry.md" in selected
    kept, notes = select_procedure(runs, R, "orders")
    assert {e.id for e, _ in kept} == {e.id for e in runs if "rollbacks" in e.id}
    assert notes == (
        "left out 1 run (runs/deploys/2025-07-01-orders-retry.md): it repeats the procedure "
        "of 8 deployment runs (“Ship orders 1.1.0”), not this one",
    )


def test_a_run_named_as_the_requested_operation_is_kept() -> None:
    # a redeploy recorded as only the rollout part looks like the rollbacks, but its
    # title says it is a deploy: the name is trusted over the resemblance
    runs = [undo(i) for i in range(1, 6)] + [deploy(i) for i in range(1, 4)]
    runs.append(
        run(
            "runs/deploys/2025-05-09-orders-redeploy.md",
            "kubectl -n shop rollout history deploy/orders",
            "kubectl -n shop rollout undo deploy/orders --to-revision=12",
            "kubectl -n shop rollout status deploy/orders --timeout=120s",
            "kubectl -n shop get pods -l app=orders",
            "curl -fsS https://shop.acme.io/orders/healthz",
            title="Deploy orders 1.9.0 again (pinned revision)",
        )
    )
    before = {e.id for e, _ in select(runs, D, "orders")}
    kept, notes = select_procedure(runs, D, "orders")
    assert {e.id for e, _ in kept} == before
    assert notes == ()


# --------------------------------------------- legitimate variation of one procedure


def test_variation_of_one_procedure_is_kept() -> None:
    runs = [undo(i, annotate=i % 2 == 0) for i in range(1, 7)]
    runs += [
        # a run that failed half-way
        run(
            "runs/rollbacks/2025-06-20-orders-undo-failed.md",
            "kubectl -n shop rollout history deploy/orders",
            "kubectl -n shop rollout undo deploy/orders",
            title="Revert orders (failed: rollout stuck)",
            outcome=Outcome.FAILURE,
        ),
        # a shell-history session: no title, the same commands and one habit
        run(
            "history/zsh-7",
            "kubectl -n shop rollout history deploy/orders",
            "kubectl -n shop rollout undo deploy/orders",
            "kubectl -n shop rollout status deploy/orders --timeout=120s",
            "kubectl -n shop get pods -l app=orders",
            "git log --oneline -3",
            kind=EvidenceKind.SHELL_HISTORY,
        ),
        # an odd one-off that did it another way: one run is no evidence of another procedure
        run(
            "runs/rollbacks/2025-06-25-orders-argo.md",
            "argocd app history orders",
            "argocd app rollback orders 41",
            "argocd app wait orders --health",
            title="Revert orders with Argo CD",
        ),
    ]
    for scope in ("orders", None):
        ranked = select(runs, R, scope)
        assert select_procedure(runs, R, scope) == (ranked, ())


def ledger(i: int) -> Execution:
    return run(
        f"ops/notes/2025-02-{i:02d}-ledger-release.md",
        "pytest tests/unit -q",
        "gcloud functions deploy ledger-api --runtime python312 --trigger-http --source .",
        "gcloud functions describe ledger-api --format='value(state)'",
        "gcloud pubsub topics publish ledger-smoke --message ping",
        title=f"Release ledger API v1.{i} to Cloud Functions",
    )


def test_two_procedures_that_match_equally_keep_one_and_name_the_other() -> None:
    runs = [billing(i) for i in range(1, 5)] + [ledger(i) for i in range(1, 5)]
    assert len(select(runs, D, "api")) == 8
    kept, notes = select_procedure(runs, D, "api")
    assert len(kept) == 4
    assert len({e.id.rsplit("-", 2)[1] for e, _ in kept}) == 1  # billing or ledger, not both
    assert len(notes) == 1
    assert "they match the request almost as well as the one mined" in notes[0]
    # the scope the note suggests selects the runs it left out
    suggested = re.search(r"ask for scope '([^']+)' to mine them$", notes[0])
    assert suggested is not None
    again, _ = select_procedure(runs, D, suggested.group(1))
    assert {e.id for e, _ in again} == {e.id for e in runs} - {e.id for e, _ in kept}


def test_incident_failure_reports_are_not_narrowed() -> None:
    inc = OperationType.INCIDENT
    runs = [
        run(
            f".claude/observations/2025-0{i}-01/failure-1000{i}-api-timeout.md",
            "kubectl -n shop get pods",
            "kubectl -n shop logs deploy/orders --since=10m",
            "kubectl -n shop scale deploy/orders --replicas=6",
            title=f"Incident: orders API timeouts #{i}",
            mode=ObservationMode.FAILURE,
        )
        for i in range(1, 5)
    ]
    assert select_procedure(runs, inc, "API timeout") == (select(runs, inc, "API timeout"), ())


def test_response_runs_of_another_kind_of_incident_are_left_out() -> None:
    # Both kinds of response mention the words of the request: the TLS one renews a
    # certificate on api.example.net after a webhook *timeout*.
    inc = OperationType.INCIDENT
    timeouts = [
        run(
            f"ops/notes/2025-0{i}-02-api-timeout-response.md",
            "kubectl -n shop top pods",
            "kubectl -n shop logs deploy/orders --since=10m",
            "psql orders -c 'select pid, state from pg_stat_activity'",
            "kubectl -n shop scale deploy/orders --replicas=6",
            "hey -z 30s https://shop.example.net/api/orders",
            title=f"API timeout response #{i}",
        )
        for i in range(1, 5)
    ]
    certs = [
        run(
            f"ops/notes/2025-0{i}-03-tls-expiry.md",
            "openssl s_client -connect api.example.net:443 -servername api.example.net",
            "kubectl -n cert-manager logs deploy/cert-manager --since=30m",
            "cmctl renew api-example-net-tls -n shop",
            "kubectl -n shop get certificate api-example-net-tls",
            title=f"API certificate expiring, webhook timeout on renew #{i}",
        )
        for i in range(1, 4)
    ]
    kept, notes = select_procedure([*timeouts, *certs], inc, "API timeout")
    ids = {e.id for e, _ in kept}
    assert ids == {e.id for e in timeouts}
    assert len(notes) == 1 and "another procedure" in notes[0]


# ------------------------------------------------------------ end to end, on files


def observation(root: Path, day: str, slug: str, title: str, commands: list[str]) -> None:
    folder = root / ".claude" / "observations" / day
    folder.mkdir(parents=True, exist_ok=True)
    listed = "\n".join(f"- `{c}` - 0 - ok" for c in commands)
    (folder / f"execution-100000-{slug}.md").write_text(
        f'---\nmode: execution\ndate: "{day}"\ntime: "10:00:00"\ntags: [deployment]\n---\n\n'
        f"# {title}\n\n## Side Effects\n\n**Commands Executed**:\n{listed}\n\n"
        "## Resource Consumption\n\n**Time**: 4m 10s\n",
        encoding="utf-8",
    )


def test_generate_mines_one_procedure_and_says_what_it_left_out(tmp_path: Path) -> None:
    for i in range(1, 6):
        observation(
            tmp_path,
            f"2025-03-{i:02d}",
            "billing-release",
            f"Release billing API v2.{i} to Cloud Run",
            [c.text for c in billing(i).commands],
        )
    for i in range(1, 5):
        observation(
            tmp_path,
            f"2025-04-{i:02d}",
            "network-change",
            f"Infrastructure change {i}: VPC peering",
            [c.text for c in network(i).commands],
        )
    got = api.generate(
        tmp_path, "deployment", "infrastructure", today=date(2025, 5, 1), config=Config(cache=False)
    )
    assert got.counts.runs == 4
    commands = " ".join(c for step in got.runbook.steps for c in step.commands)
    assert "terraform" in commands and "gcloud builds submit" not in commands
    summary = api.summary_line(got, "stdout").splitlines()
    assert len(summary) == 2
    assert summary[0].startswith("runbook: left out 5 runs of another procedure")
    assert summary[1].startswith("Mined 4 ")


def schema_change(i: int, table: str, title: str) -> Execution:
    return run(
        f"ops/notes/2025-08-{i:02d}-{table}-alembic.md",
        f"pg_dump -s -t {table} -f before-{i}.sql app",
        "alembic upgrade head",
        f"psql app -c '\\d {table}'",
        "pytest tests/db -q",
        title=title,
    )


def test_same_operation_runs_below_a_free_text_cut_do_not_outvote_the_pool() -> None:
    # four runs name "orders"; six runs of the same procedure on another table do not, and
    # three "orders" runs used another tool (a second, smaller procedure)
    runs = [schema_change(i, "orders", f"Orders schema change #{i}") for i in range(1, 5)]
    runs += [schema_change(i, "invoices", f"Invoices: add column #{i}") for i in range(5, 11)]
    runs += [
        run(
            f"ops/notes/2025-09-{i:02d}-orders-flyway.md",
            "flyway -configFiles=conf/orders.conf info",
            "flyway -configFiles=conf/orders.conf migrate",
            "flyway -configFiles=conf/orders.conf validate",
            title=f"Orders schema change #{i} with Flyway",
        )
        for i in range(1, 4)
    ]
    mig = OperationType.MIGRATION
    ranked = select(runs, mig, "orders schema change")
    assert {e.id for e, _ in ranked} == {e.id for e in runs if "orders" in e.id}
    kept, notes = select_procedure(runs, mig, "orders schema change")
    assert {e.id for e, _ in kept} == {e.id for e in runs if "orders-alembic" in e.id}
    assert len(notes) == 1 and notes[0].startswith("left out 3 runs of another procedure")


def test_the_suggested_scope_asks_for_the_runs_left_out() -> None:
    # no scope: both services' deploys match; whichever is left out, the note says how to ask
    # for it, even when its scopes ("infrastructure" from terraform) are the other one's too
    runs = two_services()
    kept, notes = select_procedure(runs, D, None)
    assert len(notes) == 1
    suggested = re.search(r"ask for scope '([^']+)' to mine them$", notes[0])
    assert suggested is not None
    again, _ = select_procedure(runs, D, suggested.group(1))
    assert {e.id for e, _ in again} == {e.id for e in runs} - {e.id for e, _ in kept}


def as_rollback(runs: list[Execution], ids: set[str]) -> dict[str, Classification]:
    """Classifications with ``ids`` read as rollbacks, as a classifier may read a deploy whose
    recorded output is mostly its rollback ("Rollback was a success!")."""
    out = {e.id: classify(e) for e in runs}
    return {i: replace(c, operation_type=R) if i in ids else c for i, c in out.items()}


def test_with_no_rollback_procedure_in_view_deploys_that_rolled_back_are_left_out() -> None:
    # every "rollback" here is a deploy that undid itself half-way: there is no rollback
    # procedure to mine, and the request must not mine the deploy under a rollback title
    runs = [deploy(i) for i in range(1, 6)]
    undone = [
        deploy(20 + i, undo=True, path=f"runs/deploys/2025-06-0{i}-orders.md") for i in (1, 2)
    ]
    cls = as_rollback([*runs, *undone], {e.id for e in undone})
    assert len(select([*runs, *undone], R, "orders", cls)) == 2
    kept, notes = select_procedure([*runs, *undone], R, "orders", cls)
    assert kept == []
    assert len(notes) == 1 and "they repeat the procedure of 5 deployment runs" in notes[0]
    # a run its author called a rollback stays, whatever it ran
    named = deploy(
        30, undo=True, path="runs/deploys/2025-06-30-orders.md", title="Roll back orders"
    )
    cls = as_rollback([*runs, *undone, named], {e.id for e in (*undone, named)})
    kept, _ = select_procedure([*runs, *undone, named], R, "orders", cls)
    assert [e.id for e, _ in kept] == [named.id]


def test_a_deploy_read_as_a_rollback_is_counted_with_the_deploys() -> None:
    # the same deploys that rolled back half-way: asked for the deployment, they are its runs
    # (with the failure and the fix they recorded), said so on one line
    runs = [deploy(i) for i in range(1, 6)]
    undone = [
        deploy(20 + i, undo=True, path=f"runs/deploys/2025-06-0{i}-orders.md") for i in (1, 2)
    ]
    cls = as_rollback([*runs, *undone], {e.id for e in undone})
    assert {e.id for e, _ in select([*runs, *undone], D, "orders", cls)} == {e.id for e in runs}
    kept, notes = select_procedure([*runs, *undone], D, "orders", cls)
    assert {e.id for e, _ in kept} == {e.id for e in (*runs, *undone)}
    assert [e.id for e, _ in kept[-2:]] == [e.id for e in undone]  # ranked after the deploys
    assert notes == (
        "counted 2 runs read as rollback (runs/deploys/2025-06-01-orders.md, "
        "runs/deploys/2025-06-02-orders.md) as runs of this procedure: they repeat its "
        "commands and their names say deployment",
    )
    # a run whose names say rollback stays a rollback, whatever it ran
    named = deploy(
        30, undo=True, path="runs/deploys/2025-06-30-orders.md", title="Roll back orders"
    )
    cls = as_rollback([*runs, named], {named.id})
    kept, notes = select_procedure([*runs, named], D, "orders", cls)
    assert {e.id for e, _ in kept} == {e.id for e in runs} and notes == ()


def _mysql_change(path: str, i: int, *, title: str = "", kind: EvidenceKind) -> Execution:
    return run(
        path,
        f"mysqldump --no-data shop customers > before-{i}.sql",
        "gh-ost --alter 'ADD COLUMN tier VARCHAR(16)' --table customers --database shop --execute",
        "mysql shop -e 'SHOW CREATE TABLE customers'",
        "make smoke",
        title=title,
        kind=kind,
    )


def test_machine_records_the_free_text_missed_join_their_procedure() -> None:
    # Notes name "MySQL online schema change"; casts of the same procedure are titled
    # differently and share one word, and shell-history sessions name nothing at all.
    notes = [
        _mysql_change(f"docs/ops/2025-05-{i:02d}-mysql-online-schema-change.md", i,
                      title=f"MySQL online schema change #{i}", kind=EvidenceKind.NOTES)
        for i in range(1, 4)
    ]  # fmt: skip
    casts = [
        _mysql_change(f"ops/casts/2025-06-{i:02d}-gh-ost.cast", i,
                      title="gh-ost run on customers (schema)", kind=EvidenceKind.CAST)
        for i in range(1, 3)
    ]  # fmt: skip
    history = [
        _mysql_change(f"ops/history/.zsh_history#{i}", i, kind=EvidenceKind.SHELL_HISTORY)
        for i in range(1, 4)
    ]
    mig = OperationType.MIGRATION
    assert {e.id for e, _ in select(notes + casts + history, mig, "MySQL online schema change")} < {
        e.id for e in notes + casts + history
    }
    kept, notes_out = select_procedure(notes + casts + history, mig, "MySQL online schema change")
    assert {e.id for e, _ in kept} == {e.id for e in notes + casts + history}
    assert any("that do not name 'mysql online schema change'" in n for n in notes_out)


def test_another_services_history_does_not_join() -> None:
    notes = [schema_change(i, "orders", f"Orders schema change #{i}") for i in range(1, 4)]
    other = [
        run(
            f"ops/history/.bash_history#{i}",
            "pg_dump -s -t invoices -f before.sql billing",
            "alembic -c services/billing/alembic.ini upgrade head",
            "psql billing -c '\\d invoices'",
            "pytest services/billing/tests/db -q",
            kind=EvidenceKind.SHELL_HISTORY,
        )
        for i in range(1, 4)
    ]
    for e in other:
        assert "billing" in classify(e).scopes or True  # scopes come from the commands
    kept, _ = select_procedure(notes + other, OperationType.MIGRATION, "orders schema change")
    ids = {e.id for e, _ in kept}
    assert all(e.id in ids for e in notes)
    covered = {s for e in notes for s in classify(e).scopes}
    for e in other:  # a history joins only when the chosen runs cover all it names
        assert (e.id in ids) == set(classify(e).scopes).issubset(covered)
