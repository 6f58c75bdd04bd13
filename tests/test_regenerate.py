"""Regenerating without clobbering people: section-level 3-way merge, --check and --diff."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from _validate_corpus import base_corpus, deploy
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from runbook.cli import main
from runbook.regenerate import base_path, merge, sections, split_marker, sync_generated
from runbook.render.markdown import add_marker, marker_state

BASE = """# Runbook: Deployment - api

**Generated**: 2025-12-01
**Runbook Owner**: unassigned

## Overview

Deploy the api.

## Procedure

### Step 1: Build

```sh
# build the image
make build
```

### Step 2: Deploy

```sh
make deploy
```

## Troubleshooting

No failure recorded.
"""


def gen(body: str) -> str:
    return add_marker(body)


# ------------------------------------------------------------------ merge


def test_sections_are_cut_at_headings_outside_fences() -> None:
    keys = [k for k, _t, _x in sections(BASE)]
    assert keys == [
        "",
        "overview",
        "procedure",
        "step 1: build",
        "step 2: deploy",
        "troubleshooting",
    ]
    assert "# build the image" in dict((k, x) for k, _t, x in sections(BASE))["step 1: build"]


def test_person_only_change_is_kept_and_evidence_only_change_is_taken() -> None:
    ours = gen(BASE).replace("make build\n", "make build  # on the arm64 runner\n")
    theirs = gen(BASE.replace("No failure recorded.", "### Issue 1: Timeout\n\nRetry."))
    result = merge(gen(BASE), ours, theirs)
    assert result.conflicts == ()
    assert result.kept == ("Step 1: Build",)
    assert "Troubleshooting" in result.updated
    assert "# on the arm64 runner" in result.text and "### Issue 1: Timeout" in result.text
    # The marker still hashes the generation, so the merged file reads as edited.
    assert marker_state(result.text) == "edited"


def test_both_changed_the_same_lines_is_a_conflict() -> None:
    ours = gen(BASE).replace("make deploy", "make deploy ENV=prod")
    theirs = gen(BASE.replace("make deploy", "make release"))
    result = merge(gen(BASE), ours, theirs)
    assert result.conflicts == ("Step 2: Deploy",)
    assert "make deploy ENV=prod" in result.text  # the person's text stays in the merged view


def test_both_changed_different_lines_of_a_section_merge() -> None:
    base = BASE.replace("### Step 2: Deploy\n", "### Step 2: Deploy\n\n*Seen in 4/4 runs*\n")
    ours = gen(base).replace(
        "make deploy\n```\n", "make deploy\n```\n\nNote: page #oncall first.\n"
    )
    theirs = gen(base.replace("*Seen in 4/4 runs*", "*Seen in 5/5 runs*"))
    result = merge(gen(base), ours, theirs)
    assert result.conflicts == ()
    assert "*Seen in 5/5 runs*" in result.text and "Note: page #oncall first." in result.text


def test_header_owner_edit_survives_a_new_generated_date() -> None:
    ours = gen(BASE).replace("**Runbook Owner**: unassigned", "**Runbook Owner**: payments")
    theirs = gen(BASE.replace("2025-12-01", "2025-12-28"))
    result = merge(gen(BASE), ours, theirs)
    assert result.conflicts == ()
    assert "**Runbook Owner**: payments" in result.text
    assert "**Generated**: 2025-12-28" in result.text


def test_sections_added_by_the_person_keep_their_place() -> None:
    ours = gen(BASE).replace(
        "## Troubleshooting", "## Escalation\n\nCall Dana.\n\n## Troubleshooting"
    )
    theirs = gen(BASE.replace("Deploy the api.", "Deploy the api (11 runs)."))
    result = merge(gen(BASE), ours, theirs)
    body = split_marker(result.text)[0]
    assert body.index("## Escalation") < body.index("## Troubleshooting")
    assert body.index("### Step 2: Deploy") < body.index("## Escalation")
    assert "Deploy the api (11 runs)." in body


def test_section_dropped_by_the_evidence_goes_unless_the_person_edited_it() -> None:
    fewer = BASE.replace("### Step 2: Deploy\n\n```sh\nmake deploy\n```\n\n", "")
    result = merge(gen(BASE), gen(BASE), gen(fewer))
    assert "Step 2" not in result.text and result.text == gen(fewer)
    edited = gen(BASE).replace("make deploy", "make deploy ENV=prod")
    assert merge(gen(BASE), edited, gen(fewer)).conflicts == ("Step 2: Deploy",)


def test_unedited_file_merges_to_exactly_the_new_generation() -> None:
    theirs = gen(BASE.replace("make build", "make image"))
    assert merge(gen(BASE), gen(BASE), theirs).text == theirs


def test_sync_generated_ignores_a_date_only_change() -> None:
    old = gen(BASE)
    new = gen(BASE.replace("2025-12-01", "2026-01-05"))
    synced = sync_generated(new, old)
    assert synced == old and marker_state(synced) == "unedited"


def test_base_path_is_under_dot_runbook(tmp_path: Path) -> None:
    target = tmp_path / "runbooks" / "x.md"
    assert base_path(tmp_path, target) == tmp_path / ".runbook" / "generated" / "runbooks" / "x.md"


# ------------------------------------------------------------------ through the CLI


def run(root: Path, *args: str, now: str = "2025-12-28") -> tuple[int, str, str]:
    result = CliRunner().invoke(
        main,
        ["generate", "deployment", "billing-api", "--root", str(root), *args],
        env={"RUNBOOK_NOW": now},
        catch_exceptions=False,
    )
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def root(tmp_path: Path) -> Path:
    base_corpus(tmp_path)
    return tmp_path


def target(root: Path, day: str = "2025-12-28") -> Path:
    return root / "runbooks" / f"{day}-deployment-billing-api.md"


def test_check_and_diff(root: Path) -> None:
    code, out, err = run(root, "--check")
    assert code == 1 and "would write" in err and not target(root).exists()
    assert run(root)[0] == 0
    assert (root / ".runbook" / "generated" / "runbooks" / target(root).name).is_file()
    assert run(root, "--check")[0] == 0
    # Another day, same evidence: only the Generated date would differ -> up to date.
    code, _, err = run(root, "--check", now="2026-01-04")
    assert code == 0 and "is up to date" in err
    # New evidence changes the runbook.
    deploy(root, datetime(2025, 10, 20, 10), "f00ba44")
    code, out, err = run(root, "--check", "--diff")
    assert code == 1 and "would change" in err
    assert out.startswith(f"--- a/{target(root).name}\n+++ b/{target(root).name}\n")
    assert "-**Last Validated**: 2025-10-05" in out and "+**Last Validated**: 2025-10-20" in out
    assert target(root).read_text(encoding="utf-8").count("2025-10-05") >= 1  # nothing written
    code, diff_only, _ = run(root, "--diff")  # like black: --diff alone shows, --check fails
    assert code == 0 and diff_only == out


def test_edits_are_kept_when_the_evidence_moves_on(root: Path) -> None:
    assert run(root)[0] == 0
    path = target(root)
    text = path.read_text(encoding="utf-8")
    assert "**Last Validated**: 2025-10-05" in text
    edited = text.replace("## Overview\n", "## Overview\n\n> Freeze: no deploys on Fridays.\n", 1)
    path.write_text(edited, encoding="utf-8")
    deploy(root, datetime(2025, 10, 20, 10), "f00ba44")
    code, _, err = run(root)
    assert code == 0 and "kept your edits" in err and "Overview" in err
    merged = path.read_text(encoding="utf-8")
    assert "> Freeze: no deploys on Fridays." in merged
    assert "**Last Validated**: 2025-10-20" in merged
    assert not path.with_name(path.stem + ".new.md").exists()


def test_conflicting_edit_writes_the_new_version_beside(root: Path) -> None:
    assert run(root)[0] == 0
    path = target(root)
    text = path.read_text(encoding="utf-8")
    edited = text.replace(
        "**Last Validated**: 2025-10-05", "**Last Validated**: 2025-10-06 (dry run)"
    )
    path.write_text(edited, encoding="utf-8")
    deploy(root, datetime(2025, 10, 20, 10), "f00ba44")
    code, _, err = run(root)
    assert code == 0
    assert "both you and the new evidence changed" in err and "“(header)”" in err
    assert path.read_text(encoding="utf-8") == edited  # untouched
    beside = path.with_name(path.stem + ".new.md")
    assert "**Last Validated**: 2025-10-20" in beside.read_text(encoding="utf-8")
    code, _, err = run(root, "--check")
    assert code == 1 and "conflicting edits" in err


def test_a_new_dated_file_carries_the_edits_of_the_previous_one(root: Path) -> None:
    assert run(root)[0] == 0
    old = target(root)
    old.write_text(
        old.read_text(encoding="utf-8").replace(
            "## Overview\n", "## Overview\n\nAsk #payments.\n", 1
        ),
        encoding="utf-8",
    )
    code, _, err = run(root, now="2026-01-04")
    new = target(root, "2026-01-04")
    assert code == 0 and new.is_file() and "kept your edits in" in err
    assert "Ask #payments." in new.read_text(encoding="utf-8")


def test_without_a_stored_base_an_edited_file_is_left_alone(root: Path) -> None:
    path = target(root)
    path.parent.mkdir(parents=True)
    path.write_text("# Runbook: Deployment - billing-api\n\nWritten by hand.\n", encoding="utf-8")
    code, _, err = run(root)
    assert code == 0 and "edited by hand" in err
    assert path.read_text(encoding="utf-8").endswith("Written by hand.\n")
    assert path.with_name(path.stem + ".new.md").is_file()


# ------------------------------------------------------------------ merge properties

_LINES = st.sampled_from(["text", "more text", "```sh", "```", "make deploy", "- item", ""])
_SECTION = st.builds(
    lambda title, body: f"## {title}\n" + "\n".join(body),
    st.sampled_from(["Overview", "Procedure", "Step 1: Build", "Rollback", "Notes"]),
    st.lists(_LINES, max_size=4),
)
_DOC = st.builds(
    lambda parts: "# Runbook: Deployment - api\n\n**Generated**: 2025-12-01\n\n" + "\n".join(parts),
    st.lists(_SECTION, max_size=5),
)


@settings(max_examples=120, deadline=None)
@given(_DOC, _DOC)
def test_merge_without_person_edits_is_the_new_generation(base: str, theirs: str) -> None:
    assert merge(gen(base), gen(base), gen(theirs)).text == gen(theirs)


@settings(max_examples=120, deadline=None)
@given(_DOC, _DOC)
def test_merge_without_new_evidence_keeps_the_person_file(base: str, ours: str) -> None:
    result = merge(gen(base), gen(ours), gen(base))
    assert result.conflicts == ()
    merged = [(k, x.strip("\n")) for k, _t, x in sections(split_marker(result.text)[0])]
    assert merged == [(k, x.strip("\n")) for k, _t, x in sections(ours)]


def test_crlf_from_an_editor_is_no_edit() -> None:
    theirs = gen(BASE.replace("make build", "make image"))
    assert merge(gen(BASE), gen(BASE).replace("\n", "\r\n"), theirs).text == theirs


def test_json_check_ignores_a_new_generated_date(root: Path) -> None:
    assert run(root, "--format", "json")[0] == 0
    code, _, err = run(root, "--format", "json", "--check", now="2026-01-04")
    assert code == 0 and "is up to date" in err


def test_sections_are_cut_at_the_headings_commonmark_sees() -> None:
    doc = "\n".join(
        [
            "# Runbook: X",
            "",
            "## Procedure",
            "```bash",
            "## a comment in a fence",
            "```",
            "    ## an indented code block",
            "> ## a quoted heading stays in its section",
            "",
            "Setext Title",
            "------------",
            "### Step 1: Build ###",
            "## Procedure",
        ]
    )
    assert [(k, t) for k, t, _x in sections(doc)] == [
        ("", "(header)"),
        ("procedure", "Procedure"),
        ("setext title", "Setext Title"),
        ("step 1: build", "Step 1: Build"),
        ("procedure#2", "Procedure"),
    ]
    assert "".join(x + "\n" for _k, _t, x in sections(doc)) == doc + "\n"
