"""CI records: GitHub Actions workflows and run logs, GitLab CI job logs."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from runbook.config import Config
from runbook.model import EvidenceKind, Execution, Outcome, ParsedFile
from runbook.sources import read_evidence
from runbook.sources.github_actions import parse, parse_log, parse_workflow

ROOT = Path(__file__).parent / "data" / "machine" / "ci"


def _read(rel: str, kind: EvidenceKind) -> ParsedFile:
    parsed = read_evidence(ROOT / rel, ROOT, kind, Config())
    assert isinstance(parsed, ParsedFile), parsed
    assert parsed.kind is kind and parsed.path == rel
    return parsed


def _one(parsed: ParsedFile) -> Execution:
    assert len(parsed.executions) == 1, parsed.diagnostics
    return parsed.executions[0]


def test_workflow_is_a_procedure_template_in_needs_order() -> None:
    run = _one(_read(".github/workflows/deploy.yml", EvidenceKind.CI_WORKFLOW))
    assert run.kind is EvidenceKind.CI_WORKFLOW
    assert run.outcome is Outcome.UNKNOWN and "workflow" in run.tags
    assert run.title == "Deploy checkout" and run.context == "on: push, workflow_dispatch"
    assert run.environment == "prod" and run.declared_type == "deployment"
    texts = [c.text for c in run.commands]
    # test -> build -> deploy although deploy is written before build
    # runner setup actions are notes, not commands; other actions are commands
    assert texts == [
        "pip install -r requirements.txt",
        "pytest -q tests/",
        "docker buildx build --push -t "
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/checkout:${{ github.sha }} .",
        "helm upgrade checkout charts/checkout --namespace checkout "
        "--set image.tag=${{ github.sha }} --wait --timeout 5m",
        "kubectl rollout status deploy/checkout -n checkout --timeout=300s",
        "curl -fsS https://checkout.example.com/healthz",
        "uses: slackapi/slack-github-action@v1.27.0",
    ]
    assert run.commands[-1].origin == "uses" and run.commands[-1].source.line == 52
    assert (
        "runner setup: actions/checkout@v4, actions/setup-python@v5, "
        "aws-actions/configure-aws-credentials@v4" in run.notes
    )
    lines = {c.text.split()[0]: c.source.line for c in run.commands}
    assert lines["pip"] == 26 and lines["helm"] == 42 and lines["kubectl"] == 46
    assert lines["curl"] == 49
    assert (
        "job deploy; environment production; if: github.ref == 'refs/heads/main'; needs build"
        in run.notes
    )
    assert "step Smoke test (deploy) if: success()" in run.notes


def test_gh_run_view_log_with_failing_step() -> None:
    parsed = _read("logs/run-4242-deploy-failed.log", EvidenceKind.CI_LOG)
    run = _one(parsed)
    assert run.id == "logs/run-4242-deploy-failed.log"
    assert run.outcome is Outcome.FAILURE and run.declared_type == "deployment"
    assert run.started_at == datetime(2025, 3, 4, 10, 0, 1, 123456)
    assert run.finished_at == datetime(2025, 3, 4, 10, 7, 12)
    texts = [c.text for c in run.commands]
    assert texts == [
        "pip install -r requirements.txt",
        "pytest -q tests/",
        "helm upgrade checkout charts/checkout --namespace checkout --set image.tag=3f9c2e1 "
        "--wait --timeout 5m",
        "kubectl rollout status deploy/checkout -n checkout --timeout=300s",
    ]
    helm, rollout = run.commands[2], run.commands[3]
    assert helm.started_at == datetime(2025, 3, 4, 10, 2, 8) and helm.exit_code == 0
    assert helm.source.line == 30
    assert rollout.exit_code == 1
    assert "Waiting for deployment" in rollout.output
    assert [e.message for e in run.errors] == [
        "error: timed out waiting for the condition",
        "Process completed with exit code 1.",
    ]
    assert run.errors[0].command == rollout.text
    assert run.errors[1].source.line == 43
    assert "step deploy / Deploy to production: 303s, exit 1" in run.notes
    assert "step test / Unit tests: 56s" in run.notes
    # green output mentioning "0 errors" is not an error
    assert all("passed" not in e.message for e in run.errors)


def test_raw_job_log_with_crlf_and_single_command_durations() -> None:
    run = _one(_read("logs/2_deploy.txt", EvidenceKind.CI_LOG))
    assert run.outcome is Outcome.SUCCESS and run.errors == ()
    assert [c.text for c in run.commands] == [
        "helm upgrade checkout charts/checkout --namespace checkout --set image.tag=8d1e0aa "
        "--wait --timeout 5m",
        "kubectl rollout status deploy/checkout -n checkout --timeout=300s",
        "curl -fsS https://checkout.example.com/healthz",
    ]
    assert all(c.exit_code == 0 for c in run.commands)
    curl = run.commands[-1]
    assert curl.started_at == datetime(2025, 3, 5, 9, 1, 46) and curl.duration_s == 2.0
    assert curl.output == '{"status":"ok"}'
    assert "step helm upgrade checkout charts/checkout: 101s" in run.notes


def test_gitlab_job_log_sections_and_failure() -> None:
    run = _one(_read("logs/gitlab-job-7781.log", EvidenceKind.CI_LOG))
    assert run.tags == ("ci", "gitlab-ci") and run.outcome is Outcome.FAILURE
    assert run.started_at == datetime(2025, 3, 5, 9, 0, 0)
    assert run.duration_s == 619.0
    assert [(c.text, c.exit_code) for c in run.commands] == [
        ("helm dependency build charts/api", 0),
        (
            "helm upgrade --install api charts/api -n api --set image.tag=v3.2.0 --atomic "
            "--timeout 10m",
            1,
        ),
        ("kubectl get pods -n api", 0),
    ]
    assert run.commands[0].started_at == datetime(2025, 3, 5, 9, 0, 9)
    assert run.commands[2].duration_s == 3.0
    assert run.errors[0].message.startswith("Error: UPGRADE FAILED")
    assert run.errors[-1].message == "ERROR: Job failed: exit code 1"
    assert "step step_script: 606s, exit 1" in run.notes


def test_gitlab_timestamped_lines_give_per_command_durations() -> None:
    text = (
        "Running with gitlab-runner 17.2.0 (9d5a2c7b)\n"
        "2025-03-06T08:00:00.100000Z 00O section_start:1741248000:step_script\n"
        "2025-03-06T08:00:00.200000Z 00O+\x1b[0K\x1b[32;1m$ ./scripts/migrate.sh up\x1b[0;m\n"
        "2025-03-06T08:00:30.000000Z 01O applied 3 migrations\n"
        "2025-03-06T08:00:31.200000Z 00O \x1b[32;1m$ ./scripts/smoke.sh\x1b[0;m\n"
        "2025-03-06T08:00:36.200000Z 01O ok\n"
        "2025-03-06T08:00:37.000000Z 00O section_end:1741248037:step_script\n"
        "2025-03-06T08:00:37.100000Z 00O Job succeeded\n"
    )
    run = _one(parse_log(text, "job.log", Config()))
    assert run.outcome is Outcome.SUCCESS
    migrate, smoke = run.commands
    assert migrate.text == "./scripts/migrate.sh up" and migrate.duration_s == 31.0
    assert smoke.started_at == datetime(2025, 3, 6, 8, 0, 31, 200000)
    assert smoke.duration_s is not None and abs(smoke.duration_s - 5.8) < 1e-6
    assert migrate.output == "applied 3 migrations"


def test_secrets_in_logs_are_redacted_and_masks_kept(tmp_path: Path) -> None:
    log = tmp_path / "ci-logs" / "run.log"
    log.parent.mkdir()
    log.write_text(
        "2025-01-02T03:04:05.0000000Z ##[group]Run ./deploy.sh\n"
        "2025-01-02T03:04:05.0000001Z \x1b[36;1mexport GITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789\x1b[0m\n"
        "2025-01-02T03:04:05.0000002Z \x1b[36;1m./deploy.sh --password=*** prod\x1b[0m\n"
        "2025-01-02T03:04:05.0000003Z shell: /usr/bin/bash -e {0}\n"
        "2025-01-02T03:04:05.0000004Z ##[endgroup]\n"
        "2025-01-02T03:04:09.0000000Z done\n",
        encoding="utf-8",
    )
    parsed = read_evidence(log, tmp_path, EvidenceKind.CI_LOG, Config())
    assert isinstance(parsed, ParsedFile)
    run = _one(parsed)
    assert "ghp_" not in repr(run) and parsed.redactions >= 1
    assert run.commands[1].text == "./deploy.sh --password=*** prod"


def test_bad_inputs_give_diagnostics() -> None:
    bad = parse_workflow("jobs:\n  build:\n    steps: [\n", "w.yml", Config())
    assert bad.executions == () and bad.diagnostics[0].message.startswith("invalid YAML")
    assert bad.diagnostics[0].source.line > 0
    nojobs = parse_workflow("name: x\non: push\n", "w.yml", Config())
    assert "no `jobs:`" in nojobs.diagnostics[0].message
    noise = parse_log("hello\nworld\n", "x.log", Config())
    assert noise.executions == () and "no CI steps" in noise.diagnostics[0].message
    truncated = parse_log(
        "build\tRun make\t2025-01-02T03:04:05.0000000Z ##[group]Run make\n"
        "build\tRun make\t2025-01-02T03:04:05.0000001Z \x1b[36;1mmake deploy\x1b[0m\n"
        "build\tRun make\t2025-01-02T03:0",
        "t.log",
        Config(),
    )
    assert [c.text for c in _one(truncated).commands] == ["make deploy"]


def test_parse_dispatches_on_content() -> None:
    wf = parse("on: push\njobs:\n  a:\n    steps:\n      - run: make deploy\n", "w.yml", Config())
    assert wf.kind is EvidenceKind.CI_WORKFLOW
    assert [c.text for c in _one(wf).commands] == ["make deploy"]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text(alphabet=st.sampled_from(list("#[]group\t:$ +\x1bZ0123456789-")), max_size=40),
            st.sampled_from(
                [
                    "j\ts\t2025-01-02T03:04:05.1Z ##[group]Run x",
                    "2025-01-02T03:04:05.1Z \x1b[36;1mkubectl apply -f k\x1b[0m",
                    "##[endgroup]",
                    "##[error]Process completed with exit code 2.",
                    "section_start:1741248000:step_script",
                    "$ helm upgrade a b",
                    "section_end:1741248037:step_script",
                    "ERROR: Job failed: exit code 1",
                    "shell: /usr/bin/bash -e {0}",
                ]
            ),
        ),
        max_size=30,
    )
)
def test_fuzz_never_crashes(lines: list[str]) -> None:
    text = "\n".join(lines)
    for pf in (parse_log(text, "l", Config()), parse_workflow(text, "w.yml", Config())):
        for e in pf.executions:
            assert e.source.path in ("l", "w.yml")


def test_xtrace_lines_time_each_command_of_a_run_step() -> None:
    text = (
        "2025-01-02T03:04:00.0000000Z ##[group]Run set -x\n"
        "2025-01-02T03:04:00.0000001Z \x1b[36;1mset -x\x1b[0m\n"
        "2025-01-02T03:04:00.0000002Z \x1b[36;1maws ecs update-service --cluster prod --service api --force-new-deployment\x1b[0m\n"
        "2025-01-02T03:04:00.0000003Z \x1b[36;1maws ecs wait services-stable --cluster prod --services api\x1b[0m\n"
        "2025-01-02T03:04:00.0000004Z shell: /usr/bin/bash -e {0}\n"
        "2025-01-02T03:04:00.0000005Z ##[endgroup]\n"
        "2025-01-02T03:04:01.0000000Z + aws ecs update-service --cluster prod --service api --force-new-deployment\n"
        '2025-01-02T03:04:03.0000000Z {"service": {"status": "ACTIVE"}}\n'
        "2025-01-02T03:04:04.0000000Z + aws ecs wait services-stable --cluster prod --services api\n"
        "2025-01-02T03:07:04.0000000Z + echo done\n"
        "2025-01-02T03:07:05.0000000Z Post job cleanup.\n"
    )
    run = _one(parse_log(text, "x.log", Config()))
    setx, update, wait = run.commands
    assert setx.text == "set -x" and setx.started_at == datetime(2025, 1, 2, 3, 4, 0)
    assert update.started_at == datetime(2025, 1, 2, 3, 4, 1) and update.duration_s == 3.0
    assert update.output == '{"service": {"status": "ACTIVE"}}'
    assert wait.duration_s == 181.0  # to the step's end: the next step starts at 03:07:05
    assert run.outcome is Outcome.SUCCESS


def test_jenkins_console_log() -> None:
    text = (
        "Started by user ana\n"
        "[Pipeline] Start of Pipeline\n"
        "[Pipeline] { (Deploy)\n"
        "[2025-02-01T10:00:00.000Z] + helm upgrade api charts/api --atomic\n"
        "[2025-02-01T10:02:00.000Z] Error: UPGRADE FAILED: timed out waiting for the condition\n"
        "[2025-02-01T10:02:00.100Z] ERROR: script returned exit code 1\n"
        "[Pipeline] }\n"
        "Finished: FAILURE\n"
    )
    run = _one(parse_log(text, "jenkins.log", Config()))
    assert run.tags == ("ci", "jenkins") and run.outcome is Outcome.FAILURE
    (helm,) = run.commands
    assert helm.text == "helm upgrade api charts/api --atomic" and helm.exit_code == 1
    assert helm.started_at == datetime(2025, 2, 1, 10, 0, 0)
    assert run.errors[0].message.startswith("Error: UPGRADE FAILED")


def test_step_names_stand_in_when_the_script_echo_is_missing() -> None:
    text = (
        "deploy\tRun ./scripts/deploy.sh production\t2025-01-02T03:04:05.0000000Z deploying...\n"
        "deploy\tRun ./scripts/deploy.sh production\t2025-01-02T03:05:05.0000000Z done\n"
        "deploy\tRun actions/checkout@v4\t2025-01-02T03:05:06.0000000Z Syncing\n"
        "deploy\tRun azure/webapps-deploy@v3\t2025-01-02T03:05:10.0000000Z Package deployed\n"
        "deploy\tComplete job\t2025-01-02T03:05:20.0000000Z Cleaning up orphan processes\n"
    )
    run = _one(parse_log(text, "x.log", Config()))
    assert [(c.text, c.origin, c.duration_s) for c in run.commands] == [
        ("./scripts/deploy.sh production", "ci-step-name", 61.0),
        ("uses: azure/webapps-deploy@v3", "uses", 10.0),
    ]
