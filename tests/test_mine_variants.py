"""Mining on hand-written, multi-author evidence: optional detours, flag variants, timings."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from _mine_runs import run

from runbook.mine import mine
from runbook.mine.clean import clean_run, command_durations, usual_repeats
from runbook.mine.kinds import is_check
from runbook.model import Command, Execution, MinedCommand, OperationType, Procedure, SourceRef
from runbook.normalize import normalize

T0 = datetime(2025, 10, 1, 9, 0, 0)
REG = "123456789012.dkr.ecr.us-east-1.amazonaws.com/report-worker"


def _all(p: Procedure) -> list[MinedCommand]:
    return [
        c for s in p.steps for c in (*s.commands, *((s.verification,) if s.verification else ()))
    ]


def _deploy(i: int, *, staging: bool = False, infra: bool = False) -> list[tuple[object, ...]]:
    sha = f"{i:07x}"
    cmds: list[tuple[object, ...]] = [("git rev-parse --short HEAD", 0.1)]
    if infra:
        cmds += [
            ("terraform plan -target=module.worker -out=tfplan", 24),
            ("terraform apply tfplan", 120),
        ]
    cmds += [
        ("dr test all", 60),
        (f"docker build -t report-worker:{sha} .", 170),
        (
            "aws ecr get-login-password --region us-east-1 | docker login --username AWS "
            "--password-stdin 123456789012.dkr.ecr.us-east-1.amazonaws.com",
            3,
        ),
        (f"docker tag report-worker:{sha} {REG}:{sha}", 0.3),
        (f"docker push {REG}:{sha}", 60),
        (f"aws lambda update-function-code --function-name worker --image-uri {REG}:{sha}", 30),
        ("aws lambda wait function-updated --function-name worker", 50),
        ("curl -fsS https://api.example.com/health", 0.6),
        ("dr test smoke --env staging" if staging else "dr test smoke", 15),
        ("aws logs tail /aws/lambda/worker --since 5m", 5),
    ]
    return cmds


def _runs() -> list[object]:
    return [
        run(
            f"d{i}",
            _deploy(i, staging=i in (2, 7), infra=i in (3, 9)),
            start=T0 + timedelta(days=i),
        )
        for i in range(13)
    ]


def test_minority_commands_never_merge_into_a_majority_step() -> None:
    p = mine(_runs(), OperationType.DEPLOYMENT)  # type: ignore[arg-type]
    assert len(p.steps) <= 10
    for step in p.steps:
        members = [c.support for c in step.commands]
        # every command meets the step's support figure
        assert all(k >= step.support for k in members), step
        if any(c.optional for c in step.commands):
            assert all(c.optional for c in step.commands) and step.optional, step
    infra = next(s for s in p.steps if any("terraform" in c.text for c in s.commands))
    assert [c.text for c in infra.commands] == [
        "terraform plan -target=module.worker -out=tfplan",
        "terraform apply tfplan",
    ]
    assert infra.optional and infra.support == 2 and infra.of == 13


def test_optional_block_sits_together_before_the_step_that_follows_it() -> None:
    p = mine(_runs(), OperationType.DEPLOYMENT)  # type: ignore[arg-type]
    texts = [c.text for c in _all(p)]
    plan = texts.index("terraform plan -target=module.worker -out=tfplan")
    assert texts[plan + 1] == "terraform apply tfplan"
    assert texts[plan + 2] == "dr test all"


def test_a_flag_added_in_some_runs_is_the_same_command() -> None:
    p = mine(_runs(), OperationType.DEPLOYMENT)  # type: ignore[arg-type]
    smoke = [c for c in _all(p) if c.text.startswith("dr test smoke")]
    assert len(smoke) == 1
    (cmd,) = smoke
    assert cmd.support == 13 and not cmd.optional
    assert cmd.text == "dr test smoke\n# 2/13 runs add: --env staging"
    assert set(cmd.keys) == {"dr test smoke", "dr test smoke --env staging"}


def test_two_rare_spellings_merge_into_the_shorter() -> None:
    probe = "curl -sS -o /dev/null -w '%{http_code}' 'https://api.example.com/r?limit=20'"
    with_auth = (
        "curl -sS -o /dev/null -w '%{http_code}' -H 'X-Team: ops' "
        "'https://api.example.com/r?limit=20'"
    )
    runs = [
        run("i1", [(with_auth, 1), ("aws lambda get-function-concurrency --function-name w", 1)],
            start=T0),
        run("i2", [(probe, 1), ("aws lambda get-function-concurrency --function-name w", 1)],
            start=T0 + timedelta(days=9)),
    ]  # fmt: skip
    p = mine(runs, OperationType.INCIDENT)
    curl = [c for c in _all(p) if c.text.startswith("curl")]
    assert len(curl) == 1 and curl[0].support == 2
    # every word keeps the quotes it was recorded with (the glob character above all)
    assert curl[0].text == (
        "curl -sS -o /dev/null -w '%{http_code}' 'https://api.example.com/r?limit=20'\n"
        "# 1/2 runs add: -H 'X-Team: ops'"
    )


def test_different_commands_run_together_are_not_variants() -> None:
    runs = [
        run(f"r{i}", [("make test", 5), ("make test --slow", 50), ("make deploy", 9)],
            start=T0 + timedelta(days=i))
        for i in range(3)
    ]  # fmt: skip
    p = mine(runs, OperationType.DEPLOYMENT)
    assert {"make test", "make test --slow"} <= {c.text for c in _all(p)}


def _cmd(text: str, output: str = "", **kw: object) -> Command:
    return Command(text, SourceRef("x.md", 1), output=output, **kw)  # type: ignore[arg-type]


def test_time_reports_are_measured_durations() -> None:
    e = run("t", [("docker build -t a:1 .", 0)], start=T0, timed=False, with_durations=False)
    timed = _cmd(
        "time docker build -t a:1 .", "Successfully built\n\nreal\t2m41.203s\nuser\t0m1.1s"
    )
    e = replace(e, commands=(timed,))
    assert command_durations(e) == [(161.203, False)]


def test_time_then_the_same_command_keeps_the_measured_time() -> None:
    e = run("t", [("x", 0)], start=T0, timed=False, with_durations=False)
    cmds = (
        _cmd("time aws lambda wait function-updated --function-name w", "real\t0m32.0s"),
        _cmd("aws lambda wait function-updated --function-name w"),
    )
    e = replace(e, commands=cmds)
    (occ,) = clean_run(e, normalize).occurrences
    assert occ.duration == 32.0 and not occ.from_gap


def test_a_duration_longer_than_the_run_is_dropped() -> None:
    e = run("t", [("psql -c 'select 1'", 51877), ("make deploy", 5)], start=T0, record_total=True)
    e = replace(e, duration_s=700.0)
    assert command_durations(e)[0][0] is None
    assert command_durations(e)[1][0] == 5.0


def test_a_probe_reporting_a_bad_status_is_not_a_failed_attempt() -> None:
    probe = "curl -sS -o /dev/null -w '%{http_code} %{time_total}' https://api.example.com/r"
    e = run("t", [(probe, 1), ("aws lambda put-function-concurrency --function-name w "
                                "--reserved-concurrent-executions 200", 2), (probe, 1)],
            start=T0)  # fmt: skip
    outputs = ["504 29.031", "{", "200 0.8"]
    e = replace(
        e,
        commands=tuple(
            replace(c, exit_code=None, output=out)
            for c, out in zip(e.commands, outputs, strict=True)
        ),
    )
    kept = [o.command.text for o in clean_run(e, normalize).occurrences]
    assert len(kept) == 3  # the mitigation between the two probes is a step, not a detour


def test_select_with_side_effects_is_not_a_read() -> None:
    assert is_check(normalize("psql -c 'select version_num from alembic_version'"))
    assert not is_check(normalize("psql -c 'select pg_cancel_backend(51877)'"))
    assert not is_check(normalize("psql -c 'SELECT pg_terminate_backend(pid) FROM x'"))


def test_a_detour_in_few_runs_goes_before_real_steps_merge() -> None:
    actions = [
        "git pull --ff-only",
        "npm ci",
        "npm test",
        "npm run build",
        "docker build -t web:latest .",
        "docker push registry.example/web:latest",
        "aws s3 sync dist/ s3://web-prod --delete",
        "aws cloudfront create-invalidation --distribution-id E2ABCDEF --paths /index.html",
        "helm upgrade web charts/web -n web --wait",
        "npx playwright test smoke",
        "gh release create v1 --notes deployed",
    ]
    runs = []
    for i in range(25):
        cmds = [(a, 5) for a in actions]
        if i in (3, 17):
            cmds.insert(6, ("terraform apply -auto-approve", 30))
        runs.append(run(f"r{i}", cmds, start=T0 + timedelta(days=i)))
    p = mine(runs, OperationType.DEPLOYMENT)  # type: ignore[arg-type]
    assert len(p.steps) <= 10
    texts = [c.text for c in _all(p)]
    assert "terraform apply -auto-approve" not in texts  # 2/25: dropped, not merged
    assert all(not s.optional for s in p.steps)
    assert len(texts) == len(actions)


def test_a_failure_undone_by_a_rollback_ends_the_procedure() -> None:
    # A recording without exit codes: the upgrade printed an error and was never retried;
    # a rollback followed. The rollback belongs to Rollback, not to the deploy's steps.
    steps = [
        ("docker push ghcr.io/acme/api:v1.4.2", 20),
        ("helm upgrade api charts/api -n prod --set image.tag=v1.4.2 --wait", 90),
        ("helm rollback api 41 -n prod --wait", 30),
        ("kubectl rollout status deploy/api -n prod", 12),
    ]
    e = run("t", steps, start=T0)
    outputs = ["pushed", "Error: UPGRADE FAILED: timed out waiting for the condition", "", ""]
    e = replace(
        e,
        commands=tuple(
            replace(c, exit_code=None, output=out)
            for c, out in zip(e.commands, outputs, strict=True)
        ),
    )
    cleaned = clean_run(e, normalize)
    assert [o.command.text.split()[:2] for o in cleaned.occurrences] == [
        ["docker", "push"],
        ["helm", "upgrade"],
    ]
    assert cleaned.occurrences[1].command.exit_code == 1
    assert cleaned.detour >= 2


def test_a_rollback_runs_own_failed_revert_is_not_cut() -> None:
    # In a rollback's own run, a failing revert followed by another revert is the procedure.
    steps = [
        ("helm rollback api 41 -n prod --wait", 300, 1, "Error: timed out waiting"),
        ("kubectl rollout undo deploy/api -n prod", 5),
        ("kubectl rollout status deploy/api -n prod", 40),
    ]
    kept = [o.command.text for o in clean_run(run("t", steps, start=T0), normalize).occurrences]
    assert len(kept) == 3


def _history_run(texts: list[str]) -> Execution:
    e = run("h", [(t, 3) for t in texts], start=T0)
    return replace(e, commands=tuple(replace(c, exit_code=None, output="") for c in e.commands))


def test_a_change_typed_again_verbatim_in_a_history_was_a_failed_attempt() -> None:
    push = "docker push 1234.dkr.ecr.us-east-1.amazonaws.com/worker:v2.4.1"
    login = "aws ecr get-login-password | docker login --username AWS --password-stdin 1234.dkr.ecr.us-east-1.amazonaws.com"
    e = _history_run(["docker build -t worker:v2.4.1 .", push, login, push, "terraform apply"])
    kept = [o.command.text for o in clean_run(e, normalize).occurrences]
    assert kept == ["docker build -t worker:v2.4.1 .", push, "terraform apply"]


def test_a_check_the_procedure_runs_before_and_after_is_not_a_retry() -> None:
    version = 'migrate -path db/migrations -database "$DATABASE_URL" version'
    runs = [_history_run([version, f"migrate -path db/migrations up {i}", version]) for i in (1, 2)]
    repeats = usual_repeats(runs, normalize)
    kept = [o.command.text for o in clean_run(runs[0], normalize, repeats).occurrences]
    assert kept.count(version) == 2


def test_an_unknown_change_typed_again_after_a_restart_was_a_retry() -> None:
    swap = "az webapp deployment slot swap -n shop -g rg --slot staging --target-slot production"
    e = _history_run(
        [
            "az account set -s prod",
            swap,
            "az webapp restart -n shop -g rg --slot staging",
            swap,
            "az webapp log tail -n shop -g rg",
        ]
    )
    kept = [o.command.text for o in clean_run(e, normalize).occurrences]
    assert kept == ["az account set -s prod", swap, "az webapp log tail -n shop -g rg"]


def test_a_mistyped_program_corrected_at_once_is_noise_in_a_history() -> None:
    sync = "aws s3 sync dist/ s3://shop-web --delete"
    e = _history_run(
        [
            "npm run build",
            "asw" + sync[3:],
            sync,
            "aws cloudfront create-invalidation --distribution-id E1 --paths '/*'",
        ]
    )
    kept = [o.command.text for o in clean_run(e, normalize).occurrences]
    assert kept == [
        "npm run build",
        sync,
        "aws cloudfront create-invalidation --distribution-id E1 --paths '/*'",
    ]
