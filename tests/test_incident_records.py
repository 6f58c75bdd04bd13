"""Incident-response runbooks from incident records: failure observations + error journals.

Each occurrence (a failure report, the journal that resolved it, any response run) counts as one
run of the response; common checks are steps, cause-specific fixes are troubleshooting entries.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from runbook.api import generate, summary_line
from runbook.cli import main
from runbook.config import Config
from runbook.errors import NoEvidenceError, RefusalError
from runbook.mine import mine
from runbook.model import Command, EvidenceKind, Execution, OperationType, Outcome, SourceRef
from runbook.normalize import normalize

BLIND = Path(__file__).parent / "data" / "blind"
TODAY = date(2025, 12, 28)
CONFIG = Config(cache=False)

REDIS_FIX = "redis-cli -h cache.shop.internal config set maxmemory-policy allkeys-lru"
DB_FIX = "kubectl scale deployment cart -n shop --replicas=6"


def _failure(root: Path, day: str, hhmmss: str, slug: str, error: str, checks: list[str]) -> None:
    hh, mm = hhmmss[:2], hhmmss[2:4]
    timeline = "\n".join(
        f"- {hh}:{int(mm) + i:02d} `{c}` → looked at it" for i, c in enumerate(checks)
    )
    path = root / ".claude" / "observations" / day / f"failure-{hhmmss}-{slug}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"""---
mode: failure
date: {day}
time: "{hh}:{mm}:00"
context: cart service returns 500s, {slug.replace("-", " ")}
tags: [cart, incident, {slug.split("-")[0]}]
severity: high
resolved: false
environment: production
---

## Symptoms Observed

Checkout fails with HTTP 500 for every user.

## Error Messages

### Error 1

```
{error}
```

## Timeline

{timeline}
""",
        encoding="utf-8",
    )


def _journal(
    root: Path,
    day: str,
    slug: str,
    title: str,
    error: str,
    cause: str,
    fix: list[str],
    verify: str,
    prevention: str,
    investigate: str = "redis-cli -h cache.shop.internal --bigkeys",
) -> None:
    path = root / ".claude" / "journals" / "error" / f"{day}-{slug}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    fence = "\n".join(fix)
    path.write_text(
        f"""---
title: {title}
category: error
date: {day}
resolved: true
severity: high
environment: production
tags: [cart, {slug.split("-")[0]}]
---

## Symptoms

- Checkout returned 500 between 10:02-10:19 UTC.
- `{error}`

## Investigation

Looked at the pods and at the cache before touching anything:

- `{investigate}` to see what fills it

## Root Cause

{cause}

## Solution

```bash
{fence}
```

**Verification**: errors stop within a minute.

```bash
{verify}
```

## Prevention

{prevention}
""",
        encoding="utf-8",
    )


REDIS_ERROR = "OOM command not allowed when used memory > 'maxmemory'."
DB_ERROR = (
    "FATAL: remaining connection slots are reserved for non-replication superuser connections"
)
CHECKS = ["kubectl get pods -n shop -l app=cart", "redis-cli -h cache.shop.internal info memory"]


def _redis_incident(root: Path, day: str) -> None:
    _failure(root, day, "100500", "redis-oom-cart", REDIS_ERROR, CHECKS)
    _journal(
        root,
        day,
        "redis-oom-cart",
        "Redis out of memory broke the cart",
        REDIS_ERROR,
        "Session keys were written without a TTL; with noeviction Redis refused every write.",
        [REDIS_FIX, "kubectl rollout restart deployment/cart -n shop"],
        "kubectl rollout status deployment/cart -n shop",
        "Alert at 80 % of maxmemory.",
    )


def _db_incident(root: Path, day: str) -> None:
    _failure(root, day, "100500", "postgres-connections-cart", DB_ERROR, CHECKS)
    _journal(
        root,
        day,
        "postgres-connections-cart",
        "Postgres connection slots exhausted by the cart",
        DB_ERROR,
        "Autoscaling added pods beyond what max_connections allows.",
        [DB_FIX],
        "kubectl get hpa cart -n shop",
        "Cap the HPA at what the database can hold.",
    )


def test_three_occurrences_of_one_incident_make_a_runbook(tmp_path: Path) -> None:
    for day in ("2025-11-03", "2025-11-17", "2025-12-01"):
        _redis_incident(tmp_path, day)
    got = generate(tmp_path, "incident-response", "redis cart", today=TODAY, config=CONFIG)
    book = got.runbook
    assert got.counts.incidents == (
        "3 incidents (3 failure observations, 3 error journals; no timed runs: durations unknown)"
    )
    assert summary_line(got, "stdout").startswith(
        "Mined 3 incidents (3 failure observations, 3 error journals; no timed runs: durations "
        "unknown) → stdout"
    )
    phases = [s.phase for s in book.steps]
    assert phases[0] in ("Detect", "Triage")
    commands = [c for s in book.steps for c in s.commands]
    # detection checks from the reports, then the journals' fix, in that order
    first_check = next(i for i, c in enumerate(commands) if c.startswith("kubectl get pods"))
    fix = next(i for i, c in enumerate(commands) if c.startswith(REDIS_FIX))
    assert first_check < fix
    # the journals' investigation is triage: after the reports' checks, before the fix
    triage = next(i for i, c in enumerate(commands) if c.endswith("--bigkeys"))
    assert first_check < triage < fix
    fix_step = next(s for s in book.steps if any(c.startswith(REDIS_FIX) for c in s.commands))
    assert fix_step.phase not in ("Detect", "Triage")
    assert fix_step.support.runs == 3 and fix_step.support.of == 3
    cited = {r.path for s in book.steps for r in s.evidence}
    assert any(p.startswith(".claude/journals/error/") for p in cited)
    assert any(p.startswith(".claude/observations/") for p in cited)
    # the journals' verification command is kept (as a step or as a step's verification)
    verifications = [s.verification.command for s in book.steps if s.verification] + commands
    assert any(v.startswith("kubectl rollout status deployment/cart") for v in verifications)
    # honest numbers: journals are not timed runs
    assert book.estimated_duration.median_seconds is None
    notes = "\n".join(book.notes)
    assert "3 incidents (3 failure observations, 3 error journals" in notes
    assert "Time to mitigate" in notes  # 10:02-10:19 stated in every journal
    # one troubleshooting entry: the same cause each time, with the journal's account
    assert len(book.troubleshooting) == 1
    entry = book.troubleshooting[0]
    assert entry.cause.startswith("Session keys were written without a TTL")
    assert any(REDIS_FIX in line for line in entry.solution)
    kinds = {s.path: s.outcome for s in book.sources}
    assert all(outcome == "failure" for path, outcome in kinds.items() if "/failure-" in path), (
        kinds
    )


def test_one_incident_is_refused_with_reproduce(tmp_path: Path) -> None:
    _redis_incident(tmp_path, "2025-11-03")
    with pytest.raises(RefusalError) as info:
        generate(tmp_path, "incident-response", "redis cart", today=TODAY, config=CONFIG)
    assert "only one recorded incident" in str(info.value)
    assert "1 failure observation, 1 error journal" in str(info.value)
    assert "runbook reproduce" in (info.value.hint or "")
    result = CliRunner().invoke(
        main, ["incident-response", "redis cart", "--root", str(tmp_path), "--stdout"]
    )
    assert result.exit_code == 2


def test_no_incident_evidence_is_still_refused(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "notes.md").write_text("# Notes\n\nNothing happened.\n", encoding="utf-8")
    with pytest.raises(NoEvidenceError):
        generate(tmp_path, "incident-response", "redis cart", today=TODAY, config=CONFIG)


def test_two_root_causes_become_two_troubleshooting_entries(tmp_path: Path) -> None:
    _redis_incident(tmp_path, "2025-11-03")
    _db_incident(tmp_path, "2025-11-20")
    got = generate(tmp_path, "incident-response", "cart 500", today=TODAY, config=CONFIG)
    book = got.runbook
    assert got.counts.incidents.startswith("2 incidents (2 failure observations, 2 error journals")
    # the checks both incidents ran are the common steps
    commands = [c for s in book.steps for c in s.commands]
    assert any(c.startswith("kubectl get pods -n shop") for c in commands)
    entries = {e.cause: e for e in book.troubleshooting}
    assert len(book.troubleshooting) == 2, [e.title for e in book.troubleshooting]
    redis = next(e for c, e in entries.items() if c.startswith("Session keys"))
    db = next(e for c, e in entries.items() if c.startswith("Autoscaling"))
    assert any(REDIS_FIX in s for s in redis.solution) and not any(
        DB_FIX in s for s in redis.solution
    )
    assert any(DB_FIX in s for s in db.solution)
    assert redis.prevention and db.prevention and redis.verification and db.verification
    # each cause-specific fix is a decision point of the procedure
    if_failed = "\n".join(line for s in book.steps for line in s.if_failed)
    assert "see Troubleshooting, Issue 1" in if_failed and "Issue 2" in if_failed


def test_blind_corpus_redis_incidents_generate_with_journal_fixes() -> None:
    got = generate(BLIND, "incident-response", "redis", today=TODAY, config=CONFIG)
    assert got.counts.incidents.startswith("2 incidents (2 failure observations, 2 error journals")
    fixes = "\n".join(line for e in got.runbook.troubleshooting for line in e.solution)
    assert "--cluster fix" in fixes
    assert "CONFIG SET maxmemory-policy volatile-lru" in fixes
    causes = " ".join(e.cause for e in got.runbook.troubleshooting)
    assert "idempotency keys" in causes and "only replica" in causes


def test_blind_corpus_all_three_incidents() -> None:
    got = generate(BLIND, "incident-response", "payments-api incident", today=TODAY, config=CONFIG)
    assert got.counts.incidents.startswith("3 incidents (3 failure observations, 3 error journals")
    fixes = "\n".join(line for e in got.runbook.troubleshooting for line in e.solution)
    assert "kubectl scale deployment payments-api -n payments --replicas=24" in fixes
    assert len(got.runbook.troubleshooting) == 3


def test_blind_corpus_single_incident_suggests_reproduce() -> None:
    with pytest.raises(RefusalError) as info:
        generate(BLIND, "incident-response", "Redis OOM", today=TODAY, config=CONFIG)
    assert "failure-191502-redis-oom-black-friday.md" in (info.value.hint or "")


# --------------------------------------------------------------- JSON values in commands


def test_json_patch_value_keeps_its_structure() -> None:
    key = normalize("""kubectl patch hpa payments-api -p '{"spec":{"minReplicas":6}}'""").key
    assert key == """kubectl patch hpa payments-api -p '{"spec":{"minReplicas":{min-replicas}}}'"""


def _run(i: int, replicas: int) -> Execution:
    path = f"runs/scale-{i}.md"
    texts = [
        "kubectl get hpa payments-api -n payments",
        f"""kubectl patch hpa payments-api -n payments -p '{{"spec":{{"minReplicas":{replicas},"maxReplicas":40}}}}'""",
        "kubectl describe hpa payments-api -n payments",
    ]
    return Execution(
        id=path,
        source=SourceRef(path, 1),
        kind=EvidenceKind.NOTES,
        outcome=Outcome.SUCCESS,
        commands=tuple(
            Command(t, SourceRef(path, n + 2), exit_code=0, duration_s=1.0)
            for n, t in enumerate(texts)
        ),
    )


def test_mined_json_patch_masks_only_the_varying_number() -> None:
    procedure = mine([_run(1, 6), _run(2, 10), _run(3, 6)], OperationType.SCALING)
    texts = [
        c.text
        for s in procedure.steps
        for c in (*s.commands, *((s.verification,) if s.verification else ()))
    ]
    patch = next(t for t in texts if "kubectl patch" in t)
    assert "{port}" not in patch
    assert '"minReplicas":{min-replicas}' in patch
    assert '"maxReplicas":40' in patch  # constant: literal


def test_journals_alone_are_incidents_when_they_record_solution_commands(tmp_path: Path) -> None:
    for day in ("2025-11-03", "2025-11-17"):
        _journal(
            tmp_path,
            day,
            "redis-oom-cart",
            "Redis out of memory broke the cart",
            REDIS_ERROR,
            "Session keys were written without a TTL.",
            [REDIS_FIX, "kubectl rollout restart deployment/cart -n shop"],
            "kubectl rollout status deployment/cart -n shop",
            "Alert at 80 % of maxmemory.",
        )
    got = generate(tmp_path, "incident-response", "redis cart", today=TODAY, config=CONFIG)
    assert (
        got.counts.incidents == "2 incidents (2 error journals; no timed runs: durations unknown)"
    )
    commands = [c for s in got.runbook.steps for c in s.commands]
    assert REDIS_FIX in commands
    assert got.runbook.estimated_duration.median_seconds is None
