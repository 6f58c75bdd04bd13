"""Simulated operators: a scenario and a seed become N runs with full ground truth.

Every random draw comes from one seeded ``random.Random`` per run (seeded from the scenario
name, the seed and the run index), so runs are reproducible one by one and adding runs never
changes earlier ones.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
import string
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from bench.spec import CommandSpec, DurationSpec, FailureSpec, Scenario, StepSpec, VarSpec

_REF = re.compile(r"\{([a-z_][a-z0-9_]*)\}")

# Authoring styles the renderer knows; each simulated author sticks to one.
AUTHORS: tuple[tuple[str, str], ...] = (
    ("alice", "toolcalls"),
    ("bob", "commands"),
    ("carol", "rawlog"),
    ("dave", "session"),
    ("erin", "toolcalls"),
    ("frank", "rawlog"),
)
# Styles a spec may also ask for (``authors:``): "prompt" is a raw log with PS1-style prompts.
EXTRA_STYLES = ("prompt",)

EVENT_KINDS = ("step", "verify", "noise", "typo", "retry", "fail", "fix")


@dataclass(slots=True)
class Event:
    """One command the simulated operator typed, with what it printed and when."""

    kind: str  # one of EVENT_KINDS
    text: str
    output: str
    exit_code: int
    start: datetime
    duration: float
    step_id: str | None = None
    template: str | None = None  # the spec template (step / verify / fix events)
    failure_id: str | None = None

    @property
    def end(self) -> datetime:
        return self.start + timedelta(seconds=self.duration)


@dataclass(slots=True)
class FailureOccurrence:
    """A failure mode that fired in a run."""

    mode: str
    step: str
    message: str
    at: datetime
    rolled_back: bool
    journal: bool  # an error journal was written for this occurrence
    note: bool  # a separate failure observation was written


@dataclass(slots=True)
class Run:
    """One simulated execution with everything the scorer needs to know about it."""

    scenario: str
    index: int
    author: str
    style: str
    values: dict[str, str]
    events: list[Event] = field(default_factory=list)
    outcome: str = "success"
    failure: FailureOccurrence | None = None
    step_order: list[str] = field(default_factory=list)
    idle_seconds: float = 0.0

    @property
    def started(self) -> datetime:
        return self.events[0].start

    @property
    def finished(self) -> datetime:
        return max(e.end for e in self.events)

    @property
    def total_seconds(self) -> float:
        return (self.finished - self.started).total_seconds()

    def step_seconds(
        self, step_id: str, kinds: tuple[str, ...] = ("step", "verify")
    ) -> float | None:
        """Runtime of a true step in this run: its successful action (+ verification)."""
        secs = [e.duration for e in self.events if e.step_id == step_id and e.kind in kinds]
        return sum(secs) if secs else None

    def texts(self) -> list[str]:
        """Every command and output string of the run (for secret checks)."""
        return [t for e in self.events for t in (e.text, e.output)]


@dataclass(slots=True)
class Simulation:
    """All runs of a scenario, split by time into visible and held-out."""

    scenario: Scenario
    seed: int
    runs: list[Run]
    visible: list[Run]
    held_out: list[Run]
    constant_secrets: dict[str, str]

    def planted_secrets(self, runs: list[Run] | None = None) -> list[str]:
        """Secret values that appear in the given runs' text (default: visible runs)."""
        secret_names = [v.name for v in self.scenario.vars if v.secret]
        found: set[str] = set()
        for run in self.visible if runs is None else runs:
            blob = "\n".join(run.texts())
            for name in secret_names:
                value = run.values.get(name)
                if value and value in blob:
                    found.add(value)
        return sorted(found)


# ------------------------------------------------------------------------ generators

_LOWER_ALNUM = string.ascii_lowercase + string.digits
_B32 = string.ascii_uppercase + "234567"


def _rand(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _b64url(rng: random.Random, n: int) -> str:
    return _rand(rng, string.ascii_letters + string.digits + "-_", n)


def generate_value(var: VarSpec, rng: random.Random, index: int, when: datetime) -> str:
    """A value for `var` in run number `index` starting at `when` (slice vars excluded)."""
    o = var.options
    k = var.kind
    if k == "semver":
        major, minor, patch = (int(x) for x in str(o.get("base", "1.0.0")).split("."))
        # Releases move forward: a minor bump every 8 runs, patches in between.
        i = index + int(o.get("offset", 0)) + 8  # + 8 keeps offset -1 of run 0 non-negative
        return f"{o.get('prefix', '')}{major}.{minor + i // 8}.{patch + i % 8}"
    if k == "sha256":
        return _rand(rng, "0123456789abcdef", 64)
    if k == "hex":
        alphabet = "0123456789ABCDEF" if o.get("upper") else "0123456789abcdef"
        return _rand(rng, alphabet, int(o.get("length", 12)))
    if k == "git_sha":
        return _rand(rng, "0123456789abcdef", int(o.get("length", 7)))
    if k == "int":
        return str(rng.randint(int(o.get("min", 1000)), int(o.get("max", 99999))))
    if k == "seq":
        return f"{o.get('prefix', '')}{int(o.get('base', 100)) + index * int(o.get('step', 1))}"
    if k == "uuid":
        h = _rand(rng, "0123456789abcdef", 32)
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"
    if k == "timestamp":
        return when.strftime(str(o.get("format", "%Y%m%d-%H%M%S")))
    if k == "date":
        return when.strftime(str(o.get("format", "%Y-%m-%d")))
    if k == "pod":
        return f"{o.get('prefix', 'app')}-{_rand(rng, 'bcdfghjklmnpqrstvwxz2456789', 10)}-{_rand(rng, 'bcdfghjklmnpqrstvwxz2456789', 5)}"
    if k == "choice":
        values = [str(v) for v in o.get("values", ["a", "b"])]
        return rng.choice(values)
    if k == "ip":
        return f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(2, 254)}"
    if k == "aws_key_id":
        return "AKIA" + _rand(rng, _B32, 16)
    if k == "aws_secret":
        return _rand(rng, string.ascii_letters + string.digits + "/+", 40)
    if k == "github_token":
        return "ghp_" + _rand(rng, string.ascii_letters + string.digits, 36)
    if k == "jwt":
        return f"eyJhbGciOiJIUzI1NiJ9.eyJ{_b64url(rng, 40)}.{_b64url(rng, 43)}"
    if k == "password":
        # URL-safe but clearly secret-looking: letters, digits and one symbol.
        return (
            _rand(rng, string.ascii_letters, 6)
            + _rand(rng, string.digits, 3)
            + "x"
            + _rand(rng, string.ascii_letters + string.digits, 6)
        )
    raise ValueError(f"unknown generator kind {k!r}")


def fill(template: str, values: dict[str, str]) -> str:
    """Substitute ``{name}`` for declared values; other braces stay as written."""
    return _REF.sub(lambda m: values.get(m.group(1), m.group(0)), template)


def _lognormal(rng: random.Random, d: DurationSpec) -> float:
    return d.median * math.exp(rng.gauss(0.0, d.sigma))


def _run_rng(scenario: str, seed: int, index: int) -> random.Random:
    digest = hashlib.sha256(f"{scenario}\0{seed}\0{index}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


# ------------------------------------------------------------------------- the runs


def _values(
    sc: Scenario, rng: random.Random, index: int, when: datetime, constant: dict[str, str]
) -> dict[str, str]:
    values: dict[str, str] = {}
    for v in sc.vars:
        if v.kind == "slice":
            continue
        if v.secret and not v.per_run:
            values[v.name] = constant[v.name]
        else:
            values[v.name] = generate_value(v, rng, index, when)
    for v in sc.vars:
        if v.kind == "slice":
            src = values.get(str(v.options.get("of", "")), "")
            values[v.name] = src[: int(v.options.get("length", 12))]
    return values


_NOISE_OUTPUT_GIT = "On branch main\nYour branch is up to date with 'origin/main'.\n\nnothing to commit, working tree clean"


def _noise(sc: Scenario, rng: random.Random, values: dict[str, str]) -> tuple[str, str]:
    n = sc.noise
    choices = ["ls", "ls_dir", "cat", "git", "cd", "pwd", "clear", "history"]
    if n.extra:
        choices += ["extra", "extra"]
    kind = rng.choice(choices)
    d = rng.choice(n.dirs)
    f = rng.choice(n.files)
    if kind == "ls":
        return rng.choice(["ls", "ls -la", "ll"]), "  ".join(sorted(n.files)[:6])
    if kind == "ls_dir":
        return f"ls {d}", "main.tf  outputs.tf  variables.tf"
    if kind == "cat":
        return f"cat {f}", f"# {f}\nsee docs for details"
    if kind == "git":
        return rng.choice(["git status", "git log --oneline -3"]), _NOISE_OUTPUT_GIT
    if kind == "cd":
        return f"cd {d}", ""
    if kind == "pwd":
        return "pwd", f"/home/ops/src/{sc.slug}"
    if kind == "clear":
        return "clear", ""
    if kind == "history":
        return "history | tail -20", ""
    extra = rng.choice(n.extra)
    return fill(extra.command, values), fill(extra.output, values)


def _typo(command: str, rng: random.Random) -> tuple[str, str]:
    words = command.split(" ", 1)
    prog = words[0]
    if "=" in prog and len(words) > 1:  # `ENV=prod cmd ...`: mangle the real program
        head, rest = words[0], words[1]
        inner = rest.split(" ", 1)
        prog = inner[0]
        tail = " " + inner[1] if len(inner) > 1 else ""
        mangled = _mangle(prog, rng)
        return f"{head} {mangled}{tail}", f"bash: {mangled}: command not found"
    mangled = _mangle(prog, rng)
    tail = " " + words[1] if len(words) > 1 else ""
    style = rng.random()
    msg = (
        f"bash: {mangled}: command not found"
        if style < 0.6
        else f"zsh: command not found: {mangled}"
    )
    return mangled + tail, msg


def _mangle(word: str, rng: random.Random) -> str:
    if len(word) < 3:
        return word + word[-1]
    i = rng.randrange(1, len(word) - 1)
    return (
        word[:i] + word[i + 1] + word[i] + word[i + 2 :] if word[i] != word[i + 1] else word + "s"
    )


def simulate_run(
    sc: Scenario, seed: int, index: int, when: datetime, constant: dict[str, str]
) -> Run:
    """One run of the scenario starting at `when`."""
    rng = _run_rng(sc.name, seed, index)
    pool = sc.authors or AUTHORS
    author, style = pool[rng.randrange(len(pool))]
    values = _values(sc, rng, index, when, constant)
    run = Run(scenario=sc.name, index=index, author=author, style=style, values=values)

    order = [s for s in sc.steps if s.frequency >= 1.0 or rng.random() < s.frequency]
    ids = [s.id for s in order]
    for a, b in sc.swaps:
        if a in ids and b in ids and rng.random() < sc.swap_probability:
            ia, ib = ids.index(a), ids.index(b)
            order[ia], order[ib] = order[ib], order[ia]
            ids[ia], ids[ib] = ids[ib], ids[ia]
    run.step_order = ids

    failure: FailureSpec | None = None
    for fm in sc.failures:
        if fm.step in ids and rng.random() < fm.probability:
            failure = fm
            break

    n_noise = _poisson(rng, sc.noise.rate)
    noise_at = sorted(rng.randrange(len(order) + 1) for _ in range(n_noise))
    typo_at = rng.randrange(len(order)) if rng.random() < sc.noise.typo_rate else -1
    retry_at = rng.randrange(len(order)) if rng.random() < sc.noise.retry_rate else -1
    idle_at = rng.randrange(1, len(order)) if rng.random() < sc.idle_probability else -1

    clock = when

    def emit(
        kind: str,
        text: str,
        output: str,
        code: int,
        secs: float,
        step_id: str | None = None,
        template: str | None = None,
        failure_id: str | None = None,
    ) -> None:
        nonlocal clock
        clock += timedelta(seconds=round(_lognormal(rng, sc.think), 1) if run.events else 0.0)
        secs = round(max(0.2, secs), 1)
        run.events.append(
            Event(kind, text, output, code, clock, secs, step_id, template, failure_id)
        )
        clock += timedelta(seconds=secs)

    def duration(c: CommandSpec) -> float:
        d = _lognormal(rng, c.duration)
        if rng.random() < sc.outlier_probability:
            d *= rng.uniform(*sc.outlier_factor)
        return d

    def run_step(step: StepSpec, cmd: str) -> None:
        out = fill(step.action.output, values)
        emit(
            "step",
            cmd,
            out,
            0,
            duration(step.action),
            step_id=step.id,
            template=step.action.command,
        )

    for pos, step in enumerate(order):
        for _ in range(noise_at.count(pos)):
            text, out = _noise(sc, rng, values)
            emit("noise", text, out, 0, rng.uniform(0.2, 1.5))
        if pos == idle_at:
            gap = rng.uniform(*sc.idle_seconds)
            run.idle_seconds = gap
            clock += timedelta(seconds=gap)
        cmd = fill(step.action.command, values)
        if pos == typo_at:
            text, out = _typo(cmd, rng)
            emit("typo", text, out, 127, 0.2)
        if failure is not None and failure.step == step.id:
            message = fill(failure.error, values)
            emit(
                "fail",
                cmd,
                message,
                failure.exit_code,
                duration(step.action) * rng.uniform(0.3, 1.0),
                step_id=step.id,
                template=step.action.command,
                failure_id=failure.id,
            )
            run.failure = FailureOccurrence(
                mode=failure.id,
                step=step.id,
                message=message,
                at=run.events[-1].start,
                rolled_back=failure.rolled_back,
                journal=False,
                note=failure.rolled_back or rng.random() < 0.5,
            )
            if failure.rolled_back:
                run.outcome = "failure"
                break
            for fix in failure.fix:
                emit(
                    "fix",
                    fill(fix.command, values),
                    fill(fix.output, values),
                    0,
                    duration(fix),
                    template=fix.command,
                    failure_id=failure.id,
                )
        if pos == retry_at and failure is None:
            if rng.random() < 0.5:
                emit(
                    "retry",
                    cmd,
                    "^C",
                    130,
                    rng.uniform(1.0, 4.0),
                    step_id=None,
                    template=step.action.command,
                )
                run_step(step, cmd)
            else:
                run_step(step, cmd)
                emit(
                    "retry",
                    cmd,
                    fill(step.action.output, values),
                    0,
                    duration(step.action),
                    step_id=None,
                    template=step.action.command,
                )
        else:
            run_step(step, cmd)
        if step.verify is not None and rng.random() < sc.verify_probability:
            v = step.verify
            emit(
                "verify",
                fill(v.command, values),
                fill(v.output, values),
                0,
                duration(v),
                step_id=step.id,
                template=v.command,
            )
    return run


def _poisson(rng: random.Random, lam: float) -> int:
    # Knuth's method; lam is small (a few noise commands per run).
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def iter_runs(
    sc: Scenario, runs: int, seed: int = 7, spacing_minutes: int | None = None
) -> Iterator[Run]:
    """Yield `runs` runs one at a time (for large corpora); days apart unless `spacing_minutes`."""
    base_rng = _run_rng(sc.name, seed, -1)
    constant = {
        v.name: generate_value(v, base_rng, 0, datetime(2025, 1, 1))
        for v in sc.vars
        if v.secret and not v.per_run
    }
    day = date.fromisoformat(sc.start)
    origin = datetime(day.year, day.month, day.day, sc.hours[0])
    for i in range(runs):
        r = _run_rng(sc.name, seed, 10_000_000 + i)
        if spacing_minutes:
            when = origin + timedelta(
                minutes=i * spacing_minutes, seconds=r.randrange(60 * max(1, spacing_minutes // 2))
            )
        else:
            day += timedelta(days=r.randint(*sc.cadence_days))
            when = datetime(
                day.year,
                day.month,
                day.day,
                r.randint(sc.hours[0], sc.hours[1] - 1),
                r.randrange(60),
                r.randrange(60),
            )
        yield simulate_run(sc, seed, i, when, constant)


def simulate(sc: Scenario, runs: int, seed: int = 7, holdout: float = 0.3) -> Simulation:
    """`runs` runs of `sc`, the newest `holdout` share held out as ground truth only."""
    base_rng = _run_rng(sc.name, seed, -1)
    constant = {
        v.name: generate_value(v, base_rng, 0, datetime(2025, 1, 1))
        for v in sc.vars
        if v.secret and not v.per_run
    }
    out = list(iter_runs(sc, runs, seed))
    n_hidden = min(runs - 1, round(runs * holdout)) if runs > 1 else 0
    visible, held_out = out[: runs - n_hidden], out[runs - n_hidden :]
    _mark_journals(visible, seed, sc)
    _mark_journals(held_out, seed + 1, sc)
    return Simulation(sc, seed, out, visible, held_out, constant)


def _mark_journals(runs: list[Run], seed: int, sc: Scenario) -> None:
    # Teams write an error journal the first time a failure bites, and now and then again.
    seen: set[str] = set()
    modes = {f.id: f for f in sc.failures}
    for run in runs:
        occ = run.failure
        if occ is None or not modes[occ.mode].journal:
            continue
        r = _run_rng(sc.name, seed, 20_000_000 + run.index)
        occ.journal = occ.mode not in seen or r.random() < 0.35
        seen.add(occ.mode)
