"""The pipeline as plain functions, used by the CLI, the MCP server and the web viewer.

Stages are imported here and nowhere above: model <- stages <- api <- {cli, mcp_server, web}.
"""

from __future__ import annotations

import os
import re
import shlex
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from runbook.config import Config, load_config
from runbook.errors import InputError, NoEvidenceError, RefusalError, UsageError
from runbook.model import (
    AlarmDef,
    AlertRunbook,
    Classification,
    Corpus,
    Count,
    Duplicate,
    EntryReport,
    EvidenceKind,
    Execution,
    FileReport,
    Incident,
    Journal,
    OperationType,
    Outcome,
    ParsedFile,
    Procedure,
    Runbook,
    SourcesReport,
    SourcesTotals,
    ValidationReport,
)

if TYPE_CHECKING:
    from runbook.regenerate import MergeResult

# ============================================================== generate / write / reproduce

TYPE_ALIASES: dict[str, OperationType] = {
    "deployment": OperationType.DEPLOYMENT,
    "deploy": OperationType.DEPLOYMENT,
    "rollback": OperationType.ROLLBACK,
    "incident-response": OperationType.INCIDENT,
    "incident": OperationType.INCIDENT,
    "migration": OperationType.MIGRATION,
    "scaling": OperationType.SCALING,
}
OPERATION_TYPE_NAMES = ("deployment", "rollback", "incident-response", "migration", "scaling")

# File-name prefix per type: the original writes incident runbooks as `…-incident-api-timeout.md`.
_FILE_PREFIX = {OperationType.INCIDENT: "incident"}

_KIND_LABELS = {
    EvidenceKind.OBSERVATION: ("observation", "observations"),
    EvidenceKind.NOTES: ("session note", "session notes"),
    EvidenceKind.JOURNAL: ("journal", "journals"),
    EvidenceKind.CI_LOG: ("CI log", "CI logs"),
    EvidenceKind.CI_WORKFLOW: ("CI workflow", "CI workflows"),
    EvidenceKind.SHELL_HISTORY: ("shell history", "shell histories"),
    EvidenceKind.CAST: ("terminal recording", "terminal recordings"),
    EvidenceKind.RUN_RECORD: ("run record", "run records"),
    EvidenceKind.POSTMORTEM: ("post-mortem", "post-mortems"),
    EvidenceKind.GIT_HISTORY: ("git revert", "git reverts"),
}

Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class GenerateCounts:
    """What a generation used, for the summary line."""

    runs: int
    successful: int  # of ``runs``; the rest have no recorded outcome
    runs_by_kind: tuple[tuple[str, int], ...]
    failures: int
    journals: int
    files: int
    rollback_runs: int
    steps: int
    # incident-response from incident records: "3 incidents (3 failure observations, ...)"
    incidents: str = ""
    # runs of the type and scope left out as another procedure's, one line each (why, which)
    left_out: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class GenerateResult:
    """A generated runbook, rendered both ways, with its default file name."""

    runbook: Runbook
    markdown: str
    json: str
    filename: str  # "2025-12-28-deployment-lambda" (no extension)
    counts: GenerateCounts
    skipped: int = 0


@dataclass(frozen=True, slots=True)
class WriteOutcome:
    """Where the runbook went: "written", "unchanged", or "beside" (a person edited the target)."""

    path: Path
    status: str  # also "merged": a person's edits kept, the evidence's changes taken
    kept: Path | None = None  # the edited file left in place when status == "beside"
    conflicts: tuple[str, ...] = ()  # sections both the person and the evidence changed
    kept_sections: tuple[str, ...] = ()  # sections whose human edits were kept ("merged")


def parse_operation_type(text: str) -> OperationType:
    """TYPE argument -> OperationType; refuses development tasks, rejects unknown types."""
    key = text.strip().lower()
    if key in TYPE_ALIASES:
        return TYPE_ALIASES[key]
    from runbook.classify import is_development_task

    if is_development_task(text):
        raise _dev_task(text)
    raise UsageError(
        f"unknown operation type {text!r}",
        hint=f"TYPE is one of: {', '.join(OPERATION_TYPE_NAMES)} (`incident` works too)",
    )


def _dev_task(text: str) -> RefusalError:
    from runbook.classify import development_task_reason

    reason = development_task_reason(text)
    why = f" ({reason})" if reason else ""
    return RefusalError(
        f"{text!r} looks like a development task, not an operation{why}: a runbook documents a "
        "repeatable operation (deployment, rollback, incident-response, migration, scaling)",
        hint="implement it directly (and use `runbook reproduce OBSERVATION` for a single recorded run)",
    )


def slug_for(scope: str | None, max_len: int = 60) -> str:
    """Safe file-name slug of a scope: lowercase ascii ``[a-z0-9-]``, bounded, no traversal."""
    from runbook.assemble import slugify

    if not scope or not scope.strip():
        return ""
    slug = slugify(scope, max_len)
    return "" if slug == "step" and "step" not in scope.lower() else slug


def output_filename(op: OperationType, scope: str | None, today: date) -> str:
    """`YYYY-MM-DD-{type}-{slug}` (incident-response files use `incident-`)."""
    prefix = _FILE_PREFIX.get(op, op.value)
    slug = slug_for(scope)
    return f"{today.isoformat()}-{prefix}" + (f"-{slug}" if slug else "")


def _outcome(execution: Execution, cls: Classification | None) -> Outcome:
    from runbook.classify import resolved_outcome

    return resolved_outcome(execution, cls)


def _scopes(cls: Classification | None) -> tuple[str, ...]:
    return cls.scopes if cls is not None else ()


def _sort_key(execution: Execution) -> tuple[str, str]:
    when = execution.started_at.isoformat() if execution.started_at else ""
    return when, execution.id


def _words(text: str) -> set[str]:
    stop = {"the", "a", "an", "and", "or", "of", "to", "in", "on", "for", "with", "md"}
    return {w for w in re.split(r"[^a-z0-9]+", text.lower()) if len(w) > 1 and w not in stop}


def _about_operation(journals: Sequence[Journal], op: OperationType, scope: str) -> list[bool]:
    """For each journal, whether it is classified as this operation (and scope)."""
    from runbook.classify import classify_journal, normalize_scope

    wanted = normalize_scope(scope) if scope else ""
    out = []
    for journal in journals:
        cls = classify_journal(journal)
        text = " ".join((journal.title, " ".join(journal.tags), journal.source.path))
        same_op = cls.operation_type is op
        in_scope = not wanted or wanted in cls.scopes or bool(_words(wanted) & _words(text))
        out.append(same_op and in_scope)
    return out


def _relevant_journals(
    journals: Sequence[Journal], about: Sequence[bool], used_paths: set[str]
) -> tuple[Journal, ...]:
    """Journals cited by a failure cluster, or about this operation (``_about_operation``)."""
    keep = [j for j, ok in zip(journals, about, strict=True) if ok or j.source.path in used_paths]
    return tuple(sorted(keep, key=lambda j: j.source))


def _relevant_alarms(alarms: Sequence[AlarmDef], words: set[str]) -> tuple[AlarmDef, ...]:
    def text(a: AlarmDef) -> str:
        return " ".join((a.name, a.metric, a.expression, a.namespace, " ".join(a.dimensions)))

    from runbook.classify import scopes_in_text

    # "AWS/RDS" is about the database scope even though no alarm field says "database"
    return tuple(
        sorted(
            (a for a in alarms if words & (_words(text(a)) | scopes_in_text(text(a)))),
            key=lambda a: a.source,
        )
    )


def _procedure_words(procedure: Procedure) -> set[str]:
    words: set[str] = set()
    for step in procedure.steps:
        for command in step.commands:
            words |= _words(command.text)
    return {w for w in words if len(w) > 3}


def _guides(files: Sequence[ParsedFile], words: set[str], used: set[str]) -> tuple[str, ...]:
    out = []
    for parsed in files:
        path = PurePosixPath(parsed.path)
        if parsed.kind is not EvidenceKind.NOTES or parsed.path in used:
            continue
        stem = _words(path.stem)
        # Troubleshooting guides apply to every operation; other guides when their name matches.
        if "docs" in path.parts[:-1] and (
            words & stem or any(w.startswith("troubleshoot") for w in stem)
        ):
            out.append(parsed.path)
    return tuple(sorted(out))


def output_dir(root: Path, config: Config | None, out_dir: Path | None = None) -> Path:
    """Where runbooks are written: ``out_dir`` if given, else the config's under the root."""
    if out_dir is not None:
        return out_dir
    return root / (config.out_dir if config else "runbooks")


def root_link(root: Path, out_dir: Path) -> str | None:
    """The root as seen from the output directory, for relative links inside the runbook."""
    try:
        return os.path.relpath(root.resolve(), out_dir.resolve()).replace(os.sep, "/")
    except ValueError:  # different drives on Windows: fall back to the default layout
        return None


def generate(
    root: Path,
    op_type: str,
    scope: str | None,
    *,
    today: date,
    config: Config | None = None,
    allow_single_run: bool = False,
    progress: Progress | None = None,
    links_from: str | None = None,
    root_link: str | None = None,
) -> GenerateResult:
    """Mine the evidence under ``root`` into a runbook for ``op_type`` / ``scope`` (md + JSON)."""
    from runbook.discover import stat_walk

    op = parse_operation_type(op_type)
    scope_text = (scope or "").strip()
    if not root.is_dir():
        from runbook.classify import is_development_task

        if scope_text and is_development_task(scope_text):
            raise _dev_task(scope_text)
        raise UsageError(f"{root}: not a directory")
    config = config or load_config(root)
    # An unchanged corpus and request give the same bytes: one stat walk and one lookup. A
    # refused request is never stored, so a hit needs none of the checks or stages below.
    key = None
    stats = ""
    if config.cache:
        from runbook.result_cache import corpus_digest

        stats = corpus_digest(stat_walk(root, config))
        request = (op.value, scope_text, today.isoformat(), str(allow_single_run))
        key = _result_key(root, config, stats, (*request, f"{links_from}", f"{root_link}"))
        hit = _cached_result(root, key) if key is not None else None
        if hit is not None:
            return hit
    from runbook.classify import is_development_task

    if scope_text and is_development_task(scope_text):
        raise _dev_task(scope_text)
    from runbook.assemble import RunSet, assemble
    from runbook.classify import classify, select, select_procedure
    from runbook.dedup import deduplicate
    from runbook.discover import discover
    from runbook.failures import cluster
    from runbook.index import load_corpus
    from runbook.mine import is_guide, mine
    from runbook.render.json import render_json
    from runbook.render.markdown import render_markdown

    found = list(discover(root, config))
    if key is not None:
        from runbook.result_cache import corpus_digest

        # a file changed between the walks: this result belongs to neither key, keep it out
        key = key if corpus_digest(found) == stats else None
    corpus = load_corpus(root, config, progress=progress, found=found)
    del found  # 100k Candidates are tens of MB; the corpus now holds what mining needs
    # one run recorded in several formats (CI log + shell history) is mined once
    executions, _ = deduplicate(corpus.executions)
    classes = {e.id: classify(e) for e in executions}
    # the runs of one procedure: others that match the request too are named in the notes
    ranked, selection_notes = select_procedure(executions, op, scope_text or None, classes)
    selected = [e for e, _ in ranked]
    label = f"{op.value}" + (f" {scope_text!r}" if scope_text else "")
    scope_note = ""
    if not selected and scope_text and op is not OperationType.INCIDENT:
        # Machine records (histories, CI logs) carry no title that could name the scope. When
        # every run of the type is one procedure, that is the one asked for: mine it and say so.
        unscoped, others = select_procedure(executions, op, None, classes)
        if unscoped and not others and not selection_notes:
            ranked, selected = unscoped, [e for e, _ in unscoped]
            scope_note = (
                f"no {op.value} run names {scope_text!r} (shell histories, casts and CI logs "
                f"carry no title); mined the only {op.value} procedure on record "
                f"({len(selected)} runs): check that it is the one meant"
            )
            selection_notes = (scope_note,)
    # an incident may be recorded only in error journals: they are looked at below
    if not selected and op is not OperationType.INCIDENT:
        raise _no_evidence(
            label,
            op,
            scope_text,
            left_out=selection_notes,
            elsewhere=_elsewhere(executions, op, scope_text, classes),
            workflows=_undownloaded_workflows(corpus),
        )
    failed = sorted(
        (e for e in selected if _outcome(e, classes.get(e.id)) is Outcome.FAILURE), key=_sort_key
    )
    # Runs whose outcome was not recorded still show the procedure (mine treats them so too);
    # the summary counts them apart from the successful ones.
    pattern_runs = sorted(
        (
            e
            for e in selected
            if _outcome(e, classes.get(e.id)) is not Outcome.FAILURE and e.commands
        ),
        key=_sort_key,
    )
    # Guides and hand-written runbooks describe a procedure; they are not runs of it.
    guides_only = [e for e in pattern_runs if is_guide(e)]
    pattern_runs = [e for e in pattern_runs if not is_guide(e)]
    incidents: tuple[Incident, ...] = ()
    responses: list[Execution] = []
    if op is OperationType.INCIDENT:
        # Incidents are recorded as failure reports + error journals (+ response runs,
        # post-mortems): each occurrence is one run of the response procedure.
        incidents = _incident_records(selected, executions, corpus.journals, classes, scope_text)
        if incidents:
            reply_ids = {r for i in incidents for r in i.responses}
            responses = sorted((e for e in selected if e.id in reply_ids), key=_sort_key)
            from runbook.incidents import common_response_runs

            # a journal's cause-specific fix is troubleshooting unless most incidents applied it
            pattern_runs = sorted(common_response_runs([i.run for i in incidents]), key=_sort_key)
            classes.update({i.run.id: classify(i.run) for i in incidents})
    if not pattern_runs:
        raise _no_evidence(
            label,
            op,
            scope_text,
            failures=len(failed),
            guides=len(guides_only),
            workflows=_undownloaded_workflows(corpus),
        )
    if len(incidents) == 1 and not allow_single_run:
        raise _single_incident(incidents[0], label, root, corpus.executions)
    if len(pattern_runs) == 1 and not allow_single_run:
        only = pattern_runs[0].source.path
        # The hint must work from where the command was run, not only from the root.
        shown = only if root == Path(".") else (root / only).as_posix()
        raise RefusalError(
            f"only one recorded run matches {label} ({only}): a single run is not a pattern",
            hint=f"use `runbook reproduce {shown}` for that run, record more runs, "
            "or pass --allow-single-run",
        )
    procedure = mine(pattern_runs, op)
    used_ids = set(procedure.runs) or {e.id for e in pattern_runs}
    used = [e for e in pattern_runs if e.id in used_ids]
    # rollbacks (and the failed deployments behind a rollback) must share a scope with these
    used_scopes = {s for e in used for s in _scopes(classes.get(e.id))}
    rollback_procedure: Procedure | None = None
    rollback_runs: list[Execution] = []
    if op is not OperationType.ROLLBACK:
        # deploys that rolled back half-way repeat this procedure: they are not rollback runs
        candidates = [
            e
            for e, _ in select_procedure(
                executions, OperationType.ROLLBACK, scope_text or None, classes
            )[0]
        ]
        # Only rollbacks of the same thing: they must share a scope with the mined runs
        # (a Lambda rollback says nothing about reverting an Aurora migration).
        rollback_runs = sorted(
            (
                e
                for e in candidates
                if _outcome(e, classes.get(e.id)) is not Outcome.FAILURE
                and e.commands
                and not is_guide(e)
                and used_scopes & set(_scopes(classes.get(e.id)))
            ),
            key=_sort_key,
        )
        # One rollback run is not a pattern (the same rule as for the main procedure): the
        # rollback is then derived, and assemble says that one run exists.
        if len(rollback_runs) >= 2:
            rollback_procedure = mine(rollback_runs, OperationType.ROLLBACK)

    journals_all = corpus.journals
    triggers: list[Execution] = []
    if op is OperationType.ROLLBACK:
        # What made people roll back: failed deployments of the same scope before a rollback run.
        triggers = [
            e
            for e, _ in select(executions, OperationType.DEPLOYMENT, scope_text or None, classes)
            if _outcome(e, classes.get(e.id)) is Outcome.FAILURE
            and used_scopes & set(_scopes(classes.get(e.id)))
        ]
    # An incident's run is assembled from records, not recorded: its failures are in the
    # failure reports and response runs themselves.
    recorded_runs = [e for e in pattern_runs if not incidents] + responses
    runs_for_failures = sorted({*failed, *recorded_runs, *rollback_runs, *triggers}, key=_sort_key)
    clusters = cluster(runs_for_failures, journals_all)
    words = _words(scope_text) | _words(op.value) | {op.value.split("-")[0]}
    # classified once: the same journals are filtered again below with the clusters' paths
    about = _about_operation(journals_all, op, scope_text)
    relevant = _relevant_journals(journals_all, about, set())
    incident_journals = {j for i in incidents for j in i.journals}
    relevant_paths = {j.source.path for j in relevant} | {
        j.source.path for j in journals_all if j.id in incident_journals
    }
    journal_paths = {j.source.path for j in journals_all}
    # A journal no failure of these runs matched is kept only when it is about this operation.
    clusters = tuple(
        c
        for c in clusters
        if any(r.path not in journal_paths or r.path in relevant_paths for r in c.evidence)
    )
    if triggers:
        own = {e.source.path for e in failed}
        clusters = tuple(
            c for c in clusters if c.rolled_back or any(r.path in own for r in c.evidence)
        )
    if incidents:
        from runbook.incidents import merge_incident_clusters

        paths = {e.id: e.source.path for e in executions} | {
            j.id: j.source.path for j in journals_all
        }
        step_keys = {
            k
            for step in procedure.steps
            for c in (*step.commands, *((step.verification,) if step.verification else ()))
            for k in (c.keys or (c.key,))
        }
        clusters = merge_incident_clusters(
            clusters, incidents, paths, _decision_key(procedure), step_keys
        )
    cluster_paths = {r.path for c in clusters for r in c.evidence} | {
        j.source.path for j in journals_all if j.id in incident_journals
    }
    journals = _relevant_journals(journals_all, about, cluster_paths)

    alarm_words = words | _procedure_words(procedure)
    alarms = _relevant_alarms(corpus.alarms, alarm_words)
    migrations = corpus.migrations if op is OperationType.MIGRATION else ()
    failed = sorted(
        {
            *failed,
            *(
                e
                for e in triggers
                if any(e.source.path == r.path for c in clusters for r in c.evidence)
            ),
        },
        key=_sort_key,
    )
    used_paths = {e.source.path for e in (*used, *failed, *rollback_runs)} | {
        j.source.path for j in journals
    }
    runbook = assemble(
        op_type=op,
        scope=scope_text,
        procedure=procedure,
        clusters=clusters,
        runs=RunSet(tuple(used), classes),
        # an incident's response runs are cited as sources beside its failure reports
        failures=RunSet(tuple(sorted({*failed, *responses}, key=_sort_key)), classes),
        journals=journals,
        rollback_procedure=rollback_procedure,
        rollback_runs=tuple(rollback_runs),
        alarms=alarms,
        migrations=migrations,
        files=corpus.files,
        # a selected workflow file declares this procedure: cited as a guide, not as a run
        guides=tuple(
            sorted(
                {*_guides(corpus.files, words, used_paths)}
                | {e.source.path for e in guides_only if e.kind is EvidenceKind.CI_WORKFLOW}
            )
        ),
        today=today,
        owner=config.owner,
    )
    if incidents:
        runbook = _incident_runbook(runbook, incidents, corpus.executions)
    if scope_note:
        runbook = replace(
            runbook, notes=(scope_note[0].upper() + scope_note[1:] + ".", *runbook.notes)
        )
    by_kind = Counter(e.kind for e in used)
    successful = sum(1 for e in used if _outcome(e, classes.get(e.id)) is Outcome.SUCCESS)
    counts = GenerateCounts(
        runs=len(used),
        successful=successful,
        runs_by_kind=tuple(
            (_kind_label(kind, n), n)
            for kind, n in sorted(by_kind.items(), key=lambda kv: (-kv[1], kv[0].value))
        ),
        failures=len(failed),
        journals=len(journals),
        files=len(runbook.sources),
        rollback_runs=len(rollback_runs),
        steps=len(runbook.steps),
        incidents=_incident_text(incidents, corpus.executions),
        left_out=selection_notes,
    )
    result = GenerateResult(
        runbook=runbook,
        markdown=render_markdown(
            runbook, links_from=links_from or config.out_dir, root_link=root_link
        ),
        json=render_json(runbook),
        filename=output_filename(op, scope_text, today),
        counts=counts,
        skipped=len(corpus.skipped),
    )
    if key is not None:
        from runbook.codec import to_json
        from runbook.result_cache import store_result

        store_result(root, key, to_json(result, omit_defaults=True))
    return result


def _result_key(root: Path, config: Config, stats: str, request: Sequence[str]) -> str | None:
    """The result-cache key of a generate request (None: the output cannot be keyed)."""
    from runbook.result_cache import git_head, result_key

    head = ""
    if config.git and (root / ".git").exists():
        # git history is read from `git log`, which only HEAD decides
        head = git_head(root) or ""
        if not head:
            return None
    return result_key(*request, repr(config), stats, f"git={head}")


def _cached_result(root: Path, key: str) -> GenerateResult | None:
    """The stored result for ``key`` (None on a miss or an entry that no longer decodes)."""
    from runbook.codec import CodecError, from_json
    from runbook.result_cache import load_result

    data = load_result(root, key)
    if data is None:
        return None
    try:
        return from_json(GenerateResult, data)
    except (CodecError, RecursionError):
        return None


def _kind_label(kind: EvidenceKind, n: int) -> str:
    one, many = _KIND_LABELS.get(kind, (kind.value, kind.value))
    return one if n == 1 else many


def _no_evidence(
    label: str,
    op: OperationType,
    scope: str,
    failures: int = 0,
    guides: int = 0,
    left_out: Sequence[str] = (),
    elsewhere: Sequence[str] = (),
    workflows: Sequence[str] = (),
) -> NoEvidenceError:
    slug = slug_for(scope) or "SCOPE"
    found = ""
    if left_out:
        # runs matched the type and scope but all belong to another procedure: say which
        found = f" ({'; '.join(left_out)})"
    elif failures:
        found = f" (only {failures} failure record(s), no successful run)"
    elif guides:
        found = f" (only {guides} guide(s) describing it, no recorded run)"
    hints = []
    if elsewhere:
        hints.append("runs that match are recorded as another operation: " + "; ".join(elsewhere))
    for path in workflows[:3]:
        # the runs of a declared pipeline are one command away
        name = path.rsplit("/", 1)[-1]
        stem = slug_for(name.rsplit(".", 1)[0]) or "ci"
        hints.append(
            f"{path} declares a pipeline whose run logs are evidence: mkdir -p ci-logs/{stem} && "
            f"gh run list --workflow {name} --limit 20 --json databaseId --jq '.[].databaseId' | "
            f'while read -r id; do gh run view "$id" --log > "ci-logs/{stem}/run-$id.log"; done'
        )
    hints.append(
        "record runs as .claude/observations/YYYY-MM-DD/execution-HHMMSS-"
        f"{op.value}-{slug}.md (front matter `mode: execution`, a `## Tool Calls` or "
        "`**Commands Executed**:` section); `runbook observe` will do this for you"
    )
    return NoEvidenceError(
        f"no recorded execution of {label} was found{found}: there is no pattern to mine",
        hint="\n  hint: ".join(hints),
    )


def _elsewhere(
    executions: Sequence[Execution],
    op: OperationType,
    scope: str,
    classes: Mapping[str, Classification],
) -> list[str]:
    """For a request that found nothing: the other operation types whose runs match its scope."""
    from runbook.classify import select

    out = []
    for other in OperationType:
        if other in (op, OperationType.INCIDENT, OperationType.NONE):
            continue  # "none" is no operation to ask for
        hits = select(executions, other, scope or None, classes)
        if hits:
            ask = f"runbook {other.value}" + (f" {shlex.quote(scope)}" if scope else "")
            out.append(f"{len(hits)} {other.value} run(s) (`{ask}`)")
    return out


def _undownloaded_workflows(corpus: Corpus) -> list[str]:
    """Workflow files of a repository whose run logs are not under the root."""
    kinds = {p.kind for p in corpus.files}
    if EvidenceKind.CI_LOG in kinds:
        return []
    return sorted(p.path for p in corpus.files if p.kind is EvidenceKind.CI_WORKFLOW)


def _incident_records(
    selected: Sequence[Execution],
    executions: Sequence[Execution],
    journals: Sequence[Journal],
    classes: dict[str, Classification],
    scope: str,
) -> tuple[Incident, ...]:
    """The incidents among the selected records; journals selected for the scope may stand alone."""
    from runbook.classify import journal_execution, select
    from runbook.incidents import group_incidents
    from runbook.mine import is_guide

    taken = {e.id for e in executions}
    # Journals are ranked with the runs so word weights come from the whole corpus.
    as_runs = [
        journal_execution(j) for j in journals if j.category == "error" and j.id not in taken
    ]
    ranked = select([*executions, *as_runs], OperationType.INCIDENT, scope or None, classes)
    ids = {e.id for e in as_runs}
    scoped = {e.id for e, _ in ranked if e.id in ids}
    records = [e for e in selected if not is_guide(e)]
    return group_incidents(records, journals, scoped)


def _decision_key(procedure: Procedure) -> str | None:
    """The command where an incident's cause-specific fixes branch off: the Mitigate step's."""
    steps = [s for s in procedure.steps if s.phase in ("Mitigate", "Fix")] or list(procedure.steps)
    if not steps:
        return None
    command = steps[-1].commands[-1] if steps[-1].commands else None
    return (command.keys or (command.key,))[0] if command is not None else None


def _incident_kinds(executions: Sequence[Execution]) -> dict[str, EvidenceKind]:
    return {e.id: e.kind for e in executions}


def _incident_text(incidents: Sequence[Incident], executions: Sequence[Execution]) -> str:
    from runbook.incidents import incident_summary

    return incident_summary(incidents, _incident_kinds(executions)) if incidents else ""


def _single_incident(
    incident: Incident, label: str, root: Path, executions: Sequence[Execution]
) -> RefusalError:
    """One incident is one occurrence, not a pattern: point at the record to reproduce."""
    only = incident.source.path
    shown = only if root == Path(".") else (root / only).as_posix()
    return RefusalError(
        f"only one recorded incident matches {label}: "
        f"{_incident_text([incident], executions)}; a single occurrence is not a pattern",
        hint=f"use `runbook reproduce {shown}` for that incident, record more occurrences, "
        "or pass --allow-single-run",
    )


def _incident_runbook(
    runbook: Runbook, incidents: Sequence[Incident], executions: Sequence[Execution]
) -> Runbook:
    """Say what the runs are: incidents from records, with time to mitigate when stated."""
    from runbook.incidents import time_to_mitigate
    from runbook.render.markdown import format_seconds

    summary = _incident_text(incidents, executions)
    notes: list[str] = []
    for note in runbook.notes:
        if note.startswith("Mined from ") and ": " in note:
            rest = note.split(": ", 1)[1]
            note = (
                f"Mined from {summary}. Each incident counts as one run of the response: "
                "its recorded checks and stop-gaps, then its journal's solution and "
                f"verification commands; {rest}"
            )
        elif "had no usable timing" in note and not any(i.timed for i in incidents):
            continue  # the summary already says no run was timed
        notes.append(note)
    stat = time_to_mitigate(incidents)
    if stat is not None:
        p90 = f", p90 {format_seconds(stat.p90_s)}" if stat.n > 1 else ""
        notes.append(
            "Time to mitigate (detection in the failure timeline to the resolution the journal "
            f"states), over {stat.n} of {len(incidents)} incidents: median "
            f"{format_seconds(stat.median_s)}{p90}. It is not a timed run of this procedure."
        )
    # A failure report is also the anchor of its incident's run: it is still a failure record.
    reports = {
        e.source.path for e in executions if e.id in {f for i in incidents for f in i.failures}
    }
    sources = tuple(
        replace(s, outcome=Outcome.FAILURE.value) if s.path in reports else s
        for s in runbook.sources
    )
    return replace(runbook, notes=tuple(notes), sources=sources)


def summary_line(result: GenerateResult, target: str) -> str:
    """`Mined 11 successful runs (9 observations, 2 session notes) + 6 failures, 3 journals → …`."""
    counts = result.counts
    # what the selection left out comes first: the last line stays the summary
    left_out = "".join(f"runbook: {note}\n" for note in counts.left_out)
    return left_out + _summary(result, target)


def _summary(result: GenerateResult, target: str) -> str:
    from runbook.render.markdown import format_seconds

    counts = result.counts
    if counts.incidents:
        median = result.runbook.estimated_duration.median_seconds
        duration = f", ~{format_seconds(median)}" if median is not None else ""
        rollbacks = counts.rollback_runs
        extra = f" + {rollbacks} rollback run{'s' if rollbacks != 1 else ''}" if rollbacks else ""
        return f"Mined {counts.incidents}{extra} → {target} ({counts.steps} steps{duration})"
    kinds = ", ".join(f"{n} {label}" for label, n in counts.runs_by_kind)
    if counts.successful == counts.runs:
        runs = f"{counts.runs} successful run{'s' if counts.runs != 1 else ''}"
        detail = kinds
    else:
        unknown = counts.runs - counts.successful
        runs = f"{counts.runs} runs"
        detail = f"{counts.successful} successful, {unknown} outcome not recorded; {kinds}"
    text = f"Mined {runs}" + (f" ({detail})" if detail else "")
    text += f" + {counts.failures} failure{'s' if counts.failures != 1 else ''}, "
    text += f"{counts.journals} journal{'s' if counts.journals != 1 else ''}"
    if counts.rollback_runs:
        text += f", {counts.rollback_runs} rollback run{'s' if counts.rollback_runs != 1 else ''}"
    median = result.runbook.estimated_duration.median_seconds
    duration = f", ~{format_seconds(median)}" if median is not None else ""
    return f"{text} → {target} ({counts.steps} steps{duration})"


def write_runbook(
    result: GenerateResult, out_dir: Path, fmt: str, force: bool, *, root: Path | None = None
) -> WriteOutcome:
    """Write the runbook under ``out_dir``; never overwrite a file a person edited unless ``force``.

    With ``root``, what was written is kept in ``.runbook/generated/`` and a later run merges a
    person's edits section by section (see `regenerate.merge`).
    """
    from runbook.render.markdown import marker_state

    if fmt not in ("md", "json"):
        raise UsageError(f"unknown format {fmt!r}", hint="use md or json")
    text = result.markdown if fmt == "md" else result.json
    target = out_dir / f"{result.filename}.{fmt}"
    out_dir.mkdir(parents=True, exist_ok=True)
    if target.exists():
        try:
            existing = target.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            existing = None
        if existing == text:
            _remember(root, target, text, fmt)
            return WriteOutcome(path=target, status="unchanged")
        if not force and not _tool_written(existing, fmt, marker_state):
            beside = out_dir / f"{result.filename}.new.{fmt}"
            merged = _merge_edits(root, target, existing, text, fmt)
            if merged is not None and not merged.conflicts:
                _remember(root, target, text, fmt)
                if merged.text == existing:
                    return WriteOutcome(target, "unchanged", kept_sections=merged.kept)
                _atomic_write(target, merged.text)
                return WriteOutcome(target, "merged", kept_sections=merged.kept)
            _atomic_write(beside, text)
            conflicts = merged.conflicts if merged is not None else ()
            return WriteOutcome(path=beside, status="beside", kept=target, conflicts=conflicts)
    elif not force and root is not None and fmt == "md":
        carried = _carry_edits(root, out_dir, result.filename, target, text)
        if carried is not None:
            return carried
    _atomic_write(target, text)
    _remember(root, target, text, fmt)
    return WriteOutcome(path=target, status="written")


def _carry_edits(
    root: Path, out_dir: Path, filename: str, target: Path, text: str
) -> WriteOutcome | None:
    """A new dated file replacing an edited older one keeps the person's edits (3-way merge)."""
    from runbook.regenerate import find_existing
    from runbook.render.markdown import marker_state

    previous = find_existing(out_dir, filename, "md")
    if previous is None or previous == target:
        return None
    try:
        old = previous.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if marker_state(old) == "unedited":
        return None
    merged = _merge_edits(root, previous, old, text, "md")
    if merged is None:
        return None
    _remember(root, target, text, "md")
    if merged.conflicts:
        # The new file is the plain new generation; the older file keeps the conflicting edits.
        _atomic_write(target, text)
        return WriteOutcome(target, "written", kept=previous, conflicts=merged.conflicts)
    _atomic_write(target, merged.text)
    return WriteOutcome(target, "merged", kept=previous, kept_sections=merged.kept)


def _remember(root: Path | None, target: Path, text: str, fmt: str) -> None:
    """Keep what the tool wrote, as the base of a later 3-way merge (markdown, with a root)."""
    if root is not None and fmt == "md":
        from runbook.regenerate import store_base

        store_base(root, target, text)


def _merge_edits(
    root: Path | None, target: Path, existing: str | None, text: str, fmt: str
) -> MergeResult | None:
    """The 3-way merge of a person's edits with a new generation; None without a stored base."""
    if root is None or fmt != "md" or existing is None:
        return None
    from runbook.regenerate import merge, read_base

    base = read_base(root, target)
    return merge(base, existing, text) if base is not None else None


@dataclass(frozen=True, slots=True)
class RegenerationCheck:
    """What `generate --check/--diff` found: would writing change the existing runbook?"""

    target: Path  # where a write would go
    existing: Path | None  # the runbook it replaces (today's file or the newest dated sibling)
    changed: bool
    diff: str = ""  # unified diff, existing -> would-be text ("" when unchanged)
    conflicts: tuple[str, ...] = ()


def check_runbook(
    result: GenerateResult, out_dir: Path, fmt: str, *, root: Path | None = None
) -> RegenerationCheck:
    """Compare a new generation with the runbook on disk, as a write would (merge included).

    A changed Generated date alone is no change, so a CI check stays green until evidence moves.
    """
    from runbook.regenerate import (
        find_existing,
        same_content,
        split_marker,
        sync_generated,
        unified_diff,
    )
    from runbook.render.markdown import marker_state

    text = result.markdown if fmt == "md" else result.json
    target = out_dir / f"{result.filename}.{fmt}"
    existing_path = find_existing(out_dir, result.filename, fmt)
    if existing_path is None:
        diff = unified_diff("", text, "/dev/null", f"b/{target.name}")
        return RegenerationCheck(target, None, True, diff)
    try:
        existing = existing_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{existing_path}: cannot read: {exc}") from exc
    would = text
    conflicts: tuple[str, ...] = ()
    if fmt == "md" and marker_state(existing) != "unedited":
        merged = _merge_edits(root, existing_path, existing, text, fmt)
        if merged is not None:
            would, conflicts = merged.text, merged.conflicts
    would = sync_generated(would, existing)
    # The marker line only hashes the rest: equal bodies are an equal runbook.
    changed = bool(conflicts) or not same_content(split_marker(existing)[0], split_marker(would)[0])
    name = existing_path.name
    diff = unified_diff(existing, would, f"a/{name}", f"b/{name}") if changed else ""
    return RegenerationCheck(target, existing_path, changed, diff, conflicts)


def _tool_written(existing: str | None, fmt: str, marker_state: Callable[[str], str]) -> bool:
    if existing is None:
        return False
    if fmt == "md":
        return marker_state(existing) == "unedited"
    # JSON has no room for a marker in schema 1: a parsable schema document counts as ours.
    import json

    try:
        data = json.loads(existing)
    except ValueError:
        return False
    return isinstance(data, dict) and data.get("schema_version") == 1


def _atomic_write(path: Path, text: str) -> None:
    from runbook.regenerate import atomic_write

    atomic_write(path, text)


# ======================================================================== sources

RECORD_FIRST_HINT = (
    "record runs first: one file per run as "
    ".claude/observations/YYYY-MM-DD/execution-HHMMSS-slug.md (failures as failure-HHMMSS-slug.md), "
    "error journals as .claude/journals/error/YYYY-MM-DD-slug.md, or add CI logs (ci-logs/*.log) "
    "or shell history (.bash_history); `runbook observe start` will record a run for you"
)


def check_root(root: Path) -> None:
    """Raise InputError unless ``root`` is an existing directory."""
    if not root.exists():
        raise InputError(f"{root}: no such directory", hint="pass --root DIR (default: .)")
    if not root.is_dir():
        raise InputError(f"{root}: not a directory", hint="pass the repository directory as --root")


def sources(
    root: Path,
    config: Config | None = None,
    progress: Progress | None = None,
    kinds: Sequence[EvidenceKind] = (),
) -> SourcesReport:
    """Every evidence file under ``root`` with kind and classification, and every skipped file.

    ``kinds`` keeps only files of those kinds (and skipped files that would be of them).
    """
    from runbook.dedup import deduplicate
    from runbook.discover import kind_of
    from runbook.index import load_corpus

    check_root(root)
    config = config or load_config(root)
    corpus = load_corpus(root, config, progress=progress)
    if not corpus.files and not corpus.skipped:
        raise NoEvidenceError(
            f"no evidence found under {root}: nothing to mine yet", hint=RECORD_FIRST_HINT
        )
    wanted = set(kinds)
    parsed_files = [p for p in corpus.files if not wanted or p.kind in wanted]
    skipped = tuple(
        s
        for s in corpus.skipped
        if not wanted
        or (kind_of(s.path) or (EvidenceKind.GIT_HISTORY if s.path == ".git" else None)) in wanted
    )
    shown = {e.id for p in parsed_files for e in p.executions}
    _, pairs = deduplicate(corpus.executions)
    duplicates = tuple(Duplicate(d, k) for d, k in pairs if d in shown or k in shown)
    alerts: tuple[AlertRunbook, ...] = ()
    if not wanted or EvidenceKind.ALARM in wanted:
        alerts = alert_runbooks(root, corpus.alarms, config.out_dir)
    files = tuple(_file_report(parsed) for parsed in parsed_files)
    totals = _totals(files, skipped, corpus.diagnostics)
    return SourcesReport(
        root=root.as_posix(),
        files=files,
        skipped=skipped,
        diagnostics=corpus.diagnostics,
        totals=replace(totals, duplicates=len(duplicates)),
        duplicates=duplicates,
        alert_runbooks=alerts,
        kinds=tuple(sorted(k.value for k in wanted)),
    )


_DATE_PREFIX = re.compile(r"^\d{4}-\d{2}-\d{2}-")


def alert_runbooks(
    root: Path, alarms: Sequence[AlarmDef], out_dir: str = "runbooks"
) -> tuple[AlertRunbook, ...]:
    """Alerts whose ``runbook_url`` names a runbook that exists under ``root/out_dir``."""
    base = root / out_dir
    if not alarms or not base.is_dir():
        return ()
    try:
        books = sorted(p for p in base.rglob("*.md") if p.is_file())
    except OSError:
        return ()
    by_rel = {p.relative_to(root).as_posix(): p for p in books}
    by_name: dict[str, str] = {}
    for rel in by_rel:
        name = PurePosixPath(rel).name
        # a link may name the runbook without its date prefix (the date moves on regeneration)
        for key in (name, _DATE_PREFIX.sub("", name)):
            by_name.setdefault(key, rel)
    out: list[AlertRunbook] = []
    for alarm in alarms:
        url = alarm.runbook_url.strip()
        if not url:
            continue
        target = re.split(r"[?#]", url, maxsplit=1)[0].rstrip("/")
        local = "://" not in target
        rel_path = PurePosixPath(target.removeprefix("./")).as_posix() if local else ""
        if local and target.startswith("/"):
            try:
                rel_path = Path(target).resolve().relative_to(root.resolve()).as_posix()
            except (OSError, ValueError):
                rel_path = ""
        hit = by_rel.get(rel_path) if local else None
        if hit is None:
            name = PurePosixPath(target).name
            found = by_name.get(name) or by_name.get(_DATE_PREFIX.sub("", name))
            if found:
                out.append(AlertRunbook(alarm.name, alarm.source, url, found))
            continue
        out.append(AlertRunbook(alarm.name, alarm.source, url, rel_path))
    return tuple(sorted(out, key=lambda a: (a.runbook, a.alarm, a.source)))


def _file_report(parsed: ParsedFile) -> FileReport:
    from runbook.classify import classify, classify_journal

    entries: list[EntryReport] = []
    for ex in parsed.executions:
        entries.append(
            _entry(ex.id, "execution", ex.title, classify(ex), len(ex.commands), len(ex.errors))
        )
    for j in parsed.journals:
        n_cmds = len(j.solution_commands) + len(j.verification_commands)
        entries.append(
            _entry(j.id, "journal", j.title, classify_journal(j), n_cmds, len(j.error_messages))
        )
    for a in parsed.alarms:
        scopes = tuple(sorted({s for s in (a.tool, _alarm_service(a.namespace)) if s}))
        entries.append(
            EntryReport(
                id=f"{a.source}#{a.name}",
                record="alarm",
                title=a.name,
                operation_type=OperationType.INCIDENT,
                scopes=scopes,
                reasons=("alarm definition",),
            )
        )
    for m in parsed.migrations:
        entries.append(
            EntryReport(
                id=f"{m.source}#{m.version}",
                record="migration",
                title=m.name or m.version,
                operation_type=OperationType.MIGRATION,
                scopes=tuple(s for s in ("database", m.tool) if s),
                reasons=("migration file",),
            )
        )
    return FileReport(
        path=parsed.path,
        kind=parsed.kind,
        entries=tuple(entries),
        commands=sum(e.commands for e in entries),
        errors=sum(e.errors for e in entries),
        failures=sum(1 for ex in parsed.executions if ex.outcome is Outcome.FAILURE),
        journals=len(parsed.journals),
        redactions=parsed.redactions,
        diagnostics=tuple(sorted(parsed.diagnostics, key=lambda d: (d.source, d.message))),
    )


def _entry(
    id_: str, record: str, title: str, c: Classification, commands: int, errors: int
) -> EntryReport:
    return EntryReport(
        id=id_,
        record=record,
        title=title,
        operation_type=c.operation_type,
        scopes=c.scopes,
        environment=c.environment,
        outcome=c.outcome,
        confidence=c.confidence,
        reasons=c.reasons,
        commands=commands,
        errors=errors,
    )


def _alarm_service(namespace: str) -> str:
    # "AWS/Lambda" -> "lambda"; "AWS/RDS" -> "rds"
    return namespace.rsplit("/", 1)[-1].lower() if namespace else ""


def _totals(
    files: Sequence[FileReport], skipped: Sequence[object], diagnostics: Sequence[object]
) -> SourcesTotals:
    entries = [e for f in files for e in f.entries]
    by_kind = Counter(f.kind.value for f in files)
    by_type = Counter(
        e.operation_type.value for e in entries if e.record in ("execution", "journal")
    )
    return SourcesTotals(
        files=len(files),
        executions=sum(1 for e in entries if e.record == "execution"),
        journals=sum(1 for e in entries if e.record == "journal"),
        alarms=sum(1 for e in entries if e.record == "alarm"),
        migrations=sum(1 for e in entries if e.record == "migration"),
        commands=sum(f.commands for f in files),
        errors=sum(f.errors for f in files),
        failures=sum(f.failures for f in files),
        skipped=len(skipped),
        diagnostics=len(diagnostics) + sum(len(f.diagnostics) for f in files),
        redactions=sum(f.redactions for f in files),
        by_kind=tuple(Count(k, n) for k, n in sorted(by_kind.items())),
        by_type=tuple(Count(k, n) for k, n in sorted(by_type.items())),
    )


def sources_json(report: SourcesReport) -> str:
    """The report as one JSON document: stable key order, lists already sorted."""
    import json

    from runbook.codec import to_json

    return json.dumps(to_json(report), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# ======================================================================== validate


def validate(
    paths: Sequence[Path],
    *,
    root: Path | None = None,
    since: date | None = None,
    today: date,
    strict: bool = False,
    config: Config | None = None,
) -> ValidationReport:
    """Lint runbooks; with ``root``, also check drift against newer runs and the success metrics.

    ``strict`` does not change the findings, only the exit status (warnings fail too).
    """
    from runbook.validate import Evidence, display_path, runbook_files, validate_runbook

    if not paths:
        raise UsageError("no runbook given", hint="runbook validate RUNBOOK.md [RUNBOOK.md …]")
    if root is not None and not root.is_dir():
        raise InputError(f"{root}: not a directory", hint="pass the evidence root as --root DIR")
    if since is not None and root is None:
        raise UsageError("--since needs evidence", hint="pass the evidence root as --root DIR")
    files = runbook_files(paths)
    if not files:
        raise InputError("no markdown runbook found in the given paths")
    evidence = None
    if root is not None:
        from runbook.classify import classify
        from runbook.index import load_corpus

        corpus = load_corpus(root, config or load_config(root))
        executions = corpus.executions
        evidence = Evidence(executions, corpus.journals, {e.id: classify(e) for e in executions})
    results = []
    for path in files:
        try:
            results.append(
                validate_runbook(
                    path,
                    display=display_path(path),
                    today=today,
                    root=root,
                    evidence=evidence,
                    since=since,
                )
            )
        except OSError as exc:
            raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    return ValidationReport(runbooks=tuple(results), strict=strict)


# ======================================================================== observe / run

if TYPE_CHECKING:
    from runbook.execute import RunIO, RunOptions, RunResult
    from runbook.observe import JournalStatus, StopResult


def observe_start(
    root: Path,
    title: str,
    *,
    op_type: str = "",
    scope: str = "",
    env: str = "",
    owner_pid: int | None = None,
) -> str:
    """Open a recording under ``root``; returns its id (one open recording per root)."""
    from runbook import observe

    op = parse_operation_type(op_type).value if op_type else ""
    recorder = observe.start(root, title, op_type=op, scope=scope, env=env, owner_pid=owner_pid)
    return recorder.id


def observe_exec(root: Path, argv: Sequence[str]) -> int:
    """Run one command inside the open recording; returns the command's own exit code."""
    from runbook import observe

    return observe.exec_command(root, argv).exit_code


def observe_event(
    root: Path,
    command: str,
    *,
    exit_code: int,
    started: float | None,
    ended: float | None,
    cwd: str,
) -> bool:
    """Journal one command reported by the shell hook; False when no recording is open."""
    from runbook import observe

    return observe.record_command(
        root, command, exit_code=exit_code, started=started, ended=ended, cwd=cwd
    )


def observe_stop(root: Path, outcome: str | None = None) -> StopResult:
    """Close the open recording and write its observation files."""
    from runbook import observe

    return observe.stop(root, outcome)


def observe_status(root: Path) -> tuple[JournalStatus | None, tuple[JournalStatus, ...]]:
    """The open recording and the orphaned journals under ``root``."""
    from runbook import observe

    return observe.status(root)


def observe_recover(root: Path) -> tuple[StopResult, ...]:
    """Turn orphaned journals (process gone, never stopped) into observations."""
    from runbook import observe

    return observe.recover(root)


def observe_shell_hook(shell: str, root: Path) -> str:
    """The hook script that records every typed command while a recording is open."""
    from runbook import observe

    return observe.shell_hook(shell, root)


def observe_shell(root: Path, shell: str | None = None) -> int:
    """A child shell on a pseudo-terminal, recorded with output; returns its exit status."""
    from runbook import observe

    return observe.run_shell(root, shell)


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """`runbook run`: the engine's result (None for a dry run), the dry-run text, the recording."""

    result: RunResult | None
    dry_run: str = ""
    recording: StopResult | None = None
    recorded_into: str = ""  # id of an already open recording the run was added to


def run_runbook(path: Path, *, root: Path, options: RunOptions, io: RunIO) -> RunOutcome:
    """Execute a runbook step by step with gates; the run is recorded as an observation."""
    from runbook import observe
    from runbook.execute import Session, display_title
    from runbook.runbook_parse import apply_sidecar, parse_runbook

    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    parsed = apply_sidecar(parse_runbook(text, path.as_posix()), path)
    session = Session(parsed, text, options, io)
    # a live recording (`observe start` in this shell) takes the run in; an orphaned one is
    # refused (with the hint to recover it) before the operator answers any prompt
    open_now = None if options.dry_run else observe.current(root)
    joined = open_now is not None and not observe.is_orphaned(open_now)
    if not options.dry_run and not joined:
        if not root.is_dir():
            raise InputError(f"{root}: not a directory", hint="pass --root DIR (default: .)")
        observe.refuse_if_open(root)
    session.prepare()
    if options.dry_run:
        return RunOutcome(result=None, dry_run=session.dry_run())
    values = dict(session.state.values)
    env = next((values[k] for k in ("env", "environment", "stage") if k in values), "")
    if open_now is not None and joined:
        recorder = observe.open_recorder(root, io.now)
        recorder.note(f"runbook run {path.as_posix()} started")
        result = session.execute(recorder)
        recorder.note(f"runbook run {path.as_posix()} ended: {result.outcome}")
        return RunOutcome(result=result, recorded_into=open_now.id)
    op = parsed.operation_type.value if parsed.operation_type is not OperationType.NONE else ""
    recorder = observe.start(
        root,
        f"Run: {display_title(parsed)}",
        op_type=op,
        scope=parsed.scope,
        env=env,
        now=io.now,
        source="run",
    )
    try:
        result = session.execute(recorder)
    except BaseException as exc:  # the record of an unexpected end is still written
        recorder.note(f"Run ended unexpectedly: {type(exc).__name__}: {exc}"[:300])
        observe.finish(recorder, "aborted", interrupted=True, now=io.now)
        raise
    stopped = observe.finish(
        recorder, result.outcome, interrupted=int(result.status) == 130, now=io.now
    )
    return RunOutcome(result=result, recording=stopped)
