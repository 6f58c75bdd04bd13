"""Notes reader: session reports, multi-session logs, hand-written guides."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from runbook.config import Config
from runbook.model import EvidenceKind, Outcome, ParsedFile
from runbook.sources import read_evidence
from runbook.sources.notes import parse

ROOT = Path(__file__).parent / "data" / "sources" / "notes"


def _read(rel: str) -> ParsedFile:
    got = read_evidence(ROOT / rel, ROOT, EvidenceKind.NOTES, Config())
    assert isinstance(got, ParsedFile), got
    return got


def test_bug_hunt_prompts_errors_and_expectations() -> None:
    (ex,) = _read("docs/ops/bug-hunt-2025-10-05.md").executions
    assert ex.kind is EvidenceKind.NOTES
    assert ex.title == "Bug hunt: worker pods crash-looping in staging"
    assert ex.environment == "staging"  # "Operator: priya · Env: staging"
    assert ex.owner == "priya"
    assert ex.started_at == datetime(2025, 10, 5)  # the date in the file name
    assert ex.duration_s == 1500.0  # "Took about 25 minutes in total."
    assert "guide" not in ex.tags
    assert [(c.text, c.source.line, c.origin) for c in ex.commands] == [
        ("kubectl get pods -n staging -l app=worker", 7, "prompt"),
        ("kubectl logs worker-5f7d9c-abcde -n staging --previous", 11, "prompt"),
        ("docker build -t registry.example.com/worker:0.9.4 .", 21, "fence"),
        ("docker push registry.example.com/worker:0.9.4", 22, "fence"),
        (
            "kubectl set image deployment/worker worker=registry.example.com/worker:0.9.4 -n staging",
            23,
            "fence",
        ),
        ("kubectl rollout status deployment/worker -n staging", 24, "fence"),
    ]
    assert ex.commands[0].output.endswith("CrashLoopBackOff   6")
    assert [(e.message, e.source.line) for e in ex.errors] == [
        ("Error: image built without the redis extra", 16),
        ("ModuleNotFoundError: No module named 'redis'", 11),
    ]
    assert ex.expectations == ('`deployment "worker" successfully rolled out`',)
    assert ex.outcome is Outcome.UNKNOWN


def test_guide_is_tagged_and_not_a_run() -> None:
    (ex,) = _read("docs/runbooks/deploy-frontend.md").executions
    assert ex.tags == ("guide",)
    assert ex.outcome is Outcome.UNKNOWN
    assert ex.started_at is None
    assert ex.declared_type == "deployment"
    assert [c.text for c in ex.commands] == [
        "npm ci && npm run build",
        "aws s3 sync dist/ s3://web-prod-assets --delete",
        'aws cloudfront create-invalidation --distribution-id "$DIST_ID" --paths "/*"',
    ]
    assert [c.source.line for c in ex.commands] == [10, 16, 17]


def test_one_execution_per_dated_session() -> None:
    rel = "ops-notes/db-migrations-log.md"
    first, second = _read(rel).executions
    assert (first.id, second.id) == (f"{rel}#1", f"{rel}#2")
    assert first.title == "2025-03-02 migrate orders to v42 (failed)"
    assert first.source.line == 5
    assert first.declared_type == second.declared_type == "migration"
    assert first.outcome is Outcome.FAILURE  # "(failed)" in the session heading
    assert second.outcome is Outcome.SUCCESS  # "Result: migrated, no errors."
    assert [(c.text.split(" -")[0], c.started_at) for c in first.commands] == [
        ("pg_dump", datetime(2025, 3, 2, 22, 0)),  # from the table row "22:00 | pg_dump started"
        ("alembic upgrade head", datetime(2025, 3, 2, 22, 7)),
    ]
    assert [e.message for e in first.errors] == [
        "ERROR: lock timeout on table orders",
        "sqlalchemy.exc.OperationalError: (psycopg2.errors.LockNotAvailable) canceling statement "
        "due to lock timeout",
    ]
    assert first.errors[0].at == datetime(2025, 3, 2, 22, 9)
    got = [(c.text.split(" -")[0], c.started_at, c.duration_s) for c in second.commands]
    assert got == [
        ("kubectl scale deployment/order-worker", datetime(2025, 3, 9, 21, 58, 30), 40.0),
        ("pg_dump", datetime(2025, 3, 9, 21, 59, 10), 380.0),  # "(6m 20s)"
        ("alembic upgrade head", datetime(2025, 3, 9, 22, 5, 40), 35.0),
        ("kubectl scale deployment/order-worker", datetime(2025, 3, 9, 22, 6, 15), None),
    ]
    assert second.finished_at == datetime(2025, 3, 9, 22, 7)


def test_session_report_timeline_fence_matches_transcript_commands() -> None:
    # written by another author (copied from the bundled examples)
    (ex,) = _read("docs/ops/sessions/2025-11-20-report-worker-prod-deploy.md").executions
    assert ex.environment == "prod"
    assert ex.outcome is Outcome.SUCCESS  # "**Result**: deployed, ok"
    assert ex.started_at == datetime(2025, 11, 20, 9, 14, 2)
    assert ex.finished_at == datetime(2025, 11, 20, 9, 23)
    timed = {
        c.text.split()[0:2][1]: c.duration_s for c in ex.commands if c.text.startswith("docker")
    }
    assert timed["build"] == 174.0  # "docker build (2m 54s)"
    pushes = [c for c in ex.commands if c.text.startswith("docker push")]
    assert [p.started_at for p in pushes] == [
        datetime(2025, 11, 20, 9, 18, 44),
        datetime(2025, 11, 20, 9, 19),
    ]
    assert any("authorization token has expired" in e.message for e in ex.errors)


NOTE_PARTS = st.sampled_from(
    [
        "## 2025-03-02 deploy (failed)\n",
        "## 2025-03-09 deploy\n",
        "| 22:00 | pg_dump started |\n",
        "- 21:58:30 scale down\n",
        "$ kubectl get pods\n",
        "```console\n",
        "```\n",
        "Error: boom\n",
        "Expected: ok\n",
        "Result: done\n",
        "Took 3m\n",
        "23:59:59 late\n",
        "00:00:01 early\n",
    ]
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(NOTE_PARTS, st.text(max_size=30)), max_size=25))
def test_reader_never_raises(parts: list[str]) -> None:
    text = "".join(parts)
    parsed = parse(text, "docs/ops/2025-01-01-notes.md", Config())
    assert parsed.executions
    n = len(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    for ex in parsed.executions:
        for cmd in ex.commands:
            assert 1 <= cmd.source.line <= n


def test_table_with_time_command_duration_and_exit_columns() -> None:
    (ex,) = _read("docs/ops/2025-12-03-scale-api-session.md").executions
    assert ex.declared_type == "scaling"
    assert ex.environment == "prod"
    assert ex.owner == "marta"
    assert ex.outcome is Outcome.SUCCESS  # "Outcome: done, no errors."
    got = [
        (c.text.split(" -n")[0], c.source.line, c.started_at, c.duration_s, c.exit_code)
        for c in ex.commands
    ]
    assert got == [
        ("kubectl get hpa api", 7, datetime(2025, 12, 3, 17, 58, 10), 1.0, 0),
        ("kubectl patch hpa api", 8, datetime(2025, 12, 3, 17, 58, 40), 2.0, 0),
        ("kubectl rollout status deployment/api", 9, datetime(2025, 12, 3, 17, 59, 5), 125.0, 0),
        ("kubectl top pods", 10, datetime(2025, 12, 3, 18, 1, 30), 3.0, 0),
    ]
    assert all(c.origin == "table" for c in ex.commands)
    assert ex.started_at == datetime(2025, 12, 3, 17, 58, 10)
    assert ex.finished_at == datetime(2025, 12, 3, 18, 1, 33)
    assert ex.expectations == ("12/12 pods Ready, CPU under 60 %.",)


def test_started_finished_labels_and_date_in_title() -> None:
    text = (
        "# Failover drill 2025-04-02\n\nStarted: 10:02 UTC\nFinished: 10:14 UTC\n\n"
        "```bash\naws rds failover-db-cluster --db-cluster-identifier acme-prod\n```\n"
    )
    (ex,) = parse(text, "docs/ops/failover-drill.md", Config()).executions
    assert "guide" not in ex.tags  # a stated start and end make it a run, not a guide
    assert (ex.started_at, ex.finished_at, ex.duration_s) == (
        datetime(2025, 4, 2, 10, 2),
        datetime(2025, 4, 2, 10, 14),
        720.0,
    )
    assert [(c.text, c.source.line) for c in ex.commands] == [
        ("aws rds failover-db-cluster --db-cluster-identifier acme-prod", 7)
    ]


def test_planned_commands_are_not_part_of_the_run() -> None:
    text = (
        "# Cache flush 2025-06-01\n\n```console\n$ redis-cli -h cache-1 FLUSHDB\nOK\n```\n\n"
        "## Next steps\n\n```bash\nterraform apply -target=module.cache\n```\n"
    )
    (ex,) = parse(text, "ops/cache-flush.md", Config()).executions
    assert [c.text for c in ex.commands] == ["redis-cli -h cache-1 FLUSHDB"]
    guide = "# Cache runbook\n\n## Rollback plan\n\n```bash\nterraform apply -target=module.cache\n```\n"
    (doc,) = parse(guide, "docs/cache-runbook.md", Config()).executions
    assert doc.tags == ("guide",)
    assert [c.text for c in doc.commands] == ["terraform apply -target=module.cache"]
