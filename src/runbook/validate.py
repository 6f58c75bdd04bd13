"""Validate a runbook: lint rules, drift against newer runs, and the original's success metrics.

Sample finding (text format)::

    runbooks/2025-12-28-deployment-lambda.md:97: RB106 warning: Step 2 (Run dr test all) changes
    state (`terraform apply tfplan`) and nothing verifies it (add a check command after it)

Lint needs only the file. Drift and metrics need evidence (``Evidence``, built by the api from
``--root``): runs newer than the runbook's Last Validated date (or ``--since``) are mined with
the same pipeline that generates runbooks (``mine``, ``failures.cluster``, ``normalize``) and
compared with what the runbook says.
"""

from __future__ import annotations

import calendar
import math
import posixpath
import re
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote

from runbook.dedup import deduplicate
from runbook.model import (
    Classification,
    CommandTemplate,
    Execution,
    FailureCluster,
    Finding,
    Journal,
    Metric,
    OperationType,
    Outcome,
    ParsedCommand,
    ParsedRunbook,
    ParsedStep,
    RunbookValidation,
    ValidationReport,
)

__all__ = [
    "DURATION_TOLERANCE",
    "FOLLOW_THRESHOLD",
    "RULES",
    "Evidence",
    "Rule",
    "command_matches",
    "drift",
    "lint",
    "review_due",
    "validate_runbook",
]

DURATION_TOLERANCE = 0.20  # the original: estimates within ±20 % of actual durations
DURATION_FLOOR_S = 5.0  # below this absolute difference, timing noise is not drift
FOLLOW_THRESHOLD = 0.60  # a run "followed" the runbook when >= 60 % of its steps appear
COVERAGE_TARGET = 0.80  # troubleshooting should cover >= 80 % of issues
MIN_RUNS = 2  # fewer newer runs than this say nothing about a majority or a median
SAME_PROCEDURE = 0.25  # a run sharing fewer of the runbook's steps is another procedure


@dataclass(frozen=True, slots=True)
class Rule:
    """A validation rule: id, short name, default severity and what it checks."""

    id: str
    name: str
    severity: str
    summary: str


RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        Rule("RB100", "unreadable", "error", "the runbook file cannot be read as text"),
        Rule("RB101", "missing-section", "warning", "a section of the runbook template is missing"),
        Rule("RB102", "missing-header", "warning", "a header field is missing or not filled in"),
        Rule("RB103", "step-count", "warning", "fewer than 5 or more than 10 steps without phases"),
        Rule("RB104", "step-without-command", "warning", "a step has no command and no manual marker"),
        Rule("RB105", "ambiguous-step", "error", "ambiguous wording with no command or check"),
        Rule("RB106", "unverified-change", "warning", "a state-changing step has no verification after it"),
        Rule("RB107", "unguarded-destructive", "error", "a destructive command has no backup or confirmation before it"),
        Rule("RB108", "unexplained-placeholder", "warning", "a {placeholder} is used but never explained"),
        Rule("RB109", "unused-placeholder", "warning", "a {placeholder} is explained but never used"),
        Rule("RB110", "secret", "error", "a secret appears in the text"),
        Rule("RB111", "broken-link", "error", "a relative link points to nothing (or outside the root)"),
        Rule("RB112", "review-overdue", "warning", "the review date has passed"),
        Rule("RB113", "unreadable-field", "warning", "a header date or duration cannot be read"),
        Rule("RB201", "missing-command", "warning", "newer runs do a command the runbook lacks"),
        Rule("RB202", "stale-step", "warning", "newer runs no longer do a runbook step"),
        Rule("RB203", "step-duration", "warning", "a step's observed median is outside ±20 % of its stated duration"),
        Rule("RB204", "total-duration", "warning", "the observed total is outside ±20 % of the Estimated Duration"),
        Rule("RB205", "uncovered-failure", "warning", "a failure in newer runs has no troubleshooting entry"),
        Rule("RB206", "rollback-unexercised", "warning", "no recorded run ever exercised the rollback procedure"),
    )
}  # fmt: skip

REQUIRED_SECTIONS: tuple[tuple[str, str, str], ...] = (
    ("overview", "Overview", "warning"),
    ("prerequisites", "Prerequisites", "warning"),
    ("procedure", "Procedure", "error"),
    ("verification", "Verification", "warning"),
    ("rollback", "Rollback Procedure", "warning"),
    ("monitoring", "Monitoring", "warning"),
    ("troubleshooting", "Troubleshooting", "warning"),
    ("related", "Related Resources", "warning"),
)
REQUIRED_HEADER: tuple[tuple[str, str], ...] = (
    ("last_validated", "Last Validated"),
    ("estimated_duration", "Estimated Duration"),
    ("owner", "Runbook Owner"),
    ("review_frequency", "Review Frequency"),
)

# The original's anti-pattern: "No ambiguous steps ('check if it looks good')".
AMBIGUOUS = re.compile(
    r"\b(?:make\s+sure\s+(?:that\s+)?(?:it|everything|things|all|the\s+\w+)\s+"
    r"(?:works?|is\s+working|looks?\s+(?:good|ok|okay|fine|right)|is\s+(?:ok|okay|fine|good|healthy))"
    r"|verify\s+(?:everything|it\s+works|all\s+is\s+well|that\s+(?:it|everything)\s+works)"
    r"|check\s+(?:if|that|whether)\s+(?:it|everything|things|all)\s+(?:looks?|is|are|works?)\b"
    r"|looks?\s+(?:good|ok|okay|fine|right|normal)\b"
    r"|ensure\s+(?:it|everything|all)\s+(?:works|is\s+(?:ok|okay|fine|good))"
    r"|sanity[- ]check|(?:double|triple)[- ]check\s+everything|check\s+everything"
    r"|should\s+be\s+(?:fine|ok|okay|good)\b|eyeball"
    r"|confirm\s+(?:it|everything)\s+(?:works|is\s+(?:ok|okay|fine)))",
    re.IGNORECASE,
)
# Verbs that change state, read on `program subcommand` (checks and dry runs excluded first).
STATE_CHANGE = re.compile(
    r"\b(?:deploy|apply|migrate|upgrade|downgrade|rollout\s+(?:restart|undo)|scale|"
    r"set-desired-capacity|update-[\w-]+|put-[\w-]+|modify-[\w-]+|create-[\w-]+|"
    r"delete(?:-[\w-]+)?|destroy|uninstall|helm\s+install|set\s+(?:image|env|resources)|"
    r"drain|cordon|uncordon|taint|patch|replace|restart|"
    r"terminate-[\w-]+|reboot-[\w-]+|promote|rollback|revert|register-[\w-]+|remove|"
    r"s3\s+(?:sync|cp|mv|rm))\b",
    re.IGNORECASE,
)
_SQL_WRITE = re.compile(r"\b(?:ALTER|UPDATE|INSERT|DELETE|DROP|TRUNCATE|CREATE|GRANT)\s", re.I)
_SEG = r"[^|;&\n]*"
DESTRUCTIVE: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (label, re.compile(pattern, re.IGNORECASE))
    for label, pattern in (
        ("DROP", r"\bDROP\s+(?:TABLE|DATABASE|SCHEMA|INDEX|COLUMN|VIEW|USER|ROLE|COLLECTION)\b"),
        ("TRUNCATE", r"\bTRUNCATE\s+(?:TABLE\s+)?[\w\"`.]"),
        ("DELETE without WHERE", r"\bDELETE\s+FROM\s+[\w\"`.]+\s*(?:;|\"|'|$)"),
        ("rm -rf", r"\brm\s+(?:-[a-z]*r[a-z]*f[a-z]*|-[a-z]*f[a-z]*r[a-z]*|-r\s+-f|-f\s+-r|--recursive\s+--force|--force\s+--recursive)\b"),
        ("terraform destroy", r"\bterraform\s" + _SEG + r"(?:\bdestroy\b|\s-destroy\b)"),
        ("kubectl delete", r"\bkubectl\s" + _SEG + r"\bdelete\b"),
        ("aws s3 rm --recursive", r"\baws\s+s3\s+rm\s" + _SEG + r"--recursive"),
        ("aws s3 rb --force", r"\baws\s+s3\s+rb\s" + _SEG + r"--force"),
        ("aws delete", r"\baws\s+[\w-]+\s+(?:delete-[\w-]+|terminate-instances)\b"),
        ("forced delete", r"\b(?:delete|remove|rm|destroy|purge|drop|uninstall)\b" + _SEG + r"\s(?:--force|-f)\b(?!-)"),
        ("dropdb", r"\bdropdb\b"),
        ("helm uninstall", r"\bhelm\s+(?:uninstall|delete)\b"),
        ("git push --force", r"\bgit\s+push\s" + _SEG + r"(?:--force\b|\s-f\b)"),
        ("git reset --hard", r"\bgit\s+reset\s+--hard\b"),
        ("redis FLUSH", r"\bredis-cli\b" + _SEG + r"\bFLUSH(?:ALL|DB)\b"),
        ("mkfs", r"\bmkfs(?:\.\w+)?\b"),
        ("gcloud/az delete", r"\b(?:gcloud|az)\s" + _SEG + r"\bdelete\b"),
    )
)  # fmt: skip
GUARD = re.compile(
    r"\b(?:back\s?-?up|backups?|snapshot|pg_dump(?:all)?|mysqldump|mongodump|dump|archive|"
    r"copy\s+of|velero\s+backup|terraform\s+plan|plan\s+-destroy|--dry-?run|dry[- ]run|"
    r"confirm(?:ation)?\s+(?:with|from|by|that\s+the\s+(?:backup|snapshot|target))|"
    r"(?:explicit|manual|written)\s+confirmation|ask\s+for\s+confirmation|approv(?:al|ed)\b|"
    r"sign-?off|are\s+you\s+sure|read\s+-r?p|--interactive|"
    r"versioning|point-in-time|pitr|export\b(?!\s+\w+=))",
    re.IGNORECASE,
)
_NO_VERIFICATION = re.compile(r"^(?:no\s+verification|none|n/?a|-|—)\b", re.IGNORECASE)
_SUPPRESS = re.compile(r"<!--\s*runbook-validate:\s*disable\s*=?\s*([A-Z0-9, ]+?)\s*-->", re.I)
_PERIODS = (
    (re.compile(r"\bdaily\b", re.I), 0, 1),
    (re.compile(r"\bweekly\b", re.I), 0, 7),
    (re.compile(r"\b(?:bi-?weekly|fortnightly)\b", re.I), 0, 14),
    (re.compile(r"\bmonthly\b", re.I), 1, 0),
    (re.compile(r"\bquarterly\b", re.I), 3, 0),
    (re.compile(r"\b(?:semi-?annual(?:ly)?|half-?yearly)\b", re.I), 6, 0),
    (re.compile(r"\b(?:annual(?:ly)?|yearly)\b", re.I), 12, 0),
)
_EVERY = re.compile(r"\bevery\s+(\d+)\s*(day|week|month|quarter|year)s?\b", re.I)


def _finding(rule: str, path: str, line: int, message: str, hint: str) -> Finding:
    from runbook.redact import redact

    r = RULES[rule]
    # Messages quote commands and links from the runbook: a secret in it (RB110) must not be
    # copied into CI logs by another finding.
    return Finding(rule, r.name, r.severity, path, max(line, 1), redact(message)[0], hint)


def _code(text: str, limit: int = 90) -> str:
    one = " ".join(text.split())
    return "`" + (one if len(one) <= limit else one[: limit - 1] + "…") + "`"


def _step_name(step: ParsedStep) -> str:
    return f"Step {step.number} ({step.title})" if step.title else f"Step {step.number}"


# ============================================================================ lint


def lint(
    parsed: ParsedRunbook,
    text: str,
    *,
    today: date,
    base_dir: Path | None = None,
    root: Path | None = None,
) -> list[Finding]:
    """Evidence-free findings for one parsed runbook (``text`` is its markdown)."""
    findings: list[Finding] = []
    findings += _sections_rule(parsed)
    findings += _header_rule(parsed)
    findings += _step_count_rule(parsed)
    findings += _steps_rules(parsed)
    findings += _change_rule(parsed)
    findings += _destructive_rule(parsed, text)
    findings += _placeholder_rules(parsed)
    findings += _secret_rule(parsed, text)
    findings += _link_rule(parsed, text, base_dir, root)
    findings += _review_rule(parsed, today)
    return findings


def suppressed_rules(text: str) -> set[str]:
    """Rule ids disabled by ``<!-- runbook-validate: disable=RB104,RB112 -->`` comments."""
    out: set[str] = set()
    for m in _SUPPRESS.finditer(text):
        out |= {r.strip().upper() for r in m.group(1).split(",") if r.strip()}
    return out


def _sections_rule(parsed: ParsedRunbook) -> list[Finding]:
    out = []
    keys = {s.key for s in parsed.sections}
    has_steps = bool(parsed.steps)
    line = parsed.title_line or 1
    for key, title, severity in REQUIRED_SECTIONS:
        if key in keys or (key == "procedure" and has_steps):
            continue
        f = _finding(
            "RB101",
            parsed.path,
            line,
            f"missing section `## {title}`",
            f"add a `## {title}` section as in the runbook template",
        )
        out.append(Finding(f.rule, f.name, severity, f.path, f.line, f.message, f.hint))
    return out


def _header_rule(parsed: ParsedRunbook) -> list[Finding]:
    out = []
    fields = {h.name: h for h in parsed.header}
    line = parsed.title_line or 1
    for name, label in REQUIRED_HEADER:
        hf = fields.get(name)
        if hf is None:
            out.append(
                _finding(
                    "RB102",
                    parsed.path,
                    line,
                    f"header field **{label}** is missing",
                    f"add `**{label}**: …` under the title",
                )
            )
        elif not hf.value.strip() or re.fullmatch(
            r"\{[^}]*\}|\[[^\]]*\]|tbd|todo|\?+", hf.value.strip(), re.I
        ):
            out.append(
                _finding(
                    "RB102",
                    parsed.path,
                    hf.line,
                    f"header field **{label}** is not filled in ({hf.value.strip() or 'empty'})",
                    f"replace it with a real {label.lower()}",
                )
            )
    for d in parsed.diagnostics:
        out.append(
            _finding(
                "RB113",
                parsed.path,
                d.source.line,
                d.message,
                "write it as YYYY-MM-DD / `~N minutes`",
            )
        )
    return out


def _step_count_rule(parsed: ParsedRunbook) -> list[Finding]:
    n = len(parsed.steps)
    section = parsed.section("procedure")
    line = section.line if section else (parsed.title_line or 1)
    if n == 0:
        if section is None:
            return []  # RB101 already says the procedure is missing
        f = _finding(
            "RB103",
            parsed.path,
            line,
            "the procedure has no steps",
            "write the steps as `### Step N: Title`",
        )
        return [Finding(f.rule, f.name, "error", f.path, f.line, f.message, f.hint)]
    if n < 5:
        return [
            _finding(
                "RB103",
                parsed.path,
                line,
                f"only {n} step{'s' if n != 1 else ''} (the template asks for 5–10)",
                "split coarse steps, or drop the runbook if the procedure is trivial",
            )
        ]
    if n > 10 and not parsed.phases:
        return [
            _finding(
                "RB103",
                parsed.path,
                line,
                f"{n} steps and no phases (the template asks for 5–10)",
                "group the steps under `### Phase N: Name` headings or link details elsewhere",
            )
        ]
    return []


def _has_check(step: ParsedStep) -> bool:
    if step.verification:
        return True
    return any(_is_check(c) for b in step.commands for c in b.commands)


def _steps_rules(parsed: ParsedRunbook) -> list[Finding]:
    out = []
    for step in parsed.steps:
        if not step.commands and not step.verification and not step.manual:
            out.append(
                _finding(
                    "RB104",
                    parsed.path,
                    step.line,
                    f"{_step_name(step)} has no command and is not marked manual",
                    "add the exact command in a ```sh fence, or say **Manual**: and what to do",
                )
            )
    for step in (*parsed.steps, *parsed.checks, *parsed.rollback_steps):
        if _has_check(step):
            continue
        for line, text in step.prose:
            m = AMBIGUOUS.search(text)
            if m:
                out.append(
                    _finding(
                        "RB105",
                        parsed.path,
                        line,
                        f"ambiguous wording {m.group(0)!r} in {_step_name(step)} with no command or check",
                        "say what to run and what output proves it (a command plus **Expected**:)",
                    )
                )
                break
    return out


@lru_cache(maxsize=4096)
def _template(command: str) -> CommandTemplate:
    from runbook.normalize import normalize

    return normalize(command)


def _is_check(command: str) -> bool:
    """A command that verifies state (a dry run or plan checks nothing that happened)."""
    from runbook.mine import check_kind

    return check_kind(_template(command)) == "verify"


def is_state_change(command: str) -> bool:
    """True when ``command`` changes state (deploy, apply, migrate, delete, scale, ...)."""
    t = _template(command)
    from runbook.mine import check_kind

    if check_kind(t) is not None:
        return False
    head = f"{t.program} {t.subcommand}".strip()
    if STATE_CHANGE.search(head):
        return True
    return t.program in {"psql", "mysql", "sqlite3", "sqlcmd"} and bool(_SQL_WRITE.search(command))


def _sequence(parsed: ParsedRunbook) -> list[tuple[ParsedStep, str, int]]:
    """Every procedure command in order: (step, command, line)."""
    out = []
    for step in parsed.steps:
        for block in step.commands:
            for command, line in zip(block.commands, block.lines, strict=False):
                out.append((step, command, line))
    return out


def _change_rule(parsed: ParsedRunbook) -> list[Finding]:
    seq = _sequence(parsed)
    changes = [i for i, (_s, c, _l) in enumerate(seq) if is_state_change(c)]
    out = []
    flagged: set[int] = set()
    for k, i in enumerate(changes):
        step, command, line = seq[i]
        if step.number in flagged:
            continue
        nxt = changes[k + 1] if k + 1 < len(changes) else len(seq)
        verified = bool(step.verification) or _prose_verification(step)
        verified = verified or any(_is_check(c) for _s, c, _l in seq[i + 1 : nxt])
        # Later steps' own verification blocks (before the next change) count too.
        later = {s.number: s for s, _c, _l in seq[i + 1 : nxt] if s.number != step.number}
        verified = verified or any(s.verification for s in later.values())
        if nxt == len(seq) and parsed.checks:
            verified = True  # the post-operation Verification section follows the last change
        if not verified:
            flagged.add(step.number)
            out.append(
                _finding(
                    "RB106",
                    parsed.path,
                    line,
                    f"{_step_name(step)} changes state ({_code(command)}) and nothing verifies it",
                    "add a **Verification** command (wait / status / health check) after it",
                )
            )
    return out


def _prose_verification(step: ParsedStep) -> bool:
    text = step.verification_text.strip()
    return bool(text) and not _NO_VERIFICATION.match(text) and not AMBIGUOUS.search(text)


def _destructive_rule(parsed: ParsedRunbook, text: str) -> list[Finding]:
    lines = text.split("\n")
    ranges: list[tuple[int, int]] = []
    prereq = parsed.section("prerequisites")
    if prereq is not None:
        ranges.append((prereq.line, prereq.end_line))
    procedure = parsed.section("procedure")
    first = parsed.steps[0].line if parsed.steps else 0
    proc_start = procedure.line if procedure is not None else first
    rollback = parsed.section("rollback")
    out = []
    for steps, start in ((parsed.steps, proc_start), (parsed.rollback_steps, 0)):
        for step in steps:
            for block in step.commands:
                for command, line in zip(block.commands, block.lines, strict=False):
                    label = destructive_kind(command)
                    if label is None:
                        continue
                    spans = [*ranges, (start or step.line, line - 1)]
                    if steps is parsed.rollback_steps:
                        spans.append((proc_start or 1, procedure.end_line if procedure else 0))
                        spans.append((rollback.line if rollback else step.line, line - 1))
                    before = "\n".join(
                        lines[i - 1]
                        for a, b in spans
                        for i in range(max(a, 1), min(b, len(lines)) + 1)
                    )
                    if GUARD.search(before):
                        continue
                    out.append(
                        _finding(
                            "RB107",
                            parsed.path,
                            line,
                            f"destructive command ({label}) {_code(command)} in "
                            f"{_step_name(step)} with no backup or confirmation before it",
                            "add a backup/snapshot step (or an explicit confirmation) before it",
                        )
                    )
    return out


def destructive_kind(command: str) -> str | None:
    """Which destructive pattern ``command`` matches (``"rm -rf"``, ``"DROP"``...), or None."""
    for label, pattern in DESTRUCTIVE:
        if pattern.search(command):
            return label
    return None


def _code_blocks(parsed: ParsedRunbook) -> list[ParsedCommand]:
    blocks: list[ParsedCommand] = []
    for step in (*parsed.steps, *parsed.checks, *parsed.rollback_steps):
        blocks += [*step.commands, *step.verification, *step.log_commands]
    for issue in parsed.troubleshooting:
        blocks += list(issue.solution)
    return blocks


def _placeholder_rules(parsed: ParsedRunbook) -> list[Finding]:
    from runbook.runbook_parse import command_placeholders

    explained = dict(parsed.parameters)
    used: dict[str, int] = {}
    for block in _code_blocks(parsed):
        for command, line in zip(block.commands, block.lines, strict=False):
            # the explained names and any other {name} (a jsonpath's `{end}` is neither)
            for m in command_placeholders(command, explained):
                used.setdefault(m.group(1), line)
    out = []
    for name, line in sorted(used.items(), key=lambda kv: (kv[1], kv[0])):
        if name not in explained:
            out.append(
                _finding(
                    "RB108",
                    parsed.path,
                    line,
                    f"placeholder `{{{name}}}` is used but never explained",
                    f"add `- `{{{name}}}` — what it is, with an example` under **Parameters**",
                )
            )
    for name, line in sorted(explained.items(), key=lambda kv: (kv[1], kv[0])):
        if name not in used:
            out.append(
                _finding(
                    "RB109",
                    parsed.path,
                    line,
                    f"placeholder `{{{name}}}` is explained but no command uses it",
                    "remove the explanation or use the placeholder where it belongs",
                )
            )
    return out


def _secret_rule(parsed: ParsedRunbook, text: str) -> list[Finding]:
    from runbook.redact import redact

    out = []
    for number, line in enumerate(text.split("\n"), start=1):
        redacted, count = redact(line)
        if count:
            names = sorted(set(re.findall(r"\{redacted:([^}]+)\}", redacted)))
            out.append(
                _finding(
                    "RB110",
                    parsed.path,
                    number,
                    f"a secret appears in the text ({', '.join(names) or 'credential'})",
                    "remove it, rotate the credential, and use a {placeholder} or a secret-manager reference",
                )
            )
    if not out and redact(text)[1]:
        out.append(
            _finding("RB110", parsed.path, 1, "a secret appears in the text (spans several lines)",
                     "remove it, rotate the credential, and use a secret-manager reference")
        )  # fmt: skip
    return out


def _slugs(parsed: ParsedRunbook, text: str) -> set[str]:
    """GitHub-style anchors of every heading in the file."""
    seen: dict[str, int] = {}
    out: set[str] = set()
    for line in text.split("\n"):
        m = re.match(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not m:
            continue
        slug = re.sub(r"[^\w\- ]", "", m.group(1).lower().replace("`", "")).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def _link_rule(
    parsed: ParsedRunbook, text: str, base_dir: Path | None, root: Path | None
) -> list[Finding]:
    if base_dir is None:
        return []
    out = []
    anchors: set[str] | None = None
    # Links stay inside the evidence root when the runbook lives there, else its repository.
    top = root if root is not None and _inside(base_dir, root) else _repo_root(base_dir)
    limit = top.resolve() if top is not None else None
    for link in parsed.links:
        target = link.target.strip()
        if not target or re.match(r"^[a-z][a-z0-9+.-]*:|^//", target, re.I):
            continue  # https:, mailto:, protocol-relative: not checked offline
        path_part, _, fragment = target.partition("#")
        path_part = unquote(path_part.split("?", 1)[0])
        if not path_part:
            anchors = anchors if anchors is not None else _slugs(parsed, text)
            if fragment and fragment.lower() not in anchors:
                out.append(
                    _finding("RB111", parsed.path, link.line, f"link to #{fragment} matches no heading in this file",
                             "fix the anchor (GitHub lower-cases headings and turns spaces into '-')")
                )  # fmt: skip
            continue
        if path_part.startswith("/") and limit is not None:
            resolved = (limit / path_part.lstrip("/")).resolve()
        else:
            resolved = (base_dir / path_part).resolve()
        if limit is not None and resolved != limit and limit not in resolved.parents:
            out.append(
                _finding("RB111", parsed.path, link.line, f"link {target!r} points outside the repository root",
                         "link to a file inside the repository (or use an https:// URL)")
            )  # fmt: skip
            continue
        if not resolved.exists():
            out.append(
                _finding("RB111", parsed.path, link.line, f"broken link {target!r} (no such file)",
                         "fix the path (relative to this runbook's folder) or remove the link")
            )  # fmt: skip
    return out


def _inside(path: Path, root: Path) -> bool:
    resolved, top = path.resolve(), root.resolve()
    return resolved == top or top in resolved.parents


def _repo_root(start: Path) -> Path | None:
    for parent in (start.resolve(), *start.resolve().parents):
        if (parent / ".git").exists():
            return parent
    return None


def review_due(parsed: ParsedRunbook) -> date | None:
    """When the next review is due: (Last Validated or Generated) + Review Frequency."""
    base = parsed.last_validated or parsed.generated
    if base is None or not parsed.review_frequency:
        return None
    freq = parsed.review_frequency
    months, days = 0, 0
    m = _EVERY.search(freq)
    if m:
        n, unit = int(m.group(1)), m.group(2).lower()
        months = {"month": n, "quarter": 3 * n, "year": 12 * n}.get(unit, 0)
        days = {"day": n, "week": 7 * n}.get(unit, 0)
    else:
        for pattern, mo, d in _PERIODS:
            if pattern.search(freq):
                months, days = mo, d
                break
    if not months and not days:
        return None
    return _add_months(base, months) + timedelta(days=days)


def _add_months(d: date, months: int) -> date:
    index = d.month - 1 + months
    year, month = d.year + index // 12, index % 12 + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def _review_rule(parsed: ParsedRunbook, today: date) -> list[Finding]:
    due = review_due(parsed)
    if due is None or today <= due:
        return []
    fields = {h.name: h for h in parsed.header}
    hf = fields.get("last_validated") or fields.get("generated") or fields.get("review_frequency")
    base = parsed.last_validated or parsed.generated
    return [
        _finding(
            "RB112",
            parsed.path,
            hf.line if hf else 1,
            f"review overdue: last validated {base}, {parsed.review_frequency.lower()} review was due "
            f"{due} ({(today - due).days} days ago)",
            "re-run the procedure (or regenerate from newer runs) and update **Last Validated**",
        )
    ]


# ============================================================================ drift


@dataclass(frozen=True, slots=True)
class Evidence:
    """Evidence under a root, classified once and shared by every validated runbook."""

    executions: tuple[Execution, ...] = ()
    journals: tuple[Journal, ...] = ()
    classes: Mapping[str, Classification] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # One run recorded in several formats (CI log + shell history) counts once, as in
        # generate: otherwise drift windows, duration samples and success rates count it twice.
        kept, _ = deduplicate(self.executions)
        object.__setattr__(self, "executions", kept)


def _tokens(t: CommandTemplate) -> list[str]:
    toks = [tok.template or tok.text for tok in t.tokens]
    texts = [tok.text for tok in t.tokens]
    # Start at the program: env prefixes and wrappers (`ENV=prod doppler run --`) vary by run.
    if t.program:
        for i, word in enumerate(texts):
            if posixpath.basename(word) == t.program:
                return toks[i:]
    return toks


@lru_cache(maxsize=4096)
def _pattern(token: str) -> re.Pattern[str] | None:
    if "{" not in token:
        return None
    parts = re.split(r"\{[a-z][a-z0-9._-]*\}", token)
    if len(parts) == 1:
        return None
    return re.compile(".+".join(re.escape(p) for p in parts) + r"\Z", re.S)


def _token_eq(a: str, b: str) -> bool:
    if a == b:
        return True
    pa, pb = _pattern(a), _pattern(b)
    return bool((pa and pa.match(b)) or (pb and pb.match(a)))


@lru_cache(maxsize=65536)
def command_matches(runbook_command: str, run_command: str, threshold: float = 0.7) -> bool:
    """True when a run's command is the runbook's command (placeholders match any value).

    Same program and subcommand, most tokens aligned, and the runbook's literal values all
    present: the miner keeps varying values as placeholders, so a literal that differs
    (``--metric-name Errors`` vs ``Throttles``) is a different command, however many flags
    the two share. One missing value is tolerated in long commands (an optional flag).
    """
    a, b = _template(runbook_command), _template(run_command)
    if a.key == b.key:
        return True
    if a.program != b.program or ((a.subcommand or b.subcommand) and not _sub_eq(a, b)):
        return False
    ta, tb = _tokens(a), _tokens(b)
    if not ta or not tb:
        return False
    matched = _aligned(ta, tb)
    if 2 * len(matched) / (len(ta) + len(tb)) < threshold:
        return False
    # The program itself always aligns; the values after it tell commands apart.
    values = [
        i for i, tok in enumerate(ta) if i and not tok.startswith("-") and _pattern(tok) is None
    ]
    missing = sum(1 for i in values if i not in matched)
    return missing <= (1 if len(values) > 4 else 0)


def _aligned(ta: Sequence[str], tb: Sequence[str]) -> set[int]:
    """Indices of ``ta`` in a longest common subsequence with ``tb`` (placeholder-aware)."""
    n, m = len(ta), len(tb)
    table = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            if _token_eq(ta[i], tb[j]):
                table[i][j] = table[i + 1][j + 1] + 1
            else:
                table[i][j] = max(table[i + 1][j], table[i][j + 1])
    out: set[int] = set()
    i = j = 0
    while i < n and j < m:
        if _token_eq(ta[i], tb[j]) and table[i][j] == table[i + 1][j + 1] + 1:
            out.add(i)
            i, j = i + 1, j + 1
        elif table[i + 1][j] >= table[i][j + 1]:
            i += 1
        else:
            j += 1
    return out


def _sub_eq(a: CommandTemplate, b: CommandTemplate) -> bool:
    sa, sb = a.subcommand.split(), b.subcommand.split()
    return len(sa) == len(sb) and all(_token_eq(x, y) for x, y in zip(sa, sb, strict=True))


def _step_commands(step: ParsedStep) -> list[str]:
    return [c for b in step.commands for c in b.commands]


def _step_seen(step: ParsedStep, run_commands: Sequence[str]) -> bool:
    return any(command_matches(c, r) for c in _step_commands(step) for r in run_commands)


def _followed(parsed: ParsedRunbook, run: Execution) -> bool:
    steps = [s for s in parsed.steps if _step_commands(s)]
    if not steps:
        return False
    texts = [c.text for c in run.commands]
    seen = sum(1 for s in steps if _step_seen(s, texts))
    return seen / len(steps) >= FOLLOW_THRESHOLD


def _run_date(e: Execution) -> date | None:
    when = e.started_at or next((c.started_at for c in e.commands if c.started_at), None)
    return when.date() if when is not None else None


def _outcome(e: Execution, ev: Evidence) -> Outcome:
    from runbook.classify import resolved_outcome

    return resolved_outcome(e, ev.classes.get(e.id))


@dataclass(frozen=True, slots=True)
class DriftResult:
    """Drift findings plus the metrics and which runs they used."""

    findings: tuple[Finding, ...] = ()
    metrics: tuple[Metric, ...] = ()
    window: str = ""
    runs: int = 0
    notes: tuple[str, ...] = ()


def drift(parsed: ParsedRunbook, evidence: Evidence, *, since: date | None = None) -> DriftResult:
    """Compare a runbook with the runs under a root: drift findings and success metrics."""
    from runbook.mine import is_guide

    relevant = _relevant(parsed, evidence)
    notes: list[str] = []
    if not relevant:
        what = (
            parsed.operation_type.value
            if parsed.operation_type is not OperationType.NONE
            else "this procedure"
        )
        return DriftResult(
            notes=(f"no recorded run of {what}{' ' + repr(parsed.scope) if parsed.scope else ''} "
                   "under the root: drift and metrics need evidence",),
        )  # fmt: skip
    baseline = since or parsed.last_validated or parsed.generated
    if baseline is None:
        newer: list[Execution] = []
        notes.append("the runbook has no Last Validated date: pass --since DATE to check drift")
    else:
        newer = [
            e
            for e in relevant
            if (d := _run_date(e)) is not None and (d >= baseline if since else d > baseline)
        ]
    word = "since" if since else "after"
    window = (
        f"{len(newer)} run{'s' if len(newer) != 1 else ''} {word} {baseline}" if baseline else ""
    )
    findings: list[Finding] = []
    pattern_runs = [
        e
        for e in newer
        if _outcome(e, evidence) is not Outcome.FAILURE and e.commands and not is_guide(e)
    ]
    if len(pattern_runs) >= MIN_RUNS:
        findings += _procedure_drift(parsed, pattern_runs, window)
        findings += _duration_drift(parsed, pattern_runs, window)
    elif baseline is not None:
        notes.append(
            f"{len(pattern_runs)} successful run(s) {word} {baseline}: procedure and duration "
            f"drift need at least {MIN_RUNS}"
        )
    clusters = _clusters(newer, evidence) if newer else ()
    findings += _failure_drift(parsed, clusters, window)
    findings += _rollback_drift(parsed, evidence)

    # Metrics: the newer runs when there are any, else every relevant run (in-sample).
    sample = newer if newer else relevant
    scope_note = window if newer else f"all {len(relevant)} recorded runs (none newer)"
    sample_clusters = clusters if newer else _clusters(relevant, evidence)
    metrics = _metrics(parsed, sample, sample_clusters, evidence)
    return DriftResult(
        findings=tuple(findings),
        metrics=metrics,
        window=scope_note,
        runs=len(sample),
        notes=tuple(notes),
    )


def _relevant(parsed: ParsedRunbook, evidence: Evidence) -> list[Execution]:
    """Runs of the runbook's operation and scope, plus any run that followed the runbook."""
    from runbook.classify import select
    from runbook.mine import is_guide

    chosen: dict[str, Execution] = {}
    if parsed.operation_type is not OperationType.NONE:
        scope = parsed.scope or None
        for e, _score in select(
            evidence.executions, parsed.operation_type, scope, evidence.classes
        ):
            chosen[e.id] = e
    ours = [c for s in parsed.steps for c in _step_commands(s)]
    for e in evidence.executions:
        if e.id in chosen or not e.commands:
            continue
        if _followed(parsed, e):
            chosen[e.id] = e
        elif _outcome(e, evidence) is Outcome.FAILURE and any(
            command_matches(c, x.text) for x in e.commands for c in ours
        ):
            # A failure report whose attempted command is one of the runbook's steps.
            chosen[e.id] = e
    # Guides and runbooks (no exit codes, times or output) are documents, not runs.
    chosen = {k: e for k, e in chosen.items() if not is_guide(e)}
    steps = [s for s in parsed.steps if _step_commands(s)]
    if steps:
        # A run sharing few steps with the runbook is another procedure of the same type
        # (another incident's mitigation), not evidence about this one. A failure report
        # holds only what was attempted: one shared step is enough there.
        need = max(1, math.ceil(SAME_PROCEDURE * len(steps)))
        chosen = {
            k: e
            for k, e in chosen.items()
            if _shared_steps(steps, e) >= (1 if _outcome(e, evidence) is Outcome.FAILURE else need)
        }
    return sorted(chosen.values(), key=lambda e: (_run_date(e) or date.min, e.id))


def _shared_steps(steps: Sequence[ParsedStep], run: Execution) -> int:
    texts = [c.text for c in run.commands]
    return sum(1 for s in steps if _step_seen(s, texts))


def _all_commands(parsed: ParsedRunbook) -> list[str]:
    out: list[str] = []
    for step in (*parsed.steps, *parsed.checks):
        for block in (*step.commands, *step.verification, *step.log_commands):
            out += list(block.commands)
    return out


def _procedure_drift(
    parsed: ParsedRunbook, runs: Sequence[Execution], window: str
) -> list[Finding]:
    from runbook.mine import mine

    op = (
        parsed.operation_type
        if parsed.operation_type is not OperationType.NONE
        else OperationType.DEPLOYMENT
    )
    procedure = mine(runs, op)
    ours = _all_commands(parsed)
    section = parsed.section("procedure")
    line = section.line if section else (parsed.title_line or 1)
    out: list[Finding] = []
    reported: set[str] = set()
    for mined_step in procedure.steps:
        candidates = [*mined_step.commands]
        if mined_step.verification is not None:
            candidates.append(mined_step.verification)
        for cmd in candidates:
            if cmd.optional or cmd.of == 0 or cmd.support * 2 <= cmd.of or cmd.text in reported:
                continue
            if any(command_matches(c, cmd.text) for c in ours):
                continue
            reported.add(cmd.text)
            out.append(
                _finding(
                    "RB201",
                    parsed.path,
                    line,
                    f"newer runs do {_code(cmd.text)} ({cmd.support}/{cmd.of} of the {window}) "
                    "but the runbook has no such command",
                    "add it as a step (or regenerate the runbook from the newer runs)",
                )
            )
    texts = [[c.text for c in e.commands] for e in runs]
    for step in parsed.steps:
        if step.optional or step.manual or not _step_commands(step):
            continue
        k = sum(1 for run in texts if _step_seen(step, run))
        if k * 2 < len(runs):
            out.append(
                _finding(
                    "RB202",
                    parsed.path,
                    step.line,
                    f"{_step_name(step)} appears in only {k}/{len(runs)} of the {window}",
                    "remove the step, mark it optional, or record why runs skip it",
                )
            )
    return out


def _step_seconds(parsed: ParsedRunbook, run: Execution) -> dict[int, float]:
    """Seconds the run spent in each runbook step (by step number): its commands and checks.

    Each run command counts for one step only, the first that names it, so a wait that is one
    step's verification is not also counted for the next step that repeats it.
    """
    from runbook.mine.clean import command_durations

    steps = [
        (s.number, [c for b in (*s.commands, *s.verification) for c in b.commands])
        for s in parsed.steps
    ]
    out: dict[int, float] = {}
    for cmd, (seconds, _gap) in zip(run.commands, command_durations(run), strict=False):
        if seconds is None:
            continue
        for number, commands in steps:
            if any(command_matches(c, cmd.text) for c in commands):
                out[number] = out.get(number, 0.0) + seconds
                break
    return out


def _run_total(run: Execution) -> float | None:
    from runbook.mine.clean import command_durations, run_total

    return run_total(run, command_durations(run))


def _outside(observed: float, stated: float) -> bool:
    diff = abs(observed - stated)
    return diff > DURATION_TOLERANCE * stated and diff > DURATION_FLOOR_S


def _fmt(seconds: float) -> str:
    from runbook.render.markdown import format_seconds

    return format_seconds(seconds)


def _duration_drift(parsed: ParsedRunbook, runs: Sequence[Execution], window: str) -> list[Finding]:
    out = []
    per_run = [_step_seconds(parsed, run) for run in runs]
    for step in parsed.steps:
        if step.expected_duration_s is None or not _step_commands(step):
            continue
        values = [v for spent in per_run if (v := spent.get(step.number)) is not None]
        if len(values) < MIN_RUNS:
            continue
        median = statistics.median(values)
        if _outside(median, step.expected_duration_s):
            out.append(
                _finding(
                    "RB203",
                    parsed.path,
                    step.line,
                    f"{_step_name(step)}: stated ~{_fmt(step.expected_duration_s)}, observed median "
                    f"{_fmt(median)} over {len(values)} of the {window} (outside ±20 %)",
                    f"update **Expected Duration** to ~{_fmt(median)}",
                )
            )
    if parsed.estimated_duration_s is not None:
        totals = [
            t for run in runs if _followed(parsed, run) and (t := _run_total(run)) is not None
        ]
        if len(totals) >= MIN_RUNS:
            median = statistics.median(totals)
            if _outside(median, parsed.estimated_duration_s):
                fields = {h.name: h for h in parsed.header}
                hf = fields.get("estimated_duration")
                out.append(
                    _finding(
                        "RB204",
                        parsed.path,
                        hf.line if hf else 1,
                        f"Estimated Duration ~{_fmt(parsed.estimated_duration_s)}, observed median "
                        f"{_fmt(median)} over {len(totals)} of the {window} (outside ±20 %)",
                        f"update **Estimated Duration** to ~{_fmt(median)}",
                    )
                )
    return out


def _clusters(runs: Sequence[Execution], evidence: Evidence) -> tuple[FailureCluster, ...]:
    from runbook.failures import cluster

    failing = [e for e in runs if e.errors or _outcome(e, evidence) is Outcome.FAILURE]
    if not failing:
        return ()
    # Journals explain failures of these runs; a journal-only cluster is some other operation's.
    paths = {e.source.path for e in runs}
    return tuple(
        c for c in cluster(runs, evidence.journals) if any(r.path in paths for r in c.evidence)
    )


def _issue_texts(parsed: ParsedRunbook) -> list[list[str]]:
    from runbook.normalize import error_signature

    out = []
    for issue in parsed.troubleshooting:
        texts = [t for t in (issue.signature, issue.title, *issue.symptoms) if t and len(t) >= 6]
        out.append(sorted({error_signature(t) for t in texts} | set(texts)))
    return out


def covered(cluster: FailureCluster, issues: Sequence[Sequence[str]]) -> bool:
    """True when a troubleshooting entry matches the cluster by signature or fuzzy symptoms."""
    from rapidfuzz import fuzz

    from runbook.normalize import error_signature

    mine = {cluster.signature, *cluster.symptoms, *(error_signature(s) for s in cluster.symptoms)}
    mine = {m for m in mine if m and len(m) >= 6}
    for texts in issues:
        for a in texts:
            for b in mine:
                if a == b:
                    return True
                short, long_ = sorted((a, b), key=len)
                if len(short) >= 12 and fuzz.partial_ratio(short, long_) >= 90:
                    return True
                if fuzz.token_set_ratio(a, b) >= 88:
                    return True
    return False


def _failure_drift(
    parsed: ParsedRunbook, clusters: Sequence[FailureCluster], window: str
) -> list[Finding]:
    if not clusters:
        return []
    issues = _issue_texts(parsed)
    section = parsed.section("troubleshooting")
    line = section.line if section else (parsed.title_line or 1)
    out = []
    for c in sorted(clusters, key=lambda c: (-c.occurrences, c.signature)):
        if covered(c, issues):
            continue
        where = ", ".join(sorted({r.path for r in c.evidence})[:2])
        out.append(
            _finding(
                "RB205",
                parsed.path,
                line,
                f"failure {_code(c.signature, 80)} (seen {c.occurrences}× in the {window}; {where}) "
                "has no troubleshooting entry",
                "add a `### Issue N:` entry with its Symptoms, Cause and Solution (or regenerate)",
            )
        )
    return out


def _rollback_commands(parsed: ParsedRunbook) -> list[str]:
    """The rollback's state-changing commands (all of its commands when none changes state)."""
    commands = [c for s in parsed.rollback_steps for c in _step_commands(s)]
    return [c for c in commands if is_state_change(c)] or commands


def _rollback_runs(parsed: ParsedRunbook, evidence: Evidence) -> list[Execution]:
    """Recorded runs of the rollback: half of its commands, including a state-changing one.

    A run that followed the procedure itself is not a rollback, even though reverting often
    repeats the deploy command with an older artifact.
    """
    from runbook.mine import is_guide

    changes = _rollback_commands(parsed)
    commands = [c for s in parsed.rollback_steps for c in _step_commands(s)]
    if not changes:
        return []
    out = []
    for e in evidence.executions:
        if not e.commands or is_guide(e) or _followed(parsed, e):
            continue
        texts = [c.text for c in e.commands]
        changed = any(command_matches(c, t) for c in changes for t in texts)
        hit = sum(1 for c in commands if any(command_matches(c, t) for t in texts))
        if changed and hit * 2 >= len(commands):
            out.append(e)
    return out


def _rollback_drift(parsed: ParsedRunbook, evidence: Evidence) -> list[Finding]:
    changes = _rollback_commands(parsed)
    if not changes or _rollback_runs(parsed, evidence):
        return []
    section = parsed.section("rollback")
    return [
        _finding(
            "RB206",
            parsed.path,
            section.line if section else 1,
            "no recorded run ever exercised the rollback procedure "
            f"({_code(changes[0])} never appears in the evidence)",
            "rehearse the rollback in staging and record it (`runbook observe`)",
        )
    ]


def _metrics(
    parsed: ParsedRunbook,
    runs: Sequence[Execution],
    clusters: Sequence[FailureCluster],
    evidence: Evidence,
) -> tuple[Metric, ...]:
    followed = [e for e in runs if e.commands and _followed(parsed, e)]
    decided = [e for e in followed if _outcome(e, evidence) is not Outcome.UNKNOWN]
    succeeded = [e for e in decided if _outcome(e, evidence) is Outcome.SUCCESS]
    metrics = [
        Metric(
            "followed-success",
            "runs that followed the runbook and succeeded",
            len(succeeded),
            len(decided),
        )
    ]
    if parsed.estimated_duration_s is not None:
        totals = [t for e in followed if (t := _run_total(e)) is not None]
        within = [t for t in totals if not _outside_strict(t, parsed.estimated_duration_s)]
        metrics.append(
            Metric(
                "duration-accuracy",
                "runs within ±20 % of the Estimated Duration",
                len(within),
                len(totals),
                target=0.8,
            )
        )
    issues = _issue_texts(parsed)
    total = sum(max(c.occurrences, 1) for c in clusters)
    hit = sum(max(c.occurrences, 1) for c in clusters if covered(c, issues))
    metrics.append(
        Metric(
            "troubleshooting-coverage",
            "failures with a troubleshooting entry",
            hit,
            total,
            target=COVERAGE_TARGET,
        )
    )
    if _rollback_commands(parsed):
        # "Rollback procedure is tested and works": over all the evidence, rollbacks are rare.
        rollbacks = [
            e
            for e in _rollback_runs(parsed, evidence)
            if _outcome(e, evidence) is not Outcome.UNKNOWN
        ]
        worked = [e for e in rollbacks if _outcome(e, evidence) is Outcome.SUCCESS]
        metrics.append(
            Metric(
                "rollback-exercised",
                "recorded rollbacks that worked (all runs)",
                len(worked),
                len(rollbacks),
            )
        )
    return tuple(metrics)


def _outside_strict(observed: float, stated: float) -> bool:
    return abs(observed - stated) > DURATION_TOLERANCE * stated


# ============================================================================ one file


def validate_runbook(
    path: Path,
    *,
    display: str,
    today: date,
    root: Path | None = None,
    evidence: Evidence | None = None,
    since: date | None = None,
) -> RunbookValidation:
    """Lint one runbook file and, with evidence, check drift and compute the metrics."""
    from runbook.runbook_parse import parse_runbook

    try:
        data = path.read_bytes()
    except OSError as exc:
        # One unreadable file is a finding; the other runbooks are still validated.
        reason = exc.strerror or type(exc).__name__
        finding = _finding(
            "RB100",
            display,
            1,
            f"cannot read the runbook: {reason}",
            "check the path and its permissions",
        )
        return RunbookValidation(display, "", OperationType.NONE, "", findings=(finding,))
    if b"\x00" in data[:8192]:
        finding = _finding(
            "RB100", display, 1, "not a text file", "pass the runbook's markdown file"
        )
        return RunbookValidation(display, "", OperationType.NONE, "", findings=(finding,))
    text = data.decode("utf-8", errors="replace")
    text = text.lstrip("\ufeff").replace("\r\n", "\n")
    parsed = parse_runbook(text, display)
    parsed = _with_sidecar(parsed, path)
    findings = lint(parsed, text, today=today, base_dir=path.parent, root=root)
    metrics: tuple[Metric, ...] = ()
    window, runs = "", 0
    notes: tuple[str, ...] = ()
    if evidence is not None:
        result = drift(parsed, evidence, since=since)
        findings += result.findings
        metrics, window, runs, notes = result.metrics, result.window, result.runs, result.notes
    disabled = suppressed_rules(text)
    kept = sorted(
        (f for f in findings if f.rule not in disabled),
        key=lambda f: (f.line, f.rule, f.message),
    )
    from runbook.redact import redact

    return RunbookValidation(
        path=display,
        title=redact(parsed.title)[0],
        operation_type=parsed.operation_type,
        scope=parsed.scope,
        findings=tuple(_dedupe(kept)),
        metrics=metrics,
        window=window,
        runs=runs,
        notes=notes,
    )


def _with_sidecar(parsed: ParsedRunbook, path: Path) -> ParsedRunbook:
    from runbook.runbook_parse import apply_sidecar

    return apply_sidecar(parsed, path)


def _dedupe(findings: Iterable[Finding]) -> list[Finding]:
    seen: set[tuple[str, int, str]] = set()
    out = []
    for f in findings:
        key = (f.rule, f.line, f.message)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


# ============================================================================ many files + output


def runbook_files(paths: Sequence[Path]) -> list[Path]:
    """Markdown files named by ``paths`` (directories are searched for ``*.md``), sorted."""
    from runbook.errors import InputError

    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            found = sorted(x for x in p.rglob("*.md") if x.is_file() and ".runbook" not in x.parts)
            out += [x for x in found if not x.name.endswith(".new.md")]
        elif p.is_file():
            if p.suffix.lower() == ".json":
                raise InputError(
                    f"{p}: validate reads markdown runbooks",
                    hint=f"pass {p.with_suffix('.md').name}; its JSON sidecar is read with it",
                )
            out.append(p)
        else:
            raise InputError(f"{p}: no such file", hint="pass runbook markdown files or folders")
    return sorted(set(out), key=lambda x: x.as_posix())


def display_path(path: Path) -> str:
    """A path as findings show it: relative to the working directory when inside it."""
    import os

    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path.as_posix()
    return path.as_posix() if rel.startswith("..") else rel.replace(os.sep, "/")


def _percent(metric: Metric) -> str:
    value = metric.value
    return "n/a" if value is None else f"{value * 100:.0f} %"


def metric_rows(metric: Metric) -> tuple[str, str, str, str]:
    """(label, ratio, percent, target) cells of the metrics table."""
    target = f"≥ {metric.target * 100:.0f} %" if metric.target is not None else "—"
    status = {True: " ✓", False: " ✗", None: ""}[metric.met]
    return (
        metric.label,
        f"{metric.numerator}/{metric.denominator}",
        _percent(metric),
        target + status,
    )


def format_text(report: ValidationReport) -> str:
    """``path:line: RB101 error: message (hint)`` lines, then each runbook's metrics table."""
    lines: list[str] = []
    for f in report.findings:
        hint = f" ({f.hint})" if f.hint else ""
        lines.append(f"{f.path}:{f.line}: {f.rule} {f.severity}: {f.message}{hint}")
    for rb in report.runbooks:
        if not rb.metrics and not rb.notes:
            continue
        lines.append("")
        lines.append(f"{rb.path}: success metrics ({rb.window})" if rb.window else f"{rb.path}:")
        rows = [("metric", "runs", "share", "target"), *(metric_rows(m) for m in rb.metrics)]
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        for k, row in enumerate(rows if rb.metrics else []):
            lines.append(
                "  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
            )
            if k == 0:
                lines.append("  " + "  ".join("-" * w for w in widths))
        lines += [f"  note: {n}" for n in rb.notes]
    return "\n".join(lines) + ("\n" if lines else "")


def summary(report: ValidationReport) -> str:
    """``2 errors, 5 warnings in 3 runbooks``."""
    n = len(report.runbooks)
    e, w = report.count("error"), report.count("warning")
    return (
        f"{e} error{'s' if e != 1 else ''}, {w} warning{'s' if w != 1 else ''} in "
        f"{n} runbook{'s' if n != 1 else ''}"
    )


def _gh_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_property(text: str) -> str:
    return _gh_data(text).replace(":", "%3A").replace(",", "%2C")


def format_github(report: ValidationReport) -> str:
    """GitHub Actions workflow commands: ``::error file=…,line=…,title=RB101::message``."""
    out = []
    for f in report.findings:
        level = f.severity if f.severity in ("error", "warning", "notice") else "notice"
        hint = f" ({f.hint})" if f.hint else ""
        props = f"file={_gh_property(f.path)},line={f.line},title={_gh_property(f.rule)}"
        out.append(f"::{level} {props}::{_gh_data(f.message + hint)}")
    for rb in report.runbooks:
        if rb.metrics:
            cells = "; ".join(
                f"{m.label}: {m.numerator}/{m.denominator} ({_percent(m)})" for m in rb.metrics
            )
            props = f"file={_gh_property(rb.path)},title={_gh_property('runbook metrics')}"
            out.append(f"::notice {props}::{_gh_data(cells + ' — ' + rb.window)}")
    return "\n".join(out) + ("\n" if out else "")


def report_json(report: ValidationReport) -> str:
    """The report as one JSON document (findings, metrics with their values, exit status)."""
    import json

    from runbook.codec import to_json

    runbooks = []
    for rb in report.runbooks:
        data = to_json(rb)
        data["metrics"] = [
            {**to_json(m), "value": None if m.value is None else round(m.value, 4), "met": m.met}
            for m in rb.metrics
        ]
        runbooks.append(data)
    doc = {
        "runbooks": runbooks,
        "errors": report.count("error"),
        "warnings": report.count("warning"),
        "notices": report.count("notice"),
        "exit_status": report.exit_status,
        "strict": report.strict,
        "rules": {
            r.id: {"name": r.name, "severity": r.severity, "summary": r.summary}
            for r in RULES.values()
        },
    }
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
