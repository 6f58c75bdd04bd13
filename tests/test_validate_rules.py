"""Lint rules: for each rule a minimal runbook that fails it and one that passes."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from runbook.model import Finding
from runbook.validate import RULES, validate_runbook

TODAY = date(2025, 12, 28)

GOOD = """# Runbook: Migration - orders database

**Generated**: 2025-12-01
**Last Validated**: 2025-12-01
**Estimated Duration**: ~20 minutes
**Runbook Owner**: data-platform
**Review Frequency**: Quarterly

## Overview

**Purpose**: Apply the pending schema migrations of the orders database.

## Prerequisites

- [ ] Maintenance window announced

## Procedure

### Step 1: Snapshot the cluster

**Command**:
```sh
aws rds create-db-cluster-snapshot --db-cluster-identifier orders-prod --db-cluster-snapshot-identifier pre-migration-{date}
```

**Parameters**:
- `{date}` — today's date, e.g. `2025-12-28`

**Verification**:
```sh
aws rds wait db-cluster-snapshot-available --db-cluster-snapshot-identifier pre-migration-{date}
```

### Step 2: Check the current revision

**Command**:
```sh
alembic current
```

### Step 3: Review the SQL

**Command**:
```sh
alembic upgrade head --sql > /tmp/migration.sql
```

### Step 4: Apply the migrations

**Command**:
```sh
alembic upgrade head
```

**Verification**:
```sh
alembic current
```

**Expected**: the head revision

### Step 5: Drop the old staging table

**Command**:
```sh
psql "$DATABASE_URL" -c "DROP TABLE orders_import_tmp"
```

**Verification**:
```sh
psql "$DATABASE_URL" -c "select count(*) from orders"
```

## Verification

### Check 1: Application health

```sh
curl -fsS https://orders.example.com/health
```

## Rollback Procedure

#### Step 1: Downgrade

```sh
alembic downgrade -1
```

## Monitoring

- Database CPU

## Troubleshooting

### Issue 1: Lock timeout

**Symptoms**:
- `canceling statement due to lock timeout`

**Solution**:
```sh
alembic upgrade head
```

## Related Resources

- [Migration notes](notes/migrations.md)
"""


def lint(tmp_path: Path, text: str, today: date = TODAY) -> list[Finding]:
    path = tmp_path / "runbooks" / "migration-orders.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / "runbooks" / "notes").mkdir(exist_ok=True)
    (tmp_path / "runbooks" / "notes" / "migrations.md").write_text("notes\n", encoding="utf-8")
    path.write_text(text, encoding="utf-8")
    result = validate_runbook(
        path, display="runbooks/migration-orders.md", today=today, root=tmp_path
    )
    return list(result.findings)


def ids(findings: list[Finding]) -> set[str]:
    return {f.rule for f in findings}


def only(findings: list[Finding], rule: str) -> list[Finding]:
    return [f for f in findings if f.rule == rule]


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.split("\n"), 1) if needle in line)


def test_good_runbook_is_clean(tmp_path: Path) -> None:
    assert lint(tmp_path, GOOD) == []


def test_every_rule_has_a_name_severity_and_summary() -> None:
    for rule_id, rule in RULES.items():
        assert rule.id == rule_id and rule.name and rule.summary
        assert rule.severity in ("error", "warning", "notice")


# ------------------------------------------------------------------ RB101 sections


def test_rb101_missing_sections(tmp_path: Path) -> None:
    text = GOOD.replace("## Monitoring\n\n- Database CPU\n\n", "").replace(
        "## Related Resources", "## Links"
    )
    found = only(lint(tmp_path, text), "RB101")
    assert [f.message for f in found] == ["missing section `## Monitoring`"]
    assert found[0].severity == "warning" and found[0].line == 1


def test_rb101_missing_procedure_is_an_error(tmp_path: Path) -> None:
    text = GOOD.split("## Procedure")[0] + "## Verification" + GOOD.split("## Verification", 1)[1]
    found = only(lint(tmp_path, text), "RB101")
    assert any(f.severity == "error" and "Procedure" in f.message for f in found)


def test_rb101_accepts_heading_variants(tmp_path: Path) -> None:
    text = (
        GOOD.replace("## Rollback Procedure", "## Rolling back")
        .replace("## Troubleshooting", "## Common issues")
        .replace("## Related Resources", "## See also")
    )
    assert "RB101" not in ids(lint(tmp_path, text))


# ------------------------------------------------------------------ RB102 / RB113 header


def test_rb102_missing_and_unfilled_header_fields(tmp_path: Path) -> None:
    text = GOOD.replace("**Runbook Owner**: data-platform\n", "").replace(
        "**Estimated Duration**: ~20 minutes", "**Estimated Duration**: {X} minutes"
    )
    messages = [f.message for f in only(lint(tmp_path, text), "RB102")]
    assert any("Runbook Owner" in m and "missing" in m for m in messages)
    assert not any("Estimated Duration" in m and "missing" in m for m in messages)


def test_rb102_unfilled_template_value(tmp_path: Path) -> None:
    text = GOOD.replace("**Runbook Owner**: data-platform", "**Runbook Owner**: {Team/Individual}")
    found = only(lint(tmp_path, text), "RB102")
    assert len(found) == 1 and "not filled in" in found[0].message
    assert found[0].line == line_of(text, "Runbook Owner")


def test_rb113_unreadable_date(tmp_path: Path) -> None:
    text = GOOD.replace("**Last Validated**: 2025-12-01", "**Last Validated**: early December")
    found = only(lint(tmp_path, text), "RB113")
    assert found and found[0].line == line_of(text, "Last Validated")


# ------------------------------------------------------------------ RB103 step count


def test_rb103_too_few_steps(tmp_path: Path) -> None:
    start = GOOD.index("### Step 3:")
    end = GOOD.index("## Verification")
    found = only(lint(tmp_path, GOOD[:start] + GOOD[end:]), "RB103")
    assert len(found) == 1 and "only 2 steps" in found[0].message


def test_rb103_too_many_steps_without_phases(tmp_path: Path) -> None:
    extra = "".join(
        f"### Step {n}: Check again\n\n```sh\nalembic current\n```\n\n" for n in range(6, 13)
    )
    text = GOOD.replace("## Verification\n", extra + "## Verification\n", 1)
    found = only(lint(tmp_path, text), "RB103")
    assert len(found) == 1 and "12 steps and no phases" in found[0].message
    phased = text.replace("## Procedure\n", "## Procedure\n\n### Phase 1: Prepare\n", 1)
    phased = phased.replace("### Step", "#### Step")
    assert "RB103" not in ids(lint(tmp_path, phased))


# ------------------------------------------------------------------ RB104 / RB105 steps


def test_rb104_step_without_command(tmp_path: Path) -> None:
    text = GOOD.replace(
        "### Step 2: Check the current revision\n\n**Command**:\n```sh\nalembic current\n```\n",
        "### Step 2: Tell the team\n\nPost in #data that the migration starts.\n",
    )
    found = only(lint(tmp_path, text), "RB104")
    assert len(found) == 1 and found[0].line == line_of(text, "### Step 2")
    manual = text.replace("Post in #data", "**Manual**: post in #data")
    assert "RB104" not in ids(lint(tmp_path, manual))


def test_rb105_ambiguous_wording(tmp_path: Path) -> None:
    text = GOOD.replace(
        "### Step 3: Review the SQL\n",
        "### Step 3: Review the SQL\n\nRead it and check if it looks ok.\n",
    )
    found = only(lint(tmp_path, text), "RB105")
    assert len(found) == 1 and found[0].severity == "error"
    assert found[0].line == line_of(text, "check if it looks ok")
    # The same words next to a real check are fine.
    checked = text.replace(
        "alembic upgrade head --sql > /tmp/migration.sql\n```\n",
        "alembic upgrade head --sql > /tmp/migration.sql\n```\n\n**Verification**:\n```sh\n"
        "grep -c 'ALTER TABLE' /tmp/migration.sql\n```\n",
    )
    assert "RB105" not in ids(lint(tmp_path, checked))


@pytest.mark.parametrize(
    "phrase", ["Make sure it works.", "Verify everything.", "Check if it looks good."]
)
def test_rb105_phrases_of_the_original(tmp_path: Path, phrase: str) -> None:
    text = GOOD.replace(
        "### Step 2: Check the current revision\n\n**Command**:\n```sh\nalembic current\n```\n",
        f"### Step 2: Look around\n\n**Manual**: {phrase}\n",
    )
    assert "RB105" in ids(lint(tmp_path, text))


# ------------------------------------------------------------------ RB106 unverified change


def test_rb106_state_change_without_verification(tmp_path: Path) -> None:
    text = GOOD.replace(
        "alembic upgrade head\n```\n\n**Verification**:\n```sh\nalembic current\n```\n\n"
        "**Expected**: the head revision\n",
        "alembic upgrade head\n```\n",
    )
    found = only(lint(tmp_path, text), "RB106")
    assert len(found) == 1 and "Step 4 (Apply the migrations)" in found[0].message
    lines = text.split("\n")
    assert lines[found[0].line - 1] == "alembic upgrade head"


def test_rb106_check_in_the_next_step_counts(tmp_path: Path) -> None:
    text = GOOD.replace(
        "alembic upgrade head\n```\n\n**Verification**:\n```sh\nalembic current\n```\n\n"
        "**Expected**: the head revision\n",
        "alembic upgrade head\n```\n\n### Step 4b: Show the revision\n\n```sh\nalembic current\n```\n",
    )
    assert "RB106" not in ids(lint(tmp_path, text))


# ------------------------------------------------------------------ RB107 destructive


@pytest.mark.parametrize(
    "command",
    [
        'psql "$DATABASE_URL" -c "TRUNCATE orders_import_tmp"',
        "rm -rf /var/lib/orders/exports",
        "terraform destroy -target=module.orders_tmp",
        "kubectl delete namespace orders-tmp",
        "aws s3 rm s3://orders-exports/ --recursive",
    ],
)
def test_rb107_destructive_without_backup(tmp_path: Path, command: str) -> None:
    no_backup = GOOD.split("### Step 1:")[0] + "### Step 1:" + GOOD.split("### Step 1:")[1]
    no_backup = no_backup.replace(
        "aws rds create-db-cluster-snapshot --db-cluster-identifier orders-prod "
        "--db-cluster-snapshot-identifier pre-migration-{date}",
        command,
    ).replace("Snapshot the cluster", "Clean up")
    no_backup = no_backup.replace(
        "aws rds wait db-cluster-snapshot-available --db-cluster-snapshot-identifier pre-migration-{date}",
        "alembic current",
    ).replace("- `{date}` — today's date, e.g. `2025-12-28`", "- none")
    found = only(lint(tmp_path, no_backup), "RB107")
    assert found and found[0].severity == "error"
    assert found[0].line == line_of(no_backup, command)


def test_rb107_backup_before_drop_passes_and_drop_first_fails(tmp_path: Path) -> None:
    assert "RB107" not in ids(lint(tmp_path, GOOD))  # Step 1 snapshots before Step 5 drops
    drop_first = GOOD.replace(
        "aws rds create-db-cluster-snapshot --db-cluster-identifier orders-prod "
        "--db-cluster-snapshot-identifier pre-migration-{date}",
        'psql "$DATABASE_URL" -c "DROP TABLE orders_import_tmp"',
    ).replace("Snapshot the cluster", "Clean up")
    drop_first = drop_first.replace(
        "aws rds wait db-cluster-snapshot-available --db-cluster-snapshot-identifier pre-migration-{date}",
        "alembic current",
    )
    found = only(lint(tmp_path, drop_first), "RB107")
    assert found and found[0].line == line_of(drop_first, "DROP TABLE")


# ------------------------------------------------------------------ RB108 / RB109 placeholders


def test_rb108_unexplained_placeholder(tmp_path: Path) -> None:
    text = GOOD.replace("alembic downgrade -1", "alembic downgrade {previous-revision}")
    found = only(lint(tmp_path, text), "RB108")
    assert len(found) == 1 and "{previous-revision}" in found[0].message
    assert found[0].line == line_of(text, "alembic downgrade")
    explained = text.replace(
        "## Rollback Procedure\n",
        "## Rollback Procedure\n\nWhere `{previous-revision}` is the revision before the upgrade.\n",
    )
    assert "RB108" not in ids(lint(tmp_path, explained))


def test_rb108_ignores_shell_and_json_braces(tmp_path: Path) -> None:
    text = GOOD.replace(
        "curl -fsS https://orders.example.com/health",
        "curl -s -o /dev/null -w '%{http_code}' https://orders.example.com/health "
        "&& echo ${HOME} && echo '{\"a\": 1}'",
    )
    assert "RB108" not in ids(lint(tmp_path, text))


def test_rb109_explained_but_unused(tmp_path: Path) -> None:
    text = GOOD.replace(
        "- `{date}` — today's date, e.g. `2025-12-28`",
        "- `{date}` — today's date, e.g. `2025-12-28`\n- `{cluster}` — the cluster, e.g. `orders-prod`",
    )
    found = only(lint(tmp_path, text), "RB109")
    assert len(found) == 1 and "{cluster}" in found[0].message


# ------------------------------------------------------------------ RB110 secrets


def test_rb110_secret_in_text(tmp_path: Path) -> None:
    key = "AKIA" + "Z7QW3ERT5YUI8OPA"  # split so this test file holds no key-shaped literal
    text = GOOD.replace(
        "- [ ] Maintenance window announced", f"- [ ] export AWS_ACCESS_KEY_ID={key}"
    )
    found = only(lint(tmp_path, text), "RB110")
    assert len(found) == 1 and found[0].line == line_of(text, "AWS_ACCESS_KEY_ID")
    assert key not in found[0].message and key not in found[0].hint


def test_no_finding_repeats_a_secret(tmp_path: Path) -> None:
    password = "Xk9" + "vQ2mL7pR4tZ8"
    text = GOOD.replace(
        'psql "$DATABASE_URL" -c "DROP TABLE orders_import_tmp"',
        f'mysql -u admin --password={password} -e "DROP TABLE orders_import_tmp"',
    )
    text = text.replace("Snapshot the cluster", "Prepare").replace(
        "aws rds create-db-cluster-snapshot --db-cluster-identifier orders-prod "
        "--db-cluster-snapshot-identifier pre-migration-{date}",
        "echo {date}",
    )
    text = text.replace(
        "aws rds wait db-cluster-snapshot-available --db-cluster-snapshot-identifier pre-migration-{date}",
        "alembic current",
    )
    findings = lint(tmp_path, text)
    assert {"RB107", "RB110"} <= ids(findings)  # RB107 quotes the command
    assert all(password not in f.message and password not in f.hint for f in findings)


# ------------------------------------------------------------------ RB111 links


def test_rb111_broken_and_escaping_links(tmp_path: Path) -> None:
    text = GOOD.replace(
        "- [Migration notes](notes/migrations.md)",
        "- [Migration notes](notes/migrations.md)\n- [Gone](notes/gone.md)\n"
        "- [Outside](../../etc/passwd)\n- [Web](https://example.com/x)\n- [Top](#overview)\n"
        "- [Nowhere](#no-such-heading)",
    )
    found = only(lint(tmp_path, text), "RB111")
    messages = sorted(f.message for f in found)
    assert len(found) == 3
    assert any("notes/gone.md" in m and "no such file" in m for m in messages)
    assert any("outside the repository root" in m for m in messages)
    assert any("#no-such-heading" in m for m in messages)


# ------------------------------------------------------------------ RB112 review date


def test_rb112_review_overdue(tmp_path: Path) -> None:
    # Quarterly from 2025-12-01: due 2026-03-01.
    assert "RB112" not in ids(lint(tmp_path, GOOD, today=date(2026, 3, 1)))
    found = only(lint(tmp_path, GOOD, today=date(2026, 3, 2)), "RB112")
    assert len(found) == 1 and "due 2026-03-01 (1 days ago)" in found[0].message
    assert found[0].line == line_of(GOOD, "Last Validated")


def test_rb112_monthly_and_every_n_weeks(tmp_path: Path) -> None:
    monthly = GOOD.replace("**Review Frequency**: Quarterly", "**Review Frequency**: Monthly")
    assert "RB112" in ids(lint(tmp_path, monthly, today=date(2026, 1, 2)))
    weekly = GOOD.replace("**Review Frequency**: Quarterly", "**Review Frequency**: every 2 weeks")
    assert "RB112" in ids(lint(tmp_path, weekly, today=date(2025, 12, 16)))
    assert "RB112" not in ids(lint(tmp_path, weekly, today=date(2025, 12, 15)))


# ------------------------------------------------------------------ suppression


def test_rules_can_be_disabled_per_file(tmp_path: Path) -> None:
    text = GOOD.replace("**Review Frequency**: Quarterly", "**Review Frequency**: Monthly")
    text += "\n<!-- runbook-validate: disable=RB112 -->\n"
    assert "RB112" not in ids(lint(tmp_path, text, today=date(2026, 6, 1)))
