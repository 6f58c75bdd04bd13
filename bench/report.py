"""The bench's one table (plain text) and `bench/RESULTS.md` (markdown), from scored results."""

from __future__ import annotations

import os
import platform
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.scale import ScaleResult
from bench.score import TARGETS, Score
from bench.spec import Scenario

COLUMNS: tuple[tuple[str, str], ...] = (
    ("recall", "recall"),
    ("precision", "prec"),
    ("kendall_tau", "tau"),
    ("parameterization", "param"),
    ("noise_rejection", "noise"),
    ("verification_pairing", "verif"),
    ("duration_error", "dur.err"),
    ("steps_within_20", "steps±20%"),
    ("troubleshooting_coverage", "ts.cov"),
    ("leaked_secrets", "leaks"),
)
SYSTEMS = ("tool", "latest-run", "most-frequent")
MIN_VISIBLE = 8  # the targets apply to scenarios with at least this many visible runs


@dataclass(slots=True)
class ScenarioResult:
    """Everything measured for one scenario."""

    scenario: Scenario
    visible: int
    visible_success: int
    held_out: int
    files: int
    scores: dict[str, Score] = field(default_factory=dict)  # system -> score
    tool_error: str = ""
    tool_seconds: float = 0.0

    def targets_apply(self) -> bool:
        return self.visible >= MIN_VISIBLE


def machine() -> dict[str, str]:
    """Platform, CPU count, Python version and RAM (from /proc/meminfo when present)."""
    ram = "unknown"
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                    break
    except OSError:
        pass
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        load = (
            "load average {:.1f} / {:.1f} / {:.1f} (1/5/15 min) when the report was written".format(
                *os.getloadavg()
            )
        )
    except OSError:
        load = "load average unknown"
    return {
        "load": load,
        "platform": platform.platform(),
        "cpu": f"{cpu} ({os.cpu_count()} logical CPUs)",
        "python": platform.python_version(),
        "ram": ram,
    }


def fmt(name: str, value: float | None) -> str:
    """A figure for the table."""
    if value is None:
        return "–"
    if name == "leaked_secrets":
        return str(int(value))
    return f"{value:.2f}"


def passes(name: str, value: float | None) -> bool | None:
    """Whether a figure meets its target (None when not applicable)."""
    if value is None:
        return None
    op, target = TARGETS[name]
    return value >= target if op == ">=" else value <= target


def better(name: str, a: float | None, b: float | None) -> bool:
    """`a` strictly better than `b` for this figure (missing counts as worst)."""
    if a is None:
        return False
    if b is None:
        return True
    op, _ = TARGETS[name]
    return a > b if op == ">=" else a < b


def _cell(r: ScenarioResult, system: str, name: str, marks: bool) -> str:
    s = r.scores.get(system)
    if s is None:
        return "error" if system == "tool" else "–"
    v = s.figure(name)
    text = fmt(name, v)
    if marks and system == "tool" and r.targets_apply() and passes(name, v) is False:
        text += "✗"
    return text


def table(
    results: list[ScenarioResult], systems: tuple[str, ...] = SYSTEMS, title: str = "scenario"
) -> str:
    """The plain-text table printed on stdout (✗ marks a missed target)."""
    head = [title, "system", *[c for _, c in COLUMNS]]
    rows = [head]
    for r in results:
        for system in systems:
            label = r.scenario.name if system == systems[0] else ""
            rows.append([label, system, *[_cell(r, system, n, True) for n, _ in COLUMNS]])
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = []
    for i, row in enumerate(rows):
        lines.append(
            "  ".join(
                c.ljust(w) if j < 2 else c.rjust(w)
                for j, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def misses(results: list[ScenarioResult]) -> list[str]:
    """One line per missed target of the tool."""
    out = []
    for r in results:
        if not r.targets_apply():
            continue
        s = r.scores.get("tool")
        if s is None:
            out.append(f"{r.scenario.name}: tool produced no runbook ({r.tool_error})")
            continue
        for name in s.misses():
            op, target = TARGETS[name]
            out.append(
                f"{r.scenario.name}: {name} = {fmt(name, s.figure(name))} (target {op} {target:g})"
            )
    return out


def _worst(name: str, values: list[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    if not vals:
        return None
    op, _ = TARGETS[name]
    return min(vals) if op == ">=" else max(vals)


def _worst_rows(
    base: list[ScenarioResult], extra: dict[int, list[ScenarioResult]]
) -> list[tuple[str, dict[str, float | None], bool]]:
    """Per scenario: the tool's worst figure over all seeds, and whether a seed had no output."""
    rows = []
    for i, r in enumerate(base):
        runs = [r] + [extra[seed][i] for seed in sorted(extra)]
        broken = any("tool" not in x.scores for x in runs)
        worst = {
            n: _worst(n, [x.scores["tool"].figure(n) for x in runs if "tool" in x.scores])
            for n, _ in COLUMNS
        }
        rows.append((r.scenario.name, worst, broken))
    return rows


def robustness_table(base: list[ScenarioResult], extra: dict[int, list[ScenarioResult]]) -> str:
    """Plain-text table of the tool's worst figure per scenario across all seeds."""
    head = ["scenario (worst of seeds)", *[c for _, c in COLUMNS]]
    rows = [head]
    for name, worst, broken in _worst_rows(base, extra):
        cells = [
            fmt(n, worst[n]) + ("✗" if passes(n, worst[n]) is False else "") for n, _ in COLUMNS
        ]
        rows.append([name + (" (a seed failed)" if broken else ""), *cells])
    return _plain(rows)


def robustness_misses(
    base: list[ScenarioResult], extra: dict[int, list[ScenarioResult]]
) -> list[str]:
    """Targets missed under some other seed (the main seed's misses are listed separately)."""
    return [f"seed {seed}: {m}" for seed in sorted(extra) for m in misses(extra[seed])]


FORMAT_NOTES = {
    "observations": "`/observe` notes, session notes, journals (the per-scenario table above)",
    "ci-log": "GitHub Actions run logs + the workflow; no noise, no fix commands",
    "shell-history": "zsh / bash / fish / atuin histories with personal work around the runs; no output",
    "cast": "asciinema v2 / v3 recordings, one per run",
    "mixed-format": "each operator's own habit (notes, CI, casts, history) + journals; casts also in history",
}


def _format_rows(formats: dict[str, list[ScenarioResult]]) -> list[list[str]]:
    rows = []
    for name, results in formats.items():
        scored = [r for r in results if "tool" in r.scores]
        cells = []
        for n, _ in COLUMNS:
            worst = _worst(n, [r.scores["tool"].figure(n) for r in scored if r.targets_apply()])
            cells.append(fmt(n, worst) + ("✗" if passes(n, worst) is False else ""))
        failed = len(results) - len(scored)
        dup = [r.scores["tool"].details.get("double_counted") for r in scored]
        dups = [d for d in dup if d is not None]
        copies = sum(r.scores["tool"].details.get("duplicated_runs", 0) for r in scored)
        rows.append(
            [
                name,
                f"{len(scored)}" + (f" (+{failed} no runbook)" if failed else ""),
                *cells,
                f"{sum(dups)}/{copies}" if dups else "–",
            ]
        )
    return rows


def _plain(rows: list[list[str]]) -> str:
    """Rows (the first is the head) as aligned plain text: first column left, others right."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    out = []
    for i, row in enumerate(rows):
        out.append(
            "  ".join(
                c.ljust(w) if j == 0 else c.rjust(w)
                for j, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if i == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def format_table(formats: dict[str, list[ScenarioResult]]) -> str:
    """Plain-text table: per evidence format, the tool's worst figure over the scenarios."""
    head = ["format (worst of scenarios)", "scen.", *[c for _, c in COLUMNS], "dbl"]
    rows = [head, *_format_rows(formats)]
    return _plain(rows)


def format_misses(formats: dict[str, list[ScenarioResult]]) -> list[str]:
    """Missed targets per machine-record format (observations are the main table's)."""
    out = []
    for name, results in formats.items():
        if name == "observations":
            continue
        out += [f"format {name}: {m}" for m in misses(results)]
        for r in results:
            s = r.scores.get("tool")
            if s is not None and s.details.get("double_counted"):
                out.append(
                    f"format {name}: {r.scenario.name}: {s.details['double_counted']} of "
                    f"{s.details['duplicated_runs']} runs recorded twice were not merged"
                )
    return out


def _formats_md(formats: dict[str, list[ScenarioResult]]) -> list[str]:
    lines = [
        "",
        "### Quality per evidence format",
        "",
        "The same simulated runs (same seed, same held-out split) written in one evidence format at a",
        "time, each scenario in its own corpus; each cell is the tool's worst figure over the",
        "scenarios the format applies to (CI logs: not incident responses). ts.cov is `–` where the",
        "format cannot hold an error text and its fix (CI logs hold no hand-typed fix; histories",
        "hold no output). `dbl` = runs recorded twice on purpose (a cast whose commands are also in",
        "the operator's shell history) that the tool did not merge, per its own duplicate report",
        "(`runbook sources --json`) / runs recorded twice.",
        "",
        "| format | what it is | scenarios | " + " | ".join(c for _, c in COLUMNS) + " | dbl |",
        "|---|---|---|" + "|".join("---" for _ in COLUMNS) + "|---|",
    ]
    for row in _format_rows(formats):
        note = FORMAT_NOTES.get(row[0], "")
        lines.append(f"| `{row[0]}` | {note} | " + " | ".join(row[1:]) + " |")
    for name, results in formats.items():
        if name == "observations":
            continue
        lines += [
            "",
            f"#### Format `{name}` per scenario",
            "",
            "| scenario | files | "
            + " | ".join(c for _, c in COLUMNS)
            + " | runs used (tool's summary) |",
            "|---|---|" + "|".join("---" for _ in COLUMNS) + "|---|",
        ]
        lines += _used_rows(results, lambda r: f"`{r.scenario.name}` | {r.files}")
    return lines


def _used_rows(results: list[ScenarioResult], first: Callable[[ScenarioResult], str]) -> list[str]:
    """Table rows: the first cells, the tool's figures, and its own summary of the runs used."""
    rows = []
    for r in results:
        s = r.scores.get("tool")
        used = "; ".join(s.details.get("runs_used") or []) if s else r.tool_error
        cells = [_cell(r, "tool", n, True) for n, _ in COLUMNS]
        rows.append(f"| {first(r)} | " + " | ".join(cells) + f" | {used.replace('|', '/')} |")
    return rows


def scale_misses(scale: list[ScaleResult]) -> list[str]:
    """One line per missed scale target (10k cold ≤ 5× floor, 10k warm < 1 s, 100k < 1 GB)."""
    out = []
    for x in scale:
        if x.runs == 10_000 and x.cold is not None:
            cr = x.ratio("cold")
            if not x.cold.ok or cr is None or cr > 5:
                out.append(
                    f"scale 10k: cold {x.cold.seconds:.1f} s = {cr or 0:.0f}× the read-all floor (target ≤ 5×)"
                )
            if x.warm is not None and (not x.warm.ok or x.warm.seconds >= 1):
                out.append(f"scale 10k: warm {x.warm.seconds:.1f} s (target < 1 s)")
        if (
            x.runs == 100_000
            and x.cold is not None
            and (not x.cold.ok or x.cold.max_rss_mb >= 1024)
        ):
            what = (
                f"peak {x.cold.max_rss_mb:.0f} MB"
                if x.cold.ok
                else f"did not finish ({x.error or 'no output'})"
            )
            out.append(f"scale 100k: {what} (target: completes under 1 GB)")
    return out


def beats_baselines(results: list[ScenarioResult]) -> dict[str, tuple[int, int]]:
    """Per figure: (scenarios where the tool beats both baselines, scenarios scored)."""
    out: dict[str, tuple[int, int]] = {}
    for name, _ in COLUMNS:
        wins = total = 0
        for r in results:
            t = r.scores.get("tool")
            if t is None:
                total += 1
                continue
            tv = t.figure(name)
            bvs = [r.scores[b].figure(name) for b in SYSTEMS[1:] if b in r.scores]
            if tv is None and all(b is None for b in bvs):
                continue
            total += 1
            # A tie at the best possible value (e.g. 0 leaks, recall 1.0) is not a loss.
            op, _ = TARGETS[name]
            perfect = 0.0 if op == "<=" else 1.0
            if all(better(name, tv, b) or (tv == b == perfect) for b in bvs):
                wins += 1
        out[name] = (wins, total)
    return out


def _md_table(results: list[ScenarioResult]) -> list[str]:
    head = ["scenario", "type", "runs (vis/held)", "system", *[c for _, c in COLUMNS]]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for r in results:
        for system in SYSTEMS:
            first = system == "tool"
            cells = [
                f"`{r.scenario.name}`" if first else "",
                r.scenario.operation_type if first else "",
                f"{r.visible}/{r.held_out}" if first else "",
                f"**{system}**" if first else system,
                *[_cell(r, system, n, True) for n, _ in COLUMNS],
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return lines


def _details(r: ScenarioResult) -> list[str]:
    s = r.scores.get("tool")
    lines = [f"### `{r.scenario.name}` — {r.scenario.title}", ""]
    lines.append(
        f'Stack: {r.scenario.stack}. Request: `runbook generate {r.scenario.operation_type} "{r.scenario.scope}"`. Evidence files: {r.files}; tool wall time {r.tool_seconds:.2f} s.'
    )
    lines.append("")
    if s is None:
        lines += [f"Tool error: `{r.tool_error}`", ""]
        return lines
    d: dict[str, Any] = s.details
    items: list[tuple[str, Any]] = [
        ("missing steps", d.get("missing_steps")),
        ("extra commands", [f"{x['command']} ({x['why']})" for x in d.get("extra_commands") or []]),
        (
            "output order (true step ids)",
            [" → ".join(d.get("output_order") or [])] if d.get("output_order") else [],
        ),
        ("verifications listed as commands", d.get("verifications_listed_as_commands")),
        ("true steps shown only as a verification", d.get("steps_shown_as_verification")),
        ("shell quoting dropped (the command no longer runs as recorded)", d.get("quoting_lost")),
        ("unpaired verifications", d.get("unpaired_verifications")),
        (
            f"parameterization errors (varying {d.get('param_varying')}, constant {d.get('param_constant')})",
            d.get("param_errors"),
        ),
        ("commands not scored for parameters (token count differs)", d.get("param_unscored")),
        ("noise kept", d.get("noise_kept")),
        ("leaked secrets", d.get("leaked")),
    ]
    for title, values in items:
        if values:
            lines.append(f"- {title}:")
            lines += [f"  - `{v}`" for v in values[:12]]
    if "total_truth_s" in d:
        lines.append(
            f"- total duration: estimate {d.get('total_estimate_s')} s vs held-out median {d['total_truth_s']} s"
        )
    bad = [x for x in d.get("step_durations") or [] if not x["ok"]]
    if bad:
        lines.append("- step durations outside ±20 %:")
        lines += [
            f"  - step {x['step']} ({', '.join(x['true_steps'])}): estimate {x['estimate_s']} s vs held-out median {x['truth_s']} s"
            for x in bad
        ]
    modes = (d.get("troubleshooting") or {}).get("modes") or {}
    for mode, m in modes.items():
        lines.append(
            f"- failure `{mode}`: visible {m['visible']}, held-out {m['held_out']}, signature found: {m['signature_found']}, fix found: {m['fix_found']}"
        )
    junk = d.get("troubleshooting_junk") or []
    if junk:
        lines.append(
            f"- troubleshooting entries matching no true failure mode: {len(junk)} of {d.get('troubleshooting_entries')}, e.g.:"
        )
        lines += [f"  - `{x}`" for x in junk[:5]]
    lines.append("")
    return lines


def _scale_md(scale: list[ScaleResult]) -> list[str]:
    if not scale:
        return ["No scale results yet (run without `--no-scale`)."]
    lines = [
        "| runs | files | MB | floor s (read all bytes) | cold s | cold × floor | cold peak MB | warm s | warm × floor | warm peak MB | steps | measured | note |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for x in scale:
        c, w = x.cold, x.warm
        cr, wr = x.ratio("cold"), x.ratio("warm")
        lines.append(
            "| "
            + " | ".join(
                [
                    f"{x.runs:,}",
                    f"{x.files:,}",
                    f"{x.bytes / 1e6:.0f}",
                    f"{x.floor_s:.2f}",
                    f"{c.seconds:.2f}" if c else "–",
                    f"{cr:.1f}" if cr else "–",
                    f"{c.max_rss_mb:.0f}" if c else "–",
                    f"{w.seconds:.2f}" if w else "–",
                    f"{wr:.1f}" if wr else "–",
                    f"{w.max_rss_mb:.0f}" if w else "–",
                    str(x.steps) if x.steps is not None else "–",
                    x.measured or "–",
                    x.error.replace("|", "/")[:120],
                ]
            )
            + " |"
        )
    lines.append("")
    lines.append(
        "Targets: 10,000 runs cold ≤ 5× floor, warm < 1 s; 100,000 runs peak memory < 1 GB."
    )
    for x in scale:
        if x.runs == 10_000 and x.cold and x.warm:
            cr = x.ratio("cold") or 0.0
            lines.append(
                f"- 10k cold {cr:.1f}× floor: {'PASS' if x.cold.ok and cr <= 5 else 'MISS'}; warm {x.warm.seconds:.2f} s: {'PASS' if x.warm.ok and x.warm.seconds < 1 else 'MISS'}"
            )
        if x.runs == 100_000 and x.cold:
            lines.append(
                f"- 100k peak {x.cold.max_rss_mb:.0f} MB: {'PASS' if x.cold.ok and x.cold.max_rss_mb < 1024 else 'MISS'}"
            )
    return lines


def scale_table(scale: list[ScaleResult]) -> str:
    """Plain-text scale summary for stdout."""
    out = []
    for x in scale:
        if x.cold is None:
            out.append(f"scale {x.runs:>7,}: skipped — {x.error}")
            continue
        w = x.warm
        out.append(
            f"scale {x.runs:>7,}: {x.files:,} files {x.bytes / 1e6:.0f} MB, floor {x.floor_s:.2f} s; "
            f"cold {x.cold.seconds:.2f} s ({x.ratio('cold') or 0:.1f}× floor, {x.cold.max_rss_mb:.0f} MB); "
            + (
                f"warm {w.seconds:.2f} s ({x.ratio('warm') or 0:.1f}× floor, {w.max_rss_mb:.0f} MB)"
                if w
                else "warm –"
            )
            + (f"  [{x.error}]" if x.error else "")
        )
    return "\n".join(out)


def results_markdown(
    results: list[ScenarioResult],
    scale: list[ScaleResult],
    *,
    day: str,
    command: str,
    seed: int,
    runs: int,
    holdout: float,
    code: str = "",
    extra: dict[int, list[ScenarioResult]] | None = None,
    mixed: list[ScenarioResult] | None = None,
    formats: dict[str, list[ScenarioResult]] | None = None,
) -> str:
    """The whole `bench/RESULTS.md`."""
    m = machine()
    lines = [
        "# Benchmark results",
        "",
        f"Measured {day} with `{command}` (seed {seed}, {runs} runs per scenario, newest {holdout:.0%} held out).",
        f"Tool code measured: {code or 'working tree'}. This file is written by `python -m bench`; do not edit it by hand.",
        "",
        f"Machine: {m['platform']} · {m['cpu']} · {m['ram']} RAM · Python {m['python']} · {m['load']}",
        "",
        "## Quality per scenario",
        "",
        "Figures: step recall and precision (normalized-template match), Kendall tau over matched steps",
        "(declared swappable pairs ignored), parameterization (mean of: varying tokens → placeholders,",
        "constant tokens literal), noise rejection, verification pairing, relative error of the estimated",
        "total vs the held-out median total, share of steps within ±20 % (at least ±1 s) of the held-out per-step median",
        "(command runtime), troubleshooting coverage of held-out failures (modes seen ≥ 2× in the visible",
        "runs; signature and true fix both present), planted secrets leaked. ✗ = tool misses the target.",
        "",
        *_md_table(results),
        "",
        "Targets: "
        + ", ".join(f"{n} {op} {t:g}" for n, (op, t) in TARGETS.items())
        + f" (scenarios with ≥ {MIN_VISIBLE} visible runs).",
        "",
        "### Tool vs baselines",
        "",
        "Scenarios where the tool is strictly better than both baselines (ties at a perfect value count as wins):",
        "",
    ]
    for name, (wins, total) in beats_baselines(results).items():
        lines.append(f"- {name}: {wins}/{total}")
    if extra:
        lines += [
            "",
            f"### Robustness: worst figure over seeds {', '.join(str(x) for x in [seed, *sorted(extra)])}",
            "",
            "The same scenarios simulated with other seeds (other values, noise, failures and author mix);",
            "each cell is the tool's worst figure for that scenario across the seeds.",
            "",
            "| scenario | " + " | ".join(c for _, c in COLUMNS) + " |",
            "|---|" + "|".join("---" for _ in COLUMNS) + "|",
        ]
        for name, worst, broken in _worst_rows(results, extra):
            cells = [
                fmt(n, worst[n]) + ("✗" if passes(n, worst[n]) is False else "") for n, _ in COLUMNS
            ]
            lines.append(
                f"| `{name}`{' (a seed failed)' if broken else ''} | " + " | ".join(cells) + " |"
            )
    if mixed:
        lines += [
            "",
            "### Mixed corpus: every scenario's evidence under one root",
            "",
            f"All {len(mixed)} scenarios' visible evidence ({mixed[0].files} files) in one directory; each request",
            "(type + scope) must select its own runs. Leaks count any scenario's planted secret.",
            "",
            "| scenario | request | "
            + " | ".join(c for _, c in COLUMNS)
            + " | runs used (tool's summary) |",
            "|---|---|" + "|".join("---" for _ in COLUMNS) + "|---|",
        ]
        lines += _used_rows(
            mixed,
            lambda r: f'`{r.scenario.name}` | `{r.scenario.operation_type} "{r.scenario.scope}"`',
        )
    if formats and len(formats) > 1:
        lines += _formats_md(formats)
    lines += ["", "### Missed targets", ""]
    miss = (
        misses(results)
        + robustness_misses(results, extra or {})
        + [f"mixed corpus: {m}" for m in misses(mixed or [])]
        + format_misses(formats or {})
        + scale_misses(scale)
    )
    lines += [f"- {x}" for x in miss] if miss else ["None."]
    lines += ["", "## Scale", "", *_scale_md(scale), "", "## Details per scenario (tool)", ""]
    for r in results:
        lines += _details(r)
    return "\n".join(lines).rstrip() + "\n"


def write_results(path: Path, text: str) -> None:
    """Write RESULTS.md."""
    path.write_text(text, encoding="utf-8")
