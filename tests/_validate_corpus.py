"""Builders of small evidence corpora and runbooks for the validate tests.

A run is written as a `/observe` execution observation (``## Tool Calls`` with ``**Exit Code**``
and ``**Duration**``, ``**Time**`` total, ``## Outcome``), so the tests go through the real
readers, classifier, miner and failure clustering.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

# (command, seconds, exit code, output)
Call = tuple[str, float, int, str]

SERVICE = "billing-api"

# The procedure of the runbook below, with the seconds each step takes.
TEST = ("make test", 60.0, 0, "42 passed in 55.1s")
BUILD = ("docker build -t billing-api:{sha} .", 120.0, 0, "Successfully tagged billing-api:{sha}")
PUSH = ("docker push registry.example.com/billing-api:{sha}", 40.0, 0, "{sha}: digest: sha256:1")
UPGRADE = (
    "helm upgrade billing-api ./chart -n prod --set image.tag={sha}",
    30.0,
    0,
    'Release "billing-api" has been upgraded. Happy Helming!',
)
ROLLOUT = (
    "kubectl rollout status deployment/billing-api -n prod --timeout=120s",
    60.0,
    0,
    'deployment "billing-api" successfully rolled out',
)
HEALTH = ("curl -fsS https://billing.example.com/health", 1.0, 0, '{"status":"ok"}')
LOGS = ("kubectl logs deployment/billing-api -n prod --since=5m", 3.0, 0, "GET /health 200")
PROCEDURE = (TEST, BUILD, PUSH, UPGRADE, ROLLOUT, HEALTH, LOGS)
TOTAL_S = sum(c[1] for c in PROCEDURE)  # 314 s


def call(spec: tuple[str, float, int, str], sha: str, seconds: float | None = None) -> Call:
    """One tool call of ``spec`` with the release sha filled in."""
    text, secs, code, out = spec
    return (
        text.replace("{sha}", sha),
        secs if seconds is None else seconds,
        code,
        out.replace("{sha}", sha),
    )


def write_run(
    root: Path,
    when: datetime,
    calls: Sequence[Call],
    *,
    outcome: str = "Success. Health ok.",
    slug: str = "deployment-billing-api-prod",
    total_s: float | None = None,
) -> Path:
    """Write one execution observation; returns its path."""
    day = when.date().isoformat()
    path = root / ".claude" / "observations" / day / f"execution-{when:%H%M%S}-{slug}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        "---",
        "mode: execution",
        f"date: {day}",
        f'time: "{when:%H:%M:%S}"',
        f'context: "Deploy {SERVICE} to prod"',
        "tags: [deployment, kubernetes, billing-api, prod]",
        "---",
        "",
        f"# Execution: deploy {SERVICE} to prod",
        "",
        "## Tool Calls",
        "",
    ]
    at = when
    for text, seconds, code, output in calls:
        lines += [
            f"### Bash - {at:%Y-%m-%dT%H:%M:%SZ}",
            "",
            "**Input**:",
            "```bash",
            text,
            "```",
            "**Output**:",
            "```",
            output,
            "```",
            "",
            f"**Exit Code**: {code}",
            f"**Duration**: {seconds:g}s",
            "",
        ]
        at += timedelta(seconds=seconds)
    total = total_s if total_s is not None else sum(c[1] for c in calls)
    minutes, seconds_left = divmod(round(total), 60)
    lines += [
        "## Resource Consumption",
        "",
        f"**Time**: {minutes}m {seconds_left}s",
        "",
        "## Outcome",
        "",
        outcome,
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def write_failure(root: Path, when: datetime, error: str, attempted: str, title: str) -> Path:
    """Write one failure observation (no resolution, as the /observe format has none)."""
    day = when.date().isoformat()
    path = (
        root / ".claude" / "observations" / day / f"failure-{when:%H%M%S}-deployment-billing-api.md"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    text = f"""---
mode: failure
date: {day}
time: "{when:%H:%M:%S}"
context: "{title}"
tags: [deployment, kubernetes, billing-api, prod]
severity: medium
resolved: false
environment: prod
---

# {title}

## Symptoms Observed

- The deploy of {SERVICE} stopped with an error.

## Error Messages

### Error 1

```
{error}
```

## Input State

**What was attempted**:
```bash
{attempted}
```
"""
    path.write_text(text, encoding="utf-8")
    return path


def deploy(root: Path, when: datetime, sha: str, *, build_s: float = 120.0) -> Path:
    """A complete successful run of the procedure."""
    calls = [call(spec, sha, build_s if spec is BUILD else None) for spec in PROCEDURE]
    return write_run(root, when, calls)


RUNBOOK = """# Runbook: Deployment - billing-api

**Generated**: 2025-10-06
**Last Validated**: 2025-10-05
**Estimated Duration**: ~5.2 minutes
**Runbook Owner**: payments-platform
**Review Frequency**: Monthly

---

## Overview

**Purpose**: Ship a new image of billing-api to the prod cluster with Helm.

---

## Prerequisites

### Pre-Checks
- [ ] CI is green for the release commit

---

## Procedure

### Step 1: Run the tests

**Command**:
```sh
make test
```

**Expected Duration**: ~60 s

---

### Step 2: Build the image

**Command**:
```sh
docker build -t billing-api:{sha} .
```

**Parameters**:
- `{sha}` — short git SHA of the release commit, e.g. `9f3c2a1`

**Expected Duration**: ~2 minutes

---

### Step 3: Push the image

**Command**:
```sh
docker push registry.example.com/billing-api:{sha}
```

**Expected Duration**: ~40 s

---

### Step 4: Upgrade the release

**Command**:
```sh
helm upgrade billing-api ./chart -n prod --set image.tag={sha}
```

**Expected Duration**: ~90 s (with the rollout check)

**Verification**:
```sh
kubectl rollout status deployment/billing-api -n prod --timeout=120s
```

**Expected**: `successfully rolled out`

---

### Step 5: Check health

**Command**:
```sh
curl -fsS https://billing.example.com/health
```

**Expected Duration**: ~1 s

---

### Step 6: Watch the logs

**Command**:
```sh
kubectl logs deployment/billing-api -n prod --since=5m
```

**Expected Duration**: ~3 s

---

## Verification

### Check 1: Health

```sh
curl -fsS https://billing.example.com/health
```

**Expected**: `{"status":"ok"}`

---

## Rollback Procedure

### Rollback Steps

#### Step 1: Roll back the release

```sh
helm rollback billing-api -n prod
```

**Verification**: `kubectl rollout status deployment/billing-api -n prod`

---

## Monitoring

- Error rate of billing-api in Grafana

---

## Troubleshooting

### Issue 1: Image push denied

**Symptoms**:
- `denied: requested access to the resource is denied`

**Cause**: Registry login expired.

**Solution**:
```sh
docker login registry.example.com
```

---

## Related Resources

- Helm chart in `./chart`
"""


def write_runbook(root: Path, text: str = RUNBOOK) -> Path:
    """The billing-api runbook under ``root/runbooks/``."""
    path = root / "runbooks" / "deployment-billing-api.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def base_corpus(root: Path) -> None:
    """Four runs before the runbook's Last Validated date (2025-10-05)."""
    for day, sha in ((1, "a1b2c3d"), (2, "b2c3d4e"), (3, "c3d4e5f"), (5, "d4e5f60")):
        deploy(root, datetime(2025, 10, day, 10, 0, 0), sha)
