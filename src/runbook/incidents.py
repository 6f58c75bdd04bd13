"""Incident records: failure reports, response runs and error journals grouped per occurrence.

Incidents are rarely recorded as runs of a procedure. A typical occurrence is a failure
observation (symptoms, error messages, a timeline of what was tried, no resolution) and an
error journal written once it was resolved (investigation, root cause, the solution commands,
``**Verification**:``, prevention); sometimes a response run or a post-mortem too. Each
occurrence is one *incident*, and each incident counts as one run of the response procedure:
its recorded commands in time order (the checks that confirmed the problem, the triage, the
stop-gap) with the journal's investigation commands after the checks when no response run
recorded the triage (``origin="journal-investigation"``), then the journal's solution and verification commands
not already recorded (``origin="journal-solution"`` / ``"journal-verification"``). Commands
that failed are the failure itself, not a response step, and are left out.

A journal belongs to the failure report it matches: an error line of the report matches the
journal's quoted errors or symptoms (``failures.journal_for_errors``), or their titles, tags
and file names share words, and their dates are at most ``MAX_DAYS`` apart. Response runs join
the report of the same day they share words with. A journal no report matched is an incident
of its own when it is about the request and records solution commands.

Sample: ``failure-191502-redis-oom-black-friday.md`` + ``2025-11-28-redis-oom-black-friday.md``
-> one incident whose run is ``info memory``, ``CONFIG SET maxmemory-policy``, ``helm upgrade``.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime, time, timedelta

from runbook.failures import journal_for_errors
from runbook.mine.kinds import is_check
from runbook.model import (
    Command,
    EvidenceKind,
    Execution,
    FailureCluster,
    Incident,
    Journal,
    ObservationMode,
    Outcome,
    SourceRef,
    Stat,
)

__all__ = [
    "MAX_DAYS",
    "common_response_runs",
    "group_incidents",
    "incident_summary",
    "is_failure_report",
    "merge_incident_clusters",
    "time_to_mitigate",
]

MAX_DAYS = 3  # a journal is written within days of the incident it documents
MIN_SHARED = 2  # words a report and a journal (or response run) must share without an error match
RESPONSE_WINDOW = timedelta(hours=12)
MAX_SYMPTOMS = 3
MAX_EVIDENCE = 10
MAX_RETRY_GAP = 3  # commands between an action and its retry that can be the fix

_WORD = re.compile(r"[a-z][a-z0-9]{2,}")
# Words every incident record uses: they say nothing about which incident it is.
_GENERIC = frozenset(
    {
        "the", "and", "for", "with", "from", "after", "when", "into", "was", "were", "not",
        "incident", "incidents", "error", "errors", "failure", "failed", "fails", "outage",
        "prod", "production", "staging", "triage", "mitigation", "response", "execution",
        "observation", "journal", "journals", "claude", "observations", "md", "fix", "fixed",
    }
)  # fmt: skip
# "11:18–11:31 UTC", "between 19:12 and 19:19", "03:14-03:41": a journal's incident window.
_WINDOW = re.compile(
    r"\b([01]?\d|2[0-3]):([0-5]\d)(?::[0-5]\d)?\s*(?:[-–—]|to|until|and)\s*"
    r"([01]?\d|2[0-3]):([0-5]\d)(?::[0-5]\d)?\b"
)
# "back to baseline at 03:41", "no PSQLException since 11:31", "errors stop at 11:31"
_RESOLVED_AT = re.compile(
    r"(?:back to (?:baseline|normal)|recovered|resolved|since|stopp?(?:ed|s)?|restored)"
    r"[^.;\n]{0,30}?\b(?:at\s+)?([01]?\d|2[0-3]):([0-5]\d)\b",
    re.I,
)


def is_failure_report(execution: Execution) -> bool:
    """A failure observation (or another record whose outcome is a failure with errors)."""
    if execution.mode is ObservationMode.FAILURE:
        return True
    return execution.outcome is Outcome.FAILURE and bool(execution.errors)


def _words(*texts: str) -> set[str]:
    out: set[str] = set()
    for text in texts:
        low = re.sub(r"[^a-z0-9]+", " ", text.lower())
        out |= {w for w in _WORD.findall(low) if w not in _GENERIC}
    return out


def _slug(path: str) -> str:
    name = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    # failure-191502-redis-oom -> "redis oom"; 2025-11-28-redis-oom -> "redis oom"
    return re.sub(r"^(?:(?:execution|failure|behaviou?r)-)?[\d_-]*", "", name).replace("-", " ")


def _run_words(e: Execution) -> set[str]:
    return _words(e.title, e.context, _slug(e.source.path), " ".join(e.tags))


def _journal_words(j: Journal) -> set[str]:
    return _words(j.title, _slug(j.source.path), " ".join(j.tags))


def _when(e: Execution) -> datetime | None:
    times = [
        t
        for t in (
            e.started_at,
            *(c.started_at for c in e.commands),
            *(ev.at for ev in e.errors),
        )
        if t is not None
    ]
    return min(times) if times else None


def _journal_score(
    report: Execution, day: date | None, words: set[str], journal: Journal, jwords: set[str]
) -> tuple[int, int, int] | None:
    """How well ``journal`` documents ``report`` (None: not at all); higher is better.

    ``day``/``words`` are the report's, ``jwords`` the journal's (computed once by the caller).
    """
    days = abs((day - journal.date).days) if day and journal.date else None
    if days is not None and days > MAX_DAYS:
        return None
    lines = [ev.message for ev in report.errors]
    matched = bool(lines) and journal_for_errors(lines, [journal]) is not None
    shared = len(words & jwords)
    if not matched and (shared < MIN_SHARED or days is None):
        return None
    return (int(matched), shared, -(days or 0))


class _Facts:
    """Each record's time and words, computed once: grouping compares records pairwise."""

    def __init__(self) -> None:
        self._when: dict[str, datetime | None] = {}
        self._words: dict[str, set[str]] = {}

    def when(self, e: Execution) -> datetime | None:
        if e.id not in self._when:
            self._when[e.id] = _when(e)
        return self._when[e.id]

    def words(self, e: Execution) -> set[str]:
        if e.id not in self._words:
            self._words[e.id] = _run_words(e)
        return self._words[e.id]

    def order(self, e: Execution) -> tuple[datetime, str]:
        return (self.when(e) or datetime.min, e.id)


class _Reports:
    """Failure reports by time, to find the one a run responds to without scanning them all."""

    def __init__(self, reports: Sequence[Execution], facts: _Facts) -> None:
        self.facts = facts
        timed = [(t, r) for r in reports if (t := facts.when(r)) is not None]
        self.times = [t for t, _r in timed]  # ascending: reports are sorted by time
        self.reports = [r for _t, r in timed]

    def host(self, run: Execution) -> Execution | None:
        """The earliest report ``run`` responds to: shortly after it and about the same."""
        start = self.facts.when(run)
        if start is None:
            return None
        # seen - 1h <= start <= seen + RESPONSE_WINDOW
        lo = bisect_left(self.times, start - RESPONSE_WINDOW)
        hi = bisect_right(self.times, start + timedelta(hours=1))
        words = self.facts.words(run)
        for report in self.reports[lo:hi]:
            if len(words & self.facts.words(report)) >= MIN_SHARED:
                return report
        return None


def group_incidents(
    candidates: Sequence[Execution],
    journals: Sequence[Journal],
    scoped_journals: Collection[str] = (),
) -> tuple[Incident, ...]:
    """Group the selected records into incidents, each with its run of the response.

    ``candidates`` are the executions selected for the request (failure reports, response
    runs, post-mortems); ``journals`` every journal of the corpus; ``scoped_journals`` the ids
    of journals selected for the request (they may stand alone as incidents).
    """
    facts = _Facts()
    observed = _Reports(
        sorted((e for e in candidates if e.mode is ObservationMode.FAILURE), key=facts.order),
        facts,
    )
    # A run that failed with errors is a report of its own unless it answers a failure report
    # (a mitigation attempt that hit an error on the way is still part of that response).
    reports = sorted(
        [
            *observed.reports,
            *(e for e in candidates if e.mode is ObservationMode.FAILURE and facts.when(e) is None),
            *(
                e
                for e in candidates
                if is_failure_report(e)
                and e.mode is not ObservationMode.FAILURE
                and e.kind is not EvidenceKind.POSTMORTEM
                and observed.host(e) is None
            ),
        ],
        key=facts.order,
    )
    report_ids = {e.id for e in reports}
    postmortems = sorted(
        (e for e in candidates if e.kind is EvidenceKind.POSTMORTEM and e.commands),
        key=facts.order,
    )
    others = [
        e
        for e in candidates
        if e.id not in report_ids and e.kind is not EvidenceKind.POSTMORTEM and e.commands
    ]
    error_journals = sorted(
        (j for j in journals if j.category == "error" or j.root_cause), key=lambda j: j.id
    )
    index = _Reports(reports, facts)
    responses: dict[str, list[Execution]] = {}
    alone: list[Execution] = []  # response runs no failure report names: incidents themselves
    for run in sorted(others, key=lambda e: e.id):
        host = index.host(run)
        if host is not None:
            responses.setdefault(host.id, []).append(run)
        elif not is_failure_report(run):
            alone.append(run)
    # Each journal documents one occurrence: the report it matches best.
    anchors = (*reports, *postmortems, *alone)
    days = {r.id: (t.date() if (t := facts.when(r)) else None) for r in anchors}
    by_report: dict[str, list[Journal]] = {}
    taken: set[str] = set()
    for journal in error_journals:
        jwords = _journal_words(journal)
        scored = [
            (score, r.id)
            for r in anchors
            if (score := _journal_score(r, days[r.id], facts.words(r), journal, jwords)) is not None
        ]
        if scored:
            # best score first; on a tie the earliest record id, so the choice is stable
            _score, chosen = min(scored, key=lambda p: (tuple(-x for x in p[0]), p[1]))
            by_report.setdefault(chosen, []).append(journal)
            taken.add(journal.id)
    out: list[Incident] = []
    for anchor in anchors:
        failures = (anchor,) if is_failure_report(anchor) and anchor.id in report_ids else ()
        replies = tuple(responses.get(anchor.id, ()))
        if not failures:
            replies = (anchor, *replies)
        out.append(_incident(anchor.source, failures, replies, tuple(by_report.get(anchor.id, ()))))
    for journal in error_journals:
        if journal.id in taken or journal.id not in scoped_journals:
            continue
        if journal.solution_commands:
            out.append(_incident(journal.source, (), (), (journal,)))
    return tuple(sorted(out, key=lambda i: (i.detected_at or datetime.min, i.id)))


# Commands a journal says fixed *its* incident, and those a record ran after a command
# failed: the procedure takes them only when most incidents were answered so or some
# incident ran them as a matter of course (else they are cause-specific: Troubleshooting's).
_FIX = frozenset({"journal-solution", "journal-verification", "recovery"})


def common_response_runs(runs: Sequence[Execution]) -> list[Execution]:
    """Incident runs without the cause-specific fixes only a minority of incidents applied."""
    from runbook.normalize import normalize as norm

    seen: dict[str, int] = {}
    usual: set[str] = set()  # keys some incident ran as part of its ordinary response
    for run in runs:
        for key in {norm(c.text).key for c in run.commands}:
            seen[key] = seen.get(key, 0) + 1
        usual |= {norm(c.text).key for c in run.commands if c.origin not in _FIX}
    out: list[Execution] = []
    for run in runs:
        kept = tuple(
            c
            for c in run.commands
            if c.origin not in _FIX
            or (key := norm(c.text).key) in usual
            or 2 * seen[key] > len(runs)
        )
        # a run known only from its journal keeps its account: there is nothing else of it
        out.append(replace(run, commands=kept) if kept and kept != run.commands else run)
    return out


def _between_retries(commands: Sequence[Command]) -> set[int]:
    """Indexes of commands run between an action and its retry (the exit code may be unrecorded)."""
    from runbook.normalize import normalize as norm

    keys = [norm(c.text) for c in commands]
    out: set[int] = set()
    for a, first in enumerate(keys):
        if is_check(first):
            continue  # a check looked at again before and after a change is no retry
        # a retry follows its fix closely; the same action much later is another step
        ahead = range(a + 1, min(len(keys), a + 2 + MAX_RETRY_GAP))
        again = next((b for b in ahead if keys[b].key == first.key), None)
        if again is not None:
            out.update(range(a + 1, again))
    return out


def _incident(
    source: SourceRef,
    failures: tuple[Execution, ...],
    responses: tuple[Execution, ...],
    journals: tuple[Journal, ...],
) -> Incident:
    from runbook.normalize import normalize as norm

    records = sorted((*failures, *responses), key=lambda e: (_when(e) or datetime.min, e.id))
    timed = bool(responses) and any(
        e.duration_s or (e.started_at and e.finished_at) for e in responses
    )
    # A report's "what was attempted" that a response run ran again is one command: the
    # response's copy carries the output and the timing.
    replied = [set(norm(c.text).key.split()) for e in responses for c in e.commands]
    recorded: list[Command] = []
    for e in records:
        failed = False
        retried = _between_retries(e.commands)
        for n, cmd in enumerate(e.commands):
            if cmd.exit_code not in (0, None):
                failed = True
                continue  # the failure itself, not a step of the response
            if (failed or n in retried) and not cmd.origin.startswith("journal-"):
                # what was done about that failure: maybe a fix for its cause only
                cmd = replace(cmd, origin="recovery")
            words = set(norm(cmd.text).key.split())
            # ... also when the response added flags to it (an auth header, an output format)
            if e in failures and e not in responses and any(words <= r for r in replied):
                continue
            # A failure report's timeline gaps include waiting and writing: only a timed
            # response run keeps its start times (its durations are real).
            keep_time = timed and e in responses
            if not keep_time:
                cmd = replace(cmd, started_at=None, duration_s=_measured(e.commands, n))
            recorded.append(cmd)
    keys = {norm(c.text).key for c in recorded}
    # The journal's investigation is triage: after the recorded checks, before the first change.
    first_change = next(
        (n for n, c in enumerate(recorded) if not is_check(norm(c.text))), len(recorded)
    )
    # A journal retelling a check the records hold (give or take a flag) adds nothing.
    known = [set(norm(c.text).key.split()) for c in recorded] + replied
    triage: list[Command] = []
    # A response run recorded the triage as it happened; the journal then retells it.
    for journal in () if responses else journals:
        for cmd in journal.investigation_commands:
            words = set(norm(cmd.text).key.split())
            if any(words <= k or k <= words for k in known if k):
                continue
            known.append(words)
            keys.add(norm(cmd.text).key)
            triage.append(replace(cmd, origin="journal-investigation", started_at=None))
    recorded[first_change:first_change] = triage
    added: list[Command] = []
    for journal in journals:
        for origin, cmds in (
            ("journal-solution", journal.solution_commands),
            ("journal-verification", journal.verification_commands),
        ):
            for cmd in cmds:
                key = norm(cmd.text).key
                if key in keys:
                    continue
                keys.add(key)
                added.append(replace(cmd, origin=origin, started_at=None, exit_code=None))
    anchor = records[0] if records else None
    detected = min((t for e in records if (t := _when(e)) is not None), default=None)
    if detected is None:
        day = min((j.date for j in journals if j.date), default=None)
        detected = datetime.combine(day, time()) if day else None
    detected, mitigated = _window(detected, journals, records)
    resolved = any(j.resolved for j in journals) or any(
        e.outcome is Outcome.SUCCESS for e in responses
    )
    total = sum(float(e.duration_s or 0) for e in responses if e.duration_s) or None
    if timed and total is None:
        spans = [
            (e.finished_at - e.started_at).total_seconds()
            for e in responses
            if e.started_at and e.finished_at
        ]
        total = sum(spans) or None
    first_journal = journals[0] if journals else None
    run = Execution(
        id=f"incident:{source.path}",
        source=source,
        kind=anchor.kind if anchor else EvidenceKind.JOURNAL,
        title=(anchor.title if anchor else "") or (first_journal.title if first_journal else ""),
        context=anchor.context if anchor else "",
        environment=next(
            (e.environment for e in records if e.environment),
            next((j.environment for j in journals if j.environment), None),
        ),
        started_at=detected,
        duration_s=total if timed else None,
        outcome=Outcome.SUCCESS if resolved else Outcome.UNKNOWN,
        commands=(*recorded, *added),
        tags=tuple(
            sorted({t for e in records for t in e.tags} | {t for j in journals for t in j.tags})
        ),
        severity=next((e.severity for e in records if e.severity), None),
        resolved=resolved or None,
        declared_type="incident-response",
        owner=next((e.owner for e in records if e.owner), None),
    )
    return Incident(
        id=run.id,
        source=source,
        run=run,
        failures=tuple(e.id for e in failures),
        responses=tuple(e.id for e in responses),
        journals=tuple(j.id for j in journals),
        detected_at=detected,
        mitigated_at=mitigated,
        timed=timed,
    )


def _measured(commands: Sequence[Command], n: int) -> float | None:
    """A command's duration unless a reader derived it from the next timeline entry."""
    cmd = commands[n]
    nxt = next((c.started_at for c in commands[n + 1 :] if c.started_at is not None), None)
    if cmd.duration_s is None or cmd.started_at is None or nxt is None:
        return cmd.duration_s
    gap = (nxt - cmd.started_at).total_seconds()
    return None if abs(gap - cmd.duration_s) < 0.05 else cmd.duration_s


def _window(
    detected: datetime | None, journals: Sequence[Journal], records: Sequence[Execution]
) -> tuple[datetime | None, datetime | None]:
    """Detection and mitigation times: the report's first time, a journal's stated window."""
    if detected is None:
        return None, None
    day = detected.date()
    start, end = detected, None
    for journal in journals:
        if journal.date is not None and journal.date != day:
            continue
        text = " ".join((*journal.symptoms, journal.verification, journal.solution))
        for m in _WINDOW.finditer(text):
            a = datetime.combine(day, time(int(m.group(1)), int(m.group(2))))
            b = datetime.combine(day, time(int(m.group(3)), int(m.group(4))))
            if a < b and abs((a - detected).total_seconds()) <= 6 * 3600:
                start, end = min(start, a), max(end or b, b)
        for m in _RESOLVED_AT.finditer(journal.verification):
            b = datetime.combine(day, time(int(m.group(1)), int(m.group(2))))
            if b > start and (b - start) <= timedelta(hours=12):
                end = max(end or b, b)
    del records
    return start, end


def time_to_mitigate(incidents: Sequence[Incident]) -> Stat | None:
    """Median / p90 of detection -> mitigation over the incidents where both are known."""
    from runbook.mine.durations import summarize

    values = [
        (i.mitigated_at - i.detected_at).total_seconds()
        for i in incidents
        if i.detected_at is not None and i.mitigated_at is not None
    ]
    return summarize([v for v in values if v > 0])


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def incident_summary(incidents: Sequence[Incident], kinds: dict[str, EvidenceKind]) -> str:
    """``3 incidents (3 failure observations, 3 error journals; no timed runs: durations unknown)``."""
    failures = [f for i in incidents for f in i.failures]
    observed = sum(1 for f in failures if kinds.get(f) is EvidenceKind.OBSERVATION)
    parts = []
    if observed:
        parts.append(_plural(observed, "failure observation"))
    if len(failures) > observed:
        parts.append(_plural(len(failures) - observed, "other failure record"))
    responses = [r for i in incidents for r in i.responses]
    posts = sum(1 for r in responses if kinds.get(r) is EvidenceKind.POSTMORTEM)
    if len(responses) > posts:
        parts.append(_plural(len(responses) - posts, "response run"))
    if posts:
        parts.append(_plural(posts, "post-mortem"))
    journals = sum(len(i.journals) for i in incidents)
    if journals:
        parts.append(_plural(journals, "error journal"))
    timed = sum(1 for i in incidents if i.timed)
    timing = (
        "no timed runs: durations unknown"
        if not timed
        else f"{timed} of {len(incidents)} with a timed response run"
    )
    return f"{_plural(len(incidents), 'incident')} ({', '.join(parts)}; {timing})"


def merge_incident_clusters(
    clusters: Sequence[FailureCluster],
    incidents: Sequence[Incident],
    paths: Mapping[str, str],
    decision_key: str | None,
    step_keys: Collection[str] = (),
) -> tuple[FailureCluster, ...]:
    """One troubleshooting entry per incident cause, placed at the procedure's decision step.

    A failure report's error lines and the journal that documents it (matched by the incident,
    not necessarily by the error text) are one entry: its symptoms are the report's errors, its
    cause, solution, verification and prevention the journal's. ``paths`` maps execution and
    journal ids to their files; ``decision_key`` is the key of the Mitigate step's command,
    where each cause-specific fix becomes a decision point (``If Failed``) unless the failing
    command is itself a step (``step_keys``).
    """
    out = list(clusters)
    for incident in incidents:
        own = {paths[i] for i in (*incident.failures, *incident.responses) if i in paths}
        notes = {paths[j] for j in incident.journals if j in paths}
        members = [k for k, c in enumerate(out) if _belongs(c, own, notes)]
        if not members:
            continue
        group = [out[k] for k in members]
        # the entry that carries the journal's account leads (title, cause, solution)
        lead = next((c for c in group if c.cause and c.solution), group[0])
        symptoms = tuple(dict.fromkeys(s for c in (lead, *group) for s in c.symptoms))
        # the error as printed names the entry; a journal's prose does not template well
        printed = next((c for c in group if set(c.evidence) - set(_refs(c, notes))), lead)
        at_step = lead.step_key if lead.step_key in step_keys else None
        merged = replace(
            lead,
            signature=printed.signature,
            symptoms=symptoms[:MAX_SYMPTOMS],
            cause=lead.cause or next((c.cause for c in group if c.cause), ""),
            prevention=lead.prevention or next((c.prevention for c in group if c.prevention), ""),
            verification=lead.verification
            or next((c.verification for c in group if c.verification), ""),
            occurrences=max(c.occurrences for c in group),
            step_key=at_step or decision_key,
            evidence=tuple(sorted({r for c in group for r in c.evidence}))[:MAX_EVIDENCE],
        )
        out = [c for k, c in enumerate(out) if k not in members[1:]]
        out[members[0]] = merged
    return tuple(out)


def _belongs(cluster: FailureCluster, own: set[str], notes: set[str]) -> bool:
    """Seen only in this incident's records, or known only from its journals."""
    files = {r.path for r in cluster.evidence}
    if files - notes:
        return files - notes <= own
    return bool(files & notes)


def _refs(cluster: FailureCluster, notes: set[str]) -> list[SourceRef]:
    return [r for r in cluster.evidence if r.path in notes]
