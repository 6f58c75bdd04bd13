"""`runbook run`: execute a runbook step by step, with gates, verification and a recording.

Sample input (a step as any runbook in the template writes it)::

    ### Step 1: Build the image
    **Command**:
    ```sh
    docker build -t report-worker:{tag} .
    ```
    **Parameters**:
    - `{tag}` — observed: `v1.4.2`, `v1.5.0`

All input and output goes through ``RunIO`` (prompt, narrative, command output, the command
runner and the clock), so the engine is tested with fakes and driven for real by
``terminal_io``. Placeholder values are validated against the shape of the runbook's examples
and substituted with shell quoting that matches where the placeholder sits (``shlex.quote``
outside quotes), so a value can never add shell syntax. Destructive commands need the target's
name typed, even with ``--yes``.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from runbook.errors import ExitStatus, UsageError
from runbook.model import ParsedCommand, ParsedIssue, ParsedRunbook, ParsedStep
from runbook.observe import Captured, Clock, Recorder, run_captured, utc_now
from runbook.redact import is_secret_key, redacted_marker
from runbook.runbook_parse import (
    PLACEHOLDER,
    command_placeholders,
    declared_parameters,
    stray_placeholders,
)
from runbook.sources.shell import HEREDOC
from runbook.timeparse import parse_duration

__all__ = [
    "ParamShape",
    "RunIO",
    "RunOptions",
    "RunResult",
    "Session",
    "StepResult",
    "destructive_kind",
    "destructive_target",
    "display_title",
    "infer_shape",
    "matching_issues",
    "param_examples",
    "parse_params",
    "substitute",
    "terminal_io",
]

Runner = Callable[[str, float, Callable[[bytes, bool], None]], Captured]


@dataclass(slots=True)
class RunIO:
    """Everything `runbook run` touches outside itself; tests pass fakes."""

    ask: Callable[[str], str]  # show a question, return the answer line (EOFError at end of input)
    say: Callable[[str], None]  # narrative: step headers, guidance, results
    show_output: Callable[[bytes], None]  # a command's output as it streams
    runner: Runner  # (command, timeout_s, on_output) -> Captured
    now: Clock = utc_now
    interactive: bool = True  # a person can answer prompts (stdin is a terminal)


@dataclass(frozen=True, slots=True)
class RunOptions:
    """What the operator asked for on the command line."""

    params: tuple[tuple[str, str], ...] = ()
    dry_run: bool = False
    from_step: int = 1
    yes: bool = False
    timeout_s: float | None = None  # fixed per-command timeout (overrides p90 x margin)
    margin: float = 3.0
    min_timeout_s: float = 60.0
    default_timeout_s: float = 600.0  # when the runbook states no duration for a step


@dataclass(frozen=True, slots=True)
class StepResult:
    """How one step ended: passed | failed | skipped | declined | not-run | interrupted."""

    number: int
    title: str
    status: str
    detail: str = ""
    kind: str = "step"  # step | check (a post-operation check of the Verification section)


@dataclass(frozen=True, slots=True)
class RunResult:
    """The whole run: exit status, per-step results and the recorded outcome."""

    status: ExitStatus
    steps: tuple[StepResult, ...] = ()
    outcome: str = ""  # success | failure | aborted (what the recording says)
    rolled_back: bool = False


# ---------------------------------------------------------------------- parameters


@dataclass(frozen=True, slots=True)
class ParamShape:
    """What a placeholder's values look like, inferred from its examples (or its name)."""

    label: str  # "a hex id like 3f9c2e1"
    pattern: re.Pattern[str]


# Most specific first; the first shape every example fits wins.
_SHAPES: tuple[tuple[str, str], ...] = (
    ("a UUID", r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"),
    ("a sha256 digest", r"sha256:[0-9a-f]{64}"),
    ("an IPv4 address", r"(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}"),
    ("a date (YYYY-MM-DD)", r"\d{4}-\d{2}-\d{2}"),
    ("a number", r"\d+"),
    ("a hex id", r"[0-9a-f]{4,64}|[0-9A-F]{4,64}"),
    ("a version", r"v?\d+(?:\.\d+){1,3}(?:[-+][0-9A-Za-z.-]+)?"),
    ("an ARN", r"arn:[\w-]+:[\w-]*:[\w-]*:\d*:\S+"),
)
# No shell metacharacters, no spaces: what identifiers, names, tags and paths look like.
_WORD = r"[A-Za-z0-9._:/@%+=,~-]+"
_NAME_HINTS: tuple[tuple[str, str], ...] = (
    (r"(?:^|[-_.])(?:sha|commit|commit-sha|git-sha)$", "a hex id"),
    (r"(?:^|[-_.])(?:port|count|replicas|number|num|size|percent)$", "a number"),
    (r"(?:^|[-_.])uuid$", "a UUID"),
)
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")


def param_examples(text: str) -> dict[str, tuple[str, ...]]:
    """``{name}`` -> example values from lines that explain it (``- `{tag}` — observed: `v1.4.2```)."""
    found: dict[str, list[str]] = {}
    definition = re.compile(
        r"^\s*(?:[-*+]\s+|\d+[.)]\s+)?(?:\|\s*)?[`*_]*\{([a-z][a-z0-9]*(?:[-_.][a-z0-9]+)*)\}[`*_]*"
    )
    for line in text.split("\n"):
        m = definition.match(line)
        names = [m.group(1)] if m else []
        if not names:
            # "a `{commit-sha}` such as `3f9c2e1`" / "{tag} (e.g. `v1.2.3`)"
            for pm in PLACEHOLDER.finditer(line):
                after = line[pm.end() : pm.end() + 80].lower()
                if re.search(r"\be\.g\.|\b(?:example|such as|like|observed|for instance)\b", after):
                    names.append(pm.group(1))
        if not names:
            continue
        rest = line[m.end() :] if m else line
        values = [
            v.group(2).strip()
            for v in _CODE_SPAN.finditer(rest)
            if v.group(2).strip() and "{" not in v.group(2)
        ]
        for name in names:
            bucket = found.setdefault(name, [])
            bucket.extend(v for v in values if v not in bucket)
    return {k: tuple(v) for k, v in found.items() if v}


def infer_shape(name: str, examples: Sequence[str]) -> ParamShape | None:
    """The shape a value of ``name`` must have, from its examples; None when nothing is known."""
    shapes = {label: re.compile(pattern) for label, pattern in _SHAPES}
    if examples:
        for label, pattern in shapes.items():
            if all(pattern.fullmatch(e) for e in examples):
                return ParamShape(f"{label} like {examples[0]}", pattern)
        if all(re.fullmatch(_WORD, e) for e in examples):
            return ParamShape(
                f"one word without spaces or shell characters, like {examples[0]}",
                re.compile(_WORD),
            )
        return None
    for hint, label in _NAME_HINTS:
        if re.search(hint, name):
            return ParamShape(label, shapes[label])
    return None


def parse_params(pairs: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """``--param name=value`` strings -> sorted (name, value) pairs; braces around names allowed."""
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip().strip("{}").strip()
        if not sep or not name:
            raise UsageError(f"--param {pair!r} is not NAME=VALUE", hint="--param tag=v1.4.2")
        out[name] = value
    return tuple(sorted(out.items()))


def _check_value(name: str, value: str, shape: ParamShape | None) -> str | None:
    """Why ``value`` cannot be used for ``{name}``, or None."""
    if not value:
        return f"{{{name}}} needs a value"
    if any(ch in value for ch in "\n\r\x00"):
        return f"{{{name}}}: a value cannot contain a line break or NUL"
    if shape is not None and not shape.pattern.fullmatch(value):
        return f"{{{name}}} should be {shape.label}; got {value!r}"
    return None


def substitute(command: str, values: dict[str, str]) -> str:
    """Replace ``{name}`` placeholders, quoting each value for where it sits in the command.

    Outside quotes (and inside ``$( )``) the value is ``shlex.quote``d; inside double quotes
    ``$ ` \\ "`` are escaped; inside single quotes a ``'`` closes, escapes and reopens; inside
    backticks the quoted value is escaped once more for the backtick layer. In a heredoc body
    the value is written as it is (``$ ` \\`` escaped when the body expands). No value can end
    a quote, start a command substitution or add a command. Unknown placeholders stay as
    written.
    """
    out: list[str] = []
    for kind, part in _heredoc_parts(command):
        if kind == "code":
            out.append(_substitute_code(part, values))
        else:
            out.append(_fill_body(part, values, expanding=kind == "expanding"))
    return "".join(out)


def _fill_body(body: str, values: dict[str, str], *, expanding: bool) -> str:
    def value(m: re.Match[str]) -> str:
        if m.group(1) not in values:
            return m.group(0)
        text = values[m.group(1)]
        # an unquoted delimiter lets the shell expand $, ` and \ in the body
        return re.sub(r"([\\$`])", r"\\\1", text) if expanding else text

    return PLACEHOLDER.sub(value, body)


def _heredoc_parts(command: str) -> list[tuple[str, str]]:
    """``command`` cut into shell code and heredoc bodies ("literal": a quoted delimiter,
    "expanding": an unquoted one), each body with its closing line."""
    parts: list[tuple[str, str]] = []
    lines = command.split("\n")
    code: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        code.append(line)
        i += 1
        pending = [
            (m.group(1) == "-", m.group(2) != "", m.group(3)) for m in HEREDOC.finditer(line)
        ]
        for strip, quoted, delim in pending:
            body: list[str] = []
            while i < len(lines):
                body.append(lines[i])
                i += 1
                if (body[-1].lstrip("\t") if strip else body[-1]).rstrip("\r") == delim:
                    break
            parts.append(("code", "\n".join(code) + "\n"))
            code = []
            text = "\n".join(body)
            parts.append(
                ("literal" if quoted else "expanding", text + ("\n" if i < len(lines) else ""))
            )
    if code:
        parts.append(("code", "\n".join(code)))
    return [(k, p) for k, p in parts if p]


def _substitute_code(command: str, values: dict[str, str]) -> str:
    out: list[str] = []
    # quoting contexts, innermost last: "" (unquoted), "'", '"', "(" for $( ), "`"
    stack = [""]
    i = 0
    while i < len(command):
        top = stack[-1]
        m = PLACEHOLDER.match(command, i) if command[i] == "{" else None
        if m is not None and m.group(1) in values:
            out.append(_quoted_for(values[m.group(1)], stack))
            i = m.end()
            continue
        ch = command[i]
        if top == "'":
            if ch == "'":
                stack.pop()
        elif ch == "\\" and i + 1 < len(command):
            out.append(command[i : i + 2])
            i += 2
            continue
        elif ch == "$" and command.startswith("$(", i) and not command.startswith("$((", i):
            stack.append("(")
            out.append("$(")
            i += 2
            continue
        elif ch == ")" and top == "(":
            stack.pop()
        elif ch == "`":
            if top == "`":
                stack.pop()
            else:
                stack.append("`")
        elif ch == '"':
            if top == '"':
                stack.pop()
            else:
                stack.append('"')
        elif ch == "'" and top != '"':
            stack.append("'")
        out.append(ch)
        i += 1
    return "".join(out)


def _quoted_for(value: str, stack: Sequence[str]) -> str:
    context = stack[-1]
    if context == "'":
        quoted = value.replace("'", "'\"'\"'")
    elif context == '"':
        quoted = re.sub(r'([\\$`"])', r"\\\1", value)
    else:
        quoted = shlex.quote(value)
    # each enclosing backtick layer removes one level of \\, \` and \$ before its shell runs
    for _layer in range(stack.count("`")):
        quoted = re.sub(r"([\\$`])", r"\\\1", quoted)
    return quoted


# ---------------------------------------------------------------------- destructive commands

_EXTRA_DESTRUCTIVE: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (label, re.compile(pattern, re.IGNORECASE))
    for label, pattern in (
        ("--delete", r"(?:^|\s)--delete(?:[=\s]|$)"),
        ("scale to 0", r"--(?:replicas|desired-count|min-size|max-size|desired-capacity|"
                       r"min-capacity|max-capacity|num-nodes|instance-count)[=\s]+['\"]?0['\"]?(?!\S)"),
        ("scale to 0", r"\bscale\b[^|;&\n]*\s[\w.-]+=0(?!\S)"),
    )
)  # fmt: skip


def destructive_kind(command: str) -> str | None:
    """Which destructive pattern ``command`` matches (DROP, rm -rf, scale to 0, ...), or None."""
    from runbook.validate import destructive_kind as lint_kind

    return lint_kind(command) or next(
        (label for label, pattern in _EXTRA_DESTRUCTIVE if pattern.search(command)), None
    )


_TARGET_FLAGS = (
    "function-name", "service", "service-name", "auto-scaling-group-name",
    "db-instance-identifier", "db-cluster-identifier", "table-name", "bucket", "stack-name",
    "name", "target", "instance-ids", "queue-url", "topic-arn", "distribution-id", "release",
    "cluster",
)  # fmt: skip


def _words(command: str) -> list[str]:
    try:
        return shlex.split(command, comments=False)
    except ValueError:
        return command.split()


def destructive_target(command: str, fallback: str) -> str:
    """The name of what ``command`` destroys (table, path, resource), else ``fallback``."""
    sql = re.search(
        r"\b(?:DROP\s+(?:TABLE|DATABASE|SCHEMA|INDEX|VIEW|USER|ROLE|COLLECTION|COLUMN)"
        r"(?:\s+IF\s+EXISTS)?|TRUNCATE(?:\s+TABLE)?|DELETE\s+FROM)\s+([\w\"`.\[\]-]+)",
        command,
        re.IGNORECASE,
    )
    if sql:
        return sql.group(1).strip('"`[];')
    words = _words(command)
    for flag in _TARGET_FLAGS:  # most specific flag first: --service before --cluster
        for k, w in enumerate(words):
            if w == f"--{flag}" and k + 1 < len(words):
                return words[k + 1]
            if w.startswith(f"--{flag}=") or (flag == "target" and w.startswith("-target=")):
                return w.split("=", 1)[1]
    args = [w for w in words if not w.startswith("-")]
    if not args:
        return fallback
    if "--delete" not in words:
        # `aws s3 rm s3://bucket/prefix --recursive`, `gsutil rm -r gs://bucket`
        url = next((w for w in args if re.match(r"^(?:s3|gs|az)://", w)), None)
        if url is not None:
            return url
    program = os.path.basename(args[0])
    rest = args[1:]
    if program in ("rm", "rmdir", "shred", "dropdb", "dropuser") and rest:
        return rest[-1]
    if program in ("kubectl", "oc"):
        if "-f" in words:
            k = words.index("-f")
            if k + 1 < len(words):
                return words[k + 1]
        verbs = ("delete", "scale")
        for verb in verbs:
            if verb in rest:
                after = rest[rest.index(verb) + 1 :]
                if after and "/" in after[0]:
                    return after[0].split("/", 1)[1]
                if len(after) >= 2:
                    return after[1]
    if program in ("helm",) and len(rest) >= 2:
        return rest[1]
    if program in ("aws", "rsync", "gsutil", "rclone") and "--delete" in words and rest:
        return rest[-1]  # the destination of a sync that deletes
    if program in ("gcloud", "az") and "delete" in rest:
        after = rest[rest.index("delete") + 1 :]
        if after:
            return after[-1]
    return fallback


# ---------------------------------------------------------------------- the plan


@dataclass(frozen=True, slots=True)
class _Block:
    """What runs as one subprocess: one logical command, or a whole block sharing shell state."""

    text: str  # as written, placeholders unfilled
    display: str


_STATEFUL = re.compile(
    r"^\s*(?:cd|pushd|popd|export|source|\.|set|unset|alias|shopt|umask|ulimit|"
    r"[A-Za-z_][A-Za-z0-9_]*=\S*\s*$|[A-Za-z_][\w]*\s*\(\s*\)|function\s)"
)


def _runnables(blocks: Sequence[ParsedCommand]) -> list[str]:
    """Each logical command, or a whole block when its lines share shell state (cd, export...)."""
    out: list[str] = []
    for block in blocks:
        commands = list(block.commands)
        if not commands:
            continue
        if len(commands) > 1 and any(_STATEFUL.match(c) for c in commands[:-1]):
            body = "\n".join(c for c in commands)
            out.append("set -e\n" + body)
        else:
            out.extend(commands)
    return out


def _timeout(step: ParsedStep, options: RunOptions) -> float:
    if options.timeout_s is not None:
        return options.timeout_s
    text = step.expected_duration_text
    p90 = re.search(r"p90\s*[:=~]?\s*~?\s*([\d.]+\s*[a-z]+)", text, re.IGNORECASE)
    seconds = parse_duration(p90.group(1)) if p90 else None
    if seconds is None:
        seconds = step.expected_duration_s
    if seconds is None:
        return options.default_timeout_s
    return max(options.min_timeout_s, seconds * options.margin)


def _expected_lines(step: ParsedStep) -> list[str]:
    """Literal text a verification's output must contain: code spans, or a fenced block."""
    text = step.expected.strip()
    if not text:
        return []
    spans = [m.group(2).strip() for m in _CODE_SPAN.finditer(text) if m.group(2).strip()]
    if spans:
        return spans
    lines = [ln.strip() for ln in text.split("\n") if ln.strip()]
    return lines if len(lines) > 1 else []


_NO_SAMPLE = re.compile(r"^(?:no output|none|n/a|-|—|\(no output|\(empty)", re.IGNORECASE)


def _sample_lines(expected_output: str) -> list[str]:
    """The lines of an Expected Output sample worth looking for in real output."""
    out = []
    for raw in expected_output.split("\n"):
        line = raw.strip()
        if not line or line.startswith("$ ") or _NO_SAMPLE.match(line) or line in ("...", "…"):
            continue
        line = line.rstrip("…").rstrip()  # a sample cut short: its beginning must be there
        if len(line) >= 3:
            out.append(line)
    return out[:20]


def _line_pattern(line: str, values: dict[str, str]) -> re.Pattern[str]:
    """An expected line as a regex: known values literal, other placeholders any text."""
    parts = []
    pos = 0
    for m in PLACEHOLDER.finditer(line):
        parts.append(re.escape(line[pos : m.start()]))
        value = values.get(m.group(1))
        parts.append(re.escape(value) if value is not None else r".+?")
        pos = m.end()
    parts.append(re.escape(line[pos:]))
    pattern = r"\s+".join(p for p in re.split(r"(?:\\\s)+", "".join(parts)))
    return re.compile(pattern, re.IGNORECASE)


# ---------------------------------------------------------------------- troubleshooting


def matching_issues(
    issues: Sequence[ParsedIssue], output: str, limit: int = 3
) -> list[tuple[ParsedIssue, int]]:
    """Troubleshooting entries whose signature or symptoms match the error output, best first."""
    from rapidfuzz import fuzz

    from runbook.normalize import error_signature

    lines = [ln.strip() for ln in output.split("\n") if ln.strip()][-40:]
    if not lines:
        return []
    signatures = [error_signature(ln) for ln in lines]
    scored = []
    for issue in issues:
        best = 0
        for pattern in (issue.signature, *issue.symptoms):
            pattern = pattern.strip().strip("`").strip()
            literal = PLACEHOLDER.sub(" ", pattern)
            pieces = [p for p in re.split(r"\s{2,}|\s(?=\s)", literal) if len(p.strip()) >= 4]
            if len(" ".join(pieces)) < 8:
                continue
            flat = " ".join(lines)
            if all(p.strip().lower() in flat.lower() for p in pieces):
                best = 100
                break
            for line, sig in zip(lines, signatures, strict=True):
                score = max(
                    fuzz.partial_ratio(literal.lower(), line.lower())
                    if len(line) >= len(literal) * 0.6
                    else 0,
                    fuzz.ratio(pattern.lower(), sig.lower()),
                )
                best = max(best, int(score))
        if best >= 85:
            scored.append((issue, best))
    scored.sort(key=lambda x: (-x[1], x[0].line))
    return scored[:limit]


# ---------------------------------------------------------------------- the session


class _Quit(Exception):
    """The operator quit or declined a gate."""


class _Interrupted(Exception):
    """Ctrl-C while a command ran (its process group is already stopped)."""


@dataclass(slots=True)
class _State:
    values: dict[str, str] = field(default_factory=dict)
    results: list[StepResult] = field(default_factory=list)
    rolled_back: bool = False


class Session:
    """One `runbook run`: prepare (steps, parameters), then dry-run or execute."""

    def __init__(self, parsed: ParsedRunbook, text: str, options: RunOptions, io: RunIO) -> None:
        self.parsed = parsed
        self.options = options
        self.io = io
        self.examples = param_examples(text)
        self.declared, self.closed = declared_parameters(parsed)
        self.state = _State()
        self.recorder: Recorder | None = None
        steps = [s for s in parsed.steps]
        if not steps:
            raise UsageError(
                f"{parsed.path}: no procedure steps found",
                hint="a runbook needs `### Step N: …` headings (or a numbered list) with commands",
            )
        numbers = [s.number for s in steps]
        if options.from_step not in numbers and options.from_step != 1:
            raise UsageError(
                f"--from-step {options.from_step}: the runbook has steps {numbers[0]}–{numbers[-1]}"
            )
        self.steps = [s for s in steps if s.number >= options.from_step]

    # ---------------------------------------------------------------- parameters

    def placeholders(self, steps: Sequence[ParsedStep], *, stray: bool = False) -> list[str]:
        """Parameter names used by the commands of ``steps``, in order of first use.

        A runbook with a Parameters section has those and no others; braces of a jsonpath or
        jq expression (``{end}``) are never parameters. ``stray``: the ``{names}`` a
        Parameters section left out, which run as written.
        """
        seen: list[str] = []
        for step in steps:
            for block in (*step.commands, *step.verification):
                text = "\n".join(block.commands)
                found = (
                    stray_placeholders(text, self.declared)
                    if stray
                    else command_placeholders(text, self.declared, closed=self.closed)
                )
                for m in found:
                    if m.group(1) not in seen:
                        seen.append(m.group(1))
        return seen

    def _all(self) -> list[ParsedStep]:
        return [*self.steps, *self.parsed.checks]

    def shape(self, name: str) -> ParamShape | None:
        """The expected shape of ``{name}``'s value."""
        return infer_shape(name, self.examples.get(name, ()))

    def prepare(self) -> None:
        """List the steps, then take every placeholder value from --param or the operator."""
        io, opts = self.io, self.options
        if not opts.dry_run and not io.interactive and not opts.yes:
            raise UsageError(
                "runbook run asks before every step, but stdin is not a terminal",
                hint="run it in a terminal, or pass --yes to answer the ordinary gates "
                "(destructive steps still need their target's name typed)",
            )
        given = dict(opts.params)
        for name, value in sorted(given.items()):
            problem = _check_value(name, value, self.shape(name))
            if problem is not None:
                raise UsageError(f"--param {name}: {problem}")
        io.say(f"Runbook: {display_title(self.parsed)} ({len(self.parsed.steps)} steps)")
        for step in self.parsed.steps:
            mark = "  " if step.number >= opts.from_step else "- "
            extra = " (manual)" if step.manual or not step.commands else ""
            io.say(f"{mark} {step.number}. {step.title}{extra}")
        if opts.from_step > 1:
            io.say(f"Resuming from step {opts.from_step}.")
        used = set(self.placeholders([*self._all(), *self.parsed.rollback_steps]))
        for name in sorted(set(given) - used):
            io.say(f"  note: --param {name} is not used by this runbook's commands")
        if self.closed:
            for name in self.placeholders([*self._all(), *self.parsed.rollback_steps], stray=True):
                io.say(
                    f"  note: {{{name}}} is not among the runbook's Parameters: it runs as written"
                )
        self._collect(self.placeholders(self._all()), given, ask=not opts.dry_run)

    def _collect(self, names: Sequence[str], given: dict[str, str], *, ask: bool) -> None:
        values = self.state.values
        missing = [n for n in names if n not in values and n not in given]
        for name in names:
            if name in given:
                values[name] = given[name]
        if not missing or not ask:
            return
        if not self.io.interactive:
            raise UsageError(
                "no value for " + ", ".join(f"{{{n}}}" for n in missing),
                hint=" ".join(f"--param {n}=VALUE" for n in missing),
            )
        for name in missing:
            shape = self.shape(name)
            examples = self.examples.get(name, ())
            hint = f" (e.g. {', '.join(examples[:3])})" if examples else ""
            while True:
                try:
                    value = self.io.ask(f"Value for {{{name}}}{hint}: ").strip()
                except EOFError:
                    raise UsageError(
                        f"no value for {{{name}}} (end of input)",
                        hint=f"--param {name}=VALUE",
                    ) from None
                problem = _check_value(name, value, shape)
                if problem is None:
                    values[name] = value
                    break
                self.io.say(f"  {problem}")

    # ---------------------------------------------------------------- dry run

    def dry_run(self) -> str:
        """What would run, values substituted; nothing is executed or recorded."""
        values = self.state.values
        out = [f"# Dry run: {display_title(self.parsed)}"]
        for step in self.steps:
            out.append("")
            out.append(f"## Step {step.number}: {step.title}")
            if step.purpose:
                out.append(f"# Purpose: {step.purpose}")
            commands = _runnables(step.commands)
            if not commands:
                out.append("# (manual step: no command)")
            for command in commands:
                text = substitute(command, values)
                kind = destructive_kind(text)
                if kind is not None:
                    target = destructive_target(text, step.title)
                    out.append(f"# DESTRUCTIVE ({kind}): asks to type {target!r}")
                out.append(text)
            for command in _runnables(step.verification):
                out.append(f"# verify: {substitute(command, values)}")
            out.append(f"# timeout: {_fmt_s(_timeout(step, self.options))}")
        for check in self.parsed.checks:
            out.append("")
            out.append(f"## Check {check.number}: {check.title}")
            for command in _runnables((*check.commands, *check.verification)):
                out.append(f"# verify: {substitute(command, values)}")
            if check.expected:
                out.append(f"# expected: {_short(check.expected, 200)}")
        missing = [n for n in self.placeholders(self._all()) if n not in values]
        if missing:
            out.append("")
            out.append(
                "# no value given for "
                + ", ".join(f"{{{n}}}" for n in missing)
                + " (pass --param NAME=VALUE)"
            )
        return "\n".join(out) + "\n"

    # ---------------------------------------------------------------- execution

    def _masked(self, text: str) -> str:
        """``text`` with the values of secret-named parameters replaced before recording.

        Redaction catches secrets by their shape or key; a value passed as ``--param
        db-password=…`` is known to be secret by its name, whatever it looks like.
        """
        for name, value in self.state.values.items():
            if len(value) >= 4 and is_secret_key(name):
                text = text.replace(value, redacted_marker(name))
        return text

    def note(self, text: str) -> None:
        """Journal ``text`` into the recording (when there is one)."""
        if self.recorder is not None:
            self.recorder.note(self._masked(text))

    def execute(self, recorder: Recorder | None) -> RunResult:
        """Run every step with its gates; the recording gets commands and notes."""
        self.recorder = recorder
        if self.options.from_step > 1:
            self.note(f"Resumed from step {self.options.from_step} (earlier steps not run).")
        if self.state.values:
            self.note(
                "Parameters: " + ", ".join(f"{k}={v}" for k, v in sorted(self.state.values.items()))
            )
        status = ExitStatus.OK
        outcome = "success"
        try:
            for k, step in enumerate(self.steps):
                result = self._step(step, f"{k + 1}/{len(self.steps)}")
                self.state.results.append(result)
                if result.status == "failed":
                    status, outcome = ExitStatus.FINDINGS, "failure"
                    break
            else:
                # the template's post-operation checks: "run ALL checks before marking complete"
                for k, check in enumerate(self.parsed.checks):
                    result = self._check(check, f"{k + 1}/{len(self.parsed.checks)}")
                    self.state.results.append(result)
                    if result.status == "failed":
                        status, outcome = ExitStatus.FINDINGS, "failure"
                        break
        except _Quit as quit_:
            self.io.say(f"Stopped: {quit_}")
            self.note(f"Run stopped by the operator: {quit_}")
            status, outcome = ExitStatus.DECLINED, "aborted"
        except (_Interrupted, KeyboardInterrupt):
            self.io.say("\nInterrupted.")
            self.note("Run interrupted (Ctrl-C); the running command's process group was stopped.")
            status, outcome = ExitStatus.INTERRUPTED, "aborted"
        done = {r.number for r in self.state.results if r.kind == "step"}
        for step in self.steps:
            if step.number not in done:
                self.state.results.append(StepResult(step.number, step.title, "not-run"))
        if status is ExitStatus.OK:
            self.io.say("All steps" + (" and checks" if self.parsed.checks else "") + " passed.")
        elif status is ExitStatus.FINDINGS:
            failed = next(r for r in self.state.results if r.status == "failed")
            rolled = " (rollback run)" if self.state.rolled_back else ""
            self.io.say(f"Failed at {failed.kind} {failed.number}: {failed.detail}{rolled}.")
        return RunResult(
            status=status,
            steps=tuple(self.state.results),
            outcome=outcome,
            rolled_back=self.state.rolled_back,
        )

    def _name(self, step: ParsedStep) -> str:
        """How the operator and the record call ``step``: Step 3, Check 1, Rollback step 2."""
        if any(step is c for c in self.parsed.checks):
            return f"Check {step.number}"
        if any(step is r for r in self.parsed.rollback_steps):
            return f"Rollback step {step.number}"
        return f"Step {step.number}"

    def _gate(self, question: str) -> str:
        """y | s | q from the operator (``--yes`` answers y)."""
        if self.options.yes:
            self.io.say(f"{question} y (--yes)")
            return "y"
        for _ in range(5):
            try:
                answer = self.io.ask(f"{question} [y]es / [s]kip / [q]uit: ").strip().lower()
            except EOFError:
                return "q"
            if answer in ("y", "yes"):
                return "y"
            if answer in ("s", "skip", "n", "no"):
                return "s"
            if answer in ("q", "quit", "exit"):
                return "q"
            self.io.say("  please answer y, s or q")
        return "q"

    def _confirm_destructive(self, step: ParsedStep, command: str) -> None:
        kind = destructive_kind(command) or "destructive"
        target = destructive_target(command, step.title)
        self.io.say(f"  DESTRUCTIVE ({kind}): {command}")
        if not self.io.interactive:
            self.note(f"{self._name(step)}: destructive command not run (no terminal to confirm)")
            raise _Quit(
                f"{self._name(step).lower()} is destructive ({kind}) and needs {target!r} typed; "
                "run it in a terminal"
            )
        try:
            typed = self.io.ask(f"  Type {target!r} to confirm: ").strip()
        except EOFError:
            typed = ""
        if typed.strip("'\"") != target:
            self.note(f"{self._name(step)}: destructive confirmation declined ({kind})")
            raise _Quit(f"confirmation for {self._name(step).lower()} did not match {target!r}")
        self.note(f"{self._name(step)}: destructive command confirmed by typing {target!r}")

    def _step(self, step: ParsedStep, position: str) -> StepResult:
        io = self.io
        io.say("")
        io.say(f"Step {step.number} ({position}): {step.title}")
        if step.purpose:
            io.say(f"  Purpose: {step.purpose}")
        commands = [substitute(c, self.state.values) for c in _runnables(step.commands)]
        verification = [substitute(c, self.state.values) for c in _runnables(step.verification)]
        if not commands:
            for _line, text in step.prose[:8]:
                io.say(f"  {text}")
            answer = self._gate("  Manual step: done?")
            return self._answered(step, answer, manual=True) or StepResult(
                step.number, step.title, "passed", "manual step confirmed"
            )
        for command in commands:
            io.say(f"  $ {command}")
        for command in verification:
            io.say(f"  verify: {command}")
        timeout = _timeout(step, self.options)
        answer = self._gate(f"Run step {step.number}?")
        skipped = self._answered(step, answer)
        if skipped is not None:
            return skipped
        for command in commands:
            if destructive_kind(command) is not None:
                self._confirm_destructive(step, command)
        while True:
            failure = self._attempt(step, commands, verification, timeout)
            if failure is None:
                return StepResult(step.number, step.title, "passed")
            choice = self._on_failure(step, failure)
            if choice == "r":
                self.note(f"Step {step.number}: retried after failure")
                continue
            if choice == "b":
                self._rollback(step)
            return StepResult(step.number, step.title, "failed", failure[0])

    def _check(self, check: ParsedStep, position: str) -> StepResult:
        """A post-operation check: its commands run as a verification against **Expected**."""
        io = self.io
        name = self._name(check)
        title = check.title
        io.say("")
        io.say(f"{name} ({position}): {check.title}")
        if check.purpose:
            io.say(f"  Purpose: {check.purpose}")
        commands = [
            substitute(c, self.state.values)
            for c in _runnables((*check.commands, *check.verification))
        ]
        if not commands:
            for _line, text in check.prose[:8]:
                io.say(f"  {text}")
            answer = self._gate("  Manual check: done?")
            skipped = self._answered(check, answer, manual=True)
            return StepResult(check.number, title, "skipped" if skipped else "passed", kind="check")
        for command in commands:
            io.say(f"  $ {command}")
        if check.expected:
            io.say(f"  Expected: {_short(check.expected, 200)}")
        answer = self._gate(f"Run {name.lower()}?")
        skipped = self._answered(check, answer)
        if skipped is not None:
            return StepResult(check.number, title, "skipped", kind="check")
        for command in commands:
            if destructive_kind(command) is not None:
                self._confirm_destructive(check, command)
        while True:
            failure = self._attempt(check, (), commands, _timeout(check, self.options))
            if failure is None:
                return StepResult(check.number, title, "passed", kind="check")
            choice = self._on_failure(check, failure)
            if choice == "r":
                self.note(f"{name}: retried after failure")
                continue
            if choice == "b":
                self._rollback(check)
            return StepResult(check.number, title, "failed", failure[0], kind="check")

    def _answered(
        self, step: ParsedStep, answer: str, *, manual: bool = False
    ) -> StepResult | None:
        if answer == "s":
            self.io.say(f"  Skipped {self._name(step).lower()}.")
            self.note(f"{self._name(step)} “{step.title}”: skipped by the operator")
            return StepResult(step.number, step.title, "skipped")
        if answer == "q":
            self.note(f"{self._name(step)} “{step.title}”: gate declined (quit)")
            raise _Quit(f"operator quit at {self._name(step).lower()}")
        if manual:
            self.note(f"{self._name(step)} “{step.title}”: manual step confirmed done")
        return None

    def _run(self, command: str, timeout: float) -> Captured:
        seq = None
        if self.recorder is not None:
            seq = self.recorder.command_start(self._masked(command), os.getcwd())
        began = self.io.now()
        result = self.io.runner(command, timeout, lambda data, _err: self.io.show_output(data))
        duration = (self.io.now() - began).total_seconds()
        if self.recorder is not None and seq is not None:
            self.recorder.command_end(
                seq,
                result.exit_code,
                duration,
                self._masked(result.output),
                timed_out=result.timed_out,
            )
        if result.interrupted:
            raise _Interrupted()
        return result

    def _attempt(
        self, step: ParsedStep, commands: Sequence[str], verification: Sequence[str], timeout: float
    ) -> tuple[str, str] | None:
        """None when the step and its verification passed, else (reason, error output)."""
        outputs: list[str] = []
        for command in commands:
            result = self._run(command, timeout)
            outputs.append(result.output)
            if result.timed_out:
                why = f"`{_short(command)}` timed out after {_fmt_s(timeout)}"
                self.io.say(f"  ✗ {why}")
                self.note(f"{self._name(step)} failed: {why}")
                return why, result.output
            if result.exit_code != 0:
                why = f"`{_short(command)}` exited with code {result.exit_code}"
                self.io.say(f"  ✗ {why}")
                self.note(f"{self._name(step)} failed: {why}")
                return why, result.output
        if commands:
            self._compare_output(step, "\n".join(outputs))
        if not verification:
            self.io.say("  ✓ done (the runbook has no verification command for this step)")
            return None
        outputs = []
        for command in verification:
            result = self._run(command, timeout)
            outputs.append(result.output)
            if result.exit_code != 0 or result.timed_out:
                why = f"verification `{_short(command)}` " + (
                    "timed out" if result.timed_out else f"exited with code {result.exit_code}"
                )
                self.io.say(f"  ✗ {why}")
                self.note(f"{self._name(step)} verification failed: {why}")
                return why, result.output
        combined = "\n".join(outputs)
        expected = _expected_lines(step)
        missing = [
            line for line in expected if not _line_pattern(line, self.state.values).search(combined)
        ]
        if missing:
            why = "verification output lacks the expected " + "; ".join(
                f"“{_short(m)}”" for m in missing
            )
            self.io.say(f"  ✗ {why}")
            self.note(f"{self._name(step)} verification failed: {why}")
            return why, combined
        detail = "exit 0" + (f"; expected text found ({len(expected)})" if expected else "")
        self.io.say(f"  ✓ verification passed ({detail})")
        self.note(f"{self._name(step)} verification passed: {detail}")
        return None

    def _compare_output(self, step: ParsedStep, output: str) -> None:
        """Report (never fail on) how the command's output compares with **Expected Output**.

        Expected Output is a sample from earlier runs (ids, timings, formatting vary), so a
        difference is worth a look, not a failed step; the verification decides.
        """
        lines = _sample_lines(step.expected_output)
        if not lines:
            return
        missing = [
            line for line in lines if not _line_pattern(line, self.state.values).search(output)
        ]
        if missing:
            text = (
                f"output differs from Expected Output: {len(lines) - len(missing)}/{len(lines)} "
                f"line(s) seen; missing “{_short(missing[0], 80)}”"
            )
            self.io.say(f"  ! {text}")
        else:
            text = f"output matches Expected Output ({len(lines)} line(s))"
            self.io.say(f"  ✓ {text}")
        self.note(f"{self._name(step)}: {text}")

    def _on_failure(self, step: ParsedStep, failure: tuple[str, str]) -> str:
        """Show guidance and matching troubleshooting; return r (retry), b (rollback) or s (stop)."""
        io = self.io
        if step.if_failed:
            io.say("  If Failed:")
            for line in step.if_failed:
                io.say(f"    {line}")
        for issue, _score in matching_issues(self.parsed.troubleshooting, failure[1]):
            io.say(f"  Troubleshooting (matches this error): {issue.title}")
            if issue.cause:
                io.say(f"    Cause: {issue.cause}")
            for block in issue.solution:
                for command in block.commands:
                    io.say(f"    fix: {command}")
            for text in issue.solution_text:
                io.say(f"    {text}")
            self.note(f"{self._name(step)}: troubleshooting entry matched: {issue.title}")
        has_rollback = bool(self.parsed.rollback_steps)
        if self.options.yes and not io.interactive:
            return "s"
        options = "[r]etry / " + ("roll[b]ack / " if has_rollback else "") + "[s]top"
        for _ in range(5):
            try:
                answer = io.ask(f"{self._name(step)} failed. {options}: ").strip().lower()
            except EOFError:
                return "s"
            if answer in ("r", "retry"):
                return "r"
            if answer in ("b", "rollback") and has_rollback:
                return "b"
            if answer in ("s", "stop", "q", "quit"):
                return "s"
        return "s"

    def _rollback(self, failed: ParsedStep) -> None:
        io = self.io
        io.say("")
        n = len(self.parsed.rollback_steps)
        io.say(f"Rollback Procedure ({n} step{'s' if n != 1 else ''})")
        self.note(f"Rollback started after {self._name(failed).lower()} failed")
        self.state.rolled_back = True
        rollback = list(self.parsed.rollback_steps)
        try:
            self._collect(self.placeholders(rollback), dict(self.options.params), ask=True)
        except UsageError as exc:
            io.say(f"Rollback not started: {exc.message}")
            self.note(f"Rollback not started: {exc.message}")
            return
        for k, step in enumerate(rollback):
            try:
                result = self._rollback_step(step, f"{k + 1}/{len(rollback)}")
            except _Quit as quit_:
                io.say(f"Rollback stopped: {quit_}")
                self.note(f"Rollback stopped by the operator: {quit_}")
                return
            self.note(f"Rollback step {step.number} “{step.title}”: {result}")
            if result == "failed":
                io.say("Rollback step failed; stopping the rollback.")
                return

    def _rollback_step(self, step: ParsedStep, position: str) -> str:
        io = self.io
        io.say("")
        io.say(f"Rollback step {step.number} ({position}): {step.title}")
        commands = [substitute(c, self.state.values) for c in _runnables(step.commands)]
        verification = [substitute(c, self.state.values) for c in _runnables(step.verification)]
        for command in commands:
            io.say(f"  $ {command}")
        if not commands:
            answer = self._gate("  Manual rollback step: done?")
            return "skipped" if answer == "s" else self._quit_or(answer, "passed")
        answer = self._gate(f"Run rollback step {step.number}?")
        if answer != "y":
            return "skipped" if answer == "s" else self._quit_or(answer, "skipped")
        for command in commands:
            if destructive_kind(command) is not None:
                self._confirm_destructive(step, command)
        failure = self._attempt(step, commands, verification, _timeout(step, self.options))
        return "passed" if failure is None else "failed"

    @staticmethod
    def _quit_or(answer: str, default: str) -> str:
        if answer == "q":
            raise _Quit("operator quit the rollback")
        return default


def display_title(parsed: ParsedRunbook) -> str:
    """The runbook's title without a leading "Runbook:" (or its file name when untitled)."""
    title = re.sub(r"^\s*(?:runbook|playbook)\s*:\s*", "", parsed.title, flags=re.IGNORECASE)
    return title.strip() or os.path.basename(parsed.path) or "runbook"


def _short(text: str, n: int = 120) -> str:
    one = " ".join(text.split())
    return one if len(one) <= n else one[: n - 1] + "…"


def _fmt_s(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 300 else f"{seconds / 60:.0f} min"


# ---------------------------------------------------------------------- the real terminal


def terminal_io(now: Clock = utc_now) -> RunIO:
    """Prompts and narrative on stderr, answers from stdin, command output to stdout."""

    def say(text: str) -> None:
        sys.stderr.write(text + "\n")
        sys.stderr.flush()

    def ask(question: str) -> str:
        sys.stderr.write(question)
        sys.stderr.flush()
        line = sys.stdin.readline()
        if not line:
            sys.stderr.write("\n")
            raise EOFError
        return line.rstrip("\n")

    def show(data: bytes) -> None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()

    def runner(command: str, timeout: float, on_output: Callable[[bytes, bool], None]) -> Captured:
        return run_captured(
            command,
            timeout_s=timeout,
            on_output=on_output,
            new_session=True,
            merge_stderr=True,
            stdin_devnull=True,
            use_pty=sys.stdout.isatty(),  # streams line by line, as in a shell
        )

    return RunIO(
        ask=ask,
        say=say,
        show_output=show,
        runner=runner,
        now=now,
        interactive=sys.stdin.isatty(),
    )
