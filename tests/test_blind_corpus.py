"""Blind corpus (tests/data/blind): ops notes written in styles the readers were not built from.

Each test pins a fact from ``tests/data/blind/ANSWER.md`` that a reader once got wrong: numbered
steps with ``(took ~40s)`` remarks, ``11h04`` / ``2:02 PM`` times, a tmux transcript with
``time`` and ``echo $?``, a German table, a journal whose root cause is a bold label inside a
paragraph, and planted secrets that must never come out.
"""

from __future__ import annotations

import shutil
from datetime import date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from runbook.api import generate
from runbook.cli import main
from runbook.config import Config
from runbook.model import Command, EvidenceKind, Execution, Journal, Outcome, ParsedFile
from runbook.sources import read_evidence
from runbook.sources.markdown import Document
from runbook.sources.observations import parse as parse_observation
from runbook.timeparse import find_timestamp, parse_duration, remark_duration

BLIND = Path(__file__).parent / "data" / "blind"
OBS = ".claude/observations"


def _parsed(rel: str) -> ParsedFile:
    if rel.startswith(".claude/journals"):
        kind = EvidenceKind.JOURNAL
    else:
        kind = EvidenceKind.OBSERVATION if rel.startswith(OBS) else EvidenceKind.NOTES
    got = read_evidence(BLIND / rel, BLIND, kind, Config())
    assert isinstance(got, ParsedFile), got
    return got


def _run(rel: str) -> Execution:
    parsed = _parsed(rel)
    assert len(parsed.executions) == 1
    return parsed.executions[0]


def _cmd(ex: Execution, start: str) -> Command:
    found = [c for c in ex.commands if c.text.startswith(start)]
    assert found, f"no command starting {start!r} in {[c.text for c in ex.commands]}"
    return found[0]


def _journal(rel: str) -> Journal:
    parsed = _parsed(rel)
    assert len(parsed.journals) == 1
    return parsed.journals[0]


# ------------------------------------------------------------------ observations


def test_numbered_steps_with_bracketed_times_and_took_remarks() -> None:
    ex = _run(f"{OBS}/2025-11-03/execution-140211-payments-api-release-2-14-0.md")
    assert [c.text.split()[:2] for c in ex.commands] == [
        ["gcloud", "container"],
        ["helm", "history"],
        ["helm", "upgrade"],
        ["kubectl", "rollout"],
        ["curl", "-fsS"],
    ]
    upgrade = _cmd(ex, "helm upgrade payments-api")
    assert upgrade.duration_s == 130.0  # "(took ~2m10s, migrations V44 + V45 applied)"
    assert upgrade.started_at == datetime(2025, 11, 3, 14, 2, 31)
    assert "REVISION: 55" in upgrade.output  # the 4-space indented Output block under the step
    assert _cmd(ex, "kubectl rollout status").duration_s == 40.0
    assert _cmd(ex, "curl").duration_s == 1.0
    assert ex.outcome is Outcome.SUCCESS  # "Result: success, exit 0 everywhere."


def test_tmux_transcript_time_prefix_and_echo_status() -> None:
    ex = _run(f"{OBS}/2025-11-06/execution-093015-payments-api-2-14-1.md")
    upgrade = _cmd(ex, "helm upgrade payments-api")  # not "time helm upgrade"
    assert upgrade.exit_code == 0
    assert upgrade.duration_s == pytest.approx(112.418)  # "real 1m52.418s"
    rollout = _cmd(ex, "kubectl rollout status")
    assert rollout.duration_s == pytest.approx(47.902)
    assert not any(c.text.startswith(("time ", "echo $?")) for c in ex.commands)


def test_failure_with_emoji_headings_and_11h04_times() -> None:
    ex = _run(f"{OBS}/2025-11-13/failure-110432-payments-api-2-15-1-imagepullbackoff.md")
    upgrade = _cmd(ex, "helm upgrade payments-api")
    assert upgrade.exit_code == 1  # "→ hung for the full 10 minutes then exit 1"
    assert upgrade.started_at == datetime(2025, 11, 13, 11, 4)
    rollout = _cmd(ex, "kubectl rollout status")
    assert (rollout.exit_code, rollout.duration_s) == (1, 300.0)  # "→ exit 1 after 5m"
    messages = " ".join(e.message for e in ex.errors)
    assert "Failed to pull image" in messages  # a code block under "## 🔥 What broke"
    assert "timed out waiting for the condition" in messages


def test_german_notes_durations() -> None:
    ex = _run(f"{OBS}/2025-11-18/execution-081502-payments-api-2-16-0.md")
    assert _cmd(ex, "gcloud container clusters").duration_s == 5.0  # "ca. 5 Sek."
    assert _cmd(ex, "helm upgrade").duration_s == 140.0  # "Dauer ca. 2 Min. 20 Sek."
    assert ex.outcome is Outcome.SUCCESS  # "## Ergebnis" / "Erfolgreich"


def test_german_table_headers() -> None:
    ex = _run(f"{OBS}/2025-12-01/execution-070512-skalierung-zurueck-nach-cyber-monday.md")
    assert len(ex.commands) == 5
    update = _cmd(ex, "gcloud container clusters update")
    assert (update.exit_code, update.duration_s) == (0, 110.0)  # "1 Min. 50 s"
    assert _cmd(ex, "gcloud container clusters get-credentials").duration_s == 4.0
    assert ex.outcome is Outcome.SUCCESS


def test_pm_clock_times_in_tab_separated_items() -> None:
    ex = _run(f"{OBS}/2025-12-02/execution-140240-payments-api-2-18-0.md")
    upgrade = _cmd(ex, "helm upgrade")
    assert upgrade.started_at == datetime(2025, 12, 2, 14, 3)  # "2:03 PM", not 02:03
    assert upgrade.duration_s == 134.0


def test_remark_describing_output_is_not_the_outcome() -> None:
    # "V47 shows `Failed checksum`" is what a step printed, not how the run ended
    ex = _run(f"{OBS}/2025-11-24/execution-162530-payments-api-2-17-0-after-repair.md")
    assert ex.outcome is Outcome.SUCCESS
    assert _cmd(ex, "flyway").duration_s == 6.0
    assert ex.commands[2].text.endswith(" repair")


def test_checkbox_list_commands() -> None:
    ex = _run(f"{OBS}/2025-11-08/execution-101500-redis-cluster-scale-out-6-to-8.md")
    scale = _cmd(ex, "kubectl scale statefulset redis-cluster")
    assert scale.duration_s == 1.0
    rebalance = [c for c in ex.commands if "--cluster rebalance" in c.text]
    assert rebalance and rebalance[0].duration_s == 360.0  # "the slow one, ~6 minutes"


def test_result_section_stating_an_exit_code() -> None:
    ex = _run(f"{OBS}/2025-12-05/execution-141020-hpa-cap-after-db-connections.md")
    assert ex.outcome is Outcome.SUCCESS  # "## Result" → "Exit 0 for everything."
    assert _cmd(ex, "kubectl edit hpa").duration_s == 120.0


def test_mentions_are_not_steps() -> None:
    text = (
        "---\nmode: failure\ndate: 2025-10-30\ntime: '14:14:35'\n---\n\n"
        "## Symptoms\n\n- `docker push` to the repository fails immediately\n\n"
        "## Notes\n\n"
        "- Rollback plan if needed: `alembic downgrade -1` (drops the empty table)\n"
        "- The new Dockerfile drops the `dnf install cairo pango` in the final stage.\n"
        "- 14h20 `kubectl get pods -n api` → exit 0 (2s)\n"
    )
    ex = parse_observation(
        text, ".claude/observations/2025-10-30/failure-141435-x.md", Config()
    ).executions[0]
    assert [c.text for c in ex.commands] == ["kubectl get pods -n api"]
    assert ex.commands[0].exit_code == 0
    assert ex.commands[0].duration_s == 2.0


# ------------------------------------------------------------------------- notes


def test_notes_time_led_lines_with_exit_and_took() -> None:
    ex = _run("docs/sessions/2025-12-19-rollback-2.20.1.md")
    rollback = _cmd(ex, "helm rollback payments-api 70")
    assert (rollback.exit_code, rollback.duration_s) == (0, 80.0)
    assert rollback.started_at == datetime(2025, 12, 19, 16, 46)
    assert ex.outcome is Outcome.SUCCESS
    # "Rollback end-to-end: ~3 min." is the total, not one step's "took 1m 20s"
    assert ex.duration_s == 180.0


def test_notes_outcome_heading() -> None:
    ex = _run("docs/sessions/2025-12-10-payments-api-2.19.1-release.md")
    assert ex.outcome is Outcome.SUCCESS  # "## Outcome" then "Success."


def test_design_note_bullets_are_not_a_run() -> None:
    text = (
        "# Deploy notes 2025-12-01\n\n## Ideas\n\n"
        "- Use `helm diff upgrade api ./chart` before every release\n"
        "- `kubectl rollout status deployment/api` should gate the smoke test\n"
    )
    from runbook.sources.notes import parse as parse_notes

    parsed = parse_notes(text, "docs/deploy-notes.md", Config())
    steps = [c for ex in parsed.executions for c in ex.commands if c.origin == "step"]
    assert steps == []  # no time, exit code or duration: described, not run


# ---------------------------------------------------------------------- journals


def test_journal_root_cause_as_bold_label_inside_a_paragraph() -> None:
    j = _journal(".claude/journals/error/2025-11-28-redis-oom-black-friday.md")
    assert j.root_cause.startswith("idempotency keys were written with `SET` without an expiry")
    assert "eviction policy" in j.solution  # "What fixed it, in order: …"
    assert any(c.text.startswith("helm upgrade redis-cluster") for c in j.solution_commands)
    assert j.symptoms and j.symptoms[0].startswith("Between 19:12 and 19:19 UTC")
    assert "maxmemory" in j.prevention


# ---------------------------------------------------------------------- timeparse


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("(took ~40s)", 40.0),
        ("(took ~2m10s, migrations V44 + V45 applied)", 130.0),
        ("— exit 0, took 1m 20s", 80.0),
        ("— ok, Dauer ca. 2 Min. 20 Sek. (Migration lief ca. 50 Sek.)", 140.0),
        ("the slow one, ~6 minutes moving slots", 360.0),
        ("→ exit 1 after 5m", 300.0),
        ("— shows only `v2.15.1` (4s)", 4.0),
        ("V44 (2 files)", None),
        ("(14:02)", None),
        ("revision 59, 3 pods", None),
    ],
)
def test_remark_duration(text: str, seconds: float | None) -> None:
    assert remark_duration(text) == seconds


def test_h_separated_and_pm_clock_times() -> None:
    for line, hm in (("- 11h04 `gcloud`", (11, 4)), ("16h46 `helm`", (16, 46))):
        found = find_timestamp(line)
        assert found is not None and (found[0].clock.hour, found[0].clock.minute) == hm
    found = find_timestamp("-\t2:02 PM\t`gcloud`")
    assert found is not None and found[0].clock.hour == 14
    assert find_timestamp("2h later the pods were fine") is None
    assert parse_duration("1 Min. 50 s") == 110.0
    assert parse_duration("ca. 5 Sek.") == 5.0


# ------------------------------------------------------------------------ secrets


def _planted() -> list[str]:
    lines = (BLIND / ".secrets-planted.txt").read_text(encoding="utf-8").splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]


def test_no_planted_secret_in_any_output(tmp_path: Path) -> None:
    root = tmp_path / "blind"
    shutil.copytree(BLIND, root)
    outputs: list[str] = []
    for args in (["sources", "--root", str(root)], ["sources", "--root", str(root), "--json"]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
    for op, scope in (("deployment", "payments-api"), ("rollback", "payments-api")):
        got = generate(root, op, scope, today=date(2025, 12, 28), config=Config(cache=False))
        outputs += [got.markdown, got.json]
    for path in root.rglob("*"):
        if path.is_file() and ".runbook" in path.parts:
            outputs.append(path.read_bytes().decode("utf-8", "replace"))
    blob = "\n".join(outputs)
    assert _planted()
    for secret in _planted():
        assert secret not in blob


def test_deployment_runbook_has_the_true_steps() -> None:
    got = generate(
        BLIND, "deployment", "payments-api", today=date(2025, 12, 28), config=Config(cache=False)
    )
    commands = [c for step in got.runbook.steps for c in step.commands]
    assert any(c.startswith("gcloud container clusters get-credentials") for c in commands)
    assert any(c.startswith("helm upgrade payments-api") for c in commands)
    assert any(c.startswith("curl -fsS https://payments.acme-pay.com/healthz") for c in commands)
    assert got.counts.runs >= 8


def test_document_reads_crlf_table() -> None:
    rel = f"{OBS}/2025-11-10/execution-161500-deploy-payments-api-2-15-0.md"
    assert b"\r\n" in (BLIND / rel).read_bytes()
    ex = _run(rel)
    assert [c.exit_code for c in ex.commands] == [0] * 6
    assert _cmd(ex, "helm upgrade").duration_s == 151.0
    assert Document("a\r\nb").lines == ["a", "b"]


def test_service_account_key_id_is_redacted() -> None:
    from runbook.redact import redact

    text, count = redact('  "private_key_id": "4b1f0c9e7d2a6b3c8e5f1a0d9c7b6a5e4d3c2b1a",')
    assert "4b1f0c9e" not in text and count == 1
    assert redact(text) == (text, 0)  # idempotent


def test_dev_top_level_domain_is_not_an_environment() -> None:
    from runbook.classify import classify

    ex = _run(f"{OBS}/2025-11-13/execution-133010-payments-api-2-15-1-second-try.md")
    # the image lives in europe-west1-docker.pkg.dev; the cluster is payments-prod
    assert classify(ex).environment == "prod"


def test_compound_scope_names_its_area() -> None:
    from runbook.classify import classify

    ex = _run("docs/capacity/2025-11-26-black-friday-scale-up.md")
    scopes = classify(ex).scopes
    assert "redis-cluster" in scopes and "redis" in scopes


@pytest.mark.parametrize(
    ("rel", "seconds"),
    [
        ("2025-11-03/execution-140211-payments-api-release-2-14-0.md", 210.0),  # Total about 3.5
        ("2025-11-08/execution-101500-redis-cluster-scale-out-6-to-8.md", 660.0),  # in total
        ("2025-11-13/execution-112005-payments-api-rollback-to-57.md", 90.0),  # Whole thing
        ("2025-11-18/execution-081502-payments-api-2-16-0.md", 210.0),  # Gesamtdauer ca. 3,5
        ("2025-12-16/execution-150903-payments-api-2-20-0.md", 240.0),  # 15:09 – 15:13
    ],
)
def test_run_total_stated_in_prose(rel: str, seconds: float) -> None:
    assert _run(f"{OBS}/{rel}").duration_s == seconds


def test_prose_total_helpers() -> None:
    from runbook.sources.common import prose_total, time_range_seconds

    assert prose_total("Took about 2 minutes (10:35 → 10:37).") == 120.0
    assert prose_total("Revision 61, all exit 0.") is None
    assert time_range_seconds("OK - all exit 0. 2:02 PM -> 2:06 PM.") == 240.0
    assert time_range_seconds("23:50 to 00:10") == 1200.0
    assert time_range_seconds("at 14:30 - see PR 12") is None


def test_follow_up_line_reports_the_exit_code_of_the_step_before() -> None:
    ex = _run(f"{OBS}/2025-11-24/failure-154012-payments-api-2-17-0-flyway-checksum.md")
    upgrade = _cmd(ex, "helm upgrade")
    # "- 3:43 PM — helm returns exit code 1 (after roughly 1m40s):"
    assert (upgrade.exit_code, upgrade.duration_s) == (1, 100.0)
    messages = [e.message for e in ex.errors]
    assert any(m.startswith("Error: UPGRADE FAILED: pre-upgrade hooks failed") for m in messages)
    assert not any(m.startswith("helm returns exit code") for m in messages)  # a status, not text


def test_backgrounded_command_gets_no_gap_duration() -> None:
    ex = _run(f"{OBS}/2025-11-24/execution-162530-payments-api-2-17-0-after-repair.md")
    assert _cmd(ex, "cloud-sql-proxy").duration_s is None  # "… --port 5433 &"


def test_result_written_as_an_indented_block() -> None:
    ex = _run(f"{OBS}/2025-12-02/execution-140240-payments-api-2-18-0.md")
    assert ex.outcome is Outcome.SUCCESS  # "## Outcome" then a tab-indented "OK - all exit 0"


def test_date_u_in_a_transcript_times_the_run() -> None:
    ex = _run(f"{OBS}/2025-11-06/execution-093015-payments-api-2-14-1.md")
    # "date -u" printed 09:30:15 first and 09:33:14 last
    assert ex.started_at == datetime(2025, 11, 6, 9, 30, 15)
    assert ex.duration_s == 179.0


def _steps_of(body: str) -> list[Command]:
    head = "---\nmode: execution\ndate: 2025-12-01\ntime: '10:00:00'\n---\n\n"
    rel = ".claude/observations/2025-12-01/execution-100000-x.md"
    return list(parse_observation(head + body, rel, Config()).executions[0].commands)


def test_run_verbs_and_prompts_lead_a_step() -> None:
    got = _steps_of(
        "## Log\n\n- Ran `kubectl apply -f deploy.yaml` (exit 0, 3s)\n"
        "- Then `kubectl rollout status deploy/web` — took 45 s\n"
        "- $ curl -f https://web.example/health — 200 (1s)\n"
        "- **14:02** `make deploy` ✅ (2m)\n"
    )
    assert [(c.text, c.exit_code, c.duration_s) for c in got] == [
        ("kubectl apply -f deploy.yaml", 0, 3.0),
        ("kubectl rollout status deploy/web", None, 45.0),
        ("curl -f https://web.example/health", None, 1.0),
        ("make deploy", None, 120.0),  # "make" reads as English unless a time says it ran
    ]
    assert got[3].outcome_note == "success"


def test_prose_mentions_with_other_leads_are_not_steps() -> None:
    got = _steps_of(
        "## Notes\n\n- We should switch to `kubectl apply --server-side` later\n"
        "- The chart still pins `helm upgrade --atomic` in CI, which hides errors\n"
        "- Next time: `helm diff upgrade web ./chart` first\n"
    )
    assert got == []


def _journal_of(body: str) -> Journal:
    from runbook.sources.journals import parse as parse_journal

    head = "---\ntitle: x\ncategory: error\ndate: 2025-12-01\nresolved: true\n---\n\n"
    return parse_journal(head + body, ".claude/journals/error/2025-12-01-x.md", Config()).journals[
        0
    ]


def test_journal_bold_labels_with_a_dash_and_fix_labels_with_commands() -> None:
    j = _journal_of(
        "Pods crashlooped after the deploy.\n\n"
        "**Root cause** — the new image lacked the CA bundle.\n\n"
        "**Fix** — `kubectl rollout undo deployment/web` then rebuilt.\n"
    )
    assert j.root_cause == "the new image lacked the CA bundle."
    assert [c.text for c in j.solution_commands] == ["kubectl rollout undo deployment/web"]
    j = _journal_of(
        "What happened: pods crashlooped.\nWhy: the image lacked the CA bundle.\n"
        "How we fixed it: `kubectl rollout undo deployment/web`.\n\n"
        "```bash\nkubectl rollout undo deployment/web\n```\n"
    )
    assert j.root_cause == "the image lacked the CA bundle."
    assert [c.text for c in j.solution_commands] == ["kubectl rollout undo deployment/web"]


def test_at_and_tilde_lead_a_time() -> None:
    got = _steps_of(
        "## Log\n\n- at 14:02 ran `kubectl get pods -n web` (2s)\n- @14:03 `make smoke`\n"
    )
    assert [(c.text, c.started_at) for c in got] == [
        ("kubectl get pods -n web", datetime(2025, 12, 1, 14, 2)),
        ("make smoke", datetime(2025, 12, 1, 14, 3)),
    ]
    assert find_timestamp("at 5 pods we stopped") is None


def test_item_remark_annotates_the_fenced_command_under_it() -> None:
    fence = "```"
    got = _steps_of(
        "Steps:\n\n1. Upgrade the release (took ~2m):\n\n"
        f"   {fence}bash\n   helm upgrade web ./chart -n web --set image.tag=1.2.3 --wait\n   {fence}\n\n"
        f"2. Wait for it — 40s, exit 0:\n\n   {fence}bash\n   kubectl rollout status deploy/web\n   {fence}\n\n"
        f"3. Smoke test, exit code 22 (1s):\n\n   {fence}\n   $ curl -fsS https://web.example/health\n"
        f"   curl: (22) The requested URL returned error: 503\n   {fence}\n"
    )
    assert [(c.exit_code, c.duration_s) for c in got] == [(None, 120.0), (0, 40.0), (22, 1.0)]


def test_hex_ids_and_transitions_are_not_durations() -> None:
    assert remark_duration("Running upgrade a3f1c9e2d7b4 -> 5d8e2b7c1f09") is None
    assert remark_duration("(5d8e2b7c)") is None
    assert remark_duration("took 2m30s.") == 150.0
