"""Discovery: walk an evidence root once and decide, by path alone, what each file is.

Sample path per kind: ``.claude/observations/2025-12-23/execution-143052-deploy-lambda.md``
is an observation; ``docs/deployment/LAMBDA_RUNBOOK.md`` is a notes file; ``README.md`` is
not evidence at all (not listed, not skipped).

One ``os.scandir`` walk, entries sorted by name, so the order is the same on every machine.
Only files that would be evidence are ever reported as skipped (oversize, unreadable,
symlink loop, symlink escaping the root), so a repository's unrelated files stay silent.
"""

from __future__ import annotations

import errno
import fnmatch
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import NamedTuple

from runbook.config import Config
from runbook.model import Candidate, EvidenceKind, Skipped

# Directory names never entered (dependency trees, VCS data, virtualenvs, caches).
PRUNED_DIRS = frozenset({".git", ".hg", ".svn", "node_modules", "venv", "__pycache__", ".runbook"})
# Dot-directories that do hold evidence; every other dot-directory is skipped.
KEPT_DOT_DIRS = frozenset({".claude", ".github"})
# Dot-files that are evidence (shell history); every other dot-file is skipped.
HISTORY_NAMES = frozenset({".bash_history", ".zsh_history", ".sh_history", "fish_history"})

OBSERVATION_NAME = re.compile(r"^(execution|failure|behavior|behaviour)-.*\.md$", re.IGNORECASE)
# Directories whose markdown is operations notes.
NOTES_DIRS = frozenset(
    {
        "docs",
        "doc",
        "ops",
        "operations",
        "runbooks-src",
        "notes",
        "postmortems",
        "post-mortems",
        "incidents",
        "playbooks",
    }
)
# Word stems in a markdown file name that mark it as operations notes wherever it lives.
OPS_NAME_STEMS = (
    "session",
    "report",
    "deploy",
    "incident",
    "postmortem",
    "runbook",
    "checklist",
    "bughunt",
    "troubleshoot",
    "rollback",
    "outage",
    "oncall",
    "hotfix",
    "release",
    "migration",
    "scaling",
    "playbook",
)
NOT_EVIDENCE_NAMES = frozenset(
    {
        "changelog.md",
        "license",
        "license.md",
        "contributing.md",
        "code_of_conduct.md",
        "security.md",
    }
)
POSTMORTEM_DIRS = frozenset(
    {"postmortems", "post-mortems", "postmortem", "incidents", "incident-reports", "pir"}
)
POSTMORTEM_NAME = re.compile(r"post[-_ ]?mortem|incident[-_ ]?report|\bpir[-_]", re.IGNORECASE)
# Kinds whose readers stream a file line by line, so size is bounded by max_stream_bytes.
STREAMED_KINDS = frozenset({EvidenceKind.CI_LOG, EvidenceKind.SHELL_HISTORY})
CI_LOG_DIRS = frozenset({"ci-logs", "ci_logs", "logs", "ci-log", "build-logs", "workflow-logs"})
ALARM_DIRS = frozenset({"monitoring", "alarms", "alerts", "alerting"})
MIGRATION_NAME = re.compile(
    r"^(V\d+(?:[._]\d+)*__.+\.sql"  # Flyway: V3__add_index.sql
    r"|\d{1,14}_.+\.(?:up|down)\.sql)$",  # golang-migrate: 000123_add_index.up.sql
    re.IGNORECASE,
)


def _words(name: str) -> list[str]:
    # "TELEGRAM_DEPLOYMENT_RUNBOOK.md" -> ["telegram", "deployment", "runbook"];
    # "bug-hunt" joins to "bughunt" as well so hyphenated stems match.
    stem = name.rsplit(".", 1)[0]
    stem = re.sub(r"([a-z])([A-Z])", r"\1 \2", stem)
    parts = [w for w in re.split(r"[^A-Za-z0-9]+", stem.lower()) if w]
    joined = ["".join(parts[i : i + 2]) for i in range(len(parts) - 1)]
    return parts + joined


def _ops_named(name: str) -> bool:
    return any(w.startswith(s) for w in _words(name) for s in OPS_NAME_STEMS)


def kind_of(rel: str) -> EvidenceKind | None:
    """The evidence kind of a root-relative POSIX path, or None when it is not evidence."""
    parts: tuple[str, ...] | list[str] = rel.split("/")
    if "" in parts or "." in parts:  # only odd spellings ("./a", "a//b", "/a") pay for pathlib
        parts = PurePosixPath(rel).parts
    if not parts:
        return None
    name = parts[-1]
    lower = name.lower()
    dirs = [d.lower() for d in parts[:-1]]

    if dirs[:2] == [".runbook", "runs"] and len(dirs) == 2:
        return EvidenceKind.RUN_RECORD if lower.endswith(".jsonl") else None
    if ".claude" in dirs:
        sub = dirs[dirs.index(".claude") + 1 :]
        if sub[:1] == ["observations"] and OBSERVATION_NAME.match(name):
            return EvidenceKind.OBSERVATION
        journal_md = lower.endswith(".md") and lower not in NOT_EVIDENCE_NAMES | {"readme.md"}
        if sub[:1] == ["journals"] and journal_md:
            return EvidenceKind.JOURNAL
        return None
    if ".github" in dirs:
        sub = dirs[dirs.index(".github") + 1 :]
        if sub == ["workflows"] and lower.endswith((".yml", ".yaml")):
            return EvidenceKind.CI_WORKFLOW
        return None
    if (
        lower in HISTORY_NAMES
        or fnmatch.fnmatch(lower, "*history*.txt")
        or fnmatch.fnmatch(lower, "atuin*.db")
        or lower in ("bash_history", "zsh_history")  # copied out of $HOME without the dot
        or ("atuin" in dirs and lower.endswith(".db"))  # atuin's default name is history.db
    ):
        return EvidenceKind.SHELL_HISTORY
    if lower.endswith(".cast"):
        return EvidenceKind.CAST
    if _is_migration(dirs, lower, name):
        return EvidenceKind.MIGRATION_FILE
    if _is_alarm(dirs, lower):
        return EvidenceKind.ALARM
    if lower.endswith(".log") and (any(d in CI_LOG_DIRS for d in dirs) or _ci_log_named(lower)):
        return EvidenceKind.CI_LOG
    # the run-log zip GitHub serves holds per-job "N_job.txt" files
    if lower.endswith(".txt") and any(d in CI_LOG_DIRS for d in dirs):
        return EvidenceKind.CI_LOG
    # A top-level README describes the repository; docs/README.md may well be an ops index.
    is_md = lower.endswith((".md", ".markdown")) and lower not in NOT_EVIDENCE_NAMES
    if is_md and _is_postmortem(dirs, lower):
        return EvidenceKind.POSTMORTEM
    is_md = is_md and not (lower == "readme.md" and not dirs)
    if is_md and (any(d in NOTES_DIRS for d in dirs) or _ops_named(name)):
        return EvidenceKind.NOTES
    return None


def _is_postmortem(dirs: list[str], lower: str) -> bool:
    # an index or a blank template in postmortems/ is not an incident: those stay notes
    if lower == "readme.md" or "template" in lower or lower.startswith(("_", "index.")):
        return False
    if any(d in POSTMORTEM_DIRS for d in dirs):
        return True
    return bool(POSTMORTEM_NAME.search(lower))


def _is_migration(dirs: list[str], lower: str, name: str) -> bool:
    if "migrations" in dirs and lower.endswith(".sql"):
        return True
    if lower.endswith(".py") and dirs[-2:] == ["alembic", "versions"]:
        return True
    # Flask-Migrate keeps Alembic revisions in migrations/versions/
    if lower.endswith(".py") and dirs[-2:] == ["migrations", "versions"]:
        return True
    # Rails / dbmate layout: db/migrate/20240101_add_index.rb, db/migrations/001_init.sql
    if any(d == "db" and dirs[i + 1].startswith("migrat") for i, d in enumerate(dirs[:-1])):
        return True
    return bool(MIGRATION_NAME.match(name))


def _is_alarm(dirs: list[str], lower: str) -> bool:
    if lower.endswith(".json") and (
        "alarm" in lower or "alert" in lower or lower.startswith("cloudwatch")
    ):
        return True
    if lower.endswith((".yml", ".yaml")) and (
        "alert" in lower or ".rules." in lower or "alarm" in lower
    ):
        return True
    if lower.endswith(".tf"):
        return "alarm" in lower or any(d in ALARM_DIRS for d in dirs)
    if lower.endswith((".yml", ".yaml", ".json")):
        return any(d in ALARM_DIRS for d in dirs)  # alerts/rules.yaml, monitoring/alarms.json
    return False


def _ci_log_named(lower: str) -> bool:
    return lower.startswith(("ci-", "ci_", "gha-", "github-actions")) or "workflow" in lower


def _pruned_dir(name: str) -> bool:
    if name in PRUNED_DIRS or name.startswith(".venv"):
        return True
    return name.startswith(".") and name not in KEPT_DOT_DIRS


def _excluded(rel: str, patterns: tuple[str, ...]) -> bool:
    return any(
        fnmatch.fnmatchcase(rel, pat) or fnmatch.fnmatchcase(rel + "/", pat) for pat in patterns
    )


class FileStat(NamedTuple):
    """A candidate's identity without its path object: what the result cache keys on."""

    rel: str
    kind: EvidenceKind
    size: int
    mtime_ns: int


def discover(root: Path, config: Config) -> Iterator[Candidate | Skipped]:
    """Yield every evidence file under ``root`` (sorted, depth first), or why it was skipped."""
    for item in _discover(root, config, light=False):
        assert not isinstance(item, FileStat)
        yield item


def stat_walk(root: Path, config: Config) -> Iterator[FileStat | Skipped]:
    """``discover`` without building path objects: the same files, as (rel, kind, size, mtime)."""
    for item in _discover(root, config, light=True):
        assert not isinstance(item, Candidate)
        yield item


def _discover(
    root: Path, config: Config, *, light: bool
) -> Iterator[Candidate | FileStat | Skipped]:
    root_real = os.path.realpath(root)
    out_dir = PurePosixPath(config.out_dir.replace(os.sep, "/")).as_posix().strip("/")
    yield from _walk(root, "", root_real, out_dir, config, light=light)
    runs = root / ".runbook" / "runs"
    if runs.is_dir() and not runs.is_symlink() and not _excluded(".runbook/runs", config.exclude):
        # The tool's own run records: the one thing read from inside .runbook/.
        yield from _walk(
            runs, ".runbook/runs/", root_real, out_dir, config, recurse=False, light=light
        )


def _walk(
    directory: Path,
    prefix: str,
    root_real: str,
    out_dir: str,
    config: Config,
    *,
    recurse: bool = True,
    light: bool = False,
) -> Iterator[Candidate | FileStat | Skipped]:
    try:
        with os.scandir(directory) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as exc:
        if prefix:
            yield Skipped(prefix.rstrip("/"), f"cannot list directory: {_reason(exc)}")
        return
    for entry in entries:
        rel = prefix + entry.name
        try:
            is_link = entry.is_symlink()
            is_dir = entry.is_dir(follow_symlinks=False)
        except OSError:
            continue
        if is_dir or (is_link and _link_is_dir(entry.path)):
            if not recurse or _pruned_dir(entry.name) or rel == out_dir:
                continue
            if _excluded(rel, config.exclude):
                continue
            yield from _enter_dir(entry, rel, root_real, out_dir, config, is_link, light)
            continue
        if entry.name.startswith(".") and entry.name not in HISTORY_NAMES:
            continue
        kind = kind_of(rel)
        if kind is None or _excluded(rel, config.exclude):
            continue
        yield _file(entry, rel, kind, root_real, config, is_link, light)


def _link_is_dir(path: str) -> bool:
    try:
        return stat.S_ISDIR(os.stat(path).st_mode)
    except OSError:
        return False


def _enter_dir(
    entry: os.DirEntry[str],
    rel: str,
    root_real: str,
    out_dir: str,
    config: Config,
    is_link: bool,
    light: bool,
) -> Iterator[Candidate | FileStat | Skipped]:
    if is_link:
        # Directory links are never followed: a target inside the root is read at its real
        # path anyway (following would list it twice), one outside is not this repository's
        # evidence, and one at an ancestor would loop forever.
        target = os.path.realpath(entry.path)
        here = os.path.realpath(os.path.dirname(entry.path))
        if not _inside(target, root_real):
            yield Skipped(rel, f"symlink escapes the root (points to {target})")
        elif _inside(here, target):
            yield Skipped(rel, f"symlink loop (points to its ancestor {target})")
        return
    yield from _walk(Path(entry.path), rel + "/", root_real, out_dir, config, light=light)


def _file(
    entry: os.DirEntry[str],
    rel: str,
    kind: EvidenceKind,
    root_real: str,
    config: Config,
    is_link: bool,
    light: bool = False,
) -> Candidate | FileStat | Skipped:
    if is_link:
        try:
            target = os.path.realpath(entry.path, strict=True)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                return Skipped(rel, "symlink loop")
            return Skipped(rel, f"broken symlink: {_reason(exc)}")
        if not _inside(target, root_real):
            return Skipped(rel, f"symlink escapes the root (points to {target})")
    try:
        st = os.stat(entry.path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return Skipped(rel, "symlink loop")
        return Skipped(rel, f"cannot stat: {_reason(exc)}")
    if not stat.S_ISREG(st.st_mode):
        return Skipped(rel, "not a regular file")
    streamed = kind in STREAMED_KINDS and st.st_size <= config.max_stream_bytes
    if st.st_size > config.max_file_bytes and not streamed:
        return Skipped(
            rel,
            f"too large: {_mb(st.st_size)} exceeds the {_mb(config.max_file_bytes)} limit (max_file_bytes)",
        )
    if not os.access(entry.path, os.R_OK):
        return Skipped(rel, "permission denied")
    if light:  # pathlib parsing is most of a walk's cost; a cache key needs none of it
        return FileStat(rel, kind, st.st_size, st.st_mtime_ns)
    return Candidate(Path(entry.path), rel, kind, st.st_size, st.st_mtime_ns)


def _inside(target: str, root_real: str) -> bool:
    return target == root_real or target.startswith(root_real.rstrip(os.sep) + os.sep)


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__
