"""Evidence rendering: every style lands where the tool looks, in the layout DESIGN §4 describes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bench.render_evidence import fmt_duration, render_run, write_corpus
from bench.simulate import Simulation, simulate
from bench.spec import load_scenarios


@pytest.fixture(scope="module")
def sim() -> Simulation:
    return simulate(load_scenarios(["lambda-deploy"])[0], 60, seed=7)


def _files(sim: Simulation) -> dict[str, str]:
    out: dict[str, str] = {}
    for run in sim.visible:
        out.update(render_run(sim.scenario, run))
    return out


def test_every_style_and_record_kind_is_written(sim: Simulation) -> None:
    files = _files(sim)
    bodies = list(files.values())
    assert any("## Tool Calls" in b or "## Tool calls" in b for b in bodies)
    assert any("**Commands Executed**:" in b for b in bodies)
    assert any("## Raw Log" in b or "## Raw log" in b for b in bodies)
    assert any(p.startswith("docs/ops/sessions/") for p in files)
    assert any(re.search(r"/failure-\d{6}-", p) for p in files)
    assert any(p.startswith(".claude/journals/error/") for p in files)
    for path in files:
        if path.startswith(".claude/observations/"):
            assert re.fullmatch(
                r"\.claude/observations/\d{4}-\d{2}-\d{2}/(execution|failure)-\d{6}-deployed-lambda\.md",
                path,
            )


def test_tool_call_block_layout(sim: Simulation) -> None:
    run = next(
        r
        for r in sim.visible
        if r.style == "toolcalls" and r.author == "alice" and r.outcome == "success"
    )
    text = render_run(sim.scenario, run)[0][1]
    assert text.startswith("---\nmode: execution\n")
    first = run.events[0]
    assert (
        f"### Bash - {first.start:%Y-%m-%dT%H:%M:%SZ}\n\n**Input**:\n```bash\n{first.text}\n```"
        in text
    )
    assert "**Duration**: " in text and "**Time**: " in text


def test_failure_observation_has_no_resolution(sim: Simulation) -> None:
    runs = [r for r in sim.visible if r.failure is not None and r.failure.note]
    assert runs
    for run in runs:
        text = next(t for p, t in render_run(sim.scenario, run) if "/failure-" in p)
        assert "mode: failure" in text and "resolved: false" in text
        assert run.failure.message in text  # type: ignore[union-attr]
        for fix in (e.text for e in run.events if e.kind == "fix"):
            assert fix not in text
        assert "## Solution" not in text


def test_journal_records_the_fix(sim: Simulation) -> None:
    run = next(r for r in sim.visible if r.failure is not None and r.failure.journal)
    text = next(t for p, t in render_run(sim.scenario, run) if "/journals/" in p)
    assert "category: error" in text
    for heading in (
        "## Symptoms",
        "## Root Cause",
        "## Solution",
        "**Verification**:",
        "## Prevention",
    ):
        assert heading in text
    fixes = [e.text for e in run.events if e.kind == "fix"]
    for fix in fixes:
        assert fix in text


def test_write_corpus_holds_only_visible_runs(sim: Simulation, tmp_path: Path) -> None:
    written = write_corpus(sim, tmp_path / "c")
    blob = "".join((tmp_path / "c" / p).read_text() for p in written)
    for run in sim.held_out:
        assert run.values["version"] not in blob
    for run in sim.visible[:5]:
        assert run.values["git_sha"] in blob


@pytest.mark.parametrize(
    ("secs", "variant", "text"),
    [
        (95.2, 0, "1m 35s"),
        (95.2, 1, "95.2s"),
        (95.2, 2, "95 seconds"),
        (3725, 3, "01:02:05"),
        (4.25, 0, "4.2s"),
    ],
)
def test_fmt_duration(secs: float, variant: int, text: str) -> None:
    assert fmt_duration(secs, variant) == text


def test_prompt_style_for_spec_authors() -> None:
    sc = load_scenarios(["terraform-infra"])[0]
    sim = simulate(sc, 12, seed=1)
    run = next(r for r in sim.visible if r.style == "prompt" and r.outcome == "success")
    text = render_run(sc, run)[0][1]
    first = run.events[0]
    assert (
        f"[{first.start:%H:%M:%S}] {run.author}@bastion:~/deployed-infrastructure (main)$ {first.text}"
        in text
    )
    assert {r.author for r in sim.runs} <= {"grace", "heidi", "alice", "bob", "dave"}


def test_zsh_history_author_gets_one_history_file(tmp_path: Path) -> None:
    sc = load_scenarios(["terraform-infra"])[0]
    sim = simulate(sc, 30, seed=1)
    written = write_corpus(sim, tmp_path / "c")
    assert "ops/history/heidi/zsh_history" in written
    text = (tmp_path / "c" / "ops/history/heidi/zsh_history").read_text()
    heidi = [r for r in sim.visible if r.author == "heidi"]
    assert heidi and text.count("\n") == sum(len(r.events) for r in heidi)
    assert re.match(r": \d{10}:\d+;\S", text)
    assert not any(
        "heidi" in p
        for p in written
        if p.startswith(".claude/observations/") and "/execution-" in p
    )
