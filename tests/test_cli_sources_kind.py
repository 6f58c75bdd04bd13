"""`runbook sources` with machine records: --kind, duplicates and alerts linking runbooks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from runbook.cli import main

DATA = Path(__file__).parent / "data" / "machine"

RULES = """\
groups:
  - name: checkout
    rules:
      - alert: CheckoutHighLatencyP99
        expr: histogram_quantile(0.99, rate(http_request_duration_seconds_bucket[5m])) > 1
        for: 10m
        labels:
          severity: page
        annotations:
          runbook_url: https://git.example.com/ops/blob/main/runbooks/2025-03-01-incident-checkout.md
      - alert: CheckoutDown
        expr: up{job="checkout"} == 0
        annotations:
          runbook_url: ./runbooks/deployment-checkout.md
      - alert: PaymentsQueueDepth
        expr: queue_depth{queue="payments"} > 10000
        annotations:
          runbook_url: https://wiki.example.com/payments-queue
"""


def _root(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(DATA / "dedup", root)
    shutil.copytree(DATA / "postmortems" / "postmortems", root / "postmortems")
    (root / "alerts").mkdir()
    (root / "alerts" / "checkout.rules.yml").write_text(RULES, encoding="utf-8")
    (root / "runbooks").mkdir()
    (root / "runbooks" / "2025-03-01-incident-checkout.md").write_text("# x\n", encoding="utf-8")
    # linked without its date prefix: the date changes when the runbook is regenerated
    (root / "runbooks" / "2025-02-11-deployment-checkout.md").write_text("# y\n", encoding="utf-8")
    return root


def test_json_lists_duplicates_and_alert_runbooks(tmp_path: Path) -> None:
    root = _root(tmp_path)
    result = CliRunner().invoke(main, ["sources", "--root", str(root), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["duplicates"] == [
        {"dropped": ".zsh_history", "kept": "ci-logs/run-5521-deploy.log"}
    ]
    assert data["totals"]["duplicates"] == 1
    # sorted by runbook; the wiki link names no runbook of this repository
    assert [(a["alarm"], a["runbook"]) for a in data["alert_runbooks"]] == [
        ("CheckoutDown", "runbooks/2025-02-11-deployment-checkout.md"),
        ("CheckoutHighLatencyP99", "runbooks/2025-03-01-incident-checkout.md"),
    ]
    kinds = {f["path"]: f["kind"] for f in data["files"]}
    assert kinds["postmortems/2025-03-14-checkout-latency.md"] == "postmortem"


def test_kind_filter_and_table_lines(tmp_path: Path) -> None:
    root = _root(tmp_path)
    result = CliRunner().invoke(
        main, ["sources", "--root", str(root), "--kind", "ci-log,shell-history"]
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "ci-logs/run-5521-deploy.log" in out and ".zsh_history" in out
    assert "postmortems/" not in out and "alert " not in out
    assert "1 execution(s) recorded in another format too" in out
    result = CliRunner().invoke(main, ["sources", "--root", str(root), "--kind", "alarm"])
    assert "alert CheckoutDown (alerts/checkout.rules.yml" in result.stdout
    assert "links runbook runbooks/2025-02-11-deployment-checkout.md" in result.stdout
    data = json.loads(
        CliRunner()
        .invoke(main, ["sources", "--root", str(root), "--kind", "postmortem", "--json"])
        .stdout
    )
    assert [f["path"] for f in data["files"]] == ["postmortems/2025-03-14-checkout-latency.md"]
    assert data["kinds"] == ["postmortem"] and data["duplicates"] == []


def test_unknown_kind_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["sources", "--root", str(_root(tmp_path)), "--kind", "x"])
    assert result.exit_code == 2
    assert "unknown evidence kind 'x'" in result.stderr
    assert "postmortem" in result.stderr
