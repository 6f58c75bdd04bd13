"""`python -m bench`: simulate, render, run the tool, score it and the baselines, write RESULTS.md."""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.baselines import BASELINES
from bench.formats import (
    FORMATS,
    RECORDS_ERRORS,
    RECORDS_FIXES,
    applies,
    ci_simulation,
    mixed_simulation,
    write_format_corpus,
)
from bench.render_evidence import write_corpus
from bench.report import (
    ScenarioResult,
    format_misses,
    format_table,
    misses,
    results_markdown,
    robustness_misses,
    robustness_table,
    scale_misses,
    scale_table,
    table,
    write_results,
)
from bench.scale import load_results, run_scale, save_results
from bench.score import score
from bench.simulate import Simulation, simulate
from bench.spec import SCENARIO_DIR, SpecError, load_scenario, load_scenarios
from bench.tool import ToolResult, duplicates, generate, snapshot

HERE = Path(__file__).parent


def _sizes(text: str) -> list[int]:
    return [int(x.replace("_", "").replace(",", "")) for x in text.split(",") if x.strip()]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--scenarios", default="", help="comma-separated scenario names (default: all)")
    p.add_argument("--runs", type=int, default=60, help="runs simulated per scenario (default 60)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument(
        "--extra-seeds",
        default="11,23",
        help="more seeds for the robustness section (worst figure per scenario); '' to skip",
    )
    p.add_argument(
        "--holdout", type=float, default=0.3, help="newest share of runs held out (default 0.3)"
    )
    p.add_argument(
        "--scale",
        default="1000,10000",
        help="scale corpus sizes (default 1000,10000; add 100000 explicitly)",
    )
    p.add_argument("--no-scale", action="store_true", help="skip the scale runs")
    p.add_argument(
        "--warm-runs", type=int, default=2, help="warm scale runs, best kept (0: cold only)"
    )
    p.add_argument("--date", default="", help="date written in RESULTS.md (default: today)")
    p.add_argument(
        "--out", type=Path, default=HERE / "out", help="work directory for corpora (gitignored)"
    )
    p.add_argument("--results", type=Path, default=HERE / "RESULTS.md")
    p.add_argument("--no-results", action="store_true", help="print the table only")
    p.add_argument(
        "--working-tree",
        action="store_true",
        help="run the tool from the working tree, not a snapshot of HEAD",
    )
    p.add_argument(
        "--no-mixed",
        action="store_true",
        help="skip the mixed corpus (all scenarios under one root)",
    )
    p.add_argument(
        "--formats",
        default=",".join(f for f in FORMATS if f != "observations"),
        help="evidence formats measured one by one (default: every machine-record format and"
        " the mixed-format corpus; '' to skip)",
    )
    p.add_argument("--timeout", type=float, default=600.0, help="seconds per tool run (scale: 6x)")
    return p.parse_args(argv)


def truth_json(sim: Simulation) -> dict[str, Any]:
    """The held-out ground truth (and the visible split) as JSON, for inspection."""
    sc = sim.scenario
    return {
        "scenario": sc.name,
        "seed": sim.seed,
        "steps": [
            {
                "id": s.id,
                "command": s.action.command,
                "verify": s.verify.command if s.verify else None,
                "frequency": s.frequency,
            }
            for s in sc.steps
        ],
        "runs": [
            {
                "index": r.index,
                "split": "visible" if r in sim.visible else "held-out",
                "author": r.author,
                "style": r.style,
                "outcome": r.outcome,
                "started": r.started.isoformat(),
                "total_seconds": round(r.total_seconds, 1),
                "idle_seconds": round(r.idle_seconds, 1),
                "failure": None
                if r.failure is None
                else {
                    "mode": r.failure.mode,
                    "step": r.failure.step,
                    "rolled_back": r.failure.rolled_back,
                },
                "events": [
                    {
                        "kind": e.kind,
                        "step": e.step_id,
                        "text": e.text,
                        "exit": e.exit_code,
                        "start": e.start.isoformat(),
                        "seconds": e.duration,
                    }
                    for e in r.events
                ],
            }
            for r in sim.runs
        ],
    }


def _tool_result(
    sim: Simulation, root: Path, files: int, today: str, timeout: float, pythonpath: Path | None
) -> tuple[ScenarioResult, ToolResult]:
    """Run the tool on `root` for the scenario's request; the result is filled with its
    time (and its error, when it wrote no runbook), the tool's output is returned as is."""
    sc = sim.scenario
    res = ScenarioResult(
        scenario=sc,
        visible=len(sim.visible),
        visible_success=sum(1 for r in sim.visible if r.outcome == "success"),
        held_out=len(sim.held_out),
        files=files,
    )
    tool = generate(
        sc.operation_type, sc.scope, root, today=today, timeout=timeout, pythonpath=pythonpath
    )
    res.tool_seconds = tool.seconds
    if tool.output is None:
        tail = tool.stderr.strip().splitlines()[-1:] or ["no JSON on stdout"]
        res.tool_error = f"exit {tool.exit_code}: {tail[0][:200]}"
    return res, tool


def run_scenario(
    sim: Simulation, out: Path, today: str, timeout: float, pythonpath: Path | None = None
) -> ScenarioResult:
    """Write one scenario's corpus, run the tool on it and score it and the baselines."""
    sc = sim.scenario
    root = out / "corpus" / sc.name
    files = write_corpus(sim, root)
    (out / "truth").mkdir(parents=True, exist_ok=True)
    (out / "truth" / f"{sc.name}.json").write_text(json.dumps(truth_json(sim), indent=1))
    res, tool = _tool_result(sim, root, len(files), today, timeout, pythonpath)
    (out / "output").mkdir(parents=True, exist_ok=True)
    (out / "output" / f"{sc.name}.json").write_text(tool.stdout)
    (out / "output" / f"{sc.name}.stderr").write_text(tool.stderr)
    if tool.output is not None:
        res.scores["tool"] = score(tool.output, sim, raw_text=tool.stdout)
    for name, fn in BASELINES.items():
        output = fn(sim)
        res.scores[name] = score(output, sim, raw_text=json.dumps(output))
    return res


def run_mixed(
    sims: list[Simulation], root: Path, today: str, timeout: float, pythonpath: Path | None
) -> list[ScenarioResult]:
    """All scenarios' visible evidence under one root; each request must pick its own runs."""
    if root.exists():
        shutil.rmtree(root)
    files = 0
    for sim in sims:
        files += len(write_corpus(sim, root, clean=False))
    everyone = sorted({s for sim in sims for s in sim.planted_secrets()})
    out: list[ScenarioResult] = []
    for sim in sims:
        res, tool = _tool_result(sim, root, files, today, timeout, pythonpath)
        if tool.output is not None:
            s = score(tool.output, sim, raw_text=tool.stdout)
            # Any scenario's secret leaking counts here: they all live in this one corpus.
            s.leaked_secrets = sum(1 for x in everyone if x in tool.stdout)
            s.details["runs_used"] = tool.stderr.strip().splitlines()[-1:] or []
            res.scores["tool"] = s
        out.append(res)
    return out


def _runs_mined(summary: list[str]) -> int | None:
    """N from the tool's "Mined N runs …" / "Mined N successful runs …" summary line."""
    for line in summary:
        words = line.split()
        if len(words) > 1 and words[0] == "Mined" and words[1].isdigit():
            return int(words[1])
    return None


def _record(execution_id: str) -> str:
    if execution_id.endswith(".cast"):
        return "cast"
    return "history" if "/history/" in execution_id else "other"


def run_format(
    sim: Simulation, fmt: str, out: Path, today: str, timeout: float, pythonpath: Path | None
) -> ScenarioResult | None:
    """The scenario's visible runs written in one evidence format only, scored (None: n/a)."""
    sc = sim.scenario
    if not applies(fmt, sc.operation_type):
        return None
    if fmt == "ci-log":
        sim = ci_simulation(sim)  # CI has no think time: the truth is CI-shaped too
    elif fmt == "mixed-format":
        sim = mixed_simulation(sim)  # the runs a pipeline ran, on both sides of the split
    root = out / "formats" / fmt / sc.name
    corpus = write_format_corpus(sim, root, fmt)
    res, tool = _tool_result(sim, root, len(corpus.files), today, timeout, pythonpath)
    if tool.output is None:
        return res
    s = score(tool.output, sim, raw_text=tool.stdout)
    if not (RECORDS_ERRORS[fmt] and RECORDS_FIXES[fmt]):
        # the format cannot carry an error text or a fix: coverage is not measurable here
        s.troubleshooting_coverage = None
    summary = tool.stderr.strip().splitlines()[-1:] or []
    s.details["runs_used"] = summary
    s.details["runs_mined"] = _runs_mined(summary)
    if corpus.duplicated_runs:
        # Runs recorded twice on purpose: a cast whose commands are also in the operator's
        # history. The tool's own dedup report says how many of those pairs it merged.
        pairs = duplicates(root, timeout=timeout, pythonpath=pythonpath)
        if pairs is not None:
            merged = sum(1 for d, k in pairs if {_record(d), _record(k)} == {"cast", "history"})
            s.details["duplicated_runs"] = corpus.duplicated_runs
            s.details["double_counted"] = max(0, corpus.duplicated_runs - merged)
            s.details["merged_pairs"] = merged
    res.scores["tool"] = s
    return res


def main(argv: list[str] | None = None) -> int:
    """Run the bench; exit 0 even when targets are missed (it is a measurement)."""
    args = parse_args(argv)
    try:
        scenarios = load_scenarios([x for x in args.scenarios.split(",") if x] or None)
    except SpecError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    today = args.date or datetime.now(tz=UTC).date().isoformat()
    args.out.mkdir(parents=True, exist_ok=True)
    pythonpath, code = (None, "working tree") if args.working_tree else snapshot(args.out)
    print(f"bench: tool code: {code}", file=sys.stderr)
    results: list[ScenarioResult] = []
    sims: list[Simulation] = []
    for sc in scenarios:
        print(f"bench: {sc.name}: simulating {args.runs} runs, running the tool…", file=sys.stderr)
        sim = simulate(sc, args.runs, seed=args.seed, holdout=args.holdout)
        sims.append(sim)
        results.append(run_scenario(sim, args.out, today, args.timeout, pythonpath))
    print(table(results))
    mixed: list[ScenarioResult] = []
    if not args.no_mixed and len(sims) > 1:
        print("bench: mixed corpus: every scenario's evidence under one root…", file=sys.stderr)
        mixed = run_mixed(sims, args.out / "mixed", today, args.timeout, pythonpath)
        print()
        print(table(mixed, systems=("tool",), title="scenario (mixed corpus)"))
    formats: dict[str, list[ScenarioResult]] = {"observations": results} if results else {}
    for fmt in [f for f in args.formats.split(",") if f]:
        if fmt not in FORMATS:
            print(f"bench: unknown format {fmt!r}; known: {', '.join(FORMATS)}", file=sys.stderr)
            return 2
        if fmt == "observations":
            continue
        print(f"bench: format {fmt}: every scenario recorded only that way…", file=sys.stderr)
        done = [run_format(sim, fmt, args.out, today, args.timeout, pythonpath) for sim in sims]
        formats[fmt] = [x for x in done if x is not None]
    if len(formats) > 1:
        print()
        print(format_table(formats))
    extra: dict[int, list[ScenarioResult]] = {}
    for seed in _sizes(args.extra_seeds):
        if seed == args.seed:
            continue
        print(f"bench: robustness: seed {seed}…", file=sys.stderr)
        extra[seed] = [
            run_scenario(
                simulate(sc, args.runs, seed=seed, holdout=args.holdout),
                args.out / "seeds" / str(seed),
                today,
                args.timeout,
                pythonpath,
            )
            for sc in scenarios
        ]
    if extra:
        print()
        print(robustness_table(results, extra))
    scale_file = args.out / "scale-results.json"
    if not args.no_scale:
        sizes = _sizes(args.scale)
        print(f"bench: scale runs {sizes} (corpora under {args.out})…", file=sys.stderr)
        fresh = run_scale(
            load_scenario(SCENARIO_DIR / "lambda-deploy.yaml"),
            sizes,
            args.out,
            seed=args.seed,
            timeout=args.timeout * 6,
            today=today,
            warm_runs=args.warm_runs,
            pythonpath=pythonpath,
        )
        for r in fresh:
            r.measured = f"{today}, {code}"
        save_results(fresh, scale_file)
    # Earlier sizes (e.g. a 100k run made with --scale 100000) stay in the report, dated.
    scale = load_results(scale_file)
    if scale:
        print()
        print(scale_table(scale))
    miss = (
        misses(results)
        + robustness_misses(results, extra)
        + [f"mixed corpus: {m}" for m in misses(mixed)]
        + format_misses(formats)
        + scale_misses(scale)
    )
    if miss:
        print("\nMissed targets:")
        for m in miss:
            print(f"  - {m}")
    if not args.no_results:
        command = "python -m bench " + " ".join(
            shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:])
        )
        text = results_markdown(
            results,
            scale,
            day=today,
            command=command.strip(),
            seed=args.seed,
            runs=args.runs,
            holdout=args.holdout,
            code=code,
            extra=extra,
            mixed=mixed,
            formats=formats,
        )
        write_results(args.results, text)
        print(f"\nbench: wrote {args.results}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
