"""Observation reader: golden expectations for files written in different styles."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runbook.config import Config
from runbook.model import EvidenceKind, Execution, ObservationMode, Outcome, ParsedFile
from runbook.sources import read_evidence
from runbook.sources.observations import parse

ROOT = Path(__file__).parent / "data" / "sources" / "observations"
OBS = ".claude/observations"


def _read(rel: str, config: Config | None = None) -> ParsedFile:
    got = read_evidence(ROOT / rel, ROOT, EvidenceKind.OBSERVATION, config or Config())
    assert isinstance(got, ParsedFile), got
    return got


def _one(rel: str) -> Execution:
    parsed = _read(rel)
    assert len(parsed.executions) == 1
    return parsed.executions[0]


def test_execution_with_tool_calls_and_commands_executed() -> None:
    rel = f"{OBS}/2025-12-23/execution-143052-deploy-report-worker.md"
    ex = _one(rel)
    assert ex.id == rel
    assert ex.mode is ObservationMode.EXECUTION
    assert ex.title == "Execution: Deploy report_worker to prod"
    assert ex.context == "Deploy report_worker Lambda to prod after merging PR #412"
    assert ex.environment == "prod"
    assert ex.tags == ("deployment", "lambda", "prod")
    assert ex.declared_type == "deployment"
    assert ex.outcome is Outcome.SUCCESS
    assert ex.started_at == datetime(2025, 12, 23, 14, 30, 52)
    assert ex.duration_s == 250.0  # **Time**: 4m 10s
    assert ex.finished_at == datetime(2025, 12, 23, 14, 35, 2)
    got = [
        (c.text.split(" --")[0], c.exit_code, c.duration_s, c.source.line, c.origin)
        for c in ex.commands
    ]
    assert got == [
        ("docker build -t report-worker:1.4.2 .", 0, 72.0, 22, "tool-call"),
        ("aws lambda update-function-code", 0, 3.0, 38, "tool-call"),
        # no **Duration** recorded: the gap to the next tool call (14:32:30 -> 14:34:05)
        ("aws lambda wait function-updated", 0, 95.0, 61, "tool-call"),
        ("curl -sf https://api.example.com/health", 0, None, 72, "tool-call"),
        # only in the Commands Executed list, so kept once, from there
        ("aws logs tail /aws/lambda/report_worker", 0, None, 89, "commands-executed"),
    ]
    # the Read tool call is not a shell command
    assert not any("file_path" in c.text for c in ex.commands)
    assert ex.commands[0].started_at == datetime(2025, 12, 23, 14, 30, 52)
    assert ex.commands[0].output.endswith("Successfully tagged report-worker:1.4.2")
    assert ex.commands[3].outcome_note == "healthy"
    assert ex.expectations == ("health endpoint returns version 1.4.2 within 2 minutes.",)
    assert ex.errors == ()


def test_failure_observation() -> None:
    rel = f"{OBS}/2025-12-23/failure-151210-deploy-lambda-timeout.md"
    ex = _one(rel)
    assert ex.mode is ObservationMode.FAILURE
    assert ex.outcome is Outcome.FAILURE
    assert ex.severity == "high"
    assert ex.resolved is False
    assert ex.environment == "prod"
    # unquoted 15:12:10 is a YAML 1.1 base-60 integer; it still means 15:12:10
    assert ex.started_at == datetime(2025, 12, 23, 15, 12, 10)
    assert ex.finished_at == datetime(2025, 12, 23, 15, 18, 2)
    assert [(c.text.split(" --")[0], c.source.line, c.origin) for c in ex.commands] == [
        ("aws lambda update-function-code", 47, "input-state"),
        ("aws lambda wait function-updated", 48, "input-state"),
    ]
    # the suggested fix under "Possible Fix" is not something that was run
    assert not any("put-function-concurrency" in c.text for c in ex.commands)
    messages = [(e.message.split("\n")[0][:40], e.source.line) for e in ex.errors]
    assert messages == [
        ("Waiter FunctionUpdated failed: Max attem", 25),
        ("Task timed out after 30.00 seconds", 31),
        ("TimeoutError: pool acquire timed out", 40),
    ]
    # the timeline repeats error 1: merged, and its time kept
    assert ex.errors[0].at == datetime(2025, 12, 23, 15, 17, 14)
    assert all(
        e.command == "aws lambda wait function-updated --function-name report_worker"
        for e in ex.errors
    )
    assert any(n.startswith("Symptoms Observed:") for n in ex.notes)
    assert any(n.startswith("Environment Context:") for n in ex.notes)


def test_archive_layout_crlf_broken_yaml_and_list_variants() -> None:
    rel = f"{OBS}/archive/2025-Q3/execution-093000-rollback-api.md"
    parsed = _read(rel)
    (ex,) = parsed.executions
    (diag,) = parsed.diagnostics
    assert diag.source.line == 4 and "invalid YAML front matter" in diag.message
    # the keys still readable line by line are kept
    assert ex.mode is ObservationMode.EXECUTION
    assert ex.started_at == datetime(2025, 8, 14, 9, 30)  # date from YAML + time from file name
    assert ex.declared_type == "rollback"
    assert ex.title == "rollback of api service"
    assert ex.duration_s == 420.0  # **Total time**: ~7 min
    assert [(c.text, c.exit_code, c.outcome_note, c.source.line) for c in ex.commands] == [
        ("kubectl rollout undo deployment/api -n prod", 0, "", 11),
        ("kubectl rollout status deployment/api -n prod --timeout=120s", 1, "timed out", 12),
        ("kubectl rollout status deployment/api -n prod --timeout=300s", 0, "ok", 13),
    ]
    assert ex.outcome is Outcome.SUCCESS  # the last exit code is 0


def test_bom_crlf_json_input_inline_input_and_raw_log() -> None:
    rel = f"{OBS}/2025-12-24/execution-091500-scale-api.md"
    parsed = _read(rel)
    assert parsed.diagnostics == ()
    assert len(parsed.sha256) == 64
    (ex,) = parsed.executions
    assert ex.title == "Scale api to 6 replicas"
    assert ex.declared_type == "scaling"
    assert ex.duration_s == 105.0
    got = [(c.text, c.exit_code, c.started_at, c.duration_s, c.source.line) for c in ex.commands]
    assert got == [
        (
            "kubectl scale deployment/api --replicas=6 -n prod",
            None,
            datetime(2025, 12, 24, 9, 15, 3),
            37.0,
            15,
        ),
        (
            "kubectl rollout status deployment/api -n prod",
            0,
            datetime(2025, 12, 24, 9, 15, 40),
            38.5,
            25,
        ),
        ("kubectl get hpa api -n prod", None, None, None, 45),
    ]
    # the raw log enriches the tool call it repeats with its output
    assert "successfully rolled out" in ex.commands[1].output
    assert ex.outcome is Outcome.SUCCESS


def test_filename_only_and_retries_counted_pairwise() -> None:
    text = "\n".join(
        [
            "# deploy web",
            "",
            "## Tool Calls",
            "",
            "### Bash - 10:00:00",
            "**Input**:",
            "```bash",
            "npm run deploy",
            "```",
            "**Output**:",
            "```",
            "Error: ETIMEDOUT connecting to registry",
            "exit code 1",
            "```",
            "",
            "### Bash - 10:02:00",
            "**Input**:",
            "```bash",
            "npm run deploy",
            "```",
            "**Exit Code**: 0",
            "",
            "## Side Effects",
            "",
            "**Commands Executed**:",
            "- npm run deploy - 1 - failed",
            "- npm run deploy - 0 - success",
            "- echo done - deploy - ok - 0 - success",
        ]
    )
    rel = ".claude/observations/2026-01-05/execution-100000-deploy-web.md"
    parsed = parse(text, rel, Config())
    (ex,) = parsed.executions
    assert ex.started_at == datetime(2026, 1, 5, 10, 0)
    assert [(c.text, c.exit_code, c.outcome_note) for c in ex.commands] == [
        ("npm run deploy", 1, "failed"),
        ("npm run deploy", 0, "success"),
        ("echo done - deploy - ok", 0, "success"),
    ]
    assert ex.commands[0].duration_s == 120.0
    assert [(e.message, e.command, e.source.line) for e in ex.errors] == [
        ("Error: ETIMEDOUT connecting to registry", "npm run deploy", 8)
    ]
    assert ex.outcome is Outcome.SUCCESS


def test_behavior_without_commands_is_unknown() -> None:
    text = "---\nmode: behavior\ndate: 2026-01-06\n---\n# Latency creeps up under load\n\nObserved p99 rising.\n"
    (ex,) = parse(
        text, ".claude/observations/2026-01-06/behavior-120000-latency.md", Config()
    ).executions
    assert ex.mode is ObservationMode.BEHAVIOR
    assert ex.outcome is Outcome.UNKNOWN
    assert ex.commands == ()
    assert ex.started_at == datetime(2026, 1, 6, 12, 0)


def test_front_matter_outcome_wins_over_exit_codes() -> None:
    text = (
        "---\nmode: execution\nstatus: rolled back\n---\n## Commands Executed\n\n"
        "- `terraform apply -auto-approve` - exit 0 - applied\n"
    )
    (ex,) = parse(text, "x/execution-080000-infra.md", Config()).executions
    assert ex.outcome is Outcome.FAILURE
    assert ex.commands[0].text == "terraform apply -auto-approve"


SECTION_WORDS = st.sampled_from(
    [
        "## Tool Calls\n",
        "### Bash - 14:30:52\n",
        "**Input**:\n",
        "**Output**:\n",
        "```bash\n",
        "```\n",
        "**Duration**: 2m\n",
        "**Commands Executed**:\n",
        "- `ls` - 0 - ok\n",
        "- x - - -\n",
        "## Timeline\n",
        "- 23:59:59 Error: boom\n",
        "---\n",
        "mode: failure\n",
        "$ kubectl get pods\n",
        "## Error Messages\n",
        "\r\n",
        "cat <<EOF\n",
    ]
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(SECTION_WORDS, st.text(max_size=30)), max_size=25))
def test_reader_never_raises(parts: list[str]) -> None:
    text = "".join(parts)
    parsed = parse(text, ".claude/observations/2025-01-01/execution-000000-x.md", Config())
    assert len(parsed.executions) == 1
    n = len(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    for cmd in parsed.executions[0].commands:
        assert 1 <= cmd.source.line <= n


def test_timeline_times_list_commands() -> None:
    text = "\n".join(
        [
            "---",
            "mode: execution",
            "date: 2025-11-06",
            'time: "02:21:47"',
            "---",
            "# Rollback api",
            "",
            "**Commands Executed**:",
            "- `aws logs tail /aws/lambda/api --since 15m` - 0 - TypeError in schedules.py",
            "- `aws lambda update-function-code --function-name api --image-uri repo/api:1.2` - 0 - ok",
            "- `aws lambda wait function-updated --function-name api` - 0 - ok",
            "- `curl -fsS https://api.example.com/health` - 0 - 1.2",
            "",
            "## Timeline",
            "",
            "- 02:22:09 logs: TypeError in schedules.py",
            "- 02:22:32 update-function-code",
            "- 02:23:59 health ok",
            "- 02:24:30 done",
        ]
    )
    (ex,) = parse(
        text, ".claude/observations/2025-11-06/execution-022147-rollback-api.md", Config()
    ).executions
    got = [(c.text.split(" --")[0], c.started_at, c.duration_s) for c in ex.commands]
    assert got == [
        ("aws logs tail /aws/lambda/api", datetime(2025, 11, 6, 2, 22, 9), 23.0),
        # the wait in between has no time: the 87 s gap is not this command's duration
        ("aws lambda update-function-code", datetime(2025, 11, 6, 2, 22, 32), None),
        ("aws lambda wait function-updated", None, None),
        ("curl -fsS https://api.example.com/health", datetime(2025, 11, 6, 2, 23, 59), None),
    ]
    assert ex.finished_at == datetime(2025, 11, 6, 2, 24, 30)
    assert [e.message for e in ex.errors] == ["logs: TypeError in schedules.py"]


def test_loose_list_items_table_and_aware_timestamp() -> None:
    rel = f"{OBS}/2026-01-12/execution-201500-db-migration-orders.md"
    ex = _one(rel)
    assert ex.mode is ObservationMode.EXECUTION  # "mode: Execution"
    assert ex.declared_type == "migration"  # "operation: database migration"
    assert ex.environment == "staging"  # "env: stg"
    assert ex.owner == "ops-team"
    assert ex.outcome is Outcome.SUCCESS  # "outcome: succeeded"
    assert ex.started_at == datetime(2026, 1, 12, 19, 15)  # +01:00 converted to UTC
    assert ex.duration_s == 150.0  # "2 minutes 30 seconds"
    got = [
        (c.text, c.source.line, c.exit_code, c.started_at, c.duration_s, c.outcome_note)
        for c in ex.commands
    ]
    assert got == [
        (
            "pg_dump -Fc -f /backups/orders-v41.dump orders",
            14,
            0,
            datetime(2026, 1, 12, 19, 15, 4),
            48.0,
            "exit 0 (48s)",
        ),
        ("alembic upgrade head", 15, 0, datetime(2026, 1, 12, 19, 16), 65.0, "exit 0 (1m 5s)"),
        (
            'psql -c "select count(*) from orders where region is null"',
            22,
            0,
            None,
            None,
            "0 rows",
        ),
        ("alembic current", 23, 0, None, None, "42 (head)"),
    ]
    # "3. Checked the dashboards, all green." is prose, not a command
    assert len(ex.commands) == 4


def test_echo_status_gives_the_previous_exit_code() -> None:
    text = "\n".join(
        [
            "---",
            "mode: execution",
            "date: 2025-02-01",
            "---",
            "## Raw Log",
            "```console",
            "$ terraform apply -auto-approve",
            "Error: Error acquiring the state lock",
            "$ echo $?",
            "1",
            "$ terraform force-unlock -force 6f1d2c3b",
            "Terraform state has been successfully unlocked!",
            "$ terraform apply -auto-approve",
            "Apply complete! Resources: 0 added, 1 changed, 0 destroyed.",
            "$ echo $?",
            "0",
            "```",
        ]
    )
    (ex,) = parse(
        text, ".claude/observations/2025-02-01/execution-090000-infra.md", Config()
    ).executions
    assert [(c.text, c.exit_code, c.source.line) for c in ex.commands] == [
        ("terraform apply -auto-approve", 1, 7),
        ("terraform force-unlock -force 6f1d2c3b", None, 11),
        ("terraform apply -auto-approve", 0, 13),
    ]
    assert ex.outcome is Outcome.SUCCESS
    assert [e.message for e in ex.errors] == ["Error: Error acquiring the state lock"]


def test_tool_blocks_with_command_label_and_time_of_day() -> None:
    text = "\n".join(
        [
            "---",
            "mode: execution",
            "date: 2025-05-05",
            "---",
            "## Tool Calls",
            "### Bash",
            "**Time**: 14:30:52",
            "**Command**: `systemctl restart nginx`",
            "**Exit code**: 0",
            "### Bash",
            "**Time**: 14:31:02",
            "**Command**:",
            "```bash",
            "curl -fsS localhost/health",
            "```",
            "**Output** (trimmed):",
            "```",
            "ok",
            "```",
            "**Time taken**: 00:00:02",
        ]
    )
    (ex,) = parse(text, "x/execution-143052-restart.md", Config()).executions
    got = [
        (c.text, c.source.line, c.started_at, c.duration_s, c.exit_code, c.output)
        for c in ex.commands
    ]
    assert got == [
        ("systemctl restart nginx", 8, datetime(2025, 5, 5, 14, 30, 52), 10.0, 0, ""),
        ("curl -fsS localhost/health", 14, datetime(2025, 5, 5, 14, 31, 2), 2.0, None, "ok"),
    ]


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("14:30", time(14, 30)),
        ("14:30:52", time(14, 30, 52)),
        ('"09:05:00"', time(9, 5)),
        ("143052", time(14, 30, 52)),
    ],
)
def test_front_matter_time_forms(written: str, expected: time) -> None:
    text = f"---\nmode: execution\ndate: 2025-01-02\ntime: {written}\n---\n# x\n"
    (ex,) = parse(
        text, ".claude/observations/2025-01-02/execution-000000-x.md", Config()
    ).executions
    assert ex.started_at == datetime.combine(date(2025, 1, 2), expected)
