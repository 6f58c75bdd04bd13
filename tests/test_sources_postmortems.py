"""Post-mortem reader: timeline tables and lists, parts, incident execution + error journal."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runbook.classify import classify
from runbook.config import Config
from runbook.discover import kind_of
from runbook.model import EvidenceKind, OperationType, Outcome, ParsedFile
from runbook.sources import read_evidence
from runbook.sources.postmortems import parse

ROOT = Path(__file__).parent / "data" / "machine" / "postmortems"
CHECKOUT = "postmortems/2025-03-14-checkout-latency.md"
PAYMENTS = "incidents/INC-2291.md"
ORDERS = "docs/postmortems/2025-06-02-orders-db-failover.md"


def _read(rel: str) -> ParsedFile:
    assert kind_of(rel) is EvidenceKind.POSTMORTEM
    got = read_evidence(ROOT / rel, ROOT, EvidenceKind.POSTMORTEM, Config())
    assert isinstance(got, ParsedFile), got
    assert got.kind is EvidenceKind.POSTMORTEM
    return got


def test_sre_style_postmortem_timeline_table() -> None:
    parsed = _read(CHECKOUT)
    (ex,) = parsed.executions
    assert ex.kind is EvidenceKind.POSTMORTEM
    assert ex.declared_type == "incident-response"
    assert "postmortem" in ex.tags
    assert ex.title == "Postmortem: Checkout API latency and 5xx errors (SEV-2)"
    assert ex.severity == "sev2"
    assert ex.environment == "prod"  # "... configuration in production."
    assert ex.owner == "maria.lopez"
    # detection: the page at 14:12 (not the 14:02 release); resolution: "OUTAGE MITIGATED"
    assert ex.started_at == datetime(2025, 3, 14, 14, 12)
    assert ex.finished_at == datetime(2025, 3, 14, 14, 55)
    assert ex.duration_s == 43 * 60
    assert ex.outcome is Outcome.SUCCESS
    assert ex.resolved is True
    assert [(c.text, c.started_at, c.duration_s, c.source.line) for c in ex.commands] == [
        (
            "kubectl get pods -n checkout -l app=checkout-api",
            datetime(2025, 3, 14, 14, 15),
            360.0,
            57,
        ),
        ("helm rollback checkout-api 41 -n checkout", datetime(2025, 3, 14, 14, 31), 300.0, 60),
        (
            "kubectl rollout status deployment/checkout-api -n checkout",
            datetime(2025, 3, 14, 14, 36),
            1140.0,
            61,
        ),
    ]
    # the release that triggered the incident is context, not a response step
    assert any(n.startswith("Before detection: helm upgrade checkout-api") for n in ex.notes)
    assert [(e.message, e.source.line) for e in ex.errors] == [
        ("TimeoutError: QueuePool limit of size 5 overflow 0 reached, connection timed out", 58)
    ]
    assert ex.errors[0].at == datetime(2025, 3, 14, 14, 21)
    assert classify(ex).operation_type is OperationType.INCIDENT

    (journal,) = parsed.journals
    assert journal.category == "error"
    assert journal.resolved is True
    assert journal.root_cause.startswith("The new release lowered `DB_POOL_MAX` from 50 to 5")
    assert journal.solution.startswith("Rolled the checkout-api deployment back")
    assert "helm rollback checkout-api 41 -n checkout" in [
        c.text for c in journal.solution_commands
    ]
    assert journal.prevention.split("\n") == [
        "- Validate pool sizes in CI (min 20 for prod)",
        "- Alert on pool saturation, not only latency",
        "- Document `helm rollback` in the checkout runbook",
    ]
    assert journal.verification == "p99 latency back under 300 ms; OUTAGE MITIGATED"
    assert journal.error_messages == (ex.errors[0].message,)
    assert any("CheckoutHighLatencyP99" in s for s in journal.symptoms)
    # action items are never commands that were run
    assert "helm rollback" not in {c.text for c in ex.commands}


def test_terse_incident_with_timestamped_list_and_labels() -> None:
    parsed = _read(PAYMENTS)
    (ex,) = parsed.executions
    assert ex.severity == "sev3"
    assert ex.environment == "prod"
    assert ex.owner == "sam"
    # "Timeline (UTC, 2025-07-09):" dates the bare clock times
    assert ex.started_at == datetime(2025, 7, 9, 9, 12)
    assert ex.finished_at == datetime(2025, 7, 9, 9, 58)
    assert [c.text for c in ex.commands] == [
        "kubectl -n payments get pods",
        "aws eks update-nodegroup-config --cluster-name prod --nodegroup-name workers "
        "--scaling-config desiredSize=8",
        # the unlabeled fence under "Fix:" has no times: after the timed ones
        "kubectl -n payments rollout restart deployment/payments-worker",
        "kubectl -n payments rollout status deployment/payments-worker",
    ]
    assert ex.commands[1].started_at == datetime(2025, 7, 9, 9, 22)
    assert [e.message for e in ex.errors] == ["0/6 nodes are available: 6 Insufficient memory."]
    (journal,) = parsed.journals
    assert journal.root_cause.startswith("node drain for the AMI upgrade")
    assert [c.text for c in journal.solution_commands] == [
        "kubectl -n payments rollout restart deployment/payments-worker",
        "kubectl -n payments rollout status deployment/payments-worker",
    ]
    assert journal.prevention.startswith("- set a PodDisruptionBudget for payments-worker")
    # a backticked command in a follow-up was not run
    assert all("drain" not in c.text for c in ex.commands)


def test_timezone_offsets_columns_in_any_order_and_crlf() -> None:
    parsed = _read(ORDERS)
    (ex,) = parsed.executions
    # "08:05 -07:00" is 15:05 UTC; columns are "What happened | Timestamp | Who"
    assert ex.started_at == datetime(2025, 6, 2, 15, 5)
    assert ex.finished_at == datetime(2025, 6, 2, 15, 45)
    assert ex.severity == "sev1"
    assert set(ex.tags) == {"orders-api", "orders-db", "postmortem"}
    texts = [c.text for c in ex.commands]
    # the restart named in the timeline and in the Mitigation fence is one command
    assert texts == [
        "aws rds describe-db-clusters --db-cluster-identifier orders-prod",
        "kubectl -n orders rollout restart deployment/orders-api",
        "kubectl -n orders rollout status deployment/orders-api --timeout=5m",
    ]
    assert ex.commands[1].started_at == datetime(2025, 6, 2, 15, 37)
    # an alarm name alone is not an error message; the quoted one is
    assert [e.message for e in ex.errors] == [
        "ERROR: cannot execute UPDATE in a read-only transaction"
    ]
    (journal,) = parsed.journals
    assert journal.prevention.split("\n")[0] == (
        "- Set `networkaddress.cache.ttl=30` in the JVM options."
    )


def test_stated_zone_for_bare_clock_times() -> None:
    text = (
        "# Search outage\n\nDate: 2025-01-31\n\n## Timeline (all times PST)\n\n"
        "- 23:50 Alert `SearchErrors` fired\n"
        "- 23:58 ran `kubectl -n search rollout undo deployment/search-api`\n"
        "- 00:10 error rate back to normal\n"
    )
    (ex,) = parse(text, "incidents/search.md", Config()).executions
    assert ex.started_at == datetime(2025, 2, 1, 7, 50)  # 23:50 PST
    assert ex.finished_at == datetime(2025, 2, 1, 8, 10)  # past midnight: the next day
    assert ex.commands[0].started_at == datetime(2025, 2, 1, 7, 58)


PAGERDUTY_STYLE = """# Incident Postmortem: Elevated API errors

**Date:** Tuesday, 2024-09-17
**Severity:** SEV-1
**Incident Commander:** Priya N.

## Summary
Between 2:14 PM and 3:02 PM PT the public API returned 503s.

## What Happened
### 2:14 PM - Datadog monitor "API 5xx rate" triggered, on-call paged
### 2:20 PM - On-call acknowledged; checked `kubectl get hpa -n api`
### 2:31 PM - Scaled the deployment: `kubectl scale deploy/api --replicas=30 -n api`
### 3:02 PM - Error rate back to normal. Incident resolved.

## Root Cause
HPA max replicas was 10.

## Action Items
- [ ] Raise HPA max to 40 (owner: priya)
"""


def test_timeline_as_headings_with_am_pm_and_a_zone_after_a_time() -> None:
    parsed = parse(PAGERDUTY_STYLE, "postmortems/api-errors.md", Config())
    (ex,) = parsed.executions
    assert ex.started_at == datetime(2024, 9, 17, 22, 14)  # 2:14 PM PT (UTC-8)
    assert ex.finished_at == datetime(2024, 9, 17, 23, 2)
    assert ex.severity == "sev1" and ex.owner == "Priya"
    assert [(c.text, c.duration_s) for c in ex.commands] == [
        ("kubectl get hpa -n api", 660.0),
        ("kubectl scale deploy/api --replicas=30 -n api", 1860.0),
    ]
    assert parsed.journals[0].prevention == "- Raise HPA max to 40 (owner: priya)"


def test_clock_times_without_any_date_still_give_durations() -> None:
    text = (
        "# Incident: Login failures\n\n## Timeline\n\n| Time | Event |\n|---|---|\n"
        "| **09:52** | Support reports login errors |\n"
        "| **09:58** | Rolled back: `argocd app rollback auth-service 17` |\n"
        "| **10:17** | Logins recovered |\n\n## Recovery\nRollback with ArgoCD.\n"
    )
    (ex,) = parse(text, "incidents/login.md", Config()).executions
    assert ex.started_at is None and ex.finished_at is None  # no date: no datetimes
    assert ex.duration_s == 25 * 60
    (cmd,) = ex.commands
    assert cmd.started_at is None and cmd.duration_s == 19 * 60


def test_template_without_content_yields_nothing() -> None:
    parsed = parse("just a paragraph of text\n", "incidents/x.md", Config())
    assert parsed.executions == () and parsed.journals == ()
    assert parsed.diagnostics and "nothing read" in parsed.diagnostics[0].message


_LINES = st.sampled_from(
    [
        "# Incident",
        "## Timeline",
        "| Time | Event |",
        "|---|---|",
        "| 14:02 | `kubectl get pods` |",
        "| 25:99 | bad |",
        "| | |",
        "- 09:12 alert fired",
        "- 2025-13-45 14:00 nonsense date",
        "Root cause: x",
        "Fix:",
        "```",
        "```bash",
        "kubectl rollout restart deploy/x",
        "> Error: boom",
        "**Status**: resolved",
        "all times UTC+05:30",
        "---",
        "title: [broken",
        "",
    ]
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(_LINES, st.text(max_size=60)), max_size=30))
def test_never_crashes(lines: list[str]) -> None:
    parsed = parse("\n".join(lines), "postmortems/fuzz.md", Config())
    assert parsed.kind is EvidenceKind.POSTMORTEM
    for ex in parsed.executions:
        if ex.started_at and ex.finished_at:
            assert ex.finished_at >= ex.started_at
