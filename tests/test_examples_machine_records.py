"""examples/machine-records: a repository with only machine records still yields good runbooks.

The corpus (a GitHub Actions workflow + 12 downloaded run logs, a zsh history, an asciinema
cast, golang-migrate files, Terraform and Prometheus alarms, two post-mortems) is described,
with its answer key, in examples/machine-records/README.md. These tests check the facts an
operator would check: the steps and their order, durations close to the logs, thresholds with
their provenance, the rollback, troubleshooting from the failed runs, and that nothing private
(personal commands, planted secrets) ever reaches an output.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from runbook.api import GenerateResult, generate, sources, sources_json
from runbook.config import load_config
from runbook.model import EvidenceKind

ROOT = Path(__file__).resolve().parents[1] / "examples" / "machine-records"
TODAY = date(2025, 12, 28)

pytestmark = pytest.mark.skipif(not ROOT.is_dir(), reason="example corpus not present")

# Commands from the operator's personal history around the ops sessions.
PERSONAL = (
    "groceries",
    "bahn.de",
    "spotify_player",
    "brew upgrade",
    "npm run dev",
    "bread-timer",
    "yt-dlp",
    "raspberrypi",
    "http.server",
    "vim ~/.zshrc",
)


@cache
def _run(op_type: str, scope: str) -> GenerateResult:
    config = replace(load_config(ROOT), cache=False)  # never write a cache into examples/
    return generate(ROOT, op_type, scope, today=TODAY, config=config)


def _doc(op_type: str, scope: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(_run(op_type, scope).json)
    return doc


def _planted() -> list[str]:
    lines = (ROOT / ".secrets-planted.txt").read_text(encoding="utf-8").splitlines()
    return [s.strip() for s in lines if s.strip() and not s.startswith("#")]


def _log_step_seconds(step: str) -> list[float]:
    """Seconds from a step's first log line to the next step's, per successful deploy log."""
    out: list[float] = []
    for path in sorted((ROOT / "ci-logs" / "deploy").glob("*.log")):
        rows = [ln.split("\t", 2) for ln in path.read_text(encoding="utf-8").splitlines()]
        if any("##[error]" in r[2] for r in rows):
            continue
        names = [r[1] for r in rows]
        first = names.index(step)
        nxt = next(i for i in range(first, len(rows)) if names[i] != step)
        out.append(_seconds(rows[nxt][2]) - _seconds(rows[first][2]))
    return out


def _seconds(text: str) -> float:
    hms = re.match(r"\S+T(\d\d):(\d\d):(\d\d(?:\.\d+)?)Z", text)
    assert hms
    h, m, s = hms.groups()
    return int(h) * 3600 + int(m) * 60 + float(s)


def test_sources_sees_every_machine_format() -> None:
    report = sources(ROOT, replace(load_config(ROOT), cache=False))
    kinds: dict[EvidenceKind, int] = {}
    for f in report.files:
        kinds[f.kind] = kinds.get(f.kind, 0) + 1
    assert kinds[EvidenceKind.CI_WORKFLOW] == 2
    assert kinds[EvidenceKind.CI_LOG] == 12
    assert kinds[EvidenceKind.SHELL_HISTORY] == 1
    assert kinds[EvidenceKind.CAST] == 1
    assert kinds[EvidenceKind.MIGRATION_FILE] == 11
    assert kinds[EvidenceKind.ALARM] == 2
    assert not report.skipped  # .secrets-planted.txt and README.md are not evidence
    text = sources_json(report)
    for secret in _planted():
        assert secret not in text


def test_deployment_steps_in_order_from_the_ci_logs() -> None:
    doc = _doc("deployment", "checkout-api")
    commands = [c for s in doc["steps"] for c in s["commands"]]
    expected = [
        "go test ./... -count=1",
        "docker build -t ghcr.io/northwind/checkout-api:{image-tag} .",
        "docker login ghcr.io",
        "docker push ghcr.io/northwind/checkout-api:{image-tag}",
        "aws eks update-kubeconfig --name shop-prod --region eu-central-1",
        "migrate -path db/migrations -database",
        "helm upgrade --install checkout-api ./chart --namespace prod "
        "--set image.tag={image-tag} --wait --timeout 10m",
        "curl -fsS https://checkout.example.com/healthz",
    ]
    positions = [next(i for i, c in enumerate(commands) if want in c) for want in expected]
    assert positions == sorted(positions), commands
    helm = next(s for s in doc["steps"] if any("helm upgrade" in c for c in s["commands"]))
    assert helm["verification"]["command"] == (
        "kubectl rollout status deployment/checkout-api -n prod --timeout=5m"
    )
    assert "LAST DEPLOYED: {timestamp}" in helm["expected_output"]  # ctime dates vary
    # 7 green CI runs + the hotfix from the shell; the workflow file is a guide, not a run
    assert helm["support"] == {"runs": 8, "of": 8}
    assert {"path": ".github/workflows/deploy.yml", "kind": "guide"} in doc["related"]
    assert all(not s["path"].startswith(".github/") for s in doc["sources"])


def test_deployment_durations_follow_the_logs() -> None:
    doc = _doc("deployment", "checkout-api")
    by_command = {c: s for s in doc["steps"] for c in s["commands"]}
    build = by_command["docker build -t ghcr.io/northwind/checkout-api:{image-tag} ."]
    seconds = sorted(_log_step_seconds("Build image"))
    median = seconds[len(seconds) // 2]
    assert abs(build["duration"]["median_seconds"] - median) <= 0.2 * median
    helm = next(s for c, s in by_command.items() if c.startswith("helm upgrade"))
    # every run's helm step counts (CI step times are measured, not idle gaps)
    assert 60 <= helm["duration"]["median_seconds"] <= 200
    total = doc["estimated_duration"]
    assert total["runs"] >= 7 and 300 <= total["median_seconds"] <= 600


def test_thresholds_come_from_the_alarm_definitions() -> None:
    rows = _doc("deployment", "checkout-api")["monitoring"]["alert_thresholds"]
    by_metric = {r["metric"]: r for r in rows}
    alb = by_metric["HTTPCode_Target_5XX_Count"]
    assert "> 25" in alb["warning"] + alb["critical"]
    assert alb["provenance"].startswith("infra/monitoring/alarms.tf:")
    page = by_metric["CheckoutHigh5xxRate"]
    assert "0.02" in page["critical"] and "5 min" in page["critical"]
    assert page["provenance"].startswith("monitoring/prometheus/checkout.rules.yml:")
    assert all(r["provenance"] != "default" for r in rows)


def test_rollback_and_troubleshooting_from_the_records() -> None:
    doc = _doc("deployment", "checkout-api")
    rollback = [c for s in doc["rollback"]["steps"] for c in s["commands"]]
    assert "helm rollback checkout-api 0 -n prod --wait --timeout 10m" in rollback
    assert doc["rollback"]["provenance"].startswith("observed")
    # the paging alert is the team's own rollback line, cited with its file and line
    assert any(
        "CheckoutHigh5xxRate" in w and "monitoring/prometheus/checkout.rules.yml:" in w
        for w in doc["rollback"]["when"]
    )
    issues = {t["signature"]: t for t in doc["troubleshooting"]}
    stuck = issues["UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress"]
    # the fix is what the operator did between the failed run and its re-run
    assert stuck["solution"][0].startswith("helm rollback checkout-api")
    assert "UPGRADE FAILED: context deadline exceeded" in issues
    assert any("can't acquire database lock" in s for s in issues)
    # the generic runner line never hides the real error
    assert not any("exit code" in s for s in issues)


def test_rollback_runbook_knows_what_triggered_rollbacks() -> None:
    doc = _doc("rollback", "checkout-api")
    commands = [c for s in doc["steps"] for c in s["commands"]]
    assert "helm rollback checkout-api 0 -n prod --wait --timeout 10m" in commands
    when = " ".join(doc["rollback"]["when"])
    assert "observed" in when and "context deadline exceeded" in when


def test_migration_runbook_names_pending_and_the_way_back() -> None:
    doc = _doc("migration", "database")
    checks = " ".join(map(str, doc["prerequisites"]["pre_checks"]))
    assert "Pending migrations, in order: 000006" in checks
    assert "no down-migration" in checks
    commands = [c for s in doc["steps"] for c in s["commands"]]
    backup = next(i for i, c in enumerate(commands) if c.startswith("pg_dump"))
    apply = next(i for i, c in enumerate(commands) if " up 1" in c)
    assert backup < apply
    rollback = [c for s in doc["rollback"]["steps"] for c in s["commands"]]
    # 000006 has no down file: "migrate down 1" would fail, the backup is the way back
    assert not any("down 1" in c for c in rollback)
    assert any("000006" in s["title"] and "restore" in s["title"] for s in doc["rollback"]["steps"])


@pytest.mark.parametrize(
    ("op_type", "scope"),
    [
        ("deployment", "checkout-api"),
        ("rollback", "checkout-api"),
        ("migration", "database"),
        ("incident-response", "checkout-api"),
    ],
)
def test_nothing_private_reaches_a_runbook(op_type: str, scope: str) -> None:
    result = _run(op_type, scope)
    for text in (result.markdown, result.json):
        for secret in _planted():
            assert secret not in text
        for personal in PERSONAL:
            assert personal not in text, personal
