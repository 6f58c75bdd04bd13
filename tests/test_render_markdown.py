"""Markdown rendering: the original template section for section, golden files, determinism."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from _assemble_fixtures import make_runbook
from _golden import check_golden
from hypothesis import given, settings
from hypothesis import strategies as st

from runbook.model import Decision, Duration, Runbook, Step, Support
from runbook.render.markdown import (
    add_marker,
    cell,
    fence,
    format_duration,
    marker_state,
    render_markdown,
    root_link_for,
)


def outside_fences(text: str) -> list[str]:
    lines: list[str] = []
    inside = False
    for line in text.splitlines():
        if line.startswith("```"):
            inside = not inside
        elif not inside:
            lines.append(line)
    return lines


def test_golden_deployment(request: pytest.FixtureRequest) -> None:
    check_golden(request, "fixture-deployment-lambda.md", render_markdown(make_runbook()))


def test_sections_follow_the_original_template() -> None:
    text = render_markdown(make_runbook())
    headings = [line for line in outside_fences(text) if re.match(r"^#{1,2} ", line)]
    assert headings == [
        "# Runbook: Deployment - lambda",
        "## Overview",
        "## Prerequisites",
        "## Procedure",
        "## Verification",
        "## Rollback Procedure",
        "## Monitoring",
        "## Troubleshooting",
        "## Related Resources",
        "## Evidence Notes",
    ]
    for field in (
        "**Generated**: 2025-12-28",
        "**Last Validated**: 2025-12-11",
        "**Runbook Owner**:",
        "**Review Frequency**: Monthly",
        "**Estimated Duration**: ~6.5 minutes",
    ):
        assert field in text
    for sub in (
        "### Environment",
        "### Pre-Checks",
        "### Required Tools",
        "### Required Access",
        "### Rollback Steps",
        "### Alert Thresholds",
        "**Decision Matrix**:",
    ):
        assert sub in text
    assert "- [ ] " in text
    assert '```sh {"name":"step-4-update-the-lambda-function","interactive":"false"}' in text
    assert "**Expected Duration**: ~57 s (median of 11 runs; p90 1.5 min)" in text
    assert "### Step 6: Invalidate the CloudFront cache (optional — 3/11 runs)" in text
    assert text.count("*Seen in ") == 6
    assert "[docs/deployment/LAMBDA.md](../docs/deployment/LAMBDA.md)" in text


def test_fence_names_are_unique() -> None:
    names = re.findall(r'"name":"([^"]+)"', render_markdown(make_runbook()))
    assert len(names) == len(set(names))


def test_identical_bytes_for_identical_input() -> None:
    assert render_markdown(make_runbook()) == render_markdown(make_runbook())


def test_marker_detects_edits() -> None:
    text = render_markdown(make_runbook())
    assert marker_state(text) == "unedited"
    assert marker_state(text.replace("## Overview", "## Overview (edited)")) == "edited"
    assert marker_state("# my own runbook\n") == "none"
    assert marker_state(add_marker("x\n")) == "unedited"


def test_empty_sections_say_so() -> None:
    rb = make_runbook()
    bare: Runbook = replace(
        rb,
        steps=(),
        troubleshooting=(),
        verification_checks=(),
        rollback=replace(rb.rollback, steps=(), provenance="none"),
    )
    text = render_markdown(bare)
    assert "No step recurs across the recorded runs" in text
    assert "No failure of this operation is recorded" in text
    assert "No verification command was recorded" in text
    assert "rollback steps cannot be given from evidence" in text


def test_many_steps_are_grouped_into_phases() -> None:
    rb = make_runbook()
    base = rb.steps[0]
    steps = tuple(
        replace(base, number=i, name=f"step-{i}-x", phase="Build" if i < 7 else "Deploy")
        for i in range(1, 13)
    )
    text = render_markdown(replace(rb, steps=steps))
    assert "### Phase 1: Build (steps 1–6)" in text
    assert "### Phase 2: Deploy (steps 7–12)" in text
    assert text.count("<details>") == 2


def test_helpers() -> None:
    assert cell("a | b\nc") == "a \\| b c"
    assert fence("has ``` inside") == "````"
    assert format_duration(Duration(45, 70, 11)) == "~45 s (median of 11 runs; p90 70 s)"
    assert format_duration(None).startswith("unknown")
    assert format_duration(Duration(0.2, 0.4, 4)) == "<1 s (median of 4 runs; p90 <1 s)"
    assert format_duration(Duration(390, 520, 1)) == "~6.5 min (median of 1 run)"
    step: Step = make_runbook().steps[0]
    assert step.support == Support(11, 11)


def test_links_never_depend_on_the_current_directory() -> None:
    assert root_link_for("runbooks") == ".."
    assert root_link_for("docs/ops/runbooks") == "../../.."
    assert root_link_for(".") == "."
    assert root_link_for("../elsewhere") == "."  # unknown: root-relative, not guessed
    text = render_markdown(make_runbook(), root_link="../../repo")
    assert "](../../repo/docs/deployment/LAMBDA.md)" in text


def test_pipes_in_tables_are_escaped() -> None:
    rb = make_runbook()
    matrix = (Decision("exit code != 0 | grep ERROR", "Rollback", "observed: x.md"),)
    text = render_markdown(replace(rb, rollback=replace(rb.rollback, decision_matrix=matrix)))
    row = next(line for line in text.splitlines() if line.startswith("| exit code"))
    assert row == "| exit code != 0 \\| grep ERROR | Rollback | observed: x.md |"


# Any text the evidence holds (backticks, pipes, fences, unicode) renders without breaking the
# document: the marker still verifies and every code fence closes.
_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\x00"),
    max_size=60,
)


@settings(max_examples=60, deadline=None)
@given(command=_text, output=_text, title=_text, cause=_text)
def test_arbitrary_evidence_text_renders_safely(
    command: str, output: str, title: str, cause: str
) -> None:
    rb = make_runbook()
    step = replace(
        rb.steps[0],
        title=title if title.strip() else "t",
        commands=(command or "x",),
        expected_output=output,
    )
    issue = replace(rb.troubleshooting[0], cause=cause or "c", title=title or "t")
    text = render_markdown(replace(rb, steps=(step,), troubleshooting=(issue,)))
    assert marker_state(text) == "unedited"
    opened: str | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if opened is None:
            match = re.match(r"^(`{3,})", stripped)
            if match:
                opened = match.group(1)
        elif stripped == opened:
            opened = None
    assert opened is None, "a code fence was left open"
    heading = next(line for line in text.splitlines() if line.startswith("### Step 1: "))
    assert heading == "### Step 1: " + (" ".join(title.split()) or "t")


def test_placeholders_are_the_ones_run_and_validate_fill() -> None:
    from runbook.render.markdown import placeholders

    commands = [
        'curl -H "X: ${TOKEN}" https://{host}/api',  # a shell variable is not a parameter
        "kubectl get pods -o go-template='{{.metadata.name}}' -n {namespace}",
        "date +%{epoch} && helm upgrade api ./chart --set image.tag={image.tag}",
    ]
    assert placeholders(commands) == ["host", "image.tag", "namespace"]
