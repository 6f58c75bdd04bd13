"""Git history: revert and hotfix commits shortly after a deploy are rollback evidence.

Sample record (``git log`` with the fixed format below, fields split by 0x1f)::

    9c1f0e2…␟2025-04-02T16:41:07+02:00␟5d0c7a1…␟␟Ana␟Revert "Enable connection pooling"␟This reverts commit 5d0c7a1….␟

A deploy is a tagged commit, a merge commit, a commit touching deploy files (``deploy/``,
``charts/``, ``k8s/``, ``*.tf``, ``Dockerfile``, a deploy workflow) or one whose subject says
"deploy"/"release", or a deployment run from the other evidence. A ``Revert "…"`` commit (or
"This reverts commit <sha>") and a hotfix commit (``hotfix``, ``fix(prod)``, ``rollback``)
within ``WINDOW`` after such a deploy become one Execution each: declared type rollback, tagged
``git``, started at the commit time, a note "reverted X, N h after deploy Y" and, for a revert,
the command ``git revert --no-edit <sha>`` (the sha becomes a placeholder when mined).

Only the local repository is read (``git log``: no fetch, no network), with a timeout and a
bounded number of commits; a missing ``git`` or a root that is not a work tree is a reason,
never a crash. The result is not cached: it is read once per corpus load.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath

from runbook.config import Config
from runbook.model import (
    Command,
    Diagnostic,
    EvidenceKind,
    Execution,
    Outcome,
    ParsedFile,
    Skipped,
    SourceRef,
)
from runbook.redact import redact
from runbook.timeparse import to_utc_naive

REL = ".git"  # how the history is named in reports: it has no file of its own
MAX_COMMITS = 2000
TIMEOUT_S = 20.0
WINDOW = timedelta(hours=48)
_FORMAT = "%x1e%H%x1f%aI%x1f%P%x1f%D%x1f%an%x1f%s%x1f%b%x1f"
_REVERT_SUBJECT = re.compile(r'^Revert\s+"(?P<what>.+)"\s*$')
_REVERTS_SHA = re.compile(r"This reverts commit (?P<sha>[0-9a-f]{7,40})", re.IGNORECASE)
# Only a subject that *is* a hotfix counts ("hotfix: ...", "fix(prod): ...", "Rollback to v1.4",
# a merged hotfix/ branch): "add rollback support" or "rollback runs in the docs" are code work.
_HOTFIX = re.compile(
    r"^\s*(?:\[?hot[-_ ]?fix\]?\b|(?:fix|revert)\((?:prod|production|hotfix|live)\)"
    r"|roll(?:ed|ing)?[-_ ]?back(?: to| of| the)?\b(?!.*\b(?:support|tests?|docs?|runs?)\b)"
    r"|emergency (?:fix|patch|rollback)\b)"
    r"|\bfrom [\w.-]+/hot[-_]?fix/|^Merge branch '?hot[-_]?fix/",
    re.IGNORECASE,
)
_DEPLOY_SUBJECT = re.compile(
    r"^\s*(?:\[?(?:deploy|release)\]?(?:\b|:)|chore\(release\)|build\(release\)"
    r"|bump(?:ed)? version|version bump|v?\d+\.\d+\.\d+\b)"
    r"|\bfrom [\w.-]+/release/|^Merge branch '?release/",
    re.IGNORECASE,
)
# files under these directories are samples, not the deploy configuration of this repository
_NOT_DEPLOY_DIRS = frozenset(
    {
        "test",
        "tests",
        "testdata",
        "fixtures",
        "examples",
        "example",
        "docs",
        "vendor",
        "node_modules",
    }
)
_DEPLOY_DIRS = frozenset(
    {
        "deploy",
        "deployment",
        "deployments",
        "charts",
        "helm",
        "k8s",
        "kubernetes",
        "manifests",
        "kustomize",
        "terraform",
        "infra",
        "infrastructure",
        "ansible",
    }
)
_DEPLOY_NAMES = re.compile(
    r"^(?:dockerfile|docker-compose\.ya?ml|compose\.ya?ml|kustomization\.ya?ml|chart\.ya?ml"
    r"|values(?:-[\w.-]+)?\.ya?ml|serverless\.ya?ml|app\.ya?ml|fly\.toml|procfile|netlify\.toml"
    r"|vercel\.json|template\.ya?ml|samconfig\.toml|cdk\.json)$|\.tf$|\.tfvars$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Commit:
    """One commit as ``git log`` printed it (texts redacted)."""

    sha: str
    at: datetime  # UTC-naive
    parents: tuple[str, ...]
    refs: str
    author: str
    subject: str
    body: str
    files: tuple[str, ...]
    line: int  # 1-based position in the log (newest first)


def git_available() -> bool:
    """True when a ``git`` executable is on PATH."""
    return shutil.which("git") is not None


def read_git_history(
    root: Path, config: Config, *, deployments: Sequence[Execution] = ()
) -> ParsedFile | Skipped:
    """Rollback evidence from the revert and hotfix commits of the work tree at ``root``."""
    if not config.git:
        return Skipped(REL, "git history disabled (git = false)")
    git = shutil.which("git")
    if git is None:
        return Skipped(REL, "git is not installed; history not read")
    env = {
        **os.environ,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_OPTIONAL_LOCKS": "0",  # a read must not take the index lock others may hold
        "LC_ALL": "C",
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    env.pop("GIT_DIR", None)
    env.pop("GIT_WORK_TREE", None)
    argv = [
        git,
        "--no-pager",
        "-c",
        "core.quotepath=off",
        "-c",
        "log.showSignature=false",
        "-C",
        str(root),
        "log",
        f"--max-count={MAX_COMMITS}",
        "--no-color",
        "--no-renames",
        "--date-order",
        f"--format={_FORMAT}",
        "--name-only",
    ]
    try:
        proc = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=TIMEOUT_S,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Skipped(REL, f"git log took over {TIMEOUT_S:g}s; history not read")
    except OSError as exc:
        return Skipped(REL, f"cannot run git: {exc.strerror or exc}")
    if proc.returncode != 0:
        first = proc.stderr.decode("utf-8", "replace").strip().split("\n")[0][:160]
        if "does not have any commits" in first:
            return ParsedFile(path=REL, kind=EvidenceKind.GIT_HISTORY)
        return Skipped(REL, f"git log failed: {first or f'exit {proc.returncode}'}")
    text = proc.stdout.decode("utf-8", "replace")
    commits, diags, redactions = parse_log(text)
    executions = rollback_executions(commits, deployments)
    return ParsedFile(
        path=REL,
        kind=EvidenceKind.GIT_HISTORY,
        executions=tuple(executions),
        diagnostics=tuple(diags),
        redactions=redactions,
    )


def parse_log(text: str) -> tuple[list[Commit], list[Diagnostic], int]:
    """Commits (newest first) from ``git log`` output in ``_FORMAT`` with ``--name-only``."""
    commits: list[Commit] = []
    diags: list[Diagnostic] = []
    redactions = 0
    for n, record in enumerate(text.split("\x1e")[1:], start=1):
        fields = record.split("\x1f")
        if len(fields) < 8:
            diags.append(Diagnostic(SourceRef(REL, n), "unreadable git log record; skipped"))
            continue
        sha, when, parents, refs, author, subject, body, names = fields[:8]
        try:
            at = to_utc_naive(datetime.fromisoformat(when.strip()))
        except ValueError:
            diags.append(
                Diagnostic(SourceRef(REL, n), f"commit {sha[:12]}: unreadable date {when!r}")
            )
            continue
        subject, k1 = redact(subject.strip())
        body, k2 = redact(body.strip()[:4000])
        redactions += k1 + k2
        files = tuple(f.strip() for f in names.split("\n") if f.strip())[:500]
        commits.append(
            Commit(
                sha=sha.strip(),
                at=at,
                parents=tuple(parents.split()),
                refs=refs.strip(),
                author=author.strip()[:80],
                subject=subject[:300],
                body=body,
                files=files,
                line=n,
            )
        )
    return commits, diags, redactions


def is_deploy_commit(commit: Commit) -> bool:
    """A tag, a merge, a commit touching deploy files, or one whose subject says deploy/release."""
    if "tag: " in commit.refs or len(commit.parents) > 1:
        return True
    if _DEPLOY_SUBJECT.search(commit.subject) and not _REVERT_SUBJECT.match(commit.subject):
        return True
    for name in commit.files:
        path = PurePosixPath(name)
        dirs = [d.lower() for d in path.parts[:-1]]
        if set(dirs) & _NOT_DEPLOY_DIRS:
            continue
        if set(dirs) & _DEPLOY_DIRS or _DEPLOY_NAMES.search(path.name):
            return True
        if dirs[:2] == [".github", "workflows"] and "deploy" in path.name.lower():
            return True
    return False


def _reverted(commit: Commit) -> tuple[str | None, str | None]:
    """(reverted sha, reverted subject) of a revert commit, else (None, None)."""
    m = _REVERT_SUBJECT.match(commit.subject)
    sha = _REVERTS_SHA.search(commit.body)
    if m is None and sha is None:
        return None, None
    return (sha.group("sha") if sha else None), (m.group("what") if m else None)


def _label(commit: Commit) -> str:
    tag = re.search(r"tag: ([^,\s]+)", commit.refs)
    name = tag.group(1) if tag else commit.sha[:12]
    return f'{name} ("{commit.subject[:80]}")' if commit.subject else name


def _after(delta: timedelta) -> str:
    """``3 h``, ``1.5 h`` or ``12 min``."""
    seconds = delta.total_seconds()
    if seconds < 3600:
        return f"{round(seconds / 60)} min"
    hours = seconds / 3600
    return (f"{hours:.1f}".rstrip("0").rstrip(".") if hours < 10 else f"{hours:.0f}") + " h"


def rollback_executions(
    commits: Sequence[Commit], deployments: Sequence[Execution] = ()
) -> list[Execution]:
    """One rollback Execution per revert / hotfix commit made within ``WINDOW`` after a deploy."""
    by_sha = {c.sha: c for c in commits}
    deploys: list[tuple[datetime, str, str]] = [
        (c.at, _label(c), c.sha) for c in commits if is_deploy_commit(c)
    ]
    for ex in deployments:
        if ex.started_at is not None and _is_deployment(ex):
            deploys.append((ex.started_at, f"{ex.title or ex.id} ({ex.source.path})", ex.id))
    deploys.sort()
    out: list[Execution] = []
    for commit in sorted(commits, key=lambda c: (c.at, c.sha)):
        sha, what = _reverted(commit)
        is_revert = sha is not None or what is not None
        if not is_revert and not _HOTFIX.search(commit.subject):
            continue
        target = next((c for s, c in by_sha.items() if sha and s.startswith(sha)), None)
        # the deploy this undoes: the reverted commit's own deploy when it was one, else the
        # latest deploy before this commit
        before = [
            (at, label, key)
            for at, label, key in deploys
            if at <= commit.at and commit.at - at <= WINDOW and key != commit.sha
        ]
        if not before:
            continue  # a revert long after any deploy is code history, not a rollback
        deploy_at, deploy_label, _ = max(before)
        after = _after(commit.at - deploy_at)
        reverted = what or (target.subject if target else "") or (sha or "")[:12]
        if is_revert:
            note = f'reverted "{reverted}", {after} after deploy {deploy_label}'
        else:
            note = f'hotfix "{commit.subject[:120]}", {after} after deploy {deploy_label}'
        commands: tuple[Command, ...] = ()
        if is_revert:
            ref = sha or (target.sha if target else None)
            if ref:
                commands = (
                    Command(
                        f"git revert --no-edit {ref}",
                        SourceRef(REL, commit.line),
                        started_at=commit.at,
                        exit_code=0,
                        origin="git",
                    ),
                )
        out.append(
            Execution(
                id=f"{REL}#{commit.sha[:12]}",
                source=SourceRef(REL, commit.line),
                kind=EvidenceKind.GIT_HISTORY,
                title=commit.subject[:200],
                context=commit.body.split("\n\n")[0][:1000],
                started_at=commit.at,
                outcome=Outcome.UNKNOWN,
                commands=commands,
                notes=(note,),
                tags=("git", "revert" if is_revert else "hotfix"),
                declared_type="rollback",
                owner=commit.author or None,
            )
        )
    return out


def _is_deployment(ex: Execution) -> bool:
    if ex.declared_type == "deployment":
        return True
    return ex.declared_type is None and bool(_DEPLOY_SUBJECT.search(ex.title))


__all__ = [
    "REL",
    "Commit",
    "git_available",
    "is_deploy_commit",
    "parse_log",
    "read_git_history",
    "rollback_executions",
]
