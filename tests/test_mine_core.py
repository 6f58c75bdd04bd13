from __future__ import annotations

import random
from datetime import datetime, timedelta

from _mine_runs import kendall_tau, run

from runbook.mine import mine
from runbook.mine.group import MAX_STEPS
from runbook.model import (
    Command,
    EvidenceKind,
    Execution,
    MinedCommand,
    OperationType,
    Outcome,
    Procedure,
    SourceRef,
)

T0 = datetime(2025, 10, 1, 9, 0, 0)


def _all(p: Procedure) -> list[MinedCommand]:
    out: list[MinedCommand] = []
    for step in p.steps:
        out.extend(step.commands)
        if step.verification is not None:
            out.append(step.verification)
    return out


def _texts(p: Procedure) -> list[str]:
    return [c.text for c in _all(p)]


def _find(p: Procedure, prefix: str) -> MinedCommand:
    return next(c for c in _all(p) if c.text.startswith(prefix))


# ------------------------------------------------------------- Kubernetes + Helm


def _helm_runs(n: int = 12) -> list[Execution]:
    rng = random.Random(3)
    runs = []
    for i in range(n):
        version = f"v2.{i}.{rng.randint(0, 9)}"
        cmds: list[tuple[object, ...]] = [
            ("kubectl config use-context prod-eu", 1),
            ("helm repo update", 4),
            (f"helm upgrade api ./charts/api -n payments --set image.tag={version} --wait", 95 + i),
            ("kubectl rollout status deployment/api -n payments", 30),
            ("curl -fsS https://payments.example.com/healthz", 1, 0, '{"status":"ok"}'),
            ("kubectl logs deploy/api -n payments --since=5m", 3),
        ]
        if i % 4 == 1:  # operators sometimes check logs before the health endpoint
            cmds[4], cmds[5] = cmds[5], cmds[4]
        if i % 3 == 0:  # navigation noise and a typo
            cmds.insert(1, ("ls -la", 0.2))
            cmds.insert(2, ("cd deploy/", 0.1))
            cmds.insert(3, ("hlem repo update", 0.1, 127))
        if i in (2, 5, 9):  # optional: review release history right before upgrading
            at = next(j for j, c in enumerate(cmds) if str(c[0]).startswith("helm upgrade"))
            cmds.insert(at, ("helm history api -n payments", 2))
        if i == 7:  # a one-off detour
            cmds.insert(4, ("kubectl describe pod api-7d9f8-xk2lp -n payments", 2))
        if i % 5 == 0:  # impatient polling: the same check three times in a row
            idx = next(j for j, c in enumerate(cmds) if str(c[0]).startswith("kubectl rollout"))
            cmds.insert(idx, ("kubectl rollout status deployment/api -n payments", 10, 1))
            cmds.insert(idx, ("kubectl rollout status deployment/api -n payments", 10, 1))
        runs.append(
            run(f"2025-10-{i + 1:02d}/execution-helm-{i}", cmds, start=T0 + timedelta(days=i))
        )
    return runs


def test_helm_consensus_steps_order_and_noise() -> None:
    p = mine(_helm_runs(), OperationType.DEPLOYMENT)
    texts = _texts(p)
    truth = [
        "kubectl config use-context prod-eu",
        "helm repo update",
        "helm upgrade api ./charts/api -n payments --set image.tag={image-tag} --wait",
        "kubectl rollout status deployment/api -n payments",
        "curl -fsS https://payments.example.com/healthz",
        "kubectl logs deploy/api -n payments --since=5m",
    ]
    required = [c.text for c in _all(p) if not c.optional]
    assert required == truth
    assert kendall_tau(texts, truth) == 1.0
    # noise, typos and the one-off never become steps
    assert not any(t.startswith(("ls", "cd", "hlem", "kubectl describe")) for t in texts)
    assert p.noise_dropped >= 4 * 3 + 3 * 2  # 4 runs x (ls, cd, typo) + 3 runs x 2 polls
    assert p.one_offs_dropped == 1
    assert len(p.runs) == 12


def test_helm_optional_step_and_support() -> None:
    p = mine(_helm_runs(), OperationType.DEPLOYMENT)
    history = _find(p, "helm history")
    assert history.optional and history.support == 3 and history.of == 12
    upgrade = _find(p, "helm upgrade")
    assert not upgrade.optional and upgrade.support == 12
    texts = _texts(p)
    assert texts.index("helm repo update") < texts.index(history.text) < texts.index(upgrade.text)


def test_helm_parameters_and_verification() -> None:
    p = mine(_helm_runs(), OperationType.DEPLOYMENT)
    upgrade = _find(p, "helm upgrade")
    assert [prm.name for prm in upgrade.params] == ["image-tag"]
    examples = upgrade.params[0].examples
    assert 1 <= len(examples) <= 3 and list(examples) == sorted(examples)
    assert all(e.startswith("v2.") for e in examples)
    step = next(s for s in p.steps if upgrade in s.commands)
    assert step.verification is not None
    assert step.verification.text == "kubectl rollout status deployment/api -n payments"
    assert step.phase == "Deploy"
    assert p.monitoring and p.monitoring[-1].text.startswith("kubectl logs")
    assert p.steps[-1].phase == "Monitor"


def test_retries_keep_the_successful_attempt_duration() -> None:
    p = mine(_helm_runs(), OperationType.DEPLOYMENT)
    status = _find(p, "kubectl rollout status")
    assert status.duration is not None and status.duration.median_s == 30.0


def test_expected_output_from_common_lines() -> None:
    p = mine(_helm_runs(), OperationType.DEPLOYMENT)
    assert _find(p, "curl").expected_output == '{"status":"ok"}'


def test_deterministic_under_shuffled_input() -> None:
    runs = _helm_runs()
    first = mine(runs, OperationType.DEPLOYMENT)
    for seed in range(3):
        shuffled = list(runs)
        random.Random(seed).shuffle(shuffled)
        assert mine(shuffled, OperationType.DEPLOYMENT) == first


# --------------------------------------------------------- Lambda + ECR (values reused)


def _lambda_runs(n: int = 10) -> list[Execution]:
    rng = random.Random(11)
    runs = []
    registry = "123456789012.dkr.ecr.us-east-1.amazonaws.com/report-worker"
    for i in range(n):
        sha = f"{rng.getrandbits(28):07x}"
        if not any(c.isalpha() for c in sha):
            sha = "a" + sha[1:]
        digest = f"{rng.getrandbits(256):064x}"
        cmds: list[tuple[object, ...]] = [
            (f"docker build -t report-worker:{sha} .", 170 + rng.random() * 20),
            (f"docker tag report-worker:{sha} {registry}:{sha}", 1),
            (f"docker push {registry}:{sha}", 80, 0, f"{sha}: digest: sha256:{digest} size: 2419"),
            (
                "ENV=prod doppler run -- aws lambda update-function-code --function-name report_worker "
                f"--image-uri {registry}@sha256:{digest}",
                4,
            ),
            ("aws lambda wait function-updated --function-name report_worker", 35),
            ("curl -fsS https://api.acme.example/health", 1),
            ("dr test smoke", 20),
        ]
        runs.append(
            run(f"2025-11-{i + 1:02d}/execution-lambda-{i}", cmds, start=T0 + timedelta(days=i))
        )
    return runs


def test_same_value_in_a_run_gets_one_placeholder_name() -> None:
    p = mine(_lambda_runs(), OperationType.DEPLOYMENT)
    build, tag, push = _find(p, "docker build"), _find(p, "docker tag"), _find(p, "docker push")
    name = build.params[0].name
    assert "{" + name + "}" in build.text
    assert tag.text.count("{" + name + "}") == 2
    assert "{" + name + "}" in push.text
    assert push.params[0].examples == build.params[0].examples


def test_constants_literal_and_varying_digest_a_placeholder() -> None:
    p = mine(_lambda_runs(), OperationType.DEPLOYMENT)
    update = _find(p, "ENV=prod doppler run -- aws lambda update-function-code")
    assert "--function-name report_worker" in update.text  # constant: literal
    assert "123456789012" in _find(p, "docker push").text  # constant account id stays literal
    (param,) = update.params
    assert "{" + param.name + "}" in update.text
    assert len(param.examples) == 3
    step = next(s for s in p.steps if update in s.commands)
    assert step.verification is not None and step.verification.text.startswith("aws lambda wait")
    assert step.title == "Update Lambda function code"
    assert p.pre_checks == ()


def test_a_short_numeric_sha_is_still_the_same_step() -> None:
    runs = _lambda_runs(9)
    odd = run(
        "2025-11-30/execution-lambda-numeric",
        [
            ("docker build -t report-worker:3313813 .", 180),
            ("docker tag report-worker:3313813 registry.example/report-worker:3313813", 1),
        ],
        start=T0 + timedelta(days=40),
    )
    p = mine([*runs, odd], OperationType.DEPLOYMENT)
    build = _find(p, "docker build")
    assert build.support == 10
    assert "3313813" in build.params[0].examples or len(build.params[0].examples) == 3


# ------------------------------------------------------- merging literal variants


def test_minority_variants_merge_into_one_placeholder() -> None:
    teams = ["team-a", "team-b", "team-c"]
    runs = []
    for i in range(9):
        team = teams[i % 3]
        runs.append(
            run(
                f"2025-09-{i + 1:02d}/execution-restart-{i}",
                [
                    (f"kubectl -n {team} rollout restart deployment/worker", 3),
                    (f"kubectl -n {team} rollout status deployment/worker", 40),
                    ("kubectl get hpa -A", 1),
                ],
                start=T0 + timedelta(days=i),
            )
        )
    p = mine(runs, OperationType.INCIDENT)
    restart = _find(p, "kubectl -n")
    assert restart.text == "kubectl -n {namespace} rollout restart deployment/worker"
    assert restart.support == 9 and not restart.optional
    assert len(restart.keys) == 3
    assert restart.params[0].examples == ("team-a", "team-b", "team-c")
    step = next(s for s in p.steps if restart in s.commands)
    assert step.verification is not None
    assert step.verification.text == "kubectl -n {namespace} rollout status deployment/worker"


def test_majority_literal_is_not_merged_with_a_co_occurring_variant() -> None:
    runs = [
        run(
            f"r{i}",
            [
                ("kubectl rollout status deployment/api -n prod", 5),
                ("kubectl rollout status deployment/worker -n prod", 5),
            ],
            start=T0 + timedelta(days=i),
        )
        for i in range(4)
    ]
    p = mine(runs, OperationType.DEPLOYMENT)
    assert len(_all(p)) == 2


# --------------------------------------------------------- migration (Alembic)


def _migration_runs(n: int = 8) -> list[Execution]:
    runs = []
    for i in range(n):
        day = f"2025-08-{i + 1:02d}"
        cmds: list[tuple[object, ...]] = [
            ("alembic current", 2, 0, f"a3f1c9e2d7b{i} (head)"),
            (f"pg_dump -Fc -f backups/app-{day.replace('-', '')}.dump app", 120),
            ("alembic upgrade head --sql", 3),
            ("alembic upgrade head", 25),
            ("alembic current", 2, 0, f"c41f7a9e0b3{i} (head)"),
            ('psql "$DATABASE_URL" -c "select count(*) from report_schedules"', 1),
        ]
        if i == 4:
            cmds[1], cmds[2] = cmds[2], cmds[1]
        runs.append(run(f"{day}/execution-migration-{i}", cmds, start=T0 + timedelta(days=i)))
    return runs


def test_migration_check_before_and_after_is_two_items() -> None:
    p = mine(_migration_runs(), OperationType.MIGRATION)
    texts = _texts(p)
    assert texts.count("alembic current") == 2
    upgrade = next(s for s in p.steps if any(c.text == "alembic upgrade head" for c in s.commands))
    assert upgrade.verification is not None and upgrade.verification.text == "alembic current"
    assert upgrade.phase == "Apply"
    assert [c.text for c in p.pre_checks] == ["alembic current"]
    backup = next(s for s in p.steps if s.commands[0].text.startswith("pg_dump"))
    assert backup.phase == "Backup"
    assert "{" in backup.commands[0].text  # the dated file name is a parameter
    dry = next(s for s in p.steps if s.commands[0].text == "alembic upgrade head --sql")
    assert dry.verification is None and dry.phase == "Test"
    phases = [s.phase for s in p.steps]
    order = ["Backup", "Test", "Apply", "Verify", "Rollback plan"]
    assert phases == sorted(phases, key=order.index)


# ------------------------------------------------------------ Terraform + ECS


def test_terraform_plan_is_not_the_verification_of_init() -> None:
    runs = [
        run(
            f"2025-07-{i + 1:02d}/execution-tf-{i}",
            [
                ("terraform init -input=false", 20),
                ("terraform plan -out=tfplan", 40),
                ("terraform apply tfplan", 90),
                ("aws ecs wait services-stable --cluster main --services api", 120),
                ("aws ecs describe-services --cluster main --services api", 2),
            ],
            start=T0 + timedelta(days=i),
        )
        for i in range(6)
    ]
    p = mine(runs, OperationType.DEPLOYMENT)
    init = next(s for s in p.steps if s.commands[0].text.startswith("terraform init"))
    assert init.verification is None
    apply = next(s for s in p.steps if s.commands[0].text == "terraform apply tfplan")
    assert apply.verification is not None and apply.verification.text.startswith("aws ecs wait")
    assert len(p.steps) == 4  # fewer than five: nothing is invented


# ------------------------------------------------------------------ durations


def test_total_duration_ignores_a_24_hour_run() -> None:
    cmds = [
        ("terraform init", 20),
        ("terraform apply -auto-approve", 100),
        ("curl -f https://x.example/health", 1),
    ]
    runs = [run(f"r{i}", cmds, start=T0 + timedelta(days=i)) for i in range(9)]
    baseline = mine(runs, OperationType.DEPLOYMENT)
    stuck = run("r-stuck", cmds, start=T0 + timedelta(days=20), idle_after={1: 86_400.0})
    p = mine([*runs, stuck], OperationType.DEPLOYMENT)
    assert baseline.total is not None and p.total is not None
    assert p.total.median_s == baseline.total.median_s == 121.0
    assert p.total.p90_s == baseline.total.p90_s


def test_gap_durations_cap_idle_time() -> None:
    # No per-command durations: they come from the next command's start.
    cmds = [
        ("helm upgrade api ./chart -n prod", 60),
        ("kubectl rollout status deployment/api -n prod", 30),
        ("curl -f https://x/health", 1),
    ]
    runs = [
        run(f"r{i}", cmds, start=T0 + timedelta(days=i), with_durations=False) for i in range(8)
    ]
    runs.append(
        run(
            "r-idle",
            cmds,
            start=T0 + timedelta(days=30),
            with_durations=False,
            idle_after={0: 7200.0},
        )
    )
    p = mine(runs, OperationType.DEPLOYMENT)
    upgrade = _find(p, "helm upgrade")
    assert upgrade.duration is not None
    assert upgrade.duration.median_s == 60.0 and upgrade.duration.p90_s == 60.0
    assert p.total is not None and abs(p.total.median_s - 91.0) < 1e-6


def test_recorded_totals_win_over_command_sums() -> None:
    cmds = [("make deploy", 30), ("make smoke", 10)]
    runs = [
        run(f"r{i}", cmds, start=T0 + timedelta(days=i), record_total=True, idle_after={0: 20.0})
        for i in range(5)
    ]
    p = mine(runs, OperationType.DEPLOYMENT)
    assert p.total is not None and p.total.median_s == 60.0


# ------------------------------------------------------------------- grouping


def test_more_than_ten_actions_are_grouped_in_order() -> None:
    actions = [
        "git pull --ff-only",
        "npm ci",
        "npm run lint",
        "npm test",
        "npm run build",
        "docker build -t web:latest .",
        "docker push registry.example/web:latest",
        "aws s3 sync dist/ s3://web-prod --delete",
        "aws cloudfront create-invalidation --distribution-id E2ABCDEF --paths /*",
        "aws cloudfront wait invalidation-completed --distribution-id E2ABCDEF --id I1",
        "curl -fsS https://www.example.com/",
        "npx playwright test smoke",
        "aws logs tail /aws/lambda/edge --since 5m",
        "gh release create v1 --notes deployed",
    ]
    runs = [run(f"r{i}", [(a, 5) for a in actions], start=T0 + timedelta(days=i)) for i in range(5)]
    p = mine(runs, OperationType.DEPLOYMENT)
    assert 5 <= len(p.steps) <= MAX_STEPS
    flat = _texts(p)
    assert len(flat) == len(actions)
    assert kendall_tau(flat, [normalize_text(a) for a in actions]) == 1.0
    phases = [s.phase for s in p.steps]
    order = ["Build", "Test", "Deploy", "Verify", "Monitor"]
    assert phases == sorted(phases, key=order.index)


def normalize_text(text: str) -> str:
    return text


# ------------------------------------------------------------------- selection


def test_failed_runs_and_guides_are_not_the_pattern() -> None:
    runs = _helm_runs(4)
    failed = run("f1", [("helm rollback api -n payments", 10)], start=T0, outcome=Outcome.FAILURE)
    guide = Execution(
        id="docs/deploy.md",
        source=SourceRef("docs/deploy.md"),
        kind=EvidenceKind.NOTES,
        commands=(Command("make guide-only-command", SourceRef("docs/deploy.md", 3)),) * 1,
    )
    p = mine([*runs, failed, guide], OperationType.DEPLOYMENT)
    assert len(p.runs) == 4
    assert not any("rollback" in t or "guide-only" in t for t in _texts(p))


def test_no_runs() -> None:
    assert mine([], OperationType.DEPLOYMENT) == Procedure(steps=(), runs=())


def test_environment_variants_merge_when_runs_differ() -> None:
    runs = []
    for i in range(8):
        env = "staging" if i in (2, 6) else "prod"
        runs.append(
            run(
                f"r{i}",
                [
                    (
                        f"ENV={env} doppler run -- aws lambda update-function-code --function-name w --zip-file fileb://w.zip",
                        4,
                    ),
                    ("aws lambda wait function-updated --function-name w", 30),
                ],
                start=T0 + timedelta(days=i),
            )
        )
    p = mine(runs, OperationType.DEPLOYMENT)
    update = _find(p, "ENV=")
    assert update.text.startswith("ENV={env} doppler run --")
    assert update.support == 8 and update.params[0].examples == ("prod", "staging")


def test_a_single_odd_variant_does_not_turn_a_constant_into_a_placeholder() -> None:
    runs = [
        run(
            f"r{i}",
            [("kubectl rollout restart deployment/api -n prod", 3)],
            start=T0 + timedelta(days=i),
        )
        for i in range(6)
    ]
    runs.append(
        run(
            "odd",
            [("kubectl rollout restart deployment/api -n qa", 3)],
            start=T0 + timedelta(days=9),
        )
    )
    p = mine(runs, OperationType.DEPLOYMENT)
    assert _texts(p) == ["kubectl rollout restart deployment/api -n prod"]
    assert p.one_offs_dropped == 1


def test_a_habit_at_random_places_is_noise_but_a_placed_optional_step_is_kept() -> None:
    steps = [
        ("terraform init", 10),
        ("terraform plan -out=tfplan", 30),
        ("terraform apply tfplan", 60),
        ("curl -fsS https://svc.example.com/health", 1),
        ("aws logs tail /aws/lambda/svc --since 5m", 3),
    ]
    runs = []
    for i in range(10):
        cmds = list(steps)
        if i in (1, 4, 7, 9):  # a habit: anywhere in the session
            cmds.insert([0, 2, 5, 4][[1, 4, 7, 9].index(i)], ("gh auth status", 1))
        if i in (2, 5, 8):  # a real optional step: always right before the apply
            cmds.insert(2, ("terraform validate", 2))
        runs.append(run(f"r{i}", cmds, start=T0 + timedelta(days=i)))
    p = mine(runs, OperationType.DEPLOYMENT)
    texts = _texts(p)
    assert "gh auth status" not in texts
    assert texts.index("terraform plan -out=tfplan") < texts.index("terraform validate")
    assert texts.index("terraform validate") < texts.index("terraform apply tfplan")
    assert _find(p, "terraform validate").optional


def test_a_wrapper_prefix_in_some_runs_is_the_same_step() -> None:
    runs = []
    for i in range(8):
        wait = "aws lambda wait function-updated --function-name w"
        if i in (3, 6):
            wait = "ENV=staging doppler run -- " + wait
        runs.append(
            run(
                f"r{i}",
                [
                    (
                        "aws lambda update-function-code --function-name w --zip-file fileb://w.zip",
                        4,
                    ),
                    (wait, 30),
                ],
                start=T0 + timedelta(days=i),
            )
        )
    p = mine(runs, OperationType.DEPLOYMENT)
    (step,) = p.steps
    assert step.verification is not None
    assert step.verification.text == "aws lambda wait function-updated --function-name w"
    assert step.verification.support == 8 and len(step.verification.keys) == 2


def test_measured_durations_beat_timeline_gaps_that_include_idle_time() -> None:
    cmds = [
        ("kubectl rollout restart deployment/api -n prod", 1),
        ("kubectl rollout status deployment/api -n prod", 40),
    ]
    runs = [
        # measured (tool-call style): the operator paused 8 s after the restart
        run(f"m{i}", cmds, start=T0 + timedelta(days=i), idle_after={0: 8.0}, record_total=True)
        for i in range(3)
    ]
    runs += [
        # timeline only: start-to-start gaps include the same pause
        run(
            f"g{i}",
            cmds,
            start=T0 + timedelta(days=10 + i),
            idle_after={0: 8.0},
            with_durations=False,
        )
        for i in range(5)
    ]
    p = mine(runs, OperationType.INCIDENT)
    restart = _find(p, "kubectl rollout restart")
    assert restart.duration is not None and restart.duration.median_s == 1.0
    assert p.total is not None and p.total.median_s == 49.0  # wall time keeps the pause


def test_an_occasional_command_in_a_large_corpus_is_not_an_optional_step() -> None:
    base = [
        ("kubectl config use-context prod", 1),
        ("docker build -t ghcr.io/acme/api:v1 .", 60),
        ("helm upgrade api charts/api -n prod --wait", 90),
        ("kubectl rollout status deploy/api -n prod", 20),
    ]
    runs = []
    for i in range(40):
        extra = [("npm run lint", 8)] if i in (3, 17) else []  # 2 of 40: a habit
        diff = [("helm diff upgrade api charts/api -n prod", 6)] if i % 4 == 0 else []  # 10/40
        cmds = [base[0], *extra, base[1], *diff, base[2], base[3]]
        runs.append(run(f"r{i:02d}", cmds, start=T0 + timedelta(days=i)))
    p = mine(runs, OperationType.DEPLOYMENT)
    texts = _texts(p)
    assert not any("npm run lint" in t for t in texts)
    assert _find(p, "helm diff").optional
    assert p.rare_dropped == 1
    # in a small corpus, two runs are enough
    small = mine(runs[:18], OperationType.DEPLOYMENT)  # runs 3 and 17 of 18
    assert any("npm run lint" in t for t in _texts(small))


def test_expected_output_marks_where_varying_lines_were_left_out() -> None:
    from runbook.mine.output import ELISION, expected_output

    docs = [
        f'{{\n    "FunctionName": "w",\n    "CodeSha256": "{sha}",\n    "LastModified": "{t}",\n'
        '    "State": "Active"\n}'
        for sha, t in (("aa11", "2025-01-01"), ("bb22", "2025-02-02"), ("cc33", "2025-03-03"))
    ]
    shown = expected_output(docs, lambda line: line if "Code" not in line else "{sha}").split("\n")
    assert shown[:2] == ["{", '    "FunctionName": "w",']
    assert ELISION in shown  # LastModified differs in every run: left out, and marked
    assert shown[-2:] == ['    "State": "Active"', "}"]
