"""Scenario specs: the ground-truth procedure a simulated operator follows, loaded from YAML.

Sample spec line (bench/scenarios/lambda-deploy.yaml):
    - {id: build, command: "docker build -t report-worker:{version} .", duration: {median: 95}}

A spec names its varying tokens (``vars``, ``secrets``) with generator kinds; command,
output and error templates refer to them as ``{name}``. Braces that do not name a declared
variable (``{{.Id}}``, JSON) are left alone, so templates need no escaping.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SCENARIO_DIR = Path(__file__).parent / "scenarios"

OPERATION_TYPES = ("deployment", "rollback", "incident-response", "migration", "scaling")

VAR_KINDS = frozenset(
    {
        "semver",
        "sha256",
        "hex",
        "git_sha",
        "int",
        "seq",
        "uuid",
        "timestamp",
        "date",
        "pod",
        "choice",
        "ip",
        "slice",
    }
)
STYLES = frozenset({"toolcalls", "commands", "rawlog", "session", "prompt", "zsh-history"})
SECRET_KINDS = frozenset({"aws_key_id", "aws_secret", "github_token", "jwt", "password"})

_VAR_REF = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


class SpecError(ValueError):
    """A scenario file that cannot be used, with the file named in the message."""


@dataclass(frozen=True, slots=True)
class DurationSpec:
    """Log-normal duration: ``median`` seconds and ``sigma`` (log-space spread)."""

    median: float
    sigma: float = 0.25


@dataclass(frozen=True, slots=True)
class VarSpec:
    """A token that varies per run (or a secret), with its generator kind and options."""

    name: str
    kind: str
    options: dict[str, Any] = field(default_factory=dict)
    secret: bool = False
    per_run: bool = True  # secrets only: False = one value for the whole scenario


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """A command template with its output template and duration distribution."""

    command: str
    output: str = ""
    duration: DurationSpec = DurationSpec(2.0, 0.25)


@dataclass(frozen=True, slots=True)
class StepSpec:
    """One true step: an action command and, optionally, the check that verifies it."""

    id: str
    name: str
    action: CommandSpec
    verify: CommandSpec | None = None
    frequency: float = 1.0  # < 1.0: optional step, run with this probability

    @property
    def optional(self) -> bool:
        return self.frequency < 1.0


@dataclass(frozen=True, slots=True)
class FailureSpec:
    """A failure mode: where it happens, what it prints, and what the operator did."""

    id: str
    step: str
    error: str
    probability: float
    fix: tuple[CommandSpec, ...] = ()
    journal: bool = False
    rolled_back: bool = False
    cause: str = ""
    prevention: str = ""
    exit_code: int = 1


@dataclass(frozen=True, slots=True)
class NoiseSpec:
    """How much noise an operator adds: expected noise commands per run and their material."""

    rate: float = 1.5
    files: tuple[str, ...] = ("README.md",)
    dirs: tuple[str, ...] = (".",)
    typo_rate: float = 0.25  # chance per run of one typo (exit 127)
    retry_rate: float = 0.2  # chance per run of one immediate duplicate of a step command
    extra: tuple[CommandSpec, ...] = ()  # scenario-specific noise (may plant secrets)


@dataclass(frozen=True, slots=True)
class Scenario:
    """A whole ground-truth procedure and the way simulated operators deviate from it."""

    name: str
    title: str
    operation_type: str
    scope: str
    stack: str
    slug: str
    environment: str
    context: str
    tags: tuple[str, ...]
    steps: tuple[StepSpec, ...]
    vars: tuple[VarSpec, ...] = ()
    swaps: tuple[tuple[str, str], ...] = ()
    swap_probability: float = 0.3
    failures: tuple[FailureSpec, ...] = ()
    noise: NoiseSpec = NoiseSpec()
    start: str = "2025-09-01"
    cadence_days: tuple[int, int] = (1, 3)
    hours: tuple[int, int] = (9, 18)
    think: DurationSpec = DurationSpec(5.0, 0.5)
    outlier_probability: float = 0.01
    outlier_factor: tuple[float, float] = (4.0, 12.0)
    idle_probability: float = 0.06
    idle_seconds: tuple[float, float] = (3600.0, 14400.0)
    verify_probability: float = 0.95
    authors: tuple[tuple[str, str], ...] = ()  # (author, style) pairs; () = the default pool

    def step(self, step_id: str) -> StepSpec:
        """The step with this id."""
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)

    @property
    def var_names(self) -> frozenset[str]:
        return frozenset(v.name for v in self.vars)


# ---------------------------------------------------------------------------- loading


def _duration(raw: Any, where: str) -> DurationSpec:
    if raw is None:
        return DurationSpec(2.0, 0.25)
    if isinstance(raw, int | float):
        return DurationSpec(float(raw), 0.25)
    if not isinstance(raw, dict) or "median" not in raw:
        raise SpecError(f"{where}: duration needs a median")
    return DurationSpec(float(raw["median"]), float(raw.get("sigma", 0.25)))


def _command(raw: Any, where: str) -> CommandSpec:
    if isinstance(raw, str):
        return CommandSpec(command=raw.strip())
    if not isinstance(raw, dict) or not isinstance(raw.get("command"), str):
        raise SpecError(f"{where}: a command needs a `command` string")
    return CommandSpec(
        command=raw["command"].strip(),
        output=str(raw.get("output") or "").rstrip("\n"),
        duration=_duration(raw.get("duration"), where),
    )


def _pair(raw: Any, default: tuple[float, float]) -> tuple[float, float]:
    if raw is None:
        return default
    return (float(raw[0]), float(raw[1]))


def parse_scenario(data: dict[str, Any], where: str) -> Scenario:
    """Build a `Scenario` from parsed YAML, checking references; raises `SpecError`."""
    try:
        name = str(data["name"])
        op = str(data["operation_type"])
    except (KeyError, TypeError) as exc:
        raise SpecError(f"{where}: missing {exc}") from None
    if op not in OPERATION_TYPES:
        raise SpecError(f"{where}: unknown operation_type {op!r}")
    variables: list[VarSpec] = []
    for vname, vraw in (data.get("vars") or {}).items():
        opts = dict(vraw or {})
        kind = str(opts.pop("kind", ""))
        if kind not in VAR_KINDS:
            raise SpecError(f"{where}: var {vname}: unknown kind {kind!r}")
        variables.append(VarSpec(str(vname), kind, opts))
    for vname, vraw in (data.get("secrets") or {}).items():
        opts = dict(vraw or {})
        kind = str(opts.pop("kind", ""))
        if kind not in SECRET_KINDS:
            raise SpecError(f"{where}: secret {vname}: unknown kind {kind!r}")
        per_run = bool(opts.pop("per_run", True))
        variables.append(VarSpec(str(vname), kind, opts, secret=True, per_run=per_run))
    known = {v.name for v in variables}

    def check_refs(text: str, what: str) -> None:
        # A ref that looks like a var but is undeclared is almost always a typo in the spec.
        for ref in _VAR_REF.findall(text):
            if ref not in known and ref.islower() and "_" not in ref and len(ref) > 2:
                raise SpecError(f"{where}: {what}: undeclared variable {{{ref}}}")

    steps: list[StepSpec] = []
    for i, sraw in enumerate(data.get("steps") or []):
        sid = str(sraw.get("id") or f"step{i + 1}")
        action = _command(sraw, f"{where}: step {sid}")
        verify = (
            _command(sraw["verify"], f"{where}: step {sid} verify") if sraw.get("verify") else None
        )
        for c in (action, verify):
            if c is not None:
                check_refs(c.command, f"step {sid}")
                check_refs(c.output, f"step {sid} output")
        steps.append(
            StepSpec(
                id=sid,
                name=str(sraw.get("name") or sid),
                action=action,
                verify=verify,
                frequency=float(sraw.get("frequency", 1.0)),
            )
        )
    if len(steps) < 3:
        raise SpecError(f"{where}: a scenario needs at least 3 steps")
    ids = [s.id for s in steps]
    if len(set(ids)) != len(ids):
        raise SpecError(f"{where}: duplicate step ids")
    templates = [s.action.command for s in steps] + [s.verify.command for s in steps if s.verify]
    if len(set(templates)) != len(templates):
        raise SpecError(f"{where}: two steps share a command template (scoring needs them unique)")
    swaps: list[tuple[str, str]] = []
    for pair in data.get("swaps") or []:
        a, b = str(pair[0]), str(pair[1])
        if a not in ids or b not in ids:
            raise SpecError(f"{where}: swap {a}/{b} names an unknown step")
        if abs(ids.index(a) - ids.index(b)) != 1:
            raise SpecError(f"{where}: swap {a}/{b}: only adjacent steps can be swapped")
        swaps.append((a, b))
    failures: list[FailureSpec] = []
    for fraw in data.get("failures") or []:
        fid = str(fraw["id"])
        if str(fraw["step"]) not in ids:
            raise SpecError(f"{where}: failure {fid}: unknown step {fraw['step']!r}")
        fixes = tuple(_command(c, f"{where}: failure {fid} fix") for c in fraw.get("fix") or [])
        check_refs(str(fraw["error"]), f"failure {fid}")
        failures.append(
            FailureSpec(
                id=fid,
                step=str(fraw["step"]),
                error=str(fraw["error"]).strip(),
                probability=float(fraw["probability"]),
                fix=fixes,
                journal=bool(fraw.get("journal", False)),
                rolled_back=bool(fraw.get("rolled_back", False)),
                cause=str(fraw.get("cause") or ""),
                prevention=str(fraw.get("prevention") or ""),
                exit_code=int(fraw.get("exit_code", 1)),
            )
        )
    nraw = data.get("noise") or {}
    noise = NoiseSpec(
        rate=float(nraw.get("rate", 1.5)),
        files=tuple(str(x) for x in nraw.get("files") or ("README.md",)),
        dirs=tuple(str(x) for x in nraw.get("dirs") or (".",)),
        typo_rate=float(nraw.get("typo_rate", 0.25)),
        retry_rate=float(nraw.get("retry_rate", 0.2)),
        extra=tuple(_command(x, f"{where}: noise") for x in nraw.get("extra") or ()),
    )
    for a in data.get("authors") or ():
        if not isinstance(a, dict) or a.get("style") not in STYLES or not a.get("name"):
            raise SpecError(
                f"{where}: authors need a name and a style among {', '.join(sorted(STYLES))}"
            )
    cadence = data.get("cadence_days") or (1, 3)
    hours = data.get("hours") or (9, 18)
    return Scenario(
        name=name,
        title=str(data.get("title") or name),
        operation_type=op,
        scope=str(data.get("scope") or ""),
        stack=str(data.get("stack") or ""),
        slug=str(data.get("slug") or name),
        environment=str(data.get("environment") or "prod"),
        context=str(data.get("context") or data.get("title") or name),
        tags=tuple(str(t) for t in data.get("tags") or ()),
        steps=tuple(steps),
        vars=tuple(variables),
        swaps=tuple(swaps),
        swap_probability=float(data.get("swap_probability", 0.3)),
        failures=tuple(failures),
        noise=noise,
        start=str(data.get("start") or "2025-09-01"),
        cadence_days=(int(cadence[0]), int(cadence[1])),
        hours=(int(hours[0]), int(hours[1])),
        think=_duration(data.get("think"), f"{where}: think")
        if data.get("think")
        else DurationSpec(5.0, 0.5),
        outlier_probability=float(data.get("outlier_probability", 0.01)),
        outlier_factor=_pair(data.get("outlier_factor"), (4.0, 12.0)),
        idle_probability=float(data.get("idle_probability", 0.06)),
        idle_seconds=_pair(data.get("idle_seconds"), (3600.0, 14400.0)),
        verify_probability=float(data.get("verify_probability", 0.95)),
        authors=tuple((str(a["name"]), str(a["style"])) for a in data.get("authors") or ()),
    )


def load_scenario(path: Path) -> Scenario:
    """Load one YAML scenario file; raises `SpecError` naming the file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SpecError(f"{path}: {exc}") from None
    if not isinstance(data, dict):
        raise SpecError(f"{path}: not a mapping")
    return parse_scenario(data, str(path))


def load_scenarios(
    names: list[str] | None = None, directory: Path = SCENARIO_DIR
) -> list[Scenario]:
    """All scenarios in `directory` (sorted by name), or only those named."""
    found = {s.name: s for s in (load_scenario(p) for p in sorted(directory.glob("*.yaml")))}
    if not names:
        return [found[k] for k in sorted(found)]
    missing = [n for n in names if n not in found]
    if missing:
        raise SpecError(
            f"unknown scenario(s): {', '.join(missing)}; known: {', '.join(sorted(found))}"
        )
    return [found[n] for n in names]
