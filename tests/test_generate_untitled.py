"""Requests over machine records, which carry no title that could name a free-text scope."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from runbook.api import generate
from runbook.errors import NoEvidenceError

TODAY = date(2026, 1, 15)
DAY = 86_400

# A deployment scaled out by hand on three days (bash with HISTTIMEFORMAT), with personal
# work between: the history says nothing like "handle the holiday peak".
SCALE = [
    (0, "kubectl get hpa checkout -n shop"),
    (40, "kubectl scale deployment/checkout -n shop --replicas=12"),
    (95, "kubectl rollout status deployment/checkout -n shop"),
    (150, "curl -fsS https://checkout.example.net/healthz"),
]


def _history(
    root: Path, sessions: list[list[tuple[int, str]]], name: str = ".bash_history"
) -> None:
    lines = []
    t0 = 1_735_000_000
    for day, session in enumerate(sessions):
        for offset, cmd in session:
            lines += [f"#{t0 + day * 3 * DAY + offset}", cmd]
        lines += [f"#{t0 + day * 3 * DAY + 9000}", "vim notes.txt"]
    (root / "ops").mkdir(parents=True, exist_ok=True)
    (root / "ops" / name).write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_a_free_text_scope_mines_the_only_procedure_of_the_type_and_says_so(tmp_path: Path) -> None:
    _history(tmp_path, [SCALE, SCALE, SCALE])
    result = generate(tmp_path, "scaling", "Handle the holiday peak", today=TODAY)
    note = result.counts.left_out[0]
    assert "no scaling run names 'Handle the holiday peak'" in note
    assert "the only scaling procedure on record (3 runs)" in note
    assert "kubectl scale deployment/checkout" in result.markdown
    assert "No scaling run names" in result.markdown  # the runbook says it too


def test_no_fallback_between_two_procedures(tmp_path: Path) -> None:
    other = [
        (
            0,
            "aws autoscaling set-desired-capacity --auto-scaling-group-name workers --desired-capacity 8",
        ),
        (30, "aws autoscaling describe-auto-scaling-groups --auto-scaling-group-names workers"),
        (60, "aws autoscaling describe-scaling-activities --auto-scaling-group-name workers"),
    ]
    _history(tmp_path, [SCALE, SCALE, SCALE, other, other, other])
    with pytest.raises(NoEvidenceError):
        generate(tmp_path, "scaling", "Handle the holiday peak", today=TODAY)


def test_runs_recorded_as_another_operation_are_pointed_at(tmp_path: Path) -> None:
    deploy = [
        (0, "fly deploy --app checkout --image registry.fly.io/checkout:v41"),
        (60, "fly status --app checkout"),
    ]
    _history(tmp_path, [deploy, deploy, deploy])
    with pytest.raises(NoEvidenceError) as err:
        generate(tmp_path, "migration", "checkout", today=TODAY)
    assert "deployment run(s) (`runbook deployment checkout`)" in err.value.hint
    assert "runbook none" not in err.value.hint


def test_a_workflow_without_run_logs_says_how_to_download_them(tmp_path: Path) -> None:
    wf = tmp_path / ".github" / "workflows"
    wf.mkdir(parents=True)
    (wf / "release.yml").write_text(
        "name: release\non: workflow_dispatch\njobs:\n  ship:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - run: make release\n      - run: kubectl rollout status deploy/web\n",
        encoding="utf-8",
    )
    with pytest.raises(NoEvidenceError) as err:
        generate(tmp_path, "deployment", None, today=TODAY)
    hint = err.value.hint
    assert "gh run list --workflow release.yml" in hint
    assert 'gh run view "$id" --log > "ci-logs/release/run-$id.log"' in hint
