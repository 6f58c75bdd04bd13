"""All inter-stage types: frozen dataclasses, each keeping where its facts came from.

Dependency rule: this module imports only the standard library. Every stage imports it;
it imports no stage. Fields may be *added* (with defaults) but never renamed: the JSON
schema and the evidence cache are built from them.

Datetimes are naive and mean UTC: readers convert aware timestamps to UTC and drop the
zone (see ``timeparse.to_utc_naive``), so comparisons never mix aware and naive values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path

# --------------------------------------------------------------------------- enums


class OperationType(StrEnum):
    """The five operation types of the original `/runbook`, plus "none"."""

    DEPLOYMENT = "deployment"
    ROLLBACK = "rollback"
    INCIDENT = "incident-response"
    MIGRATION = "migration"
    SCALING = "scaling"
    NONE = "none"


class Outcome(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    UNKNOWN = "unknown"


class EvidenceKind(StrEnum):
    """What kind of record a file is (decided by discovery from its path)."""

    OBSERVATION = "observation"  # .claude/observations/**/{execution,failure,behavior}-*.md
    JOURNAL = "journal"  # .claude/journals/**/*.md
    NOTES = "notes"  # generic operations notes: docs/, session reports, runbooks
    CI_WORKFLOW = "ci-workflow"  # .github/workflows/*.yml
    CI_LOG = "ci-log"  # GitHub Actions / GitLab CI run logs
    SHELL_HISTORY = "shell-history"  # bash / zsh / fish / atuin
    CAST = "cast"  # asciinema recordings
    MIGRATION_FILE = "migration-file"  # migrations/*.sql, alembic versions
    ALARM = "alarm"  # CloudWatch / Terraform / Prometheus alert definitions
    RUN_RECORD = "run-record"  # the tool's own .runbook/runs/*.jsonl
    POSTMORTEM = "postmortem"  # incident write-ups: postmortems/*.md, *-incident-report.md
    GIT_HISTORY = "git-history"  # revert / hotfix commits read from `git log` (no file)


class ObservationMode(StrEnum):
    EXECUTION = "execution"
    FAILURE = "failure"
    BEHAVIOR = "behavior"


# ------------------------------------------------------------------ provenance


@dataclass(frozen=True, slots=True, order=True)
class SourceRef:
    """A place in the evidence: root-relative POSIX path and 1-based line (0 = whole file)."""

    path: str
    line: int = 0

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """A non-fatal problem found while reading (bad front matter, unparsable duration...)."""

    source: SourceRef
    message: str
    level: str = "warning"  # "warning" | "error"


@dataclass(frozen=True, slots=True)
class Skipped:
    """A file discovery or reading refused, with a one-line reason."""

    path: str
    reason: str


# -------------------------------------------------------------------- evidence


@dataclass(frozen=True, slots=True)
class Command:
    """One command as it was run (text already redacted)."""

    text: str
    source: SourceRef
    exit_code: int | None = None
    started_at: datetime | None = None
    duration_s: float | None = None
    output: str = ""  # bounded, redacted excerpt
    cwd: str | None = None
    outcome_note: str = ""  # free text such as "success" / "timed out" from a list item
    origin: str = ""  # which part of the record: "tool-call", "commands-executed", "raw-log", "fence", "prompt", ...


@dataclass(frozen=True, slots=True)
class ErrorEvent:
    """An error seen during a run: the exact (redacted) message and what failed."""

    message: str
    source: SourceRef
    command: str | None = None
    at: datetime | None = None
    signature: str = ""  # templated message (normalize.error_signature); filled by readers or later


@dataclass(frozen=True, slots=True)
class Execution:
    """One recorded run of an operation (or one failure report)."""

    id: str  # stable: path plus an index when a file holds several runs
    source: SourceRef
    kind: EvidenceKind
    title: str = ""
    context: str = ""
    mode: ObservationMode | None = None
    environment: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_s: float | None = None  # total as recorded (e.g. "**Time**: 4m 10s")
    outcome: Outcome = Outcome.UNKNOWN
    commands: tuple[Command, ...] = ()
    errors: tuple[ErrorEvent, ...] = ()
    notes: tuple[str, ...] = ()  # unknown sections, kept as context ("Heading: text")
    tags: tuple[str, ...] = ()
    severity: str | None = None
    resolved: bool | None = None
    declared_type: str | None = None  # operation type stated by the author (front matter / slug)
    expectations: tuple[str, ...] = ()  # "Expected: ..." lines
    owner: str | None = None


@dataclass(frozen=True, slots=True)
class Journal:
    """A journal entry; error journals carry symptoms, root cause, solution and prevention."""

    id: str
    source: SourceRef
    category: str  # error | process | architecture | pattern | meta | other
    title: str = ""
    date: date | None = None
    resolved: bool | None = None
    severity: str | None = None
    environment: str | None = None
    tags: tuple[str, ...] = ()
    symptoms: tuple[str, ...] = ()  # bullet lines and error lines, redacted
    error_messages: tuple[str, ...] = ()  # exact error lines quoted in the journal
    investigation: str = ""
    root_cause: str = ""
    solution: str = ""
    solution_commands: tuple[Command, ...] = ()
    verification: str = ""
    verification_commands: tuple[Command, ...] = ()
    prevention: str = ""
    notes: tuple[str, ...] = ()
    # commands of the Investigation part (fences, prompts, backticked list steps): triage
    investigation_commands: tuple[Command, ...] = ()


@dataclass(frozen=True, slots=True)
class Incident:
    """One occurrence of an incident: its failure reports, response runs and journals.

    ``run`` is the occurrence seen as one run of the response (Detect -> Triage -> Mitigate ->
    Verify): the recorded commands, then the journals' solution and verification commands.
    """

    id: str
    source: SourceRef  # the record that anchors it (failure report, post-mortem or journal)
    run: Execution
    failures: tuple[str, ...] = ()  # execution ids of failure reports
    responses: tuple[str, ...] = ()  # execution ids of response runs (post-mortems included)
    journals: tuple[str, ...] = ()  # journal ids
    detected_at: datetime | None = None
    mitigated_at: datetime | None = None  # None unless a timeline or journal states it
    timed: bool = False  # a response run recorded how long the response took


@dataclass(frozen=True, slots=True)
class AlarmDef:
    """An alert definition (CloudWatch, Terraform, Prometheus)."""

    name: str
    source: SourceRef
    metric: str = ""
    comparison: str = ""
    threshold: str = ""
    period: str = ""
    evaluation: str = ""
    severity: str = ""
    action: str = ""
    runbook_url: str = ""
    expression: str = ""
    tool: str = ""  # cloudwatch | cloudformation | terraform | prometheus
    namespace: str = ""  # CloudWatch namespace ("AWS/Lambda")
    statistic: str = ""  # Average | Sum | p99 ...
    dimensions: tuple[str, ...] = ()  # "FunctionName=report_worker", sorted
    period_s: float | None = None  # one evaluation period, seconds
    window_s: float | None = None  # period x evaluation periods, or Prometheus `for`
    summary: str = ""  # AlarmDescription / annotations.summary


@dataclass(frozen=True, slots=True)
class MigrationDef:
    """A schema migration file and what its statements do."""

    version: str
    name: str
    source: SourceRef
    tool: str = ""  # flyway | golang-migrate | dbmate | alembic | plain
    up_statements: tuple[str, ...] = ()
    down_statements: tuple[str, ...] = ()
    down_source: SourceRef | None = None
    destructive: tuple[str, ...] = ()  # statements that destroy data
    locking: tuple[str, ...] = ()  # statements that take heavy locks
    reversible: bool = False
    direction: str = ""  # one file's half before link_migrations: "up" | "down"; "" = complete
    depends_on: tuple[str, ...] = ()  # previous revision(s) (Alembic down_revision)
    repeatable: bool = False  # Flyway R__ migrations: re-applied when changed, after versioned ones
    down_destructive: tuple[str, ...] = ()  # rollback statements that destroy data
    notes: tuple[
        str, ...
    ] = ()  # why a statement is risky ("CREATE INDEX without CONCURRENTLY ...")


@dataclass(frozen=True, slots=True)
class ParsedFile:
    """Everything one evidence file yielded."""

    path: str  # root-relative POSIX path
    kind: EvidenceKind
    sha256: str = ""
    executions: tuple[Execution, ...] = ()
    journals: tuple[Journal, ...] = ()
    alarms: tuple[AlarmDef, ...] = ()
    migrations: tuple[MigrationDef, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()
    redactions: int = 0  # secrets replaced while reading this file


@dataclass(frozen=True, slots=True)
class Candidate:
    """A file discovery chose as evidence, with the stat facts the cache keys on."""

    path: Path  # absolute (or root-joined) path to open
    rel: str  # root-relative POSIX path
    kind: EvidenceKind
    size: int
    mtime_ns: int


@dataclass(frozen=True, slots=True)
class Corpus:
    """Every parsed evidence file under a root (sorted by path), plus what was skipped."""

    files: tuple[ParsedFile, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()  # corpus-level (cache unusable, ...)

    @property
    def executions(self) -> tuple[Execution, ...]:
        return tuple(e for f in self.files for e in f.executions)

    @property
    def journals(self) -> tuple[Journal, ...]:
        return tuple(j for f in self.files for j in f.journals)

    @property
    def alarms(self) -> tuple[AlarmDef, ...]:
        return tuple(a for f in self.files for a in f.alarms)

    @property
    def migrations(self) -> tuple[MigrationDef, ...]:
        return tuple(m for f in self.files for m in f.migrations)


@dataclass(frozen=True, slots=True)
class Classification:
    """What an execution is: operation type, scopes, environment, outcome, and why."""

    operation_type: OperationType
    scopes: tuple[str, ...] = ()
    environment: str | None = None
    outcome: Outcome = Outcome.UNKNOWN
    confidence: float = 0.0
    reasons: tuple[str, ...] = ()


# ------------------------------------------------------------ `runbook sources`


@dataclass(frozen=True, slots=True)
class EntryReport:
    """One record of an evidence file (execution, journal, alarm, migration) as classified."""

    id: str
    record: str  # "execution" | "journal" | "alarm" | "migration"
    title: str
    operation_type: OperationType
    scopes: tuple[str, ...] = ()
    environment: str | None = None
    outcome: Outcome = Outcome.UNKNOWN
    confidence: float = 0.0
    reasons: tuple[str, ...] = ()
    commands: int = 0
    errors: int = 0


@dataclass(frozen=True, slots=True)
class FileReport:
    """What one evidence file yielded, for `runbook sources`."""

    path: str
    kind: EvidenceKind
    entries: tuple[EntryReport, ...] = ()
    commands: int = 0
    errors: int = 0  # error events (exact messages) recorded in the file
    failures: int = 0  # executions whose outcome is failure
    journals: int = 0
    redactions: int = 0
    diagnostics: tuple[Diagnostic, ...] = ()


@dataclass(frozen=True, slots=True)
class Count:
    name: str
    count: int


@dataclass(frozen=True, slots=True)
class SourcesTotals:
    files: int = 0
    executions: int = 0
    journals: int = 0
    alarms: int = 0
    migrations: int = 0
    commands: int = 0
    errors: int = 0
    failures: int = 0
    skipped: int = 0
    diagnostics: int = 0
    redactions: int = 0
    by_kind: tuple[Count, ...] = ()
    by_type: tuple[Count, ...] = ()
    duplicates: int = 0  # executions left out: another file records the same run


@dataclass(frozen=True, slots=True)
class Duplicate:
    """An execution left out because another file records the same run (``dedup``)."""

    dropped: str  # execution id
    kept: str  # execution id of the richer record


@dataclass(frozen=True, slots=True)
class AlertRunbook:
    """An alert whose ``runbook_url`` names a generated runbook under the root."""

    alarm: str
    source: SourceRef
    runbook_url: str
    runbook: str  # root-relative path of the runbook it points at


@dataclass(frozen=True, slots=True)
class SourcesReport:
    """Every evidence file under a root with its classification, and every skipped file."""

    root: str
    files: tuple[FileReport, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()  # corpus-level (cache) diagnostics
    totals: SourcesTotals = SourcesTotals()
    duplicates: tuple[Duplicate, ...] = ()  # sorted by dropped id
    alert_runbooks: tuple[AlertRunbook, ...] = ()  # sorted by runbook, alarm
    kinds: tuple[str, ...] = ()  # the --kind filter applied ("" = every kind)


# ---------------------------------------------------------------- normalization


@dataclass(frozen=True, slots=True)
class Token:
    """A command token; ``slot`` is the placeholder name when a masking rule matched."""

    text: str
    slot: str | None = None
    # The token as it appears in CommandTemplate.key (canonical quoting, {placeholders});
    # " ".join(t.template for t in tokens) == key. "" when built by hand.
    template: str = ""
    # The word as written in the (redacted) command, quotes and escapes kept, so display text
    # runs exactly as recorded ('/*' stays quoted). "" when unknown (built by hand).
    spelling: str = ""


@dataclass(frozen=True, slots=True)
class CommandTemplate:
    """A command reduced to a template: ``key`` groups equal commands across runs."""

    raw: str  # redacted original text
    key: str  # template text, placeholders as {name}, whitespace normalized
    tokens: tuple[Token, ...] = ()
    program: str = ""  # main executable after env prefixes / wrappers (sudo, doppler run --, ...)
    subcommand: str = ""  # leading non-flag words after the program ("lambda update-function-code")
    redactions: int = 0


# ------------------------------------------------------------------------ mining


@dataclass(frozen=True, slots=True)
class Stat:
    """Robust summary of observed seconds."""

    median_s: float
    p90_s: float
    n: int


@dataclass(frozen=True, slots=True)
class Param:
    """A placeholder: its name and observed example values (sorted, bounded)."""

    name: str
    examples: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class MinedCommand:
    """A command template that recurs across runs, with its support and evidence."""

    key: str  # grouping key (normalize)
    text: str  # display text: constants literal, varying values as {placeholders}
    params: tuple[Param, ...] = ()
    support: int = 0  # runs in which it occurs
    of: int = 0  # runs considered
    optional: bool = False
    is_check: bool = False  # reads / verifies rather than changes state
    duration: Stat | None = None
    expected_output: str = ""
    evidence: tuple[SourceRef, ...] = ()
    program: str = ""
    subcommand: str = ""
    # Every normalize key grouped here (variants merged into one placeholder); () = (key,).
    keys: tuple[str, ...] = ()
    role: str = (
        ""  # build | test | dryrun | deploy | revert | scale | check | monitor | ... ("" unknown)
    )


@dataclass(frozen=True, slots=True)
class MinedStep:
    """One procedure step: an action command group plus the check that verifies it."""

    phase: str  # pattern phase, e.g. "Build", "Deploy", "Verify"
    title: str
    commands: tuple[MinedCommand, ...]
    verification: MinedCommand | None = None
    duration: Stat | None = None
    support: int = 0
    of: int = 0
    optional: bool = False


@dataclass(frozen=True, slots=True)
class Procedure:
    """The consensus procedure mined from the successful runs."""

    steps: tuple[MinedStep, ...]
    runs: tuple[str, ...]  # execution ids used
    total: Stat | None = None
    noise_dropped: int = 0
    one_offs_dropped: int = 0
    pre_checks: tuple[MinedCommand, ...] = ()
    # commands seen in a few runs, but fewer than OPTIONAL_MIN_SHARE of them (not steps)
    rare_dropped: int = 0
    monitoring: tuple[MinedCommand, ...] = ()


@dataclass(frozen=True, slots=True)
class FailureCluster:
    """Failures sharing an error signature, with what fixed them."""

    signature: str
    title: str
    symptoms: tuple[str, ...]
    cause: str  # "" when not recorded
    solution: tuple[str, ...]  # commands (templated) or prose lines
    solution_is_commands: bool = True
    prevention: str = ""
    occurrences: int = 0
    step_key: str | None = None  # the failing command's template key, when known
    rolled_back: int = 0  # how many of these failures were followed by a rollback
    evidence: tuple[SourceRef, ...] = ()
    verification: str = ""
    # how far the solution can be trusted, when the evidence is thin ("" = it was recorded)
    solution_note: str = ""


# ------------------------------------------------------------------ the runbook


@dataclass(frozen=True, slots=True)
class Duration:
    median_seconds: float | None
    p90_seconds: float | None
    runs: int = 0


@dataclass(frozen=True, slots=True)
class SourceEntry:
    path: str
    kind: str
    date: str | None
    outcome: str
    sha256: str


@dataclass(frozen=True, slots=True)
class Item:
    """A prerequisite / watch item: text plus where it came from ("derived"/"default" if not observed)."""

    text: str
    provenance: str = ""
    evidence: tuple[SourceRef, ...] = ()


@dataclass(frozen=True, slots=True)
class Prerequisites:
    environment: tuple[Item, ...] = ()
    pre_checks: tuple[Item, ...] = ()
    tools: tuple[Item, ...] = ()
    access: tuple[Item, ...] = ()


@dataclass(frozen=True, slots=True)
class Verification:
    command: str
    expected: str = ""


@dataclass(frozen=True, slots=True)
class Support:
    runs: int
    of: int


@dataclass(frozen=True, slots=True)
class Step:
    number: int
    name: str  # slug used for Runme fence names: "step-3-deploy"
    title: str
    purpose: str
    commands: tuple[str, ...]
    parameters: tuple[Param, ...] = ()
    expected_output: str = ""
    duration: Duration | None = None
    verification: Verification | None = None
    if_failed: tuple[str, ...] = ()
    support: Support = Support(0, 0)
    optional: bool = False
    evidence: tuple[SourceRef, ...] = ()
    phase: str = ""
    log_command: str = ""


@dataclass(frozen=True, slots=True)
class Check:
    title: str
    command: str
    expected: str = ""
    if_failed: str = ""
    evidence: tuple[SourceRef, ...] = ()
    parameters: tuple[Param, ...] = ()  # placeholders in ``command``


@dataclass(frozen=True, slots=True)
class Decision:
    condition: str
    action: str
    provenance: str = "default"


@dataclass(frozen=True, slots=True)
class RollbackStep:
    title: str
    commands: tuple[str, ...]
    verification: str = ""
    evidence: tuple[SourceRef, ...] = ()
    parameters: tuple[Param, ...] = ()  # placeholders in ``commands`` ({previous-...} included)


@dataclass(frozen=True, slots=True)
class Rollback:
    when: tuple[str, ...] = ()
    decision_matrix: tuple[Decision, ...] = ()
    steps: tuple[RollbackStep, ...] = ()
    provenance: str = "none"  # "observed: N rollback runs" | "derived — never observed" | "none"
    duration: Duration | None = None


@dataclass(frozen=True, slots=True)
class Threshold:
    metric: str
    warning: str
    critical: str
    action: str
    provenance: str = "default"


@dataclass(frozen=True, slots=True)
class Monitoring:
    watch: tuple[Item, ...] = ()
    alert_thresholds: tuple[Threshold, ...] = ()


@dataclass(frozen=True, slots=True)
class TroubleshootingEntry:
    title: str
    signature: str
    symptoms: tuple[str, ...]
    cause: str
    solution: tuple[str, ...]
    prevention: str = ""
    occurrences: int = 0
    evidence: tuple[SourceRef, ...] = ()
    solution_is_commands: bool = True
    verification: str = ""
    solution_note: str = ""


@dataclass(frozen=True, slots=True)
class Related:
    path: str
    kind: str


@dataclass(frozen=True, slots=True)
class Overview:
    purpose: str
    when_to_use: tuple[str, ...] = ()
    dependencies: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Runbook:
    """The whole runbook; markdown and JSON are both rendered from this."""

    title: str
    operation_type: OperationType
    scope: str
    generated: date
    last_validated: date | None
    owner: str
    review_frequency: str
    estimated_duration: Duration
    sources: tuple[SourceEntry, ...]
    overview: Overview
    prerequisites: Prerequisites
    steps: tuple[Step, ...]
    verification_checks: tuple[Check, ...] = ()
    rollback: Rollback = field(default_factory=Rollback)
    monitoring: Monitoring = field(default_factory=Monitoring)
    troubleshooting: tuple[TroubleshootingEntry, ...] = ()
    related: tuple[Related, ...] = ()
    notes: tuple[str, ...] = ()  # honest remarks: what was missing, defaults used, runs excluded


# ------------------------------------------------- a runbook read back (validate, run)


@dataclass(frozen=True, slots=True)
class ParsedCommand:
    """One code block of a runbook: its logical shell commands and its Runme attributes."""

    text: str  # the block body as written
    line: int  # 1-based line of the first body line
    commands: tuple[str, ...] = ()  # logical commands: continuations joined, comments dropped
    lines: tuple[int, ...] = ()  # 1-based line of each logical command
    language: str = ""  # info-string language: "sh", "bash", "console", ""
    name: str = ""  # Runme `name` attribute
    attrs: tuple[tuple[str, str], ...] = ()  # every Runme attribute, sorted


@dataclass(frozen=True, slots=True)
class ParsedStep:
    """A step of a runbook's procedure (or of its rollback), as written."""

    number: int
    title: str
    line: int  # heading line
    end_line: int  # last line of the step
    phase: str = ""
    purpose: str = ""
    commands: tuple[ParsedCommand, ...] = ()
    expected_output: str = ""
    expected_duration_s: float | None = None
    expected_duration_text: str = ""
    verification: tuple[ParsedCommand, ...] = ()
    verification_text: str = ""  # prose after **Verification**: when it has no command
    expected: str = ""  # **Expected**: after the verification
    if_failed: tuple[str, ...] = ()
    placeholders: tuple[str, ...] = ()  # {names} used in the step's commands, sorted
    parameters: tuple[str, ...] = ()  # {names} the step explains (**Parameters**: list)
    manual: bool = False  # marked as a manual step
    optional: bool = False
    prose: tuple[tuple[int, str], ...] = ()  # (line, text) of every non-code line
    log_commands: tuple[ParsedCommand, ...] = ()


@dataclass(frozen=True, slots=True)
class ParsedSection:
    """A top-level section (`## Rollback Procedure`) with its canonical key ("rollback")."""

    title: str
    key: str  # overview | prerequisites | procedure | verification | rollback | monitoring |
    # troubleshooting | related | parameters | "" (unknown)
    level: int
    line: int
    end_line: int


@dataclass(frozen=True, slots=True)
class ParsedIssue:
    """A troubleshooting entry: title, signature, symptom lines and fix commands."""

    title: str
    line: int
    signature: str = ""
    symptoms: tuple[str, ...] = ()
    cause: str = ""
    solution: tuple[ParsedCommand, ...] = ()
    solution_text: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ParsedLink:
    text: str
    target: str
    line: int


@dataclass(frozen=True, slots=True)
class HeaderField:
    """A header line such as ``**Last Validated**: 2025-12-16`` (or a front-matter key)."""

    name: str  # generated | last_validated | estimated_duration | owner | review_frequency
    value: str
    line: int


@dataclass(frozen=True, slots=True)
class ParsedRunbook:
    """Any markdown runbook (generated or hand-written) read back with line numbers."""

    path: str
    title: str = ""
    title_line: int = 0
    operation_type: OperationType = OperationType.NONE
    scope: str = ""
    header: tuple[HeaderField, ...] = ()
    generated: date | None = None
    last_validated: date | None = None
    estimated_duration_s: float | None = None
    owner: str = ""
    review_frequency: str = ""
    sections: tuple[ParsedSection, ...] = ()
    steps: tuple[ParsedStep, ...] = ()
    phases: tuple[str, ...] = ()
    checks: tuple[ParsedStep, ...] = ()  # Verification section checks
    rollback_steps: tuple[ParsedStep, ...] = ()
    rollback_when: tuple[str, ...] = ()
    rollback_provenance: str = ""
    troubleshooting: tuple[ParsedIssue, ...] = ()
    links: tuple[ParsedLink, ...] = ()
    parameters: tuple[tuple[str, int], ...] = ()  # (name, line) of every explained {name}
    marker: str = "none"  # generator marker: "unedited" | "edited" | "none"
    diagnostics: tuple[Diagnostic, ...] = ()

    def section(self, key: str) -> ParsedSection | None:
        """The first section with canonical ``key``, if any."""
        return next((s for s in self.sections if s.key == key), None)


# ------------------------------------------------------------------ `runbook validate`


@dataclass(frozen=True, slots=True)
class Finding:
    """One validation finding: rule id, severity, place, message and a one-line fix hint."""

    rule: str  # "RB101"
    name: str  # "missing-section"
    severity: str  # "error" | "warning" | "notice"
    path: str
    line: int
    message: str
    hint: str = ""


@dataclass(frozen=True, slots=True)
class Metric:
    """A success metric of the original: ``numerator / denominator`` against a target."""

    name: str  # followed-success | duration-accuracy | troubleshooting-coverage | rollback-…
    label: str
    numerator: int
    denominator: int
    target: float | None = None  # share that passes (0.8 = 80 %)

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None

    @property
    def met(self) -> bool | None:
        if self.value is None or self.target is None:
            return None
        return self.value >= self.target


@dataclass(frozen=True, slots=True)
class RunbookValidation:
    """Findings and metrics for one runbook file."""

    path: str
    title: str
    operation_type: OperationType
    scope: str
    findings: tuple[Finding, ...] = ()
    metrics: tuple[Metric, ...] = ()
    window: str = ""  # which runs drift and metrics used ("3 runs after 2025-12-16")
    runs: int = 0
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """Every validated runbook; the exit status follows from the severities."""

    runbooks: tuple[RunbookValidation, ...] = ()
    strict: bool = False  # warnings fail too

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(f for r in self.runbooks for f in r.findings)

    def count(self, severity: str) -> int:
        """How many findings have ``severity``."""
        return sum(1 for f in self.findings if f.severity == severity)

    @property
    def exit_status(self) -> int:
        """1 when a finding is an error (or a warning when strict), else 0."""
        if self.count("error") or (self.strict and self.count("warning")):
            return 1
        return 0
