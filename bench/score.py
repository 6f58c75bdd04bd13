"""Score a runbook (the tool's ``--format json`` output, schema_version 1) against ground truth.

Commands are compared as *normalized templates*: on the truth side the spec's declared
``{var}`` references become ``<*>``; on the output side every ``{placeholder}`` (including
``{redacted:NAME}``) and common redaction markers become ``<*>``. Two commands match when
they have the same tokens, where a token holding ``<*>`` matches any token it globs (so
``report-worker:<*>`` matches ``report-worker:2.4.3`` and ``<*>`` matches either).
"""

from __future__ import annotations

import functools
import json
import re
import shlex
import statistics
from dataclasses import dataclass, field
from typing import Any

from bench.simulate import Run, Simulation

STAR = "<*>"
_DECLARED = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
_PLACEHOLDER = re.compile(r"\{[^{}\s]*\}")
# Redaction spellings other tools use; ours is {redacted:NAME}, caught by _PLACEHOLDER.
_REDACTION = re.compile(r"\[REDACTED[^\]]*\]|<redacted[^>]*>|\bREDACTED\b|\*{3,}", re.IGNORECASE)
_LEAD = re.compile(r"^\s*(?:[-*+]\s+|\d+[.)]\s+)?(?:\$\s+)?")
_BACKTICK = re.compile(r"`([^`]+)`")

TARGETS: dict[str, tuple[str, float]] = {
    "recall": (">=", 0.95),
    "precision": (">=", 0.95),
    "kendall_tau": (">=", 0.95),
    "parameterization": (">=", 0.95),
    "noise_rejection": (">=", 0.95),
    "verification_pairing": (">=", 0.9),
    "duration_error": ("<=", 0.2),
    "steps_within_20": (">=", 0.8),
    "troubleshooting_coverage": (">=", 0.9),
    "leaked_secrets": ("<=", 0.0),
}

# Step durations are compared within ±20 %, but never tighter than ±1 s: most evidence
# records whole seconds (zsh history, `time` output, CI step boundaries include the runner's
# step switch), so a 1.4 s step estimated at 1.8 s is as right as the records allow.
STEP_FLOOR_S = 1.0


@dataclass(slots=True)
class Score:
    """Quality figures for one runbook; None where the figure does not apply."""

    recall: float | None = None
    precision: float | None = None
    kendall_tau: float | None = None
    parameterization: float | None = None
    noise_rejection: float | None = None
    verification_pairing: float | None = None
    duration_error: float | None = None
    steps_within_20: float | None = None
    troubleshooting_coverage: float | None = None
    leaked_secrets: int = 0
    details: dict[str, Any] = field(default_factory=dict)

    def figure(self, name: str) -> float | None:
        """A figure by name (as in TARGETS)."""
        value = getattr(self, name)
        return None if value is None else float(value)

    def misses(self) -> list[str]:
        """Names of figures that miss their target."""
        out = []
        for name, (op, target) in TARGETS.items():
            v = self.figure(name)
            if v is None:
                continue
            ok = v >= target if op == ">=" else v <= target
            if not ok:
                out.append(name)
        return out


# ---------------------------------------------------------------------- normalization


def mask_truth(template: str, declared: frozenset[str]) -> str:
    """A spec template with declared variables (and any other brace groups) as ``<*>``."""
    t = _DECLARED.sub(lambda m: STAR if m.group(1) in declared else m.group(0), template)
    return " ".join(_PLACEHOLDER.sub(STAR, t).split())


def mask_output(text: str) -> str:
    """A command from the runbook with placeholders and redactions as ``<*>``."""
    t = text.replace("\\\n", " ").strip()
    t = _LEAD.sub("", t, count=1) if t.startswith(("$ ", "- ", "* ")) else t
    t = _PLACEHOLDER.sub(STAR, t)
    t = _REDACTION.sub(STAR, t)
    return " ".join(t.split())


def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(p) for p in pattern.split(STAR)) + r"\Z", re.DOTALL)


def _token_match(a: str, b: str) -> bool:
    if a == b:
        return True
    if STAR in a and _glob(a).match(b):
        return True
    return STAR in b and bool(_glob(b).match(a))


@functools.lru_cache(maxsize=65536)
def words(text: str) -> tuple[str, ...]:
    """Shell words of a command (quotes removed); plain split when the quoting is unbalanced.

    A redirection is its own word whether or not a space follows it (``2>/dev/null`` and
    ``2> /dev/null`` are the same command to the shell).
    """
    text = _REDIRECT.sub(lambda m: f" {m.group(1)} ", text)
    try:
        return tuple(shlex.split(text))
    except ValueError:
        return tuple(text.split())


# an unquoted redirection operator glued to its target: 2>/dev/null, >>log, &>out, 2>&1
# (the scorer's own wildcard <*> is no redirection)
_REDIRECT = re.compile(r"(?<![\w'\"=*])(\d?>>?|&>>?|<(?!\*>))(?=[^\s>&])")


def commands_match(a: str, b: str) -> bool:
    """True when two masked commands are the same template (placeholders glob, quotes ignored)."""
    if not a or not b:
        return False
    ta, tb = words(a), words(b)
    # Shell words already keep quoted values with spaces together, so the counts must agree.
    return len(ta) == len(tb) and all(_token_match(x, y) for x, y in zip(ta, tb, strict=True))


def quoting_lost(template: str, output: str) -> bool:
    """The runbook's command has a glob character the recording had quoted: it no longer runs as recorded."""
    if not any(q in template for q in "'\""):
        return False
    try:
        lex = shlex.shlex(output, posix=False)
        lex.whitespace_split = True
        tokens = list(lex)
    except ValueError:
        return False
    for tok in tokens:
        if tok[:1] in "'\"":
            continue
        bare = _PLACEHOLDER.sub("", tok.replace(STAR, ""))
        if any(ch in bare for ch in "*?["):
            return True
    return False


def _search(pattern: str, text: str) -> bool:
    if not pattern or not text:
        return False
    rx = re.compile(".*?".join(re.escape(p) for p in pattern.split(STAR)), re.DOTALL)
    return bool(rx.search(text))


def _candidates(line: str) -> list[str]:
    """Command-like pieces of a solution line: the line itself and any backtick spans."""
    out = [mask_output(_LEAD.sub("", line, count=1))]
    out += [mask_output(m) for m in _BACKTICK.findall(line)]
    return [c for c in out if c]


# ------------------------------------------------------------------------ truth facts


def varying_vars(sim: Simulation) -> frozenset[str]:
    """Declared variables that took at least two values in the visible runs."""
    seen: dict[str, set[str]] = {}
    for run in sim.visible:
        for k, v in run.values.items():
            seen.setdefault(k, set()).add(v)
    return frozenset(k for k, vs in seen.items() if len(vs) >= 2)


def visible_support(sim: Simulation) -> dict[str, int]:
    """How many visible successful runs ran each step."""
    out = {s.id: 0 for s in sim.scenario.steps}
    for run in sim.visible:
        if run.outcome != "success":
            continue
        for sid in set(run.step_order):
            out[sid] += 1
    return out


def failure_counts(runs: list[Run]) -> dict[str, int]:
    """Occurrences of each failure mode in these runs."""
    out: dict[str, int] = {}
    for run in runs:
        if run.failure is not None:
            out[run.failure.mode] = out.get(run.failure.mode, 0) + 1
    return out


# ---------------------------------------------------------------------------- scoring


@dataclass(slots=True)
class _Cmd:
    step_index: int  # index into output steps
    pos: int  # position in the procedure: step index * 10,000 + command index
    text: str  # as written
    masked: str


def _flatten(output: dict[str, Any]) -> tuple[list[dict[str, Any]], list[_Cmd]]:
    steps = [s for s in output.get("steps") or [] if isinstance(s, dict)]
    cmds: list[_Cmd] = []
    for i, step in enumerate(steps):
        for c in step.get("commands") or []:
            if isinstance(c, str):
                for line in _split_commands(c):
                    cmds.append(_Cmd(i, i * 10_000 + len(cmds), line, mask_output(line)))
    return steps, cmds


def _split_commands(text: str) -> list[str]:
    # A command entry may hold several lines; continuation backslashes join lines.
    joined = text.replace("\\\n", " ")
    return [ln for ln in (x.strip() for x in joined.splitlines()) if ln and not ln.startswith("#")]


def _verification_lines(step: dict[str, Any]) -> list[str]:
    v = step.get("verification")
    if not isinstance(v, dict) or not isinstance(v.get("command"), str):
        return []
    return [mask_output(x) for x in _split_commands(v["command"])]


def kendall_tau(
    truth_ranks: list[int], output_ranks: list[int], skip: set[tuple[int, int]]
) -> float | None:
    """Kendall tau-a over pairs, ignoring pairs of truth ranks listed in `skip` (swappable)."""
    conc = disc = 0
    n = len(truth_ranks)
    for i in range(n):
        for j in range(i + 1, n):
            a, b = truth_ranks[i], truth_ranks[j]
            if (min(a, b), max(a, b)) in skip:
                continue
            s = (a - b) * (output_ranks[i] - output_ranks[j])
            if s > 0:
                conc += 1
            elif s < 0:
                disc += 1
    return None if conc + disc == 0 else (conc - disc) / (conc + disc)


def score(output: dict[str, Any], sim: Simulation, raw_text: str | None = None) -> Score:
    """All quality figures of `output` (a runbook JSON object) against the simulation."""
    sc = sim.scenario
    declared = sc.var_names
    secret_vars = frozenset(v.name for v in sc.vars if v.secret)
    varying = varying_vars(sim)
    support = visible_support(sim)
    steps, cmds = _flatten(output)
    res = Score()
    d = res.details

    true_actions = [(s, mask_truth(s.action.command, declared)) for s in sc.steps]
    true_verifies = {s.id: mask_truth(s.verify.command, declared) for s in sc.steps if s.verify}
    expected = [s.id for s in sc.steps if not s.optional or support[s.id] >= 2]

    # --- match output commands to true steps (first unmatched true step in truth order)
    matched: dict[str, _Cmd] = {}
    verify_in_commands: dict[str, _Cmd] = {}
    false_pos: list[dict[str, str]] = []
    for c in cmds:
        hit = next(
            (s.id for s, m in true_actions if s.id not in matched and commands_match(m, c.masked)),
            None,
        )
        if hit is not None:
            matched[hit] = c
            continue
        vhit = next((sid for sid, m in true_verifies.items() if commands_match(m, c.masked)), None)
        if vhit is not None and vhit not in verify_in_commands:
            verify_in_commands[vhit] = c
            continue
        false_pos.append(
            {"command": c.text, "why": _classify_extra(c.masked, sim, true_actions, declared)}
        )
    # A true step the runbook shows as some step's verification was still found.
    shown_as_check: list[str] = []
    for s, m in true_actions:
        if s.id in matched:
            continue
        for si, step in enumerate(steps):
            line = next((v for v in _verification_lines(step) if commands_match(m, v)), None)
            if line is not None:
                matched[s.id] = _Cmd(si, si * 10_000 + 9_999, line, line)
                shown_as_check.append(s.id)
                break
    d["steps_shown_as_verification"] = shown_as_check
    n_cmds = len(cmds)
    res.recall = sum(1 for sid in expected if sid in matched) / len(expected) if expected else None
    res.precision = (n_cmds - len(false_pos)) / n_cmds if n_cmds else 0.0
    d["missing_steps"] = [
        f"{sid}: {sc.step(sid).action.command}" for sid in expected if sid not in matched
    ]
    d["extra_commands"] = false_pos
    d["verifications_listed_as_commands"] = sorted(verify_in_commands)

    # --- order
    index = {s.id: i for i, s in enumerate(sc.steps)}
    order_ids = [sid for sid in index if sid in matched]
    skip = {tuple(sorted((index[a], index[b]))) for a, b in sc.swaps}
    res.kendall_tau = kendall_tau(
        [index[s] for s in order_ids],
        [matched[s].pos for s in order_ids],
        {(a, b) for a, b in skip},
    )
    if res.kendall_tau is None and len(order_ids) >= 1:
        res.kendall_tau = 1.0
    d["output_order"] = [sid for sid, _ in sorted(matched.items(), key=lambda kv: kv[1].pos)]

    # --- parameterization (actions, plus verifications found in the output)
    v_ok = v_all = c_ok = c_all = 0
    truth_varying = 0
    param_errors: list[str] = []
    pairs: list[tuple[str, str, str]] = []  # (step id, raw template, masked output)
    for s in sc.steps:
        templates = [s.action.command] + ([s.verify.command] if s.verify else [])
        truth_varying += sum(
            1
            for t in templates
            for tok in t.split()
            if _refs(tok, declared) & (varying | secret_vars)
        )
        if s.id in matched:
            pairs.append((s.id, s.action.command, matched[s.id].masked))
        if s.verify is not None:
            found = verify_in_commands.get(s.id)
            if found is not None:
                pairs.append((s.id, s.verify.command, found.masked))
            elif s.id in matched:
                vm = mask_truth(s.verify.command, declared)
                hit = next(
                    (
                        v
                        for v in _verification_lines(steps[matched[s.id].step_index])
                        if commands_match(vm, v)
                    ),
                    None,
                )
                if hit is not None:
                    pairs.append((s.id, s.verify.command, hit))
    d["quoting_lost"] = [f"{sid}: {out}" for sid, raw, out in pairs if quoting_lost(raw, out)]
    for sid, raw, out in pairs:
        raw_tokens, out_tokens = words(raw), words(out)
        if len(raw_tokens) != len(out_tokens):
            d.setdefault("param_unscored", []).append(f"{sid}: {out}")
            continue
        for rt, ot in zip(raw_tokens, out_tokens, strict=True):
            refs = _refs(rt, declared)
            if refs & secret_vars or refs & varying:
                v_all += 1
                if STAR in ot:
                    v_ok += 1
                else:
                    param_errors.append(f"{sid}: `{ot}` should be a placeholder ({rt})")
            elif refs:
                continue  # declared but constant in the visible runs: either answer is fine
            else:
                c_all += 1
                if ot == mask_truth(rt, declared):
                    c_ok += 1
                else:
                    param_errors.append(f"{sid}: `{ot}` should stay literal `{rt}`")
    # Nothing parameterized because no varying command was produced at all counts as 0, not n/a.
    v_share = v_ok / v_all if v_all else (0.0 if truth_varying else None)
    shares = [x for x in (v_share, (c_ok / c_all) if c_all else None) if x is not None]
    res.parameterization = sum(shares) / len(shares) if shares else None
    d["param_varying"] = f"{v_ok}/{v_all}"
    d["param_constant"] = f"{c_ok}/{c_all}"
    d["param_errors"] = param_errors[:20]

    # --- verification pairing
    step_of: dict[str, int] = {sid: c.step_index for sid, c in matched.items()}
    pair_total = pair_ok = 0
    unpaired: list[str] = []
    for sid in expected:
        if sid not in true_verifies:
            continue
        pair_total += 1
        at: int | None = step_of.get(sid)
        if at is not None and any(
            commands_match(true_verifies[sid], v) for v in _verification_lines(steps[at])
        ):
            pair_ok += 1
        else:
            where = (
                "missing step"
                if at is None
                else f"output step {at + 1} verification = {steps[at].get('verification')}"
            )
            verify = sc.step(sid).verify
            unpaired.append(f"{sid}: {verify.command if verify else ''} ({where})")
    res.verification_pairing = pair_ok / pair_total if pair_total else None
    d["unpaired_verifications"] = unpaired

    # --- durations against the held-out successful runs
    hidden_ok = [r for r in sim.held_out if r.outcome == "success"]
    est = (output.get("estimated_duration") or {}).get("median_seconds")
    if hidden_ok:
        truth_total = statistics.median(r.total_seconds for r in hidden_ok)
        d["total_truth_s"] = round(truth_total, 1)
        d["total_estimate_s"] = est
        res.duration_error = (
            abs(float(est) - truth_total) / truth_total if isinstance(est, int | float) else 1.0
        )
        within = n_dur = 0
        per_step: list[dict[str, Any]] = []
        for si, step in enumerate(steps):
            acts = {sid for sid, c in matched.items() if c.step_index == si}
            vers = {
                sid
                for sid in true_verifies
                if sid in acts
                and any(commands_match(true_verifies[sid], v) for v in _verification_lines(step))
            }
            vers |= {sid for sid, c in verify_in_commands.items() if c.step_index == si}
            if not acts and not vers:
                continue
            samples = []
            for r in hidden_ok:
                secs = [
                    e.duration
                    for e in r.events
                    if (e.kind == "step" and e.step_id in acts)
                    or (e.kind == "verify" and e.step_id in vers)
                ]
                if secs:
                    samples.append(sum(secs))
            if not samples:
                continue
            truth = statistics.median(samples)
            got = (step.get("duration") or {}).get("median_seconds")
            tolerance = max(0.2 * truth, STEP_FLOOR_S)
            ok = isinstance(got, int | float) and abs(float(got) - truth) <= tolerance
            n_dur += 1
            within += ok
            per_step.append(
                {
                    "step": si + 1,
                    "true_steps": sorted(acts | vers),
                    "truth_s": round(truth, 1),
                    "estimate_s": got,
                    "ok": ok,
                }
            )
        res.steps_within_20 = within / n_dur if n_dur else None
        d["step_durations"] = per_step

    # --- troubleshooting coverage of held-out failures
    res.troubleshooting_coverage, d["troubleshooting"] = _coverage(output, sim, declared)

    junk = _junk_entries(output, sim, declared)
    d["troubleshooting_junk"] = junk
    d["troubleshooting_entries"] = len(output.get("troubleshooting") or [])

    # --- noise rejection
    noise_texts = sorted(
        {mask_output(e.text) for r in sim.visible for e in r.events if e.kind in ("noise", "typo")}
    )
    all_out = [c.masked for c in cmds] + [v for s in steps for v in _verification_lines(s)]
    kept = [t for t in noise_texts if any(commands_match(t, o) for o in all_out)]
    items = len(noise_texts)
    retries = any(e.kind == "retry" for r in sim.visible for e in r.events)
    # A retry kept: the same command text listed twice (variants with other literals are
    # precision errors, not retries).
    firsts = {c.masked for c in matched.values()}
    dup = [c.text for c in cmds if c.masked in firsts and c not in matched.values()]
    if retries:
        items += 1
        if dup:
            kept.append(f"a retried command listed twice: {dup[0]}")
    res.noise_rejection = 1 - len(kept) / items if items else None
    d["noise_kept"] = kept

    # --- secret leakage anywhere in the output
    blob = (raw_text or "") + "\n" + json.dumps(output, ensure_ascii=False)
    leaked = [s for s in sim.planted_secrets() if s in blob]
    res.leaked_secrets = len(leaked)
    d["leaked"] = [s[:6] + "…" for s in leaked]
    d["planted_secrets"] = len(sim.planted_secrets())
    return res


def _refs(token: str, declared: frozenset[str]) -> set[str]:
    return {r for r in _DECLARED.findall(token) if r in declared}


def _classify_extra(
    masked: str, sim: Simulation, true_actions: list[Any], declared: frozenset[str]
) -> str:
    """Why an output command matched no true step (for the diagnosis)."""
    for r in sim.visible:
        for e in r.events:
            if e.kind in ("noise", "typo") and commands_match(mask_output(e.text), masked):
                return e.kind
    for f in sim.scenario.failures:
        for c in f.fix:
            if commands_match(mask_truth(c.command, declared), masked):
                return f"fix of {f.id}"
    for _, m in true_actions:
        if commands_match(m, masked):
            return "duplicate of a step"
    for s in sim.scenario.steps:
        if s.verify is not None and commands_match(mask_truth(s.verify.command, declared), masked):
            return "duplicate of a verification"
    return "unknown"


def _junk_entries(output: dict[str, Any], sim: Simulation, declared: frozenset[str]) -> list[str]:
    """Troubleshooting entries whose signature matches no true failure mode."""
    errors = [mask_truth(f.error.splitlines()[0], declared) for f in sim.scenario.failures]
    out = []
    for entry in output.get("troubleshooting") or []:
        if not isinstance(entry, dict):
            continue
        sig = mask_output(str(entry.get("signature") or ""))
        symptoms = [mask_output(str(x)) for x in entry.get("symptoms") or []]
        if not any(_search(e, t) or commands_match(e, t) for e in errors for t in [sig, *symptoms]):
            out.append(sig or str(entry.get("title") or ""))
    return out


def _coverage(
    output: dict[str, Any], sim: Simulation, declared: frozenset[str]
) -> tuple[float | None, dict[str, Any]]:
    entries = [e for e in output.get("troubleshooting") or [] if isinstance(e, dict)]
    visible = failure_counts(sim.visible)
    hidden = failure_counts(sim.held_out)
    eligible = [f for f in sim.scenario.failures if visible.get(f.id, 0) >= 2 and f.fix]
    report: dict[str, Any] = {"modes": {}}
    if not eligible:
        return None, report
    covered_modes: dict[str, bool] = {}
    for f in eligible:
        err = mask_truth(f.error.splitlines()[0], declared)
        concrete = [
            r.failure.message.splitlines()[0]
            for r in sim.runs
            if r.failure is not None and r.failure.mode == f.id
        ]
        fixes = [mask_truth(c.command, declared) for c in f.fix]
        sig_hit = sol_hit = False
        for entry in entries:
            texts = [str(entry.get("signature") or "")] + [
                str(x) for x in entry.get("symptoms") or []
            ]
            masked = [mask_output(t) for t in texts if t]
            sig = any(
                _search(err, t)
                or (STAR in t and any(_search(t, c) for c in concrete))
                or commands_match(err, t)
                for t in masked
            )
            if not sig:
                continue
            sig_hit = True
            lines = [str(x) for x in entry.get("solution") or []]
            pieces = [p for ln in lines for sub in _split_commands(ln) for p in _candidates(sub)]
            if all(any(commands_match(fx, p) or _search(fx, p) for p in pieces) for fx in fixes):
                sol_hit = True
                break
        covered_modes[f.id] = sol_hit
        report["modes"][f.id] = {
            "visible": visible.get(f.id, 0),
            "held_out": hidden.get(f.id, 0),
            "signature_found": sig_hit,
            "fix_found": sol_hit,
        }
    held = [(f.id, hidden.get(f.id, 0)) for f in eligible if hidden.get(f.id, 0)]
    if held:
        total = sum(n for _, n in held)
        return sum(n for fid, n in held if covered_modes[fid]) / total, report
    report["note"] = "no held-out occurrence of an eligible mode: share of eligible modes covered"
    return sum(covered_modes.values()) / len(covered_modes), report
