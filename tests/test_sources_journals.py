"""Journal reader: error journals in several styles, process journals with a run."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from runbook.config import Config
from runbook.model import EvidenceKind, Journal, Outcome, ParsedFile
from runbook.sources import read_evidence
from runbook.sources.journals import parse

ROOT = Path(__file__).parent / "data" / "sources" / "journals"
J = ".claude/journals"


def _read(rel: str) -> ParsedFile:
    got = read_evidence(ROOT / rel, ROOT, EvidenceKind.JOURNAL, Config())
    assert isinstance(got, ParsedFile), got
    return got


def _journal(rel: str) -> Journal:
    (journal,) = _read(rel).journals
    return journal


def test_error_journal_with_heading_variants() -> None:
    rel = f"{J}/error/2025-11-02-api-timeout-lambda-throttle.md"
    parsed = _read(rel)
    assert parsed.executions == ()  # an error journal describes, it is not a run
    (j,) = parsed.journals
    assert (j.category, j.date, j.resolved, j.severity, j.environment) == (
        "error",
        date(2025, 11, 2),
        True,
        "high",
        "prod",
    )
    assert j.tags == ("api-timeout", "lambda", "throttling")
    assert j.symptoms == (
        "Customers saw 504s on `POST /checkout` for about 25 minutes.",
        "API Gateway `5XXError` spiked to 300/min",
        "Error: Lambda throttled at reserved concurrency 25",
    )
    assert j.error_messages == (
        "Error: Lambda throttled at reserved concurrency 25",
        '{"message": "Endpoint request timed out"}',
        "botocore.errorfactory.TooManyRequestsException: An error occurred "
        "(TooManyRequestsException) when calling the Invoke operation: Rate Exceeded.",
    )
    # "Root cause analysis" is the root cause, not the investigation
    assert j.root_cause.startswith("Reserved concurrency was copied from staging")
    # "What fixed it": a backticked command in a step and a "$ " line; "live" is not a command
    assert [(c.text, c.source.line, c.origin) for c in j.solution_commands] == [
        (
            "aws lambda put-function-concurrency --function-name checkout "
            "--reserved-concurrent-executions 150",
            38,
            "inline",
        ),
        ("aws lambda get-function-concurrency --function-name checkout", 41, "prompt"),
    ]
    assert [c.source.line for c in j.verification_commands] == [45]
    assert j.verification_commands[0].text.startswith("aws cloudwatch get-metric-statistics")
    assert "Sum = 0" in j.verification
    assert j.prevention.startswith("- Alarm on Throttles > 0 for 3 minutes.")
    assert "Digging in" not in j.root_cause
    assert any(n.startswith("Links:") for n in j.notes)


def test_no_front_matter_crlf_indented_code_and_plural_folder() -> None:
    j = _journal(f"{J}/errors/2025-11-03-ecr-denied.md")
    assert j.category == "error"  # from the folder "errors"
    assert j.date == date(2025, 11, 3)  # from the file name
    assert j.title == "ECR push denied during release"
    assert j.error_messages == (
        "denied: Your authorization token has expired. Reauthenticate and try again.",
    )
    assert j.root_cause == "The ECR login token (12 h) was obtained the evening before."
    assert [(c.text.split()[0:2], c.source.line) for c in j.solution_commands] == [
        (["aws", "ecr"], 16),
        (["docker", "push"], 17),
    ]
    assert j.prevention == "Log in right before pushing."


def test_labels_instead_of_headings_and_broken_yaml() -> None:
    parsed = _read(f"{J}/error/2025-11-05-too-many-connections.md")
    (diag,) = parsed.diagnostics
    assert "invalid YAML front matter" in diag.message
    (j,) = parsed.journals
    assert j.date == date(2025, 11, 5)
    assert j.error_messages == ("ERROR 1040 (08004): Too many connections",)
    assert j.root_cause == "pool size 50 x 12 pods > max_connections 500"
    assert j.solution == "lowered pool size to 20 and restarted"
    assert [c.text for c in j.solution_commands] == [
        "kubectl set env deployment/app DB_POOL_SIZE=20 -n prod",
        "kubectl rollout restart deployment/app -n prod",
    ]
    assert j.prevention == "connection math in every scaling PR"


def test_process_journal_yields_an_execution() -> None:
    parsed = _read(f"{J}/process/2025-11-04-deployment-web.md")
    (j,) = parsed.journals
    assert j.category == "process"
    (ex,) = parsed.executions
    assert ex.kind is EvidenceKind.JOURNAL
    assert ex.declared_type == "deployment"
    assert ex.environment == "staging"
    assert ex.outcome is Outcome.SUCCESS  # **Result**: success
    assert ex.started_at == datetime(2025, 11, 4, 16, 1, 10)
    assert ex.finished_at == datetime(2025, 11, 4, 16, 4, 30)
    got = [(c.text.split(" --")[0], c.cwd, c.started_at, c.duration_s) for c in ex.commands]
    assert got == [
        ("npm ci", "~/web", datetime(2025, 11, 4, 16, 1, 10), 41.0),  # "(41s)" in the table
        ("npm run build", "~/web", datetime(2025, 11, 4, 16, 1, 55), 45.0),
        (
            "aws s3 sync dist/ s3://web-staging-assets",
            "~/web",
            datetime(2025, 11, 4, 16, 2, 40),
            25.0,
        ),
        ("aws cloudfront create-invalidation", "~/web", datetime(2025, 11, 4, 16, 3, 5), None),
    ]
    assert ex.commands[1].output.endswith("built in 38.20s")


def test_pattern_journal_is_not_a_run() -> None:
    parsed = _read(f"{J}/pattern/2025-10-01-blue-green.md")
    assert parsed.executions == ()
    assert parsed.journals[0].category == "pattern"


JOURNAL_PARTS = st.sampled_from(
    [
        "---\n",
        "category: error\n",
        "## Symptoms\n",
        "## Root cause analysis\n",
        "## Solution\n",
        "**Verification**:\n",
        "**Fix**: restart\n",
        "```bash\n",
        "```\n",
        "$ kubectl get pods\n",
        "- `Error: boom`\n",
        "1. Run `kubectl rollout restart deploy/x`\n",
        "    indented code\n",
        "\r\n",
    ]
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(JOURNAL_PARTS, st.text(max_size=30)), max_size=25))
def test_reader_never_raises(parts: list[str]) -> None:
    text = "".join(parts)
    parsed = parse(text, ".claude/journals/process/2025-01-01-deployment-x.md", Config())
    assert len(parsed.journals) == 1
    n = len(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    for cmd in parsed.journals[0].solution_commands + parsed.journals[0].verification_commands:
        assert 1 <= cmd.source.line <= n


def test_a_title_that_starts_with_a_section_word_is_still_the_title() -> None:
    # "# Investigation ..." / "# Analysis failed ..." is what happened, not the Investigation
    # section: the sections below it must still be read.
    text = """---
category: error
date: 2025-07-25
---

# Investigation of the stuck Nomad allocation on worker-3

## What we saw

Allocation 5f2c stayed in `pending`; `nomad alloc status 5f2c` printed:

```
Placement Failure: Resources exhausted on 3 nodes
```

## Root cause

The job asked for 4 GB while the pool had 3.5 GB free per client.

## Fix

```bash
nomad job scale batch-export worker 2
nomad job status batch-export
```
"""
    pf = parse(text, ".claude/journals/error/2025-07-25-nomad-pending.md", Config())
    [j] = pf.journals
    assert j.root_cause.startswith("The job asked for 4 GB")
    assert j.solution_commands[0].text == "nomad job scale batch-export worker 2"
