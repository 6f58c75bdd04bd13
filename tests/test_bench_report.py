"""Report, tool runner and scale plumbing (the tool itself is replaced by the oracle here)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import bench.__main__ as bench_main
from bench.baselines import oracle
from bench.report import beats_baselines, misses, results_markdown, table
from bench.scale import NotEnoughDisk, build_corpus, check_disk, read_floor
from bench.simulate import simulate
from bench.spec import load_scenarios
from bench.tool import ToolResult, measure


def test_measure_reports_exit_output_and_memory() -> None:
    res = measure(
        [sys.executable, "-c", "import sys; b = bytearray(30_000_000); print('hi'); sys.exit(3)"]
    )
    assert res.exit_code == 3
    assert res.stdout.strip() == "hi"
    assert res.max_rss_mb > 25  # the 30 MB buffer shows up in this child's peak RSS
    assert res.seconds > 0


def test_measure_times_out() -> None:
    res = measure([sys.executable, "-c", "import time; time.sleep(30)"], timeout=0.5)
    assert res.timed_out and res.exit_code != 0


def test_scale_corpus_is_one_file_per_run_and_reused(tmp_path: Path) -> None:
    sc = load_scenarios(["lambda-deploy"])[0]
    files, size, secs = build_corpus(sc, 25, tmp_path / "s", seed=1)
    assert files == 25 and size > 25 * 1000 and secs > 0
    on_disk = [p for p in (tmp_path / "s").rglob("*.md")]
    assert len(on_disk) == 25
    assert build_corpus(sc, 25, tmp_path / "s", seed=1) == (files, size, 0.0)  # manifest hit
    assert read_floor(tmp_path / "s") > 0


def test_disk_check_refuses_politely(tmp_path: Path) -> None:
    with pytest.raises(NotEnoughDisk, match="GB free"):
        check_disk(tmp_path / "not" / "yet", 10**12)


def _fake_generate(sim):  # type: ignore[no-untyped-def]
    def fake(
        operation_type: str,
        scope: str,
        root: Path,
        *,
        today: str,
        timeout: float,
        pythonpath: Path | None = None,
    ) -> ToolResult:
        assert (root / ".claude").is_dir()
        out = oracle(sim)
        return ToolResult(0, json.dumps(out), "", 0.1, 50.0, out)

    return fake


def test_run_scenario_and_markdown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sc = load_scenarios(["k8s-rollback"])[0]
    sim = simulate(sc, 30, seed=2)
    monkeypatch.setattr(bench_main, "generate", _fake_generate(sim))
    res = bench_main.run_scenario(sim, tmp_path, "2026-01-15", 10.0)
    assert set(res.scores) == {"tool", "latest-run", "most-frequent"}
    assert (tmp_path / "truth" / "k8s-rollback.json").exists()
    text = table([res])
    assert "k8s-rollback" in text and "latest-run" in text and "most-frequent" in text
    wins = beats_baselines([res])
    assert wins["verification_pairing"] == (1, 1)
    md = results_markdown(
        [res], [], day="2026-01-15", command="python -m bench", seed=2, runs=30, holdout=0.3
    )
    assert "Measured 2026-01-15" in md and "Python" in md and "RAM" in md
    assert "| `k8s-rollback` |" in md
    assert "No scale results yet" in md


def test_failed_tool_is_reported_not_fatal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sc = load_scenarios(["k8s-rollback"])[0]
    sim = simulate(sc, 12, seed=2)

    def broken(*_a: object, **_k: object) -> ToolResult:
        return ToolResult(1, "", "Traceback...\nValueError: boom", 0.1, 10.0, None)

    monkeypatch.setattr(bench_main, "generate", broken)
    res = bench_main.run_scenario(sim, tmp_path, "2026-01-15", 10.0)
    assert "tool" not in res.scores and "boom" in res.tool_error
    assert any("no runbook" in m for m in misses([res]))
    assert "error" in table([res])


def test_scale_results_round_trip_and_merge(tmp_path: Path) -> None:
    from bench.scale import ScaleResult, load_results, save_results

    path = tmp_path / "scale.json"
    assert load_results(path) == []
    cold = ToolResult(0, "{}", "Mined 10 runs", 2.0, 80.0, {})
    a = ScaleResult(1000, 1000, 3_000_000, 1.0, 0.05, cold, cold, 10, "", "2026-01-01")
    b = ScaleResult(10000, 10000, 30_000_000, 9.0, 0.4, cold, None, 10, "", "2026-01-02")
    save_results([a], path)
    save_results([b], path)
    got = load_results(path)
    assert [r.runs for r in got] == [1000, 10000]
    assert got[0].cold is not None and got[0].cold.ok and got[0].cold.seconds == 2.0
    assert got[1].warm is None and got[1].measured == "2026-01-02"
    assert got[0].ratio("cold") == pytest.approx(40.0)


def test_snapshot_freezes_committed_code(tmp_path: Path) -> None:
    from bench.tool import snapshot

    path, label = snapshot(tmp_path)
    if path is None:
        pytest.skip("git not available")
    assert (path / "runbook" / "__init__.py").exists()
    assert label.startswith("commit ")
    assert snapshot(tmp_path) == (path, label)  # reused


def test_scale_misses() -> None:
    from bench.report import scale_misses
    from bench.scale import ScaleResult

    slow = ToolResult(0, "{}", "", 50.0, 300.0, {})
    fast = ToolResult(0, "{}", "", 0.5, 300.0, {})
    big = ToolResult(0, "{}", "", 900.0, 1500.0, {})
    assert len(scale_misses([ScaleResult(10_000, 1, 1, 0, 1.0, slow, slow)])) == 2
    assert (
        scale_misses(
            [ScaleResult(10_000, 1, 1, 0, 1.0, ToolResult(0, "{}", "", 4.0, 1.0, {}), fast)]
        )
        == []
    )
    assert "1500 MB" in scale_misses([ScaleResult(100_000, 1, 1, 0, 1.0, big, None)])[0]


def test_robustness_reports_the_worst_seed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bench.report import robustness_misses, robustness_table

    sc = load_scenarios(["k8s-rollback"])[0]
    sim = simulate(sc, 20, seed=2)
    monkeypatch.setattr(bench_main, "generate", _fake_generate(sim))
    good = bench_main.run_scenario(sim, tmp_path / "a", "2026-01-15", 10.0)
    bad = bench_main.run_scenario(sim, tmp_path / "b", "2026-01-15", 10.0)
    bad.scores["tool"].recall = 0.5
    text = robustness_table([good], {11: [bad]})
    assert "0.50✗" in text
    assert robustness_misses([good], {11: [bad]}) == [
        "seed 11: k8s-rollback: recall = 0.50 (target >= 0.95)"
    ]
    md = results_markdown(
        [good], [], day="d", command="c", seed=2, runs=20, holdout=0.3, extra={11: [bad]}
    )
    assert (
        "Robustness: worst figure over seeds 2, 11" in md and "seed 11: k8s-rollback: recall" in md
    )


def test_mixed_corpus_scores_each_request(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sims = [simulate(sc, 12, seed=3) for sc in load_scenarios(["k8s-rollback", "lambda-rollback"])]

    def fake(operation_type: str, scope: str, root: Path, **_kw: object) -> ToolResult:
        sim = next(s for s in sims if s.scenario.scope == scope)
        assert (root / "docs").is_dir() or (root / ".claude").is_dir()
        out = oracle(sim)
        return ToolResult(0, json.dumps(out), "Mined 8 runs", 0.1, 50.0, out)

    monkeypatch.setattr(bench_main, "generate", fake)
    mixed = bench_main.run_mixed(sims, tmp_path / "mixed", "2026-01-15", 10.0, None)
    assert [r.scenario.name for r in mixed] == ["k8s-rollback", "lambda-rollback"]
    assert all(r.scores["tool"].recall == 1.0 for r in mixed)
    md = results_markdown(
        mixed, [], day="d", command="c", seed=3, runs=12, holdout=0.3, mixed=mixed
    )
    assert "Mixed corpus" in md and "Mined 8 runs" in md
