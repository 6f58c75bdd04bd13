"""Reading runbooks back: template fields, tolerant step headings, list procedures, never a crash."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runbook.model import OperationType
from runbook.runbook_parse import (
    operation_from_text,
    parse_runbook,
    parse_runbook_file,
    placeholders_in,
    shell_commands,
    written_date,
)
from runbook.validate import lint

VARIANTS = """---
title: Payments API deploy
owner: payments
last_validated: 2025-11-02
review: quarterly
---

# Deploy payments-api

## Steps

## 1. Build

```bash
$ make image TAG={tag}
Successfully built 3f2a
```

Expected Duration: ~2-3 minutes

## Step 2 — Push

```sh {"name":"push","interactive":"false"}
docker push registry.example.com/payments:{tag} \\
  --quiet
```

Verify: `docker manifest inspect registry.example.com/payments:{tag}` shows the digest

## Step 3: Roll out (optional)

```
kubectl -n payments set image deploy/payments api=registry.example.com/payments:{tag}
```

**If Failed**:
- Check: the image pull secret
- Fallback: `kubectl -n payments rollout undo deploy/payments`
"""


def test_tolerant_variants_are_read() -> None:
    parsed = parse_runbook(VARIANTS, "deploy.md")
    assert parsed.title == "Deploy payments-api"
    assert parsed.operation_type is OperationType.DEPLOYMENT and parsed.scope == "payments-api"
    assert parsed.owner == "payments" and parsed.review_frequency == "quarterly"
    assert parsed.last_validated == date(2025, 11, 2)
    assert [(s.number, s.title) for s in parsed.steps] == [
        (1, "Build"),
        (2, "Push"),
        (3, "Roll out"),
    ]
    build, push, rollout = parsed.steps
    assert build.commands[0].commands == (
        "make image TAG={tag}",
    )  # prompt stripped, output dropped
    assert build.expected_duration_s == 150.0
    assert push.commands[0].commands == ("docker push registry.example.com/payments:{tag} --quiet",)
    assert push.commands[0].name == "push" and ("interactive", "false") in push.commands[0].attrs
    assert push.commands[0].lines == (parsed.steps[1].commands[0].line,)
    assert push.verification[0].commands == (
        "docker manifest inspect registry.example.com/payments:{tag}",
    )
    assert rollout.optional and rollout.placeholders == ("tag",)
    assert rollout.if_failed == (
        "Check: the image pull secret",
        "Fallback: `kubectl -n payments rollout undo deploy/payments`",
    )


def test_numbered_list_procedure() -> None:
    text = """# Runbook: Scaling - workers

## Procedure

1. Check the queue depth: `aws sqs get-queue-attributes --queue-url {queue-url} --attribute-names All`
2. Scale out:
   ```sh
   aws ecs update-service --cluster prod --service workers --desired-count {count}
   ```
3. Watch the service until it is stable: `aws ecs wait services-stable --cluster prod --services workers`
"""
    parsed = parse_runbook(text)
    assert parsed.operation_type is OperationType.SCALING
    assert [s.number for s in parsed.steps] == [1, 2, 3]
    assert parsed.steps[0].commands[0].commands[0].startswith("aws sqs get-queue-attributes")
    assert parsed.steps[1].commands[0].commands == (
        "aws ecs update-service --cluster prod --service workers --desired-count {count}",
    )
    assert parsed.steps[1].line == 6


def test_a_comment_in_a_fence_is_not_a_heading() -> None:
    text = "# Runbook: Rollback - api\n\n## Procedure\n\n### Step 1: Revert\n\n```sh\n# Step 2: not a step\nhelm rollback api\n```\n"
    parsed = parse_runbook(text)
    assert [s.title for s in parsed.steps] == ["Revert"]
    assert parsed.steps[0].commands[0].commands == ("helm rollback api",)


def test_shell_commands_join_continuations_and_keep_heredocs() -> None:
    body = "# comment\naws s3 cp a \\\n  s3://b/\ncat <<EOF > x\nline\nEOF\n"
    assert [c for _o, c in shell_commands(body)] == [
        "aws s3 cp a s3://b/",
        "cat <<EOF > x\nline\nEOF",
    ]


def test_placeholders_skip_shell_and_format_braces() -> None:
    texts = ["curl -w '%{http_code}' {url}", "echo ${HOME} {{ jinja }}", "v{version} {"]
    assert placeholders_in(texts) == ("url", "version")


def test_operation_type_from_titles() -> None:
    assert operation_from_text("Runbook: Incident Response - API timeout") == (
        OperationType.INCIDENT,
        "API timeout",
    )
    assert operation_from_text("Runbook: Migration - Aurora schema change")[0] is (
        OperationType.MIGRATION
    )
    assert operation_from_text("Rolling back the frontend")[0] is OperationType.ROLLBACK
    assert operation_from_text("Team lunch")[0] is OperationType.NONE


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "# Runbook: Deployment - x",
                "## Procedure",
                "### Step 1: Go",
                "## 2. Two",
                "```sh",
                "```",
                "~~~",
                "**Command**:",
                "**Expected Duration**: ~",
                "**Last Validated**: 2025-13-45",
                "**Review Frequency**: every 0 days",
                "- [link](../../x.md)",
                "- `{a}` — thing",
                "rm -rf / {b}",
                "| a | b |",
                "|---|---|",
                "<details>",
                "---",
                "1. item `cmd x`",
                "",
            ]
        )
        | st.text(max_size=40),
        max_size=40,
    )
)
def test_parse_and_lint_never_crash(lines: list[str]) -> None:
    text = "\n".join(lines)
    parsed = parse_runbook(text, "x.md")
    findings = lint(parsed, text, today=date(2025, 12, 28))
    assert all(f.line >= 1 for f in findings)


def test_declared_type_and_scope_beat_the_title(tmp_path: Path) -> None:
    text = (
        "# Payments cut-over\n\n**Type**: migration\n**Scope**: payments database\n\n## Procedure\n"
    )
    parsed = parse_runbook(text)
    assert parsed.operation_type is OperationType.MIGRATION
    assert parsed.scope == "payments database"
    # The JSON sidecar of a generated runbook wins over both.
    path = tmp_path / "x.md"
    path.write_text(text, encoding="utf-8")
    (tmp_path / "x.json").write_text(
        json.dumps({"schema_version": 1, "operation_type": "rollback", "scope": "payments"}),
        encoding="utf-8",
    )
    sidecar = parse_runbook_file(path)
    assert (sidecar.operation_type, sidecar.scope) == (OperationType.ROLLBACK, "payments")


def test_generated_phases_at_the_step_level() -> None:
    steps = "".join(f"### Step {n}: Do {n}\n\n```sh\nmake step{n}\n```\n\n" for n in range(1, 13))
    text = (
        "# Runbook: Deployment - api\n\n## Procedure\n\n"
        "### Phase 1: Build (steps 1–6)\n\n<details>\n<summary>6 steps</summary>\n\n"
        + steps.split("### Step 7")[0]
        + "</details>\n\n### Phase 2: Deploy (steps 7–12)\n\n<details>\n<summary>6 steps</summary>\n\n"
        + "### Step 7"
        + steps.split("### Step 7")[1]
        + "</details>\n\n## Verification\n"
    )
    parsed = parse_runbook(text)
    assert parsed.phases == ("Build", "Deploy")
    assert [s.number for s in parsed.steps] == list(range(1, 13))
    assert {s.phase for s in parsed.steps[:6]} == {"Build"}
    assert parsed.steps[6].phase == "Deploy"
    assert all(len(s.commands) == 1 for s in parsed.steps)


def test_steps_introduced_by_bold_paragraphs() -> None:
    text = """# Runbook: Deployment - docs site

## Procedure

**Step 1: Build the site**

```sh
hugo --minify
```

Expected Duration: ~20 s

**Step 2 — Publish**

```sh
aws s3 sync public/ s3://docs-example-com/ --delete
```

Step 3: Check the home page

Verify: `curl -fsS https://docs.example.com/` returns 200
"""
    parsed = parse_runbook(text)
    assert [(s.number, s.title) for s in parsed.steps] == [
        (1, "Build the site"),
        (2, "Publish"),
        (3, "Check the home page"),
    ]
    assert parsed.steps[0].commands[0].commands == ("hugo --minify",)
    assert parsed.steps[0].expected_duration_s == 20.0
    assert parsed.steps[2].verification[0].commands == ("curl -fsS https://docs.example.com/",)


def test_unindented_fence_under_a_numbered_item_belongs_to_it() -> None:
    text = (
        "# Runbook: Rollback - api\n\n## Procedure\n\n1. Find the previous release\n\n"
        "```sh\nhelm history api -n prod\n```\n\n2. Roll back\n\n```sh\nhelm rollback api -n prod\n```\n"
    )
    parsed = parse_runbook(text)
    assert [s.title for s in parsed.steps] == ["Find the previous release", "Roll back"]
    assert parsed.steps[1].commands[0].commands == ("helm rollback api -n prod",)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-12-16", date(2025, 12, 16)),
        ("2025-12-16 (newest supporting run)", date(2025, 12, 16)),
        ("Dec 16, 2025", date(2025, 12, 16)),
        ("16 December 2025", date(2025, 12, 16)),
        ("September 3rd, 2025", date(2025, 9, 3)),
        ("16/12/2025", date(2025, 12, 16)),
        ("12/16/2025", date(2025, 12, 16)),
        ("03/04/2025", None),  # March 4th or 3 April: not guessed
        ("2025-02-30", None),
        ("early December", None),
    ],
)
def test_written_dates(text: str, expected: date | None) -> None:
    assert written_date(text) == expected


def test_header_written_as_a_table() -> None:
    text = (
        "# Runbook: Scaling - workers\n\n| Field | Value |\n|---|---|\n"
        "| **Owner** | queue-team |\n| Last validated | 2025-11-30 |\n"
        "| Review frequency | Quarterly |\n| Estimated duration | ~25 min |\n\n## Procedure\n"
    )
    parsed = parse_runbook(text)
    assert parsed.owner == "queue-team" and parsed.review_frequency == "Quarterly"
    assert parsed.last_validated == date(2025, 11, 30)
    assert parsed.estimated_duration_s == 1500.0
