"""Troubleshooting: failures clustered by error signature, each with the fix that worked.

Failure events come from ``Execution.errors`` and from the output of failed commands (lines
such as ``Error: ...``, ``denied: ...``, ``KeyError: ...``). Events are clustered by their
templated message (``normalize.error_signature``); near-identical signatures of the same
failing program are merged (rapidfuzz token_set_ratio >= 90). A cluster's solution is what
actually fixed it: the commands run between the failure and the next success of the same
command (in the same run, else in the next run that ran it successfully), otherwise the
matching error journal's solution; reads run before the first change (``get-function``, ``logs
tail``) diagnosed the failure and are left out of it. A report's paraphrase of its own error (a
timeline line ``update-function-code -> ResourceConflictException``) is folded into the printed
error, not a second entry. Cause, prevention and verification come from the journal.
Sample failure line: ``denied: Your authorization token has expired. Reauthenticate and try again.``
"""

from __future__ import annotations

import bisect
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import lru_cache

from rapidfuzz import fuzz

from runbook.mine import is_noise
from runbook.mine.core import render_commands, shape_of
from runbook.mine.kinds import check_kind, role
from runbook.mine.tables import COMMAND_NOT_FOUND, ERROR_LINE, RETRY_ERROR_LINE
from runbook.model import (
    Command,
    CommandTemplate,
    Execution,
    FailureCluster,
    Journal,
    Outcome,
    SourceRef,
)

__all__ = ["cluster", "error_lines", "journal_for_errors", "salient_line", "title_of"]

Normalizer = Callable[[str], CommandTemplate]
Signer = Callable[[str], str]

FUZZY_MIN = 90
MAX_SYMPTOMS = 3
MAX_EVIDENCE = 10
MAX_SOLUTION = 8
ROLLBACK_WINDOW = timedelta(hours=2)
NORMAL_SAMPLE = 200  # recent successful runs used to tell normal steps from fix commands

_ERROR = ERROR_LINE
_EXCEPTION_LINE = re.compile(r"^\s*(?:[\w.]+\.)?[A-Z]\w*(?:Error|Exception|Fault|Timeout)\b:")
_NOT_SALIENT = re.compile(r"^\s*(?:Traceback \(most recent call last\)|File \"|at [\w.$]+\()")
_PREFIX = re.compile(
    r"^\s*(?:(?:(?=[0-9a-f-]*\d)[0-9a-f]{3,}(?:-[0-9a-f]+)*(?:\.\.\.|…)?|\[?\$?LATEST\]?[0-9a-f]*|RequestId:)\s+|\[?\d{4}-\d\d-\d\d[T ][\d:.,]+Z?\]?\s*|\[?\d\d:\d\d:\d\d(?:[.,]\d+)?\]?\s*|"
    r"\[?(?:ERROR|FATAL|CRITICAL|WARN(?:ING)?|E)\]?:?\s+|(?:Error|error|ERROR|fatal|FATAL):\s+)"
)
_EXIT_ONLY = re.compile(
    r"^\W*(?:Process completed|ERROR: Job failed|Error: Process completed|script returned)"
    r"[\w :]*exit (?:code|status) \d+\.?\s*$",
    re.I,
)
_AWS = re.compile(
    r"An error occurred \((\w+)\) when calling the (\w+) operation(?: \([^)]*\))?:\s*(.*)"
)
_EXC_NAME = re.compile(r"\b((?:[\w.]+\.)?[A-Z][A-Za-z0-9]*(?:Error|Exception|Fault|Timeout))\b")
# Not failures of the operation: shell typos, interrupts, bare exit statuses.
_JUNK = re.compile(r"^\(?(?:exit(?: code| status)?:? ?\d+|interrupted|\^C)\)?\.?$", re.I)
_ROLLBACK_TEXT = re.compile(r"rollback|roll back|roll-back|rollout undo|revert|downgrade", re.I)
_CAUSE_NOTES = re.compile(
    r"^\s*(?:root cause|cause|causes|diagnosis|analysis|why)\s*:\s*(.+)", re.I | re.S
)
_PLACEHOLDER = re.compile(r"\{[^}]*\}")
_WORD = re.compile(r"[A-Za-z][A-Za-z_]{2,}")
_STOP = frozenset(
    {"the", "and", "for", "with", "from", "this", "that", "error", "errors", "failed", "not",
     "was", "were", "has", "have", "are", "when", "while", "try", "again", "please", "into"}
)  # fmt: skip


def error_lines(text: str) -> list[str]:
    """Lines of ``text`` that state an error (stripped, in order)."""
    return [ln.strip() for ln in text.splitlines() if ln.strip() and _ERROR.search(ln)]


def salient_line(text: str) -> str:
    """The one line of an error text that names the problem (exception line first)."""
    lines = [ln for ln in error_lines(text) if not _NOT_SALIENT.match(ln)]
    for line in lines:
        if _EXCEPTION_LINE.match(line):
            return line
    if lines:
        return lines[0]
    return next((ln.strip() for ln in text.splitlines() if ln.strip()), "")


def title_of(line: str) -> str:
    """A short title from an error line: exception / error code and its first clause."""
    m = _AWS.search(line)
    if m:
        clause = _clause(m.group(3))
        return _cap(f"{m.group(1)} on {m.group(2)}" + (f": {clause}" if clause else ""))
    text = line.lstrip("│┃║|╷╵ ")  # terraform frames its errors in a box
    for _ in range(4):
        stripped = _PREFIX.sub("", text, count=1)
        if stripped == text or not stripped:
            break
        text = stripped
    m = _EXC_NAME.search(text)
    if m and m.start() == 0:
        return _cap(text.strip())
    return _cap(_clause(text) or text.strip())


def _clause(text: str) -> str:
    return (
        re.split(r"(?<=[a-z0-9)'\"])\. |; | -- ", text.strip(), maxsplit=1)[0].rstrip(".").strip()
    )


def _cap(text: str, limit: int = 100) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


# ---------------------------------------------------------------------------- events


@dataclass(slots=True)
class _Event:
    run: int
    line: str
    signature: str
    cmd: int | None  # index of the failing command in the run
    key: str | None
    program: str
    source: SourceRef
    at: datetime | None
    # Written after the fact (a timeline line, a note), not the error as printed.
    paraphrase: bool = False
    also: list[SourceRef] = field(default_factory=list)  # paraphrases folded into this event


@dataclass(slots=True)
class _Cluster:
    signature: str
    program: str
    events: list[_Event] = field(default_factory=list)


def _run_time(e: Execution) -> datetime | None:
    return e.started_at or next((c.started_at for c in e.commands if c.started_at), None)


def _ok(cmd: Command) -> bool:
    return cmd.exit_code in (0, None)


class _Templates:
    """normalize() results per (run, command) computed on demand, per call."""

    def __init__(self, runs: Sequence[Execution], normalize: Normalizer) -> None:
        self.runs = runs
        self.normalize = normalize
        self.cache: dict[tuple[int, int], CommandTemplate] = {}
        self.keep: set[int] = {
            r for r, e in enumerate(runs) if e.errors or any(not _ok(c) for c in e.commands)
        }

    def get(self, run: int, index: int) -> CommandTemplate:
        found = self.cache.get((run, index))
        if found is None:
            found = self.normalize(self.runs[run].commands[index].text)
            # Keep templates of runs that failed somewhere; others are scanned once.
            if run in self.keep:
                self.cache[(run, index)] = found
        return found


def _failed(e: Execution, r: int, tpl: _Templates) -> list[int]:
    """Failed commands: non-zero exit, or (exit unknown) an error printed and a later retry."""
    out: list[int] = []
    for i, c in enumerate(e.commands):
        if not _ok(c):
            out.append(i)
        elif c.exit_code is None and RETRY_ERROR_LINE.search(c.output) and not _seeks_errors(c):
            first = c.text.split(None, 1)[0] if c.text.strip() else ""
            key = tpl.get(r, i).key
            if any(
                later.text.startswith(first) and tpl.get(r, j).key == key
                for j, later in enumerate(e.commands[i + 1 :], start=i + 1)
            ):
                out.append(i)
    return out


def _seeks_errors(cmd: Command) -> bool:
    """A command that searches for errors (``grep -c ERROR``, ``--filter-pattern ERROR``).

    Error lines in its output are what it was asked to find, not its own failure.
    """
    return bool(ERROR_LINE.search(cmd.text))


def _restates_command(e: Execution, line: str) -> bool:
    """A recorded "error" that is only a command's own text (a timeline entry naming it).

    ``aws logs tail ... --filter-pattern ERROR`` mentions ERROR but reports no failure;
    what is left once the command's text is removed must still read as an error.
    """
    text = " ".join(line.strip().strip("`*").split())
    for c in e.commands:
        cmd = " ".join(c.text.split())
        if cmd and cmd in text and not ERROR_LINE.search(text.replace(cmd, " ")):
            return True
    return False


def _junk(line: str) -> bool:
    return bool(COMMAND_NOT_FOUND.search(line) or _JUNK.match(line.strip()))


def _events(runs: Sequence[Execution], tpl: _Templates, sign: Signer) -> list[_Event]:
    out: list[_Event] = []
    for r, e in enumerate(runs):
        if not e.errors and not any(
            not _ok(c) or (c.exit_code is None and RETRY_ERROR_LINE.search(c.output))
            for c in e.commands
        ):
            continue
        tpl.keep.add(r)
        failed = _failed(e, r, tpl)
        if not e.errors and not failed:
            continue
        # (line, failing command index, source, time, precomputed signature, paraphrase)
        raw: list[tuple[str, int | None, SourceRef, datetime | None, str, bool]] = []
        for i in failed:
            cmd = e.commands[i]
            if is_noise(tpl.get(r, i), cmd) or not cmd.output.strip():
                continue
            # No error-looking line: the last thing a failed command printed says most.
            line = (
                salient_line(cmd.output)
                if error_lines(cmd.output)
                else cmd.output.strip().splitlines()[-1].strip()
            )
            # A bare number or status code says nothing without an error word.
            if not _junk(line) and len(_WORD.findall(line)) >= 2:
                raw.append((line, i, cmd.source, cmd.started_at, "", False))
        for ev in e.errors:
            line = salient_line(ev.message)
            if not line or _junk(line) or _restates_command(e, line):
                continue
            index = _command_index(e, ev.command, failed, line)
            at = ev.at or (e.commands[index].started_at if index is not None else None)
            sig = ev.signature if ev.signature and "\n" not in ev.message.strip() else ""
            # A timed line no command printed is a timeline entry: someone's summary of it.
            paraphrase = ev.at is not None and not any(line in c.output for c in e.commands)
            raw.append((line, index, ev.source, at, sig, paraphrase))
        # "Process completed with exit code 1." says less than the error line the failing
        # command printed: kept only when it is all the run recorded for that command
        specific = {index for line, index, *_ in raw if not _EXIT_ONLY.search(line)}
        raw = [x for x in raw if x[1] not in specific or not _EXIT_ONLY.search(x[0])]
        seen: set[str] = set()
        found: list[_Event] = []
        for line, index, source, at, sig, paraphrase in raw:
            signature = sig or sign(line)
            if not signature or signature in seen:
                continue
            seen.add(signature)
            key = program = None
            if index is not None:
                t = tpl.get(r, index)
                key, program = t.key, t.program
            found.append(
                _Event(r, line, signature, index, key, program or "", source, at, paraphrase)
            )
        out.extend(_fold_paraphrases(found))
    return out


def _exception_names(line: str) -> set[str]:
    # ``botocore.errorfactory.TooManyRequestsException`` names TooManyRequestsException
    return {name.rsplit(".", 1)[-1] for name in _EXC_NAME.findall(line)}


def _same_failure(host: _Event, other: _Event) -> bool:
    """Two error lines of one run that describe one failure (``other`` a paraphrase)."""
    if _exception_names(host.line) & _exception_names(other.line):
        return True
    mine, theirs = _words(other.line), _words(host.line)
    if len(mine) >= 2 and mine <= theirs:
        return True
    same_cmd = host.cmd is not None and host.cmd == other.cmd
    return same_cmd and len(mine & theirs) >= 3


def _fold_paraphrases(events: Sequence[_Event]) -> list[_Event]:
    """Fold a run's paraphrased error lines into the printed error they describe.

    A failure report often states the error twice: verbatim (``An error occurred
    (ResourceConflictException) ...``) and in its timeline (``update-function-code ->
    ResourceConflictException``). Both are one failure: the paraphrase adds a source, not a
    second troubleshooting entry. A paraphrase matching no printed error stays an event.
    """
    kept: list[_Event] = []
    for ev in events:
        if ev.paraphrase:
            continue
        # Lines one failing command printed about one exception (a log line, then its
        # traceback's last line) are one failure: one cluster, both lines symptoms.
        host = next(
            (
                k
                for k in kept
                if k.cmd is not None
                and k.cmd == ev.cmd
                and _exception_names(k.line) & _exception_names(ev.line)
            ),
            None,
        )
        if host is not None:
            ev.signature = host.signature
        kept.append(ev)
    for ev in events:
        if not ev.paraphrase:
            continue
        host = next((k for k in kept if _same_failure(k, ev)), None)
        if host is None:
            kept.append(ev)
        else:
            host.also.append(ev.source)
    order = {id(ev): i for i, ev in enumerate(events)}
    return sorted(kept, key=lambda ev: order[id(ev)])


def _command_index(
    e: Execution, text: str | None, failed: Sequence[int], line: str = ""
) -> int | None:
    if not text and line:
        # The error text printed by a command names it (failed ones first).
        candidates: list[int] = [*failed, *range(len(e.commands))]
        for i in candidates:
            if line in e.commands[i].output:
                return i
    if text:
        wanted = " ".join(text.split())
        for i, c in enumerate(e.commands):
            if " ".join(c.text.split()) == wanted:
                return i
        for i, c in enumerate(e.commands):
            if wanted and (wanted in c.text or c.text.strip() in wanted):
                return i
        return None
    return failed[-1] if failed else None


_ID_TOKEN = re.compile(r"\S*\d\S*")


def _loose(signature: str) -> str:
    """A signature with every token holding a digit blanked (ids the masks did not catch)."""
    return _ID_TOKEN.sub("#", signature).strip()


def _restates(a: str, b: str) -> bool:
    """One signature's words (three or more, one an identifier) all appear in the other's.

    ``tests/smoke/test_reports.py::test_create_report FAILED [ 50%]`` (the verbose line) and
    ``FAILED tests/smoke/test_reports.py::test_create_report - AssertionError: ...`` (the
    summary) name the same failing test.
    """
    wa, wb = _words(_PLACEHOLDER.sub(" ", a)), _words(_PLACEHOLDER.sub(" ", b))
    small, large = (wa, wb) if len(wa) <= len(wb) else (wb, wa)
    return len(small) >= 3 and small <= large and any("_" in w for w in small)


def _paraphrased(c: _Cluster) -> bool:
    return all(ev.paraphrase for ev in c.events)


def _clusters(events: Sequence[_Event]) -> list[_Cluster]:
    by_sig: dict[tuple[str, str], _Cluster] = {}
    for ev in events:
        c = by_sig.get((ev.signature, ev.program))
        if c is None:
            c = by_sig[(ev.signature, ev.program)] = _Cluster(ev.signature, ev.program)
        c.events.append(ev)
    # Largest first so smaller near-duplicates fold into the established signature; clusters
    # known only from paraphrases come after the printed errors they may describe.
    ordered = sorted(
        by_sig.values(),
        key=lambda c: (
            -len({e.run for e in c.events}),
            _paraphrased(c),
            c.signature,
            c.program,
        ),
    )
    merged: list[_Cluster] = []
    for c in ordered:
        for target in merged:
            # token_set_ratio is 100 for a subset; demand a similar whole string too.
            same_program = target.program == c.program or not target.program or not c.program
            if (
                # a summary naming the exception a printed error of another run names
                same_program
                and _paraphrased(c)
                and bool(
                    _exception_names(c.signature)
                    & {n for ev in target.events for n in _exception_names(ev.line)}
                )
            ) or (
                (
                    same_program
                    and fuzz.token_set_ratio(target.signature, c.signature) >= FUZZY_MIN
                    and fuzz.ratio(target.signature, c.signature) >= 60
                )
                or _loose(target.signature) == _loose(c.signature)
                or (target.program == c.program != "" and _restates(c.signature, target.signature))
            ):
                target.events.extend(c.events)
                break
        else:
            merged.append(c)
    return merged


# ------------------------------------------------------------------------- solutions


def _same_run_fix(e: Execution, ev: _Event, tpl: _Templates) -> list[tuple[Command, str]] | None:
    if ev.cmd is None or ev.key is None:
        return None
    steps: list[tuple[Command, str]] = []
    where: list[int] = []
    # In a run that ended in failure, re-running the command straight away with no exit code
    # recorded proves nothing (the report may say it failed the same way).
    failed_run = e.outcome is Outcome.FAILURE
    for j in range(ev.cmd + 1, len(e.commands)):
        cmd = e.commands[j]
        t = tpl.get(ev.run, j)
        unproven = failed_run and not steps
        if (
            t.key == ev.key
            and _ok(cmd)
            and not (cmd.exit_code is None and (unproven or ERROR_LINE.search(cmd.output)))
        ):
            return [*steps, (cmd, t.key)]
        if is_noise(t, cmd) or t.key == ev.key:
            continue
        steps.append((cmd, t.key))
        where.append(j)
    # Never retried: when the operator rolled back instead, the rollback was the remedy.
    for i, j in enumerate(where):
        if role(tpl.get(ev.run, j)) == "revert":
            return steps[i : i + 2]
    return None


class _Successes:
    """Where a key next ran successfully after a run (scanned lazily, remembered)."""

    def __init__(self, runs: Sequence[Execution], tpl: _Templates) -> None:
        self.runs = runs
        self.tpl = tpl
        self.seen: dict[tuple[str, int], int] = {}  # (key, run) -> command index, -1 = none
        self.none_from: dict[str, int] = {}  # key -> first run from which no success follows

    def at(self, key: str, program: str, r: int) -> int | None:
        """Index of the first successful command with ``key`` in run ``r``."""
        found = self.seen.get((key, r))
        if found is None:
            found = -1
            needle = program.rsplit("/", 1)[-1]
            for i, c in enumerate(self.runs[r].commands):
                if _ok(c) and needle in c.text and self.tpl.get(r, i).key == key:
                    found = i
                    break
            self.seen[(key, r)] = found
        return found if found >= 0 else None

    def next_after(self, key: str, program: str, run: int) -> tuple[int, int] | None:
        """The first later run (and command) where ``key`` succeeded."""
        stop = self.none_from.get(key, len(self.runs))
        for r in range(run + 1, stop):
            i = self.at(key, program, r)
            if i is not None:
                return r, i
        self.none_from[key] = min(stop, run + 1)
        return None


# The only "fix" on record is a later run that ran the failing command again and succeeded.
RETRY_ONLY_NOTE = (
    "Only evidence: a later run ran this command again and it succeeded, with no remedy "
    "recorded in between — the cause may be transient, or was fixed outside these records."
)


def _next_run_fix(
    ev: _Event, successes: _Successes, tpl: _Templates, normal: dict[str, set[str]]
) -> list[tuple[Command, str]] | None:
    if ev.key is None:
        return None
    hit = successes.next_after(ev.key, ev.program, ev.run)
    if hit is None:
        return None
    r, i = hit
    e = successes.runs[r]
    routine = normal.get(ev.key)
    if routine is None:
        routine = normal[ev.key] = _routine_prefix(ev.key, _recent_successes(ev, successes), tpl)
    failing = successes.runs[ev.run]
    before = {tpl.get(ev.run, j).key for j in range(ev.cmd or 0)} if ev.cmd is not None else set()
    del failing
    steps: list[tuple[Command, str]] = []
    for j in range(i):
        t = tpl.get(r, j)
        if (
            t.key in routine
            or t.key in before
            or is_noise(t, e.commands[j])
            or not _ok(e.commands[j])
        ):
            continue
        steps.append((e.commands[j], t.key))
    if not steps:
        # The next success only re-ran the procedure: what fixed it was done in between, in
        # another record (the operator's shell rolling back a stuck release, say).
        steps = _between_runs_fix(ev, r, successes, tpl)
    return [*steps, (e.commands[i], ev.key)]


def _between_runs_fix(
    ev: _Event, until: int, successes: _Successes, tpl: _Templates
) -> list[tuple[Command, str]]:
    """What a record between a failed run and its next success reverted (runs in time order).

    Only a record that rolls something back counts (a stuck release, a bad config): other
    records in between are investigations or unrelated work, not the remedy.
    """
    out: list[tuple[Command, str]] = []
    for r in range(ev.run + 1, until):
        e = successes.runs[r]
        keys = [tpl.get(r, j).key for j in range(len(e.commands))]
        if ev.key in keys:
            continue  # another attempt at the same step, not a remedy
        roles = [role(tpl.get(r, j)) for j in range(len(e.commands))]
        if "revert" not in roles:
            continue
        for j in range(roles.index("revert"), len(e.commands)):
            cmd = e.commands[j]
            if _ok(cmd) and not is_noise(tpl.get(r, j), cmd):
                out.append((cmd, keys[j]))
    return out[:MAX_SOLUTION]


def _inspects(t: CommandTemplate) -> bool:
    """A read that only looks (``get-function``, ``logs tail``); waiting for a state is not."""
    if check_kind(t) != "verify":
        return False
    return not any(w.startswith("wait") for w in t.subcommand.split())


def _remedy(
    fix: Sequence[tuple[Command, str]], failing_key: str | None, normalize: Normalizer
) -> list[tuple[Command, str]]:
    """The fix without the inspection commands run before its first change.

    When nothing but the retry follows, the reads are kept: looking until the resource was
    ready (``describe-events``, then the retry) is then what the operator did about it.
    """
    for i, (cmd, key) in enumerate(fix):
        if key == failing_key or not _inspects(normalize(cmd.text)):
            if i and all(k == failing_key for _c, k in fix[i:]):
                return list(fix)
            return list(fix[i:])
    return list(fix)


def _shapes(fix: Sequence[tuple[Command, str]], normalize: Normalizer) -> tuple[str, ...]:
    """Fix commands compared by shape, so a varying revision number is still one fix."""
    return tuple(shape_of(normalize(cmd.text)) for cmd, _k in fix)


def _recent_successes(ev: _Event, successes: _Successes) -> list[tuple[int, int]]:
    """Up to NORMAL_SAMPLE successful runs of the failing key, scanning back from the newest."""
    assert ev.key is not None
    out: list[tuple[int, int]] = []
    for r in range(len(successes.runs) - 1, -1, -1):
        i = successes.at(ev.key, ev.program, r)
        if i is not None:
            out.append((r, i))
            if len(out) >= NORMAL_SAMPLE:
                break
    return out[::-1]


def _routine_prefix(key: str, hits: Sequence[tuple[int, int]], tpl: _Templates) -> set[str]:
    """Keys that usually precede ``key`` in runs where it succeeds (the normal procedure)."""
    sample = hits[-NORMAL_SAMPLE:]
    counts: Counter[str] = Counter()
    for r, i in sample:
        counts.update({tpl.get(r, j).key for j in range(i)})
    need = len(sample) / 2
    return {k for k, c in counts.items() if c > need} if len(sample) >= 3 else set()


# -------------------------------------------------------------------------- journals


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text) if w.lower() not in _STOP}


def _match_journal(c: _Cluster, journals: Sequence[Journal], sign: Signer) -> Journal | None:
    best: tuple[float, str] | None = None
    chosen: Journal | None = None
    sig_words = _words(re.sub(r"\{[^}]*\}", " ", c.signature))
    for j in journals:
        score = 0.0
        for line in (*j.error_messages, *j.symptoms):
            other = sign(salient_line(line) or line)
            if len(other.split()) < 3 or len(c.signature.split()) < 3:
                continue
            ratio = fuzz.token_set_ratio(other, c.signature)
            if ratio >= FUZZY_MIN and fuzz.partial_ratio(other, c.signature) >= 80:
                score = max(score, 200.0 + ratio)
        if score == 0.0 and sig_words:
            text_words = _words(" ".join((j.title, *j.symptoms, *j.error_messages)))
            shared = sig_words & text_words
            if len(shared) >= 3 and len(shared) >= 0.6 * len(sig_words):
                score = 100.0 * len(shared) / len(sig_words)
        if score > 0 and (best is None or score > best[0] or (score == best[0] and j.id < best[1])):
            best = (score, j.id)
            chosen = j
    return chosen


def journal_for_errors(
    lines: Sequence[str], journals: Sequence[Journal], *, signer: Signer | None = None
) -> Journal | None:
    """The error journal whose quoted errors or symptoms match one of ``lines`` (in order)."""
    if signer is None:
        from runbook.normalize import error_signature

        signer = error_signature
    wanted = [j for j in journals if _is_error_journal(j)]
    for line in lines:
        signature = signer(salient_line(line) or line)
        if signature:
            hit = _match_journal(_Cluster(signature, ""), wanted, signer)
            if hit is not None:
                return hit
    return None


def _is_error_journal(j: Journal) -> bool:
    return j.category == "error" or bool(j.root_cause and (j.solution or j.solution_commands))


def _prose(text: str) -> tuple[str, ...]:
    lines = [re.sub(r"^\s*(?:[-*+]|\d+[.)])\s+", "", ln).strip() for ln in text.splitlines()]
    return tuple(ln for ln in lines if ln and not ln.startswith("```"))[:MAX_SOLUTION]


def _journal_solution(j: Journal, normalize: Normalizer) -> tuple[tuple[str, ...], bool]:
    if j.solution_commands:
        # Navigation (``cd infra``) is not a fix; run-specific values (lock ids) are templated.
        # Reads before the first change are how the failure was diagnosed, not the fix.
        useful = [c for c in j.solution_commands if not is_noise(normalize(c.text), c)]
        remedy = [c for c, _k in _remedy([(c, "") for c in useful], None, normalize)]
        texts = render_commands(remedy or useful or j.solution_commands, normalize)
        return texts[:MAX_SOLUTION], True
    return _prose(j.solution), False


# ------------------------------------------------------------------------- rollbacks


def _is_rollback_run(e: Execution) -> bool:
    if (e.declared_type or "").lower() == "rollback" or "rollback" in {t.lower() for t in e.tags}:
        return True
    return bool(_ROLLBACK_TEXT.search(e.title))


def _rollback_time(e: Execution, r: int, tpl: _Templates) -> datetime | None:
    """When a run rolled something back: a declared rollback, or a record (a shell session)
    whose commands revert and do not deploy."""
    if _is_rollback_run(e):
        return _run_time(e)
    roles = [role(tpl.get(r, j)) for j in range(len(e.commands))]
    if "revert" in roles and "deploy" not in roles:
        return e.commands[roles.index("revert")].started_at or _run_time(e)
    return None


# ------------------------------------------------------------------------------ main


def cluster(
    executions: Sequence[Execution],
    journals: Sequence[Journal],
    *,
    normalizer: Normalizer | None = None,
    signer: Signer | None = None,
) -> tuple[FailureCluster, ...]:
    """Failure clusters with symptoms, cause, the fix that worked, prevention and counts."""
    if normalizer is None or signer is None:
        from runbook import normalize as _n

        normalizer = normalizer or _n.normalize
        signer = signer or _n.error_signature
    normalize, sign = lru_cache(maxsize=16384)(normalizer), lru_cache(maxsize=16384)(signer)
    runs = sorted(executions, key=lambda e: (_run_time(e) or datetime.min, e.id))
    tpl = _Templates(runs, normalize)
    events = _events(runs, tpl, sign)
    clusters = _clusters(events)
    successes = _Successes(runs, tpl)
    normal: dict[str, set[str]] = {}
    error_journals = sorted((j for j in journals if _is_error_journal(j)), key=lambda j: j.id)
    rollback_times = sorted(
        t for r, e in enumerate(runs) if (t := _rollback_time(e, r, tpl)) is not None
    )
    matched: set[str] = set()
    out: list[FailureCluster] = []
    for c in clusters:
        runs_hit = sorted({ev.run for ev in c.events})
        first_by_run: dict[int, _Event] = {}
        for ev in sorted(c.events, key=lambda ev: (ev.run, ev.cmd is None, ev.cmd or 0)):
            first_by_run.setdefault(ev.run, ev)
        lines = Counter(ev.line for ev in c.events)
        symptoms = tuple(
            line
            for line, _n in sorted(lines.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_SYMPTOMS]
        )
        journal = _match_journal(c, error_journals, sign)
        if journal is not None:
            matched.add(journal.id)
        # Fix candidates: the same run first, else the next run that ran the command fine.
        candidates: dict[tuple[str, ...], list[list[tuple[Command, str]]]] = defaultdict(list)
        same_run: set[tuple[str, ...]] = set()
        for ev in first_by_run.values():
            fix = _same_run_fix(runs[ev.run], ev, tpl)
            same = fix is not None
            if fix is None:
                fix = _next_run_fix(ev, successes, tpl, normal)
            # Reads before the first change diagnosed the failure; they did not fix it.
            fix = _remedy(fix or [], ev.key, normalize)
            if fix:
                if same:
                    same_run.add(_shapes(fix, normalize))
                candidates[_shapes(fix, normalize)].append(fix)
        solution: tuple[str, ...] = ()
        is_commands = True
        note = ""
        # Evidence order: a fix seen in the failing run itself, then the journal's recorded
        # solution, then what the next successful run did differently (the weakest).
        if journal is not None and (journal.solution_commands or journal.solution.strip()):
            for weak in [k for k in candidates if k not in same_run]:
                del candidates[weak]
        if candidates:
            # A later run that merely ran the command again says least; then the most
            # frequent fix; on a tie one that changes something beyond re-running the failed
            # command, seen in the failing run itself, then the shortest.
            best = min(
                candidates,
                key=lambda k: (
                    len(set(k)) == 1 and k not in same_run,
                    -len(candidates[k]),
                    len(set(k)) == 1,
                    k not in same_run,
                    len(k),
                    k,
                ),
            )
            instances = [cmd for fix in candidates[best] for cmd, _k in fix]
            solution = render_commands(instances, normalize)[:MAX_SOLUTION]
            if len(set(best)) == 1 and best not in same_run:
                note = RETRY_ONLY_NOTE
        elif journal is not None:
            solution, is_commands = _journal_solution(journal, normalize)
        cause = journal.root_cause.strip() if journal is not None else ""
        if not cause:
            cause = _cause_from_notes(runs, runs_hit)
        failing = Counter(ev.key for ev in c.events if ev.key)
        step_key = min(failing, key=lambda k: (-failing[k], k)) if failing else None
        rolled = sum(
            1 for ev in first_by_run.values() if _rolled_back(runs, ev, rollback_times, tpl)
        )
        refs = (
            {ev.source for ev in c.events}
            | {ref for ev in c.events for ref in ev.also}
            | {runs[r].source for r in runs_hit}
        )
        if journal is not None:
            refs.add(journal.source)
        out.append(
            FailureCluster(
                signature=c.signature,
                title=title_of(symptoms[0] if symptoms else c.signature),
                symptoms=symptoms,
                cause=cause,
                solution=solution,
                solution_is_commands=is_commands if solution else True,
                prevention=journal.prevention.strip() if journal is not None else "",
                occurrences=len(runs_hit),
                step_key=step_key,
                rolled_back=rolled,
                evidence=tuple(sorted(refs)[:MAX_EVIDENCE]),
                verification=journal.verification.strip() if journal is not None else "",
                solution_note=note,
            )
        )
    # A journal about a failure already listed (a second write-up of the same lock, say)
    # adds its source and fills what is missing; it is not a second entry.
    listed: list[_Cluster] = list(clusters)
    for j in error_journals:
        if j.id in matched:
            continue
        host = next((i for i, c in enumerate(listed) if _match_journal(c, [j], sign)), None)
        if host is None:
            entry = _journal_cluster(j, normalize, sign)
            listed.append(_Cluster(entry.signature, ""))
            out.append(entry)
            continue
        found = out[host]
        out[host] = replace(
            found,
            evidence=tuple(sorted({*found.evidence, j.source})[:MAX_EVIDENCE]),
            cause=found.cause or j.root_cause.strip(),
            prevention=found.prevention or j.prevention.strip(),
            verification=found.verification or j.verification.strip(),
        )
    return tuple(sorted(out, key=lambda f: (-f.occurrences, f.title, f.signature)))


def _journal_cluster(j: Journal, normalize: Normalizer, sign: Signer) -> FailureCluster:
    """A failure known only from an error journal (no run recorded it)."""
    lines = [salient_line(m) for m in j.error_messages if m.strip()] or list(j.symptoms)
    symptoms = tuple(dict.fromkeys(ln for ln in lines if ln))[:MAX_SYMPTOMS]
    solution, is_commands = _journal_solution(j, normalize)
    head = symptoms[0] if symptoms else j.title
    return FailureCluster(
        signature=sign(head) if head else "",
        title=_cap(j.title) if j.title else title_of(head),
        symptoms=symptoms,
        cause=j.root_cause.strip(),
        solution=solution,
        solution_is_commands=is_commands if solution else True,
        prevention=j.prevention.strip(),
        occurrences=1,
        evidence=(j.source,),
        verification=j.verification.strip(),
    )


def _cause_from_notes(runs: Sequence[Execution], hit: Sequence[int]) -> str:
    for r in hit:
        for note in runs[r].notes:
            m = _CAUSE_NOTES.match(note)
            if m:
                return m.group(1).strip()
    return ""


def _rolled_back(
    runs: Sequence[Execution], ev: _Event, rollback_times: Sequence[datetime], tpl: _Templates
) -> bool:
    e = runs[ev.run]
    start = (ev.cmd + 1) if ev.cmd is not None else 0
    for j in range(start, len(e.commands)):
        if _ROLLBACK_TEXT.search(e.commands[j].text) and role(tpl.get(ev.run, j)) == "revert":
            return True
    when = ev.at or _run_time(e)
    if when is None or (_is_rollback_run(e) and e.outcome is not Outcome.FAILURE):
        return False
    pos = bisect.bisect_right(rollback_times, when)
    return pos < len(rollback_times) and rollback_times[pos] - when <= ROLLBACK_WINDOW
